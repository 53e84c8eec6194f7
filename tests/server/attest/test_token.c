/*
 * Unit tests: attestation token verification.  The hostile matrix first:
 * every way a token can be wrong is refused with its specific error.
 * Tokens are minted with keys/ (skr_jws_sign), with libjwt (an independent
 * implementation) and by hand for the malformed ones.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include "check.h"
#include "encoding.h"
#include "json.h"
#include "jwks.h"
#include "policy.h"
#include "token.h"

#define NOW 1700000000
#define ISS_A "https://a.example"
#define ISS_B "https://b.example"

static skr_key *rsa1, *ec1, *b1, *rsa_other;
static skr_jwks *keys_a, *keys_b;
static unsigned algs_a;
static int unknown_kid_calls;
static skr_jwks *refreshed_a; /* what unknown_kid hands out, if set */

/* ---- a two-authority trust ---- */

static int
lookup(void *ctx, const char *iss, skr_jwks **keys, unsigned *algs)
{
	if (skr_policy_issuer_match(ISS_A, iss)) {
		*keys = skr_jwks_ref(keys_a);
		*algs = algs_a;
		return SKR_OK;
	}
	if (skr_policy_issuer_match(ISS_B, iss)) {
		*keys = skr_jwks_ref(keys_b);
		*algs = 0;
		return SKR_OK;
	}
	if (strcmp(iss, "https://nokeys.example") == 0)
		return SKR_ERR_AUTHORITY;
	return SKR_ERR_TOKEN_ISSUER;
}

static int
unknown_kid(void *ctx, const char *iss, const char *kid, int wait_ms,
    skr_jwks **keys)
{
	unknown_kid_calls++;
	if (refreshed_a == NULL || !skr_policy_issuer_match(ISS_A, iss))
		return SKR_ERR_TOKEN_KID;
	*keys = skr_jwks_ref(refreshed_a);
	return SKR_OK;
}

static skr_token_trust trust = { lookup, unknown_kid, NULL };

static int
verify_skew(const skr_buf *t, int64_t skew, skr_token **out)
{
	skr_token_opts o = SKR_TOKEN_OPTS_INIT;
	skr_buf why = SKR_BUF_INIT;
	skr_token *tok = NULL;
	int r;

	o.now = NOW;
	o.skew = skew;
	r = skr_token_verify((const char *)t->data, t->len, &trust, &o, &tok,
	    &why);
	if (r != SKR_OK && why.len == 0)
		fprintf(stderr, "  (no reason given for %s)\n", skr_err_id(r));
	if (r != SKR_OK)
		CHECK(tok == NULL && why.len > 0);
	if (out != NULL)
		*out = tok;
	else
		skr_token_free(tok);
	skr_buf_free(&why);
	return r;
}

static int
verify(const skr_buf *t)
{
	return verify_skew(t, SKR_TOKEN_DEFAULT_SKEW, NULL);
}

/* ---- minting ---- */

static json_t *
jwk_with_kid(const skr_key *k, const char *kid)
{
	json_t *j = skr_jwk_emit(k, 0);

	json_object_set_new(j, "kid", json_string(kid));
	return j;
}

static skr_jwks *
set_of(const skr_key *k1, const char *kid1, const skr_key *k2,
    const char *kid2)
{
	json_t *doc = json_pack("{s:[]}", "keys");
	skr_jwks *set = NULL;

	json_array_append_new(json_object_get(doc, "keys"),
	    jwk_with_kid(k1, kid1));
	if (k2 != NULL)
		json_array_append_new(json_object_get(doc, "keys"),
		    jwk_with_kid(k2, kid2));
	CHECK_OK(skr_jwks_from_json(doc, NULL, 0, &set, NULL));
	json_decref(doc);
	return set;
}

/* The standard claims, adjustable: a JSON object text. */
static char *
claims(const char *iss, const char *extra)
{
	static char buf[256 * 1024];

	snprintf(buf, sizeof(buf), "{\"iss\":\"%s\",\"iat\":%d,\"nbf\":%d,"
	    "\"exp\":%d%s%s}", iss, NOW - 10, NOW - 10, NOW + 3600,
	    extra && *extra ? "," : "", extra ? extra : "");
	return buf;
}

/* Sign payload text with key under alg and a header of kid plus the
 * members in hdr_extra (JSON object text or NULL). */
static void
mint(skr_buf *out, const skr_key *key, skr_alg alg, const char *kid,
    const char *hdr_extra, const char *payload)
{
	json_t *hdr = NULL;

	skr_buf_reset(out);
	if (hdr_extra != NULL)
		CHECK_OK(skr_json_parse(hdr_extra, strlen(hdr_extra), 0, &hdr));
	else
		hdr = json_object();
	if (kid != NULL)
		json_object_set_new(hdr, "kid", json_string(kid));
	CHECK_OK(skr_jws_sign(skr_key_pkey(key), alg, hdr,
	    (const uint8_t *)payload, strlen(payload), out));
	json_decref(hdr);
}

