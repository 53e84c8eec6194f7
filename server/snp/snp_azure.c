#include "snp_azure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "encoding.h"
#include "guard.h"
#include "json.h"
#include "jwk.h"
#include "skr/error.h"
#include "snp_cert.h"
#include "snp_priv.h"
#include "snp_tpm.h"

#define REQUEST_BLOCK_SIZE 20
#define MAX_PCRS (SKR_TPM_SELECT_MAX * 8)
#define AK_KID "HCLAkPub"

int
skr_snp_hcl_parse(const uint8_t *p, size_t n, skr_snp_hcl *out,
    skr_buf *why)
{
	uint32_t status, var_size;

	memset(out, 0, sizeof(*out));
	if (n < SKR_SNP_HCL_RUNTIME_OFFSET)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "HCL report of %zu bytes", n);
	if (memcmp(p, "HCLA", 4) != 0)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "HCL report does not start with \"HCLA\"");
	out->version = skr__le32(p + 4);
	out->report_size = skr__le32(p + 8);
	out->request_type = skr__le32(p + 12);
	status = skr__le32(p + 16);
	if (status != 0)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "HCL report status %u", status);
	out->report = p + SKR_SNP_HCL_HEADER_SIZE;
	p += SKR_SNP_HCL_REQUEST_OFFSET;
	out->data_size = skr__le32(p);
	out->data_version = skr__le32(p + 4);
	out->report_type = skr__le32(p + 8);
	out->hash_type = skr__le32(p + 12);
	var_size = skr__le32(p + 16);
	if (out->report_type != SKR_SNP_HCL_REPORT_TYPE_SNP)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "HCL report type %u is not SEV-SNP (%d)", out->report_type,
		    SKR_SNP_HCL_REPORT_TYPE_SNP);
	if (out->hash_type != SKR_SNP_HCL_HASH_SHA256)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "HCL hash type %u is not SHA-256 (%d)", out->hash_type,
		    SKR_SNP_HCL_HASH_SHA256);
	if (var_size > n - SKR_SNP_HCL_RUNTIME_OFFSET)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "HCL runtime data of %u bytes runs past the report",
		    var_size);
	if ((uint64_t)out->data_size !=
	    (uint64_t)var_size + REQUEST_BLOCK_SIZE ||
	    (uint64_t)out->report_size !=
	    (uint64_t)SKR_SNP_HCL_REQUEST_OFFSET + out->data_size)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "HCL report sizes disagree (report %u, data %u, runtime "
		    "%u)", out->report_size, out->data_size, var_size);
	out->runtime = p + REQUEST_BLOCK_SIZE;
	out->runtime_len = var_size;
	return SKR_OK;
}

/* ---- the evidence document ---- */

struct evidence {
	int version;
	skr_buf hcl, vcek, message, signature;
	uint8_t pcrs[MAX_PCRS][32];
	size_t npcrs;
};

static void
evidence_free(struct evidence *e)
{
	skr_buf_free(&e->hcl);
	skr_buf_free(&e->vcek);
	skr_buf_free(&e->message);
	skr_buf_free(&e->signature);
}

/* base64url as serde writes it: padded or not. */
static int
b64url_member(const json_t *o, const char *name, skr_buf *out, skr_buf *why)
{
	const json_t *v = json_object_get(o, name);
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "evidence \"%s\" is not a string", name);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n % 4 == 0 && n >= 1 && s[n - 1] == '=')
		n -= n >= 2 && s[n - 2] == '=' ? 2 : 1;
	if (skr_b64url_decode(out, s, n) != SKR_OK)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "evidence \"%s\" is not base64url", name);
	return SKR_OK;
}

static int
hex_member(const json_t *o, const char *name, skr_buf *out, skr_buf *why)
{
	const json_t *v = json_object_get(o, name);

	if (!json_is_string(v) || skr_hex_decode(out, json_string_value(v),
	    json_string_length(v)) != SKR_OK)
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote \"%s\" is not a hex string", name);
	return SKR_OK;
}

