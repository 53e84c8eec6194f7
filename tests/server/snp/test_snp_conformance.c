/*
 * Conformance: every row of shared/conformance/snp/README.md -- real AMD
 * SEV-SNP reports, VCEKs and VLEKs, AMD's published roots and Azure vTPM
 * evidence -- decided exactly as listed, with every expected value, and
 * the claim names and value types of Azure Attestation's real SevSnpVm
 * token.  Skips when the fixtures are absent.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "encoding.h"
#include "json.h"
#include "snp_azure.h"
#include "snp_cert.h"
#include "snp_fixture.h"
#include "snp_trust.h"
#include "snp_verify.h"

#define AT_2025_06_01 INT64_C(1748736000)
#define AT_2026_01_01 INT64_C(1767225600)
#define AT_2031_01_01 INT64_C(1924992000)

static const char *dir = CONFORMANCE_DIR "/snp";

static void
load(const char *name, skr_buf *out)
{
	char p[4096];

	skr_buf_init(out, 0);
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (!fx_slurp(p, out)) {
		fprintf(stderr, "  cannot read %s\n", p);
		CHECK(0);
	}
}

/* The virtee report is hex text. */
static void
load_hex(const char *name, skr_buf *out)
{
	skr_buf text;
	size_t n;

	load(name, &text);
	n = text.len;
	while (n > 0 && (text.data[n - 1] == '\n' || text.data[n - 1] == '\r'))
		n--;
	skr_buf_init(out, 0);
	CHECK_OK(skr_hex_decode(out, (const char *)text.data, n));
	skr_buf_free(&text);
}

/* Built-in pins plus AMD's published ASK/ARK/ASVK bundles as configured
 * certificates: the ARKs are trusted only because their keys match the
 * pins compiled into skr. */
static skr_snp_trust *
amd_trust(void)
{
	static const char *const bundles[] = { "milan", "genoa", "turin" };
	skr_snp_trust *t = NULL;
	skr_buf pem, why = SKR_BUF_INIT;
	char name[64];

	CHECK_OK(skr_snp_trust_new(&t));
	for (size_t i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "roots/%s_ask_ark_asvk.pem",
		    bundles[i]);
		load(name, &pem);
		CHECK_OK(skr_snp_trust_add_pem(t, (const char *)pem.data,
		    pem.len, &why));
		skr_buf_free(&pem);
	}
	skr_buf_free(&why);
	return t;
}

struct want {
	uint32_t version;
	uint64_t policy;
	uint32_t vmpl, guest_svn;
	int bl, tee, snp, ucode;
	const char *measurement;     /* full or a prefix */
	const char *report_data;     /* full */
	const char *chip_id;         /* first 16 hex digits */
};

static const char *
claim(const json_t *c, const char *name)
{
	const char *s = json_string_value(json_object_get(c, name));

	return s != NULL ? s : "";
}

static json_int_t
iclaim(const json_t *c, const char *name)
{
	const json_t *v = json_object_get(c, name);

	CHECK(json_is_integer(v));
	return json_integer_value(v);
}

static void
check_values(const skr_snp_verified *v, const struct want *w)
{
	const json_t *c = v->claims;

	CHECK(v->report.version == w->version);
	CHECK(v->report.policy == w->policy);
	CHECK(v->report.vmpl == w->vmpl);
	CHECK(v->report.guest_svn == w->guest_svn);
	CHECK(v->product == SKR_SNP_PRODUCT_MILAN);
	CHECK(v->reported_tcb.bootloader == w->bl);
	CHECK(v->reported_tcb.tee == w->tee);
	CHECK(v->reported_tcb.snp == w->snp);
	CHECK(v->reported_tcb.microcode == w->ucode);
	CHECK(iclaim(c, "x-ms-sevsnpvm-bootloader-svn") == w->bl);
	CHECK(iclaim(c, "x-ms-sevsnpvm-tee-svn") == w->tee);
	CHECK(iclaim(c, "x-ms-sevsnpvm-snpfw-svn") == w->snp);
	CHECK(iclaim(c, "x-ms-sevsnpvm-microcode-svn") == w->ucode);
	CHECK(iclaim(c, "x-ms-sevsnpvm-vmpl") == w->vmpl);
	CHECK(iclaim(c, "x-ms-sevsnpvm-guestsvn") == w->guest_svn);
	CHECK(strncmp(claim(c, "x-ms-sevsnpvm-launchmeasurement"),
	    w->measurement, strlen(w->measurement)) == 0);
	CHECK(strlen(claim(c, "x-ms-sevsnpvm-launchmeasurement")) == 96);
	if (w->report_data != NULL)
		CHECK_STR(claim(c, "x-ms-sevsnpvm-reportdata"), w->report_data);
	CHECK(strncmp(claim(c, "x-ms-sevsnpvm-chipid"), w->chip_id, 16) == 0);
	/* Policy 0x3001f / 0x30000: no debug, SMT, no migration agent. */
	CHECK(json_is_false(json_object_get(c, "x-ms-sevsnpvm-is-debuggable")));
	CHECK(json_is_true(json_object_get(c, "x-ms-sevsnpvm-smt-allowed")));
	CHECK(json_is_false(json_object_get(c,
	    "x-ms-sevsnpvm-migration-allowed")));
	CHECK_STR(claim(c, "x-ms-attestation-type"), "sevsnpvm");
}

