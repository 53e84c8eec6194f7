/*
 * The audit record builder and the audited commits (audit.h): every member
 * of a record, the refusals skr_audit_append makes, out of memory at every
 * allocation; a change committed with its records or not at all, its
 * transaction ended on every path; records with in-transaction work; and
 * the group commit under many threads, each caller checked, as soon as it
 * returns, against the store file as another process sees it; and the
 * commits paced by skr_store_commit_interval.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "audit.h"
#include "check.h"
#include "masterkey.h"
#include "store.h"

#define NOW 1700000000
#define THREADS 8
#define PER_THREAD 40

static char dir[64];
static skr_store *st;

/* ---- jansson allocations that fail on demand ------------------------------ */

static atomic_int allocs_left = -1; /* -1: no limit */

static void *
t_malloc(size_t n)
{
	int left = atomic_load(&allocs_left);

	while (left > 0 &&
	    !atomic_compare_exchange_weak(&allocs_left, &left, left - 1))
		;
	return left == 0 ? NULL : malloc(n);
}

static void
t_free(void *p)
{
	free(p);
}

/* ---- small helpers -------------------------------------------------------- */

static void
rm_store(void)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/skr.mdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/skr.mdb-lock", dir);
	unlink(p);
	rmdir(dir);
}

static uint64_t
head(void)
{
	skr_txn *txn = NULL;
	uint64_t seq = UINT64_MAX;

	if (skr_store_txn_begin(st, SKR_TXN_READ, &txn) == SKR_OK)
		(void)skr_audit_head(txn, &seq, NULL);
	skr_store_txn_abort(txn);
	return seq;
}

/* The stored record seq (a new reference), or NULL. */
static json_t *
stored(uint64_t seq)
{
	skr_txn *txn = NULL;
	json_t *recs = NULL, *rec = NULL;
	uint64_t next;

	if (skr_store_txn_begin(st, SKR_TXN_READ, &txn) == SKR_OK &&
	    skr_audit_query(txn, NULL, seq - 1, 1, &recs, &next) == SKR_OK &&
	    json_array_size(recs) == 1 && json_integer_value(json_object_get(
	    json_array_get(recs, 0), "seq")) == (json_int_t)seq)
		rec = json_incref(json_array_get(recs, 0));
	json_decref(recs);
	skr_store_txn_abort(txn);
	return rec;
}

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

struct lock_probe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
};

