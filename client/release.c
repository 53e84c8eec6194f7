/*
 * libskr: secure key release (docs/release.md).  The response is trusted
 * only after its JWS verifies against the configured release-signing trust
 * and it echoes what was asked; only then is key_hsm unwrapped.
 */
#include "skr/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "client_priv.h"
#include "encoding.h"
#include "guard.h"
#include "json.h"
#include "jwk.h"
#include "jws.h"
#include "wrap.h"

/* Key Vault signs with RS256; skrd may be set to ES256 or PS256. */
#define RELEASE_ALGS (SKR_ALG_BIT(SKR_ALG_RS256) | \
	SKR_ALG_BIT(SKR_ALG_PS256) | SKR_ALG_BIT(SKR_ALG_ES256))
#define X5C_MAX 8

struct skr_released_key {
	skr_key *key;
	skr_buf bytes;          /* secret */
	char *kid;
	char *attributes;
	char kty[8];
};

/* The x5c chain of the response header (RFC 7515 4.1.6: standard base64
 * DER, leaf first). */
static int
x5c_chain(const json_t *hdr, X509 **leafp, STACK_OF(X509) **restp)
{
	const json_t *x5c = json_object_get(hdr, "x5c"), *v;
	STACK_OF(X509) *rest = NULL;
	skr_buf der = SKR_BUF_INIT;
	const unsigned char *p;
	X509 *leaf = NULL, *x;
	size_t i;
	int r;

	*leafp = NULL;
	*restp = NULL;
	SKR_ENSURE(json_is_array(x5c) && json_array_size(x5c) > 0 &&
	    json_array_size(x5c) <= X5C_MAX, SKR_ERR_RESPONSE_SIGNATURE);
	SKR_ENSURE((rest = sk_X509_new_null()) != NULL, SKR_ERR_NOMEM);
	json_array_foreach(x5c, i, v) {
		skr_buf_reset(&der);
		SKR_ENSURE(json_is_string(v) && skr_b64_decode(&der,
		    json_string_value(v), json_string_length(v)) == SKR_OK &&
		    der.len > 0, SKR_ERR_RESPONSE_SIGNATURE);
		p = der.data;
		x = d2i_X509(NULL, &p, (long)der.len);
		/* Exactly one certificate, nothing after it. */
		if (x != NULL && p != der.data + der.len) {
			X509_free(x);
			x = NULL;
		}
		SKR_ENSURE(x != NULL, SKR_ERR_RESPONSE_SIGNATURE);
		if (i == 0)
			leaf = x;
		else if (sk_X509_push(rest, x) == 0) {
			X509_free(x);
			r = SKR_ERR_NOMEM;
			goto out;
		}
	}
	*leafp = leaf;
	*restp = rest;
	leaf = NULL;
	rest = NULL;
	r = SKR_OK;
out:
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	skr_buf_free(&der);
	return r;
}

/*
 * The key that must have signed the response.  Pinned certificate: its key,
 * and an x5c leaf, when sent, must be that very certificate.  CA: the x5c
 * chain must verify to it, the leaf must be a release-signing certificate,
 * and the leaf's key signs.  Nothing else is trusted: not a kid, not a jku,
 * not an unverified x5c.
 */
