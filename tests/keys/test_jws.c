/* Unit tests: compact JWS.  RFC 7515 appendix A.2 (RS256), A.3 (ES256) and
 * A.4 (ES512) vectors, all nine algorithms, every refusal, and a cross-check
 * against libjwt as an independent implementation. */
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "check.h"
#include "encoding.h"
#include "jwk.h"
#include "jws.h"

static const char a2_jwk[] =
    "{\"kty\":\"RSA\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8"
    "W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_Yp"
    "RPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA"
    "9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5Ih"
    "lJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyu"
    "XpoQ\",\"e\":\"AQAB\"}";
static const char a2_token[] =
    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0"
    "dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB_"
    "_dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9u"
    "JdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNP"
    "vkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc"
    "6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmt"
    "VrBp0igcN_IoypGlUPQGe77Rw";
static const char a3_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
static const char a3_token[] =
    "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0"
    "dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-"
    "Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
static const char a4_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJX"
    "mPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk\",\"y\":\"ADSmRA"
    "43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf"
    "63e3kyMj2\"}";
static const char a4_token[] =
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi"
    "70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCP"
    "EX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

static skr_key *
jwk(const char *text)
{
	skr_key *k = NULL;

	CHECK_OK(skr_jwk_parse_text(text, strlen(text), SKR_JWK_PUBLIC, &k));
	return k;
}

static int
verify(const char *token, skr_key *key, unsigned allowed)
{
	skr_jws jws;
	int r;

	if ((r = skr_jws_parse(token, strlen(token), 0, &jws)) != SKR_OK)
		return r;
	r = skr_jws_verify(&jws, skr_key_pkey(key), allowed);
	skr_jws_clear(&jws);
	return r;
}

static char *
compact(const char *header, const char *payload, const char *sig)
{
	skr_buf b = SKR_BUF_INIT;

	skr_b64url_encode(&b, (const uint8_t *)header, strlen(header));
	skr_buf_append_byte(&b, '.');
	skr_b64url_encode(&b, (const uint8_t *)payload, strlen(payload));
	skr_buf_append_byte(&b, '.');
	skr_buf_append_str(&b, sig);
	return (char *)skr_buf_steal(&b, NULL);
}

static void
test_rfc7515(void)
{
	skr_key *rsa = jwk(a2_jwk), *p256 = jwk(a3_jwk), *p521 = jwk(a4_jwk);
	skr_jws jws;
	char *t;

	if (!rsa || !p256 || !p521)
		goto out;
	CHECK_OK(verify(a2_token, rsa, 0));
	CHECK_OK(verify(a3_token, p256, 0));
	CHECK_OK(verify(a4_token, p521, 0));
	CHECK_OK(skr_jws_parse(a2_token, strlen(a2_token), 0, &jws));
	CHECK(jws.alg == SKR_ALG_RS256);
	CHECK_STR(json_string_value(json_object_get(jws.payload, "iss")), "joe");
	skr_jws_clear(&jws);
	/* The raw parse leaves a JSON payload as bytes, and still verifies. */
	CHECK_OK(skr_jws_parse_raw(a2_token, strlen(a2_token), 0, &jws));
	CHECK(jws.payload == NULL && jws.payload_raw.len > 0 &&
	    jws.payload_raw.data[0] == '{');
	CHECK_OK(skr_jws_verify(&jws, skr_key_pkey(rsa), 0));
	skr_jws_clear(&jws);
	CHECK_ERR(skr_jws_parse_raw("e30.e30", 7, 0, &jws),
	    SKR_ERR_JWS_MALFORMED);
	/* A4's payload is not JSON: kept raw, no object. */
	CHECK_OK(skr_jws_parse(a4_token, strlen(a4_token), 0, &jws));
	CHECK(jws.payload == NULL);
	CHECK_MEM(jws.payload_raw.data, jws.payload_raw.len, "Payload", 7);
	skr_jws_clear(&jws);

	/* Wrong key families and curves: the key decides. */
	CHECK_ERR(verify(a2_token, p256, 0), SKR_ERR_JWS_ALG);
	CHECK_ERR(verify(a3_token, rsa, 0), SKR_ERR_JWS_ALG);
	CHECK_ERR(verify(a3_token, p521, 0), SKR_ERR_JWS_ALG);
	CHECK_ERR(verify(a2_token, rsa, SKR_ALG_BIT(SKR_ALG_PS256)),
	    SKR_ERR_JWS_ALG);
	/* One changed character of the payload, or of the signature. */
	/* Another payload under the original signature. */
	t = compact("{\"alg\":\"RS256\"}", "{\"iss\":\"joe\",\"exp\":1300819380}",
	    strrchr(a2_token, '.') + 1);
	CHECK_ERR(verify(t, rsa, 0), SKR_ERR_JWS_SIGNATURE);
	free(t);
	t = strdup(a2_token);
	t[strlen(t) - 2] = t[strlen(t) - 2] == 'R' ? 'S' : 'R';
	CHECK_ERR(verify(t, rsa, 0), SKR_ERR_JWS_SIGNATURE);
	/* Truncated (by 4 bytes) and extended signatures. */
	t[strlen(t) - 6] = '\0';
	CHECK_ERR(verify(t, rsa, 0), SKR_ERR_JWS_SIGNATURE);
	free(t);
	t = malloc(strlen(a3_token) + 8);
	strcpy(t, a3_token);
	strcat(t, "AAAA");
	CHECK_ERR(verify(t, p256, 0), SKR_ERR_JWS_SIGNATURE);
	free(t);
out:
	skr_key_free(rsa);
	skr_key_free(p256);
	skr_key_free(p521);
}