static void *
lock_probe_run(void *arg)
{
	struct lock_probe *p = arg;
	skr_txn *txn = NULL;

	if (skr_store_txn_begin(st, SKR_TXN_WRITE_RESERVE, &txn) == SKR_OK)
		skr_store_txn_abort(txn);
	pthread_mutex_lock(&p->mu);
	p->done = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/*
 * 1 when another thread can take the store's write lock, that is, when no
 * write transaction was left open.  A transaction left open would block the
 * probe for good; the probe is then abandoned and the test fails.
 */
static int
write_lock_free(void)
{
	static struct lock_probe p = { PTHREAD_MUTEX_INITIALIZER,
		PTHREAD_COND_INITIALIZER, 0 };
	struct timespec ts;
	pthread_t t;
	int done;

	p.done = 0;
	if (pthread_create(&t, NULL, lock_probe_run, &p) != 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30;
	pthread_mutex_lock(&p.mu);
	while (!p.done)
		if (pthread_cond_timedwait(&p.cv, &p.mu, &ts) != 0)
			break;
	done = p.done;
	pthread_mutex_unlock(&p.mu);
	if (!done) {
		fprintf(stderr, "a write transaction was left open\n");
		CHECK(0);
		exit(check_done());
	}
	pthread_join(t, NULL);
	return 1;
}

/* ---- the builder ---------------------------------------------------------- */

static const struct {
	const char *name;
	size_t off;
} fields[] = {
	{ "event", offsetof(skr_audit_rec, event) },
	{ "outcome", offsetof(skr_audit_rec, outcome) },
	{ "reason", offsetof(skr_audit_rec, reason) },
	{ "principal", offsetof(skr_audit_rec, principal) },
	{ "peer", offsetof(skr_audit_rec, peer) },
	{ "request_id", offsetof(skr_audit_rec, request_id) },
	{ "key", offsetof(skr_audit_rec, key) },
	{ "version", offsetof(skr_audit_rec, version) },
	{ "iss", offsetof(skr_audit_rec, iss) },
	{ "jti", offsetof(skr_audit_rec, jti) },
	{ "attestation_type", offsetof(skr_audit_rec, attestation_type) },
	{ "trace_digest", offsetof(skr_audit_rec, trace_digest) },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const char **
field(skr_audit_rec *rec, size_t i)
{
	return (const char **)(void *)((char *)rec + fields[i].off);
}

/* Every member set: "event" is "key.release", "outcome" "denied", the
 * others "v-<name>". */
static void
full_rec(skr_audit_rec *rec, char vals[NFIELDS][32])
{
	size_t i;

	memset(rec, 0, sizeof(*rec));
	for (i = 0; i < NFIELDS; i++) {
		snprintf(vals[i], 32, "v-%s", fields[i].name);
		*field(rec, i) = vals[i];
	}
	rec->event = "key.release";
	rec->outcome = "denied";
	skr_audit_detail_str(rec, "token_sha256", "abc");
	skr_audit_detail_int(rec, "limit", -7);
	skr_audit_detail_str(rec, "none", NULL);   /* adds nothing */
	skr_audit_detail_int(rec, "big", INT64_MAX);
	skr_audit_detail_str(rec, "enc", "CKM_RSA_AES_KEY_WRAP");
}

/* What the builder and skr_audit_append say of a record whose detail has a
 * member named name; they must agree. */
static void
refusal_agrees(skr_txn *txn, const char *name, int want)
{
	skr_audit_rec rec = { .event = "x", .outcome = "ok" };
	json_t *o = NULL, *raw;

	skr_audit_detail_str(&rec, name, "v");
	CHECK_ERR(skr_audit_build(&rec, &o), want);
	CHECK((o == NULL) == (want != SKR_OK));
	json_decref(o);
	raw = json_pack("{s:s,s:s,s:{s:s}}", "event", "x", "outcome", "ok",
	    "detail", name, "v");
	CHECK_ERR(skr_audit_append(txn, raw, NOW, NULL), want);
	json_decref(raw);
}

static void
test_build(void)
{
	static const char *const secret[] = { "d", "p", "q", "dp", "dq", "qi",
		"k", "key_hsm", "token", "target", "authorization", "secret",
		"Token", "AUTHORIZATION", "Key_Hsm" };
	static const char *const fine[] = { "id", "token_sha256", "keys",
		"kid", "reason", "by" };
	char vals[NFIELDS][32], big[SKR_AUDIT_MAX_STRING + 2];
	skr_audit_rec rec;
	skr_txn *txn = NULL;
	json_t *o = NULL, *d;
	size_t i;
	int r, fails = 0;

	/* Every member, under its name, and nothing else. */
	full_rec(&rec, vals);
	CHECK_OK(skr_audit_build(&rec, &o));
	CHECK(json_object_size(o) == NFIELDS + 1);
	for (i = 0; i < NFIELDS; i++)
		CHECK_STR(jstr(o, fields[i].name), *field(&rec, i));
	d = json_object_get(o, "detail");
	CHECK(json_object_size(d) == 4);
	CHECK_STR(jstr(d, "token_sha256"), "abc");
	CHECK(json_integer_value(json_object_get(d, "limit")) == -7);
	CHECK(json_integer_value(json_object_get(d, "big")) == INT64_MAX);
	CHECK_STR(jstr(d, "enc"), "CKM_RSA_AES_KEY_WRAP");
	CHECK(json_object_get(d, "none") == NULL);
	json_decref(o);

	/* NULL or "" leaves a member out; no detail, no "detail". */
	for (i = 2; i < NFIELDS; i++) {
		full_rec(&rec, vals);
		*field(&rec, i) = i % 2 ? "" : NULL;
		CHECK_OK(skr_audit_build(&rec, &o));
		CHECK(json_object_size(o) == NFIELDS);
		CHECK(json_object_get(o, fields[i].name) == NULL);
		json_decref(o);
	}
	memset(&rec, 0, sizeof(rec));
	rec.event = "key.create";
	rec.outcome = "ok";
	CHECK_OK(skr_audit_build(&rec, &o));
	CHECK(json_object_size(o) == 2);
	json_decref(o);

	/* event and a known outcome are required. */
	for (i = 0; i < 6; i++) {
		static const char *const ev[] = { NULL, "", "x", "x", "x",
			"x" };
		static const char *const oc[] = { "ok", "ok", NULL, "",
			"maybe", "OK" };
		memset(&rec, 0, sizeof(rec));
		rec.event = ev[i];
		rec.outcome = oc[i];
		/* *out is cleared, whatever it held. */
		o = d = json_object();
		CHECK_ERR(skr_audit_build(&rec, &o), SKR_ERR_INVAL);
		CHECK(o == NULL);
		json_decref(d);
	}
	for (i = 0; i < 3; i++) {
		static const char *const oc[] = { "ok", "denied", "error" };
		memset(&rec, 0, sizeof(rec));
		rec.event = "x";
		rec.outcome = oc[i];
		CHECK_OK(skr_audit_build(&rec, &o));
		CHECK_STR(jstr(o, "outcome"), oc[i]);
		json_decref(o);
	}
	CHECK_ERR(skr_audit_build(NULL, &o), SKR_ERR_INVAL);

	/* More detail than there is room for is refused, not cut. */
	full_rec(&rec, vals);
	skr_audit_detail_int(&rec, "fifth", 5);
	CHECK(rec.overflow);
	CHECK_ERR(skr_audit_build(&rec, &o), SKR_ERR_INVAL);
	CHECK(o == NULL);

	/* A string over SKR_AUDIT_MAX_STRING in any member is refused, as
	 * skr_audit_append refuses it; one at the limit is kept. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < NFIELDS; i++) {
		full_rec(&rec, vals);
		if (i == 1)
			continue;       /* outcome is one of three words */
		*field(&rec, i) = big;
		CHECK_ERR(skr_audit_build(&rec, &o), SKR_ERR_INVAL);
		CHECK(o == NULL);
		big[SKR_AUDIT_MAX_STRING] = '\0';
		CHECK_OK(skr_audit_build(&rec, &o));
		json_decref(o);
		big[SKR_AUDIT_MAX_STRING] = 'a';
	}
	full_rec(&rec, vals);
	rec.ndetail = 3;
	skr_audit_detail_str(&rec, "long", big);
	CHECK_ERR(skr_audit_build(&rec, &o), SKR_ERR_INVAL);

	/* Detail members named like key material or credentials: refused by
	 * the builder exactly when skr_audit_append refuses them. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		refusal_agrees(txn, secret[i], SKR_ERR_INVAL);
	for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		refusal_agrees(txn, fine[i], SKR_OK);
	skr_store_txn_abort(txn);

	/* Out of memory at each allocation in turn: SKR_ERR_NOMEM, nothing
	 * returned (and, under ASan, nothing leaked). */
	full_rec(&rec, vals);
	for (i = 0; i < 1000; i++) {
		atomic_store(&allocs_left, (int)i);
		r = skr_audit_build(&rec, &o);
		atomic_store(&allocs_left, -1);
		if (r == SKR_OK)
			break;
		CHECK_ERR(r, SKR_ERR_NOMEM);
		CHECK(o == NULL);
		fails++;
	}
	CHECK_OK(r);
	/* One per member and detail member at least. */
	CHECK(fails > (int)NFIELDS + 4);
	json_decref(o);
}

/* ---- the audited commit of a change ---------------------------------------- */

/* Begin a write transaction holding a change: a new token, whose id goes
 * to id. */
static skr_txn *
change(char id[33])
{
	skr_principal p;
	skr_token_info info;
	skr_buf secret;
	skr_txn *txn = NULL;

	memset(&p, 0, sizeof(p));
	p.roles = SKR_ROLE_READER;
	skr_buf_init_secret(&secret, 256);
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_token_create(txn, &p, NOW, &secret, &info));
	skr_buf_free(&secret);
	memcpy(id, info.p.id, 33);
	return txn;
}

static int
token_exists(const char *id)
{
	skr_token_info info;
	skr_txn *txn = NULL;
	int r;

	if ((r = skr_store_txn_begin(st, SKR_TXN_READ, &txn)) == SKR_OK)
		r = skr_store_token_get(txn, id, &info);
	skr_store_txn_abort(txn);
	return r == SKR_OK;
}

/* After a failed commit: the change is gone, the chain is as it was, the
 * write lock is free. */
static void
nothing_left(const char *id, uint64_t h)
{
	CHECK(!token_exists(id));
	CHECK(head() == h);
	CHECK(write_lock_free());
}

static void
test_commit(void)
{
	skr_audit_rec recs[3] = {
		{ .event = "key.purge", .outcome = "ok", .key = "old" },
		{ .event = "token.create", .outcome = "ok", .peer = "192.0.2.1",
		  .request_id = "r1" },
	};
	skr_audit_rec bad = { .event = "token.create", .outcome = "ok" };
	skr_txn *txn;
	json_t *rec;
	char id[33];
	uint64_t h;
	size_t i;
	int r, fails = 0;

	/* Success: the change and its records, in order, with its time. */
	h = head();
	txn = change(id);
	skr_audit_detail_str(&recs[1], "id", id);
	CHECK_OK(skr_audit_commit(txn, recs, 2, NOW + 5));
	CHECK(token_exists(id));
	CHECK(head() == h + 2);
	rec = stored(h + 1);
	CHECK_STR(jstr(rec, "event"), "key.purge");
	CHECK(json_integer_value(json_object_get(rec, "time")) == NOW + 5);
	json_decref(rec);
	rec = stored(h + 2);
	CHECK_STR(jstr(rec, "event"), "token.create");
	CHECK_STR(jstr(rec, "peer"), "192.0.2.1");
	CHECK_STR(jstr(json_object_get(rec, "detail"), "id"), id);
	json_decref(rec);
	CHECK(write_lock_free());

	/* A record refused after others were appended: nothing of the change
	 * or its records stays, and the transaction is over. */
	h = head();
	txn = change(id);
	recs[2] = bad;
	skr_audit_detail_str(&recs[2], "secret", "x");
	CHECK_ERR(skr_audit_commit(txn, recs, 3, NOW), SKR_ERR_INVAL);
	nothing_left(id, h);
	txn = change(id);
	bad.outcome = NULL;
	CHECK_ERR(skr_audit_commit(txn, &bad, 1, NOW), SKR_ERR_INVAL);
	nothing_left(id, h);
	/* No records, no commit. */
	txn = change(id);
	CHECK_ERR(skr_audit_commit(txn, recs, 0, NOW), SKR_ERR_INVAL);
	nothing_left(id, h);
	txn = change(id);
	CHECK_ERR(skr_audit_commit(txn, NULL, 1, NOW), SKR_ERR_INVAL);
	nothing_left(id, h);
	CHECK_ERR(skr_audit_commit(NULL, recs, 1, NOW), SKR_ERR_INVAL);
	/* A read transaction cannot hold a record; it is ended too (ASan
	 * sees a leak otherwise). */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_ERR(skr_audit_commit(txn, recs, 1, NOW), SKR_ERR_INVAL);
	CHECK(head() == h);

	/* Out of memory at each allocation in turn. */
	for (i = 0; i < 1000; i++) {
		txn = change(id);
		atomic_store(&allocs_left, (int)i);
		r = skr_audit_commit(txn, recs, 2, NOW);
		atomic_store(&allocs_left, -1);
		if (r == SKR_OK)
			break;
		CHECK_ERR(r, SKR_ERR_NOMEM);
		nothing_left(id, h);
		fails++;
	}
	CHECK_OK(r);
	CHECK(fails > 10);
	CHECK(token_exists(id) && head() == h + 2);
}

/* ---- records with work ------------------------------------------------------ */

struct work {
	const char *nonce;   /* to use up, or NULL to issue one */
	char issued[SKR_NONCE_TEXT_LEN + 1];
	int result;          /* what the work returns after its change */
	int calls;
	const skr_audit_rec *caller;
	int saw_copy;
};

static int
work_fn(skr_txn *txn, skr_audit_rec *rec, void *arg)
{
	struct work *w = arg;
	int r;

	w->calls++;
	w->saw_copy = rec != w->caller;
	if (w->nonce != NULL)
		r = skr_store_nonce_consume(txn, w->nonce, NOW);
	else
		r = skr_store_nonce_issue(txn, NOW, 300, w->issued);
	if (r != SKR_OK)
		return r;
	if (w->result == SKR_AUDIT_UNDO) {
		rec->outcome = "denied";
		rec->reason = "SKR.NONCE.REUSED";
	}
	return w->result;
}

static int
nonce_state(const char *nonce)
{
	skr_txn *txn = NULL;
	int r;

	if ((r = skr_store_txn_begin(st, SKR_TXN_READ, &txn)) == SKR_OK)
		r = skr_store_nonce_check(txn, nonce, NOW);
	skr_store_txn_abort(txn);
	return r;
}

static void
test_work(void)
{
	skr_audit_rec rec = { .event = "key.release", .outcome = "ok",
		.request_id = "w1" }, copy;
	char nonce[SKR_NONCE_TEXT_LEN + 1];
	struct work w;
	skr_txn *txn = NULL;
	json_t *o;
	uint64_t h, seq;
	size_t i;
	int r, fails = 0;

	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_nonce_issue(txn, NOW, 300, nonce));
	CHECK_OK(skr_store_txn_commit(txn));

	/* Kept: the nonce is used up with the record. */
	h = head();
	memset(&w, 0, sizeof(w));
	w.nonce = nonce;
	w.caller = &rec;
	copy = rec;
	CHECK_OK(skr_audit_log(st, &rec, NOW, work_fn, &w, &seq));
	CHECK(w.calls == 1 && w.saw_copy);
	CHECK(seq == h + 1 && head() == h + 1);
	CHECK_ERR(nonce_state(nonce), SKR_ERR_NONCE_REUSED);
	o = stored(seq);
	CHECK_STR(jstr(o, "outcome"), "ok");
	CHECK_STR(jstr(o, "request_id"), "w1");
	json_decref(o);
	/* The work changed a copy, not the caller's record. */
	CHECK(rec.outcome == copy.outcome && rec.reason == NULL);

	/* Undone: the work's change is discarded, the record it changed is
	 * committed. */
	memset(&w, 0, sizeof(w));
	w.result = SKR_AUDIT_UNDO;
	CHECK_OK(skr_audit_log(st, &rec, NOW, work_fn, &w, &seq));
	CHECK(seq == h + 2);
	CHECK_ERR(nonce_state(w.issued), SKR_ERR_NONCE_INVALID);
	o = stored(seq);
	CHECK_STR(jstr(o, "outcome"), "denied");
	CHECK_STR(jstr(o, "reason"), "SKR.NONCE.REUSED");
	json_decref(o);
	CHECK(rec.reason == NULL);

	/* Failed: nothing is written, the error is the caller's. */
	memset(&w, 0, sizeof(w));
	w.result = SKR_ERR_STORE;
	CHECK_ERR(skr_audit_log(st, &rec, NOW, work_fn, &w, &seq),
	    SKR_ERR_STORE);
	CHECK(seq == 0 && head() == h + 2);
	CHECK_ERR(nonce_state(w.issued), SKR_ERR_NONCE_INVALID);
	CHECK(write_lock_free());
	/* The work's own refusal (the nonce used before) fails it too. */
	memset(&w, 0, sizeof(w));
	w.nonce = nonce;
	CHECK_ERR(skr_audit_log(st, &rec, NOW, work_fn, &w, NULL),
	    SKR_ERR_NONCE_REUSED);
	CHECK(head() == h + 2);
	/* A result the interface does not know is an internal error. */
	memset(&w, 0, sizeof(w));
	w.result = 7;
	CHECK_ERR(skr_audit_log(st, &rec, NOW, work_fn, &w, NULL),
	    SKR_ERR_INTERNAL);
	CHECK_ERR(nonce_state(w.issued), SKR_ERR_NONCE_INVALID);
	/* A record refused after the work ran: the work is undone too. */
	memset(&w, 0, sizeof(w));
	copy = rec;
	copy.outcome = "maybe";
	CHECK_ERR(skr_audit_log(st, &copy, NOW, work_fn, &w, NULL),
	    SKR_ERR_INVAL);
	CHECK(w.calls == 1);
	CHECK_ERR(nonce_state(w.issued), SKR_ERR_NONCE_INVALID);
	CHECK(head() == h + 2);
	CHECK(write_lock_free());

	/* With work, the record is written as text by the committer after
	 * the work (audit_text.c): no jansson allocation is left to fail. */
	memset(&w, 0, sizeof(w));
	atomic_store(&allocs_left, 0);
	r = skr_audit_log(st, &rec, NOW, work_fn, &w, NULL);
	atomic_store(&allocs_left, -1);
	CHECK_OK(r);
	CHECK(w.calls == 1);
	CHECK(head() == h + 3);
	/* Out of memory at each allocation in turn without work: the record
	 * is built and checked on the caller's thread first. */
	for (i = 0, fails = 0; i < 1000; i++) {
		atomic_store(&allocs_left, (int)i);
		r = skr_audit_log(st, &rec, NOW, NULL, NULL, NULL);
		atomic_store(&allocs_left, -1);
		if (r == SKR_OK)
			break;
		CHECK_ERR(r, SKR_ERR_NOMEM);
		CHECK(head() == h + 3);
		fails++;
	}
	CHECK_OK(r);
	CHECK(fails > 5);
	CHECK(head() == h + 4);
	CHECK(write_lock_free());

	CHECK_ERR(skr_audit_log(NULL, &rec, NOW, NULL, NULL, &seq),
	    SKR_ERR_INVAL);
	CHECK_ERR(skr_audit_log(st, NULL, NOW, NULL, NULL, &seq),
	    SKR_ERR_INVAL);
}

