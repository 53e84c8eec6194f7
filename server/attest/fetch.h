/*
 * One bounded HTTPS GET, as skrd fetches what it trusts from outside: an
 * authority's OpenID configuration and key set (authority.c), AMD's VCEKs
 * and chains (server/kds.c).  https only, no redirects (the configured URL
 * is the source), TLS 1.2 or later with the AEAD suites skrd itself serves
 * (tls.h), a size cap, timeouts, and an optional way to give up early.
 * Blocking: call it from a thread of its own, never an event loop.
 */
#ifndef SKR_SERVER_ATTEST_FETCH_H
#define SKR_SERVER_ATTEST_FETCH_H

#include <stddef.h>

#include "buf.h"

typedef struct skr_fetch_opts {
	const char *ca_file; /* PEM CAs for the server; NULL: the system's */
	long timeout_ms;     /* connect and whole transfer, each */
	size_t max;          /* the most body bytes taken */
	/* Polled during the transfer: nonzero aborts it.  May be NULL. */
	int (*stop)(void *arg);
	void *stop_arg;
	int err;             /* what a failure returns (an SKR_ERR_* code) */
} skr_fetch_opts;

/*
 * GET url into out (reset first).  SKR_OK only for a 200 answer of at
 * most o->max bytes; else o->err (SKR_ERR_NOMEM when memory is short),
 * with why saying what happened (URL, curl's error, size or status).
 * *status (may be NULL): the HTTP status, 0 when there was none.
 */
int skr_fetch_https(const char *url, const skr_fetch_opts *o, skr_buf *out,
    long *status, skr_buf *why);

#endif
