/*
 * The audited commits (audit.h): a change's records committed with the
 * change, and an attempt's record committed on its own or with others'.
 *
 * The committer.  Every release attempt is audited in a durable (fsynced)
 * LMDB commit before its answer is sent (docs/store.md, "Audit log"); one
 * fsync per release would cap releases at the disk's sync rate (README,
 * "Performance").  Each store has one committer thread, started by the first
 * record: callers queue jobs (skr_audit_submit, or skr_audit_log, which
 * queues one and waits for it), and the committer takes everything queued,
 * appends the records in queue order in one write transaction, commits it,
 * and only then tells each job how it went.  While commits follow each
 * other, the next starts no sooner than the store's interval
 * (skr_store_commit_interval) after the last one started, so that more
 * records share its sync; submitters wake the committer only when it is idle
 * or a batch is full.  Nobody is told before the commit holding its record
 * has returned, so every acknowledged attempt is on disk first; if that
 * commit fails, every record in it fails (an attempt that cannot be audited
 * does not happen).  A record that is refused, or whose check or work fails,
 * fails alone and leaves nothing behind.  A record with a check
 * (skr_audit_log_checked) has it run in the batch's transaction right before
 * the record is appended; one with work (a server nonce to use up) runs it
 * in a nested transaction first, as the work decides the record's outcome.
 * Records are written as text (audit_text.c), not through jansson, and the
 * chain's head is written once per batch.  The mutex guards only the queue.
 *
 * Replicas (docs/availability.md, "Releases").  A record may be fenced on
 * what its attempt decided on; the batch's commit is then fenced on the
 * reads of every record in it.  When another replica's commit overtakes
 * the batch, the records whose reads still hold go into the next batch,
 * and the others fail with SKR_ERR_STORE_RETRY: their attempts decide
 * again.  A batch of a replicated store is kept within what one etcd Txn
 * takes, and a record with work (whose writes are not counted beforehand)
 * has a batch of its own there.
 */
#include "store_priv.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

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

/* ---- the committer ------------------------------------------------------ */

struct skr__committer {
	skr_store *st;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	skr_audit_job *head, *tail;  /* queued, oldest first */
	size_t queued;
	int idle;               /* waiting for a first record */
	int stop;
	uint64_t last_us;       /* when the last commit started */
	/* Atomic: committed batches, the records in them, how long their
	 * commits took (in all, and by skr_store_commit_bounds_us). */
	uint64_t commits, records, usec;
	uint64_t buckets[SKR_STORE_COMMIT_BUCKETS];
};

const uint32_t skr_store_commit_bounds_us[SKR_STORE_COMMIT_BUCKETS - 1] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000,
};

/* A committed batch counted: n records, started at t0. */
static void
count_commit(struct skr__committer *c, int n, uint64_t t0)
{
	uint64_t us = skr_clock_us() - t0;
	size_t b;

	for (b = 0; b < SKR_STORE_COMMIT_BUCKETS - 1; b++)
		if (us <= skr_store_commit_bounds_us[b])
			break;
	__atomic_add_fetch(&c->buckets[b], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->usec, us, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->records, (uint64_t)n, __ATOMIC_RELAXED);
	/* Last: a reader that sees the commit sees what it held. */
	__atomic_add_fetch(&c->commits, 1, __ATOMIC_RELEASE);
}

/* Append job's record to txn after its check or work: a refused record or
 * a failed check or work fails the job alone (*alone set), anything else
 * the whole batch.  *seq and prev move on when the record goes in. */
