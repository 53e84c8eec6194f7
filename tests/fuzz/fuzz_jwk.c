/*
 * libFuzzer target: JWK parsing (keys/jwk.c).  The first byte picks the
 * parse flags; the rest is JWK text.  A key that parses is put through
 * every form the server and client derive from it (emit, thumbprint,
 * private bytes, PEM) and each round trip must give the same key.
 *
 * An RSA public key is checked as SP 800-56B asks (OpenSSL's public-key
 * check), whose compositeness test draws random witnesses: a modulus that
 * is no product of two large primes passes or fails by chance (a witness
 * sharing a factor with it).  So a parse back that fails is tried again a
 * few times before it counts; a format bug fails every time.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "buf.h"
#include "jwk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* first || (tries of again, up to three more): 1 while all fail.  The
 * error queue a failed try leaves is cleared for the next. */
#define retry(first, again) \
	((first) && (ERR_clear_error(), (again)) && \
	    (ERR_clear_error(), (again)) && (ERR_clear_error(), (again)))

/* A broken invariant: say which, then crash for libFuzzer. */
static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_jwk: %s (OpenSSL error queue: %lx)\n", what,
	    ERR_peek_error());
	abort();
}

static void
round_trips(const skr_key *key)
{
	skr_buf priv = SKR_BUF_INIT_SECRET, pem = SKR_BUF_INIT_SECRET;
	uint8_t tp[EVP_MAX_MD_SIZE];
	size_t tplen;
	skr_key *again = NULL;
	json_t *j;

	if (ERR_peek_error() != 0)
		fail("parse left an error queued");
	if ((j = skr_jwk_emit(key, 1)) == NULL)
		fail("emit");
	if (retry(skr_jwk_parse(j, 0, &again) != 0, skr_jwk_parse(j, 0,
	    &again) != 0))
		fail("emitted JWK does not parse");
	if (!skr_key_public_equal(key, again))
		fail("emitted JWK is another key");
	json_decref(j);
	skr_key_free(again);
	again = NULL;
	if (skr_jwk_thumbprint(key, EVP_sha256(), tp, &tplen) != 0)
		fail("thumbprint");
	if (skr_key_has_private(key)) {
		if (skr_key_private_bytes(key, &priv) != 0)
			fail("private bytes");
		if (retry(skr_key_from_private_bytes(skr_key_kty(key),
		    priv.data, priv.len, &again) != 0,
		    skr_key_from_private_bytes(skr_key_kty(key), priv.data,
		    priv.len, &again) != 0))
			fail("private bytes do not parse");
		if (!skr_key_public_equal(key, again))
			fail("private bytes are another key");
		skr_key_free(again);
		again = NULL;
	}
	if (skr_key_kty(key) != SKR_KTY_OCT) {
		if (skr_key_to_pem(key, skr_key_has_private(key), &pem) != 0)
			fail("PEM");
		if (retry(skr_key_from_pem((const char *)pem.data, pem.len,
		    &again) != 0, skr_key_from_pem((const char *)pem.data,
		    pem.len, &again) != 0))
			fail("PEM does not parse");
		if (!skr_key_public_equal(key, again))
			fail("PEM is another key");
		skr_key_free(again);
	}
	if (ERR_peek_error() != 0)
		fail("an error left queued");
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
