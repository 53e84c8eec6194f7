/*
 * Unit tests: the exit status of a failed release (client/skrctl_out.c,
 * docs/skrctl.1 EXIT STATUS) against the HTTP status skrd answers with
 * (server/http_error.c).  Every refusal of a release that skrd answers 403
 * is exit 3, SEV-SNP evidence that does not verify among them; so are a
 * token skrd does not take and a token without a usable wrapping key.
 * SEV-SNP evidence that does not parse, the TPM's errors and everything
 * else are exit 1.
 */
#include <string.h>

#include "check.h"
#include "request.h"
#include "skr/error.h"
#include "skrctl_out.h"

/* 403s that are about the bearer token or administration, not a key
 * refused to a workload. */
static int
admin_refusal(int e)
{
	return e == SKR_ERR_AUTH_FORBIDDEN || e == SKR_ERR_KEY_POLICY_IMMUTABLE;
}

/* Refused without a 403: the token or its wrapping key is unusable, which
 * a release is refused for all the same. */
static int
refused_otherwise(int e)
{
	return e == SKR_ERR_TOKEN_MALFORMED || e == SKR_ERR_TOKEN_TOO_LARGE ||
	    e == SKR_ERR_WRAPKEY_MISSING || e == SKR_ERR_WRAPKEY_INVALID;
}

static int
has_prefix(int e, const char *prefix)
{
	return strncmp(skr_err_id(e), prefix, strlen(prefix)) == 0;
}

int
main(void)
{
	int snp = 0, snp_denied = 0, tpm = 0, denied = 0;

	for (int e = SKR__ERR_FIRST + 1; e < SKR__ERR_LAST; e++) {
		int want = SKRCTL_EXIT_ERR, got = skrctl_out_release_exit(e);

		if ((skr_err_http_status(e) == 403 && !admin_refusal(e)) ||
		    refused_otherwise(e))
			want = SKRCTL_EXIT_DENIED;
		if (got != want)
			fprintf(stderr, "%s (HTTP %d): exit %d, want %d\n",
			    skr_err_id(e), skr_err_http_status(e), got, want);
		CHECK(got == want);
		denied += got == SKRCTL_EXIT_DENIED;
		if (has_prefix(e, "SKR.SNP.")) {
			snp++;
			snp_denied += got == SKRCTL_EXIT_DENIED;
		}
		if (has_prefix(e, "SKR.TPM.")) {
			tpm++;
			CHECK(got == SKRCTL_EXIT_ERR);
		}
	}
	/* The table is what the loop above reads: it must hold them. */
	CHECK(snp >= 13 && snp_denied >= 10 && tpm >= 4 && denied >= 30);
	CHECK(skrctl_out_release_exit(SKR_ERR_SNP_TCB) == SKRCTL_EXIT_DENIED);
	CHECK(skrctl_out_release_exit(SKR_ERR_SNP_NONCE) ==
	    SKRCTL_EXIT_DENIED);
	CHECK(skrctl_out_release_exit(SKR_ERR_SNP_REPORT) == SKRCTL_EXIT_ERR);
	CHECK(skrctl_out_release_exit(SKR_ERR_TPM_KEY_MISMATCH) ==
	    SKRCTL_EXIT_ERR);
	CHECK(skrctl_out_release_exit(SKR_ERR_POLICY_DENIED) ==
	    SKRCTL_EXIT_DENIED);
	CHECK(skrctl_out_release_exit(SKR_ERR_AUTH_FORBIDDEN) ==
	    SKRCTL_EXIT_ERR);
	CHECK(skrctl_out_release_exit(SKR_ERR_TRANSPORT) == SKRCTL_EXIT_ERR);
	CHECK(skrctl_out_release_exit(SKR_OK) == SKRCTL_EXIT_OK);
	return check_done();
}
