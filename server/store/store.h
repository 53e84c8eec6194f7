/*
 * skr_store: the sealed LMDB store (docs/store.md).  The on-disk
 * schema, the sealing scheme, the backup "security domain" and every choice
 * below are documented in docs/store.md.
 *
 * Threads: one skr_store is shared by every thread.  A transaction belongs
 * to the thread that began it; a thread must not begin a write transaction
 * while it holds one (LMDB would wait for itself).  Readers never block writers (LMDB MVCC);
 * write transactions are serialised by LMDB, so keep them short: generate
 * keys, parse and validate BEFORE skr_store_txn_begin(.., SKR_TXN_WRITE, ..).
 *
 * Units of work: a handler that changes state begins a write transaction,
 * makes the change, appends its audit record (audit.h) to the SAME
 * transaction and commits.  Nothing is visible to others or on disk until
 * the commit returns SKR_OK, and then it is durable (synced).  Any error
 * inside a write transaction leaves it usable only for abort; a store call
 * that fails never leaves half of its change behind in the transaction.
 *
 * Times are unix seconds supplied by the caller (the request time), so
 * tests control the clock.  Key names are case-insensitive, as in Key Vault:
 * "MyKey" and "mykey" are the same key; the case given at creation is kept
 * and reported.  Version ids are 32 lowercase hex characters; lookups accept
 * either case.
 *
 * Errors: SKR_ERR_STORE (LMDB failure), SKR_ERR_STORE_FULL (map or disk
 * full), SKR_ERR_STORE_SCHEMA, SKR_ERR_KEY_NAME, SKR_ERR_KEY_NOT_FOUND,
 * SKR_ERR_VERSION_NOT_FOUND, SKR_ERR_KEY_DELETED, SKR_ERR_KEY_CONFLICT,
 * SKR_ERR_SEAL_OPEN (wrong master key or tampered blob), and the ones named
 * per function.
 */
#ifndef SKR_SERVER_STORE_H
#define SKR_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "jwk.h"
#include "masterkey.h"
#include "principal.h"
#include "storefile.h"

typedef struct skr_store skr_store;
typedef struct skr_txn skr_txn;

/* SKR_STORE_SCHEMA_VERSION, SKR_STORE_SCHEMA_OLDEST and SKR_STORE_FILE are
 * in chain/storefile.h, which the offline audit verifier shares. */
#define SKR_STORE_DEFAULT_MAP_SIZE ((size_t)1 << 30) /* 1 GiB, sparse */

#define SKR_KEY_NAME_MAX 127
#define SKR_VERSION_LEN 32
#define SKR_TAGS_MAX 15
#define SKR_PAGE_MAX 25      /* Key Vault's maxresults limit */
#define SKR_PAGE_DEFAULT 25
#define SKR_RETENTION_DEFAULT (90 * 86400) /* soft-delete retention */

/* ---- validation helpers ------------------------------------------------ */

/* 1-127 characters of [A-Za-z0-9-]: SKR_OK or SKR_ERR_KEY_NAME. */
int skr_key_name_check(const char *name);
/* 32 hex characters (either case): SKR_OK or SKR_ERR_VERSION_NOT_FOUND
 * (a malformed id names no version). */
int skr_version_check(const char *version);
/* 32 lowercase hex characters from the CSPRNG, NUL-terminated. */
int skr_version_generate(char out[SKR_VERSION_LEN + 1]);

/* ---- opening --------------------------------------------------------- */

/*
 * A store shared by replicas in an etcd cluster (docs/availability.md):
 * skr_store_create records these settings, none of them secret, in the
 * data directory's store.json, and skr_store_open of a directory that has
 * one opens that store.  Paths are taken relative to the data directory.
 */
typedef struct skr_store_etcd_opts {
	const char *endpoints;     /* "https://h1:2379,https://h2:2379" */
	const char *prefix;        /* of every key; NULL: "skr/" */
	const char *cacert;        /* CA of the endpoints (PEM), or NULL */
	const char *cert, *key;    /* client certificate and key, or NULL */
	const char *user;          /* etcd user, or NULL */
	const char *password_file; /* with user: the password's file */
} skr_store_etcd_opts;

