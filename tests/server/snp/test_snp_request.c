/*
 * Azure Attestation's SevSnpVm request (server/snp/snp_request.c): the
 * sidecar's shape parsed and verified against a hierarchy made here, and
 * every malformed shape refused with its own error and a reason naming
 * the member.  Also the certificate splitter and init-time data.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "check.h"
#include "encoding.h"
#include "snp_fixture.h"
#include "snp_request.h"
#include "snp_trust.h"

#define RUNTIME "{\"keys\":[{\"kid\":\"k\",\"kty\":\"RSA\"}]}"
#define INITTIME "{\"policy\":\"allow all\"}"

static fx_amd milan;
static skr_snp_trust *trust;
static EVP_PKEY *vcek_key;
static uint8_t report[SKR_SNP_REPORT_SIZE];
static skr_buf vcek_der, vcek_pem, chain_pem;

/* base64url of n bytes, padded as Go's URLEncoding when pad. */
static char *
b64(const void *p, size_t n, int pad)
{
	skr_buf b = SKR_BUF_INIT;

	CHECK_OK(skr_b64url_encode(&b, p, n));
	while (pad && b.len % 4 != 0)
		skr_buf_append_byte(&b, '=');
	return (char *)skr_buf_steal(&b, NULL);
}

static char *
b64s(const char *s, int pad)
{
	return b64(s, strlen(s), pad);
}

/* The "report" member: b64url of {"SnpReport", "VcekCertChain"}. */
static char *
report_member(const uint8_t *rep, size_t n, const skr_buf *certs, int pad)
{
	char *r = b64(rep, n, pad), *c = certs ? b64(certs->data, certs->len,
	    pad) : NULL, *inner, *out;
	json_t *o = json_pack("{s:s}", "SnpReport", r);

	if (c != NULL)
		json_object_set_new(o, "VcekCertChain", json_string(c));
	inner = json_dumps(o, JSON_COMPACT);
	out = b64s(inner, pad);
	free(r);
	free(c);
	free(inner);
	json_decref(o);
	return out;
}

/* The request the sidecar sends: VCEK PEM and the ASK/ARK, the runtime
 * data as JSON, empty init-time data, a number nonce. */
static char *
sidecar(const char *nonce)
{
	skr_buf certs = SKR_BUF_INIT;
	char *rm, *rt, *s;
	size_t n;

	skr_buf_append(&certs, vcek_pem.data, vcek_pem.len);
	skr_buf_append(&certs, chain_pem.data, chain_pem.len);
	rm = report_member(report, sizeof(report), &certs, 1);
	rt = b64s(RUNTIME, 1);
	n = strlen(rm) + strlen(rt) + strlen(nonce) + 256;
	s = malloc(n);
	snprintf(s, n, "{\"report\":\"%s\",\"runtimeData\":{\"data\":\"%s\","
	    "\"dataType\":\"JSON\"},\"initTimeData\":{\"data\":\"\","
	    "\"dataType\":\"\"},\"nonce\":%s}", rm, rt, nonce);
	free(rm);
	free(rt);
	skr_buf_free(&certs);
	return s;
}

/* Parse body; the error must be want and the reason mention about. */
static void
parse_want(const char *body, size_t n, int want, const char *about)
{
	skr_snp_request req;
	skr_buf why = SKR_BUF_INIT;

	CHECK_ERR(skr_snp_request_parse(body, n, &req, &why), want);
	if (about != NULL && strstr(skr_buf_cstr(&why), about) == NULL) {
		fprintf(stderr, "  reason \"%s\" lacks \"%s\" (%.80s)\n",
		    skr_buf_cstr(&why), about, body);
		CHECK(0);
	}
	skr_snp_request_clear(&req);
	skr_buf_free(&why);
}

static void
bad(const char *body, int want, const char *about)
{
	parse_want(body, strlen(body), want, about);
}

/* A request around a report member built from JSON text. */
static void
bad_inner(const char *inner, int want, const char *about)
{
	char *rm = b64s(inner, 0), body[16384];

	snprintf(body, sizeof(body), "{\"report\":\"%s\"}", rm);
	bad(body, want, about);
	free(rm);
}

