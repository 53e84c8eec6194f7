/*
 * The sealed store: persistence, schema and master key checks, every key
 * operation, paging, soft delete, the seal binding (blobs moved on disk with
 * raw LMDB calls), backup/restore, admin tokens and nonces.  The LMDB file is
 * scanned for raw key bytes and token secrets, which must never be there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>
#include <pthread.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "backup_codec.h"
#include "check.h"
#include "encoding.h"
#include "files.h"
#include "jwk.h"
#include "masterkey.h"
#include "seal.h"
#include "store.h"

#define NOW 1700000000

static char dir_a[64], dir_b[64], dir_c[64];

/* 1 if needle occurs in the store file of dir. */
static int
file_has(const char *dir, const void *needle, size_t n)
{
	char p[256];
	uint8_t *buf;
	struct stat sb;
	FILE *f;
	int found;

	snprintf(p, sizeof(p), "%s/skr.mdb", dir);
	if (stat(p, &sb) != 0 || (f = fopen(p, "rb")) == NULL)
		return -1;
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	if (fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	found = memmem(buf, (size_t)sb.st_size, needle, n) != NULL;
	free(buf);
	return found;
}

/* ---- raw LMDB access for tampering -------------------------------------- */

typedef struct raw {
	MDB_env *env;
	MDB_txn *txn;
} raw;

static int
raw_open(raw *rw, const char *dir)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/skr.mdb", dir);
	if (mdb_env_create(&rw->env) != 0)
		return -1;
	mdb_env_set_maxdbs(rw->env, 16);
	mdb_env_set_mapsize(rw->env, SKR_STORE_DEFAULT_MAP_SIZE);
	if (mdb_env_open(rw->env, p, MDB_NOSUBDIR, 0600) != 0 ||
	    mdb_txn_begin(rw->env, NULL, 0, &rw->txn) != 0) {
		mdb_env_close(rw->env);
		return -1;
	}
	return 0;
}

static void
raw_close(raw *rw, int commit)
{
	if (commit)
		mdb_txn_commit(rw->txn);
	else
		mdb_txn_abort(rw->txn);
	mdb_env_close(rw->env);
}

/* Copy of the value (without its MAC when strip) into out. */
static int
raw_get(raw *rw, const char *db, const void *k, size_t kl, skr_buf *out)
{
	MDB_dbi dbi;
	MDB_val key = { kl, (void *)k }, val;

	if (mdb_dbi_open(rw->txn, db, 0, &dbi) != 0 ||
	    mdb_get(rw->txn, dbi, &key, &val) != 0)
		return -1;
	skr_buf_reset(out);
	return skr_buf_append(out, val.mv_data, val.mv_size) == SKR_OK ? 0 : -1;
}

static int
raw_put(raw *rw, const char *db, const void *k, size_t kl, const void *v,
    size_t vl)
{
	MDB_dbi dbi;
	MDB_val key = { kl, (void *)k }, val = { vl, (void *)v };

	if (mdb_dbi_open(rw->txn, db, 0, &dbi) != 0)
		return -1;
	return mdb_put(rw->txn, dbi, &key, &val, 0) == 0 ? 0 : -1;
}

static int
raw_drop(raw *rw, const char *db)
{
	MDB_dbi dbi;

	if (mdb_dbi_open(rw->txn, db, 0, &dbi) != 0)
		return -1;
	return mdb_drop(rw->txn, dbi, 1) == 0 ? 0 : -1;
}

static long
raw_count(raw *rw, const char *db)
{
	MDB_dbi dbi;
	MDB_stat ms;

	if (mdb_dbi_open(rw->txn, db, 0, &dbi) != 0 ||
	    mdb_stat(rw->txn, dbi, &ms) != 0)
		return -1;
	return (long)ms.ms_entries;
}

/* The documented record MAC: HMAC-SHA256 under HKDF(master,
 * "skr/v1/record-mac") of dbname NUL || u32 klen || key || u32 vlen || v. */
static void
mac_append(const skr_master_key *mk, const char *db, const void *k, size_t kl,
    skr_buf *v)
{
	skr_master_key *mac = NULL;
	skr_buf in = SKR_BUF_INIT;
	uint8_t l[4], out[32];
	unsigned int outlen = 0;

	if (skr_master_key_derive(mk, NULL, 0, "skr/v1/record-mac", &mac) !=
	    SKR_OK)
		abort();
	skr_buf_append(&in, db, strlen(db) + 1);
	l[0] = (uint8_t)(kl >> 24); l[1] = (uint8_t)(kl >> 16);
	l[2] = (uint8_t)(kl >> 8); l[3] = (uint8_t)kl;
	skr_buf_append(&in, l, 4);
	skr_buf_append(&in, k, kl);
	l[0] = (uint8_t)(v->len >> 24); l[1] = (uint8_t)(v->len >> 16);
	l[2] = (uint8_t)(v->len >> 8); l[3] = (uint8_t)v->len;
	skr_buf_append(&in, l, 4);
	skr_buf_append(&in, v->data, v->len);
	HMAC(EVP_sha256(), skr_master_key_bytes(mac), 32, in.data, in.len, out,
	    &outlen);
	skr_buf_append(v, out, outlen);
	skr_buf_free(&in);
	skr_master_key_free(mac);
}

static size_t
vkey(const char *lc, uint32_t seq, uint8_t *k)
{
	size_t n = strlen(lc);

	memcpy(k, lc, n);
	k[n] = 0;
	k[n + 1] = (uint8_t)(seq >> 24);
	k[n + 2] = (uint8_t)(seq >> 16);
	k[n + 3] = (uint8_t)(seq >> 8);
	k[n + 4] = (uint8_t)seq;
	return n + 5;
}

/* ---- fixtures -------------------------------------------------------------- */

static const uint8_t oct_bytes[32] = {
	0x5b, 0x13, 0xa7, 0xe2, 0x91, 0x0c, 0x44, 0xd8, 0x3f, 0x6e, 0xb1, 0x28,
	0x97, 0x02, 0xcd, 0x5a, 0xe4, 0x70, 0x19, 0xbb, 0x86, 0x3d, 0xf2, 0x4c,
	0x0a, 0x9f, 0x61, 0xd5, 0x27, 0xb8, 0x4e, 0x93,
};

static skr_key *
oct_key(uint8_t seed)
{
	uint8_t b[32];
	skr_key *k = NULL;
	size_t i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(oct_bytes[i] ^ seed);
	if (skr_key_from_private_bytes(SKR_KTY_OCT, b, sizeof(b), &k) != SKR_OK)
		abort();
	return k;
}

static void
params_init(skr_version_params *p)
{
	memset(p, 0xa5, sizeof(*p));
	skr_version_params_init(p);
	CHECK(p->enabled == 1 && p->key_ops == NULL && p->policy == NULL &&
	    p->nbf == 0 && p->exportable == 0);
}

static const char ec_pub[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

static const char policy_text[] =
    "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://a.example\","
    "\"allOf\":[{\"claim\":\"x\",\"equals\":\"y\"}]}]}";

/* Add a version of an oct key in its own committed transaction. */
static int
add_oct(skr_store *st, const char *name, uint8_t seed,
    const skr_version_params *p, char *version_out)
{
	skr_version_params dp;
	skr_version_info vi;
	skr_txn *txn = NULL;
	skr_key *k = oct_key(seed);
	int r;

	if (p == NULL) {
		params_init(&dp);
		p = &dp;
	}
	if ((r = skr_store_txn_begin(st, SKR_TXN_WRITE, &txn)) != SKR_OK)
		goto out;
	if ((r = skr_store_version_add(txn, name, k, p, 0, NOW, &vi)) !=
	    SKR_OK) {
		skr_store_txn_abort(txn);
		goto out;
	}
	if (version_out != NULL)
		strcpy(version_out, vi.version);
	skr_version_info_clear(&vi);
	r = skr_store_txn_commit(txn);
out:
	skr_key_free(k);
	return r;
}

/* ---- tests ----------------------------------------------------------------- */

static void
test_validation(void)
{
	char v1[33], v2[33], n128[129];
	size_t i;

	CHECK_ERR(skr_key_name_check(NULL), SKR_ERR_KEY_NAME);
	CHECK_ERR(skr_key_name_check(""), SKR_ERR_KEY_NAME);
	CHECK_ERR(skr_key_name_check("a_b"), SKR_ERR_KEY_NAME);
	CHECK_ERR(skr_key_name_check("a.b"), SKR_ERR_KEY_NAME);
	CHECK_ERR(skr_key_name_check("a/b"), SKR_ERR_KEY_NAME);
	CHECK_ERR(skr_key_name_check("a b"), SKR_ERR_KEY_NAME);
	CHECK_ERR(skr_key_name_check("caf\xc3\xa9"), SKR_ERR_KEY_NAME);
	memset(n128, 'a', 128);
	n128[128] = '\0';
	CHECK_ERR(skr_key_name_check(n128), SKR_ERR_KEY_NAME);
	n128[127] = '\0';
	CHECK_OK(skr_key_name_check(n128));
	CHECK_OK(skr_key_name_check("My-Key-01"));
	CHECK_OK(skr_key_name_check("-"));

	CHECK_ERR(skr_version_check(NULL), SKR_ERR_VERSION_NOT_FOUND);
	CHECK_ERR(skr_version_check(""), SKR_ERR_VERSION_NOT_FOUND);
	CHECK_ERR(skr_version_check("0123456789abcdef0123456789abcde"),
	    SKR_ERR_VERSION_NOT_FOUND);
	CHECK_ERR(skr_version_check("0123456789abcdef0123456789abcdef0"),
	    SKR_ERR_VERSION_NOT_FOUND);
	CHECK_ERR(skr_version_check("0123456789abcdef0123456789abcdeg"),
	    SKR_ERR_VERSION_NOT_FOUND);
	CHECK_OK(skr_version_check("0123456789abcdef0123456789abcdef"));
	CHECK_OK(skr_version_check("0123456789ABCDEF0123456789ABCDEF"));

	CHECK_OK(skr_version_generate(v1));
	CHECK_OK(skr_version_generate(v2));
	CHECK(strlen(v1) == 32 && strcmp(v1, v2) != 0);
	for (i = 0; i < 32; i++)
		CHECK((v1[i] >= '0' && v1[i] <= '9') ||
		    (v1[i] >= 'a' && v1[i] <= 'f'));
}

static void
test_masterkey(void)
{
	char path[256], link[256];
	skr_master_source *src = NULL;
	skr_master_key *a = NULL, *b = NULL, *d1 = NULL, *d2 = NULL, *d3 = NULL;
	uint8_t bytes[33] = { 0 };
	struct stat sb;
	int fd;

	snprintf(path, sizeof(path), "%s/master.key", dir_c);
	snprintf(link, sizeof(link), "%s/link.key", dir_c);
	CHECK_OK(skr_master_source_file(path, &src));
	/* Missing file. */
	CHECK_ERR(skr_master_load(src, &a), SKR_ERR_MASTER_KEY);
	CHECK(a == NULL);
	/* Create: 0600, 32 bytes, O_EXCL. */
	umask(0);
	CHECK_OK(skr_master_create(src, &a));
	umask(022);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600 &&
	    sb.st_size == 32);
	CHECK_ERR(skr_master_create(src, &b), SKR_ERR_MASTER_KEY);
	CHECK(b == NULL);
	CHECK_OK(skr_master_load(src, &b));
	CHECK(b != NULL && a != NULL && memcmp(skr_master_key_bytes(a),
	    skr_master_key_bytes(b), 32) == 0);
	skr_master_key_free(b);
	b = NULL;
	/* Group or other access refused, whatever the bits. */
	CHECK(chmod(path, 0644) == 0);
	CHECK_ERR(skr_master_load(src, &b), SKR_ERR_MASTER_KEY);
	CHECK(chmod(path, 0640) == 0);
	CHECK_ERR(skr_master_load(src, &b), SKR_ERR_MASTER_KEY);
	CHECK(chmod(path, 0602) == 0);
	CHECK_ERR(skr_master_load(src, &b), SKR_ERR_MASTER_KEY);
	CHECK(chmod(path, 0600) == 0);
	/* Wrong sizes. */
	CHECK(truncate(path, 31) == 0);
	CHECK_ERR(skr_master_load(src, &b), SKR_ERR_MASTER_KEY);
	CHECK(truncate(path, 33) == 0);
	CHECK_ERR(skr_master_load(src, &b), SKR_ERR_MASTER_KEY);
	CHECK(truncate(path, 0) == 0);
	CHECK_ERR(skr_master_load(src, &b), SKR_ERR_MASTER_KEY);
	CHECK(b == NULL);
	skr_master_source_free(src);
	src = NULL;
	/* A symlink is not followed. */
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && write(fd, bytes, 32) == 32);
	if (fd >= 0)
		close(fd);
	CHECK(symlink(path, link) == 0);
	CHECK_OK(skr_master_source_file(link, &src));
	CHECK_ERR(skr_master_load(src, &b), SKR_ERR_MASTER_KEY);
	skr_master_source_free(src);
	unlink(link);
	unlink(path);
	CHECK_ERR(skr_master_source_file("", &src), SKR_ERR_INVAL);

	/* In-memory keys and derivation. */
	CHECK_ERR(skr_master_key_from_bytes(bytes, 31, &b), SKR_ERR_INVAL);
	CHECK_ERR(skr_master_key_from_bytes(bytes, 33, &b), SKR_ERR_INVAL);
	CHECK_OK(skr_master_key_from_bytes(bytes, 32, &b));
	CHECK_OK(skr_master_key_derive(a, NULL, 0, "one", &d1));
	CHECK_OK(skr_master_key_derive(a, NULL, 0, "one", &d2));
	CHECK_OK(skr_master_key_derive(a, NULL, 0, "two", &d3));
	CHECK(memcmp(skr_master_key_bytes(d1), skr_master_key_bytes(d2), 32) ==
	    0);
	CHECK(memcmp(skr_master_key_bytes(d1), skr_master_key_bytes(d3), 32) !=
	    0);
	CHECK(memcmp(skr_master_key_bytes(d1), skr_master_key_bytes(a), 32) !=
	    0);
	skr_master_key_free(d2);
	CHECK_OK(skr_master_key_derive(b, NULL, 0, "one", &d2));
	CHECK(memcmp(skr_master_key_bytes(d1), skr_master_key_bytes(d2), 32) !=
	    0);
	skr_master_key_free(a);
	skr_master_key_free(b);
	skr_master_key_free(d1);
	skr_master_key_free(d2);
	skr_master_key_free(d3);
	skr_master_key_free(NULL);
}

