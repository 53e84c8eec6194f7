/*
 * Soft delete (docs/store.md, "Soft delete"): moving a key record between
 * `keys` and `deleted`, recovery, purging every trace of a key, and the
 * `purgeq` index that finds the keys whose purge date has come.
 */
#include "store_priv.h"

#include <stdlib.h>
#include <string.h>

#include "guard.h"

/* purgeq key of lc due at date: i64 BE date | lc.  Returns its length. */
static size_t
purgeq_key(int64_t date, const char *lc, uint8_t *k)
{
	size_t n = strlen(lc);

	be64_put(k, (uint64_t)(date < 0 ? 0 : date));
	memcpy(k + 8, lc, n);
	return 8 + n;
}

/* Index deleted key lc (record rec) under its purge date. */
static int
purgeq_put(skr_txn *txn, const char *lc, const json_t *rec)
{
	uint8_t k[8 + SKR_KEY_NAME_MAX];

	return skr__rec_put(txn, DB_PURGEQ, k,
	    purgeq_key(jint(rec, "purge"), lc, k), "", 0);
}

/*
 * Index every soft-deleted key by purge date.  A record that fails its MAC
 * is not indexed (it was never purged on schedule before either; reading
 * it reports it).
 */
int
skr__purgeq_index(skr_txn *txn)
{
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	char lc[SKR_KEY_NAME_MAX + 1];
	json_t *rec;
	int r = SKR_OK, rc;

	if ((rc = mdb_cursor_open(txn->t, txn->st->dbi[DB_DELETED], &cur)) !=
	    MDB_SUCCESS)
		return skr__lmdb_err(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	    rc == MDB_SUCCESS && r == SKR_OK;
	    rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size == 0 || key.mv_size > SKR_KEY_NAME_MAX)
			continue;
		memcpy(lc, key.mv_data, key.mv_size);
		lc[key.mv_size] = '\0';
		if (skr__keyrec_get(txn, DB_DELETED, lc, &rec) != SKR_OK)
			continue;
		r = purgeq_put(txn, lc, rec);
		json_decref(rec);
	}
	mdb_cursor_close(cur);
	if (r == SKR_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
		r = skr__lmdb_err(rc);
	return r;
}

/* Drop lc's index entry; one that is not there is no error. */
static int
purgeq_del(skr_txn *txn, const char *lc, const json_t *rec)
{
	uint8_t k[8 + SKR_KEY_NAME_MAX];
	int r;

	r = skr__raw_del(txn, DB_PURGEQ, k, purgeq_key(jint(rec, "purge"), lc,
	    k));
	return r == SKR_ERR_NOT_FOUND ? SKR_OK : r;
}

/* Move the record of lc from db `from` to db `to`, editing it with fn. */
static int
move_key(skr_txn *txn, const char *name, int from, int to,
    int (*edit)(json_t *rec, void *arg), void *arg, skr_version_info *out)
{
	char lc[SKR_KEY_NAME_MAX + 1];
	json_t *rec = NULL;
	skr_txn *sub = NULL;
	int r, ex;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (txn == NULL || !txn->write)
		return SKR_ERR_INVAL;
	if ((r = skr__name_fold(name, lc)) != SKR_OK)
		return r;
	SKR_GUARD(skr__store_sub_begin(txn, &sub));
	SKR_GUARD(skr__keyrec_get(sub, from, lc, &rec));
	SKR_GUARD(skr__keyrec_exists(sub, to, lc, &ex));
	SKR_ENSURE(!ex, SKR_ERR_KEY_CONFLICT);
	if (from == DB_DELETED)
		SKR_GUARD(purgeq_del(sub, lc, rec));
	SKR_GUARD(edit(rec, arg));
	SKR_GUARD(skr__rec_put_json(sub, to, lc, strlen(lc), rec));
	SKR_GUARD(skr__raw_del(sub, from, lc, strlen(lc)));
	if (to == DB_DELETED)
		SKR_GUARD(purgeq_put(sub, lc, rec));
	if (out != NULL)
		SKR_GUARD(skr__info_load(sub, lc, rec,
		    (uint32_t)jint(rec, "latest"), out));
out:
	r = skr__store_sub_end(sub, r);
	if (r != SKR_OK && out != NULL)
		skr_version_info_clear(out);
	json_decref(rec);
	return r;
}

