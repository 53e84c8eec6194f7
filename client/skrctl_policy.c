/*
 * skrctl policy check|eval: validate a release policy, or decide a release
 * offline from a token, a key set and a policy, printing the trace.  The
 * same parser, verifier and evaluator as skrd (server/policy.c, token.c,
 * jwks.c), so the answer here is the answer the server gives.
 */
#include "skrctl_policy.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "jwks.h"
#include "policy.h"
#include "skr/error.h"
#include "token.h"

#define EXIT_OK 0
#define EXIT_ERR 1
#define EXIT_USAGE 2
#define EXIT_DENIED 3

static void
usage_to(FILE *f)
{
	fprintf(f,
	    "usage: skrctl policy check FILE\n"
	    "       skrctl policy eval --token FILE --jwks FILE --policy FILE\n"
	    "                          [--issuer URL] [--at UNIXTIME] "
	    "[--skew SECONDS] [--json]\n");
}

static void
usage(void)
{
	usage_to(stderr);
}

/* --help or -h anywhere among a command's arguments. */
static int
wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* Read at most max bytes of path; one byte more is read so that the
 * parsers see, and name, an oversize input. */
static int
read_file(const char *path, size_t max, skr_buf *out)
{
	char chunk[8192];
	FILE *f;
	size_t n;
	int r = SKR_OK;

	skr_buf_init(out, max + 1);
	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "skrctl: %s: %s\n", path, strerror(errno));
		return SKR_ERR_IO;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (out->len + n > max + 1)
			n = max + 1 - out->len;
		if ((r = skr_buf_append(out, chunk, n)) != SKR_OK ||
		    out->len > max)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "skrctl: %s: read error\n", path);
		r = SKR_ERR_IO;
	}
	fclose(f);
	return r;
}

/* ---- check ---- */

static int
cmd_check(int argc, char **argv)
{
	skr_buf text, why = SKR_BUF_INIT;
	skr_policy *p = NULL;
	int r, status;

	if (argc != 2) {
		usage();
		return EXIT_USAGE;
	}
	if (read_file(argv[1], SKR_POLICY_MAX_BYTES, &text) != SKR_OK) {
		skr_buf_free(&text);
		return EXIT_ERR;
	}
	r = skr_policy_parse((const char *)text.data, text.len, &p, &why);
	if (r == SKR_OK) {
		printf("%s: valid (%zu authority rule%s%s)\n", argv[1],
		    skr_policy_rule_count(p),
		    skr_policy_rule_count(p) == 1 ? "" : "s",
		    skr_policy_require_server_nonce(p) ?
		    ", requires a server nonce" : "");
		status = EXIT_OK;
	} else {
		fprintf(stderr, "%s: %s: %s\n", argv[1], skr_err_id(r),
		    why.len ? skr_buf_cstr(&why) : skr_strerror(r));
		status = r == SKR_ERR_NOMEM ? EXIT_ERR : EXIT_USAGE;
	}
	skr_policy_free(p);
	skr_buf_free(&text);
	skr_buf_free(&why);
	return status;
}

/* ---- eval ---- */

struct eval_args {
	const char *token, *jwks, *policy, *issuer;
	int64_t at, skew;
	int json;
};

static int
parse_int64(const char *s, int64_t min, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min)
		return -1;
	*out = v;
	return 0;
}

