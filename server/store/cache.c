/*
 * The keyspace cache (cache.h): per database a sorted array of entries,
 * each with its current state and, while a snapshot may still read it,
 * the state before.  A new key's state before is "absent since always",
 * which is what every snapshot since the cache was filled saw.
 */
#include "cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "skr/error.h"

struct state {
	uint8_t *v;
	size_t vl;
	int64_t rev;            /* the revision the state began at */
	int live;               /* 0: the key was absent (deleted) */
};

struct entry {
	uint8_t *k;
	size_t kl;
	struct state cur;
	struct state prev;
	int has_prev;
};

struct dbmap {
	struct entry **e;
	size_t n, cap;
	uint64_t live;
};

struct snap {
	int64_t rev;
	size_t count;
};

struct skr__cache {
	pthread_rwlock_t lock;
	int ndb;
	struct dbmap *db;
	_Atomic int64_t rev;
	uint64_t gen;
	size_t garbage;
	pthread_mutex_t snap_mu;   /* after lock, never before it */
	struct snap *snaps;
	size_t nsnaps, capsnaps;
};

static void
state_free(struct state *s)
{
	if (s->v != NULL) {
		OPENSSL_cleanse(s->v, s->vl);
		free(s->v);
	}
	memset(s, 0, sizeof(*s));
}

static void
entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	state_free(&e->cur);
	state_free(&e->prev);
	free(e->k);
	free(e);
}

static void
map_clear(struct dbmap *m)
{
	for (size_t i = 0; i < m->n; i++)
		entry_free(m->e[i]);
	free(m->e);
	memset(m, 0, sizeof(*m));
}

int
skr__cache_new(int ndb, skr__cache **out)
{
	skr__cache *c;

	*out = NULL;
	if (ndb <= 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return ndb <= 0 ? SKR_ERR_INVAL : SKR_ERR_NOMEM;
	if ((c->db = calloc((size_t)ndb, sizeof(*c->db))) == NULL) {
		free(c);
		return SKR_ERR_NOMEM;
	}
	c->ndb = ndb;
	pthread_rwlock_init(&c->lock, NULL);
	pthread_mutex_init(&c->snap_mu, NULL);
	*out = c;
	return SKR_OK;
}

void
skr__cache_free(skr__cache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->ndb; i++)
		map_clear(&c->db[i]);
	free(c->db);
	free(c->snaps);
	pthread_rwlock_destroy(&c->lock);
	pthread_mutex_destroy(&c->snap_mu);
	free(c);
}

/* ---- lookup --------------------------------------------------------------- */

int
skr__keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int d = memcmp(a, b, al < bl ? al : bl);

	if (d != 0)
		return d;
	return al < bl ? -1 : al > bl;
}

/* The index of the first entry >= k; *found when it is k. */
static size_t
lower_bound(const struct dbmap *m, const uint8_t *k, size_t kl, int *found)
{
	size_t lo = 0, hi = m->n, mid;
	int d;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		d = skr__keycmp(m->e[mid]->k, m->e[mid]->kl, k, kl);
		if (d < 0)
			lo = mid + 1;
		else {
			if (d == 0)
				*found = 1;
			hi = mid;
		}
	}
	return lo;
}

/* The state of e that a snapshot at `at` sees, or NULL when it is gone. */
static const struct state *
visible(const struct entry *e, int64_t at)
{
	if (e->cur.rev <= at)
		return &e->cur;
	if (e->has_prev && e->prev.rev <= at)
		return &e->prev;
	return NULL;
}

int
skr__bytes_dup(const void *p, size_t n, uint8_t **out)
{
	*out = NULL;
	if (n == 0)
		return SKR_OK;
	if ((*out = malloc(n)) == NULL)
		return SKR_ERR_NOMEM;
	memcpy(*out, p, n);
	return SKR_OK;
}

/* ---- the writer --------------------------------------------------------- */

void
skr__cache_write_begin(skr__cache *c)
{
	pthread_rwlock_wrlock(&c->lock);
}

void
skr__cache_write_end(skr__cache *c, int64_t rev)
{
	if (rev > atomic_load(&c->rev))
		atomic_store(&c->rev, rev);
	pthread_rwlock_unlock(&c->lock);
}

static int
map_insert(struct dbmap *m, size_t at, struct entry *e)
{
	void *p;

	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		if ((p = realloc(m->e, ncap * sizeof(*m->e))) == NULL)
			return SKR_ERR_NOMEM;
		m->e = p;
		m->cap = ncap;
	}
	memmove(&m->e[at + 1], &m->e[at], (m->n - at) * sizeof(*m->e));
	m->e[at] = e;
	m->n++;
	return SKR_OK;
}

