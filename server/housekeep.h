/*
 * Upkeep of a serving skrd that no request asks for:
 * - soft-deleted keys past their scheduledPurgeDate are purged every
 *   purge_interval seconds (skr_server.purge_interval; 0 turns the sweep
 *   off and leaves it to key-management writes), so a deleted key does not
 *   outlive its date on a store that sees no writes.  Each purge has its
 *   own key.purge audit record, committed with it.
 * - server nonces expired for more than a nonce_ttl are removed every
 *   nonce_ttl seconds, off the request path.
 */
#ifndef SKR_SERVER_HOUSEKEEP_H
#define SKR_SERVER_HOUSEKEEP_H

struct skr_server;
typedef struct skr_housekeeper skr_housekeeper;

/* Start the thread; its first rounds run at once.  srv and its store
 * must outlive skr_housekeeper_stop. */
int skr_housekeeper_start(struct skr_server *srv, skr_housekeeper **out);

/* Wake the thread for its rounds now (SIGHUP); the sweep only when
 * purge_interval is not 0. */
void skr_housekeeper_kick(skr_housekeeper *h);

/* Stop and join the thread (a round in progress finishes its current
 * transaction first) and free h.  NULL is fine. */
void skr_housekeeper_stop(skr_housekeeper *h);

#endif
