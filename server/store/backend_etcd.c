/*
 * The etcd backend (backend.h; docs/availability.md): skrd replicas that
 * share one keyspace in an etcd cluster.
 *
 * Layout: record k of database d is the etcd key prefix | d's name | '/'
 * | k, its value the record's bytes; prefix | "clock" is written by every
 * commit, so its revision is the newest change under the prefix.
 *
 * Reads: every database but the audit log lives in a local copy (cache.h),
 * filled at open and kept fresh by a watch on the whole prefix, which a
 * thread of the backend's own streams.  A transaction reads that copy as
 * it was at the revision the transaction began at; the audit log is read
 * from etcd at that revision.  skr_store_sync waits until the copy has
 * reached the clock's revision, which a single read of etcd tells.
 *
 * Writes: a write transaction keeps its changes to itself and notes every
 * record it read with the revision that wrote it (0: absent).  Its commit
 * is one etcd Txn: if each of those records still has that revision, make
 * the changes, else nothing.  A transaction that changes the audit chain's
 * head compares the head alone among the records that only audited
 * changes write (every audited change writes the head, so no such record
 * can change unseen); server nonces, which unaudited commits write, are
 * compared whatever the transaction.  A Txn that fails its compares means
 * another replica committed first: the copy catches up to that commit and
 * the caller runs its transaction again (SKR_ERR_STORE_RETRY).  Reads of
 * other requests the commit is fenced on (skr_store_reads) are compared
 * the same way.
 *
 * Unknown outcomes: when no answer says whether a Txn took effect (a
 * timeout, a lost connection, a leader change), the same Txn is sent again
 * until one does.  It cannot take effect twice: a transaction that writes
 * the head compares it, so a second copy fails once the first has
 * committed -- and the failure branch reads back the last audit record the
 * transaction wrote, which is in the chain, as written, exactly when the
 * first copy committed, even if other replicas have appended since.  The
 * other transactions (issuing and pruning server nonces, creating the
 * store) do the same thing however often they are applied.  No answer before the deadline: SKR_ERR_STORE_UNAVAILABLE,
 * and the caller says nothing of success.
 *
 * One write transaction at a time per replica (as LMDB has it), so that
 * commits of one replica never overtake each other.
 */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cache.h"
#include "chain.h"
#include "clock.h"
#include "encoding.h"
#include "etcd_client.h"
#include "guard.h"
#include "random.h"
#include "skr/error.h"
#include "storecfg.h"

#define CLOCK "clock"
#define PAGE 512                  /* keys per range request */
#define COMMIT_DEADLINE_MS 10000  /* resending a Txn of unknown fate */
#define CATCH_UP_MS 5000          /* waiting for the watch */
#define COMPACT_EVERY_MS (300 * 1000)
#define GC_GARBAGE 4096

enum { OP_PUT, OP_DEL, OP_DELPREFIX };

struct op {
	int db, kind;
	uint8_t *k, *v;
	size_t kl, vl;
};

struct read {
	int db;
	uint8_t *k;
	size_t kl;
	int64_t rev;
	int fenced;             /* another request's read: always compared */
};

struct etcd_be {
	skr__be base;
	skr_etcd *cli;
	char json[PATH_MAX];    /* store.json, for destroy */
	uint8_t prefix[SKR_STORECFG_PREFIX_MAX + 1];
	size_t plen;
	skr__cache *cache;
	pthread_mutex_t mu;     /* the watch's progress, under cv */
	pthread_cond_t cv;
	pthread_mutex_t writer; /* one write transaction at a time */
	pthread_t watcher;
	int started;
	atomic_int stop;
	atomic_int cut;         /* end the current watch stream */
	atomic_int watch_up;
	atomic_int held;        /* skr__store_test: apply nothing */
	int reload;             /* watcher only */
	uint64_t compact_at;    /* watcher only */
	int64_t compact_mark;
	/* metrics */
	atomic_uint_fast64_t conflicts, unknown, unavail, unavail_ms, restarts;
	atomic_int failing;     /* the last call to etcd failed */
	pthread_mutex_t avail_mu;
	int down;               /* unavailable since down_since */
	uint64_t down_since;
};

struct etcd_txn {
	skr__be_txn base;
	struct etcd_txn *root;  /* itself, or the transaction a sub is in */
	size_t mark;            /* a sub: root's ops when it began */
	int64_t rev;
	uint64_t gen;
	int holds_writer;
	struct op *ops;
	size_t nops, capops;
	struct read *reads;
	size_t nreads, capreads;
	int64_t fence_oldest;   /* an overflowed fence; 0: none */
	skr_store_reads *track;
	void **arena;           /* copies handed to the caller */
	size_t narena, caparena;
};

#define BE(b) ((struct etcd_be *)(b))
#define TX(t) ((struct etcd_txn *)(t))

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- availability ------------------------------------------------------ */

/* Account a change in availability: failing etcd calls, or the watch. */
static void
avail_note(struct etcd_be *be)
{
	int down = atomic_load(&be->failing) || !atomic_load(&be->watch_up);
	uint64_t t = skr_clock_ms();

	pthread_mutex_lock(&be->avail_mu);
	if (down && !be->down) {
		be->down = 1;
		be->down_since = t;
		atomic_fetch_add(&be->unavail, 1);
	} else if (!down && be->down) {
		be->down = 0;
		atomic_fetch_add(&be->unavail_ms, t - be->down_since);
	}
	pthread_mutex_unlock(&be->avail_mu);
}

static void
call_result(struct etcd_be *be, int r)
{
	int failing = r == SKR_ERR_STORE_UNAVAILABLE;

	if (atomic_exchange(&be->failing, failing) != failing)
		avail_note(be);
}

/* ---- keys ---------------------------------------------------------------- */

/* prefix | db | '/' | k into out. */
static int
full_key(const struct etcd_be *be, int db, const void *k, size_t kl,
    skr_buf *out)
{
	int r;

	skr_buf_reset(out);
	if ((r = skr_buf_append(out, be->prefix, be->plen)) != SKR_OK ||
	    (r = skr_buf_append_str(out, skr__db_names[db])) != SKR_OK ||
	    (r = skr_buf_append_byte(out, '/')) != SKR_OK)
		return r;
	return kl > 0 ? skr_buf_append(out, k, kl) : SKR_OK;
}

/* The end of db's range: prefix | db | '0' ('/' + 1). */
static int
db_end(const struct etcd_be *be, int db, skr_buf *out)
{
	int r;

	skr_buf_reset(out);
	if ((r = skr_buf_append(out, be->prefix, be->plen)) != SKR_OK ||
	    (r = skr_buf_append_str(out, skr__db_names[db])) != SKR_OK)
		return r;
	return skr_buf_append_byte(out, '0');
}

static int
clock_key(const struct etcd_be *be, skr_buf *out)
{
	int r;

	skr_buf_reset(out);
	if ((r = skr_buf_append(out, be->prefix, be->plen)) != SKR_OK)
		return r;
	return skr_buf_append_str(out, CLOCK);
}

/* Split an etcd key into database and record key; -1 when it is none of
 * ours (the clock, or a name this build does not know). */
static int
split_key(const struct etcd_be *be, const uint8_t *k, size_t kl,
    const uint8_t **rk, size_t *rkl)
{
	const uint8_t *slash;
	size_t nl;

	if (kl <= be->plen || memcmp(k, be->prefix, be->plen) != 0)
		return -1;
	k += be->plen;
	kl -= be->plen;
	if ((slash = memchr(k, '/', kl)) == NULL)
		return -1;
	nl = (size_t)(slash - k);
	for (int db = 0; db < NDB; db++)
		if (strlen(skr__db_names[db]) == nl &&
		    memcmp(skr__db_names[db], k, nl) == 0) {
			*rk = slash + 1;
			*rkl = kl - nl - 1;
			return *rkl > 0 ? db : -1;
		}
	return -1;
}

static int
is_head(int db, const void *k, size_t kl)
{
	return db == DB_META && kl == strlen(SKR__HEAD_KEY) &&
	    memcmp(k, SKR__HEAD_KEY, kl) == 0;
}

