/*
 * Unit tests: the one mapping from skr_err to HTTP status and Key Vault error
 * code (server/http_error.c), the error shape of docs/api.md, and the response
 * and query helpers of request.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "http_error.h"
#include "request.h"

/* Every code of the X-macro, so a code appended later is checked too. */
static const struct {
	int err;
	const char *name;
} all[] = {
#define ENTRY(name, id, text) { SKR_ERR_##name, #name },
	SKR_ERRNO_MAP(ENTRY)
#undef ENTRY
};
#define NALL (sizeof(all) / sizeof(all[0]))

/* The Key Vault codes each status may carry. */
static const struct {
	int status;
	const char *codes[3];
} allowed[] = {
	{ 400, { "BadParameter" } },
	{ 401, { "Unauthorized" } },
	{ 403, { "Forbidden" } },
	{ 404, { "KeyNotFound", "NotFound" } },
	{ 405, { "MethodNotAllowed" } },
	{ 409, { "Conflict" } },
	{ 413, { "RequestTooLarge" } },
	{ 415, { "UnsupportedMediaType" } },
	{ 429, { "Throttled" } },
	{ 500, { "InternalServerError" } },
	{ 503, { "ServiceUnavailable" } },
	{ 507, { "InsufficientStorage" } },
};

static int
code_fits(int status, const char *code)
{
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (allowed[i].status != status)
			continue;
		for (size_t j = 0; j < 3 && allowed[i].codes[j] != NULL; j++)
			if (strcmp(allowed[i].codes[j], code) == 0)
				return 1;
		return 0;
	}
	return 0;
}

static void
test_exhaustive(void)
{
	CHECK(skr_http_error_unmapped() == 0);
	CHECK(NALL == (size_t)(SKR__ERR_LAST - SKR__ERR_FIRST - 1));
	for (size_t i = 0; i < NALL; i++) {
		int st = skr_err_http_status(all[i].err);
		const char *code = skr_err_kv_code(all[i].err);

		if (!code_fits(st, code)) {
			fprintf(stderr, "  SKR_ERR_%s -> %d %s\n", all[i].name, st,
			    code);
			CHECK(0);
		} else
			CHECK(1);
	}
	/* Outside the table: a 500 with the generic code, never a crash. */
	CHECK(skr_err_http_status(SKR_OK) == 200);
	CHECK(skr_err_http_status(-1) == 500);
	CHECK(skr_err_http_status(SKR__ERR_FIRST) == 500);
	CHECK(skr_err_http_status(SKR__ERR_LAST) == 500);
	CHECK(skr_err_http_status(-100000) == 500);
	CHECK(skr_err_http_status(42) == 500);
	CHECK_STR(skr_err_kv_code(SKR__ERR_LAST), "InternalServerError");
	CHECK_STR(skr_err_kv_code(-1), "InternalServerError");
}

/* The classes docs/api.md names, code by code. */
static void
test_classes(void)
{
	static const struct {
		int err, status;
		const char *code;
	} want[] = {
		{ SKR_ERR_JSON, 400, "BadParameter" },
		{ SKR_ERR_BAD_REQUEST, 400, "BadParameter" },
		{ SKR_ERR_KEY_NAME, 400, "BadParameter" },
		{ SKR_ERR_POLICY_INVALID, 400, "BadParameter" },
		{ SKR_ERR_KEY_POLICY_REQUIRED, 400, "BadParameter" },
		{ SKR_ERR_AUTH_MISSING, 401, "Unauthorized" },
		{ SKR_ERR_AUTH_INVALID, 401, "Unauthorized" },
		{ SKR_ERR_AUTH_EXPIRED, 401, "Unauthorized" },
		{ SKR_ERR_AUTH_REVOKED, 401, "Unauthorized" },
		{ SKR_ERR_AUTH_FORBIDDEN, 403, "Forbidden" },
		{ SKR_ERR_POLICY_DENIED, 403, "Forbidden" },
		{ SKR_ERR_TOKEN_SIGNATURE, 403, "Forbidden" },
		{ SKR_ERR_TOKEN_EXPIRED, 403, "Forbidden" },
		{ SKR_ERR_KEY_NOT_EXPORTABLE, 403, "Forbidden" },
		{ SKR_ERR_KEY_NOT_FOUND, 404, "KeyNotFound" },
		{ SKR_ERR_VERSION_NOT_FOUND, 404, "KeyNotFound" },
		{ SKR_ERR_NOT_FOUND, 404, "NotFound" },
		{ SKR_ERR_METHOD, 405, "MethodNotAllowed" },
		{ SKR_ERR_KEY_CONFLICT, 409, "Conflict" },
		{ SKR_ERR_CONFLICT, 409, "Conflict" },
		{ SKR_ERR_TOO_LARGE, 413, "RequestTooLarge" },
		{ SKR_ERR_RATE_LIMITED, 429, "Throttled" },
		{ SKR_ERR_SEALED, 503, "ServiceUnavailable" },
		{ SKR_ERR_STORE, 500, "InternalServerError" },
		{ SKR_ERR_INTERNAL, 500, "InternalServerError" },
		/* Damage to stored data is never the caller's fault. */
		{ SKR_ERR_SEAL_OPEN, 500, "InternalServerError" },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK(skr_err_http_status(want[i].err) == want[i].status);
		CHECK_STR(skr_err_kv_code(want[i].err), want[i].code);
	}
}

