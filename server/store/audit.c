#include "audit.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <lmdb.h>
#include <openssl/evp.h>

#include "encoding.h"
#include "skr/error.h"

/* meta "audit.head" = u64 BE seq || SHA-256 of that record. */
#define HEAD_KEY "audit.head"
#define HASH_LEN 32
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

static void
be64_put(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* SHA-256 of the canonical text of rec without its "hash" member. */
static int
record_hash(const json_t *rec, uint8_t out[HASH_LEN])
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
	ok = EVP_Digest(text, strlen(text), out, &len, EVP_sha256(), NULL) ==
	    1 && len == HASH_LEN;
	free(text);
	return ok ? SKR_OK : SKR_ERR_CRYPTO;
}

static int
head_get(skr_txn *txn, uint64_t *seq, uint8_t hash[HASH_LEN])
{
	const void *v;
	size_t vl;
	int r;

	r = skr__store_get(txn, SKR__DB_META, HEAD_KEY, strlen(HEAD_KEY), &v,
	    &vl);
	if (r == SKR_ERR_NOT_FOUND) {
		*seq = 0;
		memset(hash, 0, HASH_LEN);
		return SKR_OK;
	}
	if (r != SKR_OK)
		return r;
	if (vl != 8 + HASH_LEN)
		return SKR_ERR_STORE;
	*seq = be64_get(v);
	memcpy(hash, (const uint8_t *)v + 8, HASH_LEN);
	return SKR_OK;
}

int
skr_audit_head(skr_txn *txn, uint64_t *seq, char hashhex[SKR_AUDIT_HASH_HEX + 1])
{
	uint8_t hash[HASH_LEN];
	int r;

	if (txn == NULL || seq == NULL)
		return SKR_ERR_INVAL;
	if ((r = head_get(txn, seq, hash)) != SKR_OK)
		return r;
	if (hashhex != NULL)
		skr_hex_text(hashhex, hash, HASH_LEN);
	return SKR_OK;
}

static int
jset(json_t *o, const char *k, json_t *v)
{
	if (v == NULL)
		return SKR_ERR_NOMEM;
	return json_object_set_new(o, k, v) == 0 ? SKR_OK : SKR_ERR_NOMEM;
}

int
skr_audit_append(skr_txn *txn, const json_t *record, int64_t now,
    uint64_t *seqp)
{
	uint8_t prev[HASH_LEN], hash[HASH_LEN], k[8], head[8 + HASH_LEN];
	char prevhex[2 * HASH_LEN + 1], hashhex[2 * HASH_LEN + 1];
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
	if ((r = head_get(txn, &seq, prev)) != SKR_OK)
		goto out;
	seq++;
	skr_hex_text(prevhex, prev, HASH_LEN);
	json_object_del(rec, "hash");
	if ((r = jset(rec, "seq", json_integer((json_int_t)seq))) != SKR_OK ||
	    (r = jset(rec, "time", json_integer(now))) != SKR_OK ||
	    (r = jset(rec, "prev", json_string(prevhex))) != SKR_OK ||
	    (r = record_hash(rec, hash)) != SKR_OK)
		goto out;
	skr_hex_text(hashhex, hash, HASH_LEN);
	if ((r = jset(rec, "hash", json_string(hashhex))) != SKR_OK)
		goto out;
	if ((text = json_dumps(rec, JSON_SORT_KEYS | JSON_COMPACT)) == NULL) {
		r = SKR_ERR_NOMEM;
		goto out;
	}
	if (strlen(text) > SKR_AUDIT_MAX_RECORD) {
		r = SKR_ERR_TOO_LARGE;
		goto out;
	}
	be64_put(k, seq);
	be64_put(head, seq);
	memcpy(head + 8, hash, HASH_LEN);
	/* Record and head move together or not at all. */
	if ((r = skr__store_sub_begin(txn, &sub)) != SKR_OK)
		goto out;
	if ((r = skr__store_put(sub, SKR__DB_AUDIT, k, 8, text,
	    strlen(text))) == SKR_OK)
		r = skr__store_put(sub, SKR__DB_META, HEAD_KEY,
		    strlen(HEAD_KEY), head, sizeof(head));
	r = skr__store_sub_end(sub, r);
	if (r == SKR_OK && seqp != NULL)
		*seqp = seq;
out:
	free(text);
	json_decref(rec);
	return r;
}

