/*
 * Paging (docs/store.md, "Paging"): continuation markers the store
 * authenticates, the page walk the listings share, and the listings of
 * keys, deleted keys and a key's versions.  Token listing (tokens.c) walks
 * the same way.
 */
#include "store_priv.h"

#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "guard.h"
#include "seal.h"

/* The associated data of a marker: its label, its listing (kind) and
 * whom it was made for (binding, when the listing has one). */
static int
marker_aad(skr_buf *aad, char kind, const char *binding)
{
	static const char label[] = "skr/v1/marker";
	int r;

	SKR_GUARD(skr_buf_append(aad, label, sizeof(label)));
	SKR_GUARD(skr_buf_append_byte(aad, (uint8_t)kind));
	if (binding != NULL)
		SKR_GUARD(skr_buf_append_str(aad, binding));
out:
	return r;
}

/* marker = base64url(seal(marker key, aad(kind, binding), position)):
 * the position -- the last store key a page read, which for a scoped
 * listing may name a key outside the caller's scope -- is encrypted, and
 * the marker opens only for the listing and binding it was made for. */
static int
marker_make(skr_store *st, char kind, const char *binding, const void *p,
    size_t n, char **out)
{
	skr_buf aad = SKR_BUF_INIT, raw = SKR_BUF_INIT, text = SKR_BUF_INIT;
	int r;

	*out = NULL;
	SKR_GUARD(marker_aad(&aad, kind, binding));
	SKR_GUARD(skr_seal(skr_master_key_bytes(st->marker), aad.data,
	    aad.len, p, n, &raw));
	SKR_GUARD(skr_b64url_encode(&text, raw.data, raw.len));
	*out = (char *)skr_buf_steal(&text, NULL);
	if (*out == NULL)
		r = SKR_ERR_NOMEM;
out:
	skr_buf_free(&aad);
	skr_buf_free(&raw);
	skr_buf_free(&text);
	return r;
}

/* Open a marker of the given kind and binding; payload receives the
 * position.  Anything else is SKR_ERR_BAD_REQUEST. */
static int
marker_parse(skr_store *st, char kind, const char *binding,
    const char *marker, skr_buf *payload)
{
	skr_buf aad = SKR_BUF_INIT, raw = SKR_BUF_INIT;
	size_t n;
	int r;

	n = strnlen(marker, 1024);
	if (n >= 1024)
		return SKR_ERR_BAD_REQUEST;
	SKR_GUARD(marker_aad(&aad, kind, binding));
	SKR_ENSURE(skr_b64url_decode(&raw, marker, n) == SKR_OK,
	    SKR_ERR_BAD_REQUEST);
	skr_buf_reset(payload);
	SKR_ENSURE(skr_seal_open(skr_master_key_bytes(st->marker), aad.data,
	    aad.len, raw.data, raw.len, payload) == SKR_OK,
	    SKR_ERR_BAD_REQUEST);
out:
	skr_buf_free(&aad);
	skr_buf_free(&raw);
	return r;
}

size_t
skr__page_max(size_t maxresults)
{
	if (maxresults == 0)
		return SKR_PAGE_DEFAULT;
	return maxresults > SKR_PAGE_MAX ? SKR_PAGE_MAX : maxresults;
}

void
skr_version_page_clear(skr_version_page *pg)
{
	size_t i;

	if (pg == NULL)
		return;
	for (i = 0; i < pg->n; i++)
		skr_version_info_clear(&pg->items[i]);
	free(pg->items);
	free(pg->next);
	memset(pg, 0, sizeof(*pg));
}

/* The state of one page walk. */
struct page {
	skr_txn *txn;
	int db;
	const skr_buf *start;   /* entries up to and including it are skipped */
	size_t max, n;
	skr__page_item_fn fn;
	void *arg;
	skr_buf last;           /* key of the last entry returned */
	int more;               /* an entry follows the page */
};

static int
page_step(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct page *pg = arg;
	int r;

	if (pg->start->len > 0 && kl == pg->start->len &&
	    memcmp(k, pg->start->data, kl) == 0)
		return SKR_OK;
	if (pg->n >= pg->max) {
		pg->more = 1;
		return 1;
	}
	if ((r = skr__rec_verify(pg->txn->st, pg->db, k, kl, v, &vl)) !=
	    SKR_OK ||
	    (r = pg->fn(pg->arg, pg->txn, k, kl, v, vl, pg->n)) != SKR_OK ||
	    (r = skr_buf_set(&pg->last, k, kl)) != SKR_OK)
		return r;
	pg->n++;
	return SKR_OK;
}

/*
 * Walk db in key order after the marker's key, calling fn for at most max
 * entries; a marker for the entry after the last one is made when more
 * remain.  The marker holds the last key returned.
 */