struct delete_arg {
	int64_t now, retention;
};

static int
edit_delete(json_t *rec, void *arg)
{
	struct delete_arg *d = arg;
	int r;

	if ((r = jset(rec, "deleted", json_integer(d->now))) != SKR_OK)
		return r;
	return jset(rec, "purge", json_integer(d->now + d->retention));
}

static int
edit_recover(json_t *rec, void *arg)
{
	json_object_del(rec, "deleted");
	json_object_del(rec, "purge");
	return SKR_OK;
}

int
skr_store_key_delete(skr_txn *txn, const char *name, int64_t now,
    int64_t retention, skr_version_info *out)
{
	struct delete_arg d = { now, retention > 0 ? retention :
	    SKR_RETENTION_DEFAULT };

	return move_key(txn, name, DB_KEYS, DB_DELETED, edit_delete, &d, out);
}

int
skr_store_key_recover(skr_txn *txn, const char *name, skr_version_info *out)
{
	return move_key(txn, name, DB_DELETED, DB_KEYS, edit_recover, NULL,
	    out);
}

int
skr_store_deleted_get(skr_txn *txn, const char *name, skr_version_info *out)
{
	char lc[SKR_KEY_NAME_MAX + 1];
	json_t *rec;
	int r;

	memset(out, 0, sizeof(*out));
	if (txn == NULL)
		return SKR_ERR_INVAL;
	if ((r = skr__name_fold(name, lc)) != SKR_OK)
		return r;
	if ((r = skr__keyrec_get(txn, DB_DELETED, lc, &rec)) != SKR_OK)
		return r;
	r = skr__info_load(txn, lc, rec, (uint32_t)jint(rec, "latest"), out);
	json_decref(rec);
	return r;
}

