/*
 * skrd --dev: a complete single-process demonstration setup, like the dev
 * mode of other secrets servers.  A temporary data directory with fresh
 * keys, a store with an admin token, and the built-in test attestation
 * authority, trusted by the server and minting tokens through
 * POST /dev/token.  Nothing here is fit for production, and every banner
 * says so.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authority.h"
#include "dev.h"
#include "guard.h"
#include "housekeep.h"
#include "http.h"
#include "log.h"
#include "net.h"
#include "pki.h"
#include "request.h"
#include "skr/error.h"
#include "store.h"
#include "testauth.h"

#define DEV_ISSUER "https://skr-test-attestation.invalid/dev"

struct banner {
	const char *dir;
	const char *token;
};

static void
print_banner(void *arg, const char *url)
{
	const struct banner *b = arg;

	fprintf(stderr,
	    "\n"
	    "skrd: DEVELOPMENT MODE -- temporary store, throw-away keys and a "
	    "test\n"
	    "skrd: attestation authority. Never use it for real secrets.\n"
	    "\n"
	    "  URL            %s\n"
	    "  data directory %s (removed on exit)\n"
	    "  CA certificate %s/ca.pem\n"
	    "  release signer %s/release-signing.pem\n"
	    "  test authority %s\n"
	    "  admin token    %s\n"
	    "\n"
	    "  export SKR_ADDR=%s SKR_CACERT=%s/ca.pem SKR_TOKEN=%s\n"
	    "  A test attestation token for a simulated confidential VM:\n"
	    "    curl --cacert $SKR_CACERT -d '{\"tee\":\"sevsnp\","
	    "\"wrapping_key\":{...RSA JWK...}}' $SKR_ADDR/dev/token\n"
	    "\n",
	    url, b->dir, b->dir, b->dir, DEV_ISSUER, b->token, url, b->dir,
	    b->token);
	fflush(stderr);
}

static int
rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 32];

	/* Only ever the directory mkdtemp made. */
	if (strncmp(dir, "/tmp/skrd-dev-", 14) != 0 || strchr(dir, '\'') != NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

int
skrd_dev_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char dir[] = "/tmp/skrd-dev-XXXXXX", path[PATH_MAX], cert[PATH_MAX],
	    key[PATH_MAX];
	skr_master_key *mk = NULL;
	skr_buf token = SKR_BUF_INIT_SECRET, why = SKR_BUF_INIT;
	skr_config cfg;
	skr_server srv;
	skr_housekeeper *hk = NULL;
	skr_testauth *ta = NULL;
	skr_http_opts ho;
	skr_authority_config ac;
	json_t *jwks = NULL;
	char *jtext = NULL;
	skr_net_addr la;
	struct banner b;
	int c, r, status = 1;

	skr_config_init(&cfg);
	skr_server_init(&srv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			r = skr_config_set(&cfg, "listen", optarg, &why);
			break;
		case 't':
			r = skr_config_set(&cfg, "threads", optarg, &why);
			break;
		case 'h':
			printf("usage: skrd --dev [--listen ADDR:PORT] "
			    "[--threads N]\n");
			return 0;
		default:
			return 2;
		}
		if (r != SKR_OK) {
			fprintf(stderr, "skrd: %s\n", skr_buf_cstr(&why));
			return 2;
		}
	}
	if (cfg.listen == NULL)
		skr_config_set(&cfg, "listen", "127.0.0.1:8443", NULL);
	/* POST /dev/token mints tokens this server trusts for whoever can
	 * reach it: loopback only, as skr-test-authority. */
	if (skr_net_resolve_loopback(cfg.listen, &la) != SKR_OK) {
		fprintf(stderr, "skrd: --dev: refusing to listen on %s: only "
		    "loopback addresses (127.0.0.0/8, [::1], localhost) with a "
		    "port are allowed\n", cfg.listen);
		skr_config_clear(&cfg);
		skr_buf_free(&why);
		return 2;
	}
	skrd_harden_process();
	skrd_apply_config(&srv, &cfg);
	if (mkdtemp(dir) == NULL) {
		perror("skrd: mkdtemp");
		return 1;
	}
	SKR_GUARD(skr_master_key_generate(&mk));
	SKR_GUARD(skr_pki_init_dir(dir, NULL));
	SKR_GUARD(skrd_init_store(dir, mk, NULL, (int64_t)time(NULL), &token));
	SKR_GUARD(skr_store_open(dir, mk, NULL, &srv.store));
	SKR_GUARD(skr_pki_load_signing(dir, srv.sign_alg, &srv.sign_key,
	    &srv.sign_header, NULL));

	/* The test authority, trusted through a key-set file of its own. */
	SKR_GUARD(skr_testauth_new(DEV_ISSUER, "RS256", &ta));
	srv.dev = ta;
	srv.dev_token = skrd_dev_token;
	SKR_ENSURE((jwks = skr_testauth_jwks_json(ta, 0)) != NULL,
	    SKR_ERR_NOMEM);
	SKR_ENSURE((jtext = json_dumps(jwks, JSON_COMPACT)) != NULL,
	    SKR_ERR_NOMEM);
	SKR_GUARD(skr_pki_write_file(dir, "test-authority-jwks.json", jtext,
	    strlen(jtext), 0644));
	snprintf(path, sizeof(path), "%s/test-authority-jwks.json", dir);
	memset(&ac, 0, sizeof(ac));
	ac.issuer = DEV_ISSUER;
	ac.source = SKR_AUTHORITY_FILE;
	ac.location = path;
	SKR_GUARD(skr_authorities_create(&srv.authorities));
	SKR_GUARD(skr_authorities_add(srv.authorities, &ac));
	SKR_GUARD(skr_authorities_start(srv.authorities));
	SKR_GUARD(skr_housekeeper_start(&srv, &hk));

	skrd_http_opts(&ho, &cfg);
	snprintf(cert, sizeof(cert), "%s/tls-cert.pem", dir);
	snprintf(key, sizeof(key), "%s/tls-key.pem", dir);
	ho.cert_file = cert;
	ho.key_file = key;
	b.dir = dir;
	b.token = skr_buf_cstr(&token);
	r = skr_http_serve(&srv, &ho, print_banner, &b);
	if (r == SKR_OK)
		status = 0;
out:
	if (r != SKR_OK)
		fprintf(stderr, "skrd: dev mode: %s: %s\n", skr_err_id(r),
		    skr_strerror(r));
	free(jtext);
	json_decref(jwks);
	skr_housekeeper_stop(hk);
	skr_server_clear(&srv);
	skr_testauth_free(ta);
	skr_master_key_free(mk);
	skr_buf_free(&token);
	skr_buf_free(&why);
	skr_config_clear(&cfg);
	rm_rf(dir);
	return status;
}
