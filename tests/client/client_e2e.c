/*
 * libskr against a real skrd (driven by tests/integration/test_client.sh):
 *
 *   client_e2e admin ISSUER                 every admin route, paging,
 *                                           roles, errors from the server
 *   client_e2e release NAME TOKEN WRAP.pem [NONCE]
 *                                           release (key, then callback),
 *                                           prints the key bytes in hex
 *   client_e2e threads NAME TOKEN WRAP.pem N
 *                                           N threads release at once on
 *                                           one client
 *   client_e2e expect ERRID CMD...          run CMD (release NAME TOKEN
 *                                           WRAP.pem [NONCE] | list) and
 *                                           require the error ERRID
 *
 * SKR_ADDR, SKR_CACERT, SKR_TOKEN, SKR_PIN, SKR_SIGNING_CERT and
 * SKR_SIGNING_CA configure the client as skrctl reads them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "check.h"
#include "skr/client.h"

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

static skr_client *
client_with(const char *bearer)
{
	skr_client_opts o;
	skr_client *c = NULL;
	int r;

	skr_client_opts_init(&o);
	o.url = env("SKR_ADDR");
	o.ca_file = env("SKR_CACERT");
	o.pin = env("SKR_PIN");
	o.bearer = bearer;
	o.signing_cert = env("SKR_SIGNING_CERT");
	o.signing_ca = env("SKR_SIGNING_CA");
	if (o.signing_cert == NULL && o.signing_ca == NULL)
		o.signing_ca = o.ca_file;
	o.timeout_ms = 30000;
	if ((r = skr_client_new(&o, &c)) != SKR_OK)
		fprintf(stderr, "skr_client_new: %s\n", skr_err_id(r));
	return c;
}

static json_t *
parse(const char *text)
{
	json_t *o = text != NULL ? json_loads(text, 0, NULL) : NULL;

	CHECK(o != NULL);
	return o;
}

static size_t
count(const char *list)
{
	json_t *o = parse(list);
	size_t n = json_array_size(json_object_get(o, "value"));

	json_decref(o);
	return n;
}

/* ---- admin ------------------------------------------------------------ */

