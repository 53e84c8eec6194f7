/*
 * Inside the serving layer: its loops and connections, shared by serve.c
 * (loops, accepting, the stall sweep and shutdown) and uvhook.c (h2o's
 * libuv stream calls, seen before libuv gets them).  Nothing outside
 * server/net/ includes this.
 */
#ifndef SKR_NET_SERVE_PRIV_H
#define SKR_NET_SERVE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "serve.h"

#define SKR__CONN_MAGIC 0x736b72636f6e6e31ULL /* "skrconn1" */

/* An accepted connection; h2o owns it once h2o_accept has it. */
struct skr__conn {
	uv_tcp_t tcp;             /* first: h2o's close callback gets it */
	uint64_t magic;           /* SKR__CONN_MAGIC while accepted */
	struct skr__conn *prev, *next; /* the loop's live connections */
	h2o_socket_t *sock;       /* h2o's socket over tcp */
	uint64_t progress;        /* loop ms of accept or the last request */
	int cut;                  /* shut down for stalling */
	uint64_t cut_at;          /* loop ms it was cut */
	int released;             /* counted out of the connection cap */

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
	pthread_mutex_t post_mu;  /* guards posted */
	skr_net_post *posted, *posted_tail;
	int post_ready;           /* post and post_mu initialised */
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

#endif
