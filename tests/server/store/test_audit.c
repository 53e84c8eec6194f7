/*
 * The audit hash chain: records appended in the transaction of the change
 * they record, verification, queries, and tampering with the LMDB file by
 * raw LMDB calls (changed bytes, a removed record, a cut tail).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "audit.h"
#include "check.h"
#include "files.h"
#include "jwk.h"
#include "masterkey.h"
#include "store.h"

#define NOW 1700000000

static char dir[64];

/* Apply fn to database db with raw LMDB (the store is closed). */
static int
tamper_db(const char *db, int (*fn)(MDB_txn *, MDB_dbi, void *), void *arg)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	char p[256];
	int rc = -1;

	snprintf(p, sizeof(p), "%s/skr.mdb", dir);
	if (mdb_env_create(&env) != 0)
		return -1;
	mdb_env_set_maxdbs(env, 16);
	if (mdb_env_open(env, p, MDB_NOSUBDIR, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
	    mdb_dbi_open(txn, db, 0, &dbi) != 0)
		goto out;
	rc = fn(txn, dbi, arg);
out:
	if (txn != NULL) {
		if (rc == 0)
			rc = mdb_txn_commit(txn) == 0 ? 0 : -1;
		else
			mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc;
}

static int
tamper(int (*fn)(MDB_txn *, MDB_dbi, void *), void *arg)
{
	return tamper_db("audit", fn, arg);
}

static int
put_schema(MDB_txn *txn, MDB_dbi dbi, void *arg)
{
	MDB_val key = { 6, (void *)"schema" },
	    val = { strlen(arg), arg };

	return mdb_put(txn, dbi, &key, &val, 0) == 0 ? 0 : -1;
}

/* Write meta "schema" (the store is closed). */
static int
set_schema(const char *v)
{
	return tamper_db("meta", put_schema, (void *)v);
}

static void
seqkey(uint64_t seq, uint8_t k[8])
{
	int i;

	for (i = 7; i >= 0; i--) {
		k[i] = (uint8_t)seq;
		seq >>= 8;
	}
}

struct edit {
	uint64_t seq;
	const char *from, *to; /* replace the first `from` with `to` */
	int del;
	uint8_t *saved;
	size_t savedlen;
};

static int
do_edit(MDB_txn *txn, MDB_dbi dbi, void *arg)
{
	struct edit *e = arg;
	uint8_t k[8];
	MDB_val key = { 8, k }, val;
	char *copy, *at;
	int rc;

	seqkey(e->seq, k);
	if (mdb_get(txn, dbi, &key, &val) != 0)
		return -1;
	if (e->saved == NULL) {
		e->saved = malloc(val.mv_size);
		memcpy(e->saved, val.mv_data, val.mv_size);
		e->savedlen = val.mv_size;
	}
	if (e->del)
		return mdb_del(txn, dbi, &key, NULL) == 0 ? 0 : -1;
	if ((copy = malloc(val.mv_size + 1)) == NULL)
		return -1;
	memcpy(copy, val.mv_data, val.mv_size);
	copy[val.mv_size] = '\0';
	if ((at = strstr(copy, e->from)) == NULL ||
	    strlen(e->from) != strlen(e->to)) {
		free(copy);
		return -1;
	}
	memcpy(at, e->to, strlen(e->to));
	val.mv_data = copy;
	rc = mdb_put(txn, dbi, &key, &val, 0);
	free(copy);
	return rc == 0 ? 0 : -1;
}

static int
do_restore(MDB_txn *txn, MDB_dbi dbi, void *arg)
{
	struct edit *e = arg;
	uint8_t k[8];
	MDB_val key = { 8, k }, val = { e->savedlen, e->saved };

	seqkey(e->seq, k);
	return mdb_put(txn, dbi, &key, &val, 0) == 0 ? 0 : -1;
}

static json_t *
event(const char *ev, const char *key, const char *outcome)
{
	return json_pack("{ss ss ss ss}", "event", ev, "key", key, "outcome",
	    outcome, "principal", "0123456789abcdef0123456789abcdef");
}

/* skr_audit_verify in steps of max records, each in a read transaction
 * of its own. */
static int
verify_steps(skr_store *st, size_t max, uint64_t *count, uint64_t *broken)
{
	skr_audit_verifier v;
	skr_txn *txn = NULL;
	int r, steps = 0;

	skr_audit_verifier_init(&v);
	do {
		if ((r = skr_store_txn_begin(st, SKR_TXN_READ, &txn)) !=
		    SKR_OK)
			return r;
		r = skr_audit_verify_step(txn, &v, max);
		skr_store_txn_abort(txn);
		steps++;
	} while (r == SKR_AUDIT_MORE && steps < 1000);
	skr_audit_verifier_report(&v, r, count, broken);
	return r;
}

/* Verify through the store, whole and in steps of 1, 2 and 4 records,
 * and offline; all must agree. */
static int
verify(const skr_master_key *mk, uint64_t *count, uint64_t *broken)
{
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	uint64_t c2 = 0, b2 = 0;
	int r, r2;

	if ((r = skr_store_open(dir, mk, NULL, &st)) != SKR_OK)
		return r;
	if ((r = skr_store_txn_begin(st, SKR_TXN_READ, &txn)) == SKR_OK) {
		r = skr_audit_verify(txn, count, broken);
		skr_store_txn_abort(txn);
	}
	for (size_t max = 1; max <= 4; max *= 2) {
		r2 = verify_steps(st, max, &c2, &b2);
		CHECK(r2 == r && c2 == *count && b2 == *broken);
	}
	skr_store_close(st);
	r2 = skr_audit_verify_dir(dir, &c2, &b2);
	CHECK(r2 == r && c2 == *count && b2 == *broken);
	return r;
}

int
main(void)
{
	skr_master_key *mk = NULL;
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	skr_audit_filter f;
	json_t *rec, *out = NULL, *bad;
	uint64_t seq, count, broken, next;
	char hash[SKR_AUDIT_HASH_HEX + 1], big[SKR_AUDIT_MAX_STRING + 2];
	struct edit e;
	size_t i;
	int r;

	skr_test_tmpdir(NULL, "audit", dir, sizeof(dir));
	if (skr_master_key_generate(&mk) != SKR_OK)
		return 1;
	CHECK_OK(skr_store_create(dir, mk, NULL, &st));
	if (st == NULL)
		return check_done();

	/* Empty chain verifies. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_verify(txn, &count, &broken));
	CHECK(count == 0);
	CHECK_OK(skr_audit_head(txn, &seq, hash));
	CHECK(seq == 0 && strspn(hash, "0") == 64);
	/* A read transaction cannot append. */
	rec = event("key.get", "a", "ok");
	CHECK_ERR(skr_audit_append(txn, rec, NOW, &seq), SKR_ERR_INVAL);
	skr_store_txn_abort(txn);

	/* Refused records: key material, credentials, oversized strings. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	bad = json_pack("{ss s{ss}}", "event", "key.import", "detail", "d",
	    "secret-exponent");
	CHECK_ERR(skr_audit_append(txn, bad, NOW, NULL), SKR_ERR_INVAL);
	json_decref(bad);
	bad = json_pack("{ss ss}", "event", "key.release", "target", "ey...");
	CHECK_ERR(skr_audit_append(txn, bad, NOW, NULL), SKR_ERR_INVAL);
	json_decref(bad);
	bad = json_pack("{ss ss}", "event", "x", "Authorization", "Bearer");
	CHECK_ERR(skr_audit_append(txn, bad, NOW, NULL), SKR_ERR_INVAL);
	json_decref(bad);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	bad = json_pack("{ss ss}", "event", "x", "reason", big);
	CHECK_ERR(skr_audit_append(txn, bad, NOW, NULL), SKR_ERR_INVAL);
	json_decref(bad);
	bad = json_pack("[s]", "event");
	CHECK_ERR(skr_audit_append(txn, bad, NOW, NULL), SKR_ERR_INVAL);
	json_decref(bad);
	CHECK_ERR(skr_audit_append(NULL, rec, NOW, NULL), SKR_ERR_INVAL);

	/* Appends inside the transaction of a change. */
	CHECK_OK(skr_audit_append(txn, rec, NOW, &seq));
	CHECK(seq == 1);
	json_decref(rec);
	for (i = 2; i <= 5; i++) {
		char name[32];
		snprintf(name, sizeof(name), "k%zu", i);
		rec = event(i == 4 ? "key.release" : "key.create", name,
		    i == 4 ? "denied" : "ok");
		/* Members the chain owns are replaced, not trusted. */
		json_object_set_new(rec, "seq", json_integer(99));
		json_object_set_new(rec, "hash", json_string("forged"));
		CHECK_OK(skr_audit_append(txn, rec, NOW + (int64_t)i, &seq));
		CHECK(seq == i);
		json_decref(rec);
	}
	CHECK_OK(skr_store_txn_commit(txn));

	/* An aborted transaction leaves no record. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	rec = event("key.delete", "k2", "ok");
	CHECK_OK(skr_audit_append(txn, rec, NOW + 10, &seq));
	CHECK(seq == 6);
	skr_store_txn_abort(txn);
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_head(txn, &seq, hash));
	CHECK(seq == 5);
	CHECK_OK(skr_audit_verify(txn, &count, &broken));
	CHECK(count == 5);
	skr_store_txn_abort(txn);
	json_decref(rec);
	/* An event that changes nothing else (release attempts). */
	{
		skr_audit_rec ar = { .event = "key.delete", .key = "k2",
			.outcome = "ok",
			.principal = "0123456789abcdef0123456789abcdef" };
		CHECK_OK(skr_audit_log(st, &ar, NOW + 11, NULL, NULL, &seq));
		CHECK(seq == 6);
	}

	/* Queries. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_query(txn, NULL, 0, 0, &out, &next));
	CHECK(json_array_size(out) == 6 && next == 0);
	rec = json_array_get(out, 0);
	CHECK(json_integer_value(json_object_get(rec, "seq")) == 1);
	CHECK(json_integer_value(json_object_get(rec, "time")) == NOW);
	CHECK(strspn(json_string_value(json_object_get(rec, "prev")), "0") ==
	    64);
	CHECK_STR(json_string_value(json_object_get(json_array_get(out, 1),
	    "prev")), json_string_value(json_object_get(rec, "hash")));
	json_decref(out);
	CHECK_OK(skr_audit_query(txn, NULL, 0, 2, &out, &next));
	CHECK(json_array_size(out) == 2 && next == 2);
	json_decref(out);
	CHECK_OK(skr_audit_query(txn, NULL, 2, 2, &out, &next));
	CHECK(json_array_size(out) == 2 && next == 4);
	CHECK(json_integer_value(json_object_get(json_array_get(out, 0),
	    "seq")) == 3);
	json_decref(out);
	CHECK_OK(skr_audit_query(txn, NULL, 4, 2, &out, &next));
	CHECK(json_array_size(out) == 2 && next == 0);
	json_decref(out);
	memset(&f, 0, sizeof(f));
	f.outcome = "denied";
	CHECK_OK(skr_audit_query(txn, &f, 0, 0, &out, &next));
	CHECK(json_array_size(out) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(out, 0),
	    "key")), "k4");
	json_decref(out);
	memset(&f, 0, sizeof(f));
	f.key = "K2";
	CHECK_OK(skr_audit_query(txn, &f, 0, 0, &out, &next));
	CHECK(json_array_size(out) == 2);
	json_decref(out);
	memset(&f, 0, sizeof(f));
	f.since = NOW + 3;
	f.until = NOW + 5;
	CHECK_OK(skr_audit_query(txn, &f, 0, 0, &out, &next));
	CHECK(json_array_size(out) == 2);
	json_decref(out);
	memset(&f, 0, sizeof(f));
	f.event = "key.release";
	CHECK_OK(skr_audit_query(txn, &f, 0, 0, &out, &next));
	CHECK(json_array_size(out) == 1);
	json_decref(out);
	skr_store_txn_abort(txn);
	skr_store_close(st);
	st = NULL;

	CHECK_OK(verify(mk, &count, &broken));
	CHECK(count == 6);


	/* Changed bytes in record 3: verify names 3. */
	memset(&e, 0, sizeof(e));
	e.seq = 3;
	e.from = "\"k3\"";
	e.to = "\"k9\"";
	CHECK(tamper(do_edit, &e) == 0);
	r = verify(mk, &count, &broken);
	CHECK_ERR(r, SKR_ERR_AUDIT_BROKEN);
	CHECK(broken == 3 && count == 2);
	CHECK(tamper(do_restore, &e) == 0);
	CHECK_OK(verify(mk, &count, &broken));
	/* A changed outcome further on. */
	{
		struct edit e2;
		memset(&e2, 0, sizeof(e2));
		e2.seq = 5;
		e2.from = "\"outcome\":\"ok\"";
		e2.to = "\"outcome\":\"no\"";
		CHECK(tamper(do_edit, &e2) == 0);
		CHECK_ERR(verify(mk, &count, &broken), SKR_ERR_AUDIT_BROKEN);
		CHECK(broken == 5);
		CHECK(tamper(do_restore, &e2) == 0);
		free(e2.saved);
	}
	free(e.saved);
	/* A record removed from the middle. */
	memset(&e, 0, sizeof(e));
	e.seq = 2;
	e.del = 1;
	CHECK(tamper(do_edit, &e) == 0);
	CHECK_ERR(verify(mk, &count, &broken), SKR_ERR_AUDIT_BROKEN);
	CHECK(broken == 2);
	CHECK(tamper(do_restore, &e) == 0);
	CHECK_OK(verify(mk, &count, &broken));
	free(e.saved);
	/* The tail cut off: the head in meta no longer matches. */
	memset(&e, 0, sizeof(e));
	e.seq = 6;
	e.del = 1;
	CHECK(tamper(do_edit, &e) == 0);
	CHECK_ERR(verify(mk, &count, &broken), SKR_ERR_AUDIT_BROKEN);
	CHECK(broken == 6);
	CHECK(tamper(do_restore, &e) == 0);
	CHECK_OK(verify(mk, &count, &broken));
	CHECK(count == 6);
	free(e.saved);

	/* Records appended between steps are walked too. */
	{
		skr_audit_verifier v;
		skr_audit_rec ar = { .event = "key.delete", .key = "k3",
			.outcome = "ok" };

		CHECK_OK(skr_store_open(dir, mk, NULL, &st));
		skr_audit_verifier_init(&v);
		CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
		CHECK(skr_audit_verify_step(txn, &v, 4) == SKR_AUDIT_MORE);
		skr_store_txn_abort(txn);
		CHECK_OK(skr_audit_log(st, &ar, NOW + 12, NULL, NULL, &seq));
		CHECK(seq == 7);
		CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
		CHECK_OK(skr_audit_verify_step(txn, &v, 4));
		skr_store_txn_abort(txn);
		skr_audit_verifier_report(&v, SKR_OK, &count, &broken);
		CHECK(count == 7);
		CHECK_ERR(skr_audit_verify_step(NULL, &v, 4), SKR_ERR_INVAL);
		skr_store_close(st);
		st = NULL;
	}
	CHECK_OK(verify(mk, &count, &broken));
	CHECK(count == 7);

	/* Offline verification of a missing or foreign store. */
	CHECK_ERR(skr_audit_verify_dir("/nonexistent-skr-dir", &count, &broken),
	    SKR_ERR_STORE);
	CHECK_ERR(skr_audit_verify_dir(NULL, &count, &broken), SKR_ERR_INVAL);
	/* Offline verification reads every schema this build can open (it
	 * never migrates) and refuses others. */
	CHECK(set_schema("3") == 0);
	CHECK_ERR(skr_audit_verify_dir(dir, &count, &broken),
	    SKR_ERR_STORE_SCHEMA);
	CHECK(set_schema("0") == 0);
	CHECK_ERR(skr_audit_verify_dir(dir, &count, &broken),
	    SKR_ERR_STORE_SCHEMA);
	CHECK(set_schema("1") == 0);
	CHECK_OK(skr_audit_verify_dir(dir, &count, &broken));
	CHECK(count == 7);
	CHECK(set_schema("2") == 0);
	CHECK_OK(skr_audit_verify_dir(dir, &count, &broken));

	skr_master_key_free(mk);
	skr_test_rmrf(dir);
	return check_done();
}
