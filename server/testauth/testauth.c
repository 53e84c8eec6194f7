#include "testauth.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "encoding.h"
#include "guard.h"
#include "json.h"
#include "opcache.h"
#include "pki.h"
#include "skr/error.h"

#define TA_MAX_KEYS (1 + SKR_TESTAUTH_GRACE_KEYS)
#define TA_FILE_MAX ((size_t)1024 * 1024)

typedef struct ta_key {
	skr_key *key;      /* private signing key, kid set */
	skr_buf cert_der;  /* self-signed certificate for x5c */
} ta_key;

struct skr_testauth {
	char *issuer;
	skr_alg alg;
	ta_key keys[TA_MAX_KEYS]; /* keys[0] signs */
	size_t nkeys;
	skr_key *ak; /* synthetic vTPM attestation key (HCLAkPub), lazily */
};

/*
 * Claim templates.  Names and nesting follow MAA tokens for Azure confidential
 * VM guest attestation (SEV-SNP, TDX) and SGX enclaves; every measurement is
 * a repetition of "7e57" ("test") or "5167" so nobody mistakes it for a real
 * one.  iss, iat, nbf, exp, jti and the runtime keys are filled in at mint
 * time.
 */
#define SYN16 "7e577e577e577e57"
#define SYN32 SYN16 SYN16
#define SYN64 SYN32 SYN32
#define SYN96 SYN64 SYN32
#define SYN128 SYN64 SYN64
#define SGN64 "5167516751675167516751675167516751675167516751675167516751675167"
#define SYN_VMID "7E570000-0000-4000-8000-7E5700000000"
#define SYN_POLICY_HASH "c2tyLXRlc3QtYXV0aG9yaXR5LW5vdC1hLXJlYWwtaGFzaA"
#define SYN_EHD "c2tyLXRlc3QtZW5jbGF2ZS1oZWxkLWRhdGE"

#define AZUREVM_CLAIMS                                                     \
	"\"secureboot\":true,"                                             \
	"\"x-ms-attestation-type\":\"azurevm\","                           \
	"\"x-ms-azurevm-attestation-protocol-ver\":\"2.0\","               \
	"\"x-ms-azurevm-attested-pcrs\":[0,1,2,3,4,5,6,7,11,12,13],"       \
	"\"x-ms-azurevm-bootdebug-enabled\":false,"                        \
	"\"x-ms-azurevm-dbvalidated\":true,"                               \
	"\"x-ms-azurevm-dbxvalidated\":true,"                              \
	"\"x-ms-azurevm-debuggersdisabled\":true,"                         \
	"\"x-ms-azurevm-default-securebootkeysvalidated\":true,"           \
	"\"x-ms-azurevm-elam-enabled\":false,"                             \
	"\"x-ms-azurevm-flightsigning-enabled\":false,"                    \
	"\"x-ms-azurevm-hvci-policy\":0,"                                  \
	"\"x-ms-azurevm-hypervisordebug-enabled\":false,"                  \
	"\"x-ms-azurevm-is-windows\":false,"                               \
	"\"x-ms-azurevm-kerneldebug-enabled\":false,"                      \
	"\"x-ms-azurevm-osbuild\":\"NotApplicable\","                      \
	"\"x-ms-azurevm-osdistro\":\"skr-test\","                          \
	"\"x-ms-azurevm-ostype\":\"Linux\","                               \
	"\"x-ms-azurevm-osversion-major\":0,"                              \
	"\"x-ms-azurevm-osversion-minor\":0,"                              \
	"\"x-ms-azurevm-signingdisabled\":true,"                           \
	"\"x-ms-azurevm-testsigning-enabled\":false,"                      \
	"\"x-ms-azurevm-vmid\":\"" SYN_VMID "\","                          \
	"\"x-ms-policy-hash\":\"" SYN_POLICY_HASH "\","                    \
	"\"x-ms-ver\":\"1.0\""

/* x-ms-isolation-tee.x-ms-runtime.keys gets the attestation key at mint. */
#define CVM_RUNTIME                                                        \
	"\"x-ms-compliance-status\":\"azure-compliant-cvm\","              \
	"\"x-ms-runtime\":{\"vm-configuration\":{"                         \
	"\"console-enabled\":false,\"secure-boot\":true,"                  \
	"\"tpm-enabled\":true,\"vmUniqueId\":\"" SYN_VMID "\"}}"

static const char tpl_sevsnp[] = "{" AZUREVM_CLAIMS ","
	"\"x-ms-isolation-tee\":{"
	"\"x-ms-attestation-type\":\"sevsnpvm\"," CVM_RUNTIME ","
	"\"x-ms-sevsnpvm-authorkeydigest\":\"" SYN96 "\","
	"\"x-ms-sevsnpvm-bootloader-svn\":3,"
	"\"x-ms-sevsnpvm-familyId\":\"" SYN32 "\","
	"\"x-ms-sevsnpvm-guestsvn\":1,"
	"\"x-ms-sevsnpvm-hostdata\":\"" SYN64 "\","
	"\"x-ms-sevsnpvm-idkeydigest\":\"" SYN96 "\","
	"\"x-ms-sevsnpvm-imageId\":\"" SYN32 "\","
	"\"x-ms-sevsnpvm-is-debuggable\":false,"
	"\"x-ms-sevsnpvm-launchmeasurement\":\"" SYN96 "\","
	"\"x-ms-sevsnpvm-microcode-svn\":115,"
	"\"x-ms-sevsnpvm-migration-allowed\":false,"
	"\"x-ms-sevsnpvm-reportdata\":\"" SYN128 "\","
	"\"x-ms-sevsnpvm-reportid\":\"" SYN64 "\","
	"\"x-ms-sevsnpvm-smt-allowed\":true,"
	"\"x-ms-sevsnpvm-snpfw-svn\":8,"
	"\"x-ms-sevsnpvm-tee-svn\":0,"
	"\"x-ms-sevsnpvm-vmpl\":0}}";

