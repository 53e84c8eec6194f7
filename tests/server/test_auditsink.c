/*
 * Audit sinks against a real store: records reach the file in order and
 * once, as stored; a restart resumes after the file's last record (and
 * cuts a line left half written); rotation by rename and reopen; a sink
 * that cannot open or write is reported, refuses releases only when told
 * to, and catches up once it works; a new path; standard output.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "auditsink.h"
#include "check.h"
#include "store.h"
#include "store_fixture.h"

static skr_test_store fx;
static const char *dir;
static skr_store *st;
static int64_t now = 1700000000;

static void
append(const char *event)
{
	skr_audit_rec rec = { .event = event, .outcome = "ok" };

	CHECK_OK(skr_audit_log(st, &rec, now++, NULL, NULL, NULL));
}

/* The file's text; "" when it does not exist. */
static char *
slurp(const char *path)
{
	char *text = skr_test_slurp(path, NULL);

	return text != NULL ? text : strdup("");
}

/* The seqs of the file's lines, comma-separated; every line must be a
 * record with a hash. */
static void
seqs(const char *path, char *out, size_t len)
{
	char *text = slurp(path), *line, *save = NULL;
	size_t o = 0;
	json_t *rec;

	out[0] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		rec = json_loads(line, 0, NULL);
		if (rec == NULL || !json_is_string(json_object_get(rec,
		    "hash"))) {
			o += (size_t)snprintf(out + o, len - o, "%sBAD",
			    o ? "," : "");
		} else
			o += (size_t)snprintf(out + o, len - o, "%s%lld",
			    o ? "," : "", (long long)json_integer_value(
			    json_object_get(rec, "seq")));
		json_decref(rec);
		if (o >= len)
			break;
	}
	free(text);
}

#define CHECK_SEQS(path, want) do {                                        \
		char got_[512];                                            \
		seqs(path, got_, sizeof(got_));                            \
		CHECK_STR(got_, want);                                     \
	} while (0)

static void
test_null(void)
{
	skr_auditsink_opts o;
	skr_auditsink_status s;
	skr_auditsink *k = NULL;

	memset(&o, 0, sizeof(o));
	CHECK_ERR(skr_auditsink_start(NULL, &o, &k), SKR_ERR_INVAL);
	CHECK_ERR(skr_auditsink_start(st, NULL, &k), SKR_ERR_INVAL);
	CHECK(skr_auditsink_healthy(NULL) == 1);
	CHECK(skr_auditsink_refusing(NULL) == 0);
	skr_auditsink_kick(NULL);
	skr_auditsink_reopen(NULL);
	skr_auditsink_sync(NULL);
	skr_auditsink_stop(NULL);
	CHECK_ERR(skr_auditsink_configure(NULL, &o), SKR_ERR_INVAL);
	CHECK_OK(skr_auditsink_status_get(NULL, SKR_AUDITSINK_FILE, &s));
	CHECK(!s.enabled && s.healthy);
	CHECK_ERR(skr_auditsink_status_get(NULL, 5, &s), SKR_ERR_INVAL);
	/* Nothing enabled: no thread, nothing written, healthy. */
	CHECK_OK(skr_auditsink_start(st, &o, &k));
	CHECK(k != NULL && skr_auditsink_healthy(k));
	skr_auditsink_sync(k);
	skr_auditsink_stop(k);
}

static void
test_file(void)
{
	skr_auditsink_opts o;
	skr_auditsink_status s;
	skr_auditsink *k = NULL;
	char path[128], rotated[128];
	json_t *js;
	int fd;

	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	snprintf(rotated, sizeof(rotated), "%s/audit.jsonl.1", dir);
	memset(&o, 0, sizeof(o));
	o.file = path;
	o.interval_ms = 20;

	/* Three records before the sink exists: a new file starts at the
	 * head, so they are not copied. */
	append("a");
	append("b");
	append("c");
	CHECK_OK(skr_auditsink_start(st, &o, &k));
	append("d");
	append("e");
	skr_auditsink_sync(k);
	CHECK_SEQS(path, "4,5");
	CHECK_OK(skr_auditsink_status_get(k, SKR_AUDITSINK_FILE, &s));
	CHECK(s.enabled && s.healthy && s.position == 5 && s.head == 5 &&
	    s.written == 2 && s.errors == 0);
	CHECK(skr_auditsink_healthy(k));
	js = skr_auditsink_status_json(k);
	CHECK(json_is_true(json_object_get(json_object_get(js, "file"),
	    "healthy")));
	CHECK(json_integer_value(json_object_get(json_object_get(js, "file"),
	    "lag")) == 0);
	CHECK(json_is_false(json_object_get(json_object_get(js, "stdout"),
	    "enabled")));
	json_decref(js);
	{
		struct stat sb;

		CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	}
	/* Stop drains: a record committed just before stop is written. */
	append("f");
	skr_auditsink_stop(k);
	CHECK_SEQS(path, "4,5,6");

	/* Records made while no sink ran, and a line cut short by a crash:
	 * the restart cuts the line and resumes after seq 6. */
	append("g");
	append("h");
	fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "{\"seq\":7,\"ev", 12) == 12);
	close(fd);
	CHECK_OK(skr_auditsink_start(st, &o, &k));
	skr_auditsink_sync(k);
	CHECK_SEQS(path, "4,5,6,7,8");

	/* Rotation: rename, reopen, and only new records in the new file. */
	CHECK(rename(path, rotated) == 0);
	append("i");
	skr_auditsink_sync(k);  /* still the renamed file, as logrotate expects */
	skr_auditsink_reopen(k);
	skr_auditsink_sync(k);
	append("j");
	skr_auditsink_sync(k);
	CHECK_SEQS(rotated, "4,5,6,7,8,9");
	CHECK_SEQS(path, "10");
	skr_auditsink_stop(k);
	unlink(rotated);
	unlink(path);
}

