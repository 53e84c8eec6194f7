/*
 * skrctl policy check|eval: validate a release policy, or decide a release
 * offline from a token, a key set and a policy, printing the trace
 * (skrctl_eval.c decides).  No server is contacted.  Exit status: 0 valid
 * or allowed, 1 error, 2 usage or (check) an invalid policy, 3 denied.
 */
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "policy.h"
#include "skr/error.h"
#include "skrctl.h"
#include "skrctl_eval.h"
#include "skrctl_file.h"
#include "skrctl_out.h"

int
skrctl_policy_check(struct skrctl_ctx *x)
{
	const char *file = x->a.pos[0];
	skr_buf text = SKR_BUF_INIT, why = SKR_BUF_INIT;
	skr_policy *p = NULL;
	int r, status;

	/* One byte over the limit, so that the parser names an oversize
	 * policy. */
	if (skrctl_file_read(file, SKR_POLICY_MAX_BYTES + 1, &text) !=
	    SKR_OK) {
		skr_buf_free(&text);
		return SKRCTL_EXIT_ERR;
	}
	r = skr_policy_parse((const char *)text.data, text.len, &p, &why);
	if (r == SKR_OK) {
		printf("%s: valid (%zu authority rule%s%s)\n", file,
		    skr_policy_rule_count(p),
		    skr_policy_rule_count(p) == 1 ? "" : "s",
		    skr_policy_require_server_nonce(p) ?
		    ", requires a server nonce" : "");
		status = SKRCTL_EXIT_OK;
	} else {
		fprintf(stderr, "%s: %s: %s\n", file, skr_err_id(r),
		    why.len ? skr_buf_cstr(&why) : skr_strerror(r));
		status = r == SKR_ERR_NOMEM ? SKRCTL_EXIT_ERR :
		    SKRCTL_EXIT_USAGE;
	}
	skr_policy_free(p);
	skr_buf_free(&text);
	skr_buf_free(&why);
	return status;
}

/* --at and --skew into in; an exit status. */
static int
eval_times(struct skrctl_ctx *x, skrctl_eval_input *in)
{
	const char *v;
	long long n;

	in->skew = SKR_TOKEN_DEFAULT_SKEW;
	if ((v = skrctl_args_get(&x->a, "at")) != NULL) {
		if (!skrctl_args_num(v, 1, INT64_MAX, &n)) {
			skrctl_out_errorf("--at: not a Unix time");
			skrctl_usage_of(stderr, x->cmd);
			return SKRCTL_EXIT_USAGE;
		}
		in->at = n;
	}
	if ((v = skrctl_args_get(&x->a, "skew")) != NULL) {
		if (!skrctl_args_num(v, 0, INT64_MAX, &n)) {
			skrctl_out_errorf("--skew: not a number of seconds");
			skrctl_usage_of(stderr, x->cmd);
			return SKRCTL_EXIT_USAGE;
		}
		in->skew = n;
	}
	return SKRCTL_EXIT_OK;
}

int
skrctl_policy_eval(struct skrctl_ctx *x)
{
	const char *token = skrctl_args_get(&x->a, "token");
	const char *jwks = skrctl_args_get(&x->a, "jwks");
	const char *policy = skrctl_args_get(&x->a, "policy");
	skr_buf tok = SKR_BUF_INIT, keys = SKR_BUF_INIT, pol = SKR_BUF_INIT;
	skr_buf why = SKR_BUF_INIT;
	skrctl_eval_input in = { 0 };
	enum skrctl_eval_bad bad;
	skrctl_eval e;
	int r, status = SKRCTL_EXIT_ERR;

	if ((status = eval_times(x, &in)) != SKRCTL_EXIT_OK)
		return status;
	if (token == NULL || jwks == NULL || policy == NULL) {
		skrctl_usage_of(stderr, x->cmd);
		return SKRCTL_EXIT_USAGE;
	}
	skrctl_eval_init(&e);
	status = SKRCTL_EXIT_ERR;
	if (skrctl_file_read_token(token, SKR_TOKEN_MAX_BYTES + 1, &tok) !=
	    SKR_OK || skrctl_file_read(jwks, SKR_JWKS_MAX_BYTES + 1, &keys) !=
	    SKR_OK || skrctl_file_read(policy, SKR_POLICY_MAX_BYTES + 1, &pol) !=
	    SKR_OK)
		goto out;
	in.token = (const char *)tok.data;
	in.token_len = tok.len;
	in.jwks = (const char *)keys.data;
	in.jwks_len = keys.len;
	in.policy = (const char *)pol.data;
	in.policy_len = pol.len;
	in.issuer = skrctl_args_get(&x->a, "issuer");
	r = skrctl_eval_run(&in, &e, &bad, &why);
	if (bad != SKRCTL_EVAL_BAD_NONE)
		skrctl_out_errorf("%s: %s: %s", bad == SKRCTL_EVAL_BAD_POLICY ?
		    policy : jwks, skr_err_id(r), skr_buf_cstr(&why));
	for (size_t i = 0; e.keys != NULL && i < skr_jwks_warning_count(e.keys);
	    i++)
		skrctl_out_errorf("%s: skipped %s", jwks,
		    skr_jwks_warning(e.keys, i));
	if (r != SKR_OK)
		goto out;
	if (x->json) {
		if (skrctl_eval_print_json(stdout, &e) != SKR_OK)
			goto out;
	} else
		skrctl_eval_print(stdout, &e);
	status = e.allowed ? SKRCTL_EXIT_OK : SKRCTL_EXIT_DENIED;
out:
	skrctl_eval_clear(&e);
	skr_buf_free(&tok);
	skr_buf_free(&keys);
	skr_buf_free(&pol);
	skr_buf_free(&why);
	return status;
}
