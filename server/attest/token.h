/*
 * Attestation token verification (docs/attestation.md, "Tokens") and the
 * token-side parts of a release (docs/release.md): the wrapping key and the
 * nonce.
 *
 * A token is accepted only when all of these hold: at most 128 KiB; a
 * well-formed compact JWS whose header and payload are strict JSON (no
 * duplicate members, bounded depth, UTF-8) and whose payload is an object;
 * no "crit" and no embedded "jwk" in the header; "jku"/"x5u", when present,
 * on the issuer's own origin (they are never fetched or used); iss names a
 * trusted authority; kid selects a key of THAT authority; alg is asymmetric,
 * allowed by the authority and fits the key; the signature verifies; exp is
 * present and in the future, nbf and iat (if present) not in the future,
 * each within the clock skew.
 *
 * Issuer matching: the token's iss is looked up by the trust interface; the
 * authority set (authority.h) matches it against configured issuers exactly
 * (scheme, host, port, path and case) except for one trailing slash, the same
 * rule the policy uses for its "authority" (docs/attestation.md, "Release
 * policies").
 */
#ifndef SKR_SERVER_TOKEN_H
#define SKR_SERVER_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "jdoc.h"
#include "jwk.h"
#include "jwks.h"
#include "jws.h"

#define SKR_TOKEN_MAX_BYTES ((size_t)128 * 1024)
#define SKR_TOKEN_DEFAULT_SKEW 60
#define SKR_TOKEN_MAX_DEPTH 32
#define SKR_TOKEN_WRAPKEY_CLAIM "x-ms-runtime.keys"
#define SKR_TOKEN_NONCE_CLAIM "x-ms-runtime.client-payload.nonce"

/*
 * Where the verifier finds trusted authorities.  lookup resolves an issuer
 * to its current key set (a new reference the verifier releases) and its
 * allowed algorithms (mask of SKR_ALG_BIT(); 0 means every asymmetric alg);
 * SKR_ERR_TOKEN_ISSUER when the issuer is not trusted, SKR_ERR_AUTHORITY
 * when it is but has no keys yet.  unknown_kid (may be NULL) is called once
 * when kid is not in that set: it may refresh the set (waiting at most
 * wait_ms; 0 means only ask for a refresh) and return a new reference in
 * *keys, or SKR_ERR_TOKEN_KID.
 */
typedef struct skr_token_trust {
	int (*lookup)(void *ctx, const char *iss, skr_jwks **keys,
	    unsigned *algs);
	int (*unknown_kid)(void *ctx, const char *iss, const char *kid,
	    int wait_ms, skr_jwks **keys);
	void *ctx;
} skr_token_trust;

/* A single authority held by the caller, for skrctl and tests.  issuer
 * NULL trusts whatever iss the token names (offline evaluation only). */
typedef struct skr_token_static {
	const char *issuer; /* borrowed */
	skr_jwks *keys;     /* borrowed */
	unsigned algs;
} skr_token_static;

/* Point t at s; both are borrowed and must outlive t's use. */
void skr_token_trust_static(skr_token_trust *t, skr_token_static *s);

typedef struct skr_token_opts {
	int64_t now;     /* Unix seconds; 0 means the current time */
	int64_t skew;    /* seconds of clock skew tolerated (>= 0) */
	int kid_wait_ms; /* passed to unknown_kid */
	int doc_only;    /* 1: leave claims NULL and read the payload through
	                  * doc alone (the release path: no jansson tree) */
} skr_token_opts;

#define SKR_TOKEN_OPTS_INIT { 0, SKR_TOKEN_DEFAULT_SKEW, 0, 0 }

/* A verified token. Every member is owned by the struct. */
typedef struct skr_token {
	json_t *claims;     /* the payload object; NULL with opts.doc_only */
	skr_jdoc doc;       /* the payload as parsed (jdoc.h); its root is
	                     * the claims object */
	skr_buf payload;    /* the payload bytes doc points into */
	char *nonce;        /* SKR_TOKEN_NONCE_CLAIM when a string, or NULL */
	char *iss;
	char *kid;
	char *jti;          /* NULL when absent */
	/* x-ms-isolation-tee.x-ms-attestation-type when present (it names the
	 * hardware TEE), else x-ms-attestation-type; NULL when neither. */
	char *attestation_type;
	skr_alg alg;
	int has_iat, has_nbf;
	int64_t iat, nbf, exp;
	uint8_t sha256[32];     /* of the token text as received */
	char sha256_hex[65];
} skr_token;

/* Verify n bytes of compact JWS.  opts may be NULL (defaults).  On failure a
 * short reason (never key material) is appended to why (may be NULL).
 * Errors: SKR_ERR_TOKEN_TOO_LARGE, _MALFORMED, _ALG, _HEADER, _ISSUER, _KID,
 * _SIGNATURE, _EXPIRED, _NOT_YET_VALID, _IAT, SKR_ERR_KEY_WEAK,
 * SKR_ERR_AUTHORITY, SKR_ERR_NOMEM.  *out: caller frees with
 * skr_token_free. */
int skr_token_verify(const char *text, size_t n, const skr_token_trust *trust,
    const skr_token_opts *opts, skr_token **out, skr_buf *why);
void skr_token_free(skr_token *tok);

/* The key a release wraps to (docs/release.md): the first entry of the array
 * at claim_path (NULL: "x-ms-runtime.keys") with kty RSA, a kid, use "enc" or
 * key_ops containing "encrypt", that parses as an RSA public key of at
 * least 2048 bits.  SKR_ERR_WRAPKEY_MISSING when no entry matches those
 * selectors; SKR_ERR_WRAPKEY_INVALID when entries match them but none is
 * usable (too small, malformed).  *out (caller frees with skr_key_free) and
 * *kid_out (caller frees with free; may be NULL) on success. */
int skr_token_wrapping_key(const skr_token *tok, const char *claim_path,
    skr_key **out, char **kid_out);

/* x-ms-runtime.client-payload.nonce, or NULL.  Borrowed from tok. */
const char *skr_token_nonce(const skr_token *tok);

#endif
