/* Unit tests: AES-KWP (RFC 5649), RSA-AES key wrap (docs/release.md),
 * key_hsm, and the release wrap/unwrap pair for every key type and enc. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "check.h"
#include "encoding.h"
#include "json.h"
#include "jwk.h"
#include "random.h"
#include "wrap.h"

static void
hex(skr_buf *b, const char *s)
{
	skr_buf_reset(b);
	CHECK_OK(skr_hex_decode(b, s, strlen(s)));
}

/* RFC 5649 section 6: both examples use this 192-bit KEK. */
static void
test_rfc5649(void)
{
	skr_buf kek = SKR_BUF_INIT, pt = SKR_BUF_INIT, want = SKR_BUF_INIT;
	skr_buf ct = SKR_BUF_INIT, back = SKR_BUF_INIT_SECRET;
	static const char *vec[][2] = {
		{ "c37b7e6492584340bed12207808941155068f738",
		  "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a" },
		{ "466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f" },
	};

	hex(&kek, "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
	for (size_t i = 0; i < 2; i++) {
		hex(&pt, vec[i][0]);
		hex(&want, vec[i][1]);
		skr_buf_reset(&ct);
		CHECK_OK(skr_aes_kwp_wrap(kek.data, kek.len, pt.data, pt.len,
		    &ct));
		CHECK_MEM(ct.data, ct.len, want.data, want.len);
		skr_buf_reset(&back);
		CHECK_OK(skr_aes_kwp_unwrap(kek.data, kek.len, ct.data, ct.len,
		    &back));
		CHECK_MEM(back.data, back.len, pt.data, pt.len);
		/* A flipped bit, a truncation and a wrong KEK all fail. */
		ct.data[ct.len - 1] ^= 1;
		CHECK_ERR(skr_aes_kwp_unwrap(kek.data, kek.len, ct.data, ct.len,
		    &back), SKR_ERR_UNWRAP);
		ct.data[ct.len - 1] ^= 1;
		CHECK_ERR(skr_aes_kwp_unwrap(kek.data, kek.len, ct.data,
		    ct.len - 8, &back), SKR_ERR_UNWRAP);
		kek.data[0] ^= 1;
		CHECK_ERR(skr_aes_kwp_unwrap(kek.data, kek.len, ct.data, ct.len,
		    &back), SKR_ERR_UNWRAP);
		kek.data[0] ^= 1;
	}
	CHECK_ERR(skr_aes_kwp_unwrap(kek.data, kek.len, ct.data, 7, &back),
	    SKR_ERR_UNWRAP);
	CHECK_ERR(skr_aes_kwp_unwrap(kek.data, kek.len, ct.data, 8, &back),
	    SKR_ERR_UNWRAP);
	CHECK_ERR(skr_aes_kwp_unwrap(kek.data, kek.len, ct.data, 15, &back),
	    SKR_ERR_UNWRAP);
	CHECK_ERR(skr_aes_kwp_wrap(kek.data, 20, pt.data, pt.len, &ct),
	    SKR_ERR_INVAL);
	CHECK_ERR(skr_aes_kwp_wrap(kek.data, kek.len, pt.data, 0, &ct),
	    SKR_ERR_INVAL);
	CHECK(ERR_peek_error() == 0);
	skr_buf_free(&kek);
	skr_buf_free(&pt);
	skr_buf_free(&want);
	skr_buf_free(&ct);
	skr_buf_free(&back);
}

/* Every plaintext length from 1 to 72 (the one-block case of RFC 5649
 * section 4.1 up to 9 blocks) with each KEK size: length 8n + 8 rounded
 * up, round trip, and one flipped bit refused. */
static void
test_kwp_lengths(void)
{
	uint8_t kek[32], pt[72];
	skr_buf ct = SKR_BUF_INIT, back = SKR_BUF_INIT_SECRET;

	CHECK_OK(skr_random(kek, sizeof(kek)));
	CHECK_OK(skr_random(pt, sizeof(pt)));
	for (size_t kl = 16; kl <= 32; kl += 8)
		for (size_t n = 1; n <= sizeof(pt); n++) {
			skr_buf_reset(&ct);
			skr_buf_reset(&back);
			CHECK_OK(skr_aes_kwp_wrap(kek, kl, pt, n, &ct));
			CHECK(ct.len == (n + 7) / 8 * 8 + 8);
			CHECK_OK(skr_aes_kwp_unwrap(kek, kl, ct.data, ct.len,
			    &back));
			CHECK_MEM(back.data, back.len, pt, n);
			skr_buf_reset(&back);
			ct.data[n % ct.len] ^= 0x80;
			CHECK_ERR(skr_aes_kwp_unwrap(kek, kl, ct.data, ct.len,
			    &back), SKR_ERR_UNWRAP);
			CHECK(back.len == 0);
		}
	skr_buf_free(&ct);
	skr_buf_free(&back);
}

static const skr_enc encs[] = {
	SKR_ENC_CKM_RSA_AES_KEY_WRAP,
	SKR_ENC_RSA_AES_KEY_WRAP_256,
	SKR_ENC_RSA_AES_KEY_WRAP_384,
};

/* Independently decrypt the OAEP part with OpenSSL: proves the digest for
 * each enc is what docs/release.md says. */
static int
oaep_check(EVP_PKEY *priv, const EVP_MD *md, const uint8_t *ct, size_t n)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	uint8_t out[512];
	size_t outlen = sizeof(out);
	int ok;

	ok = EVP_PKEY_decrypt_init(c) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md(c, md) == 1 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) == 1 &&
	    EVP_PKEY_decrypt(c, out, &outlen, ct, n) == 1 && outlen == 32;
	EVP_PKEY_CTX_free(c);
	ERR_clear_error(); /* this check's own failures are expected */
	return ok;
}

