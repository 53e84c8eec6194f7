/*
 * The etcd v3 JSON gateway's messages (etcd_codec.h).  Requests are built
 * with jansson; responses are parsed with the strict JSON parser
 * (duplicates and trailing bytes refused) and then member by member.
 */
#include "etcd_codec.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "encoding.h"
#include "guard.h"
#include "json.h"
#include "skr/error.h"

#define DEPTH_MAX 16

/* ---- building --------------------------------------------------------- */

/* o[name] = base64(p, n), the protobuf JSON form of bytes. */
static int
set_bytes(json_t *o, const char *name, const uint8_t *p, size_t n)
{
	skr_buf b = SKR_BUF_INIT;
	int r;

	if ((r = skr_b64_encode(&b, p, n)) == SKR_OK &&
	    json_object_set_new(o, name, json_string(skr_buf_cstr(&b))) != 0)
		r = SKR_ERR_NOMEM;
	skr_buf_free(&b);
	return r;
}

/* o[name] = the decimal string of v, the protobuf JSON form of int64. */
static int
set_int64(json_t *o, const char *name, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%lld", (long long)v);
	return json_object_set_new(o, name, json_string(s)) == 0 ? SKR_OK :
	    SKR_ERR_NOMEM;
}

static int
set_true(json_t *o, const char *name)
{
	return json_object_set_new(o, name, json_true()) == 0 ? SKR_OK :
	    SKR_ERR_NOMEM;
}

/* Serialise o (a reference is taken) into out, which is emptied first.
 * The intermediate text is wiped: requests may carry a password. */
static int
emit(json_t *o, skr_buf *out)
{
	char *s;
	int r;

	skr_buf_reset(out);
	if (o == NULL)
		return SKR_ERR_NOMEM;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return SKR_ERR_NOMEM;
	r = skr_buf_append_str(out, s);
	OPENSSL_cleanse(s, strlen(s));
	free(s);
	return r;
}

