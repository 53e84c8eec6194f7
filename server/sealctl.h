/*
 * The seal of a serving skrd (docs/sealing.md): whether the store is open,
 * the gate every request but the /sys/ seal routes passes, unseal shares,
 * sealing a running server, and master key rotation with its background
 * thread.  skrd.c makes one for `skrd serve` and hands it the data
 * directory's seal; a server without one (skrd --dev, the socket-less
 * tests) is always unsealed and cannot be sealed.
 *
 * While sealed the gate answers SKR_ERR_SEALED; /healthz stays 200 and
 * /readyz 503 (no store).  Sealing first closes the gate, waits for the
 * requests in flight to finish, then closes the store through the hooks
 * and wipes the keyring and (Shamir) the recovered split key.
 */
#ifndef SKR_SERVER_SEALCTL_H
#define SKR_SERVER_SEALCTL_H

#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "masterkey.h"
#include "sealdir.h"

struct skr_server;
struct skr_store;
typedef struct skr_sealctl skr_sealctl;

/* What opens and closes the store and the services that read it; called
 * with no request in flight, never concurrently. */
typedef struct skr_sealctl_hooks {
	/* Open the store with kr (borrowed for the call), start what serves
	 * from it, and set srv->store. */
	int (*open)(void *arg, const skr_keyring *kr);
	/* Stop those services, close the store, clear srv->store. */
	void (*close)(void *arg);
	void *arg;
} skr_sealctl_hooks;

/*
 * A controller for srv over sd (taken, freed with the controller), with
 * hooks copied.  Nothing is unsealed yet.  *out: free with
 * skr_sealctl_free after serving has stopped.
 */
int skr_sealctl_new(struct skr_server *srv, skr_sealdir *sd,
    const skr_sealctl_hooks *hooks, skr_sealctl **out);

/*
 * Unseal from the seal alone (every seal but Shamir, which starts sealed
 * and returns SKR_OK): load the keyring, open the store, start the
 * rotation thread.  The seal's error when it cannot be opened; nothing is
 * left open then.
 */
int skr_sealctl_start(skr_sealctl *sc);

/* Seal (if unsealed) and free; NULL is fine. */
void skr_sealctl_free(skr_sealctl *sc);

/* The request gate: SKR_OK and counted in flight, or SKR_ERR_SEALED.
 * sc NULL: always SKR_OK.  Every SKR_OK is paired with one leave. */
int skr_sealctl_enter(skr_sealctl *sc);
void skr_sealctl_leave(skr_sealctl *sc);

/* 1 while the store is closed. */
int skr_sealctl_sealed(skr_sealctl *sc);

/*
 * One unseal attempt from peer at now: text is a share (Shamir), or empty
 * to reopen any other seal from its token or TPM.  Refused shares
 * (SKR_ERR_SHARE_*) do not count towards the threshold but towards the
 * peer's rate limit (SKR_ERR_RATE_LIMITED, *retry set).  Not sealed: SKR_ERR_NOT_SEALED.
 * The attempt's audit record is kept in memory and appended when the store
 * opens.  The caller holds no gate (the unseal route passes it).
 */
int skr_sealctl_unseal(skr_sealctl *sc, const char *text, size_t len,
    const char *peer, int64_t now, int64_t *retry);

/*
 * Seal the running server: the gate closes, the requests in flight (the
 * caller's own, counted once, excepted) finish, then the store closes.
 * Requests still in flight after timeout_ms: the gate opens again and
 * SKR_ERR_CONFLICT.  Already sealed: SKR_ERR_SEALED.
 */
int skr_sealctl_seal(skr_sealctl *sc, unsigned timeout_ms);

/* {"sealed","type","threshold","progress","generation","rotation"}: a
 * new reference, or NULL without memory. */
json_t *skr_sealctl_status(skr_sealctl *sc);

/*
 * Begin a master key rotation (audited with principal): a new generation
 * is sealed into the keyring first, then the store takes it for new writes
 * and the background thread moves the data keys; once none needs the old
 * generation it is dropped from the seal and from memory.  A rotation
 * running: SKR_ERR_CONFLICT.  *gen (may be NULL) receives the new
 * generation.
 */
int skr_sealctl_rotate(skr_sealctl *sc, const char *principal, int64_t now,
    uint32_t *gen);

/* The seal's families for GET /metrics (metrics.h helpers): sealed, the
 * master key generation and a rotation's progress. */
int skr_sealctl_metrics(skr_sealctl *sc, skr_buf *out);

#endif
