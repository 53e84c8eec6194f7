/*
 * Unit tests: the one-pass strict JSON reader (keys/jdoc.h) and the JSON
 * writer (keys/jwrite.h).  Every input is also given to skr_json_parse, the
 * jansson-based parser whose decisions jdoc must repeat; the writer's
 * output is compared with json_dumps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "jdoc.h"
#include "json.h"
#include "jwrite.h"

/* Parse with both; they must agree on the error, and on success jdoc's
 * canonical text must be jansson's. */
static int
both(const char *s, size_t n, size_t depth)
{
	skr_jdoc d = SKR_JDOC_INIT;
	skr_buf mine = SKR_BUF_INIT;
	json_t *v = NULL;
	char *theirs;
	int r1, r2;

	r1 = skr_jdoc_parse(&d, s, n, depth);
	r2 = skr_json_parse(s, n, depth, &v);
	CHECK_ERR(r1, r2);
	if (r1 != r2) {
		fprintf(stderr, "input: ");
		fwrite(s, 1, n, stderr);
		fprintf(stderr, "\n");
	}
	if (r1 == SKR_OK && r2 == SKR_OK) {
		CHECK_OK(skr_jdoc_dump_sorted(&d, skr_jdoc_root(&d), &mine));
		theirs = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);
		CHECK(theirs != NULL);
		if (theirs != NULL) {
			CHECK_STR(skr_buf_cstr(&mine), theirs);
			free(theirs);
		}
	}
	json_decref(v);
	skr_buf_free(&mine);
	skr_jdoc_free(&d);
	return r1;
}

static int
both_str(const char *s)
{
	return both(s, strlen(s), 0);
}