static int
decide(const skr_snp_trust *t, const skr_buf *rep, const char *certname,
    int64_t now, const skr_buf *runtime, skr_snp_verified **out,
    const char *want_reason)
{
	skr_snp_opts opts = SKR_SNP_OPTS_INIT;
	skr_buf cert, why = SKR_BUF_INIT;
	skr_snp_evidence ev;
	int r;

	load(certname, &cert);
	ev = (skr_snp_evidence){ rep->data, rep->len, cert.data, cert.len,
	    NULL, 0 };
	opts.now = now;
	if (runtime != NULL) {
		opts.runtime_data = runtime->data;
		opts.runtime_len = runtime->len;
		opts.runtime_json = 1;
	}
	*out = NULL;
	r = skr_snp_verify(&ev, t, &opts, out, &why);
	if (r != SKR_OK)
		printf("  %s: %s: %s\n", certname, skr_err_id(r),
		    skr_buf_cstr(&why));
	if (want_reason != NULL && strstr(skr_buf_cstr(&why), want_reason) ==
	    NULL) {
		fprintf(stderr, "  reason \"%s\" lacks \"%s\"\n",
		    skr_buf_cstr(&why), want_reason);
		CHECK(0);
	}
	skr_buf_free(&cert);
	skr_buf_free(&why);
	return r;
}

