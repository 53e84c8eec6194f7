/*
 * skrctl's files: what commands read (policies, keys, tokens, backups)
 * and the files that receive secrets (a released key, a backup, a test
 * token).  "-" is standard input or output.  Failures are reported here,
 * as "skrctl: SKR.IO: <path>: <why>", and returned as SKR_ERR_IO: callers
 * only pass the error on.
 */
#ifndef SKR_CLIENT_SKRCTL_FILE_H
#define SKR_CLIENT_SKRCTL_FILE_H

#include <limits.h>
#include <stddef.h>

#include "buf.h"

/*
 * Append the contents of path to out; a secret buffer (skr_buf_init_secret)
 * keeps a key file's bytes wiped wherever they pass.  At most limit bytes
 * are read (0: all of it; more than out's maximum is an error): a parser
 * given its own maximum plus one sees, and names, an input too large.
 */
int skrctl_file_read(const char *path, size_t limit, skr_buf *out);

/* skrctl_file_read, less the trailing newlines and spaces token files
 * usually end with. */
int skrctl_file_read_token(const char *path, size_t limit, skr_buf *out);

/*
 * A file that receives secret bytes.  They go to a new 0600 file beside
 * the target, which takes the target's name only once it is complete and
 * synced: a failed command leaves whatever was there before, and no reader
 * sees half a key.  Without force an existing target is never replaced.
 * Open, write, then commit; abort (also safe after a commit) drops the new
 * file.  The path is borrowed until then.
 */
struct skrctl_secret_file {
	const char *path;
	char tmp[PATH_MAX];
	int fd;
	int force;
};

int skrctl_file_open_secret(struct skrctl_secret_file *f, const char *path,
    int force);
int skrctl_file_write(struct skrctl_secret_file *f, const void *p, size_t n);
int skrctl_file_commit(struct skrctl_secret_file *f);
void skrctl_file_abort(struct skrctl_secret_file *f);

/* Open, write and commit in one. */
int skrctl_file_write_secret(const char *path, const void *p, size_t n,
    int force);

#endif
