#include "sealctl.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "guard.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "server.h"
#include "skr/error.h"
#include "store.h"

/* Unseal attempts per peer per minute (docs/sealing.md). */
#define UNSEAL_LIMIT 10
#define UNSEAL_WINDOW 60
/* Unseal records kept while sealed; later attempts are counted only. */
#define PENDING_MAX 64
/* Data keys per rotation transaction, and the pause between them so
 * that requests get the store's write lock in between. */
#define ROTATE_BATCH 32
#define ROTATE_PAUSE_MS 5

struct pending {
	char peer[64];
	const char *outcome;
	const char *reason;   /* an error id: static storage */
	int64_t now;
};

struct skr_sealctl {
	skr_server *srv;
	skr_sealdir *sd;
	skr_sealctl_hooks hooks;
	pthread_mutex_t mu;        /* state, keyring, pending records */
	int open;                  /* the store is open */
	unsigned gate_closed;      /* atomic: requests refused */
	unsigned inflight;         /* atomic: requests past the gate */
	skr_keyring kr;            /* every generation the seal holds */
	skr_ratelimit *limit;
	struct pending pending[PENDING_MAX];
	size_t npending;
	uint64_t dropped;          /* attempts past PENDING_MAX */
	/* The rotation thread. */
	pthread_t thread;
	int running, stop;
	pthread_cond_t cv;
	uint64_t rotate_errors;
};

int
skr_sealctl_enter(skr_sealctl *sc)
{
	if (sc == NULL)
		return SKR_OK;
	__atomic_add_fetch(&sc->inflight, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&sc->gate_closed, __ATOMIC_SEQ_CST)) {
		__atomic_sub_fetch(&sc->inflight, 1, __ATOMIC_SEQ_CST);
		return SKR_ERR_SEALED;
	}
	return SKR_OK;
}

void
skr_sealctl_leave(skr_sealctl *sc)
{
	if (sc != NULL)
		__atomic_sub_fetch(&sc->inflight, 1, __ATOMIC_SEQ_CST);
}

int
skr_sealctl_sealed(skr_sealctl *sc)
{
	return sc != NULL && __atomic_load_n(&sc->gate_closed, __ATOMIC_SEQ_CST);
}

int
skr_sealctl_new(skr_server *srv, skr_sealdir *sd,
    const skr_sealctl_hooks *hooks, skr_sealctl **out)
{
	skr_sealctl *sc;
	int r;

	*out = NULL;
	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		skr_sealdir_free(sd);
		return SKR_ERR_NOMEM;
	}
	sc->srv = srv;
	sc->sd = sd;
	sc->hooks = *hooks;
	sc->gate_closed = 1;
	pthread_mutex_init(&sc->mu, NULL);
	pthread_cond_init(&sc->cv, NULL);
	if ((r = skr_ratelimit_new(UNSEAL_LIMIT, UNSEAL_WINDOW,
	    srv->ratelimit_ipv6_prefix, &sc->limit)) != SKR_OK) {
		skr_sealctl_free(sc);
		return r;
	}
	*out = sc;
	return SKR_OK;
}

/* ---- rotation ------------------------------------------------------------ */

/*
 * Bring the store and the seal's keyring together, one step at a time:
 * a generation the seal holds that the store has not begun (a rotation
 * whose begin did not commit) is begun; a running rotation moves a batch;
 * once the store needs only its newest generation, the older ones leave
 * the seal.  Called with mu held.  *idle: nothing left to do.
 */
