/*
 * libskr: every route other than release -- the Key Vault key routes and
 * skrd's project routes (docs/api.md).  Responses are handed back as the
 * server's JSON text; lists are collected across pages.
 */
#include "skr/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "client_priv.h"
#include "guard.h"
#include "json.h"

#define API_VERSION "api-version=7.4"
#define KEY_NAME_MAX 127
#define VERSION_MAX 64
#define PAGES_MAX 10000

static int
name_ok(const char *s, size_t max, int allow_dash)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    (allow_dash && s[i] == '-')))
			return 0;
	return 1;
}

int
skr__key_path(char *out, size_t outlen, const char *name,
    const char *version, const char *suffix)
{
	int has_version = version != NULL && *version != '\0', n;

	/* docs/api.md: names are 1-127 of [A-Za-z0-9-]; versions are hex. */
	if (!name_ok(name, KEY_NAME_MAX, 1) || (has_version &&
	    !name_ok(version, VERSION_MAX, 0)))
		return SKR_ERR_KEY_NAME;
	n = snprintf(out, outlen, "/keys/%s%s%s%s?" API_VERSION, name,
	    has_version ? "/" : "", has_version ? version : "", suffix);
	return n > 0 && (size_t)n < outlen ? SKR_OK : SKR_ERR_INVAL;
}

int
skr__next_path(const char *link, const char *base_path,
    const char *first_path, char *out, size_t outlen)
{
	const char *p;
	size_t route, blen = strlen(base_path);

	/* Key Vault writes the vault's own URL (with ":443"); the next page
	 * is always asked of the server this client talks to, never of a
	 * host a response names. */
	if (strncmp(link, "https://", 8) != 0 ||
	    (p = strchr(link + 8, '/')) == NULL)
		return SKR_ERR_RESPONSE;
	/* Behind a reverse proxy the base URL has a path of its own. */
	if (strncmp(p, base_path, blen) != 0)
		return SKR_ERR_RESPONSE;
	p += blen;
	/* Key names in the route are compared as the server compares them,
	 * without regard to case (docs/api.md). */
	route = strcspn(first_path, "?");
	if (strncasecmp(p, first_path, route) != 0 || (p[route] != '?' &&
	    p[route] != '\0') || strlen(p) >= outlen ||
	    strpbrk(p, " \t\r\n#") != NULL)
		return SKR_ERR_RESPONSE;
	memcpy(out, p, strlen(p) + 1);
	return SKR_OK;
}

/* The path part of the client's base URL ("" for https://host:port). */
static const char *
base_path(const skr_client *c)
{
	const char *p = strchr(c->url + 8, '/');

	return p != NULL ? p : "";
}

enum paging {
	PAGING_NEXTLINK,        /* Key Vault: "nextLink": URL or null */
	PAGING_SKIPTOKEN,       /* skrd admin lists: "next": marker or null */
};

