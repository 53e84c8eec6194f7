/*
 * Backup and restore of one key (docs/store.md, "Backup and the security
 * domain"): every version with its metadata and private material, sealed
 * under a key derived from the master key.
 */
#include "store_priv.h"

#include <string.h>
#include <strings.h>

#include "guard.h"
#include "random.h"
#include "seal.h"

#define LABEL_BACKUP "skr/v1/backup"
#define BACKUP_MAGIC "SKRB"
#define BACKUP_FORMAT 1
#define BACKUP_SALT_LEN 16
#define BACKUP_HDR_LEN (4 + 1 + BACKUP_SALT_LEN)
#define BACKUP_MAX_VERSIONS 100000

static int
backup_key(skr_store *st, const uint8_t salt[BACKUP_SALT_LEN],
    skr_master_key **out)
{
	return skr_master_key_derive(st->backup, salt, BACKUP_SALT_LEN,
	    LABEL_BACKUP, out);
}

static int
append_len(skr_buf *b, size_t n)
{
	uint8_t l[4];

	if (n > UINT32_MAX)
		return SKR_ERR_TOO_LARGE;
	be32_put(l, (uint32_t)n);
	return skr_buf_append(b, l, 4);
}

/*
 * Payload (sealed): u32 len || JSON {"format":1,"name","created",
 * "versions":[meta, ...]} || for each version u32 len || private bytes.
 */
