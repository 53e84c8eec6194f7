/*
 * skrctl release, evaluate and nonce (docs/skrctl.1, Release): a key
 * released to this workload and unwrapped here (with a PEM key, or in the
 * TPM: skrctl_tpm.c), the dry run of a release, and a server nonce for
 * policies that require one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "json.h"
#include "jwk.h"
#include "jws.h"
#include "skr/error.h"
#include "skrctl.h"
#include "skrctl_file.h"
#include "skrctl_out.h"
#include "skrctl_tpm.h"

/* The attestation token of --token; an exit status. */
static int
read_token(const struct skrctl_args *a, skr_buf *tok)
{
	const char *file = skrctl_args_get(a, "token");

	if (file == NULL)
		return skrctl_out_usage("--token FILE (the attestation token) "
		    "is required");
	if (skrctl_file_read_token(file, 0, tok) != SKR_OK)
		return SKRCTL_EXIT_ERR;
	return SKRCTL_EXIT_OK;
}

/*
 * The kid the attestation token gives the wrapping key, so that libskr can
 * check key_hsm names it.  The token is only read here, not trusted: the
 * server verifies it; a token without a matching key just skips the check.
 */
static char *
token_wrapping_kid(const skr_buf *tok, const skr_key *wrap)
{
	skr_jws jws;
	const json_t *keys, *v;
	skr_key *k;
	char *kid = NULL;
	size_t i;

	if (skr_jws_parse(skr_buf_cstr(tok), tok->len, 0, &jws) != SKR_OK)
		return NULL;
	keys = skr_json_path(jws.payload, "x-ms-runtime.keys");
	json_array_foreach(keys, i, v) {
		if (kid != NULL || !json_is_string(json_object_get(v, "kid")) ||
		    skr_jwk_parse(v, SKR_JWK_PUBLIC, &k) != SKR_OK)
			continue;
		if (skr_key_public_equal(k, wrap))
			kid = strdup(json_string_value(json_object_get(v,
			    "kid")));
		skr_key_free(k);
	}
	skr_jws_clear(&jws);
	return kid;
}

/* The released key as it is written out: PEM (RSA, EC) or raw (oct). */
static int
released_bytes(const skr_released_key *k, skr_buf *out)
{
	const unsigned char *bytes;
	skr_key *rk = NULL;
	size_t n;
	int r;

	bytes = skr_released_key_bytes(k, &n);
	if (strcmp(skr_released_key_kty(k), "oct") == 0)
		return skr_buf_append(out, bytes, n);
	r = skr_key_from_private_bytes(strcmp(skr_released_key_kty(k),
	    "RSA") == 0 ? SKR_KTY_RSA : SKR_KTY_EC, bytes, n, &rk);
	if (r == SKR_OK)
		r = skr_key_to_pem(rk, 1, out);
	skr_key_free(rk);
	return r;
}

/* The private key of --wrapping-key, which must be RSA. */
static int
read_wrapping_key(const char *file, skr_key **wrap)
{
	skr_buf pem = SKR_BUF_INIT_SECRET;
	int ok;

	ok = skrctl_file_read(file, 0, &pem) == SKR_OK &&
	    skr_key_from_pem((const char *)pem.data, pem.len, wrap) ==
	    SKR_OK && skr_key_kty(*wrap) == SKR_KTY_RSA &&
	    skr_key_has_private(*wrap);
	skr_buf_free(&pem);
	if (ok)
		return SKR_OK;
	skrctl_out_errorf("SKR.JWK.INVALID: %s: not an RSA private key", file);
	return SKR_ERR_JWK_INVALID;
}

/* The usage errors of a release, told before anything is read: one
 * wrapping key, a PEM file or the TPM's (docs/skrctl.1, Release). */
static int
release_usage(const struct skrctl_ctx *x)
{
	const struct skrctl_args *a = &x->a;
	int pem = skrctl_args_get(a, "wrapping-key") != NULL;
	int tpm = skrctl_args_get(a, "tpm") != NULL;

	if (skrctl_args_get(a, "out") == NULL)
		return skrctl_out_usage("--out FILE|- is required");
	if (skrctl_args_get(a, "token") == NULL)
		return skrctl_out_usage("--token FILE (the attestation token) "
		    "is required");
	if (pem && tpm)
		return skrctl_out_usage("--wrapping-key and --tpm exclude "
		    "each other: the wrapping key is in a PEM file or in the "
		    "TPM");
	if (!pem && !tpm)
		return skrctl_out_usage("--wrapping-key PEM (the TEE's RSA "
		    "private key) or --tpm (the key in this machine's TPM) is "
		    "required");
	if (!tpm && skrctl_args_get(a, "tcti") != NULL)
		return skrctl_out_usage("--tcti goes with --tpm");
	if (!x->signing_trust)
		return skrctl_out_usage("a release response is trusted through "
		    "--signing-cert, --signing-ca, or --cacert when it is the "
		    "one CA of skrd (its ca.pem): give one");
	return SKRCTL_EXIT_OK;
}

