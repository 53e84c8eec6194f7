#include "sealdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "encoding.h"
#include "guard.h"
#include "random.h"
#include "seal_kinds.h"
#include "skr/error.h"

#define LEGACY_BLOB "master.key"
#define BLOB_PREFIX "keyring-"
#define SETTINGS_TMP SKR_SEAL_SETTINGS ".tmp"
#define SETTINGS_MAX (64 * 1024)
#define BLOB_MAX (64 * 1024)

struct skr_sealdir {
	char *dir;
	const skr_seal_kind *kind;
	void *ctx;
	json_t *settings; /* the whole of seal.json */
};

static const skr_seal_kind *const kinds[] = {
	&skr__seal_file,
	&skr__seal_pkcs11,
	&skr__seal_tpm2,
	&skr__seal_shamir,
};

void
skr_seal_crash_point(const char *name)
{
#ifdef SKR_TEST_CLOCK
	const char *want = getenv("SKR_TEST_CRASH");

	if (want != NULL && strcmp(want, name) == 0)
		raise(SIGKILL);
#else
	(void)name;
#endif
}

static const skr_seal_kind *
kind_find(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (name != NULL && strcmp(kinds[i]->name, name) == 0)
			return kinds[i];
	return NULL;
}

static int
path_of(const char *dir, const char *name, char out[PATH_MAX])
{
	return snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX ?
	    SKR_OK : SKR_ERR_INVAL;
}

static int
fsync_dir(const char *dir)
{
	int fd, r = SKR_OK;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return SKR_ERR_IO;
	if (fsync(fd) != 0)
		r = SKR_ERR_IO;
	close(fd);
	return r;
}

/* Write a new file (never over an existing one), mode 0600, synced. */
static int
write_new(const char *path, const void *p, size_t n)
{
	const uint8_t *q = p;
	ssize_t w;
	int fd, r = SKR_OK;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return errno == EEXIST ? SKR_ERR_CONFLICT : SKR_ERR_IO;
	while (n > 0 && r == SKR_OK) {
		w = write(fd, q, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			r = SKR_ERR_IO;
		else {
			q += w;
			n -= (size_t)w;
		}
	}
	if (r == SKR_OK && fsync(fd) != 0)
		r = SKR_ERR_IO;
	if (close(fd) != 0)
		r = SKR_ERR_IO;
	if (r != SKR_OK)
		(void)unlink(path);
	return r;
}

/* A regular file of at most max bytes, into out. */
static int
read_file(const char *path, size_t max, skr_buf *out)
{
	struct stat sb;
	uint8_t tmp[4096];
	ssize_t n;
	int fd, r = SKR_OK;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? SKR_ERR_NOT_FOUND : SKR_ERR_IO;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (size_t)sb.st_size > max) {
		close(fd);
		return SKR_ERR_MASTER_KEY;
	}
	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = SKR_ERR_IO;
			break;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > max ||
		    skr_buf_append(out, tmp, (size_t)n) != SKR_OK) {
			r = SKR_ERR_MASTER_KEY;
			break;
		}
	}
	skr_wipe(tmp, sizeof(tmp));
	close(fd);
	return r;
}

/* Overwrite a file that held key material before unlinking it (best
 * effort: a journal or an SSD may keep older copies). */
static void
remove_wiped(const char *path)
{
	static const uint8_t zero[4096];
	struct stat sb;
	off_t left;
	int fd;

	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
			for (left = sb.st_size; left > 0; ) {
				ssize_t w = write(fd, zero, left >
				    (off_t)sizeof(zero) ? sizeof(zero) :
				    (size_t)left);
				if (w <= 0)
					break;
				left -= w;
			}
			(void)fsync(fd);
		}
		close(fd);
	}
	(void)unlink(path);
}

/* A blob name seal.json may give: a plain file name of this directory. */
static int
blob_name_ok(const char *s)
{
	return s != NULL && *s != '\0' && *s != '.' && strchr(s, '/') == NULL &&
	    strlen(s) < 128;
}