struct cb_ctx {
	EVP_PKEY *priv;
	int calls;
};

static int
decrypt_cb(void *vctx, const EVP_MD *md, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t *outlen)
{
	struct cb_ctx *cc = vctx;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, cc->priv, NULL);
	int ok;

	cc->calls++;
	ok = EVP_PKEY_decrypt_init(c) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md(c, md) == 1 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) == 1 &&
	    EVP_PKEY_decrypt(c, out, outlen, in, inlen) == 1;
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -1;
}

static void
test_rsa_aes(skr_key *wrap2048, skr_key *wrap3072, skr_key *wrap4096,
    skr_key *other)
{
	skr_key *wraps[] = { wrap2048, wrap3072, wrap4096 };
	uint8_t pt[200];
	skr_buf ct = SKR_BUF_INIT, back = SKR_BUF_INIT_SECRET;
	EVP_PKEY *weak;
	size_t modlen;

	for (size_t w = 0; w < 3; w++) {
		EVP_PKEY *pk = skr_key_pkey(wraps[w]);

		modlen = (size_t)EVP_PKEY_get_size(pk);
		for (size_t e = 0; e < 3; e++) {
			size_t n = 1 + 37 * (e + 1) + w;

			skr_random(pt, n);
			skr_buf_reset(&ct);
			skr_buf_reset(&back);
			CHECK_OK(skr_rsa_aes_wrap(pk, encs[e], pt, n, &ct));
			/* Modulus-length OAEP part, then KWP (8n + 8 bytes). */
			CHECK(ct.len == modlen + (n + 7) / 8 * 8 + 8);
			CHECK(oaep_check(pk, skr_enc_md(encs[e]), ct.data,
			    modlen));
			CHECK(!oaep_check(pk, skr_enc_md(encs[(e + 1) % 3]),
			    ct.data, modlen));
			CHECK_OK(skr_rsa_aes_unwrap(pk, encs[e], ct.data, ct.len,
			    &back));
			CHECK_MEM(back.data, back.len, pt, n);
			/* Wrong enc, wrong key, truncated, extended, and a
			 * flipped byte in each part: the same error. */
			CHECK_ERR(skr_rsa_aes_unwrap(pk, encs[(e + 1) % 3],
			    ct.data, ct.len, &back), SKR_ERR_UNWRAP);
			CHECK_ERR(skr_rsa_aes_unwrap(skr_key_pkey(other), encs[e],
			    ct.data, ct.len, &back), SKR_ERR_UNWRAP);
			CHECK_ERR(skr_rsa_aes_unwrap(pk, encs[e], ct.data,
			    ct.len - 8, &back), SKR_ERR_UNWRAP);
			CHECK_ERR(skr_rsa_aes_unwrap(pk, encs[e], ct.data,
			    modlen + 8, &back), SKR_ERR_UNWRAP);
			skr_buf_append(&ct, "\0\0\0\0\0\0\0\0", 8);
			CHECK_ERR(skr_rsa_aes_unwrap(pk, encs[e], ct.data,
			    ct.len, &back), SKR_ERR_UNWRAP);
			ct.len -= 8;
			/* Not a whole number of 64-bit blocks after the
			 * OAEP part, and one byte short of the minimum. */
			CHECK_ERR(skr_rsa_aes_unwrap(pk, encs[e], ct.data,
			    ct.len - 1, &back), SKR_ERR_UNWRAP);
			CHECK_ERR(skr_rsa_aes_unwrap(pk, encs[e], ct.data,
			    modlen + 15, &back), SKR_ERR_UNWRAP);
			CHECK_ERR(skr_rsa_aes_unwrap(pk, encs[e], ct.data,
			    modlen - 1, &back), SKR_ERR_UNWRAP);
			/* First, middle and last byte of each part. */
			{
				size_t at[] = { 0, modlen / 2, modlen - 1,
				    modlen, modlen + (ct.len - modlen) / 2,
				    ct.len - 1 };

				for (size_t i = 0; i < 6; i++) {
					ct.data[at[i]] ^= 0x40;
					CHECK_ERR(skr_rsa_aes_unwrap(pk,
					    encs[e], ct.data, ct.len, &back),
					    SKR_ERR_UNWRAP);
					ct.data[at[i]] ^= 0x40;
				}
			}
			CHECK(back.len == n); /* failures appended nothing */
			CHECK(ERR_peek_error() == 0);
			/* Two wraps of the same plaintext differ (fresh K). */
			{
				skr_buf ct2 = SKR_BUF_INIT;

				CHECK_OK(skr_rsa_aes_wrap(pk, encs[e], pt, n,
				    &ct2));
				CHECK(ct2.len == ct.len && memcmp(ct.data,
				    ct2.data, ct.len) != 0 && memcmp(ct.data +
				    modlen, ct2.data + modlen, ct.len -
				    modlen) != 0);
				skr_buf_free(&ct2);
			}
		}
	}
	/* A 1024-bit wrapping key is refused on both sides. */
	weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	CHECK_ERR(skr_rsa_aes_wrap(weak, encs[0], pt, 16, &ct), SKR_ERR_KEY_WEAK);
	CHECK_ERR(skr_rsa_aes_unwrap(weak, encs[0], ct.data, ct.len, &back),
	    SKR_ERR_KEY_WEAK);
	EVP_PKEY_free(weak);
	/* Nothing to wrap; no key. */
	CHECK_ERR(skr_rsa_aes_wrap(skr_key_pkey(wrap2048), encs[0], pt, 0, &ct),
	    SKR_ERR_INVAL);
	CHECK_ERR(skr_rsa_aes_wrap(NULL, encs[0], pt, 16, &ct), SKR_ERR_INVAL);
	skr_buf_free(&ct);
	skr_buf_free(&back);
}

