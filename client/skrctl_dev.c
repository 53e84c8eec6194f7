/*
 * skrctl dev token: a test attestation token from the test authority
 * built into skrd --dev (docs/skrctl.1), for a simulated TEE whose
 * wrapping key is the public half of --wrapping-key.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "json.h"
#include "jwk.h"
#include "skr/error.h"
#include "skrctl.h"
#include "skrctl_file.h"
#include "skrctl_out.h"

/* The request body; NULL with *status set when an option is wrong. */
static json_t *
token_request(const struct skrctl_args *a, int *status)
{
	skr_buf pem = SKR_BUF_INIT_SECRET;
	skr_key *k = NULL;
	json_t *body, *claims;
	const char *wk = skrctl_args_get(a, "wrapping-key"), *v;
	long long t;

	*status = SKRCTL_EXIT_ERR;
	body = json_pack("{s:s}", "tee", (v = skrctl_args_get(a, "tee")) ? v :
	    "sevsnp");
	if (wk != NULL) {
		if (skrctl_file_read(wk, 0, &pem) != SKR_OK ||
		    skr_key_from_pem((const char *)pem.data, pem.len, &k) !=
		    SKR_OK) {
			skrctl_out_errorf("SKR.JWK.INVALID: %s: not a PEM key",
			    wk);
			goto fail;
		}
		json_object_set_new(body, "wrapping_key", skr_jwk_emit(k, 0));
	}
	if ((v = skrctl_args_get(a, "nonce")) != NULL)
		json_object_set_new(body, "nonce", json_string(v));
	if ((v = skrctl_args_get(a, "lifetime")) != NULL) {
		if (!skrctl_args_num(v, 1, INT_MAX, &t)) {
			*status = skrctl_out_usage("--lifetime takes seconds");
			goto fail;
		}
		json_object_set_new(body, "lifetime", json_integer(t));
	}
	if ((v = skrctl_args_get(a, "claims")) != NULL) {
		if (skr_json_parse(v, strlen(v), 0, &claims) != SKR_OK) {
			*status = skrctl_out_usage("--claims takes a JSON "
			    "object");
			goto fail;
		}
		json_object_set_new(body, "claims", claims);
	}
	skr_key_free(k);
	skr_buf_free(&pem);
	return body;
fail:
	skr_key_free(k);
	skr_buf_free(&pem);
	json_decref(body);
	return NULL;
}

int
skrctl_dev_token(struct skrctl_ctx *x)
{
	const char *file = skrctl_args_get(&x->a, "out"), *tok;
	json_t *body, *o = NULL;
	skr_result res;
	char *text = NULL, *out = NULL;
	int r;

	if ((body = token_request(&x->a, &r)) == NULL)
		return r;
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if ((r = skr_client_call(x->c, "POST", "/dev/token", text, &out,
	    &res)) != SKR_OK) {
		r = skrctl_out_fail(r, &res);
		goto out;
	}
	if (skr_json_parse(out, strlen(out), 0, &o) != SKR_OK) {
		r = skrctl_out_fail(SKR_ERR_RESPONSE, NULL);
		goto out;
	}
	tok = skrctl_out_jstr(o, "token");
	if (file == NULL || strcmp(file, "-") == 0) {
		printf("%s\n", tok);
		r = SKRCTL_EXIT_OK;
	} else
		r = skrctl_file_write_secret(file, tok, strlen(tok), 1) ==
		    SKR_OK ? SKRCTL_EXIT_OK : SKRCTL_EXIT_ERR;
out:
	json_decref(o);
	free(text);
	free(out);
	return r;
}