static void
test_open(const skr_master_key *mk, const skr_master_key *other)
{
	skr_store *st = NULL, *st2 = NULL;
	skr_store_opts opts = { 0 };
	char p[256];
	struct stat sb;
	raw rw;
	skr_buf v = SKR_BUF_INIT;

	/* Nothing there yet. */
	CHECK_ERR(skr_store_open(dir_a, mk, NULL, &st), SKR_ERR_STORE);
	CHECK(st == NULL);
	opts.map_size = 64u << 20;
	CHECK_OK(skr_store_create(dir_a, mk, &opts, &st));
	snprintf(p, sizeof(p), "%s/skr.mdb", dir_a);
	CHECK(stat(p, &sb) == 0 && (sb.st_mode & 077) == 0);
	/* Never over an existing store, open or not. */
	CHECK_ERR(skr_store_create(dir_a, mk, NULL, &st2), SKR_ERR_CONFLICT);
	skr_store_close(st);
	st = NULL;
	CHECK_ERR(skr_store_create(dir_a, mk, NULL, &st2), SKR_ERR_CONFLICT);
	CHECK(st2 == NULL);
	/* Wrong master key. */
	CHECK_ERR(skr_store_open(dir_a, other, NULL, &st), SKR_ERR_SEAL_OPEN);
	CHECK(st == NULL);
	/* Unknown schema. */
	CHECK(raw_open(&rw, dir_a) == 0);
	CHECK(raw_get(&rw, "meta", "schema", 6, &v) == 0 && v.len == 1 &&
	    v.data[0] == '2');
	CHECK(raw_put(&rw, "meta", "schema", 6, "3", 1) == 0);
	raw_close(&rw, 1);
	CHECK_ERR(skr_store_open(dir_a, mk, NULL, &st), SKR_ERR_STORE_SCHEMA);
	CHECK(raw_open(&rw, dir_a) == 0);
	CHECK(raw_put(&rw, "meta", "schema", 6, "12", 2) == 0);
	raw_close(&rw, 1);
	CHECK_ERR(skr_store_open(dir_a, mk, NULL, &st), SKR_ERR_STORE_SCHEMA);
	CHECK(raw_open(&rw, dir_a) == 0);
	CHECK(raw_put(&rw, "meta", "schema", 6, "0", 1) == 0);
	raw_close(&rw, 1);
	CHECK_ERR(skr_store_open(dir_a, mk, NULL, &st), SKR_ERR_STORE_SCHEMA);
	CHECK(raw_open(&rw, dir_a) == 0);
	CHECK(raw_put(&rw, "meta", "schema", 6, "2", 1) == 0);
	raw_close(&rw, 1);
	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	skr_store_close(st);
	skr_buf_free(&v);
}

static void
test_keys(skr_store *st)
{
	skr_version_params p;
	skr_version_info vi, vi2;
	skr_txn *txn = NULL;
	skr_key *k = oct_key(1), *pub = NULL, *got = NULL;
	skr_buf a = SKR_BUF_INIT_SECRET, b = SKR_BUF_INIT_SECRET;
	json_t *tags, *ops;
	char ver[33], tagname[16];
	int i;

	params_init(&p);
	memset(&vi, 0, sizeof(vi));
	/* Writes need a write transaction. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_ERR(skr_store_version_add(txn, "k1", k, &p, 0, NOW, NULL),
	    SKR_ERR_INVAL);
	skr_store_txn_abort(txn);

	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_ERR(skr_store_version_add(txn, "bad_name", k, &p, 0, NOW, NULL),
	    SKR_ERR_KEY_NAME);
	CHECK_ERR(skr_store_version_add(txn, "k1", k, &p,
	    SKR_ADD_EXISTING_ONLY, NOW, NULL), SKR_ERR_KEY_NOT_FOUND);
	p.exportable = 1;
	CHECK_ERR(skr_store_version_add(txn, "k1", k, &p, 0, NOW, NULL),
	    SKR_ERR_KEY_POLICY_REQUIRED);
	p.exportable = 0;
	p.policy = policy_text;
	p.policy_len = strlen(policy_text);
	CHECK_ERR(skr_store_version_add(txn, "k1", k, &p, 0, NOW, NULL),
	    SKR_ERR_KEY_POLICY_FORBIDDEN);
	p.policy = NULL;
	p.policy_len = 0;
	tags = json_object();
	for (i = 0; i < 16; i++) {
		snprintf(tagname, sizeof(tagname), "t%d", i);
		json_object_set_new(tags, tagname, json_string("v"));
	}
	p.tags = tags;
	CHECK_ERR(skr_store_version_add(txn, "k1", k, &p, 0, NOW, NULL),
	    SKR_ERR_BAD_REQUEST);
	json_object_clear(tags);
	json_object_set_new(tags, "n", json_integer(1));
	CHECK_ERR(skr_store_version_add(txn, "k1", k, &p, 0, NOW, NULL),
	    SKR_ERR_BAD_REQUEST);
	json_object_clear(tags);
	json_object_set_new(tags, "purpose", json_string("store-test-tag"));
	ops = json_pack("[s]", "fly");
	p.key_ops = ops;
	CHECK_ERR(skr_store_version_add(txn, "k1", k, &p, 0, NOW, NULL),
	    SKR_ERR_BAD_REQUEST);
	json_decref(ops);
	ops = json_pack("[si]", "wrapKey", 7);
	p.key_ops = ops;
	CHECK_ERR(skr_store_version_add(txn, "k1", k, &p, 0, NOW, NULL),
	    SKR_ERR_BAD_REQUEST);
	json_decref(ops);
	ops = json_pack("[ss]", "wrapKey", "unwrapKey");
	p.key_ops = ops;
	/* A public-only key has nothing to seal. */
	CHECK_OK(skr_jwk_parse_text(ec_pub, strlen(ec_pub), SKR_JWK_PUBLIC,
	    &pub));
	if (pub != NULL)
		CHECK_ERR(skr_store_version_add(txn, "k1", pub, &p, 0, NOW,
		    NULL), SKR_ERR_KEY_NO_PRIVATE);
	skr_key_free(pub);

	CHECK_OK(skr_store_version_add(txn, "Key-One", k, &p,
	    SKR_ADD_CREATE_ONLY, NOW, &vi));
	CHECK_STR(vi.name, "Key-One");
	CHECK(strlen(vi.version) == 32);
	CHECK(vi.kty == SKR_KTY_OCT && vi.bits == 256 && vi.nversions == 1);
	CHECK(vi.attrs.enabled && vi.attrs.created == NOW &&
	    vi.attrs.updated == NOW && !vi.attrs.exportable);
	CHECK(json_array_size(vi.key_ops) == 2);
	CHECK_STR(json_string_value(json_object_get(vi.tags, "purpose")),
	    "store-test-tag");
	CHECK(json_object_get(vi.public_jwk, "k") == NULL);
	CHECK_STR(json_string_value(json_object_get(vi.public_jwk, "kty")),
	    "oct");
	strcpy(ver, vi.version);
	skr_version_info_clear(&vi);
	/* Names are case-insensitive. */
	CHECK_ERR(skr_store_version_add(txn, "key-one", k, &p,
	    SKR_ADD_CREATE_ONLY, NOW, NULL), SKR_ERR_KEY_CONFLICT);
	CHECK_OK(skr_store_txn_commit(txn));
	json_decref(ops);
	json_decref(tags);
	p.key_ops = NULL;
	p.tags = NULL;

	/* An aborted transaction leaves nothing. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_version_add(txn, "ghost", k, &p, 0, NOW, NULL));
	skr_store_txn_abort(txn);

	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_ERR(skr_store_version_get(txn, "ghost", NULL, &vi),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_ERR(skr_store_version_get(txn, "nope", NULL, &vi),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_ERR(skr_store_version_get(txn, "no pe", NULL, &vi),
	    SKR_ERR_KEY_NAME);
	CHECK_ERR(skr_store_version_get(txn, "KEY-ONE", "xyz", &vi),
	    SKR_ERR_VERSION_NOT_FOUND);
	CHECK_ERR(skr_store_version_get(txn, "KEY-ONE",
	    "00000000000000000000000000000000", &vi),
	    SKR_ERR_VERSION_NOT_FOUND);
	CHECK_OK(skr_store_version_get(txn, "KEY-ONE", NULL, &vi));
	CHECK_STR(vi.name, "Key-One");
	CHECK_STR(vi.version, ver);
	skr_version_info_clear(&vi);
	/* Version ids in either case. */
	for (i = 0; i < 32; i++)
		if (ver[i] >= 'a' && ver[i] <= 'f')
			ver[i] = (char)(ver[i] - 'a' + 'A');
	CHECK_OK(skr_store_version_get(txn, "key-one", ver, &vi2));
	skr_version_info_clear(&vi2);
	CHECK_OK(skr_store_version_open(txn, "key-one", ver, &got));
	CHECK(got != NULL);
	if (got != NULL) {
		CHECK_OK(skr_key_private_bytes(got, &a));
		CHECK_OK(skr_key_private_bytes(k, &b));
		CHECK_MEM(a.data, a.len, b.data, b.len);
		CHECK(skr_key_kid(got) == NULL);
	}
	skr_key_free(got);
	got = NULL;
	CHECK_ERR(skr_store_version_open(txn, "key-two", NULL, &got),
	    SKR_ERR_KEY_NOT_FOUND);
	skr_store_txn_abort(txn);
	skr_buf_free(&a);
	skr_buf_free(&b);
	skr_key_free(k);
}

