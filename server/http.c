/*
 * skrd's HTTP layer on libh2o (libuv build).
 *
 * Threads: one libuv loop and h2o context per thread, each with its own
 * listening socket bound to the same address with SO_REUSEPORT, so the
 * kernel spreads connections and nothing on the request path is shared
 * behind a lock.  A handler flagged SKR_ROUTE_SLOW (key generation) runs on
 * the libuv thread pool and answers from the loop thread afterwards.
 *
 * Every request is copied into a job that owns its bytes, so a handler on a
 * worker thread never touches h2o memory; if the client goes away first,
 * the job notices (pool dispose callback) and drops the answer.
 */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <h2o.h>
#include <h2o/http2.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "auditsink.h"
#include "dispatch.h"
#include "encoding.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "notify.h"
#include "request.h"
#include "routes.h"
#include "random.h"
#include "skr/error.h"
#include "store.h"

#define PATH_MAX_LEN 2048
#define HEADER_MAX_LEN 8192

struct http;
struct worker;

/* An accepted connection; h2o owns it once h2o_accept has it. */
struct conn {
	uv_tcp_t tcp;             /* first: h2o's close callback gets it */
	struct conn *prev, *next; /* the worker's live connections */
	h2o_socket_t *sock;       /* h2o's socket over tcp */
	uint64_t progress;        /* loop ms of accept or the last request */
	int cut;                  /* shut down for stalling */
};

struct worker {
	struct http *http;
	int index;
	pthread_t thread;
	uv_loop_t loop;
	uv_tcp_t listener;
	uv_async_t stop;
	uv_timer_t drain;
	uv_timer_t sweep;         /* cuts connections that make no progress */
	int no_sockets;           /* h2o gave no socket: sweep disabled */
	h2o_context_t ctx;
	h2o_accept_ctx_t accept_ctx;
	int fd;
	size_t nconns;
	size_t njobs;
	struct conn *conns;
	uint64_t deadline;
	int stopping;
	int forced;    /* the shutdown deadline passed: connections cut */
	int stuck;     /* a cut connection h2o never closed: leave h2o be */
	int abandoned; /* a handler outlived the deadline: exit at once */
};

struct http {
	skr_server *srv;
	skr_http_opts o;
	h2o_globalconf_t config;
	SSL_CTX *ssl;
	struct worker *workers;
	int nworkers;
	atomic_size_t conns;
	skr_net_addr addr;
	char url[256];
};

struct handler {
	h2o_handler_t super;
	struct http *http;
};

struct anchor;

/* One request, owning copies of everything a handler reads. */
struct job {
	struct worker *w;
	h2o_req_t *h2o;          /* NULL once the client has gone */
	struct anchor *anchor;
	const skr_route *route;
	int metric_route;        /* SKR_METRICS_ROUTE_* or a table index */
	uint64_t start;          /* uv_hrtime() at arrival */
	skr_request req;
	skr_response resp;
	uv_work_t work;
	char method[16];
	char *path;
	char *query;
	uint8_t *body;
	char *content_type;
	char *authorization;
};

struct anchor {
	struct job *job;
};

void
skr_http_opts_init(skr_http_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->listen = "127.0.0.1:8443";
	o->max_body = 1024 * 1024;
	o->max_header_bytes = 16 * 1024;
	o->max_headers = 64;
	o->max_connections = 4096;
	o->header_timeout_ms = 10000;
	o->idle_timeout_ms = 60000;
	o->handshake_timeout_ms = 10000;
	o->shutdown_ms = 10000;
}

/* ---- responses -------------------------------------------------------- */

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 431: return "Request Header Fields Too Large";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	default: return status < 400 ? "OK" : "Error";
	}
}

