/*
 * skrctl seal-status, unseal, seal and master-key rotate: the server's
 * seal and its master key generations (docs/skrctl.1, docs/sealing.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "skr/error.h"
#include "skrctl.h"
#include "skrctl_out.h"

static void
human_status(json_t *o)
{
	json_t *rot = json_object_get(o, "rotation");

	printf("sealed      %s\n", json_is_true(json_object_get(o, "sealed")) ?
	    "yes" : "no");
	printf("type        %s\n", skrctl_out_jstr(o, "type"));
	if (json_integer_value(json_object_get(o, "threshold")) > 0)
		printf("progress    %lld of %lld shares\n", (long long)
		    json_integer_value(json_object_get(o, "progress")),
		    (long long)json_integer_value(json_object_get(o,
		    "threshold")));
	if (json_is_integer(json_object_get(o, "generation")))
		printf("generation  %lld\n", (long long)json_integer_value(
		    json_object_get(o, "generation")));
	if (json_is_object(rot))
		printf("rotation    generation %lld to %lld: %lld of %lld keys "
		    "moved\n", (long long)json_integer_value(json_object_get(rot,
		    "from")), (long long)json_integer_value(json_object_get(rot,
		    "to")), (long long)json_integer_value(json_object_get(rot,
		    "moved")), (long long)json_integer_value(json_object_get(rot,
		    "total")));
}

int
skrctl_seal_status(struct skrctl_ctx *x)
{
	skr_result res;
	char *out = NULL;
	int r = skr_client_call(x->c, "GET", "/sys/seal-status", NULL, &out,
	    &res);

	return skrctl_out_finish(x->json, r, &res, out, human_status);
}

/* One share from standard input: its first line that is not blank.  An
 * empty input asks a seal that takes no shares to open again. */
int
skrctl_unseal(struct skrctl_ctx *x)
{
	skr_result res;
	skr_buf line = SKR_BUF_INIT_SECRET;
	char *out = NULL, *body = NULL;
	json_t *o = NULL;
	int c, r;

	while ((c = getchar()) != EOF) {
		if (c == '\n') {
			if (line.len > 0)
				break;
			continue;
		}
		if (c == '\r' || skr_buf_append_byte(&line, (uint8_t)c) !=
		    SKR_OK)
			continue;
	}
	if (line.len > 0) {
		o = json_pack("{s:s%}", "share", (const char *)line.data,
		    line.len);
		body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (body == NULL) {
			skr_buf_free(&line);
			return skrctl_out_fail(SKR_ERR_NOMEM, NULL);
		}
	}
	r = skr_client_call(x->c, "POST", "/sys/unseal", body, &out, &res);
	if (body != NULL)
		skr_freezero(body, strlen(body));
	skr_buf_free(&line);
	return skrctl_out_finish(x->json, r, &res, out, human_status);
}

int
skrctl_seal(struct skrctl_ctx *x)
{
	skr_result res;
	char *out = NULL;
	int r = skr_client_call(x->c, "POST", "/sys/seal", NULL, &out, &res);

	return skrctl_out_finish(x->json, r, &res, out, human_status);
}

static void
human_rotate(json_t *o)
{
	printf("rotating to master key generation %lld; data keys move in "
	    "the background (skrctl seal-status)\n", (long long)
	    json_integer_value(json_object_get(o, "generation")));
}

int
skrctl_master_key_rotate(struct skrctl_ctx *x)
{
	skr_result res;
	char *out = NULL;
	int r = skr_client_call(x->c, "POST", "/admin/master-key/rotate", "{}",
	    &out, &res);

	return skrctl_out_finish(x->json, r, &res, out, human_rotate);
}
