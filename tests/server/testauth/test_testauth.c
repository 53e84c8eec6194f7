/* Unit tests: the test attestation authority (server/testauth.c). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "check.h"
#include "files.h"
#include "encoding.h"
#include "json.h"
#include "jwk.h"
#include "jws.h"
#include "jwks.h"
#include "testauth.h"
#include "token.h"

#define ISSUER "https://127.0.0.1:8443" SKR_TESTAUTH_PATH
#define NOW 1700000000

static skr_key *wrap_key; /* an RSA-2048 TEE wrapping key */

/* Mint, parse and verify against the authority's published JWKS; returns
 * the parsed token (caller clears) or fails the checks. */
static int
mint_parse(skr_testauth *ta, const skr_testauth_claims *spec, skr_jws *jws)
{
	skr_buf tok = SKR_BUF_INIT;
	int r;

	memset(jws, 0, sizeof(*jws));
	if ((r = skr_testauth_mint(ta, spec, &tok)) == SKR_OK)
		r = skr_jws_parse((const char *)tok.data, tok.len, 0, jws);
	skr_buf_free(&tok);
	return r;
}

/* The JWKS entry with kid, as a key. */
static skr_key *
jwks_key(const skr_testauth *ta, const char *kid, unsigned form)
{
	json_t *jwks = skr_testauth_jwks_json(ta, form), *k;
	skr_key *key = NULL;
	size_t i;

	json_array_foreach(json_object_get(jwks, "keys"), i, k) {
		if (strcmp(json_string_value(json_object_get(k, "kid")),
		    kid) == 0) {
			if (skr_jwk_parse(k, SKR_JWK_PUBLIC, &key) != SKR_OK)
				key = NULL;
			break;
		}
	}
	json_decref(jwks);
	return key;
}

static int
verify_with_jwks(const skr_testauth *ta, const skr_jws *jws, unsigned allowed)
{
	const char *kid = json_string_value(json_object_get(jws->header, "kid"));
	skr_key *key;
	int r;

	if (kid == NULL || (key = jwks_key(ta, kid, SKR_TESTAUTH_JWKS_JWK)) ==
	    NULL)
		return SKR_ERR_TOKEN_KID;
	r = skr_jws_verify(jws, skr_key_pkey(key), allowed);
	skr_key_free(key);
	return r;
}

static json_int_t
claim_int(const skr_jws *jws, const char *path)
{
	return json_integer_value(skr_json_path(jws->payload, path));
}

static const char *
claim_str(const skr_jws *jws, const char *path)
{
	return json_string_value(skr_json_path(jws->payload, path));
}

static void
test_parse_names(void)
{
	skr_testauth_tee tee;
	skr_testauth *ta = NULL;
	static const char *bad_tee[] = { "", "SEVSNP", "sev", "sgx ", "tdxvm" };
	static const char *bad_iss[] = {
		"http://127.0.0.1/x", "https://", "https://127.0.0.1/x/",
		"127.0.0.1", "",
	};
	static const char *bad_alg[] = { "none", "HS256", "RS384", "ES512",
		"rs256", "" };
	size_t i;

	CHECK_OK(skr_testauth_tee_parse("sevsnp", &tee));
	CHECK(tee == SKR_TESTAUTH_TEE_SEVSNP);
	CHECK_OK(skr_testauth_tee_parse("tdx", &tee));
	CHECK(tee == SKR_TESTAUTH_TEE_TDX);
	CHECK_OK(skr_testauth_tee_parse("sgx", &tee));
	CHECK(tee == SKR_TESTAUTH_TEE_SGX);
	CHECK_STR(skr_testauth_tee_name(SKR_TESTAUTH_TEE_TDX), "tdx");
	for (i = 0; i < sizeof(bad_tee) / sizeof(bad_tee[0]); i++)
		CHECK_ERR(skr_testauth_tee_parse(bad_tee[i], &tee),
		    SKR_ERR_INVAL);
	CHECK_ERR(skr_testauth_tee_parse(NULL, &tee), SKR_ERR_INVAL);

	for (i = 0; i < sizeof(bad_iss) / sizeof(bad_iss[0]); i++) {
		CHECK_ERR(skr_testauth_new(bad_iss[i], NULL, &ta),
		    SKR_ERR_INVAL);
		CHECK(ta == NULL);
	}
	CHECK_ERR(skr_testauth_new(NULL, NULL, &ta), SKR_ERR_INVAL);
	for (i = 0; i < sizeof(bad_alg) / sizeof(bad_alg[0]); i++) {
		CHECK_ERR(skr_testauth_new(ISSUER, bad_alg[i], &ta),
		    SKR_ERR_UNSUPPORTED);
		CHECK(ta == NULL);
	}
}

/* Every alg: the token verifies with the published key and carries the
 * wrapping key, nonce and test marker. */
