/* Unit tests: skr_buf, encodings, strict JSON, error table. */
#include <string.h>

#include "buf.h"
#include "check.h"
#include "encoding.h"
#include "json.h"

static void
test_buf(void)
{
	skr_buf b;

	skr_buf_init(&b, 8);
	CHECK_OK(skr_buf_append(&b, "abcd", 4));
	CHECK_STR(skr_buf_cstr(&b), "abcd");
	CHECK_OK(skr_buf_appendf(&b, "%d", 1234));
	CHECK(b.len == 8);
	CHECK_ERR(skr_buf_append_byte(&b, 'x'), SKR_ERR_TOO_LARGE);
	CHECK(b.len == 8);
	skr_buf_reset(&b);
	CHECK(b.len == 0 && strcmp(skr_buf_cstr(&b), "") == 0);
	skr_buf_free(&b);

	skr_buf_init_secret(&b, 0);
	for (int i = 0; i < 1000; i++)
		CHECK(skr_buf_append_byte(&b, (uint8_t)i) == SKR_OK);
	CHECK(b.len == 1000 && b.data[999] == (uint8_t)999);
	skr_buf_free(&b);
	CHECK(b.data == NULL);

	CHECK(skr_ct_equal("abc", "abc", 3));
	CHECK(!skr_ct_equal("abc", "abd", 3));
}

static void
check_b64url(const char *in, const char *want)
{
	skr_buf e = SKR_BUF_INIT, d = SKR_BUF_INIT;

	CHECK_OK(skr_b64url_encode(&e, (const uint8_t *)in, strlen(in)));
	CHECK_STR(skr_buf_cstr(&e), want);
	CHECK_OK(skr_b64url_decode(&d, want, strlen(want)));
	CHECK_MEM(d.data, d.len, in, strlen(in));
	skr_buf_free(&e);
	skr_buf_free(&d);
}

static void
test_encoding(void)
{
	skr_buf b = SKR_BUF_INIT;
	static const char *bad_url[] = {
		"Zg==", "Zm9v+A", "Zm9v/A", "Z", "Zm 9v", "Zh", "Zm9=", "Zm\n9v",
	};

	/* RFC 4648 section 10 vectors, without padding. */
	check_b64url("", "");
	check_b64url("f", "Zg");
	check_b64url("fo", "Zm8");
	check_b64url("foo", "Zm9v");
	check_b64url("foob", "Zm9vYg");
	check_b64url("fooba", "Zm9vYmE");
	check_b64url("foobar", "Zm9vYmFy");
	CHECK_OK(skr_b64url_decode(&b, "-_8", 3));
	CHECK(b.len == 2 && b.data[0] == 0xfb && b.data[1] == 0xff);
	skr_buf_reset(&b);
	for (size_t i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++) {
		CHECK_ERR(skr_b64url_decode(&b, bad_url[i], strlen(bad_url[i])),
		    SKR_ERR_ENCODING);
		CHECK(b.len == 0);
	}

	CHECK_OK(skr_b64_encode(&b, (const uint8_t *)"fo", 2));
	CHECK_STR(skr_buf_cstr(&b), "Zm8=");
	skr_buf_reset(&b);
	CHECK_OK(skr_b64_decode(&b, "Zm9vYg==", 8));
	CHECK_STR(skr_buf_cstr(&b), "foob");
	skr_buf_reset(&b);
	CHECK_ERR(skr_b64_decode(&b, "Zm9vYg", 6), SKR_ERR_ENCODING);
	CHECK_ERR(skr_b64_decode(&b, "Zm9-Yg==", 8), SKR_ERR_ENCODING);

	CHECK_OK(skr_hex_encode(&b, (const uint8_t *)"\x01\xab", 2, 1));
	CHECK_STR(skr_buf_cstr(&b), "01AB");
	skr_buf_reset(&b);
	CHECK_OK(skr_hex_decode(&b, "01aB", 4));
	CHECK(b.len == 2 && b.data[1] == 0xab);
	skr_buf_reset(&b);
	CHECK_ERR(skr_hex_decode(&b, "0g", 2), SKR_ERR_ENCODING);
	CHECK_ERR(skr_hex_decode(&b, "012", 3), SKR_ERR_ENCODING);
	skr_buf_free(&b);
}

static void
test_json(void)
{
	json_t *v = NULL;
	char deep[200];
	const char *s;

	CHECK_OK(skr_json_parse("{\"a\":{\"b\":{\"c\":1}}}", 19, 0, &v));
	CHECK(json_integer_value(skr_json_path(v, "a.b.c")) == 1);
	CHECK(skr_json_path(v, "a.x.c") == NULL);
	CHECK(skr_json_path(v, "a.b.c.d") == NULL);
	CHECK(skr_json_path(v, "a..b") == NULL);
	CHECK(skr_json_depth(v) == 4);
	json_decref(v);

	s = "{\"a\":1,\"a\":2}";
	CHECK_ERR(skr_json_parse(s, strlen(s), 0, &v), SKR_ERR_JSON_DUPLICATE);
	CHECK(v == NULL);
	s = "{\"a\":1} x";
	CHECK_ERR(skr_json_parse(s, strlen(s), 0, &v), SKR_ERR_JSON);
	/* An empty body: no bytes, and as the server passes it, no pointer. */
	CHECK_ERR(skr_json_parse("", 0, 0, &v), SKR_ERR_JSON);
	CHECK(v == NULL);
	CHECK_ERR(skr_json_parse(NULL, 0, 0, &v), SKR_ERR_JSON);
	s = "{\"a\":\"\xff\"}";
	CHECK_ERR(skr_json_parse(s, strlen(s), 0, &v), SKR_ERR_JSON);
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	CHECK_ERR(skr_json_parse(deep, 200, 0, &v), SKR_ERR_JSON_DEPTH);
	/* Brackets inside strings do not count as nesting. */
	s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}";
	CHECK_OK(skr_json_parse(s, strlen(s), 0, &v));
	json_decref(v);
}

static void
test_wipe(void)
{
	unsigned char *p = malloc(37);
	json_malloc_t m;
	json_free_t f;
	json_t *v;
	size_t n, i, nonzero = 0;

	CHECK(p != NULL);
	if (p == NULL)
		return;
	memset(p, 0xaa, 37);
	n = skr_wipe_block(p);
	CHECK(n >= 37);
	for (i = 0; i < 37; i++)
		nonzero += p[i] != 0;
	CHECK(nonzero == 0);
	free(p);
	CHECK(skr_wipe_block(NULL) == 0);
	skr_free_wiped(NULL);

	/* jansson frees through the wiping free from now on. */
	skr_json_wipe_on_free();
	json_get_alloc_funcs(&m, &f);
	CHECK(m == malloc && f == skr_free_wiped);
	CHECK_OK(skr_json_parse("{\"d\":\"c2VjcmV0\"}", 16, 0, &v));
	json_decref(v);
}

static void
test_errors(void)
{
	CHECK_STR(skr_err_id(SKR_ERR_TOKEN_EXPIRED), "SKR.TOKEN.EXPIRED");
	CHECK_STR(skr_err_id(SKR_ERR_POLICY_DENIED), "SKR.POLICY.DENIED");
	CHECK_STR(skr_strerror(SKR_OK), "success");
	CHECK_STR(skr_err_id(-1), "SKR.UNKNOWN");
	CHECK(SKR_ERR_NOMEM < 0 && SKR__ERR_LAST < 0);
}

int
main(void)
{
	test_buf();
	test_encoding();
	test_json();
	test_wipe();
	test_errors();
	return check_done();
}
