/*
 * Key wrapping for release (docs/release.md):
 *
 *   ciphertext = RSA-OAEP(H, MGF1-H, empty label)(wrapping key, K)
 *                || AES-KWP(K, plaintext)
 *
 * with K a fresh AES-256 key, H = SHA-1, SHA-256, SHA-384 for the three enc
 * values, AES-KWP the RFC 5649 key wrap with padding, plaintext the PKCS#8 DER
 * private key (RSA, EC) or raw key bytes (oct).  The OAEP part is exactly the
 * modulus length of the wrapping key.  Wrapping keys under 2048 bits are
 * refused with SKR_ERR_KEY_WEAK.
 */
#ifndef SKR_KEYS_WRAP_H
#define SKR_KEYS_WRAP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "buf.h"
#include "jwk.h"

typedef enum skr_enc {
	SKR_ENC_CKM_RSA_AES_KEY_WRAP = 0, /* OAEP SHA-1; the default */
	SKR_ENC_RSA_AES_KEY_WRAP_256,
	SKR_ENC_RSA_AES_KEY_WRAP_384,
} skr_enc;

/* Exact names as on the wire; SKR_ERR_ENC_UNSUPPORTED otherwise. */
int skr_enc_parse(const char *s, skr_enc *out);
const char *skr_enc_name(skr_enc enc);
/* The OAEP/MGF1 digest for enc. */
const EVP_MD *skr_enc_md(skr_enc enc);

/* RFC 5649 with a 128/192/256-bit KEK (else SKR_ERR_INVAL); at least one
 * byte of plaintext; appends 8 * ceil(n / 8) + 8 bytes to out. */
int skr_aes_kwp_wrap(const uint8_t *kek, size_t keklen, const uint8_t *pt,
    size_t n, skr_buf *out);
/* Appends the plaintext to out (use a secret buffer). SKR_ERR_UNWRAP on any
 * integrity failure. */
int skr_aes_kwp_unwrap(const uint8_t *kek, size_t keklen, const uint8_t *ct,
    size_t n, skr_buf *out);

/* Wrap plaintext to an RSA public key; appends the ciphertext to out.
 * SKR_ERR_INVAL for a key that is not RSA, SKR_ERR_KEY_WEAK under 2048 bits,
 * SKR_ERR_UNSUPPORTED over 8192.  OpenSSL's error queue is left as found
 * (true of every function here). */
int skr_rsa_aes_wrap(EVP_PKEY *wrapping_key, skr_enc enc, const uint8_t *pt,
    size_t n, skr_buf *out);
/* Unwrap with the RSA private key; appends the plaintext to out (use a
 * secret buffer).  Any fault in the ciphertext (length, OAEP part, KWP part,
 * a different enc or key) is the one SKR_ERR_UNWRAP, and the KWP step runs
 * even when the OAEP step failed, so neither the code nor the time taken
 * tells which part was wrong.  Nothing is appended on failure. */
int skr_rsa_aes_unwrap(EVP_PKEY *wrapping_key, skr_enc enc, const uint8_t *ct,
    size_t n, skr_buf *out);

/* RSA-OAEP decrypt performed elsewhere (a TPM or HSM): decrypt in[0..inlen)
 * with OAEP using md for both hash and MGF1 and an empty label, write at most
 * *outlen bytes to out and set *outlen.  Return 0 on success. */
typedef int (*skr_oaep_decrypt_fn)(void *ctx, const EVP_MD *md,
    const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen);
/* As skr_rsa_aes_unwrap, with the OAEP step done by fn; modulus_len is the
 * wrapping key's modulus length in bytes.  out for fn holds modulus_len
 * bytes; fn failing or giving other than 32 bytes is SKR_ERR_UNWRAP. */
int skr_rsa_aes_unwrap_cb(skr_oaep_decrypt_fn fn, void *ctx,
    size_t modulus_len, skr_enc enc, const uint8_t *ct, size_t n,
    skr_buf *out);

/* key_hsm: base64url of
 * {"schema_version":"1.0","header":{"kid":K,"alg":"dir","enc":E},
 *  "ciphertext":"<base64url>"} -- members in this order, compact, appended to
 * out.  K must be non-empty UTF-8 and ct non-empty (else SKR_ERR_INVAL). */
int skr_key_hsm_encode(const char *wrapping_kid, skr_enc enc,
    const uint8_t *ct, size_t n, skr_buf *out);
/* The inverse; *kid_out (may be NULL) is malloc'd, caller frees; ct is
 * appended to ct_out.  SKR_ERR_KEY_HSM on any deviation: not strict
 * base64url or strict JSON (duplicates included), schema_version not "1.0",
 * alg not "dir", unknown enc, kid or ciphertext missing or empty, ciphertext
 * not base64url.  Members beyond these are ignored. */
int skr_key_hsm_decode(const char *s, size_t n, char **kid_out, skr_enc *enc,
    skr_buf *ct_out);

/* Release: the private bytes of key (skr_key_private_bytes) wrapped to
 * wrapping_key and packed as the key_hsm string, appended to key_hsm_out.
 * Every intermediate secret is wiped. */
int skr_release_wrap(const skr_key *key, EVP_PKEY *wrapping_key,
    const char *wrapping_kid, skr_enc enc, skr_buf *key_hsm_out);

/* The client's inverse: decode key_hsm, unwrap with wrapping_priv or, when
 * it is NULL, with fn/ctx (modulus_len bytes of OAEP), and rebuild the key
 * of type kty.  *out: caller frees with skr_key_free. */
int skr_release_unwrap(const char *key_hsm, size_t n, skr_kty kty,
    EVP_PKEY *wrapping_priv, skr_oaep_decrypt_fn fn, void *ctx,
    size_t modulus_len, skr_key **out);

#endif