/* ---- checks where the record commits -------------------------------------- */

struct check {
	const char *nonce;   /* its state decides the outcome */
	int fail;            /* an error to return instead */
	int calls;
	const skr_audit_rec *caller;
	int saw_copy;
};

/* Keep the record while the nonce is still usable; a used one turns it
 * into a denial.  Reads only. */
static int
check_fn(skr_txn *txn, skr_audit_rec *rec, void *arg)
{
	struct check *c = arg;
	int r;

	c->calls++;
	c->saw_copy = rec != c->caller;
	if (c->fail != 0)
		return c->fail;
	if ((r = skr_store_nonce_check(txn, c->nonce, NOW)) == SKR_OK)
		return SKR_OK;
	rec->outcome = "denied";
	rec->reason = skr_err_id(r);
	return SKR_AUDIT_CHANGED;
}

static void
test_checked(void)
{
	skr_audit_rec rec = { .event = "key.release", .outcome = "ok",
		.request_id = "c1" };
	char nonce[SKR_NONCE_TEXT_LEN + 1];
	struct check c;
	skr_txn *txn = NULL;
	json_t *o;
	uint64_t h, seq;

	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_nonce_issue(txn, NOW, 300, nonce));
	CHECK_OK(skr_store_txn_commit(txn));
	h = head();

	/* The state still holds: the record as built. */
	memset(&c, 0, sizeof(c));
	c.nonce = nonce;
	c.caller = &rec;
	CHECK_OK(skr_audit_log_checked(st, &rec, NOW, check_fn, &c, NULL,
	    &seq));
	CHECK(c.calls == 1 && c.saw_copy);
	CHECK(seq == h + 1);
	o = stored(seq);
	CHECK_STR(jstr(o, "outcome"), "ok");
	CHECK(json_object_get(o, "reason") == NULL);
	json_decref(o);

	/* A change committed since the decision: the check sees it in the
	 * record's transaction and the record says what it changed to. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_nonce_consume(txn, nonce, NOW));
	CHECK_OK(skr_store_txn_commit(txn));
	memset(&c, 0, sizeof(c));
	c.nonce = nonce;
	c.caller = &rec;
	CHECK_OK(skr_audit_log_checked(st, &rec, NOW, check_fn, &c, NULL,
	    &seq));
	CHECK(seq == h + 2);
	o = stored(seq);
	CHECK_STR(jstr(o, "outcome"), "denied");
	CHECK_STR(jstr(o, "reason"), "SKR.NONCE.REUSED");
	CHECK_STR(jstr(o, "request_id"), "c1");
	json_decref(o);
	CHECK(rec.reason == NULL && strcmp(rec.outcome, "ok") == 0);

	/* A failing check fails the commit; nothing is written. */
	memset(&c, 0, sizeof(c));
	c.fail = SKR_ERR_STORE;
	CHECK_ERR(skr_audit_log_checked(st, &rec, NOW, check_fn, &c, NULL,
	    &seq),
	    SKR_ERR_STORE);
	CHECK(seq == 0 && head() == h + 2);
	c.fail = 5;
	CHECK_ERR(skr_audit_log_checked(st, &rec, NOW, check_fn, &c, NULL,
	    NULL),
	    SKR_ERR_INTERNAL);
	CHECK(head() == h + 2);
	CHECK(write_lock_free());
	CHECK_ERR(skr_audit_log_checked(st, &rec, NOW, NULL, NULL, NULL,
	    NULL),
	    SKR_ERR_INVAL);
}