static void
test_persistence(const skr_master_key *mk)
{
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	skr_version_info vi;
	skr_key *got = NULL;
	skr_buf a = SKR_BUF_INIT_SECRET;
	skr_key *k = oct_key(1);
	skr_buf b = SKR_BUF_INIT_SECRET;

	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st == NULL)
		return;
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_store_version_get(txn, "key-one", NULL, &vi));
	CHECK_STR(vi.name, "Key-One");
	skr_version_info_clear(&vi);
	CHECK_OK(skr_store_version_open(txn, "Key-One", NULL, &got));
	if (got != NULL) {
		CHECK_OK(skr_key_private_bytes(got, &a));
		CHECK_OK(skr_key_private_bytes(k, &b));
		CHECK_MEM(a.data, a.len, b.data, b.len);
	}
	skr_store_txn_abort(txn);
	skr_key_free(got);
	skr_key_free(k);
	skr_buf_free(&a);
	skr_buf_free(&b);
	skr_store_close(st);
}

static void
test_current(skr_store *st)
{
	skr_version_params p;
	skr_version_update u;
	skr_version_info vi;
	skr_txn *txn = NULL;
	char v1[33], v2[33], v3[33];

	params_init(&p);
	CHECK_OK(add_oct(st, "cur", 1, &p, v1));
	p.enabled = 0;
	CHECK_OK(add_oct(st, "cur", 2, &p, v2));
	p.enabled = 1;
	p.nbf = NOW + 100;
	CHECK_OK(add_oct(st, "cur", 3, &p, v3));

	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_store_version_latest(txn, "cur", &vi));
	CHECK_STR(vi.version, v3);
	CHECK(vi.nversions == 3);
	skr_version_info_clear(&vi);
	/* v3 not yet valid, v2 disabled: v1. */
	CHECK_OK(skr_store_version_current(txn, "cur", NOW, &vi));
	CHECK_STR(vi.version, v1);
	skr_version_info_clear(&vi);
	CHECK_OK(skr_store_version_current(txn, "cur", NOW + 100, &vi));
	CHECK_STR(vi.version, v3);
	skr_version_info_clear(&vi);
	CHECK_ERR(skr_store_version_current(txn, "cur-x", NOW, &vi),
	    SKR_ERR_KEY_NOT_FOUND);
	skr_store_txn_abort(txn);

	/* Expire v3 and disable v1: nothing current. */
	memset(&u, 0, sizeof(u));
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	u.fields = SKR_UPD_EXP;
	u.exp = NOW + 200;
	CHECK_OK(skr_store_version_update(txn, "cur", v3, &u, NOW + 1, NULL));
	u.fields = SKR_UPD_ENABLED;
	u.enabled = 0;
	CHECK_OK(skr_store_version_update(txn, "cur", v1, &u, NOW + 1, &vi));
	CHECK(!vi.attrs.enabled && vi.attrs.updated == NOW + 1 &&
	    vi.attrs.created == NOW);
	skr_version_info_clear(&vi);
	CHECK_OK(skr_store_version_current(txn, "cur", NOW + 150, &vi));
	CHECK_STR(vi.version, v3);
	skr_version_info_clear(&vi);
	CHECK_ERR(skr_store_version_current(txn, "cur", NOW + 200, &vi),
	    SKR_ERR_KEY_DISABLED);
	CHECK_ERR(skr_store_version_current(txn, "cur", NOW, &vi),
	    SKR_ERR_KEY_DISABLED);
	CHECK_OK(skr_store_txn_commit(txn));
}

static void
test_update(skr_store *st)
{
	skr_version_params p;
	skr_version_update u;
	skr_version_info vi;
	skr_txn *txn = NULL;
	static const char other[] = "{\"version\":\"1.0.0\",\"anyOf\":[]}";
	char v[33];
	json_t *tags;

	params_init(&p);
	p.exportable = 1;
	p.policy = policy_text;
	p.policy_len = strlen(policy_text);
	CHECK_OK(add_oct(st, "exp", 5, &p, v));
	memset(&u, 0, sizeof(u));
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	u.fields = SKR_UPD_EXPORTABLE;
	u.exportable = 0;
	CHECK_ERR(skr_store_version_update(txn, "exp", NULL, &u, NOW, NULL),
	    SKR_ERR_KEY_EXPORTABLE_FIXED);
	u.exportable = 1;
	CHECK_OK(skr_store_version_update(txn, "exp", NULL, &u, NOW, NULL));
	u.fields = SKR_UPD_POLICY;
	u.policy = NULL;
	CHECK_ERR(skr_store_version_update(txn, "exp", NULL, &u, NOW, NULL),
	    SKR_ERR_KEY_POLICY_REQUIRED);
	u.policy = other;
	u.policy_len = strlen(other);
	u.policy_immutable = 1;
	CHECK_OK(skr_store_version_update(txn, "exp", v, &u, NOW + 5, &vi));
	CHECK(vi.policy != NULL && vi.policy_len == strlen(other) &&
	    strcmp(vi.policy, other) == 0 && vi.policy_immutable);
	skr_version_info_clear(&vi);
	/* Immutable: neither changed, removed nor made mutable. */
	u.policy = policy_text;
	u.policy_len = strlen(policy_text);
	CHECK_ERR(skr_store_version_update(txn, "exp", v, &u, NOW, NULL),
	    SKR_ERR_KEY_POLICY_IMMUTABLE);
	u.policy = other;
	u.policy_len = strlen(other);
	u.policy_immutable = 0;
	CHECK_ERR(skr_store_version_update(txn, "exp", v, &u, NOW, NULL),
	    SKR_ERR_KEY_POLICY_IMMUTABLE);
	u.policy_immutable = 1;
	CHECK_OK(skr_store_version_update(txn, "exp", v, &u, NOW, NULL));
	/* Tags and key_ops. */
	tags = json_pack("{ss}", "env", "prod");
	u.fields = SKR_UPD_TAGS;
	u.tags = tags;
	CHECK_OK(skr_store_version_update(txn, "exp", v, &u, NOW, &vi));
	CHECK_STR(json_string_value(json_object_get(vi.tags, "env")), "prod");
	skr_version_info_clear(&vi);
	json_object_set_new(tags, "bad", json_true());
	CHECK_ERR(skr_store_version_update(txn, "exp", v, &u, NOW, NULL),
	    SKR_ERR_BAD_REQUEST);
	json_decref(tags);
	/* A non-exportable key cannot take a policy. */
	CHECK_OK(skr_store_txn_commit(txn));
	params_init(&p);
	CHECK_OK(add_oct(st, "noexp", 6, &p, NULL));
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	memset(&u, 0, sizeof(u));
	u.fields = SKR_UPD_POLICY;
	u.policy = other;
	u.policy_len = strlen(other);
	CHECK_ERR(skr_store_version_update(txn, "noexp", NULL, &u, NOW, NULL),
	    SKR_ERR_KEY_POLICY_FORBIDDEN);
	CHECK_OK(skr_store_txn_commit(txn));
}

