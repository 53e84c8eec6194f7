/*
 * skrctl key ...: create, import, list, show, versions, update, rotate,
 * delete, deleted, recover, purge, backup and restore (docs/skrctl.1,
 * Keys).  Bodies are Key Vault's (docs/api.md); the answers are key
 * bundles or lists of them.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "encoding.h"
#include "json.h"
#include "jwk.h"
#include "skr/error.h"
#include "skrctl.h"
#include "skrctl_file.h"
#include "skrctl_out.h"

/* ---- output ------------------------------------------------------------ */

static void
human_bundle(json_t *o)
{
	char *tags = json_dumps(json_object_get(o, "tags"), JSON_COMPACT);

	printf("kid         %s\n", skrctl_out_jstr(o, "key.kid"));
	printf("kty         %s\n", skrctl_out_jstr(o, "key.kty"));
	if (json_object_get(json_object_get(o, "key"), "crv") != NULL)
		printf("crv         %s\n", skrctl_out_jstr(o, "key.crv"));
	printf("enabled     %s\n", skrctl_out_jbool(o, "attributes.enabled") ?
	    "yes" : "no");
	printf("exportable  %s\n", skrctl_out_jbool(o,
	    "attributes.exportable") ? "yes" : "no");
	printf("policy      %s\n", json_object_get(o, "release_policy") ?
	    (skrctl_out_jbool(o, "release_policy.immutable") ?
	    "yes (immutable)" : "yes") : "none");
	printf("tags        %s\n", tags ? tags : "{}");
	if (json_object_get(o, "scheduledPurgeDate") != NULL)
		printf("deleted     purge scheduled at %lld\n", (long long)
		    json_integer_value(json_object_get(o,
		    "scheduledPurgeDate")));
	free(tags);
}

static void
human_list(json_t *o)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "value"), i, v) {
		const char *kid = skrctl_out_jstr(v, "kid");
		const char *slash = strstr(kid, "/keys/");

		printf("%-40s %s%s\n", slash ? slash + 6 : kid,
		    skrctl_out_jbool(v, "attributes.enabled") ? "enabled" :
		    "disabled", skrctl_out_jbool(v, "attributes.exportable") ?
		    ", exportable" : "");
	}
}

/* ---- request bodies ---------------------------------------------------- */

static int
policy_member(const char *file, int immutable, json_t *body)
{
	skr_buf text = SKR_BUF_INIT, b64 = SKR_BUF_INIT;
	int r;

	if ((r = skrctl_file_read(file, 0, &text)) == SKR_OK &&
	    (r = skr_b64url_encode(&b64, text.data, text.len)) == SKR_OK)
		json_object_set_new(body, "release_policy", json_pack(
		    "{s:s,s:s,s:b}", "contentType",
		    "application/json; charset=utf-8", "data",
		    skr_buf_cstr(&b64), "immutable", immutable));
	skr_buf_free(&text);
	skr_buf_free(&b64);
	return r;
}

static int
tag_members(const struct skrctl_args *a, json_t *body)
{
	json_t *tags = NULL;
	char k[257];
	const char *v, *eq;

	for (int i = 0; (v = skrctl_args_each(a, "tag", &i)) != NULL;) {
		eq = strchr(v, '=');
		if (eq == NULL || eq == v || (size_t)(eq - v) >= sizeof(k)) {
			json_decref(tags);
			return -1;
		}
		memcpy(k, v, (size_t)(eq - v));
		k[eq - v] = '\0';
		if (tags == NULL)
			tags = json_object();
		json_object_set_new(tags, k, json_string(eq + 1));
	}
	if (tags != NULL)
		json_object_set_new(body, "tags", tags);
	return 0;
}

static int
ops_member(const char *ops, json_t *body)
{
	json_t *arr;
	char buf[256], *tok, *save = NULL;

	if (strlen(ops) >= sizeof(buf) || (arr = json_array()) == NULL)
		return -1;
	snprintf(buf, sizeof(buf), "%s", ops);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",",
	    &save))
		json_array_append_new(arr, json_string(tok));
	json_object_set_new(body, "key_ops", arr);
	return 0;
}

/* attributes, tags, key_ops and release_policy shared by create, import
 * and update; an exit status. */
