/*
 * libFuzzer target: the backup codec (server/store/backup_codec.h) on its
 * own, and restoring what it accepts into a real store.  It links the store
 * library only.  A backup is sealed under a key derived from the master
 * key, which a fuzzer cannot forge, so the first input byte picks how deep
 * to reach:
 *
 *   0  the rest is the blob as received (POST /keys/restore after base64)
 *   1  the rest is the payload, sealed here as skr_store_backup seals it
 *      (docs/store.md), so the authenticated parser is reached
 *   2  the rest is the JSON document of the payload; each entry of its
 *      "versions" gets the private bytes of a real oct key, then sealed
 *
 * The master key is fixed (a0 a1 .. bf), so seeds.py can seal real blobs
 * for mode 0.  Invariants: a refusal names its flaw and only a refusal
 * does; a decoded payload encodes to one that decodes to the same backup,
 * and encoding that again changes nothing; restore accepts nothing the
 * decoder refuses.  Every restore runs in a write transaction that is
 * aborted, so the store never grows.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup_codec.h"
#include "skr/error.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LABEL_ROOT "skr/v1/backup-root" /* docs/store.md */

static struct {
	skr_master_key *mk, *root;
	skr_store *st;
	skr_key *oct;
	char dir[64];
} env;

static void
die(const char *what, int r)
{
	fprintf(stderr, "fuzz_backup: %s: %s\n", what, skr_strerror(r));
	abort();
}

static void
teardown(void)
{
	char p[128];

	skr_store_close(env.st);
	skr_master_key_free(env.mk);
	skr_master_key_free(env.root);
	skr_key_free(env.oct);
	snprintf(p, sizeof(p), "%s/%s", env.dir, SKR_STORE_FILE);
	unlink(p);
	snprintf(p, sizeof(p), "%s/%s-lock", env.dir, SKR_STORE_FILE);
	unlink(p);
	rmdir(env.dir);
}

/* A store (under /dev/shm when there is one, so synced commits cost
 * nothing) holding key "k", and a check that the codec reads the store's
 * own backups with the root derived as documented. */
