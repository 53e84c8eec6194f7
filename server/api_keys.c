/*
 * The Key Vault key-management routes (docs/api.md): create, import, get,
 * list, versions, update, rotate, soft delete and recovery, backup and
 * restore.  Every handler validates its whole input and generates keys
 * before it opens a write transaction, and writes its audit record in the
 * same transaction as the change.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "auth.h"
#include "bundle.h"
#include "encoding.h"
#include "guard.h"
#include "json.h"
#include "jwk.h"
#include "policy.h"
#include "server.h"
#include "skr/error.h"
#include "store.h"

#define TAG_VALUE_MAX 256

static const char *const all_ops[] = {
	"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey",
	"import", "export", NULL,
};

/* Everything a create, import, update or rotate body may set. */
struct key_input {
	json_t *body;           /* owned */
	skr_kty kty;
	int bits;
	const json_t *key_ops;  /* borrowed from body */
	const json_t *tags;
	int has_enabled, enabled;
	int has_nbf, has_exp;
	int64_t nbf, exp;
	int has_exportable, exportable;
	int has_policy;         /* release_policy member present */
	char *policy;           /* validated policy text, or NULL (removal) */
	size_t policy_len;
	int immutable;
	skr_buf why;
};

static void
input_clear(struct key_input *in)
{
	json_decref(in->body);
	free(in->policy);
	skr_buf_free(&in->why);
}

static int
bad(skr_response *resp, int err, struct key_input *in, const char *what)
{
	if (in != NULL && in->why.len > 0)
		return skr_response_error(resp, err, "%s: %s", what,
		    skr_buf_cstr(&in->why));
	return skr_response_error(resp, err, "%s", what);
}

/*
 * The strict JSON object body of a request: present, sent as
 * application/json (parameters such as charset allowed), parsed by the
 * strict parser (duplicates and trailing bytes refused).
 */
int
skr__api_json_body(const skr_request *req, json_t **out)
{
	const char *ct = req->content_type;
	int r;

	*out = NULL;
	if (req->body_len == 0)
		return SKR_ERR_BAD_REQUEST;
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ' &&
	    ct[16] != '\t'))
		return SKR_ERR_CONTENT_TYPE;
	if ((r = skr_json_parse((const char *)req->body, req->body_len, 0,
	    out)) != SKR_OK)
		return r;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return SKR_ERR_BAD_REQUEST;
	}
	return SKR_OK;
}

skr_audit_rec
skr__api_audit(const skr_request *req, const char *event)
{
	skr_audit_rec rec = {
		.event = event,
		.outcome = "ok",
		.peer = req->peer,
		.request_id = req->request_id,
		.principal = req->principal != NULL ? req->principal->id : NULL,
	};

	return rec;
}

int
skr__api_principal_holds(skr_txn *txn, const skr_request *req)
{
	skr_token_info ti;
	int r;

	if (req->principal == NULL)
		return SKR_OK;
	if ((r = skr_store_token_get(txn, req->principal->id, &ti)) ==
	    SKR_ERR_NOT_FOUND)
		return SKR_ERR_AUTH_INVALID;
	if (r != SKR_OK)
		return r;
	if (ti.revoked)
		return SKR_ERR_AUTH_REVOKED;
	if (ti.p.expires != 0 && req->now >= ti.p.expires)
		return SKR_ERR_AUTH_EXPIRED;
	return SKR_OK;
}

static int
only_members(const json_t *o, const char *const *allowed, const char **bad_key)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)o, k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], k) == 0)
				break;
		if (allowed[i] == NULL) {
			*bad_key = k;
			return 0;
		}
	}
	return 1;
}

static int
parse_attributes(const json_t *a, struct key_input *in)
{
	static const char *const allowed[] = { "enabled", "nbf", "exp",
		"exportable", "created", "updated", "recoveryLevel",
		"recoverableDays", NULL };
	const char *badk = NULL;
	const json_t *v;

	if (a == NULL || json_is_null(a))
		return SKR_OK;
	if (!json_is_object(a))
		return SKR_ERR_BAD_REQUEST;
	/* Read-only members a client echoes back are ignored; anything
	 * else unknown is a mistake worth reporting. */
	if (!only_members(a, allowed, &badk)) {
		skr_buf_appendf(&in->why, "unknown attribute \"%s\"", badk);
		return SKR_ERR_BAD_REQUEST;
	}
	if ((v = json_object_get(a, "enabled")) != NULL) {
		if (!json_is_boolean(v))
			return SKR_ERR_BAD_REQUEST;
		in->has_enabled = 1;
		in->enabled = json_is_true(v);
	}
	if ((v = json_object_get(a, "exportable")) != NULL) {
		if (!json_is_boolean(v))
			return SKR_ERR_BAD_REQUEST;
		in->has_exportable = 1;
		in->exportable = json_is_true(v);
	}
	if ((v = json_object_get(a, "nbf")) != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return SKR_ERR_BAD_REQUEST;
		in->has_nbf = 1;
		in->nbf = json_integer_value(v);
	}
	if ((v = json_object_get(a, "exp")) != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return SKR_ERR_BAD_REQUEST;
		in->has_exp = 1;
		in->exp = json_integer_value(v);
	}
	return SKR_OK;
}

