/*
 * Bulk loading for the benchmark: keys go into the store through the same
 * store API skrd uses (sealed under per-key data keys, MACed records, the
 * policy stored as text), many per write transaction.  One durable commit
 * per batch instead of one per key is what makes a million keys take
 * seconds instead of an hour; the records are exactly those a create
 * request would write, minus the audit record of each creation.
 */
#include "bench.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "audit.h"
#include "masterkey.h"
#include "policy.h"
#include "skr/error.h"
#include "store.h"

static int
load_batch(skr_store *st, const char *policy, uint64_t first, uint64_t n,
    int64_t now)
{
	skr_version_params p;
	skr_txn *txn = NULL;
	skr_key *key = NULL;
	uint8_t bytes[BENCH_KEY_BYTES];
	char name[BENCH_NAME_MAX];
	uint64_t i;
	int r;

	skr_version_params_init(&p);
	p.exportable = 1;
	p.policy = policy;
	p.policy_len = strlen(policy);
	if ((r = skr_store_txn_begin(st, SKR_TXN_WRITE, &txn)) != SKR_OK)
		goto out;
	for (i = first; i < first + n; i++) {
		bench_key_name(i, name);
		bench_key_bytes(name, bytes);
		r = skr_key_from_private_bytes(SKR_KTY_OCT, bytes, sizeof(bytes),
		    &key);
		skr_wipe(bytes, sizeof(bytes));
		if (r != SKR_OK)
			goto out;
		r = skr_store_version_add(txn, name, key, &p,
		    SKR_ADD_CREATE_ONLY, now, NULL);
		skr_key_free(key);
		key = NULL;
		if (r != SKR_OK)
			goto out;
	}
	r = skr_store_txn_commit(txn);
	txn = NULL;
out:
	skr_store_txn_abort(txn);
	return r;
}

int
bench_load(const char *dir, const char *issuer, uint64_t first,
    uint64_t count, size_t batch, size_t map_size, double *seconds)
{
	skr_master_source *src = NULL;
	skr_master_key *mk = NULL;
	skr_store *st = NULL;
	skr_store_opts so = { .map_size = map_size };
	skr_policy *pol = NULL;
	char path[PATH_MAX], *policy = NULL;
	double t0 = bench_now();
	uint64_t done;
	int r;

	if ((policy = bench_policy(issuer)) == NULL)
		return SKR_ERR_NOMEM;
	/* The policy is validated once, as a create request would. */
	if ((r = skr_policy_parse(policy, strlen(policy), &pol, NULL)) !=
	    SKR_OK)
		goto out;
	if (snprintf(path, sizeof(path), "%s/master.key", dir) >=
	    (int)sizeof(path)) {
		r = SKR_ERR_INVAL;
		goto out;
	}
	if ((r = skr_master_source_file(path, &src)) != SKR_OK ||
	    (r = skr_master_load(src, &mk)) != SKR_OK ||
	    (r = skr_store_open(dir, mk, &so, &st)) != SKR_OK)
		goto out;
	for (done = 0; done < count; done += batch) {
		uint64_t n = count - done < batch ? count - done : batch;

		if ((r = load_batch(st, policy, first + done, n,
		    (int64_t)time(NULL))) != SKR_OK)
			goto out;
	}
	if (seconds != NULL)
		*seconds = bench_now() - t0;
out:
	skr_store_close(st);
	skr_master_key_free(mk);
	skr_master_source_free(src);
	skr_policy_free(pol);
	free(policy);
	return r;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int
bench_commit_probe(const char *dir, size_t map_size, int n, double *p50,
    double *p99, double *cpu_us)
{
	skr_master_source *src = NULL;
	skr_master_key *mk = NULL;
	skr_store *st = NULL;
	skr_store_opts so = { .map_size = map_size };
	skr_txn *txn = NULL;
	json_t *rec = NULL;
	double *t = NULL, t0, c0;
	char path[PATH_MAX];
	int i, r;

	if (n < 1 || (t = calloc((size_t)n, sizeof(*t))) == NULL)
		return SKR_ERR_NOMEM;
	if (snprintf(path, sizeof(path), "%s/master.key", dir) >=
	    (int)sizeof(path)) {
		r = SKR_ERR_INVAL;
		goto out;
	}
	if ((rec = json_pack("{s:s,s:s}", "event", "bench.probe", "outcome",
	    "ok")) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	if ((r = skr_master_source_file(path, &src)) != SKR_OK ||
	    (r = skr_master_load(src, &mk)) != SKR_OK ||
	    (r = skr_store_open(dir, mk, &so, &st)) != SKR_OK)
		goto out;
	/* What one release's audit write is: a write transaction with one
	 * chained record, committed and synced. */
	c0 = cpu_seconds();
	for (i = 0; i < n; i++) {
		t0 = bench_now();
		if ((r = skr_store_txn_begin(st, SKR_TXN_WRITE, &txn)) !=
		    SKR_OK || (r = skr_audit_append(txn, rec,
		    (int64_t)time(NULL), NULL)) != SKR_OK)
			goto out;
		r = skr_store_txn_commit(txn);
		txn = NULL;
		if (r != SKR_OK)
			goto out;
		t[i] = (bench_now() - t0) * 1000.0;
	}
	/* The kernel's side of the write and the syncs is most of it. */
	*cpu_us = (cpu_seconds() - c0) * 1e6 / n;
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	*p50 = t[n / 2];
	*p99 = t[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
out:
	skr_store_txn_abort(txn);
	skr_store_close(st);
	skr_master_key_free(mk);
	skr_master_source_free(src);
	json_decref(rec);
	free(t);
	return r;
}