static void
test_paging(const skr_master_key *mk)
{
	skr_store *st = NULL;
	skr_version_page pg;
	skr_txn *txn = NULL;
	char name[16], vers[3][33], *m1 = NULL, *mv = NULL;
	size_t i, total;
	int r, pages;

	CHECK_OK(skr_store_create(dir_b, mk, NULL, &st));
	if (st == NULL)
		return;
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "page-%zu", i);
		CHECK_OK(add_oct(st, name, (uint8_t)i, NULL, NULL));
	}
	for (i = 0; i < 3; i++)
		CHECK_OK(add_oct(st, "multi", (uint8_t)(10 + i), NULL,
		    vers[i]));
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	/* maxresults 1: six pages of one (5 page-* keys + multi). */
	memset(&pg, 0, sizeof(pg));
	total = 0;
	pages = 0;
	r = skr_store_key_list(txn, NULL, NULL, 1, &pg);
	while (r == SKR_OK) {
		pages++;
		total += pg.n;
		CHECK(pg.n == 1);
		if (pages == 1)
			CHECK_STR(pg.items[0].name, "multi");
		if (pg.next == NULL)
			break;
		if (pages == 1)
			m1 = strdup(pg.next);
		{
			char *next = strdup(pg.next);
			skr_version_page_clear(&pg);
			r = skr_store_key_list(txn, NULL, next, 1, &pg);
			free(next);
		}
	}
	CHECK_OK(r);
	CHECK(pages == 6 && total == 6);
	skr_version_page_clear(&pg);
	/* Exact page boundary: six keys in a page of six -> no next. */
	CHECK_OK(skr_store_key_list(txn, NULL, NULL, 6, &pg));
	CHECK(pg.n == 6 && pg.next == NULL);
	skr_version_page_clear(&pg);
	CHECK_OK(skr_store_key_list(txn, NULL, NULL, 5, &pg));
	CHECK(pg.n == 5 && pg.next != NULL);
	skr_version_page_clear(&pg);
	/* Over the limit is clamped, 0 is the default. */
	CHECK_OK(skr_store_key_list(txn, NULL, NULL, 1000, &pg));
	CHECK(pg.n == 6 && pg.next == NULL);
	skr_version_page_clear(&pg);
	CHECK_OK(skr_store_key_list(txn, NULL, NULL, 0, &pg));
	CHECK(pg.n == 6);
	skr_version_page_clear(&pg);
	/* Tampered, foreign and garbage markers. */
	if (m1 != NULL) {
		char *t = strdup(m1);
		t[3] = t[3] == 'A' ? 'B' : 'A';
		CHECK_ERR(skr_store_key_list(txn, NULL, t, 1, &pg),
		    SKR_ERR_BAD_REQUEST);
		t[3] = m1[3];
		t[strlen(t) - 1] = t[strlen(t) - 1] == 'A' ? 'Q' : 'A';
		CHECK_ERR(skr_store_key_list(txn, NULL, t, 1, &pg),
		    SKR_ERR_BAD_REQUEST);
		free(t);
		CHECK_ERR(skr_store_deleted_list(txn, NULL, m1, 1, &pg),
		    SKR_ERR_BAD_REQUEST);
		CHECK_ERR(skr_store_version_list(txn, NULL, "multi", m1, 1,
		    &pg), SKR_ERR_BAD_REQUEST);
		CHECK_OK(skr_store_key_list(txn, NULL, m1, 1, &pg));
		skr_version_page_clear(&pg);
	}
	/* A marker is sealed: it shows nothing of the key it follows, and
	 * opens only with the binding it was made with. */
	if (m1 != NULL) {
		skr_buf text = SKR_BUF_INIT;
		char *bound = NULL;

		CHECK_OK(skr_b64url_decode(&text, m1, strlen(m1)));
		CHECK(memmem(text.data, text.len, "multi", 5) == NULL);
		skr_buf_free(&text);
		CHECK_OK(skr_store_key_list(txn, "token-a", NULL, 1, &pg));
		CHECK(pg.next != NULL && strcmp(pg.next, m1) != 0);
		if (pg.next != NULL)
			bound = strdup(pg.next);
		skr_version_page_clear(&pg);
		CHECK_OK(skr_store_key_list(txn, "token-a", bound, 1, &pg));
		CHECK(pg.n == 1);
		skr_version_page_clear(&pg);
		CHECK_ERR(skr_store_key_list(txn, "token-b", bound, 1, &pg),
		    SKR_ERR_BAD_REQUEST);
		CHECK_ERR(skr_store_key_list(txn, NULL, bound, 1, &pg),
		    SKR_ERR_BAD_REQUEST);
		CHECK_ERR(skr_store_key_list(txn, "token-a", m1, 1, &pg),
		    SKR_ERR_BAD_REQUEST);
		free(bound);
	}
	CHECK_ERR(skr_store_key_list(txn, NULL, "not a marker!", 1, &pg),
	    SKR_ERR_BAD_REQUEST);
	CHECK_ERR(skr_store_key_list(txn, NULL, "AAAA", 1, &pg),
	    SKR_ERR_BAD_REQUEST);
	CHECK(pg.n == 0 && pg.items == NULL && pg.next == NULL);

	/* Versions in creation order. */
	CHECK_OK(skr_store_version_list(txn, NULL, "MULTI", NULL, 3, &pg));
	CHECK(pg.n == 3 && pg.next == NULL);
	if (pg.n == 3)
		for (i = 0; i < 3; i++)
			CHECK_STR(pg.items[i].version, vers[i]);
	skr_version_page_clear(&pg);
	CHECK_OK(skr_store_version_list(txn, NULL, "multi", NULL, 2, &pg));
	CHECK(pg.n == 2 && pg.next != NULL);
	if (pg.next != NULL)
		mv = strdup(pg.next);
	skr_version_page_clear(&pg);
	CHECK_OK(skr_store_version_list(txn, NULL, "multi", mv, 2, &pg));
	CHECK(pg.n == 1 && pg.next == NULL);
	if (pg.n == 1)
		CHECK_STR(pg.items[0].version, vers[2]);
	skr_version_page_clear(&pg);
	/* A version marker replayed against another key. */
	CHECK_ERR(skr_store_version_list(txn, NULL, "page-1", mv, 2, &pg),
	    SKR_ERR_BAD_REQUEST);
	CHECK_ERR(skr_store_key_list(txn, NULL, mv, 2, &pg),
	    SKR_ERR_BAD_REQUEST);
	CHECK_ERR(skr_store_version_list(txn, NULL, "absent", NULL, 2, &pg),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_OK(skr_store_version_list(txn, NULL, "page-1", NULL, 1, &pg));
	CHECK(pg.n == 1 && pg.next == NULL);
	skr_version_page_clear(&pg);
	skr_store_txn_abort(txn);
	free(m1);
	free(mv);
	skr_store_close(st);
	skr_test_rmrf(dir_b);
	mkdir(dir_b, 0700);
}

static void
test_delete(skr_store *st)
{
	skr_version_info vi;
	skr_version_page pg;
	skr_txn *txn = NULL;
	size_t n, i;
	uint8_t needle[32];
	int found;

	for (i = 0; i < 32; i++)
		needle[i] = (uint8_t)(oct_bytes[i] ^ 0x77);
	CHECK_OK(add_oct(st, "doomed", 0x77, NULL, NULL));
	CHECK(file_has(dir_a, "doomed", 6) == 1); /* the scan works */
	CHECK(file_has(dir_a, needle, 32) == 0);

	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_ERR(skr_store_key_purge(txn, "doomed"), SKR_ERR_KEY_NOT_FOUND);
	CHECK_ERR(skr_store_key_recover(txn, "doomed", NULL),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_ERR(skr_store_key_delete(txn, "absent", NOW, 0, NULL),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_OK(skr_store_key_delete(txn, "Doomed", NOW, 3600, &vi));
	CHECK(vi.deleted && vi.deleted_date == NOW &&
	    vi.scheduled_purge_date == NOW + 3600);
	skr_version_info_clear(&vi);
	CHECK_ERR(skr_store_version_get(txn, "doomed", NULL, &vi),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_ERR(skr_store_key_delete(txn, "doomed", NOW, 0, NULL),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_OK(skr_store_deleted_get(txn, "doomed", &vi));
	CHECK_STR(vi.name, "doomed");
	CHECK(vi.deleted);
	skr_version_info_clear(&vi);
	CHECK_OK(skr_store_deleted_list(txn, NULL, NULL, 0, &pg));
	CHECK(pg.n == 1 && pg.next == NULL);
	skr_version_page_clear(&pg);
	CHECK_OK(skr_store_key_list(txn, NULL, NULL, 25, &pg));
	for (i = 0; i < pg.n; i++)
		CHECK(strcmp(pg.items[i].name, "doomed") != 0);
	skr_version_page_clear(&pg);
	CHECK_OK(skr_store_txn_commit(txn));
	/* The name stays taken. */
	CHECK_ERR(add_oct(st, "doomed", 1, NULL, NULL), SKR_ERR_KEY_DELETED);

	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_key_recover(txn, "DOOMED", &vi));
	CHECK(!vi.deleted);
	skr_version_info_clear(&vi);
	CHECK_OK(skr_store_version_get(txn, "doomed", NULL, &vi));
	skr_version_info_clear(&vi);
	CHECK_ERR(skr_store_deleted_get(txn, "doomed", &vi),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_OK(skr_store_key_delete(txn, "doomed", NOW, 3600, NULL));
	CHECK_OK(skr_store_key_purge(txn, "doomed"));
	CHECK_ERR(skr_store_deleted_get(txn, "doomed", &vi),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_ERR(skr_store_key_purge(txn, "doomed"), SKR_ERR_KEY_NOT_FOUND);
	CHECK_OK(skr_store_txn_commit(txn));
	CHECK(file_has(dir_a, needle, 32) == 0);
	/* The name is free again: a new key. */
	CHECK_OK(add_oct(st, "doomed", 2, NULL, NULL));

	/* Scheduled purge. */
	CHECK_OK(add_oct(st, "later", 3, NULL, NULL));
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_key_delete(txn, "doomed", NOW, 100, NULL));
	CHECK_OK(skr_store_key_delete(txn, "later", NOW, 500, NULL));
	CHECK_OK(skr_store_purge_expired(txn, NOW + 99, 0, NULL, &n));
	CHECK(n == 0);
	{
		char names[2][SKR_KEY_NAME_MAX + 1];

		CHECK_ERR(skr_store_purge_expired(txn, NOW + 100, 0, names,
		    &n), SKR_ERR_INVAL);
		CHECK_OK(skr_store_purge_expired(txn, NOW + 100, 2, names,
		    &n));
		CHECK(n == 1 && strcmp(names[0], "doomed") == 0);
	}
	CHECK_ERR(skr_store_deleted_get(txn, "doomed", &vi),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_OK(skr_store_deleted_get(txn, "later", &vi));
	skr_version_info_clear(&vi);
	CHECK_OK(skr_store_purge_expired(txn, NOW + 1000, 0, NULL, &n));
	CHECK(n == 1);
	CHECK_OK(skr_store_txn_commit(txn));
	found = file_has(dir_a, needle, 32);
	CHECK(found == 0);
}

/* purgeq key: i64 BE date | folded name (docs/store.md). */
static size_t
qkey(int64_t date, const char *lc, uint8_t *k)
{
	for (int i = 0; i < 8; i++)
		k[i] = (uint8_t)((uint64_t)date >> (56 - 8 * i));
	memcpy(k + 8, lc, strlen(lc));
	return 8 + strlen(lc);
}

static long
purgeq_entries(const char *dir)
{
	raw rw;
	long n;

	if (raw_open(&rw, dir) != 0)
		return -1;
	n = raw_count(&rw, "purgeq");
	raw_close(&rw, 0);
	return n;
}

/*
 * Scheduled purges go by the purge-date index: earliest first, only what is
 * due, a recovered key leaves the index, an index entry never purges a key
 * on its own (the deleted record's date under its MAC decides), and a
 * schema 1 store is indexed when it is opened.
 */
static void
test_purge_index(const skr_master_key *mk)
{
	static const char *const names[] = { "p-a", "p-b", "p-c", "p-d",
	    "p-e", "p-f" };
	static const int64_t keep[] = { 300, 100, 200, 400, 1000, 50 };
	char got[8][SKR_KEY_NAME_MAX + 1];
	uint8_t k[64];
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	skr_version_info vi;
	skr_buf v = SKR_BUF_INIT;
	size_t i, n = 0;
	long before;
	raw rw;

	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st == NULL)
		return;
	for (i = 0; i < 6; i++)
		CHECK_OK(add_oct(st, names[i], (uint8_t)(40 + i), NULL, NULL));
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	for (i = 0; i < 4; i++)
		CHECK_OK(skr_store_key_delete(txn, names[i], NOW, keep[i],
		    NULL));
	CHECK_OK(skr_store_txn_commit(txn));

	/* Due by NOW + 250: p-b then p-c, in date order (at most max at a
	 * time), not p-a or p-d. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_purge_expired(txn, NOW + 250, 1, got, &n));
	CHECK(n == 1 && strcmp(got[0], "p-b") == 0);
	CHECK_OK(skr_store_purge_expired(txn, NOW + 250, 8, got, &n));
	CHECK(n == 1 && strcmp(got[0], "p-c") == 0);
	CHECK_OK(skr_store_key_recover(txn, "p-a", NULL));
	CHECK_OK(skr_store_txn_commit(txn));
	skr_store_close(st);
	st = NULL;
	/* p-d alone is left in the index (p-a was recovered). */
	CHECK(purgeq_entries(dir_a) == 1);

	/* Entries that must not purge anything: one without a valid MAC for
	 * a live key, one with a valid MAC for a key that is not deleted,
	 * and one with a valid MAC but an earlier date than p-e's record. */
	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st == NULL)
		return;
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_key_delete(txn, "p-e", NOW, 1000, NULL));
	CHECK_OK(skr_store_txn_commit(txn));
	skr_store_close(st);
	st = NULL;
	CHECK(raw_open(&rw, dir_a) == 0);
	CHECK(raw_put(&rw, "purgeq", k, qkey(NOW, "p-a", k), "", 0) == 0);
	skr_buf_reset(&v);
	mac_append(mk, "purgeq", k, qkey(NOW, "p-f", k), &v);
	CHECK(raw_put(&rw, "purgeq", k, qkey(NOW, "p-f", k), v.data,
	    v.len) == 0);
	skr_buf_reset(&v);
	mac_append(mk, "purgeq", k, qkey(NOW + 1, "p-e", k), &v);
	CHECK(raw_put(&rw, "purgeq", k, qkey(NOW + 1, "p-e", k), v.data,
	    v.len) == 0);
	before = raw_count(&rw, "purgeq");
	raw_close(&rw, 1);
	CHECK(before == 5);
	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st == NULL)
		return;
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_purge_expired(txn, NOW + 10, 8, got, &n));
	CHECK(n == 0);
	CHECK_OK(skr_store_version_get(txn, "p-a", NULL, &vi));
	skr_version_info_clear(&vi);
	CHECK_OK(skr_store_deleted_get(txn, "p-e", &vi));
	skr_version_info_clear(&vi);
	CHECK_OK(skr_store_txn_commit(txn));
	skr_store_close(st);
	st = NULL;
	/* The two MAC-valid stale entries went; the forged one is left. */
	CHECK(purgeq_entries(dir_a) == 3);

	/* A schema 1 store: no index.  Opening it builds one. */
	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st == NULL)
		return;
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_key_delete(txn, "p-f", NOW, 50, NULL));
	CHECK_OK(skr_store_txn_commit(txn));
	skr_store_close(st);
	st = NULL;
	CHECK(raw_open(&rw, dir_a) == 0);
	CHECK(raw_drop(&rw, "purgeq") == 0);
	CHECK(raw_put(&rw, "meta", "schema", 6, "1", 1) == 0);
	raw_close(&rw, 1);
	CHECK(purgeq_entries(dir_a) == -1);
	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st == NULL)
		return;
	skr_store_close(st);
	st = NULL;
	CHECK(raw_open(&rw, dir_a) == 0);
	CHECK(raw_get(&rw, "meta", "schema", 6, &v) == 0 && v.len == 1 &&
	    v.data[0] == '2');
	CHECK(raw_count(&rw, "purgeq") == 3);   /* p-d, p-e, p-f */
	raw_close(&rw, 0);
	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st == NULL)
		return;
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_purge_expired(txn, NOW + 500, 8, got, &n));
	CHECK(n == 2 && strcmp(got[0], "p-f") == 0 &&
	    strcmp(got[1], "p-d") == 0);
	CHECK_OK(skr_store_purge_expired(txn, NOW + 1000, 0, NULL, &n));
	CHECK(n == 1);
	CHECK_ERR(skr_store_deleted_get(txn, "p-e", &vi),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_OK(skr_store_txn_commit(txn));
	skr_store_close(st);
	CHECK(purgeq_entries(dir_a) == 0);
	skr_buf_free(&v);
}

