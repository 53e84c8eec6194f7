/*
 * The etcd gateway client (etcd_client.h).
 *
 * Endpoints are tried in turn, starting with the one that answered last,
 * so that a healthy member keeps the traffic and a dead one costs one
 * failed connection per call at most.  A request whose fate is unknown
 * (curl timed out or lost the connection after sending it, or etcd said
 * the proposal timed out or the leader changed) is reported as such to
 * the caller unless it is a read: resending a write is the caller's
 * decision, made with its txn's compares (backend_etcd.c).
 */
#include "etcd_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "guard.h"
#include "skr/error.h"

#define POOL_MAX 32
#define TOKEN_HEADER_MAX 4200

struct skr_etcd {
	char *endpoints[SKR_ETCD_ENDPOINTS_MAX];
	size_t nendpoints;
	char *cacert, *cert, *key, *user;
	skr_buf password;            /* secret */
	long request_ms, connect_ms, deadline_ms;
	atomic_size_t current;       /* the endpoint to try first */
	atomic_uint_fast64_t requests;
	atomic_int drop;             /* skr_etcd_test_drop */
	pthread_mutex_t mu;          /* pool and token */
	CURL *pool[POOL_MAX];
	size_t npool;
	skr_buf token;               /* secret; empty: none yet */
	uint64_t token_gen;          /* bumped each time it is replaced */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- options ------------------------------------------------------------ */

/* scheme://host[:port], nothing after it, printable. */
static int
endpoint_ok(const char *u)
{
	const char *rest;

	if (strncmp(u, "http://", 7) == 0)
		rest = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		rest = u + 8;
	else
		return 0;
	if (*rest == '\0' || strlen(u) > 512)
		return 0;
	for (; *rest != '\0'; rest++)
		if (*rest <= ' ' || *rest >= 0x7f || *rest == '/' ||
		    *rest == '?' || *rest == '#' || *rest == '@')
			return 0;
	return 1;
}

static int
dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL || *s == '\0')
		return SKR_OK;
	return (*out = strdup(s)) != NULL ? SKR_OK : SKR_ERR_NOMEM;
}

int
skr_etcd_new(const skr_etcd_opts *o, skr_etcd **out)
{
	skr_etcd *c;
	char *list = NULL, *tok, *save = NULL;
	int r;

	*out = NULL;
	if (o == NULL || o->endpoints == NULL)
		return SKR_ERR_CONFIG;
	pthread_once(&curl_once, curl_init_once);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SKR_ERR_NOMEM;
	pthread_mutex_init(&c->mu, NULL);
	skr_buf_init_secret(&c->password, 4096);
	skr_buf_init_secret(&c->token, TOKEN_HEADER_MAX);
	c->request_ms = o->request_timeout_ms > 0 ? o->request_timeout_ms :
	    2000;
	c->connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms :
	    1000;
	c->deadline_ms = o->deadline_ms > 0 ? o->deadline_ms : 5000;
	SKR_ENSURE((list = strdup(o->endpoints)) != NULL, SKR_ERR_NOMEM);
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		SKR_ENSURE(endpoint_ok(tok) && c->nendpoints <
		    SKR_ETCD_ENDPOINTS_MAX, SKR_ERR_CONFIG);
		SKR_ENSURE((c->endpoints[c->nendpoints++] = strdup(tok)) !=
		    NULL, SKR_ERR_NOMEM);
	}
	SKR_ENSURE(c->nendpoints > 0, SKR_ERR_CONFIG);
	SKR_GUARD(dup_opt(o->cacert, &c->cacert));
	SKR_GUARD(dup_opt(o->cert, &c->cert));
	SKR_GUARD(dup_opt(o->key, &c->key));
	SKR_GUARD(dup_opt(o->user, &c->user));
	SKR_ENSURE((c->user == NULL) == (o->password == NULL), SKR_ERR_CONFIG);
	if (o->password != NULL)
		SKR_GUARD(skr_buf_append_str(&c->password, o->password));
	*out = c;
	c = NULL;
out:
	free(list);
	skr_etcd_free(c);
	return r;
}

void
skr_etcd_free(skr_etcd *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nendpoints; i++)
		free(c->endpoints[i]);
	for (i = 0; i < c->npool; i++)
		curl_easy_cleanup(c->pool[i]);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	free(c->user);
	skr_buf_free(&c->password);
	skr_buf_free(&c->token);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

uint64_t
skr_etcd_requests(const skr_etcd *c)
{
	return c != NULL ? atomic_load(&c->requests) : 0;
}

void
skr_etcd_test_drop(skr_etcd *c, int n)
{
	atomic_store(&c->drop, n);
}

/* ---- curl handles ----------------------------------------------------- */