static void
test_reports(const skr_snp_trust *t)
{
	static const struct want azure = { 2, 0x3001f, 0, 4, 3, 0, 8, 115,
	    "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c"
	    "23500644e0e692e6be917f9050d3d38c",
	    "ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2"
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    "c38427a30d4c7af9" };
	static const struct want vlek = { 3, 0x30000, 1, 0, 4, 0, 24, 217,
	    "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4"
	    "e8c9af857f5ceeb5a493df2a570d7bf0",
	    "819770b7e6ea6df8dd8fd4dd146b073c0bf4f3ce5b0977ecac486e3a05ed1bd5"
	    "4e2a7ac1f5d1ca02e7d7d5ef9f73b8574fd9359e3a480d741a4478e8a7bc27ca",
	    "0000000000000000" };
	static const struct want virtee = { 2, 0x30000, 0, 0, 3, 0, 8, 115,
	    "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d"
	    "3e1a0dc39b2c60bd95b9c480cd81841f",
	    "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c64581"
	    "0b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd",
	    "d49554ec717f4e5b" };
	skr_buf rep, flip, vrep, xrep, runtime, other;
	skr_snp_verified *v = NULL;

	load("test-report.bin", &rep);
	load("test-report.measurement-bitflip.bin", &flip);
	load("test-vlek-report.bin", &vrep);
	load_hex("virtee-report-milan.hex", &xrep);
	load("test-report.runtime.json", &runtime);

	/* test-report.bin + test-vcek.der: valid. */
	CHECK_OK(decide(t, &rep, "test-vcek.der", AT_2025_06_01, NULL, &v,
	    NULL));
	if (v != NULL)
		check_values(v, &azure);
	skr_snp_verified_free(v);
	/* The VCEK runs to 2030-01-24. */
	CHECK_ERR(decide(t, &rep, "test-vcek.der", AT_2031_01_01, NULL, &v,
	    "VCEK expired at 2030-01-24"), SKR_ERR_SNP_EXPIRED);

	/* One flipped bit of the measurement: the signature. */
	CHECK_ERR(decide(t, &flip, "test-vcek.der", AT_2025_06_01, NULL, &v,
	    "signature does not verify"), SKR_ERR_SNP_SIGNATURE);
	/* The rewritten VCEK: not signed by the ASK. */
	CHECK_ERR(decide(t, &rep, "test-vcek-invalid-legacy.der",
	    AT_2025_06_01, NULL, &v, "VCEK is not signed by any SEV-Milan"),
	    SKR_ERR_SNP_CHAIN);

	/* The VLEK, through the ASVK: valid then, expired now. */
	CHECK_OK(decide(t, &vrep, "test-vlek.der", AT_2025_06_01, NULL, &v,
	    NULL));
	if (v != NULL) {
		check_values(v, &vlek);
		CHECK(v->report.signer == SKR_SNP_SIGNER_VLEK);
	}
	skr_snp_verified_free(v);
	CHECK_ERR(decide(t, &vrep, "test-vlek.der", 0, NULL, &v,
	    "VLEK expired at 2025-12-10T22:14:21Z"), SKR_ERR_SNP_EXPIRED);
	CHECK_ERR(decide(t, &vrep, "test-vlek.der", AT_2026_01_01, NULL, &v,
	    NULL), SKR_ERR_SNP_EXPIRED);
	/* A VLEK-signed report with a VCEK, and the other way round. */
	CHECK_ERR(decide(t, &vrep, "test-vcek.der", AT_2025_06_01, NULL, &v,
	    "signed by VLEK, certificate is a VCEK"),
	    SKR_ERR_SNP_SIGNING_KEY);
	CHECK_ERR(decide(t, &rep, "test-vlek.der", AT_2025_06_01, NULL, &v,
	    NULL), SKR_ERR_SNP_SIGNING_KEY);

	/* virtee's Milan report. */
	CHECK_OK(decide(t, &xrep, "virtee-vcek-milan.der", AT_2025_06_01, NULL,
	    &v, NULL));
	if (v != NULL)
		check_values(v, &virtee);
	skr_snp_verified_free(v);
	/* Another chip's VCEK: same TCB, another hwID. */
	CHECK_ERR(decide(t, &xrep, "test-vcek.der", AT_2025_06_01, NULL, &v,
	    "hwID"), SKR_ERR_SNP_CHIP_ID);

	/* Runtime data: the report binds its runtime JSON and nothing else. */
	CHECK_OK(decide(t, &rep, "test-vcek.der", AT_2025_06_01, &runtime, &v,
	    NULL));
	if (v != NULL) {
		const json_t *k = json_array_get(json_object_get(
		    json_object_get(v->claims, "x-ms-runtime"), "keys"), 0);

		CHECK_STR(json_string_value(json_object_get(k, "kid")),
		    "HCLAkPub");
	}
	skr_snp_verified_free(v);
	skr_buf_init(&other, 0);
	skr_buf_append(&other, runtime.data, runtime.len);
	other.data[other.len - 2] ^= 1;
	CHECK_ERR(decide(t, &rep, "test-vcek.der", AT_2025_06_01, &other, &v,
	    "SHA-256"), SKR_ERR_SNP_BINDING);
	skr_buf_reset(&other);
	skr_buf_append(&other, runtime.data, runtime.len);
	skr_buf_append_byte(&other, ' ');
	CHECK_ERR(decide(t, &rep, "test-vcek.der", AT_2025_06_01, &other, &v,
	    NULL), SKR_ERR_SNP_BINDING);
	CHECK_ERR(decide(t, &xrep, "virtee-vcek-milan.der", AT_2025_06_01,
	    &runtime, &v, NULL), SKR_ERR_SNP_BINDING);
	skr_buf_free(&other);

	skr_buf_free(&rep);
	skr_buf_free(&flip);
	skr_buf_free(&vrep);
	skr_buf_free(&xrep);
	skr_buf_free(&runtime);
}

