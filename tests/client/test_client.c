/*
 * libskr's pure parts: server error mapping, certificate pins, key paths,
 * nextLink handling and client options.  No server involved (the one
 * network case connects to a closed loopback port).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "check.h"
#include "files.h"
#include "client_priv.h"
#include "encoding.h"
#include "skr/client.h"
#include "testcert.h"

static char tmpdir[64];

static int
err_of(long status, const char *body, skr_result *res)
{
	return skr__error_from_response(status, body, body ? strlen(body) : 0,
	    res);
}

static void
test_errors(void)
{
	skr_result res;
	char body[2048];

	/* skrd: the id before the colon decides. */
	CHECK_ERR(err_of(403, "{\"error\":{\"code\":\"Forbidden\",\"message\":"
	    "\"SKR.POLICY.DENIED: release policy not satisfied\"}}", &res),
	    SKR_ERR_POLICY_DENIED);
	CHECK(res.http_status == 403);
	CHECK_STR(res.error_id, "SKR.POLICY.DENIED");
	CHECK_STR(res.message, "SKR.POLICY.DENIED: release policy not "
	    "satisfied");
	CHECK_ERR(err_of(404, "{\"error\":{\"code\":\"KeyNotFound\",\"message\":"
	    "\"SKR.KEY.VERSION_NOT_FOUND: no such version\"}}", &res),
	    SKR_ERR_VERSION_NOT_FOUND);
	CHECK_ERR(err_of(401, "{\"error\":{\"code\":\"Unauthorized\","
	    "\"message\":\"SKR.AUTH.MISSING: bearer token required\"}}", NULL),
	    SKR_ERR_AUTH_MISSING);

	/* Every id of the table comes back as its own code. */
	for (int e = SKR__ERR_FIRST + 1; e < SKR__ERR_LAST; e++) {
		snprintf(body, sizeof(body), "{\"error\":{\"code\":\"X\","
		    "\"message\":\"%s: text\"}}", skr_err_id(e));
		CHECK_ERR(err_of(400, body, NULL), e);
	}

	/* An id this client does not know: status decides, id is kept. */
	CHECK_ERR(err_of(403, "{\"error\":{\"code\":\"Forbidden\",\"message\":"
	    "\"SKR.FUTURE.THING: new\"}}", &res), SKR_ERR_AUTH_FORBIDDEN);
	CHECK_STR(res.error_id, "SKR.FUTURE.THING");

	/* Key Vault: its error code decides, then the status. */
	CHECK_ERR(err_of(404, "{\"error\":{\"code\":\"KeyNotFound\",\"message\":"
	    "\"A key with (name/id) k was not found in this key vault.\"}}",
	    &res), SKR_ERR_KEY_NOT_FOUND);
	CHECK_STR(res.error_id, "SKR.KEY.NOT_FOUND");
	CHECK(strstr(res.message, "was not found") != NULL);
	CHECK_ERR(err_of(429, "{\"error\":{\"code\":\"Throttled\",\"message\":"
	    "\"slow down\"}}", NULL), SKR_ERR_RATE_LIMITED);
	CHECK_ERR(err_of(401, "{\"error\":{\"code\":\"Unauthorized\","
	    "\"message\":\"AKV10000: Request is missing a Bearer\"}}", NULL),
	    SKR_ERR_AUTH_INVALID);
	CHECK_ERR(err_of(400, "{\"error\":{\"code\":\"SomethingNew\","
	    "\"message\":\"x\"},\"extra\":1}", NULL), SKR_ERR_BAD_REQUEST);

	/* By status alone. */
	CHECK_ERR(err_of(503, NULL, &res), SKR_ERR_SEALED);
	CHECK(res.http_status == 503);
	CHECK_STR(res.error_id, "SKR.SEALED");
	CHECK(strstr(res.message, "HTTP 503") != NULL);
	CHECK_ERR(err_of(404, "", NULL), SKR_ERR_NOT_FOUND);
	CHECK_ERR(err_of(409, "not json", NULL), SKR_ERR_CONFLICT);
	CHECK_ERR(err_of(500, "<html>oops</html>", NULL), SKR_ERR_SERVER);
	CHECK_ERR(err_of(502, NULL, NULL), SKR_ERR_SERVER);

	/* Ids that are not quite ids are not trusted as ids. */
	CHECK_ERR(err_of(403, "{\"error\":{\"message\":\"SKR.POLICY.DENIED\"}}",
	    NULL), SKR_ERR_AUTH_FORBIDDEN);
	CHECK_ERR(err_of(403, "{\"error\":{\"message\":\"SKR.policy.denied: "
	    "x\"}}", NULL), SKR_ERR_AUTH_FORBIDDEN);
	CHECK_ERR(err_of(403, "{\"error\":{\"message\":\"xSKR.POLICY.DENIED: "
	    "x\"}}", NULL), SKR_ERR_AUTH_FORBIDDEN);
	CHECK_ERR(err_of(403, "{\"error\":{\"message\":\"SKR.POLICY DENIED: "
	    "x\"}}", NULL), SKR_ERR_AUTH_FORBIDDEN);
	CHECK_ERR(err_of(400, "{\"error\":{\"message\":7}}", NULL),
	    SKR_ERR_BAD_REQUEST);
	/* Duplicate members: strict JSON refuses, so only the status is
	 * believed. */
	CHECK_ERR(err_of(400, "{\"error\":{\"message\":\"SKR.KEY.NAME: a\","
	    "\"message\":\"SKR.POLICY.DENIED: b\"}}", NULL),
	    SKR_ERR_BAD_REQUEST);

	/* A long message is cut, not overrun. */
	memset(body, 0, sizeof(body));
	strcpy(body, "{\"error\":{\"message\":\"SKR.POLICY.DENIED: ");
	memset(body + strlen(body), 'a', 1500);
	strcat(body, "\"}}");
	CHECK_ERR(err_of(403, body, &res), SKR_ERR_POLICY_DENIED);
	CHECK(strlen(res.message) == sizeof(res.message) - 1);
}

