/*
 * The key-management and admin API without sockets (docs/api.md): each
 * request goes through the route table, authentication and the handler
 * exactly as the HTTP layer runs them, against a real store in a temporary
 * directory.  Success paths of every route; every Key Vault rule;
 * every class of bad input refused with its stable id and the store left
 * unchanged; every way a bearer token can be wrong; the Key Vault challenge;
 * failure throttling; audit records of every change.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "audit.h"
#include "auth.h"
#include "check.h"
#include "dispatch.h"
#include "encoding.h"
#include "json.h"
#include "jwk.h"
#include "routes.h"
#include "server.h"
#include "server_fixture.h"
#include "store.h"

#define NOW 1700000000
#define BASE "https://skr.test:8443"
#define POLICY "{'version':'1.0.0','anyOf':[{'authority':'https://a.test'," \
	"'allOf':[{'claim':'x','equals':'y'}]}]}"
#define POLICY2 "{'version':'1.0.0','anyOf':[{'authority':'https://a.test'," \
	"'allOf':[{'claim':'x','equals':'z'}]}]}"

static skr_test_server fx;
static int64_t now = NOW;

/* The last response: status, parsed body (NULL if none), headers. */
static skr_response resp;
static json_t *J;
static int rc;

/* Bearer tokens of each kind. */
static char tok_admin[128], tok_oper[128], tok_reader[128], tok_auditor[128],
    tok_releaser[128], tok_scoped[128], tok_expiring[128], tok_revoked[128];
static char id_admin[33];
static const char *tok; /* the one requests carry; NULL: none */
static const char *peer = "192.0.2.1";

/* JSON with single quotes, for readable literals. */
static char *
q(const char *s)
{
	static char buf[4][64 * 1024];
	static int i;
	char *o = buf[i++ % 4];
	size_t n = strlen(s);

	if (n >= sizeof(buf[0]))
		abort();
	for (size_t k = 0; k <= n; k++)
		o[k] = s[k] == '\'' ? '"' : s[k];
	return o;
}