static const char tpl_tdx[] = "{" AZUREVM_CLAIMS ","
	"\"x-ms-isolation-tee\":{"
	"\"x-ms-attestation-type\":\"tdxvm\"," CVM_RUNTIME ","
	"\"attester_tcb_status\":\"UpToDate\","
	"\"tdx_mrconfigid\":\"" SYN96 "\","
	"\"tdx_mrowner\":\"" SYN96 "\","
	"\"tdx_mrownerconfig\":\"" SYN96 "\","
	"\"tdx_mrseam\":\"" SYN96 "\","
	"\"tdx_mrsignerseam\":\"" SYN96 "\","
	"\"tdx_mrtd\":\"" SYN96 "\","
	"\"tdx_report_data\":\"" SYN128 "\","
	"\"tdx_rtmr0\":\"" SYN96 "\","
	"\"tdx_rtmr1\":\"" SYN96 "\","
	"\"tdx_rtmr2\":\"" SYN96 "\","
	"\"tdx_rtmr3\":\"" SYN96 "\","
	"\"tdx_seam_attributes\":\"0000000000000000\","
	"\"tdx_seamsvn\":1,"
	"\"tdx_td_attributes\":\"0000000010000000\","
	"\"tdx_td_attributes_debug\":false,"
	"\"tdx_td_attributes_key_locker\":false,"
	"\"tdx_td_attributes_perfmon\":false,"
	"\"tdx_td_attributes_protection_keys\":false,"
	"\"tdx_td_attributes_septve_disable\":true,"
	"\"tdx_tee_tcb_svn\":\"" SYN32 "\","
	"\"tdx_xfam\":\"e718060000000000\"}}";

#define SGX_COLLATERAL                                                     \
	"{\"qeidcertshash\":\"" SYN64 "\",\"qeidcrlhash\":\"" SYN64 "\","  \
	"\"qeidhash\":\"" SYN64 "\",\"quotehash\":\"" SYN64 "\","          \
	"\"tcbinfocertshash\":\"" SYN64 "\",\"tcbinfocrlhash\":\"" SYN64   \
	"\",\"tcbinfohash\":\"" SYN64 "\"}"

static const char tpl_sgx[] = "{"
	"\"aas-ehd\":\"" SYN_EHD "\","
	"\"is-debuggable\":false,"
	"\"maa-attestationcollateral\":" SGX_COLLATERAL ","
	"\"maa-ehd\":\"" SYN_EHD "\","
	"\"product-id\":1,"
	"\"sgx-mrenclave\":\"" SYN64 "\","
	"\"sgx-mrsigner\":\"" SGN64 "\","
	"\"svn\":1,"
	"\"tee\":\"sgx\","
	"\"x-ms-attestation-type\":\"sgx\","
	"\"x-ms-policy\":{\"is-debuggable\":false,\"product-id\":1,"
	"\"sgx-mrenclave\":\"" SYN64 "\",\"sgx-mrsigner\":\"" SGN64 "\","
	"\"svn\":1,\"tee\":\"sgx\"},"
	"\"x-ms-policy-hash\":\"" SYN_POLICY_HASH "\","
	"\"x-ms-sgx-collateral\":" SGX_COLLATERAL ","
	"\"x-ms-sgx-ehd\":\"" SYN_EHD "\","
	"\"x-ms-sgx-is-debuggable\":false,"
	"\"x-ms-sgx-mrenclave\":\"" SYN64 "\","
	"\"x-ms-sgx-mrsigner\":\"" SGN64 "\","
	"\"x-ms-sgx-product-id\":1,"
	"\"x-ms-sgx-report-data\":\"" SYN128 "\","
	"\"x-ms-sgx-svn\":1,"
	"\"x-ms-sgx-tcbidentifier\":\"10\","
	"\"x-ms-ver\":\"1.0\"}";

static const struct {
	const char *name;
	const char *tpl;
	int cvm; /* x-ms-isolation-tee with a vTPM attestation key */
} tees[] = {
	[SKR_TESTAUTH_TEE_SEVSNP] = { "sevsnp", tpl_sevsnp, 1 },
	[SKR_TESTAUTH_TEE_TDX] = { "tdx", tpl_tdx, 1 },
	[SKR_TESTAUTH_TEE_SGX] = { "sgx", tpl_sgx, 0 },
};
#define NTEES (sizeof(tees) / sizeof(tees[0]))

/* Signing algorithms the authority itself may use, and their keys. */
static const struct {
	skr_alg alg;
	skr_kty kty;
	int bits;
} sign_algs[] = {
	{ SKR_ALG_RS256, SKR_KTY_RSA, 2048 },
	{ SKR_ALG_PS256, SKR_KTY_RSA, 2048 },
	{ SKR_ALG_ES256, SKR_KTY_EC, 256 },
};

int
skr_testauth_tee_parse(const char *s, skr_testauth_tee *out)
{
	size_t i;

	for (i = 0; s != NULL && i < NTEES; i++) {
		if (strcmp(s, tees[i].name) == 0) {
			*out = (skr_testauth_tee)i;
			return SKR_OK;
		}
	}
	return SKR_ERR_INVAL;
}

const char *
skr_testauth_tee_name(skr_testauth_tee tee)
{
	return (size_t)tee < NTEES ? tees[tee].name : "unknown";
}

/* ---- keys and certificates ---------------------------------------------- */

/* Organisation in every certificate the authority makes. */
#define TA_ORG "skr test authority (NOT A REAL AUTHORITY)"

/* kid: base64url of the RFC 7638 SHA-256 thumbprint, so it is stable across
 * reloads and changes with every rotation. */
static int
set_thumbprint_kid(skr_key *key)
{
	uint8_t tp[EVP_MAX_MD_SIZE];
	size_t tplen = sizeof(tp);
	skr_buf kid = SKR_BUF_INIT;
	int r;

	SKR_GUARD(skr_jwk_thumbprint(key, EVP_sha256(), tp, &tplen));
	SKR_GUARD(skr_b64url_encode(&kid, tp, tplen));
	r = skr_key_set_kid(key, skr_buf_cstr(&kid));
out:
	skr_buf_free(&kid);
	return r;
}