/* ---- the watch ----------------------------------------------------------- */

/* Wake those waiting for the copy to reach a revision. */
static void
progress(struct etcd_be *be)
{
	pthread_mutex_lock(&be->mu);
	pthread_cond_broadcast(&be->cv);
	pthread_mutex_unlock(&be->mu);
}

/* Wait until the copy is at rev or later; SKR_ERR_STORE_UNAVAILABLE after
 * ms (the watch is then started again, in case it stalled). */
static int
catch_up(struct etcd_be *be, int64_t rev, long ms)
{
	struct timespec ts;
	int r = SKR_OK;

	if (skr__cache_rev(be->cache) >= rev)
		return SKR_OK;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&be->mu);
	while (skr__cache_rev(be->cache) < rev && r == SKR_OK)
		if (pthread_cond_timedwait(&be->cv, &be->mu, &ts) == ETIMEDOUT &&
		    skr__cache_rev(be->cache) < rev)
			r = SKR_ERR_STORE_UNAVAILABLE;
	pthread_mutex_unlock(&be->mu);
	if (r != SKR_OK)
		atomic_store(&be->cut, 1);
	return r;
}

/* Compact etcd's history up to what the copy had one interval ago, so
 * that a replica that was away less than that resumes its watch. */
static void
compact(struct etcd_be *be)
{
	skr_buf body = SKR_BUF_INIT, resp = SKR_BUF_INIT;
	uint64_t t = skr_clock_ms();

	if (t < be->compact_at)
		return;
	if (be->compact_mark > 0 && skr_etcd_compaction_req_build(
	    be->compact_mark, &body) == SKR_OK)
		/* Another replica may have compacted further: no matter. */
		(void)skr_etcd_post(be->cli, "/v3/kv/compaction", &body, 1,
		    &resp, NULL);
	be->compact_mark = skr__cache_rev(be->cache);
	be->compact_at = t + COMPACT_EVERY_MS;
	skr_buf_free(&body);
	skr_buf_free(&resp);
}

#define WATCH_RELOAD 1

static int
apply_events(struct etcd_be *be, const skr_etcd_watch_msg *w)
{
	const uint8_t *rk;
	size_t rkl, i;
	int64_t last = 0;
	int db, r = SKR_OK;

	skr__cache_write_begin(be->cache);
	for (i = 0; i < w->nevents && r == SKR_OK; i++) {
		const skr_etcd_event *ev = &w->events[i];

		last = ev->kv.mod_revision;
		/* The audit log is read from etcd, never copied. */
		if ((db = split_key(be, ev->kv.key, ev->kv.key_len, &rk,
		    &rkl)) < 0 || db == DB_AUDIT)
			continue;
		if (ev->type == SKR_ETCD_EVENT_PUT)
			r = skr__cache_put(be->cache, db, rk, rkl, ev->kv.value,
			    ev->kv.value_len, ev->kv.mod_revision);
		else
			r = skr__cache_del(be->cache, db, rk, rkl,
			    ev->kv.mod_revision);
	}
	skr__cache_write_end(be->cache, r == SKR_OK ? last : 0);
	return r;
}

static int
on_watch(void *arg, const uint8_t *msg, size_t len)
{
	struct etcd_be *be = arg;
	skr_etcd_watch_msg w;
	int r = SKR_OK;

	/* A replica whose copy lags, for tests. */
	while (atomic_load(&be->held) && !atomic_load(&be->stop))
		sleep_ms(10);

	if (skr_etcd_watch_parse(msg, len, &w) != SKR_OK || w.error)
		r = SKR_ERR_STORE_UNAVAILABLE;
	else if (w.canceled)
		/* A start revision compacted away: copy everything again. */
		r = w.compact_revision > 0 ? WATCH_RELOAD :
		    SKR_ERR_STORE_UNAVAILABLE;
	else if (w.created) {
		/* A member with a leader took the watch: etcd is there. */
		atomic_store(&be->watch_up, 1);
		atomic_store(&be->failing, 0);
		avail_note(be);
	} else if (w.nevents > 0) {
		/* A copy that cannot take a change is out of date for good:
		 * copy everything again. */
		if (apply_events(be, &w) != SKR_OK)
			r = WATCH_RELOAD;
	} else if (w.header.revision > 0) {
		/* A progress notification: every change up to its revision
		 * has been sent. */
		skr__cache_write_begin(be->cache);
		skr__cache_write_end(be->cache, w.header.revision);
	}
	skr_etcd_watch_clear(&w);
	if (r == SKR_OK) {
		progress(be);
		if (skr__cache_garbage(be->cache) > GC_GARBAGE)
			skr__cache_gc(be->cache);
		compact(be);
	}
	return r;
}

/* Copy every database but the audit log at one revision into the cache.
 * Any failure leaves the copy as it was. */
static int
load(struct etcd_be *be)
{
	skr_buf body = SKR_BUF_INIT, resp = SKR_BUF_INIT, key = SKR_BUF_INIT;
	skr_buf end = SKR_BUF_INIT;
	skr_etcd_range rg;
	skr_etcd_range_req rq;
	struct kvlist {
		int db;
		skr_etcd_kv kv;
	} *all = NULL;
	size_t nall = 0, cap = 0, i;
	int64_t at = 0;
	const uint8_t *rk;
	size_t rkl;
	int db, r;

	memset(&rg, 0, sizeof(rg));
	for (db = 0; db < NDB; db++) {
		if (db == DB_AUDIT)
			continue;
		SKR_GUARD(full_key(be, db, NULL, 0, &key));
		SKR_GUARD(db_end(be, db, &end));
		for (;;) {
			memset(&rq, 0, sizeof(rq));
			rq.key = key.data;
			rq.key_len = key.len;
			rq.range_end = end.data;
			rq.range_end_len = end.len;
			rq.limit = PAGE;
			rq.revision = at;
			SKR_GUARD(skr_etcd_range_req_build(&rq, &body));
			r = skr_etcd_post(be->cli, "/v3/kv/range", &body, 1,
			    &resp, NULL);
			call_result(be, r);
			SKR_GUARD(r == SKR_ERR_STORE ? SKR_ERR_STORE_UNAVAILABLE :
			    r);
			SKR_GUARD(skr_etcd_range_parse(resp.data, resp.len,
			    &rg));
			if (at == 0)
				at = rg.header.revision;
			for (i = 0; i < rg.nkvs; i++) {
				if (nall == cap) {
					size_t ncap = cap ? cap * 2 : 256;
					void *p = realloc(all, ncap *
					    sizeof(*all));
					SKR_ENSURE(p != NULL, SKR_ERR_NOMEM);
					all = p;
					cap = ncap;
				}
				all[nall].db = db;
				all[nall++].kv = rg.kvs[i];
				memset(&rg.kvs[i], 0, sizeof(rg.kvs[i]));
			}
			if (!rg.more || rg.nkvs == 0) {
				skr_etcd_range_clear(&rg);
				break;
			}
			/* The next page starts just after the last key. */
			SKR_GUARD(skr_buf_set(&key, all[nall - 1].kv.key,
			    all[nall - 1].kv.key_len));
			SKR_GUARD(skr_buf_append_byte(&key, 0));
			skr_etcd_range_clear(&rg);
		}
	}
	skr__cache_write_begin(be->cache);
	skr__cache_reset(be->cache);
	for (i = 0, r = SKR_OK; i < nall && r == SKR_OK; i++)
		if ((db = split_key(be, all[i].kv.key, all[i].kv.key_len, &rk,
		    &rkl)) == all[i].db)
			r = skr__cache_put(be->cache, db, rk, rkl,
			    all[i].kv.value, all[i].kv.value_len,
			    all[i].kv.mod_revision);
	skr__cache_write_end(be->cache, at);
	progress(be);
out:
	for (i = 0; i < nall; i++) {
		free(all[i].kv.key);
		if (all[i].kv.value != NULL) {
			OPENSSL_cleanse(all[i].kv.value, all[i].kv.value_len);
			free(all[i].kv.value);
		}
	}
	free(all);
	skr_etcd_range_clear(&rg);
	skr_buf_free(&body);
	skr_buf_free(&resp);
	skr_buf_free(&key);
	skr_buf_free(&end);
	return r;
}

