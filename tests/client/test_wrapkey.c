/*
 * Unit tests: the wrapping key libskr reads from an attestation token
 * (client/wrapkey.c) must be the one skrd would wrap to, and every token
 * that names none must say so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include "check.h"
#include "client_priv.h"
#include "encoding.h"
#include "jwk.h"

static skr_key *k1, *k2;
static json_t *small;           /* the public JWK of an RSA-1024 key */

/* header.payload.signature with a fixed header and signature: the
 * signature is the server's business, never looked at here. */
static char *
token_of(const char *payload)
{
	static const char *hdr = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	skr_buf out = SKR_BUF_INIT;

	skr_b64url_encode(&out, (const uint8_t *)hdr, strlen(hdr));
	skr_buf_append_str(&out, ".");
	skr_b64url_encode(&out, (const uint8_t *)payload, strlen(payload));
	skr_buf_append_str(&out, ".c2ln");
	return (char *)skr_buf_steal(&out, NULL);
}

/* A JWK entry of x-ms-runtime.keys: key's public part plus members. */
static json_t *
entry(const skr_key *key, const char *members)
{
	json_t *e = key != NULL ? skr_jwk_emit(key, 0) : json_deep_copy(small),
	    *more;

	json_object_del(e, "kid");
	if (members != NULL) {
		more = json_loads(members, 0, NULL);
		json_object_update(e, more);
		json_decref(more);
	}
	return e;
}

/* The token whose x-ms-runtime.keys holds entries (stolen). */
static char *
token_with(json_t *entries)
{
	json_t *claims = json_pack("{s:s,s:{s:o}}", "iss", "https://a.example",
	    "x-ms-runtime", "keys", entries);
	char *text = json_dumps(claims, JSON_COMPACT), *tok = token_of(text);

	free(text);
	json_decref(claims);
	return tok;
}

/* Run the parser on tok (freed) and check result, key and kid. */
static void
expect(char *tok, int want, const skr_key *want_key, const char *want_kid)
{
	skr_key *key = (skr_key *)0x1;
	char *kid = (char *)0x1;

	CHECK_ERR(skr__token_wrapping_key(tok, strlen(tok), &key, &kid), want);
	if (want == SKR_OK) {
		CHECK(key != NULL && skr_key_public_equal(key, want_key));
		CHECK(kid != NULL && strcmp(kid, want_kid) == 0);
	} else
		CHECK(key == NULL && kid == NULL);
	skr_key_free(key);
	free(kid);
	free(tok);
}

static void
test_chosen(void)
{
	/* The attestation library's entry. */
	expect(token_with(json_pack("[o]", entry(k1, "{\"kid\":"
	    "\"TpmEphemeralEncryptionKey\",\"key_ops\":[\"encrypt\"]}"))),
	    SKR_OK, k1, "TpmEphemeralEncryptionKey");
	/* use "enc" is as good as key_ops; kty may say -HSM. */
	expect(token_with(json_pack("[o]", entry(k1, "{\"kid\":\"a\","
	    "\"use\":\"enc\",\"kty\":\"RSA-HSM\"}"))), SKR_OK, k1, "a");
	/* The first candidate that is usable, as skrd picks: entries
	 * without a kid, an encrypt use or RSA are passed over, and so is a
	 * key under 2048 bits. */
	expect(token_with(json_pack("[o,o,o,o,o,o]",
	    entry(k2, "{\"key_ops\":[\"encrypt\"]}"),
	    entry(k2, "{\"kid\":\"\",\"key_ops\":[\"encrypt\"]}"),
	    entry(k2, "{\"kid\":\"sig\",\"key_ops\":[\"sign\"],\"use\":\"sig\"}"),
	    entry(NULL, "{\"kid\":\"small\",\"key_ops\":[\"encrypt\"]}"),
	    entry(k1, "{\"kid\":\"first\",\"key_ops\":[\"verify\",\"encrypt\"]}"),
	    entry(k2, "{\"kid\":\"second\",\"key_ops\":[\"encrypt\"]}"))),
	    SKR_OK, k1, "first");
}

