/*
 * Project routes under /admin/ (docs/api.md): bearer tokens,
 * authority status and refresh, the audit log and its verification.
 */
#include "api.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "authority.h"
#include "guard.h"
#include "json.h"
#include "server.h"
#include "skr/error.h"
#include "store.h"

static const struct {
	const char *name;
	unsigned bit;
} roles[] = {
	{ "admin", SKR_ROLE_ADMIN },
	{ "operator", SKR_ROLE_OPERATOR },
	{ "reader", SKR_ROLE_READER },
	{ "auditor", SKR_ROLE_AUDITOR },
	{ "releaser", SKR_ROLE_RELEASER },
};
#define NROLES (sizeof(roles) / sizeof(roles[0]))

static json_t *
roles_json(unsigned bits)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < NROLES; i++)
		if (bits & roles[i].bit)
			json_array_append_new(a, json_string(roles[i].name));
	return a;
}

static json_t *
token_json(const skr_token_info *t)
{
	json_t *o, *pre = json_array();

	for (size_t i = 0; pre != NULL && i < t->p.nprefixes; i++)
		json_array_append_new(pre, json_string(t->p.prefixes[i]));
	o = json_pack("{s:s,s:s,s:o,s:o,s:I,s:b,s:o}", "id", t->p.id, "name",
	    t->p.name, "roles", roles_json(t->p.roles), "prefixes", pre,
	    "created", (json_int_t)t->created, "revoked", t->revoked,
	    "expires", t->p.expires ? json_integer(t->p.expires) :
	    json_null());
	return o;
}

/* The token's id is the detail of its create and revoke records. */
static int
token_commit(skr_txn *txn, const skr_request *req, const char *event,
    const char *id)
{
	skr_audit_rec rec = skr__api_audit(req, event);
	int r;

	if ((r = skr__api_principal_holds(txn, req)) != SKR_OK) {
		skr_store_txn_abort(txn);
		return r;
	}
	skr_audit_detail_str(&rec, "id", id);
	return skr_audit_commit(txn, &rec, 1, req->now);
}

/* {name?, roles: [...], prefixes?: [...], expires?} of a token create.  On
 * a refusal why says what was wrong (never a secret: there is none yet). */
static int
parse_token_request(const skr_request *req, skr_principal *p, skr_buf *why)
{
	static const char *const allowed[] = { "name", "roles", "prefixes",
		"expires", NULL };
	json_t *body = NULL, *v, *e;
	const char *k;
	size_t i, j;
	int r;

	memset(p, 0, sizeof(*p));
	SKR_GUARD(skr__api_json_body(req, &body));
	r = SKR_ERR_BAD_REQUEST;
	json_object_foreach(body, k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], k) == 0)
				break;
		if (allowed[i] == NULL) {
			skr_buf_appendf(why, "unknown member \"%.64s\"", k);
			goto out;
		}
	}
	v = json_object_get(body, "name");
	if (v != NULL && (!json_is_string(v) || json_string_length(v) >=
	    sizeof(p->name))) {
		skr_buf_appendf(why, "name: a string of at most %zu bytes",
		    sizeof(p->name) - 1);
		goto out;
	}
	if (v != NULL)
		snprintf(p->name, sizeof(p->name), "%s", json_string_value(v));
	v = json_object_get(body, "roles");
	if (!json_is_array(v) || json_array_size(v) == 0) {
		skr_buf_append_str(why, "roles: a non-empty array");
		goto out;
	}
	json_array_foreach(v, i, e) {
		for (j = 0; j < NROLES; j++)
			if (json_is_string(e) && strcmp(json_string_value(e),
			    roles[j].name) == 0)
				break;
		if (j == NROLES) {
			skr_buf_append_str(why, "roles: admin, operator, "
			    "reader, auditor or releaser");
			goto out;
		}
		p->roles |= roles[j].bit;
	}
	v = json_object_get(body, "prefixes");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_array(v) || json_array_size(v) > SKR_MAX_PREFIXES) {
			skr_buf_appendf(why, "prefixes: an array of at most %d",
			    SKR_MAX_PREFIXES);
			goto out;
		}
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) || json_string_length(e) == 0 ||
			    json_string_length(e) >= sizeof(p->prefixes[0]) ||
			    strspn(json_string_value(e), "ABCDEFGHIJKLMNOPQRSTU"
			    "VWXYZabcdefghijklmnopqrstuvwxyz0123456789-") !=
			    json_string_length(e)) {
				skr_buf_append_str(why, "prefixes: key-name "
				    "prefixes ([A-Za-z0-9-])");
				goto out;
			}
			snprintf(p->prefixes[i], sizeof(p->prefixes[i]), "%s",
			    json_string_value(e));
		}
		p->nprefixes = json_array_size(v);
	}
	v = json_object_get(body, "expires");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) <= req->now) {
			skr_buf_append_str(why, "expires: unix seconds in the "
			    "future");
			goto out;
		}
		p->expires = json_integer_value(v);
	}
	r = SKR_OK;
