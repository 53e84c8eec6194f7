/*
 * Unit tests: the store when its map fills up.  Key-management writes
 * (SKR_TXN_WRITE) stop with SKR_ERR_STORE_FULL before they start while the
 * reserve is left for release audit records (SKR_TXN_WRITE_RESERVE);
 * everything committed before stays readable and opens.  When even the
 * reserve is used up, a group commit that fails fails every release
 * waiting on it.  The reserve is kept written past LMDB's last page.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "check.h"
#include "files.h"
#include "masterkey.h"
#include "store.h"

#define NOW 1700000000

static char dir[64];

static skr_key *
oct_key(int i)
{
	uint8_t b[32];
	skr_key *k = NULL;

	memset(b, i, sizeof(b));
	(void)skr_key_from_private_bytes(SKR_KTY_OCT, b, sizeof(b), &k);
	return k;
}

static int
add_key(skr_store *st, int i, json_t *tags)
{
	skr_version_params p;
	skr_txn *txn = NULL;
	skr_key *k = oct_key(i);
	json_t *rec;
	char name[32];
	int r;

	skr_version_params_init(&p);
	p.tags = tags;
	snprintf(name, sizeof(name), "fill-%d", i);
	if ((r = skr_store_txn_begin(st, SKR_TXN_WRITE, &txn)) == SKR_OK &&
	    (r = skr_store_version_add(txn, name, k, &p, 0, NOW, NULL)) ==
	    SKR_OK) {
		rec = json_pack("{s:s,s:s}", "event", "key.create", "outcome",
		    "ok");
		r = skr_audit_append(txn, rec, NOW, NULL);
		json_decref(rec);
	}
	if (r == SKR_OK)
		r = skr_store_txn_commit(txn);
	else
		skr_store_txn_abort(txn);
	skr_key_free(k);
	return r;
}

/* Five tags of 199 bytes: a key that takes room. */
static json_t *
big_tags(void)
{
	char val[200];

	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	return json_pack("{ss ss ss ss ss}", "a", val, "b", val, "c", val,
	    "d", val, "e", val);
}

/* Keys fill-0 .. fill-(n-1) open in txn, each with its bytes. */
static void
all_open(skr_txn *txn, int n)
{
	skr_key *k = NULL, *want;
	char name[32];
	int i, r, ok = 1;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "fill-%d", i);
		want = oct_key(i);
		r = skr_store_version_open(txn, name, NULL, &k);
		ok &= r == SKR_OK && skr_key_public_equal(k, want);
		skr_key_free(k);
		skr_key_free(want);
		k = NULL;
	}
	CHECK(ok);
}

/* What a release does: one audit record, committed in the reserve. */
static int
audit_release(skr_store *st, int i)
{
	skr_audit_rec rec = { .event = "key.release", .outcome = "ok",
		.peer = "127.0.0.1" };

	skr_audit_detail_int(&rec, "n", i);
	return skr_audit_log(st, &rec, NOW, NULL, NULL, NULL);
}

#define WAITERS 8

struct waiter {
	skr_store *st;
	int i;
	int r;
};

static void *
waiter_run(void *arg)
{
	struct waiter *w = arg;

	w->r = audit_release(w->st, w->i);
	return NULL;
}

/*
 * Releases that arrive together while no commit can succeed: queued while
 * the write lock is held elsewhere, then committed in shared transactions
 * that fail.  Every waiter is told, and nothing is written.
 */
static void
all_waiters_fail(skr_store *st)
{
	struct waiter w[WAITERS];
	pthread_t t[WAITERS];
	skr_txn *hold = NULL, *txn = NULL;
	uint64_t before = 0, after = 0;
	int i, started = 0, failed = 0;

	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_head(txn, &before, NULL));
	skr_store_txn_abort(txn);
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE_RESERVE, &hold));
	for (i = 0; i < WAITERS; i++) {
		w[i].st = st;
		w[i].i = i;
		w[i].r = SKR_OK;
		if (pthread_create(&t[i], NULL, waiter_run, &w[i]) == 0)
			started++;
	}
	CHECK(started == WAITERS);
	usleep(200 * 1000);
	skr_store_txn_abort(hold);
	for (i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		failed += w[i].r == SKR_ERR_STORE_FULL;
	}
	CHECK(failed == WAITERS);
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_head(txn, &after, NULL));
	skr_store_txn_abort(txn);
	CHECK(after == before);
}

