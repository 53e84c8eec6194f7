#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditsink.h"
#include "authority.h"
#include "opcache.h"
#include "policy.h"
#include "sealctl.h"
#include "server.h"
#include "skr/error.h"
#include "store.h"

/* Statuses skrd answers with; anything else is counted as "other". */
static const int statuses[] = {
	200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 429, 431, 500,
	503, 507,
};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]) + 1)

/* Latency bucket bounds in seconds: from a cached key read to a slow
 * RSA-4096 generation. */
static const double bounds[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10,
};
#define NBUCKETS (sizeof(bounds) / sizeof(bounds[0]) + 1) /* + +Inf */

#define NSPECIAL 3 /* unmatched, /healthz, /readyz */
#define OUTCOME_LEN 16
#define REASON_LEN 64
#define AUTHORITY_LEN 256
#define ATTEST_LEN 64

typedef atomic_uint_fast64_t counter;

struct series {
	int dry_run;
	char outcome[OUTCOME_LEN];
	char reason[REASON_LEN];
	char authority[AUTHORITY_LEN];
	char attest[ATTEST_LEN];
	counter n;
};

/* One thread's counters.  Only the owner writes labels; it publishes a
 * new series by storing nseries after filling it in (release), and a
 * scrape reads nseries first (acquire). */
struct shard {
	struct shard *next;
	pthread_t owner;
	counter *requests;   /* [route][NSTATUS] */
	counter *buckets;    /* [route][NBUCKETS], not cumulative */
	counter *sum_usec;   /* [route] */
	atomic_size_t nseries;
	struct series series[SKR_METRICS_MAX_SERIES];
	counter overflow[2]; /* decisions over the series cap, by dry_run */
};

struct skr_metrics {
	uint64_t id;
	const skr_route *routes;
	size_t nroutes;
	size_t nr;                /* nroutes + NSPECIAL */
	pthread_mutex_t lock;     /* shard list changes; scrapes */
	struct shard *shards;
	atomic_int_fast64_t connections;
	counter reloads[2];       /* refused, applied */
	atomic_int_fast64_t last_reload;
	int64_t start;
};

/* Registries get distinct ids so that a thread's cached shard of a freed
 * registry is never mistaken for one of a new registry at the same
 * address. */
static atomic_uint_fast64_t next_id = 1;
static _Thread_local struct {
	uint64_t id;
	struct shard *shard;
} cache;

static void
shard_free(struct shard *s)
{
	if (s == NULL)
		return;
	free(s->requests);
	free(s->buckets);
	free(s->sum_usec);
	free(s);
}

static struct shard *
shard_new(size_t nr)
{
	struct shard *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->owner = pthread_self();
	s->requests = calloc(nr * NSTATUS, sizeof(counter));
	s->buckets = calloc(nr * NBUCKETS, sizeof(counter));
	s->sum_usec = calloc(nr, sizeof(counter));
	if (s->requests == NULL || s->buckets == NULL || s->sum_usec == NULL) {
		shard_free(s);
		return NULL;
	}
	return s;
}

int
skr_metrics_create(const skr_route *routes, size_t nroutes,
    skr_metrics **out)
{
	skr_metrics *m;

	*out = NULL;
	if (routes == NULL && nroutes != 0)
		return SKR_ERR_INVAL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return SKR_ERR_NOMEM;
	m->id = atomic_fetch_add(&next_id, 1);
	m->routes = routes;
	m->nroutes = nroutes;
	m->nr = nroutes + NSPECIAL;
	m->start = (int64_t)time(NULL);
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return SKR_OK;
}