static void
test_refused(void)
{
	/* No candidate at all, or candidates none of which is usable. */
	expect(token_with(json_array()), SKR_ERR_WRAPKEY_MISSING, NULL, NULL);
	expect(token_with(json_pack("[o]", entry(k1, "{\"kid\":\"a\"}"))),
	    SKR_ERR_WRAPKEY_MISSING, NULL, NULL);
	expect(token_with(json_pack("[o]", entry(NULL, "{\"kid\":\"a\","
	    "\"use\":\"enc\"}"))), SKR_ERR_WRAPKEY_INVALID, NULL, NULL);
	expect(token_with(json_pack("[{s:s,s:s,s:s,s:s}]", "kty", "RSA",
	    "kid", "a", "use", "enc", "n", "!!")), SKR_ERR_WRAPKEY_INVALID,
	    NULL, NULL);
	expect(token_of("{\"x-ms-runtime\":{\"keys\":{}}}"),
	    SKR_ERR_WRAPKEY_MISSING, NULL, NULL);
	expect(token_of("{\"iss\":\"x\"}"), SKR_ERR_WRAPKEY_MISSING, NULL,
	    NULL);
	/* The key set of the isolation claims (HCLAkPub) is not the
	 * wrapping key's place. */
	{
		json_t *c = json_pack("{s:{s:{s:[o]}}}", "x-ms-isolation-tee",
		    "x-ms-runtime", "keys", entry(k1, "{\"kid\":\"HCLAkPub\","
		    "\"key_ops\":[\"encrypt\"]}"));
		char *text = json_dumps(c, JSON_COMPACT);

		expect(token_of(text), SKR_ERR_WRAPKEY_MISSING, NULL, NULL);
		free(text);
		json_decref(c);
	}
	/* Not a token. */
	expect(strdup(""), SKR_ERR_TOKEN_MALFORMED, NULL, NULL);
	expect(strdup("a.b"), SKR_ERR_TOKEN_MALFORMED, NULL, NULL);
	expect(strdup("eyJhbGciOiJub25lIn0.e30."), SKR_ERR_TOKEN_MALFORMED,
	    NULL, NULL);
	expect(token_of("[1,2]"), SKR_ERR_TOKEN_MALFORMED, NULL, NULL);
	expect(token_of("{\"x-ms-runtime\":1,\"x-ms-runtime\":2}"),
	    SKR_ERR_TOKEN_MALFORMED, NULL, NULL);
	{
		/* Over 128 KiB: refused as skrd refuses it. */
		size_t n = 140 * 1024;
		char *big = malloc(n + 32);

		snprintf(big, 32, "{\"pad\":\"");
		memset(big + 8, 'a', n);
		snprintf(big + 8 + n, 24, "\"}");
		expect(token_of(big), SKR_ERR_TOKEN_MALFORMED, NULL, NULL);
		free(big);
	}
}

int
main(void)
{
	CHECK_ERR(skr_key_generate(SKR_KTY_RSA, 2048, &k1), SKR_OK);
	CHECK_ERR(skr_key_generate(SKR_KTY_RSA, 2048, &k2), SKR_OK);
	/* 1024 bits: what a weak TEE key would be (keys/ refuses to hold
	 * one, so its JWK is built here). */
	{
		EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)1024);
		BIGNUM *n = NULL;
		uint8_t bin[128];
		skr_buf b = SKR_BUF_INIT;

		CHECK(p != NULL && EVP_PKEY_get_bn_param(p, "n", &n) == 1 &&
		    BN_bn2binpad(n, bin, sizeof(bin)) == sizeof(bin) &&
		    skr_b64url_encode(&b, bin, sizeof(bin)) == SKR_OK);
		small = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "e", "AQAB",
		    "n", skr_buf_cstr(&b));
		BN_free(n);
		EVP_PKEY_free(p);
		skr_buf_free(&b);
	}
	if (k1 == NULL || k2 == NULL || small == NULL)
		return check_done();
	test_chosen();
	test_refused();
	skr_key_free(k1);
	skr_key_free(k2);
	json_decref(small);
	return check_done();
}