int
skr__cache_put(skr__cache *c, int db, const void *k, size_t kl, const void *v,
    size_t vl, int64_t rev)
{
	struct dbmap *m;
	struct entry *e;
	struct state s = { NULL, vl, rev, 1 };
	size_t at;
	int found, r;

	if (db < 0 || db >= c->ndb || kl == 0 || rev <= 0)
		return SKR_ERR_INVAL;
	m = &c->db[db];
	at = lower_bound(m, k, kl, &found);
	if (found && m->e[at]->cur.rev >= rev)
		return SKR_OK;  /* already applied */
	if ((r = skr__bytes_dup(v, vl, &s.v)) != SKR_OK)
		return r;
	if (!found) {
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    skr__bytes_dup(k, kl, &e->k) != SKR_OK ||
		    map_insert(m, at, e) != SKR_OK) {
			if (e != NULL)
				free(e->k);
			free(e);
			state_free(&s);
			return SKR_ERR_NOMEM;
		}
		e->kl = kl;
		e->cur = s;
		/* Before it: absent, as far back as any snapshot goes. */
		e->has_prev = 1;
		m->live++;
		c->garbage++;
		return SKR_OK;
	}
	e = m->e[at];
	if (!e->cur.live)
		m->live++;
	state_free(&e->prev);
	e->prev = e->cur;
	e->has_prev = 1;
	e->cur = s;
	c->garbage++;
	return SKR_OK;
}

int
skr__cache_del(skr__cache *c, int db, const void *k, size_t kl, int64_t rev)
{
	struct dbmap *m;
	struct entry *e;
	size_t at;
	int found;

	if (db < 0 || db >= c->ndb || rev <= 0)
		return SKR_ERR_INVAL;
	m = &c->db[db];
	at = lower_bound(m, k, kl, &found);
	if (!found)
		return SKR_OK;
	e = m->e[at];
	if (!e->cur.live || e->cur.rev >= rev)
		return SKR_OK;
	state_free(&e->prev);
	e->prev = e->cur;
	e->has_prev = 1;
	e->cur = (struct state){ NULL, 0, rev, 0 };
	m->live--;
	c->garbage++;
	return SKR_OK;
}

void
skr__cache_reset(skr__cache *c)
{
	for (int i = 0; i < c->ndb; i++)
		map_clear(&c->db[i]);
	c->gen++;
	c->garbage = 0;
}

/* The oldest revision an open snapshot reads at, or the cache's own.
 * Under the write lock. */
static int64_t
oldest_snapshot(skr__cache *c)
{
	int64_t min = atomic_load(&c->rev);

	pthread_mutex_lock(&c->snap_mu);
	for (size_t i = 0; i < c->nsnaps; i++)
		if (c->snaps[i].rev < min)
			min = c->snaps[i].rev;
	pthread_mutex_unlock(&c->snap_mu);
	return min;
}

void
skr__cache_gc(skr__cache *c)
{
	struct dbmap *m;
	struct entry *e;
	size_t i, j;
	int64_t min;

	pthread_rwlock_wrlock(&c->lock);
	min = oldest_snapshot(c);
	c->garbage = 0;
	for (int d = 0; d < c->ndb; d++) {
		m = &c->db[d];
		for (i = 0, j = 0; i < m->n; i++) {
			e = m->e[i];
			if (e->has_prev && e->cur.rev <= min) {
				state_free(&e->prev);
				e->has_prev = 0;
			}
			if (!e->cur.live && !e->has_prev) {
				entry_free(e);
				continue;
			}
			if (e->has_prev || !e->cur.live)
				c->garbage++;
			m->e[j++] = e;
		}
		m->n = j;
	}
	pthread_rwlock_unlock(&c->lock);
}

size_t
skr__cache_garbage(skr__cache *c)
{
	size_t n;

	pthread_rwlock_rdlock(&c->lock);
	n = c->garbage;
	pthread_rwlock_unlock(&c->lock);
	return n;
}

/* ---- readers ----------------------------------------------------------- */

int64_t
skr__cache_rev(skr__cache *c)
{
	return atomic_load(&c->rev);
}

void
skr__cache_snap_begin(skr__cache *c, int64_t *rev, uint64_t *gen)
{
	size_t i;

	pthread_rwlock_rdlock(&c->lock);
	*rev = atomic_load(&c->rev);
	*gen = c->gen;
	pthread_mutex_lock(&c->snap_mu);
	for (i = 0; i < c->nsnaps && c->snaps[i].rev != *rev; i++)
		;
	if (i == c->nsnaps && c->nsnaps == c->capsnaps) {
		size_t ncap = c->capsnaps ? c->capsnaps * 2 : 16;
		void *p = realloc(c->snaps, ncap * sizeof(*c->snaps));

		/* Without room the snapshot is not kept: its reads of
		 * replaced states turn into retries, never wrong answers. */
		if (p != NULL) {
			c->snaps = p;
			c->capsnaps = ncap;
		}
	}
	if (i < c->nsnaps)
		c->snaps[i].count++;
	else if (c->nsnaps < c->capsnaps)
		c->snaps[c->nsnaps++] = (struct snap){ *rev, 1 };
	pthread_mutex_unlock(&c->snap_mu);
	pthread_rwlock_unlock(&c->lock);
}

