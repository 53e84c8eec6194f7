/*
 * Unit tests: the authority set.  Key sets from a file, an https URL and
 * OpenID discovery, served by a small HTTPS server inside this test on
 * 127.0.0.1 (a throw-away CA made here).  A fake clock drives refresh,
 * backoff and the unknown-kid rate limit, so nothing depends on timing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "authority.h"
#include "check.h"
#include "files.h"
#include "json.h"
#include "policy.h"

/* ---- a loopback HTTPS server ---- */

#define MAX_ROUTES 8

struct route {
	char path[128];
	int status;
	char *body;
	int hits;
};

static struct {
	int fd, port;
	SSL_CTX *ctx;
	pthread_t thread;
	atomic_int stop;
	pthread_mutex_t mu;
	struct route routes[MAX_ROUTES];
	int nroutes;
} srv;

static char ca_path[64];

static void
route_set(const char *path, int status, const char *body)
{
	int i;

	pthread_mutex_lock(&srv.mu);
	for (i = 0; i < srv.nroutes; i++)
		if (strcmp(srv.routes[i].path, path) == 0)
			break;
	if (i == srv.nroutes && srv.nroutes < MAX_ROUTES) {
		srv.nroutes++;
		snprintf(srv.routes[i].path, sizeof(srv.routes[i].path), "%s",
		    path);
	}
	free(srv.routes[i].body);
	srv.routes[i].body = strdup(body);
	srv.routes[i].status = status;
	pthread_mutex_unlock(&srv.mu);
}

static int
route_hits(const char *path)
{
	int i, n = 0;

	pthread_mutex_lock(&srv.mu);
	for (i = 0; i < srv.nroutes; i++)
		if (strcmp(srv.routes[i].path, path) == 0)
			n = srv.routes[i].hits;
	pthread_mutex_unlock(&srv.mu);
	return n;
}

static void
serve_one(int c)
{
	char req[8192], path[128], head[256];
	const char *body = "not found";
	SSL *s = SSL_new(srv.ctx);
	size_t len = 0;
	int n, status = 404, i;

	SSL_set_fd(s, c);
	if (SSL_accept(s) <= 0)
		goto out;
	while (len < sizeof(req) - 1) {
		if ((n = SSL_read(s, req + len, (int)(sizeof(req) - 1 - len))) <=
		    0)
			goto out;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	if (sscanf(req, "GET %127s ", path) != 1)
		goto out;
	pthread_mutex_lock(&srv.mu);
	for (i = 0; i < srv.nroutes; i++)
		if (strcmp(srv.routes[i].path, path) == 0) {
			srv.routes[i].hits++;
			status = srv.routes[i].status;
			body = srv.routes[i].body;
			break;
		}
	snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
	    "Location: https://127.0.0.1:%d/elsewhere\r\n"
	    "Connection: close\r\n\r\n", status, strlen(body), srv.port);
	SSL_write(s, head, (int)strlen(head));
	SSL_write(s, body, (int)strlen(body));
	pthread_mutex_unlock(&srv.mu);
	SSL_shutdown(s);
 out:
	SSL_free(s);
	ERR_clear_error();
	close(c);
}

static void *
serve(void *arg)
{
	int c;

	for (;;) {
		c = accept(srv.fd, NULL, NULL);
		if (atomic_load(&srv.stop)) {
			if (c >= 0)
				close(c);
			break;
		}
		if (c >= 0)
			serve_one(c);
	}
	return NULL;
}

static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey,
    int ca)
{
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (!ca) {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
		    "IP:127.0.0.1");
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	X509_sign(x, ikey ? ikey : key, EVP_sha256());
	return x;
}