int
skr_etcd_range_req_build(const skr_etcd_range_req *req, skr_buf *out)
{
	json_t *o = json_object();
	int r;

	SKR_ENSURE(o != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(req->key != NULL && req->limit >= 0 && req->revision >= 0,
	    SKR_ERR_INVAL);
	SKR_GUARD(set_bytes(o, "key", req->key, req->key_len));
	if (req->range_end != NULL)
		SKR_GUARD(set_bytes(o, "range_end", req->range_end,
		    req->range_end_len));
	if (req->limit > 0)
		SKR_GUARD(set_int64(o, "limit", req->limit));
	if (req->revision > 0)
		SKR_GUARD(set_int64(o, "revision", req->revision));
	if (req->keys_only)
		SKR_GUARD(set_true(o, "keys_only"));
	if (req->count_only)
		SKR_GUARD(set_true(o, "count_only"));
	r = emit(o, out);
	o = NULL;
out:
	json_decref(o);
	return r;
}

static const char *const cmp_targets[] = { "MOD", "CREATE", "VERSION" };
static const char *const cmp_results[] = { "EQUAL", "GREATER", "LESS",
	"NOT_EQUAL" };
static const char *const cmp_members[] = { "mod_revision",
	"create_revision", "version" };

static int
cmp_build(const skr_etcd_cmp *c, json_t **out)
{
	json_t *o = json_object();
	int r;

	*out = NULL;
	SKR_ENSURE(o != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(c->key != NULL && c->target >= 0 && c->target <= 2 &&
	    c->result >= 0 && c->result <= 3 && c->value >= 0, SKR_ERR_INVAL);
	SKR_GUARD(set_bytes(o, "key", c->key, c->key_len));
	SKR_ENSURE(json_object_set_new(o, "target",
	    json_string(cmp_targets[c->target])) == 0 &&
	    json_object_set_new(o, "result",
	    json_string(cmp_results[c->result])) == 0, SKR_ERR_NOMEM);
	SKR_GUARD(set_int64(o, cmp_members[c->target], c->value));
	*out = o;
	o = NULL;
out:
	json_decref(o);
	return r;
}

static int
op_build(const skr_etcd_op *op, json_t **out)
{
	static const char *const names[] = { "request_range", "request_put",
		"request_delete_range" };
	json_t *o = NULL, *req = json_object();
	int r;

	*out = NULL;
	SKR_ENSURE(req != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(op->key != NULL && op->kind >= SKR_ETCD_OP_RANGE &&
	    op->kind <= SKR_ETCD_OP_DELETE, SKR_ERR_INVAL);
	SKR_GUARD(set_bytes(req, "key", op->key, op->key_len));
	if (op->kind == SKR_ETCD_OP_PUT)
		SKR_GUARD(set_bytes(req, "value", op->value != NULL ?
		    op->value : (const uint8_t *)"", op->value_len));
	else if (op->range_end != NULL)
		SKR_GUARD(set_bytes(req, "range_end", op->range_end,
		    op->range_end_len));
	SKR_ENSURE((o = json_object()) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(json_object_set_new(o, names[op->kind], req) == 0,
	    SKR_ERR_NOMEM);
	req = NULL;
	*out = o;
	o = NULL;
out:
	json_decref(req);
	json_decref(o);
	return r;
}

static int
ops_build(json_t *txn, const char *name, const skr_etcd_op *ops, size_t n)
{
	json_t *a, *e;
	size_t i;
	int r;

	if (n == 0)
		return SKR_OK;
	if ((a = json_array()) == NULL || json_object_set_new(txn, name, a) !=
	    0)
		return SKR_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if ((r = op_build(&ops[i], &e)) != SKR_OK)
			return r;
		if (json_array_append_new(a, e) != 0)
			return SKR_ERR_NOMEM;
	}
	return SKR_OK;
}

int
skr_etcd_txn_req_build(const skr_etcd_cmp *cmps, size_t ncmps,
    const skr_etcd_op *success, size_t nsuccess, const skr_etcd_op *failure,
    size_t nfailure, skr_buf *out)
{
	json_t *o = json_object(), *a, *e;
	size_t i;
	int r;

	SKR_ENSURE(o != NULL, SKR_ERR_NOMEM);
	if (ncmps > 0) {
		SKR_ENSURE((a = json_array()) != NULL &&
		    json_object_set_new(o, "compare", a) == 0, SKR_ERR_NOMEM);
		for (i = 0; i < ncmps; i++) {
			SKR_GUARD(cmp_build(&cmps[i], &e));
			SKR_ENSURE(json_array_append_new(a, e) == 0,
			    SKR_ERR_NOMEM);
		}
	}
	SKR_GUARD(ops_build(o, "success", success, nsuccess));
	SKR_GUARD(ops_build(o, "failure", failure, nfailure));
	r = emit(o, out);
	o = NULL;
out:
	json_decref(o);
	return r;
}

int
skr_etcd_watch_req_build(const uint8_t *key, size_t key_len,
    const uint8_t *range_end, size_t range_end_len, int64_t start_revision,
    skr_buf *out)
{
	json_t *o = NULL, *c = json_object();
	int r;

	SKR_ENSURE(c != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(key != NULL && start_revision >= 0, SKR_ERR_INVAL);
	SKR_GUARD(set_bytes(c, "key", key, key_len));
	if (range_end != NULL)
		SKR_GUARD(set_bytes(c, "range_end", range_end, range_end_len));
	if (start_revision > 0)
		SKR_GUARD(set_int64(c, "start_revision", start_revision));
	SKR_GUARD(set_true(c, "progress_notify"));
	SKR_ENSURE((o = json_object()) != NULL &&
	    json_object_set_new(o, "create_request", c) == 0, SKR_ERR_NOMEM);
	c = NULL;
	r = emit(o, out);
	o = NULL;
out:
	json_decref(c);
	json_decref(o);
	return r;
}

int
skr_etcd_compaction_req_build(int64_t rev, skr_buf *out)
{
	json_t *o = json_object();
	int r;

	SKR_ENSURE(o != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(rev > 0, SKR_ERR_INVAL);
	SKR_GUARD(set_int64(o, "revision", rev));
	r = emit(o, out);
	o = NULL;
out:
	json_decref(o);
	return r;
}

int
skr_etcd_auth_req_build(const char *user, const char *password, skr_buf *out)
{
	if (user == NULL || password == NULL)
		return SKR_ERR_INVAL;
	return emit(json_pack("{s:s,s:s}", "name", user, "password",
	    password), out);
}

/* ---- parsing ------------------------------------------------------------ */

/* The text as one JSON object. */
static int
load(const uint8_t *p, size_t n, json_t **out)
{
	int r;

	*out = NULL;
	if (p == NULL || n == 0 || n > SKR_ETCD_MSG_MAX)
		return SKR_ERR_STORE;
	if ((r = skr_json_parse((const char *)p, n, DEPTH_MAX, out)) !=
	    SKR_OK)
		return r == SKR_ERR_NOMEM ? r : SKR_ERR_STORE;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return SKR_ERR_STORE;
	}
	return SKR_OK;
}

/* A decimal string of at most 20 digits, with an optional '-' when
 * negative is allowed; NULL when v is none. */
static const char *
digits(const json_t *v, int negative)
{
	const char *s = json_string_value(v);
	size_t i, n;

	if (s == NULL)
		return NULL;
	n = json_string_length(v);
	i = negative && n > 0 && s[0] == '-';
	if (n == i || n - i > 20 || strlen(s) != n)
		return NULL;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return NULL;
	return s;
}

/* An int64 member: absent is 0 (protobuf's default).  With nonneg, a
 * negative value is refused. */
static int
get_int64(const json_t *o, const char *name, int nonneg, int64_t *out)
{
	const json_t *v = json_object_get(o, name);
	const char *s;
	long long ll;
	char *end;

	*out = 0;
	if (v == NULL)
		return SKR_OK;
	if (json_is_integer(v))
		ll = json_integer_value(v);
	else {
		if ((s = digits(v, 1)) == NULL)
			return SKR_ERR_STORE;
		errno = 0;
		ll = strtoll(s, &end, 10);
		if (errno != 0 || *end != '\0')
			return SKR_ERR_STORE;
	}
	if (nonneg && ll < 0)
		return SKR_ERR_STORE;
	*out = (int64_t)ll;
	return SKR_OK;
}

static int
get_uint64(const json_t *o, const char *name, uint64_t *out)
{
	const json_t *v = json_object_get(o, name);
	const char *s;
	unsigned long long ull;
	char *end;

	*out = 0;
	if (v == NULL)
		return SKR_OK;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return SKR_ERR_STORE;
		*out = (uint64_t)json_integer_value(v);
		return SKR_OK;
	}
	if ((s = digits(v, 0)) == NULL)
		return SKR_ERR_STORE;
	errno = 0;
	ull = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return SKR_ERR_STORE;
	*out = (uint64_t)ull;
	return SKR_OK;
}

/* A bool member: absent is false. */
static int
get_bool(const json_t *o, const char *name, int *out)
{
	const json_t *v = json_object_get(o, name);

	*out = 0;
	if (v == NULL)
		return SKR_OK;
	if (!json_is_boolean(v))
		return SKR_ERR_STORE;
	*out = json_is_true(v);
	return SKR_OK;
}

/* A bytes member: absent is empty (*p NULL).  *p: caller frees. */
static int
get_bytes(const json_t *o, const char *name, size_t max, uint8_t **p,
    size_t *n)
{
	const json_t *v = json_object_get(o, name);
	skr_buf b = SKR_BUF_INIT;
	int r;

	*p = NULL;
	*n = 0;
	if (v == NULL)
		return SKR_OK;
	if (!json_is_string(v) || json_string_length(v) > (max / 3 + 1) * 4)
		return SKR_ERR_STORE;
	if (json_string_length(v) == 0)
		return SKR_OK;
	if ((r = skr_b64_decode(&b, json_string_value(v),
	    json_string_length(v))) != SKR_OK) {
		skr_buf_free(&b);
		return r == SKR_ERR_NOMEM ? r : SKR_ERR_STORE;
	}
	if (b.len > max) {
		skr_buf_free(&b);
		return SKR_ERR_STORE;
	}
	if (b.len == 0) {
		skr_buf_free(&b);
		return SKR_OK;
	}
	*p = skr_buf_steal(&b, n);
	return *p != NULL ? SKR_OK : SKR_ERR_NOMEM;
}

/* An object member: absent is NULL, another type an error. */
static int
get_object(const json_t *o, const char *name, json_t **out)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL)
		return SKR_OK;
	if (!json_is_object(v))
		return SKR_ERR_STORE;
	*out = v;
	return SKR_OK;
}

/* An array member: absent is an empty one (*out NULL). */
static int
get_array(const json_t *o, const char *name, json_t **out)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL)
		return SKR_OK;
	if (!json_is_array(v))
		return SKR_ERR_STORE;
	*out = v;
	return SKR_OK;
}