/* Every member of o is one of names. */
static int
only_members(const json_t *o, const char *const *names, size_t count,
    const char *what, skr_buf *why)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)o, k, v) {
		for (i = 0; i < count; i++)
			if (strcmp(k, names[i]) == 0)
				break;
		if (i == count)
			return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
			    "unknown %s member \"%.32s\"", what, k);
	}
	return SKR_OK;
}

static int
parse_evidence(const char *text, size_t n, struct evidence *e, skr_buf *why)
{
	static const char *const top[] = { "version", "tpm_quote",
	    "hcl_report", "vcek" };
	static const char *const quote[] = { "signature", "message", "pcrs" };
	json_t *doc = NULL, *q, *pcrs, *v;
	skr_buf b = SKR_BUF_INIT;
	size_t i;
	int r = SKR_OK;

	if (n > SKR_SNP_AZURE_MAX_BYTES)
		return skr_buf_fail(why, SKR_ERR_TOO_LARGE,
		    "evidence over %zu bytes", SKR_SNP_AZURE_MAX_BYTES);
	if (skr_json_parse(text, n, 0, &doc) != SKR_OK ||
	    !json_is_object(doc)) {
		r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "evidence is not a strict JSON object");
		goto out;
	}
	SKR_GUARD(only_members(doc, top, 4, "evidence", why));
	v = json_object_get(doc, "version");
	if (!json_is_integer(v) || (json_integer_value(v) != 1 &&
	    json_integer_value(v) != 2)) {
		r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "evidence version is not 1 or 2");
		goto out;
	}
	e->version = (int)json_integer_value(v);
	SKR_GUARD(b64url_member(doc, "hcl_report", &e->hcl, why));
	SKR_GUARD(b64url_member(doc, "vcek", &e->vcek, why));
	q = json_object_get(doc, "tpm_quote");
	if (!json_is_object(q)) {
		r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "evidence \"tpm_quote\" is not an object");
		goto out;
	}
	SKR_GUARD(only_members(q, quote, 3, "tpm_quote", why));
	SKR_GUARD(hex_member(q, "message", &e->message, why));
	SKR_GUARD(hex_member(q, "signature", &e->signature, why));
	pcrs = json_object_get(q, "pcrs");
	if (!json_is_array(pcrs) || json_array_size(pcrs) > MAX_PCRS) {
		r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote \"pcrs\" is not an array of at most %d", MAX_PCRS);
		goto out;
	}
	json_array_foreach(pcrs, i, v) {
		skr_buf_reset(&b);
		if (!json_is_string(v) || skr_hex_decode(&b,
		    json_string_value(v), json_string_length(v)) != SKR_OK ||
		    b.len != 32) {
			r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
			    "PCR %zu is not 32 bytes of hex", i);
			goto out;
		}
		memcpy(e->pcrs[i], b.data, 32);
	}
	e->npcrs = json_array_size(pcrs);
out:
	skr_buf_free(&b);
	json_decref(doc);
	return r;
}

/* ---- the runtime JSON and the quote ---- */

/* HCLAkPub of the runtime JSON's "keys". */
static int
ak_key(const json_t *runtime, skr_key **out, skr_buf *why)
{
	const json_t *keys = json_object_get(runtime, "keys"), *k;
	size_t i;

	json_array_foreach(keys, i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));

		if (kid == NULL || strcmp(kid, AK_KID) != 0)
			continue;
		if (skr_jwk_parse(k, SKR_JWK_PUBLIC, out) != SKR_OK ||
		    EVP_PKEY_get_base_id(skr_key_pkey(*out)) != EVP_PKEY_RSA) {
			skr_key_free(*out);
			*out = NULL;
			return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
			    "runtime " AK_KID " is not a usable RSA key");
		}
		return SKR_OK;
	}
	return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
	    "runtime data has no " AK_KID " key");
}

