/*
 * The load generator: releases against a real skrd over loopback TLS with
 * libcurl's multi interface.  Work is split into lanes, one thread each
 * with its own multi handle: HTTP/1.1 lanes keep one request in flight per
 * keep-alive connection; HTTP/2 lanes multiplex their streams over their
 * connections (CURLMOPT_MAX_CONCURRENT_STREAMS spreads them evenly, and
 * several connections let the kernel's SO_REUSEPORT spread them over skrd's
 * event loops).
 *
 * Closed loop (rate 0): every finished request is replaced at once; the
 * figure is the maximum throughput.  Open loop (rate > 0): requests are
 * issued on a fixed schedule and latency counts from the scheduled time, so
 * a stalled server cannot hide queueing delay (no coordinated omission).
 *
 * Every response must be 200 with a {"value": JWS} body; one in `sample`
 * is kept and, after the run (so that the check does not disturb the
 * timing), verified down to the key bytes: the JWS signature against the
 * release-signing key, the key URL, and the key_hsm unwrapped with the
 * token's wrapping key equal to the bytes stored under that name.
 */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "json.h"
#include "skr/error.h"
#include "wrap.h"

#define LANES_MAX 16
#define SAMPLES_MAX 4096

struct sample {
	char *body;
	size_t tok;
	uint64_t key;
};

struct lane;

struct slot {
	struct lane *lane;
	const char *base;       /* the server it sends to */
	CURL *easy;
	skr_buf body;
	double start;           /* sent (closed loop) or scheduled (open) */
	uint64_t key;
	size_t tok;
	int busy;
};

struct lane {
	const bench_run_opts *o;
	int index;
	int nslots;             /* requests in flight at most */
	int nconns;
	double rate;            /* this lane's share; 0: closed loop */
	struct slot *slots;
	struct curl_slist *headers;
	uint64_t rng;
	/* results */
	double *lat, *own;      /* latency, and the lane's part of it */
	size_t nlat, caplat;
	uint64_t ok, errors, seen;
	char first_error[256];
	struct sample *samples;
	size_t nsamples;
	int rc;
};

static uint64_t
rng_next(uint64_t *s)
{
	/* splitmix64: cheap, and good enough to pick keys and tokens. */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct slot *s = arg;

	if (skr_buf_append(&s->body, p, size * n) != SKR_OK)
		return 0;
	return size * n;
}

static void
lane_error(struct lane *l, const char *what, long code, const char *detail)
{
	l->errors++;
	if (l->first_error[0] == '\0')
		snprintf(l->first_error, sizeof(l->first_error), "%s %ld: %.200s",
		    what, code, detail);
}

/* The request bodies, one per token, built once: {"target": token}. */
static char **bodies;
static size_t nbodies;

static int
bodies_build(const bench_tokens *t)
{
	size_t i;

	if (bodies != NULL)
		return SKR_OK;
	if ((bodies = calloc(t->n, sizeof(*bodies))) == NULL)
		return SKR_ERR_NOMEM;
	nbodies = t->n;
	for (i = 0; i < t->n; i++) {
		json_t *o = json_pack("{s:s}", "target", t->token[i]);

		bodies[i] = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (bodies[i] == NULL)
			return SKR_ERR_NOMEM;
	}
	return SKR_OK;
}

/* The servers of bench_run_opts.url, split once per run. */
#define URLS_MAX 16
static char *urls[URLS_MAX];
static size_t nurls;
static atomic_size_t next_url;

static void
urls_free(void)
{
	for (size_t i = 0; i < nurls; i++)
		free(urls[i]);
	nurls = 0;
}

static int
urls_split(const char *list)
{
	const char *p = list, *end;

	urls_free();
	atomic_store(&next_url, 0);
	do {
		end = strchr(p, ',');
		if (nurls == URLS_MAX || (urls[nurls] = strndup(p, end != NULL ?
		    (size_t)(end - p) : strlen(p))) == NULL)
			return SKR_ERR_INVAL;
		nurls++;
		p = end != NULL ? end + 1 : NULL;
	} while (p != NULL);
	return SKR_OK;
}

void
bench_client_cleanup(void)
{
	size_t i;

	urls_free();
	for (i = 0; bodies != NULL && i < nbodies; i++)
		free(bodies[i]);
	free(bodies);
	bodies = NULL;
	nbodies = 0;
}

static int
slot_start(struct lane *l, struct slot *s, CURLM *m, double start)
{
	const bench_run_opts *o = l->o;
	char name[BENCH_NAME_MAX], url[512];

	s->key = rng_next(&l->rng) % o->nkeys;
	s->tok = rng_next(&l->rng) % nbodies;
	bench_key_name(s->key, name);
	if (snprintf(url, sizeof(url), "%s/keys/%s/release?api-version=7.4",
	    s->base, name) >= (int)sizeof(url))
		return SKR_ERR_INVAL;
	skr_buf_reset(&s->body);
	curl_easy_setopt(s->easy, CURLOPT_URL, url);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, bodies[s->tok]);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE,
	    (long)strlen(bodies[s->tok]));
	s->start = start;
	s->busy = 1;
	if (curl_multi_add_handle(m, s->easy) != CURLM_OK)
		return SKR_ERR_INTERNAL;
	return SKR_OK;
}

