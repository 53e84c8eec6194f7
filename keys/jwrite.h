/*
 * JSON text written straight into an skr_buf, byte for byte as jansson's
 * compact output writes it (json_dumps with JSON_COMPACT): the hot paths
 * that build responses, audit records and policy traces without a tree.
 * Where the text is hashed (audit records, traces) it must stay identical
 * to what jansson would produce, so that a record or trace dumped again by
 * jansson hashes the same (tests/keys/test_jdoc.c compares them).
 *
 * Each call appends to out and returns SKR_OK, SKR_ERR_TOO_LARGE /
 * SKR_ERR_NOMEM from the buffer, or SKR_ERR_INVAL for text that is not
 * valid UTF-8 (jansson refuses to make such a string).
 */
#ifndef SKR_KEYS_JWRITE_H
#define SKR_KEYS_JWRITE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

/* A JSON string: quotes added, '"', '\\' and control characters escaped
 * as jansson does ("\\u001F" for those without a short form). */
int skr_jw_str(skr_buf *out, const char *s, size_t n);
/* skr_jw_str of a NUL-terminated string. */
int skr_jw_cstr(skr_buf *out, const char *s);
/* "name": -- a member name and its colon. */
int skr_jw_key(skr_buf *out, const char *name);
/* An integer ("%lld"). */
int skr_jw_int(skr_buf *out, int64_t v);
/* A real as jansson writes one: "%.17g", ".0" added when it would read as
 * an integer, the exponent without '+' or leading zeros.  Not finite:
 * SKR_ERR_INVAL. */
int skr_jw_real(skr_buf *out, double v);
/* true or false. */
int skr_jw_bool(skr_buf *out, int v);

/* A jansson value as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) writes
 * it: members in the object's order. */
int skr_jw_json(skr_buf *out, const json_t *v);

/* 1 when the n bytes at s are valid UTF-8 as jansson checks it. */
int skr_utf8_valid(const char *s, size_t n);

/* Length of the valid UTF-8 sequence at s (n >= 1 bytes readable; ASCII
 * is 1), 0 when it is not one: overlong forms, surrogates and code points
 * past U+10FFFF are refused, as jansson's utf8_check_full refuses them. */
size_t skr_utf8_seq(const unsigned char *s, size_t n);

#endif
