/*
 * skrctl attest snp|azure: verify SEV-SNP evidence offline with the
 * library skrd verifies with (server/snp) and print the claims a token of
 * skrd's attestation endpoint would carry, so that a release policy can
 * be written from a real report (docs/snp.md).  No server is contacted.
 * Exit status: 0 verified, 1 unreadable or malformed input, 2 usage, 3
 * evidence refused (docs/skrctl.1).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "encoding.h"
#include "skr/error.h"
#include "skrctl.h"
#include "skrctl_file.h"
#include "skrctl_out.h"
#include "snp_azure.h"
#include "snp_report.h"
#include "snp_request.h"
#include "snp_trust.h"
#include "snp_verify.h"

#define FILE_MAX ((size_t)1024 * 1024)

static int
usage_error(struct skrctl_ctx *x, const char *msg)
{
	skrctl_out_errorf("%s", msg);
	skrctl_usage_of(stderr, x->cmd);
	return SKRCTL_EXIT_USAGE;
}

/* --at: Unix seconds, or an ISO 8601 UTC date "YYYY-MM-DD" or time
 * "YYYY-MM-DDTHH:MM:SSZ".  1 with *out, or 0. */
static int
parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;
	long long n;

	if (skrctl_args_num(s, 1, INT64_MAX, &n)) {
		*out = n;
		return 1;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (end == NULL || *end != '\0')
		return 0;
	*out = (int64_t)timegm(&tm);
	return *out > 0;
}

/* A raw report, or one written as hex (white space allowed). */
static int
read_report(const char *path, skr_buf *out)
{
	skr_buf text = SKR_BUF_INIT, hex = SKR_BUF_INIT;
	int r;

	if ((r = skrctl_file_read(path, FILE_MAX, &text)) != SKR_OK)
		goto out;
	r = SKR_OK;
	for (size_t i = 0; i < text.len && r == SKR_OK; i++)
		if (!isspace(text.data[i]))
			r = skr_buf_append_byte(&hex, text.data[i]);
	if (text.len != SKR_SNP_REPORT_SIZE && r == SKR_OK &&
	    hex.len == 2 * SKR_SNP_REPORT_SIZE && skr_hex_decode(out,
	    (const char *)hex.data, hex.len) == SKR_OK)
		goto out;
	r = skr_buf_append(out, text.data, text.len);
out:
	skr_buf_free(&text);
	skr_buf_free(&hex);
	return r;
}

/* The trust: the built-in pins, or --roots; --certs' extra certificates
 * for the Azure command.  An exit status. */
static int
make_trust(struct skrctl_ctx *x, const char *extra, skr_snp_trust **t)
{
	const char *roots = skrctl_args_get(&x->a, "roots");
	skr_buf pem = SKR_BUF_INIT, why = SKR_BUF_INIT;
	int r, status = SKRCTL_EXIT_ERR;

	if (skr_snp_trust_new(t) != SKR_OK)
		return SKRCTL_EXIT_ERR;
	if (roots != NULL) {
		if (skrctl_file_read(roots, FILE_MAX, &pem) != SKR_OK)
			goto out;
		if ((r = skr_snp_trust_set_roots_pem(*t, (const char *)pem.data,
		    pem.len, &why)) != SKR_OK) {
			skrctl_out_errorf("%s: %s: %s", roots, skr_err_id(r),
			    skr_buf_cstr(&why));
			goto out;
		}
	}
	if (extra != NULL) {
		skr_buf_reset(&pem);
		if (skrctl_file_read(extra, FILE_MAX, &pem) != SKR_OK)
			goto out;
		if ((r = skr_snp_trust_add_pem(*t, (const char *)pem.data,
		    pem.len, &why)) != SKR_OK) {
			skrctl_out_errorf("%s: %s: %s", extra, skr_err_id(r),
			    skr_buf_cstr(&why));
			goto out;
		}
	}
	status = SKRCTL_EXIT_OK;
out:
	skr_buf_free(&pem);
	skr_buf_free(&why);
	return status;
}

