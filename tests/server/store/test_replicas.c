/*
 * Two stores on one etcd keyspace, as two skrd replicas have it
 * (docs/availability.md), run by test_etcd_store.sh with SKR_TEST_ETCD
 * naming the cluster:
 *   - a record committed fenced on reads that another replica has since
 *     changed (or created, where they read nothing) is not committed: the
 *     attempt is told to decide again (SKR_ERR_STORE_RETRY);
 *   - a server nonce issued on one replica is used up on the other even
 *     while the other's copy lags, and only once;
 *   - audited changes made at once on both replicas make one chain, in
 *     commit order, without gaps or a record twice;
 *   - a commit whose answer is lost is found to have committed, once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "check.h"
#include "files.h"
#include "store_fixture.h"

#define NOW 1700000000
#define THREADS 3
#define PER_THREAD 12

static skr_test_store a;
static skr_store *b;
static char bdir[SKR_TEST_PATH_MAX];

/* B: a copy of A's data directory, opened as a second replica. */
static void
open_b(void)
{
	char from[SKR_TEST_PATH_MAX + 16], to[SKR_TEST_PATH_MAX + 16];
	char *text;
	size_t n;
	FILE *f;

	skr_test_tmpdir(NULL, "replica-b", bdir, sizeof(bdir));
	snprintf(from, sizeof(from), "%s/%s", a.dir, SKR_STORE_ETCD_FILE);
	snprintf(to, sizeof(to), "%s/%s", bdir, SKR_STORE_ETCD_FILE);
	if ((text = skr_test_slurp(from, &n)) == NULL ||
	    (f = fopen(to, "w")) == NULL || fwrite(text, 1, n, f) != n ||
	    fclose(f) != 0) {
		fprintf(stderr, "cannot copy %s\n", from);
		exit(1);
	}
	free(text);
	CHECK_OK(skr_store_open(bdir, a.mk, NULL, &b));
	if (b == NULL)
		exit(1);
}

/* An audited change on st: a key called name.  Like every change, it
 * runs again when another replica's commit overtook it (the dispatcher
 * does that for requests). */
static int add_key_once(skr_store *st, const char *name);

static int
add_key(skr_store *st, const char *name)
{
	int r;

	while ((r = add_key_once(st, name)) == SKR_ERR_STORE_RETRY)
		;
	return r;
}

static int
add_key_once(skr_store *st, const char *name)
{
	skr_version_params p;
	skr_audit_rec rec = { .event = "key.create", .outcome = "ok",
		.key = name };
	skr_txn *txn = NULL;
	skr_key *k = NULL;
	int r;

	skr_version_params_init(&p);
	if ((r = skr_key_generate(SKR_KTY_OCT, 256, &k)) == SKR_OK &&
	    (r = skr_store_txn_begin(st, SKR_TXN_WRITE, &txn)) == SKR_OK &&
	    (r = skr_store_version_add(txn, name, k, &p, 0, NOW, NULL)) ==
	    SKR_OK) {
		r = skr_audit_commit(txn, &rec, 1, NOW);
		txn = NULL;
	}
	skr_store_txn_abort(txn);
	skr_key_free(k);
	return r;
}

/* Disable key name on st, audited (and run again as add_key is). */
static int
disable(skr_store *st, const char *name)
{
	skr_version_update u = { .fields = SKR_UPD_ENABLED, .enabled = 0 };
	skr_audit_rec rec = { .event = "key.update", .outcome = "ok",
		.key = name };
	skr_txn *txn = NULL;
	int r;

	do {
		txn = NULL;
		if ((r = skr_store_txn_begin(st, SKR_TXN_WRITE, &txn)) ==
		    SKR_OK && (r = skr_store_version_update(txn, name, NULL,
		    &u, NOW, NULL)) == SKR_OK) {
			r = skr_audit_commit(txn, &rec, 1, NOW);
			txn = NULL;
		}
		skr_store_txn_abort(txn);
	} while (r == SKR_ERR_STORE_RETRY);
	return r;
}

/* What a release reads: the version of name, into rs. */
static int
decide(skr_store *st, const char *name, skr_store_reads *rs, int *enabled)
{
	skr_version_info vi;
	skr_txn *txn = NULL;
	int r;

	memset(rs, 0, sizeof(*rs));
	memset(&vi, 0, sizeof(vi));
	if ((r = skr_store_txn_begin(st, SKR_TXN_READ, &txn)) != SKR_OK)
		return r;
	skr_store_txn_track(txn, rs);
	r = skr_store_version_get(txn, name, NULL, &vi);
	*enabled = vi.attrs.enabled;
	skr_version_info_clear(&vi);
	skr_store_txn_abort(txn);
	return r;
}

