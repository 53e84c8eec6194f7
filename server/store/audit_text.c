/*
 * A record of the chain written straight from its skr_audit_rec, without a
 * jansson tree: the text skr_audit_append stores for the same record --
 * json_dumps(JSON_SORT_KEYS | JSON_COMPACT) of the built record with seq,
 * time, prev and hash -- byte for byte, so that the chain's hashes verify
 * as before (tests/server/store/test_audit_commit.c compares the two).  It
 * refuses what skr_audit_build and skr_audit_append refuse, with their
 * errors.  The committer (audit_commit.c) appends every record it commits
 * this way.
 */
#include "store_priv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "encoding.h"
#include "guard.h"
#include "jwrite.h"
#include "opcache.h"
#include "skr/error.h"

/* Member names that would only ever hold key material or credentials
 * (audit.c's list: the same refusal). */
static const char *const forbidden[] = {
	"d", "p", "q", "dp", "dq", "qi", "k", "key_hsm", "token", "target",
	"authorization", "secret",
};

static int
outcome_known(const char *s)
{
	return s != NULL && (strcmp(s, "ok") == 0 ||
	    strcmp(s, "denied") == 0 || strcmp(s, "error") == 0);
}

/* A member, in key order.  Writes ,"name":"value" (no comma first). */
static int
str_member(skr_buf *out, int *first, const char *name, const char *v)
{
	size_t n;
	int r;

	if (v == NULL || *v == '\0')
		return SKR_OK;
	n = strlen(v);
	if (n > SKR_AUDIT_MAX_STRING)
		return SKR_ERR_INVAL;
	if (!*first && (r = skr_buf_append_byte(out, ',')) != SKR_OK)
		return r;
	*first = 0;
	if ((r = skr_jw_key(out, name)) != SKR_OK)
		return r;
	/* jansson cannot make a string that is not UTF-8: skr_audit_build
	 * reports that as out of memory. */
	r = skr_jw_str(out, v, n);
	return r == SKR_ERR_INVAL ? SKR_ERR_NOMEM : r;
}

static int
int_member(skr_buf *out, int *first, const char *name, int64_t v)
{
	int r;

	if (!*first && (r = skr_buf_append_byte(out, ',')) != SKR_OK)
		return r;
	*first = 0;
	if ((r = skr_jw_key(out, name)) != SKR_OK)
		return r;
	return skr_jw_int(out, v);
}

static int
detail_cmp(const void *a, const void *b)
{
	const char *x = **(const char *const *const *)a;
	const char *y = **(const char *const *const *)b;
	int c = strcmp(x, y);

	/* Equal names: the later one wins, as json_object_set_new keeps
	 * the last; sorting by address keeps their order. */
	return c != 0 ? c : (a < b ? -1 : a > b);
}

/* ,"detail":{...} members sorted; an object that repeats a name keeps the
 * last value, as the tree did. */
static int
detail_member(skr_buf *out, int *first, const skr_audit_rec *rec)
{
	const char *const *order[SKR_AUDIT_DETAIL_MAX];
	size_t i, j, n = rec->ndetail;
	int r, dfirst = 1;

	if (n == 0)
		return SKR_OK;
	for (i = 0; i < n; i++) {
		if (rec->detail[i].name == NULL)
			return SKR_ERR_INVAL;
		for (j = 0; j < sizeof(forbidden) / sizeof(forbidden[0]); j++)
			if (strcasecmp(rec->detail[i].name, forbidden[j]) == 0)
				return SKR_ERR_INVAL;
		order[i] = &rec->detail[i].name;
	}
	qsort(order, n, sizeof(order[0]), detail_cmp);
	if (!*first && (r = skr_buf_append_byte(out, ',')) != SKR_OK)
		return r;
	*first = 0;
	if ((r = skr_buf_append_str(out, "\"detail\":{")) != SKR_OK)
		return r;
	for (i = 0; i < n; i++) {
		const char *const *p = order[i];
		size_t k = (size_t)((const char *)p - (const char *)
		    &rec->detail[0].name) / sizeof(rec->detail[0]);
		const char *v = rec->detail[k].str;

		if (i + 1 < n && strcmp(*order[i + 1], *p) == 0)
			continue;
		if (!dfirst && (r = skr_buf_append_byte(out, ',')) != SKR_OK)
			return r;
		dfirst = 0;
		if ((r = skr_jw_key(out, *p)) != SKR_OK)
			return r;
		if (v == NULL)
			r = skr_jw_int(out, rec->detail[k].num);
		else if (strlen(v) > SKR_AUDIT_MAX_STRING)
			r = SKR_ERR_INVAL;
		else if ((r = skr_jw_cstr(out, v)) == SKR_ERR_INVAL)
			r = SKR_ERR_NOMEM;
		if (r != SKR_OK)
			return r;
	}
	return skr_buf_append_byte(out, '}');
}