static int
trusted_signer(const skr_client *c, const skr_jws *jws, EVP_PKEY **key)
{
	STACK_OF(X509) *rest = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *leaf = NULL;
	int r;

	*key = NULL;
	if (c->signing_cert != NULL) {
		if (json_object_get(jws->header, "x5c") != NULL) {
			SKR_GUARD(x5c_chain(jws->header, &leaf, &rest));
			SKR_ENSURE(X509_cmp(leaf, c->signing_cert) == 0,
			    SKR_ERR_RESPONSE_SIGNATURE);
		}
		SKR_ENSURE((*key = X509_get_pubkey(c->signing_cert)) != NULL,
		    SKR_ERR_RESPONSE_SIGNATURE);
		r = SKR_OK;
		goto out;
	}
	SKR_ENSURE(c->signing_ca != NULL, SKR_ERR_RESPONSE_SIGNATURE);
	SKR_GUARD(x5c_chain(jws->header, &leaf, &rest));
	SKR_ENSURE((ctx = X509_STORE_CTX_new()) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(X509_STORE_CTX_init(ctx, c->signing_ca, leaf, rest) == 1,
	    SKR_ERR_NOMEM);
	SKR_ENSURE(X509_verify_cert(ctx) == 1, SKR_ERR_RESPONSE_SIGNATURE);
	SKR_ENSURE(skr_cert_is_release_signing(leaf),
	    SKR_ERR_RESPONSE_SIGNATURE);
	SKR_ENSURE((*key = X509_get_pubkey(leaf)) != NULL,
	    SKR_ERR_RESPONSE_SIGNATURE);
	r = SKR_OK;
out:
	X509_STORE_CTX_free(ctx);
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	ERR_clear_error();
	return r;
}

/* One unwrap through the caller's callback, and the skr error code it
 * returned, if any (skr_decrypt_fn in skr/client.h). */
struct unwrap_call {
	const skr_unwrapper *u;
	int err;
};

/* The caller's OAEP callback speaks digest names, not EVP_MDs. */
static int
decrypt_adapter(void *ctx, const EVP_MD *md, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t *outlen)
{
	struct unwrap_call *call = ctx;
	const char *name;
	int r;

	switch (EVP_MD_get_type(md)) {
	case NID_sha1:
		name = "SHA1";
		break;
	case NID_sha256:
		name = "SHA256";
		break;
	case NID_sha384:
		name = "SHA384";
		break;
	default:
		return -1;
	}
	r = call->u->decrypt(call->u->ctx, name, in, inlen, out, outlen);
	if (r > SKR__ERR_FIRST && r < SKR__ERR_LAST)
		call->err = r;
	return r;
}

static const char *
str_member(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The kid must be {vault}/keys/{name}/{version} with our name (and
 * version, when one was asked for); the host is the server's business.
 * Compared as the server compares them (docs/api.md): key names without
 * regard to case, versions as hex of either case. */
static int
kid_names(const char *kid, const char *name, const char *version)
{
	const char *p, *v;
	size_t nlen = strlen(name);

	if (kid == NULL || strncmp(kid, "https://", 8) != 0 ||
	    (p = strchr(kid + 8, '/')) == NULL)
		return 0;
	if (strncmp(p, "/keys/", 6) != 0 ||
	    strncasecmp(p + 6, name, nlen) != 0 || p[6 + nlen] != '/')
		return 0;
	v = p + 6 + nlen + 1;
	if (*v == '\0' || strchr(v, '/') != NULL)
		return 0;
	return version == NULL || *version == '\0' ||
	    strcasecmp(v, version) == 0;
}

int
skr__release_unpack(const skr_client *c, const char *jwstext, size_t n,
    const struct skr__release_expect *want, const skr_unwrapper *u,
    skr_released_key **out)
{
	skr_jws jws;
	EVP_PKEY *signer = NULL;
	const json_t *req, *bundle, *jwk, *v;
	skr_released_key *k = NULL;
	skr_buf ct = SKR_BUF_INIT;
	const char *s, *hsm;
	char *hsm_kid = NULL, *attrs;
	skr_enc want_enc = SKR_ENC_CKM_RSA_AES_KEY_WRAP, hsm_enc, echoed;
	struct unwrap_call call = { u, SKR_OK };
	skr_kty kty;
	int r;

	*out = NULL;
	memset(&jws, 0, sizeof(jws));
	if (want->enc != NULL && skr_enc_parse(want->enc, &want_enc) != SKR_OK)
		return SKR_ERR_ENC_UNSUPPORTED;
	/* A response that is not a JWS with an allowed alg is not signed. */
	if (skr_jws_parse(jwstext, n, SKR__RESPONSE_MAX, &jws) != SKR_OK) {
		r = SKR_ERR_RESPONSE_SIGNATURE;
		goto out;
	}
	SKR_GUARD(trusted_signer(c, &jws, &signer));
	SKR_ENSURE(skr_jws_verify(&jws, signer, RELEASE_ALGS) == SKR_OK,
	    SKR_ERR_RESPONSE_SIGNATURE);
	/* Signed by the server from here on; now check it answers us. */
	SKR_ENSURE(json_is_object(jws.payload), SKR_ERR_RESPONSE);
	req = json_object_get(jws.payload, "request");
	SKR_ENSURE(json_is_object(req), SKR_ERR_RESPONSE);
	v = json_object_get(req, "nonce");
	if (want->nonce != NULL)
		SKR_ENSURE(json_is_string(v) && strcmp(json_string_value(v),
		    want->nonce) == 0, SKR_ERR_NONCE_MISMATCH);
	else
		SKR_ENSURE(v == NULL || json_is_null(v),
		    SKR_ERR_NONCE_MISMATCH);
	if ((s = str_member(req, "enc")) != NULL)
		SKR_ENSURE(skr_enc_parse(s, &echoed) == SKR_OK &&
		    echoed == want_enc, SKR_ERR_RESPONSE);
	bundle = json_object_get(json_object_get(jws.payload, "response"),
	    "key");
	jwk = json_object_get(bundle, "key");
	SKR_ENSURE(json_is_object(jwk), SKR_ERR_RESPONSE);
	SKR_ENSURE(kid_names(str_member(jwk, "kid"), want->name,
	    want->version), SKR_ERR_RESPONSE);
	s = str_member(jwk, "kty");
	SKR_ENSURE(s != NULL && (kty = skr_kty_parse(s)) != SKR_KTY_NONE,
	    SKR_ERR_RESPONSE);
	hsm = str_member(jwk, "key_hsm");
	SKR_ENSURE(hsm != NULL, SKR_ERR_RESPONSE);
	SKR_GUARD(skr_key_hsm_decode(hsm, strlen(hsm), &hsm_kid, &hsm_enc,
	    &ct));
	SKR_ENSURE(hsm_enc == want_enc, SKR_ERR_KEY_HSM);
	if (u->kid != NULL)
		SKR_ENSURE(strcmp(hsm_kid, u->kid) == 0, SKR_ERR_KEY_HSM);
	SKR_ENSURE((k = calloc(1, sizeof(*k))) != NULL, SKR_ERR_NOMEM);
	skr_buf_init_secret(&k->bytes, 0);
	r = skr_release_unwrap(hsm, strlen(hsm), kty, u->key,
	    u->key != NULL ? NULL : decrypt_adapter, &call, u->modulus_len,
	    &k->key);
	/* The callback's own code names a failure that is not the
	 * ciphertext's (a TPM that refuses); anything else stays UNWRAP. */
	if (r == SKR_ERR_UNWRAP && call.err != SKR_OK)
		r = call.err;
	if (r != SKR_OK)
		goto out;
	SKR_GUARD(skr_key_private_bytes(k->key, &k->bytes));
	snprintf(k->kty, sizeof(k->kty), "%s", skr_kty_name(kty, 0));
	k->kid = strdup(str_member(jwk, "kid"));
	v = json_object_get(bundle, "attributes");
	attrs = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL;
	k->attributes = attrs != NULL ? attrs : strdup("{}");
	SKR_ENSURE(k->kid != NULL && k->attributes != NULL, SKR_ERR_NOMEM);
	*out = k;
	k = NULL;
	r = SKR_OK;
out:
	skr_released_key_free(k);
	EVP_PKEY_free(signer);
	skr_jws_clear(&jws);
	skr_buf_free(&ct);
	free(hsm_kid);
	ERR_clear_error();
	return r;
}

int
skr_client_release(skr_client *c, const char *name, const char *version,
    const char *token, const char *nonce, const char *enc,
    const skr_unwrapper *u, skr_released_key **out, skr_result *res)
{
	struct skr__release_expect want = { name, version, nonce, enc };
	char path[SKR__PATH_MAX], *text = NULL, *body = NULL;
	json_t *req = NULL, *resp = NULL, *v;
	skr_enc e;
	int r;

	skr__start(res, NULL);
	if (out == NULL)
		return skr__refuse(res, SKR_ERR_INVAL);
	*out = NULL;
	/* Decide everything that does not need the server before calling it:
	 * a release may use up a single-use server nonce. */
	if (c == NULL || u == NULL || token == NULL || *token == '\0' ||
	    (u->key == NULL && (u->decrypt == NULL || u->modulus_len == 0)))
		return skr__refuse(res, SKR_ERR_INVAL);
	if (c->signing_cert == NULL && c->signing_ca == NULL) {
		if (res != NULL) {
			snprintf(res->error_id, sizeof(res->error_id), "%s",
			    skr_err_id(SKR_ERR_INVAL));
			snprintf(res->message, sizeof(res->message), "%s: no "
			    "release-signing trust: set signing_cert or "
			    "signing_ca", skr_err_id(SKR_ERR_INVAL));
		}
		return SKR_ERR_INVAL;
	}
	if (enc != NULL && skr_enc_parse(enc, &e) != SKR_OK)
		return skr__refuse(res, SKR_ERR_ENC_UNSUPPORTED);
	SKR_GUARD(skr__key_path(path, sizeof(path), name, version,
	    "/release"));
	SKR_ENSURE((req = json_pack("{s:s}", "target", token)) != NULL,
	    SKR_ERR_NOMEM);
	if ((nonce != NULL && json_object_set_new(req, "nonce",
	    json_string(nonce)) != 0) || (enc != NULL &&
	    json_object_set_new(req, "enc", json_string(enc)) != 0)) {
		r = SKR_ERR_INVAL;
		goto out;
	}
	SKR_ENSURE((body = json_dumps(req, JSON_COMPACT)) != NULL,
	    SKR_ERR_NOMEM);
	r = skr_client_call(c, "POST", path, body, &text, res);
	if (r != SKR_OK) {
		/* Key Vault answers a refused release with a bare 403. */
		if (r == SKR_ERR_AUTH_FORBIDDEN && res != NULL &&
		    strncmp(res->message, "SKR.", 4) != 0)
			r = SKR_ERR_POLICY_DENIED;
		goto out;
	}
	if (skr_json_parse(text, strlen(text), 0, &resp) != SKR_OK ||
	    !json_is_string(v = json_object_get(resp, "value")))
		r = SKR_ERR_RESPONSE;
	else
		r = skr__release_unpack(c, json_string_value(v),
		    json_string_length(v), &want, u, out);
out:
	json_decref(req);
	json_decref(resp);
	if (body != NULL)
		skr_freezero(body, strlen(body));
	free(text);
	return skr__refuse(res, r);
}

const char *
skr_released_key_kty(const skr_released_key *k)
{
	return k->kty;
}

const unsigned char *
skr_released_key_bytes(const skr_released_key *k, size_t *len)
{
	*len = k->bytes.len;
	return k->bytes.data;
}

EVP_PKEY *
skr_released_key_pkey(const skr_released_key *k)
{
	return skr_key_pkey(k->key);
}

const char *
skr_released_key_kid(const skr_released_key *k)
{
	return k->kid;
}

const char *
skr_released_key_attributes(const skr_released_key *k)
{
	return k->attributes;
}

void
skr_released_key_free(skr_released_key *k)
{
	if (k == NULL)
		return;
	skr_key_free(k->key);
	skr_buf_free(&k->bytes);
	free(k->kid);
	free(k->attributes);
	skr_freezero(k, sizeof(*k));
}