static void
expect_parse(const char *header, const char *payload, const char *sig,
    int want)
{
	char *t = compact(header, payload, sig);
	skr_jws jws;

	CHECK_ERR(skr_jws_parse(t, strlen(t), 0, &jws), want);
	if (want == SKR_OK)
		skr_jws_clear(&jws);
	free(t);
}

static void
test_malformed(void)
{
	skr_jws jws;
	char big[300];

	/* none (signed or not), HMAC, unknown and wrongly cased algs. */
	expect_parse("{\"alg\":\"none\"}", "{}", "", SKR_ERR_JWS_ALG);
	expect_parse("{\"alg\":\"none\"}", "{}", "AAAA", SKR_ERR_JWS_ALG);
	expect_parse("{\"alg\":\"HS256\"}", "{}", "AAAA", SKR_ERR_JWS_ALG);
	expect_parse("{\"alg\":\"rs256\"}", "{}", "AAAA", SKR_ERR_JWS_ALG);
	expect_parse("{\"alg\":\"EdDSA\"}", "{}", "AAAA", SKR_ERR_JWS_ALG);
	expect_parse("{}", "{}", "AAAA", SKR_ERR_JWS_MALFORMED);
	expect_parse("{\"alg\":1}", "{}", "AAAA", SKR_ERR_JWS_MALFORMED);
	/* Header not an object, not JSON, duplicate members. */
	expect_parse("[\"RS256\"]", "{}", "AAAA", SKR_ERR_JWS_MALFORMED);
	expect_parse("{\"alg\":\"RS256\"", "{}", "AAAA", SKR_ERR_JWS_MALFORMED);
	expect_parse("{\"alg\":\"RS256\",\"alg\":\"none\"}", "{}", "AAAA",
	    SKR_ERR_JSON_DUPLICATE);
	/* Payload: duplicate members and invalid UTF-8 are refused. */
	expect_parse("{\"alg\":\"RS256\"}", "{\"a\":1,\"a\":2}", "AAAA",
	    SKR_ERR_JSON_DUPLICATE);
	expect_parse("{\"alg\":\"RS256\"}", "{\"a\":\"\xc3\x28\"}", "AAAA",
	    SKR_ERR_JSON);
	expect_parse("{\"alg\":\"RS256\"}", "{}", "AAAA", SKR_OK);
	/* Part counts, empty parts and bad base64url in each part. */
	CHECK_ERR(skr_jws_parse("a.b", 3, 0, &jws), SKR_ERR_JWS_MALFORMED);
	CHECK_ERR(skr_jws_parse("a.b.c.d", 7, 0, &jws), SKR_ERR_JWS_MALFORMED);
	CHECK_ERR(skr_jws_parse("..", 2, 0, &jws), SKR_ERR_JWS_MALFORMED);
	CHECK_ERR(skr_jws_parse("", 0, 0, &jws), SKR_ERR_JWS_MALFORMED);
	CHECK_ERR(skr_jws_parse("eyJhbGciOiJSUzI1NiJ9=.e30.AAAA", 29, 0, &jws),
	    SKR_ERR_JWS_MALFORMED);
	CHECK_ERR(skr_jws_parse("eyJhbGciOiJSUzI1NiJ9.e3+.AAAA", 28, 0, &jws),
	    SKR_ERR_JWS_MALFORMED);
	CHECK_ERR(skr_jws_parse("eyJhbGciOiJSUzI1NiJ9.e30.AA A", 28, 0, &jws),
	    SKR_ERR_JWS_MALFORMED);
	CHECK_ERR(skr_jws_parse("eyJhbGciOiJSUzI1NiJ9.e30.", 25, 0, &jws),
	    SKR_ERR_JWS_MALFORMED);
	/* Oversize. */
	memset(big, 'A', sizeof(big));
	CHECK_ERR(skr_jws_parse(big, sizeof(big), 256, &jws), SKR_ERR_TOO_LARGE);
}