static void *
watch_thread(void *arg)
{
	struct etcd_be *be = arg;
	skr_buf body = SKR_BUF_INIT, end = SKR_BUF_INIT;
	long backoff = 100;
	int r;

	while (!atomic_load(&be->stop)) {
		if (be->reload) {
			if (load(be) != SKR_OK) {
				sleep_ms(1000);
				continue;
			}
			be->reload = 0;
		}
		atomic_store(&be->cut, 0);
		if (skr_buf_set(&end, be->prefix, be->plen) != SKR_OK) {
			sleep_ms(1000);
			continue;
		}
		/* The prefix ends in '/': its range ends at '0'. */
		end.data[end.len - 1]++;
		if (skr_etcd_watch_req_build(be->prefix, be->plen, end.data,
		    end.len, skr__cache_rev(be->cache) + 1, &body) != SKR_OK) {
			sleep_ms(1000);
			continue;
		}
		r = skr_etcd_watch(be->cli, &body, on_watch, be, &be->cut);
		if (atomic_exchange(&be->watch_up, 0))
			atomic_fetch_add(&be->restarts, 1);
		avail_note(be);
		if (atomic_load(&be->stop))
			break;
		if (r == WATCH_RELOAD) {
			be->reload = 1;
			continue;
		}
		/* A stream cut on purpose starts again at once. */
		if (r == SKR_OK) {
			backoff = 100;
			continue;
		}
		sleep_ms(backoff);
		backoff = backoff < 1000 ? backoff * 2 : 1000;
	}
	skr_buf_free(&body);
	skr_buf_free(&end);
	return NULL;
}

/* ---- transactions ------------------------------------------------------ */

static void
txn_free(struct etcd_txn *t)
{
	size_t i;

	for (i = 0; i < t->nops; i++) {
		free(t->ops[i].k);
		if (t->ops[i].v != NULL) {
			OPENSSL_cleanse(t->ops[i].v, t->ops[i].vl);
			free(t->ops[i].v);
		}
	}
	free(t->ops);
	for (i = 0; i < t->nreads; i++)
		free(t->reads[i].k);
	free(t->reads);
	for (i = 0; i < t->narena; i++)
		free(t->arena[i]);
	free(t->arena);
	free(t);
}

/* End a root transaction: its snapshot, the write lock, its memory. */
static void
txn_end(struct etcd_txn *t)
{
	struct etcd_be *be = BE(t->base.be);

	skr__cache_snap_end(be->cache, t->rev);
	if (t->holds_writer)
		pthread_mutex_unlock(&be->writer);
	txn_free(t);
}

static int
etcd_txn_begin(skr__be *b, int mode, skr__be_txn **out)
{
	struct etcd_be *be = BE(b);
	struct etcd_txn *t;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return SKR_ERR_NOMEM;
	t->base.be = b;
	t->base.write = mode != SKR_TXN_READ;
	t->root = t;
	if (t->base.write) {
		pthread_mutex_lock(&be->writer);
		t->holds_writer = 1;
	}
	skr__cache_snap_begin(be->cache, &t->rev, &t->gen);
	*out = &t->base;
	return SKR_OK;
}

/* Hand p to the caller until the transaction ends. */
static int
keep(struct etcd_txn *t, void *p)
{
	void *q;

	if (p == NULL)
		return SKR_OK;
	if (t->narena == t->caparena) {
		size_t ncap = t->caparena ? t->caparena * 2 : 16;
		if ((q = realloc(t->arena, ncap * sizeof(*t->arena))) == NULL) {
			free(p);
			return SKR_ERR_NOMEM;
		}
		t->arena = q;
		t->caparena = ncap;
	}
	t->arena[t->narena++] = p;
	return SKR_OK;
}

/* Note a read of the copy: once per record, with the revision seen. */
static int
note_read(struct etcd_txn *t, int db, const void *k, size_t kl, int64_t rev,
    int fenced)
{
	struct read *rd;
	void *q;
	size_t i;

	for (i = 0; i < t->nreads; i++)
		if (t->reads[i].db == db && t->reads[i].kl == kl &&
		    memcmp(t->reads[i].k, k, kl) == 0) {
			/* A fenced read and this one disagree: the commit
			 * fails its compare either way. */
			t->reads[i].fenced |= fenced;
			return SKR_OK;
		}
	if (t->nreads == t->capreads) {
		size_t ncap = t->capreads ? t->capreads * 2 : 16;
		if ((q = realloc(t->reads, ncap * sizeof(*t->reads))) == NULL)
			return SKR_ERR_NOMEM;
		t->reads = q;
		t->capreads = ncap;
	}
	rd = &t->reads[t->nreads];
	if (skr__bytes_dup(k, kl, &rd->k) != SKR_OK)
		return SKR_ERR_NOMEM;
	rd->db = db;
	rd->kl = kl;
	rd->rev = rev;
	rd->fenced = fenced;
	t->nreads++;
	return SKR_OK;
}

/* Add a read to the request's record (store.h, skr_store_reads). */
static void
track_read(struct etcd_txn *t, int db, const void *k, size_t kl, int64_t rev)
{
	skr_store_reads *rs = t->track;
	size_t i;

	if (rs == NULL)
		return;
	if (rs->oldest == 0 || t->rev < rs->oldest)
		rs->oldest = t->rev;
	for (i = 0; i < rs->n; i++)
		if (rs->r[i].db == db && rs->r[i].kl == kl &&
		    memcmp(rs->r[i].k, k, kl) == 0)
			return;
	if (rs->n == SKR_STORE_READS_MAX || kl > SKR_STORE_READ_KEY_MAX) {
		rs->overflow = 1;
		return;
	}
	rs->r[rs->n].db = (uint8_t)db;
	rs->r[rs->n].kl = (uint8_t)kl;
	memcpy(rs->r[rs->n].k, k, kl);
	rs->r[rs->n].rev = rev;
	rs->n++;
}

/* The newest change of the transaction to key k of db: 1 with *op set, or
 * 0 when it has not touched it. */
static int
overlay(const struct etcd_txn *t, int db, const void *k, size_t kl,
    const struct op **op)
{
	const struct op *o;
	size_t i;

	for (i = t->nops; i > 0; i--) {
		o = &t->ops[i - 1];
		if (o->db != db)
			continue;
		if ((o->kind != OP_DELPREFIX && o->kl == kl &&
		    memcmp(o->k, k, kl) == 0) || (o->kind == OP_DELPREFIX &&
		    kl >= o->kl && memcmp(o->k, k, o->kl) == 0)) {
			*op = o;
			return 1;
		}
	}
	return 0;
}

/* A record of the audit log, read from etcd at the snapshot's revision. */
static int
audit_get(struct etcd_txn *t, const void *k, size_t kl, uint8_t **v,
    size_t *vl)
{
	struct etcd_be *be = BE(t->base.be);
	skr_buf key = SKR_BUF_INIT, body = SKR_BUF_INIT, resp = SKR_BUF_INIT;
	skr_etcd_range rg;
	skr_etcd_range_req rq;
	skr_etcd_result res;
	int r;

	memset(&rg, 0, sizeof(rg));
	memset(&rq, 0, sizeof(rq));
	SKR_GUARD(full_key(be, DB_AUDIT, k, kl, &key));
	rq.key = key.data;
	rq.key_len = key.len;
	rq.revision = t->rev;
	SKR_GUARD(skr_etcd_range_req_build(&rq, &body));
	r = skr_etcd_post(be->cli, "/v3/kv/range", &body, 1, &resp, &res);
	call_result(be, r);
	/* History compacted under a long transaction: begin again. */
	if (r == SKR_ERR_STORE && res.grpc_code == SKR_ETCD_GRPC_OUT_OF_RANGE)
		r = SKR_ERR_STORE_RETRY;
	SKR_GUARD(r);
	SKR_GUARD(skr_etcd_range_parse(resp.data, resp.len, &rg));
	SKR_ENSURE(rg.nkvs == 1, SKR_ERR_NOT_FOUND);
	*v = rg.kvs[0].value;
	*vl = rg.kvs[0].value_len;
	rg.kvs[0].value = NULL;
out:
	skr_etcd_range_clear(&rg);
	skr_buf_free(&key);
	skr_buf_free(&body);
	skr_buf_free(&resp);
	return r;
}

