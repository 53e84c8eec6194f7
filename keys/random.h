/*
 * Random bytes for keys, nonces, ids and IVs: OpenSSL's CSPRNG, with
 * nothing left on its per-thread error queue.
 */
#ifndef SKR_KEYS_RANDOM_H
#define SKR_KEYS_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fill p with n bytes from the OpenSSL CSPRNG: SKR_OK, SKR_ERR_CRYPTO, or
 * SKR_ERR_INVAL for n over INT32_MAX. */
int skr_random(uint8_t *p, size_t n);

#endif