static void
b64_sha256(const unsigned char *der, size_t n, char *out, size_t outlen)
{
	unsigned char md[32];
	skr_buf b = SKR_BUF_INIT;

	EVP_Digest(der, n, md, NULL, EVP_sha256(), NULL);
	skr_b64_encode(&b, md, 32);
	snprintf(out, outlen, "%s", skr_buf_cstr(&b));
	skr_buf_free(&b);
}

static void
test_pins(void)
{
	struct skr__pin pins[SKR__PINS_MAX];
	EVP_PKEY *k1 = tc_ec(), *k2 = tc_ec();
	X509 *c1 = tc_cert("one", k1, NULL, NULL, 0, -1, 30);
	X509 *c2 = tc_cert("two", k2, NULL, NULL, 0, -1, 30);
	unsigned char *der = NULL, md[32];
	char spki1[64], spki2[64], pin[512], path[256], fp[128];
	size_t n;
	char *cp = NULL;
	int len;

	CHECK(c1 != NULL && c2 != NULL);
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c1), &der);
	b64_sha256(der, (size_t)len, spki1, sizeof(spki1));
	OPENSSL_free(der);
	der = NULL;
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c2), &der);
	b64_sha256(der, (size_t)len, spki2, sizeof(spki2));
	OPENSSL_free(der);

	/* SPKI pins, as curl writes them. */
	snprintf(pin, sizeof(pin), "sha256//%s", spki1);
	CHECK_OK(skr__pin_parse(pin, pins, &n, &cp));
	CHECK(n == 1 && pins[0].kind == SKR__PIN_SPKI);
	CHECK_STR(cp, pin);
	CHECK(skr__pin_match(pins, n, c1) == 1);
	CHECK(skr__pin_match(pins, n, c2) == 0);
	CHECK(skr__pin_match(pins, n, NULL) == 0);
	free(cp);
	snprintf(pin, sizeof(pin), "sha256//%s;sha256//%s", spki2, spki1);
	CHECK_OK(skr__pin_parse(pin, pins, &n, &cp));
	CHECK(n == 2 && skr__pin_match(pins, n, c1) == 1 &&
	    skr__pin_match(pins, n, c2) == 1);
	free(cp);

	/* Certificate fingerprints, with or without colons. */
	X509_digest(c1, EVP_sha256(), md, NULL);
	for (int i = 0; i < 32; i++)
		snprintf(fp + 3 * i, sizeof(fp) - 3 * (size_t)i, "%02X%s",
		    md[i], i < 31 ? ":" : "");
	CHECK_OK(skr__pin_parse(fp, pins, &n, &cp));
	CHECK(n == 1 && pins[0].kind == SKR__PIN_CERT && cp == NULL);
	CHECK(skr__pin_match(pins, n, c1) == 1);
	CHECK(skr__pin_match(pins, n, c2) == 0);
	for (int i = 0; i < 32; i++)
		snprintf(fp + 2 * i, sizeof(fp) - 2 * (size_t)i, "%02x", md[i]);
	CHECK_OK(skr__pin_parse(fp, pins, &n, &cp));
	CHECK(skr__pin_match(pins, n, c1) == 1);

	/* A certificate file pins that certificate (all of them, if more). */
	snprintf(path, sizeof(path), "%s/pin.pem", tmpdir);
	CHECK(tc_write_pem(path, c2, NULL));
	CHECK_OK(skr__pin_parse(path, pins, &n, &cp));
	CHECK(n == 1 && skr__pin_match(pins, n, c2) == 1 &&
	    skr__pin_match(pins, n, c1) == 0);
	CHECK(tc_write_pem(path, c2, c1));
	CHECK_OK(skr__pin_parse(path, pins, &n, &cp));
	CHECK(n == 2 && skr__pin_match(pins, n, c1) == 1);

	/* Refused: every malformed form. */
	CHECK_ERR(skr__pin_parse("", pins, &n, &cp), SKR_ERR_INVAL);
	CHECK_ERR(skr__pin_parse(NULL, pins, &n, &cp), SKR_ERR_INVAL);
	CHECK_ERR(skr__pin_parse("sha256//", pins, &n, &cp), SKR_ERR_INVAL);
	CHECK_ERR(skr__pin_parse("sha256//AAAA", pins, &n, &cp),
	    SKR_ERR_INVAL);
	CHECK_ERR(skr__pin_parse("sha256//!!!notbase64!!!", pins, &n, &cp),
	    SKR_ERR_INVAL);
	snprintf(pin, sizeof(pin), "sha256//%s;sha1//%s", spki1, spki2);
	CHECK_ERR(skr__pin_parse(pin, pins, &n, &cp), SKR_ERR_INVAL);
	CHECK(n == 0 && cp == NULL);
	snprintf(pin, sizeof(pin), "sha256//%s;", spki1);
	CHECK_ERR(skr__pin_parse(pin, pins, &n, &cp), SKR_ERR_INVAL);
	fp[62] = '\0';  /* 31 bytes of fingerprint */
	CHECK_ERR(skr__pin_parse(fp, pins, &n, &cp), SKR_ERR_INVAL);
	CHECK_ERR(skr__pin_parse("/nonexistent/cert.pem", pins, &n, &cp),
	    SKR_ERR_INVAL);
	snprintf(path, sizeof(path), "%s/notpem", tmpdir);
	{
		FILE *f = fopen(path, "w");

		fputs("hello\n", f);
		fclose(f);
	}
	CHECK_ERR(skr__pin_parse(path, pins, &n, &cp), SKR_ERR_INVAL);

	X509_free(c1);
	X509_free(c2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

static void
test_paths(void)
{
	char p[SKR__PATH_MAX], name[200];

	CHECK_OK(skr__key_path(p, sizeof(p), "disk-key-1", NULL, "/release"));
	CHECK_STR(p, "/keys/disk-key-1/release?api-version=7.4");
	CHECK_OK(skr__key_path(p, sizeof(p), "k", "0123456789abcdef0123456789"
	    "abcdef", ""));
	CHECK_STR(p, "/keys/k/0123456789abcdef0123456789abcdef?api-version="
	    "7.4");
	CHECK_OK(skr__key_path(p, sizeof(p), "k", "", "/evaluate"));
	CHECK_STR(p, "/keys/k/evaluate?api-version=7.4");
	CHECK_ERR(skr__key_path(p, sizeof(p), NULL, NULL, ""), SKR_ERR_KEY_NAME);
	CHECK_ERR(skr__key_path(p, sizeof(p), "", NULL, ""), SKR_ERR_KEY_NAME);
	CHECK_ERR(skr__key_path(p, sizeof(p), "a/b", NULL, ""),
	    SKR_ERR_KEY_NAME);
	CHECK_ERR(skr__key_path(p, sizeof(p), "..", NULL, ""), SKR_ERR_KEY_NAME);
	CHECK_ERR(skr__key_path(p, sizeof(p), "a?x=1", NULL, ""),
	    SKR_ERR_KEY_NAME);
	CHECK_ERR(skr__key_path(p, sizeof(p), "a%2f", NULL, ""),
	    SKR_ERR_KEY_NAME);
	CHECK_ERR(skr__key_path(p, sizeof(p), "k_1", NULL, ""),
	    SKR_ERR_KEY_NAME);
	CHECK_ERR(skr__key_path(p, sizeof(p), "k", "ab-cd", ""),
	    SKR_ERR_KEY_NAME);
	CHECK_ERR(skr__key_path(p, sizeof(p), "k", "../x", ""),
	    SKR_ERR_KEY_NAME);
	memset(name, 'a', 127);
	name[127] = '\0';
	CHECK_OK(skr__key_path(p, sizeof(p), name, NULL, ""));
	name[127] = 'a';
	name[128] = '\0';
	CHECK_ERR(skr__key_path(p, sizeof(p), name, NULL, ""),
	    SKR_ERR_KEY_NAME);
	CHECK_ERR(skr__key_path(p, 16, "k", NULL, "/release"), SKR_ERR_INVAL);

	/* nextLink: the same route, asked of our own server. */
	CHECK_OK(skr__next_path("https://127.0.0.1:8443/keys?api-version=7.4&"
	    "maxresults=25&$skiptoken=abc", "", "/keys?api-version=7.4", p,
	    sizeof(p)));
	CHECK_STR(p, "/keys?api-version=7.4&maxresults=25&$skiptoken=abc");
	CHECK_OK(skr__next_path("https://v.vault.azure.net:443/keys/k/versions?"
	    "api-version=7.4&$skiptoken=x", "", "/keys/k/versions?api-version=7.4",
	    p, sizeof(p)));
	CHECK_STR(p, "/keys/k/versions?api-version=7.4&$skiptoken=x");
	/* The key name in another case is the same key (docs/api.md). */
	CHECK_OK(skr__next_path("https://v.vault.azure.net:443/keys/diskkey/"
	    "versions?api-version=7.4&$skiptoken=x", "",
	    "/keys/DiskKey/versions?api-version=7.4", p, sizeof(p)));
	CHECK_ERR(skr__next_path("https://h/keys/diskkey2/versions?x", "",
	    "/keys/DiskKey/versions?a", p, sizeof(p)), SKR_ERR_RESPONSE);
	CHECK_ERR(skr__next_path("https://h/admin/tokens?x", "", "/keys?a", p,
	    sizeof(p)), SKR_ERR_RESPONSE);
	CHECK_ERR(skr__next_path("https://h/keys/../admin?x", "", "/keys?a", p,
	    sizeof(p)), SKR_ERR_RESPONSE);
	CHECK_ERR(skr__next_path("https://h/keysx?x", "", "/keys?a", p, sizeof(p)),
	    SKR_ERR_RESPONSE);
	CHECK_ERR(skr__next_path("http://h/keys?x", "", "/keys?a", p, sizeof(p)),
	    SKR_ERR_RESPONSE);
	CHECK_ERR(skr__next_path("https://h", "", "/keys?a", p, sizeof(p)),
	    SKR_ERR_RESPONSE);
	CHECK_ERR(skr__next_path("/keys?x", "", "/keys?a", p, sizeof(p)),
	    SKR_ERR_RESPONSE);
	CHECK_ERR(skr__next_path("https://h/keys?x#frag", "", "/keys?a", p,
	    sizeof(p)), SKR_ERR_RESPONSE);
	CHECK_ERR(skr__next_path("https://h/keys?x y", "", "/keys?a", p,
	    sizeof(p)), SKR_ERR_RESPONSE);
	CHECK_ERR(skr__next_path("https://h/keys?xxxxxxxxxxxxxxxxxx", "", "/keys?a",
	    p, 10), SKR_ERR_RESPONSE);
	/* Behind a proxy at https://h/skr: the prefix comes off. */
	CHECK_OK(skr__next_path("https://h/skr/keys?api-version=7.4&$skiptoken="
	    "y", "/skr", "/keys?api-version=7.4", p, sizeof(p)));
	CHECK_STR(p, "/keys?api-version=7.4&$skiptoken=y");
	CHECK_ERR(skr__next_path("https://h/other/keys?x", "/skr", "/keys?a", p,
	    sizeof(p)), SKR_ERR_RESPONSE);
	CHECK_ERR(skr__next_path("https://h/keys?x", "/skr", "/keys?a", p,
	    sizeof(p)), SKR_ERR_RESPONSE);
}

/* SKR_ADDR and skr_client_opts.url with several replicas. */
static void
test_several(void)
{
	skr_client_opts o;
	skr_client *c = NULL;
	skr_buf many = SKR_BUF_INIT;
	skr_result res;

	skr_client_opts_init(&o);
	o.url = "https://127.0.0.1:1,https://127.0.0.1:2/";
	CHECK_OK(skr_client_new(&o, &c));
	CHECK(c != NULL && c->nurls == 2);
	CHECK(c != NULL && strcmp(c->urls[0], "https://127.0.0.1:1") == 0 &&
	    strcmp(c->urls[1], "https://127.0.0.1:2") == 0 &&
	    c->url == c->urls[0]);
	/* Nothing listens on either: the call tries both and says so. */
	o.connect_timeout_ms = 1000;
	CHECK_ERR(skr_client_health(c, &res), SKR_ERR_TRANSPORT);
	CHECK(res.http_status == 0);
	skr_client_free(c);
	c = NULL;
	o.url = "https://a:1/base,https://b:2/base/";
	CHECK_OK(skr_client_new(&o, &c));
	skr_client_free(c);
	c = NULL;
	static const char *const bad[] = {
		"https://a:1,",
		",https://a:1",
		"https://a:1,,https://b:2",
		"https://a:1,http://b:2",
		"https://a:1/p,https://b:2",
		"https://a:1,https://b:2/p",
		"https://a:1, https://b:2",
		"https://a:1,https://b:2?x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.url = bad[i];
		CHECK_ERR(skr_client_new(&o, &c), SKR_ERR_INVAL);
		CHECK(c == NULL);
	}
	for (int i = 0; i < 17; i++)
		skr_buf_appendf(&many, "%shttps://h%d:1", i ? "," : "", i);
	o.url = skr_buf_cstr(&many);
	CHECK_ERR(skr_client_new(&o, &c), SKR_ERR_INVAL);
	skr_buf_free(&many);
}

static void
test_options(void)
{
	skr_client_opts o;
	skr_client *c = NULL;
	skr_released_key *k = (skr_released_key *)&o;
	skr_unwrapper u;
	skr_result res;
	EVP_PKEY *wk = tc_rsa();
	char *out = (char *)&o;

	skr_client_opts_init(&o);
	CHECK_ERR(skr_client_new(&o, &c), SKR_ERR_INVAL);
	CHECK(c == NULL);
	o.url = "http://127.0.0.1:1";
	CHECK_ERR(skr_client_new(&o, &c), SKR_ERR_INVAL);
	o.url = "https://";
	CHECK_ERR(skr_client_new(&o, &c), SKR_ERR_INVAL);
	o.url = "https:///keys";
	CHECK_ERR(skr_client_new(&o, &c), SKR_ERR_INVAL);
	o.url = "https://h/x?y";
	CHECK_ERR(skr_client_new(&o, &c), SKR_ERR_INVAL);
	o.url = "https://127.0.0.1:1/";
	o.bearer = "abc\r\nX-Evil: 1";
	CHECK_ERR(skr_client_new(&o, &c), SKR_ERR_INVAL);
	o.bearer = "abc";
	o.pin = "sha256//short";
	CHECK_ERR(skr_client_new(&o, &c), SKR_ERR_INVAL);
	o.pin = NULL;
	o.signing_cert = "/nonexistent.pem";
	CHECK_ERR(skr_client_new(&o, &c), SKR_ERR_INVAL);
	o.signing_cert = NULL;
	o.signing_ca = "/nonexistent.pem";
	CHECK_ERR(skr_client_new(&o, &c), SKR_ERR_INVAL);
	o.signing_ca = NULL;
	o.connect_timeout_ms = 2000;
	CHECK_OK(skr_client_new(&o, &c));
	CHECK(c != NULL && strcmp(c->url, "https://127.0.0.1:1") == 0);

	/* Release refuses before any request without signing trust. */
	memset(&u, 0, sizeof(u));
	u.key = wk;
	CHECK_ERR(skr_client_release(c, "k", NULL, "tok", NULL, NULL, &u, &k,
	    &res), SKR_ERR_INVAL);
	CHECK(k == NULL && res.http_status == 0);
	/* Refusals decided here are named in res as the server's are. */
	CHECK_STR(res.error_id, skr_err_id(SKR_ERR_INVAL));
	CHECK(strstr(res.message, "signing_ca") != NULL);
	skr_client_free(c);
	c = NULL;

	o.signing_ca = "/etc/ssl/certs/ca-certificates.crt";
	if (access(o.signing_ca, R_OK) != 0)
		o.signing_ca = NULL;
	if (o.signing_ca != NULL) {
		CHECK_OK(skr_client_new(&o, &c));
		u.key = NULL;
		CHECK_ERR(skr_client_release(c, "k", NULL, "tok", NULL, NULL,
		    &u, &k, NULL), SKR_ERR_INVAL);
		u.key = wk;
		CHECK_ERR(skr_client_release(c, "k", NULL, "", NULL, NULL, &u,
		    &k, NULL), SKR_ERR_INVAL);
		CHECK_ERR(skr_client_release(c, "k", NULL, "tok", NULL,
		    "A256GCM", &u, &k, &res), SKR_ERR_ENC_UNSUPPORTED);
		CHECK_STR(res.error_id, skr_err_id(SKR_ERR_ENC_UNSUPPORTED));
		CHECK_ERR(skr_client_release(c, "a/b", NULL, "tok", NULL, NULL,
		    &u, &k, &res), SKR_ERR_KEY_NAME);
		CHECK_STR(res.error_id, skr_err_id(SKR_ERR_KEY_NAME));
		CHECK(strncmp(res.message, res.error_id,
		    strlen(res.error_id)) == 0);
		/* Nothing listens on port 1. */
		CHECK_ERR(skr_client_release(c, "k", NULL, "tok", NULL, NULL,
		    &u, &k, &res), SKR_ERR_TRANSPORT);
		CHECK(res.http_status == 0);
		CHECK_STR(res.error_id, "SKR.CLIENT.TRANSPORT");
		CHECK(strncmp(res.message, "SKR.CLIENT.TRANSPORT: ", 22) == 0);
		skr_client_free(c);
		c = NULL;
	}

	o.signing_ca = NULL;
	CHECK_OK(skr_client_new(&o, &c));
	CHECK_ERR(skr_client_call(c, "GET", "/healthz", NULL, &out, &res),
	    SKR_ERR_TRANSPORT);
	CHECK(out == NULL);
	CHECK_ERR(skr_client_call(c, "GET", "healthz", NULL, NULL, NULL),
	    SKR_ERR_INVAL);
	CHECK_ERR(skr_client_call(c, "GET", "/a b", NULL, NULL, NULL),
	    SKR_ERR_INVAL);
	CHECK_ERR(skr_client_call(c, "GET", "/a\r\nHost: x", NULL, NULL,
	    NULL), SKR_ERR_INVAL);
	CHECK_ERR(skr_client_key_get(c, "bad/name", NULL, &out, NULL),
	    SKR_ERR_KEY_NAME);
	memset(&res, 'x', sizeof(res));
	CHECK_ERR(skr_client_key_versions(c, "bad/name", &out, &res),
	    SKR_ERR_KEY_NAME);
	CHECK_STR(res.error_id, skr_err_id(SKR_ERR_KEY_NAME));
	CHECK_ERR(skr_client_key_purge(c, "bad/name", &res),
	    SKR_ERR_KEY_NAME);
	CHECK_STR(res.error_id, skr_err_id(SKR_ERR_KEY_NAME));
	/* A local refusal leaves no stale output either. */
	memset(&res, 'x', sizeof(res));
	out = (char *)"stale";
	CHECK_ERR(skr_client_key_import(c, "k", NULL, &out, &res),
	    SKR_ERR_INVAL);
	CHECK_STR(res.error_id, skr_err_id(SKR_ERR_INVAL));
	CHECK(out == NULL);
	out = (char *)"stale";
	CHECK_ERR(skr_client_key_restore(c, NULL, &out, &res), SKR_ERR_INVAL);
	CHECK(out == NULL);
	CHECK_ERR(skr_client_token_revoke(c, "../x", NULL), SKR_ERR_INVAL);
	CHECK_ERR(skr_client_authority_refresh(c, NULL, NULL), SKR_ERR_INVAL);
	CHECK_ERR(skr_client_audit_list(c, "a=b#c", &out, NULL),
	    SKR_ERR_INVAL);
	skr_client_free(c);
	skr_client_free(NULL);
	skr_released_key_free(NULL);
	EVP_PKEY_free(wk);
}

int
main(void)
{
	skr_test_tmpdir(NULL, "test-client", tmpdir, sizeof(tmpdir));
	test_errors();
	test_pins();
	test_paths();
	test_options();
	test_several();
	if (skr_test_rmrf(tmpdir) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return check_done();
}