/* A compact JWS from raw parts; sig may be NULL (empty). */
static void
forge(skr_buf *out, const char *hdr, const char *payload, size_t plen,
    const uint8_t *sig, size_t siglen)
{
	skr_buf_reset(out);
	skr_b64url_encode(out, (const uint8_t *)hdr, strlen(hdr));
	skr_buf_append_byte(out, '.');
	skr_b64url_encode(out, (const uint8_t *)payload, plen);
	skr_buf_append_byte(out, '.');
	if (sig != NULL)
		skr_b64url_encode(out, sig, siglen);
}

/* Replace the signature of a compact JWS with sig. */
static void
resign(skr_buf *t, const uint8_t *sig, size_t n)
{
	char *dot = strrchr((char *)t->data, '.');

	t->len = (size_t)(dot - (char *)t->data) + 1;
	t->data[t->len] = '\0';
	skr_b64url_encode(t, sig, n);
}

static void
signature_of(const skr_buf *t, skr_buf *sig)
{
	const char *dot = strrchr((const char *)t->data, '.');

	skr_buf_reset(sig);
	CHECK_OK(skr_b64url_decode(sig, dot + 1, strlen(dot + 1)));
}

/* HS256 over "header.payload" with the given secret: the classic
 * algorithm-confusion token. */
static void
hmac_token(skr_buf *out, const char *hdr, const char *payload,
    const uint8_t *secret, size_t n)
{
	uint8_t md[64];
	unsigned mdlen = sizeof(md);

	forge(out, hdr, payload, strlen(payload), NULL, 0);
	out->len--; /* drop the last '.', sign the signing input */
	HMAC(EVP_sha256(), secret, (int)n, out->data, out->len, md, &mdlen);
	skr_buf_append_byte(out, '.');
	skr_b64url_encode(out, md, mdlen);
}

/* ---- libjwt ---- */

static char *
libjwt_token(jwt_alg_t alg, const uint8_t *key, size_t keylen,
    const char *kid, const char *iss)
{
	jwt_t *jwt = NULL;
	char *s = NULL;

	if (jwt_new(&jwt) != 0)
		return NULL;
	if (jwt_add_grant(jwt, "iss", iss) == 0 &&
	    jwt_add_grant_int(jwt, "iat", NOW - 5) == 0 &&
	    jwt_add_grant_int(jwt, "exp", NOW + 600) == 0 &&
	    jwt_add_grant(jwt, "x-ms-attestation-type", "sevsnpvm") == 0 &&
	    jwt_add_header(jwt, "kid", kid) == 0 &&
	    jwt_set_alg(jwt, alg, key, (int)keylen) == 0)
		s = jwt_encode_str(jwt);
	jwt_free(jwt);
	return s;
}

static int
verify_str(const char *s)
{
	skr_buf b = SKR_BUF_INIT;
	int r;

	CHECK(s != NULL);
	if (s == NULL)
		return SKR_ERR_INTERNAL;
	skr_buf_append_str(&b, s);
	r = verify(&b);
	skr_buf_free(&b);
	return r;
}

static void
test_libjwt(void)
{
	skr_buf pem = SKR_BUF_INIT, pub = SKR_BUF_INIT;
	uint8_t *der = NULL;
	int derlen;
	char *s;

	/* Independent signers: accepted. */
	CHECK_OK(skr_key_to_pem(rsa1, 1, &pem));
	s = libjwt_token(JWT_ALG_RS256, pem.data, pem.len, "rsa1", ISS_A);
	CHECK_OK(verify_str(s));
	free(s);
	s = libjwt_token(JWT_ALG_RS512, pem.data, pem.len, "rsa1", ISS_A);
	CHECK_OK(verify_str(s));
	free(s);
	skr_buf_free(&pem);
	skr_buf_init_secret(&pem, 0);
	CHECK_OK(skr_key_to_pem(ec1, 1, &pem));
	s = libjwt_token(JWT_ALG_ES256, pem.data, pem.len, "ec1", ISS_A);
	CHECK_OK(verify_str(s));
	free(s);
	/* ES256 signed by the EC key but naming the RSA kid. */
	s = libjwt_token(JWT_ALG_ES256, pem.data, pem.len, "rsa1", ISS_A);
	CHECK_ERR(verify_str(s), SKR_ERR_TOKEN_ALG);
	free(s);
	skr_buf_free(&pem);

	/* HS256 keyed with the authority's public key, PEM and DER: refused
	 * whatever the key. */
	CHECK_OK(skr_key_to_pem(rsa1, 0, &pub));
	s = libjwt_token(JWT_ALG_HS256, pub.data, pub.len, "rsa1", ISS_A);
	CHECK_ERR(verify_str(s), SKR_ERR_TOKEN_ALG);
	free(s);
	derlen = i2d_PUBKEY(skr_key_pkey(rsa1), &der);
	CHECK(derlen > 0);
	s = libjwt_token(JWT_ALG_HS256, der, (size_t)derlen, "rsa1", ISS_A);
	CHECK_ERR(verify_str(s), SKR_ERR_TOKEN_ALG);
	free(s);
	s = libjwt_token(JWT_ALG_HS512, pub.data, pub.len, "rsa1", ISS_A);
	CHECK_ERR(verify_str(s), SKR_ERR_TOKEN_ALG);
	free(s);
	/* And by hand, so the test does not hang on libjwt's header. */
	{
		skr_buf t = SKR_BUF_INIT;
		const char *h = "{\"alg\":\"HS256\",\"kid\":\"rsa1\"}";

		hmac_token(&t, h, claims(ISS_A, NULL), pub.data, pub.len);
		CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ALG);
		hmac_token(&t, h, claims(ISS_A, NULL), der, (size_t)derlen);
		CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ALG);
		skr_buf_free(&t);
	}
	OPENSSL_free(der);
	skr_buf_free(&pub);
}