static void
test_mint_verify(const char *alg)
{
	skr_testauth *ta = NULL;
	skr_testauth_claims spec;
	skr_jws jws;
	json_t *keys, *jwk, *ops;
	skr_key *got = NULL;
	skr_alg want;

	CHECK_OK(skr_testauth_new(ISSUER, alg, &ta));
	if (ta == NULL)
		return;
	CHECK_STR(skr_testauth_alg(ta), alg);
	CHECK_STR(skr_testauth_issuer(ta), ISSUER);
	CHECK(skr_testauth_nkeys(ta) == 1);
	CHECK(skr_testauth_kid(ta) != NULL &&
	    strlen(skr_testauth_kid(ta)) == 43);

	memset(&spec, 0, sizeof(spec));
	spec.tee = SKR_TESTAUTH_TEE_SEVSNP;
	spec.wrapping_key = wrap_key;
	spec.nonce = "bm9uY2UtMTIz";
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK_OK(skr_alg_parse(alg, &want));
	CHECK(jws.alg == want);
	CHECK_OK(verify_with_jwks(ta, &jws, SKR_ALG_BIT(want)));
	CHECK_STR(json_string_value(json_object_get(jws.header, "kid")),
	    skr_testauth_kid(ta));
	CHECK_STR(json_string_value(json_object_get(jws.header, "typ")),
	    "JWT");
	CHECK_STR(json_string_value(json_object_get(jws.header, "jku")),
	    ISSUER "/certs");
	CHECK(json_is_true(json_object_get(jws.payload, SKR_TESTAUTH_CLAIM)));
	CHECK_STR(claim_str(&jws, "iss"), ISSUER);
	CHECK(claim_str(&jws, "jti") != NULL &&
	    strlen(claim_str(&jws, "jti")) == 64);
	CHECK_STR(claim_str(&jws, "x-ms-runtime.client-payload.nonce"),
	    "bm9uY2UtMTIz");

	keys = skr_json_path(jws.payload, "x-ms-runtime.keys");
	CHECK(json_is_array(keys) && json_array_size(keys) == 1);
	jwk = json_array_get(keys, 0);
	CHECK_STR(json_string_value(json_object_get(jwk, "kid")),
	    SKR_TESTAUTH_WRAPKEY_KID);
	CHECK_STR(json_string_value(json_object_get(jwk, "kty")), "RSA");
	ops = json_pack("[s]", "encrypt");
	CHECK(json_equal(json_object_get(jwk, "key_ops"), ops) == 1);
	json_decref(ops);
	CHECK(json_object_get(jwk, "d") == NULL);
	CHECK(json_object_get(jwk, "p") == NULL);
	CHECK_OK(skr_jwk_parse(jwk, 0, &got));
	CHECK(got != NULL && skr_key_public_equal(got, wrap_key));
	skr_key_free(got);

	/* The signature covers the payload: one changed byte fails. */
	if (jws.payload_raw.len > 10) {
		jws.signing_input[jws.signing_len - 5] ^= 1;
		CHECK(verify_with_jwks(ta, &jws, 0) != SKR_OK);
	}
	skr_jws_clear(&jws);
	skr_testauth_free(ta);
}

static void
test_shapes(skr_testauth *ta)
{
	skr_testauth_claims spec;
	skr_jws jws;

	memset(&spec, 0, sizeof(spec));
	spec.now = NOW;

	/* SEV-SNP CVM: the claims policy-cvm-*.json look at. */
	spec.tee = SKR_TESTAUTH_TEE_SEVSNP;
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK_STR(claim_str(&jws, "x-ms-attestation-type"), "azurevm");
	CHECK_STR(claim_str(&jws, "x-ms-isolation-tee.x-ms-attestation-type"),
	    "sevsnpvm");
	CHECK_STR(claim_str(&jws, "x-ms-isolation-tee.x-ms-compliance-status"),
	    "azure-compliant-cvm");
	CHECK(json_is_false(skr_json_path(jws.payload,
	    "x-ms-isolation-tee.x-ms-sevsnpvm-is-debuggable")));
	CHECK(claim_int(&jws, "x-ms-isolation-tee.x-ms-sevsnpvm-microcode-svn")
	    >= 115);
	CHECK(json_is_true(skr_json_path(jws.payload,
	    "x-ms-isolation-tee.x-ms-runtime.vm-configuration.secure-boot")));
	CHECK(json_is_true(skr_json_path(jws.payload, "secureboot")));
	CHECK_STR(json_string_value(json_object_get(json_array_get(
	    skr_json_path(jws.payload, "x-ms-isolation-tee.x-ms-runtime.keys"),
	    0), "kid")), "HCLAkPub");
	/* Synthetic measurements, never a real one. */
	CHECK(strncmp(claim_str(&jws,
	    "x-ms-isolation-tee.x-ms-sevsnpvm-launchmeasurement"), "7e57",
	    4) == 0);
	/* No wrapping key and no nonce asked for: none invented. */
	CHECK(skr_json_path(jws.payload, "x-ms-runtime") == NULL);
	CHECK(json_is_true(json_object_get(jws.payload, SKR_TESTAUTH_CLAIM)));
	skr_jws_clear(&jws);

	/* TDX CVM. */
	spec.tee = SKR_TESTAUTH_TEE_TDX;
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK_STR(claim_str(&jws, "x-ms-isolation-tee.x-ms-attestation-type"),
	    "tdxvm");
	CHECK_STR(claim_str(&jws, "x-ms-isolation-tee.x-ms-compliance-status"),
	    "azure-compliant-cvm");
	CHECK(claim_str(&jws, "x-ms-isolation-tee.tdx_mrtd") != NULL &&
	    strlen(claim_str(&jws, "x-ms-isolation-tee.tdx_mrtd")) == 96);
	CHECK(claim_str(&jws, "x-ms-isolation-tee.tdx_rtmr3") != NULL);
	CHECK(json_is_false(skr_json_path(jws.payload,
	    "x-ms-isolation-tee.tdx_td_attributes_debug")));
	CHECK(skr_json_path(jws.payload,
	    "x-ms-isolation-tee.x-ms-sevsnpvm-is-debuggable") == NULL);
	skr_jws_clear(&jws);

	/* SGX: policy-sgx-eus.json's claims; no runtime keys by default. */
	spec.tee = SKR_TESTAUTH_TEE_SGX;
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK_STR(claim_str(&jws, "x-ms-attestation-type"), "sgx");
	CHECK(json_is_false(json_object_get(jws.payload,
	    "x-ms-sgx-is-debuggable")));
	CHECK(claim_str(&jws, "x-ms-sgx-mrsigner") != NULL &&
	    strlen(claim_str(&jws, "x-ms-sgx-mrsigner")) == 64);
	CHECK(claim_str(&jws, "x-ms-sgx-mrenclave") != NULL);
	CHECK(strcmp(claim_str(&jws, "x-ms-sgx-mrenclave"),
	    claim_str(&jws, "x-ms-sgx-mrsigner")) != 0);
	CHECK(claim_int(&jws, "x-ms-sgx-svn") >= 1);
	CHECK(skr_json_path(jws.payload, "x-ms-isolation-tee") == NULL);
	CHECK(skr_json_path(jws.payload, "x-ms-runtime") == NULL);
	skr_jws_clear(&jws);

	/* SGX with a wrapping key: now it has one. */
	spec.wrapping_key = wrap_key;
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK_STR(json_string_value(json_object_get(json_array_get(
	    skr_json_path(jws.payload, "x-ms-runtime.keys"), 0), "kid")),
	    SKR_TESTAUTH_WRAPKEY_KID);
	CHECK(skr_json_path(jws.payload, "x-ms-runtime.client-payload") ==
	    NULL);
	skr_jws_clear(&jws);

	spec.tee = (skr_testauth_tee)7;
	CHECK_ERR(mint_parse(ta, &spec, &jws), SKR_ERR_INVAL);
}

