#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "jwrite.h"
#include "skr/error.h"

/* Atomic: a reload (SIGHUP, main thread) sets it while every thread logs.
 * Relaxed: a record judged by the old level just before is harmless. */
static atomic_int log_level = SKR_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const names[] = { "debug", "info", "warn", "error" };

void
skr_log_set_level(int level)
{
	if (level >= SKR_LOG_DEBUG && level <= SKR_LOG_ERROR)
		atomic_store_explicit(&log_level, level,
		    memory_order_relaxed);
}

int
skr_log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/*
 * The line is written with keys/jwrite, byte for byte what jansson's
 * compact dump of the same object gives, without building one: the request
 * line is written for every request.  The time stamp is formatted once a
 * second per thread.
 */
static int
line_start(skr_buf *b, int level, const char *msg)
{
	static _Thread_local time_t last;
	static _Thread_local char stamp[32];
	time_t now = time(NULL);
	int r;

	if (now != last || stamp[0] == '\0') {
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		last = now;
	}
	if ((r = skr_buf_append_str(b, "{\"time\":")) != SKR_OK ||
	    (r = skr_jw_cstr(b, stamp)) != SKR_OK ||
	    (r = skr_buf_append_str(b, ",\"level\":")) != SKR_OK ||
	    (r = skr_jw_cstr(b, names[level])) != SKR_OK ||
	    (r = skr_buf_append_str(b, ",\"msg\":")) != SKR_OK)
		return r;
	return skr_jw_cstr(b, msg);
}

static void
line_emit(skr_buf *b)
{
	if (skr_buf_append(b, "}\n", 2) != SKR_OK)
		return;
	/* One line per record even with many threads. */
	pthread_mutex_lock(&log_lock);
	fwrite(b->data, 1, b->len, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

static int
logged(int level)
{
	return level >= SKR_LOG_DEBUG && level <= SKR_LOG_ERROR &&
	    level >= atomic_load_explicit(&log_level, memory_order_relaxed);
}

void
skr_log(int level, const char *msg, json_t *fields)
{
	skr_buf b = SKR_BUF_INIT;
	const char *k;
	json_t *v;
	int r;

	if (!logged(level) || msg == NULL) {
		json_decref(fields);
		return;
	}
	r = line_start(&b, level, msg);
	if (json_is_object(fields)) {
		json_object_foreach(fields, k, v) {
			/* The three leading members are not overridden. */
			if (strcmp(k, "time") == 0 || strcmp(k, "level") == 0 ||
			    strcmp(k, "msg") == 0)
				continue;
			if (r == SKR_OK && (r = skr_buf_append_byte(&b, ',')) ==
			    SKR_OK && (r = skr_jw_key(&b, k)) == SKR_OK)
				r = skr_jw_json(&b, v);
		}
	}
	json_decref(fields);
	if (r == SKR_OK)
		line_emit(&b);
	skr_buf_free(&b);
}

void
skr_log_fields(int level, const char *msg, const skr_log_field *f,
    size_t n)
{
	skr_buf b = SKR_BUF_INIT;
	int r;

	if (!logged(level) || msg == NULL)
		return;
	r = line_start(&b, level, msg);
	for (size_t i = 0; r == SKR_OK && i < n; i++) {
		size_t at;

		if (f[i].kind == SKR_LOG_FIELD_STR && f[i].str == NULL)
			continue;
		if ((r = skr_buf_append_byte(&b, ',')) != SKR_OK ||
		    (r = skr_jw_key(&b, f[i].name)) != SKR_OK)
			break;
		at = b.len;
		if (f[i].kind == SKR_LOG_FIELD_INT)
			r = skr_jw_int(&b, f[i].num);
		else if (f[i].kind == SKR_LOG_FIELD_BOOL)
			r = skr_jw_bool(&b, f[i].num != 0);
		else if ((r = skr_jw_cstr(&b, f[i].str)) == SKR_ERR_INVAL) {
			/* Not UTF-8 (a client's path can be anything):
			 * null, and the rest of the line still written. */
			b.len = at;
			r = skr_buf_append_str(&b, "null");
		}
	}
	if (r == SKR_OK)
		line_emit(&b);
	skr_buf_free(&b);
}
