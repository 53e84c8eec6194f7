/*
 * Backup and restore of one key (docs/store.md, "Backup and the security
 * domain"): every version with its metadata and private material, in the
 * blob format of backup_codec.h, sealed under a key derived from the
 * master key.  This file holds what the store makes of it.
 */
#include "store_priv.h"

#include <stdlib.h>
#include <string.h>

#include "backup_codec.h"
#include "guard.h"
#include "random.h"

int
skr_store_backup(skr_txn *txn, const char *name, skr_buf *out)
{
	char lc[SKR_KEY_NAME_MAX + 1];
	skr_buf dek = SKR_BUF_INIT_SECRET, mat = SKR_BUF_INIT_SECRET;
	uint8_t salt[SKR_BACKUP_SALT_LEN];
	skr_backup_version *v = NULL;
	json_t *rec = NULL;
	skr__ver_raw vr;
	uint32_t seq, latest = 0;
	size_t off;
	int r;

	if (txn == NULL || out == NULL)
		return SKR_ERR_INVAL;
	SKR_GUARD(skr__version_resolve(txn, name, NULL, lc, &rec, &latest));
	SKR_GUARD(skr__dek_open(txn, lc, rec, &dek));
	v = calloc(latest, sizeof(*v));
	SKR_ENSURE(v != NULL, SKR_ERR_NOMEM);
	/* Every version's material goes into mat, one after the other. */
	for (seq = 1; seq <= latest; seq++) {
		skr_backup_version *bv = &v[seq - 1];
		const char *vid;

		SKR_GUARD(skr__ver_get_raw(txn, lc, seq, &vr));
		SKR_GUARD(skr__ver_meta(&vr, &bv->meta));
		vid = jstr(bv->meta, "version");
		SKR_ENSURE(vid != NULL, SKR_ERR_STORE);
		off = mat.len;
		SKR_GUARD(skr__version_unseal(lc, vid, &dek, &vr, &mat));
		bv->privlen = mat.len - off;
	}
	for (off = 0, seq = 0; seq < latest; seq++) {
		v[seq].priv = mat.data + off;
		off += v[seq].privlen;
	}
	SKR_GUARD(skr_random(salt, sizeof(salt)));
	SKR_GUARD(skr_backup_encode(txn->st->backup, salt, jstr(rec, "name"),
	    jint(rec, "created"), v, latest, out));
out:
	for (seq = 0; v != NULL && seq < latest; seq++)
		json_decref(v[seq].meta);
	free(v);
	json_decref(rec);
	skr_buf_free(&dek);
	skr_buf_free(&mat);
	return r;
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
	SKR_ENSURE(skr_kty_parse(jstr(in, "kty")) == skr_key_kty(key),
	    SKR_ERR_BACKUP_INVALID);
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
	SKR_ENSURE(skr__check_key_ops(p.key_ops) == SKR_OK &&
	    skr__check_tags(p.tags) == SKR_OK &&
	    skr__check_policy_rule(p.exportable, p.policy) == SKR_OK,
	    SKR_ERR_BACKUP_INVALID);
	SKR_GUARD(skr__meta_build(key, vid, &p, jint(in, "created"), &m));
	SKR_GUARD(jset(m, "updated", json_integer(jint(in, "updated"))));
	*out = m;
	m = NULL;
out:
	json_decref(m);
	return r;
}

int
skr_store_restore(skr_txn *txn, const uint8_t *blob, size_t n,
    skr_version_info *out)
{
	char lc[SKR_KEY_NAME_MAX + 1], vid[SKR_VERSION_LEN + 1];
	skr_buf dek = SKR_BUF_INIT_SECRET;
	skr_backup b;
	json_t *rec = NULL, *meta = NULL;
	skr_txn *sub = NULL;
	skr_key *key = NULL;
	size_t i;
	int r, ex;

	memset(&b, 0, sizeof(b));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (txn == NULL || !txn->write || (blob == NULL && n > 0))
		return SKR_ERR_INVAL;
	/* Authenticated and well-formed from here on; what the versions say
	 * is still checked against the store's rules below. */
	SKR_GUARD(skr_backup_decode(txn->st->backup, blob, n, &b, NULL));
	SKR_GUARD(skr__name_fold(b.name, lc));
	SKR_GUARD(skr__store_sub_begin(txn, &sub));
	SKR_GUARD(skr__keyrec_exists(sub, DB_KEYS, lc, &ex));
	SKR_ENSURE(!ex, SKR_ERR_KEY_CONFLICT);
	SKR_GUARD(skr__keyrec_exists(sub, DB_DELETED, lc, &ex));
	SKR_ENSURE(!ex, SKR_ERR_KEY_CONFLICT);
	rec = json_object();
	SKR_ENSURE(rec != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(jset(rec, "name", json_string(b.name)));
	SKR_GUARD(jset(rec, "created", json_integer(b.created)));
	SKR_GUARD(jset(rec, "updated", json_integer(b.created)));
	SKR_GUARD(jset(rec, "latest", json_integer((json_int_t)b.n)));
	SKR_GUARD(jset(rec, "count", json_integer((json_int_t)b.n)));
	SKR_GUARD(skr__dek_new(sub, lc, &dek, rec));
	for (i = 0; i < b.n; i++) {
		const skr_backup_version *bv = &b.versions[i];

		SKR_ENSURE(skr_key_from_private_bytes(skr_kty_parse(
		    jstr(bv->meta, "kty")), bv->priv, bv->privlen, &key) ==
		    SKR_OK, SKR_ERR_BACKUP_INVALID);
		SKR_GUARD(restore_meta(bv->meta, key, &meta));
		skr__version_fold(jstr(bv->meta, "version"), vid);
		SKR_GUARD(skr__version_write(sub, lc, (uint32_t)(i + 1), vid,
		    meta, &dek, bv->priv, bv->privlen));
		if (i + 1 == b.n && out != NULL)
			SKR_GUARD(skr__info_fill(rec, meta, out));
		json_decref(meta);
		meta = NULL;
		skr_key_free(key);
		key = NULL;
	}
	SKR_GUARD(skr__rec_put_json(sub, DB_KEYS, lc, strlen(lc), rec));
out:
	r = skr__store_sub_end(sub, r);
	if (r != SKR_OK && out != NULL)
		skr_version_info_clear(out);
	skr_key_free(key);
	skr_backup_clear(&b);
	json_decref(rec);
	json_decref(meta);
	skr_buf_free(&dek);
	return r;
}
