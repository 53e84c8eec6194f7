/*
 * The audit log (docs/store.md, "Audit log"): every state change and every
 * release or evaluate attempt, one JSON record each, chained by SHA-256
 * (chain.h) and stored in the store's `audit` database.  A state change
 * commits its record in the SAME write transaction as the change
 * (skr_audit_commit), so a change that cannot be audited does not happen
 * and an aborted change leaves no record.  An attempt that changes nothing
 * else is recorded by skr_audit_log, which returns only once the record is
 * durable.  Callers describe a record with an skr_audit_rec; the JSON is
 * built here, in one place.
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
#define SKR_AUDIT_DETAIL_MAX 4

/*
 * One record as its caller describes it.  Every string is borrowed until
 * the call it is handed to returns; NULL or "" leaves the member out.
 * event and outcome ("ok", "denied" or "error") are required.  Start from
 * a zeroed struct (`skr_audit_rec rec = { .event = "key.create", ... }`)
 * and add detail with skr_audit_detail_str / _int.
 */
typedef struct skr_audit_rec {
	const char *event;
	const char *outcome;
	const char *reason;
	const char *principal;
	const char *peer;
	const char *request_id;
	const char *key;
	const char *version;
	const char *iss;
	const char *jti;
	const char *attestation_type;
	const char *trace_digest;
	/* The "detail" object, filled by the calls below. */
	struct {
		const char *name;
		const char *str;   /* NULL: the integer num */
		int64_t num;
	} detail[SKR_AUDIT_DETAIL_MAX];
	size_t ndetail;
	int overflow;          /* more than SKR_AUDIT_DETAIL_MAX were added */
} skr_audit_rec;

/* Add detail member name (borrowed, as the value) to rec.  A NULL v adds
 * nothing.  Past SKR_AUDIT_DETAIL_MAX members the record is refused when
 * built (SKR_ERR_INVAL). */
void skr_audit_detail_str(skr_audit_rec *rec, const char *name,
    const char *v);
void skr_audit_detail_int(skr_audit_rec *rec, const char *name, int64_t v);

/*
 * The JSON record rec describes.  *out: new reference.  Refused with
 * SKR_ERR_INVAL: no event, an outcome other than the three, too many
 * detail members, and whatever skr_audit_append would refuse (a member
 * named like key material or a credential, a string over
 * SKR_AUDIT_MAX_STRING).  Out of memory anywhere: SKR_ERR_NOMEM.
 */
int skr_audit_build(const skr_audit_rec *rec, json_t **out);

/*
 * Append record (borrowed, not modified: the store writes a copy with seq,
 * time, prev and hash added; members of those names in record are
 * replaced) to the chain inside write transaction txn.  *seq (may be NULL)
 * receives the record's sequence number.  A read transaction is
 * SKR_ERR_INVAL.
 */
int skr_audit_append(skr_txn *txn, const json_t *record, int64_t now,
    uint64_t *seq);

/*
 * Internal (audit_text.c; the committer, and tests): append to text the
 * record rec describes as the chain stores it under seq at time now after
 * the record whose hash is prev, and its hash -- the text skr_audit_build
 * and skr_audit_append would store, byte for byte, refused as they refuse
 * it.  On error text is as it was.
 */
int skr__audit_text(const skr_audit_rec *rec, uint64_t seq, int64_t now,
    const uint8_t prev[SKR_AUDIT_HASH_LEN], skr_buf *text,
    uint8_t hash[SKR_AUDIT_HASH_LEN]);

/*
 * The audited commit of a change: append the n (>= 1) records recs
 * describes, in order and with time now, to write transaction txn, which
 * holds the change, and commit it.  txn is ended on every path: committed
 * (durable) when this returns SKR_OK, aborted with nothing of it kept
 * otherwise.
 */
int skr_audit_commit(skr_txn *txn, const skr_audit_rec *recs, size_t n,
    int64_t now);

/*
 * Work an audited event does inside the transaction that holds its record
 * (using up a server nonce).  It runs before the record is built, inside a
 * nested transaction txn (it must not end it), and may change *rec (its
 * outcome and reason).  It returns SKR_OK to keep its changes,
 * SKR_AUDIT_UNDO to have them discarded while the record is still
 * committed (a refusal the record tells of), or an error to fail the whole
 * commit, which then writes nothing.  It may run on another thread than
 * the caller's and must use only txn, rec and arg.
 */
typedef int (*skr_audit_work)(skr_txn *txn, skr_audit_rec *rec, void *arg);
#define SKR_AUDIT_UNDO 1

/*
 * Record an event that changes nothing else (a release or evaluate
 * attempt) and return once its record is durable.  rec is borrowed for the
 * call (work sees a copy).  The record may share a write transaction and
 * its synced commit with concurrent callers' records; SKR_OK means the
 * commit holding it has returned, and a commit that fails fails every
 * record in it.  With work, the record and the work's changes commit
 * together.  The transaction may use the store's reserve
 * (SKR_TXN_WRITE_RESERVE), so that attempts are still recorded when the
 * disk is nearly full.  *seq (may be NULL) receives the record's sequence
 * number.  The caller must not hold a write transaction of st.
 */
