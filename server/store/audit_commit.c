/*
 * The audited commits (audit.h): a change's records committed with the
 * change, and an attempt's record committed on its own or with others'.
 *
 * Group commit.  Every release attempt is audited in a durable (fsynced)
 * LMDB commit before its answer is sent (docs/store.md, "Audit log"); one
 * fsync per release would cap releases at the disk's sync rate (README,
 * "Performance").  Records handed to skr_audit_log together share one write
 * transaction and one commit: the first waiting thread becomes the leader,
 * takes every queued record of its store, appends them in queue order,
 * commits, and wakes the others.  Nobody returns before the commit holding
 * its record has returned, so every acknowledged attempt is on disk first;
 * if that commit fails, every record in it fails (an attempt that cannot
 * be audited does not happen).  The mutex guards only the queue, never the
 * transaction, and the store serialises writers anyway.  A record with
 * in-transaction work (a server nonce to use up) keeps a transaction of its
 * own, as the work decides the record's outcome.  A record with a check
 * (skr_audit_log_checked) stays in the batch: the leader runs the check in
 * the batch's transaction right before appending the record.
 *
 * Replicas (docs/availability.md, "Releases").  A record may be fenced on
 * what its attempt decided on; the batch's commit is then fenced on the
 * reads of every record in it.  When another replica's commit overtakes
 * the batch, the records whose reads still hold go into the next batch,
 * and the others fail with SKR_ERR_STORE_RETRY: their attempts decide
 * again.  A batch of a replicated store is kept within what one etcd Txn
 * takes.
 */
#include "audit.h"

#include <pthread.h>
#include <time.h>

#include "clock.h"
#include "guard.h"
#include "skr/error.h"

#define BATCH_MAX 256
/* A batch of a replicated store: records plus fenced reads, within etcd's
 * default of 128 operations and compares per Txn (--max-txn-ops). */
#define BATCH_BUDGET_REPLICATED 120
/* How long a fenced record whose reads hold is committed again after
 * losing to other replicas. */
#define AGAIN_MS 10000

int
skr_audit_commit(skr_txn *txn, const skr_audit_rec *recs, size_t n,
    int64_t now)
{
	json_t *rec = NULL;
	size_t i;
	int r;

	SKR_ENSURE(txn != NULL && recs != NULL && n > 0, SKR_ERR_INVAL);
	for (i = 0; i < n; i++) {
		SKR_GUARD(skr_audit_build(&recs[i], &rec));
		SKR_GUARD(skr_audit_append(txn, rec, now, NULL));
		json_decref(rec);
		rec = NULL;
	}
	r = skr_store_txn_commit(txn);
	/* The transaction ends here either way: a write left open would hold
	 * the store's write lock for good. */
	txn = NULL;
out:
	json_decref(rec);
	skr_store_txn_abort(txn);
	return r;
}

/* ---- one record with its work, in a transaction of its own -------------- */

static int
log_with_work_once(skr_store *st, const skr_audit_rec *rec, int64_t now,
    skr_audit_work work, void *arg, const skr_store_reads *rs, uint64_t *seq)
{
	skr_audit_rec mine = *rec;
	skr_txn *txn = NULL, *sub = NULL;
	json_t *j = NULL;
	int r, w;

	SKR_GUARD(skr_store_txn_begin(st, SKR_TXN_WRITE_RESERVE, &txn));
	SKR_GUARD(skr__store_txn_fence(txn, rs));
	/* A nested transaction, so that work that ends in a refusal leaves
	 * nothing behind and the record still goes in. */
	SKR_GUARD(skr__store_sub_begin(txn, &sub));
	w = work(sub, &mine, arg);
	if (w > 0 && w != SKR_AUDIT_UNDO)
		w = SKR_ERR_INTERNAL;
	r = skr__store_sub_end(sub, w);
	if (r == SKR_AUDIT_UNDO)
		r = SKR_OK;
	if (r != SKR_OK)
		goto out;
	SKR_GUARD(skr_audit_build(&mine, &j));
	SKR_GUARD(skr_audit_append(txn, j, now, seq));
	r = skr_store_txn_commit(txn);
	txn = NULL;
out:
	json_decref(j);
	skr_store_txn_abort(txn);
	return r;
}

/* The work reads what it decides on in the record's own transaction, so
 * a commit another replica overtook is made again, work and all, as long
 * as the attempt's own reads hold. */
static int
log_with_work(skr_store *st, const skr_audit_rec *rec, int64_t now,
    skr_audit_work work, void *arg, const skr_store_reads *rs, uint64_t *seq)
{
	uint64_t deadline = 0;
	int r;

	for (;;) {
		r = log_with_work_once(st, rec, now, work, arg, rs, seq);
		if (r != SKR_ERR_STORE_RETRY ||
		    !skr__store_reads_current(st, rs))
			return r;
		if (deadline == 0)
			deadline = skr_clock_ms() + AGAIN_MS;
		else if (skr_clock_ms() >= deadline)
			return r;
	}
}

/* ---- group commit --------------------------------------------------------- */

struct job {
	skr_store *st;
	const json_t *rec;
	const skr_store_reads *rs;
	const skr_audit_rec *src;   /* what rec was built from (check) */
	skr_audit_check check;      /* may be NULL */
	void *arg;
	int64_t now;
	uint64_t seq;
	int r;
	int done;
	struct job *next;
};

static pthread_mutex_t queue_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cv = PTHREAD_COND_INITIALIZER;
static struct job *queue;
static int leading;

