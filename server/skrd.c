/*
 * skrd: the skr key release server.
 *
 *   skrd init --data DIR [--name HOST] [--master-key FILE] [--seal TYPE ...]
 *             [--store etcd --etcd-endpoints URL[,URL...] ...]
 *   skrd store-copy --data DIR --to-data NEWDIR
 *   skrd serve --data DIR [--config FILE] [--listen ADDR:PORT] ...
 *   skrd seal-migrate --data DIR --to TYPE [that seal's options]
 *   skrd --dev [--listen ADDR:PORT]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "api_attest.h"
#include "audit.h"
#include "auditsink.h"
#include "authority.h"
#include "config.h"
#include "dev.h"
#include "guard.h"
#include "housekeep.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "masterkey.h"
#include "metrics.h"
#include "notify.h"
#include "pki.h"
#include "sealctl.h"
#include "sealdir.h"
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
	    "            [--seal file|pkcs11|tpm2|shamir] [seal options]\n"
	    "            [--store lmdb|etcd] [--etcd-endpoints URL[,URL...]]\n"
	    "            [--etcd-prefix P] [--etcd-cacert F --etcd-cert F "
	    "--etcd-key F]\n"
	    "            [--etcd-user U --etcd-password-file F]\n"
	    "       " PROG " seal-migrate --data DIR --to TYPE [seal options]\n"
	    "       seal options: --pkcs11-module PATH --pkcs11-token LABEL\n"
	    "            --pkcs11-pin-file FILE [--pkcs11-key LABEL] | [--tcti TCTI]\n"
	    "            [--tpm-pcrs sha256:0,7] | --shares N --threshold K\n"
	    "       " PROG " renew --data DIR [--tls [--name HOST]] [--signing]\n"
	    "       " PROG " store-copy --data DIR --to-data NEWDIR\n"
	    "       " PROG " serve --data DIR [--config FILE] [--listen ADDR:PORT]\n"
	    "            [--threads N] [--authority ISSUER=SOURCE]... "
	    "[--plain-http]\n"
	    "            [--log-level debug|info|warn|error]\n"
	    "            [--pkcs11-pin-file FILE] [--tcti TCTI]\n"
	    "       " PROG " --config FILE [serve options]   (serve, data and "
	    "listen from FILE)\n"
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

/*
 * Key material lives in this process: no core dumps, no ptrace by peers,
 * and OpenSSL's secure heap for private key numbers and secret buffers
 * (keys/buf.h): locked in memory where RLIMIT_MEMLOCK allows, left out of
 * core dumps, cleared on free.  It holds what requests in flight use, a few
 * KiB each; when it is full, secret buffers fall back to the wiped heap.
 */
#define SECURE_HEAP_BYTES (4 * 1024 * 1024)

void
skrd_harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (!CRYPTO_secure_malloc_initialized())
		(void)CRYPTO_secure_malloc_init(SECURE_HEAP_BYTES, 16);
}

/* ---- init ------------------------------------------------------------- */

static int
path_join(char *out, size_t outlen, const char *dir, const char *name)
{
	return snprintf(out, outlen, "%s/%s", dir, name) < (int)outlen ?
	    SKR_OK : SKR_ERR_INVAL;
}

int
skrd_init_store(const char *dir, const skr_master_key *mk,
    const skr_store_opts *opts, int64_t now, skr_buf *token_out)
{
	skr_principal admin;
	skr_store *st = NULL;
	skr_txn *txn = NULL;
	skr_token_info info;
	skr_audit_rec rec = { .event = "token.create", .outcome = "ok",
		.principal = "init" };
	int r;

	memset(&admin, 0, sizeof(admin));
	admin.roles = SKR_ROLE_ADMIN;
	snprintf(admin.name, sizeof(admin.name), "initial admin");
	SKR_GUARD(skr_store_create(dir, mk, opts, &st));
	SKR_GUARD(skr_store_txn_begin(st, SKR_TXN_WRITE, &txn));
	SKR_GUARD(skr_store_token_create(txn, &admin, now, token_out, &info));
	skr_audit_detail_str(&rec, "id", info.p.id);
	skr_audit_detail_str(&rec, "roles", "admin");
	r = skr_audit_commit(txn, &rec, 1, now);
	txn = NULL;
out:
	skr_store_txn_abort(txn);
	skr_store_close(st);
	return r;
}

/* The seal options shared by init, seal-migrate and (the PIN file)
 * serve: 1 when c was one of them. */
#define SEAL_LONGOPTS                                                     \
	{ "seal", required_argument, NULL, 1000 },                        \
	{ "to", required_argument, NULL, 1000 },                          \
	{ "pkcs11-module", required_argument, NULL, 1001 },               \
	{ "pkcs11-token", required_argument, NULL, 1002 },                \
	{ "pkcs11-pin-file", required_argument, NULL, 1003 },             \
	{ "pkcs11-key", required_argument, NULL, 1004 },                  \
	{ "tcti", required_argument, NULL, 1005 },                        \
	{ "tpm-pcrs", required_argument, NULL, 1006 },                    \
	{ "shares", required_argument, NULL, 1007 },                      \
	{ "threshold", required_argument, NULL, 1008 }

static int
small_int(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s != '\0' && *end == '\0' && v > 0 && v <= 255 ? (int)v : -1;
}

