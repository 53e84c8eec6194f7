/*
 * The offline release decision of `skrctl policy eval`: an attestation
 * token, the authority's key set and a release policy, as texts, decided
 * by the same parsers, verifier and evaluator as skrd (server/attest), so
 * the answer here is the answer the server gives.  Then the decision as
 * people read it, or as JSON.  No files, no arguments, no exit statuses:
 * those are skrctl_policy.c's.
 */
#ifndef SKR_CLIENT_SKRCTL_EVAL_H
#define SKR_CLIENT_SKRCTL_EVAL_H

#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "jwks.h"
#include "policy.h"
#include "token.h"

/* What to decide; every member borrowed. */
typedef struct skrctl_eval_input {
	const char *token;      /* compact JWS, no trailing newline */
	size_t token_len;
	const char *jwks;       /* JWKS or the authority's certs document */
	size_t jwks_len;
	const char *policy;     /* Key Vault release policy JSON */
	size_t policy_len;
	const char *issuer;     /* the authority the token must name, or
	                           NULL for any */
	int64_t at;             /* Unix seconds; 0: now */
	int64_t skew;           /* clock skew allowed, seconds */
} skrctl_eval_input;

/* Which input did not parse. */
enum skrctl_eval_bad {
	SKRCTL_EVAL_BAD_NONE = 0,
	SKRCTL_EVAL_BAD_POLICY,
	SKRCTL_EVAL_BAD_JWKS,
};

/* What was found.  Initialise with skrctl_eval_init, release with
 * skrctl_eval_clear; every member is owned. */
typedef struct skrctl_eval {
	skr_jwks *keys;         /* the key set, for its warnings */
	int token_err;          /* SKR_OK, or why the token was refused */
	skr_buf token_why;
	skr_token *tok;         /* the verified token, or NULL */
	int policy_err;         /* SKR_OK or SKR_ERR_POLICY_DENIED, when
	                           the token was verified */
	skr_policy_result res;
	int wrap_err;           /* SKR_OK when the token names a usable
	                           wrapping key */
	char *wrap_kid;
	int allowed;            /* the decision */
} skrctl_eval;

void skrctl_eval_init(skrctl_eval *e);
void skrctl_eval_clear(skrctl_eval *e);

/*
 * Decide in into e (initialised).  SKR_OK when a decision was reached,
 * allow or deny (e->allowed; a refused token is a deny).  Otherwise the
 * error: a policy or key set that does not parse (*bad names which, why
 * says what is wrong), or SKR_ERR_NOMEM.
 */
int skrctl_eval_run(const skrctl_eval_input *in, skrctl_eval *e,
    enum skrctl_eval_bad *bad, skr_buf *why);

/* The decision, the token, the wrapping key and the trace, for people. */
void skrctl_eval_print(FILE *f, const skrctl_eval *e);

/* The same as an indented JSON document: SKR_OK or SKR_ERR_NOMEM. */
int skrctl_eval_print_json(FILE *f, const skrctl_eval *e);

#endif
