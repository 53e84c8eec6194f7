/*
 * SEV-SNP report parsing, TCB layouts, products, runtime-data binding and
 * claims (server/snp/snp_report.[ch]), and the TPMS_ATTEST and HCL
 * parsers (snp_tpm.[ch], snp_azure.[ch]), on reports built here.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "check.h"
#include "encoding.h"
#include "snp_azure.h"
#include "snp_fixture.h"
#include "snp_report.h"
#include "snp_tpm.h"

static int
parse(const uint8_t *rep, size_t n, skr_snp_report *r, const char *want)
{
	skr_buf why = SKR_BUF_INIT;
	int ret = skr_snp_report_parse(rep, n, r, &why);

	if (want != NULL && strstr(skr_buf_cstr(&why), want) == NULL) {
		fprintf(stderr, "  reason \"%s\" lacks \"%s\"\n",
		    skr_buf_cstr(&why), want);
		CHECK(0);
	}
	skr_buf_free(&why);
	return ret;
}

static void
test_versions(void)
{
	static const skr_snp_product products[] = { SKR_SNP_PRODUCT_MILAN,
	    SKR_SNP_PRODUCT_GENOA, SKR_SNP_PRODUCT_TURIN };
	uint8_t rep[SKR_SNP_REPORT_SIZE];
	skr_snp_report r;

	for (uint32_t v = 2; v <= 5; v++) {
		for (size_t i = 0; i < 3; i++) {
			fx_report(rep, v, products[i]);
			CHECK_OK(parse(rep, sizeof(rep), &r, NULL));
			CHECK(r.version == v);
			CHECK(r.guest_svn == 7);
			CHECK(r.policy == 0x30000);
			CHECK(r.vmpl == 0);
			CHECK(r.signer == SKR_SNP_SIGNER_VCEK);
			CHECK(r.has_cpuid == (v >= 3));
			CHECK(r.has_mit_vectors == (v >= 5));
			CHECK(!r.has_mit_vectors || (r.launch_mit_vector ==
			    0x11 && r.current_mit_vector == 0x13));
			CHECK(skr_snp_report_product(&r) == (v >= 3 ?
			    products[i] : SKR_SNP_PRODUCT_UNKNOWN));
			CHECK(r.current.major == 1 && r.current.minor == 55 &&
			    r.current.build == 4);
			CHECK(r.family_id[0] == 0xA0 && r.image_id[15] == 0xBF);
			CHECK(r.measurement[0] == 0x5A);
			CHECK(r.chip_id[0] == 1);
			CHECK(memcmp(r.raw, rep, sizeof(rep)) == 0);
		}
	}
	fx_report(rep, 3, SKR_SNP_PRODUCT_MILAN);
	for (uint32_t v = 0; v < 8; v++) {
		if (v >= 2 && v <= 5)
			continue;
		fx_put32(rep, 0, v);
		CHECK_ERR(parse(rep, sizeof(rep), &r, "version"),
		    SKR_ERR_SNP_REPORT);
	}
	fx_put32(rep, 0, 0x7fffffff);
	CHECK_ERR(parse(rep, sizeof(rep), &r, "version"), SKR_ERR_SNP_REPORT);
}

static void
test_malformed(void)
{
	uint8_t rep[SKR_SNP_REPORT_SIZE + 1];
	skr_snp_report r;

	fx_report(rep, 2, SKR_SNP_PRODUCT_MILAN);
	rep[SKR_SNP_REPORT_SIZE] = 0;
	CHECK_ERR(parse(rep, SKR_SNP_REPORT_SIZE - 1, &r, "1183 bytes"),
	    SKR_ERR_SNP_REPORT);
	CHECK_ERR(parse(rep, SKR_SNP_REPORT_SIZE + 1, &r, "1185 bytes"),
	    SKR_ERR_SNP_REPORT);
	CHECK_ERR(parse(rep, 0, &r, "0 bytes"), SKR_ERR_SNP_REPORT);
	CHECK_ERR(parse(rep, 0x2A0, &r, "672 bytes"), SKR_ERR_SNP_REPORT);

	/* Signature algorithm: only 1. */
	for (uint32_t a = 0; a < 4; a++) {
		fx_put32(rep, FX_OFF_SIG_ALGO, a);
		CHECK_ERR(parse(rep, SKR_SNP_REPORT_SIZE, &r, a == 1 ? NULL :
		    "signature algorithm"), a == 1 ? SKR_OK :
		    SKR_ERR_SNP_REPORT);
	}
	fx_put32(rep, FX_OFF_SIG_ALGO, 1);
	/* Signing key: 0, 1 and 7; 2-6 unknown. */
	for (uint32_t k = 0; k < 8; k++) {
		int ok = k == 0 || k == 1 || k == 7;

		fx_put32(rep, FX_OFF_KEY_INFO, k << 2 | 3);
		CHECK_ERR(parse(rep, SKR_SNP_REPORT_SIZE, &r, ok ? NULL :
		    "signing key"), ok ? SKR_OK : SKR_ERR_SNP_REPORT);
		if (ok)
			CHECK(r.signer == (skr_snp_signer)k &&
			    r.author_key_en && r.mask_chip_key);
	}
	/* Reserved bits of the key field and the word after it. */
	fx_put32(rep, FX_OFF_KEY_INFO, 1u << 5);
	CHECK_ERR(parse(rep, SKR_SNP_REPORT_SIZE, &r, "reserved"),
	    SKR_ERR_SNP_REPORT);
	fx_put32(rep, FX_OFF_KEY_INFO, 0x80000000u);
	CHECK_ERR(parse(rep, SKR_SNP_REPORT_SIZE, &r, "reserved"),
	    SKR_ERR_SNP_REPORT);
	fx_put32(rep, FX_OFF_KEY_INFO, 0);
	fx_put32(rep, FX_OFF_KEY_INFO + 4, 1);
	CHECK_ERR(parse(rep, SKR_SNP_REPORT_SIZE, &r, "reserved"),
	    SKR_ERR_SNP_REPORT);
	fx_put32(rep, FX_OFF_KEY_INFO + 4, 0);
	/* Policy bit 17 must be one. */
	fx_put64(rep, FX_OFF_POLICY, 0x10000);
	CHECK_ERR(parse(rep, SKR_SNP_REPORT_SIZE, &r, "bit 17"),
	    SKR_ERR_SNP_REPORT);
	fx_put64(rep, FX_OFF_POLICY, 0xb0000);
	CHECK_OK(parse(rep, SKR_SNP_REPORT_SIZE, &r, NULL));
	/* VMPL 0-3; 0xffffffff is a host-requested report. */
	for (uint32_t v = 0; v < 5; v++) {
		fx_put32(rep, FX_OFF_VMPL, v);
		CHECK_ERR(parse(rep, SKR_SNP_REPORT_SIZE, &r, v <= 3 ? NULL :
		    "vmpl"), v <= 3 ? SKR_OK : SKR_ERR_SNP_REPORT);
	}
	fx_put32(rep, FX_OFF_VMPL, 0xffffffffu);
	CHECK_ERR(parse(rep, SKR_SNP_REPORT_SIZE, &r, "host-requested"),
	    SKR_ERR_SNP_REPORT);
	fx_put32(rep, FX_OFF_VMPL, 0);
	/* r and s past 48 bytes, and the unsigned tail. */
	rep[FX_OFF_SIG + 48] = 1;
	CHECK_ERR(parse(rep, SKR_SNP_REPORT_SIZE, &r, "wider"),
	    SKR_ERR_SNP_REPORT);
	rep[FX_OFF_SIG + 48] = 0;
	rep[FX_OFF_SIG + 72 + 71] = 1;
	CHECK_ERR(parse(rep, SKR_SNP_REPORT_SIZE, &r, "wider"),
	    SKR_ERR_SNP_REPORT);
	rep[FX_OFF_SIG + 72 + 71] = 0;
	rep[SKR_SNP_REPORT_SIZE - 1] = 1;
	CHECK_ERR(parse(rep, SKR_SNP_REPORT_SIZE, &r, "unsigned bytes"),
	    SKR_ERR_SNP_REPORT);
	rep[SKR_SNP_REPORT_SIZE - 1] = 0;
	CHECK_OK(parse(rep, SKR_SNP_REPORT_SIZE, &r, NULL));
}

