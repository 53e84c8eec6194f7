#include "routes.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "api_attest.h"
#include "metrics.h"
#include "release.h"
#include "server.h"
#include "skr/error.h"

#define KV SKR_ROUTE_KV
#define AUTH SKR_ROUTE_AUTH
#define SLOW SKR_ROUTE_SLOW
#define WRITE SKR_ROUTE_WRITE
#define ASYNC SKR_ROUTE_ASYNC
#define FENCED SKR_ROUTE_FENCED

#define OPER SKR_ROLE_OPERATOR
#define READ (SKR_ROLE_OPERATOR | SKR_ROLE_READER)
#define AUDIT SKR_ROLE_AUDITOR
#define ADMIN 0u /* admin only (admin may call every route) */

/* POST /dev/token: only skrd --dev installs a handler (dev.c); every other
 * server answers 404 and has no code that could mint a token. */
static int
dev_token(skr_server *srv, skr_request *req, skr_response *resp)
{
	if (srv->dev_token == NULL)
		return skr_response_error(resp, SKR_ERR_NOT_FOUND, NULL);
	return srv->dev_token(srv, req, resp);
}

/* Order matters only where two patterns could match the same path: the
 * literal "versions" and "restore" come before {version?}. */
const skr_route skr_routes[] = {
	{ "POST", "/keys/{name}/create", skr_api_key_create,
	    KV | AUTH | SLOW | WRITE, OPER },
	{ "POST", "/keys/restore", skr_api_key_restore,
	    KV | AUTH | SLOW | WRITE, OPER },
	{ "PUT", "/keys/{name}", skr_api_key_import,
	    KV | AUTH | SLOW | WRITE, OPER },
	{ "GET", "/keys", skr_api_key_list, KV | AUTH, READ },
	{ "GET", "/keys/{name}/versions", skr_api_key_versions, KV | AUTH,
	    READ },
	{ "POST", "/keys/{name}/rotate", skr_api_key_rotate,
	    KV | AUTH | SLOW | WRITE, OPER },
	{ "POST", "/keys/{name}/backup", skr_api_key_backup, KV | AUTH,
	    OPER },
	/* A release is decided and signed on the event loop, and answered
	 * once the store's committer has made its audit record durable
	 * (release.c); the loop serves others meanwhile.  With a replicated
	 * store it runs on the thread pool (http.c), decides on the local
	 * copy without a round trip, and its audit commit is fenced on what
	 * it read.  Evaluate waits for its commit off the loop. */
	{ "POST", "/keys/{name}/{version?}/release", skr_api_release,
	    KV | ASYNC | WRITE | FENCED, SKR_ROLE_RELEASER },
	{ "POST", "/keys/{name}/{version?}/evaluate", skr_api_evaluate,
	    KV | AUTH | SLOW | WRITE | FENCED, READ },
	{ "GET", "/keys/{name}/{version?}", skr_api_key_get, KV | AUTH, READ },
	{ "PATCH", "/keys/{name}/{version?}", skr_api_key_update,
	    KV | AUTH | WRITE, OPER },
	{ "DELETE", "/keys/{name}", skr_api_key_delete, KV | AUTH | WRITE,
	    OPER },
	{ "GET", "/deletedkeys", skr_api_deleted_list, KV | AUTH, READ },
	{ "GET", "/deletedkeys/{name}", skr_api_deleted_get, KV | AUTH, READ },
	{ "POST", "/deletedkeys/{name}/recover", skr_api_deleted_recover,
	    KV | AUTH | WRITE, OPER },
	{ "DELETE", "/deletedkeys/{name}", skr_api_deleted_purge,
	    KV | AUTH | WRITE, OPER },
	/* A new nonce depends on nothing read. */
	{ "GET", "/nonce", skr_api_nonce, WRITE | FENCED, 0 },
	{ "POST", "/admin/tokens", skr_api_token_create, AUTH | WRITE, ADMIN },
	{ "GET", "/admin/tokens", skr_api_token_list, AUTH, ADMIN },
	{ "DELETE", "/admin/tokens/{name}", skr_api_token_revoke,
	    AUTH | WRITE, ADMIN },
	{ "GET", "/admin/authorities", skr_api_authorities, AUTH, READ },
	{ "POST", "/admin/authorities/refresh", skr_api_authorities_refresh,
	    AUTH, OPER },
	/* A filtered query scans up to 100000 records: on the thread pool. */
	{ "GET", "/admin/audit", skr_api_audit_list, AUTH | SLOW, AUDIT },
	/* The whole chain: on the thread pool, one at a time. */
	{ "GET", "/admin/audit/verify", skr_api_audit_verify, AUTH | SLOW,
	    AUDIT },
	/* Counts only, no key names; public when metrics_auth = none. */
	{ "GET", "/metrics", skr_api_metrics, AUTH, READ },
	/* skrd's attestation endpoint, Azure Attestation's API and key set
	 * (docs/snp.md): no bearer token, as there; verification and the
	 * audited answer off the event loop; 404 with attest_snp = false.
	 * Azure Attestation matches paths without case: SevSnpVM is how the
	 * confidential-containers SKR sidecar spells it. */
	{ "POST", "/attest/SevSnpVm", skr_api_attest_snp, SLOW | WRITE, 0 },
	{ "POST", "/attest/SevSnpVM", skr_api_attest_snp, SLOW | WRITE, 0 },
	{ "POST", "/attest/AzureCvm", skr_api_attest_azure, SLOW | WRITE, 0 },
	{ "GET", "/certs", skr_api_attest_certs, 0, 0 },
	{ "GET", "/.well-known/openid-configuration", skr_api_attest_openid, 0,
	    0 },
	/* The seal (docs/sealing.md): status and unseal answer while
	 * sealed, without a token. */
	{ "GET", "/sys/seal-status", skr_api_seal_status, SKR_ROUTE_SEALED,
	    0 },
	{ "POST", "/sys/unseal", skr_api_unseal, SKR_ROUTE_SEALED | SLOW, 0 },
	{ "POST", "/sys/seal", skr_api_seal, AUTH | SLOW | WRITE, ADMIN },
	{ "POST", "/admin/master-key/rotate", skr_api_master_key_rotate,
	    AUTH | SLOW | WRITE, ADMIN },
	/* Dev mode only (skrd --dev); 404 everywhere else. */
	{ "POST", "/dev/token", dev_token, 0, 0 },
};
const size_t skr_nroutes = sizeof(skr_routes) / sizeof(skr_routes[0]);

