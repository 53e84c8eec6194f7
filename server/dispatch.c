#include "dispatch.h"

#include <string.h>

#include "auditsink.h"
#include "auth.h"
#include "metrics.h"
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
