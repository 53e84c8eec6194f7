/*
 * The request of Azure Attestation's "Attest SevSnpVm" API as skrd's
 * attestation endpoint takes it (docs/snp.md, "The attestation
 * endpoint"), in the form the confidential-containers SKR sidecar sends:
 *
 *   {"report": b64url(JSON {"SnpReport": b64url(report),
 *                           "VcekCertChain": b64url(PEM VCEK [+ ASK + ARK]),
 *                           "Endorsements": b64url(...)}),
 *    "runtimeData": {"data": b64url(bytes), "dataType": "JSON"|"Binary"},
 *    "initTimeData": {"data": ..., "dataType": ...},
 *    "nonce": N | "text"}
 *
 * base64url may be padded (Go's URLEncoding) or not.  Parsing is pure:
 * bytes in, a struct or a precise refusal out; skr_snp_request_verify then
 * turns a parsed request into claims.
 */
#ifndef SKR_SNP_REQUEST_H
#define SKR_SNP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "snp_trust.h"
#include "snp_verify.h"

/* The largest request body accepted: a report, a chain of three
 * certificates and runtime data fit with room to spare. */
#define SKR_SNP_REQUEST_MAX_BYTES ((size_t)128 * 1024)
/* The longest nonce: a uint64 in decimal, or a string of this many bytes. */
#define SKR_SNP_NONCE_MAX 256

typedef enum skr_snp_data_type {
	SKR_SNP_DATA_NONE = 0,   /* member absent, null, or both fields "" */
	SKR_SNP_DATA_BINARY,
	SKR_SNP_DATA_JSON,
} skr_snp_data_type;

/* A parsed request; every buffer owned (free with skr_snp_request_clear). */
typedef struct skr_snp_request {
	skr_buf report;              /* SnpReport, SKR_SNP_REPORT_SIZE bytes */
	skr_buf cert;                /* the VCEK or VLEK, DER; empty when
	                              * VcekCertChain is absent or "" */
	skr_buf chain;               /* its other certificates as PEM, or
	                              * empty */
	skr_buf runtime;
	skr_snp_data_type runtime_type;
	skr_buf inittime;
	skr_snp_data_type inittime_type;
	int has_nonce;
	char nonce[SKR_SNP_NONCE_MAX + 1]; /* a number's decimal digits as
	                              * sent, or the string */
	int has_endorsements;        /* sent; not verified (docs/snp.md) */
} skr_snp_request;

void skr_snp_request_init(skr_snp_request *r);
void skr_snp_request_clear(skr_snp_request *r);

/*
 * Parse n bytes of request body into *out (initialised here; the caller
 * clears it whatever the result).  Errors, each with a reason naming the
 * member appended to why (may be NULL):
 *   SKR_ERR_TOO_LARGE              over SKR_SNP_REQUEST_MAX_BYTES, or
 *                                  runtime or init-time data over
 *                                  SKR_SNP_RUNTIME_MAX_BYTES
 *   SKR_ERR_JSON, _DUPLICATE, _DEPTH  the body is not strict JSON
 *   SKR_ERR_SNP_EVIDENCE           the body, the decoded report object or
 *                                  a data object is not the shape above: a
 *                                  member missing, of the wrong type,
 *                                  unknown, not base64url; a dataType
 *                                  other than JSON or Binary; a nonce that
 *                                  is negative, fractional, over 2^64 - 1
 *                                  or over SKR_SNP_NONCE_MAX bytes
 *   SKR_ERR_SNP_REPORT             SnpReport not SKR_SNP_REPORT_SIZE bytes
 *   SKR_ERR_SNP_CERT               VcekCertChain not certificates
 *                                  (skr_snp_certs_split)
 */
int skr_snp_request_parse(const char *body, size_t n, skr_snp_request *out,
    skr_buf *why);

/*
 * Split certificate bytes -- one DER certificate, optionally followed by
 * PEM certificates, or PEM certificates only -- into the VCEK or VLEK
 * (the first certificate whose subject CN is "SEV-VCEK" or "SEV-VLEK", or
 * the first certificate when none is) as DER, appended to leaf, and the
 * others as PEM, appended to rest.  At most SKR_SNP_EVIDENCE_MAX_CERTS + 1
 * certificates and SKR_SNP_CHAIN_MAX_BYTES.  SKR_ERR_SNP_CERT when the
 * bytes are not that, SKR_ERR_TOO_LARGE.
 */
int skr_snp_certs_split(const uint8_t *p, size_t n, skr_buf *leaf,
    skr_buf *rest, skr_buf *why);

/*
 * Verify a parsed request against trust t at Unix time now (0: the
 * current time), as skr_snp_verify does with req's report, certificate
 * and chain, and with its runtime data as the runtime data report_data
 * must bind when there is any (declared JSON: emitted as x-ms-runtime).
 * Init-time data, when there is any, must be what HOST_DATA holds the
 * SHA-256 of (SKR_ERR_SNP_BINDING otherwise); declared JSON, it must be
 * a strict JSON object and becomes the x-ms-inittime claim.  A request
 * without a certificate is SKR_ERR_SNP_CERT.  *out: caller frees with
 * skr_snp_verified_free.
 */
int skr_snp_request_verify(const skr_snp_request *req,
    const skr_snp_trust *t, int64_t now, skr_snp_verified **out,
    skr_buf *why);

#endif
