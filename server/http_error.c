#include "http_error.h"

#include <stddef.h>

#include "request.h"
#include "skr/error.h"

/* Key Vault's error codes for the classes docs/api.md names. */
#define BAD 400, "BadParameter"
#define UNAUTH 401, "Unauthorized"
#define FORBID 403, "Forbidden"
#define NOKEY 404, "KeyNotFound"
#define NOTFOUND 404, "NotFound"
#define METHOD 405, "MethodNotAllowed"
#define CONFLICT 409, "Conflict"
#define TOOBIG 413, "RequestTooLarge"
#define THROTTLE 429, "Throttled"
#define INTERNAL 500, "InternalServerError"
#define UNAVAIL 503, "ServiceUnavailable"
#define FULL 507, "InsufficientStorage"

#define E(name, ...) [SKR_ERR_##name - SKR__ERR_FIRST] = { __VA_ARGS__ }

static const struct {
	int status;
	const char *code;
} table[SKR__ERR_LAST - SKR__ERR_FIRST] = {
	E(NOMEM, INTERNAL),
	E(INVAL, INTERNAL),
	E(INTERNAL, INTERNAL),
	E(IO, INTERNAL),
	E(TOO_LARGE, TOOBIG),
	E(CRYPTO, INTERNAL),
	E(UNSUPPORTED, BAD),
	E(ENCODING, BAD),
	E(JSON, BAD),
	E(JSON_DUPLICATE, BAD),
	E(JSON_DEPTH, BAD),
	E(JWK_INVALID, BAD),
	E(JWK_UNSUPPORTED, BAD),
	E(KEY_WEAK, BAD),
	E(KEY_NO_PRIVATE, BAD),
	E(WRAP, INTERNAL),
	E(UNWRAP, BAD),
	E(ENC_UNSUPPORTED, BAD),
	E(KEY_HSM, BAD),
	/* A stored blob that does not open is damage, not bad input. */
	E(SEAL_FORMAT, INTERNAL),
	E(SEAL_OPEN, INTERNAL),
	E(JWS_MALFORMED, BAD),
	E(JWS_ALG, BAD),
	E(JWS_SIGNATURE, BAD),
	/* An attestation token that is not accepted: the caller is not
	 * allowed the key (403), as Key Vault answers a failed release. */
	E(TOKEN_TOO_LARGE, TOOBIG),
	E(TOKEN_MALFORMED, BAD),
	E(TOKEN_ALG, FORBID),
	E(TOKEN_HEADER, FORBID),
	E(TOKEN_ISSUER, FORBID),
	E(TOKEN_KID, FORBID),
	E(TOKEN_SIGNATURE, FORBID),
	E(TOKEN_EXPIRED, FORBID),
	E(TOKEN_NOT_YET_VALID, FORBID),
	E(TOKEN_IAT, FORBID),
	E(AUTHORITY, UNAVAIL),
	E(POLICY_INVALID, BAD),
	E(POLICY_TOO_LARGE, BAD),
	E(POLICY_DENIED, FORBID),
	E(KEY_NAME, BAD),
	E(KEY_NOT_FOUND, NOKEY),
	E(VERSION_NOT_FOUND, NOKEY),
	E(KEY_DISABLED, FORBID),
	E(KEY_NOT_EXPORTABLE, FORBID),
	E(KEY_POLICY_REQUIRED, BAD),
	E(KEY_POLICY_FORBIDDEN, BAD),
	E(KEY_EXPORTABLE_FIXED, BAD),
	E(KEY_POLICY_IMMUTABLE, FORBID),
	E(KEY_CONFLICT, CONFLICT),
	E(KEY_DELETED, CONFLICT),
	E(BACKUP_INVALID, BAD),
	E(NONCE_MISMATCH, FORBID),
	E(NONCE_INVALID, FORBID),
	E(NONCE_EXPIRED, FORBID),
	E(NONCE_REUSED, FORBID),
	E(NONCE_REQUIRED, FORBID),
	E(WRAPKEY_MISSING, BAD),
	E(WRAPKEY_INVALID, BAD),
	E(AUTH_MISSING, UNAUTH),
	E(AUTH_INVALID, UNAUTH),
	E(AUTH_EXPIRED, UNAUTH),
	E(AUTH_REVOKED, UNAUTH),
	E(AUTH_FORBIDDEN, FORBID),
	E(RATE_LIMITED, THROTTLE),
	E(BAD_REQUEST, BAD),
	E(CONTENT_TYPE, 415, "UnsupportedMediaType"),
	E(NOT_FOUND, NOTFOUND),
	E(METHOD, METHOD),
	E(CONFLICT, CONFLICT),
	E(STORE, INTERNAL),
	E(STORE_FULL, FULL),
	E(STORE_SCHEMA, UNAVAIL),
	E(SEALED, UNAVAIL),
	E(CONFIG, INTERNAL),
	E(TRANSPORT, INTERNAL),
	E(TLS, INTERNAL),
	E(RESPONSE, INTERNAL),
	E(RESPONSE_SIGNATURE, INTERNAL),
	E(SERVER, INTERNAL),
	E(MASTER_KEY, UNAVAIL),
	E(AUDIT_BROKEN, INTERNAL),
	/* SEV-SNP evidence: malformed is 400, refused is 403 (docs/snp.md). */
	E(SNP_REPORT, BAD),
	E(SNP_CERT, BAD),
	E(SNP_EVIDENCE, BAD),
	E(SNP_PRODUCT, FORBID),
	E(SNP_SIGNING_KEY, FORBID),
	E(SNP_CHAIN, FORBID),
	E(SNP_EXPIRED, FORBID),
	E(SNP_CHIP_ID, FORBID),
	E(SNP_TCB, FORBID),
	E(SNP_SIGNATURE, FORBID),
	E(SNP_BINDING, FORBID),
	E(SNP_QUOTE, FORBID),
	E(SNP_NONCE, FORBID),
	/* Client-side only: never sent by skrd. */
	E(TPM_UNSUPPORTED, INTERNAL),
	E(TPM_UNAVAILABLE, INTERNAL),
	E(TPM_KEY_MISMATCH, INTERNAL),
	E(TPM_POLICY, INTERNAL),
	/* A VCEK that could not be fetched: the service, not the caller. */
	E(SNP_KDS, UNAVAIL),
	/* The seal (docs/sealing.md): skrd refuses to start on these; a
	 * share is the caller's input. */
	E(SEAL_UNAVAILABLE, UNAVAIL),
	E(SEAL_AUTH, UNAVAIL),
	E(SEAL_KEY, UNAVAIL),
	E(SEAL_POLICY, UNAVAIL),
	E(SEAL_SAME, CONFLICT),
	E(SHARE_MALFORMED, BAD),
	E(SHARE_FOREIGN, BAD),
	E(SHARE_INVALID, BAD),
	E(SHARE_DUPLICATE, CONFLICT),
	E(NOT_SEALED, CONFLICT),
	/* A replicated store without quorum: fail closed, retry elsewhere or
	 * later (docs/availability.md).  A retry that could not be run again
	 * in time is no different to the caller. */
	E(STORE_UNAVAILABLE, UNAVAIL),
	E(STORE_RETRY, UNAVAIL),
};

static int
index_of(int err)
{
	if (err <= SKR__ERR_FIRST || err >= SKR__ERR_LAST)
		return -1;
	return err - SKR__ERR_FIRST;
}

int
skr_err_http_status(int err)
{
	int i = index_of(err);

	if (err == SKR_OK)
		return 200;
	if (i < 0 || table[i].status == 0)
		return 500;
	return table[i].status;
}

const char *
skr_err_kv_code(int err)
{
	int i = index_of(err);

	if (i < 0 || table[i].code == NULL)
		return "InternalServerError";
	return table[i].code;
}

int
skr_http_error_unmapped(void)
{
	int n = 0;

	for (int e = SKR__ERR_FIRST + 1; e < SKR__ERR_LAST; e++)
		if (table[e - SKR__ERR_FIRST].status == 0)
			n++;
	return n;
}
