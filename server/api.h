/* The route handlers of the key-management and admin API. */
#ifndef SKR_SERVER_API_H
#define SKR_SERVER_API_H

#include "audit.h"
#include "request.h"

#define API(name) \
	int name(skr_server *srv, skr_request *req, skr_response *resp)

API(skr_api_key_create);
API(skr_api_key_import);
API(skr_api_key_get);
API(skr_api_key_list);
API(skr_api_key_versions);
API(skr_api_key_update);
API(skr_api_key_rotate);
API(skr_api_key_delete);
API(skr_api_deleted_list);
API(skr_api_deleted_get);
API(skr_api_deleted_recover);
API(skr_api_deleted_purge);
API(skr_api_key_backup);
API(skr_api_key_restore);
API(skr_api_token_create);
API(skr_api_token_list);
API(skr_api_token_revoke);
API(skr_api_authorities);
API(skr_api_authorities_refresh);
API(skr_api_audit_list);
API(skr_api_audit_verify);
API(skr_api_seal_status);
API(skr_api_unseal);
API(skr_api_seal);
API(skr_api_master_key_rotate);

#undef API

/*
 * The strict JSON object body of a request (api_keys.c): SKR_OK with *out a
 * new reference, or SKR_ERR_BAD_REQUEST (no body, not an object),
 * SKR_ERR_CONTENT_TYPE (not application/json), or the parser's error
 * (SKR_ERR_JSON, SKR_ERR_JSON_DUPLICATE, SKR_ERR_JSON_DEPTH).
 */
int skr__api_json_body(const skr_request *req, json_t **out);

/*
 * The audit record (audit.h) of a request's event: outcome "ok", and the
 * request's peer, request id and caller (its token id, when it has one).
 * The strings are borrowed from req and event.
 */
skr_audit_rec skr__api_audit(const skr_request *req, const char *event);

/*
 * The caller's bearer token, read again in write transaction txn before
 * it commits the caller's change: the request was authenticated in an
 * earlier snapshot, and a change must not be recorded after the
 * revocation (or expiry) of the token that asked for it.  SKR_OK, also
 * for a request without a principal; SKR_ERR_AUTH_REVOKED or
 * SKR_ERR_AUTH_EXPIRED (a token deleted meanwhile: SKR_ERR_AUTH_INVALID).
 */
int skr__api_principal_holds(skr_txn *txn, const skr_request *req);

/*
 * One purge sweep transaction (housekeep.c): purge at most max soft-deleted
 * keys whose scheduledPurgeDate is <= now, each with a key.purge audit
 * record, in one synced write.  *npurged says how many; fewer than max
 * means none is left due.
 */
int skr_api_purge_due(skr_server *srv, int64_t now, size_t max,
    size_t *npurged);

#endif