/* RSA: the private exponent never reaches the file. */
static void
test_rsa_material(skr_store *st)
{
	skr_version_params p;
	skr_txn *txn = NULL;
	skr_key *k = NULL, *got = NULL;
	skr_buf d = SKR_BUF_INIT_SECRET, a = SKR_BUF_INIT_SECRET,
	    b = SKR_BUF_INIT_SECRET;
	json_t *jwk;
	const char *ds;

	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &k));
	if (k == NULL)
		return;
	jwk = skr_jwk_emit(k, 1);
	ds = json_string_value(json_object_get(jwk, "d"));
	CHECK(ds != NULL);
	if (ds != NULL)
		CHECK_OK(skr_b64url_decode(&d, ds, strlen(ds)));
	json_decref(jwk);
	params_init(&p);
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_version_add(txn, "rsa", k, &p, 0, NOW, NULL));
	CHECK_OK(skr_store_txn_commit(txn));
	CHECK(d.len >= 200 && file_has(dir_a, d.data, 64) == 0);
	CHECK(file_has(dir_a, d.data + d.len - 64, 64) == 0);
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_store_version_open(txn, "rsa", NULL, &got));
	skr_store_txn_abort(txn);
	if (got != NULL) {
		CHECK(skr_key_kty(got) == SKR_KTY_RSA &&
		    skr_key_bits(got) == 2048);
		CHECK_OK(skr_key_private_bytes(got, &a));
		CHECK_OK(skr_key_private_bytes(k, &b));
		CHECK_MEM(a.data, a.len, b.data, b.len);
	}
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_key_delete(txn, "rsa", NOW, 0, NULL));
	CHECK_OK(skr_store_txn_commit(txn));
	CHECK(file_has(dir_a, d.data, 64) == 0);
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_key_purge(txn, "rsa"));
	CHECK_OK(skr_store_txn_commit(txn));
	CHECK(file_has(dir_a, d.data, 64) == 0);
	skr_key_free(k);
	skr_key_free(got);
	skr_buf_free(&d);
	skr_buf_free(&a);
	skr_buf_free(&b);
}

/* Split a versions value into meta part and sealed part (MAC dropped). */
static int
split_version(const skr_buf *v, size_t *metaend)
{
	uint32_t ml;

	if (v->len < 4 + 32)
		return -1;
	ml = (uint32_t)v->data[0] << 24 | (uint32_t)v->data[1] << 16 |
	    (uint32_t)v->data[2] << 8 | v->data[3];
	if (ml > v->len - 4 - 32)
		return -1;
	*metaend = 4 + ml;
	return 0;
}

/* Replace the sealed part of (lc_dst, seq_dst) with the sealed part of
 * (lc_src, seq_src), optionally flipping a byte; with a valid MAC when
 * remac, so only the seal's own binding can catch it. */
static int
move_sealed(const skr_master_key *mk, const char *lc_src, uint32_t seq_src,
    const char *lc_dst, uint32_t seq_dst, int flip, int remac)
{
	skr_buf src = SKR_BUF_INIT, dst = SKR_BUF_INIT, out = SKR_BUF_INIT;
	uint8_t ks[160], kd[160];
	size_t kls = vkey(lc_src, seq_src, ks), kld = vkey(lc_dst, seq_dst, kd);
	size_t ms, md;
	raw rw;
	int rc = -1;

	if (raw_open(&rw, dir_a) != 0)
		return -1;
	if (raw_get(&rw, "versions", ks, kls, &src) != 0 ||
	    raw_get(&rw, "versions", kd, kld, &dst) != 0 ||
	    split_version(&src, &ms) != 0 || split_version(&dst, &md) != 0)
		goto out;
	skr_buf_append(&out, dst.data, md);
	skr_buf_append(&out, src.data + ms, src.len - 32 - ms);
	if (flip)
		out.data[out.len - 20] ^= 0x01;
	if (remac)
		mac_append(mk, "versions", kd, kld, &out);
	else
		skr_buf_append(&out, dst.data + dst.len - 32, 32);
	rc = raw_put(&rw, "versions", kd, kld, out.data, out.len);
out:
	raw_close(&rw, rc == 0);
	skr_buf_free(&src);
	skr_buf_free(&dst);
	skr_buf_free(&out);
	return rc;
}

static int
open_version(const skr_master_key *mk, const char *name, uint32_t nth)
{
	skr_store *st = NULL;
	skr_version_page pg;
	skr_txn *txn = NULL;
	skr_key *k = NULL;
	int r;

	if ((r = skr_store_open(dir_a, mk, NULL, &st)) != SKR_OK)
		return r;
	if ((r = skr_store_txn_begin(st, SKR_TXN_READ, &txn)) == SKR_OK) {
		memset(&pg, 0, sizeof(pg));
		r = skr_store_version_list(txn, NULL, name, NULL, 25, &pg);
		if (r == SKR_OK && pg.n < nth)
			r = SKR_ERR_INTERNAL;
		if (r == SKR_OK)
			r = skr_store_version_open(txn, name,
			    pg.items[nth - 1].version, &k);
		skr_version_page_clear(&pg);
		skr_store_txn_abort(txn);
	}
	skr_key_free(k);
	skr_store_close(st);
	return r;
}