static void
test_all_algs(void)
{
	static const struct {
		skr_alg alg;
		skr_kty kty;
		int bits;
	} cases[] = {
		{ SKR_ALG_RS256, SKR_KTY_RSA, 2048 },
		{ SKR_ALG_RS384, SKR_KTY_RSA, 2048 },
		{ SKR_ALG_RS512, SKR_KTY_RSA, 2048 },
		{ SKR_ALG_PS256, SKR_KTY_RSA, 2048 },
		{ SKR_ALG_PS384, SKR_KTY_RSA, 2048 },
		{ SKR_ALG_PS512, SKR_KTY_RSA, 2048 },
		{ SKR_ALG_ES256, SKR_KTY_EC, 256 },
		{ SKR_ALG_ES384, SKR_KTY_EC, 384 },
		{ SKR_ALG_ES512, SKR_KTY_EC, 521 },
	};
	skr_key *rsa = NULL, *ecs[3] = { NULL }, *other = NULL;
	json_t *hdr = json_pack("{s:s,s:s}", "kid", "k1", "typ", "JWT");

	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &rsa));
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &other));
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &ecs[0]));
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 384, &ecs[1]));
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 521, &ecs[2]));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		skr_key *k = cases[i].kty == SKR_KTY_RSA ? rsa :
		    ecs[cases[i].bits == 256 ? 0 : cases[i].bits == 384 ? 1 : 2];
		skr_buf out = SKR_BUF_INIT;
		skr_jws jws;

		CHECK_OK(skr_jws_sign(skr_key_pkey(k), cases[i].alg, hdr,
		    (const uint8_t *)"{\"a\":1}", 7, &out));
		CHECK_OK(skr_jws_parse((const char *)out.data, out.len, 0,
		    &jws));
		CHECK(jws.alg == cases[i].alg);
		CHECK_STR(json_string_value(json_object_get(jws.header, "kid")),
		    "k1");
		CHECK_OK(skr_jws_verify(&jws, skr_key_pkey(k), 0));
		CHECK_OK(skr_jws_verify(&jws, skr_key_pkey(k),
		    SKR_ALG_BIT(cases[i].alg)));
		CHECK_ERR(skr_jws_verify(&jws, skr_key_pkey(k),
		    SKR_ALG_ALL_ASYMMETRIC & ~SKR_ALG_BIT(cases[i].alg)),
		    SKR_ERR_JWS_ALG);
		if (cases[i].kty == SKR_KTY_RSA)
			CHECK_ERR(skr_jws_verify(&jws, skr_key_pkey(other), 0),
			    SKR_ERR_JWS_SIGNATURE);
		else
			CHECK_ERR(skr_jws_verify(&jws, skr_key_pkey(rsa), 0),
			    SKR_ERR_JWS_ALG);
		if (cases[i].kty == SKR_KTY_EC)
			CHECK(jws.signature.len == 2 * (size_t)((cases[i].bits +
			    7) / 8));
		skr_jws_clear(&jws);
		/* Signing with a key that does not fit the alg is refused. */
		CHECK_ERR(skr_jws_sign(skr_key_pkey(cases[i].kty ==
		    SKR_KTY_RSA ? ecs[0] : rsa), cases[i].alg, NULL,
		    (const uint8_t *)"x", 1, &out), SKR_ERR_JWS_ALG);
		skr_buf_free(&out);
	}
	json_decref(hdr);
	skr_key_free(rsa);
	skr_key_free(other);
	for (int i = 0; i < 3; i++)
		skr_key_free(ecs[i]);
}

