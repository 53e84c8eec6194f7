/*
 * Inside the serving layer: its loops and connections, shared by serve.c
 * (loops, accepting, the stall sweep and shutdown), uvhook.c (h2o's libuv
 * stream calls, seen before libuv gets them) and gate.c (request bodies
 * held in memory, and refusals before on_req).  Nothing outside
 * server/net/ includes this.
 */
#ifndef SKR_NET_SERVE_PRIV_H
#define SKR_NET_SERVE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "serve.h"

#define SKR__CONN_MAGIC 0x736b72636f6e6e31ULL /* "skrconn1" */

/* h2o's per-request environment: the status gate.c refused a request with
 * (three digits), answered by serve.c's on_req once its body is in. */
#define SKR__NET_REFUSED "skr.refused"

/* An accepted connection; h2o owns it once h2o_accept has it. */
struct skr__conn {
	uv_tcp_t tcp;             /* first: h2o's close callback gets it */
	uint64_t magic;           /* SKR__CONN_MAGIC while accepted */
	struct skr__conn *prev, *next; /* the loop's live connections */
	h2o_socket_t *sock;       /* h2o's socket over tcp */
	uint64_t progress;        /* loop ms of accept or the last request */
	size_t busy;              /* requests handed to on_req not yet
	                           * disposed of by h2o */
	int cut;                  /* shut down for stalling */
	uint64_t cut_at;          /* loop ms it was cut */
	int released;             /* counted out of the connection cap */

	/* Reading (uvhook.c, gate.c): h2o's callbacks, whether h2o wants to
	 * read, and whether gate.c holds reading back. */
	uv_alloc_cb h2o_alloc;
	uv_read_cb h2o_read;
	int want_read;
	int paused;
	int is_h2;                /* seen to carry HTTP/2 */
	struct skr__conn *pprev, *pnext; /* the loop's paused connections */
	size_t held;              /* request-body bytes counted to it */

	/* A write libuv refused at once (uvhook.c), completed on the next
	 * loop iteration. */
	uv_write_t *wfail_req;
	uv_write_cb wfail_cb;
	int wfail_status;
	struct skr__conn *wfail_prev, *wfail_next;
};

struct skr_net_loop {
	skr_net_server *s;
	int index;
	pthread_t thread;
	uv_loop_t loop;
	uv_tcp_t listener;
	uv_async_t stop;
	uv_timer_t drain;
	uv_timer_t sweep;         /* cuts connections that make no progress */
	uv_idle_t wfail_idle;     /* runs the failed writes' callbacks */
	uv_async_t post;          /* wakes the loop for skr_net_loop_post */
	pthread_mutex_t post_mu;  /* guards posted; posted also read
				   * without it, atomically */
	skr_net_post *posted, *posted_tail;
	int post_ready;           /* post and post_mu initialised */
	uv_timer_t gate;          /* gate.c: counts again, resumes reading */
	struct skr__conn *paused; /* connections gate.c holds back */
	int no_sockets;           /* h2o gave no socket: sweep disabled */
	h2o_context_t ctx;
	h2o_accept_ctx_t accept_ctx;
	int fd;                   /* libuv's once uv_owned */
	int uv_ready;             /* loop initialised */
	int uv_owned;             /* the listener handle holds fd */
	int ctx_ready;            /* h2o context initialised */
	size_t nconns;
	size_t nreleased;         /* of nconns, released by the sweep */
	size_t nheld;             /* requests still being worked on */
	struct skr__conn *conns;
	struct skr__conn *wfail;  /* connections with a failed write */
	uint64_t deadline;
	int started;
	int stopping;
	int forced;    /* the shutdown deadline passed: connections cut */
	int stuck;     /* a cut connection h2o never closed: leave h2o be */
	int abandoned; /* held work outlived the deadline: exit at once */
};

struct skr_net_server {
	skr_net_serve_opts o;
	h2o_globalconf_t config;
	int configured;
	skr_net_loop *loops;
	int nloops;
	atomic_size_t conns;
	atomic_size_t body_held;  /* request-body bytes, all loops (gate.c) */
	skr_net_server *next_stuck;
};

/* The loop whose thread this is while it runs; NULL on other threads. */
extern __thread skr_net_loop *skr__net_current;

/* Resolve libuv's own stream calls; SKR_ERR_INTERNAL when they cannot be
 * found.  Called before any loop starts. */
int skr__net_uvhook_init(void);

/* handle as one of the running loop's accepted connections, or NULL. */
struct skr__conn *skr__net_conn_of(const uv_stream_t *handle);

/* c is closing: forget a failed write still waiting for its callback
 * (libuv would have cancelled it, and h2o ignores the cancellation). */
void skr__net_wfail_forget(skr_net_loop *l, struct skr__conn *c);

/* libuv's own uv_read_start with gate.c's read callback, and uv_read_stop,
 * for c (uvhook.c). */
int skr__net_read_start(struct skr__conn *c);
int skr__net_read_stop(struct skr__conn *c);

/* gate.c: its timer (loop_init), the filter that answers h2o's own
 * refusals (configure), c's read just handled by h2o, c reading again (h2o
 * asked), and c closing. */
void skr__net_gate_init(skr_net_loop *l);
void skr__net_gate_configure(skr_net_server *s, h2o_hostconf_t *host);
void skr__net_gate_read(skr_net_loop *l, struct skr__conn *c);
void skr__net_gate_resume(skr_net_loop *l, struct skr__conn *c);
void skr__net_gate_forget(skr_net_loop *l, struct skr__conn *c);

#endif
