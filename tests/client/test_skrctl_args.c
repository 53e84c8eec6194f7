/*
 * skrctl's argument parser (client/skrctl_args.c): options with and
 * without values, repeated options, positionals, "--", --help, and the
 * hostile cases -- unknown options, another command's options, missing
 * and unwanted values, too many of anything.
 */
#include <limits.h>
#include <string.h>

#include "check.h"
#include "skrctl_args.h"

/* What `key show` and `release` take, and the server options. */
static const char key_show[] = "version=";
static const char release[] =
    "token= wrapping-key= version= enc= nonce= out= force";
static const char server[] =
    "addr= auth= cacert= pin= signing-cert= signing-ca= json";

/* Parse argv (NULL-ended) with the specs of one command plus the server
 * options. */
static enum skrctl_args_err
parse(struct skrctl_args *a, const char *spec, const char *const *argv)
{
	const char *specs[] = { spec, server, NULL };
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	skrctl_args_init(a);
	return skrctl_args_parse(a, argc, (char *const *)argv, specs);
}

static const char *
message(const struct skrctl_args *a)
{
	static char buf[256];

	return skrctl_args_strerror(a, buf, sizeof(buf));
}

static void
test_options(void)
{
	struct skrctl_args a;

	CHECK(parse(&a, release, (const char *[]){ "k", "--token", "t.jwt",
	    "--force", "--out", "-", "--json", NULL }) == SKRCTL_ARGS_OK);
	CHECK(a.npos == 1 && a.nopt == 4 && !a.help);
	CHECK_STR(a.pos[0], "k");
	CHECK_STR(skrctl_args_get(&a, "token"), "t.jwt");
	CHECK_STR(skrctl_args_get(&a, "out"), "-");
	CHECK_STR(skrctl_args_get(&a, "force"), "1");
	CHECK_STR(skrctl_args_get(&a, "json"), "1");
	CHECK(skrctl_args_get(&a, "nonce") == NULL);
	/* Names match whole, not as prefixes of one another. */
	CHECK(skrctl_args_get(&a, "tok") == NULL);
	CHECK(skrctl_args_get(&a, "token=") == NULL);
	CHECK(skrctl_args_get(&a, "") == NULL);

	/* --name=VALUE is --name VALUE; only the first '=' splits. */
	CHECK(parse(&a, release, (const char *[]){ "--token=a=b", "--out=",
	    "k", NULL }) == SKRCTL_ARGS_OK);
	CHECK_STR(skrctl_args_get(&a, "token"), "a=b");
	CHECK_STR(skrctl_args_get(&a, "out"), "");
	CHECK(a.npos == 1);

	/* A value is taken as it is, even when it looks like an option, a
	 * negative number or "-h". */
	CHECK(parse(&a, release, (const char *[]){ "--nonce", "--force",
	    "--version", "-h", "--enc", "-1", NULL }) == SKRCTL_ARGS_OK);
	CHECK_STR(skrctl_args_get(&a, "nonce"), "--force");
	CHECK(skrctl_args_get(&a, "force") == NULL);
	CHECK_STR(skrctl_args_get(&a, "version"), "-h");
	CHECK_STR(skrctl_args_get(&a, "enc"), "-1");
	CHECK(!a.help && a.npos == 0);

	/* Single dashes are positionals: "-" is standard input or output,
	 * and a key may be named "-x". */
	CHECK(parse(&a, key_show, (const char *[]){ "-", "-x", NULL }) ==
	    SKRCTL_ARGS_OK);
	CHECK(a.npos == 2);
	CHECK_STR(a.pos[0], "-");
	CHECK_STR(a.pos[1], "-x");
}

static void
test_repeated(void)
{
	struct skrctl_args a;
	const char *v;
	int i = 0;

	CHECK(parse(&a, "tag= role= json", (const char *[]){ "--tag", "a=1",
	    "--role", "reader", "--tag", "b=2", "--json", "--json", "--tag=c=3",
	    NULL }) == SKRCTL_ARGS_OK);
	/* The last one wins for a single value ... */
	CHECK_STR(skrctl_args_get(&a, "tag"), "c=3");
	CHECK_STR(skrctl_args_get(&a, "json"), "1");
	/* ... and every one is kept, in order. */
	CHECK_STR(skrctl_args_each(&a, "tag", &i), "a=1");
	CHECK_STR(skrctl_args_each(&a, "tag", &i), "b=2");
	CHECK_STR(skrctl_args_each(&a, "tag", &i), "c=3");
	CHECK(skrctl_args_each(&a, "tag", &i) == NULL);
	CHECK(skrctl_args_each(&a, "tag", &i) == NULL);
	i = 0;
	CHECK_STR(skrctl_args_each(&a, "role", &i), "reader");
	CHECK(skrctl_args_each(&a, "role", &i) == NULL);
	i = 0;
	CHECK(skrctl_args_each(&a, "prefix", &i) == NULL);
	for (i = 0, v = NULL; skrctl_args_each(&a, "json", &i) != NULL;)
		v = "seen";
	CHECK(v != NULL);
}

