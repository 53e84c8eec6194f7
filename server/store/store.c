/*
 * The sealed store: opening and creating it over a backend (backend.h:
 * LMDB, or etcd for replicas), the schema and its migration, transactions,
 * record access under the record MAC, and statistics.  The concerns built
 * on it have files of their own: names.c, versions.c, paging.c, deleted.c,
 * backup.c (over the pure backup_codec.c), tokens.c and nonces.c;
 * store_priv.h is what they share.
 *
 * docs/store.md describes the schema; the short version:
 *
 *   meta      "schema" -> "2"; "check" -> sealed check value; audit head
 *   keys      folded name -> key record (JSON + MAC)
 *   versions  folded name \0 seq (u32 BE) -> u32 BE metalen, meta JSON,
 *             sealed private bytes (+ MAC)
 *   vindex    folded name \0 version id -> seq (+ MAC)
 *   deleted   folded name -> key record of a soft-deleted key (+ MAC)
 *   tokens    token id -> token record (JSON + MAC)
 *   nonces    nonce text -> expiry (i64 BE) and used flag (+ MAC)
 *   purgeq    purge date (i64 BE) folded name -> nothing (+ MAC): the
 *             soft-deleted keys in the order they fall due (schema 2)
 *   audit     seq (u64 BE) -> canonical record JSON (audit.c)
 *
 * Every value except meta and audit ends with an HMAC-SHA256 over the
 * database name, the record's key and the value, so metadata such as a release
 * policy cannot be edited or moved on disk without the master key.
 */
#include "store_priv.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "guard.h"
#include "skr/error.h"

const char *const skr__db_names[NDB] = {
	[DB_META] = "meta",
	[DB_AUDIT] = "audit",
	[DB_KEYS] = "keys",
	[DB_VERSIONS] = "versions",
	[DB_VINDEX] = "vindex",
	[DB_DELETED] = "deleted",
	[DB_TOKENS] = "tokens",
	[DB_NONCES] = "nonces",
	[DB_PURGEQ] = "purgeq",
};

/* ---- MACs ------------------------------------------------------------- */

int
skr__hmac_parts(const skr_store *st, const skr_master_key *key,
    const void *const *parts, const size_t *lens, size_t nparts,
    uint8_t out[MAC_LEN])
{
	EVP_MAC_CTX *ctx;
	OSSL_PARAM params[2];
	size_t outlen = 0, i;
	int r = SKR_OK;

	if ((ctx = EVP_MAC_CTX_new(st->hmac)) == NULL)
		return SKR_ERR_NOMEM;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	SKR_ENSURE(EVP_MAC_init(ctx, skr_master_key_bytes(key),
	    SKR_MASTER_KEY_LEN, params) == 1, SKR_ERR_CRYPTO);
	for (i = 0; i < nparts; i++)
		SKR_ENSURE(lens[i] == 0 || EVP_MAC_update(ctx, parts[i],
		    lens[i]) == 1, SKR_ERR_CRYPTO);
	SKR_ENSURE(EVP_MAC_final(ctx, out, &outlen, MAC_LEN) == 1 &&
	    outlen == MAC_LEN, SKR_ERR_CRYPTO);
out:
	EVP_MAC_CTX_free(ctx);
	return r;
}

/* MAC over db name, record key and value, each length-prefixed. */
static int
rec_mac(const skr_store *st, int db, const void *k, size_t kl, const void *v,
    size_t vl, uint8_t out[MAC_LEN])
{
	uint8_t lk[4], lv[4];
	const char *dn = skr__db_names[db];
	const void *parts[5];
	size_t lens[5];

	if (kl > UINT32_MAX || vl > UINT32_MAX)
		return SKR_ERR_TOO_LARGE;
	be32_put(lk, (uint32_t)kl);
	be32_put(lv, (uint32_t)vl);
	parts[0] = dn;  lens[0] = strlen(dn) + 1;
	parts[1] = lk;  lens[1] = 4;
	parts[2] = k;   lens[2] = kl;
	parts[3] = lv;  lens[3] = 4;
	parts[4] = v;   lens[4] = vl;
	return skr__hmac_parts(st, st->mac, parts, lens, 5, out);
}

