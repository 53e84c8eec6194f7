/*
 * Azure vTPM evidence (server/snp/snp_azure.[ch]) made here: an HCL report
 * around a signed SNP report, a runtime JSON with an attestation key, a
 * TPM quote it signs, PCRs.  Every link is broken once and must be
 * refused for the right reason.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "check.h"
#include "encoding.h"
#include "jwk.h"
#include "snp_azure.h"
#include "snp_fixture.h"
#include "snp_trust.h"

#define NPCRS 24

static fx_amd milan;
static skr_snp_trust *trust;
static EVP_PKEY *vcek_key, *ak;
static skr_buf vcek_der;

/* What to build; each test changes one thing. */
struct ev {
	int version;
	uint32_t vmpl;
	const char *nonce;           /* in the quote */
	const char *user_data;       /* NULL: none */
	int ak_kid_other;            /* HCLAkPub under another kid */
	int runtime_tamper;          /* change the runtime after signing */
	uint32_t report_type;
	uint8_t pcrs[NPCRS][32];
	int npcrs_listed;
	int quote_tamper, sig_tamper;
	int unpadded;
	const char *extra_member;
};

static void
ev_init(struct ev *e)
{
	memset(e, 0, sizeof(*e));
	e->version = 1;
	e->nonce = "challenge";
	e->report_type = 2;
	for (int i = 0; i < NPCRS; i++)
		memset(e->pcrs[i], i, 32);
	e->npcrs_listed = NPCRS;
}

static char *
runtime_json(const struct ev *e)
{
	skr_key *k = NULL;
	json_t *jwk, *doc;
	char *s;

	CHECK_OK(skr_key_from_pkey(ak, &k));
	jwk = skr_jwk_emit(k, 0);
	json_object_set_new(jwk, "kid", json_string(e->ak_kid_other ?
	    "HCLAkPub2" : "HCLAkPub"));
	json_object_set_new(jwk, "key_ops", json_pack("[s]", "sign"));
	doc = json_pack("{s:[o],s:{s:b,s:b,s:s}}", "keys", jwk,
	    "vm-configuration", "secure-boot", 1, "tpm-enabled", 1,
	    "vmUniqueId", "11111111-2222-3333-4444-555555555555");
	if (e->user_data != NULL)
		json_object_set_new(doc, "user-data",
		    json_string(e->user_data));
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	skr_key_free(k);
	return s;
}

static void
hcl(const struct ev *e, skr_buf *out)
{
	uint8_t rep[SKR_SNP_REPORT_SIZE], hdr[0x20] = "HCLA", req[20];
	char *rt = runtime_json(e);
	size_t n = strlen(rt);

	fx_report(rep, 3, SKR_SNP_PRODUCT_MILAN);
	fx_put32(rep, FX_OFF_VMPL, e->vmpl);
	memset(rep + FX_OFF_REPORT_DATA, 0, 64);
	SHA256((const uint8_t *)rt, n, rep + FX_OFF_REPORT_DATA);
	fx_sign(rep, vcek_key);
	if (e->runtime_tamper)
		rt[n - 2] ^= 1;
	fx_put32(hdr, 4, 1);
	fx_put32(hdr, 8, (uint32_t)(0x4C0 + 20 + n));
	fx_put32(hdr, 12, 2);
	fx_put32(req, 0, (uint32_t)(20 + n));
	fx_put32(req, 4, 1);
	fx_put32(req, 8, e->report_type);
	fx_put32(req, 12, 1);
	fx_put32(req, 16, (uint32_t)n);
	skr_buf_append(out, hdr, sizeof(hdr));
	skr_buf_append(out, rep, sizeof(rep));
	skr_buf_append(out, req, sizeof(req));
	skr_buf_append(out, rt, n);
	for (int i = 0; i < 200; i++)
		skr_buf_append_byte(out, 0);
	free(rt);
}

static void
be(skr_buf *b, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		skr_buf_append_byte(b, (uint8_t)(v >> (8 * i)));
}

