/*
 * libskr: the client object, TLS trust, HTTP over libcurl and the mapping
 * of server errors back to SKR_ERR codes.
 *
 * Every call uses its own curl easy handle, so a client (immutable after
 * skr_client_new) is safe to share between threads; curl_global_init runs
 * once, under pthread_once.
 */
#include "skr/client.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "client_priv.h"
#include "clock.h"
#include "encoding.h"
#include "guard.h"
#include "json.h"
#include "tls.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_TIMEOUT_MS 60000

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_status = -1;

static void
curl_init_once(void)
{
	curl_init_status = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ?
	    0 : -1;
}

void
skr_free(void *p)
{
	free(p);
}

void
skr_client_opts_init(skr_client_opts *o)
{
	memset(o, 0, sizeof(*o));
}

void
skr_client_free(skr_client *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nurls; i++)
		free(c->urls[i]);
	free(c->ca_file);
	free(c->curl_pin);
	if (c->bearer != NULL)
		skr_freezero(c->bearer, strlen(c->bearer));
	X509_free(c->signing_cert);
	X509_STORE_free(c->signing_ca);
	skr_freezero(c, sizeof(*c));
}

/* ---- pins ------------------------------------------------------------- */

static int
pin_spki_list(const char *pin, struct skr__pin *pins, size_t *npins)
{
	skr_buf raw = SKR_BUF_INIT;
	const char *p = pin, *end;
	size_t len;
	int r = SKR_OK;

	while (*p != '\0') {
		if (strncmp(p, "sha256//", 8) != 0) {
			r = SKR_ERR_INVAL;
			break;
		}
		p += 8;
		end = strchr(p, ';');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		skr_buf_reset(&raw);
		if (*npins == SKR__PINS_MAX || skr_b64_decode(&raw, p, len) !=
		    SKR_OK || raw.len != 32) {
			r = SKR_ERR_INVAL;
			break;
		}
		pins[*npins].kind = SKR__PIN_SPKI;
		memcpy(pins[*npins].sha256, raw.data, 32);
		(*npins)++;
		p += len;
		/* "a;" would hand curl an empty pin. */
		if (*p == ';' && *++p == '\0')
			r = SKR_ERR_INVAL;
	}
	skr_buf_free(&raw);
	return r;
}

/* "AB:CD:..." (openssl x509 -fingerprint) or 64 hex digits; 0 if pin does
 * not look like one at all. */
static int
pin_fingerprint(const char *pin, struct skr__pin *out)
{
	skr_buf hex = SKR_BUF_INIT, raw = SKR_BUF_INIT;
	int ok = 0;

	for (const char *p = pin; *p != '\0'; p++)
		if (*p != ':' && skr_buf_append_byte(&hex, (uint8_t)*p) !=
		    SKR_OK)
			goto out;
	if (hex.len == 64 && skr_hex_decode(&raw, skr_buf_cstr(&hex),
	    hex.len) == SKR_OK && raw.len == 32) {
		out->kind = SKR__PIN_CERT;
		memcpy(out->sha256, raw.data, 32);
		ok = 1;
	}
out:
	skr_buf_free(&hex);
	skr_buf_free(&raw);
	return ok;
}

static int
cert_sha256(X509 *cert, uint8_t md[32])
{
	unsigned int len = 0;

	return X509_digest(cert, EVP_sha256(), md, &len) == 1 && len == 32 ?
	    SKR_OK : SKR_ERR_CRYPTO;
}

static int
spki_sha256(X509 *cert, uint8_t md[32])
{
	unsigned char *der = NULL;
	unsigned int len = 0;
	int n, r;

	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (n <= 0)
		return SKR_ERR_CRYPTO;
	r = EVP_Digest(der, (size_t)n, md, &len, EVP_sha256(), NULL) == 1 &&
	    len == 32 ? SKR_OK : SKR_ERR_CRYPTO;
	OPENSSL_free(der);
	return r;
}

