/*
 * Keys and their versions (docs/store.md, "Databases" and "Sealing"): the
 * key record and its data key, version records with their sealed material
 * and index, the metadata rules of store.h, and adding, reading, opening
 * and updating versions.  Only skr_store_version_open (and backup, through
 * skr__version_unseal) ever unseals private material.
 */
#include "store_priv.h"

#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "guard.h"
#include "random.h"
#include "seal.h"

/* Associated data prefixes; the trailing NUL is part of each. */
#define AAD_DEK "skr/v1/dek"
#define AAD_VERSION "skr/v1/version"

#define DEK_LEN SKR_SEAL_KEY_LEN

/* AAD for a data key: "skr/v1/dek" NUL folded-name. */
static int
aad_dek(const char *lc, skr_buf *aad)
{
	int r;

	if ((r = skr_buf_append(aad, AAD_DEK, sizeof(AAD_DEK))) != SKR_OK)
		return r;
	return skr_buf_append_str(aad, lc);
}

/* AAD for version material: "skr/v1/version" NUL name NUL version. */
static int
aad_version(const char *lc, const char *version, skr_buf *aad)
{
	int r;

	if ((r = skr_buf_append(aad, AAD_VERSION, sizeof(AAD_VERSION))) !=
	    SKR_OK ||
	    (r = skr_buf_append(aad, lc, strlen(lc) + 1)) != SKR_OK)
		return r;
	return skr_buf_append_str(aad, version);
}

size_t
skr__vkey(const char *lc, uint32_t seq, uint8_t *k)
{
	size_t n = strlen(lc);

	memcpy(k, lc, n);
	k[n] = 0;
	be32_put(k + n + 1, seq);
	return n + 5;
}

size_t
skr__ikey(const char *lc, const char *version, uint8_t *k)
{
	size_t n = strlen(lc);

	memcpy(k, lc, n);
	k[n] = 0;
	memcpy(k + n + 1, version, SKR_VERSION_LEN);
	return n + 1 + SKR_VERSION_LEN;
}

/* The generation a key record's data key is sealed under: "g", or 1 for
 * records made before generations (docs/sealing.md). */
uint32_t
skr__rec_gen(int64_t g)
{
	return g > 0 && g <= UINT32_MAX ? (uint32_t)g : 1;
}

/* Unseal a key's data key (the key record's "dek") into dek, with the key
 * of the generation the record names. */
int
skr__dek_open(skr_txn *txn, const char *lc, const json_t *rec, skr_buf *dek)
{
	const char *s = jstr(rec, "dek");

	if (s == NULL)
		return SKR_ERR_STORE;
	return skr__dek_open_text(txn, lc, s, strlen(s),
	    skr__rec_gen(jint(rec, "g")), dek);
}

int
skr__dek_open_text(skr_txn *txn, const char *lc, const char *s, size_t n,
    uint32_t g, skr_buf *dek)
{
	skr_buf sealed = SKR_BUF_INIT, aad = SKR_BUF_INIT;
	skr_store *st = txn->st;
	const skr_master_key *kek;
	int r;

	SKR_GUARD(skr_b64url_decode(&sealed, s, n));
	SKR_GUARD(aad_dek(lc, &aad));
	pthread_rwlock_rdlock(&st->keklock);
	kek = g == st->gen ? st->kek : g == st->gen_old ? st->kek_old : NULL;
	r = kek == NULL ? SKR_ERR_SEAL_OPEN :
	    skr_seal_open(skr_master_key_bytes(kek), aad.data, aad.len,
	    sealed.data, sealed.len, dek);
	pthread_rwlock_unlock(&st->keklock);
	SKR_GUARD(r);
	if (dek->len != DEK_LEN)
		r = SKR_ERR_SEAL_OPEN;
out:
	skr_buf_free(&sealed);
	skr_buf_free(&aad);
	return r;
}

/* Seal dek under the current generation into rec's "dek" and "g" (left
 * out for generation 1, so such records stay as they were). */