static void
quote(const struct ev *e, skr_buf *msg, skr_buf *sig)
{
	uint8_t digest[32], name[34] = { 0x00, 0x0b };
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t slen = 512;

	SHA256(e->pcrs[0], sizeof(e->pcrs), digest);
	be(msg, 0xff544347u, 4);
	be(msg, 0x8018, 2);
	be(msg, sizeof(name), 2);
	skr_buf_append(msg, name, sizeof(name));
	be(msg, strlen(e->nonce), 2);
	skr_buf_append_str(msg, e->nonce);
	be(msg, 1000, 8);
	be(msg, 1, 4);
	be(msg, 0, 4);
	be(msg, 1, 1);
	be(msg, 0x2020031200120003ull, 8);
	be(msg, 1, 4);
	be(msg, 0x000b, 2);
	be(msg, 3, 1);
	be(msg, 0xffffff, 3);
	be(msg, 32, 2);
	skr_buf_append(msg, digest, 32);
	CHECK(skr_buf_reserve(sig, slen) == SKR_OK);
	CHECK(ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
	    ak) == 1 && EVP_DigestSign(ctx, sig->data, &slen, msg->data,
	    msg->len) == 1);
	sig->len = slen;
	EVP_MD_CTX_free(ctx);
	if (e->quote_tamper)
		msg->data[msg->len - 1] ^= 1;
	if (e->sig_tamper)
		sig->data[0] ^= 1;
}

/* The evidence JSON text of e, appended to out. */
static void
build(const struct ev *e, skr_buf *out)
{
	skr_buf h = SKR_BUF_INIT, msg = SKR_BUF_INIT, sig = SKR_BUF_INIT;
	skr_buf t = SKR_BUF_INIT;
	json_t *doc, *pcrs = json_array();
	char *s;

	hcl(e, &h);
	quote(e, &msg, &sig);
	for (int i = 0; i < e->npcrs_listed; i++) {
		char hex[65];

		skr_hex_text(hex, e->pcrs[i], 32);
		json_array_append_new(pcrs, json_string(hex));
	}
	doc = json_object();
	json_object_set_new(doc, "version", json_integer(e->version));
	skr_b64url_encode(&t, h.data, h.len);
	if (!e->unpadded)
		while (t.len % 4)
			skr_buf_append_byte(&t, '=');
	json_object_set_new(doc, "hcl_report", json_string(skr_buf_cstr(&t)));
	skr_buf_reset(&t);
	skr_b64url_encode(&t, vcek_der.data, vcek_der.len);
	json_object_set_new(doc, "vcek", json_string(skr_buf_cstr(&t)));
	skr_buf_reset(&t);
	skr_hex_encode(&t, msg.data, msg.len, 0);
	json_object_set_new(doc, "tpm_quote", json_pack("{s:s,s:s%,s:o}",
	    "message", skr_buf_cstr(&t), "signature", "", (size_t)0, "pcrs",
	    pcrs));
	skr_buf_reset(&t);
	skr_hex_encode(&t, sig.data, sig.len, 0);
	json_object_set_new(json_object_get(doc, "tpm_quote"), "signature",
	    json_string(skr_buf_cstr(&t)));
	if (e->extra_member != NULL)
		json_object_set_new(doc, e->extra_member, json_true());
	s = json_dumps(doc, JSON_COMPACT);
	skr_buf_append_str(out, s);
	free(s);
	json_decref(doc);
	skr_buf_free(&h);
	skr_buf_free(&msg);
	skr_buf_free(&sig);
	skr_buf_free(&t);
}

