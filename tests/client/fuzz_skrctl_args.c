/*
 * libFuzzer target: skrctl's argument parser (client/skrctl_args.c).  The
 * input is a command line, arguments separated by NUL bytes, parsed in two
 * calls as skrctl's main does (the arguments before the first one that is
 * "\x01", and the rest).  Whatever it is, the parser stays inside its limits,
 * keeps only options the specs name, and its accessors agree.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "skrctl_args.h"

#define MAXARGS 128

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const specs[] = {
	"token= wrapping-key= version= enc= nonce= out= force tag=",
	"addr= auth= cacert= pin= signing-cert= signing-ca= json",
	NULL,
};

static void
check_result(const struct skrctl_args *a, char *const *argv, int argc)
{
	char msg[256];
	int takes, i, seen;

	if (a->npos < 0 || a->npos > SKRCTL_ARGS_MAXPOS || a->nopt < 0 ||
	    a->nopt > SKRCTL_ARGS_MAXOPTS)
		abort();
	for (i = 0; i < a->nopt; i++) {
		char name[512];

		if (a->opt[i].len + 3 > sizeof(name) || a->opt[i].val == NULL)
			abort();
		memcpy(name, "--", 2);
		memcpy(name + 2, a->opt[i].name, a->opt[i].len);
		name[a->opt[i].len + 2] = '\0';
		if (!skrctl_args_is_option(name, specs, &takes))
			abort();
		/* skrctl_args_each finds this one among its name's. */
		{
			char *key = strndup(a->opt[i].name, a->opt[i].len);
			const char *v;
			int j = 0, found = 0;

			if (key == NULL)
				abort();
			while ((v = skrctl_args_each(a, key, &j)) != NULL)
				found |= v == a->opt[i].val;
			if (!found || skrctl_args_get(a, key) == NULL)
				abort();
			free(key);
		}
	}
	for (i = 0; i < a->npos; i++) {
		seen = 0;
		for (int k = 0; k < argc; k++)
			seen |= a->pos[i] == argv[k];
		if (!seen)
			abort();
	}
	if ((a->err == SKRCTL_ARGS_OK) != (a->bad == NULL))
		abort();
	skrctl_args_strerror(a, msg, sizeof(msg));
	if (strlen(msg) >= sizeof(msg))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAXARGS];
	char *copy = malloc(size + 1);
	struct skrctl_args a;
	int argc = 0, split = -1;
	size_t start = 0;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t i = 0; i <= size && argc < MAXARGS; i++) {
		if (i < size && copy[i] != '\0')
			continue;
		copy[i] = '\0';
		if (strcmp(copy + start, "\x01") == 0 && split < 0)
			split = argc;
		else
			argv[argc++] = copy + start;
		start = i + 1;
	}
	if (split < 0)
		split = argc;
	skrctl_args_init(&a);
	skrctl_args_parse(&a, split, argv, specs);
	skrctl_args_parse(&a, argc - split, argv + split, specs);
	check_result(&a, argv, argc);
	free(copy);
	return 0;
}
