/*
 * libFuzzer target: JSON Web Key Sets (server/jwks.c), as fetched from an
 * attestation authority.  Every key that loads is looked up by its kid.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "jwks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skr_buf why = SKR_BUF_INIT;
	skr_jwks *set = NULL;
	unsigned algs;

	if (skr_jwks_parse((const char *)data, size, NULL, 1700000000, &set,
	    &why) == 0) {
		for (size_t i = 0; i < skr_jwks_count(set); i++) {
			const skr_key *k = skr_jwks_key(set, i);
			const char *kid = skr_key_kid(k);

			if (kid == NULL || skr_jwks_find_alg(set, kid,
			    &algs) == NULL)
				abort();
		}
		for (size_t i = 0; i < skr_jwks_warning_count(set); i++)
			(void)skr_jwks_warning(set, i);
		(void)skr_jwks_find(set, "k1");
	}
	skr_jwks_unref(set);
	skr_buf_free(&why);
	return 0;
}
