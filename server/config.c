#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skr/error.h"

enum { T_STR, T_INT, T_BOOL };

static const struct setting {
	const char *key;
	int type;
	size_t offset;
	int64_t min, max;
	const char *const *choices; /* T_STR: allowed values, or NULL */
} settings[];

static const char *const algs[] = { "RS256", "ES256", "PS256", NULL };
static const char *const details[] = { "names", "none", NULL };
static const char *const levels[] = { "debug", "info", "warn", "error",
	NULL };
static const char *const metrics_auths[] = { "token", "none", NULL };
static const char *const fsyncs[] = { "always", "never", NULL };
static const char *const failures[] = { "continue", "refuse", NULL };

#define S(key, field, choices) \
	{ key, T_STR, offsetof(skr_config, field), 0, 0, choices }
#define I(key, field, lo, hi) \
	{ key, T_INT, offsetof(skr_config, field), lo, hi, NULL }
#define B(key, field) \
	{ key, T_BOOL, offsetof(skr_config, field), 0, 1, NULL }

static const struct setting settings[] = {
	S("data", data, NULL),
	S("listen", listen, NULL),
	S("public_url", public_url, NULL),
	I("threads", threads, 0, 256),
	B("plain_http", plain_http),
	I("max_body", max_body, 1024, 64 * 1024 * 1024),
	I("max_header_bytes", max_header_bytes, 1024, 256 * 1024),
	/* h2o refuses more than H2O_MAX_HEADERS (100) by itself. */
	I("max_headers", max_headers, 8, 100),
	I("max_connections", max_connections, 1, 1000000),
	I("max_body_memory", max_body_memory, 1024 * 1024,
	    (int64_t)1 << 40),
	I("max_connection_body_memory", max_connection_body_memory,
	    64 * 1024, (int64_t)1 << 40),
	I("http2_max_streams", http2_max_streams, 1, 100),
	I("header_timeout", header_timeout, 1, 3600),
	I("idle_timeout", idle_timeout, 1, 86400),
	I("shutdown_timeout", shutdown_timeout, 0, 3600),
	I("token_skew", token_skew, 0, 3600),
	I("nonce_ttl", nonce_ttl, 10, 86400),
	I("retention_days", retention_days, 7, 90),
	I("purge_interval", purge_interval, 0, 86400),
	S("release_alg", release_alg, algs),
	B("require_releaser", require_releaser),
	S("deny_detail", deny_detail, details),
	S("log_level", log_level, levels),
	I("auth_fail_limit", auth_fail_limit, 1, 1000000),
	I("auth_fail_window", auth_fail_window, 1, 86400),
	I("release_limit", release_limit, 0, 1000000),
	I("release_window", release_window, 1, 86400),
	I("ratelimit_ipv6_prefix", ratelimit_ipv6_prefix, 16, 128),
	I("store_map_size", store_map_size, 0, (int64_t)1 << 40),
	I("audit_commit_interval_us", audit_commit_interval_us, 0, 100000),
	S("metrics_auth", metrics_auth, metrics_auths),
	S("audit_file", audit_file, NULL),
	S("audit_file_fsync", audit_file_fsync, fsyncs),
	S("audit_file_failure", audit_file_failure, failures),
	B("audit_stdout", audit_stdout),
	B("attest_snp", attest_snp),
	I("attest_token_lifetime", attest_token_lifetime, 60, 7 * 86400),
	S("snp_roots", snp_roots, NULL),
	S("snp_certs", snp_certs, NULL),
	S("snp_kds", snp_kds, NULL),
	S("snp_kds_ca", snp_kds_ca, NULL),
	S("snp_cache_dir", snp_cache_dir, NULL),
	{ NULL, 0, 0, 0, 0, NULL },
};

static const struct {
	const char *key;
	size_t offset;
} authority_keys[] = {
	{ "issuer", offsetof(skr_config_authority, issuer) },
	{ "source", offsetof(skr_config_authority, source) },
	{ "x5c_ca", offsetof(skr_config_authority, x5c_ca) },
	{ "https_ca", offsetof(skr_config_authority, https_ca) },
	{ "algs", offsetof(skr_config_authority, algs) },
	{ "wrapkey_claim", offsetof(skr_config_authority, wrapkey_claim) },
};
#define NAUTHKEYS (sizeof(authority_keys) / sizeof(authority_keys[0]))

