#include "buf.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "skr/error.h"

void
skr_buf_init(skr_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max ? max : SKR_BUF_DEFAULT_MAX;
}

void
skr_buf_init_secret(skr_buf *b, size_t max)
{
	skr_buf_init(b, max);
	b->secret = 1;
}

/*
 * Secret bytes go to OpenSSL's secure heap when the program set one up
 * (skrd does: locked in memory, left out of core dumps, cleared on free);
 * otherwise, or when it is full, to the ordinary heap.  skr_freezero tells
 * the two apart.
 */
static uint8_t *
secret_alloc(size_t n)
{
	uint8_t *p = NULL;

	if (CRYPTO_secure_malloc_initialized()) {
		/* A full secure heap queues an error; keys/ leaves none. */
		ERR_set_mark();
		p = OPENSSL_secure_malloc(n);
		ERR_pop_to_mark();
	}
	return p != NULL ? p : malloc(n);
}

int
skr_buf_reserve(skr_buf *b, size_t n)
{
	size_t need, ncap;
	uint8_t *p;

	if (b->max == 0)
		b->max = SKR_BUF_DEFAULT_MAX;
	if (n > b->max || b->len > b->max - n)
		return SKR_ERR_TOO_LARGE;
	need = b->len + n + 1; /* room for the trailing NUL */
	if (need <= b->cap)
		return SKR_OK;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if (b->secret) {
		/* Never let realloc leave a copy of a secret behind. */
		p = secret_alloc(ncap);
		if (p == NULL)
			return SKR_ERR_NOMEM;
		if (b->data != NULL) {
			memcpy(p, b->data, b->len + 1);
			skr_freezero(b->data, b->cap);
		}
	} else {
		p = realloc(b->data, ncap);
		if (p == NULL)
			return SKR_ERR_NOMEM;
	}
	if (b->data == NULL)
		p[0] = '\0';
	b->data = p;
	b->cap = ncap;
	return SKR_OK;
}

int
skr_buf_append(skr_buf *b, const void *p, size_t n)
{
	int r;

	if ((r = skr_buf_reserve(b, n)) != SKR_OK)
		return r;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return SKR_OK;
}

int
skr_buf_append_str(skr_buf *b, const char *s)
{
	return skr_buf_append(b, s, strlen(s));
}

int
skr_buf_append_byte(skr_buf *b, uint8_t c)
{
	return skr_buf_append(b, &c, 1);
}

static int vappendf(skr_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static int
vappendf(skr_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n, r;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0)
		return SKR_ERR_INVAL;
	if ((r = skr_buf_reserve(b, (size_t)n)) != SKR_OK)
		return r;
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return SKR_OK;
}

int
skr_buf_appendf(skr_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vappendf(b, fmt, ap);
	va_end(ap);
	return r;
}

int
skr_buf_fail(skr_buf *why, int err, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL) {
		va_start(ap, fmt);
		(void)vappendf(why, fmt, ap);
		va_end(ap);
	}
	return err;
}

int
skr_buf_set(skr_buf *b, const void *p, size_t n)
{
	skr_buf_reset(b);
	return skr_buf_append(b, p, n);
}

const char *
skr_buf_cstr(const skr_buf *b)
{
	return b->data != NULL ? (const char *)b->data : "";
}

uint8_t *
skr_buf_steal(skr_buf *b, size_t *lenp)
{
	uint8_t *p;

	if (b->data == NULL && skr_buf_reserve(b, 0) != SKR_OK)
		return NULL;
	p = b->data;
	/* Callers free() what they steal: hand out ordinary heap. */
	if (CRYPTO_secure_allocated(p)) {
		if ((p = malloc(b->len + 1)) == NULL)
			return NULL;
		memcpy(p, b->data, b->len + 1);
		skr_freezero(b->data, b->cap);
	}
	if (lenp != NULL)
		*lenp = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
skr_buf_reset(skr_buf *b)
{
	if (b->data != NULL) {
		if (b->secret)
			skr_wipe(b->data, b->cap);
		b->data[0] = '\0';
	}
	b->len = 0;
}

void
skr_buf_free(skr_buf *b)
{
	if (b->secret)
		skr_freezero(b->data, b->cap);
	else
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
skr_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void
skr_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	if (CRYPTO_secure_allocated(p)) {
		OPENSSL_secure_clear_free(p, n);
		return;
	}
	skr_wipe(p, n);
	free(p);
}

int
skr_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

size_t
skr_wipe_block(void *p)
{
	size_t n;

	if (p == NULL)
		return 0;
	n = malloc_usable_size(p);
	skr_wipe(p, n);
	return n;
}

void
skr_free_wiped(void *p)
{
	skr_wipe_block(p);
	free(p);
}
