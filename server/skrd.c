/*
 * skrd: the skr key release server.
 *
 *   skrd init --data DIR [--name HOST] [--master-key FILE]
 *   skrd serve --data DIR [--config FILE] [--listen ADDR:PORT] ...
 *   skrd --dev [--listen ADDR:PORT]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "authority.h"
#include "config.h"
#include "dev.h"
#include "guard.h"
#include "http.h"
#include "log.h"
#include "masterkey.h"
#include "pki.h"
#include "server.h"
#include "skr/error.h"
#include "store.h"

#define PROG "skrd"
#define MASTER_KEY_FILE "master.key"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " init --data DIR [--name HOST] [--master-key FILE]\n"
	    "       " PROG " serve --data DIR [--config FILE] [--listen ADDR:PORT]\n"
	    "            [--threads N] [--authority ISSUER=SOURCE]... "
	    "[--plain-http]\n"
	    "            [--log-level debug|info|warn|error]\n"
	    "       " PROG " --dev [--listen ADDR:PORT]\n"
	    "       " PROG " --help | --version\n");
}

static int
die(const char *what, int err)
{
	fprintf(stderr, PROG ": %s: %s: %s\n", what, skr_err_id(err),
	    skr_strerror(err));
	return 1;
}

/* Key material lives in this process: no core dumps, no ptrace by peers. */
void
skrd_harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* ---- init ------------------------------------------------------------- */

static int
path_join(char *out, size_t outlen, const char *dir, const char *name)
{
	return snprintf(out, outlen, "%s/%s", dir, name) < (int)outlen ?
	    SKR_OK : SKR_ERR_INVAL;
}

int
skrd_init_store(const char *dir, const skr_master_key *mk, int64_t now,
    skr_buf *token_out)
{
	skr_principal admin;
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	skr_token_info info;
	json_t *rec = NULL;
	int r;

	memset(&admin, 0, sizeof(admin));
	admin.roles = SKR_ROLE_ADMIN;
	snprintf(admin.name, sizeof(admin.name), "initial admin");
	SKR_GUARD(skr_store_create(dir, mk, NULL, &st));
	SKR_GUARD(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	SKR_GUARD(skr_store_token_create(txn, &admin, now, token_out, &info));
	rec = json_pack("{s:s,s:s,s:s}", "event", "token.create", "outcome",
	    "ok", "principal", "init");
	SKR_ENSURE(rec != NULL, SKR_ERR_NOMEM);
	json_object_set_new(rec, "detail", json_pack("{s:s,s:s}", "id",
	    info.p.id, "roles", "admin"));
	SKR_GUARD(skr_audit_append(txn, rec, now, NULL));
	r = skr_store_txn_commit(txn);
	txn = NULL;
out:
	json_decref(rec);
	skr_store_txn_abort(txn);
	skr_store_close(st);
	return r;
}

static int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "master-key", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *host = NULL, *mkfile = NULL, *what = "init";
	skr_master_source *src = NULL;
	skr_master_key *mk = NULL;
	skr_buf token = SKR_BUF_INIT_SECRET;
	char path[PATH_MAX];
	struct stat st;
	int c, r, made = 0, status = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': host = optarg; break;
		case 'm': mkfile = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (dir == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (path_join(path, sizeof(path), dir, SKR_STORE_FILE) != SKR_OK)
		return die("data directory", SKR_ERR_INVAL);
	/* An adopted master key is checked before anything is created. */
	if (mkfile != NULL) {
		what = "master key";
		if ((r = skr_master_source_file(mkfile, &src)) != SKR_OK ||
		    (r = skr_master_load(src, &mk)) != SKR_OK)
			goto fail;
		skr_master_source_free(src);
		src = NULL;
	}
	if (mkdir(dir, 0700) == 0)
		made = 1;
	else if (errno != EEXIST) {
		fprintf(stderr, PROG ": cannot create %s: %s\n", dir,
		    strerror(errno));
		goto out;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, PROG ": %s is not a directory\n", dir);
		goto out;
	}
	if (access(path, F_OK) == 0 || (path_join(path, sizeof(path), dir,
	    MASTER_KEY_FILE) == SKR_OK && access(path, F_OK) == 0)) {
		fprintf(stderr, PROG ": %s already holds a store; refusing to "
		    "overwrite it\n", dir);
		goto out;
	}
	if (chmod(dir, 0700) != 0) {
		fprintf(stderr, PROG ": cannot chmod %s: %s\n", dir,
		    strerror(errno));
		goto out;
	}
	what = "master key";
	if (mk != NULL) {
		/* Adopt an existing master key: the same security domain,
		 * so backups of the other store restore here. */
		if ((r = skr_pki_write_file(dir, MASTER_KEY_FILE,
		    skr_master_key_bytes(mk), SKR_MASTER_KEY_LEN, 0600)) !=
		    SKR_OK)
			goto fail;
	} else if ((r = skr_master_source_file(path, &src)) != SKR_OK ||
	    (r = skr_master_create(src, &mk)) != SKR_OK)
		goto fail;
	what = "certificates";
	if ((r = skr_pki_init_dir(dir, host)) != SKR_OK)
		goto fail;
	what = "store";
	if ((r = skrd_init_store(dir, mk, (int64_t)time(NULL), &token)) !=
	    SKR_OK)
		goto fail;
	fprintf(stderr, PROG ": initialised %s\n"
	    PROG ": clients trust %s/ca.pem; release responses are signed "
	    "by %s/release-signing.pem\n"
	    PROG ": the admin token below is shown once; keep it safe\n",
	    dir, dir, dir);
	/* The token goes to standard output alone, for scripts. */
	printf("%s\n", skr_buf_cstr(&token));
	if (fflush(stdout) != 0) {
		fprintf(stderr, PROG ": cannot write the admin token\n");
		goto out;
	}
	status = 0;
	goto out;
fail:
	die(what, r);
	if (made || access(path, F_OK) == 0)
		fprintf(stderr, PROG ": %s is incomplete; remove it before "
		    "running init again\n", dir);
out:
	skr_buf_free(&token);
	skr_master_key_free(mk);
	skr_master_source_free(src);
	return status;
}

