#include "wrap.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "encoding.h"
#include "guard.h"
#include "json.h"
#include "jwrite.h"
#include "opcache.h"
#include "random.h"
#include "skr/error.h"

#define CEK_LEN 32 /* K: always AES-256 (docs/release.md) */
#define WRAP_MIN_MODLEN 256   /* 2048 bits */
#define WRAP_MAX_MODLEN 1024  /* 8192 bits, the largest key keys/jwk takes */

/*
 * A failed decrypt or unwrap leaves errors on the thread's OpenSSL queue,
 * where a later SSL_get_error() on the same thread would read them as its
 * own; every entry point pops back to a mark taken on entry.
 */
#define ERR_BEGIN() ERR_set_mark()
#define ERR_END() ERR_pop_to_mark()

static const struct {
	skr_enc enc;
	const char *name;
	const char *md;
} encs[] = {
	{ SKR_ENC_CKM_RSA_AES_KEY_WRAP, "CKM_RSA_AES_KEY_WRAP", "SHA1" },
	{ SKR_ENC_RSA_AES_KEY_WRAP_256, "RSA_AES_KEY_WRAP_256", "SHA256" },
	{ SKR_ENC_RSA_AES_KEY_WRAP_384, "RSA_AES_KEY_WRAP_384", "SHA384" },
};

int
skr_enc_parse(const char *s, skr_enc *out)
{
	for (size_t i = 0; s != NULL && i < sizeof(encs) / sizeof(encs[0]); i++)
		if (strcmp(encs[i].name, s) == 0) {
			*out = encs[i].enc;
			return SKR_OK;
		}
	return SKR_ERR_ENC_UNSUPPORTED;
}

const char *
skr_enc_name(skr_enc enc)
{
	for (size_t i = 0; i < sizeof(encs) / sizeof(encs[0]); i++)
		if (encs[i].enc == enc)
			return encs[i].name;
	return NULL;
}

const EVP_MD *
skr_enc_md(skr_enc enc)
{
	switch (enc) {
	case SKR_ENC_CKM_RSA_AES_KEY_WRAP:
		return EVP_sha1();
	case SKR_ENC_RSA_AES_KEY_WRAP_256:
		return EVP_sha256();
	case SKR_ENC_RSA_AES_KEY_WRAP_384:
		return EVP_sha384();
	}
	return NULL;
}

/* ---- AES key wrap with padding (RFC 5649) ----------------------------- */

static const EVP_CIPHER *
kwp_cipher(size_t keklen)
{
	switch (keklen) {
	case 16:
		return EVP_aes_128_wrap_pad();
	case 24:
		return EVP_aes_192_wrap_pad();
	case 32:
		return EVP_aes_256_wrap_pad();
	default:
		return NULL;
	}
}

static int
kwp(int enc, const uint8_t *kek, size_t keklen, const uint8_t *in, size_t n,
    skr_buf *out)
{
	const EVP_CIPHER *cipher = kwp_cipher(keklen);
	EVP_CIPHER_CTX *ctx = NULL;
	size_t start = out->len;
	int len = 0, fin = 0, r;

	if (cipher == NULL || kek == NULL)
		return SKR_ERR_INVAL;
	if (in == NULL || n == 0 || n > INT32_MAX - 16)
		return enc ? SKR_ERR_INVAL : SKR_ERR_UNWRAP;
	/* RFC 5649 section 4.2: the ciphertext is a whole number of 64-bit
	 * blocks, at least two. */
	if (!enc && (n % 8 != 0 || n < 16))
		return SKR_ERR_UNWRAP;
	/* Output: at most n rounded up to 8, plus the 8-byte AIV block. */
	if ((r = skr_buf_reserve(out, n + 16)) != SKR_OK)
		return r;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return SKR_ERR_NOMEM;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	r = enc ? SKR_ERR_WRAP : SKR_ERR_UNWRAP;
	if (EVP_CipherInit_ex2(ctx, cipher, kek, NULL, enc, NULL) != 1 ||
	    EVP_CipherUpdate(ctx, out->data + start, &len, in, (int)n) != 1 ||
	    len < 0 || (size_t)len > n + 16 ||
	    EVP_CipherFinal_ex(ctx, out->data + start + len, &fin) != 1 ||
	    fin != 0)
		goto out;
	out->len = start + (size_t)len;
	out->data[out->len] = '\0';
	r = SKR_OK;
out:
	if (r != SKR_OK) {
		/* A failed unwrap may have written unauthenticated bytes. */
		skr_wipe(out->data + start, n + 16);
		out->data[start] = '\0';
	}
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int
skr_aes_kwp_wrap(const uint8_t *kek, size_t keklen, const uint8_t *pt,
    size_t n, skr_buf *out)
{
	int r;

	ERR_BEGIN();
	r = kwp(1, kek, keklen, pt, n, out);
	ERR_END();
	return r;
}

int
skr_aes_kwp_unwrap(const uint8_t *kek, size_t keklen, const uint8_t *ct,
    size_t n, skr_buf *out)
{
	int r;

	ERR_BEGIN();
	r = kwp(0, kek, keklen, ct, n, out);
	ERR_END();
	return r;
}

/* ---- RSA-AES key wrap ------------------------------------------------- */

static int
oaep_ctx(EVP_PKEY_CTX *pctx, skr_enc enc, int encrypt)
{
	const EVP_MD *md = skr_enc_md(enc);

	if (md == NULL)
		return SKR_ERR_ENC_UNSUPPORTED;
	if ((encrypt ? EVP_PKEY_encrypt_init(pctx) :
	    EVP_PKEY_decrypt_init(pctx)) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, md) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1)
		return SKR_ERR_CRYPTO;
	return SKR_OK;
}

