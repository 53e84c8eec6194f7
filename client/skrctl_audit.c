/*
 * skrctl audit list and verify: the server's hash-chained audit log, read
 * through the server or, for verify --data, straight from a data
 * directory (docs/skrctl.1).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chain.h"
#include "buf.h"
#include "json.h"
#include "skr/error.h"
#include "skrctl.h"
#include "skrctl_out.h"

static void
human_audit(json_t *o)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "value"), i, v)
		printf("%6lld  %lld  %-16s %-20s %-8s %s\n", (long long)
		    json_integer_value(json_object_get(v, "seq")), (long long)
		    json_integer_value(json_object_get(v, "time")),
		    skrctl_out_jstr(v, "event"), *skrctl_out_jstr(v, "key") ?
		    skrctl_out_jstr(v, "key") : "-", skrctl_out_jstr(v,
		    "outcome"), skrctl_out_jstr(v, "reason"));
	if (json_integer_value(json_object_get(o, "next")) > 0)
		printf("(more: --after %lld)\n", (long long)json_integer_value(
		    json_object_get(o, "next")));
}

int
skrctl_audit_list(struct skrctl_ctx *x)
{
	static const char *const keys[] = { "key", "since", "outcome",
		"event", "after", "maxresults" };
	skr_buf q = SKR_BUF_INIT;
	skr_result res;
	char *out = NULL;
	const char *v;
	int r;

	/* The filters go into the query as they are: nothing that would
	 * start another parameter or need escaping. */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = skrctl_args_get(&x->a, keys[i])) != NULL) {
			if (strpbrk(v, "&#% ") != NULL) {
				skr_buf_free(&q);
				return skrctl_out_usage("bad filter value");
			}
			skr_buf_appendf(&q, "%s%s=%s", q.len ? "&" : "",
			    keys[i], v);
		}
	r = skr_client_audit_list(x->c, skr_buf_cstr(&q), &out, &res);
	skr_buf_free(&q);
	return skrctl_out_finish(x->json, r, &res, out, human_audit);
}

/* The chain as the server checks it: *ok, *count, *broken; an exit
 * status. */
static int
verify_on_server(struct skrctl_ctx *x, int *ok, uint64_t *count,
    uint64_t *broken)
{
	skr_result res;
	json_t *o = NULL;
	char *out = NULL;
	int r;

	if ((r = skrctl_connect(x)) != SKRCTL_EXIT_OK)
		return r;
	if ((r = skr_client_audit_verify(x->c, &out, &res)) != SKR_OK)
		return skrctl_out_fail(r, &res);
	if (skr_json_parse(out, strlen(out), 0, &o) != SKR_OK) {
		free(out);
		return skrctl_out_fail(SKR_ERR_RESPONSE, NULL);
	}
	*ok = skrctl_out_jbool(o, "ok");
	*count = (uint64_t)json_integer_value(json_object_get(o, "records"));
	*broken = (uint64_t)json_integer_value(json_object_get(o,
	    "first_broken"));
	json_decref(o);
	free(out);
	return SKRCTL_EXIT_OK;
}

int
skrctl_audit_verify(struct skrctl_ctx *x)
{
	uint64_t count = 0, broken = 0;
	const char *dir = skrctl_args_get(&x->a, "data");
	int r, ok;

	if (dir != NULL) {
		/* Offline: walk the chain in the store file itself. */
		r = skr_audit_verify_dir(dir, &count, &broken);
		if (r != SKR_OK && r != SKR_ERR_AUDIT_BROKEN)
			return skrctl_out_fail(r, NULL);
		ok = r == SKR_OK;
	} else if ((r = verify_on_server(x, &ok, &count, &broken)) !=
	    SKRCTL_EXIT_OK)
		return r;
	if (x->json) {
		if ((r = skrctl_out_json(json_pack("{s:b,s:I,s:o}", "ok", ok,
		    "records", (json_int_t)count, "first_broken", ok ?
		    json_null() : json_integer((json_int_t)broken)))) !=
		    SKR_OK)
			return skrctl_out_fail(r, NULL);
	} else if (ok)
		printf("audit chain ok: %llu records\n",
		    (unsigned long long)count);
	else
		printf("audit chain BROKEN at record %llu (of %llu checked)\n",
		    (unsigned long long)broken, (unsigned long long)count);
	return ok ? SKRCTL_EXIT_OK : SKRCTL_EXIT_ERR;
}
