/*
 * Verification of raw SEV-SNP evidence (docs/snp.md, "What is verified"):
 * an attestation report and the VCEK or VLEK that signed it become the
 * claims Microsoft Azure Attestation gives a SevSnpVm, or a precise
 * refusal.
 *
 * Checks, in order, each with its own error:
 *   report layout (snp_report.h)                    SKR_ERR_SNP_REPORT
 *   certificate layout (snp_cert.h)                 SKR_ERR_SNP_CERT
 *   report signing-key field names the cert's kind  SKR_ERR_SNP_SIGNING_KEY
 *   product (CPUID, or productName for version 2)   SKR_ERR_SNP_PRODUCT
 *   chain to a trusted ARK (snp_trust.h)            SKR_ERR_SNP_CHAIN
 *   validity of every certificate of it at `now`    SKR_ERR_SNP_EXPIRED
 *   VCEK hwID = chip_id                             SKR_ERR_SNP_CHIP_ID
 *   certificate SPLs = reported TCB                 SKR_ERR_SNP_TCB
 *   ECDSA P-384 signature over bytes 0x000-0x29F    SKR_ERR_SNP_SIGNATURE
 *   runtime data bound by report_data (if given)    SKR_ERR_SNP_BINDING
 *
 * What the measurement, policy or TCB must be is not decided here: that is
 * the release policy's job, over the claims.
 */
#ifndef SKR_SNP_VERIFY_H
#define SKR_SNP_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "buf.h"
#include "snp_report.h"
#include "snp_trust.h"

/* Caps on runtime data emitted as x-ms-runtime and on an evidence chain. */
#define SKR_SNP_RUNTIME_MAX_BYTES ((size_t)64 * 1024)
#define SKR_SNP_CHAIN_MAX_BYTES ((size_t)64 * 1024)

/* The evidence; every pointer borrowed for the call. */
typedef struct skr_snp_evidence {
	const uint8_t *report;   /* SKR_SNP_REPORT_SIZE bytes */
	size_t report_len;
	const uint8_t *cert;     /* the VCEK or VLEK, DER */
	size_t cert_len;
	const char *chain_pem;   /* ASK/ASVK (and ARK) sent with it, or NULL */
	size_t chain_len;
} skr_snp_evidence;

typedef struct skr_snp_opts {
	int64_t now;                 /* Unix seconds; 0: the current time */
	/* When not NULL, report_data must bind these bytes
	 * (skr_snp_report_bind). */
	const uint8_t *runtime_data;
	size_t runtime_len;
	/* The runtime data is a JSON object (strict JSON), emitted as the
	 * x-ms-runtime claim as Azure Attestation does for runtime data of
	 * type JSON; SKR_ERR_SNP_EVIDENCE when it is not one. */
	int runtime_json;
} skr_snp_opts;

#define SKR_SNP_OPTS_INIT { 0, NULL, 0, 0 }

/* A verification's result; every member owned. */
typedef struct skr_snp_verified {
	skr_snp_report report;
	skr_snp_product product;
	skr_snp_tcb reported_tcb;
	json_t *claims;
} skr_snp_verified;

/* Verify ev against trust t (see above).  opts may be NULL (defaults).
 * *out: caller frees with skr_snp_verified_free.  Errors: those above,
 * SKR_ERR_TOO_LARGE (runtime data or chain over its cap), SKR_ERR_NOMEM,
 * SKR_ERR_CRYPTO, SKR_ERR_INVAL. */
int skr_snp_verify(const skr_snp_evidence *ev, const skr_snp_trust *t,
    const skr_snp_opts *opts, skr_snp_verified **out, skr_buf *why);
void skr_snp_verified_free(skr_snp_verified *v);

/* The report's ECDSA P-384 / SHA-384 signature under key (an EC P-384
 * public key).  SKR_ERR_SNP_SIGNATURE when it does not verify. */
int skr_snp_report_verify_signature(const skr_snp_report *r, EVP_PKEY *key,
    skr_buf *why);

#endif