/* A token over header and payload text signed directly with OpenSSL: PSS
 * with the given salt length, or an ECDSA signature left in DER. */
static char *
openssl_token(EVP_PKEY *pkey, const char *header, const char *payload,
    int pss_salt)
{
	skr_buf in = SKR_BUF_INIT;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t sig[1024];
	size_t siglen = sizeof(sig);

	skr_b64url_encode(&in, (const uint8_t *)header, strlen(header));
	skr_buf_append_byte(&in, '.');
	skr_b64url_encode(&in, (const uint8_t *)payload, strlen(payload));
	CHECK(EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, pkey,
	    NULL) == 1);
	if (pss_salt != 0) {
		CHECK(EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING) == 1);
		CHECK(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_salt) == 1);
	}
	CHECK(EVP_DigestSign(md, sig, &siglen, in.data, in.len) == 1);
	skr_buf_append_byte(&in, '.');
	skr_b64url_encode(&in, sig, siglen);
	EVP_MD_CTX_free(md);
	return (char *)skr_buf_steal(&in, NULL);
}

/* Refusals beyond the RFC vectors: changed header, lengths of signatures,
 * algorithm and key mismatches, PSS salt, DER signatures, crit. */
static void
test_refusals(void)
{
	skr_key *rsa = NULL, *p256 = NULL, *p384 = NULL;
	EVP_PKEY *weak = NULL;
	skr_buf tok = SKR_BUF_INIT, sig = SKR_BUF_INIT;
	skr_jws jws;
	char *t;

	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &rsa));
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &p256));
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 384, &p384));
	if (!rsa || !p256 || !p384)
		goto out;

	/* A changed header under the original signature. */
	CHECK_OK(skr_jws_sign(skr_key_pkey(rsa), SKR_ALG_RS256, NULL,
	    (const uint8_t *)"{\"a\":1}", 7, &tok));
	CHECK_OK(verify(skr_buf_cstr(&tok), rsa, 0));
	t = compact("{\"alg\":\"RS256\",\"kid\":\"x\"}", "{\"a\":1}",
	    strrchr(skr_buf_cstr(&tok), '.') + 1);
	CHECK_ERR(verify(t, rsa, 0), SKR_ERR_JWS_SIGNATURE);
	free(t);
	/* The same signature under PS256 or ES256 headers. */
	t = compact("{\"alg\":\"PS256\"}", "{\"a\":1}",
	    strrchr(skr_buf_cstr(&tok), '.') + 1);
	CHECK_ERR(verify(t, rsa, 0), SKR_ERR_JWS_SIGNATURE);
	CHECK_ERR(verify(t, p256, 0), SKR_ERR_JWS_ALG);
	free(t);
	/* RSA signature one byte short and one byte long. */
	CHECK_OK(skr_b64url_decode(&sig, strrchr(skr_buf_cstr(&tok), '.') + 1,
	    strlen(strrchr(skr_buf_cstr(&tok), '.') + 1)));
	{
		skr_buf b = SKR_BUF_INIT;

		skr_buf_append(&b, tok.data, (size_t)(strrchr(
		    skr_buf_cstr(&tok), '.') - skr_buf_cstr(&tok)) + 1);
		skr_b64url_encode(&b, sig.data, sig.len - 1);
		CHECK_ERR(verify(skr_buf_cstr(&b), rsa, 0),
		    SKR_ERR_JWS_SIGNATURE);
		skr_buf_reset(&b);
		skr_buf_append(&b, tok.data, (size_t)(strrchr(
		    skr_buf_cstr(&tok), '.') - skr_buf_cstr(&tok)) + 1);
		skr_buf_append_byte(&sig, 0);
		skr_b64url_encode(&b, sig.data, sig.len);
		CHECK_ERR(verify(skr_buf_cstr(&b), rsa, 0),
		    SKR_ERR_JWS_SIGNATURE);
		skr_buf_free(&b);
	}

	/* ES: r||s one byte short, one byte long, and as DER. */
	skr_buf_reset(&tok);
	skr_buf_reset(&sig);
	CHECK_OK(skr_jws_sign(skr_key_pkey(p256), SKR_ALG_ES256, NULL,
	    (const uint8_t *)"{}", 2, &tok));
	CHECK_OK(skr_b64url_decode(&sig, strrchr(skr_buf_cstr(&tok), '.') + 1,
	    strlen(strrchr(skr_buf_cstr(&tok), '.') + 1)));
	CHECK(sig.len == 64);
	{
		skr_buf b = SKR_BUF_INIT;
		size_t head = (size_t)(strrchr(skr_buf_cstr(&tok), '.') -
		    skr_buf_cstr(&tok)) + 1;

		skr_buf_append(&b, tok.data, head);
		skr_b64url_encode(&b, sig.data, 63);
		CHECK_ERR(verify(skr_buf_cstr(&b), p256, 0),
		    SKR_ERR_JWS_SIGNATURE);
		skr_buf_reset(&b);
		skr_buf_append(&b, tok.data, head);
		skr_b64url_encode(&b, sig.data, 64);
		skr_buf_append_str(&b, "AAA");
		CHECK_ERR(verify(skr_buf_cstr(&b), p256, 0),
		    SKR_ERR_JWS_MALFORMED); /* 89 characters: not base64url */
		skr_buf_reset(&b);
		skr_buf_append(&b, tok.data, head);
		skr_buf_append_byte(&sig, 0);
		skr_b64url_encode(&b, sig.data, 65);
		CHECK_ERR(verify(skr_buf_cstr(&b), p256, 0),
		    SKR_ERR_JWS_SIGNATURE);
		skr_buf_free(&b);
	}
	t = openssl_token(skr_key_pkey(p256), "{\"alg\":\"ES256\"}", "{}", 0);
	CHECK_ERR(verify(t, p256, 0), SKR_ERR_JWS_SIGNATURE);
	free(t);
	/* ES256 under an ES384 header, and an ES384 token checked with a
	 * P-256 key. */
	t = compact("{\"alg\":\"ES384\"}", "{}",
	    strrchr(skr_buf_cstr(&tok), '.') + 1);
	CHECK_ERR(verify(t, p256, 0), SKR_ERR_JWS_ALG);
	CHECK_ERR(verify(t, rsa, 0), SKR_ERR_JWS_ALG);
	free(t);
	skr_buf_reset(&tok);
	CHECK_OK(skr_jws_sign(skr_key_pkey(p384), SKR_ALG_ES384, NULL,
	    (const uint8_t *)"{}", 2, &tok));
	CHECK_OK(verify(skr_buf_cstr(&tok), p384, 0));
	CHECK_ERR(verify(skr_buf_cstr(&tok), p256, 0), SKR_ERR_JWS_ALG);
	CHECK_ERR(verify(skr_buf_cstr(&tok), rsa, 0), SKR_ERR_JWS_ALG);

	/* PSS: salt of the hash length verifies, any other is refused. */
	t = openssl_token(skr_key_pkey(rsa), "{\"alg\":\"PS256\"}", "{}",
	    RSA_PSS_SALTLEN_DIGEST);
	CHECK_OK(verify(t, rsa, 0));
	free(t);
	t = openssl_token(skr_key_pkey(rsa), "{\"alg\":\"PS256\"}", "{}",
	    RSA_PSS_SALTLEN_MAX);
	CHECK_ERR(verify(t, rsa, 0), SKR_ERR_JWS_SIGNATURE);
	free(t);
	t = openssl_token(skr_key_pkey(rsa), "{\"alg\":\"PS256\"}", "{}", 20);
	CHECK_ERR(verify(t, rsa, 0), SKR_ERR_JWS_SIGNATURE);
	free(t);
	/* A PKCS#1 v1.5 signature under a PS256 header and vice versa. */
	t = openssl_token(skr_key_pkey(rsa), "{\"alg\":\"PS256\"}", "{}", 0);
	CHECK_ERR(verify(t, rsa, 0), SKR_ERR_JWS_SIGNATURE);
	free(t);
	t = openssl_token(skr_key_pkey(rsa), "{\"alg\":\"RS256\"}", "{}",
	    RSA_PSS_SALTLEN_DIGEST);
	CHECK_ERR(verify(t, rsa, 0), SKR_ERR_JWS_SIGNATURE);
	free(t);

	/* RSA under 2048 bits: neither verifies nor signs. */
	weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	t = openssl_token(weak, "{\"alg\":\"RS256\"}", "{}", 0);
	CHECK_OK(skr_jws_parse(t, strlen(t), 0, &jws));
	CHECK_ERR(skr_jws_verify(&jws, weak, 0), SKR_ERR_JWS_ALG);
	skr_jws_clear(&jws);
	free(t);
	CHECK(!skr_alg_fits_key(SKR_ALG_RS256, weak));
	CHECK_ERR(skr_jws_sign(weak, SKR_ALG_RS256, NULL, (const uint8_t *)"x",
	    1, &tok), SKR_ERR_JWS_ALG);

	/* crit names an extension nobody here implements (RFC 7515
	 * 4.1.11), even on a good signature. */
	{
		json_t *h = json_pack("{s:[s],s:b}", "crit", "b64", "b64", 1);

		skr_buf_reset(&tok);
		CHECK_OK(skr_jws_sign(skr_key_pkey(rsa), SKR_ALG_RS256, h,
		    (const uint8_t *)"{}", 2, &tok));
		CHECK_ERR(verify(skr_buf_cstr(&tok), rsa, 0),
		    SKR_ERR_JWS_MALFORMED);
		json_decref(h);
	}

	/* extra_header cannot change alg; sign_json serialises compactly. */
	{
		json_t *h = json_pack("{s:s,s:s}", "alg", "none", "typ", "JWT");
		json_t *p = json_pack("{s:s,s:i}", "iss", "skr", "n", 1);

		skr_buf_reset(&tok);
		CHECK_OK(skr_jws_sign_json(skr_key_pkey(p256), SKR_ALG_ES256, h,
		    p, &tok));
		CHECK_OK(skr_jws_parse((const char *)tok.data, tok.len, 0,
		    &jws));
		CHECK_STR(json_string_value(json_object_get(jws.header, "alg")),
		    "ES256");
		CHECK_STR(json_string_value(json_object_get(jws.header, "typ")),
		    "JWT");
		CHECK_MEM(jws.payload_raw.data, jws.payload_raw.len,
		    "{\"iss\":\"skr\",\"n\":1}", 19);
		CHECK_OK(skr_jws_verify(&jws, skr_key_pkey(p256),
		    SKR_ALG_BIT(SKR_ALG_ES256)));
		skr_jws_clear(&jws);
		CHECK_ERR(skr_jws_sign_json(skr_key_pkey(p256), SKR_ALG_ES256,
		    NULL, NULL, &tok), SKR_ERR_INVAL);
		json_decref(h);
		json_decref(p);
	}
	/* No signing with a public key. */
	{
		skr_buf pem = SKR_BUF_INIT;
		skr_key *pub = NULL;

		CHECK_OK(skr_key_to_pem(p256, 0, &pem));
		CHECK_OK(skr_key_from_pem((const char *)pem.data, pem.len, &pub));
		if (pub != NULL)
			CHECK(skr_jws_sign(skr_key_pkey(pub), SKR_ALG_ES256,
			    NULL, (const uint8_t *)"x", 1, &tok) != SKR_OK);
		skr_key_free(pub);
		skr_buf_free(&pem);
	}
	CHECK(ERR_peek_error() == 0);