static json_t *
body_json(const skr_response *resp)
{
	return json_loadb((const char *)resp->body.data, resp->body.len, 0,
	    NULL);
}

static const char *
member(json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(o, a), b));
}

static void
test_error_shape(void)
{
	skr_response resp;
	char big[2000];
	json_t *o;

	skr_response_init(&resp);
	/* Every code yields exactly {"error":{"code","message"}} with the
	 * stable id first. */
	for (size_t i = 0; i < NALL; i++) {
		char prefix[128];

		skr_response_clear(&resp);
		CHECK_ERR(skr_response_error(&resp, all[i].err, NULL),
		    all[i].err);
		CHECK(resp.status == skr_err_http_status(all[i].err));
		o = body_json(&resp);
		CHECK(o != NULL && json_object_size(o) == 1 &&
		    json_object_size(json_object_get(o, "error")) == 2);
		CHECK_STR(member(o, "error", "code"),
		    skr_err_kv_code(all[i].err));
		snprintf(prefix, sizeof(prefix), "%s: %s",
		    skr_err_id(all[i].err), skr_strerror(all[i].err));
		CHECK_STR(member(o, "error", "message"), prefix);
		json_decref(o);
	}
	/* A handler's own text replaces the table's. */
	skr_response_clear(&resp);
	skr_response_error(&resp, SKR_ERR_KEY_NOT_FOUND, "key %s", "disk");
	o = body_json(&resp);
	CHECK_STR(member(o, "error", "message"), "SKR.KEY.NOT_FOUND: key disk");
	json_decref(o);
	/* SKR_OK is not an error: answered as internal. */
	skr_response_clear(&resp);
	CHECK_ERR(skr_response_error(&resp, SKR_OK, NULL), SKR_ERR_INTERNAL);
	CHECK(resp.status == 500);
	/* Over-long text is cut, and the body is still JSON. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	skr_response_clear(&resp);
	skr_response_error(&resp, SKR_ERR_BAD_REQUEST, "%s", big);
	o = body_json(&resp);
	CHECK(o != NULL && strncmp(member(o, "error", "message"),
	    "SKR.REQUEST.INVALID: xxx", 24) == 0);
	json_decref(o);
	/* Text that needs JSON escaping stays one string. */
	skr_response_clear(&resp);
	skr_response_error(&resp, SKR_ERR_BAD_REQUEST, "%s", "\"}\n\\");
	o = body_json(&resp);
	CHECK_STR(member(o, "error", "message"),
	    "SKR.REQUEST.INVALID: \"}\n\\");
	json_decref(o);
	skr_response_clear(&resp);
	skr_buf_free(&resp.body);
}