static void
test_binding(const skr_master_key *mk)
{
	skr_store *st = NULL;
	skr_buf rec = SKR_BUF_INIT, out = SKR_BUF_INIT;
	raw rw;

	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st == NULL)
		return;
	CHECK_OK(add_oct(st, "bind-x", 0x11, NULL, NULL));
	CHECK_OK(add_oct(st, "bind-x", 0x12, NULL, NULL));
	CHECK_OK(add_oct(st, "bind-x", 0x13, NULL, NULL));
	CHECK_OK(add_oct(st, "bind-y", 0x21, NULL, NULL));
	CHECK_OK(add_oct(st, "bind-z", 0x31, NULL, NULL));
	CHECK_OK(add_oct(st, "bind-w", 0x41, NULL, NULL));
	skr_store_close(st);

	CHECK_OK(open_version(mk, "bind-x", 2));
	/* Another version's blob, even with a valid record MAC. */
	CHECK(move_sealed(mk, "bind-x", 1, "bind-x", 2, 0, 1) == 0);
	CHECK_ERR(open_version(mk, "bind-x", 2), SKR_ERR_SEAL_OPEN);
	CHECK_OK(open_version(mk, "bind-x", 1));
	/* Another key's blob. */
	CHECK(move_sealed(mk, "bind-x", 1, "bind-y", 1, 0, 1) == 0);
	CHECK_ERR(open_version(mk, "bind-y", 1), SKR_ERR_SEAL_OPEN);
	/* A flipped byte. */
	CHECK_OK(open_version(mk, "bind-x", 3));
	CHECK(move_sealed(mk, "bind-x", 3, "bind-x", 3, 1, 1) == 0);
	CHECK_ERR(open_version(mk, "bind-x", 3), SKR_ERR_SEAL_OPEN);
	/* Without a fresh MAC the record itself is refused. */
	CHECK_OK(open_version(mk, "bind-z", 1));
	CHECK(move_sealed(mk, "bind-x", 1, "bind-z", 1, 0, 0) == 0);
	CHECK_ERR(open_version(mk, "bind-z", 1), SKR_ERR_SEAL_OPEN);

	/* A data key moved to another key's record (with a valid MAC). */
	CHECK_OK(open_version(mk, "bind-w", 1));
	CHECK(raw_open(&rw, dir_a) == 0);
	CHECK(raw_get(&rw, "keys", "bind-x", 6, &rec) == 0);
	if (rec.len > 32) {
		json_t *jx = json_loadb((char *)rec.data, rec.len - 32, 0, NULL);
		skr_buf ry = SKR_BUF_INIT;
		json_t *jy = NULL;
		char *s;

		if (raw_get(&rw, "keys", "bind-w", 6, &ry) == 0)
			jy = json_loadb((char *)ry.data, ry.len - 32, 0, NULL);
		CHECK(jx != NULL && jy != NULL);
		if (jx != NULL && jy != NULL) {
			json_object_set(jy, "dek", json_object_get(jx, "dek"));
			s = json_dumps(jy, JSON_COMPACT | JSON_SORT_KEYS);
			skr_buf_append_str(&out, s);
			free(s);
			mac_append(mk, "keys", "bind-w", 6, &out);
			CHECK(raw_put(&rw, "keys", "bind-w", 6, out.data,
			    out.len) == 0);
		}
		json_decref(jx);
		json_decref(jy);
		skr_buf_free(&ry);
	}
	raw_close(&rw, 1);
	CHECK_ERR(open_version(mk, "bind-w", 1), SKR_ERR_SEAL_OPEN);

	/* Metadata (say, a policy) edited on disk without the master key. */
	CHECK(raw_open(&rw, dir_a) == 0);
	{
		uint8_t k[160];
		size_t kl = vkey("bind-x", 1, k);
		CHECK(raw_get(&rw, "versions", k, kl, &rec) == 0 && rec.len > 40);
		if (rec.len > 40) {
			rec.data[10] ^= 0x20;
			CHECK(raw_put(&rw, "versions", k, kl, rec.data,
			    rec.len) == 0);
		}
	}
	raw_close(&rw, 1);
	CHECK_ERR(open_version(mk, "bind-x", 1), SKR_ERR_SEAL_OPEN);

	/* Clean up so later tests list a tidy store. */
	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st != NULL) {
		skr_txn *txn = NULL;
		CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
		CHECK_OK(skr_store_key_delete(txn, "bind-y", NOW, 0, NULL));
		CHECK_OK(skr_store_key_purge(txn, "bind-y"));
		CHECK_OK(skr_store_key_delete(txn, "bind-z", NOW, 0, NULL));
		CHECK_OK(skr_store_key_purge(txn, "bind-z"));
		CHECK_OK(skr_store_key_delete(txn, "bind-w", NOW, 0, NULL));
		CHECK_OK(skr_store_key_purge(txn, "bind-w"));
		CHECK_OK(skr_store_txn_commit(txn));
		skr_store_close(st);
	}
	skr_buf_free(&rec);
	skr_buf_free(&out);
}

