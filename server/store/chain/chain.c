#include "chain.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "encoding.h"
#include "opcache.h"
#include "skr/error.h"

void
skr__audit_seq_put(uint8_t k[8], uint64_t seq)
{
	int i;

	for (i = 7; i >= 0; i--) {
		k[i] = (uint8_t)seq;
		seq >>= 8;
	}
}

uint64_t
skr__audit_seq_get(const uint8_t k[8])
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | k[i];
	return v;
}

void
skr__audit_head_put(uint8_t v[SKR__AUDIT_HEAD_LEN], uint64_t seq,
    const uint8_t hash[SKR_AUDIT_HASH_LEN])
{
	skr__audit_seq_put(v, seq);
	memcpy(v + 8, hash, SKR_AUDIT_HASH_LEN);
}

int
skr__audit_head_get(const void *v, size_t vl, uint64_t *seq,
    uint8_t hash[SKR_AUDIT_HASH_LEN])
{
	if (vl != SKR__AUDIT_HEAD_LEN)
		return SKR_ERR_STORE;
	*seq = skr__audit_seq_get(v);
	memcpy(hash, (const uint8_t *)v + 8, SKR_AUDIT_HASH_LEN);
	return SKR_OK;
}

int
skr__audit_record_hash(const json_t *rec, uint8_t out[SKR_AUDIT_HASH_LEN])
{
	json_t *c;
	char *text;
	unsigned int len = 0;
	int ok;

	if ((c = json_copy((json_t *)rec)) == NULL)
		return SKR_ERR_NOMEM;
	json_object_del(c, "hash");
	text = json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(c);
	if (text == NULL)
		return SKR_ERR_NOMEM;
	ok = EVP_Digest(text, strlen(text), out, &len, skr_opcache_sha256(),
	    NULL) == 1 && len == SKR_AUDIT_HASH_LEN;
	free(text);
	return ok ? SKR_OK : SKR_ERR_CRYPTO;
}

void
skr__audit_walk_init(skr__audit_walk *w)
{
	memset(w, 0, sizeof(*w));
	w->expect = 1;
}

int
skr__audit_walk_step(skr__audit_walk *w, const void *k, size_t kl,
    const void *v, size_t vl)
{
	char prevhex[SKR_AUDIT_HASH_HEX + 1], hashhex[SKR_AUDIT_HASH_HEX + 1];
	uint8_t hash[SKR_AUDIT_HASH_LEN];
	json_t *rec = NULL, *js;
	const char *s;
	uint64_t seq;
	int ok = 0;

	if (kl != 8) {
		w->broken = w->expect;
		return SKR_ERR_AUDIT_BROKEN;
	}
	seq = skr__audit_seq_get(k);
	if (seq != w->expect) {
		/* A gap: the first missing record is what broke. */
		w->broken = seq < w->expect ? seq : w->expect;
		return SKR_ERR_AUDIT_BROKEN;
	}
	skr_hex_text(prevhex, w->prev, SKR_AUDIT_HASH_LEN);
	rec = json_loadb(v, vl, JSON_REJECT_DUPLICATES, NULL);
	js = json_object_get(rec, "seq");
	if (json_is_object(rec) && json_is_integer(js) &&
	    (uint64_t)json_integer_value(js) == seq &&
	    (s = json_string_value(json_object_get(rec, "prev"))) != NULL &&
	    strcmp(s, prevhex) == 0 &&
	    (s = json_string_value(json_object_get(rec, "hash"))) != NULL &&
	    skr__audit_record_hash(rec, hash) == SKR_OK) {
		skr_hex_text(hashhex, hash, SKR_AUDIT_HASH_LEN);
		ok = strcmp(s, hashhex) == 0;
	}
	json_decref(rec);
	if (!ok) {
		w->broken = seq;
		return SKR_ERR_AUDIT_BROKEN;
	}
	memcpy(w->prev, hash, SKR_AUDIT_HASH_LEN);
	w->expect++;
	w->count++;
	return SKR_OK;
}

int
skr__audit_walk_end(skr__audit_walk *w, uint64_t head_seq,
    const uint8_t head_hash[SKR_AUDIT_HASH_LEN])
{
	if (head_seq == w->expect - 1 &&
	    skr_ct_equal(head_hash, w->prev, SKR_AUDIT_HASH_LEN))
		return SKR_OK;
	/* Records cut from the end, or a head rewritten. */
	w->broken = head_seq > w->expect - 1 ? w->expect : head_seq;
	if (w->broken == 0)
		w->broken = 1;
	return SKR_ERR_AUDIT_BROKEN;
}

void
skr__audit_walk_report(const skr__audit_walk *w, int r, uint64_t *count,
    uint64_t *broken)
{
	if (count != NULL)
		*count = w->count;
	if (broken != NULL && r == SKR_ERR_AUDIT_BROKEN)
		*broken = w->broken;
}