static int
run(const struct ev *e, const char *nonce, const char *want_reason,
    skr_snp_verified **vp)
{
	skr_snp_azure_opts o = SKR_SNP_AZURE_OPTS_INIT;
	skr_buf text = SKR_BUF_INIT, why = SKR_BUF_INIT;
	skr_snp_verified *v = NULL;
	int r;

	build(e, &text);
	o.now = FX_NOW;
	o.nonce = (const uint8_t *)nonce;
	o.nonce_len = nonce != NULL ? strlen(nonce) : 0;
	o.skip_nonce = nonce == NULL;
	r = skr_snp_azure_verify((const char *)text.data, text.len, trust, &o,
	    &v, &why);
	if (want_reason != NULL && strstr(skr_buf_cstr(&why), want_reason) ==
	    NULL) {
		fprintf(stderr, "  reason \"%s\" lacks \"%s\"\n",
		    skr_buf_cstr(&why), want_reason);
		CHECK(0);
	}
	CHECK((r == SKR_OK) == (v != NULL));
	if (vp != NULL)
		*vp = v;
	else
		skr_snp_verified_free(v);
	skr_buf_free(&text);
	skr_buf_free(&why);
	return r;
}

static void
test_good(void)
{
	struct ev e;
	skr_snp_verified *v = NULL;
	const json_t *tee;

	ev_init(&e);
	CHECK_OK(run(&e, "challenge", NULL, &v));
	if (v != NULL) {
		CHECK_STR(json_string_value(json_object_get(v->claims,
		    "x-ms-attestation-type")), "azurevm");
		tee = json_object_get(v->claims, "x-ms-isolation-tee");
		CHECK_STR(json_string_value(json_object_get(tee,
		    "x-ms-attestation-type")), "sevsnpvm");
		CHECK(json_is_true(json_object_get(json_object_get(
		    json_object_get(tee, "x-ms-runtime"), "vm-configuration"),
		    "secure-boot")));
		CHECK_STR(json_string_value(json_object_get(v->claims,
		    "x-ms-azurevm-vmid")),
		    "11111111-2222-3333-4444-555555555555");
		CHECK_STR(json_string_value(json_object_get(json_object_get(
		    v->claims, "x-ms-azurevm-pcrs"), "7")),
		    "0707070707070707070707070707070707070707070707070707070707"
		    "070707");
		CHECK(json_array_size(json_object_get(v->claims,
		    "x-ms-azurevm-attested-pcrs")) == NPCRS);
	}
	skr_snp_verified_free(v);
	e.unpadded = 1;
	CHECK_OK(run(&e, "challenge", NULL, NULL));
	/* Offline inspection may skip the nonce. */
	CHECK_OK(run(&e, NULL, NULL, NULL));
}

static void
test_nonce(void)
{
	static const char nonce[] = "0123456789abcdef";
	struct ev e;

	ev_init(&e);
	CHECK_ERR(run(&e, "challengf", "extraData", NULL), SKR_ERR_SNP_NONCE);
	CHECK_ERR(run(&e, "challeng", "extraData", NULL), SKR_ERR_SNP_NONCE);
	CHECK_ERR(run(&e, "challenge!", "extraData", NULL), SKR_ERR_SNP_NONCE);
	/* Version 2: the nonce also starts the runtime's user-data. */
	e.nonce = nonce;
	e.version = 2;
	e.user_data = "30313233343536373839616263646566" "0000";
	CHECK_OK(run(&e, nonce, NULL, NULL));
	e.user_data = "30313233343536373839616263646567" "0000";
	CHECK_ERR(run(&e, nonce, "user-data", NULL), SKR_ERR_SNP_NONCE);
	e.user_data = "303132";
	CHECK_ERR(run(&e, nonce, "user-data", NULL), SKR_ERR_SNP_NONCE);
	e.user_data = "zz";
	CHECK_ERR(run(&e, nonce, "not hex", NULL), SKR_ERR_SNP_EVIDENCE);
	e.user_data = NULL;
	CHECK_ERR(run(&e, nonce, "not hex", NULL), SKR_ERR_SNP_EVIDENCE);
	/* Version 1 does not bind it. */
	e.version = 1;
	CHECK_OK(run(&e, nonce, NULL, NULL));
	/* A nonce is required unless skipped explicitly. */
	{
		skr_snp_azure_opts o = SKR_SNP_AZURE_OPTS_INIT;
		skr_snp_verified *v = NULL;

		CHECK_ERR(skr_snp_azure_verify("{}", 2, trust, &o, &v, NULL),
		    SKR_ERR_INVAL);
		o.skip_nonce = 1;
		o.nonce = (const uint8_t *)"x";
		o.nonce_len = 1;
		CHECK_ERR(skr_snp_azure_verify("{}", 2, trust, &o, &v, NULL),
		    SKR_ERR_INVAL);
		CHECK_ERR(skr_snp_azure_verify("{}", 2, trust, NULL, &v, NULL),
		    SKR_ERR_INVAL);
	}
}

