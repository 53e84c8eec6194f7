/*
 * The housekeeper (housekeep.h).  One thread sleeps on a condition variable
 * until the next of its two rounds is due.  A purge sweep purges the due
 * keys in transactions of SWEEP_BATCH, so the LMDB write lock is never held
 * for long and requests' writes interleave; the store's purge-date index
 * makes a sweep with nothing due one cursor step.  A nonce round removes,
 * in one transaction, once per nonce_ttl, the server nonces that expired
 * more than a lifetime ago: the store holds at most about three lifetimes'
 * worth of issued nonces, and a nonce reads as expired, not unknown, for
 * at least a lifetime after it expires.
 */
#include "housekeep.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "api.h"
#include "auditsink.h"
#include "log.h"
#include "release.h"
#include "server.h"
#include "skr/error.h"
#include "store.h"

#define SWEEP_BATCH 64
/* A replicated store's sweep commits in Txns of etcd's default size (128
 * operations; each purge takes five). */
#define SWEEP_BATCH_REPLICATED 16

struct skr_housekeeper {
	skr_server *srv;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	atomic_int stopping;
	int kicked;             /* under mu */
};

/* Purge everything due now; the number purged. */
static size_t
sweep(skr_housekeeper *h)
{
	size_t n, total = 0, batch = skr_store_replicated(h->srv->store) ?
	    SWEEP_BATCH_REPLICATED : SWEEP_BATCH;
	int r, lost = 0;

	do {
		r = skr_api_purge_due(h->srv, skr_server_now(h->srv), batch,
		    &n);
		total += n;
		/* Another replica's sweep (or write) committed first: the
		 * copy has caught up, look again. */
		if (r == SKR_ERR_STORE_RETRY && lost++ < 8) {
			r = SKR_OK;
			n = batch;
		}
	} while (r == SKR_OK && n == batch && !atomic_load(&h->stopping));
	if (r != SKR_OK)
		skr_log(SKR_LOG_ERROR, "purge sweep failed; the next sweep "
		    "or key write tries again", json_pack("{s:s,s:I}",
		    "error", skr_err_id(r), "purged", (json_int_t)total));
	if (total > 0) {
		skr_log(SKR_LOG_INFO, "purged soft-deleted keys past their "
		    "purge date", json_pack("{s:I}", "purged",
		    (json_int_t)total));
		/* Their records need not wait for the sinks' poll. */
		skr_auditsink_kick(h->srv->auditsink);
	}
	return total;
}

/* Remove the server nonces that expired more than a lifetime (ttl) ago.
 * Until then a late release names its nonce expired, not unknown. */
static void
prune(skr_housekeeper *h, int64_t now, int64_t ttl)
{
	size_t n;
	int r;

	/* Another replica pruned the same nonces first: nothing to do. */
	if ((r = skr_api_prune_nonces(h->srv, now - ttl, &n)) ==
	    SKR_ERR_STORE_RETRY)
		return;
	if (r != SKR_OK)
		skr_log(SKR_LOG_ERROR, "removing expired server nonces failed; "
		    "the next round tries again", json_pack("{s:s}", "error",
		    skr_err_id(r)));
	else if (n > 0)
		skr_log(SKR_LOG_DEBUG, "removed expired server nonces",
		    json_pack("{s:I}", "removed", (json_int_t)n));
}

static void *
housekeep_thread(void *arg)
{
	skr_housekeeper *h = arg;
	struct timespec ts;
	int64_t now, interval, ttl, wait, next_sweep = 0, next_prune = 0;
	int kicked;

	pthread_mutex_lock(&h->mu);
	while (!atomic_load(&h->stopping)) {
		/* Settings may change on SIGHUP, which kicks. */
		interval = SKR_SETTING(h->srv, purge_interval);
		ttl = SKR_SETTING(h->srv, nonce_ttl);
		kicked = h->kicked;
		h->kicked = 0;
		pthread_mutex_unlock(&h->mu);
		now = skr_server_now(h->srv);
		/* 0: the sweep is off, and only writes purge. */
		if (interval > 0 && (kicked || now >= next_sweep)) {
			sweep(h);
			next_sweep = now + interval;
		}
		if (kicked || now >= next_prune) {
			prune(h, now, ttl);
			next_prune = now + ttl;
		}
		pthread_mutex_lock(&h->mu);
		if (atomic_load(&h->stopping) || h->kicked)
			continue;
		wait = next_prune - now;
		if (interval > 0 && next_sweep - now < wait)
			wait = next_sweep - now;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(wait > 1 ? wait : 1);
		pthread_cond_timedwait(&h->wake, &h->mu, &ts);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int
skr_housekeeper_start(skr_server *srv, skr_housekeeper **out)
{
	skr_housekeeper *h;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return SKR_ERR_NOMEM;
	h->srv = srv;
	atomic_init(&h->stopping, 0);
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->wake, NULL);
	if (pthread_create(&h->thread, NULL, housekeep_thread, h) != 0) {
		pthread_cond_destroy(&h->wake);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return SKR_ERR_INTERNAL;
	}
	*out = h;
	return SKR_OK;
}

void
skr_housekeeper_kick(skr_housekeeper *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->kicked = 1;
	pthread_cond_broadcast(&h->wake);
	pthread_mutex_unlock(&h->mu);
}

void
skr_housekeeper_stop(skr_housekeeper *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	atomic_store(&h->stopping, 1);
	pthread_cond_broadcast(&h->wake);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
