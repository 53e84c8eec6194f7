/*
 * The trusted attestation authorities (docs/attestation.md): for each, an
 * issuer URL and where its signing keys come from -- a JWKS file, an https
 * JWKS URL, or OpenID discovery ({issuer}/.well-known/openid-configuration
 * -> jwks_uri).  Key sets are fetched by one background thread (libcurl,
 * never on the event loop), refreshed periodically, refreshed early when a
 * token names an unknown kid (at most once per kid_interval per authority),
 * and on failure the last good set keeps serving while retries back off
 * exponentially.
 *
 * Token verification reads sets through skr_authorities_trust(): lookups
 * take the lock only to copy a reference, so a refresh can swap a set while
 * verifiers still use the old one.  Every function is thread-safe once the
 * set is started; create/add/set_* happen before start.
 *
 * Issuer matching: a token's iss names an authority when it equals the
 * configured issuer exactly (scheme, host, port, path, case) ignoring one
 * trailing slash on either, the rule release policies use
 * (docs/attestation.md, "Release policies").
 */
#ifndef SKR_SERVER_AUTHORITY_H
#define SKR_SERVER_AUTHORITY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jwks.h"
#include "token.h"

#define SKR_AUTHORITY_DEFAULT_REFRESH 3600   /* seconds */
#define SKR_AUTHORITY_DEFAULT_KID_INTERVAL 60
#define SKR_AUTHORITY_DEFAULT_BACKOFF_MIN 5
#define SKR_AUTHORITY_DEFAULT_FETCH_TIMEOUT 10

typedef enum skr_authority_source {
	SKR_AUTHORITY_FILE = 1, /* location: a path, or a file:// URL */
	SKR_AUTHORITY_URL,      /* location: an https URL of a JWKS */
	SKR_AUTHORITY_OIDC,     /* location unused: {issuer}/.well-known/... */
} skr_authority_source;

/* One authority's configuration.  Strings are copied by add. */
typedef struct skr_authority_config {
	const char *issuer;         /* http(s) URL */
	skr_authority_source source;
	const char *location;       /* path or URL; NULL for OIDC */
	const char *x5c_ca_file;    /* optional: PEM CAs x5c chains must meet */
	const char *https_ca_file;  /* optional: PEM CAs for HTTPS fetches
	                             * (default: the system store) */
	unsigned algs;              /* SKR_ALG_BIT mask; 0: all asymmetric */
	const char *wrapkey_claim;  /* NULL: SKR_TOKEN_WRAPKEY_CLAIM */
} skr_authority_config;

typedef struct skr_authorities skr_authorities;

/* *out: caller frees with skr_authorities_free (which stops it). */
int skr_authorities_create(skr_authorities **out);
void skr_authorities_free(skr_authorities *a);

/* Timings in seconds, before start: periodic refresh (default 1 h), the
 * least time between unknown-kid refreshes of one authority (60 s), the
 * first retry delay after a failure (5 s, doubling up to the refresh
 * period) and the fetch timeout (10 s). Values <= 0 keep the default. */
void skr_authorities_set_timing(skr_authorities *a, int64_t refresh,
    int64_t kid_interval, int64_t backoff_min, int64_t fetch_timeout);
/* A clock for tests (Unix seconds); NULL restores time(). */
void skr_authorities_set_clock(skr_authorities *a,
    int64_t (*now)(void *ctx), void *ctx);

/* Add an authority.  SKR_ERR_CONFIG for a bad issuer (not http(s), or
 * already configured), a non-https URL source, or an unreadable CA file. */
int skr_authorities_add(skr_authorities *a, const skr_authority_config *c);
size_t skr_authorities_count(const skr_authorities *a);

/* Load every authority once in the calling thread (so a server starts with
 * keys or reports why not), then start the refresh thread.  Returns SKR_OK
 * even if some loads failed: status and ready() say which. */
int skr_authorities_start(skr_authorities *a);
/* Stop and join the refresh thread; sets stay loaded. */
void skr_authorities_stop(skr_authorities *a);

/* Run, in the calling thread, every refresh that is due now; returns how
 * many were attempted.  What the refresh thread does in its loop; tests
 * that drive a fake clock call it instead of starting the thread. */
int skr_authorities_poll(skr_authorities *a);

/* 1 when every authority has a key set with at least one key. */
int skr_authorities_ready(skr_authorities *a);

/* The authority for iss: a new reference to its current key set, its
 * allowed algs, and (borrowed, valid while a lives) its wrapping-key claim
 * path.  SKR_ERR_TOKEN_ISSUER if not configured, SKR_ERR_AUTHORITY if it
 * has no keys yet.  Any out pointer may be NULL. */
int skr_authorities_lookup(skr_authorities *a, const char *iss,
    skr_jwks **keys, unsigned *algs, const char **wrapkey_claim);

/* The trust interface for skr_token_verify, backed by a (borrowed; a must
 * outlive t's use).  Unknown kids trigger a rate-limited early refresh and,
 * with kid_wait_ms > 0, wait for it. */
void skr_authorities_trust(skr_authorities *a, skr_token_trust *t);

/* Ask for a refresh of one authority now (not rate-limited: an operator's
 * request) without waiting.  SKR_ERR_TOKEN_ISSUER if unknown. */
int skr_authorities_request_refresh(skr_authorities *a, const char *issuer);
/* The same, then wait at most wait_ms for the attempt to finish (from a
 * worker thread, never the event loop).  Returns the attempt's result, or
 * SKR_ERR_AUTHORITY on timeout.  Without a running thread the refresh runs
 * in the caller. */
int skr_authorities_refresh_wait(skr_authorities *a, const char *issuer,
    int wait_ms);

/* [{ "issuer", "source", "location", "keys", "kids": [...],
 *    "last_refresh" (Unix s, or null), "last_attempt", "next_refresh",
 *    "failures", "last_error" (or null), "warnings": [...] }]
 * for /admin/authorities.  New reference, NULL on allocation failure. */
json_t *skr_authorities_status_json(skr_authorities *a);

/* Parse an --authority argument "ISSUER=SOURCE", SOURCE a file path, an
 * https URL (plain http is refused), or the word "oidc".  The issuer is
 * the text before the first '='.  Fills c with pointers into *storage
 * (caller frees with free).  SKR_ERR_CONFIG if malformed. */
int skr_authority_parse_arg(const char *arg, skr_authority_config *c,
    char **storage);

#endif