static int
slot_init(struct lane *l, struct slot *s)
{
	const bench_run_opts *o = l->o;

	s->lane = l;
	s->base = urls[atomic_fetch_add(&next_url, 1) % nurls];
	skr_buf_init(&s->body, 1024 * 1024);
	if ((s->easy = curl_easy_init()) == NULL)
		return SKR_ERR_NOMEM;
	curl_easy_setopt(s->easy, CURLOPT_CAINFO, o->ca_file);
	curl_easy_setopt(s->easy, CURLOPT_HTTP_VERSION, o->http2 ?
	    (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, l->headers);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_TIMEOUT, 30L);
	return SKR_OK;
}

static void
record(struct lane *l, double ms, double own)
{
	if (l->nlat == l->caplat) {
		size_t cap = l->caplat ? l->caplat * 2 : 65536;
		double *p = realloc(l->lat, cap * sizeof(*p)),
		    *q = p == NULL ? NULL : realloc(l->own, cap * sizeof(*q));

		if (p != NULL)
			l->lat = p;
		if (q == NULL)
			return;
		l->own = q;
		l->caplat = cap;
	}
	l->own[l->nlat] = own;
	l->lat[l->nlat++] = ms;
}

static void
complete(struct lane *l, struct slot *s, CURLcode cc, double now,
    double t_measure, double t_end)
{
	static const char prefix[] = "{\"value\":\"";
	curl_off_t transfer;
	double ms, own;
	long code = 0;
	int in_window = now >= t_measure && now < t_end;

	s->busy = 0;
	if (cc != CURLE_OK) {
		lane_error(l, "transport error", (long)cc,
		    curl_easy_strerror(cc));
		return;
	}
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200 || s->body.len < sizeof(prefix) ||
	    memcmp(s->body.data, prefix, sizeof(prefix) - 1) != 0) {
		skr_buf_append_byte(&s->body, 0);
		lane_error(l, "status", code, (const char *)s->body.data);
		return;
	}
	if (l->seen++ % l->o->sample == 0 && l->nsamples < SAMPLES_MAX) {
		struct sample *sm = &l->samples[l->nsamples];

		if ((sm->body = strndup((const char *)s->body.data,
		    s->body.len)) != NULL) {
			sm->tok = s->tok;
			sm->key = s->key;
			l->nsamples++;
		}
	}
	if (!in_window)
		return;
	l->ok++;
	/* libcurl's own time for the transfer, from its start to its end;
	 * what is left was spent waiting on this lane. */
	if (curl_easy_getinfo(s->easy, CURLINFO_TOTAL_TIME_T, &transfer) !=
	    CURLE_OK)
		transfer = 0;
	ms = (now - s->start) * 1000.0;
	own = ms - (double)transfer / 1000.0;
	record(l, ms, own > 0 ? own : 0);
}

static struct slot *
free_slot(struct lane *l)
{
	int i;

	for (i = 0; i < l->nslots; i++)
		if (!l->slots[i].busy)
			return &l->slots[i];
	return NULL;
}

static void *
lane_main(void *arg)
{
	struct lane *l = arg;
	const bench_run_opts *o = l->o;
	CURLM *m = NULL;
	CURLMsg *msg;
	double t0, t_measure, t_end, next, now;
	int i, running, left, blocked, inflight = 0, r = SKR_OK;

	l->rc = SKR_ERR_NOMEM;
	if ((m = curl_multi_init()) == NULL)
		return NULL;
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)l->nconns);
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)l->nconns);
	if (o->http2) {
		curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
		curl_multi_setopt(m, CURLMOPT_MAX_CONCURRENT_STREAMS,
		    (long)((l->nslots + l->nconns - 1) / l->nconns));
	} else
		curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
	if ((l->slots = calloc((size_t)l->nslots, sizeof(*l->slots))) ==
	    NULL || (l->samples = calloc(SAMPLES_MAX,
	    sizeof(*l->samples))) == NULL)
		goto out;
	for (i = 0; i < l->nslots; i++)
		if ((r = slot_init(l, &l->slots[i])) != SKR_OK)
			goto out;
	t0 = bench_now();
	t_measure = t0 + o->warmup;
	t_end = t_measure + o->duration;
	next = t0;
	for (;;) {
		now = bench_now();
		/* Start what is due: every free slot in a closed loop, the
		 * scheduled requests in an open one. */
		blocked = 0;
		while (now < t_end) {
			struct slot *s;
			double at = now;

			if (l->rate > 0) {
				if (next > now)
					break;
				at = next;
			}
			if ((s = free_slot(l)) == NULL) {
				blocked = 1;
				break;
			}
			if ((r = slot_start(l, s, m, at)) != SKR_OK)
				goto out;
			inflight++;
			if (l->rate > 0)
				next += 1.0 / l->rate;
		}
		curl_multi_perform(m, &running);
		now = bench_now();
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			struct slot *s;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&s);
			curl_multi_remove_handle(m, s->easy);
			inflight--;
			complete(l, s, msg->data.result, now, t_measure, t_end);
		}
		if (now >= t_end && inflight == 0)
			break;
		{
			int timeout = 5;

			/* Requests due but every slot busy: wait for a
			 * completion rather than spin. */
			if (l->rate > 0 && now < t_end && !blocked) {
				double wait = (next - now) * 1000.0;

				/* Rounded up: a busy poll would take the
				 * server's CPU. */
				timeout = wait <= 0 ? 0 : wait >= 5 ? 5 :
				    (int)wait + 1;
			}
			curl_multi_poll(m, NULL, 0, timeout, NULL);
		}
	}
	r = SKR_OK;
