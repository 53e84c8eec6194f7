/*
 * skr_testauth: a test attestation authority.  It holds a generated signing
 * key, publishes it as a JWKS with OpenID metadata, and mints tokens shaped
 * like Microsoft Azure Attestation (MAA) tokens for an Azure SEV-SNP or TDX
 * confidential VM or an SGX enclave.  The claim names and nesting follow
 * real MAA tokens; every measurement is an obviously synthetic value.
 *
 * It exists for tests, demos and `skrd --dev`, and must never be mistaken for
 * a real authority: its issuer path is "/skr-test-attestation" and every
 * token carries the top-level claim "x-skr-test-authority": true.
 *
 * Not thread-safe: one skr_testauth is used from one thread at a time.
 */
#ifndef SKR_SERVER_TESTAUTH_H
#define SKR_SERVER_TESTAUTH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "jwk.h"
#include "jws.h"

/* Path of the authority below "https://host:port". */
#define SKR_TESTAUTH_PATH "/skr-test-attestation"
/* The claim that marks every token as coming from this authority. */
#define SKR_TESTAUTH_CLAIM "x-skr-test-authority"
/* kid of the wrapping key in x-ms-runtime.keys, as MAA names the vTPM key. */
#define SKR_TESTAUTH_WRAPKEY_KID "TpmEphemeralEncryptionKey"
/* Default token lifetime: MAA issues tokens valid for 8 hours. */
#define SKR_TESTAUTH_DEFAULT_LIFETIME 28800
/* Rotated-out keys stay published for this many further rotations. */
#define SKR_TESTAUTH_GRACE_KEYS 2

typedef struct skr_testauth skr_testauth;

typedef enum skr_testauth_tee {
	SKR_TESTAUTH_TEE_SEVSNP = 0, /* Azure SEV-SNP confidential VM */
	SKR_TESTAUTH_TEE_TDX,        /* Azure TDX confidential VM */
	SKR_TESTAUTH_TEE_SGX,        /* SGX enclave */
} skr_testauth_tee;

/* "sevsnp", "tdx", "sgx" -> tee.  SKR_ERR_INVAL for anything else. */
int skr_testauth_tee_parse(const char *s, skr_testauth_tee *out);
const char *skr_testauth_tee_name(skr_testauth_tee tee);

/* What to mint.  Every pointer is borrowed for the call only; zero-filled
 * means: SEV-SNP, no wrapping key, no nonce, no overrides, default lifetime,
 * issued now, the MAA header {alg, jku, kid, typ}. */
typedef struct skr_testauth_claims {
	skr_testauth_tee tee;
	/* RSA public key emitted into x-ms-runtime.keys with kid
	 * SKR_TESTAUTH_WRAPKEY_KID and key_ops ["encrypt"]; NULL: no keys. */
	const skr_key *wrapping_key;
	/* x-ms-runtime.client-payload.nonce; NULL: no client payload. */
	const char *nonce;
	/* Object merged over the template last: a member name may be a dotted
	 * path ("x-ms-isolation-tee.x-ms-compliance-status"), an object value
	 * merges into an object, a JSON null removes the claim, anything else
	 * replaces it. NULL: none. */
	const json_t *overrides;
	int64_t lifetime;   /* exp - iat in seconds; 0: default; < 0 refused */
	int64_t iat_offset; /* iat = nbf = now + iat_offset */
	int64_t now;        /* unix seconds; 0: time(NULL) */

	/* Hostile tokens, for tests of the verifier.  header_extra members are
	 * merged over the header (a JSON null removes one, e.g. kid); kid
	 * replaces the kid (one not in the set); alg names the header alg:
	 * another alg that fits the key is a genuine signature under that alg,
	 * one that does not fit keeps the key's own signature under the forged
	 * name, "none" has an empty signature and HS256/384/512 is an HMAC keyed
	 * with the public key's PEM (the classic algorithm confusion). */
	const json_t *header_extra;
	const char *kid;
	const char *alg;
} skr_testauth_claims;

