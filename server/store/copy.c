/*
 * Copying a whole store into another of the same security domain
 * (store.h, skr_store_copy; docs/availability.md, "Moving a store into a
 * cluster"): every record as it is stored, MAC included, and the audit
 * chain with its head, so the copy holds the same keys, tokens and chain
 * (same records, same hashes).  Records are bound to their database and
 * key by their MAC, not to a backend, so they open in the copy as long as
 * the master key is the same -- which the copy's own check value proves
 * when it opens, and every record's MAC on the way.
 *
 * The copy goes in transactions of at most COPY_BATCH records (a shared
 * store takes at most so much in one etcd Txn).  Until the last one, the
 * destination carries a "copying" mark in meta, and skr_store_open
 * refuses it (SKR_ERR_STORE_SCHEMA): a copy cut short is never mistaken
 * for a store.  Running the copy again starts over.
 */
#include "store_priv.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "guard.h"

#define COPY_BATCH 64
#define COPY_BYTES ((size_t)512 * 1024)
#define MARK "copying"

/* The databases copied, in order; meta only for the head, last. */
static const int copied[] = { DB_KEYS, DB_VERSIONS, DB_VINDEX, DB_DELETED,
	DB_PURGEQ, DB_TOKENS, DB_NONCES, DB_AUDIT };

struct copy {
	skr_store *to;
	skr_txn *txn;           /* the destination's open batch */
	size_t n, bytes;
	int db;
	skr_store_copy_stats *stats;
};

/* Commit the open batch, if any. */
static int
flush(struct copy *c)
{
	int r;

	if (c->txn == NULL)
		return SKR_OK;
	r = skr_store_txn_commit(c->txn);
	c->txn = NULL;
	c->n = c->bytes = 0;
	return r;
}

static int
copy_one(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	struct copy *c = arg;
	size_t vlen = vl;
	int r;

	/* A record that fails its MAC is not copied over as if it were
	 * good: the copy stops there. */
	if (c->db != DB_AUDIT && (r = skr__rec_verify(c->to, c->db, k, kl, v,
	    &vlen)) != SKR_OK)
		return r;
	if (c->txn == NULL && (r = skr_store_txn_begin(c->to,
	    SKR_TXN_WRITE_RESERVE, &c->txn)) != SKR_OK)
		return r;
	if ((r = c->txn->st->ops->put(c->txn->bt, c->db, k, kl, v, vl)) !=
	    SKR_OK)
		return r;
	c->n++;
	c->bytes += kl + vl;
	c->stats->records++;
	if (c->n >= COPY_BATCH || c->bytes >= COPY_BYTES)
		return flush(c);
	return SKR_OK;
}

/* Walk callback: one entry is enough. */
static int
any(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	(*(size_t *)arg)++;
	return *(size_t *)arg > 1 ? 1 : SKR_OK;
}

static int
count_upto_2(skr_txn *txn, int db, size_t *n)
{
	*n = 0;
	return skr__raw_walk(txn, db, NULL, 0, any, n);
}

/*
 * The destination holds what skrd init made and nothing else: no keys,
 * versions, deleted keys, nonces; one token at most; a chain of one
 * record at most.  That much goes (the copy brings the source's tokens);
 * the mark goes in.  A destination that carries the mark already is a
 * copy cut short: emptied too.
 */
static int
prepare(skr_store *to)
{
	static const int must_be_empty[] = { DB_KEYS, DB_VERSIONS, DB_VINDEX,
		DB_DELETED, DB_PURGEQ, DB_NONCES };
	skr_txn *txn = NULL;
	const uint8_t *v;
	size_t vl, n, i;
	int r, resume;

	SKR_GUARD(skr_store_txn_begin(to, SKR_TXN_WRITE_RESERVE, &txn));
	r = skr__raw_get(txn, DB_META, MARK, strlen(MARK), &v, &vl);
	SKR_ENSURE(r == SKR_OK || r == SKR_ERR_NOT_FOUND, r);
	resume = r == SKR_OK;
	if (!resume) {
		for (i = 0; i < sizeof(must_be_empty) /
		    sizeof(must_be_empty[0]); i++) {
			SKR_GUARD(count_upto_2(txn, must_be_empty[i], &n));
			SKR_ENSURE(n == 0, SKR_ERR_CONFLICT);
		}
		SKR_GUARD(count_upto_2(txn, DB_TOKENS, &n));
		SKR_ENSURE(n <= 1, SKR_ERR_CONFLICT);
		SKR_GUARD(count_upto_2(txn, DB_AUDIT, &n));
		SKR_ENSURE(n <= 1, SKR_ERR_CONFLICT);
	}
	for (i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
		SKR_GUARD(skr__raw_del_prefix(txn, copied[i], "", 0));
	r = skr__raw_del(txn, DB_META, SKR__HEAD_KEY, strlen(SKR__HEAD_KEY));
	SKR_ENSURE(r == SKR_OK || r == SKR_ERR_NOT_FOUND, r);
	SKR_GUARD(txn->st->ops->put(txn->bt, DB_META, MARK, strlen(MARK), "1",
	    1));
	r = skr_store_txn_commit(txn);
	txn = NULL;
out:
	skr_store_txn_abort(txn);
	return r;
}

int
skr_store_copy(skr_store *from, skr_store *to, skr_store_copy_stats *stats)
{
	skr_store_copy_stats scratch;
	struct copy c;
	skr_txn *src = NULL, *txn = NULL;
	const uint8_t *v;
	size_t vl, i;
	uint64_t count = 0, broken = 0;
	int r;

	if (stats == NULL)
		stats = &scratch;
	memset(stats, 0, sizeof(*stats));
	memset(&c, 0, sizeof(c));
	if (from == NULL || to == NULL || from == to)
		return SKR_ERR_INVAL;
	/* The source's own chain first: a broken one is not copied. */
	SKR_GUARD(skr_store_txn_begin(from, SKR_TXN_READ, &src));
	SKR_GUARD(skr_audit_verify(src, &count, &broken));
	SKR_GUARD(prepare(to));
	c.to = to;
	c.stats = stats;
	for (i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		c.db = copied[i];
		SKR_GUARD(skr__raw_walk(src, c.db, NULL, 0, copy_one, &c));
		SKR_GUARD(flush(&c));
	}
	/* Last: the head, and the mark goes. */
	SKR_GUARD(skr_store_txn_begin(to, SKR_TXN_WRITE_RESERVE, &txn));
	r = skr__raw_get(src, DB_META, SKR__HEAD_KEY, strlen(SKR__HEAD_KEY), &v,
	    &vl);
	SKR_ENSURE(r == SKR_OK || r == SKR_ERR_NOT_FOUND, r);
	if (r == SKR_OK)
		SKR_GUARD(txn->st->ops->put(txn->bt, DB_META, SKR__HEAD_KEY,
		    strlen(SKR__HEAD_KEY), v, vl));
	SKR_GUARD(skr__raw_del(txn, DB_META, MARK, strlen(MARK)));
	r = skr_store_txn_commit(txn);
	txn = NULL;
	SKR_GUARD(r);
	/* What arrived is the same chain. */
	SKR_GUARD(skr_store_txn_begin(to, SKR_TXN_READ, &txn));
	SKR_GUARD(skr_audit_verify(txn, &stats->audit_records, &broken));
	SKR_ENSURE(stats->audit_records == count, SKR_ERR_AUDIT_BROKEN);
out:
	if (c.txn != NULL)
		skr_store_txn_abort(c.txn);
	skr_store_txn_abort(txn);
	skr_store_txn_abort(src);
	return r;
}