/* 1 when both keys have the same private bytes (PKCS#8 DER or raw). */
static int
same_private(const skr_key *a, const skr_key *b)
{
	skr_buf x = SKR_BUF_INIT_SECRET, y = SKR_BUF_INIT_SECRET;
	int same;

	same = skr_key_private_bytes(a, &x) == SKR_OK &&
	    skr_key_private_bytes(b, &y) == SKR_OK && x.len > 0 &&
	    x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
	skr_buf_free(&x);
	skr_buf_free(&y);
	return same;
}

static void
test_release_all_types(skr_key *wrap, skr_key *other)
{
	static const struct {
		skr_kty kty;
		int bits;
	} types[] = {
		{ SKR_KTY_RSA, 2048 }, { SKR_KTY_EC, 256 }, { SKR_KTY_EC, 384 },
		{ SKR_KTY_EC, 521 }, { SKR_KTY_OCT, 128 }, { SKR_KTY_OCT, 192 },
		{ SKR_KTY_OCT, 256 },
	};
	struct cb_ctx cc = { skr_key_pkey(wrap), 0 };
	size_t modlen = (size_t)EVP_PKEY_get_size(skr_key_pkey(wrap));

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		skr_key *k = NULL;

		CHECK_OK(skr_key_generate(types[t].kty, types[t].bits, &k));
		for (size_t e = 0; e < 3 && k != NULL; e++) {
			skr_buf hsm = SKR_BUF_INIT, ct = SKR_BUF_INIT;
			skr_key *got = NULL;
			char *kid = NULL;
			skr_enc enc;

			CHECK_OK(skr_release_wrap(k, skr_key_pkey(wrap),
			    "TpmEphemeralEncryptionKey", encs[e], &hsm));
			CHECK_OK(skr_key_hsm_decode((const char *)hsm.data,
			    hsm.len, &kid, &enc, &ct));
			CHECK_STR(kid, "TpmEphemeralEncryptionKey");
			CHECK(enc == encs[e]);
			/* OAEP part of exactly the modulus length, then the
			 * KWP of the private bytes. */
			{
				skr_buf pt = SKR_BUF_INIT_SECRET;

				CHECK_OK(skr_key_private_bytes(k, &pt));
				CHECK(ct.len == modlen + (pt.len + 7) / 8 * 8 +
				    8);
				skr_buf_free(&pt);
			}
			CHECK_OK(skr_release_unwrap((const char *)hsm.data,
			    hsm.len, types[t].kty, skr_key_pkey(wrap), NULL,
			    NULL, 0, &got));
			CHECK(got != NULL && skr_key_kty(got) == types[t].kty &&
			    skr_key_bits(got) == types[t].bits &&
			    skr_key_public_equal(k, got) &&
			    skr_key_has_private(got) && same_private(k, got));
			skr_key_free(got);
			got = NULL;
			/* The same ciphertext under another enc name. */
			{
				skr_buf hsm2 = SKR_BUF_INIT;

				CHECK_OK(skr_key_hsm_encode("k", encs[(e + 1) %
				    3], ct.data, ct.len, &hsm2));
				CHECK_ERR(skr_release_unwrap((const char *)
				    hsm2.data, hsm2.len, types[t].kty,
				    skr_key_pkey(wrap), NULL, NULL, 0, &got),
				    SKR_ERR_UNWRAP);
				CHECK(got == NULL);
				skr_buf_free(&hsm2);
			}
			/* Unwraps, but is not a key of another type. */
			CHECK(skr_release_unwrap((const char *)hsm.data,
			    hsm.len, types[t].kty == SKR_KTY_RSA ? SKR_KTY_EC :
			    SKR_KTY_RSA, skr_key_pkey(wrap), NULL, NULL, 0,
			    &got) != SKR_OK && got == NULL);
			/* Through the callback, as a TPM would do it. */
			CHECK_OK(skr_release_unwrap((const char *)hsm.data,
			    hsm.len, types[t].kty, NULL, decrypt_cb, &cc,
			    modlen, &got));
			CHECK(got != NULL && same_private(k, got));
			skr_key_free(got);
			got = NULL;
			/* The wrong private key cannot unwrap. */
			CHECK_ERR(skr_release_unwrap((const char *)hsm.data,
			    hsm.len, types[t].kty, skr_key_pkey(other), NULL,
			    NULL, 0, &got), SKR_ERR_UNWRAP);
			free(kid);
			skr_buf_free(&hsm);
			skr_buf_free(&ct);
		}
		skr_key_free(k);
	}
	CHECK(cc.calls == 21);
	CHECK(ERR_peek_error() == 0);
}

