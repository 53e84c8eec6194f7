/*
 * skr-bench: the release benchmark (README.md, "Performance").
 *
 *   skr-bench run [--skrd PATH] [--threads N] [--duration S] [--keys N,N..]
 *                 [--algs RS256,ES256] [--protocols http1,h2] [--no-half]
 *                 [--connections N] [--h2-connections N] [--streams N]
 *                 [--json FILE] [--work DIR] [--keep]
 *   skr-bench load --data DIR --issuer URL --count N [--first N]
 *                 [--batch N] [--map-size BYTES]
 *   skr-bench handler [--count N]
 *   skr-bench probe --data DIR [--count N]
 *   skr-bench cluster --etcd-endpoints URL[,URL..] [--skrd PATH]
 *                 [--replicas N,N..] [--keys N] [--duration S]
 *                 [--connections N] [--threads N] [--json FILE]
 *
 * `run` does everything in one process: a test attestation authority in
 * process (server/testauth.h) with a pool of tokens naming different
 * wrapping keys; for each store size a fresh `skrd init` data directory
 * filled by the bulk loader; `skrd serve` started with that authority's key
 * set as a file (start time and memory measured); closed-loop releases over
 * HTTP/1.1 and HTTP/2 for the maximum throughput, an open-loop run at half
 * of it for latency, with RS256 and ES256 response signing; the crypto-only
 * bound on the same cores, measured first and again right before each run,
 * so that each row can say its efficiency: the bound's CPU per release over
 * skrd's (CPU, not wall time, because the load generator and other work
 * share the cores); the audit records per group commit from skrd's
 * metrics; a table on standard output and the same figures as JSON.
 *
 * `cluster` measures replicas over an etcd cluster (docs/availability.md):
 * one store in etcd, loaded once, then for each replica count that many
 * `skrd serve` copies of the data directory, with the load spread over
 * them, closed loop over HTTP/1.1 and HTTP/2.
 *
 * `load` is the documented bulk path on its own: it adds oct keys named
 * bench-NNNNNNN with the benchmark policy to an existing data directory
 * (skrd must not be running on it, since LMDB allows one writer process at
 * a time only through its lock, and the loader holds long transactions).
 *
 * `handler` runs releases through the handler in process, without sockets
 * (bench_handler.c): the figure to profile a release's own code with.
 * `probe` times synced audit commits, one record each, in an existing
 * store (skrd not running on it): what the disk and the kernel charge.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "skr/error.h"
#include "testauth.h"

extern char **environ;

#define NTOKENS 256
#define NWRAP 8
#define ISSUER "https://127.0.0.1/skr-test-attestation"
#define BIG_MAP ((size_t)8 << 30)

/* ---- shared helpers (bench.h) ---------------------------------------- */

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
bench_key_name(uint64_t i, char out[BENCH_NAME_MAX])
{
	snprintf(out, BENCH_NAME_MAX, "bench-%07llu", (unsigned long long)i);
}

void
bench_key_bytes(const char *name, uint8_t out[BENCH_KEY_BYTES])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = BENCH_KEY_BYTES;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, "skr-bench/", 10) != 1 ||
	    EVP_DigestUpdate(md, name, strlen(name)) != 1 ||
	    EVP_DigestFinal_ex(md, out, &n) != 1)
		abort();
	EVP_MD_CTX_free(md);
}

char *
bench_policy(const char *issuer)
{
	json_t *p = json_pack("{s:s,s:[{s:s,s:[{s:s,s:s},{s:s,s:s}]}]}",
	    "version", "1.0.0", "anyOf", "authority", issuer, "allOf",
	    "claim", "x-ms-isolation-tee.x-ms-attestation-type", "equals",
	    "sevsnpvm", "claim", "x-ms-isolation-tee.x-ms-compliance-status",
	    "equals", "azure-compliant-cvm");
	char *s = p ? json_dumps(p, JSON_COMPACT) : NULL;

	json_decref(p);
	return s;
}

/* ---- options ---------------------------------------------------------- */

struct opts {
	const char *skrd;
	int threads;
	double duration;
	double warmup;
	uint64_t keys[8];
	size_t nkeys;
	int connections;
	int h2_connections;
	int streams;
	const char *json;
	const char *work;
	int keep;
	unsigned sample;
	int algs;               /* bit 0: RS256, bit 1: ES256 */
	int no_half;            /* closed loop only: no latency runs */
	int protos;             /* bit 0: HTTP/1.1, bit 1: HTTP/2 */
};

static const char *const alg_names[] = { "RS256", "ES256" };

/* What every run is compared with: the crypto-only bound of its
 * response-signing algorithm, measured once before the first store is
 * served and again right before each run (the machine's speed drifts over
 * minutes: a row's efficiency uses the bound measured next to it). */
struct bound_figs {
	double rps[2];
	double cpu_us[2];
	double load;
	const bench_tokens *tok;
	EVP_PKEY *sign[2];      /* skrd's release-signing keys */
};

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min ||
	    v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_algs(const char *s, struct opts *o)
{
	char buf[64], *tok, *save = NULL;
	int a;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -1;
	o->algs = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (a = 0; a < 2; a++)
			if (strcmp(tok, alg_names[a]) == 0)
				break;
		if (a == 2)
			return -1;
		o->algs |= 1 << a;
	}
	return o->algs != 0 ? 0 : -1;
}

static int
parse_keys(const char *s, struct opts *o)
{
	char buf[256], *tok, *save = NULL;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -1;
	o->nkeys = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (o->nkeys == sizeof(o->keys) / sizeof(o->keys[0]) ||
		    parse_u64(tok, 1, 100000000, &o->keys[o->nkeys]) != 0)
			return -1;
		o->nkeys++;
	}
	return o->nkeys > 0 ? 0 : -1;
}

/* ---- processes -------------------------------------------------------- */

/* snprintf for paths; a path that does not fit aborts the run (the work
 * directory is checked to be short, so this never happens in practice). */
static void pathf(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
pathf(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= n) {
		fprintf(stderr, "skr-bench: path too long: %s\n", out);
		exit(1);
	}
}

/* Run argv with stdout and stderr to files (NULL: /dev/null). */
static pid_t
spawn(char *const argv[], const char *out, const char *err)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null",
	    O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err ? err : "/dev/null",
	    O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc == 0 ? pid : -1;
}

