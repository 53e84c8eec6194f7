#include "seal.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "random.h"
#include "skr/error.h"

#define SEAL_FORMAT_1 0x01
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16

/* Runs GCM over the format byte and the caller's AAD (both authenticated)
 * and n bytes of in. On decrypt, tag is checked; on encrypt it is written.
 * Leaves OpenSSL's error queue as it found it (a failed open is an
 * expected outcome, not an error for a later SSL_get_error() to find). */
static int
gcm_run(int enc, const uint8_t key[SKR_SEAL_KEY_LEN], const uint8_t *nonce,
    uint8_t format, const uint8_t *aad, size_t aadlen, const uint8_t *in,
    size_t n, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx;
	int len, r = SKR_ERR_CRYPTO;

	if (n > INT32_MAX || aadlen > INT32_MAX)
		return SKR_ERR_TOO_LARGE;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return SKR_ERR_NOMEM;
	if (EVP_CipherInit_ex2(ctx, EVP_aes_256_gcm(), key, nonce, enc,
	    NULL) != 1)
		goto out;
	if (EVP_CipherUpdate(ctx, NULL, &len, &format, 1) != 1)
		goto out;
	if (aadlen > 0 &&
	    EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1)
		goto out;
	if (n > 0 && EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
	    SEAL_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + n, &len) != 1) {
		r = enc ? SKR_ERR_CRYPTO : SKR_ERR_SEAL_OPEN;
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
	    SEAL_TAG_LEN, tag) != 1)
		goto out;
	r = SKR_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

static int
gcm(int enc, const uint8_t key[SKR_SEAL_KEY_LEN], const uint8_t *nonce,
    uint8_t format, const uint8_t *aad, size_t aadlen, const uint8_t *in,
    size_t n, uint8_t *out, uint8_t *tag)
{
	int r;

	ERR_set_mark();
	r = gcm_run(enc, key, nonce, format, aad, aadlen, in, n, out, tag);
	ERR_pop_to_mark();
	return r;
}

int
skr_seal(const uint8_t key[SKR_SEAL_KEY_LEN], const uint8_t *aad,
    size_t aadlen, const uint8_t *pt, size_t n, skr_buf *out)
{
	size_t start = out->len;
	uint8_t *blob;
	int r;

	if (n > SIZE_MAX - SKR_SEAL_OVERHEAD)
		return SKR_ERR_TOO_LARGE;
	if (key == NULL || (pt == NULL && n > 0) || (aad == NULL && aadlen > 0))
		return SKR_ERR_INVAL;
	if ((r = skr_buf_reserve(out, n + SKR_SEAL_OVERHEAD)) != SKR_OK)
		return r;
	blob = out->data + start;
	if ((r = skr_random(blob + 1, SEAL_NONCE_LEN)) != SKR_OK)
		return r;
	blob[0] = SEAL_FORMAT_1;
	r = gcm(1, key, blob + 1, SEAL_FORMAT_1, aad, aadlen, pt, n,
	    blob + 1 + SEAL_NONCE_LEN, blob + 1 + SEAL_NONCE_LEN + n);
	if (r != SKR_OK) {
		skr_wipe(blob, n + SKR_SEAL_OVERHEAD);
		return r;
	}
	out->len += n + SKR_SEAL_OVERHEAD;
	out->data[out->len] = '\0';
	return SKR_OK;
}

int
skr_seal_open(const uint8_t key[SKR_SEAL_KEY_LEN], const uint8_t *aad,
    size_t aadlen, const uint8_t *blob, size_t n, skr_buf *out)
{
	size_t ctlen, start = out->len;
	uint8_t tag[SEAL_TAG_LEN];
	int r;

	if (key == NULL || blob == NULL || (aad == NULL && aadlen > 0))
		return SKR_ERR_INVAL;
	if (n < SKR_SEAL_OVERHEAD)
		return SKR_ERR_SEAL_OPEN;
	if (blob[0] != SEAL_FORMAT_1)
		return SKR_ERR_SEAL_FORMAT;
	ctlen = n - SKR_SEAL_OVERHEAD;
	/* +16: EVP_CipherFinal may write nothing for GCM, but keep room. */
	if ((r = skr_buf_reserve(out, ctlen + SEAL_TAG_LEN)) != SKR_OK)
		return r;
	memcpy(tag, blob + n - SEAL_TAG_LEN, SEAL_TAG_LEN);
	r = gcm(0, key, blob + 1, blob[0], aad, aadlen,
	    blob + 1 + SEAL_NONCE_LEN, ctlen, out->data + start, tag);
	if (r != SKR_OK) {
		/* Unauthenticated plaintext never reaches the caller. */
		skr_wipe(out->data + start, ctlen);
		out->data[start] = '\0';
		return r;
	}
	out->len += ctlen;
	out->data[out->len] = '\0';
	return SKR_OK;
}