/* A request whose runtimeData (and initTimeData) member is data. */
static void
bad_data(const char *member, const char *data, int want, const char *about)
{
	char *rm = report_member(report, sizeof(report), &vcek_der, 0);
	size_t n = strlen(rm) + strlen(data) + 64;
	char *body = malloc(n);

	snprintf(body, n, "{\"report\":\"%s\",\"%s\":%s}", rm, member, data);
	bad(body, want, about);
	free(body);
	free(rm);
}

static void
test_sidecar(void)
{
	skr_snp_request req;
	skr_snp_verified *v = NULL;
	skr_buf why = SKR_BUF_INIT;
	char *body = sidecar("18446744073709551615");
	char hex[97];

	CHECK_OK(skr_snp_request_parse(body, strlen(body), &req, &why));
	CHECK_MEM(req.report.data, req.report.len, report, sizeof(report));
	CHECK_MEM(req.cert.data, req.cert.len, vcek_der.data, vcek_der.len);
	CHECK_MEM(req.chain.data, req.chain.len, chain_pem.data, chain_pem.len);
	CHECK(req.runtime_type == SKR_SNP_DATA_JSON);
	CHECK_MEM(req.runtime.data, req.runtime.len, RUNTIME, strlen(RUNTIME));
	CHECK(req.inittime_type == SKR_SNP_DATA_NONE);
	CHECK(req.has_nonce);
	CHECK_STR(req.nonce, "18446744073709551615");
	CHECK(!req.has_endorsements);
	CHECK_OK(skr_snp_request_verify(&req, trust, FX_NOW, &v, &why));
	{
		json_t *want = json_loads(RUNTIME, 0, NULL);

		CHECK(v != NULL && json_equal(json_object_get(v->claims,
		    "x-ms-runtime"), want));
		json_decref(want);
	}
	skr_hex_text(hex, report + FX_OFF_MEASUREMENT, 48);
	CHECK(v != NULL && strcmp(json_string_value(json_object_get(v->claims,
	    "x-ms-sevsnpvm-launchmeasurement")), hex) == 0);
	CHECK(v != NULL && json_object_get(v->claims, "x-ms-inittime") ==
	    NULL);
	skr_snp_verified_free(v);
	skr_snp_request_clear(&req);
	free(body);

	/* Every nonce form, as text. */
	static const struct { const char *in, *out; } nonces[] = {
		{ "0", "0" }, { "7", "7" },
		{ "9223372036854775808", "9223372036854775808" },
		{ "\"abc\"", "abc" }, { " 42 ", "42" },
	};
	for (size_t i = 0; i < sizeof(nonces) / sizeof(nonces[0]); i++) {
		body = sidecar(nonces[i].in);
		CHECK_OK(skr_snp_request_parse(body, strlen(body), &req, NULL));
		CHECK(req.has_nonce);
		CHECK_STR(req.nonce, nonces[i].out);
		skr_snp_request_clear(&req);
		free(body);
	}
	body = sidecar("null");
	CHECK_OK(skr_snp_request_parse(body, strlen(body), &req, NULL));
	CHECK(!req.has_nonce);
	skr_snp_request_clear(&req);
	free(body);

	/* Unpadded base64url, a DER VCEK, no runtime data: parsed and
	 * verified; no x-ms-runtime. */
	{
		char *rm = report_member(report, sizeof(report), &vcek_der, 0);
		char b[8192];

		snprintf(b, sizeof(b), "{\"report\":\"%s\"}", rm);
		CHECK_OK(skr_snp_request_parse(b, strlen(b), &req, &why));
		CHECK(req.runtime_type == SKR_SNP_DATA_NONE && !req.has_nonce);
		CHECK(req.chain.len == 0);
		CHECK_OK(skr_snp_request_verify(&req, trust, FX_NOW, &v, &why));
		CHECK(v != NULL && json_object_get(v->claims, "x-ms-runtime") ==
		    NULL);
		skr_snp_verified_free(v);
		v = NULL;
		skr_snp_request_clear(&req);
		free(rm);
	}
	skr_buf_free(&why);
}