static int
etcd_get(skr__be_txn *bt, int db, const void *k, size_t kl,
    const uint8_t **v, size_t *vl)
{
	struct etcd_txn *t = TX(bt)->root;
	struct etcd_be *be = BE(bt->be);
	const struct op *op;
	uint8_t *copy = NULL;
	int64_t mod;
	int r;

	*v = NULL;
	*vl = 0;
	if (overlay(t, db, k, kl, &op)) {
		if (op->kind != OP_PUT)
			return SKR_ERR_NOT_FOUND;
		if ((r = skr__bytes_dup(op->v, op->vl, &copy)) != SKR_OK ||
		    (r = keep(t, copy)) != SKR_OK)
			return r;
		*v = copy != NULL ? copy : (const uint8_t *)"";
		*vl = op->vl;
		return SKR_OK;
	}
	if (db == DB_AUDIT)
		r = audit_get(t, k, kl, &copy, vl);
	else {
		r = skr__cache_get(be->cache, db, k, kl, t->rev, t->gen, &copy,
		    vl, &mod);
		if (r == SKR_OK || r == SKR_ERR_NOT_FOUND) {
			int nr = note_read(t, db, k, kl, mod, 0);
			track_read(t, db, k, kl, mod);
			if (nr != SKR_OK) {
				free(copy);
				return nr;
			}
		}
	}
	if (r != SKR_OK)
		return r;
	if ((r = keep(t, copy)) != SKR_OK)
		return r;
	*v = copy != NULL ? copy : (const uint8_t *)"";
	return SKR_OK;
}

static int
add_op(struct etcd_txn *t, int db, int kind, const void *k, size_t kl,
    const void *v, size_t vl)
{
	struct op *o;
	void *q;

	if (!t->base.write)
		return SKR_ERR_INVAL;
	if (t->nops == t->capops) {
		size_t ncap = t->capops ? t->capops * 2 : 16;
		if ((q = realloc(t->ops, ncap * sizeof(*t->ops))) == NULL)
			return SKR_ERR_NOMEM;
		t->ops = q;
		t->capops = ncap;
	}
	o = &t->ops[t->nops];
	memset(o, 0, sizeof(*o));
	if (skr__bytes_dup(k, kl, &o->k) != SKR_OK || (kind == OP_PUT &&
	    skr__bytes_dup(v, vl, &o->v) != SKR_OK)) {
		free(o->k);
		return SKR_ERR_NOMEM;
	}
	o->db = db;
	o->kind = kind;
	o->kl = kl;
	o->vl = kind == OP_PUT ? vl : 0;
	t->nops++;
	return SKR_OK;
}

static int
etcd_put(skr__be_txn *bt, int db, const void *k, size_t kl, const void *v,
    size_t vl)
{
	if (kl == 0)
		return SKR_ERR_INVAL;
	return add_op(TX(bt)->root, db, OP_PUT, k, kl, v, vl);
}

static int
etcd_del(skr__be_txn *bt, int db, const void *k, size_t kl)
{
	const uint8_t *v;
	size_t vl;
	int r;

	/* Deleting nothing is SKR_ERR_NOT_FOUND, as with LMDB. */
	if ((r = etcd_get(bt, db, k, kl, &v, &vl)) != SKR_OK)
		return r;
	return add_op(TX(bt)->root, db, OP_DEL, k, kl, NULL, 0);
}

static int
etcd_del_prefix(skr__be_txn *bt, int db, const void *prefix, size_t plen)
{
	/* An empty prefix is the whole database. */
	return add_op(TX(bt)->root, db, OP_DELPREFIX, prefix, plen, NULL, 0);
}

static int
etcd_db_open(skr__be_txn *bt, int db, int create)
{
	return SKR_OK;
}

static int
etcd_sub_begin(skr__be_txn *bt, skr__be_txn **out)
{
	struct etcd_txn *sub;

	*out = NULL;
	if ((sub = calloc(1, sizeof(*sub))) == NULL)
		return SKR_ERR_NOMEM;
	sub->base.be = bt->be;
	sub->base.write = 1;
	sub->root = TX(bt)->root;
	sub->mark = sub->root->nops;
	*out = &sub->base;
	return SKR_OK;
}

static int
etcd_sub_end(skr__be_txn *bt, int r)
{
	struct etcd_txn *sub = TX(bt), *t = sub->root;

	/* Undone: its changes go; what it read stays noted, since what the
	 * caller does next was decided on it. */
	if (r != SKR_OK)
		while (t->nops > sub->mark) {
			struct op *o = &t->ops[--t->nops];
			free(o->k);
			if (o->v != NULL) {
				OPENSSL_cleanse(o->v, o->vl);
				free(o->v);
			}
		}
	free(sub);
	return r;
}

/* ---- walks ------------------------------------------------------------- */

/* The audit log in key order from `from`, page by page from etcd at the
 * snapshot's revision. */
static int
audit_walk(struct etcd_txn *t, const void *from, size_t fl,
    skr__be_walk_fn fn, void *arg)
{
	struct etcd_be *be = BE(t->base.be);
	skr_buf key = SKR_BUF_INIT, end = SKR_BUF_INIT, body = SKR_BUF_INIT;
	skr_buf resp = SKR_BUF_INIT;
	skr_etcd_range rg;
	skr_etcd_range_req rq;
	skr_etcd_result res;
	const uint8_t *rk;
	size_t rkl, i;
	int r = SKR_OK, stop = 0;

	memset(&rg, 0, sizeof(rg));
	SKR_GUARD(full_key(be, DB_AUDIT, from, from != NULL ? fl : 0, &key));
	SKR_GUARD(db_end(be, DB_AUDIT, &end));
	while (!stop) {
		memset(&rq, 0, sizeof(rq));
		rq.key = key.data;
		rq.key_len = key.len;
		rq.range_end = end.data;
		rq.range_end_len = end.len;
		rq.limit = PAGE;
		rq.revision = t->rev;
		SKR_GUARD(skr_etcd_range_req_build(&rq, &body));
		r = skr_etcd_post(be->cli, "/v3/kv/range", &body, 1, &resp,
		    &res);
		call_result(be, r);
		if (r == SKR_ERR_STORE && res.grpc_code ==
		    SKR_ETCD_GRPC_OUT_OF_RANGE)
			r = SKR_ERR_STORE_RETRY;
		SKR_GUARD(r);
		SKR_GUARD(skr_etcd_range_parse(resp.data, resp.len, &rg));
		for (i = 0; i < rg.nkvs && !stop; i++) {
			if (split_key(be, rg.kvs[i].key, rg.kvs[i].key_len, &rk,
			    &rkl) != DB_AUDIT)
				continue;
			r = fn(arg, rk, rkl, rg.kvs[i].value != NULL ?
			    rg.kvs[i].value : (const uint8_t *)"",
			    rg.kvs[i].value_len);
			if (r == 1) {
				r = SKR_OK;
				stop = 1;
			} else if (r != SKR_OK)
				goto out;
		}
		if (!rg.more || rg.nkvs == 0)
			break;
		SKR_GUARD(skr_buf_set(&key, rg.kvs[rg.nkvs - 1].key,
		    rg.kvs[rg.nkvs - 1].key_len));
		SKR_GUARD(skr_buf_append_byte(&key, 0));
		skr_etcd_range_clear(&rg);
	}
out:
	skr_etcd_range_clear(&rg);
	skr_buf_free(&key);
	skr_buf_free(&end);
	skr_buf_free(&body);
	skr_buf_free(&resp);
	return r;
}

/* The records a write transaction put in db, as it now sees them: the
 * keys, sorted, whose newest change is a put. */
struct put_ref {
	const struct op *op;
};

static int
put_ref_cmp(const void *a, const void *b)
{
	const struct op *x = ((const struct put_ref *)a)->op;
	const struct op *y = ((const struct put_ref *)b)->op;

	return skr__keycmp(x->k, x->kl, y->k, y->kl);
}

