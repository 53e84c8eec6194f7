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

/* What release.c keeps per server (skr_server.release_state): made on
 * first use, freed with the server. */
struct skr_release_state;
void skr_release_state_free(struct skr_release_state *st);

#endif
