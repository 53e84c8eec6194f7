/*
 * The purge sweep (housekeep.h).  One thread sleeps on a condition
 * variable between sweeps; a sweep purges the due keys in transactions of
 * SWEEP_BATCH, so the LMDB write lock is never held for long and requests'
 * writes interleave.  The store's purge-date index makes a sweep with
 * nothing due one cursor step.
 */
#include "housekeep.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "api.h"
#include "auditsink.h"
#include "log.h"
#include "server.h"
#include "skr/error.h"

#define SWEEP_BATCH 64
/* While the sweep is off, look at the setting again this often (SIGHUP). */
#define IDLE_RECHECK 60

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
	size_t n, total = 0;
	int r;

	do {
		r = skr_api_purge_due(h->srv, skr_server_now(h->srv),
		    SWEEP_BATCH, &n);
		total += n;
	} while (r == SKR_OK && n == SWEEP_BATCH &&
	    !atomic_load(&h->stopping));
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

static void *
housekeep_thread(void *arg)
{
	skr_housekeeper *h = arg;
	struct timespec ts;
	int64_t interval;

	pthread_mutex_lock(&h->mu);
	while (!atomic_load(&h->stopping)) {
		interval = __atomic_load_n(&h->srv->purge_interval,
		    __ATOMIC_RELAXED);
		if (interval > 0 || h->kicked) {
			h->kicked = 0;
			pthread_mutex_unlock(&h->mu);
			sweep(h);
			pthread_mutex_lock(&h->mu);
		}
		if (atomic_load(&h->stopping) || h->kicked)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(interval > 0 ? interval : IDLE_RECHECK);
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
