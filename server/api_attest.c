#include "api_attest.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "audit.h"
#include "encoding.h"
#include "guard.h"
#include "issuer.h"
#include "json.h"
#include "kds.h"
#include "log.h"
#include "pki.h"
#include "ratelimit.h"
#include "server.h"
#include "skr/error.h"
#include "snp_azure.h"
#include "snp_request.h"
#include "snp_trust.h"
#include "store.h"

/* The longest api-version value taken (Azure Attestation's are dates,
 * "2020-10-01", "2022-08-01", with a suffix for previews). */
#define API_VERSION_MAX 64
/* The Azure request: the evidence (at most SKR_SNP_AZURE_MAX_BYTES) and
 * a nonce, in JSON. */
#define AZURE_REQUEST_MAX_BYTES (SKR_SNP_AZURE_MAX_BYTES + 4096)
#define CONFIG_FILE_MAX ((size_t)1024 * 1024)

/* One attestation attempt, SevSnpVm or Azure. */
struct attempt {
	const char *event;          /* the audit event */
	const char *type;           /* "sevsnpvm", "azurevm" */
	skr_snp_verified *v;
	json_t *claims;             /* borrowed from v, with the nonce */
	skr_buf why;
	skr_buf token;
	char jti[SKR_ISSUER_JTI_LEN + 1];
	char measurement[97];
	const char *nonce;          /* the caller's, into the record */
	const char *server_nonce;   /* used up with the record */
};

static void
attempt_init(struct attempt *a, const char *event, const char *type)
{
	memset(a, 0, sizeof(*a));
	a->event = event;
	a->type = type;
	skr_buf_init(&a->why, 1024);
	skr_buf_init(&a->token, 0);
}

static void
attempt_clear(struct attempt *a)
{
	skr_snp_verified_free(a->v);
	skr_buf_free(&a->why);
	skr_buf_free(&a->token);
}

/* ---- the checks every route shares ---------------------------------------- */

static int
off(skr_server *srv, skr_response *resp)
{
	if (srv->issuer != NULL)
		return SKR_OK;
	return skr_response_error(resp, SKR_ERR_NOT_FOUND,
	    "no such route: the attestation endpoint is off (attest_snp)");
}

/* Attempts per peer are bounded before any work, as release attempts
 * are (release_limit, release_window), in a table of their own. */
static int
limited(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_ratelimit *rl;
	int64_t wait;
	char retry[32];

	rl = skr_ratelimit_get(&srv->attest_limiter, srv->release_limit,
	    srv->release_window, srv->ratelimit_ipv6_prefix);
	if ((wait = skr_ratelimit_take(rl, req->peer, req->now)) <= 0)
		return SKR_OK;
	snprintf(retry, sizeof(retry), "%lld", (long long)wait);
	skr_response_error(resp, SKR_ERR_RATE_LIMITED,
	    "too many attestation requests; retry later");
	skr_response_add_header(resp, "Retry-After", retry);
	return SKR_ERR_RATE_LIMITED;
}

/* The request's framing: a well-formed api-version when one is given (any
 * version is answered alike), a JSON content type, a body within max. */
static int
framing(const skr_request *req, size_t max, skr_response *resp)
{
	const char *ct = req->content_type;
	char api[API_VERSION_MAX];

	if (skr_request_query(req, "api-version", api, sizeof(api)) < 0)
		return skr_response_error(resp, SKR_ERR_BAD_REQUEST,
		    "api-version: malformed or over %d bytes",
		    API_VERSION_MAX - 1);
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ' &&
	    ct[16] != '\t'))
		return skr_response_error(resp, SKR_ERR_CONTENT_TYPE, NULL);
	if (req->body_len > max)
		return skr_response_error(resp, SKR_ERR_TOO_LARGE,
		    "request over %zu bytes", max);
	return SKR_OK;
}

/* ---- tokens and records ----------------------------------------------------- */

/* The token for a's verified claims, with the caller's nonce as
 * Azure Attestation emits it. */
static int
mint(skr_server *srv, const skr_request *req, struct attempt *a)
{
	const json_t *m;
	int r;

	a->claims = a->v->claims;
	if (a->nonce != NULL)
		SKR_ENSURE(json_object_set_new(a->claims, "nonce",
		    json_string(a->nonce)) == 0, SKR_ERR_NOMEM);
	m = json_object_get(a->claims, "x-ms-sevsnpvm-launchmeasurement");
	if (m == NULL)
		m = skr_json_path(a->claims,
		    "x-ms-isolation-tee.x-ms-sevsnpvm-launchmeasurement");
	if (json_is_string(m))
		snprintf(a->measurement, sizeof(a->measurement), "%s",
		    json_string_value(m));
	r = skr_issuer_mint(srv->issuer, srv->base_url, a->claims, req->now,
	    &a->token, a->jti);
out:
	return r;
}