static CURL *
handle_take(skr_etcd *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->mu);
	if (c->npool > 0)
		h = c->pool[--c->npool];
	pthread_mutex_unlock(&c->mu);
	if (h == NULL)
		h = curl_easy_init();
	return h;
}

static void
handle_give(skr_etcd *c, CURL *h)
{
	if (h == NULL)
		return;
	curl_easy_reset(h);
	pthread_mutex_lock(&c->mu);
	if (c->npool < POOL_MAX) {
		c->pool[c->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	if (h != NULL)
		curl_easy_cleanup(h);
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	skr_buf *b = arg;

	if (skr_buf_append(b, p, size * n) != SKR_OK)
		return 0;
	return size * n;
}

/* The settings every request shares. */
static int
handle_setup(skr_etcd *c, CURL *h, const char *url, const skr_buf *body,
    struct curl_slist *headers)
{
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data != NULL ?
	    (const char *)body->data : "") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)body->len) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 5L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 2L) != CURLE_OK)
		return SKR_ERR_INTERNAL;
	if ((c->cacert != NULL && curl_easy_setopt(h, CURLOPT_CAINFO,
	    c->cacert) != CURLE_OK) ||
	    (c->cert != NULL && curl_easy_setopt(h, CURLOPT_SSLCERT,
	    c->cert) != CURLE_OK) ||
	    (c->key != NULL && curl_easy_setopt(h, CURLOPT_SSLKEY, c->key) !=
	    CURLE_OK))
		return SKR_ERR_INTERNAL;
	return SKR_OK;
}

/* The headers of a request: JSON, and etcd's auth token when there is
 * one (copied under the lock; *gen says which token it was). */
static int
headers_make(skr_etcd *c, int watch, struct curl_slist **out, uint64_t *gen)
{
	struct curl_slist *l = NULL, *n;
	skr_buf h = SKR_BUF_INIT_SECRET;
	int r = SKR_OK;

	*out = NULL;
	if ((l = curl_slist_append(NULL, "Content-Type: application/json")) ==
	    NULL)
		return SKR_ERR_NOMEM;
	/* Served by members that have a leader only: a member cut off from
	 * the others ends the stream instead of falling silent. */
	if (watch && (n = curl_slist_append(l,
	    "Grpc-Metadata-hasleader: true")) != NULL)
		l = n;
	else if (watch)
		r = SKR_ERR_NOMEM;
	pthread_mutex_lock(&c->mu);
	*gen = c->token_gen;
	if (r == SKR_OK && c->token.len > 0)
		r = skr_buf_appendf(&h, "Authorization: %s",
		    skr_buf_cstr(&c->token));
	pthread_mutex_unlock(&c->mu);
	if (r == SKR_OK && h.len > 0) {
		if ((n = curl_slist_append(l, skr_buf_cstr(&h))) == NULL)
			r = SKR_ERR_NOMEM;
		else
			l = n;
	}
	skr_buf_free(&h);
	if (r != SKR_OK) {
		curl_slist_free_all(l);
		return r;
	}
	*out = l;
	return SKR_OK;
}

/* Free a header list that may hold the token. */
static void
headers_free(struct curl_slist *l)
{
	struct curl_slist *n;

	for (n = l; n != NULL; n = n->next)
		OPENSSL_cleanse(n->data, strlen(n->data));
	curl_slist_free_all(l);
}

/* The outcome of one try on one endpoint. */
enum try_outcome {
	TRY_OK,          /* 200: resp holds the answer */
	TRY_REFUSED,     /* an error answer that says it was not done */
	TRY_UNSENT,      /* never reached the endpoint: try the next */
	TRY_MAYBE,       /* no definite answer after it was sent */
	TRY_REAUTH,      /* the auth token is no longer good */
};

/* Did curl fail before the request could have reached the server? */
static int
curl_unsent(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return 1;
	default:
		return 0;
	}
}

/* gRPC codes that say a request was refused before it was proposed. */
static int
grpc_refused(int code)
{
	switch (code) {
	case SKR_ETCD_GRPC_INVALID_ARGUMENT:
	case SKR_ETCD_GRPC_NOT_FOUND:
	case SKR_ETCD_GRPC_PERMISSION_DENIED:
	case SKR_ETCD_GRPC_FAILED_PRECONDITION:
	case SKR_ETCD_GRPC_OUT_OF_RANGE:
	/* Space and "too many requests" are checked before a proposal. */
	case SKR_ETCD_GRPC_RESOURCE_EXHAUSTED:
		return 1;
	default:
		return 0;
	}
}

