#include "serve_priv.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <h2o/http2.h>

#include "skr/error.h"

struct handler {
	h2o_handler_t super;
	skr_net_server *s;
};

/* Servers a stuck shutdown left behind: kept reachable until exit. */
static skr_net_server *stuck_servers;
static pthread_mutex_t stuck_mu = PTHREAD_MUTEX_INITIALIZER;

static void
say(skr_net_loop *l, int level, const char *msg, json_t *fields)
{
	if (l->s->o.log != NULL)
		l->s->o.log(l->s->o.arg, level, msg, fields);
	else
		json_decref(fields);
}

static void
conn_count(skr_net_loop *l, int delta)
{
	if (l->s->o.on_conn != NULL)
		l->s->o.on_conn(l->s->o.arg, delta);
}

/* ---- requests --------------------------------------------------------- */

/* The connection req came on, or NULL. */
static struct skr__conn *
conn_of_req(skr_net_loop *l, h2o_req_t *req)
{
	h2o_socket_t *sock;

	if (req->conn->callbacks->get_socket == NULL) {
		l->no_sockets = 1;
		return NULL;
	}
	sock = req->conn->callbacks->get_socket(req->conn);
	for (struct skr__conn *c = l->conns; c != NULL; c = c->next)
		if (c->sock == sock)
			return c;
	return NULL;
}

/* A request of ours h2o disposes of: answered, or its connection gone. */
struct req_mark {
	skr_net_loop *l;
	h2o_socket_t *sock;
};

static void
on_req_disposed(void *p)
{
	struct req_mark *m = p;

	/* By socket, not by connection pointer: h2o disposes of requests
	 * before it closes their socket, but the lookup does not rely on
	 * it. */
	for (struct skr__conn *c = m->l->conns; c != NULL; c = c->next)
		if (c->sock == m->sock) {
			if (c->busy > 0)
				c->busy--;
			c->progress = uv_now(&m->l->loop);
			return;
		}
}

static int
on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct handler *h = (struct handler *)self;
	skr_net_loop *l = H2O_STRUCT_FROM_MEMBER(skr_net_loop, ctx,
	    req->conn->ctx);
	struct skr__conn *c = conn_of_req(l, req);
	struct req_mark *m;
	h2o_iovec_t *refused, body;

	/* A connection with a request being worked on (a slow handler on
	 * the thread pool) is not stalled: the sweep leaves it be. */
	if (c != NULL) {
		m = h2o_mem_alloc_shared(&req->pool, sizeof(*m),
		    on_req_disposed);
		m->l = l;
		m->sock = c->sock;
		c->busy++;
	}
	/* Refused while its body arrived (gate.c): answered now. */
	if ((refused = h2o_req_getenv(req, H2O_STRLIT(SKR__NET_REFUSED), 0)) !=
	    NULL) {
		int status = (int)strtol(refused->base, NULL, 10);

		if (h->s->o.refusal == NULL) {
			h2o_send_error_generic(req, status, "Refused",
			    "request refused\n", 0);
			return 0;
		}
		body = h->s->o.refusal(h->s->o.arg, req, status);
		h2o_send_inline(req, body.base, body.len);
		return 0;
	}
	return h->s->o.on_req(h->s->o.arg, l, req);
}

uv_loop_t *
skr_net_loop_uv(skr_net_loop *l)
{
	return &l->loop;
}

void
skr_net_loop_hold(skr_net_loop *l)
{
	l->nheld++;
}

void
skr_net_loop_release(skr_net_loop *l)
{
	l->nheld--;
}

/*
 * h2o 2.2 has no read timeout for an open HTTP/2 stream, so the sweep
 * (on_sweep) cuts connections that go too long without a request arriving
 * or being answered.
 */
void
skr_net_loop_progress(skr_net_loop *l, h2o_req_t *req)
{
	struct skr__conn *c = conn_of_req(l, req);

	if (c != NULL)
		c->progress = uv_now(&l->loop);
}

/* ---- work handed to the loop ------------------------------------------ */

void
skr_net_loop_post(skr_net_loop *l, skr_net_post *p)
{
	p->next = NULL;
	pthread_mutex_lock(&l->post_mu);
	if (l->posted_tail != NULL)
		l->posted_tail->next = p;
	else
		__atomic_store_n(&l->posted, p, __ATOMIC_RELAXED);
	l->posted_tail = p;
	pthread_mutex_unlock(&l->post_mu);
	/* libuv coalesces wake-ups: one callback may find many posts. */
	uv_async_send(&l->post);
}