/* The members before "hash" (attestation_type, detail, event) and after
 * it, each in key order. */
static int
members_before(skr_buf *out, const skr_audit_rec *rec)
{
	int r, first = 1;

	SKR_GUARD(str_member(out, &first, "attestation_type",
	    rec->attestation_type));
	SKR_GUARD(detail_member(out, &first, rec));
	r = str_member(out, &first, "event", rec->event);
out:
	return r;
}

static int
members_after(skr_buf *out, const skr_audit_rec *rec, uint64_t seq,
    int64_t now, const char prevhex[SKR_AUDIT_HASH_HEX + 1])
{
	int r, first = 1;

	SKR_GUARD(str_member(out, &first, "iss", rec->iss));
	SKR_GUARD(str_member(out, &first, "jti", rec->jti));
	SKR_GUARD(str_member(out, &first, "key", rec->key));
	SKR_GUARD(str_member(out, &first, "outcome", rec->outcome));
	SKR_GUARD(str_member(out, &first, "peer", rec->peer));
	SKR_GUARD(str_member(out, &first, "prev", prevhex));
	SKR_GUARD(str_member(out, &first, "principal", rec->principal));
	SKR_GUARD(str_member(out, &first, "reason", rec->reason));
	SKR_GUARD(str_member(out, &first, "request_id", rec->request_id));
	SKR_GUARD(int_member(out, &first, "seq", (int64_t)seq));
	SKR_GUARD(int_member(out, &first, "time", now));
	SKR_GUARD(str_member(out, &first, "trace_digest", rec->trace_digest));
	r = str_member(out, &first, "version", rec->version);
out:
	return r;
}

int
skr__audit_text(const skr_audit_rec *rec, uint64_t seq, int64_t now,
    const uint8_t prev[SKR_AUDIT_HASH_LEN], skr_buf *text,
    uint8_t hash[SKR_AUDIT_HASH_LEN])
{
	char prevhex[SKR_AUDIT_HASH_HEX + 1], hashhex[SKR_AUDIT_HASH_HEX + 1];
	skr_buf before = SKR_BUF_INIT, after = SKR_BUF_INIT;
	unsigned int len = 0;
	size_t start = text->len;
	int r;

	if (rec == NULL || rec->event == NULL || *rec->event == '\0' ||
	    !outcome_known(rec->outcome) || rec->overflow ||
	    seq > (uint64_t)INT64_MAX)
		return SKR_ERR_INVAL;
	skr_hex_text(prevhex, prev, SKR_AUDIT_HASH_LEN);
	SKR_GUARD(members_before(&before, rec));
	SKR_GUARD(members_after(&after, rec, seq, now, prevhex));
	/* The hash is over the record without "hash" ... */
	SKR_GUARD(skr_buf_append_byte(text, '{'));
	SKR_GUARD(skr_buf_append(text, before.data, before.len));
	SKR_GUARD(skr_buf_append_byte(text, ','));
	SKR_GUARD(skr_buf_append(text, after.data, after.len));
	SKR_GUARD(skr_buf_append_byte(text, '}'));
	SKR_ENSURE(EVP_Digest(text->data + start, text->len - start, hash,
	    &len, skr_opcache_sha256(), NULL) == 1 && len == SKR_AUDIT_HASH_LEN,
	    SKR_ERR_CRYPTO);
	skr_hex_text(hashhex, hash, SKR_AUDIT_HASH_LEN);
	/* ... and the stored text has it in its place, after "event". */
	text->len = start;
	SKR_GUARD(skr_buf_append_byte(text, '{'));
	SKR_GUARD(skr_buf_append(text, before.data, before.len));
	SKR_GUARD(skr_buf_append_str(text, ",\"hash\":\""));
	SKR_GUARD(skr_buf_append(text, hashhex, SKR_AUDIT_HASH_HEX));
	SKR_GUARD(skr_buf_append_str(text, "\","));
	SKR_GUARD(skr_buf_append(text, after.data, after.len));
	SKR_GUARD(skr_buf_append_byte(text, '}'));
	SKR_ENSURE(text->len - start <= SKR_AUDIT_MAX_RECORD,
	    SKR_ERR_TOO_LARGE);
out:
	if (r != SKR_OK && text->data != NULL) {
		text->len = start;
		text->data[start] = '\0';
	}
	skr_buf_free(&before);
	skr_buf_free(&after);
	return r;
}