static int
common_members(const struct skrctl_args *a, json_t *body, int is_update)
{
	static const char *const times[] = { "nbf", "exp" };
	json_t *attrs = json_object();
	const char *v;
	long long t;

	if (skrctl_args_get(a, "exportable"))
		json_object_set_new(attrs, "exportable", json_true());
	if (skrctl_args_get(a, "disable"))
		json_object_set_new(attrs, "enabled", json_false());
	if (skrctl_args_get(a, "enable"))
		json_object_set_new(attrs, "enabled", json_true());
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		if ((v = skrctl_args_get(a, times[i])) == NULL)
			continue;
		if (!skrctl_args_num(v, 0, LLONG_MAX, &t)) {
			json_decref(attrs);
			return skrctl_out_usage("--nbf and --exp take a UNIX "
			    "time");
		}
		json_object_set_new(attrs, times[i], json_integer(t));
	}
	if (json_object_size(attrs) > 0 || !is_update)
		json_object_set_new(body, "attributes", attrs);
	else
		json_decref(attrs);
	if (tag_members(a, body) != 0)
		return skrctl_out_usage("--tag takes KEY=VALUE");
	if ((v = skrctl_args_get(a, "ops")) != NULL && ops_member(v, body) != 0)
		return skrctl_out_usage("--ops takes OP,OP,...");
	if ((v = skrctl_args_get(a, "policy")) != NULL &&
	    policy_member(v, skrctl_args_get(a, "immutable") != NULL, body) !=
	    SKR_OK)
		return SKRCTL_EXIT_ERR;
	return SKRCTL_EXIT_OK;
}

/* ---- commands ---------------------------------------------------------- */

int
skrctl_key_create(struct skrctl_ctx *x)
{
	json_t *body = json_object();
	const char *v;
	char *text, *out = NULL;
	skr_result res;
	long long size;
	int r;

	if ((v = skrctl_args_get(&x->a, "kty")) == NULL) {
		json_decref(body);
		return skrctl_out_usage("--kty RSA|EC|oct is required");
	}
	json_object_set_new(body, "kty", json_string(v));
	if ((v = skrctl_args_get(&x->a, "size")) != NULL) {
		if (!skrctl_args_num(v, 1, 65536, &size)) {
			json_decref(body);
			return skrctl_out_usage("--size takes a number of bits");
		}
		json_object_set_new(body, "key_size", json_integer(size));
	}
	if ((v = skrctl_args_get(&x->a, "crv")) != NULL)
		json_object_set_new(body, "crv", json_string(v));
	if ((r = common_members(&x->a, body, 0)) != SKRCTL_EXIT_OK) {
		json_decref(body);
		return r;
	}
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	r = skr_client_key_create(x->c, x->a.pos[0], text, &out, &res);
	free(text);
	return skrctl_out_finish(x->json, r, &res, out, human_bundle);
}

/* The key to import as a JWK (a new reference), from --jwk, --pem or --oct;
 * NULL with *status set when there is none. */
static json_t *
import_jwk(const struct skrctl_args *a, skr_buf *in, int *status)
{
	skr_buf b64 = SKR_BUF_INIT_SECRET;
	skr_key *k = NULL;
	json_t *jwk = NULL;
	const char *file;

	*status = SKRCTL_EXIT_ERR;
	if ((file = skrctl_args_get(a, "jwk")) != NULL) {
		if (skrctl_file_read(file, 0, in) != SKR_OK ||
		    skr_json_parse((const char *)in->data, in->len, 0, &jwk) !=
		    SKR_OK)
			skrctl_out_errorf("SKR.JWK.INVALID: %s: not a JSON web "
			    "key", file);
	} else if ((file = skrctl_args_get(a, "pem")) != NULL) {
		if (skrctl_file_read(file, 0, in) != SKR_OK ||
		    skr_key_from_pem((const char *)in->data, in->len, &k) !=
		    SKR_OK || (jwk = skr_jwk_emit(k, 1)) == NULL)
			skrctl_out_errorf("SKR.JWK.INVALID: %s: not a PEM "
			    "private key", file);
	} else if ((file = skrctl_args_get(a, "oct")) != NULL) {
		if (skrctl_file_read(file, 0, in) == SKR_OK &&
		    skr_b64url_encode(&b64, in->data, in->len) == SKR_OK)
			jwk = json_pack("{s:s,s:s}", "kty", "oct", "k",
			    skr_buf_cstr(&b64));
	} else
		*status = skrctl_out_usage("--jwk FILE, --pem FILE or --oct "
		    "FILE is required");
	skr_key_free(k);
	skr_buf_free(&b64);
	return jwk;
}

int
skrctl_key_import(struct skrctl_ctx *x)
{
	skr_buf in = SKR_BUF_INIT_SECRET;
	json_t *body = json_object(), *jwk;
	char *text = NULL, *out = NULL;
	skr_result res;
	int r;

	if ((jwk = import_jwk(&x->a, &in, &r)) == NULL)
		goto out;
	json_object_set_new(body, "key", jwk);
	if ((r = common_members(&x->a, body, 0)) != SKRCTL_EXIT_OK)
		goto out;
	text = json_dumps(body, JSON_COMPACT);
	r = skr_client_key_import(x->c, x->a.pos[0], text, &out, &res);
	r = skrctl_out_finish(x->json, r, &res, out, human_bundle);
out:
	if (text != NULL)
		skr_freezero(text, strlen(text));
	json_decref(body);
	skr_buf_free(&in);
	return r;
}