/* The rewritten VCEK is also another chip's and TCB's certificate. */
static void
test_legacy_certificate(void)
{
	skr_buf rep, der, why = SKR_BUF_INIT;
	skr_snp_report r;
	skr_snp_cert *c = NULL;

	load("test-report.bin", &rep);
	load("test-vcek-invalid-legacy.der", &der);
	CHECK_OK(skr_snp_report_parse(rep.data, rep.len, &r, NULL));
	CHECK_OK(skr_snp_cert_parse(der.data, der.len, &c, &why));
	if (c != NULL) {
		CHECK(c->kind == SKR_SNP_SIGNER_VCEK && c->has_hwid);
		CHECK(c->hwid[0] == 0x00 && c->hwid[1] == 0x01 &&
		    c->hwid[63] == 0x3f);
		CHECK_STR(c->product_name, "Milan-B0");
		CHECK(c->bl_spl == 3 && c->tee_spl == 0 && c->snp_spl == 10 &&
		    c->ucode_spl == 169 && c->fmc_spl == -1);
		CHECK_ERR(skr_snp_cert_match(c, &r, SKR_SNP_PRODUCT_MILAN,
		    &why), SKR_ERR_SNP_CHIP_ID);
	}
	skr_snp_cert_free(c);
	skr_buf_free(&der);
	load("test-vcek.der", &der);
	CHECK_OK(skr_snp_cert_parse(der.data, der.len, &c, &why));
	if (c != NULL) {
		CHECK(memcmp(c->hwid, r.chip_id, 64) == 0);
		CHECK(c->bl_spl == 3 && c->snp_spl == 8 && c->ucode_spl == 115);
		CHECK_OK(skr_snp_cert_match(c, &r, SKR_SNP_PRODUCT_MILAN,
		    &why));
	}
	skr_snp_cert_free(c);
	skr_buf_free(&der);
	skr_buf_free(&rep);
	skr_buf_free(&why);
}

/* The pins compiled into skr are the keys of AMD's published ARKs, and a
 * root file holding them is equivalent; the chain may also come with the
 * evidence. */
static void
test_roots(void)
{
	static const char *const bundles[] = { "milan", "genoa", "turin" };
	static const char *const names[] = { "Milan", "Genoa", "Turin" };
	skr_snp_trust *builtin = NULL, *t;
	json_t *want = NULL, *got = NULL;
	skr_buf pem, rep, cert, why = SKR_BUF_INIT;
	skr_snp_verified *v = NULL;
	char name[64];

	CHECK_OK(skr_snp_trust_new(&builtin));
	CHECK_OK(skr_snp_trust_describe(builtin, &want));
	for (size_t i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "roots/%s_ask_ark_asvk.pem",
		    bundles[i]);
		load(name, &pem);
		t = NULL;
		CHECK_OK(skr_snp_trust_new(&t));
		CHECK_OK(skr_snp_trust_set_roots_pem(t, (const char *)pem.data,
		    pem.len, &why));
		CHECK_OK(skr_snp_trust_describe(t, &got));
		CHECK(json_equal(json_object_get(json_object_get(want, "pins"),
		    names[i]), json_object_get(json_object_get(got, "pins"),
		    names[i])));
		CHECK(json_object_size(json_object_get(got, "pins")) == 1);
		json_decref(got);
		got = NULL;
		if (i == 0) {
			/* Milan's root file alone verifies the Milan VCEK. */
			load("test-report.bin", &rep);
			load("test-vcek.der", &cert);
			skr_snp_evidence ev = { rep.data, rep.len, cert.data,
			    cert.len, NULL, 0 };
			skr_snp_opts o = SKR_SNP_OPTS_INIT;

			o.now = AT_2025_06_01;
			CHECK_OK(skr_snp_verify(&ev, t, &o, &v, &why));
			skr_snp_verified_free(v);
			/* Built-in pins, the chain sent with the evidence. */
			ev.chain_pem = (const char *)pem.data;
			ev.chain_len = pem.len;
			CHECK_OK(skr_snp_verify(&ev, builtin, &o, &v, &why));
			skr_snp_verified_free(v);
			/* Without it, nothing to chain to. */
			ev.chain_pem = NULL;
			CHECK_ERR(skr_snp_verify(&ev, builtin, &o, &v, NULL),
			    SKR_ERR_SNP_CHAIN);
			skr_buf_free(&rep);
			skr_buf_free(&cert);
		}
		skr_snp_trust_free(t);
		skr_buf_free(&pem);
	}
	json_decref(want);
	skr_snp_trust_free(builtin);
	skr_buf_free(&why);
}

