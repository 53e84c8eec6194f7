#include "audit.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encoding.h"
#include "guard.h"
#include "skr/error.h"

#define MAX_DEPTH 8
#define QUERY_MAX 1000
#define QUERY_SCAN 100000

/* Member names that would only ever hold key material or credentials. */
static const char *const forbidden[] = {
	"d", "p", "q", "dp", "dq", "qi", "k", "key_hsm", "token", "target",
	"authorization", "secret",
};

static int
record_safe(const json_t *v, int depth)
{
	const char *k;
	json_t *m;
	size_t i;

	if (depth > MAX_DEPTH)
		return SKR_ERR_INVAL;
	if (json_is_string(v))
		return json_string_length(v) <= SKR_AUDIT_MAX_STRING ?
		    SKR_OK : SKR_ERR_INVAL;
	if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if (record_safe(m, depth + 1) != SKR_OK)
				return SKR_ERR_INVAL;
		return SKR_OK;
	}
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, m) {
			for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]);
			    i++)
				if (strcasecmp(k, forbidden[i]) == 0)
					return SKR_ERR_INVAL;
			if (record_safe(m, depth + 1) != SKR_OK)
				return SKR_ERR_INVAL;
		}
	}
	return SKR_OK;
}

/* Set o[k] = v, taking v; a NULL v (a failed allocation) is out of memory
 * too. */
static int
jset(json_t *o, const char *k, json_t *v)
{
	if (v == NULL)
		return SKR_ERR_NOMEM;
	return json_object_set_new(o, k, v) == 0 ? SKR_OK : SKR_ERR_NOMEM;
}

/* ---- records --------------------------------------------------------------- */

static void
detail_add(skr_audit_rec *rec, const char *name, const char *str,
    int64_t num)
{
	if (rec->ndetail >= SKR_AUDIT_DETAIL_MAX) {
		rec->overflow = 1;
		return;
	}
	rec->detail[rec->ndetail].name = name;
	rec->detail[rec->ndetail].str = str;
	rec->detail[rec->ndetail].num = num;
	rec->ndetail++;
}

void
skr_audit_detail_str(skr_audit_rec *rec, const char *name, const char *v)
{
	if (v != NULL)
		detail_add(rec, name, v, 0);
}

void
skr_audit_detail_int(skr_audit_rec *rec, const char *name, int64_t v)
{
	detail_add(rec, name, NULL, v);
}

/* o[k] = v when v says something. */
static int
set_str(json_t *o, const char *k, const char *v)
{
	if (v == NULL || *v == '\0')
		return SKR_OK;
	return jset(o, k, json_string(v));
}

static int
outcome_known(const char *s)
{
	return s != NULL && (strcmp(s, "ok") == 0 ||
	    strcmp(s, "denied") == 0 || strcmp(s, "error") == 0);
}

static int
detail_build(const skr_audit_rec *rec, json_t *o)
{
	json_t *d;
	size_t i;
	int r;

	if (rec->ndetail == 0)
		return SKR_OK;
	if ((d = json_object()) == NULL)
		return SKR_ERR_NOMEM;
	for (i = 0; i < rec->ndetail; i++) {
		if (rec->detail[i].name == NULL) {
			json_decref(d);
			return SKR_ERR_INVAL;
		}
		r = jset(d, rec->detail[i].name, rec->detail[i].str != NULL ?
		    json_string(rec->detail[i].str) :
		    json_integer((json_int_t)rec->detail[i].num));
		if (r != SKR_OK) {
			json_decref(d);
			return r;
		}
	}
	return jset(o, "detail", d);
}

