/*
 * libskr: the skr client library.
 *
 * A small synchronous, thread-safe C API for workloads that release keys
 * (typically inside a confidential VM, at boot) and for administration.  It
 * speaks the Azure Key Vault / Managed HSM secure key release wire format,
 * so it works against skrd and against Key Vault itself (bearer token
 * supplied by the caller).
 *
 * TLS verification is always on: the server is trusted through a CA bundle
 * or a pinned public key.  A release response is trusted only if its JWS
 * verifies against a pinned release-signing certificate or chains to a
 * configured CA.
 *
 * Errors are the SKR_ERR_* codes of <skr/error.h>; a server error comes back
 * as the code named by its stable id, with the HTTP status and message in
 * the optional skr_result.
 *
 * Ownership: strings returned through `char **` are malloc'd JSON text the
 * caller frees with skr_free(); a released key is freed, and wiped, with
 * skr_released_key_free().  A skr_client may be used from many threads at
 * once.
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
	const char *url;          /* "https://host:port" (https only) */
	const char *ca_file;      /* PEM CA bundle for the server; NULL: system */
	const char *pin;          /* or also: "sha256//<base64>" of the server
	                           * public key (curl's pinned public key) */
	const char *bearer;       /* admin bearer token, or NULL */
	long connect_timeout_ms;  /* 0: 10 s */
	long timeout_ms;          /* 0: 60 s */
	const char *signing_cert; /* PEM: pin the release-signing certificate */
	const char *signing_ca;   /* PEM: or a CA the x5c chain must reach */
} skr_client_opts;

/* Per-call details (optional everywhere). */
typedef struct skr_result {
	int http_status;          /* 0 when no response arrived */
	char error_id[64];        /* "SKR.POLICY.DENIED", or "" */
	char message[512];        /* the server's message, never secrets */
} skr_result;

void skr_client_opts_init(skr_client_opts *o);
int skr_client_new(const skr_client_opts *o, skr_client **out);
void skr_client_free(skr_client *c);
void skr_free(void *p);

/* ---- release ---------------------------------------------------------- */

/*
 * RSA-OAEP decryption done elsewhere (a TPM, an HSM): decrypt inlen bytes
 * with OAEP, hash and MGF1 both `md` ("SHA1", "SHA256" or "SHA384"), empty
 * label; write at most *outlen bytes and set *outlen.  Return 0 on success.
 */
typedef int (*skr_decrypt_fn)(void *ctx, const char *md,
    const unsigned char *in, size_t inlen, unsigned char *out,
    size_t *outlen);

typedef struct skr_unwrapper {
	EVP_PKEY *key;            /* the wrapping private key, or NULL and: */
	skr_decrypt_fn decrypt;
	void *ctx;
	size_t modulus_len;       /* bytes of the wrapping key's modulus */
} skr_unwrapper;

/*
 * Release key `name` (version NULL: the current one) with attestation token
 * `token`: POST /keys/{name}[/{version}]/release, verify the signed
 * response, check the echoed nonce (nonce may be NULL), unwrap the key.
 * enc NULL means "CKM_RSA_AES_KEY_WRAP".  *out: free with
 * skr_released_key_free.
 */
int skr_client_release(skr_client *c, const char *name, const char *version,
    const char *token, const char *nonce, const char *enc,
    const skr_unwrapper *u, skr_released_key **out, skr_result *res);

/* "RSA", "EC" or "oct". */
const char *skr_released_key_kty(const skr_released_key *k);
/* PKCS#8 DER (RSA, EC) or the raw key bytes (oct); borrowed. */
const unsigned char *skr_released_key_bytes(const skr_released_key *k,
    size_t *len);
/* The key as an EVP_PKEY (RSA, EC; NULL for oct); borrowed. */
EVP_PKEY *skr_released_key_pkey(const skr_released_key *k);
/* The key id (URL with version) and the attributes as JSON text. */
const char *skr_released_key_kid(const skr_released_key *k);
const char *skr_released_key_attributes(const skr_released_key *k);
/* Wipes and frees; NULL is fine. */
void skr_released_key_free(skr_released_key *k);

/* ---- every other route ------------------------------------------------ */

/*
 * One request: method, path (with query) relative to the base URL, an
 * optional JSON body.  *out (may be NULL) receives the response body.
 */
int skr_client_call(skr_client *c, const char *method, const char *path,
    const char *json_body, char **out, skr_result *res);

/* Key Vault routes.  params / bundles are the Key Vault JSON bodies. */
int skr_client_key_create(skr_client *c, const char *name,
    const char *params, char **out, skr_result *res);
int skr_client_key_import(skr_client *c, const char *name,
    const char *params, char **out, skr_result *res);
int skr_client_key_get(skr_client *c, const char *name, const char *version,
    char **out, skr_result *res);
/* Every page, following nextLink: {"value":[...]} */
int skr_client_key_list(skr_client *c, char **out, skr_result *res);
int skr_client_key_versions(skr_client *c, const char *name, char **out,
    skr_result *res);
int skr_client_key_update(skr_client *c, const char *name,
    const char *version, const char *params, char **out, skr_result *res);
int skr_client_key_rotate(skr_client *c, const char *name, char **out,
    skr_result *res);
int skr_client_key_delete(skr_client *c, const char *name, char **out,
    skr_result *res);
int skr_client_deleted_get(skr_client *c, const char *name, char **out,
    skr_result *res);
int skr_client_deleted_list(skr_client *c, char **out, skr_result *res);
int skr_client_key_recover(skr_client *c, const char *name, char **out,
    skr_result *res);
int skr_client_key_purge(skr_client *c, const char *name, skr_result *res);
int skr_client_key_backup(skr_client *c, const char *name, char **out,
    skr_result *res);
int skr_client_key_restore(skr_client *c, const char *backup, char **out,
    skr_result *res);

/* Project routes. */
int skr_client_evaluate(skr_client *c, const char *name, const char *version,
    const char *token, const char *nonce, char **out, skr_result *res);
/* A fresh server nonce: *nonce (malloc'd text). */
int skr_client_nonce(skr_client *c, char **nonce, skr_result *res);
int skr_client_token_create(skr_client *c, const char *params, char **out,
    skr_result *res);
int skr_client_token_list(skr_client *c, char **out, skr_result *res);
int skr_client_token_revoke(skr_client *c, const char *id, skr_result *res);
int skr_client_authorities(skr_client *c, char **out, skr_result *res);
int skr_client_authority_refresh(skr_client *c, const char *issuer,
    skr_result *res);
int skr_client_audit_list(skr_client *c, const char *query, char **out,
    skr_result *res);
int skr_client_audit_verify(skr_client *c, char **out, skr_result *res);
int skr_client_ready(skr_client *c, skr_result *res);

#ifdef __cplusplus
}
#endif
#endif