static void
test_alg(void)
{
	skr_buf t = SKR_BUF_INIT, sig = SKR_BUF_INIT;
	static const char *const none_algs[] = {
		"none", "None", "NONE", "", "HS256", "RS1", "rs256", "ES256K",
		"EdDSA",
	};
	char hdr[256];
	size_t i;

	for (i = 0; i < sizeof(none_algs) / sizeof(none_algs[0]); i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"rsa1\"}",
		    none_algs[i]);
		forge(&t, hdr, claims(ISS_A, NULL), strlen(claims(ISS_A, NULL)),
		    NULL, 0);
		CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ALG);
		forge(&t, hdr, claims(ISS_A, NULL), strlen(claims(ISS_A, NULL)),
		    (const uint8_t *)"xx", 2);
		CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ALG);
	}
	/* No alg, alg not a string. */
	forge(&t, "{\"kid\":\"rsa1\"}", "{}", 2, (const uint8_t *)"x", 1);
	CHECK(verify(&t) == SKR_ERR_TOKEN_ALG ||
	    verify(&t) == SKR_ERR_TOKEN_MALFORMED);
	forge(&t, "{\"alg\":1,\"kid\":\"rsa1\"}", "{}", 2,
	    (const uint8_t *)"x", 1);
	CHECK(verify(&t) == SKR_ERR_TOKEN_ALG ||
	    verify(&t) == SKR_ERR_TOKEN_MALFORMED);

	/* Alg and key type mismatch, both ways. */
	mint(&t, ec1, SKR_ALG_ES256, "rsa1", NULL, claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ALG);
	mint(&t, rsa1, SKR_ALG_RS256, "ec1", NULL, claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ALG);
	mint(&t, rsa1, SKR_ALG_PS256, "ec1", NULL, claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ALG);
	/* ES384 named for a P-256 key. */
	mint(&t, ec1, SKR_ALG_ES256, "ec1", NULL, claims(ISS_A, NULL));
	signature_of(&t, &sig);
	forge(&t, "{\"alg\":\"ES384\",\"kid\":\"ec1\"}", claims(ISS_A, NULL),
	    strlen(claims(ISS_A, NULL)), sig.data, sig.len);
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ALG);
	/* The RS256 signature relabelled PS256: does not verify. */
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, claims(ISS_A, NULL));
	signature_of(&t, &sig);
	forge(&t, "{\"alg\":\"PS256\",\"kid\":\"rsa1\"}", claims(ISS_A, NULL),
	    strlen(claims(ISS_A, NULL)), sig.data, sig.len);
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_SIGNATURE);

	/* A key whose JWK names its alg is used with that alg only. */
	{
		skr_jwks *saved = keys_a;
		json_t *doc = json_pack("{s:[o]}", "keys",
		    jwk_with_kid(rsa1, "rsa1"));

		json_object_set_new(json_array_get(json_object_get(doc, "keys"),
		    0), "alg", json_string("PS256"));
		CHECK_OK(skr_jwks_from_json(doc, NULL, 0, &keys_a, NULL));
		json_decref(doc);
		mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, claims(ISS_A, NULL));
		CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ALG);
		mint(&t, rsa1, SKR_ALG_PS384, "rsa1", NULL, claims(ISS_A, NULL));
		CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ALG);
		mint(&t, rsa1, SKR_ALG_PS256, "rsa1", NULL, claims(ISS_A, NULL));
		CHECK_OK(verify(&t));
		skr_jwks_unref(keys_a);
		keys_a = saved;
	}

	/* The authority allows RS256 only. */
	algs_a = SKR_ALG_BIT(SKR_ALG_RS256);
	mint(&t, rsa1, SKR_ALG_PS256, "rsa1", NULL, claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ALG);
	mint(&t, ec1, SKR_ALG_ES256, "ec1", NULL, claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ALG);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, claims(ISS_A, NULL));
	CHECK_OK(verify(&t));
	algs_a = 0;
	skr_buf_free(&t);
	skr_buf_free(&sig);
}

