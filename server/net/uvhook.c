/*
 * h2o's libuv stream calls, seen before libuv gets them.
 *
 * libh2o is a shared library that calls libuv through its PLT, so a
 * definition of uv_write in the program (this file, linked into every
 * program that serves with this layer) is the one libh2o's calls reach.
 * It calls libuv's own uv_write, found with dlsym(RTLD_NEXT), and changes
 * one thing for the loops' accepted connections, documented in
 * docs/skrd.md ("Connections" and "Request bodies"):
 *
 * Reads are seen by the request-body gate (gate.c) right after h2o has
 * handled them: uv_read_start hands libuv a callback of this layer that
 * calls h2o's and then the gate, which may hold a connection's reading back
 * (uv_read_stop) until memory is free again; h2o's own uv_read_start and
 * uv_read_stop calls meanwhile only record what h2o wants.
 *
 * A write libuv refuses at once is completed later, with its error.  When
 * a read fails with ECONNRESET, libuv marks the stream neither readable
 * nor writable; h2o 2.2 then closes a TLS connection by writing its
 * close_notify, uv_write returns UV_EPIPE at once, and h2o's do_write
 * ignores the return value: the write callback that would dispose of the
 * socket never runs, and the connection (its descriptor and its place
 * under max_connections) is kept for good.  Here the callback runs on the
 * loop's next iteration, never from inside uv_write (h2o does not expect
 * its callback before uv_write returns), so h2o closes the connection its
 * usual way.  Writes that libuv accepts are left alone.
 */
#include "serve_priv.h"

#include <dlfcn.h>
#include <pthread.h>

#include "skr/error.h"

typedef int (*write_fn)(uv_write_t *, uv_stream_t *, const uv_buf_t[],
    unsigned int, uv_write_cb);
typedef int (*read_start_fn)(uv_stream_t *, uv_alloc_cb, uv_read_cb);
typedef int (*read_stop_fn)(uv_stream_t *);

static write_fn real_write;
static read_start_fn real_read_start;
static read_stop_fn real_read_stop;
static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;

__thread skr_net_loop *skr__net_current;

static void
resolve(void)
{
	real_write = (write_fn)dlsym(RTLD_NEXT, "uv_write");
	real_read_start = (read_start_fn)dlsym(RTLD_NEXT, "uv_read_start");
	real_read_stop = (read_stop_fn)dlsym(RTLD_NEXT, "uv_read_stop");
}

int
skr__net_uvhook_init(void)
{
	pthread_once(&resolve_once, resolve);
	return real_write != NULL && real_read_start != NULL &&
	    real_read_stop != NULL ? SKR_OK : SKR_ERR_INTERNAL;
}

struct skr__conn *
skr__net_conn_of(const uv_stream_t *handle)
{
	skr_net_loop *l = skr__net_current;
	struct skr__conn *c;

	/* Only this layer makes TCP handles on its loops: the listener and
	 * the accepted connections (h2o connects nowhere for skrd). */
	if (l == NULL || handle->loop != &l->loop ||
	    handle->type != UV_TCP ||
	    handle == (const uv_stream_t *)&l->listener)
		return NULL;
	c = (struct skr__conn *)(uintptr_t)handle;
	return c->magic == SKR__CONN_MAGIC ? c : NULL;
}

static void
wfail_unlink(skr_net_loop *l, struct skr__conn *c)
{
	if (c->wfail_prev != NULL)
		c->wfail_prev->wfail_next = c->wfail_next;
	else
		l->wfail = c->wfail_next;
	if (c->wfail_next != NULL)
		c->wfail_next->wfail_prev = c->wfail_prev;
	c->wfail_prev = c->wfail_next = NULL;
	c->wfail_cb = NULL;
	c->wfail_req = NULL;
}

void
skr__net_wfail_forget(skr_net_loop *l, struct skr__conn *c)
{
	if (c->wfail_cb != NULL)
		wfail_unlink(l, c);
}

/* The loop's next iteration: complete the refused writes.  A callback may
 * close connections (their close callbacks run later in the iteration) or
 * refuse further writes, which wait for the next iteration. */
static void
on_wfail(uv_idle_t *idle)
{
	skr_net_loop *l = idle->data;
	struct skr__conn *c;
	uv_write_t *req;
	uv_write_cb cb;
	int status;

	uv_idle_stop(idle);
	while ((c = l->wfail) != NULL) {
		req = c->wfail_req;
		cb = c->wfail_cb;
		status = c->wfail_status;
		wfail_unlink(l, c);
		cb(req, status);
	}
}

int
uv_write(uv_write_t *req, uv_stream_t *handle, const uv_buf_t bufs[],
    unsigned int nbufs, uv_write_cb cb)
{
	skr_net_loop *l = skr__net_current;
	struct skr__conn *c;
	int r;

	if (real_write == NULL && skr__net_uvhook_init() != SKR_OK)
		return UV_ENOSYS;
	if ((r = real_write(req, handle, bufs, nbufs, cb)) == 0 || cb == NULL ||
	    (c = skr__net_conn_of(handle)) == NULL || c->wfail_cb != NULL)
		return r;
	/* libuv did not take the request: it is this caller's to complete,
	 * as libuv would have, with the error. */
	req->handle = handle;
	req->cb = cb;
	c->wfail_req = req;
	c->wfail_cb = cb;
	c->wfail_status = r;
	c->wfail_prev = NULL;
	c->wfail_next = l->wfail;
	if (l->wfail != NULL)
		l->wfail->wfail_prev = c;
	l->wfail = c;
	uv_idle_start(&l->wfail_idle, on_wfail);
	return 0;
}

/* ---- reads --------------------------------------------------------------- */

/* libuv's read callback for the loops' connections: h2o's, then the
 * gate.  c stays valid throughout: h2o closes a connection with uv_close,
 * whose callback (which frees c) runs later in the loop iteration. */
static void
on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct skr__conn *c = (struct skr__conn *)stream;
	skr_net_loop *l = stream->loop->data;

	c->h2o_read(stream, nread, buf);
	skr__net_gate_read(l, c);
}

int
skr__net_read_start(struct skr__conn *c)
{
	return real_read_start((uv_stream_t *)&c->tcp, c->h2o_alloc, on_read);
}

int
skr__net_read_stop(struct skr__conn *c)
{
	return real_read_stop((uv_stream_t *)&c->tcp);
}

int
uv_read_start(uv_stream_t *stream, uv_alloc_cb alloc_cb, uv_read_cb read_cb)
{
	skr_net_loop *l = skr__net_current;
	struct skr__conn *c;

	if (real_read_start == NULL && skr__net_uvhook_init() != SKR_OK)
		return UV_ENOSYS;
	if ((c = skr__net_conn_of(stream)) == NULL || alloc_cb == NULL ||
	    read_cb == NULL)
		return real_read_start(stream, alloc_cb, read_cb);
	c->h2o_alloc = alloc_cb;
	c->h2o_read = read_cb;
	c->want_read = 1;
	if (c->paused)
		return 0;
	skr__net_gate_resume(l, c);
	return c->paused ? 0 : skr__net_read_start(c);
}

int
uv_read_stop(uv_stream_t *stream)
{
	struct skr__conn *c;

	if (real_read_stop == NULL && skr__net_uvhook_init() != SKR_OK)
		return UV_ENOSYS;
	if ((c = skr__net_conn_of(stream)) != NULL)
		c->want_read = 0;
	return real_read_stop(stream);
}
