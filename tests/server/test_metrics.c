/*
 * Metrics: counts after a known sequence, summed over threads; histogram
 * buckets; decision series merged across threads, capped, with label
 * values cut to a safe charset or escaped; the text format read back by a
 * strict parser of the exposition format; and the sd_notify datagram.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "metrics.h"
#include "notify.h"

static int
handler(skr_server *srv, skr_request *req, skr_response *resp)
{
	(void)srv;
	(void)req;
	(void)resp;
	return SKR_OK;
}

static const skr_route routes[] = {
	{ "GET", "/keys", handler, 0, 0 },
	{ "POST", "/keys/{name}/{version?}/release", handler, 0, 0 },
};

/* ---- a strict reader of the text format ---------------------------------- */

#define MAX_SAMPLES 512

struct sample {
	char name[128];
	char labels[512]; /* as written between the braces */
	double value;
};

struct scrape {
	struct sample s[MAX_SAMPLES];
	size_t n;
	char types[64][128]; /* families with a TYPE line, in order */
	size_t ntypes;
	int bad;             /* lines that do not parse */
};

static int
name_ok(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' ||
	    s[0] == ':'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' ||
		    s[i] == ':'))
			return 0;
	return 1;
}

/* The family a sample belongs to: histograms add _bucket/_sum/_count. */
static int
family_known(const struct scrape *sc, const char *name)
{
	static const char *const suffixes[] = { "", "_bucket", "_sum",
	    "_count" };
	size_t nl = strlen(name), fl, sl;

	for (size_t i = 0; i < sc->ntypes; i++) {
		fl = strlen(sc->types[i]);
		for (size_t k = 0; k < 4; k++) {
			sl = strlen(suffixes[k]);
			if (fl + sl == nl && strncmp(name, sc->types[i], fl) ==
			    0 && strcmp(name + fl, suffixes[k]) == 0)
				return 1;
		}
	}
	return 0;
}

/* label="value" pairs with escapes \\ \" \n only. */
static int
labels_ok(const char *p, const char **end)
{
	if (*p != '{') {
		*end = p;
		return 1;
	}
	p++;
	while (*p != '}') {
		const char *k = p;

		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		if (p == k || *p++ != '=' || *p++ != '"')
			return 0;
		while (*p != '"') {
			if (*p == '\0' || *p == '\n')
				return 0;
			if (*p == '\\') {
				p++;
				if (*p != '\\' && *p != '"' && *p != 'n')
					return 0;
			}
			p++;
		}
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return 0;
	}
	*end = p + 1;
	return 1;
}

static void
parse(const char *text, struct scrape *sc)
{
	char line[2048];
	const char *p = text, *nl, *e, *lb;
	char *end;
	size_t len;

	memset(sc, 0, sizeof(*sc));
	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL) { /* the format ends every line */
			sc->bad++;
			break;
		}
		len = (size_t)(nl - p);
		if (len >= sizeof(line)) {
			sc->bad++;
			p = nl + 1;
			continue;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char *sp = strchr(line + 7, ' ');

			if (sp == NULL || sc->ntypes == 64) {
				sc->bad++;
				continue;
			}
			*sp = '\0';
			if (strcmp(sp + 1, "counter") != 0 &&
			    strcmp(sp + 1, "gauge") != 0 &&
			    strcmp(sp + 1, "histogram") != 0)
				sc->bad++;
			if (strlen(line + 7) >= sizeof(sc->types[0])) {
				sc->bad++;
				continue;
			}
			memcpy(sc->types[sc->ntypes++], line + 7,
			    strlen(line + 7) + 1);
			continue;
		}
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (line[0] == '#' || sc->n == MAX_SAMPLES) {
			sc->bad++;
			continue;
		}
		lb = line + strcspn(line, "{ ");
		if (!name_ok(line, (size_t)(lb - line)) || !labels_ok(lb, &e) ||
		    *e != ' ') {
			sc->bad++;
			continue;
		}
		snprintf(sc->s[sc->n].name, sizeof(sc->s[sc->n].name), "%.*s",
		    (int)(lb - line), line);
		if (*lb == '{')
			snprintf(sc->s[sc->n].labels,
			    sizeof(sc->s[sc->n].labels), "%.*s",
			    (int)(e - lb - 2), lb + 1);
		sc->s[sc->n].value = strtod(e + 1, &end);
		if (*end != '\0' || end == e + 1 ||
		    !family_known(sc, sc->s[sc->n].name)) {
			sc->bad++;
			continue;
		}
		sc->n++;
	}
}

