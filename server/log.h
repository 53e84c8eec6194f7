/*
 * Structured logs: one JSON object per line on standard error, e.g.
 * {"time":"2026-11-23T00:41:02Z","level":"info","msg":"listening",...}.
 * Callers never pass secrets: no key material, bearer tokens or attestation
 * tokens (their digests are fine).
 */
#ifndef SKR_SERVER_LOG_H
#define SKR_SERVER_LOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum { SKR_LOG_DEBUG, SKR_LOG_INFO, SKR_LOG_WARN, SKR_LOG_ERROR };

void skr_log_set_level(int level);
/* "debug", "info", "warn", "error" -> level, or -1. */
int skr_log_level_parse(const char *s);

/* Log msg with the members of fields (may be NULL; a reference is
 * stolen).  Members named time, level or msg are left out. */
void skr_log(int level, const char *msg, json_t *fields);

/* A member of skr_log_fields: a string (NULL: the member is left out; not
 * UTF-8: written as null), an integer or a boolean (num). */
enum { SKR_LOG_FIELD_STR, SKR_LOG_FIELD_INT, SKR_LOG_FIELD_BOOL };
typedef struct skr_log_field {
	const char *name;
	const char *str;
	int64_t num;
	int kind;
} skr_log_field;

#define SKR_LOG_STR(n, s) { (n), (s), 0, SKR_LOG_FIELD_STR }
#define SKR_LOG_INT(n, v) { (n), NULL, (v), SKR_LOG_FIELD_INT }
#define SKR_LOG_BOOL(n, v) { (n), NULL, (v), SKR_LOG_FIELD_BOOL }

/* skr_log with the n members of f, in that order, without a json_t: the
 * same line skr_log would write for them (the request lines use it). */
void skr_log_fields(int level, const char *msg, const skr_log_field *f,
    size_t n);

#endif
