/*
 * The seal routes (docs/api.md, "Seal"): GET /sys/seal-status and
 * POST /sys/unseal, which answer while the server is sealed and need no
 * token; POST /sys/seal and POST /admin/master-key/rotate, admin only.
 */
#include "api.h"

#include <stdio.h>
#include <string.h>

#include "sealctl.h"
#include "server.h"
#include "skr/error.h"
#include "store.h"

int
skr_api_seal_status(skr_server *srv, skr_request *req, skr_response *resp)
{
	(void)req;
	return skr_response_json(resp, 200, skr_sealctl_status(srv->seal));
}

int
skr_api_unseal(skr_server *srv, skr_request *req, skr_response *resp)
{
	json_t *body = NULL, *st;
	const char *share = "";
	char retry[32];
	int64_t wait = 0;
	int r;

	/* An empty body reopens a seal that takes no shares. */
	if (req->body_len > 0) {
		if ((r = skr__api_json_body(req, &body)) != SKR_OK)
			return skr_response_error(resp, r, NULL);
		share = json_string_value(json_object_get(body, "share"));
		if (share == NULL || json_object_size(body) != 1) {
			json_decref(body);
			return skr_response_error(resp, SKR_ERR_BAD_REQUEST,
			    "the body is {\"share\": \"...\"}");
		}
	}
	r = skr_sealctl_unseal(srv->seal, share, strlen(share), req->peer,
	    req->now, &wait);
	json_decref(body);
	if (r == SKR_ERR_RATE_LIMITED) {
		snprintf(retry, sizeof(retry), "%lld", (long long)wait);
		skr_response_add_header(resp, "Retry-After", retry);
	}
	if (r != SKR_OK)
		return skr_response_error(resp, r, NULL);
	st = skr_sealctl_status(srv->seal);
	return skr_response_json(resp, 200, st);
}

int
skr_api_seal(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_audit_rec rec = skr__api_audit(req, "seal.seal");
	skr_txn *txn = NULL;
	int r;

	if (srv->seal == NULL)
		return skr_response_error(resp, SKR_ERR_UNSUPPORTED,
		    "this server has no seal");
	/* Recorded while the store is still open. */
	if ((r = skr_store_txn_begin(srv->store, SKR_TXN_WRITE_RESERVE,
	    &txn)) != SKR_OK || (r = skr_audit_commit(txn, &rec, 1,
	    req->now)) != SKR_OK)
		return skr_response_error(resp, r, NULL);
	if ((r = skr_sealctl_seal(srv->seal, 30000)) != SKR_OK) {
		/* Still open: the record says the seal did not happen. */
		rec.outcome = "error";
		rec.reason = skr_err_id(r);
		if (r == SKR_ERR_CONFLICT && skr_store_txn_begin(srv->store,
		    SKR_TXN_WRITE_RESERVE, &txn) == SKR_OK)
			(void)skr_audit_commit(txn, &rec, 1, req->now);
		return skr_response_error(resp, r, r == SKR_ERR_CONFLICT ?
		    "requests still in flight; try again" : NULL);
	}
	return skr_response_json(resp, 200, skr_sealctl_status(srv->seal));
}

int
skr_api_master_key_rotate(skr_server *srv, skr_request *req,
    skr_response *resp)
{
	const char *who = req->principal != NULL ? req->principal->id : NULL;
	uint32_t gen = 0;
	int r;

	/* Each replica holds the master key in its own seal: a new
	 * generation made on one would leave the others unable to open
	 * what it seals (docs/availability.md, "Seals and master
	 * keys"). */
	if (skr_store_replicated(srv->store))
		return skr_response_error(resp, SKR_ERR_CONFLICT,
		    "master key rotation is not available on a replicated "
		    "store");
	if ((r = skr_sealctl_rotate(srv->seal, who, req->now, &gen)) !=
	    SKR_OK)
		return skr_response_error(resp, r, r == SKR_ERR_CONFLICT ?
		    "a rotation is running" : r == SKR_ERR_UNSUPPORTED ?
		    "this server has no seal" : NULL);
	return skr_response_json(resp, 202, json_pack("{s:I,s:o}",
	    "generation", (json_int_t)gen, "status",
	    skr_sealctl_status(srv->seal)));
}
