#include "shamir.h"

#include <ctype.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "encoding.h"
#include "guard.h"
#include "random.h"
#include "skr/error.h"

#define SHARE_VERSION 1
#define SHARE_PREFIX "skrs1-"
#define SHARE_CHECK_LEN 4
#define SHARE_BODY (1 + SKR_SHARE_ID_LEN + 3 + SKR_SHAMIR_SECRET_LEN)
#define SHARE_RAW (SHARE_BODY + SHARE_CHECK_LEN)
#define CHECK_LABEL "skr/v1/share"

/* Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1: shift and add
 * with masks instead of branches, so the time does not depend on a or b. */
uint8_t
skr_gf256_mul(uint8_t a, uint8_t b)
{
	uint8_t p = 0, hi;
	int i;

	for (i = 0; i < 8; i++) {
		p ^= (uint8_t)(-(b & 1) & a);
		hi = (uint8_t)-(a >> 7);
		a = (uint8_t)((a << 1) ^ (hi & 0x1b));
		b >>= 1;
	}
	return p;
}

/* a^254, the inverse of a (0 for 0), by a fixed chain of squarings and
 * multiplications. */
uint8_t
skr_gf256_inv(uint8_t a)
{
	uint8_t r = a, sq = a;
	int i;

	/* 254 = 0b11111110: a^2 * a^4 * ... * a^128. */
	sq = skr_gf256_mul(sq, sq);   /* a^2 */
	r = sq;
	for (i = 0; i < 6; i++) {
		sq = skr_gf256_mul(sq, sq);
		r = skr_gf256_mul(r, sq);
	}
	return r;
}

int
skr_shamir_split(const uint8_t secret[SKR_SHAMIR_SECRET_LEN], int k, int n,
    const uint8_t id[SKR_SHARE_ID_LEN], skr_share *out)
{
	uint8_t coef[SKR_SHAMIR_MAX - 1][SKR_SHAMIR_SECRET_LEN];
	uint8_t acc;
	int i, j, b, r;

	if (k < 2 || n < k || n > SKR_SHAMIR_MAX)
		return SKR_ERR_INVAL;
	/* f_b(x) = secret[b] + c1 x + ... + c_{k-1} x^{k-1}, per byte b. */
	SKR_GUARD(skr_random(&coef[0][0], (size_t)(k - 1) *
	    SKR_SHAMIR_SECRET_LEN));
	for (i = 0; i < n; i++) {
		skr_share *s = &out[i];
		uint8_t x = (uint8_t)(i + 1);

		memcpy(s->id, id, SKR_SHARE_ID_LEN);
		s->k = (uint8_t)k;
		s->n = (uint8_t)n;
		s->x = x;
		for (b = 0; b < SKR_SHAMIR_SECRET_LEN; b++) {
			/* Horner's rule from the highest coefficient. */
			acc = 0;
			for (j = k - 2; j >= 0; j--)
				acc = skr_gf256_mul(acc, x) ^ coef[j][b];
			s->y[b] = skr_gf256_mul(acc, x) ^ secret[b];
		}
	}
out:
	skr_wipe(coef, sizeof(coef));
	return r;
}

int
skr_shamir_combine(const skr_share *shares, size_t count,
    uint8_t secret[SKR_SHAMIR_SECRET_LEN])
{
	const skr_share *use[SKR_SHAMIR_MAX];
	uint8_t li, num, den;
	size_t i, j, m = 0, k;
	int b;

	if (count == 0)
		return SKR_ERR_INVAL;
	k = shares[0].k;
	if (k < 2 || k > SKR_SHAMIR_MAX)
		return SKR_ERR_INVAL;
	for (i = 0; i < count && m < k; i++) {
		const skr_share *s = &shares[i];
		int dup = 0;

		if (memcmp(s->id, shares[0].id, SKR_SHARE_ID_LEN) != 0 ||
		    s->k != shares[0].k || s->n != shares[0].n || s->x == 0)
			return SKR_ERR_INVAL;
		for (j = 0; j < m; j++)
			dup |= use[j]->x == s->x;
		if (!dup)
			use[m++] = s;
	}
	if (m < k)
		return SKR_ERR_INVAL;
	memset(secret, 0, SKR_SHAMIR_SECRET_LEN);
	/* Lagrange at 0: l_i = prod_{j != i} x_j / (x_j - x_i); subtraction
	 * is XOR in GF(2^8).  The x values are public. */
	for (i = 0; i < k; i++) {
		num = 1;
		den = 1;
		for (j = 0; j < k; j++) {
			if (j == i)
				continue;
			num = skr_gf256_mul(num, use[j]->x);
			den = skr_gf256_mul(den, use[j]->x ^ use[i]->x);
		}
		li = skr_gf256_mul(num, skr_gf256_inv(den));
		for (b = 0; b < SKR_SHAMIR_SECRET_LEN; b++)
			secret[b] ^= skr_gf256_mul(use[i]->y[b], li);
	}
	return SKR_OK;
}

