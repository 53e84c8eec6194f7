/*
 * Azure confidential VM evidence without Azure Attestation (docs/snp.md,
 * "Azure vTPM evidence"): what a CVM guest's paravisor (the HCL) and vTPM
 * produce, as Trustee's az-snp-vtpm attester sends it:
 *
 *   {"version": 1 | 2,
 *    "tpm_quote": {"signature": hex, "message": hex, "pcrs": [hex, ...]},
 *    "hcl_report": base64url, "vcek": base64url DER}
 *
 * The HCL report holds the SNP report and the runtime JSON whose SHA-256
 * it binds in report_data; the runtime JSON holds HCLAkPub, the vTPM
 * attestation key that signs the quote; the quote carries the verifier's
 * nonce and the digest of the PCRs.  All of it is verified together.
 */
#ifndef SKR_SNP_AZURE_H
#define SKR_SNP_AZURE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "snp_trust.h"
#include "snp_verify.h"

#define SKR_SNP_AZURE_MAX_BYTES ((size_t)64 * 1024)
#define SKR_SNP_HCL_HEADER_SIZE 0x20
#define SKR_SNP_HCL_REQUEST_OFFSET 0x4C0   /* after the SNP report */
#define SKR_SNP_HCL_RUNTIME_OFFSET 0x4D4   /* after the request block */
#define SKR_SNP_HCL_REPORT_TYPE_SNP 2
#define SKR_SNP_HCL_HASH_SHA256 1

/* A parsed HCL report.  report and runtime point into the parsed bytes
 * (borrowed, valid while they are). */
typedef struct skr_snp_hcl {
	uint32_t version;
	uint32_t report_size;
	uint32_t request_type;
	const uint8_t *report;        /* SKR_SNP_REPORT_SIZE bytes */
	uint32_t data_size;
	uint32_t data_version;
	uint32_t report_type;
	uint32_t hash_type;
	const uint8_t *runtime;       /* the runtime JSON text */
	size_t runtime_len;
} skr_snp_hcl;

/*
 * Parse an HCL report: the 32-byte header ("HCLA", version, report size,
 * request type, status 0), the SNP report at 0x20, the request-data block
 * at 0x4C0 (data size, version, report type, hash type, variable-data
 * size, little-endian u32) and the runtime JSON at 0x4D4.  Refused
 * (SKR_ERR_SNP_EVIDENCE): another signature, a non-zero status, a report
 * type other than SNP, a hash type other than SHA-256, sizes that
 * disagree with each other or run past n.  Bytes after report_size are
 * padding and ignored.
 */
int skr_snp_hcl_parse(const uint8_t *p, size_t n, skr_snp_hcl *out,
    skr_buf *why);

typedef struct skr_snp_azure_opts {
	int64_t now;             /* Unix seconds; 0: the current time */
	const uint8_t *nonce;    /* the quote's extraData must equal it */
	size_t nonce_len;
	/* Offline inspection only: accept any nonce (nonce must be NULL). A
	 * server always passes the nonce it issued. */
	int skip_nonce;
} skr_snp_azure_opts;

#define SKR_SNP_AZURE_OPTS_INIT { 0, NULL, 0, 0 }

/*
 * Verify n bytes of Azure vTPM evidence JSON against trust t:
 *   strict JSON, known members only, version 1 or 2     SKR_ERR_SNP_EVIDENCE
 *   HCL report (skr_snp_hcl_parse)                      SKR_ERR_SNP_EVIDENCE
 *   SNP report + VCEK as skr_snp_verify does, with the
 *     runtime JSON as runtime data                      SKR_ERR_SNP_*
 *   the report requested at VMPL 0 (by the HCL)         SKR_ERR_SNP_BINDING
 *   runtime JSON an object with an RSA HCLAkPub         SKR_ERR_SNP_EVIDENCE
 *   quote parse (snp_tpm.h), SHA-256 bank only          SKR_ERR_SNP_EVIDENCE
 *   quote signature: RSASSA-PKCS1-v1_5 SHA-256 under
 *     HCLAkPub                                          SKR_ERR_SNP_QUOTE
 *   extraData = the nonce; for version 2 also the
 *     start of the runtime JSON's hex "user-data"       SKR_ERR_SNP_NONCE
 *   SHA-256 over the listed PCRs = the quote's digest   SKR_ERR_SNP_QUOTE
 * On success *out's claims are Azure Attestation's azurevm shape
 * (docs/snp.md, "Claims"); *out: caller frees with skr_snp_verified_free.
 * opts may not be NULL (a nonce is required unless skip_nonce).
 */
int skr_snp_azure_verify(const char *json, size_t n, const skr_snp_trust *t,
    const skr_snp_azure_opts *opts, skr_snp_verified **out, skr_buf *why);

#endif