/* Next segment of *p (after a '/'); 0 at the end. */
static int
next_segment(const char **p, const char **seg, size_t *len)
{
	const char *s = *p, *e;

	if (*s != '/')
		return 0;
	s++;
	e = strchr(s, '/');
	*seg = s;
	*len = e ? (size_t)(e - s) : strlen(s);
	*p = s + *len;
	return 1;
}

static int
capture(char *out, size_t outlen, const char *seg, size_t len)
{
	if (len >= outlen)
		return 0;
	memcpy(out, seg, len);
	out[len] = '\0';
	return 1;
}

/* Match path against pattern, filling req's captures. */
static int
match(const char *pattern, const char *path, skr_request *req)
{
	const char *pp = pattern, *sp = path, *pseg, *sseg;
	size_t plen, slen;
	int have_seg;

	req->name[0] = req->version[0] = '\0';
	while (next_segment(&pp, &pseg, &plen)) {
		const char *save = sp;

		have_seg = next_segment(&sp, &sseg, &slen);
		if (plen == 10 && memcmp(pseg, "{version?}", 10) == 0) {
			/* Optional: an empty segment, or absent when the
			 * pattern ends here. */
			if (!have_seg) {
				sp = save;
				continue;
			}
			if (slen > 0 && !capture(req->version,
			    sizeof(req->version), sseg, slen))
				return 0;
			/* A literal may follow: if this segment is that
			 * literal, the version was absent. */
			if (*pp == '/' && slen > 0) {
				const char *lit = pp + 1;
				size_t litlen = strcspn(lit, "/");

				if (litlen == slen && memcmp(lit, sseg,
				    slen) == 0 && strchr(sp, '/') == NULL &&
				    lit[litlen] == '\0') {
					req->version[0] = '\0';
					return 1;
				}
			}
			continue;
		}
		if (!have_seg)
			return 0;
		if (plen == 6 && memcmp(pseg, "{name}", 6) == 0) {
			if (slen == 0 || !capture(req->name, sizeof(req->name),
			    sseg, slen))
				return 0;
			continue;
		}
		if (plen != slen || memcmp(pseg, sseg, slen) != 0)
			return 0;
	}
	return *sp == '\0';
}

const skr_route *
skr_route_match(skr_request *req, int *err)
{
	int path_matched = 0;

	for (size_t i = 0; i < skr_nroutes; i++) {
		if (!match(skr_routes[i].pattern, req->path, req))
			continue;
		if (strcmp(skr_routes[i].method, req->method) == 0)
			return &skr_routes[i];
		path_matched = 1;
	}
	req->name[0] = req->version[0] = '\0';
	*err = path_matched ? SKR_ERR_METHOD : SKR_ERR_NOT_FOUND;
	return NULL;
}