/* The template keys/opcache keeps for encryptions under enc: set up once
 * per wrapping key, the same as oaep_ctx does for every decryption. */
static int
oaep_encrypt_init(EVP_PKEY_CTX *pctx, int op)
{
	return oaep_ctx(pctx, (skr_enc)(op & ~SKR_OPCACHE_WRAP), 1) == SKR_OK;
}

/* SKR_OK for an RSA key of 2048 to 8192 bits; *modlen is its size. */
static int
wrapping_key_ok(EVP_PKEY *pkey, size_t *modlen)
{
	if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
		return SKR_ERR_INVAL;
	if (EVP_PKEY_get_bits(pkey) < 2048)
		return SKR_ERR_KEY_WEAK;
	*modlen = (size_t)EVP_PKEY_get_size(pkey);
	if (*modlen < WRAP_MIN_MODLEN || *modlen > WRAP_MAX_MODLEN)
		return SKR_ERR_UNSUPPORTED;
	return SKR_OK;
}

static int
rsa_aes_wrap(EVP_PKEY *wrapping_key, skr_enc enc, const uint8_t *pt,
    size_t n, skr_buf *out)
{
	uint8_t cek[CEK_LEN];
	EVP_PKEY_CTX *pctx = NULL;
	size_t start = out->len, modlen, outlen;
	int r;

	if ((r = wrapping_key_ok(wrapping_key, &modlen)) != SKR_OK)
		return r;
	if (skr_enc_md(enc) == NULL)
		return SKR_ERR_ENC_UNSUPPORTED;
	if (pt == NULL || n == 0)
		return SKR_ERR_INVAL;
	if ((r = skr_random(cek, sizeof(cek))) != SKR_OK)
		goto out;
	if ((r = skr_buf_reserve(out, modlen)) != SKR_OK)
		goto out;
	if ((pctx = skr_opcache_pkey(wrapping_key, SKR_OPCACHE_WRAP |
	    (int)enc, oaep_encrypt_init)) == NULL) {
		r = SKR_ERR_CRYPTO;
		goto out;
	}
	outlen = modlen;
	if (EVP_PKEY_encrypt(pctx, out->data + start, &outlen, cek,
	    sizeof(cek)) != 1 || outlen != modlen) {
		r = SKR_ERR_WRAP;
		goto out;
	}
	out->len = start + outlen;
	out->data[out->len] = '\0';
	r = kwp(1, cek, sizeof(cek), pt, n, out);
out:
	if (r != SKR_OK && out->data != NULL) {
		out->len = start;
		out->data[start] = '\0';
	}
	skr_wipe(cek, sizeof(cek));
	EVP_PKEY_CTX_free(pctx);
	return r;
}

int
skr_rsa_aes_wrap(EVP_PKEY *wrapping_key, skr_enc enc, const uint8_t *pt,
    size_t n, skr_buf *out)
{
	int r;

	ERR_BEGIN();
	r = rsa_aes_wrap(wrapping_key, enc, pt, n, out);
	ERR_END();
	return r;
}

/*
 * The second half of an unwrap, once the OAEP step has run (ok != 0 when it
 * gave a K of the right length).  When it failed, the KWP step still runs,
 * under a random K, so that the time a failure takes does not tell an OAEP
 * failure from a KWP one: that distinction is the oracle of Manger's attack
 * on OAEP.  Every failure is the one SKR_ERR_UNWRAP.
 */
