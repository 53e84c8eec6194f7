#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "skr/error.h"

size_t
skr_json_depth(const json_t *v)
{
	size_t d = 0, c;
	const char *k;
	json_t *m;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, m) {
			c = skr_json_depth(m);
			if (c > d)
				d = c;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			c = skr_json_depth(m);
			if (c > d)
				d = c;
		}
	}
	return d + 1;
}

/* Counts bracket nesting before handing the text to jansson, so that hostile
 * input cannot make the recursive parser or skr_json_depth() go deep. */
static size_t
text_depth(const char *s, size_t n)
{
	size_t i, depth = 0, max = 0;
	int in_str = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if ((c == '}' || c == ']') && depth > 0)
			depth--;
	}
	return max;
}

int
skr_json_parse(const char *s, size_t n, size_t max_depth, json_t **out)
{
	json_error_t e;
	json_t *v;

	*out = NULL;
	/* Nothing is not JSON; an empty request body comes as NULL. */
	if (n == 0)
		return SKR_ERR_JSON;
	if (max_depth == 0)
		max_depth = SKR_JSON_MAX_DEPTH;
	if (text_depth(s, n) + 1 > max_depth)
		return SKR_ERR_JSON_DEPTH;
	/* A NUL byte is never JSON (RFC 8259 section 2), but jansson skips
	 * one that follows a number or a literal: refused here, so that no
	 * two readers of the same bytes can disagree. */
	if (memchr(s, '\0', n) != NULL)
		return SKR_ERR_JSON;
	v = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	if (v == NULL) {
		if (strstr(e.text, "duplicate") != NULL)
			return SKR_ERR_JSON_DUPLICATE;
		return SKR_ERR_JSON;
	}
	*out = v;
	return SKR_OK;
}

json_t *
skr_json_path(const json_t *root, const char *path)
{
	const json_t *cur = root;
	const char *p = path, *dot;
	char seg[256];
	size_t len;

	while (cur != NULL) {
		if (!json_is_object(cur))
			return NULL;
		dot = strchr(p, '.');
		len = dot ? (size_t)(dot - p) : strlen(p);
		if (len == 0 || len >= sizeof(seg))
			return NULL;
		memcpy(seg, p, len);
		seg[len] = '\0';
		cur = json_object_get(cur, seg);
		if (dot == NULL)
			return (json_t *)cur;
		p = dot + 1;
	}
	return NULL;
}

void
skr_json_wipe_on_free(void)
{
	json_set_alloc_funcs(malloc, skr_free_wiped);
}
