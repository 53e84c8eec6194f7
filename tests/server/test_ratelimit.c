/* Unit tests: per-peer rate limits (server/ratelimit.c). */
#include <pthread.h>
#include <stdio.h>

#include "check.h"
#include "config.h"
#include "ratelimit.h"

static void
test_refusals(void)
{
	skr_ratelimit *rl = (skr_ratelimit *)1;

	CHECK_ERR(skr_ratelimit_new(-1, 60, 0, &rl), SKR_ERR_INVAL);
	CHECK(rl == NULL);
	CHECK_ERR(skr_ratelimit_new(5, 0, 0, &rl), SKR_ERR_INVAL);
	CHECK_ERR(skr_ratelimit_new(5, -3, 0, &rl), SKR_ERR_INVAL);
	CHECK_ERR(skr_ratelimit_new(5, 60, -1, &rl), SKR_ERR_INVAL);
	CHECK_ERR(skr_ratelimit_new(5, 60, 129, &rl), SKR_ERR_INVAL);
	/* A missing table limits nothing. */
	CHECK(skr_ratelimit_take(NULL, "1.2.3.4", 100) == 0);
	CHECK(skr_ratelimit_blocked(NULL, "1.2.3.4", 100) == 0);
	skr_ratelimit_hit(NULL, "1.2.3.4", 100);
	skr_ratelimit_free(NULL);
}

static void
test_window(void)
{
	skr_ratelimit *rl;
	int i;

	CHECK_OK(skr_ratelimit_new(3, 60, 0, &rl));
	for (i = 0; i < 3; i++)
		CHECK(skr_ratelimit_take(rl, "10.0.0.1", 1000 + i) == 0);
	/* The fourth attempt inside the window waits for its end. */
	CHECK(skr_ratelimit_take(rl, "10.0.0.1", 1010) == 50);
	CHECK(skr_ratelimit_blocked(rl, "10.0.0.1", 1059) == 1);
	/* A refused attempt is not counted: the window does not stretch. */
	CHECK(skr_ratelimit_take(rl, "10.0.0.1", 1059) == 1);
	/* Other peers are not affected. */
	CHECK(skr_ratelimit_take(rl, "10.0.0.2", 1010) == 0);
	CHECK(skr_ratelimit_blocked(rl, "10.0.0.2", 1010) == 0);
	/* A new window opens at its end. */
	CHECK(skr_ratelimit_blocked(rl, "10.0.0.1", 1060) == 0);
	CHECK(skr_ratelimit_take(rl, "10.0.0.1", 1060) == 0);
	CHECK(skr_ratelimit_take(rl, "10.0.0.1", 1061) == 0);
	CHECK(skr_ratelimit_take(rl, "10.0.0.1", 1062) == 0);
	CHECK(skr_ratelimit_take(rl, "10.0.0.1", 1063) == 57);
	skr_ratelimit_free(rl);

	/* The first refusal of each window is told apart from the rest. */
	{
		int first = -1;

		CHECK_OK(skr_ratelimit_new(2, 60, 0, &rl));
		CHECK(skr_ratelimit_take_first(rl, "10.0.0.3", 100, &first) ==
		    0 && first == 0);
		CHECK(skr_ratelimit_take_first(rl, "10.0.0.3", 101, &first) ==
		    0 && first == 0);
		CHECK(skr_ratelimit_take_first(rl, "10.0.0.3", 102, &first) ==
		    58 && first == 1);
		CHECK(skr_ratelimit_take_first(rl, "10.0.0.3", 103, &first) ==
		    57 && first == 0);
		CHECK(skr_ratelimit_take(rl, "10.0.0.3", 104) == 56);
		CHECK(skr_ratelimit_take_first(rl, "10.0.0.3", 105, &first) ==
		    55 && first == 0);
		/* Another peer has its own first. */
		CHECK(skr_ratelimit_take_first(rl, "10.0.0.4", 105, &first) ==
		    0 && first == 0);
		CHECK(skr_ratelimit_take_first(rl, "10.0.0.4", 105, &first) ==
		    0);
		CHECK(skr_ratelimit_take_first(rl, "10.0.0.4", 105, &first) ==
		    60 && first == 1);
		/* A new window: first again. */
		CHECK(skr_ratelimit_take_first(rl, "10.0.0.3", 160, &first) ==
		    0 && first == 0);
		CHECK(skr_ratelimit_take_first(rl, "10.0.0.3", 161, &first) ==
		    0);
		CHECK(skr_ratelimit_take_first(rl, "10.0.0.3", 162, &first) ==
		    58 && first == 1);
		CHECK(skr_ratelimit_take_first(rl, "10.0.0.3", 163, &first) ==
		    57 && first == 0);
		skr_ratelimit_free(rl);
		/* Unlimited and missing tables never refuse. */
		CHECK(skr_ratelimit_take_first(NULL, "x", 1, &first) == 0 &&
		    first == 0);
	}

	/* hit/blocked as auth uses them: only failures count. */
	CHECK_OK(skr_ratelimit_new(2, 10, 0, &rl));
	CHECK(skr_ratelimit_blocked(rl, "::1", 5) == 0);
	skr_ratelimit_hit(rl, "::1", 5);
	CHECK(skr_ratelimit_blocked(rl, "::1", 5) == 0);
	skr_ratelimit_hit(rl, "::1", 6);
	CHECK(skr_ratelimit_blocked(rl, "::1", 6) == 9);
	CHECK(skr_ratelimit_blocked(rl, "::1", 15) == 0);
	skr_ratelimit_free(rl);

	/* limit 0: unlimited. */
	CHECK_OK(skr_ratelimit_new(0, 10, 0, &rl));
	for (i = 0; i < 1000; i++)
		CHECK(skr_ratelimit_take(rl, "10.0.0.1", 1) == 0);
	skr_ratelimit_free(rl);
}

