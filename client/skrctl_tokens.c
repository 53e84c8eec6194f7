/*
 * skrctl token create, list and revoke: the server's bearer tokens
 * (docs/skrctl.1, Administration).  A new token's secret is shown once.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "json.h"
#include "skr/error.h"
#include "skrctl.h"
#include "skrctl_out.h"

/* "a,b,c" of a JSON array of strings into buf, "-" for none. */
static const char *
join(const json_t *arr, char *buf, size_t len)
{
	const json_t *v;
	size_t i, off = 0;
	int n;

	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || off >= len)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", i ? "," : "",
		    json_string_value(v));
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return buf[0] != '\0' ? buf : "-";
}

static void
human_tokens(json_t *o)
{
	char roles[256], prefixes[256];
	json_t *v;
	size_t i;

	printf("%-32s  %-20s  %-24s  %s\n", "ID", "NAME", "ROLES",
	    "PREFIXES");
	json_array_foreach(json_object_get(o, "value"), i, v)
		printf("%-32s  %-20s  %-24s  %s%s\n", skrctl_out_jstr(v, "id"),
		    skrctl_out_jstr(v, "name"), join(json_object_get(v,
		    "roles"), roles, sizeof(roles)), join(json_object_get(v,
		    "prefixes"), prefixes, sizeof(prefixes)),
		    skrctl_out_jbool(v, "revoked") ? "  (revoked)" : "");
}

/* The body of token create; NULL with *status set on a usage error. */
static json_t *
create_body(const struct skrctl_args *a, int *status)
{
	json_t *body = json_object(), *roles = json_array(),
	    *prefixes = json_array();
	const char *v;
	long long t;
	int i;

	*status = SKRCTL_EXIT_ERR;
	for (i = 0; (v = skrctl_args_each(a, "role", &i)) != NULL;)
		json_array_append_new(roles, json_string(v));
	for (i = 0; (v = skrctl_args_each(a, "prefix", &i)) != NULL;)
		json_array_append_new(prefixes, json_string(v));
	json_object_set_new(body, "roles", roles);
	json_object_set_new(body, "prefixes", prefixes);
	if (json_array_size(roles) == 0) {
		*status = skrctl_out_usage("at least one --role is required");
		goto fail;
	}
	if ((v = skrctl_args_get(a, "name")) != NULL)
		json_object_set_new(body, "name", json_string(v));
	if ((v = skrctl_args_get(a, "expires")) != NULL) {
		if (!skrctl_args_num(v, 1, LLONG_MAX, &t)) {
			*status = skrctl_out_usage("--expires takes a UNIX "
			    "time");
			goto fail;
		}
		json_object_set_new(body, "expires", json_integer(t));
	}
	return body;
fail:
	json_decref(body);
	return NULL;
}

int
skrctl_token_create(struct skrctl_ctx *x)
{
	skr_result res;
	char *text, *out = NULL;
	json_t *body, *o = NULL;
	int r;

	if ((body = create_body(&x->a, &r)) == NULL)
		return r;
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	r = skr_client_token_create(x->c, text, &out, &res);
	free(text);
	if (r != SKR_OK)
		return skrctl_out_fail(r, &res);
	if (x->json)
		printf("%s\n", out);
	else if (skr_json_parse(out, strlen(out), 0, &o) == SKR_OK &&
	    *skrctl_out_jstr(o, "token") != '\0') {
		/* The secret alone on stdout, for $(skrctl token create). */
		fprintf(stderr, SKRCTL_PROG ": token %s created; its secret is "
		    "shown once:\n", skrctl_out_jstr(o, "id"));
		printf("%s\n", skrctl_out_jstr(o, "token"));
	} else
		r = SKR_ERR_RESPONSE;
	json_decref(o);
	skr_freezero(out, strlen(out));
	return r == SKR_OK ? SKRCTL_EXIT_OK : skrctl_out_fail(r, NULL);
}

int
skrctl_token_list(struct skrctl_ctx *x)
{
	skr_result res;
	char *out = NULL;
	int r = skr_client_token_list(x->c, &out, &res);

	return skrctl_out_finish(x->json, r, &res, out, human_tokens);
}

int
skrctl_token_revoke(struct skrctl_ctx *x)
{
	skr_result res;
	int r = skr_client_token_revoke(x->c, x->a.pos[0], &res);

	if (r != SKR_OK)
		return skrctl_out_fail(r, &res);
	if (!x->json)
		printf("revoked %s\n", x->a.pos[0]);
	return SKRCTL_EXIT_OK;
}
