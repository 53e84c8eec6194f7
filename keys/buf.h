/*
 * skr_buf: the one bounded byte buffer used for all parsing and building.
 *
 * A buffer has a length, a capacity and a hard maximum; growing past the
 * maximum fails with SKR_ERR_TOO_LARGE instead of allocating.  A buffer
 * initialised with skr_buf_init_secret() is wiped (OPENSSL_cleanse) whenever
 * its memory is released or reallocated, so secrets never linger in freed
 * heap; when the program has set up OpenSSL's secure heap
 * (CRYPTO_secure_malloc_init, as skrd does) its bytes live there, locked in
 * memory and out of core dumps, as long as the heap has room.  The bytes
 * are always followed by a NUL that is not counted in len, so a buffer
 * holding text can be used as a C string.
 */
#ifndef SKR_KEYS_BUF_H
#define SKR_KEYS_BUF_H

#include <stddef.h>
#include <stdint.h>

#define SKR_BUF_DEFAULT_MAX ((size_t)64 * 1024 * 1024)

typedef struct skr_buf {
	uint8_t *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap;
	size_t max;    /* hard limit on len */
	int secret;    /* wipe on free and on reallocation */
} skr_buf;

#define SKR_BUF_INIT { NULL, 0, 0, SKR_BUF_DEFAULT_MAX, 0 }
#define SKR_BUF_INIT_SECRET { NULL, 0, 0, SKR_BUF_DEFAULT_MAX, 1 }

/* max 0 means SKR_BUF_DEFAULT_MAX. Never fail. */
void skr_buf_init(skr_buf *b, size_t max);
void skr_buf_init_secret(skr_buf *b, size_t max);

/* Make room for n more bytes. SKR_ERR_TOO_LARGE past max. */
int skr_buf_reserve(skr_buf *b, size_t n);
int skr_buf_append(skr_buf *b, const void *p, size_t n);
int skr_buf_append_str(skr_buf *b, const char *s);
int skr_buf_append_byte(skr_buf *b, uint8_t c);
/* Bounded formatted append (vsnprintf underneath). */
int skr_buf_appendf(skr_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The error path of a parser that says why: append the formatted text to
 * why (may be NULL; a text that does not fit is dropped) and return err. */
int skr_buf_fail(skr_buf *why, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Replace the contents with a copy of p. */
int skr_buf_set(skr_buf *b, const void *p, size_t n);

/* The contents as a NUL-terminated string; borrowed, valid until the next
 * change to b.  Returns "" for an empty buffer. */
const char *skr_buf_cstr(const skr_buf *b);

/* Hand the bytes to the caller: returns the data (NUL-terminated, caller
 * frees with free(), or skr_freezero() if b was secret) and leaves b empty. */
uint8_t *skr_buf_steal(skr_buf *b, size_t *lenp);

/* Empty the buffer, wiping if secret; keeps the allocation. */
void skr_buf_reset(skr_buf *b);
/* Release the memory, wiping if secret; b may be reused after init. */
void skr_buf_free(skr_buf *b);

/* Wipe memory the compiler cannot optimise away. */
void skr_wipe(void *p, size_t n);
/* Wipe then free (from the secure heap or the ordinary one); p may be
 * NULL. */
void skr_freezero(void *p, size_t n);
/* Wipe the whole usable block of p, an ordinary malloc() allocation whose
 * size the caller does not know; returns that size.  p may be NULL. */
size_t skr_wipe_block(void *p);
/* skr_wipe_block, then free(): the free() of allocators that hand secrets
 * around without their sizes (skr_json_wipe_on_free). */
void skr_free_wiped(void *p);
/* Constant-time equality of two equal-length byte strings: 1 equal, 0 not. */
int skr_ct_equal(const void *a, const void *b, size_t n);

#endif