int
skrctl_key_list(struct skrctl_ctx *x)
{
	skr_result res;
	char *out = NULL;
	int r = skr_client_key_list(x->c, &out, &res);

	return skrctl_out_finish(x->json, r, &res, out, human_list);
}

int
skrctl_key_show(struct skrctl_ctx *x)
{
	skr_result res;
	char *out = NULL;
	int r = skr_client_key_get(x->c, x->a.pos[0], skrctl_args_get(&x->a,
	    "version"), &out, &res);

	return skrctl_out_finish(x->json, r, &res, out, human_bundle);
}

int
skrctl_key_versions(struct skrctl_ctx *x)
{
	skr_result res;
	char *out = NULL;
	int r = skr_client_key_versions(x->c, x->a.pos[0], &out, &res);

	return skrctl_out_finish(x->json, r, &res, out, human_list);
}

int
skrctl_key_update(struct skrctl_ctx *x)
{
	json_t *body = json_object();
	skr_result res;
	char *text, *out = NULL;
	int r;

	if (skrctl_args_get(&x->a, "remove-policy"))
		json_object_set_new(body, "release_policy", json_null());
	if ((r = common_members(&x->a, body, 1)) != SKRCTL_EXIT_OK) {
		json_decref(body);
		return r;
	}
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	r = skr_client_key_update(x->c, x->a.pos[0], skrctl_args_get(&x->a,
	    "version"), text, &out, &res);
	free(text);
	return skrctl_out_finish(x->json, r, &res, out, human_bundle);
}

/* The commands that name one key and print the bundle the server answers. */
static int
key_call(struct skrctl_ctx *x, int (*fn)(skr_client *, const char *,
    char **, skr_result *))
{
	skr_result res;
	char *out = NULL;
	int r = fn(x->c, x->a.pos[0], &out, &res);

	return skrctl_out_finish(x->json, r, &res, out, human_bundle);
}

int
skrctl_key_rotate(struct skrctl_ctx *x)
{
	return key_call(x, skr_client_key_rotate);
}

int
skrctl_key_delete(struct skrctl_ctx *x)
{
	return key_call(x, skr_client_key_delete);
}

int
skrctl_key_recover(struct skrctl_ctx *x)
{
	return key_call(x, skr_client_key_recover);
}

/* Deleted keys: all of them, or one (its recovery id and purge date). */
int
skrctl_key_deleted(struct skrctl_ctx *x)
{
	skr_result res;
	char *out = NULL;
	int r;

	if (x->a.npos > 1)
		return skrctl_out_usage("key deleted takes at most one NAME");
	if (x->a.npos == 1) {
		r = skr_client_deleted_get(x->c, x->a.pos[0], &out, &res);
		return skrctl_out_finish(x->json, r, &res, out, human_bundle);
	}
	r = skr_client_deleted_list(x->c, &out, &res);
	return skrctl_out_finish(x->json, r, &res, out, human_list);
}

int
skrctl_key_purge(struct skrctl_ctx *x)
{
	skr_result res;
	int r = skr_client_key_purge(x->c, x->a.pos[0], &res);

	if (r != SKR_OK)
		return skrctl_out_fail(r, &res);
	if (!x->json)
		printf("purged %s\n", x->a.pos[0]);
	return SKRCTL_EXIT_OK;
}

int
skrctl_key_backup(struct skrctl_ctx *x)
{
	skr_result res;
	char *out = NULL;
	const char *file = skrctl_args_get(&x->a, "out");
	int r;

	if (file == NULL)
		return skrctl_out_usage("--out FILE|- is required");
	if ((r = skr_client_key_backup(x->c, x->a.pos[0], &out, &res)) !=
	    SKR_OK)
		return skrctl_out_fail(r, &res);
	r = skrctl_file_write_secret(file, out, strlen(out),
	    skrctl_args_get(&x->a, "force") != NULL);
	free(out);
	return r == SKR_OK ? SKRCTL_EXIT_OK : SKRCTL_EXIT_ERR;
}

int
skrctl_key_restore(struct skrctl_ctx *x)
{
	skr_buf in = SKR_BUF_INIT;
	skr_result res;
	char *out = NULL;
	const char *file = skrctl_args_get(&x->a, "in");
	int r;

	if (file == NULL)
		return skrctl_out_usage("--in FILE|- is required");
	if (skrctl_file_read(file, 0, &in) != SKR_OK) {
		skr_buf_free(&in);
		return SKRCTL_EXIT_ERR;
	}
	r = skr_client_key_restore(x->c, skr_buf_cstr(&in), &out, &res);
	skr_buf_free(&in);
	return skrctl_out_finish(x->json, r, &res, out, human_bundle);
}
