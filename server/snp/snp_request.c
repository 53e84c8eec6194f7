#include "snp_request.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "encoding.h"
#include "guard.h"
#include "json.h"
#include "skr/error.h"
#include "snp_priv.h"
#include "snp_report.h"

#define UINT64_DIGITS 20
#define UINT64_MAX_TEXT "18446744073709551615"

void
skr_snp_request_init(skr_snp_request *r)
{
	memset(r, 0, sizeof(*r));
	skr_buf_init(&r->report, SKR_SNP_REQUEST_MAX_BYTES);
	skr_buf_init(&r->cert, SKR_SNP_CHAIN_MAX_BYTES);
	skr_buf_init(&r->chain, SKR_SNP_CHAIN_MAX_BYTES);
	skr_buf_init(&r->runtime, SKR_SNP_REQUEST_MAX_BYTES);
	skr_buf_init(&r->inittime, SKR_SNP_REQUEST_MAX_BYTES);
}

void
skr_snp_request_clear(skr_snp_request *r)
{
	skr_buf_free(&r->report);
	skr_buf_free(&r->cert);
	skr_buf_free(&r->chain);
	skr_buf_free(&r->runtime);
	skr_buf_free(&r->inittime);
	skr_snp_request_init(r);
}

/* ---- the nonce's text ---------------------------------------------------- */

/*
 * The sidecar sends its nonce as a JSON number drawn from all of uint64,
 * which jansson cannot hold above INT64_MAX.  The number's text is found
 * in the body before parsing and kept as the nonce; the parser then sees a
 * 0 in its place.  The scan only has to be right for valid JSON: anything
 * else is refused by the parser afterwards.
 */

static size_t
skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
	    s[i] == '\r'))
		i++;
	return i;
}

/* The index after the string that opens at s[i]. */
static size_t
string_end(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

/* The index after the value that starts at s[i]. */
static size_t
value_end(const char *s, size_t n, size_t i)
{
	size_t depth = 0;

	if (i < n && s[i] == '"')
		return string_end(s, n, i);
	if (i < n && s[i] != '{' && s[i] != '[') {
		while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' &&
		    s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			i++;
		return i;
	}
	while (i < n) {
		if (s[i] == '"') {
			i = string_end(s, n, i);
			continue;
		}
		if (s[i] == '{' || s[i] == '[')
			depth++;
		else if ((s[i] == '}' || s[i] == ']') && --depth == 0)
			return i + 1;
		i++;
	}
	return n;
}

/* Where the number that is the value of top-level member "nonce" lies:
 * 1 with *at and *len, or 0 when there is none. */
static int
nonce_number(const char *s, size_t n, size_t *at, size_t *len)
{
	size_t i = skip_ws(s, n, 0), key, end, v;

	if (i >= n || s[i] != '{')
		return 0;
	for (i++;;) {
		i = skip_ws(s, n, i);
		if (i >= n || s[i] != '"')
			return 0;
		key = i + 1;
		end = string_end(s, n, i);
		i = skip_ws(s, n, end);
		if (i >= n || s[i] != ':')
			return 0;
		v = skip_ws(s, n, i + 1);
		i = value_end(s, n, v);
		if (end - key == 6 && memcmp(s + key, "nonce\"", 6) == 0 &&
		    v < n && (s[v] == '-' || isdigit((unsigned char)s[v]))) {
			*at = v;
			*len = i - v;
			return 1;
		}
		i = skip_ws(s, n, i);
		if (i >= n || s[i] != ',')
			return 0;
		i++;
	}
}

/* 1 when the len characters at p are a decimal integer in 0..2^64-1
 * without a sign, fraction, exponent or leading zero. */
static int
is_uint64_text(const char *p, size_t len)
{
	if (len == 0 || len > UINT64_DIGITS || (p[0] == '0' && len > 1))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)p[i]))
			return 0;
	return len < UINT64_DIGITS || memcmp(p, UINT64_MAX_TEXT, len) <= 0;
}

static int
nonce_member(const json_t *v, const char *raw, skr_snp_request *out,
    skr_buf *why)
{
	size_t n;

	if (v == NULL || json_is_null(v))
		return SKR_OK;
	if (json_is_string(v)) {
		n = json_string_length(v);
		if (n == 0 || n > SKR_SNP_NONCE_MAX)
			return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
			    "nonce: a string of 1 to %d bytes",
			    SKR_SNP_NONCE_MAX);
		memcpy(out->nonce, json_string_value(v), n + 1);
	} else if (raw != NULL)
		snprintf(out->nonce, sizeof(out->nonce), "%s", raw);
	else if (json_is_integer(v) && json_integer_value(v) >= 0)
		snprintf(out->nonce, sizeof(out->nonce), "%lld",
		    (long long)json_integer_value(v));
	else
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "nonce: a string, or an integer from 0 to 2^64 - 1");
	out->has_nonce = 1;
	return SKR_OK;
}