/*
 * A flood from many addresses: the table stays the size it is, and it
 * never forgets a limited peer.  Three thousand other addresses, one
 * attempt each, used to evict the limited one and reset its count.
 */
static void
test_flood(void)
{
	skr_ratelimit *rl;
	char peer[200];
	int i, admitted = 0, refused = 0;

	CHECK_OK(skr_ratelimit_new(3, 60, 0, &rl));
	for (i = 0; i < 3; i++)
		CHECK(skr_ratelimit_take(rl, "127.0.0.1", 100) == 0);
	CHECK(skr_ratelimit_take(rl, "127.0.0.1", 100) == 60);
	for (i = 0; i < 100000; i++) {
		snprintf(peer, sizeof(peer), "127.%d.%d.%d", 1 + i / 65536,
		    i / 256 % 256, i % 256);
		if (skr_ratelimit_take(rl, peer, 101) == 0)
			admitted++;
		else
			refused++;
	}
	CHECK(skr_ratelimit_take(rl, "127.0.0.1", 102) == 58);
	CHECK(skr_ratelimit_blocked(rl, "127.0.0.1", 102) == 58);
	/* The table holds 8192 peers: the rest of the flood is refused
	 * until windows end, rather than a counted peer forgotten. */
	CHECK(admitted > 4000 && admitted <= 8192);
	CHECK(refused == 100000 - admitted);
	/* A refused newcomer waits for the first window of its bucket to
	 * end, and is not told it is its "first" refusal (it has no entry
	 * to remember that by). */
	{
		int first = -1, w = 0;

		for (i = 0; i < 1000 && w == 0; i++) {
			snprintf(peer, sizeof(peer), "10.1.%d.%d", i / 256,
			    i % 256);
			w = (int)skr_ratelimit_take_first(rl, peer, 130,
			    &first);
		}
		CHECK(w > 0 && w <= 31);
		CHECK(first == 0);
		CHECK(skr_ratelimit_blocked(rl, peer, 130) == w);
	}
	/* Once the windows end, room is made again: newcomers get in and
	 * the limited peer's new window starts from zero. */
	CHECK(skr_ratelimit_take(rl, "10.2.0.1", 161) == 0);
	CHECK(skr_ratelimit_take(rl, "127.0.0.1", 161) == 0);
	/* A peer text longer than an entry is cut, not overrun. */
	memset(peer, 'a', sizeof(peer) - 1);
	peer[sizeof(peer) - 1] = '\0';
	CHECK(skr_ratelimit_take(rl, peer, 200) == 0);
	CHECK(skr_ratelimit_take(rl, peer, 200) == 0);
	CHECK(skr_ratelimit_take(rl, peer, 200) == 0);
	CHECK(skr_ratelimit_take(rl, peer, 200) > 0);
	skr_ratelimit_free(rl);

	/* hit/blocked as auth uses them: a full table refuses the newcomer
	 * (blocked) and keeps every counted failure. */
	CHECK_OK(skr_ratelimit_new(2, 60, 0, &rl));
	skr_ratelimit_hit(rl, "192.0.2.7", 100);
	skr_ratelimit_hit(rl, "192.0.2.7", 100);
	for (i = 0; i < 20000; i++) {
		snprintf(peer, sizeof(peer), "198.%d.%d.%d", 18 + i / 65536,
		    i / 256 % 256, i % 256);
		skr_ratelimit_hit(rl, peer, 101);
	}
	CHECK(skr_ratelimit_blocked(rl, "192.0.2.7", 102) == 58);
	refused = 0;
	for (i = 0; i < 1000; i++) {
		snprintf(peer, sizeof(peer), "203.0.%d.%d", i / 256, i % 256);
		refused += skr_ratelimit_blocked(rl, peer, 102) > 0;
	}
	CHECK(refused > 900);
	skr_ratelimit_free(rl);
}