typedef struct skr_store_opts {
	size_t map_size;      /* 0: SKR_STORE_DEFAULT_MAP_SIZE */
	unsigned max_readers; /* 0: 126 (LMDB's default) */
	/* create: an etcd store instead of LMDB; borrowed for the call. */
	const skr_store_etcd_opts *etcd;
	/* open: a store skr_store_copy has not finished filling (its
	 * destination); refused with SKR_ERR_STORE_SCHEMA otherwise. */
	int copying;
} skr_store_opts;

/* The settings file of an etcd store, inside the data directory. */
#define SKR_STORE_ETCD_FILE "store.json"

/*
 * Create a new store in dir (created with mode 0700 if missing; the store
 * file is SKR_STORE_FILE, mode 0600).  An existing store in dir is
 * SKR_ERR_CONFLICT.  mk is borrowed for the call
 * only: the store derives its own sub-keys and keeps them in locked memory.
 * opts may be NULL.  *out: caller closes with skr_store_close.
 */
int skr_store_create(const char *dir, const skr_master_key *mk,
    const skr_store_opts *opts, skr_store **out);

/*
 * Open an existing store.  A missing store is SKR_ERR_STORE; an unknown
 * schema version SKR_ERR_STORE_SCHEMA; a master key other than the one the
 * store was created with SKR_ERR_SEAL_OPEN (checked at open against a
 * sealed check value, before anything else is read).  A store of an older
 * schema this build knows is migrated in the same write transaction as the
 * check, so it is either fully migrated or left as it was.
 */
int skr_store_open(const char *dir, const skr_master_key *mk,
    const skr_store_opts *opts, skr_store **out);

/*
 * The same with every master key generation the seal holds (masterkey.h,
 * docs/sealing.md): the store picks the generation its meta names, and
 * while a rotation runs the older one too.  A keyring that lacks a
 * generation the store needs: SKR_ERR_MASTER_KEY.  kr is borrowed for the
 * call only.  skr_store_open and skr_store_create are these with a
 * keyring of one generation-1 key.
 */
int skr_store_create_keyring(const char *dir, const skr_keyring *kr,
    const skr_store_opts *opts, skr_store **out);
int skr_store_open_keyring(const char *dir, const skr_keyring *kr,
    const skr_store_opts *opts, skr_store **out);

/* All transactions must have ended. NULL is fine. */
void skr_store_close(skr_store *st);

/* ---- master key rotation (docs/sealing.md, "Rotation") ---------------- */

/* Where a store's generations stand. */
typedef struct skr_rotation_status {
	uint32_t gen;      /* the generation new data keys are sealed under */
	uint32_t from;     /* the generation being moved away from; 0: none */
	uint64_t moved;    /* data keys moved so far in this rotation */
	uint64_t total;    /* keys (live and deleted) in the store */
} skr_rotation_status;

int skr_store_rotation_status(skr_store *st, skr_rotation_status *out);

/*
 * Begin a rotation to generation gen (newer than the store's; key its
 * master key, borrowed for the call).  In one write transaction the check
 * value and the domain keys are sealed under the new generation, the
 * rotation's progress record is made and the "master-key.rotate.start"
 * audit record appended (principal may be NULL); from its commit on every
 * new data key is sealed under gen.  A rotation already running:
 * SKR_ERR_CONFLICT.
 */
int skr_store_rotate_begin(skr_store *st, uint32_t gen,
    const skr_master_key *key, const char *principal, int64_t now);

/*
 * Move at most max data keys (0: 64) to the current generation in one
 * write transaction, keeping the progress in the store so that a restart
 * resumes.  When none is left the rotation ends in the same transaction
 * (the "master-key.rotate.finish" audit record) and *done is set; the older
 * key is then wiped from memory once no transaction that began before can
 * still need it.  No rotation running: SKR_OK with *done set.
 */
int skr_store_rotate_step(skr_store *st, size_t max, int64_t now,
    int *done);

/* ---- transactions ---------------------------------------------------- */

