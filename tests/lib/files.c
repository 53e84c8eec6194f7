#include "files.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
skr_test_tmpdir(const char *base, const char *what, char *out, size_t outlen)
{
	if (base == NULL && ((base = getenv("TMPDIR")) == NULL ||
	    *base == '\0'))
		base = "/tmp";
	if ((size_t)snprintf(out, outlen, "%s/skr-%s-XXXXXX", base, what) >=
	    outlen || mkdtemp(out) == NULL) {
		fprintf(stderr, "cannot make a temporary directory in %s\n",
		    base);
		exit(1);
	}
}

static int
remove_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	/* Keep going: remove what can be removed, report the rest. */
	if (remove(path) != 0)
		fprintf(stderr, "cannot remove %s\n", path);
	return 0;
}

int
skr_test_rmrf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0;
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return lstat(path, &st) == 0 ? -1 : 0;
}

char *
skr_test_slurp(const char *path, size_t *len)
{
	FILE *f;
	char *buf = NULL, *grown;
	size_t n = 0, cap = 0, got;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	do {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((grown = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = grown;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

int
skr_test_write_file(const char *path, const char *text)
{
	size_t n = strlen(text);
	ssize_t w;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0)
		return -1;
	w = write(fd, text, n);
	if (close(fd) != 0 || w < 0 || (size_t)w != n)
		return -1;
	return 0;
}

const char *
skr_test_path(const char *dir, const char *name)
{
	static char buf[4][SKR_TEST_PATH_MAX];
	static unsigned i;
	char *o = buf[i++ % 4];

	if ((size_t)snprintf(o, sizeof(buf[0]), "%s/%s", dir, name) >=
	    sizeof(buf[0])) {
		fprintf(stderr, "path too long: %s/%s\n", dir, name);
		exit(1);
	}
	return o;
}