static int
server_start(void)
{
	EVP_PKEY *cakey = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
	X509 *ca = make_cert(cakey, "skr test CA", NULL, NULL, 1);
	X509 *cert = make_cert(key, "127.0.0.1", ca, cakey, 0);
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	FILE *f;
	int fd, one = 1;

	snprintf(ca_path, sizeof(ca_path), "/tmp/skr-test-auth-ca-XXXXXX");
	if ((fd = mkstemp(ca_path)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	PEM_write_X509(f, ca);
	fclose(f);
	srv.ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(srv.ctx, cert);
	SSL_CTX_use_PrivateKey(srv.ctx, key);
	X509_free(ca);
	X509_free(cert);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(key);

	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(srv.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(srv.fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(srv.fd, 16) != 0 ||
	    getsockname(srv.fd, (struct sockaddr *)&sin, &sl) != 0)
		return -1;
	srv.port = ntohs(sin.sin_port);
	pthread_mutex_init(&srv.mu, NULL);
	atomic_init(&srv.stop, 0);
	return pthread_create(&srv.thread, NULL, serve, NULL) == 0 ? 0 : -1;
}

static void
server_stop(void)
{
	struct sockaddr_in sin;
	int fd, i;

	atomic_store(&srv.stop, 1);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)srv.port);
	connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	pthread_join(srv.thread, NULL);
	close(srv.fd);
	SSL_CTX_free(srv.ctx);
	for (i = 0; i < srv.nroutes; i++)
		free(srv.routes[i].body);
	unlink(ca_path);
}

static char *
url(const char *path)
{
	static char buf[8][256];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, 256, "https://127.0.0.1:%d%s", srv.port, path);
	return b;
}

/* ---- key material ---- */

static skr_key *k1, *k2, *k3;

/* A JWKS text with the given keys (NULL-terminated pairs key, kid). */
static char *
jwks_text(const skr_key *a, const char *akid, const skr_key *b,
    const char *bkid)
{
	json_t *doc = json_pack("{s:[]}", "keys"), *j;
	char *s;

	j = skr_jwk_emit(a, 0);
	json_object_set_new(j, "kid", json_string(akid));
	json_array_append_new(json_object_get(doc, "keys"), j);
	if (b != NULL) {
		j = skr_jwk_emit(b, 0);
		json_object_set_new(j, "kid", json_string(bkid));
		json_array_append_new(json_object_get(doc, "keys"), j);
	}
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* Atomic: the authorities' refresh thread reads it while tests move it. */
static _Atomic int64_t fake_now = 1700000000;

static int64_t
fake_clock(void *ctx)
{
	return fake_now;
}

static int
has_kid(skr_authorities *a, const char *iss, const char *kid)
{
	skr_jwks *set = NULL;
	int r;

	if (skr_authorities_lookup(a, iss, &set, NULL, NULL) != SKR_OK)
		return 0;
	r = skr_jwks_find(set, kid) != NULL;
	skr_jwks_unref(set);
	return r;
}

static json_t *last_status;

static json_t *
status_of(skr_authorities *a, const char *iss)
{
	json_t *st, *e;
	size_t i;

	json_decref(last_status);
	last_status = NULL;
	st = skr_authorities_status_json(a);
	CHECK(st != NULL);
	json_array_foreach(st, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "issuer")),
		    iss) == 0)
			last_status = json_incref(e);
	}
	json_decref(st);
	return last_status;
}

#define ISS_FILE "https://file.example"
#define ISS_URL "https://url.example"