/* Claim names and value forms of Azure Attestation's SevSnpVm token. */
static void
test_maa_claims(const skr_snp_trust *t)
{
	skr_buf jwt, payload = SKR_BUF_INIT, rep;
	skr_snp_verified *v = NULL;
	json_t *doc = NULL, *tee;
	const char *dot1, *dot2, *k;
	json_t *m;
	char p[4096];
	int n = 0;

	snprintf(p, sizeof(p), "%s/../maa-sevsnp-cvm-weu.jwt", dir);
	skr_buf_init(&jwt, 0);
	CHECK(fx_slurp(p, &jwt));
	dot1 = memchr(jwt.data, '.', jwt.len);
	dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
	CHECK(dot2 != NULL);
	if (dot2 == NULL)
		goto out;
	CHECK_OK(skr_b64url_decode(&payload, dot1 + 1,
	    (size_t)(dot2 - dot1 - 1)));
	CHECK_OK(skr_json_parse((const char *)payload.data, payload.len, 0,
	    &doc));
	tee = json_object_get(doc, "x-ms-isolation-tee");
	load("test-report.bin", &rep);
	CHECK_OK(decide(t, &rep, "test-vcek.der", AT_2025_06_01, NULL, &v,
	    NULL));
	skr_buf_free(&rep);
	if (v == NULL || tee == NULL)
		goto out;
	json_object_foreach(tee, k, m) {
		json_t *ours = json_object_get(v->claims, k);

		if (strncmp(k, "x-ms-sevsnpvm-", 14) != 0 &&
		    strcmp(k, "x-ms-attestation-type") != 0)
			continue;
		n++;
		if (ours == NULL || json_typeof(ours) != json_typeof(m)) {
			fprintf(stderr, "  claim %s missing or of another "
			    "type\n", k);
			CHECK(0);
			continue;
		}
		if (json_is_string(m)) {
			CHECK(json_string_length(ours) ==
			    json_string_length(m));
			/* Hex values come in lower case, as Azure's do. */
			for (const char *s = json_string_value(m); *s; s++)
				CHECK(!(*s >= 'A' && *s <= 'F'));
		}
	}
	CHECK(n == 18);
	CHECK_STR(json_string_value(json_object_get(tee,
	    "x-ms-sevsnpvm-familyId")), claim(v->claims,
	    "x-ms-sevsnpvm-familyId"));
	CHECK_STR(json_string_value(json_object_get(tee,
	    "x-ms-sevsnpvm-imageId")), claim(v->claims,
	    "x-ms-sevsnpvm-imageId"));
out:
	skr_snp_verified_free(v);
	json_decref(doc);
	skr_buf_free(&payload);
	skr_buf_free(&jwt);
}

struct azure_want {
	const char *file;
	const uint8_t *nonce;
	size_t nonce_len;
	const char *measurement;
	uint32_t guest_svn;
	const char *pcr0;
	int console_enabled;       /* -1: not checked */
};

static int
azure(const skr_snp_trust *t, const char *file, const uint8_t *nonce,
    size_t nlen, skr_snp_verified **v, const char *want_reason)
{
	skr_snp_azure_opts o = SKR_SNP_AZURE_OPTS_INIT;
	skr_buf ev, why = SKR_BUF_INIT;
	int r;

	load(file, &ev);
	o.now = AT_2025_06_01;
	o.nonce = nonce;
	o.nonce_len = nlen;
	*v = NULL;
	r = skr_snp_azure_verify((const char *)ev.data, ev.len, t, &o, v,
	    &why);
	if (r != SKR_OK)
		printf("  %s: %s: %s\n", file, skr_err_id(r),
		    skr_buf_cstr(&why));
	if (want_reason != NULL && strstr(skr_buf_cstr(&why), want_reason) ==
	    NULL) {
		fprintf(stderr, "  reason \"%s\" lacks \"%s\"\n",
		    skr_buf_cstr(&why), want_reason);
		CHECK(0);
	}
	skr_buf_free(&ev);
	skr_buf_free(&why);
	return r;
}

