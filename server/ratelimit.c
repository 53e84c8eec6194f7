#include "ratelimit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "random.h"
#include "skr/error.h"

#define BUCKETS 1024
#define WAYS 8
#define PEER_MAX 64

struct entry {
	char peer[PEER_MAX];  /* "" when free */
	int64_t start;        /* first event of the current window */
	int64_t count;
	int refused;          /* a refusal was reported in this window */
};

struct skr_ratelimit {
	pthread_mutex_t lock;
	int64_t limit;
	int64_t window;
	int ipv6_prefix;
	uint32_t seed;
	struct entry e[BUCKETS][WAYS];
};

static pthread_mutex_t get_lock = PTHREAD_MUTEX_INITIALIZER;

int
skr_ratelimit_new(int64_t limit, int64_t window, int ipv6_prefix,
    skr_ratelimit **out)
{
	skr_ratelimit *rl;

	*out = NULL;
	if (ipv6_prefix == 0)
		ipv6_prefix = SKR_RATELIMIT_IPV6_PREFIX;
	if (limit < 0 || window < 1 || ipv6_prefix < 1 || ipv6_prefix > 128)
		return SKR_ERR_INVAL;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return SKR_ERR_NOMEM;
	if (pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl);
		return SKR_ERR_NOMEM;
	}
	rl->limit = limit;
	rl->window = window;
	rl->ipv6_prefix = ipv6_prefix;
	(void)skr_random((uint8_t *)&rl->seed, sizeof(rl->seed));
	*out = rl;
	return SKR_OK;
}

void
skr_ratelimit_free(skr_ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

skr_ratelimit *
skr_ratelimit_get(skr_ratelimit **slot, int64_t limit, int64_t window,
    int ipv6_prefix)
{
	skr_ratelimit *rl;

	pthread_mutex_lock(&get_lock);
	if (*slot == NULL && skr_ratelimit_new(limit, window, ipv6_prefix,
	    &rl) == SKR_OK)
		*slot = rl;
	rl = *slot;
	pthread_mutex_unlock(&get_lock);
	return rl;
}

/*
 * The text a peer is counted under: an IPv6 address cut to its network
 * ("2001:db8:1:2::/64"), an IPv4-mapped one as its IPv4 address, anything
 * else (IPv4, "unknown") as it is, cut to PEER_MAX - 1 bytes.
 */
static void
peer_key(const skr_ratelimit *rl, const char *in, char out[PEER_MAX])
{
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];
	int bits = rl->ipv6_prefix;

	if (inet_pton(AF_INET6, in, &a6) != 1) {
		snprintf(out, PEER_MAX, "%s", in);
		return;
	}
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		inet_ntop(AF_INET, &a6.s6_addr[12], text, sizeof(text));
		snprintf(out, PEER_MAX, "%s", text);
		return;
	}
	for (int i = 0; i < 16; i++) {
		int keep = bits - 8 * i;

		if (keep <= 0)
			a6.s6_addr[i] = 0;
		else if (keep < 8)
			a6.s6_addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
	inet_ntop(AF_INET6, &a6, text, sizeof(text));
	snprintf(out, PEER_MAX, "%s/%d", text, bits);
}

static struct entry *
bucket(skr_ratelimit *rl, const char *peer)
{
	uint32_t h = 2166136261u ^ rl->seed; /* FNV-1a, seeded */

	for (; *peer; peer++)
		h = (h ^ (uint8_t)*peer) * 16777619u;
	h ^= h >> 15;
	return rl->e[h % BUCKETS];
}

static int
live(const skr_ratelimit *rl, const struct entry *e, int64_t now)
{
	return e->peer[0] != '\0' && now - e->start < rl->window;
}

/*
 * The peer's entry in its bucket (its window may have ended), or NULL with
 * *room a way a new entry may take (free, or its window ended), or NULL
 * when every way holds an open window.
 */
