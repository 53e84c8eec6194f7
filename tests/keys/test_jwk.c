/*
 * Unit tests: JWK parse and emit (RFC 7517 appendices A and B), RFC 7638
 * thumbprints, generation, private/PEM/X.509/SPKI byte forms, and every way
 * a JWK can be wrong.
 *
 * Run with the argument "conformance" it checks the real key sets in
 * CONFORMANCE_DIR instead, and skips when that folder is absent.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "encoding.h"
#include "json.h"
#include "jwk.h"

/* RFC 7517 appendix A.1: public keys. */
static const char a1_ec[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","
    "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\","
    "\"use\":\"enc\",\"kid\":\"1\"}";

#define RFC_RSA_N                                                           \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1R" \
	"K7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9y" \
	"BXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnY" \
	"b9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu" \
	"0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"

/* Also the example key of RFC 7638 section 3.1. */
static const char a1_rsa[] =
    "{\"kty\":\"RSA\",\"n\":\"" RFC_RSA_N "\",\"e\":\"AQAB\","
    "\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";

/* RFC 7517 appendix A.2: the same keys with their private parts. */
static const char a2_ec[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","
    "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\","
    "\"d\":\"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE\","
    "\"use\":\"enc\",\"kid\":\"1\"}";

static const char a2_rsa[] =
    "{\"kty\":\"RSA\",\"n\":\"" RFC_RSA_N "\",\"e\":\"AQAB\","
    "\"d\":\"X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoVH-HLLKD9M7d"
    "x5oo7GURknchnrRweUkC7hT5fJLM0WbFAKNLWY2vv7B6NqXSzUvxT0_"
    "YSfqijwp3RTzlBaCxWp4doFk5N2o8Gy_nHNKroADIkJ46pRUohsXywb"
    "ReAdYaMwFs9tv8d_cPVY3i07a3t8MN6TNwm0dSawm9v47UiCl3Sk5Zi"
    "G7xojPLu4sbg1U2jx4IBTNBznbJSzFHK66jT8bgkuqsk0GjskDJk19Z"
    "4qwjwbsnn4j2WBii3RL-Us2lGVkY8fkFzme1z0HbIkfz0Y6mqnOYtqc"
    "0X4jfcKoAC8Q\","
    "\"p\":\"83i-7IvMGXoMXCskv73TKr8637FiO7Z27zv8oj6pbWUQyLPQBQxtPVn"
    "wD20R-60eTDmD2ujnMt5PoqMrm8RfmNhVWDtjjMmCMjOpSXicFHj7XO"
    "uVIYQyqVWlWEh6dN36GVZYk93N8Bc9vY41xy8B9RzzOGVQzXvNEvn7O"
    "0nVbfs\","
    "\"q\":\"3dfOR9cuYq-0S-mkFLzgItgMEfFzB2q3hWehMuG0oCuqnb3vobLyumq"
    "jVZQO1dIrdwgTnCdpYzBcOfW5r370AFXjiWft_NGEiovonizhKpo9VV"
    "S78TzFgxkIdrecRezsZ-1kYd_s1qDbxtkDEgfAITAG9LUnADun4vIcb"
    "6yelxk\","
    "\"dp\":\"G4sPXkc6Ya9y8oJW9_ILj4xuppu0lzi_H7VTkS8xj5SdX3coE0oimY"
    "wxIi2emTAue0UOa5dpgFGyBJ4c8tQ2VF402XRugKDTP8akYhFo5tAA"
    "77Qe_NmtuYZc3C3m3I24G2GvR5sSDxUyAN2zq8Lfn9EUms6rY3Ob8Y"
    "eiKkTiBj0\","
    "\"dq\":\"s9lAH9fggBsoFR8Oac2R_E2gw282rT2kGOAhvIllETE1efrA6huUUv"
    "MfBcMpn8lqeW6vzznYY5SSQF7pMdC_agI3nG8Ibp1BUb0JUiraRNqU"
    "fLhcQb_d9GF4Dh7e74WbRsobRonujTYN1xCaP6TO61jvWrX-L18txX"
    "w494Q_cgk\","
    "\"qi\":\"GyM_p6JrXySiz1toFgKbWV-JdI3jQ4ypu9rbMWx3rQJBfmt0FoYzgU"
    "IZEVFEcOqwemRN81zoDAaa-Bk0KWNGDjJHZDdDmFhW3AN7lI-puxk_"
    "mHZGJ11rxyR8O55XLSe3SPmRfKwZI6yU24ZxvQKFYItdldUKGzO6Ia"
    "6zTKhAVRU\","
    "\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";

/* RFC 7517 appendix A.3: a 128-bit AES key and a 64-byte HMAC key. */
static const char a3_aes[] =
    "{\"kty\":\"oct\",\"alg\":\"A128KW\",\"k\":\"GawgguFyGrWKav7AX4VKUg\"}";
static const char a3_hmac[] =
    "{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1q"
    "S0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\","
    "\"kid\":\"HMAC key used in JWS A.1 example\"}";

/* RFC 7517 appendix B: an RSA key and its certificate (x5c). */
static const char b_rsa[] =
    "{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"1b94c\","
    "\"n\":\"vrjOfz9Ccdgx5nQudyhdoR17V-IubWMeOZCwX_jj0hgAsz2J_pqYW08PLbK"
    "_PdiVGKPrqzmDIsLI7sA25VEnHU1uCLNwBuUiCO11_-7dYbsr4iJmG0Qu2j"
    "8DsVyT1azpJC_NG84Ty5KKthuCaPod7iI7w0LK9orSMhBEwwZDCxTWq4aYW"
    "Achc8t-emd9qOvWtVMDC2BXksRngh6X5bUYLy6AyHKvj-nUy1wgzjYQDwHM"
    "TplCoLtU-o-8SNnZ1tmRoGE9uJkBLdh5gFENabWnU5m1ZqZPdwS-qo-meMv"
    "VfJb6jJVWRpl2SUtCnYG2C32qvbWbjZ_jBPD5eunqsIo1vQ\","
    "\"e\":\"AQAB\"}";

static const char b_x5c[] =
    "MIIDQjCCAiqgAwIBAgIGATz/FuLiMA0GCSqGSIb3DQEBBQUAMGIxCzAJ"
    "BgNVBAYTAlVTMQswCQYDVQQIEwJDTzEPMA0GA1UEBxMGRGVudmVyMRww"
    "GgYDVQQKExNQaW5nIElkZW50aXR5IENvcnAuMRcwFQYDVQQDEw5Ccmlh"
    "biBDYW1wYmVsbDAeFw0xMzAyMjEyMzI5MTVaFw0xODA4MTQyMjI5MTVa"
    "MGIxCzAJBgNVBAYTAlVTMQswCQYDVQQIEwJDTzEPMA0GA1UEBxMGRGVu"
    "dmVyMRwwGgYDVQQKExNQaW5nIElkZW50aXR5IENvcnAuMRcwFQYDVQQD"
    "Ew5CcmlhbiBDYW1wYmVsbDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCC"
    "AQoCggEBAL64zn8/QnHYMeZ0LncoXaEde1fiLm1jHjmQsF/449IYALM9"
    "if6amFtPDy2yvz3YlRij66s5gyLCyO7ANuVRJx1NbgizcAblIgjtdf/u"
    "3WG7K+IiZhtELto/A7Fck9Ws6SQvzRvOE8uSirYbgmj6He4iO8NCyvaK"
    "0jIQRMMGQwsU1quGmFgHIXPLfnpnfajr1rVTAwtgV5LEZ4Iel+W1GC8u"
    "gMhyr4/p1MtcIM42EA8BzE6ZQqC7VPqPvEjZ2dbZkaBhPbiZAS3YeYBR"
    "DWm1p1OZtWamT3cEvqqPpnjL1XyW+oyVVkaZdklLQp2Btgt9qr21m42f"
    "4wTw+Xrp6rCKNb0CAwEAATANBgkqhkiG9w0BAQUFAAOCAQEAh8zGlfSl"
    "cI0o3rYDPBB07aXNswb4ECNIKG0CETTUxmXl9KUL+9gGlqCz5iWLOgWs"
    "nrcKcY0vXPG9J1r9AqBNTqNgHq2G03X09266X5CpOe1zFo+Owb1zxtp3"
    "PehFdfQJ610CDLEaS9V9Rqp17hCyybEpOGVwe8fnk+fbEL2Bo3UPGrps"
    "HzUoaGpDftmWssZkhpBJKVMJyf/RuP2SmmaIzmnw9JiSlYhzo4tpzd5r"
    "FXhjRbg4zW9C+2qok+2+qDM1iJ684gPHMIY8aLWrdgQTxkumGmTqgawR"
    "+N5MDtdPTEQ0XfIBc2cJEUyMTY5MPvACWpkA6SdS4xSvdXK3IVfOWA==";

static int
parse(const char *text, unsigned flags, skr_key **k)
{
	return skr_jwk_parse_text(text, strlen(text), flags, k);
}

/* Parse text and drop the key; the result code only. */
static int
parse_rc(const char *text, unsigned flags)
{
	skr_key *k = NULL;
	int r;

	r = parse(text, flags, &k);
	CHECK((r == SKR_OK) == (k != NULL));
	skr_key_free(k);
	/* Failures leave nothing on OpenSSL's error queue. */
	CHECK(ERR_peek_error() == 0);
	return r;
}

static json_t *
load(const char *text)
{
	json_t *o = json_loads(text, 0, NULL);

	if (o == NULL) {
		fprintf(stderr, "bad fixture: %.40s\n", text);
		exit(1);
	}
	return o;
}

/* Parse o and drop the key. */
static int
parse_obj_rc(const json_t *o, unsigned flags)
{
	skr_key *k = NULL;
	int r;

	r = skr_jwk_parse(o, flags, &k);
	CHECK((r == SKR_OK) == (k != NULL));
	skr_key_free(k);
	CHECK(ERR_peek_error() == 0);
	return r;
}

/* Parse text after replacing member `name`'s value with `value` (a JSON
 * literal) or deleting it (value NULL). */
static int
parse_with(const char *text, const char *name, const char *value,
    unsigned flags)
{
	json_t *o = load(text), *v;
	int r;

	if (value == NULL)
		json_object_del(o, name);
	else {
		v = json_loads(value, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		CHECK(v != NULL);
		json_object_set_new(o, name, v);
	}
	r = parse_obj_rc(o, flags);
	json_decref(o);
	return r;
}

enum edit { PREPEND_ZERO, DROP_FIRST, FLIP_LAST, ZERO_ALL };

/* Parse text after editing the bytes of base64url member `name`. */
static int
parse_edited(const char *text, const char *name, enum edit how,
    unsigned flags)
{
	json_t *o = load(text);
	const char *s = json_string_value(json_object_get(o, name));
	skr_buf raw = SKR_BUF_INIT, b = SKR_BUF_INIT;
	int r;

	CHECK(s != NULL);
	if (how == PREPEND_ZERO)
		CHECK_OK(skr_buf_append_byte(&raw, 0));
	CHECK_OK(skr_b64url_decode(&raw, s, strlen(s)));
	CHECK(raw.len > 1);
	switch (how) {
	case DROP_FIRST:
		memmove(raw.data, raw.data + 1, --raw.len);
		break;
	case FLIP_LAST:
		raw.data[raw.len - 1] ^= 0x01;
		break;
	case ZERO_ALL:
		memset(raw.data, 0, raw.len);
		break;
	default:
		break;
	}
	CHECK_OK(skr_b64url_encode(&b, raw.data, raw.len));
	json_object_set_new(o, name, json_string(skr_buf_cstr(&b)));
	r = parse_obj_rc(o, flags);
	skr_buf_free(&raw);
	skr_buf_free(&b);
	json_decref(o);
	return r;
}

/* Emitted members equal the input's, ignoring the ones skr does not keep
 * (alg, use). */
static int
emits_input(const skr_key *k, const char *text, int with_private)
{
	json_t *in = load(text), *out = skr_jwk_emit(k, with_private);
	int eq;

	json_object_del(in, "alg");
	json_object_del(in, "use");
	eq = out != NULL && json_equal(in, out);
	if (!eq) {
		char *a = json_dumps(in, JSON_SORT_KEYS);
		char *b = out != NULL ? json_dumps(out, JSON_SORT_KEYS) : NULL;

		fprintf(stderr, "want %s\n got %s\n", a, b ? b : "(null)");
		free(a);
		free(b);
	}
	json_decref(in);
	json_decref(out);
	return eq;
}

static void
check_thumbprint(const skr_key *k, const char *want)
{
	uint8_t tp[EVP_MAX_MD_SIZE];
	size_t tplen = 0;
	skr_buf b = SKR_BUF_INIT;

	CHECK_OK(skr_jwk_thumbprint(k, EVP_sha256(), tp, &tplen));
	CHECK(tplen == 32);
	CHECK_OK(skr_b64url_encode(&b, tp, tplen));
	CHECK_STR(skr_buf_cstr(&b), want);
	skr_buf_free(&b);
}

/* RFC 7517 A.1 and A.2: parse, re-emit, thumbprints. */
static void
test_rfc7517_a1_a2(void)
{
	skr_key *ec = NULL, *rsa = NULL, *ecd = NULL, *rsad = NULL;

	CHECK_OK(parse(a1_ec, 0, &ec));
	CHECK_OK(parse(a1_rsa, 0, &rsa));
	CHECK_OK(parse(a2_ec, 0, &ecd));
	CHECK_OK(parse(a2_rsa, 0, &rsad));
	if (ec == NULL || rsa == NULL || ecd == NULL || rsad == NULL)
		goto out;

	CHECK(skr_key_kty(ec) == SKR_KTY_EC && skr_key_bits(ec) == 256);
	CHECK_STR(skr_key_crv(ec), "P-256");
	CHECK_STR(skr_key_kid(ec), "1");
	CHECK(!skr_key_has_private(ec) && skr_key_has_private(ecd));
	CHECK(skr_key_kty(rsa) == SKR_KTY_RSA && skr_key_bits(rsa) == 2048);
	CHECK(skr_key_crv(rsa) == NULL);
	CHECK_STR(skr_key_kid(rsa), "2011-04-29");
	CHECK(!skr_key_has_private(rsa) && skr_key_has_private(rsad));
	CHECK(skr_key_pkey(rsa) != NULL);

	CHECK(emits_input(ec, a1_ec, 0));
	CHECK(emits_input(rsa, a1_rsa, 0));
	CHECK(emits_input(ecd, a2_ec, 1));
	CHECK(emits_input(rsad, a2_rsa, 1));
	/* Without with_private the private members stay home. */
	CHECK(emits_input(ecd, a1_ec, 0));
	CHECK(emits_input(rsad, a1_rsa, 0));

	CHECK(skr_key_public_equal(ec, ecd));
	CHECK(skr_key_public_equal(rsa, rsad));
	CHECK(!skr_key_public_equal(ec, rsa));

	/* RFC 7638 section 3.1, and the same for the private key (private
	 * members, kid and alg are not part of a thumbprint). */
	check_thumbprint(rsa, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	check_thumbprint(rsad, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* SHA-256 of {"crv":"P-256","kty":"EC","x":"MKBC...","y":"4Etl..."},
	 * computed apart with openssl dgst. */
	check_thumbprint(ec, "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s");
	check_thumbprint(ecd, "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s");
	{
		uint8_t tp[EVP_MAX_MD_SIZE];
		size_t tplen = 0;

		CHECK_OK(skr_jwk_thumbprint(rsa, EVP_sha384(), tp, &tplen));
		CHECK(tplen == 48);
		CHECK_OK(skr_jwk_thumbprint(rsa, EVP_sha1(), tp, &tplen));
		CHECK(tplen == 20);
		CHECK_ERR(skr_jwk_thumbprint(rsa, NULL, tp, &tplen),
		    SKR_ERR_INVAL);
	}
out:
	skr_key_free(ec);
	skr_key_free(rsa);
	skr_key_free(ecd);
	skr_key_free(rsad);
}

/* RFC 7517 A.3: the AES key is accepted, the 64-byte HMAC key is not. */
static void
test_rfc7517_a3(void)
{
	static const uint8_t want[16] = {
		0x19, 0xac, 0x20, 0x82, 0xe1, 0x72, 0x1a, 0xb5,
		0x8a, 0x6a, 0xfe, 0xc0, 0x5f, 0x85, 0x4a, 0x52,
	};
	static const char canon[] = "{\"k\":\"GawgguFyGrWKav7AX4VKUg\","
	    "\"kty\":\"oct\"}";
	uint8_t tp[EVP_MAX_MD_SIZE], md[EVP_MAX_MD_SIZE];
	size_t tplen = 0;
	unsigned int mdlen = 0;
	skr_buf raw = SKR_BUF_INIT_SECRET;
	skr_key *k = NULL;
	json_t *o;

	CHECK_ERR(parse_rc(a3_hmac, 0), SKR_ERR_JWK_UNSUPPORTED);
	CHECK_OK(parse(a3_aes, 0, &k));
	if (k == NULL)
		return;
	CHECK(skr_key_kty(k) == SKR_KTY_OCT && skr_key_bits(k) == 128);
	CHECK(skr_key_has_private(k) && skr_key_pkey(k) == NULL);
	CHECK(skr_key_crv(k) == NULL);
	CHECK(emits_input(k, a3_aes, 1));
	o = skr_jwk_emit(k, 0);
	CHECK(o != NULL && json_object_get(o, "k") == NULL);
	CHECK_STR(json_string_value(json_object_get(o, "kty")), "oct");
	json_decref(o);
	CHECK_OK(skr_key_private_bytes(k, &raw));
	CHECK_MEM(raw.data, raw.len, want, sizeof(want));
	/* The thumbprint of an oct key covers k. */
	CHECK(EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(),
	    NULL) == 1);
	CHECK_OK(skr_jwk_thumbprint(k, EVP_sha256(), tp, &tplen));
	CHECK_MEM(tp, tplen, md, (size_t)mdlen);
	/* An oct key has no public form. */
	CHECK_ERR(parse_rc(a3_aes, SKR_JWK_PUBLIC), SKR_ERR_JWK_INVALID);
	CHECK_OK(parse_rc(a3_aes, SKR_JWK_REQUIRE_PRIVATE));
	{
		skr_buf pem = SKR_BUF_INIT;

		CHECK_ERR(skr_key_to_pem(k, 0, &pem), SKR_ERR_INVAL);
		CHECK_ERR(skr_key_public_spki_der(k, &pem), SKR_ERR_INVAL);
		CHECK(pem.len == 0);
		skr_buf_free(&pem);
	}
	skr_buf_free(&raw);
	skr_key_free(k);
}

/* RFC 7517 B: the x5c certificate carries the same key as n/e. */
static void
test_rfc7517_b(void)
{
	skr_buf der = SKR_BUF_INIT, pem = SKR_BUF_INIT, spki = SKR_BUF_INIT;
	skr_key *jwk = NULL, *cert = NULL, *cert2 = NULL, *other = NULL;
	const unsigned char *q;
	unsigned char *want = NULL;
	X509 *x = NULL;
	int wantlen;

	CHECK_OK(skr_b64_decode(&der, b_x5c, strlen(b_x5c)));
	CHECK_OK(parse(b_rsa, SKR_JWK_PUBLIC, &jwk));
	CHECK_OK(skr_key_from_x509_der(der.data, der.len, &cert));
	if (jwk == NULL || cert == NULL)
		goto out;
	CHECK(skr_key_kty(cert) == SKR_KTY_RSA && skr_key_bits(cert) == 2048);
	CHECK(!skr_key_has_private(cert));
	CHECK(skr_key_public_equal(jwk, cert));
	/* Emitted from the certificate: the appendix's n and e. */
	{
		json_t *in = load(b_rsa), *o = skr_jwk_emit(cert, 0);

		json_object_del(in, "kid");
		json_object_del(in, "use");
		CHECK(o != NULL && json_equal(in, o));
		json_decref(in);
		json_decref(o);
	}
	/* A different RSA key is not equal. */
	CHECK_OK(parse(a1_rsa, 0, &other));
	CHECK(other != NULL && !skr_key_public_equal(other, cert));

	/* SPKI DER: the certificate's own SubjectPublicKeyInfo bytes. */
	q = der.data;
	x = d2i_X509(NULL, &q, (long)der.len);
	CHECK(x != NULL);
	if (x != NULL) {
		wantlen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &want);
		CHECK(wantlen > 0);
		CHECK_OK(skr_key_public_spki_der(jwk, &spki));
		CHECK_MEM(spki.data, spki.len, want, (size_t)wantlen);
	}

	/* The same certificate in PEM. */
	CHECK_OK(skr_buf_append_str(&pem, "-----BEGIN CERTIFICATE-----\n"));
	for (size_t i = 0; i < strlen(b_x5c); i += 64) {
		size_t n = strlen(b_x5c) - i < 64 ? strlen(b_x5c) - i : 64;

		CHECK_OK(skr_buf_append(&pem, b_x5c + i, n));
		CHECK_OK(skr_buf_append_byte(&pem, '\n'));
	}
	CHECK_OK(skr_buf_append_str(&pem, "-----END CERTIFICATE-----\n"));
	CHECK_OK(skr_key_from_x509_pem((const char *)pem.data, pem.len,
	    &cert2));
	CHECK(cert2 != NULL && skr_key_public_equal(cert2, jwk));
	skr_key_free(cert2);
	cert2 = NULL;

	/* Hostile DER: trailing byte, truncated, empty, not a certificate. */
	CHECK_OK(skr_buf_append_byte(&der, 0));
	CHECK_ERR(skr_key_from_x509_der(der.data, der.len, &cert2),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(skr_key_from_x509_der(der.data, der.len - 2, &cert2),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(skr_key_from_x509_der(der.data, 0, &cert2),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(skr_key_from_x509_der(spki.data, spki.len, &cert2),
	    SKR_ERR_JWK_INVALID);
	{
		static const char bad[] = "-----BEGIN CERTIFICATE-----\nAAAA\n"
		    "-----END CERTIFICATE-----\n";

		CHECK_ERR(skr_key_from_x509_pem(bad, strlen(bad), &cert2),
		    SKR_ERR_JWK_INVALID);
	}
	CHECK_ERR(skr_key_from_x509_pem("", 0, &cert2), SKR_ERR_JWK_INVALID);
	CHECK(cert2 == NULL);
	CHECK(ERR_peek_error() == 0);
out:
	OPENSSL_free(want);
	X509_free(x);
	skr_key_free(jwk);
	skr_key_free(cert);
	skr_key_free(other);
	skr_buf_free(&der);
	skr_buf_free(&pem);
	skr_buf_free(&spki);
}

/* A self-signed certificate for pkey (test use only). */
static X509 *
self_signed(EVP_PKEY *pkey, const EVP_MD *md)
{
	X509 *x = X509_new();

	if (x == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) == NULL ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"skr test", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
	    X509_set_pubkey(x, pkey) != 1 ||
	    X509_sign(x, pkey, md) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static void
test_x509(void)
{
	EVP_PKEY *weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp384r1");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *x;
	unsigned char *der = NULL;
	int len;
	skr_key *k = NULL, *want = NULL;

	CHECK(weak != NULL && ec != NULL && ed != NULL);
	/* An RSA-1024 certificate (as in a real MAA /certs document). */
	CHECK((x = self_signed(weak, EVP_sha256())) != NULL);
	if (x != NULL) {
		len = i2d_X509(x, &der);
		CHECK_ERR(skr_key_from_x509_der(der, (size_t)len, &k),
		    SKR_ERR_KEY_WEAK);
		CHECK(k == NULL);
		OPENSSL_free(der);
		der = NULL;
		X509_free(x);
	}
	/* An EC P-384 certificate. */
	CHECK((x = self_signed(ec, EVP_sha256())) != NULL);
	if (x != NULL) {
		len = i2d_X509(x, &der);
		CHECK_OK(skr_key_from_x509_der(der, (size_t)len, &k));
		CHECK_OK(skr_key_from_pkey(ec, &want));
		CHECK(k != NULL && want != NULL && skr_key_public_equal(k, want));
		CHECK(k != NULL && !skr_key_has_private(k) &&
		    skr_key_bits(k) == 384);
		skr_key_free(k);
		skr_key_free(want);
		k = want = NULL;
		OPENSSL_free(der);
		der = NULL;
		X509_free(x);
	}
	/* A key type skr does not use. */
	/* Ed25519 signs without a separate digest. */
	CHECK((x = self_signed(ed, NULL)) != NULL);
	if (x != NULL) {
		len = i2d_X509(x, &der);
		CHECK_ERR(skr_key_from_x509_der(der, (size_t)len, &k),
		    SKR_ERR_JWK_UNSUPPORTED);
		OPENSSL_free(der);
		X509_free(x);
	}
	CHECK_ERR(skr_key_from_pkey(ed, &k), SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(skr_key_from_pkey(NULL, &k), SKR_ERR_INVAL);
	CHECK(ERR_peek_error() == 0);
	EVP_PKEY_free(weak);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ed);
}

static void
test_kv_exponent(void)
{
	skr_key *a = NULL, *b = NULL;
	json_t *o;

	/* Key Vault emits e as "AAEAAQ" (a leading zero octet). */
	CHECK_OK(parse(a1_rsa, SKR_JWK_PUBLIC, &a));
	o = load(a1_rsa);
	json_object_set_new(o, "e", json_string("AAEAAQ"));
	CHECK_OK(skr_jwk_parse(o, SKR_JWK_PUBLIC, &b));
	json_decref(o);
	CHECK(a != NULL && b != NULL && skr_key_public_equal(a, b));
	if (b != NULL) {
		/* Re-emitted and thumbprinted in the canonical form. */
		o = skr_jwk_emit(b, 0);
		CHECK_STR(json_string_value(json_object_get(o, "e")), "AQAB");
		json_decref(o);
		check_thumbprint(b,
		    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	}
	skr_key_free(a);
	skr_key_free(b);
	/* Leading zero octets on n too; bits are counted without them. */
	CHECK_OK(parse_edited(a1_rsa, "n", PREPEND_ZERO, 0));
	CHECK_OK(parse_with(a1_rsa, "kty", "\"RSA-HSM\"", 0));
	CHECK_OK(parse_with(a1_ec, "kty", "\"EC-HSM\"", 0));
	CHECK_OK(parse_with(a3_aes, "kty", "\"oct-HSM\"", 0));
}

/* Every required member missing, of the wrong type, empty, or not
 * base64url. */
static void
test_members(void)
{
	static const struct {
		const char *text, *member;
	} required[] = {
		{ a1_rsa, "kty" }, { a1_rsa, "n" }, { a1_rsa, "e" },
		{ a1_ec, "kty" }, { a1_ec, "crv" }, { a1_ec, "x" },
		{ a1_ec, "y" }, { a3_aes, "kty" }, { a3_aes, "k" },
	};
	static const struct {
		const char *text, *member;
	} b64[] = {
		{ a2_rsa, "n" }, { a2_rsa, "e" }, { a2_rsa, "d" },
		{ a2_rsa, "p" }, { a2_rsa, "q" }, { a2_rsa, "dp" },
		{ a2_rsa, "dq" }, { a2_rsa, "qi" }, { a2_ec, "x" },
		{ a2_ec, "y" }, { a2_ec, "d" }, { a3_aes, "k" },
	};
	static const char *const wrong_types[] = {
		"12", "null", "true", "[\"AQAB\"]", "{\"v\":\"AQAB\"}",
	};
	size_t i, j;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		CHECK_ERR(parse_with(required[i].text, required[i].member,
		    NULL, 0), SKR_ERR_JWK_INVALID);
	for (i = 0; i < sizeof(b64) / sizeof(b64[0]); i++) {
		const char *t = b64[i].text, *m = b64[i].member;
		json_t *o = load(t);
		char v[1200];
		int n;

		/* Wrong JSON types. */
		for (j = 0; j < sizeof(wrong_types) / sizeof(wrong_types[0]);
		    j++)
			CHECK_ERR(parse_with(t, m, wrong_types[j], 0),
			    SKR_ERR_JWK_INVALID);
		CHECK_ERR(parse_with(t, m, "\"\"", 0), SKR_ERR_JWK_INVALID);
		/* The value padded, in the standard alphabet, with a space
		 * or an invalid character. */
		n = snprintf(v, sizeof(v), "\"%s=\"",
		    json_string_value(json_object_get(o, m)));
		CHECK(n > 0 && (size_t)n < sizeof(v));
		CHECK_ERR(parse_with(t, m, v, 0), SKR_ERR_JWK_INVALID);
		n = snprintf(v, sizeof(v), "\"+%s\"",
		    json_string_value(json_object_get(o, m)) + 1);
		CHECK(n > 0 && (size_t)n < sizeof(v));
		CHECK_ERR(parse_with(t, m, v, 0), SKR_ERR_JWK_INVALID);
		n = snprintf(v, sizeof(v), "\"/%s\"",
		    json_string_value(json_object_get(o, m)) + 1);
		CHECK_ERR(parse_with(t, m, v, 0), SKR_ERR_JWK_INVALID);
		n = snprintf(v, sizeof(v), "\" %s\"",
		    json_string_value(json_object_get(o, m)) + 1);
		CHECK_ERR(parse_with(t, m, v, 0), SKR_ERR_JWK_INVALID);
		n = snprintf(v, sizeof(v), "\"%s\\u0000\"",
		    json_string_value(json_object_get(o, m)));
		CHECK_ERR(parse_with(t, m, v, 0), SKR_ERR_JWK_INVALID);
		json_decref(o);
	}
	/* Padding on a value whose length needs none (4 characters). */
	CHECK_ERR(parse_with(a1_rsa, "e", "\"AQAB==\"", 0),
	    SKR_ERR_JWK_INVALID);
	/* Non-zero trailing bits (RFC 4648 section 3.5). */
	CHECK_ERR(parse_with(a1_rsa, "e", "\"AQB\"", 0), SKR_ERR_JWK_INVALID);

	/* kty and crv: unknown names are unsupported, other types invalid. */
	CHECK_ERR(parse_with(a1_rsa, "kty", "\"OKP\"", 0),
	    SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(parse_with(a1_rsa, "kty", "\"rsa\"", 0),
	    SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(parse_with(a1_rsa, "kty", "\"\"", 0), SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(parse_with(a1_rsa, "kty", "[\"RSA\"]", 0),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(a1_rsa, "kty", "1", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(a1_ec, "crv", "\"P-192\"", 0),
	    SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(parse_with(a1_ec, "crv", "\"secp256k1\"", 0),
	    SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(parse_with(a1_ec, "crv", "\"p-256\"", 0),
	    SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(parse_with(a1_ec, "crv", "256", 0), SKR_ERR_JWK_INVALID);
	/* The curve must match the coordinates' length. */
	CHECK_ERR(parse_with(a1_ec, "crv", "\"P-384\"", 0),
	    SKR_ERR_JWK_INVALID);

	/* kid: a string without NUL; anything else is refused. */
	CHECK_ERR(parse_with(a1_rsa, "kid", "7", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(a1_rsa, "kid", "null", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(a1_rsa, "kid", "\"a\\u0000b\"", 0),
	    SKR_ERR_JWK_INVALID);
	CHECK_OK(parse_with(a1_rsa, "kid", "\"\"", 0));
	CHECK_OK(parse_with(a1_rsa, "kid", NULL, 0));

	/* Not an object, not JSON, duplicate members, trailing bytes. */
	CHECK_ERR(parse_rc("[]", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_rc("\"RSA\"", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_rc("", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_rc("{\"kty\":\"oct\",", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_rc("{\"kty\":\"oct\",\"k\":\"GawgguFyGrWKav7AX4VKUg\","
	    "\"k\":\"GawgguFyGrWKav7AX4VKUg\"}", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_rc("{\"kty\":\"oct\",\"k\":\"GawgguFyGrWKav7AX4VKUg\"}"
	    "{}", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_rc("{\"kty\":\"oct\",\"k\":\"GawgguFyGrWKav7AX4VKUg\","
	    "\"kid\":\"\xff\"}", 0), SKR_ERR_JWK_INVALID);
	{
		skr_key *k = NULL;

		CHECK_ERR(skr_jwk_parse(NULL, 0, &k), SKR_ERR_JWK_INVALID);
		CHECK(k == NULL);
	}
	/* Members skr does not know are ignored (RFC 7517 section 4). */
	CHECK_OK(parse_with(a1_rsa, "x5t", "\"whatever\"", 0));
	CHECK_OK(parse_with(a1_rsa, "key_ops", "[\"encrypt\"]", 0));
}

static void
test_rsa_values(void)
{
	EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	BIGNUM *n = NULL;
	uint8_t nb[1040];
	skr_buf b = SKR_BUF_INIT;
	json_t *o;
	int len;

	/* RSA-1024, generated here, with and without zero padding to 2048
	 * bits' worth of octets: weak either way. */
	CHECK(p != NULL && EVP_PKEY_get_bn_param(p, "n", &n) == 1);
	if (n != NULL) {
		CHECK(BN_bn2binpad(n, nb, 128) == 128);
		CHECK_OK(skr_b64url_encode(&b, nb, 128));
		o = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n",
		    skr_buf_cstr(&b), "e", "AQAB");
		CHECK_ERR(parse_obj_rc(o, SKR_JWK_PUBLIC), SKR_ERR_KEY_WEAK);
		json_decref(o);
		skr_buf_reset(&b);
		CHECK(BN_bn2binpad(n, nb, 256) == 256);
		CHECK_OK(skr_b64url_encode(&b, nb, 256));
		o = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n",
		    skr_buf_cstr(&b), "e", "AQAB");
		CHECK_ERR(parse_obj_rc(o, SKR_JWK_PUBLIC), SKR_ERR_KEY_WEAK);
		json_decref(o);
		skr_buf_reset(&b);
	}
	/* Over 8192 bits: unsupported before any arithmetic. */
	memset(nb, 0xab, sizeof(nb));
	CHECK_OK(skr_b64url_encode(&b, nb, 1032));
	o = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", skr_buf_cstr(&b),
	    "e", "AQAB");
	CHECK_ERR(parse_obj_rc(o, 0), SKR_ERR_JWK_UNSUPPORTED);
	json_decref(o);
	skr_buf_reset(&b);
	/* An even modulus. */
	CHECK_ERR(parse_edited(a1_rsa, "n", FLIP_LAST, 0), SKR_ERR_JWK_INVALID);
	/* A prime "modulus" (SP 800-56B: n must be composite). */
	{
		BIGNUM *prime = BN_new();

		CHECK(prime != NULL &&
		    BN_generate_prime_ex(prime, 2048, 0, NULL, NULL, NULL) == 1);
		len = BN_bn2binpad(prime, nb, 256);
		CHECK(len == 256);
		CHECK_OK(skr_b64url_encode(&b, nb, 256));
		o = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n",
		    skr_buf_cstr(&b), "e", "AQAB");
		CHECK_ERR(parse_obj_rc(o, 0), SKR_ERR_JWK_INVALID);
		json_decref(o);
		skr_buf_reset(&b);
		BN_free(prime);
	}
	/* Exponents: 3 and 65537 are fine; even, one, zero and huge are
	 * not. */
	CHECK_OK(parse_with(a1_rsa, "e", "\"Aw\"", 0));
	CHECK_ERR(parse_with(a1_rsa, "e", "\"AQAA\"", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(a1_rsa, "e", "\"Ag\"", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(a1_rsa, "e", "\"AQ\"", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(a1_rsa, "e", "\"AA\"", 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_with(a1_rsa, "e", "\"AAAA\"", 0), SKR_ERR_JWK_INVALID);
	CHECK_OK(parse_with(a1_rsa, "e", "\"__________8\"", 0));
	CHECK_ERR(parse_with(a1_rsa, "e", "\"AQAAAAAAAAAAAQ\"", 0),
	    SKR_ERR_JWK_INVALID);
	skr_buf_free(&b);
	BN_free(n);
	EVP_PKEY_free(p);
}

static void
test_rsa_private(void)
{
	static const char *const crt[] = { "p", "q", "dp", "dq", "qi" };
	skr_key *k = NULL;
	json_t *o;
	size_t i, j;

	/* Partial private sets: each CRT member missing in turn, d
	 * missing, d alone. */
	for (i = 0; i < 5; i++) {
		CHECK_ERR(parse_with(a2_rsa, crt[i], NULL, 0),
		    SKR_ERR_JWK_INVALID);
		/* A public-only parse does not look at them. */
		CHECK_OK(parse_with(a2_rsa, crt[i], NULL, SKR_JWK_PUBLIC));
	}
	CHECK_ERR(parse_with(a2_rsa, "d", NULL, 0), SKR_ERR_JWK_INVALID);
	o = load(a2_rsa);
	for (i = 0; i < 5; i++)
		json_object_del(o, crt[i]);
	CHECK_ERR(parse_obj_rc(o, 0), SKR_ERR_JWK_INVALID);
	json_object_del(o, "d");
	CHECK_OK(parse_obj_rc(o, 0));
	json_decref(o);
	/* Parts that do not belong together. */
	CHECK_ERR(parse_edited(a2_rsa, "d", FLIP_LAST, 0), SKR_ERR_JWK_INVALID);
	for (i = 0; i < 5; i++)
		CHECK_ERR(parse_edited(a2_rsa, crt[i], FLIP_LAST, 0),
		    SKR_ERR_JWK_INVALID);
	/* p and q swapped (dp, dq and qi then disagree). */
	o = load(a2_rsa);
	{
		json_t *p = json_incref(json_object_get(o, "p"));
		json_t *q = json_incref(json_object_get(o, "q"));

		json_object_set_new(o, "p", q);
		json_object_set_new(o, "q", p);
	}
	CHECK_ERR(parse_obj_rc(o, 0), SKR_ERR_JWK_INVALID);
	json_decref(o);
	/* The private key's public part must be the one in n. */
	o = load(a2_rsa);
	{
		json_t *b = load(b_rsa);

		json_object_set(o, "n", json_object_get(b, "n"));
		json_decref(b);
	}
	CHECK_ERR(parse_obj_rc(o, 0), SKR_ERR_JWK_INVALID);
	json_decref(o);

	/* Multi-prime keys are not supported (their public part is fine). */
	CHECK_ERR(parse_with(a2_rsa, "oth", "[]", 0), SKR_ERR_JWK_UNSUPPORTED);
	CHECK_OK(parse_with(a2_rsa, "oth", "[]", SKR_JWK_PUBLIC));

	/* Flags. */
	CHECK_OK(parse(a2_rsa, SKR_JWK_PUBLIC, &k));
	CHECK(k != NULL && !skr_key_has_private(k));
	skr_key_free(k);
	CHECK_OK(parse_rc(a2_rsa, SKR_JWK_REQUIRE_PRIVATE));
	CHECK_ERR(parse_rc(a1_rsa, SKR_JWK_REQUIRE_PRIVATE),
	    SKR_ERR_KEY_NO_PRIVATE);
	CHECK_ERR(parse_rc(a2_rsa, SKR_JWK_PUBLIC | SKR_JWK_REQUIRE_PRIVATE),
	    SKR_ERR_KEY_NO_PRIVATE);
	/* Leading zero octets on the private members are tolerated as on
	 * n and e (the values are the same). */
	for (j = 0; j < 5; j++)
		CHECK_OK(parse_edited(a2_rsa, crt[j], PREPEND_ZERO, 0));
}

static void
test_ec_values(void)
{
	skr_key *g = NULL, *k = NULL;
	json_t *o = NULL;
	skr_buf x = SKR_BUF_INIT;
	char *text = NULL;
	int i;

	/* x, y and d of one byte more (a leading zero: the same value) or
	 * one byte less than the field. */
	CHECK_OK(parse_rc(a2_ec, 0));
	CHECK_ERR(parse_edited(a2_ec, "x", PREPEND_ZERO, 0),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_edited(a2_ec, "y", PREPEND_ZERO, 0),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_edited(a2_ec, "d", PREPEND_ZERO, 0),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_edited(a2_ec, "x", DROP_FIRST, 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_edited(a2_ec, "y", DROP_FIRST, 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_edited(a2_ec, "d", DROP_FIRST, 0), SKR_ERR_JWK_INVALID);
	/* Points off the curve; d not matching the point, or zero. */
	CHECK_ERR(parse_edited(a1_ec, "y", FLIP_LAST, 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_edited(a1_ec, "x", FLIP_LAST, 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_edited(a1_ec, "x", ZERO_ALL, 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_edited(a2_ec, "d", FLIP_LAST, 0), SKR_ERR_JWK_INVALID);
	CHECK_ERR(parse_edited(a2_ec, "d", ZERO_ALL, 0), SKR_ERR_JWK_INVALID);
	/* d is only read for a private parse. */
	CHECK_OK(parse_edited(a2_ec, "d", FLIP_LAST, SKR_JWK_PUBLIC));
	CHECK_ERR(parse_rc(a1_ec, SKR_JWK_REQUIRE_PRIVATE),
	    SKR_ERR_KEY_NO_PRIVATE);
	CHECK_OK(parse_rc(a2_ec, SKR_JWK_REQUIRE_PRIVATE));

	/* A key whose x starts with a zero octet: emitted at full length,
	 * and the same x without that octet (31 bytes) is refused. */
	for (i = 0; i < 20000 && text == NULL; i++) {
		if (skr_key_generate(SKR_KTY_EC, 256, &g) != SKR_OK)
			break;
		o = skr_jwk_emit(g, 0);
		skr_buf_reset(&x);
		CHECK_OK(skr_b64url_decode(&x,
		    json_string_value(json_object_get(o, "x")),
		    json_string_length(json_object_get(o, "x"))));
		CHECK(x.len == 32);
		if (x.len == 32 && x.data[0] == 0)
			text = json_dumps(o, 0);
		json_decref(o);
		if (text == NULL) {
			skr_key_free(g);
			g = NULL;
		}
	}
	CHECK(text != NULL);
	if (text != NULL) {
		CHECK_OK(parse(text, 0, &k));
		CHECK(k != NULL && skr_key_public_equal(g, k));
		CHECK_ERR(parse_edited(text, "x", DROP_FIRST, 0),
		    SKR_ERR_JWK_INVALID);
	}
	free(text);
	skr_key_free(k);
	skr_key_free(g);
	skr_buf_free(&x);
}

static void
test_oct_values(void)
{
	static const size_t ok[] = { 16, 24, 32 };
	static const size_t bad[] = { 1, 15, 17, 20, 31, 33, 48, 64 };
	uint8_t raw[64];
	skr_buf b = SKR_BUF_INIT;
	json_t *o;
	size_t i;

	memset(raw, 0x5a, sizeof(raw));
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		skr_buf_reset(&b);
		CHECK_OK(skr_b64url_encode(&b, raw, ok[i]));
		o = json_pack("{s:s,s:s}", "kty", "oct", "k", skr_buf_cstr(&b));
		CHECK_OK(parse_obj_rc(o, 0));
		json_decref(o);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		skr_buf_reset(&b);
		CHECK_OK(skr_b64url_encode(&b, raw, bad[i]));
		o = json_pack("{s:s,s:s}", "kty", "oct", "k", skr_buf_cstr(&b));
		CHECK_ERR(parse_obj_rc(o, 0), SKR_ERR_JWK_UNSUPPORTED);
		json_decref(o);
	}
	skr_buf_free(&b);
}

/* Generate, then every byte form back again. */
static void
roundtrip(skr_kty kty, int bits)
{
	skr_key *k = NULL, *k2 = NULL, *k3 = NULL;
	skr_buf der = SKR_BUF_INIT_SECRET, pem = SKR_BUF_INIT_SECRET;
	skr_buf plain = SKR_BUF_INIT, spki = SKR_BUF_INIT;
	const unsigned char *q;
	EVP_PKEY *ref;
	json_t *jwk;

	CHECK_OK(skr_key_generate(kty, bits, &k));
	if (k == NULL)
		return;
	CHECK(skr_key_kty(k) == kty && skr_key_bits(k) == bits);
	CHECK(skr_key_has_private(k));
	CHECK(skr_key_kid(k) == NULL);

	/* Private bytes: PKCS#8 any DER reader takes, or the raw key. */
	CHECK_ERR(skr_key_private_bytes(k, &plain), SKR_ERR_INVAL);
	CHECK(plain.len == 0);
	CHECK_OK(skr_key_private_bytes(k, &der));
	if (kty == SKR_KTY_OCT) {
		jwk = skr_jwk_emit(k, 1);
		skr_buf_reset(&plain);
		CHECK_OK(skr_b64url_decode(&plain,
		    json_string_value(json_object_get(jwk, "k")),
		    json_string_length(json_object_get(jwk, "k"))));
		CHECK_MEM(der.data, der.len, plain.data, plain.len);
		CHECK(der.len == (size_t)bits / 8);
		json_decref(jwk);
		skr_buf_reset(&plain);
	} else {
		q = der.data;
		ref = d2i_AutoPrivateKey(NULL, &q, (long)der.len);
		CHECK(ref != NULL && q == der.data + der.len);
		CHECK(ref != NULL && EVP_PKEY_eq(ref, skr_key_pkey(k)) == 1);
		EVP_PKEY_free(ref);
	}
	CHECK_OK(skr_key_from_private_bytes(kty, der.data, der.len, &k2));
	CHECK(k2 != NULL && skr_key_public_equal(k, k2) &&
	    skr_key_has_private(k2));
	skr_key_free(k2);
	k2 = NULL;

	if (kty != SKR_KTY_OCT) {
		/* Refused: trailing byte, truncated, wrong kty, public key
		 * DER. */
		CHECK_OK(skr_buf_append_byte(&der, 0));
		CHECK_ERR(skr_key_from_private_bytes(kty, der.data, der.len,
		    &k2), SKR_ERR_JWK_INVALID);
		CHECK_ERR(skr_key_from_private_bytes(kty, der.data,
		    der.len - 2, &k2), SKR_ERR_JWK_INVALID);
		CHECK_ERR(skr_key_from_private_bytes(kty == SKR_KTY_RSA ?
		    SKR_KTY_EC : SKR_KTY_RSA, der.data, der.len - 1, &k2),
		    SKR_ERR_JWK_INVALID);
		CHECK_ERR(skr_key_from_private_bytes(SKR_KTY_OCT, der.data,
		    der.len - 1, &k2), SKR_ERR_JWK_UNSUPPORTED);
		CHECK_OK(skr_key_public_spki_der(k, &spki));
		CHECK_ERR(skr_key_from_private_bytes(kty, spki.data, spki.len,
		    &k2), SKR_ERR_JWK_INVALID);
		CHECK(k2 == NULL);

		/* SPKI DER reads back as the same public key. */
		q = spki.data;
		ref = d2i_PUBKEY(NULL, &q, (long)spki.len);
		CHECK(ref != NULL && q == spki.data + spki.len);
		CHECK(ref != NULL && EVP_PKEY_eq(ref, skr_key_pkey(k)) == 1);
		EVP_PKEY_free(ref);

		/* PEM, private and public. */
		CHECK_OK(skr_key_to_pem(k, 1, &pem));
		CHECK(strstr(skr_buf_cstr(&pem),
		    "-----BEGIN PRIVATE KEY-----") != NULL);
		CHECK_OK(skr_key_from_pem((const char *)pem.data, pem.len,
		    &k3));
		CHECK(k3 != NULL && skr_key_public_equal(k, k3) &&
		    skr_key_has_private(k3));
		skr_key_free(k3);
		k3 = NULL;
		skr_buf_reset(&pem);
		CHECK_OK(skr_key_to_pem(k, 0, &pem));
		CHECK(strstr(skr_buf_cstr(&pem),
		    "-----BEGIN PUBLIC KEY-----") != NULL);
		CHECK_OK(skr_key_from_pem((const char *)pem.data, pem.len,
		    &k3));
		CHECK(k3 != NULL && !skr_key_has_private(k3) &&
		    skr_key_public_equal(k, k3));
		/* A public-only key has no private forms. */
		if (k3 != NULL) {
			skr_buf_reset(&pem);
			CHECK_ERR(skr_key_to_pem(k3, 1, &pem),
			    SKR_ERR_KEY_NO_PRIVATE);
			CHECK_ERR(skr_key_private_bytes(k3, &pem),
			    SKR_ERR_KEY_NO_PRIVATE);
			CHECK(pem.len == 0);
		}
		skr_key_free(k3);
		k3 = NULL;
	}

	/* The JWK with private members round-trips too. */
	jwk = skr_jwk_emit(k, 1);
	CHECK(jwk != NULL);
	if (kty == SKR_KTY_RSA)
		CHECK_STR(json_string_value(json_object_get(jwk, "e")), "AQAB");
	CHECK_OK(skr_jwk_parse(jwk, SKR_JWK_REQUIRE_PRIVATE, &k3));
	CHECK(k3 != NULL && skr_key_public_equal(k, k3));
	json_decref(jwk);
	CHECK(ERR_peek_error() == 0);
	skr_key_free(k3);
	skr_key_free(k);
	skr_buf_free(&der);
	skr_buf_free(&pem);
	skr_buf_free(&plain);
	skr_buf_free(&spki);
}

static void
test_generate(void)
{
	static const struct {
		skr_kty kty;
		int bits;
	} bad[] = {
		{ SKR_KTY_RSA, 1024 }, { SKR_KTY_RSA, 2047 },
		{ SKR_KTY_RSA, 8192 }, { SKR_KTY_RSA, 256 },
		{ SKR_KTY_EC, 224 }, { SKR_KTY_EC, 2048 }, { SKR_KTY_EC, 0 },
		{ SKR_KTY_OCT, 512 }, { SKR_KTY_OCT, 160 }, { SKR_KTY_OCT, -1 },
		{ SKR_KTY_NONE, 256 }, { (skr_kty)42, 256 },
	};
	skr_key *k = NULL, *other = NULL;
	size_t i;

	roundtrip(SKR_KTY_RSA, 2048);
	roundtrip(SKR_KTY_RSA, 3072);
	roundtrip(SKR_KTY_RSA, 4096);
	roundtrip(SKR_KTY_EC, 256);
	roundtrip(SKR_KTY_EC, 384);
	roundtrip(SKR_KTY_EC, 521);
	roundtrip(SKR_KTY_OCT, 128);
	roundtrip(SKR_KTY_OCT, 192);
	roundtrip(SKR_KTY_OCT, 256);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERR(skr_key_generate(bad[i].kty, bad[i].bits, &k),
		    SKR_ERR_JWK_UNSUPPORTED);
		CHECK(k == NULL);
	}

	/* Two generated keys differ; public_equal across types and
	 * sizes is false. */
	CHECK_OK(skr_key_generate(SKR_KTY_OCT, 256, &k));
	CHECK_OK(skr_key_generate(SKR_KTY_OCT, 256, &other));
	CHECK(k != NULL && other != NULL && !skr_key_public_equal(k, other));
	CHECK(k != NULL && skr_key_public_equal(k, k));
	skr_key_free(other);
	CHECK_OK(skr_key_generate(SKR_KTY_OCT, 128, &other));
	CHECK(other != NULL && !skr_key_public_equal(k, other));
	skr_key_free(other);
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &other));
	CHECK(other != NULL && !skr_key_public_equal(k, other) &&
	    !skr_key_public_equal(other, k));
	skr_key_free(k);
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 384, &k));
	CHECK(k != NULL && !skr_key_public_equal(k, other));
	skr_key_free(k);
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &k));
	CHECK(k != NULL && !skr_key_public_equal(k, other));
	CHECK_STR(skr_key_crv(other), "P-256");
	skr_key_free(k);
	skr_key_free(other);
	CHECK(ERR_peek_error() == 0);
}

static void
test_byte_forms(void)
{
	static const uint8_t sixteen[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	    11, 12, 13, 14, 15, 16 };
	EVP_PKEY *weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	unsigned char *der = NULL;
	skr_buf pem = SKR_BUF_INIT, raw = SKR_BUF_INIT_SECRET;
	skr_key *k = NULL;
	BIO *bio;
	BUF_MEM *mem;
	int len;

	CHECK(weak != NULL && ec != NULL && k1 != NULL);
	/* oct raw bytes of each size; others unsupported. */
	CHECK_OK(skr_key_from_private_bytes(SKR_KTY_OCT, sixteen, 16, &k));
	CHECK(k != NULL && skr_key_bits(k) == 128);
	CHECK_OK(skr_key_private_bytes(k, &raw));
	CHECK_MEM(raw.data, raw.len, sixteen, sizeof(sixteen));
	skr_key_free(k);
	k = NULL;
	CHECK_ERR(skr_key_from_private_bytes(SKR_KTY_OCT, sixteen, 15, &k),
	    SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(skr_key_from_private_bytes(SKR_KTY_OCT, sixteen, 0, &k),
	    SKR_ERR_JWK_UNSUPPORTED);
	CHECK_ERR(skr_key_from_private_bytes(SKR_KTY_RSA, sixteen, 0, &k),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(skr_key_from_private_bytes(SKR_KTY_EC, sixteen, 16, &k),
	    SKR_ERR_JWK_INVALID);
	CHECK_ERR(skr_key_from_private_bytes(SKR_KTY_NONE, sixteen, 16, &k),
	    SKR_ERR_JWK_UNSUPPORTED);
	CHECK(k == NULL);

	/* PKCS#8 of RSA-1024 and of a curve skr does not use. */
	{
		PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(weak);

		len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
		CHECK(len > 0);
		CHECK_ERR(skr_key_from_private_bytes(SKR_KTY_RSA, der,
		    (size_t)len, &k), SKR_ERR_KEY_WEAK);
		OPENSSL_free(der);
		der = NULL;
		PKCS8_PRIV_KEY_INFO_free(p8);
		p8 = EVP_PKEY2PKCS8(k1);
		len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
		CHECK(len > 0);
		CHECK_ERR(skr_key_from_private_bytes(SKR_KTY_EC, der,
		    (size_t)len, &k), SKR_ERR_JWK_UNSUPPORTED);
		OPENSSL_free(der);
		der = NULL;
		PKCS8_PRIV_KEY_INFO_free(p8);
	}

	/* PEM: weak RSA refused; an encrypted PEM refused without asking
	 * for a passphrase; garbage refused. */
	bio = BIO_new(BIO_s_mem());
	CHECK(PEM_write_bio_PUBKEY(bio, weak) == 1);
	BIO_get_mem_ptr(bio, &mem);
	CHECK_ERR(skr_key_from_pem(mem->data, mem->length, &k),
	    SKR_ERR_KEY_WEAK);
	BIO_free(bio);
	bio = BIO_new(BIO_s_mem());
	CHECK(PEM_write_bio_PKCS8PrivateKey(bio, ec, EVP_aes_256_cbc(),
	    "secret", 6, NULL, NULL) == 1);
	BIO_get_mem_ptr(bio, &mem);
	CHECK(strstr(mem->data, "ENCRYPTED") != NULL);
	CHECK_ERR(skr_key_from_pem(mem->data, mem->length, &k),
	    SKR_ERR_JWK_INVALID);
	BIO_free(bio);
	{
		static const char bad[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n"
		    "-----END PRIVATE KEY-----\n";

		CHECK_ERR(skr_key_from_pem(bad, strlen(bad), &k),
		    SKR_ERR_JWK_INVALID);
	}
	CHECK_ERR(skr_key_from_pem("not a pem", 9, &k), SKR_ERR_JWK_INVALID);
	CHECK_ERR(skr_key_from_pem("", 0, &k), SKR_ERR_JWK_INVALID);
	CHECK(k == NULL);
	CHECK(ERR_peek_error() == 0);

	/* from_pkey takes its own reference. */
	CHECK_OK(skr_key_from_pkey(ec, &k));
	CHECK(k != NULL && skr_key_pkey(k) == ec && skr_key_has_private(k));
	EVP_PKEY_free(ec);
	ec = NULL;
	if (k != NULL) {
		CHECK(skr_key_bits(k) == 256);
		/* kid: set, replace, clear. */
		CHECK_OK(skr_key_set_kid(k, "one"));
		CHECK_OK(skr_key_set_kid(k, "two"));
		CHECK_STR(skr_key_kid(k), "two");
		CHECK_OK(skr_key_set_kid(k, NULL));
		CHECK(skr_key_kid(k) == NULL);
	}
	skr_key_free(k);
	skr_key_free(NULL);
	skr_buf_free(&pem);
	skr_buf_free(&raw);
	EVP_PKEY_free(weak);
	EVP_PKEY_free(k1);
}

static void
test_kty_names(void)
{
	CHECK(skr_kty_parse("RSA") == SKR_KTY_RSA);
	CHECK(skr_kty_parse("RSA-HSM") == SKR_KTY_RSA);
	CHECK(skr_kty_parse("EC") == SKR_KTY_EC);
	CHECK(skr_kty_parse("EC-HSM") == SKR_KTY_EC);
	CHECK(skr_kty_parse("oct") == SKR_KTY_OCT);
	CHECK(skr_kty_parse("oct-HSM") == SKR_KTY_OCT);
	CHECK(skr_kty_parse("rsa") == SKR_KTY_NONE);
	CHECK(skr_kty_parse("OCT") == SKR_KTY_NONE);
	CHECK(skr_kty_parse("RSA-HSM ") == SKR_KTY_NONE);
	CHECK(skr_kty_parse("") == SKR_KTY_NONE);
	CHECK(skr_kty_parse(NULL) == SKR_KTY_NONE);
	CHECK_STR(skr_kty_name(SKR_KTY_RSA, 0), "RSA");
	CHECK_STR(skr_kty_name(SKR_KTY_EC, 1), "EC-HSM");
	CHECK_STR(skr_kty_name(SKR_KTY_OCT, 0), "oct");
	CHECK_STR(skr_kty_name(SKR_KTY_OCT, 1), "oct-HSM");
}

/* ---- conformance: real Azure Attestation key sets ---------------------- */

#ifndef CONFORMANCE_DIR
#define CONFORMANCE_DIR "../shared/conformance"
#endif

static json_t *
load_file(const char *name)
{
	char path[1024];
	json_t *v;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", CONFORMANCE_DIR, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	v = json_load_file(path, 0, NULL);
	return v;
}

static int
test_conformance(void)
{
	json_t *jwks, *certs, *e;
	skr_buf der = SKR_BUF_INIT;
	skr_key *k;
	size_t i;
	int ok = 0, weak = 0;

	jwks = load_file("maa-weu-jwks.json");
	certs = load_file("maa-eus-certs.json");
	if (jwks == NULL || certs == NULL) {
		json_decref(jwks);
		json_decref(certs);
		check_skip("conformance fixtures not found");
	}
	/* The signing key of the CVM token, as n/e. */
	json_array_foreach(json_object_get(jwks, "keys"), i, e) {
		k = NULL;
		CHECK_OK(skr_jwk_parse(e, SKR_JWK_PUBLIC, &k));
		CHECK(k != NULL && skr_key_kty(k) == SKR_KTY_RSA &&
		    skr_key_bits(k) >= 2048);
		skr_key_free(k);
	}
	/* The /certs document: keys only as x5c; one of them RSA-1024. */
	json_array_foreach(json_object_get(certs, "keys"), i, e) {
		const char *c = json_string_value(json_array_get(
		    json_object_get(e, "x5c"), 0));

		CHECK(c != NULL);
		if (c == NULL)
			continue;
		skr_buf_reset(&der);
		CHECK_OK(skr_b64_decode(&der, c, strlen(c)));
		k = NULL;
		switch (skr_key_from_x509_der(der.data, der.len, &k)) {
		case SKR_OK:
			ok++;
			CHECK(skr_key_kty(k) == SKR_KTY_RSA);
			break;
		case SKR_ERR_KEY_WEAK:
			weak++;
			break;
		default:
			CHECK(!"unexpected x5c result");
		}
		skr_key_free(k);
	}
	CHECK(ok == 2 && weak == 1);
	CHECK(ERR_peek_error() == 0);
	skr_buf_free(&der);
	json_decref(jwks);
	json_decref(certs);
	return check_done();
}

/* Which JWKs say they are for encryption (a token's wrapping key). */
static void
test_encrypts(void)
{
	static const struct {
		const char *jwk;
		int want;
	} cases[] = {
		{ "{\"use\":\"enc\"}", 1 },
		{ "{\"key_ops\":[\"wrapKey\",\"encrypt\"]}", 1 },
		{ "{\"use\":\"sig\",\"key_ops\":[\"encrypt\"]}", 1 },
		{ "{}", 0 },
		{ "{\"use\":\"sig\"}", 0 },
		{ "{\"use\":\"ENC\"}", 0 },
		{ "{\"use\":[\"enc\"]}", 0 },
		{ "{\"key_ops\":\"encrypt\"}", 0 },
		{ "{\"key_ops\":[\"decrypt\",7,null]}", 0 },
	};
	json_t *j;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = json_loads(cases[i].jwk, 0, NULL);
		CHECK(j != NULL);
		CHECK(skr_jwk_json_encrypts(j) == cases[i].want);
		json_decref(j);
	}
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "conformance") == 0)
		return test_conformance();
	test_rfc7517_a1_a2();
	test_rfc7517_a3();
	test_rfc7517_b();
	test_x509();
	test_kv_exponent();
	test_members();
	test_rsa_values();
	test_rsa_private();
	test_ec_values();
	test_oct_values();
	test_generate();
	test_byte_forms();
	test_kty_names();
	test_encrypts();
	return check_done();
}
