/*
 * Unit tests: the structured log (server/log.c).  Each line is checked
 * against what jansson's compact dump of the same object writes, the
 * reference the writer replaces: skr_log with a json_t, skr_log_fields
 * with a list; levels filtered; the leading members not overridden; text
 * that is not UTF-8 written as null without losing the rest of the line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

static FILE *cap;
static int saved_fd = -1;

/* stderr into a temporary file until capture_end. */
static void
capture_begin(void)
{
	fflush(stderr);
	cap = tmpfile();
	saved_fd = dup(2);
	if (cap == NULL || saved_fd < 0 || dup2(fileno(cap), 2) < 0) {
		fprintf(stdout, "cannot capture stderr\n");
		exit(1);
	}
}

/* What was written since capture_begin, malloc'd. */
static char *
capture_end(void)
{
	long n;
	char *s;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	n = ftell(cap);
	s = calloc(1, (size_t)n + 1);
	rewind(cap);
	if (s != NULL && n > 0 && fread(s, 1, (size_t)n, cap) != (size_t)n)
		s[0] = '\0';
	fclose(cap);
	return s;
}

/* The line jansson writes for {time, level, msg} plus fields' members not
 * already there, with the time taken from the line itself. */
static char *
reference(const char *line, const char *level, const char *msg,
    json_t *fields)
{
	json_t *got = json_loads(line, 0, NULL), *o;
	char *text;

	if (got == NULL || !json_is_string(json_object_get(got, "time")))
		return NULL;
	o = json_pack("{s:s,s:s,s:s}", "time",
	    json_string_value(json_object_get(got, "time")), "level", level,
	    "msg", msg);
	if (fields != NULL)
		json_object_update_missing(o, fields);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	json_decref(got);
	return text;
}

static void
check_line(const char *out, const char *level, const char *msg,
    json_t *fields)
{
	size_t n = strlen(out);
	char *line = strndup(out, n > 0 ? n - 1 : 0), *ref;

	CHECK(n > 0 && out[n - 1] == '\n' && strchr(out, '\n') == out + n - 1);
	ref = reference(line, level, msg, fields);
	CHECK(ref != NULL && strcmp(line, ref) == 0);
	if (ref == NULL || strcmp(line, ref) != 0)
		fprintf(stderr, "got  %s\nwant %s\n", line,
		    ref ? ref : "(none)");
	free(ref);
	free(line);
}

static void
test_skr_log(void)
{
	json_t *fields = json_pack("{s:s,s:i,s:b,s:[i,s],s:{s:n},s:s,s:f}",
	    "name", "k\"ey\\\n\x01\xc3\xa9", "count", 42, "ok", 1, "list", 7,
	    "x", "obj", "a", "msg", "not this one", "real", 0.5);
	char *out;

	capture_begin();
	skr_log(SKR_LOG_WARN, "something \"quoted\"", json_incref(fields));
	out = capture_end();
	check_line(out, "warn", "something \"quoted\"", fields);
	CHECK(strstr(out, "not this one") == NULL);
	free(out);
	json_decref(fields);

	capture_begin();
	skr_log(SKR_LOG_INFO, "bare", NULL);
	out = capture_end();
	check_line(out, "info", "bare", NULL);
	free(out);
}

static void
test_fields(void)
{
	const skr_log_field f[] = {
		SKR_LOG_STR("request_id", "c478567becd7b82f"),
		SKR_LOG_STR("peer", "127.0.0.1"),
		SKR_LOG_STR("method", "POST"),
		SKR_LOG_STR("path", "/keys/a\"b\\c\x7f\xe2\x82\xac/release"),
		SKR_LOG_STR("query", NULL),
		SKR_LOG_INT("status", 200),
		SKR_LOG_INT("big", -9007199254740993LL),
		SKR_LOG_BOOL("refused", 1),
		SKR_LOG_BOOL("quiet", 0),
	};
	const skr_log_field bad[] = {
		SKR_LOG_STR("path", "/keys/\xff\xfe"),
		SKR_LOG_INT("status", 404),
	};
	json_t *want;
	char *out;

	capture_begin();
	skr_log_fields(SKR_LOG_ERROR, "request", f, sizeof(f) / sizeof(f[0]));
	out = capture_end();
	want = json_pack("{s:s,s:s,s:s,s:s,s:i,s:I,s:b,s:b}", "request_id",
	    "c478567becd7b82f", "peer", "127.0.0.1", "method", "POST", "path",
	    "/keys/a\"b\\c\x7f\xe2\x82\xac/release", "status", 200, "big",
	    (json_int_t)-9007199254740993LL, "refused", 1, "quiet", 0);
	check_line(out, "error", "request", want);
	CHECK(strstr(out, "query") == NULL);
	json_decref(want);
	free(out);

	/* Not UTF-8: null, and the status still there. */
	capture_begin();
	skr_log_fields(SKR_LOG_INFO, "request", bad, 2);
	out = capture_end();
	want = json_pack("{s:n,s:i}", "path", "status", 404);
	check_line(out, "info", "request", want);
	json_decref(want);
	free(out);
}

static void
test_levels(void)
{
	const skr_log_field f[] = { SKR_LOG_INT("n", 1) };
	char *out;

	skr_log_set_level(SKR_LOG_WARN);
	capture_begin();
	skr_log(SKR_LOG_INFO, "hidden", json_pack("{s:i}", "n", 1));
	skr_log_fields(SKR_LOG_DEBUG, "hidden", f, 1);
	skr_log(SKR_LOG_ERROR + 1, "out of range", NULL);
	skr_log_fields(-1, "out of range", f, 1);
	skr_log_fields(SKR_LOG_WARN, "shown", f, 1);
	out = capture_end();
	CHECK(strstr(out, "hidden") == NULL);
	CHECK(strstr(out, "out of range") == NULL);
	CHECK(strstr(out, "\"msg\":\"shown\",\"n\":1}") != NULL);
	free(out);
	skr_log_set_level(SKR_LOG_INFO);
	CHECK(skr_log_level_parse("warn") == SKR_LOG_WARN);
	CHECK(skr_log_level_parse("loud") == -1);
}

int
main(void)
{
	test_skr_log();
	test_fields();
	test_levels();
	return check_done();
}