/* release_policy: {contentType?, data (base64url of the policy JSON),
 * immutable?}; data null or absent removes the policy. */
static int
parse_policy(const json_t *p, struct key_input *in)
{
	static const char *const allowed[] = { "contentType", "data",
		"immutable", NULL };
	const char *badk = NULL;
	const json_t *v;
	skr_buf text = SKR_BUF_INIT;
	skr_policy *pol = NULL;
	int r;

	if (p == NULL)
		return SKR_OK;
	in->has_policy = 1;
	if (json_is_null(p))
		return SKR_OK;
	if (!json_is_object(p))
		return SKR_ERR_BAD_REQUEST;
	if (!only_members(p, allowed, &badk)) {
		skr_buf_appendf(&in->why, "unknown release_policy member \"%s\"",
		    badk);
		return SKR_ERR_BAD_REQUEST;
	}
	v = json_object_get(p, "contentType");
	if (v != NULL && (!json_is_string(v) || strncasecmp(
	    json_string_value(v), "application/json", 16) != 0))
		return SKR_ERR_POLICY_INVALID;
	v = json_object_get(p, "immutable");
	if (v != NULL && !json_is_boolean(v))
		return SKR_ERR_BAD_REQUEST;
	in->immutable = json_is_true(v);
	v = json_object_get(p, "data");
	if (v == NULL || json_is_null(v))
		return SKR_OK;
	if (!json_is_string(v))
		return SKR_ERR_POLICY_INVALID;
	/* Key Vault carries the policy as base64url; standard base64 is
	 * accepted too, as some clients send it. */
	if (skr_b64url_decode(&text, json_string_value(v),
	    json_string_length(v)) != SKR_OK) {
		skr_buf_reset(&text);
		if (skr_b64_decode(&text, json_string_value(v),
		    json_string_length(v)) != SKR_OK) {
			skr_buf_free(&text);
			skr_buf_append_str(&in->why, "data is not base64url");
			return SKR_ERR_POLICY_INVALID;
		}
	}
	r = skr_policy_parse((const char *)text.data, text.len, &pol, &in->why);
	skr_policy_free(pol);
	if (r == SKR_OK) {
		in->policy_len = text.len;
		in->policy = (char *)skr_buf_steal(&text, NULL);
		if (in->policy == NULL)
			r = SKR_ERR_NOMEM;
	}
	skr_buf_free(&text);
	return r;
}

static int
check_tags(const json_t *tags, struct key_input *in)
{
	const char *k;
	json_t *v;

	if (tags == NULL || json_is_null(tags))
		return SKR_OK;
	if (!json_is_object(tags) || json_object_size(tags) > SKR_TAGS_MAX) {
		skr_buf_appendf(&in->why, "tags: an object of at most %d "
		    "strings", SKR_TAGS_MAX);
		return SKR_ERR_BAD_REQUEST;
	}
	json_object_foreach((json_t *)tags, k, v)
		if (!json_is_string(v) || json_string_length(v) >
		    TAG_VALUE_MAX || strlen(k) == 0 || strlen(k) > 256) {
			skr_buf_append_str(&in->why, "tags: bad entry");
			return SKR_ERR_BAD_REQUEST;
		}
	in->tags = tags;
	return SKR_OK;
}

static int
check_ops(const json_t *ops, struct key_input *in)
{
	json_t *v;
	size_t i, j;

	if (ops == NULL || json_is_null(ops))
		return SKR_OK;
	if (!json_is_array(ops))
		return SKR_ERR_BAD_REQUEST;
	json_array_foreach(ops, i, v) {
		if (!json_is_string(v))
			return SKR_ERR_BAD_REQUEST;
		for (j = 0; all_ops[j] != NULL; j++)
			if (strcmp(all_ops[j], json_string_value(v)) == 0)
				break;
		if (all_ops[j] == NULL) {
			skr_buf_appendf(&in->why, "unknown key_op \"%s\"",
			    json_string_value(v));
			return SKR_ERR_BAD_REQUEST;
		}
	}
	in->key_ops = ops;
	return SKR_OK;
}