#define SKR_TXN_READ 0
#define SKR_TXN_WRITE 1
/* A write that may use the store's last reserve of space: release audit
 * records and nonces, so that releases go on when the disk or the map is
 * nearly full.  A plain SKR_TXN_WRITE is then refused at begin with
 * SKR_ERR_STORE_FULL (README.md, "Security"). */
#define SKR_TXN_WRITE_RESERVE 2

/* Begin a read or write transaction.  *out: end it with commit or abort.
 * A replicated store's transaction may fail at any call with
 * SKR_ERR_STORE_RETRY: another replica changed what it read; end it and
 * run the whole unit of work again. */
int skr_store_txn_begin(skr_store *st, int mode, skr_txn **out);
/* Commit (synced to disk) and free txn.  A read transaction just ends.
 * On error nothing of the transaction is kept. */
int skr_store_txn_commit(skr_txn *txn);
/* Discard every change and free txn; NULL is fine. */
void skr_store_txn_abort(skr_txn *txn);
/* The store a transaction belongs to; borrowed. */
skr_store *skr_store_txn_store(const skr_txn *txn);

/* ---- keys and versions ----------------------------------------------- */

/* Version attributes (Key Vault "attributes"). 0 means unset for nbf/exp. */
typedef struct skr_key_attrs {
	int enabled;
	int64_t nbf;
	int64_t exp;
	int64_t created; /* set by the store */
	int64_t updated; /* set by the store */
	int exportable;
} skr_key_attrs;

/*
 * Everything about one version except its private material, plus the state
 * of the key it belongs to.  Filled by the store; release the owned members
 * with skr_version_info_clear.  A zeroed struct is a valid empty one.
 */
typedef struct skr_version_info {
	char name[SKR_KEY_NAME_MAX + 1];   /* as given at creation */
	char version[SKR_VERSION_LEN + 1];
	skr_kty kty;
	int bits;               /* RSA modulus, EC field or oct key bits */
	char crv[8];            /* "P-256" etc. for EC, else "" */
	skr_key_attrs attrs;
	json_t *key_ops;        /* owned: array of strings */
	json_t *tags;           /* owned: object of strings (may be empty) */
	char *policy;           /* owned: release policy JSON text, or NULL */
	size_t policy_len;
	int policy_immutable;
	json_t *public_jwk;     /* owned: public members only, no kid; for oct
	                         * just {"kty":"oct"} */
	/* Key-level state. */
	int64_t key_created;
	uint32_t nversions;
	int deleted;            /* soft-deleted (only from the deleted calls) */
	int64_t deleted_date;
	int64_t scheduled_purge_date;
} skr_version_info;

void skr_version_info_clear(skr_version_info *vi);

/* Parameters of a new version.  Borrowed for the call. */
typedef struct skr_version_params {
	json_t *key_ops;        /* array of strings; NULL: all ops the kty allows */
	int enabled;
	int64_t nbf, exp;       /* 0: unset */
	int exportable;
	json_t *tags;           /* object of strings, <= SKR_TAGS_MAX; NULL: {} */
	const char *policy;     /* JSON text as the caller validated it, or NULL */
	size_t policy_len;
	int policy_immutable;
} skr_version_params;

/* Zero p and set enabled = 1, Key Vault's default for a new version. */
void skr_version_params_init(skr_version_params *p);

/* skr_store_version_add flags. */
#define SKR_ADD_CREATE_ONLY 0x1u /* the key must not exist yet */
#define SKR_ADD_EXISTING_ONLY 0x2u /* the key must exist (rotate) */

/*
 * Add a version holding key (which must have its private part:
 * SKR_ERR_KEY_NO_PRIVATE) to key name, creating the key (and its data key)
 * when it does not exist.  The store checks the Key Vault invariants it can
 * see: an exportable version needs a policy (SKR_ERR_KEY_POLICY_REQUIRED), a
 * non-exportable one must have none (SKR_ERR_KEY_POLICY_FORBIDDEN); tags must
 * be an object of at most SKR_TAGS_MAX strings and key_ops an array of
 * strings (SKR_ERR_BAD_REQUEST).  It does NOT parse the policy: validate it
 * (policy.h) before.  A soft-deleted name is SKR_ERR_KEY_DELETED; with
 * SKR_ADD_CREATE_ONLY an existing key is SKR_ERR_KEY_CONFLICT; with
 * SKR_ADD_EXISTING_ONLY a missing one SKR_ERR_KEY_NOT_FOUND.  out (may be
 * NULL) receives the new version.
 */
