/*
 * Shamir's secret sharing over GF(2^8) and the text of a share
 * (server/seal/shamir.h): the field arithmetic against its definition,
 * split and combine for every 2 <= k <= n <= 16 with every k-subset of
 * small splits and random ones of large splits, k-1 shares that leave every
 * secret byte equally possible, and the parser's refusals.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "random.h"
#include "shamir.h"

/* Multiplication by the definition: carry-less product reduced modulo
 * x^8 + x^4 + x^3 + x + 1. */
static uint8_t
slow_mul(uint8_t a, uint8_t b)
{
	unsigned p = 0, i;

	for (i = 0; i < 8; i++)
		if (b & (1u << i))
			p ^= (unsigned)a << i;
	for (i = 15; i >= 8; i--)
		if (p & (1u << i))
			p ^= 0x11bu << (i - 8);
	return (uint8_t)p;
}

static void
test_field(void)
{
	int a, b, bad = 0;

	for (a = 0; a < 256; a++)
		for (b = 0; b < 256; b++)
			bad += skr_gf256_mul((uint8_t)a, (uint8_t)b) !=
			    slow_mul((uint8_t)a, (uint8_t)b);
	CHECK(bad == 0);
	bad = 0;
	for (a = 1; a < 256; a++)
		bad += skr_gf256_mul((uint8_t)a,
		    skr_gf256_inv((uint8_t)a)) != 1;
	CHECK(bad == 0);
	CHECK(skr_gf256_inv(0) == 0);
	/* 0x53 * 0xca = 1 (FIPS 197, section 4.2). */
	CHECK(skr_gf256_mul(0x53, 0xca) == 1);
}

/* Every k-subset of n shares (n small enough to enumerate), or 200 random
 * ones, recovers the secret. */
