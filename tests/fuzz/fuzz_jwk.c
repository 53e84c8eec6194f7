/*
 * libFuzzer target: JWK parsing (keys/jwk.c).  The first byte picks the
 * parse flags; the rest is JWK text.  A key that parses is put through
 * every form the server and client derive from it (emit, thumbprint,
 * private bytes, PEM) and each round trip must give the same key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "buf.h"
#include "jwk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trips(const skr_key *key)
{
	skr_buf priv = SKR_BUF_INIT_SECRET, pem = SKR_BUF_INIT_SECRET;
	uint8_t tp[EVP_MAX_MD_SIZE];
	size_t tplen;
	skr_key *again = NULL;
	json_t *j;

	if ((j = skr_jwk_emit(key, 1)) == NULL)
		abort();
	if (skr_jwk_parse(j, 0, &again) != 0 ||
	    !skr_key_public_equal(key, again))
		abort();
	json_decref(j);
	skr_key_free(again);
	again = NULL;
	(void)skr_jwk_thumbprint(key, EVP_sha256(), tp, &tplen);
	if (skr_key_has_private(key)) {
		if (skr_key_private_bytes(key, &priv) != 0 ||
		    skr_key_from_private_bytes(skr_key_kty(key), priv.data,
		    priv.len, &again) != 0 ||
		    !skr_key_public_equal(key, again))
			abort();
		skr_key_free(again);
		again = NULL;
	}
	if (skr_key_kty(key) != SKR_KTY_OCT) {
		if (skr_key_to_pem(key, skr_key_has_private(key), &pem) != 0 ||
		    skr_key_from_pem((const char *)pem.data, pem.len,
		    &again) != 0 || !skr_key_public_equal(key, again))
			abort();
		skr_key_free(again);
	}
	skr_buf_free(&priv);
	skr_buf_free(&pem);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned flags[] = { 0, SKR_JWK_PUBLIC,
	    SKR_JWK_REQUIRE_PRIVATE };
	skr_key *key = NULL;

	if (size == 0)
		return 0;
	if (skr_jwk_parse_text((const char *)data + 1, size - 1,
	    flags[data[0] % 3], &key) == 0)
		round_trips(key);
	skr_key_free(key);
	return 0;
}
