/*
 * skr_key: one piece of key material -- an RSA or EC key (an EVP_PKEY,
 * public or private) or an oct (symmetric) key -- and its JSON Web Key form
 * (RFC 7517/7518), generation, RFC 7638 thumbprints and the byte forms that
 * storage and release use.  Only keys/ touches raw private material; the rest
 * of skr holds skr_key pointers and asks keys/ for sealed or wrapped results.
 *
 * Errors are SKR_ERR_* codes; no function leaves entries on OpenSSL's
 * per-thread error queue.  An skr_key is immutable apart from its kid, so
 * one may be read from several threads at once.
 */
#ifndef SKR_KEYS_JWK_H
#define SKR_KEYS_JWK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "buf.h"

typedef enum skr_kty {
	SKR_KTY_NONE = 0,
	SKR_KTY_RSA,
	SKR_KTY_EC,
	SKR_KTY_OCT,
} skr_kty;

typedef struct skr_key skr_key;

/* Parse flags. */
#define SKR_JWK_PUBLIC 0x1          /* ignore private members if present;
                                       an oct key is then JWK_INVALID */
#define SKR_JWK_REQUIRE_PRIVATE 0x2 /* refuse a key without its private part
                                       (SKR_ERR_KEY_NO_PRIVATE) */

/* "RSA"/"RSA-HSM" -> SKR_KTY_RSA etc; SKR_KTY_NONE if unknown. */
skr_kty skr_kty_parse(const char *s);
/* "RSA", "EC", "oct" (hsm = 0) or "RSA-HSM", "EC-HSM", "oct-HSM". */
const char *skr_kty_name(skr_kty kty, int hsm);

/* Parse a JWK object.  RSA: n, e (+ d, p, q, dp, dq, qi: all or none);
 * leading zero octets on n or e are tolerated (Key Vault emits e =
 * "AAEAAQ"); RSA under 2048 bits is SKR_ERR_KEY_WEAK, over 8192 bits
 * SKR_ERR_JWK_UNSUPPORTED; e odd, > 1, at most 64 bits; multi-prime
 * ("oth") private keys SKR_ERR_JWK_UNSUPPORTED.  EC: crv
 * P-256/P-384/P-521, x, y of the exact field length, point on the curve
 * (+ d of the field length, matching the point).  oct: k of 16, 24 or 32
 * bytes (else SKR_ERR_JWK_UNSUPPORTED).  Unknown kty or crv:
 * SKR_ERR_JWK_UNSUPPORTED; anything else malformed: SKR_ERR_JWK_INVALID.
 * kid is kept if present.  *out: caller frees with skr_key_free. */
int skr_jwk_parse(const json_t *jwk, unsigned flags, skr_key **out);
int skr_jwk_parse_text(const char *s, size_t n, unsigned flags, skr_key **out);

/* 1 when the JWK object jwk says it is for encryption: "use": "enc", or
 * "encrypt" among its "key_ops" (RFC 7517, 4.2 and 4.3); else 0. */
int skr_jwk_json_encrypts(const json_t *jwk);

/* Emit the JWK: public members always (oct has none: "kty" and "kid" only);
 * private members only when with_private (tests and key import round trips;
 * jansson does not wipe, so never on a path that outlives the request).
 * New reference. */
json_t *skr_jwk_emit(const skr_key *key, int with_private);

/* RFC 7638 thumbprint with the given digest (EVP_sha256() normally) into
 * out, which holds EVP_MAX_MD_SIZE bytes; *outlen is the digest length. */
int skr_jwk_thumbprint(const skr_key *key, const EVP_MD *md, uint8_t *out,
    size_t *outlen);

/* Generate: RSA bits 2048/3072/4096 (e = 65537); EC bits 256/384/521;
 * oct bits 128/192/256 (CSPRNG).  Other sizes: SKR_ERR_JWK_UNSUPPORTED.
 * *out: caller frees with skr_key_free. */
int skr_key_generate(skr_kty kty, int bits, skr_key **out);

/* Take a reference to an RSA or EC EVP_PKEY (the caller keeps its own). */
int skr_key_from_pkey(EVP_PKEY *pkey, skr_key **out);
/* PKCS#8 DER (RSA, EC) or raw bytes (oct) -> key.  The DER must hold a
 * private key of type kty and nothing after it (else SKR_ERR_JWK_INVALID). */
int skr_key_from_private_bytes(skr_kty kty, const uint8_t *p, size_t n,
    skr_key **out);
/* The inverse, appended to out, which must be a secret buffer
 * (SKR_ERR_INVAL otherwise): the release plaintext of docs/release.md and what
 * storage seals.  SKR_ERR_KEY_NO_PRIVATE for a public-only key. */
int skr_key_private_bytes(const skr_key *key, skr_buf *out);
/* PEM: PKCS#8 private or SubjectPublicKeyInfo public (RSA, EC only),
 * appended to out (use a secret buffer for a private key).  Reading takes
 * the first private key, else the first public key; an encrypted PEM is
 * refused (SKR_ERR_JWK_INVALID), never prompted for. */
int skr_key_to_pem(const skr_key *key, int with_private, skr_buf *out);
int skr_key_from_pem(const char *pem, size_t n, skr_key **out);

/*
 * The extended key usage of a release-signing certificate:
 * id-kp-documentSigning (RFC 9336).  skrd's CA gives it to the
 * release-signing certificates and to nothing else, so a client that trusts
 * the CA for release responses does not trust the CA's other certificates
 * (the TLS server's) to sign one.
 */
#define SKR_OID_RELEASE_SIGNING "1.3.6.1.5.5.7.3.36"

/* 1 when cert (an OpenSSL X509 *) may sign release responses: it has the
 * extended key usage SKR_OID_RELEASE_SIGNING, and digitalSignature if it
 * has a key usage at all; else 0. */
int skr_cert_is_release_signing(const void *cert);

/* The public key of an X.509 certificate (JWKS x5c entries, release-signing
 * certificates); RSA under 2048 bits is SKR_ERR_KEY_WEAK.  DER: exactly one
 * certificate; PEM: the first.  Nothing about the certificate is checked
 * beyond its encoding. */
int skr_key_from_x509_der(const uint8_t *der, size_t n, skr_key **out);
int skr_key_from_x509_pem(const char *pem, size_t n, skr_key **out);
/* SubjectPublicKeyInfo DER of an RSA or EC key, appended to out. */
int skr_key_public_spki_der(const skr_key *key, skr_buf *out);

skr_kty skr_key_kty(const skr_key *key);
/* RSA modulus bits, EC field bits (256/384/521), oct key bits. */
int skr_key_bits(const skr_key *key);
/* "P-256", "P-384", "P-521" for EC keys, else NULL. Static storage. */
const char *skr_key_crv(const skr_key *key);
int skr_key_has_private(const skr_key *key);
/* Borrowed; NULL for oct. Valid while key lives. */
EVP_PKEY *skr_key_pkey(const skr_key *key);
/* Borrowed kid or NULL. */
const char *skr_key_kid(const skr_key *key);
int skr_key_set_kid(skr_key *key, const char *kid);
/* 1 when both keys have the same public part (oct: same bytes, in
 * constant time). */
int skr_key_public_equal(const skr_key *a, const skr_key *b);
/* Wipes private material; NULL is fine. */
void skr_key_free(skr_key *key);

#endif