static void
send_response(h2o_req_t *req, const char *request_id, skr_response *resp)
{
	const char *ct = resp->content_type ? resp->content_type :
	    "application/json; charset=utf-8";

	req->res.status = resp->status ? resp->status : 500;
	req->res.reason = reason_phrase(req->res.status);
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
	    NULL, ct, strlen(ct));
	/* Responses can carry key bundles and wrapped keys: never cache. */
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL,
	    NULL, H2O_STRLIT("no-store"));
	h2o_add_header_by_str(&req->pool, &req->res.headers,
	    H2O_STRLIT("x-request-id"), 0, NULL, request_id,
	    strlen(request_id));
	for (size_t i = 0; i < resp->nheaders; i++)
		h2o_add_header_by_str(&req->pool, &req->res.headers,
		    resp->headers[i].name, strlen(resp->headers[i].name), 1,
		    NULL, resp->headers[i].value,
		    strlen(resp->headers[i].value));
	h2o_send_inline(req, (const char *)resp->body.data, resp->body.len);
}

static void
log_request(const struct job *job)
{
	int level = job->resp.status >= 500 ? SKR_LOG_ERROR : SKR_LOG_INFO;

	skr_log(level, "request", json_pack("{s:s,s:s,s:s,s:s?,s:i}",
	    "request_id", job->req.request_id, "peer", job->req.peer,
	    "method", job->method, "path", job->path,
	    "status", job->resp.status));
}

/* ---- jobs ------------------------------------------------------------- */

static void
job_free(struct job *job)
{
	skr_response_clear(&job->resp);
	skr_buf_free(&job->resp.body);
	free(job->path);
	free(job->query);
	if (job->body != NULL)
		skr_freezero(job->body, job->req.body_len);
	free(job->content_type);
	if (job->authorization != NULL)
		skr_freezero(job->authorization, strlen(job->authorization));
	skr_wipe(&job->req.principal_buf, sizeof(job->req.principal_buf));
	free(job);
}

static void
anchor_dispose(void *p)
{
	struct anchor *a = p;

	/* The request is going away before a slow handler finished. */
	if (a->job != NULL)
		a->job->h2o = NULL;
}

static char *
header_dup(h2o_req_t *req, const h2o_token_t *token)
{
	ssize_t i = h2o_find_header(&req->headers, token, -1);
	h2o_iovec_t v;
	char *s;

	if (i < 0)
		return NULL;
	v = req->headers.entries[i].value;
	if (v.len > HEADER_MAX_LEN || (s = malloc(v.len + 1)) == NULL)
		return NULL;
	memcpy(s, v.base, v.len);
	s[v.len] = '\0';
	return s;
}

static void
peer_text(h2o_req_t *req, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	snprintf(out, outlen, "unknown");
	if (req->conn->callbacks->get_peername == NULL)
		return;
	len = req->conn->callbacks->get_peername(req->conn,
	    (struct sockaddr *)&ss);
	if (len == 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out,
		    (socklen_t)outlen);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    out, (socklen_t)outlen);
}

/*
 * h2o bounds a request head at compile time (H2O_MAX_REQLEN, H2O_MAX_HEADERS);
 * the configured limits are tighter.  Over them is 431 (RFC 6585 section 5).
 */
static int
headers_too_large(const struct http *http, const h2o_req_t *req)
{
	size_t i, total = 0;

	if (req->headers.size > http->o.max_headers)
		return 1;
	for (i = 0; i < req->headers.size; i++)
		total += req->headers.entries[i].name->len +
		    req->headers.entries[i].value.len;
	return total > http->o.max_header_bytes;
}

