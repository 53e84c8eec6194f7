/*
 * The LMDB backend (backend.h): the store as one LMDB environment in the
 * data directory, the embedded default (docs/store.md, "Files" and
 * "Environment settings").  One LMDB named database per store database;
 * commits are synced; the reserve below keeps releases going when space
 * runs low.
 */
#include "backend.h"

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

#include "guard.h"
#include "skr/error.h"

struct lmdb_be {
	skr__be base;
	MDB_env *env;
	MDB_dbi dbi[NDB];
	char path[PATH_MAX];
	size_t reserve;         /* bytes kept for SKR_TXN_WRITE_RESERVE */
	size_t psize;           /* LMDB's page size */
	uint64_t written;       /* file bytes known written (pages, zeros) */
};

struct lmdb_txn {
	skr__be_txn base;
	MDB_txn *t;
	int sub;
};

#define BE(b) ((struct lmdb_be *)(b))
#define TX(t) ((struct lmdb_txn *)(t))
#define TXBE(t) BE((t)->be)

/* An LMDB return code as an skr error (MDB_NOTFOUND: SKR_ERR_NOT_FOUND). */
static int
lmdb_err(int rc)
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

/* ---- space ------------------------------------------------------------ */

/*
 * The reserve (README.md, "Security"): a plain write transaction is
 * refused with SKR_ERR_STORE_FULL before it starts when less than twice
 * the reserve is left in the map or on the file system, while
 * SKR_TXN_WRITE_RESERVE transactions (release audit records, nonces: small)
 * go ahead into what is left.
 *
 * The reserve is kept written, as zeros, past LMDB's last page
 * (docs/store.md, "Environment settings"), so other writers on the same
 * file system cannot take it, and so that a commit overwrites blocks the file
 * already has: a synced write that grows a file or fills new blocks also
 * has to write the inode and the allocation metadata, one or two more
 * device writes in every commit that appends pages.  LMDB never reads past
 * its last page, so the zeros are never seen; they are written from inside
 * a write transaction, while no other writer can be placing pages there,
 * and reach the disk with that transaction's own sync.
 */
#define RESERVE_MIN ((size_t)16 * 1024)
#define RESERVE_MAX ((size_t)1024 * 1024)

static void
reserve_init(struct lmdb_be *be)
{
	MDB_envinfo ei;
	MDB_stat ms;
	struct stat sb;
	int fd;

	be->reserve = RESERVE_MAX;
	if (mdb_env_info(be->env, &ei) == MDB_SUCCESS)
		be->reserve = ei.me_mapsize / 8;
	if (be->reserve < RESERVE_MIN)
		be->reserve = RESERVE_MIN;
	if (be->reserve > RESERVE_MAX)
		be->reserve = RESERVE_MAX;
	be->psize = mdb_env_stat(be->env, &ms) == MDB_SUCCESS ? ms.ms_psize :
	    4096;
	if (mdb_env_get_fd(be->env, &fd) == MDB_SUCCESS && fstat(fd, &sb) == 0)
		be->written = (uint64_t)sb.st_size;
}

/* Bytes of the file LMDB's committed pages take. */
static uint64_t
used_bytes(struct lmdb_be *be, uint64_t *map)
{
	MDB_envinfo ei;

	if (mdb_env_info(be->env, &ei) != MDB_SUCCESS)
		return UINT64_MAX;
	*map = ei.me_mapsize;
	return ((uint64_t)ei.me_last_pgno + 1) * be->psize;
}

/*
 * In a top-level write transaction: when less than the reserve is written
 * past the last committed page, write zeros up to twice the reserve past
 * it (never past the map).  A failure (the file system is full) leaves
 * what could be written; LMDB's own writes then report ENOSPC.
 */