static void
admin(const char *issuer)
{
	skr_client *c = client_with(env("SKR_TOKEN")), *anon, *reader;
	skr_result res;
	char *out = NULL, *backup = NULL, *n1 = NULL, *n2 = NULL, name[64];
	char *secret = NULL, id[80] = "";
	json_t *o;
	int r;

	if (c == NULL) {
		CHECK(c != NULL);
		return;
	}
	CHECK_OK(skr_client_health(c, &res));
	CHECK(res.http_status == 200);
	CHECK_OK(skr_client_ready(c, NULL));

	/* create, get, get a version, get what is not there */
	CHECK_OK(skr_client_key_create(c, "lib-plain", "{\"kty\":\"oct\","
	    "\"key_size\":256}", &out, &res));
	o = parse(out);
	CHECK(strstr(json_string_value(json_object_get(json_object_get(o,
	    "key"), "kid")), "/keys/lib-plain/") != NULL);
	json_decref(o);
	skr_free(out);
	CHECK_OK(skr_client_key_get(c, "lib-plain", NULL, &out, NULL));
	skr_free(out);
	CHECK_ERR(skr_client_key_get(c, "lib-nothing", NULL, &out, &res),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK(out == NULL && res.http_status == 404);
	CHECK_STR(res.error_id, "SKR.KEY.NOT_FOUND");
	CHECK_ERR(skr_client_key_get(c, "lib-plain",
	    "00000000000000000000000000000000", &out, &res),
	    SKR_ERR_VERSION_NOT_FOUND);
	CHECK_ERR(skr_client_key_create(c, "lib-bad", "{\"kty\":\"oct\","
	    "\"key_size\":100}", &out, &res), SKR_ERR_JWK_UNSUPPORTED);
	CHECK(res.http_status == 400);
	/* Key Vault's rule: exportable needs a policy. */
	CHECK_ERR(skr_client_key_create(c, "lib-bad", "{\"kty\":\"oct\","
	    "\"attributes\":{\"exportable\":true}}", &out, &res),
	    SKR_ERR_KEY_POLICY_REQUIRED);

	/* Enough keys for several pages (25 a page): the library follows
	 * nextLink. */
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "lib-page-%02d", i);
		CHECK_OK(skr_client_key_create(c, name, "{\"kty\":\"oct\","
		    "\"key_size\":128}", NULL, NULL));
	}
	CHECK_OK(skr_client_key_list(c, &out, NULL));
	CHECK(count(out) >= 31);
	skr_free(out);

	/* rotate, versions, update */
	CHECK_OK(skr_client_key_rotate(c, "lib-plain", &out, NULL));
	skr_free(out);
	CHECK_OK(skr_client_key_rotate(c, "lib-plain", &out, NULL));
	skr_free(out);
	CHECK_OK(skr_client_key_versions(c, "lib-plain", &out, NULL));
	CHECK(count(out) == 3);
	skr_free(out);
	CHECK_OK(skr_client_key_update(c, "lib-plain", NULL,
	    "{\"tags\":{\"team\":\"storage\"}}", &out, NULL));
	o = parse(out);
	CHECK_STR(json_string_value(json_object_get(json_object_get(o,
	    "tags"), "team")), "storage");
	json_decref(o);
	skr_free(out);

	/* backup, delete, deleted, recover, purge, restore */
	CHECK_OK(skr_client_key_backup(c, "lib-plain", &backup, NULL));
	CHECK(backup != NULL && strstr(backup, "\"value\"") != NULL);
	CHECK_OK(skr_client_key_delete(c, "lib-plain", &out, NULL));
	skr_free(out);
	CHECK_ERR(skr_client_key_get(c, "lib-plain", NULL, &out, NULL),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_OK(skr_client_deleted_get(c, "lib-plain", &out, NULL));
	skr_free(out);
	CHECK_OK(skr_client_deleted_list(c, &out, NULL));
	CHECK(out != NULL && strstr(out, "lib-plain") != NULL);
	skr_free(out);
	CHECK_OK(skr_client_key_recover(c, "lib-plain", &out, NULL));
	skr_free(out);
	CHECK_OK(skr_client_key_get(c, "lib-plain", NULL, &out, NULL));
	skr_free(out);
	CHECK_OK(skr_client_key_delete(c, "lib-plain", NULL, NULL));
	CHECK_OK(skr_client_key_purge(c, "lib-plain", &res));
	CHECK_ERR(skr_client_deleted_get(c, "lib-plain", &out, NULL),
	    SKR_ERR_KEY_NOT_FOUND);
	CHECK_OK(skr_client_key_restore(c, backup, &out, NULL));
	skr_free(out);
	CHECK_OK(skr_client_key_versions(c, "lib-plain", &out, NULL));
	CHECK(count(out) == 3);
	skr_free(out);
	skr_free(backup);

	/* nonces are fresh */
	CHECK_OK(skr_client_nonce(c, &n1, NULL));
	CHECK_OK(skr_client_nonce(c, &n2, NULL));
	CHECK(n1 != NULL && n2 != NULL && strcmp(n1, n2) != 0);
	skr_free(n1);
	skr_free(n2);

	/* tokens and roles */
	CHECK_OK(skr_client_token_create(c, "{\"roles\":[\"reader\"],"
	    "\"name\":\"lib-reader\"}", &out, NULL));
	o = parse(out);
	if (json_is_string(json_object_get(o, "token")))
		secret = strdup(json_string_value(json_object_get(o, "token")));
	snprintf(id, sizeof(id), "%s", json_is_string(json_object_get(o,
	    "id")) ? json_string_value(json_object_get(o, "id")) : "");
	json_decref(o);
	skr_free(out);
	CHECK(secret != NULL && id[0] != '\0');
	CHECK_OK(skr_client_token_list(c, &out, NULL));
	CHECK(out != NULL && strstr(out, id) != NULL);
	skr_free(out);
	reader = client_with(secret);
	CHECK_OK(skr_client_key_list(reader, &out, NULL));
	skr_free(out);
	CHECK_ERR(skr_client_key_create(reader, "lib-r", "{\"kty\":\"oct\"}",
	    &out, &res), SKR_ERR_AUTH_FORBIDDEN);
	CHECK(res.http_status == 403);
	CHECK_OK(skr_client_token_revoke(c, id, NULL));
	r = skr_client_key_list(reader, &out, &res);
	CHECK(r == SKR_ERR_AUTH_REVOKED || r == SKR_ERR_AUTH_INVALID);
	CHECK(res.http_status == 401);
	skr_client_free(reader);
	if (secret != NULL)
		skr_free(secret);

	/* no bearer at all: Key Vault's challenge */
	anon = client_with(NULL);
	CHECK_ERR(skr_client_key_list(anon, &out, &res), SKR_ERR_AUTH_MISSING);
	CHECK(res.http_status == 401);
	CHECK_OK(skr_client_health(anon, NULL));
	skr_client_free(anon);

	/* authorities and audit */
	CHECK_OK(skr_client_authorities(c, &out, NULL));
	CHECK(count(out) >= 1 && strstr(out, "\"issuer\"") != NULL);
	skr_free(out);
	CHECK_OK(skr_client_authority_refresh(c, issuer, &res));
	CHECK(res.http_status == 202);
	CHECK(skr_client_authority_refresh(c, "https://unknown.invalid/",
	    &res) != SKR_OK);
	CHECK(res.http_status >= 400);
	CHECK_OK(skr_client_audit_list(c, NULL, &out, NULL));
	CHECK(count(out) >= 1);
	skr_free(out);
	CHECK_OK(skr_client_audit_list(c, "event=key.create&maxresults=2",
	    &out, NULL));
	CHECK(count(out) == 2);
	skr_free(out);
	CHECK_OK(skr_client_audit_verify(c, &out, NULL));
	o = parse(out);
	CHECK(json_is_true(json_object_get(o, "ok")));
	json_decref(o);
	skr_free(out);

	/* the generic call */
	CHECK_OK(skr_client_call(c, "GET", "/healthz", NULL, &out, &res));
	CHECK(out != NULL && strstr(out, "ok") != NULL);
	skr_free(out);
	CHECK_ERR(skr_client_call(c, "GET", "/no/such/route", NULL, &out,
	    &res), SKR_ERR_NOT_FOUND);
	skr_client_free(c);
}

