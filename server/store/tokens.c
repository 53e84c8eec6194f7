/*
 * Admin bearer tokens (docs/store.md, "Admin bearer tokens"): the store
 * keeps a SHA-256 of each token's text with the principal it stands for;
 * the text itself is shown once at creation and never stored.
 */
#include "store_priv.h"

#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "guard.h"
#include "opcache.h"
#include "random.h"

#define TOKEN_PREFIX "skr_"
#define TOKEN_ID_HEX 32
#define TOKEN_SECRET_LEN 32
#define ALL_ROLES (SKR_ROLE_ADMIN | SKR_ROLE_OPERATOR | SKR_ROLE_READER | \
	SKR_ROLE_AUDITOR | SKR_ROLE_RELEASER)

static int
sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 0;

	if (EVP_Digest(p, n, out, &len, skr_opcache_sha256(), NULL) != 1 ||
	    len != 32)
		return SKR_ERR_CRYPTO;
	return SKR_OK;
}

/* A prefix scope is the start of a key name: 1-127 name characters. */
static int
check_prefix(const char *p)
{
	return skr_key_name_check(p) == SKR_OK ? SKR_OK : SKR_ERR_BAD_REQUEST;
}

static int
token_fill(const char *id, const json_t *rec, skr_token_info *ti)
{
	json_t *pre;
	size_t i;
	int r;

	memset(ti, 0, sizeof(*ti));
	if ((r = copy_str(ti->p.id, sizeof(ti->p.id), id)) != SKR_OK ||
	    (r = copy_str(ti->p.name, sizeof(ti->p.name), jstr(rec,
	    "name"))) != SKR_OK)
		return r;
	ti->p.roles = (unsigned)jint(rec, "roles");
	ti->p.expires = jint(rec, "expires");
	pre = json_object_get(rec, "prefixes");
	if (json_array_size(pre) > SKR_MAX_PREFIXES)
		return SKR_ERR_STORE;
	for (i = 0; i < json_array_size(pre); i++)
		if ((r = copy_str(ti->p.prefixes[i], sizeof(ti->p.prefixes[i]),
		    json_string_value(json_array_get(pre, i)))) != SKR_OK)
			return r;
	ti->p.nprefixes = json_array_size(pre);
	ti->created = jint(rec, "created");
	ti->revoked = jbool(rec, "revoked");
	ti->revoked_date = jint(rec, "revoked_date");
	return SKR_OK;
}