/*
 * OpenSSL fills a certificate's cache of its extensions and hash on first
 * use (X509_cmp, chain building), under a lock that not every reader of
 * the cache takes.  The release-signing trust is shared by every thread
 * that uses the client: filled here, while only one thread has it, the
 * cache is only read afterwards.
 */
static void
settle(X509 *x)
{
	(void)X509_check_purpose(x, -1, 0);
}

static void
settle_store(X509_STORE *st)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(st);
	X509 *x;
	int i;

	for (i = 0; i < sk_X509_OBJECT_num(objs); i++)
		if ((x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs,
		    i))) != NULL)
			settle(x);
}

/* Every certificate of a PEM file, pinned by its SHA-256. */
static int
pin_file(const char *path, struct skr__pin *pins, size_t *npins)
{
	FILE *f;
	X509 *x;
	int r = SKR_OK;

	if ((f = fopen(path, "re")) == NULL)
		return SKR_ERR_INVAL;
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (*npins == SKR__PINS_MAX ||
		    cert_sha256(x, pins[*npins].sha256) != SKR_OK)
			r = SKR_ERR_INVAL;
		else
			pins[(*npins)++].kind = SKR__PIN_CERT;
		X509_free(x);
		if (r != SKR_OK)
			break;
	}
	fclose(f);
	ERR_clear_error();
	return r == SKR_OK && *npins > 0 ? SKR_OK : SKR_ERR_INVAL;
}

int
skr__pin_parse(const char *pin, struct skr__pin *pins, size_t *npins,
    char **curl_pin)
{
	int r;

	*npins = 0;
	*curl_pin = NULL;
	if (pin == NULL || *pin == '\0')
		return SKR_ERR_INVAL;
	if (strncmp(pin, "sha256//", 8) == 0) {
		if ((r = pin_spki_list(pin, pins, npins)) != SKR_OK ||
		    *npins == 0) {
			*npins = 0;
			return SKR_ERR_INVAL;
		}
		if ((*curl_pin = strdup(pin)) == NULL)
			return SKR_ERR_NOMEM;
		return SKR_OK;
	}
	if (pin_fingerprint(pin, &pins[0])) {
		*npins = 1;
		return SKR_OK;
	}
	if ((r = pin_file(pin, pins, npins)) != SKR_OK)
		*npins = 0;
	return r;
}

int
skr__pin_match(const struct skr__pin *pins, size_t npins, X509 *cert)
{
	uint8_t spki[32], whole[32];

	if (cert == NULL || spki_sha256(cert, spki) != SKR_OK ||
	    cert_sha256(cert, whole) != SKR_OK)
		return 0;
	for (size_t i = 0; i < npins; i++)
		if (CRYPTO_memcmp(pins[i].sha256,
		    pins[i].kind == SKR__PIN_SPKI ? spki : whole, 32) == 0)
			return 1;
	return 0;
}

/*
 * The certificate check when a pin is set.  With a CA bundle the chain must
 * verify first; without one the pinned leaf is the trust anchor.  curl still
 * checks the host name afterwards.
 */