int
skr_audit_log(skr_store *st, const json_t *record, int64_t now,
    uint64_t *seq)
{
	skr_txn *txn = NULL;
	int r;

	if ((r = skr_store_txn_begin(st, SKR_TXN_WRITE, &txn)) != SKR_OK)
		return r;
	if ((r = skr_audit_append(txn, record, now, seq)) != SKR_OK) {
		skr_store_txn_abort(txn);
		return r;
	}
	return skr_store_txn_commit(txn);
}

/* ---- verification ------------------------------------------------------- */

struct verify_state {
	uint64_t expect;   /* next seq */
	uint8_t prev[HASH_LEN];
	uint64_t broken;
	uint64_t count;
};

static int
verify_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct verify_state *vs = arg;
	char prevhex[2 * HASH_LEN + 1], hashhex[2 * HASH_LEN + 1];
	uint8_t hash[HASH_LEN];
	json_t *rec = NULL, *js;
	const char *s;
	uint64_t seq;
	int ok = 0;

	if (kl != 8) {
		vs->broken = vs->expect;
		return SKR_ERR_AUDIT_BROKEN;
	}
	seq = be64_get(k);
	if (seq != vs->expect) {
		/* A gap: the first missing record is what broke. */
		vs->broken = seq < vs->expect ? seq : vs->expect;
		return SKR_ERR_AUDIT_BROKEN;
	}
	skr_hex_text(prevhex, vs->prev, HASH_LEN);
	rec = json_loadb(v, vl, JSON_REJECT_DUPLICATES, NULL);
	js = json_object_get(rec, "seq");
	if (json_is_object(rec) && json_is_integer(js) &&
	    (uint64_t)json_integer_value(js) == seq &&
	    (s = json_string_value(json_object_get(rec, "prev"))) != NULL &&
	    strcmp(s, prevhex) == 0 &&
	    (s = json_string_value(json_object_get(rec, "hash"))) != NULL &&
	    record_hash(rec, hash) == SKR_OK) {
		skr_hex_text(hashhex, hash, HASH_LEN);
		ok = strcmp(s, hashhex) == 0;
	}
	json_decref(rec);
	if (!ok) {
		vs->broken = seq;
		return SKR_ERR_AUDIT_BROKEN;
	}
	memcpy(vs->prev, hash, HASH_LEN);
	vs->expect++;
	vs->count++;
	return SKR_OK;
}

/* After the walk: the head in meta must name the last record. */
static int
verify_head(struct verify_state *vs, uint64_t hseq,
    const uint8_t hhash[HASH_LEN])
{
	if (hseq == vs->expect - 1 && skr_ct_equal(hhash, vs->prev, HASH_LEN))
		return SKR_OK;
	/* Records cut from the end, or a head rewritten. */
	vs->broken = hseq > vs->expect - 1 ? vs->expect : hseq;
	if (vs->broken == 0)
		vs->broken = 1;
	return SKR_ERR_AUDIT_BROKEN;
}

static void
verify_out(const struct verify_state *vs, int r, uint64_t *count,
    uint64_t *broken)
{
	if (count != NULL)
		*count = vs->count;
	if (broken != NULL && r == SKR_ERR_AUDIT_BROKEN)
		*broken = vs->broken;
}