out:
	EVP_PKEY_free(weak);
	skr_buf_free(&tok);
	skr_buf_free(&sig);
	skr_key_free(rsa);
	skr_key_free(p256);
	skr_key_free(p384);
}

/* libjwt 1.10 is an independent implementation of RS256 and ES256. */
static void
libjwt_cross(skr_kty kty, int bits, skr_alg alg, jwt_alg_t jalg)
{
	skr_key *k = NULL;
	skr_buf priv = SKR_BUF_INIT_SECRET, pub = SKR_BUF_INIT, tok = SKR_BUF_INIT;
	jwt_t *j = NULL;
	char *theirs;
	skr_jws jws;

	CHECK_OK(skr_key_generate(kty, bits, &k));
	if (k == NULL)
		return;
	CHECK_OK(skr_key_to_pem(k, 1, &priv));
	CHECK_OK(skr_key_to_pem(k, 0, &pub));
	/* Ours -> libjwt verifies. */
	CHECK_OK(skr_jws_sign(skr_key_pkey(k), alg, NULL,
	    (const uint8_t *)"{\"iss\":\"skr\"}", 13, &tok));
	CHECK(jwt_decode(&j, skr_buf_cstr(&tok), pub.data, (int)pub.len) == 0);
	CHECK(j != NULL && strcmp(jwt_get_grant(j, "iss"), "skr") == 0);
	jwt_free(j);
	/* libjwt signs -> ours verifies. */
	CHECK(jwt_new(&j) == 0);
	jwt_add_grant(j, "iss", "libjwt");
	CHECK(jwt_set_alg(j, jalg, priv.data, (int)priv.len) == 0);
	theirs = jwt_encode_str(j);
	CHECK(theirs != NULL);
	if (theirs != NULL) {
		CHECK_OK(skr_jws_parse(theirs, strlen(theirs), 0, &jws));
		CHECK_OK(skr_jws_verify(&jws, skr_key_pkey(k), 0));
		CHECK_STR(json_string_value(json_object_get(jws.payload, "iss")),
		    "libjwt");
		skr_jws_clear(&jws);
		free(theirs);
	}
	jwt_free(j);
	skr_key_free(k);
	skr_buf_free(&priv);
	skr_buf_free(&pub);
	skr_buf_free(&tok);
}

int
main(void)
{
	skr_alg a;

	test_rfc7515();
	test_malformed();
	test_all_algs();
	test_refusals();
	libjwt_cross(SKR_KTY_RSA, 2048, SKR_ALG_RS256, JWT_ALG_RS256);
	libjwt_cross(SKR_KTY_EC, 256, SKR_ALG_ES256, JWT_ALG_ES256);
	CHECK_ERR(skr_alg_parse("none", &a), SKR_ERR_JWS_ALG);
	CHECK_ERR(skr_alg_parse("HS512", &a), SKR_ERR_JWS_ALG);
	CHECK_ERR(skr_alg_parse(NULL, &a), SKR_ERR_JWS_ALG);
	CHECK_OK(skr_alg_parse("PS384", &a));
	CHECK(a == SKR_ALG_PS384);
	CHECK(ERR_peek_error() == 0);
	return check_done();
}
