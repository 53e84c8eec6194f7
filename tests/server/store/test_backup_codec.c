/*
 * The backup codec without a store: payloads and blobs that round-trip,
 * every way a payload or blob is refused (with its precise flaw), and a
 * blob made by the first writer of format 1 (backup-format1.bin), which
 * must decode for as long as the format is 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_codec.h"
#include "check.h"

#define NOW 1700000000

#define VID1 "0123456789abcdef0123456789abcdef"
#define VID2 "fedcba9876543210fedcba9876543210"

static skr_master_key *root;

/* Expect decoding payload p[0..n) to fail with flaw want. */
static void
check_payload_flaw(int line, const void *p, size_t n, skr_backup_flaw want)
{
	skr_backup b;
	skr_backup_flaw flaw = SKR_BACKUP_FLAW_NONE;
	int r = skr_backup_payload_decode(p, n, &b, &flaw);

	if (r != SKR_ERR_BACKUP_INVALID || flaw != want)
		fprintf(stderr, "line %d: r %s, flaw %d, want flaw %d\n", line,
		    skr_err_id(r), (int)flaw, (int)want);
	CHECK(r == SKR_ERR_BACKUP_INVALID && flaw == want);
	CHECK(b.doc == NULL && b.versions == NULL && b.n == 0 &&
	    b.payload.data == NULL);
}
#define PAYLOAD_FLAW(p, n, want) check_payload_flaw(__LINE__, p, n, want)

/* A payload: document text, then the given material fields. */
static void
payload(skr_buf *out, const char *doc, const char *const *mat, size_t nmat)
{
	uint8_t l[4];
	size_t i, n;

	skr_buf_reset(out);
	for (i = 0; i <= nmat; i++) {
		const char *f = i == 0 ? doc : mat[i - 1];
		n = strlen(f);
		l[0] = (uint8_t)(n >> 24);
		l[1] = (uint8_t)(n >> 16);
		l[2] = (uint8_t)(n >> 8);
		l[3] = (uint8_t)n;
		CHECK_OK(skr_buf_append(out, l, 4));
		CHECK_OK(skr_buf_append(out, f, n));
	}
}

static void
doc_flaw(int line, const char *doc, size_t nmat, skr_backup_flaw want)
{
	static const char *const mat[] = { "material-1", "material-2" };
	skr_buf p = SKR_BUF_INIT;

	payload(&p, doc, mat, nmat);
	check_payload_flaw(line, p.data, p.len, want);
	skr_buf_free(&p);
}
#define DOC_FLAW(doc, nmat, want) doc_flaw(__LINE__, doc, nmat, want)

#define ENTRY(vid, kty) "{\"version\":\"" vid "\",\"kty\":\"" kty "\"}"
#define DOC(name, versions) \
	"{\"format\":1,\"name\":\"" name "\",\"created\":5,\"versions\":[" \
	versions "]}"

static void
test_payload_roundtrip(void)
{
	skr_backup_version v[2];
	skr_backup b;
	skr_backup_flaw flaw = SKR_BACKUP_FLAW_SEAL;
	skr_buf p = SKR_BUF_INIT_SECRET, p2 = SKR_BUF_INIT_SECRET;
	static const uint8_t m1[] = { 1, 2, 3 }, m2[] = { 0 };
	static const char canonical[] = "{\"created\":1700000000,"
	    "\"format\":1,\"name\":\"My-Key\",\"versions\":[{";

	v[0].meta = json_pack("{s:s, s:s, s:b}", "version", VID1, "kty", "oct",
	    "enabled", 1);
	v[0].priv = m1;
	v[0].privlen = sizeof(m1);
	/* Upper case ids are as good as lower case ones. */
	v[1].meta = json_pack("{s:s, s:s}", "version",
	    "FEDCBA9876543210FEDCBA9876543210", "kty", "EC-HSM");
	v[1].priv = m2;
	v[1].privlen = 0;
	CHECK_OK(skr_backup_payload_encode("My-Key", NOW, v, 2, &p));
	CHECK_OK(skr_backup_payload_decode(p.data, p.len, &b, &flaw));
	CHECK(flaw == SKR_BACKUP_FLAW_NONE);
	CHECK_STR(b.name, "My-Key");
	CHECK(b.created == NOW && b.n == 2 && b.payload.secret);
	if (b.n == 2) {
		CHECK(json_equal(b.versions[0].meta, v[0].meta));
		CHECK(json_equal(b.versions[1].meta, v[1].meta));
		CHECK_MEM(b.versions[0].priv, b.versions[0].privlen, m1,
		    sizeof(m1));
		CHECK(b.versions[1].privlen == 0);
		/* Encoding what was decoded gives the same bytes. */
		CHECK_OK(skr_backup_payload_encode(b.name, b.created,
		    b.versions, b.n, &p2));
		CHECK_MEM(p2.data, p2.len, p.data, p.len);
	}
	skr_backup_clear(&b);
	CHECK(b.doc == NULL && b.name == NULL && b.n == 0);
	skr_backup_clear(&b);
	skr_backup_clear(NULL);
	/* The document is canonical: sorted members, no spaces. */
	CHECK(p.len > 4 + sizeof(canonical) &&
	    memcmp(p.data + 4, canonical, sizeof(canonical) - 1) == 0);

	/* Nothing is appended when encoding fails. */
	skr_buf_reset(&p2);
	CHECK_ERR(skr_backup_payload_encode(NULL, NOW, v, 2, &p2),
	    SKR_ERR_INVAL);
	CHECK(p2.len == 0);
	json_decref(v[0].meta);
	json_decref(v[1].meta);
	skr_buf_free(&p);
	skr_buf_free(&p2);
}

