/*
 * skr-test-authority: a stand-in attestation authority for tests, demos and
 * operators without TEE hardware.  It serves OpenID metadata, its JWKS and a
 * minting endpoint over HTTPS on loopback only, or mints tokens offline.
 * Its tokens say what they are: the issuer path is /skr-test-attestation
 * and they carry "x-skr-test-authority": true.
 *
 *   skr-test-authority serve --dir DIR [--listen 127.0.0.1:PORT] [--alg A]
 *   skr-test-authority token --dir DIR --tee sevsnp|tdx|sgx [options]
 *   skr-test-authority jwks --dir DIR [--form jwk|x5c|both]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <h2o.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "json.h"
#include "jwk.h"
#include "net.h"
#include "serve.h"
#include "skr/error.h"
#include "testauth.h"

#define PROG "skr-test-authority"
#define EXIT_USAGE 2
#define BODY_MAX ((size_t)256 * 1024)
#define PEM_MAX ((size_t)64 * 1024)

static int
parse_form(const char *s, unsigned *form)
{
	if (strcmp(s, "jwk") == 0)
		*form = SKR_TESTAUTH_JWKS_JWK;
	else if (strcmp(s, "x5c") == 0)
		*form = SKR_TESTAUTH_JWKS_X5C;
	else if (strcmp(s, "both") == 0)
		*form = SKR_TESTAUTH_JWKS_BOTH;
	else
		return SKR_ERR_INVAL;
	return SKR_OK;
}

static int
parse_seconds(const char *s, long min, long max, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return SKR_ERR_INVAL;
	*out = v;
	return SKR_OK;
}

static int
read_text_file(const char *path, size_t max, skr_buf *out)
{
	uint8_t chunk[4096];
	size_t n;
	FILE *f;
	int r = SKR_OK;

	skr_buf_init(out, max);
	if ((f = fopen(path, "rb")) == NULL)
		return SKR_ERR_IO;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((r = skr_buf_append(out, chunk, n)) != SKR_OK)
			break;
	if (r == SKR_OK && ferror(f))
		r = SKR_ERR_IO;
	fclose(f);
	return r;
}

static int
ensure_dir(const char *dir)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return SKR_ERR_IO;
	return SKR_OK;
}

static void
die_err(const char *what, int r)
{
	fprintf(stderr, PROG ": %s: %s (%s)\n", what, skr_strerror(r),
	    skr_err_id(r));
}

/* ---- serving ------------------------------------------------------------ */

/* One event loop: the authority's state is used from that thread only. */
typedef struct ta_server {
	skr_testauth *ta;
	const char *dir;
	unsigned jwks_form;
	int fail_status; /* 0: key set endpoints answer normally */
	SSL_CTX *ssl;
	char issuer[256];
} ta_server;

typedef struct ta_response {
	int status;
	skr_buf body;
} ta_response;

static int
respond_json(ta_response *resp, int status, json_t *v)
{
	char *text;
	int r;

	if (v == NULL)
		return SKR_ERR_NOMEM;
	text = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (text == NULL)
		return SKR_ERR_NOMEM;
	resp->status = status;
	r = skr_buf_set(&resp->body, text, strlen(text));
	free(text);
	return r;
}

static void
respond_error(ta_response *resp, int status, int err)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s: %s", skr_err_id(err),
	    skr_strerror(err));
	if (respond_json(resp, status, json_pack("{s:{s:s, s:s}}", "error",
	    "code", status >= 500 ? "InternalError" : "BadParameter",
	    "message", msg)) != SKR_OK) {
		resp->status = 500;
		skr_buf_reset(&resp->body);
	}
}

typedef int (*ta_route_fn)(ta_server *srv, const char *body, size_t n,
    ta_response *resp);

static int
h_openid(ta_server *srv, const char *body, size_t n, ta_response *resp)
{
	return respond_json(resp, 200,
	    skr_testauth_openid_config_json(srv->ta));
}

static int
h_certs(ta_server *srv, const char *body, size_t n, ta_response *resp)
{
	return respond_json(resp, 200,
	    skr_testauth_jwks_json(srv->ta, srv->jwks_form));
}

static int
h_attest(ta_server *srv, const char *body, size_t n, ta_response *resp)
{
	skr_buf token = SKR_BUF_INIT;
	int r;

	if ((r = skr_testauth_mint_json(srv->ta, body != NULL ? body : "{}",
	    body != NULL ? n : 2, 0, &token)) != SKR_OK)
		return r;
	r = respond_json(resp, 200, json_pack("{s:s}", "token",
	    skr_buf_cstr(&token)));
	skr_buf_free(&token);
	return r;
}

