/*
 * skrctl's input files and secret output files (see skrctl_file.h).
 */
#include "skrctl_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "skr/error.h"
#include "skrctl_out.h"

#define OVERWRITE_HINT " (use --force to overwrite)"

static int
io_fail(const char *path, int err, const char *hint)
{
	skrctl_out_errorf("SKR.IO: %s: %s%s", path, strerror(err), hint);
	return SKR_ERR_IO;
}

int
skrctl_file_read(const char *path, size_t limit, skr_buf *out)
{
	char chunk[4096];
	size_t n, want;
	FILE *f;
	int r = SKR_OK;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "re")) == NULL)
		return io_fail(path, errno, "");
	for (;;) {
		want = sizeof(chunk);
		if (limit > 0 && limit - out->len < want)
			want = limit - out->len;
		if (want == 0 || (n = fread(chunk, 1, want, f)) == 0)
			break;
		if (skr_buf_append(out, chunk, n) != SKR_OK) {
			r = io_fail(path, EFBIG, "");
			break;
		}
	}
	if (r == SKR_OK && ferror(f))
		r = io_fail(path, errno != 0 ? errno : EIO, "");
	if (f != stdin)
		fclose(f);
	skr_wipe(chunk, sizeof(chunk));
	return r;
}

int
skrctl_file_read_token(const char *path, size_t limit, skr_buf *out)
{
	int r = skrctl_file_read(path, limit, out);

	while (r == SKR_OK && out->len > 0 && (out->data[out->len - 1] ==
	    '\n' || out->data[out->len - 1] == '\r' ||
	    out->data[out->len - 1] == ' '))
		out->data[--out->len] = '\0';
	return r;
}

int
skrctl_file_open_secret(struct skrctl_secret_file *f, const char *path,
    int force)
{
	const char *slash = strrchr(path, '/');
	struct stat st;
	int n;

	f->path = path;
	f->force = force;
	f->tmp[0] = '\0';
	f->fd = -1;
	if (strcmp(path, "-") == 0) {
		f->fd = STDOUT_FILENO;
		return SKR_OK;
	}
	if (!force && lstat(path, &st) == 0)
		return io_fail(path, EEXIST, OVERWRITE_HINT);
	n = slash == NULL ? snprintf(f->tmp, sizeof(f->tmp), ".%s.XXXXXX",
	    path) : snprintf(f->tmp, sizeof(f->tmp), "%.*s/.%s.XXXXXX",
	    (int)(slash - path), path, slash + 1);
	if (n < 0 || (size_t)n >= sizeof(f->tmp)) {
		f->tmp[0] = '\0';
		return io_fail(path, ENAMETOOLONG, "");
	}
	/* mkostemp creates the file 0600. */
	if ((f->fd = mkostemp(f->tmp, O_CLOEXEC)) < 0) {
		f->tmp[0] = '\0';
		return io_fail(path, errno, "");
	}
	return SKR_OK;
}

int
skrctl_file_write(struct skrctl_secret_file *f, const void *p, size_t n)
{
	const uint8_t *q = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(f->fd, q, n)) < 0) {
			if (errno == EINTR)
				continue;
			return io_fail(f->path, errno, "");
		}
		q += w;
		n -= (size_t)w;
	}
	return SKR_OK;
}

void
skrctl_file_abort(struct skrctl_secret_file *f)
{
	if (f->fd >= 0 && f->fd != STDOUT_FILENO)
		close(f->fd);
	f->fd = -1;
	if (f->tmp[0] != '\0')
		unlink(f->tmp);
	f->tmp[0] = '\0';
}

/* The new name survives a crash too: sync the directory that holds it. */
static void
sync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int dfd;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

int
skrctl_file_commit(struct skrctl_secret_file *f)
{
	struct stat st;
	int err = 0;

	if (f->fd == STDOUT_FILENO) {
		f->fd = -1;
		return fflush(stdout) == 0 ? SKR_OK : io_fail(f->path, errno,
		    "");
	}
	if (fsync(f->fd) != 0)
		err = errno;
	if (close(f->fd) != 0 && err == 0)
		err = errno;
	f->fd = -1;
	if (err == 0 && f->force && rename(f->tmp, f->path) != 0)
		err = errno;
	else if (err == 0 && !f->force && link(f->tmp, f->path) != 0) {
		/* link() never replaces a file that appeared meanwhile; on a
		 * file system without hard links, a last look and a rename. */
		if (errno == EEXIST || lstat(f->path, &st) == 0)
			err = EEXIST;
		else if (rename(f->tmp, f->path) != 0)
			err = errno;
	}
	if (err != 0) {
		skrctl_file_abort(f);
		return io_fail(f->path, err, err == EEXIST ? OVERWRITE_HINT :
		    "");
	}
	unlink(f->tmp); /* after link(); gone already after rename() */
	f->tmp[0] = '\0';
	sync_dir_of(f->path);
	return SKR_OK;
}

int
skrctl_file_write_secret(const char *path, const void *p, size_t n,
    int force)
{
	struct skrctl_secret_file f;
	int r;

	if ((r = skrctl_file_open_secret(&f, path, force)) != SKR_OK)
		return r;
	if ((r = skrctl_file_write(&f, p, n)) != SKR_OK ||
	    (r = skrctl_file_commit(&f)) != SKR_OK) {
		skrctl_file_abort(&f);
		return r;
	}
	return SKR_OK;
}
