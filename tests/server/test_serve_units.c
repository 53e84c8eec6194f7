/* Unit tests: the error mapping, request helpers, configuration parser and
 * route matching of skrd (no sockets). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "http_error.h"
#include "request.h"
#include "routes.h"

static void
test_error_map(void)
{
	skr_response resp;
	json_t *o;

	/* Every code has a status and a Key Vault code. */
	CHECK(skr_http_error_unmapped() == 0);
	CHECK(skr_err_http_status(SKR_ERR_POLICY_DENIED) == 403);
	CHECK(skr_err_http_status(SKR_ERR_KEY_NOT_FOUND) == 404);
	CHECK(skr_err_http_status(SKR_ERR_AUTH_MISSING) == 401);
	CHECK(skr_err_http_status(SKR_ERR_KEY_CONFLICT) == 409);
	CHECK(skr_err_http_status(SKR_ERR_TOO_LARGE) == 413);
	CHECK(skr_err_http_status(SKR_ERR_RATE_LIMITED) == 429);
	CHECK(skr_err_http_status(SKR_ERR_SEALED) == 503);
	CHECK(skr_err_http_status(SKR_ERR_JSON) == 400);
	CHECK(skr_err_http_status(-1) == 500);
	CHECK_STR(skr_err_kv_code(SKR_ERR_KEY_NOT_FOUND), "KeyNotFound");

	skr_response_init(&resp);
	CHECK_ERR(skr_response_error(&resp, SKR_ERR_POLICY_DENIED,
	    "failing claims: %s", "x"), SKR_ERR_POLICY_DENIED);
	CHECK(resp.status == 403);
	o = json_loads(skr_buf_cstr(&resp.body), 0, NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(o,
	    "error"), "code")), "Forbidden");
	CHECK_STR(json_string_value(json_object_get(json_object_get(o,
	    "error"), "message")), "SKR.POLICY.DENIED: failing claims: x");
	json_decref(o);
	CHECK_OK(skr_response_add_header(&resp, "WWW-Authenticate", "Bearer"));
	CHECK_STR(resp.headers[0].name, "www-authenticate");
	skr_response_clear(&resp);
	skr_buf_free(&resp.body);
}

static void
test_query(void)
{
	skr_request req;
	char v[16];

	memset(&req, 0, sizeof(req));
	req.query = "api-version=7.4&maxresults=5&$skiptoken=a%2Fb&flag&x=%zz";
	CHECK(skr_request_query(&req, "maxresults", v, sizeof(v)) == 1);
	CHECK_STR(v, "5");
	CHECK(skr_request_query(&req, "$skiptoken", v, sizeof(v)) == 1);
	CHECK_STR(v, "a/b");
	CHECK(skr_request_query(&req, "flag", v, sizeof(v)) == 1);
	CHECK(skr_request_query(&req, "missing", v, sizeof(v)) == 0);
	CHECK(skr_request_query(&req, "x", v, sizeof(v)) < 0);
	CHECK(skr_request_query(&req, "api-version", v, 3) < 0);
	req.query = "a=%00";
	CHECK(skr_request_query(&req, "a", v, sizeof(v)) < 0);
	req.query = "a=%4";
	CHECK(skr_request_query(&req, "a", v, sizeof(v)) < 0);
}

static int
parse(const char *text, skr_config *c, skr_buf *why)
{
	skr_buf_reset(why);
	skr_config_clear(c);
	return skr_config_parse(text, strlen(text), c, why);
}

