/*
 * skrctl and the TPM of a confidential VM (docs/skrctl.1, "release --tpm"
 * and "tpm pubkey"): which TPM, the unwrapper a release uses, and what to
 * tell the operator when the TPM's key is not the token's.  libskr does the
 * TPM work (docs/libskr.md, "The wrapping key in a TPM").
 */
#ifndef SKR_CLIENT_SKRCTL_TPM_H
#define SKR_CLIENT_SKRCTL_TPM_H

#include "skr/client.h"
#include "skrctl_args.h"

/* --tcti, else SKR_TCTI (empty counts as unset), else
 * SKR_TPM_TCTI_DEFAULT; borrowed from argv, the environment or static. */
const char *skrctl_tpm_tcti(const struct skrctl_args *a);

/*
 * Open the TPM of a's TCTI and check, before anything is sent, that token
 * names the key it makes now.  On success *t (skr_tpm_close it) and *u,
 * valid until then.  Returns an exit status, the failure reported: 1 for
 * the TPM's errors (SKR.TPM.*), 3 for a token that names no usable key, as
 * the server would refuse it.
 */
int skrctl_tpm_unwrapper(const struct skrctl_args *a, const char *token,
    skr_tpm **t, skr_unwrapper *u);

/* After an error err has been reported: a line on what to do about it,
 * when err is the TPM's. */
void skrctl_tpm_hint(int err);

#endif
