#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

void
skr_log(int level, const char *msg, json_t *fields)
{
	char stamp[32];
	struct tm tm;
	time_t now;
	json_t *o;
	char *text;

	if (level < atomic_load_explicit(&log_level, memory_order_relaxed)) {
		json_decref(fields);
		return;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_pack("{s:s,s:s,s:s}", "time", stamp, "level", names[level],
	    "msg", msg);
	if (o != NULL && fields != NULL)
		json_object_update_missing(o, fields);
	json_decref(fields);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return;
	}
	/* One line per record even with many threads. */
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s\n", text);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
	free(text);
	json_decref(o);
}