static void
test_config(void)
{
	skr_authorities *a = NULL;
	skr_authority_config c;
	char *store = NULL;

	CHECK_OK(skr_authorities_create(&a));
	memset(&c, 0, sizeof(c));
	c.issuer = ISS_FILE;
	c.source = SKR_AUTHORITY_FILE;
	c.location = "/nonexistent/jwks.json";
	CHECK_OK(skr_authorities_add(a, &c));
	/* The same issuer again, even with a trailing slash. */
	c.issuer = ISS_FILE "/";
	CHECK_ERR(skr_authorities_add(a, &c), SKR_ERR_CONFIG);
	c.issuer = "file.example";
	CHECK_ERR(skr_authorities_add(a, &c), SKR_ERR_CONFIG);
	c.issuer = "ftp://file.example";
	CHECK_ERR(skr_authorities_add(a, &c), SKR_ERR_CONFIG);
	c.issuer = "https://";
	CHECK_ERR(skr_authorities_add(a, &c), SKR_ERR_CONFIG);
	c.issuer = "https://x.example";
	c.location = NULL;
	CHECK_ERR(skr_authorities_add(a, &c), SKR_ERR_CONFIG);
	c.source = SKR_AUTHORITY_URL;
	c.location = "http://x.example/keys";
	CHECK_ERR(skr_authorities_add(a, &c), SKR_ERR_CONFIG);
	c.location = "file:///etc/keys.json";
	CHECK_ERR(skr_authorities_add(a, &c), SKR_ERR_CONFIG);
	c.source = SKR_AUTHORITY_OIDC;
	c.issuer = "http://x.example";
	CHECK_ERR(skr_authorities_add(a, &c), SKR_ERR_CONFIG);
	c.issuer = "https://x.example";
	c.https_ca_file = "/nonexistent/ca.pem";
	CHECK_ERR(skr_authorities_add(a, &c), SKR_ERR_CONFIG);
	c.https_ca_file = NULL;
	c.x5c_ca_file = "/nonexistent/ca.pem";
	CHECK_ERR(skr_authorities_add(a, &c), SKR_ERR_CONFIG);
	c.source = 99;
	c.x5c_ca_file = NULL;
	CHECK_ERR(skr_authorities_add(a, &c), SKR_ERR_CONFIG);
	CHECK(skr_authorities_count(a) == 1);
	/* Not loaded yet: known issuer without keys, unknown issuer. */
	CHECK_ERR(skr_authorities_lookup(a, ISS_FILE, NULL, NULL, NULL),
	    SKR_ERR_AUTHORITY);
	CHECK_ERR(skr_authorities_lookup(a, "https://other.example", NULL,
	    NULL, NULL), SKR_ERR_TOKEN_ISSUER);
	CHECK(!skr_authorities_ready(a));
	skr_authorities_free(a);

	/* --authority ISSUER=SOURCE */
	CHECK_OK(skr_authority_parse_arg("https://a.example=oidc", &c,
	    &store));
	CHECK_STR(c.issuer, "https://a.example");
	CHECK(c.source == SKR_AUTHORITY_OIDC && c.location == NULL);
	free(store);
	CHECK_OK(skr_authority_parse_arg("https://a.example/=https://a.example"
	    "/certs", &c, &store));
	CHECK_STR(c.issuer, "https://a.example/");
	CHECK(c.source == SKR_AUTHORITY_URL);
	CHECK_STR(c.location, "https://a.example/certs");
	free(store);
	CHECK_OK(skr_authority_parse_arg("https://a.example=/etc/skr/a=1.json",
	    &c, &store));
	CHECK(c.source == SKR_AUTHORITY_FILE);
	CHECK_STR(c.location, "/etc/skr/a=1.json");
	free(store);
	CHECK_ERR(skr_authority_parse_arg("https://a.example", &c, &store),
	    SKR_ERR_CONFIG);
	CHECK(store == NULL);
	CHECK_ERR(skr_authority_parse_arg("https://a.example=", &c, &store),
	    SKR_ERR_CONFIG);
	CHECK_ERR(skr_authority_parse_arg("=oidc", &c, &store),
	    SKR_ERR_CONFIG);
	CHECK_ERR(skr_authority_parse_arg("a.example=oidc", &c, &store),
	    SKR_ERR_CONFIG);
	CHECK_ERR(skr_authority_parse_arg("https://a.example=http://a.example"
	    "/certs", &c, &store), SKR_ERR_CONFIG);
	CHECK(store == NULL && c.issuer == NULL);
}