static void
test_unknown(void)
{
	struct skrctl_args a;

	CHECK(parse(&a, "", (const char *[]){ "--frobnicate", NULL }) ==
	    SKRCTL_ARGS_UNKNOWN);
	/* The wording tests/client/test_skrctl_usage.sh pins. */
	CHECK_STR(message(&a), "unknown option --frobnicate");
	CHECK(parse(&a, "", (const char *[]){ "--frob=x", NULL }) ==
	    SKRCTL_ARGS_UNKNOWN);
	CHECK_STR(message(&a), "unknown option --frob");
	/* Another command's option: release's --token is not key show's. */
	CHECK(parse(&a, key_show, (const char *[]){ "k", "--token", "t",
	    NULL }) == SKRCTL_ARGS_UNKNOWN);
	CHECK_STR(a.bad, "--token");
	CHECK_STR(message(&a), "unknown option --token");
	/* No abbreviations, no spec syntax, no empty name. */
	CHECK(parse(&a, release, (const char *[]){ "--tok", "t", NULL }) ==
	    SKRCTL_ARGS_UNKNOWN);
	CHECK(parse(&a, release, (const char *[]){ "--token=", "t", NULL }) ==
	    SKRCTL_ARGS_OK);
	CHECK(parse(&a, key_show, (const char *[]){ "--version==", NULL }) ==
	    SKRCTL_ARGS_OK);
	CHECK_STR(skrctl_args_get(&a, "version"), "=");
	CHECK(parse(&a, "", (const char *[]){ "--=x", NULL }) ==
	    SKRCTL_ARGS_UNKNOWN);
	CHECK(parse(&a, "json", (const char *[]){ "--jso", NULL }) ==
	    SKRCTL_ARGS_UNKNOWN);
	CHECK(parse(&a, "json", (const char *[]){ "--jsonx", NULL }) ==
	    SKRCTL_ARGS_UNKNOWN);
	/* Without the server options, --addr is unknown too (the offline
	 * commands). */
	{
		const char *specs[] = { "token= json", NULL };
		char *argv[] = { (char *)"--addr", (char *)"x" };

		skrctl_args_init(&a);
		CHECK(skrctl_args_parse(&a, 2, argv, specs) ==
		    SKRCTL_ARGS_UNKNOWN);
		CHECK_STR(message(&a), "unknown option --addr");
	}
	/* Parsing stops at the first error: nothing after it is taken. */
	CHECK(parse(&a, key_show, (const char *[]){ "--bogus", "--version",
	    "3", "k", NULL }) == SKRCTL_ARGS_UNKNOWN);
	CHECK(a.nopt == 0 && a.npos == 0);
}

static void
test_values(void)
{
	struct skrctl_args a;

	/* The wording tests/client/test_skrctl_usage.sh pins. */
	CHECK(parse(&a, key_show, (const char *[]){ "k", "--version", NULL })
	    == SKRCTL_ARGS_NO_VALUE);
	CHECK_STR(message(&a), "--version needs a value");
	CHECK(skrctl_args_get(&a, "version") == NULL);
	CHECK(parse(&a, "", (const char *[]){ "--addr", NULL }) ==
	    SKRCTL_ARGS_NO_VALUE);
	CHECK_STR(message(&a), "--addr needs a value");
	/* A flag takes no value. */
	CHECK(parse(&a, "", (const char *[]){ "--json=1", NULL }) ==
	    SKRCTL_ARGS_FLAG_VALUE);
	CHECK_STR(message(&a), "--json takes no value");
	CHECK(parse(&a, "", (const char *[]){ "--json=", NULL }) ==
	    SKRCTL_ARGS_FLAG_VALUE);
}

static void
test_dashdash(void)
{
	struct skrctl_args a;

	/* After "--" everything is positional, options and help included. */
	CHECK(parse(&a, key_show, (const char *[]){ "--version", "2", "--",
	    "--version", NULL }) == SKRCTL_ARGS_OK);
	CHECK(a.npos == 1 && !a.help);
	CHECK_STR(a.pos[0], "--version");
	CHECK_STR(skrctl_args_get(&a, "version"), "2");
	CHECK(parse(&a, key_show, (const char *[]){ "--", "-h", "--help", "--",
	    NULL }) == SKRCTL_ARGS_OK);
	CHECK(a.npos == 3 && !a.help);
	CHECK_STR(a.pos[2], "--");
	CHECK(parse(&a, key_show, (const char *[]){ "k", "--", NULL }) ==
	    SKRCTL_ARGS_OK);
	CHECK(a.npos == 1);
	/* "--" holds across calls, as main parses the options before the
	 * command and those after it separately. */
	{
		const char *specs[] = { key_show, NULL };
		char *first[] = { (char *)"--" };
		char *second[] = { (char *)"--version" };

		skrctl_args_init(&a);
		CHECK(skrctl_args_parse(&a, 1, first, specs) == SKRCTL_ARGS_OK);
		CHECK(skrctl_args_parse(&a, 1, second, specs) ==
		    SKRCTL_ARGS_OK);
		CHECK(a.npos == 1 && a.nopt == 0);
	}
}

