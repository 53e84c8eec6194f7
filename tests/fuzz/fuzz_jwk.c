/*
 * libFuzzer target: JWK parsing (keys/jwk.c).  The first byte picks the
 * parse flags; the rest is JWK text.  A key that parses is put through
 * every form the server and client derive from it (emit, thumbprint,
 * private bytes, PEM) and each round trip must give the same key.
 *
 * An RSA public key is checked as SP 800-56B asks (OpenSSL's public-key
 * check), whose compositeness test draws random witnesses: a modulus that
 * is no product of two large primes may pass or fail by chance (a witness
 * exposing a factor), and libFuzzer is good at growing such moduli, some
 * failing one check in two, some one in a hundred.  So a parse back that
 * fails is tried again, and when every try fails it counts only if the
 * original key's own public part then passes the check every one of many
 * times; a format bug fails whatever the original key is.
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

/* A broken invariant: say which, then crash for libFuzzer. */
static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_jwk: %s (OpenSSL error queue: %lx)\n", what,
	    ERR_peek_error());
	abort();
}

/* 1 when key is RSA and OpenSSL's check of its public part fails at least
 * once in 256 tries: whether such a key parses is chance, not format.  The
 * error queue the failures leave is cleared. */
static int
chance_modulus(const skr_key *key)
{
	EVP_PKEY_CTX *ctx;
	int i, chance = 0;

	if (skr_key_kty(key) != SKR_KTY_RSA)
		return 0;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, skr_key_pkey(key),
	    NULL)) == NULL)
		fail("EVP_PKEY_CTX_new_from_pkey");
	for (i = 0; i < 256 && !chance; i++)
		chance = EVP_PKEY_public_check(ctx) != 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return chance;
}

/* The forms a key makes a round trip through. */
enum form { EMITTED_JWK, PRIVATE_BYTES, PEM };
static const char *const form_names[] = { "emitted JWK", "private bytes",
	"PEM" };

/* Parse form f of key (the JSON of a JWK, or n bytes at p) back. */
static int
parse_back(enum form f, const skr_key *key, const void *p, size_t n,
    skr_key **out)
{
	switch (f) {
	case EMITTED_JWK:
		return skr_jwk_parse(p, 0, out);
	case PRIVATE_BYTES:
		return skr_key_from_private_bytes(skr_key_kty(key), p, n, out);
	case PEM:
		return skr_key_from_pem(p, n, out);
	}
	abort();
}

/* Form f of key must parse back, up to eight tries, to key itself. */
static void
same_key(enum form f, const skr_key *key, const void *p, size_t n)
{
	skr_key *again = NULL;
	char what[64];
	int i, r;

	for (i = 0; (r = parse_back(f, key, p, n, &again)) != 0 && i < 7; i++)
		ERR_clear_error();
	if (r != 0) {
		ERR_clear_error();
		if (!chance_modulus(key)) {
			snprintf(what, sizeof(what), "%s does not parse",
			    form_names[f]);
			fail(what);
		}
	} else if (!skr_key_public_equal(key, again)) {
		snprintf(what, sizeof(what), "%s is another key", form_names[f]);
		fail(what);
	}
	skr_key_free(again);
}

static void
round_trips(const skr_key *key)
{
	skr_buf priv = SKR_BUF_INIT_SECRET, pem = SKR_BUF_INIT_SECRET;
	uint8_t tp[EVP_MAX_MD_SIZE];
	size_t tplen;
	json_t *j;

	if (ERR_peek_error() != 0)
		fail("parse left an error queued");
	if ((j = skr_jwk_emit(key, 1)) == NULL)
		fail("emit");
	same_key(EMITTED_JWK, key, j, 0);
	json_decref(j);
	if (skr_jwk_thumbprint(key, EVP_sha256(), tp, &tplen) != 0)
		fail("thumbprint");
	if (skr_key_has_private(key)) {
		if (skr_key_private_bytes(key, &priv) != 0)
			fail("private bytes");
		same_key(PRIVATE_BYTES, key, priv.data, priv.len);
	}
	if (skr_key_kty(key) != SKR_KTY_OCT) {
		if (skr_key_to_pem(key, skr_key_has_private(key), &pem) != 0)
			fail("PEM");
		same_key(PEM, key, pem.data, pem.len);
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