static void
test_full(void)
{
	skr_store_opts opts = { 0 };
	skr_master_key *mk = NULL;
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	skr_version_info vi;
	json_t *tags;
	char name[32];
	int i, r = SKR_OK, committed = 0, releases = 0;

	CHECK_OK(skr_master_key_generate(&mk));
	opts.map_size = 512 * 1024;
	CHECK_OK(skr_store_create(dir, mk, &opts, &st));
	if (st == NULL)
		goto out;
	tags = big_tags();
	for (i = 0; i < 10000 && r == SKR_OK; i++)
		if ((r = add_key(st, i, tags)) == SKR_OK)
			committed++;
	CHECK_ERR(r, SKR_ERR_STORE_FULL);
	CHECK(committed > 10);
	/* Refused before starting: a begin, not a failed commit. */
	CHECK_ERR(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn),
	    SKR_ERR_STORE_FULL);
	CHECK(txn == NULL);
	/* Releases still record their audit records in the reserve. */
	for (i = 0; i < 20; i++)
		releases += audit_release(st, i) == SKR_OK;
	CHECK(releases == 20);
	/* Until the reserve itself runs out, cleanly. */
	for (i = 0; i < 100000 && (r = audit_release(st, i)) == SKR_OK; i++)
		;
	CHECK_ERR(r, SKR_ERR_STORE_FULL);
	all_waiters_fail(st);
	/* Reads go on, and every committed version still opens. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	all_open(txn, committed);
	snprintf(name, sizeof(name), "fill-%d", committed);
	CHECK_ERR(skr_store_version_get(txn, name, NULL, &vi),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_OK(skr_audit_verify(txn, NULL, NULL));
	skr_store_txn_abort(txn);
	json_decref(tags);
	skr_store_close(st);
	/* It opens again when full (opening writes nothing it cannot). */
	st = NULL;
	CHECK_OK(skr_store_open(dir, mk, &opts, &st));
	CHECK_ERR(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn),
	    SKR_ERR_STORE_FULL);
	skr_store_close(st);
	/* A larger map makes room again. */
	opts.map_size = 4 * 1024 * 1024;
	st = NULL;
	CHECK_OK(skr_store_open(dir, mk, &opts, &st));
	r = st != NULL ? add_key(st, committed, NULL) : SKR_ERR_STORE;
	CHECK_OK(r);
	skr_store_close(st);
out:
	skr_master_key_free(mk);
}

/* Bytes of the store file from off to its end are all zero. */
static int
zeros_from(const char *path, off_t off)
{
	uint8_t b[4096];
	ssize_t n;
	int fd, ok = 1;

	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	while (ok && (n = pread(fd, b, sizeof(b), off)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			ok &= b[i] == 0;
		off += n;
	}
	close(fd);
	return ok;
}

#define AHEAD_KEYS 700

/*
 * The reserve is written ahead of LMDB's last page (docs/store.md,
 * "Environment settings"): after commits, between the reserve and twice
 * it lies past the pages in use, never past the map, all zeros; the store
 * reopens with everything in it.
 */
static void
test_ahead(void)
{
	/* A map of 16 MiB: the largest reserve, 1 MiB. */
	const uint64_t map = 16 * 1024 * 1024, reserve = 1024 * 1024;
	skr_store_opts opts = { .map_size = map };
	skr_master_key *mk = NULL;
	skr_store *st = NULL;
	skr_store_stats ss;
	skr_txn *txn = NULL;
	struct stat sb;
	json_t *tags;
	char path[PATH_MAX];
	int i, r = SKR_OK, committed = 0, ok = 1;

	snprintf(path, sizeof(path), "%s/skr.mdb", dir);
	CHECK_OK(skr_master_key_generate(&mk));
	CHECK_OK(skr_store_create(dir, mk, &opts, &st));
	if (st == NULL)
		goto out;
	tags = big_tags();
	for (i = 0; i < AHEAD_KEYS && r == SKR_OK; i++) {
		if ((r = add_key(st, i, tags)) != SKR_OK ||
		    (i % 10 == 0 && (r = audit_release(st, i)) != SKR_OK))
			break;
		committed++;
		CHECK_OK(skr_store_stats_get(st, &ss));
		CHECK(stat(path, &sb) == 0);
		/* The reserve is topped up before a commit, from the last
		 * page before it; one key and one record move that page by
		 * far less than 64 KiB. */
		ok &= (uint64_t)sb.st_size + 64 * 1024 >= ss.used_size +
		    reserve &&
		    (uint64_t)sb.st_size <= ss.used_size + 2 * reserve &&
		    (uint64_t)sb.st_size <= map;
	}
	json_decref(tags);
	CHECK_OK(r);
	CHECK(committed == AHEAD_KEYS);
	CHECK(ok);
	CHECK(ss.used_size > 2 * reserve);
	CHECK(zeros_from(path, (off_t)ss.used_size));
	skr_store_close(st);
	st = NULL;
	CHECK_OK(skr_store_open(dir, mk, &opts, &st));
	if (st == NULL)
		goto out;
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	all_open(txn, committed);
	CHECK_OK(skr_audit_verify(txn, NULL, NULL));
	skr_store_txn_abort(txn);
	skr_store_close(st);
out:
	skr_master_key_free(mk);
}

int
main(void)
{
	/* A fresh name: the store makes its directory itself. */
	skr_test_tmpdir(NULL, "space", dir, sizeof(dir));
	rmdir(dir);
	test_full();
	skr_test_rmrf(dir);
	test_ahead();
	skr_test_rmrf(dir);
	return check_done();
}