/* A header; with require, an absent one is an error. */
static int
header_parse(const json_t *o, int require, skr_etcd_header *h)
{
	json_t *v;
	int r;

	memset(h, 0, sizeof(*h));
	if ((r = get_object(o, "header", &v)) != SKR_OK)
		return r;
	if (v == NULL)
		return require ? SKR_ERR_STORE : SKR_OK;
	if ((r = get_uint64(v, "cluster_id", &h->cluster_id)) != SKR_OK ||
	    (r = get_uint64(v, "member_id", &h->member_id)) != SKR_OK ||
	    (r = get_int64(v, "revision", 1, &h->revision)) != SKR_OK ||
	    (r = get_int64(v, "raft_term", 1, &h->raft_term)) != SKR_OK)
		return r;
	/* Every served request has a revision: the store starts at 1. */
	if (require && h->revision <= 0)
		return SKR_ERR_STORE;
	return SKR_OK;
}

static void
kv_clear(skr_etcd_kv *kv)
{
	free(kv->key);
	if (kv->value != NULL) {
		OPENSSL_cleanse(kv->value, kv->value_len);
		free(kv->value);
	}
	memset(kv, 0, sizeof(*kv));
}

/* A KeyValue: the key must be there; a live key (not a delete event's)
 * has create <= mod revisions and a version of at least 1. */
