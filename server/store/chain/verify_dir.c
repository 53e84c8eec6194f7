/*
 * skr_audit_verify_dir (chain.h): the chain of a store file checked with
 * LMDB alone, read-only, as skrctl does offline.  It never writes, so it
 * takes every schema this build knows without migrating it.
 */
#include "chain.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "skr/error.h"

/* The store keeps fewer named databases than this. */
#define MAX_DBS 16

/* meta "schema" must name a schema this build knows. */
static int
schema_known(MDB_txn *txn, MDB_dbi meta)
{
	MDB_val key = { 6, (void *)"schema" }, val;
	char v;

	if (mdb_get(txn, meta, &key, &val) != MDB_SUCCESS || val.mv_size != 1)
		return 0;
	v = *(const char *)val.mv_data;
	return v >= '0' + SKR_STORE_SCHEMA_OLDEST &&
	    v <= '0' + SKR_STORE_SCHEMA_VERSION;
}

/* The head in meta: seq 0 and a zero hash when the chain is empty. */
static int
head_read(MDB_txn *txn, MDB_dbi meta, uint64_t *seq,
    uint8_t hash[SKR_AUDIT_HASH_LEN])
{
	MDB_val key = { strlen(SKR__AUDIT_HEAD_KEY),
	    (void *)SKR__AUDIT_HEAD_KEY }, val;
	int rc;

	rc = mdb_get(txn, meta, &key, &val);
	if (rc == MDB_NOTFOUND) {
		*seq = 0;
		memset(hash, 0, SKR_AUDIT_HASH_LEN);
		return SKR_OK;
	}
	if (rc != MDB_SUCCESS)
		return SKR_ERR_STORE;
	return skr__audit_head_get(val.mv_data, val.mv_size, seq, hash);
}

/* Every record in key order, then the head. */
static int
walk(MDB_txn *txn, MDB_dbi audit, skr__audit_walk *w, uint64_t hseq,
    const uint8_t hhash[SKR_AUDIT_HASH_LEN])
{
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	int r = SKR_OK, rc;

	if (mdb_cursor_open(txn, audit, &cur) != MDB_SUCCESS)
		return SKR_ERR_STORE;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	    rc == MDB_SUCCESS && r == SKR_OK;
	    rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
		r = skr__audit_walk_step(w, key.mv_data, key.mv_size,
		    val.mv_data, val.mv_size);
	mdb_cursor_close(cur);
	if (r == SKR_OK && rc != MDB_NOTFOUND)
		r = SKR_ERR_STORE;
	if (r == SKR_OK)
		r = skr__audit_walk_end(w, hseq, hhash);
	return r;
}

int
skr_audit_verify_dir(const char *dir, uint64_t *count, uint64_t *broken)
{
	skr__audit_walk w;
	char path[4096];
	uint8_t hhash[SKR_AUDIT_HASH_LEN];
	uint64_t hseq = 0;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi meta, audit;
	struct stat sb;
	int r, n;

	if (count != NULL)
		*count = 0;
	if (broken != NULL)
		*broken = 0;
	if (dir == NULL)
		return SKR_ERR_INVAL;
	n = snprintf(path, sizeof(path), "%s/%s", dir, SKR_STORE_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		return SKR_ERR_INVAL;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
		return SKR_ERR_STORE;
	skr__audit_walk_init(&w);
	if (mdb_env_create(&env) != MDB_SUCCESS)
		return SKR_ERR_NOMEM;
	r = SKR_ERR_STORE;
	if (mdb_env_set_maxdbs(env, MAX_DBS) != MDB_SUCCESS ||
	    mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOTLS,
	    0600) != MDB_SUCCESS ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != MDB_SUCCESS)
		goto out;
	/* The audit chain is the same in every schema this build knows
	 * (skr_store_open migrates the rest; this never writes). */
	r = SKR_ERR_STORE_SCHEMA;
	if (mdb_dbi_open(txn, SKR__AUDIT_META_DB, 0, &meta) != MDB_SUCCESS ||
	    !schema_known(txn, meta) ||
	    mdb_dbi_open(txn, SKR__AUDIT_DB, 0, &audit) != MDB_SUCCESS)
		goto out;
	if ((r = head_read(txn, meta, &hseq, hhash)) != SKR_OK)
		goto out;
	r = walk(txn, audit, &w, hseq, hhash);
	skr__audit_walk_report(&w, r, count, broken);
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return r;
}