static int
pin_verify_cb(X509_STORE_CTX *sctx, void *arg)
{
	const skr_client *c = arg;

	if (c->ca_file != NULL && X509_verify_cert(sctx) != 1)
		return 0;
	if (!skr__pin_match(c->pins, c->npins,
	    X509_STORE_CTX_get0_cert(sctx))) {
		X509_STORE_CTX_set_error(sctx,
		    X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	X509_STORE_CTX_set_error(sctx, X509_V_OK);
	return 1;
}

static CURLcode
ssl_ctx_cb(CURL *h, void *ssl_ctx, void *arg)
{
	(void)h;
	SSL_CTX_set_cert_verify_callback(ssl_ctx, pin_verify_cb, arg);
	return CURLE_OK;
}

/* ---- the client ------------------------------------------------------- */

/* 1 when path is a readable PEM file of certificates. */
static int
loads_as_ca_file(const char *path)
{
	X509_STORE *st = X509_STORE_new();
	int ok = st != NULL && X509_STORE_load_file(st, path) == 1;

	X509_STORE_free(st);
	return ok;
}

/* The path part of an https URL ("" for none). */
static const char *
url_path(const char *u)
{
	const char *p = strchr(u + 8, '/');

	return p != NULL ? p : "";
}

/* One or more https URLs, comma-separated, into c->urls: TLS always (there
 * is no plain-HTTP client), no query or fragment, trailing slashes
 * dropped, every one with the path of the first. */
static int
url_list(const char *list, skr_client *c)
{
	const char *p = list, *end;
	size_t n, len;

	for (;;) {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len <= 8 || strncmp(p, "https://", 8) != 0 || p[8] == '/' ||
		    p[8] == ',' || c->nurls == SKR__URLS_MAX)
			return SKR_ERR_INVAL;
		if ((c->urls[c->nurls] = strndup(p, len)) == NULL)
			return SKR_ERR_NOMEM;
		n = strlen(c->urls[c->nurls]);
		while (n > 8 && c->urls[c->nurls][n - 1] == '/')
			c->urls[c->nurls][--n] = '\0';
		if (strpbrk(c->urls[c->nurls], " \t\r\n?#") != NULL ||
		    strcmp(url_path(c->urls[c->nurls]),
		    url_path(c->urls[0])) != 0) {
			c->nurls++;
			return SKR_ERR_INVAL;
		}
		c->nurls++;
		if (end == NULL)
			return SKR_OK;
		p = end + 1;
	}
}

int
skr_client_new(const skr_client_opts *o, skr_client **out)
{
	skr_client *c = NULL;
	FILE *f;
	int r;

	*out = NULL;
	if (o == NULL || o->url == NULL)
		return SKR_ERR_INVAL;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_status != 0)
		return SKR_ERR_INTERNAL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SKR_ERR_NOMEM;
	if ((r = url_list(o->url, c)) != SKR_OK)
		goto out;
	c->url = c->urls[0];
	r = SKR_ERR_NOMEM;
	if ((o->ca_file != NULL && (c->ca_file = strdup(o->ca_file)) ==
	    NULL) || (o->bearer != NULL && (c->bearer = strdup(o->bearer)) ==
	    NULL))
		goto out;
	r = SKR_ERR_INVAL;
	/* A bearer token goes into a header line: no line breaks. */
	if (c->bearer != NULL && strpbrk(c->bearer, "\r\n") != NULL)
		goto out;
	/* A CA file that does not load is said now, not as a failed
	 * connection later. */
	if (c->ca_file != NULL && !loads_as_ca_file(c->ca_file))
		goto out;
	if (o->pin != NULL)
		SKR_GUARD(skr__pin_parse(o->pin, c->pins, &c->npins,
		    &c->curl_pin));
	c->connect_timeout_ms = o->connect_timeout_ms > 0 ?
	    o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->failover_ms = o->failover_ms > 0 ? o->failover_ms : c->timeout_ms;
	if (o->signing_cert != NULL) {
		if ((f = fopen(o->signing_cert, "re")) == NULL)
			goto out;
		c->signing_cert = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
		if (c->signing_cert == NULL)
			goto out;
		settle(c->signing_cert);
	}
	if (o->signing_ca != NULL) {
		if ((c->signing_ca = X509_STORE_new()) == NULL ||
		    X509_STORE_load_file(c->signing_ca, o->signing_ca) != 1)
			goto out;
		settle_store(c->signing_ca);
	}
	*out = c;
	c = NULL;
	r = SKR_OK;
out:
	ERR_clear_error();
	skr_client_free(c);
	return r;
}

/* ---- server errors ---------------------------------------------------- */

/* Key Vault's error codes (error.code) for responses without an SKR id. */
static const struct {
	const char *code;
	int err;
} kv_codes[] = {
	{ "KeyNotFound", SKR_ERR_KEY_NOT_FOUND },
	{ "NotFound", SKR_ERR_NOT_FOUND },
	{ "Unauthorized", SKR_ERR_AUTH_INVALID },
	{ "Forbidden", SKR_ERR_AUTH_FORBIDDEN },
	{ "BadParameter", SKR_ERR_BAD_REQUEST },
	{ "Conflict", SKR_ERR_CONFLICT },
	{ "Throttled", SKR_ERR_RATE_LIMITED },
	{ "RequestTooLarge", SKR_ERR_TOO_LARGE },
	{ "MethodNotAllowed", SKR_ERR_METHOD },
	{ "ServiceUnavailable", SKR_ERR_SEALED },
};

