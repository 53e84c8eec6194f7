/*
 * An authority's signing keys: a JSON Web Key Set (RFC 7517 section 5)
 * parsed into an immutable, reference-counted set, so an authority can swap
 * in a refreshed set while verifiers still hold the old one.
 *
 * Entries may give n/e, x/y/crv, or only an x5c chain (the leaf
 * certificate's key is used; RFC 7517 4.7).  When a CA store is given,
 * every entry must carry an x5c chain that verifies against it.  Entries
 * that cannot be used -- RSA under 2048 bits, unknown kty, symmetric keys,
 * no kid, use other than "sig", an "alg" that is not an asymmetric
 * signature algorithm fitting the key, a bad certificate or chain, a kid
 * seen before -- are skipped and described in the set's warnings; the rest load.
 */
#ifndef SKR_SERVER_JWKS_H
#define SKR_SERVER_JWKS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "buf.h"
#include "jwk.h"

/* Largest JWKS document accepted. */
#define SKR_JWKS_MAX_BYTES ((size_t)1024 * 1024)

typedef struct skr_jwks skr_jwks;

/* Parse a JWKS document.  ca (may be NULL) is borrowed for the call: when
 * set, x5c chains are verified against it at time at (Unix seconds; 0 means
 * now).  Errors (the document itself is unusable): SKR_ERR_TOO_LARGE,
 * SKR_ERR_JSON*, SKR_ERR_JWK_INVALID (not {"keys": [...]}), SKR_ERR_NOMEM;
 * a reason is appended to why (may be NULL).  A document whose every entry
 * was skipped still parses: check skr_jwks_count().  *out holds one
 * reference; release with skr_jwks_unref. */
int skr_jwks_parse(const char *text, size_t n, X509_STORE *ca, int64_t at,
    skr_jwks **out, skr_buf *why);
int skr_jwks_from_json(const json_t *doc, X509_STORE *ca, int64_t at,
    skr_jwks **out, skr_buf *why);

/* Thread-safe reference counting; unref of NULL is fine. */
skr_jwks *skr_jwks_ref(skr_jwks *set);
void skr_jwks_unref(skr_jwks *set);

size_t skr_jwks_count(const skr_jwks *set);
/* Borrowed; valid while the caller holds a reference to set.  NULL when
 * no loaded key has that kid (exact, case-sensitive match). */
const skr_key *skr_jwks_find(const skr_jwks *set, const char *kid);
/* The same, also giving the algorithms the entry allows: SKR_ALG_BIT of its
 * "alg" member (RFC 7517 4.4), 0 when it names none. */
const skr_key *skr_jwks_find_alg(const skr_jwks *set, const char *kid,
    unsigned *algs);
const skr_key *skr_jwks_key(const skr_jwks *set, size_t i);

/* Why entries were skipped: "keys[2] (kid \"x\"): RSA key smaller than
 * 2048 bits".  Borrowed, valid while set is referenced. */
size_t skr_jwks_warning_count(const skr_jwks *set);
const char *skr_jwks_warning(const skr_jwks *set, size_t i);

/* Load a PEM CA bundle file into a new X509_STORE (caller frees with
 * X509_STORE_free).  SKR_ERR_IO, SKR_ERR_CRYPTO (no certificate in it). */
int skr_jwks_load_ca(const char *path, X509_STORE **out);

#endif