static int
run_wait(char *const argv[], const char *err)
{
	pid_t pid = spawn(argv, NULL, err);
	int st;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* kB of a /proc/PID/status line such as "VmRSS:". */
static long
proc_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	FILE *f;
	long v = -1;

	pathf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0) {
			v = strtol(line + strlen(field), NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* CPU seconds (user + system) a process has used. */
static double
proc_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	pathf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields 14 and 15, counted after the ")" that ends comm. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
	    &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The 1-minute load average: other work on the machine, said with every
 * figure. */
static double
loadavg(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double v = -1;

	if (f != NULL) {
		if (fscanf(f, "%lf", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Ticks of all CPUs, in total and stolen by the hypervisor (the time a
 * virtual CPU was ready but the host ran something else), from the first
 * line of /proc/stat. */
static int
cpu_ticks(unsigned long long *total, unsigned long long *steal)
{
	unsigned long long v[8];
	FILE *f = fopen("/proc/stat", "r");
	int n = 0, i;

	if (f != NULL) {
		n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
		    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
		fclose(f);
	}
	if (n != 8)
		return -1;
	for (*total = 0, i = 0; i < 8; i++)
		*total += v[i];
	*steal = v[7];
	return 0;
}

/* Share of the machine's CPU time stolen since the ticks in t0/s0. */
static double
steal_since(unsigned long long t0, unsigned long long s0)
{
	unsigned long long t, s;

	if (cpu_ticks(&t, &s) != 0 || t <= t0)
		return 0;
	return (double)(s - s0) / (double)(t - t0);
}

/*
 * The machine's own stalls, measured before anything else runs: one thread
 * reads the clock in a tight loop, and a gap of a millisecond or more
 * between two reads is time it did not run -- on a virtual machine mostly
 * the host running another guest, otherwise interrupts and the kernel.
 * Any request in flight during such a gap is late by it, whatever the
 * server does: the floor under the latency figures' tail.
 */
struct stall_figs {
	double per_second;      /* gaps of 1 ms or more */
	double longest_ms;
	double share;           /* of the probe's time lost in them */
	double steal;           /* share of all CPUs' time stolen meanwhile */
};

static void
stall_probe(double seconds, struct stall_figs *f)
{
	unsigned long long t0, s0;
	double start, last, now, lost = 0;
	unsigned long n = 0;

	memset(f, 0, sizeof(*f));
	if (cpu_ticks(&t0, &s0) != 0)
		t0 = s0 = 0;
	start = last = bench_now();
	do {
		now = bench_now();
		if (now - last >= 1e-3) {
			n++;
			lost += now - last;
			if ((now - last) * 1e3 > f->longest_ms)
				f->longest_ms = (now - last) * 1e3;
		}
		last = now;
	} while (now - start < seconds);
	f->per_second = (double)n / (now - start);
	f->share = lost / (now - start);
	f->steal = t0 != 0 ? steal_since(t0, s0) : 0;
}

struct server {
	pid_t pid;
	char url[128];
	double start_seconds;
};

/* skrd serve on 127.0.0.1, a free port; waits for the listening line. */
static int
server_start(const struct opts *o, const char *work, const char *dir,
    const char *alg, size_t map_size, struct server *s)
{
	char conf[PATH_MAX], logf[PATH_MAX], jwks[PATH_MAX], auth[PATH_MAX +
	    64], threads[16], text[256], line[512];
	char *argv[16];
	double t0, deadline;
	int n = 0;

	memset(s, 0, sizeof(*s));
	pathf(conf, sizeof(conf), "%s/skrd-%s.conf", work, alg);
	pathf(logf, sizeof(logf), "%s/skrd.log", dir);
	pathf(jwks, sizeof(jwks), "%s/authority-jwks.json", work);
	pathf(auth, sizeof(auth), "%s=%s", ISSUER, jwks);
	snprintf(threads, sizeof(threads), "%d", o->threads);
	/* One peer (127.0.0.1) makes every request here: the per-peer
	 * release limit is off.  The map is as large as the loader made it. */
	snprintf(text, sizeof(text), "# skr-bench\nrelease_alg = %s\n"
	    "release_limit = 0\nstore_map_size = %zu\nmetrics_auth = none\n",
	    alg, map_size);
	if (write_file(conf, text) != 0)
		return -1;
	argv[n++] = (char *)o->skrd;
	argv[n++] = "serve";
	argv[n++] = "--data";
	argv[n++] = (char *)dir;
	argv[n++] = "--config";
	argv[n++] = conf;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--threads";
	argv[n++] = threads;
	argv[n++] = "--authority";
	argv[n++] = auth;
	argv[n] = NULL;
	t0 = bench_now();
	if ((s->pid = spawn(argv, NULL, logf)) < 0)
		return -1;
	deadline = t0 + 60;
	while (bench_now() < deadline) {
		FILE *f = fopen(logf, "r");
		int st;

		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			static const char tag[] = "skrd: listening on ";

			if (strncmp(line, tag, sizeof(tag) - 1) == 0) {
				s->start_seconds = bench_now() - t0;
				line[strcspn(line, "\r\n")] = '\0';
				pathf(s->url, sizeof(s->url), "%s",
				    line + sizeof(tag) - 1);
				fclose(f);
				return 0;
			}
		}
		if (f != NULL)
			fclose(f);
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			s->pid = 0;
			fprintf(stderr, "skr-bench: skrd exited; see %s\n",
			    logf);
			return -1;
		}
		usleep(1000);
	}
	fprintf(stderr, "skr-bench: skrd did not start; see %s\n", logf);
	return -1;
}

static int
server_stop(struct server *s)
{
	int st = 0;

	if (s->pid <= 0)
		return 0;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, &st, 0);
	s->pid = 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* ---- the run ---------------------------------------------------------- */

static int
tokens_make(skr_testauth *ta, bench_tokens *t)
{
	skr_testauth_claims spec;
	skr_buf tok = SKR_BUF_INIT;
	size_t i;
	int r;

	memset(t, 0, sizeof(*t));
	if ((t->wrap_keys = calloc(NWRAP, sizeof(*t->wrap_keys))) == NULL ||
	    (t->token = calloc(NTOKENS, sizeof(*t->token))) == NULL ||
	    (t->wrap = calloc(NTOKENS, sizeof(*t->wrap))) == NULL)
		return SKR_ERR_NOMEM;
	for (i = 0; i < NWRAP; i++) {
		if ((r = skr_key_generate(SKR_KTY_RSA, 2048,
		    &t->wrap_keys[i])) != SKR_OK)
			return r;
		t->nwrap++;
	}
	for (i = 0; i < NTOKENS; i++) {
		memset(&spec, 0, sizeof(spec));
		spec.tee = SKR_TESTAUTH_TEE_SEVSNP;
		spec.wrapping_key = t->wrap_keys[i % NWRAP];
		skr_buf_reset(&tok);
		if ((r = skr_testauth_mint(ta, &spec, &tok)) != SKR_OK)
			goto out;
		if ((t->token[i] = strdup(skr_buf_cstr(&tok))) == NULL) {
			r = SKR_ERR_NOMEM;
			goto out;
		}
		t->wrap[i] = i % NWRAP;
		t->n++;
	}
	t->authority = skr_key_pkey(skr_testauth_signing_key(ta));
	r = SKR_OK;
out:
	skr_buf_free(&tok);
	return r;
}

static void
tokens_free(bench_tokens *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->token[i]);
	for (i = 0; i < t->nwrap; i++)
		skr_key_free(t->wrap_keys[i]);
	free(t->token);
	free(t->wrap);
	free(t->wrap_keys);
}

static skr_key *
key_file(const char *dir, const char *name, int cert)
{
	char path[PATH_MAX], buf[65536];
	skr_key *k = NULL;
	FILE *f;
	size_t n;

	pathf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (cert)
		skr_key_from_x509_pem(buf, n, &k);
	else
		skr_key_from_pem(buf, n, &k);
	skr_wipe(buf, sizeof(buf));
	return k;
}

#define HIST_MAX 24

/* A histogram of GET /metrics: upper bounds in seconds (the last +Inf),
 * cumulative counts. */
struct hist {
	int n;
	double le[HIST_MAX], cum[HIST_MAX];
};

/* skrd's CPU per release against the crypto-only bound's. */
struct cpu_figs {
	double server_us;       /* skrd CPU per release */
	double client_us;       /* load generator CPU per release */
	double bound_us;        /* the bound's CPU per release, next to it */
	double efficiency;      /* bound_us / server_us */
	double load;            /* 1-minute load average at the start */
	double steal;           /* share of CPU time the host took meanwhile */
	double batch;           /* audit records per group commit */
	/* Where the latency went, from skrd's histograms: the bound each
	 * p99 is within (ms) and the share over 10 ms, inside skrd (a
	 * release's arrival at its handler to its answer) and of the group
	 * commits (write transaction to durable commit). */
	double skrd_p99_le, skrd_over_10ms;
	double commit_p99_le, commit_over_10ms;
};

static double
finite_or(double v, double otherwise)
{
	return isfinite(v) ? v : otherwise;
}

static json_t *
result_json(const char *name, const bench_run_opts *ro,
    const bench_result *res, const struct cpu_figs *c)
{
	json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:f,s:I,s:I,s:I,s:I,s:f,s:f,"
	    "s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:s}",
	    "run", name, "protocol", ro->http2 ? "h2" : "http/1.1",
	    "connections", ro->connections, "in_flight", ro->http2 ?
	    ro->streams : ro->connections, "rate", ro->rate,
	    "releases", (json_int_t)res->ok, "releases_total",
	    (json_int_t)res->total, "errors", (json_int_t)res->errors,
	    "verified", (json_int_t)res->verified, "seconds", res->seconds,
	    "releases_per_s", res->rps, "p50_ms", res->p50, "p90_ms",
	    res->p90, "p99_ms", res->p99, "max_ms", res->max,
	    "server_cpu_us_per_release", c->server_us,
	    "client_cpu_us_per_release", c->client_us,
	    "crypto_cpu_us_per_release", c->bound_us,
	    "efficiency", c->efficiency, "loadavg_1m", c->load,
	    "steal_share", c->steal, "records_per_group_commit", c->batch,
	    "first_error", res->first_error);

	/* Where the latency went (-1: a p99 beyond the last bound). */
	if (o != NULL && json_object_set_new(o, "latency", json_pack(
	    "{s:f,s:f,s:f,s:f,s:f,s:f}", "over_10ms_share", res->over_10ms,
	    "load_generator_own_p99_ms", res->own_p99,
	    "skrd_p99_within_ms", finite_or(c->skrd_p99_le * 1e3, -1),
	    "skrd_over_10ms_share", c->skrd_over_10ms,
	    "group_commit_p99_within_ms", finite_or(c->commit_p99_le * 1e3,
	    -1), "group_commit_over_10ms_share", c->commit_over_10ms)) != 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* A bucket bound in ms as text: "-" for none, "inf" past the last. */
static const char *
bound_text(double seconds, char *buf, size_t len)
{
	if (seconds == 0)
		return "-";
	if (isinf(seconds))
		return "inf";
	snprintf(buf, len, "%g", seconds * 1e3);
	return buf;
}

static void
print_header(void)
{
	printf("%-9s %-6s %-14s %7s %6s %6s %7s %7s %6s %5s %5s %6s %4s "
	    "%6s\n", "keys", "sign", "run", "rel/s", "p50ms", "p99ms",
	    "skrd_us", "crypto", "effic", "batch", "load", "steal%", "err",
	    "check");
}

static void
print_row(const char *store, const char *alg, const char *name,
    const bench_result *r, const struct cpu_figs *c)
{
	printf("%-9s %-6s %-14s %7.0f %6.2f %6.2f %7.0f %7.0f %6.3f %5.1f "
	    "%5.1f %6.1f %4llu %6llu\n", store, alg, name, r->rps, r->p50,
	    r->p99, c->server_us, c->bound_us, c->efficiency, c->batch,
	    c->load, c->steal * 100, (unsigned long long)r->errors,
	    (unsigned long long)r->verified);
	{
		char a[32], b[32];

		printf("%-9s   latency: %.1f%% over 10 ms; skrd's handler p99 "
		    "<= %s ms (%.1f%% over 10 ms); group commit p99 <= %s ms "
		    "(%.1f%% over 10 ms); load generator's own p99 %.1f ms\n",
		    "", r->over_10ms * 100, bound_text(c->skrd_p99_le, a,
		    sizeof(a)), c->skrd_over_10ms * 100,
		    bound_text(c->commit_p99_le, b, sizeof(b)),
		    c->commit_over_10ms * 100, r->own_p99);
	}
	fflush(stdout);
}

static double metric(const char *url, const char *ca, const char *name);
static void scrape(const char *url, const char *ca, skr_buf *out);
static double sample_value(const char *text, const char *name);
static void hist_read(const char *text, const char *prefix, struct hist *h);
static void hist_delta(const struct hist *h0, const struct hist *h1,
    double bound, double *over, double *p99_le);

static const char release_hist[] =
    "skr_http_request_duration_seconds_bucket{method=\"POST\","
    "route=\"/keys/{name}/{version?}/release\",le=\"",
    commit_hist[] = "skr_audit_group_commit_duration_seconds_bucket{le=\"";

/* The counters a run compares before and after. */
struct server_counts {
	double commits, records;
	struct hist release, commit;
};

static void
server_counts(const struct server *s, const char *ca, struct server_counts *k)
{
	skr_buf b = SKR_BUF_INIT;
	const char *text;

	scrape(s->url, ca, &b);
	text = b.len > 0 ? skr_buf_cstr(&b) : "";
	k->commits = sample_value(text, "skr_audit_group_commits_total");
	k->records = sample_value(text,
	    "skr_audit_group_commit_records_total");
	hist_read(text, release_hist, &k->release);
	hist_read(text, commit_hist, &k->commit);
	skr_buf_free(&b);
}

/* One measured run, after the crypto-only bound of its algorithm (a);
 * its figures appended to runs. */
static int
measure(const struct opts *o, const struct server *s, const char *dir,
    const struct bound_figs *bound, int a, EVP_PKEY *sign_pub,
    uint64_t nkeys, const char *store_label, const char *name, int http2,
    double rate, json_t *runs, bench_result *res, double *efficiency)
{
	bench_run_opts ro;
	struct cpu_figs c;
	struct server_counts k0, k1;
	char ca[PATH_MAX];
	double scpu, ccpu, rps;
	unsigned long long t0 = 0, s0 = 0;
	int r;

	pathf(ca, sizeof(ca), "%s/ca.pem", dir);
	memset(&ro, 0, sizeof(ro));
	memset(&c, 0, sizeof(c));
	ro.url = s->url;
	ro.ca_file = ca;
	ro.sign_pub = sign_pub;
	ro.http2 = http2;
	ro.connections = http2 ? o->h2_connections : o->connections;
	ro.streams = o->streams;
	ro.duration = o->duration;
	ro.warmup = o->warmup;
	ro.rate = rate;
	ro.nkeys = nkeys;
	ro.sample = o->sample;
	ro.tokens = bound->tok;
	if ((r = bench_bound(bound->tok, bound->sign[a], a == 0 ?
	    SKR_ALG_RS256 : SKR_ALG_ES256, o->threads, o->duration / 4 > 1 ?
	    o->duration / 4 : 1, &rps, &c.bound_us)) != SKR_OK) {
		fprintf(stderr, "skr-bench: bound: %s\n", skr_strerror(r));
		return r;
	}
	c.load = loadavg();
	server_counts(s, ca, &k0);
	scpu = proc_cpu(s->pid);
	ccpu = self_cpu();
	if (cpu_ticks(&t0, &s0) != 0)
		t0 = 0;
	if ((r = bench_release_run(&ro, res)) != SKR_OK) {
		fprintf(stderr, "skr-bench: %s: %s\n", name, skr_strerror(r));
		return r;
	}
	/* CPU over warm-up and measurement, per release answered in that
	 * time (the load generator's includes checking the samples). */
	scpu = proc_cpu(s->pid) - scpu;
	ccpu = self_cpu() - ccpu;
	c.steal = t0 != 0 ? steal_since(t0, s0) : 0;
	server_counts(s, ca, &k1);
	if (k1.commits > k0.commits)
		c.batch = (k1.records - k0.records) / (k1.commits - k0.commits);
	hist_delta(&k0.release, &k1.release, 0.01, &c.skrd_over_10ms,
	    &c.skrd_p99_le);
	hist_delta(&k0.commit, &k1.commit, 0.01, &c.commit_over_10ms,
	    &c.commit_p99_le);
	if (res->total > 0) {
		c.server_us = scpu * 1e6 / (double)res->total;
		c.client_us = ccpu * 1e6 / (double)res->total;
	}
	c.efficiency = c.server_us > 0 ? c.bound_us / c.server_us : 0;
	if (efficiency != NULL)
		*efficiency = c.efficiency;
	json_array_append_new(runs, result_json(name, &ro, res, &c));
	print_row(store_label, alg_names[a], name, res, &c);
	if (res->errors > 0)
		fprintf(stderr, "skr-bench: %s: %llu errors, first: %s\n",
		    name, (unsigned long long)res->errors, res->first_error);
	return SKR_OK;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb; (void)flag; (void)f;
	return remove(path);
}

struct store_figs {
	uint64_t keys;
	char dir[PATH_MAX];
	double load_seconds;
	double store_mb;
	double bytes_per_key;   /* store file over keys */
	double rps_h1_rs;       /* for the scaling comparison */
	double rps_h2_rs;
	double start_seconds;
	double rss_mb;          /* peak, mapped store pages included */
	double anon_mb;         /* heap and stacks after the runs, at most */
	double commit_p50, commit_p99, commit_cpu_us;
	double efficiency[2][2]; /* [alg][http2], closed loop */
	json_t *json;           /* borrowed from the stores array */
};

/* A fresh store of nkeys keys: init, bulk load, the commit probe. */
static int
store_prepare(const struct opts *o, const char *work, uint64_t nkeys,
    json_t *stores, struct store_figs *fig)
{
	char errf[PATH_MAX], path[PATH_MAX];
	char *argv[8];
	struct stat sb;
	size_t map = nkeys > 100000 ? BIG_MAP : 0;
	int r;

	memset(fig, 0, sizeof(*fig));
	fig->keys = nkeys;
	pathf(fig->dir, sizeof(fig->dir), "%s/store-%llu", work,
	    (unsigned long long)nkeys);
	pathf(errf, sizeof(errf), "%s/init-%llu.log", work,
	    (unsigned long long)nkeys);
	argv[0] = (char *)o->skrd;
	argv[1] = "init";
	argv[2] = "--data";
	argv[3] = fig->dir;
	argv[4] = NULL;
	/* The first admin token goes to /dev/null: nothing here needs it. */
	if (run_wait(argv, errf) != 0) {
		fprintf(stderr, "skr-bench: skrd init failed; see %s\n", errf);
		return SKR_ERR_INTERNAL;
	}
	fprintf(stderr, "skr-bench: loading %llu keys...\n",
	    (unsigned long long)nkeys);
	if ((r = bench_load(fig->dir, ISSUER, 0, nkeys, 10000, map,
	    &fig->load_seconds)) != SKR_OK) {
		fprintf(stderr, "skr-bench: load: %s\n", skr_strerror(r));
		return r;
	}
	pathf(path, sizeof(path), "%s/skr.mdb", fig->dir);
	if (stat(path, &sb) == 0) {
		fig->store_mb = (double)sb.st_blocks * 512 / 1048576.0;
		fig->bytes_per_key = (double)sb.st_blocks * 512 /
		    (double)nkeys;
	}
	/* What the durable audit write of one release costs on this disk. */
	if ((r = bench_commit_probe(fig->dir, map, 200, &fig->commit_p50,
	    &fig->commit_p99, &fig->commit_cpu_us)) != SKR_OK) {
		fprintf(stderr, "skr-bench: commit probe: %s\n",
		    skr_strerror(r));
		return r;
	}
	fig->json = json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:[]}", "keys",
	    (json_int_t)nkeys, "load_seconds", fig->load_seconds, "store_mb",
	    fig->store_mb, "store_bytes_per_key", fig->bytes_per_key,
	    "audit_commit_ms_p50", fig->commit_p50, "audit_commit_ms_p99",
	    fig->commit_p99, "audit_commit_cpu_us", fig->commit_cpu_us,
	    "servers");
	if (fig->json == NULL)
		return SKR_ERR_NOMEM;
	json_array_append_new(stores, fig->json);
	return SKR_OK;
}

/* Serve a prepared store with each algorithm and measure: closed loop
 * over HTTP/1.1 and HTTP/2, and with half, latency at half of each
 * maximum. */
static int
store_serve(const struct opts *o, const char *work,
    const struct bound_figs *bound, int half, struct store_figs *fig,
    double rps_max[2][2], double p99_half[2][2])
{
	char label[32];
	json_t *servers = json_object_get(fig->json, "servers");
	size_t a, map = fig->keys > 100000 ? BIG_MAP : 0;
	int r = SKR_OK;

	snprintf(label, sizeof(label), "%llu", (unsigned long long)fig->keys);
	for (a = 0; a < 2; a++) {
		struct server s;
		bench_result res;
		skr_key *pub;
		json_t *runs, *js;
		long rss0, rss, hwm, anon, file;
		int http2;

		if (!(o->algs & (1 << a)))
			continue;
		runs = json_array();
		pub = key_file(fig->dir, a == 0 ? "release-signing.pem" :
		    "release-signing-ec.pem", 1);
		if (pub == NULL || runs == NULL || server_start(o, work,
		    fig->dir, alg_names[a], map, &s) != 0) {
			skr_key_free(pub);
			json_decref(runs);
			return SKR_ERR_INTERNAL;
		}
		rss0 = proc_status_kb(s.pid, "VmRSS:");
		for (http2 = 0; http2 < 2; http2++) {
			if (!(o->protos & (1 << http2)))
				continue;
			r = measure(o, &s, fig->dir, bound, (int)a,
			    skr_key_pkey(pub), fig->keys, label,
			    http2 ? "h2 max" : "http/1.1 max", http2, 0, runs,
			    &res, &fig->efficiency[a][http2]);
			if (r != SKR_OK)
				break;
			if (half)
				rps_max[a][http2] = res.rps;
			if (a == 0 && http2 == 0)
				fig->rps_h1_rs = res.rps;
			if (a == 0 && http2 == 1)
				fig->rps_h2_rs = res.rps;
			if (!half || o->no_half)
				continue;
			/* Latency at half of the maximum throughput. */
			r = measure(o, &s, fig->dir, bound, (int)a,
			    skr_key_pkey(pub), fig->keys, label,
			    http2 ? "h2 half" : "http/1.1 half", http2,
			    res.rps / 2, runs, &res, NULL);
			if (r != SKR_OK)
				break;
			p99_half[a][http2] = res.p99;
		}
		rss = proc_status_kb(s.pid, "VmRSS:");
		hwm = proc_status_kb(s.pid, "VmHWM:");
		/* Heap and stacks versus pages of the mapped store file
		 * (shared page cache the kernel can drop at will). */
		anon = proc_status_kb(s.pid, "RssAnon:");
		file = proc_status_kb(s.pid, "RssFile:");
		if (fig->start_seconds == 0)
			fig->start_seconds = s.start_seconds;
		if ((double)hwm / 1024.0 > fig->rss_mb)
			fig->rss_mb = (double)hwm / 1024.0;
		if ((double)anon / 1024.0 > fig->anon_mb)
			fig->anon_mb = (double)anon / 1024.0;
		js = json_pack("{s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:o}",
		    "release_alg", alg_names[a], "start_seconds",
		    s.start_seconds, "rss_mb_started", (double)rss0 / 1024.0,
		    "rss_mb_after", (double)rss / 1024.0, "rss_mb_peak",
		    (double)hwm / 1024.0, "rss_anon_mb_after",
		    (double)anon / 1024.0, "rss_file_mb_after",
		    (double)file / 1024.0, "runs", runs);
		json_array_append_new(servers, js);
		if (server_stop(&s) != 0)
			fprintf(stderr, "skr-bench: skrd did not stop "
			    "cleanly\n");
		skr_key_free(pub);
		if (r != SKR_OK)
			return r;
	}
	return SKR_OK;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: skr-bench run [--skrd PATH] [--threads N] [--duration S]\n"
	    "           [--warmup S] [--keys N,N...] [--algs RS256,ES256]\n"
	    "           [--protocols http1,h2] [--no-half] [--connections N]\n"
	    "           [--h2-connections N] [--streams N] [--sample N]\n"
	    "           [--json FILE] [--work DIR] [--keep]\n"
	    "       skr-bench load --data DIR --issuer URL --count N "
	    "[--first N]\n"
	    "           [--batch N] [--map-size BYTES]\n"
	    "       skr-bench handler [--count N]\n"
	    "       skr-bench probe --data DIR [--count N]\n"
	    "       skr-bench cluster --etcd-endpoints URL[,URL...] "
	    "[--skrd PATH]\n"
	    "           [--replicas N,N...] [--keys N] [--duration S] "
	    "[--warmup S]\n"
	    "           [--connections N] [--threads N] [--json FILE]\n");
}

static const char *
cpu_model(char *buf, size_t n)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, n, "unknown");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "model name", 10) == 0) {
			char *p = strchr(line, ':');

			if (p != NULL) {
				p[strcspn(p, "\n")] = '\0';
				snprintf(buf, n, "%s", p + 2);
			}
			break;
		}
	if (f != NULL)
		fclose(f);
	return buf;
}