/* The value of the sample with exactly these labels, or -1. */
static double
value(const struct scrape *sc, const char *name, const char *labels)
{
	for (size_t i = 0; i < sc->n; i++)
		if (strcmp(sc->s[i].name, name) == 0 &&
		    strcmp(sc->s[i].labels, labels) == 0)
			return sc->s[i].value;
	return -1;
}

static size_t
count_named(const struct scrape *sc, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < sc->n; i++)
		n += strcmp(sc->s[i].name, name) == 0;
	return n;
}

static int
no_duplicates(const struct scrape *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		for (size_t j = i + 1; j < sc->n; j++)
			if (strcmp(sc->s[i].name, sc->s[j].name) == 0 &&
			    strcmp(sc->s[i].labels, sc->s[j].labels) == 0)
				return 0;
	return 1;
}

static void
render(skr_metrics *m, struct scrape *sc)
{
	skr_buf out = SKR_BUF_INIT;

	CHECK_OK(skr_metrics_render(m, &out));
	parse(skr_buf_cstr(&out), sc);
	CHECK(sc->bad == 0);
	if (sc->bad != 0)
		fprintf(stderr, "%s", skr_buf_cstr(&out));
	CHECK(no_duplicates(sc));
	skr_buf_free(&out);
}

/* ---- tests ------------------------------------------------------------------ */

static struct scrape sc; /* large: not on the stack */

static void
test_parser_negative(void)
{
	/* The reader itself must refuse what the format forbids. */
	parse("x 1\n", &sc);
	CHECK(sc.bad == 1); /* no TYPE */
	parse("# TYPE x counter\nx{a=\"b} 1\n", &sc);
	CHECK(sc.bad == 1);
	parse("# TYPE x counter\nx{a=\"\\q\"} 1\n", &sc);
	CHECK(sc.bad == 1);
	parse("# TYPE x counter\n9x 1\n", &sc);
	CHECK(sc.bad == 1);
	parse("# TYPE x counter\nx 1", &sc);
	CHECK(sc.bad == 1);
	parse("# TYPE x counter\nx{a=\"b\"} 1\n", &sc);
	CHECK(sc.bad == 0 && sc.n == 1 && value(&sc, "x", "a=\"b\"") == 1);
}