static void
test_azure(const skr_snp_trust *t)
{
	static const uint8_t v2nonce[48] = {
		0x98, 0x2f, 0x5c, 0x6e, 0x45, 0xdf, 0x0e, 0xd3, 0xf1, 0x0b,
		0x6f, 0x60, 0xb0, 0x2f, 0x0c, 0x83, 0x90, 0xe2, 0x81, 0x30,
		0x0f, 0x38, 0x05, 0xe2, 0x27, 0x9c, 0x16, 0x16, 0x8c, 0xd6,
		0xae, 0x9a, 0xa3, 0x98, 0xf6, 0x47, 0xca, 0xa2, 0x33, 0x87,
		0x48, 0xcd, 0x0f, 0xd9, 0xf5, 0xf8, 0x19, 0xef,
	};
	const struct azure_want cases[] = {
		{ "azure/evidence-v1.json", (const uint8_t *)"challenge", 9,
		    "6a063be9dd79f637", 10,
		    "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f"
		    "48dced", 1 },
		{ "azure/evidence-v2.json", v2nonce, sizeof(v2nonce),
		    "5b0ce64ad1c1f637", 12, "84275b2f431", -1 },
	};
	skr_snp_verified *v = NULL;

	for (size_t i = 0; i < 2; i++) {
		const struct azure_want *w = &cases[i];
		const json_t *tee, *rt, *cfg, *keys, *pcrs;

		CHECK_OK(azure(t, w->file, w->nonce, w->nonce_len, &v, NULL));
		if (v == NULL)
			continue;
		CHECK(v->report.version == 3);
		CHECK(v->product == SKR_SNP_PRODUCT_MILAN);
		CHECK(v->report.guest_svn == w->guest_svn);
		CHECK(v->reported_tcb.bootloader == 4 &&
		    v->reported_tcb.tee == 0 && v->reported_tcb.snp == 24 &&
		    v->reported_tcb.microcode == 219);
		CHECK_STR(claim(v->claims, "x-ms-attestation-type"), "azurevm");
		tee = json_object_get(v->claims, "x-ms-isolation-tee");
		CHECK_STR(claim(tee, "x-ms-attestation-type"), "sevsnpvm");
		CHECK(strncmp(claim(tee, "x-ms-sevsnpvm-launchmeasurement"),
		    w->measurement, 16) == 0);
		CHECK(iclaim(tee, "x-ms-sevsnpvm-guestsvn") == w->guest_svn);
		CHECK(iclaim(tee, "x-ms-sevsnpvm-microcode-svn") == 219);
		CHECK(iclaim(tee, "x-ms-sevsnpvm-snpfw-svn") == 24);
		rt = json_object_get(tee, "x-ms-runtime");
		keys = json_object_get(rt, "keys");
		CHECK(json_array_size(keys) == 2);
		CHECK_STR(json_string_value(json_object_get(json_array_get(keys,
		    0), "kid")), "HCLAkPub");
		CHECK_STR(json_string_value(json_object_get(json_array_get(keys,
		    1), "kid")), "HCLEkPub");
		cfg = json_object_get(rt, "vm-configuration");
		CHECK(json_is_true(json_object_get(cfg, "secure-boot")));
		CHECK(json_is_true(json_object_get(cfg, "tpm-enabled")));
		if (w->console_enabled >= 0)
			CHECK(json_is_true(json_object_get(cfg,
			    "console-enabled")));
		/* user-data as the guest wrote it; version 2 starts it with
		 * the nonce. */
		CHECK(strlen(claim(rt, "user-data")) == 128);
		CHECK(i == 0 || strncmp(claim(rt, "user-data"), "982F5C6E45DF",
		    12) == 0);
		CHECK_STR(claim(v->claims, "x-ms-azurevm-vmid"),
		    claim(cfg, "vmUniqueId"));
		pcrs = json_object_get(v->claims, "x-ms-azurevm-pcrs");
		CHECK(json_object_size(pcrs) == 24);
		CHECK(strncmp(claim(pcrs, "0"), w->pcr0, strlen(w->pcr0)) == 0);
		CHECK(strlen(claim(pcrs, "0")) == 64);
		CHECK(json_array_size(json_object_get(v->claims,
		    "x-ms-azurevm-attested-pcrs")) == 24);
		CHECK(json_integer_value(json_array_get(json_object_get(
		    v->claims, "x-ms-azurevm-attested-pcrs"), 23)) == 23);
		skr_snp_verified_free(v);

		/* Another nonce: refused. */
		CHECK_ERR(azure(t, w->file, (const uint8_t *)"challengf", 9, &v,
		    "extraData"), SKR_ERR_SNP_NONCE);
		CHECK_ERR(azure(t, w->file, w->nonce, w->nonce_len - 1, &v,
		    NULL), SKR_ERR_SNP_NONCE);
		CHECK(v == NULL);
	}
}

int
main(void)
{
	struct stat st;
	skr_snp_trust *t;

	if (stat(dir, &st) != 0)
		check_skip("no ../shared/conformance/snp");
	t = amd_trust();
	test_reports(t);
	test_legacy_certificate();
	test_roots();
	test_maa_claims(t);
	test_azure(t);
	skr_snp_trust_free(t);
	return check_done();
}