static int
dek_seal(skr_txn *txn, const char *lc, const skr_buf *dek, json_t *rec)
{
	skr_buf sealed = SKR_BUF_INIT, aad = SKR_BUF_INIT, text = SKR_BUF_INIT;
	skr_store *st = txn->st;
	uint32_t g;
	int r;

	SKR_GUARD(aad_dek(lc, &aad));
	pthread_rwlock_rdlock(&st->keklock);
	g = st->gen;
	r = skr_seal(skr_master_key_bytes(st->kek), aad.data, aad.len,
	    dek->data, dek->len, &sealed);
	pthread_rwlock_unlock(&st->keklock);
	SKR_GUARD(r);
	SKR_GUARD(skr_b64url_encode(&text, sealed.data, sealed.len));
	SKR_GUARD(jset(rec, "dek", json_string(skr_buf_cstr(&text))));
	if (g == 1)
		json_object_del(rec, "g");
	else
		SKR_GUARD(jset(rec, "g", json_integer((json_int_t)g)));
out:
	skr_buf_free(&sealed);
	skr_buf_free(&aad);
	skr_buf_free(&text);
	return r;
}

/* Make a new data key and its sealed form for folded name lc. */
int
skr__dek_new(skr_txn *txn, const char *lc, skr_buf *dek, json_t *rec)
{
	int r;

	SKR_GUARD(skr_buf_reserve(dek, DEK_LEN));
	SKR_GUARD(skr_random(dek->data, DEK_LEN));
	dek->len = DEK_LEN;
	dek->data[DEK_LEN] = 0;
	SKR_GUARD(dek_seal(txn, lc, dek, rec));
out:
	return r;
}

int
skr__dek_rewrap(skr_txn *txn, const char *lc, json_t *rec, int *moved)
{
	skr_buf dek = SKR_BUF_INIT_SECRET;
	uint32_t cur;
	int r;

	*moved = 0;
	pthread_rwlock_rdlock(&txn->st->keklock);
	cur = txn->st->gen;
	pthread_rwlock_unlock(&txn->st->keklock);
	if (skr__rec_gen(jint(rec, "g")) == cur)
		return SKR_OK;
	SKR_GUARD(skr__dek_open(txn, lc, rec, &dek));
	SKR_GUARD(dek_seal(txn, lc, &dek, rec));
	*moved = 1;
out:
	skr_buf_free(&dek);
	return r;
}

int
skr__ver_get_raw(skr_txn *txn, const char *lc, uint32_t seq, skr__ver_raw *vr)
{
	uint8_t k[VKEY_MAX];
	const uint8_t *v;
	size_t vl, kl = skr__vkey(lc, seq, k);
	uint32_t ml;
	int r;

	if ((r = skr__rec_get(txn, DB_VERSIONS, k, kl, &v, &vl)) != SKR_OK)
		return r == SKR_ERR_NOT_FOUND ? SKR_ERR_STORE : r;
	if (vl < 4)
		return SKR_ERR_STORE;
	ml = be32_get(v);
	if (ml > vl - 4)
		return SKR_ERR_STORE;
	vr->meta = v + 4;
	vr->metalen = ml;
	vr->sealed = v + 4 + ml;
	vr->sealedlen = vl - 4 - ml;
	return SKR_OK;
}