/* ---- release ---------------------------------------------------------- */

static char *
read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t n = 0;
	long len;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (s = calloc(1, (size_t)len + 1)))
		n = fread(s, 1, (size_t)len, f);
	fclose(f);
	while (s != NULL && n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static EVP_PKEY *
read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

static int
tpm_decrypt(void *ctx, const char *md, const unsigned char *in, size_t inlen,
    unsigned char *out, size_t *outlen)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(ctx, NULL);
	int ok;

	ok = pc != NULL && EVP_PKEY_decrypt_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md_name(pc, md, NULL) == 1 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, md, NULL) == 1 &&
	    EVP_PKEY_decrypt(pc, out, outlen, in, inlen) == 1;
	EVP_PKEY_CTX_free(pc);
	return ok ? 0 : -1;
}

static void
print_hex(const skr_released_key *k)
{
	const unsigned char *b;
	size_t n;

	b = skr_released_key_bytes(k, &n);
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

static int
release(int argc, char **argv, int print)
{
	skr_client *c = client_with(env("SKR_TOKEN"));
	const char *nonce = argc > 5 ? argv[5] : NULL;
	char *token = read_text(argv[3]);
	EVP_PKEY *wrap = read_key(argv[4]);
	skr_released_key *k = NULL, *k2 = NULL;
	const unsigned char *b1, *b2;
	skr_unwrapper u;
	skr_result res;
	size_t n1, n2;
	int r;

	if (c == NULL || token == NULL || wrap == NULL) {
		fprintf(stderr, "client_e2e: bad setup\n");
		return SKR_ERR_INVAL;
	}
	memset(&u, 0, sizeof(u));
	u.key = wrap;
	r = skr_client_release(c, argv[2], NULL, token, nonce, NULL, &u, &k,
	    &res);
	if (r != SKR_OK) {
		fprintf(stderr, "client_e2e: %s (%s)\n", res.error_id,
		    res.message);
		goto out;
	}
	if (print)
		print_hex(k);
	/* The same through an OAEP callback (no nonce: a server nonce is
	 * single use). */
	if (nonce == NULL) {
		memset(&u, 0, sizeof(u));
		u.decrypt = tpm_decrypt;
		u.ctx = wrap;
		u.modulus_len = (size_t)EVP_PKEY_get_size(wrap);
		CHECK_OK(r = skr_client_release(c, argv[2], NULL, token, NULL,
		    "RSA_AES_KEY_WRAP_256", &u, &k2, &res));
		if (r == SKR_OK) {
			b1 = skr_released_key_bytes(k, &n1);
			b2 = skr_released_key_bytes(k2, &n2);
			CHECK_MEM(b1, n1, b2, n2);
		}
	}
out:
	skr_released_key_free(k);
	skr_released_key_free(k2);
	EVP_PKEY_free(wrap);
	free(token);
	skr_client_free(c);
	return r;
}

struct job {
	skr_client *c;
	const char *name, *token;
	EVP_PKEY *wrap;
	unsigned char bytes[64];
	size_t n;
	int r;
};

static void *
release_thread(void *arg)
{
	struct job *j = arg;
	skr_released_key *k = NULL;
	skr_unwrapper u;
	const unsigned char *b;

	memset(&u, 0, sizeof(u));
	u.key = j->wrap;
	j->r = skr_client_release(j->c, j->name, NULL, j->token, NULL, NULL,
	    &u, &k, NULL);
	if (j->r == SKR_OK) {
		b = skr_released_key_bytes(k, &j->n);
		if (j->n <= sizeof(j->bytes))
			memcpy(j->bytes, b, j->n);
	}
	skr_released_key_free(k);
	return NULL;
}

static void
threads(int argc, char **argv)
{
	skr_client *c = client_with(NULL);
	char *token = read_text(argv[3]);
	EVP_PKEY *wrap = read_key(argv[4]);
	int n = argc > 5 ? atoi(argv[5]) : 8;
	struct job jobs[32];
	pthread_t t[32];

	CHECK(c != NULL && token != NULL && wrap != NULL && n > 0 && n <= 32);
	if (c == NULL || token == NULL || wrap == NULL || n <= 0 || n > 32)
		return;
	for (int i = 0; i < n; i++) {
		jobs[i] = (struct job){ c, argv[2], token, wrap, { 0 }, 0, -1 };
		CHECK(pthread_create(&t[i], NULL, release_thread, &jobs[i]) ==
		    0);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		CHECK_OK(jobs[i].r);
		CHECK_MEM(jobs[i].bytes, jobs[i].n, jobs[0].bytes, jobs[0].n);
	}
	EVP_PKEY_free(wrap);
	free(token);
	skr_client_free(c);
}

int
main(int argc, char **argv)
{
	skr_client *c;
	char *out = NULL;
	int r;

	if (argc >= 3 && strcmp(argv[1], "admin") == 0)
		admin(argv[2]);
	else if (argc >= 5 && strcmp(argv[1], "release") == 0)
		CHECK_OK(release(argc, argv, 1));
	else if (argc >= 5 && strcmp(argv[1], "threads") == 0)
		threads(argc, argv);
	else if (argc >= 4 && strcmp(argv[1], "expect") == 0) {
		if (strcmp(argv[3], "list") == 0) {
			c = client_with(env("SKR_TOKEN"));
			r = c != NULL ? skr_client_key_list(c, &out, NULL) :
			    SKR_ERR_INVAL;
			skr_free(out);
			skr_client_free(c);
		} else if (argc >= 7 && strcmp(argv[3], "release") == 0)
			r = release(argc - 2, argv + 2, 0);
		else
			return 2;
		if (strcmp(skr_err_id(r), argv[2]) != 0)
			fprintf(stderr, "client_e2e: got %s, want %s\n",
			    skr_err_id(r), argv[2]);
		CHECK_STR(skr_err_id(r), argv[2]);
	} else {
		fprintf(stderr, "usage: client_e2e admin ISSUER | release NAME "
		    "TOKEN WRAP [NONCE] | threads NAME TOKEN WRAP N | expect "
		    "ERRID (list | release NAME TOKEN WRAP [NONCE])\n");
		return 2;
	}
	return check_done();
}
