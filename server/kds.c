#include "kds.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <openssl/x509.h>

#include "guard.h"
#include "skr/error.h"
#include "snp_cert.h"
#include "snp_kds.h"
#include "snp_report.h"
#include "snp_trust.h"

#define CHAIN_MAX_BYTES ((size_t)16 * 1024)

struct skr_kds {
	char *base;
	char *cache_dir;
	char *ca_file;
	long timeout_ms;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
skr_kds_free(skr_kds *k)
{
	if (k == NULL)
		return;
	free(k->base);
	free(k->cache_dir);
	free(k->ca_file);
	free(k);
}

int
skr_kds_new(const skr_kds_opts *o, skr_kds **out)
{
	skr_kds *k = NULL;
	size_t n;
	int r = SKR_OK;

	*out = NULL;
	/* scheme://host[:port]: the paths are AMD's, appended here. */
	n = o->base != NULL ? strlen(o->base) : 0;
	if (n <= 8 || strncmp(o->base, "https://", 8) != 0 ||
	    strpbrk(o->base + 8, "/?#@ \t\\") != NULL || o->cache_dir == NULL)
		return SKR_ERR_CONFIG;
	if (mkdir(o->cache_dir, 0700) != 0 && errno != EEXIST)
		return SKR_ERR_CONFIG;
	pthread_once(&curl_once, curl_init_once);
	SKR_ENSURE((k = calloc(1, sizeof(*k))) != NULL, SKR_ERR_NOMEM);
	k->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms :
	    SKR_KDS_DEFAULT_TIMEOUT_MS;
	SKR_ENSURE((k->base = strdup(o->base)) != NULL &&
	    (k->cache_dir = strdup(o->cache_dir)) != NULL &&
	    (o->ca_file == NULL || (k->ca_file = strdup(o->ca_file)) != NULL),
	    SKR_ERR_NOMEM);
	*out = k;
	k = NULL;
out:
	skr_kds_free(k);
	return r;
}

struct sink {
	skr_buf *buf;
	int overflow;
};

static size_t
sink_write(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n = size * nmemb;

	if (skr_buf_append(s->buf, p, n) != SKR_OK) {
		s->overflow = 1;
		return 0;
	}
	return n;
}

/* GET url into out (at most max bytes).  *status: the HTTP status, 0
 * when there was none. */
static int
get(const skr_kds *k, const char *url, size_t max, skr_buf *out,
    long *status, skr_buf *why)
{
	skr_buf body = SKR_BUF_INIT;
	struct sink s = { &body, 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *c;
	CURLcode cr;
	int r = SKR_ERR_SNP_KDS;

	*status = 0;
	skr_buf_init(&body, max);
	if ((c = curl_easy_init()) == NULL)
		return SKR_ERR_NOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, k->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, k->timeout_ms);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "skrd");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	if (k->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, k->ca_file);
	cr = curl_easy_perform(c);
	if (s.overflow || cr == CURLE_FILESIZE_EXCEEDED) {
		skr_buf_appendf(why, "%s: larger than %zu bytes", url, max);
		goto out;
	}
	if (cr != CURLE_OK) {
		skr_buf_appendf(why, "%s: %s", url,
		    errbuf[0] ? errbuf : curl_easy_strerror(cr));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (*status != 200) {
		skr_buf_appendf(why, "%s: HTTP status %ld", url, *status);
		goto out;
	}
	r = skr_buf_append(out, body.data, body.len);
out:
	curl_easy_cleanup(c);
	skr_buf_free(&body);
	return r;
}

/* 1 when der is one certificate the SNP library can read. */
static int
vcek_usable(const skr_buf *der)
{
	skr_snp_cert *c = NULL;
	int ok = skr_snp_cert_parse(der->data, der->len, &c, NULL) == SKR_OK;

	skr_snp_cert_free(c);
	return ok;
}

static int
chain_usable(const skr_buf *pem)
{
	STACK_OF(X509) *s = NULL;
	int ok = skr_snp_certs_from_pem((const char *)pem->data, pem->len,
	    SKR_SNP_EVIDENCE_MAX_CERTS, &s, NULL) == SKR_OK;

	sk_X509_pop_free(s, X509_free);
	return ok;
}

/* name from the cache into out: 1 when it was there and parses. */
static int
from_cache(const skr_kds *k, const char *name, size_t max,
    int (*usable)(const skr_buf *), skr_buf *out)
{
	skr_buf b = SKR_BUF_INIT;
	int found = 0, ok;

	skr_buf_init(&b, max);
	ok = skr_snp_kds_cache_load(k->cache_dir, name, &b, &found) ==
	    SKR_OK && found && usable(&b) && skr_buf_append(out, b.data,
	    b.len) == SKR_OK;
	skr_buf_free(&b);
	return ok;
}

/*
 * url into out, then into the cache as name.  The cache is an
 * optimisation: a file that cannot be written does not fail the request.
 */
static int
fetch(const skr_kds *k, const char *name, const char *url, size_t max,
    int (*usable)(const skr_buf *), skr_buf *out, long *status,
    skr_buf *why)
{
	skr_buf b = SKR_BUF_INIT;
	int r;

	skr_buf_init(&b, max);
	SKR_GUARD(get(k, url, max, &b, status, why));
	if (!usable(&b)) {
		skr_buf_appendf(why, "%s: not a certificate", url);
		r = SKR_ERR_SNP_KDS;
		goto out;
	}
	(void)skr_snp_kds_cache_store(k->cache_dir, name, b.data, b.len);
	r = skr_buf_append(out, b.data, b.len);
out:
	skr_buf_free(&b);
	return r;
}

/* The cache name and URL of r's VCEK for product p. */
static int
vcek_names(const skr_kds *k, const skr_snp_report *r, skr_snp_product p,
    skr_buf *name, skr_buf *url, skr_buf *why)
{
	int rc;

	skr_buf_reset(name);
	skr_buf_reset(url);
	if ((rc = skr_snp_kds_cache_name(r, p, name, why)) != SKR_OK ||
	    (rc = skr_snp_kds_vcek_url(r, p, k->base, url, why)) != SKR_OK)
		return rc == SKR_ERR_UNSUPPORTED ? SKR_ERR_SNP_CERT : rc;
	return SKR_OK;
}

/* The VCEK of r: from the cache under any of the n candidate products,
 * else fetched for each in turn while KDS answers "not this one" (4xx).
 * *p becomes the product it was found for. */
static int
vcek(const skr_kds *k, const skr_snp_report *r, const skr_snp_product *cand,
    size_t n, skr_snp_product *p, skr_buf *der, skr_buf *why)
{
	skr_buf name = SKR_BUF_INIT, url = SKR_BUF_INIT, last = SKR_BUF_INIT;
	long status = 0;
	size_t i;
	int rc = SKR_OK;

	for (i = 0; i < n; i++) {
		if ((rc = vcek_names(k, r, cand[i], &name, &url, why)) !=
		    SKR_OK)
			goto out;
		if (from_cache(k, skr_buf_cstr(&name), SKR_SNP_CERT_MAX_BYTES,
		    vcek_usable, der)) {
			*p = cand[i];
			goto out;
		}
	}
	/* The reason told is the last product's. */
	for (i = 0, rc = SKR_ERR_SNP_KDS; i < n; i++) {
		skr_buf_reset(&last);
		if ((rc = vcek_names(k, r, cand[i], &name, &url, why)) !=
		    SKR_OK)
			goto out;
		rc = fetch(k, skr_buf_cstr(&name), skr_buf_cstr(&url),
		    SKR_SNP_CERT_MAX_BYTES, vcek_usable, der, &status, &last);
		if (rc == SKR_OK)
			*p = cand[i];
		if (rc == SKR_OK || status < 400 || status >= 500)
			break;
	}
	skr_buf_append_str(why, skr_buf_cstr(&last));
out:
	skr_buf_free(&name);
	skr_buf_free(&url);
	skr_buf_free(&last);
	return rc;
}

int
skr_kds_vcek(skr_kds *k, const uint8_t *report, size_t n, skr_buf *der,
    skr_buf *chain, skr_buf *why)
{
	/* A version 2 report names no product; Turin reports are version 3
	 * and later. */
	static const skr_snp_product v2[] = { SKR_SNP_PRODUCT_MILAN,
		SKR_SNP_PRODUCT_GENOA };
	skr_snp_report rep;
	skr_snp_product p;
	skr_buf url = SKR_BUF_INIT;
	char name[64];
	long status = 0;
	int r;

	SKR_GUARD(skr_snp_report_parse(report, n, &rep, why));
	if (rep.signer == SKR_SNP_SIGNER_VLEK || rep.mask_chip_key) {
		skr_buf_append_str(why, "KDS publishes no certificate by chip "
		    "for a VLEK-signed report or a masked chip id: send the "
		    "certificate in VcekCertChain");
		r = SKR_ERR_SNP_CERT;
		goto out;
	}
	p = skr_snp_report_product(&rep);
	if (p != SKR_SNP_PRODUCT_UNKNOWN)
		SKR_GUARD(vcek(k, &rep, &p, 1, &p, der, why));
	else
		SKR_GUARD(vcek(k, &rep, v2, sizeof(v2) / sizeof(v2[0]), &p, der,
		    why));
	if (chain == NULL)
		goto out;
	snprintf(name, sizeof(name), "cert_chain-%s.pem",
	    skr_snp_product_name(p));
	if (from_cache(k, name, CHAIN_MAX_BYTES, chain_usable, chain))
		goto out;
	SKR_GUARD(skr_snp_kds_chain_url(p, SKR_SNP_SIGNER_VCEK, k->base, &url));
	r = fetch(k, name, skr_buf_cstr(&url), CHAIN_MAX_BYTES, chain_usable,
	    chain, &status, why);
out:
	skr_buf_free(&url);
	return r;
}