static int
overlay_puts(const struct etcd_txn *t, int db, const void *from, size_t fl,
    struct put_ref **out, size_t *n)
{
	const struct op *newest;
	struct put_ref *refs;
	size_t i, m = 0;

	*out = NULL;
	*n = 0;
	if (t->nops == 0)
		return SKR_OK;
	if ((refs = calloc(t->nops, sizeof(*refs))) == NULL)
		return SKR_ERR_NOMEM;
	for (i = 0; i < t->nops; i++) {
		const struct op *o = &t->ops[i];
		if (o->db != db || o->kind != OP_PUT || (from != NULL &&
		    skr__keycmp(o->k, o->kl, from, fl) < 0))
			continue;
		/* Only the newest change of each key counts, once. */
		if (!overlay(t, db, o->k, o->kl, &newest) || newest != o)
			continue;
		refs[m++].op = o;
	}
	qsort(refs, m, sizeof(*refs), put_ref_cmp);
	*out = refs;
	*n = m;
	return SKR_OK;
}

static int
etcd_walk(skr__be_txn *bt, int db, const void *from, size_t fl,
    skr__be_walk_fn fn, void *arg)
{
	struct etcd_txn *t = TX(bt)->root;
	struct etcd_be *be = BE(bt->be);
	struct put_ref *puts = NULL;
	const struct op *op;
	uint8_t *ck = NULL, *cv = NULL, *last = NULL;
	size_t ckl = 0, cvl = 0, lastl = 0, np = 0, pi = 0;
	int64_t mod;
	int r, have_c = 0, inclusive = 1, d;

	if (db == DB_AUDIT)
		return audit_walk(t, from, fl, fn, arg);
	SKR_GUARD(overlay_puts(t, db, from, fl, &puts, &np));
	for (;;) {
		if (!have_c) {
			r = skr__cache_next(be->cache, db, last != NULL ?
			    last : from, last != NULL ? lastl : fl, inclusive,
			    t->rev, t->gen, &ck, &ckl, &cv, &cvl, &mod);
			if (r == SKR_ERR_NOT_FOUND)
				have_c = -1;
			else if (r != SKR_OK)
				goto out;
			else
				have_c = 1;
		}
		/* A record the transaction changed is as it changed it. */
		if (have_c == 1 && overlay(t, db, ck, ckl, &op)) {
			free(last);
			last = ck;
			lastl = ckl;
			ck = NULL;
			free(cv);
			cv = NULL;
			have_c = 0;
			inclusive = 0;
			continue;
		}
		d = have_c != 1 ? 1 : pi == np ? -1 :
		    skr__keycmp(ck, ckl, puts[pi].op->k, puts[pi].op->kl);
		if (have_c != 1 && pi == np)
			break;
		if (d < 0) {
			r = fn(arg, ck, ckl, cv != NULL ? cv :
			    (const uint8_t *)"", cvl);
			free(last);
			last = ck;
			lastl = ckl;
			ck = NULL;
			free(cv);
			cv = NULL;
			have_c = 0;
			inclusive = 0;
		} else {
			r = fn(arg, puts[pi].op->k, puts[pi].op->kl,
			    puts[pi].op->v != NULL ? puts[pi].op->v :
			    (const uint8_t *)"", puts[pi].op->vl);
			pi++;
		}
		if (r == 1) {
			r = SKR_OK;
			break;
		}
		if (r != SKR_OK)
			goto out;
	}
	r = SKR_OK;
out:
	free(puts);
	free(ck);
	free(cv);
	free(last);
	return r;
}

/* ---- commit --------------------------------------------------------------- */

/* What a commit sends: its final changes, its compares. */
struct plan {
	skr_etcd_op *ops;
	size_t nops;
	skr_etcd_cmp *cmps;
	size_t ncmps;
	skr_buf *keys;          /* the full keys the above point into */
	size_t nkeys, capkeys;
	const struct op *head;  /* its put of the audit head, if any */
	const struct op *ident; /* its last audit record, if any */
	const uint8_t *ident_key; /* its full key (bytes the plan owns) */
	size_t ident_kl;
};

static void
plan_clear(struct plan *p)
{
	for (size_t i = 0; i < p->nkeys; i++)
		skr_buf_free(&p->keys[i]);
	free(p->keys);
	free(p->ops);
	free(p->cmps);
	memset(p, 0, sizeof(*p));
}

/* A new full key of the plan: *out stays valid as long as the plan. */
static int
plan_key(struct plan *p, const struct etcd_be *be, int db, const void *k,
    size_t kl, int end, skr_buf **out)
{
	void *q;
	int r;

	if (p->nkeys == p->capkeys) {
		size_t ncap = p->capkeys ? p->capkeys * 2 : 32;
		/* The buffers move; the bytes they own, which the plan's
		 * ops point at, do not. */
		if ((q = realloc(p->keys, ncap * sizeof(*p->keys))) == NULL)
			return SKR_ERR_NOMEM;
		p->keys = q;
		p->capkeys = ncap;
	}
	skr_buf_init(&p->keys[p->nkeys], 0);
	if ((r = full_key(be, db, k, kl, &p->keys[p->nkeys])) != SKR_OK)
		return r;
	/* A prefix's range ends where the prefix + 1 would begin. */
	if (end) {
		skr_buf *b = &p->keys[p->nkeys];
		size_t i = b->len;
		while (i > 0 && b->data[i - 1] == 0xff)
			b->len = --i;
		if (i == 0)
			return SKR_ERR_INVAL;
		b->data[i - 1]++;
	}
	*out = &p->keys[p->nkeys++];
	return SKR_OK;
}

/* Does a later put of the transaction land inside range deletion i? */
static int
range_split(const struct etcd_txn *t, size_t i)
{
	const struct op *o = &t->ops[i];

	for (size_t j = i + 1; j < t->nops; j++)
		if (t->ops[j].kind == OP_PUT && t->ops[j].db == o->db &&
		    t->ops[j].kl >= o->kl && memcmp(t->ops[j].k, o->k,
		    o->kl) == 0)
			return 1;
	return 0;
}

/* Is key k of db under a range deletion that is sent as a range? */
static int
in_kept_range(const struct etcd_txn *t, int db, const uint8_t *k, size_t kl)
{
	for (size_t i = 0; i < t->nops; i++) {
		const struct op *o = &t->ops[i];
		if (o->kind == OP_DELPREFIX && o->db == db && kl >= o->kl &&
		    memcmp(o->k, k, o->kl) == 0 && !range_split(t, i))
			return 1;
	}
	return 0;
}

/*
 * The final changes: each key's newest put or delete, once (etcd refuses a
 * key twice in a Txn), and each range deletion -- unless a later put lands
 * inside it (etcd refuses that too), in which case the range is deleted
 * key by key as the snapshot has it.
 */
