/*
 * Per-peer rate limits: a fixed-size table of fixed-window counters keyed by
 * the client address.  skrd uses one for failed admin authentications
 * (auth.c) and one for release attempts (release.c); past the limit a peer
 * gets 429 with Retry-After (RFC 6585 section 4).
 *
 * The table never grows: a flood from many addresses evicts the oldest
 * windows of a bucket, it cannot exhaust memory.  Bucket positions are keyed
 * with a per-table random seed so that an outsider cannot aim addresses at
 * one bucket.  Thread-safe.
 */
#ifndef SKR_SERVER_RATELIMIT_H
#define SKR_SERVER_RATELIMIT_H

#include <stdint.h>

typedef struct skr_ratelimit skr_ratelimit;

/* A table allowing `limit` events per peer per `window` seconds; limit 0
 * disables it (every call answers 0).  *out: free with skr_ratelimit_free. */
int skr_ratelimit_new(int64_t limit, int64_t window, skr_ratelimit **out);
/* NULL is fine. */
void skr_ratelimit_free(skr_ratelimit *rl);

/*
 * The lazily created table at *slot (a member of skr_server), made on first
 * use with limit and window; NULL when memory is short (callers then do not
 * limit).  Safe to call from several threads at once.  The table belongs to
 * *slot's owner, who frees it with skr_ratelimit_free.
 */
skr_ratelimit *skr_ratelimit_get(skr_ratelimit **slot, int64_t limit,
    int64_t window);

/* Seconds peer must still wait (its window is full), or 0. */
int64_t skr_ratelimit_blocked(skr_ratelimit *rl, const char *peer,
    int64_t now);
/* Count one event for peer at time now. */
void skr_ratelimit_hit(skr_ratelimit *rl, const char *peer, int64_t now);
/* Both at once: when the peer may go ahead, count the event and return 0;
 * otherwise return the seconds to wait (>= 1) and count nothing. */
int64_t skr_ratelimit_take(skr_ratelimit *rl, const char *peer, int64_t now);
/* skr_ratelimit_take, and when it refuses, *first says whether this is the
 * peer's first refusal in its current window (1 once per window, so a
 * caller can record a flood once without writing per refused request). */
int64_t skr_ratelimit_take_first(skr_ratelimit *rl, const char *peer,
    int64_t now, int *first);

#endif
