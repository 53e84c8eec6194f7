/*
 * Bearer-token authentication and the Key Vault challenge (docs/api.md,
 * "Authentication").  Token secrets are looked up by the store, which keeps
 * only their SHA-256 and compares in constant time.  Failed attempts are
 * counted per peer address (ratelimit.h); past the limit the peer gets 429.
 */
#include "auth.h"

#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "server.h"
#include "skr/error.h"
#include "store.h"

static skr_ratelimit *
limiter(skr_server *srv)
{
	return skr_ratelimit_get(&srv->auth_limit, srv->auth_fail_limit,
	    srv->auth_fail_window, srv->ratelimit_ipv6_prefix);
}

static int
challenge(skr_server *srv, skr_response *resp, int err)
{
	char v[600];

	snprintf(v, sizeof(v), "Bearer authorization=\"%s\", resource=\"%s\"",
	    srv->base_url, srv->base_url);
	skr_response_error(resp, err, NULL);
	skr_response_add_header(resp, "WWW-Authenticate", v);
	return err;
}

int
skr_auth_name_allowed(const skr_principal *p, const char *name)
{
	if (p->nprefixes == 0)
		return 1;
	for (size_t i = 0; i < p->nprefixes; i++)
		if (strncasecmp(name, p->prefixes[i],
		    strlen(p->prefixes[i])) == 0)
			return 1;
	return 0;
}

/*
 * A route that needs no principal (release, unless the server requires the
 * releaser role) but got credentials anyway.  A Key Vault client answers
 * the challenge with a bearer token of its own identity provider, which
 * means nothing here: such a credential is ignored, and neither refused nor
 * counted as a failed attempt.  One of our tokens names the caller, for the
 * audit record and its key-name scope.
 */
static int
optional_principal(skr_server *srv, skr_request *req)
{
	const char *h = req->authorization;
	skr_txn *txn = NULL;

	int r;

	if (strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0' ||
	    skr_store_txn_begin(srv->store, SKR_TXN_READ, &txn) != SKR_OK)
		return SKR_OK;
	/* The token's record is part of what a release decides on. */
	skr_store_txn_track(txn, &req->reads);
	r = skr_store_token_lookup(txn, h + 7, req->now, &req->principal_buf);
	if (r == SKR_OK)
		req->principal = &req->principal_buf;
	else
		skr_wipe(&req->principal_buf, sizeof(req->principal_buf));
	skr_store_txn_abort(txn);
	/* A replica's copy that moved under the lookup: run it again. */
	return r == SKR_ERR_STORE_RETRY ? r : SKR_OK;
}

int
skr_auth_request(skr_server *srv, skr_request *req, const skr_route *route,
    skr_response *resp)
{
	const char *h = req->authorization;
	skr_txn *txn = NULL;
	int64_t wait;
	char retry[32];
	int r, need;

	req->principal = NULL;
	need = (route->flags & SKR_ROUTE_AUTH) ||
	    ((route->roles & SKR_ROLE_RELEASER) &&
	    SKR_SETTING(srv, require_releaser));
	/* The Key Vault SDKs open with a bodiless, credential-less request
	 * and only retry with both after this challenge. */
	if ((route->flags & SKR_ROUTE_KV) && h == NULL && req->body_len == 0 &&
	    (need || strcmp(req->method, "POST") == 0 ||
	    strcmp(req->method, "PUT") == 0 ||
	    strcmp(req->method, "PATCH") == 0))
		return challenge(srv, resp, SKR_ERR_AUTH_MISSING);
	if (!need && h == NULL)
		return SKR_OK;
	if (!need) {
		if ((r = optional_principal(srv, req)) != SKR_OK)
			return skr_response_error(resp, r, NULL);
		return SKR_OK;
	}
	if ((wait = skr_ratelimit_blocked(limiter(srv), req->peer,
	    req->now)) > 0) {
		snprintf(retry, sizeof(retry), "%lld", (long long)wait);
		skr_response_error(resp, SKR_ERR_RATE_LIMITED,
		    "too many failed authentications; retry later");
		skr_response_add_header(resp, "Retry-After", retry);
		return SKR_ERR_RATE_LIMITED;
	}
	if (h == NULL)
		return challenge(srv, resp, SKR_ERR_AUTH_MISSING);
	if (strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		skr_ratelimit_hit(limiter(srv), req->peer, req->now);
		return challenge(srv, resp, SKR_ERR_AUTH_INVALID);
	}
	if ((r = skr_store_txn_begin(srv->store, SKR_TXN_READ, &txn)) !=
	    SKR_OK)
		return skr_response_error(resp, r, NULL);
	skr_store_txn_track(txn, &req->reads);
	r = skr_store_token_lookup(txn, h + 7, req->now, &req->principal_buf);
	skr_store_txn_abort(txn);
	if (r != SKR_OK) {
		skr_wipe(&req->principal_buf, sizeof(req->principal_buf));
		if (r == SKR_ERR_AUTH_INVALID || r == SKR_ERR_AUTH_EXPIRED ||
		    r == SKR_ERR_AUTH_REVOKED) {
			skr_ratelimit_hit(limiter(srv), req->peer, req->now);
			return challenge(srv, resp, r);
		}
		return skr_response_error(resp, r, NULL);
	}
	req->principal = &req->principal_buf;
	if (!(req->principal->roles & SKR_ROLE_ADMIN) &&
	    !(req->principal->roles & route->roles))
		return skr_response_error(resp, SKR_ERR_AUTH_FORBIDDEN,
		    "the token's roles do not allow %s %s", req->method,
		    route->pattern);
	/* A token scoped to key-name prefixes acts on those keys only: the
	 * admin routes (tokens, authorities, the audit log) reach beyond any
	 * scope -- a scoped admin could mint itself an unscoped token. */
	if (req->principal->nprefixes > 0 &&
	    strncmp(route->pattern, "/admin/", 7) == 0)
		return skr_response_error(resp, SKR_ERR_AUTH_FORBIDDEN,
		    "a token scoped to key-name prefixes may not call %s %s",
		    req->method, route->pattern);
	if (req->name[0] != '\0' && strncmp(route->pattern, "/admin/", 7) != 0 &&
	    !skr_auth_name_allowed(req->principal, req->name))
		return skr_response_error(resp, SKR_ERR_AUTH_FORBIDDEN,
		    "key name outside the token's scope");
	return SKR_OK;
}
