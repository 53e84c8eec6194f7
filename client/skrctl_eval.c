/*
 * The offline release decision (see skrctl_eval.h).
 */
#include "skrctl_eval.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "skr/error.h"

void
skrctl_eval_init(skrctl_eval *e)
{
	memset(e, 0, sizeof(*e));
	skr_buf_init(&e->token_why, 0);
	skr_buf_init(&e->res.denial, 0);
}

void
skrctl_eval_clear(skrctl_eval *e)
{
	skr_jwks_unref(e->keys);
	skr_token_free(e->tok);
	skr_buf_free(&e->token_why);
	skr_policy_result_clear(&e->res);
	skr_buf_free(&e->res.denial);
	free(e->wrap_kid);
	skrctl_eval_init(e);
}

int
skrctl_eval_run(const skrctl_eval_input *in, skrctl_eval *e,
    enum skrctl_eval_bad *bad, skr_buf *why)
{
	skr_token_opts opts = SKR_TOKEN_OPTS_INIT;
	skr_token_static st;
	skr_token_trust trust;
	skr_policy *p = NULL;
	skr_key *wrap = NULL;
	int r;

	*bad = SKRCTL_EVAL_BAD_NONE;
	if ((r = skr_policy_parse(in->policy, in->policy_len, &p, why)) !=
	    SKR_OK) {
		*bad = SKRCTL_EVAL_BAD_POLICY;
		goto out;
	}
	if ((r = skr_jwks_parse(in->jwks, in->jwks_len, NULL, in->at,
	    &e->keys, why)) != SKR_OK) {
		*bad = SKRCTL_EVAL_BAD_JWKS;
		goto out;
	}
	st.issuer = in->issuer;
	st.keys = e->keys;
	st.algs = 0;
	skr_token_trust_static(&trust, &st);
	opts.now = in->at;
	opts.skew = in->skew;
	/* A token refused is a decision (deny), as it is for skrd. */
	e->token_err = skr_token_verify(in->token, in->token_len, &trust,
	    &opts, &e->tok, &e->token_why);
	r = SKR_OK;
	if (e->token_err == SKR_ERR_NOMEM)
		r = SKR_ERR_NOMEM;
	if (e->token_err != SKR_OK)
		goto out;
	e->policy_err = skr_policy_eval(p, e->tok->claims, e->tok->iss,
	    in->at != 0 ? in->at : (int64_t)time(NULL), &e->res);
	if (e->policy_err != SKR_OK && e->policy_err != SKR_ERR_POLICY_DENIED) {
		r = e->policy_err;
		goto out;
	}
	e->allowed = e->policy_err == SKR_OK;
	e->wrap_err = skr_token_wrapping_key(e->tok, NULL, &wrap,
	    &e->wrap_kid);
	skr_key_free(wrap);
out:
	skr_policy_free(p);
	return r;
}

/* ---- for people -------------------------------------------------------- */

static void
print_value(FILE *f, const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	fprintf(f, "%s", s != NULL ? s : "?");
	free(s);
}

static void
print_conditions(FILE *f, const json_t *conds, int indent)
{
	const json_t *c;
	size_t i;

	json_array_foreach(conds, i, c) {
		int ok = json_is_true(json_object_get(c, "result"));

		fprintf(f, "%*s%s ", indent, "", ok ? "pass" : "FAIL");
		if (json_object_get(c, "claim") == NULL) {
			fprintf(f, "%s:\n", json_string_value(json_object_get(c,
			    "op")));
			print_conditions(f, json_object_get(c, "conditions"),
			    indent + 2);
			continue;
		}
		fprintf(f, "%s %s ", json_string_value(json_object_get(c,
		    "claim")), json_string_value(json_object_get(c, "op")));
		print_value(f, json_object_get(c, "expected"));
		fprintf(f, " (actual: ");
		if (json_object_get(c, "actual") != NULL)
			print_value(f, json_object_get(c, "actual"));
		else
			fprintf(f, "absent");
		fprintf(f, ")\n");
	}
}

