/*
 * libFuzzer target: restoring key backups (skr_store_restore in
 * server/store.c) into a real store (fuzz_env.h).  A backup is sealed under
 * a key derived from the master key, which a fuzzer cannot forge, so the
 * first input byte picks how deep to reach:
 *
 *   0  the rest is the blob as received (POST /keys/restore after base64)
 *   1  the rest is the payload, sealed here exactly as skr_store_backup
 *      seals it (docs/store.md), so the authenticated parser is reached
 *   2  the rest is the JSON document of the payload; each entry of its
 *      "versions" gets the private bytes of a real oct key, then sealed
 *
 * Every restore runs in a write transaction that is aborted, so the store
 * never grows.  The derivation is checked against a real backup at start.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_env.h"
#include "seal.h"
#include "skr/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* As docs/store.md and server/store.c define them. */
#define MAGIC "SKRB"
#define FORMAT 1
#define SALT_LEN 16
#define HDR_LEN (4 + 1 + SALT_LEN)
#define LABEL_ROOT "skr/v1/backup-root"
#define LABEL_BLOB "skr/v1/backup"

static int
seal_blob(fuzz_env *e, const uint8_t salt[SALT_LEN], const uint8_t *p,
    size_t n, skr_buf *out)
{
	skr_master_key *root = NULL, *bk = NULL;
	uint8_t hdr[HDR_LEN];
	int r;

	memcpy(hdr, MAGIC, 4);
	hdr[4] = FORMAT;
	memcpy(hdr + 5, salt, SALT_LEN);
	if ((r = skr_master_key_derive(e->mk, NULL, 0, LABEL_ROOT, &root)) ==
	    SKR_OK && (r = skr_master_key_derive(root, salt, SALT_LEN,
	    LABEL_BLOB, &bk)) == SKR_OK && (r = skr_buf_append(out, hdr,
	    sizeof(hdr))) == SKR_OK)
		r = skr_seal(skr_master_key_bytes(bk), hdr, sizeof(hdr), p, n,
		    out);
	skr_master_key_free(root);
	skr_master_key_free(bk);
	return r;
}

static int
open_blob(fuzz_env *e, const skr_buf *blob, skr_buf *payload)
{
	skr_master_key *root = NULL, *bk = NULL;
	int r;

	if (blob->len < HDR_LEN)
		return SKR_ERR_INVAL;
	if ((r = skr_master_key_derive(e->mk, NULL, 0, LABEL_ROOT, &root)) ==
	    SKR_OK && (r = skr_master_key_derive(root, blob->data + 5,
	    SALT_LEN, LABEL_BLOB, &bk)) == SKR_OK)
		r = skr_seal_open(skr_master_key_bytes(bk), blob->data,
		    HDR_LEN, blob->data + HDR_LEN, blob->len - HDR_LEN,
		    payload);
	skr_master_key_free(root);
	skr_master_key_free(bk);
	return r;
}

/* The layout this target builds must still be the store's. */
static void
check_layout(fuzz_env *e)
{
	static int done;
	skr_buf blob = SKR_BUF_INIT, payload = SKR_BUF_INIT_SECRET;
	skr_txn *txn = NULL;

	if (done++)
		return;
	if (skr_store_txn_begin(e->srv.store, SKR_TXN_READ, &txn) != SKR_OK ||
	    skr_store_backup(txn, "k", &blob) != SKR_OK ||
	    open_blob(e, &blob, &payload) != SKR_OK)
		abort();
	skr_store_txn_abort(txn);
	skr_buf_free(&blob);
	skr_buf_free(&payload);
}

static void
put_len(skr_buf *b, size_t n)
{
	uint8_t l[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16),
	    (uint8_t)(n >> 8), (uint8_t)n };

	(void)skr_buf_append(b, l, 4);
}

static void
restore(fuzz_env *e, const uint8_t *p, size_t n)
{
	skr_version_info vi;
	skr_txn *txn = NULL;

	if (skr_store_txn_begin(e->srv.store, SKR_TXN_WRITE, &txn) != SKR_OK)
		abort();
	if (skr_store_restore(txn, p, n, &vi) == SKR_OK) {
		if (vi.name[0] == '\0' || vi.version[0] == '\0')
			abort();
		skr_version_info_clear(&vi);
	}
	skr_store_txn_abort(txn);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t salt[SALT_LEN] = { 7 };
	fuzz_env *e = fuzz_env_get();
	skr_buf blob = SKR_BUF_INIT, payload = SKR_BUF_INIT_SECRET;
	skr_buf key = SKR_BUF_INIT_SECRET;
	json_t *doc = NULL;
	size_t i;

	check_layout(e);
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		restore(e, data + 1, size - 1);
		break;
	case 1:
		if (seal_blob(e, salt, data + 1, size - 1, &blob) == SKR_OK)
			restore(e, blob.data, blob.len);
		break;
	case 2:
		put_len(&payload, size - 1);
		(void)skr_buf_append(&payload, data + 1, size - 1);
		doc = json_loadb((const char *)data + 1, size - 1, 0, NULL);
		if (skr_key_private_bytes(e->oct_key, &key) != SKR_OK)
			abort();
		for (i = 0; i < json_array_size(json_object_get(doc,
		    "versions")) && i < 64; i++) {
			put_len(&payload, key.len);
			(void)skr_buf_append(&payload, key.data, key.len);
		}
		if (seal_blob(e, salt, payload.data, payload.len, &blob) ==
		    SKR_OK)
			restore(e, blob.data, blob.len);
		break;
	}
	json_decref(doc);
	skr_buf_free(&blob);
	skr_buf_free(&payload);
	skr_buf_free(&key);
	return 0;
}