static void
test_response(void)
{
	skr_response resp;
	char value[600];

	skr_response_init(&resp);
	CHECK(resp.status == 0 && resp.nheaders == 0);
	CHECK_OK(skr_response_json(&resp, 201, json_pack("{s:i}", "a", 1)));
	CHECK(resp.status == 201 && resp.content_type == NULL);
	CHECK_STR(skr_buf_cstr(&resp.body), "{\"a\":1}");
	/* Replaces, never appends. */
	CHECK_OK(skr_response_json(&resp, 200, json_pack("[]")));
	CHECK_STR(skr_buf_cstr(&resp.body), "[]");
	CHECK_ERR(skr_response_json(&resp, 200, NULL), SKR_ERR_NOMEM);

	/* Headers: lowercased (HTTP/2), bounded in count and size. */
	CHECK_OK(skr_response_add_header(&resp, "WWW-Authenticate",
	    "Bearer authorization=\"https://h\", resource=\"https://h\""));
	CHECK_STR(resp.headers[0].name, "www-authenticate");
	CHECK_OK(skr_response_add_header(&resp, "Retry-After", "30"));
	CHECK_STR(resp.headers[1].name, "retry-after");
	CHECK_STR(resp.headers[1].value, "30");
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	CHECK_ERR(skr_response_add_header(&resp, "X-Long", value),
	    SKR_ERR_TOO_LARGE);
	CHECK_ERR(skr_response_add_header(&resp,
	    "X-A-Header-Name-Longer-Than-Thirty-One", "v"), SKR_ERR_TOO_LARGE);
	CHECK(resp.nheaders == 2);
	CHECK_OK(skr_response_add_header(&resp, "X-3", "c"));
	CHECK_OK(skr_response_add_header(&resp, "X-4", "d"));
	CHECK_ERR(skr_response_add_header(&resp, "X-5", "e"),
	    SKR_ERR_TOO_LARGE);
	CHECK(resp.nheaders == SKR_RESPONSE_MAX_HEADERS);
	skr_response_clear(&resp);
	CHECK(resp.nheaders == 0 && resp.status == 0 && resp.body.len == 0);
	skr_buf_free(&resp.body);
}

static int
q(const char *query, const char *name, char *out, size_t outlen)
{
	skr_request req;

	memset(&req, 0, sizeof(req));
	req.query = query;
	return skr_request_query(&req, name, out, outlen);
}

static void
test_query(void)
{
	char v[8];

	CHECK(q(NULL, "a", v, sizeof(v)) == 0);
	CHECK(q("", "a", v, sizeof(v)) == 0);
	CHECK(q("a=1", "a", v, sizeof(v)) == 1);
	CHECK_STR(v, "1");
	CHECK(q("a=", "a", v, sizeof(v)) == 1);
	CHECK_STR(v, "");
	CHECK(q("a", "a", v, sizeof(v)) == 1);
	CHECK_STR(v, "");
	/* Whole names only. */
	CHECK(q("ab=1&a=2", "a", v, sizeof(v)) == 1);
	CHECK_STR(v, "2");
	CHECK(q("ab=1", "a", v, sizeof(v)) == 0);
	CHECK(q("b=a=1", "a", v, sizeof(v)) == 0);
	CHECK(q("&&a=3&", "a", v, sizeof(v)) == 1);
	CHECK_STR(v, "3");
	/* The first occurrence wins. */
	CHECK(q("a=1&a=2", "a", v, sizeof(v)) == 1);
	CHECK_STR(v, "1");
	/* Percent-decoding and '+'. */
	CHECK(q("a=%41%6a+b", "a", v, sizeof(v)) == 1);
	CHECK_STR(v, "Aj b");
	CHECK(q("a=%2F%2f", "a", v, sizeof(v)) == 1);
	CHECK_STR(v, "//");
	/* Malformed escapes, NUL, over-long values. */
	CHECK(q("a=%", "a", v, sizeof(v)) < 0);
	CHECK(q("a=%4", "a", v, sizeof(v)) < 0);
	CHECK(q("a=%4g", "a", v, sizeof(v)) < 0);
	CHECK(q("a=%g4", "a", v, sizeof(v)) < 0);
	CHECK(q("a=%00", "a", v, sizeof(v)) < 0);
	CHECK(q("a=x%", "a", v, sizeof(v)) < 0);
	CHECK(q("a=1234567", "a", v, sizeof(v)) == 1); /* exactly fits */
	CHECK_STR(v, "1234567");
	CHECK(q("a=12345678", "a", v, sizeof(v)) == SKR_ERR_TOO_LARGE);
	CHECK(q("a=%41%41%41%41%41%41%41", "a", v, sizeof(v)) == 1);
	CHECK(q("a=%41%41%41%41%41%41%41%41", "a", v, sizeof(v)) < 0);
	CHECK(q("a=1", "a", v, 0) < 0);
	/* A malformed parameter does not spoil the others. */
	CHECK(q("x=%zz&a=ok", "a", v, sizeof(v)) == 1);
	CHECK_STR(v, "ok");
}

int
main(void)
{
	test_exhaustive();
	test_classes();
	test_error_shape();
	test_response();
	test_query();
	return check_done();
}