/* The members every write body shares. */
static int
parse_common(struct key_input *in)
{
	int r;

	SKR_GUARD(parse_attributes(json_object_get(in->body, "attributes"),
	    in));
	SKR_GUARD(check_tags(json_object_get(in->body, "tags"), in));
	SKR_GUARD(check_ops(json_object_get(in->body, "key_ops"), in));
	SKR_GUARD(parse_policy(json_object_get(in->body, "release_policy"),
	    in));
out:
	return r;
}

/*
 * kty, key_size, crv and public_exponent of a create (Key Vault's
 * KeyCreateParameters).  Sizes and curves are judged by skr_key_generate;
 * here only what it cannot see: a size that does not fit an int, a curve or
 * exponent on a type that has none, an exponent other than 65537 (the only
 * one generated).
 */
static int
parse_kty_size(struct key_input *in)
{
	static const struct {
		const char *crv;
		int bits;
	} curves[] = { { "P-256", 256 }, { "P-384", 384 }, { "P-521", 521 } };
	const json_t *kty = json_object_get(in->body, "kty");
	const json_t *size = json_object_get(in->body, "key_size");
	const json_t *crv = json_object_get(in->body, "crv");
	const json_t *pe = json_object_get(in->body, "public_exponent");
	json_int_t n = 0;
	size_t i;

	if (!json_is_string(kty) ||
	    (in->kty = skr_kty_parse(json_string_value(kty))) == SKR_KTY_NONE)
		return SKR_ERR_JWK_UNSUPPORTED;
	if (json_is_null(size))
		size = NULL;
	if (json_is_null(crv))
		crv = NULL;
	if (json_is_null(pe))
		pe = NULL;
	if ((size != NULL && !json_is_integer(size)) ||
	    (crv != NULL && !json_is_string(crv)) ||
	    (pe != NULL && !json_is_integer(pe)))
		return SKR_ERR_BAD_REQUEST;
	if (size != NULL) {
		n = json_integer_value(size);
		if (n <= 0 || n > 16384)
			return SKR_ERR_JWK_UNSUPPORTED;
	}
	if ((crv != NULL && in->kty != SKR_KTY_EC) ||
	    (pe != NULL && (in->kty != SKR_KTY_RSA ||
	    json_integer_value(pe) != 65537)))
		return SKR_ERR_JWK_UNSUPPORTED;
	switch (in->kty) {
	case SKR_KTY_RSA:
		in->bits = size != NULL ? (int)n : 2048;
		break;
	case SKR_KTY_OCT:
		in->bits = size != NULL ? (int)n : 256;
		break;
	default:
		/* Key Vault's default curve is P-256; a key_size given with
		 * the curve must agree with it. */
		in->bits = crv == NULL ? 256 : 0;
		for (i = 0; crv != NULL && i < sizeof(curves) /
		    sizeof(curves[0]); i++)
			if (strcmp(json_string_value(crv), curves[i].crv) == 0)
				in->bits = curves[i].bits;
		if (in->bits == 0 || (size != NULL && n != in->bits))
			return SKR_ERR_JWK_UNSUPPORTED;
		break;
	}
	return SKR_OK;
}

static void
params_from(const struct key_input *in, skr_version_params *p)
{
	skr_version_params_init(p);
	p->key_ops = (json_t *)in->key_ops;
	if (in->has_enabled)
		p->enabled = in->enabled;
	p->nbf = in->has_nbf ? in->nbf : 0;
	p->exp = in->has_exp ? in->exp : 0;
	p->exportable = in->has_exportable && in->exportable;
	p->tags = (json_t *)in->tags;
	p->policy = in->policy;
	p->policy_len = in->policy_len;
	p->policy_immutable = in->immutable;
}

/* Soft-deleted keys past their scheduledPurgeDate purged per write. */
#define PURGE_BATCH 8

/* add_version: take operations, tags and policy from the latest version,
 * read in the write transaction (rotate). */
#define ADD_PARAMS_OF_LATEST 0x100u

struct purged {
	char names[PURGE_BATCH + 1][SKR_KEY_NAME_MAX + 1];
	size_t n;
};

/*
 * Begin the write transaction of a change.  Key Vault purges a soft-deleted
 * key at its scheduledPurgeDate; here the writes do it, a few due keys at a
 * time, inside the change's own transaction, each with an audit record of
 * its own, and always the key the change names when it is due: reads treat
 * such a key as gone, and no write may bring it back (recover) or trip
 * over it (create, import, purge).  *purged receives their names.
 */