int
skr_audit_verify(skr_txn *txn, uint64_t *count, uint64_t *broken)
{
	struct verify_state vs;
	uint8_t hhash[HASH_LEN];
	uint64_t hseq;
	int r;

	if (count != NULL)
		*count = 0;
	if (broken != NULL)
		*broken = 0;
	if (txn == NULL)
		return SKR_ERR_INVAL;
	memset(&vs, 0, sizeof(vs));
	vs.expect = 1;
	if ((r = head_get(txn, &hseq, hhash)) != SKR_OK)
		return r;
	r = skr__store_walk(txn, SKR__DB_AUDIT, NULL, 0, verify_one, &vs);
	if (r == SKR_OK)
		r = verify_head(&vs, hseq, hhash);
	verify_out(&vs, r, count, broken);
	return r;
}

int
skr_audit_verify_dir(const char *dir, uint64_t *count, uint64_t *broken)
{
	struct verify_state vs;
	char path[4096];
	uint8_t hhash[HASH_LEN];
	uint64_t hseq = 0;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi meta, audit;
	MDB_val key, val;
	struct stat sb;
	int r, rc, n;

	if (count != NULL)
		*count = 0;
	if (broken != NULL)
		*broken = 0;
	if (dir == NULL)
		return SKR_ERR_INVAL;
	n = snprintf(path, sizeof(path), "%s/%s", dir, SKR_STORE_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		return SKR_ERR_INVAL;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
		return SKR_ERR_STORE;
	memset(&vs, 0, sizeof(vs));
	vs.expect = 1;
	r = SKR_ERR_STORE;
	if (mdb_env_create(&env) != MDB_SUCCESS)
		return SKR_ERR_NOMEM;
	if (mdb_env_set_maxdbs(env, 16) != MDB_SUCCESS ||
	    mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOTLS,
	    0600) != MDB_SUCCESS ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != MDB_SUCCESS)
		goto out;
	/* The audit chain is the same in every schema this build knows
	 * (skr_store_open migrates the rest; this never writes). */
	r = SKR_ERR_STORE_SCHEMA;
	key.mv_data = (void *)"schema";
	key.mv_size = 6;
	if (mdb_dbi_open(txn, "meta", 0, &meta) != MDB_SUCCESS ||
	    mdb_get(txn, meta, &key, &val) != MDB_SUCCESS ||
	    val.mv_size != 1 ||
	    *(const char *)val.mv_data < '0' + SKR_STORE_SCHEMA_OLDEST ||
	    *(const char *)val.mv_data > '0' + SKR_STORE_SCHEMA_VERSION ||
	    mdb_dbi_open(txn, "audit", 0, &audit) != MDB_SUCCESS)
		goto out;
	r = SKR_ERR_STORE;
	key.mv_data = (void *)HEAD_KEY;
	key.mv_size = strlen(HEAD_KEY);
	rc = mdb_get(txn, meta, &key, &val);
	if (rc == MDB_SUCCESS && val.mv_size == 8 + HASH_LEN) {
		hseq = be64_get(val.mv_data);
		memcpy(hhash, (const uint8_t *)val.mv_data + 8, HASH_LEN);
	} else if (rc == MDB_NOTFOUND)
		memset(hhash, 0, HASH_LEN);
	else
		goto out;
	if (mdb_cursor_open(txn, audit, &cur) != MDB_SUCCESS)
		goto out;
	r = SKR_OK;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	    rc == MDB_SUCCESS && r == SKR_OK;
	    rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
		r = verify_one(&vs, key.mv_data, key.mv_size, val.mv_data,
		    val.mv_size);
	if (r == SKR_OK && rc != MDB_NOTFOUND)
		r = SKR_ERR_STORE;
	if (r == SKR_OK)
		r = verify_head(&vs, hseq, hhash);
	verify_out(&vs, r, count, broken);
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
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
	qs->last = be64_get(k);
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
	be64_put(k, after + 1);
	r = skr__store_walk(txn, SKR__DB_AUDIT, k, 8, query_one, &qs);
	if (r != SKR_OK) {
		json_decref(qs.out);
		return r;
	}
	*records = qs.out;
	*next = qs.more ? qs.last : 0;
	return SKR_OK;
}
