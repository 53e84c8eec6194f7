/*
 * Structured logs: one JSON object per line on standard error, e.g.
 * {"time":"2026-11-23T00:41:02Z","level":"info","msg":"listening",...}.
 * Callers never pass secrets: no key material, bearer tokens or attestation
 * tokens (their digests are fine).
 */
#ifndef SKR_SERVER_LOG_H
#define SKR_SERVER_LOG_H

#include <jansson.h>

enum { SKR_LOG_DEBUG, SKR_LOG_INFO, SKR_LOG_WARN, SKR_LOG_ERROR };

void skr_log_set_level(int level);
/* "debug", "info", "warn", "error" -> level, or -1. */
int skr_log_level_parse(const char *s);

/* Log msg with the members of fields (may be NULL; a reference is
 * stolen). */
void skr_log(int level, const char *msg, json_t *fields);

#endif