static int
kv_parse(const json_t *o, int live, skr_etcd_kv *kv)
{
	int r;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o))
		return SKR_ERR_STORE;
	SKR_GUARD(get_bytes(o, "key", SKR_ETCD_KEY_MAX, &kv->key,
	    &kv->key_len));
	SKR_ENSURE(kv->key != NULL, SKR_ERR_STORE);
	SKR_GUARD(get_bytes(o, "value", SKR_ETCD_VALUE_MAX, &kv->value,
	    &kv->value_len));
	SKR_GUARD(get_int64(o, "create_revision", 1, &kv->create_revision));
	SKR_GUARD(get_int64(o, "mod_revision", 1, &kv->mod_revision));
	SKR_GUARD(get_int64(o, "version", 1, &kv->version));
	SKR_GUARD(get_int64(o, "lease", 1, &kv->lease));
	SKR_ENSURE(kv->mod_revision > 0, SKR_ERR_STORE);
	if (live)
		SKR_ENSURE(kv->create_revision > 0 && kv->create_revision <=
		    kv->mod_revision && kv->version > 0, SKR_ERR_STORE);
out:
	if (r != SKR_OK)
		kv_clear(kv);
	return r;
}

void
skr_etcd_range_clear(skr_etcd_range *rg)
{
	size_t i;

	if (rg == NULL)
		return;
	for (i = 0; i < rg->nkvs; i++)
		kv_clear(&rg->kvs[i]);
	free(rg->kvs);
	memset(rg, 0, sizeof(*rg));
}

