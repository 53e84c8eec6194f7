/*
 * The store's record-level backend (docs/store.md, "Backends"): named
 * databases of byte keys and byte values kept in key order, and
 * transactions over them.  store.c's record MACs, sealing and schema, and
 * every concern file built on them, see the data through this interface
 * alone.  Two implementations: backend_lmdb.c, the embedded default, and
 * backend_etcd.c, which lets several skrd replicas share one keyspace in
 * an etcd cluster (docs/availability.md).  Nothing outside server/store
 * includes this file.
 *
 * Rules every backend keeps, so that the store above behaves the same on
 * each:
 *   - Keys compare as byte strings (memcmp, then the shorter first), the
 *     order LMDB uses by default.
 *   - A read transaction sees one consistent state of every database.
 *   - A write transaction sees its own changes; nothing of it is visible
 *     to anyone else before its commit returns SKR_OK, and then all of it
 *     is, durably.  A failed commit leaves nothing.
 *   - Bytes returned by get are borrowed until the transaction ends; bytes
 *     a walk hands its callback only for that call.
 *   - A commit may fail with SKR_ERR_STORE_RETRY (another replica
 *     committed first; the caller runs the whole transaction again) and
 *     SKR_ERR_STORE_UNAVAILABLE (the shared store cannot be reached, or
 *     did not answer whether the commit took effect).  LMDB returns
 *     neither.
 */
#ifndef SKR_SERVER_STORE_BACKEND_H
#define SKR_SERVER_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The named databases (docs/store.md, "Databases"). */
enum {
	DB_META = SKR__DB_META,
	DB_AUDIT = SKR__DB_AUDIT,
	DB_KEYS,
	DB_VERSIONS,
	DB_VINDEX,
	DB_DELETED,
	DB_TOKENS,
	DB_NONCES,
	DB_PURGEQ,
	NDB
};

/* Their names, which are also part of every record MAC. */
extern const char *const skr__db_names[NDB];

/* The key of the audit chain head in DB_META.  Every audited change
 * writes it, which is what serialises them across replicas. */
#define SKR__HEAD_KEY "audit.head"

typedef struct skr__be skr__be;
typedef struct skr__be_txn skr__be_txn;
typedef struct skr__be_ops skr__be_ops;

/* Every backend's handle and transaction start with these. */
struct skr__be {
	const skr__be_ops *ops;
};

struct skr__be_txn {
	skr__be *be;
	int write;
};

/* A walk's callback: SKR_OK goes on, 1 stops (the walk returns SKR_OK),
 * anything else stops the walk and is returned. */
typedef int (*skr__be_walk_fn)(void *arg, const uint8_t *k, size_t kl,
    const uint8_t *v, size_t vl);

struct skr__be_ops {
	const char *name;                  /* "lmdb", "etcd" */
	/* mode: SKR_TXN_READ, _WRITE or _WRITE_RESERVE. */
	int (*txn_begin)(skr__be *be, int mode, skr__be_txn **out);
	/* Ends t either way. */
	int (*txn_commit)(skr__be_txn *t);
	void (*txn_abort)(skr__be_txn *t);
	/* A nested write transaction: its changes join the parent's when it
	 * ends with r == SKR_OK and are dropped otherwise.  The parent is not
	 * used until it ends.  sub_end frees sub and returns r or its own
	 * error. */
	int (*sub_begin)(skr__be_txn *t, skr__be_txn **out);
	int (*sub_end)(skr__be_txn *sub, int r);
	/* Make database db usable in this backend (write transaction at
	 * open): with create, a missing one is made; without, a missing one
	 * is SKR_ERR_STORE_SCHEMA. */
	int (*db_open)(skr__be_txn *t, int db, int create);
	/* Absent: SKR_ERR_NOT_FOUND. */
	int (*get)(skr__be_txn *t, int db, const void *k, size_t kl,
	    const uint8_t **v, size_t *vl);
	int (*put)(skr__be_txn *t, int db, const void *k, size_t kl,
	    const void *v, size_t vl);
	/* Absent: SKR_ERR_NOT_FOUND, nothing changed. */
	int (*del)(skr__be_txn *t, int db, const void *k, size_t kl);
	/* Every entry whose key starts with prefix (plen 0: every entry);
	 * none is no error. */
	int (*del_prefix)(skr__be_txn *t, int db, const void *prefix,
	    size_t plen);
	/* Entries in key order from the first key >= from (from NULL: the
	 * first entry).  The callback must not change db. */
	int (*walk)(skr__be_txn *t, int db, const void *from, size_t fl,
	    skr__be_walk_fn fn, void *arg);
	/* Entry counts and sizes for skr_store_stats_get. */
	int (*stats)(skr__be *be, skr_store_stats *out);
	/* Wait until every change acknowledged anywhere before the call is
	 * visible here (skr_store_sync); NULL: always so. */
	int (*sync)(skr__be *be);
	/* Fencing (store.h, skr_store_reads); NULL in a backend of one node,
	 * which has nothing to fence.  track: record the reads of read
	 * transaction t in rs as they are made.  fence: make write
	 * transaction t commit only if every read of rs still holds.
	 * current: 1 while they all do in the local copy. */
	void (*track)(skr__be_txn *t, skr_store_reads *rs);
	int (*fence)(skr__be_txn *t, const skr_store_reads *rs);
	int (*current)(skr__be *be, const skr_store_reads *rs);
	/* Tests of replicated stores (store.h, skr__store_test_*); NULL
	 * elsewhere. */
	void (*test)(skr__be *be, int hold, int drop);
	/* All transactions have ended. */
	void (*close)(skr__be *be);
	/* close, and remove what creating the store made (a failed
	 * skr_store_create). */
	void (*destroy)(skr__be *be);
};

/* ---- backend_etcd.c ---------------------------------------------------- */

/* Record o in dir's store.json (refusing an existing one:
 * SKR_ERR_CONFLICT), check that its prefix in etcd is empty, and connect;
 * or connect to the store an existing store.json names.  Both load the
 * local copy before they return. */
int skr__etcd_create(const char *dir, const skr_store_etcd_opts *o,
    skr__be **out);
int skr__etcd_open(const char *dir, skr__be **out);

/* ---- backend_lmdb.c ---------------------------------------------------- */

/* Create the store file in dir (refusing an existing one: SKR_ERR_CONFLICT)
 * or open the existing one, and the LMDB environment on it. */
int skr__lmdb_create(const char *dir, const skr_store_opts *opts,
    skr__be **out);
int skr__lmdb_open(const char *dir, const skr_store_opts *opts,
    skr__be **out);

#endif