static void
test_refresh(void)
{
	char file[] = "/tmp/skr-test-auth-jwks-XXXXXX";
	char *t1 = jwks_text(k1, "k1", NULL, NULL);
	char *t12 = jwks_text(k1, "k1", k2, "k2");
	char *t3 = jwks_text(k3, "k3", NULL, NULL);
	skr_authorities *a = NULL;
	skr_authority_config c;
	skr_jwks *old = NULL;
	json_t *st;
	int fd = mkstemp(file);

	CHECK(fd >= 0);
	close(fd);
	CHECK(skr_test_write_file(file, t1) == 0);
	route_set("/url/keys", 200, t1);

	CHECK_OK(skr_authorities_create(&a));
	skr_authorities_set_clock(a, fake_clock, NULL);
	skr_authorities_set_timing(a, 3600, 60, 5, 5);
	memset(&c, 0, sizeof(c));
	c.issuer = ISS_FILE;
	c.source = SKR_AUTHORITY_FILE;
	c.location = file;
	c.algs = SKR_ALG_BIT(SKR_ALG_RS256);
	c.wrapkey_claim = "tee.keys";
	CHECK_OK(skr_authorities_add(a, &c));
	memset(&c, 0, sizeof(c));
	c.issuer = ISS_URL;
	c.source = SKR_AUTHORITY_URL;
	c.location = url("/url/keys");
	c.https_ca_file = ca_path;
	CHECK_OK(skr_authorities_add(a, &c));

	/* First load. */
	CHECK(skr_authorities_poll(a) == 2);
	CHECK(skr_authorities_ready(a));
	CHECK(has_kid(a, ISS_FILE, "k1") && has_kid(a, ISS_URL, "k1"));
	CHECK(has_kid(a, ISS_URL "/", "k1"));
	CHECK(!has_kid(a, "https://URL.example", "k1"));
	CHECK(route_hits("/url/keys") == 1);
	{
		unsigned algs = 0;
		const char *claim = NULL;

		CHECK_OK(skr_authorities_lookup(a, ISS_FILE, NULL, &algs,
		    &claim));
		CHECK(algs == SKR_ALG_BIT(SKR_ALG_RS256));
		CHECK_STR(claim, "tee.keys");
		CHECK_OK(skr_authorities_lookup(a, ISS_URL, NULL, &algs,
		    &claim));
		CHECK(algs == 0);
		CHECK_STR(claim, SKR_TOKEN_WRAPKEY_CLAIM);
	}
	st = status_of(a, ISS_URL);
	CHECK(json_integer_value(json_object_get(st, "keys")) == 1);
	CHECK_STR(json_string_value(json_array_get(json_object_get(st, "kids"),
	    0)), "k1");
	CHECK(json_integer_value(json_object_get(st, "last_refresh")) ==
	    fake_now);
	CHECK(json_integer_value(json_object_get(st, "next_refresh")) ==
	    fake_now + 3600);
	CHECK(json_is_null(json_object_get(st, "last_error")));
	CHECK_STR(json_string_value(json_object_get(st, "source")), "url");

	/* Nothing is due until the period passes. */
	CHECK(skr_authorities_poll(a) == 0);
	fake_now += 3599;
	CHECK(skr_authorities_poll(a) == 0);

	/* Rotation: a reader's old set stays usable across the swap. */
	CHECK_OK(skr_authorities_lookup(a, ISS_FILE, &old, NULL, NULL));
	CHECK(skr_test_write_file(file, t3) == 0);
	route_set("/url/keys", 200, t12);
	fake_now += 1;
	CHECK(skr_authorities_poll(a) == 2);
	CHECK(has_kid(a, ISS_FILE, "k3") && !has_kid(a, ISS_FILE, "k1"));
	CHECK(has_kid(a, ISS_URL, "k1") && has_kid(a, ISS_URL, "k2"));
	CHECK(old != NULL && skr_jwks_find(old, "k1") != NULL);
	skr_jwks_unref(old);

	/* Failures keep the last good set and back off: 5, 10, 20 s. */
	CHECK(skr_test_write_file(file, "{\"keys\": not json") == 0);
	route_set("/url/keys", 500, "oops");
	fake_now += 3600;
	CHECK(skr_authorities_poll(a) == 2);
	CHECK(has_kid(a, ISS_FILE, "k3"));
	CHECK(has_kid(a, ISS_URL, "k2"));
	CHECK(skr_authorities_ready(a));
	st = status_of(a, ISS_URL);
	CHECK(json_integer_value(json_object_get(st, "failures")) == 1);
	CHECK(strstr(json_string_value(json_object_get(st, "last_error")),
	    "HTTP status 500") != NULL);
	CHECK(json_integer_value(json_object_get(st, "next_refresh")) ==
	    fake_now + 5);
	CHECK(json_integer_value(json_object_get(st, "last_refresh")) ==
	    fake_now - 3600);
	st = status_of(a, ISS_FILE);
	CHECK(strstr(json_string_value(json_object_get(st, "last_error")),
	    "JSON") != NULL);
	fake_now += 4;
	CHECK(skr_authorities_poll(a) == 0);
	fake_now += 1;
	CHECK(skr_authorities_poll(a) == 2);
	st = status_of(a, ISS_URL);
	CHECK(json_integer_value(json_object_get(st, "failures")) == 2);
	CHECK(json_integer_value(json_object_get(st, "next_refresh")) ==
	    fake_now + 10);
	fake_now += 10;
	CHECK(skr_authorities_poll(a) == 2);
	st = status_of(a, ISS_URL);
	CHECK(json_integer_value(json_object_get(st, "next_refresh")) ==
	    fake_now + 20);
	/* A set with no usable key is a failure too. */
	route_set("/url/keys", 200, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"x\","
	    "\"k\":\"AAAAAAAAAAAAAAAAAAAAAA\"}]}");
	fake_now += 20;
	CHECK(skr_authorities_poll(a) == 2);
	st = status_of(a, ISS_URL);
	CHECK(strstr(json_string_value(json_object_get(st, "last_error")),
	    "no usable key") != NULL);
	CHECK(has_kid(a, ISS_URL, "k2"));
	/* Too large, redirects: failures. */
	{
		char *huge = malloc(SKR_JWKS_MAX_BYTES + 100);

		memset(huge, ' ', SKR_JWKS_MAX_BYTES + 99);
		huge[SKR_JWKS_MAX_BYTES + 99] = '\0';
		route_set("/url/keys", 200, huge);
		free(huge);
		fake_now += 40;
		CHECK(skr_authorities_poll(a) == 2);
		st = status_of(a, ISS_URL);
		CHECK(strstr(json_string_value(json_object_get(st,
		    "last_error")), "larger than") != NULL);
		route_set("/url/keys", 302, "");
		route_set("/elsewhere", 200, t1);
		fake_now += 80;
		CHECK(skr_authorities_poll(a) == 2);
		st = status_of(a, ISS_URL);
		CHECK(strstr(json_string_value(json_object_get(st,
		    "last_error")), "HTTP status 302") != NULL);
		CHECK(route_hits("/elsewhere") == 0);
	}
	/* Recovery resets the backoff. */
	CHECK(skr_test_write_file(file, t1) == 0);
	route_set("/url/keys", 200, t1);
	fake_now += 160;
	CHECK(skr_authorities_poll(a) == 2);
	st = status_of(a, ISS_URL);
	CHECK(json_integer_value(json_object_get(st, "failures")) == 0);
	CHECK(json_is_null(json_object_get(st, "last_error")));
	CHECK(json_integer_value(json_object_get(st, "next_refresh")) ==
	    fake_now + 3600);
	CHECK(has_kid(a, ISS_FILE, "k1"));
	/* The backoff never exceeds the refresh period. */
	route_set("/url/keys", 500, "");
	{
		int i;
		int64_t next = 0;

		for (i = 0; i < 14; i++) {
			fake_now += 3600;
			skr_authorities_poll(a);
			st = status_of(a, ISS_URL);
			next = json_integer_value(json_object_get(st,
			    "next_refresh"));
		}
		CHECK(next == fake_now + 3600);
	}
	route_set("/url/keys", 200, t1);
	fake_now += 3600;
	skr_authorities_poll(a);

	skr_authorities_free(a);
	unlink(file);
	free(t1);
	free(t12);
	free(t3);
}

