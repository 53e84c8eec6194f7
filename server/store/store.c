/*
 * The sealed LMDB store: the environment (open, create, close, schema and
 * migration, space and the reserve), transactions, record access under the
 * record MAC, and statistics.  The concerns built on it have files of their
 * own: names.c, versions.c, paging.c, deleted.c, backup.c (over the pure
 * backup_codec.c), tokens.c and nonces.c; store_priv.h is what they share.
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
 * database name, the LMDB key and the value, so metadata such as a release
 * policy cannot be edited or moved on disk without the master key.
 */
#include "store_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "guard.h"
#include "skr/error.h"

static const char *const db_names[NDB] = {
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

/* ---- LMDB errors ------------------------------------------------------ */

int
skr__lmdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return SKR_OK;
	case MDB_NOTFOUND:
		return SKR_ERR_NOT_FOUND;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case ENOSPC:
#ifdef EDQUOT
	case EDQUOT:
#endif
		return SKR_ERR_STORE_FULL;
	case ENOMEM:
		return SKR_ERR_NOMEM;
	default:
		return SKR_ERR_STORE;
	}
}

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

/* MAC over db name, LMDB key and value, each length-prefixed. */
static int
rec_mac(const skr_store *st, int db, const void *k, size_t kl, const void *v,
    size_t vl, uint8_t out[MAC_LEN])
{
	uint8_t lk[4], lv[4];
	const char *dn = db_names[db];
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
	MDB_val key = { kl, (void *)k }, val;
	int rc;

	rc = mdb_get(txn->t, txn->st->dbi[db], &key, &val);
	if (rc != MDB_SUCCESS)
		return skr__lmdb_err(rc);
	*v = val.mv_data;
	*vl = val.mv_size;
	return SKR_OK;
}

static int
raw_put(skr_txn *txn, int db, const void *k, size_t kl, const void *v,
    size_t vl)
{
	MDB_val key = { kl, (void *)k }, val = { vl, (void *)v };

	if (!txn->write)
		return SKR_ERR_INVAL;
	return skr__lmdb_err(mdb_put(txn->t, txn->st->dbi[db], &key, &val, 0));
}