int
skr__page_walk(skr_txn *txn, int db, char kind, const char *binding,
    const char *marker, size_t max, skr__page_item_fn fn, void *arg,
    char **next)
{
	skr_buf start = SKR_BUF_INIT;
	struct page pg;
	int r;

	*next = NULL;
	memset(&pg, 0, sizeof(pg));
	skr_buf_init(&pg.last, 0);
	if (marker != NULL && *marker != '\0')
		SKR_GUARD(marker_parse(txn->st, kind, binding, marker,
		    &start));
	pg.txn = txn;
	pg.db = db;
	pg.start = &start;
	pg.max = max;
	pg.fn = fn;
	pg.arg = arg;
	SKR_GUARD(skr__raw_walk(txn, db, start.len > 0 ? start.data : NULL,
	    start.len, page_step, &pg));
	/* Stopped on an entry past the page: the next page starts there. */
	if (pg.more)
		SKR_GUARD(marker_make(txn->st, kind, binding, pg.last.data,
		    pg.last.len, next));
out:
	if (r != SKR_OK) {
		free(*next);
		*next = NULL;
	}
	skr_buf_free(&start);
	skr_buf_free(&pg.last);
	return r;
}

/* Page item: a key record -> its latest version's info. */
static int
key_item(void *arg, skr_txn *txn, const uint8_t *k, size_t kl,
    const uint8_t *v, size_t vl, size_t index)
{
	skr_version_page *pg = arg;
	char lc[SKR_KEY_NAME_MAX + 1];
	json_t *rec;
	int r;

	if (kl == 0 || kl > SKR_KEY_NAME_MAX)
		return SKR_ERR_STORE;
	memcpy(lc, k, kl);
	lc[kl] = '\0';
	if ((rec = json_loadb((const char *)v, vl, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		return SKR_ERR_STORE;
	r = skr__info_load(txn, lc, rec, (uint32_t)jint(rec, "latest"),
	    &pg->items[index]);
	if (r == SKR_OK)
		pg->n = index + 1;
	json_decref(rec);
	return r;
}

static int
list_records(skr_txn *txn, int db, char kind, const char *binding,
    const char *marker, size_t maxresults, skr_version_page *out)
{
	size_t max = skr__page_max(maxresults);
	int r;

	memset(out, 0, sizeof(*out));
	if (txn == NULL)
		return SKR_ERR_INVAL;
	if ((out->items = calloc(max, sizeof(*out->items))) == NULL)
		return SKR_ERR_NOMEM;
	r = skr__page_walk(txn, db, kind, binding, marker, max, key_item, out,
	    &out->next);
	if (r != SKR_OK)
		skr_version_page_clear(out);
	return r;
}

int
skr_store_key_list(skr_txn *txn, const char *binding, const char *marker,
    size_t maxresults, skr_version_page *out)
{
	return list_records(txn, DB_KEYS, 'k', binding, marker, maxresults,
	    out);
}

int
skr_store_deleted_list(skr_txn *txn, const char *binding, const char *marker,
    size_t maxresults, skr_version_page *out)
{
	return list_records(txn, DB_DELETED, 'd', binding, marker, maxresults,
	    out);
}

int
skr_store_version_list(skr_txn *txn, const char *binding, const char *name,
    const char *marker, size_t maxresults, skr_version_page *out)
{
	char lc[SKR_KEY_NAME_MAX + 1];
	skr_buf start = SKR_BUF_INIT;
	size_t max = skr__page_max(maxresults);
	json_t *rec = NULL;
	uint32_t seq, latest, after = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (txn == NULL)
		return SKR_ERR_INVAL;
	SKR_GUARD(skr__version_resolve(txn, name, NULL, lc, &rec, &latest));
	if (marker != NULL && *marker != '\0') {
		/* The marker names the key it was made for, so it cannot
		 * be replayed against another key's listing. */
		SKR_GUARD(marker_parse(txn->st, 'v', binding, marker, &start));
		SKR_ENSURE(start.len == strlen(lc) + 1 + 4 &&
		    memcmp(start.data, lc, strlen(lc) + 1) == 0,
		    SKR_ERR_BAD_REQUEST);
		after = be32_get(start.data + start.len - 4);
	}
	out->items = calloc(max, sizeof(*out->items));
	SKR_ENSURE(out->items != NULL, SKR_ERR_NOMEM);
	for (seq = after + 1; seq <= latest && out->n < max; seq++) {
		SKR_GUARD(skr__info_load(txn, lc, rec, seq,
		    &out->items[out->n]));
		out->n++;
	}
	if (seq <= latest) {
		uint8_t k[VKEY_MAX];
		size_t kl = skr__vkey(lc, seq - 1, k);
		SKR_GUARD(marker_make(txn->st, 'v', binding, k, kl,
		    &out->next));
	}
out:
	if (r != SKR_OK)
		skr_version_page_clear(out);
	json_decref(rec);
	skr_buf_free(&start);
	return r;
}