int
skr_store_token_create(skr_txn *txn, const skr_principal *req, int64_t now,
    skr_buf *secret, skr_token_info *out)
{
	uint8_t idb[TOKEN_ID_HEX / 2], sec[TOKEN_SECRET_LEN], hash[32];
	char id[TOKEN_ID_HEX + 1], hashhex[65];
	skr_buf text = SKR_BUF_INIT_SECRET;
	json_t *rec = NULL, *pre = NULL;
	const uint8_t *v;
	size_t i, vl, mark;
	int r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (txn == NULL || req == NULL || secret == NULL || !txn->write)
		return SKR_ERR_INVAL;
	if (req->roles == 0 || (req->roles & ~ALL_ROLES) != 0 ||
	    req->nprefixes > SKR_MAX_PREFIXES ||
	    strnlen(req->name, sizeof(req->name)) >= sizeof(req->name) ||
	    req->expires < 0)
		return SKR_ERR_BAD_REQUEST;
	for (i = 0; i < req->nprefixes; i++)
		if (strnlen(req->prefixes[i], sizeof(req->prefixes[i])) >=
		    sizeof(req->prefixes[i]) ||
		    check_prefix(req->prefixes[i]) != SKR_OK)
			return SKR_ERR_BAD_REQUEST;
	SKR_GUARD(skr_random(idb, sizeof(idb)));
	skr_hex_text(id, idb, sizeof(idb));
	r = skr__raw_get(txn, DB_TOKENS, id, TOKEN_ID_HEX, &v, &vl);
	if (r == SKR_OK)
		r = SKR_ERR_INTERNAL; /* 128 random bits collided */
	SKR_ENSURE(r == SKR_ERR_NOT_FOUND, r);
	SKR_GUARD(skr_random(sec, sizeof(sec)));
	SKR_GUARD(skr_buf_append_str(&text, TOKEN_PREFIX));
	SKR_GUARD(skr_buf_append_str(&text, id));
	SKR_GUARD(skr_buf_append_byte(&text, '_'));
	SKR_GUARD(skr_b64url_encode(&text, sec, sizeof(sec)));
	SKR_GUARD(sha256(text.data, text.len, hash));
	skr_hex_text(hashhex, hash, sizeof(hash));
	rec = json_object();
	pre = json_array();
	SKR_ENSURE(rec != NULL && pre != NULL, SKR_ERR_NOMEM);
	for (i = 0; i < req->nprefixes; i++)
		SKR_ENSURE(json_array_append_new(pre,
		    json_string(req->prefixes[i])) == 0, SKR_ERR_NOMEM);
	r = jset(rec, "prefixes", pre);
	pre = NULL;
	SKR_GUARD(r);
	SKR_GUARD(jset(rec, "hash", json_string(hashhex)));
	SKR_GUARD(jset(rec, "name", json_string(req->name)));
	SKR_GUARD(jset(rec, "roles", json_integer(req->roles)));
	SKR_GUARD(jset(rec, "created", json_integer(now)));
	SKR_GUARD(jset(rec, "expires", json_integer(req->expires)));
	SKR_GUARD(jset(rec, "revoked", json_false()));
	SKR_GUARD(skr__rec_put_json(txn, DB_TOKENS, id, TOKEN_ID_HEX, rec));
	mark = secret->len;
	if ((r = skr_buf_append(secret, text.data, text.len)) != SKR_OK)
		secret->len = mark;
	SKR_GUARD(r);
	if (out != NULL)
		SKR_GUARD(token_fill(id, rec, out));
out:
	skr_wipe(sec, sizeof(sec));
	skr_buf_free(&text);
	json_decref(rec);
	json_decref(pre);
	return r;
}

