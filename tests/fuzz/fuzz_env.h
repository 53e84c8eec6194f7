/*
 * A complete skrd server state for the fuzz targets that drive handlers and
 * the store without sockets: a store in a private temporary directory
 * (under /dev/shm when there is one, so synced commits cost nothing), the
 * PKI of `skrd init`, one trusted test authority whose key set is a file,
 * an admin token, a reader token scoped to names starting with "k", and
 * three keys: "k" (exportable oct-256), "r" (exportable RSA-2048) and "e"
 * (EC P-256, not exportable).  Made on first use and torn down at exit.
 */
#ifndef SKR_FUZZ_ENV_H
#define SKR_FUZZ_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "jwk.h"
#include "masterkey.h"
#include "server.h"
#include "store.h"

#define FUZZ_ISSUER "https://a.example"
#define FUZZ_NOW 1700000000

typedef struct fuzz_env {
	skr_server srv;
	skr_master_key *mk;
	skr_key *authority_key;  /* EC P-256, kid "k1" in the authority's set */
	skr_key *wrapping_key;   /* RSA-2048 private, what a TEE would hold */
	char *wrapping_jwk;      /* its public JWK text with kid "w1" */
	skr_key *oct_key;        /* the material of key "k" */
	char admin[SKR_TOKEN_TEXT_LEN + 1];
	char reader[SKR_TOKEN_TEXT_LEN + 1];
	char dir[256];
	unsigned long runs;
} fuzz_env;

/* The environment; aborts when it cannot be made. */
fuzz_env *fuzz_env_get(void);

/* Throw the store away and make it again (bounds its growth). */
void fuzz_env_reset_store(fuzz_env *e);

/* A compact token signed by the authority key over payload, with every
 * "$WRAPKEY" in the payload replaced by the wrapping key's public JWK.
 * Appends to out. */
int fuzz_env_token(fuzz_env *e, const uint8_t *payload, size_t n,
    skr_buf *out);

#endif
