/*
 * The route table and skr_route_match (docs/api.md): every route of the
 * table by method and path, the captures, the optional version segment
 * (missing or empty, as the Key Vault SDKs send "/keys/k//release"), 404
 * against 405, trailing slashes and hostile paths.  Table-driven.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "api_attest.h"
#include "check.h"
#include "metrics.h"
#include "release.h"
#include "routes.h"

#define V32 "0123456789abcdef0123456789abcdef"

struct want {
	const char *method;
	const char *path;
	skr_handler_fn fn;      /* NULL: no route */
	int err;                /* when fn is NULL */
	const char *name;
	const char *version;
};

static const struct want cases[] = {
	/* Key Vault routes. */
	{ "POST", "/keys/disk/create", skr_api_key_create, 0, "disk", "" },
	{ "PUT", "/keys/disk", skr_api_key_import, 0, "disk", "" },
	{ "GET", "/keys", skr_api_key_list, 0, "", "" },
	{ "GET", "/keys/disk/versions", skr_api_key_versions, 0, "disk", "" },
	{ "GET", "/keys/disk", skr_api_key_get, 0, "disk", "" },
	{ "GET", "/keys/disk/", skr_api_key_get, 0, "disk", "" },
	{ "GET", "/keys/disk/" V32, skr_api_key_get, 0, "disk", V32 },
	{ "PATCH", "/keys/disk", skr_api_key_update, 0, "disk", "" },
	{ "PATCH", "/keys/disk/" V32, skr_api_key_update, 0, "disk", V32 },
	{ "POST", "/keys/disk/rotate", skr_api_key_rotate, 0, "disk", "" },
	{ "DELETE", "/keys/disk", skr_api_key_delete, 0, "disk", "" },
	{ "GET", "/deletedkeys", skr_api_deleted_list, 0, "", "" },
	{ "GET", "/deletedkeys/disk", skr_api_deleted_get, 0, "disk", "" },
	{ "POST", "/deletedkeys/disk/recover", skr_api_deleted_recover, 0,
	    "disk", "" },
	{ "DELETE", "/deletedkeys/disk", skr_api_deleted_purge, 0, "disk",
	    "" },
	{ "POST", "/keys/disk/backup", skr_api_key_backup, 0, "disk", "" },
	{ "POST", "/keys/restore", skr_api_key_restore, 0, "", "" },
	/* Release and evaluate: version missing, empty or given. */
	{ "POST", "/keys/disk/release", skr_api_release, 0, "disk", "" },
	{ "POST", "/keys/disk//release", skr_api_release, 0, "disk", "" },
	{ "POST", "/keys/disk/" V32 "/release", skr_api_release, 0, "disk",
	    V32 },
	{ "POST", "/keys/disk/evaluate", skr_api_evaluate, 0, "disk", "" },
	{ "POST", "/keys/disk//evaluate", skr_api_evaluate, 0, "disk", "" },
	{ "POST", "/keys/disk/" V32 "/evaluate", skr_api_evaluate, 0, "disk",
	    V32 },
	{ "GET", "/nonce", skr_api_nonce, 0, "", "" },
	/* Project routes. */
	{ "POST", "/admin/tokens", skr_api_token_create, 0, "", "" },
	{ "GET", "/admin/tokens", skr_api_token_list, 0, "", "" },
	/* The seal (docs/api.md, "Seal"). */
	{ "GET", "/sys/seal-status", skr_api_seal_status, 0, "", "" },
	{ "POST", "/sys/unseal", skr_api_unseal, 0, "", "" },
	{ "POST", "/sys/seal", skr_api_seal, 0, "", "" },
	{ "GET", "/sys/unseal", NULL, SKR_ERR_METHOD, "", "" },
	{ "POST", "/admin/master-key/rotate", skr_api_master_key_rotate, 0,
	    "", "" },
	{ "DELETE", "/admin/tokens/" V32, skr_api_token_revoke, 0, V32, "" },
	{ "GET", "/admin/authorities", skr_api_authorities, 0, "", "" },
	{ "POST", "/admin/authorities/refresh", skr_api_authorities_refresh,
	    0, "", "" },
	{ "GET", "/admin/audit", skr_api_audit_list, 0, "", "" },
	{ "GET", "/admin/audit/verify", skr_api_audit_verify, 0, "", "" },
	{ "GET", "/metrics", skr_api_metrics, 0, "", "" },
	/* The attestation endpoint: Azure Attestation's paths, both
	 * spellings of SevSnpVm, and its key set. */
	{ "POST", "/attest/SevSnpVm", skr_api_attest_snp, 0, "", "" },
	{ "POST", "/attest/SevSnpVM", skr_api_attest_snp, 0, "", "" },
	{ "POST", "/attest/AzureCvm", skr_api_attest_azure, 0, "", "" },
	{ "GET", "/certs", skr_api_attest_certs, 0, "", "" },
	{ "GET", "/.well-known/openid-configuration", skr_api_attest_openid,
	    0, "", "" },
	{ "GET", "/attest/SevSnpVm", NULL, SKR_ERR_METHOD, NULL, NULL },
	{ "POST", "/attest/sevsnpvm", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "POST", "/attest/SevSnpVm/x", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	/* Names are captured as sent; handlers judge them (and say why). */
	{ "GET", "/keys/bad_name", skr_api_key_get, 0, "bad_name", "" },
	{ "POST", "/keys/create/create", skr_api_key_create, 0, "create",
	    "" },
	/* A version segment that is not hex still routes; the store says
	 * the version does not exist. */
	{ "GET", "/keys/disk/release", skr_api_key_get, 0, "disk",
	    "release" },
	/* Wrong method on a known path: 405. */
	{ "PUT", "/nonce", NULL, SKR_ERR_METHOD, NULL, NULL },
	{ "DELETE", "/keys", NULL, SKR_ERR_METHOD, NULL, NULL },
	{ "GET", "/keys/disk/create", skr_api_key_get, 0, "disk", "create" },
	{ "PUT", "/keys/disk/create", NULL, SKR_ERR_METHOD, NULL, NULL },
	{ "GET", "/keys/disk/rotate", skr_api_key_get, 0, "disk", "rotate" },
	{ "DELETE", "/keys/disk/" V32, NULL, SKR_ERR_METHOD, NULL, NULL },
	{ "GET", "/keys/disk//release", NULL, SKR_ERR_METHOD, NULL, NULL },
	{ "POST", "/admin/audit", NULL, SKR_ERR_METHOD, NULL, NULL },
	{ "post", "/keys/disk/create", NULL, SKR_ERR_METHOD, NULL, NULL },
	{ "HEAD", "/keys", NULL, SKR_ERR_METHOD, NULL, NULL },
	/* Unknown paths: 404. */
	{ "GET", "/", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "GET", "", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "GET", "/nope", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "GET", "/keys/", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "GET", "keys", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "GET", "/KEYS", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "GET", "/keys/k/a/b/c", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "POST", "/keys//create", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "POST", "/keys/disk/create/", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "POST", "/keys/disk/release/", NULL, SKR_ERR_NOT_FOUND, NULL,
	    NULL },
	{ "POST", "/keys/disk///release", NULL, SKR_ERR_NOT_FOUND, NULL,
	    NULL },
	{ "GET", "/keys//versions", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "GET", "/deletedkeys/", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "GET", "/admin", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "GET", "/admin/tokens/", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "GET", "/nonce/", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	{ "GET", "//keys", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
	/* A version longer than any version id is no route at all. */
	{ "GET", "/keys/disk/" V32 "0", NULL, SKR_ERR_NOT_FOUND, NULL, NULL },
};

static void
test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct want *w = &cases[i];
		skr_request req;
		const skr_route *r;
		int err = 0;

		memset(&req, 0, sizeof(req));
		req.method = w->method;
		req.path = w->path;
		r = skr_route_match(&req, &err);
		if (w->fn == NULL) {
			CHECK(r == NULL);
			CHECK_ERR(err, w->err);
			/* A refused path leaves no half-filled captures. */
			CHECK(req.name[0] == '\0' && req.version[0] == '\0');
		} else {
			CHECK(r != NULL && r->fn == w->fn);
			CHECK(r != NULL && strcmp(r->method, w->method) == 0);
			CHECK_STR(req.name, w->name);
			CHECK_STR(req.version, w->version);
		}
		if ((w->fn == NULL) != (r == NULL))
			fprintf(stderr, "  case %zu: %s %s\n", i, w->method,
			    w->path);
	}
}

/* Captures: the longest name the buffer holds is captured whole (so the
 * handler can report SKR.KEY.NAME), a longer one is no route. */
static void
test_captures(void)
{
	char path[512], name[300];
	skr_request req;
	const skr_route *r;
	int err;

	memset(name, 'a', sizeof(req.name) - 1);
	name[sizeof(req.name) - 1] = '\0';
	snprintf(path, sizeof(path), "/keys/%s/create", name);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = path;
	r = skr_route_match(&req, &err);
	CHECK(r != NULL && r->fn == skr_api_key_create);
	CHECK(strlen(req.name) == sizeof(req.name) - 1);

	memset(name, 'a', sizeof(req.name));
	name[sizeof(req.name)] = '\0';
	snprintf(path, sizeof(path), "/keys/%s/create", name);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = path;
	err = 0;
	CHECK(skr_route_match(&req, &err) == NULL);
	CHECK_ERR(err, SKR_ERR_NOT_FOUND);

	/* Stale captures from an earlier match never leak into the next. */
	memset(&req, 0, sizeof(req));
	snprintf(req.name, sizeof(req.name), "stale");
	snprintf(req.version, sizeof(req.version), "stale");
	req.method = "GET";
	req.path = "/keys";
	r = skr_route_match(&req, &err);
	CHECK(r != NULL && r->fn == skr_api_key_list);
	CHECK_STR(req.name, "");
	CHECK_STR(req.version, "");
}

static const skr_route *
find(const char *method, const char *pattern)
{
	for (size_t i = 0; i < skr_nroutes; i++)
		if (strcmp(skr_routes[i].method, method) == 0 &&
		    strcmp(skr_routes[i].pattern, pattern) == 0)
			return &skr_routes[i];
	return NULL;
}

/* Flags and roles per route (docs/api.md, "Roles and scopes"): admin
 * everything; operator keys but not tokens; reader get and list; auditor the
 * audit log; releaser release. */
static const struct {
	const char *method, *pattern;
	unsigned flags, roles;
} attrs[] = {
#define KV SKR_ROUTE_KV
#define AU SKR_ROUTE_AUTH
#define SL SKR_ROUTE_SLOW
#define WR SKR_ROUTE_WRITE
#define AS SKR_ROUTE_ASYNC
#define FE SKR_ROUTE_FENCED
#define OP SKR_ROLE_OPERATOR
#define RD (SKR_ROLE_OPERATOR | SKR_ROLE_READER)
	{ "POST", "/keys/{name}/create", KV | AU | SL | WR, OP },
	{ "PUT", "/keys/{name}", KV | AU | SL | WR, OP },
	{ "POST", "/keys/{name}/rotate", KV | AU | SL | WR, OP },
	{ "POST", "/keys/restore", KV | AU | SL | WR, OP },
	{ "GET", "/keys", KV | AU, RD },
	{ "GET", "/keys/{name}/versions", KV | AU, RD },
	{ "GET", "/keys/{name}/{version?}", KV | AU, RD },
	{ "PATCH", "/keys/{name}/{version?}", KV | AU | WR, OP },
	{ "DELETE", "/keys/{name}", KV | AU | WR, OP },
	{ "GET", "/deletedkeys", KV | AU, RD },
	{ "GET", "/deletedkeys/{name}", KV | AU, RD },
	{ "POST", "/deletedkeys/{name}/recover", KV | AU | WR, OP },
	{ "DELETE", "/deletedkeys/{name}", KV | AU | WR, OP },
	{ "POST", "/keys/{name}/backup", KV | AU, OP },
	/* Release is answered from the event loop once the committer has
	 * its record (with a replicated store it runs on the pool, as every
	 * request does); evaluate waits for its commit off the loop.  Both
	 * decide on a replicated store's local copy and fence their commit
	 * on it. */
	{ "POST", "/keys/{name}/{version?}/release", KV | AS | WR | FE,
	    SKR_ROLE_RELEASER },
	{ "POST", "/keys/{name}/{version?}/evaluate", KV | AU | SL | WR | FE,
	    RD },
	{ "GET", "/nonce", WR | FE, 0 },
	{ "POST", "/admin/tokens", AU | WR, 0 },
	{ "GET", "/admin/tokens", AU, 0 },
	{ "GET", "/admin/audit", AU | SL, SKR_ROLE_AUDITOR },
	{ "GET", "/admin/audit/verify", AU | SL, SKR_ROLE_AUDITOR },
	/* The attestation endpoint: no bearer token (Azure Attestation
	 * asks for none); verification and the audited answer off the
	 * event loop. */
	{ "POST", "/attest/SevSnpVm", SL | WR, 0 },
	{ "POST", "/attest/SevSnpVM", SL | WR, 0 },
	{ "POST", "/attest/AzureCvm", SL | WR, 0 },
	{ "GET", "/certs", 0, 0 },
	{ "GET", "/.well-known/openid-configuration", 0, 0 },
	/* Only these answer while sealed, without a token; sealing and
	 * rotation are for admins. */
	{ "GET", "/sys/seal-status", SKR_ROUTE_SEALED, 0 },
	{ "POST", "/sys/unseal", SKR_ROUTE_SEALED | SL, 0 },
	{ "POST", "/sys/seal", AU | SL | WR, 0 },
	{ "POST", "/admin/master-key/rotate", AU | SL | WR, 0 },
#undef KV
#undef AU
#undef SL
#undef WR
#undef AS
#undef FE
#undef OP
#undef RD
};

static void
test_table(void)
{
	const skr_route *r;

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		r = find(attrs[i].method, attrs[i].pattern);
		CHECK(r != NULL);
		if (r == NULL) {
			fprintf(stderr, "  missing %s %s\n", attrs[i].method,
			    attrs[i].pattern);
			continue;
		}
		CHECK(r->flags == attrs[i].flags);
		CHECK(r->roles == attrs[i].roles);
		if (r->flags != attrs[i].flags || r->roles != attrs[i].roles)
			fprintf(stderr, "  %s %s: flags %#x roles %#x\n",
			    r->method, r->pattern, r->flags, r->roles);
	}
	/* Token routes are for admins only, whatever else a token holds. */
	r = find("DELETE", "/admin/tokens/{name}");
	CHECK(r != NULL && r->roles == 0 && (r->flags & SKR_ROUTE_AUTH));
	for (size_t i = 0; i < skr_nroutes; i++) {
		r = &skr_routes[i];
		CHECK(r->fn != NULL && r->method != NULL && r->pattern != NULL);
		CHECK(r->pattern[0] == '/');
		/* No token-holding role other than admin reaches /admin/tokens;
		 * the auditor reaches nothing but the audit log. */
		if (strncmp(r->pattern, "/admin/tokens", 13) == 0)
			CHECK(r->roles == 0);
		if (r->roles & SKR_ROLE_AUDITOR)
			CHECK(strncmp(r->pattern, "/admin/audit", 12) == 0);
		/* Only release is open to the releaser role. */
		if (r->roles & SKR_ROLE_RELEASER)
			CHECK(r->fn == skr_api_release);
		/* Every route that changes keys needs a bearer token, except
		 * release (the attestation token is its credential), the
		 * nonce route and the attestation endpoint (its evidence is
		 * its credential; it writes audit records and uses nonces
		 * up, no keys). */
		if ((r->flags & SKR_ROUTE_WRITE) && !(r->flags & SKR_ROUTE_AUTH))
			CHECK(r->fn == skr_api_release || r->fn == skr_api_nonce ||
			    r->fn == skr_api_attest_snp ||
			    r->fn == skr_api_attest_azure);
		/* No two routes share method and pattern. */
		for (size_t j = i + 1; j < skr_nroutes; j++)
			CHECK(strcmp(r->method, skr_routes[j].method) != 0 ||
			    strcmp(r->pattern, skr_routes[j].pattern) != 0);
	}
}

int
main(void)
{
	test_cases();
	test_captures();
	test_table();
	return check_done();
}
