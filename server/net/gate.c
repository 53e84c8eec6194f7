/*
 * Request bodies held in memory, and the answers to requests refused
 * before on_req (docs/skrd.md, "Request bodies").
 *
 * h2o 2.2 keeps a request's whole body before it hands the request on:
 * HTTP/1.1 in the socket's input buffer, HTTP/2 in a buffer per stream, on
 * up to 100 streams per connection, and it advertises a 16 MiB window and
 * replenishes it as it buffers, so HTTP/2 flow control bounds nothing.
 * After h2o has handled each read of a connection (uvhook.c), this file
 * counts what the connection holds -- the socket's input buffer and, for
 * HTTP/2, every stream's body buffer -- into a per-connection and a
 * process-wide total, and keeps both bounded:
 *
 *  - an HTTP/2 stream whose body arrives for a request that takes none or
 *    less (body_limit, from its head alone: content-length, then the bytes
 *    so far), or for a route that does not exist, is refused;
 *  - past http2_max_streams streams with a body not yet handed on, past
 *    conn_body_memory or past body_memory, the newest such streams are
 *    refused with 429;
 *  - an HTTP/1.1 connection (one request at a time, bounded by
 *    max_request_body) that reads while body_memory is exceeded stops
 *    reading until there is room again (its client waits, h2o's request
 *    timeout still runs).
 *
 * A refused HTTP/2 stream whose body is still arriving is drained: h2o's
 * buffer for it is emptied after every read, and the request is answered
 * once its body is complete (refuse, below).  One whose body is complete
 * is answered at once, the way h2o answers a request whose headers it
 * cannot use: moved to the sending state and answered through
 * h2o_send_error_generic, whose plain text the refusal filter (on the
 * host's fallback path, which h2o uses for every answer it makes before
 * routing) replaces with the caller's (refusal).  Only structures of h2o's
 * public headers (h2o.h, h2o/http2_internal.h) are used.
 *
 * A connection's streams are found through its priority tree (every open
 * stream is a node of it), not h2o's stream table (compat/khash.h).
 *
 * Which sockets carry HTTP/2: h2o reads an HTTP/2 connection with one read
 * callback, set together with the socket's data (the connection) and
 * replaced when the connection closes.  It is learned once, from a socket
 * found among a context's HTTP/2 connections, and then recognises them.
 */
#include "serve_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <h2o/http2.h>
#include <h2o/http2_internal.h>

#define STREAMS_MAX 256   /* h2o keeps at most 100 client streams open */
#define TICK_MS 250       /* count again, resume paused reading */

/* h2o's read callback of HTTP/2 connections, once learned. */
static h2o_socket_cb h2_read;

static size_t
buf_held(const h2o_buffer_t *b)
{
	/* bytes NULL: h2o's empty prototype, nothing allocated. */
	return b != NULL && b->bytes != NULL ? b->capacity : 0;
}

static void
account(skr_net_loop *l, struct skr__conn *c, size_t held)
{
	if (held > c->held)
		atomic_fetch_add(&l->s->body_held, held - c->held);
	else
		atomic_fetch_sub(&l->s->body_held, c->held - held);
	c->held = held;
}

/* c's live HTTP/2 connection, or NULL (HTTP/1.1, still in the TLS
 * handshake, closing, or not reading now). */
static h2o_http2_conn_t *
h2_of(skr_net_loop *l, struct skr__conn *c)
{
	h2o_socket_t *sock = c->sock;
	h2o_socket_cb cb, known;
	h2o_linklist_t *n;

	if (uv_is_closing((uv_handle_t *)&c->tcp) ||
	    (cb = sock->_cb.read) == NULL)
		return NULL;
	known = __atomic_load_n(&h2_read, __ATOMIC_ACQUIRE);
	if (known != NULL)
	{
		if (cb != known)
			return NULL;
		c->is_h2 = 1;
		return sock->data;
	}
	for (n = l->ctx.http2._conns.next; n != &l->ctx.http2._conns;
	    n = n->next) {
		h2o_http2_conn_t *conn = H2O_STRUCT_FROM_MEMBER(
		    h2o_http2_conn_t, _conns, n);

		if (conn->sock == sock && sock->data == conn) {
			__atomic_store_n(&h2_read, cb, __ATOMIC_RELEASE);
			c->is_h2 = 1;
			return conn;
		}
	}
	return NULL;
}

/* Call fn for every stream under node of a connection's priority tree
 * (depth first), until it returns non-zero. */