/* Optional body {"drop_old": true}: publish only the new key. */
static int
h_rotate(ta_server *srv, const char *body, size_t n, ta_response *resp)
{
	json_t *req = NULL, *v;
	const char *k;
	int drop = 0, r = SKR_OK;

	if (body != NULL && n > 0) {
		if ((r = skr_json_parse(body, n, 0, &req)) != SKR_OK)
			return r;
		if (!json_is_object(req))
			r = SKR_ERR_BAD_REQUEST;
		json_object_foreach(req, k, v) {
			if (strcmp(k, "drop_old") != 0 || !json_is_boolean(v))
				r = SKR_ERR_BAD_REQUEST;
			else
				drop = json_is_true(v);
		}
		json_decref(req);
		if (r != SKR_OK)
			return r;
	}
	if ((r = skr_testauth_rotate(srv->ta, drop)) != SKR_OK ||
	    (r = skr_testauth_save(srv->ta, srv->dir)) != SKR_OK)
		return r;
	fprintf(stderr, PROG ": rotated, kid %s%s\n",
	    skr_testauth_kid(srv->ta), drop ? " (old keys dropped)" : "");
	return respond_json(resp, 200, json_pack("{s:s, s:I}", "kid",
	    skr_testauth_kid(srv->ta), "keys",
	    (json_int_t)skr_testauth_nkeys(srv->ta)));
}

/* {"status": N}: the key set endpoints answer N (400..599) until set back
 * to 0 or 200, so verifiers' refresh and backoff paths can be tested. */
static int
h_fail(ta_server *srv, const char *body, size_t n, ta_response *resp)
{
	json_t *req = NULL, *st;
	json_int_t v;
	int r;

	if (body == NULL || (r = skr_json_parse(body, n, 0, &req)) != SKR_OK)
		return SKR_ERR_BAD_REQUEST;
	st = json_object_get(req, "status");
	r = SKR_ERR_BAD_REQUEST;
	if (!json_is_object(req) || json_object_size(req) != 1 ||
	    !json_is_integer(st))
		goto out;
	v = json_integer_value(st);
	if (v != 0 && v != 200 && (v < 400 || v > 599))
		goto out;
	srv->fail_status = v == 200 ? 0 : (int)v;
	fprintf(stderr, PROG ": key set endpoints now answer %d\n",
	    srv->fail_status ? srv->fail_status : 200);
	r = respond_json(resp, 200, json_pack("{s:i}", "status",
	    srv->fail_status ? srv->fail_status : 200));
out:
	json_decref(req);
	return r;
}

#define ROUTE_FAILABLE 0x1 /* obeys the fault switch */

static const struct {
	const char *method;
	const char *path; /* below SKR_TESTAUTH_PATH */
	ta_route_fn fn;
	unsigned flags;
} routes[] = {
	{ "GET", "/.well-known/openid-configuration", h_openid,
	    ROUTE_FAILABLE },
	{ "GET", "/certs", h_certs, ROUTE_FAILABLE },
	{ "POST", "/attest", h_attest, 0 },
	{ "POST", "/rotate", h_rotate, 0 },
	{ "POST", "/fail", h_fail, 0 },
};

static int
iov_eq(h2o_iovec_t v, const char *s)
{
	size_t n = strlen(s);

	return v.len == n && memcmp(v.base, s, n) == 0;
}

static void
dispatch(ta_server *srv, h2o_req_t *req, ta_response *resp)
{
	static const char prefix[] = SKR_TESTAUTH_PATH;
	h2o_iovec_t path = req->path_normalized, rest;
	size_t i, plen = sizeof(prefix) - 1;
	int found = 0, r;

	if (path.len < plen || memcmp(path.base, prefix, plen) != 0) {
		respond_error(resp, 404, SKR_ERR_NOT_FOUND);
		return;
	}
	rest = h2o_iovec_init(path.base + plen, path.len - plen);
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!iov_eq(rest, routes[i].path))
			continue;
		found = 1;
		if (iov_eq(req->method, routes[i].method))
			break;
	}
	if (i == sizeof(routes) / sizeof(routes[0])) {
		respond_error(resp, found ? 405 : 404,
		    found ? SKR_ERR_METHOD : SKR_ERR_NOT_FOUND);
		return;
	}
	if ((routes[i].flags & ROUTE_FAILABLE) && srv->fail_status != 0) {
		respond_error(resp, srv->fail_status, SKR_ERR_AUTHORITY);
		return;
	}
	if (req->entity.len > BODY_MAX) {
		respond_error(resp, 413, SKR_ERR_TOO_LARGE);
		return;
	}
	r = routes[i].fn(srv, req->entity.base, req->entity.len, resp);
	if (r != SKR_OK)
		respond_error(resp, r == SKR_ERR_NOMEM ||
		    r == SKR_ERR_INTERNAL || r == SKR_ERR_IO ||
		    r == SKR_ERR_CRYPTO ? 500 : 400, r);
}