/* IPv6 peers are their network: a /64 by default, as configured. */
static void
test_ipv6(void)
{
	skr_ratelimit *rl;
	char peer[64];
	int i;

	CHECK_OK(skr_ratelimit_new(3, 60, 0, &rl));
	/* One host walking through its /64 is one peer. */
	for (i = 0; i < 3; i++) {
		snprintf(peer, sizeof(peer), "2001:db8:1:2:%x::%x", i * 77,
		    i + 1);
		CHECK(skr_ratelimit_take(rl, peer, 100) == 0);
	}
	CHECK(skr_ratelimit_take(rl, "2001:db8:1:2:ffff:ffff:ffff:ffff",
	    100) == 60);
	CHECK(skr_ratelimit_take(rl, "2001:db8:1:2::", 100) == 60);
	CHECK(skr_ratelimit_blocked(rl, "2001:0db8:0001:0002::9", 100) == 60);
	/* The next /64 is another peer. */
	CHECK(skr_ratelimit_take(rl, "2001:db8:1:3::1", 100) == 0);
	/* IPv4-mapped addresses are their IPv4 address. */
	for (i = 0; i < 3; i++)
		CHECK(skr_ratelimit_take(rl, "::ffff:192.0.2.9", 100) == 0);
	CHECK(skr_ratelimit_take(rl, "192.0.2.9", 100) == 60);
	CHECK(skr_ratelimit_take(rl, "::ffff:192.0.2.10", 100) == 0);
	/* Not an address: counted as the text it is. */
	CHECK(skr_ratelimit_take(rl, "unknown", 100) == 0);
	skr_ratelimit_free(rl);

	/* /48: a whole site is one peer; /128: every address is one. */
	CHECK_OK(skr_ratelimit_new(1, 60, 48, &rl));
	CHECK(skr_ratelimit_take(rl, "2001:db8:5:1::1", 100) == 0);
	CHECK(skr_ratelimit_take(rl, "2001:db8:5:ffff::1", 100) > 0);
	CHECK(skr_ratelimit_take(rl, "2001:db8:6::1", 100) == 0);
	skr_ratelimit_free(rl);
	CHECK_OK(skr_ratelimit_new(1, 60, 128, &rl));
	CHECK(skr_ratelimit_take(rl, "2001:db8::1", 100) == 0);
	CHECK(skr_ratelimit_take(rl, "2001:db8::2", 100) == 0);
	CHECK(skr_ratelimit_take(rl, "2001:db8::1", 100) > 0);
	skr_ratelimit_free(rl);
	/* Prefixes that are not a multiple of 8. */
	CHECK_OK(skr_ratelimit_new(1, 60, 61, &rl));
	CHECK(skr_ratelimit_take(rl, "2001:db8:0:10::1", 100) == 0);
	CHECK(skr_ratelimit_take(rl, "2001:db8:0:17::1", 100) > 0);
	CHECK(skr_ratelimit_take(rl, "2001:db8:0:18::1", 100) == 0);
	skr_ratelimit_free(rl);
}