static void
setup(void)
{
	static const char policy[] = "{\"version\":\"1.0.0\",\"anyOf\":[{"
	    "\"authority\":\"https://a.example\",\"allOf\":[{\"claim\":\"x\","
	    "\"equals\":\"y\"}]}]}";
	uint8_t mkb[SKR_MASTER_KEY_LEN];
	skr_version_params p;
	skr_buf blob = SKR_BUF_INIT;
	skr_backup b;
	skr_txn *txn = NULL;
	size_t i;
	int r;

	for (i = 0; i < sizeof(mkb); i++)
		mkb[i] = (uint8_t)(0xa0 + i);
	snprintf(env.dir, sizeof(env.dir), "%s/skr-fuzz-backup-XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(env.dir) == NULL)
		die("mkdtemp", SKR_ERR_IO);
	atexit(teardown);
	if ((r = skr_master_key_from_bytes(mkb, sizeof(mkb), &env.mk)) !=
	    SKR_OK || (r = skr_master_key_derive(env.mk, NULL, 0, LABEL_ROOT,
	    &env.root)) != SKR_OK ||
	    (r = skr_key_generate(SKR_KTY_OCT, 256, &env.oct)) != SKR_OK ||
	    (r = skr_store_create(env.dir, env.mk, NULL, &env.st)) != SKR_OK ||
	    (r = skr_store_txn_begin(env.st, SKR_TXN_WRITE, &txn)) != SKR_OK)
		die("setup", r);
	skr_version_params_init(&p);
	p.exportable = 1;
	p.policy = policy;
	p.policy_len = strlen(policy);
	if ((r = skr_store_version_add(txn, "k", env.oct, &p, 0, 1700000000,
	    NULL)) != SKR_OK || (r = skr_store_backup(txn, "k", &blob)) !=
	    SKR_OK || (r = skr_store_txn_commit(txn)) != SKR_OK)
		die("key", r);
	if ((r = skr_backup_decode(env.root, blob.data, blob.len, &b, NULL)) !=
	    SKR_OK || b.n != 1)
		die("the store's own backup", r);
	skr_backup_clear(&b);
	skr_buf_free(&blob);
}

/* A refusal is SKR_ERR_BACKUP_INVALID with a flaw; anything else has none. */
static void
check_flaw(int r, skr_backup_flaw flaw)
{
	if ((r == SKR_ERR_BACKUP_INVALID) != (flaw != SKR_BACKUP_FLAW_NONE))
		die("flaw and error disagree", r);
}

static void
same_backup(const skr_backup *a, const skr_backup *b)
{
	size_t i;

	if (strcmp(a->name, b->name) != 0 || a->created != b->created ||
	    a->n != b->n)
		die("re-encoded backup differs", SKR_ERR_INTERNAL);
	for (i = 0; i < a->n; i++)
		if (!json_equal(a->versions[i].meta, b->versions[i].meta) ||
		    a->versions[i].privlen != b->versions[i].privlen ||
		    memcmp(a->versions[i].priv, b->versions[i].priv,
		    a->versions[i].privlen) != 0)
			die("re-encoded version differs", SKR_ERR_INTERNAL);
}

/* Decode a payload; when it is accepted, encode and decode it again. */
static int
payload_decode(const uint8_t *p, size_t n)
{
	skr_backup b, b2;
	skr_backup_flaw flaw;
	skr_buf e1 = SKR_BUF_INIT_SECRET, e2 = SKR_BUF_INIT_SECRET;
	int r, r2;

	r = skr_backup_payload_decode(p, n, &b, &flaw);
	check_flaw(r, flaw);
	if (r != SKR_OK)
		return r;
	if ((r2 = skr_backup_payload_encode(b.name, b.created, b.versions,
	    b.n, &e1)) != SKR_OK)
		die("encode", r2);
	if ((r2 = skr_backup_payload_decode(e1.data, e1.len, &b2, &flaw)) !=
	    SKR_OK)
		die("decode of the encoding", r2);
	same_backup(&b, &b2);
	if ((r2 = skr_backup_payload_encode(b2.name, b2.created, b2.versions,
	    b2.n, &e2)) != SKR_OK || e1.len != e2.len ||
	    memcmp(e1.data, e2.data, e1.len) != 0)
		die("encoding is not stable", r2);
	skr_backup_clear(&b);
	skr_backup_clear(&b2);
	skr_buf_free(&e1);
	skr_buf_free(&e2);
	return r;
}

static int
restore(const uint8_t *p, size_t n)
{
	skr_version_info vi;
	skr_txn *txn = NULL;
	int r;

	if ((r = skr_store_txn_begin(env.st, SKR_TXN_WRITE, &txn)) != SKR_OK)
		die("txn", r);
	if ((r = skr_store_restore(txn, p, n, &vi)) == SKR_OK) {
		if (vi.name[0] == '\0' || vi.version[0] == '\0')
			die("restored nothing", r);
		skr_version_info_clear(&vi);
	}
	skr_store_txn_abort(txn);
	return r;
}

/* Mode 0: a blob as received. */
static void
blob_in(const uint8_t *p, size_t n)
{
	skr_backup b;
	skr_backup_flaw flaw;
	int r;

	r = skr_backup_decode(env.root, p, n, &b, &flaw);
	check_flaw(r, flaw);
	skr_backup_clear(&b);
	if (restore(p, n) == SKR_OK && r != SKR_OK)
		die("restore took a blob the codec refuses", r);
}

/* Modes 1 and 2: a payload, on its own and sealed into a blob. */
static void
payload_in(const uint8_t *p, size_t n)
{
	static const uint8_t salt[SKR_BACKUP_SALT_LEN] = { 7 };
	skr_buf blob = SKR_BUF_INIT;
	int r, rr;

	r = payload_decode(p, n);
	if ((rr = skr_backup_seal(env.root, salt, p, n, &blob)) != SKR_OK)
		die("seal", rr);
	if (restore(blob.data, blob.len) == SKR_OK && r != SKR_OK)
		die("restore took a payload the codec refuses", r);
	skr_buf_free(&blob);
}

static void
put_len(skr_buf *b, size_t n)
{
	uint8_t l[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16),
	    (uint8_t)(n >> 8), (uint8_t)n };

	(void)skr_buf_append(b, l, 4);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skr_buf payload = SKR_BUF_INIT_SECRET, key = SKR_BUF_INIT_SECRET;
	json_t *doc = NULL;
	size_t i;

	if (env.st == NULL)
		setup();
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		blob_in(data + 1, size - 1);
		break;
	case 1:
		payload_in(data + 1, size - 1);
		break;
	case 2:
		put_len(&payload, size - 1);
		(void)skr_buf_append(&payload, data + 1, size - 1);
		doc = json_loadb((const char *)data + 1, size - 1, 0, NULL);
		if (skr_key_private_bytes(env.oct, &key) != SKR_OK)
			abort();
		for (i = 0; i < json_array_size(json_object_get(doc,
		    "versions")) && i < 64; i++) {
			put_len(&payload, key.len);
			(void)skr_buf_append(&payload, key.data, key.len);
		}
		payload_in(payload.data, payload.len);
		break;
	}
	json_decref(doc);
	skr_buf_free(&payload);
	skr_buf_free(&key);
	return 0;
}
