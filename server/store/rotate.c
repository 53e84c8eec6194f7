/*
 * Master key generations (docs/sealing.md, "Generations" and "Rotation"):
 * which keys a store is opened with, and moving its data keys from one
 * generation to the next while it serves.
 *
 * Two kinds of key come from the master key.  The key-encryption key of a
 * generation (HKDF label "skr/v1/kek") seals the per-key data keys and the
 * check value; it changes with every rotation.  The domain keys -- record
 * MACs, paging markers and the backup root -- are derived once, from the
 * store's first generation, and are then carried from generation to
 * generation sealed under the current key-encryption key (meta "domain"),
 * so that records, markers and backups stay valid across rotations and the
 * security domain of a backup is the store's, not a generation's.  A store
 * that never rotated has no "domain" record: its domain keys are derived
 * from its generation-1 key, as they always were.
 *
 * meta records (raw unless said):
 *   "check"   seal(KEK(gen), AAD "skr/v1/check\0", fixed text)
 *   "mkgen"   the current generation in decimal; absent: 1
 *   "domain"  seal(KEK(gen), AAD "skr/v1/domain\0" || gen (u32 BE),
 *             MAC key || marker key || backup root)
 *   "rotate"  (with record MAC) {"from":G,"db":0|1,"cursor":NAME,
 *             "moved":N}: a rotation in progress and how far it got
 */
#include "store_priv.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "guard.h"
#include "seal.h"

/* HKDF info labels (docs/store.md): the master key itself is never used. */
#define LABEL_KEK "skr/v1/kek"
#define LABEL_MAC "skr/v1/record-mac"
#define LABEL_MARKER "skr/v1/marker"
#define LABEL_BACKUP_ROOT "skr/v1/backup-root"

/* Associated data prefixes; the trailing NUL is part of each. */
#define AAD_CHECK "skr/v1/check"
#define AAD_DOMAIN "skr/v1/domain"

#define STEP_DEFAULT 64

static const uint8_t check_pt[] = "skr master key check";

static int
domain_derive(skr_store *st, const skr_master_key *mk)
{
	int r;

	if ((r = skr_master_key_derive(mk, NULL, 0, LABEL_MAC, &st->mac)) !=
	    SKR_OK ||
	    (r = skr_master_key_derive(mk, NULL, 0, LABEL_MARKER,
	    &st->marker)) != SKR_OK ||
	    (r = skr_master_key_derive(mk, NULL, 0, LABEL_BACKUP_ROOT,
	    &st->backup)) != SKR_OK)
		return r;
	return SKR_OK;
}

static int
hmac_fetch(skr_store *st)
{
	if (st->hmac == NULL && (st->hmac = EVP_MAC_fetch(NULL, "HMAC",
	    NULL)) == NULL)
		return SKR_ERR_CRYPTO;
	return SKR_OK;
}

static int
aad_domain(uint32_t gen, uint8_t out[sizeof(AAD_DOMAIN) + 4])
{
	memcpy(out, AAD_DOMAIN, sizeof(AAD_DOMAIN));
	be32_put(out + sizeof(AAD_DOMAIN), gen);
	return (int)(sizeof(AAD_DOMAIN) + 4);
}

/* Seal the check value and the domain keys under kek for generation gen
 * into txn's meta. */
static int
keys_put(skr_txn *txn, const skr_master_key *kek, uint32_t gen)
{
	skr_store *st = txn->st;
	skr_buf sealed = SKR_BUF_INIT, dom = SKR_BUF_INIT_SECRET;
	uint8_t aad[sizeof(AAD_DOMAIN) + 4];
	char num[16];
	int r, n;

	SKR_GUARD(skr_seal(skr_master_key_bytes(kek), (const uint8_t *)
	    AAD_CHECK, sizeof(AAD_CHECK), check_pt, sizeof(check_pt) - 1,
	    &sealed));
	SKR_GUARD(skr__store_put(txn, DB_META, "check", 5, sealed.data,
	    sealed.len));
	if (gen == 1)
		goto out;
	snprintf(num, sizeof(num), "%u", (unsigned)gen);
	SKR_GUARD(skr__store_put(txn, DB_META, "mkgen", 5, num, strlen(num)));
	SKR_GUARD(skr_buf_append(&dom, skr_master_key_bytes(st->mac),
	    SKR_MASTER_KEY_LEN));
	SKR_GUARD(skr_buf_append(&dom, skr_master_key_bytes(st->marker),
	    SKR_MASTER_KEY_LEN));
	SKR_GUARD(skr_buf_append(&dom, skr_master_key_bytes(st->backup),
	    SKR_MASTER_KEY_LEN));
	n = aad_domain(gen, aad);
	skr_buf_reset(&sealed);
	SKR_GUARD(skr_seal(skr_master_key_bytes(kek), aad, (size_t)n,
	    dom.data, dom.len, &sealed));
	SKR_GUARD(skr__store_put(txn, DB_META, "domain", 6, sealed.data,
	    sealed.len));
out:
	skr_buf_free(&sealed);
	skr_buf_free(&dom);
	return r;
}

