/*
 * The HTTP layer of skrd: HTTPS (HTTP/1.1 and HTTP/2 by ALPN) with libh2o on
 * libuv, one event loop per thread, each with its own listening socket on
 * the same address (SO_REUSEPORT), so nothing on the request path is shared
 * behind a lock.
 */
#ifndef SKR_SERVER_HTTP_H
#define SKR_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

typedef struct skr_http_opts {
	const char *listen;        /* "ADDR:PORT"; "[::1]:PORT" for IPv6 */
	int threads;               /* event loops; 0: one per core */
	int plain;                 /* plain HTTP: only on a loopback address */
	const char *cert_file;     /* PEM chain of the server certificate */
	const char *key_file;      /* PEM private key */
	size_t max_body;           /* bytes (default 1 MiB) */
	size_t max_header_bytes;   /* names + values (default 16 KiB) */
	size_t max_headers;        /* count (default 64; h2o caps it at 100) */
	size_t max_connections;    /* per process (default 4096) */
	size_t body_memory;        /* request bodies held, in all (default
	                            * 64 MiB) */
	size_t conn_body_memory;   /* ... per connection (default 2 MiB) */
	size_t http2_max_streams;  /* per connection (default 16) */
	uint64_t header_timeout_ms;/* request/header read (default 10 s) */
	uint64_t idle_timeout_ms;  /* keep-alive idle (default 60 s) */
	uint64_t handshake_timeout_ms; /* TLS handshake (default 10 s) */
	uint64_t shutdown_ms;      /* graceful shutdown deadline (default 10 s) */
	/* SIGHUP: called on the main thread while the workers go on
	 * serving; with NULL, SIGHUP is logged and ignored. */
	void (*reload_cb)(void *arg);
	void *reload_arg;
} skr_http_opts;

void skr_http_opts_init(skr_http_opts *o);

/*
 * Serve srv until SIGTERM or SIGINT (SIGHUP calls o->reload_cb), then stop
 * accepting, let in-flight
 * requests finish (at most shutdown_ms) and return.  Prints
 * "skrd: listening on https://ADDR:PORT" on standard error when ready.
 * ready_cb (may be NULL) runs once on the main thread at that point.
 * Connections still open at the deadline are cut; if a handler on the
 * thread pool still runs ABANDON_MS (30 s) later, the process exits with
 * status 1 rather than free what the handler uses.
 * While serving, srv->metrics is a registry made here (unless the caller
 * set one) and freed on return.
 * Returns SKR_OK or an error (bad address, port in use, TLS files).
 */
int skr_http_serve(skr_server *srv, const skr_http_opts *o,
    void (*ready_cb)(void *arg, const char *url), void *arg);

#endif