int skr_store_version_add(skr_txn *txn, const char *name, const skr_key *key,
    const skr_version_params *p, unsigned flags, int64_t now,
    skr_version_info *out);

/* Metadata of one version; version NULL or "" means the latest.  A deleted
 * key is SKR_ERR_KEY_NOT_FOUND here (use skr_store_deleted_get). */
int skr_store_version_get(skr_txn *txn, const char *name, const char *version,
    skr_version_info *out);

/* The latest version: the most recently created one, whatever its state.
 * This is what Key Vault's GET /keys/{name} returns. */
int skr_store_version_latest(skr_txn *txn, const char *name,
    skr_version_info *out);

/*
 * The current version, the one released when no version is given: the most
 * recently created version that is enabled and, at time now, not before its
 * nbf (nbf <= now) and not expired (now < exp).  When the key exists but no
 * version qualifies: SKR_ERR_KEY_DISABLED.
 */
int skr_store_version_current(skr_txn *txn, const char *name, int64_t now,
    skr_version_info *out);

/*
 * Unseal a version's private material into a new skr_key (kid unset).  The
 * only function that opens sealed key material; callers are the release
 * handler and backup.  version NULL or "" means the latest.  No check of
 * enabled/exportable here: that is the caller's decision.  Tampered or moved
 * blobs and a wrong master key: SKR_ERR_SEAL_OPEN.  *out: caller frees with
 * skr_key_free.
 */
int skr_store_version_open(skr_txn *txn, const char *name,
    const char *version, skr_key **out);

/*
 * What a release reads of a version, in one pass over the key's records
 * and with no jansson parse of them: skr_store_release_read resolves the
 * version a release means (version NULL or "": the current one, as
 * skr_store_version_current picks it; a named one must be enabled and
 * within its nbf/exp window at now, else SKR_ERR_KEY_DISABLED) and fills
 * *vi as skr_store_version_get would, and *stamp with where the records are
 * and their MACs.  With the stamp, in the same read transaction,
 * skr_store_release_unseal unseals the version's private material; in any
 * later transaction, skr_store_release_unchanged tells whether the key
 * record and the version record are still the ones read (equal MACs:
 * nothing about the version, its policy or its key was written since).
 */
typedef struct skr_store_stamp {
	char lc[SKR_KEY_NAME_MAX + 1]; /* the folded name */
	uint32_t seq;                  /* the version's sequence number */
	uint8_t key_mac[32];           /* MAC of the key record */
	uint8_t version_mac[32];       /* MAC of the version record */
} skr_store_stamp;

int skr_store_release_read(skr_txn *txn, const char *name,
    const char *version, int64_t now, skr_version_info *vi,
    skr_store_stamp *stamp);
/* *out: caller frees with skr_key_free.  txn must be the transaction of
 * the read (SKR_ERR_STORE when the records are not those stamped). */
int skr_store_release_unseal(skr_txn *txn, const skr_version_info *vi,
    const skr_store_stamp *stamp, skr_key **out);
/* 1 when both records are as stamped, 0 when either changed or is gone. */
int skr_store_release_unchanged(skr_txn *txn, const skr_store_stamp *stamp);

/* skr_version_update fields. */
#define SKR_UPD_ENABLED 0x01u
#define SKR_UPD_NBF 0x02u
#define SKR_UPD_EXP 0x04u
#define SKR_UPD_TAGS 0x08u
#define SKR_UPD_KEY_OPS 0x10u
#define SKR_UPD_POLICY 0x20u
#define SKR_UPD_EXPORTABLE 0x40u

