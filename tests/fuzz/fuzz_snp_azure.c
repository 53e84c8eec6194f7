/*
 * libFuzzer target: Azure vTPM evidence (server/snp/snp_azure.c,
 * snp_tpm.c).  The first input byte picks a mode: 0 parses the rest as an
 * HCL report and its SNP report; 1 as a TPMS_ATTEST quote and its PCR
 * selection; 2 verifies it as an evidence document against the built-in
 * roots (no nonce), which exercises the JSON, base64url, hex, HCL, report
 * and certificate parsing before the chain refuses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snp_azure.h"
#include "snp_report.h"
#include "snp_tpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static skr_snp_trust *builtin;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skr_snp_azure_opts o = SKR_SNP_AZURE_OPTS_INIT;
	skr_buf why = SKR_BUF_INIT;
	skr_snp_verified *v = NULL;
	skr_snp_tpm_quote q;
	skr_snp_report r;
	skr_snp_hcl h;
	unsigned idx[SKR_TPM_SELECT_MAX * 8];
	size_t n;

	if (size == 0 || (builtin == NULL && skr_snp_trust_new(&builtin) != 0))
		return 0;
	data++;
	size--;
	switch (data[-1] % 3) {
	case 0:
		if (skr_snp_hcl_parse(data, size, &h, &why) != 0)
			break;
		if (h.runtime + h.runtime_len > data + size ||
		    h.report + SKR_SNP_REPORT_SIZE > data + size)
			abort();
		(void)skr_snp_report_parse(h.report, SKR_SNP_REPORT_SIZE, &r,
		    &why);
		break;
	case 1:
		if (skr_snp_tpm_quote_parse(data, size, &q, &why) != 0)
			break;
		if (q.extra_len > sizeof(q.extra) || q.nsel >
		    SKR_TPM_SELECTIONS_MAX)
			abort();
		if (skr_snp_tpm_quote_pcrs(&q, idx, &n, &why) == 0 &&
		    n > SKR_TPM_SELECT_MAX * 8)
			abort();
		break;
	case 2:
		o.now = 1700000000;
		o.skip_nonce = 1;
		if (skr_snp_azure_verify((const char *)data, size, builtin, &o,
		    &v, &why) == 0)
			abort();    /* nothing chains to AMD's real roots */
		break;
	}
	skr_snp_verified_free(v);
	skr_buf_free(&why);
	return 0;
}
