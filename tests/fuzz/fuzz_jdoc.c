/*
 * libFuzzer target: the one-pass JSON reader (keys/jdoc.h), held to the
 * jansson-based strict parser it stands in for.  The input is the JSON
 * text.  Both parse it; they must refuse the same inputs with the same
 * error, and for an accepted one jdoc's tree must equal jansson's and its
 * canonical text must be json_dumps' byte for byte.  A difference aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jdoc.h"
#include "json.h"
#include "skr/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
differ(const char *what)
{
	fprintf(stderr, "fuzz_jdoc: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skr_jdoc doc = SKR_JDOC_INIT;
	skr_buf mine = SKR_BUF_INIT;
	json_t *ref = NULL, *tree = NULL;
	char *theirs = NULL;
	const char *s = (const char *)data;
	int r1, r2;

	r1 = skr_jdoc_parse(&doc, s, size, 0);
	r2 = skr_json_parse(s, size, 0, &ref);
	if (r1 == SKR_ERR_NOMEM || r2 == SKR_ERR_NOMEM)
		goto out;
	if (r1 != r2)
		differ(r1 == SKR_OK ? "jdoc accepts what jansson refuses" :
		    r2 == SKR_OK ? "jdoc refuses what jansson accepts" :
		    "the two refuse with different errors");
	if (r1 != SKR_OK)
		goto out;
	if ((tree = skr_jdoc_to_json(&doc, skr_jdoc_root(&doc))) == NULL)
		goto out;
	if (!json_equal(tree, ref))
		differ("the trees differ");
	if (skr_jdoc_dump_sorted(&doc, skr_jdoc_root(&doc), &mine) !=
	    SKR_OK || (theirs = json_dumps(ref, JSON_COMPACT |
	    JSON_SORT_KEYS | JSON_ENCODE_ANY)) == NULL)
		goto out;
	if (strcmp(skr_buf_cstr(&mine), theirs) != 0)
		differ("the canonical texts differ");
	/* Lookups walk what was parsed. */
	(void)skr_jdoc_path(&doc, skr_jdoc_root(&doc), "a.b");
	(void)skr_jdoc_get(&doc, skr_jdoc_root(&doc), "target");
out:
	free(theirs);
	json_decref(tree);
	json_decref(ref);
	skr_buf_free(&mine);
	skr_jdoc_free(&doc);
	return 0;
}