void
skr__cache_snap_end(skr__cache *c, int64_t rev)
{
	size_t i;

	pthread_mutex_lock(&c->snap_mu);
	for (i = 0; i < c->nsnaps; i++)
		if (c->snaps[i].rev == rev) {
			if (--c->snaps[i].count == 0)
				c->snaps[i] = c->snaps[--c->nsnaps];
			break;
		}
	pthread_mutex_unlock(&c->snap_mu);
}

/* Copy out the state s of e; a dead state is absent. */
static int
copy_state(const struct state *s, uint8_t **v, size_t *vl, int64_t *mod)
{
	int r;

	*v = NULL;
	*vl = 0;
	*mod = 0;
	if (!s->live)
		return SKR_ERR_NOT_FOUND;
	if ((r = skr__bytes_dup(s->v, s->vl, v)) != SKR_OK)
		return r;
	*vl = s->vl;
	*mod = s->rev;
	return SKR_OK;
}

int
skr__cache_get(skr__cache *c, int db, const void *k, size_t kl, int64_t at,
    uint64_t gen, uint8_t **v, size_t *vl, int64_t *mod)
{
	const struct state *s;
	struct dbmap *m;
	size_t i;
	int found, r;

	*v = NULL;
	*vl = 0;
	*mod = 0;
	if (db < 0 || db >= c->ndb)
		return SKR_ERR_INVAL;
	pthread_rwlock_rdlock(&c->lock);
	if (gen != c->gen) {
		r = SKR_ERR_STORE_RETRY;
		goto out;
	}
	m = &c->db[db];
	i = lower_bound(m, k, kl, &found);
	if (!found) {
		r = SKR_ERR_NOT_FOUND;
		goto out;
	}
	if ((s = visible(m->e[i], at)) == NULL) {
		r = SKR_ERR_STORE_RETRY;
		goto out;
	}
	r = copy_state(s, v, vl, mod);
out:
	pthread_rwlock_unlock(&c->lock);
	return r;
}

int
skr__cache_next(skr__cache *c, int db, const void *from, size_t fl,
    int inclusive, int64_t at, uint64_t gen, uint8_t **k, size_t *kl,
    uint8_t **v, size_t *vl, int64_t *mod)
{
	const struct state *s;
	struct dbmap *m;
	size_t i;
	int found = 0, r = SKR_ERR_NOT_FOUND;

	*k = NULL;
	*kl = 0;
	*v = NULL;
	*vl = 0;
	*mod = 0;
	if (db < 0 || db >= c->ndb)
		return SKR_ERR_INVAL;
	pthread_rwlock_rdlock(&c->lock);
	if (gen != c->gen) {
		r = SKR_ERR_STORE_RETRY;
		goto out;
	}
	m = &c->db[db];
	i = from != NULL ? lower_bound(m, from, fl, &found) : 0;
	if (found && !inclusive)
		i++;
	for (; i < m->n; i++) {
		if ((s = visible(m->e[i], at)) == NULL) {
			r = SKR_ERR_STORE_RETRY;
			goto out;
		}
		if (!s->live)
			continue;
		if ((r = skr__bytes_dup(m->e[i]->k, m->e[i]->kl, k)) != SKR_OK)
			goto out;
		*kl = m->e[i]->kl;
		if ((r = copy_state(s, v, vl, mod)) != SKR_OK) {
			free(*k);
			*k = NULL;
			*kl = 0;
		}
		goto out;
	}
	r = SKR_ERR_NOT_FOUND;
out:
	pthread_rwlock_unlock(&c->lock);
	return r;
}

int64_t
skr__cache_mod(skr__cache *c, int db, const void *k, size_t kl)
{
	struct dbmap *m;
	size_t i;
	int found;
	int64_t mod = 0;

	if (db < 0 || db >= c->ndb)
		return 0;
	pthread_rwlock_rdlock(&c->lock);
	m = &c->db[db];
	i = lower_bound(m, k, kl, &found);
	if (found && m->e[i]->cur.live)
		mod = m->e[i]->cur.rev;
	pthread_rwlock_unlock(&c->lock);
	return mod;
}

uint64_t
skr__cache_count(skr__cache *c, int db)
{
	uint64_t n;

	if (db < 0 || db >= c->ndb)
		return 0;
	pthread_rwlock_rdlock(&c->lock);
	n = c->db[db].live;
	pthread_rwlock_unlock(&c->lock);
	return n;
}
