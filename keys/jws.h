/*
 * Compact JWS (RFC 7515) with the asymmetric JWA algorithms (RFC 7518):
 * RS256/384/512, PS256/384/512, ES256/384/512.  ES signatures are in the JOSE
 * r||s form, not DER.  "none" and HS* are never accepted: they cannot be
 * parsed into an skr_alg at all.
 *
 * Verification takes the key from the caller and checks that the header's
 * alg fits that key (RSA -> RS* or PS*; EC P-256 -> ES256, P-384 -> ES384,
 * P-521 -> ES512) and, if the caller gives an allowed set, is in it.  The
 * token never chooses the key or the algorithm family.  No function leaves
 * entries on OpenSSL's per-thread error queue.
 */
#ifndef SKR_KEYS_JWS_H
#define SKR_KEYS_JWS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "buf.h"
#include "jwk.h"

typedef enum skr_alg {
	SKR_ALG_INVALID = 0,
	SKR_ALG_RS256,
	SKR_ALG_RS384,
	SKR_ALG_RS512,
	SKR_ALG_PS256,
	SKR_ALG_PS384,
	SKR_ALG_PS512,
	SKR_ALG_ES256,
	SKR_ALG_ES384,
	SKR_ALG_ES512,
} skr_alg;

#define SKR_ALG_BIT(a) (1u << (a))
#define SKR_ALG_ALL_ASYMMETRIC 0x3feu

/* Exact JWA name -> alg; "none", HS* and anything else: SKR_ERR_JWS_ALG. */
int skr_alg_parse(const char *s, skr_alg *out);
const char *skr_alg_name(skr_alg alg);
/* 1 when alg can be used with pkey's type and size. */
int skr_alg_fits_key(skr_alg alg, EVP_PKEY *pkey);

/* A parsed, not yet verified, compact JWS. */
typedef struct skr_jws {
	json_t *header;       /* owned */
	json_t *payload;      /* owned; NULL if the payload is not a JSON object */
	skr_buf payload_raw;  /* decoded payload bytes */
	skr_buf signature;    /* decoded signature bytes */
	size_t signing_len;   /* length of "header.payload" in the input */
	char *signing_input;  /* owned copy of "header.payload" */
	skr_alg alg;          /* from the header, already known to be asymmetric */
} skr_jws;

/* Parse structure only: exactly three parts, strict base64url, header a JSON
 * object (strict JSON: no duplicate members) with a known asymmetric alg,
 * total length <= max (0: no limit beyond the buffer default).  Errors:
 * SKR_ERR_JWS_MALFORMED, SKR_ERR_JWS_ALG, SKR_ERR_TOO_LARGE, JSON errors. */
int skr_jws_parse(const char *compact, size_t n, size_t max, skr_jws *out);
/* As skr_jws_parse, but the payload is left as bytes (payload stays NULL),
 * for a caller that parses it under its own rules. */
int skr_jws_parse_raw(const char *compact, size_t n, size_t max,
    skr_jws *out);
void skr_jws_clear(skr_jws *jws);

/* Verify jws against pkey.  allowed is a mask of SKR_ALG_BIT()s, 0 meaning
 * every alg that fits the key.  SKR_ERR_JWS_ALG if the header's alg does not
 * fit the key or the mask, SKR_ERR_JWS_MALFORMED if the header has "crit"
 * (no extension is implemented, RFC 7515 4.1.11), SKR_ERR_JWS_SIGNATURE if
 * the signature fails (an RS/PS signature not of the modulus length, an ES
 * one not exactly 2 * field bytes of r||s, a PS salt not the hash length). */
int skr_jws_verify(const skr_jws *jws, EVP_PKEY *pkey, unsigned allowed);

/* Sign payload with pkey under alg; header is {"alg":..} plus the members of
 * extra_header (may be NULL; e.g. kid, typ, x5c, x5t, x5t#S256). Appends the
 * compact serialization to out.  extra_header is only read (not even its
 * reference counts are touched), so threads may share one. */
int skr_jws_sign(EVP_PKEY *pkey, skr_alg alg, const json_t *extra_header,
    const uint8_t *payload, size_t n, skr_buf *out);

/* The protected header skr_jws_sign makes for alg and extra_header, as
 * its base64url text (appended to out): made once, for signing many
 * payloads with skr_jws_sign_encoded. */
int skr_jws_header_encode(skr_alg alg, const json_t *extra_header,
    skr_buf *out);
/* skr_jws_sign with the header already encoded (hdr, hlen bytes of
 * base64url, borrowed); the same output.  On failure out is as it was. */
int skr_jws_sign_encoded(EVP_PKEY *pkey, skr_alg alg, const char *hdr,
    size_t hlen, const uint8_t *payload, size_t n, skr_buf *out);

/* As skr_jws_sign with payload serialised as compact JSON. */
int skr_jws_sign_json(EVP_PKEY *pkey, skr_alg alg, const json_t *extra_header,
    const json_t *payload, skr_buf *out);

#endif
