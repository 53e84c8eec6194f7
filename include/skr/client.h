/*
 * libskr: the skr client library.
 *
 * A small synchronous, thread-safe C API for workloads that release keys
 * (typically inside a confidential VM, at boot) and for administration.  It
 * speaks the Azure Key Vault / Managed HSM secure key release wire format,
 * so it works against skrd and against Key Vault itself (bearer token
 * supplied by the caller).
 *
 * TLS verification is always on and cannot be switched off: the server is
 * trusted through a CA bundle (or the system store), a pinned certificate,
 * or both.  A release response is trusted only if its JWS verifies against
 * a pinned release-signing certificate or its x5c chain reaches a
 * configured CA.
 *
 * Errors are the SKR_ERR_* codes of <skr/error.h>.  A server error comes
 * back as the code named by the stable id that starts its message
 * ("SKR.POLICY.DENIED: ..."), or, from a server that sends no such id (Key
 * Vault), as the code its error code or HTTP status implies.  The details
 * of each call -- HTTP status, error id and the server's message -- land in
 * the optional skr_result the caller passes (NULL to ignore); there is no
 * hidden per-thread or per-client error state.
 *
 * Ownership: strings returned through `char **` are malloc'd JSON text the
 * caller frees with skr_free(); a released key is wiped and freed with
 * skr_released_key_free().  A skr_client may be used from many threads at
 * once; it is immutable after skr_client_new().
 */
#ifndef SKR_CLIENT_H
#define SKR_CLIENT_H

#include <stddef.h>

#include <openssl/evp.h>

#include "skr/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct skr_client skr_client;
typedef struct skr_released_key skr_released_key;

typedef struct skr_client_opts {
	/*
	 * "https://host[:port]" (https only), or several replicas of one
	 * server, comma-separated, all with the same path
	 * (docs/availability.md).  A call goes to the one that answered
	 * last and moves on to the next when it cannot connect, TLS fails,
	 * or (for a request that is safe to repeat: GET and release) the
	 * exchange fails or the answer is 503, for at most failover_ms in
	 * all.  Any other request that may have reached a server is never
	 * sent again (docs/libskr.md, "Several servers").
	 */
	const char *url;
	const char *ca_file;      /* PEM CA bundle for the server; NULL: the
	                           * system store (unless pin is set) */
	/*
	 * Pin the server's TLS certificate.  One of:
	 *   "sha256//BASE64[;sha256//BASE64...]"  SHA-256 of the public key
	 *                                         (SubjectPublicKeyInfo)
	 *   "AB:CD:..." or 64 hex digits          SHA-256 of the certificate
	 *   a path to a PEM certificate           that very certificate
	 * With a pin and no ca_file the pin alone is the trust (a private CA
	 * need not be installed); with both, the chain must verify and the
	 * pin match.  The host name is checked in every case.
	 */
	const char *pin;
	const char *bearer;       /* admin bearer token, or NULL */
	long connect_timeout_ms;  /* 0: 10 s */
	long timeout_ms;          /* 0: 60 s, per HTTP exchange */
	const char *signing_cert; /* PEM file: pin the release-signing cert */
	const char *signing_ca;   /* PEM file: or CAs the x5c chain must
	                           * reach */
	long failover_ms;         /* 0: timeout_ms; one call over every
	                           * server of url */
} skr_client_opts;

/* Per-call details; every call takes an optional one (NULL is fine) and
 * clears it first. */
typedef struct skr_result {
	int http_status;          /* 0 when no response arrived */
	char error_id[64];        /* "SKR.POLICY.DENIED", or "" on success */
	char message[512];        /* the server's (or client's) message; never
	                           * secrets */
} skr_result;

void skr_client_opts_init(skr_client_opts *o);
/* Reads the certificate files now.  SKR_ERR_INVAL for a missing or non-https
 * URL (or more than 16, or URLs with different paths), an unreadable file
 * or a malformed pin.  *out: skr_client_free. */
int skr_client_new(const skr_client_opts *o, skr_client **out);
void skr_client_free(skr_client *c);
/* Frees what the library returned as char *. */
void skr_free(void *p);

/* ---- release ---------------------------------------------------------- */

/*
 * RSA-OAEP decryption done elsewhere (a TPM, an HSM): decrypt inlen bytes
 * with OAEP, hash and MGF1 both `md` ("SHA1", "SHA256" or "SHA384"), empty
 * label; write at most *outlen bytes to out and set *outlen.  Return 0 on
 * success.  The output is the AES key that unwraps the released key: the
 * library wipes it after use.  A failure is SKR_ERR_UNWRAP for the release,
 * unless the callback returns an SKR_ERR_* code of its own, which the
 * release then returns: do that only for failures that do not depend on the
 * ciphertext (the device is unreachable, refuses its authorization), never
 * to tell which part of a ciphertext was wrong.
 */
typedef int (*skr_decrypt_fn)(void *ctx, const char *md,
    const unsigned char *in, size_t inlen, unsigned char *out,
    size_t *outlen);

