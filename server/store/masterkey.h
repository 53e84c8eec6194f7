/*
 * The master key (docs/store.md): 32 bytes that wrap every per-key data
 * key in the store and from which the backup key is derived.  It comes from
 * a "source" behind one small ops table, so that unseal shares or a PKCS#11
 * token can replace the key file without touching the store.
 *
 * A loaded key (skr_master_key) lives in its own page-aligned allocation,
 * locked in memory where the process may (mlock), excluded from core dumps
 * (MADV_DONTDUMP) and wiped before it is freed.  The same container holds the
 * sub-keys derived from it.
 */
#ifndef SKR_SERVER_MASTERKEY_H
#define SKR_SERVER_MASTERKEY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SKR_MASTER_KEY_LEN 32

/* A loaded 32-byte secret; opaque. */
typedef struct skr_master_key skr_master_key;

/*
 * A source of the master key.  create makes a new random key and persists
 * it (refusing to overwrite an existing one); load reads the existing key.
 * Both return a new skr_master_key the caller frees with
 * skr_master_key_free.  free releases ctx.
 */
typedef struct skr_master_source_ops {
	const char *name; /* "file" */
	int (*create)(void *ctx, skr_master_key **out);
	int (*load)(void *ctx, skr_master_key **out);
	void (*free)(void *ctx);
} skr_master_source_ops;

typedef struct skr_master_source {
	const skr_master_source_ops *ops;
	void *ctx; /* owned by the source */
} skr_master_source;

/*
 * The key file source: path is copied.  create writes 32 random bytes to a
 * new file with mode 0600 (O_CREAT|O_EXCL|O_NOFOLLOW, fsync of the file and
 * its directory); an existing file is SKR_ERR_MASTER_KEY.  load refuses a
 * file that is not a regular file, that group or others may access in any
 * way, or that is not exactly 32 bytes long (SKR_ERR_MASTER_KEY); a missing
 * file is SKR_ERR_MASTER_KEY too.  *out: caller frees with
 * skr_master_source_free.
 */
int skr_master_source_file(const char *path, skr_master_source **out);

/* Dispatch through src->ops. */
int skr_master_create(skr_master_source *src, skr_master_key **out);
int skr_master_load(skr_master_source *src, skr_master_key **out);
/* NULL is fine. */
void skr_master_source_free(skr_master_source *src);

/* Wrap raw bytes (exactly SKR_MASTER_KEY_LEN, else SKR_ERR_INVAL) in a
 * locked container; p is copied, the caller wipes its own copy.  For other
 * sources and tests. *out: caller frees with skr_master_key_free. */
int skr_master_key_from_bytes(const uint8_t *p, size_t n,
    skr_master_key **out);

/* A fresh random key in memory only (tests, `skrd --dev`). */
int skr_master_key_generate(skr_master_key **out);

/* The 32 key bytes; borrowed, valid until the key is freed.  Never copy
 * them anywhere that is not wiped. */
const uint8_t *skr_master_key_bytes(const skr_master_key *mk);

/*
 * HKDF-SHA256 (RFC 5869) of the key with the given salt (may be NULL/0) and
 * info label, giving a new 32-byte key in its own locked container.  Used
 * for domain separation: the store never uses the master key directly.
 * *out: caller frees with skr_master_key_free.
 */
int skr_master_key_derive(const skr_master_key *mk, const uint8_t *salt,
    size_t saltlen, const char *info, skr_master_key **out);

/* Wipes, unlocks and frees; NULL is fine. */
void skr_master_key_free(skr_master_key *mk);

/* ---- generations and the keyring ------------------------------------ */

/*
 * The keyring (docs/sealing.md, "Generations"): the master key generations
 * a store may need, at most SKR_KEYRING_MAX (two while a rotation moves the
 * data keys from the older to the newer).  Generation numbers start at 1
 * and only grow.  A keyring owns its keys; it is what a seal protects.
 */
#define SKR_KEYRING_MAX 2

typedef struct skr_keyring {
	size_t n;
	uint32_t gen[SKR_KEYRING_MAX];      /* ascending */
	skr_master_key *key[SKR_KEYRING_MAX]; /* owned */
} skr_keyring;

/* Add generation gen, taking mk (freed on error too).  A generation
 * already present or a full ring: SKR_ERR_INVAL. */
int skr_keyring_add(skr_keyring *kr, uint32_t gen, skr_master_key *mk);
/* The key of generation gen, borrowed; NULL when absent. */
const skr_master_key *skr_keyring_find(const skr_keyring *kr, uint32_t gen);
/* The newest generation, 0 for an empty ring. */
uint32_t skr_keyring_newest(const skr_keyring *kr);
/* Drop (wipe and free) every generation older than gen. */
void skr_keyring_drop_below(skr_keyring *kr, uint32_t gen);
/* Free every key; kr itself is the caller's and is left empty. */
void skr_keyring_clear(skr_keyring *kr);

/*
 * The keyring as bytes, for a seal to protect: exactly 32 bytes is one key
 * of generation 1 (the original master.key file); otherwise "SKRK", a
 * version byte (1), a count byte, and per generation a u32 big-endian
 * number and its 32 bytes.  encode appends to out, which must be a secret
 * buffer; decode refuses anything else with SKR_ERR_MASTER_KEY.
 */
int skr_keyring_encode(const skr_keyring *kr, skr_buf *out);
int skr_keyring_decode(const uint8_t *p, size_t n, skr_keyring *kr);

/* ---- seals ------------------------------------------------------------ */

/*
 * What protects the keyring at rest (docs/sealing.md).  The implementations
 * live in server/seal/; the store sees only this table.  wrap turns the
 * encoded keyring into a blob the data directory may hold (appended to
 * blob); unwrap gives the keyring bytes back (appended to pt, a secret
 * buffer).  unwrap errors name the cause: SKR_ERR_SEAL_UNAVAILABLE,
 * SKR_ERR_SEAL_AUTH, SKR_ERR_SEAL_KEY, SKR_ERR_SEAL_POLICY, SKR_ERR_SEALED
 * (a seal that still waits for its unseal shares).  free releases ctx.
 */
typedef struct skr_seal_ops {
	const char *name; /* "file", "pkcs11", "tpm2", "shamir" */
	int (*wrap)(void *ctx, const uint8_t *pt, size_t n, skr_buf *blob);
	int (*unwrap)(void *ctx, const uint8_t *blob, size_t n, skr_buf *pt);
	void (*free)(void *ctx);
} skr_seal_ops;

#endif
