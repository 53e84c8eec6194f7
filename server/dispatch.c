#include "dispatch.h"

#include <string.h>

#include "api.h"
#include "api_attest.h"
#include "auditsink.h"
#include "auth.h"
#include "metrics.h"
#include "release.h"
#include "routes.h"
#include "sealctl.h"
#include "server.h"
#include "skr/error.h"

/* GET /healthz and GET /readyz (docs/skrd.md): answered before the route
 * table and without a token, for load balancers and service managers.
 * Returns the metrics route of the probe answered, with *rc what it
 * answered, or 0 when req is no probe. */
static int
probe(skr_server *srv, const skr_request *req, skr_response *resp, int *rc)
{
	int ready;

	if (strcmp(req->method, "GET") != 0)
		return 0;
	if (strcmp(req->path, "/healthz") == 0) {
		*rc = skr_response_json(resp, 200, json_pack("{s:s}", "status",
		    "ok"));
		return SKR_METRICS_ROUTE_HEALTHZ;
	}
	if (strcmp(req->path, "/readyz") != 0)
		return 0;
	ready = srv->store != NULL && skr_server_authorities_ready(srv);
	/* A failing audit sink is reported; it makes the server unready
	 * only when releases are refused because of it. */
	if (ready && !skr_auditsink_refusing(srv->auditsink))
		*rc = skr_response_json(resp, 200, json_pack("{s:s,s:o*}",
		    "status", "ready", "audit_sinks",
		    skr_auditsink_status_json(srv->auditsink)));
	else if (ready)
		*rc = skr_response_error(resp, SKR_ERR_SEALED,
		    "not ready: the audit file sink is failing");
	else
		*rc = skr_response_error(resp, SKR_ERR_SEALED,
		    "not ready: store or authorities not loaded");
	return SKR_METRICS_ROUTE_READYZ;
}

const skr_route *
skr_dispatch_route(skr_server *srv, skr_request *req, skr_response *resp,
    skr_dispatch_info *info)
{
	skr_dispatch_info scratch;
	const skr_route *route;
	int err, probed;

	if (info == NULL)
		info = &scratch;
	memset(info, 0, sizeof(*info));
	req->principal = NULL;
	if ((probed = probe(srv, req, resp, &info->rc)) != 0) {
		/* Out of memory building the answer: still an answer. */
		if (info->rc != SKR_OK && resp->status == 0)
			skr_response_error(resp, info->rc, NULL);
		info->metric_route = probed;
		return NULL;
	}
	info->metric_route = SKR_METRICS_ROUTE_UNMATCHED;
	if ((route = skr_route_match(req, &err)) == NULL) {
		info->rc = skr_response_error(resp, err, NULL);
		return NULL;
	}
	info->route = route;
	info->metric_route = (int)(route - skr_routes);
	/* Sealed, only the seal routes answer (docs/sealing.md). */
	if (!(route->flags & SKR_ROUTE_SEALED)) {
		if ((info->rc = skr_sealctl_enter(srv->seal)) != SKR_OK) {
			skr_response_error(resp, info->rc, NULL);
			return NULL;
		}
		info->entered = srv->seal != NULL;
	}
	/* metrics_auth = none: GET /metrics without a bearer token. */
	if (route->fn == skr_api_metrics && SKR_SETTING(srv, metrics_public))
		return route;
	if ((info->rc = skr_auth_request(srv, req, route, resp)) != SKR_OK)
		return NULL;
	return route;
}

/*
 * Request bodies (docs/api.md, "Limits"): a release or evaluate carries an
 * attestation token of at most 128 KiB; a key's creation, import, rotation
 * or update a release policy of at most 32 KiB; attestation evidence
 * its own bounds (docs/snp.md); the rest little or nothing.  A route not
 * named here (restore: a whole backup) takes up to the server's max_body.
 */
#define TINY (4 * 1024)
#define SMALL (64 * 1024)
#define AZURE (68 * 1024)
#define SNP (128 * 1024)
#define RELEASE (144 * 1024)

static const struct {
	skr_handler_fn fn;
	size_t max;
} body_limits[] = {
	{ skr_api_key_create, SMALL },
	{ skr_api_key_import, SMALL },
	{ skr_api_key_rotate, SMALL },
	{ skr_api_key_update, SMALL },
	{ skr_api_key_backup, TINY },
	{ skr_api_release, RELEASE },
	{ skr_api_evaluate, RELEASE },
	{ skr_api_deleted_recover, TINY },
	{ skr_api_token_create, TINY },
	{ skr_api_authorities_refresh, TINY },
	{ skr_api_attest_snp, SNP },
	{ skr_api_attest_azure, AZURE },
	{ skr_api_unseal, TINY },
	{ skr_api_seal, TINY },
	{ skr_api_master_key_rotate, TINY },
};

int
skr_dispatch_body_limit(const char *method, const char *path,
    size_t max_body, size_t *limit)
{
	skr_request req;
	const skr_route *route;
	size_t i;
	int err;

	*limit = 0;
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
	    strcmp(method, "DELETE") == 0)
		return SKR_OK;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	if ((route = skr_route_match(&req, &err)) == NULL)
		return err;
	*limit = max_body;
	for (i = 0; i < sizeof(body_limits) / sizeof(body_limits[0]); i++)
		if (body_limits[i].fn == route->fn &&
		    body_limits[i].max < max_body)
			*limit = body_limits[i].max;
	return SKR_OK;
}

int
skr_dispatch(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_dispatch_info info;
	const skr_route *route;

	int r;

	if ((route = skr_dispatch_route(srv, req, resp, &info)) == NULL)
		r = info.rc;
	else
		r = route->fn(srv, req, resp);
	if (info.entered)
		skr_sealctl_leave(srv->seal);
	return r;
}
