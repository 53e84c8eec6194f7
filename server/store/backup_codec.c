#include "backup_codec.h"

#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "jwk.h"
#include "seal.h"
#include "skr/error.h"
#include "store.h"

/* The per-blob key's HKDF label (docs/store.md). */
#define LABEL_BACKUP "skr/v1/backup"

void
skr_backup_clear(skr_backup *b)
{
	if (b == NULL)
		return;
	free(b->versions);
	json_decref(b->doc);
	skr_buf_free(&b->payload);
	memset(b, 0, sizeof(*b));
}

static int
append_len(skr_buf *b, size_t n)
{
	uint8_t l[4];

	if (n > UINT32_MAX)
		return SKR_ERR_TOO_LARGE;
	l[0] = (uint8_t)(n >> 24);
	l[1] = (uint8_t)(n >> 16);
	l[2] = (uint8_t)(n >> 8);
	l[3] = (uint8_t)n;
	return skr_buf_append(b, l, 4);
}

/* Read a u32-length-prefixed field from p[*off..n); 0 when it runs past
 * the end. */
static int
take(const uint8_t *p, size_t n, size_t *off, const uint8_t **f, size_t *fl)
{
	uint32_t l;

	if (n - *off < 4)
		return 0;
	l = (uint32_t)p[*off] << 24 | (uint32_t)p[*off + 1] << 16 |
	    (uint32_t)p[*off + 2] << 8 | (uint32_t)p[*off + 3];
	*off += 4;
	if (l > n - *off)
		return 0;
	*f = p + *off;
	*fl = l;
	*off += l;
	return 1;
}

int
skr_backup_payload_encode(const char *name, int64_t created,
    const skr_backup_version *v, size_t n, skr_buf *out)
{
	json_t *doc = NULL, *vers;
	char *text = NULL;
	size_t i, mark = out->len;
	int r = SKR_OK;

	if (name == NULL || (v == NULL && n > 0))
		return SKR_ERR_INVAL;
	doc = json_pack("{s:i, s:s, s:I, s:[]}", "format", SKR_BACKUP_FORMAT,
	    "name", name, "created", (json_int_t)created, "versions");
	SKR_ENSURE(doc != NULL, SKR_ERR_NOMEM);
	vers = json_object_get(doc, "versions");
	for (i = 0; i < n; i++)
		SKR_ENSURE(json_array_append(vers, v[i].meta) == 0,
		    SKR_ERR_NOMEM);
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	SKR_ENSURE(text != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(append_len(out, strlen(text)));
	SKR_GUARD(skr_buf_append_str(out, text));
	for (i = 0; i < n; i++) {
		SKR_GUARD(append_len(out, v[i].privlen));
		SKR_GUARD(skr_buf_append(out, v[i].priv, v[i].privlen));
	}
out:
	if (r != SKR_OK)
		out->len = mark;
	free(text);
	json_decref(doc);
	return r;
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, SKR_VERSION_LEN + 1);
}

/* Whether two of the n version ids of versions (valid, either case) are
 * the same id. */
static int
ids_distinct(const skr_backup_version *versions, size_t n, int *distinct)
{
	char (*ids)[SKR_VERSION_LEN + 1];
	size_t i, j;

	*distinct = 1;
	if ((ids = calloc(n, sizeof(*ids))) == NULL)
		return SKR_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		const char *v = json_string_value(json_object_get(
		    versions[i].meta, "version"));
		for (j = 0; j < SKR_VERSION_LEN; j++)
			ids[i][j] = (v[j] >= 'A' && v[j] <= 'F') ?
			    (char)(v[j] - 'A' + 'a') : v[j];
	}
	qsort(ids, n, sizeof(*ids), cmp_id);
	for (i = 1; i < n && *distinct; i++)
		*distinct = cmp_id(ids[i - 1], ids[i]) != 0;
	free(ids);
	return SKR_OK;
}

