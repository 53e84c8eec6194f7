/*
 * Master key generations in the store (server/store/rotate.c,
 * docs/sealing.md): a rotation begun, moved in steps across live and
 * deleted keys, interrupted and resumed after a reopen, finished with its
 * audit records; the keyring each state needs to open; writes during a
 * rotation under the new generation; backups across generations; a second
 * rotation refused while one runs; readers on other threads opening keys
 * while a rotation runs and finishes, none failing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "check.h"
#include "files.h"
#include "jwk.h"
#include "masterkey.h"
#include "store.h"

#define NOW 1700000000
#define NKEYS 150

static char dir[SKR_TEST_PATH_MAX];

static skr_key *
oct_key(unsigned seed)
{
	uint8_t b[32];
	skr_key *k = NULL;

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(seed * 31 + i);
	if (skr_key_from_private_bytes(SKR_KTY_OCT, b, sizeof(b), &k) != SKR_OK)
		abort();
	return k;
}

static int
add(skr_store *st, const char *name, unsigned seed)
{
	skr_version_params p;
	skr_txn *txn = NULL;
	skr_key *k = oct_key(seed);
	int r;

	skr_version_params_init(&p);
	if ((r = skr_store_txn_begin(st, SKR_TXN_WRITE, &txn)) == SKR_OK &&
	    (r = skr_store_version_add(txn, name, k, &p, 0, NOW, NULL)) ==
	    SKR_OK) {
		r = skr_store_txn_commit(txn);
		txn = NULL;
	}
	skr_store_txn_abort(txn);
	skr_key_free(k);
	return r;
}

/* 1 when key name opens to the bytes of seed. */
static int
same(skr_store *st, const char *name, unsigned seed)
{
	skr_txn *txn = NULL;
	skr_key *got = NULL, *want = oct_key(seed);
	skr_buf a = SKR_BUF_INIT_SECRET, b = SKR_BUF_INIT_SECRET;
	int ok = 0;

	if (skr_store_txn_begin(st, SKR_TXN_READ, &txn) == SKR_OK &&
	    skr_store_version_open(txn, name, NULL, &got) == SKR_OK &&
	    skr_key_private_bytes(got, &a) == SKR_OK &&
	    skr_key_private_bytes(want, &b) == SKR_OK)
		ok = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
	skr_store_txn_abort(txn);
	skr_key_free(got);
	skr_key_free(want);
	skr_buf_free(&a);
	skr_buf_free(&b);
	return ok;
}

static int
all_same(skr_store *st)
{
	char name[32];
	int bad = 0;

	for (unsigned i = 0; i < NKEYS; i++) {
		snprintf(name, sizeof(name), "k%u", i);
		bad += i % 10 == 3 ? 0 : !same(st, name, i);
	}
	return bad == 0;
}

static skr_master_key *
copy_of(const skr_master_key *mk)
{
	skr_master_key *c = NULL;

	if (skr_master_key_from_bytes(skr_master_key_bytes(mk), 32, &c) !=
	    SKR_OK)
		abort();
	return c;
}

/* Readers opening keys while a rotation runs and finishes: none may fail,
 * whatever generation the record it read names (the old key is wiped only
 * once no reader can still need it). */
struct reader {
	skr_store *st;
	int stop;        /* atomic */
	unsigned opens, fails;
};

static void *
reader_main(void *arg)
{
	struct reader *rd = arg;
	char name[32];
	unsigned i = 0;

	while (!__atomic_load_n(&rd->stop, __ATOMIC_ACQUIRE)) {
		i = (i + 7) % NKEYS;
		if (i % 10 == 3)
			continue;
		snprintf(name, sizeof(name), "k%u", i);
		rd->fails += !same(rd->st, name, i);
		rd->opens++;
	}
	return NULL;
}

