/*
 * The request/response model every route handler works with.  The HTTP layer
 * (http.c) turns an h2o request into an skr_request; the dispatcher
 * (dispatch.c) finds the route (routes.c), authenticates the caller (auth.c)
 * when the route needs it and calls the handler; the HTTP layer writes the
 * skr_response back.  Handlers never see a socket, so they are tested and
 * fuzzed through the same dispatcher.
 */
#ifndef SKR_SERVER_REQUEST_H
#define SKR_SERVER_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "principal.h"
#include "store.h"

typedef struct skr_server skr_server; /* server.h */
typedef struct skr_response skr_response;

/*
 * A handler of an SKR_ROUTE_ASYNC route runs on the event loop and may
 * answer later.  When req->defer is set (the HTTP layer sets it; the
 * socket-less dispatcher and the thread pool do not), the handler may
 * return SKR_PENDING having handed its work on (the audit committer): once
 * that is done it calls defer->ready(defer), from any thread, and the HTTP
 * layer then calls defer->finish(defer, resp) on the loop's thread and
 * answers.  Until finish has run, req and resp stay valid.  A handler that
 * could only go on by blocking the loop returns SKR_OFFLOOP before it has
 * changed anything; it is then run again off the loop, with defer NULL.
 */
typedef struct skr_defer skr_defer;
struct skr_defer {
	void (*ready)(skr_defer *d);                      /* the layer's */
	void (*finish)(skr_defer *d, skr_response *resp); /* the handler's */
	void *arg;                                        /* the handler's */
};
#define SKR_PENDING 1
#define SKR_OFFLOOP 2

typedef struct skr_request {
	const char *method;        /* "GET", "POST", ...; borrowed */
	const char *path;          /* path without the query; borrowed */
	const char *query;         /* raw query string without '?', or NULL */
	const uint8_t *body;       /* borrowed, body_len bytes, may be NULL */
	size_t body_len;
	const char *content_type;  /* borrowed or NULL */
	const char *authorization; /* raw Authorization header or NULL */
	char peer[64];             /* client address text */
	char request_id[33];
	/* Filled by the router from the path pattern. */
	char name[256];            /* {name}, "" when the route has none; may be
	                            * longer than a valid name, so that the
	                            * handler can say why it is refused */
	char version[33];          /* {version}, "" when absent or empty */
	/* Filled by auth for routes that need a principal; NULL otherwise.
	 * When set it points at principal_buf. */
	const skr_principal *principal;
	skr_principal principal_buf;
	int64_t now;               /* request time, unix seconds */
	void *loop_data;           /* per-event-loop state of the HTTP layer */
	skr_defer *defer;          /* see skr_defer; NULL: answer now */
	int offloop;               /* run again off the loop (SKR_OFFLOOP) */
	/* What a SKR_ROUTE_FENCED handler decided on, read from a
	 * replicated store's local copy (docs/availability.md): its audit
	 * commit is fenced on it.  Emptied before each run by the
	 * dispatcher. */
	skr_store_reads reads;
} skr_request;

#define SKR_RESPONSE_MAX_HEADERS 4

struct skr_response {
	int status;
	skr_buf body; /* the JSON (or text) body; freed by the HTTP layer */
	const char *content_type; /* static storage; NULL: application/json */
	size_t nheaders;
	struct {
		char name[32];
		char value[512];
	} headers[SKR_RESPONSE_MAX_HEADERS];
};

void skr_response_init(skr_response *resp);
void skr_response_clear(skr_response *resp);

/* Serialise body (a reference is stolen) as the response with status. */
int skr_response_json(skr_response *resp, int status, json_t *body);

/* The error shape (docs/api.md), {"error":{"code":C,"message":"<id>: <text>"}},
 * with the HTTP status and Key Vault code mapped from err in one place
 * (http_error.c).  fmt may be NULL (the table's text is used); the text
 * must never contain secrets. Returns err, so handlers can
 * `return skr_response_error(resp, r, ...)`. */
int skr_response_error(skr_response *resp, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int skr_response_add_header(skr_response *resp, const char *name,
    const char *value);

/* The one mapping from skr_err to HTTP status and Key Vault error code. */
int skr_err_http_status(int err);
const char *skr_err_kv_code(int err);

/* Query parameter lookup: copies the decoded value of name into out.
 * Returns 1 if present, 0 if absent, <0 on a malformed or oversized value. */
int skr_request_query(const skr_request *req, const char *name, char *out,
    size_t outlen);

/* Route handlers. */
typedef int (*skr_handler_fn)(skr_server *srv, skr_request *req,
    skr_response *resp);

#define SKR_ROUTE_AUTH 0x1u     /* needs a bearer token */
#define SKR_ROUTE_SLOW 0x2u     /* runs off the event loop (key generation) */
#define SKR_ROUTE_KV 0x4u       /* Key Vault route: bodiless, credential-less
                                 * requests get the 401 challenge */
#define SKR_ROUTE_WRITE 0x8u    /* changes state */
#define SKR_ROUTE_SEALED 0x10u  /* answers while sealed (docs/sealing.md) */
#define SKR_ROUTE_FENCED 0x20u  /* reads a replicated store's local copy
                                 * as it is and fences its commit on what
                                 * it read, instead of syncing first
                                 * (docs/availability.md) */
#define SKR_ROUTE_ASYNC 0x40u   /* runs on the event loop and may answer
                                 * later (skr_defer) */

typedef struct skr_route {
	const char *method;
	const char *pattern; /* "/keys/{name}/{version}/release"; "{version?}"
	                      * matches an empty or missing segment */
	skr_handler_fn fn;
	unsigned flags;      /* SKR_ROUTE_* */
	unsigned roles;      /* any of these roles may call it (admin always) */
} skr_route;

/* Find the route for method and path, filling req->name/version.  Returns
 * the route, or NULL with *err set to SKR_ERR_NOT_FOUND or SKR_ERR_METHOD. */
const skr_route *skr_route_match(skr_request *req, int *err);

#endif