static void
reserve_keep(struct lmdb_be *be)
{
	static const uint8_t zeros[64 * 1024];
	uint64_t used, map = 0, at, want;
	ssize_t n;
	int fd;

	if ((used = used_bytes(be, &map)) == UINT64_MAX ||
	    be->written >= used + be->reserve ||
	    mdb_env_get_fd(be->env, &fd) != MDB_SUCCESS)
		return;
	want = used + 2 * (uint64_t)be->reserve;
	if (want > map)
		want = map;
	for (at = be->written > used ? be->written : used; at < want; at +=
	    (uint64_t)n) {
		n = pwrite(fd, zeros, want - at < sizeof(zeros) ?
		    (size_t)(want - at) : sizeof(zeros), (off_t)at);
		if (n <= 0)
			break;
	}
	be->written = at;
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
space_low(struct lmdb_be *be)
{
	struct statvfs vfs;
	struct stat sb;
	uint64_t used, map = 0, disk, ahead = 0;
	int fd;

	if ((used = used_bytes(be, &map)) == UINT64_MAX)
		return 0;
	if (used + 2 * be->reserve > map)
		return 1;
	if (mdb_env_get_fd(be->env, &fd) != MDB_SUCCESS || fstat(fd, &sb) != 0 ||
	    fstatvfs(fd, &vfs) != 0)
		return 0;
	/* Blocks the file has past LMDB's pages: the zeros written ahead. */
	if ((uint64_t)sb.st_blocks * 512 > used)
		ahead = (uint64_t)sb.st_blocks * 512 - used;
	disk = (uint64_t)vfs.f_bavail * vfs.f_frsize + ahead;
	return disk < 2 * be->reserve;
}

/* ---- transactions ------------------------------------------------------ */

static int
lmdb_txn_begin(skr__be *b, int mode, skr__be_txn **out)
{
	struct lmdb_be *be = BE(b);
	struct lmdb_txn *txn;
	int rc;

	*out = NULL;
	if (mode == SKR_TXN_WRITE && space_low(be))
		return SKR_ERR_STORE_FULL;
	if ((txn = calloc(1, sizeof(*txn))) == NULL)
		return SKR_ERR_NOMEM;
	txn->base.be = b;
	txn->base.write = mode != SKR_TXN_READ;
	rc = mdb_txn_begin(be->env, NULL, txn->base.write ? 0 : MDB_RDONLY,
	    &txn->t);
	if (rc != MDB_SUCCESS) {
		free(txn);
		return lmdb_err(rc);
	}
	*out = &txn->base;
	return SKR_OK;
}

static int
lmdb_txn_commit(skr__be_txn *t)
{
	struct lmdb_txn *txn = TX(t);
	int rc;

	if (!t->write) {
		mdb_txn_abort(txn->t);
		free(txn);
		return SKR_OK;
	}
	if (!txn->sub)
		reserve_keep(TXBE(t));
	/* The environment is opened without MDB_NOSYNC/MDB_NOMETASYNC, so a
	 * successful commit has been fsynced: the write is durable. */
	rc = mdb_txn_commit(txn->t);
	free(txn);
	return lmdb_err(rc);
}

static void
lmdb_txn_abort(skr__be_txn *t)
{
	mdb_txn_abort(TX(t)->t);
	free(t);
}

static int
lmdb_sub_begin(skr__be_txn *t, skr__be_txn **out)
{
	struct lmdb_txn *sub;
	int rc;

	*out = NULL;
	if ((sub = calloc(1, sizeof(*sub))) == NULL)
		return SKR_ERR_NOMEM;
	sub->base.be = t->be;
	sub->base.write = 1;
	sub->sub = 1;
	if ((rc = mdb_txn_begin(TXBE(t)->env, TX(t)->t, 0, &sub->t)) !=
	    MDB_SUCCESS) {
		free(sub);
		return lmdb_err(rc);
	}
	*out = &sub->base;
	return SKR_OK;
}

static int
lmdb_sub_end(skr__be_txn *t, int r)
{
	int rc;

	if (r == SKR_OK) {
		if ((rc = mdb_txn_commit(TX(t)->t)) != MDB_SUCCESS)
			r = lmdb_err(rc);
	} else
		mdb_txn_abort(TX(t)->t);
	free(t);
	return r;
}

static int
lmdb_db_open(skr__be_txn *t, int db, int create)
{
	int rc;

	rc = mdb_dbi_open(TX(t)->t, skr__db_names[db], create ? MDB_CREATE : 0,
	    &TXBE(t)->dbi[db]);
	return rc == MDB_NOTFOUND ? SKR_ERR_STORE_SCHEMA : lmdb_err(rc);
}

/* ---- records ------------------------------------------------------------ */

static int
lmdb_get(skr__be_txn *t, int db, const void *k, size_t kl, const uint8_t **v,
    size_t *vl)
{
	MDB_val key = { kl, (void *)k }, val;
	int rc;

	rc = mdb_get(TX(t)->t, TXBE(t)->dbi[db], &key, &val);
	if (rc != MDB_SUCCESS)
		return lmdb_err(rc);
	*v = val.mv_data;
	*vl = val.mv_size;
	return SKR_OK;
}

static int
lmdb_put(skr__be_txn *t, int db, const void *k, size_t kl, const void *v,
    size_t vl)
{
	MDB_val key = { kl, (void *)k }, val = { vl, (void *)v };

	return lmdb_err(mdb_put(TX(t)->t, TXBE(t)->dbi[db], &key, &val, 0));
}

static int
lmdb_del(skr__be_txn *t, int db, const void *k, size_t kl)
{
	MDB_val key = { kl, (void *)k };

	return lmdb_err(mdb_del(TX(t)->t, TXBE(t)->dbi[db], &key, NULL));
}

static int
lmdb_del_prefix(skr__be_txn *t, int db, const void *prefix, size_t plen)
{
	MDB_cursor *cur = NULL;
	MDB_val key = { plen, (void *)prefix }, val;
	int rc;

	if ((rc = mdb_cursor_open(TX(t)->t, TXBE(t)->dbi[db], &cur)) !=
	    MDB_SUCCESS)
		return lmdb_err(rc);
	/* An empty prefix is every entry. */
	for (rc = mdb_cursor_get(cur, &key, &val, plen > 0 ? MDB_SET_RANGE :
	    MDB_FIRST);
	    rc == MDB_SUCCESS && key.mv_size >= plen &&
	    memcmp(key.mv_data, prefix, plen) == 0;
	    rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
		if ((rc = mdb_cursor_del(cur, 0)) != MDB_SUCCESS)
			break;
	mdb_cursor_close(cur);
	return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? SKR_OK : lmdb_err(rc);
}

static int
lmdb_walk(skr__be_txn *t, int db, const void *from, size_t fl,
    skr__be_walk_fn fn, void *arg)
{
	MDB_cursor *cur = NULL;
	MDB_val key = { fl, (void *)from }, val;
	int rc, r = SKR_OK;

	if ((rc = mdb_cursor_open(TX(t)->t, TXBE(t)->dbi[db], &cur)) !=
	    MDB_SUCCESS)
		return lmdb_err(rc);
	rc = mdb_cursor_get(cur, &key, &val, from != NULL ? MDB_SET_RANGE :
	    MDB_FIRST);
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
	return rc == MDB_NOTFOUND ? SKR_OK : lmdb_err(rc);
}

/* ---- statistics ------------------------------------------------------------ */

static int
lmdb_stats(skr__be *b, skr_store_stats *out)
{
	static const int which[] = { DB_KEYS, DB_VERSIONS, DB_DELETED,
	    DB_TOKENS, DB_NONCES, DB_AUDIT };
	struct lmdb_be *be = BE(b);
	uint64_t *dst[6];
	MDB_txn *t = NULL;
	MDB_stat ms;
	MDB_envinfo ei;
	size_t i;
	int r = SKR_OK, rc;

	dst[0] = &out->keys;
	dst[1] = &out->versions;
	dst[2] = &out->deleted;
	dst[3] = &out->tokens;
	dst[4] = &out->nonces;
	dst[5] = &out->audit_records;
	if ((rc = mdb_txn_begin(be->env, NULL, MDB_RDONLY, &t)) != MDB_SUCCESS)
		return lmdb_err(rc);
	for (i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
		SKR_GUARD(lmdb_err(mdb_stat(t, be->dbi[which[i]], &ms)));
		*dst[i] = ms.ms_entries;
	}
	SKR_GUARD(lmdb_err(mdb_env_info(be->env, &ei)));
	SKR_GUARD(lmdb_err(mdb_env_stat(be->env, &ms)));
	out->map_size = ei.me_mapsize;
	out->used_size = (uint64_t)(ei.me_last_pgno + 1) * ms.ms_psize;
out:
	mdb_txn_abort(t);
	return r;
}

/* ---- open, create, close ----------------------------------------------------- */

static void
lmdb_close(skr__be *b)
{
	struct lmdb_be *be = BE(b);

	if (be->env != NULL)
		mdb_env_close(be->env);
	free(be);
}

/* A store that could not be created leaves no file behind. */
static void
lmdb_destroy(skr__be *b)
{
	char path[PATH_MAX], lock[PATH_MAX + 8];

	memcpy(path, BE(b)->path, sizeof(path));
	lmdb_close(b);
	(void)unlink(path);
	if (snprintf(lock, sizeof(lock), "%s-lock", path) < (int)sizeof(lock))
		(void)unlink(lock);
}

static const skr__be_ops lmdb_ops = {
	.name = "lmdb",
	.txn_begin = lmdb_txn_begin,
	.txn_commit = lmdb_txn_commit,
	.txn_abort = lmdb_txn_abort,
	.sub_begin = lmdb_sub_begin,
	.sub_end = lmdb_sub_end,
	.db_open = lmdb_db_open,
	.get = lmdb_get,
	.put = lmdb_put,
	.del = lmdb_del,
	.del_prefix = lmdb_del_prefix,
	.walk = lmdb_walk,
	.stats = lmdb_stats,
	.sync = NULL,
	.close = lmdb_close,
	.destroy = lmdb_destroy,
};

static int
store_path(const char *dir, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", dir, SKR_STORE_FILE);

	return (n < 0 || (size_t)n >= outlen) ? SKR_ERR_INVAL : SKR_OK;
}

static int
env_open(struct lmdb_be *be, const skr_store_opts *opts)
{
	size_t map = opts != NULL && opts->map_size ? opts->map_size :
	    SKR_STORE_DEFAULT_MAP_SIZE;
	unsigned readers = opts != NULL && opts->max_readers ?
	    opts->max_readers : 126;
	int rc;

	if ((rc = mdb_env_create(&be->env)) != MDB_SUCCESS)
		return lmdb_err(rc);
	if ((rc = mdb_env_set_maxdbs(be->env, 16)) != MDB_SUCCESS ||
	    (rc = mdb_env_set_mapsize(be->env, map)) != MDB_SUCCESS ||
	    (rc = mdb_env_set_maxreaders(be->env, readers)) != MDB_SUCCESS)
		return lmdb_err(rc);
	/* Synced commits (no MDB_NOSYNC / MDB_NOMETASYNC); MDB_NOTLS so read
	 * transactions are not tied to thread-local reader slots. */
	rc = mdb_env_open(be->env, be->path, MDB_NOSUBDIR | MDB_NOTLS, 0600);
	if (rc == MDB_SUCCESS) {
		reserve_init(be);
		lock_alloc(be->path);
	}
	return lmdb_err(rc);
}

static int
be_new(const char *dir, struct lmdb_be **out)
{
	struct lmdb_be *be;
	int r;

	if ((be = calloc(1, sizeof(*be))) == NULL)
		return SKR_ERR_NOMEM;
	be->base.ops = &lmdb_ops;
	if ((r = store_path(dir, be->path, sizeof(be->path))) != SKR_OK) {
		free(be);
		return r;
	}
	*out = be;
	return SKR_OK;
}

int
skr__lmdb_create(const char *dir, const skr_store_opts *opts, skr__be **out)
{
	struct lmdb_be *be = NULL;
	int fd, r;

	*out = NULL;
	if ((r = be_new(dir, &be)) != SKR_OK)
		return r;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		free(be);
		return SKR_ERR_IO;
	}
	/* O_EXCL: never initialise over an existing store, even in a race. */
	if ((fd = open(be->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		free(be);
		return errno == EEXIST ? SKR_ERR_CONFLICT : SKR_ERR_IO;
	}
	close(fd);
	if ((r = env_open(be, opts)) != SKR_OK) {
		lmdb_destroy(&be->base);
		return r;
	}
	*out = &be->base;
	return SKR_OK;
}

int
skr__lmdb_open(const char *dir, const skr_store_opts *opts, skr__be **out)
{
	struct lmdb_be *be = NULL;
	struct stat sb;
	int r;

	*out = NULL;
	if ((r = be_new(dir, &be)) != SKR_OK)
		return r;
	if (stat(be->path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size == 0) {
		free(be);
		return SKR_ERR_STORE;
	}
	if ((r = env_open(be, opts)) != SKR_OK) {
		lmdb_close(&be->base);
		return r;
	}
	*out = &be->base;
	return SKR_OK;
}