static int
eval_getopt(int argc, char **argv, struct eval_args *a)
{
	static const struct option longopts[] = {
		{ "token", required_argument, NULL, 't' },
		{ "jwks", required_argument, NULL, 'k' },
		{ "policy", required_argument, NULL, 'p' },
		{ "issuer", required_argument, NULL, 'i' },
		{ "at", required_argument, NULL, 'a' },
		{ "skew", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->skew = SKR_TOKEN_DEFAULT_SKEW;
	optind = 0; /* GNU: full reset, argv may differ between calls */
	opterr = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			a->token = optarg;
			break;
		case 'k':
			a->jwks = optarg;
			break;
		case 'p':
			a->policy = optarg;
			break;
		case 'i':
			a->issuer = optarg;
			break;
		case 'a':
			if (parse_int64(optarg, 1, &a->at) != 0) {
				fprintf(stderr, "skrctl: --at: not a Unix "
				    "time\n");
				return -1;
			}
			break;
		case 's':
			if (parse_int64(optarg, 0, &a->skew) != 0) {
				fprintf(stderr, "skrctl: --skew: not a number "
				    "of seconds\n");
				return -1;
			}
			break;
		case 'j':
			a->json = 1;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || a->token == NULL || a->jwks == NULL ||
	    a->policy == NULL)
		return -1;
	return 0;
}

static void
print_value(const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	printf("%s", s != NULL ? s : "?");
	free(s);
}

static void
print_conditions(const json_t *conds, int indent)
{
	const json_t *c;
	size_t i;

	json_array_foreach(conds, i, c) {
		int ok = json_is_true(json_object_get(c, "result"));

		printf("%*s%s ", indent, "", ok ? "pass" : "FAIL");
		if (json_object_get(c, "claim") == NULL) {
			printf("%s:\n", json_string_value(json_object_get(c,
			    "op")));
			print_conditions(json_object_get(c, "conditions"),
			    indent + 2);
			continue;
		}
		printf("%s %s ", json_string_value(json_object_get(c,
		    "claim")), json_string_value(json_object_get(c, "op")));
		print_value(json_object_get(c, "expected"));
		printf(" (actual: ");
		if (json_object_get(c, "actual") != NULL)
			print_value(json_object_get(c, "actual"));
		else
			printf("absent");
		printf(")\n");
	}
}

static void
print_trace(const json_t *trace)
{
	const json_t *rule, *age;
	size_t i;

	json_array_foreach(json_object_get(trace, "rules"), i, rule) {
		printf("  anyOf[%zu] %s%s: %s %s\n", i,
		    json_string_value(json_object_get(rule, "authority")),
		    json_is_true(json_object_get(rule, "matches_issuer")) ?
		    "" : " (not the token's issuer)",
		    json_string_value(json_object_get(rule, "op")),
		    json_is_true(json_object_get(rule, "result")) ?
		    "pass" : "FAIL");
		print_conditions(json_object_get(rule, "conditions"), 4);
		if ((age = json_object_get(rule, "maxAge")) != NULL) {
			printf("    %s maxAgeSeconds %" JSON_INTEGER_FORMAT
			    " (iat: ", json_is_true(json_object_get(age,
			    "result")) ? "pass" : "FAIL",
			    json_integer_value(json_object_get(age,
			    "expected")));
			if (json_object_get(age, "actual") != NULL)
				print_value(json_object_get(age, "actual"));
			else
				printf("absent");
			printf(")\n");
		}
	}
}

/* What eval found, for either output form. */
struct outcome {
	int token_err;
	skr_buf token_why;
	skr_token *tok;
	int policy_err;
	skr_policy_result res;
	int wrap_err;
	char *wrap_kid;
};

static int
print_json(const struct outcome *o, int allowed)
{
	json_t *out, *tok = json_null(), *reason = json_null(), *wrap;
	char *s;

	if (o->token_err != SKR_OK)
		reason = json_pack("{s:s, s:s}", "code",
		    skr_err_id(o->token_err), "message",
		    o->token_why.len ? skr_buf_cstr(&o->token_why) :
		    skr_strerror(o->token_err));
	else if (!allowed)
		reason = json_pack("{s:s, s:s, s:O}", "code",
		    skr_err_id(SKR_ERR_POLICY_DENIED), "message",
		    skr_buf_cstr(&o->res.denial), "claims",
		    o->res.failed_claims);
	if (o->tok != NULL)
		tok = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:I, s:s}",
		    "iss", o->tok->iss, "kid", o->tok->kid,
		    "alg", skr_alg_name(o->tok->alg),
		    "jti", o->tok->jti,
		    "attestation_type", o->tok->attestation_type,
		    "exp", (json_int_t)o->tok->exp,
		    "sha256", o->tok->sha256_hex);
	if (o->tok == NULL)
		wrap = json_null();
	else if (o->wrap_err == SKR_OK)
		wrap = json_pack("{s:s}", "kid", o->wrap_kid);
	else
		wrap = json_pack("{s:s}", "error", skr_err_id(o->wrap_err));
	out = json_pack("{s:s, s:o, s:o, s:o, s:O?, s:s?}",
	    "decision", allowed ? "allow" : "deny",
	    "reason", reason ? reason : json_null(),
	    "token", tok ? tok : json_null(),
	    "wrapping_key", wrap ? wrap : json_null(),
	    "trace", o->res.trace,
	    "trace_digest", o->res.trace != NULL ? o->res.trace_digest : NULL);
	if (out == NULL || (s = json_dumps(out, JSON_INDENT(2) |
	    JSON_SORT_KEYS)) == NULL) {
		json_decref(out);
		return EXIT_ERR;
	}
	printf("%s\n", s);
	free(s);
	json_decref(out);
	return EXIT_OK;
}

static void
print_human(const struct outcome *o, int allowed)
{
	if (o->token_err != SKR_OK) {
		printf("decision: deny\nreason: %s: %s\n",
		    skr_err_id(o->token_err), o->token_why.len ?
		    skr_buf_cstr(&o->token_why) : skr_strerror(o->token_err));
		return;
	}
	printf("token: verified (iss %s, kid %s, %s, attestation type %s)\n",
	    o->tok->iss, o->tok->kid, skr_alg_name(o->tok->alg),
	    o->tok->attestation_type ? o->tok->attestation_type : "none");
	printf("decision: %s\n", allowed ? "allow" : "deny");
	if (!allowed)
		printf("reason: %s: %s\n", skr_err_id(SKR_ERR_POLICY_DENIED),
		    skr_buf_cstr(&o->res.denial));
	if (o->wrap_err == SKR_OK)
		printf("wrapping key: %s\n", o->wrap_kid);
	else
		printf("wrapping key: none (%s: %s; a release would fail)\n",
		    skr_err_id(o->wrap_err), skr_strerror(o->wrap_err));
	printf("trace:\n");
	print_trace(o->res.trace);
	printf("trace digest: %s\n", o->res.trace_digest);
}

