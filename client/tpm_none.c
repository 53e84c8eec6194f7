/*
 * libskr built without TPM support (meson -Dtpm=disabled, or no libtss2):
 * the TPM functions of skr/client.h exist and say so, and nothing links
 * the TSS.
 */
#include "skr/client.h"

#include <stdio.h>
#include <string.h>

#include "client_priv.h"

static int
unsupported(skr_result *res)
{
	if (res != NULL) {
		memset(res, 0, sizeof(*res));
		snprintf(res->error_id, sizeof(res->error_id), "%s",
		    skr_err_id(SKR_ERR_TPM_UNSUPPORTED));
		snprintf(res->message, sizeof(res->message), "%s: libskr was "
		    "built without TPM support (meson -Dtpm=enabled with "
		    "libtss2 installed)", skr_err_id(SKR_ERR_TPM_UNSUPPORTED));
	}
	return SKR_ERR_TPM_UNSUPPORTED;
}

int
skr_tpm_open(const char *tcti, skr_tpm **out, skr_result *res)
{
	if (out != NULL)
		*out = NULL;
	return unsupported(res);
}

void
skr_tpm_close(skr_tpm *t)
{
	(void)t;
}

int
skr_tpm_pubkey(skr_tpm *t, skr_tpm_format format, char **out,
    skr_result *res)
{
	if (out != NULL)
		*out = NULL;
	return unsupported(res);
}

int
skr_tpm_unwrapper(skr_tpm *t, const char *token, skr_unwrapper *u,
    skr_result *res)
{
	if (u != NULL)
		memset(u, 0, sizeof(*u));
	return unsupported(res);
}