static enum try_outcome
try_one(skr_etcd *c, const char *endpoint, const char *path,
    const skr_buf *body, long timeout_ms, skr_buf *resp,
    skr_etcd_result *res, uint64_t *gen)
{
	struct curl_slist *headers = NULL;
	skr_etcd_error err;
	char url[640];
	CURL *h = NULL;
	CURLcode cc;
	long status = 0;
	enum try_outcome o = TRY_MAYBE;

	skr_buf_reset(resp);
	snprintf(url, sizeof(url), "%s%s", endpoint, path);
	if ((h = handle_take(c)) == NULL || headers_make(c, 0, &headers,
	    gen) != SKR_OK || handle_setup(c, h, url, body, headers) !=
	    SKR_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp) != CURLE_OK) {
		snprintf(res->message, sizeof(res->message), "out of memory");
		o = TRY_UNSENT;
		goto out;
	}
	atomic_fetch_add(&c->requests, 1);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		snprintf(res->message, sizeof(res->message), "%s: %s",
		    endpoint, curl_easy_strerror(cc));
		o = curl_unsent(cc) ? TRY_UNSENT : TRY_MAYBE;
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200) {
		o = TRY_OK;
		goto out;
	}
	if (skr_etcd_error_parse(resp->data, resp->len, &err) != SKR_OK) {
		/* Not etcd's error shape: a proxy, or a member going down. */
		snprintf(res->message, sizeof(res->message),
		    "%s: HTTP status %ld", endpoint, status);
		o = status >= 500 ? TRY_MAYBE : TRY_REFUSED;
		goto out;
	}
	res->grpc_code = err.code;
	snprintf(res->message, sizeof(res->message), "%s", err.message);
	if (err.code == SKR_ETCD_GRPC_UNAUTHENTICATED ||
	    strstr(err.message, "invalid auth token") != NULL)
		o = TRY_REAUTH;
	else
		o = grpc_refused(err.code) ? TRY_REFUSED : TRY_MAYBE;
out:
	headers_free(headers);
	handle_give(c, h);
	return o;
}

/* Get a new auth token from endpoint, unless another thread already
 * replaced the one of generation gen. */
static int
authenticate(skr_etcd *c, const char *endpoint, uint64_t gen,
    skr_etcd_result *res)
{
	skr_buf body = SKR_BUF_INIT_SECRET, resp = SKR_BUF_INIT_SECRET;
	skr_buf tok = SKR_BUF_INIT_SECRET;
	uint64_t dummy;
	int r = SKR_ERR_STORE_UNAVAILABLE;

	pthread_mutex_lock(&c->mu);
	if (c->token_gen != gen) {
		pthread_mutex_unlock(&c->mu);
		return SKR_OK;
	}
	skr_buf_reset(&c->token);
	c->token_gen++;
	r = skr_etcd_auth_req_build(c->user, skr_buf_cstr(&c->password),
	    &body);
	pthread_mutex_unlock(&c->mu);
	if (r != SKR_OK)
		goto out;
	switch (try_one(c, endpoint, "/v3/auth/authenticate", &body,
	    c->request_ms, &resp, res, &dummy)) {
	case TRY_OK:
		break;
	case TRY_REFUSED:
	case TRY_REAUTH:
		r = SKR_ERR_STORE;
		goto out;
	default:
		r = SKR_ERR_STORE_UNAVAILABLE;
		goto out;
	}
	if ((r = skr_etcd_auth_parse(resp.data, resp.len, &tok)) != SKR_OK)
		goto out;
	pthread_mutex_lock(&c->mu);
	r = skr_buf_set(&c->token, tok.data, tok.len);
	c->token_gen++;
	pthread_mutex_unlock(&c->mu);
out:
	skr_buf_free(&body);
	skr_buf_free(&resp);
	skr_buf_free(&tok);
	return r;
}

static int
need_token(skr_etcd *c)
{
	int need;

	if (c->user == NULL)
		return 0;
	pthread_mutex_lock(&c->mu);
	need = c->token.len == 0;
	pthread_mutex_unlock(&c->mu);
	return need;
}