/* ---- the group commit ------------------------------------------------------- */

/*
 * The checker: another process with its own read-only LMDB handle on the
 * store file.  Asked for (seq, request id), it answers whether the record
 * stored under seq carries that request id, as anyone reading the file sees
 * it now.  It is forked before any thread starts.
 */
struct ask {
	uint64_t seq;
	char request_id[33];
};

static int ask_fd = -1, answer_fd = -1;
static pid_t checker_pid = -1;
static pthread_mutex_t ask_mu = PTHREAD_MUTEX_INITIALIZER;

static char
checker_look(MDB_env *env, const struct ask *a)
{
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	uint8_t k[8];
	MDB_val key = { 8, k }, val;
	json_t *rec = NULL;
	char ok = 0;

	skr__audit_seq_put(k, a->seq);
	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0 &&
	    mdb_dbi_open(txn, "audit", 0, &dbi) == 0 &&
	    mdb_get(txn, dbi, &key, &val) == 0 &&
	    (rec = json_loadb(val.mv_data, val.mv_size, 0, NULL)) != NULL &&
	    jstr(rec, "request_id") != NULL &&
	    strcmp(jstr(rec, "request_id"), a->request_id) == 0)
		ok = 1;
	json_decref(rec);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return ok;
}

static void
checker_main(int in, int out)
{
	MDB_env *env = NULL;
	struct ask a;
	char path[128], ok;

	snprintf(path, sizeof(path), "%s/skr.mdb", dir);
	while (read(in, &a, sizeof(a)) == (ssize_t)sizeof(a)) {
		if (env == NULL && (mdb_env_create(&env) != 0 ||
		    mdb_env_set_maxdbs(env, 16) != 0 ||
		    mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY |
		    MDB_NOTLS, 0600) != 0))
			_exit(2);
		ok = checker_look(env, &a);
		if (write(out, &ok, 1) != 1)
			_exit(2);
	}
	_exit(0);
}

