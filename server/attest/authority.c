#include "authority.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "json.h"
#include "policy.h"
#include "skr/error.h"

struct auth {
	/* configuration: fixed after add */
	char *issuer;
	skr_authority_source source;
	char *location;
	char *https_ca_file;
	X509_STORE *x5c_ca;
	unsigned algs;
	char *wrapkey_claim;

	/* state, under the set's mutex */
	skr_jwks *keys;
	json_t *warnings;       /* array of strings from the last good load */
	char *last_error;
	int64_t last_refresh;   /* last success; 0: never */
	int64_t last_attempt;
	int64_t next_due;
	int64_t backoff;        /* current retry delay; 0 after a success */
	int64_t last_kid_refresh;
	int kid_refreshed;      /* last_kid_refresh is meaningful */
	unsigned failures;      /* consecutive */
	uint64_t attempts;      /* finished attempts */
	int last_result;
	int busy;
};

struct skr_authorities {
	pthread_mutex_t mu;
	pthread_cond_t wake;    /* the refresh thread has work */
	pthread_cond_t done;    /* an attempt finished */
	struct auth **auths;
	size_t n;
	int64_t refresh, kid_interval, backoff_min, fetch_timeout;
	int64_t (*clock)(void *);
	void *clock_ctx;
	pthread_t thread;
	int running;
	atomic_int stopping;
};

static int64_t
now_of(skr_authorities *a)
{
	return a->clock != NULL ? a->clock(a->clock_ctx) : (int64_t)time(NULL);
}

/* ---- lifecycle and configuration ---- */

int
skr_authorities_create(skr_authorities **out)
{
	skr_authorities *a;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return SKR_ERR_NOMEM;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->wake, NULL);
	pthread_cond_init(&a->done, NULL);
	a->refresh = SKR_AUTHORITY_DEFAULT_REFRESH;
	a->kid_interval = SKR_AUTHORITY_DEFAULT_KID_INTERVAL;
	a->backoff_min = SKR_AUTHORITY_DEFAULT_BACKOFF_MIN;
	a->fetch_timeout = SKR_AUTHORITY_DEFAULT_FETCH_TIMEOUT;
	atomic_init(&a->stopping, 0);
	*out = a;
	return SKR_OK;
}

static void
auth_free(struct auth *x)
{
	if (x == NULL)
		return;
	free(x->issuer);
	free(x->location);
	free(x->https_ca_file);
	X509_STORE_free(x->x5c_ca);
	free(x->wrapkey_claim);
	skr_jwks_unref(x->keys);
	json_decref(x->warnings);
	free(x->last_error);
	free(x);
}

void
skr_authorities_free(skr_authorities *a)
{
	size_t i;

	if (a == NULL)
		return;
	skr_authorities_stop(a);
	for (i = 0; i < a->n; i++)
		auth_free(a->auths[i]);
	free(a->auths);
	pthread_cond_destroy(&a->done);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void
skr_authorities_set_timing(skr_authorities *a, int64_t refresh,
    int64_t kid_interval, int64_t backoff_min, int64_t fetch_timeout)
{
	if (refresh > 0)
		a->refresh = refresh;
	if (kid_interval > 0)
		a->kid_interval = kid_interval;
	if (backoff_min > 0)
		a->backoff_min = backoff_min;
	if (fetch_timeout > 0)
		a->fetch_timeout = fetch_timeout;
}

void
skr_authorities_set_clock(skr_authorities *a, int64_t (*now)(void *ctx),
    void *ctx)
{
	a->clock = now;
	a->clock_ctx = ctx;
}

size_t
skr_authorities_count(const skr_authorities *a)
{
	return a->n;
}

static int
is_url(const char *s, int https_only)
{
	if (s == NULL)
		return 0;
	if (strncmp(s, "https://", 8) == 0)
		return s[8] != '\0' && s[8] != '/';
	return !https_only && strncmp(s, "http://", 7) == 0 && s[7] != '\0' &&
	    s[7] != '/';
}

static int
dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return SKR_OK;
	return (*out = strdup(s)) == NULL ? SKR_ERR_NOMEM : SKR_OK;
}

