#include "opcache.h"

#include <pthread.h>
#include <string.h>

struct entry {
	EVP_PKEY *pkey;      /* a reference; NULL: the slot is free */
	int op;
	EVP_MD_CTX *md;      /* one of md and pctx */
	EVP_PKEY_CTX *pctx;
	uint64_t used;       /* tick of the last use, for eviction */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry table[SKR_OPCACHE_SIZE];
static uint64_t tick, hits, misses;

static void
entry_clear(struct entry *e)
{
	EVP_MD_CTX_free(e->md);
	EVP_PKEY_CTX_free(e->pctx);
	EVP_PKEY_free(e->pkey);
	memset(e, 0, sizeof(*e));
}

/* With the lock held: the entry for (pkey, op), or NULL. */
static struct entry *
find(const EVP_PKEY *pkey, int op)
{
	for (size_t i = 0; i < SKR_OPCACHE_SIZE; i++)
		if (table[i].pkey == pkey && table[i].op == op)
			return &table[i];
	return NULL;
}

/* With the lock held: a free slot, or the least recently used one, which
 * is emptied.  The caller must not free what it held until the lock is
 * released: its *old receives the entry's contents for that. */
static struct entry *
slot(struct entry *old)
{
	struct entry *e = &table[0];

	for (size_t i = 0; i < SKR_OPCACHE_SIZE; i++) {
		if (table[i].pkey == NULL)
			return &table[i];
		if (table[i].used < e->used)
			e = &table[i];
	}
	*old = *e;
	memset(e, 0, sizeof(*e));
	return e;
}

/*
 * The shared lookup: a copy of the template for (pkey, op), made through
 * make (which fills md or pctx of a fresh entry outside the lock) on a
 * miss, copied with copy under the lock.
 */
static int
lookup(EVP_PKEY *pkey, int op, int (*make)(struct entry *, void *),
    void *arg, int (*copy)(const struct entry *, void *out), void *out)
{
	struct entry fresh, old, *e;
	int ok;

	memset(&old, 0, sizeof(old));
	pthread_mutex_lock(&lock);
	if ((e = find(pkey, op)) != NULL) {
		e->used = ++tick;
		hits++;
		ok = copy(e, out);
		pthread_mutex_unlock(&lock);
		return ok;
	}
	pthread_mutex_unlock(&lock);

	/* A miss: the set-up (the slow part) runs without the lock. */
	memset(&fresh, 0, sizeof(fresh));
	if (EVP_PKEY_up_ref(pkey) != 1)
		return 0;
	fresh.pkey = pkey;
	fresh.op = op;
	if (!make(&fresh, arg)) {
		entry_clear(&fresh);
		return 0;
	}
	pthread_mutex_lock(&lock);
	misses++;
	if ((e = find(pkey, op)) == NULL) {
		/* Still absent (no other thread made it meanwhile). */
		e = slot(&old);
		*e = fresh;
		memset(&fresh, 0, sizeof(fresh));
	}
	e->used = ++tick;
	ok = copy(e, out);
	pthread_mutex_unlock(&lock);
	entry_clear(&fresh);
	entry_clear(&old);
	return ok;
}

/* ---- digest sign / verify ------------------------------------------- */

static int
make_md(struct entry *e, void *arg)
{
	skr_opcache_md_init init = *(skr_opcache_md_init *)arg;

	return (e->md = EVP_MD_CTX_new()) != NULL &&
	    init(e->md, e->pkey, e->op) == 1;
}

static int
copy_md(const struct entry *e, void *out)
{
	EVP_MD_CTX *md;

	if (e->md == NULL || (md = EVP_MD_CTX_new()) == NULL)
		return 0;
	if (EVP_MD_CTX_copy_ex(md, e->md) != 1) {
		EVP_MD_CTX_free(md);
		return 0;
	}
	*(EVP_MD_CTX **)out = md;
	return 1;
}

EVP_MD_CTX *
skr_opcache_md(EVP_PKEY *pkey, int op, skr_opcache_md_init init)
{
	EVP_MD_CTX *md = NULL;

	if (pkey == NULL || init == NULL)
		return NULL;
	return lookup(pkey, op, make_md, &init, copy_md, &md) ? md : NULL;
}

/* ---- EVP_PKEY_CTX operations ---------------------------------------- */

static int
make_pkey(struct entry *e, void *arg)
{
	skr_opcache_pkey_init init = *(skr_opcache_pkey_init *)arg;

	return (e->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, e->pkey,
	    NULL)) != NULL && init(e->pctx, e->op) == 1;
}

static int
copy_pkey(const struct entry *e, void *out)
{
	EVP_PKEY_CTX *pctx;

	if (e->pctx == NULL || (pctx = EVP_PKEY_CTX_dup(e->pctx)) == NULL)
		return 0;
	*(EVP_PKEY_CTX **)out = pctx;
	return 1;
}

EVP_PKEY_CTX *
skr_opcache_pkey(EVP_PKEY *pkey, int op, skr_opcache_pkey_init init)
{
	EVP_PKEY_CTX *pctx = NULL;

	if (pkey == NULL || init == NULL)
		return NULL;
	return lookup(pkey, op, make_pkey, &init, copy_pkey, &pctx) ?
	    pctx : NULL;
}

/* ---- fetched algorithms ------------------------------------------------ */

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256;

static void
sha256_fetch(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *
skr_opcache_sha256(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256;
}

/* ---- housekeeping ----------------------------------------------------- */

void
skr_opcache_forget(EVP_PKEY *pkey)
{
	struct entry gone[SKR_OPCACHE_SIZE];
	size_t n = 0;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < SKR_OPCACHE_SIZE; i++)
		if (table[i].pkey != NULL &&
		    (pkey == NULL || table[i].pkey == pkey)) {
			gone[n++] = table[i];
			memset(&table[i], 0, sizeof(table[i]));
		}
	pthread_mutex_unlock(&lock);
	/* Freed outside the lock: freeing a key may be slow (wiping). */
	for (size_t i = 0; i < n; i++)
		entry_clear(&gone[i]);
}

void
skr_opcache_stats_get(skr_opcache_stats *out)
{
	unsigned n = 0;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < SKR_OPCACHE_SIZE; i++)
		n += table[i].pkey != NULL;
	out->hits = hits;
	out->misses = misses;
	out->entries = n;
	pthread_mutex_unlock(&lock);
}