typedef struct skr_version_update {
	unsigned fields;        /* SKR_UPD_*: which members below apply */
	int enabled;
	int64_t nbf, exp;       /* 0 clears */
	json_t *tags;           /* replaces all tags; borrowed */
	json_t *key_ops;        /* borrowed */
	const char *policy;     /* NULL removes the policy */
	size_t policy_len;
	int policy_immutable;
	int exportable;         /* must equal the current value */
} skr_version_update;

/*
 * Update one version (version NULL or "": the latest).  Errors:
 * SKR_ERR_KEY_EXPORTABLE_FIXED (exportable differs),
 * SKR_ERR_KEY_POLICY_IMMUTABLE (policy changed or removed while immutable),
 * SKR_ERR_KEY_POLICY_REQUIRED / _FORBIDDEN as for add, SKR_ERR_BAD_REQUEST
 * for bad tags or key_ops.  Sets attrs.updated = now.  out may be NULL.
 */
int skr_store_version_update(skr_txn *txn, const char *name,
    const char *version, const skr_version_update *u, int64_t now,
    skr_version_info *out);

/*
 * A page of results.  next is an opaque continuation marker (URL-safe
 * text) for the following page, or NULL when this is the last page.  The
 * marker is sealed by the store (docs/store.md, "Paging"): it shows nothing
 * of where it points, and opens only for the listing and binding it was
 * made for; a changed or foreign marker is SKR_ERR_BAD_REQUEST.  Release
 * with skr_version_page_clear.
 *
 * binding (may be NULL) names whom a listing is for, e.g. the caller's
 * token id: a marker made with one binding does not open with another.
 */
typedef struct skr_version_page {
	skr_version_info *items; /* owned, n entries */
	size_t n;
	char *next;              /* owned or NULL */
} skr_version_page;

void skr_version_page_clear(skr_version_page *pg);

/*
 * List keys (each item is the key's latest version, as Key Vault lists a
 * key's attributes and tags) in name order.  marker NULL or "" starts at
 * the beginning; maxresults 0 means SKR_PAGE_DEFAULT, values over
 * SKR_PAGE_MAX are clamped to it.  Deleted keys are not listed.
 */
int skr_store_key_list(skr_txn *txn, const char *binding, const char *marker,
    size_t maxresults, skr_version_page *out);

/* List the versions of one key in creation order, paged the same way. */
int skr_store_version_list(skr_txn *txn, const char *binding,
    const char *name, const char *marker, size_t maxresults,
    skr_version_page *out);

/* ---- soft delete ----------------------------------------------------- */

/*
 * Soft-delete key name: it disappears from get/list and its name cannot be
 * reused until it is recovered or purged.  scheduledPurgeDate = now +
 * retention (0: SKR_RETENTION_DEFAULT).  out (may be NULL) receives the
 * latest version with the deleted fields set.
 */
int skr_store_key_delete(skr_txn *txn, const char *name, int64_t now,
    int64_t retention, skr_version_info *out);
/* The deleted key's latest version, deleted fields set.  Not deleted:
 * SKR_ERR_KEY_NOT_FOUND. */
int skr_store_deleted_get(skr_txn *txn, const char *name,
    skr_version_info *out);
int skr_store_deleted_list(skr_txn *txn, const char *binding,
    const char *marker, size_t maxresults, skr_version_page *out);
/* Undo a soft delete; out may be NULL. */
int skr_store_key_recover(skr_txn *txn, const char *name,
    skr_version_info *out);
/* Destroy a soft-deleted key: its data key, every version and its sealed
 * material.  A key that is not soft-deleted: SKR_ERR_KEY_NOT_FOUND. */
int skr_store_key_purge(skr_txn *txn, const char *name);
/* Purge every deleted key whose scheduledPurgeDate <= now, earliest date
 * first, at most max (0: no limit); *npurged (may be NULL) says how many,
 * and names (may be NULL; room for max names when not) receives their
 * folded names.  The cost is in the number of keys due, not of keys
 * deleted (an index by purge date).  A record that fails its integrity
 * check is left where it is -- reading it reports it -- rather than
 * stopping every write. */
int skr_store_purge_expired(skr_txn *txn, int64_t now, size_t max,
    char (*names)[SKR_KEY_NAME_MAX + 1], size_t *npurged);
