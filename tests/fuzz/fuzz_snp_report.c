/*
 * libFuzzer target: SEV-SNP attestation reports (server/snp/snp_report.c).
 * The input is a report; one that parses is turned into claims for every
 * product, checked against its own bytes as runtime data, and given a KDS
 * URL and cache name.  Invariants: a parsed report keeps its bytes, and
 * its claims carry the version-independent fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snp_kds.h"
#include "snp_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skr_buf why = SKR_BUF_INIT, url = SKR_BUF_INIT;
	skr_snp_report r;
	json_t *c = NULL;

	if (skr_snp_report_parse(data, size, &r, &why) != 0)
		goto out;
	if (memcmp(r.raw, data, SKR_SNP_REPORT_SIZE) != 0 ||
	    r.version < SKR_SNP_MIN_VERSION || r.vmpl > 3)
		abort();
	for (int p = 0; p < SKR_SNP_PRODUCT_COUNT; p++) {
		if (skr_snp_report_claims(&r, (skr_snp_product)p, &c) != 0)
			continue;
		if (json_object_get(c, "x-ms-sevsnpvm-launchmeasurement") ==
		    NULL)
			abort();
		json_decref(c);
		c = NULL;
		(void)skr_snp_kds_vcek_url(&r, (skr_snp_product)p, NULL, &url,
		    NULL);
		skr_buf_reset(&url);
		(void)skr_snp_kds_cache_name(&r, (skr_snp_product)p, &url,
		    NULL);
		skr_buf_reset(&url);
	}
	(void)skr_snp_report_product(&r);
	(void)skr_snp_report_bind(&r, data, size, &why);
out:
	skr_buf_free(&why);
	skr_buf_free(&url);
	return 0;
}