/* A RangeResponse object; require_header for a top-level one. */
static int
range_from(const json_t *o, int require_header, skr_etcd_range *out)
{
	skr_etcd_range rg;
	json_t *kvs, *e;
	size_t i;
	int r;

	memset(&rg, 0, sizeof(rg));
	memset(out, 0, sizeof(*out));
	SKR_GUARD(header_parse(o, require_header, &rg.header));
	SKR_GUARD(get_bool(o, "more", &rg.more));
	SKR_GUARD(get_int64(o, "count", 1, &rg.count));
	SKR_GUARD(get_array(o, "kvs", &kvs));
	if (kvs != NULL && json_array_size(kvs) > 0) {
		rg.kvs = calloc(json_array_size(kvs), sizeof(*rg.kvs));
		SKR_ENSURE(rg.kvs != NULL, SKR_ERR_NOMEM);
		json_array_foreach(kvs, i, e) {
			SKR_GUARD(kv_parse(e, 1, &rg.kvs[i]));
			rg.nkvs = i + 1;
		}
	}
	/* count is every key in the range, kvs at most that many. */
	SKR_ENSURE(rg.count >= (int64_t)rg.nkvs, SKR_ERR_STORE);
	*out = rg;
	memset(&rg, 0, sizeof(rg));
out:
	skr_etcd_range_clear(&rg);
	return r;
}

int
skr_etcd_range_parse(const uint8_t *p, size_t n, skr_etcd_range *out)
{
	json_t *o;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = load(p, n, &o)) != SKR_OK)
		return r;
	r = range_from(o, 1, out);
	json_decref(o);
	return r;
}

void
skr_etcd_txn_clear(skr_etcd_txn *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nresults; i++)
		skr_etcd_range_clear(&t->results[i].range);
	free(t->results);
	memset(t, 0, sizeof(*t));
}

/* One ResponseOp: exactly one of the members below. */
static int
op_result_parse(const json_t *o, skr_etcd_op_result *res)
{
	json_t *v, *which = NULL;
	int r, found = 0;

	memset(res, 0, sizeof(*res));
	if (!json_is_object(o))
		return SKR_ERR_STORE;
	if ((r = get_object(o, "response_range", &v)) != SKR_OK)
		return r;
	if (v != NULL) {
		res->kind = SKR_ETCD_OP_RANGE;
		which = v;
		found++;
	}
	if ((r = get_object(o, "response_put", &v)) != SKR_OK)
		return r;
	if (v != NULL) {
		res->kind = SKR_ETCD_OP_PUT;
		which = v;
		found++;
	}
	if ((r = get_object(o, "response_delete_range", &v)) != SKR_OK)
		return r;
	if (v != NULL) {
		res->kind = SKR_ETCD_OP_DELETE;
		which = v;
		found++;
	}
	/* A nested txn is never asked for. */
	if (found != 1 || json_object_get(o, "response_txn") != NULL)
		return SKR_ERR_STORE;
	if (res->kind == SKR_ETCD_OP_RANGE)
		return range_from(which, 0, &res->range);
	if (res->kind == SKR_ETCD_OP_DELETE)
		return get_int64(which, "deleted", 1, &res->deleted);
	return SKR_OK;
}