static int
write_begin(skr_server *srv, const skr_request *req, skr_txn **txn,
    struct purged *purged)
{
	int r, due;

	purged->n = 0;
	if ((r = skr_store_txn_begin(srv->store, SKR_TXN_WRITE, txn)) !=
	    SKR_OK)
		return r;
	if ((r = skr_store_purge_expired(*txn, req->now, PURGE_BATCH,
	    purged->names, &purged->n)) == SKR_OK && req->name[0] != '\0' &&
	    skr_key_name_check(req->name) == SKR_OK &&
	    (r = skr_store_purge_if_due(*txn, req->name, req->now,
	    purged->names[purged->n], &due)) == SKR_OK)
		purged->n += (size_t)due;
	if (r != SKR_OK) {
		skr_store_txn_abort(*txn);
		*txn = NULL;
	}
	return r;
}

/* The audit record of a scheduled purge: carried out by a change (req) or
 * by the sweep (req NULL: no peer, no request id). */
static skr_audit_rec
scheduled_purge_rec(const skr_request *req, const char *name)
{
	skr_audit_rec rec = { .event = "key.purge", .outcome = "ok",
		.key = name };

	if (req != NULL) {
		rec.peer = req->peer;
		rec.request_id = req->request_id;
	}
	skr_audit_detail_str(&rec, "reason", "scheduled purge date passed");
	skr_audit_detail_str(&rec, "by", req != NULL ? "write" : "sweep");
	return rec;
}

int
skr_api_purge_due(skr_server *srv, int64_t now, size_t max, size_t *npurged)
{
	char (*names)[SKR_KEY_NAME_MAX + 1] = NULL;
	skr_audit_rec *recs = NULL;
	skr_txn *txn = NULL;
	size_t n = 0, i;
	int r;

	*npurged = 0;
	if (max == 0)
		return SKR_ERR_INVAL;
	names = calloc(max, sizeof(*names));
	recs = calloc(max, sizeof(*recs));
	SKR_ENSURE(names != NULL && recs != NULL, SKR_ERR_NOMEM);
	/* It frees far more than it writes: it may use the reserve. */
	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_WRITE_RESERVE,
	    &txn));
	SKR_GUARD(skr_store_purge_expired(txn, now, max, names, &n));
	if (n == 0)
		goto out;       /* nothing written: no commit, no sync */
	for (i = 0; i < n; i++)
		recs[i] = scheduled_purge_rec(NULL, names[i]);
	r = skr_audit_commit(txn, recs, n, now);
	txn = NULL;
	if (r == SKR_OK)
		*npurged = n;
out:
	skr_store_txn_abort(txn);
	free(names);
	free(recs);
	return r;
}

/* Commit a change with its audit record, after those of the scheduled
 * purges it carried out; txn is ended either way. */
static int
key_commit(skr_txn *txn, const skr_request *req, const char *event,
    const char *name, const char *version, const struct purged *purged)
{
	skr_audit_rec recs[PURGE_BATCH + 2];
	size_t i;
	int r;

	if ((r = skr__api_principal_holds(txn, req)) != SKR_OK) {
		skr_store_txn_abort(txn);
		return r;
	}
	for (i = 0; i < purged->n; i++)
		recs[i] = scheduled_purge_rec(req, purged->names[i]);
	recs[i] = skr__api_audit(req, event);
	recs[i].key = name;
	recs[i].version = version;
	if (purged->n > 0)
		skr_audit_detail_int(&recs[i], "expired_purged",
		    (int64_t)purged->n);
	return skr_audit_commit(txn, recs, purged->n + 1, req->now);
}

/* Add a version holding key and answer with its bundle. */
static int
add_version(skr_server *srv, skr_request *req, skr_response *resp,
    const skr_key *key, const skr_version_params *p, unsigned flags,
    const char *event)
{
	skr_version_info vi, cur;
	skr_version_params rp;
	skr_txn *txn = NULL;
	struct purged purged;
	int r;

	memset(&vi, 0, sizeof(vi));
	memset(&cur, 0, sizeof(cur));
	SKR_GUARD(write_begin(srv, req, &txn, &purged));
	if (flags & ADD_PARAMS_OF_LATEST) {
		/* Read here, under the write lock: a change made while the
		 * key was generated (a tightened policy) is kept. */
		SKR_GUARD(skr_store_version_latest(txn, req->name, &cur));
		SKR_ENSURE(cur.kty == skr_key_kty(key) &&
		    cur.bits == skr_key_bits(key), SKR_ERR_KEY_CONFLICT);
		skr_version_params_init(&rp);
		rp.key_ops = cur.key_ops;
		rp.tags = cur.tags;
		rp.exportable = cur.attrs.exportable;
		rp.policy = cur.policy;
		rp.policy_len = cur.policy_len;
		rp.policy_immutable = cur.policy_immutable;
		p = &rp;
		flags = (flags & ~ADD_PARAMS_OF_LATEST) | SKR_ADD_EXISTING_ONLY;
	}
	SKR_GUARD(skr_store_version_add(txn, req->name, key, p, flags,
	    req->now, &vi));
	r = key_commit(txn, req, event, vi.name, vi.version, &purged);
	txn = NULL;
	if (r == SKR_OK)
		r = skr_response_json(resp, 200, skr_bundle_key(srv, &vi));
out:
	skr_store_txn_abort(txn);
	skr_version_info_clear(&vi);
	skr_version_info_clear(&cur);
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
	return r;
}

