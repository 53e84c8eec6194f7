/*
 * Strict JSON for everything skr reads from the outside: duplicate member
 * names are refused (they are how two parsers are made to disagree about a
 * token or policy), nesting is bounded, the input must be valid UTF-8
 * without NUL bytes and a single value with nothing after it.  Built on
 * jansson; jdoc.h reads the same language in one pass.
 */
#ifndef SKR_KEYS_JSON_H
#define SKR_KEYS_JSON_H

#include <stddef.h>

#include <jansson.h>

#define SKR_JSON_MAX_DEPTH 32

/* Parse n bytes; max_depth 0 means SKR_JSON_MAX_DEPTH.  On success *out is a
 * new reference the caller json_decref()s.  Errors: SKR_ERR_JSON,
 * SKR_ERR_JSON_DUPLICATE, SKR_ERR_JSON_DEPTH. */
int skr_json_parse(const char *s, size_t n, size_t max_depth, json_t **out);

/*
 * From now on every block jansson frees is wiped first: parsed request
 * bodies and emitted responses hold private key members, tokens and admin
 * secrets as ordinary strings.  Process-wide, so for programs (skrd,
 * skrctl), never a library; call before any JSON is made.
 */
void skr_json_wipe_on_free(void);

/* Depth of a parsed value (a scalar is 1). */
size_t skr_json_depth(const json_t *v);

/* Walk a dotted claim path ("a.b.c") through nested objects. Borrowed
 * reference or NULL when any step is missing or not an object. */
json_t *skr_json_path(const json_t *root, const char *path);

#endif
