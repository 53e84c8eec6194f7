/*
 * skr_dispatch (server/dispatch.c), the one path from request to answer:
 * the probes, the route table's 404 and 405, authentication refusing a
 * caller before any handler runs, and GET /metrics with and without
 * metrics_auth = none (docs/skrd.md).  Against a real store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authority.h"
#include "check.h"
#include "dispatch.h"
#include "metrics.h"
#include "routes.h"
#include "server_fixture.h"
#include "skr/error.h"

static skr_test_server fx;
static skr_response resp;
static char admin[SKR_TOKEN_TEXT_LEN + 1], reader[SKR_TOKEN_TEXT_LEN + 1];

/* Dispatch method path with the bearer token tok (NULL: none); *d gets
 * what skr_dispatch_route found.  Returns skr_dispatch's result. */
static int
run(const char *method, const char *path, const char *tok,
    skr_dispatch_info *d)
{
	skr_request req;
	char auth[128];
	const skr_route *route;
	int rc;

	skr_response_clear(&resp);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	if (tok != NULL) {
		snprintf(auth, sizeof(auth), "Bearer %s", tok);
		req.authorization = auth;
	}
	snprintf(req.peer, sizeof(req.peer), "192.0.2.7");
	snprintf(req.request_id, sizeof(req.request_id), "dispatch");
	req.now = skr_server_now(&fx.srv);
	route = skr_dispatch_route(&fx.srv, &req, &resp, d);
	/* NULL exactly when the answer is already written. */
	CHECK((route == NULL) == (resp.status != 0));
	rc = route != NULL ? route->fn(&fx.srv, &req, &resp) : d->rc;
	CHECK(route == NULL || req.principal == NULL ||
	    req.principal == &req.principal_buf);
	return rc;
}

static const char *
header(const char *name)
{
	for (size_t i = 0; i < resp.nheaders; i++)
		if (strcasecmp(resp.headers[i].name, name) == 0)
			return resp.headers[i].value;
	return NULL;
}

static const char *
status_member(void)
{
	static char s[32];
	json_t *o = skr_test_json(&resp);

	snprintf(s, sizeof(s), "%s", json_string_value(json_object_get(o,
	    "status")) ? json_string_value(json_object_get(o, "status")) : "");
	json_decref(o);
	return s;
}

static int
route_index(const char *method, const char *pattern)
{
	for (size_t i = 0; i < skr_nroutes; i++)
		if (strcmp(skr_routes[i].method, method) == 0 &&
		    strcmp(skr_routes[i].pattern, pattern) == 0)
			return (int)i;
	return -100;
}

static void
test_probes(void)
{
	skr_dispatch_info d;
	skr_authorities *ready, *unready = NULL;
	skr_authority_config ac;

	CHECK_OK(run("GET", "/healthz", NULL, &d));
	CHECK(resp.status == 200);
	CHECK_STR(status_member(), "ok");
	CHECK(d.route == NULL && d.metric_route == SKR_METRICS_ROUTE_HEALTHZ);
	/* No token needed, and a bad one does not matter. */
	CHECK_OK(run("GET", "/healthz", "not-a-token", &d));
	CHECK(resp.status == 200);

	CHECK_OK(run("GET", "/readyz", NULL, &d));
	CHECK(resp.status == 200);
	CHECK_STR(status_member(), "ready");
	CHECK(d.route == NULL && d.metric_route == SKR_METRICS_ROUTE_READYZ);

	/* Not ready: an authority without keys (its file is absent)... */
	memset(&ac, 0, sizeof(ac));
	ac.issuer = "https://absent.test";
	ac.source = SKR_AUTHORITY_FILE;
	ac.location = skr_test_path(fx.st.dir, "no-such-jwks.json");
	CHECK_OK(skr_authorities_create(&unready));
	CHECK_OK(skr_authorities_add(unready, &ac));
	skr_authorities_poll(unready);
	ready = fx.srv.authorities;
	fx.srv.authorities = unready;
	CHECK_ERR(run("GET", "/readyz", NULL, &d), SKR_ERR_SEALED);
	CHECK(skr_test_is_error(&resp, SKR_ERR_SEALED));
	CHECK(resp.status == 503);
	CHECK(d.metric_route == SKR_METRICS_ROUTE_READYZ);
	/* ... while alive all the same. */
	CHECK_OK(run("GET", "/healthz", NULL, &d));
	CHECK(resp.status == 200);
	fx.srv.authorities = ready;
	skr_authorities_free(unready);
	/* ... or no store. */
	{
		skr_store *st = fx.srv.store;

		fx.srv.store = NULL;
		CHECK_ERR(run("GET", "/readyz", NULL, &d), SKR_ERR_SEALED);
		CHECK(resp.status == 503);
		fx.srv.store = st;
	}
	/* Probes answer GET only; other methods meet the route table. */
	CHECK_ERR(run("POST", "/healthz", NULL, &d), SKR_ERR_NOT_FOUND);
	CHECK(resp.status == 404);
	CHECK(d.metric_route == SKR_METRICS_ROUTE_UNMATCHED);
}