static void
test_refused_shapes(void)
{
	char big[SKR_SNP_REQUEST_MAX_BYTES + 2];
	char *s;

	memset(big, ' ', sizeof(big));
	parse_want(big, sizeof(big), SKR_ERR_TOO_LARGE, "request over");
	bad("", SKR_ERR_JSON, "not strict JSON");
	bad("{\"report\":", SKR_ERR_JSON, "not strict JSON");
	bad("{\"report\":\"a\",\"report\":\"b\"}", SKR_ERR_JSON_DUPLICATE,
	    NULL);
	bad("[1]", SKR_ERR_SNP_EVIDENCE, "not a JSON object");
	bad("{}", SKR_ERR_SNP_EVIDENCE, "report: missing");
	bad("{\"report\":1}", SKR_ERR_SNP_EVIDENCE, "report: not a string");
	bad("{\"report\":\"%%\"}", SKR_ERR_SNP_EVIDENCE,
	    "report: not base64url");
	bad("{\"report\":\"e30\",\"x\":1}", SKR_ERR_SNP_EVIDENCE,
	    "unknown member \"x\"");
	bad("{\"report\":\"e30\",\"draftPolicyForAttestation\":\"p\"}",
	    SKR_ERR_SNP_EVIDENCE, "draftPolicyForAttestation");
	/* The report object. */
	bad_inner("[]", SKR_ERR_SNP_EVIDENCE, "report: not a strict JSON");
	bad_inner("{\"SnpReport\":\"AA\",\"SnpReport\":\"AA\"}",
	    SKR_ERR_SNP_EVIDENCE, "report: not a strict JSON");
	bad_inner("{}", SKR_ERR_SNP_EVIDENCE, "report.SnpReport: missing");
	bad_inner("{\"SnpReport\":\"AA\",\"Extra\":1}", SKR_ERR_SNP_EVIDENCE,
	    "report: unknown member \"Extra\"");
	bad_inner("{\"SnpReport\":7}", SKR_ERR_SNP_EVIDENCE,
	    "report.SnpReport: not a string");
	bad_inner("{\"SnpReport\":\"A+/=\"}", SKR_ERR_SNP_EVIDENCE,
	    "report.SnpReport: not base64url");
	bad_inner("{\"SnpReport\":\"AAAA\"}", SKR_ERR_SNP_REPORT,
	    "3 bytes, not 1184");
	s = b64(report, sizeof(report), 0);
	{
		char inner[8192];

		snprintf(inner, sizeof(inner), "{\"SnpReport\":\"%s\","
		    "\"VcekCertChain\":\"AAAA\"}", s);
		bad_inner(inner, SKR_ERR_SNP_CERT, NULL);
		snprintf(inner, sizeof(inner), "{\"SnpReport\":\"%s\","
		    "\"VcekCertChain\":5}", s);
		bad_inner(inner, SKR_ERR_SNP_EVIDENCE,
		    "report.VcekCertChain: not a string");
		snprintf(inner, sizeof(inner), "{\"SnpReport\":\"%s\","
		    "\"Endorsements\":[]}", s);
		bad_inner(inner, SKR_ERR_SNP_EVIDENCE,
		    "report.Endorsements: not a string");
		/* An empty chain parses; verification then wants a VCEK. */
		{
			skr_snp_request req;
			skr_snp_verified *v = NULL;
			skr_buf why = SKR_BUF_INIT;
			char *rm, body[16384];

			snprintf(inner, sizeof(inner), "{\"SnpReport\":\"%s\","
			    "\"VcekCertChain\":\"\",\"Endorsements\":\"e30=\"}",
			    s);
			rm = b64s(inner, 0);
			snprintf(body, sizeof(body), "{\"report\":\"%s\"}", rm);
			CHECK_OK(skr_snp_request_parse(body, strlen(body), &req,
			    NULL));
			CHECK(req.cert.len == 0 && req.has_endorsements);
			CHECK_ERR(skr_snp_request_verify(&req, trust, FX_NOW,
			    &v, &why), SKR_ERR_SNP_CERT);
			CHECK(strstr(skr_buf_cstr(&why), "VcekCertChain") !=
			    NULL && v == NULL);
			skr_snp_request_clear(&req);
			skr_buf_free(&why);
			free(rm);
		}
	}
	free(s);
	/* Runtime and init-time data. */
	bad_data("runtimeData", "[]", SKR_ERR_SNP_EVIDENCE,
	    "runtimeData: not an object");
	bad_data("runtimeData", "{\"data\":\"e30\",\"x\":1}",
	    SKR_ERR_SNP_EVIDENCE, "runtimeData: unknown member \"x\"");
	bad_data("runtimeData", "{\"data\":1,\"dataType\":\"JSON\"}",
	    SKR_ERR_SNP_EVIDENCE, "must be strings");
	bad_data("runtimeData", "{\"data\":\"e30\",\"dataType\":\"XML\"}",
	    SKR_ERR_SNP_EVIDENCE, "JSON or Binary");
	bad_data("runtimeData", "{\"data\":\"e30\"}", SKR_ERR_SNP_EVIDENCE,
	    "JSON or Binary");
	bad_data("runtimeData", "{\"data\":\"\",\"dataType\":\"JSON\"}",
	    SKR_ERR_SNP_EVIDENCE, "runtimeData: data is empty");
	bad_data("runtimeData", "{\"data\":\"e3+=\",\"dataType\":\"JSON\"}",
	    SKR_ERR_SNP_EVIDENCE, "runtimeData.data: not base64url");
	bad_data("initTimeData", "{\"data\":\"e30\",\"dataType\":\"\"}",
	    SKR_ERR_SNP_EVIDENCE, "initTimeData: dataType");
	bad_data("initTimeData", "7", SKR_ERR_SNP_EVIDENCE,
	    "initTimeData: not an object");
	{
		/* 64 KiB + 1 of runtime data: within the body limit, over
		 * the data limit. */
		size_t n = SKR_SNP_RUNTIME_MAX_BYTES + 1;
		uint8_t *d = calloc(1, n);
		char *e = b64(d, n, 0), *m = malloc(strlen(e) + 64);

		sprintf(m, "{\"data\":\"%s\",\"dataType\":\"Binary\"}", e);
		bad_data("runtimeData", m, SKR_ERR_TOO_LARGE, "runtimeData");
		free(d);
		free(e);
		free(m);
	}
	/* Nonces. */
	static const char *const nonces[] = { "-1", "1.5", "1e3", "true",
		"\"\"", "[]", "{}", "18446744073709551616",
		"99999999999999999999999", "-0" };
	for (size_t i = 0; i < sizeof(nonces) / sizeof(nonces[0]); i++) {
		s = sidecar(nonces[i]);
		bad(s, SKR_ERR_SNP_EVIDENCE, "nonce");
		free(s);
	}
	{
		char n[SKR_SNP_NONCE_MAX + 8];

		memset(n, 'a', sizeof(n));
		n[0] = '"';
		n[SKR_SNP_NONCE_MAX + 2] = '"';
		n[SKR_SNP_NONCE_MAX + 3] = '\0';
		s = sidecar(n);
		bad(s, SKR_ERR_SNP_EVIDENCE, "nonce: a string of 1 to 256");
		free(s);
	}
	/* Only the top-level nonce is read as a 64-bit number: a nested
	 * one is plain JSON to the parser (which cannot hold this one). */
	bad("{\"x\":{\"nonce\":99999999999999999999999}}", SKR_ERR_JSON,
	    "not strict JSON");
	bad("{\"x\":{\"nonce\":1},\"nonce\":\"n\",\"report\":1}",
	    SKR_ERR_SNP_EVIDENCE, "unknown member \"x\"");
}