static int
unwrap_tail(int ok, uint8_t cek[CEK_LEN], const uint8_t *ct, size_t n,
    size_t modlen, skr_buf *out)
{
	size_t start = out->len;
	int r;

	if (!ok && skr_random(cek, CEK_LEN) != SKR_OK)
		return SKR_ERR_UNWRAP;
	r = kwp(0, cek, CEK_LEN, ct + modlen, n - modlen, out);
	if (r == SKR_OK && !ok) {
		/* A random K authenticated (chance about 2^-32): still a
		 * failure, and the bytes never reach the caller. */
		skr_wipe(out->data + start, out->len - start);
		out->len = start;
		out->data[start] = '\0';
		r = SKR_ERR_UNWRAP;
	}
	return r == SKR_OK ? SKR_OK : SKR_ERR_UNWRAP;
}

static int
rsa_aes_unwrap(EVP_PKEY *wrapping_key, skr_enc enc, const uint8_t *ct,
    size_t n, skr_buf *out)
{
	/* OpenSSL decrypts OAEP into its own modulus-sized buffer and only
	 * copies the message out, so this needs room for K alone; the rest
	 * is slack for a message of the wrong length to be refused. */
	uint8_t cek[WRAP_MAX_MODLEN];
	size_t modlen, ceklen = sizeof(cek);
	EVP_PKEY_CTX *pctx = NULL;
	int r, ok;

	if ((r = wrapping_key_ok(wrapping_key, &modlen)) != SKR_OK)
		return r;
	if (skr_enc_md(enc) == NULL)
		return SKR_ERR_UNWRAP;
	if (ct == NULL || n < modlen + 16)
		return SKR_ERR_UNWRAP;
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, wrapping_key, NULL)) ==
	    NULL)
		return SKR_ERR_NOMEM;
	if ((r = oaep_ctx(pctx, enc, 0)) != SKR_OK)
		goto out;
	ok = EVP_PKEY_decrypt(pctx, cek, &ceklen, ct, modlen) == 1 &&
	    ceklen == CEK_LEN;
	r = unwrap_tail(ok, cek, ct, n, modlen, out);
out:
	skr_wipe(cek, sizeof(cek));
	EVP_PKEY_CTX_free(pctx);
	return r;
}

int
skr_rsa_aes_unwrap(EVP_PKEY *wrapping_key, skr_enc enc, const uint8_t *ct,
    size_t n, skr_buf *out)
{
	int r;

	ERR_BEGIN();
	r = rsa_aes_unwrap(wrapping_key, enc, ct, n, out);
	ERR_END();
	return r;
}

static int
rsa_aes_unwrap_cb(skr_oaep_decrypt_fn fn, void *ctx, size_t modulus_len,
    skr_enc enc, const uint8_t *ct, size_t n, skr_buf *out)
{
	/* A device may insist on a modulus-sized output buffer. */
	uint8_t cek[WRAP_MAX_MODLEN];
	size_t ceklen = sizeof(cek);
	const EVP_MD *md = skr_enc_md(enc);
	int r, ok;

	if (fn == NULL)
		return SKR_ERR_INVAL;
	if (modulus_len < WRAP_MIN_MODLEN)
		return SKR_ERR_KEY_WEAK;
	if (modulus_len > WRAP_MAX_MODLEN)
		return SKR_ERR_UNSUPPORTED;
	if (md == NULL || ct == NULL || n < modulus_len + 16)
		return SKR_ERR_UNWRAP;
	ok = fn(ctx, md, ct, modulus_len, cek, &ceklen) == 0 &&
	    ceklen == CEK_LEN;
	r = unwrap_tail(ok, cek, ct, n, modulus_len, out);
	skr_wipe(cek, sizeof(cek));
	return r;
}

int
skr_rsa_aes_unwrap_cb(skr_oaep_decrypt_fn fn, void *ctx, size_t modulus_len,
    skr_enc enc, const uint8_t *ct, size_t n, skr_buf *out)
{
	int r;

	ERR_BEGIN();
	r = rsa_aes_unwrap_cb(fn, ctx, modulus_len, enc, ct, n, out);
	ERR_END();
	return r;
}

/* ---- key_hsm ---------------------------------------------------------- */

int
skr_key_hsm_encode(const char *wrapping_kid, skr_enc enc, const uint8_t *ct,
    size_t n, skr_buf *out)
{
	skr_buf text = SKR_BUF_INIT;
	int r;

	if (wrapping_kid == NULL || *wrapping_kid == '\0' ||
	    skr_enc_name(enc) == NULL || ct == NULL || n == 0)
		return SKR_ERR_INVAL;
	/* Member order as Key Vault emits it, written as jansson's compact
	 * form would be; a kid that is not UTF-8 is refused (SKR_ERR_INVAL)
	 * as jansson refuses to make such a string. */
	SKR_GUARD(skr_buf_append_str(&text, "{\"schema_version\":\"1.0\","
	    "\"header\":{\"kid\":"));
	SKR_GUARD(skr_jw_cstr(&text, wrapping_kid));
	SKR_GUARD(skr_buf_append_str(&text, ",\"alg\":\"dir\",\"enc\":"));
	SKR_GUARD(skr_jw_cstr(&text, skr_enc_name(enc)));
	SKR_GUARD(skr_buf_append_str(&text, "},\"ciphertext\":\""));
	SKR_GUARD(skr_b64url_encode(&text, ct, n));
	SKR_GUARD(skr_buf_append_str(&text, "\"}"));
	r = skr_b64url_encode(out, text.data, text.len);
out:
	skr_buf_free(&text);
	return r;
}