/* ---- members ------------------------------------------------------------- */

/* Refuse members of o other than the NULL-ended names. */
static int
known_members(const json_t *o, const char *const *names, const char *what,
    skr_buf *why)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)o, k, v) {
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(k, names[i]) == 0)
				break;
		if (names[i] == NULL)
			return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
			    "%s: unknown member \"%.64s\"", what, k);
	}
	return SKR_OK;
}

/* base64url, padded (Go's URLEncoding) or not, appended to out. */
static int
b64url(const json_t *v, const char *what, skr_buf *out, skr_buf *why)
{
	const char *s;
	size_t n;
	int r;

	if (!json_is_string(v))
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "%s: not a string", what);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n % 4 == 0 && n >= 1 && s[n - 1] == '=')
		n -= n >= 2 && s[n - 2] == '=' ? 2 : 1;
	if ((r = skr_b64url_decode(out, s, n)) == SKR_ERR_TOO_LARGE)
		return skr_buf_fail(why, r, "%s: too large", what);
	if (r != SKR_OK)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "%s: not base64url", what);
	return SKR_OK;
}

/* runtimeData or initTimeData: {"data": b64url, "dataType": "JSON" |
 * "Binary"}, or null, or both members empty (what the sidecar sends for
 * initTimeData it does not use). */
static int
data_member(const json_t *o, const char *what, skr_buf *out,
    skr_snp_data_type *type, skr_buf *why)
{
	static const char *const names[] = { "data", "dataType", NULL };
	const json_t *data, *dt;
	const char *t;
	char name[64];
	int r;

	*type = SKR_SNP_DATA_NONE;
	if (o == NULL || json_is_null(o))
		return SKR_OK;
	if (!json_is_object(o))
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "%s: not an object", what);
	if ((r = known_members(o, names, what, why)) != SKR_OK)
		return r;
	data = json_object_get(o, "data");
	dt = json_object_get(o, "dataType");
	if ((data != NULL && !json_is_string(data)) ||
	    (dt != NULL && !json_is_string(dt)))
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "%s: data and dataType must be strings", what);
	t = dt != NULL ? json_string_value(dt) : "";
	if ((data == NULL || json_string_length(data) == 0) && *t == '\0')
		return SKR_OK;
	if (data == NULL || json_string_length(data) == 0)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "%s: data is empty", what);
	/* Azure Attestation spells them "JSON" and "Binary"; clients have
	 * sent other cases. */
	if (strcasecmp(t, "JSON") == 0)
		*type = SKR_SNP_DATA_JSON;
	else if (strcasecmp(t, "Binary") == 0)
		*type = SKR_SNP_DATA_BINARY;
	else
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "%s: dataType must be JSON or Binary", what);
	snprintf(name, sizeof(name), "%s.data", what);
	if ((r = b64url(data, name, out, why)) != SKR_OK)
		return r;
	if (out->len > SKR_SNP_RUNTIME_MAX_BYTES)
		return skr_buf_fail(why, SKR_ERR_TOO_LARGE,
		    "%s: over %zu bytes", what, SKR_SNP_RUNTIME_MAX_BYTES);
	return SKR_OK;
}