int
skr__store_keys_new(skr_store *st, const skr_keyring *kr)
{
	uint32_t gen = skr_keyring_newest(kr);
	const skr_master_key *mk = skr_keyring_find(kr, gen);
	int r;

	if (mk == NULL)
		return SKR_ERR_INVAL;
	SKR_GUARD(skr_master_key_derive(mk, NULL, 0, LABEL_KEK, &st->kek));
	SKR_GUARD(domain_derive(st, mk));
	SKR_GUARD(hmac_fetch(st));
	st->gen = gen;
out:
	return r;
}

int
skr__store_keys_put(skr_txn *txn)
{
	return keys_put(txn, txn->st->kek, txn->st->gen);
}

/* A decimal generation from meta, or def when absent. */
static int
meta_gen(skr_txn *txn, const char *name, uint32_t def, uint32_t *out)
{
	const void *v;
	size_t vl, i;
	uint64_t g = 0;
	int r;

	r = skr__store_get(txn, DB_META, name, strlen(name), &v, &vl);
	if (r == SKR_ERR_NOT_FOUND) {
		*out = def;
		return SKR_OK;
	}
	if (r != SKR_OK)
		return r;
	if (vl == 0 || vl > 10)
		return SKR_ERR_STORE;
	for (i = 0; i < vl; i++) {
		if (((const char *)v)[i] < '0' || ((const char *)v)[i] > '9')
			return SKR_ERR_STORE;
		g = g * 10 + (uint64_t)(((const char *)v)[i] - '0');
	}
	if (g == 0 || g > UINT32_MAX)
		return SKR_ERR_STORE;
	*out = (uint32_t)g;
	return SKR_OK;
}

/* The rotation record, or NULL when none runs. */
static int
rotate_get(skr_txn *txn, json_t **out)
{
	int r = skr__rec_get_json(txn, DB_META, "rotate", 6, out);

	if (r == SKR_ERR_NOT_FOUND) {
		*out = NULL;
		return SKR_OK;
	}
	return r;
}

