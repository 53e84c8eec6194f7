/*
 * A server for tests that drive handlers without sockets: skr_server over a
 * store fixture, optionally trusting a test authority (server/testauth)
 * and holding a release-signing key, and one call that runs a request
 * through skr_dispatch as the HTTP layer does.
 */
#ifndef SKR_TESTS_SERVER_FIXTURE_H
#define SKR_TESTS_SERVER_FIXTURE_H

#include <stdint.h>

#include <jansson.h>

#include "request.h"
#include "server.h"
#include "store_fixture.h"
#include "testauth.h"

#define SKR_TEST_BASE_URL "https://skr.test:8443"
/* The issuer of the fixture's test authority. */
#define SKR_TEST_ISSUER "https://127.0.0.1" SKR_TESTAUTH_PATH
/* The peer of a request that names none. */
#define SKR_TEST_PEER "192.0.2.1"

/* skr_test_server_make flags. */
#define SKR_TEST_SERVER_AUTHORITY 0x1 /* trust ta through a key-set file */
#define SKR_TEST_SERVER_SIGNING 0x2   /* an ES256 release-signing key from
                                       * the PKI of `skrd init` */

typedef struct skr_test_server {
	skr_server srv;    /* base_url SKR_TEST_BASE_URL, real clock; srv.store
	                    * is st.store and owned by srv */
	skr_test_store st; /* the store and its directory */
	skr_testauth *ta;  /* owned; NULL without SKR_TEST_SERVER_AUTHORITY */
} skr_test_server;

/* Make t with the SKR_TEST_SERVER_* of flags in a new directory
 * skr-<what>-XXXXXX.  Exits 1 when it cannot be made. */
void skr_test_server_make(skr_test_server *t, const char *what,
    unsigned flags);
/* Free everything t holds and remove its directory. */
void skr_test_server_free(skr_test_server *t);

/* One request for skr_test_call; every member may be left zero. */
typedef struct skr_test_request {
	const char *method;        /* NULL: GET */
	const char *target;        /* the path with an optional ?query */
	const char *body;          /* NULL: no body */
	const char *content_type;  /* sent with a body, as given (NULL:
	                            * none) */
	const char *bearer;        /* token text sent as "Bearer <text>" */
	const char *authorization; /* the raw header, when bearer is NULL */
	const char *peer;          /* NULL: SKR_TEST_PEER */
	const char *request_id;    /* NULL: "test" */
	int64_t now;               /* 0: skr_server_now(srv) */
} skr_test_request;

/*
 * Run r through skr_dispatch on srv into resp (cleared first; the caller
 * initialises it once and frees its body at the end).  Returns what
 * skr_dispatch returns.
 */
int skr_test_call(skr_server *srv, const skr_test_request *r,
    skr_response *resp);

/* The response body parsed as JSON, or NULL; a new reference. */
json_t *skr_test_json(const skr_response *resp);

/* 1 when resp is the error shape of docs/api.md for err: the status of
 * the one mapping and a message that starts with err's stable id. */
int skr_test_is_error(const skr_response *resp, int err);

#endif
