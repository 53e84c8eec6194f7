/*
 * The audit log (docs/store.md, "Audit log"): every state change and every
 * release or evaluate attempt, one JSON record each, chained by SHA-256
 * (chain.h) and stored in the store's `audit` database.  A state change appends its record
 * in the SAME write transaction as the change, so a change that cannot be
 * audited does not happen and an aborted change leaves no record.
 *
 * Record members (docs/store.md lists them; all optional except event and
 * outcome):
 *   event        "key.create", "key.release", "token.create", ...
 *   outcome      "ok", "denied" or "error"
 *   reason       stable error id ("SKR.POLICY.DENIED") when not ok
 *   principal    token id of the caller (never the token itself)
 *   peer         client address
 *   request_id
 *   key, version
 *   iss, jti, attestation_type   from the attestation token (never the token)
 *   trace_digest hex SHA-256 of the evaluation trace
 *   detail       small object of further non-secret facts
 * Added by skr_audit_append:
 *   seq          1, 2, 3, ... without gaps
 *   time         unix seconds (the caller's now)
 *   prev         hex hash of the previous record (64 zeros for the first)
 *   hash         hex SHA-256 of the canonical text of the record without
 *                "hash" (json_dumps, JSON_SORT_KEYS | JSON_COMPACT)
 *
 * A record must never hold key material, bearer tokens or attestation
 * tokens.  As a backstop skr_audit_append refuses (SKR_ERR_INVAL) a record
 * with a member named like private key or credential material anywhere
 * ("d", "p", "q", "dp", "dq", "qi", "k", "key_hsm", "token", "target",
 * "authorization", "secret") or with a string longer than
 * SKR_AUDIT_MAX_STRING, and one whose text exceeds SKR_AUDIT_MAX_RECORD.
 */
#ifndef SKR_SERVER_AUDIT_H
#define SKR_SERVER_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chain.h"
#include "store.h"

#define SKR_AUDIT_MAX_STRING 1024
#define SKR_AUDIT_MAX_RECORD (16 * 1024)

/*
 * Append record (borrowed, not modified: the store writes a copy with seq,
 * time, prev and hash added; members of those names in record are
 * replaced) to the chain inside write transaction txn.  *seq (may be NULL)
 * receives the record's sequence number.  A read transaction is
 * SKR_ERR_INVAL.
 */
int skr_audit_append(skr_txn *txn, const json_t *record, int64_t now,
    uint64_t *seq);

/* For events that change nothing else (release and evaluate attempts):
 * append in a write transaction of its own and commit it. */
int skr_audit_log(skr_store *st, const json_t *record, int64_t now,
    uint64_t *seq);

/* Query filter; zero/NULL members match everything. */
typedef struct skr_audit_filter {
	const char *key;      /* records whose "key" equals this (case-insensitive) */
	const char *event;    /* exact "event" */
	const char *outcome;  /* exact "outcome" */
	int64_t since;        /* time >= since */
	int64_t until;        /* time < until (0: no bound) */
} skr_audit_filter;

/*
 * Records matching f with seq > after (0: from the first), oldest first, at
 * most max (0: SKR_PAGE_MAX; clamped to 1000).  *records: new array
 * reference (the stored records, with seq/time/prev/hash).  *next: the seq
 * to pass as `after` for the next page, or 0 when there are no more.  At
 * most 100000 records are examined per call, so a filter matching little
 * cannot pin a read transaction; *next then still says where to go on.
 */
int skr_audit_query(skr_txn *txn, const skr_audit_filter *f, uint64_t after,
    size_t max, json_t **records, uint64_t *next);

/*
 * Walk the whole chain: each record must parse, carry the seq it is stored
 * under (no gaps, starting at 1), have prev equal to the previous record's
 * hash and a hash that matches its content, and the last must match the
 * head kept in meta.  SKR_OK, or SKR_ERR_AUDIT_BROKEN with *broken set to
 * the sequence number of the first bad record (for a head mismatch, the
 * head's seq).  *count (may be NULL) receives the number of records checked.
 */
int skr_audit_verify(skr_txn *txn, uint64_t *count, uint64_t *broken);

/* The same check offline, without the store: skr_audit_verify_dir
 * (chain.h). */

/* The chain head: last seq (0 when empty) and its hash (hex, 65 bytes). */
int skr_audit_head(skr_txn *txn, uint64_t *seq,
    char hash[SKR_AUDIT_HASH_HEX + 1]);

#endif