static void
test_unknown_kid(void)
{
	char *t1 = jwks_text(k1, "k1", NULL, NULL);
	char *t12 = jwks_text(k1, "k1", k2, "k2");
	skr_authorities *a = NULL;
	skr_authority_config c;
	skr_token_trust trust;
	skr_jwks *set = NULL;
	int hits;

	route_set("/kid/keys", 200, t1);
	CHECK_OK(skr_authorities_create(&a));
	skr_authorities_set_clock(a, fake_clock, NULL);
	skr_authorities_set_timing(a, 3600, 60, 5, 5);
	memset(&c, 0, sizeof(c));
	c.issuer = ISS_URL;
	c.source = SKR_AUTHORITY_URL;
	c.location = url("/kid/keys");
	c.https_ca_file = ca_path;
	CHECK_OK(skr_authorities_add(a, &c));
	CHECK(skr_authorities_poll(a) == 1);
	skr_authorities_trust(a, &trust);
	route_set("/kid/keys", 200, t12);
	hits = route_hits("/kid/keys");

	/* Without waiting: asks for a refresh, reports the kid unknown. */
	CHECK_ERR(trust.unknown_kid(trust.ctx, ISS_URL, "k2", 0, &set),
	    SKR_ERR_TOKEN_KID);
	CHECK(set == NULL);
	CHECK(skr_authorities_poll(a) == 1);
	CHECK(route_hits("/kid/keys") == hits + 1);
	CHECK(has_kid(a, ISS_URL, "k2"));
	/* Rate limit: a second unknown kid within the minute fetches
	 * nothing. */
	CHECK_ERR(trust.unknown_kid(trust.ctx, ISS_URL, "k9", 0, &set),
	    SKR_ERR_TOKEN_KID);
	CHECK(skr_authorities_poll(a) == 0);
	fake_now += 59;
	CHECK_ERR(trust.unknown_kid(trust.ctx, ISS_URL, "k9", 1000, &set),
	    SKR_ERR_TOKEN_KID);
	CHECK(skr_authorities_poll(a) == 0);
	CHECK(route_hits("/kid/keys") == hits + 1);
	/* A minute later one more is allowed; waiting returns the new set. */
	fake_now += 1;
	route_set("/kid/keys", 200, t1);
	CHECK_OK(trust.unknown_kid(trust.ctx, ISS_URL, "k9", 5000, &set));
	CHECK(set != NULL && skr_jwks_find(set, "k1") != NULL &&
	    skr_jwks_find(set, "k2") == NULL);
	skr_jwks_unref(set);
	set = NULL;
	CHECK(route_hits("/kid/keys") == hits + 2);
	CHECK_ERR(trust.unknown_kid(trust.ctx, "https://nope.example", "k1", 0,
	    &set), SKR_ERR_TOKEN_ISSUER);

	/* Operator refreshes are not rate-limited. */
	CHECK_OK(skr_authorities_request_refresh(a, ISS_URL));
	CHECK(skr_authorities_poll(a) == 1);
	CHECK_OK(skr_authorities_request_refresh(a, ISS_URL "/"));
	CHECK(skr_authorities_poll(a) == 1);
	CHECK(route_hits("/kid/keys") == hits + 4);
	CHECK_ERR(skr_authorities_request_refresh(a, "https://nope.example"),
	    SKR_ERR_TOKEN_ISSUER);
	CHECK_OK(skr_authorities_refresh_wait(a, ISS_URL, 5000));
	route_set("/kid/keys", 404, "");
	CHECK_ERR(skr_authorities_refresh_wait(a, ISS_URL, 5000),
	    SKR_ERR_AUTHORITY);
	CHECK(has_kid(a, ISS_URL, "k1"));

	/* With the refresh thread running. */
	route_set("/kid/keys", 200, t12);
	CHECK_OK(skr_authorities_start(a));
	CHECK_OK(skr_authorities_refresh_wait(a, ISS_URL, 10000));
	CHECK(has_kid(a, ISS_URL, "k2"));
	fake_now += 60;
	route_set("/kid/keys", 200, t1);
	CHECK_OK(trust.unknown_kid(trust.ctx, ISS_URL, "kx", 10000, &set));
	CHECK(set != NULL && skr_jwks_find(set, "k2") == NULL);
	skr_jwks_unref(set);
	CHECK_ERR(skr_authorities_add(a, &c), SKR_ERR_INVAL);
	skr_authorities_stop(a);
	skr_authorities_stop(a);
	skr_authorities_free(a);
	free(t1);
	free(t12);
}