static void
test_table(void)
{
	skr_dispatch_info d;

	CHECK_ERR(run("GET", "/nope", admin, &d), SKR_ERR_NOT_FOUND);
	CHECK(skr_test_is_error(&resp, SKR_ERR_NOT_FOUND));
	CHECK(d.route == NULL && d.metric_route == SKR_METRICS_ROUTE_UNMATCHED);
	CHECK_ERR(run("GET", "/keys/a/b/c/d", admin, &d), SKR_ERR_NOT_FOUND);
	CHECK(resp.status == 404);

	CHECK_ERR(run("PUT", "/nonce", admin, &d), SKR_ERR_METHOD);
	CHECK(skr_test_is_error(&resp, SKR_ERR_METHOD));
	CHECK(resp.status == 405);
	CHECK(d.route == NULL && d.metric_route == SKR_METRICS_ROUTE_UNMATCHED);
	CHECK_ERR(run("DELETE", "/keys", admin, &d), SKR_ERR_METHOD);
	CHECK(resp.status == 405);

	/* A match runs the handler, with the principal and captures. */
	CHECK_OK(run("GET", "/keys", admin, &d));
	CHECK(resp.status == 200);
	CHECK(d.route != NULL && d.metric_route == route_index("GET",
	    "/keys"));
	CHECK_ERR(run("GET", "/keys/absent", admin, &d), SKR_ERR_KEY_NOT_FOUND);
	CHECK(d.route != NULL && d.metric_route == route_index("GET",
	    "/keys/{name}/{version?}"));
	/* The probes are not in the table. */
	for (size_t i = 0; i < skr_nroutes; i++)
		CHECK(strcmp(skr_routes[i].pattern, "/healthz") != 0 &&
		    strcmp(skr_routes[i].pattern, "/readyz") != 0);
}

static void
test_auth(void)
{
	skr_dispatch_info d;
	skr_store_stats before, after;

	/* No token: the Key Vault challenge; the handler never ran. */
	CHECK_ERR(run("GET", "/keys", NULL, &d), SKR_ERR_AUTH_MISSING);
	CHECK(resp.status == 401);
	CHECK(header("WWW-Authenticate") != NULL);
	/* Refused, the request still counts under its route. */
	CHECK(d.route != NULL && d.metric_route == route_index("GET",
	    "/keys"));
	CHECK_ERR(run("GET", "/keys", "skr_not_a_token", &d),
	    SKR_ERR_AUTH_INVALID);
	CHECK(resp.status == 401);

	/* A reader may not make tokens: nothing is written. */
	CHECK_OK(skr_store_stats_get(fx.srv.store, &before));
	CHECK_ERR(run("POST", "/admin/tokens", reader, &d),
	    SKR_ERR_AUTH_FORBIDDEN);
	CHECK(skr_test_is_error(&resp, SKR_ERR_AUTH_FORBIDDEN));
	CHECK(d.route != NULL && d.rc == SKR_ERR_AUTH_FORBIDDEN);
	CHECK_OK(skr_store_stats_get(fx.srv.store, &after));
	CHECK(before.tokens == after.tokens);
	/* Scoped to "k": another key's name is refused before the handler. */
	CHECK_ERR(run("GET", "/keys/other", reader, &d),
	    SKR_ERR_AUTH_FORBIDDEN);
	CHECK_ERR(run("GET", "/keys/kx", reader, &d), SKR_ERR_KEY_NOT_FOUND);
}

static void
test_metrics(void)
{
	skr_dispatch_info d;
	int metrics = route_index("GET", "/metrics");

	CHECK(metrics >= 0);
	/* metrics_auth = token (the default). */
	CHECK(SKR_SETTING(&fx.srv, metrics_public) == 0);
	CHECK_ERR(run("GET", "/metrics", NULL, &d), SKR_ERR_AUTH_MISSING);
	CHECK(resp.status == 401);
	CHECK(d.metric_route == metrics);
	CHECK_ERR(run("GET", "/metrics", "skr_not_a_token", &d),
	    SKR_ERR_AUTH_INVALID);
	CHECK_OK(run("GET", "/metrics", reader, &d));
	CHECK(resp.status == 200 && resp.body.len > 0);
	CHECK(strstr(skr_buf_cstr(&resp.body), "skr_build_info") != NULL);

	/* metrics_auth = none: GET /metrics alone goes without a token. */
	SKR_SETTING_SET(&fx.srv, metrics_public, 1);
	CHECK_OK(run("GET", "/metrics", NULL, &d));
	CHECK(resp.status == 200);
	CHECK(strstr(skr_buf_cstr(&resp.body), "skr_build_info") != NULL);
	CHECK(d.metric_route == metrics);
	CHECK_OK(run("GET", "/metrics", "skr_not_a_token", &d));
	CHECK(resp.status == 200);
	CHECK_ERR(run("GET", "/keys", NULL, &d), SKR_ERR_AUTH_MISSING);
	CHECK_ERR(run("GET", "/admin/tokens", NULL, &d),
	    SKR_ERR_AUTH_MISSING);
	CHECK_ERR(run("POST", "/metrics", NULL, &d), SKR_ERR_METHOD);

	SKR_SETTING_SET(&fx.srv, metrics_public, 0);
	CHECK_ERR(run("GET", "/metrics", NULL, &d), SKR_ERR_AUTH_MISSING);
}