static void
test_requests(void)
{
	skr_metrics *m = NULL;

	CHECK_ERR(skr_metrics_create(NULL, 1, &m), SKR_ERR_INVAL);
	CHECK(m == NULL);
	CHECK_ERR(skr_metrics_render(NULL, NULL), SKR_ERR_INVAL);
	/* NULL registries count nothing and do not crash. */
	skr_metrics_request(NULL, 0, 200, 1);
	skr_metrics_decision(NULL, 0, "allowed", NULL, NULL, NULL);
	skr_metrics_connections(NULL, 1);
	skr_metrics_reload(NULL, 1, 1);

	CHECK_OK(skr_metrics_create(routes, 2, &m));
	render(m, &sc);
	CHECK(count_named(&sc, "skr_http_requests_total") == 0);
	CHECK(value(&sc, "skr_http_connections_open", "") == 0);

	for (int i = 0; i < 3; i++)
		skr_metrics_request(m, 0, 200, 100);
	skr_metrics_request(m, 1, 403, 2000000);      /* 2 s */
	skr_metrics_request(m, 1, 200, 20000000);     /* 20 s: +Inf only */
	skr_metrics_request(m, SKR_METRICS_ROUTE_UNMATCHED, 404, 10);
	skr_metrics_request(m, 99, 404, 10);          /* out of range */
	skr_metrics_request(m, SKR_METRICS_ROUTE_HEALTHZ, 200, 10);
	skr_metrics_request(m, SKR_METRICS_ROUTE_READYZ, 503, 10);
	skr_metrics_request(m, 0, 418, 10);           /* not in the table */
	skr_metrics_connections(m, 1);
	skr_metrics_connections(m, 1);
	skr_metrics_connections(m, -1);
	skr_metrics_reload(m, 1, 1700000000);
	skr_metrics_reload(m, 0, 1700000005);
	render(m, &sc);
	CHECK(value(&sc, "skr_http_requests_total",
	    "method=\"GET\",route=\"/keys\",status=\"200\"") == 3);
	CHECK(value(&sc, "skr_http_requests_total",
	    "method=\"GET\",route=\"/keys\",status=\"other\"") == 1);
	CHECK(value(&sc, "skr_http_requests_total", "method=\"POST\","
	    "route=\"/keys/{name}/{version?}/release\",status=\"403\"") == 1);
	CHECK(value(&sc, "skr_http_requests_total", "method=\"POST\","
	    "route=\"/keys/{name}/{version?}/release\",status=\"200\"") == 1);
	CHECK(value(&sc, "skr_http_requests_total",
	    "method=\"\",route=\"unmatched\",status=\"404\"") == 2);
	CHECK(value(&sc, "skr_http_requests_total",
	    "method=\"GET\",route=\"/healthz\",status=\"200\"") == 1);
	CHECK(value(&sc, "skr_http_requests_total",
	    "method=\"GET\",route=\"/readyz\",status=\"503\"") == 1);
	/* Only what happened is listed. */
	CHECK(count_named(&sc, "skr_http_requests_total") == 7);

	/* Buckets are cumulative; +Inf equals _count. */
	CHECK(value(&sc, "skr_http_request_duration_seconds_bucket",
	    "method=\"GET\",route=\"/keys\",le=\"0.0005\"") == 4);
	CHECK(value(&sc, "skr_http_request_duration_seconds_bucket",
	    "method=\"GET\",route=\"/keys\",le=\"+Inf\"") == 4);
	CHECK(value(&sc, "skr_http_request_duration_seconds_count",
	    "method=\"GET\",route=\"/keys\"") == 4);
	CHECK(value(&sc, "skr_http_request_duration_seconds_sum",
	    "method=\"GET\",route=\"/keys\"") > 0.000309 &&
	    value(&sc, "skr_http_request_duration_seconds_sum",
	    "method=\"GET\",route=\"/keys\"") < 0.000311);
	CHECK(value(&sc, "skr_http_request_duration_seconds_bucket",
	    "method=\"POST\",route=\"/keys/{name}/{version?}/release\","
	    "le=\"1\"") == 0);
	CHECK(value(&sc, "skr_http_request_duration_seconds_bucket",
	    "method=\"POST\",route=\"/keys/{name}/{version?}/release\","
	    "le=\"2.5\"") == 1);
	CHECK(value(&sc, "skr_http_request_duration_seconds_bucket",
	    "method=\"POST\",route=\"/keys/{name}/{version?}/release\","
	    "le=\"10\"") == 1);
	CHECK(value(&sc, "skr_http_request_duration_seconds_bucket",
	    "method=\"POST\",route=\"/keys/{name}/{version?}/release\","
	    "le=\"+Inf\"") == 2);
	CHECK(value(&sc, "skr_http_request_duration_seconds_sum",
	    "method=\"POST\",route=\"/keys/{name}/{version?}/release\"") ==
	    22);

	CHECK(value(&sc, "skr_http_connections_open", "") == 1);
	CHECK(value(&sc, "skr_config_reloads_total",
	    "result=\"applied\"") == 1);
	CHECK(value(&sc, "skr_config_reloads_total",
	    "result=\"refused\"") == 1);
	CHECK(value(&sc, "skr_config_last_reload_timestamp_seconds", "") ==
	    1700000000);
	CHECK(value(&sc, "skr_process_start_time_seconds", "") > 0);
	skr_metrics_free(m);

	/* A new registry in the same thread starts from zero (the thread's
	 * cached shard belonged to the old one). */
	CHECK_OK(skr_metrics_create(routes, 2, &m));
	skr_metrics_request(m, 0, 200, 1);
	render(m, &sc);
	CHECK(value(&sc, "skr_http_requests_total",
	    "method=\"GET\",route=\"/keys\",status=\"200\"") == 1);
	skr_metrics_free(m);
	skr_metrics_free(NULL);
}