/* Purge deleted key name if its scheduledPurgeDate is <= now, so a write
 * about it sees it gone as reads do; *purged says whether, and folded
 * (room for SKR_KEY_NAME_MAX + 1) receives its folded name when it was.
 * Not deleted, or not due: SKR_OK, nothing done. */
int skr_store_purge_if_due(skr_txn *txn, const char *name, int64_t now,
    char *folded, int *purged);

/* ---- backup and restore ---------------------------------------------- */

/*
 * Append to out an opaque, encrypted and integrity-protected backup of key
 * name: every version with its metadata and private material.  It is
 * sealed under a key derived from the master key (HKDF), so it restores
 * into any store that uses the same master key (docs/store.md, "Backup and
 * the security domain").  out should be a plain buffer: it only ever holds
 * ciphertext.
 * The caller base64url-encodes it for the wire.
 */
int skr_store_backup(skr_txn *txn, const char *name, skr_buf *out);

/*
 * Restore a backup blob as a new key with the same name, versions and
 * metadata (fresh data key).  A blob that fails authentication, was made
 * under another master key or is malformed: SKR_ERR_BACKUP_INVALID.  A name
 * that exists or is soft-deleted: SKR_ERR_KEY_CONFLICT.  Nothing is written
 * on error.  out (may be NULL) receives the latest version.
 */
int skr_store_restore(skr_txn *txn, const uint8_t *blob, size_t n,
    skr_version_info *out);

/* ---- admin bearer tokens --------------------------------------------- */

/*
 * Token text: "skr_" || id (32 lowercase hex) || "_" || base64url(32 random
 * bytes), 80 characters.  The store keeps only SHA-256 of the whole text;
 * the id lets lookup find the record directly, then the hashes are compared
 * in constant time.
 */
#define SKR_TOKEN_TEXT_LEN 80

typedef struct skr_token_info {
	skr_principal p;  /* id, name, roles, prefixes, expires */
	int64_t created;
	int revoked;
	int64_t revoked_date;
} skr_token_info;

/*
 * Create a token with the roles, prefixes, name and expiry (0: never) of
 * *req (its id is ignored).  Appends the token text to secret (use a secret
 * buffer: it is shown once and never stored).  out (may be NULL) receives
 * the record, with the new id.  No roles, a name over 63 bytes, a prefix
 * that is not a valid key-name prefix or too many: SKR_ERR_BAD_REQUEST.
 */
int skr_store_token_create(skr_txn *txn, const skr_principal *req,
    int64_t now, skr_buf *secret, skr_token_info *out);

/*
 * Authenticate the text of a bearer token at time now.  Malformed or
 * unknown or wrong secret: SKR_ERR_AUTH_INVALID; revoked:
 * SKR_ERR_AUTH_REVOKED; expired (expires <= now): SKR_ERR_AUTH_EXPIRED.
 */
int skr_store_token_lookup(skr_txn *txn, const char *token, int64_t now,
    skr_principal *out);

/* By id: SKR_ERR_NOT_FOUND when unknown. */
int skr_store_token_get(skr_txn *txn, const char *id, skr_token_info *out);

/* Tokens in id order, paged like keys.  *items: caller free()s. */
int skr_store_token_list(skr_txn *txn, const char *marker, size_t maxresults,
    skr_token_info **items, size_t *n, char **next);

/* Revoke by id (idempotent); unknown: SKR_ERR_NOT_FOUND. */
int skr_store_token_revoke(skr_txn *txn, const char *id, int64_t now);

/* ---- server nonces (docs/release.md) ---------------------------------- */

#define SKR_NONCE_TEXT_LEN 43 /* base64url of 32 random bytes */

/* Make and record a nonce valid until now + ttl. out: NUL-terminated. */
int skr_store_nonce_issue(skr_txn *txn, int64_t now, int64_t ttl,
    char out[SKR_NONCE_TEXT_LEN + 1]);

/*
 * Use a nonce once.  Never issued (or already pruned): SKR_ERR_NONCE_INVALID;
 * expired (expires <= now): SKR_ERR_NONCE_EXPIRED; used before, even before
 * a restart: SKR_ERR_NONCE_REUSED.  The use is durable once the transaction
 * commits.
 */