void
skr_config_init(skr_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_body = 1024 * 1024;
	c->max_header_bytes = 16 * 1024;
	c->max_headers = 64;
	c->max_connections = 4096;
	c->max_body_memory = 64 * 1024 * 1024;
	c->max_connection_body_memory = 2 * 1024 * 1024;
	c->http2_max_streams = 16;
	c->header_timeout = 10;
	c->idle_timeout = 60;
	c->shutdown_timeout = 10;
	c->token_skew = 60;
	c->nonce_ttl = 300;
	c->retention_days = 90;
	c->purge_interval = 60;
	c->auth_fail_limit = 10;
	c->auth_fail_window = 60;
	c->release_limit = 300;
	c->release_window = 60;
	c->audit_commit_interval_us = 1000;
	c->attest_snp = 1;
	c->attest_token_lifetime = 28800;
	c->ratelimit_ipv6_prefix = 64;
}

void
skr_config_clear(skr_config *c)
{
	for (const struct setting *s = settings; s->key != NULL; s++)
		if (s->type == T_STR)
			free(*(char **)((char *)c + s->offset));
	for (size_t i = 0; i < c->nauthorities; i++)
		for (size_t k = 0; k < NAUTHKEYS; k++)
			free(*(char **)((char *)&c->authorities[i] +
			    authority_keys[k].offset));
	skr_config_init(c);
}

static int fail(skr_buf *why, int line, const char *fmt, const char *arg)
    __attribute__((format(printf, 3, 0)));

static int
fail(skr_buf *why, int line, const char *fmt, const char *arg)
{
	if (why != NULL) {
		if (line > 0)
			skr_buf_appendf(why, "line %d: ", line);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		skr_buf_appendf(why, fmt, arg);
#pragma GCC diagnostic pop
	}
	return SKR_ERR_CONFIG;
}

static int
set_value(skr_config *c, const char *key, const char *value, int line,
    skr_buf *why)
{
	const struct setting *s;
	char *end, **sp;
	long long v;

	for (s = settings; s->key != NULL; s++)
		if (strcmp(s->key, key) == 0)
			break;
	if (s->key == NULL)
		return fail(why, line, "unknown key \"%s\"", key);
	switch (s->type) {
	case T_STR:
		if (*value == '\0')
			return fail(why, line, "%s: empty value", key);
		if (s->choices != NULL) {
			size_t i;

			for (i = 0; s->choices[i] != NULL; i++)
				if (strcmp(s->choices[i], value) == 0)
					break;
			if (s->choices[i] == NULL)
				return fail(why, line, "%s: value not allowed",
				    key);
		}
		sp = (char **)((char *)c + s->offset);
		free(*sp);
		if ((*sp = strdup(value)) == NULL)
			return SKR_ERR_NOMEM;
		return SKR_OK;
	case T_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0)
			*(int *)((char *)c + s->offset) = 1;
		else if (strcmp(value, "false") == 0 ||
		    strcmp(value, "no") == 0)
			*(int *)((char *)c + s->offset) = 0;
		else
			return fail(why, line, "%s: expected true or false",
			    key);
		return SKR_OK;
	default:
		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v < s->min ||
		    v > s->max)
			return fail(why, line, "%s: number out of range or "
			    "malformed", key);
		*(int64_t *)((char *)c + s->offset) = v;
		return SKR_OK;
	}
}

int
skr_config_set(skr_config *c, const char *key, const char *value,
    skr_buf *why)
{
	return set_value(c, key, value, 0, why);
}