/* Takes ownership of key (freed on error). */
static int
ta_key_init(ta_key *tk, skr_key *key)
{
	X509 *cert = NULL;
	uint8_t *der = NULL;
	int derlen, r;

	memset(tk, 0, sizeof(*tk));
	skr_buf_init(&tk->cert_der, 0);
	tk->key = key;
	SKR_GUARD(set_thumbprint_kid(key));
	SKR_GUARD(skr_pki_cert(skr_key_pkey(key), TA_ORG,
	    "skr test attestation signing key", NULL, NULL, SKR_CERT_SIGNING,
	    NULL, 3650, &cert));
	SKR_ENSURE((derlen = i2d_X509(cert, &der)) > 0, SKR_ERR_CRYPTO);
	SKR_GUARD(skr_buf_append(&tk->cert_der, der, (size_t)derlen));
out:
	OPENSSL_free(der);
	X509_free(cert);
	if (r != SKR_OK) {
		skr_key_free(tk->key);
		skr_buf_free(&tk->cert_der);
		tk->key = NULL;
	}
	return r;
}

static void
ta_key_clear(ta_key *tk)
{
	/* Its signing templates go with it (keys/opcache.h). */
	if (tk->key != NULL)
		skr_opcache_forget(skr_key_pkey(tk->key));
	skr_key_free(tk->key);
	skr_buf_free(&tk->cert_der);
	tk->key = NULL;
}

static int
alg_key_params(skr_alg alg, skr_kty *kty, int *bits)
{
	size_t i;

	for (i = 0; i < sizeof(sign_algs) / sizeof(sign_algs[0]); i++) {
		if (sign_algs[i].alg == alg) {
			*kty = sign_algs[i].kty;
			*bits = sign_algs[i].bits;
			return SKR_OK;
		}
	}
	return SKR_ERR_UNSUPPORTED;
}

static int
generate_signing_key(skr_alg alg, ta_key *tk)
{
	skr_key *key = NULL;
	skr_kty kty;
	int bits, r;

	if ((r = alg_key_params(alg, &kty, &bits)) != SKR_OK)
		return r;
	if ((r = skr_key_generate(kty, bits, &key)) != SKR_OK)
		return r;
	return ta_key_init(tk, key);
}

static int
check_issuer(const char *issuer)
{
	size_t n;

	if (issuer == NULL || strncmp(issuer, "https://", 8) != 0)
		return SKR_ERR_INVAL;
	n = strlen(issuer);
	if (n <= 8 || n > 1024 || issuer[n - 1] == '/')
		return SKR_ERR_INVAL;
	return SKR_OK;
}

