/*
 * audit_fill DIR N: append N audit records to the store of skrd data
 * directory DIR (skrd not running), in transactions of 10000, so that a
 * test gets a long chain in seconds rather than through N audited
 * requests.  The records are what a denied release attempt records.
 * Exits 0 when all are committed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit.h"
#include "masterkey.h"
#include "skr/error.h"
#include "store.h"

#define PER_TXN 10000

int
main(int argc, char **argv)
{
	skr_master_source *src = NULL;
	skr_master_key *mk = NULL;
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	skr_audit_rec rec = { .event = "key.release", .outcome = "denied",
		.reason = "SKR.TOKEN.SIGNATURE", .peer = "192.0.2.1",
		.key = "filler" };
	json_t *j = NULL;
	char path[PATH_MAX];
	long n, i;
	int r;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: audit_fill DIR N\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/master.key", argv[1]);
	if ((r = skr_master_source_file(path, &src)) != SKR_OK ||
	    (r = skr_master_load(src, &mk)) != SKR_OK ||
	    (r = skr_store_open(argv[1], mk, NULL, &st)) != SKR_OK ||
	    (r = skr_audit_build(&rec, &j)) != SKR_OK)
		goto out;
	for (i = 0; i < n && r == SKR_OK; i++) {
		if (txn == NULL && (r = skr_store_txn_begin(st, SKR_TXN_WRITE,
		    &txn)) != SKR_OK)
			break;
		if ((r = skr_audit_append(txn, j, 1700000000 + i, NULL)) !=
		    SKR_OK)
			break;
		if ((i + 1) % PER_TXN == 0 || i + 1 == n) {
			r = skr_store_txn_commit(txn);
			txn = NULL;
		}
	}
out:
	skr_store_txn_abort(txn);
	json_decref(j);
	skr_store_close(st);
	skr_master_key_free(mk);
	skr_master_source_free(src);
	if (r != SKR_OK) {
		fprintf(stderr, "audit_fill: %s: %s\n", skr_err_id(r),
		    skr_strerror(r));
		return 1;
	}
	return 0;
}
