/*
 * VCEK and VLEK certificates (docs/snp.md, "Certificates"): the X.509
 * certificate of the key that signs a report, with AMD's extensions
 * (AMD's VCEK/VLEK certificate specification, OIDs under
 * 1.3.6.1.4.1.3704.1): productName (.2), the TCB security patch levels
 * blSPL (.3.1), teeSPL (.3.2), snpSPL (.3.3), ucodeSPL (.3.8), fmcSPL
 * (.3.9, Turin) and, for a VCEK, hwID (.4).
 *
 * Pure: DER in, a struct or an error out.  Checking the certificate against
 * a report is skr_snp_cert_match(); whether AMD issued it is snp_trust.h's
 * job.
 */
#ifndef SKR_SNP_CERT_H
#define SKR_SNP_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "buf.h"
#include "snp_report.h"

#define SKR_SNP_CERT_MAX_BYTES ((size_t)16 * 1024)

/* An SPL extension that is absent reads as -1. */
typedef struct skr_snp_cert {
	X509 *x509;                /* owned */
	skr_snp_signer kind;       /* VCEK or VLEK, from the subject CN */
	char product_name[32];     /* productName, "" when absent */
	skr_snp_product product;   /* from product_name; UNKNOWN when absent */
	int has_hwid;
	uint8_t hwid[64];
	int bl_spl, tee_spl, snp_spl, ucode_spl, fmc_spl;
} skr_snp_cert;

/*
 * Parse a DER certificate of at most SKR_SNP_CERT_MAX_BYTES with nothing
 * after it.  The subject CN must be SEV-VCEK or SEV-VLEK, the key EC P-384.
 * productName must be an IA5String; SPLs DER INTEGERs of 0..255; hwID 64
 * bytes, bare or as an OCTET STRING.  SKR_ERR_SNP_CERT otherwise.
 * *out: caller frees with skr_snp_cert_free.
 */
int skr_snp_cert_parse(const uint8_t *der, size_t n, skr_snp_cert **out,
    skr_buf *why);
void skr_snp_cert_free(skr_snp_cert *c);

/* The report's signing-key field names the certificate's kind: VCEK for a
 * VCEK, VLEK for a VLEK (SKR_ERR_SNP_SIGNING_KEY). */
int skr_snp_cert_signer_check(const skr_snp_cert *c, const skr_snp_report *r,
    skr_buf *why);

/*
 * Does the certificate belong to this report of product p?  The signer
 * check above; a VCEK's hwID equals chip_id (SKR_ERR_SNP_CHIP_ID); every
 * SPL (fmcSPL for Turin only) is present (else SKR_ERR_SNP_CERT) and
 * equals the report's REPORTED TCB, the one the key was derived for
 * (SKR_ERR_SNP_TCB).
 */
int skr_snp_cert_match(const skr_snp_cert *c, const skr_snp_report *r,
    skr_snp_product p, skr_buf *why);

/*
 * The product a report comes from: for version >= 3 its CPUID family and
 * model, which must agree with the certificate's productName when that is
 * present; for version 2 the productName.  SKR_ERR_SNP_PRODUCT when it is
 * unknown or the two disagree.
 */
int skr_snp_cert_product(const skr_snp_cert *c, const skr_snp_report *r,
    skr_snp_product *out, skr_buf *why);

#endif