int
skrctl_release(struct skrctl_ctx *x)
{
	skr_buf tok = SKR_BUF_INIT, outbuf = SKR_BUF_INIT_SECRET;
	const char *wk = skrctl_args_get(&x->a, "wrapping-key");
	const char *outfile = skrctl_args_get(&x->a, "out");
	struct skrctl_secret_file so = { .fd = -1 };
	skr_released_key *k = NULL;
	skr_unwrapper u;
	skr_key *wrap = NULL;
	skr_tpm *tpm = NULL;
	skr_result res;
	char *kid = NULL;
	int r, err;

	if ((r = release_usage(x)) != SKRCTL_EXIT_OK)
		return r;
	memset(&u, 0, sizeof(u));
	if ((r = read_token(&x->a, &tok)) != SKRCTL_EXIT_OK)
		goto out;
	if (wk == NULL) {
		/* The TPM's key must be the token's: checked before the
		 * request, which may use up a server nonce. */
		if ((r = skrctl_tpm_unwrapper(&x->a, skr_buf_cstr(&tok), &tpm,
		    &u)) != SKRCTL_EXIT_OK)
			goto out;
	} else {
		r = SKRCTL_EXIT_ERR;
		if (read_wrapping_key(wk, &wrap) != SKR_OK)
			goto out;
		kid = token_wrapping_kid(&tok, wrap);
		u.key = skr_key_pkey(wrap);
		u.kid = kid;
	}
	/* The output file first: a release may use up a server nonce, so
	 * do not ask for the key unless it can be written. */
	r = SKRCTL_EXIT_ERR;
	if (skrctl_file_open_secret(&so, outfile, skrctl_args_get(&x->a,
	    "force") != NULL) != SKR_OK)
		goto out;
	if ((r = skr_client_release(x->c, x->a.pos[0], skrctl_args_get(&x->a,
	    "version"), skr_buf_cstr(&tok), skrctl_args_get(&x->a, "nonce"),
	    skrctl_args_get(&x->a, "enc"), &u, &k, &res)) != SKR_OK) {
		err = r;
		r = skrctl_out_fail_release(err, &res);
		skrctl_tpm_hint(err);
		goto out;
	}
	if ((r = released_bytes(k, &outbuf)) != SKR_OK) {
		r = skrctl_out_fail(r, NULL);
		goto out;
	}
	if (skrctl_file_write(&so, outbuf.data, outbuf.len) != SKR_OK ||
	    skrctl_file_commit(&so) != SKR_OK) {
		r = SKRCTL_EXIT_ERR;
		goto out;
	}
	r = SKRCTL_EXIT_OK;
	if (strcmp(outfile, "-") == 0)
		goto out;
	if (x->json) {
		if ((r = skrctl_out_json(json_pack("{s:s,s:s}", "kid",
		    skr_released_key_kid(k), "kty",
		    skr_released_key_kty(k)))) != SKR_OK)
			r = skrctl_out_fail(r, NULL);
	} else
		fprintf(stderr, SKRCTL_PROG ": released %s (%s) to %s\n",
		    skr_released_key_kid(k), skr_released_key_kty(k), outfile);
out:
	/* A failed release leaves the target as it was. */
	skrctl_file_abort(&so);
	skr_released_key_free(k);
	skr_key_free(wrap);
	skr_tpm_close(tpm);
	free(kid);
	skr_buf_free(&tok);
	skr_buf_free(&outbuf);
	return r;
}

static void
human_evaluate(json_t *o)
{
	char *trace = json_dumps(json_object_get(o, "trace"), JSON_INDENT(2));

	printf("decision      %s\n", skrctl_out_jstr(o, "decision"));
	if (json_object_get(o, "reason") != NULL)
		printf("reason        %s: %s\n", skrctl_out_jstr(o,
		    "reason.id"), skrctl_out_jstr(o, "reason.message"));
	printf("version       %s\n", skrctl_out_jstr(o, "version"));
	printf("wrapping key  %s\n", json_is_string(json_object_get(o,
	    "wrapping_key")) ? skrctl_out_jstr(o, "wrapping_key") : "(none)");
	if (trace != NULL)
		printf("trace\n%s\n", trace);
	free(trace);
}

int
skrctl_evaluate(struct skrctl_ctx *x)
{
	skr_buf tok = SKR_BUF_INIT;
	skr_result res;
	char *out = NULL;
	json_t *o = NULL;
	int r, denied;

	if ((r = read_token(&x->a, &tok)) != SKRCTL_EXIT_OK) {
		skr_buf_free(&tok);
		return r;
	}
	r = skr_client_evaluate(x->c, x->a.pos[0], skrctl_args_get(&x->a,
	    "version"), skr_buf_cstr(&tok), skrctl_args_get(&x->a, "nonce"),
	    &out, &res);
	skr_buf_free(&tok);
	if (r != SKR_OK) {
		free(out);
		return skrctl_out_fail_release(r, &res);
	}
	denied = skr_json_parse(out, strlen(out), 0, &o) == SKR_OK &&
	    strcmp(skrctl_out_jstr(o, "decision"), "allow") != 0;
	json_decref(o);
	skrctl_out_show(x->json, out, human_evaluate);
	free(out);
	return denied ? SKRCTL_EXIT_DENIED : SKRCTL_EXIT_OK;
}

int
skrctl_nonce(struct skrctl_ctx *x)
{
	skr_result res;
	char *nonce = NULL;
	int r = skr_client_nonce(x->c, &nonce, &res);

	if (r != SKR_OK)
		return skrctl_out_fail(r, &res);
	r = SKRCTL_EXIT_OK;
	if (!x->json)
		printf("%s\n", nonce);
	else if ((r = skrctl_out_json(json_pack("{s:s}", "value", nonce))) !=
	    SKR_OK)
		r = skrctl_out_fail(r, NULL);
	free(nonce);
	return r;
}