/* base64url of a JSON text written with single quotes. */
static const char *
b64q(const char *s)
{
	static char out[4][8192];
	static int i;
	skr_buf b = SKR_BUF_INIT;
	char *o = out[i++ % 4];

	if (skr_b64url_encode(&b, (const uint8_t *)q(s), strlen(s)) != SKR_OK ||
	    b.len >= sizeof(out[0]))
		abort();
	snprintf(o, sizeof(out[0]), "%s", skr_buf_cstr(&b));
	skr_buf_free(&b);
	return o;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt(const char *f, ...)
{
	static char buf[4][64 * 1024];
	static int i;
	char *o = buf[i++ % 4];
	va_list ap;

	va_start(ap, f);
	if (vsnprintf(o, sizeof(buf[0]), f, ap) >= (int)sizeof(buf[0]))
		abort();
	va_end(ap);
	return o;
}

/*
 * One request, through the dispatcher the HTTP layer uses.  target is the
 * path with an optional query.  Returns the HTTP status.
 */
static int
call_ct(const char *method, const char *target, const char *ctype,
    const char *body)
{
	skr_test_request r = { .method = method, .target = target,
	    .body = body, .content_type = ctype, .bearer = tok, .peer = peer,
	    .now = now };

	json_decref(J);
	rc = skr_test_call(&fx.srv, &r, &resp);
	J = skr_test_json(&resp);
	/* Nothing private in any answer. */
	if (J != NULL) {
		json_t *k = json_object_get(J, "key");

		CHECK(k == NULL || !json_is_object(k) || (json_object_get(k,
		    "d") == NULL && json_object_get(k, "k") == NULL &&
		    json_object_get(k, "p") == NULL));
	}
	return resp.status;
}

static int
call(const char *method, const char *target, const char *body)
{
	return call_ct(method, target, "application/json", body ? q(body) :
	    NULL);
}

static const char *
jstr(const char *path)
{
	const json_t *v = skr_json_path(J, path);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_int_t
jint(const char *path)
{
	return json_integer_value(skr_json_path(J, path));
}

/* The response is the error shape (docs/api.md) for err: the id at the
 * start of the message, the status of the one mapping. */
#define CHECK_FAIL(err) check_fail(__LINE__, (err))

static void
check_fail(int line, int err)
{
	int ok = skr_test_is_error(&resp, err) && rc == err;
	CHECK(ok);
	if (!ok)
		fprintf(stderr, "  line %d: status %d rc %s body %.*s, want %s\n",
		    line, resp.status, skr_err_id(rc), (int)(resp.body.len > 300 ?
		    300 : resp.body.len),
		    resp.body.data ? (const char *)resp.body.data : "",
		    skr_err_id(err));
}

#define CHECK_STATUS(want) check_status(__LINE__, (want))

static void
check_status(int line, int want)
{
	CHECK(resp.status == want);
	if (resp.status != want)
		fprintf(stderr, "  line %d: status %d, want %d: %.*s\n", line,
		    resp.status, want, (int)(resp.body.len > 300 ? 300 :
		    resp.body.len),
		    resp.body.data ? (const char *)resp.body.data : "");
}

static const char *
header(const char *name)
{
	for (size_t i = 0; i < resp.nheaders; i++)
		if (strcasecmp(resp.headers[i].name, name) == 0)
			return resp.headers[i].value;
	return NULL;
}

/* The version id of the last bundle (the kid's last segment). */
static const char *
kid_version(void)
{
	static char v[4][64];
	static int i;
	const char *kid = jstr("key.kid"), *s;
	char *o = v[i++ % 4];

	if (kid == NULL || (s = strrchr(kid, '/')) == NULL)
		return "";
	snprintf(o, sizeof(v[0]), "%s", s + 1);
	return o;
}

/*
 * What must not change when a request is refused: the counts, the audit
 * chain head (every change is audited in its own transaction) and every
 * key's latest version with its attributes.
 */
static char *
snapshot(void)
{
	skr_store_stats st;
	skr_version_page pg;
	skr_txn *txn = NULL;
	char hash[SKR_AUDIT_HASH_HEX + 1];
	uint64_t seq = 0;
	skr_buf b = SKR_BUF_INIT;

	memset(&pg, 0, sizeof(pg));
	if (skr_store_stats_get(fx.srv.store, &st) != SKR_OK ||
	    skr_store_txn_begin(fx.srv.store, SKR_TXN_READ, &txn) != SKR_OK ||
	    skr_audit_head(txn, &seq, hash) != SKR_OK ||
	    skr_store_key_list(txn, NULL, NULL, SKR_PAGE_MAX, &pg) != SKR_OK)
		abort();
	skr_buf_appendf(&b, "%llu %llu %llu %llu %llu %s|",
	    (unsigned long long)st.keys, (unsigned long long)st.versions,
	    (unsigned long long)st.deleted, (unsigned long long)st.tokens,
	    (unsigned long long)seq, hash);
	for (size_t i = 0; i < pg.n; i++) {
		char *tags = json_dumps(pg.items[i].tags, JSON_SORT_KEYS);

		skr_buf_appendf(&b, "%s/%s %d %lld %lld %lld %d %s %s|",
		    pg.items[i].name, pg.items[i].version,
		    pg.items[i].attrs.enabled,
		    (long long)pg.items[i].attrs.nbf,
		    (long long)pg.items[i].attrs.exp,
		    (long long)pg.items[i].attrs.updated,
		    pg.items[i].attrs.exportable, tags ? tags : "",
		    pg.items[i].policy ? pg.items[i].policy : "-");
		free(tags);
	}
	skr_version_page_clear(&pg);
	skr_store_txn_abort(txn);
	return (char *)skr_buf_steal(&b, NULL);
}

/* A refused request: its error id, and nothing stored changed. */
#define REFUSED(err, method, target, body)                                  \
	refused(__LINE__, (err), (method), (target), "application/json",      \
	    (body) ? q(body) : NULL)
#define REFUSED_CT(err, method, target, ctype, body)                        \
	refused(__LINE__, (err), (method), (target), (ctype), (body))

static void
refused(int line, int err, const char *method, const char *target,
    const char *ctype, const char *body)
{
	char *before = snapshot(), *after;

	call_ct(method, target, ctype, body);
	check_fail(line, err);
	after = snapshot();
	CHECK(strcmp(before, after) == 0);
	if (strcmp(before, after) != 0)
		fprintf(stderr, "  line %d: the store changed\n", line);
	free(before);
	free(after);
}

/* ---- setup ---------------------------------------------------------- */

static void
make_token(const char *name, unsigned roles, const char *prefix,
    int64_t expires, char *out, char *idout)
{
	skr_test_token(fx.srv.store, name, roles, prefix, NOW, expires, out,
	    idout);
}

static void
setup(void)
{
	char revoked_id[33];
	skr_txn *txn = NULL;

	skr_test_server_make(&fx, "api", 0);
	skr_response_init(&resp);

	make_token("admin", SKR_ROLE_ADMIN, NULL, 0, tok_admin, id_admin);
	make_token("oper", SKR_ROLE_OPERATOR, NULL, 0, tok_oper, NULL);
	make_token("reader", SKR_ROLE_READER, NULL, 0, tok_reader, NULL);
	make_token("auditor", SKR_ROLE_AUDITOR, NULL, 0, tok_auditor, NULL);
	make_token("releaser", SKR_ROLE_RELEASER, NULL, 0, tok_releaser, NULL);
	make_token("scoped", SKR_ROLE_OPERATOR, "team-a-", 0, tok_scoped, NULL);
	make_token("expiring", SKR_ROLE_ADMIN, NULL, NOW + 100, tok_expiring,
	    NULL);
	make_token("revoked", SKR_ROLE_ADMIN, NULL, 0, tok_revoked,
	    revoked_id);
	if (skr_store_txn_begin(fx.srv.store, SKR_TXN_WRITE, &txn) != SKR_OK ||
	    skr_store_token_revoke(txn, revoked_id, NOW) != SKR_OK ||
	    skr_store_txn_commit(txn) != SKR_OK)
		abort();
	tok = tok_admin;
}

static void
teardown(void)
{
	json_decref(J);
	skr_response_clear(&resp);
	skr_buf_free(&resp.body);
	skr_test_server_free(&fx);
}

/* ---- key management: success paths ----------------------------------- */

static void
test_create(void)
{
	static const struct {
		const char *name, *body, *kty;
		int bits;
	} ok[] = {
		{ "rsa1", "{'kty':'RSA','key_size':2048}", "RSA-HSM", 2048 },
		{ "ec256", "{'kty':'EC','crv':'P-256'}", "EC-HSM", 256 },
		{ "ec384", "{'kty':'EC-HSM','crv':'P-384','key_size':384}",
		    "EC-HSM", 384 },
		{ "ec521", "{'kty':'EC','crv':'P-521'}", "EC-HSM", 521 },
		{ "ecdefault", "{'kty':'EC'}", "EC-HSM", 256 },
		{ "oct128", "{'kty':'oct','key_size':128}", "oct-HSM", 128 },
		{ "oct192", "{'kty':'oct-HSM','key_size':192}", "oct-HSM", 192 },
		{ "oct256", "{'kty':'oct-HSM'}", "oct-HSM", 256 },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		call("POST", fmt("/keys/%s/create", ok[i].name), ok[i].body);
		CHECK_STATUS(200);
		CHECK_STR(jstr("key.kty"), ok[i].kty);
		CHECK(strncmp(jstr("key.kid") ? jstr("key.kid") : "",
		    fmt(BASE "/keys/%s/", ok[i].name),
		    strlen(BASE "/keys//") + strlen(ok[i].name)) == 0);
		CHECK(strlen(kid_version()) == 32 &&
		    strspn(kid_version(), "0123456789abcdef") == 32);
		CHECK(json_is_true(skr_json_path(J, "attributes.enabled")));
		CHECK(json_is_false(skr_json_path(J, "attributes.exportable")));
		CHECK(jint("attributes.created") == NOW);
		CHECK(jint("attributes.updated") == NOW);
		CHECK(jstr("attributes.recoveryLevel") != NULL);
		CHECK(json_is_object(json_object_get(J, "tags")));
		CHECK(json_object_get(J, "release_policy") == NULL);
		CHECK(json_is_array(skr_json_path(J, "key.key_ops")));
	}
	/* A create needs its body. */
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/keys/nobody/create", NULL);

	/* Public parts by type. */
	call("GET", "/keys/rsa1", NULL);
	CHECK_STR(jstr("key.e"), "AQAB");
	CHECK(jstr("key.n") != NULL && strlen(jstr("key.n")) == 342);
	call("GET", "/keys/ec384", NULL);
	CHECK_STR(jstr("key.crv"), "P-384");
	CHECK(jstr("key.x") != NULL && jstr("key.y") != NULL);

	/* Everything a create may set. */
	call("POST", "/keys/full/create", fmt("{'kty':'oct','key_size':256,"
	    "'key_ops':['wrapKey','unwrapKey'],'attributes':{'enabled':false,"
	    "'nbf':%d,'exp':%d,'exportable':true},'tags':{'env':'test',"
	    "'team':'a'},'release_policy':{'contentType':'application/json; "
	    "charset=utf-8','data':'%s','immutable':false}}", NOW - 10,
	    NOW + 1000, b64q(POLICY)));
	CHECK_STATUS(200);
	CHECK(json_is_false(skr_json_path(J, "attributes.enabled")));
	CHECK(jint("attributes.nbf") == NOW - 10);
	CHECK(jint("attributes.exp") == NOW + 1000);
	CHECK(json_is_true(skr_json_path(J, "attributes.exportable")));
	CHECK_STR(jstr("tags.env"), "test");
	CHECK_STR(jstr("release_policy.data"), b64q(POLICY));
	CHECK_STR(jstr("release_policy.contentType"),
	    "application/json; charset=utf-8");
	CHECK(json_is_false(skr_json_path(J, "release_policy.immutable")));
	CHECK(json_array_size(skr_json_path(J, "key.key_ops")) == 2);

	/* Unknown top-level members are ignored, as Key Vault clients send
	 * members of their own; a second create adds a version. */
	call("POST", "/keys/ec256/create", "{'kty':'EC','crv':'P-256',"
	    "'hsm':true,'x-client':{'a':1}}");
	CHECK_STATUS(200);
	call("GET", "/keys/ec256/versions", NULL);
	CHECK(json_array_size(json_object_get(J, "value")) == 2);
	/* Names are case-insensitive; the case given first is kept. */
	call("GET", "/keys/EC256", NULL);
	CHECK_STATUS(200);
	CHECK(strstr(jstr("key.kid") ? jstr("key.kid") : "", "/keys/ec256/")
	    != NULL);
	/* A standard-base64 policy (padded) is accepted too and reported
	 * as base64url. */
	{
		skr_buf b = SKR_BUF_INIT;

		CHECK_OK(skr_b64_encode(&b, (const uint8_t *)q(POLICY),
		    strlen(POLICY)));
		CHECK(strchr(skr_buf_cstr(&b), '=') != NULL);
		call("POST", "/keys/std64/create", fmt("{'kty':'oct',"
		    "'attributes':{'exportable':true},'release_policy':"
		    "{'data':'%s'}}", skr_buf_cstr(&b)));
		CHECK_STATUS(200);
		CHECK_STR(jstr("release_policy.data"), b64q(POLICY));
		skr_buf_free(&b);
	}
}

/* A private JWK of a key made here, and its public n for comparison. */
static json_t *
fresh_jwk(skr_kty kty, int bits)
{
	skr_key *k = NULL;
	json_t *j;

	if (skr_key_generate(kty, bits, &k) != SKR_OK)
		abort();
	j = skr_jwk_emit(k, 1);
	skr_key_free(k);
	return j;
}

static void
test_import(void)
{
	json_t *rsa = fresh_jwk(SKR_KTY_RSA, 2048), *ec;
	char *text, *body;

	/* Known oct bytes, with a kid of its own that the version id
	 * replaces. */
	call("PUT", "/keys/imp-oct", fmt("{'key':{'kty':'oct','k':"
	    "'ABEiM0RVZneImaq7zN3u_wEjRWeJq83v_ty6mHZUMhA','kid':'elsewhere'},"
	    "'attributes':{'exportable':true},'release_policy':{'data':'%s'},"
	    "'hsm':true}", b64q(POLICY)));
	CHECK_STATUS(200);
	CHECK_STR(jstr("key.kty"), "oct-HSM");
	CHECK(strstr(jstr("key.kid") ? jstr("key.kid") : "", "elsewhere") ==
	    NULL);
	CHECK(json_is_true(skr_json_path(J, "attributes.exportable")));

	text = json_dumps(rsa, JSON_COMPACT);
	body = fmt("{\"key\":%s,\"tags\":{\"src\":\"hsm\"}}", text);
	call_ct("PUT", "/keys/imp-rsa", "application/json", body);
	CHECK_STATUS(200);
	CHECK_STR(jstr("key.kty"), "RSA-HSM");
	CHECK_STR(jstr("key.n"), json_string_value(json_object_get(rsa, "n")));
	CHECK_STR(jstr("tags.src"), "hsm");
	free(text);

	ec = fresh_jwk(SKR_KTY_EC, 384);
	text = json_dumps(ec, JSON_COMPACT);
	call_ct("PUT", "/keys/imp-ec", "application/json; charset=utf-8",
	    fmt("{\"key\":%s}", text));
	CHECK_STATUS(200);
	CHECK_STR(jstr("key.crv"), "P-384");
	free(text);

	/* Without the private part, with a broken one, a weak one. */
	json_object_del(ec, "d");
	text = json_dumps(ec, JSON_COMPACT);
	REFUSED_CT(SKR_ERR_KEY_NO_PRIVATE, "PUT", "/keys/imp-x",
	    "application/json", fmt("{\"key\":%s}", text));
	free(text);
	json_object_set_new(rsa, "d", json_string("AQAB"));
	text = json_dumps(rsa, JSON_COMPACT);
	REFUSED_CT(SKR_ERR_JWK_INVALID, "PUT", "/keys/imp-x",
	    "application/json", fmt("{\"key\":%s}", text));
	free(text);
	REFUSED(SKR_ERR_JWK_INVALID, "PUT", "/keys/imp-x", "{'key':'oct'}");
	REFUSED(SKR_ERR_JWK_INVALID, "PUT", "/keys/imp-x", "{'tags':{}}");
	REFUSED(SKR_ERR_JWK_UNSUPPORTED, "PUT", "/keys/imp-x",
	    "{'key':{'kty':'oct','k':'AAAA'}}");
	REFUSED(SKR_ERR_JWK_UNSUPPORTED, "PUT", "/keys/imp-x",
	    "{'key':{'kty':'DES','k':'AAAAAAAAAAAAAAAAAAAAAA'}}");
	REFUSED(SKR_ERR_KEY_POLICY_REQUIRED, "PUT", "/keys/imp-x",
	    "{'key':{'kty':'oct','k':'AAAAAAAAAAAAAAAAAAAAAA'},"
	    "'attributes':{'exportable':true}}");
	json_decref(rsa);
	json_decref(ec);
}

static void
test_get(void)
{
	const char *v1, *v2;

	call("POST", "/keys/getme/create", "{'kty':'oct','tags':{'n':'1'}}");
	v1 = kid_version();
	call("POST", "/keys/getme/create", "{'kty':'oct','tags':{'n':'2'}}");
	v2 = kid_version();
	CHECK(strcmp(v1, v2) != 0);

	call("GET", "/keys/getme", NULL);
	CHECK_STATUS(200);
	CHECK_STR(kid_version(), v2);
	call("GET", "/keys/getme/", NULL);
	CHECK_STR(kid_version(), v2);
	call("GET", fmt("/keys/getme/%s", v1), NULL);
	CHECK_STR(kid_version(), v1);
	CHECK_STR(jstr("tags.n"), "1");
	call("GET", fmt("/keys/getme/%s?api-version=7.4", v1), NULL);
	CHECK_STATUS(200);

	call("GET", "/keys/nosuchkey", NULL);
	CHECK_FAIL(SKR_ERR_KEY_NOT_FOUND);
	call("GET", "/keys/getme/0123456789abcdef0123456789abcdef", NULL);
	CHECK_FAIL(SKR_ERR_VERSION_NOT_FOUND);
	call("GET", "/keys/getme/nothex", NULL);
	CHECK_FAIL(SKR_ERR_VERSION_NOT_FOUND);
	call("GET", "/keys/bad_name", NULL);
	CHECK_FAIL(SKR_ERR_KEY_NAME);
	call("GET", fmt("/keys/%0128d", 0), NULL);
	CHECK_FAIL(SKR_ERR_KEY_NAME);
}

/* Follow nextLink pages of a list; returns the number of items. */
static size_t
walk_pages(const char *first, size_t per_page, int *pages)
{
	char target[2048];
	size_t total = 0;
	const char *next;

	snprintf(target, sizeof(target), "%s", first);
	*pages = 0;
	for (;;) {
		call("GET", target, NULL);
		if (resp.status != 200)
			return (size_t)-1;
		(*pages)++;
		CHECK(json_array_size(json_object_get(J, "value")) <= per_page);
		total += json_array_size(json_object_get(J, "value"));
		next = jstr("nextLink");
		if (next == NULL) {
			CHECK(json_is_null(json_object_get(J, "nextLink")));
			break;
		}
		/* A full URL on this server with an opaque skiptoken. */
		CHECK(strncmp(next, BASE "/", strlen(BASE) + 1) == 0);
		CHECK(strstr(next, "$skiptoken=") != NULL);
		snprintf(target, sizeof(target), "%s", next + strlen(BASE));
		if (*pages > 100)
			break;
	}
	return total;
}

static void
test_list(void)
{
	char *before;
	size_t total;
	int pages;

	for (int i = 0; i < 5; i++)
		call("POST", fmt("/keys/page-%d/create", i), "{'kty':'oct'}");
	call("GET", "/keys", NULL);
	CHECK_STATUS(200);
	total = json_array_size(json_object_get(J, "value"));
	CHECK(total >= 5 && total <= 25);
	/* Items: kid without version, attributes, tags; no key material. */
	CHECK(jstr("value.0.kid") == NULL); /* skr_json_path has no index */
	{
		json_t *it = json_array_get(json_object_get(J, "value"), 0);

		CHECK(json_is_string(json_object_get(it, "kid")));
		CHECK(json_is_object(json_object_get(it, "attributes")));
		CHECK(json_is_object(json_object_get(it, "tags")));
		CHECK(json_object_get(it, "key") == NULL);
	}
	CHECK(walk_pages("/keys?maxresults=2", 2, &pages) == total);
	CHECK(pages == (int)(total + 1) / 2);
	CHECK(walk_pages("/keys?maxresults=1&api-version=7.4", 1, &pages) ==
	    total);
	CHECK(walk_pages("/keys?maxresults=25", 25, &pages) == total);

	for (int i = 0; i < 4; i++)
		call("POST", "/keys/page-0/create", "{'kty':'oct'}");
	CHECK(walk_pages("/keys/page-0/versions?maxresults=2", 2, &pages) ==
	    5);
	CHECK(pages == 3);
	call("GET", "/keys/page-0/versions", NULL);
	CHECK(json_array_size(json_object_get(J, "value")) == 5);
	CHECK(strstr(json_string_value(json_object_get(json_array_get(
	    json_object_get(J, "value"), 0), "kid")), "/keys/page-0/") != NULL);

	before = snapshot();
	call("GET", "/keys?maxresults=0", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/keys?maxresults=26", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/keys?maxresults=ten", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/keys?maxresults=", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/keys?maxresults=-1", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/keys?$skiptoken=forged", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/keys/page-0/versions?$skiptoken=forged", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/keys/nosuchkey/versions", NULL);
	CHECK_FAIL(SKR_ERR_KEY_NOT_FOUND);
	call("GET", "/keys/bad_name/versions", NULL);
	CHECK_FAIL(SKR_ERR_KEY_NAME);
	call("GET", "/keys?maxresults=%zz", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	{
		char *after = snapshot();

		CHECK(strcmp(before, after) == 0);
		free(after);
	}
	free(before);
}

/* The $skiptoken of a nextLink, base64url-decoded, holds none of the
 * text in needle (the sealed marker shows nothing of its position). */
static int
skiptoken_hides(const char *link, const char *needle)
{
	const char *t = strstr(link, "$skiptoken=");
	skr_buf raw = SKR_BUF_INIT;
	int hidden;

	if (t == NULL)
		return 0;
	t += strlen("$skiptoken=");
	if (skr_b64url_decode(&raw, t, strcspn(t, "&")) != SKR_OK) {
		skr_buf_free(&raw);
		return 0;
	}
	hidden = memmem(raw.data, raw.len, needle, strlen(needle)) == NULL;
	skr_buf_free(&raw);
	return hidden;
}

static void
test_update(void)
{
	const char *v1, *v2;

	call("POST", "/keys/upd/create", fmt("{'kty':'oct','attributes':"
	    "{'exportable':true},'release_policy':{'data':'%s'},'tags':"
	    "{'a':'1'}}", b64q(POLICY)));
	v1 = kid_version();
	now += 5;
	call("PATCH", "/keys/upd", fmt("{'attributes':{'enabled':false,'nbf':%d,"
	    "'exp':%d},'tags':{'b':'2'},'key_ops':['wrapKey']}", NOW, NOW +
	    500));
	CHECK_STATUS(200);
	CHECK(json_is_false(skr_json_path(J, "attributes.enabled")));
	CHECK(jint("attributes.nbf") == NOW);
	CHECK(jint("attributes.exp") == NOW + 500);
	CHECK(jint("attributes.updated") == now);
	CHECK(jint("attributes.created") == NOW);
	CHECK(jstr("tags.a") == NULL && jstr("tags.b") != NULL);
	CHECK(json_array_size(skr_json_path(J, "key.key_ops")) == 1);
	/* Read-only attributes a client echoes back are ignored. */
	call("PATCH", "/keys/upd", "{'attributes':{'enabled':true,'created':1,"
	    "'updated':2,'recoveryLevel':'Purgeable','exportable':true}}");
	CHECK_STATUS(200);
	CHECK(jint("attributes.created") == NOW);
	/* The policy may change while it is mutable. */
	call("PATCH", "/keys/upd", fmt("{'release_policy':{'data':'%s'}}",
	    b64q(POLICY2)));
	CHECK_STATUS(200);
	CHECK_STR(jstr("release_policy.data"), b64q(POLICY2));
	/* A version by id; the other version is untouched. */
	call("POST", "/keys/upd/create", fmt("{'kty':'oct','attributes':"
	    "{'exportable':true},'release_policy':{'data':'%s'}}",
	    b64q(POLICY)));
	v2 = kid_version();
	call("PATCH", fmt("/keys/upd/%s", v1), "{'tags':{'old':'yes'}}");
	CHECK_STATUS(200);
	CHECK_STR(kid_version(), v1);
	call("GET", fmt("/keys/upd/%s", v2), NULL);
	CHECK(jstr("tags.old") == NULL);
	call("PATCH", "/keys/upd/0123456789abcdef0123456789abcdef",
	    "{'tags':{}}");
	CHECK_FAIL(SKR_ERR_VERSION_NOT_FOUND);
	call("PATCH", "/keys/nosuchkey", "{'tags':{}}");
	CHECK_FAIL(SKR_ERR_KEY_NOT_FOUND);
	now = NOW;
}

static void
test_rotate(void)
{
	const char *v1;

	call("POST", "/keys/rot/create", fmt("{'kty':'EC','crv':'P-384',"
	    "'key_ops':['sign'],'attributes':{'exportable':true},'tags':"
	    "{'t':'1'},'release_policy':{'data':'%s','immutable':true}}",
	    b64q(POLICY)));
	v1 = kid_version();
	call("POST", "/keys/rot/rotate", NULL);
	CHECK_STATUS(200);
	CHECK(strcmp(kid_version(), v1) != 0);
	CHECK_STR(jstr("key.kty"), "EC-HSM");
	CHECK_STR(jstr("key.crv"), "P-384");
	CHECK_STR(jstr("tags.t"), "1");
	CHECK(json_is_true(skr_json_path(J, "attributes.exportable")));
	CHECK_STR(jstr("release_policy.data"), b64q(POLICY));
	CHECK(json_is_true(skr_json_path(J, "release_policy.immutable")));
	CHECK(json_array_size(skr_json_path(J, "key.key_ops")) == 1);
	call("GET", "/keys/rot/versions", NULL);
	CHECK(json_array_size(json_object_get(J, "value")) == 2);
	/* Key Vault's rotate takes no body; an empty JSON object is fine. */
	call("POST", "/keys/rot/rotate", "{}");
	CHECK_STATUS(200);
	/* RSA keeps its size. */
	call("POST", "/keys/rsa1/rotate", NULL);
	CHECK_STATUS(200);
	CHECK_STR(jstr("key.kty"), "RSA-HSM");
	CHECK(jstr("key.n") != NULL && strlen(jstr("key.n")) == 342);

	REFUSED(SKR_ERR_KEY_NOT_FOUND, "POST", "/keys/nosuchkey/rotate", NULL);
	REFUSED(SKR_ERR_KEY_NAME, "POST", "/keys/bad_name/rotate", NULL);
}

static void
test_lifecycle(void)
{
	const char *v1;
	char backup[16384], tampered[16384];
	size_t n;

	call("POST", "/keys/life/create", fmt("{'kty':'oct','attributes':"
	    "{'exportable':true},'release_policy':{'data':'%s'}}",
	    b64q(POLICY)));
	v1 = kid_version();
	call("POST", "/keys/life/backup", NULL);
	CHECK_STATUS(200);
	CHECK(jstr("value") != NULL && strlen(jstr("value")) > 40);
	snprintf(backup, sizeof(backup), "%s", jstr("value") ?
	    jstr("value") : "");
	/* The backup holds ciphertext only: the JSON never carries k. */
	CHECK(strstr((const char *)resp.body.data, "\"k\"") == NULL);

	call("DELETE", "/keys/life", NULL);
	CHECK_STATUS(200);
	CHECK_STR(jstr("recoveryId"), BASE "/deletedkeys/life");
	CHECK(jint("deletedDate") == NOW);
	CHECK(jint("scheduledPurgeDate") == NOW + fx.srv.retention);
	CHECK_STR(kid_version(), v1);
	call("GET", "/keys/life", NULL);
	CHECK_FAIL(SKR_ERR_KEY_NOT_FOUND);
	REFUSED(SKR_ERR_KEY_DELETED, "POST", "/keys/life/create",
	    "{'kty':'oct'}");
	REFUSED(SKR_ERR_KEY_NOT_FOUND, "DELETE", "/keys/life", NULL);

	call("GET", "/deletedkeys/life", NULL);
	CHECK_STATUS(200);
	CHECK_STR(jstr("recoveryId"), BASE "/deletedkeys/life");
	call("GET", "/deletedkeys", NULL);
	CHECK_STATUS(200);
	CHECK(json_array_size(json_object_get(J, "value")) == 1);
	{
		json_t *it = json_array_get(json_object_get(J, "value"), 0);

		CHECK_STR(json_string_value(json_object_get(it, "recoveryId")),
		    BASE "/deletedkeys/life");
		CHECK(json_integer_value(json_object_get(it,
		    "scheduledPurgeDate")) == NOW + fx.srv.retention);
		CHECK(json_integer_value(json_object_get(it, "deletedDate")) ==
		    NOW);
	}
	call("GET", "/deletedkeys/rsa1", NULL);
	CHECK_FAIL(SKR_ERR_KEY_NOT_FOUND);

	call("POST", "/deletedkeys/life/recover", NULL);
	CHECK_STATUS(200);
	CHECK_STR(kid_version(), v1);
	call("GET", "/keys/life", NULL);
	CHECK_STATUS(200);
	REFUSED(SKR_ERR_KEY_NOT_FOUND, "POST", "/deletedkeys/life/recover",
	    NULL);
	REFUSED(SKR_ERR_KEY_NOT_FOUND, "DELETE", "/deletedkeys/life", NULL);

	call("DELETE", "/keys/life", NULL);
	call("DELETE", "/deletedkeys/life", NULL);
	CHECK_STATUS(204);
	CHECK(resp.body.len == 0);
	call("GET", "/deletedkeys/life", NULL);
	CHECK_FAIL(SKR_ERR_KEY_NOT_FOUND);
	call("GET", "/keys/life", NULL);
	CHECK_FAIL(SKR_ERR_KEY_NOT_FOUND);

	/* Restore: tampered, not base64url, wrong shape, then the real one,
	 * then again over the restored key. */
	n = strlen(backup);
	snprintf(tampered, sizeof(tampered), "%s", backup);
	tampered[n / 2] = tampered[n / 2] == 'A' ? 'B' : 'A';
	REFUSED(SKR_ERR_BACKUP_INVALID, "POST", "/keys/restore",
	    fmt("{'value':'%s'}", tampered));
	REFUSED(SKR_ERR_BACKUP_INVALID, "POST", "/keys/restore",
	    "{'value':'not*base64'}");
	REFUSED(SKR_ERR_BACKUP_INVALID, "POST", "/keys/restore",
	    "{'value':''}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/keys/restore", "{'value':1}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/keys/restore", "{}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/keys/restore", "[]");
	REFUSED(SKR_ERR_JSON, "POST", "/keys/restore", "{'value':");
	call("POST", "/keys/restore", fmt("{'value':'%s'}", backup));
	CHECK_STATUS(200);
	CHECK_STR(jstr("key.kid"), fmt(BASE "/keys/life/%s", v1));
	CHECK(json_is_true(skr_json_path(J, "attributes.exportable")));
	CHECK_STR(jstr("release_policy.data"), b64q(POLICY));
	REFUSED(SKR_ERR_KEY_CONFLICT, "POST", "/keys/restore",
	    fmt("{'value':'%s'}", backup));

	/* Past scheduledPurgeDate a deleted key is gone: hidden at once,
	 * purged by the next write (named in its audit record), its name
	 * free again. */
	call("POST", "/keys/expiring/create", "{'kty':'oct'}");
	call("DELETE", "/keys/expiring", NULL);
	CHECK_STATUS(200);
	now = NOW + fx.srv.retention;
	call("GET", "/deletedkeys/expiring", NULL);
	CHECK_FAIL(SKR_ERR_KEY_NOT_FOUND);
	call("GET", "/deletedkeys", NULL);
	CHECK(json_array_size(json_object_get(J, "value")) == 0);
	REFUSED(SKR_ERR_KEY_NOT_FOUND, "POST", "/deletedkeys/expiring/recover",
	    NULL);
	call("POST", "/keys/expiring/create", "{'kty':'oct'}");
	CHECK_STATUS(200);
	call("GET", "/admin/audit?key=expiring&event=key.create", NULL);
	CHECK(json_array_size(json_object_get(J, "value")) == 2);
	CHECK(json_integer_value(skr_json_path(json_array_get(json_object_get(J,
	    "value"), 1), "detail.expired_purged")) == 1);
	now = NOW;

	REFUSED(SKR_ERR_KEY_NOT_FOUND, "POST", "/keys/nosuchkey/backup", NULL);
	REFUSED(SKR_ERR_KEY_NAME, "POST", "/keys/bad_name/backup", NULL);
	REFUSED(SKR_ERR_KEY_NAME, "DELETE", "/keys/bad_name", NULL);
	REFUSED(SKR_ERR_KEY_NAME, "GET", "/deletedkeys/bad_name", NULL);
}

/* ---- Key Vault's rules ------------------------------------------------ */

static void
test_kv_rules(void)
{
	REFUSED(SKR_ERR_KEY_POLICY_REQUIRED, "POST", "/keys/x/create",
	    "{'kty':'oct','attributes':{'exportable':true}}");
	REFUSED(SKR_ERR_KEY_POLICY_REQUIRED, "POST", "/keys/x/create",
	    "{'kty':'oct','attributes':{'exportable':true},"
	    "'release_policy':{'data':null}}");
	REFUSED(SKR_ERR_KEY_POLICY_FORBIDDEN, "POST", "/keys/x/create",
	    fmt("{'kty':'oct','release_policy':{'data':'%s'}}",
	    b64q(POLICY)));
	REFUSED(SKR_ERR_KEY_POLICY_FORBIDDEN, "POST", "/keys/x/create",
	    fmt("{'kty':'oct','attributes':{'exportable':false},"
	    "'release_policy':{'data':'%s'}}", b64q(POLICY)));

	call("POST", "/keys/rules/create", fmt("{'kty':'oct','attributes':"
	    "{'exportable':true},'release_policy':{'data':'%s'}}",
	    b64q(POLICY)));
	CHECK_STATUS(200);
	call("POST", "/keys/plain/create", "{'kty':'oct'}");
	CHECK_STATUS(200);
	REFUSED(SKR_ERR_KEY_EXPORTABLE_FIXED, "PATCH", "/keys/rules",
	    "{'attributes':{'exportable':false}}");
	REFUSED(SKR_ERR_KEY_EXPORTABLE_FIXED, "PATCH", "/keys/plain",
	    fmt("{'attributes':{'exportable':true},'release_policy':"
	    "{'data':'%s'}}", b64q(POLICY)));
	REFUSED(SKR_ERR_KEY_POLICY_REQUIRED, "PATCH", "/keys/rules",
	    "{'release_policy':null}");
	REFUSED(SKR_ERR_KEY_POLICY_REQUIRED, "PATCH", "/keys/rules",
	    "{'release_policy':{'data':null}}");
	REFUSED(SKR_ERR_KEY_POLICY_FORBIDDEN, "PATCH", "/keys/plain",
	    fmt("{'release_policy':{'data':'%s'}}", b64q(POLICY)));

	/* Immutable: neither changed, nor removed, nor made mutable; the
	 * same policy sent again is fine. */
	call("POST", "/keys/locked/create", fmt("{'kty':'oct','attributes':"
	    "{'exportable':true},'release_policy':{'data':'%s',"
	    "'immutable':true}}", b64q(POLICY)));
	CHECK_STATUS(200);
	CHECK(json_is_true(skr_json_path(J, "release_policy.immutable")));
	REFUSED(SKR_ERR_KEY_POLICY_IMMUTABLE, "PATCH", "/keys/locked",
	    fmt("{'release_policy':{'data':'%s','immutable':true}}",
	    b64q(POLICY2)));
	REFUSED(SKR_ERR_KEY_POLICY_IMMUTABLE, "PATCH", "/keys/locked",
	    fmt("{'release_policy':{'data':'%s'}}", b64q(POLICY2)));
	REFUSED(SKR_ERR_KEY_POLICY_IMMUTABLE, "PATCH", "/keys/locked",
	    fmt("{'release_policy':{'data':'%s','immutable':false}}",
	    b64q(POLICY)));
	REFUSED(SKR_ERR_KEY_POLICY_IMMUTABLE, "PATCH", "/keys/locked",
	    "{'release_policy':null}");
	call("PATCH", "/keys/locked", "{'tags':{'still':'editable'}}");
	CHECK_STATUS(200);
	call("PATCH", "/keys/locked", fmt("{'release_policy':{'data':'%s',"
	    "'immutable':true}}", b64q(POLICY)));
	CHECK_STATUS(200);
	/* A mutable policy can be made immutable. */
	call("PATCH", "/keys/rules", fmt("{'release_policy':{'data':'%s',"
	    "'immutable':true}}", b64q(POLICY)));
	CHECK_STATUS(200);
	CHECK(json_is_true(skr_json_path(J, "release_policy.immutable")));
}

/* ---- bad input --------------------------------------------------------- */

static void
test_bad_input(void)
{
	static const struct {
		int err;
		const char *body;
	} create[] = {
		/* Malformed JSON, strictly. */
		{ SKR_ERR_JSON, "{'kty':'oct'" },
		{ SKR_ERR_JSON, "{'kty':'oct',}" },
		{ SKR_ERR_JSON, "{'kty':'oct'} x" },
		{ SKR_ERR_JSON, "{kty:'oct'}" },
		{ SKR_ERR_JSON_DUPLICATE, "{'kty':'oct','kty':'RSA'}" },
		{ SKR_ERR_JSON_DUPLICATE,
		    "{'kty':'oct','tags':{'a':'1','a':'2'}}" },
		/* Not an object. */
		{ SKR_ERR_BAD_REQUEST, "[]" },
		{ SKR_ERR_BAD_REQUEST, "'oct'" },
		{ SKR_ERR_BAD_REQUEST, "null" },
		/* kty, sizes, curves. */
		{ SKR_ERR_JWK_UNSUPPORTED, "{}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':'DES'}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':'rsa'}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':''}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':7}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':'RSA','key_size':1024}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':'RSA','key_size':2047}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':'RSA','key_size':0}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':'RSA','key_size':-2048}" },
		{ SKR_ERR_JWK_UNSUPPORTED,
		    "{'kty':'RSA','key_size':4294969344}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':'RSA','key_size':16384}" },
		{ SKR_ERR_JWK_UNSUPPORTED,
		    "{'kty':'RSA','public_exponent':3}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':'RSA','crv':'P-256'}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':'oct','key_size':100}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':'oct','key_size':512}" },
		{ SKR_ERR_JWK_UNSUPPORTED,
		    "{'kty':'oct','key_size':4294967552}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':'EC','crv':'P-192'}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':'EC','crv':'secp256k1'}" },
		{ SKR_ERR_JWK_UNSUPPORTED, "{'kty':'EC','crv':'p-256'}" },
		{ SKR_ERR_JWK_UNSUPPORTED,
		    "{'kty':'EC','crv':'P-256','key_size':384}" },
		{ SKR_ERR_BAD_REQUEST, "{'kty':'oct','key_size':'256'}" },
		{ SKR_ERR_BAD_REQUEST, "{'kty':'oct','key_size':256.0}" },
		{ SKR_ERR_BAD_REQUEST, "{'kty':'EC','crv':256}" },
		/* attributes. */
		{ SKR_ERR_BAD_REQUEST, "{'kty':'oct','attributes':[]}" },
		{ SKR_ERR_BAD_REQUEST, "{'kty':'oct','attributes':true}" },
		{ SKR_ERR_BAD_REQUEST,
		    "{'kty':'oct','attributes':{'enabled':'yes'}}" },
		{ SKR_ERR_BAD_REQUEST,
		    "{'kty':'oct','attributes':{'enabled':1}}" },
		{ SKR_ERR_BAD_REQUEST,
		    "{'kty':'oct','attributes':{'exportable':'true'}}" },
		{ SKR_ERR_BAD_REQUEST,
		    "{'kty':'oct','attributes':{'nbf':'soon'}}" },
		{ SKR_ERR_BAD_REQUEST,
		    "{'kty':'oct','attributes':{'nbf':-1}}" },
		{ SKR_ERR_BAD_REQUEST,
		    "{'kty':'oct','attributes':{'exp':1.5}}" },
		{ SKR_ERR_BAD_REQUEST,
		    "{'kty':'oct','attributes':{'colour':'red'}}" },
		/* tags. */
		{ SKR_ERR_BAD_REQUEST, "{'kty':'oct','tags':[]}" },
		{ SKR_ERR_BAD_REQUEST, "{'kty':'oct','tags':{'a':1}}" },
		{ SKR_ERR_BAD_REQUEST, "{'kty':'oct','tags':{'a':null}}" },
		{ SKR_ERR_BAD_REQUEST, "{'kty':'oct','tags':{'':'x'}}" },
		{ SKR_ERR_BAD_REQUEST, "{'kty':'oct','tags':{'a':'1','b':'2',"
		    "'c':'3','d':'4','e':'5','f':'6','g':'7','h':'8','i':'9',"
		    "'j':'10','k':'11','l':'12','m':'13','n':'14','o':'15',"
		    "'p':'16'}}" },
		/* key_ops. */
		{ SKR_ERR_BAD_REQUEST, "{'kty':'oct','key_ops':'encrypt'}" },
		{ SKR_ERR_BAD_REQUEST, "{'kty':'oct','key_ops':[1]}" },
		{ SKR_ERR_BAD_REQUEST, "{'kty':'oct','key_ops':['launch']}" },
		/* release_policy. */
		{ SKR_ERR_BAD_REQUEST,
		    "{'kty':'oct','attributes':{'exportable':true},"
		    "'release_policy':'policy'}" },
		{ SKR_ERR_BAD_REQUEST,
		    "{'kty':'oct','attributes':{'exportable':true},"
		    "'release_policy':{'data':'e30','extra':1}}" },
		{ SKR_ERR_BAD_REQUEST,
		    "{'kty':'oct','attributes':{'exportable':true},"
		    "'release_policy':{'data':'e30','immutable':'yes'}}" },
		{ SKR_ERR_POLICY_INVALID,
		    "{'kty':'oct','attributes':{'exportable':true},"
		    "'release_policy':{'data':'e30'}}" },
		{ SKR_ERR_POLICY_INVALID,
		    "{'kty':'oct','attributes':{'exportable':true},"
		    "'release_policy':{'data':'***'}}" },
		{ SKR_ERR_POLICY_INVALID,
		    "{'kty':'oct','attributes':{'exportable':true},"
		    "'release_policy':{'data':5}}" },
		{ SKR_ERR_POLICY_INVALID,
		    "{'kty':'oct','attributes':{'exportable':true},"
		    "'release_policy':{'data':'e30','contentType':'text/plain'}}" },
	};
	char name[200];

	for (size_t i = 0; i < sizeof(create) / sizeof(create[0]); i++) {
		REFUSED(create[i].err, "POST", "/keys/bad/create",
		    create[i].body);
		if (resp.status != skr_err_http_status(create[i].err))
			fprintf(stderr, "  create case %zu: %s\n", i,
			    create[i].body);
	}
	/* A policy that is valid JSON but not a valid policy. */
	REFUSED(SKR_ERR_POLICY_INVALID, "POST", "/keys/bad/create",
	    fmt("{'kty':'oct','attributes':{'exportable':true},"
	    "'release_policy':{'data':'%s'}}", b64q("{'version':'9'}")));
	REFUSED(SKR_ERR_POLICY_INVALID, "POST", "/keys/bad/create",
	    fmt("{'kty':'oct','attributes':{'exportable':true},"
	    "'release_policy':{'data':'%s'}}", b64q("{'version':'1.0.0',"
	    "'anyOf':[{'authority':'https://a.test','allOf':[{'claim':'x',"
	    "'launch':'y'}]}]}")));

	/* Content type: JSON (with parameters) only. */
	REFUSED_CT(SKR_ERR_CONTENT_TYPE, "POST", "/keys/bad/create",
	    "text/plain", "{\"kty\":\"oct\"}");
	REFUSED_CT(SKR_ERR_CONTENT_TYPE, "POST", "/keys/bad/create", NULL,
	    "{\"kty\":\"oct\"}");
	REFUSED_CT(SKR_ERR_CONTENT_TYPE, "POST", "/keys/bad/create",
	    "application/jsonx", "{\"kty\":\"oct\"}");
	REFUSED_CT(SKR_ERR_CONTENT_TYPE, "PATCH", "/keys/rsa1",
	    "application/x-www-form-urlencoded", "tags=1");
	REFUSED_CT(SKR_ERR_CONTENT_TYPE, "PUT", "/keys/bad", "text/json",
	    "{}");
	call_ct("POST", "/keys/ctype1/create", "Application/JSON; charset=UTF-8",
	    "{\"kty\":\"oct\"}");
	CHECK_STATUS(200);
	call_ct("POST", "/keys/ctype2/create", "application/json;charset=utf-8",
	    "{\"kty\":\"oct\"}");
	CHECK_STATUS(200);

	/* Names: alphabet and length. */
	REFUSED(SKR_ERR_KEY_NAME, "POST", "/keys/bad_name/create",
	    "{'kty':'oct'}");
	REFUSED(SKR_ERR_KEY_NAME, "POST", "/keys/bad.name/create",
	    "{'kty':'oct'}");
	REFUSED(SKR_ERR_KEY_NAME, "POST", "/keys/b%41d/create",
	    "{'kty':'oct'}");
	REFUSED(SKR_ERR_KEY_NAME, "PUT", "/keys/bad_name",
	    "{'key':{'kty':'oct','k':'AAAAAAAAAAAAAAAAAAAAAA'}}");
	memset(name, 'a', 128);
	name[128] = '\0';
	REFUSED(SKR_ERR_KEY_NAME, "POST", fmt("/keys/%s/create", name),
	    "{'kty':'oct'}");
	name[127] = '\0';
	call("POST", fmt("/keys/%s/create", name), "{'kty':'oct'}");
	CHECK_STATUS(200);

	/* The same classes on update. */
	REFUSED(SKR_ERR_JSON, "PATCH", "/keys/rsa1", "{'tags':");
	REFUSED(SKR_ERR_BAD_REQUEST, "PATCH", "/keys/rsa1", "[]");
	REFUSED(SKR_ERR_BAD_REQUEST, "PATCH", "/keys/rsa1", NULL);
	REFUSED(SKR_ERR_BAD_REQUEST, "PATCH", "/keys/rsa1",
	    "{'attributes':{'enabled':'no'}}");
	REFUSED(SKR_ERR_BAD_REQUEST, "PATCH", "/keys/rsa1",
	    "{'attributes':{'colour':'red'}}");
	REFUSED(SKR_ERR_BAD_REQUEST, "PATCH", "/keys/rsa1",
	    "{'tags':{'a':1}}");
	REFUSED(SKR_ERR_BAD_REQUEST, "PATCH", "/keys/rsa1",
	    "{'key_ops':['launch']}");
	REFUSED(SKR_ERR_POLICY_INVALID, "PATCH", "/keys/rsa1",
	    "{'release_policy':{'data':'e30'}}");
	REFUSED(SKR_ERR_KEY_NAME, "PATCH", "/keys/bad_name", "{}");
}

/* ---- authentication ---------------------------------------------------- */

static void
test_auth(void)
{
	const char *h;
	char bad[128];

	/* No credentials at all: 401 with the Key Vault challenge. */
	tok = NULL;
	call("GET", "/keys", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_MISSING);
	h = header("WWW-Authenticate");
	CHECK_STR(h, "Bearer authorization=\"" BASE "\", resource=\"" BASE
	    "\"");
	call("GET", "/admin/tokens", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_MISSING);
	CHECK(header("WWW-Authenticate") != NULL);
	REFUSED(SKR_ERR_AUTH_MISSING, "POST", "/keys/noauth/create",
	    "{'kty':'oct'}");

	/* The challenge for bodiless, credential-less requests to every Key
	 * Vault route, release included. */
	{
		static const char *const kv[][2] = {
			{ "POST", "/keys/k/create" }, { "PUT", "/keys/k" },
			{ "GET", "/keys/k" }, { "PATCH", "/keys/k" },
			{ "POST", "/keys/k/rotate" }, { "DELETE", "/keys/k" },
			{ "GET", "/deletedkeys" }, { "GET", "/deletedkeys/k" },
			{ "POST", "/deletedkeys/k/recover" },
			{ "DELETE", "/deletedkeys/k" },
			{ "POST", "/keys/k/backup" }, { "POST", "/keys/restore" },
			{ "POST", "/keys/k/release" },
			{ "POST", "/keys/k//release" },
			{ "POST", "/keys/k/evaluate" },
		};

		for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
			call(kv[i][0], kv[i][1], NULL);
			CHECK_FAIL(SKR_ERR_AUTH_MISSING);
			CHECK(header("WWW-Authenticate") != NULL);
		}
	}
	/* Release with a body and no token is the release handler's to
	 * judge (here: no such key), not auth's. */
	call("POST", "/keys/nosuchkey/release", "{'target':'x'}");
	CHECK(resp.status != 401);
	CHECK(header("WWW-Authenticate") == NULL);
	/* The nonce route needs nothing. */
	call("GET", "/nonce", NULL);
	CHECK_STATUS(200);
	/* Unless the server requires the releaser role. */
	fx.srv.require_releaser = 1;
	call("POST", "/keys/nosuchkey/release", "{'target':'x'}");
	CHECK_FAIL(SKR_ERR_AUTH_MISSING);
	tok = tok_reader;
	call("POST", "/keys/nosuchkey/release", "{'target':'x'}");
	CHECK_FAIL(SKR_ERR_AUTH_FORBIDDEN);
	tok = tok_releaser;
	call("POST", "/keys/nosuchkey/release", "{'target':'x'}");
	CHECK(rc != SKR_ERR_AUTH_MISSING && rc != SKR_ERR_AUTH_FORBIDDEN &&
	    rc != SKR_ERR_AUTH_INVALID);
	fx.srv.require_releaser = 0;
	/* A credential a release does not need is not judged: Key Vault
	 * clients send a token of their own identity provider after the
	 * challenge, and it must neither be refused nor count as a failed
	 * attempt. */
	peer = "198.51.100.200";
	tok = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln";
	for (int i = 0; i < fx.srv.auth_fail_limit + 2; i++) {
		call("POST", "/keys/nosuchkey/release", "{'target':'x'}");
		CHECK(rc != SKR_ERR_AUTH_INVALID && rc != SKR_ERR_RATE_LIMITED);
		CHECK(header("WWW-Authenticate") == NULL);
	}
	tok = tok_revoked;
	call("POST", "/keys/nosuchkey//release", "{'target':'x'}");
	CHECK(rc != SKR_ERR_AUTH_REVOKED && rc != SKR_ERR_RATE_LIMITED);
	/* ... while the same peer is still welcome on admin routes. */
	tok = tok_admin;
	call("GET", "/keys", NULL);
	CHECK_STATUS(200);
	peer = "192.0.2.1";

	/* Malformed headers, unknown, revoked and expired tokens. */
	{
		static const char *const hdrs[] = {
			"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "bearer",
			"Token abc", "",
		};
		skr_request req;
		skr_dispatch_info d;

		for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
			memset(&req, 0, sizeof(req));
			req.method = "GET";
			req.path = "/keys";
			req.authorization = hdrs[i];
			snprintf(req.peer, sizeof(req.peer), "198.51.100.%zu", i);
			req.now = now;
			skr_response_clear(&resp);
			CHECK(skr_dispatch_route(&fx.srv, &req, &resp, &d) ==
			    NULL);
			CHECK(d.route != NULL);
			CHECK_ERR(d.rc, SKR_ERR_AUTH_INVALID);
			CHECK(resp.status == 401);
			CHECK(header("WWW-Authenticate") != NULL);
			CHECK(req.principal == NULL);
		}
	}
	peer = "198.51.100.50";
	tok = "not-a-token";
	call("GET", "/keys", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_INVALID);
	CHECK(header("WWW-Authenticate") != NULL);
	tok = "skr_00000000000000000000000000000000_"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	call("GET", "/keys", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_INVALID);
	/* A real id with a wrong secret. */
	snprintf(bad, sizeof(bad), "%s", tok_admin);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
	tok = bad;
	call("GET", "/keys", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_INVALID);
	tok = tok_revoked;
	call("GET", "/keys", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_REVOKED);
	tok = tok_expiring;
	call("GET", "/keys", NULL);
	CHECK_STATUS(200);
	now = NOW + 100;
	call("GET", "/keys", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_EXPIRED);
	now = NOW;
	peer = "192.0.2.1";

	/* Roles. */
	tok = tok_reader;
	call("GET", "/keys/rsa1", NULL);
	CHECK_STATUS(200);
	call("GET", "/keys", NULL);
	CHECK_STATUS(200);
	call("GET", "/deletedkeys", NULL);
	CHECK_STATUS(200);
	REFUSED(SKR_ERR_AUTH_FORBIDDEN, "POST", "/keys/r/create",
	    "{'kty':'oct'}");
	REFUSED(SKR_ERR_AUTH_FORBIDDEN, "PATCH", "/keys/rsa1", "{'tags':{}}");
	REFUSED(SKR_ERR_AUTH_FORBIDDEN, "DELETE", "/keys/rsa1", NULL);
	REFUSED(SKR_ERR_AUTH_FORBIDDEN, "POST", "/keys/rsa1/backup", NULL);
	REFUSED(SKR_ERR_AUTH_FORBIDDEN, "POST", "/admin/tokens",
	    "{'roles':['admin']}");
	call("GET", "/admin/audit", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_FORBIDDEN);
	tok = tok_oper;
	call("POST", "/keys/oper-made/create", "{'kty':'oct'}");
	CHECK_STATUS(200);
	call("GET", "/admin/tokens", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_FORBIDDEN);
	REFUSED(SKR_ERR_AUTH_FORBIDDEN, "POST", "/admin/tokens",
	    "{'roles':['admin']}");
	call("GET", "/admin/audit", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_FORBIDDEN);
	tok = tok_auditor;
	call("GET", "/admin/audit", NULL);
	CHECK_STATUS(200);
	call("GET", "/admin/audit/verify", NULL);
	CHECK_STATUS(200);
	call("GET", "/keys", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_FORBIDDEN);
	tok = tok_releaser;
	call("GET", "/keys/rsa1", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_FORBIDDEN);

	/* Scopes: per-key routes and listing. */
	tok = tok_scoped;
	call("POST", "/keys/team-a-one/create", "{'kty':'oct'}");
	CHECK_STATUS(200);
	call("GET", "/keys/TEAM-A-one", NULL);
	CHECK_STATUS(200);
	REFUSED(SKR_ERR_AUTH_FORBIDDEN, "POST", "/keys/team-b-one/create",
	    "{'kty':'oct'}");
	call("GET", "/keys/rsa1", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_FORBIDDEN);
	REFUSED(SKR_ERR_AUTH_FORBIDDEN, "DELETE", "/keys/rsa1", NULL);
	REFUSED(SKR_ERR_AUTH_FORBIDDEN, "PATCH", "/keys/rsa1", "{}");
	call("POST", "/keys/team-a-two/create", "{'kty':'oct'}");
	CHECK_STATUS(200);
	/* Listing is filtered to the scope, and a page is filled from the
	 * keys in scope even when many outside it sort before them. */
	call("GET", "/keys", NULL);
	CHECK_STATUS(200);
	{
		json_t *v = json_object_get(J, "value"), *it;
		size_t i;
		int all = 1;

		json_array_foreach(v, i, it)
			if (strstr(json_string_value(json_object_get(it,
			    "kid")), "/keys/team-a-") == NULL)
				all = 0;
		CHECK(all && json_array_size(v) == 2);
		CHECK(json_is_null(json_object_get(J, "nextLink")));
	}
	{
		int pages;

		/* The last page may be empty: a page ends when it is full,
		 * before the store is asked whether anything follows. */
		CHECK(walk_pages("/keys?maxresults=1", 1, &pages) == 2);
		CHECK(pages == 2 || pages == 3);
	}
	call("GET", "/deletedkeys", NULL);
	CHECK_STATUS(200);
	CHECK(json_array_size(json_object_get(J, "value")) == 0);
	/* A backup of a key outside the scope cannot be restored by it. */
	tok = tok_admin;
	call("POST", "/keys/rsa1/backup", NULL);
	{
		char *body = fmt("{'value':'%s'}", jstr("value"));

		call("DELETE", "/keys/rsa1", NULL);
		call("DELETE", "/deletedkeys/rsa1", NULL);
		CHECK_STATUS(204);
		tok = tok_scoped;
		REFUSED(SKR_ERR_AUTH_FORBIDDEN, "POST", "/keys/restore", body);
		tok = tok_admin;
		call("POST", "/keys/restore", body);
		CHECK_STATUS(200);
	}
	CHECK(skr_auth_name_allowed(&(skr_principal){ .nprefixes = 0 },
	    "anything"));
	tok = tok_admin;
}

/* Past the limit of failed authentications a peer waits; others do not. */
static void
test_throttle(void)
{
	int i;

	peer = "203.0.113.9";
	tok = "wrong";
	for (i = 0; i < fx.srv.auth_fail_limit; i++) {
		call("GET", "/keys", NULL);
		CHECK_FAIL(SKR_ERR_AUTH_INVALID);
	}
	call("GET", "/keys", NULL);
	CHECK_FAIL(SKR_ERR_RATE_LIMITED);
	CHECK(header("Retry-After") != NULL &&
	    strtol(header("Retry-After"), NULL, 10) >= 1 &&
	    strtol(header("Retry-After"), NULL, 10) <= fx.srv.auth_fail_window);
	/* Even a good token waits: the peer is guessing. */
	tok = tok_admin;
	call("GET", "/keys", NULL);
	CHECK_FAIL(SKR_ERR_RATE_LIMITED);
	/* Another peer is not affected. */
	peer = "203.0.113.10";
	call("GET", "/keys", NULL);
	CHECK_STATUS(200);
	/* After the window the peer may try again. */
	peer = "203.0.113.9";
	now = NOW + fx.srv.auth_fail_window + 1;
	call("GET", "/keys", NULL);
	CHECK_STATUS(200);
	/* Successes do not count as failures. */
	for (i = 0; i < 10; i++)
		call("GET", "/keys", NULL);
	CHECK_STATUS(200);
	now = NOW;
	peer = "192.0.2.1";
}

/* ---- admin --------------------------------------------------------------- */

static void
test_admin(void)
{
	char secret[128], id[64];

	tok = tok_admin;
	call("POST", "/admin/tokens", fmt("{'name':'ci','roles':['reader',"
	    "'auditor'],'prefixes':['ci-','build-'],'expires':%d}",
	    NOW + 3600));
	CHECK_STATUS(200);
	CHECK(jstr("token") != NULL && strncmp(jstr("token"), "skr_", 4) == 0);
	snprintf(secret, sizeof(secret), "%s", jstr("token") ?
	    jstr("token") : "");
	snprintf(id, sizeof(id), "%s", jstr("id") ? jstr("id") : "");
	CHECK_STR(jstr("name"), "ci");
	CHECK(json_array_size(json_object_get(J, "roles")) == 2);
	CHECK(json_array_size(json_object_get(J, "prefixes")) == 2);
	CHECK(jint("expires") == NOW + 3600);

	/* The new token works, within its roles and scope. */
	tok = secret;
	call("GET", "/keys", NULL);
	CHECK_STATUS(200);
	/* Scoped: no admin routes, the audit log of every key included. */
	call("GET", "/admin/audit", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_FORBIDDEN);
	call("POST", "/keys/ci-x/create", "{'kty':'oct'}");
	CHECK_FAIL(SKR_ERR_AUTH_FORBIDDEN);
	tok = tok_admin;

	/* The list never shows secrets. */
	call("GET", "/admin/tokens", NULL);
	CHECK_STATUS(200);
	CHECK(json_array_size(json_object_get(J, "value")) >= 9);
	CHECK(strstr((const char *)resp.body.data, secret) == NULL);
	CHECK(strstr((const char *)resp.body.data, tok_admin) == NULL);
	CHECK(strstr((const char *)resp.body.data, "\"token\"") == NULL);
	CHECK(strstr((const char *)resp.body.data, id) != NULL);

	/* Revoke: the token stops working at once; unknown ids are 404. */
	call("DELETE", fmt("/admin/tokens/%s", id), NULL);
	CHECK_STATUS(200);
	tok = secret;
	call("GET", "/keys", NULL);
	CHECK_FAIL(SKR_ERR_AUTH_REVOKED);
	tok = tok_admin;
	REFUSED(SKR_ERR_NOT_FOUND, "DELETE",
	    "/admin/tokens/0123456789abcdef0123456789abcdef", NULL);
	REFUSED(SKR_ERR_NOT_FOUND, "DELETE", "/admin/tokens/nothex", NULL);

	/* Bad token requests. */
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens", "{}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens",
	    "{'roles':[]}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens",
	    "{'roles':['superuser']}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens",
	    "{'roles':'admin'}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens",
	    "{'roles':['reader'],'expires':1}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens",
	    "{'roles':['reader'],'expires':'tomorrow'}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens",
	    "{'roles':['reader'],'prefixes':'a-'}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens",
	    "{'roles':['reader'],'prefixes':['']}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens",
	    "{'roles':['reader'],'prefixes':['no_underscores']}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens",
	    "{'roles':['reader'],'prefixes':['a','b','c','d','e','f','g',"
	    "'h','i']}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens",
	    "{'roles':['reader'],'name':7}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens",
	    fmt("{'roles':['reader'],'name':'%0100d'}", 0));
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens",
	    "{'roles':['reader'],'colour':'red'}");
	REFUSED(SKR_ERR_JSON, "POST", "/admin/tokens", "{'roles':");
	REFUSED(SKR_ERR_JSON_DUPLICATE, "POST", "/admin/tokens",
	    "{'roles':['reader'],'roles':['admin']}");
	REFUSED(SKR_ERR_BAD_REQUEST, "POST", "/admin/tokens", "[]");
	REFUSED_CT(SKR_ERR_CONTENT_TYPE, "POST", "/admin/tokens", "text/plain",
	    "{\"roles\":[\"reader\"]}");

	/* Authorities: none configured is an empty list. */
	call("GET", "/admin/authorities", NULL);
	CHECK_STATUS(200);
	CHECK(json_is_array(json_object_get(J, "value")) &&
	    json_array_size(json_object_get(J, "value")) == 0);
	call("POST", "/admin/authorities/refresh", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("POST", "/admin/authorities/refresh?issuer=https://a.test", NULL);
	CHECK_FAIL(SKR_ERR_NOT_FOUND);
}

/* Every change left an audit record with who, from where, on what. */
static void
test_audit(void)
{
	json_t *v, *it;
	size_t i;
	int found = 0;

	tok = tok_admin;
	call("GET", "/admin/audit?key=rules&event=key.update&maxresults=100",
	    NULL);
	CHECK_STATUS(200);
	v = json_object_get(J, "value");
	CHECK(json_array_size(v) >= 1);
	json_array_foreach(v, i, it) {
		CHECK_STR(json_string_value(json_object_get(it, "event")),
		    "key.update");
		CHECK_STR(json_string_value(json_object_get(it, "outcome")),
		    "ok");
		CHECK_STR(json_string_value(json_object_get(it, "principal")),
		    id_admin);
		CHECK_STR(json_string_value(json_object_get(it, "peer")),
		    "192.0.2.1");
		CHECK(json_string_length(json_object_get(it, "version")) ==
		    32);
		found++;
	}
	CHECK(found >= 1);
	/* Every kind of change is there. */
	{
		static const char *const events[] = { "key.create",
			"key.import", "key.update", "key.rotate", "key.delete",
			"key.recover", "key.purge", "key.backup",
			"key.restore", "token.create", "token.revoke" };

		for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
			call("GET", fmt("/admin/audit?event=%s&maxresults=1",
			    events[i]), NULL);
			CHECK(json_array_size(json_object_get(J, "value")) ==
			    1);
			if (json_array_size(json_object_get(J, "value")) != 1)
				fprintf(stderr, "  no %s record\n", events[i]);
		}
	}
	/* Filters. */
	call("GET", fmt("/admin/audit?since=%d", NOW + 100000000), NULL);
	CHECK_STATUS(200);
	CHECK(json_array_size(json_object_get(J, "value")) == 0);
	call("GET", "/admin/audit?outcome=ok&maxresults=1000", NULL);
	CHECK(json_array_size(json_object_get(J, "value")) > 20);
	json_array_foreach(json_object_get(J, "value"), i, it)
		CHECK_STR(json_string_value(json_object_get(it, "outcome")),
		    "ok");
	call("GET", "/admin/audit?maxresults=2", NULL);
	CHECK(json_array_size(json_object_get(J, "value")) == 2);
	CHECK(jint("next") > 0);
	call("GET", fmt("/admin/audit?maxresults=2&after=%lld",
	    (long long)jint("next")), NULL);
	CHECK_STATUS(200);
	CHECK(json_array_size(json_object_get(J, "value")) == 2);
	call("GET", "/admin/audit?since=yesterday", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/admin/audit?after=-1", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/admin/audit?maxresults=many", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/admin/audit?outcome=maybe", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/admin/audit?maxresults=0", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/admin/audit?since=99999999999999999999", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/admin/audit?key=bad_name", NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	call("GET", "/admin/audit/verify", NULL);
	CHECK_STATUS(200);
	CHECK(json_is_true(json_object_get(J, "ok")));
	CHECK(jint("records") > 20);
	/* No record holds a bearer token. */
	call("GET", "/admin/audit?maxresults=1000", NULL);
	CHECK(strstr((const char *)resp.body.data, tok_admin + 4) == NULL);
}

/*
 * A prefix-scoped token pages through keys outside its scope without
 * learning their names: a scoped page that ends after reading keys out of
 * scope used to carry the last one's name in its $skiptoken, so that
 * following nextLinks revealed about every 64th name.  Last: it leaves
 * keys behind.
 */
static void
test_list_markers(void)
{
	char target[2048], first[2048];
	const char *next;
	int pages = 0, hidden = 1;

	tok = tok_admin;
	call("POST", "/keys/team-a-markers/create", "{'kty':'oct'}");
	CHECK_STATUS(200);
	for (int i = 0; i < 100; i++) {
		call("POST", fmt("/keys/x-leak-%03d/create", i),
		    "{'kty':'oct'}");
		CHECK_STATUS(200);
	}
	/* Pages of 4 hold the scope's three keys; the scan reads on through
	 * the keys outside it and ends a page there. */
	tok = tok_scoped;
	snprintf(target, sizeof(target), "/keys?maxresults=4");
	first[0] = '\0';
	for (;;) {
		call("GET", target, NULL);
		CHECK_STATUS(200);
		if (resp.status != 200 || (next = jstr("nextLink")) == NULL)
			break;
		pages++;
		if (!skiptoken_hides(next, "x-leak") ||
		    !skiptoken_hides(next, "rsa1"))
			hidden = 0;
		if (first[0] == '\0')
			snprintf(first, sizeof(first), "%s",
			    next + strlen(BASE));
		snprintf(target, sizeof(target), "%s", next + strlen(BASE));
		if (pages > 10)
			break;
	}
	CHECK(pages >= 1);
	CHECK(hidden);
	/* The marker serves the token it was made for, and no other. */
	call("GET", first, NULL);
	CHECK_STATUS(200);
	tok = tok_admin;
	call("GET", first, NULL);
	CHECK_FAIL(SKR_ERR_BAD_REQUEST);
	/* Versions and deleted keys are sealed the same way. */
	call("DELETE", "/keys/x-leak-001", NULL);
	call("DELETE", "/keys/x-leak-002", NULL);
	call("GET", "/deletedkeys?maxresults=1", NULL);
	CHECK_STATUS(200);
	next = jstr("nextLink");
	CHECK(next != NULL && skiptoken_hides(next, "x-leak"));
	call("POST", "/keys/x-leak-003/rotate", NULL);
	CHECK_STATUS(200);
	call("GET", "/keys/x-leak-003/versions?maxresults=1", NULL);
	CHECK_STATUS(200);
	next = jstr("nextLink");
	CHECK(next != NULL && skiptoken_hides(next, "x-leak"));
}

/*
 * A change by a token revoked after it authenticated the request: the
 * request was authenticated in an earlier snapshot, and without a second
 * look in the change's own transaction its record landed after the
 * revocation's.  The handler is called directly with the principal the
 * dispatcher found before the revocation.
 */
static void
test_stale_principal(void)
{
	char text[SKR_TOKEN_TEXT_LEN + 1], id[33], target[64];
	skr_request req;
	skr_response r2;
	skr_txn *txn = NULL;
	uint64_t seq;
	char hash[SKR_AUDIT_HASH_HEX + 1];
	int rc2;

	tok = tok_admin;
	call("POST", "/keys/stale/create", "{'kty':'oct'}");
	CHECK_STATUS(200);
	make_token("stale", SKR_ROLE_OPERATOR, NULL, 0, text, id);
	memset(&req, 0, sizeof(req));
	CHECK_OK(skr_store_txn_begin(fx.srv.store, SKR_TXN_READ, &txn));
	CHECK_OK(skr_store_token_lookup(txn, text, now, &req.principal_buf));
	skr_store_txn_abort(txn);
	req.principal = &req.principal_buf;
	/* Revoked meanwhile. */
	snprintf(target, sizeof(target), "/admin/tokens/%s", id);
	call("DELETE", target, NULL);
	CHECK_STATUS(200);
	CHECK_OK(skr_store_txn_begin(fx.srv.store, SKR_TXN_READ, &txn));
	CHECK_OK(skr_audit_head(txn, &seq, hash));
	skr_store_txn_abort(txn);
	req.method = "PATCH";
	req.path = "/keys/stale";
	snprintf(req.name, sizeof(req.name), "stale");
	req.body = (const uint8_t *)"{\"attributes\":{\"enabled\":false}}";
	req.body_len = strlen((const char *)req.body);
	req.content_type = "application/json";
	snprintf(req.peer, sizeof(req.peer), "192.0.2.9");
	snprintf(req.request_id, sizeof(req.request_id), "stale");
	req.now = now;
	skr_response_init(&r2);
	rc2 = skr_api_key_update(&fx.srv, &req, &r2);
	CHECK_ERR(rc2, SKR_ERR_AUTH_REVOKED);
	CHECK(r2.status == 401);
	skr_response_clear(&r2);
	/* Nothing changed, nothing recorded after the revocation. */
	CHECK_OK(skr_store_txn_begin(fx.srv.store, SKR_TXN_READ, &txn));
	{
		uint64_t seq2;

		CHECK_OK(skr_audit_head(txn, &seq2, hash));
		CHECK(seq2 == seq);
	}
	skr_store_txn_abort(txn);
	call("GET", "/keys/stale", NULL);
	CHECK(json_is_true(skr_json_path(J, "attributes.enabled")));
	/* The same request under a token that holds goes through. */
	CHECK_OK(skr_store_txn_begin(fx.srv.store, SKR_TXN_READ, &txn));
	CHECK_OK(skr_store_token_lookup(txn, tok_oper, now,
	    &req.principal_buf));
	skr_store_txn_abort(txn);
	rc2 = skr_api_key_update(&fx.srv, &req, &r2);
	CHECK_OK(rc2);
	skr_response_clear(&r2);
	skr_buf_free(&r2.body);
}

int
main(void)
{
	setup();
	test_create();
	test_import();
	test_get();
	test_list();
	test_update();
	test_rotate();
	test_lifecycle();
	test_kv_rules();
	test_bad_input();
	test_auth();
	test_throttle();
	test_admin();
	test_audit();
	test_list_markers();
	test_stale_principal();
	teardown();
	return check_done();
}
