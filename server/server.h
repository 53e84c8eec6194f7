/*
 * skr_server: the state one skrd process serves from.  Created by skrd.c from
 * the configuration and data directory, shared read-only by every event loop
 * thread once serving starts (mutable parts carry their own locks or are per
 * thread).
 */
#ifndef SKR_SERVER_SERVER_H
#define SKR_SERVER_SERVER_H

#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "jws.h"

struct skr_config;
struct skr_store;
struct skr_authorities;

typedef struct skr_server {
	const struct skr_config *cfg;      /* borrowed from skrd.c */
	struct skr_store *store;           /* owned */
	struct skr_authorities *authorities; /* owned */
	char base_url[256];                /* "https://host:port", no slash */

	/* Release signing (SPEC section 5). */
	EVP_PKEY *sign_key;                /* owned */
	skr_alg sign_alg;
	json_t *sign_header;               /* kid, x5t, x5t#S256, x5c, typ */

	/* Clock used for token validity and key nbf/exp; production builds
	 * always use time(NULL) (see skr_server_now). */
	int64_t clock_offset;

	int dev_mode;
	struct skr_testauth *testauth;     /* dev mode only */
} skr_server;

/* Current time in unix seconds as the server sees it. */
int64_t skr_server_now(const skr_server *srv);

#endif
