/*
 * libFuzzer target: opening sealed blobs (keys/seal.c) and turning the
 * opened bytes into a key, as the store does with every stored version.
 * The first byte picks a mode: 0 opens the rest as a blob under a fixed key
 * and associated data; 1 seals the rest, which must open to the same bytes
 * and fail to open after any one-bit change; 2 reads the rest as the
 * private bytes of an RSA, EC or oct key (the sealed plaintext format).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jwk.h"
#include "seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[SKR_SEAL_KEY_LEN] = { 9, 8, 7, 6, 5, 4 };
	static const uint8_t aad[] = "k\0" "0123456789abcdef0123456789abcdef";
	skr_buf blob = SKR_BUF_INIT, pt = SKR_BUF_INIT_SECRET;
	skr_key *k = NULL;
	size_t bit;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		(void)skr_seal_open(key, aad, sizeof(aad), data + 1, size - 1,
		    &pt);
		break;
	case 1:
		if (skr_seal(key, aad, sizeof(aad), data + 1, size - 1,
		    &blob) != 0)
			break;
		if (skr_seal_open(key, aad, sizeof(aad), blob.data, blob.len,
		    &pt) != 0 || pt.len != size - 1 ||
		    (size > 1 && memcmp(pt.data, data + 1, size - 1) != 0))
			abort();
		bit = (size * 7919) % (blob.len * 8);
		blob.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		skr_buf_reset(&pt);
		if (skr_seal_open(key, aad, sizeof(aad), blob.data, blob.len,
		    &pt) == 0)
			abort();
		break;
	case 2:
		for (int t = SKR_KTY_RSA; t <= SKR_KTY_OCT; t++) {
			if (skr_key_from_private_bytes((skr_kty)t, data + 1,
			    size - 1, &k) == 0 && (int)skr_key_kty(k) != t)
				abort();
			skr_key_free(k);
			k = NULL;
		}
		break;
	}
	skr_buf_free(&blob);
	skr_buf_free(&pt);
	return 0;
}