static uint64_t
events(skr_store *st, const char *event)
{
	skr_txn *txn = NULL;
	skr_audit_filter f;
	json_t *items = NULL;
	uint64_t n = 0, next = 0;

	memset(&f, 0, sizeof(f));
	f.event = event;
	if (skr_store_txn_begin(st, SKR_TXN_READ, &txn) == SKR_OK &&
	    skr_audit_query(txn, &f, 0, 100, &items, &next) == SKR_OK)
		n = json_array_size(items);
	json_decref(items);
	skr_store_txn_abort(txn);
	return n;
}

int
main(void)
{
	skr_master_key *m1 = NULL, *m2 = NULL, *m3 = NULL;
	skr_keyring one, both, two, three, wrong;
	skr_rotation_status rs;
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	skr_buf backup = SKR_BUF_INIT;
	char name[32];
	int done = 0, steps = 0;

	skr_test_tmpdir(NULL, "rotate", dir, sizeof(dir));
	memset(&one, 0, sizeof(one));
	memset(&both, 0, sizeof(both));
	memset(&two, 0, sizeof(two));
	memset(&wrong, 0, sizeof(wrong));
	memset(&three, 0, sizeof(three));
	CHECK_OK(skr_master_key_generate(&m1));
	CHECK_OK(skr_master_key_generate(&m2));
	CHECK_OK(skr_master_key_generate(&m3));
	CHECK_OK(skr_keyring_add(&one, 1, copy_of(m1)));
	CHECK_OK(skr_keyring_add(&both, 1, copy_of(m1)));
	CHECK_OK(skr_keyring_add(&both, 2, copy_of(m2)));
	CHECK_OK(skr_keyring_add(&two, 2, copy_of(m2)));
	CHECK_OK(skr_keyring_add(&wrong, 1, copy_of(m3)));
	CHECK_OK(skr_keyring_add(&three, 3, copy_of(m3)));

	/* A store made with skr_store_create (one generation-1 key) opens
	 * with the keyring of that key and no other. */
	CHECK_OK(skr_store_create(dir, m1, NULL, &st));
	for (unsigned i = 0; i < NKEYS; i++) {
		snprintf(name, sizeof(name), "k%u", i);
		CHECK_OK(add(st, name, i));
	}
	/* Every tenth key soft-deleted: deleted keys move too. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	for (unsigned i = 3; i < NKEYS; i += 10) {
		snprintf(name, sizeof(name), "k%u", i);
		CHECK_OK(skr_store_key_delete(txn, name, NOW, 0, NULL));
	}
	CHECK_OK(skr_store_txn_commit(txn));
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_store_backup(txn, "k5", &backup));
	skr_store_txn_abort(txn);
	CHECK_OK(skr_store_rotation_status(st, &rs));
	CHECK(rs.gen == 1 && rs.from == 0 && rs.total == NKEYS);
	skr_store_close(st);
	st = NULL;
	CHECK_ERR(skr_store_open_keyring(dir, &wrong, NULL, &st),
	    SKR_ERR_SEAL_OPEN);
	CHECK_ERR(skr_store_open_keyring(dir, &two, NULL, &st),
	    SKR_ERR_MASTER_KEY);
	CHECK_OK(skr_store_open_keyring(dir, &one, NULL, &st));

	/* Begin: new writes use generation 2 at once. */
	CHECK_ERR(skr_store_rotate_begin(st, 1, m1, NULL, NOW), SKR_ERR_INVAL);
	CHECK_OK(skr_store_rotate_begin(st, 2, m2, "admin", NOW));
	CHECK_ERR(skr_store_rotate_begin(st, 3, m3, NULL, NOW),
	    SKR_ERR_CONFLICT);
	CHECK_OK(add(st, "new-during", 1000));
	CHECK_OK(skr_store_rotation_status(st, &rs));
	CHECK(rs.gen == 2 && rs.from == 1 && rs.moved == 0);
	CHECK(all_same(st));
	/* A few steps, then a "restart" in the middle. */
	CHECK_OK(skr_store_rotate_step(st, 40, NOW, &done));
	CHECK(!done);
	CHECK_OK(skr_store_rotation_status(st, &rs));
	CHECK(rs.moved == 40);
	skr_store_close(st);
	st = NULL;
	/* Mid-rotation both generations are needed. */
	CHECK_ERR(skr_store_open_keyring(dir, &one, NULL, &st),
	    SKR_ERR_MASTER_KEY);
	CHECK_ERR(skr_store_open_keyring(dir, &two, NULL, &st),
	    SKR_ERR_MASTER_KEY);
	CHECK_OK(skr_store_open_keyring(dir, &both, NULL, &st));
	CHECK(all_same(st));
	CHECK(same(st, "new-during", 1000));
	while (!done && steps++ < 100)
		CHECK_OK(skr_store_rotate_step(st, 40, NOW, &done));
	CHECK(done);
	CHECK_OK(skr_store_rotation_status(st, &rs));
	CHECK(rs.gen == 2 && rs.from == 0);
	CHECK(all_same(st));
	CHECK(events(st, "master-key.rotate.start") == 1);
	CHECK(events(st, "master-key.rotate.finish") == 1);
	/* Done: one more step is a no-op. */
	CHECK_OK(skr_store_rotate_step(st, 40, NOW, &done));
	CHECK(done);
	/* Generation 3 while two threads keep opening keys. */
	{
		struct reader rd[2];
		pthread_t th[2];
		int t;

		memset(rd, 0, sizeof(rd));
		for (t = 0; t < 2; t++) {
			rd[t].st = st;
			CHECK(pthread_create(&th[t], NULL, reader_main,
			    &rd[t]) == 0);
		}
		CHECK_OK(skr_store_rotate_begin(st, 3, m3, NULL, NOW));
		done = 0;
		steps = 0;
		while (!done && steps++ < 100)
			CHECK_OK(skr_store_rotate_step(st, 8, NOW, &done));
		CHECK(done);
		for (t = 0; t < 2; t++) {
			__atomic_store_n(&rd[t].stop, 1, __ATOMIC_RELEASE);
			pthread_join(th[t], NULL);
			CHECK(rd[t].opens > 0);
			CHECK(rd[t].fails == 0);
		}
		CHECK_OK(skr_store_rotation_status(st, &rs));
		CHECK(rs.gen == 3 && rs.from == 0);
	}
	/* A backup from generation 1 restores under generation 3. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_key_delete(txn, "k5", NOW, 0, NULL));
	CHECK_OK(skr_store_key_purge(txn, "k5"));
	CHECK_OK(skr_store_restore(txn, backup.data, backup.len, NULL));
	CHECK_OK(skr_store_txn_commit(txn));
	CHECK(same(st, "k5", 5));
	skr_store_close(st);
	st = NULL;
	/* Now generation 3 alone opens it; 1 and 2 are not needed. */
	CHECK_ERR(skr_store_open_keyring(dir, &one, NULL, &st),
	    SKR_ERR_MASTER_KEY);
	CHECK_ERR(skr_store_open_keyring(dir, &two, NULL, &st),
	    SKR_ERR_MASTER_KEY);
	CHECK_OK(skr_store_open_keyring(dir, &three, NULL, &st));
	CHECK(all_same(st));
	CHECK(same(st, "new-during", 1000));
	/* The deleted keys recover and open. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_key_recover(txn, "k13", NULL));
	CHECK_OK(skr_store_txn_commit(txn));
	CHECK(same(st, "k13", 13));
	skr_store_close(st);

	skr_keyring_clear(&one);
	skr_keyring_clear(&both);
	skr_keyring_clear(&two);
	skr_keyring_clear(&wrong);
	skr_keyring_clear(&three);
	skr_master_key_free(m1);
	skr_master_key_free(m2);
	skr_master_key_free(m3);
	skr_buf_free(&backup);
	skr_test_rmrf(dir);
	return check_done();
}
