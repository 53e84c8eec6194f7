/*
 * The keyspace cache of a replicated store (server/store/cache.h), alone:
 * reads in key order, snapshots that see the cache as it was when they
 * began while changes go on, the state before a change kept only as long
 * as a snapshot may read it, a read of a state no longer kept refused
 * (SKR_ERR_STORE_RETRY) rather than answered wrongly, and a new
 * generation that retires every older snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "check.h"

#define K(s) (s), strlen(s)

/* Key k of db at snapshot (at, gen): its value as a C string in out. */
static int
get(skr__cache *c, int db, const char *k, int64_t at, uint64_t gen,
    char *out, size_t outlen, int64_t *mod)
{
	uint8_t *v;
	size_t vl;
	int64_t m;
	int r;

	out[0] = '\0';
	r = skr__cache_get(c, db, K(k), at, gen, &v, &vl, &m);
	if (r == SKR_OK)
		snprintf(out, outlen, "%.*s", (int)vl, (const char *)v);
	free(v);
	if (mod != NULL)
		*mod = m;
	return r;
}

/* The keys of db a snapshot sees from `from` on, joined by ','. */
static int
keys(skr__cache *c, int db, const char *from, int inclusive, int64_t at,
    uint64_t gen, char *out, size_t outlen)
{
	uint8_t *k = NULL, *v = NULL, *last = NULL;
	size_t kl, vl, lastl = from != NULL ? strlen(from) : 0, n = 0;
	int64_t mod;
	int r;

	out[0] = '\0';
	if (from != NULL && (last = (uint8_t *)strdup(from)) == NULL)
		return SKR_ERR_NOMEM;
	while ((r = skr__cache_next(c, db, last, lastl, inclusive, at, gen,
	    &k, &kl, &v, &vl, &mod)) == SKR_OK) {
		n += (size_t)snprintf(out + n, outlen - n, "%s%.*s",
		    n ? "," : "", (int)kl, (const char *)k);
		free(last);
		free(v);
		last = k;
		lastl = kl;
		inclusive = 0;
	}
	free(last);
	return r == SKR_ERR_NOT_FOUND ? SKR_OK : r;
}

static void
put(skr__cache *c, int db, const char *k, const char *v, int64_t rev)
{
	skr__cache_write_begin(c);
	CHECK_OK(skr__cache_put(c, db, K(k), K(v), rev));
	skr__cache_write_end(c, rev);
}

static void
del(skr__cache *c, int db, const char *k, int64_t rev)
{
	skr__cache_write_begin(c);
	CHECK_OK(skr__cache_del(c, db, K(k), rev));
	skr__cache_write_end(c, rev);
}

static void
test_order(void)
{
	skr__cache *c;
	char out[256];
	int64_t rev, mod;
	uint64_t gen;

	CHECK_OK(skr__cache_new(2, &c));
	skr__cache_write_begin(c);
	/* memcmp order, the shorter first: LMDB's. */
	CHECK_OK(skr__cache_put(c, 0, K("b"), K("2"), 5));
	CHECK_OK(skr__cache_put(c, 0, K("ab"), K("1"), 5));
	CHECK_OK(skr__cache_put(c, 0, K("a"), K("0"), 5));
	CHECK_OK(skr__cache_put(c, 0, "a\0b", 3, K("x"), 5));
	CHECK_OK(skr__cache_put(c, 1, K("a"), K("other"), 5));
	CHECK_ERR(skr__cache_put(c, 0, "", 0, K("x"), 5), SKR_ERR_INVAL);
	CHECK_ERR(skr__cache_put(c, 2, K("a"), K("x"), 5), SKR_ERR_INVAL);
	skr__cache_write_end(c, 5);
	CHECK(skr__cache_rev(c) == 5);
	CHECK(skr__cache_count(c, 0) == 4 && skr__cache_count(c, 1) == 1);
	skr__cache_snap_begin(c, &rev, &gen);
	CHECK(rev == 5);
	/* "a\0b" prints as "a". */
	CHECK_OK(keys(c, 0, NULL, 1, rev, gen, out, sizeof(out)));
	CHECK_STR(out, "a,a,ab,b");
	CHECK_OK(keys(c, 0, "ab", 1, rev, gen, out, sizeof(out)));
	CHECK_STR(out, "ab,b");
	CHECK_OK(keys(c, 0, "ab", 0, rev, gen, out, sizeof(out)));
	CHECK_STR(out, "b");
	CHECK_OK(keys(c, 0, "aa", 0, rev, gen, out, sizeof(out)));
	CHECK_STR(out, "ab,b");
	CHECK_OK(keys(c, 0, "c", 1, rev, gen, out, sizeof(out)));
	CHECK_STR(out, "");
	CHECK_OK(get(c, 0, "ab", rev, gen, out, sizeof(out), &mod));
	CHECK_STR(out, "1");
	CHECK(mod == 5);
	CHECK_OK(get(c, 1, "a", rev, gen, out, sizeof(out), NULL));
	CHECK_STR(out, "other");
	CHECK_ERR(get(c, 0, "zz", rev, gen, out, sizeof(out), &mod),
	    SKR_ERR_NOT_FOUND);
	CHECK(mod == 0);
	skr__cache_snap_end(c, rev);
	/* An event already applied (a replay) changes nothing. */
	put(c, 0, "a", "stale", 4);
	CHECK(skr__cache_rev(c) == 5);
	CHECK(skr__cache_mod(c, 0, K("a")) == 5);
	skr__cache_free(c);
}