/* A device that fails, or returns a K of the wrong length: the same
 * SKR_ERR_UNWRAP as any other failure. */
static int
failing_cb(void *vctx, const EVP_MD *md, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t *outlen)
{
	(void)vctx;
	(void)md;
	(void)in;
	(void)inlen;
	(void)out;
	(void)outlen;
	return -1;
}

static int
short_cb(void *vctx, const EVP_MD *md, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t *outlen)
{
	if (decrypt_cb(vctx, md, in, inlen, out, outlen) != 0)
		return -1;
	*outlen = 16; /* K truncated to AES-128 */
	return 0;
}

static void
test_callback(skr_key *wrap)
{
	struct cb_ctx cc = { skr_key_pkey(wrap), 0 };
	size_t modlen = (size_t)EVP_PKEY_get_size(skr_key_pkey(wrap));
	skr_buf ct = SKR_BUF_INIT, back = SKR_BUF_INIT_SECRET;
	uint8_t pt[40];

	CHECK_OK(skr_random(pt, sizeof(pt)));
	CHECK_OK(skr_rsa_aes_wrap(skr_key_pkey(wrap), encs[1], pt, sizeof(pt),
	    &ct));
	CHECK_OK(skr_rsa_aes_unwrap_cb(decrypt_cb, &cc, modlen, encs[1],
	    ct.data, ct.len, &back));
	CHECK_MEM(back.data, back.len, pt, sizeof(pt));
	skr_buf_reset(&back);
	CHECK_ERR(skr_rsa_aes_unwrap_cb(decrypt_cb, &cc, modlen, encs[2],
	    ct.data, ct.len, &back), SKR_ERR_UNWRAP);
	CHECK_ERR(skr_rsa_aes_unwrap_cb(failing_cb, NULL, modlen, encs[1],
	    ct.data, ct.len, &back), SKR_ERR_UNWRAP);
	CHECK_ERR(skr_rsa_aes_unwrap_cb(short_cb, &cc, modlen, encs[1],
	    ct.data, ct.len, &back), SKR_ERR_UNWRAP);
	CHECK_ERR(skr_rsa_aes_unwrap_cb(decrypt_cb, &cc, modlen, encs[1],
	    ct.data, modlen + 15, &back), SKR_ERR_UNWRAP);
	/* A modulus under 2048 bits, or no device at all. */
	CHECK_ERR(skr_rsa_aes_unwrap_cb(decrypt_cb, &cc, 128, encs[1],
	    ct.data, ct.len, &back), SKR_ERR_KEY_WEAK);
	CHECK_ERR(skr_rsa_aes_unwrap_cb(NULL, NULL, modlen, encs[1], ct.data,
	    ct.len, &back), SKR_ERR_INVAL);
	CHECK(back.len == 0);
	CHECK(ERR_peek_error() == 0);
	skr_buf_free(&ct);
	skr_buf_free(&back);
}