/* The decoded "report": {"SnpReport", "VcekCertChain"?, "Endorsements"?}. */
static int
report_member(const json_t *v, skr_snp_request *out, skr_buf *why)
{
	static const char *const names[] = { "SnpReport", "VcekCertChain",
		"Endorsements", NULL };
	skr_buf text = SKR_BUF_INIT, certs = SKR_BUF_INIT, ign = SKR_BUF_INIT;
	json_t *o = NULL;
	const json_t *m;
	int r;

	skr_buf_init(&text, SKR_SNP_REQUEST_MAX_BYTES);
	skr_buf_init(&certs, SKR_SNP_CHAIN_MAX_BYTES);
	skr_buf_init(&ign, SKR_SNP_REQUEST_MAX_BYTES);
	if (v == NULL) {
		r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "report: missing");
		goto out;
	}
	SKR_GUARD(b64url(v, "report", &text, why));
	if (skr_json_parse((const char *)text.data, text.len, 0, &o) !=
	    SKR_OK || !json_is_object(o)) {
		r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "report: not a strict JSON object");
		goto out;
	}
	SKR_GUARD(known_members(o, names, "report", why));
	if ((m = json_object_get(o, "SnpReport")) == NULL) {
		r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "report.SnpReport: missing");
		goto out;
	}
	SKR_GUARD(b64url(m, "report.SnpReport", &out->report, why));
	if (out->report.len != SKR_SNP_REPORT_SIZE) {
		r = skr_buf_fail(why, SKR_ERR_SNP_REPORT,
		    "report.SnpReport: %zu bytes, not %d", out->report.len,
		    SKR_SNP_REPORT_SIZE);
		goto out;
	}
	if ((m = json_object_get(o, "VcekCertChain")) != NULL &&
	    !json_is_null(m)) {
		SKR_GUARD(b64url(m, "report.VcekCertChain", &certs, why));
		if (certs.len > 0)
			SKR_GUARD(skr_snp_certs_split(certs.data, certs.len,
			    &out->cert, &out->chain, why));
	}
	/* Azure Attestation reads UVM endorsements from here; skrd does
	 * not (docs/snp.md), but their shape is still checked. */
	if ((m = json_object_get(o, "Endorsements")) != NULL &&
	    !json_is_null(m)) {
		SKR_GUARD(b64url(m, "report.Endorsements", &ign, why));
		out->has_endorsements = 1;
	}
	r = SKR_OK;
out:
	json_decref(o);
	skr_buf_free(&text);
	skr_buf_free(&certs);
	skr_buf_free(&ign);
	return r;
}

int
skr_snp_request_parse(const char *body, size_t n, skr_snp_request *out,
    skr_buf *why)
{
	static const char *const names[] = { "report", "runtimeData",
		"initTimeData", "nonce", NULL };
	skr_buf copy = SKR_BUF_INIT;
	char raw[UINT64_DIGITS + 1];
	size_t at, len;
	int r, blanked = 0;
	json_t *doc = NULL;

	skr_snp_request_init(out);
	if (n > SKR_SNP_REQUEST_MAX_BYTES)
		return skr_buf_fail(why, SKR_ERR_TOO_LARGE,
		    "request over %zu bytes", SKR_SNP_REQUEST_MAX_BYTES);
	skr_buf_init(&copy, SKR_SNP_REQUEST_MAX_BYTES);
	SKR_GUARD(skr_buf_append(&copy, body, n));
	if (nonce_number((const char *)copy.data, n, &at, &len)) {
		const char *p = (const char *)copy.data + at;

		if (!is_uint64_text(p, len)) {
			r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
			    "nonce: a string, or an integer from 0 to "
			    "2^64 - 1 written in plain digits");
			goto out;
		}
		memcpy(raw, p, len);
		raw[len] = '\0';
		copy.data[at] = '0';
		memset(copy.data + at + 1, ' ', len - 1);
		blanked = 1;
	}
	if ((r = skr_json_parse((const char *)copy.data, copy.len, 0, &doc)) !=
	    SKR_OK) {
		skr_buf_fail(why, r, "request is not strict JSON");
		goto out;
	}
	if (!json_is_object(doc)) {
		r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "request: not a JSON object");
		goto out;
	}
	if (json_object_get(doc, "draftPolicyForAttestation") != NULL) {
		r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "draftPolicyForAttestation: skrd has no attestation "
		    "policies; release policies decide");
		goto out;
	}
	SKR_GUARD(known_members(doc, names, "request", why));
	SKR_GUARD(report_member(json_object_get(doc, "report"), out, why));
	SKR_GUARD(data_member(json_object_get(doc, "runtimeData"),
	    "runtimeData", &out->runtime, &out->runtime_type, why));
	SKR_GUARD(data_member(json_object_get(doc, "initTimeData"),
	    "initTimeData", &out->inittime, &out->inittime_type, why));
	SKR_GUARD(nonce_member(json_object_get(doc, "nonce"),
	    blanked ? raw : NULL, out, why));
out:
	json_decref(doc);
	skr_buf_free(&copy);
	return r;
}

/* ---- certificates -------------------------------------------------------- */

static int
append_pem(X509 *x, skr_buf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;
	int r = SKR_ERR_NOMEM;

	if (b != NULL && PEM_write_bio_X509(b, x) == 1 &&
	    (len = BIO_get_mem_data(b, &p)) > 0)
		r = skr_buf_append(out, p, (size_t)len);
	BIO_free(b);
	ERR_clear_error();
	return r;
}

static int
append_der(X509 *x, skr_buf *out)
{
	uint8_t *der = NULL;
	int len = i2d_X509(x, &der);
	int r = len > 0 ? skr_buf_append(out, der, (size_t)len) :
	    SKR_ERR_CRYPTO;

	OPENSSL_free(der);
	ERR_clear_error();
	return r;
}

