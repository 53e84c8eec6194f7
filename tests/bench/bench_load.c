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
#include <time.h>

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
	skr_store_opts so = { map_size, 0 };
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