static int
append_job(skr_txn *txn, skr_audit_job *job, uint64_t *seq,
    uint8_t prev[SKR_AUDIT_HASH_LEN], skr_buf *text, int *alone)
{
	skr_audit_rec mine = *job->rec;
	skr_txn *sub = NULL, *into = txn;
	uint8_t hash[SKR_AUDIT_HASH_LEN], k[8];
	int r, w = SKR_OK;

	*alone = 1;
	if (job->check != NULL) {
		w = job->check(txn, &mine, job->arg);
		if (w == SKR_AUDIT_CHANGED)
			w = SKR_OK;
		else if (w > 0)
			w = SKR_ERR_INTERNAL;
		if (w != SKR_OK)
			return w;
	} else if (job->work != NULL) {
		/* A nested transaction, so that work that ends in a refusal
		 * leaves nothing behind and the record still goes in. */
		if ((r = skr__store_sub_begin(txn, &sub)) != SKR_OK) {
			*alone = 0;
			return r;
		}
		w = job->work(sub, &mine, job->arg);
		if (w > 0 && w != SKR_AUDIT_UNDO)
			w = SKR_ERR_INTERNAL;
		if (w != SKR_OK) {
			skr__store_sub_end(sub, SKR_AUDIT_UNDO);
			sub = NULL;
			if (w != SKR_AUDIT_UNDO)
				return w;
		} else
			into = sub;
	}
	skr_buf_reset(text);
	if ((r = skr__audit_text(&mine, *seq + 1, job->now, prev, text,
	    hash)) != SKR_OK) {
		/* Refused: the work goes with it. */
		skr__store_sub_end(sub, r);
		return r;
	}
	skr__audit_seq_put(k, *seq + 1);
	r = skr__store_put(into, SKR__DB_AUDIT, k, 8, text->data, text->len);
	if (sub != NULL) {
		/* The work and its record together, or neither. */
		if ((r = skr__store_sub_end(sub, r)) != SKR_OK)
			return r;
	} else if (r != SKR_OK) {
		*alone = 0;
		return r;
	}
	(*seq)++;
	memcpy(prev, hash, SKR_AUDIT_HASH_LEN);
	job->seq = *seq;
	return SKR_OK;
}

/* One write transaction for the batch; each job's result is set.  The
 * number of records committed. */
static int
commit_batch(skr_store *st, skr_audit_job *batch)
{
	skr_txn *txn = NULL;
	skr_audit_job *j;
	skr_buf text = SKR_BUF_INIT;
	uint8_t prev[SKR_AUDIT_HASH_LEN], head[SKR__AUDIT_HEAD_LEN];
	uint64_t seq;
	const void *v;
	size_t vl;
	int r, alone, appended = 0;

	for (j = batch; j != NULL; j = j->next) {
		j->result = SKR_ERR_INTERNAL;
		j->seq = 0;
	}
	SKR_GUARD(skr_store_txn_begin(st, SKR_TXN_WRITE_RESERVE, &txn));
	for (j = batch; j != NULL; j = j->next)
		SKR_GUARD(skr__store_txn_fence(txn, j->rs));
	r = skr__store_get(txn, SKR__DB_META, SKR__AUDIT_HEAD_KEY,
	    strlen(SKR__AUDIT_HEAD_KEY), &v, &vl);
	if (r == SKR_ERR_NOT_FOUND) {
		seq = 0;
		memset(prev, 0, sizeof(prev));
	} else {
		SKR_GUARD(r);
		SKR_GUARD(skr__audit_head_get(v, vl, &seq, prev));
	}
	for (j = batch; j != NULL; j = j->next) {
		if ((j->result = append_job(txn, j, &seq, prev, &text,
		    &alone)) == SKR_OK) {
			appended++;
			continue;
		}
		if (!alone) {
			r = j->result;
			goto out;
		}
	}
	if (appended > 0) {
		skr__audit_head_put(head, seq, prev);
		SKR_GUARD(skr__store_put(txn, SKR__DB_META,
		    SKR__AUDIT_HEAD_KEY, strlen(SKR__AUDIT_HEAD_KEY), head,
		    sizeof(head)));
		r = skr_store_txn_commit(txn);
	} else {
		/* Every record failed alone: nothing to sync. */
		skr_store_txn_abort(txn);
		r = SKR_OK;
	}
	txn = NULL;
out:
	skr_store_txn_abort(txn);
	skr_buf_free(&text);
	/* A failed commit is every record's failure. */
	for (j = batch; j != NULL; j = j->next)
		if (r != SKR_OK || j->result != SKR_OK) {
			if (r != SKR_OK)
				j->result = r;
			j->seq = 0;
		}
	return r == SKR_OK ? appended : 0;
}

/* Take the queued jobs of c, in order, at most BATCH_MAX, and for a
 * replicated store no more than one Txn takes (always one).  Under c->mu. */