static int
checker_start(void)
{
	int to[2], from[2];

	if (pipe(to) != 0 || pipe(from) != 0)
		return -1;
	if ((checker_pid = fork()) < 0)
		return -1;
	if (checker_pid == 0) {
		close(to[1]);
		close(from[0]);
		checker_main(to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	ask_fd = to[1];
	answer_fd = from[0];
	return 0;
}

static int
checker_sees(uint64_t seq, const char *request_id)
{
	struct ask a;
	char ok = 0;

	memset(&a, 0, sizeof(a));
	a.seq = seq;
	snprintf(a.request_id, sizeof(a.request_id), "%s", request_id);
	pthread_mutex_lock(&ask_mu);
	if (write(ask_fd, &a, sizeof(a)) != (ssize_t)sizeof(a) ||
	    read(answer_fd, &ok, 1) != 1)
		ok = 0;
	pthread_mutex_unlock(&ask_mu);
	return ok == 1;
}

static void
checker_stop(void)
{
	int status;

	if (checker_pid <= 0)
		return;
	close(ask_fd);
	close(answer_fd);
	waitpid(checker_pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

struct caller {
	int id;
	uint64_t seq[PER_THREAD];
	int r[PER_THREAD];
	int seen[PER_THREAD];
};

static atomic_int returned;

static void *
caller_run(void *arg)
{
	struct caller *c = arg;
	char rid[33];
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		skr_audit_rec rec = { .event = "key.release",
			.outcome = i % 3 ? "ok" : "denied", .peer = "192.0.2.7",
			.request_id = rid };
		snprintf(rid, sizeof(rid), "t%d-%d", c->id, i);
		c->r[i] = skr_audit_log(st, &rec, NOW + i, NULL, NULL,
		    &c->seq[i]);
		atomic_fetch_add(&returned, 1);
		/* Durable by now: another process reading the file finds
		 * the record. */
		c->seen[i] = c->r[i] == SKR_OK && checker_sees(c->seq[i], rid);
	}
	return NULL;
}

static void
test_grouped(void)
{
	static struct caller callers[THREADS];
	pthread_t t[THREADS];
	skr_txn *hold = NULL, *txn = NULL;
	uint64_t h, count = 0, broken = 0, prev;
	uint8_t *used;
	int i, j, ok = 1, started = 0;

	h = head();
	/* The store's write lock is held while the callers start: none may
	 * return before a commit holding its record could be made. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE_RESERVE, &hold));
	atomic_store(&returned, 0);
	for (i = 0; i < THREADS; i++) {
		callers[i].id = i;
		if (pthread_create(&t[i], NULL, caller_run, &callers[i]) == 0)
			started++;
	}
	CHECK(started == THREADS);
	usleep(300 * 1000);
	CHECK(atomic_load(&returned) == 0);
	skr_store_txn_abort(hold);
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);

	/* Every record present once, each caller's in its order, each seen
	 * by the other process as soon as its call returned. */
	used = calloc(THREADS * PER_THREAD + 1, 1);
	for (i = 0; i < THREADS; i++) {
		prev = h;
		for (j = 0; j < PER_THREAD; j++) {
			struct caller *c = &callers[i];
			ok &= c->r[j] == SKR_OK && c->seen[j] &&
			    c->seq[j] > prev &&
			    c->seq[j] <= h + THREADS * PER_THREAD &&
			    used != NULL && !used[c->seq[j] - h];
			if (ok && used != NULL)
				used[c->seq[j] - h] = 1;
			prev = c->seq[j];
		}
	}
	free(used);
	CHECK(ok);
	CHECK(head() == h + THREADS * PER_THREAD);
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_verify(txn, &count, &broken));
	CHECK(count == h + THREADS * PER_THREAD);
	skr_store_txn_abort(txn);
}

/* ---- the committer, asynchronously ------------------------------------------ */

#define ASYNC_JOBS 200

struct async_one {
	skr_audit_job job;
	skr_audit_rec rec;
	char rid[33];
	int seen;            /* the record was in the file when done ran */
	atomic_int calls;
};

static atomic_int async_done;

/* On the committer thread: the record must already be durable, that is,
 * visible to another process reading the file. */
static void
async_done_fn(skr_audit_job *job)
{
	struct async_one *a = job->done_arg;

	a->seen = job->result == SKR_OK && checker_sees(job->seq, a->rid);
	atomic_fetch_add(&a->calls, 1);
	atomic_fetch_add(&async_done, 1);
}

/* A release record with request id "what-i", its job done by
 * async_done_fn. */
static void
async_init(struct async_one *a, const char *what, int i)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->rid, sizeof(a->rid), "%s-%d", what, i);
	a->rec.event = "key.release";
	a->rec.outcome = "ok";
	a->rec.request_id = a->rid;
	a->job.rec = &a->rec;
	a->job.now = NOW;
	a->job.done = async_done_fn;
	a->job.done_arg = a;
}

