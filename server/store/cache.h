/*
 * The local copy of a replicated store's keyspace (docs/availability.md,
 * "The local copy"): every database but the audit log, in key order, kept
 * fresh by the etcd watch (backend_etcd.c) and read by transactions
 * without a round trip.  Revisions are etcd's: each value carries the
 * revision that wrote it, and the cache as a whole is at the revision of
 * the last change it applied.
 *
 * Snapshots: a transaction reads the cache as it was at the revision it
 * began at, although the watch goes on applying changes meanwhile.  Each
 * key keeps its current state and the one before it, until no open
 * snapshot can need the older one (skr__cache_gc); a read that would need
 * a state older than that is SKR_ERR_STORE_RETRY (begin again).
 *
 * Threads: one writer (the watch) and any number of readers; every call
 * takes the cache's lock itself.  Values handed out are copies.
 */
#ifndef SKR_SERVER_STORE_CACHE_H
#define SKR_SERVER_STORE_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct skr__cache skr__cache;

/* Byte-string order, as every backend keeps keys (backend.h): memcmp,
 * then the shorter first.  <0, 0 or >0. */
int skr__keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl);

/* A malloc'd copy of n bytes at p into *out (NULL for n 0); SKR_OK or
 * SKR_ERR_NOMEM.  The caller frees it. */
int skr__bytes_dup(const void *p, size_t n, uint8_t **out);

int skr__cache_new(int ndb, skr__cache **out);
void skr__cache_free(skr__cache *c);

/* ---- the writer --------------------------------------------------------- */

/* A batch of changes, applied as one: readers see all or none of it.
 * Between begin and end only put, del and (at the end) the revision. */
void skr__cache_write_begin(skr__cache *c);
/* End the batch; the cache is now at revision rev (never backwards). */
void skr__cache_write_end(skr__cache *c, int64_t rev);

/* Key k of db holds v from revision rev (its etcd mod_revision). */
int skr__cache_put(skr__cache *c, int db, const void *k, size_t kl,
    const void *v, size_t vl, int64_t rev);
/* Key k of db was deleted at revision rev. */
int skr__cache_del(skr__cache *c, int db, const void *k, size_t kl,
    int64_t rev);

/* Inside a batch: forget every key and start a new generation (a fresh
 * copy follows in the same batch); snapshots of the old generation read
 * SKR_ERR_STORE_RETRY from now on. */
void skr__cache_reset(skr__cache *c);

/* Drop what neither an open snapshot nor a later one can read: states
 * replaced at or before the oldest open snapshot's revision, and keys
 * deleted by then.  *pending: how much could be dropped before. */
void skr__cache_gc(skr__cache *c);
/* States and deleted keys kept for snapshots since the last gc. */
size_t skr__cache_garbage(skr__cache *c);

/* ---- readers ----------------------------------------------------------- */

/* The revision of the last batch applied. */
int64_t skr__cache_rev(skr__cache *c);

/* Open a snapshot at the current revision: *rev and *gen say which; end
 * it with skr__cache_snap_end(c, *rev).  While it is open, gc keeps what
 * it may read. */
void skr__cache_snap_begin(skr__cache *c, int64_t *rev, uint64_t *gen);
void skr__cache_snap_end(skr__cache *c, int64_t rev);

/*
 * Key k of db as snapshot (at, gen) sees it: *v a copy (caller frees; NULL
 * when empty), *mod the revision that wrote it.  Absent: SKR_ERR_NOT_FOUND
 * with *mod 0.  A state the cache no longer has: SKR_ERR_STORE_RETRY.
 */
int skr__cache_get(skr__cache *c, int db, const void *k, size_t kl,
    int64_t at, uint64_t gen, uint8_t **v, size_t *vl, int64_t *mod);

/*
 * The first key of db after `from` (from NULL: the first key; inclusive:
 * from itself counts) that snapshot (at, gen) sees, as get returns it,
 * with a copy of its key in *k (caller frees).  No more: SKR_ERR_NOT_FOUND.
 */
int skr__cache_next(skr__cache *c, int db, const void *from, size_t fl,
    int inclusive, int64_t at, uint64_t gen, uint8_t **k, size_t *kl,
    uint8_t **v, size_t *vl, int64_t *mod);

/* The revision that wrote key k of db as the cache holds it now; 0 when
 * absent. */
int64_t skr__cache_mod(skr__cache *c, int db, const void *k, size_t kl);

/* Live keys of db now. */
uint64_t skr__cache_count(skr__cache *c, int db);

#endif