int skr_store_nonce_consume(skr_txn *txn, const char *nonce, int64_t now);
/* What skr_store_nonce_consume would refuse, without using the nonce up
 * (any transaction). */
int skr_store_nonce_check(skr_txn *txn, const char *nonce, int64_t now);

/* Remove records that expired at or before now; *npruned may be NULL.  A
 * replicated store removes at most SKR_NONCE_PRUNE_MAX per transaction
 * (one etcd Txn): call again while that many went. */
#define SKR_NONCE_PRUNE_MAX 100
int skr_store_nonce_prune(skr_txn *txn, int64_t now, size_t *npruned);

/* ---- copying a store (docs/availability.md) ------------------------------- */

typedef struct skr_store_copy_stats {
	uint64_t records;       /* records copied, the audit log's included */
	uint64_t audit_records; /* the chain's length, checked in the copy */
} skr_store_copy_stats;

/*
 * Copy every record of `from` into `to` as stored -- keys and versions,
 * deleted keys, tokens, nonces, the purge index and the audit chain with
 * its head -- so that `to` holds the same keys and the same chain (same
 * records, same hashes).  Both stores must be of one security domain (the
 * same master key: a record whose MAC fails under `to`'s key stops the
 * copy with SKR_ERR_SEAL_OPEN) and nothing else may use either meanwhile.
 * `to` must hold no more than a fresh store does (no keys, at most one
 * token and one audit record, which go), or be a copy cut short, which
 * starts over: otherwise SKR_ERR_CONFLICT.  `to` is opened with
 * skr_store_opts.copying; until the copy ends it reads as unfinished.  The
 * source chain must verify (SKR_ERR_AUDIT_BROKEN) and so must the copy's.
 * stats may be NULL.
 */
int skr_store_copy(skr_store *from, skr_store *to,
    skr_store_copy_stats *stats);

/* ---- reads that a later commit is fenced on ------------------------------ */

/*
 * What a request decided on, read in read transactions, so that the commit
 * of its audit record can say "only if none of it changed"
 * (skr_audit_log_fenced; docs/availability.md, "Releases").  A replicated
 * store records each record read there, with the revision that wrote it;
 * a store of one node records nothing, as nothing can change between its
 * reads and its commit that it would not see.  A zeroed struct is empty.
 */
#define SKR_STORE_READS_MAX 32
#define SKR_STORE_READ_KEY_MAX (SKR_KEY_NAME_MAX + 1 + SKR_VERSION_LEN)

typedef struct skr_store_reads {
	size_t n;
	int overflow;           /* more were read than fit: the fence is
	                         * then "nothing changed since `oldest`" */
	int64_t oldest;         /* the oldest revision a read was made at */
	struct {
		uint8_t db;
		uint8_t kl;
		uint8_t k[SKR_STORE_READ_KEY_MAX];
		int64_t rev;    /* the revision that wrote it; 0: absent */
	} r[SKR_STORE_READS_MAX];
} skr_store_reads;

/* Record the reads of txn (a read transaction) in rs (borrowed until txn
 * ends) as they are made. */
void skr_store_txn_track(skr_txn *txn, skr_store_reads *rs);

/* 1 when st is shared by replicas (an etcd store). */
int skr_store_replicated(const skr_store *st);

/* ---- statistics ------------------------------------------------------ */

/* Upper bounds of the buckets of a group commit's duration
 * (skr_store_stats), in microseconds: a synced write on a fast disk to a
 * stalled one or a slow etcd. */
#define SKR_STORE_COMMIT_BUCKETS 13
extern const uint32_t skr_store_commit_bounds_us[SKR_STORE_COMMIT_BUCKETS -
    1];