int
skr_etcd_txn_parse(const uint8_t *p, size_t n, skr_etcd_txn *out)
{
	skr_etcd_txn t;
	json_t *o = NULL, *a, *e;
	size_t i;
	int r;

	memset(&t, 0, sizeof(t));
	memset(out, 0, sizeof(*out));
	SKR_GUARD(load(p, n, &o));
	SKR_GUARD(header_parse(o, 1, &t.header));
	SKR_GUARD(get_bool(o, "succeeded", &t.succeeded));
	SKR_GUARD(get_array(o, "responses", &a));
	if (a != NULL && json_array_size(a) > 0) {
		t.results = calloc(json_array_size(a), sizeof(*t.results));
		SKR_ENSURE(t.results != NULL, SKR_ERR_NOMEM);
		json_array_foreach(a, i, e) {
			SKR_GUARD(op_result_parse(e, &t.results[i]));
			t.nresults = i + 1;
		}
	}
	*out = t;
	memset(&t, 0, sizeof(t));
out:
	skr_etcd_txn_clear(&t);
	json_decref(o);
	return r;
}

int
skr_etcd_header_parse(const uint8_t *p, size_t n, skr_etcd_header *out)
{
	json_t *o;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = load(p, n, &o)) != SKR_OK)
		return r;
	r = header_parse(o, 1, out);
	json_decref(o);
	return r;
}

void
skr_etcd_watch_clear(skr_etcd_watch_msg *w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nevents; i++)
		kv_clear(&w->events[i].kv);
	free(w->events);
	memset(w, 0, sizeof(*w));
}

/* A string member copied into out (cut to fit); absent is "". */
static int
get_text(const json_t *o, const char *name, char *out, size_t outlen)
{
	const json_t *v = json_object_get(o, name);

	out[0] = '\0';
	if (v == NULL)
		return SKR_OK;
	if (!json_is_string(v))
		return SKR_ERR_STORE;
	snprintf(out, outlen, "%s", json_string_value(v));
	return SKR_OK;
}

static int
event_parse(const json_t *o, skr_etcd_event *ev)
{
	const json_t *type;
	json_t *kv;
	int r;

	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(o))
		return SKR_ERR_STORE;
	/* PUT is the enum's zero: left out. */
	type = json_object_get(o, "type");
	if (type == NULL || (json_is_string(type) &&
	    strcmp(json_string_value(type), "PUT") == 0) ||
	    (json_is_integer(type) && json_integer_value(type) == 0))
		ev->type = SKR_ETCD_EVENT_PUT;
	else if ((json_is_string(type) && strcmp(json_string_value(type),
	    "DELETE") == 0) || (json_is_integer(type) &&
	    json_integer_value(type) == 1))
		ev->type = SKR_ETCD_EVENT_DELETE;
	else
		return SKR_ERR_STORE;
	if ((r = get_object(o, "kv", &kv)) != SKR_OK)
		return r;
	if (kv == NULL)
		return SKR_ERR_STORE;
	return kv_parse(kv, ev->type == SKR_ETCD_EVENT_PUT, &ev->kv);
}

