/*
 * Audit sinks: copies of the audit chain outside LMDB, for log shipping --
 * a JSON-lines file and standard output.  The LMDB chain stays the
 * authoritative record (audit.h); a sink never holds back a change.
 *
 * One thread per skrd follows the chain: every interval (and at once after
 * skr_auditsink_kick) it reads the records past the last one each sink has
 * written and appends them, one record per line, exactly as stored (the
 * canonical text with seq, time, prev and hash, so a line can be checked
 * against the chain).  Records therefore reach a sink in order, once, and
 * only after their transaction committed.
 *
 * File sink: opened O_APPEND, mode 0600.  fsync policy "always" syncs the
 * file after each batch before the batch counts as written; "never" leaves
 * it to the kernel.  On start (and when the path changes) it resumes after
 * the last record already in the file; a new or empty file starts at the
 * chain's head.  A failed write is cut back off the file (so no partial
 * line stays) and retried on the next pass: a sink that fails falls behind
 * and catches up from LMDB once it works again.  skr_auditsink_reopen
 * (SIGHUP) closes and reopens the path, for log rotation by rename.
 *
 * Standard output: starts at the chain's head when skrd starts.
 */
#ifndef SKR_SERVER_AUDITSINK_H
#define SKR_SERVER_AUDITSINK_H

#include <stdint.h>

#include <jansson.h>

#include "store.h"

#define SKR_AUDITSINK_FSYNC_ALWAYS 0
#define SKR_AUDITSINK_FSYNC_NEVER 1

#define SKR_AUDITSINK_FILE 0
#define SKR_AUDITSINK_STDOUT 1
#define SKR_AUDITSINK_COUNT 2

typedef struct skr_auditsink_opts {
	const char *file;      /* JSON-lines path, or NULL for none; copied */
	int fsync;             /* SKR_AUDITSINK_FSYNC_* */
	int to_stdout;         /* also write records to standard output */
	int refuse;            /* releases are refused while the file sink
	                        * fails (default 0: they continue) */
	int interval_ms;       /* how often to look for records; 0: 200 */
} skr_auditsink_opts;

typedef struct skr_auditsink skr_auditsink;

/* One sink's state for /readyz and /metrics. */
typedef struct skr_auditsink_status {
	int enabled;
	int healthy;           /* the last open and write worked */
	uint64_t position;     /* seq of the last record written */
	uint64_t head;         /* chain head at the last pass */
	uint64_t written;      /* records written since start */
	uint64_t errors;       /* failed opens, writes and syncs */
	char last_error[128];  /* "" when none; never holds record text */
} skr_auditsink_status;

/*
 * Start following st's audit chain (st borrowed: it must outlive the sink)
 * with o.  With no sink enabled no thread is started.  *out: caller frees
 * with skr_auditsink_stop.
 */
int skr_auditsink_start(skr_store *st, const skr_auditsink_opts *o,
    skr_auditsink **out);
/* Write what is pending (one last pass), stop the thread, close, free.
 * s may be NULL. */
void skr_auditsink_stop(skr_auditsink *s);

/* Look for new records now rather than at the next interval.  Cheap; s may
 * be NULL. */
void skr_auditsink_kick(skr_auditsink *s);
/* Close and reopen the file (log rotation).  s may be NULL. */
void skr_auditsink_reopen(skr_auditsink *s);
/*
 * New settings (SIGHUP reload), applied by the sink's thread after it has
 * written what was pending to the old destinations; the file is reopened
 * either way.  Starts the thread if no sink was enabled before.
 */
int skr_auditsink_configure(skr_auditsink *s, const skr_auditsink_opts *o);

/* Wait until the sink's thread has finished one pass begun after this
 * call (tests, shutdown).  Returns at once without a thread. */
void skr_auditsink_sync(skr_auditsink *s);

int skr_auditsink_status_get(skr_auditsink *s, int which,
    skr_auditsink_status *st);
/* 1 when every enabled sink is healthy (and for NULL). */
int skr_auditsink_healthy(skr_auditsink *s);
/* 1 when releases must be refused: the file sink fails and o.refuse is
 * set. */
int skr_auditsink_refusing(skr_auditsink *s);
/* {"file":{"enabled":..,"healthy":..,"position":..,"lag":..,
 * "last_error":..},"stdout":{...}}: new reference, NULL on no memory. */
json_t *skr_auditsink_status_json(skr_auditsink *s);

#endif