#define THREADS 4
#define PER_THREAD 20000

static void *
hammer(void *arg)
{
	skr_metrics *m = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		skr_metrics_request(m, 1, 200, (uint64_t)i);
		skr_metrics_decision(m, 0, "allowed", NULL,
		    "https://authority.example", "sevsnpvm");
		skr_metrics_decision(m, i & 1, "denied", "SKR.POLICY.DENIED",
		    "https://authority.example", "tdxvm");
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t[THREADS];
	skr_metrics *m = NULL;

	CHECK_OK(skr_metrics_create(routes, 2, &m));
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, hammer, m) == 0);
	/* Scrapes while the counters move must stay well formed. */
	for (int i = 0; i < 20; i++)
		render(m, &sc);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	render(m, &sc);
	CHECK(value(&sc, "skr_http_requests_total", "method=\"POST\","
	    "route=\"/keys/{name}/{version?}/release\",status=\"200\"") ==
	    THREADS * PER_THREAD);
	CHECK(value(&sc, "skr_http_request_duration_seconds_count",
	    "method=\"POST\",route=\"/keys/{name}/{version?}/release\"") ==
	    THREADS * PER_THREAD);
	/* One sample per label set, whatever the number of threads. */
	CHECK(count_named(&sc, "skr_release_decisions_total") == 3);
	CHECK(value(&sc, "skr_release_decisions_total",
	    "operation=\"release\",outcome=\"allowed\",reason=\"\","
	    "authority=\"https://authority.example\","
	    "attestation_type=\"sevsnpvm\"") == THREADS * PER_THREAD);
	CHECK(value(&sc, "skr_release_decisions_total",
	    "operation=\"release\",outcome=\"denied\","
	    "reason=\"SKR.POLICY.DENIED\","
	    "authority=\"https://authority.example\","
	    "attestation_type=\"tdxvm\"") == THREADS * PER_THREAD / 2);
	CHECK(value(&sc, "skr_release_decisions_total",
	    "operation=\"evaluate\",outcome=\"denied\","
	    "reason=\"SKR.POLICY.DENIED\","
	    "authority=\"https://authority.example\","
	    "attestation_type=\"tdxvm\"") == THREADS * PER_THREAD / 2);
	skr_metrics_free(m);
}