/* Check the trailing MAC of a stored value; *vl becomes the payload length. */
int
skr__rec_verify(const skr_store *st, int db, const void *k, size_t kl,
    const uint8_t *v, size_t *vl)
{
	uint8_t mac[MAC_LEN];
	int r;

	if (*vl < MAC_LEN)
		return SKR_ERR_SEAL_OPEN;
	if ((r = rec_mac(st, db, k, kl, v, *vl - MAC_LEN, mac)) != SKR_OK)
		return r;
	if (!skr_ct_equal(mac, v + *vl - MAC_LEN, MAC_LEN))
		return SKR_ERR_SEAL_OPEN;
	*vl -= MAC_LEN;
	return SKR_OK;
}

/* ---- raw access --------------------------------------------------------- */

int
skr__raw_get(skr_txn *txn, int db, const void *k, size_t kl, const uint8_t **v,
    size_t *vl)
{
	return txn->st->ops->get(txn->bt, db, k, kl, v, vl);
}

static int
raw_put(skr_txn *txn, int db, const void *k, size_t kl, const void *v,
    size_t vl)
{
	if (!txn->write)
		return SKR_ERR_INVAL;
	return txn->st->ops->put(txn->bt, db, k, kl, v, vl);
}

int
skr__raw_del(skr_txn *txn, int db, const void *k, size_t kl)
{
	if (!txn->write)
		return SKR_ERR_INVAL;
	return txn->st->ops->del(txn->bt, db, k, kl);
}

int
skr__raw_del_prefix(skr_txn *txn, int db, const void *prefix, size_t plen)
{
	if (!txn->write)
		return SKR_ERR_INVAL;
	return txn->st->ops->del_prefix(txn->bt, db, prefix, plen);
}

int
skr__raw_walk(skr_txn *txn, int db, const void *from, size_t fl,
    skr__be_walk_fn fn, void *arg)
{
	return txn->st->ops->walk(txn->bt, db, from, fl, fn, arg);
}

/* A MAC-protected value; borrowed until the transaction ends. */
int
skr__rec_get(skr_txn *txn, int db, const void *k, size_t kl, const uint8_t **v,
    size_t *vl)
{
	int r;

	if ((r = skr__raw_get(txn, db, k, kl, v, vl)) != SKR_OK)
		return r;
	return skr__rec_verify(txn->st, db, k, kl, *v, vl);
}

int
skr__rec_put(skr_txn *txn, int db, const void *k, size_t kl, const void *v,
    size_t vl)
{
	uint8_t mac[MAC_LEN], *buf;
	int r;

	if (!txn->write)
		return SKR_ERR_INVAL;
	if ((r = rec_mac(txn->st, db, k, kl, v, vl, mac)) != SKR_OK)
		return r;
	if ((buf = malloc(vl + MAC_LEN)) == NULL)
		return SKR_ERR_NOMEM;
	if (vl > 0)
		memcpy(buf, v, vl);
	memcpy(buf + vl, mac, MAC_LEN);
	r = raw_put(txn, db, k, kl, buf, vl + MAC_LEN);
	free(buf);
	return r;
}