static void
test_oidc(void)
{
	char *t1 = jwks_text(k1, "k1", NULL, NULL);
	char meta[512], iss[128];
	skr_authorities *a = NULL;
	skr_authority_config c;
	json_t *st;

	snprintf(iss, sizeof(iss), "https://127.0.0.1:%d/tenant", srv.port);
	route_set("/tenant/certs", 200, t1);
	snprintf(meta, sizeof(meta), "{\"issuer\":\"%s\",\"jwks_uri\":\"%s\"}",
	    iss, url("/tenant/certs"));
	route_set("/tenant/.well-known/openid-configuration", 200, meta);

	CHECK_OK(skr_authorities_create(&a));
	skr_authorities_set_clock(a, fake_clock, NULL);
	skr_authorities_set_timing(a, 3600, 60, 5, 5);
	memset(&c, 0, sizeof(c));
	c.issuer = iss;
	c.source = SKR_AUTHORITY_OIDC;
	c.https_ca_file = ca_path;
	CHECK_OK(skr_authorities_add(a, &c));
	CHECK(skr_authorities_poll(a) == 1);
	CHECK(has_kid(a, iss, "k1"));
	st = status_of(a, iss);
	CHECK_STR(json_string_value(json_object_get(st, "source")), "oidc");

	/* Metadata naming another issuer, a plain-http jwks_uri, no
	 * jwks_uri, not JSON: failures that keep the set. */
	snprintf(meta, sizeof(meta), "{\"issuer\":\"https://evil.example\","
	    "\"jwks_uri\":\"%s\"}", url("/tenant/certs"));
	route_set("/tenant/.well-known/openid-configuration", 200, meta);
	CHECK_ERR(skr_authorities_refresh_wait(a, iss, 5000),
	    SKR_ERR_AUTHORITY);
	st = status_of(a, iss);
	CHECK(strstr(json_string_value(json_object_get(st, "last_error")),
	    "another issuer") != NULL);
	snprintf(meta, sizeof(meta), "{\"issuer\":\"%s/\",\"jwks_uri\":"
	    "\"http://127.0.0.1:%d/tenant/certs\"}", iss, srv.port);
	route_set("/tenant/.well-known/openid-configuration", 200, meta);
	CHECK_ERR(skr_authorities_refresh_wait(a, iss, 5000),
	    SKR_ERR_AUTHORITY);
	st = status_of(a, iss);
	CHECK(strstr(json_string_value(json_object_get(st, "last_error")),
	    "no https jwks_uri") != NULL);
	snprintf(meta, sizeof(meta), "{\"issuer\":\"%s\"}", iss);
	route_set("/tenant/.well-known/openid-configuration", 200, meta);
	CHECK_ERR(skr_authorities_refresh_wait(a, iss, 5000),
	    SKR_ERR_AUTHORITY);
	route_set("/tenant/.well-known/openid-configuration", 200, "[1]");
	CHECK_ERR(skr_authorities_refresh_wait(a, iss, 5000),
	    SKR_ERR_AUTHORITY);
	CHECK(has_kid(a, iss, "k1"));
	skr_authorities_free(a);

	/* Without our CA the server's certificate is not trusted. */
	CHECK_OK(skr_authorities_create(&a));
	c.https_ca_file = NULL;
	CHECK_OK(skr_authorities_add(a, &c));
	CHECK_OK(skr_authorities_start(a));
	CHECK(!skr_authorities_ready(a));
	st = status_of(a, iss);
	CHECK(json_integer_value(json_object_get(st, "keys")) == 0);
	CHECK(json_is_string(json_object_get(st, "last_error")));
	CHECK(json_is_null(json_object_get(st, "last_refresh")));
	CHECK_ERR(skr_authorities_lookup(a, iss, NULL, NULL, NULL),
	    SKR_ERR_AUTHORITY);
	skr_authorities_free(a);
	free(t1);
}

