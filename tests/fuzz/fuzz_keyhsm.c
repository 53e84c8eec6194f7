/*
 * libFuzzer target: the key_hsm envelope and the RSA-AES key unwrap behind
 * it (keys/wrap.c), what libskr does with a release response.  The first
 * byte picks a mode: 0 decodes the rest as a key_hsm string and unwraps it
 * with a fixed RSA key; 1 unwraps the rest as raw RSA-OAEP || AES-KWP
 * ciphertext; 2 runs the AES-KWP unwrap (RFC 5649) alone under a fixed KEK;
 * 3 wraps the rest as an oct key's bytes to the fixed key and unwraps it
 * again, which must give the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jwk.h"
#include "wrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static skr_key *rsa;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t kek[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	skr_buf ct = SKR_BUF_INIT, pt = SKR_BUF_INIT_SECRET, hsm = SKR_BUF_INIT;
	skr_key *k = NULL, *back = NULL;
	skr_enc enc;
	char *kid = NULL;

	if (rsa == NULL && skr_key_generate(SKR_KTY_RSA, 2048, &rsa) != 0)
		abort();
	if (size == 0)
		return 0;
	enc = (skr_enc)((data[0] >> 2) % 3);
	switch (data[0] & 3) {
	case 0:
		if (skr_key_hsm_decode((const char *)data + 1, size - 1, &kid,
		    &enc, &ct) == 0 && kid == NULL)
			abort();
		(void)skr_release_unwrap((const char *)data + 1, size - 1,
		    SKR_KTY_OCT, skr_key_pkey(rsa), NULL, NULL, 0, &k);
		break;
	case 1:
		(void)skr_rsa_aes_unwrap(skr_key_pkey(rsa), enc, data + 1,
		    size - 1, &pt);
		break;
	case 2:
		(void)skr_aes_kwp_unwrap(kek, sizeof(kek), data + 1, size - 1,
		    &pt);
		break;
	case 3:
		if (skr_key_from_private_bytes(SKR_KTY_OCT, data + 1, size - 1,
		    &k) != 0)
			break;
		if (skr_release_wrap(k, skr_key_pkey(rsa), "w", enc, &hsm) != 0 ||
		    skr_release_unwrap((const char *)hsm.data, hsm.len,
		    SKR_KTY_OCT, skr_key_pkey(rsa), NULL, NULL, 0, &back) != 0 ||
		    !skr_key_public_equal(k, back))
			abort();
		break;
	}
	free(kid);
	skr_key_free(k);
	skr_key_free(back);
	skr_buf_free(&ct);
	skr_buf_free(&pt);
	skr_buf_free(&hsm);
	return 0;
}