static void
test_payload_flaws(void)
{
	static const char *const mat[] = { "m" };
	static const uint8_t len_only[] = { 0, 0, 0, 9, '{', '}' };
	static const uint8_t short_len[] = { 0, 0, 0 };
	char many[64];
	skr_buf p = SKR_BUF_INIT, big = SKR_BUF_INIT;
	skr_backup b;
	size_t i;
	int r;

	/* Lengths. */
	PAYLOAD_FLAW("", 0, SKR_BACKUP_FLAW_TRUNCATED);
	PAYLOAD_FLAW(short_len, sizeof(short_len), SKR_BACKUP_FLAW_TRUNCATED);
	PAYLOAD_FLAW(len_only, sizeof(len_only), SKR_BACKUP_FLAW_TRUNCATED);
	DOC_FLAW(DOC("k", ENTRY(VID1, "oct")), 0, SKR_BACKUP_FLAW_TRUNCATED);
	DOC_FLAW(DOC("k", ENTRY(VID1, "oct") "," ENTRY(VID2, "oct")), 1,
	    SKR_BACKUP_FLAW_TRUNCATED);
	DOC_FLAW(DOC("k", ENTRY(VID1, "oct")), 2, SKR_BACKUP_FLAW_TRAILING);
	payload(&p, DOC("k", ENTRY(VID1, "oct")), mat, 1);
	/* A material length one past the end; then a stray byte. */
	p.data[p.len - 2]++;
	PAYLOAD_FLAW(p.data, p.len, SKR_BACKUP_FLAW_TRUNCATED);
	p.data[p.len - 2]--;
	CHECK_OK(skr_backup_payload_decode(p.data, p.len, &b, NULL));
	skr_backup_clear(&b);
	CHECK_OK(skr_buf_append_byte(&p, 0));
	PAYLOAD_FLAW(p.data, p.len, SKR_BACKUP_FLAW_TRAILING);
	/* A document length past the end. */
	p.data[0] = 0x80;
	PAYLOAD_FLAW(p.data, p.len, SKR_BACKUP_FLAW_TRUNCATED);

	/* The document. */
	DOC_FLAW("", 1, SKR_BACKUP_FLAW_DOC);
	DOC_FLAW("{\"format\":1", 1, SKR_BACKUP_FLAW_DOC);
	DOC_FLAW("[1]", 1, SKR_BACKUP_FLAW_DOC);
	DOC_FLAW("{\"format\":1,\"format\":1,\"name\":\"k\",\"versions\":["
	    ENTRY(VID1, "oct") "]}", 1, SKR_BACKUP_FLAW_DOC);
	DOC_FLAW(DOC("k", ENTRY(VID1, "oct")) " x", 1, SKR_BACKUP_FLAW_DOC);
	DOC_FLAW("{\"format\":2,\"name\":\"k\",\"versions\":["
	    ENTRY(VID1, "oct") "]}", 1, SKR_BACKUP_FLAW_DOC_FORMAT);
	DOC_FLAW("{\"format\":\"1\",\"name\":\"k\",\"versions\":["
	    ENTRY(VID1, "oct") "]}", 1, SKR_BACKUP_FLAW_DOC_FORMAT);
	DOC_FLAW("{\"name\":\"k\",\"versions\":[" ENTRY(VID1, "oct") "]}", 1,
	    SKR_BACKUP_FLAW_DOC_FORMAT);
	DOC_FLAW("{\"format\":1,\"versions\":[" ENTRY(VID1, "oct") "]}", 1,
	    SKR_BACKUP_FLAW_NAME);
	DOC_FLAW(DOC("a_b", ENTRY(VID1, "oct")), 1, SKR_BACKUP_FLAW_NAME);
	DOC_FLAW(DOC("", ENTRY(VID1, "oct")), 1, SKR_BACKUP_FLAW_NAME);
	DOC_FLAW("{\"format\":1,\"name\":7,\"versions\":["
	    ENTRY(VID1, "oct") "]}", 1, SKR_BACKUP_FLAW_NAME);
	DOC_FLAW("{\"format\":1,\"name\":\"k\"}", 0, SKR_BACKUP_FLAW_VERSIONS);
	DOC_FLAW(DOC("k", ""), 0, SKR_BACKUP_FLAW_VERSIONS);
	DOC_FLAW("{\"format\":1,\"name\":\"k\",\"versions\":{}}", 0,
	    SKR_BACKUP_FLAW_VERSIONS);

	/* The versions. */
	DOC_FLAW(DOC("k", "1"), 1, SKR_BACKUP_FLAW_VERSION);
	DOC_FLAW(DOC("k", "{\"kty\":\"oct\"}"), 1, SKR_BACKUP_FLAW_VERSION);
	DOC_FLAW(DOC("k", ENTRY("0123456789abcdef0123456789abcde", "oct")), 1,
	    SKR_BACKUP_FLAW_VERSION);
	DOC_FLAW(DOC("k", ENTRY("0123456789abcdef0123456789abcdeg", "oct")),
	    1, SKR_BACKUP_FLAW_VERSION);
	DOC_FLAW(DOC("k", ENTRY(VID1, "DES")), 1, SKR_BACKUP_FLAW_VERSION);
	DOC_FLAW(DOC("k", "{\"version\":\"" VID1 "\"}"), 1,
	    SKR_BACKUP_FLAW_VERSION);
	DOC_FLAW(DOC("k", ENTRY(VID1, "oct") ",7"), 2,
	    SKR_BACKUP_FLAW_VERSION);
	DOC_FLAW(DOC("k", ENTRY(VID1, "oct") "," ENTRY(VID1, "RSA")), 2,
	    SKR_BACKUP_FLAW_DUPLICATE);
	DOC_FLAW(DOC("k", ENTRY(VID1, "oct") ","
	    ENTRY("0123456789ABCDEF0123456789ABCDEF", "oct")), 2,
	    SKR_BACKUP_FLAW_DUPLICATE);

	/* One version too many, refused before any entry is looked at. */
	CHECK_OK(skr_buf_append_str(&big,
	    "{\"format\":1,\"name\":\"k\",\"versions\":["));
	for (i = 0, r = SKR_OK; i <= SKR_BACKUP_MAX_VERSIONS && r == SKR_OK;
	    i++) {
		snprintf(many, sizeof(many), "%s%zu", i ? "," : "", i);
		r = skr_buf_append_str(&big, many);
	}
	CHECK_OK(r);
	CHECK_OK(skr_buf_append_str(&big, "]}"));
	{
		const char *doc = skr_buf_cstr(&big);
		doc_flaw(__LINE__, doc, 0, SKR_BACKUP_FLAW_VERSIONS);
	}

	/* Malformed input never reports NONE, and the flaw is optional. */
	CHECK_ERR(skr_backup_payload_decode(short_len, sizeof(short_len), &b,
	    NULL), SKR_ERR_BACKUP_INVALID);
	CHECK_ERR(skr_backup_payload_decode(NULL, 1, &b, NULL),
	    SKR_ERR_INVAL);
	skr_buf_free(&p);
	skr_buf_free(&big);
}