/* A check that fails (arg 3) or keeps the record (arg 1). */
static int
async_check(skr_txn *txn, skr_audit_rec *rec, void *arg)
{
	(void)txn;
	(void)rec;
	return (uintptr_t)arg == 3 ? SKR_ERR_STORE : SKR_OK;
}

static void
test_async(void)
{
	static struct async_one a[ASYNC_JOBS];
	skr_txn *hold = NULL, *txn = NULL;
	uint64_t h = head(), count = 0, broken = 0, prev = h;
	int i, ok = 1, good = 0;

	/* Refused at once: nothing queued, done never runs. */
	memset(&a[0], 0, sizeof(a[0]));
	CHECK_ERR(skr_audit_submit(st, &a[0].job), SKR_ERR_INVAL);
	CHECK_ERR(skr_audit_submit(NULL, &a[0].job), SKR_ERR_INVAL);

	/* Queued while the write lock is held elsewhere: none is done before
	 * a commit holding it could be made. */
	atomic_store(&async_done, 0);
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE_RESERVE, &hold));
	for (i = 0; i < ASYNC_JOBS; i++) {
		async_init(&a[i], "async", i);
		/* Some fail alone in their check; every tenth is refused
		 * as a record (an unknown outcome).  Neither takes others
		 * with it. */
		if (i % 7 == 0) {
			a[i].job.check = async_check;
			a[i].job.arg = (void *)(uintptr_t)(i % 3 == 0 ? 3 : 1);
		}
		if (i % 10 == 5)
			a[i].rec.outcome = "maybe";
		CHECK_OK(skr_audit_submit(st, &a[i].job));
	}
	usleep(300 * 1000);
	CHECK(atomic_load(&async_done) == 0);
	skr_store_txn_abort(hold);
	for (i = 0; i < 3000 && atomic_load(&async_done) < ASYNC_JOBS; i++)
		usleep(10 * 1000);
	CHECK(atomic_load(&async_done) == ASYNC_JOBS);
	for (i = 0; i < ASYNC_JOBS; i++) {
		int want_fail = (i % 7 == 0 && i % 3 == 0) || i % 10 == 5;

		ok &= atomic_load(&a[i].calls) == 1;
		if (want_fail) {
			ok &= a[i].job.result != SKR_OK && a[i].job.seq == 0;
			continue;
		}
		/* In queue order, each durable when it was done. */
		ok &= a[i].job.result == SKR_OK && a[i].seen &&
		    a[i].job.seq == prev + 1;
		prev = a[i].job.seq;
		good++;
	}
	CHECK(ok);
	CHECK(head() == h + (uint64_t)good);
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_verify(txn, &count, &broken));
	skr_store_txn_abort(txn);
	CHECK(write_lock_free());
}