static void
test_labels(void)
{
	skr_metrics *m = NULL;
	char iss[64];
	int i;

	CHECK_OK(skr_metrics_create(routes, 2, &m));
	/* An attester's odd type is not copied into a label. */
	skr_metrics_decision(m, 0, "allowed", NULL, "https://a", "sev snp");
	skr_metrics_decision(m, 0, "allowed", NULL, "https://a",
	    "x\"}\nevil 1");
	skr_metrics_decision(m, 0, "allowed", NULL, "https://a",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	/* Other values are escaped. */
	skr_metrics_decision(m, 0, "denied", "SKR.TOKEN.ISSUER",
	    "https://q\"b\\c\nd", NULL);
	render(m, &sc);
	CHECK(value(&sc, "skr_release_decisions_total",
	    "operation=\"release\",outcome=\"allowed\",reason=\"\","
	    "authority=\"https://a\",attestation_type=\"other\"") == 3);
	CHECK(value(&sc, "skr_release_decisions_total",
	    "operation=\"release\",outcome=\"denied\","
	    "reason=\"SKR.TOKEN.ISSUER\","
	    "authority=\"https://q\\\"b\\\\c\\nd\",attestation_type=\"\"") ==
	    1);
	skr_metrics_free(m);

	/* Label sets are capped; the rest is counted under "other". */
	CHECK_OK(skr_metrics_create(routes, 2, &m));
	for (i = 0; i < SKR_METRICS_MAX_SERIES + 5; i++) {
		snprintf(iss, sizeof(iss), "https://issuer-%d", i);
		skr_metrics_decision(m, 0, "allowed", NULL, iss, "sgx");
	}
	skr_metrics_decision(m, 0, "allowed", NULL, "https://issuer-0", "sgx");
	render(m, &sc);
	CHECK(count_named(&sc, "skr_release_decisions_total") ==
	    SKR_METRICS_MAX_SERIES + 1);
	CHECK(value(&sc, "skr_release_decisions_total",
	    "operation=\"release\",outcome=\"allowed\",reason=\"\","
	    "authority=\"https://issuer-0\",attestation_type=\"sgx\"") == 2);
	CHECK(value(&sc, "skr_release_decisions_total",
	    "operation=\"release\",outcome=\"other\",reason=\"other\","
	    "authority=\"other\",attestation_type=\"other\"") == 5);
	skr_metrics_free(m);
}

static void
test_helpers(void)
{
	skr_buf out = SKR_BUF_INIT;

	CHECK_OK(skr_metrics_family(&out, "x_total", "counter", "X."));
	CHECK_OK(skr_metrics_sample(&out, "x_total", 5, "a", "1", "b", NULL,
	    NULL));
	CHECK_OK(skr_metrics_sample(&out, "x_total", 0.25, NULL));
	CHECK_OK(skr_metrics_sample(&out, "x_total", 12345678901.0, "a", "2",
	    NULL));
	CHECK_STR(skr_buf_cstr(&out), "# HELP x_total X.\n# TYPE x_total "
	    "counter\nx_total{a=\"1\",b=\"\"} 5\nx_total 0.25\n"
	    "x_total{a=\"2\"} 12345678901\n");
	skr_buf_free(&out);
}

/* ---- sd_notify -------------------------------------------------------------- */

static int
bind_dgram(const char *name, int abstract)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path + (abstract ? 1 : 0), sizeof(sa.sun_path) - 1,
	    "%s", name);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(name) + 1); /* a path's NUL, or an abstract name's lead */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
test_notify(void)
{
	char path[64], name[32], got[256];
	ssize_t n;
	int fd;

	unsetenv("NOTIFY_SOCKET");
	CHECK(skr_notify("READY=1") == 0);
	setenv("NOTIFY_SOCKET", "", 1);
	CHECK(skr_notify("READY=1") == 0);
	CHECK_ERR(skr_notify(NULL), SKR_ERR_INVAL);
	/* Only absolute paths and '@' names. */
	setenv("NOTIFY_SOCKET", "relative/socket", 1);
	CHECK_ERR(skr_notify("READY=1"), SKR_ERR_CONFIG);
	setenv("NOTIFY_SOCKET", "@", 1);
	CHECK_ERR(skr_notify("READY=1"), SKR_ERR_CONFIG);
	memset(got, 'a', 200);
	got[0] = '/';
	got[200] = '\0';
	setenv("NOTIFY_SOCKET", got, 1);
	CHECK_ERR(skr_notify("READY=1"), SKR_ERR_CONFIG);
	/* Nobody listening. */
	setenv("NOTIFY_SOCKET", "/nonexistent/skr-notify", 1);
	CHECK_ERR(skr_notify("READY=1"), SKR_ERR_IO);

	/* A socket in the file system. */
	snprintf(path, sizeof(path), "/tmp/skr-notify-%d", (int)getpid());
	unlink(path);
	fd = bind_dgram(path, 0);
	CHECK(fd >= 0);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK(skr_notify("READY=1\nSTATUS=serving") == 1);
	n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	CHECK(n == 22);
	got[n > 0 ? n : 0] = '\0';
	CHECK_STR(got, "READY=1\nSTATUS=serving");
	close(fd);
	unlink(path);

	/* An abstract name: '@' stands for the leading NUL. */
	snprintf(name, sizeof(name), "skr-notify-%d", (int)getpid());
	fd = bind_dgram(name, 1);
	CHECK(fd >= 0);
	snprintf(path, sizeof(path), "@%s", name);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK(skr_notify("STOPPING=1") == 1);
	n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	CHECK(n == 10);
	got[n > 0 ? n : 0] = '\0';
	CHECK_STR(got, "STOPPING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

int
main(void)
{
	test_parser_negative();
	test_requests();
	test_threads();
	test_labels();
	test_helpers();
	test_notify();
	return check_done();
}