/* Every claim name of a real MAA token exists in ours, with the same JSON
 * type, at the same nesting. */
static int
same_shape(const json_t *real, const json_t *ours, const char *where)
{
	const char *k;
	json_t *v, *o;
	int ok = 1;

	json_object_foreach((json_t *)real, k, v) {
		o = json_object_get(ours, k);
		if (o == NULL || (json_typeof(o) != json_typeof(v) &&
		    !(json_is_boolean(o) && json_is_boolean(v)))) {
			fprintf(stderr, "shape: %s%s%s missing or of another "
			    "type\n", where, *where ? "." : "", k);
			ok = 0;
		} else if (json_is_object(v) && strcmp(k, "x-ms-policy") != 0) {
			char sub[256];

			snprintf(sub, sizeof(sub), "%s%s%s", where,
			    *where ? "." : "", k);
			ok &= same_shape(v, o, sub);
		}
	}
	return ok;
}

/* The conformance fixtures: $CONFORMANCE_DIR, the compile-time define, or
 * ../shared/conformance seen from a build directory inside the tree. */
static const char *
conformance_dir(void)
{
	const char *d = getenv("CONFORMANCE_DIR");

	if (d != NULL && *d != '\0')
		return d;
#ifdef CONFORMANCE_DIR
	return CONFORMANCE_DIR;
#else
	return "../../shared/conformance";
#endif
}

static json_t *
fixture_payload(const char *name)
{
	char path[1024], text[65536];
	skr_jws jws;
	json_t *p = NULL;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", conformance_dir(), name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	text[n] = '\0';
	if (skr_jws_parse(text, n, 0, &jws) == SKR_OK) {
		p = json_incref(jws.payload);
		skr_jws_clear(&jws);
	}
	return p;
}

static void
test_conformance_shape(skr_testauth *ta)
{
	static const struct {
		const char *file;
		skr_testauth_tee tee;
	} fx[] = {
		{ "maa-sevsnp-cvm-weu.jwt", SKR_TESTAUTH_TEE_SEVSNP },
		{ "maa-sgx-eus.jwt", SKR_TESTAUTH_TEE_SGX },
	};
	skr_testauth_claims spec;
	skr_jws jws;
	json_t *real;
	size_t i;

	if (access(conformance_dir(), R_OK) != 0) {
		printf("conformance fixtures absent: shape comparison not "
		    "run\n");
		return;
	}
	for (i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		real = fixture_payload(fx[i].file);
		CHECK(real != NULL);
		if (real == NULL)
			continue;
		memset(&spec, 0, sizeof(spec));
		spec.tee = fx[i].tee;
		if (fx[i].tee != SKR_TESTAUTH_TEE_SGX) {
			spec.wrapping_key = wrap_key;
			spec.nonce = "QURFMDEwMQ==";
		}
		CHECK_OK(mint_parse(ta, &spec, &jws));
		CHECK(same_shape(real, jws.payload, ""));
		/* ...and the values are not the real ones. */
		CHECK(!json_equal(json_object_get(real, "x-ms-sgx-mrsigner"),
		    json_object_get(jws.payload, "x-ms-sgx-mrsigner")) ||
		    json_object_get(real, "x-ms-sgx-mrsigner") == NULL);
		CHECK(!json_equal(skr_json_path(real,
		    "x-ms-isolation-tee.x-ms-sevsnpvm-launchmeasurement"),
		    skr_json_path(jws.payload,
		    "x-ms-isolation-tee.x-ms-sevsnpvm-launchmeasurement")) ||
		    fx[i].tee == SKR_TESTAUTH_TEE_SGX);
		skr_jws_clear(&jws);
		json_decref(real);
	}
}

static void
test_overrides(skr_testauth *ta)
{
	skr_testauth_claims spec;
	skr_jws jws;
	json_t *ov;
	static const char *bad_paths[] = { "a..b", ".a", "a.", "" };
	size_t i;

	memset(&spec, 0, sizeof(spec));
	spec.tee = SKR_TESTAUTH_TEE_SEVSNP;
	spec.wrapping_key = wrap_key;
	spec.nonce = "n1";

	/* Dotted paths set and remove; nested objects merge; arrays replace;
	 * overrides win over the built-in claims. */
	ov = json_pack("{s:s, s:n, s:{s:{s:s}}, s:[i], s:i, s:s, s:n, s:n}",
	    "x-ms-isolation-tee.x-ms-attestation-type", "tdxvm",
	    "x-ms-isolation-tee.x-ms-compliance-status",
	    "x-ms-runtime", "client-payload", "extra", "e1",
	    "x-ms-azurevm-attested-pcrs", 7,
	    "x-ms-isolation-tee.x-ms-sevsnpvm-microcode-svn", 1,
	    "iss", "https://elsewhere.example",
	    "no.such.claim", "jti");
	spec.overrides = ov;
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK_OK(verify_with_jwks(ta, &jws, 0));
	CHECK_STR(claim_str(&jws, "x-ms-isolation-tee.x-ms-attestation-type"),
	    "tdxvm");
	CHECK(skr_json_path(jws.payload,
	    "x-ms-isolation-tee.x-ms-compliance-status") == NULL);
	CHECK(skr_json_path(jws.payload,
	    "x-ms-isolation-tee.x-ms-sevsnpvm-vmpl") != NULL);
	CHECK_STR(claim_str(&jws, "x-ms-runtime.client-payload.extra"), "e1");
	CHECK_STR(claim_str(&jws, "x-ms-runtime.client-payload.nonce"), "n1");
	CHECK(skr_json_path(jws.payload, "x-ms-runtime.keys") != NULL);
	CHECK(json_array_size(json_object_get(jws.payload,
	    "x-ms-azurevm-attested-pcrs")) == 1);
	CHECK(claim_int(&jws, "x-ms-isolation-tee.x-ms-sevsnpvm-microcode-svn")
	    == 1);
	CHECK_STR(claim_str(&jws, "iss"), "https://elsewhere.example");
	CHECK(json_object_get(jws.payload, "jti") == NULL);
	CHECK(json_object_get(jws.payload, "no") == NULL);
	skr_jws_clear(&jws);
	json_decref(ov);

	/* A new nested claim creates its parents; removing the wrapping key
	 * list leaves a token without one. */
	ov = json_pack("{s:b, s:n, s:n}", "a.b.c", 1, "x-ms-runtime.keys",
	    SKR_TESTAUTH_CLAIM);
	spec.overrides = ov;
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK(json_is_true(skr_json_path(jws.payload, "a.b.c")));
	CHECK(skr_json_path(jws.payload, "x-ms-runtime.keys") == NULL);
	CHECK(json_object_get(jws.payload, SKR_TESTAUTH_CLAIM) == NULL);
	skr_jws_clear(&jws);
	json_decref(ov);

	/* Bad overrides are refused, not half applied. */
	for (i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		ov = json_pack("{s:i}", bad_paths[i], 1);
		spec.overrides = ov;
		CHECK_ERR(mint_parse(ta, &spec, &jws), SKR_ERR_INVAL);
		json_decref(ov);
	}
	ov = json_pack("[i]", 1);
	spec.overrides = ov;
	CHECK_ERR(mint_parse(ta, &spec, &jws), SKR_ERR_INVAL);
	json_decref(ov);
}