/* ... and by HTTP status as the last resort. */
static const struct {
	long status;
	int err;
} status_codes[] = {
	{ 400, SKR_ERR_BAD_REQUEST },
	{ 401, SKR_ERR_AUTH_INVALID },
	{ 403, SKR_ERR_AUTH_FORBIDDEN },
	{ 404, SKR_ERR_NOT_FOUND },
	{ 405, SKR_ERR_METHOD },
	{ 409, SKR_ERR_CONFLICT },
	{ 413, SKR_ERR_TOO_LARGE },
	{ 415, SKR_ERR_CONTENT_TYPE },
	{ 429, SKR_ERR_RATE_LIMITED },
	{ 503, SKR_ERR_SEALED },
};

static int
err_from_id(const char *id)
{
	for (int e = SKR__ERR_FIRST + 1; e < SKR__ERR_LAST; e++)
		if (strcmp(skr_err_id(e), id) == 0)
			return e;
	return SKR_OK;
}

/* The "<id>: " that starts an skrd message: "SKR." then [A-Z0-9_.]. */
static size_t
message_id_len(const char *m)
{
	size_t i;

	if (strncmp(m, "SKR.", 4) != 0)
		return 0;
	for (i = 4; m[i] != '\0' && m[i] != ':'; i++)
		if (!((m[i] >= 'A' && m[i] <= 'Z') || (m[i] >= '0' &&
		    m[i] <= '9') || m[i] == '_' || m[i] == '.'))
			return 0;
	return m[i] == ':' ? i : 0;
}

int
skr__refuse(skr_result *res, int r)
{
	if (res != NULL && r != SKR_OK && res->error_id[0] == '\0') {
		snprintf(res->error_id, sizeof(res->error_id), "%s",
		    skr_err_id(r));
		snprintf(res->message, sizeof(res->message), "%s: %s",
		    skr_err_id(r), skr_strerror(r));
	}
	return r;
}

int
skr__error_from_response(long status, const char *body, size_t n,
    skr_result *res)
{
	json_t *o = NULL, *err, *v;
	const char *m = NULL, *code = NULL;
	char id[64] = "";
	size_t idlen;
	int r = SKR_OK;

	if (body != NULL && n > 0 && skr_json_parse(body, n, 0, &o) == SKR_OK) {
		err = json_object_get(o, "error");
		if (json_is_string(v = json_object_get(err, "message")))
			m = json_string_value(v);
		if (json_is_string(v = json_object_get(err, "code")))
			code = json_string_value(v);
	}
	if (m != NULL && (idlen = message_id_len(m)) > 0 &&
	    idlen < sizeof(id)) {
		memcpy(id, m, idlen);
		id[idlen] = '\0';
		r = err_from_id(id);
	}
	for (size_t i = 0; r == SKR_OK && code != NULL &&
	    i < sizeof(kv_codes) / sizeof(kv_codes[0]); i++)
		if (strcmp(kv_codes[i].code, code) == 0)
			r = kv_codes[i].err;
	for (size_t i = 0; r == SKR_OK &&
	    i < sizeof(status_codes) / sizeof(status_codes[0]); i++)
		if (status_codes[i].status == status)
			r = status_codes[i].err;
	if (r == SKR_OK)
		r = SKR_ERR_SERVER;
	if (res != NULL) {
		res->http_status = (int)status;
		/* An id this client does not know yet is still reported. */
		snprintf(res->error_id, sizeof(res->error_id), "%s",
		    id[0] != '\0' ? id : skr_err_id(r));
		if (m != NULL)
			snprintf(res->message, sizeof(res->message), "%s", m);
		else
			snprintf(res->message, sizeof(res->message), "%s: %s "
			    "(HTTP %ld)", skr_err_id(r), skr_strerror(r),
			    status);
	}
	json_decref(o);
	return r;
}

