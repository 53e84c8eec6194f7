#include "auditsink.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "log.h"
#include "skr/error.h"

#define DEFAULT_INTERVAL_MS 200
#define BATCH 1000
/* A record is at most SKR_AUDIT_MAX_RECORD bytes, so the last line of a
 * file fits in this much of its tail. */
#define TAIL_MAX (4 * SKR_AUDIT_MAX_RECORD)

static const char *const sink_names[SKR_AUDITSINK_COUNT] = { "file",
	"stdout" };

struct sink {
	int fd;                /* -1: closed (stdout: never closed) */
	int regular;           /* a regular file: fsync applies */
	int positioned;        /* st.position is meaningful */
	skr_auditsink_status st;
};

struct settings {
	char *file;
	int fsync;
	int to_stdout;
	int refuse;
	int interval_ms;
};

struct skr_auditsink {
	skr_store *store;
	pthread_mutex_t lock;
	pthread_cond_t wake;       /* to the thread */
	pthread_cond_t done;       /* from the thread: a pass ended */
	pthread_t thread;
	int running;
	int stop, kick, reopen;
	uint64_t passes;
	struct settings cur;       /* the thread's; read under lock */
	struct settings next;      /* pending from configure */
	int have_next;
	struct sink sinks[SKR_AUDITSINK_COUNT];
};

static void
settings_clear(struct settings *c)
{
	free(c->file);
	memset(c, 0, sizeof(*c));
}

static int
settings_from(struct settings *c, const skr_auditsink_opts *o)
{
	memset(c, 0, sizeof(*c));
	if (o->file != NULL && (c->file = strdup(o->file)) == NULL)
		return SKR_ERR_NOMEM;
	c->fsync = o->fsync;
	c->to_stdout = o->to_stdout != 0;
	c->refuse = o->refuse != 0;
	c->interval_ms = o->interval_ms > 0 ? o->interval_ms :
	    DEFAULT_INTERVAL_MS;
	return SKR_OK;
}

/* Called with s->lock held, or before the thread exists. */
static void
sink_error(struct sink *k, const char *what, int err)
{
	k->st.healthy = 0;
	k->st.errors++;
	snprintf(k->st.last_error, sizeof(k->st.last_error), "%s: %s", what,
	    strerror(err));
}

static uint64_t
chain_head(skr_store *st)
{
	skr_txn *txn = NULL;
	uint64_t seq = 0;

	if (skr_store_txn_begin(st, SKR_TXN_READ, &txn) != SKR_OK)
		return 0;
	if (skr_audit_head(txn, &seq, NULL) != SKR_OK)
		seq = 0;
	skr_store_txn_abort(txn);
	return seq;
}

/*
 * The seq of the last complete line of path, 0 when there is none.  A
 * line cut short (a crash in the middle of a write) is removed first, so
 * that the next record starts on a line of its own.
 */
static uint64_t
file_last_seq(const char *path)
{
	struct stat sb;
	char *tail = NULL, *nl, *line;
	off_t from;
	ssize_t n;
	json_t *rec;
	uint64_t seq = 0;
	int fd;

	if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
		goto out;
	from = sb.st_size > TAIL_MAX ? sb.st_size - TAIL_MAX : 0;
	if ((tail = malloc((size_t)(sb.st_size - from) + 1)) == NULL)
		goto out;
	n = pread(fd, tail, (size_t)(sb.st_size - from), from);
	if (n <= 0)
		goto out;
	tail[n] = '\0';
	if ((nl = strrchr(tail, '\n')) == NULL)
		goto out;
	if (nl[1] != '\0' && ftruncate(fd, from + (nl - tail) + 1) != 0)
		goto out;
	*nl = '\0';
	line = (line = strrchr(tail, '\n')) != NULL ? line + 1 : tail;
	rec = json_loads(line, 0, NULL);
	if (json_is_integer(json_object_get(rec, "seq")) &&
	    json_integer_value(json_object_get(rec, "seq")) > 0)
		seq = (uint64_t)json_integer_value(json_object_get(rec, "seq"));
	json_decref(rec);
out:
	free(tail);
	close(fd);
	return seq;
}

/* Where a sink (re)starts: after the last record in the file, or at the
 * head for a new file and for standard output. */
static void
position(struct skr_auditsink *s, int which, const char *path)
{
	struct sink *k = &s->sinks[which];
	uint64_t head = chain_head(s->store), last = 0;

	if (which == SKR_AUDITSINK_FILE && path != NULL)
		last = file_last_seq(path);
	if (last > head) {
		skr_log(SKR_LOG_WARN, "audit file is ahead of the store's "
		    "chain; writing from the chain's head", json_pack(
		    "{s:s,s:I,s:I}", "file", path, "file_seq", (json_int_t)last,
		    "head", (json_int_t)head));
		last = head;
	}
	pthread_mutex_lock(&s->lock);
	k->st.position = last != 0 ? last : head;
	k->st.head = head;
	k->positioned = 1;
	pthread_mutex_unlock(&s->lock);
}

