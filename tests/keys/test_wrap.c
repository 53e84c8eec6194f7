/* Unit tests: AES-KWP (RFC 5649), RSA-AES key wrap (SPEC section 5),
 * key_hsm, and the release wrap/unwrap pair for every key type and enc. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "check.h"
#include "encoding.h"
#include "json.h"
#include "jwk.h"
#include "seal.h"
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
	CHECK_ERR(skr_aes_kwp_wrap(kek.data, 20, pt.data, pt.len, &ct),
	    SKR_ERR_INVAL);
	skr_buf_free(&kek);
	skr_buf_free(&pt);
	skr_buf_free(&want);
	skr_buf_free(&ct);
	skr_buf_free(&back);
}

static const skr_enc encs[] = {
	SKR_ENC_CKM_RSA_AES_KEY_WRAP,
	SKR_ENC_RSA_AES_KEY_WRAP_256,
	SKR_ENC_RSA_AES_KEY_WRAP_384,
};

/* Independently decrypt the OAEP part with OpenSSL: proves the digest for
 * each enc is what SPEC section 5 says. */
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
test_rsa_aes(skr_key *wrap2048, skr_key *wrap3072, skr_key *other)
{
	skr_key *wraps[] = { wrap2048, wrap3072 };
	uint8_t pt[200];
	skr_buf ct = SKR_BUF_INIT, back = SKR_BUF_INIT_SECRET;
	EVP_PKEY *weak;
	size_t modlen;

	for (size_t w = 0; w < 2; w++) {
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
			ct.data[10] ^= 0x40;
			CHECK_ERR(skr_rsa_aes_unwrap(pk, encs[e], ct.data,
			    ct.len, &back), SKR_ERR_UNWRAP);
			ct.data[10] ^= 0x40;
			ct.data[modlen + 3] ^= 0x40;
			CHECK_ERR(skr_rsa_aes_unwrap(pk, encs[e], ct.data,
			    ct.len, &back), SKR_ERR_UNWRAP);
			ct.data[modlen + 3] ^= 0x40;
			CHECK(back.len == n); /* failures appended nothing */
		}
	}
	/* A 1024-bit wrapping key is refused on both sides. */
	weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	CHECK_ERR(skr_rsa_aes_wrap(weak, encs[0], pt, 16, &ct), SKR_ERR_KEY_WEAK);
	CHECK_ERR(skr_rsa_aes_unwrap(weak, encs[0], ct.data, ct.len, &back),
	    SKR_ERR_KEY_WEAK);
	EVP_PKEY_free(weak);
	skr_buf_free(&ct);
	skr_buf_free(&back);
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
			CHECK(enc == encs[e] && ct.len > modlen);
			CHECK_OK(skr_release_unwrap((const char *)hsm.data,
			    hsm.len, types[t].kty, skr_key_pkey(wrap), NULL,
			    NULL, 0, &got));
			CHECK(got != NULL && skr_key_public_equal(k, got) &&
			    skr_key_has_private(got));
			skr_key_free(got);
			got = NULL;
			/* Through the callback, as a TPM would do it. */
			CHECK_OK(skr_release_unwrap((const char *)hsm.data,
			    hsm.len, types[t].kty, NULL, decrypt_cb, &cc,
			    modlen, &got));
			CHECK(got != NULL && skr_key_public_equal(k, got));
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

	/* Exact bytes of the envelope (SPEC section 5). */
	CHECK_OK(skr_key_hsm_encode("k1", SKR_ENC_RSA_AES_KEY_WRAP_256,
	    (const uint8_t *)"\x01\x02\x03", 3, &b));
	CHECK_OK(skr_b64url_decode(&text, (const char *)b.data, b.len));
	CHECK_STR(skr_buf_cstr(&text), "{\"schema_version\":\"1.0\",\"header\":"
	    "{\"kid\":\"k1\",\"alg\":\"dir\",\"enc\":\"RSA_AES_KEY_WRAP_256\"},"
	    "\"ciphertext\":\"AQID\"}");
	CHECK_OK(hsm_decode_json(skr_buf_cstr(&text)));

	CHECK_ERR(hsm_decode_json("{\"schema_version\":\"2.0\",\"header\":{\"kid\""
	    ":\"k\",\"alg\":\"dir\",\"enc\":\"CKM_RSA_AES_KEY_WRAP\"},"
	    "\"ciphertext\":\"AQID\"}"), SKR_ERR_KEY_HSM);
	CHECK_ERR(hsm_decode_json("{\"schema_version\":\"1.0\",\"header\":{\"kid\""
	    ":\"k\",\"alg\":\"RSA-OAEP\",\"enc\":\"CKM_RSA_AES_KEY_WRAP\"},"
	    "\"ciphertext\":\"AQID\"}"), SKR_ERR_KEY_HSM);
	CHECK_ERR(hsm_decode_json("{\"schema_version\":\"1.0\",\"header\":{\"kid\""
	    ":\"k\",\"alg\":\"dir\",\"enc\":\"A256GCM\"},"
	    "\"ciphertext\":\"AQID\"}"), SKR_ERR_KEY_HSM);
	CHECK_ERR(hsm_decode_json("{\"schema_version\":\"1.0\",\"header\":{\"alg"
	    "\":\"dir\",\"enc\":\"CKM_RSA_AES_KEY_WRAP\"},"
	    "\"ciphertext\":\"AQID\"}"), SKR_ERR_KEY_HSM);
	CHECK_ERR(hsm_decode_json("{\"schema_version\":\"1.0\",\"header\":{\"kid\""
	    ":\"k\",\"alg\":\"dir\",\"enc\":\"CKM_RSA_AES_KEY_WRAP\"},"
	    "\"ciphertext\":\"AQ==\"}"), SKR_ERR_KEY_HSM);
	CHECK_ERR(hsm_decode_json("{\"schema_version\":\"1.0\",\"header\":{\"kid\""
	    ":\"k\",\"alg\":\"dir\",\"enc\":\"CKM_RSA_AES_KEY_WRAP\"}}"),
	    SKR_ERR_KEY_HSM);
	CHECK_ERR(hsm_decode_json("{\"schema_version\":\"1.0\",\"schema_version\""
	    ":\"1.0\",\"header\":{\"kid\":\"k\",\"alg\":\"dir\",\"enc\":"
	    "\"CKM_RSA_AES_KEY_WRAP\"},\"ciphertext\":\"AQID\"}"),
	    SKR_ERR_KEY_HSM);
	CHECK_ERR(hsm_decode_json("[]"), SKR_ERR_KEY_HSM);
	CHECK_ERR(skr_key_hsm_decode("e30=", 4, NULL, &enc, &text),
	    SKR_ERR_KEY_HSM);

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
	skr_key *w2048 = NULL, *w3072 = NULL, *other = NULL, *ec = NULL;
	skr_buf ct = SKR_BUF_INIT;

	test_rfc5649();
	test_key_hsm();
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &w2048));
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 3072, &w3072));
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &other));
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &ec));
	if (w2048 && w3072 && other && ec) {
		test_rsa_aes(w2048, w3072, other);
		test_release_all_types(w2048, other);
		/* An EC key cannot be a wrapping key. */
		CHECK_ERR(skr_rsa_aes_wrap(skr_key_pkey(ec), encs[0],
		    (const uint8_t *)"x", 1, &ct), SKR_ERR_INVAL);
	}
	skr_buf_free(&ct);
	skr_key_free(w2048);
	skr_key_free(w3072);
	skr_key_free(other);
	skr_key_free(ec);
	return check_done();
}