static struct auth *
find_locked(skr_authorities *a, const char *iss)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (skr_policy_issuer_match(a->auths[i]->issuer, iss))
			return a->auths[i];
	return NULL;
}

int
skr_authorities_add(skr_authorities *a, const skr_authority_config *c)
{
	struct auth *x = NULL, **v;
	const char *loc = c->location;
	int r;

	if (a->running)
		return SKR_ERR_INVAL;
	if (!is_url(c->issuer, 0) || strlen(c->issuer) > 2048 ||
	    find_locked(a, c->issuer) != NULL)
		return SKR_ERR_CONFIG;
	switch (c->source) {
	case SKR_AUTHORITY_FILE:
		if (loc != NULL && strncmp(loc, "file://", 7) == 0)
			loc += 7;
		if (loc == NULL || *loc == '\0')
			return SKR_ERR_CONFIG;
		break;
	case SKR_AUTHORITY_URL:
		/* Keys fetched over plain HTTP could be anyone's. */
		if (!is_url(loc, 1))
			return SKR_ERR_CONFIG;
		break;
	case SKR_AUTHORITY_OIDC:
		if (!is_url(c->issuer, 1))
			return SKR_ERR_CONFIG;
		loc = NULL;
		break;
	default:
		return SKR_ERR_CONFIG;
	}
	if (c->https_ca_file != NULL && access(c->https_ca_file, R_OK) != 0)
		return SKR_ERR_CONFIG;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return SKR_ERR_NOMEM;
	x->source = c->source;
	x->algs = c->algs;
	if ((r = dup_opt(c->issuer, &x->issuer)) != SKR_OK ||
	    (r = dup_opt(loc, &x->location)) != SKR_OK ||
	    (r = dup_opt(c->https_ca_file, &x->https_ca_file)) != SKR_OK ||
	    (r = dup_opt(c->wrapkey_claim != NULL ? c->wrapkey_claim :
	    SKR_TOKEN_WRAPKEY_CLAIM, &x->wrapkey_claim)) != SKR_OK)
		goto out;
	if (c->x5c_ca_file != NULL &&
	    skr_jwks_load_ca(c->x5c_ca_file, &x->x5c_ca) != SKR_OK) {
		r = SKR_ERR_CONFIG;
		goto out;
	}
	if ((v = realloc(a->auths, (a->n + 1) * sizeof(*v))) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	a->auths = v;
	a->auths[a->n++] = x;
	x = NULL;
	r = SKR_OK;
 out:
	auth_free(x);
	return r;
}

/* ---- fetching ---- */

static int
stopping(void *ctx)
{
	skr_authorities *a = ctx;

	return atomic_load(&a->stopping);
}

/* GET an https URL into out (at most SKR_JWKS_MAX_BYTES). */
static int
https_get(skr_authorities *a, const struct auth *x, const char *url,
    skr_buf *out, skr_buf *why)
{
	skr_fetch_opts o = {
		.ca_file = x->https_ca_file,
		.timeout_ms = (long)a->fetch_timeout * 1000,
		.max = SKR_JWKS_MAX_BYTES,
		.stop = stopping,
		.stop_arg = a,
		.err = SKR_ERR_AUTHORITY,
	};

	if (!is_url(url, 1)) {
		skr_buf_reset(out);
		skr_buf_appendf(why, "not an https URL");
		return SKR_ERR_AUTHORITY;
	}
	return skr_fetch_https(url, &o, out, NULL, why);
}

static int
read_file(const char *path, skr_buf *out, skr_buf *why)
{
	char chunk[8192];
	FILE *f;
	size_t n;
	int r = SKR_OK;

	skr_buf_reset(out);
	out->max = SKR_JWKS_MAX_BYTES;
	if ((f = fopen(path, "rb")) == NULL) {
		skr_buf_appendf(why, "%s: %s", path, strerror(errno));
		return SKR_ERR_AUTHORITY;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((r = skr_buf_append(out, chunk, n)) != SKR_OK) {
			skr_buf_appendf(why, "%s: larger than %zu bytes", path,
			    SKR_JWKS_MAX_BYTES);
			r = SKR_ERR_AUTHORITY;
			break;
		}
	if (r == SKR_OK && ferror(f)) {
		skr_buf_appendf(why, "%s: read error", path);
		r = SKR_ERR_AUTHORITY;
	}
	fclose(f);
	return r;
}

/* OpenID Connect Discovery 1.0 section 4: the metadata lives at
 * {issuer}/.well-known/openid-configuration and its "issuer" must be the
 * issuer we asked for. */
static int
oidc_jwks_uri(skr_authorities *a, const struct auth *x, skr_buf *out,
    skr_buf *why)
{
	skr_buf url = SKR_BUF_INIT, doc = SKR_BUF_INIT;
	json_t *meta = NULL;
	const char *iss, *uri;
	size_t len = strlen(x->issuer);
	int r;

	if (len > 0 && x->issuer[len - 1] == '/')
		len--;
	if ((r = skr_buf_append(&url, x->issuer, len)) != SKR_OK ||
	    (r = skr_buf_append_str(&url,
	    "/.well-known/openid-configuration")) != SKR_OK)
		goto out;
	if ((r = https_get(a, x, skr_buf_cstr(&url), &doc, why)) != SKR_OK)
		goto out;
	if (skr_json_parse((const char *)doc.data, doc.len, 0, &meta) !=
	    SKR_OK || !json_is_object(meta)) {
		skr_buf_appendf(why, "%s: not a JSON object", skr_buf_cstr(&url));
		r = SKR_ERR_AUTHORITY;
		goto out;
	}
	iss = json_string_value(json_object_get(meta, "issuer"));
	if (!skr_policy_issuer_match(x->issuer, iss)) {
		skr_buf_appendf(why, "%s: metadata names another issuer",
		    skr_buf_cstr(&url));
		r = SKR_ERR_AUTHORITY;
		goto out;
	}
	uri = json_string_value(json_object_get(meta, "jwks_uri"));
	if (!is_url(uri, 1)) {
		skr_buf_appendf(why, "%s: no https jwks_uri",
		    skr_buf_cstr(&url));
		r = SKR_ERR_AUTHORITY;
		goto out;
	}
	r = skr_buf_set(out, uri, strlen(uri));
 out:
	json_decref(meta);
	skr_buf_free(&url);
	skr_buf_free(&doc);
	return r;
}

static int
fetch_keys(skr_authorities *a, const struct auth *x, int64_t now,
    skr_jwks **out, skr_buf *why)
{
	skr_buf doc = SKR_BUF_INIT, uri = SKR_BUF_INIT;
	int r;

	*out = NULL;
	switch (x->source) {
	case SKR_AUTHORITY_FILE:
		r = read_file(x->location, &doc, why);
		break;
	case SKR_AUTHORITY_URL:
		r = https_get(a, x, x->location, &doc, why);
		break;
	case SKR_AUTHORITY_OIDC:
		if ((r = oidc_jwks_uri(a, x, &uri, why)) == SKR_OK)
			r = https_get(a, x, skr_buf_cstr(&uri), &doc, why);
		break;
	default:
		r = SKR_ERR_INTERNAL;
	}
	if (r != SKR_OK)
		goto out;
	if ((r = skr_jwks_parse((const char *)doc.data, doc.len, x->x5c_ca,
	    now, out, why)) != SKR_OK) {
		r = r == SKR_ERR_NOMEM ? r : SKR_ERR_AUTHORITY;
		goto out;
	}
	if (skr_jwks_count(*out) == 0) {
		skr_buf_append_str(why, "key set has no usable key");
		if (skr_jwks_warning_count(*out) > 0)
			skr_buf_appendf(why, " (%s)", skr_jwks_warning(*out, 0));
		skr_jwks_unref(*out);
		*out = NULL;
		r = SKR_ERR_AUTHORITY;
	}
 out:
	skr_buf_free(&doc);
	skr_buf_free(&uri);
	return r;
}

static json_t *
warnings_json(const skr_jwks *set)
{
	json_t *w = json_array();
	size_t i;

	for (i = 0; w != NULL && i < skr_jwks_warning_count(set); i++)
		json_array_append_new(w, json_string(skr_jwks_warning(set, i)));
	return w;
}

/* One attempt for x, which the caller has marked busy. */
static int
refresh_one(skr_authorities *a, struct auth *x)
{
	skr_buf why = SKR_BUF_INIT;
	skr_jwks *set = NULL, *old = NULL;
	json_t *warn = NULL;
	int64_t now = now_of(a);
	char *err = NULL;
	int r;

	r = fetch_keys(a, x, now, &set, &why);
	if (r == SKR_OK && (warn = warnings_json(set)) == NULL)
		r = SKR_ERR_NOMEM;
	if (r != SKR_OK) {
		if (why.len == 0)
			skr_buf_append_str(&why, skr_strerror(r));
		err = strdup(skr_buf_cstr(&why));
	}

	pthread_mutex_lock(&a->mu);
	x->last_attempt = now;
	x->attempts++;
	x->last_result = r;
	if (r == SKR_OK) {
		old = x->keys;
		x->keys = set;
		set = NULL;
		json_decref(x->warnings);
		x->warnings = warn;
		warn = NULL;
		free(x->last_error);
		x->last_error = NULL;
		x->last_refresh = now;
		x->failures = 0;
		x->backoff = 0;
		x->next_due = now + a->refresh;
	} else {
		/* Keep the last good set; retry sooner than the period, backing
		 * off exponentially up to it. */
		x->failures++;
		x->backoff = x->backoff == 0 ? a->backoff_min : x->backoff * 2;
		if (x->backoff > a->refresh)
			x->backoff = a->refresh;
		x->next_due = now + x->backoff;
		free(x->last_error);
		x->last_error = err;
		err = NULL;
	}
	x->busy = 0;
	pthread_cond_broadcast(&a->done);
	pthread_mutex_unlock(&a->mu);

	skr_jwks_unref(old);
	skr_jwks_unref(set);
	json_decref(warn);
	free(err);
	skr_buf_free(&why);
	return r;
}

int
skr_authorities_poll(skr_authorities *a)
{
	struct auth *x;
	size_t i;
	int due, count = 0;

	for (i = 0; i < a->n && !atomic_load(&a->stopping); i++) {
		x = a->auths[i];
		pthread_mutex_lock(&a->mu);
		due = !x->busy && x->next_due <= now_of(a);
		if (due)
			x->busy = 1;
		pthread_mutex_unlock(&a->mu);
		if (due) {
			refresh_one(a, x);
			count++;
		}
	}
	return count;
}

static void *
refresh_thread(void *arg)
{
	skr_authorities *a = arg;
	struct timespec ts;
	int64_t next, now, wait;
	size_t i;

	pthread_mutex_lock(&a->mu);
	while (!atomic_load(&a->stopping)) {
		next = INT64_MAX;
		for (i = 0; i < a->n; i++)
			if (!a->auths[i]->busy && a->auths[i]->next_due < next)
				next = a->auths[i]->next_due;
		now = now_of(a);
		if (next <= now) {
			pthread_mutex_unlock(&a->mu);
			skr_authorities_poll(a);
			pthread_mutex_lock(&a->mu);
			continue;
		}
		/* Sleep until the next due time (at most a minute, so a
		 * clock step cannot stall refreshes) or a request. */
		wait = next - now < 60 ? next - now : 60;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)wait;
		pthread_cond_timedwait(&a->wake, &a->mu, &ts);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

int
skr_authorities_start(skr_authorities *a)
{
	size_t i;

	if (a->running)
		return SKR_ERR_INVAL;
	for (i = 0; i < a->n; i++) {
		pthread_mutex_lock(&a->mu);
		a->auths[i]->busy = 1;
		pthread_mutex_unlock(&a->mu);
		refresh_one(a, a->auths[i]);
	}
	atomic_store(&a->stopping, 0);
	if (pthread_create(&a->thread, NULL, refresh_thread, a) != 0)
		return SKR_ERR_INTERNAL;
	a->running = 1;
	return SKR_OK;
}

void
skr_authorities_stop(skr_authorities *a)
{
	if (!a->running)
		return;
	pthread_mutex_lock(&a->mu);
	atomic_store(&a->stopping, 1);
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	a->running = 0;
	atomic_store(&a->stopping, 0);
}

int
skr_authorities_ready(skr_authorities *a)
{
	size_t i;
	int ok = 1;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->n; i++)
		if (a->auths[i]->keys == NULL ||
		    skr_jwks_count(a->auths[i]->keys) == 0)
			ok = 0;
	pthread_mutex_unlock(&a->mu);
	return ok;
}

/* ---- lookups and requests ---- */

int
skr_authorities_lookup(skr_authorities *a, const char *iss, skr_jwks **keys,
    unsigned *algs, const char **wrapkey_claim)
{
	struct auth *x;
	int r = SKR_OK;

	if (keys != NULL)
		*keys = NULL;
	pthread_mutex_lock(&a->mu);
	if ((x = find_locked(a, iss)) == NULL)
		r = SKR_ERR_TOKEN_ISSUER;
	else if (x->keys == NULL)
		r = SKR_ERR_AUTHORITY;
	else {
		if (keys != NULL)
			*keys = skr_jwks_ref(x->keys);
		if (algs != NULL)
			*algs = x->algs;
		if (wrapkey_claim != NULL)
			*wrapkey_claim = x->wrapkey_claim;
	}
	pthread_mutex_unlock(&a->mu);
	return r;
}

int
skr_authorities_request_refresh(skr_authorities *a, const char *issuer)
{
	struct auth *x;

	pthread_mutex_lock(&a->mu);
	if ((x = find_locked(a, issuer)) != NULL) {
		x->next_due = INT64_MIN;
		pthread_cond_broadcast(&a->wake);
	}
	pthread_mutex_unlock(&a->mu);
	return x != NULL ? SKR_OK : SKR_ERR_TOKEN_ISSUER;
}

int
skr_authorities_refresh_wait(skr_authorities *a, const char *issuer,
    int wait_ms)
{
	struct timespec ts;
	struct auth *x;
	uint64_t target;
	int r, running;

	pthread_mutex_lock(&a->mu);
	if ((x = find_locked(a, issuer)) == NULL) {
		pthread_mutex_unlock(&a->mu);
		return SKR_ERR_TOKEN_ISSUER;
	}
	/* An attempt already under way may have read the old source. */
	target = x->attempts + (x->busy ? 2 : 1);
	x->next_due = INT64_MIN;
	pthread_cond_broadcast(&a->wake);
	running = a->running;
	pthread_mutex_unlock(&a->mu);
	if (!running)
		skr_authorities_poll(a);

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&a->mu);
	while (x->attempts < target)
		if (pthread_cond_timedwait(&a->done, &a->mu, &ts) ==
		    ETIMEDOUT)
			break;
	r = x->attempts >= target ? x->last_result : SKR_ERR_AUTHORITY;
	pthread_mutex_unlock(&a->mu);
	return r;
}

static int
trust_lookup(void *ctx, const char *iss, skr_jwks **keys, unsigned *algs)
{
	return skr_authorities_lookup(ctx, iss, keys, algs, NULL);
}

/* An unknown kid may mean the authority rotated its keys: refresh early,
 * but at most once per kid_interval, so tokens with made-up kids cannot
 * make us hammer the authority. */
static int
trust_unknown_kid(void *ctx, const char *iss, const char *kid, int wait_ms,
    skr_jwks **keys)
{
	skr_authorities *a = ctx;
	struct auth *x;
	int64_t now = now_of(a);

	*keys = NULL;
	pthread_mutex_lock(&a->mu);
	if ((x = find_locked(a, iss)) == NULL) {
		pthread_mutex_unlock(&a->mu);
		return SKR_ERR_TOKEN_ISSUER;
	}
	if (x->kid_refreshed && now - x->last_kid_refresh < a->kid_interval) {
		pthread_mutex_unlock(&a->mu);
		return SKR_ERR_TOKEN_KID;
	}
	x->kid_refreshed = 1;
	x->last_kid_refresh = now;
	pthread_mutex_unlock(&a->mu);
	if (wait_ms <= 0) {
		skr_authorities_request_refresh(a, iss);
		return SKR_ERR_TOKEN_KID;
	}
	if (skr_authorities_refresh_wait(a, iss, wait_ms) != SKR_OK)
		return SKR_ERR_TOKEN_KID;
	return skr_authorities_lookup(a, iss, keys, NULL, NULL);
}

void
skr_authorities_trust(skr_authorities *a, skr_token_trust *t)
{
	t->lookup = trust_lookup;
	t->unknown_kid = trust_unknown_kid;
	t->ctx = a;
}

/* ---- status ---- */

static const char *
source_name(skr_authority_source s)
{
	switch (s) {
	case SKR_AUTHORITY_FILE:
		return "file";
	case SKR_AUTHORITY_URL:
		return "url";
	case SKR_AUTHORITY_OIDC:
		return "oidc";
	}
	return "unknown";
}

static json_t *
time_or_null(int64_t t)
{
	return t != 0 ? json_integer(t) : json_null();
}

json_t *
skr_authorities_status_json(skr_authorities *a)
{
	json_t *arr, *o, *kids;
	struct auth *x;
	size_t i, k;
	int bad = 0;

	if ((arr = json_array()) == NULL)
		return NULL;
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->n && !bad; i++) {
		x = a->auths[i];
		kids = json_array();
		for (k = 0; kids != NULL && x->keys != NULL &&
		    k < skr_jwks_count(x->keys); k++)
			json_array_append_new(kids, json_string(skr_key_kid(
			    skr_jwks_key(x->keys, k))));
		o = json_pack("{s:s, s:s, s:s?, s:I, s:o?, s:o, s:o, s:o, "
		    "s:I, s:s?, s:O?}",
		    "issuer", x->issuer,
		    "source", source_name(x->source),
		    "location", x->location,
		    "keys", (json_int_t)(x->keys ? skr_jwks_count(x->keys) : 0),
		    "kids", kids,
		    "last_refresh", time_or_null(x->last_refresh),
		    "last_attempt", time_or_null(x->last_attempt),
		    "next_refresh", x->next_due == INT64_MIN ?
		    json_integer(0) : json_integer(x->next_due),
		    "failures", (json_int_t)x->failures,
		    "last_error", x->last_error,
		    "warnings", x->warnings);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			bad = 1;
	}
	pthread_mutex_unlock(&a->mu);
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* ---- command line ---- */

int
skr_authority_parse_arg(const char *arg, skr_authority_config *c,
    char **storage)
{
	char *s, *eq, *src;

	memset(c, 0, sizeof(*c));
	*storage = NULL;
	if (arg == NULL || (eq = strchr(arg, '=')) == NULL)
		return SKR_ERR_CONFIG;
	if ((s = strdup(arg)) == NULL)
		return SKR_ERR_NOMEM;
	eq = s + (eq - arg);
	*eq = '\0';
	src = eq + 1;
	c->issuer = s;
	if (!is_url(s, 0) || *src == '\0') {
		free(s);
		memset(c, 0, sizeof(*c));
		return SKR_ERR_CONFIG;
	}
	if (strcmp(src, "oidc") == 0) {
		c->source = SKR_AUTHORITY_OIDC;
	} else if (strncmp(src, "https://", 8) == 0) {
		c->source = SKR_AUTHORITY_URL;
		c->location = src;
	} else if (strncmp(src, "http://", 7) == 0) {
		free(s);
		memset(c, 0, sizeof(*c));
		return SKR_ERR_CONFIG;
	} else {
		c->source = SKR_AUTHORITY_FILE;
		c->location = src;
	}
	*storage = s;
	return SKR_OK;
}