static int
on_req(void *arg, skr_net_loop *loop, h2o_req_t *req)
{
	ta_server *srv = arg;
	ta_response resp;

	(void)loop;
	resp.status = 500;
	skr_buf_init(&resp.body, 0);
	dispatch(srv, req, &resp);
	req->res.status = resp.status;
	req->res.reason = resp.status == 200 ? "OK" : "Error";
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
	    NULL, H2O_STRLIT("application/json"));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL,
	    NULL, H2O_STRLIT("no-store"));
	h2o_send_inline(req, skr_buf_cstr(&resp.body), resp.body.len);
	skr_buf_free(&resp.body);
	return 0;
}

static void
on_signal(void *arg, int signum)
{
	(void)arg;
	if (signum != SIGHUP)
		fprintf(stderr, PROG ": signal %d, exiting\n", signum);
}

static void
on_log(void *arg, int level, const char *msg, json_t *fields)
{
	char *text = fields != NULL ? json_dumps(fields, JSON_COMPACT) : NULL;

	(void)arg;
	(void)level;
	fprintf(stderr, PROG ": %s%s%s\n", msg, text != NULL ? " " : "",
	    text != NULL ? text : "");
	free(text);
	json_decref(fields);
}

static void
on_ready(void *arg)
{
	ta_server *srv = arg;

	fprintf(stderr, PROG ": NOT A REAL ATTESTATION AUTHORITY; tokens are "
	    "for testing only\n");
	fprintf(stderr, PROG ": issuer %s\n", srv->issuer);
	fflush(stderr);
}

static int
tls_setup(ta_server *srv)
{
	char cert[4096], key[4096];

	if (snprintf(cert, sizeof(cert), "%s/tls-cert.pem", srv->dir) >=
	    (int)sizeof(cert) ||
	    snprintf(key, sizeof(key), "%s/tls-key.pem", srv->dir) >=
	    (int)sizeof(key))
		return SKR_ERR_INVAL;
	return skr_net_tls_server(cert, key, &srv->ssl);
}

static int
open_authority(const char *dir, const char *alg, skr_testauth **out)
{
	int r;

	if (!skr_testauth_stored(dir))
		return skr_testauth_new("https://127.0.0.1" SKR_TESTAUTH_PATH,
		    alg, out);
	if ((r = skr_testauth_load(dir, out)) != SKR_OK)
		return r;
	if (alg != NULL && strcmp(alg, skr_testauth_alg(*out)) != 0) {
		fprintf(stderr, PROG ": %s holds a %s authority; use another "
		    "--dir for %s\n", dir, skr_testauth_alg(*out), alg);
		skr_testauth_free(*out);
		*out = NULL;
		return SKR_ERR_CONFIG;
	}
	return SKR_OK;
}

/* The drain after SIGTERM or SIGINT: what is in flight finishes, an idle
 * connection does not hold the exit up for long. */
#define SHUTDOWN_MS 1000

