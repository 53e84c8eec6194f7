/*
 * skrd's attestation endpoint (docs/snp.md, "The attestation endpoint"):
 * raw SEV-SNP evidence in Azure Attestation's request shape, and Azure
 * vTPM evidence, verified by server/snp and answered with a token that
 * skrd signs and trusts itself (issuer.h); the key set and OpenID
 * metadata of that token's issuer.  Unauthenticated, as Azure
 * Attestation's API is; attempts per peer are bounded as release
 * attempts are, and every attempt that reaches verification is audited.
 */
#ifndef SKR_SERVER_API_ATTEST_H
#define SKR_SERVER_API_ATTEST_H

#include "buf.h"
#include "config.h"
#include "request.h"

/* POST /attest/SevSnpVm: {"report", "runtimeData", "initTimeData",
 * "nonce"} (snp_request.h) -> {"token"}. */
int skr_api_attest_snp(skr_server *srv, skr_request *req,
    skr_response *resp);
/* POST /attest/AzureCvm: {"evidence": az-snp-vtpm evidence, "nonce": a
 * server nonce of GET /nonce} -> {"token"}. */
int skr_api_attest_azure(skr_server *srv, skr_request *req,
    skr_response *resp);
/* GET /certs: the issuer's key set. */
int skr_api_attest_certs(skr_server *srv, skr_request *req,
    skr_response *resp);
/* GET /.well-known/openid-configuration: issuer and jwks_uri. */
int skr_api_attest_openid(skr_server *srv, skr_request *req,
    skr_response *resp);

/*
 * Set srv up from c before serving: with attest_snp, the attestation
 * signing key of data directory c->data (created when missing, *created
 * then 1), the issuer, the SEV-SNP roots (snp_roots, snp_certs) and the
 * VCEK fetcher (snp_kds, snp_kds_ca, snp_cache_dir).  Without attest_snp
 * nothing is set and the routes answer 404.  SKR_ERR_CONFIG (or the error
 * of the step) with the reason in why.
 */
int skr_attest_setup(skr_server *srv, const skr_config *c, int *created,
    skr_buf *why);

#endif
