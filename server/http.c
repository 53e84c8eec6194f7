/*
 * skrd's HTTP layer: requests from the serving layer (server/net/serve.h:
 * h2o on libuv, one loop per thread) through the dispatcher to the
 * handlers and back.  A handler flagged SKR_ROUTE_SLOW (key generation,
 * evaluate) runs on the libuv thread pool and answers from the loop thread
 * afterwards; one flagged SKR_ROUTE_ASYNC (release) runs on the loop and
 * may answer later, when the work it handed on is done (request.h,
 * skr_defer), or ask to be run on the pool instead.  With a replicated
 * store every request, a release too, runs whole on the pool (dispatch.h).
 *
 * Every request is copied into a job that owns its bytes, so a handler on a
 * worker thread never touches h2o memory; if the client goes away first,
 * the job notices (pool dispose callback) and drops the answer.
 */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <h2o.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "auditsink.h"
#include "dispatch.h"
#include "sealctl.h"
#include "encoding.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "notify.h"
#include "random.h"
#include "request.h"
#include "routes.h"
#include "serve.h"
#include "skr/error.h"
#include "store.h"

#define PATH_MAX_LEN 2048
#define HEADER_MAX_LEN 8192

struct http {
	skr_server *srv;
	skr_http_opts o;
	SSL_CTX *ssl;
	skr_net_server *net;
	char url[256];
	void (*ready_cb)(void *arg, const char *url);
	void *ready_arg;
};

struct anchor;

/* One request, owning copies of everything a handler reads. */
struct job {
	struct http *http;
	skr_net_loop *loop;
	h2o_req_t *h2o;          /* NULL once the client has gone */
	struct anchor *anchor;
	int whole;               /* dispatched on the pool too */
	const skr_route *route;
	int metric_route;        /* SKR_METRICS_ROUTE_* or a table index */
	int entered;             /* passed the seal gate (sealctl.h) */
	uint64_t start;          /* uv_hrtime() at arrival */
	skr_request req;
	skr_response resp;
	uv_work_t work;
	skr_defer defer;         /* SKR_ROUTE_ASYNC */
	skr_net_post post;
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
	o->body_memory = 64 * 1024 * 1024;
	o->conn_body_memory = 2 * 1024 * 1024;
	o->http2_max_streams = 16;
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
	const skr_log_field f[] = {
		SKR_LOG_STR("request_id", job->req.request_id),
		SKR_LOG_STR("peer", job->req.peer),
		SKR_LOG_STR("method", job->method),
		SKR_LOG_STR("path", job->path),
		SKR_LOG_INT("status", job->resp.status),
	};

