/*
 * Server nonces (docs/store.md, "Server nonces"): issued with an expiry,
 * used at most once, the use durable with the transaction that made it.
 */
#include "store_priv.h"

#include <stdint.h>
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

/* The keys a prune removes, each as u16 BE length || bytes, gathered
 * before any is removed: a walk's callback does not change the store. */
struct prune {
	const skr_store *st;
	int64_t now;
	skr_buf gone;
	size_t n, max;
};

static int
prune_collect(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct prune *p = arg;
	uint8_t len[2];
	int r;

	/* A record that fails its MAC is removed too: it is not one the
	 * server wrote, and keeping it helps no one. */
	if (skr__rec_verify(p->st, DB_NONCES, k, kl, v, &vl) == SKR_OK &&
	    vl == NONCE_VAL_LEN && (int64_t)be64_get(v) > p->now)
		return SKR_OK;
	if (p->n >= p->max)
		return 1;
	if (kl > UINT16_MAX)
		return SKR_ERR_STORE;
	len[0] = (uint8_t)(kl >> 8);
	len[1] = (uint8_t)kl;
	if ((r = skr_buf_append(&p->gone, len, 2)) != SKR_OK ||
	    (r = skr_buf_append(&p->gone, k, kl)) != SKR_OK)
		return r;
	p->n++;
	return SKR_OK;
}

int
skr_store_nonce_prune(skr_txn *txn, int64_t now, size_t *npruned)
{
	struct prune p;
	size_t off, kl;
	int r;

	if (npruned != NULL)
		*npruned = 0;
	if (txn == NULL || !txn->write)
		return SKR_ERR_INVAL;
	memset(&p, 0, sizeof(p));
	skr_buf_init(&p.gone, 0);
	p.st = txn->st;
	p.now = now;
	p.max = skr_store_replicated(txn->st) ? SKR_NONCE_PRUNE_MAX : SIZE_MAX;
	r = skr__raw_walk(txn, DB_NONCES, NULL, 0, prune_collect, &p);
	for (off = 0; r == SKR_OK && off < p.gone.len; off += 2 + kl) {
		kl = (size_t)p.gone.data[off] << 8 | p.gone.data[off + 1];
		r = skr__raw_del(txn, DB_NONCES, p.gone.data + off + 2, kl);
	}
	if (r == SKR_OK && npruned != NULL)
		*npruned = p.n;
	skr_buf_free(&p.gone);
	return r;
}
