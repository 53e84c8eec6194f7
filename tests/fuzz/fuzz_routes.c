/*
 * libFuzzer target: every route of skrd through the dispatcher the HTTP
 * layer uses -- probes, route match, authentication, handler -- without
 * sockets, against a real
 * store (fuzz_env.h).  Input:
 *
 *   byte 0   method: GET, POST, PUT, PATCH, DELETE
 *   byte 1   flags: 1 admin bearer token, 2 reader token (scoped to "k"),
 *            4 JSON content type, 8 the body is "EXTRA\nCLAIMS": the request
 *            body becomes EXTRA (a JSON object, else {}) with "target" set
 *            to a token the trusted authority signed over CLAIMS
 *   then     the path (with an optional ?query) up to a newline
 *   then     the body
 *
 * Whatever the input, the answer must be a status in 100..599, errors must
 * have the error shape of docs/api.md, and no answer may contain a bearer
 * token or the raw bytes of a stored key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "encoding.h"
#include "fuzz_env.h"
#include "json.h"
#include "request.h"
#include "skr/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RESET_EVERY 2000

static json_t *
target_body(fuzz_env *e, const uint8_t *p, size_t n)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t elen = nl != NULL ? (size_t)(nl - p) : 0;
	skr_buf tok = SKR_BUF_INIT;
	json_t *o = NULL;

	if (nl == NULL || skr_json_parse((const char *)p, elen, 0, &o) !=
	    SKR_OK || !json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	if (nl != NULL) {
		p += elen + 1;
		n -= elen + 1;
	}
	if (fuzz_env_token(e, p, n, &tok) == SKR_OK)
		json_object_set_new(o, "target", json_string(skr_buf_cstr(&tok)));
	skr_buf_free(&tok);
	return o;
}

/* The error shape of docs/api.md:
 * {"error":{"code":C,"message":"<id>: text"}}. */
static int
error_shaped(const skr_response *resp)
{
	json_t *o = NULL, *err;
	int ok;

	if (skr_json_parse((const char *)resp->body.data, resp->body.len, 0,
	    &o) != SKR_OK)
		return 0;
	err = json_object_get(o, "error");
	ok = json_is_string(json_object_get(err, "code")) &&
	    json_is_string(json_object_get(err, "message")) &&
	    strstr(json_string_value(json_object_get(err, "message")),
	    "SKR.") == json_string_value(json_object_get(err, "message"));
	json_decref(o);
	return ok;
}

/* secret is in the response although the input did not carry it (an
 * error message may quote the input, and the comparisons below teach the
 * fuzzer the secrets' bytes). */
static int
leaked(const skr_response *resp, const uint8_t *in, size_t inlen,
    const void *secret, size_t n, int *carried)
{
	if (memmem(in, inlen, secret, n) != NULL) {
		*carried = 1;
		return 0;
	}
	return resp->body.len > 0 &&
	    memmem(resp->body.data, resp->body.len, secret, n) != NULL;
}

/*
 * Abort when the answer holds a bearer token or the stored key's bytes.
 * Returns 1 when the input itself carried one of them: it may have stored
 * it (as a key name, a tag), and a later answer quoting it would look like
 * a leak, so the caller makes the store anew.
 */
static int
check_secrets(fuzz_env *e, const skr_response *resp, const uint8_t *in,
    size_t inlen)
{
	skr_buf raw = SKR_BUF_INIT_SECRET, b64 = SKR_BUF_INIT_SECRET;
	int carried = 0;

	if (leaked(resp, in, inlen, e->admin, strlen(e->admin), &carried) ||
	    leaked(resp, in, inlen, e->reader, strlen(e->reader), &carried))
		abort();
	if (skr_key_private_bytes(e->oct_key, &raw) != SKR_OK ||
	    skr_b64url_encode(&b64, raw.data, raw.len) != SKR_OK)
		abort();
	if (leaked(resp, in, inlen, raw.data, raw.len, &carried) ||
	    leaked(resp, in, inlen, b64.data, b64.len, &carried))
		abort();
	skr_buf_free(&raw);
	skr_buf_free(&b64);
	return carried;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH",
	    "DELETE" };
	fuzz_env *e = fuzz_env_get();
	skr_request req;
	skr_response resp;
	char *path = NULL, *q, auth[128];
	const uint8_t *nl, *body;
	char *bodytext = NULL;
	size_t plen, blen;
	json_t *o = NULL;

	if (size < 2)
		return 0;
	if (++e->runs % RESET_EVERY == 0)
		fuzz_env_reset_store(e);
	memset(&req, 0, sizeof(req));
	skr_response_init(&resp);
	req.method = methods[data[0] % 5];
	nl = memchr(data + 2, '\n', size - 2);
	plen = nl != NULL ? (size_t)(nl - (data + 2)) : size - 2;
	if (plen > 2048 || (path = strndup((const char *)data + 2, plen)) ==
	    NULL)
		goto out;
	body = nl != NULL ? nl + 1 : data + size;
	blen = (size_t)(data + size - body);
	if ((q = strchr(path, '?')) != NULL)
		*q++ = '\0';
	req.path = path;
	req.query = q;
	if ((data[1] & 8) && blen > 0) {
		o = target_body(e, body, blen);
		bodytext = json_dumps(o, JSON_COMPACT);
		if (bodytext == NULL)
			goto out;
		req.body = (const uint8_t *)bodytext;
		req.body_len = strlen(bodytext);
	} else if (blen > 0) {
		req.body = body;
		req.body_len = blen;
	}
	if (data[1] & 4)
		req.content_type = "application/json; charset=utf-8";
	if (data[1] & 3) {
		snprintf(auth, sizeof(auth), "Bearer %s", (data[1] & 1) ?
		    e->admin : e->reader);
		req.authorization = auth;
	}
	snprintf(req.peer, sizeof(req.peer), "127.0.0.1");
	snprintf(req.request_id, sizeof(req.request_id), "fuzz");
	req.now = FUZZ_NOW;
	skr_dispatch(&e->srv, &req, &resp);
	if (getenv("FUZZ_ROUTES_VERBOSE") != NULL)
		fprintf(stderr, "%s %s -> %d %.200s\n", req.method, path,
		    resp.status, skr_buf_cstr(&resp.body));
	if (resp.status < 100 || resp.status > 599)
		abort();
	if (resp.status >= 400 && !error_shaped(&resp))
		abort();
	if (check_secrets(e, &resp, data, size))
		fuzz_env_reset_store(e);
out:
	skr_response_clear(&resp);
	skr_buf_free(&resp.body);
	skr_wipe(&req.principal_buf, sizeof(req.principal_buf));
	free(bodytext);
	json_decref(o);
	free(path);
	return 0;
}