static void
test_tcb_and_products(void)
{
	skr_snp_tcb t;
	uint64_t raw = 0x7300000000000803ull;

	skr_snp_tcb_decode(raw, SKR_SNP_PRODUCT_MILAN, &t);
	CHECK(t.bootloader == 3 && t.tee == 8 && t.snp == 0 &&
	    t.microcode == 0x73 && t.fmc == 0);
	raw = fx_tcb(SKR_SNP_PRODUCT_GENOA, 0, 9, 1, 22, 84);
	skr_snp_tcb_decode(raw, SKR_SNP_PRODUCT_GENOA, &t);
	CHECK(t.bootloader == 9 && t.tee == 1 && t.snp == 22 &&
	    t.microcode == 84 && t.fmc == 0);
	raw = fx_tcb(SKR_SNP_PRODUCT_TURIN, 2, 9, 1, 22, 84);
	CHECK(raw == 0x5400000016010902ull);
	skr_snp_tcb_decode(raw, SKR_SNP_PRODUCT_TURIN, &t);
	CHECK(t.fmc == 2 && t.bootloader == 9 && t.tee == 1 && t.snp == 22 &&
	    t.microcode == 84);

	CHECK(skr_snp_product_from_cpuid(0x19, 0x00) == SKR_SNP_PRODUCT_MILAN);
	CHECK(skr_snp_product_from_cpuid(0x19, 0x0F) == SKR_SNP_PRODUCT_MILAN);
	CHECK(skr_snp_product_from_cpuid(0x19, 0x10) == SKR_SNP_PRODUCT_GENOA);
	CHECK(skr_snp_product_from_cpuid(0x19, 0xA0) == SKR_SNP_PRODUCT_GENOA);
	CHECK(skr_snp_product_from_cpuid(0x19, 0xAF) == SKR_SNP_PRODUCT_GENOA);
	CHECK(skr_snp_product_from_cpuid(0x19, 0x20) ==
	    SKR_SNP_PRODUCT_UNKNOWN);
	CHECK(skr_snp_product_from_cpuid(0x1A, 0x11) == SKR_SNP_PRODUCT_TURIN);
	CHECK(skr_snp_product_from_cpuid(0x1A, 0x12) ==
	    SKR_SNP_PRODUCT_UNKNOWN);
	CHECK(skr_snp_product_from_cpuid(0x17, 0x01) ==
	    SKR_SNP_PRODUCT_UNKNOWN);
	CHECK(skr_snp_product_parse("Milan-B0", 8) == SKR_SNP_PRODUCT_MILAN);
	CHECK(skr_snp_product_parse("Genoa", 5) == SKR_SNP_PRODUCT_GENOA);
	CHECK(skr_snp_product_parse("Turin-C1", 8) == SKR_SNP_PRODUCT_TURIN);
	CHECK(skr_snp_product_parse("Mila", 4) == SKR_SNP_PRODUCT_UNKNOWN);
	CHECK(skr_snp_product_parse("Milano", 6) == SKR_SNP_PRODUCT_UNKNOWN);
	CHECK(skr_snp_product_parse("", 0) == SKR_SNP_PRODUCT_UNKNOWN);
	CHECK_STR(skr_snp_product_name(SKR_SNP_PRODUCT_TURIN), "Turin");
	CHECK_STR(skr_snp_product_name((skr_snp_product)42), "unknown");
}

