#include "server_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "authority.h"
#include "dispatch.h"
#include "json.h"
#include "pki.h"
#include "skr/error.h"

static void
die(const char *what, int r)
{
	fprintf(stderr, "server fixture: %s: %s (%s)\n", what,
	    skr_strerror(r), skr_err_id(r));
	exit(1);
}

/* The authority's key set in a file, read as skrd reads a `source =
 * /path` authority. */
static void
trust_authority(skr_test_server *t)
{
	skr_authority_config ac;
	const char *path = skr_test_path(t->st.dir, "authority-jwks.json");
	json_t *jwks;
	char *text;
	int r;

	if ((r = skr_testauth_new(SKR_TEST_ISSUER, "ES256", &t->ta)) != SKR_OK)
		die("test authority", r);
	jwks = skr_testauth_jwks_json(t->ta, SKR_TESTAUTH_JWKS_JWK);
	text = jwks != NULL ? json_dumps(jwks, JSON_COMPACT) : NULL;
	json_decref(jwks);
	if (text == NULL || skr_test_write_file(path, text) != 0)
		die(path, SKR_ERR_IO);
	free(text);
	memset(&ac, 0, sizeof(ac));
	ac.issuer = SKR_TEST_ISSUER;
	ac.source = SKR_AUTHORITY_FILE;
	ac.location = path;
	if ((r = skr_authorities_create(&t->srv.authorities)) != SKR_OK ||
	    (r = skr_authorities_add(t->srv.authorities, &ac)) != SKR_OK)
		die("authorities", r);
	if (skr_authorities_poll(t->srv.authorities) < 0 ||
	    !skr_authorities_ready(t->srv.authorities))
		die("authority key set", SKR_ERR_AUTHORITY);
}

static void
signing_key(skr_test_server *t)
{
	char pki[SKR_TEST_PATH_MAX];
	int r;

	snprintf(pki, sizeof(pki), "%s", skr_test_path(t->st.dir, "pki"));
	if (mkdir(pki, 0700) != 0)
		die(pki, SKR_ERR_IO);
	if ((r = skr_pki_init_dir(pki, "localhost")) != SKR_OK ||
	    (r = skr_pki_load_signing(pki, SKR_ALG_ES256, &t->srv.sign_key,
	    &t->srv.sign_header, NULL)) != SKR_OK)
		die("release signing", r);
	t->srv.sign_alg = SKR_ALG_ES256;
}

void
skr_test_server_make(skr_test_server *t, const char *what, unsigned flags)
{
	memset(t, 0, sizeof(*t));
	skr_test_store_make(&t->st, what, NULL);
	skr_server_init(&t->srv);
	t->srv.store = t->st.store;
	t->srv.clock_offset = 0;
	snprintf(t->srv.base_url, sizeof(t->srv.base_url), "%s",
	    SKR_TEST_BASE_URL);
	if (flags & SKR_TEST_SERVER_AUTHORITY)
		trust_authority(t);
	if (flags & SKR_TEST_SERVER_SIGNING)
		signing_key(t);
}

void
skr_test_server_free(skr_test_server *t)
{
	/* The server closes the store it serves from. */
	skr_server_clear(&t->srv);
	t->st.store = NULL;
	skr_test_store_free(&t->st);
	skr_testauth_free(t->ta);
	memset(t, 0, sizeof(*t));
}

int
skr_test_call(skr_server *srv, const skr_test_request *r,
    skr_response *resp)
{
	skr_request req;
	char path[2048], auth[256];
	const char *qm;
	size_t plen;
	int rc;

	skr_response_clear(resp);
	memset(&req, 0, sizeof(req));
	qm = strchr(r->target, '?');
	plen = qm != NULL ? (size_t)(qm - r->target) : strlen(r->target);
	if (plen >= sizeof(path))
		die(r->target, SKR_ERR_TOO_LARGE);
	memcpy(path, r->target, plen);
	path[plen] = '\0';
	req.method = r->method != NULL ? r->method : "GET";
	req.path = path;
	req.query = qm != NULL ? qm + 1 : NULL;
	if (r->body != NULL) {
		req.body = (const uint8_t *)r->body;
		req.body_len = strlen(r->body);
		req.content_type = r->content_type;
	}
	if (r->bearer != NULL) {
		snprintf(auth, sizeof(auth), "Bearer %s", r->bearer);
		req.authorization = auth;
	} else
		req.authorization = r->authorization;
	snprintf(req.peer, sizeof(req.peer), "%s", r->peer != NULL ? r->peer :
	    SKR_TEST_PEER);
	snprintf(req.request_id, sizeof(req.request_id), "%s",
	    r->request_id != NULL ? r->request_id : "test");
	req.now = r->now != 0 ? r->now : skr_server_now(srv);
	rc = skr_dispatch(srv, &req, resp);
	skr_wipe(&req.principal_buf, sizeof(req.principal_buf));
	return rc;
}

json_t *
skr_test_json(const skr_response *resp)
{
	json_t *o = NULL;

	if (resp->body.len == 0 || skr_json_parse((const char *)resp->body.data,
	    resp->body.len, 0, &o) != SKR_OK)
		return NULL;
	return o;
}

int
skr_test_is_error(const skr_response *resp, int err)
{
	json_t *o = skr_test_json(resp);
	const char *m, *id = skr_err_id(err);
	size_t n = strlen(id);
	int ok;

	m = json_string_value(skr_json_path(o, "error.message"));
	ok = resp->status == skr_err_http_status(err) && m != NULL &&
	    strncmp(m, id, n) == 0 && m[n] == ':' &&
	    json_is_string(skr_json_path(o, "error.code"));
	json_decref(o);
	return ok;
}
