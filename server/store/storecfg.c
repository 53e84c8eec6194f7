/*
 * store.json (storecfg.h).
 */
#include "storecfg.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "guard.h"
#include "json.h"
#include "skr/error.h"

#define ENDPOINTS_MAX 16
#define URL_MAX 512

static int
url_ok(const char *u)
{
	const char *rest;

	if (strncmp(u, "http://", 7) == 0)
		rest = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		rest = u + 8;
	else
		return 0;
	if (*rest == '\0' || strlen(u) > URL_MAX)
		return 0;
	for (; *rest != '\0'; rest++)
		if (*rest <= ' ' || *rest >= 0x7f || strchr("/?#@\\,", *rest))
			return 0;
	return 1;
}

static int
prefix_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > SKR_STORECFG_PREFIX_MAX || p[n - 1] != '/')
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return 0;
	return 1;
}

static int
path_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > SKR_STORECFG_PATH_MAX)
		return 0;
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return 0;
	return 1;
}

/* The rules of storecfg.h over the options. */
static int
check(const skr_store_etcd_opts *o)
{
	char *list, *tok, *save = NULL;
	size_t n = 0;
	int ok = 1;

	if (o->endpoints == NULL || (list = strdup(o->endpoints)) == NULL)
		return o->endpoints == NULL ? SKR_ERR_CONFIG : SKR_ERR_NOMEM;
	for (tok = strtok_r(list, ",", &save); tok != NULL && ok;
	    tok = strtok_r(NULL, ",", &save))
		ok = url_ok(tok) && ++n <= ENDPOINTS_MAX;
	free(list);
	if (!ok || n == 0 || (o->prefix != NULL && !prefix_ok(o->prefix)))
		return SKR_ERR_CONFIG;
	if ((o->cacert != NULL && !path_ok(o->cacert)) ||
	    (o->cert != NULL && !path_ok(o->cert)) ||
	    (o->key != NULL && !path_ok(o->key)) ||
	    (o->password_file != NULL && !path_ok(o->password_file)) ||
	    (o->user != NULL && (*o->user == '\0' || strlen(o->user) > 256 ||
	    strpbrk(o->user, "\r\n") != NULL)) ||
	    (o->cert == NULL) != (o->key == NULL) ||
	    (o->user == NULL) != (o->password_file == NULL))
		return SKR_ERR_CONFIG;
	return SKR_OK;
}

int
skr__storecfg_emit(const skr_store_etcd_opts *o, skr_buf *out)
{
	json_t *doc = NULL, *e, *eps = NULL;
	char *list = NULL, *tok, *save = NULL, *s = NULL;
	int r;

	SKR_GUARD(check(o));
	SKR_ENSURE((eps = json_array()) != NULL &&
	    (list = strdup(o->endpoints)) != NULL, SKR_ERR_NOMEM);
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		SKR_ENSURE(json_array_append_new(eps, json_string(tok)) == 0,
		    SKR_ERR_NOMEM);
	e = json_pack("{s:O,s:s,s:s*,s:s*,s:s*,s:s*,s:s*}", "endpoints", eps,
	    "prefix", o->prefix != NULL ? o->prefix :
	    SKR_STORECFG_PREFIX_DEFAULT, "cacert", o->cacert, "cert", o->cert,
	    "key", o->key, "user", o->user, "password_file", o->password_file);
	SKR_ENSURE(e != NULL, SKR_ERR_NOMEM);
	doc = json_pack("{s:i,s:s,s:o}", "format", 1, "backend", "etcd",
	    "etcd", e);
	SKR_ENSURE(doc != NULL, SKR_ERR_NOMEM);
	s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	SKR_ENSURE(s != NULL, SKR_ERR_NOMEM);
	skr_buf_reset(out);
	SKR_GUARD(skr_buf_append_str(out, s));
	r = skr_buf_append_byte(out, '\n');
out:
	free(s);
	free(list);
	json_decref(eps);
	json_decref(doc);
	return r;
}

