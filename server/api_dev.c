/*
 * POST /dev/token in `skrd --dev`: mint a test attestation token from the
 * built-in test authority (srv->dev).  Part of the dev-mode library, which
 * only the skrd program links; routes.c answers 404 wherever this handler
 * is not installed.
 */
#include <pthread.h>

#include "dev.h"
#include "request.h"
#include "server.h"
#include "skr/error.h"
#include "testauth.h"

static pthread_mutex_t mint_lock = PTHREAD_MUTEX_INITIALIZER;

int
skrd_dev_token(skr_server *srv, skr_request *req, skr_response *resp)
{
	skr_testauth *ta = srv->dev;
	skr_buf tok = SKR_BUF_INIT;
	int r;

	/* The test authority object is not thread-safe. */
	pthread_mutex_lock(&mint_lock);
	r = skr_testauth_mint_json(ta, req->body_len ?
	    (const char *)req->body : "{}", req->body_len ? req->body_len : 2,
	    req->now, &tok);
	pthread_mutex_unlock(&mint_lock);
	if (r == SKR_OK)
		r = skr_response_json(resp, 200, json_pack("{s:s,s:s}", "token",
		    skr_buf_cstr(&tok), "issuer",
		    skr_testauth_issuer(ta)));
	else
		skr_response_error(resp, r, NULL);
	skr_buf_free(&tok);
	return r;
}