int skr_audit_log(skr_store *st, const skr_audit_rec *rec, int64_t now,
    skr_audit_work work, void *arg, uint64_t *seq);

/*
 * skr_audit_log for an attempt decided on what read transactions tracked
 * in rs (borrowed for the call; store.h, skr_store_reads): with a
 * replicated store the record commits only if none of those reads has
 * changed since (docs/availability.md, "Releases"); when one has, nothing
 * is committed and the result is SKR_ERR_STORE_RETRY -- decide again.  A
 * commit that lost to another replica's but whose reads still hold is
 * made again here.  On a store of one node rs changes nothing.
 */
int skr_audit_log_fenced(skr_store *st, const skr_audit_rec *rec,
    int64_t now, skr_audit_work work, void *arg, const skr_store_reads *rs,
    uint64_t *seq);

/*
 * A check an attempt makes in the write transaction that commits its
 * record, right before the record is appended: it reads (never writes)
 * txn to confirm that what the attempt decided from still holds, so that
 * the chain's order is the order of what was decided (a release is never
 * recorded after the change that would have refused it).  It returns
 * SKR_OK to keep rec as it is, SKR_AUDIT_CHANGED after changing rec's
 * outcome and reason, or an error that fails the commit.  It may run on
 * another thread than the caller's (the one committing the batch) and must
 * use only txn, rec and arg.
 */
typedef int (*skr_audit_check)(skr_txn *txn, skr_audit_rec *rec, void *arg);
#define SKR_AUDIT_CHANGED 2

/* skr_audit_log_fenced without work, with check run where the record
 * commits (the record still shares its batch's transaction and commit). */
int skr_audit_log_checked(skr_store *st, const skr_audit_rec *rec,
    int64_t now, skr_audit_check check, void *arg, const skr_store_reads *rs,
    uint64_t *seq);

/*
 * The asynchronous form of skr_audit_log / skr_audit_log_checked, for a
 * caller that must not wait (an event loop): queue job and return at once.
 * The store's committer thread commits it with whatever else is queued, in
 * one write transaction and one synced commit, and then calls job->done on
 * its own thread: job->result SKR_OK means the commit holding the record
 * has returned and the record is durable (job->seq is its number); an
 * error means nothing of the record (or its work) was written.  A failed
 * commit fails every record in it; a record that is refused, or whose
 * check or work fails, fails alone.  A job fenced on rs behaves as
 * skr_audit_log_fenced: on a replicated store, SKR_ERR_STORE_RETRY when
 * what it read has changed.  job and everything it points to stay
 * the caller's and must live until done runs; done must not block or use
 * the store.  SKR_OK: done will run; an error: it will not.
 */
typedef struct skr_audit_job skr_audit_job;
struct skr_audit_job {
	const skr_audit_rec *rec;   /* borrowed until done */
	int64_t now;
	skr_audit_check check;      /* may be NULL */
	skr_audit_work work;        /* may be NULL; not with check */
	void *arg;                  /* for check or work */
	const skr_store_reads *rs;  /* may be NULL; as skr_audit_log_fenced */
	void (*done)(skr_audit_job *job);
	void *done_arg;             /* the caller's */
	int result;                 /* set before done */
	uint64_t seq;               /* set before done */
	uint64_t again_until;       /* the committer's */
	skr_audit_job *next;        /* the queue's */
};
int skr_audit_submit(skr_store *st, skr_audit_job *job);

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

/*
 * skr_audit_verify in steps, each in a read transaction of the caller's, so
 * that a long chain neither pins one snapshot for the whole walk nor keeps
 * the caller from doing other work between steps (docs/api.md,
 * "Administrative routes").  Start with skr_audit_verifier_init, then call
 * skr_audit_verify_step with a fresh read transaction until it returns
 * anything but SKR_AUDIT_MORE: each step checks at most max records
 * (0: no bound) after the last one checked, and the step that reaches the
 * last record checks the head in its own transaction.  Records appended
 * between steps are walked too; records are never rewritten, so what an
 * earlier step checked still holds.  The result and report are those of
 * skr_audit_verify.
 */
typedef struct skr_audit_verifier {
	skr__audit_walk w;
	int started;
} skr_audit_verifier;
#define SKR_AUDIT_MORE 1

void skr_audit_verifier_init(skr_audit_verifier *v);
int skr_audit_verify_step(skr_txn *txn, skr_audit_verifier *v, size_t max);
/* *count (may be NULL): records checked and good so far; *broken (may be
 * NULL): the first bad seq when r is SKR_ERR_AUDIT_BROKEN. */
void skr_audit_verifier_report(const skr_audit_verifier *v, int r,
    uint64_t *count, uint64_t *broken);

/* The same check offline, without the store: skr_audit_verify_dir
 * (chain.h). */

/* The chain head: last seq (0 when empty) and its hash (hex, 65 bytes). */
int skr_audit_head(skr_txn *txn, uint64_t *seq,
    char hash[SKR_AUDIT_HASH_HEX + 1]);

#endif