static void
test_config(void)
{
	skr_config c;
	skr_buf why = SKR_BUF_INIT;
	static const char *bad[] = {
		"nosuchkey = 1\n",
		"listen 127.0.0.1:1\n",
		"threads = 1\nthreads = 2\n",
		"threads = many\n",
		"threads = 1000000\n",
		"max_body = 12kb\n",
		"plain_http = maybe\n",
		"release_alg = HS256\n",
		"deny_detail = values\n",
		"[authority]\nissuer = https://a\n",
		"[authority]\nsource = oidc\n",
		"[authority]\nissuer = https://a\nsource = oidc\nbogus = 1\n",
		"[authority]\nissuer = https://a\nissuer = https://b\nsource = x\n",
		"[server]\n",
		" = 3\n",
		"listen =\n",
	};

	skr_config_init(&c);
	CHECK_OK(parse("# comment\n\nlisten = 127.0.0.1:9443  # trailing\n"
	    "threads = 4\nplain_http = false\nrelease_alg = ES256\n"
	    "[authority]\nissuer = https://sharedweu.weu.attest.azure.net\n"
	    "source = oidc\nalgs = RS256\n"
	    "[authority]\nissuer = https://x.test\nsource = /etc/x.json\n",
	    &c, &why));
	CHECK_STR(c.listen, "127.0.0.1:9443");
	CHECK(c.threads == 4 && c.plain_http == 0);
	CHECK_STR(c.release_alg, "ES256");
	CHECK(c.nauthorities == 2);
	CHECK_STR(c.authorities[0].source, "oidc");
	CHECK_STR(c.authorities[1].issuer, "https://x.test");
	CHECK(c.max_body == 1024 * 1024); /* default kept */
	/* Command-line overrides replace file values. */
	CHECK_OK(skr_config_set(&c, "threads", "2", &why));
	CHECK(c.threads == 2);
	CHECK_ERR(skr_config_set(&c, "threads", "-1", &why), SKR_ERR_CONFIG);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i], &c, &why);

		CHECK_ERR(r, SKR_ERR_CONFIG);
		if (r != SKR_ERR_CONFIG)
			fprintf(stderr, "accepted: %s", bad[i]);
		CHECK(why.len > 0);
	}
	/* Errors name the line. */
	parse("threads = 1\n\nbogus = 2\n", &c, &why);
	CHECK(strstr(skr_buf_cstr(&why), "line 3") != NULL);
	skr_config_clear(&c);
	skr_buf_free(&why);
}

static const skr_route *
route(const char *method, const char *path, skr_request *req, int *err)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->path = path;
	*err = SKR_OK;
	return skr_route_match(req, err);
}

static void
test_routes(void)
{
	skr_request req;
	const skr_route *r;
	int err;

	r = route("POST", "/keys/disk/create", &req, &err);
	CHECK(r != NULL && strcmp(r->pattern, "/keys/{name}/create") == 0);
	CHECK_STR(req.name, "disk");
	/* The three spellings of a release without a version. */
	r = route("POST", "/keys/disk/release", &req, &err);
	CHECK(r != NULL && strstr(r->pattern, "release") != NULL);
	CHECK(req.version[0] == '\0');
	r = route("POST", "/keys/disk//release", &req, &err);
	CHECK(r != NULL && strstr(r->pattern, "release") != NULL);
	CHECK(req.version[0] == '\0');
	r = route("POST", "/keys/disk/0123456789abcdef0123456789abcdef/release",
	    &req, &err);
	CHECK(r != NULL && strstr(r->pattern, "release") != NULL);
	CHECK_STR(req.version, "0123456789abcdef0123456789abcdef");
	r = route("GET", "/keys/disk", &req, &err);
	CHECK(r != NULL && r->fn != NULL && (r->flags & SKR_ROUTE_AUTH));
	CHECK(req.version[0] == '\0');
	r = route("GET", "/keys/disk/versions", &req, &err);
	CHECK(r != NULL && strstr(r->pattern, "versions") != NULL);
	r = route("POST", "/keys/restore", &req, &err);
	CHECK(r != NULL && strcmp(r->pattern, "/keys/restore") == 0);
	r = route("GET", "/nonce", &req, &err);
	CHECK(r != NULL && !(r->flags & SKR_ROUTE_AUTH));
	/* Release needs no token by default; create does, and is slow. */
	r = route("POST", "/keys/k/release", &req, &err);
	CHECK(r != NULL && !(r->flags & SKR_ROUTE_AUTH) &&
	    (r->flags & SKR_ROUTE_KV));
	r = route("POST", "/keys/k/create", &req, &err);
	CHECK(r != NULL && (r->flags & SKR_ROUTE_SLOW));
	/* Unknown routes and methods. */
	CHECK(route("GET", "/nope", &req, &err) == NULL && err ==
	    SKR_ERR_NOT_FOUND);
	CHECK(route("GET", "/keys/k/a/b/c", &req, &err) == NULL && err ==
	    SKR_ERR_NOT_FOUND);
	CHECK(route("PUT", "/nonce", &req, &err) == NULL && err ==
	    SKR_ERR_METHOD);
	CHECK(route("DELETE", "/keys", &req, &err) == NULL && err ==
	    SKR_ERR_METHOD);
	CHECK(route("POST", "/keys//create", &req, &err) == NULL);
	CHECK(route("GET", "", &req, &err) == NULL);
	/* Every route has a handler. */
	for (size_t i = 0; i < skr_nroutes; i++)
		CHECK(skr_routes[i].fn != NULL);
}

int
main(void)
{
	test_error_map();
	test_query();
	test_config();
	test_routes();
	return check_done();
}