static void
set_outcome(skr_audit_rec *rec, int decided)
{
	rec->outcome = decided == SKR_OK ? "ok" :
	    skr_err_http_status(decided) >= 500 ? "error" : "denied";
	rec->reason = decided != SKR_OK ? skr_err_id(decided) : NULL;
}

/* A server nonce used up in the transaction of the attempt's record: one
 * that cannot be used turns the outcome into that refusal. */
struct nonce_use {
	const char *nonce;
	int64_t now;
	int decided;
};

static int
use_nonce(skr_txn *txn, skr_audit_rec *rec, void *arg)
{
	struct nonce_use *u = arg;
	int r;

	r = skr_store_nonce_consume(txn, u->nonce, u->now);
	if (r != SKR_OK && r != SKR_ERR_NONCE_INVALID &&
	    r != SKR_ERR_NONCE_EXPIRED && r != SKR_ERR_NONCE_REUSED)
		return r;
	u->decided = r;
	set_outcome(rec, r);
	return r == SKR_OK ? SKR_OK : SKR_AUDIT_UNDO;
}

/* Record the attempt durably before anything is answered; a token that
 * cannot be recorded is not issued.  *rp becomes what using up the
 * server nonce decided, when there is one. */
static int
audit(skr_server *srv, const skr_request *req, struct attempt *a, int *rp)
{
	skr_audit_rec rec = skr__api_audit(req, a->event);
	struct nonce_use u = { a->server_nonce, req->now, *rp };
	int r;

	rec.attestation_type = a->type;
	if (*rp == SKR_OK) {
		rec.iss = srv->base_url;
		rec.jti = a->jti;
	}
	skr_audit_detail_str(&rec, "launchmeasurement",
	    a->measurement[0] ? a->measurement : NULL);
	skr_audit_detail_str(&rec, "nonce", a->nonce);
	set_outcome(&rec, *rp);
	if (*rp != SKR_OK || a->server_nonce == NULL)
		return skr_audit_log(srv->store, &rec, req->now, NULL, NULL,
		    NULL);
	if ((r = skr_audit_log(srv->store, &rec, req->now, use_nonce, &u,
	    NULL)) == SKR_OK)
		*rp = u.decided;
	return r;
}

/* Record a's outcome r and answer: the token, or the refusal with its
 * reason. */
static int
finish(skr_server *srv, const skr_request *req, struct attempt *a, int r,
    skr_response *resp)
{
	int ar;

	if ((ar = audit(srv, req, a, &r)) != SKR_OK)
		return skr_response_error(resp, ar, NULL);
	if (r != SKR_OK)
		return skr_response_error(resp, r, "%s%s%s", skr_strerror(r),
		    a->why.len > 0 ? ": " : "", skr_buf_cstr(&a->why));
	skr_log(SKR_LOG_INFO, "attestation token issued", json_pack(
	    "{s:s,s:s,s:s,s:s}", "request_id", req->request_id, "type",
	    a->type, "jti", a->jti, "launchmeasurement", a->measurement));
	return skr_response_json(resp, 200, json_pack("{s:s}", "token",
	    skr_buf_cstr(&a->token)));
}

/* ---- POST /attest/SevSnpVm ------------------------------------------------- */

/* The VCEK (and its chain) from KDS when the request has none and
 * fetching is on; a request without either is refused by verification. */
static int
fetch_vcek(skr_server *srv, skr_snp_request *in, skr_buf *why)
{
	if (in->cert.len > 0 || srv->kds == NULL)
		return SKR_OK;
	return skr_kds_vcek(srv->kds, in->report.data, in->report.len,
	    &in->cert, in->chain.len == 0 ? &in->chain : NULL, why);
}