typedef struct skr_unwrapper {
	EVP_PKEY *key;            /* the RSA wrapping private key (borrowed),
	                           * or NULL and: */
	skr_decrypt_fn decrypt;
	void *ctx;
	size_t modulus_len;       /* bytes of the wrapping key's modulus */
	const char *kid;          /* the wrapping key's kid as the attestation
	                           * token names it; when set, key_hsm must name
	                           * the same kid.  NULL: not checked. */
} skr_unwrapper;

/*
 * Release key `name` (version NULL: the current one) with attestation token
 * `token`: POST /keys/{name}[/{version}]/release {target, nonce?, enc?},
 * then, before anything is unwrapped:
 *   - the response JWS (RS256, PS256 or ES256) must verify against the
 *     pinned release-signing certificate (whose x5c leaf, when sent, must be
 *     that certificate) or a certificate chaining to signing_ca that
 *     carries the release-signing extended key usage
 *     (id-kp-documentSigning, 1.3.6.1.5.5.7.3.36: skrd's CA gives it to
 *     the release-signing certificates only, not to its TLS certificate);
 *   - request.nonce must echo `nonce` (and be absent when nonce is NULL),
 *     request.enc must echo enc when present;
 *   - the key's kid must name `name` (and `version` when given);
 *   - key_hsm must be well formed and name u->kid (when set) and enc.
 * Refusals: SKR_ERR_RESPONSE_SIGNATURE, SKR_ERR_NONCE_MISMATCH,
 * SKR_ERR_RESPONSE, SKR_ERR_KEY_HSM, SKR_ERR_UNWRAP.  SKR_ERR_INVAL when the
 * client has neither signing_cert nor signing_ca (checked before any
 * request is sent).  enc NULL means "CKM_RSA_AES_KEY_WRAP".
 * *out: free with skr_released_key_free.
 */
int skr_client_release(skr_client *c, const char *name, const char *version,
    const char *token, const char *nonce, const char *enc,
    const skr_unwrapper *u, skr_released_key **out, skr_result *res);

/* "RSA", "EC" or "oct". */
const char *skr_released_key_kty(const skr_released_key *k);
/* PKCS#8 DER (RSA, EC) or the raw key bytes (oct); borrowed, valid until
 * skr_released_key_free. */
const unsigned char *skr_released_key_bytes(const skr_released_key *k,
    size_t *len);
/* The key as an EVP_PKEY (RSA, EC; NULL for oct); borrowed (EVP_PKEY_up_ref
 * to keep it). */
EVP_PKEY *skr_released_key_pkey(const skr_released_key *k);
/* The key id (URL with version) and the attributes as JSON text; borrowed. */
const char *skr_released_key_kid(const skr_released_key *k);
const char *skr_released_key_attributes(const skr_released_key *k);
/* Wipes and frees; NULL is fine. */
void skr_released_key_free(skr_released_key *k);

/* ---- the wrapping key in a TPM ---------------------------------------- */

/*
 * The TPM of a confidential VM as the holder of the wrapping key
 * (docs/libskr.md, "The wrapping key in a TPM").  The key is the one the
 * Azure guest attestation library puts in the token's x-ms-runtime.keys as
 * TpmEphemeralEncryptionKey: an RSA-2048 primary key of the TPM's NULL
 * hierarchy, made from a fixed template whose authPolicy is PolicyPCR over
 * the SHA-256 values of PCRs 0-7.  The TPM makes the same key from the same
 * template until it is reset (a reboot) or those PCRs change, so libskr
 * makes it again for each operation and nothing is stored; its private half
 * never leaves the TPM.
 *
 * Built with TPM support (meson option `tpm`, on by default on Linux when
 * libtss2 is installed) only; otherwise every function below returns
 * SKR_ERR_TPM_UNSUPPORTED.  An skr_tpm may be shared by threads: its TPM
 * operations run one at a time.
 */
typedef struct skr_tpm skr_tpm;

#define SKR_TPM_TCTI_DEFAULT "device:/dev/tpmrm0"
/* The kid the Azure attestation token gives the TPM's key. */
#define SKR_TPM_KID "TpmEphemeralEncryptionKey"

/*
 * tcti: a TSS2 TCTI configuration ("device:/dev/tpmrm0",
 * "swtpm:host=127.0.0.1,port=2321", "mssim:...") or NULL for
 * SKR_TPM_TCTI_DEFAULT.  The TPM is reached once now (else
 * SKR_ERR_TPM_UNAVAILABLE) and again for each operation; nothing is kept
 * open in between.  The first call sets TSS2_LOG=all+NONE in the
 * environment unless it is set, so that the TSS prints nothing.
 * *out: skr_tpm_close.
 */
int skr_tpm_open(const char *tcti, skr_tpm **out, skr_result *res);
/* NULL is fine.  Unwrappers filled from t are dead afterwards. */
void skr_tpm_close(skr_tpm *t);

typedef enum skr_tpm_format {
	SKR_TPM_PEM = 1,          /* SubjectPublicKeyInfo PEM */
	SKR_TPM_JWK,              /* {"kty":"RSA","n","e","kid":SKR_TPM_KID,
	                           *  "key_ops":["encrypt"]} */
} skr_tpm_format;

