/*
 * Process metrics for GET /metrics in the Prometheus text exposition format
 * (version 0.0.4).
 *
 * Counters live in per-thread shards: a thread updates only its own shard
 * with relaxed atomic adds, so the request path takes no lock; a scrape
 * sums every shard.  A thread's shard is created on its first update (under
 * the registry's lock, once per thread) and lives as long as the registry.
 *
 * No label ever carries a key name, a version, a peer address or anything
 * a caller chose freely: routes are the route table's patterns, reasons are
 * stable error ids, authorities are configured issuers, attestation types
 * come from verified tokens and are cut to a small charset.  Label sets
 * that are not fixed in advance are capped (SKR_METRICS_MAX_SERIES per
 * thread); what is over the cap is counted under "other".
 */
#ifndef SKR_SERVER_METRICS_H
#define SKR_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "request.h"

#define SKR_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define SKR_METRICS_MAX_SERIES 128

/* Requests that matched no entry of the route table. */
#define SKR_METRICS_ROUTE_UNMATCHED (-1)
#define SKR_METRICS_ROUTE_HEALTHZ (-2)
#define SKR_METRICS_ROUTE_READYZ (-3)

typedef struct skr_metrics skr_metrics;

/*
 * A registry for a route table of nroutes entries (borrowed: it must
 * outlive the registry; labels are "METHOD pattern").  Caller frees with
 * skr_metrics_free once no thread updates it any more.
 */
int skr_metrics_create(const skr_route *routes, size_t nroutes,
    skr_metrics **out);
void skr_metrics_free(skr_metrics *m);

/*
 * One answered request: route is an index into the route table or one of
 * SKR_METRICS_ROUTE_*, status the HTTP status, usec the time from the
 * request's arrival to its answer.  m may be NULL (nothing is counted).
 */
void skr_metrics_request(skr_metrics *m, int route, int status,
    uint64_t usec);

/* Open connections: +1 on accept, -1 on close. */
void skr_metrics_connections(skr_metrics *m, int delta);

/*
 * One release (dry_run 0) or evaluate (1) decision.  outcome is "allowed",
 * "denied" or "error"; reason a stable error id or NULL when allowed;
 * authority the configured issuer of a verified token or NULL;
 * attestation_type that token's type or NULL.  Strings are copied.
 */
void skr_metrics_decision(skr_metrics *m, int dry_run, const char *outcome,
    const char *reason, const char *authority,
    const char *attestation_type);

/* A configuration reload: ok 1 applied, 0 refused.  now: unix seconds. */
void skr_metrics_reload(skr_metrics *m, int ok, int64_t now);

/* Append this registry's families (requests, latency, decisions,
 * connections, reloads, process start) to out. */
int skr_metrics_render(skr_metrics *m, skr_buf *out);

/*
 * Helpers for families rendered elsewhere (store, authorities, audit
 * sinks): a "# HELP" and "# TYPE" header, then samples.  labels is a list
 * of name, value pairs ending with NULL; values are escaped as the format
 * asks (backslash, double quote, newline).
 */
int skr_metrics_family(skr_buf *out, const char *name, const char *type,
    const char *help);
int skr_metrics_sample(skr_buf *out, const char *name, double value, ...)
    __attribute__((sentinel));

/*
 * GET /metrics: this process's registry (srv->metrics) plus the store's
 * size and entries, each authority's key-set status and age, and the audit
 * sinks' health, as SKR_METRICS_CONTENT_TYPE.
 */
int skr_api_metrics(skr_server *srv, skr_request *req, skr_response *resp);

#endif