/* Copy what a handler needs out of h2o's request. */
static int
job_fill(struct job *job, h2o_req_t *req)
{
	const char *q;
	size_t plen;
	uint8_t rnd[8];
	skr_buf id = SKR_BUF_INIT;

	/* The id first: every answer, even a refusal, carries it. */
	skr_random(rnd, sizeof(rnd));
	skr_hex_encode(&id, rnd, sizeof(rnd), 0);
	snprintf(job->req.request_id, sizeof(job->req.request_id), "%s",
	    skr_buf_cstr(&id));
	skr_buf_free(&id);
	peer_text(req, job->req.peer, sizeof(job->req.peer));
	job->req.now = skr_server_now(job->w->http->srv);
	job->req.loop_data = job->w;
	if (headers_too_large(job->w->http, req)) {
		skr_response_error(&job->resp, SKR_ERR_TOO_LARGE,
		    "request headers over the limit");
		job->resp.status = 431;
		return SKR_ERR_TOO_LARGE;
	}
	if (req->method.len >= sizeof(job->method) ||
	    req->path.len > PATH_MAX_LEN)
		return SKR_ERR_BAD_REQUEST;
	memcpy(job->method, req->method.base, req->method.len);
	job->method[req->method.len] = '\0';
	/* The raw path: Key Vault SDKs send an empty version segment
	 * ("/keys/k//release") that normalisation would fold away. */
	q = memchr(req->path.base, '?', req->path.len);
	plen = q ? (size_t)(q - req->path.base) : req->path.len;
	if ((job->path = strndup(req->path.base, plen)) == NULL)
		return SKR_ERR_NOMEM;
	if (q != NULL && (job->query = strndup(q + 1, req->path.len - plen -
	    1)) == NULL)
		return SKR_ERR_NOMEM;
	if (req->entity.base != NULL && req->entity.len > 0) {
		if (req->entity.len > job->w->http->o.max_body)
			return SKR_ERR_TOO_LARGE;
		if ((job->body = malloc(req->entity.len)) == NULL)
			return SKR_ERR_NOMEM;
		memcpy(job->body, req->entity.base, req->entity.len);
		job->req.body_len = req->entity.len;
	}
	job->content_type = header_dup(req, H2O_TOKEN_CONTENT_TYPE);
	job->authorization = header_dup(req, H2O_TOKEN_AUTHORIZATION);
	job->req.method = job->method;
	job->req.path = job->path;
	job->req.query = job->query;
	job->req.body = job->body;
	job->req.content_type = job->content_type;
	job->req.authorization = job->authorization;
	return SKR_OK;
}

/*
 * A request arrived or was answered on req's connection.  h2o 2.2 has no
 * read timeout for an open HTTP/2 stream, so the sweep (on_sweep) cuts
 * connections that go too long without one.
 */
static void
conn_progress(struct worker *w, h2o_req_t *req)
{
	h2o_socket_t *sock;

	if (req->conn->callbacks->get_socket == NULL) {
		w->no_sockets = 1;
		return;
	}
	sock = req->conn->callbacks->get_socket(req->conn);
	for (struct conn *c = w->conns; c != NULL; c = c->next)
		if (c->sock == sock) {
			c->progress = uv_now(&w->loop);
			return;
		}
}

static void
job_finish(struct job *job)
{
	struct worker *w = job->w;

	if (job->h2o != NULL) {
		conn_progress(w, job->h2o);
		job->anchor->job = NULL;
		send_response(job->h2o, job->req.request_id, &job->resp);
	}
	log_request(job);
	skr_metrics_request(w->http->srv->metrics, job->metric_route,
	    job->resp.status, (uv_hrtime() - job->start) / 1000);
	/* A change was audited: the sinks need not wait for their poll. */
	if (job->route != NULL && (job->route->flags & SKR_ROUTE_WRITE))
		skr_auditsink_kick(w->http->srv->auditsink);
	w->njobs--;
	job_free(job);
}

static void
job_work(uv_work_t *work)
{
	struct job *job = work->data;
	skr_server *srv = job->w->http->srv;

	job->route->fn(srv, &job->req, &job->resp);
	/* libuv never joins its pool threads, so OpenSSL's per-thread state
	 * (the random generators a handler instantiates) would outlive them
	 * unfreed; let it go after each job.  Re-seeding from the primary
	 * generator costs microseconds against a key generation or release. */
	OPENSSL_thread_stop();
}

static void
job_after_work(uv_work_t *work, int status)
{
	struct job *job = work->data;

	if (status != 0)
		skr_response_error(&job->resp, SKR_ERR_INTERNAL, NULL);
	job_finish(job);
}