/* ---- HTTP ------------------------------------------------------------- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	skr_buf *b = arg;

	if (size != 0 && n > SIZE_MAX / size)
		return 0;
	/* A short count makes curl stop with CURLE_WRITE_ERROR. */
	if (skr_buf_append(b, p, size * n) != SKR_OK)
		return 0;
	return size * n;
}

static int
err_from_curl(CURLcode cr)
{
	switch (cr) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return SKR_ERR_TLS;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		return SKR_ERR_TOO_LARGE;
	case CURLE_OUT_OF_MEMORY:
		return SKR_ERR_NOMEM;
	default:
		return SKR_ERR_TRANSPORT;
	}
}

static struct curl_slist *
add_header(struct curl_slist *list, const char *line, int *ok)
{
	struct curl_slist *l;

	if (!*ok)
		return list;
	if ((l = curl_slist_append(list, line)) == NULL) {
		*ok = 0;
		return list;
	}
	return l;
}

/* One exchange with the server at base.  *sent: the request may have
 * reached it (curl sent bytes of it). */
static int
http(const skr_client *c, const char *base, long timeout_ms,
    const char *method, const char *path, const char *body, skr_buf *out,
    skr_result *res, int *sent)
{
	struct curl_slist *hdrs = NULL;
	skr_buf url = SKR_BUF_INIT, auth = SKR_BUF_INIT_SECRET;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h = NULL;
	CURLcode cr;
	long status = 0, reqsize = 0;
	int r, ok = 1;

	*sent = 0;
	if (path[0] != '/' || strlen(path) > SKR__PATH_MAX ||
	    strpbrk(path, " \t\r\n#") != NULL)
		return SKR_ERR_INVAL;
	SKR_GUARD(skr_buf_appendf(&url, "%s%s", base, path));
	SKR_ENSURE((h = curl_easy_init()) != NULL, SKR_ERR_NOMEM);
	hdrs = add_header(hdrs, "Accept: application/json", &ok);
	hdrs = add_header(hdrs, "User-Agent: libskr/" SKR_VERSION, &ok);
	/* No 100-continue round trip for bodies over 1 KiB. */
	hdrs = add_header(hdrs, "Expect:", &ok);
	if (body != NULL)
		hdrs = add_header(hdrs, "Content-Type: application/json", &ok);
	if (c->bearer != NULL) {
		SKR_GUARD(skr_buf_appendf(&auth, "Authorization: Bearer %s",
		    c->bearer));
		hdrs = add_header(hdrs, skr_buf_cstr(&auth), &ok);
	}
	SKR_ENSURE(ok, SKR_ERR_NOMEM);
	/* Verification is never switched off; these are curl's defaults,
	 * set explicitly so no environment or build changes them. */
	if (curl_easy_setopt(h, CURLOPT_URL, skr_buf_cstr(&url)) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_CIPHER_LIST, SKR_TLS12_CIPHERS) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TLS13_CIPHERS, SKR_TLS13_CIPHERS) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    c->connect_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, out) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK) {
		r = SKR_ERR_INTERNAL;
		goto out;
	}
	if (body != NULL && (curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) !=
	    CURLE_OK || curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(body)) != CURLE_OK)) {
		r = SKR_ERR_INTERNAL;
		goto out;
	}
	if (strcmp(method, "GET") == 0 && body == NULL)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	if (c->ca_file != NULL &&
	    curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file) != CURLE_OK) {
		r = SKR_ERR_INTERNAL;
		goto out;
	}
	if (c->npins > 0) {
		/* The pin check needs the OpenSSL backend: refuse to run
		 * without it rather than run unpinned. */
		if (curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb) !=
		    CURLE_OK || curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA,
		    (void *)c) != CURLE_OK || (c->curl_pin != NULL &&
		    curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, c->curl_pin) !=
		    CURLE_OK)) {
			r = SKR_ERR_UNSUPPORTED;
			goto out;
		}
	}
	cr = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &reqsize);
	*sent = reqsize > 0;
	if (res != NULL)
		res->http_status = (int)status;
	if (cr != CURLE_OK) {
		r = err_from_curl(cr);
		if (res != NULL) {
			snprintf(res->error_id, sizeof(res->error_id), "%s",
			    skr_err_id(r));
			snprintf(res->message, sizeof(res->message),
			    "%s: %s: %s", skr_err_id(r), skr_strerror(r), errbuf[0] != '\0' ?
			    errbuf : curl_easy_strerror(cr));
		}
	} else if (status >= 200 && status < 300)
		r = SKR_OK;
	else
		r = skr__error_from_response(status, (const char *)out->data,
		    out->len, res);
