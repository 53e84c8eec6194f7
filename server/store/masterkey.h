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

#endif