void
skr_net_loop_run_posted(skr_net_loop *l)
{
	skr_net_post *p, *next;

	/* A look without the lock: a post made just after it runs at the
	 * wake-up it sent, as without this call. */
	if (__atomic_load_n(&l->posted, __ATOMIC_RELAXED) == NULL)
		return;
	pthread_mutex_lock(&l->post_mu);
	p = l->posted;
	__atomic_store_n(&l->posted, NULL, __ATOMIC_RELAXED);
	l->posted_tail = NULL;
	pthread_mutex_unlock(&l->post_mu);
	for (; p != NULL; p = next) {
		next = p->next;
		p->fn(p);
	}
}

static void
on_post(uv_async_t *a)
{
	skr_net_loop_run_posted(a->data);
}

/* ---- connections ------------------------------------------------------ */

static void
on_conn_close(uv_handle_t *h)
{
	skr_net_loop *l = h->loop->data;
	struct skr__conn *c = (struct skr__conn *)h;

	skr__net_wfail_forget(l, c);
	skr__net_gate_forget(l, c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	l->nconns--;
	if (c->released)
		l->nreleased--;
	else {
		atomic_fetch_sub(&l->s->conns, 1);
		conn_count(l, -1);
	}
	c->magic = 0;
	free(c);
}

static void
on_refused_close(uv_handle_t *h)
{
	free(h);
}

static void
on_accept(uv_stream_t *listener, int status)
{
	skr_net_loop *l = listener->data;
	size_t max = l->s->o.max_connections;
	h2o_socket_t *sock;
	struct skr__conn *conn;

	if (status != 0 || l->stopping)
		return;
	if ((conn = calloc(1, sizeof(*conn))) == NULL)
		return;
	uv_tcp_init(&l->loop, &conn->tcp);
	if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
		uv_close((uv_handle_t *)&conn->tcp, on_refused_close);
		return;
	}
	/* Over the connection limit: close at once rather than queue. */
	if (atomic_fetch_add(&l->s->conns, 1) >= max && max != 0) {
		atomic_fetch_sub(&l->s->conns, 1);
		uv_close((uv_handle_t *)&conn->tcp, on_refused_close);
		return;
	}
	/* Nagle's algorithm off (docs/skrd.md, "Connections"): a write that
	 * follows an unacknowledged one (the TLS session tickets, an earlier
	 * HTTP/2 answer) would wait for the client's acknowledgement, which
	 * clients delay by up to 40 ms.  A failure leaves a slower
	 * connection, not a broken one. */
	(void)uv_tcp_nodelay(&conn->tcp, 1);
	l->nconns++;
	conn_count(l, 1);
	conn->magic = SKR__CONN_MAGIC;
	conn->progress = uv_now(&l->loop);
	conn->next = l->conns;
	if (l->conns != NULL)
		l->conns->prev = conn;
	l->conns = conn;
	sock = h2o_uv_socket_create((uv_stream_t *)&conn->tcp, on_conn_close);
	conn->sock = sock;
	h2o_accept(&l->accept_ctx, sock);
}

/* ---- loops ------------------------------------------------------------ */

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* After the deadline, cut connections get GRACE_MS to be closed by h2o;
 * held work gets ABANDON_MS to finish. */
#define GRACE_MS 2000
#define ABANDON_MS 30000

/*
 * Cut every connection still open after the shutdown deadline.  Shutting
 * the socket down (rather than closing it under h2o) makes h2o see EOF or a
 * write error and close the connection its usual way, so the context can be
 * disposed of cleanly afterwards.
 */
static void
cut_connections(skr_net_loop *l)
{
	uv_os_fd_t fd;

	say(l, SKR_NET_LOG_WARN, "shutdown deadline passed; closing "
	    "connections", json_pack("{s:i,s:I,s:I}", "loop", l->index,
	    "connections", (json_int_t)l->nconns, "requests",
	    (json_int_t)l->nheld));
	for (struct skr__conn *c = l->conns; c != NULL; c = c->next)
		if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
			shutdown(fd, SHUT_RDWR);
}

/* Cut connections get CUT_GRACE_MS to be closed by h2o. */
#define CUT_GRACE_MS 10000

/*
 * A cut connection h2o did not close: count it out of max_connections, so
 * that the server goes on accepting, and out of the shutdown drain.  Its
 * socket and h2o's memory stay until h2o closes it or the process ends
 * (closing the socket under h2o would leave h2o a dangling handle).
 */
