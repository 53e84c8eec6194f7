/*
 * VCEKs from the key distribution service (server/kds.c) without a
 * network: a cache directory filled here answers, a service that cannot
 * be reached (port 1 on loopback) fails with its own error, and what
 * cannot have a VCEK by chip is refused before anything is fetched.  The
 * fetch itself is tested against a local HTTPS server in
 * tests/integration/test_attest.sh.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "files.h"
#include "kds.h"
#include "snp_fixture.h"
#include "snp_kds.h"
#include "snp_report.h"

#define UNREACHABLE "https://127.0.0.1:1"

static char dir[SKR_TEST_PATH_MAX];
static fx_amd milan;
static EVP_PKEY *vcek_key;

/* A signed report of version v and its VCEK (DER, into der). */
static void
report(uint8_t rep[SKR_SNP_REPORT_SIZE], int v, uint8_t chip, skr_buf *der)
{
	fx_cert_opts o;
	X509 *c;

	fx_report(rep, (uint32_t)v, SKR_SNP_PRODUCT_MILAN);
	rep[FX_OFF_CHIP_ID] ^= chip;
	fx_sign(rep, vcek_key);
	fx_vek_opts(&o, rep, SKR_SNP_PRODUCT_MILAN, 0);
	c = fx_cert(&o, vcek_key, milan.ask, milan.ask_key);
	fx_der(c, der);
	X509_free(c);
}

/* Put der into the cache under the name of rep's VCEK for product p. */
static void
cache(const uint8_t *rep, skr_snp_product p, const skr_buf *der)
{
	skr_snp_report r;
	skr_buf name = SKR_BUF_INIT;

	CHECK_OK(skr_snp_report_parse(rep, SKR_SNP_REPORT_SIZE, &r, NULL));
	CHECK_OK(skr_snp_kds_cache_name(&r, p, &name, NULL));
	CHECK_OK(skr_snp_kds_cache_store(dir, skr_buf_cstr(&name), der->data,
	    der->len));
	skr_buf_free(&name);
}

static void
test_opts(void)
{
	skr_kds_opts o = { UNREACHABLE, NULL, NULL, 0 };
	skr_kds *k = NULL;

	o.cache_dir = dir;
	CHECK_OK(skr_kds_new(&o, &k));
	skr_kds_free(k);
	k = NULL;
	static const char *const bad[] = { "http://kds.test",
		"https://kds.test/vcek", "https://", "kdsintf.amd.com",
		"https://kds.test?x", "https://user@kds.test" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.base = bad[i];
		CHECK_ERR(skr_kds_new(&o, &k), SKR_ERR_CONFIG);
		CHECK(k == NULL);
	}
	o.base = UNREACHABLE;
	o.cache_dir = NULL;
	CHECK_ERR(skr_kds_new(&o, &k), SKR_ERR_CONFIG);
	o.cache_dir = "/proc/no/such/dir";
	CHECK_ERR(skr_kds_new(&o, &k), SKR_ERR_CONFIG);
}

static void
test_cache(skr_kds *k)
{
	uint8_t rep[SKR_SNP_REPORT_SIZE];
	skr_buf der = SKR_BUF_INIT, got = SKR_BUF_INIT, chain = SKR_BUF_INIT;
	skr_buf pem = SKR_BUF_INIT, why = SKR_BUF_INIT;

	/* VCEK and chain from the cache: nothing is fetched. */
	report(rep, 3, 0, &der);
	cache(rep, SKR_SNP_PRODUCT_MILAN, &der);
	fx_pem(milan.ask, &pem);
	fx_pem(milan.ark, &pem);
	CHECK_OK(skr_snp_kds_cache_store(dir, "cert_chain-Milan.pem", pem.data,
	    pem.len));
	CHECK_OK(skr_kds_vcek(k, rep, sizeof(rep), &got, &chain, &why));
	CHECK_MEM(got.data, got.len, der.data, der.len);
	CHECK_MEM(chain.data, chain.len, pem.data, pem.len);
	/* A version 2 report: its VCEK cached for Genoa is found. */
	skr_buf_reset(&der);
	skr_buf_reset(&got);
	report(rep, 2, 0x40, &der);
	cache(rep, SKR_SNP_PRODUCT_GENOA, &der);
	CHECK_OK(skr_kds_vcek(k, rep, sizeof(rep), &got, NULL, &why));
	CHECK_MEM(got.data, got.len, der.data, der.len);
	/* A chip the cache lacks: the service cannot be reached. */
	skr_buf_reset(&der);
	skr_buf_reset(&got);
	skr_buf_reset(&why);
	report(rep, 3, 0x20, &der);
	CHECK_ERR(skr_kds_vcek(k, rep, sizeof(rep), &got, NULL, &why),
	    SKR_ERR_SNP_KDS);
	CHECK(strstr(skr_buf_cstr(&why), UNREACHABLE "/vcek/v1/Milan/") !=
	    NULL);
	CHECK(got.len == 0);
	/* A cached file that is not a certificate is not used. */
	skr_buf_reset(&der);
	skr_buf_append_str(&der, "not a certificate");
	cache(rep, SKR_SNP_PRODUCT_MILAN, &der);
	CHECK_ERR(skr_kds_vcek(k, rep, sizeof(rep), &got, NULL, &why),
	    SKR_ERR_SNP_KDS);
	skr_buf_free(&der);
	skr_buf_free(&got);
	skr_buf_free(&chain);
	skr_buf_free(&pem);
	skr_buf_free(&why);
}

static void
test_refused(skr_kds *k)
{
	uint8_t rep[SKR_SNP_REPORT_SIZE];
	skr_buf der = SKR_BUF_INIT, why = SKR_BUF_INIT;

	fx_report(rep, 3, SKR_SNP_PRODUCT_MILAN);
	fx_put32(rep, FX_OFF_KEY_INFO, 1u << 2);   /* VLEK */
	CHECK_ERR(skr_kds_vcek(k, rep, sizeof(rep), &der, NULL, &why),
	    SKR_ERR_SNP_CERT);
	CHECK(strstr(skr_buf_cstr(&why), "VcekCertChain") != NULL);
	fx_report(rep, 3, SKR_SNP_PRODUCT_MILAN);
	fx_put32(rep, FX_OFF_KEY_INFO, 1u << 1);   /* MASK_CHIP_KEY */
	CHECK_ERR(skr_kds_vcek(k, rep, sizeof(rep), &der, NULL, &why),
	    SKR_ERR_SNP_CERT);
	CHECK_ERR(skr_kds_vcek(k, rep, 100, &der, NULL, &why),
	    SKR_ERR_SNP_REPORT);
	CHECK(der.len == 0);
	skr_buf_free(&der);
	skr_buf_free(&why);
}

int
main(void)
{
	skr_kds_opts o = { UNREACHABLE, NULL, NULL, 2000 };
	skr_kds *k = NULL;

	skr_test_tmpdir(NULL, "kds", dir, sizeof(dir));
	fx_amd_make(&milan, SKR_SNP_PRODUCT_MILAN);
	vcek_key = fx_p384();
	test_opts();
	o.cache_dir = dir;
	CHECK_OK(skr_kds_new(&o, &k));
	if (k != NULL) {
		test_cache(k);
		test_refused(k);
	}
	skr_kds_free(k);
	EVP_PKEY_free(vcek_key);
	fx_amd_free(&milan);
	skr_test_rmrf(dir);
	return check_done();
}
