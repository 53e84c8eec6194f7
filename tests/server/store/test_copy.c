/*
 * Copying a whole store (store.h, skr_store_copy), between two stores of
 * whatever backend the fixture makes: keys, versions and their material,
 * deleted keys, tokens and the audit chain arrive as they were (the same
 * chain, record for record); a destination that holds more than a fresh
 * store is refused; one of another master key fails on the first record;
 * a copy cut short does not open and is started over by the next.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "check.h"
#include "store_fixture.h"

#define NOW 1700000000

/* An audited change: a new key called name, and its record. */
static void
add_key(skr_store *st, const char *name)
{
	skr_version_params p;
	skr_audit_rec rec = { .event = "key.create", .outcome = "ok",
		.key = name };
	skr_txn *txn = NULL;
	skr_key *k = NULL;

	skr_version_params_init(&p);
	CHECK_OK(skr_key_generate(SKR_KTY_OCT, 256, &k));
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_version_add(txn, name, k, &p, 0, NOW, NULL));
	CHECK_OK(skr_audit_commit(txn, &rec, 1, NOW));
	skr_key_free(k);
}

/* The chain of st as one text: seq, hash per record. */
static void
chain_text(skr_store *st, skr_buf *out)
{
	skr_txn *txn = NULL;
	json_t *recs = NULL, *r;
	uint64_t next = 0;
	size_t i;

	skr_buf_reset(out);
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_query(txn, NULL, 0, 1000, &recs, &next));
	json_array_foreach(recs, i, r)
		skr_buf_appendf(out, "%lld %s\n", (long long)json_integer_value(
		    json_object_get(r, "seq")), json_string_value(
		    json_object_get(r, "hash")));
	json_decref(recs);
	skr_store_txn_abort(txn);
}

int
main(void)
{
	skr_test_store a, b, other, again;
	skr_store_copy_stats stats;
	skr_buf ca = SKR_BUF_INIT, cb = SKR_BUF_INIT;
	skr_buf m1 = SKR_BUF_INIT_SECRET, m2 = SKR_BUF_INIT_SECRET;
	skr_version_info vi;
	skr_txn *txn = NULL;
	skr_key *k1 = NULL, *k2 = NULL;
	skr_store_opts so;
	char tok[SKR_TOKEN_TEXT_LEN + 1], tok2[SKR_TOKEN_TEXT_LEN + 1];
	skr_principal pr;

	skr_test_store_make(&a, "copy-a", NULL);
	skr_test_token(a.store, "admin", SKR_ROLE_ADMIN, NULL, NOW, 0, tok,
	    NULL);
	add_key(a.store, "one");
	add_key(a.store, "Two");
	CHECK_OK(skr_store_txn_begin(a.store, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_key_delete(txn, "Two", NOW, 0, NULL));
	CHECK_OK(skr_store_txn_commit(txn));
	add_key(a.store, "three");

	/* A fresh store of the same master key, as skrd init makes one:
	 * its first token goes. */
	skr_test_store_make_mk(&b, "copy-b", a.mk);
	skr_test_token(b.store, "first", SKR_ROLE_ADMIN, NULL, NOW, 0, tok2,
	    NULL);

	CHECK_OK(skr_store_copy(a.store, b.store, &stats));
	CHECK(stats.audit_records == 3);
	CHECK(stats.records > 4);
	chain_text(a.store, &ca);
	chain_text(b.store, &cb);
	CHECK(ca.len > 0);
	CHECK_MEM(ca.data, ca.len, cb.data, cb.len);
	/* The keys, with their material. */
	CHECK_OK(skr_store_txn_begin(a.store, SKR_TXN_READ, &txn));
	CHECK_OK(skr_store_version_open(txn, "one", NULL, &k1));
	skr_store_txn_abort(txn);
	CHECK_OK(skr_store_txn_begin(b.store, SKR_TXN_READ, &txn));
	CHECK_OK(skr_store_version_open(txn, "one", NULL, &k2));
	CHECK_OK(skr_key_private_bytes(k1, &m1));
	CHECK_OK(skr_key_private_bytes(k2, &m2));
	CHECK(m1.len == 32);
	CHECK_MEM(m1.data, m1.len, m2.data, m2.len);
	CHECK_OK(skr_store_deleted_get(txn, "two", &vi));
	CHECK_STR(vi.name, "Two");
	skr_version_info_clear(&vi);
	CHECK_OK(skr_store_version_get(txn, "three", NULL, &vi));
	skr_version_info_clear(&vi);
	/* The source's tokens came; the destination's first one went. */
	CHECK_OK(skr_store_token_lookup(txn, tok, NOW, &pr));
	CHECK_ERR(skr_store_token_lookup(txn, tok2, NOW, &pr),
	    SKR_ERR_AUTH_INVALID);
	CHECK_OK(skr_audit_verify(txn, NULL, NULL));
	skr_store_txn_abort(txn);
	skr_key_free(k1);
	skr_key_free(k2);

	/* A destination with keys is not overwritten. */
	CHECK_ERR(skr_store_copy(a.store, b.store, NULL), SKR_ERR_CONFLICT);
	/* One of another master key: the first record's MAC fails... */
	skr_test_store_make(&other, "copy-other", NULL);
	CHECK_ERR(skr_store_copy(a.store, other.store, NULL),
	    SKR_ERR_SEAL_OPEN);
	/* ... which leaves it unfinished: it does not open as a store, but
	 * as the destination of a copy, which starts over. */
	skr_store_close(other.store);
	other.store = NULL;
	CHECK_ERR(skr_store_open(other.dir, other.mk, NULL, &other.store),
	    SKR_ERR_STORE_SCHEMA);
	memset(&so, 0, sizeof(so));
	so.copying = 1;
	CHECK_OK(skr_store_open(other.dir, other.mk, &so, &other.store));
	skr_test_store_make_mk(&again, "copy-again", other.mk);
	add_key(again.store, "x");
	CHECK_OK(skr_store_copy(again.store, other.store, &stats));
	CHECK(stats.audit_records == 1);
	skr_store_close(other.store);
	other.store = NULL;
	CHECK_OK(skr_store_open(other.dir, other.mk, NULL, &other.store));
	CHECK_ERR(skr_store_copy(a.store, a.store, NULL), SKR_ERR_INVAL);
	CHECK_ERR(skr_store_copy(NULL, b.store, NULL), SKR_ERR_INVAL);

	skr_buf_free(&m1);
	skr_buf_free(&m2);
	skr_buf_free(&ca);
	skr_buf_free(&cb);
	skr_test_store_free(&a);
	skr_test_store_free(&b);
	skr_test_store_free(&other);
	skr_test_store_free(&again);
	return check_done();
}
