#include "masterkey.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "buf.h"
#include "guard.h"
#include "random.h"
#include "skr/error.h"

/*
 * The key sits in a private anonymous mapping of its own: mlock keeps it out
 * of swap (best effort: RLIMIT_MEMLOCK may forbid it, which is not fatal),
 * MADV_DONTDUMP keeps it out of core files.
 */
struct skr_master_key {
	uint8_t *page;   /* mapping of pagelen bytes; the key at its start */
	size_t pagelen;
	int locked;
};

static int
mk_alloc(skr_master_key **out)
{
	skr_master_key *mk;
	long ps;

	*out = NULL;
	if ((mk = calloc(1, sizeof(*mk))) == NULL)
		return SKR_ERR_NOMEM;
	ps = sysconf(_SC_PAGESIZE);
	mk->pagelen = ps > 0 ? (size_t)ps : 4096;
	mk->page = mmap(NULL, mk->pagelen, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mk->page == MAP_FAILED) {
		free(mk);
		return SKR_ERR_NOMEM;
	}
#ifdef MADV_DONTDUMP
	(void)madvise(mk->page, mk->pagelen, MADV_DONTDUMP);
#endif
	mk->locked = mlock(mk->page, mk->pagelen) == 0;
	*out = mk;
	return SKR_OK;
}

void
skr_master_key_free(skr_master_key *mk)
{
	if (mk == NULL)
		return;
	skr_wipe(mk->page, mk->pagelen);
	if (mk->locked)
		(void)munlock(mk->page, mk->pagelen);
	(void)munmap(mk->page, mk->pagelen);
	free(mk);
}

int
skr_master_key_from_bytes(const uint8_t *p, size_t n, skr_master_key **out)
{
	skr_master_key *mk;
	int r;

	*out = NULL;
	if (p == NULL || n != SKR_MASTER_KEY_LEN)
		return SKR_ERR_INVAL;
	if ((r = mk_alloc(&mk)) != SKR_OK)
		return r;
	memcpy(mk->page, p, n);
	*out = mk;
	return SKR_OK;
}

int
skr_master_key_generate(skr_master_key **out)
{
	skr_master_key *mk = NULL;
	int r;

	*out = NULL;
	SKR_GUARD(mk_alloc(&mk));
	SKR_GUARD(skr_random(mk->page, SKR_MASTER_KEY_LEN));
	*out = mk;
	mk = NULL;
out:
	skr_master_key_free(mk);
	return r;
}

const uint8_t *
skr_master_key_bytes(const skr_master_key *mk)
{
	return mk->page;
}

int
skr_master_key_derive(const skr_master_key *mk, const uint8_t *salt,
    size_t saltlen, const char *info, skr_master_key **out)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5], *p = params;
	skr_master_key *dk = NULL;
	int r;

	*out = NULL;
	if (mk == NULL || info == NULL)
		return SKR_ERR_INVAL;
	SKR_GUARD(mk_alloc(&dk));
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	SKR_ENSURE(kdf != NULL, SKR_ERR_CRYPTO);
	kctx = EVP_KDF_CTX_new(kdf);
	SKR_ENSURE(kctx != NULL, SKR_ERR_CRYPTO);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)mk->page, SKR_MASTER_KEY_LEN);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)info, strlen(info));
	if (salt != NULL && saltlen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)salt, saltlen);
	*p = OSSL_PARAM_construct_end();
	SKR_ENSURE(EVP_KDF_derive(kctx, dk->page, SKR_MASTER_KEY_LEN,
	    params) == 1, SKR_ERR_CRYPTO);
	*out = dk;
	dk = NULL;
out:
	skr_master_key_free(dk);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return r;
}

/* ---- the key file source --------------------------------------------- */

struct file_source {
	char *path;
};

/* Make the new directory entry durable too, not only the file's bytes. */
static int
fsync_parent(const char *path)
{
	char *copy, *dir;
	int fd, r = SKR_OK;

	if ((copy = strdup(path)) == NULL)
		return SKR_ERR_NOMEM;
	dir = dirname(copy);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = SKR_ERR_IO;
	else {
		if (fsync(fd) != 0)
			r = SKR_ERR_IO;
		close(fd);
	}
	free(copy);
	return r;
}