/* Expect opening blob b[0..n) to fail with flaw want. */
static void
check_blob_flaw(int line, const skr_master_key *key, const uint8_t *blob,
    size_t n, skr_backup_flaw want)
{
	skr_buf pt = SKR_BUF_INIT_SECRET;
	skr_backup b;
	skr_backup_flaw f1 = SKR_BACKUP_FLAW_NONE, f2 = SKR_BACKUP_FLAW_NONE;
	int r1 = skr_backup_open(key, blob, n, &pt, &f1);
	int r2 = skr_backup_decode(key, blob, n, &b, &f2);

	if (f1 != want || f2 != want)
		fprintf(stderr, "line %d: flaws %d, %d, want %d\n", line,
		    (int)f1, (int)f2, (int)want);
	CHECK(r1 == SKR_ERR_BACKUP_INVALID && r2 == SKR_ERR_BACKUP_INVALID);
	CHECK(f1 == want && f2 == want && pt.len == 0 && b.doc == NULL);
	skr_buf_free(&pt);
}
#define BLOB_FLAW(key, blob, n, want) \
	check_blob_flaw(__LINE__, key, blob, n, want)

static void
test_blob(void)
{
	static const uint8_t salt[SKR_BACKUP_SALT_LEN] = { 1, 2, 3 };
	static const uint8_t m1[] = { 9, 9, 9 };
	skr_backup_version v;
	skr_master_key *other = NULL;
	skr_buf p = SKR_BUF_INIT_SECRET, blob = SKR_BUF_INIT, pt =
	    SKR_BUF_INIT_SECRET;
	skr_backup b;
	skr_backup_flaw flaw = SKR_BACKUP_FLAW_SEAL;
	size_t i;

	v.meta = json_pack("{s:s, s:s}", "version", VID1, "kty", "oct");
	v.priv = m1;
	v.privlen = sizeof(m1);
	CHECK_OK(skr_backup_payload_encode("k", NOW, &v, 1, &p));
	/* Appended after what out already holds. */
	CHECK_OK(skr_buf_append_str(&blob, "x"));
	CHECK_OK(skr_backup_encode(root, salt, "k", NOW, &v, 1, &blob));
	CHECK(blob.len == 1 + SKR_BACKUP_HDR_LEN + 1 + 12 + p.len + 16);
	CHECK(memcmp(blob.data + 1, "SKRB\x01", 5) == 0 &&
	    memcmp(blob.data + 6, salt, sizeof(salt)) == 0);
	/* The payload is not in the clear. */
	CHECK(memmem(blob.data, blob.len, "\"version\"", 9) == NULL);
	CHECK_OK(skr_backup_open(root, blob.data + 1, blob.len - 1, &pt,
	    &flaw));
	CHECK(flaw == SKR_BACKUP_FLAW_NONE);
	CHECK_MEM(pt.data, pt.len, p.data, p.len);
	CHECK_OK(skr_backup_decode(root, blob.data + 1, blob.len - 1, &b,
	    &flaw));
	CHECK(flaw == SKR_BACKUP_FLAW_NONE && b.n == 1 && b.payload.secret);
	CHECK_STR(b.name, "k");
	if (b.n == 1)
		CHECK_MEM(b.versions[0].priv, b.versions[0].privlen, m1,
		    sizeof(m1));
	skr_backup_clear(&b);
	blob.len--;
	memmove(blob.data, blob.data + 1, blob.len);

	/* The header. */
	BLOB_FLAW(root, NULL, 0, SKR_BACKUP_FLAW_SHORT);
	BLOB_FLAW(root, blob.data, SKR_BACKUP_HDR_LEN, SKR_BACKUP_FLAW_SHORT);
	BLOB_FLAW(root, blob.data, SKR_BACKUP_HDR_LEN + 28,
	    SKR_BACKUP_FLAW_SHORT);
	blob.data[3] = 'b';
	BLOB_FLAW(root, blob.data, blob.len, SKR_BACKUP_FLAW_MAGIC);
	blob.data[3] = 'B';
	blob.data[4] = 2;
	BLOB_FLAW(root, blob.data, blob.len, SKR_BACKUP_FLAW_FORMAT);
	blob.data[4] = 1;
	/* Every byte after the format is authenticated: salt, seal format,
	 * nonce, ciphertext and tag. */
	for (i = 5; i < blob.len; i += 7) {
		blob.data[i] ^= 0x20;
		BLOB_FLAW(root, blob.data, blob.len, SKR_BACKUP_FLAW_SEAL);
		blob.data[i] ^= 0x20;
	}
	BLOB_FLAW(root, blob.data, blob.len - 1, SKR_BACKUP_FLAW_SEAL);
	CHECK_OK(skr_master_key_generate(&other));
	BLOB_FLAW(other, blob.data, blob.len, SKR_BACKUP_FLAW_SEAL);
	CHECK_ERR(skr_backup_open(root, NULL, 5, &pt, NULL), SKR_ERR_INVAL);

	/* A sealed payload that is malformed is the payload's flaw. */
	skr_buf_reset(&blob);
	CHECK_OK(skr_backup_seal(root, salt, p.data, p.len - 1, &blob));
	CHECK_ERR(skr_backup_decode(root, blob.data, blob.len, &b, &flaw),
	    SKR_ERR_BACKUP_INVALID);
	CHECK(flaw == SKR_BACKUP_FLAW_TRUNCATED && b.doc == NULL);

	skr_master_key_free(other);
	json_decref(v.meta);
	skr_buf_free(&p);
	skr_buf_free(&pt);
	skr_buf_free(&blob);
}

