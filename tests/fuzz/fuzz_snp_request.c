/*
 * libFuzzer target: Azure Attestation's SevSnpVm request
 * (server/snp/snp_request.c).  The first input byte picks a mode: 0 parses
 * the rest as a request body and, when it parses, verifies it against the
 * built-in roots (which nothing here chains to); 1 splits the rest as
 * certificate bytes (a VCEK in DER or PEM, then PEM).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snp_report.h"
#include "snp_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static skr_snp_trust *builtin;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skr_buf why = SKR_BUF_INIT, leaf = SKR_BUF_INIT, rest = SKR_BUF_INIT;
	skr_snp_verified *v = NULL;
	skr_snp_request req;

	if (size == 0 || (builtin == NULL && skr_snp_trust_new(&builtin) != 0))
		return 0;
	data++;
	size--;
	switch (data[-1] % 2) {
	case 0:
		if (skr_snp_request_parse((const char *)data, size, &req,
		    &why) == 0) {
			if (req.report.len != SKR_SNP_REPORT_SIZE ||
			    strlen(req.nonce) > SKR_SNP_NONCE_MAX ||
			    (req.has_nonce && req.nonce[0] == '\0') ||
			    (req.runtime_type == SKR_SNP_DATA_NONE &&
			    req.runtime.len != 0))
				abort();
			if (skr_snp_request_verify(&req, builtin, 1700000000, &v,
			    &why) == 0)
				abort();    /* nothing chains to AMD's roots */
		}
		skr_snp_request_clear(&req);
		break;
	case 1:
		if (skr_snp_certs_split(data, size, &leaf, &rest, &why) == 0 &&
		    leaf.len == 0)
			abort();
		break;
	}
	skr_snp_verified_free(v);
	skr_buf_free(&why);
	skr_buf_free(&leaf);
	skr_buf_free(&rest);
	return 0;
}