static int
quote_signature(const struct evidence *e, const skr_key *ak, skr_buf *why)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return SKR_ERR_NOMEM;
	/* EVP_DigestVerifyInit defaults an RSA key to PKCS #1 v1.5. */
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	    skr_key_pkey(ak)) == 1 && EVP_DigestVerify(ctx, e->signature.data,
	    e->signature.len, e->message.data, e->message.len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (!ok)
		return skr_buf_fail(why, SKR_ERR_SNP_QUOTE,
		    "quote signature does not verify under " AK_KID);
	return SKR_OK;
}

/* Version 2 evidence also binds the nonce into the SNP report: it starts
 * the runtime JSON's hex "user-data". */
static int
user_data_nonce(const json_t *runtime, const uint8_t *nonce, size_t n,
    skr_buf *why)
{
	const json_t *ud = json_object_get(runtime, "user-data");
	skr_buf b = SKR_BUF_INIT;
	int r = SKR_OK;

	if (!json_is_string(ud) || skr_hex_decode(&b, json_string_value(ud),
	    json_string_length(ud)) != SKR_OK) {
		r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "runtime \"user-data\" is not hex");
		goto out;
	}
	if (b.len < n || memcmp(b.data, nonce, n) != 0)
		r = skr_buf_fail(why, SKR_ERR_SNP_NONCE,
		    "runtime \"user-data\" does not start with the nonce");
out:
	skr_buf_free(&b);
	return r;
}

static int
pcr_digest(const struct evidence *e, const skr_snp_tpm_quote *q,
    skr_buf *why)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	if (q->pcr_digest_len != sizeof(md))
		return skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote pcrDigest of %zu bytes", q->pcr_digest_len);
	/* The PCR values lie back to back, in selection order. */
	if (SHA256(e->pcrs[0], e->npcrs * 32, md) == NULL)
		return SKR_ERR_CRYPTO;
	if (memcmp(md, q->pcr_digest, sizeof(md)) != 0)
		return skr_buf_fail(why, SKR_ERR_SNP_QUOTE,
		    "the listed PCRs do not hash to the quote's pcrDigest");
	return SKR_OK;
}

/* ---- claims ---- */