static int
serve(const char *dir, const skr_net_addr *la, const char *alg,
    unsigned form)
{
	static ta_server srv; /* reachable until exit */
	skr_net_serve_opts no;
	skr_net_server *net = NULL;
	const skr_net_addr *bound;
	char base[200];
	int r, rc = 1;

	memset(&srv, 0, sizeof(srv));
	srv.dir = dir;
	srv.jwks_form = form;
	if ((r = ensure_dir(dir)) != SKR_OK) {
		die_err(dir, r);
		return 1;
	}
	if ((r = open_authority(dir, alg, &srv.ta)) != SKR_OK) {
		die_err("signing key", r);
		return 1;
	}
	if ((r = skr_testauth_tls_ensure(dir)) != SKR_OK ||
	    (r = tls_setup(&srv)) != SKR_OK) {
		die_err("TLS setup", r);
		goto out;
	}
	memset(&no, 0, sizeof(no));
	no.addr = *la;
	no.ssl = srv.ssl;
	no.threads = 1;
	no.server_name = PROG;
	no.max_request_body = BODY_MAX;
	/* Request bodies held in memory, as skrd bounds them (docs/skrd.md,
	 * "Request bodies"). */
	no.body_memory = 16 * 1024 * 1024;
	no.conn_body_memory = 4 * BODY_MAX;
	no.http2_max_streams = 16;
	no.shutdown_ms = SHUTDOWN_MS;
	no.arg = &srv;
	no.on_req = on_req;
	no.on_signal = on_signal;
	no.log = on_log;
	if ((r = skr_net_server_open(&no, &net)) != SKR_OK) {
		fprintf(stderr, PROG ": cannot listen on %s:%d: %s\n", la->host,
		    la->port, strerror(errno));
		goto out;
	}
	/* The port is bound: the issuer names it. */
	bound = skr_net_server_addr(net);
	if ((r = skr_net_url(bound, "https", bound->port, base,
	    sizeof(base))) != SKR_OK) {
		die_err("issuer", r);
		goto out;
	}
	snprintf(srv.issuer, sizeof(srv.issuer), "%s" SKR_TESTAUTH_PATH,
	    base);
	if ((r = skr_testauth_set_issuer(srv.ta, srv.issuer)) != SKR_OK ||
	    (r = skr_testauth_save(srv.ta, dir)) != SKR_OK) {
		die_err("saving the authority", r);
		goto out;
	}
	if ((r = skr_net_server_run(net, on_ready, &srv)) != SKR_OK) {
		die_err("serving", r);
		goto out;
	}
	rc = 0;
out:
	skr_net_server_free(net);
	SSL_CTX_free(srv.ssl);
	/* Wipe the keys before exit. */
	skr_testauth_free(srv.ta);
	srv.ta = NULL;
	return rc;
}

/* ---- subcommands -------------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: " PROG " serve --dir DIR [--listen 127.0.0.1:PORT] "
	    "[--alg RS256|ES256|PS256] [--form jwk|x5c|both]\n"
	    "       " PROG " token --dir DIR --tee sevsnp|tdx|sgx "
	    "[--issuer URL] [--wrapping-key PEM]\n"
	    "            [--nonce N] [--claim PATH=JSON]... [--lifetime S] "
	    "[--iat-offset S]\n"
	    "            [--kid KID] [--alg ALG] [--header NAME=JSON]...\n"
	    "       " PROG " jwks --dir DIR [--form jwk|x5c|both]\n");
}

static int
cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "alg", required_argument, NULL, 'a' },
		{ "form", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *alg = NULL, *listen = "127.0.0.1:0";
	unsigned form = SKR_TESTAUTH_JWKS_BOTH;
	skr_net_addr la;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'a':
			alg = optarg;
			break;
		case 'f':
			if (parse_form(optarg, &form) != SKR_OK) {
				usage();
				return EXIT_USAGE;
			}
			break;
		default:
			usage();
			return EXIT_USAGE;
		}
	}
	if (dir == NULL || optind != argc) {
		usage();
		return EXIT_USAGE;
	}
	if (alg != NULL && strcmp(alg, "RS256") != 0 &&
	    strcmp(alg, "PS256") != 0 && strcmp(alg, "ES256") != 0) {
		fprintf(stderr, PROG ": --alg must be RS256, PS256 or ES256\n");
		return EXIT_USAGE;
	}
	/* No authentication: nothing but this machine may reach it. */
	if (skr_net_resolve_loopback(listen, &la) != SKR_OK) {
		fprintf(stderr, PROG ": refusing to listen on %s: only "
		    "loopback addresses (127.0.0.0/8, [::1], localhost) with a "
		    "port are allowed\n", listen);
		return EXIT_USAGE;
	}
	return serve(dir, &la, alg, form);
}

/* NAME=JSON into obj; the name may be a dotted path. */
static int
add_assignment(json_t *obj, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char name[512];
	json_t *v;
	int r;

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(name))
		return SKR_ERR_INVAL;
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	if ((r = skr_json_parse(eq + 1, strlen(eq + 1), 0, &v)) != SKR_OK)
		return r;
	if (json_object_set_new(obj, name, v) != 0)
		return SKR_ERR_NOMEM;
	return SKR_OK;
}