/* Runtime data, init-time data and HOST_DATA through verification. */
static void
test_bindings(void)
{
	uint8_t rep[SKR_SNP_REPORT_SIZE];
	skr_snp_request req;
	skr_snp_verified *v = NULL;
	skr_buf why = SKR_BUF_INIT;
	char *rm, *it, *rt, body[16384];

	memcpy(rep, report, sizeof(rep));
	SHA256((const uint8_t *)INITTIME, strlen(INITTIME), rep + 0xC0);
	fx_sign(rep, vcek_key);
	rm = report_member(rep, sizeof(rep), &vcek_der, 1);
	it = b64s(INITTIME, 1);
	rt = b64s(RUNTIME, 0);
	/* The report binds RUNTIME in report_data: JSON init-time data whose
	 * hash is HOST_DATA is bound, and becomes x-ms-inittime. */
	snprintf(body, sizeof(body), "{\"report\":\"%s\",\"runtimeData\":"
	    "{\"data\":\"%s\",\"dataType\":\"JSON\"},\"initTimeData\":"
	    "{\"data\":\"%s\",\"dataType\":\"json\"}}", rm, rt, it);
	CHECK_OK(skr_snp_request_parse(body, strlen(body), &req, &why));
	CHECK(req.inittime_type == SKR_SNP_DATA_JSON);
	CHECK_OK(skr_snp_request_verify(&req, trust, FX_NOW, &v, &why));
	CHECK(v != NULL && json_is_object(json_object_get(v->claims,
	    "x-ms-inittime")));
	skr_snp_verified_free(v);
	v = NULL;
	skr_snp_request_clear(&req);
	/* The same bytes declared Binary: bound, no claim. */
	snprintf(body, sizeof(body), "{\"report\":\"%s\",\"initTimeData\":"
	    "{\"data\":\"%s\",\"dataType\":\"Binary\"}}", rm, it);
	CHECK_OK(skr_snp_request_parse(body, strlen(body), &req, &why));
	CHECK_OK(skr_snp_request_verify(&req, trust, FX_NOW, &v, &why));
	CHECK(v != NULL && json_object_get(v->claims, "x-ms-inittime") == NULL);
	skr_snp_verified_free(v);
	v = NULL;
	skr_snp_request_clear(&req);
	/* Other init-time data: HOST_DATA does not bind it. */
	free(it);
	it = b64s("{\"policy\":\"deny\"}", 0);
	snprintf(body, sizeof(body), "{\"report\":\"%s\",\"initTimeData\":"
	    "{\"data\":\"%s\",\"dataType\":\"JSON\"}}", rm, it);
	CHECK_OK(skr_snp_request_parse(body, strlen(body), &req, &why));
	skr_buf_reset(&why);
	CHECK_ERR(skr_snp_request_verify(&req, trust, FX_NOW, &v, &why),
	    SKR_ERR_SNP_BINDING);
	CHECK(strstr(skr_buf_cstr(&why), "initTimeData") != NULL);
	skr_snp_request_clear(&req);
	/* Runtime data the report does not bind. */
	free(rt);
	rt = b64s("{\"keys\":[]}", 0);
	snprintf(body, sizeof(body), "{\"report\":\"%s\",\"runtimeData\":"
	    "{\"data\":\"%s\",\"dataType\":\"JSON\"}}", rm, rt);
	CHECK_OK(skr_snp_request_parse(body, strlen(body), &req, &why));
	CHECK_ERR(skr_snp_request_verify(&req, trust, FX_NOW, &v, &why),
	    SKR_ERR_SNP_BINDING);
	skr_snp_request_clear(&req);
	free(rm);
	free(it);
	free(rt);
	skr_buf_free(&why);
}