int
skr_store_backup(skr_txn *txn, const char *name, skr_buf *out)
{
	char lc[SKR_KEY_NAME_MAX + 1];
	skr_buf dek = SKR_BUF_INIT_SECRET, payload = SKR_BUF_INIT_SECRET;
	skr_buf pt = SKR_BUF_INIT_SECRET;
	uint8_t hdr[BACKUP_HDR_LEN];
	skr_master_key *bk = NULL;
	json_t *rec = NULL, *doc = NULL, *vers = NULL, *meta = NULL;
	skr__ver_raw vr;
	uint32_t seq, latest;
	char *text = NULL;
	size_t i;
	int r;

	if (txn == NULL || out == NULL)
		return SKR_ERR_INVAL;
	SKR_GUARD(skr__version_resolve(txn, name, NULL, lc, &rec, &latest));
	SKR_GUARD(skr__dek_open(txn, lc, rec, &dek));
	doc = json_object();
	SKR_ENSURE(doc != NULL, SKR_ERR_NOMEM);
	/* vers is borrowed from doc from here on (jset takes it even when it
	 * fails). */
	vers = json_array();
	SKR_GUARD(jset(doc, "versions", vers));
	SKR_GUARD(jset(doc, "format", json_integer(BACKUP_FORMAT)));
	SKR_GUARD(jset(doc, "name", json_string(jstr(rec, "name"))));
	SKR_GUARD(jset(doc, "created", json_integer(jint(rec, "created"))));
	for (seq = 1; seq <= latest; seq++) {
		SKR_GUARD(skr__ver_get_raw(txn, lc, seq, &vr));
		SKR_GUARD(skr__ver_meta(&vr, &meta));
		SKR_ENSURE(json_array_append(vers, meta) == 0, SKR_ERR_NOMEM);
		json_decref(meta);
		meta = NULL;
	}
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	SKR_ENSURE(text != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(append_len(&payload, strlen(text)));
	SKR_GUARD(skr_buf_append_str(&payload, text));
	for (seq = 1; seq <= latest; seq++) {
		const char *vid;

		SKR_GUARD(skr__ver_get_raw(txn, lc, seq, &vr));
		vid = jstr(json_array_get(vers, seq - 1), "version");
		SKR_ENSURE(vid != NULL, SKR_ERR_STORE);
		skr_buf_reset(&pt);
		SKR_GUARD(skr__version_unseal(lc, vid, &dek, &vr, &pt));
		SKR_GUARD(append_len(&payload, pt.len));
		SKR_GUARD(skr_buf_append(&payload, pt.data, pt.len));
	}
	memcpy(hdr, BACKUP_MAGIC, 4);
	hdr[4] = BACKUP_FORMAT;
	SKR_GUARD(skr_random(hdr + 5, BACKUP_SALT_LEN));
	SKR_GUARD(backup_key(txn->st, hdr + 5, &bk));
	i = out->len;
	SKR_GUARD(skr_buf_append(out, hdr, sizeof(hdr)));
	r = skr_seal(skr_master_key_bytes(bk), hdr, sizeof(hdr), payload.data,
	    payload.len, out);
	if (r != SKR_OK)
		out->len = i;
out:
	free(text);
	json_decref(rec);
	json_decref(doc);
	json_decref(meta);
	skr_master_key_free(bk);
	skr_buf_free(&dek);
	skr_buf_free(&payload);
	skr_buf_free(&pt);
	return r;
}

/* Read a u32-length-prefixed field from p[*off..n). */
static int
take(const uint8_t *p, size_t n, size_t *off, const uint8_t **f, size_t *fl)
{
	uint32_t l;

	if (n - *off < 4)
		return SKR_ERR_BACKUP_INVALID;
	l = be32_get(p + *off);
	*off += 4;
	if (l > n - *off)
		return SKR_ERR_BACKUP_INVALID;
	*f = p + *off;
	*fl = l;
	*off += l;
	return SKR_OK;
}

/* Check one version's meta from a backup against the material it comes
 * with, and rebuild the parts the store derives (public JWK, bits, crv). */
static int
restore_meta(const json_t *in, const skr_key *key, json_t **out)
{
	skr_version_params p;
	const char *vid = jstr(in, "version"), *pol = jstr(in, "policy");
	json_t *m = NULL;
	int r;

	*out = NULL;
	if (vid == NULL || strlen(vid) != SKR_VERSION_LEN ||
	    skr_version_check(vid) != SKR_OK)
		return SKR_ERR_BACKUP_INVALID;
	if (skr_kty_parse(jstr(in, "kty") ? jstr(in, "kty") : "") !=
	    skr_key_kty(key))
		return SKR_ERR_BACKUP_INVALID;
	memset(&p, 0, sizeof(p));
	p.key_ops = json_object_get(in, "key_ops");
	p.tags = json_object_get(in, "tags");
	p.enabled = jbool(in, "enabled");
	p.nbf = jint(in, "nbf");
	p.exp = jint(in, "exp");
	p.exportable = jbool(in, "exportable");
	p.policy = pol;
	p.policy_len = pol != NULL ? json_string_length(json_object_get(in,
	    "policy")) : 0;
	p.policy_immutable = jbool(in, "immutable");
	if (skr__check_key_ops(p.key_ops) != SKR_OK ||
	    skr__check_tags(p.tags) != SKR_OK ||
	    skr__check_policy_rule(p.exportable, p.policy) != SKR_OK)
		return SKR_ERR_BACKUP_INVALID;
	if ((r = skr__meta_build(key, vid, &p, jint(in, "created"), &m)) !=
	    SKR_OK)
		return r;
	if ((r = jset(m, "updated", json_integer(jint(in, "updated")))) !=
	    SKR_OK) {
		json_decref(m);
		return r;
	}
	*out = m;
	return SKR_OK;
}

int
skr_store_restore(skr_txn *txn, const uint8_t *blob, size_t n,
    skr_version_info *out)
{
	char lc[SKR_KEY_NAME_MAX + 1], vid[SKR_VERSION_LEN + 1];
	skr_buf payload = SKR_BUF_INIT_SECRET, dek = SKR_BUF_INIT_SECRET;
	skr_master_key *bk = NULL;
	json_t *doc = NULL, *vers, *rec = NULL, *meta = NULL;
	skr_txn *sub = NULL;
	skr_key *key = NULL;
	const uint8_t *f;
	const char *name;
	size_t off = 0, fl, nv, i, j;
	int r, ex;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (txn == NULL || !txn->write || (blob == NULL && n > 0))
		return SKR_ERR_INVAL;
	if (n < BACKUP_HDR_LEN + SKR_SEAL_OVERHEAD ||
	    memcmp(blob, BACKUP_MAGIC, 4) != 0 || blob[4] != BACKUP_FORMAT)
		return SKR_ERR_BACKUP_INVALID;
	SKR_GUARD(backup_key(txn->st, blob + 5, &bk));
	r = skr_seal_open(skr_master_key_bytes(bk), blob, BACKUP_HDR_LEN,
	    blob + BACKUP_HDR_LEN, n - BACKUP_HDR_LEN, &payload);
	if (r == SKR_ERR_SEAL_OPEN || r == SKR_ERR_SEAL_FORMAT)
		r = SKR_ERR_BACKUP_INVALID;
	SKR_GUARD(r);
	/* Authenticated from here on, but still parsed defensively: a blob
	 * from an older or buggy writer must not crash the server. */
	SKR_ENSURE(take(payload.data, payload.len, &off, &f, &fl) == SKR_OK,
	    SKR_ERR_BACKUP_INVALID);
	doc = json_loadb((const char *)f, fl, JSON_REJECT_DUPLICATES, NULL);
	name = jstr(doc, "name");
	vers = json_object_get(doc, "versions");
	nv = json_array_size(vers);
	SKR_ENSURE(doc != NULL && jint(doc, "format") == BACKUP_FORMAT &&
	    name != NULL && json_is_array(vers) && nv > 0 &&
	    nv <= BACKUP_MAX_VERSIONS && skr__name_fold(name, lc) == SKR_OK,
	    SKR_ERR_BACKUP_INVALID);
	for (i = 0; i < nv; i++) {
		const char *a = jstr(json_array_get(vers, i), "version");
		for (j = 0; a != NULL && j < i; j++) {
			const char *b = jstr(json_array_get(vers, j),
			    "version");
			SKR_ENSURE(b == NULL || strcasecmp(a, b) != 0,
			    SKR_ERR_BACKUP_INVALID);
		}
	}
	SKR_GUARD(skr__store_sub_begin(txn, &sub));
	SKR_GUARD(skr__keyrec_exists(sub, DB_KEYS, lc, &ex));
	SKR_ENSURE(!ex, SKR_ERR_KEY_CONFLICT);
	SKR_GUARD(skr__keyrec_exists(sub, DB_DELETED, lc, &ex));
	SKR_ENSURE(!ex, SKR_ERR_KEY_CONFLICT);
	rec = json_object();
	SKR_ENSURE(rec != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(jset(rec, "name", json_string(name)));
	SKR_GUARD(jset(rec, "created", json_integer(jint(doc, "created"))));
	SKR_GUARD(jset(rec, "updated", json_integer(jint(doc, "created"))));
	SKR_GUARD(jset(rec, "latest", json_integer((json_int_t)nv)));
	SKR_GUARD(jset(rec, "count", json_integer((json_int_t)nv)));
	SKR_GUARD(skr__dek_new(sub, lc, &dek, rec));
	for (i = 0; i < nv; i++) {
		json_t *in = json_array_get(vers, i);
		skr_kty kty = skr_kty_parse(jstr(in, "kty") ? jstr(in, "kty") :
		    "");

		SKR_ENSURE(json_is_object(in) && kty != SKR_KTY_NONE &&
		    take(payload.data, payload.len, &off, &f, &fl) == SKR_OK &&
		    skr_key_from_private_bytes(kty, f, fl, &key) == SKR_OK,
		    SKR_ERR_BACKUP_INVALID);
		SKR_GUARD(restore_meta(in, key, &meta));
		skr__version_fold(jstr(in, "version"), vid);
		SKR_GUARD(skr__version_write(sub, lc, (uint32_t)(i + 1), vid,
		    meta, &dek, f, fl));
		if (i + 1 == nv && out != NULL)
			SKR_GUARD(skr__info_fill(rec, meta, out));
		json_decref(meta);
		meta = NULL;
		skr_key_free(key);
		key = NULL;
	}
	SKR_ENSURE(off == payload.len, SKR_ERR_BACKUP_INVALID);
	SKR_GUARD(skr__rec_put_json(sub, DB_KEYS, lc, strlen(lc), rec));
out:
	r = skr__store_sub_end(sub, r);
	if (r != SKR_OK && out != NULL)
		skr_version_info_clear(out);
	skr_key_free(key);
	skr_master_key_free(bk);
	json_decref(doc);
	json_decref(rec);
	json_decref(meta);
	skr_buf_free(&payload);
	skr_buf_free(&dek);
	return r;
}