typedef struct skr_store_stats {
	uint64_t keys, versions, deleted, tokens, nonces, audit_records;
	uint64_t map_size;  /* configured bytes */
	uint64_t used_size; /* bytes of pages in use */
	/* The committer's group commits of audit records (audit_commit.c)
	 * since the store was opened, and the records they held. */
	uint64_t audit_commits, audit_commit_records;
	/* How long those commits took, from the start of the write
	 * transaction to the return of the durable commit: the sum, and a
	 * count per bucket of skr_store_commit_bounds_us (not cumulative;
	 * the last counts the longer ones). */
	uint64_t audit_commit_usec;
	uint64_t audit_commit_buckets[SKR_STORE_COMMIT_BUCKETS];
	/* A replicated store (docs/availability.md, "Metrics"); 0 else. */
	int replicated;
	int available;      /* the watch is up and the last call worked */
	int64_t revision;   /* of the local copy */
	uint64_t round_trips;    /* requests sent to etcd */
	uint64_t conflicts;      /* commits another replica overtook */
	uint64_t unknown;        /* commits whose outcome had to be asked */
	uint64_t unavailable;    /* times the store became unavailable */
	uint64_t unavailable_ms; /* time spent unavailable */
	uint64_t watch_restarts;
} skr_store_stats;

int skr_store_stats_get(skr_store *st, skr_store_stats *out);

/*
 * Pace the group commits of audit records (docs/store.md, "Audit log"):
 * while commits follow each other, the next one starts no sooner than us
 * microseconds after the last one started, so that more records share its
 * sync.  A record that arrives longer than that after the last commit
 * started is committed at once.
 * 0 (the default of a store) commits whatever is queued as soon as the
 * last commit returns.
 */
void skr_store_commit_interval(skr_store *st, unsigned us);

/*
 * Wait until every change acknowledged by any replica before this call is
 * visible to this store's transactions (docs/availability.md).  A store
 * of one node (LMDB) always is: SKR_OK at once.  A replicated store that
 * cannot learn it: SKR_ERR_STORE_UNAVAILABLE.
 */
int skr_store_sync(skr_store *st);

/* ---- internal: for the audit log only (audit.c, audit_commit.c) ------ */

/* Named databases that audit.c reads and writes through the calls below. */
#define SKR__DB_META 0
#define SKR__DB_AUDIT 1

/* Raw get/put/del in one of the SKR__DB_* databases of txn.  get returns
 * bytes borrowed until the transaction ends (SKR_ERR_NOT_FOUND if absent). */
int skr__store_get(skr_txn *txn, int db, const void *k, size_t klen,
    const void **v, size_t *vlen);
int skr__store_put(skr_txn *txn, int db, const void *k, size_t klen,
    const void *v, size_t vlen);
/* Cursor walk of SKR__DB_AUDIT from key k (or the first when k is NULL):
 * calls fn for each entry until it returns non-zero (that value is
 * returned; 1 means "stop, fine" and is turned into SKR_OK). */
int skr__store_walk(skr_txn *txn, int db, const void *k, size_t klen,
    int (*fn)(void *arg, const void *k, size_t klen, const void *v,
    size_t vlen), void *arg);
/* 1 for a write transaction. */
int skr__store_txn_writable(const skr_txn *txn);
/* Tests of a replicated store only (no effect on one node): hold (1) this
 * replica's copy where it is, so that it lags behind the others, or let
 * it catch up again (0); have the answers to its next drop commits lost
 * after etcd took them (-1: unchanged). */
void skr__store_test(skr_store *st, int hold, int drop);
/* Make write transaction txn commit only if every read of rs still holds
 * (a replicated store; nothing for one node). */
int skr__store_txn_fence(skr_txn *txn, const skr_store_reads *rs);
/* 1 while every read of rs still holds in the local copy (always for one
 * node): a commit fenced on rs that another replica overtook is worth
 * running again as it is; 0 means rs itself changed. */
int skr__store_reads_current(skr_store *st, const skr_store_reads *rs);
/* A nested write transaction (an LMDB child) inside write transaction txn,
 * so that a change made of several puts is all or nothing even when the
 * caller goes on with txn.  txn must not be used until sub ends. */
int skr__store_sub_begin(skr_txn *txn, skr_txn **sub);
/* Commit sub into its parent when r == SKR_OK, else abort it; frees sub and
 * returns r, or the commit error. */
int skr__store_sub_end(skr_txn *sub, int r);

#endif
