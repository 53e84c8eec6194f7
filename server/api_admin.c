/*
 * Project routes under /admin/ (SPEC sections 2 and 7): bearer tokens,
 * authority status and refresh, the audit log and its verification.
 */
#include "api.h"

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
	o = json_pack("{s:s,s:s,s:o,s:o,s:I,s:b}", "id", t->p.id, "name",
	    t->p.name, "roles", roles_json(t->p.roles), "prefixes", pre,
	    "created", (json_int_t)t->created, "revoked", t->revoked);
	if (o != NULL)
		json_object_set_new(o, "expires", t->p.expires ?
		    json_integer(t->p.expires) : json_null());
	return o;
}

static int
audited_commit(skr_txn *txn, const skr_request *req, const char *event,
    const char *id)
{
	json_t *rec;
	int r;

	rec = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:{s:s}}", "event", event,
	    "outcome", "ok", "peer", req->peer, "request_id", req->request_id,
	    "principal", req->principal ? req->principal->id : NULL,
	    "detail", "id", id);
	if (rec == NULL)
		return SKR_ERR_NOMEM;
	r = skr_audit_append(txn, rec, req->now, NULL);
	json_decref(rec);
	return r == SKR_OK ? skr_store_txn_commit(txn) : r;
}

static int
parse_token_request(const skr_request *req, skr_principal *p)
{
	static const char *const allowed[] = { "name", "roles", "prefixes",
		"expires", NULL };
	json_t *body = NULL, *v, *e;
	const char *k;
	size_t i, j;
	int r = SKR_ERR_BAD_REQUEST;

	memset(p, 0, sizeof(*p));
	if (req->body_len == 0 || skr_json_parse((const char *)req->body,
	    req->body_len, 0, &body) != SKR_OK || !json_is_object(body))
		goto out;
	json_object_foreach(body, k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], k) == 0)
				break;
		if (allowed[i] == NULL)
			goto out;
	}
	v = json_object_get(body, "name");
	if (v != NULL && (!json_is_string(v) || json_string_length(v) >=
	    sizeof(p->name)))
		goto out;
	if (v != NULL)
		snprintf(p->name, sizeof(p->name), "%s", json_string_value(v));
	v = json_object_get(body, "roles");
	if (!json_is_array(v) || json_array_size(v) == 0)
		goto out;
	json_array_foreach(v, i, e) {
		for (j = 0; j < NROLES; j++)
			if (json_is_string(e) && strcmp(json_string_value(e),
			    roles[j].name) == 0)
				break;
		if (j == NROLES)
			goto out;
		p->roles |= roles[j].bit;
	}
	v = json_object_get(body, "prefixes");
	if (v != NULL) {
		if (!json_is_array(v) || json_array_size(v) > SKR_MAX_PREFIXES)
			goto out;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) || json_string_length(e) == 0 ||
			    json_string_length(e) >= sizeof(p->prefixes[0]))
				goto out;
			snprintf(p->prefixes[i], sizeof(p->prefixes[i]), "%s",
			    json_string_value(e));
		}
		p->nprefixes = json_array_size(v);
	}
	v = json_object_get(body, "expires");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) <= req->now)
			goto out;
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
	skr_buf secret = SKR_BUF_INIT_SECRET;
	skr_txn *txn = NULL;
	json_t *o;
	int r;

	SKR_GUARD(parse_token_request(req, &want));
	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_WRITE, &txn));
	SKR_GUARD(skr_store_token_create(txn, &want, req->now, &secret, &info));
	r = audited_commit(txn, req, "token.create", info.p.id);
	txn = NULL;
	if (r != SKR_OK)
		goto out;
	/* The secret is shown this once and never stored. */
	o = token_json(&info);
	if (o != NULL)
		json_object_set_new(o, "token", json_string(skr_buf_cstr(
		    &secret)));
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
	SKR_GUARD(skr_store_token_revoke(txn, req->name, req->now));
	r = audited_commit(txn, req, "token.revoke", req->name);
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
	json_t *v;

	(void)req;
	v = srv->authorities != NULL ?
	    skr_authorities_status_json(srv->authorities) : json_array();
	return skr_response_json(resp, 200, json_pack("{s:o}", "value", v));
}

int
skr_api_authorities_refresh(skr_server *srv, skr_request *req,
    skr_response *resp)
{
	char issuer[512];
	int r, q;

	q = skr_request_query(req, "issuer", issuer, sizeof(issuer));
	if (q != 1 || srv->authorities == NULL)
		return skr_response_error(resp, q < 0 || srv->authorities ==
		    NULL ? SKR_ERR_BAD_REQUEST : SKR_ERR_BAD_REQUEST,
		    "issuer query parameter required");
	if ((r = skr_authorities_request_refresh(srv->authorities, issuer)) !=
	    SKR_OK)
		return skr_response_error(resp, r, NULL);
	return skr_response_json(resp, 202, json_pack("{s:s,s:s}", "issuer",
	    issuer, "status", "refresh requested"));
}

int
skr_api_audit_list(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_audit_filter f;
	char key[128], outcome[16], event[64], since[32], after[32], max[16];
	uint64_t next = 0, a = 0;
	size_t n = 0;
	json_t *recs = NULL;
	skr_txn *txn = NULL;
	int r = SKR_ERR_BAD_REQUEST;

	memset(&f, 0, sizeof(f));
	if (skr_request_query(req, "key", key, sizeof(key)) == 1)
		f.key = key;
	if (skr_request_query(req, "outcome", outcome, sizeof(outcome)) == 1)
		f.outcome = outcome;
	if (skr_request_query(req, "event", event, sizeof(event)) == 1)
		f.event = event;
	if (skr_request_query(req, "since", since, sizeof(since)) == 1)
		f.since = strtoll(since, NULL, 10);
	if (skr_request_query(req, "after", after, sizeof(after)) == 1)
		a = strtoull(after, NULL, 10);
	if (skr_request_query(req, "maxresults", max, sizeof(max)) == 1)
		n = strtoul(max, NULL, 10);
	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_READ, &txn));
	SKR_GUARD(skr_audit_query(txn, &f, a, n, &recs, &next));
	r = skr_response_json(resp, 200, json_pack("{s:o,s:I}", "value", recs,
	    "next", (json_int_t)next));
	recs = NULL;
out:
	skr_store_txn_abort(txn);
	json_decref(recs);
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
	return r;
}

int
skr_api_audit_verify(skr_server *srv, skr_request *req, skr_response *resp)
{
	uint64_t count = 0, broken = 0;
	skr_txn *txn = NULL;
	int r, v;

	(void)req;
	SKR_GUARD(skr_store_txn_begin(srv->store, SKR_TXN_READ, &txn));
	v = skr_audit_verify(txn, &count, &broken);
	if (v != SKR_OK && v != SKR_ERR_AUDIT_BROKEN) {
		r = v;
		goto out;
	}
	r = skr_response_json(resp, 200, json_pack("{s:b,s:I,s:o}", "ok",
	    v == SKR_OK, "records", (json_int_t)count, "first_broken",
	    v == SKR_OK ? json_null() : json_integer((json_int_t)broken)));
out:
	skr_store_txn_abort(txn);
	if (r != SKR_OK)
		skr_response_error(resp, r, NULL);
	return r;
}