int
skr__store_keys_load(skr_txn *txn, const skr_keyring *kr)
{
	skr_store *st = txn->st;
	skr_buf pt = SKR_BUF_INIT_SECRET;
	uint8_t aad[sizeof(AAD_DOMAIN) + 4];
	const skr_master_key *mk;
	const void *v;
	size_t vl;
	json_t *rot = NULL;
	uint32_t gen;
	int r, n;

	SKR_GUARD(meta_gen(txn, "mkgen", 1, &gen));
	/* A keyring without the store's generation belongs to another
	 * store, or lost a generation. */
	SKR_ENSURE((mk = skr_keyring_find(kr, gen)) != NULL,
	    SKR_ERR_MASTER_KEY);
	SKR_GUARD(skr_master_key_derive(mk, NULL, 0, LABEL_KEK, &st->kek));
	st->gen = gen;
	r = skr__store_get(txn, DB_META, "check", 5, &v, &vl);
	if (r == SKR_ERR_NOT_FOUND)
		r = SKR_ERR_STORE_SCHEMA;
	SKR_GUARD(r);
	SKR_GUARD(skr_seal_open(skr_master_key_bytes(st->kek), (const uint8_t *)
	    AAD_CHECK, sizeof(AAD_CHECK), v, vl, &pt));
	skr_buf_reset(&pt);
	r = skr__store_get(txn, DB_META, "domain", 6, &v, &vl);
	if (r == SKR_ERR_NOT_FOUND) {
		/* Never rotated: the domain keys come from generation 1. */
		SKR_ENSURE(gen == 1, SKR_ERR_STORE_SCHEMA);
		SKR_GUARD(domain_derive(st, mk));
	} else {
		SKR_GUARD(r);
		n = aad_domain(gen, aad);
		SKR_GUARD(skr_seal_open(skr_master_key_bytes(st->kek), aad,
		    (size_t)n, v, vl, &pt));
		SKR_ENSURE(pt.len == 3 * SKR_MASTER_KEY_LEN, SKR_ERR_SEAL_OPEN);
		SKR_GUARD(skr_master_key_from_bytes(pt.data,
		    SKR_MASTER_KEY_LEN, &st->mac));
		SKR_GUARD(skr_master_key_from_bytes(pt.data +
		    SKR_MASTER_KEY_LEN, SKR_MASTER_KEY_LEN, &st->marker));
		SKR_GUARD(skr_master_key_from_bytes(pt.data + 2 *
		    SKR_MASTER_KEY_LEN, SKR_MASTER_KEY_LEN, &st->backup));
	}
	SKR_GUARD(hmac_fetch(st));
	/* A rotation in progress needs the older generation as well. */
	SKR_GUARD(rotate_get(txn, &rot));
	if (rot != NULL) {
		int64_t from = jint(rot, "from");

		SKR_ENSURE(from > 0 && from < gen, SKR_ERR_STORE);
		SKR_ENSURE((mk = skr_keyring_find(kr, (uint32_t)from)) != NULL,
		    SKR_ERR_MASTER_KEY);
		SKR_GUARD(skr_master_key_derive(mk, NULL, 0, LABEL_KEK,
		    &st->kek_old));
		st->gen_old = (uint32_t)from;
	}
out:
	json_decref(rot);
	skr_buf_free(&pt);
	return r;
}

