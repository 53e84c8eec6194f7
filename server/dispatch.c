#include "dispatch.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "api_attest.h"
#include "auditsink.h"
#include "auth.h"
#include "metrics.h"
#include "release.h"
#include "routes.h"
#include "random.h"
#include "sealctl.h"
#include "server.h"
#include "skr/error.h"
#include "store.h"

/* How long a request whose store transaction keeps losing to other
 * replicas' commits is run again before it is refused
 * (docs/availability.md, "Writes"). */
#define RETRY_MS 10000

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
	/* A replica whose shared store has no quorum cannot release. */
	if (ready && skr_store_replicated(srv->store)) {
		skr_store_stats ss;
		if (skr_store_stats_get(srv->store, &ss) != SKR_OK ||
		    !ss.available) {
			*rc = skr_response_error(resp, SKR_ERR_STORE_UNAVAILABLE,
			    "not ready: the shared store is unavailable");
			return SKR_METRICS_ROUTE_READYZ;
		}
	}
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
	memset(&req->reads, 0, sizeof(req->reads));
	/* A replicated store: every acknowledged write is seen before the
	 * caller is authenticated and served -- unless the route fences its
	 * commit on what it reads instead, or is a seal route (the store may
	 * not be open).  Without quorum a GET is served from the local copy
	 * and says so; nothing else is. */
	if (!(route->flags & (SKR_ROUTE_FENCED | SKR_ROUTE_SEALED)) &&
	    (err = skr_store_sync(srv->store)) != SKR_OK) {
		if (err != SKR_ERR_STORE_UNAVAILABLE ||
		    strcmp(req->method, "GET") != 0) {
			info->rc = skr_response_error(resp, err, NULL);
			return NULL;
		}
		skr_response_add_header(resp, "x-skr-store", "cached");
	}
	/* metrics_auth = none: GET /metrics without a bearer token. */
	if (route->fn == skr_api_metrics && SKR_SETTING(srv, metrics_public))
		return route;
	if ((info->rc = skr_auth_request(srv, req, route, resp)) != SKR_OK)
		return NULL;
	return route;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
skr_dispatch_all(skr_server *srv, skr_request *req, skr_response *resp,
    skr_dispatch_info *info)
{
	skr_dispatch_info scratch;
	const skr_route *route;
	uint64_t deadline = 0;
	uint8_t jitter;
	int r;

	if (info == NULL)
		info = &scratch;
	for (;;) {
		if ((route = skr_dispatch_route(srv, req, resp, info)) == NULL)
			r = info->rc;
		else
			r = route->fn(srv, req, resp);
		/* Another replica changed what the request read before it
		 * could commit: nothing was done and nothing answered yet,
		 * so it runs again from the start, on the copy that has now
		 * caught up (docs/availability.md). */
		if (r != SKR_ERR_STORE_RETRY)
			break;
		if (deadline == 0)
			deadline = now_ms() + RETRY_MS;
		else if (now_ms() >= deadline)
			break;
		/* The gate is passed again on the next run. */
		if (info->entered)
			skr_sealctl_leave(srv->seal);
		skr_response_clear(resp);
		/* Replicas that lost to each other do not meet again in
		 * step. */
		if (skr_random(&jitter, 1) == SKR_OK) {
			struct timespec ts = { 0, (long)(jitter % 8) * 250000L };
			nanosleep(&ts, NULL);
		}
	}
	if (info == &scratch && info->entered)
		skr_sealctl_leave(srv->seal);
	return r;
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
	return skr_dispatch_all(srv, req, resp, NULL);
}