static int
rotate_tick(skr_sealctl *sc, int *idle)
{
	skr_store *st = sc->srv->store;
	skr_rotation_status rs;
	uint32_t newest = skr_keyring_newest(&sc->kr);
	int64_t now = skr_server_now(sc->srv);
	int r, done = 0;

	*idle = 0;
	SKR_GUARD(skr_store_rotation_status(st, &rs));
	if (newest > rs.gen && rs.from == 0) {
		SKR_GUARD(skr_store_rotate_begin(st, newest,
		    skr_keyring_find(&sc->kr, newest), NULL, now));
		skr_seal_crash_point("rotate:begun");
		return SKR_OK;
	}
	if (rs.from != 0) {
		SKR_GUARD(skr_store_rotate_step(st, ROTATE_BATCH, now, &done));
		skr_seal_crash_point(done ? "rotate:moved" : "rotate:step");
		if (!done)
			return SKR_OK;
		skr_log(SKR_LOG_INFO, "master key rotation finished",
		    json_pack("{s:I}", "generation", (json_int_t)rs.gen));
	}
	if (sc->kr.n > 1 && newest == rs.gen) {
		skr_keyring kept;
		skr_master_key *copy = NULL;

		/* The seal first holds the newest generation alone; only
		 * then is the older one wiped here too. */
		memset(&kept, 0, sizeof(kept));
		SKR_GUARD(skr_master_key_from_bytes(skr_master_key_bytes(
		    skr_keyring_find(&sc->kr, newest)), SKR_MASTER_KEY_LEN,
		    &copy));
		SKR_GUARD(skr_keyring_add(&kept, newest, copy));
		r = skr_sealdir_store(sc->sd, &kept);
		skr_keyring_clear(&kept);
		SKR_GUARD(r);
		skr_keyring_drop_below(&sc->kr, newest);
		skr_seal_crash_point("rotate:dropped");
		return SKR_OK;
	}
	*idle = 1;
out:
	return r;
}