static void
test_links(void)
{
	struct ev e;

	ev_init(&e);
	e.quote_tamper = 1;
	CHECK_ERR(run(&e, "challenge", "quote signature", NULL),
	    SKR_ERR_SNP_QUOTE);
	ev_init(&e);
	e.sig_tamper = 1;
	CHECK_ERR(run(&e, "challenge", "quote signature", NULL),
	    SKR_ERR_SNP_QUOTE);
	/* PCR values that do not hash to the quoted digest. */
	ev_init(&e);
	{
		skr_buf text = SKR_BUF_INIT;
		skr_snp_azure_opts o = SKR_SNP_AZURE_OPTS_INIT;
		skr_snp_verified *v = NULL;
		skr_buf why = SKR_BUF_INIT;
		char *p;

		build(&e, &text);
		/* PCR 5 ("0505...") becomes "0506...". */
		p = strstr((char *)text.data, "\"0505");
		CHECK(p != NULL);
		if (p != NULL)
			p[4] = '6';
		o.now = FX_NOW;
		o.nonce = (const uint8_t *)"challenge";
		o.nonce_len = 9;
		CHECK_ERR(skr_snp_azure_verify((const char *)text.data,
		    text.len, trust, &o, &v, &why), SKR_ERR_SNP_QUOTE);
		CHECK(strstr(skr_buf_cstr(&why), "pcrDigest") != NULL);
		skr_buf_free(&text);
		skr_buf_free(&why);
	}
	e.npcrs_listed = NPCRS - 1;
	CHECK_ERR(run(&e, "challenge", "selects 24 PCRs, evidence lists 23",
	    NULL), SKR_ERR_SNP_EVIDENCE);
	/* The runtime data, its key and the report binding it. */
	ev_init(&e);
	e.ak_kid_other = 1;
	CHECK_ERR(run(&e, "challenge", "no HCLAkPub", NULL),
	    SKR_ERR_SNP_EVIDENCE);
	ev_init(&e);
	e.runtime_tamper = 1;
	CHECK_ERR(run(&e, "challenge", "SHA-256 of the runtime data", NULL),
	    SKR_ERR_SNP_BINDING);
	ev_init(&e);
	e.vmpl = 1;
	CHECK_ERR(run(&e, "challenge", "VMPL 1", NULL), SKR_ERR_SNP_BINDING);
	ev_init(&e);
	e.report_type = 4;
	CHECK_ERR(run(&e, "challenge", "not SEV-SNP", NULL),
	    SKR_ERR_SNP_EVIDENCE);
}

