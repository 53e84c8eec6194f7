/*
 * Unit tests: secret buffers in OpenSSL's secure heap (keys/buf.c).  With
 * the heap set up, as skrd does, secret bytes live in it; without it, or
 * when it is full, on the ordinary heap; either way they are wiped and
 * freed by the same calls, stolen bytes can be free()d, and nothing is left
 * on OpenSSL's error queue.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "buf.h"
#include "check.h"
#include "jwk.h"

static void
fill(skr_buf *b, size_t n)
{
	int ok = 1;

	for (size_t i = 0; i < n; i++)
		ok &= skr_buf_append_byte(b, (uint8_t)i) == SKR_OK;
	CHECK(ok);
}

static void
test_before_init(void)
{
	skr_buf b = SKR_BUF_INIT_SECRET;

	CHECK(!CRYPTO_secure_malloc_initialized());
	fill(&b, 100);
	CHECK(!CRYPTO_secure_allocated(b.data));
	skr_buf_free(&b);
}

static void
test_secure(void)
{
	skr_buf b = SKR_BUF_INIT_SECRET, plain = SKR_BUF_INIT, big;
	uint8_t *p;
	size_t n;
	skr_key *k = NULL;

	fill(&b, 1000);
	CHECK(CRYPTO_secure_allocated(b.data));
	CHECK(b.data[999] == (uint8_t)999);
	fill(&plain, 10);
	CHECK(!CRYPTO_secure_allocated(plain.data));
	skr_buf_free(&plain);
	/* Stolen secret bytes are ordinary heap: the caller may free() them. */
	p = skr_buf_steal(&b, &n);
	CHECK(p != NULL && n == 1000 && !CRYPTO_secure_allocated(p));
	CHECK(p[999] == (uint8_t)999 && p[1000] == '\0');
	skr_freezero(p, n);
	/* Larger than the whole secure heap: the ordinary heap takes it. */
	skr_buf_init_secret(&big, 0);
	fill(&big, 200 * 1024);
	CHECK(big.len == 200 * 1024 && !CRYPTO_secure_allocated(big.data));
	CHECK(ERR_peek_error() == 0);
	skr_buf_free(&big);
	/* skr_freezero frees memory from either heap. */
	p = OPENSSL_secure_malloc(64);
	CHECK(p != NULL && CRYPTO_secure_allocated(p));
	memset(p, 0xaa, 64);
	skr_freezero(p, 64);
	/* Private key bytes for storage and release land in the heap. */
	CHECK_OK(skr_key_generate(SKR_KTY_OCT, 256, &k));
	CHECK_OK(skr_key_private_bytes(k, &b));
	CHECK(b.len == 32 && CRYPTO_secure_allocated(b.data));
	skr_buf_free(&b);
	skr_key_free(k);
}

int
main(void)
{
	test_before_init();
	/* 64 KiB, as a small skrd would; mlock may be refused (1 or 2). */
	CHECK(CRYPTO_secure_malloc_init(64 * 1024, 16) != 0);
	test_secure();
	CRYPTO_secure_malloc_done();
	return check_done();
}
