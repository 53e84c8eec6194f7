/*
 * skrctl authority list and refresh: the attestation authorities the
 * server trusts, their key sources and refresh state (docs/skrctl.1).
 */
#include <stdio.h>

#include <jansson.h>

#include "skr/error.h"
#include "skrctl.h"
#include "skrctl_out.h"

static void
human_authorities(json_t *o)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "value"), i, v) {
		printf("%s\n", skrctl_out_jstr(v, "issuer"));
		printf("  source        %s %s\n", skrctl_out_jstr(v, "source"),
		    skrctl_out_jstr(v, "location"));
		printf("  keys          %lld\n", (long long)json_integer_value(
		    json_object_get(v, "keys")));
		printf("  last refresh  %lld\n", (long long)json_integer_value(
		    json_object_get(v, "last_refresh")));
		printf("  failures      %lld%s%s\n", (long long)
		    json_integer_value(json_object_get(v, "failures")),
		    json_is_string(json_object_get(v, "last_error")) ?
		    ", last error: " : "", skrctl_out_jstr(v, "last_error"));
	}
}

int
skrctl_authority_list(struct skrctl_ctx *x)
{
	skr_result res;
	char *out = NULL;
	int r = skr_client_authorities(x->c, &out, &res);

	return skrctl_out_finish(x->json, r, &res, out, human_authorities);
}

int
skrctl_authority_refresh(struct skrctl_ctx *x)
{
	skr_result res;
	int r = skr_client_authority_refresh(x->c, x->a.pos[0], &res);

	if (r != SKR_OK)
		return skrctl_out_fail(r, &res);
	if (!x->json)
		printf("refresh requested for %s\n", x->a.pos[0]);
	return SKRCTL_EXIT_OK;
}
