#include "ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "random.h"
#include "skr/error.h"

#define BUCKETS 512
#define WAYS 4
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
	uint32_t seed;
	struct entry e[BUCKETS][WAYS];
};

static pthread_mutex_t get_lock = PTHREAD_MUTEX_INITIALIZER;

int
skr_ratelimit_new(int64_t limit, int64_t window, skr_ratelimit **out)
{
	skr_ratelimit *rl;

	*out = NULL;
	if (limit < 0 || window < 1)
		return SKR_ERR_INVAL;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return SKR_ERR_NOMEM;
	if (pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl);
		return SKR_ERR_NOMEM;
	}
	rl->limit = limit;
	rl->window = window;
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
skr_ratelimit_get(skr_ratelimit **slot, int64_t limit, int64_t window)
{
	skr_ratelimit *rl;

	pthread_mutex_lock(&get_lock);
	if (*slot == NULL && skr_ratelimit_new(limit, window, &rl) == SKR_OK)
		*slot = rl;
	rl = *slot;
	pthread_mutex_unlock(&get_lock);
	return rl;
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

/* The peer's live entry, or NULL. */
static struct entry *
find(skr_ratelimit *rl, const char *peer, int64_t now)
{
	struct entry *b = bucket(rl, peer);

	for (int i = 0; i < WAYS; i++)
		if (b[i].peer[0] != '\0' && strcmp(b[i].peer, peer) == 0)
			return now - b[i].start < rl->window ? &b[i] : NULL;
	return NULL;
}

static int64_t
wait_of(skr_ratelimit *rl, const struct entry *e, int64_t now)
{
	int64_t w;

	if (e == NULL || e->count < rl->limit)
		return 0;
	w = e->start + rl->window - now;
	return w > 0 ? w : 1;
}

static void
hit(skr_ratelimit *rl, const char *peer, int64_t now)
{
	struct entry *b = bucket(rl, peer), *e = NULL;
	int i;

	for (i = 0; i < WAYS && e == NULL; i++)
		if (b[i].peer[0] != '\0' && strcmp(b[i].peer, peer) == 0)
			e = &b[i];
	if (e == NULL) {
		/* A free or expired way, else the one whose window began
		 * first: the table stays bounded whatever arrives. */
		e = &b[0];
		for (i = 0; i < WAYS; i++) {
			if (b[i].peer[0] == '\0' ||
			    now - b[i].start >= rl->window) {
				e = &b[i];
				break;
			}
			if (b[i].start < e->start)
				e = &b[i];
		}
		snprintf(e->peer, sizeof(e->peer), "%s", peer);
		e->count = 0;
		e->start = now;
		e->refused = 0;
	} else if (now - e->start >= rl->window) {
		e->count = 0;
		e->start = now;
		e->refused = 0;
	}
	e->count++;
}

/* Entries hold at most PEER_MAX - 1 bytes of the address text (more than
 * any IPv6 address needs); every lookup uses the same cut. */
static void
cut(char out[PEER_MAX], const char *in)
{
	snprintf(out, PEER_MAX, "%s", in);
}

int64_t
skr_ratelimit_blocked(skr_ratelimit *rl, const char *peer_in, int64_t now)
{
	char peer[PEER_MAX];
	int64_t w;

	if (rl == NULL || rl->limit == 0)
		return 0;
	cut(peer, peer_in);
	pthread_mutex_lock(&rl->lock);
	w = wait_of(rl, find(rl, peer, now), now);
	pthread_mutex_unlock(&rl->lock);
	return w;
}

void
skr_ratelimit_hit(skr_ratelimit *rl, const char *peer_in, int64_t now)
{
	char peer[PEER_MAX];

	if (rl == NULL || rl->limit == 0)
		return;
	cut(peer, peer_in);
	pthread_mutex_lock(&rl->lock);
	hit(rl, peer, now);
	pthread_mutex_unlock(&rl->lock);
}

int64_t
skr_ratelimit_take_first(skr_ratelimit *rl, const char *peer_in, int64_t now,
    int *first)
{
	char peer[PEER_MAX];
	struct entry *e;
	int64_t w;

	if (first != NULL)
		*first = 0;
	if (rl == NULL || rl->limit == 0)
		return 0;
	cut(peer, peer_in);
	pthread_mutex_lock(&rl->lock);
	e = find(rl, peer, now);
	if ((w = wait_of(rl, e, now)) == 0)
		hit(rl, peer, now);
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