/* Write blob under a fresh name into dir; *name: caller frees. */
static int
blob_write(const char *dir, const skr_buf *blob, char **name)
{
	uint8_t rnd[8];
	char hex[17], fname[64], path[PATH_MAX] = "";
	int r;

	*name = NULL;
	SKR_GUARD(skr_random(rnd, sizeof(rnd)));
	skr_hex_text(hex, rnd, sizeof(rnd));
	snprintf(fname, sizeof(fname), BLOB_PREFIX "%s.sealed", hex);
	SKR_GUARD(path_of(dir, fname, path));
	SKR_GUARD(write_new(path, blob->data, blob->len));
	SKR_GUARD(fsync_dir(dir));
	SKR_ENSURE((*name = strdup(fname)) != NULL, SKR_ERR_NOMEM);
out:
	if (r != SKR_OK && *name == NULL && path[0] != '\0')
		(void)unlink(path);
	return r;
}

/* The commit point: seal.json replaced by one rename. */
static int
settings_commit(const char *dir, const json_t *settings)
{
	char tmp[PATH_MAX], dst[PATH_MAX], *text = NULL;
	int r;

	SKR_GUARD(path_of(dir, SETTINGS_TMP, tmp));
	SKR_GUARD(path_of(dir, SKR_SEAL_SETTINGS, dst));
	text = json_dumps(settings, JSON_INDENT(2) | JSON_SORT_KEYS);
	SKR_ENSURE(text != NULL, SKR_ERR_NOMEM);
	(void)unlink(tmp);
	SKR_GUARD(write_new(tmp, text, strlen(text)));
	skr_seal_crash_point("seal:settings-written");
	SKR_ENSURE(rename(tmp, dst) == 0, SKR_ERR_IO);
	SKR_GUARD(fsync_dir(dir));
	skr_seal_crash_point("seal:committed");
out:
	free(text);
	return r;
}

/* Remove what no commit names any more: older blobs, a key file a
 * migration replaced, a settings file that was never renamed. */
static void
cleanup(const char *dir, const char *keep)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;

		if (keep != NULL && strcmp(n, keep) == 0)
			continue;
		if (strncmp(n, BLOB_PREFIX, sizeof(BLOB_PREFIX) - 1) != 0 &&
		    strcmp(n, LEGACY_BLOB) != 0 && strcmp(n, SETTINGS_TMP) != 0)
			continue;
		if (path_of(dir, n, path) == SKR_OK)
			remove_wiped(path);
	}
	closedir(d);
	(void)fsync_dir(dir);
}

static int
settings_load(const char *dir, json_t **out)
{
	char path[PATH_MAX];
	skr_buf text = SKR_BUF_INIT;
	json_t *s = NULL;
	int r;

	*out = NULL;
	SKR_GUARD(path_of(dir, SKR_SEAL_SETTINGS, path));
	r = read_file(path, SETTINGS_MAX, &text);
	if (r == SKR_ERR_NOT_FOUND) {
		/* Before seals: the key file beside the store. */
		s = json_pack("{s:i,s:s,s:s}", "version", 1, "type", "file",
		    "blob", LEGACY_BLOB);
		SKR_ENSURE(s != NULL, SKR_ERR_NOMEM);
		r = SKR_OK;
	} else {
		SKR_ENSURE(r != SKR_ERR_MASTER_KEY, SKR_ERR_CONFIG);
		SKR_GUARD(r);
		s = json_loadb((const char *)text.data, text.len,
		    JSON_REJECT_DUPLICATES, NULL);
		SKR_ENSURE(s != NULL && json_is_object(s), SKR_ERR_CONFIG);
	}
	SKR_ENSURE(json_integer_value(json_object_get(s, "version")) == 1 &&
	    kind_find(json_string_value(json_object_get(s, "type"))) != NULL &&
	    blob_name_ok(json_string_value(json_object_get(s, "blob"))),
	    SKR_ERR_CONFIG);
	*out = s;
	s = NULL;
out:
	json_decref(s);
	skr_buf_free(&text);
	return r;
}

/* The kind's own settings object of s (an empty one when absent). */
static json_t *
kind_settings(json_t *s, const char *kind)
{
	json_t *k = json_object_get(s, kind);

	return json_is_object(k) ? k : NULL;
}

/* A new seal of the kind o names, sealing kr: the blob written, the new
 * settings in *settings (not yet committed). */