static void
test_document(void)
{
	static const struct {
		const char *text;
		const char *reason;
	} bad[] = {
		{ "", "strict JSON" },
		{ "[]", "strict JSON" },
		{ "{\"version\":1,\"version\":1}", "strict JSON" },
		{ "{\"version\":3}", "version" },
		{ "{\"version\":\"1\"}", "version" },
		{ "{\"version\":1}", "hcl_report" },
		{ "{\"version\":1,\"hcl_report\":\"@@\"}", "base64url" },
		{ "{\"version\":1,\"hcl_report\":\"AAAA\",\"vcek\":1}",
		    "\"vcek\"" },
		{ "{\"version\":1,\"hcl_report\":\"AAAA\",\"vcek\":\"AA\"}",
		    "tpm_quote" },
		{ "{\"version\":1,\"hcl_report\":\"AAAA\",\"vcek\":\"AA\","
		    "\"tpm_quote\":{\"message\":\"0g\"}}", "message" },
		{ "{\"version\":1,\"hcl_report\":\"AAAA\",\"vcek\":\"AA\","
		    "\"tpm_quote\":{\"message\":\"00\",\"signature\":\"00\","
		    "\"pcrs\":[\"00\"]}}", "PCR 0" },
		{ "{\"version\":1,\"hcl_report\":\"AAAA\",\"vcek\":\"AA\","
		    "\"tpm_quote\":{\"message\":\"00\",\"signature\":\"00\","
		    "\"pcrs\":{}}}", "pcrs" },
		{ "{\"version\":1,\"hcl_report\":\"AAAA\",\"vcek\":\"AA\","
		    "\"tpm_quote\":{\"message\":\"00\",\"signature\":\"00\","
		    "\"pcrs\":[],\"x\":1}}", "unknown tpm_quote member" },
		{ "{\"version\":1,\"hcl_report\":\"AAAA\",\"vcek\":\"AA\","
		    "\"tpm_quote\":{\"message\":\"00\",\"signature\":\"00\","
		    "\"pcrs\":[]}}", "HCL report of 3 bytes" },
	};
	skr_snp_azure_opts o = SKR_SNP_AZURE_OPTS_INIT;
	skr_buf why = SKR_BUF_INIT, big = SKR_BUF_INIT;
	skr_snp_verified *v = NULL;
	struct ev e;

	o.nonce = (const uint8_t *)"n";
	o.nonce_len = 1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		skr_buf_reset(&why);
		CHECK_ERR(skr_snp_azure_verify(bad[i].text,
		    strlen(bad[i].text), trust, &o, &v, &why),
		    SKR_ERR_SNP_EVIDENCE);
		if (strstr(skr_buf_cstr(&why), bad[i].reason) == NULL) {
			fprintf(stderr, "  %zu: \"%s\" lacks \"%s\"\n", i,
			    skr_buf_cstr(&why), bad[i].reason);
			CHECK(0);
		}
	}
	ev_init(&e);
	e.extra_member = "chain";
	CHECK_ERR(run(&e, "challenge", "unknown evidence member \"chain\"",
	    NULL), SKR_ERR_SNP_EVIDENCE);
	skr_buf_append_byte(&big, '"');
	for (size_t i = 0; i < SKR_SNP_AZURE_MAX_BYTES; i++)
		skr_buf_append_byte(&big, 'a');
	skr_buf_append_byte(&big, '"');
	CHECK_ERR(skr_snp_azure_verify((const char *)big.data, big.len, trust,
	    &o, &v, NULL), SKR_ERR_TOO_LARGE);
	CHECK(v == NULL);
	skr_buf_free(&why);
	skr_buf_free(&big);
}

int
main(void)
{
	skr_buf pem = SKR_BUF_INIT;
	uint8_t rep[SKR_SNP_REPORT_SIZE];
	fx_cert_opts o;
	X509 *c;

	fx_amd_make(&milan, SKR_SNP_PRODUCT_MILAN);
	fx_amd_pem(&milan, &pem);
	CHECK_OK(skr_snp_trust_new(&trust));
	CHECK_OK(skr_snp_trust_set_roots_pem(trust, (const char *)pem.data,
	    pem.len, NULL));
	vcek_key = fx_p384();
	ak = fx_rsa();
	fx_report(rep, 3, SKR_SNP_PRODUCT_MILAN);
	fx_vek_opts(&o, rep, SKR_SNP_PRODUCT_MILAN, 0);
	c = fx_cert(&o, vcek_key, milan.ask, milan.ask_key);
	skr_buf_init(&vcek_der, 0);
	fx_der(c, &vcek_der);
	X509_free(c);

	test_good();
	test_nonce();
	test_links();
	test_document();

	skr_buf_free(&vcek_der);
	skr_buf_free(&pem);
	EVP_PKEY_free(vcek_key);
	EVP_PKEY_free(ak);
	skr_snp_trust_free(trust);
	fx_amd_free(&milan);
	return check_done();
}