static void
test_refused(void)
{
	static const struct {
		const char *text;
		int err;
	} bad[] = {
		/* structure */
		{ "", SKR_ERR_JSON },
		{ "   ", SKR_ERR_JSON },
		{ "{", SKR_ERR_JSON },
		{ "}", SKR_ERR_JSON },
		{ "[1,]", SKR_ERR_JSON },
		{ "[,1]", SKR_ERR_JSON },
		{ "{\"a\":1,}", SKR_ERR_JSON },
		{ "{\"a\" 1}", SKR_ERR_JSON },
		{ "{a:1}", SKR_ERR_JSON },
		{ "{'a':1}", SKR_ERR_JSON },
		{ "{\"a\":1}}", SKR_ERR_JSON },
		{ "{\"a\":1} x", SKR_ERR_JSON },
		{ "1 2", SKR_ERR_JSON },
		{ "[1]]", SKR_ERR_JSON },
		{ "\"a\"\"b\"", SKR_ERR_JSON },
		/* trailing data */
		{ "{\"target\":\"x\"}\n{}", SKR_ERR_JSON },
		/* duplicates, also through escapes and deep inside */
		{ "{\"a\":1,\"a\":2}", SKR_ERR_JSON_DUPLICATE },
		{ "{\"a\":1,\"\\u0061\":2}", SKR_ERR_JSON_DUPLICATE },
		{ "{\"x\":{\"b\":[],\"c\":1,\"b\":{}}}", SKR_ERR_JSON_DUPLICATE },
		{ "{\"\":1,\"\":1}", SKR_ERR_JSON_DUPLICATE },
		{ "[{\"a\":1},{\"a\":1,\"a\":1}]", SKR_ERR_JSON_DUPLICATE },
		/* literals and numbers */
		{ "tru", SKR_ERR_JSON },
		{ "truex", SKR_ERR_JSON },
		{ "nul", SKR_ERR_JSON },
		{ "True", SKR_ERR_JSON },
		{ "NaN", SKR_ERR_JSON },
		{ "Infinity", SKR_ERR_JSON },
		{ "01", SKR_ERR_JSON },
		{ "-01", SKR_ERR_JSON },
		{ "-", SKR_ERR_JSON },
		{ "+1", SKR_ERR_JSON },
		{ "1.", SKR_ERR_JSON },
		{ ".5", SKR_ERR_JSON },
		{ "1e", SKR_ERR_JSON },
		{ "1e+", SKR_ERR_JSON },
		{ "0x10", SKR_ERR_JSON },
		{ "9223372036854775808", SKR_ERR_JSON },
		{ "-9223372036854775809", SKR_ERR_JSON },
		{ "123456789012345678901234567890", SKR_ERR_JSON },
		{ "1e400", SKR_ERR_JSON },
		{ "-1e400", SKR_ERR_JSON },
		/* strings */
		{ "\"abc", SKR_ERR_JSON },
		{ "\"a\tb\"", SKR_ERR_JSON },
		{ "\"a\nb\"", SKR_ERR_JSON },
		{ "\"\\x\"", SKR_ERR_JSON },
		{ "\"\\u12\"", SKR_ERR_JSON },
		{ "\"\\u12g4\"", SKR_ERR_JSON },
		{ "\"\\u0000\"", SKR_ERR_JSON },
		{ "{\"a\\u0000\":1}", SKR_ERR_JSON },
		{ "\"\\ud800\"", SKR_ERR_JSON },
		{ "\"\\udc00\"", SKR_ERR_JSON },
		{ "\"\\ud800\\u0041\"", SKR_ERR_JSON },
		{ "\"\\ud800x\"", SKR_ERR_JSON },
		{ "\"\\", SKR_ERR_JSON },
		/* UTF-8 */
		{ "\"\x80\"", SKR_ERR_JSON },
		{ "\"\xc0\xaf\"", SKR_ERR_JSON },
		{ "\"\xc1\xbf\"", SKR_ERR_JSON },
		{ "\"\xe0\x80\xaf\"", SKR_ERR_JSON },
		{ "\"\xed\xa0\x80\"", SKR_ERR_JSON },
		{ "\"\xf4\x90\x80\x80\"", SKR_ERR_JSON },
		{ "\"\xf5\x80\x80\x80\"", SKR_ERR_JSON },
		{ "\"\xc3\"", SKR_ERR_JSON },
		{ "\"\xe2\x82\"", SKR_ERR_JSON },
		{ "\xef\xbb\xbf{}", SKR_ERR_JSON },
		{ "{\"a\":1}\xff", SKR_ERR_JSON },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = both(bad[i].text, strlen(bad[i].text), 0);

		if (r != bad[i].err)
			fprintf(stderr, "case %zu: %s\n", i, bad[i].text);
		CHECK_ERR(r, bad[i].err);
	}
	/* An embedded NUL byte is not text. */
	CHECK_ERR(both("{\"a\":\"x\0y\"}", 11, 0), SKR_ERR_JSON);
	CHECK_ERR(both("[1]\0", 4, 0), SKR_ERR_JSON);
	/* jansson alone would skip a NUL after a number or a literal. */
	CHECK_ERR(both("[0\0,1]", 6, 0), SKR_ERR_JSON);
	CHECK_ERR(both("[false\0]", 8, 0), SKR_ERR_JSON);
}

static void
test_depth(void)
{
	char deep[600];
	size_t i;

	/* Nesting at the limit is refused, one less is not. */
	for (i = 0; i < 32; i++)
		deep[i] = '[';
	for (i = 0; i < 32; i++)
		deep[32 + i] = ']';
	CHECK_ERR(both(deep, 64, 0), SKR_ERR_JSON_DEPTH);
	CHECK_OK(both(deep + 1, 62, 0));
	CHECK_ERR(both(deep + 1, 62, 31), SKR_ERR_JSON_DEPTH);
	CHECK_OK(both(deep + 2, 60, 31));
	/* The depth error wins, as in skr_json_parse, even with other faults
	 * after it. */
	for (i = 0; i < 300; i++)
		deep[i] = i % 2 ? '[' : '{';
	CHECK_ERR(both(deep, 300, 0), SKR_ERR_JSON_DEPTH);
	memset(deep, '[', 40);
	memcpy(deep + 40, "1,}", 3);
	CHECK_ERR(both(deep, 43, 0), SKR_ERR_JSON_DEPTH);
	{
		skr_jdoc d = SKR_JDOC_INIT;

		CHECK_ERR(skr_jdoc_parse(&d, "[]", 2, 257), SKR_ERR_INVAL);
		skr_jdoc_free(&d);
	}
}