static void
test_help(void)
{
	struct skrctl_args a;

	CHECK(parse(&a, "", (const char *[]){ "--help", NULL }) ==
	    SKRCTL_ARGS_OK);
	CHECK(a.help && a.nopt == 0 && a.npos == 0);
	CHECK(parse(&a, key_show, (const char *[]){ "k", "-h", NULL }) ==
	    SKRCTL_ARGS_OK);
	CHECK(a.help && a.npos == 1);
	/* --help is seen past an error, before or after it, so that a
	 * command line that does not parse still gets its usage. */
	CHECK(parse(&a, "", (const char *[]){ "--bogus", "x", "--help",
	    NULL }) == SKRCTL_ARGS_UNKNOWN);
	CHECK(a.help);
	CHECK(parse(&a, key_show, (const char *[]){ "--help", "--version",
	    NULL }) == SKRCTL_ARGS_NO_VALUE);
	CHECK(a.help);
	/* "help" is a positional (a key may be named so); --help=x is not
	 * help. */
	CHECK(parse(&a, key_show, (const char *[]){ "help", NULL }) ==
	    SKRCTL_ARGS_OK);
	CHECK(!a.help && a.npos == 1);
	CHECK(parse(&a, "", (const char *[]){ "--help=x", NULL }) ==
	    SKRCTL_ARGS_UNKNOWN);
	CHECK(!a.help);
	/* --help and -h are options of every command. */
	{
		int takes = 1;

		CHECK(skrctl_args_is_option("--help", (const char *[]){ NULL },
		    &takes) && !takes);
		CHECK(skrctl_args_is_option("-h", (const char *[]){ NULL },
		    &takes) && !takes);
	}
}

static void
test_limits(void)
{
	const char *argv[SKRCTL_ARGS_MAXOPTS * 2 + 4];
	struct skrctl_args a;
	int n;

	CHECK(parse(&a, "", (const char *[]){ "a", "b", "c", "d", NULL }) ==
	    SKRCTL_ARGS_OK);
	CHECK(a.npos == SKRCTL_ARGS_MAXPOS);
	CHECK(parse(&a, "", (const char *[]){ "a", "b", "c", "d", "e", NULL })
	    == SKRCTL_ARGS_TOO_MANY_POS);
	CHECK(a.npos == SKRCTL_ARGS_MAXPOS);
	CHECK_STR(a.bad, "e");
	/* Nothing to say beyond the usage. */
	CHECK_STR(message(&a), "");
	for (n = 0; n < SKRCTL_ARGS_MAXOPTS; n++)
		argv[n] = "--json";
	argv[n] = NULL;
	CHECK(parse(&a, "", argv) == SKRCTL_ARGS_OK);
	CHECK(a.nopt == SKRCTL_ARGS_MAXOPTS);
	argv[n++] = "--json";
	argv[n] = NULL;
	CHECK(parse(&a, "", argv) == SKRCTL_ARGS_TOO_MANY_OPTS);
	CHECK(a.nopt == SKRCTL_ARGS_MAXOPTS);
	CHECK_STR(message(&a), "too many options");
}

static void
test_is_option(void)
{
	const char *specs[] = { server, NULL };
	int takes = -1;

	CHECK(skrctl_args_is_option("--addr", specs, &takes) && takes == 1);
	/* The value came with it. */
	CHECK(skrctl_args_is_option("--addr=https://h", specs, &takes) &&
	    takes == 0);
	CHECK(skrctl_args_is_option("--json", specs, &takes) && takes == 0);
	CHECK(!skrctl_args_is_option("--token", specs, &takes));
	CHECK(!skrctl_args_is_option("--", specs, &takes));
	CHECK(!skrctl_args_is_option("-", specs, &takes));
	CHECK(!skrctl_args_is_option("key", specs, &takes));
	CHECK(!skrctl_args_is_option("--=", specs, &takes));
	CHECK(!skrctl_args_is_option("--ad", specs, &takes));
}

static void
test_num(void)
{
	long long n = 0;

	CHECK(skrctl_args_num("256", 1, 65536, &n) && n == 256);
	CHECK(skrctl_args_num("0", 0, LLONG_MAX, &n) && n == 0);
	CHECK(skrctl_args_num("9223372036854775807", 0, LLONG_MAX, &n) &&
	    n == LLONG_MAX);
	CHECK(!skrctl_args_num("9223372036854775808", 0, LLONG_MAX, &n));
	CHECK(!skrctl_args_num("25x", 1, 65536, &n));
	CHECK(!skrctl_args_num("1e9", 0, LLONG_MAX, &n));
	CHECK(!skrctl_args_num("-1", 1, 65536, &n));
	CHECK(!skrctl_args_num("65537", 1, 65536, &n));
	CHECK(!skrctl_args_num("", 0, 1, &n));
	CHECK(!skrctl_args_num(NULL, 0, 1, &n));
	CHECK(n == LLONG_MAX); /* untouched by the failures */
}

int
main(void)
{
	test_options();
	test_repeated();
	test_unknown();
	test_values();
	test_dashdash();
	test_help();
	test_limits();
	test_is_option();
	test_num();
	return check_done();
}
