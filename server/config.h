/*
 * skrd's configuration file: `key = value` lines, `#` comments, and one
 * `[authority]` section per trusted attestation authority.  docs/skrd.md
 * lists every key.  Parsing is a pure function; skrd.c applies command-line
 * flags on top of the result.
 */
#ifndef SKR_SERVER_CONFIG_H
#define SKR_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SKR_CONFIG_MAX_AUTHORITIES 32

typedef struct skr_config_authority {
	char *issuer;
	char *source;         /* file path, https URL, or "oidc" */
	char *x5c_ca;         /* optional PEM bundle for x5c chains */
	char *https_ca;       /* optional PEM bundle for HTTPS fetches */
	char *algs;           /* optional comma list: "RS256,ES256" */
	char *wrapkey_claim;  /* optional claim path */
} skr_config_authority;

typedef struct skr_config {
	char *data;           /* data directory */
	char *listen;         /* ADDR:PORT */
	char *public_url;     /* scheme://host[:port] clients use, or NULL */
	int64_t threads;      /* 0: one per core */
	int plain_http;       /* loopback only */
	int64_t max_body;     /* bytes */
	int64_t max_header_bytes; /* bytes of header names and values */
	int64_t max_headers;      /* header fields per request */
	int64_t max_connections;
	int64_t max_body_memory;  /* request bodies held, in all (bytes) */
	int64_t max_connection_body_memory; /* ... per connection */
	int64_t http2_max_streams; /* streams with a request in the works */
	int64_t header_timeout;   /* seconds */
	int64_t idle_timeout;     /* seconds */
	int64_t shutdown_timeout; /* seconds */
	int64_t token_skew;       /* seconds */
	int64_t nonce_ttl;        /* seconds */
	int64_t retention_days;   /* soft delete */
	int64_t purge_interval;   /* seconds between purge sweeps; 0: off */
	char *release_alg;        /* RS256 | ES256 | PS256 */
	int require_releaser;
	char *deny_detail;        /* names | none */
	char *log_level;          /* debug | info | warn | error */
	int64_t auth_fail_limit;
	int64_t auth_fail_window;
	int64_t release_limit;    /* release attempts per peer per window;
	                           * 0: unlimited */
	int64_t release_window;   /* seconds */
	int64_t ratelimit_ipv6_prefix; /* IPv6 network counted as one peer */
	int64_t store_map_size;   /* LMDB map size in bytes; 0: default */
	int64_t audit_commit_interval_us; /* group commit pacing; 0: none */
	char *metrics_auth;       /* token | none */
	char *audit_file;         /* JSON-lines audit sink, or NULL */
	char *audit_file_fsync;   /* always | never */
	char *audit_file_failure; /* continue | refuse */
	int audit_stdout;         /* audit records on standard output */
	/* skrd's attestation endpoint (docs/snp.md). */
	int attest_snp;           /* serve it (default true) */
	int64_t attest_token_lifetime; /* seconds */
	char *snp_roots;          /* PEM ARKs replacing the built-in pins */
	char *snp_certs;          /* PEM ASK/ASVK/ARK candidates */
	char *snp_kds;            /* "off" or https://host of a KDS */
	char *snp_kds_ca;         /* PEM CAs for KDS fetches */
	char *snp_cache_dir;      /* fetched VCEKs; NULL: DATA/snp-cache */
	skr_config_authority authorities[SKR_CONFIG_MAX_AUTHORITIES];
	size_t nauthorities;
} skr_config;

/* Defaults (strings NULL mean the built-in default). */
void skr_config_init(skr_config *c);
void skr_config_clear(skr_config *c);

/*
 * Parse n bytes of configuration text into c (which holds defaults or
 * earlier values).  On error, SKR_ERR_CONFIG with "line N: reason" appended
 * to why.  Unknown keys, duplicate keys, values out of range, a missing '='
 * and an authority without issuer or source are all errors.
 */
int skr_config_parse(const char *text, size_t n, skr_config *c, skr_buf *why);

/* Read and parse a file. */
int skr_config_load(const char *path, skr_config *c, skr_buf *why);

/* Set one key (as in the file) -- used for command-line overrides. */
int skr_config_set(skr_config *c, const char *key, const char *value,
    skr_buf *why);

/* Settings that must agree with each other (a connection can hold one
 * whole max_body; the process one connection's worth).  SKR_ERR_CONFIG
 * with the reason appended to why. */
int skr_config_check(const skr_config *c, skr_buf *why);

#endif