int
skr__rec_get_json(skr_txn *txn, int db, const void *k, size_t kl, json_t **out)
{
	const uint8_t *v;
	size_t vl;
	int r;

	*out = NULL;
	if ((r = skr__rec_get(txn, db, k, kl, &v, &vl)) != SKR_OK)
		return r;
	if ((*out = json_loadb((const char *)v, vl, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return SKR_ERR_STORE;
	}
	return SKR_OK;
}

int
skr__rec_put_json(skr_txn *txn, int db, const void *k, size_t kl,
    const json_t *o)
{
	char *s;
	int r;

	if ((s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return SKR_ERR_NOMEM;
	r = skr__rec_put(txn, db, k, kl, s, strlen(s));
	free(s);
	return r;
}

/* ---- transactions ------------------------------------------------------ */

/* Count the transaction in the store's current epoch (rotate.c waits for
 * an epoch to empty before it wipes an old key).  The epoch is read again
 * after counting, so a transaction is never counted in an epoch that was
 * already closed when it began. */
static void
txn_enter(skr_txn *txn)
{
	skr_store *st = txn->st;
	unsigned e;

	for (;;) {
		e = __atomic_load_n(&st->epoch, __ATOMIC_ACQUIRE) & 1;
		__atomic_add_fetch(&st->active[e], 1, __ATOMIC_ACQ_REL);
		if ((__atomic_load_n(&st->epoch, __ATOMIC_ACQUIRE) & 1) == e)
			break;
		__atomic_sub_fetch(&st->active[e], 1, __ATOMIC_ACQ_REL);
	}
	txn->epoch = e;
}

static void
txn_leave(skr_txn *txn)
{
	__atomic_sub_fetch(&txn->st->active[txn->epoch], 1, __ATOMIC_ACQ_REL);
}

int
skr_store_txn_begin(skr_store *st, int mode, skr_txn **out)
{
	skr_txn *txn;
	int r;

	*out = NULL;
	if (st == NULL || (mode != SKR_TXN_READ && mode != SKR_TXN_WRITE &&
	    mode != SKR_TXN_WRITE_RESERVE))
		return SKR_ERR_INVAL;
	if ((txn = calloc(1, sizeof(*txn))) == NULL)
		return SKR_ERR_NOMEM;
	txn->st = st;
	txn->write = mode != SKR_TXN_READ;
	if ((r = st->ops->txn_begin(st->be, mode, &txn->bt)) != SKR_OK) {
		free(txn);
		return r;
	}
	txn_enter(txn);
	*out = txn;
	return SKR_OK;
}

int
skr_store_txn_commit(skr_txn *txn)
{
	int r;

	if (txn == NULL)
		return SKR_ERR_INVAL;
	r = txn->st->ops->txn_commit(txn->bt);
	txn_leave(txn);
	free(txn);
	return r;
}

void
skr_store_txn_abort(skr_txn *txn)
{
	if (txn == NULL)
		return;
	txn->st->ops->txn_abort(txn->bt);
	txn_leave(txn);
	free(txn);
}

skr_store *
skr_store_txn_store(const skr_txn *txn)
{
	return txn->st;
}

int
skr__store_sub_begin(skr_txn *txn, skr_txn **out)
{
	skr_txn *sub;
	int r;

	*out = NULL;
	if (txn == NULL || !txn->write)
		return SKR_ERR_INVAL;
	if ((sub = calloc(1, sizeof(*sub))) == NULL)
		return SKR_ERR_NOMEM;
	sub->st = txn->st;
	sub->write = 1;
	sub->sub = 1;
	if ((r = txn->st->ops->sub_begin(txn->bt, &sub->bt)) != SKR_OK) {
		free(sub);
		return r;
	}
	*out = sub;
	return SKR_OK;
}

int
skr__store_sub_end(skr_txn *sub, int r)
{
	if (sub == NULL)
		return r;
	r = sub->st->ops->sub_end(sub->bt, r);
	free(sub);
	return r;
}

int
skr__store_txn_writable(const skr_txn *txn)
{
	return txn != NULL && txn->write;
}

void
skr_store_txn_track(skr_txn *txn, skr_store_reads *rs)
{
	if (txn != NULL && rs != NULL && txn->st->ops->track != NULL)
		txn->st->ops->track(txn->bt, rs);
}

int
skr__store_txn_fence(skr_txn *txn, const skr_store_reads *rs)
{
	if (txn == NULL || !txn->write)
		return SKR_ERR_INVAL;
	if (rs == NULL || txn->st->ops->fence == NULL)
		return SKR_OK;
	return txn->st->ops->fence(txn->bt, rs);
}

int
skr__store_reads_current(skr_store *st, const skr_store_reads *rs)
{
	if (rs == NULL || st->ops->current == NULL)
		return 1;
	return st->ops->current(st->be, rs);
}

void
skr__store_test(skr_store *st, int hold, int drop)
{
	if (st != NULL && st->ops->test != NULL)
		st->ops->test(st->be, hold, drop);
}

int
skr_store_replicated(const skr_store *st)
{
	return st != NULL && st->ops->sync != NULL;
}

static int
internal_db(int db)
{
	return db == SKR__DB_META || db == SKR__DB_AUDIT;
}

int
skr__store_get(skr_txn *txn, int db, const void *k, size_t klen,
    const void **v, size_t *vlen)
{
	const uint8_t *p;
	int r;

	if (!internal_db(db))
		return SKR_ERR_INVAL;
	if ((r = skr__raw_get(txn, db, k, klen, &p, vlen)) == SKR_OK)
		*v = p;
	return r;
}

int
skr__store_put(skr_txn *txn, int db, const void *k, size_t klen,
    const void *v, size_t vlen)
{
	if (!internal_db(db))
		return SKR_ERR_INVAL;
	return raw_put(txn, db, k, klen, v, vlen);
}

/* The audit walk's callback sees void pointers. */
struct walk_adapter {
	int (*fn)(void *, const void *, size_t, const void *, size_t);
	void *arg;
};

static int
walk_adapt(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct walk_adapter *w = arg;

	return w->fn(w->arg, k, kl, v, vl);
}

int
skr__store_walk(skr_txn *txn, int db, const void *k, size_t klen,
    int (*fn)(void *, const void *, size_t, const void *, size_t), void *arg)
{
	struct walk_adapter w = { fn, arg };

	if (!internal_db(db))
		return SKR_ERR_INVAL;
	return skr__raw_walk(txn, db, k, klen, walk_adapt, &w);
}

/* ---- open and create ----------------------------------------------------- */

void
skr_store_close(skr_store *st)
{
	if (st == NULL)
		return;
	/* Records still queued are committed before the store goes. */
	skr__committer_stop(st);
	pthread_mutex_destroy(&st->committer_mu);
	if (st->be != NULL)
		st->ops->close(st->be);
	EVP_MAC_free(st->hmac);
	pthread_rwlock_destroy(&st->keklock);
	skr_master_key_free(st->kek);
	skr_master_key_free(st->kek_old);
	skr_master_key_free(st->mac);
	skr_master_key_free(st->marker);
	skr_master_key_free(st->backup);
	free(st);
}

/* Open every database; those in the bit set `create` are made if missing,
 * any other that is missing is a schema error. */
static int
open_dbs(skr_txn *txn, unsigned create)
{
	int i, r;

	for (i = 0; i < NDB; i++)
		if ((r = txn->st->ops->db_open(txn->bt, i,
		    (create & (1u << i)) != 0)) != SKR_OK)
			return r;
	return SKR_OK;
}

#define ALL_DBS ((1u << NDB) - 1)

/* Schema 1 to 2: the soft-deleted keys indexed by purge date. */
static int
migrate_1(skr_txn *txn)
{
	int r;

	if ((r = skr__purgeq_index(txn)) != SKR_OK)
		return r;
	return raw_put(txn, DB_META, "schema", 6, "2", 1);
}

/* A store of its own on backend be, its key and committer locks ready;
 * NULL when memory is short. */
static skr_store *
store_new(skr__be *be)
{
	skr_store *st = calloc(1, sizeof(*st));

	if (st != NULL && pthread_rwlock_init(&st->keklock, NULL) != 0) {
		free(st);
		st = NULL;
	}
	if (st != NULL) {
		st->be = be;
		st->ops = be->ops;
		pthread_mutex_init(&st->committer_mu, NULL);
	}
	return st;
}

/* One generation-1 keyring holding a copy of mk. */
static int
keyring_of(const skr_master_key *mk, skr_keyring *kr)
{
	skr_master_key *copy;
	int r;

	memset(kr, 0, sizeof(*kr));
	if ((r = skr_master_key_from_bytes(skr_master_key_bytes(mk),
	    SKR_MASTER_KEY_LEN, &copy)) != SKR_OK)
		return r;
	return skr_keyring_add(kr, 1, copy);
}

/* fn (create or open) with a one-generation keyring of mk. */
static int
with_keyring(const char *dir, const skr_master_key *mk,
    const skr_store_opts *opts, skr_store **out,
    int (*fn)(const char *, const skr_keyring *, const skr_store_opts *,
    skr_store **))
{
	skr_keyring kr;
	int r;

	*out = NULL;
	if (dir == NULL || mk == NULL)
		return SKR_ERR_INVAL;
	if ((r = keyring_of(mk, &kr)) != SKR_OK)
		return r;
	r = fn(dir, &kr, opts, out);
	skr_keyring_clear(&kr);
	return r;
}

/* A new store on backend be (taken): the schema, the check value and the
 * generation (rotate.c). */
static int
store_init(skr__be *be, const skr_keyring *kr, skr_store **out)
{
	char schema[16];
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	const uint8_t *v;
	size_t vl;
	int r;

	*out = NULL;
	if ((st = store_new(be)) == NULL) {
		be->ops->destroy(be);
		return SKR_ERR_NOMEM;
	}
	SKR_GUARD(skr__store_keys_new(st, kr));
	SKR_GUARD(skr_store_txn_begin(st, SKR_TXN_WRITE_RESERVE, &txn));
	SKR_GUARD(open_dbs(txn, ALL_DBS));
	/* A store that appeared meanwhile (a shared store made twice at
	 * once) fails the commit: this read is fenced on. */
	r = skr__raw_get(txn, DB_META, "schema", 6, &v, &vl);
	SKR_ENSURE(r == SKR_ERR_NOT_FOUND, r == SKR_OK ? SKR_ERR_CONFLICT : r);
	snprintf(schema, sizeof(schema), "%d", SKR_STORE_SCHEMA_VERSION);
	SKR_GUARD(raw_put(txn, DB_META, "schema", 6, schema, strlen(schema)));
	SKR_GUARD(skr__store_keys_put(txn));
	r = skr_store_txn_commit(txn);
	txn = NULL;
	if (r == SKR_ERR_STORE_RETRY)
		r = SKR_ERR_CONFLICT;
	SKR_GUARD(r);
	*out = st;
	st = NULL;
out:
	skr_store_txn_abort(txn);
	if (st != NULL) {
		st->ops->destroy(st->be);
		st->be = NULL;
		skr_store_close(st);
	}
	return r;
}

int
skr_store_create(const char *dir, const skr_master_key *mk,
    const skr_store_opts *opts, skr_store **out)
{
	return with_keyring(dir, mk, opts, out, skr_store_create_keyring);
}

int
skr_store_create_keyring(const char *dir, const skr_keyring *kr,
    const skr_store_opts *opts, skr_store **out)
{
	skr__be *be = NULL;
	int r;

	*out = NULL;
	if (dir == NULL || kr == NULL || kr->n == 0)
		return SKR_ERR_INVAL;
	if (opts != NULL && opts->etcd != NULL)
		r = skr__etcd_create(dir, opts->etcd, &be);
	else
		r = skr__lmdb_create(dir, opts, &be);
	if (r != SKR_OK)
		return r;
	return store_init(be, kr, out);
}

/* Check the schema and the master key of the store on be (taken), and
 * migrate an older schema. */
static int
store_check(skr__be *be, const skr_keyring *kr, int copying,
    skr_store **out)
{
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	const uint8_t *v;
	size_t vl;
	int r, schema;

	*out = NULL;
	if ((st = store_new(be)) == NULL) {
		be->ops->close(be);
		return SKR_ERR_NOMEM;
	}
	SKR_GUARD(skr_store_txn_begin(st, SKR_TXN_WRITE_RESERVE, &txn));
	/* The schema first: a later schema may have other databases. */
	SKR_GUARD(st->ops->db_open(txn->bt, DB_META, 0));
	r = skr__raw_get(txn, DB_META, "schema", 6, &v, &vl);
	if (r == SKR_ERR_NOT_FOUND)
		r = SKR_ERR_STORE_SCHEMA;
	SKR_GUARD(r);
	/* One ASCII digit: "1" and "2" are known. */
	schema = vl == 1 ? v[0] - '0' : 0;
	SKR_ENSURE(schema >= SKR_STORE_SCHEMA_OLDEST &&
	    schema <= SKR_STORE_SCHEMA_VERSION, SKR_ERR_STORE_SCHEMA);
	/* Schema 1 had no purge index. */
	SKR_GUARD(open_dbs(txn, schema == 1 ? 1u << DB_PURGEQ : 0));
	/* The generations and the check, before anything else is read. */
	SKR_GUARD(skr__store_keys_load(txn, kr));
	/* A store skr_store_copy has not finished filling is none yet. */
	r = skr__raw_get(txn, DB_META, "copying", 7, &v, &vl);
	SKR_ENSURE(r == SKR_ERR_NOT_FOUND || (r == SKR_OK && copying),
	    r == SKR_OK ? SKR_ERR_STORE_SCHEMA : r);
	if (schema == 1)
		SKR_GUARD(migrate_1(txn));
	r = skr_store_txn_commit(txn);
	txn = NULL;
	SKR_GUARD(r);
	*out = st;
	st = NULL;
out:
	skr_store_txn_abort(txn);
	skr_store_close(st);
	return r;
}

static int
json_path(const char *dir, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", dir, SKR_STORE_ETCD_FILE);

	return n > 0 && (size_t)n < outlen ? SKR_OK : SKR_ERR_INVAL;
}

int
skr_store_open(const char *dir, const skr_master_key *mk,
    const skr_store_opts *opts, skr_store **out)
{
	return with_keyring(dir, mk, opts, out, skr_store_open_keyring);
}

int
skr_store_open_keyring(const char *dir, const skr_keyring *kr,
    const skr_store_opts *opts, skr_store **out)
{
	char path[PATH_MAX];
	skr__be *be = NULL;
	int r;

	*out = NULL;
	if (dir == NULL || kr == NULL || kr->n == 0)
		return SKR_ERR_INVAL;
	/* A data directory names its shared store in store.json. */
	if (json_path(dir, path, sizeof(path)) == SKR_OK &&
	    access(path, F_OK) == 0)
		r = skr__etcd_open(dir, &be);
	else
		r = skr__lmdb_open(dir, opts, &be);
	if (r != SKR_OK)
		return r;
	return store_check(be, kr, opts != NULL && opts->copying, out);
}

/* ---- statistics ------------------------------------------------------------ */

int
skr_store_stats_get(skr_store *st, skr_store_stats *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return SKR_ERR_INVAL;
	r = st->ops->stats(st->be, out);
	skr__committer_stats(st, out);
	return r;
}

void
skr_store_commit_interval(skr_store *st, unsigned us)
{
	if (st != NULL)
		__atomic_store_n(&st->commit_interval_us, us,
		    __ATOMIC_RELAXED);
}

int
skr_store_sync(skr_store *st)
{
	if (st == NULL)
		return SKR_ERR_INVAL;
	return st->ops->sync != NULL ? st->ops->sync(st->be) : SKR_OK;
}
