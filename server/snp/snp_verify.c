#include "snp_verify.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "guard.h"
#include "json.h"
#include "skr/error.h"
#include "snp_cert.h"
#include "snp_priv.h"

#define P384_BYTES 48

void
skr_snp_verified_free(skr_snp_verified *v)
{
	if (v == NULL)
		return;
	json_decref(v->claims);
	free(v);
}

int
skr_snp_report_verify_signature(const skr_snp_report *r, EVP_PKEY *key,
    skr_buf *why)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	EVP_MD_CTX *ctx = NULL;
	uint8_t *der = NULL;
	int len, v, ret = SKR_OK;

	/* r and s are little-endian; parsing refused anything past 48 bytes. */
	br = BN_lebin2bn(r->sig_r, P384_BYTES, NULL);
	bs = BN_lebin2bn(r->sig_s, P384_BYTES, NULL);
	if (br == NULL || bs == NULL || (sig = ECDSA_SIG_new()) == NULL) {
		ret = SKR_ERR_NOMEM;
		goto out;
	}
	if (!ECDSA_SIG_set0(sig, br, bs)) {
		ret = SKR_ERR_NOMEM;
		goto out;
	}
	br = bs = NULL;
	if ((len = i2d_ECDSA_SIG(sig, &der)) <= 0) {
		ret = SKR_ERR_CRYPTO;
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, key) != 1) {
		ret = SKR_ERR_CRYPTO;
		goto out;
	}
	v = EVP_DigestVerify(ctx, der, (size_t)len, r->raw,
	    SKR_SNP_SIGNED_SIZE);
	if (v != 1)
		ret = skr_buf_fail(why, SKR_ERR_SNP_SIGNATURE,
		    "report signature does not verify under the %s key",
		    r->signer == SKR_SNP_SIGNER_VLEK ? "VLEK" : "VCEK");
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	ECDSA_SIG_free(sig);
	BN_free(br);
	BN_free(bs);
	ERR_clear_error();
	return ret;
}

/* x-ms-runtime from runtime data of type JSON. */
static int
runtime_claim(json_t *claims, const skr_snp_opts *o, skr_buf *why)
{
	json_t *rt = NULL;
	int r = SKR_OK;

	if (o->runtime_len > SKR_SNP_RUNTIME_MAX_BYTES)
		return skr_buf_fail(why, SKR_ERR_TOO_LARGE,
		    "runtime data over %zu bytes", SKR_SNP_RUNTIME_MAX_BYTES);
	if (skr_json_parse((const char *)o->runtime_data, o->runtime_len, 0,
	    &rt) != SKR_OK || !json_is_object(rt)) {
		r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "runtime data is not a strict JSON object");
		goto out;
	}
	SKR_ENSURE(json_object_set(claims, "x-ms-runtime", rt) == 0,
	    SKR_ERR_NOMEM);
out:
	json_decref(rt);
	return r;
}

int
skr_snp_verify(const skr_snp_evidence *ev, const skr_snp_trust *t,
    const skr_snp_opts *opts, skr_snp_verified **out, skr_buf *why)
{
	static const skr_snp_opts defaults = SKR_SNP_OPTS_INIT;
	const skr_snp_opts *o = opts != NULL ? opts : &defaults;
	STACK_OF(X509) *extra = NULL;
	skr_snp_verified *v = NULL;
	skr_snp_cert *cert = NULL;
	int r = SKR_OK;

	*out = NULL;
	SKR_ENSURE(ev != NULL && t != NULL && ev->report != NULL &&
	    ev->cert != NULL, SKR_ERR_INVAL);
	SKR_ENSURE((v = calloc(1, sizeof(*v))) != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(skr_snp_report_parse(ev->report, ev->report_len, &v->report,
	    why));
	SKR_GUARD(skr_snp_cert_parse(ev->cert, ev->cert_len, &cert, why));
	SKR_GUARD(skr_snp_cert_signer_check(cert, &v->report, why));
	SKR_GUARD(skr_snp_cert_product(cert, &v->report, &v->product, why));
	if (ev->chain_pem != NULL) {
		if (ev->chain_len > SKR_SNP_CHAIN_MAX_BYTES) {
			r = skr_buf_fail(why, SKR_ERR_TOO_LARGE,
			    "certificate chain over %zu bytes",
			    SKR_SNP_CHAIN_MAX_BYTES);
			goto out;
		}
		SKR_GUARD(skr_snp_certs_from_pem(ev->chain_pem, ev->chain_len,
		    SKR_SNP_EVIDENCE_MAX_CERTS, &extra, why));
	}
	SKR_GUARD(skr_snp_trust_verify(t, cert->x509, cert->kind, v->product,
	    extra, skr__snp_now(o->now), why));
	SKR_GUARD(skr_snp_cert_match(cert, &v->report, v->product, why));
	SKR_GUARD(skr_snp_report_verify_signature(&v->report,
	    X509_get0_pubkey(cert->x509), why));
	if (o->runtime_data != NULL)
		SKR_GUARD(skr_snp_report_bind(&v->report, o->runtime_data,
		    o->runtime_len, why));
	skr_snp_tcb_decode(v->report.reported_tcb, v->product,
	    &v->reported_tcb);
	SKR_GUARD(skr_snp_report_claims(&v->report, v->product, &v->claims));
	if (o->runtime_data != NULL && o->runtime_json)
		SKR_GUARD(runtime_claim(v->claims, o, why));
	*out = v;
	v = NULL;
out:
	sk_X509_pop_free(extra, X509_free);
	skr_snp_cert_free(cert);
	skr_snp_verified_free(v);
	return r;
}