static int
ta_alloc(const char *issuer, const char *alg, skr_testauth **out)
{
	skr_testauth *ta = NULL;
	skr_kty kty;
	int bits, r;

	*out = NULL;
	if ((r = check_issuer(issuer)) != SKR_OK)
		return r;
	if ((ta = calloc(1, sizeof(*ta))) == NULL)
		return SKR_ERR_NOMEM;
	SKR_ENSURE((ta->issuer = strdup(issuer)) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(skr_alg_parse(alg != NULL ? alg : "RS256", &ta->alg) ==
	    SKR_OK, SKR_ERR_UNSUPPORTED);
	SKR_GUARD(alg_key_params(ta->alg, &kty, &bits));
	*out = ta;
	ta = NULL;
out:
	skr_testauth_free(ta);
	return r;
}

int
skr_testauth_new(const char *issuer, const char *alg, skr_testauth **out)
{
	skr_testauth *ta = NULL;
	int r;

	SKR_GUARD(ta_alloc(issuer, alg, &ta));
	SKR_GUARD(generate_signing_key(ta->alg, &ta->keys[0]));
	ta->nkeys = 1;
	*out = ta;
	ta = NULL;
out:
	skr_testauth_free(ta);
	return r;
}

void
skr_testauth_free(skr_testauth *ta)
{
	size_t i;

	if (ta == NULL)
		return;
	for (i = 0; i < ta->nkeys; i++)
		ta_key_clear(&ta->keys[i]);
	skr_key_free(ta->ak);
	free(ta->issuer);
	free(ta);
}

const char *
skr_testauth_issuer(const skr_testauth *ta)
{
	return ta->issuer;
}

const char *
skr_testauth_alg(const skr_testauth *ta)
{
	return skr_alg_name(ta->alg);
}

const char *
skr_testauth_kid(const skr_testauth *ta)
{
	return skr_key_kid(ta->keys[0].key);
}

const skr_key *
skr_testauth_signing_key(const skr_testauth *ta)
{
	return ta->keys[0].key;
}

size_t
skr_testauth_nkeys(const skr_testauth *ta)
{
	return ta->nkeys;
}

int
skr_testauth_set_issuer(skr_testauth *ta, const char *issuer)
{
	char *s;
	int r;

	if ((r = check_issuer(issuer)) != SKR_OK)
		return r;
	if ((s = strdup(issuer)) == NULL)
		return SKR_ERR_NOMEM;
	free(ta->issuer);
	ta->issuer = s;
	return SKR_OK;
}

int
skr_testauth_rotate(skr_testauth *ta, int drop_old)
{
	ta_key fresh;
	size_t i;
	int r;

	if ((r = generate_signing_key(ta->alg, &fresh)) != SKR_OK)
		return r;
	if (drop_old) {
		for (i = 0; i < ta->nkeys; i++)
			ta_key_clear(&ta->keys[i]);
		ta->nkeys = 0;
	} else if (ta->nkeys == TA_MAX_KEYS) {
		ta_key_clear(&ta->keys[--ta->nkeys]);
	}
	memmove(&ta->keys[1], &ta->keys[0], ta->nkeys * sizeof(ta->keys[0]));
	ta->keys[0] = fresh;
	ta->nkeys++;
	return SKR_OK;
}

/* ---- published documents ------------------------------------------------ */

static int
jwks_entry(const skr_testauth *ta, const ta_key *tk, unsigned form,
    json_t **out)
{
	json_t *jwk = NULL, *x5c = NULL;
	skr_buf b64 = SKR_BUF_INIT;
	const char *kid = skr_key_kid(tk->key);
	int r = SKR_ERR_NOMEM;

	*out = NULL;
	if (form & SKR_TESTAUTH_JWKS_JWK) {
		if ((jwk = skr_jwk_emit(tk->key, 0)) == NULL)
			goto out;
	} else {
		/* x5c only, like MAA's /certs: kty and kid, no n/e. */
		if ((jwk = json_object()) == NULL ||
		    json_object_set_new(jwk, "kty", json_string(
		    skr_kty_name(skr_key_kty(tk->key), 0))) != 0)
			goto out;
	}
	if (json_object_set_new(jwk, "kid", json_string(kid)) != 0 ||
	    json_object_set_new(jwk, "alg",
	    json_string(skr_alg_name(ta->alg))) != 0 ||
	    json_object_set_new(jwk, "use", json_string("sig")) != 0)
		goto out;
	if (form & SKR_TESTAUTH_JWKS_X5C) {
		/* x5c is standard base64, not base64url (RFC 7517 4.7). */
		SKR_GUARD(skr_b64_encode(&b64, tk->cert_der.data,
		    tk->cert_der.len));
		r = SKR_ERR_NOMEM;
		if ((x5c = json_array()) == NULL ||
		    json_array_append_new(x5c,
		    json_string(skr_buf_cstr(&b64))) != 0 ||
		    json_object_set(jwk, "x5c", x5c) != 0)
			goto out;
	}
	*out = jwk;
	jwk = NULL;
	r = SKR_OK;
out:
	json_decref(jwk);
	json_decref(x5c);
	skr_buf_free(&b64);
	return r;
}

json_t *
skr_testauth_jwks_json(const skr_testauth *ta, unsigned form)
{
	json_t *jwks = NULL, *keys, *jwk;
	size_t i;

	if ((form & SKR_TESTAUTH_JWKS_BOTH) == 0)
		form = SKR_TESTAUTH_JWKS_BOTH;
	if ((keys = json_array()) == NULL)
		return NULL;
	for (i = 0; i < ta->nkeys; i++) {
		if (jwks_entry(ta, &ta->keys[i], form, &jwk) != SKR_OK ||
		    json_array_append_new(keys, jwk) != 0)
			goto out;
	}
	if ((jwks = json_object()) != NULL &&
	    json_object_set(jwks, "keys", keys) != 0) {
		json_decref(jwks);
		jwks = NULL;
	}
out:
	json_decref(keys);
	return jwks;
}

json_t *
skr_testauth_openid_config_json(const skr_testauth *ta)
{
	char uri[1100];
	int n;

	n = snprintf(uri, sizeof(uri), "%s/certs", ta->issuer);
	if (n < 0 || (size_t)n >= sizeof(uri))
		return NULL;
	return json_pack("{s:s, s:s, s:[s], s:[s], s:[s], s:b}",
	    "issuer", ta->issuer,
	    "jwks_uri", uri,
	    "id_token_signing_alg_values_supported", skr_alg_name(ta->alg),
	    "response_types_supported", "token",
	    "claims_supported", "x-ms-attestation-type",
	    SKR_TESTAUTH_CLAIM, 1);
}

/* ---- minting ------------------------------------------------------------ */

/* Apply one override member: name may be a dotted path; intermediate
 * objects are created (a non-object in the way is replaced). */
static int merge_object(json_t *dst, const json_t *src, int depth);

static int
merge_member(json_t *dst, const char *name, json_t *val, int depth)
{
	char seg[256];
	const char *p = name, *dot;
	json_t *cur = dst, *next;
	size_t len;

	if (depth > SKR_JSON_MAX_DEPTH)
		return SKR_ERR_JSON_DEPTH;
	for (;;) {
		dot = strchr(p, '.');
		len = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (len == 0 || len >= sizeof(seg))
			return SKR_ERR_INVAL;
		memcpy(seg, p, len);
		seg[len] = '\0';
		if (dot == NULL)
			break;
		next = json_object_get(cur, seg);
		if (!json_is_object(next)) {
			if (json_is_null(val))
				return SKR_OK; /* nothing there to remove */
			if ((next = json_object()) == NULL ||
			    json_object_set_new(cur, seg, next) != 0)
				return SKR_ERR_NOMEM;
		}
		cur = next;
		p = dot + 1;
	}
	if (json_is_null(val)) {
		json_object_del(cur, seg);
		return SKR_OK;
	}
	if (json_is_object(val)) {
		next = json_object_get(cur, seg);
		if (!json_is_object(next)) {
			if ((next = json_object()) == NULL ||
			    json_object_set_new(cur, seg, next) != 0)
				return SKR_ERR_NOMEM;
		}
		return merge_object(next, val, depth + 1);
	}
	if (json_object_set_new(cur, seg, json_deep_copy(val)) != 0)
		return SKR_ERR_NOMEM;
	return SKR_OK;
}

static int
merge_object(json_t *dst, const json_t *src, int depth)
{
	const char *k;
	json_t *v;
	int r;

	json_object_foreach((json_t *)src, k, v) {
		if ((r = merge_member(dst, k, v, depth)) != SKR_OK)
			return r;
	}
	return SKR_OK;
}

/* The public JWK of an RSA key as MAA writes a runtime key. */
static int
runtime_jwk(const skr_key *key, const char *kid, json_t **out)
{
	json_t *jwk;

	*out = NULL;
	if (skr_key_kty(key) != SKR_KTY_RSA || skr_key_bits(key) < 2048)
		return SKR_ERR_INVAL;
	if ((jwk = skr_jwk_emit(key, 0)) == NULL)
		return SKR_ERR_NOMEM;
	if (json_object_set_new(jwk, "kid", json_string(kid)) != 0 ||
	    json_object_set_new(jwk, "key_ops",
	    json_pack("[s]", "encrypt")) != 0) {
		json_decref(jwk);
		return SKR_ERR_NOMEM;
	}
	*out = jwk;
	return SKR_OK;
}

static int
set_runtime_keys(json_t *parent, const skr_key *key, const char *kid)
{
	json_t *rt, *jwk;
	int r;

	if ((rt = json_object_get(parent, "x-ms-runtime")) == NULL) {
		if ((rt = json_object()) == NULL ||
		    json_object_set_new(parent, "x-ms-runtime", rt) != 0)
			return SKR_ERR_NOMEM;
	}
	if ((r = runtime_jwk(key, kid, &jwk)) != SKR_OK)
		return r;
	if (json_object_set_new(rt, "keys", json_pack("[o]", jwk)) != 0)
		return SKR_ERR_NOMEM;
	return SKR_OK;
}

static int
build_payload(skr_testauth *ta, const skr_testauth_claims *spec,
    int64_t iat, int64_t exp, json_t **out)
{
	json_t *p = NULL, *tee, *rt;
	json_error_t e;
	uint8_t jti[32];
	skr_buf jtihex = SKR_BUF_INIT;
	int r = SKR_ERR_NOMEM;

	*out = NULL;
	SKR_ENSURE((size_t)spec->tee < NTEES, SKR_ERR_INVAL);
	SKR_ENSURE((p = json_loads(tees[spec->tee].tpl, 0, &e)) != NULL,
	    SKR_ERR_INTERNAL);
	SKR_ENSURE(RAND_bytes(jti, sizeof(jti)) == 1, SKR_ERR_CRYPTO);
	SKR_GUARD(skr_hex_encode(&jtihex, jti, sizeof(jti), 0));
	r = SKR_ERR_NOMEM;
	if (json_object_set_new(p, "iss", json_string(ta->issuer)) != 0 ||
	    json_object_set_new(p, "iat", json_integer(iat)) != 0 ||
	    json_object_set_new(p, "nbf", json_integer(iat)) != 0 ||
	    json_object_set_new(p, "exp", json_integer(exp)) != 0 ||
	    json_object_set_new(p, "jti",
	    json_string(skr_buf_cstr(&jtihex))) != 0 ||
	    json_object_set_new(p, SKR_TESTAUTH_CLAIM, json_true()) != 0)
		goto out;

	if (tees[spec->tee].cvm) {
		/* The vTPM attestation key MAA reports inside the TEE claims;
		 * one synthetic key per authority. */
		if (ta->ak == NULL)
			SKR_GUARD(skr_key_generate(SKR_KTY_RSA, 2048, &ta->ak));
		tee = json_object_get(p, "x-ms-isolation-tee");
		SKR_GUARD(set_runtime_keys(tee, ta->ak, "HCLAkPub"));
		rt = json_object_get(tee, "x-ms-runtime");
		r = SKR_ERR_NOMEM;
		if (json_object_set_new(json_object_get(rt, "vm-configuration"),
		    "current-time", json_integer(iat)) != 0)
			goto out;
	}
	if (spec->wrapping_key != NULL)
		SKR_GUARD(set_runtime_keys(p, spec->wrapping_key,
		    SKR_TESTAUTH_WRAPKEY_KID));
	if (spec->nonce != NULL) {
		r = SKR_ERR_NOMEM;
		if ((rt = json_object_get(p, "x-ms-runtime")) == NULL) {
			if ((rt = json_object()) == NULL ||
			    json_object_set_new(p, "x-ms-runtime", rt) != 0)
				goto out;
		}
		if (json_object_set_new(rt, "client-payload",
		    json_pack("{s:s}", "nonce", spec->nonce)) != 0)
			goto out;
	}
	if (spec->overrides != NULL) {
		SKR_ENSURE(json_is_object(spec->overrides), SKR_ERR_INVAL);
		SKR_GUARD(merge_object(p, spec->overrides, 0));
	}
	*out = p;
	p = NULL;
	r = SKR_OK;
out:
	json_decref(p);
	skr_buf_free(&jtihex);
	return r;
}

/* A raw JWS signature of in under alg (RFC 7518 section 3): used only for
 * forged-alg tokens, where the header names an alg the signature is not. */
static int
sign_raw(EVP_PKEY *pkey, skr_alg alg, const char *in, size_t n, skr_buf *sig)
{
	static const struct {
		skr_alg alg;
		const char *md;
		int pss;
	} a[] = {
		{ SKR_ALG_RS256, "SHA256", 0 }, { SKR_ALG_RS384, "SHA384", 0 },
		{ SKR_ALG_RS512, "SHA512", 0 }, { SKR_ALG_PS256, "SHA256", 1 },
		{ SKR_ALG_PS384, "SHA384", 1 }, { SKR_ALG_PS512, "SHA512", 1 },
		{ SKR_ALG_ES256, "SHA256", 0 }, { SKR_ALG_ES384, "SHA384", 0 },
		{ SKR_ALG_ES512, "SHA512", 0 },
	};
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	ECDSA_SIG *es = NULL;
	const BIGNUM *er, *esv;
	const unsigned char *dp;
	uint8_t *der = NULL, rs[132];
	size_t i, dlen, half;
	int r = SKR_ERR_CRYPTO;

	for (i = 0; i < sizeof(a) / sizeof(a[0]) && a[i].alg != alg; i++)
		;
	if (i == sizeof(a) / sizeof(a[0]))
		return SKR_ERR_UNSUPPORTED;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(ctx, &pctx, a[i].md, NULL, NULL, pkey,
	    NULL) != 1)
		goto out;
	if (a[i].pss && (EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto out;
	if (EVP_DigestSign(ctx, NULL, &dlen, (const uint8_t *)in, n) != 1 ||
	    (der = OPENSSL_malloc(dlen)) == NULL ||
	    EVP_DigestSign(ctx, der, &dlen, (const uint8_t *)in, n) != 1)
		goto out;
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
		r = skr_buf_append(sig, der, dlen);
		goto out;
	}
	/* ECDSA: DER -> fixed-width r || s (RFC 7518 section 3.4). */
	half = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
	dp = der;
	if (half * 2 > sizeof(rs) ||
	    (es = d2i_ECDSA_SIG(NULL, &dp, (long)dlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &er, &esv);
	if (BN_bn2binpad(er, rs, (int)half) < 0 ||
	    BN_bn2binpad(esv, rs + half, (int)half) < 0)
		goto out;
	r = skr_buf_append(sig, rs, half * 2);
out:
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return r;
}

/* HS256/384/512 keyed with the public key's PEM: what a verifier that lets
 * the token pick the algorithm would accept (the RFC 8725 section 2.1
 * attack). */
static int
sign_hmac(const skr_key *key, const char *alg, const char *in, size_t n,
    skr_buf *sig)
{
	static const struct {
		const char *name;
		const char *md;
	} h[] = { { "HS256", "SHA256" }, { "HS384", "SHA384" },
		  { "HS512", "SHA512" } };
	skr_buf pem = SKR_BUF_INIT;
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned maclen = sizeof(mac);
	const EVP_MD *md;
	size_t i;
	int r;

	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		if (strcmp(alg, h[i].name) == 0)
			break;
	if (i == sizeof(h) / sizeof(h[0]))
		return SKR_ERR_UNSUPPORTED;
	SKR_GUARD(skr_key_to_pem(key, 0, &pem));
	SKR_ENSURE((md = EVP_get_digestbyname(h[i].md)) != NULL,
	    SKR_ERR_CRYPTO);
	SKR_ENSURE(HMAC(md, pem.data, (int)pem.len, (const uint8_t *)in, n,
	    mac, &maclen) != NULL, SKR_ERR_CRYPTO);
	r = skr_buf_append(sig, mac, maclen);
out:
	skr_buf_free(&pem);
	return r;
}

/* Compact serialization by hand, for headers skr_jws_sign would not write. */
static int
forge_jws(const skr_testauth *ta, const json_t *header, const char *alg,
    const char *payload, size_t plen, skr_buf *out)
{
	skr_buf input = SKR_BUF_INIT, sig = SKR_BUF_INIT;
	const skr_key *key = ta->keys[0].key;
	char *htext = NULL;
	int r;

	SKR_ENSURE((htext = json_dumps(header, JSON_COMPACT)) != NULL,
	    SKR_ERR_NOMEM);
	SKR_GUARD(skr_b64url_encode(&input, (const uint8_t *)htext,
	    strlen(htext)));
	SKR_GUARD(skr_buf_append_byte(&input, '.'));
	SKR_GUARD(skr_b64url_encode(&input, (const uint8_t *)payload, plen));
	if (strcmp(alg, "none") == 0)
		r = SKR_OK;
	else if (strncmp(alg, "HS", 2) == 0)
		r = sign_hmac(key, alg, (const char *)input.data, input.len,
		    &sig);
	else
		r = sign_raw(skr_key_pkey(key), ta->alg,
		    (const char *)input.data, input.len, &sig);
	if (r != SKR_OK)
		goto out;
	SKR_GUARD(skr_buf_append(out, input.data, input.len));
	SKR_GUARD(skr_buf_append_byte(out, '.'));
	SKR_GUARD(skr_b64url_encode(out, sig.data, sig.len));
out:
	free(htext);
	skr_buf_free(&input);
	skr_buf_free(&sig);
	return r;
}

int
skr_testauth_mint(skr_testauth *ta, const skr_testauth_claims *spec,
    skr_buf *token_out)
{
	json_t *payload = NULL, *hdr = NULL;
	EVP_PKEY *pkey = skr_key_pkey(ta->keys[0].key);
	char jku[1100], *ptext = NULL;
	skr_alg alg = ta->alg;
	int64_t now, iat, lifetime;
	int n, forge = 0, r;

	SKR_ENSURE(spec != NULL && spec->lifetime >= 0, SKR_ERR_INVAL);
	SKR_ENSURE(spec->header_extra == NULL ||
	    json_is_object(spec->header_extra), SKR_ERR_INVAL);
	if (spec->alg != NULL) {
		if (skr_alg_parse(spec->alg, &alg) != SKR_OK) {
			SKR_ENSURE(strcmp(spec->alg, "none") == 0 ||
			    strcmp(spec->alg, "HS256") == 0 ||
			    strcmp(spec->alg, "HS384") == 0 ||
			    strcmp(spec->alg, "HS512") == 0, SKR_ERR_INVAL);
			forge = 1;
		} else if (!skr_alg_fits_key(alg, pkey)) {
			forge = 1;
		}
	}
	now = spec->now != 0 ? spec->now : (int64_t)time(NULL);
	lifetime = spec->lifetime != 0 ? spec->lifetime :
	    SKR_TESTAUTH_DEFAULT_LIFETIME;
	SKR_ENSURE(spec->iat_offset > -((int64_t)1 << 40) &&
	    spec->iat_offset < ((int64_t)1 << 40) &&
	    lifetime < ((int64_t)1 << 40), SKR_ERR_INVAL);
	iat = now + spec->iat_offset;
	SKR_GUARD(build_payload(ta, spec, iat, iat + lifetime, &payload));
	SKR_ENSURE((ptext = json_dumps(payload,
	    JSON_COMPACT | JSON_SORT_KEYS)) != NULL, SKR_ERR_NOMEM);

	/* MAA's header: alg, jku, kid, typ.  A verifier must never follow
	 * the jku (docs/attestation.md, "Tokens"); real tokens carry one all the
	 * same. */
	n = snprintf(jku, sizeof(jku), "%s/certs", ta->issuer);
	SKR_ENSURE(n > 0 && (size_t)n < sizeof(jku), SKR_ERR_INVAL);
	SKR_ENSURE((hdr = json_pack("{s:s, s:s, s:s}", "jku", jku, "kid",
	    spec->kid != NULL ? spec->kid : skr_key_kid(ta->keys[0].key),
	    "typ", "JWT")) != NULL, SKR_ERR_NOMEM);
	if (spec->header_extra != NULL) {
		if (json_object_get(spec->header_extra, "alg") != NULL)
			forge = 1;
		SKR_GUARD(merge_object(hdr, spec->header_extra, 0));
	}
	if (forge) {
		if (json_object_get(spec->header_extra, "alg") == NULL &&
		    json_object_set_new(hdr, "alg", json_string(
		    spec->alg != NULL ? spec->alg : skr_alg_name(alg))) != 0) {
			r = SKR_ERR_NOMEM;
			goto out;
		}
		r = forge_jws(ta, hdr, spec->alg != NULL ? spec->alg : "",
		    ptext, strlen(ptext), token_out);
	} else {
		r = skr_jws_sign(pkey, alg, hdr, (const uint8_t *)ptext,
		    strlen(ptext), token_out);
	}
out:
	free(ptext);
	json_decref(payload);
	json_decref(hdr);
	return r;
}

/* ---- the JSON form of a mint request ------------------------------------ */

typedef struct mint_req {
	skr_testauth_claims spec;
	skr_key *wrapping_key;
} mint_req;

typedef int (*mint_member_fn)(mint_req *m, json_t *v);

static int
m_tee(mint_req *m, json_t *v)
{
	if (!json_is_string(v))
		return SKR_ERR_BAD_REQUEST;
	return skr_testauth_tee_parse(json_string_value(v), &m->spec.tee) ==
	    SKR_OK ? SKR_OK : SKR_ERR_BAD_REQUEST;
}

static int
m_wrapping_key(mint_req *m, json_t *v)
{
	int r;

	if (!json_is_object(v))
		return SKR_ERR_BAD_REQUEST;
	if ((r = skr_jwk_parse(v, SKR_JWK_PUBLIC, &m->wrapping_key)) != SKR_OK)
		return r;
	if (skr_key_kty(m->wrapping_key) != SKR_KTY_RSA)
		return SKR_ERR_JWK_UNSUPPORTED;
	m->spec.wrapping_key = m->wrapping_key;
	return SKR_OK;
}

static int
m_nonce(mint_req *m, json_t *v)
{
	if (!json_is_string(v))
		return SKR_ERR_BAD_REQUEST;
	m->spec.nonce = json_string_value(v);
	return SKR_OK;
}

static int
m_claims(mint_req *m, json_t *v)
{
	if (!json_is_object(v))
		return SKR_ERR_BAD_REQUEST;
	m->spec.overrides = v;
	return SKR_OK;
}

static int
m_lifetime(mint_req *m, json_t *v)
{
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > 10 * 365 * 86400)
		return SKR_ERR_BAD_REQUEST;
	m->spec.lifetime = json_integer_value(v);
	return SKR_OK;
}

static int
m_iat_offset(mint_req *m, json_t *v)
{
	if (!json_is_integer(v) ||
	    json_integer_value(v) < -10 * 365 * 86400 ||
	    json_integer_value(v) > 10 * 365 * 86400)
		return SKR_ERR_BAD_REQUEST;
	m->spec.iat_offset = json_integer_value(v);
	return SKR_OK;
}

static int
m_header(mint_req *m, json_t *v)
{
	if (!json_is_object(v))
		return SKR_ERR_BAD_REQUEST;
	m->spec.header_extra = v;
	return SKR_OK;
}

static int
m_kid(mint_req *m, json_t *v)
{
	if (!json_is_string(v))
		return SKR_ERR_BAD_REQUEST;
	m->spec.kid = json_string_value(v);
	return SKR_OK;
}

static int
m_alg(mint_req *m, json_t *v)
{
	if (!json_is_string(v))
		return SKR_ERR_BAD_REQUEST;
	m->spec.alg = json_string_value(v);
	return SKR_OK;
}

static const struct {
	const char *name;
	mint_member_fn fn;
} mint_members[] = {
	{ "tee", m_tee },
	{ "wrapping_key", m_wrapping_key },
	{ "nonce", m_nonce },
	{ "claims", m_claims },
	{ "lifetime", m_lifetime },
	{ "iat_offset", m_iat_offset },
	{ "header", m_header },
	{ "kid", m_kid },
	{ "alg", m_alg },
};

int
skr_testauth_mint_json(skr_testauth *ta, const char *body, size_t n,
    int64_t now, skr_buf *token_out)
{
	mint_req m;
	json_t *req = NULL, *v;
	const char *k;
	size_t i;
	int r;

	memset(&m, 0, sizeof(m));
	m.spec.now = now;
	SKR_GUARD(skr_json_parse(body, n, 0, &req));
	SKR_ENSURE(json_is_object(req), SKR_ERR_BAD_REQUEST);
	json_object_foreach(req, k, v) {
		for (i = 0; i < sizeof(mint_members) / sizeof(mint_members[0]);
		    i++)
			if (strcmp(k, mint_members[i].name) == 0)
				break;
		SKR_ENSURE(i < sizeof(mint_members) / sizeof(mint_members[0]),
		    SKR_ERR_BAD_REQUEST);
		SKR_GUARD(mint_members[i].fn(&m, v));
	}
	r = skr_testauth_mint(ta, &m.spec, token_out);
	if (r == SKR_ERR_INVAL)
		r = SKR_ERR_BAD_REQUEST;
out:
	skr_key_free(m.wrapping_key);
	json_decref(req);
	return r;
}

/* ---- persistence -------------------------------------------------------- */

static int
path_join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	return n > 0 && (size_t)n < outlen ? SKR_OK : SKR_ERR_INVAL;
}

/* Write via a temporary file and rename, so a reader never sees half a
 * file. */
static int
write_file(const char *dir, const char *name, const void *p, size_t n,
    mode_t mode)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	const uint8_t *b = p;
	ssize_t w;
	int fd = -1, r;

	SKR_GUARD(path_join(path, sizeof(path), dir, name));
	SKR_GUARD(path_join(tmp, sizeof(tmp), dir, ".tmp-testauth"));
	r = SKR_ERR_IO;
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) < 0)
		goto out;
	while (n > 0) {
		if ((w = write(fd, b, n)) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		b += w;
		n -= (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	r = SKR_OK;
out:
	if (fd >= 0)
		close(fd);
	if (r != SKR_OK)
		(void)unlink(tmp);
	return r;
}

static int
read_file(const char *dir, const char *name, skr_buf *out)
{
	char path[PATH_MAX];
	uint8_t chunk[4096];
	ssize_t n;
	int fd, r;

	if ((r = path_join(path, sizeof(path), dir, name)) != SKR_OK)
		return r;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return SKR_ERR_IO;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((r = skr_buf_append(out, chunk, (size_t)n)) != SKR_OK)
			break;
	}
	if (n < 0)
		r = SKR_ERR_IO;
	skr_wipe(chunk, sizeof(chunk));
	close(fd);
	return r;
}

int
skr_testauth_stored(const char *dir)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof(path), dir, "authority.json") != SKR_OK)
		return 0;
	return access(path, F_OK) == 0;
}