/* The public key as the TPM makes it now, which is the key an attestation
 * token made now names.  *out: malloc'd text, skr_free. */
int skr_tpm_pubkey(skr_tpm *t, skr_tpm_format format, char **out,
    skr_result *res);

/*
 * An unwrapper for a release with token: the key a release of token is
 * wrapped to (the first usable RSA key of its x-ms-runtime.keys, as skrd
 * chooses) must be the key this TPM makes now, else
 * SKR_ERR_TPM_KEY_MISMATCH -- the token names another key, or the TPM was
 * reset or PCRs 0-7 changed since the token was made.  SKR_ERR_WRAPKEY_*
 * or SKR_ERR_TOKEN_MALFORMED when the token names no usable key.  Nothing
 * is sent anywhere: call it before skr_client_release.
 *
 * *u gets the TPM's decryption (done inside the TPM, in a policy session
 * over PCRs 0-7, the result returned through a session salted to that same
 * key), modulus_len and kid; it stays valid until skr_tpm_close(t).  In the
 * release, SKR_ERR_TPM_POLICY means PCRs 0-7 changed since this call,
 * SKR_ERR_TPM_KEY_MISMATCH that the TPM was reset, SKR_ERR_TPM_UNAVAILABLE
 * that it could not be reached; a ciphertext the key does not open is
 * SKR_ERR_UNWRAP.
 */
int skr_tpm_unwrapper(skr_tpm *t, const char *token, skr_unwrapper *u,
    skr_result *res);

/* ---- every other route ------------------------------------------------ */

/*
 * One request: method, path (with query) relative to the base URL, an
 * optional JSON body.  *out (out may be NULL) receives the response body on
 * success, NULL otherwise.
 */
int skr_client_call(skr_client *c, const char *method, const char *path,
    const char *json_body, char **out, skr_result *res);

/* Key Vault routes.  params are Key Vault JSON request bodies; out receives
 * the Key Vault JSON response (a key bundle unless said otherwise). */
int skr_client_key_create(skr_client *c, const char *name,
    const char *params, char **out, skr_result *res);
int skr_client_key_import(skr_client *c, const char *name,
    const char *params, char **out, skr_result *res);
int skr_client_key_get(skr_client *c, const char *name, const char *version,
    char **out, skr_result *res);
/* Every page, following nextLink (to the same server only):
 * {"value":[...]} */
int skr_client_key_list(skr_client *c, char **out, skr_result *res);
int skr_client_key_versions(skr_client *c, const char *name, char **out,
    skr_result *res);
int skr_client_key_update(skr_client *c, const char *name,
    const char *version, const char *params, char **out, skr_result *res);
int skr_client_key_rotate(skr_client *c, const char *name, char **out,
    skr_result *res);
/* out: the deleted key bundle. */
int skr_client_key_delete(skr_client *c, const char *name, char **out,
    skr_result *res);
int skr_client_deleted_get(skr_client *c, const char *name, char **out,
    skr_result *res);
int skr_client_deleted_list(skr_client *c, char **out, skr_result *res);
int skr_client_key_recover(skr_client *c, const char *name, char **out,
    skr_result *res);
int skr_client_key_purge(skr_client *c, const char *name, skr_result *res);
/* out: {"value":"<opaque backup>"}; restore takes that same JSON. */
int skr_client_key_backup(skr_client *c, const char *name, char **out,
    skr_result *res);
int skr_client_key_restore(skr_client *c, const char *backup, char **out,
    skr_result *res);

/* Project routes. */
/* Dry-run a release: out is {"decision", "reason"?, "trace", ...}; a deny
 * decision is still SKR_OK. */
int skr_client_evaluate(skr_client *c, const char *name, const char *version,
    const char *token, const char *nonce, char **out, skr_result *res);
/* A fresh single-use server nonce: *nonce (malloc'd text, skr_free). */
int skr_client_nonce(skr_client *c, char **nonce, skr_result *res);
/* params: {"roles":[...], "prefixes":[...], "name", "expires"}; out holds
 * the new token's secret once: wipe it. */
int skr_client_token_create(skr_client *c, const char *params, char **out,
    skr_result *res);
int skr_client_token_list(skr_client *c, char **out, skr_result *res);
int skr_client_token_revoke(skr_client *c, const char *id, skr_result *res);
int skr_client_authorities(skr_client *c, char **out, skr_result *res);
/* Refetch the key set of one configured authority (issuer required). */
int skr_client_authority_refresh(skr_client *c, const char *issuer,
    skr_result *res);
/* query: "key=K&outcome=denied..." (already URL-safe) or NULL. */
int skr_client_audit_list(skr_client *c, const char *query, char **out,
    skr_result *res);
int skr_client_audit_verify(skr_client *c, char **out, skr_result *res);
/* GET /healthz (alive) and /readyz (store open, unsealed, authorities
 * loaded): SKR_OK or the error. */
int skr_client_health(skr_client *c, skr_result *res);
int skr_client_ready(skr_client *c, skr_result *res);

#ifdef __cplusplus
}
#endif
#endif