static int
plan_changes(struct etcd_txn *t, struct plan *p)
{
	struct etcd_be *be = BE(t->base.be);
	const struct op *newest;
	skr_buf *fk, *fe;
	uint8_t *ck = NULL, *cv = NULL, *last = NULL;
	size_t i, ckl, cvl, lastl, max = t->nops + 1;
	int64_t mod;
	int r = SKR_OK, inclusive;

	if ((p->ops = calloc(max, sizeof(*p->ops))) == NULL)
		return SKR_ERR_NOMEM;
	for (i = 0; i < t->nops; i++) {
		const struct op *o = &t->ops[i];

		if (o->kind != OP_DELPREFIX) {
			if (!overlay(t, o->db, o->k, o->kl, &newest) ||
			    newest != o)
				continue;
			/* A delete inside a range deletion sent as a range is
			 * in it. */
			if (o->kind == OP_DEL && in_kept_range(t, o->db, o->k,
			    o->kl))
				continue;
			SKR_GUARD(plan_key(p, be, o->db, o->k, o->kl, 0, &fk));
			p->ops[p->nops].kind = o->kind == OP_PUT ?
			    SKR_ETCD_OP_PUT : SKR_ETCD_OP_DELETE;
			p->ops[p->nops].key = fk->data;
			p->ops[p->nops].key_len = fk->len;
			p->ops[p->nops].value = o->v;
			p->ops[p->nops].value_len = o->vl;
			p->nops++;
			if (o->kind == OP_PUT && is_head(o->db, o->k, o->kl))
				p->head = o;
			/* Each record is in the chain once: the last one
			 * names the commit. */
			if (o->kind == OP_PUT && o->db == DB_AUDIT) {
				p->ident = o;
				p->ident_key = fk->data;
				p->ident_kl = fk->len;
			}
			continue;
		}
		if (!range_split(t, i)) {
			SKR_GUARD(plan_key(p, be, o->db, o->k, o->kl, 0, &fk));
			SKR_GUARD(plan_key(p, be, o->db, o->k, o->kl, 1, &fe));
			p->ops[p->nops].kind = SKR_ETCD_OP_DELETE;
			p->ops[p->nops].key = fk->data;
			p->ops[p->nops].key_len = fk->len;
			p->ops[p->nops].range_end = fe->data;
			p->ops[p->nops].range_end_len = fe->len;
			p->nops++;
			continue;
		}
		/* Key by key: the records under the prefix the snapshot has
		 * and the transaction does not put afterwards. */
		last = NULL;
		lastl = 0;
		inclusive = 1;
		for (;;) {
			r = skr__cache_next(be->cache, o->db, last != NULL ?
			    last : o->k, last != NULL ? lastl : o->kl,
			    inclusive, t->rev, t->gen, &ck, &ckl, &cv, &cvl,
			    &mod);
			free(cv);
			cv = NULL;
			if (r == SKR_ERR_NOT_FOUND) {
				r = SKR_OK;
				break;
			}
			SKR_GUARD(r);
			free(last);
			last = ck;
			lastl = ckl;
			ck = NULL;
			inclusive = 0;
			if (lastl < o->kl || memcmp(last, o->k, o->kl) != 0)
				break;
			if (overlay(t, o->db, last, lastl, &newest) &&
			    newest != o)
				continue;   /* its own final change says */
			if (p->nops == max) {
				void *q = realloc(p->ops, (max * 2) *
				    sizeof(*p->ops));
				SKR_ENSURE(q != NULL, SKR_ERR_NOMEM);
				p->ops = q;
				max *= 2;
			}
			SKR_GUARD(plan_key(p, be, o->db, last, lastl, 0, &fk));
			p->ops[p->nops].kind = SKR_ETCD_OP_DELETE;
			p->ops[p->nops].key = fk->data;
			p->ops[p->nops].key_len = fk->len;
			p->ops[p->nops].range_end = NULL;
			p->nops++;
		}
		free(last);
		last = NULL;
	}
out:
	free(ck);
	free(cv);
	free(last);
	return r;
}

/* The compares: what the transaction read (store.h's rule in the
 * comment at the top), and a fence that overflowed. */
static int
plan_compares(struct etcd_txn *t, struct plan *p, const skr_buf *clock)
{
	struct etcd_be *be = BE(t->base.be);
	int serialised = p->head != NULL;
	skr_buf *fk;
	size_t i;
	int r;

	if ((p->cmps = calloc(t->nreads + 1, sizeof(*p->cmps))) == NULL)
		return SKR_ERR_NOMEM;
	for (i = 0; i < t->nreads; i++) {
		const struct read *rd = &t->reads[i];

		if (serialised && !rd->fenced && rd->db != DB_NONCES &&
		    !is_head(rd->db, rd->k, rd->kl))
			continue;
		if ((r = plan_key(p, be, rd->db, rd->k, rd->kl, 0, &fk)) !=
		    SKR_OK)
			return r;
		p->cmps[p->ncmps++] = (skr_etcd_cmp){ fk->data, fk->len,
			SKR_ETCD_CMP_MOD, SKR_ETCD_EQUAL, rd->rev };
	}
	/* Nothing at all committed since the oldest of those reads. */
	if (t->fence_oldest > 0)
		p->cmps[p->ncmps++] = (skr_etcd_cmp){ clock->data, clock->len,
			SKR_ETCD_CMP_MOD, SKR_ETCD_LESS, t->fence_oldest + 1 };
	return SKR_OK;
}

/* etcd's refusal as an skr error. */
static int
refusal(const skr_etcd_result *res)
{
	if (strstr(res->message, "space exceeded") != NULL)
		return SKR_ERR_STORE_FULL;
	if (strstr(res->message, "too many operations") != NULL ||
	    strstr(res->message, "too large") != NULL)
		return SKR_ERR_TOO_LARGE;
	/* etcd sheds load before proposing: not done, try later. */
	if (strstr(res->message, "too many requests") != NULL)
		return SKR_ERR_STORE_UNAVAILABLE;
	return SKR_ERR_STORE;
}

/* The value a range result of a failed Txn found: its kv or NULL. */
static const skr_etcd_kv *
found(const skr_etcd_txn *tx, size_t i)
{
	if (i >= tx->nresults || tx->results[i].kind != SKR_ETCD_OP_RANGE ||
	    tx->results[i].range.nkvs != 1)
		return NULL;
	return &tx->results[i].range.kvs[0];
}

/* Does range result i of a failed Txn hold exactly what op puts? */
static int
holds(const skr_etcd_txn *tx, size_t i, const struct op *op, int64_t *rev)
{
	const skr_etcd_kv *kv = found(tx, i);

	if (op == NULL || kv == NULL || kv->value_len != op->vl ||
	    CRYPTO_memcmp(kv->value, op->v, op->vl) != 0)
		return 0;
	*rev = kv->mod_revision;
	return 1;
}

/*
 * Send the Txn and learn its fate.  SKR_OK: committed at *rev.
 * SKR_ERR_STORE_RETRY: another replica committed first; the copy has
 * caught up with it.  After an unknown outcome the failure branch reads
 * back the commit's last audit record (result 2), or without one the
 * head it wrote (result 1): found as written, the first send committed.
 * A record is unique (its hash covers the one before it), and once a
 * later commit has moved the head past it, it is still where it was.
 */
static int
send_txn(struct etcd_be *be, const skr_buf *body, const struct op *head,
    const struct op *ident, int64_t *rev)
{
	skr_buf resp = SKR_BUF_INIT;
	skr_etcd_result res;
	skr_etcd_txn tx;
	const skr_etcd_kv *kv;
	uint64_t deadline = skr_clock_ms() + COMMIT_DEADLINE_MS;
	int r, again = 0;

	*rev = 0;
	memset(&tx, 0, sizeof(tx));
	for (;;) {
		r = skr_etcd_post(be->cli, "/v3/kv/txn", body, 0, &resp, &res);
		call_result(be, r);
		if (r == SKR_ERR_STORE_UNAVAILABLE && res.maybe &&
		    skr_clock_ms() < deadline) {
			/* Fate unknown: send it again until it is known. */
			atomic_fetch_add(&be->unknown, 1);
			again = 1;
			sleep_ms(50);
			continue;
		}
		if (r == SKR_ERR_STORE)
			r = refusal(&res);
		SKR_GUARD(r);
		SKR_GUARD(skr_etcd_txn_parse(resp.data, resp.len, &tx));
		if (tx.succeeded) {
			*rev = tx.header.revision;
			break;
		}
		if (again && (ident != NULL ? holds(&tx, 2, ident, rev) :
		    holds(&tx, 1, head, rev)))
			break;
		atomic_fetch_add(&be->conflicts, 1);
		kv = found(&tx, 0);
		(void)catch_up(be, kv != NULL ? kv->mod_revision : 0,
		    CATCH_UP_MS);
		r = SKR_ERR_STORE_RETRY;
		break;
	}
out:
	skr_etcd_txn_clear(&tx);
	skr_buf_free(&resp);
	return r;
}