int
skr_api_key_create(skr_server *srv, skr_request *req, skr_response *resp)
{
	struct key_input in;
	skr_version_params p;
	skr_key *key = NULL;
	int r;

	memset(&in, 0, sizeof(in));
	skr_buf_init(&in.why, 1024);
	if ((r = skr_key_name_check(req->name)) != SKR_OK ||
	    (r = skr__api_json_body(req, &in.body)) != SKR_OK ||
	    (r = parse_kty_size(&in)) != SKR_OK ||
	    (r = parse_common(&in)) != SKR_OK) {
		bad(resp, r, &in, skr_strerror(r));
		goto out;
	}
	if ((r = skr_key_generate(in.kty, in.bits, &key)) != SKR_OK) {
		bad(resp, r, &in, "unsupported kty, key_size or crv");
		goto out;
	}
	params_from(&in, &p);
	r = add_version(srv, req, resp, key, &p, 0, "key.create");
out:
	skr_key_free(key);
	input_clear(&in);
	return r;
}

int
skr_api_key_import(skr_server *srv, skr_request *req, skr_response *resp)
{
	struct key_input in;
	skr_version_params p;
	skr_key *key = NULL;
	int r;

	memset(&in, 0, sizeof(in));
	skr_buf_init(&in.why, 1024);
	if ((r = skr_key_name_check(req->name)) != SKR_OK ||
	    (r = skr__api_json_body(req, &in.body)) != SKR_OK ||
	    (r = parse_common(&in)) != SKR_OK) {
		bad(resp, r, &in, skr_strerror(r));
		goto out;
	}
	if ((r = skr_jwk_parse(json_object_get(in.body, "key"),
	    SKR_JWK_REQUIRE_PRIVATE, &key)) != SKR_OK) {
		bad(resp, r, &in, "key: a JWK with its private part is required");
		goto out;
	}
	/* The imported JWK's kid names it elsewhere; here the version id
	 * does.  Key Vault takes the operations from the JWK's key_ops. */
	skr_key_set_kid(key, NULL);
	if (in.key_ops == NULL && (r = check_ops(json_object_get(json_object_get(
	    in.body, "key"), "key_ops"), &in)) != SKR_OK) {
		bad(resp, r, &in, "key.key_ops");
		goto out;
	}
	params_from(&in, &p);
	r = add_version(srv, req, resp, key, &p, 0, "key.import");
out:
	skr_key_free(key);
	input_clear(&in);
	return r;
}

/* GET one key (its version, or the latest) or one deleted key. */
static int
get_one(skr_server *srv, skr_request *req, skr_response *resp, int deleted)
{
	skr_version_info vi;
	skr_txn *txn = NULL;
	int r;

	memset(&vi, 0, sizeof(vi));
	SKR_GUARD(skr_key_name_check(req->name));
	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_READ, &txn));
	if (deleted) {
		SKR_GUARD(skr_store_deleted_get(txn, req->name, &vi));
		/* Past its purge date it is as good as gone (the next
		 * write purges it). */
		SKR_ENSURE(vi.scheduled_purge_date > req->now,
		    SKR_ERR_KEY_NOT_FOUND);
		r = skr_response_json(resp, 200, skr_bundle_deleted(srv, &vi));
	} else {
		SKR_GUARD(skr_store_version_get(txn, req->name, req->version,
		    &vi));
		r = skr_response_json(resp, 200, skr_bundle_key(srv, &vi));
	}
out:
	skr_store_txn_abort(txn);
	skr_version_info_clear(&vi);
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
	return r;
}

int
skr_api_key_get(skr_server *srv, skr_request *req, skr_response *resp)
{
	return get_one(srv, req, resp, 0);
}