static void
test_failure(void)
{
	skr_auditsink_opts o;
	skr_auditsink_status s;
	skr_auditsink *k = NULL;
	char sub[128], path[128];
	uint64_t head;

	snprintf(sub, sizeof(sub), "%s/later", dir);
	snprintf(path, sizeof(path), "%s/later/audit.jsonl", dir);
	memset(&o, 0, sizeof(o));
	o.file = path;
	o.interval_ms = 20;

	/* The directory does not exist yet: open fails. */
	CHECK_OK(skr_auditsink_start(st, &o, &k));
	CHECK_OK(skr_auditsink_status_get(k, SKR_AUDITSINK_FILE, &s));
	head = s.position;
	append("k");
	skr_auditsink_sync(k);
	CHECK(!skr_auditsink_healthy(k));
	CHECK_OK(skr_auditsink_status_get(k, SKR_AUDITSINK_FILE, &s));
	CHECK(!s.healthy && s.errors >= 1 && s.position == head &&
	    s.head == head + 1);
	CHECK(strncmp(s.last_error, "open: ", 6) == 0);
	/* Releases go on unless configured otherwise. */
	CHECK(skr_auditsink_refusing(k) == 0);
	o.refuse = 1;
	CHECK_OK(skr_auditsink_configure(k, &o));
	skr_auditsink_sync(k);
	CHECK(skr_auditsink_refusing(k) == 1);

	/* Once the file can be opened the sink catches up. */
	CHECK(mkdir(sub, 0700) == 0);
	append("l");
	skr_auditsink_sync(k);
	CHECK(skr_auditsink_healthy(k));
	CHECK(skr_auditsink_refusing(k) == 0);
	{
		char want[64];

		snprintf(want, sizeof(want), "%llu,%llu",
		    (unsigned long long)head + 1,
		    (unsigned long long)head + 2);
		CHECK_SEQS(path, want);
	}

	/* Writes that fail (a full device) are reported and not counted. */
	o.file = "/dev/full";
	CHECK_OK(skr_auditsink_configure(k, &o));
	skr_auditsink_sync(k);
	append("m");
	skr_auditsink_sync(k);
	CHECK_OK(skr_auditsink_status_get(k, SKR_AUDITSINK_FILE, &s));
	CHECK(!s.healthy && strncmp(s.last_error, "write: ", 7) == 0);
	CHECK(s.position == head + 2);
	CHECK(skr_auditsink_refusing(k) == 1);

	/* Back to the file: it resumes after its own last record, so what
	 * /dev/full never took arrives. */
	o.file = path;
	o.refuse = 0;
	CHECK_OK(skr_auditsink_configure(k, &o));
	skr_auditsink_sync(k);
	CHECK(skr_auditsink_healthy(k));
	{
		char want[64];

		snprintf(want, sizeof(want), "%llu,%llu,%llu",
		    (unsigned long long)head + 1,
		    (unsigned long long)head + 2,
		    (unsigned long long)head + 3);
		CHECK_SEQS(path, want);
	}
	/* A FIFO nobody reads: the open fails at once rather than block
	 * the sink (and with it shutdown). */
	{
		char fifo[160];

		snprintf(fifo, sizeof(fifo), "%s/fifo", sub);
		CHECK(mkfifo(fifo, 0600) == 0);
		o.file = fifo;
		CHECK_OK(skr_auditsink_configure(k, &o));
		skr_auditsink_sync(k);
		CHECK_OK(skr_auditsink_status_get(k, SKR_AUDITSINK_FILE, &s));
		CHECK(!s.healthy && strncmp(s.last_error, "open: ", 6) == 0);
		unlink(fifo);
	}
	skr_auditsink_stop(k);
	unlink(path);
	rmdir(sub);
}

static void
test_stdout(void)
{
	skr_auditsink_opts o;
	skr_auditsink *k = NULL;
	char path[128], want[64];
	uint64_t head;
	skr_auditsink_status s;
	int fd, saved;

	snprintf(path, sizeof(path), "%s/stdout.txt", dir);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && saved >= 0 && dup2(fd, STDOUT_FILENO) >= 0);
	close(fd);

	/* Not enabled at start; a reload turns it on. */
	memset(&o, 0, sizeof(o));
	o.interval_ms = 20;
	CHECK_OK(skr_auditsink_start(st, &o, &k));
	append("n");
	o.to_stdout = 1;
	CHECK_OK(skr_auditsink_configure(k, &o));
	CHECK_OK(skr_auditsink_status_get(k, SKR_AUDITSINK_STDOUT, &s));
	head = s.position;
	append("o");
	skr_auditsink_sync(k);
	skr_auditsink_stop(k);

	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	snprintf(want, sizeof(want), "%llu", (unsigned long long)head + 1);
	CHECK_SEQS(path, want);
	unlink(path);
}

int
main(void)
{
	skr_test_store_make(&fx, "auditsink", NULL);
	dir = fx.dir;
	st = fx.store;
	test_null();
	test_file();
	test_failure();
	test_stdout();
	{
		skr_txn *txn = NULL;
		uint64_t count = 0, broken = 0;

		/* The sinks only read: the chain is intact. */
		CHECK_OK(skr_store_txn_begin(st, SKR_TXN_READ, &txn));
		CHECK_OK(skr_audit_verify(txn, &count, &broken));
		skr_store_txn_abort(txn);
		CHECK(count == (uint64_t)(now - 1700000000));
	}
	skr_test_store_free(&fx);
	return check_done();
}
