#include "issuer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "authority.h"
#include "encoding.h"
#include "guard.h"
#include "jwk.h"
#include "jwks.h"
#include "jws.h"
#include "opcache.h"
#include "pki.h"
#include "policy.h"
#include "random.h"
#include "skr/error.h"

struct skr_issuer {
	EVP_PKEY *key;
	char kid[64];
	int64_t lifetime;
	json_t *jwks;      /* the public key set */
	skr_jwks *set;     /* the same, parsed for verification */
};

void
skr_issuer_free(skr_issuer *is)
{
	if (is == NULL)
		return;
	skr_opcache_forget(is->key);
	EVP_PKEY_free(is->key);
	json_decref(is->jwks);
	skr_jwks_unref(is->set);
	free(is);
}

int
skr_issuer_load(const char *dir, int64_t lifetime, skr_issuer **out)
{
	skr_issuer *is = NULL;
	skr_key *pub = NULL;
	json_t *x5c = NULL, *jwk = NULL;
	skr_buf kid = SKR_BUF_INIT;
	uint8_t tp[EVP_MAX_MD_SIZE];
	size_t tplen;
	int r;

	*out = NULL;
	SKR_ENSURE((is = calloc(1, sizeof(*is))) != NULL, SKR_ERR_NOMEM);
	is->lifetime = lifetime > 0 ? lifetime : SKR_ISSUER_DEFAULT_LIFETIME;
	SKR_GUARD(skr_pki_load_attest(dir, &is->key, &x5c));
	SKR_GUARD(skr_key_from_pkey(is->key, &pub));
	SKR_GUARD(skr_jwk_thumbprint(pub, EVP_sha256(), tp, &tplen));
	SKR_GUARD(skr_b64url_encode(&kid, tp, tplen));
	SKR_ENSURE(kid.len < sizeof(is->kid), SKR_ERR_INTERNAL);
	memcpy(is->kid, kid.data, kid.len + 1);
	SKR_ENSURE((jwk = skr_jwk_emit(pub, 0)) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(json_object_set_new(jwk, "kid", json_string(is->kid)) == 0 &&
	    json_object_set_new(jwk, "use", json_string("sig")) == 0 &&
	    json_object_set_new(jwk, "alg", json_string("RS256")) == 0 &&
	    json_object_set(jwk, "x5c", x5c) == 0, SKR_ERR_NOMEM);
	SKR_ENSURE((is->jwks = json_pack("{s:[O]}", "keys", jwk)) != NULL,
	    SKR_ERR_NOMEM);
	SKR_GUARD(skr_jwks_from_json(is->jwks, NULL, 0, &is->set, NULL));
	SKR_ENSURE(skr_jwks_find(is->set, is->kid) != NULL, SKR_ERR_CONFIG);
	*out = is;
	is = NULL;
out:
	skr_issuer_free(is);
	skr_key_free(pub);
	json_decref(x5c);
	json_decref(jwk);
	skr_buf_free(&kid);
	return r;
}

const char *
skr_issuer_kid(const skr_issuer *is)
{
	return is->kid;
}

int64_t
skr_issuer_lifetime(const skr_issuer *is)
{
	return is->lifetime;
}

json_t *
skr_issuer_jwks_json(const skr_issuer *is)
{
	return json_deep_copy(is->jwks);
}

json_t *
skr_issuer_openid_json(const skr_issuer *is, const char *iss)
{
	char uri[512];

	(void)is;
	snprintf(uri, sizeof(uri), "%s/certs", iss);
	return json_pack("{s:s,s:s,s:[s],s:[s],s:[s,s,s,s,s,s,s]}",
	    "issuer", iss, "jwks_uri", uri,
	    "id_token_signing_alg_values_supported", "RS256",
	    "response_types_supported", "token",
	    "claims_supported", "x-ms-attestation-type",
	    "x-ms-sevsnpvm-launchmeasurement", "x-ms-sevsnpvm-hostdata",
	    "x-ms-sevsnpvm-is-debuggable", "x-ms-runtime",
	    "x-ms-isolation-tee", "nonce");
}

int
skr_issuer_mint(const skr_issuer *is, const char *iss, const json_t *claims,
    int64_t now, skr_buf *token, char jti[SKR_ISSUER_JTI_LEN + 1])
{
	json_t *payload = NULL, *header = NULL;
	uint8_t rnd[SKR_ISSUER_JTI_LEN / 2];
	char jku[512];
	int r;

	jti[0] = '\0';
	SKR_GUARD(skr_random(rnd, sizeof(rnd)));
	skr_hex_text(jti, rnd, sizeof(rnd));
	snprintf(jku, sizeof(jku), "%s/certs", iss);
	SKR_ENSURE((payload = json_copy((json_t *)claims)) != NULL,
	    SKR_ERR_NOMEM);
	SKR_ENSURE(json_object_set_new(payload, "exp",
	    json_integer(now + is->lifetime)) == 0 &&
	    json_object_set_new(payload, "iat", json_integer(now)) == 0 &&
	    json_object_set_new(payload, "iss", json_string(iss)) == 0 &&
	    json_object_set_new(payload, "jti", json_string(jti)) == 0 &&
	    json_object_set_new(payload, "nbf", json_integer(now)) == 0,
	    SKR_ERR_NOMEM);
	SKR_ENSURE((header = json_pack("{s:s,s:s,s:s}", "jku", jku, "kid",
	    is->kid, "typ", "JWT")) != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(skr_jws_sign_json(is->key, SKR_ALG_RS256, header, payload,
	    token));
out:
	json_decref(payload);
	json_decref(header);
	return r;
}

/* ---- trust -------------------------------------------------------------- */

static int
self_lookup(void *ctx, const char *iss, skr_jwks **keys, unsigned *algs)
{
	skr_issuer_trust *t = ctx;

	*keys = NULL;
	if (t->is != NULL && t->iss != NULL && t->iss[0] != '\0' &&
	    skr_policy_issuer_match(t->iss, iss)) {
		*keys = skr_jwks_ref(t->is->set);
		*algs = SKR_ALG_BIT(SKR_ALG_RS256);
		return SKR_OK;
	}
	if (!t->has_inner)
		return SKR_ERR_TOKEN_ISSUER;
	return t->inner.lookup(t->inner.ctx, iss, keys, algs);
}

/* skrd's own key set never changes while it runs: an unknown kid is a
 * token of an earlier key or none. */
static int
self_unknown_kid(void *ctx, const char *iss, const char *kid, int wait_ms,
    skr_jwks **keys)
{
	skr_issuer_trust *t = ctx;

	*keys = NULL;
	if ((t->is != NULL && t->iss != NULL && t->iss[0] != '\0' &&
	    skr_policy_issuer_match(t->iss, iss)) || !t->has_inner ||
	    t->inner.unknown_kid == NULL)
		return SKR_ERR_TOKEN_KID;
	return t->inner.unknown_kid(t->inner.ctx, iss, kid, wait_ms, keys);
}

void
skr_issuer_trust_init(skr_issuer_trust *ctx, const skr_issuer *is,
    const char *iss, struct skr_authorities *auths, skr_token_trust *out)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->is = is;
	ctx->iss = iss;
	if (auths != NULL) {
		skr_authorities_trust(auths, &ctx->inner);
		ctx->has_inner = 1;
	}
	out->lookup = self_lookup;
	out->unknown_kid = self_unknown_kid;
	out->ctx = ctx;
}