/* ---- pacing ------------------------------------------------------------------ */

#define PACED 6

/*
 * skr_store_commit_interval: a record that finds the committer idle is
 * committed at once, and records that arrive within the interval after
 * that commit started wait and share the next one (the counters say how
 * many commits and records there were).  Every record is still durable
 * when its job is done, and 0 turns the pacing off.
 */
static void
test_paced(void)
{
	static struct async_one a[PACED];
	skr_store_stats s0, s1;
	uint64_t prev;
	int i, ok = 1;

	CHECK_OK(skr_store_stats_get(st, &s0));
	CHECK(s0.audit_commits > 0 && s0.audit_commit_records >=
	    s0.audit_commits);
	/* Long enough that the submits below all fall within it. */
	skr_store_commit_interval(st, 2000 * 1000);
	atomic_store(&async_done, 0);
	for (i = 0; i < PACED; i++) {
		async_init(&a[i], "paced", i);
		CHECK_OK(skr_audit_submit(st, &a[i].job));
		/* The first goes alone, at once (nothing else is queued
		 * behind it); the rest are submitted after it is done. */
		while (i == 0 && atomic_load(&async_done) == 0)
			usleep(1000);
	}
	for (i = 0; i < 1000 && atomic_load(&async_done) < PACED; i++)
		usleep(10 * 1000);
	CHECK(atomic_load(&async_done) == PACED);
	prev = a[0].job.seq;
	for (i = 0; i < PACED; i++) {
		ok &= a[i].job.result == SKR_OK && a[i].seen &&
		    (i == 0 || a[i].job.seq == prev + 1);
		prev = a[i].job.seq;
	}
	CHECK(ok);
	CHECK_OK(skr_store_stats_get(st, &s1));
	CHECK(s1.audit_commits == s0.audit_commits + 2);
	CHECK(s1.audit_commit_records == s0.audit_commit_records + PACED);

	/* Off again: one record on its own is one commit. */
	skr_store_commit_interval(st, 0);
	CHECK_OK(skr_audit_log(st, &a[0].rec, NOW, NULL, NULL, NULL));
	CHECK_OK(skr_store_stats_get(st, &s0));
	CHECK(s0.audit_commits == s1.audit_commits + 1);
	CHECK(s0.audit_commit_records == s1.audit_commit_records + 1);
}

/* ---- commit durations ------------------------------------------------------ */

static uint64_t
bucket_sum(const skr_store_stats *s)
{
	uint64_t n = 0;

	for (size_t b = 0; b < SKR_STORE_COMMIT_BUCKETS; b++)
		n += s->audit_commit_buckets[b];
	return n;
}

/* A check that holds its commit open for 30 ms. */
static int
slow_check(skr_txn *txn, skr_audit_rec *rec, void *arg)
{
	(void)txn;
	(void)rec;
	(void)arg;
	usleep(30 * 1000);
	return SKR_OK;
}

/*
 * Every group commit is timed: one bucket count per commit, the sum of
 * their durations, and a commit held open for 30 ms counted in the bucket
 * that holds 30 ms (25 ms < d <= 50 ms) or, if this machine stalled it
 * further, a later one -- never an earlier one -- with the sum grown by
 * at least 30 ms.
 */
static void
test_commit_duration(void)
{
	static struct async_one a;
	skr_store_stats s0, s1;
	uint64_t late0 = 0, late1 = 0;
	size_t b, slow = 0;
	int i;

	for (b = 1; b < SKR_STORE_COMMIT_BUCKETS - 1; b++)
		CHECK(skr_store_commit_bounds_us[b] >
		    skr_store_commit_bounds_us[b - 1]);
	while (skr_store_commit_bounds_us[slow] < 30000)
		slow++;
	CHECK(skr_store_commit_bounds_us[slow] == 50000);
	CHECK_OK(skr_store_stats_get(st, &s0));
	CHECK(s0.audit_commits > 0 && bucket_sum(&s0) == s0.audit_commits);
	CHECK(s0.audit_commit_usec > 0);

	async_init(&a, "slow", 0);
	a.job.check = slow_check;
	atomic_store(&async_done, 0);
	CHECK_OK(skr_audit_submit(st, &a.job));
	for (i = 0; i < 1000 && atomic_load(&async_done) == 0; i++)
		usleep(10 * 1000);
	CHECK(atomic_load(&async_done) == 1 && a.job.result == SKR_OK &&
	    a.seen);
	CHECK_OK(skr_store_stats_get(st, &s1));
	CHECK(s1.audit_commits == s0.audit_commits + 1);
	CHECK(bucket_sum(&s1) == s1.audit_commits);
	for (b = slow; b < SKR_STORE_COMMIT_BUCKETS; b++) {
		late0 += s0.audit_commit_buckets[b];
		late1 += s1.audit_commit_buckets[b];
	}
	CHECK(late1 == late0 + 1);
	CHECK(s1.audit_commit_usec >= s0.audit_commit_usec + 30000);
}

