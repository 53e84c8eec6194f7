/*
 * Server nonces (docs/store.md, "Server nonces"): issued with an expiry,
 * used at most once, the use durable with the transaction that made it.
 */
#include "store_priv.h"

#include <string.h>

#include "encoding.h"
#include "guard.h"
#include "random.h"

/* Value: expiry (i64 BE) || used (1 byte). */
#define NONCE_VAL_LEN 9

static int
nonce_put(skr_txn *txn, const char *nonce, int64_t exp, int used)
{
	uint8_t v[NONCE_VAL_LEN];

	be64_put(v, (uint64_t)exp);
	v[8] = used ? 1 : 0;
	return skr__rec_put(txn, DB_NONCES, nonce, strlen(nonce), v, sizeof(v));
}

int
skr_store_nonce_issue(skr_txn *txn, int64_t now, int64_t ttl,
    char out[SKR_NONCE_TEXT_LEN + 1])
{
	uint8_t rnd[32];
	skr_buf text = SKR_BUF_INIT;
	int r;

	out[0] = '\0';
	if (txn == NULL || !txn->write || ttl <= 0)
		return SKR_ERR_INVAL;
	SKR_GUARD(skr_random(rnd, sizeof(rnd)));
	SKR_GUARD(skr_b64url_encode(&text, rnd, sizeof(rnd)));
	SKR_ENSURE(text.len == SKR_NONCE_TEXT_LEN, SKR_ERR_INTERNAL);
	SKR_GUARD(nonce_put(txn, skr_buf_cstr(&text), now + ttl, 0));
	memcpy(out, text.data, text.len + 1);
out:
	skr_buf_free(&text);
	return r;
}

static int
nonce_usable(skr_txn *txn, const char *nonce, int64_t now, int64_t *expp)
{
	const uint8_t *v;
	size_t vl, n;
	int64_t exp;
	int r;

	if (txn == NULL)
		return SKR_ERR_INVAL;
	if (nonce == NULL || (n = strnlen(nonce, SKR_NONCE_TEXT_LEN + 1)) !=
	    SKR_NONCE_TEXT_LEN)
		return SKR_ERR_NONCE_INVALID;
	r = skr__rec_get(txn, DB_NONCES, nonce, n, &v, &vl);
	if (r == SKR_ERR_NOT_FOUND)
		return SKR_ERR_NONCE_INVALID;
	if (r != SKR_OK)
		return r;
	if (vl != NONCE_VAL_LEN)
		return SKR_ERR_STORE;
	exp = (int64_t)be64_get(v);
	if (v[8])
		return SKR_ERR_NONCE_REUSED;
	if (exp <= now)
		return SKR_ERR_NONCE_EXPIRED;
	*expp = exp;
	return SKR_OK;
}

int
skr_store_nonce_check(skr_txn *txn, const char *nonce, int64_t now)
{
	int64_t exp;

	return nonce_usable(txn, nonce, now, &exp);
}

int
skr_store_nonce_consume(skr_txn *txn, const char *nonce, int64_t now)
{
	int64_t exp;
	int r;

	if (txn == NULL || !txn->write)
		return SKR_ERR_INVAL;
	if ((r = nonce_usable(txn, nonce, now, &exp)) != SKR_OK)
		return r;
	return nonce_put(txn, nonce, exp, 1);
}

int
skr_store_nonce_prune(skr_txn *txn, int64_t now, size_t *npruned)
{
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	size_t n = 0, vl;
	int r = SKR_OK, rc;

	if (npruned != NULL)
		*npruned = 0;
	if (txn == NULL || !txn->write)
		return SKR_ERR_INVAL;
	if ((rc = mdb_cursor_open(txn->t, txn->st->dbi[DB_NONCES], &cur)) !=
	    MDB_SUCCESS)
		return skr__lmdb_err(rc);
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == MDB_SUCCESS;
	    rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		vl = val.mv_size;
		/* A record that fails its MAC is removed too: it is not one
		 * the server wrote, and keeping it helps no one. */
		if (skr__rec_verify(txn->st, DB_NONCES, key.mv_data,
		    key.mv_size, val.mv_data, &vl) == SKR_OK &&
		    vl == NONCE_VAL_LEN &&
		    (int64_t)be64_get(val.mv_data) > now)
			continue;
		if ((rc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS)
			break;
		n++;
	}
	if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
		r = skr__lmdb_err(rc);
	mdb_cursor_close(cur);
	if (r == SKR_OK && npruned != NULL)
		*npruned = n;
	return r;
}