/* backup-format1.bin: key "Vector-Key" as the first format-1 writer
 * backed it up, under master key a0 a1 .. bf: an exportable oct-256 version
 * (bytes 40 41 .. 5f) with an immutable policy and a tag, then a disabled
 * EC P-256 version. */
static void
test_vector(void)
{
	uint8_t mkb[SKR_MASTER_KEY_LEN], oct[32];
	skr_master_key *mk = NULL, *vroot = NULL;
	skr_buf blob = SKR_BUF_INIT;
	skr_backup b;
	uint8_t chunk[512];
	size_t i, n;
	FILE *f;

	for (i = 0; i < sizeof(mkb); i++)
		mkb[i] = (uint8_t)(0xa0 + i);
	for (i = 0; i < sizeof(oct); i++)
		oct[i] = (uint8_t)(0x40 + i);
	if ((f = fopen(BACKUP_VECTOR, "rb")) == NULL) {
		CHECK(!"backup-format1.bin readable");
		return;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		CHECK_OK(skr_buf_append(&blob, chunk, n));
	fclose(f);
	CHECK_OK(skr_master_key_from_bytes(mkb, sizeof(mkb), &mk));
	CHECK_OK(skr_master_key_derive(mk, NULL, 0, "skr/v1/backup-root",
	    &vroot));
	CHECK_OK(skr_backup_decode(vroot, blob.data, blob.len, &b, NULL));
	CHECK_STR(b.name, "Vector-Key");
	CHECK(b.created == NOW && b.n == 2);
	if (b.n == 2) {
		const json_t *m0 = b.versions[0].meta, *m1 = b.versions[1].meta;

		CHECK_STR(json_string_value(json_object_get(m0, "version")),
		    "c0e678f1008acc7b11299529a532ed7a");
		CHECK_STR(json_string_value(json_object_get(m0, "kty")), "oct");
		CHECK(json_is_true(json_object_get(m0, "exportable")) &&
		    json_is_true(json_object_get(m0, "immutable")));
		CHECK_STR(json_string_value(json_object_get(json_object_get(m0,
		    "tags"), "team")), "blue");
		CHECK_MEM(b.versions[0].priv, b.versions[0].privlen, oct,
		    sizeof(oct));
		CHECK_STR(json_string_value(json_object_get(m1, "version")),
		    "ed7240b183ffb100ca6ecf2040df0d63");
		CHECK_STR(json_string_value(json_object_get(m1, "kty")), "EC");
		CHECK(json_is_false(json_object_get(m1, "enabled")) &&
		    json_integer_value(json_object_get(m1, "created")) ==
		    NOW + 60);
		CHECK(b.versions[1].privlen > 32);
	}
	skr_backup_clear(&b);
	/* Under the test's own root it is someone else's blob. */
	BLOB_FLAW(root, blob.data, blob.len, SKR_BACKUP_FLAW_SEAL);
	skr_master_key_free(mk);
	skr_master_key_free(vroot);
	skr_buf_free(&blob);
}

int
main(void)
{
	if (skr_master_key_generate(&root) != SKR_OK)
		return 1;
	test_payload_roundtrip();
	test_payload_flaws();
	test_blob();
	test_vector();
	skr_master_key_free(root);
	return check_done();
}