static int
log_release(skr_store *st, const char *name, const skr_store_reads *rs)
{
	skr_audit_rec rec = { .event = "key.release", .outcome = "ok",
		.key = name };

	return skr_audit_log_fenced(st, &rec, NOW, NULL, NULL, rs, NULL);
}

static void
test_fence(void)
{
	skr_store_reads rs;
	int enabled;

	CHECK_OK(add_key(a.store, "k"));
	CHECK_OK(skr_store_sync(b));
	CHECK_OK(decide(b, "k", &rs, &enabled));
	CHECK(enabled && rs.n >= 2);
	/* Disabled on A after B decided: B's record does not go in. */
	CHECK_OK(disable(a.store, "k"));
	CHECK_ERR(log_release(b, "k", &rs), SKR_ERR_STORE_RETRY);
	/* Decided again, B sees it disabled. */
	CHECK_OK(decide(b, "k", &rs, &enabled));
	CHECK(!enabled);
	CHECK_OK(log_release(b, "k", &rs));

	/* A key B read as absent, created on A meanwhile: the same. */
	CHECK_ERR(decide(b, "late", &rs, &enabled), SKR_ERR_KEY_NOT_FOUND);
	CHECK(rs.n == 1 && rs.r[0].rev == 0);
	CHECK_OK(add_key(a.store, "late"));
	CHECK_ERR(log_release(b, "late", &rs), SKR_ERR_STORE_RETRY);
}

struct fenced {
	skr_store_reads rs;
	int r;
};

static void *
release_on_b(void *arg)
{
	struct fenced *f = arg;

	f->r = log_release(b, "late", &f->rs);
	return NULL;
}

/* A record whose reads still hold waits for a copy that lags to catch up
 * with the chain's head, and then goes in. */
static void
test_lag(void)
{
	struct fenced f;
	struct timespec ts = { 0, 300 * 1000000L };
	pthread_t t;
	int enabled;

	CHECK_OK(skr_store_sync(b));
	CHECK_OK(decide(b, "late", &f.rs, &enabled));
	skr__store_test(b, 1, -1);
	CHECK_OK(add_key(a.store, "unrelated"));
	f.r = -1;
	CHECK(pthread_create(&t, NULL, release_on_b, &f) == 0);
	nanosleep(&ts, NULL);
	skr__store_test(b, 0, -1);
	pthread_join(t, NULL);
	CHECK_OK(f.r);
}

/* Use up a server nonce in the record's transaction, as release.c does. */
struct use {
	const char *nonce;
	int decided;
	int r;
};

static int
use_nonce(skr_txn *txn, skr_audit_rec *rec, void *arg)
{
	struct use *u = arg;
	int r = skr_store_nonce_consume(txn, u->nonce, NOW);

	if (r != SKR_OK && r != SKR_ERR_NONCE_INVALID &&
	    r != SKR_ERR_NONCE_EXPIRED && r != SKR_ERR_NONCE_REUSED)
		return r;
	u->decided = r;
	rec->outcome = r == SKR_OK ? "ok" : "denied";
	return r == SKR_OK ? SKR_OK : SKR_AUDIT_UNDO;
}

static void *
consume_on_b(void *arg)
{
	struct use *u = arg;
	skr_audit_rec rec = { .event = "key.release", .outcome = "ok",
		.key = "k" };

	u->r = skr_audit_log_fenced(b, &rec, NOW, use_nonce, u, NULL, NULL);
	return NULL;
}

static void
test_nonce(void)
{
	char nonce[SKR_NONCE_TEXT_LEN + 1];
	struct use u = { nonce, -1, -1 };
	struct timespec ts = { 0, 300 * 1000000L };
	skr_txn *txn = NULL;
	pthread_t t;

	/* B's copy lags: it has not seen the nonce A issues. */
	skr__store_test(b, 1, -1);
	CHECK_OK(skr_store_txn_begin(a.store, SKR_TXN_WRITE_RESERVE, &txn));
	CHECK_OK(skr_store_nonce_issue(txn, NOW, 300, nonce));
	CHECK_OK(skr_store_txn_commit(txn));
	CHECK(pthread_create(&t, NULL, consume_on_b, &u) == 0);
	nanosleep(&ts, NULL);
	skr__store_test(b, 0, -1);
	pthread_join(t, NULL);
	CHECK_OK(u.r);
	CHECK_OK(u.decided);
	/* Used, on every replica. */
	CHECK_OK(skr_store_sync(a.store));
	CHECK_OK(skr_store_txn_begin(a.store, SKR_TXN_READ, &txn));
	CHECK_ERR(skr_store_nonce_check(txn, nonce, NOW),
	    SKR_ERR_NONCE_REUSED);
	skr_store_txn_abort(txn);
	u.decided = -1;
	consume_on_b(&u);
	CHECK_OK(u.r);
	CHECK_ERR(u.decided, SKR_ERR_NONCE_REUSED);
}