static int
hsm_decode_json(const char *json)
{
	skr_buf b = SKR_BUF_INIT, ct = SKR_BUF_INIT;
	skr_enc enc;
	char *kid = NULL;
	int r;

	skr_b64url_encode(&b, (const uint8_t *)json, strlen(json));
	r = skr_key_hsm_decode((const char *)b.data, b.len, &kid, &enc, &ct);
	free(kid);
	skr_buf_free(&b);
	skr_buf_free(&ct);
	return r;
}

static void
test_key_hsm(void)
{
	skr_buf b = SKR_BUF_INIT, text = SKR_BUF_INIT;
	skr_enc enc;

	/* Exact bytes of the envelope (docs/release.md). */
	CHECK_OK(skr_key_hsm_encode("k1", SKR_ENC_RSA_AES_KEY_WRAP_256,
	    (const uint8_t *)"\x01\x02\x03", 3, &b));
	CHECK_OK(skr_b64url_decode(&text, (const char *)b.data, b.len));
	CHECK_STR(skr_buf_cstr(&text), "{\"schema_version\":\"1.0\",\"header\":"
	    "{\"kid\":\"k1\",\"alg\":\"dir\",\"enc\":\"RSA_AES_KEY_WRAP_256\"},"
	    "\"ciphertext\":\"AQID\"}");
	CHECK_OK(hsm_decode_json(skr_buf_cstr(&text)));

	/* Each way an envelope can be wrong. */
	{
#define H_OK "\"kid\":\"k\",\"alg\":\"dir\",\"enc\":\"CKM_RSA_AES_KEY_WRAP\""
		static const char *bad[] = {
			"{\"schema_version\":\"2.0\",\"header\":{" H_OK "},"
			    "\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":1.0,\"header\":{" H_OK "},"
			    "\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":\"1.0\\u0000\",\"header\":{" H_OK
			    "},\"ciphertext\":\"AQID\"}",
			"{\"header\":{" H_OK "},\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":\"1.0\",\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":\"1.0\",\"header\":\"dir\","
			    "\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":\"1.0\",\"header\":{\"kid\":\"k\","
			    "\"alg\":\"RSA-OAEP\",\"enc\":\"CKM_RSA_AES_KEY_WRAP\"},"
			    "\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":\"1.0\",\"header\":{\"kid\":\"k\","
			    "\"alg\":\"dir\\u0000\",\"enc\":"
			    "\"CKM_RSA_AES_KEY_WRAP\"},\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":\"1.0\",\"header\":{\"kid\":\"k\","
			    "\"enc\":\"CKM_RSA_AES_KEY_WRAP\"},"
			    "\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":\"1.0\",\"header\":{\"kid\":\"k\","
			    "\"alg\":\"dir\",\"enc\":\"A256GCM\"},"
			    "\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":\"1.0\",\"header\":{\"kid\":\"k\","
			    "\"alg\":\"dir\"},\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":\"1.0\",\"header\":{\"alg\":\"dir\","
			    "\"enc\":\"CKM_RSA_AES_KEY_WRAP\"},"
			    "\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":\"1.0\",\"header\":{\"kid\":7,"
			    "\"alg\":\"dir\",\"enc\":\"CKM_RSA_AES_KEY_WRAP\"},"
			    "\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":\"1.0\",\"header\":{\"kid\":\"\","
			    "\"alg\":\"dir\",\"enc\":\"CKM_RSA_AES_KEY_WRAP\"},"
			    "\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":\"1.0\",\"header\":{" H_OK "}}",
			"{\"schema_version\":\"1.0\",\"header\":{" H_OK "},"
			    "\"ciphertext\":\"\"}",
			"{\"schema_version\":\"1.0\",\"header\":{" H_OK "},"
			    "\"ciphertext\":\"AQ==\"}",
			"{\"schema_version\":\"1.0\",\"header\":{" H_OK "},"
			    "\"ciphertext\":\"AQ+D\"}",
			"{\"schema_version\":\"1.0\",\"header\":{" H_OK "},"
			    "\"ciphertext\":[\"AQID\"]}",
			/* Duplicate members, at the top and in the header. */
			"{\"schema_version\":\"1.0\",\"schema_version\":\"1.0\","
			    "\"header\":{" H_OK "},\"ciphertext\":\"AQID\"}",
			"{\"schema_version\":\"1.0\",\"header\":{" H_OK
			    ",\"enc\":\"RSA_AES_KEY_WRAP_256\"},"
			    "\"ciphertext\":\"AQID\"}",
			/* Not an object; not JSON; trailing data. */
			"[]",
			"\"AQID\"",
			"{\"schema_version\":\"1.0\"",
			"{\"schema_version\":\"1.0\",\"header\":{" H_OK "},"
			    "\"ciphertext\":\"AQID\"} {}",
		};
#undef H_OK

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			int r = hsm_decode_json(bad[i]);

			if (r != SKR_ERR_KEY_HSM)
				fprintf(stderr, "key_hsm case %zu\n", i);
			CHECK_ERR(r, SKR_ERR_KEY_HSM);
		}
	}
	/* The outer layer is strict base64url too. */
	skr_buf_reset(&text);
	CHECK_ERR(skr_key_hsm_decode("e30=", 4, NULL, &enc, &text),
	    SKR_ERR_KEY_HSM);
	skr_buf_reset(&b);
	CHECK_OK(skr_key_hsm_encode("k1", SKR_ENC_CKM_RSA_AES_KEY_WRAP,
	    (const uint8_t *)"\xfb\xff", 2, &b));
	CHECK_OK(skr_key_hsm_decode((const char *)b.data, b.len, NULL, &enc,
	    &text));
	b.data[3] = '+';
	CHECK_ERR(skr_key_hsm_decode((const char *)b.data, b.len, NULL, &enc,
	    &text), SKR_ERR_KEY_HSM);
	CHECK_ERR(skr_key_hsm_decode((const char *)b.data, 0, NULL, &enc,
	    &text), SKR_ERR_KEY_HSM);
	CHECK_ERR(skr_key_hsm_decode(NULL, 0, NULL, &enc, &text),
	    SKR_ERR_KEY_HSM);
	/* Unknown members are ignored. */
	CHECK_OK(hsm_decode_json("{\"schema_version\":\"1.0\",\"header\":{"
	    "\"kid\":\"k\",\"alg\":\"dir\",\"enc\":\"CKM_RSA_AES_KEY_WRAP\","
	    "\"x\":1},\"ciphertext\":\"AQID\",\"generator\":\"x\"}"));
	/* A Key Vault style kid survives the round trip; what cannot be put
	 * in an envelope is refused. */
	skr_buf_reset(&b);
	skr_buf_reset(&text);
	{
		char *kid = NULL;

		CHECK_OK(skr_key_hsm_encode("https://v.example/keys/k/1\xc3\xa9",
		    SKR_ENC_RSA_AES_KEY_WRAP_384, (const uint8_t *)"\0\1", 2,
		    &b));
		CHECK_OK(skr_key_hsm_decode((const char *)b.data, b.len, &kid,
		    &enc, &text));
		CHECK_STR(kid, "https://v.example/keys/k/1\xc3\xa9");
		CHECK(enc == SKR_ENC_RSA_AES_KEY_WRAP_384);
		CHECK_MEM(text.data, text.len, "\0\1", 2);
		free(kid);
	}
	CHECK_ERR(skr_key_hsm_encode("", SKR_ENC_CKM_RSA_AES_KEY_WRAP,
	    (const uint8_t *)"x", 1, &b), SKR_ERR_INVAL);
	CHECK_ERR(skr_key_hsm_encode(NULL, SKR_ENC_CKM_RSA_AES_KEY_WRAP,
	    (const uint8_t *)"x", 1, &b), SKR_ERR_INVAL);
	CHECK_ERR(skr_key_hsm_encode("\xc3\x28", SKR_ENC_CKM_RSA_AES_KEY_WRAP,
	    (const uint8_t *)"x", 1, &b), SKR_ERR_INVAL);
	CHECK_ERR(skr_key_hsm_encode("k", (skr_enc)7, (const uint8_t *)"x", 1,
	    &b), SKR_ERR_INVAL);
	CHECK_ERR(skr_key_hsm_encode("k", SKR_ENC_CKM_RSA_AES_KEY_WRAP, NULL, 0,
	    &b), SKR_ERR_INVAL);

	CHECK_OK(skr_enc_parse("CKM_RSA_AES_KEY_WRAP", &enc));
	CHECK(enc == SKR_ENC_CKM_RSA_AES_KEY_WRAP);
	CHECK_ERR(skr_enc_parse("ckm_rsa_aes_key_wrap", &enc),
	    SKR_ERR_ENC_UNSUPPORTED);
	CHECK_ERR(skr_enc_parse("RSA-OAEP-256", &enc), SKR_ERR_ENC_UNSUPPORTED);
	skr_buf_free(&b);
	skr_buf_free(&text);
}

