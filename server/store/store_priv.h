/*
 * What the files of the store share, and nothing outside server/store may
 * include: the store and transaction structs over a backend (backend.h),
 * record access with the record MAC (store.c), and the key, version and
 * paging helpers the concern files build on.  docs/store.md describes the
 * schema; store.c's opening comment summarises it.
 *
 * Every function here follows store.h's rules: skr error codes, a failed
 * call leaves nothing of its change in the transaction, and bytes returned
 * by the backend are borrowed until the transaction ends.
 */
#ifndef SKR_SERVER_STORE_PRIV_H
#define SKR_SERVER_STORE_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>

#include <pthread.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "backend.h"
#include "buf.h"
#include "jwk.h"
#include "masterkey.h"
#include "skr/error.h"
#include "audit.h"
#include "store.h"

#define MAC_LEN 32

struct skr__committer;

struct skr_store {
	skr__be *be;
	const skr__be_ops *ops;
	EVP_MAC *hmac;
	/* The generation's key-encryption keys (rotate.c): kek seals new
	 * data keys and the check value; kek_old, while a rotation runs,
	 * still opens the data keys not yet moved.  A rotation swaps them
	 * under keklock. */
	pthread_rwlock_t keklock;
	skr_master_key *kek;
	uint32_t gen;
	skr_master_key *kek_old; /* NULL when no rotation runs */
	uint32_t gen_old;
	/* The domain keys: fixed for the store's life (docs/sealing.md). */
	skr_master_key *mac;    /* record MACs */
	skr_master_key *marker; /* paging markers */
	skr_master_key *backup; /* root of per-blob backup keys */
	/* The thread that commits audit records (audit_commit.c), started
	 * by the first and stopped by skr_store_close. */
	struct skr__committer *committer;
	pthread_mutex_t committer_mu;
	/* skr_store_commit_interval: the least time from the start of one
	 * group commit to the next. */
	unsigned commit_interval_us;
	/* Transactions alive per epoch, so that a finished rotation wipes
	 * the old key only once no transaction can still read a record
	 * sealed under it (rotate.c). */
	unsigned epoch;
	unsigned active[2];
};

struct skr_txn {
	skr_store *st;
	skr__be_txn *bt;
	int write;
	int sub;
	unsigned epoch;
};

/* ---- byte order and JSON members -------------------------------------- */