static void
file_close(struct sink *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

static int
file_open(struct sink *k, const char *path)
{
	struct stat sb;
	int fd;

	/* Non-blocking only for the open: a FIFO without a reader fails
	 * (ENXIO, retried later) instead of holding the thread. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK, 0600);
	if (fd < 0)
		return errno;
	if (fcntl(fd, F_SETFL, O_WRONLY | O_APPEND) != 0) {
		close(fd);
		return errno;
	}
	k->regular = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
	k->fd = fd;
	return 0;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Write records after k's position to fd, a batch at a time.  Returns 0
 * or the errno of the first failure; *what names the step that failed.
 * Runs in the sink thread without the lock: only it changes position.
 */
static int
drain(struct skr_auditsink *s, struct sink *k, int do_fsync,
    const char **what)
{
	skr_txn *txn = NULL;
	skr_buf lines = SKR_BUF_INIT;
	json_t *recs = NULL, *rec;
	uint64_t next, last;
	off_t before = -1;
	char *text;
	size_t i;
	int err = 0;

	for (;;) {
		*what = "read";
		if (skr_store_txn_begin(s->store, SKR_TXN_READ, &txn) !=
		    SKR_OK)
			return EIO;
		if (skr_audit_query(txn, NULL, k->st.position, BATCH, &recs,
		    &next) != SKR_OK) {
			skr_store_txn_abort(txn);
			return EIO;
		}
		skr_store_txn_abort(txn);
		if (json_array_size(recs) == 0)
			break;
		skr_buf_reset(&lines);
		last = k->st.position;
		json_array_foreach(recs, i, rec) {
			text = json_dumps(rec, JSON_SORT_KEYS | JSON_COMPACT);
			if (text == NULL || skr_buf_append_str(&lines, text) !=
			    SKR_OK || skr_buf_append_byte(&lines, '\n') !=
			    SKR_OK) {
				free(text);
				err = ENOMEM;
				goto out;
			}
			free(text);
			last = (uint64_t)json_integer_value(
			    json_object_get(rec, "seq"));
		}
		json_decref(recs);
		recs = NULL;
		if (k->regular)
			before = lseek(k->fd, 0, SEEK_END);
		*what = "write";
		if ((err = write_all(k->fd, lines.data, lines.len)) != 0) {
			/* No partial line may stay behind. */
			if (before >= 0 && ftruncate(k->fd, before) != 0)
				*what = "write (and truncate)";
			goto out;
		}
		*what = "fsync";
		if (do_fsync && k->regular && fsync(k->fd) != 0) {
			err = errno;
			goto out;
		}
		pthread_mutex_lock(&s->lock);
		k->st.written += (uint64_t)(last - k->st.position);
		k->st.position = last;
		pthread_mutex_unlock(&s->lock);
		if (next == 0)
			break;
	}
out:
	json_decref(recs);
	skr_buf_free(&lines);
	return err;
}

static void
pass_one(struct skr_auditsink *s, int which, const struct settings *c)
{
	struct sink *k = &s->sinks[which];
	const char *what = "open";
	int err = 0, was;

	if (which == SKR_AUDITSINK_FILE && k->fd < 0)
		err = file_open(k, c->file);
	if (err == 0)
		err = drain(s, k, which == SKR_AUDITSINK_FILE &&
		    c->fsync == SKR_AUDITSINK_FSYNC_ALWAYS, &what);
	pthread_mutex_lock(&s->lock);
	was = k->st.healthy;
	if (err != 0)
		sink_error(k, what, err);
	else {
		k->st.healthy = 1;
		k->st.last_error[0] = '\0';
	}
	pthread_mutex_unlock(&s->lock);
	if (err != 0 && which == SKR_AUDITSINK_FILE)
		file_close(k);
	/* Log changes of state, not every failed retry. */
	if (was && err != 0)
		skr_log(SKR_LOG_ERROR, "audit sink failing", json_pack(
		    "{s:s,s:s,s:s}", "sink", sink_names[which], "step", what,
		    "error", strerror(err)));
	else if (!was && err == 0)
		skr_log(SKR_LOG_INFO, "audit sink healthy", json_pack(
		    "{s:s,s:I}", "sink", sink_names[which], "position",
		    (json_int_t)k->st.position));
}

static void
pass(struct skr_auditsink *s, const struct settings *c)
{
	uint64_t head = chain_head(s->store);

	pthread_mutex_lock(&s->lock);
	s->sinks[SKR_AUDITSINK_FILE].st.head = head;
	s->sinks[SKR_AUDITSINK_STDOUT].st.head = head;
	pthread_mutex_unlock(&s->lock);
	if (s->sinks[SKR_AUDITSINK_FILE].st.enabled)
		pass_one(s, SKR_AUDITSINK_FILE, c);
	if (s->sinks[SKR_AUDITSINK_STDOUT].st.enabled)
		pass_one(s, SKR_AUDITSINK_STDOUT, c);
}

/* Switch to settings n (the thread, after a pass with the old ones). */
static void
apply(struct skr_auditsink *s, struct settings *n)
{
	struct sink *f = &s->sinks[SKR_AUDITSINK_FILE];
	struct sink *o = &s->sinks[SKR_AUDITSINK_STDOUT];
	int same = s->cur.file != NULL && n->file != NULL &&
	    strcmp(s->cur.file, n->file) == 0;

	file_close(f);
	if (n->file != NULL && !same)
		position(s, SKR_AUDITSINK_FILE, n->file);
	if (n->to_stdout && !o->st.enabled)
		position(s, SKR_AUDITSINK_STDOUT, NULL);
	pthread_mutex_lock(&s->lock);
	if (n->file == NULL || !same) {
		f->st.healthy = 1;
		f->st.last_error[0] = '\0';
	}
	f->st.enabled = n->file != NULL;
	o->st.enabled = n->to_stdout;
	settings_clear(&s->cur);
	s->cur = *n;
	memset(n, 0, sizeof(*n));
	pthread_mutex_unlock(&s->lock);
}

static void
deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *
sink_main(void *arg)
{
	struct skr_auditsink *s = arg;
	struct settings n;
	struct timespec ts;
	sigset_t all;
	int stop, reopen, have_next;

	/* Signals are the main thread's; a closed pipe on standard output
	 * is EPIPE here, never SIGPIPE. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (!s->stop && !s->kick && !s->reopen && !s->have_next) {
			deadline(&ts, s->cur.interval_ms);
			pthread_cond_timedwait(&s->wake, &s->lock, &ts);
		}
		stop = s->stop;
		reopen = s->reopen;
		have_next = s->have_next;
		s->kick = s->reopen = s->have_next = 0;
		n = s->next;
		memset(&s->next, 0, sizeof(s->next));
		pthread_mutex_unlock(&s->lock);

		/* What is pending goes to the file it was meant for, before
		 * a rotation or a new path takes over. */
		pass(s, &s->cur);
		if (have_next)
			apply(s, &n);
		else if (reopen) {
			file_close(&s->sinks[SKR_AUDITSINK_FILE]);
			skr_log(SKR_LOG_INFO, "audit file reopened", json_pack(
			    "{s:s?}", "file", s->cur.file));
		}
		if (have_next || reopen)
			pass(s, &s->cur);
		settings_clear(&n);

		pthread_mutex_lock(&s->lock);
		s->passes++;
		pthread_cond_broadcast(&s->done);
		if (stop)
			break;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int
thread_start(struct skr_auditsink *s)
{
	if (s->running)
		return SKR_OK;
	if (pthread_create(&s->thread, NULL, sink_main, s) != 0)
		return SKR_ERR_INTERNAL;
	s->running = 1;
	return SKR_OK;
}

int
skr_auditsink_start(skr_store *st, const skr_auditsink_opts *o,
    skr_auditsink **out)
{
	struct skr_auditsink *s;
	pthread_condattr_t ca;
	int r;

	*out = NULL;
	if (st == NULL || o == NULL)
		return SKR_ERR_INVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return SKR_ERR_NOMEM;
	s->store = st;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->done, NULL);
	s->sinks[SKR_AUDITSINK_FILE].fd = -1;
	s->sinks[SKR_AUDITSINK_STDOUT].fd = STDOUT_FILENO;
	for (int i = 0; i < SKR_AUDITSINK_COUNT; i++)
		s->sinks[i].st.healthy = 1;
	if ((r = settings_from(&s->cur, o)) != SKR_OK)
		goto fail;
	/* Positions now, so that every record committed after start
	 * reaches the sinks. */
	if (s->cur.file != NULL) {
		s->sinks[SKR_AUDITSINK_FILE].st.enabled = 1;
		position(s, SKR_AUDITSINK_FILE, s->cur.file);
	}
	if (s->cur.to_stdout) {
		s->sinks[SKR_AUDITSINK_STDOUT].st.enabled = 1;
		position(s, SKR_AUDITSINK_STDOUT, NULL);
	}
	if ((s->cur.file != NULL || s->cur.to_stdout) &&
	    (r = thread_start(s)) != SKR_OK)
		goto fail;
	*out = s;
	return SKR_OK;
fail:
	skr_auditsink_stop(s);
	return r;
}

void
skr_auditsink_stop(skr_auditsink *s)
{
	if (s == NULL)
		return;
	if (s->running) {
		pthread_mutex_lock(&s->lock);
		s->stop = 1;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	file_close(&s->sinks[SKR_AUDITSINK_FILE]);
	settings_clear(&s->cur);
	settings_clear(&s->next);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->done);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void
signal_flag(skr_auditsink *s, int *flag)
{
	pthread_mutex_lock(&s->lock);
	*flag = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

void
skr_auditsink_kick(skr_auditsink *s)
{
	if (s != NULL && s->running)
		signal_flag(s, &s->kick);
}

void
skr_auditsink_reopen(skr_auditsink *s)
{
	if (s != NULL && s->running)
		signal_flag(s, &s->reopen);
}

int
skr_auditsink_configure(skr_auditsink *s, const skr_auditsink_opts *o)
{
	struct settings n;
	int r;

	if (s == NULL || o == NULL)
		return SKR_ERR_INVAL;
	if ((r = settings_from(&n, o)) != SKR_OK)
		return r;
	if (!s->running) {
		/* Nothing was enabled: no thread, nothing pending. */
		pthread_mutex_lock(&s->lock);
		settings_clear(&s->cur);
		s->cur = n;
		pthread_mutex_unlock(&s->lock);
		if (n.file != NULL) {
			s->sinks[SKR_AUDITSINK_FILE].st.enabled = 1;
			position(s, SKR_AUDITSINK_FILE, n.file);
		}
		if (n.to_stdout) {
			s->sinks[SKR_AUDITSINK_STDOUT].st.enabled = 1;
			position(s, SKR_AUDITSINK_STDOUT, NULL);
		}
		if (n.file == NULL && !n.to_stdout)
			return SKR_OK;
		return thread_start(s);
	}
	pthread_mutex_lock(&s->lock);
	settings_clear(&s->next);
	s->next = n;
	s->have_next = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return SKR_OK;
}

void
skr_auditsink_sync(skr_auditsink *s)
{
	uint64_t want;

	if (s == NULL || !s->running)
		return;
	pthread_mutex_lock(&s->lock);
	/* The pass under way may have begun before the call. */
	want = s->passes + 2;
	s->kick = 1;
	pthread_cond_signal(&s->wake);
	while (s->passes < want && !s->stop)
		pthread_cond_wait(&s->done, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

int
skr_auditsink_status_get(skr_auditsink *s, int which,
    skr_auditsink_status *st)
{
	memset(st, 0, sizeof(*st));
	if (which < 0 || which >= SKR_AUDITSINK_COUNT)
		return SKR_ERR_INVAL;
	if (s == NULL) {
		st->healthy = 1;
		return SKR_OK;
	}
	pthread_mutex_lock(&s->lock);
	*st = s->sinks[which].st;
	pthread_mutex_unlock(&s->lock);
	return SKR_OK;
}

int
skr_auditsink_healthy(skr_auditsink *s)
{
	int ok = 1;

	if (s == NULL)
		return 1;
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < SKR_AUDITSINK_COUNT; i++)
		if (s->sinks[i].st.enabled && !s->sinks[i].st.healthy)
			ok = 0;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

int
skr_auditsink_refusing(skr_auditsink *s)
{
	int r;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->lock);
	r = s->cur.refuse && s->sinks[SKR_AUDITSINK_FILE].st.enabled &&
	    !s->sinks[SKR_AUDITSINK_FILE].st.healthy;
	pthread_mutex_unlock(&s->lock);
	return r;
}

json_t *
skr_auditsink_status_json(skr_auditsink *s)
{
	skr_auditsink_status st;
	json_t *o, *e;

	if ((o = json_object()) == NULL)
		return NULL;
	for (int i = 0; i < SKR_AUDITSINK_COUNT; i++) {
		skr_auditsink_status_get(s, i, &st);
		e = json_pack("{s:b,s:b,s:I,s:I,s:I,s:s?}", "enabled",
		    st.enabled, "healthy", st.healthy, "position",
		    (json_int_t)st.position, "lag", (json_int_t)(st.head >
		    st.position ? st.head - st.position : 0), "errors",
		    (json_int_t)st.errors, "last_error", st.last_error[0] ?
		    st.last_error : NULL);
		if (e == NULL || json_object_set_new(o, sink_names[i], e) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}