/* Parse b->payload in place. */
static int
payload_parse(skr_backup *b, skr_backup_flaw *flaw)
{
	const uint8_t *p = b->payload.data, *f;
	size_t n = b->payload.len, off = 0, fl, i;
	json_t *vers;
	int r = SKR_OK, distinct;

	*flaw = SKR_BACKUP_FLAW_TRUNCATED;
	SKR_ENSURE(take(p, n, &off, &f, &fl), SKR_ERR_BACKUP_INVALID);
	*flaw = SKR_BACKUP_FLAW_DOC;
	b->doc = json_loadb((const char *)f, fl, JSON_REJECT_DUPLICATES, NULL);
	SKR_ENSURE(json_is_object(b->doc), SKR_ERR_BACKUP_INVALID);
	*flaw = SKR_BACKUP_FLAW_DOC_FORMAT;
	vers = json_object_get(b->doc, "format");
	SKR_ENSURE(json_is_integer(vers) &&
	    json_integer_value(vers) == SKR_BACKUP_FORMAT,
	    SKR_ERR_BACKUP_INVALID);
	*flaw = SKR_BACKUP_FLAW_NAME;
	b->name = json_string_value(json_object_get(b->doc, "name"));
	SKR_ENSURE(skr_key_name_check(b->name) == SKR_OK,
	    SKR_ERR_BACKUP_INVALID);
	if (json_is_integer(json_object_get(b->doc, "created")))
		b->created = json_integer_value(json_object_get(b->doc,
		    "created"));
	*flaw = SKR_BACKUP_FLAW_VERSIONS;
	vers = json_object_get(b->doc, "versions");
	b->n = json_array_size(vers);
	SKR_ENSURE(json_is_array(vers) && b->n > 0 &&
	    b->n <= SKR_BACKUP_MAX_VERSIONS, SKR_ERR_BACKUP_INVALID);
	b->versions = calloc(b->n, sizeof(*b->versions));
	SKR_ENSURE(b->versions != NULL, SKR_ERR_NOMEM);
	for (i = 0; i < b->n; i++) {
		skr_backup_version *v = &b->versions[i];
		const char *kty;

		v->meta = json_array_get(vers, i);
		kty = json_string_value(json_object_get(v->meta, "kty"));
		*flaw = SKR_BACKUP_FLAW_VERSION;
		SKR_ENSURE(json_is_object(v->meta) &&
		    skr_version_check(json_string_value(json_object_get(
		    v->meta, "version"))) == SKR_OK &&
		    skr_kty_parse(kty) != SKR_KTY_NONE,
		    SKR_ERR_BACKUP_INVALID);
		*flaw = SKR_BACKUP_FLAW_TRUNCATED;
		SKR_ENSURE(take(p, n, &off, &v->priv, &v->privlen),
		    SKR_ERR_BACKUP_INVALID);
	}
	*flaw = SKR_BACKUP_FLAW_TRAILING;
	SKR_ENSURE(off == n, SKR_ERR_BACKUP_INVALID);
	*flaw = SKR_BACKUP_FLAW_DUPLICATE;
	SKR_GUARD(ids_distinct(b->versions, b->n, &distinct));
	SKR_ENSURE(distinct, SKR_ERR_BACKUP_INVALID);
	*flaw = SKR_BACKUP_FLAW_NONE;
out:
	if (r != SKR_ERR_BACKUP_INVALID)
		*flaw = SKR_BACKUP_FLAW_NONE;
	return r;
}

int
skr_backup_payload_decode(const uint8_t *p, size_t n, skr_backup *out,
    skr_backup_flaw *flaw)
{
	skr_backup_flaw f = SKR_BACKUP_FLAW_NONE;
	int r;

	memset(out, 0, sizeof(*out));
	skr_buf_init_secret(&out->payload, 0);
	if (p == NULL && n > 0)
		return SKR_ERR_INVAL;
	SKR_GUARD(skr_buf_append(&out->payload, p, n));
	SKR_GUARD(payload_parse(out, &f));
out:
	if (r != SKR_OK)
		skr_backup_clear(out);
	if (flaw != NULL)
		*flaw = f;
	return r;
}

static int
blob_key(const skr_master_key *root, const uint8_t *salt,
    skr_master_key **out)
{
	return skr_master_key_derive(root, salt, SKR_BACKUP_SALT_LEN,
	    LABEL_BACKUP, out);
}