void
skr__storecfg_clear(skr__storecfg *c)
{
	if (c == NULL)
		return;
	free(c->endpoints);
	free(c->prefix);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	free(c->user);
	free(c->password_file);
	memset(c, 0, sizeof(*c));
}

/* Only the members in allowed. */
static int
only(const json_t *o, const char *const *allowed)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)o, k, v) {
		for (i = 0; allowed[i] != NULL && strcmp(allowed[i], k) != 0;
		    i++)
			;
		if (allowed[i] == NULL)
			return 0;
	}
	return 1;
}

/* An optional string member, copied; NULL when absent. */
static int
opt_str(const json_t *o, const char *name, char **out)
{
	const json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL)
		return SKR_OK;
	if (!json_is_string(v) || strlen(json_string_value(v)) !=
	    json_string_length(v))
		return SKR_ERR_CONFIG;
	return (*out = strdup(json_string_value(v))) != NULL ? SKR_OK :
	    SKR_ERR_NOMEM;
}

int
skr__storecfg_parse(const uint8_t *p, size_t n, skr__storecfg *out)
{
	static const char *const top[] = { "format", "backend", "etcd",
		NULL };
	static const char *const etcd[] = { "endpoints", "prefix", "cacert",
		"cert", "key", "user", "password_file", NULL };
	skr__storecfg c;
	skr_store_etcd_opts o;
	skr_buf eps = SKR_BUF_INIT;
	json_t *doc = NULL, *e, *a, *v;
	size_t i;
	int r;

	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	if (p == NULL || n == 0 || n > 64 * 1024)
		return SKR_ERR_CONFIG;
	if ((r = skr_json_parse((const char *)p, n, 4, &doc)) != SKR_OK)
		return r == SKR_ERR_NOMEM ? r : SKR_ERR_CONFIG;
	SKR_ENSURE(json_is_object(doc) && only(doc, top), SKR_ERR_CONFIG);
	v = json_object_get(doc, "format");
	SKR_ENSURE(json_is_integer(v) && json_integer_value(v) == 1,
	    SKR_ERR_CONFIG);
	v = json_object_get(doc, "backend");
	SKR_ENSURE(json_is_string(v) && strcmp(json_string_value(v), "etcd") ==
	    0, SKR_ERR_CONFIG);
	e = json_object_get(doc, "etcd");
	SKR_ENSURE(json_is_object(e) && only(e, etcd), SKR_ERR_CONFIG);
	a = json_object_get(e, "endpoints");
	SKR_ENSURE(json_is_array(a) && json_array_size(a) > 0 &&
	    json_array_size(a) <= ENDPOINTS_MAX, SKR_ERR_CONFIG);
	json_array_foreach(a, i, v) {
		SKR_ENSURE(json_is_string(v) && strlen(json_string_value(v)) ==
		    json_string_length(v) && url_ok(json_string_value(v)),
		    SKR_ERR_CONFIG);
		SKR_GUARD(skr_buf_appendf(&eps, "%s%s", i ? "," : "",
		    json_string_value(v)));
	}
	SKR_ENSURE((c.endpoints = strdup(skr_buf_cstr(&eps))) != NULL,
	    SKR_ERR_NOMEM);
	SKR_GUARD(opt_str(e, "prefix", &c.prefix));
	SKR_GUARD(opt_str(e, "cacert", &c.cacert));
	SKR_GUARD(opt_str(e, "cert", &c.cert));
	SKR_GUARD(opt_str(e, "key", &c.key));
	SKR_GUARD(opt_str(e, "user", &c.user));
	SKR_GUARD(opt_str(e, "password_file", &c.password_file));
	if (c.prefix == NULL)
		SKR_ENSURE((c.prefix = strdup(SKR_STORECFG_PREFIX_DEFAULT)) !=
		    NULL, SKR_ERR_NOMEM);
	o = (skr_store_etcd_opts){ c.endpoints, c.prefix, c.cacert, c.cert,
		c.key, c.user, c.password_file };
	SKR_GUARD(check(&o));
	*out = c;
	memset(&c, 0, sizeof(c));
out:
	skr__storecfg_clear(&c);
	skr_buf_free(&eps);
	json_decref(doc);
	return r;
}