static inline void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void
be64_put(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

static inline uint64_t
be64_get(const uint8_t *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

static inline int
copy_str(char *dst, size_t dstlen, const char *src)
{
	int n = snprintf(dst, dstlen, "%s", src != NULL ? src : "");

	return (n < 0 || (size_t)n >= dstlen) ? SKR_ERR_STORE : SKR_OK;
}

static inline int64_t
jint(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static inline int
jbool(const json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

static inline const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* json_object_set_new that reports allocation failure; takes v even when
 * it fails. */
static inline int
jset(json_t *o, const char *k, json_t *v)
{
	if (v == NULL)
		return SKR_ERR_NOMEM;
	return json_object_set_new(o, k, v) == 0 ? SKR_OK : SKR_ERR_NOMEM;
}

/* ---- store.c: MACs and record access ---------------------------------- */

/* HMAC-SHA256 under key of the concatenated parts. */
int skr__hmac_parts(const skr_store *st, const skr_master_key *key,
    const void *const *parts, const size_t *lens, size_t nparts,
    uint8_t out[MAC_LEN]);

/* Check the trailing record MAC of value v of key k in db; *vl becomes the
 * payload length.  A wrong or missing MAC is SKR_ERR_SEAL_OPEN. */
int skr__rec_verify(const skr_store *st, int db, const void *k, size_t kl,
    const uint8_t *v, size_t *vl);

/* Values as stored, MAC included; *v borrowed until the transaction ends.
 * Absent: SKR_ERR_NOT_FOUND.  put and del need a write transaction. */
int skr__raw_get(skr_txn *txn, int db, const void *k, size_t kl,
    const uint8_t **v, size_t *vl);
int skr__raw_del(skr_txn *txn, int db, const void *k, size_t kl);
/* Every entry of db whose key starts with prefix (none is no error). */
int skr__raw_del_prefix(skr_txn *txn, int db, const void *prefix,
    size_t plen);
/* Entries of db in key order from the first key >= from (NULL: the
 * first), as stored (MAC included); backend.h's walk rules. */
int skr__raw_walk(skr_txn *txn, int db, const void *from, size_t fl,
    skr__be_walk_fn fn, void *arg);

/* MAC-protected values: get verifies and strips the MAC (*v borrowed),
 * put appends it. */
int skr__rec_get(skr_txn *txn, int db, const void *k, size_t kl,
    const uint8_t **v, size_t *vl);
int skr__rec_put(skr_txn *txn, int db, const void *k, size_t kl,
    const void *v, size_t vl);
/* A MAC-protected JSON object.  *out: caller json_decrefs. */
int skr__rec_get_json(skr_txn *txn, int db, const void *k, size_t kl,
    json_t **out);
int skr__rec_put_json(skr_txn *txn, int db, const void *k, size_t kl,
    const json_t *o);

/* ---- names.c: key names and version ids ------------------------------- */

/* The case-folded form of a valid key name, the key of its records. */
int skr__name_fold(const char *name, char out[SKR_KEY_NAME_MAX + 1]);
/* Lowercase a version id that passed skr_version_check. */
void skr__version_fold(const char *v, char out[SKR_VERSION_LEN + 1]);

/* ---- versions.c: key records, data keys and versions ------------------ */

#define VKEY_MAX (SKR_KEY_NAME_MAX + 1 + 4)

/* A stored version value: u32 metalen || meta JSON || sealed material;
 * borrowed from the backend. */
typedef struct skr__ver_raw {
	const uint8_t *meta;
	size_t metalen;
	const uint8_t *sealed;
	size_t sealedlen;
} skr__ver_raw;

/* The `versions` key of version seq of folded name lc; returns its
 * length (at most VKEY_MAX). */
size_t skr__vkey(const char *lc, uint32_t seq, uint8_t *k);
#define IKEY_MAX (SKR_KEY_NAME_MAX + 1 + SKR_VERSION_LEN)
/* The `vindex` key of version id vid (lowercase) of folded name lc; returns
 * its length (at most IKEY_MAX). */
size_t skr__ikey(const char *lc, const char *vid, uint8_t *k);

/* The key record of folded name lc in db (DB_KEYS or DB_DELETED); absent:
 * SKR_ERR_KEY_NOT_FOUND.  *rec: caller json_decrefs. */
int skr__keyrec_get(skr_txn *txn, int db, const char *lc, json_t **rec);
/* *exists: whether db holds a record for folded name lc. */
int skr__keyrec_exists(skr_txn *txn, int db, const char *lc, int *exists);

/* Resolve version (NULL/"": the latest) of live key name: lc receives the
 * folded name, *rec the key record (caller json_decrefs), *seq the
 * version's sequence number. */
int skr__version_resolve(skr_txn *txn, const char *name, const char *version,
    char *lc, json_t **rec, uint32_t *seq);

/* Fill vi from a key record and a version's meta, or from the stored
 * version seq.  Clear vi with skr_version_info_clear. */
int skr__info_fill(const json_t *rec, const json_t *meta,
    skr_version_info *vi);
int skr__info_load(skr_txn *txn, const char *lc, const json_t *rec,
    uint32_t seq, skr_version_info *vi);

/* The data key of key record rec, unsealed into dek (a secret buffer). */
int skr__dek_open(skr_txn *txn, const char *lc, const json_t *rec,
    skr_buf *dek);
/* The same from the record's "dek" text (n bytes), sealed under
 * generation g. */
int skr__dek_open_text(skr_txn *txn, const char *lc, const char *s, size_t n,
    uint32_t g, skr_buf *dek);
/* The generation a key record's "g" member (0 when absent) names. */
uint32_t skr__rec_gen(int64_t g);
/* A new data key in dek (a secret buffer), its sealed form put in rec. */
int skr__dek_new(skr_txn *txn, const char *lc, skr_buf *dek, json_t *rec);

int skr__ver_get_raw(skr_txn *txn, const char *lc, uint32_t seq,
    skr__ver_raw *vr);
/* The meta JSON of a stored version.  *out: caller json_decrefs. */
int skr__ver_meta(const skr__ver_raw *vr, json_t **out);
/* Unseal the private bytes of version vid of key lc under dek into pt (a
 * secret buffer). */
int skr__version_unseal(const char *lc, const char *vid, const skr_buf *dek,
    const skr__ver_raw *vr, skr_buf *pt);
/* Write version seq of key lc: meta, private bytes pt sealed under dek,
 * and its index entry. */
int skr__version_write(skr_txn *txn, const char *lc, uint32_t seq,
    const char *vid, const json_t *meta, const skr_buf *dek,
    const uint8_t *pt, size_t n);

/* The store's rules for caller input (store.h, skr_store_version_add). */
int skr__check_key_ops(const json_t *ops);
int skr__check_tags(const json_t *tags);
int skr__check_policy_rule(int exportable, const char *policy);
/* The meta JSON of a new version of key.  *out: caller json_decrefs. */
int skr__meta_build(const skr_key *key, const char *version,
    const skr_version_params *p, int64_t now, json_t **out);

/* Re-seal the data key of key record rec (folded name lc) under the
 * current generation; *moved says whether it was on another one. */
int skr__dek_rewrap(skr_txn *txn, const char *lc, json_t *rec, int *moved);

/* ---- rotate.c ------------------------------------------------------------ */

/* The domain keys and generations of a store being opened or created:
 * fills st->kek, gen, kek_old, gen_old, mac, marker and backup from the
 * keyring and the meta records of txn (docs/sealing.md). */
int skr__store_keys_load(skr_txn *txn, const skr_keyring *kr);
/* For a new store: generation newest of kr, domain keys derived; then
 * skr__store_keys_put writes the check value (and, past generation 1, the
 * generation and the sealed domain keys) into the new store's meta. */
int skr__store_keys_new(skr_store *st, const skr_keyring *kr);
int skr__store_keys_put(skr_txn *txn);

/* ---- paging.c ----------------------------------------------------------- */

/* maxresults as store.h defines it: 0 is the default, larger is clamped. */
size_t skr__page_max(size_t maxresults);

/* Called for the index-th entry of a page: key k, value v without MAC. */
typedef int (*skr__page_item_fn)(void *arg, skr_txn *txn, const uint8_t *k,
    size_t kl, const uint8_t *v, size_t vl, size_t index);

/*
 * Walk db in key order after the entry marker names (kind: one letter
 * per listing, and binding (may be NULL) whom the listing is for, so a
 * marker cannot be replayed against another listing or caller), calling
 * fn for at most max entries; an entry whose MAC fails ends the walk with
 * that error.  *next: a marker for the following page when more entries
 * remain, else NULL; caller frees.  Markers are sealed: they do not show
 * the position they hold.
 */
int skr__page_walk(skr_txn *txn, int db, char kind, const char *binding,
    const char *marker, size_t max, skr__page_item_fn fn, void *arg,
    char **next);

/* ---- audit_commit.c ---------------------------------------------------------- */

/* Drain and stop the committer, if one was started. */
void skr__committer_stop(skr_store *st);
/* Its group commits so far, the records they held and their durations
 * into out's audit_commit* fields (zeros before the first). */
void skr__committer_stats(skr_store *st, skr_store_stats *out);

/* ---- deleted.c ---------------------------------------------------------- */

/* Index every soft-deleted key by its purge date (the schema 1 to 2
 * migration). */
int skr__purgeq_index(skr_txn *txn);

#endif