out:
	json_decref(body);
	return r;
}

int
skr_api_token_create(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_principal want;
	skr_token_info info;
	skr_buf secret = SKR_BUF_INIT_SECRET, why;
	skr_txn *txn = NULL;
	json_t *o;
	int r;

	skr_buf_init(&why, 256);
	if ((r = parse_token_request(req, &want, &why)) != SKR_OK) {
		if (why.len > 0)
			skr_response_error(resp, r, "%s: %s", skr_strerror(r),
			    skr_buf_cstr(&why));
		else
			skr_response_error(resp, r, NULL);
		skr_buf_free(&why);
		return r;
	}
	skr_buf_free(&why);
	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_WRITE, &txn));
	SKR_GUARD(skr_store_token_create(txn, &want, req->now, &secret, &info));
	r = token_commit(txn, req, "token.create", info.p.id);
	txn = NULL;
	if (r != SKR_OK)
		goto out;
	/* The secret is shown this once and never stored. */
	o = token_json(&info);
	if (o != NULL && json_object_set_new(o, "token",
	    json_string(skr_buf_cstr(&secret))) != 0) {
		json_decref(o);
		o = NULL;
	}
	r = skr_response_json(resp, 200, o);
out:
	skr_store_txn_abort(txn);
	skr_buf_free(&secret);
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
	return r;
}

int
skr_api_token_list(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_token_info *items = NULL;
	skr_txn *txn = NULL;
	char marker[512], *next = NULL;
	size_t n = 0;
	json_t *arr = NULL;
	int r;

	if (skr_request_query(req, "$skiptoken", marker, sizeof(marker)) < 0) {
		r = SKR_ERR_BAD_REQUEST;
		goto out;
	}
	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_READ, &txn));
	SKR_GUARD(skr_store_token_list(txn, marker, SKR_PAGE_MAX, &items, &n,
	    &next));
	SKR_ENSURE((arr = json_array()) != NULL, SKR_ERR_NOMEM);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, token_json(&items[i]));
	r = skr_response_json(resp, 200, json_pack("{s:o,s:s?}", "value", arr,
	    "next", next));
	arr = NULL;
out:
	skr_store_txn_abort(txn);
	json_decref(arr);
	free(items);
	free(next);
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
	return r;
}

int
skr_api_token_revoke(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_txn *txn = NULL;
	int r;

	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_WRITE, &txn));
	if ((r = skr_store_token_revoke(txn, req->name, req->now)) ==
	    SKR_ERR_NOT_FOUND) {
		skr_store_txn_abort(txn);
		return skr_response_error(resp, r, "no token with that id");
	}
	SKR_GUARD(r);
	r = token_commit(txn, req, "token.revoke", req->name);
	txn = NULL;
	if (r == SKR_OK)
		r = skr_response_json(resp, 200, json_pack("{s:s,s:b}", "id",
		    req->name, "revoked", 1));
out:
	skr_store_txn_abort(txn);
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
	return r;
}

int
skr_api_authorities(skr_server *srv, skr_request *req, skr_response *resp)
{
	struct skr_authorities *auths = skr_server_authorities(srv);
	json_t *v;

	(void)req;
	v = auths != NULL ? skr_authorities_status_json(auths) : json_array();
	return skr_response_json(resp, 200, json_pack("{s:o}", "value", v));
}

int
skr_api_authorities_refresh(skr_server *srv, skr_request *req,
    skr_response *resp)
{
	struct skr_authorities *auths = skr_server_authorities(srv);
	char issuer[512];
	int r, q;

	q = skr_request_query(req, "issuer", issuer, sizeof(issuer));
	if (q != 1 || issuer[0] == '\0')
		return skr_response_error(resp, SKR_ERR_BAD_REQUEST,
		    "issuer query parameter required");
	if (auths == NULL)
		return skr_response_error(resp, SKR_ERR_NOT_FOUND,
		    "no authorities are configured");
	if ((r = skr_authorities_request_refresh(auths, issuer)) !=
	    SKR_OK)
		return skr_response_error(resp, r, NULL);
	return skr_response_json(resp, 202, json_pack("{s:s,s:s}", "issuer",
	    issuer, "status", "refresh requested"));
}

/* A decimal query parameter in [lo, hi]: 1 and *out set, 0 when absent,
 * SKR_ERR_BAD_REQUEST when malformed or out of range. */
static int
query_int(const skr_request *req, const char *name, long long lo,
    long long hi, long long *out)
{
	char v[32], *end;
	long long n;
	int q;

	if ((q = skr_request_query(req, name, v, sizeof(v))) <= 0)
		return q < 0 ? SKR_ERR_BAD_REQUEST : 0;
	if (v[0] < '0' || v[0] > '9')
		return SKR_ERR_BAD_REQUEST;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < lo || n > hi)
		return SKR_ERR_BAD_REQUEST;
	*out = n;
	return 1;
}