static void *
rotate_main(void *arg)
{
	skr_sealctl *sc = arg;
	struct timespec ts;
	int idle, r;

	pthread_mutex_lock(&sc->mu);
	while (!sc->stop) {
		r = rotate_tick(sc, &idle);
		if (r != SKR_OK) {
			sc->rotate_errors++;
			skr_log(SKR_LOG_ERROR, "master key rotation step failed; "
			    "retrying", json_pack("{s:s}", "error",
			    skr_err_id(r)));
			idle = 1;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		if (idle)
			ts.tv_sec += r == SKR_OK ? 60 : 5;
		else {
			ts.tv_nsec += ROTATE_PAUSE_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
		}
		if (!sc->stop)
			pthread_cond_timedwait(&sc->cv, &sc->mu, &ts);
	}
	pthread_mutex_unlock(&sc->mu);
	return NULL;
}

/* ---- opening and closing ------------------------------------------------- */

static void
pending_add(skr_sealctl *sc, const char *peer, const char *outcome,
    int err, int64_t now)
{
	struct pending *p;

	if (sc->npending == PENDING_MAX) {
		sc->dropped++;
		return;
	}
	p = &sc->pending[sc->npending++];
	snprintf(p->peer, sizeof(p->peer), "%s", peer != NULL ? peer : "");
	p->outcome = outcome;
	p->reason = err != SKR_OK ? skr_err_id(err) : NULL;
	p->now = now;
}

/* The attempts made while sealed, into the audit log of the store just
 * opened, in one transaction. */
static void
pending_flush(skr_sealctl *sc)
{
	skr_audit_rec recs[PENDING_MAX + 1];
	skr_txn *txn = NULL;
	size_t i, n = 0;
	int r;

	if (sc->npending == 0)
		return;
	memset(recs, 0, sizeof(recs));
	for (i = 0; i < sc->npending; i++) {
		recs[n].event = "seal.unseal";
		recs[n].outcome = sc->pending[i].outcome;
		recs[n].reason = sc->pending[i].reason;
		recs[n].peer = sc->pending[i].peer[0] ? sc->pending[i].peer :
		    NULL;
		skr_audit_detail_int(&recs[n], "at", sc->pending[i].now);
		n++;
	}
	if (sc->dropped > 0) {
		recs[n].event = "seal.unseal";
		recs[n].outcome = "error";
		recs[n].reason = "attempts not kept while sealed";
		skr_audit_detail_int(&recs[n], "count", (int64_t)sc->dropped);
		n++;
	}
	if ((r = skr_store_txn_begin(sc->srv->store, SKR_TXN_WRITE_RESERVE,
	    &txn)) == SKR_OK)
		r = skr_audit_commit(txn, recs, n, skr_server_now(sc->srv));
	if (r != SKR_OK)
		skr_log(SKR_LOG_ERROR, "cannot record the unseal attempts",
		    json_pack("{s:s}", "error", skr_err_id(r)));
	sc->npending = 0;
	sc->dropped = 0;
}

/* Load the keyring, open the store, start the rotation thread; mu held. */
static int
open_locked(skr_sealctl *sc)
{
	skr_keyring kr;
	int r;

	memset(&kr, 0, sizeof(kr));
	SKR_GUARD(skr_sealdir_load(sc->sd, &kr));
	SKR_GUARD(sc->hooks.open(sc->hooks.arg, &kr));
	sc->kr = kr;
	memset(&kr, 0, sizeof(kr));
	sc->open = 1;
	pending_flush(sc);
	sc->stop = 0;
	sc->running = pthread_create(&sc->thread, NULL, rotate_main, sc) == 0;
	__atomic_store_n(&sc->gate_closed, 0, __ATOMIC_SEQ_CST);
out:
	skr_keyring_clear(&kr);
	return r;
}

/* Stop the rotation thread, close the store, wipe the keys; mu held and
 * no request in flight. */
static void
close_locked(skr_sealctl *sc)
{
	if (sc->running) {
		sc->stop = 1;
		pthread_cond_signal(&sc->cv);
		pthread_mutex_unlock(&sc->mu);
		pthread_join(sc->thread, NULL);
		pthread_mutex_lock(&sc->mu);
		sc->running = 0;
	}
	if (sc->open)
		sc->hooks.close(sc->hooks.arg);
	sc->open = 0;
	skr_keyring_clear(&sc->kr);
	skr_sealdir_forget(sc->sd);
}

int
skr_sealctl_start(skr_sealctl *sc)
{
	int needs, k, p, r = SKR_OK;

	skr_sealdir_status(sc->sd, &needs, &k, &p);
	if (needs)
		return SKR_OK;
	pthread_mutex_lock(&sc->mu);
	r = open_locked(sc);
	pthread_mutex_unlock(&sc->mu);
	return r;
}

void
skr_sealctl_free(skr_sealctl *sc)
{
	if (sc == NULL)
		return;
	__atomic_store_n(&sc->gate_closed, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&sc->mu);
	close_locked(sc);
	pthread_mutex_unlock(&sc->mu);
	skr_ratelimit_free(sc->limit);
	skr_sealdir_free(sc->sd);
	pthread_cond_destroy(&sc->cv);
	pthread_mutex_destroy(&sc->mu);
	free(sc);
}

int
skr_sealctl_unseal(skr_sealctl *sc, const char *text, size_t len,
    const char *peer, int64_t now, int64_t *retry)
{
	int needs, k, p, complete = 0, r;

	*retry = 0;
	if (sc == NULL)
		return SKR_ERR_NOT_SEALED;
	/* Refused shares are what a guesser makes: they fill the window,
	 * the shares that count do not. */
	if ((*retry = skr_ratelimit_blocked(sc->limit, peer, now)) > 0)
		return SKR_ERR_RATE_LIMITED;
	pthread_mutex_lock(&sc->mu);
	if (sc->open) {
		r = SKR_ERR_NOT_SEALED;
		goto out;
	}
	skr_sealdir_status(sc->sd, &needs, &k, &p);
	if (strcmp(skr_sealdir_type(sc->sd), "shamir") == 0) {
		r = skr_sealdir_give_share(sc->sd, text, len, &complete);
		pending_add(sc, peer, r == SKR_OK ? "ok" : "error", r, now);
		if (r != SKR_OK)
			skr_ratelimit_hit(sc->limit, peer, now);
		if (r != SKR_OK || !complete)
			goto out;
	} else if (len > 0) {
		/* Only a Shamir seal takes shares. */
		r = SKR_ERR_BAD_REQUEST;
		goto out;
	} else
		pending_add(sc, peer, "ok", SKR_OK, now);
	if ((r = open_locked(sc)) != SKR_OK) {
		/* The shares were right (each was verified); what failed is
		 * the store or the blob.  Start again from no share. */
		skr_sealdir_forget(sc->sd);
		pending_add(sc, peer, "error", r, now);
		skr_log(SKR_LOG_ERROR, "unseal: the store did not open",
		    json_pack("{s:s}", "error", skr_err_id(r)));
	} else
		skr_log(SKR_LOG_INFO, "unsealed", json_pack("{s:s}", "seal",
		    skr_sealdir_type(sc->sd)));
out:
	pthread_mutex_unlock(&sc->mu);
	return r;
}

int
skr_sealctl_seal(skr_sealctl *sc, unsigned timeout_ms)
{
	struct timespec ts = { 0, 1000000 };
	unsigned waited = 0;

	if (sc == NULL)
		return SKR_ERR_UNSUPPORTED;
	pthread_mutex_lock(&sc->mu);
	if (!sc->open) {
		pthread_mutex_unlock(&sc->mu);
		return SKR_ERR_SEALED;
	}
	__atomic_store_n(&sc->gate_closed, 1, __ATOMIC_SEQ_CST);
	/* The caller's own request is in flight too. */
	while (__atomic_load_n(&sc->inflight, __ATOMIC_SEQ_CST) > 1) {
		if (waited++ >= timeout_ms) {
			__atomic_store_n(&sc->gate_closed, 0, __ATOMIC_SEQ_CST);
			pthread_mutex_unlock(&sc->mu);
			return SKR_ERR_CONFLICT;
		}
		nanosleep(&ts, NULL);
	}
	close_locked(sc);
	pthread_mutex_unlock(&sc->mu);
	skr_log(SKR_LOG_INFO, "sealed", NULL);
	return SKR_OK;
}

json_t *
skr_sealctl_status(skr_sealctl *sc)
{
	skr_rotation_status rs;
	int needs = 0, k = 0, p = 0, sealed;
	json_t *o, *rot = json_null();

	memset(&rs, 0, sizeof(rs));
	if (sc == NULL)
		return json_pack("{s:b,s:s,s:i,s:i}", "sealed", 0, "type",
		    "memory", "threshold", 0, "progress", 0);
	pthread_mutex_lock(&sc->mu);
	sealed = !sc->open;
	skr_sealdir_status(sc->sd, &needs, &k, &p);
	if (sc->open && skr_store_rotation_status(sc->srv->store, &rs) ==
	    SKR_OK && rs.from != 0)
		rot = json_pack("{s:I,s:I,s:I,s:I}", "from",
		    (json_int_t)rs.from, "to", (json_int_t)rs.gen, "moved",
		    (json_int_t)rs.moved, "total", (json_int_t)rs.total);
	o = json_pack("{s:b,s:s,s:i,s:i,s:o*,s:o}", "sealed", sealed, "type",
	    skr_sealdir_type(sc->sd), "threshold", k, "progress", p,
	    "generation", sc->open ? json_integer(rs.gen) : NULL,
	    "rotation", rot);
	pthread_mutex_unlock(&sc->mu);
	return o;
}

int
skr_sealctl_rotate(skr_sealctl *sc, const char *principal, int64_t now,
    uint32_t *gen)
{
	skr_keyring next;
	skr_master_key *mk = NULL, *copy = NULL;
	skr_rotation_status rs;
	uint32_t g;
	size_t i;
	int r;

	memset(&next, 0, sizeof(next));
	if (sc == NULL)
		return SKR_ERR_UNSUPPORTED;
	pthread_mutex_lock(&sc->mu);
	SKR_ENSURE(sc->open, SKR_ERR_SEALED);
	SKR_GUARD(skr_store_rotation_status(sc->srv->store, &rs));
	/* One rotation at a time: the keyring holds two generations. */
	SKR_ENSURE(sc->kr.n == 1 && rs.from == 0, SKR_ERR_CONFLICT);
	g = skr_keyring_newest(&sc->kr) + 1;
	SKR_GUARD(skr_master_key_generate(&mk));
	for (i = 0; i < sc->kr.n; i++) {
		SKR_GUARD(skr_master_key_from_bytes(skr_master_key_bytes(
		    sc->kr.key[i]), SKR_MASTER_KEY_LEN, &copy));
		r = skr_keyring_add(&next, sc->kr.gen[i], copy);
		copy = NULL;
		SKR_GUARD(r);
	}
	SKR_GUARD(skr_master_key_from_bytes(skr_master_key_bytes(mk),
	    SKR_MASTER_KEY_LEN, &copy));
	r = skr_keyring_add(&next, g, copy);
	copy = NULL;
	SKR_GUARD(r);
	/* The seal holds the new generation before anything is sealed under
	 * it: a crash from here on resumes the rotation at the next start. */
	SKR_GUARD(skr_sealdir_store(sc->sd, &next));
	skr_keyring_clear(&sc->kr);
	sc->kr = next;
	memset(&next, 0, sizeof(next));
	skr_seal_crash_point("rotate:sealed");
	SKR_GUARD(skr_store_rotate_begin(sc->srv->store, g, mk, principal,
	    now));
	skr_seal_crash_point("rotate:begun");
	if (gen != NULL)
		*gen = g;
	pthread_cond_signal(&sc->cv);
	skr_log(SKR_LOG_INFO, "master key rotation started",
	    json_pack("{s:I}", "generation", (json_int_t)g));
out:
	pthread_mutex_unlock(&sc->mu);
	skr_keyring_clear(&next);
	skr_master_key_free(mk);
	return r;
}

int
skr_sealctl_metrics(skr_sealctl *sc, skr_buf *out)
{
	skr_rotation_status rs;
	int open, r;

	memset(&rs, 0, sizeof(rs));
	if (sc == NULL)
		return SKR_OK;
	pthread_mutex_lock(&sc->mu);
	open = sc->open;
	if (open && (r = skr_store_rotation_status(sc->srv->store, &rs)) !=
	    SKR_OK)
		memset(&rs, 0, sizeof(rs));
	pthread_mutex_unlock(&sc->mu);
	SKR_GUARD(skr_metrics_family(out, "skr_sealed", "gauge",
	    "1 while the store is sealed."));
	SKR_GUARD(skr_metrics_sample(out, "skr_sealed", open ? 0 : 1, NULL));
	SKR_GUARD(skr_metrics_family(out, "skr_master_key_generation", "gauge",
	    "The master key generation new data keys are sealed under."));
	SKR_GUARD(skr_metrics_sample(out, "skr_master_key_generation",
	    (double)rs.gen, NULL));
	SKR_GUARD(skr_metrics_family(out, "skr_master_key_rotation_running",
	    "gauge", "1 while data keys move to a new generation."));
	SKR_GUARD(skr_metrics_sample(out, "skr_master_key_rotation_running",
	    rs.from != 0 ? 1 : 0, NULL));
	SKR_GUARD(skr_metrics_family(out, "skr_master_key_rotation_moved",
	    "gauge", "Data keys moved so far by the running rotation."));
	SKR_GUARD(skr_metrics_sample(out, "skr_master_key_rotation_moved",
	    (double)rs.moved, NULL));
	SKR_GUARD(skr_metrics_family(out, "skr_master_key_rotation_keys",
	    "gauge", "Keys (live and deleted) a rotation has to visit."));
	SKR_GUARD(skr_metrics_sample(out, "skr_master_key_rotation_keys",
	    (double)rs.total, NULL));
out:
	return r;
}