static void
test_binding(void)
{
	static const char data[] = "{\"keys\":[]}";
	uint8_t rep[SKR_SNP_REPORT_SIZE];
	skr_snp_report r;
	skr_buf why = SKR_BUF_INIT;

	fx_report(rep, 2, SKR_SNP_PRODUCT_MILAN);
	memset(rep + FX_OFF_REPORT_DATA, 0, 64);
	SHA256((const uint8_t *)data, strlen(data), rep + FX_OFF_REPORT_DATA);
	CHECK_OK(parse(rep, sizeof(rep), &r, NULL));
	CHECK_OK(skr_snp_report_bind(&r, (const uint8_t *)data, strlen(data),
	    &why));
	CHECK_ERR(skr_snp_report_bind(&r, (const uint8_t *)data,
	    strlen(data) - 1, &why), SKR_ERR_SNP_BINDING);
	CHECK(strstr(skr_buf_cstr(&why), "SHA-256") != NULL);
	CHECK_ERR(skr_snp_report_bind(&r, NULL, 0, NULL), SKR_ERR_SNP_BINDING);
	r.report_data[63] = 1;
	skr_buf_reset(&why);
	CHECK_ERR(skr_snp_report_bind(&r, (const uint8_t *)data, strlen(data),
	    &why), SKR_ERR_SNP_BINDING);
	CHECK(strstr(skr_buf_cstr(&why), "[32:64]") != NULL);
	/* The SHA-256 of nothing binds the empty runtime data. */
	memset(rep + FX_OFF_REPORT_DATA, 0, 64);
	SHA256((const uint8_t *)"", 0, rep + FX_OFF_REPORT_DATA);
	CHECK_OK(parse(rep, sizeof(rep), &r, NULL));
	CHECK_OK(skr_snp_report_bind(&r, NULL, 0, NULL));
	skr_buf_free(&why);
}