int
skr_etcd_watch_parse(const uint8_t *p, size_t n, skr_etcd_watch_msg *out)
{
	skr_etcd_watch_msg w;
	json_t *o = NULL, *res, *err, *a, *e;
	int64_t code, last = 0;
	size_t i;
	int r;

	memset(&w, 0, sizeof(w));
	memset(out, 0, sizeof(*out));
	SKR_GUARD(load(p, n, &o));
	SKR_GUARD(get_object(o, "result", &res));
	SKR_GUARD(get_object(o, "error", &err));
	SKR_ENSURE((res == NULL) != (err == NULL), SKR_ERR_STORE);
	if (err != NULL) {
		w.error = 1;
		SKR_GUARD(get_int64(err, "grpc_code", 1, &code));
		SKR_ENSURE(code <= INT_MAX, SKR_ERR_STORE);
		w.grpc_code = (int)code;
		SKR_GUARD(get_text(err, "message", w.message,
		    sizeof(w.message)));
		goto done;
	}
	SKR_GUARD(header_parse(res, 1, &w.header));
	SKR_GUARD(get_int64(res, "watch_id", 1, &w.watch_id));
	SKR_GUARD(get_bool(res, "created", &w.created));
	SKR_GUARD(get_bool(res, "canceled", &w.canceled));
	SKR_GUARD(get_bool(res, "fragment", &w.fragment));
	SKR_GUARD(get_int64(res, "compact_revision", 1, &w.compact_revision));
	SKR_GUARD(get_text(res, "cancel_reason", w.message,
	    sizeof(w.message)));
	SKR_GUARD(get_array(res, "events", &a));
	if (a != NULL && json_array_size(a) > 0) {
		w.events = calloc(json_array_size(a), sizeof(*w.events));
		SKR_ENSURE(w.events != NULL, SKR_ERR_NOMEM);
		json_array_foreach(a, i, e) {
			SKR_GUARD(event_parse(e, &w.events[i]));
			w.nevents = i + 1;
			/* Events come in revision order. */
			SKR_ENSURE(w.events[i].kv.mod_revision >= last,
			    SKR_ERR_STORE);
			last = w.events[i].kv.mod_revision;
		}
	}
done:
	*out = w;
	memset(&w, 0, sizeof(w));
out:
	skr_etcd_watch_clear(&w);
	json_decref(o);
	return r;
}

int
skr_etcd_stream_next(const uint8_t *p, size_t n, size_t *off, size_t *len,
    size_t *used)
{
	const uint8_t *nl;
	size_t skip = 0;

	*off = *len = *used = 0;
	/* Blank lines between messages carry nothing. */
	while (skip < n && (p[skip] == '\n' || p[skip] == '\r'))
		skip++;
	if (skip == n) {
		*used = skip;
		return SKR_OK;
	}
	if ((nl = memchr(p + skip, '\n', n - skip)) == NULL)
		return n - skip > SKR_ETCD_MSG_MAX ? SKR_ERR_STORE : SKR_OK;
	if ((size_t)(nl - (p + skip)) > SKR_ETCD_MSG_MAX)
		return SKR_ERR_STORE;
	*off = skip;
	*len = (size_t)(nl - (p + skip));
	if (p[skip + *len - 1] == '\r')
		(*len)--;
	*used = (size_t)(nl - p) + 1;
	return SKR_OK;
}

int
skr_etcd_error_parse(const uint8_t *p, size_t n, skr_etcd_error *out)
{
	json_t *o;
	int64_t code;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = load(p, n, &o)) != SKR_OK)
		return r;
	SKR_GUARD(get_int64(o, "code", 1, &code));
	SKR_ENSURE(code > 0 && code <= INT_MAX, SKR_ERR_STORE);
	out->code = (int)code;
	SKR_GUARD(get_text(o, "message", out->message, sizeof(out->message)));
	if (out->message[0] == '\0')
		SKR_GUARD(get_text(o, "error", out->message,
		    sizeof(out->message)));
out:
	if (r != SKR_OK)
		memset(out, 0, sizeof(*out));
	json_decref(o);
	return r;
}

int
skr_etcd_auth_parse(const uint8_t *p, size_t n, skr_buf *token)
{
	json_t *o, *v;
	skr_etcd_header h;
	int r;

	if ((r = load(p, n, &o)) != SKR_OK)
		return r;
	SKR_GUARD(header_parse(o, 1, &h));
	v = json_object_get(o, "token");
	/* The token goes into an HTTP header: printable ASCII only. */
	SKR_ENSURE(json_is_string(v) && json_string_length(v) > 0 &&
	    json_string_length(v) <= 4096, SKR_ERR_STORE);
	for (size_t i = 0; i < json_string_length(v); i++)
		SKR_ENSURE(json_string_value(v)[i] > ' ' &&
		    json_string_value(v)[i] < 0x7f, SKR_ERR_STORE);
	SKR_GUARD(skr_buf_set(token, json_string_value(v),
	    json_string_length(v)));
out:
	json_decref(o);
	return r;
}