/* The value of a non-empty JSON string without an embedded NUL (which
 * would make "dir\u0000x" compare equal to "dir"), or NULL. */
static const char *
plain_string(const json_t *v)
{
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/*
 * Strict: the members docs/release.md lists must be present with exactly these
 * values; members beyond them are ignored, as Key Vault documents none and a
 * later schema 1.0 generator may add some.
 */
int
skr_key_hsm_decode(const char *s, size_t n, char **kid_out, skr_enc *enc,
    skr_buf *ct_out)
{
	skr_buf text = SKR_BUF_INIT;
	json_t *o = NULL, *h;
	const char *v, *kid, *ct;
	skr_enc e;
	int r = SKR_ERR_KEY_HSM;

	if (kid_out != NULL)
		*kid_out = NULL;
	if (s == NULL || skr_b64url_decode(&text, s, n) != SKR_OK)
		goto out;
	if (skr_json_parse((const char *)text.data, text.len, 4, &o) != SKR_OK ||
	    !json_is_object(o))
		goto out;
	v = plain_string(json_object_get(o, "schema_version"));
	if (v == NULL || strcmp(v, "1.0") != 0)
		goto out;
	h = json_object_get(o, "header");
	if (!json_is_object(h))
		goto out;
	v = plain_string(json_object_get(h, "alg"));
	if (v == NULL || strcmp(v, "dir") != 0)
		goto out;
	v = plain_string(json_object_get(h, "enc"));
	if (v == NULL || skr_enc_parse(v, &e) != SKR_OK)
		goto out;
	if ((kid = plain_string(json_object_get(h, "kid"))) == NULL)
		goto out;
	if ((ct = plain_string(json_object_get(o, "ciphertext"))) == NULL)
		goto out;
	if (kid_out != NULL && (*kid_out = strdup(kid)) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	if (skr_b64url_decode(ct_out, ct, strlen(ct)) != SKR_OK)
		goto out;
	*enc = e;
	r = SKR_OK;
out:
	if (r != SKR_OK && kid_out != NULL) {
		free(*kid_out);
		*kid_out = NULL;
	}
	json_decref(o);
	skr_buf_free(&text);
	return r;
}

/* ---- release convenience ---------------------------------------------- */

int
skr_release_wrap(const skr_key *key, EVP_PKEY *wrapping_key,
    const char *wrapping_kid, skr_enc enc, skr_buf *key_hsm_out)
{
	skr_buf pt = SKR_BUF_INIT_SECRET, ct = SKR_BUF_INIT;
	int r;

	if ((r = skr_key_private_bytes(key, &pt)) != SKR_OK)
		goto out;
	if ((r = skr_rsa_aes_wrap(wrapping_key, enc, pt.data, pt.len, &ct)) !=
	    SKR_OK)
		goto out;
	r = skr_key_hsm_encode(wrapping_kid, enc, ct.data, ct.len, key_hsm_out);
out:
	skr_buf_free(&pt);
	skr_buf_free(&ct);
	return r;
}

int
skr_release_unwrap(const char *key_hsm, size_t n, skr_kty kty,
    EVP_PKEY *wrapping_priv, skr_oaep_decrypt_fn fn, void *ctx,
    size_t modulus_len, skr_key **out)
{
	skr_buf ct = SKR_BUF_INIT, pt = SKR_BUF_INIT_SECRET;
	skr_enc enc;
	int r;

	*out = NULL;
	if ((r = skr_key_hsm_decode(key_hsm, n, NULL, &enc, &ct)) != SKR_OK)
		goto out;
	if (wrapping_priv != NULL)
		r = skr_rsa_aes_unwrap(wrapping_priv, enc, ct.data, ct.len, &pt);
	else
		r = skr_rsa_aes_unwrap_cb(fn, ctx, modulus_len, enc, ct.data,
		    ct.len, &pt);
	if (r != SKR_OK)
		goto out;
	r = skr_key_from_private_bytes(kty, pt.data, pt.len, out);
out:
	skr_buf_free(&ct);
	skr_buf_free(&pt);
	return r;
}