static void
print_trace(FILE *f, const json_t *trace)
{
	const json_t *rule, *age;
	size_t i;

	json_array_foreach(json_object_get(trace, "rules"), i, rule) {
		fprintf(f, "  anyOf[%zu] %s%s: %s %s\n", i,
		    json_string_value(json_object_get(rule, "authority")),
		    json_is_true(json_object_get(rule, "matches_issuer")) ?
		    "" : " (not the token's issuer)",
		    json_string_value(json_object_get(rule, "op")),
		    json_is_true(json_object_get(rule, "result")) ?
		    "pass" : "FAIL");
		print_conditions(f, json_object_get(rule, "conditions"), 4);
		if ((age = json_object_get(rule, "maxAge")) != NULL) {
			fprintf(f, "    %s maxAgeSeconds %" JSON_INTEGER_FORMAT
			    " (iat: ", json_is_true(json_object_get(age,
			    "result")) ? "pass" : "FAIL",
			    json_integer_value(json_object_get(age,
			    "expected")));
			if (json_object_get(age, "actual") != NULL)
				print_value(f, json_object_get(age, "actual"));
			else
				fprintf(f, "absent");
			fprintf(f, ")\n");
		}
	}
}

void
skrctl_eval_print(FILE *f, const skrctl_eval *e)
{
	if (e->token_err != SKR_OK) {
		fprintf(f, "decision: deny\nreason: %s: %s\n",
		    skr_err_id(e->token_err), e->token_why.len ?
		    skr_buf_cstr(&e->token_why) : skr_strerror(e->token_err));
		return;
	}
	fprintf(f, "token: verified (iss %s, kid %s, %s, attestation type "
	    "%s)\n", e->tok->iss, e->tok->kid, skr_alg_name(e->tok->alg),
	    e->tok->attestation_type ? e->tok->attestation_type : "none");
	fprintf(f, "decision: %s\n", e->allowed ? "allow" : "deny");
	if (!e->allowed)
		fprintf(f, "reason: %s: %s\n",
		    skr_err_id(SKR_ERR_POLICY_DENIED),
		    skr_buf_cstr(&e->res.denial));
	if (e->wrap_err == SKR_OK)
		fprintf(f, "wrapping key: %s\n", e->wrap_kid);
	else
		fprintf(f, "wrapping key: none (%s: %s; a release would "
		    "fail)\n", skr_err_id(e->wrap_err),
		    skr_strerror(e->wrap_err));
	fprintf(f, "trace:\n");
	print_trace(f, e->res.trace);
	fprintf(f, "trace digest: %s\n", e->res.trace_digest);
}

/* ---- JSON -------------------------------------------------------------- */

int
skrctl_eval_print_json(FILE *f, const skrctl_eval *e)
{
	json_t *out, *tok = json_null(), *reason = json_null(), *wrap;
	char *s;

	if (e->token_err != SKR_OK)
		reason = json_pack("{s:s, s:s}", "code",
		    skr_err_id(e->token_err), "message",
		    e->token_why.len ? skr_buf_cstr(&e->token_why) :
		    skr_strerror(e->token_err));
	else if (!e->allowed)
		reason = json_pack("{s:s, s:s, s:O}", "code",
		    skr_err_id(SKR_ERR_POLICY_DENIED), "message",
		    skr_buf_cstr(&e->res.denial), "claims",
		    e->res.failed_claims);
	if (e->tok != NULL)
		tok = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:I, s:s}",
		    "iss", e->tok->iss, "kid", e->tok->kid,
		    "alg", skr_alg_name(e->tok->alg),
		    "jti", e->tok->jti,
		    "attestation_type", e->tok->attestation_type,
		    "exp", (json_int_t)e->tok->exp,
		    "sha256", e->tok->sha256_hex);
	if (e->tok == NULL)
		wrap = json_null();
	else if (e->wrap_err == SKR_OK)
		wrap = json_pack("{s:s}", "kid", e->wrap_kid);
	else
		wrap = json_pack("{s:s}", "error", skr_err_id(e->wrap_err));
	out = json_pack("{s:s, s:o, s:o, s:o, s:O?, s:s?}",
	    "decision", e->allowed ? "allow" : "deny",
	    "reason", reason ? reason : json_null(),
	    "token", tok ? tok : json_null(),
	    "wrapping_key", wrap ? wrap : json_null(),
	    "trace", e->res.trace,
	    "trace_digest", e->res.trace != NULL ? e->res.trace_digest : NULL);
	if (out == NULL || (s = json_dumps(out, JSON_INDENT(2) |
	    JSON_SORT_KEYS)) == NULL) {
		json_decref(out);
		return SKR_ERR_NOMEM;
	}
	fprintf(f, "%s\n", s);
	free(s);
	json_decref(out);
	return SKR_OK;
}