int
skr_etcd_post(skr_etcd *c, const char *path, const skr_buf *body,
    int idempotent, skr_buf *resp, skr_etcd_result *res)
{
	skr_etcd_result scratch;
	uint64_t deadline = now_ms() + (uint64_t)c->deadline_ms, gen = 0, t;
	size_t first = atomic_load(&c->current) % c->nendpoints, i = 0;
	const char *ep;
	long timeout;
	int reauths = 0;

	if (res == NULL)
		res = &scratch;
	memset(res, 0, sizeof(*res));
	for (;;) {
		ep = c->endpoints[(first + i) % c->nendpoints];
		t = now_ms();
		if (t >= deadline)
			break;
		timeout = c->request_ms;
		if ((uint64_t)timeout > deadline - t)
			timeout = (long)(deadline - t);
		if (need_token(c) && authenticate(c, ep, gen, res) != SKR_OK) {
			if (res->grpc_code != 0)
				return SKR_ERR_STORE;   /* bad user/password */
			i++;
			continue;
		}
		switch (try_one(c, ep, path, body, timeout, resp, res, &gen)) {
		case TRY_OK:
			if (!idempotent && atomic_load(&c->drop) > 0) {
				atomic_fetch_sub(&c->drop, 1);
				skr_buf_reset(resp);
				res->maybe = 1;
				snprintf(res->message, sizeof(res->message),
				    "answer dropped (test)");
				return SKR_ERR_STORE_UNAVAILABLE;
			}
			atomic_store(&c->current, (first + i) % c->nendpoints);
			res->maybe = 0;
			return SKR_OK;
		case TRY_REFUSED:
			atomic_store(&c->current, (first + i) % c->nendpoints);
			res->maybe = 0;
			return SKR_ERR_STORE;
		case TRY_REAUTH:
			/* Refused before it was looked at: send it again
			 * with a new token. */
			if (reauths++ > 2 || authenticate(c, ep, gen, res) !=
			    SKR_OK)
				return SKR_ERR_STORE;
			continue;
		case TRY_UNSENT:
			break;
		case TRY_MAYBE:
			res->maybe = !idempotent;
			if (!idempotent)
				return SKR_ERR_STORE_UNAVAILABLE;
			break;
		}
		i++;
		/* Every endpoint failed once: pause before the next round. */
		if (i % c->nendpoints == 0) {
			struct timespec ts = { 0, 100 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	return SKR_ERR_STORE_UNAVAILABLE;
}

/* ---- watch ------------------------------------------------------------ */

struct stream {
	skr_buf buf;
	int (*fn)(void *, const uint8_t *, size_t);
	void *arg;
	int r;                       /* fn's non-zero result, or a parse
	                              * failure */
	const atomic_int *stop;
};

static size_t
on_stream(char *p, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	size_t off, len, used;

	if (skr_buf_append(&s->buf, p, size * n) != SKR_OK) {
		s->r = SKR_ERR_STORE;
		return 0;
	}
	for (;;) {
		if (skr_etcd_stream_next(s->buf.data, s->buf.len, &off, &len,
		    &used) != SKR_OK) {
			s->r = SKR_ERR_STORE;
			return 0;
		}
		if (len > 0 && (s->r = s->fn(s->arg, s->buf.data + off,
		    len)) != SKR_OK)
			return 0;
		if (used == 0)
			break;
		memmove(s->buf.data, s->buf.data + used, s->buf.len - used);
		s->buf.len -= used;
		if (len == 0)
			break;
	}
	return size * n;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct stream *s = arg;

	return atomic_load(s->stop) ? 1 : 0;
}

int
skr_etcd_watch(skr_etcd *c, const skr_buf *body,
    int (*fn)(void *arg, const uint8_t *msg, size_t len), void *arg,
    const atomic_int *stop)
{
	struct curl_slist *headers = NULL;
	struct stream s;
	skr_etcd_result res;
	size_t i = atomic_load(&c->current) % c->nendpoints;
	char url[640];
	uint64_t gen = 0;
	CURL *h = NULL;
	CURLcode cc;
	long status = 0;
	int r = SKR_ERR_STORE_UNAVAILABLE;

	memset(&s, 0, sizeof(s));
	memset(&res, 0, sizeof(res));
	skr_buf_init(&s.buf, SKR_ETCD_MSG_MAX + 2);
	s.fn = fn;
	s.arg = arg;
	s.stop = stop;
	if (need_token(c) && authenticate(c, c->endpoints[i], gen, &res) !=
	    SKR_OK)
		goto next;
	snprintf(url, sizeof(url), "%s/v3/watch", c->endpoints[i]);
	if ((h = handle_take(c)) == NULL || headers_make(c, 1, &headers,
	    &gen) != SKR_OK || handle_setup(c, h, url, body, headers) !=
	    SKR_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &s) != CURLE_OK) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	atomic_fetch_add(&c->requests, 1);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (s.r != SKR_OK && s.r != SKR_ERR_STORE)
		r = s.r;
	else if (atomic_load(stop))
		r = SKR_OK;
	else if (cc == CURLE_OK && status != 200 && skr_etcd_error_parse(
	    s.buf.data, s.buf.len, &(skr_etcd_error){ 0 }) == SKR_OK &&
	    strstr((const char *)s.buf.data, "auth token") != NULL)
		/* The token expired: the next watch gets another. */
		authenticate(c, c->endpoints[i], gen, &res);
next:
	/* A stream that ends is the member's doing: try the next one. */
	if (r == SKR_ERR_STORE_UNAVAILABLE)
		atomic_store(&c->current, (i + 1) % c->nendpoints);
out:
	headers_free(headers);
	handle_give(c, h);
	skr_buf_free(&s.buf);
	return r;
}