/* Key sets are fetched over TLS 1.2 or later with AEAD suites only: a
 * server that offers nothing but CBC suites is not talked to. */
static void
test_tls_suites(void)
{
	char *t1 = jwks_text(k1, "k1", NULL, NULL);
	skr_authorities *a = NULL;
	skr_authority_config c;
	json_t *st;

	route_set("/suites/keys", 200, t1);
	CHECK_OK(skr_authorities_create(&a));
	skr_authorities_set_clock(a, fake_clock, NULL);
	memset(&c, 0, sizeof(c));
	c.issuer = "https://suites.example";
	c.source = SKR_AUTHORITY_URL;
	c.location = url("/suites/keys");
	c.https_ca_file = ca_path;
	CHECK_OK(skr_authorities_add(a, &c));
	/* The serving thread waits in accept: the context is not in use. */
	CHECK(SSL_CTX_set_max_proto_version(srv.ctx, TLS1_2_VERSION) == 1);
	CHECK(SSL_CTX_set_cipher_list(srv.ctx,
	    "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA") == 1);
	CHECK_ERR(skr_authorities_refresh_wait(a, c.issuer, 5000),
	    SKR_ERR_AUTHORITY);
	CHECK(!has_kid(a, c.issuer, "k1"));
	st = status_of(a, c.issuer);
	CHECK(json_is_string(json_object_get(st, "last_error")));
	CHECK(SSL_CTX_set_cipher_list(srv.ctx,
	    "ECDHE-ECDSA-AES128-GCM-SHA256") == 1);
	CHECK_OK(skr_authorities_refresh_wait(a, c.issuer, 5000));
	CHECK(has_kid(a, c.issuer, "k1"));
	CHECK(SSL_CTX_set_max_proto_version(srv.ctx, 0) == 1);
	CHECK(SSL_CTX_set_cipher_list(srv.ctx, "DEFAULT") == 1);
	skr_authorities_free(a);
	free(t1);
}