static void
test_keys_and_issuers(void)
{
	skr_buf t = SKR_BUF_INIT;
	static const char *const lookalikes[] = {
		ISS_A "/x", ISS_A "//", "http://a.example", "https://a.example:443",
		"https://a.example:8443", "https://A.example", "https://a.Example",
		"https://a.example.evil.net", "https://evil.net/a.example",
		"HTTPS://a.example", "https://a.example ", " https://a.example",
		"https://a.example?", "https://a.example#", "a.example",
		"https://a.exampl", "https://c.example",
	};
	size_t i;

	/* Unknown kid, missing kid, kid not a string. */
	unknown_kid_calls = 0;
	mint(&t, rsa1, SKR_ALG_RS256, "nope", NULL, claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_KID);
	CHECK(unknown_kid_calls == 1);
	mint(&t, rsa1, SKR_ALG_RS256, NULL, NULL, claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_KID);
	mint(&t, rsa1, SKR_ALG_RS256, NULL, "{\"kid\":7}", claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_KID);
	mint(&t, rsa1, SKR_ALG_RS256, "", NULL, claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_KID);
	/* A kid with an embedded NUL is not its prefix: strict JSON refuses
	 * the header. */
	forge(&t, "{\"alg\":\"RS256\",\"kid\":\"rsa1\\u0000x\"}",
	    claims(ISS_A, NULL), strlen(claims(ISS_A, NULL)),
	    (const uint8_t *)"x", 1);
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	/* Case matters in kids. */
	mint(&t, rsa1, SKR_ALG_RS256, "RSA1", NULL, claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_KID);

	/* A kid that exists only under the other authority: B's key signs a
	 * token claiming to be from A, and A's key one claiming B. */
	mint(&t, b1, SKR_ALG_RS256, "b1", NULL, claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_KID);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, claims(ISS_B, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_KID);
	mint(&t, b1, SKR_ALG_RS256, "b1", NULL, claims(ISS_B, NULL));
	CHECK_OK(verify(&t));
	/* The right kid, another key's signature. */
	mint(&t, rsa_other, SKR_ALG_RS256, "rsa1", NULL, claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_SIGNATURE);

	/* The unknown-kid hook may bring a refreshed set (rotation). */
	refreshed_a = set_of(rsa_other, "rotated", NULL, NULL);
	unknown_kid_calls = 0;
	mint(&t, rsa_other, SKR_ALG_RS256, "rotated", NULL,
	    claims(ISS_A, NULL));
	CHECK_OK(verify(&t));
	CHECK(unknown_kid_calls == 1);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, claims(ISS_A, NULL));
	CHECK_OK(verify(&t));
	CHECK(unknown_kid_calls == 1);
	skr_jwks_unref(refreshed_a);
	refreshed_a = NULL;

	/* Issuers: missing, not a string, empty, unknown, untrusted
	 * look-alikes; trailing slash accepted. */
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL,
	    "{\"exp\":1700003600,\"x\":1}");
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ISSUER);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL,
	    "{\"iss\":[\"https://a.example\"],\"exp\":1700003600}");
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ISSUER);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, claims("", NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ISSUER);
	for (i = 0; i < sizeof(lookalikes) / sizeof(lookalikes[0]); i++) {
		mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL,
		    claims(lookalikes[i], NULL));
		if (verify(&t) != SKR_ERR_TOKEN_ISSUER)
			fprintf(stderr, "  look-alike accepted: %s\n",
			    lookalikes[i]);
		CHECK_ERR(verify(&t), SKR_ERR_TOKEN_ISSUER);
	}
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, claims(ISS_A "/", NULL));
	CHECK_OK(verify(&t));
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL,
	    claims("https://nokeys.example", NULL));
	CHECK_ERR(verify(&t), SKR_ERR_AUTHORITY);
	skr_buf_free(&t);
}

static void
test_header(void)
{
	skr_buf t = SKR_BUF_INIT;
	skr_buf sig = SKR_BUF_INIT;
	json_t *jwk = jwk_with_kid(rsa_other, "rsa1");
	char hdr[4096];
	char *jwks;

	/* Key-locating members that point away from the issuer. */
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1",
	    "{\"jku\":\"https://evil.example/certs\"}", claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_HEADER);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1",
	    "{\"jku\":\"http://a.example/certs\"}", claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_HEADER);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1",
	    "{\"jku\":\"https://a.example.evil.net/certs\"}",
	    claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_HEADER);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1",
	    "{\"jku\":\"https://a.example:8443/certs\"}", claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_HEADER);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", "{\"jku\":7}",
	    claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_HEADER);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1",
	    "{\"x5u\":\"https://evil.example/cert.pem\"}", claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_HEADER);
	/* An embedded key, even the right one. */
	jwks = json_dumps(jwk, JSON_COMPACT);
	snprintf(hdr, sizeof(hdr), "{\"jwk\":%s}", jwks);
	mint(&t, rsa_other, SKR_ALG_RS256, "rsa1", hdr, claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_HEADER);
	free(jwks);
	json_decref(jwk);
	jwk = jwk_with_kid(rsa1, "rsa1");
	jwks = json_dumps(jwk, JSON_COMPACT);
	snprintf(hdr, sizeof(hdr), "{\"jwk\":%s}", jwks);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", hdr, claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_HEADER);
	free(jwks);
	json_decref(jwk);
	/* crit, whatever it names. */
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1",
	    "{\"crit\":[\"b64\"],\"b64\":false}", claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_HEADER);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", "{\"crit\":[]}",
	    claims(ISS_A, NULL));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_HEADER);

	/* What Azure Attestation sends: jku on the issuer; never fetched. */
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1",
	    "{\"jku\":\"https://a.example/certs\",\"typ\":\"JWT\"}",
	    claims(ISS_A, NULL));
	CHECK_OK(verify(&t));
	/* x5c in the header is ignored: a chain for another key changes
	 * nothing. */
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", "{\"x5c\":[\"AAAA\"]}",
	    claims(ISS_A, NULL));
	CHECK_OK(verify(&t));

	/* Duplicate members in the header, with a real signature over it. */
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, claims(ISS_A, NULL));
	signature_of(&t, &sig);
	forge(&t, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"kid\":\"rsa1\"}",
	    claims(ISS_A, NULL), strlen(claims(ISS_A, NULL)), sig.data,
	    sig.len);
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	forge(&t, "{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
	    claims(ISS_A, NULL), strlen(claims(ISS_A, NULL)), sig.data,
	    sig.len);
	CHECK(verify(&t) == SKR_ERR_TOKEN_MALFORMED ||
	    verify(&t) == SKR_ERR_TOKEN_ALG);
	/* Header not an object, not JSON. */
	forge(&t, "[\"RS256\"]", claims(ISS_A, NULL),
	    strlen(claims(ISS_A, NULL)), sig.data, sig.len);
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	forge(&t, "{\"alg\":\"RS256\"", claims(ISS_A, NULL),
	    strlen(claims(ISS_A, NULL)), sig.data, sig.len);
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	skr_buf_free(&t);
	skr_buf_free(&sig);
}