/* maxresults (1..25) and $skiptoken of a list request. */
static int
page_args(const skr_request *req, size_t *max, char *marker, size_t mlen)
{
	char v[32], *end;
	long n;
	int r;

	*max = SKR_PAGE_DEFAULT;
	if ((r = skr_request_query(req, "maxresults", v, sizeof(v))) < 0)
		return SKR_ERR_BAD_REQUEST;
	if (r == 1) {
		n = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || n < 1 || n > SKR_PAGE_MAX)
			return SKR_ERR_BAD_REQUEST;
		*max = (size_t)n;
	}
	if ((r = skr_request_query(req, "$skiptoken", marker, mlen)) < 0)
		return SKR_ERR_BAD_REQUEST;
	return SKR_OK;
}

/* The three lists share paging; they differ in what the store lists and how
 * an item looks. */
enum list_kind { LIST_KEYS, LIST_VERSIONS, LIST_DELETED };

/* A scoped token sees only its keys.  So that a page is not mostly empty,
 * a scoped list reads on through the store's pages until it has max items,
 * the list ends, or this many store pages were read (a bound on how long
 * one request holds its read transaction). */
#define SCOPED_READS_MAX 64

static json_t *
list_item(const skr_server *srv, const skr_version_info *vi,
    enum list_kind kind)
{
	char buf[512];
	json_t *it;

	it = skr_bundle_item(srv, vi, kind == LIST_VERSIONS);
	if (it == NULL || kind != LIST_DELETED)
		return it;
	/* Key Vault's DeletedKeyItem. */
	snprintf(buf, sizeof(buf), "%s/deletedkeys/%s", srv->base_url,
	    vi->name);
	if (json_object_set_new(it, "recoveryId", json_string(buf)) != 0 ||
	    json_object_set_new(it, "deletedDate",
	    json_integer(vi->deleted_date)) != 0 ||
	    json_object_set_new(it, "scheduledPurgeDate",
	    json_integer(vi->scheduled_purge_date)) != 0) {
		json_decref(it);
		return NULL;
	}
	return it;
}

static int
store_page(skr_txn *txn, const skr_request *req, enum list_kind kind,
    const char *marker, size_t max, skr_version_page *pg)
{
	/* A marker serves the token it was made for only. */
	const char *binding = req->principal != NULL ? req->principal->id :
	    NULL;

	switch (kind) {
	case LIST_KEYS:
		return skr_store_key_list(txn, binding, marker, max, pg);
	case LIST_VERSIONS:
		return skr_store_version_list(txn, binding, req->name, marker,
		    max, pg);
	default:
		return skr_store_deleted_list(txn, binding, marker, max, pg);
	}
}

/* {"value": [...], "nextLink": URL or null}; the link is a full URL with
 * an opaque $skiptoken, as Key Vault's. */
static int
list(skr_server *srv, skr_request *req, skr_response *resp,
    enum list_kind kind)
{
	skr_version_page pg;
	skr_txn *txn = NULL;
	skr_buf link = SKR_BUF_INIT;
	char marker[512], apiv[32];
	const skr_principal *p = req->principal;
	json_t *arr = NULL, *o;
	size_t max, have = 0;
	int r, reads = 0;

	memset(&pg, 0, sizeof(pg));
	SKR_GUARD(page_args(req, &max, marker, sizeof(marker)));
	if (kind == LIST_VERSIONS)
		SKR_GUARD(skr_key_name_check(req->name));
	SKR_ENSURE((arr = json_array()) != NULL, SKR_ERR_NOMEM);
	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_READ, &txn));
	for (;;) {
		/* Ask for no more than still fits, so that the store's
		 * marker never skips an item this page did not show. */
		SKR_GUARD(store_page(txn, req, kind, marker, max - have, &pg));
		reads++;
		for (size_t i = 0; i < pg.n; i++) {
			if ((p != NULL && !skr_auth_name_allowed(p,
			    pg.items[i].name)) || (kind == LIST_DELETED &&
			    pg.items[i].scheduled_purge_date <= req->now))
				continue;
			SKR_ENSURE(json_array_append_new(arr, list_item(srv,
			    &pg.items[i], kind)) == 0, SKR_ERR_NOMEM);
			have++;
		}
		if (pg.next == NULL || have >= max || p == NULL ||
		    p->nprefixes == 0 || reads >= SCOPED_READS_MAX)
			break;
		snprintf(marker, sizeof(marker), "%s", pg.next);
		skr_version_page_clear(&pg);
		memset(&pg, 0, sizeof(pg));
	}
	if (skr_request_query(req, "api-version", apiv, sizeof(apiv)) != 1 ||
	    apiv[0] == '\0' || strspn(apiv, "0123456789.-preview") !=
	    strlen(apiv))
		snprintf(apiv, sizeof(apiv), "7.4");
	if (pg.next != NULL)
		SKR_GUARD(skr_buf_appendf(&link, "%s%s?api-version=%s&"
		    "maxresults=%zu&$skiptoken=%s", srv->base_url, req->path,
		    apiv, max, pg.next));
	o = json_pack("{s:o,s:o}", "value", arr, "nextLink", pg.next != NULL ?
	    json_string(skr_buf_cstr(&link)) : json_null());
	arr = NULL;
	r = skr_response_json(resp, 200, o);