static skr_audit_job *
batch_take(struct skr__committer *c)
{
	skr_audit_job *batch = NULL, **tail = &batch, *j;
	int replicated = skr_store_replicated(c->st), n = 0;
	size_t budget = replicated ? BATCH_BUDGET_REPLICATED : SIZE_MAX, cost;

	while ((j = c->head) != NULL && n < BATCH_MAX) {
		cost = 1 + (j->rs != NULL ? j->rs->n : 0);
		if (replicated && j->work != NULL)
			cost = SIZE_MAX;
		if (n > 0 && cost > budget)
			break;
		budget = cost < budget ? budget - cost : 0;
		c->head = j->next;
		j->next = NULL;
		*tail = j;
		tail = &j->next;
		n++;
		c->queued--;
	}
	if (c->head == NULL)
		c->tail = NULL;
	return batch;
}

/* Put jobs back at the head of the queue, in order.  Under c->mu. */
static void
requeue(struct skr__committer *c, skr_audit_job *again)
{
	skr_audit_job *last = again;

	if (again == NULL)
		return;
	c->queued++;
	while (last->next != NULL) {
		last = last->next;
		c->queued++;
	}
	last->next = c->head;
	if (c->head == NULL)
		c->tail = last;
	c->head = again;
}

static void *
committer_main(void *arg)
{
	struct skr__committer *c = arg;
	skr_audit_job *batch, *j, *next, *again, **atail;
	struct timespec until;
	uint64_t now, due;
	int n;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		c->idle = 1;
		while (c->head == NULL && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		c->idle = 0;
		if (c->head == NULL)
			break;
		/* Busy: the last commit started less than the interval ago.
		 * Let more records join this one, up to a full batch. */
		due = c->last_us + __atomic_load_n(&c->st->commit_interval_us,
		    __ATOMIC_RELAXED);
		while (!c->stop && c->queued < BATCH_MAX &&
		    (now = skr_clock_us()) < due) {
			until.tv_sec = (time_t)(due / 1000000);
			until.tv_nsec = (long)(due % 1000000) * 1000;
			pthread_cond_timedwait(&c->cv, &c->mu, &until);
		}
		c->last_us = now = skr_clock_us();
		batch = batch_take(c);
		pthread_mutex_unlock(&c->mu);
		/* Counted before anyone is told, so that a caller that reads
		 * the counters after its record is done sees its commit. */
		if ((n = commit_batch(c->st, batch)) > 0)
			count_commit(c, n, now);
		again = NULL;
		atail = &again;
		now = skr_clock_ms();
		for (j = batch; j != NULL; j = next) {
			next = j->next;
			j->next = NULL;
			/* Overtaken by another replica, but what it decided
			 * on holds: into the next batch, for a while. */
			if (j->result == SKR_ERR_STORE_RETRY) {
				if (j->again_until == 0)
					j->again_until = now + AGAIN_MS;
				if (now < j->again_until &&
				    skr__store_reads_current(c->st, j->rs)) {
					*atail = j;
					atail = &j->next;
					continue;
				}
			}
			j->done(j);
		}
		pthread_mutex_lock(&c->mu);
		requeue(c, again);
	}
	pthread_mutex_unlock(&c->mu);
	/* OpenSSL keeps per-thread state (the error queue the record MACs
	 * touch) that it frees only when told the thread ends. */
	OPENSSL_thread_stop();
	return NULL;
}

/* st's committer, started on first use. */
static struct skr__committer *
committer(skr_store *st)
{
	struct skr__committer *c;
	pthread_condattr_t ca;

	pthread_mutex_lock(&st->committer_mu);
	if ((c = st->committer) == NULL && (c = calloc(1, sizeof(*c))) !=
	    NULL) {
		c->st = st;
		pthread_mutex_init(&c->mu, NULL);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&c->cv, &ca);
		pthread_condattr_destroy(&ca);
		if (pthread_create(&c->thread, NULL, committer_main, c) != 0) {
			pthread_cond_destroy(&c->cv);
			pthread_mutex_destroy(&c->mu);
			free(c);
			c = NULL;
		} else
			st->committer = c;
	}
	pthread_mutex_unlock(&st->committer_mu);
	return c;
}