static void
test_times(void)
{
	skr_buf t = SKR_BUF_INIT;
	char extra[256];
	skr_token *tok = NULL;

#define TIMED(fmt, v, want) do {                                        \
		snprintf(extra, sizeof(extra), fmt, (long long)(v));            \
		mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, extra);             \
		CHECK_ERR(verify(&t), want);                                    \
	} while (0)

	/* exp: required, and now must be before exp + skew. */
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":%lld}", NOW - 61,
	    SKR_ERR_TOKEN_EXPIRED);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":%lld}", NOW - 60,
	    SKR_ERR_TOKEN_EXPIRED);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":%lld}", NOW - 59, SKR_OK);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":%lld}", (long long)INT64_MAX,
	    SKR_OK);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":%lld}", (long long)INT64_MIN,
	    SKR_ERR_TOKEN_EXPIRED);
	TIMED("{\"iss\":\"" ISS_A "\",\"x\":%lld}", 1, SKR_ERR_TOKEN_EXPIRED);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":\"%lld\"}", NOW + 100,
	    SKR_ERR_TOKEN_MALFORMED);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":%lld.5}", NOW + 100, SKR_OK);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":null,\"x\":%lld}", 1,
	    SKR_ERR_TOKEN_MALFORMED);
	/* nbf: not after now + skew. */
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":1700003600,\"nbf\":%lld}",
	    NOW + 61, SKR_ERR_TOKEN_NOT_YET_VALID);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":1700003600,\"nbf\":%lld}",
	    NOW + 60, SKR_OK);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":1700003600,\"nbf\":%lld}",
	    (long long)INT64_MIN, SKR_OK);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":1700003600,\"nbf\":%lld}",
	    (long long)INT64_MAX, SKR_ERR_TOKEN_NOT_YET_VALID);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":1700003600,\"nbf\":\"%lld\"}",
	    NOW, SKR_ERR_TOKEN_MALFORMED);
	/* iat: not after now + skew. */
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":1700003600,\"iat\":%lld}",
	    NOW + 61, SKR_ERR_TOKEN_IAT);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":1700003600,\"iat\":%lld}",
	    NOW + 60, SKR_OK);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":1700003600,\"iat\":%lld}",
	    (long long)INT64_MAX, SKR_ERR_TOKEN_IAT);
	TIMED("{\"iss\":\"" ISS_A "\",\"exp\":1700003600,\"iat\":[%lld]}",
	    NOW, SKR_ERR_TOKEN_MALFORMED);
#undef TIMED

	/* With no skew the boundaries move to now itself. */
	snprintf(extra, sizeof(extra), "{\"iss\":\"" ISS_A "\",\"exp\":%d}",
	    NOW);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, extra);
	CHECK_ERR(verify_skew(&t, 0, NULL), SKR_ERR_TOKEN_EXPIRED);
	snprintf(extra, sizeof(extra), "{\"iss\":\"" ISS_A "\",\"exp\":%d}",
	    NOW + 1);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, extra);
	CHECK_OK(verify_skew(&t, 0, NULL));
	snprintf(extra, sizeof(extra), "{\"iss\":\"" ISS_A "\",\"exp\":%d,"
	    "\"nbf\":%d,\"iat\":%d}", NOW + 10, NOW, NOW);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, extra);
	CHECK_OK(verify_skew(&t, 0, &tok));
	CHECK(tok != NULL && tok->has_nbf && tok->nbf == NOW &&
	    tok->has_iat && tok->iat == NOW && tok->exp == NOW + 10);
	skr_token_free(tok);
	snprintf(extra, sizeof(extra), "{\"iss\":\"" ISS_A "\",\"exp\":%d,"
	    "\"nbf\":%d}", NOW + 10, NOW + 1);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, extra);
	CHECK_ERR(verify_skew(&t, 0, NULL), SKR_ERR_TOKEN_NOT_YET_VALID);
	snprintf(extra, sizeof(extra), "{\"iss\":\"" ISS_A "\",\"exp\":%d,"
	    "\"iat\":%d}", NOW + 10, NOW + 1);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, extra);
	CHECK_ERR(verify_skew(&t, 0, NULL), SKR_ERR_TOKEN_IAT);
	/* A negative skew is a caller error. */
	CHECK_ERR(verify_skew(&t, -1, NULL), SKR_ERR_INVAL);
	skr_buf_free(&t);
}

