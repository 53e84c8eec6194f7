/*
 * libFuzzer target: release policy parser and evaluator.  The input is a
 * policy text, optionally followed by a NUL and a claims object; a policy
 * that parses is evaluated against those claims (or a fixed set) under two
 * issuers.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_claims[] =
    "{\"iss\":\"https://a.example\",\"iat\":1000,\"exp\":5000,"
    "\"x-ms-attestation-type\":\"sevsnpvm\",\"x-ms-sgx-svn\":3,"
    "\"is-debuggable\":false,\"f\":1.5,\"n\":null,\"arr\":[1,2],"
    "\"x-ms-isolation-tee\":{\"x-ms-attestation-type\":\"sevsnpvm\","
    "\"x-ms-compliance-status\":\"azure-compliant-cvm\",\"svn\":115}}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skr_policy_result res = SKR_POLICY_RESULT_INIT;
	skr_buf why = SKR_BUF_INIT;
	skr_policy *p = NULL;
	json_t *claims = NULL;
	const uint8_t *nul = memchr(data, 0, size);
	size_t plen = nul != NULL ? (size_t)(nul - data) : size;

	if (skr_policy_parse((const char *)data, plen, &p, &why) != 0)
		goto out;
	if (nul != NULL)
		(void)skr_json_parse((const char *)nul + 1, size - plen - 1, 0,
		    &claims);
	if (claims == NULL)
		(void)skr_json_parse(fixed_claims, sizeof(fixed_claims) - 1, 0,
		    &claims);
	if (claims == NULL)
		goto out;
	(void)skr_policy_eval(p, claims, "https://a.example", 1200, &res);
	skr_policy_result_clear(&res);
	(void)skr_policy_eval(p, claims, "https://a.example/", 0, &res);
	skr_policy_result_clear(&res);
	(void)skr_policy_require_server_nonce(p);
 out:
	skr_policy_result_clear(&res);
	skr_buf_free(&res.denial);
	json_decref(claims);
	skr_policy_free(p);
	skr_buf_free(&why);
	return 0;
}
