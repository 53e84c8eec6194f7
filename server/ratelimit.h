/*
 * Per-peer rate limits: a fixed-size table of fixed-window counters keyed by
 * the client address.  skrd uses one for failed admin authentications
 * (auth.c) and one each for release attempts and nonce requests
 * (release.c); past the limit a peer gets 429 with Retry-After (RFC 6585
 * section 4).
 *
 * An IPv6 peer is its network of ipv6_prefix bits (a /64 by default): one
 * host commonly owns a whole /64, and could otherwise take a fresh address
 * for every attempt.  IPv4 peers (also IPv4-mapped IPv6 ones) are counted
 * per address.
 *
 * The table never grows, and it never forgets a peer whose window is still
 * open: a new peer takes a free way of its bucket or one whose window has
 * ended, and when every way holds an open window the new peer is refused
 * (as if over its limit, until the first of those windows ends) rather
 * than a counted peer being dropped and its count reset.  Bucket positions
 * are keyed with a per-table random seed so that an outsider cannot aim
 * addresses at one bucket.  Thread-safe.  docs/skrd.md, "Limits and
 * timeouts".
 */
#ifndef SKR_SERVER_RATELIMIT_H
#define SKR_SERVER_RATELIMIT_H

#include <stdint.h>

typedef struct skr_ratelimit skr_ratelimit;

/* The default IPv6 network a peer is counted as. */
#define SKR_RATELIMIT_IPV6_PREFIX 64

/* A table allowing `limit` events per peer per `window` seconds; limit 0
 * disables it (every call answers 0).  ipv6_prefix (1-128; 0: the
 * default) is the IPv6 network counted as one peer.  *out: free with
 * skr_ratelimit_free. */
int skr_ratelimit_new(int64_t limit, int64_t window, int ipv6_prefix,
    skr_ratelimit **out);
/* NULL is fine. */
void skr_ratelimit_free(skr_ratelimit *rl);

/*
 * The lazily created table at *slot (a member of skr_server), made on first
 * use with limit, window and ipv6_prefix; NULL when memory is short
 * (callers then do not limit).  Safe to call from several threads at once.
 * The table belongs to *slot's owner, who frees it with skr_ratelimit_free.
 */
skr_ratelimit *skr_ratelimit_get(skr_ratelimit **slot, int64_t limit,
    int64_t window, int ipv6_prefix);

/* Seconds peer must still wait (its window is full, or it has no entry
 * and the table has no room for one), or 0. */
int64_t skr_ratelimit_blocked(skr_ratelimit *rl, const char *peer,
    int64_t now);
/* Count one event for peer at time now (nothing when the table has no
 * room: skr_ratelimit_blocked refuses such a peer). */
void skr_ratelimit_hit(skr_ratelimit *rl, const char *peer, int64_t now);
/* Both at once: when the peer may go ahead, count the event and return 0;
 * otherwise return the seconds to wait (>= 1) and count nothing. */
int64_t skr_ratelimit_take(skr_ratelimit *rl, const char *peer, int64_t now);
/* skr_ratelimit_take, and when it refuses, *first says whether this is the
 * peer's first refusal in its current window (1 once per window, so a
 * caller can record a flood once without writing per refused request;
 * always 0 for a peer refused because the table is full). */
int64_t skr_ratelimit_take_first(skr_ratelimit *rl, const char *peer,
    int64_t now, int *first);

#endif