int
skr_snp_certs_split(const uint8_t *p, size_t n, skr_buf *leaf,
    skr_buf *rest, skr_buf *why)
{
	STACK_OF(X509) *all = NULL;
	X509 *first = NULL;
	const uint8_t *q = p;
	char cn[32];
	int r, pick = -1;

	if (n > SKR_SNP_CHAIN_MAX_BYTES)
		return skr_buf_fail(why, SKR_ERR_TOO_LARGE,
		    "certificates over %zu bytes", SKR_SNP_CHAIN_MAX_BYTES);
	/* DER starts with a SEQUENCE; PEM with text. */
	if (n > 0 && p[0] == 0x30) {
		if ((first = d2i_X509(NULL, &q, (long)n)) == NULL) {
			r = skr_buf_fail(why, SKR_ERR_SNP_CERT,
			    "certificate is neither DER nor PEM");
			goto out;
		}
		n -= (size_t)(q - p);
	}
	if (n > 0 || first == NULL)
		SKR_GUARD(skr_snp_certs_from_pem((const char *)q, n,
		    SKR_SNP_EVIDENCE_MAX_CERTS + (first == NULL), &all, why));
	else if ((all = sk_X509_new_null()) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	if (first != NULL) {
		SKR_ENSURE(sk_X509_insert(all, first, 0) > 0, SKR_ERR_NOMEM);
		first = NULL;
	}
	for (int i = 0; i < sk_X509_num(all) && pick < 0; i++)
		if (skr__snp_subject_cn(sk_X509_value(all, i), cn, sizeof(cn)) &&
		    (strcmp(cn, "SEV-VCEK") == 0 || strcmp(cn, "SEV-VLEK") == 0))
			pick = i;
	if (pick < 0)
		pick = 0;
	SKR_GUARD(append_der(sk_X509_value(all, pick), leaf));
	for (int i = 0; i < sk_X509_num(all); i++)
		if (i != pick)
			SKR_GUARD(append_pem(sk_X509_value(all, i), rest));
out:
	X509_free(first);
	sk_X509_pop_free(all, X509_free);
	ERR_clear_error();
	return r;
}

/* ---- verification -------------------------------------------------------- */

int
skr_snp_request_verify(const skr_snp_request *req, const skr_snp_trust *t,
    int64_t now, skr_snp_verified **out, skr_buf *why)
{
	skr_snp_evidence ev;
	skr_snp_opts o = SKR_SNP_OPTS_INIT;
	skr_snp_verified *v = NULL;
	uint8_t digest[SHA256_DIGEST_LENGTH];
	json_t *it = NULL;
	int r;

	*out = NULL;
	if (req->cert.len == 0)
		return skr_buf_fail(why, SKR_ERR_SNP_CERT,
		    "no VCEK or VLEK: VcekCertChain is absent");
	memset(&ev, 0, sizeof(ev));
	ev.report = req->report.data;
	ev.report_len = req->report.len;
	ev.cert = req->cert.data;
	ev.cert_len = req->cert.len;
	if (req->chain.len > 0) {
		ev.chain_pem = (const char *)req->chain.data;
		ev.chain_len = req->chain.len;
	}
	o.now = now;
	if (req->runtime_type != SKR_SNP_DATA_NONE) {
		o.runtime_data = req->runtime.data;
		o.runtime_len = req->runtime.len;
		o.runtime_json = req->runtime_type == SKR_SNP_DATA_JSON;
	}
	SKR_GUARD(skr_snp_verify(&ev, t, &o, &v, why));
	if (req->inittime_type != SKR_SNP_DATA_NONE) {
		SHA256(req->inittime.data, req->inittime.len, digest);
		if (!skr_ct_equal(digest, v->report.host_data,
		    sizeof(digest))) {
			r = skr_buf_fail(why, SKR_ERR_SNP_BINDING,
			    "HOST_DATA is not the SHA-256 of initTimeData");
			goto out;
		}
	}
	if (req->inittime_type == SKR_SNP_DATA_JSON) {
		if (skr_json_parse((const char *)req->inittime.data,
		    req->inittime.len, 0, &it) != SKR_OK ||
		    !json_is_object(it)) {
			r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
			    "initTimeData is not a strict JSON object");
			goto out;
		}
		SKR_ENSURE(json_object_set(v->claims, "x-ms-inittime", it) == 0,
		    SKR_ERR_NOMEM);
	}
	*out = v;
	v = NULL;
out:
	json_decref(it);
	skr_snp_verified_free(v);
	return r;
}