static void
test_structure(void)
{
	skr_buf t = SKR_BUF_INIT, sig = SKR_BUF_INIT, big = SKR_BUF_INIT;
	const char *good = claims(ISS_A, NULL);
	char *p;
	size_t i;

	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, good);
	CHECK_OK(verify(&t));
	signature_of(&t, &sig);

	/* Truncated and extended signatures. */
	resign(&t, sig.data, sig.len - 1);
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_SIGNATURE);
	skr_buf_append_byte(&sig, 0);
	resign(&t, sig.data, sig.len);
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_SIGNATURE);
	resign(&t, NULL, 0);
	CHECK(verify(&t) == SKR_ERR_TOKEN_SIGNATURE ||
	    verify(&t) == SKR_ERR_TOKEN_MALFORMED);
	mint(&t, ec1, SKR_ALG_ES256, "ec1", NULL, good);
	CHECK_OK(verify(&t));
	signature_of(&t, &sig);
	resign(&t, sig.data, sig.len - 1);
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_SIGNATURE);
	skr_buf_append_byte(&sig, 0);
	resign(&t, sig.data, sig.len);
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_SIGNATURE);

	/* Bad base64url in each part, padding, whitespace. */
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, good);
	for (i = 0; i < 3; i++) {
		skr_buf u = SKR_BUF_INIT;
		char *q;

		skr_buf_set(&u, t.data, t.len);
		q = (char *)u.data;
		if (i > 0)
			q = strchr(q, '.') + 1;
		if (i > 1)
			q = strchr(q, '.') + 1;
		q[1] = '+';
		CHECK_ERR(verify(&u), SKR_ERR_TOKEN_MALFORMED);
		q[1] = '*';
		CHECK_ERR(verify(&u), SKR_ERR_TOKEN_MALFORMED);
		skr_buf_free(&u);
	}
	skr_buf_set(&big, t.data, t.len);
	skr_buf_append_str(&big, "==");
	CHECK_ERR(verify(&big), SKR_ERR_TOKEN_MALFORMED);
	skr_buf_set(&big, t.data, t.len);
	skr_buf_append_str(&big, "\n");
	CHECK_ERR(verify(&big), SKR_ERR_TOKEN_MALFORMED);
	skr_buf_set(&big, " ", 1);
	skr_buf_append(&big, t.data, t.len);
	CHECK_ERR(verify(&big), SKR_ERR_TOKEN_MALFORMED);

	/* Two and four segments; empty parts. */
	p = strrchr((char *)t.data, '.');
	skr_buf_set(&big, t.data, (size_t)(p - (char *)t.data));
	CHECK_ERR(verify(&big), SKR_ERR_TOKEN_MALFORMED);
	skr_buf_set(&big, t.data, t.len);
	skr_buf_append_str(&big, ".AAAA");
	CHECK_ERR(verify(&big), SKR_ERR_TOKEN_MALFORMED);
	skr_buf_set(&big, t.data, t.len);
	skr_buf_append_str(&big, ".");
	CHECK_ERR(verify(&big), SKR_ERR_TOKEN_MALFORMED);
	skr_buf_set(&big, "..", 2);
	CHECK_ERR(verify(&big), SKR_ERR_TOKEN_MALFORMED);
	skr_buf_set(&big, "", 0);
	CHECK_ERR(verify(&big), SKR_ERR_TOKEN_MALFORMED);
	skr_buf_set(&big, "a.b", 3);
	CHECK_ERR(verify(&big), SKR_ERR_TOKEN_MALFORMED);

	/* Size: 128 KiB + 1 is refused before anything else; a big but
	 * legal token verifies. */
	skr_buf_reset(&big);
	skr_buf_append(&big, t.data, t.len);
	while (big.len < SKR_TOKEN_MAX_BYTES + 1)
		skr_buf_append_byte(&big, 'A');
	CHECK(big.len == SKR_TOKEN_MAX_BYTES + 1);
	CHECK_ERR(verify(&big), SKR_ERR_TOKEN_TOO_LARGE);
	skr_buf_reset(&big);
	skr_buf_append_str(&big, "\"pad\":\"");
	for (i = 0; i < 90000; i++)
		skr_buf_append_byte(&big, 'x');
	skr_buf_append_str(&big, "\"");
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL,
	    claims(ISS_A, (const char *)big.data));
	CHECK(t.len > 120000 && t.len <= SKR_TOKEN_MAX_BYTES);
	CHECK_OK(verify(&t));
	skr_buf_reset(&big);
	skr_buf_append_str(&big, "\"pad\":\"");
	for (i = 0; i < 100000; i++)
		skr_buf_append_byte(&big, 'x');
	skr_buf_append_str(&big, "\"");
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL,
	    claims(ISS_A, (const char *)big.data));
	CHECK(t.len > SKR_TOKEN_MAX_BYTES);
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_TOO_LARGE);

	/* Payloads: deeply nested, duplicate members, not UTF-8, not an
	 * object, trailing data -- all properly signed. */
	skr_buf_reset(&big);
	skr_buf_append_str(&big, "\"deep\":");
	for (i = 0; i < 200; i++)
		skr_buf_append_byte(&big, '[');
	for (i = 0; i < 200; i++)
		skr_buf_append_byte(&big, ']');
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL,
	    claims(ISS_A, (const char *)big.data));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL,
	    claims(ISS_A, "\"iss\":\"https://b.example\""));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL,
	    claims(ISS_A, "\"x\":{\"a\":1,\"a\":2}"));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL,
	    claims(ISS_A, "\"x\":\"\xff\xfe\""));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL,
	    claims(ISS_A, "\"x\":\"\xc0\xaf\""));
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, "[1,2]");
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, "\"" ISS_A "\"");
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, "42");
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, "null");
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, "");
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	skr_buf_reset(&big);
	skr_buf_append_str(&big, good);
	skr_buf_append_str(&big, " {}");
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, (const char *)big.data);
	CHECK_ERR(verify(&t), SKR_ERR_TOKEN_MALFORMED);
	skr_buf_free(&t);
	skr_buf_free(&sig);
	skr_buf_free(&big);
}