static void
test_backup(const skr_master_key *mk, const skr_master_key *other)
{
	skr_store *a = NULL, *b = NULL, *c = NULL;
	skr_version_params p;
	skr_version_info vi, vj;
	skr_store_stats s1, s2;
	skr_txn *txn = NULL;
	skr_buf blob = SKR_BUF_INIT, x = SKR_BUF_INIT_SECRET,
	    y = SKR_BUF_INIT_SECRET;
	skr_key *ka = NULL, *kb = NULL;
	char v1[33], v2[33];
	json_t *tags;

	CHECK_OK(skr_store_open(dir_a, mk, NULL, &a));
	CHECK_OK(skr_store_create(dir_b, mk, NULL, &b));
	CHECK_OK(skr_store_create(dir_c, other, NULL, &c));
	if (a == NULL || b == NULL || c == NULL)
		goto out;
	params_init(&p);
	tags = json_pack("{ss}", "team", "blue");
	p.tags = tags;
	p.exportable = 1;
	p.policy = policy_text;
	p.policy_len = strlen(policy_text);
	p.policy_immutable = 1;
	p.nbf = NOW - 10;
	CHECK_OK(add_oct(a, "Backed", 0x41, &p, v1));
	p.enabled = 0;
	CHECK_OK(add_oct(a, "Backed", 0x42, &p, v2));
	json_decref(tags);

	CHECK_OK(skr_store_txn_begin(a, SKR_TXN_READ, &txn));
	CHECK_ERR(skr_store_backup(txn, "nothing", &blob),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_OK(skr_store_backup(txn, "backed", &blob));
	skr_store_txn_abort(txn);
	CHECK(blob.len > 100);
	CHECK(file_has(dir_a, blob.data + 40, 32) == 0);

	/* Into a fresh store with the same master key. */
	CHECK_OK(skr_store_txn_begin(b, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_restore(txn, blob.data, blob.len, &vi));
	CHECK_STR(vi.name, "Backed");
	CHECK_STR(vi.version, v2);
	CHECK(vi.nversions == 2 && !vi.attrs.enabled);
	skr_version_info_clear(&vi);
	CHECK_OK(skr_store_txn_commit(txn));
	CHECK_OK(skr_store_txn_begin(b, SKR_TXN_READ, &txn));
	CHECK_OK(skr_store_version_get(txn, "backed", v1, &vi));
	CHECK(vi.attrs.enabled && vi.attrs.exportable && vi.policy_immutable &&
	    vi.attrs.nbf == NOW - 10 && vi.attrs.created == NOW);
	CHECK(vi.policy != NULL && strcmp(vi.policy, policy_text) == 0);
	CHECK_STR(json_string_value(json_object_get(vi.tags, "team")), "blue");
	skr_version_info_clear(&vi);
	CHECK_OK(skr_store_version_open(txn, "backed", v1, &kb));
	skr_store_txn_abort(txn);
	CHECK_OK(skr_store_txn_begin(a, SKR_TXN_READ, &txn));
	CHECK_OK(skr_store_version_open(txn, "backed", v1, &ka));
	CHECK_OK(skr_store_version_get(txn, "backed", v2, &vj));
	skr_version_info_clear(&vj);
	skr_store_txn_abort(txn);
	if (ka != NULL && kb != NULL) {
		CHECK_OK(skr_key_private_bytes(ka, &x));
		CHECK_OK(skr_key_private_bytes(kb, &y));
		CHECK_MEM(x.data, x.len, y.data, y.len);
	}

	/* Failed restores change nothing. */
	CHECK_OK(skr_store_stats_get(b, &s1));
	CHECK_OK(skr_store_txn_begin(b, SKR_TXN_WRITE, &txn));
	CHECK_ERR(skr_store_restore(txn, blob.data, blob.len, NULL),
	    SKR_ERR_KEY_CONFLICT);
	blob.data[blob.len / 2] ^= 0x04;
	CHECK_ERR(skr_store_restore(txn, blob.data, blob.len, NULL),
	    SKR_ERR_BACKUP_INVALID);
	blob.data[blob.len / 2] ^= 0x04;
	blob.data[10] ^= 0x01; /* the salt in the header */
	CHECK_ERR(skr_store_restore(txn, blob.data, blob.len, NULL),
	    SKR_ERR_BACKUP_INVALID);
	blob.data[10] ^= 0x01;
	blob.data[0] = 'X';
	CHECK_ERR(skr_store_restore(txn, blob.data, blob.len, NULL),
	    SKR_ERR_BACKUP_INVALID);
	blob.data[0] = 'S';
	CHECK_ERR(skr_store_restore(txn, blob.data, blob.len - 1, NULL),
	    SKR_ERR_BACKUP_INVALID);
	CHECK_ERR(skr_store_restore(txn, blob.data, 10, NULL),
	    SKR_ERR_BACKUP_INVALID);
	CHECK_ERR(skr_store_restore(txn, NULL, 0, NULL),
	    SKR_ERR_BACKUP_INVALID);
	CHECK_OK(skr_store_txn_commit(txn));
	CHECK_OK(skr_store_stats_get(b, &s2));
	CHECK(s1.keys == s2.keys && s1.versions == s2.versions &&
	    s2.keys == 1 && s2.versions == 2);

	/* Another master key is another security domain. */
	CHECK_OK(skr_store_txn_begin(c, SKR_TXN_WRITE, &txn));
	CHECK_ERR(skr_store_restore(txn, blob.data, blob.len, NULL),
	    SKR_ERR_BACKUP_INVALID);
	CHECK_OK(skr_store_txn_commit(txn));
	CHECK_OK(skr_store_stats_get(c, &s2));
	CHECK(s2.keys == 0 && s2.versions == 0);

	/* A soft-deleted name is taken too; after purge it restores. */
	CHECK_OK(skr_store_txn_begin(a, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_key_delete(txn, "backed", NOW, 0, NULL));
	CHECK_ERR(skr_store_restore(txn, blob.data, blob.len, NULL),
	    SKR_ERR_KEY_CONFLICT);
	CHECK_OK(skr_store_key_purge(txn, "backed"));
	CHECK_OK(skr_store_restore(txn, blob.data, blob.len, NULL));
	CHECK_OK(skr_store_txn_commit(txn));
out:
	skr_key_free(ka);
	skr_key_free(kb);
	skr_buf_free(&blob);
	skr_buf_free(&x);
	skr_buf_free(&y);
	skr_store_close(a);
	skr_store_close(b);
	skr_store_close(c);
	skr_test_rmrf(dir_b);
	skr_test_rmrf(dir_c);
	mkdir(dir_b, 0700);
	mkdir(dir_c, 0700);
}

/* Restore one version with meta m (taken) and material p[0..n) as key
 * "rules", in a blob sealed the way the store seals, under root. */
static int
restore_one(skr_store *st, const skr_master_key *root, json_t *m,
    const uint8_t *p, size_t n)
{
	static const uint8_t salt[SKR_BACKUP_SALT_LEN] = { 5 };
	skr_backup_version v = { m, p, n };
	skr_buf blob = SKR_BUF_INIT;
	skr_txn *txn = NULL;
	int r;

	CHECK(m != NULL);
	CHECK_OK(skr_backup_encode(root, salt, "rules", NOW, &v, 1, &blob));
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	r = skr_store_restore(txn, blob.data, blob.len, NULL);
	skr_store_txn_abort(txn);
	json_decref(m);
	skr_buf_free(&blob);
	return r;
}

#define RULES_META(kty, exportable) \
	json_pack("{s:s, s:s, s:[s], s:{}, s:b, s:b, s:I, s:I}", \
	    "version", "0123456789abcdef0123456789abcdef", "kty", kty, \
	    "key_ops", "wrapKey", "tags", "enabled", 1, \
	    "exportable", exportable, "created", (json_int_t)NOW, \
	    "updated", (json_int_t)NOW)

/*
 * Blobs the codec accepts but the store must not: restore checks each
 * version against its material and the store's metadata rules, and writes
 * nothing when one fails.  A malformed payload is refused before the name
 * is looked at.
 */
static void
test_restore_rules(const skr_master_key *mk)
{
	skr_master_key *root = NULL;
	skr_store *st = NULL;
	skr_store_stats s;
	skr_buf mat = SKR_BUF_INIT_SECRET, blob = SKR_BUF_INIT;
	skr_buf payload = SKR_BUF_INIT_SECRET;
	skr_backup_version v;
	skr_key *k = oct_key(0x33);
	skr_txn *txn = NULL;
	json_t *m;

	CHECK_OK(skr_master_key_derive(mk, NULL, 0, "skr/v1/backup-root",
	    &root));
	CHECK_OK(skr_store_create(dir_b, mk, NULL, &st));
	CHECK_OK(skr_key_private_bytes(k, &mat));
	if (st == NULL || root == NULL)
		goto out;
	CHECK_OK(restore_one(st, root, RULES_META("oct", 0),
	    mat.data, mat.len));
	CHECK_OK(restore_one(st, root, RULES_META("oct-HSM", 0),
	    mat.data, mat.len));
	/* Material that is not a key of the entry's type. */
	CHECK_ERR(restore_one(st, root, RULES_META("RSA", 0),
	    mat.data, mat.len), SKR_ERR_BACKUP_INVALID);
	CHECK_ERR(restore_one(st, root, RULES_META("oct", 0),
	    mat.data, 3), SKR_ERR_BACKUP_INVALID);
	/* The metadata rules of skr_store_version_add. */
	m = RULES_META("oct", 0);
	json_array_clear(json_object_get(m, "key_ops"));
	CHECK_OK(restore_one(st, root, m, mat.data, mat.len));
	m = RULES_META("oct", 0);
	json_array_set_new(json_object_get(m, "key_ops"), 0,
	    json_string("fly"));
	CHECK_ERR(restore_one(st, root, m, mat.data, mat.len),
	    SKR_ERR_BACKUP_INVALID);
	m = RULES_META("oct", 0);
	json_object_del(m, "key_ops");
	CHECK_ERR(restore_one(st, root, m, mat.data, mat.len),
	    SKR_ERR_BACKUP_INVALID);
	m = RULES_META("oct", 0);
	json_object_set_new(json_object_get(m, "tags"), "n", json_integer(1));
	CHECK_ERR(restore_one(st, root, m, mat.data, mat.len),
	    SKR_ERR_BACKUP_INVALID);
	CHECK_ERR(restore_one(st, root, RULES_META("oct", 1),
	    mat.data, mat.len), SKR_ERR_BACKUP_INVALID);
	m = RULES_META("oct", 0);
	json_object_set_new(m, "policy", json_string(policy_text));
	CHECK_ERR(restore_one(st, root, m, mat.data, mat.len),
	    SKR_ERR_BACKUP_INVALID);
	m = RULES_META("oct", 1);
	json_object_set_new(m, "policy", json_string(policy_text));
	CHECK_OK(restore_one(st, root, m, mat.data, mat.len));

	/* Malformed: invalid even where the name is taken. */
	CHECK_OK(add_oct(st, "rules", 1, NULL, NULL));
	CHECK_ERR(restore_one(st, root, RULES_META("oct", 0),
	    mat.data, mat.len), SKR_ERR_KEY_CONFLICT);
	v.meta = RULES_META("oct", 0);
	v.priv = mat.data;
	v.privlen = mat.len;
	CHECK_OK(skr_backup_payload_encode("rules", NOW, &v, 1, &payload));
	CHECK_OK(skr_buf_append_byte(&payload, 0));
	CHECK_OK(skr_backup_seal(root, (const uint8_t *)"0123456789abcdef",
	    payload.data, payload.len, &blob));
	json_decref(v.meta);
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_ERR(skr_store_restore(txn, blob.data, blob.len, NULL),
	    SKR_ERR_BACKUP_INVALID);
	CHECK_OK(skr_store_txn_commit(txn));
	CHECK_OK(skr_store_stats_get(st, &s));
	CHECK(s.keys == 1 && s.versions == 1);
out:
	skr_key_free(k);
	skr_buf_free(&mat);
	skr_buf_free(&blob);
	skr_buf_free(&payload);
	skr_master_key_free(root);
	skr_store_close(st);
	skr_test_rmrf(dir_b);
	mkdir(dir_b, 0700);
}

static void
test_tokens(const skr_master_key *mk)
{
	skr_store *st = NULL;
	skr_principal req, pr;
	skr_token_info ti, ti2, *items = NULL;
	skr_txn *txn = NULL;
	skr_buf sec = SKR_BUF_INIT_SECRET, sec2 = SKR_BUF_INIT_SECRET;
	char bad[SKR_TOKEN_TEXT_LEN + 1], *next = NULL, *next2 = NULL;
	skr_token_info *items2 = NULL;
	size_t n;

	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st == NULL)
		return;
	memset(&req, 0, sizeof(req));
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_ERR(skr_store_token_create(txn, &req, NOW, &sec, NULL),
	    SKR_ERR_BAD_REQUEST);
	req.roles = 0x100;
	CHECK_ERR(skr_store_token_create(txn, &req, NOW, &sec, NULL),
	    SKR_ERR_BAD_REQUEST);
	req.roles = SKR_ROLE_OPERATOR | SKR_ROLE_READER;
	req.nprefixes = 1;
	strcpy(req.prefixes[0], "team_a");
	CHECK_ERR(skr_store_token_create(txn, &req, NOW, &sec, NULL),
	    SKR_ERR_BAD_REQUEST);
	CHECK(sec.len == 0);
	strcpy(req.prefixes[0], "team-a-");
	strcpy(req.name, "ci pipeline");
	req.expires = NOW + 100;
	CHECK_OK(skr_store_token_create(txn, &req, NOW, &sec, &ti));
	CHECK(sec.len == SKR_TOKEN_TEXT_LEN &&
	    memcmp(sec.data, "skr_", 4) == 0);
	CHECK(strlen(ti.p.id) == 32 && memcmp(sec.data + 4, ti.p.id, 32) == 0);
	CHECK(ti.created == NOW && !ti.revoked && ti.p.nprefixes == 1);
	memset(&req, 0, sizeof(req));
	req.roles = SKR_ROLE_ADMIN;
	CHECK_OK(skr_store_token_create(txn, &req, NOW, &sec2, NULL));
	CHECK_OK(skr_store_txn_commit(txn));
	/* The secret is never stored; the scan does find other strings. */
	CHECK(file_has(dir_a, ti.p.id, 32) == 1);
	CHECK(file_has(dir_a, sec.data, sec.len) == 0);
	CHECK(file_has(dir_a, sec.data + 37, 43) == 0);
	CHECK(file_has(dir_a, sec.data + 37, 20) == 0);
	CHECK(file_has(dir_a, sec2.data + 37, 43) == 0);

	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_store_token_lookup(txn, skr_buf_cstr(&sec), NOW, &pr));
	CHECK_STR(pr.id, ti.p.id);
	CHECK_STR(pr.name, "ci pipeline");
	CHECK(pr.roles == (SKR_ROLE_OPERATOR | SKR_ROLE_READER));
	CHECK(pr.nprefixes == 1);
	CHECK_STR(pr.prefixes[0], "team-a-");
	CHECK_ERR(skr_store_token_lookup(txn, skr_buf_cstr(&sec), NOW + 100,
	    &pr), SKR_ERR_AUTH_EXPIRED);
	/* Every way the text can be wrong. */
	memcpy(bad, sec.data, sizeof(bad));
	bad[SKR_TOKEN_TEXT_LEN - 3] = bad[SKR_TOKEN_TEXT_LEN - 3] == 'A' ?
	    'B' : 'A';
	CHECK_ERR(skr_store_token_lookup(txn, bad, NOW, &pr),
	    SKR_ERR_AUTH_INVALID);
	memcpy(bad, sec.data, sizeof(bad));
	bad[10] = bad[10] == '0' ? '1' : '0';
	CHECK_ERR(skr_store_token_lookup(txn, bad, NOW, &pr),
	    SKR_ERR_AUTH_INVALID);
	memcpy(bad, sec.data, sizeof(bad));
	bad[10] = 'G';
	CHECK_ERR(skr_store_token_lookup(txn, bad, NOW, &pr),
	    SKR_ERR_AUTH_INVALID);
	memcpy(bad, sec.data, sizeof(bad));
	bad[0] = 'S';
	CHECK_ERR(skr_store_token_lookup(txn, bad, NOW, &pr),
	    SKR_ERR_AUTH_INVALID);
	memcpy(bad, sec.data, sizeof(bad));
	bad[50] = '=';
	CHECK_ERR(skr_store_token_lookup(txn, bad, NOW, &pr),
	    SKR_ERR_AUTH_INVALID);
	bad[SKR_TOKEN_TEXT_LEN - 1] = '\0';
	CHECK_ERR(skr_store_token_lookup(txn, bad, NOW, &pr),
	    SKR_ERR_AUTH_INVALID);
	CHECK_ERR(skr_store_token_lookup(txn, "", NOW, &pr),
	    SKR_ERR_AUTH_INVALID);
	CHECK_ERR(skr_store_token_lookup(txn, NULL, NOW, &pr),
	    SKR_ERR_AUTH_INVALID);
	CHECK_OK(skr_store_token_get(txn, ti.p.id, &ti));
	CHECK_ERR(skr_store_token_get(txn, "0123", &ti2), SKR_ERR_NOT_FOUND);
	CHECK_ERR(skr_store_token_get(txn, "0123456789abcdef0123456789abcdeg",
	    &ti2), SKR_ERR_NOT_FOUND);
	CHECK_OK(skr_store_token_list(txn, NULL, 1, &items, &n, &next));
	CHECK(n == 1 && next != NULL);
	free(items);
	items = NULL;
	CHECK_OK(skr_store_token_list(txn, next, 1, &items, &n, &next2));
	CHECK(n == 1 && next2 == NULL);
	CHECK_ERR(skr_store_token_list(txn, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1,
	    &items2, &n, &next2), SKR_ERR_BAD_REQUEST);
	skr_store_txn_abort(txn);
	free(items);
	items = NULL;
	free(next);
	next = NULL;

	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_ERR(skr_store_token_revoke(txn, "00000000000000000000000000000000",
	    NOW), SKR_ERR_NOT_FOUND);
	CHECK_OK(skr_store_token_revoke(txn, ti.p.id, NOW + 1));
	CHECK_OK(skr_store_token_revoke(txn, ti.p.id, NOW + 2));
	CHECK_ERR(skr_store_token_lookup(txn, skr_buf_cstr(&sec), NOW, &pr),
	    SKR_ERR_AUTH_REVOKED);
	CHECK_OK(skr_store_token_get(txn, ti.p.id, &ti));
	CHECK(ti.revoked && ti.revoked_date == NOW + 1);
	CHECK_OK(skr_store_token_lookup(txn, skr_buf_cstr(&sec2), NOW + 1000000,
	    &pr));
	CHECK(pr.roles == SKR_ROLE_ADMIN && pr.expires == 0);
	CHECK_OK(skr_store_token_list(txn, NULL, 0, &items, &n, &next));
	CHECK(n == 2 && next == NULL);
	free(items);
	CHECK_OK(skr_store_txn_commit(txn));
	skr_store_close(st);
	skr_buf_free(&sec);
	skr_buf_free(&sec2);
}

static void
test_nonces(const skr_master_key *mk)
{
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	char n1[SKR_NONCE_TEXT_LEN + 1], n2[SKR_NONCE_TEXT_LEN + 1],
	    n3[SKR_NONCE_TEXT_LEN + 1];
	size_t pruned;

	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st == NULL)
		return;
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_ERR(skr_store_nonce_issue(txn, NOW, 0, n1), SKR_ERR_INVAL);
	CHECK_OK(skr_store_nonce_issue(txn, NOW, 60, n1));
	CHECK_OK(skr_store_nonce_issue(txn, NOW, 60, n2));
	CHECK_OK(skr_store_nonce_issue(txn, NOW, 600, n3));
	CHECK(strlen(n1) == SKR_NONCE_TEXT_LEN && strcmp(n1, n2) != 0);
	CHECK_OK(skr_store_txn_commit(txn));

	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_ERR(skr_store_nonce_consume(txn, "short", NOW),
	    SKR_ERR_NONCE_INVALID);
	CHECK_ERR(skr_store_nonce_consume(txn,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NOW),
	    SKR_ERR_NONCE_INVALID);
	CHECK_ERR(skr_store_nonce_consume(txn, NULL, NOW),
	    SKR_ERR_NONCE_INVALID);
	CHECK_OK(skr_store_nonce_consume(txn, n1, NOW + 59));
	CHECK_ERR(skr_store_nonce_consume(txn, n1, NOW + 59),
	    SKR_ERR_NONCE_REUSED);
	CHECK_ERR(skr_store_nonce_consume(txn, n2, NOW + 60),
	    SKR_ERR_NONCE_EXPIRED);
	CHECK_OK(skr_store_txn_commit(txn));
	/* An aborted use does not count. */
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_OK(skr_store_nonce_consume(txn, n3, NOW));
	skr_store_txn_abort(txn);
	skr_store_close(st);
	st = NULL;

	/* Across a restart. */
	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st == NULL)
		return;
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	CHECK_ERR(skr_store_nonce_consume(txn, n1, NOW + 1),
	    SKR_ERR_NONCE_REUSED);
	CHECK_OK(skr_store_nonce_prune(txn, NOW + 59, &pruned));
	CHECK(pruned == 0);
	CHECK_OK(skr_store_nonce_prune(txn, NOW + 60, &pruned));
	CHECK(pruned == 2);
	CHECK_ERR(skr_store_nonce_consume(txn, n1, NOW + 61),
	    SKR_ERR_NONCE_INVALID);
	CHECK_OK(skr_store_nonce_consume(txn, n3, NOW + 61));
	CHECK_ERR(skr_store_nonce_consume(txn, n3, NOW + 62),
	    SKR_ERR_NONCE_REUSED);
	CHECK_OK(skr_store_txn_commit(txn));
	skr_store_close(st);
}

