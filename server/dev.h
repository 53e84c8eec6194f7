/*
 * Pieces of the skrd program shared by `skrd serve` (skrd.c) and
 * `skrd --dev` (dev.c).
 */
#ifndef SKR_SERVER_DEV_H
#define SKR_SERVER_DEV_H

#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "http.h"
#include "masterkey.h"
#include "server.h"
#include "store.h"

/* Core dumps off, not dumpable (key material lives here). */
void skrd_harden_process(void);
/* Create the store in dir (opts may be NULL: LMDB with its defaults) with
 * its first admin token (appended to token_out, a secret buffer) and the
 * audit record of that. */
int skrd_init_store(const char *dir, const skr_master_key *mk,
    const skr_store_opts *opts, int64_t now, skr_buf *token_out);
void skrd_apply_config(skr_server *srv, const skr_config *c);
void skrd_http_opts(skr_http_opts *o, const skr_config *c);

/* `skrd --dev`. */
int skrd_dev_main(int argc, char **argv);
/* Its POST /dev/token handler (api_dev.c), installed as srv->dev_token
 * with the test authority as srv->dev. */
int skrd_dev_token(skr_server *srv, struct skr_request *req,
    struct skr_response *resp);

#endif
