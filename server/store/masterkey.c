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

/* ---- the keyring ------------------------------------------------------ */

int
skr_keyring_add(skr_keyring *kr, uint32_t gen, skr_master_key *mk)
{
	size_t i;

	if (mk == NULL || gen == 0 || kr->n == SKR_KEYRING_MAX ||
	    skr_keyring_find(kr, gen) != NULL) {
		skr_master_key_free(mk);
		return SKR_ERR_INVAL;
	}
	/* Keep the generations ascending. */
	for (i = kr->n; i > 0 && kr->gen[i - 1] > gen; i--) {
		kr->gen[i] = kr->gen[i - 1];
		kr->key[i] = kr->key[i - 1];
	}
	kr->gen[i] = gen;
	kr->key[i] = mk;
	kr->n++;
	return SKR_OK;
}

const skr_master_key *
skr_keyring_find(const skr_keyring *kr, uint32_t gen)
{
	for (size_t i = 0; i < kr->n; i++)
		if (kr->gen[i] == gen)
			return kr->key[i];
	return NULL;
}

uint32_t
skr_keyring_newest(const skr_keyring *kr)
{
	return kr->n > 0 ? kr->gen[kr->n - 1] : 0;
}

void
skr_keyring_drop_below(skr_keyring *kr, uint32_t gen)
{
	size_t i, j = 0;

	for (i = 0; i < kr->n; i++) {
		if (kr->gen[i] < gen) {
			skr_master_key_free(kr->key[i]);
			continue;
		}
		kr->gen[j] = kr->gen[i];
		kr->key[j++] = kr->key[i];
	}
	for (i = j; i < kr->n; i++) {
		kr->gen[i] = 0;
		kr->key[i] = NULL;
	}
	kr->n = j;
}

void
skr_keyring_clear(skr_keyring *kr)
{
	for (size_t i = 0; i < kr->n; i++)
		skr_master_key_free(kr->key[i]);
	memset(kr, 0, sizeof(*kr));
}

#define KEYRING_MAGIC "SKRK"
#define KEYRING_HEAD 6 /* magic, version, count */

int
skr_keyring_encode(const skr_keyring *kr, skr_buf *out)
{
	uint8_t head[KEYRING_HEAD], g[4];
	size_t i;
	int r = SKR_OK;

	if (kr->n == 0)
		return SKR_ERR_INVAL;
	/* One generation-1 key stays the 32 bytes of the original key file,
	 * so a data directory made before generations still reads. */
	if (kr->n == 1 && kr->gen[0] == 1)
		return skr_buf_append(out, kr->key[0]->page,
		    SKR_MASTER_KEY_LEN);
	memcpy(head, KEYRING_MAGIC, 4);
	head[4] = 1;
	head[5] = (uint8_t)kr->n;
	SKR_GUARD(skr_buf_append(out, head, sizeof(head)));
	for (i = 0; i < kr->n; i++) {
		g[0] = (uint8_t)(kr->gen[i] >> 24);
		g[1] = (uint8_t)(kr->gen[i] >> 16);
		g[2] = (uint8_t)(kr->gen[i] >> 8);
		g[3] = (uint8_t)kr->gen[i];
		SKR_GUARD(skr_buf_append(out, g, 4));
		SKR_GUARD(skr_buf_append(out, kr->key[i]->page,
		    SKR_MASTER_KEY_LEN));
	}
out:
	return r;
}

int
skr_keyring_decode(const uint8_t *p, size_t n, skr_keyring *kr)
{
	skr_keyring tmp;
	skr_master_key *mk = NULL;
	size_t i, count;
	uint32_t gen;
	int r = SKR_OK;

	memset(&tmp, 0, sizeof(tmp));
	memset(kr, 0, sizeof(*kr));
	if (n == SKR_MASTER_KEY_LEN) {
		SKR_GUARD(skr_master_key_from_bytes(p, n, &mk));
		SKR_GUARD(skr_keyring_add(&tmp, 1, mk));
		*kr = tmp;
		return SKR_OK;
	}
	SKR_ENSURE(n >= KEYRING_HEAD && memcmp(p, KEYRING_MAGIC, 4) == 0 &&
	    p[4] == 1, SKR_ERR_MASTER_KEY);
	count = p[5];
	SKR_ENSURE(count >= 1 && count <= SKR_KEYRING_MAX &&
	    n == KEYRING_HEAD + count * (4 + SKR_MASTER_KEY_LEN),
	    SKR_ERR_MASTER_KEY);
	p += KEYRING_HEAD;
	for (i = 0; i < count; i++) {
		gen = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		/* One encoding per keyring: generations strictly ascending,
		 * and a lone generation 1 is written as the bare key. */
		SKR_ENSURE(gen > (i == 0 ? 0 : tmp.gen[i - 1]) &&
		    !(count == 1 && gen == 1), SKR_ERR_MASTER_KEY);
		SKR_GUARD(skr_master_key_from_bytes(p + 4, SKR_MASTER_KEY_LEN,
		    &mk));
		r = skr_keyring_add(&tmp, gen, mk);
		mk = NULL;
		SKR_ENSURE(r == SKR_OK, SKR_ERR_MASTER_KEY);
		p += 4 + SKR_MASTER_KEY_LEN;
	}
	*kr = tmp;
	memset(&tmp, 0, sizeof(tmp));
out:
	skr_keyring_clear(&tmp);
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