static int
seal_new(const char *dir, const skr_seal_opts *o, const skr_keyring *kr,
    skr_seal_shares *shares, const skr_seal_kind **kind_out, void **ctx_out,
    json_t **settings)
{
	const skr_seal_kind *kind = kind_find(o->type != NULL ? o->type :
	    "file");
	skr_buf pt = SKR_BUF_INIT_SECRET, blob = SKR_BUF_INIT;
	json_t *s = NULL, *ks = NULL;
	void *ctx = NULL;
	char *name = NULL;
	int r;

	*ctx_out = NULL;
	*settings = NULL;
	SKR_ENSURE(kind != NULL, SKR_ERR_CONFIG);
	SKR_ENSURE((ks = json_object()) != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(kind->create(o, ks, &ctx, shares));
	SKR_GUARD(skr_keyring_encode(kr, &pt));
	SKR_GUARD(kind->ops->wrap(ctx, pt.data, pt.len, &blob));
	SKR_GUARD(blob_write(dir, &blob, &name));
	skr_seal_crash_point("seal:blob-written");
	s = json_pack("{s:i,s:s,s:s,s:O}", "version", 1, "type", kind->name,
	    "blob", name, kind->name, ks);
	SKR_ENSURE(s != NULL, SKR_ERR_NOMEM);
	*kind_out = kind;
	*ctx_out = ctx;
	ctx = NULL;
	*settings = s;
	s = NULL;
out:
	if (r != SKR_OK && name != NULL) {
		char path[PATH_MAX];

		if (path_of(dir, name, path) == SKR_OK)
			(void)unlink(path);
	}
	if (ctx != NULL)
		kind->ops->free(ctx);
	free(name);
	json_decref(s);
	json_decref(ks);
	skr_buf_free(&pt);
	skr_buf_free(&blob);
	return r;
}

int
skr_sealdir_create(const char *dir, const skr_seal_opts *o,
    const skr_keyring *kr, skr_seal_shares *shares)
{
	const skr_seal_kind *kind;
	char path[PATH_MAX];
	json_t *s = NULL;
	void *ctx = NULL;
	int r;

	SKR_GUARD(path_of(dir, SKR_SEAL_SETTINGS, path));
	SKR_ENSURE(access(path, F_OK) != 0, SKR_ERR_CONFLICT);
	SKR_GUARD(path_of(dir, LEGACY_BLOB, path));
	SKR_ENSURE(access(path, F_OK) != 0, SKR_ERR_CONFLICT);
	SKR_GUARD(seal_new(dir, o, kr, shares, &kind, &ctx, &s));
	SKR_GUARD(settings_commit(dir, s));
out:
	if (ctx != NULL)
		kind->ops->free(ctx);
	json_decref(s);
	return r;
}

int
skr_sealdir_open(const char *dir, const skr_seal_opts *o, skr_sealdir **out)
{
	skr_sealdir *sd = NULL;
	skr_seal_opts none;
	int r;

	*out = NULL;
	if (o == NULL) {
		memset(&none, 0, sizeof(none));
		o = &none;
	}
	SKR_ENSURE((sd = calloc(1, sizeof(*sd))) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE((sd->dir = strdup(dir)) != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(settings_load(dir, &sd->settings));
	sd->kind = kind_find(json_string_value(json_object_get(sd->settings,
	    "type")));
	SKR_GUARD(sd->kind->open(kind_settings(sd->settings, sd->kind->name),
	    o, &sd->ctx));
	/* A change that crashed before or after its commit left files. */
	cleanup(dir, json_string_value(json_object_get(sd->settings, "blob")));
	*out = sd;
	sd = NULL;
out:
	skr_sealdir_free(sd);
	return r;
}

const char *
skr_sealdir_type(const skr_sealdir *sd)
{
	return sd->kind->name;
}

int
skr_sealdir_load(skr_sealdir *sd, skr_keyring *kr)
{
	skr_buf blob = SKR_BUF_INIT, pt = SKR_BUF_INIT_SECRET;
	char path[PATH_MAX];
	int r;

	memset(kr, 0, sizeof(*kr));
	SKR_GUARD(path_of(sd->dir, json_string_value(json_object_get(
	    sd->settings, "blob")), path));
	r = read_file(path, BLOB_MAX, &blob);
	if (r == SKR_ERR_NOT_FOUND || r == SKR_ERR_IO)
		r = SKR_ERR_MASTER_KEY;
	SKR_GUARD(r);
	SKR_GUARD(sd->kind->ops->unwrap(sd->ctx, blob.data, blob.len, &pt));
	SKR_GUARD(skr_keyring_decode(pt.data, pt.len, kr));
out:
	skr_buf_free(&blob);
	skr_buf_free(&pt);
	return r;
}

int
skr_sealdir_store(skr_sealdir *sd, const skr_keyring *kr)
{
	skr_buf pt = SKR_BUF_INIT_SECRET, blob = SKR_BUF_INIT;
	json_t *s = NULL;
	char *name = NULL;
	int r;

	SKR_GUARD(skr_keyring_encode(kr, &pt));
	SKR_GUARD(sd->kind->ops->wrap(sd->ctx, pt.data, pt.len, &blob));
	SKR_GUARD(blob_write(sd->dir, &blob, &name));
	SKR_ENSURE((s = json_deep_copy(sd->settings)) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(json_object_set_new(s, "blob", json_string(name)) == 0,
	    SKR_ERR_NOMEM);
	SKR_GUARD(settings_commit(sd->dir, s));
	json_decref(sd->settings);
	sd->settings = s;
	s = NULL;
	cleanup(sd->dir, name);
out:
	if (r != SKR_OK && name != NULL) {
		char path[PATH_MAX];

		if (path_of(sd->dir, name, path) == SKR_OK)
			(void)unlink(path);
	}
	free(name);
	json_decref(s);
	skr_buf_free(&pt);
	skr_buf_free(&blob);
	return r;
}

int
skr_sealdir_migrate(skr_sealdir *sd, const skr_seal_opts *o,
    skr_seal_show_fn show, void *arg)
{
	skr_seal_shares shares;
	const skr_seal_kind *kind = kind_find(o->type != NULL ? o->type :
	    "file");
	skr_keyring kr;
	json_t *s = NULL;
	void *ctx = NULL;
	int r;

	memset(&kr, 0, sizeof(kr));
	memset(&shares, 0, sizeof(shares));
	SKR_ENSURE(kind != NULL, SKR_ERR_CONFIG);
	SKR_ENSURE(kind != sd->kind || !kind->same(kind_settings(sd->settings,
	    kind->name), o), SKR_ERR_SEAL_SAME);
	SKR_GUARD(skr_sealdir_load(sd, &kr));
	SKR_GUARD(seal_new(sd->dir, o, &kr, &shares, &kind, &ctx, &s));
	if (shares.n > 0) {
		SKR_ENSURE(show != NULL, SKR_ERR_INVAL);
		if ((r = show(arg, &shares)) != SKR_OK) {
			char path[PATH_MAX];

			/* Nobody has the shares: the new blob goes. */
			if (path_of(sd->dir, json_string_value(json_object_get(
			    s, "blob")), path) == SKR_OK)
				(void)unlink(path);
			goto out;
		}
	}
	SKR_GUARD(settings_commit(sd->dir, s));
	sd->kind->ops->free(sd->ctx);
	sd->kind = kind;
	sd->ctx = ctx;
	ctx = NULL;
	json_decref(sd->settings);
	sd->settings = s;
	s = NULL;
	cleanup(sd->dir, json_string_value(json_object_get(sd->settings,
	    "blob")));
out:
	skr_wipe(&shares, sizeof(shares));
	if (ctx != NULL)
		kind->ops->free(ctx);
	json_decref(s);
	skr_keyring_clear(&kr);
	return r;
}

int
skr_sealdir_give_share(skr_sealdir *sd, const char *text, size_t len,
    int *complete)
{
	*complete = 0;
	if (sd->kind != &skr__seal_shamir)
		return SKR_ERR_NOT_SEALED;
	return skr__shamir_give(sd->ctx, text, len, complete);
}

void
skr_sealdir_status(skr_sealdir *sd, int *needs, int *threshold,
    int *progress)
{
	*needs = *threshold = *progress = 0;
	if (sd->kind == &skr__seal_shamir)
		skr__shamir_status(sd->ctx, needs, threshold, progress);
}

void
skr_sealdir_forget(skr_sealdir *sd)
{
	if (sd != NULL && sd->kind == &skr__seal_shamir)
		skr__shamir_forget(sd->ctx);
}

void
skr_sealdir_free(skr_sealdir *sd)
{
	if (sd == NULL)
		return;
	if (sd->kind != NULL && sd->ctx != NULL)
		sd->kind->ops->free(sd->ctx);
	json_decref(sd->settings);
	free(sd->dir);
	free(sd);
}