/* Shape check of the token text; id receives its id. */
static int
token_parse(const char *token, char id[TOKEN_ID_HEX + 1])
{
	size_t i, n;

	n = strnlen(token, SKR_TOKEN_TEXT_LEN + 1);
	if (n != SKR_TOKEN_TEXT_LEN || memcmp(token, TOKEN_PREFIX, 4) != 0 ||
	    token[4 + TOKEN_ID_HEX] != '_')
		return SKR_ERR_AUTH_INVALID;
	for (i = 0; i < TOKEN_ID_HEX; i++) {
		char c = token[4 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return SKR_ERR_AUTH_INVALID;
		id[i] = c;
	}
	id[TOKEN_ID_HEX] = '\0';
	for (i = 4 + TOKEN_ID_HEX + 1; i < n; i++) {
		char c = token[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return SKR_ERR_AUTH_INVALID;
	}
	return SKR_OK;
}

int
skr_store_token_lookup(skr_txn *txn, const char *token, int64_t now,
    skr_principal *out)
{
	char id[TOKEN_ID_HEX + 1];
	uint8_t hash[32];
	skr_buf want = SKR_BUF_INIT;
	skr_token_info ti;
	json_t *rec = NULL;
	const char *h;
	int r;

	memset(out, 0, sizeof(*out));
	if (txn == NULL || token == NULL)
		return SKR_ERR_AUTH_INVALID;
	if ((r = token_parse(token, id)) != SKR_OK)
		return r;
	r = skr__rec_get_json(txn, DB_TOKENS, id, TOKEN_ID_HEX, &rec);
	if (r == SKR_ERR_NOT_FOUND)
		r = SKR_ERR_AUTH_INVALID;
	SKR_GUARD(r);
	SKR_GUARD(sha256(token, SKR_TOKEN_TEXT_LEN, hash));
	h = jstr(rec, "hash");
	SKR_ENSURE(h != NULL && skr_hex_decode(&want, h, strlen(h)) == SKR_OK &&
	    want.len == 32, SKR_ERR_STORE);
	/* The id is not secret; the secret part is only ever compared as a
	 * hash, in constant time. */
	SKR_ENSURE(skr_ct_equal(hash, want.data, 32), SKR_ERR_AUTH_INVALID);
	SKR_GUARD(token_fill(id, rec, &ti));
	SKR_ENSURE(!ti.revoked, SKR_ERR_AUTH_REVOKED);
	SKR_ENSURE(ti.p.expires == 0 || now < ti.p.expires,
	    SKR_ERR_AUTH_EXPIRED);
	*out = ti.p;
out:
	json_decref(rec);
	skr_buf_free(&want);
	return r;
}

static int
token_id_ok(const char *id)
{
	size_t i;

	if (id == NULL || strnlen(id, TOKEN_ID_HEX + 1) != TOKEN_ID_HEX)
		return 0;
	for (i = 0; i < TOKEN_ID_HEX; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

int
skr_store_token_get(skr_txn *txn, const char *id, skr_token_info *out)
{
	char idc[TOKEN_ID_HEX + 1];
	json_t *rec;
	int r;

	/* id may point into *out (ti.p.id): copy it before clearing. */
	if (txn == NULL || !token_id_ok(id)) {
		memset(out, 0, sizeof(*out));
		return txn == NULL ? SKR_ERR_INVAL : SKR_ERR_NOT_FOUND;
	}
	memcpy(idc, id, sizeof(idc));
	memset(out, 0, sizeof(*out));
	if ((r = skr__rec_get_json(txn, DB_TOKENS, idc, TOKEN_ID_HEX, &rec)) !=
	    SKR_OK)
		return r;
	r = token_fill(idc, rec, out);
	json_decref(rec);
	return r;
}

struct token_page {
	skr_token_info *items;
	size_t n;
};

static int
token_item(void *arg, skr_txn *txn, const uint8_t *k, size_t kl,
    const uint8_t *v, size_t vl, size_t index)
{
	struct token_page *tp = arg;
	char id[TOKEN_ID_HEX + 1];
	json_t *rec;
	int r;

	if (kl != TOKEN_ID_HEX)
		return SKR_ERR_STORE;
	memcpy(id, k, kl);
	id[kl] = '\0';
	if ((rec = json_loadb((const char *)v, vl, 0, NULL)) == NULL)
		return SKR_ERR_STORE;
	r = token_fill(id, rec, &tp->items[index]);
	json_decref(rec);
	if (r == SKR_OK)
		tp->n = index + 1;
	return r;
}

int
skr_store_token_list(skr_txn *txn, const char *marker, size_t maxresults,
    skr_token_info **items, size_t *n, char **next)
{
	struct token_page tp = { NULL, 0 };
	size_t max = skr__page_max(maxresults);
	int r;

	*items = NULL;
	*n = 0;
	*next = NULL;
	if (txn == NULL)
		return SKR_ERR_INVAL;
	if ((tp.items = calloc(max, sizeof(*tp.items))) == NULL)
		return SKR_ERR_NOMEM;
	r = skr__page_walk(txn, DB_TOKENS, 't', NULL, marker, max, token_item,
	    &tp, next);
	if (r != SKR_OK) {
		free(tp.items);
		return r;
	}
	*items = tp.items;
	*n = tp.n;
	return SKR_OK;
}

int
skr_store_token_revoke(skr_txn *txn, const char *id, int64_t now)
{
	json_t *rec = NULL;
	int r;

	if (txn == NULL || !txn->write)
		return SKR_ERR_INVAL;
	if (!token_id_ok(id))
		return SKR_ERR_NOT_FOUND;
	SKR_GUARD(skr__rec_get_json(txn, DB_TOKENS, id, TOKEN_ID_HEX, &rec));
	if (!jbool(rec, "revoked")) {
		SKR_GUARD(jset(rec, "revoked", json_true()));
		SKR_GUARD(jset(rec, "revoked_date", json_integer(now)));
		SKR_GUARD(skr__rec_put_json(txn, DB_TOKENS, id, TOKEN_ID_HEX,
		    rec));
	}
out:
	json_decref(rec);
	return r;
}