	skr_log_fields(level, "request", f, sizeof(f) / sizeof(f[0]));
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

static void
new_request_id(char out[33])
{
	uint8_t rnd[8];
	skr_buf id = SKR_BUF_INIT;

	skr_random(rnd, sizeof(rnd));
	skr_hex_encode(&id, rnd, sizeof(rnd), 0);
	snprintf(out, 33, "%s", skr_buf_cstr(&id));
	skr_buf_free(&id);
}

/* h2o's method and path (without the query) as C strings; 0 when they do
 * not fit. */
static int
head_text(const h2o_req_t *req, char *method, size_t mlen, char *path,
    size_t plen)
{
	const h2o_iovec_t *m = &req->input.method, *p = &req->input.path;
	const char *q = memchr(p->base, '?', p->len);
	size_t n = q != NULL ? (size_t)(q - p->base) : p->len;

	if (m->len >= mlen || n >= plen)
		return 0;
	memcpy(method, m->base, m->len);
	method[m->len] = '\0';
	memcpy(path, p->base, n);
	path[n] = '\0';
	return 1;
}

/* The serving layer's body_limit: the route's limit (docs/api.md,
 * "Limits"), or 404/405 at once when no route takes the request. */
static int
body_limit(void *arg, h2o_req_t *req, size_t *limit)
{
	struct http *http = arg;
	char method[16], path[PATH_MAX_LEN + 1];
	int r;

	*limit = http->o.max_body;
	if (!head_text(req, method, sizeof(method), path, sizeof(path)))
		return 0;
	if ((r = skr_dispatch_body_limit(method, path, http->o.max_body,
	    limit)) != SKR_OK)
		return skr_err_http_status(r);
	return 0;
}

/*
 * The serving layer's refusal: a request answered before on_req -- its
 * body over its route's limit, too many bodies held, no such route, or
 * what h2o refused itself -- gets the error shape of docs/api.md, a
 * request id and a log line like every other answer.
 */
static h2o_iovec_t
refusal(void *arg, h2o_req_t *req, int status)
{
	struct http *http = arg;
	skr_response resp;
	char method[16] = "?", path[PATH_MAX_LEN + 1] = "?", id[33], peer[64];
	size_t limit = http->o.max_body;
	h2o_iovec_t body;
	int err;

	new_request_id(id);
	peer_text(req, peer, sizeof(peer));
	skr_response_init(&resp);
	if (head_text(req, method, sizeof(method), path, sizeof(path)))
		(void)skr_dispatch_body_limit(method, path, http->o.max_body,
		    &limit);
	switch (status) {
	case 413:
		if (limit == 0)
			skr_response_error(&resp, SKR_ERR_TOO_LARGE, "%s %s "
			    "takes no request body", method, path);
		else
			skr_response_error(&resp, SKR_ERR_TOO_LARGE, "request "
			    "body over the limit of %zu bytes", limit);
		break;
	case 429:
		skr_response_error(&resp, SKR_ERR_RATE_LIMITED, "too many "
		    "request bodies in flight; retry later");
		skr_response_add_header(&resp, "Retry-After", "1");
		break;
	case 404:
	case 405:
		err = status == 404 ? SKR_ERR_NOT_FOUND : SKR_ERR_METHOD;
		skr_response_error(&resp, err, NULL);
		break;
	default:
		skr_response_error(&resp, status >= 500 ? SKR_ERR_INTERNAL :
		    SKR_ERR_BAD_REQUEST, "%s", req->res.reason != NULL ?
		    req->res.reason : "refused");
		break;
	}
	req->res.status = resp.status;
	req->res.reason = reason_phrase(resp.status);
	memset(&req->res.headers, 0, sizeof(req->res.headers));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
	    NULL, H2O_STRLIT("application/json; charset=utf-8"));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL,
	    NULL, H2O_STRLIT("no-store"));
	/* h2o keeps pointers to names and values: copies in the request's
	 * pool, which outlives this call (the answer goes out later). */
	h2o_add_header_by_str(&req->pool, &req->res.headers,
	    H2O_STRLIT("x-request-id"), 0, NULL,
	    h2o_strdup(&req->pool, id, strlen(id)).base, strlen(id));
	for (size_t i = 0; i < resp.nheaders; i++) {
		h2o_iovec_t n = h2o_strdup(&req->pool, resp.headers[i].name,
		    SIZE_MAX), v = h2o_strdup(&req->pool,
		    resp.headers[i].value, SIZE_MAX);

		h2o_add_header_by_str(&req->pool, &req->res.headers, n.base,
		    n.len, 1, NULL, v.base, v.len);
	}
	body = h2o_strdup(&req->pool, (const char *)resp.body.data,
	    resp.body.len);
	{
		const skr_log_field f[] = {
			SKR_LOG_STR("request_id", id),
			SKR_LOG_STR("peer", peer),
			SKR_LOG_STR("method", method),
			SKR_LOG_STR("path", path),
			SKR_LOG_INT("status", resp.status),
			SKR_LOG_BOOL("refused", 1),
		};

		skr_log_fields(SKR_LOG_INFO, "request", f,
		    sizeof(f) / sizeof(f[0]));
	}
	skr_metrics_request(http->srv->metrics, SKR_METRICS_ROUTE_UNMATCHED,
	    resp.status, 0);
	skr_buf_free(&resp.body);
	return body;
}