static int
share_check(const uint8_t *body, uint8_t out[SHARE_CHECK_LEN])
{
	uint8_t md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return SKR_ERR_NOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, CHECK_LABEL, sizeof(CHECK_LABEL)) == 1 &&
	    EVP_DigestUpdate(ctx, body, SHARE_BODY) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return SKR_ERR_CRYPTO;
	memcpy(out, md, SHARE_CHECK_LEN);
	return SKR_OK;
}

static void
share_pack(const skr_share *s, uint8_t raw[SHARE_RAW])
{
	raw[0] = SHARE_VERSION;
	memcpy(raw + 1, s->id, SKR_SHARE_ID_LEN);
	raw[1 + SKR_SHARE_ID_LEN] = s->k;
	raw[2 + SKR_SHARE_ID_LEN] = s->n;
	raw[3 + SKR_SHARE_ID_LEN] = s->x;
	memcpy(raw + 4 + SKR_SHARE_ID_LEN, s->y, SKR_SHAMIR_SECRET_LEN);
}

int
skr_share_encode(const skr_share *s, char out[SKR_SHARE_TEXT_MAX])
{
	uint8_t raw[SHARE_RAW];
	skr_buf text = SKR_BUF_INIT_SECRET;
	int r;

	out[0] = '\0';
	share_pack(s, raw);
	SKR_GUARD(share_check(raw, raw + SHARE_BODY));
	SKR_GUARD(skr_buf_append_str(&text, SHARE_PREFIX));
	SKR_GUARD(skr_b64url_encode(&text, raw, sizeof(raw)));
	SKR_ENSURE(text.len < SKR_SHARE_TEXT_MAX, SKR_ERR_INTERNAL);
	memcpy(out, text.data, text.len);
	out[text.len] = '\0';
out:
	skr_wipe(raw, sizeof(raw));
	skr_buf_free(&text);
	return r;
}

int
skr_share_parse(const char *text, size_t len, skr_share *out)
{
	skr_buf raw = SKR_BUF_INIT_SECRET;
	uint8_t check[SHARE_CHECK_LEN];
	const char *p = text, *e = text + len, *colon;
	const uint8_t *q;
	int r;

	memset(out, 0, sizeof(*out));
	while (p < e && isspace((unsigned char)*p))
		p++;
	while (e > p && isspace((unsigned char)e[-1]))
		e--;
	/* "share I/N: " as skrd init prints the line. */
	if ((size_t)(e - p) > 6 && memcmp(p, "share ", 6) == 0 &&
	    (colon = memchr(p, ':', (size_t)(e - p))) != NULL) {
		p = colon + 1;
		while (p < e && *p == ' ')
			p++;
	}
	SKR_ENSURE((size_t)(e - p) > sizeof(SHARE_PREFIX) - 1 &&
	    memcmp(p, SHARE_PREFIX, sizeof(SHARE_PREFIX) - 1) == 0,
	    SKR_ERR_SHARE_MALFORMED);
	p += sizeof(SHARE_PREFIX) - 1;
	SKR_ENSURE(skr_b64url_decode(&raw, p, (size_t)(e - p)) == SKR_OK &&
	    raw.len == SHARE_RAW, SKR_ERR_SHARE_MALFORMED);
	q = raw.data;
	SKR_GUARD(share_check(q, check));
	SKR_ENSURE(q[0] == SHARE_VERSION &&
	    skr_ct_equal(check, q + SHARE_BODY, SHARE_CHECK_LEN),
	    SKR_ERR_SHARE_MALFORMED);
	memcpy(out->id, q + 1, SKR_SHARE_ID_LEN);
	out->k = q[1 + SKR_SHARE_ID_LEN];
	out->n = q[2 + SKR_SHARE_ID_LEN];
	out->x = q[3 + SKR_SHARE_ID_LEN];
	memcpy(out->y, q + 4 + SKR_SHARE_ID_LEN, SKR_SHAMIR_SECRET_LEN);
	SKR_ENSURE(out->n <= SKR_SHAMIR_MAX && out->k >= 2 &&
	    out->k <= out->n && out->x >= 1 && out->x <= out->n,
	    SKR_ERR_SHARE_MALFORMED);
out:
	if (r != SKR_OK)
		skr_wipe(out, sizeof(*out));
	skr_buf_free(&raw);
	return r;
}