static int
azure_claims(skr_snp_verified *v, json_t *runtime, const struct evidence *e,
    const unsigned *idx)
{
	json_t *c = NULL, *attested, *values, *tee = v->claims;
	const json_t *vmid;
	char name[8];
	int r = SKR_OK;

	SKR_ENSURE((c = json_object()) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(json_object_set_new(c, "x-ms-attestation-type",
	    json_string("azurevm")) == 0, SKR_ERR_NOMEM);
	SKR_ENSURE(json_object_set_new(c, "x-ms-azurevm-attested-pcrs",
	    attested = json_array()) == 0, SKR_ERR_NOMEM);
	SKR_ENSURE(json_object_set_new(c, "x-ms-azurevm-pcrs",
	    values = json_object()) == 0, SKR_ERR_NOMEM);
	for (size_t i = 0; i < e->npcrs; i++) {
		SKR_ENSURE(json_array_append_new(attested,
		    json_integer(idx[i])) == 0, SKR_ERR_NOMEM);
		snprintf(name, sizeof(name), "%u", idx[i]);
		SKR_GUARD(skr__snp_set_hex(values, name, e->pcrs[i], 32));
	}
	vmid = json_object_get(json_object_get(runtime, "vm-configuration"),
	    "vmUniqueId");
	if (json_is_string(vmid))
		SKR_ENSURE(json_object_set(c, "x-ms-azurevm-vmid",
		    (json_t *)vmid) == 0, SKR_ERR_NOMEM);
	SKR_ENSURE(json_object_set(tee, "x-ms-runtime", runtime) == 0,
	    SKR_ERR_NOMEM);
	SKR_ENSURE(json_object_set(c, "x-ms-isolation-tee", tee) == 0,
	    SKR_ERR_NOMEM);
	json_decref(v->claims);
	v->claims = c;
	c = NULL;
out:
	json_decref(c);
	return r;
}

int
skr_snp_azure_verify(const char *text, size_t n, const skr_snp_trust *t,
    const skr_snp_azure_opts *opts, skr_snp_verified **out, skr_buf *why)
{
	struct evidence e = { 0, SKR_BUF_INIT, SKR_BUF_INIT, SKR_BUF_INIT,
	    SKR_BUF_INIT, { { 0 } }, 0 };
	skr_snp_opts so = SKR_SNP_OPTS_INIT;
	skr_snp_evidence ev = { 0 };
	skr_snp_verified *v = NULL;
	skr_snp_tpm_quote q;
	skr_snp_hcl hcl;
	skr_key *ak = NULL;
	json_t *runtime = NULL;
	unsigned idx[MAX_PCRS];
	size_t count;
	int r = SKR_OK;

	*out = NULL;
	SKR_ENSURE(text != NULL && t != NULL && opts != NULL, SKR_ERR_INVAL);
	SKR_ENSURE(opts->skip_nonce ? opts->nonce == NULL :
	    opts->nonce != NULL && opts->nonce_len > 0, SKR_ERR_INVAL);
	SKR_GUARD(parse_evidence(text, n, &e, why));
	SKR_GUARD(skr_snp_hcl_parse(e.hcl.data, e.hcl.len, &hcl, why));

	ev.report = hcl.report;
	ev.report_len = SKR_SNP_REPORT_SIZE;
	ev.cert = e.vcek.data;
	ev.cert_len = e.vcek.len;
	so.now = opts->now;
	so.runtime_data = hcl.runtime;
	so.runtime_len = hcl.runtime_len;
	SKR_GUARD(skr_snp_verify(&ev, t, &so, &v, why));
	/* Only the HCL, at VMPL 0, vouches for the runtime data. */
	if (v->report.vmpl != 0) {
		r = skr_buf_fail(why, SKR_ERR_SNP_BINDING,
		    "HCL report requested at VMPL %u, not 0", v->report.vmpl);
		goto out;
	}
	if (skr_json_parse((const char *)hcl.runtime, hcl.runtime_len, 0,
	    &runtime) != SKR_OK || !json_is_object(runtime)) {
		r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "HCL runtime data is not a strict JSON object");
		goto out;
	}
	SKR_GUARD(ak_key(runtime, &ak, why));

	SKR_GUARD(skr_snp_tpm_quote_parse(e.message.data, e.message.len, &q,
	    why));
	SKR_GUARD(skr_snp_tpm_quote_pcrs(&q, idx, &count, why));
	if (count != e.npcrs) {
		r = skr_buf_fail(why, SKR_ERR_SNP_EVIDENCE,
		    "quote selects %zu PCRs, evidence lists %zu", count,
		    e.npcrs);
		goto out;
	}
	SKR_GUARD(quote_signature(&e, ak, why));
	if (!opts->skip_nonce) {
		if (q.extra_len != opts->nonce_len ||
		    memcmp(q.extra, opts->nonce, q.extra_len) != 0) {
			r = skr_buf_fail(why, SKR_ERR_SNP_NONCE,
			    "quote extraData is not the expected nonce");
			goto out;
		}
		if (e.version >= 2)
			SKR_GUARD(user_data_nonce(runtime, opts->nonce,
			    opts->nonce_len, why));
	}
	SKR_GUARD(pcr_digest(&e, &q, why));
	SKR_GUARD(azure_claims(v, runtime, &e, idx));
	*out = v;
	v = NULL;
out:
	json_decref(runtime);
	skr_key_free(ak);
	skr_snp_verified_free(v);
	evidence_free(&e);
	return r;
}
