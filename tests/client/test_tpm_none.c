/*
 * Unit tests: libskr built without TPM support (client/tpm_none.c) says so
 * from every TPM function, leaves nothing behind in the outputs, and names
 * the cause in the result.
 */
#include <string.h>

#include "check.h"
#include "skr/client.h"

int
main(void)
{
	skr_tpm *t = (skr_tpm *)0x1;
	skr_unwrapper u;
	skr_result res;
	char *out = (char *)0x1;

	memset(&u, 0xff, sizeof(u));
	memset(&res, 0xff, sizeof(res));
	CHECK_ERR(skr_tpm_open(NULL, &t, &res), SKR_ERR_TPM_UNSUPPORTED);
	CHECK(t == NULL);
	CHECK_STR(res.error_id, "SKR.TPM.UNSUPPORTED");
	CHECK(strstr(res.message, "built without TPM support") != NULL);
	CHECK(res.http_status == 0);
	CHECK_ERR(skr_tpm_open("device:/dev/tpmrm0", &t, NULL),
	    SKR_ERR_TPM_UNSUPPORTED);
	CHECK_ERR(skr_tpm_pubkey(NULL, SKR_TPM_PEM, &out, &res),
	    SKR_ERR_TPM_UNSUPPORTED);
	CHECK(out == NULL);
	CHECK_ERR(skr_tpm_unwrapper(NULL, "a.b.c", &u, &res),
	    SKR_ERR_TPM_UNSUPPORTED);
	CHECK(u.key == NULL && u.decrypt == NULL && u.ctx == NULL &&
	    u.modulus_len == 0 && u.kid == NULL);
	skr_tpm_close(NULL);
	CHECK_STR(skr_strerror(SKR_ERR_TPM_UNSUPPORTED),
	    "libskr was built without TPM support");
	return check_done();
}