void
skr_metrics_free(skr_metrics *m)
{
	struct shard *s, *next;

	if (m == NULL)
		return;
	for (s = m->shards; s != NULL; s = next) {
		next = s->next;
		shard_free(s);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* This thread's shard of m; NULL only when memory ran out. */
static struct shard *
shard_get(skr_metrics *m)
{
	pthread_t self = pthread_self();
	struct shard *s;

	if (cache.id == m->id)
		return cache.shard;
	pthread_mutex_lock(&m->lock);
	for (s = m->shards; s != NULL; s = s->next)
		if (pthread_equal(s->owner, self))
			break;
	if (s == NULL && (s = shard_new(m->nr)) != NULL) {
		s->next = m->shards;
		m->shards = s;
	}
	pthread_mutex_unlock(&m->lock);
	if (s != NULL) {
		cache.id = m->id;
		cache.shard = s;
	}
	return s;
}

static size_t
route_slot(const skr_metrics *m, int route)
{
	if (route >= 0 && (size_t)route < m->nroutes)
		return (size_t)route;
	switch (route) {
	case SKR_METRICS_ROUTE_HEALTHZ: return m->nroutes + 1;
	case SKR_METRICS_ROUTE_READYZ: return m->nroutes + 2;
	default: return m->nroutes;
	}
}

static size_t
status_slot(int status)
{
	for (size_t i = 0; i < NSTATUS - 1; i++)
		if (statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

static void
add(counter *c, uint64_t v)
{
	atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static uint64_t
get(counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void
skr_metrics_request(skr_metrics *m, int route, int status, uint64_t usec)
{
	struct shard *s;
	size_t r, b;

	if (m == NULL || (s = shard_get(m)) == NULL)
		return;
	r = route_slot(m, route);
	add(&s->requests[r * NSTATUS + status_slot(status)], 1);
	for (b = 0; b < NBUCKETS - 1; b++)
		if ((double)usec <= bounds[b] * 1e6)
			break;
	add(&s->buckets[r * NBUCKETS + b], 1);
	add(&s->sum_usec[r], usec);
}

void
skr_metrics_connections(skr_metrics *m, int delta)
{
	if (m != NULL)
		atomic_fetch_add_explicit(&m->connections, delta,
		    memory_order_relaxed);
}

void
skr_metrics_reload(skr_metrics *m, int ok, int64_t now)
{
	if (m == NULL)
		return;
	add(&m->reloads[ok ? 1 : 0], 1);
	if (ok)
		atomic_store(&m->last_reload, now);
}

/* Copy a label value, or "" for NULL. */
static void
copy_label(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

/* Attestation types come from verified tokens, but are still the
 * attester's words: keep a short, plain form or say "other". */
static void
copy_attest(char *dst, size_t len, const char *src)
{
	size_t i, n;

	if (src == NULL) {
		dst[0] = '\0';
		return;
	}
	n = strlen(src);
	for (i = 0; i < n; i++) {
		char c = src[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			break;
	}
	copy_label(dst, len, i == n && n < len ? src : "other");
}

static int
series_is(const struct series *e, int dry_run, const char *outcome,
    const char *reason, const char *authority, const char *attest)
{
	return e->dry_run == dry_run && strcmp(e->outcome, outcome) == 0 &&
	    strcmp(e->reason, reason) == 0 &&
	    strcmp(e->authority, authority) == 0 &&
	    strcmp(e->attest, attest) == 0;
}

void
skr_metrics_decision(skr_metrics *m, int dry_run, const char *outcome,
    const char *reason, const char *authority,
    const char *attestation_type)
{
	struct shard *s;
	struct series key, *e;
	size_t i, n;

	if (m == NULL || (s = shard_get(m)) == NULL)
		return;
	dry_run = dry_run != 0;
	copy_label(key.outcome, sizeof(key.outcome), outcome);
	copy_label(key.reason, sizeof(key.reason), reason);
	copy_label(key.authority, sizeof(key.authority), authority);
	copy_attest(key.attest, sizeof(key.attest), attestation_type);
	n = atomic_load_explicit(&s->nseries, memory_order_relaxed);
	for (i = 0; i < n; i++) {
		e = &s->series[i];
		if (series_is(e, dry_run, key.outcome, key.reason,
		    key.authority, key.attest)) {
			add(&e->n, 1);
			return;
		}
	}
	if (n == SKR_METRICS_MAX_SERIES) {
		add(&s->overflow[dry_run], 1);
		return;
	}
	e = &s->series[n];
	e->dry_run = dry_run;
	memcpy(e->outcome, key.outcome, sizeof(e->outcome));
	memcpy(e->reason, key.reason, sizeof(e->reason));
	memcpy(e->authority, key.authority, sizeof(e->authority));
	memcpy(e->attest, key.attest, sizeof(e->attest));
	atomic_store_explicit(&e->n, 1, memory_order_relaxed);
	atomic_store_explicit(&s->nseries, n + 1, memory_order_release);
}

/* ---- text format ---------------------------------------------------------- */

static int
append_escaped(skr_buf *out, const char *s)
{
	int r = SKR_OK;

	for (; *s != '\0' && r == SKR_OK; s++) {
		if (*s == '\\')
			r = skr_buf_append_str(out, "\\\\");
		else if (*s == '"')
			r = skr_buf_append_str(out, "\\\"");
		else if (*s == '\n')
			r = skr_buf_append_str(out, "\\n");
		else
			r = skr_buf_append_byte(out, (uint8_t)*s);
	}
	return r;
}

int
skr_metrics_family(skr_buf *out, const char *name, const char *type,
    const char *help)
{
	return skr_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name,
	    help, name, type);
}

static int
sample_v(skr_buf *out, const char *name, double value, va_list ap)
{
	const char *k, *v;
	int r, first = 1;

	if ((r = skr_buf_append_str(out, name)) != SKR_OK)
		return r;
	while (r == SKR_OK && (k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if ((r = skr_buf_appendf(out, "%s%s=\"", first ? "{" : ",",
		    k)) == SKR_OK && (r = append_escaped(out, v ? v : "")) ==
		    SKR_OK)
			r = skr_buf_append_byte(out, '"');
		first = 0;
	}
	if (r == SKR_OK && !first)
		r = skr_buf_append_byte(out, '}');
	/* Counts as integers; fractions (seconds) to microseconds. */
	if (r == SKR_OK && value == (double)(int64_t)value &&
	    value < 1e15 && value > -1e15)
		r = skr_buf_appendf(out, " %lld\n", (long long)value);
	else if (r == SKR_OK)
		r = skr_buf_appendf(out, " %.9g\n", value);
	return r;
}

int
skr_metrics_sample(skr_buf *out, const char *name, double value, ...)
{
	va_list ap;
	int r;

	va_start(ap, value);
	r = sample_v(out, name, value, ap);
	va_end(ap);
	return r;
}

static void
route_labels(const skr_metrics *m, size_t r, const char **method,
    const char **route)
{
	if (r < m->nroutes) {
		*method = m->routes[r].method;
		*route = m->routes[r].pattern;
		return;
	}
	*method = "GET";
	if (r == m->nroutes + 1)
		*route = "/healthz";
	else if (r == m->nroutes + 2)
		*route = "/readyz";
	else {
		*method = "";
		*route = "unmatched";
	}
}

static void
status_label(size_t i, char *buf, size_t len)
{
	if (i < NSTATUS - 1)
		snprintf(buf, len, "%d", statuses[i]);
	else
		snprintf(buf, len, "other");
}

/* Sums over every shard; called with m->lock held. */
static uint64_t
sum_requests(const skr_metrics *m, size_t idx)
{
	uint64_t n = 0;

	for (struct shard *s = m->shards; s != NULL; s = s->next)
		n += get(&s->requests[idx]);
	return n;
}

static uint64_t
sum_buckets(const skr_metrics *m, size_t idx)
{
	uint64_t n = 0;

	for (struct shard *s = m->shards; s != NULL; s = s->next)
		n += get(&s->buckets[idx]);
	return n;
}

static int
render_requests(skr_metrics *m, skr_buf *out)
{
	const char *method, *route;
	char st[16];
	uint64_t n;
	int r;

	r = skr_metrics_family(out, "skr_http_requests_total", "counter",
	    "HTTP requests answered, by route pattern and status.");
	for (size_t i = 0; r == SKR_OK && i < m->nr; i++)
		for (size_t j = 0; r == SKR_OK && j < NSTATUS; j++) {
			if ((n = sum_requests(m, i * NSTATUS + j)) == 0)
				continue;
			route_labels(m, i, &method, &route);
			status_label(j, st, sizeof(st));
			r = skr_metrics_sample(out, "skr_http_requests_total",
			    (double)n, "method", method, "route", route,
			    "status", st, NULL);
		}
	return r;
}

static int
render_latency(skr_metrics *m, skr_buf *out)
{
	const char *method, *route, *name = "skr_http_request_duration_seconds";
	char le[32];
	uint64_t cum, total, usec;
	size_t i, b;
	int r;

	r = skr_metrics_family(out, name, "histogram",
	    "Time from a request's arrival to its answer, by route pattern.");
	for (i = 0; r == SKR_OK && i < m->nr; i++) {
		total = 0;
		for (b = 0; b < NBUCKETS; b++)
			total += sum_buckets(m, i * NBUCKETS + b);
		if (total == 0)
			continue;
		route_labels(m, i, &method, &route);
		cum = 0;
		for (b = 0; r == SKR_OK && b < NBUCKETS; b++) {
			cum += sum_buckets(m, i * NBUCKETS + b);
			if (b < NBUCKETS - 1)
				snprintf(le, sizeof(le), "%g", bounds[b]);
			else
				snprintf(le, sizeof(le), "+Inf");
			r = skr_metrics_sample(out,
			    "skr_http_request_duration_seconds_bucket",
			    (double)cum, "method", method, "route", route,
			    "le", le, NULL);
		}
		usec = 0;
		for (struct shard *s = m->shards; s != NULL; s = s->next)
			usec += get(&s->sum_usec[i]);
		if (r == SKR_OK)
			r = skr_metrics_sample(out,
			    "skr_http_request_duration_seconds_sum",
			    (double)usec / 1e6, "method", method, "route",
			    route, NULL);
		if (r == SKR_OK)
			r = skr_metrics_sample(out,
			    "skr_http_request_duration_seconds_count",
			    (double)cum, "method", method, "route", route,
			    NULL);
	}
	return r;
}

/* Series with equal labels in different shards are one sample. */
static int
render_decisions(skr_metrics *m, skr_buf *out)
{
	static const char *const ops[] = { "release", "evaluate" };
	const char *name = "skr_release_decisions_total";
	struct shard *s, *t;
	struct series *e, *f;
	size_t i, j, n, tn;
	uint64_t total, over[2] = { 0, 0 };
	int r, seen;

	r = skr_metrics_family(out, name, "counter",
	    "Release and evaluate decisions, by outcome, reason id, "
	    "authority and attestation type.");
	for (s = m->shards; r == SKR_OK && s != NULL; s = s->next) {
		over[0] += get(&s->overflow[0]);
		over[1] += get(&s->overflow[1]);
		n = atomic_load_explicit(&s->nseries, memory_order_acquire);
		for (i = 0; r == SKR_OK && i < n; i++) {
			e = &s->series[i];
			/* Rendered already with an earlier shard? */
			seen = 0;
			for (t = m->shards; t != s && !seen; t = t->next) {
				tn = atomic_load_explicit(&t->nseries,
				    memory_order_acquire);
				for (j = 0; j < tn && !seen; j++)
					seen = series_is(&t->series[j],
					    e->dry_run, e->outcome, e->reason,
					    e->authority, e->attest);
			}
			if (seen)
				continue;
			total = 0;
			for (t = s; t != NULL; t = t->next) {
				tn = atomic_load_explicit(&t->nseries,
				    memory_order_acquire);
				for (j = 0; j < tn; j++) {
					f = &t->series[j];
					if (series_is(f, e->dry_run,
					    e->outcome, e->reason,
					    e->authority, e->attest))
						total += get(&f->n);
				}
			}
			r = skr_metrics_sample(out, name, (double)total,
			    "operation", ops[e->dry_run], "outcome",
			    e->outcome, "reason", e->reason, "authority",
			    e->authority, "attestation_type", e->attest,
			    NULL);
		}
	}
	for (i = 0; r == SKR_OK && i < 2; i++)
		if (over[i] > 0)
			r = skr_metrics_sample(out, name, (double)over[i],
			    "operation", ops[i], "outcome", "other", "reason",
			    "other", "authority", "other", "attestation_type",
			    "other", NULL);
	return r;
}

int
skr_metrics_render(skr_metrics *m, skr_buf *out)
{
	int r;

	if (m == NULL || out == NULL)
		return SKR_ERR_INVAL;
	pthread_mutex_lock(&m->lock);
	if ((r = render_requests(m, out)) == SKR_OK &&
	    (r = render_latency(m, out)) == SKR_OK)
		r = render_decisions(m, out);
	pthread_mutex_unlock(&m->lock);
	if (r == SKR_OK)
		r = skr_metrics_family(out, "skr_http_connections_open",
		    "gauge", "Client connections open now.");
	if (r == SKR_OK)
		r = skr_metrics_sample(out, "skr_http_connections_open",
		    (double)atomic_load(&m->connections), NULL);
	if (r == SKR_OK)
		r = skr_metrics_family(out, "skr_config_reloads_total",
		    "counter", "Configuration reloads (SIGHUP), applied or "
		    "refused.");
	if (r == SKR_OK)
		r = skr_metrics_sample(out, "skr_config_reloads_total",
		    (double)get(&m->reloads[1]), "result", "applied", NULL);
	if (r == SKR_OK)
		r = skr_metrics_sample(out, "skr_config_reloads_total",
		    (double)get(&m->reloads[0]), "result", "refused", NULL);
	if (r == SKR_OK)
		r = skr_metrics_family(out,
		    "skr_config_last_reload_timestamp_seconds", "gauge",
		    "When a reload was last applied (0: never).");
	if (r == SKR_OK)
		r = skr_metrics_sample(out,
		    "skr_config_last_reload_timestamp_seconds",
		    (double)atomic_load(&m->last_reload), NULL);
	if (r == SKR_OK)
		r = skr_metrics_family(out, "skr_process_start_time_seconds",
		    "gauge", "When this process started, unix seconds.");
	if (r == SKR_OK)
		r = skr_metrics_sample(out, "skr_process_start_time_seconds",
		    (double)m->start, NULL);
	return r;
}

/* ---- GET /metrics ------------------------------------------------------- */

/* A family with one sample and no labels. */
struct plain {
	const char *name, *type, *help;
};

/* n such families, f[i] with the value v[i]. */
static int
render_plain(skr_buf *out, const struct plain *f, const double *v, size_t n)
{
	int r = SKR_OK;

	for (size_t i = 0; r == SKR_OK && i < n; i++)
		if ((r = skr_metrics_family(out, f[i].name, f[i].type,
		    f[i].help)) == SKR_OK)
			r = skr_metrics_sample(out, f[i].name, v[i], NULL);
	return r;
}

/* How long the group commits of audit records took: every release waits
 * for one (docs/store.md, "Audit log"). */
static int
render_commit_duration(const skr_store_stats *ss, skr_buf *out)
{
	const char *name = "skr_audit_group_commit_duration_seconds";
	char le[32];
	uint64_t cum = 0;
	size_t b;
	int r;

	r = skr_metrics_family(out, name, "histogram",
	    "Time a group commit of audit records takes, from its write "
	    "transaction's start to its durable commit.");
	for (b = 0; r == SKR_OK && b < SKR_STORE_COMMIT_BUCKETS; b++) {
		cum += ss->audit_commit_buckets[b];
		if (b < SKR_STORE_COMMIT_BUCKETS - 1)
			snprintf(le, sizeof(le), "%g",
			    skr_store_commit_bounds_us[b] / 1e6);
		else
			snprintf(le, sizeof(le), "+Inf");
		r = skr_metrics_sample(out,
		    "skr_audit_group_commit_duration_seconds_bucket",
		    (double)cum, "le", le, NULL);
	}
	if (r == SKR_OK)
		r = skr_metrics_sample(out,
		    "skr_audit_group_commit_duration_seconds_sum",
		    (double)ss->audit_commit_usec / 1e6, NULL);
	if (r == SKR_OK)
		r = skr_metrics_sample(out,
		    "skr_audit_group_commit_duration_seconds_count",
		    (double)cum, NULL);
	return r;
}

/* A replica of a store in etcd (docs/availability.md, "Metrics"). */
static int
render_replica(const skr_store_stats *ss, skr_buf *out)
{
	static const struct plain f[] = {
		{ "skr_store_available", "gauge",
		    "1 while the shared store answers and the watch is up." },
		{ "skr_store_revision", "gauge",
		    "The etcd revision the local copy has reached." },
		{ "skr_store_round_trips_total", "counter",
		    "Requests sent to etcd, every try counted." },
		{ "skr_store_conflicts_total", "counter",
		    "Commits another replica's commit overtook (run again)." },
		{ "skr_store_unknown_outcomes_total", "counter",
		    "Commits whose outcome had to be asked again." },
		{ "skr_store_unavailable_total", "counter",
		    "Times the shared store became unavailable." },
		{ "skr_store_unavailable_seconds_total", "counter",
		    "Time the shared store was unavailable." },
		{ "skr_store_watch_restarts_total", "counter",
		    "Times the watch of the keyspace started again." },
	};
	double v[8];

	v[0] = ss->available;
	v[1] = (double)ss->revision;
	v[2] = (double)ss->round_trips;
	v[3] = (double)ss->conflicts;
	v[4] = (double)ss->unknown;
	v[5] = (double)ss->unavailable;
	v[6] = (double)ss->unavailable_ms / 1000.0;
	v[7] = (double)ss->watch_restarts;
	return render_plain(out, f, v, sizeof(f) / sizeof(f[0]));
}

static int
render_store(skr_server *srv, skr_buf *out)
{
	static const char *const kinds[] = { "keys", "versions", "deleted",
	    "tokens", "nonces", "audit_records" };
	static const struct plain f[] = {
		{ "skr_store_used_bytes", "gauge",
		    "Bytes of store pages in use." },
		{ "skr_store_map_bytes", "gauge",
		    "Configured store map size (the most it can hold)." },
		{ "skr_audit_group_commits_total", "counter",
		    "Group commits of audit records (release attempts and "
		    "other events logged on their own)." },
		{ "skr_audit_group_commit_records_total", "counter",
		    "Audit records those group commits held." },
	};
	skr_store_stats ss;
	uint64_t v[6];
	double pv[4];
	int r;

	if (srv->store == NULL || skr_store_stats_get(srv->store, &ss) !=
	    SKR_OK)
		return SKR_OK;
	v[0] = ss.keys;
	v[1] = ss.versions;
	v[2] = ss.deleted;
	v[3] = ss.tokens;
	v[4] = ss.nonces;
	v[5] = ss.audit_records;
	r = skr_metrics_family(out, "skr_store_entries", "gauge",
	    "Entries in the store, by kind.");
	for (size_t i = 0; r == SKR_OK && i < 6; i++)
		r = skr_metrics_sample(out, "skr_store_entries", (double)v[i],
		    "kind", kinds[i], NULL);
	pv[0] = (double)ss.used_size;
	pv[1] = (double)ss.map_size;
	pv[2] = (double)ss.audit_commits;
	pv[3] = (double)ss.audit_commit_records;
	if (r == SKR_OK)
		r = render_plain(out, f, pv, sizeof(f) / sizeof(f[0]));
	if (r == SKR_OK)
		r = render_commit_duration(&ss, out);
	if (r == SKR_OK && ss.replicated)
		r = render_replica(&ss, out);
	return r;
}

/* A cache's counter by result: hit and miss. */
static int
render_hit_miss(skr_buf *out, const char *name, const char *help,
    uint64_t hits, uint64_t misses)
{
	int r;

	r = skr_metrics_family(out, name, "counter", help);
	if (r == SKR_OK)
		r = skr_metrics_sample(out, name, (double)hits, "result", "hit",
		    NULL);
	if (r == SKR_OK)
		r = skr_metrics_sample(out, name, (double)misses, "result",
		    "miss", NULL);
	return r;
}

/* The cache of parsed policies (policy.h) and the prepared OpenSSL
 * operations (keys/opcache.h). */
static int
render_caches(skr_buf *out)
{
	skr_opcache_stats st;
	uint64_t hits, misses;
	int r;

	skr_policy_cache_stats(&hits, &misses);
	skr_opcache_stats_get(&st);
	r = render_hit_miss(out, "skr_policy_cache_lookups_total",
	    "Releases' lookups of their key's parsed policy, by whether it "
	    "was cached.", hits, misses);
	if (r == SKR_OK)
		r = render_hit_miss(out, "skr_prepared_operations_total",
		    "Signing, verification and wrapping contexts, by whether "
		    "they were copied from a prepared one (hit) or set up "
		    "(miss).", st.hits, st.misses);
	return r;
}

/* One gauge per authority from the status JSON; member NULL means "ok"
 * (1 when last_error is null). */
static int
render_authority_family(json_t *st, skr_buf *out, const char *name,
    const char *help, const char *member, int64_t now)
{
	json_t *a, *v;
	size_t i;
	double x;
	int r;

	r = skr_metrics_family(out, name, "gauge", help);
	json_array_foreach(st, i, a) {
		if (r != SKR_OK)
			break;
		if (member == NULL)
			x = json_is_null(json_object_get(a, "last_error")) ? 1 : 0;
		else if (strcmp(member, "age") == 0) {
			v = json_object_get(a, "last_refresh");
			if (!json_is_integer(v))
				continue;
			x = (double)(now - json_integer_value(v));
		} else if (json_is_integer(v = json_object_get(a, member)))
			x = (double)json_integer_value(v);
		else
			continue;
		r = skr_metrics_sample(out, name, x, "authority",
		    json_string_value(json_object_get(a, "issuer")), NULL);
	}
	return r;
}

static int
render_authorities(skr_server *srv, skr_buf *out)
{
	struct skr_authorities *as = __atomic_load_n(&srv->authorities,
	    __ATOMIC_ACQUIRE);
	int64_t now = (int64_t)time(NULL);
	json_t *st;
	int r;

	if (as == NULL || (st = skr_authorities_status_json(as)) == NULL)
		return SKR_OK;
	r = render_authority_family(st, out, "skr_authority_keys",
	    "Signing keys in the authority's current key set.", "keys", now);
	if (r == SKR_OK)
		r = render_authority_family(st, out,
		    "skr_authority_refresh_ok", "1 when the last key-set "
		    "refresh worked, 0 when it failed (the last good set "
		    "keeps serving).", NULL, now);
	if (r == SKR_OK)
		r = render_authority_family(st, out,
		    "skr_authority_refresh_failures",
		    "Consecutive failed key-set refreshes.", "failures", now);
	if (r == SKR_OK)
		r = render_authority_family(st, out,
		    "skr_authority_key_set_age_seconds",
		    "Seconds since the key set was last fetched.", "age", now);
	if (r == SKR_OK)
		r = render_authority_family(st, out,
		    "skr_authority_last_refresh_timestamp_seconds",
		    "When the key set was last fetched, unix seconds.",
		    "last_refresh", now);
	json_decref(st);
	return r;
}

static int
render_sinks(skr_server *srv, skr_buf *out)
{
	static const char *const names[SKR_AUDITSINK_COUNT] = { "file",
	    "stdout" };
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "skr_audit_sink_up", "gauge", "1 when the audit sink's last "
		    "open and write worked." },
		{ "skr_audit_sink_records_total", "counter", "Audit records "
		    "written to the sink since start." },
		{ "skr_audit_sink_errors_total", "counter", "Failed opens, "
		    "writes and syncs of the sink." },
		{ "skr_audit_sink_lag_records", "gauge", "Audit records in "
		    "the store not yet written to the sink." },
	};
	skr_auditsink_status st[SKR_AUDITSINK_COUNT];
	double v;
	int r = SKR_OK;

	for (int i = 0; i < SKR_AUDITSINK_COUNT; i++)
		skr_auditsink_status_get(srv->auditsink, i, &st[i]);
	for (size_t f = 0; r == SKR_OK && f < 4; f++) {
		r = skr_metrics_family(out, fam[f].name, fam[f].type,
		    fam[f].help);
		for (int i = 0; r == SKR_OK && i < SKR_AUDITSINK_COUNT; i++) {
			if (!st[i].enabled)
				continue;
			v = f == 0 ? st[i].healthy : f == 1 ?
			    (double)st[i].written : f == 2 ?
			    (double)st[i].errors : (double)(st[i].head >
			    st[i].position ? st[i].head - st[i].position : 0);
			r = skr_metrics_sample(out, fam[f].name, v, "sink",
			    names[i], NULL);
		}
	}
	return r;
}

int
skr_api_metrics(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_buf text = SKR_BUF_INIT;
	int r;

	(void)req;
	if (srv->metrics == NULL)
		return skr_response_error(resp, SKR_ERR_SEALED,
		    "metrics are not collected");
	if ((r = skr_metrics_render(srv->metrics, &text)) == SKR_OK &&
	    (r = render_store(srv, &text)) == SKR_OK &&
	    (r = render_caches(&text)) == SKR_OK &&
	    (r = render_authorities(srv, &text)) == SKR_OK &&
	    (r = render_sinks(srv, &text)) == SKR_OK &&
	    (r = skr_sealctl_metrics(srv->seal, &text)) == SKR_OK &&
	    (r = skr_metrics_family(&text, "skr_build_info", "gauge",
	    "Always 1; the version is a label.")) == SKR_OK)
		r = skr_metrics_sample(&text, "skr_build_info", 1, "version",
		    SKR_VERSION, NULL);
	if (r == SKR_OK) {
		skr_buf_reset(&resp->body);
		r = skr_buf_append(&resp->body, text.data, text.len);
	}
	skr_buf_free(&text);
	if (r != SKR_OK)
		return skr_response_error(resp, r, NULL);
	resp->status = 200;
	resp->content_type = SKR_METRICS_CONTENT_TYPE;
	return SKR_OK;
}