static void
test_snapshots(void)
{
	skr__cache *c;
	char out[64];
	int64_t r1, r2, r3, mod;
	uint64_t g1, g2, g3;

	CHECK_OK(skr__cache_new(1, &c));
	put(c, 0, "k", "v1", 10);
	skr__cache_snap_begin(c, &r1, &g1);
	put(c, 0, "k", "v2", 11);
	put(c, 0, "new", "n", 12);
	skr__cache_snap_begin(c, &r2, &g2);
	skr__cache_gc(c);
	/* Each snapshot sees the cache as it was when it began. */
	CHECK_OK(get(c, 0, "k", r1, g1, out, sizeof(out), &mod));
	CHECK_STR(out, "v1");
	CHECK(mod == 10);
	CHECK_ERR(get(c, 0, "new", r1, g1, out, sizeof(out), &mod),
	    SKR_ERR_NOT_FOUND);
	CHECK_OK(keys(c, 0, NULL, 1, r1, g1, out, sizeof(out)));
	CHECK_STR(out, "k");
	CHECK_OK(get(c, 0, "k", r2, g2, out, sizeof(out), &mod));
	CHECK_STR(out, "v2");
	CHECK(mod == 11);
	CHECK_OK(keys(c, 0, NULL, 1, r2, g2, out, sizeof(out)));
	CHECK_STR(out, "k,new");
	del(c, 0, "k", 13);
	skr__cache_gc(c);
	skr__cache_snap_begin(c, &r3, &g3);
	CHECK_OK(get(c, 0, "k", r2, g2, out, sizeof(out), &mod));
	CHECK_STR(out, "v2");
	CHECK_ERR(get(c, 0, "k", r3, g3, out, sizeof(out), &mod),
	    SKR_ERR_NOT_FOUND);
	CHECK_OK(keys(c, 0, NULL, 1, r3, g3, out, sizeof(out)));
	CHECK_STR(out, "new");
	CHECK(skr__cache_count(c, 0) == 1);
	/* The current state is what fencing compares against. */
	CHECK(skr__cache_mod(c, 0, K("k")) == 0);
	CHECK(skr__cache_mod(c, 0, K("new")) == 12);
	/* One state before the current is kept: r1's is gone now, so r1 is
	 * told to begin again rather than shown a later state. */
	CHECK_ERR(get(c, 0, "k", r1, g1, out, sizeof(out), &mod),
	    SKR_ERR_STORE_RETRY);
	CHECK_ERR(keys(c, 0, NULL, 1, r1, g1, out, sizeof(out)),
	    SKR_ERR_STORE_RETRY);
	put(c, 0, "k", "v3", 14);
	skr__cache_snap_end(c, r1);
	skr__cache_snap_end(c, r2);
	skr__cache_snap_end(c, r3);
	/* With no snapshot open, gc keeps the current states only. */
	CHECK(skr__cache_garbage(c) > 0);
	skr__cache_gc(c);
	CHECK(skr__cache_garbage(c) == 0);
	skr__cache_snap_begin(c, &r1, &g1);
	CHECK_OK(get(c, 0, "k", r1, g1, out, sizeof(out), NULL));
	CHECK_STR(out, "v3");
	skr__cache_snap_end(c, r1);
	skr__cache_free(c);
}

static void
test_generation(void)
{
	skr__cache *c;
	char out[64];
	int64_t r1, r2;
	uint64_t g1, g2;

	CHECK_OK(skr__cache_new(1, &c));
	put(c, 0, "k", "v1", 3);
	skr__cache_snap_begin(c, &r1, &g1);
	/* A fresh copy (after compaction): older snapshots begin again. */
	skr__cache_write_begin(c);
	skr__cache_reset(c);
	CHECK_OK(skr__cache_put(c, 0, K("k"), K("v9"), 40));
	skr__cache_write_end(c, 41);
	CHECK_ERR(get(c, 0, "k", r1, g1, out, sizeof(out), NULL),
	    SKR_ERR_STORE_RETRY);
	skr__cache_snap_end(c, r1);
	skr__cache_snap_begin(c, &r2, &g2);
	CHECK(r2 == 41 && g2 != g1);
	CHECK_OK(get(c, 0, "k", r2, g2, out, sizeof(out), NULL));
	CHECK_STR(out, "v9");
	skr__cache_snap_end(c, r2);
	/* The revision never goes back. */
	skr__cache_write_begin(c);
	skr__cache_write_end(c, 7);
	CHECK(skr__cache_rev(c) == 41);
	skr__cache_free(c);
}

int
main(void)
{
	test_order();
	test_snapshots();
	test_generation();
	return check_done();
}