out:
	for (i = 0; l->slots != NULL && i < l->nslots; i++) {
		if (l->slots[i].easy != NULL) {
			if (l->slots[i].busy)
				curl_multi_remove_handle(m,
				    l->slots[i].easy);
			curl_easy_cleanup(l->slots[i].easy);
		}
		skr_buf_free(&l->slots[i].body);
	}
	free(l->slots);
	l->slots = NULL;
	curl_multi_cleanup(m);
	l->rc = r;
	return NULL;
}

static const json_t *
path_get(const json_t *o, const char *a, const char *b, const char *c)
{
	o = json_object_get(o, a);
	if (b != NULL)
		o = json_object_get(o, b);
	if (c != NULL)
		o = json_object_get(o, c);
	return o;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* One response checked completely; a failure is returned as an error. */
static int
verify_sample(const bench_run_opts *o, const struct sample *sm,
    char *why, size_t whylen)
{
	json_t *body = NULL;
	skr_jws jws;
	skr_key *k = NULL;
	skr_buf got = SKR_BUF_INIT_SECRET;
	const json_t *v;
	const char *hsm, *value;
	char name[BENCH_NAME_MAX], suffix[BENCH_NAME_MAX + 16];
	uint8_t want[BENCH_KEY_BYTES];
	int r;

	memset(&jws, 0, sizeof(jws));
	bench_key_name(sm->key, name);
	snprintf(why, whylen, "response body is not JSON");
	if ((r = skr_json_parse(sm->body, strlen(sm->body), 0, &body)) !=
	    SKR_OK)
		goto out;
	snprintf(why, whylen, "no value");
	r = SKR_ERR_BAD_REQUEST;
	if ((value = json_string_value(json_object_get(body, "value"))) ==
	    NULL)
		goto out;
	snprintf(why, whylen, "response JWS malformed");
	if ((r = skr_jws_parse(value, strlen(value), 0, &jws)) != SKR_OK)
		goto out;
	snprintf(why, whylen, "response signature does not verify");
	if ((r = skr_jws_verify(&jws, o->sign_pub, 0)) != SKR_OK)
		goto out;
	snprintf(why, whylen, "response names another key");
	r = SKR_ERR_BAD_REQUEST;
	snprintf(suffix, sizeof(suffix), "/keys/%s", name);
	v = path_get(jws.payload, "request", "kid", NULL);
	if (!json_is_string(v) || !ends_with(json_string_value(v), suffix))
		goto out;
	snprintf(why, whylen, "no key_hsm");
	v = path_get(jws.payload, "response", "key", "key");
	if ((hsm = json_string_value(json_object_get(v, "key_hsm"))) == NULL)
		goto out;
	snprintf(why, whylen, "key_hsm does not unwrap");
	if ((r = skr_release_unwrap(hsm, strlen(hsm), SKR_KTY_OCT,
	    skr_key_pkey(o->tokens->wrap_keys[o->tokens->wrap[sm->tok]]),
	    NULL, NULL, 0, &k)) != SKR_OK ||
	    (r = skr_key_private_bytes(k, &got)) != SKR_OK)
		goto out;
	snprintf(why, whylen, "released bytes differ from the stored key");
	bench_key_bytes(name, want);
	r = got.len == sizeof(want) && skr_ct_equal(got.data, want,
	    sizeof(want)) ? SKR_OK : SKR_ERR_UNWRAP;
	skr_wipe(want, sizeof(want));
out:
	if (r == SKR_OK)
		why[0] = '\0';
	skr_buf_free(&got);
	skr_key_free(k);
	skr_jws_clear(&jws);
	json_decref(body);
	return r;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
percentile(const double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* Every lane's latencies (own: their own delays) into all, sorted; how
 * many. */
static size_t
gather(const struct lane *lanes, int nlanes, int own, double *all)
{
	size_t n = 0;

	for (int i = 0; i < nlanes; i++) {
		if (lanes[i].nlat > 0)
			memcpy(all + n, own ? lanes[i].own : lanes[i].lat,
			    lanes[i].nlat * sizeof(*all));
		n += lanes[i].nlat;
	}
	qsort(all, n, sizeof(*all), cmp_double);
	return n;
}

int
bench_release_run(const bench_run_opts *o, bench_result *res)
{
	struct lane lanes[LANES_MAX];
	double *all = NULL;
	size_t nall = 0, i, j;
	int nlanes, inflight, conns, r;

	memset(res, 0, sizeof(*res));
	memset(lanes, 0, sizeof(lanes));
	if ((r = bodies_build(o->tokens)) != SKR_OK ||
	    (r = urls_split(o->url)) != SKR_OK)
		return r;
	inflight = o->http2 ? o->streams : o->connections;
	conns = o->connections;
	/* Two lanes (threads) unless there is too little to split. */
	nlanes = conns >= 2 ? 2 : 1;
	r = SKR_ERR_INTERNAL;
	{
		struct curl_slist *h = curl_slist_append(NULL,
		    "Content-Type: application/json");

		/* No "Expect: 100-continue" round trip for token bodies. */
		if (h == NULL || (h = curl_slist_append(h, "Expect:")) == NULL)
			return SKR_ERR_NOMEM;
		for (i = 0; i < (size_t)nlanes; i++)
			lanes[i].headers = h;
	}
	for (i = 0; i < (size_t)nlanes; i++) {
		struct lane *l = &lanes[i];

		l->o = o;
		l->index = (int)i;
		l->nconns = conns / nlanes + ((int)i < conns % nlanes);
		l->nslots = inflight / nlanes + ((int)i < inflight % nlanes);
		if (l->nslots < 1)
			l->nslots = 1;
		l->rate = o->rate / nlanes;
		l->rng = 0x5eed0000u + i * 7919 + (uint64_t)(bench_now() *
		    1e6);
	}
	{
		pthread_t th[LANES_MAX];

		for (i = 0; i < (size_t)nlanes; i++)
			if (pthread_create(&th[i], NULL, lane_main,
			    &lanes[i]) != 0)
				break;
		for (j = 0; j < i; j++)
			pthread_join(th[j], NULL);
		if (i != (size_t)nlanes)
			goto out;
	}
	res->seconds = o->duration;
	for (i = 0; i < (size_t)nlanes; i++) {
		if (lanes[i].rc != SKR_OK) {
			r = lanes[i].rc;
			goto out;
		}
		res->ok += lanes[i].ok;
		res->total += lanes[i].seen;
		res->errors += lanes[i].errors;
		if (res->first_error[0] == '\0' && lanes[i].first_error[0])
			snprintf(res->first_error, sizeof(res->first_error),
			    "%s", lanes[i].first_error);
		nall += lanes[i].nlat;
	}
	if ((all = malloc((nall ? nall : 1) * sizeof(*all))) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	nall = gather(lanes, nlanes, 0, all);
	res->rps = (double)res->ok / o->duration;
	res->p50 = percentile(all, nall, 0.50);
	res->p90 = percentile(all, nall, 0.90);
	res->p99 = percentile(all, nall, 0.99);
	res->max = nall ? all[nall - 1] : 0;
	for (i = nall; i > 0 && all[i - 1] > 10.0; i--)
		;
	res->over_10ms = nall ? (double)(nall - i) / (double)nall : 0;
	nall = gather(lanes, nlanes, 1, all);
	res->own_p99 = percentile(all, nall, 0.99);
	/* The sampled responses, checked now that the clock has stopped. */
	for (i = 0; i < (size_t)nlanes; i++)
		for (j = 0; j < lanes[i].nsamples; j++) {
			char why[128];

			if (verify_sample(o, &lanes[i].samples[j], why,
			    sizeof(why)) == SKR_OK) {
				res->verified++;
				continue;
			}
			res->errors++;
			if (res->first_error[0] == '\0')
				snprintf(res->first_error,
				    sizeof(res->first_error), "sample: %s",
				    why);
		}
	r = SKR_OK;
out:
	for (i = 0; i < (size_t)nlanes; i++) {
		free(lanes[i].lat);
		free(lanes[i].own);
		for (j = 0; j < lanes[i].nsamples; j++)
			free(lanes[i].samples[j].body);
		free(lanes[i].samples);
	}
	curl_slist_free_all(lanes[0].headers);
	free(all);
	return r;
}