/* ---- records written as text --------------------------------------------------- */

/* The text the committer writes is what skr_audit_append stores for the same
 * record: appended the tree's way, read back, compared byte for byte. */
static void
text_agrees(skr_audit_rec *rec)
{
	skr_txn *txn = NULL;
	skr_buf text = SKR_BUF_INIT;
	json_t *built = NULL;
	uint8_t prev[SKR_AUDIT_HASH_LEN], hash[SKR_AUDIT_HASH_LEN], k[8];
	const void *v;
	size_t vl;
	uint64_t seq;
	int r1, r2;

	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE_RESERVE, &txn));
	CHECK_OK(skr__store_get(txn, SKR__DB_META, SKR__AUDIT_HEAD_KEY,
	    strlen(SKR__AUDIT_HEAD_KEY), &v, &vl));
	CHECK_OK(skr__audit_head_get(v, vl, &seq, prev));
	r1 = skr__audit_text(rec, seq + 1, NOW + 5, prev, &text, hash);
	r2 = skr_audit_build(rec, &built);
	if (r2 == SKR_OK)
		r2 = skr_audit_append(txn, built, NOW + 5, NULL);
	CHECK_ERR(r1, r2);
	if (r1 == SKR_OK && r2 == SKR_OK) {
		skr__audit_seq_put(k, seq + 1);
		CHECK_OK(skr__store_get(txn, SKR__DB_AUDIT, k, 8, &v, &vl));
		CHECK_MEM(text.data, text.len, v, vl);
	}
	skr_store_txn_abort(txn);
	json_decref(built);
	skr_buf_free(&text);
}

static void
test_text(void)
{
	char vals[NFIELDS][32], big[SKR_AUDIT_MAX_STRING + 2];
	skr_audit_rec rec;
	skr_buf b = SKR_BUF_INIT;
	uint8_t prev[SKR_AUDIT_HASH_LEN] = { 0 }, hash[SKR_AUDIT_HASH_LEN];

	/* Refusals first: as the builder and skr_audit_append refuse. */
	memset(&rec, 0, sizeof(rec));
	rec.event = "x";
	rec.outcome = "maybe";
	text_agrees(&rec);
	rec.outcome = "ok";
	rec.event = "";
	text_agrees(&rec);
	rec.event = "x";
	skr_audit_detail_str(&rec, "Key_Hsm", "v");
	text_agrees(&rec);
	memset(&rec, 0, sizeof(rec));
	rec.event = "x";
	rec.outcome = "ok";
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rec.peer = big;
	text_agrees(&rec);
	rec.peer = NULL;
	skr_audit_detail_str(&rec, "long", big);
	text_agrees(&rec);
	memset(&rec, 0, sizeof(rec));
	rec.event = "x";
	rec.outcome = "ok";
	rec.key = "bad\xc3";
	text_agrees(&rec);
	rec.key = NULL;
	skr_audit_detail_str(&rec, "a", "1");
	skr_audit_detail_str(&rec, "b", "2");
	skr_audit_detail_str(&rec, "c", "3");
	skr_audit_detail_str(&rec, "d2", "4");
	skr_audit_detail_str(&rec, "e", "5");
	CHECK(rec.overflow);
	text_agrees(&rec);
	CHECK_ERR(skr__audit_text(NULL, 1, NOW, prev, &b, hash),
	    SKR_ERR_INVAL);
	CHECK(b.len == 0);

	/* Every member, details sorted, escapes, an empty detail string and
	 * a detail name given twice (the last value stands). */
	full_rec(&rec, vals);
	text_agrees(&rec);
	memset(&rec, 0, sizeof(rec));
	rec.event = "key.release";
	rec.outcome = "denied";
	rec.reason = "SKR.POLICY.DENIED";
	rec.key = "k\"\\\n\x01\xc3\xa9\xe2\x82\xac";
	rec.jti = "/slash/";
	skr_audit_detail_str(&rec, "zz", "");
	skr_audit_detail_int(&rec, "dup", 1);
	skr_audit_detail_str(&rec, "Dup", "x");
	skr_audit_detail_int(&rec, "dup", -2);
	text_agrees(&rec);
	skr_buf_free(&b);
}

int
main(void)
{
	skr_master_key *mk = NULL;
	uint64_t count = 0, broken = 0;

	json_set_alloc_funcs(t_malloc, t_free);
	strcpy(dir, "/tmp/skr-auditc-XXXXXX");
	if (mkdtemp(dir) == NULL || skr_master_key_generate(&mk) != SKR_OK)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (checker_start() != 0)
		return 1;
	CHECK_OK(skr_store_create(dir, mk, NULL, &st));
	if (st == NULL) {
		checker_stop();
		return check_done();
	}
	test_build();
	test_commit();
	test_work();
	test_checked();
	test_grouped();
	test_async();
	test_paced();
	test_commit_duration();
	test_text();
	skr_store_close(st);
	checker_stop();
	CHECK_OK(skr_audit_verify_dir(dir, &count, &broken));
	CHECK(count > THREADS * PER_THREAD);
	skr_master_key_free(mk);
	rm_store();
	return check_done();
}