/* GET /admin/audit?key=&event=&outcome=&since=&until=&after=&maxresults= */
int
skr_api_audit_list(skr_server *srv, skr_request *req, skr_response *resp)
{
	static const char *const outcomes[] = { "ok", "denied", "error" };
	skr_audit_filter f;
	char key[SKR_KEY_NAME_MAX + 1], outcome[16], event[64];
	long long since = 0, until = 0, after = 0, max = 0;
	uint64_t next = 0;
	json_t *recs = NULL;
	skr_txn *txn = NULL;
	size_t i;
	int r, q;

	memset(&f, 0, sizeof(f));
	if ((q = skr_request_query(req, "key", key, sizeof(key))) < 0 ||
	    (q == 1 && (r = skr_key_name_check(key)) != SKR_OK)) {
		r = SKR_ERR_BAD_REQUEST;
		goto bad;
	}
	f.key = q == 1 ? key : NULL;
	if ((q = skr_request_query(req, "event", event, sizeof(event))) < 0) {
		r = SKR_ERR_BAD_REQUEST;
		goto bad;
	}
	f.event = q == 1 ? event : NULL;
	if ((q = skr_request_query(req, "outcome", outcome,
	    sizeof(outcome))) < 0) {
		r = SKR_ERR_BAD_REQUEST;
		goto bad;
	}
	for (i = 0; q == 1 && i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		if (strcmp(outcome, outcomes[i]) == 0)
			break;
	if (q == 1 && i == sizeof(outcomes) / sizeof(outcomes[0])) {
		r = SKR_ERR_BAD_REQUEST;
		goto bad;
	}
	f.outcome = q == 1 ? outcome : NULL;
	if ((r = query_int(req, "since", 0, INT64_MAX, &since)) < 0 ||
	    (r = query_int(req, "until", 0, INT64_MAX, &until)) < 0 ||
	    (r = query_int(req, "after", 0, INT64_MAX, &after)) < 0 ||
	    (r = query_int(req, "maxresults", 1, 1000, &max)) < 0)
		goto bad;
	f.since = since;
	f.until = until;
	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_READ, &txn));
	SKR_GUARD(skr_audit_query(txn, &f, (uint64_t)after, (size_t)max,
	    &recs, &next));
	r = skr_response_json(resp, 200, json_pack("{s:o,s:I}", "value", recs,
	    "next", (json_int_t)next));
	recs = NULL;
out:
	skr_store_txn_abort(txn);
	json_decref(recs);
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
	return r;
bad:
	return skr_response_error(resp, r, "key, event, outcome (ok, denied, "
	    "error), since, until, after (unix seconds or sequence numbers) "
	    "or maxresults (1-1000) malformed");
}

/* Records checked per read transaction (audit.h, skr_audit_verify_step). */
#define VERIFY_CHUNK 8192

/*
 * The whole chain, walked on the thread pool (the route is SKR_ROUTE_SLOW)
 * in steps of VERIFY_CHUNK records, each in a read transaction of its own,
 * so that neither an event loop nor one LMDB snapshot is held for the
 * walk.  One verification runs at a time: another asked for meanwhile is
 * refused with 429 rather than take a second pool thread for as long.  A
 * shutdown ends it at its next step (503).
 */
int
skr_api_audit_verify(skr_server *srv, skr_request *req, skr_response *resp)
{
	uint64_t count = 0, broken = 0;
	skr_audit_verifier vf;
	skr_txn *txn = NULL;
	int r, v;

	(void)req;
	if (__atomic_exchange_n(&srv->audit_verifying, 1, __ATOMIC_ACQ_REL)) {
		skr_response_error(resp, SKR_ERR_RATE_LIMITED, "an audit "
		    "verification is already running; retry later");
		skr_response_add_header(resp, "Retry-After", "5");
		return SKR_ERR_RATE_LIMITED;
	}
	skr_audit_verifier_init(&vf);
	do {
		/* A shutdown does not wait for the rest of a long chain. */
		SKR_ENSURE(!__atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE),
		    SKR_ERR_SEALED);
		SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_READ, &txn));
		v = skr_audit_verify_step(txn, &vf, VERIFY_CHUNK);
		skr_store_txn_abort(txn);
		txn = NULL;
	} while (v == SKR_AUDIT_MORE);
	skr_audit_verifier_report(&vf, v, &count, &broken);
	if (v != SKR_OK && v != SKR_ERR_AUDIT_BROKEN) {
		r = v;
		goto out;
	}
	r = skr_response_json(resp, 200, json_pack("{s:b,s:I,s:o}", "ok",
	    v == SKR_OK, "records", (json_int_t)count, "first_broken",
	    v == SKR_OK ? json_null() : json_integer((json_int_t)broken)));
out:
	skr_store_txn_abort(txn);
	__atomic_store_n(&srv->audit_verifying, 0, __ATOMIC_RELEASE);
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
	return r;
}