/* Copy what a handler needs out of h2o's request. */
static int
job_fill(struct job *job, h2o_req_t *req)
{
	const char *q;
	size_t plen, limit;

	/* The id first: every answer, even a refusal, carries it. */
	new_request_id(job->req.request_id);
	peer_text(req, job->req.peer, sizeof(job->req.peer));
	job->req.now = skr_server_now(job->http->srv);
	job->req.loop_data = job->loop;
	if (headers_too_large(job->http, req)) {
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
	if (req->entity.base != NULL && req->entity.len > 0 &&
	    /* No route takes it: the dispatcher answers, the body unread. */
	    skr_dispatch_body_limit(job->method, job->path,
	    job->http->o.max_body, &limit) == SKR_OK) {
		if (req->entity.len > limit) {
			if (limit == 0)
				skr_response_error(&job->resp,
				    SKR_ERR_TOO_LARGE, "%s %s takes no request "
				    "body", job->method, job->path);
			else
				skr_response_error(&job->resp,
				    SKR_ERR_TOO_LARGE, "request body over the "
				    "limit of %zu bytes", limit);
			return SKR_ERR_TOO_LARGE;
		}
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

static void
job_finish(struct job *job)
{
	skr_server *srv = job->http->srv;

	if (job->h2o != NULL) {
		skr_net_loop_progress(job->loop, job->h2o);
		job->anchor->job = NULL;
		send_response(job->h2o, job->req.request_id, &job->resp);
	}
	log_request(job);
	skr_metrics_request(srv->metrics, job->metric_route,
	    job->resp.status, (uv_hrtime() - job->start) / 1000);
	/* A change was audited: the sinks need not wait for their poll. */
	if (job->route != NULL && (job->route->flags & SKR_ROUTE_WRITE))
		skr_auditsink_kick(srv->auditsink);
	/* Last: sealing waits for this before it stops the sinks. */
	if (job->entered)
		skr_sealctl_leave(srv->seal);
	skr_net_loop_release(job->loop);
	job_free(job);
}

static void
job_work(uv_work_t *work)
{
	struct job *job = work->data;
	skr_dispatch_info d;

	if (job->whole) {
		skr_dispatch_all(job->http->srv, &job->req, &job->resp, &d);
		job->route = d.route;
		job->metric_route = d.metric_route;
		job->entered = d.entered;
	} else
		job->route->fn(job->http->srv, &job->req, &job->resp);
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

/* On the loop, once an async handler's work is done. */
static void
job_resume(skr_net_post *p)
{
	struct job *job = (struct job *)(void *)((char *)p -
	    offsetof(struct job, post));

	if (job->defer.finish != NULL)
		job->defer.finish(&job->defer, &job->resp);
	job_finish(job);
}

/* From any thread. */
static void
job_ready(skr_defer *d)
{
	struct job *job = (struct job *)(void *)((char *)d -
	    offsetof(struct job, defer));

	job->post.fn = job_resume;
	skr_net_loop_post(job->loop, &job->post);
}

/* The request stays with the loop after on_req returns: the anchor tells
 * the job when h2o lets the request go first. */
static void
job_anchor(struct job *job, h2o_req_t *req)
{
	job->anchor = h2o_mem_alloc_shared(&req->pool, sizeof(*job->anchor),
	    anchor_dispose);
	job->anchor->job = job;
}

static int
on_req(void *arg, skr_net_loop *loop, h2o_req_t *req)
{
	struct http *http = arg;
	struct job *job;
	skr_dispatch_info d;
	const skr_route *route;
	int r;

	if ((job = calloc(1, sizeof(*job))) == NULL)
		return -1;
	job->http = http;
	job->loop = loop;
	job->h2o = req;
	skr_net_loop_progress(loop, req);
	job->start = uv_hrtime();
	job->metric_route = SKR_METRICS_ROUTE_UNMATCHED;
	skr_response_init(&job->resp);
	skr_net_loop_hold(loop);
	if ((r = job_fill(job, req)) != SKR_OK) {
		if (job->resp.status == 0)
			skr_response_error(&job->resp, r, NULL);
		goto answer;
	}
	/* job->route stays the matched route when the caller is refused:
	 * metrics count the request under it. */
	/* With a replicated store every request runs whole on the pool:
	 * its calls wait for etcd, and a transaction another replica
	 * overtook runs again (skr_dispatch_all). */
	if (__atomic_load_n(&http->srv->replicated, __ATOMIC_ACQUIRE))
		job->whole = 1;
	else {
		route = skr_dispatch_route(http->srv, &job->req, &job->resp,
		    &d);
		job->route = d.route;
		job->metric_route = d.metric_route;
		job->entered = d.entered;
		if (route == NULL)
			goto answer;
		if (job->route->flags & SKR_ROUTE_ASYNC) {
			/* Answers whose records are durable go out before
			 * this request's cryptography holds the loop. */
			skr_net_loop_run_posted(loop);
			job->defer.ready = job_ready;
			job->req.defer = &job->defer;
			r = job->route->fn(http->srv, &job->req, &job->resp);
			job->req.defer = NULL;
			if (r == SKR_PENDING) {
				job_anchor(job, req);
				return 0;
			}
			if (r != SKR_OFFLOOP)
				goto answer;
			job->req.offloop = 1;
		}
	}
	if (job->whole ||
	    (job->route->flags & (SKR_ROUTE_SLOW | SKR_ROUTE_ASYNC))) {
		job_anchor(job, req);
		job->work.data = job;
		if (uv_queue_work(skr_net_loop_uv(loop), &job->work, job_work,
		    job_after_work) == 0)
			return 0;
		job->anchor->job = NULL;
		skr_response_error(&job->resp, SKR_ERR_INTERNAL, NULL);
		goto answer;
	}
	job->route->fn(http->srv, &job->req, &job->resp);
answer:
	job->anchor = &(struct anchor){ NULL };
	job_finish(job);
	return 0;
}

/* ---- serving ---------------------------------------------------------- */

static void
on_conn(void *arg, int delta)
{
	struct http *http = arg;

	skr_metrics_connections(http->srv->metrics, delta);
}

static void
on_signal(void *arg, int signum)
{
	struct http *http = arg;

	if (signum != SIGHUP) {
		skr_log(SKR_LOG_INFO, "shutting down", json_pack("{s:i}",
		    "signal", signum));
		skr_notify("STOPPING=1");
		/* Long work on the thread pool (an audit verification) stops
		 * at its next step rather than hold the drain. */
		__atomic_store_n(&http->srv->stopping, 1, __ATOMIC_RELEASE);
	} else if (http->o.reload_cb != NULL)
		http->o.reload_cb(http->o.reload_arg);
	else
		skr_log(SKR_LOG_INFO, "SIGHUP ignored: nothing to reload",
		    NULL);
}

static void
on_log(void *arg, int level, const char *msg, json_t *fields)
{
	(void)arg;
	skr_log(level == SKR_NET_LOG_ERROR ? SKR_LOG_ERROR :
	    level == SKR_NET_LOG_WARN ? SKR_LOG_WARN : SKR_LOG_INFO, msg,
	    fields);
}

static void
on_ready(void *arg)
{
	struct http *http = arg;

	skr_log(SKR_LOG_INFO, "serving", json_pack("{s:s,s:i}", "url",
	    http->url, "threads", skr_net_server_nloops(http->net)));
	fprintf(stderr, "skrd: listening on %s\n", http->url);
	fflush(stderr);
	if (http->ready_cb != NULL)
		http->ready_cb(http->ready_arg, http->url);
}

int
skr_http_serve(skr_server *srv, const skr_http_opts *o,
    void (*ready_cb)(void *arg, const char *url), void *arg)
{
	struct http *http;
	skr_net_serve_opts no;
	const skr_net_addr *bound;
	int own_metrics = 0, r = SKR_OK;

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
	http->srv = srv;
	http->o = *o;
	http->ready_cb = ready_cb;
	http->ready_arg = arg;
	memset(&no, 0, sizeof(no));
	if ((r = skr_net_resolve_listen(o->listen, &no.addr)) != SKR_OK)
		goto out;
	/* A server that mints tokens (skrd --dev) serves this machine only,
	 * whoever started it (dev.c refuses first, with a usage error). */
	if (srv->dev_token != NULL && !skr_net_is_loopback(no.addr.host)) {
		skr_log(SKR_LOG_ERROR, "dev mode is only allowed on a loopback "
		    "address", json_pack("{s:s}", "listen", o->listen));
		r = SKR_ERR_CONFIG;
		goto out;
	}
	if (o->plain && !skr_net_is_loopback(no.addr.host)) {
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
	no.ssl = http->ssl;
	no.threads = o->threads;
	/* No version banner in responses. */
	no.server_name = "skrd";
	no.max_connections = o->max_connections;
	/* Bodies over max_body are refused by h2o (HTTP/1.1) or the serving
	 * layer (HTTP/2) before on_req, over their route's limit by the
	 * serving layer (HTTP/2) or job_fill; refusal gives every such
	 * answer the error shape of docs/api.md. */
	no.max_request_body = o->max_body;
	no.body_memory = o->body_memory;
	no.conn_body_memory = o->conn_body_memory;
	no.http2_max_streams = o->http2_max_streams;
	no.body_limit = body_limit;
	no.refusal = refusal;
	no.handshake_timeout_ms = o->handshake_timeout_ms;
	no.header_timeout_ms = o->header_timeout_ms;
	no.idle_timeout_ms = o->idle_timeout_ms;
	no.stall_ms = o->header_timeout_ms + o->idle_timeout_ms;
	no.shutdown_ms = o->shutdown_ms;
	no.arg = http;
	no.on_req = on_req;
	no.on_conn = on_conn;
	no.on_signal = on_signal;
	no.log = on_log;
	if ((r = skr_net_server_open(&no, &http->net)) != SKR_OK) {
		skr_log(SKR_LOG_ERROR, "cannot listen", json_pack("{s:s}",
		    "listen", o->listen));
		goto out;
	}
	/* An ephemeral port is bound by now: the URL names it. */
	bound = skr_net_server_addr(http->net);
	skr_net_url(bound, o->plain ? "http" : "https", bound->port,
	    http->url, sizeof(http->url));
	if (srv->base_url[0] == '\0' && strlen(http->url) <
	    sizeof(srv->base_url)) {
		memcpy(srv->base_url, http->url, strlen(http->url) + 1);
		if (strcmp(bound->host, "0.0.0.0") == 0 ||
		    strcmp(bound->host, "::") == 0)
			skr_log(SKR_LOG_WARN, "listening on every address "
			    "without public_url: key ids, nextLinks and the "
			    "Key Vault challenge name the wildcard address",
			    json_pack("{s:s}", "base_url", srv->base_url));
	}
	r = skr_net_server_run(http->net, on_ready, http);
	skr_log(SKR_LOG_INFO, "stopped", NULL);
out:
	/* A connection h2o never closed keeps the serving layer, not this:
	 * no loop runs a handler or counts metrics any more. */
	skr_net_server_free(http->net);
	SSL_CTX_free(http->ssl);
	free(http);
	if (own_metrics) {
		skr_metrics_free(srv->metrics);
		srv->metrics = NULL;
	}
	return r;
}
