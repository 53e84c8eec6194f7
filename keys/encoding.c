#include "encoding.h"

#include <pthread.h>

#include "skr/error.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The groups are written straight into the reserved room: a release
 * encodes and decodes several kilobytes, and a call per group was most of
 * what that cost. */
static int
b64_encode(skr_buf *out, const uint8_t *p, size_t n, const char *alpha,
    int pad)
{
	size_t i;
	uint32_t v;
	char *q;
	int r;

	if ((r = skr_buf_reserve(out, (n + 2) / 3 * 4)) != SKR_OK)
		return r;
	q = (char *)out->data + out->len;
	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*q++ = alpha[v >> 18 & 63];
		*q++ = alpha[v >> 12 & 63];
		*q++ = alpha[v >> 6 & 63];
		*q++ = alpha[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		*q++ = alpha[v >> 18 & 63];
		*q++ = alpha[v >> 12 & 63];
		if (pad) {
			*q++ = '=';
			*q++ = '=';
		}
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*q++ = alpha[v >> 18 & 63];
		*q++ = alpha[v >> 12 & 63];
		*q++ = alpha[v >> 6 & 63];
		if (pad)
			*q++ = '=';
	}
	out->len = (size_t)(q - (char *)out->data);
	out->data[out->len] = '\0';
	return SKR_OK;
}

/* Value of each character in the two alphabets; -1 for the rest. */
static signed char b64_table[2][256];

static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void
b64_table_fill(void)
{
	int t, i;

	for (t = 0; t < 2; t++) {
		const char *alpha = t ? b64_url : b64_std;

		for (i = 0; i < 256; i++)
			b64_table[t][i] = -1;
		for (i = 0; i < 64; i++)
			b64_table[t][(unsigned char)alpha[i]] = (signed char)i;
	}
}

/* Decodes n characters without padding; rem = n % 4 must be 0, 2 or 3. */
static int
b64_decode(skr_buf *out, const char *s, size_t n, int url)
{
	const unsigned char *u = (const unsigned char *)s;
	const signed char *tab;
	size_t i, start = out->len, rem = n % 4;
	uint32_t v;
	int a, b, c, d, r;
	uint8_t *o;

	if (rem == 1)
		return SKR_ERR_ENCODING;
	if ((r = skr_buf_reserve(out, n / 4 * 3 + 2)) != SKR_OK)
		return r;
	(void)pthread_once(&b64_once, b64_table_fill);
	tab = b64_table[url ? 1 : 0];
	o = out->data + out->len;
	for (i = 0; i + 4 <= n; i += 4) {
		a = tab[u[i]];
		b = tab[u[i + 1]];
		c = tab[u[i + 2]];
		d = tab[u[i + 3]];
		if ((a | b | c | d) < 0)
			goto bad;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 |
		    (uint32_t)d;
		*o++ = v >> 16 & 0xff;
		*o++ = v >> 8 & 0xff;
		*o++ = v & 0xff;
	}
	if (rem >= 2) {
		a = tab[u[i]];
		b = tab[u[i + 1]];
		c = rem == 3 ? tab[u[i + 2]] : 0;
		if ((a | b | c) < 0)
			goto bad;
		/* Trailing bits must be zero (RFC 4648 section 3.5). */
		if (rem == 2 && (b & 0x0f) != 0)
			goto bad;
		if (rem == 3 && (c & 0x03) != 0)
			goto bad;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
		*o++ = v >> 16 & 0xff;
		if (rem == 3)
			*o++ = v >> 8 & 0xff;
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return SKR_OK;
bad:
	/* What was decoded before the bad character goes, wiped. */
	skr_wipe(out->data + start, (size_t)(o - out->data) - start);
	out->len = start;
	out->data[start] = '\0';
	return SKR_ERR_ENCODING;
}

int
skr_b64url_encode(skr_buf *out, const uint8_t *p, size_t n)
{
	return b64_encode(out, p, n, b64_url, 0);
}

int
skr_b64url_decode(skr_buf *out, const char *s, size_t n)
{
	return b64_decode(out, s, n, 1);
}

int
skr_b64_encode(skr_buf *out, const uint8_t *p, size_t n)
{
	return b64_encode(out, p, n, b64_std, 1);
}

int
skr_b64_decode(skr_buf *out, const char *s, size_t n)
{
	size_t pad = 0;

	if (n % 4 != 0)
		return SKR_ERR_ENCODING;
	if (n >= 1 && s[n - 1] == '=')
		pad++;
	if (n >= 2 && s[n - 2] == '=')
		pad++;
	return b64_decode(out, s, n - pad, 0);
}

int
skr_hex_encode(skr_buf *out, const uint8_t *p, size_t n, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t i;
	int r;

	if (n > SIZE_MAX / 2)
		return SKR_ERR_TOO_LARGE;
	if ((r = skr_buf_reserve(out, 2 * n)) != SKR_OK)
		return r;
	for (i = 0; i < n; i++) {
		char q[2] = { digits[p[i] >> 4], digits[p[i] & 15] };
		skr_buf_append(out, q, 2);
	}
	return SKR_OK;
}

void
skr_hex_text(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
skr_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
skr_hex_decode(skr_buf *out, const char *s, size_t n)
{
	size_t i, start = out->len;
	int hi, lo, r;

	if (n % 2 != 0)
		return SKR_ERR_ENCODING;
	if ((r = skr_buf_reserve(out, n / 2)) != SKR_OK)
		return r;
	for (i = 0; i < n; i += 2) {
		hi = skr_hex_digit(s[i]);
		lo = skr_hex_digit(s[i + 1]);
		if (hi < 0 || lo < 0) {
			if (out->secret)
				skr_wipe(out->data + start, out->len - start);
			out->len = start;
			out->data[start] = '\0';
			return SKR_ERR_ENCODING;
		}
		skr_buf_append_byte(out, (uint8_t)(hi << 4 | lo));
	}
	return SKR_OK;
}
