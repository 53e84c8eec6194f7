/*
 * libskr over libcurl.  Every call uses its own easy handle, so a client is
 * safe to share between threads; curl_global_init runs once.
 */
#include "skr/client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "buf.h"
#include "encoding.h"
#include "guard.h"
#include "json.h"
#include "jwk.h"
#include "jws.h"
#include "wrap.h"

#define RESPONSE_MAX (16 * 1024 * 1024)
#define PATH_MAX_LEN 2048

struct skr_client {
	char *url;
	char *ca_file;
	char *pin;
	char *bearer;
	long connect_timeout_ms;
	long timeout_ms;
	X509 *signing_cert;
	X509_STORE *signing_ca;
};

struct skr_released_key {
	skr_key *key;
	skr_buf bytes;
	char *kid;
	char *attributes;
	char kty[8];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
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

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

void
skr_client_free(skr_client *c)
{
	if (c == NULL)
		return;
	free(c->url);
	free(c->ca_file);
	free(c->pin);
	if (c->bearer != NULL)
		skr_freezero(c->bearer, strlen(c->bearer));
	X509_free(c->signing_cert);
	X509_STORE_free(c->signing_ca);
	free(c);
}

int
skr_client_new(const skr_client_opts *o, skr_client **out)
{
	skr_client *c;
	FILE *f;
	size_t n;
	int r = SKR_ERR_NOMEM;

	*out = NULL;
	/* TLS always: no plain-HTTP client exists. */
	if (o->url == NULL || strncmp(o->url, "https://", 8) != 0)
		return SKR_ERR_INVAL;
	pthread_once(&curl_once, curl_init_once);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SKR_ERR_NOMEM;
	if ((c->url = strdup(o->url)) == NULL)
		goto out;
	n = strlen(c->url);
	while (n > 0 && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	if ((o->ca_file && !(c->ca_file = strdup(o->ca_file))) ||
	    (o->pin && !(c->pin = strdup(o->pin))) ||
	    (o->bearer && !(c->bearer = dup_or_null(o->bearer))))
		goto out;
	c->connect_timeout_ms = o->connect_timeout_ms > 0 ?
	    o->connect_timeout_ms : 10000;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 60000;
	r = SKR_ERR_INVAL;
	if (o->signing_cert != NULL) {
		if ((f = fopen(o->signing_cert, "re")) == NULL)
			goto out;
		c->signing_cert = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
		if (c->signing_cert == NULL)
			goto out;
	}
	if (o->signing_ca != NULL) {
		if ((c->signing_ca = X509_STORE_new()) == NULL ||
		    X509_STORE_load_file(c->signing_ca, o->signing_ca) != 1)
			goto out;
	}
	*out = c;
	return SKR_OK;
out:
	skr_client_free(c);
	return r;
}

/* ---- HTTP ------------------------------------------------------------- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	skr_buf *b = arg;

	if (skr_buf_append(b, p, size * n) != SKR_OK)
		return 0;
	return size * n;
}

/* The SKR_ERR code whose stable id starts the server's message. */
static int
err_from_id(const char *id)
{
	for (int e = SKR__ERR_FIRST + 1; e < SKR__ERR_LAST; e++)
		if (strcmp(skr_err_id(e), id) == 0)
			return e;
	return SKR_ERR_SERVER;
}

static int
parse_error(long status, const skr_buf *body, skr_result *res)
{
	json_t *o = NULL, *msg;
	const char *m, *colon;
	char id[64] = "";
	int r = SKR_ERR_SERVER;

	if (status == 401)
		r = SKR_ERR_AUTH_INVALID;
	else if (status == 404)
		r = SKR_ERR_KEY_NOT_FOUND;
	if (body->len > 0 && skr_json_parse((const char *)body->data,
	    body->len, 0, &o) == SKR_OK) {
		msg = json_object_get(json_object_get(o, "error"), "message");
		if (json_is_string(msg)) {
			m = json_string_value(msg);
			/* skrd: "<SKR id>: <text>"; Key Vault: free text. */
			colon = strstr(m, ": ");
			if (strncmp(m, "SKR.", 4) == 0 && colon != NULL &&
			    (size_t)(colon - m) < sizeof(id)) {
				memcpy(id, m, (size_t)(colon - m));
				id[colon - m] = '\0';
				r = err_from_id(id);
			}
			if (res != NULL)
				snprintf(res->message, sizeof(res->message),
				    "%s", m);
		}
	}
	if (res != NULL)
		snprintf(res->error_id, sizeof(res->error_id), "%s", id[0] ?
		    id : skr_err_id(r));
	json_decref(o);
	return r;
}

static int
http(skr_client *c, const char *method, const char *path, const char *body,
    skr_buf *out, skr_result *res)
{
	struct curl_slist *hdrs = NULL;
	skr_buf auth = SKR_BUF_INIT_SECRET;
	char url[PATH_MAX_LEN + 512];
	CURL *h;
	CURLcode cr;
	long status = 0;
	int r;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (strlen(path) > PATH_MAX_LEN)
		return SKR_ERR_INVAL;
	snprintf(url, sizeof(url), "%s%s", c->url, path);
	if ((h = curl_easy_init()) == NULL)
		return SKR_ERR_NOMEM;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
	if (c->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (c->pin != NULL)
		curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, c->pin);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (body != NULL) {
		hdrs = curl_slist_append(hdrs,
		    "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (c->bearer != NULL) {
		skr_buf_appendf(&auth, "Authorization: Bearer %s", c->bearer);
		hdrs = curl_slist_append(hdrs, skr_buf_cstr(&auth));
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	cr = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (res != NULL)
		res->http_status = (int)status;
	if (cr != CURLE_OK) {
		r = cr == CURLE_PEER_FAILED_VERIFICATION ||
		    cr == CURLE_SSL_CACERT_BADFILE ||
		    cr == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
		    cr == CURLE_SSL_CONNECT_ERROR ? SKR_ERR_TLS :
		    cr == CURLE_WRITE_ERROR ? SKR_ERR_TOO_LARGE :
		    SKR_ERR_TRANSPORT;
		if (res != NULL)
			snprintf(res->message, sizeof(res->message), "%s",
			    curl_easy_strerror(cr));
	} else if (status >= 200 && status < 300)
		r = SKR_OK;
	else
		r = parse_error(status, out, res);
	/* The header list held the bearer token. */
	for (struct curl_slist *s = hdrs; s != NULL; s = s->next)
		skr_wipe(s->data, strlen(s->data));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	skr_buf_free(&auth);
	return r;
}

int
skr_client_call(skr_client *c, const char *method, const char *path,
    const char *json_body, char **out, skr_result *res)
{
	skr_buf b;
	int r;

	skr_buf_init(&b, RESPONSE_MAX);
	if (out != NULL)
		*out = NULL;
	r = http(c, method, path, json_body, &b, res);
	if (r == SKR_OK && out != NULL)
		*out = (char *)skr_buf_steal(&b, NULL);
	skr_buf_free(&b);
	return r;
}

/* ---- release verification --------------------------------------------- */

/* The x5c chain of the response header, leaf first. */
static int
x5c_chain(const json_t *hdr, X509 **leaf, STACK_OF(X509) **rest)
{
	const json_t *x5c = json_object_get(hdr, "x5c"), *v;
	skr_buf der = SKR_BUF_INIT;
	const unsigned char *p;
	X509 *x;
	size_t i;

	*leaf = NULL;
	if ((*rest = sk_X509_new_null()) == NULL)
		return SKR_ERR_NOMEM;
	if (!json_is_array(x5c) || json_array_size(x5c) == 0 ||
	    json_array_size(x5c) > 8)
		return SKR_ERR_RESPONSE_SIGNATURE;
	json_array_foreach(x5c, i, v) {
		skr_buf_reset(&der);
		if (!json_is_string(v) || skr_b64_decode(&der,
		    json_string_value(v), json_string_length(v)) != SKR_OK)
			break;
		p = der.data;
		if ((x = d2i_X509(NULL, &p, (long)der.len)) == NULL)
			break;
		if (i == 0)
			*leaf = x;
		else
			sk_X509_push(*rest, x);
	}
	skr_buf_free(&der);
	return *leaf != NULL && i == json_array_size(x5c) ? SKR_OK :
	    SKR_ERR_RESPONSE_SIGNATURE;
}

/* Which key signed the response, per the client's trust settings. */
static int
trusted_signer(skr_client *c, const skr_jws *jws, EVP_PKEY **key)
{
	STACK_OF(X509) *rest = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *leaf = NULL;
	int r;

	*key = NULL;
	if (c->signing_cert != NULL) {
		/* Pinned: the pinned certificate's key verifies, whatever the
		 * response's header says. */
		*key = X509_get_pubkey(c->signing_cert);
		return *key != NULL ? SKR_OK : SKR_ERR_RESPONSE_SIGNATURE;
	}
	if (c->signing_ca == NULL)
		return SKR_ERR_RESPONSE_SIGNATURE;
	SKR_GUARD(x5c_chain(jws->header, &leaf, &rest));
	SKR_ENSURE((ctx = X509_STORE_CTX_new()) != NULL, SKR_ERR_NOMEM);
	SKR_ENSURE(X509_STORE_CTX_init(ctx, c->signing_ca, leaf, rest) == 1,
	    SKR_ERR_NOMEM);
	SKR_ENSURE(X509_verify_cert(ctx) == 1, SKR_ERR_RESPONSE_SIGNATURE);
	SKR_ENSURE((*key = X509_get_pubkey(leaf)) != NULL,
	    SKR_ERR_RESPONSE_SIGNATURE);
	r = SKR_OK;
out:
	X509_STORE_CTX_free(ctx);
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	return r;
}

struct cb_adapter {
	const skr_unwrapper *u;
};

static int
decrypt_adapter(void *ctx, const EVP_MD *md, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t *outlen)
{
	struct cb_adapter *a = ctx;
	const char *name = EVP_MD_get0_name(md);

	return a->u->decrypt(a->u->ctx, name, in, inlen, out, outlen);
}

static int
unpack_release(skr_client *c, const char *jwstext, size_t n,
    const char *nonce, const skr_unwrapper *u, skr_released_key **out)
{
	skr_jws jws;
	EVP_PKEY *signer = NULL;
	const json_t *req, *key, *jwk, *v;
	skr_released_key *k = NULL;
	struct cb_adapter ad = { u };
	skr_kty kty;
	char *attrs;
	int r;

	memset(&jws, 0, sizeof(jws));
	if (skr_jws_parse(jwstext, n, RESPONSE_MAX, &jws) != SKR_OK) {
		r = SKR_ERR_RESPONSE;
		goto out;
	}
	SKR_GUARD(trusted_signer(c, &jws, &signer));
	if (skr_jws_verify(&jws, signer, SKR_ALG_BIT(SKR_ALG_RS256) |
	    SKR_ALG_BIT(SKR_ALG_PS256) | SKR_ALG_BIT(SKR_ALG_ES256)) !=
	    SKR_OK) {
		r = SKR_ERR_RESPONSE_SIGNATURE;
		goto out;
	}
	SKR_ENSURE(json_is_object(jws.payload), SKR_ERR_RESPONSE);
	/* The nonce we sent must come back, and none when we sent none. */
	req = json_object_get(jws.payload, "request");
	v = json_object_get(req, "nonce");
	if (nonce != NULL)
		SKR_ENSURE(json_is_string(v) && strcmp(json_string_value(v),
		    nonce) == 0, SKR_ERR_NONCE_MISMATCH);
	else
		SKR_ENSURE(v == NULL || json_is_null(v), SKR_ERR_NONCE_MISMATCH);
	key = json_object_get(json_object_get(jws.payload, "response"), "key");
	jwk = json_object_get(key, "key");
	v = json_object_get(jwk, "kty");
	SKR_ENSURE(json_is_string(v) && (kty = skr_kty_parse(
	    json_string_value(v))) != SKR_KTY_NONE, SKR_ERR_RESPONSE);
	v = json_object_get(jwk, "key_hsm");
	SKR_ENSURE(json_is_string(v), SKR_ERR_RESPONSE);
	SKR_ENSURE((k = calloc(1, sizeof(*k))) != NULL, SKR_ERR_NOMEM);
	skr_buf_init_secret(&k->bytes, 0);
	r = skr_release_unwrap(json_string_value(v), json_string_length(v), kty,
	    u->key, u->key != NULL ? NULL : decrypt_adapter, &ad,
	    u->modulus_len, &k->key);
	if (r != SKR_OK)
		goto out;
	SKR_GUARD(skr_key_private_bytes(k->key, &k->bytes));
	snprintf(k->kty, sizeof(k->kty), "%s", skr_kty_name(kty, 0));
	v = json_object_get(jwk, "kid");
	k->kid = strdup(json_is_string(v) ? json_string_value(v) : "");
	attrs = json_dumps(json_object_get(key, "attributes"), JSON_COMPACT |
	    JSON_ENCODE_ANY);
	k->attributes = attrs != NULL ? attrs : strdup("{}");
	SKR_ENSURE(k->kid != NULL && k->attributes != NULL, SKR_ERR_NOMEM);
	*out = k;
	k = NULL;
	r = SKR_OK;
out:
	skr_released_key_free(k);
	EVP_PKEY_free(signer);
	skr_jws_clear(&jws);
	return r;
}

static int
key_path(char *out, size_t outlen, const char *name, const char *version,
    const char *suffix)
{
	int n;

	if (name == NULL || strpbrk(name, "/?#%") != NULL ||
	    (version != NULL && strpbrk(version, "/?#%") != NULL))
		return SKR_ERR_KEY_NAME;
	n = snprintf(out, outlen, "/keys/%s%s%s%s?api-version=7.4", name,
	    version != NULL && *version ? "/" : "", version ? version : "",
	    suffix);
	return n > 0 && (size_t)n < outlen ? SKR_OK : SKR_ERR_INVAL;
}

int
skr_client_release(skr_client *c, const char *name, const char *version,
    const char *token, const char *nonce, const char *enc,
    const skr_unwrapper *u, skr_released_key **out, skr_result *res)
{
	char path[PATH_MAX_LEN], *text = NULL, *body = NULL;
	json_t *req = NULL, *resp = NULL, *v;
	skr_enc e;
	int r;

	*out = NULL;
	if (u == NULL || (u->key == NULL && u->decrypt == NULL) ||
	    token == NULL)
		return SKR_ERR_INVAL;
	if (enc != NULL && skr_enc_parse(enc, &e) != SKR_OK)
		return SKR_ERR_ENC_UNSUPPORTED;
	SKR_GUARD(key_path(path, sizeof(path), name, version, "/release"));
	req = json_pack("{s:s}", "target", token);
	SKR_ENSURE(req != NULL, SKR_ERR_NOMEM);
	if (nonce != NULL)
		json_object_set_new(req, "nonce", json_string(nonce));
	if (enc != NULL)
		json_object_set_new(req, "enc", json_string(enc));
	SKR_ENSURE((body = json_dumps(req, JSON_COMPACT)) != NULL,
	    SKR_ERR_NOMEM);
	SKR_GUARD(skr_client_call(c, "POST", path, body, &text, res));
	if (skr_json_parse(text, strlen(text), 0, &resp) != SKR_OK ||
	    !json_is_string(v = json_object_get(resp, "value"))) {
		r = SKR_ERR_RESPONSE;
		goto out;
	}
	r = unpack_release(c, json_string_value(v), json_string_length(v),
	    nonce, u, out);
	if (r != SKR_OK && res != NULL) {
		snprintf(res->error_id, sizeof(res->error_id), "%s",
		    skr_err_id(r));
		snprintf(res->message, sizeof(res->message), "%s",
		    skr_strerror(r));
	}
out:
	json_decref(req);
	json_decref(resp);
	free(body);
	free(text);
	return r;
}

const char *
skr_released_key_kty(const skr_released_key *k)
{
	return k->kty;
}

const unsigned char *
skr_released_key_bytes(const skr_released_key *k, size_t *len)
{
	*len = k->bytes.len;
	return k->bytes.data;
}

EVP_PKEY *
skr_released_key_pkey(const skr_released_key *k)
{
	return skr_key_pkey(k->key);
}

const char *
skr_released_key_kid(const skr_released_key *k)
{
	return k->kid;
}

const char *
skr_released_key_attributes(const skr_released_key *k)
{
	return k->attributes;
}

void
skr_released_key_free(skr_released_key *k)
{
	if (k == NULL)
		return;
	skr_key_free(k->key);
	skr_buf_free(&k->bytes);
	free(k->kid);
	free(k->attributes);
	skr_freezero(k, sizeof(*k));
}

/* ---- the other routes ------------------------------------------------- */

static int
key_call(skr_client *c, const char *method, const char *name,
    const char *version, const char *suffix, const char *body, char **out,
    skr_result *res)
{
	char path[PATH_MAX_LEN];
	int r;

	if ((r = key_path(path, sizeof(path), name, version, suffix)) != SKR_OK)
		return r;
	return skr_client_call(c, method, path, body, out, res);
}

/* GET every page of a Key Vault list, following nextLink. */
static int
list_all(skr_client *c, const char *first, char **out, skr_result *res)
{
	json_t *all = json_array(), *page = NULL, *v, *link;
	char path[PATH_MAX_LEN], *text = NULL;
	size_t i, baselen = strlen(c->url);
	int r = SKR_OK, pages = 0;

	*out = NULL;
	snprintf(path, sizeof(path), "%s", first);
	while (all != NULL && pages++ < 10000) {
		SKR_GUARD(skr_client_call(c, "GET", path, NULL, &text, res));
		if (skr_json_parse(text, strlen(text), 0, &page) != SKR_OK) {
			r = SKR_ERR_RESPONSE;
			goto out;
		}
		json_array_foreach(json_object_get(page, "value"), i, v)
			json_array_append(all, v);
		link = json_object_get(page, "nextLink");
		if (!json_is_string(link))
			break;
		/* Only follow links back to the same server. */
		if (strncmp(json_string_value(link), c->url, baselen) != 0 ||
		    strlen(json_string_value(link)) - baselen >= sizeof(path)) {
			r = SKR_ERR_RESPONSE;
			goto out;
		}
		snprintf(path, sizeof(path), "%s", json_string_value(link) +
		    baselen);
		json_decref(page);
		page = NULL;
		free(text);
		text = NULL;
	}
	{
		json_t *wrapped = json_pack("{s:O}", "value", all);

		*out = wrapped != NULL ? json_dumps(wrapped, JSON_COMPACT) :
		    NULL;
		json_decref(wrapped);
	}
	r = *out != NULL ? SKR_OK : SKR_ERR_NOMEM;
out:
	json_decref(page);
	json_decref(all);
	free(text);
	return r;
}

int
skr_client_key_create(skr_client *c, const char *name, const char *params,
    char **out, skr_result *res)
{
	return key_call(c, "POST", name, NULL, "/create", params, out, res);
}

int
skr_client_key_import(skr_client *c, const char *name, const char *params,
    char **out, skr_result *res)
{
	return key_call(c, "PUT", name, NULL, "", params, out, res);
}

int
skr_client_key_get(skr_client *c, const char *name, const char *version,
    char **out, skr_result *res)
{
	return key_call(c, "GET", name, version, "", NULL, out, res);
}

int
skr_client_key_list(skr_client *c, char **out, skr_result *res)
{
	return list_all(c, "/keys?api-version=7.4", out, res);
}

int
skr_client_key_versions(skr_client *c, const char *name, char **out,
    skr_result *res)
{
	char path[PATH_MAX_LEN];
	int r;

	if ((r = key_path(path, sizeof(path), name, NULL, "/versions")) !=
	    SKR_OK)
		return r;
	return list_all(c, path, out, res);
}

int
skr_client_key_update(skr_client *c, const char *name, const char *version,
    const char *params, char **out, skr_result *res)
{
	return key_call(c, "PATCH", name, version, "", params, out, res);
}

int
skr_client_key_rotate(skr_client *c, const char *name, char **out,
    skr_result *res)
{
	return key_call(c, "POST", name, NULL, "/rotate", "{}", out, res);
}

int
skr_client_key_delete(skr_client *c, const char *name, char **out,
    skr_result *res)
{
	return key_call(c, "DELETE", name, NULL, "", NULL, out, res);
}

static int
deleted_call(skr_client *c, const char *method, const char *name,
    const char *suffix, char **out, skr_result *res)
{
	char path[PATH_MAX_LEN];

	if (name == NULL || strpbrk(name, "/?#%") != NULL)
		return SKR_ERR_KEY_NAME;
	snprintf(path, sizeof(path), "/deletedkeys/%s%s?api-version=7.4",
	    name, suffix);
	return skr_client_call(c, method, path, *suffix ? "{}" : NULL, out,
	    res);
}

int
skr_client_deleted_get(skr_client *c, const char *name, char **out,
    skr_result *res)
{
	return deleted_call(c, "GET", name, "", out, res);
}

int
skr_client_deleted_list(skr_client *c, char **out, skr_result *res)
{
	return list_all(c, "/deletedkeys?api-version=7.4", out, res);
}

int
skr_client_key_recover(skr_client *c, const char *name, char **out,
    skr_result *res)
{
	return deleted_call(c, "POST", name, "/recover", out, res);
}

int
skr_client_key_purge(skr_client *c, const char *name, skr_result *res)
{
	return deleted_call(c, "DELETE", name, "", NULL, res);
}

int
skr_client_key_backup(skr_client *c, const char *name, char **out,
    skr_result *res)
{
	return key_call(c, "POST", name, NULL, "/backup", "{}", out, res);
}

int
skr_client_key_restore(skr_client *c, const char *backup, char **out,
    skr_result *res)
{
	return skr_client_call(c, "POST", "/keys/restore?api-version=7.4",
	    backup, out, res);
}

int
skr_client_evaluate(skr_client *c, const char *name, const char *version,
    const char *token, const char *nonce, char **out, skr_result *res)
{
	json_t *req = json_pack("{s:s,s:s?}", "target", token, "nonce", nonce);
	char *body;
	int r;

	if (req == NULL || (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		json_decref(req);
		return SKR_ERR_NOMEM;
	}
	r = key_call(c, "POST", name, version, "/evaluate", body, out, res);
	free(body);
	json_decref(req);
	return r;
}

int
skr_client_nonce(skr_client *c, char **nonce, skr_result *res)
{
	json_t *o = NULL, *v;
	char *text = NULL;
	int r;

	*nonce = NULL;
	if ((r = skr_client_call(c, "GET", "/nonce", NULL, &text, res)) !=
	    SKR_OK)
		return r;
	if (skr_json_parse(text, strlen(text), 0, &o) == SKR_OK &&
	    json_is_string(v = json_object_get(o, "value")))
		*nonce = strdup(json_string_value(v));
	else
		r = SKR_ERR_RESPONSE;
	json_decref(o);
	free(text);
	return r == SKR_OK && *nonce == NULL ? SKR_ERR_NOMEM : r;
}

int
skr_client_token_create(skr_client *c, const char *params, char **out,
    skr_result *res)
{
	return skr_client_call(c, "POST", "/admin/tokens", params, out, res);
}

int
skr_client_token_list(skr_client *c, char **out, skr_result *res)
{
	return skr_client_call(c, "GET", "/admin/tokens", NULL, out, res);
}

int
skr_client_token_revoke(skr_client *c, const char *id, skr_result *res)
{
	char path[256];

	if (id == NULL || strpbrk(id, "/?#%") != NULL || strlen(id) > 64)
		return SKR_ERR_INVAL;
	snprintf(path, sizeof(path), "/admin/tokens/%s", id);
	return skr_client_call(c, "DELETE", path, NULL, NULL, res);
}

int
skr_client_authorities(skr_client *c, char **out, skr_result *res)
{
	return skr_client_call(c, "GET", "/admin/authorities", NULL, out, res);
}

int
skr_client_authority_refresh(skr_client *c, const char *issuer,
    skr_result *res)
{
	char *esc, path[PATH_MAX_LEN];
	CURL *h;
	int r;

	pthread_once(&curl_once, curl_init_once);
	if ((h = curl_easy_init()) == NULL)
		return SKR_ERR_NOMEM;
	esc = curl_easy_escape(h, issuer, 0);
	curl_easy_cleanup(h);
	if (esc == NULL)
		return SKR_ERR_NOMEM;
	snprintf(path, sizeof(path), "/admin/authorities/refresh?issuer=%s",
	    esc);
	curl_free(esc);
	r = skr_client_call(c, "POST", path, "{}", NULL, res);
	return r;
}

int
skr_client_audit_list(skr_client *c, const char *query, char **out,
    skr_result *res)
{
	char path[PATH_MAX_LEN];

	snprintf(path, sizeof(path), "/admin/audit%s%s", query && *query ?
	    "?" : "", query ? query : "");
	return skr_client_call(c, "GET", path, NULL, out, res);
}

int
skr_client_audit_verify(skr_client *c, char **out, skr_result *res)
{
	return skr_client_call(c, "GET", "/admin/audit/verify", NULL, out,
	    res);
}

int
skr_client_ready(skr_client *c, skr_result *res)
{
	return skr_client_call(c, "GET", "/readyz", NULL, NULL, res);
}
