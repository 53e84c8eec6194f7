/*
 * Files for tests: private temporary directories, removed with everything
 * in them, and whole files read or written at once.  Plain C and POSIX, so
 * that every test may link it, the client's included.
 */
#ifndef SKR_TESTS_FILES_H
#define SKR_TESTS_FILES_H

#include <stddef.h>

/* Room for any path these helpers make. */
#define SKR_TEST_PATH_MAX 256

/*
 * Make a new private directory base/skr-<what>-XXXXXX (base NULL: $TMPDIR,
 * else /tmp) and write its path to out (outlen bytes).  Exits the test
 * with status 1 when it cannot: a test without its directory cannot run.
 */
void skr_test_tmpdir(const char *base, const char *what, char *out,
    size_t outlen);

/* Remove path and, for a directory, everything below it, without following
 * symbolic links.  0 (also when path is absent), or -1 when something was
 * left. */
int skr_test_rmrf(const char *path);

/* The whole file with a NUL after it; the caller frees.  *len (may be NULL)
 * is its length without the NUL.  NULL when it cannot be read. */
char *skr_test_slurp(const char *path, size_t *len);

/* Write text to path, created (mode 0600) or truncated.  0 or -1. */
int skr_test_write_file(const char *path, const char *text);

/* "dir/name" in one of four static buffers used in turn: valid until the
 * fourth call after this one.  Exits 1 when it does not fit. */
const char *skr_test_path(const char *dir, const char *name);

#endif