int
skr_config_check(const skr_config *c, skr_buf *why)
{
	if (c->max_connection_body_memory < c->max_body)
		return fail(why, 0, "%s", "max_connection_body_memory must be "
		    "at least max_body");
	if (c->max_body_memory < c->max_connection_body_memory)
		return fail(why, 0, "%s", "max_body_memory must be at least "
		    "max_connection_body_memory");
	return SKR_OK;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* '#' starts a comment at the start of a line or after white space, so
 * a value such as a URL with a fragment keeps its '#'. */
static void
strip_comment(char *line)
{
	for (char *p = line; *p != '\0'; p++)
		if (*p == '#' && (p == line || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			return;
		}
}

static int
check_authority(const skr_config_authority *a, int line, skr_buf *why)
{
	if (a->issuer == NULL || a->source == NULL)
		return fail(why, line, "%s", "[authority] needs issuer and "
		    "source");
	return SKR_OK;
}

int
skr_config_parse(const char *text, size_t n, skr_config *c, skr_buf *why)
{
	char seen[sizeof(settings) / sizeof(settings[0])] = { 0 };
	char aseen[NAUTHKEYS] = { 0 };
	skr_config_authority *auth = NULL;
	char line[4096], *p, *eq, *key, *value;
	size_t i = 0, len, k;
	int lineno = 0, section_line = 0, r;

	while (i < n) {
		const char *nl = memchr(text + i, '\n', n - i);

		len = nl ? (size_t)(nl - (text + i)) : n - i;
		lineno++;
		if (len >= sizeof(line))
			return fail(why, lineno, "%s", "line too long");
		memcpy(line, text + i, len);
		line[len] = '\0';
		i += len + (nl != NULL);
		if (memchr(line, '\0', len) != NULL)
			return fail(why, lineno, "%s", "NUL byte");
		strip_comment(line);
		p = trim(line);
		if (*p == '\0')
			continue;
		if (*p == '[') {
			if (strcmp(p, "[authority]") != 0)
				return fail(why, lineno, "unknown section %s",
				    p);
			if (auth != NULL &&
			    (r = check_authority(auth, section_line, why)))
				return r;
			if (c->nauthorities >= SKR_CONFIG_MAX_AUTHORITIES)
				return fail(why, lineno, "%s",
				    "too many authorities");
			auth = &c->authorities[c->nauthorities++];
			memset(aseen, 0, sizeof(aseen));
			section_line = lineno;
			continue;
		}
		if ((eq = strchr(p, '=')) == NULL)
			return fail(why, lineno, "%s", "expected key = value");
		*eq = '\0';
		key = trim(p);
		value = trim(eq + 1);
		if (*key == '\0')
			return fail(why, lineno, "%s", "empty key");
		if (auth != NULL) {
			for (k = 0; k < NAUTHKEYS; k++)
				if (strcmp(authority_keys[k].key, key) == 0)
					break;
			if (k == NAUTHKEYS)
				return fail(why, lineno, "unknown authority "
				    "key \"%s\"", key);
			if (aseen[k]++)
				return fail(why, lineno, "duplicate key "
				    "\"%s\"", key);
			if (*value == '\0')
				return fail(why, lineno, "%s: empty value", key);
			if ((*(char **)((char *)auth + authority_keys[k].offset) =
			    strdup(value)) == NULL)
				return SKR_ERR_NOMEM;
			continue;
		}
		for (k = 0; settings[k].key != NULL; k++)
			if (strcmp(settings[k].key, key) == 0)
				break;
		if (settings[k].key != NULL && seen[k]++)
			return fail(why, lineno, "duplicate key \"%s\"", key);
		if ((r = set_value(c, key, value, lineno, why)) != SKR_OK)
			return r;
	}
	if (auth != NULL)
		return check_authority(auth, section_line, why);
	return SKR_OK;
}

int
skr_config_load(const char *path, skr_config *c, skr_buf *why)
{
	skr_buf text = SKR_BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f;
	int r = SKR_OK;

	skr_buf_init(&text, 1024 * 1024);
	if ((f = fopen(path, "re")) == NULL)
		return fail(why, 0, "cannot open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((r = skr_buf_append(&text, chunk, n)) != SKR_OK)
			break;
	fclose(f);
	if (r == SKR_OK)
		r = skr_config_parse((const char *)text.data, text.len, c, why);
	skr_buf_free(&text);
	return r;
}
