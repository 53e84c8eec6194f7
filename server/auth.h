/*
 * Administrative authentication (docs/api.md, "Authentication"): bearer tokens
 * with roles, key-name prefix scopes, expiry and revocation, stored only as
 * hashes.
 */
#ifndef SKR_SERVER_AUTH_H
#define SKR_SERVER_AUTH_H

#include "request.h"

/*
 * Called by the dispatcher (dispatch.h) for every matched route before its
 * handler.
 * For a route with SKR_ROUTE_AUTH: checks the Authorization header, fills
 * req->principal (pointing at req->principal_buf) and checks the route's
 * roles.  Implements the Key Vault challenge (401 with WWW-Authenticate) for
 * bodiless, credential-less requests to SKR_ROUTE_KV routes.  Returns SKR_OK
 * to run the handler, or an error already written to resp.
 */
int skr_auth_request(skr_server *srv, skr_request *req,
    const skr_route *route, skr_response *resp);

/* 1 if the principal may act on key `name` (prefix scopes). */
int skr_auth_name_allowed(const skr_principal *p, const char *name);

#endif