static void
test_lifetimes(skr_testauth *ta)
{
	skr_testauth_claims spec;
	skr_buf tok = SKR_BUF_INIT;
	skr_jws jws;

	memset(&spec, 0, sizeof(spec));
	spec.now = NOW;
	spec.lifetime = 300;
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK(claim_int(&jws, "iat") == NOW);
	CHECK(claim_int(&jws, "nbf") == NOW);
	CHECK(claim_int(&jws, "exp") == NOW + 300);
	CHECK(claim_int(&jws, "x-ms-isolation-tee.x-ms-runtime."
	    "vm-configuration.current-time") == NOW);
	skr_jws_clear(&jws);

	/* Expired: issued 1000 s ago for 300 s. */
	spec.iat_offset = -1000;
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK(claim_int(&jws, "iat") == NOW - 1000);
	CHECK(claim_int(&jws, "exp") == NOW - 700);
	skr_jws_clear(&jws);

	/* Not yet valid. */
	spec.iat_offset = 3600;
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK(claim_int(&jws, "nbf") == NOW + 3600);
	CHECK(claim_int(&jws, "exp") == NOW + 3900);
	skr_jws_clear(&jws);

	/* Default: MAA's eight hours. */
	spec.iat_offset = 0;
	spec.lifetime = 0;
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK(claim_int(&jws, "exp") - claim_int(&jws, "iat") ==
	    SKR_TESTAUTH_DEFAULT_LIFETIME);
	skr_jws_clear(&jws);

	/* now = 0 is the clock. */
	spec.now = 0;
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK(claim_int(&jws, "iat") >= NOW);
	skr_jws_clear(&jws);

	spec.lifetime = -1;
	CHECK_ERR(mint_parse(ta, &spec, &jws), SKR_ERR_INVAL);
	spec.lifetime = 300;
	spec.iat_offset = (int64_t)1 << 50;
	CHECK_ERR(mint_parse(ta, &spec, &jws), SKR_ERR_INVAL);
	CHECK_ERR(skr_testauth_mint(ta, NULL, &tok), SKR_ERR_INVAL);
	CHECK(tok.len == 0);
}

/* Split a compact token and decode its header. */
static json_t *
raw_header(const skr_buf *tok, size_t *sig_len)
{
	const char *s = (const char *)tok->data, *d1, *d2;
	skr_buf h = SKR_BUF_INIT, sig = SKR_BUF_INIT;
	json_t *hdr = NULL;

	if ((d1 = strchr(s, '.')) == NULL || (d2 = strchr(d1 + 1, '.')) ==
	    NULL)
		return NULL;
	if (skr_b64url_decode(&h, s, (size_t)(d1 - s)) == SKR_OK &&
	    skr_b64url_decode(&sig, d2 + 1, strlen(d2 + 1)) == SKR_OK)
		(void)skr_json_parse((const char *)h.data, h.len, 0, &hdr);
	*sig_len = sig.len;
	skr_buf_free(&h);
	skr_buf_free(&sig);
	return hdr;
}