static void
test_split(void)
{
	skr_buf in = SKR_BUF_INIT, leaf = SKR_BUF_INIT, rest = SKR_BUF_INIT;
	skr_buf why = SKR_BUF_INIT;

	/* DER alone. */
	CHECK_OK(skr_snp_certs_split(vcek_der.data, vcek_der.len, &leaf, &rest,
	    &why));
	CHECK_MEM(leaf.data, leaf.len, vcek_der.data, vcek_der.len);
	CHECK(rest.len == 0);
	/* DER, then PEM. */
	skr_buf_reset(&leaf);
	skr_buf_append(&in, vcek_der.data, vcek_der.len);
	skr_buf_append(&in, chain_pem.data, chain_pem.len);
	CHECK_OK(skr_snp_certs_split(in.data, in.len, &leaf, &rest, &why));
	CHECK_MEM(leaf.data, leaf.len, vcek_der.data, vcek_der.len);
	CHECK_MEM(rest.data, rest.len, chain_pem.data, chain_pem.len);
	/* PEM with the VCEK last: it is still the leaf. */
	skr_buf_reset(&in);
	skr_buf_reset(&leaf);
	skr_buf_reset(&rest);
	skr_buf_append(&in, chain_pem.data, chain_pem.len);
	skr_buf_append(&in, vcek_pem.data, vcek_pem.len);
	CHECK_OK(skr_snp_certs_split(in.data, in.len, &leaf, &rest, &why));
	CHECK_MEM(leaf.data, leaf.len, vcek_der.data, vcek_der.len);
	CHECK_MEM(rest.data, rest.len, chain_pem.data, chain_pem.len);
	/* Without a VCEK or VLEK the first certificate is the leaf. */
	skr_buf_reset(&leaf);
	skr_buf_reset(&rest);
	CHECK_OK(skr_snp_certs_split(chain_pem.data, chain_pem.len, &leaf,
	    &rest, &why));
	CHECK(leaf.len > 0 && rest.len > 0);
	/* Refused: DER then garbage, garbage, nothing, too many. */
	skr_buf_reset(&in);
	skr_buf_append(&in, vcek_der.data, vcek_der.len);
	skr_buf_append_str(&in, "garbage");
	CHECK_ERR(skr_snp_certs_split(in.data, in.len, &leaf, &rest, &why),
	    SKR_ERR_SNP_CERT);
	CHECK_ERR(skr_snp_certs_split((const uint8_t *)"\x30\x03\x02\x01\x01",
	    5, &leaf, &rest, &why), SKR_ERR_SNP_CERT);
	CHECK_ERR(skr_snp_certs_split((const uint8_t *)"", 0, &leaf, &rest,
	    &why), SKR_ERR_SNP_CERT);
	skr_buf_reset(&in);
	for (int i = 0; i < SKR_SNP_EVIDENCE_MAX_CERTS + 2; i++)
		skr_buf_append(&in, vcek_pem.data, vcek_pem.len);
	CHECK_ERR(skr_snp_certs_split(in.data, in.len, &leaf, &rest, &why),
	    SKR_ERR_SNP_CERT);
	skr_buf_free(&in);
	skr_buf_free(&leaf);
	skr_buf_free(&rest);
	skr_buf_free(&why);
}