/* Delete every entry of db whose key starts with prefix. */
static int
del_prefix(skr_txn *txn, int db, const void *prefix, size_t plen)
{
	MDB_cursor *cur = NULL;
	MDB_val key = { plen, (void *)prefix }, val;
	int rc;

	if ((rc = mdb_cursor_open(txn->t, txn->st->dbi[db], &cur)) !=
	    MDB_SUCCESS)
		return skr__lmdb_err(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	    rc == MDB_SUCCESS && key.mv_size >= plen &&
	    memcmp(key.mv_data, prefix, plen) == 0;
	    rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
		if ((rc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS)
			break;
	mdb_cursor_close(cur);
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? SKR_OK :
	    skr__lmdb_err(rc);
}

/*
 * Remove every trace of deleted key lc: its versions and index entries (by
 * key prefix "lc NUL", so even records that fail their MAC go) and its
 * record, and with it the sealed data key.
 */
static int
purge_folded(skr_txn *txn, const char *lc)
{
	json_t *rec = NULL;
	skr_txn *sub = NULL;
	int r;

	SKR_GUARD(skr__store_sub_begin(txn, &sub));
	SKR_GUARD(skr__keyrec_get(sub, DB_DELETED, lc, &rec));
	SKR_GUARD(purgeq_del(sub, lc, rec));
	SKR_GUARD(del_prefix(sub, DB_VERSIONS, lc, strlen(lc) + 1));
	SKR_GUARD(del_prefix(sub, DB_VINDEX, lc, strlen(lc) + 1));
	SKR_GUARD(skr__raw_del(sub, DB_DELETED, lc, strlen(lc)));
out:
	r = skr__store_sub_end(sub, r);
	json_decref(rec);
	return r;
}

int
skr_store_key_purge(skr_txn *txn, const char *name)
{
	char lc[SKR_KEY_NAME_MAX + 1];
	int r;

	if (txn == NULL || !txn->write)
		return SKR_ERR_INVAL;
	if ((r = skr__name_fold(name, lc)) != SKR_OK)
		return r;
	return purge_folded(txn, lc);
}

int
skr_store_purge_if_due(skr_txn *txn, const char *name, int64_t now,
    char *folded, int *purged)
{
	char lc[SKR_KEY_NAME_MAX + 1];
	json_t *rec;
	int r, due;

	*purged = 0;
	if (txn == NULL || !txn->write)
		return SKR_ERR_INVAL;
	if ((r = skr__name_fold(name, lc)) != SKR_OK)
		return r;
	if ((r = skr__keyrec_get(txn, DB_DELETED, lc, &rec)) != SKR_OK)
		return r == SKR_ERR_KEY_NOT_FOUND ? SKR_OK : r;
	due = json_is_integer(json_object_get(rec, "purge")) &&
	    jint(rec, "purge") <= now;
	json_decref(rec);
	if (!due)
		return SKR_OK;
	if ((r = purge_folded(txn, lc)) != SKR_OK)
		return r;
	memcpy(folded, lc, strlen(lc) + 1);
	*purged = 1;
	return SKR_OK;
}

/* A due entry of purgeq found by skr_store_purge_expired. */
struct due {
	uint8_t k[8 + SKR_KEY_NAME_MAX];
	size_t kl;
	int stale;      /* no deleted record of that date: drop the entry */
};

int
skr_store_purge_expired(skr_txn *txn, int64_t now, size_t max,
    char (*out)[SKR_KEY_NAME_MAX + 1], size_t *npurged)
{
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	struct due *due = NULL;
	char lc[SKR_KEY_NAME_MAX + 1];
	size_t n = 0, ndue = 0, cap = 0, i, vl;
	json_t *rec;
	int r = SKR_OK, rc, stale;

	if (npurged != NULL)
		*npurged = 0;
	if (txn == NULL || !txn->write || (out != NULL && max == 0))
		return SKR_ERR_INVAL;
	/* Collect first: deleting under an open cursor is avoided.  The
	 * index only says where to look; each deleted record's own purge
	 * date, under its own MAC, decides. */
	if ((rc = mdb_cursor_open(txn->t, txn->st->dbi[DB_PURGEQ], &cur)) !=
	    MDB_SUCCESS)
		return skr__lmdb_err(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	    rc == MDB_SUCCESS && (max == 0 || n < max);
	    rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		vl = val.mv_size;
		if (key.mv_size <= 8 || key.mv_size > 8 + SKR_KEY_NAME_MAX)
			continue;
		if ((int64_t)be64_get(key.mv_data) > now)
			break;
		if (skr__rec_verify(txn->st, DB_PURGEQ, key.mv_data,
		    key.mv_size, val.mv_data, &vl) != SKR_OK)
			continue;
		memcpy(lc, (const uint8_t *)key.mv_data + 8, key.mv_size - 8);
		lc[key.mv_size - 8] = '\0';
		r = skr__keyrec_get(txn, DB_DELETED, lc, &rec);
		if (r == SKR_OK) {
			stale = jint(rec, "purge") !=
			    (int64_t)be64_get(key.mv_data);
			json_decref(rec);
		} else if (r == SKR_ERR_KEY_NOT_FOUND) {
			stale = 1;
		} else {
			r = SKR_OK;     /* a bad record: left, see above */
			continue;
		}
		if (ndue == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			void *p = realloc(due, ncap * sizeof(*due));
			SKR_ENSURE(p != NULL, SKR_ERR_NOMEM);
			due = p;
			cap = ncap;
		}
		memcpy(due[ndue].k, key.mv_data, key.mv_size);
		due[ndue].kl = key.mv_size;
		due[ndue++].stale = stale;
		n += !stale;
	}
	SKR_ENSURE(rc == MDB_SUCCESS || rc == MDB_NOTFOUND, skr__lmdb_err(rc));
	mdb_cursor_close(cur);
	cur = NULL;
	for (i = 0, n = 0; i < ndue; i++) {
		if (due[i].stale) {
			SKR_GUARD(skr__raw_del(txn, DB_PURGEQ, due[i].k,
			    due[i].kl));
			continue;
		}
		memcpy(lc, due[i].k + 8, due[i].kl - 8);
		lc[due[i].kl - 8] = '\0';
		SKR_GUARD(purge_folded(txn, lc));
		if (out != NULL)
			memcpy(out[n], lc, strlen(lc) + 1);
		n++;
	}
	if (npurged != NULL)
		*npurged = n;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	free(due);
	return r;
}