static int
ver_put(skr_txn *txn, const char *lc, uint32_t seq, const json_t *meta,
    const uint8_t *sealed, size_t sealedlen)
{
	uint8_t k[VKEY_MAX], len[4];
	skr_buf v = SKR_BUF_INIT;
	size_t kl = skr__vkey(lc, seq, k);
	char *m;
	int r;

	if ((m = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return SKR_ERR_NOMEM;
	be32_put(len, (uint32_t)strlen(m));
	SKR_GUARD(skr_buf_append(&v, len, 4));
	SKR_GUARD(skr_buf_append_str(&v, m));
	SKR_GUARD(skr_buf_append(&v, sealed, sealedlen));
	r = skr__rec_put(txn, DB_VERSIONS, k, kl, v.data, v.len);
out:
	free(m);
	skr_buf_free(&v);
	return r;
}

int
skr__ver_meta(const skr__ver_raw *vr, json_t **out)
{
	*out = json_loadb((const char *)vr->meta, vr->metalen,
	    JSON_REJECT_DUPLICATES, NULL);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return SKR_ERR_STORE;
	}
	return SKR_OK;
}

void
skr_version_info_clear(skr_version_info *vi)
{
	if (vi == NULL)
		return;
	json_decref(vi->key_ops);
	json_decref(vi->tags);
	json_decref(vi->public_jwk);
	free(vi->policy);
	memset(vi, 0, sizeof(*vi));
}

/* Fill vi from a key record and a version's meta. */
int
skr__info_fill(const json_t *rec, const json_t *meta, skr_version_info *vi)
{
	const char *pol;
	int r;

	memset(vi, 0, sizeof(*vi));
	SKR_GUARD(copy_str(vi->name, sizeof(vi->name), jstr(rec, "name")));
	SKR_GUARD(copy_str(vi->version, sizeof(vi->version),
	    jstr(meta, "version")));
	SKR_GUARD(copy_str(vi->crv, sizeof(vi->crv), jstr(meta, "crv")));
	vi->kty = skr_kty_parse(jstr(meta, "kty") ? jstr(meta, "kty") : "");
	vi->bits = (int)jint(meta, "bits");
	vi->attrs.enabled = jbool(meta, "enabled");
	vi->attrs.nbf = jint(meta, "nbf");
	vi->attrs.exp = jint(meta, "exp");
	vi->attrs.created = jint(meta, "created");
	vi->attrs.updated = jint(meta, "updated");
	vi->attrs.exportable = jbool(meta, "exportable");
	vi->key_ops = json_deep_copy(json_object_get(meta, "key_ops"));
	vi->tags = json_deep_copy(json_object_get(meta, "tags"));
	vi->public_jwk = json_deep_copy(json_object_get(meta, "jwk"));
	SKR_ENSURE(vi->key_ops != NULL && vi->tags != NULL &&
	    vi->public_jwk != NULL, SKR_ERR_NOMEM);
	if ((pol = jstr(meta, "policy")) != NULL) {
		vi->policy_len = json_string_length(json_object_get(meta,
		    "policy"));
		vi->policy = malloc(vi->policy_len + 1);
		SKR_ENSURE(vi->policy != NULL, SKR_ERR_NOMEM);
		memcpy(vi->policy, pol, vi->policy_len);
		vi->policy[vi->policy_len] = '\0';
	}
	vi->policy_immutable = jbool(meta, "immutable");
	vi->key_created = jint(rec, "created");
	vi->nversions = (uint32_t)jint(rec, "count");
	if (json_object_get(rec, "deleted") != NULL) {
		vi->deleted = 1;
		vi->deleted_date = jint(rec, "deleted");
		vi->scheduled_purge_date = jint(rec, "purge");
	}
out:
	if (r != SKR_OK)
		skr_version_info_clear(vi);
	return r;
}

int
skr__info_load(skr_txn *txn, const char *lc, const json_t *rec, uint32_t seq,
    skr_version_info *vi)
{
	skr__ver_raw vr;
	json_t *meta = NULL;
	int r;

	if ((r = skr__ver_get_raw(txn, lc, seq, &vr)) != SKR_OK ||
	    (r = skr__ver_meta(&vr, &meta)) != SKR_OK)
		return r;
	r = skr__info_fill(rec, meta, vi);
	json_decref(meta);
	return r;
}

int
skr__keyrec_get(skr_txn *txn, int db, const char *lc, json_t **rec)
{
	int r = skr__rec_get_json(txn, db, lc, strlen(lc), rec);

	return r == SKR_ERR_NOT_FOUND ? SKR_ERR_KEY_NOT_FOUND : r;
}

/* Resolve version (NULL/"" = latest) of a live key to its seq. */
int
skr__version_resolve(skr_txn *txn, const char *name, const char *version,
    char *lc, json_t **rec, uint32_t *seq)
{
	char vid[SKR_VERSION_LEN + 1];
	uint8_t k[IKEY_MAX];
	const uint8_t *v;
	size_t vl;
	int r;

	*rec = NULL;
	SKR_GUARD(skr__name_fold(name, lc));
	SKR_GUARD(skr__keyrec_get(txn, DB_KEYS, lc, rec));
	if (version == NULL || *version == '\0') {
		*seq = (uint32_t)jint(*rec, "latest");
		SKR_ENSURE(*seq != 0, SKR_ERR_STORE);
	} else {
		SKR_GUARD(skr_version_check(version));
		skr__version_fold(version, vid);
		r = skr__rec_get(txn, DB_VINDEX, k, skr__ikey(lc, vid, k), &v, &vl);
		if (r == SKR_ERR_NOT_FOUND)
			r = SKR_ERR_VERSION_NOT_FOUND;
		SKR_GUARD(r);
		SKR_ENSURE(vl == 4, SKR_ERR_STORE);
		*seq = be32_get(v);
	}
out:
	if (r != SKR_OK) {
		json_decref(*rec);
		*rec = NULL;
	}
	return r;
}

/* ---- validation of caller input ------------------------------------------ */

static const char *const known_ops[] = {
	"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey",
	"import", "export",
};

int
skr__check_key_ops(const json_t *ops)
{
	size_t i, j;
	json_t *v;

	if (!json_is_array(ops) || json_array_size(ops) >
	    sizeof(known_ops) / sizeof(known_ops[0]))
		return SKR_ERR_BAD_REQUEST;
	json_array_foreach(ops, i, v) {
		const char *s = json_string_value(v);
		if (s == NULL)
			return SKR_ERR_BAD_REQUEST;
		for (j = 0; j < sizeof(known_ops) / sizeof(known_ops[0]); j++)
			if (strcmp(s, known_ops[j]) == 0)
				break;
		if (j == sizeof(known_ops) / sizeof(known_ops[0]))
			return SKR_ERR_BAD_REQUEST;
	}
	return SKR_OK;
}

/* Key Vault: at most 15 tags, names up to 512 and values up to 256
 * characters. */
int
skr__check_tags(const json_t *tags)
{
	const char *k;
	json_t *v;

	if (!json_is_object(tags) || json_object_size(tags) > SKR_TAGS_MAX)
		return SKR_ERR_BAD_REQUEST;
	json_object_foreach((json_t *)tags, k, v) {
		if (!json_is_string(v) || strlen(k) == 0 || strlen(k) > 512 ||
		    json_string_length(v) > 256)
			return SKR_ERR_BAD_REQUEST;
	}
	return SKR_OK;
}

int
skr__check_policy_rule(int exportable, const char *policy)
{
	if (exportable && policy == NULL)
		return SKR_ERR_KEY_POLICY_REQUIRED;
	if (!exportable && policy != NULL)
		return SKR_ERR_KEY_POLICY_FORBIDDEN;
	return SKR_OK;
}

static json_t *
default_ops(skr_kty kty)
{
	switch (kty) {
	case SKR_KTY_RSA:
		return json_pack("[ssssss]", "encrypt", "decrypt", "sign",
		    "verify", "wrapKey", "unwrapKey");
	case SKR_KTY_EC:
		return json_pack("[ss]", "sign", "verify");
	case SKR_KTY_OCT:
		return json_pack("[ssss]", "encrypt", "decrypt", "wrapKey",
		    "unwrapKey");
	default:
		return NULL;
	}
}

static json_t *
public_jwk(const skr_key *key)
{
	json_t *jwk = skr_jwk_emit(key, 0);

	if (jwk != NULL) {
		json_object_del(jwk, "kid");
		/* Belt and braces: the public form never carries these. */
		json_object_del(jwk, "d");
		json_object_del(jwk, "k");
	}
	return jwk;
}

/* Build the meta JSON of a version. */
int
skr__meta_build(const skr_key *key, const char *version,
    const skr_version_params *p, int64_t now, json_t **out)
{
	json_t *m = NULL, *ops, *tags;
	const char *crv;
	int r;

	*out = NULL;
	ops = p->key_ops != NULL ? json_deep_copy(p->key_ops) :
	    default_ops(skr_key_kty(key));
	tags = p->tags != NULL ? json_deep_copy(p->tags) : json_object();
	m = json_object();
	SKR_ENSURE(m != NULL, SKR_ERR_NOMEM);
	crv = skr_key_crv(key);
	SKR_GUARD(jset(m, "version", json_string(version)));
	SKR_GUARD(jset(m, "kty",
	    json_string(skr_kty_name(skr_key_kty(key), 0))));
	SKR_GUARD(jset(m, "bits", json_integer(skr_key_bits(key))));
	if (crv != NULL)
		SKR_GUARD(jset(m, "crv", json_string(crv)));
	r = jset(m, "key_ops", ops);
	ops = NULL;
	SKR_GUARD(r);
	r = jset(m, "tags", tags);
	tags = NULL;
	SKR_GUARD(r);
	SKR_GUARD(jset(m, "enabled", json_boolean(p->enabled)));
	SKR_GUARD(jset(m, "nbf", json_integer(p->nbf)));
	SKR_GUARD(jset(m, "exp", json_integer(p->exp)));
	SKR_GUARD(jset(m, "created", json_integer(now)));
	SKR_GUARD(jset(m, "updated", json_integer(now)));
	SKR_GUARD(jset(m, "exportable", json_boolean(p->exportable)));
	if (p->policy != NULL) {
		json_t *s = json_stringn(p->policy, p->policy_len);
		SKR_ENSURE(s != NULL, SKR_ERR_BAD_REQUEST); /* not UTF-8 */
		SKR_GUARD(jset(m, "policy", s));
	}
	SKR_GUARD(jset(m, "immutable", json_boolean(p->policy != NULL &&
	    p->policy_immutable)));
	SKR_GUARD(jset(m, "jwk", public_jwk(key)));
	*out = m;
	m = NULL;
out:
	json_decref(ops);
	json_decref(tags);
	json_decref(m);
	return r;
}

/* Seal private bytes pt of version vid of key lc under dek. */
static int
seal_version(const char *lc, const char *vid, const skr_buf *dek,
    const uint8_t *pt, size_t n, skr_buf *sealed)
{
	skr_buf aad = SKR_BUF_INIT;
	int r;

	if ((r = aad_version(lc, vid, &aad)) == SKR_OK)
		r = skr_seal(dek->data, aad.data, aad.len, pt, n, sealed);
	skr_buf_free(&aad);
	return r;
}

int
skr__version_unseal(const char *lc, const char *vid, const skr_buf *dek,
    const skr__ver_raw *vr, skr_buf *pt)
{
	skr_buf aad = SKR_BUF_INIT;
	int r;

	if ((r = aad_version(lc, vid, &aad)) == SKR_OK)
		r = skr_seal_open(dek->data, aad.data, aad.len, vr->sealed,
		    vr->sealedlen, pt);
	skr_buf_free(&aad);
	return r;
}

/* Write version seq of key lc: meta, sealed material and index entry. */
int
skr__version_write(skr_txn *txn, const char *lc, uint32_t seq, const char *vid,
    const json_t *meta, const skr_buf *dek, const uint8_t *pt, size_t n)
{
	skr_buf sealed = SKR_BUF_INIT;
	uint8_t ik[IKEY_MAX], sq[4];
	int r;

	SKR_GUARD(seal_version(lc, vid, dek, pt, n, &sealed));
	SKR_GUARD(ver_put(txn, lc, seq, meta, sealed.data, sealed.len));
	be32_put(sq, seq);
	SKR_GUARD(skr__rec_put(txn, DB_VINDEX, ik, skr__ikey(lc, vid, ik), sq, 4));
out:
	skr_buf_free(&sealed);
	return r;
}

/* A version id not yet used by key lc. */
static int
new_version_id(skr_txn *txn, const char *lc, char vid[SKR_VERSION_LEN + 1])
{
	uint8_t k[IKEY_MAX];
	const uint8_t *v;
	size_t vl;
	int r, tries;

	for (tries = 0; tries < 8; tries++) {
		if ((r = skr_version_generate(vid)) != SKR_OK)
			return r;
		r = skr__raw_get(txn, DB_VINDEX, k, skr__ikey(lc, vid, k), &v, &vl);
		if (r == SKR_ERR_NOT_FOUND)
			return SKR_OK;
		if (r != SKR_OK)
			return r;
	}
	return SKR_ERR_INTERNAL;
}

/* *exists: whether db holds a record for folded name lc. */
int
skr__keyrec_exists(skr_txn *txn, int db, const char *lc, int *exists)
{
	const uint8_t *v;
	size_t vl;
	int r = skr__raw_get(txn, db, lc, strlen(lc), &v, &vl);

	*exists = r == SKR_OK;
	return r == SKR_ERR_NOT_FOUND ? SKR_OK : r;
}

void
skr_version_params_init(skr_version_params *p)
{
	memset(p, 0, sizeof(*p));
	p->enabled = 1;
}

int
skr_store_version_add(skr_txn *txn, const char *name, const skr_key *key,
    const skr_version_params *p, unsigned flags, int64_t now,
    skr_version_info *out)
{
	char lc[SKR_KEY_NAME_MAX + 1], vid[SKR_VERSION_LEN + 1];
	skr_buf dek = SKR_BUF_INIT_SECRET, pt = SKR_BUF_INIT_SECRET;
	json_t *rec = NULL, *meta = NULL;
	skr_txn *sub = NULL;
	uint32_t seq;
	int r, ex;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (txn == NULL || key == NULL || p == NULL || !txn->write)
		return SKR_ERR_INVAL;
	if ((r = skr__name_fold(name, lc)) != SKR_OK)
		return r;
	if (!skr_key_has_private(key))
		return SKR_ERR_KEY_NO_PRIVATE;
	if ((p->key_ops != NULL &&
	    (r = skr__check_key_ops(p->key_ops)) != SKR_OK) ||
	    (p->tags != NULL && (r = skr__check_tags(p->tags)) != SKR_OK) ||
	    (r = skr__check_policy_rule(p->exportable, p->policy)) != SKR_OK)
		return r;
	SKR_GUARD(skr_key_private_bytes(key, &pt));
	SKR_GUARD(skr__store_sub_begin(txn, &sub));
	SKR_GUARD(skr__keyrec_exists(sub, DB_DELETED, lc, &ex));
	SKR_ENSURE(!ex, SKR_ERR_KEY_DELETED);
	r = skr__keyrec_get(sub, DB_KEYS, lc, &rec);
	SKR_ENSURE(r != SKR_OK || !(flags & SKR_ADD_CREATE_ONLY),
	    SKR_ERR_KEY_CONFLICT);
	if (r == SKR_ERR_KEY_NOT_FOUND && !(flags & SKR_ADD_EXISTING_ONLY)) {
		rec = json_object();
		SKR_ENSURE(rec != NULL, SKR_ERR_NOMEM);
		SKR_GUARD(jset(rec, "name", json_string(name)));
		SKR_GUARD(jset(rec, "created", json_integer(now)));
		SKR_GUARD(jset(rec, "latest", json_integer(0)));
		SKR_GUARD(jset(rec, "count", json_integer(0)));
		SKR_GUARD(skr__dek_new(sub, lc, &dek, rec));
	} else {
		SKR_GUARD(r);
		SKR_GUARD(skr__dek_open(sub, lc, rec, &dek));
	}
	SKR_ENSURE(jint(rec, "latest") < UINT32_MAX, SKR_ERR_STORE_FULL);
	seq = (uint32_t)jint(rec, "latest") + 1;
	SKR_GUARD(new_version_id(sub, lc, vid));
	SKR_GUARD(skr__meta_build(key, vid, p, now, &meta));
	SKR_GUARD(skr__version_write(sub, lc, seq, vid, meta, &dek, pt.data,
	    pt.len));
	SKR_GUARD(jset(rec, "latest", json_integer(seq)));
	SKR_GUARD(jset(rec, "count", json_integer(jint(rec, "count") + 1)));
	SKR_GUARD(jset(rec, "updated", json_integer(now)));
	SKR_GUARD(skr__rec_put_json(sub, DB_KEYS, lc, strlen(lc), rec));
	if (out != NULL)
		SKR_GUARD(skr__info_fill(rec, meta, out));
out:
	r = skr__store_sub_end(sub, r);
	if (r != SKR_OK && out != NULL)
		skr_version_info_clear(out);
	json_decref(rec);
	json_decref(meta);
	skr_buf_free(&dek);
	skr_buf_free(&pt);
	return r;
}

int
skr_store_version_get(skr_txn *txn, const char *name, const char *version,
    skr_version_info *out)
{
	char lc[SKR_KEY_NAME_MAX + 1];
	json_t *rec;
	uint32_t seq;
	int r;

	memset(out, 0, sizeof(*out));
	if (txn == NULL)
		return SKR_ERR_INVAL;
	if ((r = skr__version_resolve(txn, name, version, lc, &rec, &seq)) !=
	    SKR_OK)
		return r;
	r = skr__info_load(txn, lc, rec, seq, out);
	json_decref(rec);
	return r;
}

int
skr_store_version_latest(skr_txn *txn, const char *name,
    skr_version_info *out)
{
	return skr_store_version_get(txn, name, NULL, out);
}

int
skr_store_version_current(skr_txn *txn, const char *name, int64_t now,
    skr_version_info *out)
{
	char lc[SKR_KEY_NAME_MAX + 1];
	json_t *rec, *meta = NULL;
	skr__ver_raw vr;
	uint32_t seq;
	int r;

	memset(out, 0, sizeof(*out));
	if (txn == NULL)
		return SKR_ERR_INVAL;
	if ((r = skr__version_resolve(txn, name, NULL, lc, &rec, &seq)) !=
	    SKR_OK)
		return r;
	/* Versions are never removed one by one, so seq 1..latest all exist;
	 * walk them newest first. */
	r = SKR_ERR_KEY_DISABLED;
	for (; seq > 0; seq--) {
		int64_t nbf, exp;
		int rr;

		if ((rr = skr__ver_get_raw(txn, lc, seq, &vr)) != SKR_OK ||
		    (rr = skr__ver_meta(&vr, &meta)) != SKR_OK) {
			r = rr;
			break;
		}
		nbf = jint(meta, "nbf");
		exp = jint(meta, "exp");
		if (jbool(meta, "enabled") && (nbf == 0 || nbf <= now) &&
		    (exp == 0 || now < exp)) {
			r = skr__info_fill(rec, meta, out);
			break;
		}
		json_decref(meta);
		meta = NULL;
	}
	json_decref(meta);
	json_decref(rec);
	return r;
}

int
skr_store_version_open(skr_txn *txn, const char *name, const char *version,
    skr_key **out)
{
	char lc[SKR_KEY_NAME_MAX + 1];
	skr_buf dek = SKR_BUF_INIT_SECRET, pt = SKR_BUF_INIT_SECRET;
	json_t *rec = NULL, *meta = NULL;
	skr__ver_raw vr;
	uint32_t seq;
	skr_kty kty;
	int r;

	*out = NULL;
	if (txn == NULL)
		return SKR_ERR_INVAL;
	SKR_GUARD(skr__version_resolve(txn, name, version, lc, &rec, &seq));
	SKR_GUARD(skr__ver_get_raw(txn, lc, seq, &vr));
	SKR_GUARD(skr__ver_meta(&vr, &meta));
	kty = skr_kty_parse(jstr(meta, "kty"));
	SKR_ENSURE(jstr(meta, "version") != NULL && kty != SKR_KTY_NONE,
	    SKR_ERR_STORE);
	SKR_GUARD(skr__dek_open(txn, lc, rec, &dek));
	SKR_GUARD(skr__version_unseal(lc, jstr(meta, "version"), &dek, &vr,
	    &pt));
	SKR_GUARD(skr_key_from_private_bytes(kty, pt.data, pt.len, out));
out:
	json_decref(rec);
	json_decref(meta);
	skr_buf_free(&dek);
	skr_buf_free(&pt);
	return r;
}

int
skr_store_version_update(skr_txn *txn, const char *name, const char *version,
    const skr_version_update *u, int64_t now, skr_version_info *out)
{
	char lc[SKR_KEY_NAME_MAX + 1];
	json_t *rec = NULL, *meta = NULL, *cur;
	skr_buf sealed = SKR_BUF_INIT;
	skr_txn *sub = NULL;
	skr__ver_raw vr;
	uint32_t seq;
	int r, exportable;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (txn == NULL || u == NULL || !txn->write)
		return SKR_ERR_INVAL;
	if (((u->fields & SKR_UPD_TAGS) && (r = skr__check_tags(u->tags)) !=
	    SKR_OK) || ((u->fields & SKR_UPD_KEY_OPS) &&
	    (r = skr__check_key_ops(u->key_ops)) != SKR_OK))
		return r;
	SKR_GUARD(skr__store_sub_begin(txn, &sub));
	SKR_GUARD(skr__version_resolve(sub, name, version, lc, &rec, &seq));
	SKR_GUARD(skr__ver_get_raw(sub, lc, seq, &vr));
	SKR_GUARD(skr__ver_meta(&vr, &meta));
	/* The sealed part is copied: the value's memory belongs to LMDB and
	 * is replaced by the put below. */
	SKR_GUARD(skr_buf_append(&sealed, vr.sealed, vr.sealedlen));
	exportable = jbool(meta, "exportable");
	SKR_ENSURE(!(u->fields & SKR_UPD_EXPORTABLE) ||
	    !u->exportable == !exportable, SKR_ERR_KEY_EXPORTABLE_FIXED);
	if (u->fields & SKR_UPD_POLICY) {
		cur = json_object_get(meta, "policy");
		SKR_ENSURE(!jbool(meta, "immutable") || (u->policy != NULL &&
		    u->policy_immutable &&
		    json_string_length(cur) == u->policy_len &&
		    memcmp(json_string_value(cur), u->policy,
		    u->policy_len) == 0), SKR_ERR_KEY_POLICY_IMMUTABLE);
		if (u->policy == NULL) {
			json_object_del(meta, "policy");
			SKR_GUARD(jset(meta, "immutable", json_false()));
		} else {
			json_t *s = json_stringn(u->policy, u->policy_len);
			SKR_ENSURE(s != NULL, SKR_ERR_BAD_REQUEST);
			SKR_GUARD(jset(meta, "policy", s));
			SKR_GUARD(jset(meta, "immutable",
			    json_boolean(u->policy_immutable)));
		}
	}
	SKR_GUARD(skr__check_policy_rule(exportable, jstr(meta, "policy")));
	if (u->fields & SKR_UPD_ENABLED)
		SKR_GUARD(jset(meta, "enabled", json_boolean(u->enabled)));
	if (u->fields & SKR_UPD_NBF)
		SKR_GUARD(jset(meta, "nbf", json_integer(u->nbf)));
	if (u->fields & SKR_UPD_EXP)
		SKR_GUARD(jset(meta, "exp", json_integer(u->exp)));
	if (u->fields & SKR_UPD_TAGS)
		SKR_GUARD(jset(meta, "tags", json_deep_copy(u->tags)));
	if (u->fields & SKR_UPD_KEY_OPS)
		SKR_GUARD(jset(meta, "key_ops", json_deep_copy(u->key_ops)));
	SKR_GUARD(jset(meta, "updated", json_integer(now)));
	SKR_GUARD(ver_put(sub, lc, seq, meta, sealed.data, sealed.len));
	if (out != NULL)
		SKR_GUARD(skr__info_fill(rec, meta, out));
out:
	r = skr__store_sub_end(sub, r);
	if (r != SKR_OK && out != NULL)
		skr_version_info_clear(out);
	json_decref(rec);
	json_decref(meta);
	skr_buf_free(&sealed);
	return r;
}
