/*
 * The seal of a data directory (docs/sealing.md): which seal protects the
 * master key generations (the keyring, masterkey.h) and where its sealed
 * blob lies.  The directory holds seal.json -- the seal's type and its
 * non-secret settings, and the name of the blob file -- and the blob; a
 * directory without seal.json is a file seal whose blob is master.key.
 *
 * Every change is committed by one rename of seal.json: a new blob is
 * written under a new name and synced first, so a crash at any point leaves
 * the directory opening with the old seal or the new one, never neither.
 * Blobs that seal.json no longer names are removed when a seal is next
 * opened.
 *
 * Seals: "file" (the keyring in a file, for development and skrd --dev),
 * "pkcs11" (wrapped by an AES-256 key that never leaves a PKCS#11 token),
 * "tpm2" (a TPM 2.0 sealed data object, optionally bound to PCRs) and
 * "shamir" (k of n shares; the directory keeps only the keyring encrypted
 * under the split key and one verifier per share).
 */
#ifndef SKR_SEAL_SEALDIR_H
#define SKR_SEAL_SEALDIR_H

#include <stddef.h>

#include "masterkey.h"
#include "shamir.h"

#define SKR_SEAL_SETTINGS "seal.json"

/* The options of skrd init --seal and skrd seal-migrate --to, and the
 * serve-time overrides (the PIN file); borrowed for each call. */
typedef struct skr_seal_opts {
	const char *type;            /* NULL: "file" */
	const char *pkcs11_module;
	const char *pkcs11_token;
	const char *pkcs11_pin_file; /* SKR_PKCS11_PIN in the environment
	                              * wins over it */
	const char *pkcs11_key;      /* NULL: "skr-master-wrap" */
	const char *tcti;            /* NULL: the TSS's default */
	const char *tpm_pcrs;        /* e.g. "sha256:0,7"; NULL: none */
	int shares, threshold;
} skr_seal_opts;

/* The shares of a new Shamir seal, each shown once; wipe with skr_wipe. */
typedef struct skr_seal_shares {
	size_t n;
	char text[SKR_SHAMIR_MAX][SKR_SHARE_TEXT_MAX];
} skr_seal_shares;

typedef struct skr_sealdir skr_sealdir;

/*
 * Seal kr into dir with the seal o describes (a pkcs11 seal makes its
 * wrapping key on the token when the token has none of that label) and
 * write seal.json.  A directory that already has a seal: SKR_ERR_CONFLICT.
 * Bad options: SKR_ERR_CONFIG.  shares (may be NULL for other seals)
 * receives a Shamir seal's shares.
 */
int skr_sealdir_create(const char *dir, const skr_seal_opts *o,
    const skr_keyring *kr, skr_seal_shares *shares);

/*
 * The seal of dir as seal.json describes it; o (may be NULL) supplies what
 * is not in the directory (the PIN file).  Nothing is unsealed yet.
 * Malformed settings: SKR_ERR_CONFIG.  *out: free with skr_sealdir_free.
 */
int skr_sealdir_open(const char *dir, const skr_seal_opts *o,
    skr_sealdir **out);

/* "file", "pkcs11", "tpm2" or "shamir"; borrowed. */
const char *skr_sealdir_type(const skr_sealdir *sd);

/*
 * Unseal the keyring into kr (caller clears it with skr_keyring_clear).
 * Errors name the cause (masterkey.h, skr_seal_ops); a Shamir seal that
 * lacks shares: SKR_ERR_SEALED.
 */
int skr_sealdir_load(skr_sealdir *sd, skr_keyring *kr);

/* Seal kr anew (a rotation added or dropped a generation) and commit. */
int skr_sealdir_store(skr_sealdir *sd, const skr_keyring *kr);

/* Shows a new seal's shares before the change commits, so that a crash
 * after the commit cannot leave a seal whose shares nobody saw; an error
 * abandons the change. */
typedef int (*skr_seal_show_fn)(void *arg, skr_seal_shares *shares);

/*
 * Move the keyring to the seal o describes (skrd seal-migrate): unsealed
 * with the current seal, sealed with the new one beside it, its shares (a
 * Shamir seal) given to show (may be NULL for other seals), committed by
 * the rename of seal.json; sd then is the new seal.  The same seal with
 * the same settings: SKR_ERR_SEAL_SAME.
 */
int skr_sealdir_migrate(skr_sealdir *sd, const skr_seal_opts *o,
    skr_seal_show_fn show, void *arg);

/*
 * Shamir seals: give one share (its text).  A malformed share, one of
 * another store or one that is not among this split's shares is refused
 * (SKR_ERR_SHARE_*) and does not count; a share given already is
 * SKR_ERR_SHARE_DUPLICATE and does not count twice.  *complete is set once
 * threshold shares are in: skr_sealdir_load then opens.  Other seals:
 * SKR_ERR_NOT_SEALED.
 */
int skr_sealdir_give_share(skr_sealdir *sd, const char *text, size_t len,
    int *complete);

/* Whether the seal waits for shares, its threshold and the shares in
 * (0, 0 for other seals). */
void skr_sealdir_status(skr_sealdir *sd, int *needs_shares, int *threshold,
    int *progress);

/* Shamir seals: wipe the recovered split key and the shares given, so
 * that the seal needs its shares again.  Others: nothing. */
void skr_sealdir_forget(skr_sealdir *sd);

/* NULL is fine. */
void skr_sealdir_free(skr_sealdir *sd);

/* Test builds (-Dtest_clock=true): die by SIGKILL when SKR_TEST_CRASH
 * names this point, so that tests can crash at each step of a change. */
void skr_seal_crash_point(const char *name);

#endif