int
skr_api_attest_snp(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_snp_request in;
	struct attempt a;
	int r;

	if ((r = off(srv, resp)) != SKR_OK ||
	    (r = limited(srv, req, resp)) != SKR_OK ||
	    (r = framing(req, SKR_SNP_REQUEST_MAX_BYTES, resp)) != SKR_OK)
		return r;
	attempt_init(&a, "attest.sevsnpvm", "sevsnpvm");
	r = skr_snp_request_parse((const char *)req->body, req->body_len, &in,
	    &a.why);
	if (r == SKR_OK && in.has_nonce)
		a.nonce = in.nonce;
	if (r == SKR_OK)
		r = fetch_vcek(srv, &in, &a.why);
	if (r == SKR_OK)
		r = skr_snp_request_verify(&in, srv->snp_trust, req->now, &a.v,
		    &a.why);
	if (r == SKR_OK)
		r = mint(srv, req, &a);
	r = finish(srv, req, &a, r, resp);
	skr_snp_request_clear(&in);
	attempt_clear(&a);
	return r;
}

/* ---- POST /attest/AzureCvm ------------------------------------------------- */

/* {"evidence": {...}, "nonce": "..."}: the evidence as JSON text into
 * *text (caller frees), the nonce borrowed from *doc. */
static int
azure_body(const skr_request *req, json_t **doc, char **text,
    const char **nonce, skr_buf *why)
{
	static const char *const names[] = { "evidence", "nonce", NULL };
	const json_t *ev, *n;
	const char *k;
	json_t *v;
	size_t i;
	int r;

	*text = NULL;
	if ((r = skr_json_parse((const char *)req->body, req->body_len, 0,
	    doc)) != SKR_OK) {
		skr_buf_append_str(why, "request is not strict JSON");
		return r;
	}
	if (!json_is_object(*doc)) {
		skr_buf_append_str(why, "request: not a JSON object");
		return SKR_ERR_SNP_EVIDENCE;
	}
	json_object_foreach(*doc, k, v) {
		for (i = 0; names[i] != NULL && strcmp(k, names[i]) != 0; i++)
			;
		if (names[i] == NULL) {
			skr_buf_appendf(why, "request: unknown member \"%.64s\"",
			    k);
			return SKR_ERR_SNP_EVIDENCE;
		}
	}
	ev = json_object_get(*doc, "evidence");
	n = json_object_get(*doc, "nonce");
	if (!json_is_object(ev)) {
		skr_buf_append_str(why, "evidence: missing or not an object");
		return SKR_ERR_SNP_EVIDENCE;
	}
	if (!json_is_string(n) || json_string_length(n) == 0 ||
	    json_string_length(n) > SKR_NONCE_TEXT_LEN) {
		skr_buf_append_str(why, "nonce: a server nonce of GET /nonce "
		    "is required");
		return SKR_ERR_NONCE_REQUIRED;
	}
	*nonce = json_string_value(n);
	if ((*text = json_dumps(ev, JSON_COMPACT)) == NULL)
		return SKR_ERR_NOMEM;
	return SKR_OK;
}

int
skr_api_attest_azure(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_snp_azure_opts o = SKR_SNP_AZURE_OPTS_INIT;
	struct attempt a;
	json_t *doc = NULL;
	char *text = NULL;
	const char *nonce = NULL;
	int r;

	if ((r = off(srv, resp)) != SKR_OK ||
	    (r = limited(srv, req, resp)) != SKR_OK ||
	    (r = framing(req, AZURE_REQUEST_MAX_BYTES, resp)) != SKR_OK)
		return r;
	attempt_init(&a, "attest.azurevm", "azurevm");
	r = azure_body(req, &doc, &text, &nonce, &a.why);
	if (r == SKR_OK) {
		/* The quote carries the nonce's text as its extraData; the
		 * nonce is used up with the record, once. */
		o.now = req->now;
		o.nonce = (const uint8_t *)nonce;
		o.nonce_len = strlen(nonce);
		a.server_nonce = nonce;
		a.nonce = nonce;
		r = skr_snp_azure_verify(text, strlen(text), srv->snp_trust, &o,
		    &a.v, &a.why);
	}
	if (r == SKR_OK)
		r = mint(srv, req, &a);
	r = finish(srv, req, &a, r, resp);
	free(text);
	json_decref(doc);
	attempt_clear(&a);
	return r;
}

/* ---- the issuer's metadata ----------------------------------------------- */

int
skr_api_attest_certs(skr_server *srv, skr_request *req, skr_response *resp)
{
	json_t *o;
	int r;

	(void)req;
	if ((r = off(srv, resp)) != SKR_OK)
		return r;
	if ((o = skr_issuer_jwks_json(srv->issuer)) == NULL)
		return skr_response_error(resp, SKR_ERR_NOMEM, NULL);
	return skr_response_json(resp, 200, o);
}