out:
	skr_store_txn_abort(txn);
	skr_version_page_clear(&pg);
	skr_buf_free(&link);
	json_decref(arr);
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
	return r;
}

int
skr_api_key_list(skr_server *srv, skr_request *req, skr_response *resp)
{
	return list(srv, req, resp, LIST_KEYS);
}

int
skr_api_key_versions(skr_server *srv, skr_request *req, skr_response *resp)
{
	return list(srv, req, resp, LIST_VERSIONS);
}

int
skr_api_deleted_list(skr_server *srv, skr_request *req, skr_response *resp)
{
	return list(srv, req, resp, LIST_DELETED);
}

int
skr_api_key_update(skr_server *srv, skr_request *req, skr_response *resp)
{
	struct key_input in;
	skr_version_update u;
	skr_version_info vi;
	skr_txn *txn = NULL;
	struct purged purged;
	int r;

	memset(&in, 0, sizeof(in));
	memset(&u, 0, sizeof(u));
	memset(&vi, 0, sizeof(vi));
	skr_buf_init(&in.why, 1024);
	if ((r = skr_key_name_check(req->name)) != SKR_OK ||
	    (r = skr__api_json_body(req, &in.body)) != SKR_OK ||
	    (r = parse_common(&in)) != SKR_OK) {
		bad(resp, r, &in, skr_strerror(r));
		goto out2;
	}
	if (in.has_enabled) {
		u.fields |= SKR_UPD_ENABLED;
		u.enabled = in.enabled;
	}
	if (in.has_nbf) {
		u.fields |= SKR_UPD_NBF;
		u.nbf = in.nbf;
	}
	if (in.has_exp) {
		u.fields |= SKR_UPD_EXP;
		u.exp = in.exp;
	}
	if (in.has_exportable) {
		u.fields |= SKR_UPD_EXPORTABLE;
		u.exportable = in.exportable;
	}
	if (in.tags != NULL) {
		u.fields |= SKR_UPD_TAGS;
		u.tags = (json_t *)in.tags;
	}
	if (in.key_ops != NULL) {
		u.fields |= SKR_UPD_KEY_OPS;
		u.key_ops = (json_t *)in.key_ops;
	}
	if (in.has_policy) {
		u.fields |= SKR_UPD_POLICY;
		u.policy = in.policy;
		u.policy_len = in.policy_len;
		u.policy_immutable = in.immutable;
	}
	SKR_GUARD(write_begin(srv, req, &txn, &purged));
	SKR_GUARD(skr_store_version_update(txn, req->name, req->version, &u,
	    req->now, &vi));
	r = key_commit(txn, req, "key.update", vi.name, vi.version,
	    &purged);
	txn = NULL;
	if (r == SKR_OK)
		r = skr_response_json(resp, 200, skr_bundle_key(srv, &vi));
out:
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
out2:
	skr_store_txn_abort(txn);
	skr_version_info_clear(&vi);
	input_clear(&in);
	return r;
}

int
skr_api_key_rotate(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_version_info vi;
	skr_txn *txn = NULL;
	skr_key *key = NULL;
	int r;

	memset(&vi, 0, sizeof(vi));
	SKR_GUARD(skr_key_name_check(req->name));
	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_READ, &txn));
	SKR_GUARD(skr_store_version_latest(txn, req->name, &vi));
	skr_store_txn_abort(txn);
	txn = NULL;
	/* Same type and size, generated outside the write lock (RSA-4096
	 * takes seconds); operations, tags and policy as the key has them
	 * when the new version is written (Key Vault's rotate keeps the
	 * key's parameters). */
	SKR_GUARD(skr_key_generate(vi.kty, vi.bits, &key));
	r = add_version(srv, req, resp, key, NULL, ADD_PARAMS_OF_LATEST,
	    "key.rotate");
	goto done;
out:
	skr_response_error(resp, r, NULL);