/* Create an authority for issuer (an https URL, no trailing slash) signing
 * with alg: "RS256" (NULL means this), "PS256" (RSA-2048 keys) or "ES256"
 * (P-256).  Generates the first signing key.  *out: caller frees with
 * skr_testauth_free. */
int skr_testauth_new(const char *issuer, const char *alg, skr_testauth **out);
void skr_testauth_free(skr_testauth *ta);

/* Borrowed, valid until the next change to ta. */
const char *skr_testauth_issuer(const skr_testauth *ta);
const char *skr_testauth_alg(const skr_testauth *ta);
/* kid of the current signing key. */
const char *skr_testauth_kid(const skr_testauth *ta);
/* Current signing key (private); borrowed, valid until the next rotate. */
const skr_key *skr_testauth_signing_key(const skr_testauth *ta);
/* Number of keys published (current first). */
size_t skr_testauth_nkeys(const skr_testauth *ta);

/* Change the issuer (the server learns its port after binding). */
int skr_testauth_set_issuer(skr_testauth *ta, const char *issuer);

/* JWKS forms. */
#define SKR_TESTAUTH_JWKS_JWK 0x1 /* n/e or crv/x/y */
#define SKR_TESTAUTH_JWKS_X5C 0x2 /* x5c: a self-signed certificate */
#define SKR_TESTAUTH_JWKS_BOTH (SKR_TESTAUTH_JWKS_JWK | SKR_TESTAUTH_JWKS_X5C)

/* The public JWKS {"keys":[{kty, kid, alg, use:"sig", ...}]}, current key
 * first, with the members that form selects (0 means BOTH).  New
 * reference. */
json_t *skr_testauth_jwks_json(const skr_testauth *ta, unsigned form);
/* OpenID discovery document: issuer, jwks_uri ({issuer}/certs), algs.
 * New reference. */
json_t *skr_testauth_openid_config_json(const skr_testauth *ta);

/* Make a new signing key current.  The previous keys stay in the JWKS (at
 * most SKR_TESTAUTH_GRACE_KEYS of them) unless drop_old, which publishes
 * only the new key. */
int skr_testauth_rotate(skr_testauth *ta, int drop_old);

/* Mint a token; appends the compact JWS to token_out.  SKR_ERR_INVAL for a
 * bad spec (negative lifetime, non-RSA or weak wrapping key, overrides not
 * an object, unknown alg name). */
int skr_testauth_mint(skr_testauth *ta, const skr_testauth_claims *spec,
    skr_buf *token_out);

/* The same, from the JSON body the serving program accepts:
 * {"tee":"sevsnp", "wrapping_key":{JWK}, "nonce":"...", "claims":{...},
 *  "lifetime":300, "iat_offset":0, "header":{...}, "kid":"...",
 *  "alg":"..."}, every member optional.  Unknown members, wrong types and
 * a wrapping key that is not an RSA key of 2048 bits or more are
 * SKR_ERR_BAD_REQUEST (or the JWK error). */
int skr_testauth_mint_json(skr_testauth *ta, const char *body, size_t n,
    int64_t now, skr_buf *token_out);

/*
 * Persistence for the serving program: dir holds "signing-keys.pem" (the
 * private keys, current first, mode 0600) and "authority.json" ({"issuer",
 * "alg"}).  save writes both (each atomically); load reads them (*out:
 * caller frees with skr_testauth_free); stored is 1 when dir holds an
 * authority.
 */
int skr_testauth_save(const skr_testauth *ta, const char *dir);
int skr_testauth_load(const char *dir, skr_testauth **out);
int skr_testauth_stored(const char *dir);

/* TLS material for serving on loopback, created once and kept: "ca.pem" (a
 * throw-away CA, what clients trust), "tls-cert.pem" (server certificate for
 * 127.0.0.1, ::1 and localhost, then the CA) and "tls-key.pem" (0600). */
int skr_testauth_tls_ensure(const char *dir);

#endif
