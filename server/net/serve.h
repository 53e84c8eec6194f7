/*
 * The HTTP serving layer of skrd and skr-test-authority: h2o on libuv,
 * HTTPS (HTTP/1.1 and HTTP/2 by ALPN) or plain HTTP.
 *
 * One libuv loop and h2o context per thread, each with its own listening
 * socket bound to the same address with SO_REUSEPORT, so the kernel spreads
 * connections and nothing on the request path is shared behind a lock.  The
 * layer owns connections and their limits: a process-wide connection cap,
 * a sweep that cuts connections making no progress, and a graceful
 * shutdown on SIGTERM or SIGINT that drains what is in flight until a
 * deadline (docs/skrd.md, "Signals and shutdown").  What a request means is the
 * caller's: on_req gets each one on its loop's thread.
 */
#ifndef SKR_NET_SERVE_H
#define SKR_NET_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "net.h"

typedef struct skr_net_server skr_net_server;
typedef struct skr_net_loop skr_net_loop; /* one event loop thread */

/* Levels of the log hook. */
enum { SKR_NET_LOG_INFO, SKR_NET_LOG_WARN, SKR_NET_LOG_ERROR };

typedef struct skr_net_serve_opts {
	skr_net_addr addr;          /* where; port 0: a free one */
	SSL_CTX *ssl;               /* borrowed until free; NULL: plain HTTP
	                             * (the caller holds it to loopback) */
	int threads;                /* event loops; 0: one per core (<= 256) */
	const char *server_name;    /* the Server header: no version banner */
	size_t max_connections;     /* per process; 0: no limit */
	size_t max_request_body;    /* h2o cuts bodies over it; 0: its own */
	/* Request bodies held in memory (gate.c): in all, and per
	 * connection (0: no bound), and HTTP/2 streams per connection with a
	 * request or its body in the works (0: h2o's 100). */
	size_t body_memory;
	size_t conn_body_memory;
	size_t http2_max_streams;
	uint64_t handshake_timeout_ms; /* TLS handshake; 0: h2o's default */
	uint64_t header_timeout_ms; /* HTTP/1.1 request head; 0: h2o's */
	uint64_t idle_timeout_ms;   /* HTTP/2 without streams; 0: h2o's */
	uint64_t stall_ms;          /* cut a connection after this long with
	                             * no request arriving or answered, and
	                             * none being worked on (an HTTP/2 stream
	                             * trickling in); 0: never */
	uint64_t shutdown_ms;       /* drain deadline after SIGTERM/SIGINT */

	/* Hooks, each called with arg. */
	void *arg;
	/* Each request, on its loop's thread, with h2o's handler contract
	 * (0: answered or will be, -1: not handled). */
	int (*on_req)(void *arg, skr_net_loop *loop, h2o_req_t *req);
	/* May be NULL: a connection opened (+1) or closed (-1), on any loop's
	 * thread. */
	void (*on_conn)(void *arg, int delta);
	/* May be NULL: SIGHUP, and SIGTERM or SIGINT before the drain
	 * starts, on the thread of skr_net_server_run. */
	void (*on_signal)(void *arg, int signum);
	/* May be NULL: what the layer has to say (a stalled connection cut,
	 * the shutdown deadline passed); steals fields (may be NULL). */
	void (*log)(void *arg, int level, const char *msg, json_t *fields);
	/* May be NULL (then every body may be max_request_body bytes): from
	 * the head of a request whose body is still arriving (HTTP/2), on
	 * its loop's thread, before on_req sees it.  Returns 0 with *limit
	 * the most body bytes it may send (0: none), or the HTTP status to
	 * refuse it with at once, whatever its body (no such route).  h2o's
	 * req->input holds the method and path. */
	int (*body_limit)(void *arg, h2o_req_t *req, size_t *limit);
	/* May be NULL (then h2o's plain text is sent): the answer to a
	 * request refused before on_req -- by this layer (413 over the body
	 * limit, 429 over the body memory or stream limits, or the status
	 * body_limit named) or by h2o itself (400, 413, 417) -- on its loop's
	 * thread.  It sets req->res (status, reason, headers) and returns the
	 * body, allocated in req->pool. */
	h2o_iovec_t (*refusal)(void *arg, h2o_req_t *req, int status);
} skr_net_serve_opts;

/*
 * Bind every loop's socket (SIGPIPE is ignored from here on).  When
 * o->addr asks for port 0, skr_net_server_addr names the port bound.
 * *out: freed with skr_net_server_free.  SKR_ERR_CONFIG when it cannot
 * listen, with errno saying why.
 */
int skr_net_server_open(const skr_net_serve_opts *o, skr_net_server **out);
/* Borrowed, valid until free. */
const skr_net_addr *skr_net_server_addr(const skr_net_server *s);
int skr_net_server_nloops(const skr_net_server *s);

/*
 * Start the loops and serve until SIGTERM or SIGINT; then stop accepting,
 * let in-flight requests finish until o->shutdown_ms and cut what is
 * still open.  ready (may be NULL) runs on the calling thread once every
 * loop runs.  If work held past on_req (skr_net_loop_hold) is still
 * running 30 s after the deadline, the process exits with status 1 rather
 * than free what that work uses.  SKR_ERR_INTERNAL when a loop cannot
 * start.
 */
int skr_net_server_run(skr_net_server *s, void (*ready)(void *arg),
    void *arg);

/* Free s after open or run.  A connection h2o never closed is left, with
 * what it uses, to process exit. */
void skr_net_server_free(skr_net_server *s);

/* For on_req and what it starts on the loop. */
uv_loop_t *skr_net_loop_uv(skr_net_loop *l);
/* Work for a request that goes on after on_req returned (e.g. on the libuv
 * thread pool): the shutdown drain waits for it.  Hold before on_req
 * returns, release on the loop's thread once answered. */
void skr_net_loop_hold(skr_net_loop *l);
void skr_net_loop_release(skr_net_loop *l);
/* A request arrived or was answered on req's connection: it is not
 * stalled (stall_ms). */
void skr_net_loop_progress(skr_net_loop *l, h2o_req_t *req);

/* Work to run on a loop's thread, handed over from any thread (an answer
 * whose audit record another thread committed).  The caller owns p and
 * keeps it until fn has run; posts run in the order they were made. */
typedef struct skr_net_post skr_net_post;
struct skr_net_post {
	void (*fn)(skr_net_post *p);
	skr_net_post *next;         /* the loop's */
};
/* Queue p on l and wake l; fn(p) runs on l's thread soon after.  Only for
 * work held with skr_net_loop_hold, so that the loop is still there. */
void skr_net_loop_post(skr_net_loop *l, skr_net_post *p);
/* On l's thread: run what has been posted to l now rather than when the
 * loop next gets to its wake-up, so that answers already due go out
 * before the caller starts long work on the loop. */
void skr_net_loop_run_posted(skr_net_loop *l);

#endif
