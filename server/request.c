/* Response building and query parsing shared by every handler. */
#include "request.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "skr/error.h"

#define RESPONSE_MAX (16 * 1024 * 1024)

void
skr_response_init(skr_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	skr_buf_init(&resp->body, RESPONSE_MAX);
}

void
skr_response_clear(skr_response *resp)
{
	skr_buf_free(&resp->body);
	memset(resp, 0, sizeof(*resp));
	skr_buf_init(&resp->body, RESPONSE_MAX);
}

int
skr_response_json(skr_response *resp, int status, json_t *body)
{
	char *text;
	int r;

	if (body == NULL)
		return SKR_ERR_NOMEM;
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
		return SKR_ERR_NOMEM;
	skr_buf_reset(&resp->body);
	r = skr_buf_append_str(&resp->body, text);
	free(text);
	if (r != SKR_OK)
		return r;
	resp->status = status;
	resp->content_type = NULL;
	return SKR_OK;
}

int
skr_response_error(skr_response *resp, int err, const char *fmt, ...)
{
	char text[512];
	char msg[640];
	va_list ap;
	json_t *body;

	if (err == SKR_OK)
		err = SKR_ERR_INTERNAL;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
	} else
		snprintf(text, sizeof(text), "%s", skr_strerror(err));
	/* docs/api.md, "Conventions": "<stable id>: <human text>". */
	snprintf(msg, sizeof(msg), "%s: %s", skr_err_id(err), text);
	body = json_pack("{s:{s:s,s:s}}", "error", "code", skr_err_kv_code(err),
	    "message", msg);
	if (skr_response_json(resp, skr_err_http_status(err), body) != SKR_OK) {
		/* Out of memory: still answer with the right status. */
		skr_buf_reset(&resp->body);
		resp->status = skr_err_http_status(err);
	}
	return err;
}

int
skr_response_add_header(skr_response *resp, const char *name,
    const char *value)
{
	size_t i = resp->nheaders;

	if (i >= SKR_RESPONSE_MAX_HEADERS ||
	    strlen(name) >= sizeof(resp->headers[i].name) ||
	    strlen(value) >= sizeof(resp->headers[i].value))
		return SKR_ERR_TOO_LARGE;
	/* HTTP/2 requires lowercase field names (RFC 7540 section 8.1.2). */
	for (size_t j = 0; name[j] != '\0'; j++)
		resp->headers[i].name[j] = (char)tolower((unsigned char)name[j]);
	resp->headers[i].name[strlen(name)] = '\0';
	snprintf(resp->headers[i].value, sizeof(resp->headers[i].value), "%s",
	    value);
	resp->nheaders++;
	return SKR_OK;
}

/* Percent-decode s[0..n) into out (NUL-terminated); '+' is a space, as in
 * application/x-www-form-urlencoded query strings. */
static int
decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			if (i + 2 >= n)
				return SKR_ERR_BAD_REQUEST;
			hi = skr_hex_digit(s[i + 1]);
			lo = skr_hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return SKR_ERR_BAD_REQUEST;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (o + 1 >= outlen)
			return SKR_ERR_TOO_LARGE;
		out[o++] = c;
	}
	out[o] = '\0';
	return SKR_OK;
}

int
skr_request_query(const skr_request *req, const char *name, char *out,
    size_t outlen)
{
	const char *p = req->query, *amp, *eq;
	size_t namelen = strlen(name), len;
	int r;

	if (outlen == 0)
		return SKR_ERR_INVAL;
	out[0] = '\0';
	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		len = amp ? (size_t)(amp - p) : strlen(p);
		eq = memchr(p, '=', len);
		if ((eq ? (size_t)(eq - p) : len) == namelen &&
		    memcmp(p, name, namelen) == 0) {
			if (eq == NULL)
				return 1;
			r = decode(eq + 1, len - namelen - 1, out, outlen);
			return r == SKR_OK ? 1 : r;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}