static void
test_stats(const skr_master_key *mk)
{
	skr_store *st = NULL;
	skr_store_stats s;

	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st == NULL)
		return;
	CHECK_OK(skr_store_stats_get(st, &s));
	CHECK(s.keys >= 3 && s.versions >= s.keys && s.tokens == 2);
	CHECK(s.map_size == SKR_STORE_DEFAULT_MAP_SIZE && s.used_size > 0 &&
	    s.used_size < s.map_size);
	skr_store_close(st);
}

/* A small map fills up: SKR_ERR_STORE_FULL, and what was committed stays. */
static void
test_full(const skr_master_key *mk)
{
	skr_store_opts opts = { 0 };
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	skr_version_info vi;
	json_t *tags;
	char name[32], val[200];
	int i, r = SKR_OK, committed = 0;

	opts.map_size = 256 * 1024;
	CHECK_OK(skr_store_create(dir_b, mk, &opts, &st));
	if (st == NULL)
		return;
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	tags = json_pack("{ss ss ss ss ss}", "a", val, "b", val, "c", val,
	    "d", val, "e", val);
	for (i = 0; i < 10000 && r == SKR_OK; i++) {
		skr_version_params p;
		skr_key *k = oct_key((uint8_t)i);

		params_init(&p);
		p.tags = tags;
		snprintf(name, sizeof(name), "fill-%d", i);
		if ((r = skr_store_txn_begin(st, SKR_TXN_WRITE, &txn)) !=
		    SKR_OK) {
			skr_key_free(k);
			break;
		}
		r = skr_store_version_add(txn, name, k, &p, 0, NOW, NULL);
		if (r == SKR_OK)
			r = skr_store_txn_commit(txn);
		else
			skr_store_txn_abort(txn);
		if (r == SKR_OK)
			committed++;
		skr_key_free(k);
	}
	CHECK_ERR(r, SKR_ERR_STORE_FULL);
	CHECK(committed > 10);
	json_decref(tags);
	/* Reads still work and the last committed key is whole. */
	snprintf(name, sizeof(name), "fill-%d", committed - 1);
	CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
	CHECK_OK(skr_store_version_get(txn, name, NULL, &vi));
	skr_version_info_clear(&vi);
	snprintf(name, sizeof(name), "fill-%d", committed);
	CHECK_ERR(skr_store_version_get(txn, name, NULL, &vi),
	    SKR_ERR_KEY_NOT_FOUND);
	skr_store_txn_abort(txn);
	skr_store_close(st);
	skr_test_rmrf(dir_b);
	mkdir(dir_b, 0700);
}

/* Writers in two threads and a reader in a third: no lost updates. */
struct worker {
	skr_store *st;
	int id;
	int failures;
};

static void *
writer(void *arg)
{
	struct worker *w = arg;
	char name[32];
	int i;

	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "thr-%d-%d", w->id, i);
		if (add_oct(w->st, name, (uint8_t)i, NULL, NULL) != SKR_OK)
			w->failures++;
	}
	return NULL;
}

static void *
reader(void *arg)
{
	struct worker *w = arg;
	skr_version_page pg;
	skr_txn *txn = NULL;
	int i;

	for (i = 0; i < 40; i++) {
		if (skr_store_txn_begin(w->st, SKR_TXN_READ, &txn) != SKR_OK) {
			w->failures++;
			continue;
		}
		if (skr_store_key_list(txn, NULL, NULL, 25, &pg) != SKR_OK)
			w->failures++;
		skr_version_page_clear(&pg);
		skr_store_txn_abort(txn);
	}
	return NULL;
}

static void
test_threads(const skr_master_key *mk)
{
	struct worker w[3];
	pthread_t t[3];
	skr_store *st = NULL;
	skr_store_stats s;
	int i;

	CHECK_OK(skr_store_create(dir_b, mk, NULL, &st));
	if (st == NULL)
		return;
	for (i = 0; i < 3; i++) {
		w[i].st = st;
		w[i].id = i;
		w[i].failures = 0;
		CHECK(pthread_create(&t[i], NULL, i < 2 ? writer : reader,
		    &w[i]) == 0);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		CHECK(w[i].failures == 0);
	}
	CHECK_OK(skr_store_stats_get(st, &s));
	CHECK(s.keys == 40 && s.versions == 40);
	skr_store_close(st);
	skr_test_rmrf(dir_b);
	mkdir(dir_b, 0700);
}

int
main(void)
{
	skr_master_key *mk = NULL, *other = NULL;
	skr_store *st = NULL;

	skr_test_tmpdir(NULL, "store", dir_a, sizeof(dir_a));
	skr_test_tmpdir(NULL, "store", dir_b, sizeof(dir_b));
	skr_test_tmpdir(NULL, "store", dir_c, sizeof(dir_c));
	if (skr_master_key_generate(&mk) != SKR_OK ||
	    skr_master_key_generate(&other) != SKR_OK)
		return 1;

	test_validation();
	test_masterkey();
	test_open(mk, other);
	CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	if (st != NULL) {
		test_keys(st);
		skr_store_close(st);
		st = NULL;
		test_persistence(mk);
		CHECK_OK(skr_store_open(dir_a, mk, NULL, &st));
	}
	if (st != NULL) {
		test_current(st);
		test_update(st);
		test_delete(st);
		test_rsa_material(st);
		skr_store_close(st);
	}
	test_purge_index(mk);
	test_paging(mk);
	test_binding(mk);
	test_backup(mk, other);
	test_restore_rules(mk);
	test_tokens(mk);
	test_nonces(mk);
	test_stats(mk);
	test_full(mk);
	test_threads(mk);

	skr_master_key_free(mk);
	skr_master_key_free(other);
	skr_test_rmrf(dir_a);
	skr_test_rmrf(dir_b);
	skr_test_rmrf(dir_c);
	return check_done();
}