int
skr__raw_del(skr_txn *txn, int db, const void *k, size_t kl)
{
	MDB_val key = { kl, (void *)k };

	if (!txn->write)
		return SKR_ERR_INVAL;
	return skr__lmdb_err(mdb_del(txn->t, txn->st->dbi[db], &key, NULL));
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
	MDB_val key = { kl, (void *)k }, val;
	uint8_t mac[MAC_LEN];
	int r, rc;

	if (!txn->write)
		return SKR_ERR_INVAL;
	if ((r = rec_mac(txn->st, db, k, kl, v, vl, mac)) != SKR_OK)
		return r;
	val.mv_size = vl + MAC_LEN;
	val.mv_data = NULL;
	rc = mdb_put(txn->t, txn->st->dbi[db], &key, &val, MDB_RESERVE);
	if (rc != MDB_SUCCESS)
		return skr__lmdb_err(rc);
	if (vl > 0)
		memcpy(val.mv_data, v, vl);
	memcpy((uint8_t *)val.mv_data + vl, mac, MAC_LEN);
	return SKR_OK;
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

/* ---- space ------------------------------------------------------------ */

/*
 * The reserve (README.md, "Security"): a plain write transaction is
 * refused with SKR_ERR_STORE_FULL before it starts when less than twice
 * the reserve is left in the map or on the file system, while
 * SKR_TXN_WRITE_RESERVE transactions (release audit records, nonces: small)
 * go ahead into what is left.  The reserve is preallocated past the end of
 * the file (FALLOC_FL_KEEP_SIZE), so other writers on the same file system
 * cannot take it; where the file system cannot preallocate, free space is
 * all there is to count.
 */
#define RESERVE_MIN ((size_t)16 * 1024)
#define RESERVE_MAX ((size_t)1024 * 1024)

static void
reserve_init(skr_store *st)
{
	MDB_envinfo ei;

	st->reserve = RESERVE_MAX;
	if (mdb_env_info(st->env, &ei) == MDB_SUCCESS)
		st->reserve = ei.me_mapsize / 8;
	if (st->reserve < RESERVE_MIN)
		st->reserve = RESERVE_MIN;
	if (st->reserve > RESERVE_MAX)
		st->reserve = RESERVE_MAX;
}

/* Make sure the reserve is allocated past the end of the file. */
static void
reserve_keep(skr_store *st)
{
	struct stat sb;
	int fd;

	if (mdb_env_get_fd(st->env, &fd) != MDB_SUCCESS || fstat(fd, &sb) != 0)
		return;
	if ((uint64_t)sb.st_blocks * 512 < (uint64_t)sb.st_size + st->reserve)
		(void)fallocate(fd, FALLOC_FL_KEEP_SIZE, sb.st_size,
		    (off_t)st->reserve);
}

/*
 * LMDB's lock file is sized with ftruncate, so on tmpfs its reader slots
 * are a hole until first written; a slot first touched when the file
 * system is full would fault (SIGBUS) through LMDB's mapping.  Allocate the
 * whole file while there is room.
 */
static void
lock_alloc(const char *path)
{
	char lock[PATH_MAX + 8];
	struct stat sb;
	int fd;

	if (snprintf(lock, sizeof(lock), "%s-lock", path) >= (int)sizeof(lock) ||
	    (fd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	if (fstat(fd, &sb) == 0 && sb.st_size > 0)
		(void)fallocate(fd, 0, 0, sb.st_size);
	close(fd);
}

/* 1 when less than twice the reserve is left in the map or on disk. */
static int
space_low(skr_store *st)
{
	MDB_envinfo ei;
	MDB_stat ms;
	struct statvfs vfs;
	struct stat sb;
	uint64_t used, disk, ahead = 0;
	int fd;

	if (mdb_env_info(st->env, &ei) != MDB_SUCCESS ||
	    mdb_env_stat(st->env, &ms) != MDB_SUCCESS)
		return 0;
	used = ((uint64_t)ei.me_last_pgno + 1) * ms.ms_psize;
	if (used + 2 * st->reserve > ei.me_mapsize)
		return 1;
	if (mdb_env_get_fd(st->env, &fd) != MDB_SUCCESS || fstat(fd, &sb) != 0 ||
	    fstatvfs(fd, &vfs) != 0)
		return 0;
	if ((uint64_t)sb.st_blocks * 512 > (uint64_t)sb.st_size)
		ahead = (uint64_t)sb.st_blocks * 512 - (uint64_t)sb.st_size;
	disk = (uint64_t)vfs.f_bavail * vfs.f_frsize + ahead;
	return disk < 2 * st->reserve;
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
	int rc;

	*out = NULL;
	if (st == NULL || (mode != SKR_TXN_READ && mode != SKR_TXN_WRITE &&
	    mode != SKR_TXN_WRITE_RESERVE))
		return SKR_ERR_INVAL;
	if (mode == SKR_TXN_WRITE && space_low(st))
		return SKR_ERR_STORE_FULL;
	if ((txn = calloc(1, sizeof(*txn))) == NULL)
		return SKR_ERR_NOMEM;
	txn->st = st;
	txn->write = mode != SKR_TXN_READ;
	rc = mdb_txn_begin(st->env, NULL, txn->write ? 0 : MDB_RDONLY, &txn->t);
	if (rc != MDB_SUCCESS) {
		free(txn);
		return skr__lmdb_err(rc);
	}
	txn_enter(txn);
	*out = txn;
	return SKR_OK;
}

int
skr_store_txn_commit(skr_txn *txn)
{
	int rc;

	if (txn == NULL)
		return SKR_ERR_INVAL;
	if (!txn->write) {
		mdb_txn_abort(txn->t);
		txn_leave(txn);
		free(txn);
		return SKR_OK;
	}
	/* The environment is opened without MDB_NOSYNC/MDB_NOMETASYNC, so a
	 * successful commit has been fsynced: the write is durable. */
	rc = mdb_txn_commit(txn->t);
	if (rc == MDB_SUCCESS && !txn->sub)
		reserve_keep(txn->st);
	txn_leave(txn);
	free(txn);
	return skr__lmdb_err(rc);
}

void
skr_store_txn_abort(skr_txn *txn)
{
	if (txn == NULL)
		return;
	mdb_txn_abort(txn->t);
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
	int rc;

	*out = NULL;
	if (txn == NULL || !txn->write)
		return SKR_ERR_INVAL;
	if ((sub = calloc(1, sizeof(*sub))) == NULL)
		return SKR_ERR_NOMEM;
	sub->st = txn->st;
	sub->write = 1;
	sub->sub = 1;
	if ((rc = mdb_txn_begin(txn->st->env, txn->t, 0, &sub->t)) !=
	    MDB_SUCCESS) {
		free(sub);
		return skr__lmdb_err(rc);
	}
	*out = sub;
	return SKR_OK;
}

int
skr__store_sub_end(skr_txn *sub, int r)
{
	int rc;

	if (sub == NULL)
		return r;
	if (r == SKR_OK) {
		if ((rc = mdb_txn_commit(sub->t)) != MDB_SUCCESS)
			r = skr__lmdb_err(rc);
	} else
		mdb_txn_abort(sub->t);
	free(sub);
	return r;
}

int
skr__store_txn_writable(const skr_txn *txn)
{
	return txn != NULL && txn->write;
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

int
skr__store_walk(skr_txn *txn, int db, const void *k, size_t klen,
    int (*fn)(void *, const void *, size_t, const void *, size_t), void *arg)
{
	MDB_cursor *cur = NULL;
	MDB_val key = { klen, (void *)k }, val;
	int rc, r;

	if (!internal_db(db))
		return SKR_ERR_INVAL;
	if ((rc = mdb_cursor_open(txn->t, txn->st->dbi[db], &cur)) !=
	    MDB_SUCCESS)
		return skr__lmdb_err(rc);
	rc = mdb_cursor_get(cur, &key, &val, k != NULL ? MDB_SET_RANGE :
	    MDB_FIRST);
	r = SKR_OK;
	while (rc == MDB_SUCCESS) {
		if ((r = fn(arg, key.mv_data, key.mv_size, val.mv_data,
		    val.mv_size)) != SKR_OK)
			break;
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (r == 1)
		return SKR_OK;
	if (r != SKR_OK)
		return r;
	return rc == MDB_NOTFOUND ? SKR_OK : skr__lmdb_err(rc);
}

/* ---- open and create ----------------------------------------------------- */

static int
store_path(const char *dir, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", dir, SKR_STORE_FILE);

	return (n < 0 || (size_t)n >= outlen) ? SKR_ERR_INVAL : SKR_OK;
}

static int
env_open(const char *path, const skr_store_opts *opts, skr_store *st)
{
	size_t map = opts != NULL && opts->map_size ? opts->map_size :
	    SKR_STORE_DEFAULT_MAP_SIZE;
	unsigned readers = opts != NULL && opts->max_readers ?
	    opts->max_readers : 126;
	int rc;

	if ((rc = mdb_env_create(&st->env)) != MDB_SUCCESS)
		return skr__lmdb_err(rc);
	if ((rc = mdb_env_set_maxdbs(st->env, 16)) != MDB_SUCCESS ||
	    (rc = mdb_env_set_mapsize(st->env, map)) != MDB_SUCCESS ||
	    (rc = mdb_env_set_maxreaders(st->env, readers)) != MDB_SUCCESS)
		return skr__lmdb_err(rc);
	/* Synced commits (no MDB_NOSYNC / MDB_NOMETASYNC); MDB_NOTLS so read
	 * transactions are not tied to thread-local reader slots. */
	rc = mdb_env_open(st->env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600);
	if (rc == MDB_SUCCESS) {
		reserve_init(st);
		reserve_keep(st);
		lock_alloc(path);
	}
	return skr__lmdb_err(rc);
}

void
skr_store_close(skr_store *st)
{
	if (st == NULL)
		return;
	/* Records still queued are committed before the store goes. */
	skr__committer_stop(st);
	pthread_mutex_destroy(&st->committer_mu);
	if (st->env != NULL)
		mdb_env_close(st->env);
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
	int i, rc;

	for (i = 0; i < NDB; i++) {
		rc = mdb_dbi_open(txn->t, db_names[i],
		    create & (1u << i) ? MDB_CREATE : 0, &txn->st->dbi[i]);
		if (rc == MDB_NOTFOUND)
			return SKR_ERR_STORE_SCHEMA;
		if (rc != MDB_SUCCESS)
			return skr__lmdb_err(rc);
	}
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

/* A store of its own, its key and committer locks ready. */
static skr_store *
store_new(void)
{
	skr_store *st = calloc(1, sizeof(*st));

	if (st != NULL && pthread_rwlock_init(&st->keklock, NULL) != 0) {
		free(st);
		st = NULL;
	}
	if (st != NULL)
		pthread_mutex_init(&st->committer_mu, NULL);
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

int
skr_store_create(const char *dir, const skr_master_key *mk,
    const skr_store_opts *opts, skr_store **out)
{
	skr_keyring kr;
	int r;

	*out = NULL;
	if (dir == NULL || mk == NULL)
		return SKR_ERR_INVAL;
	if ((r = keyring_of(mk, &kr)) != SKR_OK)
		return r;
	r = skr_store_create_keyring(dir, &kr, opts, out);
	skr_keyring_clear(&kr);
	return r;
}

int
skr_store_open(const char *dir, const skr_master_key *mk,
    const skr_store_opts *opts, skr_store **out)
{
	skr_keyring kr;
	int r;

	*out = NULL;
	if (dir == NULL || mk == NULL)
		return SKR_ERR_INVAL;
	if ((r = keyring_of(mk, &kr)) != SKR_OK)
		return r;
	r = skr_store_open_keyring(dir, &kr, opts, out);
	skr_keyring_clear(&kr);
	return r;
}

int
skr_store_create_keyring(const char *dir, const skr_keyring *kr,
    const skr_store_opts *opts, skr_store **out)
{
	char path[PATH_MAX], schema[16];
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	int fd, r, made = 0;

	*out = NULL;
	if (dir == NULL || kr == NULL || kr->n == 0)
		return SKR_ERR_INVAL;
	if ((r = store_path(dir, path, sizeof(path))) != SKR_OK)
		return r;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return SKR_ERR_IO;
	/* O_EXCL: never initialise over an existing store, even in a race. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600)) < 0)
		return errno == EEXIST ? SKR_ERR_CONFLICT : SKR_ERR_IO;
	close(fd);
	made = 1;
	st = store_new();
	SKR_ENSURE(st != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(skr__store_keys_new(st, kr));
	SKR_GUARD(env_open(path, opts, st));
	SKR_GUARD(skr_store_txn_begin(st, SKR_TXN_WRITE_RESERVE, &txn));
	SKR_GUARD(open_dbs(txn, ALL_DBS));
	snprintf(schema, sizeof(schema), "%d", SKR_STORE_SCHEMA_VERSION);
	SKR_GUARD(raw_put(txn, DB_META, "schema", 6, schema, strlen(schema)));
	SKR_GUARD(skr__store_keys_put(txn));
	r = skr_store_txn_commit(txn);
	txn = NULL;
	SKR_GUARD(r);
	*out = st;
	st = NULL;
	made = 0;
out:
	skr_store_txn_abort(txn);
	skr_store_close(st);
	if (made) {
		char lock[PATH_MAX + 8];
		(void)unlink(path);
		if (snprintf(lock, sizeof(lock), "%s-lock", path) <
		    (int)sizeof(lock))
			(void)unlink(lock);
	}
	return r;
}

int
skr_store_open_keyring(const char *dir, const skr_keyring *kr,
    const skr_store_opts *opts, skr_store **out)
{
	char path[PATH_MAX];
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	struct stat sb;
	const uint8_t *v;
	size_t vl;
	int r, rc, schema;

	*out = NULL;
	if (dir == NULL || kr == NULL || kr->n == 0)
		return SKR_ERR_INVAL;
	if ((r = store_path(dir, path, sizeof(path))) != SKR_OK)
		return r;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
		return SKR_ERR_STORE;
	if ((st = store_new()) == NULL)
		return SKR_ERR_NOMEM;
	SKR_GUARD(env_open(path, opts, st));
	SKR_GUARD(skr_store_txn_begin(st, SKR_TXN_WRITE_RESERVE, &txn));
	/* The schema first: a later schema may have other databases. */
	rc = mdb_dbi_open(txn->t, db_names[DB_META], 0, &st->dbi[DB_META]);
	SKR_ENSURE(rc != MDB_NOTFOUND, SKR_ERR_STORE_SCHEMA);
	SKR_GUARD(skr__lmdb_err(rc));
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

/* ---- statistics ------------------------------------------------------------ */

int
skr_store_stats_get(skr_store *st, skr_store_stats *out)
{
	static const int which[] = { DB_KEYS, DB_VERSIONS, DB_DELETED,
	    DB_TOKENS, DB_NONCES, DB_AUDIT };
	uint64_t *dst[6];
	MDB_txn *t = NULL;
	MDB_stat ms;
	MDB_envinfo ei;
	size_t i;
	int r = SKR_OK, rc;

	memset(out, 0, sizeof(*out));
	dst[0] = &out->keys;
	dst[1] = &out->versions;
	dst[2] = &out->deleted;
	dst[3] = &out->tokens;
	dst[4] = &out->nonces;
	dst[5] = &out->audit_records;
	if (st == NULL)
		return SKR_ERR_INVAL;
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t)) != MDB_SUCCESS)
		return skr__lmdb_err(rc);
	for (i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
		SKR_GUARD(skr__lmdb_err(mdb_stat(t, st->dbi[which[i]], &ms)));
		*dst[i] = ms.ms_entries;
	}
	SKR_GUARD(skr__lmdb_err(mdb_env_info(st->env, &ei)));
	SKR_GUARD(skr__lmdb_err(mdb_env_stat(st->env, &ms)));
	out->map_size = ei.me_mapsize;
	out->used_size = (uint64_t)(ei.me_last_pgno + 1) * ms.ms_psize;
out:
	mdb_txn_abort(t);
	return r;
}
