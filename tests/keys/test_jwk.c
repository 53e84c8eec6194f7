/* Unit tests: JWK parse/emit, RFC 7638 thumbprints, generation, byte forms. */
#include <string.h>

#include <openssl/buffer.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "check.h"
#include "encoding.h"
#include "json.h"
#include "jwk.h"

/* RFC 7638 section 3.1 (the RFC 7517 appendix A.1 RSA key). */
static const char rfc7638_key[] =
    "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78L"
    "hWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn6"
    "4tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368Q"
    "QMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bF"
    "TWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU"
    "8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";

/* RFC 7515 appendix A.3 / RFC 7517 style EC P-256 key with its d. */
static const char ec_key[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
    "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}";

static int
parse(const char *text, unsigned flags, skr_key **k)
{
	return skr_jwk_parse_text(text, strlen(text), flags, k);
}

/* Parse text after replacing member `name`'s value with `value` (a JSON
 * literal) or deleting it (value NULL). */
static int
parse_with(const char *text, const char *name, const char *value,
    unsigned flags)
{
	json_t *o = json_loads(text, 0, NULL), *v = NULL;
	skr_key *k = NULL;
	int r;

	if (value == NULL)
		json_object_del(o, name);
	else {
		v = json_loads(value, JSON_DECODE_ANY, NULL);
		json_object_set_new(o, name, v);
	}
	r = skr_jwk_parse(o, flags, &k);
	skr_key_free(k);
	json_decref(o);
	return r;
}

static void
test_rfc7638(void)
{
	uint8_t tp[64];
	size_t tplen;
	skr_buf b = SKR_BUF_INIT;
	skr_key *k = NULL;

	CHECK_OK(parse(rfc7638_key, SKR_JWK_PUBLIC, &k));
	if (k == NULL)
		return;
	CHECK(skr_key_kty(k) == SKR_KTY_RSA);
	CHECK(skr_key_bits(k) == 2048);
	CHECK_STR(skr_key_kid(k), "2011-04-29");
	CHECK(!skr_key_has_private(k));
	CHECK_OK(skr_jwk_thumbprint(k, EVP_sha256(), tp, &tplen));
	CHECK_OK(skr_b64url_encode(&b, tp, tplen));
	CHECK_STR(skr_buf_cstr(&b), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	skr_buf_free(&b);
	skr_key_free(k);
}

static void
test_kv_exponent(void)
{
	skr_key *a = NULL, *b = NULL;
	json_t *o;

	/* Key Vault emits e as "AAEAAQ" (a leading zero octet). */
	CHECK_OK(parse(rfc7638_key, SKR_JWK_PUBLIC, &a));
	o = json_loads(rfc7638_key, 0, NULL);
	json_object_set_new(o, "e", json_string("AAEAAQ"));
	CHECK_OK(skr_jwk_parse(o, SKR_JWK_PUBLIC, &b));
	CHECK(a != NULL && b != NULL && skr_key_public_equal(a, b));
	json_decref(o);
	/* Re-emitted without the leading zero. */
	if (b != NULL) {
		o = skr_jwk_emit(b, 0);
		CHECK_STR(json_string_value(json_object_get(o, "e")), "AQAB");
		json_decref(o);
	}
	skr_key_free(a);
	skr_key_free(b);
}

static void
test_ec(void)
{
	skr_key *k = NULL, *pub = NULL;
	json_t *o, *in;

	CHECK_OK(parse(ec_key, 0, &k));
	if (k == NULL)
		return;
	CHECK(skr_key_kty(k) == SKR_KTY_EC && skr_key_bits(k) == 256);
	CHECK_STR(skr_key_crv(k), "P-256");
	CHECK(skr_key_has_private(k));
	in = json_loads(ec_key, 0, NULL);
	o = skr_jwk_emit(k, 1);
	CHECK(json_equal(o, in));
	json_decref(o);
	o = skr_jwk_emit(k, 0);
	CHECK(json_object_get(o, "d") == NULL);
	CHECK_OK(skr_jwk_parse(o, SKR_JWK_PUBLIC, &pub));
	CHECK(pub != NULL && skr_key_public_equal(k, pub));
	json_decref(o);
	json_decref(in);
	skr_key_free(pub);
	skr_key_free(k);

	/* Public-only flag ignores d; require-private refuses a public key. */
	CHECK_OK(parse(ec_key, SKR_JWK_PUBLIC, &k));
	CHECK(k != NULL && !skr_key_has_private(k));
	skr_key_free(k);
	CHECK_ERR(parse_with(ec_key, "d", NULL, SKR_JWK_REQUIRE_PRIVATE),
	    SKR_ERR_KEY_NO_PRIVATE);
}

static void
test_negative(void)
{
	/* Every required member missing in turn. */
	CHECK_ERR(parse_with(rfc7638_key, "n", NULL, 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(rfc7638_key, "e", NULL, 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(rfc7638_key, "kty", NULL, 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(ec_key, "crv", NULL, 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(ec_key, "x", NULL, 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(ec_key, "y", NULL, 0), SKR_ERR_JWK_INVALID);
	/* Wrong types. */
	CHECK_ERR(parse_with(rfc7638_key, "n", "12", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(rfc7638_key, "kty", "[\"RSA\"]", 0),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(rfc7638_key, "kid", "7", 0), SKR_ERR_JWK_INVALID);
	/* Bad base64url: padding and the standard alphabet. */
	CHECK_ERR(parse_with(rfc7638_key, "e", "\"AQAB==\"", 0),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(ec_key, "x",
	    "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVE+\"", 0),
	    SKR_ERR_JWK_INVALID);
	/* Unknown kty and crv. */
	CHECK_ERR(parse_with(rfc7638_key, "kty", "\"OKP\"", 0),
	    SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(parse_with(ec_key, "crv", "\"P-192\"", 0),
	    SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(parse_with(ec_key, "crv", "\"secp256k1\"", 0),
	    SKR_ERR_JWK_UNSUPPORTED);
	/* x of the wrong length (31 bytes) and a point off the curve. */
	CHECK_ERR(parse_with(ec_key, "x",
	    "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVA\"", 0),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(ec_key, "y",
	    "\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1\"", 0),
	    SKR_ERR_JWK_INVALID);
	/* Even and unit exponents. */
	CHECK_ERR(parse_with(rfc7638_key, "e", "\"AQAA\"", 0),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(rfc7638_key, "e", "\"AQ\"", 0), SKR_ERR_JWK_INVALID);
	/* A partial set of RSA private parameters. */
	CHECK_ERR(parse_with(rfc7638_key, "d", "\"AQAB\"", 0),
	    SKR_ERR_JWK_INVALID);
	/* oct: unsupported length (20 bytes; RFC 7517 A.3's 64-byte HMAC key). */
	CHECK_ERR(parse("{\"kty\":\"oct\",\"k\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
	    0, &(skr_key *){ NULL }), SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(parse("{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoq"
	    "QKzJXl7ieVw3-_wXGS7kVb_8CEoLa4p_E3FCeh4VXeKdBv6u7RAY-Qg\"}",
	    0, &(skr_key *){ NULL }), SKR_ERR_JWK_UNSUPPORTED);
	/* Not JSON, duplicate members. */
	CHECK_ERR(parse("{\"kty\":\"oct\",", 0, &(skr_key *){ NULL }),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse("{\"kty\":\"oct\",\"kty\":\"RSA\"}", 0,
	    &(skr_key *){ NULL }), SKR_ERR_JWK_INVALID);
}

static void
test_weak_rsa(void)
{
	EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	skr_key *k = NULL;
	json_t *o;
	skr_buf pem = SKR_BUF_INIT;
	BIO *bio;
	BUF_MEM *mem;

	CHECK(p != NULL);
	CHECK_ERR(skr_key_from_pkey(p, &k), SKR_ERR_KEY_WEAK);
	/* The same key as a JWK: build it from a 2048-bit template. */
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, p);
	BIO_get_mem_ptr(bio, &mem);
	CHECK_ERR(skr_key_from_pem(mem->data, mem->length, &k), SKR_ERR_KEY_WEAK);
	BIO_free(bio);
	{
		BIGNUM *n = NULL;
		uint8_t nb[128];
		skr_buf b = SKR_BUF_INIT;

		EVP_PKEY_get_bn_param(p, "n", &n);
		BN_bn2bin(n, nb);
		skr_b64url_encode(&b, nb, (size_t)BN_num_bytes(n));
		o = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n",
		    skr_buf_cstr(&b), "e", "AQAB");
		CHECK_ERR(skr_jwk_parse(o, SKR_JWK_PUBLIC, &k), SKR_ERR_KEY_WEAK);
		json_decref(o);
		skr_buf_free(&b);
		BN_free(n);
	}
	skr_buf_free(&pem);
	EVP_PKEY_free(p);
}

static void
roundtrip(skr_kty kty, int bits)
{
	skr_key *k = NULL, *k2 = NULL, *k3 = NULL;
	skr_buf der = SKR_BUF_INIT_SECRET, pem = SKR_BUF_INIT_SECRET;
	json_t *jwk;

	CHECK_OK(skr_key_generate(kty, bits, &k));
	if (k == NULL)
		return;
	CHECK(skr_key_kty(k) == kty && skr_key_bits(k) == bits);
	CHECK(skr_key_has_private(k));
	CHECK_OK(skr_key_private_bytes(k, &der));
	if (kty == SKR_KTY_OCT)
		CHECK(der.len == (size_t)bits / 8);
	CHECK_OK(skr_key_from_private_bytes(kty, der.data, der.len, &k2));
	CHECK(k2 != NULL && skr_key_public_equal(k, k2) &&
	    skr_key_has_private(k2));
	/* Trailing bytes and a type mismatch are refused. */
	if (kty != SKR_KTY_OCT) {
		skr_buf_append_byte(&der, 0);
		CHECK_ERR(skr_key_from_private_bytes(kty, der.data, der.len,
		    &k3), SKR_ERR_JWK_INVALID);
		CHECK_ERR(skr_key_from_private_bytes(kty == SKR_KTY_RSA ?
		    SKR_KTY_EC : SKR_KTY_RSA, der.data, der.len - 1, &k3),
		    SKR_ERR_JWK_INVALID);
		CHECK_OK(skr_key_to_pem(k, 1, &pem));
		CHECK_OK(skr_key_from_pem((const char *)pem.data, pem.len, &k3));
		CHECK(k3 != NULL && skr_key_public_equal(k, k3) &&
		    skr_key_has_private(k3));
		skr_key_free(k3);
		k3 = NULL;
		skr_buf_reset(&pem);
		CHECK_OK(skr_key_to_pem(k, 0, &pem));
		CHECK_OK(skr_key_from_pem((const char *)pem.data, pem.len, &k3));
		CHECK(k3 != NULL && !skr_key_has_private(k3));
		skr_key_free(k3);
		k3 = NULL;
	}
	/* JWK with private members round-trips too. */
	jwk = skr_jwk_emit(k, 1);
	CHECK(jwk != NULL);
	CHECK_OK(skr_jwk_parse(jwk, SKR_JWK_REQUIRE_PRIVATE, &k3));
	CHECK(k3 != NULL && skr_key_public_equal(k, k3));
	json_decref(jwk);
	skr_key_free(k3);
	skr_key_free(k2);
	skr_key_free(k);
	skr_buf_free(&der);
	skr_buf_free(&pem);
}

static void
test_generate(void)
{
	skr_key *k = NULL, *other = NULL;

	roundtrip(SKR_KTY_RSA, 2048);
	roundtrip(SKR_KTY_RSA, 3072);
	roundtrip(SKR_KTY_EC, 256);
	roundtrip(SKR_KTY_EC, 384);
	roundtrip(SKR_KTY_EC, 521);
	roundtrip(SKR_KTY_OCT, 128);
	roundtrip(SKR_KTY_OCT, 192);
	roundtrip(SKR_KTY_OCT, 256);
	CHECK_ERR(skr_key_generate(SKR_KTY_RSA, 1024, &k),
	    SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(skr_key_generate(SKR_KTY_EC, 224, &k), SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(skr_key_generate(SKR_KTY_OCT, 512, &k),
	    SKR_ERR_JWK_UNSUPPORTED);
	/* Two generated keys differ. */
	CHECK_OK(skr_key_generate(SKR_KTY_OCT, 256, &k));
	CHECK_OK(skr_key_generate(SKR_KTY_OCT, 256, &other));
	CHECK(k != NULL && other != NULL && !skr_key_public_equal(k, other));
	skr_key_free(k);
	skr_key_free(other);
}

static void
test_kty_names(void)
{
	CHECK(skr_kty_parse("RSA-HSM") == SKR_KTY_RSA);
	CHECK(skr_kty_parse("EC") == SKR_KTY_EC);
	CHECK(skr_kty_parse("oct-HSM") == SKR_KTY_OCT);
	CHECK(skr_kty_parse("rsa") == SKR_KTY_NONE);
	CHECK(skr_kty_parse(NULL) == SKR_KTY_NONE);
	CHECK_STR(skr_kty_name(SKR_KTY_EC, 1), "EC-HSM");
}

int
main(void)
{
	test_rfc7638();
	test_kv_exponent();
	test_ec();
	test_negative();
	test_weak_rsa();
	test_generate();
	test_kty_names();
	return check_done();
}