static int
verdict(json_t *targets, const char *name, int met, double value,
    double goal, const char *unit)
{
	json_object_set_new(targets, name, json_pack("{s:f,s:f,s:s,s:b}",
	    "value", value, "goal", goal, "unit", unit, "met", met));
	printf("  %-44s %10.3f %-6s goal %s %-8.3f %s\n", name, value, unit,
	    strstr(name, "efficiency") ? ">=" : "<=", goal,
	    met ? "met" : "MISSED");
	return met;
}

static int
cmd_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "skrd", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "keys", required_argument, NULL, 'k' },
		{ "algs", required_argument, NULL, 'a' },
		{ "protocols", required_argument, NULL, 'P' },
		{ "no-half", no_argument, NULL, 'H' },
		{ "connections", required_argument, NULL, 'c' },
		{ "h2-connections", required_argument, NULL, 'C' },
		{ "streams", required_argument, NULL, 'S' },
		{ "sample", required_argument, NULL, 'm' },
		{ "json", required_argument, NULL, 'j' },
		{ "work", required_argument, NULL, 'W' },
		{ "keep", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	struct store_figs figs[8];
	skr_testauth *ta = NULL;
	bench_tokens tok;
	skr_key *sk_rs = NULL, *sk_es = NULL;
	json_t *out = NULL, *stores, *jwks = NULL, *targets;
	char work[PATH_MAX], path[PATH_MAX], model[128], *text = NULL;
	double rps_max[2][2] = { { 0 } }, p99_half[2][2] = { { 0 } };
	struct bound_figs bound;
	struct stall_figs stalls;
	double t_total = bench_now();
	uint64_t v;
	size_t i;
	int c, r = SKR_ERR_INTERNAL, met = 1, status = 1;

	memset(&tok, 0, sizeof(tok));
	memset(&o, 0, sizeof(o));
	memset(&bound, 0, sizeof(bound));
	o.algs = 3;
	o.protos = 3;
	o.skrd = "build-bench/server/skrd";
	o.threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	o.duration = 10;
	o.warmup = 3;
	o.keys[0] = 1000;
	o.keys[1] = 1000000;
	o.nkeys = 2;
	o.connections = 16;
	o.h2_connections = 8;
	o.streams = 32;
	o.sample = 100;
	o.json = "bench-results.json";
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 's': o.skrd = optarg; break;
		case 't':
			if (parse_u64(optarg, 1, 64, &v) != 0)
				goto bad;
			o.threads = (int)v;
			break;
		case 'd':
			if (parse_u64(optarg, 1, 3600, &v) != 0)
				goto bad;
			o.duration = (double)v;
			break;
		case 'w':
			if (parse_u64(optarg, 0, 60, &v) != 0)
				goto bad;
			o.warmup = (double)v;
			break;
		case 'k':
			if (parse_keys(optarg, &o) != 0)
				goto bad;
			break;
		case 'a':
			if (parse_algs(optarg, &o) != 0)
				goto bad;
			break;
		case 'P':
			o.protos = (strstr(optarg, "http1") ? 1 : 0) |
			    (strstr(optarg, "h2") ? 2 : 0);
			if (o.protos == 0)
				goto bad;
			break;
		case 'H': o.no_half = 1; break;
		case 'c':
			if (parse_u64(optarg, 1, 1024, &v) != 0)
				goto bad;
			o.connections = (int)v;
			break;
		case 'C':
			if (parse_u64(optarg, 1, 256, &v) != 0)
				goto bad;
			o.h2_connections = (int)v;
			break;
		case 'S':
			if (parse_u64(optarg, 1, 4096, &v) != 0)
				goto bad;
			o.streams = (int)v;
			break;
		case 'm':
			if (parse_u64(optarg, 1, 1000000, &v) != 0)
				goto bad;
			o.sample = (unsigned)v;
			break;
		case 'j': o.json = optarg; break;
		case 'W': o.work = optarg; break;
		case 'K': o.keep = 1; break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	if (access(o.skrd, X_OK) != 0) {
		fprintf(stderr, "skr-bench: %s is not executable (--skrd)\n",
		    o.skrd);
		return 2;
	}
	if (o.work != NULL) {
		if (snprintf(work, sizeof(work), "%s", o.work) >=
		    (int)sizeof(work) || (mkdir(work, 0700) != 0 &&
		    errno != EEXIST))
			goto bad;
	} else {
		snprintf(work, sizeof(work), "/var/tmp/skr-bench-XXXXXX");
		if (mkdtemp(work) == NULL) {
			perror("skr-bench: mkdtemp");
			return 1;
		}
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);

	/* The authority and its token pool. */
	fprintf(stderr, "skr-bench: work directory %s; minting %d tokens\n",
	    work, NTOKENS);
	if ((r = skr_testauth_new(ISSUER, "RS256", &ta)) != SKR_OK ||
	    (r = tokens_make(ta, &tok)) != SKR_OK)
		goto out;
	pathf(path, sizeof(path), "%s/authority-jwks.json", work);
	if ((jwks = skr_testauth_jwks_json(ta, SKR_TESTAUTH_JWKS_JWK)) ==
	    NULL || json_dump_file(jwks, path, JSON_COMPACT) != 0) {
		r = SKR_ERR_INTERNAL;
		goto out;
	}

	out = json_pack("{s:s,s:{s:s,s:i},s:i,s:f,s:f,s:i,s:i,s:i,s:i,s:[]}",
	    "benchmark", "skr-bench run", "machine", "cpu",
	    cpu_model(model, sizeof(model)), "cpus",
	    (int)sysconf(_SC_NPROCESSORS_ONLN), "server_threads", o.threads,
	    "duration_s", o.duration, "warmup_s", o.warmup,
	    "http1_connections", o.connections, "h2_connections",
	    o.h2_connections, "h2_streams", o.streams, "sample_one_in",
	    (int)o.sample, "stores");
	stores = json_object_get(out, "stores");

	/* The first store, then the crypto-only bound with its signing keys,
	 * on the same cores before skrd runs: every row is compared with it. */
	if ((r = store_prepare(&o, work, o.keys[0], stores, &figs[0])) !=
	    SKR_OK)
		goto out;
	sk_rs = key_file(figs[0].dir, "release-signing-key.pem", 0);
	sk_es = key_file(figs[0].dir, "release-signing-ec-key.pem", 0);
	if (sk_rs == NULL || sk_es == NULL) {
		r = SKR_ERR_INTERNAL;
		goto out;
	}
	stall_probe(3, &stalls);
	printf("machine stalls, idle: %.1f a second of 1 ms or more, longest "
	    "%.1f ms, %.1f%% of the time; %.1f%% of CPU time stolen by the "
	    "host\n", stalls.per_second, stalls.longest_ms, stalls.share * 100,
	    stalls.steal * 100);
	json_object_set_new(json_object_get(out, "machine"), "idle_stalls",
	    json_pack("{s:f,s:f,s:f,s:f}", "per_second", stalls.per_second,
	    "longest_ms", stalls.longest_ms, "share", stalls.share,
	    "steal_share", stalls.steal));
	bound.tok = &tok;
	bound.sign[0] = skr_key_pkey(sk_rs);
	bound.sign[1] = skr_key_pkey(sk_es);
	bound.load = loadavg();
	if ((r = bench_bound(&tok, skr_key_pkey(sk_rs), SKR_ALG_RS256,
	    o.threads, o.duration / 2, &bound.rps[0], &bound.cpu_us[0])) !=
	    SKR_OK || (r = bench_bound(&tok, skr_key_pkey(sk_es),
	    SKR_ALG_ES256, o.threads, o.duration / 2, &bound.rps[1],
	    &bound.cpu_us[1])) != SKR_OK)
		goto out;
	printf("crypto-only bound, %d threads (load %.1f): RS256 %.0f rel/s, "
	    "%.0f us CPU per release; ES256 %.0f rel/s, %.0f us\n\n",
	    o.threads, bound.load, bound.rps[0], bound.cpu_us[0],
	    bound.rps[1], bound.cpu_us[1]);
	json_object_set_new(out, "crypto_bound", json_pack(
	    "{s:{s:f,s:f},s:{s:f,s:f},s:f}", "RS256", "releases_per_s",
	    bound.rps[0], "cpu_us_per_release", bound.cpu_us[0], "ES256",
	    "releases_per_s", bound.rps[1], "cpu_us_per_release",
	    bound.cpu_us[1], "loadavg_1m", bound.load));
	print_header();
	for (i = 0; i < o.nkeys; i++)
		if ((i > 0 && (r = store_prepare(&o, work, o.keys[i], stores,
		    &figs[i])) != SKR_OK) || (r = store_serve(&o, work,
		    &bound, i == 0, &figs[i], rps_max, p99_half)) != SKR_OK)
			goto out;

	printf("\nstores:\n");
	for (i = 0; i < o.nkeys; i++)
		printf("  %8llu keys: loaded in %.1f s (%.0f MB, %.0f bytes per "
		    "key), one synced audit commit %.1f ms (p99 %.1f) and %.0f "
		    "us CPU, skrd start %.3f s, anonymous memory %.1f MB, peak "
		    "RSS %.1f MB (mapped store pages included)\n",
		    (unsigned long long)figs[i].keys, figs[i].load_seconds,
		    figs[i].store_mb, figs[i].bytes_per_key,
		    figs[i].commit_p50, figs[i].commit_p99,
		    figs[i].commit_cpu_us,
		    figs[i].start_seconds, figs[i].anon_mb, figs[i].rss_mb);
	printf("\ntargets:\n");
	targets = json_object();
	json_object_set_new(out, "targets", targets);
	{
		static const char *proto[] = { "http1", "h2" };
		static const double goal[2] = { 0.6, 0.4 };
		char name[96];
		int a, h;

		for (i = 0; i < o.nkeys; i++)
			for (a = 0; a < 2; a++)
				for (h = 0; h < 2; h++) {
					double e = figs[i].efficiency[a][h];

					if (!(o.algs & (1 << a)) ||
					    !(o.protos & (1 << h)))
						continue;
					snprintf(name, sizeof(name),
					    "efficiency %s %s %llu keys",
					    alg_names[a], proto[h],
					    (unsigned long long)figs[i].keys);
					met &= verdict(targets, name,
					    e >= goal[a], e, goal[a], "");
				}
		/* Rows that were not run are no verdict. */
		for (a = 0; a < 2 && !o.no_half; a++)
			for (h = 0; h < 2; h++) {
				if (!(o.algs & (1 << a)) ||
				    !(o.protos & (1 << h)))
					continue;
				snprintf(name, sizeof(name),
				    "p99 at half max %s %s", alg_names[a],
				    proto[h]);
				met &= verdict(targets, name,
				    p99_half[a][h] <= 10, p99_half[a][h], 10,
				    "ms");
			}
		/* The latency goal holds on a disk whose synced write takes
		 * at most 1 ms: say what this one and the machine did. */
		if (!o.no_half)
			printf("  (the p99 goal assumes synced writes of at "
			    "most 1 ms: here %.1f ms median, %.1f ms p99; and "
			    "the idle machine stalled up to %.1f ms)\n",
			    figs[0].commit_p50, figs[0].commit_p99,
			    stalls.longest_ms);
		for (i = 1; i < o.nkeys; i++) {
			snprintf(name, sizeof(name), "start with %llu keys",
			    (unsigned long long)figs[i].keys);
			met &= verdict(targets, name,
			    figs[i].start_seconds < 1,
			    figs[i].start_seconds, 1, "s");
			snprintf(name, sizeof(name), "anonymous memory with "
			    "%llu keys", (unsigned long long)figs[i].keys);
			met &= verdict(targets, name, figs[i].anon_mb < 200,
			    figs[i].anon_mb, 200, "MB");
		}
	}
	json_object_set_new(out, "all_targets_met", json_boolean(met));
	json_object_set_new(out, "total_seconds",
	    json_real(bench_now() - t_total));
	if ((text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
	    NULL || write_file(o.json, text) != 0) {
		fprintf(stderr, "skr-bench: cannot write %s\n", o.json);
		r = SKR_ERR_INTERNAL;
		goto out;
	}
	printf("\nfigures written to %s\n", o.json);
	r = SKR_OK;
	/* Errors are failures: every release must have succeeded. */
	status = 0;
	json_t *st;
	json_array_foreach(stores, i, st) {
		size_t j, k;
		json_t *sv, *run;

		json_array_foreach(json_object_get(st, "servers"), j, sv)
			json_array_foreach(json_object_get(sv, "runs"), k, run)
				if (json_integer_value(json_object_get(run,
				    "errors")) != 0)
					status = 1;
	}
out:
	if (r != SKR_OK)
		fprintf(stderr, "skr-bench: %s\n", skr_strerror(r));
	if (!o.keep && o.work == NULL)
		nftw(work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "skr-bench: kept %s\n", work);
	free(text);
	json_decref(out);
	json_decref(jwks);
	skr_key_free(sk_rs);
	skr_key_free(sk_es);
	tokens_free(&tok);
	skr_testauth_free(ta);
	bench_client_cleanup();
	curl_global_cleanup();
	return r == SKR_OK ? status : 1;
bad:
	usage(stderr);
	return 2;
}

static int
cmd_load(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "issuer", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "first", required_argument, NULL, 'f' },
		{ "batch", required_argument, NULL, 'b' },
		{ "map-size", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *issuer = NULL;
	uint64_t count = 0, first = 0, batch = 10000, map = 0;
	double secs = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'i': issuer = optarg; break;
		case 'n':
			if (parse_u64(optarg, 1, 100000000, &count) != 0)
				goto bad;
			break;
		case 'f':
			if (parse_u64(optarg, 0, 100000000, &first) != 0)
				goto bad;
			break;
		case 'b':
			if (parse_u64(optarg, 1, 1000000, &batch) != 0)
				goto bad;
			break;
		case 'm':
			if (parse_u64(optarg, 1 << 20, (uint64_t)1 << 40,
			    &map) != 0)
				goto bad;
			break;
		default: goto bad;
		}
	}
	if (dir == NULL || issuer == NULL || count == 0 || optind != argc)
		goto bad;
	if ((r = bench_load(dir, issuer, first, count, (size_t)batch,
	    (size_t)map, &secs)) != SKR_OK) {
		fprintf(stderr, "skr-bench: load: %s\n", skr_strerror(r));
		return 1;
	}
	printf("loaded %llu keys in %.2f s (%.0f keys/s)\n",
	    (unsigned long long)count, secs, (double)count / secs);
	return 0;