/* ---- serve ------------------------------------------------------------ */

static int
parse_algs(const char *s, unsigned *mask)
{
	char buf[256], *tok, *save = NULL;
	skr_alg alg;

	*mask = 0;
	if (s == NULL)
		return SKR_OK;
	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return SKR_ERR_CONFIG;
	for (tok = strtok_r(buf, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (skr_alg_parse(tok, &alg) != SKR_OK)
			return SKR_ERR_CONFIG;
		*mask |= SKR_ALG_BIT(alg);
	}
	return SKR_OK;
}

static int
add_config_authority(skr_authorities *a, const skr_config_authority *ca)
{
	skr_authority_config c;
	char *arg = NULL, *storage = NULL;
	size_t len;
	int r;

	len = strlen(ca->issuer) + strlen(ca->source) + 2;
	if ((arg = malloc(len)) == NULL)
		return SKR_ERR_NOMEM;
	snprintf(arg, len, "%s=%s", ca->issuer, ca->source);
	r = skr_authority_parse_arg(arg, &c, &storage);
	if (r == SKR_OK) {
		c.x5c_ca_file = ca->x5c_ca;
		c.https_ca_file = ca->https_ca;
		c.wrapkey_claim = ca->wrapkey_claim;
		r = parse_algs(ca->algs, &c.algs);
	}
	if (r == SKR_OK)
		r = skr_authorities_add(a, &c);
	free(storage);
	free(arg);
	return r;
}

/* Apply the settings of c to srv. */
void
skrd_apply_config(skr_server *srv, const skr_config *c)
{
	srv->token_skew = c->token_skew;
	srv->nonce_ttl = c->nonce_ttl;
	srv->retention = c->retention_days * 86400;
	srv->require_releaser = c->require_releaser;
	srv->deny_detail = c->deny_detail != NULL &&
	    strcmp(c->deny_detail, "none") == 0 ? SKR_DENY_NONE :
	    SKR_DENY_NAMES;
	srv->auth_fail_limit = (int)c->auth_fail_limit;
	srv->auth_fail_window = (int)c->auth_fail_window;
	srv->release_limit = (int)c->release_limit;
	srv->release_window = (int)c->release_window;
	if (c->release_alg != NULL)
		skr_alg_parse(c->release_alg, &srv->sign_alg);
}

void
skrd_http_opts(skr_http_opts *o, const skr_config *c)
{
	skr_http_opts_init(o);
	if (c->listen != NULL)
		o->listen = c->listen;
	o->threads = (int)c->threads;
	o->plain = c->plain_http;
	o->max_body = (size_t)c->max_body;
	o->max_header_bytes = (size_t)c->max_header_bytes;
	o->max_headers = (size_t)c->max_headers;
	o->max_connections = (size_t)c->max_connections;
	/* One knob for everything before a request is complete: the TLS
	 * handshake, the request head and its body. */
	o->header_timeout_ms = (uint64_t)c->header_timeout * 1000;
	o->handshake_timeout_ms = o->header_timeout_ms;
	o->idle_timeout_ms = (uint64_t)c->idle_timeout * 1000;
	o->shutdown_ms = (uint64_t)c->shutdown_timeout * 1000;
}

static int
cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "authority", required_argument, NULL, 'a' },
		{ "plain-http", no_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfgfile = NULL, *authargs[SKR_CONFIG_MAX_AUTHORITIES];
	struct { const char *key, *value; } sets[16];
	size_t nauth = 0, nsets = 0, i;
	skr_config cfg;
	skr_server srv;
	skr_http_opts ho;
	skr_store_opts so;
	skr_master_source *src = NULL;
	skr_master_key *mk = NULL;
	skr_buf why = SKR_BUF_INIT;
	char path[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	int c, r, status = 1;

	skr_config_init(&cfg);
	skr_server_init(&srv);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *k = NULL;

		switch (c) {
		case 'd': k = "data"; break;
		case 'l': k = "listen"; break;
		case 't': k = "threads"; break;
		case 'v': k = "log_level"; break;
		case 'p': k = "plain_http"; optarg = "true"; break;
		case 'c': cfgfile = optarg; break;
		case 'a':
			if (nauth == SKR_CONFIG_MAX_AUTHORITIES) {
				fprintf(stderr, PROG ": too many --authority\n");
				return 2;
			}
			authargs[nauth++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (k != NULL && nsets < sizeof(sets) / sizeof(sets[0])) {
			sets[nsets].key = k;
			sets[nsets++].value = optarg;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (cfgfile != NULL && skr_config_load(cfgfile, &cfg, &why) != SKR_OK) {
		fprintf(stderr, PROG ": %s: %s\n", cfgfile, skr_buf_cstr(&why));
		goto out2;
	}
	/* Command-line flags override the file. */
	for (i = 0; i < nsets; i++)
		if (skr_config_set(&cfg, sets[i].key, sets[i].value, &why) !=
		    SKR_OK) {
			fprintf(stderr, PROG ": --%s: %s\n", sets[i].key,
			    skr_buf_cstr(&why));
			status = 2;
			goto out2;
		}
	if (cfg.data == NULL) {
		usage(stderr);
		status = 2;
		goto out2;
	}
	if (cfg.log_level != NULL)
		skr_log_set_level(skr_log_level_parse(cfg.log_level));
	skrd_harden_process();
	skrd_apply_config(&srv, &cfg);
	if (srv.clock_offset != 0)
		skr_log(SKR_LOG_WARN, "test clock in use", json_pack("{s:I}",
		    "offset", (json_int_t)srv.clock_offset));

	path_join(path, sizeof(path), cfg.data, MASTER_KEY_FILE);
	if ((r = skr_master_source_file(path, &src)) != SKR_OK ||
	    (r = skr_master_load(src, &mk)) != SKR_OK) {
		die("master key", r);
		goto out;
	}
	memset(&so, 0, sizeof(so));
	so.map_size = (size_t)cfg.store_map_size;
	if ((r = skr_store_open(cfg.data, mk, &so, &srv.store)) != SKR_OK) {
		die("store", r);
		goto out;
	}
	/* The store keeps derived keys of its own. */
	skr_master_key_free(mk);
	mk = NULL;
	if ((r = skr_pki_load_signing(cfg.data, srv.sign_alg, &srv.sign_key,
	    &srv.sign_header)) != SKR_OK) {
		die("release-signing key", r);
		goto out;
	}
	if ((r = skr_authorities_create(&srv.authorities)) != SKR_OK)
		goto out;
	for (i = 0; i < cfg.nauthorities; i++)
		if ((r = add_config_authority(srv.authorities,
		    &cfg.authorities[i])) != SKR_OK) {
			die(cfg.authorities[i].issuer, r);
			goto out;
		}
	for (i = 0; i < nauth; i++) {
		skr_authority_config ac;
		char *storage = NULL;

		r = skr_authority_parse_arg(authargs[i], &ac, &storage);
		if (r == SKR_OK)
			r = skr_authorities_add(srv.authorities, &ac);
		free(storage);
		if (r != SKR_OK) {
			fprintf(stderr, PROG ": --authority %s: %s\n",
			    authargs[i], skr_strerror(r));
			status = 2;
			goto out;
		}
	}
	skr_authorities_start(srv.authorities);

	skrd_http_opts(&ho, &cfg);
	path_join(cert, sizeof(cert), cfg.data, "tls-cert.pem");
	path_join(key, sizeof(key), cfg.data, "tls-key.pem");
	ho.cert_file = cert;
	ho.key_file = key;
	if ((r = skr_http_serve(&srv, &ho, NULL, NULL)) != SKR_OK) {
		die("serve", r);
		goto out;
	}
	status = 0;
out:
	skr_master_key_free(mk);
	skr_master_source_free(src);
	skr_server_clear(&srv);
out2:
	skr_config_clear(&cfg);
	skr_buf_free(&why);
	return status;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "--dev") == 0 || strcmp(argv[1], "dev") == 0)
		return skrd_dev_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		/* Test builds say so: their clock can be moved. */
		printf(PROG " " SKR_VERSION "%s\n", skr_server_has_test_clock() ?
		    " (test-clock)" : "");
		return 0;
	}
	usage(stderr);
	return 2;
}
