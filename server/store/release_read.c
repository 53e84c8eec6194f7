/*
 * The read of a release (store.h, skr_store_release_read): the key record
 * and one version record, each checked under its MAC once and read with
 * jdoc (keys/jdoc.h) rather than parsed into jansson trees, the version
 * chosen as skr_store_version_current or skr__version_resolve choose it,
 * and the version's private material unsealed from the same snapshot only
 * when the release goes ahead.  The stamp (the records' MACs) is how the
 * transaction that commits the release's audit record tells, without
 * parsing anything, that nothing it decided from was written since
 * (server/release.c, recheck).
 */
#include "store_priv.h"

#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "jdoc.h"

/* A verified record read as a document; the document points into LMDB's
 * memory, valid until the transaction ends. */
static int
rec_doc(skr_txn *txn, int db, const void *k, size_t kl, const uint8_t **v,
    size_t *vl, uint8_t mac[MAC_LEN])
{
	int r;

	if ((r = skr__raw_get(txn, db, k, kl, v, vl)) != SKR_OK)
		return r;
	if (*vl < MAC_LEN)
		return SKR_ERR_SEAL_OPEN;
	memcpy(mac, *v + *vl - MAC_LEN, MAC_LEN);
	return skr__rec_verify(txn->st, db, k, kl, *v, vl);
}

static int64_t
dint(const skr_jdoc *d, const skr_jnode *o, const char *k)
{
	const skr_jnode *v = skr_jdoc_get(d, o, k);

	return v != NULL && v->type == SKR_JINT ? v->i : 0;
}

static int
dbool(const skr_jdoc *d, const skr_jnode *o, const char *k)
{
	const skr_jnode *v = skr_jdoc_get(d, o, k);

	return v != NULL && v->type == SKR_JTRUE;
}

/* copy_str of a string member; absent or not a string is "". */
static int
dstr(const skr_jdoc *d, const skr_jnode *o, const char *k, char *dst,
    size_t dstlen)
{
	const skr_jnode *v = skr_jdoc_get(d, o, k);

	if (v == NULL || v->type != SKR_JSTRING) {
		dst[0] = '\0';
		return SKR_OK;
	}
	if (v->len >= dstlen)
		return SKR_ERR_STORE;
	memcpy(dst, v->str, v->len);
	dst[v->len] = '\0';
	return SKR_OK;
}

static json_t *
dtree(const skr_jdoc *d, const skr_jnode *o, const char *k)
{
	const skr_jnode *v = skr_jdoc_get(d, o, k);

	return v != NULL ? skr_jdoc_to_json(d, v) : NULL;
}

/* skr__info_fill from documents: the same fields, the same rules. */
static int
info_fill(const skr_jdoc *kd, const skr_jdoc *md, skr_version_info *vi)
{
	const skr_jnode *rec = skr_jdoc_root(kd), *meta = skr_jdoc_root(md);
	const skr_jnode *pol;
	char kty[16];
	int r;

	memset(vi, 0, sizeof(*vi));
	SKR_GUARD(dstr(kd, rec, "name", vi->name, sizeof(vi->name)));
	SKR_GUARD(dstr(md, meta, "version", vi->version, sizeof(vi->version)));
	SKR_GUARD(dstr(md, meta, "crv", vi->crv, sizeof(vi->crv)));
	vi->kty = dstr(md, meta, "kty", kty, sizeof(kty)) == SKR_OK ?
	    skr_kty_parse(kty) : SKR_KTY_NONE;
	vi->bits = (int)dint(md, meta, "bits");
	vi->attrs.enabled = dbool(md, meta, "enabled");
	vi->attrs.nbf = dint(md, meta, "nbf");
	vi->attrs.exp = dint(md, meta, "exp");
	vi->attrs.created = dint(md, meta, "created");
	vi->attrs.updated = dint(md, meta, "updated");
	vi->attrs.exportable = dbool(md, meta, "exportable");
	vi->key_ops = dtree(md, meta, "key_ops");
	vi->tags = dtree(md, meta, "tags");
	vi->public_jwk = dtree(md, meta, "jwk");
	SKR_ENSURE(vi->key_ops != NULL && vi->tags != NULL &&
	    vi->public_jwk != NULL, SKR_ERR_NOMEM);
	pol = skr_jdoc_get(md, meta, "policy");
	if (pol != NULL && pol->type == SKR_JSTRING) {
		vi->policy_len = pol->len;
		SKR_ENSURE((vi->policy = malloc(pol->len + 1)) != NULL,
		    SKR_ERR_NOMEM);
		memcpy(vi->policy, pol->str, pol->len);
		vi->policy[pol->len] = '\0';
	}
	vi->policy_immutable = dbool(md, meta, "immutable");
	vi->key_created = dint(kd, rec, "created");
	vi->nversions = (uint32_t)dint(kd, rec, "count");
out:
	if (r != SKR_OK)
		skr_version_info_clear(vi);
	return r;
}

