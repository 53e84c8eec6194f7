/*
 * Secure key release (docs/release.md): the release, evaluate and nonce
 * route handlers.
 *
 * A release verifies the attestation token against the trusted authorities
 * (token.h), evaluates the version's release policy (policy.h) against its
 * claims, checks the nonce rules, picks the wrapping key from the token,
 * wraps the key to it (keys/wrap.h) and answers {"value": JWS} signed by the
 * release-signing key.  Every attempt, allowed or denied, is audited.
 */
#ifndef SKR_SERVER_RELEASE_H
#define SKR_SERVER_RELEASE_H

#include "request.h"

/* POST /keys/{name}[/{version}]/release */
int skr_api_release(skr_server *srv, skr_request *req, skr_response *resp);
/* POST /keys/{name}[/{version}]/evaluate: the same checks, nothing
 * released; answers the decision and the full trace. */
int skr_api_evaluate(skr_server *srv, skr_request *req, skr_response *resp);
/* GET /nonce: a fresh single-use server nonce. */
int skr_api_nonce(skr_server *srv, skr_request *req, skr_response *resp);
/* Remove the server nonces that expired at or before `before`
 * (housekeep.c), in one write; when none has, nothing is written and no
 * sync paid.  *npruned says how many. */
int skr_api_prune_nonces(skr_server *srv, int64_t before, size_t *npruned);

/*
 * The per-peer limit of release attempts (release_limit per
 * release_window), kept in the table at *limiter (a member of srv, made
 * on first use): SKR_OK when req's peer may go ahead, counted; else resp
 * holds 429 SKR.RATE_LIMITED with Retry-After ("too many <what>") and the
 * result is SKR_ERR_RATE_LIMITED.  *first (may be NULL) says whether this
 * is the peer's first refusal in its window.  Other routes limited like
 * releases (the attestation endpoint) keep tables of their own.
 */
struct skr_ratelimit;
int skr_release_rate_limited(skr_server *srv, struct skr_ratelimit **limiter,
    skr_request *req, skr_response *resp, const char *what, int *first);

/* What release.c keeps per server (skr_server.release_state): made on
 * first use, freed with the server. */
struct skr_release_state;
void skr_release_state_free(struct skr_release_state *st);

#endif