int
skr_testauth_save(const skr_testauth *ta, const char *dir)
{
	skr_buf pem = SKR_BUF_INIT_SECRET, one = SKR_BUF_INIT_SECRET;
	json_t *meta = NULL;
	char *text = NULL;
	size_t i;
	int r;

	for (i = 0; i < ta->nkeys; i++) {
		skr_buf_reset(&one);
		SKR_GUARD(skr_key_to_pem(ta->keys[i].key, 1, &one));
		SKR_GUARD(skr_buf_append(&pem, one.data, one.len));
	}
	SKR_GUARD(write_file(dir, "signing-keys.pem", pem.data, pem.len,
	    0600));
	SKR_ENSURE((meta = json_pack("{s:s, s:s}", "issuer", ta->issuer,
	    "alg", skr_alg_name(ta->alg))) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE((text = json_dumps(meta, JSON_INDENT(2))) != NULL,
	    SKR_ERR_NOMEM);
	r = write_file(dir, "authority.json", text, strlen(text), 0644);
out:
	skr_buf_free(&one);
	skr_buf_free(&pem);
	json_decref(meta);
	free(text);
	return r;
}

/* Split the concatenated PEM private keys, current first. */
static int
load_keys(skr_testauth *ta, const skr_buf *pem)
{
	static const char end[] = "-----END ";
	const char *p = (const char *)pem->data, *e, *lim = p + pem->len;
	skr_key *key = NULL;
	int r;

	while (p < lim && ta->nkeys < TA_MAX_KEYS) {
		if ((e = strstr(p, end)) == NULL)
			break;
		if ((e = strchr(e + sizeof(end) - 1, '\n')) == NULL)
			e = lim;
		else
			e++;
		if ((r = skr_key_from_pem(p, (size_t)(e - p), &key)) != SKR_OK)
			return r;
		if (!skr_key_has_private(key) ||
		    !skr_alg_fits_key(ta->alg, skr_key_pkey(key))) {
			skr_key_free(key);
			return SKR_ERR_CONFIG;
		}
		if ((r = ta_key_init(&ta->keys[ta->nkeys], key)) != SKR_OK)
			return r;
		ta->nkeys++;
		p = e;
	}
	return ta->nkeys > 0 ? SKR_OK : SKR_ERR_CONFIG;
}

int
skr_testauth_load(const char *dir, skr_testauth **out)
{
	skr_buf meta_text = SKR_BUF_INIT, pem = SKR_BUF_INIT_SECRET;
	skr_testauth *ta = NULL;
	json_t *meta = NULL, *iss, *alg;
	int r;

	*out = NULL;
	skr_buf_init(&meta_text, TA_FILE_MAX);
	skr_buf_init_secret(&pem, TA_FILE_MAX);
	SKR_GUARD(read_file(dir, "authority.json", &meta_text));
	SKR_GUARD(skr_json_parse((const char *)meta_text.data, meta_text.len,
	    0, &meta));
	iss = json_object_get(meta, "issuer");
	alg = json_object_get(meta, "alg");
	SKR_ENSURE(json_is_string(iss) && json_is_string(alg), SKR_ERR_CONFIG);
	SKR_GUARD(ta_alloc(json_string_value(iss), json_string_value(alg),
	    &ta));
	SKR_GUARD(read_file(dir, "signing-keys.pem", &pem));
	SKR_GUARD(load_keys(ta, &pem));
	*out = ta;
	ta = NULL;
out:
	skr_testauth_free(ta);
	json_decref(meta);
	skr_buf_free(&meta_text);
	skr_buf_free(&pem);
	return r;
}

/* ---- TLS material for the serving program ------------------------------- */

int
skr_testauth_tls_ensure(const char *dir)
{
	char path[PATH_MAX];
	skr_key *ca_key = NULL, *tls_key = NULL;
	X509 *ca = NULL, *leaf = NULL;
	skr_buf ca_pem = SKR_BUF_INIT, chain = SKR_BUF_INIT;
	skr_buf key_pem = SKR_BUF_INIT_SECRET;
	int r;

	SKR_GUARD(path_join(path, sizeof(path), dir, "tls-key.pem"));
	if (access(path, F_OK) == 0) {
		SKR_GUARD(path_join(path, sizeof(path), dir, "tls-cert.pem"));
		if (access(path, F_OK) == 0)
			return SKR_OK;
	}
	/* A CA whose key is thrown away once it has signed the one server
	 * certificate: clients trust ca.pem, nothing else can be issued. */
	SKR_GUARD(skr_key_generate(SKR_KTY_EC, 256, &ca_key));
	SKR_GUARD(skr_key_generate(SKR_KTY_EC, 256, &tls_key));
	SKR_GUARD(skr_pki_cert(skr_key_pkey(ca_key), TA_ORG,
	    "skr test authority CA (NOT FOR PRODUCTION)", NULL, NULL,
	    SKR_CERT_CA, NULL, 3650, &ca));
	SKR_GUARD(skr_pki_cert(skr_key_pkey(tls_key), TA_ORG, "localhost", ca,
	    skr_key_pkey(ca_key), SKR_CERT_TLS,
	    "IP:127.0.0.1,IP:::1,DNS:localhost", 3650, &leaf));
	SKR_GUARD(skr_pki_cert_pem(ca, &ca_pem));
	SKR_GUARD(skr_pki_cert_pem(leaf, &chain));
	SKR_GUARD(skr_buf_append(&chain, ca_pem.data, ca_pem.len));
	SKR_GUARD(skr_key_to_pem(tls_key, 1, &key_pem));
	SKR_GUARD(write_file(dir, "tls-key.pem", key_pem.data, key_pem.len,
	    0600));
	SKR_GUARD(write_file(dir, "tls-cert.pem", chain.data, chain.len,
	    0644));
	SKR_GUARD(write_file(dir, "ca.pem", ca_pem.data, ca_pem.len, 0644));
out:
	skr_key_free(ca_key);
	skr_key_free(tls_key);
	X509_free(ca);
	X509_free(leaf);
	skr_buf_free(&ca_pem);
	skr_buf_free(&chain);
	skr_buf_free(&key_pem);
	return r;
}
