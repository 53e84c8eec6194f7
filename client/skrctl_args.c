/*
 * skrctl's argument parser (see skrctl_args.h).
 */
#include "skrctl_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
skrctl_args_init(struct skrctl_args *a)
{
	memset(a, 0, sizeof(*a));
}

/* Whether the name[0..n) is in spec; *takes_value from its '='. */
static int
spec_has(const char *spec, const char *name, size_t n, int *takes_value)
{
	const char *p = spec, *end;
	size_t len;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		for (end = p; *end != '\0' && *end != ' '; end++)
			;
		len = (size_t)(end - p);
		if (len > 0 && p[len - 1] == '=' && len - 1 == n &&
		    memcmp(p, name, n) == 0) {
			*takes_value = 1;
			return 1;
		}
		if (len > 0 && len == n && memcmp(p, name, n) == 0) {
			*takes_value = 0;
			return 1;
		}
		p = end;
	}
	return 0;
}

static int
specs_have(const char *const *specs, const char *name, size_t n,
    int *takes_value)
{
	if (n == 0)
		return 0;
	for (; *specs != NULL; specs++)
		if (spec_has(*specs, name, n, takes_value))
			return 1;
	return 0;
}

static int
is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

/* "--name" or "--name=value", not "--" itself. */
static int
is_long_option(const char *s)
{
	return s[0] == '-' && s[1] == '-' && s[2] != '\0';
}

int
skrctl_args_is_option(const char *arg, const char *const *specs,
    int *takes_value)
{
	const char *eq;

	*takes_value = 0;
	if (is_help(arg))
		return 1;
	if (!is_long_option(arg))
		return 0;
	arg += 2;
	eq = strchr(arg, '=');
	if (!specs_have(specs, arg, eq ? (size_t)(eq - arg) : strlen(arg),
	    takes_value))
		return 0;
	if (eq != NULL)
		*takes_value = 0; /* the value came with it */
	return 1;
}

static enum skrctl_args_err
fail(struct skrctl_args *a, enum skrctl_args_err err, const char *bad)
{
	a->err = err;
	a->bad = bad;
	return err;
}

enum skrctl_args_err
skrctl_args_parse(struct skrctl_args *a, int argc, char *const *argv,
    const char *const *specs)
{
	const char *s, *name, *eq;
	size_t n;
	int takes;

	for (int i = 0; i < argc; i++) {
		s = argv[i];
		if (!a->rest && is_help(s)) {
			a->help = 1;
			continue;
		}
		if (a->err != SKRCTL_ARGS_OK) {
			/* After an error, only --help still counts. */
			if (strcmp(s, "--") == 0)
				a->rest = 1;
			continue;
		}
		if (a->rest || !is_long_option(s)) {
			if (!a->rest && strcmp(s, "--") == 0) {
				a->rest = 1;
				continue;
			}
			if (a->npos == SKRCTL_ARGS_MAXPOS) {
				fail(a, SKRCTL_ARGS_TOO_MANY_POS, s);
				continue;
			}
			a->pos[a->npos++] = s;
			continue;
		}
		name = s + 2;
		eq = strchr(name, '=');
		n = eq != NULL ? (size_t)(eq - name) : strlen(name);
		if (!specs_have(specs, name, n, &takes)) {
			fail(a, SKRCTL_ARGS_UNKNOWN, s);
			continue;
		}
		if (a->nopt == SKRCTL_ARGS_MAXOPTS) {
			fail(a, SKRCTL_ARGS_TOO_MANY_OPTS, s);
			continue;
		}
		if (!takes && eq != NULL) {
			fail(a, SKRCTL_ARGS_FLAG_VALUE, s);
			continue;
		}
		a->opt[a->nopt].name = name;
		a->opt[a->nopt].len = n;
		if (!takes)
			a->opt[a->nopt].val = "1";
		else if (eq != NULL)
			a->opt[a->nopt].val = eq + 1;
		else if (i + 1 < argc)
			a->opt[a->nopt].val = argv[++i];
		else {
			fail(a, SKRCTL_ARGS_NO_VALUE, s);
			continue;
		}
		a->nopt++;
	}
	return a->err;
}

const char *
skrctl_args_strerror(const struct skrctl_args *a, char *buf, size_t len)
{
	const char *bad = a->bad != NULL ? a->bad : "";
	int n = (int)strcspn(bad, "=");

	switch (a->err) {
	case SKRCTL_ARGS_UNKNOWN:
		snprintf(buf, len, "unknown option %.*s", n, bad);
		break;
	case SKRCTL_ARGS_NO_VALUE:
		snprintf(buf, len, "%s needs a value", bad);
		break;
	case SKRCTL_ARGS_FLAG_VALUE:
		snprintf(buf, len, "%.*s takes no value", n, bad);
		break;
	case SKRCTL_ARGS_TOO_MANY_OPTS:
		snprintf(buf, len, "too many options");
		break;
	default:
		snprintf(buf, len, "%s", "");
		break;
	}
	return buf;
}

static int
opt_is(const struct skrctl_args *a, int i, const char *name)
{
	return a->opt[i].len == strlen(name) &&
	    memcmp(a->opt[i].name, name, a->opt[i].len) == 0;
}

const char *
skrctl_args_get(const struct skrctl_args *a, const char *name)
{
	const char *v = NULL;

	for (int i = 0; i < a->nopt; i++)
		if (opt_is(a, i, name))
			v = a->opt[i].val;
	return v;
}

const char *
skrctl_args_each(const struct skrctl_args *a, const char *name, int *i)
{
	for (; *i < a->nopt; (*i)++)
		if (opt_is(a, *i, name))
			return a->opt[(*i)++].val;
	return NULL;
}

int
skrctl_args_num(const char *v, long long min, long long max, long long *out)
{
	char *end;
	long long n;

	if (v == NULL || *v == '\0')
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return 0;
	*out = n;
	return 1;
}
