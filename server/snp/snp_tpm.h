/*
 * TPM 2.0 quotes (docs/snp.md, "Azure vTPM evidence"): the TPMS_ATTEST
 * structure a TPM2_Quote signs (TPM 2.0 Library, Part 2, 10.12), parsed
 * with bounds checks on every field, and the PCR digest it commits to.
 *
 * Pure: bytes in, a struct or SKR_ERR_SNP_EVIDENCE out.
 */
#ifndef SKR_SNP_TPM_H
#define SKR_SNP_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SKR_TPM_GENERATED_VALUE 0xff544347u  /* "\xffTCG" */
#define SKR_TPM_ST_ATTEST_QUOTE 0x8018
#define SKR_TPM_ALG_SHA256 0x000b
#define SKR_TPM_HA_MAX 66            /* sizeof(TPMT_HA) */
#define SKR_TPM_DIGEST_MAX 64        /* sizeof(TPMU_HA) */
#define SKR_TPM_SELECT_MAX 8         /* pcrSelect bytes: 64 PCRs */
#define SKR_TPM_SELECTIONS_MAX 16    /* HASH_COUNT */
#define SKR_TPM_QUOTE_MAX_BYTES 1024

typedef struct skr_snp_tpm_selection {
	uint16_t hash;                   /* TPM_ALG_ID */
	uint8_t size;                    /* sizeofSelect */
	uint8_t select[SKR_TPM_SELECT_MAX];
} skr_snp_tpm_selection;

/* A parsed TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE.  Plain data. */
typedef struct skr_snp_tpm_quote {
	uint8_t signer[SKR_TPM_HA_MAX];  /* qualifiedSigner (a TPM2B_NAME) */
	size_t signer_len;
	uint8_t extra[SKR_TPM_HA_MAX];   /* extraData: the caller's nonce */
	size_t extra_len;
	uint64_t clock;
	uint32_t reset_count, restart_count;
	uint8_t safe;
	uint64_t firmware_version;
	skr_snp_tpm_selection sel[SKR_TPM_SELECTIONS_MAX];
	size_t nsel;
	uint8_t pcr_digest[SKR_TPM_DIGEST_MAX];
	size_t pcr_digest_len;
} skr_snp_tpm_quote;

/*
 * Parse n bytes (at most SKR_TPM_QUOTE_MAX_BYTES) of TPMS_ATTEST into *out
 * (caller's storage).  Refused: a wrong magic or type, any TPM2B or list
 * longer than its TPM type allows or than the input, safe not 0 or 1,
 * sizeofSelect of 0 or over SKR_TPM_SELECT_MAX, bytes after the structure.
 */
int skr_snp_tpm_quote_parse(const uint8_t *p, size_t n,
    skr_snp_tpm_quote *out, skr_buf *why);

/*
 * The selected PCR indices of the quote's single SHA-256 selection, in
 * ascending order, into idx (room for SKR_TPM_SELECT_MAX * 8); their count
 * in *count.  SKR_ERR_SNP_EVIDENCE when the quote selects another bank or
 * more than one.
 */
int skr_snp_tpm_quote_pcrs(const skr_snp_tpm_quote *q, unsigned *idx,
    size_t *count, skr_buf *why);

#endif
