/*
 * Synthetic SEV-SNP evidence for the unit tests, made at test time: an
 * ARK/ASK/ASVK hierarchy of fresh RSA keys signing RSA-PSS SHA-384 like
 * AMD's, VCEKs and VLEKs with AMD's extensions, and attestation reports
 * signed with their own P-384 keys.  Nothing here is AMD's; the real
 * thing is in the conformance tests.
 */
#ifndef SKR_TESTS_SNP_FIXTURE_H
#define SKR_TESTS_SNP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "snp_report.h"

#define FX_NOW INT64_C(1750000000) /* 2025-06-15, inside every validity */
#define FX_DAY INT64_C(86400)

/* Offsets the tests poke (SEV-SNP firmware ABI). */
#define FX_OFF_POLICY 0x008
#define FX_OFF_VMPL 0x030
#define FX_OFF_SIG_ALGO 0x034
#define FX_OFF_KEY_INFO 0x048
#define FX_OFF_REPORT_DATA 0x050
#define FX_OFF_MEASUREMENT 0x090
#define FX_OFF_REPORTED_TCB 0x180
#define FX_OFF_CPUID 0x188
#define FX_OFF_CHIP_ID 0x1A0
#define FX_OFF_SIG 0x2A0

/* A certificate to make.  Zero fields take defaults. */
typedef struct fx_cert_opts {
	const char *cn;
	int64_t not_before, not_after;   /* 0: FX_NOW -/+ 365 days */
	int salt;                        /* PSS salt; 0: 48 */
	const EVP_MD *md;                /* NULL: SHA-384 */
	/* VCEK/VLEK extensions. */
	const char *product_name;        /* NULL: none */
	int bl, tee, snp, ucode, fmc;    /* -1: none */
	const uint8_t *hwid;             /* NULL: none */
	int hwid_wrapped;                /* as an OCTET STRING */
} fx_cert_opts;

/* opts with no extensions and default validity. */
void fx_cert_opts_init(fx_cert_opts *o, const char *cn);

/* One product's AMD-like hierarchy. */
typedef struct fx_amd {
	skr_snp_product product;
	EVP_PKEY *ark_key, *ask_key, *asvk_key;
	X509 *ark, *ask, *asvk;
} fx_amd;

EVP_PKEY *fx_rsa(void);
EVP_PKEY *fx_p384(void);

/* A certificate for key, issued by issuer (NULL: self-signed) with
 * issuer_key.  Caller frees. */
X509 *fx_cert(const fx_cert_opts *o, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key);

/* ARK-<P>, SEV-<P> and SEV-VLEK-<P> of fresh keys. */
void fx_amd_make(fx_amd *a, skr_snp_product p);
void fx_amd_free(fx_amd *a);

/* ARK, ASK and ASVK as a PEM bundle appended to out. */
void fx_amd_pem(const fx_amd *a, skr_buf *out);
/* One certificate as PEM / DER appended to out. */
void fx_pem(X509 *x, skr_buf *out);
void fx_der(X509 *x, skr_buf *out);

/* The raw TCB_VERSION of product p. */
uint64_t fx_tcb(skr_snp_product p, int fmc, int bl, int tee, int snp,
    int ucode);

/* A well-formed unsigned report: version v, CPUID of product p (version
 * >= 3), policy 0x30000, VCEK signer, vmpl 0, reported TCB 3/0/8/115
 * (fmc 1 on Turin), chip_id 0x01..0x40 (Turin: 8 bytes then zeros),
 * measurement and report_data patterns. */
void fx_report(uint8_t rep[SKR_SNP_REPORT_SIZE], uint32_t v,
    skr_snp_product p);
void fx_put32(uint8_t *rep, size_t off, uint32_t v);
void fx_put64(uint8_t *rep, size_t off, uint64_t v);
/* Sign bytes 0x000-0x29F with key, writing r and s little-endian. */
void fx_sign(uint8_t rep[SKR_SNP_REPORT_SIZE], EVP_PKEY *key);

/* The VCEK (or VLEK when vlek) options matching fx_report(rep). */
void fx_vek_opts(fx_cert_opts *o, const uint8_t *rep, skr_snp_product p,
    int vlek);

/* Read a whole file into out; 0 when it cannot be read. */
int fx_slurp(const char *path, skr_buf *out);

#endif