static int
on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct handler *h = (struct handler *)self;
	struct worker *w = H2O_STRUCT_FROM_MEMBER(struct worker, ctx,
	    req->conn->ctx);
	struct job *job;
	skr_dispatch_info d;
	const skr_route *route;
	int r;

	if ((job = calloc(1, sizeof(*job))) == NULL)
		return -1;
	job->w = w;
	job->h2o = req;
	conn_progress(w, req);
	job->start = uv_hrtime();
	job->metric_route = SKR_METRICS_ROUTE_UNMATCHED;
	skr_response_init(&job->resp);
	w->njobs++;
	if ((r = job_fill(job, req)) != SKR_OK) {
		if (job->resp.status == 0)
			skr_response_error(&job->resp, r, NULL);
		goto answer;
	}
	/* job->route stays the matched route when the caller is refused:
	 * metrics count the request under it. */
	route = skr_dispatch_route(h->http->srv, &job->req, &job->resp, &d);
	job->route = d.route;
	job->metric_route = d.metric_route;
	if (route == NULL)
		goto answer;
	if (job->route->flags & SKR_ROUTE_SLOW) {
		job->anchor = h2o_mem_alloc_shared(&req->pool,
		    sizeof(*job->anchor), anchor_dispose);
		job->anchor->job = job;
		job->work.data = job;
		if (uv_queue_work(&w->loop, &job->work, job_work,
		    job_after_work) == 0)
			return 0;
		job->anchor->job = NULL;
		skr_response_error(&job->resp, SKR_ERR_INTERNAL, NULL);
		goto answer;
	}
	job->route->fn(h->http->srv, &job->req, &job->resp);
answer:
	job->anchor = &(struct anchor){ NULL };
	job_finish(job);
	return 0;
}

/* ---- connections ------------------------------------------------------ */

static void
on_conn_close(uv_handle_t *h)
{
	struct worker *w = h->loop->data;
	struct conn *c = (struct conn *)h;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	atomic_fetch_sub(&w->http->conns, 1);
	skr_metrics_connections(w->http->srv->metrics, -1);
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
	struct worker *w = listener->data;
	h2o_socket_t *sock;
	struct conn *conn;

	if (status != 0 || w->stopping)
		return;
	if ((conn = calloc(1, sizeof(*conn))) == NULL)
		return;
	uv_tcp_init(&w->loop, &conn->tcp);
	if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
		uv_close((uv_handle_t *)&conn->tcp, on_refused_close);
		return;
	}
	/* Over the connection limit: close at once rather than queue. */
	if (atomic_fetch_add(&w->http->conns, 1) >=
	    w->http->o.max_connections) {
		atomic_fetch_sub(&w->http->conns, 1);
		uv_close((uv_handle_t *)&conn->tcp, on_refused_close);
		return;
	}
	w->nconns++;
	skr_metrics_connections(w->http->srv->metrics, 1);
	conn->progress = uv_now(&w->loop);
	conn->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = conn;
	w->conns = conn;
	sock = h2o_uv_socket_create((uv_stream_t *)&conn->tcp, on_conn_close);
	conn->sock = sock;
	h2o_accept(&w->accept_ctx, sock);
}

/* ---- workers ---------------------------------------------------------- */

