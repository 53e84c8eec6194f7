/*
 * skrctl release --tpm and skrctl tpm pubkey (see skrctl_tpm.h).
 */
#include "skrctl_tpm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skr/error.h"
#include "skrctl.h"
#include "skrctl_out.h"

const char *
skrctl_tpm_tcti(const struct skrctl_args *a)
{
	const char *v = skrctl_args_get(a, "tcti");

	if (v == NULL && (v = getenv("SKR_TCTI")) != NULL && *v == '\0')
		v = NULL;
	return v != NULL ? v : SKR_TPM_TCTI_DEFAULT;
}

void
skrctl_tpm_hint(int err)
{
	switch (err) {
	case SKR_ERR_TPM_KEY_MISMATCH:
	case SKR_ERR_TPM_POLICY:
		/* The key is remade from PCRs 0-7 and the TPM's seed: a token
		 * made before a reboot or a measured change names another
		 * key (docs/libskr.md). */
		skrctl_out_errorf("get a new attestation token on this "
		    "machine; `" SKRCTL_PROG " tpm pubkey` shows the key its "
		    "TPM makes now");
		break;
	case SKR_ERR_TPM_UNAVAILABLE:
		skrctl_out_errorf("--tcti or SKR_TCTI names the TPM "
		    "(default " SKR_TPM_TCTI_DEFAULT ")");
		break;
	default:
		break;
	}
}

/* A TPM error: reported, with the hint, and the exit status for err. */
static int
fail(int err, const skr_result *res)
{
	int status = skrctl_out_fail_release(err, res);

	skrctl_tpm_hint(err);
	return status;
}

int
skrctl_tpm_unwrapper(const struct skrctl_args *a, const char *token,
    skr_tpm **t, skr_unwrapper *u)
{
	skr_result res;
	int r;

	*t = NULL;
	if ((r = skr_tpm_open(skrctl_tpm_tcti(a), t, &res)) != SKR_OK)
		return fail(r, &res);
	if ((r = skr_tpm_unwrapper(*t, token, u, &res)) != SKR_OK) {
		skr_tpm_close(*t);
		*t = NULL;
		return fail(r, &res);
	}
	return SKRCTL_EXIT_OK;
}

int
skrctl_tpm_pubkey(struct skrctl_ctx *x)
{
	int jwk = skrctl_args_get(&x->a, "jwk") != NULL;
	skr_tpm *t = NULL;
	skr_result res;
	char *out = NULL;
	int r, err;

	if (jwk && skrctl_args_get(&x->a, "pem") != NULL)
		return skrctl_out_usage("--pem or --jwk, not both");
	if ((err = skr_tpm_open(skrctl_tpm_tcti(&x->a), &t, &res)) !=
	    SKR_OK || (err = skr_tpm_pubkey(t, jwk ? SKR_TPM_JWK :
	    SKR_TPM_PEM, &out, &res)) != SKR_OK) {
		r = skrctl_out_fail(err, &res);
		if (err == SKR_ERR_TPM_UNAVAILABLE)
			skrctl_tpm_hint(err);
		goto out;
	}
	/* The PEM ends in a newline, the JSON does not. */
	printf("%s%s", out, jwk ? "\n" : "");
	r = fflush(stdout) == 0 ? SKRCTL_EXIT_OK : SKRCTL_EXIT_ERR;
out:
	skr_free(out);
	skr_tpm_close(t);
	return r;
}