static struct entry *
lookup(skr_ratelimit *rl, const char *peer, int64_t now, struct entry **room)
{
	struct entry *b = bucket(rl, peer);

	*room = NULL;
	for (int i = 0; i < WAYS; i++)
		if (b[i].peer[0] != '\0' && strcmp(b[i].peer, peer) == 0)
			return &b[i];
	for (int i = 0; i < WAYS && *room == NULL; i++)
		if (!live(rl, &b[i], now))
			*room = &b[i];
	return NULL;
}

/* A full bucket: the seconds until its first open window ends. */
static int64_t
full_wait(skr_ratelimit *rl, const char *peer, int64_t now)
{
	struct entry *b = bucket(rl, peer);
	int64_t w = rl->window;

	for (int i = 0; i < WAYS; i++)
		if (b[i].start + rl->window - now < w)
			w = b[i].start + rl->window - now;
	return w > 0 ? w : 1;
}

static int64_t
wait_of(skr_ratelimit *rl, const struct entry *e, int64_t now)
{
	int64_t w;

	if (!live(rl, e, now) || e->count < rl->limit)
		return 0;
	w = e->start + rl->window - now;
	return w > 0 ? w : 1;
}

/* Count one event in e (the peer's entry or the room for it). */
static void
count(skr_ratelimit *rl, struct entry *e, const char *peer, int64_t now)
{
	if (strcmp(e->peer, peer) != 0 || !live(rl, e, now)) {
		snprintf(e->peer, sizeof(e->peer), "%s", peer);
		e->count = 0;
		e->start = now;
		e->refused = 0;
	}
	e->count++;
}

int64_t
skr_ratelimit_blocked(skr_ratelimit *rl, const char *peer_in, int64_t now)
{
	char peer[PEER_MAX];
	struct entry *e, *room;
	int64_t w;

	if (rl == NULL || rl->limit == 0)
		return 0;
	peer_key(rl, peer_in, peer);
	pthread_mutex_lock(&rl->lock);
	if ((e = lookup(rl, peer, now, &room)) != NULL)
		w = wait_of(rl, e, now);
	else
		w = room != NULL ? 0 : full_wait(rl, peer, now);
	pthread_mutex_unlock(&rl->lock);
	return w;
}

void
skr_ratelimit_hit(skr_ratelimit *rl, const char *peer_in, int64_t now)
{
	char peer[PEER_MAX];
	struct entry *e, *room;

	if (rl == NULL || rl->limit == 0)
		return;
	peer_key(rl, peer_in, peer);
	pthread_mutex_lock(&rl->lock);
	if ((e = lookup(rl, peer, now, &room)) == NULL)
		e = room;
	if (e != NULL)
		count(rl, e, peer, now);
	pthread_mutex_unlock(&rl->lock);
}

int64_t
skr_ratelimit_take_first(skr_ratelimit *rl, const char *peer_in, int64_t now,
    int *first)
{
	char peer[PEER_MAX];
	struct entry *e, *room;
	int64_t w;

	if (first != NULL)
		*first = 0;
	if (rl == NULL || rl->limit == 0)
		return 0;
	peer_key(rl, peer_in, peer);
	pthread_mutex_lock(&rl->lock);
	if ((e = lookup(rl, peer, now, &room)) == NULL && room == NULL)
		w = full_wait(rl, peer, now);
	else if ((w = e != NULL ? wait_of(rl, e, now) : 0) == 0)
		count(rl, e != NULL ? e : room, peer, now);
	else {
		/* w > 0: e is the peer's live entry. */
		if (first != NULL)
			*first = !e->refused;
		e->refused = 1;
	}
	pthread_mutex_unlock(&rl->lock);
	return w;
}

int64_t
skr_ratelimit_take(skr_ratelimit *rl, const char *peer, int64_t now)
{
	return skr_ratelimit_take_first(rl, peer, now, NULL);
}