int
main(void)
{
	skr_buf pem = SKR_BUF_INIT;
	fx_cert_opts o;
	X509 *c;

	fx_amd_make(&milan, SKR_SNP_PRODUCT_MILAN);
	fx_amd_pem(&milan, &pem);
	CHECK_OK(skr_snp_trust_new(&trust));
	CHECK_OK(skr_snp_trust_set_roots_pem(trust, (const char *)pem.data,
	    pem.len, NULL));
	fx_pem(milan.ask, &chain_pem);
	fx_pem(milan.ark, &chain_pem);
	vcek_key = fx_p384();
	fx_report(report, 3, SKR_SNP_PRODUCT_MILAN);
	memset(report + FX_OFF_REPORT_DATA, 0, 64);
	SHA256((const uint8_t *)RUNTIME, strlen(RUNTIME),
	    report + FX_OFF_REPORT_DATA);
	fx_sign(report, vcek_key);
	fx_vek_opts(&o, report, SKR_SNP_PRODUCT_MILAN, 0);
	c = fx_cert(&o, vcek_key, milan.ask, milan.ask_key);
	fx_der(c, &vcek_der);
	fx_pem(c, &vcek_pem);
	X509_free(c);

	test_sidecar();
	test_refused_shapes();
	test_bindings();
	test_split();

	skr_buf_free(&pem);
	skr_buf_free(&vcek_der);
	skr_buf_free(&vcek_pem);
	skr_buf_free(&chain_pem);
	EVP_PKEY_free(vcek_key);
	skr_snp_trust_free(trust);
	fx_amd_free(&milan);
	return check_done();
}