static void
test_accepted(void)
{
	skr_buf t = SKR_BUF_INIT;
	skr_token *tok = NULL;
	uint8_t md[32];
	unsigned mdlen = 32;
	static const skr_alg rsa_algs[] = {
		SKR_ALG_RS256, SKR_ALG_RS384, SKR_ALG_RS512, SKR_ALG_PS256,
		SKR_ALG_PS384, SKR_ALG_PS512,
	};
	size_t i;

	for (i = 0; i < sizeof(rsa_algs) / sizeof(rsa_algs[0]); i++) {
		mint(&t, rsa1, rsa_algs[i], "rsa1", NULL, claims(ISS_A, NULL));
		CHECK_OK(verify(&t));
	}
	mint(&t, ec1, SKR_ALG_ES256, "ec1", "{\"typ\":\"JWT\"}",
	    claims(ISS_A, "\"jti\":\"j-1\",\"x-ms-attestation-type\":\"azurevm\","
	    "\"x-ms-isolation-tee\":{\"x-ms-attestation-type\":\"sevsnpvm\"},"
	    "\"x-ms-runtime\":{\"client-payload\":{\"nonce\":\"n0\"}}"));
	CHECK_OK(verify_skew(&t, 60, &tok));
	if (tok != NULL) {
		CHECK_STR(tok->iss, ISS_A);
		CHECK_STR(tok->kid, "ec1");
		CHECK_STR(tok->jti, "j-1");
		CHECK_STR(tok->attestation_type, "sevsnpvm");
		CHECK_STR(skr_token_nonce(tok), "n0");
		CHECK(tok->alg == SKR_ALG_ES256);
		CHECK(tok->exp == NOW + 3600 && tok->iat == NOW - 10);
		EVP_Digest(t.data, t.len, md, &mdlen, EVP_sha256(), NULL);
		CHECK_MEM(tok->sha256, 32, md, 32);
		CHECK(json_is_object(tok->claims));
	}
	skr_token_free(tok);
	mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL,
	    claims(ISS_A, "\"x-ms-attestation-type\":\"sgx\""));
	CHECK_OK(verify_skew(&t, 60, &tok));
	CHECK(tok != NULL && tok->jti == NULL);
	CHECK_STR(tok ? tok->attestation_type : NULL, "sgx");
	CHECK(tok != NULL && skr_token_nonce(tok) == NULL);
	skr_token_free(tok);
	skr_buf_free(&t);
}

/* x-ms-runtime.keys selection. */
static void
test_wrapping_key(void)
{
	skr_buf t = SKR_BUF_INIT;
	skr_token *tok = NULL;
	skr_key *wk = NULL, *small = NULL, *target = NULL;
	char *kid = NULL, *wjwk, *ecjwk, *extra;
	json_t *j;
	EVP_PKEY *pk;

	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &target));
	j = skr_jwk_emit(target, 0);
	wjwk = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	/* Strip the braces so members can be added. */
	wjwk[strlen(wjwk) - 1] = '\0';
	j = skr_jwk_emit(ec1, 0);
	ecjwk = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	ecjwk[strlen(ecjwk) - 1] = '\0';
	pk = EVP_RSA_gen(1024);
	CHECK(pk != NULL);
	extra = malloc(65536);