static void
test_accepted(void)
{
	static const char *good[] = {
		"{}", "[]", "0", "-0", "1", "-1", "0.5", "1e5", "1E+5", "1e-5",
		"-1.25e-3", "9223372036854775807", "-9223372036854775808",
		"1e-400", "0.1", "123.456e7", "true", "false", "null", "\"\"",
		"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u00e9\\u20ac\"",
		"\"\\ud83d\\ude00\"", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
		"\"\\u001f\\u007f\"", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n",
		"{\"b\":1,\"a\":2,\"B\":3,\"ab\":4,\"\":5}",
		"{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}",
		"[[],{},[[]],{\"x\":{}}]",
		"{\"x-ms-isolation-tee\":{\"x-ms-attestation-type\":\"sevsnpvm\"}}",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_OK(both_str(good[i]));
}

static void
test_nodes(void)
{
	static const char text[] =
	    "{\"target\":\"abc\",\"n\":{\"a\":[1,2.5,\"x\\ny\"],\"b\":true},"
	    "\"k\\u00e9y\":null}";
	skr_jdoc d = SKR_JDOC_INIT;
	const skr_jnode *root, *t, *a, *c;
	char *s;

	CHECK_OK(skr_jdoc_parse(&d, text, sizeof(text) - 1, 0));
	root = skr_jdoc_root(&d);
	CHECK(root != NULL && root->type == SKR_JOBJECT && root->count == 3);
	t = skr_jdoc_get(&d, root, "target");
	CHECK(skr_jnode_streq(t, "abc"));
	/* An escape-free string is not copied. */
	CHECK(t != NULL && t->str > text && t->str < text + sizeof(text));
	CHECK(!skr_jnode_streq(t, "ab"));
	a = skr_jdoc_path(&d, root, "n.a");
	CHECK(a != NULL && a->type == SKR_JARRAY && a->count == 3);
	c = skr_jdoc_child(&d, a);
	CHECK(c != NULL && c->type == SKR_JINT && c->i == 1);
	c = skr_jdoc_sibling(&d, a, c);
	CHECK(c != NULL && c->type == SKR_JREAL && c->d == 2.5);
	c = skr_jdoc_sibling(&d, a, c);
	CHECK(c != NULL && c->type == SKR_JSTRING && c->len == 3 &&
	    memcmp(c->str, "x\ny", 3) == 0);
	CHECK(skr_jdoc_sibling(&d, a, c) == NULL);
	CHECK(a != NULL && a->rawlen == 14 &&
	    memcmp(a->raw, "[1,2.5,\"x\\ny\"]", 14) == 0);
	CHECK(skr_jdoc_path(&d, root, "n.b")->type == SKR_JTRUE);
	CHECK(skr_jdoc_path(&d, root, "n.a.b") == NULL);
	CHECK(skr_jdoc_path(&d, root, "n..a") == NULL);
	CHECK(skr_jdoc_path(&d, root, "target.x") == NULL);
	CHECK(skr_jdoc_get(&d, root, "k\xc3\xa9y") != NULL);
	CHECK(skr_jdoc_get(&d, a, "x") == NULL);
	CHECK((s = skr_jnode_strdup(t)) != NULL && strcmp(s, "abc") == 0);
	free(s);
	CHECK(skr_jnode_strdup(a) == NULL);
	{
		json_t *j = skr_jdoc_to_json(&d, root), *want = NULL;

		CHECK_OK(skr_json_parse(text, sizeof(text) - 1, 0, &want));
		CHECK(j != NULL && json_equal(j, want));
		json_decref(j);
		json_decref(want);
	}
	/* Reuse: a second parse into the same document. */
	CHECK_OK(skr_jdoc_parse(&d, "[1]", 3, 0));
	CHECK(skr_jdoc_root(&d)->type == SKR_JARRAY && d.n == 2);
	skr_jdoc_clear(&d);
	CHECK(skr_jdoc_root(&d) == NULL);
	skr_jdoc_free(&d);
}

/* Many members: duplicates are found by hash, not by a quadratic scan. */
static void
test_many_members(void)
{
	skr_buf b = SKR_BUF_INIT;
	skr_jdoc d = SKR_JDOC_INIT;
	int i;

	skr_buf_append_byte(&b, '{');
	for (i = 0; i < 20000; i++)
		skr_buf_appendf(&b, "%s\"m%d\":[%d]", i ? "," : "", i, i);
	skr_buf_append_byte(&b, '}');
	CHECK_OK(skr_jdoc_parse(&d, (const char *)b.data, b.len, 0));
	CHECK(skr_jdoc_root(&d)->count == 20000);
	CHECK(skr_jdoc_get(&d, skr_jdoc_root(&d), "m19999") != NULL);
	b.len--;
	skr_buf_append_str(&b, ",\"m777\":0}");
	CHECK_ERR(skr_jdoc_parse(&d, (const char *)b.data, b.len, 0),
	    SKR_ERR_JSON_DUPLICATE);
	skr_jdoc_free(&d);
	skr_buf_free(&b);
}

/*
 * Strings are passed over in blocks (16 bytes with SSE2, 8 without): each
 * byte that needs a look -- quote, backslash escape, control character,
 * DEL, UTF-8 of two and four bytes, bytes that are not UTF-8 -- at every
 * offset of strings up to three blocks long, and right at the end of the
 * input; both parsers must decide alike and read the same text.
 */
static void
test_string_blocks(void)
{
	static const char *const odd[] = {
		"\"", "\\n", "\\u00e9", "\\\"", "\x01", "\x1f", "\x7f",
		"\xc3\xa9", "\xf0\x9f\x98\x80", "\xff", "\xc3", "\xed\xa0\x80", " ",
	};
	char buf[128];
	size_t len, at, k, n, m;

	for (len = 0; len <= 48; len++)
		for (at = 0; at <= len; at++)
			for (k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
				m = strlen(odd[k]);
				buf[0] = '"';
				memset(buf + 1, 'a' + (int)(len % 26), len);
				memcpy(buf + 1 + at, odd[k], m);
				n = 1 + len + m;
				buf[n++] = '"';
				both(buf, n, 0);
				/* Unterminated: the scan must stop at the end. */
				both(buf, n - 1, 0);
			}
}

/* Mutations of valid documents: both parsers must decide alike. */
static void
test_differential(void)
{
	static const char *seeds[] = {
		"{\"target\":\"eyJhbGciOiJSUzI1NiJ9.e30.c2ln\",\"nonce\":\"n\","
		"\"enc\":\"CKM_RSA_AES_KEY_WRAP\"}",
		"{\"a\":[1,-2.5e3,true,false,null,\"\\u00e9\\ud83d\\ude00\"],"
		"\"b\":{\"c\":{\"d\":[[[]]]}}}",
		"[\"\xc3\xa9\",0,{\"\":\"\\\\\"}]",
	};
	static const char alphabet[] = "{}[]\":,\\u0123456789abcdefe+-. "
	    "tnrfl\x00\x80\xc3\xa9\xed\xf4";
	uint64_t rng = 0x1234567;
	char buf[256];
	int i, k, ok = 0;

	for (i = 0; i < 30000; i++) {
		const char *seed = seeds[i % 3];
		size_t n = strlen(seed);

		memcpy(buf, seed, n);
		for (k = 0; k < 1 + i % 4; k++) {
			size_t pos;

			rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
			pos = (size_t)(rng >> 33) % (n + 1);
			switch ((rng >> 20) % 3) {
			case 0:
				if (pos < n)
					buf[pos] = alphabet[(rng >> 40) %
					    (sizeof(alphabet) - 1)];
				break;
			case 1:
				if (n + 1 < sizeof(buf)) {
					memmove(buf + pos + 1, buf + pos,
					    n - pos);
					buf[pos] = alphabet[(rng >> 40) %
					    (sizeof(alphabet) - 1)];
					n++;
				}
				break;
			default:
				if (pos < n) {
					memmove(buf + pos, buf + pos + 1,
					    n - pos - 1);
					n--;
				}
				break;
			}
		}
		if (both(buf, n, 0) == SKR_OK)
			ok++;
	}
	/* The mutations must leave some documents valid. */
	CHECK(ok > 100);
}

static void
check_str_out(const char *in, size_t n)
{
	skr_buf b = SKR_BUF_INIT;
	json_t *v = json_stringn(in, n);
	char *want = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	CHECK(want != NULL);
	CHECK_OK(skr_jw_str(&b, in, n));
	if (want != NULL)
		CHECK_STR(skr_buf_cstr(&b), want);
	free(want);
	json_decref(v);
	skr_buf_free(&b);
}

static void
check_real_out(double d)
{
	skr_buf b = SKR_BUF_INIT;
	json_t *v = json_real(d);
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	CHECK_OK(skr_jw_real(&b, d));
	CHECK_STR(skr_buf_cstr(&b), want);
	free(want);
	json_decref(v);
	skr_buf_free(&b);
}

static void
test_writer(void)
{
	static const double reals[] = {
		0.0, -0.0, 1.0, -1.5, 0.1, 1e22, 1e21, 1e-7, 123456789.0,
		1.7976931348623157e308, 4.9e-324, 2.5e-5, 1e100, -3e-300,
		100.0, 1e16, 12345678901234567890.0,
	};
	skr_buf b = SKR_BUF_INIT;
	size_t i;
	char all[0x21];

	/* Negative first: invalid UTF-8 and non-finite reals are refused. */
	CHECK_ERR(skr_jw_str(&b, "\xc3", 1), SKR_ERR_INVAL);
	CHECK_ERR(skr_jw_str(&b, "a\xed\xa0\x80", 4), SKR_ERR_INVAL);
	CHECK_ERR(skr_jw_str(&b, "\xc0\x80", 2), SKR_ERR_INVAL);
	CHECK_ERR(skr_jw_real(&b, 1.0 / 0.0), SKR_ERR_INVAL);
	CHECK(!skr_utf8_valid("\xf8\x88\x80\x80\x80", 5));
	CHECK(skr_utf8_valid("\xe2\x82\xac", 3));
	skr_buf_reset(&b);

	for (i = 0; i < 0x20; i++)
		all[i] = (char)(i + 1);
	check_str_out(all, 0x1f);
	check_str_out("plain", 5);
	check_str_out("q\"b\\s/\x7f", 7);
	check_str_out("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
	check_str_out("", 0);
	for (i = 0; i < sizeof(reals) / sizeof(reals[0]); i++)
		check_real_out(reals[i]);
	CHECK_OK(skr_jw_key(&b, "k"));
	CHECK_OK(skr_jw_int(&b, INT64_MIN));
	CHECK_OK(skr_buf_append_byte(&b, ','));
	CHECK_OK(skr_jw_bool(&b, 1));
	CHECK_OK(skr_jw_bool(&b, 0));
	CHECK_STR(skr_buf_cstr(&b), "\"k\":-9223372036854775808,truefalse");
	skr_buf_free(&b);
}

int
main(void)
{
	test_refused();
	test_depth();
	test_accepted();
	test_nodes();
	test_many_members();
	test_string_blocks();
	test_differential();
	test_writer();
	return check_done();
}