/* The meta part of version record v (vl bytes, MAC stripped). */
static int
meta_doc(const uint8_t *v, size_t vl, skr_jdoc *md)
{
	uint32_t ml;

	if (vl < 4)
		return SKR_ERR_STORE;
	ml = be32_get(v);
	if (ml > vl - 4)
		return SKR_ERR_STORE;
	if (skr_jdoc_parse(md, (const char *)v + 4, ml, 0) != SKR_OK ||
	    skr_jdoc_root(md)->type != SKR_JOBJECT)
		return SKR_ERR_STORE;
	return SKR_OK;
}

static int
usable(const skr_jdoc *md, int64_t now)
{
	const skr_jnode *m = skr_jdoc_root(md);
	int64_t nbf = dint(md, m, "nbf"), exp = dint(md, m, "exp");

	return dbool(md, m, "enabled") && (nbf == 0 || nbf <= now) &&
	    (exp == 0 || now < exp);
}

int
skr_store_release_read(skr_txn *txn, const char *name, const char *version,
    int64_t now, skr_version_info *vi, skr_store_stamp *stamp)
{
	skr_jdoc kd = SKR_JDOC_INIT, md = SKR_JDOC_INIT;
	char vid[SKR_VERSION_LEN + 1];
	uint8_t k[VKEY_MAX > IKEY_MAX ? VKEY_MAX : IKEY_MAX];
	const uint8_t *v;
	size_t vl;
	uint32_t seq;
	int named = version != NULL && *version != '\0', found, r;

	memset(vi, 0, sizeof(*vi));
	memset(stamp, 0, sizeof(*stamp));
	if (txn == NULL)
		return SKR_ERR_INVAL;
	SKR_GUARD(skr__name_fold(name, stamp->lc));
	r = rec_doc(txn, DB_KEYS, stamp->lc, strlen(stamp->lc), &v, &vl,
	    stamp->key_mac);
	SKR_ENSURE(r != SKR_ERR_NOT_FOUND, SKR_ERR_KEY_NOT_FOUND);
	SKR_GUARD(r);
	SKR_ENSURE(skr_jdoc_parse(&kd, (const char *)v, vl, 0) == SKR_OK &&
	    skr_jdoc_root(&kd)->type == SKR_JOBJECT, SKR_ERR_STORE);
	if (named) {
		SKR_GUARD(skr_version_check(version));
		skr__version_fold(version, vid);
		r = skr__rec_get(txn, DB_VINDEX, k, skr__ikey(stamp->lc, vid,
		    k), &v, &vl);
		SKR_ENSURE(r != SKR_ERR_NOT_FOUND, SKR_ERR_VERSION_NOT_FOUND);
		SKR_GUARD(r);
		SKR_ENSURE(vl == 4, SKR_ERR_STORE);
		seq = be32_get(v);
	} else {
		seq = (uint32_t)dint(&kd, skr_jdoc_root(&kd), "latest");
		SKR_ENSURE(seq != 0, SKR_ERR_STORE);
	}
	/* Named: that version, usable now.  Not named: the newest usable
	 * one; versions are never removed one by one, so 1..latest all
	 * exist. */
	for (found = 0; seq > 0 && !found; seq -= !found) {
		r = rec_doc(txn, DB_VERSIONS, k, skr__vkey(stamp->lc, seq, k),
		    &v, &vl, stamp->version_mac);
		SKR_ENSURE(r != SKR_ERR_NOT_FOUND, SKR_ERR_STORE);
		SKR_GUARD(r);
		SKR_GUARD(meta_doc(v, vl, &md));
		found = usable(&md, now);
		if (named && !found)
			break;
	}
	SKR_ENSURE(found, SKR_ERR_KEY_DISABLED);
	stamp->seq = seq;
	r = info_fill(&kd, &md, vi);
out:
	skr_jdoc_free(&kd);
	skr_jdoc_free(&md);
	return r;
}