static int
seal_opt(int c, skr_seal_opts *o)
{
	switch (c) {
	case 1000: o->type = optarg; return 1;
	case 1001: o->pkcs11_module = optarg; return 1;
	case 1002: o->pkcs11_token = optarg; return 1;
	case 1003: o->pkcs11_pin_file = optarg; return 1;
	case 1004: o->pkcs11_key = optarg; return 1;
	case 1005: o->tcti = optarg; return 1;
	case 1006: o->tpm_pcrs = optarg; return 1;
	case 1007: o->shares = small_int(optarg); return 1;
	case 1008: o->threshold = small_int(optarg); return 1;
	}
	return 0;
}

/* The options a seal type needs and allows; why says what is wrong. */
static const char *
seal_opts_check(const skr_seal_opts *o)
{
	const char *t = o->type != NULL ? o->type : "file";
	int p11 = o->pkcs11_module || o->pkcs11_token || o->pkcs11_pin_file ||
	    o->pkcs11_key, tpm = o->tcti || o->tpm_pcrs,
	    sh = o->shares || o->threshold;

	if (strcmp(t, "file") == 0)
		return p11 || tpm || sh ? "the file seal takes no options" :
		    NULL;
	if (strcmp(t, "pkcs11") == 0)
		return tpm || sh ? "pkcs11 takes only --pkcs11-* options" :
		    o->pkcs11_module == NULL || o->pkcs11_token == NULL ?
		    "pkcs11 needs --pkcs11-module and --pkcs11-token" : NULL;
	if (strcmp(t, "tpm2") == 0)
		return p11 || sh ? "tpm2 takes only --tcti and --tpm-pcrs" :
		    NULL;
	if (strcmp(t, "shamir") == 0)
		return p11 || tpm ? "shamir takes only --shares and "
		    "--threshold" : o->threshold < 2 || o->shares <
		    o->threshold || o->shares > SKR_SHAMIR_MAX ?
		    "shamir needs 2 <= --threshold <= --shares <= 16" : NULL;
	return "--seal is one of file, pkcs11, tpm2, shamir";
}

/* Each share once, on a line of its own, then wiped. */
static void
print_shares(skr_seal_shares *sh)
{
	for (size_t i = 0; i < sh->n; i++)
		printf("share %zu/%zu: %s\n", i + 1, sh->n, sh->text[i]);
	skr_wipe(sh, sizeof(*sh));
}

