/*
 * A client of etcd's v3 JSON gateway over libcurl (docs/availability.md,
 * "How skrd talks to etcd"): POSTs of the messages etcd_codec.h builds to
 * one endpoint after another, with TLS, client certificates and etcd's
 * own users, and the watch stream.  Every call blocks its thread; skrd
 * calls it from the libuv pool and from the store's own threads, never
 * from an event loop.
 *
 * Threads: an skr_etcd is shared by every thread.  Calls take a curl handle
 * from a small pool (so connections are kept and reused) and give it back.
 */
#ifndef SKR_SERVER_STORE_ETCD_CLIENT_H
#define SKR_SERVER_STORE_ETCD_CLIENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "etcd_codec.h"

#define SKR_ETCD_ENDPOINTS_MAX 16

typedef struct skr_etcd_opts {
	const char *endpoints;      /* "https://h1:2379,https://h2:2379" */
	const char *cacert;         /* PEM CA of the endpoints, or NULL */
	const char *cert;           /* client certificate (PEM), or NULL */
	const char *key;            /* its key (PEM), or NULL */
	const char *user;           /* etcd user, or NULL: no etcd auth */
	const char *password;       /* with user; copied into locked memory */
	long request_timeout_ms;    /* one request (default 2000) */
	long connect_timeout_ms;    /* one connection (default 1000) */
	long deadline_ms;           /* one call over every endpoint
	                             * (default 5000) */
} skr_etcd_opts;

typedef struct skr_etcd skr_etcd;

/* Check and copy the options (every endpoint an http:// or https:// URL
 * without a path; at most SKR_ETCD_ENDPOINTS_MAX): SKR_ERR_CONFIG
 * otherwise.  Nothing is contacted yet.  *out: free with skr_etcd_free. */
int skr_etcd_new(const skr_etcd_opts *o, skr_etcd **out);
void skr_etcd_free(skr_etcd *c);

/* What became of a call that did not return SKR_OK. */
typedef struct skr_etcd_result {
	int grpc_code;              /* of etcd's error answer, else 0 */
	int maybe;                  /* the request may have taken effect:
	                             * no definite answer came */
	char message[256];          /* etcd's error text, or curl's */
} skr_etcd_result;

/*
 * POST body to path ("/v3/kv/range", ...) and put the answer in resp.
 * SKR_OK: etcd answered 200.  An idempotent request (a read) is sent to
 * the next endpoint whenever one fails, until the deadline; another is
 * sent on only while no endpoint may have received it, and is left to the
 * caller (res->maybe) once one may have.  Errors: SKR_ERR_STORE_UNAVAILABLE
 * (no endpoint answered in time; see res->maybe), SKR_ERR_STORE (etcd
 * refused the request: res->grpc_code, res->message), SKR_ERR_NOMEM.
 * res may be NULL.
 */
int skr_etcd_post(skr_etcd *c, const char *path, const skr_buf *body,
    int idempotent, skr_buf *resp, skr_etcd_result *res);

/*
 * Open a watch with body (skr_etcd_watch_req_build) on the next endpoint
 * that takes it and hand each message to fn until the stream ends, fn
 * returns non-zero or *stop becomes non-zero (checked at least once a
 * second).  Only members that have a leader serve it (etcd's "hasleader"
 * metadata), so a member cut off from its cluster ends the stream instead
 * of falling silent.  Returns fn's non-zero value, SKR_OK when stopped,
 * or SKR_ERR_STORE_UNAVAILABLE when the stream ended or never began.
 */
int skr_etcd_watch(skr_etcd *c, const skr_buf *body,
    int (*fn)(void *arg, const uint8_t *msg, size_t len), void *arg,
    const atomic_int *stop);

/* Requests sent (every try counts), for the metrics. */
uint64_t skr_etcd_requests(const skr_etcd *c);

/* Tests only: the answers to the next n requests that are not idempotent
 * are thrown away after etcd gave them, as a lost connection would, so
 * that the caller sees an outcome it does not know. */
void skr_etcd_test_drop(skr_etcd *c, int n);

#endif