/* The raw records of stamp, with their MACs compared (not recomputed):
 * equal MACs mean the very records that were verified. */
static int
stamped(skr_txn *txn, const skr_store_stamp *stamp, const uint8_t **kv,
    size_t *kvl, const uint8_t **vv, size_t *vvl)
{
	uint8_t k[VKEY_MAX];
	int r;

	if ((r = skr__raw_get(txn, DB_KEYS, stamp->lc, strlen(stamp->lc), kv,
	    kvl)) != SKR_OK)
		return r;
	if ((r = skr__raw_get(txn, DB_VERSIONS, k, skr__vkey(stamp->lc,
	    stamp->seq, k), vv, vvl)) != SKR_OK)
		return r;
	if (*kvl < MAC_LEN || *vvl < MAC_LEN ||
	    !skr_ct_equal(*kv + *kvl - MAC_LEN, stamp->key_mac, MAC_LEN) ||
	    !skr_ct_equal(*vv + *vvl - MAC_LEN, stamp->version_mac, MAC_LEN))
		return SKR_ERR_CONFLICT;
	*kvl -= MAC_LEN;
	*vvl -= MAC_LEN;
	return SKR_OK;
}

int
skr_store_release_unchanged(skr_txn *txn, const skr_store_stamp *stamp)
{
	const uint8_t *kv, *vv;
	size_t kvl, vvl;

	return txn != NULL && stamp != NULL && stamp->seq != 0 &&
	    stamped(txn, stamp, &kv, &kvl, &vv, &vvl) == SKR_OK;
}

int
skr_store_release_unseal(skr_txn *txn, const skr_version_info *vi,
    const skr_store_stamp *stamp, skr_key **out)
{
	skr_buf dek = SKR_BUF_INIT_SECRET, pt = SKR_BUF_INIT_SECRET;
	skr_jdoc kd = SKR_JDOC_INIT;
	const skr_jnode *s;
	skr__ver_raw vr;
	const uint8_t *kv, *vv;
	size_t kvl, vvl;
	uint32_t ml;
	int r;

	*out = NULL;
	if (txn == NULL || vi == NULL || stamp == NULL || stamp->seq == 0)
		return SKR_ERR_INVAL;
	if (vi->kty == SKR_KTY_NONE || vi->version[0] == '\0')
		return SKR_ERR_STORE;
	r = stamped(txn, stamp, &kv, &kvl, &vv, &vvl);
	SKR_ENSURE(r != SKR_ERR_CONFLICT && r != SKR_ERR_NOT_FOUND,
	    SKR_ERR_STORE);
	SKR_GUARD(r);
	SKR_ENSURE(vvl >= 4 && (ml = be32_get(vv)) <= vvl - 4, SKR_ERR_STORE);
	vr.meta = vv + 4;
	vr.metalen = ml;
	vr.sealed = vv + 4 + ml;
	vr.sealedlen = vvl - 4 - ml;
	SKR_ENSURE(skr_jdoc_parse(&kd, (const char *)kv, kvl, 0) == SKR_OK,
	    SKR_ERR_STORE);
	s = skr_jdoc_get(&kd, skr_jdoc_root(&kd), "dek");
	SKR_ENSURE(s != NULL && s->type == SKR_JSTRING, SKR_ERR_STORE);
	SKR_GUARD(skr__dek_open_text(txn, stamp->lc, s->str, s->len,
	    skr__rec_gen(dint(&kd, skr_jdoc_root(&kd), "g")), &dek));
	SKR_GUARD(skr__version_unseal(stamp->lc, vi->version, &dek, &vr,
	    &pt));
	SKR_GUARD(skr_key_from_private_bytes(vi->kty, pt.data, pt.len, out));
out:
	skr_jdoc_free(&kd);
	skr_buf_free(&dek);
	skr_buf_free(&pt);
	return r;
}