int
skr_store_rotation_status(skr_store *st, skr_rotation_status *out)
{
	skr_txn *txn = NULL;
	json_t *rot = NULL;
	skr_store_stats ss;
	int r;

	memset(out, 0, sizeof(*out));
	SKR_GUARD(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	SKR_GUARD(meta_gen(txn, "mkgen", 1, &out->gen));
	SKR_GUARD(rotate_get(txn, &rot));
	if (rot != NULL) {
		out->from = (uint32_t)jint(rot, "from");
		out->moved = (uint64_t)jint(rot, "moved");
	}
	SKR_GUARD(skr_store_stats_get(st, &ss));
	out->total = ss.keys + ss.deleted;
out:
	json_decref(rot);
	skr_store_txn_abort(txn);
	return r;
}

static void
rotate_audit(skr_audit_rec *rec, const char *event, const char *principal,
    uint32_t from, uint32_t to)
{
	memset(rec, 0, sizeof(*rec));
	rec->event = event;
	rec->outcome = "ok";
	rec->principal = principal;
	skr_audit_detail_int(rec, "from", from);
	skr_audit_detail_int(rec, "to", to);
}

int
skr_store_rotate_begin(skr_store *st, uint32_t gen, const skr_master_key *key,
    const char *principal, int64_t now)
{
	skr_master_key *kek = NULL, *prev_kek;
	skr_txn *txn = NULL;
	skr_audit_rec rec;
	json_t *rot = NULL, *cur = NULL;
	uint32_t prev_gen;
	int r;

	if (st == NULL || key == NULL)
		return SKR_ERR_INVAL;
	SKR_GUARD(skr_master_key_derive(key, NULL, 0, LABEL_KEK, &kek));
	SKR_GUARD(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	SKR_GUARD(rotate_get(txn, &cur));
	SKR_ENSURE(cur == NULL && st->kek_old == NULL, SKR_ERR_CONFLICT);
	SKR_ENSURE(gen > st->gen, SKR_ERR_INVAL);
	SKR_GUARD(keys_put(txn, kek, gen));
	rot = json_pack("{s:I,s:i,s:s,s:I}", "from", (json_int_t)st->gen,
	    "db", 0, "cursor", "", "moved", (json_int_t)0);
	SKR_ENSURE(rot != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(skr__rec_put_json(txn, DB_META, "rotate", 6, rot));
	rotate_audit(&rec, "master-key.rotate.start", principal, st->gen, gen);
	/* The new key takes over before the commit: a write transaction
	 * that follows ours can only seal under it (LMDB serialises
	 * writers), while readers of older snapshots still find the old
	 * key as kek_old. */
	pthread_rwlock_wrlock(&st->keklock);
	prev_kek = st->kek;
	prev_gen = st->gen;
	st->kek_old = st->kek;
	st->gen_old = st->gen;
	st->kek = kek;
	st->gen = gen;
	pthread_rwlock_unlock(&st->keklock);
	kek = NULL;
	r = skr_audit_commit(txn, &rec, 1, now);
	txn = NULL;
	if (r != SKR_OK) {
		pthread_rwlock_wrlock(&st->keklock);
		kek = st->kek;
		st->kek = prev_kek;
		st->gen = prev_gen;
		st->kek_old = NULL;
		st->gen_old = 0;
		pthread_rwlock_unlock(&st->keklock);
	}
out:
	skr_store_txn_abort(txn);
	skr_master_key_free(kek);
	json_decref(rot);
	json_decref(cur);
	return r;
}

struct left {
	skr_txn *txn;
	int db;
	int left;
};

static int
left_step(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct left *lf = arg;
	uint32_t gen = lf->txn->st->gen;
	json_t *rec;
	int64_t g;
	int r;

	if ((r = skr__rec_verify(lf->txn->st, lf->db, k, kl, v, &vl)) !=
	    SKR_OK)
		return r;
	if ((rec = json_loadb((const char *)v, vl, 0, NULL)) == NULL)
		return SKR_ERR_STORE;
	g = jint(rec, "g");
	json_decref(rec);
	if (g != (int64_t)gen && !(gen == 1 && g == 0)) {
		lf->left = 1;
		return 1;
	}
	return SKR_OK;
}

/* 1 when any key record of txn is still under another generation than
 * the current one. */
static int
any_left(skr_txn *txn, int *left)
{
	static const int dbs[2] = { DB_KEYS, DB_DELETED };
	struct left lf = { txn, 0, 0 };
	int i, r = SKR_OK;

	for (i = 0; i < 2 && !lf.left && r == SKR_OK; i++) {
		lf.db = dbs[i];
		r = skr__raw_walk(txn, dbs[i], NULL, 0, left_step, &lf);
	}
	*left = lf.left;
	return r;
}

/* Wipe the older generation's key once every transaction that began
 * before the rotation ended has ended too: such a transaction may still
 * read a record sealed under it.  Bounded: a transaction that outlives
 * the wait keeps the key until the store closes. */
static void
retire_old(skr_store *st)
{
	unsigned e = __atomic_fetch_add(&st->epoch, 1, __ATOMIC_ACQ_REL) & 1;
	struct timespec ts = { 0, 1000000 };

	for (int i = 0; i < 30000; i++) {
		if (__atomic_load_n(&st->active[e], __ATOMIC_ACQUIRE) == 0) {
			pthread_rwlock_wrlock(&st->keklock);
			skr_master_key_free(st->kek_old);
			st->kek_old = NULL;
			st->gen_old = 0;
			pthread_rwlock_unlock(&st->keklock);
			return;
		}
		nanosleep(&ts, NULL);
	}
}

struct names {
	const char *lc;
	size_t ll;
	char (*names)[SKR_KEY_NAME_MAX + 1];
	size_t max;
	size_t n;
	int more;
};

static int
names_step(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct names *nm = arg;

	(void)v;
	(void)vl;
	/* lc names the last key done: start after it. */
	if (nm->ll > 0 && kl == nm->ll && memcmp(k, nm->lc, kl) == 0)
		return SKR_OK;
	if (nm->n >= nm->max) {
		nm->more = 1;
		return 1;
	}
	if (kl > SKR_KEY_NAME_MAX)
		return SKR_ERR_STORE;
	memcpy(nm->names[nm->n], k, kl);
	nm->names[nm->n][kl] = '\0';
	nm->n++;
	return SKR_OK;
}

/* Up to max names of db after lc (all from the first when lc is ""), into
 * names; *end says whether the database has no more. */
static int
names_after(skr_txn *txn, int db, const char *lc,
    char (*names)[SKR_KEY_NAME_MAX + 1], size_t max, size_t *n, int *end)
{
	struct names nm = { lc, strlen(lc), names, max, 0, 0 };
	int r;

	r = skr__raw_walk(txn, db, nm.ll > 0 ? lc : NULL, nm.ll, names_step,
	    &nm);
	*n = nm.n;
	*end = !nm.more;
	return r;
}

#define STEP_MAX 256

int
skr_store_rotate_step(skr_store *st, size_t max, int64_t now, int *done)
{
	static const int dbs[2] = { DB_KEYS, DB_DELETED };
	char (*names)[SKR_KEY_NAME_MAX + 1] = NULL;
	skr_txn *txn = NULL;
	skr_audit_rec rec;
	json_t *rot = NULL, *krec = NULL;
	char lc[SKR_KEY_NAME_MAX + 1];
	const char *cursor;
	size_t n = 0, got, i;
	int64_t moved, db;
	int r, m, left, end, finished = 0;

	*done = 0;
	if (max == 0)
		max = STEP_DEFAULT;
	if (max > STEP_MAX)
		max = STEP_MAX;
	if ((names = calloc(max, sizeof(*names))) == NULL)
		return SKR_ERR_NOMEM;
	SKR_GUARD(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	SKR_GUARD(rotate_get(txn, &rot));
	if (rot == NULL) {
		/* Ended before a restart or by an earlier call. */
		skr_store_txn_abort(txn);
		txn = NULL;
		finished = st->kek_old != NULL;
		*done = 1;
		goto out;
	}
	db = jint(rot, "db");
	moved = jint(rot, "moved");
	cursor = jstr(rot, "cursor");
	SKR_ENSURE((db == 0 || db == 1) && cursor != NULL &&
	    strlen(cursor) <= SKR_KEY_NAME_MAX, SKR_ERR_STORE);
	snprintf(lc, sizeof(lc), "%s", cursor);
	while (n < max && db < 2) {
		SKR_GUARD(names_after(txn, dbs[db], lc, names, max - n, &got,
		    &end));
		for (i = 0; i < got; i++) {
			SKR_GUARD(skr__keyrec_get(txn, dbs[db], names[i],
			    &krec));
			SKR_GUARD(skr__dek_rewrap(txn, names[i], krec, &m));
			if (m) {
				SKR_GUARD(skr__rec_put_json(txn, dbs[db],
				    names[i], strlen(names[i]), krec));
				moved++;
			}
			json_decref(krec);
			krec = NULL;
		}
		n += got;
		if (end) {
			db++;
			lc[0] = '\0';
		} else if (got > 0)
			snprintf(lc, sizeof(lc), "%s", names[got - 1]);
	}
	if (db < 2) {
		SKR_GUARD(jset(rot, "db", json_integer(db)));
		SKR_GUARD(jset(rot, "cursor", json_string(lc)));
		SKR_GUARD(jset(rot, "moved", json_integer(moved)));
		SKR_GUARD(skr__rec_put_json(txn, DB_META, "rotate", 6, rot));
		r = skr_store_txn_commit(txn);
		txn = NULL;
		goto out;
	}
	/* Every key was visited.  Data keys only ever move forward, so a
	 * key still behind now means the walk missed it: start over rather
	 * than lose it with the old generation. */
	SKR_GUARD(any_left(txn, &left));
	if (left) {
		SKR_GUARD(jset(rot, "db", json_integer(0)));
		SKR_GUARD(jset(rot, "cursor", json_string("")));
		SKR_GUARD(jset(rot, "moved", json_integer(moved)));
		SKR_GUARD(skr__rec_put_json(txn, DB_META, "rotate", 6, rot));
		r = skr_store_txn_commit(txn);
		txn = NULL;
		goto out;
	}
	SKR_GUARD(skr__raw_del(txn, DB_META, "rotate", 6));
	rotate_audit(&rec, "master-key.rotate.finish", NULL,
	    (uint32_t)jint(rot, "from"), st->gen);
	skr_audit_detail_int(&rec, "moved", moved);
	r = skr_audit_commit(txn, &rec, 1, now);
	txn = NULL;
	SKR_GUARD(r);
	finished = 1;
out:
	free(names);
	json_decref(krec);
	json_decref(rot);
	skr_store_txn_abort(txn);
	if (finished) {
		retire_old(st);
		*done = 1;
	}
	return r;
}