static int
etcd_txn_commit(skr__be_txn *bt)
{
	struct etcd_txn *t = TX(bt);
	struct etcd_be *be = BE(bt->be);
	struct plan p;
	skr_buf clock = SKR_BUF_INIT, head = SKR_BUF_INIT, body = SKR_BUF_INIT;
	skr_etcd_op fail[3];
	uint8_t id[16];
	char idhex[33];
	int64_t rev = 0;
	int r;

	memset(&p, 0, sizeof(p));
	if (!bt->write || t->nops == 0) {
		r = SKR_OK;
		goto out;
	}
	SKR_GUARD(clock_key(be, &clock));
	SKR_GUARD(full_key(be, DB_META, SKR__HEAD_KEY, strlen(SKR__HEAD_KEY),
	    &head));
	SKR_GUARD(plan_changes(t, &p));
	SKR_GUARD(plan_compares(t, &p, &clock));
	/* Every commit moves the clock; its value names the commit. */
	SKR_GUARD(skr_random(id, sizeof(id)));
	skr_hex_text(idhex, id, sizeof(id));
	{
		void *q = realloc(p.ops, (p.nops + 1) * sizeof(*p.ops));
		SKR_ENSURE(q != NULL, SKR_ERR_NOMEM);
		p.ops = q;
	}
	p.ops[p.nops++] = (skr_etcd_op){ SKR_ETCD_OP_PUT, clock.data,
		clock.len, NULL, 0, (const uint8_t *)idhex, 32 };
	fail[0] = (skr_etcd_op){ SKR_ETCD_OP_RANGE, clock.data, clock.len,
		NULL, 0, NULL, 0 };
	fail[1] = (skr_etcd_op){ SKR_ETCD_OP_RANGE, head.data, head.len,
		NULL, 0, NULL, 0 };
	if (p.ident != NULL)
		fail[2] = (skr_etcd_op){ SKR_ETCD_OP_RANGE, p.ident_key,
			p.ident_kl, NULL, 0, NULL, 0 };
	SKR_GUARD(skr_etcd_txn_req_build(p.cmps, p.ncmps, p.ops, p.nops, fail,
	    p.ident != NULL ? 3 : 2, &body));
	SKR_GUARD(send_txn(be, &body, p.head, p.ident, &rev));
	/* Read your writes: this replica's next transaction sees it.  A
	 * watch that lags does not undo the commit. */
	(void)catch_up(be, rev, CATCH_UP_MS);
out:
	plan_clear(&p);
	skr_buf_free(&clock);
	skr_buf_free(&head);
	skr_buf_free(&body);
	txn_end(t);
	return r;
}

static void
etcd_txn_abort(skr__be_txn *bt)
{
	txn_end(TX(bt));
}

/* ---- fencing, sync, statistics ------------------------------------------ */

static void
etcd_track(skr__be_txn *bt, skr_store_reads *rs)
{
	TX(bt)->root->track = rs;
}

static int
etcd_fence(skr__be_txn *bt, const skr_store_reads *rs)
{
	struct etcd_txn *t = TX(bt)->root;
	size_t i;
	int r;

	if (rs == NULL)
		return SKR_OK;
	if (rs->overflow && rs->oldest > 0 && (t->fence_oldest == 0 ||
	    rs->oldest < t->fence_oldest))
		t->fence_oldest = rs->oldest;
	for (i = 0; i < rs->n; i++)
		if ((r = note_read(t, rs->r[i].db, rs->r[i].k, rs->r[i].kl,
		    rs->r[i].rev, 1)) != SKR_OK)
			return r;
	return SKR_OK;
}

static int
etcd_current(skr__be *b, const skr_store_reads *rs)
{
	struct etcd_be *be = BE(b);
	size_t i;

	if (rs == NULL)
		return 1;
	if (rs->overflow)
		return 0;
	for (i = 0; i < rs->n; i++)
		if (skr__cache_mod(be->cache, rs->r[i].db, rs->r[i].k,
		    rs->r[i].kl) != rs->r[i].rev)
			return 0;
	return 1;
}

static int
etcd_sync(skr__be *b)
{
	struct etcd_be *be = BE(b);
	skr_buf key = SKR_BUF_INIT, body = SKR_BUF_INIT, resp = SKR_BUF_INIT;
	skr_etcd_range rg;
	skr_etcd_range_req rq;
	int r;

	memset(&rg, 0, sizeof(rg));
	memset(&rq, 0, sizeof(rq));
	SKR_GUARD(clock_key(be, &key));
	rq.key = key.data;
	rq.key_len = key.len;
	SKR_GUARD(skr_etcd_range_req_build(&rq, &body));
	r = skr_etcd_post(be->cli, "/v3/kv/range", &body, 1, &resp, NULL);
	call_result(be, r);
	if (r == SKR_ERR_STORE)
		r = SKR_ERR_STORE_UNAVAILABLE;
	SKR_GUARD(r);
	SKR_GUARD(skr_etcd_range_parse(resp.data, resp.len, &rg));
	r = catch_up(be, rg.nkvs == 1 ? rg.kvs[0].mod_revision : 0,
	    CATCH_UP_MS);
out:
	skr_etcd_range_clear(&rg);
	skr_buf_free(&key);
	skr_buf_free(&body);
	skr_buf_free(&resp);
	return r;
}

static int
etcd_stats(skr__be *b, skr_store_stats *out)
{
	struct etcd_be *be = BE(b);
	uint8_t *v = NULL;
	size_t vl = 0;
	int64_t rev, mod;
	uint64_t gen, seq = 0;
	uint8_t hash[SKR_AUDIT_HASH_LEN];

	out->keys = skr__cache_count(be->cache, DB_KEYS);
	out->versions = skr__cache_count(be->cache, DB_VERSIONS);
	out->deleted = skr__cache_count(be->cache, DB_DELETED);
	out->tokens = skr__cache_count(be->cache, DB_TOKENS);
	out->nonces = skr__cache_count(be->cache, DB_NONCES);
	/* The chain has no gaps: its length is the head's seq. */
	skr__cache_snap_begin(be->cache, &rev, &gen);
	if (skr__cache_get(be->cache, DB_META, SKR__HEAD_KEY,
	    strlen(SKR__HEAD_KEY), rev, gen, &v, &vl, &mod) == SKR_OK &&
	    skr__audit_head_get(v, vl, &seq, hash) == SKR_OK)
		out->audit_records = seq;
	skr__cache_snap_end(be->cache, rev);
	free(v);
	out->replicated = 1;
	avail_note(be);
	out->available = !atomic_load(&be->failing) &&
	    atomic_load(&be->watch_up);
	out->revision = skr__cache_rev(be->cache);
	out->round_trips = skr_etcd_requests(be->cli);
	out->conflicts = atomic_load(&be->conflicts);
	out->unknown = atomic_load(&be->unknown);
	out->unavailable = atomic_load(&be->unavail);
	pthread_mutex_lock(&be->avail_mu);
	out->unavailable_ms = atomic_load(&be->unavail_ms) + (be->down ?
	    skr_clock_ms() - be->down_since : 0);
	pthread_mutex_unlock(&be->avail_mu);
	out->watch_restarts = atomic_load(&be->restarts);
	return SKR_OK;
}

static void
etcd_test(skr__be *b, int hold, int drop)
{
	struct etcd_be *be = BE(b);

	atomic_store(&be->held, hold);
	if (drop >= 0)
		skr_etcd_test_drop(be->cli, drop);
}

/* ---- open, create, close ----------------------------------------------------- */

static void
etcd_close(skr__be *b)
{
	struct etcd_be *be = BE(b);

	if (be->started) {
		atomic_store(&be->stop, 1);
		atomic_store(&be->cut, 1);
		pthread_join(be->watcher, NULL);
	}
	skr_etcd_free(be->cli);
	skr__cache_free(be->cache);
	pthread_mutex_destroy(&be->mu);
	pthread_cond_destroy(&be->cv);
	pthread_mutex_destroy(&be->writer);
	pthread_mutex_destroy(&be->avail_mu);
	free(be);
}

/* The store could not be created: its settings file goes.  What the
 * creating transaction wrote in etcd, if it was written, stays: a store
 * is never removed from etcd by skrd. */
static void
etcd_destroy(skr__be *b)
{
	char path[PATH_MAX];

	memcpy(path, BE(b)->json, sizeof(path));
	etcd_close(b);
	(void)unlink(path);
}

