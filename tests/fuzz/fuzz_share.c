/*
 * libFuzzer target: the parsers of the seal library (server/seal/).  The
 * first byte picks one: 0 reads the rest as the text of an unseal share
 * (shamir.h), which when accepted must encode back to a text that parses
 * to the same share; 1 reads the rest as an encoded keyring (masterkey.h),
 * which when accepted must encode back to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "masterkey.h"
#include "shamir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skr_share a, b;
	skr_keyring kr;
	skr_buf enc = SKR_BUF_INIT_SECRET;
	char text[SKR_SHARE_TEXT_MAX];

	if (size == 0)
		return 0;
	if (data[0] % 2 == 0) {
		if (skr_share_parse((const char *)data + 1, size - 1, &a) != 0)
			return 0;
		if (skr_share_encode(&a, text) != 0 ||
		    skr_share_parse(text, strlen(text), &b) != 0 ||
		    memcmp(&a, &b, sizeof(a)) != 0)
			abort();
		return 0;
	}
	if (skr_keyring_decode(data + 1, size - 1, &kr) != 0)
		return 0;
	if (skr_keyring_encode(&kr, &enc) != 0 || enc.len != size - 1 ||
	    memcmp(enc.data, data + 1, enc.len) != 0)
		abort();
	skr_keyring_clear(&kr);
	skr_buf_free(&enc);
	return 0;
}
