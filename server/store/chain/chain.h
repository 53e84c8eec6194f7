/*
 * The audit hash chain (docs/store.md, "Audit log"): the hash of a record,
 * the head kept in meta, and the walk that checks a chain record by record.
 * Nothing here needs the store or the master key: the store's audit log
 * (audit.h) is built on it, and skr_audit_verify_dir checks a store file
 * with LMDB alone, so that an offline checker (skrctl audit verify --data)
 * links this library and not the sealed store.
 */
#ifndef SKR_SERVER_STORE_CHAIN_H
#define SKR_SERVER_STORE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "storefile.h"

#define SKR_AUDIT_HASH_LEN 32
#define SKR_AUDIT_HASH_HEX 64

/* Where the chain lives in the store file: records in the "audit"
 * database under their seq (u64 big-endian, so a cursor walks them in
 * order), and the head in "meta" under SKR__AUDIT_HEAD_KEY as u64 BE seq
 * || SHA-256 of that record. */
#define SKR__AUDIT_DB "audit"
#define SKR__AUDIT_META_DB "meta"
#define SKR__AUDIT_HEAD_KEY "audit.head"
#define SKR__AUDIT_HEAD_LEN (8 + SKR_AUDIT_HASH_LEN)

void skr__audit_seq_put(uint8_t k[8], uint64_t seq);
uint64_t skr__audit_seq_get(const uint8_t k[8]);

/* The head value for (seq, hash), and back.  A value of the wrong length
 * is SKR_ERR_STORE. */
void skr__audit_head_put(uint8_t v[SKR__AUDIT_HEAD_LEN], uint64_t seq,
    const uint8_t hash[SKR_AUDIT_HASH_LEN]);
int skr__audit_head_get(const void *v, size_t vl, uint64_t *seq,
    uint8_t hash[SKR_AUDIT_HASH_LEN]);

/* SHA-256 of the canonical text of rec (borrowed) without its "hash"
 * member: json_dumps with JSON_SORT_KEYS | JSON_COMPACT. */
int skr__audit_record_hash(const json_t *rec,
    uint8_t out[SKR_AUDIT_HASH_LEN]);

/* The state of one walk over a chain; start it with skr__audit_walk_init. */
typedef struct skr__audit_walk {
	uint64_t expect;                 /* the seq the next record must have */
	uint8_t prev[SKR_AUDIT_HASH_LEN]; /* hash of the last good record */
	uint64_t broken;                 /* first bad seq, once one is found */
	uint64_t count;                  /* records checked and good */
} skr__audit_walk;

void skr__audit_walk_init(skr__audit_walk *w);

/*
 * One stored record, key k and value v (both borrowed), in key order: it
 * must parse, carry the seq it is stored under (no gaps, from 1), have
 * prev equal to the previous record's hash and a hash that matches its
 * content.  SKR_OK, or SKR_ERR_AUDIT_BROKEN with w->broken set.
 */
int skr__audit_walk_step(skr__audit_walk *w, const void *k, size_t kl,
    const void *v, size_t vl);

/* After the last record: the head (seq, hash) must name it.  SKR_OK or
 * SKR_ERR_AUDIT_BROKEN (records cut from the end, or a head rewritten). */
int skr__audit_walk_end(skr__audit_walk *w, uint64_t head_seq,
    const uint8_t head_hash[SKR_AUDIT_HASH_LEN]);

/* What a walk that ended with r reports: *count (may be NULL) the good
 * records, *broken (may be NULL) the first bad seq when r is
 * SKR_ERR_AUDIT_BROKEN. */
void skr__audit_walk_report(const skr__audit_walk *w, int r, uint64_t *count,
    uint64_t *broken);

/*
 * Check the whole chain of the store in data directory dir offline, without
 * the master key (the chain is not sealed): opens the store file read-only
 * with LMDB directly and walks it as skr_audit_verify does.  SKR_OK, or
 * SKR_ERR_AUDIT_BROKEN with *broken the seq of the first bad record; a
 * missing store is SKR_ERR_STORE, a schema this build does not know
 * SKR_ERR_STORE_SCHEMA.  Safe while skrd runs (LMDB readers).  count and
 * broken may be NULL.
 */
int skr_audit_verify_dir(const char *dir, uint64_t *count, uint64_t *broken);

#endif
