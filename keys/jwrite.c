#include "jwrite.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "skr/error.h"

size_t
skr_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	uint32_t v;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		v = c & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ||
	    (len == 3 && v < 0x800) || (len == 4 && v < 0x10000))
		return 0;
	return len;
}

int
skr_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, l;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((l = skr_utf8_seq(p + i, n - i)) == 0)
			return 0;
		i += l;
	}
	return 1;
}

int
skr_jw_str(skr_buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, l;
	char esc[8];
	int r;

	if ((r = skr_buf_reserve(out, n + 2)) != SKR_OK)
		return r;
	out->data[out->len++] = '"';
	while (i < n) {
		unsigned char c = p[i];
		const char *e;
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\') {
			if (c < 0x80)
				l = 1;
			else if ((l = skr_utf8_seq(p + i, n - i)) == 0)
				return SKR_ERR_INVAL;
			i += l;
			continue;
		}
		if (i > run && (r = skr_buf_append(out, p + run, i - run)) !=
		    SKR_OK)
			return r;
		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)c);
			e = esc;
			elen = 6;
			break;
		}
		if ((r = skr_buf_append(out, e, elen)) != SKR_OK)
			return r;
		run = ++i;
	}
	if (i > run && (r = skr_buf_append(out, p + run, i - run)) != SKR_OK)
		return r;
	return skr_buf_append_byte(out, '"');
}

int
skr_jw_cstr(skr_buf *out, const char *s)
{
	return skr_jw_str(out, s, strlen(s));
}

int
skr_jw_key(skr_buf *out, const char *name)
{
	int r;

	if ((r = skr_jw_cstr(out, name)) != SKR_OK)
		return r;
	return skr_buf_append_byte(out, ':');
}

int
skr_jw_int(skr_buf *out, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);

	return skr_buf_append(out, tmp, (size_t)n);
}

int
skr_jw_real(skr_buf *out, double v)
{
	char tmp[64], *e, *start, *end;
	int n;

	if (!isfinite(v))
		return SKR_ERR_INVAL;
	n = snprintf(tmp, sizeof(tmp), "%.17g", v);
	if (n < 0 || (size_t)n + 3 >= sizeof(tmp))
		return SKR_ERR_INVAL;
	/* A real must not read back as an integer. */
	if (strchr(tmp, '.') == NULL && strchr(tmp, 'e') == NULL) {
		memcpy(tmp + n, ".0", 3);
		n += 2;
	}
	/* No '+' and no leading zeros in the exponent. */
	if ((e = strchr(tmp, 'e')) != NULL) {
		start = e + 1;
		end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, (size_t)n - (size_t)(end - tmp) + 1);
			n -= (int)(end - start);
		}
	}
	return skr_buf_append(out, tmp, (size_t)n);
}

int
skr_jw_bool(skr_buf *out, int v)
{
	return v ? skr_buf_append(out, "true", 4) :
	    skr_buf_append(out, "false", 5);
}

int
skr_jw_json(skr_buf *out, const json_t *v)
{
	const char *k;
	json_t *m;
	size_t i;
	int r = SKR_OK, first = 1;

	switch (json_typeof(v)) {
	case JSON_NULL: return skr_buf_append(out, "null", 4);
	case JSON_TRUE: return skr_jw_bool(out, 1);
	case JSON_FALSE: return skr_jw_bool(out, 0);
	case JSON_INTEGER: return skr_jw_int(out, json_integer_value(v));
	case JSON_REAL: return skr_jw_real(out, json_real_value(v));
	case JSON_STRING:
		return skr_jw_str(out, json_string_value(v),
		    json_string_length(v));
	case JSON_ARRAY:
		if ((r = skr_buf_append_byte(out, '[')) != SKR_OK)
			return r;
		json_array_foreach(v, i, m) {
			if ((i > 0 && (r = skr_buf_append_byte(out, ',')) !=
			    SKR_OK) || (r = skr_jw_json(out, m)) != SKR_OK)
				return r;
		}
		return skr_buf_append_byte(out, ']');
	case JSON_OBJECT:
		if ((r = skr_buf_append_byte(out, '{')) != SKR_OK)
			return r;
		json_object_foreach((json_t *)v, k, m) {
			if ((!first && (r = skr_buf_append_byte(out, ',')) !=
			    SKR_OK) || (r = skr_jw_key(out, k)) != SKR_OK ||
			    (r = skr_jw_json(out, m)) != SKR_OK)
				return r;
			first = 0;
		}
		return skr_buf_append_byte(out, '}');
	}
	return SKR_ERR_INVAL;
}