/* GET every page of a list and return {"value":[...]} as text. */
static int
list_all(skr_client *c, const char *first, enum paging paging, char **out,
    skr_result *res)
{
	json_t *all = NULL, *page = NULL, *v, *link, *wrapped = NULL;
	char path[SKR__PATH_MAX], *text = NULL, *esc;
	size_t i;
	int r, pages = 0;

	*out = NULL;
	SKR_ENSURE((all = json_array()) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(strlen(first) < sizeof(path), SKR_ERR_INVAL);
	memcpy(path, first, strlen(first) + 1);
	for (;;) {
		SKR_ENSURE(pages++ < PAGES_MAX, SKR_ERR_RESPONSE);
		SKR_GUARD(skr_client_call(c, "GET", path, NULL, &text, res));
		SKR_ENSURE(skr_json_parse(text, strlen(text), 0, &page) ==
		    SKR_OK && json_is_array(json_object_get(page, "value")),
		    SKR_ERR_RESPONSE);
		json_array_foreach(json_object_get(page, "value"), i, v)
			SKR_ENSURE(json_array_append(all, v) == 0,
			    SKR_ERR_NOMEM);
		link = json_object_get(page, paging == PAGING_NEXTLINK ?
		    "nextLink" : "next");
		if (!json_is_string(link) || json_string_length(link) == 0)
			break;
		if (paging == PAGING_NEXTLINK)
			SKR_GUARD(skr__next_path(json_string_value(link),
			    base_path(c), first, path, sizeof(path)));
		else {
			SKR_ENSURE((esc = curl_easy_escape(NULL,
			    json_string_value(link), 0)) != NULL,
			    SKR_ERR_NOMEM);
			i = (size_t)snprintf(path, sizeof(path),
			    "%.*s?$skiptoken=%s", (int)strcspn(first, "?"),
			    first, esc);
			curl_free(esc);
			SKR_ENSURE(i < sizeof(path), SKR_ERR_RESPONSE);
		}
		json_decref(page);
		page = NULL;
		free(text);
		text = NULL;
	}
	SKR_ENSURE((wrapped = json_pack("{s:O}", "value", all)) != NULL,
	    SKR_ERR_NOMEM);
	SKR_ENSURE((*out = json_dumps(wrapped, JSON_COMPACT)) != NULL,
	    SKR_ERR_NOMEM);
	r = SKR_OK;
out:
	json_decref(wrapped);
	json_decref(page);
	json_decref(all);
	free(text);
	return skr__refuse(res, r);
}

static int
key_call(skr_client *c, const char *method, const char *name,
    const char *version, const char *suffix, const char *body, char **out,
    skr_result *res)
{
	char path[SKR__PATH_MAX];
	int r;

	skr__start(res, out);
	if ((r = skr__key_path(path, sizeof(path), name, version, suffix)) !=
	    SKR_OK)
		return skr__refuse(res, r);
	return skr_client_call(c, method, path, body, out, res);
}

static int
deleted_call(skr_client *c, const char *method, const char *name,
    const char *suffix, char **out, skr_result *res)
{
	char path[SKR__PATH_MAX];

	skr__start(res, out);
	if (!name_ok(name, KEY_NAME_MAX, 1))
		return skr__refuse(res, SKR_ERR_KEY_NAME);
	snprintf(path, sizeof(path), "/deletedkeys/%s%s?" API_VERSION, name,
	    suffix);
	return skr_client_call(c, method, path, *suffix ? "{}" : NULL, out,
	    res);
}

int
skr_client_key_create(skr_client *c, const char *name, const char *params,
    char **out, skr_result *res)
{
	return key_call(c, "POST", name, NULL, "/create", params ? params :
	    "{}", out, res);
}

int
skr_client_key_import(skr_client *c, const char *name, const char *params,
    char **out, skr_result *res)
{
	if (params == NULL) {
		skr__start(res, out);
		return skr__refuse(res, SKR_ERR_INVAL);
	}
	return key_call(c, "PUT", name, NULL, "", params, out, res);
}

int
skr_client_key_get(skr_client *c, const char *name, const char *version,
    char **out, skr_result *res)
{
	return key_call(c, "GET", name, version, "", NULL, out, res);
}

int
skr_client_key_list(skr_client *c, char **out, skr_result *res)
{
	skr__start(res, out);
	return list_all(c, "/keys?" API_VERSION, PAGING_NEXTLINK, out, res);
}

int
skr_client_key_versions(skr_client *c, const char *name, char **out,
    skr_result *res)
{
	char path[SKR__PATH_MAX];
	int r;

	skr__start(res, out);
	if ((r = skr__key_path(path, sizeof(path), name, NULL, "/versions")) !=
	    SKR_OK)
		return skr__refuse(res, r);
	return list_all(c, path, PAGING_NEXTLINK, out, res);
}

int
skr_client_key_update(skr_client *c, const char *name, const char *version,
    const char *params, char **out, skr_result *res)
{
	return key_call(c, "PATCH", name, version, "", params ? params : "{}",
	    out, res);
}

int
skr_client_key_rotate(skr_client *c, const char *name, char **out,
    skr_result *res)
{
	return key_call(c, "POST", name, NULL, "/rotate", "{}", out, res);
}

int
skr_client_key_delete(skr_client *c, const char *name, char **out,
    skr_result *res)
{
	return key_call(c, "DELETE", name, NULL, "", NULL, out, res);
}

int
skr_client_deleted_get(skr_client *c, const char *name, char **out,
    skr_result *res)
{
	return deleted_call(c, "GET", name, "", out, res);
}

int
skr_client_deleted_list(skr_client *c, char **out, skr_result *res)
{
	skr__start(res, out);
	return list_all(c, "/deletedkeys?" API_VERSION, PAGING_NEXTLINK, out,
	    res);
}

int
skr_client_key_recover(skr_client *c, const char *name, char **out,
    skr_result *res)
{
	return deleted_call(c, "POST", name, "/recover", out, res);
}

int
skr_client_key_purge(skr_client *c, const char *name, skr_result *res)
{
	return deleted_call(c, "DELETE", name, "", NULL, res);
}

int
skr_client_key_backup(skr_client *c, const char *name, char **out,
    skr_result *res)
{
	return key_call(c, "POST", name, NULL, "/backup", "{}", out, res);
}

int
skr_client_key_restore(skr_client *c, const char *backup, char **out,
    skr_result *res)
{
	if (backup == NULL) {
		skr__start(res, out);
		return skr__refuse(res, SKR_ERR_INVAL);
	}
	return skr_client_call(c, "POST", "/keys/restore?" API_VERSION,
	    backup, out, res);
}

int
skr_client_evaluate(skr_client *c, const char *name, const char *version,
    const char *token, const char *nonce, char **out, skr_result *res)
{
	json_t *req;
	char *body = NULL;
	int r;

	skr__start(res, out);
	if (token == NULL)
		return skr__refuse(res, SKR_ERR_INVAL);
	if ((req = json_pack("{s:s,s:s*}", "target", token, "nonce", nonce)) ==
	    NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		json_decref(req);
		return skr__refuse(res, SKR_ERR_NOMEM);
	}
	r = key_call(c, "POST", name, version, "/evaluate", body, out, res);
	skr_freezero(body, strlen(body));
	json_decref(req);
	return r;
}

int
skr_client_nonce(skr_client *c, char **nonce, skr_result *res)
{
	json_t *o = NULL;
	const char *v;
	char *text = NULL;
	int r;

	skr__start(res, nonce);
	SKR_GUARD(skr_client_call(c, "GET", "/nonce", NULL, &text, res));
	SKR_ENSURE(skr_json_parse(text, strlen(text), 0, &o) == SKR_OK &&
	    (v = json_string_value(json_object_get(o, "value"))) != NULL &&
	    *v != '\0', SKR_ERR_RESPONSE);
	SKR_ENSURE((*nonce = strdup(v)) != NULL, SKR_ERR_NOMEM);
	r = SKR_OK;
out:
	json_decref(o);
	free(text);
	return skr__refuse(res, r);
}

int
skr_client_token_create(skr_client *c, const char *params, char **out,
    skr_result *res)
{
	return skr_client_call(c, "POST", "/admin/tokens", params ? params :
	    "{}", out, res);
}

int
skr_client_token_list(skr_client *c, char **out, skr_result *res)
{
	skr__start(res, out);
	return list_all(c, "/admin/tokens", PAGING_SKIPTOKEN, out, res);
}

int
skr_client_token_revoke(skr_client *c, const char *id, skr_result *res)
{
	char path[128];

	skr__start(res, NULL);
	if (!name_ok(id, 64, 1))
		return skr__refuse(res, SKR_ERR_INVAL);
	snprintf(path, sizeof(path), "/admin/tokens/%s", id);
	return skr_client_call(c, "DELETE", path, NULL, NULL, res);
}

int
skr_client_authorities(skr_client *c, char **out, skr_result *res)
{
	return skr_client_call(c, "GET", "/admin/authorities", NULL, out, res);
}

int
skr_client_authority_refresh(skr_client *c, const char *issuer,
    skr_result *res)
{
	skr_buf path = SKR_BUF_INIT;
	char *esc;
	int r;

	skr__start(res, NULL);
	if (issuer == NULL || *issuer == '\0')
		return skr__refuse(res, SKR_ERR_INVAL);
	if ((esc = curl_easy_escape(NULL, issuer, 0)) == NULL)
		return skr__refuse(res, SKR_ERR_NOMEM);
	r = skr_buf_appendf(&path, "/admin/authorities/refresh?issuer=%s", esc);
	curl_free(esc);
	if (r == SKR_OK)
		r = skr_client_call(c, "POST", skr_buf_cstr(&path), "{}", NULL,
		    res);
	skr_buf_free(&path);
	return skr__refuse(res, r);
}

int
skr_client_audit_list(skr_client *c, const char *query, char **out,
    skr_result *res)
{
	char path[SKR__PATH_MAX];
	int n;

	skr__start(res, out);
	if (query != NULL && strpbrk(query, " \t\r\n#?") != NULL)
		return skr__refuse(res, SKR_ERR_INVAL);
	n = snprintf(path, sizeof(path), "/admin/audit%s%s", query && *query ?
	    "?" : "", query ? query : "");
	if (n < 0 || (size_t)n >= sizeof(path))
		return skr__refuse(res, SKR_ERR_INVAL);
	return skr_client_call(c, "GET", path, NULL, out, res);
}

int
skr_client_audit_verify(skr_client *c, char **out, skr_result *res)
{
	return skr_client_call(c, "GET", "/admin/audit/verify", NULL, out,
	    res);
}

int
skr_client_health(skr_client *c, skr_result *res)
{
	return skr_client_call(c, "GET", "/healthz", NULL, NULL, res);
}

int
skr_client_ready(skr_client *c, skr_result *res)
{
	return skr_client_call(c, "GET", "/readyz", NULL, NULL, res);
}