bad:
	usage(stderr);
	return 2;
}

static int
cmd_probe(int argc, char **argv)
{
	uint64_t n = 500;
	double p50, p99, cpu;
	int r;

	if (argc == 5 && strcmp(argv[3], "--count") == 0) {
		if (parse_u64(argv[4], 1, 1000000, &n) != 0)
			goto bad;
	} else if (argc != 3)
		goto bad;
	if (strcmp(argv[1], "--data") != 0)
		goto bad;
	if ((r = bench_commit_probe(argv[2], 0, (int)n, &p50, &p99, &cpu)) !=
	    SKR_OK) {
		fprintf(stderr, "skr-bench: probe: %s\n", skr_strerror(r));
		return 1;
	}
	printf("%llu synced audit commits: %.2f ms median, %.2f ms p99, %.0f "
	    "us CPU each\n", (unsigned long long)n, p50, p99, cpu);
	return 0;
bad:
	usage(stderr);
	return 2;
}

static int
cmd_handler(int argc, char **argv)
{
	uint64_t n = 2000;

	if (argc == 3 && strcmp(argv[1], "--count") == 0) {
		if (parse_u64(argv[2], 1, 10000000, &n) != 0)
			goto bad;
	} else if (argc != 1)
		goto bad;
	return bench_handler((int)n) == SKR_OK ? 0 : 1;
bad:
	usage(stderr);
	return 2;
}