static void
release_slot(skr_net_loop *l, struct skr__conn *c, uint64_t now)
{
	c->released = 1;
	l->nreleased++;
	atomic_fetch_sub(&l->s->conns, 1);
	conn_count(l, -1);
	say(l, SKR_NET_LOG_WARN, "connection not closed after being cut; its "
	    "slot is released", json_pack("{s:i,s:I}", "loop", l->index,
	    "cut_ms", (json_int_t)(now - c->cut_at)));
}

/*
 * Once a second: shut down connections that have had no request arrive or
 * complete for stall_ms, and none in the works.  h2o closes HTTP/1.1
 * connections that stall (req_timeout) and HTTP/2 connections without
 * streams (idle_timeout) well before that; what is left is an HTTP/2 stream
 * whose headers or body trickle in.  Shutting the socket down makes h2o close the connection its
 * usual way; one that h2o still has not closed CUT_GRACE_MS later gives its
 * slot back (release_slot).
 */
static void
on_sweep(uv_timer_t *t)
{
	skr_net_loop *l = t->data;
	uint64_t now = uv_now(&l->loop);
	uv_os_fd_t fd;

	if (l->no_sockets)
		return;
	for (struct skr__conn *c = l->conns; c != NULL; c = c->next) {
		if (c->cut) {
			if (!c->released && now - c->cut_at > CUT_GRACE_MS)
				release_slot(l, c, now);
			continue;
		}
		if (c->busy > 0 || now - c->progress <= l->s->o.stall_ms)
			continue;
		c->cut = 1;
		c->cut_at = now;
		say(l, SKR_NET_LOG_INFO, "connection stalled; closed",
		    json_pack("{s:i,s:I}", "loop", l->index, "idle_ms",
		    (json_int_t)(now - c->progress)));
		if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
			shutdown(fd, SHUT_RDWR);
	}
}

static void
on_drain(uv_timer_t *t)
{
	skr_net_loop *l = t->data;
	uint64_t now = uv_now(&l->loop);

	if (l->nconns == 0 && l->nheld == 0) {
		uv_stop(&l->loop);
		return;
	}
	if (l->nconns == l->nreleased && l->nheld == 0) {
		/* Only connections h2o would not close are left: waiting
		 * for the deadline would not close them either. */
		say(l, SKR_NET_LOG_WARN, "connections left to process exit",
		    json_pack("{s:i,s:I}", "loop", l->index, "connections",
		    (json_int_t)l->nconns));
		l->stuck = 1;
		uv_stop(&l->loop);
		return;
	}
	if (!l->forced && now >= l->deadline) {
		l->forced = 1;
		cut_connections(l);
	} else if (l->forced && l->nheld == 0 &&
	    now >= l->deadline + GRACE_MS) {
		/* No work of the caller's runs, but h2o keeps a connection it
		 * will not close; the context cannot be disposed of with it. */
		say(l, SKR_NET_LOG_WARN, "connections left to process exit",
		    json_pack("{s:i,s:I}", "loop", l->index, "connections",
		    (json_int_t)l->nconns));
		l->stuck = 1;
		uv_stop(&l->loop);
	} else if (l->forced && now >= l->deadline + ABANDON_MS) {
		say(l, SKR_NET_LOG_ERROR, "requests still running after the "
		    "shutdown deadline; exiting without cleanup", json_pack(
		    "{s:i,s:I}", "loop", l->index, "requests",
		    (json_int_t)l->nheld));
		l->abandoned = 1;
		uv_stop(&l->loop);
	}
}

static void
on_stop(uv_async_t *a)
{
	skr_net_loop *l = a->data;

	if (l->stopping)
		return;
	l->stopping = 1;
	uv_close((uv_handle_t *)&l->listener, NULL);
	/* HTTP/2 GOAWAY and HTTP/1 close-after-response for what is open;
	 * finish what is in flight until the deadline. */
	h2o_context_request_shutdown(&l->ctx);
	l->deadline = uv_now(&l->loop) + l->s->o.shutdown_ms;
	uv_timer_start(&l->drain, on_drain, 0, 20);
}

