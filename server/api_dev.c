/*
 * POST /dev/token: mint a test attestation token from the built-in test
 * authority.  Only `skrd --dev` has one; every other server answers 404.
 */
#include <pthread.h>

#include "api.h"
#include "server.h"
#include "skr/error.h"
#include "testauth.h"

static pthread_mutex_t mint_lock = PTHREAD_MUTEX_INITIALIZER;

int
skr_api_dev_token(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_buf tok = SKR_BUF_INIT;
	int r;

	if (!srv->dev_mode || srv->testauth == NULL)
		return skr_response_error(resp, SKR_ERR_NOT_FOUND, NULL);
	/* The test authority object is not thread-safe. */
	pthread_mutex_lock(&mint_lock);
	r = skr_testauth_mint_json(srv->testauth, req->body_len ?
	    (const char *)req->body : "{}", req->body_len ? req->body_len : 2,
	    req->now, &tok);
	pthread_mutex_unlock(&mint_lock);
	if (r == SKR_OK)
		r = skr_response_json(resp, 200, json_pack("{s:s,s:s}", "token",
		    skr_buf_cstr(&tok), "issuer",
		    skr_testauth_issuer(srv->testauth)));
	else
		skr_response_error(resp, r, NULL);
	skr_buf_free(&tok);
	return r;
}