int
main(void)
{
	skr_key *w2048 = NULL, *w3072 = NULL, *w4096 = NULL, *other = NULL;
	skr_key *ec = NULL, *pub = NULL, *oct = NULL;
	skr_buf ct = SKR_BUF_INIT;
	EVP_PKEY *weak;

	test_rfc5649();
	test_kwp_lengths();
	test_key_hsm();
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &w2048));
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 3072, &w3072));
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 4096, &w4096));
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &other));
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &ec));
	CHECK_OK(skr_key_generate(SKR_KTY_OCT, 256, &oct));
	if (w2048 && w3072 && w4096 && other && ec && oct) {
		test_rsa_aes(w2048, w3072, w4096, other);
		test_release_all_types(w2048, other);
		test_callback(w3072);
		/* An EC key cannot be a wrapping key, on either side. */
		CHECK_ERR(skr_rsa_aes_wrap(skr_key_pkey(ec), encs[0],
		    (const uint8_t *)"x", 1, &ct), SKR_ERR_INVAL);
		CHECK_ERR(skr_rsa_aes_unwrap(skr_key_pkey(ec), encs[0],
		    (const uint8_t *)"x", 1, &ct), SKR_ERR_INVAL);
		CHECK_ERR(skr_release_wrap(oct, skr_key_pkey(ec), "k", encs[0],
		    &ct), SKR_ERR_INVAL);
		/* Release refuses a weak wrapping key and a key without its
		 * private part, and appends nothing. */
		weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
		CHECK_ERR(skr_release_wrap(oct, weak, "k", encs[0], &ct),
		    SKR_ERR_KEY_WEAK);
		EVP_PKEY_free(weak);
		CHECK_OK(skr_key_from_pkey(skr_key_pkey(w2048), &pub));
		/* skr_key_from_pkey keeps the private half: go through PEM. */
		skr_key_free(pub);
		pub = NULL;
		{
			skr_buf pem = SKR_BUF_INIT;

			CHECK_OK(skr_key_to_pem(other, 0, &pem));
			CHECK_OK(skr_key_from_pem((const char *)pem.data,
			    pem.len, &pub));
			skr_buf_free(&pem);
		}
		if (pub != NULL)
			CHECK_ERR(skr_release_wrap(pub, skr_key_pkey(w2048), "k",
			    encs[0], &ct), SKR_ERR_KEY_NO_PRIVATE);
		CHECK(ct.len == 0);
		CHECK(ERR_peek_error() == 0);
	}
	skr_buf_free(&ct);
	skr_key_free(w2048);
	skr_key_free(w3072);
	skr_key_free(w4096);
	skr_key_free(other);
	skr_key_free(ec);
	skr_key_free(pub);
	skr_key_free(oct);
	return check_done();
}