static void
test_hostile(skr_testauth *ta)
{
	skr_testauth_claims spec;
	skr_buf tok = SKR_BUF_INIT, pem = SKR_BUF_INIT;
	skr_jws jws;
	json_t *hx, *hdr;
	size_t siglen = 0;
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	const char *dot;

	memset(&spec, 0, sizeof(spec));

	/* A kid not in the set: the signature is good, the key unknown. */
	spec.kid = "not-a-published-kid";
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK_STR(json_string_value(json_object_get(jws.header, "kid")),
	    "not-a-published-kid");
	CHECK_ERR(verify_with_jwks(ta, &jws, 0), SKR_ERR_TOKEN_KID);
	skr_jws_clear(&jws);
	spec.kid = NULL;

	/* Extra header members (a jku to follow, an embedded key) and a
	 * removed kid. */
	hx = json_pack("{s:s, s:s, s:n}", "jku", "https://evil.example/certs",
	    "x5u", "https://evil.example/x5u", "kid");
	spec.header_extra = hx;
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK_STR(json_string_value(json_object_get(jws.header, "jku")),
	    "https://evil.example/certs");
	CHECK(json_object_get(jws.header, "x5u") != NULL);
	CHECK(json_object_get(jws.header, "kid") == NULL);
	/* The signature is still the authority's. */
	{
		skr_key *k = jwks_key(ta, skr_testauth_kid(ta),
		    SKR_TESTAUTH_JWKS_JWK);
		CHECK(k != NULL);
		CHECK_OK(skr_jws_verify(&jws, skr_key_pkey(k), 0));
		skr_key_free(k);
	}
	skr_jws_clear(&jws);
	json_decref(hx);
	spec.header_extra = NULL;

	/* alg none: an empty signature, which the JWS parser refuses. */
	spec.alg = "none";
	CHECK_OK(skr_testauth_mint(ta, &spec, &tok));
	hdr = raw_header(&tok, &siglen);
	CHECK_STR(json_string_value(json_object_get(hdr, "alg")), "none");
	CHECK(siglen == 0);
	CHECK(tok.len > 0 && tok.data[tok.len - 1] == '.');
	CHECK_ERR(skr_jws_parse((const char *)tok.data, tok.len, 0, &jws),
	    SKR_ERR_JWS_ALG);
	json_decref(hdr);
	skr_buf_reset(&tok);

	/* HS256 keyed with the public key PEM: the algorithm confusion. */
	spec.alg = "HS256";
	CHECK_OK(skr_testauth_mint(ta, &spec, &tok));
	hdr = raw_header(&tok, &siglen);
	CHECK_STR(json_string_value(json_object_get(hdr, "alg")), "HS256");
	CHECK(siglen == 32);
	CHECK_OK(skr_key_to_pem(skr_testauth_signing_key(ta), 0, &pem));
	dot = strrchr((const char *)tok.data, '.');
	HMAC(EVP_sha256(), pem.data, (int)pem.len, tok.data,
	    (size_t)(dot - (const char *)tok.data), mac, &maclen);
	{
		skr_buf want = SKR_BUF_INIT;

		CHECK_OK(skr_b64url_encode(&want, mac, maclen));
		CHECK_STR(dot + 1, skr_buf_cstr(&want));
		skr_buf_free(&want);
	}
	CHECK_ERR(skr_jws_parse((const char *)tok.data, tok.len, 0, &jws),
	    SKR_ERR_JWS_ALG);
	json_decref(hdr);
	skr_buf_reset(&tok);

	/* An alg of the wrong family: parses, refused at verification. */
	spec.alg = "ES256";
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK(jws.alg == SKR_ALG_ES256);
	CHECK_ERR(verify_with_jwks(ta, &jws, 0), SKR_ERR_JWS_ALG);
	skr_jws_clear(&jws);

	/* Another alg that fits the key: a genuine signature under it, which
	 * an allow-list can still refuse. */
	spec.alg = "RS512";
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK(jws.alg == SKR_ALG_RS512);
	CHECK_OK(verify_with_jwks(ta, &jws, 0));
	CHECK_ERR(verify_with_jwks(ta, &jws, SKR_ALG_BIT(SKR_ALG_RS256)),
	    SKR_ERR_JWS_ALG);
	skr_jws_clear(&jws);

	/* alg forged through the header members. */
	spec.alg = NULL;
	hx = json_pack("{s:s}", "alg", "PS384");
	spec.header_extra = hx;
	CHECK_OK(mint_parse(ta, &spec, &jws));
	CHECK(jws.alg == SKR_ALG_PS384);
	CHECK_ERR(verify_with_jwks(ta, &jws, 0), SKR_ERR_JWS_SIGNATURE);
	skr_jws_clear(&jws);
	json_decref(hx);
	spec.header_extra = NULL;

	spec.alg = "RS1";
	CHECK_ERR(skr_testauth_mint(ta, &spec, &tok), SKR_ERR_INVAL);
	spec.alg = NULL;
	hx = json_pack("[]");
	spec.header_extra = hx;
	CHECK_ERR(skr_testauth_mint(ta, &spec, &tok), SKR_ERR_INVAL);
	json_decref(hx);
	skr_buf_free(&tok);
	skr_buf_free(&pem);
}

static void
test_wrapping_key_refused(skr_testauth *ta)
{
	skr_testauth_claims spec;
	skr_buf tok = SKR_BUF_INIT;
	skr_key *ec = NULL;

	memset(&spec, 0, sizeof(spec));
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &ec));
	spec.wrapping_key = ec;
	CHECK_ERR(skr_testauth_mint(ta, &spec, &tok), SKR_ERR_INVAL);
	CHECK(tok.len == 0);
	skr_key_free(ec);
}

static void
test_jwks(skr_testauth *ta)
{
	json_t *jwks, *k, *cfg;
	skr_key *a = NULL, *b = NULL;
	skr_buf der = SKR_BUF_INIT;
	const unsigned char *p;
	X509 *cert = NULL;
	const char *x5c;

	jwks = skr_testauth_jwks_json(ta, SKR_TESTAUTH_JWKS_JWK);
	k = json_array_get(json_object_get(jwks, "keys"), 0);
	CHECK(json_array_size(json_object_get(jwks, "keys")) == 1);
	CHECK_STR(json_string_value(json_object_get(k, "kid")),
	    skr_testauth_kid(ta));
	CHECK_STR(json_string_value(json_object_get(k, "use")), "sig");
	CHECK_STR(json_string_value(json_object_get(k, "alg")),
	    skr_testauth_alg(ta));
	CHECK(json_object_get(k, "n") != NULL && json_object_get(k, "e"));
	CHECK(json_object_get(k, "x5c") == NULL);
	CHECK(json_object_get(k, "d") == NULL);
	CHECK(json_object_get(k, "p") == NULL);
	CHECK_OK(skr_jwk_parse(k, 0, &a));
	CHECK(a != NULL && !skr_key_has_private(a));
	json_decref(jwks);

	/* x5c only, like MAA's /certs: the certificate holds the same key. */
	jwks = skr_testauth_jwks_json(ta, SKR_TESTAUTH_JWKS_X5C);
	k = json_array_get(json_object_get(jwks, "keys"), 0);
	CHECK(json_object_get(k, "n") == NULL);
	x5c = json_string_value(json_array_get(json_object_get(k, "x5c"), 0));
	CHECK(x5c != NULL);
	if (x5c != NULL) {
		CHECK_OK(skr_b64_decode(&der, x5c, strlen(x5c)));
		p = der.data;
		cert = d2i_X509(NULL, &p, (long)der.len);
		CHECK(cert != NULL);
		if (cert != NULL) {
			CHECK_OK(skr_key_from_pkey(X509_get0_pubkey(cert), &b));
			CHECK(a != NULL && b != NULL &&
			    skr_key_public_equal(a, b));
			CHECK(X509_verify(cert, X509_get0_pubkey(cert)) == 1);
		}
	}
	json_decref(jwks);
	jwks = skr_testauth_jwks_json(ta, 0);
	k = json_array_get(json_object_get(jwks, "keys"), 0);
	CHECK(json_object_get(k, "n") != NULL && json_object_get(k, "x5c"));
	json_decref(jwks);

	cfg = skr_testauth_openid_config_json(ta);
	CHECK_STR(json_string_value(json_object_get(cfg, "issuer")),
	    skr_testauth_issuer(ta));
	CHECK_STR(json_string_value(json_object_get(cfg, "jwks_uri")),
	    ISSUER "/certs");
	json_decref(cfg);

	X509_free(cert);
	skr_key_free(a);
	skr_key_free(b);
	skr_buf_free(&der);
}