static const skr__be_ops etcd_ops = {
	.name = "etcd",
	.txn_begin = etcd_txn_begin,
	.txn_commit = etcd_txn_commit,
	.txn_abort = etcd_txn_abort,
	.sub_begin = etcd_sub_begin,
	.sub_end = etcd_sub_end,
	.db_open = etcd_db_open,
	.get = etcd_get,
	.put = etcd_put,
	.del = etcd_del,
	.del_prefix = etcd_del_prefix,
	.walk = etcd_walk,
	.stats = etcd_stats,
	.sync = etcd_sync,
	.track = etcd_track,
	.fence = etcd_fence,
	.current = etcd_current,
	.test = etcd_test,
	.close = etcd_close,
	.destroy = etcd_destroy,
};

/* A file of the settings, relative to the data directory. */
static int
resolve(const char *dir, const char *name, char *out, size_t outlen)
{
	int n;

	if (name == NULL) {
		out[0] = '\0';
		return SKR_OK;
	}
	n = name[0] == '/' ? snprintf(out, outlen, "%s", name) :
	    snprintf(out, outlen, "%s/%s", dir, name);
	return n > 0 && (size_t)n < outlen ? SKR_OK : SKR_ERR_CONFIG;
}

/* The password: the file's first line, at most 1 KiB. */
static int
password_read(const char *path, skr_buf *out)
{
	char line[1025];
	size_t n;
	FILE *f;
	int r = SKR_OK;

	if ((f = fopen(path, "re")) == NULL)
		return SKR_ERR_CONFIG;
	if (fgets(line, sizeof(line), f) == NULL)
		r = SKR_ERR_CONFIG;
	fclose(f);
	if (r == SKR_OK) {
		n = strcspn(line, "\r\n");
		line[n] = '\0';
		r = n > 0 ? skr_buf_set(out, line, n) : SKR_ERR_CONFIG;
	}
	OPENSSL_cleanse(line, sizeof(line));
	return r;
}

/* Connect with the settings of c and load the copy. */
static int
connect_load(const char *dir, const skr__storecfg *c, const char *json,
    struct etcd_be **out)
{
	struct etcd_be *be;
	skr_etcd_opts eo;
	skr_buf pw = SKR_BUF_INIT_SECRET;
	char cacert[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], pwf[PATH_MAX];
	int r;

	*out = NULL;
	if ((be = calloc(1, sizeof(*be))) == NULL)
		return SKR_ERR_NOMEM;
	be->base.ops = &etcd_ops;
	pthread_mutex_init(&be->mu, NULL);
	pthread_cond_init(&be->cv, NULL);
	pthread_mutex_init(&be->writer, NULL);
	pthread_mutex_init(&be->avail_mu, NULL);
	snprintf(be->json, sizeof(be->json), "%s", json);
	be->plen = strlen(c->prefix);
	memcpy(be->prefix, c->prefix, be->plen);
	SKR_GUARD(skr__cache_new(NDB, &be->cache));
	SKR_GUARD(resolve(dir, c->cacert, cacert, sizeof(cacert)));
	SKR_GUARD(resolve(dir, c->cert, cert, sizeof(cert)));
	SKR_GUARD(resolve(dir, c->key, key, sizeof(key)));
	SKR_GUARD(resolve(dir, c->password_file, pwf, sizeof(pwf)));
	if (c->password_file != NULL)
		SKR_GUARD(password_read(pwf, &pw));
	memset(&eo, 0, sizeof(eo));
	eo.endpoints = c->endpoints;
	eo.cacert = cacert[0] ? cacert : NULL;
	eo.cert = cert[0] ? cert : NULL;
	eo.key = key[0] ? key : NULL;
	eo.user = c->user;
	eo.password = c->password_file != NULL ? skr_buf_cstr(&pw) : NULL;
	SKR_GUARD(skr_etcd_new(&eo, &be->cli));
	SKR_GUARD(load(be));
	be->compact_at = skr_clock_ms() + COMPACT_EVERY_MS;
	be->compact_mark = skr__cache_rev(be->cache);
	SKR_ENSURE(pthread_create(&be->watcher, NULL, watch_thread, be) == 0,
	    SKR_ERR_INTERNAL);
	be->started = 1;
	*out = be;
	be = NULL;
out:
	skr_buf_free(&pw);
	if (be != NULL)
		etcd_close(&be->base);
	return r;
}

static int
json_path(const char *dir, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", dir, SKR_STORE_ETCD_FILE);

	return n > 0 && (size_t)n < outlen ? SKR_OK : SKR_ERR_INVAL;
}

/* Is anything under the prefix at all? */
static int
prefix_empty(struct etcd_be *be)
{
	skr_buf body = SKR_BUF_INIT, resp = SKR_BUF_INIT, end = SKR_BUF_INIT;
	skr_etcd_range rg;
	skr_etcd_range_req rq;
	int r;

	memset(&rg, 0, sizeof(rg));
	memset(&rq, 0, sizeof(rq));
	SKR_GUARD(skr_buf_set(&end, be->prefix, be->plen));
	end.data[end.len - 1]++;
	rq.key = be->prefix;
	rq.key_len = be->plen;
	rq.range_end = end.data;
	rq.range_end_len = end.len;
	rq.count_only = 1;
	SKR_GUARD(skr_etcd_range_req_build(&rq, &body));
	SKR_GUARD(skr_etcd_post(be->cli, "/v3/kv/range", &body, 1, &resp,
	    NULL));
	SKR_GUARD(skr_etcd_range_parse(resp.data, resp.len, &rg));
	r = rg.count == 0 ? SKR_OK : SKR_ERR_CONFLICT;
out:
	skr_etcd_range_clear(&rg);
	skr_buf_free(&body);
	skr_buf_free(&resp);
	skr_buf_free(&end);
	return r;
}

int
skr__etcd_create(const char *dir, const skr_store_etcd_opts *o,
    skr__be **out)
{
	struct etcd_be *be = NULL;
	skr__storecfg c;
	skr_buf text = SKR_BUF_INIT;
	char path[PATH_MAX];
	ssize_t w;
	int fd = -1, r, made = 0;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	SKR_GUARD(json_path(dir, path, sizeof(path)));
	SKR_GUARD(skr__storecfg_emit(o, &text));
	SKR_GUARD(skr__storecfg_parse(text.data, text.len, &c));
	SKR_ENSURE(mkdir(dir, 0700) == 0 || errno == EEXIST, SKR_ERR_IO);
	/* O_EXCL: never over an existing store, even in a race. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	SKR_ENSURE(fd >= 0, errno == EEXIST ? SKR_ERR_CONFLICT : SKR_ERR_IO);
	made = 1;
	w = write(fd, text.data, text.len);
	SKR_ENSURE(w == (ssize_t)text.len && fsync(fd) == 0, SKR_ERR_IO);
	SKR_GUARD(connect_load(dir, &c, path, &be));
	SKR_GUARD(prefix_empty(be));
	*out = &be->base;
	be = NULL;
	made = 0;
out:
	if (fd >= 0)
		close(fd);
	if (be != NULL)
		etcd_close(&be->base);
	if (made)
		(void)unlink(path);
	skr__storecfg_clear(&c);
	skr_buf_free(&text);
	return r;
}

int
skr__etcd_open(const char *dir, skr__be **out)
{
	struct etcd_be *be = NULL;
	skr__storecfg c;
	skr_buf text = SKR_BUF_INIT;
	char path[PATH_MAX], chunk[4096];
	size_t n;
	FILE *f;
	int r;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	SKR_GUARD(json_path(dir, path, sizeof(path)));
	SKR_ENSURE((f = fopen(path, "re")) != NULL, SKR_ERR_STORE);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 &&
	    (r = skr_buf_append(&text, chunk, n)) == SKR_OK && text.len <=
	    64 * 1024)
		;
	fclose(f);
	SKR_GUARD(skr__storecfg_parse(text.data, text.len, &c));
	SKR_GUARD(connect_load(dir, &c, path, &be));
	*out = &be->base;
	be = NULL;
out:
	skr__storecfg_clear(&c);
	skr_buf_free(&text);
	return r;
}