#define WRAP(keys_json, want, want_kid) do {                             \
		snprintf(extra, 65536, "\"x-ms-runtime\":{\"keys\":%s}",        \
		    keys_json);                                                 \
		mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL,                     \
		    claims(ISS_A, extra));                                      \
		CHECK_OK(verify_skew(&t, 60, &tok));                            \
		if (tok != NULL) {                                              \
			CHECK_ERR(skr_token_wrapping_key(tok, NULL, &wk, &kid), \
			    want);                                              \
			if ((want) == SKR_OK) {                                 \
				CHECK_STR(kid, want_kid);                       \
				CHECK(wk != NULL &&                             \
				    skr_key_public_equal(wk, target));          \
			} else                                                  \
				CHECK(wk == NULL && kid == NULL);               \
		}                                                               \
		skr_key_free(wk);                                               \
		wk = NULL;                                                      \
		free(kid);                                                      \
		kid = NULL;                                                     \
		skr_token_free(tok);                                            \
		tok = NULL;                                                     \
	} while (0)

	{
		char buf[16384];

		snprintf(buf, sizeof(buf), "[%s,\"kid\":\"w\",\"key_ops\":"
		    "[\"encrypt\"]}]", wjwk);
		WRAP(buf, SKR_OK, "w");
		snprintf(buf, sizeof(buf), "[%s,\"kid\":\"w\",\"use\":\"enc\"}]",
		    wjwk);
		WRAP(buf, SKR_OK, "w");
		/* Entries without use/key_ops, without kid, of another kty or
		 * for signing are passed over. */
		snprintf(buf, sizeof(buf), "[%s,\"kid\":\"a\"},%s,\"use\":"
		    "\"enc\"},%s,\"kid\":\"s\",\"use\":\"sig\"},%s,\"kid\":\"e\","
		    "\"use\":\"enc\"},%s,\"kid\":\"w2\",\"key_ops\":[\"sign\","
		    "\"encrypt\"]}]", wjwk, wjwk, wjwk, ecjwk, wjwk);
		WRAP(buf, SKR_OK, "w2");
		WRAP("[]", SKR_ERR_WRAPKEY_MISSING, NULL);
		WRAP("{}", SKR_ERR_WRAPKEY_MISSING, NULL);
		WRAP("\"x\"", SKR_ERR_WRAPKEY_MISSING, NULL);
		snprintf(buf, sizeof(buf), "[%s,\"kid\":\"a\"},1,null]", wjwk);
		WRAP(buf, SKR_ERR_WRAPKEY_MISSING, NULL);
		/* Matching entries that are unusable: invalid. */
		WRAP("[{\"kty\":\"RSA\",\"kid\":\"m\",\"use\":\"enc\","
		    "\"n\":\"AQAB\",\"e\":\"AQAB\"}]", SKR_ERR_WRAPKEY_INVALID,
		    NULL);
		WRAP("[{\"kty\":\"RSA\",\"kid\":\"m\",\"use\":\"enc\"}]",
		    SKR_ERR_WRAPKEY_INVALID, NULL);
		/* A usable one after an unusable one is still found. */
		snprintf(buf, sizeof(buf), "[{\"kty\":\"RSA\",\"kid\":\"m\","
		    "\"use\":\"enc\",\"n\":\"!\",\"e\":\"AQAB\"},%s,\"kid\":\"w\","
		    "\"use\":\"enc\"}]", wjwk);
		WRAP(buf, SKR_OK, "w");
	}
	/* RSA-1024, by hand: n and e of a 1024-bit key. */
	{
		BIGNUM *n = NULL, *e = NULL;
		uint8_t nb[512], eb[8];
		skr_buf ns = SKR_BUF_INIT, es = SKR_BUF_INIT;
		char buf[4096];

		EVP_PKEY_get_bn_param(pk, "n", &n);
		EVP_PKEY_get_bn_param(pk, "e", &e);
		skr_b64url_encode(&ns, nb, (size_t)BN_bn2bin(n, nb));
		skr_b64url_encode(&es, eb, (size_t)BN_bn2bin(e, eb));
		snprintf(buf, sizeof(buf), "[{\"kty\":\"RSA\",\"kid\":\"small\","
		    "\"use\":\"enc\",\"n\":\"%s\",\"e\":\"%s\"}]",
		    skr_buf_cstr(&ns), skr_buf_cstr(&es));
		WRAP(buf, SKR_ERR_WRAPKEY_INVALID, NULL);
		BN_free(n);
		BN_free(e);
		skr_buf_free(&ns);
		skr_buf_free(&es);
	}
#undef WRAP
	/* A configured path elsewhere. */
	{
		char buf[16384];

		snprintf(buf, sizeof(buf), "\"tee\":{\"keys\":[%s,\"kid\":\"t\","
		    "\"use\":\"enc\"}]}", wjwk);
		mint(&t, rsa1, SKR_ALG_RS256, "rsa1", NULL, claims(ISS_A, buf));
		CHECK_OK(verify_skew(&t, 60, &tok));
		CHECK_ERR(skr_token_wrapping_key(tok, NULL, &wk, &kid),
		    SKR_ERR_WRAPKEY_MISSING);
		CHECK_OK(skr_token_wrapping_key(tok, "tee.keys", &wk, NULL));
		CHECK(wk != NULL);
		skr_key_free(wk);
		skr_token_free(tok);
	}
	EVP_PKEY_free(pk);
	skr_key_free(small);
	skr_key_free(target);
	free(wjwk);
	free(ecjwk);
	free(extra);
	skr_buf_free(&t);
}

int
main(void)
{
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &rsa1));
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &ec1));
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &b1));
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &rsa_other));
	if (rsa1 == NULL || ec1 == NULL || b1 == NULL || rsa_other == NULL)
		return check_done();
	keys_a = set_of(rsa1, "rsa1", ec1, "ec1");
	keys_b = set_of(b1, "b1", NULL, NULL);
	CHECK(keys_a != NULL && skr_jwks_count(keys_a) == 2);

	test_alg();
	test_libjwt();
	test_keys_and_issuers();
	test_header();
	test_times();
	test_structure();
	test_accepted();
	test_wrapping_key();

	skr_jwks_unref(keys_a);
	skr_jwks_unref(keys_b);
	skr_key_free(rsa1);
	skr_key_free(ec1);
	skr_key_free(b1);
	skr_key_free(rsa_other);
	return check_done();
}