static int
jwks_has(const skr_testauth *ta, const char *kid)
{
	skr_key *k = jwks_key(ta, kid, 0);
	int has = k != NULL;

	skr_key_free(k);
	return has;
}

static void
test_rotate(void)
{
	skr_testauth *ta = NULL;
	skr_testauth_claims spec;
	skr_jws old;
	char kid0[128], kid1[128];
	size_t i;

	CHECK_OK(skr_testauth_new(ISSUER, "ES256", &ta));
	if (ta == NULL)
		return;
	memset(&spec, 0, sizeof(spec));
	snprintf(kid0, sizeof(kid0), "%s", skr_testauth_kid(ta));
	CHECK_OK(mint_parse(ta, &spec, &old));

	CHECK_OK(skr_testauth_rotate(ta, 0));
	snprintf(kid1, sizeof(kid1), "%s", skr_testauth_kid(ta));
	CHECK(strcmp(kid0, kid1) != 0);
	CHECK(skr_testauth_nkeys(ta) == 2);
	CHECK(jwks_has(ta, kid0) && jwks_has(ta, kid1));
	/* A token from before the rotation still verifies. */
	CHECK_OK(verify_with_jwks(ta, &old, 0));

	/* The grace list is bounded. */
	for (i = 0; i < SKR_TESTAUTH_GRACE_KEYS + 2; i++)
		CHECK_OK(skr_testauth_rotate(ta, 0));
	CHECK(skr_testauth_nkeys(ta) == 1 + SKR_TESTAUTH_GRACE_KEYS);
	CHECK(!jwks_has(ta, kid0));
	CHECK(!jwks_has(ta, kid1));

	/* Dropped: only the new key; the old token's kid is unknown. */
	snprintf(kid1, sizeof(kid1), "%s", skr_testauth_kid(ta));
	CHECK_OK(skr_testauth_rotate(ta, 1));
	CHECK(skr_testauth_nkeys(ta) == 1);
	CHECK(!jwks_has(ta, kid1));
	CHECK(jwks_has(ta, skr_testauth_kid(ta)));
	CHECK_ERR(verify_with_jwks(ta, &old, 0), SKR_ERR_TOKEN_KID);
	skr_jws_clear(&old);
	skr_testauth_free(ta);
}

static void
test_mint_json(skr_testauth *ta)
{
	skr_buf tok = SKR_BUF_INIT, body = SKR_BUF_INIT;
	skr_jws jws;
	json_t *wk = skr_jwk_emit(wrap_key, 0), *ec_jwk;
	skr_key *ec = NULL;
	char *wktext = json_dumps(wk, JSON_COMPACT);
	static const struct {
		const char *body;
		int err;
	} bad[] = {
		{ "", SKR_ERR_JSON },
		{ "{", SKR_ERR_JSON },
		{ "[]", SKR_ERR_BAD_REQUEST },
		{ "\"x\"", SKR_ERR_BAD_REQUEST },
		{ "{\"tee\":\"sev\"}", SKR_ERR_BAD_REQUEST },
		{ "{\"tee\":1}", SKR_ERR_BAD_REQUEST },
		{ "{\"tee\":\"sgx\",\"tee\":\"tdx\"}", SKR_ERR_JSON_DUPLICATE },
		{ "{\"color\":\"blue\"}", SKR_ERR_BAD_REQUEST },
		{ "{\"nonce\":5}", SKR_ERR_BAD_REQUEST },
		{ "{\"claims\":[]}", SKR_ERR_BAD_REQUEST },
		{ "{\"claims\":{\"a..b\":1}}", SKR_ERR_BAD_REQUEST },
		{ "{\"lifetime\":0}", SKR_ERR_BAD_REQUEST },
		{ "{\"lifetime\":-5}", SKR_ERR_BAD_REQUEST },
		{ "{\"lifetime\":\"300\"}", SKR_ERR_BAD_REQUEST },
		{ "{\"lifetime\":1.5}", SKR_ERR_BAD_REQUEST },
		{ "{\"iat_offset\":99999999999}", SKR_ERR_BAD_REQUEST },
		{ "{\"header\":\"x\"}", SKR_ERR_BAD_REQUEST },
		{ "{\"kid\":null}", SKR_ERR_BAD_REQUEST },
		{ "{\"alg\":\"HS1\"}", SKR_ERR_BAD_REQUEST },
		{ "{\"wrapping_key\":\"x\"}", SKR_ERR_BAD_REQUEST },
		{ "{\"wrapping_key\":{\"kty\":\"RSA\"}}", SKR_ERR_JWK_INVALID },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERR(skr_testauth_mint_json(ta, bad[i].body,
		    strlen(bad[i].body), NOW, &tok), bad[i].err);
		CHECK(tok.len == 0);
	}

	/* An EC wrapping key is not what release wraps to. */
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &ec));
	ec_jwk = skr_jwk_emit(ec, 0);
	skr_buf_reset(&body);
	{
		char *t = json_dumps(ec_jwk, JSON_COMPACT);

		skr_buf_appendf(&body, "{\"wrapping_key\":%s}", t);
		free(t);
	}
	CHECK_ERR(skr_testauth_mint_json(ta, (const char *)body.data,
	    body.len, NOW, &tok), SKR_ERR_JWK_UNSUPPORTED);
	json_decref(ec_jwk);
	skr_key_free(ec);

	/* Everything at once. */
	skr_buf_reset(&body);
	skr_buf_appendf(&body, "{\"tee\":\"tdx\",\"wrapping_key\":%s,"
	    "\"nonce\":\"abc\",\"claims\":{\"x-ms-isolation-tee."
	    "tdx_td_attributes_debug\":true},\"lifetime\":60,"
	    "\"iat_offset\":-10,\"header\":{\"jku\":\"https://evil\"},"
	    "\"kid\":\"k9\"}", wktext);
	CHECK_OK(skr_testauth_mint_json(ta, (const char *)body.data, body.len,
	    NOW, &tok));
	CHECK_OK(skr_jws_parse((const char *)tok.data, tok.len, 0, &jws));
	CHECK_STR(claim_str(&jws, "x-ms-isolation-tee.x-ms-attestation-type"),
	    "tdxvm");
	CHECK(json_is_true(skr_json_path(jws.payload,
	    "x-ms-isolation-tee.tdx_td_attributes_debug")));
	CHECK_STR(claim_str(&jws, "x-ms-runtime.client-payload.nonce"), "abc");
	CHECK_STR(json_string_value(json_object_get(json_array_get(
	    skr_json_path(jws.payload, "x-ms-runtime.keys"), 0), "kid")),
	    SKR_TESTAUTH_WRAPKEY_KID);
	CHECK(claim_int(&jws, "iat") == NOW - 10);
	CHECK(claim_int(&jws, "exp") == NOW + 50);
	CHECK_STR(json_string_value(json_object_get(jws.header, "kid")), "k9");
	CHECK_STR(json_string_value(json_object_get(jws.header, "jku")),
	    "https://evil");
	skr_jws_clear(&jws);
	skr_buf_reset(&tok);

	/* Empty object: a default SEV-SNP token. */
	CHECK_OK(skr_testauth_mint_json(ta, "{}", 2, 0, &tok));
	CHECK_OK(skr_jws_parse((const char *)tok.data, tok.len, 0, &jws));
	CHECK_OK(verify_with_jwks(ta, &jws, 0));
	CHECK_STR(claim_str(&jws, "x-ms-isolation-tee.x-ms-attestation-type"),
	    "sevsnpvm");
	skr_jws_clear(&jws);

	free(wktext);
	json_decref(wk);
	skr_buf_free(&tok);
	skr_buf_free(&body);
}