/* End to end: a token signed with a rotated-in key verifies once the
 * unknown kid has refreshed the set. */
static void
test_verify_rotation(void)
{
	char *t1 = jwks_text(k1, "k1", NULL, NULL);
	char *t12 = jwks_text(k1, "k1", k2, "k2");
	skr_authorities *a = NULL;
	skr_authority_config c;
	skr_token_trust trust;
	skr_token_opts o = SKR_TOKEN_OPTS_INIT;
	skr_token *tok = NULL;
	skr_buf t = SKR_BUF_INIT;
	json_t *hdr = json_pack("{s:s}", "kid", "k2");
	char payload[256];

	route_set("/rot/keys", 200, t1);
	CHECK_OK(skr_authorities_create(&a));
	skr_authorities_set_clock(a, fake_clock, NULL);
	memset(&c, 0, sizeof(c));
	c.issuer = ISS_URL;
	c.source = SKR_AUTHORITY_URL;
	c.location = url("/rot/keys");
	c.https_ca_file = ca_path;
	CHECK_OK(skr_authorities_add(a, &c));
	CHECK_OK(skr_authorities_start(a));
	skr_authorities_trust(a, &trust);
	snprintf(payload, sizeof(payload), "{\"iss\":\"%s\",\"exp\":%lld}",
	    ISS_URL, (long long)fake_now + 600);
	CHECK_OK(skr_jws_sign(skr_key_pkey(k2), SKR_ALG_RS256, hdr,
	    (const uint8_t *)payload, strlen(payload), &t));
	o.now = fake_now;
	route_set("/rot/keys", 200, t12);
	/* The verifier waits for the early refresh the unknown kid asks for. */
	o.kid_wait_ms = 10000;
	fake_now += 120;
	o.now = fake_now;
	CHECK_OK(skr_token_verify((const char *)t.data, t.len, &trust, &o,
	    &tok, NULL));
	CHECK(tok != NULL && strcmp(tok->kid, "k2") == 0);
	skr_token_free(tok);
	tok = NULL;
	skr_authorities_free(a);
	json_decref(hdr);
	skr_buf_free(&t);
	free(t1);
	free(t12);
}

int
main(void)
{
	/* Keep every fetch on loopback, whatever the environment says. */
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	if (server_start() != 0)
		check_skip("cannot listen on 127.0.0.1");
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &k1));
	CHECK_OK(skr_key_generate(SKR_KTY_RSA, 2048, &k2));
	CHECK_OK(skr_key_generate(SKR_KTY_EC, 256, &k3));
	if (k1 == NULL || k2 == NULL || k3 == NULL)
		return check_done();

	test_config();
	test_refresh();
	test_unknown_kid();
	test_oidc();
	test_tls_suites();
	test_verify_rotation();

	skr_key_free(k1);
	skr_key_free(k2);
	skr_key_free(k3);
	server_stop();
	json_decref(last_status);
	return check_done();
}
