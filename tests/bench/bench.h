/*
 * skr-bench: the release benchmark.  It measures how many correct secure
 * key releases a real skrd does per second over loopback TLS, at what
 * latency, how that compares with the bare cryptography a release needs,
 * and how it holds as the store grows (README.md, "Performance").
 *
 * Modules: bench_load.c fills a store directly (the bulk path for a million
 * keys), bench_client.c is the load generator (libcurl, HTTP/1.1 and
 * HTTP/2), bench_bound.c the crypto-only bound, skr_bench.c runs the phases
 * and reports.
 *
 * The benchmark store is not a real one: key bytes are derived from the key
 * name (bench_key_bytes) so that a sampled response can be checked without
 * keeping a million keys in memory.
 */
#ifndef SKR_BENCH_H
#define SKR_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "jwk.h"
#include "jws.h"

#define BENCH_KEY_BYTES 32
#define BENCH_NAME_MAX 32

/* "bench-0000042": the name of key i. */
void bench_key_name(uint64_t i, char out[BENCH_NAME_MAX]);
/* The oct key stored under name: SHA-256("skr-bench/" || name). */
void bench_key_bytes(const char *name, uint8_t out[BENCH_KEY_BYTES]);
/* The release policy every benchmark key carries: an Azure SEV-SNP
 * confidential VM from issuer.  Caller frees. */
char *bench_policy(const char *issuer);
/* Monotonic seconds. */
double bench_now(void);

/* ---- bench_load.c ----------------------------------------------------- */

/*
 * Add keys [first, first + count) to the store in dir (created by `skrd
 * init`; master key dir/master.key) straight through the store API, batch
 * keys per write transaction, map_size bytes of map (0: the store's
 * default; LMDB records a larger one in the file, so skrd serve later maps
 * at least that much).  *seconds (may be NULL) receives the time taken.
 */
int bench_load(const char *dir, const char *issuer, uint64_t first,
    uint64_t count, size_t batch, size_t map_size, double *seconds);

/* The cost of one release's audit write on this disk: n write
 * transactions of one audit record each, committed (synced) one at a time
 * into the store in dir (map as for bench_load); median and 99th
 * percentile in milliseconds, and the CPU microseconds one takes (user and
 * system: the kernel's side of the write and the syncs included). */
int bench_commit_probe(const char *dir, size_t map_size, int n, double *p50,
    double *p99, double *cpu_us);

/* ---- bench_client.c --------------------------------------------------- */

/* A pool of attestation tokens and the wrapping keys they name. */
typedef struct bench_tokens {
	size_t n;
	char **token;           /* compact JWS */
	size_t *wrap;           /* index into wrap_keys of each token */
	skr_key **wrap_keys;    /* RSA private keys (the TEE's) */
	size_t nwrap;
	EVP_PKEY *authority;    /* the authority's public key (bound) */
} bench_tokens;

typedef struct bench_run_opts {
	const char *url;        /* https://127.0.0.1:PORT, or several
	                         * comma-separated (replicas): each request
	                         * slot keeps to one, in turn */
	const char *ca_file;
	EVP_PKEY *sign_pub;     /* release-signing public key */
	int http2;
	int connections;        /* HTTP/1.1: connections = requests in flight */
	int streams;            /* HTTP/2: requests in flight over connections */
	double duration;        /* seconds of measurement */
	double warmup;          /* seconds before measuring */
	double rate;            /* > 0: open loop at this many requests/s */
	uint64_t nkeys;         /* keys bench-0..nkeys-1 are released at random */
	unsigned sample;        /* verify 1 response in this many fully */
	const bench_tokens *tokens;
} bench_run_opts;

typedef struct bench_result {
	uint64_t ok;            /* in the measured window */
	uint64_t total;         /* with warm-up and the last in flight */
	uint64_t errors;
	uint64_t verified;      /* responses checked down to the key bytes */
	double seconds;
	double rps;             /* ok / seconds */
	double p50, p90, p99, max; /* milliseconds */
	double over_10ms;       /* share of releases that took longer */
	/* The load generator's own delay at p99, in milliseconds: from the
	 * time a request was due (open loop) or its slot freed (closed) to
	 * libcurl starting it, plus from libcurl finishing it to its
	 * completion being seen; the rest of a latency is the server's and
	 * the network's. */
	double own_p99;
	char first_error[256];
} bench_result;

int bench_release_run(const bench_run_opts *o, bench_result *res);
/* Frees the request bodies the runs share. */
void bench_client_cleanup(void);

/* ---- bench_bound.c ---------------------------------------------------- */

/*
 * The crypto-only bound: threads threads, each in a tight loop doing what a
 * release needs cryptographically: verify a pool token's signature with the
 * authority key, RSA-OAEP (SHA-1) encrypt a fresh AES-256 key to the token's
 * wrapping key, AES-KWP-wrap a 32-byte key with it and sign a response-sized
 * payload with sign_key under alg.  Releases per second in *rps, and the
 * CPU microseconds one release takes (threads' CPU time over releases) in
 * *cpu_us: the figure skrd's own CPU per release is compared with.
 */
int bench_bound(const bench_tokens *t, EVP_PKEY *sign_key, skr_alg alg,
    int threads, double duration, double *rps, double *cpu_us);

/* ---- bench_handler.c --------------------------------------------------- */

/* count releases through skr_dispatch in this process (after 20 of
 * warm-up); prints the time each took.  SKR_OK when every one was 200. */
int bench_handler(int count);

#endif
