/*
 * AMD SEV-SNP attestation reports (docs/snp.md, "Reports"): the
 * ATTESTATION_REPORT structure of the SEV-SNP firmware ABI, versions 2 to
 * 5, parsed from its 1184 bytes into a plain struct; the TCB_VERSION
 * layouts of each product; the runtime-data binding of report_data; and
 * the claims Microsoft Azure Attestation gives a SevSnpVm.
 *
 * Everything here is pure: bytes in, a struct, a JSON object or an error
 * code out, with a short human reason appended to `why` (may be NULL).
 * Parsing checks layout only; whether the report is genuine is
 * snp_verify.h's job.
 */
#ifndef SKR_SNP_REPORT_H
#define SKR_SNP_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

#define SKR_SNP_REPORT_SIZE 0x4A0   /* 1184 bytes */
#define SKR_SNP_SIGNED_SIZE 0x2A0   /* bytes covered by the signature */
#define SKR_SNP_MIN_VERSION 2
#define SKR_SNP_MAX_VERSION 5

/* Guest policy bits the claims report (ABI spec, "Guest Policy"). */
#define SKR_SNP_POLICY_SMT (UINT64_C(1) << 16)
#define SKR_SNP_POLICY_RESERVED_ONE (UINT64_C(1) << 17)
#define SKR_SNP_POLICY_MIGRATE_MA (UINT64_C(1) << 18)
#define SKR_SNP_POLICY_DEBUG (UINT64_C(1) << 19)

/* The product whose keys sign a report; it fixes the TCB layout and the
 * AMD root. */
typedef enum skr_snp_product {
	SKR_SNP_PRODUCT_UNKNOWN = 0,
	SKR_SNP_PRODUCT_MILAN,
	SKR_SNP_PRODUCT_GENOA,
	SKR_SNP_PRODUCT_TURIN,
} skr_snp_product;

#define SKR_SNP_PRODUCT_COUNT 4

/* The report's SIGNING_KEY field (offset 0x48, bits 4:2). */
typedef enum skr_snp_signer {
	SKR_SNP_SIGNER_VCEK = 0,
	SKR_SNP_SIGNER_VLEK = 1,
	SKR_SNP_SIGNER_NONE = 7,
} skr_snp_signer;

/* A decoded TCB_VERSION.  fmc is 0 for products without one. */
typedef struct skr_snp_tcb {
	uint8_t fmc, bootloader, tee, snp, microcode;
} skr_snp_tcb;

typedef struct skr_snp_fw_version {
	uint8_t major, minor, build;
} skr_snp_fw_version;

/* A parsed report.  Plain data, no pointers: copy it freely.  TCBs are
 * kept raw because their layout depends on the product, which a version 2
 * report does not name (skr_snp_tcb_decode). */
typedef struct skr_snp_report {
	uint32_t version;
	uint32_t guest_svn;
	uint64_t policy;
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t vmpl;
	uint32_t signature_algo;
	uint64_t current_tcb;
	uint64_t platform_info;
	int author_key_en;
	int mask_chip_key;
	skr_snp_signer signer;
	uint8_t report_data[64];
	uint8_t measurement[48];
	uint8_t host_data[32];
	uint8_t id_key_digest[48];
	uint8_t author_key_digest[48];
	uint8_t report_id[32];
	uint8_t report_id_ma[32];
	uint64_t reported_tcb;
	int has_cpuid;                   /* version >= 3 */
	uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step;
	uint8_t chip_id[64];
	uint64_t committed_tcb;
	skr_snp_fw_version current, committed;
	uint64_t launch_tcb;
	int has_mit_vectors;             /* version >= 5 */
	uint64_t launch_mit_vector, current_mit_vector;
	uint8_t sig_r[72], sig_s[72];    /* little-endian, as in the report */
	uint8_t raw[SKR_SNP_REPORT_SIZE];
} skr_snp_report;

/*
 * Parse exactly SKR_SNP_REPORT_SIZE bytes into *out (caller's storage).
 * Refused (SKR_ERR_SNP_REPORT): another size; a version outside 2..5; a
 * signature algorithm other than 1 (ECDSA P-384 with SHA-384); a signing
 * key other than VCEK, VLEK or none; reserved bits of the key field or the
 * word after it set; policy bit 17 clear (the ABI requires it set); a VMPL
 * above 3 (a report the host requested, with no guest data); r or s wider
 * than 48 bytes; non-zero bytes in the unsigned area after r and s (they
 * would let one signed report take many byte forms).
 */
int skr_snp_report_parse(const uint8_t *p, size_t n, skr_snp_report *out,
    skr_buf *why);

/* The product a version >= 3 report names through CPUID family and model;
 * SKR_SNP_PRODUCT_UNKNOWN for version 2 or an unknown processor. */
skr_snp_product skr_snp_report_product(const skr_snp_report *r);

/* Product from CPUID family/model (Milan 19h 00-0Fh, Genoa 19h 10-1Fh and
 * A0-AFh, Turin 1Ah 00-11h). */
skr_snp_product skr_snp_product_from_cpuid(uint8_t family, uint8_t model);

/* "Milan", "Genoa", "Turin" (AMD's spelling in certificates and KDS
 * paths), or "unknown".  Static storage. */
const char *skr_snp_product_name(skr_snp_product p);

/* The product a name starts with, up to an optional "-stepping" suffix
 * ("Milan-B0" is Milan); SKR_SNP_PRODUCT_UNKNOWN otherwise. */
skr_snp_product skr_snp_product_parse(const char *name, size_t n);

/* Decode a raw TCB_VERSION with the product's layout: Milan and Genoa put
 * bootloader, tee at bytes 0-1, snp at 6, microcode at 7; Turin puts fmc,
 * bootloader, tee, snp at bytes 0-3 and microcode at 7. */
void skr_snp_tcb_decode(uint64_t raw, skr_snp_product p, skr_snp_tcb *out);

/*
 * Runtime-data binding (docs/snp.md, "Runtime data"): report_data[0:32]
 * must be SHA-256 of the n bytes at data and report_data[32:64] zero.
 * SKR_ERR_SNP_BINDING otherwise.
 */
int skr_snp_report_bind(const skr_snp_report *r, const uint8_t *data,
    size_t n, skr_buf *why);

/*
 * The claims of a SevSnpVm as Microsoft Azure Attestation names them
 * (docs/snp.md, "Claims"), for a report whose product is p (it decodes the
 * reported TCB).  *out: a new reference.  SKR_ERR_NOMEM.
 */
int skr_snp_report_claims(const skr_snp_report *r, skr_snp_product p,
    json_t **out);

#endif