static void
test_claims(void)
{
	uint8_t rep[SKR_SNP_REPORT_SIZE];
	skr_snp_report r;
	json_t *c = NULL;
	char hex[129];

	fx_report(rep, 3, SKR_SNP_PRODUCT_GENOA);
	fx_put64(rep, FX_OFF_POLICY, 0x3001f | (1u << 19) | (1u << 18));
	fx_put32(rep, FX_OFF_VMPL, 2);
	CHECK_OK(parse(rep, sizeof(rep), &r, NULL));
	CHECK_OK(skr_snp_report_claims(&r, SKR_SNP_PRODUCT_GENOA, &c));
	CHECK_STR(json_string_value(json_object_get(c,
	    "x-ms-attestation-type")), "sevsnpvm");
	CHECK(json_is_true(json_object_get(c, "x-ms-sevsnpvm-is-debuggable")));
	CHECK(json_is_true(json_object_get(c,
	    "x-ms-sevsnpvm-migration-allowed")));
	CHECK(json_is_true(json_object_get(c, "x-ms-sevsnpvm-smt-allowed")));
	CHECK(json_integer_value(json_object_get(c, "x-ms-sevsnpvm-vmpl")) ==
	    2);
	CHECK(json_integer_value(json_object_get(c,
	    "x-ms-sevsnpvm-guestsvn")) == 7);
	CHECK(json_integer_value(json_object_get(c,
	    "x-ms-sevsnpvm-bootloader-svn")) == 3);
	CHECK(json_integer_value(json_object_get(c,
	    "x-ms-sevsnpvm-tee-svn")) == 0);
	CHECK(json_integer_value(json_object_get(c,
	    "x-ms-sevsnpvm-snpfw-svn")) == 8);
	CHECK(json_integer_value(json_object_get(c,
	    "x-ms-sevsnpvm-microcode-svn")) == 115);
	CHECK(json_object_get(c, "x-ms-sevsnpvm-fmc-svn") == NULL);
	CHECK_STR(json_string_value(json_object_get(c,
	    "x-ms-sevsnpvm-familyId")), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	CHECK_STR(json_string_value(json_object_get(c,
	    "x-ms-sevsnpvm-imageId")), "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
	skr_hex_text(hex, rep + FX_OFF_MEASUREMENT, 48);
	CHECK_STR(json_string_value(json_object_get(c,
	    "x-ms-sevsnpvm-launchmeasurement")), hex);
	skr_hex_text(hex, rep + FX_OFF_REPORT_DATA, 64);
	CHECK_STR(json_string_value(json_object_get(c,
	    "x-ms-sevsnpvm-reportdata")), hex);
	skr_hex_text(hex, rep + FX_OFF_CHIP_ID, 64);
	CHECK_STR(json_string_value(json_object_get(c,
	    "x-ms-sevsnpvm-chipid")), hex);
	CHECK(strlen(json_string_value(json_object_get(c,
	    "x-ms-sevsnpvm-hostdata"))) == 64);
	CHECK(strlen(json_string_value(json_object_get(c,
	    "x-ms-sevsnpvm-idkeydigest"))) == 96);
	CHECK(strlen(json_string_value(json_object_get(c,
	    "x-ms-sevsnpvm-authorkeydigest"))) == 96);
	CHECK(strlen(json_string_value(json_object_get(c,
	    "x-ms-sevsnpvm-reportid"))) == 64);
	CHECK(json_object_size(c) == 19);
	json_decref(c);

	/* Turin: its own TCB layout and an fmc SVN. */
	fx_report(rep, 3, SKR_SNP_PRODUCT_TURIN);
	fx_put64(rep, FX_OFF_REPORTED_TCB, fx_tcb(SKR_SNP_PRODUCT_TURIN, 5, 6,
	    7, 9, 200));
	CHECK_OK(parse(rep, sizeof(rep), &r, NULL));
	CHECK_OK(skr_snp_report_claims(&r, SKR_SNP_PRODUCT_TURIN, &c));
	CHECK(json_integer_value(json_object_get(c,
	    "x-ms-sevsnpvm-fmc-svn")) == 5);
	CHECK(json_integer_value(json_object_get(c,
	    "x-ms-sevsnpvm-bootloader-svn")) == 6);
	CHECK(json_integer_value(json_object_get(c,
	    "x-ms-sevsnpvm-tee-svn")) == 7);
	CHECK(json_integer_value(json_object_get(c,
	    "x-ms-sevsnpvm-snpfw-svn")) == 9);
	CHECK(json_integer_value(json_object_get(c,
	    "x-ms-sevsnpvm-microcode-svn")) == 200);
	CHECK(json_is_false(json_object_get(c,
	    "x-ms-sevsnpvm-is-debuggable")));
	json_decref(c);
}

/* A TPMS_ATTEST quote: magic, type, signer, extraData, clockInfo,
 * firmwareVersion, one selection, pcrDigest. */
static size_t
quote(uint8_t *q, const uint8_t *nonce, size_t nlen, const uint8_t *sel,
    size_t selsize, uint16_t hash)
{
	size_t o = 0;

#define BE(v, n) do { for (int i_ = (n) - 1; i_ >= 0; i_--) \
	q[o++] = (uint8_t)((uint64_t)(v) >> (8 * i_)); } while (0)
	BE(0xff544347u, 4);
	BE(0x8018, 2);
	BE(34, 2);
	BE(0x000b, 2);
	memset(q + o, 0x77, 32);
	o += 32;
	BE(nlen, 2);
	memcpy(q + o, nonce, nlen);
	o += nlen;
	BE(0x1122334455667788ull, 8);
	BE(5, 4);
	BE(6, 4);
	BE(1, 1);
	BE(0x2020031200120003ull, 8);
	BE(1, 4);
	BE(hash, 2);
	BE(selsize, 1);
	memcpy(q + o, sel, selsize);
	o += selsize;
	BE(32, 2);
	memset(q + o, 0x99, 32);
	o += 32;
#undef BE
	return o;
}

static void
test_tpm_quote(void)
{
	static const uint8_t all[] = { 0xff, 0xff, 0xff };
	static const uint8_t some[] = { 0x81, 0x00, 0x01 };
	uint8_t q[512];
	unsigned idx[64];
	skr_snp_tpm_quote t;
	skr_buf why = SKR_BUF_INIT;
	size_t n, count;

	n = quote(q, (const uint8_t *)"challenge", 9, all, 3, 0x000b);
	CHECK_OK(skr_snp_tpm_quote_parse(q, n, &t, &why));
	CHECK(t.extra_len == 9 && memcmp(t.extra, "challenge", 9) == 0);
	CHECK(t.signer_len == 34 && t.clock == 0x1122334455667788ull);
	CHECK(t.reset_count == 5 && t.restart_count == 6 && t.safe == 1);
	CHECK(t.nsel == 1 && t.sel[0].hash == 0x000b && t.sel[0].size == 3);
	CHECK(t.pcr_digest_len == 32 && t.pcr_digest[0] == 0x99);
	CHECK_OK(skr_snp_tpm_quote_pcrs(&t, idx, &count, &why));
	CHECK(count == 24 && idx[0] == 0 && idx[23] == 23);

	n = quote(q, (const uint8_t *)"x", 1, some, 3, 0x000b);
	CHECK_OK(skr_snp_tpm_quote_parse(q, n, &t, &why));
	CHECK_OK(skr_snp_tpm_quote_pcrs(&t, idx, &count, &why));
	CHECK(count == 3 && idx[0] == 0 && idx[1] == 7 && idx[2] == 16);

	/* A SHA-1 bank is parsed but not accepted for PCR values. */
	n = quote(q, (const uint8_t *)"x", 1, all, 3, 0x0004);
	CHECK_OK(skr_snp_tpm_quote_parse(q, n, &t, &why));
	CHECK_ERR(skr_snp_tpm_quote_pcrs(&t, idx, &count, &why),
	    SKR_ERR_SNP_EVIDENCE);

	/* Every truncation is refused, as are trailing bytes. */
	n = quote(q, (const uint8_t *)"challenge", 9, all, 3, 0x000b);
	for (size_t k = 0; k < n; k++)
		CHECK_ERR(skr_snp_tpm_quote_parse(q, k, &t, NULL),
		    SKR_ERR_SNP_EVIDENCE);
	CHECK_ERR(skr_snp_tpm_quote_parse(q, n + 1, &t, NULL),
	    SKR_ERR_SNP_EVIDENCE);
	/* Magic, type, safe, sizes. */
	q[0] = 0;
	skr_buf_reset(&why);
	CHECK_ERR(skr_snp_tpm_quote_parse(q, n, &t, &why),
	    SKR_ERR_SNP_EVIDENCE);
	CHECK(strstr(skr_buf_cstr(&why), "magic") != NULL);
	q[0] = 0xff;
	q[5] = 0x17;
	CHECK_ERR(skr_snp_tpm_quote_parse(q, n, &t, NULL),
	    SKR_ERR_SNP_EVIDENCE);
	q[5] = 0x18;
	q[6] = 0xff;            /* signer size 0xff22 */
	CHECK_ERR(skr_snp_tpm_quote_parse(q, n, &t, NULL),
	    SKR_ERR_SNP_EVIDENCE);
	q[6] = 0;
	q[7] = 67;              /* over TPMT_HA */
	CHECK_ERR(skr_snp_tpm_quote_parse(q, n, &t, NULL),
	    SKR_ERR_SNP_EVIDENCE);
	q[7] = 34;
	q[6 + 2 + 34 + 2 + 9 + 16] = 2;     /* safe */
	CHECK_ERR(skr_snp_tpm_quote_parse(q, n, &t, NULL),
	    SKR_ERR_SNP_EVIDENCE);
	q[6 + 2 + 34 + 2 + 9 + 16] = 1;
	CHECK_OK(skr_snp_tpm_quote_parse(q, n, &t, NULL));
	/* count of selections: 17 is over HASH_COUNT */
	q[6 + 2 + 34 + 2 + 9 + 17 + 8 + 3] = 17;
	CHECK_ERR(skr_snp_tpm_quote_parse(q, n, &t, NULL),
	    SKR_ERR_SNP_EVIDENCE);
	q[6 + 2 + 34 + 2 + 9 + 17 + 8 + 3] = 1;
	q[6 + 2 + 34 + 2 + 9 + 17 + 8 + 4 + 2] = 0;    /* sizeofSelect */
	CHECK_ERR(skr_snp_tpm_quote_parse(q, n, &t, NULL),
	    SKR_ERR_SNP_EVIDENCE);
	q[6 + 2 + 34 + 2 + 9 + 17 + 8 + 4 + 2] = 9;
	CHECK_ERR(skr_snp_tpm_quote_parse(q, n, &t, NULL),
	    SKR_ERR_SNP_EVIDENCE);
	q[6 + 2 + 34 + 2 + 9 + 17 + 8 + 4 + 2] = 3;
	CHECK_OK(skr_snp_tpm_quote_parse(q, n, &t, NULL));
	CHECK_ERR(skr_snp_tpm_quote_parse(q, SKR_TPM_QUOTE_MAX_BYTES + 1, &t,
	    NULL), SKR_ERR_SNP_EVIDENCE);
	skr_buf_free(&why);
}

/* An HCL report around rep with runtime text rt. */
static size_t
hcl(uint8_t *out, const uint8_t *rep, const char *rt, size_t pad)
{
	size_t n = strlen(rt);

	memset(out, 0, SKR_SNP_HCL_RUNTIME_OFFSET + n + pad);
	memcpy(out, "HCLA", 4);
	fx_put32(out, 4, 1);
	fx_put32(out, 8, (uint32_t)(SKR_SNP_HCL_REQUEST_OFFSET + 20 + n));
	fx_put32(out, 12, 2);
	memcpy(out + SKR_SNP_HCL_HEADER_SIZE, rep, SKR_SNP_REPORT_SIZE);
	fx_put32(out, 0x4C0, (uint32_t)(20 + n));
	fx_put32(out, 0x4C4, 1);
	fx_put32(out, 0x4C8, 2);
	fx_put32(out, 0x4CC, 1);
	fx_put32(out, 0x4D0, (uint32_t)n);
	memcpy(out + SKR_SNP_HCL_RUNTIME_OFFSET, rt, n);
	return SKR_SNP_HCL_RUNTIME_OFFSET + n + pad;
}

static void
test_hcl(void)
{
	static const char rt[] = "{\"keys\":[]}";
	uint8_t rep[SKR_SNP_REPORT_SIZE], buf[4096];
	skr_snp_hcl h;
	skr_buf why = SKR_BUF_INIT;
	size_t n;

	fx_report(rep, 3, SKR_SNP_PRODUCT_MILAN);
	n = hcl(buf, rep, rt, 100);
	CHECK_OK(skr_snp_hcl_parse(buf, n, &h, &why));
	CHECK(h.version == 1 && h.request_type == 2);
	CHECK(h.report == buf + 0x20);
	CHECK(h.runtime_len == strlen(rt) &&
	    memcmp(h.runtime, rt, h.runtime_len) == 0);
	CHECK_OK(skr_snp_hcl_parse(buf, n - 100, &h, &why));
	for (size_t k = 0; k < n - 100; k++)
		CHECK_ERR(skr_snp_hcl_parse(buf, k, &h, NULL),
		    SKR_ERR_SNP_EVIDENCE);

	buf[0] = 'X';
	CHECK_ERR(skr_snp_hcl_parse(buf, n, &h, &why), SKR_ERR_SNP_EVIDENCE);
	buf[0] = 'H';
	fx_put32(buf, 16, 1);           /* status */
	CHECK_ERR(skr_snp_hcl_parse(buf, n, &h, NULL), SKR_ERR_SNP_EVIDENCE);
	fx_put32(buf, 16, 0);
	fx_put32(buf, 0x4C8, 4);        /* TDX */
	skr_buf_reset(&why);
	CHECK_ERR(skr_snp_hcl_parse(buf, n, &h, &why), SKR_ERR_SNP_EVIDENCE);
	CHECK(strstr(skr_buf_cstr(&why), "type 4") != NULL);
	fx_put32(buf, 0x4C8, 2);
	fx_put32(buf, 0x4CC, 2);        /* SHA-384 */
	CHECK_ERR(skr_snp_hcl_parse(buf, n, &h, NULL), SKR_ERR_SNP_EVIDENCE);
	fx_put32(buf, 0x4CC, 1);
	fx_put32(buf, 0x4D0, 0xffffffffu);
	CHECK_ERR(skr_snp_hcl_parse(buf, n, &h, NULL), SKR_ERR_SNP_EVIDENCE);
	fx_put32(buf, 0x4D0, (uint32_t)strlen(rt) - 1);
	CHECK_ERR(skr_snp_hcl_parse(buf, n, &h, NULL), SKR_ERR_SNP_EVIDENCE);
	fx_put32(buf, 0x4D0, (uint32_t)strlen(rt));
	fx_put32(buf, 8, 7);            /* report size */
	CHECK_ERR(skr_snp_hcl_parse(buf, n, &h, NULL), SKR_ERR_SNP_EVIDENCE);
	skr_buf_free(&why);
}

int
main(void)
{
	test_versions();
	test_malformed();
	test_tcb_and_products();
	test_binding();
	test_claims();
	test_tpm_quote();
	test_hcl();
	return check_done();
}
