/*
 * The backup blob format (docs/store.md, "Backup and the security domain"),
 * encoded and decoded apart from the store: bytes in, a struct out.  Nothing
 * here touches LMDB or files; restore (backup.c) decides what the store
 * makes of a decoded backup.
 *
 *   blob    = "SKRB" | 0x01 | salt(16) | seal(BK, AAD = the 21 header
 *             bytes, payload)
 *   BK      = HKDF-SHA256(backup root, salt, info "skr/v1/backup")
 *   payload = u32 len | {"format":1,"name":..,"created":..,
 *             "versions":[meta,..]} | for each version: u32 len | private
 *             bytes
 *
 * The decoder accepts a payload only when its lengths add up exactly, the
 * document is a JSON object without duplicate members, of format 1, with a
 * valid key name and 1 to SKR_BACKUP_MAX_VERSIONS versions, each an object
 * with a well-formed version id (distinct, ignoring case) and a known kty.
 * Whether the material fits its kty and the metadata the store's rules is
 * restore's to check.  Every refusal is SKR_ERR_BACKUP_INVALID, with the
 * precise flaw reported beside it.
 */
#ifndef SKR_SERVER_BACKUP_CODEC_H
#define SKR_SERVER_BACKUP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "masterkey.h"

#define SKR_BACKUP_MAGIC "SKRB"
#define SKR_BACKUP_FORMAT 1
#define SKR_BACKUP_SALT_LEN 16
#define SKR_BACKUP_HDR_LEN (4 + 1 + SKR_BACKUP_SALT_LEN)
#define SKR_BACKUP_MAX_VERSIONS 100000

/* Why a blob or payload was refused. */
typedef enum skr_backup_flaw {
	SKR_BACKUP_FLAW_NONE = 0,
	SKR_BACKUP_FLAW_SHORT,      /* shorter than a header and an empty
	                             * seal */
	SKR_BACKUP_FLAW_MAGIC,      /* does not start with "SKRB" */
	SKR_BACKUP_FLAW_FORMAT,     /* header format byte other than 1 */
	SKR_BACKUP_FLAW_SEAL,       /* fails authentication: changed, or made
	                             * under another master key */
	SKR_BACKUP_FLAW_TRUNCATED,  /* a length runs past the end */
	SKR_BACKUP_FLAW_DOC,        /* document not a JSON object, or with a
	                             * duplicate member */
	SKR_BACKUP_FLAW_DOC_FORMAT, /* document "format" other than 1 */
	SKR_BACKUP_FLAW_NAME,       /* "name" missing or not a key name */
	SKR_BACKUP_FLAW_VERSIONS,   /* "versions" not an array of 1 to
	                             * SKR_BACKUP_MAX_VERSIONS */
	SKR_BACKUP_FLAW_VERSION,    /* an entry not an object, or without a
	                             * version id or a known kty */
	SKR_BACKUP_FLAW_DUPLICATE,  /* two entries with one version id */
	SKR_BACKUP_FLAW_TRAILING,   /* bytes after the last version */
} skr_backup_flaw;

/* One version: its metadata object and its private key bytes. */
typedef struct skr_backup_version {
	json_t *meta;
	const uint8_t *priv;
	size_t privlen;
} skr_backup_version;

/*
 * A decoded backup.  The struct owns everything it points to: name and
 * the metas point into doc, the private bytes into payload (a secret
 * buffer).  Release with skr_backup_clear, which wipes them; a zeroed
 * struct is an empty one.
 */
typedef struct skr_backup {
	const char *name;              /* the key's name as created */
	int64_t created;
	skr_backup_version *versions;  /* n entries, oldest first */
	size_t n;
	json_t *doc;
	skr_buf payload;
} skr_backup;

void skr_backup_clear(skr_backup *b);

/* Append the payload of a backup of key name with versions v[0..n)
 * (borrowed for the call) to out, which should be a secret buffer. */
int skr_backup_payload_encode(const char *name, int64_t created,
    const skr_backup_version *v, size_t n, skr_buf *out);

/* Decode payload p[0..n) into *out (p is copied; *out is overwritten).
 * Malformed: SKR_ERR_BACKUP_INVALID, and *flaw (may be NULL) says how. */
int skr_backup_payload_decode(const uint8_t *p, size_t n, skr_backup *out,
    skr_backup_flaw *flaw);

/* Seal payload p[0..n) under the key derived from the backup root (a
 * store's "skr/v1/backup-root" key, docs/store.md) and salt; append the
 * blob to out, or leave out as it was on error. */
int skr_backup_seal(const skr_master_key *root,
    const uint8_t salt[SKR_BACKUP_SALT_LEN], const uint8_t *p, size_t n,
    skr_buf *out);

/* Check the header of blob[0..n) and open its payload with the key derived
 * from root, appending it to payload (use a secret buffer).  Refused:
 * SKR_ERR_BACKUP_INVALID with *flaw (may be NULL) set. */
int skr_backup_open(const skr_master_key *root, const uint8_t *blob,
    size_t n, skr_buf *payload, skr_backup_flaw *flaw);

/* skr_backup_payload_encode then skr_backup_seal. */
int skr_backup_encode(const skr_master_key *root,
    const uint8_t salt[SKR_BACKUP_SALT_LEN], const char *name,
    int64_t created, const skr_backup_version *v, size_t n, skr_buf *out);

/* skr_backup_open then skr_backup_payload_decode, without a copy. */
int skr_backup_decode(const skr_master_key *root, const uint8_t *blob,
    size_t n, skr_backup *out, skr_backup_flaw *flaw);

#endif