/* Print the outcome: the claims on success, else the refusal. */
static int
show(struct skrctl_ctx *x, int r, const skr_snp_verified *v, const char *what,
    const skr_buf *why)
{
	const char *reason = why->len > 0 ? skr_buf_cstr(why) : skr_strerror(r);
	const char *k;
	json_t *o, *m;
	char *s;

	if (r != SKR_OK && x->json) {
		o = json_pack("{s:b,s:{s:s,s:s}}", "valid", 0, "error", "id",
		    skr_err_id(r), "reason", reason);
		if (skrctl_out_json(o) != SKR_OK)
			return SKRCTL_EXIT_ERR;
	} else if (r != SKR_OK)
		skrctl_out_errorf("%s: %s", skr_err_id(r), reason);
	if (r != SKR_OK)
		/* Evidence read and understood but not accepted exits 3, as
		 * skrd's 403 for it does (docs/snp.md). */
		return skrctl_out_release_exit(r);
	if (x->json) {
		o = json_pack("{s:b,s:i,s:s,s:s,s:O}", "valid", 1, "version",
		    (int)v->report.version, "product",
		    skr_snp_product_name(v->product), "signer",
		    v->report.signer == SKR_SNP_SIGNER_VLEK ? "VLEK" : "VCEK",
		    "claims", v->claims);
		return skrctl_out_json(o) == SKR_OK ? SKRCTL_EXIT_OK :
		    SKRCTL_EXIT_ERR;
	}
	printf("%s verified: report version %u, %s, signed by its %s\n", what,
	    (unsigned)v->report.version, skr_snp_product_name(v->product),
	    v->report.signer == SKR_SNP_SIGNER_VLEK ? "VLEK" : "VCEK");
	json_object_foreach(v->claims, k, m) {
		if (json_is_string(m)) {
			printf("  %s: %s\n", k, json_string_value(m));
			continue;
		}
		if ((s = json_dumps(m, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
			return SKRCTL_EXIT_ERR;
		printf("  %s: %s\n", k, s);
		free(s);
	}
	return SKRCTL_EXIT_OK;
}

int
skrctl_attest_snp(struct skrctl_ctx *x)
{
	const char *report = skrctl_args_get(&x->a, "report");
	const char *certs = skrctl_args_get(&x->a, "certs");
	const char *runtime = skrctl_args_get(&x->a, "runtime-data");
	const char *at = skrctl_args_get(&x->a, "at");
	skr_buf rep = SKR_BUF_INIT, cb = SKR_BUF_INIT, leaf = SKR_BUF_INIT;
	skr_buf chain = SKR_BUF_INIT, rt = SKR_BUF_INIT, why = SKR_BUF_INIT;
	skr_snp_evidence ev;
	skr_snp_opts o = SKR_SNP_OPTS_INIT;
	skr_snp_trust *t = NULL;
	skr_snp_verified *v = NULL;
	int r, status;

	if (report == NULL || certs == NULL)
		return usage_error(x, "--report and --certs are required");
	if (at != NULL && !parse_time(at, &o.now))
		return usage_error(x, "--at: not a Unix time or an ISO 8601 "
		    "UTC date or time");
	if (skrctl_args_get(&x->a, "json-runtime") != NULL && runtime == NULL)
		return usage_error(x, "--json-runtime needs --runtime-data");
	if ((status = make_trust(x, NULL, &t)) != SKRCTL_EXIT_OK)
		goto out;
	status = SKRCTL_EXIT_ERR;
	if (read_report(report, &rep) != SKR_OK ||
	    skrctl_file_read(certs, FILE_MAX, &cb) != SKR_OK ||
	    (runtime != NULL && skrctl_file_read(runtime, FILE_MAX, &rt) !=
	    SKR_OK))
		goto out;
	memset(&ev, 0, sizeof(ev));
	if ((r = skr_snp_certs_split(cb.data, cb.len, &leaf, &chain, &why)) ==
	    SKR_OK) {
		ev.report = rep.data;
		ev.report_len = rep.len;
		ev.cert = leaf.data;
		ev.cert_len = leaf.len;
		if (chain.len > 0) {
			ev.chain_pem = (const char *)chain.data;
			ev.chain_len = chain.len;
		}
		if (runtime != NULL) {
			o.runtime_data = rt.data;
			o.runtime_len = rt.len;
			o.runtime_json = skrctl_args_get(&x->a,
			    "json-runtime") != NULL;
		}
		r = skr_snp_verify(&ev, t, &o, &v, &why);
	}
	status = show(x, r, v, "SEV-SNP report", &why);
out:
	skr_snp_verified_free(v);
	skr_snp_trust_free(t);
	skr_buf_free(&rep);
	skr_buf_free(&cb);
	skr_buf_free(&leaf);
	skr_buf_free(&chain);
	skr_buf_free(&rt);
	skr_buf_free(&why);
	return status;
}

int
skrctl_attest_azure(struct skrctl_ctx *x)
{
	const char *evidence = skrctl_args_get(&x->a, "evidence");
	const char *nonce = skrctl_args_get(&x->a, "nonce");
	const char *nhex = skrctl_args_get(&x->a, "nonce-hex");
	const char *at = skrctl_args_get(&x->a, "at");
	int skip = skrctl_args_get(&x->a, "no-nonce") != NULL;
	skr_buf doc = SKR_BUF_INIT, nb = SKR_BUF_INIT, why = SKR_BUF_INIT;
	skr_snp_azure_opts o = SKR_SNP_AZURE_OPTS_INIT;
	skr_snp_trust *t = NULL;
	skr_snp_verified *v = NULL;
	int r, status;

	if (evidence == NULL || (nonce != NULL) + (nhex != NULL) + skip != 1)
		return usage_error(x, "--evidence and one of --nonce, "
		    "--nonce-hex or --no-nonce are required");
	if (at != NULL && !parse_time(at, &o.now))
		return usage_error(x, "--at: not a Unix time or an ISO 8601 "
		    "UTC date or time");
	if (nonce != NULL)
		r = skr_buf_append_str(&nb, nonce);
	else if (nhex != NULL)
		r = skr_hex_decode(&nb, nhex, strlen(nhex));
	else
		r = SKR_OK;
	if (r != SKR_OK || (!skip && nb.len == 0)) {
		skr_buf_free(&nb);
		return usage_error(x, "--nonce-hex: not hex, or an empty nonce");
	}
	if ((status = make_trust(x, skrctl_args_get(&x->a, "certs"), &t)) !=
	    SKRCTL_EXIT_OK)
		goto out;
	status = SKRCTL_EXIT_ERR;
	if (skrctl_file_read(evidence, SKR_SNP_AZURE_MAX_BYTES + 1, &doc) !=
	    SKR_OK)
		goto out;
	o.skip_nonce = skip;
	if (!skip) {
		o.nonce = nb.data;
		o.nonce_len = nb.len;
	}
	r = skr_snp_azure_verify((const char *)doc.data, doc.len, t, &o, &v,
	    &why);
	status = show(x, r, v, "Azure vTPM evidence", &why);
out:
	skr_snp_verified_free(v);
	skr_snp_trust_free(t);
	skr_buf_free(&doc);
	skr_buf_free(&nb);
	skr_buf_free(&why);
	return status;
}