static int
cmd_eval(int argc, char **argv)
{
	struct eval_args a;
	struct outcome o;
	skr_buf token = SKR_BUF_INIT, jwks_text = SKR_BUF_INIT;
	skr_buf policy_text = SKR_BUF_INIT, why = SKR_BUF_INIT;
	skr_token_opts opts = SKR_TOKEN_OPTS_INIT;
	skr_token_static st;
	skr_token_trust trust;
	skr_policy *p = NULL;
	skr_jwks *keys = NULL;
	skr_key *wrap = NULL;
	int r, status = EXIT_ERR, allowed = 0;
	size_t i;

	memset(&o, 0, sizeof(o));
	skr_buf_init(&o.token_why, 0);
	skr_buf_init(&o.res.denial, 0);
	if (eval_getopt(argc, argv, &a) != 0) {
		usage();
		return EXIT_USAGE;
	}
	if (read_file(a.token, SKR_TOKEN_MAX_BYTES, &token) != SKR_OK ||
	    read_file(a.jwks, SKR_JWKS_MAX_BYTES, &jwks_text) != SKR_OK ||
	    read_file(a.policy, SKR_POLICY_MAX_BYTES, &policy_text) != SKR_OK)
		goto out;
	/* Token files usually end with a newline. */
	while (token.len > 0 && (token.data[token.len - 1] == '\n' ||
	    token.data[token.len - 1] == '\r' ||
	    token.data[token.len - 1] == ' '))
		token.data[--token.len] = '\0';

	if ((r = skr_policy_parse((const char *)policy_text.data,
	    policy_text.len, &p, &why)) != SKR_OK) {
		fprintf(stderr, "skrctl: %s: %s: %s\n", a.policy, skr_err_id(r),
		    skr_buf_cstr(&why));
		goto out;
	}
	skr_buf_reset(&why);
	if ((r = skr_jwks_parse((const char *)jwks_text.data, jwks_text.len,
	    NULL, a.at, &keys, &why)) != SKR_OK) {
		fprintf(stderr, "skrctl: %s: %s: %s\n", a.jwks, skr_err_id(r),
		    skr_buf_cstr(&why));
		goto out;
	}
	for (i = 0; i < skr_jwks_warning_count(keys); i++)
		fprintf(stderr, "skrctl: %s: skipped %s\n", a.jwks,
		    skr_jwks_warning(keys, i));

	st.issuer = a.issuer;
	st.keys = keys;
	st.algs = 0;
	skr_token_trust_static(&trust, &st);
	opts.now = a.at;
	opts.skew = a.skew;
	o.token_err = skr_token_verify((const char *)token.data, token.len,
	    &trust, &opts, &o.tok, &o.token_why);
	if (o.token_err == SKR_ERR_NOMEM)
		goto out;
	if (o.token_err == SKR_OK) {
		o.policy_err = skr_policy_eval(p, o.tok->claims, o.tok->iss,
		    a.at != 0 ? a.at : (int64_t)time(NULL), &o.res);
		if (o.policy_err != SKR_OK &&
		    o.policy_err != SKR_ERR_POLICY_DENIED)
			goto out;
		allowed = o.policy_err == SKR_OK;
		o.wrap_err = skr_token_wrapping_key(o.tok, NULL, &wrap,
		    &o.wrap_kid);
		skr_key_free(wrap);
	}
	if (a.json) {
		if (print_json(&o, allowed) != EXIT_OK)
			goto out;
	} else
		print_human(&o, allowed);
	status = allowed ? EXIT_OK : EXIT_DENIED;
 out:
	skr_policy_free(p);
	skr_jwks_unref(keys);
	skr_token_free(o.tok);
	skr_buf_free(&o.token_why);
	skr_policy_result_clear(&o.res);
	skr_buf_free(&o.res.denial);
	free(o.wrap_kid);
	skr_buf_free(&token);
	skr_buf_free(&jwks_text);
	skr_buf_free(&policy_text);
	skr_buf_free(&why);
	return status;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "check", cmd_check },
	{ "eval", cmd_eval },
};

int
skrctl_policy_main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage();
		return EXIT_USAGE;
	}
	if (wants_help(argc, argv)) {
		usage_to(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "skrctl policy: unknown command \"%s\"\n", argv[1]);
	usage();
	return EXIT_USAGE;
}
