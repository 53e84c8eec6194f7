/*
 * skrctl's one argument parser, used by every command.
 *
 * A command's options are named in a spec string, names separated by
 * spaces, a trailing '=' for an option that takes a value:
 * "token= jwks= json".  An option is written --name VALUE or --name=VALUE,
 * a flag --name.  Anything else is a positional argument, as is everything
 * after "--".  --help and -h ask for the usage, and are honoured even when
 * the rest of the line does not parse.  A repeated option keeps every
 * value; skrctl_args_get gives the last one, skrctl_args_each all of them.
 *
 * Pure: nothing is printed or allocated.  The parsed arguments borrow argv
 * and must not outlive it.
 */
#ifndef SKR_CLIENT_SKRCTL_ARGS_H
#define SKR_CLIENT_SKRCTL_ARGS_H

#include <stddef.h>

#define SKRCTL_ARGS_MAXPOS 4
#define SKRCTL_ARGS_MAXOPTS 48

enum skrctl_args_err {
	SKRCTL_ARGS_OK = 0,
	SKRCTL_ARGS_UNKNOWN,      /* an option no spec names */
	SKRCTL_ARGS_NO_VALUE,     /* --name at the end, its value missing */
	SKRCTL_ARGS_FLAG_VALUE,   /* --flag=VALUE for an option without one */
	SKRCTL_ARGS_TOO_MANY_POS, /* more than SKRCTL_ARGS_MAXPOS */
	SKRCTL_ARGS_TOO_MANY_OPTS /* more than SKRCTL_ARGS_MAXOPTS */
};

struct skrctl_args {
	const char *pos[SKRCTL_ARGS_MAXPOS];
	int npos;
	struct {
		const char *name;   /* borrowed from argv, not NUL-ended */
		size_t len;
		const char *val;    /* "1" for a flag */
	} opt[SKRCTL_ARGS_MAXOPTS];
	int nopt;
	int help;                   /* --help or -h was seen */
	int rest;                   /* "--" was seen: only positionals follow */
	enum skrctl_args_err err;   /* the first error; parsing stops there */
	const char *bad;            /* the argument it is about */
};

/* Empty a. */
void skrctl_args_init(struct skrctl_args *a);

/*
 * Add argv[0..argc) to a, each option looked up in the NULL-ended list of
 * specs.  Called more than once, the arguments add up (and a "--" in one
 * call holds for the next).  Returns a->err: SKRCTL_ARGS_OK, or the first
 * error, after which only --help and -h are still looked for.
 */
enum skrctl_args_err skrctl_args_parse(struct skrctl_args *a, int argc,
    char *const *argv, const char *const *specs);

/* 1 when arg is an option of the specs (it, or --help or -h), *takes_value
 * saying whether its value is the next argument; 0 otherwise. */
int skrctl_args_is_option(const char *arg, const char *const *specs,
    int *takes_value);

/* The error of a, as a message for "skrctl: <message>", into buf; "" when
 * there is nothing to say beyond the usage (too many positionals).
 * Returns buf. */
const char *skrctl_args_strerror(const struct skrctl_args *a, char *buf,
    size_t len);

/* The value of the last --name, or NULL; borrowed from argv. */
const char *skrctl_args_get(const struct skrctl_args *a, const char *name);

/* Every --name in order: start with *i = 0; NULL after the last. */
const char *skrctl_args_each(const struct skrctl_args *a, const char *name,
    int *i);

/* A whole decimal number in [min, max] into *out: 1, or 0 when v is NULL,
 * empty or anything else. */
int skrctl_args_num(const char *v, long long min, long long max,
    long long *out);

#endif
