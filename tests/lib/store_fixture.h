/*
 * A store for tests: a fresh master key and a sealed store in a private
 * temporary directory, and admin bearer tokens in it.  Store layer only: no
 * server code.
 */
#ifndef SKR_TESTS_STORE_FIXTURE_H
#define SKR_TESTS_STORE_FIXTURE_H

#include <stdint.h>

#include "files.h"
#include "masterkey.h"
#include "store.h"

typedef struct skr_test_store {
	char dir[SKR_TEST_PATH_MAX]; /* the store's private directory */
	skr_master_key *mk;          /* owned */
	skr_store *store;            /* owned; may be closed and set to NULL
	                              * by the test */
} skr_test_store;

/* A new master key and store (opts may be NULL) in a new directory
 * skr-<what>-XXXXXX.  Exits 1 when it cannot be made. */
void skr_test_store_make(skr_test_store *f, const char *what,
    const skr_store_opts *opts);

/* The same, with a copy of master key mk: a store of the same security
 * domain as another. */
void skr_test_store_make_mk(skr_test_store *f, const char *what,
    const skr_master_key *mk);

/* Close the store, free the key, remove the directory with everything in
 * it; *f is zeroed. */
void skr_test_store_free(skr_test_store *f);

/*
 * A bearer token in st made at now, for roles, scoped to prefix (NULL:
 * every key name), expiring at expires (0: never).  The token text is
 * written to text (SKR_TOKEN_TEXT_LEN + 1 bytes), its id to id (33 bytes;
 * may be NULL).  Exits 1 when it cannot be made.
 */
void skr_test_token(skr_store *st, const char *name, unsigned roles,
    const char *prefix, int64_t now, int64_t expires, char *text, char *id);

#endif