/* Dispose of what loop_init made, on a loop that no longer runs. */
static void
loop_dispose(skr_net_loop *l)
{
	if (l->ctx_ready) {
		/* A shutdown request may leave h2o's graceful-shutdown timer
		 * armed; the context cannot be disposed of with it linked. */
		if (h2o_timeout_is_linked(
		    &l->ctx.http2._graceful_shutdown_timeout))
			h2o_timeout_unlink(
			    &l->ctx.http2._graceful_shutdown_timeout);
		h2o_context_dispose(&l->ctx);
	}
	if (!l->uv_owned && l->fd >= 0)
		close(l->fd);
	if (l->uv_ready) {
		uv_walk(&l->loop, close_walk, NULL);
		uv_run(&l->loop, UV_RUN_DEFAULT);
		uv_loop_close(&l->loop);
	}
	if (l->post_ready)
		pthread_mutex_destroy(&l->post_mu);
}

static void *
loop_main(void *arg)
{
	skr_net_loop *l = arg;

	skr__net_current = l;
	uv_run(&l->loop, UV_RUN_DEFAULT);
	skr__net_current = NULL;
	/* h2o cannot dispose of a context with live connections: leave it to
	 * process exit. */
	if (l->stuck || l->abandoned)
		return NULL;
	loop_dispose(l);
	return NULL;
}

static int
loop_init(skr_net_server *s, skr_net_loop *l, int index)
{
	l->s = s;
	l->index = index;
	if ((l->fd = skr_net_listen_fd(&s->o.addr, SKR_NET_REUSEPORT)) < 0 ||
	    uv_loop_init(&l->loop) != 0)
		return SKR_ERR_CONFIG;
	l->uv_ready = 1;
	l->loop.data = l;
	uv_tcp_init(&l->loop, &l->listener);
	l->listener.data = l;
	if (uv_tcp_open(&l->listener, l->fd) != 0)
		return SKR_ERR_CONFIG;
	l->uv_owned = 1;
	if (uv_listen((uv_stream_t *)&l->listener, 1024, on_accept) != 0)
		return SKR_ERR_CONFIG;
	uv_async_init(&l->loop, &l->stop, on_stop);
	l->stop.data = l;
	uv_timer_init(&l->loop, &l->drain);
	l->drain.data = l;
	uv_timer_init(&l->loop, &l->sweep);
	l->sweep.data = l;
	uv_idle_init(&l->loop, &l->wfail_idle);
	l->wfail_idle.data = l;
	pthread_mutex_init(&l->post_mu, NULL);
	uv_async_init(&l->loop, &l->post, on_post);
	l->post.data = l;
	l->post_ready = 1;
	skr__net_gate_init(l);
	if (s->o.stall_ms > 0)
		uv_timer_start(&l->sweep, on_sweep, 1000, 1000);
	h2o_context_init(&l->ctx, &l->loop, &s->config);
	l->ctx_ready = 1;
	l->accept_ctx.ctx = &l->ctx;
	l->accept_ctx.hosts = s->config.hosts;
	l->accept_ctx.ssl_ctx = s->o.ssl;
	return SKR_OK;
}

/* ---- the server ------------------------------------------------------- */

static void
configure(skr_net_server *s)
{
	const skr_net_serve_opts *o = &s->o;
	h2o_hostconf_t *host;
	h2o_pathconf_t *pathconf;
	struct handler *h;

	h2o_config_init(&s->config);
	s->configured = 1;
	s->config.server_name = h2o_iovec_init(o->server_name,
	    strlen(o->server_name));
	if (o->max_request_body > 0)
		s->config.max_request_entity_size = o->max_request_body;
	if (o->handshake_timeout_ms > 0)
		s->config.handshake_timeout = o->handshake_timeout_ms;
	if (o->header_timeout_ms > 0)
		s->config.http1.req_timeout = o->header_timeout_ms;
	if (o->idle_timeout_ms > 0)
		s->config.http2.idle_timeout = o->idle_timeout_ms;
	s->config.http2.graceful_shutdown_timeout = o->shutdown_ms;
	host = h2o_config_register_host(&s->config,
	    h2o_iovec_init(H2O_STRLIT("default")), 65535);
	skr__net_gate_configure(s, host);
	pathconf = h2o_config_register_path(host, "/", 0);
	h = (struct handler *)h2o_create_handler(pathconf, sizeof(*h));
	h->super.on_req = on_req;
	h->s = s;
}

