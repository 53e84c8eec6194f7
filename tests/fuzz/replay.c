/*
 * Runs a libFuzzer target's input function over files and directories of
 * inputs, without libFuzzer: the committed seed corpora and crash
 * reproducers are regression tests in every build (meson test), sanitizers
 * included.  A crash or sanitizer finding fails the test; an input that is
 * handled passes.  Usage: replay_<target> DIR|FILE...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	skr_buf b = SKR_BUF_INIT;
	uint8_t chunk[4096], *copy;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (skr_buf_append(&b, chunk, n) != 0)
			break;
	fclose(f);
	/* An exact-size copy, so that ASan sees reads past the input. */
	if ((copy = malloc(b.len ? b.len : 1)) == NULL)
		return -1;
	if (b.len > 0)
		memcpy(copy, b.data, b.len);
	LLVMFuzzerTestOneInput(copy, b.len);
	free(copy);
	skr_buf_free(&b);
	return 0;
}

static int
run_path(const char *path, int *count)
{
	struct dirent *de;
	struct stat st;
	char sub[4096];
	DIR *d;
	int r = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: missing\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	if ((d = opendir(path)) == NULL)
		return -1;
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
		    (int)sizeof(sub))
			r = -1;
		else
			r = run_path(sub, count);
	}
	closedir(d);
	return r;
}

int
main(int argc, char **argv)
{
	int count = 0;

	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &count) != 0)
			return 1;
	printf("%d inputs replayed\n", count);
	return count > 0 ? 0 : 1;
}