/* Audited changes at once on both replicas; each runs again when another
 * replica's commit overtook it, as the dispatcher does. */
struct writer {
	skr_store *st;
	int id;
	int done;
};

static void *
writer(void *arg)
{
	struct writer *w = arg;
	char name[32];
	int r;

	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(name, sizeof(name), "w%d-%d", w->id, i);
		if ((r = add_key(w->st, name)) == SKR_OK)
			w->done++;
	}
	return NULL;
}

static void
test_concurrent(void)
{
	struct writer w[2 * THREADS];
	pthread_t t[2 * THREADS];
	skr_txn *txn = NULL;
	uint64_t before = 0, after = 0, broken = 0;
	int total = 0, i;
	skr_store_stats sa, sb;

	CHECK_OK(skr_store_sync(a.store));
	CHECK_OK(skr_store_txn_begin(a.store, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_verify(txn, &before, &broken));
	skr_store_txn_abort(txn);
	for (i = 0; i < 2 * THREADS; i++) {
		w[i] = (struct writer){ i < THREADS ? a.store : b, i, 0 };
		CHECK(pthread_create(&t[i], NULL, writer, &w[i]) == 0);
	}
	for (i = 0; i < 2 * THREADS; i++) {
		pthread_join(t[i], NULL);
		total += w[i].done;
	}
	CHECK(total == 2 * THREADS * PER_THREAD);
	CHECK_OK(skr_store_sync(a.store));
	CHECK_OK(skr_store_sync(b));
	CHECK_OK(skr_store_txn_begin(b, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_verify(txn, &after, &broken));
	skr_store_txn_abort(txn);
	if (after != before + (uint64_t)total)
		fprintf(stderr, "chain: %llu before, %llu after, %d written\n",
		    (unsigned long long)before, (unsigned long long)after, total);
	CHECK(after == before + (uint64_t)total);
	CHECK_OK(skr_store_stats_get(a.store, &sa));
	CHECK_OK(skr_store_stats_get(b, &sb));
	CHECK(sa.keys == sb.keys && sa.audit_records == after &&
	    sb.audit_records == after);
	CHECK(sa.replicated && sa.revision > 0 && sa.round_trips > 0);
	CHECK(sa.conflicts + sb.conflicts > 0);
}

static void
test_lost_answer(void)
{
	skr_txn *txn = NULL;
	skr_store_stats st0, st1;
	skr_version_info vi;
	uint64_t before = 0, after = 0, broken = 0;

	CHECK_OK(skr_store_sync(a.store));
	CHECK_OK(skr_store_txn_begin(a.store, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_verify(txn, &before, &broken));
	skr_store_txn_abort(txn);
	CHECK_OK(skr_store_stats_get(a.store, &st0));
	/* etcd takes the commit, the answer is lost: sent again, it is
	 * found committed -- once. */
	skr__store_test(a.store, 0, 1);
	CHECK_OK(add_key(a.store, "lost-answer"));
	CHECK_OK(skr_store_stats_get(a.store, &st1));
	CHECK(st1.unknown == st0.unknown + 1);
	CHECK_OK(skr_store_sync(b));
	CHECK_OK(skr_store_txn_begin(b, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_verify(txn, &after, &broken));
	CHECK(after == before + 1);
	CHECK_OK(skr_store_version_get(txn, "lost-answer", NULL, &vi));
	skr_version_info_clear(&vi);
	skr_store_txn_abort(txn);
	/* The answers to the first send and to the one after it lost. */
	skr__store_test(a.store, 0, 2);
	CHECK_OK(add_key(a.store, "lost-twice"));
	CHECK_OK(skr_store_sync(b));
	CHECK_OK(skr_store_txn_begin(b, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_verify(txn, &after, &broken));
	CHECK(after == before + 2);
	skr_store_txn_abort(txn);
}

int
main(void)
{
	const char *eps = getenv("SKR_TEST_ETCD");

	if (eps == NULL || *eps == '\0') {
		printf("needs SKR_TEST_ETCD (run by test_etcd_store.sh)\n");
		return 77;
	}
	skr_test_store_make(&a, "replica-a", NULL);
	CHECK(skr_store_replicated(a.store));
	open_b();
	test_fence();
	test_lag();
	test_nonce();
	test_concurrent();
	test_lost_answer();
	skr_store_close(b);
	skr_test_rmrf(bdir);
	skr_test_store_free(&a);
	return check_done();
}