int
skr_audit_build(const skr_audit_rec *rec, json_t **out)
{
	json_t *o = NULL;
	int r;

	*out = NULL;
	if (rec == NULL || rec->event == NULL || *rec->event == '\0' ||
	    !outcome_known(rec->outcome) || rec->overflow)
		return SKR_ERR_INVAL;
	SKR_ENSURE((o = json_object()) != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(set_str(o, "event", rec->event));
	SKR_GUARD(set_str(o, "outcome", rec->outcome));
	SKR_GUARD(set_str(o, "reason", rec->reason));
	SKR_GUARD(set_str(o, "principal", rec->principal));
	SKR_GUARD(set_str(o, "peer", rec->peer));
	SKR_GUARD(set_str(o, "request_id", rec->request_id));
	SKR_GUARD(set_str(o, "key", rec->key));
	SKR_GUARD(set_str(o, "version", rec->version));
	SKR_GUARD(set_str(o, "iss", rec->iss));
	SKR_GUARD(set_str(o, "jti", rec->jti));
	SKR_GUARD(set_str(o, "attestation_type", rec->attestation_type));
	SKR_GUARD(set_str(o, "trace_digest", rec->trace_digest));
	SKR_GUARD(detail_build(rec, o));
	/* Refused here as skr_audit_append would refuse it, so that a record
	 * never reaches a transaction it would fail. */
	SKR_GUARD(record_safe(o, 0));
	*out = o;
	o = NULL;
out:
	json_decref(o);
	return r;
}

/* ---- the chain in the store --------------------------------------------- */

static int
head_get(skr_txn *txn, uint64_t *seq, uint8_t hash[SKR_AUDIT_HASH_LEN])
{
	const void *v;
	size_t vl;
	int r;

	r = skr__store_get(txn, SKR__DB_META, SKR__AUDIT_HEAD_KEY,
	    strlen(SKR__AUDIT_HEAD_KEY), &v, &vl);
	if (r == SKR_ERR_NOT_FOUND) {
		*seq = 0;
		memset(hash, 0, SKR_AUDIT_HASH_LEN);
		return SKR_OK;
	}
	if (r != SKR_OK)
		return r;
	return skr__audit_head_get(v, vl, seq, hash);
}

int
skr_audit_head(skr_txn *txn, uint64_t *seq, char hashhex[SKR_AUDIT_HASH_HEX + 1])
{
	uint8_t hash[SKR_AUDIT_HASH_LEN];
	int r;

	if (txn == NULL || seq == NULL)
		return SKR_ERR_INVAL;
	if ((r = head_get(txn, seq, hash)) != SKR_OK)
		return r;
	if (hashhex != NULL)
		skr_hex_text(hashhex, hash, SKR_AUDIT_HASH_LEN);
	return SKR_OK;
}

int
skr_audit_append(skr_txn *txn, const json_t *record, int64_t now,
    uint64_t *seqp)
{
	uint8_t prev[SKR_AUDIT_HASH_LEN], hash[SKR_AUDIT_HASH_LEN], k[8];
	uint8_t head[SKR__AUDIT_HEAD_LEN];
	char prevhex[SKR_AUDIT_HASH_HEX + 1], hashhex[SKR_AUDIT_HASH_HEX + 1];
	json_t *rec = NULL;
	skr_txn *sub = NULL;
	char *text = NULL;
	uint64_t seq;
	int r;

	if (seqp != NULL)
		*seqp = 0;
	if (txn == NULL || !json_is_object(record) ||
	    !skr__store_txn_writable(txn))
		return SKR_ERR_INVAL;
	if ((r = record_safe(record, 0)) != SKR_OK)
		return r;
	if ((rec = json_deep_copy(record)) == NULL)
		return SKR_ERR_NOMEM;
	SKR_GUARD(head_get(txn, &seq, prev));
	seq++;
	skr_hex_text(prevhex, prev, SKR_AUDIT_HASH_LEN);
	json_object_del(rec, "hash");
	SKR_GUARD(jset(rec, "seq", json_integer((json_int_t)seq)));
	SKR_GUARD(jset(rec, "time", json_integer(now)));
	SKR_GUARD(jset(rec, "prev", json_string(prevhex)));
	SKR_GUARD(skr__audit_record_hash(rec, hash));
	skr_hex_text(hashhex, hash, SKR_AUDIT_HASH_LEN);
	SKR_GUARD(jset(rec, "hash", json_string(hashhex)));
	SKR_ENSURE((text = json_dumps(rec, JSON_SORT_KEYS | JSON_COMPACT)) !=
	    NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(strlen(text) <= SKR_AUDIT_MAX_RECORD, SKR_ERR_TOO_LARGE);
	skr__audit_seq_put(k, seq);
	skr__audit_head_put(head, seq, hash);
	/* Record and head move together or not at all. */
	SKR_GUARD(skr__store_sub_begin(txn, &sub));
	if ((r = skr__store_put(sub, SKR__DB_AUDIT, k, 8, text,
	    strlen(text))) == SKR_OK)
		r = skr__store_put(sub, SKR__DB_META, SKR__AUDIT_HEAD_KEY,
		    strlen(SKR__AUDIT_HEAD_KEY), head, sizeof(head));
	r = skr__store_sub_end(sub, r);
	if (r == SKR_OK && seqp != NULL)
		*seqp = seq;
out:
	free(text);
	json_decref(rec);
	return r;
}

/* ---- verification ------------------------------------------------------- */

void
skr_audit_verifier_init(skr_audit_verifier *v)
{
	memset(v, 0, sizeof(*v));
	skr__audit_walk_init(&v->w);
	v->started = 1;
}

struct step {
	skr__audit_walk *w;
	size_t left;        /* records this step may still check */
	int stopped;        /* left ran out before the last record */
};

static int
verify_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct step *s = arg;

	if (s->left == 0) {
		s->stopped = 1;
		return 1;
	}
	s->left--;
	return skr__audit_walk_step(s->w, k, kl, v, vl);
}

int
skr_audit_verify_step(skr_txn *txn, skr_audit_verifier *v, size_t max)
{
	struct step s = { &v->w, max > 0 ? max : SIZE_MAX, 0 };
	uint8_t k[8], hhash[SKR_AUDIT_HASH_LEN];
	uint64_t hseq;
	int r;

	if (txn == NULL || !v->started)
		return SKR_ERR_INVAL;
	/* From the next seq the walk expects: a record missing there is a
	 * gap the walk reports. */
	skr__audit_seq_put(k, v->w.expect);
	if ((r = skr__store_walk(txn, SKR__DB_AUDIT, k, sizeof(k), verify_one,
	    &s)) != SKR_OK)
		return r;
	if (s.stopped)
		return SKR_AUDIT_MORE;
	/* The last record of this snapshot: its head must name it. */
	if ((r = head_get(txn, &hseq, hhash)) != SKR_OK)
		return r;
	return skr__audit_walk_end(&v->w, hseq, hhash);
}

void
skr_audit_verifier_report(const skr_audit_verifier *v, int r,
    uint64_t *count, uint64_t *broken)
{
	if (count != NULL)
		*count = 0;
	if (broken != NULL)
		*broken = 0;
	skr__audit_walk_report(&v->w, r, count, broken);
}

int
skr_audit_verify(skr_txn *txn, uint64_t *count, uint64_t *broken)
{
	skr_audit_verifier v;
	int r;

	skr_audit_verifier_init(&v);
	r = skr_audit_verify_step(txn, &v, 0);
	skr_audit_verifier_report(&v, r, count, broken);
	return r;
}

/* ---- queries --------------------------------------------------------------- */

struct query_state {
	const skr_audit_filter *f;
	size_t max;
	json_t *out;
	size_t scanned;
	uint64_t last;      /* last seq examined */
	int more;           /* stopped with records left */
	int err;
};

static int
match(const skr_audit_filter *f, const json_t *rec)
{
	const char *s;
	int64_t t;

	if (f == NULL)
		return 1;
	if (f->key != NULL && ((s = json_string_value(json_object_get(rec,
	    "key"))) == NULL || strcasecmp(s, f->key) != 0))
		return 0;
	if (f->event != NULL && ((s = json_string_value(json_object_get(rec,
	    "event"))) == NULL || strcmp(s, f->event) != 0))
		return 0;
	if (f->outcome != NULL && ((s = json_string_value(json_object_get(rec,
	    "outcome"))) == NULL || strcmp(s, f->outcome) != 0))
		return 0;
	t = json_integer_value(json_object_get(rec, "time"));
	if (f->since != 0 && t < f->since)
		return 0;
	if (f->until != 0 && t >= f->until)
		return 0;
	return 1;
}

static int
query_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct query_state *qs = arg;
	json_t *rec;

	if (json_array_size(qs->out) >= qs->max ||
	    qs->scanned >= QUERY_SCAN) {
		qs->more = 1;
		return 1;
	}
	if (kl != 8)
		return SKR_ERR_STORE;
	qs->scanned++;
	qs->last = skr__audit_seq_get(k);
	rec = json_loadb(v, vl, 0, NULL);
	if (rec == NULL)
		return SKR_ERR_STORE;
	if (match(qs->f, rec) && json_array_append(qs->out, rec) != 0) {
		json_decref(rec);
		return SKR_ERR_NOMEM;
	}
	json_decref(rec);
	return SKR_OK;
}

int
skr_audit_query(skr_txn *txn, const skr_audit_filter *f, uint64_t after,
    size_t max, json_t **records, uint64_t *next)
{
	struct query_state qs;
	uint8_t k[8];
	int r;

	*records = NULL;
	*next = 0;
	if (txn == NULL || after == UINT64_MAX)
		return SKR_ERR_INVAL;
	memset(&qs, 0, sizeof(qs));
	qs.f = f;
	qs.max = max == 0 ? SKR_PAGE_MAX : (max > QUERY_MAX ? QUERY_MAX : max);
	if ((qs.out = json_array()) == NULL)
		return SKR_ERR_NOMEM;
	skr__audit_seq_put(k, after + 1);
	r = skr__store_walk(txn, SKR__DB_AUDIT, k, 8, query_one, &qs);
	if (r != SKR_OK) {
		json_decref(qs.out);
		return r;
	}
	*records = qs.out;
	*next = qs.more ? qs.last : 0;
	return SKR_OK;
}