void
skr__committer_stop(skr_store *st)
{
	struct skr__committer *c;

	pthread_mutex_lock(&st->committer_mu);
	c = st->committer;
	st->committer = NULL;
	pthread_mutex_unlock(&st->committer_mu);
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void
skr__committer_stats(skr_store *st, skr_store_stats *out)
{
	struct skr__committer *c;
	size_t b;

	out->audit_commits = out->audit_commit_records = 0;
	out->audit_commit_usec = 0;
	memset(out->audit_commit_buckets, 0,
	    sizeof(out->audit_commit_buckets));
	pthread_mutex_lock(&st->committer_mu);
	if ((c = st->committer) != NULL) {
		out->audit_commits = __atomic_load_n(&c->commits,
		    __ATOMIC_ACQUIRE);
		out->audit_commit_records = __atomic_load_n(&c->records,
		    __ATOMIC_RELAXED);
		out->audit_commit_usec = __atomic_load_n(&c->usec,
		    __ATOMIC_RELAXED);
		for (b = 0; b < SKR_STORE_COMMIT_BUCKETS; b++)
			out->audit_commit_buckets[b] = __atomic_load_n(
			    &c->buckets[b], __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&st->committer_mu);
}

int
skr_audit_submit(skr_store *st, skr_audit_job *job)
{
	struct skr__committer *c;

	if (st == NULL || job == NULL || job->rec == NULL ||
	    job->done == NULL || (job->check != NULL && job->work != NULL))
		return SKR_ERR_INVAL;
	if ((c = committer(st)) == NULL)
		return SKR_ERR_NOMEM;
	job->next = NULL;
	job->result = SKR_ERR_INTERNAL;
	job->seq = 0;
	job->again_until = 0;
	pthread_mutex_lock(&c->mu);
	if (c->tail != NULL)
		c->tail->next = job;
	else
		c->head = job;
	c->tail = job;
	/* The committer waits for a first record, or for a batch to fill
	 * while the interval runs: nothing else wakes it. */
	if (++c->queued >= BATCH_MAX || c->idle)
		pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return SKR_OK;
}

/* ---- waiting for one ---------------------------------------------------- */

static void
wake(skr_audit_job *job)
{
	sem_post(job->done_arg);
}

static int
log_wait(skr_store *st, const skr_audit_rec *rec, int64_t now,
    skr_audit_check check, skr_audit_work work, void *arg,
    const skr_store_reads *rs, uint64_t *seq)
{
	skr_audit_job job;
	json_t *j = NULL;
	sem_t sem;
	int r;

	/* Checked here first, on the caller's thread, as the record was
	 * always built here: a record the chain would refuse is refused
	 * before it reaches the committer.  A record with work is checked
	 * after the work, where its outcome is known. */
	if (work == NULL) {
		SKR_GUARD(skr_audit_build(rec, &j));
		json_decref(j);
	}
	memset(&job, 0, sizeof(job));
	job.rec = rec;
	job.now = now;
	job.check = check;
	job.work = work;
	job.arg = arg;
	job.rs = rs;
	job.done = wake;
	job.done_arg = &sem;
	if (sem_init(&sem, 0, 0) != 0)
		return SKR_ERR_INTERNAL;
	if ((r = skr_audit_submit(st, &job)) == SKR_OK) {
		while (sem_wait(&sem) != 0)
			;
		r = job.result;
		if (seq != NULL && r == SKR_OK)
			*seq = job.seq;
	}
	sem_destroy(&sem);
out:
	return r;
}

int
skr_audit_log_fenced(skr_store *st, const skr_audit_rec *rec, int64_t now,
    skr_audit_work work, void *arg, const skr_store_reads *rs, uint64_t *seq)
{
	if (seq != NULL)
		*seq = 0;
	if (st == NULL || rec == NULL)
		return SKR_ERR_INVAL;
	return log_wait(st, rec, now, NULL, work, arg, rs, seq);
}

int
skr_audit_log(skr_store *st, const skr_audit_rec *rec, int64_t now,
    skr_audit_work work, void *arg, uint64_t *seq)
{
	return skr_audit_log_fenced(st, rec, now, work, arg, NULL, seq);
}

int
skr_audit_log_checked(skr_store *st, const skr_audit_rec *rec, int64_t now,
    skr_audit_check check, void *arg, const skr_store_reads *rs,
    uint64_t *seq)
{
	if (seq != NULL)
		*seq = 0;
	if (st == NULL || rec == NULL || check == NULL)
		return SKR_ERR_INVAL;
	return log_wait(st, rec, now, check, NULL, arg, rs, seq);
}
