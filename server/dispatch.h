/*
 * Request dispatch: the one path every skrd request takes from an
 * skr_request to an skr_response (docs/api.md): the built-in probes
 * (GET /healthz, GET /readyz), the route table, authentication, then the
 * route's handler.  The HTTP layer and the socket-less tests and fuzz
 * targets all go through it, so they cannot drift apart.
 *
 * The HTTP layer runs SKR_ROUTE_SLOW handlers off its event loop: it asks
 * skr_dispatch_route for the route to run and runs the handler where it
 * wants.  skr_dispatch does both steps in the calling thread, and so does
 * the HTTP layer for every request when the store is replicated (its
 * calls wait for etcd).
 */
#ifndef SKR_SERVER_DISPATCH_H
#define SKR_SERVER_DISPATCH_H

#include "request.h"

/* What dispatch found for one request; filled by skr_dispatch_route. */
typedef struct skr_dispatch_info {
	/* The route the method and path matched, also when authentication
	 * refused the caller; NULL for a probe or when nothing matched.
	 * Points into the static route table. */
	const skr_route *route;
	/* What metrics count the request under (skr_metrics_request): the
	 * route's index in skr_routes or SKR_METRICS_ROUTE_*. */
	int metric_route;
	/* SKR_OK, or the error already written to the response. */
	int rc;
	/* 1 when the request passed the seal gate (sealctl.h): the caller
	 * calls skr_sealctl_leave once the handler has answered. */
	int entered;
} skr_dispatch_info;

/*
 * Resolve and authenticate req (req->name, req->version and
 * req->principal are filled on the way).  Returns the route whose handler
 * the caller runs next, or NULL when resp already holds the answer: a
 * probe, no such route or method, or a refused caller.  info may be NULL.
 */
const skr_route *skr_dispatch_route(skr_server *srv, skr_request *req,
    skr_response *resp, skr_dispatch_info *info);

/*
 * The most request body bytes a request for method and path (without its
 * query) may send, from its head alone (docs/api.md, "Limits"): none for
 * GET, HEAD and DELETE, else its route's limit, at most max_body.  SKR_OK
 * with *limit, or SKR_ERR_NOT_FOUND / SKR_ERR_METHOD when no route takes
 * the request (it is answered so whatever its body).
 */
int skr_dispatch_body_limit(const char *method, const char *path,
    size_t max_body, size_t *limit);

/*
 * skr_dispatch_route and then the handler, in the calling thread, both
 * again while they fail with SKR_ERR_STORE_RETRY (a replicated store's
 * transaction that another replica overtook; at most 10 seconds).
 * Returns the handler's result, or the error of the refusal (SKR_OK for a
 * probe).  info (may be NULL) says what the last run found; when
 * info->entered, the caller calls skr_sealctl_leave once it has answered
 * (with info NULL the gate is left here).
 */
int skr_dispatch_all(skr_server *srv, skr_request *req, skr_response *resp,
    skr_dispatch_info *info);
/* skr_dispatch_all, the seal gate left before it returns. */
int skr_dispatch(skr_server *srv, skr_request *req, skr_response *resp);

#endif
