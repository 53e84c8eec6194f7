/*
 * libFuzzer target: VCEK/VLEK certificates and their AMD extensions
 * (server/snp/snp_cert.c) and AMD certificate bundles (snp_trust.c).  The
 * first input byte picks a mode: 0 parses the rest as a DER certificate and
 * matches it against a fixed report of each product, then asks the
 * built-in trust for a chain; 1 loads the rest as a PEM bundle of
 * candidate certificates; 2 loads it as a root file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snp_cert.h"
#include "snp_trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static skr_snp_trust *builtin;
static skr_snp_report report;

static int
setup(void)
{
	uint8_t rep[SKR_SNP_REPORT_SIZE] = { 3 };

	if (builtin != NULL)
		return 0;
	rep[0x008 + 2] = 0x03;            /* policy 0x30000 */
	rep[0x034] = 1;                   /* ECDSA P-384 */
	rep[0x180] = 3;                   /* reported TCB 3/0/8/115 */
	rep[0x186] = 8;
	rep[0x187] = 115;
	rep[0x188] = 0x19;                /* Milan */
	rep[0x189] = 0x01;
	for (int i = 0; i < 64; i++)
		rep[0x1A0 + i] = (uint8_t)i;
	if (skr_snp_report_parse(rep, sizeof(rep), &report, NULL) != 0)
		abort();
	return skr_snp_trust_new(&builtin);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skr_buf why = SKR_BUF_INIT;
	skr_snp_cert *c = NULL;
	skr_snp_trust *t = NULL;
	skr_snp_product p;

	if (size == 0 || setup() != 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if (skr_snp_cert_parse(data + 1, size - 1, &c, &why) != 0)
			break;
		if (c->kind != SKR_SNP_SIGNER_VCEK &&
		    c->kind != SKR_SNP_SIGNER_VLEK)
			abort();
		for (int i = 0; i < SKR_SNP_PRODUCT_COUNT; i++)
			(void)skr_snp_cert_match(c, &report,
			    (skr_snp_product)i, &why);
		if (skr_snp_cert_product(c, &report, &p, &why) == 0)
			(void)skr_snp_trust_verify(builtin, c->x509, c->kind,
			    p, NULL, 1700000000, &why);
		break;
	case 1:
	case 2:
		if (skr_snp_trust_new(&t) != 0)
			break;
		if (data[0] % 3 == 1)
			(void)skr_snp_trust_add_pem(t, (const char *)data + 1,
			    size - 1, &why);
		else
			(void)skr_snp_trust_set_roots_pem(t,
			    (const char *)data + 1, size - 1, &why);
		break;
	}
	skr_snp_trust_free(t);
	skr_snp_cert_free(c);
	skr_buf_free(&why);
	return 0;
}