static int
cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "tee", required_argument, NULL, 't' },
		{ "issuer", required_argument, NULL, 'i' },
		{ "wrapping-key", required_argument, NULL, 'w' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "claim", required_argument, NULL, 'c' },
		{ "lifetime", required_argument, NULL, 'L' },
		{ "iat-offset", required_argument, NULL, 'o' },
		{ "kid", required_argument, NULL, 'k' },
		{ "alg", required_argument, NULL, 'a' },
		{ "header", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	skr_testauth_claims spec;
	skr_testauth *ta = NULL;
	skr_key *wk = NULL;
	skr_buf pem = SKR_BUF_INIT, token = SKR_BUF_INIT;
	json_t *claims = json_object(), *header = json_object();
	const char *dir = NULL, *tee = NULL, *issuer = NULL, *wkpath = NULL;
	int c, rc = EXIT_USAGE, r;

	memset(&spec, 0, sizeof(spec));
	if (claims == NULL || header == NULL)
		goto out;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		r = SKR_OK;
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 't':
			tee = optarg;
			break;
		case 'i':
			issuer = optarg;
			break;
		case 'w':
			wkpath = optarg;
			break;
		case 'n':
			spec.nonce = optarg;
			break;
		case 'c':
			r = add_assignment(claims, optarg);
			break;
		case 'L':
			r = parse_seconds(optarg, 1, 10L * 365 * 86400,
			    &spec.lifetime);
			break;
		case 'o':
			r = parse_seconds(optarg, -10L * 365 * 86400,
			    10L * 365 * 86400, &spec.iat_offset);
			break;
		case 'k':
			spec.kid = optarg;
			break;
		case 'a':
			spec.alg = optarg;
			break;
		case 'H':
			r = add_assignment(header, optarg);
			break;
		default:
			r = SKR_ERR_INVAL;
			break;
		}
		if (r != SKR_OK) {
			if (c != '?')
				fprintf(stderr, PROG ": bad option value: "
				    "%s\n", optarg);
			usage();
			goto out;
		}
	}
	if (dir == NULL || tee == NULL || optind != argc) {
		usage();
		goto out;
	}
	if (skr_testauth_tee_parse(tee, &spec.tee) != SKR_OK) {
		fprintf(stderr, PROG ": --tee must be sevsnp, tdx or sgx\n");
		goto out;
	}
	rc = 1;
	if ((r = skr_testauth_load(dir, &ta)) != SKR_OK) {
		die_err(skr_testauth_stored(dir) ? "loading the authority" :
		    "no authority in --dir (run serve once, or pass an "
		    "existing directory)", r);
		goto out;
	}
	if (issuer != NULL &&
	    (r = skr_testauth_set_issuer(ta, issuer)) != SKR_OK) {
		die_err("--issuer", r);
		goto out;
	}
	if (wkpath != NULL) {
		if ((r = read_text_file(wkpath, PEM_MAX, &pem)) != SKR_OK ||
		    (r = skr_key_from_pem((const char *)pem.data, pem.len,
		    &wk)) != SKR_OK) {
			die_err(wkpath, r);
			goto out;
		}
		spec.wrapping_key = wk;
	}
	if (json_object_size(claims) > 0)
		spec.overrides = claims;
	if (json_object_size(header) > 0)
		spec.header_extra = header;
	if ((r = skr_testauth_mint(ta, &spec, &token)) != SKR_OK) {
		die_err("minting", r);
		goto out;
	}
	printf("%s\n", skr_buf_cstr(&token));
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	skr_testauth_free(ta);
	skr_key_free(wk);
	skr_buf_free(&pem);
	skr_buf_free(&token);
	json_decref(claims);
	json_decref(header);
	return rc;
}

static int
cmd_jwks(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "form", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	unsigned form = SKR_TESTAUTH_JWKS_BOTH;
	skr_testauth *ta = NULL;
	json_t *jwks = NULL;
	int c, r, rc = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c != 'f' || parse_form(optarg, &form) != SKR_OK) {
			usage();
			return EXIT_USAGE;
		}
	}
	if (dir == NULL || optind != argc) {
		usage();
		return EXIT_USAGE;
	}
	if ((r = skr_testauth_load(dir, &ta)) != SKR_OK) {
		die_err("loading the authority", r);
		return 1;
	}
	if ((jwks = skr_testauth_jwks_json(ta, form)) != NULL &&
	    json_dumpf(jwks, stdout, JSON_INDENT(2)) == 0) {
		printf("\n");
		rc = fflush(stdout) == 0 ? 0 : 1;
	}
	json_decref(jwks);
	skr_testauth_free(ta);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "serve", cmd_serve },
	{ "token", cmd_token },
	{ "jwks", cmd_jwks },
};

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage();
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	}
	usage();
	return EXIT_USAGE;
}
