/*
 * Sealing for storage (docs/store.md): AES-256-GCM with caller-chosen
 * associated data (the store binds key name and version), in a versioned
 * blob:
 *
 *   blob = 0x01 (format) || nonce (12 random bytes) || ciphertext || tag (16)
 *
 * The format byte is also authenticated (it is prepended to the associated
 * data).  Opening fails with SKR_ERR_SEAL_OPEN on any change to the blob, key
 * or associated data, and with SKR_ERR_SEAL_FORMAT on an unknown format;
 * nothing is appended then.  No function leaves entries on OpenSSL's
 * per-thread error queue.
 */
#ifndef SKR_KEYS_SEAL_H
#define SKR_KEYS_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SKR_SEAL_KEY_LEN 32
#define SKR_SEAL_OVERHEAD (1 + 12 + 16)

/* Appends the blob to out. */
int skr_seal(const uint8_t key[SKR_SEAL_KEY_LEN], const uint8_t *aad,
    size_t aadlen, const uint8_t *pt, size_t n, skr_buf *out);
/* Appends the plaintext to out (use a secret buffer). */
int skr_seal_open(const uint8_t key[SKR_SEAL_KEY_LEN], const uint8_t *aad,
    size_t aadlen, const uint8_t *blob, size_t n, skr_buf *out);

#endif
