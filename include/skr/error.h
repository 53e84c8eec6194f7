/*
 * skr error codes: one enum shared by the server, the client library and the
 * CLI.  Every code is negative (SKR_OK is 0) and has a stable dotted id, which
 * is what the HTTP API puts in error messages and what operators grep for,
 * and a short human text.  Both come from the single table below.
 *
 * The HTTP status and Key Vault error "code" for each id are mapped in one
 * place in the server (server/http_error.c); the CLI exit status in one place
 * in skrctl.
 */
#ifndef SKR_ERROR_H
#define SKR_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, "stable.id", "human text") -- append only; ids are an API. */
#define SKR_ERRNO_MAP(X)                                                      \
	/* general */                                                             \
	X(NOMEM, "SKR.INTERNAL.NOMEM", "out of memory")                           \
	X(INVAL, "SKR.INTERNAL.INVAL", "invalid argument")                        \
	X(INTERNAL, "SKR.INTERNAL", "internal error")                             \
	X(IO, "SKR.IO", "input/output error")                                     \
	X(TOO_LARGE, "SKR.REQUEST.TOO_LARGE", "input too large")                  \
	X(CRYPTO, "SKR.CRYPTO", "cryptographic operation failed")                 \
	X(UNSUPPORTED, "SKR.UNSUPPORTED", "not supported")                        \
	/* encodings and JSON */                                                  \
	X(ENCODING, "SKR.ENCODING", "malformed base64url, base64 or hex")         \
	X(JSON, "SKR.JSON.MALFORMED", "malformed JSON")                           \
	X(JSON_DUPLICATE, "SKR.JSON.DUPLICATE", "JSON object has a duplicate member") \
	X(JSON_DEPTH, "SKR.JSON.DEPTH", "JSON nested too deeply")                 \
	/* key material */                                                        \
	X(JWK_INVALID, "SKR.JWK.INVALID", "malformed JSON web key")               \
	X(JWK_UNSUPPORTED, "SKR.JWK.UNSUPPORTED", "unsupported key type, size or curve") \
	X(KEY_WEAK, "SKR.KEY.WEAK", "RSA key smaller than 2048 bits")             \
	X(KEY_NO_PRIVATE, "SKR.KEY.NO_PRIVATE", "private key material required")  \
	X(WRAP, "SKR.WRAP.FAILED", "key wrap failed")                             \
	X(UNWRAP, "SKR.WRAP.UNWRAP_FAILED", "key unwrap failed: wrong key or corrupted ciphertext") \
	X(ENC_UNSUPPORTED, "SKR.WRAP.ENC_UNSUPPORTED", "unsupported enc algorithm") \
	X(KEY_HSM, "SKR.WRAP.KEY_HSM", "malformed key_hsm envelope")              \
	X(SEAL_FORMAT, "SKR.SEAL.FORMAT", "sealed blob has an unknown format")    \
	X(SEAL_OPEN, "SKR.SEAL.OPEN", "sealed blob failed authentication")        \
	/* JWS */                                                                 \
	X(JWS_MALFORMED, "SKR.JWS.MALFORMED", "malformed compact JWS")            \
	X(JWS_ALG, "SKR.JWS.ALG", "JWS algorithm not allowed for this key")       \
	X(JWS_SIGNATURE, "SKR.JWS.SIGNATURE", "JWS signature does not verify")    \
	/* attestation tokens */                                                  \
	X(TOKEN_TOO_LARGE, "SKR.TOKEN.TOO_LARGE", "attestation token too large")  \
	X(TOKEN_MALFORMED, "SKR.TOKEN.MALFORMED", "malformed attestation token")  \
	X(TOKEN_ALG, "SKR.TOKEN.ALG", "token algorithm not allowed")              \
	X(TOKEN_HEADER, "SKR.TOKEN.HEADER", "token header carries a forbidden member") \
	X(TOKEN_ISSUER, "SKR.TOKEN.ISSUER", "token issuer is not a trusted authority") \
	X(TOKEN_KID, "SKR.TOKEN.KID", "no key with that kid for that authority")  \
	X(TOKEN_SIGNATURE, "SKR.TOKEN.SIGNATURE", "token signature does not verify") \
	X(TOKEN_EXPIRED, "SKR.TOKEN.EXPIRED", "token expired or has no exp")      \
	X(TOKEN_NOT_YET_VALID, "SKR.TOKEN.NOT_YET_VALID", "token not yet valid (nbf)") \
	X(TOKEN_IAT, "SKR.TOKEN.IAT", "token issued in the future (iat)")         \
	X(AUTHORITY, "SKR.AUTHORITY", "authority key set unavailable")            \
	/* policies */                                                            \
	X(POLICY_INVALID, "SKR.POLICY.INVALID", "invalid release policy")         \
	X(POLICY_TOO_LARGE, "SKR.POLICY.TOO_LARGE", "release policy over the size, depth or condition limit") \
	X(POLICY_DENIED, "SKR.POLICY.DENIED", "release policy not satisfied")     \
	/* keys and versions */                                                   \
	X(KEY_NAME, "SKR.KEY.NAME", "invalid key name")                           \
	X(KEY_NOT_FOUND, "SKR.KEY.NOT_FOUND", "key not found")                    \
	X(VERSION_NOT_FOUND, "SKR.KEY.VERSION_NOT_FOUND", "key version not found") \
	X(KEY_DISABLED, "SKR.KEY.DISABLED", "key is disabled or outside its nbf/exp window") \
	X(KEY_NOT_EXPORTABLE, "SKR.KEY.NOT_EXPORTABLE", "key is not exportable")  \
	X(KEY_POLICY_REQUIRED, "SKR.KEY.POLICY_REQUIRED", "an exportable key needs a release policy") \
	X(KEY_POLICY_FORBIDDEN, "SKR.KEY.POLICY_FORBIDDEN", "a non-exportable key cannot have a release policy") \
	X(KEY_EXPORTABLE_FIXED, "SKR.KEY.EXPORTABLE_FIXED", "exportable cannot change after creation") \
	X(KEY_POLICY_IMMUTABLE, "SKR.KEY.POLICY_IMMUTABLE", "the release policy is immutable") \
	X(KEY_CONFLICT, "SKR.KEY.CONFLICT", "key state conflicts with the request") \
	X(KEY_DELETED, "SKR.KEY.DELETED", "key is deleted")                       \
	X(BACKUP_INVALID, "SKR.BACKUP.INVALID", "backup blob is malformed or tampered") \
	/* release */                                                             \
	X(NONCE_MISMATCH, "SKR.NONCE.MISMATCH", "token nonce does not match the request nonce") \
	X(NONCE_INVALID, "SKR.NONCE.INVALID", "not a nonce issued by this server") \
	X(NONCE_EXPIRED, "SKR.NONCE.EXPIRED", "server nonce expired")             \
	X(NONCE_REUSED, "SKR.NONCE.REUSED", "server nonce already used")          \
	X(NONCE_REQUIRED, "SKR.NONCE.REQUIRED", "policy requires a server-issued nonce") \
	X(WRAPKEY_MISSING, "SKR.WRAPKEY.MISSING", "token carries no usable wrapping key") \
	X(WRAPKEY_INVALID, "SKR.WRAPKEY.INVALID", "token wrapping key is unusable") \
	/* administration */                                                      \
	X(AUTH_MISSING, "SKR.AUTH.MISSING", "bearer token required")              \
	X(AUTH_INVALID, "SKR.AUTH.INVALID", "bearer token not recognised")        \
	X(AUTH_EXPIRED, "SKR.AUTH.EXPIRED", "bearer token expired")               \
	X(AUTH_REVOKED, "SKR.AUTH.REVOKED", "bearer token revoked")               \
	X(AUTH_FORBIDDEN, "SKR.AUTH.FORBIDDEN", "role or scope does not allow this") \
	X(RATE_LIMITED, "SKR.RATE_LIMITED", "too many requests")                  \
	/* requests */                                                            \
	X(BAD_REQUEST, "SKR.REQUEST.INVALID", "invalid request")                  \
	X(CONTENT_TYPE, "SKR.REQUEST.CONTENT_TYPE", "content type must be application/json") \
	X(NOT_FOUND, "SKR.REQUEST.NOT_FOUND", "no such route")                    \
	X(METHOD, "SKR.REQUEST.METHOD", "method not allowed")                     \
	X(CONFLICT, "SKR.CONFLICT", "conflict")                                   \
	/* storage and server state */                                            \
	X(STORE, "SKR.STORE", "storage failure")                                  \
	X(STORE_FULL, "SKR.STORE.FULL", "storage full")                           \
	X(STORE_SCHEMA, "SKR.STORE.SCHEMA", "store schema version not supported") \
	X(SEALED, "SKR.SEALED", "server sealed or not ready")                     \
	X(CONFIG, "SKR.CONFIG", "invalid configuration")                          \
	X(MASTER_KEY, "SKR.STORE.MASTER_KEY", "master key missing, unsafe or malformed") \
	X(AUDIT_BROKEN, "SKR.AUDIT.BROKEN", "audit chain does not verify")        \
	/* client side */                                                         \
	X(TRANSPORT, "SKR.CLIENT.TRANSPORT", "could not reach the server")        \
	X(TLS, "SKR.CLIENT.TLS", "TLS verification failed")                       \
	X(RESPONSE, "SKR.CLIENT.RESPONSE", "malformed server response")           \
	X(RESPONSE_SIGNATURE, "SKR.CLIENT.RESPONSE_SIGNATURE", "release response signature not trusted") \
	X(SERVER, "SKR.CLIENT.SERVER", "server returned an error")               \
	/* SEV-SNP evidence (docs/snp.md) */                                      \
	X(SNP_REPORT, "SKR.SNP.REPORT", "malformed or unsupported SEV-SNP attestation report") \
	X(SNP_CERT, "SKR.SNP.CERT", "malformed or unusable AMD certificate")      \
	X(SNP_PRODUCT, "SKR.SNP.PRODUCT", "processor product unknown or inconsistent") \
	X(SNP_SIGNING_KEY, "SKR.SNP.SIGNING_KEY", "report signing-key field does not match the certificate") \
	X(SNP_CHAIN, "SKR.SNP.CHAIN", "certificate does not chain to a trusted AMD root") \
	X(SNP_EXPIRED, "SKR.SNP.EXPIRED", "AMD certificate expired or not yet valid") \
	X(SNP_CHIP_ID, "SKR.SNP.CHIP_ID", "VCEK hwID does not match the report chip_id") \
	X(SNP_TCB, "SKR.SNP.TCB", "certificate TCB does not match the reported TCB") \
	X(SNP_SIGNATURE, "SKR.SNP.SIGNATURE", "SEV-SNP report signature does not verify") \
	X(SNP_BINDING, "SKR.SNP.BINDING", "report_data does not bind the runtime data") \
	X(SNP_EVIDENCE, "SKR.SNP.EVIDENCE", "malformed evidence around the report (HCL report, vTPM quote, runtime data)") \
	X(SNP_QUOTE, "SKR.SNP.QUOTE", "vTPM quote signature or PCR digest does not verify") \
	X(SNP_NONCE, "SKR.SNP.NONCE", "vTPM quote nonce does not match")        \
	/* the TPM unwrapper (libskr) */                                          \
	X(TPM_UNSUPPORTED, "SKR.TPM.UNSUPPORTED", "libskr was built without TPM support") \
	X(TPM_UNAVAILABLE, "SKR.TPM.UNAVAILABLE", "TPM not reachable or not working") \
	X(TPM_KEY_MISMATCH, "SKR.TPM.KEY_MISMATCH", "the token's wrapping key is not the key this TPM makes now") \
	X(TPM_POLICY, "SKR.TPM.POLICY", "TPM refused the key's PCR policy: PCRs 0-7 changed") \
	/* SEV-SNP: skrd's attestation endpoint (docs/snp.md) */               \
	X(SNP_KDS, "SKR.SNP.KDS", "VCEK not available from AMD's key distribution service") \
	/* seals of the master key (docs/sealing.md) */                           \
	X(SEAL_UNAVAILABLE, "SKR.SEAL.UNAVAILABLE", "the seal cannot be reached: module, token or TPM absent") \
	X(SEAL_AUTH, "SKR.SEAL.AUTH", "the seal refused the credentials (wrong or missing PIN)") \
	X(SEAL_KEY, "SKR.SEAL.KEY", "the seal does not hold the key the data directory was sealed with") \
	X(SEAL_POLICY, "SKR.SEAL.POLICY", "the TPM refused to unseal: its PCR values changed since init") \
	X(SEAL_SAME, "SKR.SEAL.SAME", "the data directory already uses that seal with those settings") \
	X(SHARE_MALFORMED, "SKR.SHARE.MALFORMED", "malformed unseal share") \
	X(SHARE_FOREIGN, "SKR.SHARE.FOREIGN", "the unseal share belongs to another store") \
	X(SHARE_INVALID, "SKR.SHARE.INVALID", "the unseal share does not match this store's shares") \
	X(SHARE_DUPLICATE, "SKR.SHARE.DUPLICATE", "that unseal share was already given") \
	X(NOT_SEALED, "SKR.NOT_SEALED", "the server is not sealed") \
	/* replicated stores (docs/availability.md) */                         \
	X(STORE_UNAVAILABLE, "SKR.STORE.UNAVAILABLE", "the shared store has no quorum or cannot be reached") \
	X(STORE_RETRY, "SKR.STORE.RETRY", "another replica changed what this request read; run it again")

typedef enum skr_err {
	SKR_OK = 0,
	SKR__ERR_FIRST = -1000,
#define SKR__ERR_ENUM(name, id, text) SKR_ERR_##name,
	SKR_ERRNO_MAP(SKR__ERR_ENUM)
#undef SKR__ERR_ENUM
	SKR__ERR_LAST
} skr_err;

/* Human text for an error code; static storage, never NULL. */
const char *skr_strerror(int err);

/* Stable dotted id ("SKR.TOKEN.EXPIRED"); static storage, never NULL. */
const char *skr_err_id(int err);

#ifdef __cplusplus
}
#endif
#endif