static void
test_persistence(void)
{
	char dir[SKR_TEST_PATH_MAX], path[SKR_TEST_PATH_MAX + 32];
	skr_testauth *ta = NULL, *back = NULL;
	skr_testauth_claims spec;
	skr_jws jws;
	struct stat st;
	FILE *f;

	skr_test_tmpdir(NULL, "testauth", dir, sizeof(dir));
	CHECK(!skr_testauth_stored(dir));
	CHECK(skr_testauth_load(dir, &back) != SKR_OK);
	CHECK(back == NULL);

	CHECK_OK(skr_testauth_new(ISSUER, "PS256", &ta));
	CHECK_OK(skr_testauth_rotate(ta, 0));
	CHECK_OK(skr_testauth_save(ta, dir));
	CHECK(skr_testauth_stored(dir));
	snprintf(path, sizeof(path), "%s/signing-keys.pem", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	CHECK_OK(skr_testauth_load(dir, &back));
	if (back != NULL) {
		CHECK_STR(skr_testauth_issuer(back), ISSUER);
		CHECK_STR(skr_testauth_alg(back), "PS256");
		CHECK_STR(skr_testauth_kid(back), skr_testauth_kid(ta));
		CHECK(skr_testauth_nkeys(back) == 2);
		/* Tokens of the reloaded authority verify with the keys the
		 * original published. */
		memset(&spec, 0, sizeof(spec));
		CHECK_OK(mint_parse(back, &spec, &jws));
		CHECK_OK(verify_with_jwks(ta, &jws, 0));
		skr_jws_clear(&jws);
		skr_testauth_free(back);
		back = NULL;
	}

	/* A damaged key file is refused. */
	if ((f = fopen(path, "w")) != NULL) {
		fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n"
		    "-----END PRIVATE KEY-----\n", f);
		fclose(f);
	}
	CHECK(skr_testauth_load(dir, &back) != SKR_OK);
	CHECK(back == NULL);
	if ((f = fopen(path, "w")) != NULL)
		fclose(f);
	CHECK(skr_testauth_load(dir, &back) != SKR_OK);

	/* TLS material: created once, kept after. */
	CHECK_OK(skr_testauth_tls_ensure(dir));
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	CHECK(stat(path, &st) == 0);
	{
		struct stat st2;

		CHECK_OK(skr_testauth_tls_ensure(dir));
		CHECK(stat(path, &st2) == 0 && st2.st_ino == st.st_ino);
	}
	snprintf(path, sizeof(path), "%s/tls-key.pem", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	static const char *files[] = { "authority.json", "signing-keys.pem",
		"ca.pem", "tls-cert.pem", "tls-key.pem" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	CHECK(rmdir(dir) == 0);
	skr_testauth_free(ta);
}

/* What skrd's verifier (server/token.c) makes of the authority's tokens:
 * good ones pass with their wrapping key and nonce, each hostile kind is
 * refused with its own error. */
static int
verify_token2(skr_testauth *ta, skr_testauth *signer,
    const skr_testauth_claims *spec, unsigned form, skr_token **out)
{
	skr_buf tok = SKR_BUF_INIT;
	skr_token_static st;
	skr_token_trust trust;
	skr_token_opts opts = SKR_TOKEN_OPTS_INIT;
	skr_jwks *keys = NULL;
	json_t *doc = skr_testauth_jwks_json(ta, form);
	int r;

	*out = NULL;
	if ((r = skr_jwks_from_json(doc, NULL, NOW, &keys, NULL)) != SKR_OK)
		goto out;
	st.issuer = skr_testauth_issuer(ta);
	st.keys = keys;
	st.algs = 0;
	skr_token_trust_static(&trust, &st);
	opts.now = NOW;
	if ((r = skr_testauth_mint(signer, spec, &tok)) != SKR_OK)
		goto out;
	r = skr_token_verify((const char *)tok.data, tok.len, &trust, &opts,
	    out, NULL);
out:
	skr_jwks_unref(keys);
	json_decref(doc);
	skr_buf_free(&tok);
	return r;
}

static int
verify_token(skr_testauth *ta, const skr_testauth_claims *spec,
    unsigned form, skr_token **out)
{
	return verify_token2(ta, ta, spec, form, out);
}

static void
test_verifier(skr_testauth *ta)
{
	static const unsigned forms[] = { SKR_TESTAUTH_JWKS_JWK,
		SKR_TESTAUTH_JWKS_X5C, SKR_TESTAUTH_JWKS_BOTH };
	static const struct {
		const char *alg;
		int err;
	} algs[] = {
		{ "none", SKR_ERR_TOKEN_ALG },
		{ "HS256", SKR_ERR_TOKEN_ALG },
		{ "ES256", SKR_ERR_TOKEN_ALG },
	};
	skr_testauth_claims spec;
	skr_testauth *other = NULL;
	skr_token *tok = NULL;
	skr_key *wk = NULL;
	char *wkid = NULL;
	json_t *hx, *ov;
	size_t i;

	memset(&spec, 0, sizeof(spec));
	spec.now = NOW;
	spec.tee = SKR_TESTAUTH_TEE_SEVSNP;
	spec.wrapping_key = wrap_key;
	spec.nonce = "verifier-nonce";
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		CHECK_OK(verify_token(ta, &spec, forms[i], &tok));
		if (tok == NULL)
			continue;
		CHECK_STR(tok->iss, skr_testauth_issuer(ta));
		CHECK_STR(tok->attestation_type, "sevsnpvm");
		CHECK_STR(skr_token_nonce(tok), "verifier-nonce");
		CHECK(tok->exp - tok->iat == SKR_TESTAUTH_DEFAULT_LIFETIME);
		CHECK_OK(skr_token_wrapping_key(tok, NULL, &wk, &wkid));
		CHECK(wk != NULL && skr_key_public_equal(wk, wrap_key));
		CHECK_STR(wkid, SKR_TESTAUTH_WRAPKEY_KID);
		skr_key_free(wk);
		free(wkid);
		wk = NULL;
		wkid = NULL;
		skr_token_free(tok);
		tok = NULL;
	}

	/* TDX and SGX; SGX without a wrapping key has none to release to. */
	spec.tee = SKR_TESTAUTH_TEE_TDX;
	CHECK_OK(verify_token(ta, &spec, 0, &tok));
	CHECK(tok != NULL && tok->attestation_type != NULL &&
	    strcmp(tok->attestation_type, "tdxvm") == 0);
	skr_token_free(tok);
	spec.tee = SKR_TESTAUTH_TEE_SGX;
	spec.wrapping_key = NULL;
	CHECK_OK(verify_token(ta, &spec, 0, &tok));
	CHECK(tok != NULL && tok->attestation_type != NULL &&
	    strcmp(tok->attestation_type, "sgx") == 0);
	if (tok != NULL)
		CHECK_ERR(skr_token_wrapping_key(tok, NULL, &wk, NULL),
		    SKR_ERR_WRAPKEY_MISSING);
	skr_token_free(tok);
	spec.tee = SKR_TESTAUTH_TEE_SEVSNP;

	/* Time: expired, not yet valid. */
	spec.lifetime = 300;
	spec.iat_offset = -1000;
	CHECK_ERR(verify_token(ta, &spec, 0, &tok), SKR_ERR_TOKEN_EXPIRED);
	spec.iat_offset = 3600;
	CHECK_ERR(verify_token(ta, &spec, 0, &tok),
	    SKR_ERR_TOKEN_NOT_YET_VALID);
	spec.iat_offset = 0;

	/* Hostile headers and algorithms. */
	spec.kid = "not-a-published-kid";
	CHECK_ERR(verify_token(ta, &spec, 0, &tok), SKR_ERR_TOKEN_KID);
	spec.kid = NULL;
	hx = json_pack("{s:s}", "jku", "https://evil.example/certs");
	spec.header_extra = hx;
	CHECK_ERR(verify_token(ta, &spec, 0, &tok), SKR_ERR_TOKEN_HEADER);
	json_decref(hx);
	/* The JWKS pins each key's alg (RFC 7517 4.4): a PS256 header over
	 * this RS256 key is refused before the signature is looked at. */
	hx = json_pack("{s:s}", "alg", "PS256");
	spec.header_extra = hx;
	CHECK_ERR(verify_token(ta, &spec, 0, &tok), SKR_ERR_TOKEN_ALG);
	json_decref(hx);
	spec.header_extra = NULL;
	/* Signed by another key under this authority's name and kid. */
	CHECK_OK(skr_testauth_new(skr_testauth_issuer(ta), NULL, &other));
	if (other != NULL) {
		spec.kid = skr_testauth_kid(ta);
		CHECK_ERR(verify_token2(ta, other, &spec, 0, &tok),
		    SKR_ERR_TOKEN_SIGNATURE);
		spec.kid = NULL;
		skr_testauth_free(other);
	}
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		spec.alg = algs[i].alg;
		CHECK_ERR(verify_token(ta, &spec, 0, &tok), algs[i].err);
	}
	spec.alg = NULL;

	/* Another issuer named in the token is not this authority (and the
	 * default jku, on this authority's origin, would not match it). */
	ov = json_pack("{s:s}", "iss", "https://127.0.0.1:1/other");
	spec.overrides = ov;
	CHECK_ERR(verify_token(ta, &spec, 0, &tok), SKR_ERR_TOKEN_HEADER);
	hx = json_pack("{s:n}", "jku");
	spec.header_extra = hx;
	CHECK_ERR(verify_token(ta, &spec, 0, &tok), SKR_ERR_TOKEN_ISSUER);
	spec.header_extra = NULL;
	json_decref(hx);
	json_decref(ov);
	/* Removing exp makes the token unacceptable. */
	ov = json_pack("{s:n}", "exp");
	spec.overrides = ov;
	CHECK_ERR(verify_token(ta, &spec, 0, &tok), SKR_ERR_TOKEN_EXPIRED);
	json_decref(ov);
	CHECK(tok == NULL);
}

int
main(void)
{
	skr_testauth *ta = NULL;

	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &wrap_key));
	if (wrap_key == NULL)
		return check_done();
	test_parse_names();
	test_mint_verify("RS256");
	test_mint_verify("ES256");
	test_mint_verify("PS256");
	CHECK_OK(skr_testauth_new(ISSUER, NULL, &ta));
	if (ta != NULL) {
		test_shapes(ta);
		test_conformance_shape(ta);
		test_overrides(ta);
		test_lifetimes(ta);
		test_hostile(ta);
		test_wrapping_key_refused(ta);
		test_jwks(ta);
		test_mint_json(ta);
		test_verifier(ta);
		skr_testauth_free(ta);
	}
	test_rotate();
	test_persistence();
	skr_key_free(wrap_key);
	return check_done();
}