/* Append j's record to txn, after its check (which may change it). */
static int
append_job(skr_txn *txn, struct job *j)
{
	skr_audit_rec mine;
	json_t *changed = NULL;
	int r;

	if (j->check == NULL)
		return skr_audit_append(txn, j->rec, j->now, &j->seq);
	mine = *j->src;
	r = j->check(txn, &mine, j->arg);
	if (r == SKR_OK)
		return skr_audit_append(txn, j->rec, j->now, &j->seq);
	SKR_ENSURE(r == SKR_AUDIT_CHANGED, r > 0 ? SKR_ERR_INTERNAL : r);
	SKR_GUARD(skr_audit_build(&mine, &changed));
	r = skr_audit_append(txn, changed, j->now, &j->seq);
out:
	json_decref(changed);
	return r;
}

/* One transaction for the batch; the result goes to every job in it. */
static int
commit_batch(skr_store *st, struct job *batch)
{
	skr_txn *txn = NULL;
	struct job *j;
	int r;

	SKR_GUARD(skr_store_txn_begin(st, SKR_TXN_WRITE_RESERVE, &txn));
	for (j = batch; j != NULL; j = j->next)
		SKR_GUARD(skr__store_txn_fence(txn, j->rs));
	for (j = batch; j != NULL; j = j->next)
		SKR_GUARD(append_job(txn, j));
	r = skr_store_txn_commit(txn);
	txn = NULL;
out:
	skr_store_txn_abort(txn);
	return r;
}

/* Take the queued jobs of st, in order, at most BATCH_MAX, and for a
 * replicated store no more than one Txn takes (always one).  Under
 * queue_mu. */
static struct job *
batch_take(skr_store *st)
{
	struct job **pp, *batch = NULL, **tail = &batch, *j;
	size_t budget = skr_store_replicated(st) ? BATCH_BUDGET_REPLICATED :
	    SIZE_MAX, cost;
	int n = 0;

	for (pp = &queue; *pp != NULL && n < BATCH_MAX;) {
		j = *pp;
		if (j->st != st) {
			pp = &j->next;
			continue;
		}
		cost = 1 + (j->rs != NULL ? j->rs->n : 0);
		if (n > 0 && cost > budget)
			break;
		budget = cost < budget ? budget - cost : 0;
		*pp = j->next;
		j->next = NULL;
		*tail = j;
		tail = &j->next;
		n++;
	}
	return batch;
}

/* Put the jobs of a batch another replica overtook back at the head of
 * the queue, in order.  Under queue_mu. */
static void
requeue(struct job *again)
{
	struct job **tail = &again;

	if (again == NULL)
		return;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = queue;
	queue = again;
}

static int
log_grouped(skr_store *st, const json_t *rec, const skr_audit_rec *src,
    skr_audit_check check, void *arg, const skr_store_reads *rs, int64_t now,
    uint64_t *seq)
{
	struct job me = { st, rec, rs, src, check, arg, now, 0,
		SKR_ERR_INTERNAL, 0, NULL };
	struct job **pp, *batch, *j, *next, *again, **atail;
	uint64_t deadline = 0;
	int r;

	pthread_mutex_lock(&queue_mu);
	for (pp = &queue; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = &me;
	while (!me.done) {
		if (leading) {
			pthread_cond_wait(&queue_cv, &queue_mu);
			continue;
		}
		leading = 1;
		batch = batch_take(st);
		pthread_mutex_unlock(&queue_mu);
		r = commit_batch(st, batch);
		if (r == SKR_ERR_STORE_RETRY && deadline == 0)
			deadline = skr_clock_ms() + AGAIN_MS;
		pthread_mutex_lock(&queue_mu);
		again = NULL;
		atail = &again;
		for (j = batch; j != NULL; j = next) {
			next = j->next;
			j->next = NULL;
			/* Overtaken, but what it decided on holds: into the
			 * next batch. */
			if (r == SKR_ERR_STORE_RETRY && skr_clock_ms() < deadline &&
			    skr__store_reads_current(st, j->rs)) {
				*atail = j;
				atail = &j->next;
				continue;
			}
			j->r = r;
			j->done = 1;
		}
		requeue(again);
		leading = 0;
		pthread_cond_broadcast(&queue_cv);
	}
	pthread_mutex_unlock(&queue_mu);
	if (seq != NULL && me.r == SKR_OK)
		*seq = me.seq;
	return me.r;
}

int
skr_audit_log_fenced(skr_store *st, const skr_audit_rec *rec, int64_t now,
    skr_audit_work work, void *arg, const skr_store_reads *rs, uint64_t *seq)
{
	json_t *j = NULL;
	int r;

	if (seq != NULL)
		*seq = 0;
	if (st == NULL || rec == NULL)
		return SKR_ERR_INVAL;
	if (work != NULL)
		return log_with_work(st, rec, now, work, arg, rs, seq);
	/* Built on the caller's thread: a record the chain would refuse never
	 * joins, and fails, a batch. */
	SKR_GUARD(skr_audit_build(rec, &j));
	r = log_grouped(st, j, rec, NULL, NULL, rs, now, seq);
out:
	json_decref(j);
	return r;
}

int
skr_audit_log_checked(skr_store *st, const skr_audit_rec *rec, int64_t now,
    skr_audit_check check, void *arg, const skr_store_reads *rs,
    uint64_t *seq)
{
	json_t *j = NULL;
	int r;

	if (seq != NULL)
		*seq = 0;
	if (st == NULL || rec == NULL || check == NULL)
		return SKR_ERR_INVAL;
	SKR_GUARD(skr_audit_build(rec, &j));
	r = log_grouped(st, j, rec, check, arg, rs, now, seq);
out:
	json_decref(j);
	return r;
}

int
skr_audit_log(skr_store *st, const skr_audit_rec *rec, int64_t now,
    skr_audit_work work, void *arg, uint64_t *seq)
{
	return skr_audit_log_fenced(st, rec, now, work, arg, NULL, seq);
}
