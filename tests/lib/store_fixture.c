#include "store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "skr/error.h"

static void
die(const char *what, int r)
{
	fprintf(stderr, "store fixture: %s: %s (%s)\n", what, skr_strerror(r),
	    skr_err_id(r));
	exit(1);
}

static void make(skr_test_store *f, const char *what,
    const skr_store_opts *opts, const skr_master_key *mk);

void
skr_test_store_make(skr_test_store *f, const char *what,
    const skr_store_opts *opts)
{
	make(f, what, opts, NULL);
}

void
skr_test_store_make_mk(skr_test_store *f, const char *what,
    const skr_master_key *mk)
{
	make(f, what, NULL, mk);
}

static void
make(skr_test_store *f, const char *what, const skr_store_opts *opts,
    const skr_master_key *mk)
{
	skr_store_etcd_opts eo;
	skr_store_opts so;
	char prefix[96];
	const char *eps = getenv("SKR_TEST_ETCD");
	static int made;
	int r;

	memset(f, 0, sizeof(*f));
	skr_test_tmpdir(NULL, what, f->dir, sizeof(f->dir));
	if ((r = mk != NULL ? skr_master_key_from_bytes(
	    skr_master_key_bytes(mk), SKR_MASTER_KEY_LEN, &f->mk) :
	    skr_master_key_generate(&f->mk)) != SKR_OK)
		die("master key", r);
	/* SKR_TEST_ETCD (endpoints): the same tests over a replicated store,
	 * each store under a prefix of its own (test_etcd_store.sh). */
	if (opts == NULL && eps != NULL && *eps != '\0') {
		memset(&eo, 0, sizeof(eo));
		memset(&so, 0, sizeof(so));
		snprintf(prefix, sizeof(prefix), "test-%s-%ld-%d/", what,
		    (long)getpid(), made++);
		eo.endpoints = eps;
		eo.prefix = prefix;
		so.etcd = &eo;
		opts = &so;
	}
	if ((r = skr_store_create(f->dir, f->mk, opts, &f->store)) != SKR_OK)
		die(f->dir, r);
}

void
skr_test_store_free(skr_test_store *f)
{
	skr_store_close(f->store);
	skr_master_key_free(f->mk);
	if (f->dir[0] != '\0' && skr_test_rmrf(f->dir) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	memset(f, 0, sizeof(*f));
}

void
skr_test_token(skr_store *st, const char *name, unsigned roles,
    const char *prefix, int64_t now, int64_t expires, char *text, char *id)
{
	skr_principal want;
	skr_token_info info;
	skr_buf secret = SKR_BUF_INIT_SECRET;
	skr_txn *txn = NULL;
	int r;

	memset(&want, 0, sizeof(want));
	snprintf(want.name, sizeof(want.name), "%s", name);
	want.roles = roles;
	want.expires = expires;
	if (prefix != NULL) {
		snprintf(want.prefixes[0], sizeof(want.prefixes[0]), "%s",
		    prefix);
		want.nprefixes = 1;
	}
	if ((r = skr_store_txn_begin(st, SKR_TXN_WRITE, &txn)) != SKR_OK ||
	    (r = skr_store_token_create(txn, &want, now, &secret, &info)) !=
	    SKR_OK || (r = skr_store_txn_commit(txn)) != SKR_OK)
		die("token", r);
	if (secret.len != SKR_TOKEN_TEXT_LEN)
		die("token length", SKR_ERR_INTERNAL);
	memcpy(text, skr_buf_cstr(&secret), secret.len + 1);
	if (id != NULL)
		memcpy(id, info.p.id, sizeof(info.p.id));
	skr_buf_free(&secret);
}