int
skr_backup_seal(const skr_master_key *root,
    const uint8_t salt[SKR_BACKUP_SALT_LEN], const uint8_t *p, size_t n,
    skr_buf *out)
{
	uint8_t hdr[SKR_BACKUP_HDR_LEN];
	skr_master_key *bk = NULL;
	size_t mark = out->len;
	int r;

	memcpy(hdr, SKR_BACKUP_MAGIC, 4);
	hdr[4] = SKR_BACKUP_FORMAT;
	memcpy(hdr + 5, salt, SKR_BACKUP_SALT_LEN);
	SKR_GUARD(blob_key(root, salt, &bk));
	SKR_GUARD(skr_buf_append(out, hdr, sizeof(hdr)));
	SKR_GUARD(skr_seal(skr_master_key_bytes(bk), hdr, sizeof(hdr), p, n,
	    out));
out:
	if (r != SKR_OK)
		out->len = mark;
	skr_master_key_free(bk);
	return r;
}

int
skr_backup_open(const skr_master_key *root, const uint8_t *blob, size_t n,
    skr_buf *payload, skr_backup_flaw *flaw)
{
	skr_backup_flaw f = SKR_BACKUP_FLAW_NONE;
	skr_master_key *bk = NULL;
	int r = SKR_OK;

	if (blob == NULL && n > 0)
		return SKR_ERR_INVAL;
	f = SKR_BACKUP_FLAW_SHORT;
	SKR_ENSURE(n >= SKR_BACKUP_HDR_LEN + SKR_SEAL_OVERHEAD,
	    SKR_ERR_BACKUP_INVALID);
	f = SKR_BACKUP_FLAW_MAGIC;
	SKR_ENSURE(memcmp(blob, SKR_BACKUP_MAGIC, 4) == 0,
	    SKR_ERR_BACKUP_INVALID);
	f = SKR_BACKUP_FLAW_FORMAT;
	SKR_ENSURE(blob[4] == SKR_BACKUP_FORMAT, SKR_ERR_BACKUP_INVALID);
	f = SKR_BACKUP_FLAW_NONE;
	SKR_GUARD(blob_key(root, blob + 5, &bk));
	r = skr_seal_open(skr_master_key_bytes(bk), blob, SKR_BACKUP_HDR_LEN,
	    blob + SKR_BACKUP_HDR_LEN, n - SKR_BACKUP_HDR_LEN, payload);
	if (r == SKR_ERR_SEAL_OPEN || r == SKR_ERR_SEAL_FORMAT) {
		f = SKR_BACKUP_FLAW_SEAL;
		r = SKR_ERR_BACKUP_INVALID;
	}
out:
	if (flaw != NULL)
		*flaw = r == SKR_ERR_BACKUP_INVALID ? f : SKR_BACKUP_FLAW_NONE;
	skr_master_key_free(bk);
	return r;
}

int
skr_backup_encode(const skr_master_key *root,
    const uint8_t salt[SKR_BACKUP_SALT_LEN], const char *name,
    int64_t created, const skr_backup_version *v, size_t n, skr_buf *out)
{
	skr_buf payload = SKR_BUF_INIT_SECRET;
	int r;

	SKR_GUARD(skr_backup_payload_encode(name, created, v, n, &payload));
	SKR_GUARD(skr_backup_seal(root, salt, payload.data, payload.len, out));
out:
	skr_buf_free(&payload);
	return r;
}

int
skr_backup_decode(const skr_master_key *root, const uint8_t *blob,
    size_t n, skr_backup *out, skr_backup_flaw *flaw)
{
	skr_backup_flaw f = SKR_BACKUP_FLAW_NONE;
	int r;

	memset(out, 0, sizeof(*out));
	skr_buf_init_secret(&out->payload, 0);
	SKR_GUARD(skr_backup_open(root, blob, n, &out->payload, &f));
	SKR_GUARD(payload_parse(out, &f));
out:
	if (r != SKR_OK)
		skr_backup_clear(out);
	if (flaw != NULL)
		*flaw = f;
	return r;
}
