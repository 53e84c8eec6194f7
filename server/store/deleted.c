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

/* The names of the deleted keys, gathered before any is indexed: a walk's
 * callback does not change the store. */
struct names {
	char (*lc)[SKR_KEY_NAME_MAX + 1];
	size_t n, cap;
};

static int
name_collect(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct names *ns = arg;
	void *p;

	if (kl == 0 || kl > SKR_KEY_NAME_MAX)
		return SKR_OK;
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 16;
		if ((p = realloc(ns->lc, ns->cap * sizeof(*ns->lc))) == NULL)
			return SKR_ERR_NOMEM;
		ns->lc = p;
	}
	memcpy(ns->lc[ns->n], k, kl);
	ns->lc[ns->n++][kl] = '\0';
	return SKR_OK;
}

/*
 * Index every soft-deleted key by purge date.  A record that fails its MAC
 * is not indexed (it was never purged on schedule before either; reading
 * it reports it).
 */
int
skr__purgeq_index(skr_txn *txn)
{
	struct names ns = { NULL, 0, 0 };
	json_t *rec;
	size_t i;
	int r;

	r = skr__raw_walk(txn, DB_DELETED, NULL, 0, name_collect, &ns);
	for (i = 0; r == SKR_OK && i < ns.n; i++) {
		if (skr__keyrec_get(txn, DB_DELETED, ns.lc[i], &rec) != SKR_OK)
			continue;
		r = purgeq_put(txn, ns.lc[i], rec);
		json_decref(rec);
	}
	free(ns.lc);
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
	SKR_GUARD(skr__raw_del_prefix(sub, DB_VERSIONS, lc, strlen(lc) + 1));
	SKR_GUARD(skr__raw_del_prefix(sub, DB_VINDEX, lc, strlen(lc) + 1));
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

/* The walk of purgeq that finds what is due. */
struct due_walk {
	skr_txn *txn;
	int64_t now;
	size_t max, n;  /* n: keys to purge found so far */
	struct due *due;
	size_t ndue, cap;
};

static int
due_collect(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct due_walk *w = arg;
	char lc[SKR_KEY_NAME_MAX + 1];
	json_t *rec;
	void *p;
	int r, stale;

	if (w->max != 0 && w->n >= w->max)
		return 1;
	if (kl <= 8 || kl > 8 + SKR_KEY_NAME_MAX)
		return SKR_OK;
	if ((int64_t)be64_get(k) > w->now)
		return 1;
	if (skr__rec_verify(w->txn->st, DB_PURGEQ, k, kl, v, &vl) != SKR_OK)
		return SKR_OK;
	memcpy(lc, k + 8, kl - 8);
	lc[kl - 8] = '\0';
	r = skr__keyrec_get(w->txn, DB_DELETED, lc, &rec);
	if (r == SKR_OK) {
		stale = jint(rec, "purge") != (int64_t)be64_get(k);
		json_decref(rec);
	} else if (r == SKR_ERR_KEY_NOT_FOUND)
		stale = 1;
	else
		return SKR_OK;  /* a bad record: left, see store.h */
	if (w->ndue == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 8;
		if ((p = realloc(w->due, ncap * sizeof(*w->due))) == NULL)
			return SKR_ERR_NOMEM;
		w->due = p;
		w->cap = ncap;
	}
	memcpy(w->due[w->ndue].k, k, kl);
	w->due[w->ndue].kl = kl;
	w->due[w->ndue++].stale = stale;
	w->n += !stale;
	return SKR_OK;
}

int
skr_store_purge_expired(skr_txn *txn, int64_t now, size_t max,
    char (*out)[SKR_KEY_NAME_MAX + 1], size_t *npurged)
{
	struct due_walk w;
	char lc[SKR_KEY_NAME_MAX + 1];
	size_t n, i;
	int r;

	if (npurged != NULL)
		*npurged = 0;
	if (txn == NULL || !txn->write || (out != NULL && max == 0))
		return SKR_ERR_INVAL;
	memset(&w, 0, sizeof(w));
	w.txn = txn;
	w.now = now;
	w.max = max;
	/* Collect first: a walk does not change what it walks.  The index
	 * only says where to look; each deleted record's own purge date,
	 * under its own MAC, decides. */
	SKR_GUARD(skr__raw_walk(txn, DB_PURGEQ, NULL, 0, due_collect, &w));
	for (i = 0, n = 0; i < w.ndue; i++) {
		if (w.due[i].stale) {
			SKR_GUARD(skr__raw_del(txn, DB_PURGEQ, w.due[i].k,
			    w.due[i].kl));
			continue;
		}
		memcpy(lc, w.due[i].k + 8, w.due[i].kl - 8);
		lc[w.due[i].kl - 8] = '\0';
		SKR_GUARD(purge_folded(txn, lc));
		if (out != NULL)
			memcpy(out[n], lc, strlen(lc) + 1);
		n++;
	}
	if (npurged != NULL)
		*npurged = n;
out:
	free(w.due);
	return r;
}