int
skr_api_attest_openid(skr_server *srv, skr_request *req, skr_response *resp)
{
	json_t *o;
	int r;

	(void)req;
	if ((r = off(srv, resp)) != SKR_OK)
		return r;
	if ((o = skr_issuer_openid_json(srv->issuer, srv->base_url)) == NULL)
		return skr_response_error(resp, SKR_ERR_NOMEM, NULL);
	return skr_response_json(resp, 200, o);
}

/* ---- setup ----------------------------------------------------------------- */

static int
read_pem(const char *path, skr_buf *out, skr_buf *why)
{
	char chunk[4096];
	size_t n;
	FILE *f;
	int r = SKR_OK;

	skr_buf_init(out, CONFIG_FILE_MAX);
	if ((f = fopen(path, "re")) == NULL) {
		skr_buf_appendf(why, "cannot open %s", path);
		return SKR_ERR_CONFIG;
	}
	while (r == SKR_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		r = skr_buf_append(out, chunk, n);
	if (ferror(f))
		r = SKR_ERR_IO;
	fclose(f);
	if (r != SKR_OK)
		skr_buf_appendf(why, "cannot read %s", path);
	return r;
}

/* The roots (snp_roots replaces the pins) and candidates (snp_certs). */
static int
setup_trust(skr_server *srv, const skr_config *c, skr_buf *why)
{
	skr_buf pem = SKR_BUF_INIT;
	int r;

	SKR_GUARD(skr_snp_trust_new(&srv->snp_trust));
	if (c->snp_roots != NULL) {
		SKR_GUARD(read_pem(c->snp_roots, &pem, why));
		if ((r = skr_snp_trust_set_roots_pem(srv->snp_trust,
		    (const char *)pem.data, pem.len, why)) != SKR_OK) {
			skr_buf_appendf(why, " (snp_roots %s)", c->snp_roots);
			r = SKR_ERR_CONFIG;
			goto out;
		}
		skr_buf_free(&pem);
	}
	if (c->snp_certs != NULL) {
		SKR_GUARD(read_pem(c->snp_certs, &pem, why));
		if ((r = skr_snp_trust_add_pem(srv->snp_trust,
		    (const char *)pem.data, pem.len, why)) != SKR_OK) {
			skr_buf_appendf(why, " (snp_certs %s)", c->snp_certs);
			r = SKR_ERR_CONFIG;
		}
	}
out:
	skr_buf_free(&pem);
	return r;
}

static int
setup_kds(skr_server *srv, const skr_config *c, skr_buf *why)
{
	skr_kds_opts o;
	char dir[PATH_MAX];
	int r;

	if (c->snp_kds == NULL || strcmp(c->snp_kds, "off") == 0)
		return SKR_OK;
	memset(&o, 0, sizeof(o));
	o.base = c->snp_kds;
	o.ca_file = c->snp_kds_ca;
	if (c->snp_cache_dir != NULL)
		o.cache_dir = c->snp_cache_dir;
	else if (snprintf(dir, sizeof(dir), "%s/snp-cache", c->data) <
	    (int)sizeof(dir))
		o.cache_dir = dir;
	if ((r = skr_kds_new(&o, &srv->kds)) != SKR_OK)
		skr_buf_appendf(why, "snp_kds must be off or https://HOST[:PORT] "
		    "without a path, and the cache directory %s must be "
		    "creatable", o.cache_dir != NULL ? o.cache_dir : "");
	return r;
}

int
skr_attest_setup(skr_server *srv, const skr_config *c, int *created,
    skr_buf *why)
{
	int r;

	*created = 0;
	if (!c->attest_snp)
		return SKR_OK;
	if ((r = skr_pki_attest_ensure(c->data, created)) != SKR_OK) {
		skr_buf_appendf(why, "attestation-signing key: %s/attest-signing"
		    ".pem and attest-signing-key.pem must both exist or both "
		    "be absent, and ca.pem and ca-key.pem be readable",
		    c->data);
		return r;
	}
	if ((r = skr_issuer_load(c->data, c->attest_token_lifetime,
	    &srv->issuer)) != SKR_OK) {
		skr_buf_appendf(why, "attestation-signing key: cannot load "
		    "%s/attest-signing.pem and attest-signing-key.pem", c->data);
		return r;
	}
	SKR_GUARD(setup_trust(srv, c, why));
	SKR_GUARD(setup_kds(srv, c, why));
out:
	return r;
}