/* ---- cluster ---------------------------------------------------------- */

static size_t
on_metrics(char *p, size_t size, size_t n, void *arg)
{
	return skr_buf_append(arg, p, size * n) == SKR_OK ? size * n : 0;
}

/* A server's GET /metrics (metrics_auth = none) into out, as a C string
 * (empty when it did not answer). */
static void
scrape(const char *url, const char *ca, skr_buf *out)
{
	char u[256];
	CURL *h;

	snprintf(u, sizeof(u), "%s/metrics", url);
	if ((h = curl_easy_init()) != NULL) {
		curl_easy_setopt(h, CURLOPT_URL, u);
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_metrics);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
		if (curl_easy_perform(h) != CURLE_OK)
			out->len = 0;
		curl_easy_cleanup(h);
	}
	skr_buf_cstr(out);
}

/* Where the sample name (with its labels, exactly) starts a line of
 * text, its value; 0 if none does. */
static double
sample_value(const char *text, const char *name)
{
	const char *p;
	size_t n = strlen(name);

	for (p = text; (p = strstr(p, name)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return 0;
}

/* A counter of a server's GET /metrics. */
static double
metric(const char *url, const char *ca, const char *name)
{
	skr_buf b = SKR_BUF_INIT;
	double v = 0;

	scrape(url, ca, &b);
	if (b.len > 0)
		v = sample_value(skr_buf_cstr(&b), name);
	skr_buf_free(&b);
	return v;
}

/* A histogram's cumulative buckets from a scrape: the lines that start
 * with prefix, which ends with `le="`. */
static void
hist_read(const char *text, const char *prefix, struct hist *h)
{
	const char *p;
	char *end;
	size_t n = strlen(prefix);

	memset(h, 0, sizeof(*h));
	for (p = text; (p = strstr(p, prefix)) != NULL &&
	    h->n < HIST_MAX; p += n) {
		if (p != text && p[-1] != '\n')
			continue;
		h->le[h->n] = strtod(p + n, &end); /* "+Inf" too */
		if (strncmp(end, "\"} ", 3) != 0)
			continue;
		h->cum[h->n++] = strtod(end + 3, NULL);
	}
}

/* What h1 counted since h0 (none: skrd lists a route's histogram only
 * once it has answered on it): the share over bound (seconds, one of the
 * bucket bounds) and the bound p99 is within (0: nothing counted). */
static void
hist_delta(const struct hist *h0, const struct hist *h1, double bound,
    double *over, double *p99_le)
{
	double total, within = 0;
	int i;

	*over = *p99_le = 0;
	if (h1->n == 0 || (h0->n != 0 && h0->n != h1->n) ||
	    (total = h1->cum[h1->n - 1] - (h0->n ? h0->cum[h0->n - 1] :
	    0)) <= 0)
		return;
	for (i = 0; i < h1->n; i++) {
		double d = h1->cum[i] - (h0->n ? h0->cum[i] : 0);

		if (h1->le[i] == bound)
			within = d;
		if (*p99_le == 0 && d >= 0.99 * total)
			*p99_le = h1->le[i];
	}
	*over = 1 - within / total;
}

/* A copy of data directory from at to (cp -a). */
static int
dir_copy(const char *from, const char *to)
{
	char *argv[] = { "/bin/cp", "-a", (char *)from, (char *)to, NULL };

	return run_wait(argv, NULL);
}

static int
cmd_cluster(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "etcd-endpoints", required_argument, NULL, 'e' },
		{ "skrd", required_argument, NULL, 's' },
		{ "replicas", required_argument, NULL, 'r' },
		{ "keys", required_argument, NULL, 'k' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "connections", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	struct server srv[8];
	skr_testauth *ta = NULL;
	bench_tokens tok;
	bench_result res;
	skr_key *pub = NULL;
	json_t *out = NULL, *runs, *jwks = NULL;
	const char *eps = NULL;
	char work[PATH_MAX], dir[PATH_MAX], copy[PATH_MAX], path[PATH_MAX];
	char prefix[64], urls[8 * 130], model[128], *text = NULL;
	char *iargv[12];
	uint64_t reps[8] = { 1, 2, 3 }, nkeys = 1000, v;
	size_t nreps = 3, i, n, k;
	double secs = 0;
	int c, r = SKR_ERR_INTERNAL, http2, status = 1;

	memset(&tok, 0, sizeof(tok));
	memset(&o, 0, sizeof(o));
	memset(srv, 0, sizeof(srv));
	o.skrd = "build-bench/server/skrd";
	o.threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	o.duration = 10;
	o.warmup = 3;
	o.connections = 16;
	o.h2_connections = 6;
	o.streams = 48;
	o.sample = 100;
	o.json = "bench-cluster.json";
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'e': eps = optarg; break;
		case 's': o.skrd = optarg; break;
		case 'r':
			if (parse_keys(optarg, &o) != 0)
				goto bad;
			for (nreps = 0; nreps < o.nkeys; nreps++) {
				if (o.keys[nreps] > 8)
					goto bad;
				reps[nreps] = o.keys[nreps];
			}
			break;
		case 'k':
			if (parse_u64(optarg, 1, 1000000, &nkeys) != 0)
				goto bad;
			break;
		case 'd':
			if (parse_u64(optarg, 1, 3600, &v) != 0)
				goto bad;
			o.duration = (double)v;
			break;
		case 'w':
			if (parse_u64(optarg, 0, 60, &v) != 0)
				goto bad;
			o.warmup = (double)v;
			break;
		case 'c':
			if (parse_u64(optarg, 1, 1024, &v) != 0)
				goto bad;
			o.connections = (int)v;
			break;
		case 't':
			if (parse_u64(optarg, 1, 64, &v) != 0)
				goto bad;
			o.threads = (int)v;
			break;
		case 'j': o.json = optarg; break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (optind != argc || eps == NULL)
		goto bad;
	snprintf(work, sizeof(work), "/var/tmp/skr-bench-XXXXXX");
	if (mkdtemp(work) == NULL) {
		perror("skr-bench: mkdtemp");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	fprintf(stderr, "skr-bench: work directory %s; minting %d tokens\n",
	    work, NTOKENS);
	if ((r = skr_testauth_new(ISSUER, "RS256", &ta)) != SKR_OK ||
	    (r = tokens_make(ta, &tok)) != SKR_OK)
		goto out;
	pathf(path, sizeof(path), "%s/authority-jwks.json", work);
	if ((jwks = skr_testauth_jwks_json(ta, SKR_TESTAUTH_JWKS_JWK)) ==
	    NULL || json_dump_file(jwks, path, JSON_COMPACT) != 0) {
		r = SKR_ERR_INTERNAL;
		goto out;
	}
	/* One store in etcd under a prefix of its own, loaded once. */
	pathf(dir, sizeof(dir), "%s/store", work);
	snprintf(prefix, sizeof(prefix), "skr-bench-%ld-%ld/", (long)getpid(),
	    (long)time(NULL));
	n = 0;
	iargv[n++] = (char *)o.skrd;
	iargv[n++] = "init";
	iargv[n++] = "--data";
	iargv[n++] = dir;
	iargv[n++] = "--store";
	iargv[n++] = "etcd";
	iargv[n++] = "--etcd-endpoints";
	iargv[n++] = (char *)eps;
	iargv[n++] = "--etcd-prefix";
	iargv[n++] = prefix;
	iargv[n] = NULL;
	pathf(path, sizeof(path), "%s/init.log", work);
	if (run_wait(iargv, path) != 0) {
		fprintf(stderr, "skr-bench: skrd init failed; see %s\n", path);
		r = SKR_ERR_INTERNAL;
		goto out;
	}
	fprintf(stderr, "skr-bench: loading %llu keys into etcd...\n",
	    (unsigned long long)nkeys);
	/* A batch within one etcd Txn (three records a key). */
	if ((r = bench_load(dir, ISSUER, 0, nkeys, 32, 0, &secs)) != SKR_OK) {
		fprintf(stderr, "skr-bench: load: %s\n", skr_strerror(r));
		goto out;
	}
	if ((pub = key_file(dir, "release-signing.pem", 1)) == NULL) {
		r = SKR_ERR_INTERNAL;
		goto out;
	}
	out = json_pack("{s:s,s:{s:s,s:i},s:I,s:f,s:f,s:f,s:i,s:[]}",
	    "benchmark", "skr-bench cluster", "machine", "cpu",
	    cpu_model(model, sizeof(model)), "cpus",
	    (int)sysconf(_SC_NPROCESSORS_ONLN), "keys", (json_int_t)nkeys,
	    "load_seconds", secs, "duration_s", o.duration, "warmup_s",
	    o.warmup, "server_threads", o.threads, "runs");
	runs = json_object_get(out, "runs");
	printf("%-8s %-8s %8s %7s %7s %7s %8s %6s %9s %9s\n", "replicas",
	    "proto", "rel/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors",
	    "conflicts", "etcd/rel");
	status = 0;
	pathf(path, sizeof(path), "%s/ca.pem", dir);
	for (i = 0; i < nreps; i++) {
		urls[0] = '\0';
		for (k = 0; k < reps[i]; k++) {
			pathf(copy, sizeof(copy), "%s/replica-%zu", work, k);
			if (access(copy, F_OK) != 0 && dir_copy(dir, copy) != 0) {
				r = SKR_ERR_INTERNAL;
				goto stop;
			}
			if (server_start(&o, work, copy, "RS256", 0, &srv[k]) !=
			    0) {
				r = SKR_ERR_INTERNAL;
				goto stop;
			}
			snprintf(urls + strlen(urls), sizeof(urls) -
			    strlen(urls), "%s%s", k ? "," : "", srv[k].url);
		}
		for (http2 = 0; http2 < 2; http2++) {
			bench_run_opts ro;
			double conflicts = 0, trips = 0;

			for (k = 0; k < reps[i]; k++) {
				conflicts -= metric(srv[k].url, path,
				    "skr_store_conflicts_total");
				trips -= metric(srv[k].url, path,
				    "skr_store_round_trips_total");
			}
			memset(&ro, 0, sizeof(ro));
			ro.url = urls;
			ro.ca_file = path;
			ro.sign_pub = skr_key_pkey(pub);
			ro.http2 = http2;
			ro.connections = http2 ? o.h2_connections :
			    o.connections;
			ro.streams = o.streams;
			ro.duration = o.duration;
			ro.warmup = o.warmup;
			ro.nkeys = nkeys;
			ro.sample = o.sample;
			ro.tokens = &tok;
			if ((r = bench_release_run(&ro, &res)) != SKR_OK)
				goto stop;
			/* Warm-up included: per release of the whole run. */
			for (k = 0; k < reps[i]; k++) {
				conflicts += metric(srv[k].url, path,
				    "skr_store_conflicts_total");
				trips += metric(srv[k].url, path,
				    "skr_store_round_trips_total");
			}
			printf("%-8llu %-8s %8.0f %7.2f %7.2f %7.2f %8.2f %6llu"
			    " %9.0f %9.2f\n", (unsigned long long)reps[i],
			    http2 ? "h2" : "http/1.1", res.rps, res.p50,
			    res.p90, res.p99, res.max,
			    (unsigned long long)res.errors, conflicts,
			    res.ok > 0 ? trips / ((double)res.ok *
			    (o.duration + o.warmup) / o.duration) : 0);
			fflush(stdout);
			if (res.errors > 0) {
				fprintf(stderr, "skr-bench: %llu errors, first: "
				    "%s\n", (unsigned long long)res.errors,
				    res.first_error);
				status = 1;
			}
			json_array_append_new(runs, json_pack("{s:I,s:s,s:f,"
			    "s:f,s:f,s:f,s:f,s:I,s:I,s:f,s:f}", "replicas",
			    (json_int_t)reps[i], "protocol", http2 ? "h2" :
			    "http/1.1", "releases_per_s", res.rps, "p50_ms",
			    res.p50, "p90_ms", res.p90, "p99_ms", res.p99,
			    "max_ms", res.max, "releases", (json_int_t)res.ok,
			    "errors", (json_int_t)res.errors, "conflicts",
			    conflicts, "etcd_requests", trips));
		}
stop:
		for (k = 0; k < reps[i]; k++)
			server_stop(&srv[k]);
		if (r != SKR_OK)
			goto out;
	}
	if ((text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
	    NULL || write_file(o.json, text) != 0) {
		fprintf(stderr, "skr-bench: cannot write %s\n", o.json);
		r = SKR_ERR_INTERNAL;
		goto out;
	}
	printf("\nfigures written to %s (the store stays in etcd under %s)\n",
	    o.json, prefix);
out:
	if (r != SKR_OK)
		fprintf(stderr, "skr-bench: %s\n", skr_strerror(r));
	nftw(work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(text);
	json_decref(out);
	json_decref(jwks);
	skr_key_free(pub);
	tokens_free(&tok);
	skr_testauth_free(ta);
	bench_client_cleanup();
	curl_global_cleanup();
	return r == SKR_OK ? status : 1;
bad:
	usage(stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "load") == 0)
		return cmd_load(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "handler") == 0)
		return cmd_handler(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "probe") == 0)
		return cmd_probe(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "cluster") == 0)
		return cmd_cluster(argc - 1, argv + 1);
	usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
	return 2;
}