static int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "master-key", required_argument, NULL, 'm' },
		{ "store", required_argument, NULL, 's' },
		{ "etcd-endpoints", required_argument, NULL, 'E' },
		{ "etcd-prefix", required_argument, NULL, 'P' },
		{ "etcd-cacert", required_argument, NULL, 'A' },
		{ "etcd-cert", required_argument, NULL, 'C' },
		{ "etcd-key", required_argument, NULL, 'K' },
		{ "etcd-user", required_argument, NULL, 'U' },
		{ "etcd-password-file", required_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		SEAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *host = NULL, *mkfile = NULL, *what = "init";
	const char *why, *backend = "lmdb";
	skr_store_etcd_opts eo;
	skr_store_opts sto;
	skr_master_source *src = NULL;
	skr_master_key *mk = NULL, *copy = NULL;
	skr_buf token = SKR_BUF_INIT_SECRET;
	skr_seal_opts so;
	skr_seal_shares shares;
	skr_keyring kr;
	char path[PATH_MAX];
	struct stat st;
	int c, r, made = 0, status = 1, sealed;

	memset(&eo, 0, sizeof(eo));
	memset(&sto, 0, sizeof(sto));
	memset(&so, 0, sizeof(so));
	memset(&kr, 0, sizeof(kr));
	memset(&shares, 0, sizeof(shares));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (seal_opt(c, &so))
			continue;
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': host = optarg; break;
		case 'm': mkfile = optarg; break;
		case 's': backend = optarg; break;
		case 'E': eo.endpoints = optarg; break;
		case 'P': eo.prefix = optarg; break;
		case 'A': eo.cacert = optarg; break;
		case 'C': eo.cert = optarg; break;
		case 'K': eo.key = optarg; break;
		case 'U': eo.user = optarg; break;
		case 'W': eo.password_file = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	/* The etcd flags go with --store etcd, which needs endpoints. */
	if (dir == NULL || optind != argc || (strcmp(backend, "lmdb") != 0 &&
	    strcmp(backend, "etcd") != 0) || (strcmp(backend, "etcd") == 0) !=
	    (eo.endpoints != NULL) || (eo.endpoints == NULL &&
	    (eo.prefix != NULL || eo.cacert != NULL || eo.cert != NULL ||
	    eo.key != NULL || eo.user != NULL || eo.password_file != NULL))) {
		usage(stderr);
		return 2;
	}
	if ((why = seal_opts_check(&so)) != NULL) {
		fprintf(stderr, PROG ": %s\n", why);
		return 2;
	}
	sealed = so.type != NULL && strcmp(so.type, "file") != 0;
	if (eo.endpoints != NULL)
		sto.etcd = &eo;
	if (path_join(path, sizeof(path), dir, SKR_STORE_ETCD_FILE) != SKR_OK)
		return die("data directory", SKR_ERR_INVAL);
	if (access(path, F_OK) == 0) {
		fprintf(stderr, PROG ": %s already holds a store; refusing to "
		    "overwrite it\n", dir);
		return 1;
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
	    SKR_SEAL_SETTINGS) == SKR_OK && access(path, F_OK) == 0) ||
	    (path_join(path, sizeof(path), dir, MASTER_KEY_FILE) == SKR_OK &&
	    access(path, F_OK) == 0)) {
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
	if (sealed) {
		/* The seal is made and proven before the store exists:
		 * nothing from which the key can be computed is written
		 * here without it (docs/sealing.md). */
		if (mk == NULL && (r = skr_master_key_generate(&mk)) != SKR_OK)
			goto fail;
		if ((r = skr_master_key_from_bytes(skr_master_key_bytes(mk),
		    SKR_MASTER_KEY_LEN, &copy)) != SKR_OK ||
		    (r = skr_keyring_add(&kr, 1, copy)) != SKR_OK)
			goto fail;
		what = so.type;
		if ((r = skr_sealdir_create(dir, &so, &kr, &shares)) != SKR_OK)
			goto fail;
	} else if (mk != NULL) {
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
	if ((r = skrd_init_store(dir, mk, &sto, (int64_t)time(NULL), &token)) !=
	    SKR_OK)
		goto fail;
	fprintf(stderr, PROG ": initialised %s\n"
	    PROG ": clients trust %s/ca.pem; release responses are signed "
	    "by %s/release-signing.pem\n"
	    PROG ": the admin token below is shown once; keep it safe\n",
	    dir, dir, dir);
	if (shares.n > 0)
		fprintf(stderr, PROG ": %zu unseal shares follow, each shown "
		    "once: give each to its holder; any %d of them unseal the "
		    "server (skrctl unseal)\n", shares.n, so.threshold);
	print_shares(&shares);
	/* The token goes to standard output last, on a line of its own, for
	 * scripts. */
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
	skr_wipe(&shares, sizeof(shares));
	skr_keyring_clear(&kr);
	skr_buf_free(&token);
	skr_master_key_free(mk);
	skr_master_source_free(src);
	return status;
}

/* ---- renew ------------------------------------------------------------ */

/* Re-issue certificates from the data directory's CA (docs/skrd.md). */
static int
cmd_renew(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "tls", no_argument, NULL, 't' },
		{ "signing", no_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *host = NULL;
	skr_buf note = SKR_BUF_INIT;
	unsigned what = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 't': what |= SKR_PKI_RENEW_TLS; break;
		case 's': what |= SKR_PKI_RENEW_SIGNING; break;
		case 'n': host = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (dir == NULL || what == 0 || optind != argc ||
	    (host != NULL && !(what & SKR_PKI_RENEW_TLS))) {
		usage(stderr);
		return 2;
	}
	r = skr_pki_renew(dir, what, host, &note);
	if (note.len > 0)
		fprintf(stderr, PROG ": %s\n", skr_buf_cstr(&note));
	skr_buf_free(&note);
	if (r != SKR_OK) {
		die("renew", r);
		fprintf(stderr, PROG ": renew needs %s/ca.pem and ca-key.pem, "
		    "and the files it re-issues, as regular files (a symlink "
		    "is refused); each file is replaced whole or left as it "
		    "was\n", dir);
		return 1;
	}
	if (what & SKR_PKI_RENEW_TLS)
		fprintf(stderr, PROG ": new TLS key and certificate in "
		    "%s/tls-cert.pem (clients that trust ca.pem need "
		    "nothing)\n", dir);
	if (what & SKR_PKI_RENEW_SIGNING)
		fprintf(stderr, PROG ": new release-signing certificates for "
		    "the same keys in %s/release-signing.pem and "
		    "release-signing-ec.pem (clients that pin one need the new "
		    "file)\n", dir);
	fprintf(stderr, PROG ": a running skrd uses them from its next "
	    "start\n");
	return 0;
}

/* ---- store-copy ------------------------------------------------------- */

/* The master key of data directory dir. */
static int
load_master(const char *dir, skr_master_key **mk)
{
	skr_master_source *src = NULL;
	char path[PATH_MAX];
	int r;

	*mk = NULL;
	if ((r = path_join(path, sizeof(path), dir, MASTER_KEY_FILE)) ==
	    SKR_OK && (r = skr_master_source_file(path, &src)) == SKR_OK)
		r = skr_master_load(src, mk);
	skr_master_source_free(src);
	return r;
}

/*
 * Copy the store of one data directory into the store of another of the
 * same security domain, offline (docs/availability.md, "Moving a store
 * into a cluster"): typically an LMDB store into a fresh etcd store made
 * by skrd init --store etcd --master-key DIR/master.key.
 */
static int
cmd_store_copy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "to-data", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *from = NULL, *to = NULL, *what = "master key";
	skr_master_key *mk = NULL, *mk2 = NULL;
	skr_store *a = NULL, *b = NULL;
	skr_store_opts so;
	skr_store_copy_stats stats;
	int c, r, status = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': from = optarg; break;
		case 't': to = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (from == NULL || to == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	skrd_harden_process();
	if ((r = load_master(from, &mk)) != SKR_OK ||
	    (r = load_master(to, &mk2)) != SKR_OK)
		goto fail;
	/* One security domain: the records' MACs and seals are under it. */
	if (CRYPTO_memcmp(skr_master_key_bytes(mk), skr_master_key_bytes(mk2),
	    SKR_MASTER_KEY_LEN) != 0) {
		fprintf(stderr, PROG ": %s and %s have different master keys; "
		    "make %s with skrd init --master-key %s/master.key\n", from,
		    to, to, from);
		goto out;
	}
	what = "source store";
	if ((r = skr_store_open(from, mk, NULL, &a)) != SKR_OK)
		goto fail;
	what = "destination store";
	memset(&so, 0, sizeof(so));
	so.copying = 1;
	if ((r = skr_store_open(to, mk2, &so, &b)) != SKR_OK)
		goto fail;
	what = "copy";
	if ((r = skr_store_copy(a, b, &stats)) != SKR_OK)
		goto fail;
	fprintf(stderr, PROG ": copied %llu records, %llu of them the audit "
	    "chain, which verifies in %s\n", (unsigned long long)stats.records,
	    (unsigned long long)stats.audit_records, to);
	status = 0;
	goto out;
fail:
	die(what, r);
	if (r == SKR_ERR_CONFLICT)
		fprintf(stderr, PROG ": %s must be fresh from skrd init (no "
		    "keys, no more than its first token)\n", to);
	else if (strcmp(what, "copy") == 0)
		fprintf(stderr, PROG ": %s is unfinished and will not open; run "
		    "store-copy again\n", to);
out:
	skr_store_close(a);
	skr_store_close(b);
	skr_master_key_free(mk);
	skr_master_key_free(mk2);
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

/*
 * The URL clients reach skrd by, which key ids, nextLinks and the Key Vault
 * challenge name: scheme://host[:port], nothing after it.  Without it they
 * name the listening address.
 */
static int
set_public_url(skr_server *srv, const char *url, int plain)
{
	const char *scheme = plain ? "http://" : "https://";
	size_t n = strlen(url), sl = strlen(scheme);

	if (n <= sl || n >= sizeof(srv->base_url) ||
	    strncmp(url, scheme, sl) != 0 ||
	    strpbrk(url + sl, "/?#@ \t\\") != NULL)
		return SKR_ERR_INVAL;
	memcpy(srv->base_url, url, n + 1);
	return SKR_OK;
}

/* Apply the settings of c that a reload may change to srv; the workers
 * may be running. */
static void
apply_reloadable(skr_server *srv, const skr_config *c)
{
	SKR_SETTING_SET(srv, token_skew, c->token_skew);
	SKR_SETTING_SET(srv, nonce_ttl, c->nonce_ttl);
	SKR_SETTING_SET(srv, retention, c->retention_days * 86400);
	SKR_SETTING_SET(srv, purge_interval, c->purge_interval);
	SKR_SETTING_SET(srv, require_releaser, c->require_releaser);
	SKR_SETTING_SET(srv, deny_detail, c->deny_detail != NULL &&
	    strcmp(c->deny_detail, "none") == 0 ? SKR_DENY_NONE :
	    SKR_DENY_NAMES);
	SKR_SETTING_SET(srv, metrics_public, c->metrics_auth != NULL &&
	    strcmp(c->metrics_auth, "none") == 0);
}

/* Apply the settings of c to srv, before the workers start. */
void
skrd_apply_config(skr_server *srv, const skr_config *c)
{
	apply_reloadable(srv, c);
	srv->auth_fail_limit = (int)c->auth_fail_limit;
	srv->auth_fail_window = (int)c->auth_fail_window;
	srv->release_limit = (int)c->release_limit;
	srv->release_window = (int)c->release_window;
	srv->ratelimit_ipv6_prefix = (int)c->ratelimit_ipv6_prefix;
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
	o->body_memory = (size_t)c->max_body_memory;
	o->conn_body_memory = (size_t)c->max_connection_body_memory;
	o->http2_max_streams = (size_t)c->http2_max_streams;
	/* One knob for everything before a request is complete: the TLS
	 * handshake, the request head and its body. */
	o->header_timeout_ms = (uint64_t)c->header_timeout * 1000;
	o->handshake_timeout_ms = o->header_timeout_ms;
	o->idle_timeout_ms = (uint64_t)c->idle_timeout * 1000;
	o->shutdown_ms = (uint64_t)c->shutdown_timeout * 1000;
}

#define MAX_SETS 16
#define MAX_RETIRED 64

/* What serving needs to build its configuration again on SIGHUP. */
struct serve {
	skr_server *srv;
	const char *cfgfile;
	const char *authargs[SKR_CONFIG_MAX_AUTHORITIES];
	size_t nauth;
	struct { const char *key, *value; } sets[MAX_SETS];
	size_t nsets;
	skr_config cfg;                   /* in force */
	skr_authorities *retired[MAX_RETIRED]; /* replaced by reloads; freed
	                                   * once the workers have stopped */
	size_t nretired;
	skr_housekeeper *hk;              /* purge sweep, nonce pruning */
	skr_sealctl *seal;                /* the store's seal */
	/* Guards cfg, hk and srv->auditsink between a reload (the main
	 * loop) and the seal opening or closing the store (a pool thread). */
	pthread_mutex_t lock;
};

/* The file, then the command-line flags over it.  *why says what is
 * wrong; 2 for a bad flag, 1 for a bad file, 0 when fine. */
static int
serve_load(const struct serve *sv, skr_config *c, skr_buf *why)
{
	skr_buf tmp = SKR_BUF_INIT;
	int r = 0;

	skr_config_init(c);
	if (sv->cfgfile != NULL && skr_config_load(sv->cfgfile, c, &tmp) !=
	    SKR_OK) {
		skr_buf_appendf(why, "%s: %s", sv->cfgfile,
		    skr_buf_cstr(&tmp));
		r = 1;
	}
	for (size_t i = 0; r == 0 && i < sv->nsets; i++) {
		skr_buf_appendf(why, "%s: ", sv->sets[i].key);
		if (skr_config_set(c, sv->sets[i].key, sv->sets[i].value,
		    why) != SKR_OK)
			r = 2;
		else
			skr_buf_reset(why);
	}
	if (r == 0 && skr_config_check(c, &tmp) != SKR_OK) {
		skr_buf_appendf(why, "%s%s%s", sv->cfgfile != NULL ?
		    sv->cfgfile : "", sv->cfgfile != NULL ? ": " : "",
		    skr_buf_cstr(&tmp));
		r = 1;
	}
	skr_buf_free(&tmp);
	return r;
}

/* Every authority of c and of the --authority flags, loaded once. */
static int
serve_authorities(const struct serve *sv, const skr_config *c,
    skr_authorities **out, skr_buf *why)
{
	skr_authorities *a = NULL;
	size_t i;
	int r;

	*out = NULL;
	if ((r = skr_authorities_create(&a)) != SKR_OK)
		return r;
	for (i = 0; i < c->nauthorities; i++)
		if ((r = add_config_authority(a, &c->authorities[i])) !=
		    SKR_OK) {
			skr_buf_appendf(why, "authority %s: %s",
			    c->authorities[i].issuer, skr_strerror(r));
			goto fail;
		}
	for (i = 0; i < sv->nauth; i++) {
		skr_authority_config ac;
		char *storage = NULL;

		r = skr_authority_parse_arg(sv->authargs[i], &ac, &storage);
		if (r == SKR_OK)
			r = skr_authorities_add(a, &ac);
		free(storage);
		if (r != SKR_OK) {
			skr_buf_appendf(why, "--authority %s: %s",
			    sv->authargs[i], skr_strerror(r));
			goto fail;
		}
	}
	*out = a;
	return SKR_OK;
fail:
	skr_authorities_free(a);
	return r;
}

static void
serve_sink_opts(const skr_config *c, skr_auditsink_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->file = c->audit_file;
	o->fsync = c->audit_file_fsync != NULL &&
	    strcmp(c->audit_file_fsync, "never") == 0 ?
	    SKR_AUDITSINK_FSYNC_NEVER : SKR_AUDITSINK_FSYNC_ALWAYS;
	o->to_stdout = c->audit_stdout;
	o->refuse = c->audit_file_failure != NULL &&
	    strcmp(c->audit_file_failure, "refuse") == 0;
}

static int
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/*
 * Settings that only a restart applies (the listening sockets, the store,
 * the signing key, the rate limiters): a reload that changes them keeps the running values
 * and says so.  Returns the names, comma-separated, in names.
 */
static void
restart_only(const skr_config *old, skr_config *c, skr_buf *names)
{
#define KEEP_INT(f) do {                                                   \
		if (old->f != c->f) {                                      \
			skr_buf_appendf(names, "%s%s", names->len ? "," : "", \
			    #f);                                           \
			c->f = old->f;                                     \
		}                                                          \
	} while (0)
#define KEEP_STR(f) do {                                                   \
		if (str_differs(old->f, c->f)) {                           \
			char *t = c->f;                                    \
			skr_buf_appendf(names, "%s%s", names->len ? "," : "", \
			    #f);                                           \
			c->f = old->f != NULL ? strdup(old->f) : NULL;     \
			free(t);                                           \
		}                                                          \
	} while (0)
	KEEP_STR(data);
	KEEP_STR(listen);
	KEEP_STR(public_url);
	KEEP_STR(release_alg);
	KEEP_INT(threads);
	KEEP_INT(plain_http);
	KEEP_INT(max_body);
	KEEP_INT(max_header_bytes);
	KEEP_INT(max_headers);
	KEEP_INT(max_connections);
	KEEP_INT(max_body_memory);
	KEEP_INT(max_connection_body_memory);
	KEEP_INT(http2_max_streams);
	KEEP_INT(header_timeout);
	KEEP_INT(idle_timeout);
	KEEP_INT(shutdown_timeout);
	KEEP_INT(store_map_size);
	KEEP_INT(audit_commit_interval_us);
	/* The limiters are made with their settings on first use. */
	KEEP_INT(auth_fail_limit);
	KEEP_INT(auth_fail_window);
	KEEP_INT(release_limit);
	KEEP_INT(release_window);
	/* The attestation endpoint is set up once (skr_attest_setup). */
	KEEP_INT(attest_snp);
	KEEP_INT(attest_token_lifetime);
	KEEP_STR(snp_roots);
	KEEP_STR(snp_certs);
	KEEP_STR(snp_kds);
	KEEP_STR(snp_kds_ca);
	KEEP_STR(snp_cache_dir);
	KEEP_INT(ratelimit_ipv6_prefix);
#undef KEEP_INT
#undef KEEP_STR
}

/*
 * SIGHUP, on the main thread while the workers keep serving: reopen the
 * audit file (log rotation), then read the configuration again.  A file
 * that does not parse, or authorities that cannot be loaded, are refused
 * and the running configuration stays.  Otherwise the new settings, log
 * level, audit sinks and authorities take over; requests in flight finish
 * with the authorities they started with (the old set is retired, not
 * freed, until the server stops).
 */
static void
serve_reload(void *arg)
{
	struct serve *sv = arg;
	skr_server *srv = sv->srv;
	skr_authorities *a = NULL, *old;
	skr_auditsink_opts so;
	skr_config c;
	skr_buf why = SKR_BUF_INIT, kept = SKR_BUF_INIT;
	int64_t now = (int64_t)time(NULL);
	struct timespec ts;
	char state[64];

	/* systemd 253 and later want the time with RELOADING=1. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	skr_notify(state);
	pthread_mutex_lock(&sv->lock);
	skr_auditsink_reopen(srv->auditsink);
	if (serve_load(sv, &c, &why) != 0)
		goto refuse;
	if (c.log_level != NULL && skr_log_level_parse(c.log_level) < 0) {
		skr_buf_append_str(&why, "log_level: unknown level");
		goto refuse;
	}
	if (sv->nretired == MAX_RETIRED) {
		skr_buf_append_str(&why, "too many reloads; restart skrd");
		goto refuse;
	}
	restart_only(&sv->cfg, &c, &kept);
	if (serve_authorities(sv, &c, &a, &why) != SKR_OK)
		goto refuse;
	skr_authorities_start(a);
	/* An authority without keys is a typo or an outage: keep the
	 * running set rather than stop releasing. */
	if (skr_authorities_count(a) > 0 && !skr_authorities_ready(a)) {
		skr_buf_append_str(&why, "an authority has no signing keys "
		    "(see GET /admin/authorities after a restart, or the "
		    "file or URL it names)");
		goto refuse;
	}

	if (kept.len > 0)
		skr_log(SKR_LOG_WARN, "reload: these settings need a restart; "
		    "keeping the running values", json_pack("{s:s}", "keys",
		    skr_buf_cstr(&kept)));
	apply_reloadable(srv, &c);
	skr_log_set_level(c.log_level != NULL ?
	    skr_log_level_parse(c.log_level) : SKR_LOG_INFO);
	old = __atomic_exchange_n(&srv->authorities, a, __ATOMIC_ACQ_REL);
	a = NULL;
	if (old != NULL) {
		skr_authorities_stop(old);
		sv->retired[sv->nretired++] = old;
	}
	serve_sink_opts(&c, &so);
	if (srv->auditsink != NULL)
		skr_auditsink_configure(srv->auditsink, &so);
	skr_config_clear(&sv->cfg);
	sv->cfg = c;
	skr_metrics_reload(srv->metrics, 1, now);
	/* A new purge_interval or nonce_ttl takes effect from rounds now. */
	skr_housekeeper_kick(sv->hk);
	skr_log(SKR_LOG_INFO, "configuration reloaded", json_pack("{s:s?,s:I}",
	    "config", sv->cfgfile, "authorities", (json_int_t)
	    skr_authorities_count(srv->authorities)));
	goto out;
refuse:
	skr_authorities_free(a);
	skr_config_clear(&c);
	skr_metrics_reload(srv->metrics, 0, now);
	skr_log(SKR_LOG_ERROR, "configuration reload refused; the running "
	    "configuration stays", json_pack("{s:s?,s:s}", "config",
	    sv->cfgfile, "reason", skr_buf_cstr(&why)));
out:
	pthread_mutex_unlock(&sv->lock);
	skr_buf_free(&why);
	skr_buf_free(&kept);
	skr_notify("READY=1");
}

/* The seal's hooks (sealctl.h): the store and what reads it -- the audit
 * sinks and the housekeeper -- open together when the server unseals and
 * close together when it seals. */
static int
serve_open(void *arg, const skr_keyring *kr)
{
	struct serve *sv = arg;
	skr_server *srv = sv->srv;
	skr_store_opts so;
	skr_auditsink_opts ao;
	skr_store *st = NULL;
	int r;

	pthread_mutex_lock(&sv->lock);
	memset(&so, 0, sizeof(so));
	so.map_size = (size_t)sv->cfg.store_map_size;
	if ((r = skr_store_open_keyring(sv->cfg.data, kr, &so, &st)) != SKR_OK)
		goto out;
	skr_store_commit_interval(st,
	    (unsigned)sv->cfg.audit_commit_interval_us);
	__atomic_store_n(&srv->replicated, skr_store_replicated(st),
	    __ATOMIC_RELEASE);
	srv->store = st;
	serve_sink_opts(&sv->cfg, &ao);
	if ((r = skr_auditsink_start(st, &ao, &srv->auditsink)) != SKR_OK ||
	    (r = skr_housekeeper_start(srv, &sv->hk)) != SKR_OK) {
		skr_auditsink_stop(srv->auditsink);
		srv->auditsink = NULL;
		srv->store = NULL;
		skr_store_close(st);
	}
out:
	pthread_mutex_unlock(&sv->lock);
	return r;
}

static void
serve_close(void *arg)
{
	struct serve *sv = arg;
	skr_server *srv = sv->srv;

	/* Records of the last requests (and sweep) still go to the sinks. */
	pthread_mutex_lock(&sv->lock);
	skr_housekeeper_stop(sv->hk);
	sv->hk = NULL;
	skr_auditsink_stop(srv->auditsink);
	srv->auditsink = NULL;
	skr_store_close(srv->store);
	srv->store = NULL;
	pthread_mutex_unlock(&sv->lock);
}

static void
serve_ready(void *arg, const char *url)
{
	char state[512];

	(void)arg;
	snprintf(state, sizeof(state), "READY=1\nSTATUS=serving on %s\n"
	    "MAINPID=%ld", url, (long)getpid());
	if (skr_notify(state) < 0)
		skr_log(SKR_LOG_WARN, "cannot notify the service manager",
		    json_pack("{s:s}", "NOTIFY_SOCKET", getenv("NOTIFY_SOCKET")));
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
		{ "pkcs11-pin-file", required_argument, NULL, 'P' },
		{ "tcti", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct serve sv;
	skr_config *cfg = &sv.cfg;
	skr_server srv;
	skr_http_opts ho;
	skr_seal_opts sealo;
	skr_sealctl_hooks hooks;
	skr_sealdir *sd = NULL;
	skr_buf why = SKR_BUF_INIT;
	char path[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	size_t i;
	int c, r, status = 1, release_eku = 1, created = 0;

	memset(&sv, 0, sizeof(sv));
	pthread_mutex_init(&sv.lock, NULL);
	memset(&sealo, 0, sizeof(sealo));
	sv.srv = &srv;
	skr_config_init(cfg);
	skr_server_init(&srv);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *k = NULL;

		switch (c) {
		case 'd': k = "data"; break;
		case 'l': k = "listen"; break;
		case 't': k = "threads"; break;
		case 'v': k = "log_level"; break;
		case 'p': k = "plain_http"; optarg = "true"; break;
		case 'c': sv.cfgfile = optarg; break;
		case 'P': sealo.pkcs11_pin_file = optarg; break;
		case 'T': sealo.tcti = optarg; break;
		case 'a':
			if (sv.nauth == SKR_CONFIG_MAX_AUTHORITIES) {
				fprintf(stderr, PROG ": too many --authority\n");
				return 2;
			}
			sv.authargs[sv.nauth++] = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (k != NULL && sv.nsets < MAX_SETS) {
			sv.sets[sv.nsets].key = k;
			sv.sets[sv.nsets++].value = optarg;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* Command-line flags override the file. */
	if ((r = serve_load(&sv, cfg, &why)) != 0) {
		fprintf(stderr, PROG ": %s%s\n", r == 2 ? "--" : "",
		    skr_buf_cstr(&why));
		status = r == 2 ? 2 : 1;
		goto out2;
	}
	if (cfg->data == NULL) {
		usage(stderr);
		status = 2;
		goto out2;
	}
	if (cfg->log_level != NULL)
		skr_log_set_level(skr_log_level_parse(cfg->log_level));
	skrd_harden_process();
	skrd_apply_config(&srv, cfg);
	if (cfg->public_url != NULL && (r = set_public_url(&srv, cfg->public_url,
	    cfg->plain_http)) != SKR_OK) {
		fprintf(stderr, PROG ": public_url: must be %s://HOST[:PORT], "
		    "without a path, under %zu bytes\n", cfg->plain_http ?
		    "http" : "https", sizeof(srv.base_url));
		status = 1;
		goto out2;
	}
	if (srv.clock_offset != 0)
		skr_log(SKR_LOG_WARN, "test clock in use", json_pack("{s:I}",
		    "offset", (json_int_t)srv.clock_offset));

	if ((r = skr_pki_load_signing(cfg->data, srv.sign_alg, &srv.sign_key,
	    &srv.sign_header, &release_eku)) != SKR_OK) {
		die("release-signing key", r);
		goto out;
	}
	if (!release_eku)
		skr_log(SKR_LOG_WARN, "the release-signing certificate lacks "
		    "the release-signing extended key usage: clients that "
		    "trust ca.pem refuse its responses; run skrd renew "
		    "--signing (clients that pin the certificate then need "
		    "the new one)", json_pack("{s:s}", "data", cfg->data));
	if ((r = skr_attest_setup(&srv, cfg, &created, &why)) != SKR_OK) {
		fprintf(stderr, PROG ": %s\n", skr_buf_cstr(&why));
		die("attestation endpoint", r);
		goto out;
	}
	if (created)
		skr_log(SKR_LOG_INFO, "attestation-signing key created for a "
		    "data directory that had none", json_pack("{s:s}", "data",
		    cfg->data));
	if ((r = serve_authorities(&sv, cfg, &srv.authorities, &why)) !=
	    SKR_OK) {
		fprintf(stderr, PROG ": %s\n", skr_buf_cstr(&why));
		status = 2;
		goto out;
	}
	skr_authorities_start(srv.authorities);

	/* The seal: every seal but Shamir opens the store now or skrd
	 * stops here with the cause; Shamir starts sealed and waits for
	 * its shares (docs/sealing.md). */
	if ((r = skr_sealdir_open(cfg->data, &sealo, &sd)) != SKR_OK) {
		die("seal", r);
		goto out;
	}
	hooks.open = serve_open;
	hooks.close = serve_close;
	hooks.arg = &sv;
	snprintf(path, sizeof(path), "%s seal", skr_sealdir_type(sd));
	r = skr_sealctl_new(&srv, sd, &hooks, &sv.seal);
	sd = NULL;
	if (r != SKR_OK || (r = skr_sealctl_start(sv.seal)) != SKR_OK) {
		die(path, r);
		goto out;
	}
	srv.seal = sv.seal;
	if (skr_sealctl_sealed(sv.seal))
		skr_log(SKR_LOG_WARN, "sealed: the store opens once enough "
		    "unseal shares are given (skrctl unseal)",
		    json_pack("{s:s}", "seal", "shamir"));

	skrd_http_opts(&ho, cfg);
	path_join(cert, sizeof(cert), cfg->data, "tls-cert.pem");
	path_join(key, sizeof(key), cfg->data, "tls-key.pem");
	ho.cert_file = cert;
	ho.key_file = key;
	ho.reload_cb = serve_reload;
	ho.reload_arg = &sv;
	if ((r = skr_http_serve(&srv, &ho, serve_ready, &sv)) != SKR_OK) {
		die("serve", r);
		goto out;
	}
	status = 0;
out:
	/* Closing the seal stops the housekeeper and the sinks (the records
	 * of the last requests still go out) and closes the store. */
	skr_sealctl_free(sv.seal);
	srv.seal = NULL;
	skr_sealdir_free(sd);
	for (i = 0; i < sv.nretired; i++)
		skr_authorities_free(sv.retired[i]);
	skr_server_clear(&srv);
out2:
	skr_config_clear(cfg);
	skr_buf_free(&why);
	return status;
}

/* ---- seal-migrate ------------------------------------------------------ */

/* Shares from standard input, one a line, until the seal opens. */
static int
read_shares(skr_sealdir *sd)
{
	char line[512];
	int needs, k, p, complete = 0, r;

	skr_sealdir_status(sd, &needs, &k, &p);
	fprintf(stderr, PROG ": the data directory is sealed with %d-of-n "
	    "Shamir shares: give %d of them, one a line\n", k, k);
	while (!complete && fgets(line, sizeof(line), stdin) != NULL) {
		r = skr_sealdir_give_share(sd, line, strlen(line), &complete);
		skr_wipe(line, sizeof(line));
		if (r != SKR_OK)
			fprintf(stderr, PROG ": share refused: %s: %s\n",
			    skr_err_id(r), skr_strerror(r));
	}
	return complete ? SKR_OK : SKR_ERR_SEALED;
}

/* The new seal's shares, before the migration commits. */
static int
show_shares(void *arg, skr_seal_shares *sh)
{
	const skr_seal_opts *to = arg;

	fprintf(stderr, PROG ": %zu unseal shares follow, each shown once; "
	    "any %d of them unseal the server\n", sh->n, to->threshold);
	print_shares(sh);
	return fflush(stdout) == 0 && !ferror(stdout) ? SKR_OK : SKR_ERR_IO;
}

/*
 * Move the master key generations from the data directory's seal to
 * another one, offline (docs/sealing.md, "Moving to another seal").  The
 * store is opened with the keyring of the new seal before the old one is
 * let go: a seal that does not give back the same keys is never
 * committed.
 */
static int
cmd_seal_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		SEAL_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *why, *from;
	skr_seal_opts to, none;
	skr_sealdir *sd = NULL;
	skr_keyring kr;
	skr_store *st = NULL;
	int c, r, needs, k, p, status = 1;

	memset(&to, 0, sizeof(to));
	memset(&none, 0, sizeof(none));
	memset(&kr, 0, sizeof(kr));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (seal_opt(c, &to))
			continue;
		switch (c) {
		case 'd': dir = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (dir == NULL || to.type == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((why = seal_opts_check(&to)) != NULL) {
		fprintf(stderr, PROG ": %s\n", why);
		return 2;
	}
	skrd_harden_process();
	if ((r = skr_sealdir_open(dir, &none, &sd)) != SKR_OK) {
		die("seal", r);
		goto out;
	}
	from = skr_sealdir_type(sd);
	skr_sealdir_status(sd, &needs, &k, &p);
	if (needs && (r = read_shares(sd)) != SKR_OK) {
		die("shamir seal", r);
		goto out;
	}
	/* The old seal must open the store before anything changes. */
	if ((r = skr_sealdir_load(sd, &kr)) != SKR_OK) {
		die(from, r);
		goto out;
	}
	if ((r = skr_store_open_keyring(dir, &kr, NULL, &st)) != SKR_OK) {
		die("store", r);
		goto out;
	}
	skr_store_close(st);
	st = NULL;
	skr_keyring_clear(&kr);
	if ((r = skr_sealdir_migrate(sd, &to, show_shares, &to)) != SKR_OK) {
		die(r == SKR_ERR_SEAL_SAME ? "seal-migrate" : to.type, r);
		goto out;
	}
	if ((r = skr_sealdir_load(sd, &kr)) != SKR_OK ||
	    (r = skr_store_open_keyring(dir, &kr, NULL, &st)) != SKR_OK) {
		die("the new seal", r);
		goto out;
	}
	fprintf(stderr, PROG ": %s now sealed by %s (was %s)\n", dir, to.type,
	    from);
	status = 0;
out:
	skr_store_close(st);
	skr_keyring_clear(&kr);
	skr_sealdir_free(sd);
	return status;
}

int
main(int argc, char **argv)
{
	/* Releases run on libuv's thread pool and wait there for the
	 * group-committed audit write (server/release.c); libuv's default of
	 * 4 threads would cap a commit at 4 releases.  Set before the pool
	 * starts; an operator's own UV_THREADPOOL_SIZE wins. */
	setenv("UV_THREADPOOL_SIZE", "32", 0);
	/* Request bodies and responses carry key material and secrets. */
	skr_json_wipe_on_free();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "renew") == 0)
		return cmd_renew(argc - 1, argv + 1);
	if (strcmp(argv[1], "store-copy") == 0)
		return cmd_store_copy(argc - 1, argv + 1);
	if (strcmp(argv[1], "seal-migrate") == 0)
		return cmd_seal_migrate(argc - 1, argv + 1);
	/* "skrd --config FILE [options]" is "skrd serve --config FILE ...". */
	if (strcmp(argv[1], "--config") == 0 ||
	    strncmp(argv[1], "--config=", 9) == 0)
		return cmd_serve(argc, argv);
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
