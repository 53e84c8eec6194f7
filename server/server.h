/*
 * skr_server: the state one skrd process serves from.  Created by skrd.c from
 * the configuration and data directory, shared read-only by every event loop
 * thread once serving starts (mutable parts carry their own locks or are per
 * thread).
 */
#ifndef SKR_SERVER_SERVER_H
#define SKR_SERVER_SERVER_H

#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "jws.h"

struct skr_store;
struct skr_authorities;
struct skr_request;
struct skr_response;
struct skr_ratelimit;
struct skr_metrics;
struct skr_auditsink;
struct skr_issuer;
struct skr_snp_trust;
struct skr_kds;

/* How much a denied release caller is told (docs/attestation.md, "Release
 * policies"). */
#define SKR_DENY_NAMES 0  /* the failing claim names (default) */
#define SKR_DENY_NONE 1   /* only that the policy was not satisfied */

typedef struct skr_server {
	struct skr_store *store;           /* owned */
	struct skr_authorities *authorities; /* owned; may be NULL */
	char base_url[256];                /* "https://host:port", no slash */

	/* Release signing (docs/release.md). */
	EVP_PKEY *sign_key;                /* owned */
	skr_alg sign_alg;
	json_t *sign_header;               /* kid, x5t, x5t#S256, x5c, typ */

	/* Settings a reload (SIGHUP, on the main thread) changes while the
	 * workers read them: read with SKR_SETTING, written with
	 * SKR_SETTING_SET.  The rest are set before the workers start. */
	int64_t token_skew;                /* seconds, default 60 */
	int64_t nonce_ttl;                 /* seconds, default 300 */
	int64_t retention;                 /* soft-delete days in seconds */
	int64_t purge_interval;            /* seconds between sweeps (0: none) */
	int require_releaser;              /* release needs a bearer token */
	int deny_detail;                   /* SKR_DENY_* */
	int metrics_public;                /* GET /metrics without a token */
	/* Restart-only settings. */
	int auth_fail_limit;               /* failures per window per peer */
	int auth_fail_window;              /* seconds */
	int release_limit;                 /* release attempts per window per
	                                    * peer; 0: unlimited */
	int release_window;                /* seconds */
	int ratelimit_ipv6_prefix;         /* IPv6 network counted as one
	                                    * peer by the limiters */

	/* Clock offset for tests; always 0 unless built with -Dtest_clock
	 * (see skr_server_now). */
	int64_t clock_offset;

	/* Dev mode (skrd --dev, dev.c): the handler of POST /dev/token and
	 * the test authority it mints with.  NULL in every other server, whose
	 * program does not link the dev-mode library: the serve path cannot
	 * mint tokens. */
	int (*dev_token)(struct skr_server *srv, struct skr_request *req,
	    struct skr_response *resp);
	void *dev;                         /* owned by dev.c */
	struct skr_ratelimit *auth_limit;  /* made by auth.c on first use */
	struct skr_ratelimit *release_limiter; /* made by release.c */
	struct skr_ratelimit *nonce_limiter;   /* made by release.c */
	int audit_verifying;               /* GET /admin/audit/verify runs
	                                    * (api_admin.c; atomic) */
	int replicated;                    /* the open store is shared by
	                                    * replicas (docs/availability.md):
	                                    * requests run whole on the pool
	                                    * (atomic) */
	int stopping;                      /* SIGTERM/SIGINT: the HTTP layer
	                                    * drains (atomic) */

	/* skrd's attestation endpoint (docs/snp.md), set up by
	 * skr_attest_setup (api_attest.h): the issuer of its tokens (NULL:
	 * the endpoint is off), the AMD roots it verifies against, the VCEK
	 * fetcher (NULL: off).  All owned. */
	struct skr_issuer *issuer;
	struct skr_snp_trust *snp_trust;
	struct skr_kds *kds;
	struct skr_ratelimit *attest_limiter;  /* made by api_attest.c */

	struct skr_release_state *release_state; /* made by release.c */

	/* Operations (metrics.h, auditsink.h). */
	struct skr_metrics *metrics;       /* made and freed by the HTTP layer
	                                    * while serving; may be NULL */
	struct skr_auditsink *auditsink;   /* owned by skrd.c; may be NULL */
	/* The seal (sealctl.h): owned by skrd.c; NULL when the server has
	 * none and cannot be sealed.  While sealed, store is NULL. */
	struct skr_sealctl *seal;
} skr_server;

#define SKR_SETTING(srv, field) \
	__atomic_load_n(&(srv)->field, __ATOMIC_RELAXED)
#define SKR_SETTING_SET(srv, field, v) \
	__atomic_store_n(&(srv)->field, (v), __ATOMIC_RELAXED)

/* Defaults for every setting; pointers NULL. */
void skr_server_init(skr_server *srv);
/* Free what srv owns (store closed, keys freed); srv itself is the
 * caller's. */
void skr_server_clear(skr_server *srv);

/* Test builds (-Dtest_clock=true) only: the offset SKR_TEST_NOW or
 * SKR_TEST_CLOCK_OFFSET asks for; always 0 otherwise.  skr_server_init
 * stores it in clock_offset. */
int64_t skr_server_test_clock_offset(void);
/* 1 in a test_clock build. */
int skr_server_has_test_clock(void);

/* Current time in unix seconds as the server sees it. */
int64_t skr_server_now(const skr_server *srv);

/* The current authority set: a reload swaps the pointer (skrd.c) and keeps
 * the old set alive, so read it once per request through this. */
static inline struct skr_authorities *
skr_server_authorities(const skr_server *srv)
{
	return __atomic_load_n(&srv->authorities, __ATOMIC_ACQUIRE);
}

/* 1 when every configured authority has keys (or none is configured). */
int skr_server_authorities_ready(const skr_server *srv);

#endif