/* skr_dispatch is skr_dispatch_route and the handler in one. */
static void
test_whole(void)
{
	skr_test_request r = { .target = "/healthz" };

	CHECK_OK(skr_test_call(&fx.srv, &r, &resp));
	CHECK(resp.status == 200);
	r.target = "/keys";
	CHECK_ERR(skr_test_call(&fx.srv, &r, &resp), SKR_ERR_AUTH_MISSING);
	r.bearer = admin;
	CHECK_OK(skr_test_call(&fx.srv, &r, &resp));
	CHECK(resp.status == 200);
	r.method = "PATCH";
	CHECK_ERR(skr_test_call(&fx.srv, &r, &resp), SKR_ERR_METHOD);
}

/* Request bodies from a request's head alone (docs/api.md, "Limits"). */
static void
test_body_limits(void)
{
	static const struct {
		const char *method, *path;
		size_t max_body, limit;
		int err;
	} cases[] = {
		{ "POST", "/keys/k/release", 1048576, 144 * 1024, SKR_OK },
		{ "POST", "/keys/k//release", 1048576, 144 * 1024, SKR_OK },
		{ "POST", "/keys/k/0123/evaluate", 1048576, 144 * 1024,
		    SKR_OK },
		{ "POST", "/keys/k/create", 1048576, 64 * 1024, SKR_OK },
		{ "PUT", "/keys/k", 1048576, 64 * 1024, SKR_OK },
		{ "PATCH", "/keys/k", 1048576, 64 * 1024, SKR_OK },
		{ "POST", "/keys/k/rotate", 1048576, 64 * 1024, SKR_OK },
		{ "POST", "/keys/k/backup", 1048576, 4096, SKR_OK },
		{ "POST", "/deletedkeys/k/recover", 1048576, 4096, SKR_OK },
		{ "POST", "/admin/tokens", 1048576, 4096, SKR_OK },
		/* restore: a whole backup, the server's max_body. */
		{ "POST", "/keys/restore", 1048576, 1048576, SKR_OK },
		{ "POST", "/keys/restore", 8 * 1048576, 8 * 1048576, SKR_OK },
		/* A route's limit is never over max_body. */
		{ "POST", "/keys/k/release", 65536, 65536, SKR_OK },
		/* GET, HEAD and DELETE take none, a probe too. */
		{ "GET", "/keys", 1048576, 0, SKR_OK },
		{ "GET", "/healthz", 1048576, 0, SKR_OK },
		{ "DELETE", "/keys/k", 1048576, 0, SKR_OK },
		{ "HEAD", "/nowhere", 1048576, 0, SKR_OK },
		/* No route takes it: answered as such, whatever its body. */
		{ "POST", "/no/such/route", 1048576, 0, SKR_ERR_NOT_FOUND },
		{ "POST", "/keys", 1048576, 0, SKR_ERR_METHOD },
		{ "PUT", "/keys/k/release", 1048576, 0, SKR_ERR_METHOD },
	};
	size_t limit;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		limit = 12345;
		CHECK_ERR(skr_dispatch_body_limit(cases[i].method,
		    cases[i].path, cases[i].max_body, &limit), cases[i].err);
		CHECK(limit == cases[i].limit);
	}
}

int
main(void)
{
	int64_t now;

	skr_test_server_make(&fx, "dispatch", 0);
	skr_response_init(&resp);
	CHECK_OK(skr_metrics_create(skr_routes, skr_nroutes,
	    &fx.srv.metrics));
	now = skr_server_now(&fx.srv);
	skr_test_token(fx.srv.store, "admin", SKR_ROLE_ADMIN, NULL, now, 0,
	    admin, NULL);
	skr_test_token(fx.srv.store, "reader", SKR_ROLE_READER, "k", now, 0,
	    reader, NULL);

	test_probes();
	test_table();
	test_auth();
	test_metrics();
	test_whole();
	test_body_limits();

	skr_metrics_free(fx.srv.metrics);
	fx.srv.metrics = NULL;
	skr_response_clear(&resp);
	skr_buf_free(&resp.body);
	skr_test_server_free(&fx);
	return check_done();
}