static int
walk(h2o_http2_scheduler_node_t *node,
    int (*fn)(h2o_http2_stream_t *st, void *arg), void *arg)
{
	h2o_linklist_t *n;
	int r;

	for (n = node->_all_refs.next; n != &node->_all_refs; n = n->next) {
		h2o_http2_scheduler_openref_t *ref = H2O_STRUCT_FROM_MEMBER(
		    h2o_http2_scheduler_openref_t, _all_link, n);
		h2o_http2_stream_t *st = H2O_STRUCT_FROM_MEMBER(
		    h2o_http2_stream_t, _refs.scheduler, ref);

		if ((r = fn(st, arg)) != 0 || (r = walk(&ref->node, fn,
		    arg)) != 0)
			return r;
	}
	return 0;
}

static int
add_held(h2o_http2_stream_t *st, void *arg)
{
	*(size_t *)arg += buf_held(st->_req_body);
	return 0;
}

static size_t
h2_held(h2o_http2_conn_t *conn, h2o_socket_t *sock)
{
	size_t n = buf_held(sock->input);

	walk(&conn->scheduler, add_held, &n);
	return n;
}

struct find {
	uint32_t id;
	h2o_http2_stream_t *st;
};

static int
match_id(h2o_http2_stream_t *st, void *arg)
{
	struct find *f = arg;

	if (st->stream_id != f->id)
		return 0;
	f->st = st;
	return 1;
}

static h2o_http2_stream_t *
find_stream(h2o_http2_conn_t *conn, uint32_t id)
{
	struct find f = { id, NULL };

	walk(&conn->scheduler, match_id, &f);
	return f.st;
}

/* ---- answering an HTTP/2 stream before on_req ---------------------------- */

static void
drain(h2o_http2_stream_t *st)
{
	if (st->_req_body != NULL && st->_req_body->size > 0)
		h2o_buffer_consume(&st->_req_body, st->_req_body->size);
}

static const char *
reason(int status)
{
	switch (status) {
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	default: return "Error";
	}
}

/*
 * Refuse stream id with status.  A stream whose body is complete and
 * queued is answered now.  One whose body is still arriving is drained:
 * what h2o has buffered is dropped after every read from now on, and the
 * request is answered, by the layer's on_req, once the body is complete
 * (SKR__NET_REFUSED names the status).  Answering while the client still
 * sends (the answer, then RST_STREAM NO_ERROR, RFC 7540 section 8.1) would
 * be earlier, but curl before 8 and so libskr take that for a failed
 * stream rather than read the answer.
 */
static void
refuse(h2o_http2_conn_t *conn, uint32_t id, int status)
{
	h2o_http2_stream_t *st = find_stream(conn, id);
	h2o_iovec_t *v;
	char *text;

	if (st == NULL)
		return;
	if (st->state == H2O_HTTP2_STREAM_STATE_RECV_BODY) {
		if ((v = h2o_req_getenv(&st->req, H2O_STRLIT(SKR__NET_REFUSED),
		    1)) == NULL || (text = h2o_mem_alloc_pool(&st->req.pool,
		    4)) == NULL)
			return;
		snprintf(text, 4, "%03u", (unsigned)status % 1000u);
		*v = h2o_iovec_init(text, 3);
		/* The body is dropped: h2o must not hold its length
		 * against it. */
		st->_expected_content_length = SIZE_MAX;
		drain(st);
		return;
	}
	if (st->state != H2O_HTTP2_STREAM_STATE_REQ_PENDING)
		return;
	/* Queued behind the requests in the works: out of the queue, as
	 * h2o's run_pending_requests takes it, and answered as h2o answers
	 * a request whose headers it cannot use. */
	if (h2o_linklist_is_linked(&st->_refs.link))
		h2o_linklist_unlink(&st->_refs.link);
	h2o_http2_stream_set_state(conn, st,
	    H2O_HTTP2_STREAM_STATE_SEND_HEADERS);
	if (conn->pull_stream_ids.max_processed < id)
		conn->pull_stream_ids.max_processed = id;
	h2o_send_error_generic(&st->req, status, reason(status),
	    "request refused\n", 0);
}

/* A refused stream still receiving (refuse): 1, its buffer emptied. */
static int
draining(h2o_http2_stream_t *st)
{
	if (st->state != H2O_HTTP2_STREAM_STATE_RECV_BODY ||
	    h2o_req_getenv(&st->req, H2O_STRLIT(SKR__NET_REFUSED), 0) ==
	    NULL)
		return 0;
	drain(st);
	return 1;
}