static void
close_walk(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* After the deadline, cut connections get GRACE_MS to be closed by h2o;
 * a handler still running on the thread pool gets ABANDON_MS to finish. */
#define GRACE_MS 2000
#define ABANDON_MS 30000

/*
 * Cut every connection still open after the shutdown deadline.  Shutting
 * the socket down (rather than closing it under h2o) makes h2o see EOF or a
 * write error and close the connection its usual way, so the context can be
 * disposed of cleanly afterwards.
 */
static void
cut_connections(struct worker *w)
{
	uv_os_fd_t fd;

	skr_log(SKR_LOG_WARN, "shutdown deadline passed; closing connections",
	    json_pack("{s:i,s:I,s:I}", "loop", w->index, "connections",
	    (json_int_t)w->nconns, "requests", (json_int_t)w->njobs));
	for (struct conn *c = w->conns; c != NULL; c = c->next)
		if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
			shutdown(fd, SHUT_RDWR);
}

/*
 * Once a second: shut down connections that have had no request arrive or
 * complete for header_timeout + idle_timeout.  h2o closes HTTP/1.1
 * connections that stall (req_timeout) and HTTP/2 connections without
 * streams (idle_timeout) well before that; what is left is an HTTP/2 stream
 * whose headers or body trickle in.  Shutting the socket down makes h2o
 * close the connection its usual way.
 */
static void
on_sweep(uv_timer_t *t)
{
	struct worker *w = t->data;
	uint64_t now = uv_now(&w->loop);
	uint64_t limit = w->http->o.header_timeout_ms +
	    w->http->o.idle_timeout_ms;
	uv_os_fd_t fd;

	if (w->no_sockets)
		return;
	for (struct conn *c = w->conns; c != NULL; c = c->next) {
		if (c->cut || now - c->progress <= limit)
			continue;
		c->cut = 1;
		skr_log(SKR_LOG_INFO, "connection stalled; closed", json_pack(
		    "{s:i,s:I}", "loop", w->index, "idle_ms",
		    (json_int_t)(now - c->progress)));
		if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
			shutdown(fd, SHUT_RDWR);
	}
}

static void
on_drain(uv_timer_t *t)
{
	struct worker *w = t->data;
	uint64_t now = uv_now(&w->loop);

	if (w->nconns == 0 && w->njobs == 0) {
		uv_stop(&w->loop);
		return;
	}
	if (!w->forced && now >= w->deadline) {
		w->forced = 1;
		cut_connections(w);
	} else if (w->forced && w->njobs == 0 &&
	    now >= w->deadline + GRACE_MS) {
		/* No handler of ours runs, but h2o keeps a connection it will
		 * not close; the context cannot be disposed of with it. */
		skr_log(SKR_LOG_WARN, "connections left to process exit",
		    json_pack("{s:i,s:I}", "loop", w->index, "connections",
		    (json_int_t)w->nconns));
		w->stuck = 1;
		uv_stop(&w->loop);
	} else if (w->forced && now >= w->deadline + ABANDON_MS) {
		skr_log(SKR_LOG_ERROR, "requests still running after the "
		    "shutdown deadline; exiting without cleanup", json_pack(
		    "{s:i,s:I}", "loop", w->index, "requests",
		    (json_int_t)w->njobs));
		w->abandoned = 1;
		uv_stop(&w->loop);
	}
}

static void
on_stop(uv_async_t *a)
{
	struct worker *w = a->data;

	if (w->stopping)
		return;
	w->stopping = 1;
	uv_close((uv_handle_t *)&w->listener, NULL);
	/* HTTP/2 GOAWAY and HTTP/1 close-after-response for what is open;
	 * finish what is in flight until the deadline. */
	h2o_context_request_shutdown(&w->ctx);
	w->deadline = uv_now(&w->loop) + w->http->o.shutdown_ms;
	uv_timer_start(&w->drain, on_drain, 0, 20);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	uv_run(&w->loop, UV_RUN_DEFAULT);
	/* h2o cannot dispose of a context with live connections: leave it to
	 * process exit. */
	if (w->stuck || w->abandoned)
		return NULL;
	/* A shutdown request may leave h2o's graceful-shutdown timer armed;
	 * the context cannot be disposed of with it linked. */
	if (h2o_timeout_is_linked(&w->ctx.http2._graceful_shutdown_timeout))
		h2o_timeout_unlink(&w->ctx.http2._graceful_shutdown_timeout);
	h2o_context_dispose(&w->ctx);
	uv_walk(&w->loop, close_walk, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	uv_loop_close(&w->loop);
	return NULL;
}

static int
worker_init(struct http *http, struct worker *w, int index)
{
	w->http = http;
	w->index = index;
	if ((w->fd = skr_net_listen_fd(&http->addr, SKR_NET_REUSEPORT)) < 0)
		return SKR_ERR_CONFIG;
	uv_loop_init(&w->loop);
	w->loop.data = w;
	uv_tcp_init(&w->loop, &w->listener);
	w->listener.data = w;
	if (uv_tcp_open(&w->listener, w->fd) != 0 ||
	    uv_listen((uv_stream_t *)&w->listener, 1024, on_accept) != 0)
		return SKR_ERR_CONFIG;
	uv_async_init(&w->loop, &w->stop, on_stop);
	w->stop.data = w;
	uv_timer_init(&w->loop, &w->drain);
	w->drain.data = w;
	uv_timer_init(&w->loop, &w->sweep);
	w->sweep.data = w;
	uv_timer_start(&w->sweep, on_sweep, 1000, 1000);
	h2o_context_init(&w->ctx, &w->loop, &http->config);
	w->accept_ctx.ctx = &w->ctx;
	w->accept_ctx.hosts = http->config.hosts;
	w->accept_ctx.ssl_ctx = http->ssl;
	return SKR_OK;
}

/* The running server; keeps what a stuck shutdown leaves behind reachable
 * (see the end of skr_http_serve). */
static struct http *the_http;

static void
on_hup(uv_signal_t *sig, int signum)
{
	struct http *http = sig->data;

	(void)signum;
	if (http->o.reload_cb != NULL)
		http->o.reload_cb(http->o.reload_arg);
	else
		skr_log(SKR_LOG_INFO, "SIGHUP ignored: nothing to reload",
		    NULL);
}

static void
on_signal(uv_signal_t *sig, int signum)
{
	struct http *http = sig->data;

	skr_log(SKR_LOG_INFO, "shutting down", json_pack("{s:i}", "signal",
	    signum));
	skr_notify("STOPPING=1");
	for (int i = 0; i < http->nworkers; i++)
		uv_async_send(&http->workers[i].stop);
	uv_stop(sig->loop);
}

int
skr_http_serve(skr_server *srv, const skr_http_opts *o,
    void (*ready_cb)(void *arg, const char *url), void *arg)
{
	struct http *http;
	h2o_hostconf_t *host;
	h2o_pathconf_t *pathconf;
	struct handler *h;
	uv_loop_t main_loop;
	uv_signal_t sigterm, sigint, sighup;
	int i, started = 0, own_metrics = 0, r = SKR_OK;
	long ncpu;

	if ((http = calloc(1, sizeof(*http))) == NULL)
		return SKR_ERR_NOMEM;
	if (srv->metrics == NULL) {
		if ((r = skr_metrics_create(skr_routes, skr_nroutes,
		    &srv->metrics)) != SKR_OK) {
			free(http);
			return r;
		}
		own_metrics = 1;
	}
	the_http = http;
	http->srv = srv;
	http->o = *o;
	if ((r = skr_net_resolve_listen(o->listen, &http->addr)) != SKR_OK)
		goto out;
	if (o->plain && !skr_net_is_loopback(http->addr.host)) {
		skr_log(SKR_LOG_ERROR, "plain HTTP is only allowed on a "
		    "loopback address", json_pack("{s:s}", "listen",
		    o->listen));
		r = SKR_ERR_CONFIG;
		goto out;
	}
	if (!o->plain && (r = skr_net_tls_server(o->cert_file, o->key_file,
	    &http->ssl)) != SKR_OK) {
		skr_log(SKR_LOG_ERROR, "TLS setup failed", json_pack("{s:s,s:s}",
		    "cert", o->cert_file ? o->cert_file : "",
		    "key", o->key_file ? o->key_file : ""));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);

	h2o_config_init(&http->config);
	/* No version banner in responses. */
	http->config.server_name = h2o_iovec_init(H2O_STRLIT("skrd"));
	/* h2o answers bodies far over the limit itself; those just over it
	 * reach job_fill and get the error shape of docs/api.md. */
	http->config.max_request_entity_size = o->max_body + 64 * 1024;
	http->config.handshake_timeout = o->handshake_timeout_ms;
	http->config.http1.req_timeout = o->header_timeout_ms;
	http->config.http2.idle_timeout = o->idle_timeout_ms;
	http->config.http2.graceful_shutdown_timeout = o->shutdown_ms;
	host = h2o_config_register_host(&http->config,
	    h2o_iovec_init(H2O_STRLIT("default")), 65535);
	pathconf = h2o_config_register_path(host, "/", 0);
	h = (struct handler *)h2o_create_handler(pathconf, sizeof(*h));
	h->super.on_req = on_req;
	h->http = http;

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	http->nworkers = o->threads > 0 ? o->threads : (ncpu > 0 ? (int)ncpu : 1);
	if (http->nworkers > 256)
		http->nworkers = 256;
	if ((http->workers = calloc((size_t)http->nworkers,
	    sizeof(*http->workers))) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < http->nworkers; i++) {
		if ((r = worker_init(http, &http->workers[i], i)) != SKR_OK) {
			skr_log(SKR_LOG_ERROR, "cannot listen", json_pack(
			    "{s:s}", "listen", o->listen));
			goto out;
		}
	}
	/* An ephemeral port is bound by now: the URL names it. */
	skr_net_url(&http->addr, o->plain ? "http" : "https", http->addr.port,
	    http->url, sizeof(http->url));
	if (srv->base_url[0] == '\0' && strlen(http->url) < sizeof(srv->base_url)) {
		memcpy(srv->base_url, http->url, strlen(http->url) + 1);
		if (strcmp(http->addr.host, "0.0.0.0") == 0 ||
		    strcmp(http->addr.host, "::") == 0)
			skr_log(SKR_LOG_WARN, "listening on every address "
			    "without public_url: key ids, nextLinks and the "
			    "Key Vault challenge name the wildcard address",
			    json_pack("{s:s}", "base_url", srv->base_url));
	}

	uv_loop_init(&main_loop);
	uv_signal_init(&main_loop, &sigterm);
	uv_signal_init(&main_loop, &sigint);
	uv_signal_init(&main_loop, &sighup);
	sigterm.data = sigint.data = sighup.data = http;
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_signal_start(&sighup, on_hup, SIGHUP);

	for (i = 0; i < http->nworkers; i++) {
		if (pthread_create(&http->workers[i].thread, NULL, worker_main,
		    &http->workers[i]) != 0) {
			r = SKR_ERR_INTERNAL;
			break;
		}
		started++;
	}
	if (r == SKR_OK) {
		skr_log(SKR_LOG_INFO, "serving", json_pack("{s:s,s:i}", "url",
		    http->url, "threads", http->nworkers));
		fprintf(stderr, "skrd: listening on %s\n", http->url);
		fflush(stderr);
		if (ready_cb != NULL)
			ready_cb(arg, http->url);
		uv_run(&main_loop, UV_RUN_DEFAULT);
	} else {
		for (i = 0; i < started; i++)
			uv_async_send(&http->workers[i].stop);
	}
	for (i = 0; i < started; i++)
		pthread_join(http->workers[i].thread, NULL);
	for (i = 0; i < started; i++)
		if (http->workers[i].abandoned) {
			/* A handler is still running on the thread pool and
			 * may use the store: nothing can be freed safely.
			 * Every acknowledged write is already durable. */
			fflush(stderr);
			_exit(1);
		}
	uv_close((uv_handle_t *)&sigterm, NULL);
	uv_close((uv_handle_t *)&sigint, NULL);
	uv_close((uv_handle_t *)&sighup, NULL);
	uv_run(&main_loop, UV_RUN_DEFAULT);
	uv_loop_close(&main_loop);
	skr_log(SKR_LOG_INFO, "stopped", NULL);
	for (i = 0; i < started; i++)
		if (http->workers[i].stuck) {
			/* Still referenced by a live h2o context: kept, and
			 * reachable through the_http, until the process ends.
			 * The caller may close the store: no handler runs,
			 * and no loop counts metrics any more. */
			if (own_metrics) {
				skr_metrics_free(srv->metrics);
				srv->metrics = NULL;
			}
			return r;
		}
out:
	if (http->workers != NULL) {
		for (i = started; i < http->nworkers; i++)
			if (http->workers[i].fd > 0 && !http->workers[i].stopping)
				close(http->workers[i].fd);
		free(http->workers);
	}
	if (http->config.hosts != NULL)
		h2o_config_dispose(&http->config);
	SSL_CTX_free(http->ssl);
	the_http = NULL;
	free(http);
	if (own_metrics) {
		skr_metrics_free(srv->metrics);
		srv->metrics = NULL;
	}
	return r;
}