/* Concurrent takes never count more than the limit in one window. */
struct race {
	skr_ratelimit *rl;
	int allowed;
};

static void *
racer(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < 1000; i++)
		if (skr_ratelimit_take(r->rl, "10.9.9.9", 500) == 0)
			r->allowed++;
	return NULL;
}

static void
test_threads(void)
{
	struct race r[4];
	pthread_t t[4];
	int total = 0, i;
	skr_ratelimit *rl, *slot = NULL;

	CHECK_OK(skr_ratelimit_new(100, 60, 0, &rl));
	for (i = 0; i < 4; i++) {
		r[i].rl = rl;
		r[i].allowed = 0;
		CHECK(pthread_create(&t[i], NULL, racer, &r[i]) == 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += r[i].allowed;
	}
	CHECK(total == 100);
	skr_ratelimit_free(rl);

	/* get makes the table once and then hands back the same one. */
	rl = skr_ratelimit_get(&slot, 5, 5, 0);
	CHECK(rl != NULL && rl == slot);
	CHECK(skr_ratelimit_get(&slot, 7, 7, 48) == rl);
	skr_ratelimit_free(slot);
}

/* The settings that configure the limits and the store size. */
static void
test_config(void)
{
	static const char *const bad[] = {
		"release_limit = -1\n",
		"release_limit = 1000001\n",
		"release_window = 0\n",
		"release_window = x\n",
		"store_map_size = -5\n",
		"store_map_size = 2199023255553\n",
		"release_limit = 5\nrelease_limit = 6\n",
		"ratelimit_ipv6_prefix = 15\n",
		"ratelimit_ipv6_prefix = 129\n",
	};
	static const char good[] = "release_limit = 0\nrelease_window = 5\n"
	    "store_map_size = 1048576\nratelimit_ipv6_prefix = 56\n";
	skr_config c;
	skr_buf why = SKR_BUF_INIT;

	skr_config_init(&c);
	CHECK(c.release_limit == 300 && c.release_window == 60);
	CHECK(c.store_map_size == 0);
	CHECK(c.ratelimit_ipv6_prefix == 64);
	CHECK_OK(skr_config_parse(good, strlen(good), &c, &why));
	CHECK(c.release_limit == 0 && c.release_window == 5);
	CHECK(c.store_map_size == 1048576);
	CHECK(c.ratelimit_ipv6_prefix == 56);
	skr_config_clear(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		skr_buf_reset(&why);
		CHECK_ERR(skr_config_parse(bad[i], strlen(bad[i]), &c, &why),
		    SKR_ERR_CONFIG);
		CHECK(strncmp(skr_buf_cstr(&why), "line ", 5) == 0);
		skr_config_clear(&c);
	}
	skr_buf_free(&why);
}

int
main(void)
{
	test_config();
	test_refusals();
	test_window();
	test_flood();
	test_ipv6();
	test_threads();
	return check_done();
}
