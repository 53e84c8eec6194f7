/*
 * Shamir's secret sharing over GF(2^8) (docs/sealing.md, "Shamir"): a
 * 32-byte secret split into n shares of which any k recover it, and the
 * text form of one share.  Pure: no I/O, no state; the arithmetic runs in
 * constant time for every secret-dependent value (no table lookups, no
 * branches on share or secret bytes).
 *
 * A share is the point (x, y) of one polynomial per secret byte, with the
 * split's identifier (so that a share of another store is recognised), k
 * and n.  Its text is "skrs1-" and the base64url (no padding) of
 *
 *   version (1) || id (8) || k (1) || n (1) || x (1) || y (32) ||
 *   check (4: the first bytes of SHA-256("skr/v1/share\0" || what precedes))
 *
 * The check catches a mistyped share; it is no secret and authenticates
 * nothing: whether a share belongs to a split is for the caller to check
 * against verifiers it keeps (seal_shamir.c).
 */
#ifndef SKR_SEAL_SHAMIR_H
#define SKR_SEAL_SHAMIR_H

#include <stddef.h>
#include <stdint.h>

#define SKR_SHAMIR_MAX 16
#define SKR_SHAMIR_SECRET_LEN 32
#define SKR_SHARE_ID_LEN 8
#define SKR_SHARE_TEXT_MAX 96 /* NUL included */

typedef struct skr_share {
	uint8_t id[SKR_SHARE_ID_LEN];
	uint8_t k, n, x;
	uint8_t y[SKR_SHAMIR_SECRET_LEN]; /* secret: wipe after use */
} skr_share;

/*
 * Split secret into n shares (out[0..n-1], x = 1..n) of which any k
 * recover it, 2 <= k <= n <= SKR_SHAMIR_MAX (else SKR_ERR_INVAL).  The
 * polynomial coefficients come from the CSPRNG and are wiped.
 */
int skr_shamir_split(const uint8_t secret[SKR_SHAMIR_SECRET_LEN], int k,
    int n, const uint8_t id[SKR_SHARE_ID_LEN], skr_share *out);

/*
 * Recover the secret from count shares of one split: exactly k of them
 * with distinct x are used, the first found.  Fewer than k distinct
 * shares, shares of different splits or settings: SKR_ERR_INVAL.  (With
 * fewer than k shares the secret is undetermined: any value is as likely.)
 */
int skr_shamir_combine(const skr_share *shares, size_t count,
    uint8_t secret[SKR_SHAMIR_SECRET_LEN]);

/* The text of s, NUL-terminated, into out (SKR_SHARE_TEXT_MAX bytes). */
int skr_share_encode(const skr_share *s, char out[SKR_SHARE_TEXT_MAX]);

/*
 * Parse the text of one share (len bytes; surrounding white space, and a
 * leading "share I/N: " as skrd init prints it, are allowed).  Anything
 * else -- a wrong prefix, length, encoding or check, x outside 1..n, k
 * outside 2..n, n over SKR_SHAMIR_MAX -- is SKR_ERR_SHARE_MALFORMED.
 */
int skr_share_parse(const char *text, size_t len, skr_share *out);

/* GF(2^8) multiplication (the AES polynomial), constant time; for tests. */
uint8_t skr_gf256_mul(uint8_t a, uint8_t b);
uint8_t skr_gf256_inv(uint8_t a);

#endif