out:
	/* The header list held the bearer token. */
	for (struct curl_slist *s = hdrs; s != NULL; s = s->next)
		skr_wipe(s->data, strlen(s->data));
	curl_slist_free_all(hdrs);
	if (h != NULL)
		curl_easy_cleanup(h);
	skr_buf_free(&auth);
	skr_buf_free(&url);
	ERR_clear_error();
	return r;
}

/*
 * Whether a request may be sent to another server after one may have
 * executed it (docs/libskr.md, "Several servers"): a GET changes nothing
 * that matters (a second nonce is merely unused), and a release repeated
 * releases the same key to the same attested caller, or, with a server
 * nonce, is refused as SKR.NONCE.REUSED.  Nothing else is.
 */
static int
repeatable(const char *method, const char *path)
{
	size_t n = strcspn(path, "?");

	return strcmp(method, "GET") == 0 || (strcmp(method, "POST") == 0 &&
	    n >= 8 && strncmp(path, "/keys/", 6) == 0 &&
	    strncmp(path + n - 8, "/release", 8) == 0);
}

int
skr_client_call(skr_client *c, const char *method, const char *path,
    const char *json_body, char **out, skr_result *res)
{
	skr_result mine;
	skr_buf b;
	uint64_t deadline, t;
	size_t first, i;
	long timeout;
	int r, sent, again;

	skr__start(res, out);
	if (c == NULL || method == NULL || path == NULL)
		return skr__refuse(res, SKR_ERR_INVAL);
	/* Secret: a response may carry one (a new admin token), and growing
	 * the buffer must not leave copies behind. */
	skr_buf_init_secret(&b, SKR__RESPONSE_MAX);
	deadline = skr_clock_ms() + (uint64_t)c->failover_ms;
	first = atomic_load(&c->current) % c->nurls;
	for (i = 0;; i++) {
		timeout = c->timeout_ms;
		t = skr_clock_ms();
		if (i > 0 && (uint64_t)timeout > deadline - t)
			timeout = (long)(deadline - t);
		memset(&mine, 0, sizeof(mine));
		skr_buf_reset(&b);
		r = http(c, c->urls[(first + i) % c->nurls], timeout, method,
		    path, json_body, &b, &mine, &sent);
		/* Never reached a server, or one that is unavailable
		 * (503): the next one, when the request may go twice. */
		again = (r == SKR_ERR_TRANSPORT || r == SKR_ERR_TLS ||
		    mine.http_status == 503) &&
		    (!sent || repeatable(method, path));
		if (!again || i + 1 >= c->nurls || skr_clock_ms() >= deadline)
			break;
	}
	if (res != NULL)
		*res = mine;
	if (r == SKR_OK || !again)
		atomic_store(&c->current, (first + i) % c->nurls);
	else
		atomic_store(&c->current, (first + i + 1) % c->nurls);
	if (r == SKR_OK && out != NULL) {
		/* An empty body (204, 202) is returned as "". */
		if (b.data == NULL && skr_buf_append_str(&b, "") != SKR_OK)
			r = SKR_ERR_NOMEM;
		else
			*out = (char *)skr_buf_steal(&b, NULL);
	}
	skr_buf_free(&b);
	return skr__refuse(res, r);
}
