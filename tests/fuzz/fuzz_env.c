#include "fuzz_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "authority.h"
#include "issuer.h"
#include "jws.h"
#include "log.h"
#include "pki.h"
#include "skr/error.h"
#include "snp_trust.h"
#include "store_fixture.h"

#define POLICY \
	"{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" FUZZ_ISSUER \
	"\",\"allOf\":[{\"claim\":\"x-ms-attestation-type\"," \
	"\"equals\":\"sevsnpvm\"}]}]}"

static fuzz_env *env;

static void
die(const char *what, int r)
{
	fprintf(stderr, "fuzz_env: %s: %s\n", what, skr_strerror(r));
	abort();
}

static void
put_key(skr_txn *txn, const char *name, const skr_key *key, int exportable)
{
	skr_version_params p;
	int r;

	skr_version_params_init(&p);
	p.exportable = exportable;
	if (exportable) {
		p.policy = POLICY;
		p.policy_len = strlen(POLICY);
	}
	if ((r = skr_store_version_add(txn, name, key, &p, 0, FUZZ_NOW,
	    NULL)) != SKR_OK)
		die(name, r);
}

static void
populate(fuzz_env *e)
{
	static skr_key *rsa, *ec;
	skr_txn *txn = NULL;
	int r;

	if (rsa == NULL && ((r = skr_key_generate(SKR_KTY_RSA, 2048,
	    &rsa)) != SKR_OK || (r = skr_key_generate(SKR_KTY_EC, 256,
	    &ec)) != SKR_OK))
		die("generate", r);
	if ((r = skr_store_txn_begin(e->srv.store, SKR_TXN_WRITE, &txn)) !=
	    SKR_OK)
		die("txn", r);
	put_key(txn, "k", e->oct_key, 1);
	put_key(txn, "r", rsa, 1);
	put_key(txn, "e", ec, 0);
	if ((r = skr_store_txn_commit(txn)) != SKR_OK)
		die("commit", r);
	skr_test_token(e->srv.store, "fuzz", SKR_ROLE_ADMIN, NULL, FUZZ_NOW, 0,
	    e->admin, NULL);
	skr_test_token(e->srv.store, "fuzz", SKR_ROLE_READER, "k", FUZZ_NOW, 0,
	    e->reader, NULL);
}

void
fuzz_env_reset_store(fuzz_env *e)
{
	char path[512];
	int r;

	skr_store_close(e->srv.store);
	e->srv.store = NULL;
	snprintf(path, sizeof(path), "%s/store", e->dir);
	skr_test_rmrf(path);
	if ((r = skr_store_create(path, e->mk, NULL, &e->srv.store)) !=
	    SKR_OK)
		die("store", r);
	populate(e);
}

static void
teardown(void)
{
	if (env == NULL)
		return;
	skr_server_clear(&env->srv);
	skr_master_key_free(env->mk);
	skr_key_free(env->authority_key);
	skr_key_free(env->wrapping_key);
	skr_key_free(env->oct_key);
	free(env->wrapping_jwk);
	skr_test_rmrf(env->dir);
	skr_wipe(env, sizeof(*env));
	free(env);
	env = NULL;
	OPENSSL_cleanup();
}

static void
write_jwks(fuzz_env *e, const char *path)
{
	json_t *jwk, *doc;
	FILE *f;

	jwk = skr_jwk_emit(e->authority_key, 0);
	json_object_set_new(jwk, "kid", json_string("k1"));
	doc = json_pack("{s:[o]}", "keys", jwk);
	if ((f = fopen(path, "w")) == NULL || json_dumpf(doc, f, 0) != 0)
		die("jwks file", SKR_ERR_IO);
	fclose(f);
	json_decref(doc);
}