int
skr_net_server_open(const skr_net_serve_opts *o, skr_net_server **out)
{
	skr_net_server *s;
	long ncpu;
	int i, r = SKR_OK;

	*out = NULL;
	if (o->on_req == NULL || o->server_name == NULL)
		return SKR_ERR_INVAL;
	if (skr__net_uvhook_init() != SKR_OK)
		return SKR_ERR_INTERNAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return SKR_ERR_NOMEM;
	s->o = *o;
	signal(SIGPIPE, SIG_IGN);
	configure(s);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	s->nloops = o->threads > 0 ? o->threads : (ncpu > 0 ? (int)ncpu : 1);
	if (s->nloops > 256)
		s->nloops = 256;
	if ((s->loops = calloc((size_t)s->nloops, sizeof(*s->loops))) ==
	    NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < s->nloops; i++)
		s->loops[i].fd = -1;
	/* The first socket binds a free port when asked to; the others
	 * bind the same one. */
	for (i = 0; i < s->nloops; i++)
		if ((r = loop_init(s, &s->loops[i], i)) != SKR_OK)
			goto out;
out:
	if (r != SKR_OK) {
		/* errno says why a socket could not listen. */
		int saved = errno;

		skr_net_server_free(s);
		errno = saved;
		return r;
	}
	*out = s;
	return SKR_OK;
}

const skr_net_addr *
skr_net_server_addr(const skr_net_server *s)
{
	return &s->o.addr;
}

int
skr_net_server_nloops(const skr_net_server *s)
{
	return s->nloops;
}

struct signals {
	skr_net_server *s;
	uv_signal_t term, intr, hup;
};

static void
on_signal(uv_signal_t *sig, int signum)
{
	struct signals *sg = sig->data;
	skr_net_server *s = sg->s;

	if (s->o.on_signal != NULL)
		s->o.on_signal(s->o.arg, signum);
	if (signum == SIGHUP)
		return;
	for (int i = 0; i < s->nloops; i++)
		uv_async_send(&s->loops[i].stop);
	uv_stop(sig->loop);
}

int
skr_net_server_run(skr_net_server *s, void (*ready)(void *arg), void *arg)
{
	struct signals sg;
	uv_loop_t main_loop;
	int i, r = SKR_OK;

	memset(&sg, 0, sizeof(sg));
	sg.s = s;
	uv_loop_init(&main_loop);
	uv_signal_init(&main_loop, &sg.term);
	uv_signal_init(&main_loop, &sg.intr);
	uv_signal_init(&main_loop, &sg.hup);
	sg.term.data = sg.intr.data = sg.hup.data = &sg;
	uv_signal_start(&sg.term, on_signal, SIGTERM);
	uv_signal_start(&sg.intr, on_signal, SIGINT);
	uv_signal_start(&sg.hup, on_signal, SIGHUP);

	for (i = 0; i < s->nloops; i++) {
		if (pthread_create(&s->loops[i].thread, NULL, loop_main,
		    &s->loops[i]) != 0) {
			r = SKR_ERR_INTERNAL;
			break;
		}
		s->loops[i].started = 1;
	}
	if (r == SKR_OK) {
		if (ready != NULL)
			ready(arg);
		uv_run(&main_loop, UV_RUN_DEFAULT);
	} else {
		for (i = 0; i < s->nloops; i++)
			if (s->loops[i].started)
				uv_async_send(&s->loops[i].stop);
	}
	for (i = 0; i < s->nloops; i++)
		if (s->loops[i].started)
			pthread_join(s->loops[i].thread, NULL);
	for (i = 0; i < s->nloops; i++)
		if (s->loops[i].abandoned) {
			/* Held work still runs and may use what the caller
			 * would free: nothing can be freed safely. */
			fflush(stderr);
			_exit(1);
		}
	uv_close((uv_handle_t *)&sg.term, NULL);
	uv_close((uv_handle_t *)&sg.intr, NULL);
	uv_close((uv_handle_t *)&sg.hup, NULL);
	uv_run(&main_loop, UV_RUN_DEFAULT);
	uv_loop_close(&main_loop);
	return r;
}

void
skr_net_server_free(skr_net_server *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; s->loops != NULL && i < s->nloops; i++)
		if (s->loops[i].stuck) {
			/* Still referenced by a live h2o context: kept, and
			 * reachable, until the process ends. */
			pthread_mutex_lock(&stuck_mu);
			s->next_stuck = stuck_servers;
			stuck_servers = s;
			pthread_mutex_unlock(&stuck_mu);
			return;
		}
	if (s->loops != NULL) {
		/* Loops that ran disposed of themselves. */
		for (i = 0; i < s->nloops; i++)
			if (!s->loops[i].started)
				loop_dispose(&s->loops[i]);
		free(s->loops);
	}
	if (s->configured)
		h2o_config_dispose(&s->config);
	free(s);
}