static int
file_create(void *ctx, skr_master_key **out)
{
	struct file_source *fs = ctx;
	skr_master_key *mk = NULL;
	size_t off = 0;
	ssize_t w;
	int fd = -1, r, created = 0;

	*out = NULL;
	SKR_GUARD(skr_master_key_generate(&mk));
	fd = open(fs->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	SKR_ENSURE(fd >= 0, errno == EEXIST ? SKR_ERR_MASTER_KEY : SKR_ERR_IO);
	created = 1;
	/* The umask cannot widen 0600, but make the mode exact anyway. */
	SKR_ENSURE(fchmod(fd, 0600) == 0, SKR_ERR_IO);
	while (off < SKR_MASTER_KEY_LEN) {
		w = write(fd, mk->page + off, SKR_MASTER_KEY_LEN - off);
		if (w < 0 && errno == EINTR)
			continue;
		SKR_ENSURE(w > 0, SKR_ERR_IO);
		off += (size_t)w;
	}
	r = fsync(fd) == 0 ? SKR_OK : SKR_ERR_IO;
	/* Closed either way: a failed close must not be retried. */
	if (close(fd) != 0)
		r = SKR_ERR_IO;
	fd = -1;
	SKR_GUARD(r);
	SKR_GUARD(fsync_parent(fs->path));
	*out = mk;
	mk = NULL;
	created = 0;
out:
	if (fd >= 0)
		close(fd);
	if (created)
		(void)unlink(fs->path);
	skr_master_key_free(mk);
	return r;
}

static int
file_load(void *ctx, skr_master_key **out)
{
	struct file_source *fs = ctx;
	skr_master_key *mk = NULL;
	struct stat sb;
	size_t off = 0;
	ssize_t n;
	uint8_t extra;
	int fd, r;

	*out = NULL;
	if ((fd = open(fs->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return SKR_ERR_MASTER_KEY;
	/* Anyone else who can read the key holds every key in the store; a
	 * file others may write could be swapped for a key they know. */
	SKR_ENSURE(fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (sb.st_mode & 077) == 0 && sb.st_size == SKR_MASTER_KEY_LEN,
	    SKR_ERR_MASTER_KEY);
	SKR_GUARD(mk_alloc(&mk));
	while (off < SKR_MASTER_KEY_LEN) {
		n = read(fd, mk->page + off, SKR_MASTER_KEY_LEN - off);
		if (n < 0 && errno == EINTR)
			continue;
		SKR_ENSURE(n > 0, SKR_ERR_MASTER_KEY);
		off += (size_t)n;
	}
	/* The file must not have grown between fstat and read. */
	SKR_ENSURE(read(fd, &extra, 1) == 0, SKR_ERR_MASTER_KEY);
	*out = mk;
	mk = NULL;
out:
	close(fd);
	skr_master_key_free(mk);
	return r;
}

static void
file_free(void *ctx)
{
	struct file_source *fs = ctx;

	if (fs == NULL)
		return;
	free(fs->path);
	free(fs);
}

static const skr_master_source_ops file_ops = {
	.name = "file",
	.create = file_create,
	.load = file_load,
	.free = file_free,
};

int
skr_master_source_file(const char *path, skr_master_source **out)
{
	skr_master_source *src = NULL;
	struct file_source *fs = NULL;
	int r = SKR_OK;

	*out = NULL;
	if (path == NULL || *path == '\0')
		return SKR_ERR_INVAL;
	src = calloc(1, sizeof(*src));
	fs = calloc(1, sizeof(*fs));
	SKR_ENSURE(src != NULL && fs != NULL, SKR_ERR_NOMEM);
	fs->path = strdup(path);
	SKR_ENSURE(fs->path != NULL, SKR_ERR_NOMEM);
	src->ops = &file_ops;
	src->ctx = fs;
	*out = src;
	src = NULL;
	fs = NULL;
out:
	free(src);
	file_free(fs);
	return r;
}

int
skr_master_create(skr_master_source *src, skr_master_key **out)
{
	*out = NULL;
	if (src == NULL || src->ops == NULL || src->ops->create == NULL)
		return SKR_ERR_UNSUPPORTED;
	return src->ops->create(src->ctx, out);
}

int
skr_master_load(skr_master_source *src, skr_master_key **out)
{
	*out = NULL;
	if (src == NULL || src->ops == NULL || src->ops->load == NULL)
		return SKR_ERR_UNSUPPORTED;
	return src->ops->load(src->ctx, out);
}

void
skr_master_source_free(skr_master_source *src)
{
	if (src == NULL)
		return;
	if (src->ops != NULL && src->ops->free != NULL)
		src->ops->free(src->ctx);
	free(src);
}