fuzz_env *
fuzz_env_get(void)
{
	skr_authority_config ac;
	const char *base;
	char path[512];
	json_t *jwk;
	int r;

	if (env != NULL)
		return env;
	if ((env = calloc(1, sizeof(*env))) == NULL)
		abort();
	skr_log_set_level(SKR_LOG_ERROR + 1);
	skr_server_init(&env->srv);
	env->srv.clock_offset = 0;
	/* Every input comes from one peer at one instant: limits off. */
	env->srv.auth_fail_limit = 1000000;
	env->srv.release_limit = 0;
	base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	skr_test_tmpdir(base, "fuzz", env->dir, sizeof(env->dir));
	/* OpenSSL would free itself in an exit handler of its own, which may
	 * run before teardown; teardown frees it instead, last, once the
	 * store's committer thread has given its OpenSSL state back. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	atexit(teardown);
	snprintf(env->srv.base_url, sizeof(env->srv.base_url),
	    "https://127.0.0.1:8443");
	if ((r = skr_master_key_generate(&env->mk)) != SKR_OK ||
	    (r = skr_key_generate(SKR_KTY_EC, 256, &env->authority_key)) !=
	    SKR_OK ||
	    (r = skr_key_generate(SKR_KTY_RSA, 2048, &env->wrapping_key)) !=
	    SKR_OK ||
	    (r = skr_key_generate(SKR_KTY_OCT, 256, &env->oct_key)) != SKR_OK)
		die("keys", r);
	jwk = skr_jwk_emit(env->wrapping_key, 0);
	json_object_set_new(jwk, "kid", json_string("w1"));
	json_object_set_new(jwk, "use", json_string("enc"));
	env->wrapping_jwk = json_dumps(jwk, JSON_COMPACT);
	json_decref(jwk);
	if ((r = skr_pki_init_dir(env->dir, "localhost")) != SKR_OK ||
	    (r = skr_pki_load_signing(env->dir, SKR_ALG_ES256,
	    &env->srv.sign_key, &env->srv.sign_header, NULL)) != SKR_OK)
		die("pki", r);
	env->srv.sign_alg = SKR_ALG_ES256;
	/* The attestation endpoint, with AMD's built-in roots: requests
	 * reach its parser and verification, none chains. */
	if ((r = skr_issuer_load(env->dir, 0, &env->srv.issuer)) != SKR_OK ||
	    (r = skr_snp_trust_new(&env->srv.snp_trust)) != SKR_OK)
		die("attestation endpoint", r);
	snprintf(path, sizeof(path), "%s/jwks.json", env->dir);
	write_jwks(env, path);
	memset(&ac, 0, sizeof(ac));
	ac.issuer = FUZZ_ISSUER;
	ac.source = SKR_AUTHORITY_FILE;
	ac.location = path;
	if ((r = skr_authorities_create(&env->srv.authorities)) != SKR_OK ||
	    (r = skr_authorities_add(env->srv.authorities, &ac)) != SKR_OK ||
	    skr_authorities_poll(env->srv.authorities) < 0 ||
	    !skr_authorities_ready(env->srv.authorities))
		die("authority", r);
	fuzz_env_reset_store(env);
	return env;
}

int
fuzz_env_token(fuzz_env *e, const uint8_t *payload, size_t n, skr_buf *out)
{
	static const char mark[] = "$WRAPKEY";
	skr_buf p = SKR_BUF_INIT;
	json_t *hdr;
	size_t i = 0;
	int r = SKR_OK;

	while (i < n && r == SKR_OK) {
		if (n - i >= sizeof(mark) - 1 &&
		    memcmp(payload + i, mark, sizeof(mark) - 1) == 0) {
			r = skr_buf_append_str(&p, e->wrapping_jwk);
			i += sizeof(mark) - 1;
		} else
			r = skr_buf_append_byte(&p, payload[i++]);
	}
	hdr = json_pack("{s:s}", "kid", "k1");
	if (r == SKR_OK)
		r = skr_jws_sign(skr_key_pkey(e->authority_key), SKR_ALG_ES256,
		    hdr, p.data, p.len, out);
	json_decref(hdr);
	skr_buf_free(&p);
	return r;
}