struct cand {
	uint32_t id;
	size_t held;
};

static int
newest_first(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

/* The limit of a stream's request (o->body_limit), or its status. */
static int
stream_status(const skr_net_serve_opts *o, h2o_http2_stream_t *st)
{
	size_t limit = o->max_request_body, len;
	int status = 0;

	if (o->body_limit != NULL && (status = o->body_limit(o->arg,
	    &st->req, &limit)) != 0)
		return status;
	len = st->_req_body != NULL ? st->_req_body->size : 0;
	if ((st->_expected_content_length != SIZE_MAX &&
	    st->_expected_content_length > limit) || len > limit)
		return 413;
	return 0;
}

/* The streams of one connection with a body not handed on yet: arriving,
 * or complete and queued. */
struct survey {
	const skr_net_serve_opts *o;
	struct cand cands[STREAMS_MAX], refused[STREAMS_MAX];
	int statuses[STREAMS_MAX];
	size_t ncand, nref;
};

static int
survey_one(h2o_http2_stream_t *st, void *arg)
{
	struct survey *sv = arg;
	int status;

	if (st->_req_body == NULL || h2o_http2_stream_is_push(st->stream_id) ||
	    (st->state != H2O_HTTP2_STREAM_STATE_RECV_BODY &&
	    st->state != H2O_HTTP2_STREAM_STATE_REQ_PENDING) || draining(st))
		return 0;
	if ((status = stream_status(sv->o, st)) != 0) {
		if (sv->nref < STREAMS_MAX) {
			sv->statuses[sv->nref] = status;
			sv->refused[sv->nref++].id = st->stream_id;
		}
	} else if (sv->ncand < STREAMS_MAX) {
		sv->cands[sv->ncand].id = st->stream_id;
		sv->cands[sv->ncand++].held = buf_held(st->_req_body);
	}
	return 0;
}

static void
h2_gate(skr_net_loop *l, struct skr__conn *c, h2o_http2_conn_t *conn)
{
	const skr_net_serve_opts *o = &l->s->o;
	struct survey *sv;
	size_t held, others, i;

	if ((sv = calloc(1, sizeof(*sv))) == NULL)
		return;
	sv->o = o;
	walk(&conn->scheduler, survey_one, sv);
	/* Streams are looked up again by id: answering one may let h2o
	 * start queued requests or close streams. */
	for (i = 0; i < sv->nref; i++)
		refuse(conn, sv->refused[i].id, sv->statuses[i]);
	held = h2_held(conn, c->sock);
	others = atomic_load(&l->s->body_held) - c->held;
	qsort(sv->cands, sv->ncand, sizeof(sv->cands[0]), newest_first);
	for (i = 0; i < sv->ncand; i++) {
		if (!((o->http2_max_streams > 0 &&
		    sv->ncand - i > o->http2_max_streams) ||
		    (o->conn_body_memory > 0 && held > o->conn_body_memory) ||
		    (o->body_memory > 0 && others + held > o->body_memory)))
			break;
		refuse(conn, sv->cands[i].id, 429);
		held = held > sv->cands[i].held ? held - sv->cands[i].held : 0;
	}
	free(sv);
	/* What the refusals left. */
	if ((conn = h2_of(l, c)) != NULL)
		account(l, c, h2_held(conn, c->sock));
	else
		account(l, c, buf_held(c->sock->input));
}

/* ---- HTTP/1.1: reading held back ----------------------------------------- */

static void
pause_reading(skr_net_loop *l, struct skr__conn *c)
{
	c->paused = 1;
	c->pprev = NULL;
	c->pnext = l->paused;
	if (l->paused != NULL)
		l->paused->pprev = c;
	l->paused = c;
	skr__net_read_stop(c);
}

static void
unpause(skr_net_loop *l, struct skr__conn *c)
{
	if (!c->paused)
		return;
	if (c->pprev != NULL)
		c->pprev->pnext = c->pnext;
	else
		l->paused = c->pnext;
	if (c->pnext != NULL)
		c->pnext->pprev = c->pprev;
	c->pprev = c->pnext = NULL;
	c->paused = 0;
}

static int
over_budget(const skr_net_server *s)
{
	return s->o.body_memory > 0 &&
	    atomic_load(&s->body_held) > s->o.body_memory;
}

/* ---- after reads, and on the loop's tick --------------------------------- */

void
skr__net_gate_read(skr_net_loop *l, struct skr__conn *c)
{
	h2o_http2_conn_t *conn;
	h2o_socket_t *sock = c->sock;

	if (uv_is_closing((uv_handle_t *)&c->tcp)) {
		account(l, c, 0);
		return;
	}
	if ((conn = h2_of(l, c)) != NULL) {
		h2_gate(l, c, conn);
		return;
	}
	account(l, c, buf_held(sock->input));
	/* Holding a request that is still arriving while the process holds
	 * more than it may: wait for room. */
	if (c->want_read && !c->paused && sock->input != NULL &&
	    sock->input->size > 0 && over_budget(l->s))
		pause_reading(l, c);
}

void
skr__net_gate_resume(skr_net_loop *l, struct skr__conn *c)
{
	/* h2o starts reading again, e.g. for the next HTTP/1.1 request once
	 * it has let go of the last one's bytes. */
	if (!uv_is_closing((uv_handle_t *)&c->tcp) && !c->is_h2 &&
	    c->held > 0)
		account(l, c, buf_held(c->sock->input));
}

void
skr__net_gate_forget(skr_net_loop *l, struct skr__conn *c)
{
	unpause(l, c);
	account(l, c, 0);
}

/*
 * Counts go stale when h2o lets go of bodies between reads (an HTTP/2
 * stream answered): count connections again, and let paused ones read
 * once there is room.  A connection that was HTTP/2 and is not reading now
 * cannot be told apart from HTTP/1.1 and keeps its count until it reads.
 */
static void
on_tick(uv_timer_t *t)
{
	skr_net_loop *l = t->data;
	struct skr__conn *c, *next;
	h2o_http2_conn_t *conn;

	for (c = l->conns; c != NULL; c = c->next) {
		if (c->held == 0 || c->paused ||
		    uv_is_closing((uv_handle_t *)&c->tcp))
			continue;
		if ((conn = h2_of(l, c)) != NULL)
			account(l, c, h2_held(conn, c->sock));
		else if (!c->is_h2)
			account(l, c, buf_held(c->sock->input));
	}
	for (c = l->paused; c != NULL && !over_budget(l->s); c = next) {
		next = c->pnext;
		unpause(l, c);
		if (c->want_read && !uv_is_closing((uv_handle_t *)&c->tcp))
			skr__net_read_start(c);
	}
}

void
skr__net_gate_init(skr_net_loop *l)
{
	uv_timer_init(&l->loop, &l->gate);
	l->gate.data = l;
	if (l->s->o.body_memory > 0 || l->s->o.conn_body_memory > 0)
		uv_timer_start(&l->gate, on_tick, TICK_MS, TICK_MS);
}

/* ---- the answers to requests refused before on_req ----------------------- */

struct refusal_filter {
	h2o_filter_t super;
	skr_net_server *s;
};

struct refusal_ostream {
	h2o_ostream_t super;
	h2o_iovec_t body;
	int sent;
};

static void
refusal_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs,
    size_t bufcnt, h2o_send_state_t state)
{
	struct refusal_ostream *o = (struct refusal_ostream *)self;

	/* h2o's text is replaced: the body goes with h2o's first send (a
	 * HEAD request's has none). */
	(void)bufs;
	if (o->sent || bufcnt == 0) {
		h2o_ostream_send_next(self, req, NULL, 0, state);
		return;
	}
	o->sent = 1;
	h2o_ostream_send_next(self, req, &o->body, 1, state);
}

static void
refusal_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
	struct refusal_filter *f = (struct refusal_filter *)self;
	struct refusal_ostream *o;
	h2o_iovec_t body;

	if (f->s->o.refusal == NULL || req->res.status < 400) {
		h2o_setup_next_ostream(req, slot);
		return;
	}
	body = f->s->o.refusal(f->s->o.arg, req, req->res.status);
	req->res.content_length = body.len;
	o = (struct refusal_ostream *)h2o_add_ostream(req, sizeof(*o), slot);
	o->super.do_send = refusal_send;
	o->body = body;
	o->sent = 0;
	h2o_setup_next_ostream(req, &o->super.next);
}

void
skr__net_gate_configure(skr_net_server *s, h2o_hostconf_t *host)
{
	struct refusal_filter *f;

	f = (struct refusal_filter *)h2o_create_filter(&host->fallback_path,
	    sizeof(*f));
	f->super.on_setup_ostream = refusal_setup;
	f->s = s;
	if (s->o.http2_max_streams > 0)
		s->config.http2.max_concurrent_requests_per_connection =
		    s->o.http2_max_streams;
}