done:
	skr_store_txn_abort(txn);
	skr_key_free(key);
	skr_version_info_clear(&vi);
	return r;
}

/* Delete, recover or purge: one write with its audit record. */
static int
lifecycle(skr_server *srv, skr_request *req, skr_response *resp, int op)
{
	static const char *const events[] = { "key.delete", "key.recover",
		"key.purge" };
	skr_version_info vi;
	skr_txn *txn = NULL;
	struct purged purged;
	int r;

	memset(&vi, 0, sizeof(vi));
	SKR_GUARD(skr_key_name_check(req->name));
	SKR_GUARD(write_begin(srv, req, &txn, &purged));
	if (op == 0)
		SKR_GUARD(skr_store_key_delete(txn, req->name, req->now,
		    SKR_SETTING(srv, retention), &vi));
	else if (op == 1)
		SKR_GUARD(skr_store_key_recover(txn, req->name, &vi));
	else
		SKR_GUARD(skr_store_key_purge(txn, req->name));
	r = key_commit(txn, req, events[op], req->name, NULL, &purged);
	txn = NULL;
	if (r != SKR_OK)
		goto out;
	if (op == 0)
		r = skr_response_json(resp, 200, skr_bundle_deleted(srv, &vi));
	else if (op == 1)
		r = skr_response_json(resp, 200, skr_bundle_key(srv, &vi));
	else {
		resp->status = 204;
		skr_buf_reset(&resp->body);
	}
out:
	skr_store_txn_abort(txn);
	skr_version_info_clear(&vi);
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
	return r;
}

int
skr_api_key_delete(skr_server *srv, skr_request *req, skr_response *resp)
{
	return lifecycle(srv, req, resp, 0);
}

int
skr_api_deleted_recover(skr_server *srv, skr_request *req, skr_response *resp)
{
	return lifecycle(srv, req, resp, 1);
}

int
skr_api_deleted_purge(skr_server *srv, skr_request *req, skr_response *resp)
{
	return lifecycle(srv, req, resp, 2);
}

int
skr_api_deleted_get(skr_server *srv, skr_request *req, skr_response *resp)
{
	return get_one(srv, req, resp, 1);
}

int
skr_api_key_backup(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_buf blob = SKR_BUF_INIT, text = SKR_BUF_INIT;
	skr_txn *txn = NULL;
	struct purged purged;
	int r;

	SKR_GUARD(skr_key_name_check(req->name));
	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_READ, &txn));
	SKR_GUARD(skr_store_backup(txn, req->name, &blob));
	skr_store_txn_abort(txn);
	txn = NULL;
	/* Reading material out is itself worth a record. */
	SKR_GUARD(write_begin(srv, req, &txn, &purged));
	r = key_commit(txn, req, "key.backup", req->name, NULL, &purged);
	txn = NULL;
	if (r != SKR_OK)
		goto out;
	SKR_GUARD(skr_b64url_encode(&text, blob.data, blob.len));
	r = skr_response_json(resp, 200, json_pack("{s:s}", "value",
	    skr_buf_cstr(&text)));
out:
	skr_store_txn_abort(txn);
	skr_buf_free(&blob);
	skr_buf_free(&text);
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
	return r;
}

int
skr_api_key_restore(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_buf blob = SKR_BUF_INIT;
	skr_version_info vi;
	skr_txn *txn = NULL;
	struct purged purged;
	json_t *body = NULL, *v;
	int r;

	memset(&vi, 0, sizeof(vi));
	SKR_GUARD(skr__api_json_body(req, &body));
	v = json_object_get(body, "value");
	SKR_ENSURE(json_is_string(v), SKR_ERR_BAD_REQUEST);
	if (skr_b64url_decode(&blob, json_string_value(v),
	    json_string_length(v)) != SKR_OK) {
		r = SKR_ERR_BACKUP_INVALID;
		goto out;
	}
	SKR_GUARD(write_begin(srv, req, &txn, &purged));
	SKR_GUARD(skr_store_restore(txn, blob.data, blob.len, &vi));
	/* Scopes apply to the restored name too. */
	if (req->principal != NULL &&
	    !skr_auth_name_allowed(req->principal, vi.name)) {
		r = SKR_ERR_AUTH_FORBIDDEN;
		goto out;
	}
	r = key_commit(txn, req, "key.restore", vi.name, vi.version,
	    &purged);
	txn = NULL;
	if (r == SKR_OK)
		r = skr_response_json(resp, 200, skr_bundle_key(srv, &vi));
out:
	skr_store_txn_abort(txn);
	skr_version_info_clear(&vi);
	skr_buf_free(&blob);
	json_decref(body);
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
	return r;
}
