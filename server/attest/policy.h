/*
 * Release policies (docs/attestation.md, "Release policies"): the Azure Key
 * Vault release-policy grammar, validated completely when a policy is set and
 * compiled into a form that is cheap to evaluate (claim paths split, numbers
 * parsed).
 *
 *   { "version": "1.0.0" | "1.0" | "0.2",
 *     "anyOf": [ { "authority": URL, ("allOf" | "anyOf"): [cond, ...],
 *                  "maxAgeSeconds": N }, ... ],
 *     "requireServerNonce": true }
 *   cond = { "claim": PATH, OP: VALUE }
 *        | { "claim": PATH, "condition": OP, "value": VALUE }   (legacy)
 *        | { "allOf": [cond, ...] } | { "anyOf": [cond, ...] }
 *   OP   = equals | notEquals | less | lessOrEquals | greater |
 *          greaterOrEquals | exists | in
 *
 * Choices where Key Vault is silent, made strict so that a mistake is a 400
 * when the policy is set and never a surprise at release time:
 *   - "version" is required; unknown members are refused everywhere;
 *   - empty allOf/anyOf arrays are refused (an empty allOf would allow
 *     everything);
 *   - ordering operators take a JSON number, exists a boolean, in a
 *     non-empty array of scalars, equals/notEquals a string, number or
 *     boolean;
 *   - nesting counts allOf/anyOf groups: a rule's own group is level 1,
 *     each group inside it one more, at most SKR_POLICY_MAX_NESTING;
 *   - the condition limit counts every condition object, leaves and
 *     nested groups alike.
 * maxAgeSeconds (an extension) requires the token's iat to be present and
 * no older than that many seconds at evaluation time.
 */
#ifndef SKR_SERVER_POLICY_H
#define SKR_SERVER_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "jdoc.h"

#define SKR_POLICY_MAX_BYTES ((size_t)32 * 1024)
#define SKR_POLICY_MAX_NESTING 16
#define SKR_POLICY_MAX_CONDITIONS 512

typedef struct skr_policy skr_policy;

/* Validate and compile n bytes of policy JSON.  On failure the reason, with
 * its location ("anyOf[0].allOf[2]: unknown operator \"equal\""), is
 * appended to why (may be NULL).  Errors: SKR_ERR_POLICY_TOO_LARGE (size,
 * nesting, condition count), SKR_ERR_POLICY_INVALID (everything else),
 * SKR_ERR_NOMEM.  *out: caller frees with skr_policy_free. */
int skr_policy_parse(const char *json, size_t n, skr_policy **out,
    skr_buf *why);
/* Drops one reference: the last frees the policy. */
void skr_policy_free(skr_policy *p);
/* Another reference to p, which is never changed once parsed: threads may
 * evaluate one policy at once.  Returns p. */
skr_policy *skr_policy_ref(skr_policy *p);

/*
 * skr_policy_parse without the reason, through a cache of the last 64
 * distinct texts parsed (policy.c): a release parses its key's policy
 * once per text, not once per release (README, "Performance").  The
 * cache is found by the exact bytes; only policies that parsed are kept.
 * *out: a reference the caller frees with skr_policy_free.
 */
int skr_policy_parse_cached(const char *json, size_t n, skr_policy **out);
/* Lookups that found a policy, and that did not. */
void skr_policy_cache_stats(uint64_t *hits, uint64_t *misses);
/* Drop every cached policy (references held elsewhere stay valid). */
void skr_policy_cache_clear(void);

/* 1 when the policy sets the requireServerNonce extension (docs/release.md:
 * the release is allowed only against a nonce handed out by GET /nonce). */
int skr_policy_require_server_nonce(const skr_policy *p);
/* The authority rules, in policy order; borrowed, valid while p lives. */
size_t skr_policy_rule_count(const skr_policy *p);
const char *skr_policy_rule_authority(const skr_policy *p, size_t i);

/* The outcome of one evaluation.  Initialise with SKR_POLICY_RESULT_INIT,
 * release with skr_policy_result_clear. */
typedef struct skr_policy_result {
	int allowed;
	/* Owned.  { "issuer", "at", "decision": "allow"|"deny", "rules": [
	 *   { "index", "authority", "matches_issuer", "op": "allOf"|"anyOf",
	 *     "result", "conditions": [ { "claim", "op", "expected",
	 *     "actual" (absent when the claim is missing), "present",
	 *     "result" } | { "op": "allOf"|"anyOf", "result", "conditions" } ],
	 *     "maxAge": {...} (when set) } ] }.  May hold claim values: for the
	 * audit log and `evaluate`, not for release callers. */
	json_t *trace;
	/* Owned array of the claim names of the first failing condition of
	 * each rule for the issuer (empty when none applies or on allow). */
	json_t *failed_claims;
	/* Human summary naming claims, never their values:
	 * "anyOf[0] (https://a.example): x-ms-attestation-type" ... */
	skr_buf denial;
	/* SHA-256 hex of the compact, key-sorted trace: what the audit log
	 * records. */
	char trace_digest[65];
	/* The trace as that text: what the digest is taken over. */
	skr_buf trace_text;
} skr_policy_result;

#define SKR_POLICY_RESULT_INIT                                              \
	{ 0, NULL, NULL, SKR_BUF_INIT, { 0 }, SKR_BUF_INIT }

/* Nesting a trace can reach: rules, groups, and a claim value's own. */
#define SKR_TRACE_MAX_DEPTH 256

/* Evaluate p against a token's verified claims (an object), its issuer and
 * the time now (Unix seconds).  Fills res (cleared first), trace
 * included.  Returns SKR_OK when allowed, SKR_ERR_POLICY_DENIED when not
 * (res describes why), or SKR_ERR_INVAL / SKR_ERR_NOMEM. */
int skr_policy_eval(const skr_policy *p, const json_t *claims,
    const char *iss, int64_t now, skr_policy_result *res);
/* The same over claims, an object node of doc (a token's payload as
 * jdoc.h read it; both borrowed for the call), with no jansson tree: res
 * gets trace_text and trace_digest, and res->trace stays NULL until
 * skr_policy_result_trace asks for it.  The release path. */
int skr_policy_eval_doc(const skr_policy *p, const skr_jdoc *doc,
    const skr_jnode *claims, const char *iss, int64_t now,
    skr_policy_result *res);
/* res->trace, parsed from trace_text the first time it is asked for;
 * borrowed from res.  NULL when out of memory or no evaluation ran. */
const json_t *skr_policy_result_trace(skr_policy_result *res);
void skr_policy_result_clear(skr_policy_result *res);

/* 1 when authority and iss are equal ignoring one trailing slash on
 * either (docs/attestation.md, "Release policies"). Case-sensitive. */
int skr_policy_issuer_match(const char *authority, const char *iss);

#endif