static void
test_split_combine(void)
{
	uint8_t secret[32], got[32], id[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	skr_share sh[16], pick[16];
	int k, n, fails = 0, runs = 0;
	unsigned mask, i, c;

	for (n = 2; n <= 16; n++) {
		for (k = 2; k <= n; k++) {
			CHECK_OK(skr_random(secret, sizeof(secret)));
			CHECK_OK(skr_shamir_split(secret, k, n, id, sh));
			if (n <= 10) {
				for (mask = 0; mask < (1u << n); mask++) {
					if (__builtin_popcount(mask) != k)
						continue;
					for (i = 0, c = 0; i < (unsigned)n; i++)
						if (mask & (1u << i))
							pick[c++] = sh[i];
					runs++;
					fails += skr_shamir_combine(pick, c,
					    got) != SKR_OK ||
					    memcmp(got, secret, 32) != 0;
				}
				continue;
			}
			for (int t = 0; t < 200; t++) {
				uint8_t order[16];

				/* A random k-subset in random order. */
				for (i = 0; i < (unsigned)n; i++)
					order[i] = (uint8_t)i;
				for (i = (unsigned)n - 1; i > 0; i--) {
					uint8_t r8, tmp;

					skr_random(&r8, 1);
					c = r8 % (i + 1);
					tmp = order[i];
					order[i] = order[c];
					order[c] = tmp;
				}
				for (i = 0; i < (unsigned)k; i++)
					pick[i] = sh[order[i]];
				runs++;
				fails += skr_shamir_combine(pick, (size_t)k,
				    got) != SKR_OK ||
				    memcmp(got, secret, 32) != 0;
			}
		}
	}
	CHECK(runs > 10000);
	CHECK(fails == 0);
	/* Shares of every split carry its settings. */
	CHECK(sh[15].k == 16 && sh[15].n == 16 && sh[15].x == 16);
	CHECK(memcmp(sh[0].id, id, 8) == 0);
	/* Bad settings. */
	CHECK_ERR(skr_shamir_split(secret, 1, 3, id, sh), SKR_ERR_INVAL);
	CHECK_ERR(skr_shamir_split(secret, 4, 3, id, sh), SKR_ERR_INVAL);
	CHECK_ERR(skr_shamir_split(secret, 2, 17, id, sh), SKR_ERR_INVAL);
}

/*
 * k-1 shares say nothing: for a fixed set of k-1 shares, every value of a
 * secret byte is consistent with exactly one polynomial, so combining the
 * k-1 shares with a forged k-th point can give any secret.  Checked
 * directly: for each candidate value v of the whole secret, some k-th share
 * exists that makes the k shares combine to v.  And combining too few
 * shares is refused rather than answered.
 */
static void
test_threshold(void)
{
	uint8_t secret[32], got[32], id[8] = { 9 };
	skr_share sh[5], pick[3];
	int v, ok = 0;

	CHECK_OK(skr_random(secret, sizeof(secret)));
	CHECK_OK(skr_shamir_split(secret, 3, 5, id, sh));
	CHECK_ERR(skr_shamir_combine(sh, 2, got), SKR_ERR_INVAL);
	pick[0] = sh[0];
	pick[1] = sh[1];
	for (v = 0; v < 256; v++) {
		uint8_t want[32];
		skr_share f[3];

		/* The share at x = 3 of the polynomial through shares 1, 2
		 * and (0, v): split a secret of v's through those points by
		 * combining them as if x = 0 were a share. */
		memset(want, v, sizeof(want));
		f[0] = pick[0];
		f[1] = pick[1];
		f[2] = pick[0];
		f[2].x = 3;
		/* Lagrange at x = 3 from x = 0, 1, 2. */
		for (int b = 0; b < 32; b++) {
			uint8_t x0 = 0, x1 = 1, x2 = 2, x = 3, y = 0;
			uint8_t l0 = skr_gf256_mul(skr_gf256_mul(x ^ x1, x ^ x2),
			    skr_gf256_inv(skr_gf256_mul(x0 ^ x1, x0 ^ x2)));
			uint8_t l1 = skr_gf256_mul(skr_gf256_mul(x ^ x0, x ^ x2),
			    skr_gf256_inv(skr_gf256_mul(x1 ^ x0, x1 ^ x2)));
			uint8_t l2 = skr_gf256_mul(skr_gf256_mul(x ^ x0, x ^ x1),
			    skr_gf256_inv(skr_gf256_mul(x2 ^ x0, x2 ^ x1)));

			y ^= skr_gf256_mul(want[b], l0);
			y ^= skr_gf256_mul(pick[0].y[b], l1);
			y ^= skr_gf256_mul(pick[1].y[b], l2);
			f[2].y[b] = y;
		}
		ok += skr_shamir_combine(f, 3, got) == SKR_OK &&
		    memcmp(got, want, 32) == 0;
	}
	CHECK(ok == 256);
	/* A share of another split or with other settings is refused. */
	pick[2] = sh[2];
	pick[2].id[0] ^= 1;
	CHECK_ERR(skr_shamir_combine(pick, 3, got), SKR_ERR_INVAL);
	pick[2] = sh[2];
	pick[2].k = 2;
	CHECK_ERR(skr_shamir_combine(pick, 3, got), SKR_ERR_INVAL);
	/* Duplicates count once: two copies of a share and one other are
	 * too few. */
	pick[2] = sh[0];
	CHECK_ERR(skr_shamir_combine(pick, 3, got), SKR_ERR_INVAL);
	/* With a third distinct share in a longer list it works. */
	{
		skr_share four[4] = { sh[0], sh[0], sh[1], sh[4] };

		CHECK_OK(skr_shamir_combine(four, 4, got));
		CHECK(memcmp(got, secret, 32) == 0);
	}
}

static void
test_text(void)
{
	uint8_t secret[32] = { 0 }, id[8] = { 0xaa, 0xbb };
	skr_share sh[3], back;
	char text[SKR_SHARE_TEXT_MAX], line[SKR_SHARE_TEXT_MAX + 32], bad[128];
	size_t len, i;
	int refused = 0;

	CHECK_OK(skr_shamir_split(secret, 2, 3, id, sh));
	CHECK_OK(skr_share_encode(&sh[1], text));
	CHECK(strncmp(text, "skrs1-", 6) == 0);
	len = strlen(text);
	CHECK(len == 6 + 64);
	CHECK_OK(skr_share_parse(text, len, &back));
	CHECK(memcmp(&back, &sh[1], sizeof(back)) == 0);
	/* As skrd init prints it, with white space around. */
	snprintf(line, sizeof(line), "  share 2/3: %s \n", text);
	CHECK_OK(skr_share_parse(line, strlen(line), &back));
	CHECK(back.x == 2 && memcmp(back.y, sh[1].y, 32) == 0);
	/* Every single-character change is refused. */
	for (i = 6; i < len; i++) {
		memcpy(bad, text, len + 1);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		refused += skr_share_parse(bad, len, &back) ==
		    SKR_ERR_SHARE_MALFORMED;
	}
	CHECK(refused == (int)(len - 6));
	CHECK_ERR(skr_share_parse("", 0, &back), SKR_ERR_SHARE_MALFORMED);
	CHECK_ERR(skr_share_parse("skrs1-", 6, &back),
	    SKR_ERR_SHARE_MALFORMED);
	CHECK_ERR(skr_share_parse("skrs2-AAAA", 10, &back),
	    SKR_ERR_SHARE_MALFORMED);
	memcpy(bad, text, len + 1);
	bad[len - 1] = '\0';
	CHECK_ERR(skr_share_parse(bad, len - 1, &back),
	    SKR_ERR_SHARE_MALFORMED);
	/* A well-formed text with x outside 1..n. */
	back = sh[0];
	back.x = 4;
	CHECK_OK(skr_share_encode(&back, text));
	CHECK_ERR(skr_share_parse(text, strlen(text), &back),
	    SKR_ERR_SHARE_MALFORMED);
	back = sh[0];
	back.k = 1;
	CHECK_OK(skr_share_encode(&back, text));
	CHECK_ERR(skr_share_parse(text, strlen(text), &back),
	    SKR_ERR_SHARE_MALFORMED);
}

int
main(void)
{
	test_field();
	test_split_combine();
	test_threshold();
	test_text();
	return check_done();
}
