/*
 * AMD Key Distribution Service (docs/snp.md, "Fetching VCEKs"): where the
 * VCEK for a report and the ASK/ARK chain of a product are published, and
 * an on-disk cache of fetched VCEKs.  Fetching is left to the caller (off
 * by default); a cached or fetched certificate is untrusted input like any
 * other, verified by snp_verify.h before use.
 */
#ifndef SKR_SNP_KDS_H
#define SKR_SNP_KDS_H

#include "buf.h"
#include "snp_report.h"

#define SKR_SNP_KDS_URL "https://kdsintf.amd.com"

/*
 * The VCEK URL for report r: {base}/vcek/v1/{Product}/{hwid}?blSPL=..
 * &teeSPL=..&snpSPL=..&ucodeSPL=.. from the REPORTED TCB, with fmcSPL first
 * and only the first 8 bytes of chip_id as hwid for Turin.  base NULL means
 * SKR_SNP_KDS_URL; p UNKNOWN means the product the report's CPUID names.
 * Appended to url.  Errors: SKR_ERR_SNP_PRODUCT (no product: a version 2
 * report needs p), SKR_ERR_UNSUPPORTED (VLEK-signed: KDS does not publish
 * VLEKs by chip; or chip_id masked).
 */
int skr_snp_kds_vcek_url(const skr_snp_report *r, skr_snp_product p,
    const char *base, skr_buf *url, skr_buf *why);

/* {base}/vcek/v1/{Product}/cert_chain (ASK and ARK), or .../vlek/... (ASVK
 * and ARK) when kind is SKR_SNP_SIGNER_VLEK, appended to url. */
int skr_snp_kds_chain_url(skr_snp_product p, skr_snp_signer kind,
    const char *base, skr_buf *url);

/* The cache file name of r's VCEK: "vcek-<Product>-<hwid>-<tcb>.der",
 * hwid and the raw reported TCB in lower-case hex.  Same errors as
 * skr_snp_kds_vcek_url. */
int skr_snp_kds_cache_name(const skr_snp_report *r, skr_snp_product p,
    skr_buf *name, skr_buf *why);

/* Read dir/name (at most SKR_SNP_CERT_MAX_BYTES) into der; *found 0 when
 * the file does not exist.  name must be a plain file name.
 * SKR_ERR_IO, SKR_ERR_TOO_LARGE, SKR_ERR_INVAL. */
int skr_snp_kds_cache_load(const char *dir, const char *name, skr_buf *der,
    int *found);

/* Write der to dir/name atomically (a temporary file renamed into place),
 * mode 0644.  SKR_ERR_IO, SKR_ERR_INVAL. */
int skr_snp_kds_cache_store(const char *dir, const char *name,
    const uint8_t *der, size_t n);

#endif
