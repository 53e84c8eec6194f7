/* Unit tests: release policy parsing (every shape error) and evaluation,
 * and the cache of parsed policies the release path uses, also from
 * several threads at once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "jdoc.h"
#include "json.h"
#include "policy.h"

#define ISS "https://att.example"

/* Expect policy text to be refused with err and a reason containing want. */
static void
refuse(const char *text, int err, const char *want)
{
	skr_buf why = SKR_BUF_INIT;
	skr_policy *p = (skr_policy *)1;

	CHECK_ERR(skr_policy_parse(text, strlen(text), &p, &why), err);
	CHECK(p == NULL);
	if (strstr(skr_buf_cstr(&why), want) == NULL) {
		fprintf(stderr, "  reason \"%s\" lacks \"%s\" (policy %.60s)\n",
		    skr_buf_cstr(&why), want, text);
		CHECK(0);
	}
	skr_buf_free(&why);
}

static skr_policy *
parse_ok(const char *text)
{
	skr_buf why = SKR_BUF_INIT;
	skr_policy *p = NULL;
	int r;

	r = skr_policy_parse(text, strlen(text), &p, &why);
	if (r != SKR_OK)
		fprintf(stderr, "  parse: %s: %s\n", skr_err_id(r),
		    skr_buf_cstr(&why));
	CHECK_OK(r);
	skr_buf_free(&why);
	return p;
}

/* A policy with one rule for ISS whose allOf holds cond. */
static char *
one(const char *cond)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "{\"version\":\"1.0.0\",\"anyOf\":"
	    "[{\"authority\":\"" ISS "\",\"allOf\":[%s]}]}", cond);
	return buf;
}

/* Nest n groups inside a rule (the rule's own group is level 1). */
static char *
nested(int levels, skr_buf *b)
{
	int i;

	skr_buf_reset(b);
	skr_buf_append_str(b, "{\"version\":\"1.0\",\"anyOf\":[{\"authority\":"
	    "\"" ISS "\",\"allOf\":[");
	for (i = 1; i < levels; i++)
		skr_buf_append_str(b, "{\"anyOf\":[");
	skr_buf_append_str(b, "{\"claim\":\"a\",\"exists\":true}");
	for (i = 1; i < levels; i++)
		skr_buf_append_str(b, "]}");
	skr_buf_append_str(b, "]}]}");
	return (char *)b->data;
}

static char *
many(int conds, skr_buf *b)
{
	int i;

	skr_buf_reset(b);
	skr_buf_append_str(b, "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":"
	    "\"" ISS "\",\"allOf\":[");
	for (i = 0; i < conds; i++)
		skr_buf_appendf(b, "%s{\"claim\":\"c%d\",\"exists\":true}",
		    i ? "," : "", i);
	skr_buf_append_str(b, "]}]}");
	return (char *)b->data;
}

static void
test_parse_negative(void)
{
	skr_buf b = SKR_BUF_INIT;
	skr_policy *p;

	refuse("[]", SKR_ERR_POLICY_INVALID, "policy: not a JSON object");
	refuse("\"x\"", SKR_ERR_POLICY_INVALID, "not a JSON object");
	refuse("{", SKR_ERR_POLICY_INVALID, "not valid JSON");
	refuse("{} x", SKR_ERR_POLICY_INVALID, "not valid JSON");
	refuse("{\"version\":\"1.0.0\",\"version\":\"1.0\",\"anyOf\":[]}",
	    SKR_ERR_POLICY_INVALID, "duplicate");
	refuse("{\"anyOf\":[{\"authority\":\"" ISS "\",\"allOf\":[{\"claim\":"
	    "\"a\",\"exists\":true}]}]}", SKR_ERR_POLICY_INVALID,
	    "missing \"version\"");
	refuse("{\"version\":\"2.0\",\"anyOf\":[]}", SKR_ERR_POLICY_INVALID,
	    "unsupported version \"2.0\"");
	refuse("{\"version\":1,\"anyOf\":[]}", SKR_ERR_POLICY_INVALID,
	    "\"version\" must be a string");
	refuse("{\"version\":\"1.0.0\"}", SKR_ERR_POLICY_INVALID,
	    "missing \"anyOf\"");
	refuse("{\"version\":\"1.0.0\",\"anyOf\":[]}", SKR_ERR_POLICY_INVALID,
	    "\"anyOf\" must not be empty");
	refuse("{\"version\":\"1.0.0\",\"anyOf\":{}}", SKR_ERR_POLICY_INVALID,
	    "\"anyOf\" must be an array");
	refuse("{\"version\":\"1.0.0\",\"allOf\":[]}", SKR_ERR_POLICY_INVALID,
	    "policy: unknown member \"allOf\"");
	refuse("{\"version\":\"1.0.0\",\"anyOf\":[1]}", SKR_ERR_POLICY_INVALID,
	    "anyOf[0]: authority rule is not an object");
	refuse("{\"version\":\"1.0.0\",\"anyOf\":[{\"allOf\":[{\"claim\":\"a\","
	    "\"exists\":true}]}]}", SKR_ERR_POLICY_INVALID,
	    "anyOf[0]: missing \"authority\"");
	refuse("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":7,\"allOf\":"
	    "[{\"claim\":\"a\",\"exists\":true}]}]}", SKR_ERR_POLICY_INVALID,
	    "\"authority\" must be a string");
	refuse("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"att\","
	    "\"allOf\":[{\"claim\":\"a\",\"exists\":true}]}]}",
	    SKR_ERR_POLICY_INVALID, "http or https URL");
	refuse("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" ISS "\"}]}",
	    SKR_ERR_POLICY_INVALID, "anyOf[0]: missing \"allOf\" or \"anyOf\"");
	refuse("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" ISS "\","
	    "\"allOf\":[{\"claim\":\"a\",\"exists\":true}],\"anyOf\":"
	    "[{\"claim\":\"a\",\"exists\":true}]}]}", SKR_ERR_POLICY_INVALID,
	    "both \"allOf\" and \"anyOf\"");
	refuse("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" ISS "\","
	    "\"allOf\":[]}]}", SKR_ERR_POLICY_INVALID,
	    "anyOf[0].allOf: must not be empty");
	refuse("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" ISS "\","
	    "\"allOf\":{}}]}", SKR_ERR_POLICY_INVALID, "must be an array");
	refuse("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" ISS "\","
	    "\"allof\":[]}]}", SKR_ERR_POLICY_INVALID,
	    "unknown member \"allof\"");

	refuse(one("{\"claim\":\"a\",\"exists\":true},{\"claim\":\"b\","
	    "\"exists\":true},{\"claim\":\"c\",\"equal\":\"x\"}"),
	    SKR_ERR_POLICY_INVALID,
	    "anyOf[0].allOf[2]: unknown operator \"equal\"");
	refuse(one("{\"claim\":\"a\",\"equals\":\"x\",\"notEquals\":\"y\"}"),
	    SKR_ERR_POLICY_INVALID, "anyOf[0].allOf[0]: more than one operator");
	refuse(one("{\"claim\":\"a\"}"), SKR_ERR_POLICY_INVALID,
	    "missing operator");
	refuse(one("{\"equals\":\"a\"}"), SKR_ERR_POLICY_INVALID,
	    "missing \"claim\"");
	refuse(one("{\"claim\":1,\"equals\":\"a\"}"), SKR_ERR_POLICY_INVALID,
	    "\"claim\" must be a string");
	refuse(one("{\"claim\":\"\",\"equals\":\"a\"}"), SKR_ERR_POLICY_INVALID,
	    "empty claim");
	refuse(one("{\"claim\":\"a..b\",\"equals\":\"a\"}"),
	    SKR_ERR_POLICY_INVALID, "empty path segment");
	refuse(one("{\"claim\":\"a.\",\"equals\":\"a\"}"),
	    SKR_ERR_POLICY_INVALID, "empty path segment");
	refuse(one("{\"claim\":\"a\",\"equals\":null}"), SKR_ERR_POLICY_INVALID,
	    "equals: value must be a string, number or boolean");
	refuse(one("{\"claim\":\"a\",\"equals\":[1]}"), SKR_ERR_POLICY_INVALID,
	    "equals: value must be");
	refuse(one("{\"claim\":\"a\",\"notEquals\":{}}"), SKR_ERR_POLICY_INVALID,
	    "notEquals: value must be");
	refuse(one("{\"claim\":\"a\",\"greater\":\"5\"}"),
	    SKR_ERR_POLICY_INVALID, "greater: value must be a number");
	refuse(one("{\"claim\":\"a\",\"lessOrEquals\":true}"),
	    SKR_ERR_POLICY_INVALID, "lessOrEquals: value must be a number");
	refuse(one("{\"claim\":\"a\",\"exists\":\"true\"}"),
	    SKR_ERR_POLICY_INVALID, "exists: value must be true or false");
	refuse(one("{\"claim\":\"a\",\"in\":\"x\"}"), SKR_ERR_POLICY_INVALID,
	    "in: value must be an array");
	refuse(one("{\"claim\":\"a\",\"in\":[]}"), SKR_ERR_POLICY_INVALID,
	    "in: value must not be an empty array");
	refuse(one("{\"claim\":\"a\",\"in\":[\"x\",{}]}"),
	    SKR_ERR_POLICY_INVALID, "array members");
	refuse(one("{\"allOf\":[{\"claim\":\"a\",\"exists\":true}],"
	    "\"anyOf\":[{\"claim\":\"a\",\"exists\":true}]}"),
	    SKR_ERR_POLICY_INVALID, "allOf[0]: both");
	refuse(one("{\"allOf\":[{\"claim\":\"a\",\"exists\":true}],"
	    "\"claim\":\"b\"}"), SKR_ERR_POLICY_INVALID, "a group has only");
	refuse(one("{\"anyOf\":[]}"), SKR_ERR_POLICY_INVALID,
	    "anyOf[0].allOf[0].anyOf: must not be empty");
	refuse(one("{\"anyOf\":[{\"claim\":\"a\",\"exists\":true},"
	    "{\"claim\":\"a\",\"equal\":1}]}"), SKR_ERR_POLICY_INVALID,
	    "anyOf[0].allOf[0].anyOf[1]: unknown operator \"equal\"");
	refuse(one("7"), SKR_ERR_POLICY_INVALID, "condition is not an object");
	/* Legacy form errors. */
	refuse(one("{\"claim\":\"a\",\"condition\":\"equal\",\"value\":1}"),
	    SKR_ERR_POLICY_INVALID, "unknown operator \"equal\"");
	refuse(one("{\"claim\":\"a\",\"condition\":\"equals\"}"),
	    SKR_ERR_POLICY_INVALID, "missing \"value\"");
	refuse(one("{\"claim\":\"a\",\"condition\":\"equals\",\"value\":1,"
	    "\"equals\":2}"), SKR_ERR_POLICY_INVALID, "unknown member");
	refuse(one("{\"claim\":\"a\",\"condition\":3,\"value\":1}"),
	    SKR_ERR_POLICY_INVALID, "\"condition\" must be a string");
	/* maxAgeSeconds. */
	refuse("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" ISS "\","
	    "\"maxAgeSeconds\":-1,\"allOf\":[{\"claim\":\"a\",\"exists\":true}]}"
	    "]}", SKR_ERR_POLICY_INVALID, "must not be negative");
	refuse("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" ISS "\","
	    "\"maxAgeSeconds\":1.5,\"allOf\":[{\"claim\":\"a\",\"exists\":true}"
	    "]}]}", SKR_ERR_POLICY_INVALID, "must be an integer");
	refuse("{\"version\":\"1.0.0\",\"requireServerNonce\":1,\"anyOf\":[]}",
	    SKR_ERR_POLICY_INVALID, "requireServerNonce");

	/* Limits. */
	p = parse_ok(nested(16, &b));
	skr_policy_free(p);
	refuse(nested(17, &b), SKR_ERR_POLICY_TOO_LARGE,
	    "nested deeper than 16");
	refuse(nested(40, &b), SKR_ERR_POLICY_TOO_LARGE, "nested");
	p = parse_ok(many(512, &b));
	skr_policy_free(p);
	refuse(many(513, &b), SKR_ERR_POLICY_TOO_LARGE,
	    "anyOf[0].allOf[512]: more than 512 conditions");
	skr_buf_reset(&b);
	skr_buf_append_str(&b, one("{\"claim\":\"a\",\"equals\":\"\"}"));
	/* Pad the string value so the whole text is exactly 32 KiB + 1. */
	{
		size_t pad = SKR_POLICY_MAX_BYTES + 1 - b.len;
		skr_buf c = SKR_BUF_INIT;
		char *q = strstr((char *)b.data, "\"\"}");

		skr_buf_append(&c, b.data, (size_t)(q - (char *)b.data) + 1);
		for (size_t i = 0; i < pad; i++)
			skr_buf_append_byte(&c, 'x');
		skr_buf_append_str(&c, q + 1);
		CHECK(c.len == SKR_POLICY_MAX_BYTES + 1);
		refuse((char *)c.data, SKR_ERR_POLICY_TOO_LARGE,
		    "larger than 32768");
		/* One byte less parses. */
		skr_buf_reset(&c);
		skr_buf_append(&c, b.data, (size_t)(q - (char *)b.data) + 1);
		for (size_t i = 0; i + 1 < pad; i++)
			skr_buf_append_byte(&c, 'x');
		skr_buf_append_str(&c, q + 1);
		p = parse_ok((char *)c.data);
		skr_policy_free(p);
		skr_buf_free(&c);
	}
	/* Invalid UTF-8. */
	refuse(one("{\"claim\":\"a\",\"equals\":\"\xff\"}"),
	    SKR_ERR_POLICY_INVALID, "not valid JSON");
	/* No why buffer is fine. */
	CHECK_ERR(skr_policy_parse("[]", 2, &p, NULL), SKR_ERR_POLICY_INVALID);
	skr_buf_free(&b);
}

/*
 * The evaluation over a jdoc document (the release path) decides as the one
 * over a jansson tree, with the same trace digest, and the trace text is
 * canonical: jansson, dumping the parsed trace with sorted keys, writes
 * exactly the bytes the digest was taken over.
 */
static void
check_same_as_doc(const skr_policy *p, const char *claims_text, int want,
    skr_policy_result *tree_res)
{
	skr_policy_result res = SKR_POLICY_RESULT_INIT;
	skr_jdoc doc = SKR_JDOC_INIT;
	const json_t *trace;
	char *again;

	CHECK_OK(skr_jdoc_parse(&doc, claims_text, strlen(claims_text), 0));
	CHECK_ERR(skr_policy_eval_doc(p, &doc, skr_jdoc_root(&doc), ISS, 1000,
	    &res), want);
	CHECK_STR(res.trace_digest, tree_res->trace_digest);
	CHECK(res.trace == NULL);
	trace = skr_policy_result_trace(&res);
	CHECK(trace != NULL && json_equal(trace, tree_res->trace));
	again = json_dumps(trace, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK(again != NULL && strcmp(again, skr_buf_cstr(&res.trace_text)) ==
	    0);
	CHECK(json_array_size(res.failed_claims) ==
	    json_array_size(tree_res->failed_claims));
	free(again);
	skr_policy_result_clear(&res);
	skr_jdoc_free(&doc);
}

/* Evaluate a one-condition policy against claims; return the error. */
static int
eval1(const char *cond, const char *claims_text)
{
	skr_policy_result res = SKR_POLICY_RESULT_INIT;
	skr_policy *p;
	json_t *claims = NULL;
	int r;

	if ((p = parse_ok(one(cond))) == NULL)
		return SKR_ERR_INTERNAL;
	CHECK_OK(skr_json_parse(claims_text, strlen(claims_text), 0,
	    &claims));
	r = skr_policy_eval(p, claims, ISS, 1000, &res);
	CHECK(res.allowed == (r == SKR_OK));
	CHECK(strlen(res.trace_digest) == 64);
	check_same_as_doc(p, claims_text, r, &res);
	skr_policy_result_clear(&res);
	json_decref(claims);
	skr_policy_free(p);
	return r;
}

#define ALLOW(c, j) CHECK_ERR(eval1(c, j), SKR_OK)
#define DENY(c, j) CHECK_ERR(eval1(c, j), SKR_ERR_POLICY_DENIED)

static void
test_operators(void)
{
	/* equals: strings case-sensitively, scalars by their JSON text. */
	ALLOW("{\"claim\":\"a\",\"equals\":\"x\"}", "{\"a\":\"x\"}");
	DENY("{\"claim\":\"a\",\"equals\":\"x\"}", "{\"a\":\"X\"}");
	DENY("{\"claim\":\"a\",\"equals\":\"x\"}", "{\"a\":\"x \"}");
	DENY("{\"claim\":\"a\",\"equals\":\"x\"}", "{\"b\":\"x\"}");
	DENY("{\"claim\":\"a\",\"equals\":\"x\"}", "{\"a\":[\"x\"]}");
	DENY("{\"claim\":\"a\",\"equals\":\"x\"}", "{\"a\":{\"x\":1}}");
	DENY("{\"claim\":\"a\",\"equals\":\"null\"}", "{\"a\":null}");
	ALLOW("{\"claim\":\"a\",\"equals\":\"false\"}", "{\"a\":false}");
	ALLOW("{\"claim\":\"a\",\"equals\":false}", "{\"a\":false}");
	ALLOW("{\"claim\":\"a\",\"equals\":false}", "{\"a\":\"false\"}");
	DENY("{\"claim\":\"a\",\"equals\":false}", "{\"a\":true}");
	DENY("{\"claim\":\"a\",\"equals\":false}", "{\"a\":0}");
	DENY("{\"claim\":\"a\",\"equals\":\"False\"}", "{\"a\":false}");
	ALLOW("{\"claim\":\"a\",\"equals\":\"0\"}", "{\"a\":0}");
	ALLOW("{\"claim\":\"a\",\"equals\":0}", "{\"a\":\"0\"}");
	ALLOW("{\"claim\":\"a\",\"equals\":1}", "{\"a\":1.0}");
	ALLOW("{\"claim\":\"a\",\"equals\":1.0}", "{\"a\":1}");
	/* A string claim is compared with the number's JSON text. */
	DENY("{\"claim\":\"a\",\"equals\":1.0}", "{\"a\":\"1\"}");
	ALLOW("{\"claim\":\"a\",\"equals\":1.5}", "{\"a\":\"1.5\"}");
	ALLOW("{\"claim\":\"a\",\"equals\":\"0.1\"}", "{\"a\":0.1}");
	DENY("{\"claim\":\"a\",\"equals\":\"01\"}", "{\"a\":1}");
	ALLOW("{\"claim\":\"a\",\"equals\":-7}", "{\"a\":\"-7\"}");
	/* notEquals: a missing claim is still false. */
	ALLOW("{\"claim\":\"a\",\"notEquals\":\"x\"}", "{\"a\":\"y\"}");
	DENY("{\"claim\":\"a\",\"notEquals\":\"x\"}", "{\"a\":\"x\"}");
	DENY("{\"claim\":\"a\",\"notEquals\":\"x\"}", "{}");
	DENY("{\"claim\":\"a\",\"notEquals\":true}", "{\"a\":\"true\"}");
	/* Ordering: numbers only. */
	ALLOW("{\"claim\":\"a\",\"greaterOrEquals\":115}", "{\"a\":115}");
	ALLOW("{\"claim\":\"a\",\"greaterOrEquals\":115}", "{\"a\":116}");
	DENY("{\"claim\":\"a\",\"greaterOrEquals\":115}", "{\"a\":114}");
	DENY("{\"claim\":\"a\",\"greaterOrEquals\":115}", "{\"a\":\"116\"}");
	DENY("{\"claim\":\"a\",\"greaterOrEquals\":1}", "{\"a\":true}");
	DENY("{\"claim\":\"a\",\"greaterOrEquals\":1}", "{}");
	ALLOW("{\"claim\":\"a\",\"greater\":1}", "{\"a\":2}");
	DENY("{\"claim\":\"a\",\"greater\":1}", "{\"a\":1}");
	ALLOW("{\"claim\":\"a\",\"greater\":1}", "{\"a\":1.5}");
	ALLOW("{\"claim\":\"a\",\"less\":1}", "{\"a\":0}");
	DENY("{\"claim\":\"a\",\"less\":1}", "{\"a\":1}");
	ALLOW("{\"claim\":\"a\",\"less\":1.5}", "{\"a\":1}");
	ALLOW("{\"claim\":\"a\",\"lessOrEquals\":1}", "{\"a\":1}");
	DENY("{\"claim\":\"a\",\"lessOrEquals\":1}", "{\"a\":2}");
	ALLOW("{\"claim\":\"a\",\"lessOrEquals\":-1}",
	    "{\"a\":-9223372036854775807}");
	DENY("{\"claim\":\"a\",\"less\":9223372036854775807}",
	    "{\"a\":9223372036854775807}");
	/* exists. */
	ALLOW("{\"claim\":\"a\",\"exists\":true}", "{\"a\":null}");
	DENY("{\"claim\":\"a\",\"exists\":true}", "{}");
	ALLOW("{\"claim\":\"a\",\"exists\":false}", "{}");
	DENY("{\"claim\":\"a\",\"exists\":false}", "{\"a\":false}");
	ALLOW("{\"claim\":\"a.b\",\"exists\":false}", "{\"a\":\"b\"}");
	/* in. */
	ALLOW("{\"claim\":\"a\",\"in\":[\"x\",\"y\"]}", "{\"a\":\"y\"}");
	DENY("{\"claim\":\"a\",\"in\":[\"x\",\"y\"]}", "{\"a\":\"z\"}");
	DENY("{\"claim\":\"a\",\"in\":[\"x\"]}", "{}");
	ALLOW("{\"claim\":\"a\",\"in\":[1,2,3]}", "{\"a\":2}");
	ALLOW("{\"claim\":\"a\",\"in\":[\"2\"]}", "{\"a\":2}");
	/* Paths. */
	ALLOW("{\"claim\":\"a.b.c\",\"equals\":\"x\"}",
	    "{\"a\":{\"b\":{\"c\":\"x\"}}}");
	DENY("{\"claim\":\"a.b.c\",\"equals\":\"x\"}", "{\"a\":{\"b\":\"x\"}}");
	DENY("{\"claim\":\"a.b\",\"equals\":\"x\"}", "{\"a.b\":\"x\"}");
	/* Legacy form. */
	ALLOW("{\"claim\":\"a\",\"condition\":\"equals\",\"value\":\"x\"}",
	    "{\"a\":\"x\"}");
	DENY("{\"claim\":\"a\",\"condition\":\"greater\",\"value\":5}",
	    "{\"a\":5}");
	/* Nesting. */
	ALLOW("{\"anyOf\":[{\"claim\":\"a\",\"equals\":1},{\"allOf\":["
	    "{\"claim\":\"b\",\"equals\":2},{\"claim\":\"c\",\"equals\":3}]}]}",
	    "{\"b\":2,\"c\":3}");
	DENY("{\"anyOf\":[{\"claim\":\"a\",\"equals\":1},{\"allOf\":["
	    "{\"claim\":\"b\",\"equals\":2},{\"claim\":\"c\",\"equals\":3}]}]}",
	    "{\"b\":2,\"c\":4}");
}

static void
eval_text(const char *policy, const char *claims_text, const char *iss,
    int64_t now, int want, skr_policy_result *res)
{
	skr_policy *p;
	json_t *claims = NULL;

	p = parse_ok(policy);
	CHECK_OK(skr_json_parse(claims_text, strlen(claims_text), 0,
	    &claims));
	if (p != NULL && claims != NULL)
		CHECK_ERR(skr_policy_eval(p, claims, iss, now, res), want);
	json_decref(claims);
	skr_policy_free(p);
}

static void
test_rules(void)
{
	skr_policy_result res = SKR_POLICY_RESULT_INIT;
	skr_policy *p;
	json_t *rule, *c;
	const char *two =
	    "{\"version\":\"1.0.0\",\"anyOf\":["
	    "{\"authority\":\"https://other.example\",\"allOf\":["
	    "{\"claim\":\"tee\",\"equals\":\"sgx\"}]},"
	    "{\"authority\":\"" ISS "/\",\"allOf\":["
	    "{\"claim\":\"tee\",\"equals\":\"sgx\"},"
	    "{\"claim\":\"svn\",\"greaterOrEquals\":3},"
	    "{\"claim\":\"debug\",\"equals\":false}]}]}";

	/* Trailing slash on the authority, on the issuer, on both. */
	CHECK(skr_policy_issuer_match(ISS "/", ISS));
	CHECK(skr_policy_issuer_match(ISS, ISS "/"));
	CHECK(skr_policy_issuer_match(ISS "/", ISS "/"));
	CHECK(!skr_policy_issuer_match(ISS "//", ISS));
	CHECK(!skr_policy_issuer_match(ISS, "https://ATT.example"));
	CHECK(!skr_policy_issuer_match(ISS, ISS "/x"));
	CHECK(!skr_policy_issuer_match(ISS, "http://att.example"));
	CHECK(!skr_policy_issuer_match(ISS, ISS ":443"));
	CHECK(!skr_policy_issuer_match("/", ""));

	eval_text(two, "{\"tee\":\"sgx\",\"svn\":3,\"debug\":false}", ISS,
	    1000, SKR_OK, &res);
	CHECK(res.allowed == 1);
	CHECK(res.denial.len == 0);
	CHECK(json_array_size(res.failed_claims) == 0);
	CHECK_STR(json_string_value(json_object_get(res.trace, "decision")),
	    "allow");
	rule = json_array_get(json_object_get(res.trace, "rules"), 1);
	CHECK(json_is_true(json_object_get(rule, "matches_issuer")));
	CHECK(json_is_true(json_object_get(rule, "result")));
	c = json_array_get(json_object_get(rule, "conditions"), 1);
	CHECK_STR(json_string_value(json_object_get(c, "claim")), "svn");
	CHECK_STR(json_string_value(json_object_get(c, "op")),
	    "greaterOrEquals");
	CHECK(json_integer_value(json_object_get(c, "expected")) == 3);
	CHECK(json_integer_value(json_object_get(c, "actual")) == 3);
	CHECK(json_is_true(json_object_get(c, "result")));
	/* The rule for another issuer is traced but cannot allow. */
	rule = json_array_get(json_object_get(res.trace, "rules"), 0);
	CHECK(json_is_false(json_object_get(rule, "matches_issuer")));
	CHECK(json_is_false(json_object_get(rule, "result")));
	skr_policy_result_clear(&res);

	/* Denial names the first failing condition, not its value. */
	eval_text(two, "{\"tee\":\"sgx\",\"svn\":2,\"debug\":true}", ISS,
	    1000, SKR_ERR_POLICY_DENIED, &res);
	CHECK(res.allowed == 0);
	CHECK(json_array_size(res.failed_claims) == 1);
	CHECK_STR(json_string_value(json_array_get(res.failed_claims, 0)),
	    "svn");
	CHECK(strstr(skr_buf_cstr(&res.denial), "anyOf[1]") != NULL);
	CHECK(strstr(skr_buf_cstr(&res.denial), "svn") != NULL);
	CHECK(strstr(skr_buf_cstr(&res.denial), "debug") == NULL);
	CHECK_STR(json_string_value(json_object_get(res.trace, "decision")),
	    "deny");
	c = json_array_get(json_object_get(json_array_get(json_object_get(
	    res.trace, "rules"), 1), "conditions"), 2);
	CHECK(json_is_true(json_object_get(c, "actual")));
	CHECK(json_is_false(json_object_get(c, "result")));
	skr_policy_result_clear(&res);

	/* A missing claim is traced as absent. */
	eval_text(two, "{\"svn\":5,\"debug\":false}", ISS, 1000,
	    SKR_ERR_POLICY_DENIED, &res);
	c = json_array_get(json_object_get(json_array_get(json_object_get(
	    res.trace, "rules"), 1), "conditions"), 0);
	CHECK(json_is_false(json_object_get(c, "present")));
	CHECK(json_object_get(c, "actual") == NULL);
	CHECK_STR(json_string_value(json_array_get(res.failed_claims, 0)),
	    "tee");
	skr_policy_result_clear(&res);

	/* The right claims from the wrong issuer. */
	eval_text(two, "{\"tee\":\"sgx\",\"svn\":3,\"debug\":false}",
	    "https://evil.example", 1000, SKR_ERR_POLICY_DENIED, &res);
	CHECK(strstr(skr_buf_cstr(&res.denial), "no rule for issuer") != NULL);
	skr_policy_result_clear(&res);
	eval_text(two, "{\"tee\":\"sgx\",\"svn\":3,\"debug\":false}",
	    ISS "/x", 1000, SKR_ERR_POLICY_DENIED, &res);
	skr_policy_result_clear(&res);
	/* The other authority's rule applies to its own tokens. */
	eval_text(two, "{\"tee\":\"sgx\",\"svn\":0}",
	    "https://other.example/", 1000, SKR_OK, &res);
	skr_policy_result_clear(&res);

	/* Both rules' failures are named. */
	eval_text("{\"version\":\"1.0.0\",\"anyOf\":["
	    "{\"authority\":\"" ISS "\",\"allOf\":[{\"claim\":\"x\","
	    "\"exists\":true}]},"
	    "{\"authority\":\"" ISS "\",\"anyOf\":[{\"claim\":\"y\","
	    "\"exists\":true},{\"claim\":\"z\",\"exists\":true}]}]}",
	    "{}", ISS, 1000, SKR_ERR_POLICY_DENIED, &res);
	CHECK(json_array_size(res.failed_claims) == 2);
	CHECK_STR(json_string_value(json_array_get(res.failed_claims, 0)),
	    "x");
	CHECK_STR(json_string_value(json_array_get(res.failed_claims, 1)),
	    "y");
	skr_policy_result_clear(&res);

	/* Nested: the first failing leaf inside the failing group. */
	eval_text(one("{\"claim\":\"a\",\"exists\":true},{\"anyOf\":["
	    "{\"allOf\":[{\"claim\":\"b\",\"equals\":1},{\"claim\":\"c\","
	    "\"equals\":1}]},{\"claim\":\"d\",\"equals\":1}]}"),
	    "{\"a\":1,\"b\":1,\"c\":2,\"d\":2}", ISS, 1000,
	    SKR_ERR_POLICY_DENIED, &res);
	CHECK_STR(json_string_value(json_array_get(res.failed_claims, 0)),
	    "c");
	skr_policy_result_clear(&res);

	/* maxAgeSeconds. */
	{
		const char *aged = "{\"version\":\"1.0.0\",\"anyOf\":[{"
		    "\"authority\":\"" ISS "\",\"maxAgeSeconds\":300,\"allOf\":["
		    "{\"claim\":\"a\",\"exists\":true}]}]}";

		eval_text(aged, "{\"a\":1,\"iat\":1000}", ISS, 1300, SKR_OK,
		    &res);
		skr_policy_result_clear(&res);
		eval_text(aged, "{\"a\":1,\"iat\":1000}", ISS, 1301,
		    SKR_ERR_POLICY_DENIED, &res);
		CHECK_STR(json_string_value(json_array_get(res.failed_claims,
		    0)), "iat");
		c = json_object_get(json_array_get(json_object_get(res.trace,
		    "rules"), 0), "maxAge");
		CHECK(json_is_false(json_object_get(c, "result")));
		skr_policy_result_clear(&res);
		eval_text(aged, "{\"a\":1}", ISS, 1000, SKR_ERR_POLICY_DENIED,
		    &res);
		skr_policy_result_clear(&res);
		eval_text(aged, "{\"a\":1,\"iat\":\"1000\"}", ISS, 1000,
		    SKR_ERR_POLICY_DENIED, &res);
		skr_policy_result_clear(&res);
		/* An iat at the bottom of the range is as old as it gets,
		 * not young by overflow. */
		eval_text(aged, "{\"a\":1,\"iat\":-9223372036854775000}",
		    ISS, 1700000000, SKR_ERR_POLICY_DENIED, &res);
		skr_policy_result_clear(&res);
		/* A NumericDate may have a fraction. */
		eval_text(aged, "{\"a\":1,\"iat\":1000.5}", ISS, 1300,
		    SKR_OK, &res);
		skr_policy_result_clear(&res);
		eval_text(aged, "{\"a\":1,\"iat\":999.5}", ISS, 1300,
		    SKR_ERR_POLICY_DENIED, &res);
		skr_policy_result_clear(&res);
	}

	/* The digest is deterministic and depends on the trace. */
	{
		char d1[65], d2[65];

		eval_text(two, "{\"tee\":\"sgx\",\"svn\":3,\"debug\":false}",
		    ISS, 1000, SKR_OK, &res);
		memcpy(d1, res.trace_digest, 65);
		skr_policy_result_clear(&res);
		eval_text(two, "{\"debug\":false,\"svn\":3,\"tee\":\"sgx\"}",
		    ISS, 1000, SKR_OK, &res);
		memcpy(d2, res.trace_digest, 65);
		CHECK_STR(d1, d2);
		skr_policy_result_clear(&res);
		eval_text(two, "{\"tee\":\"sgx\",\"svn\":4,\"debug\":false}",
		    ISS, 1000, SKR_OK, &res);
		CHECK(strcmp(d1, res.trace_digest) != 0);
		skr_policy_result_clear(&res);
	}

	/* Accessors. */
	p = parse_ok("{\"version\":\"0.2\",\"requireServerNonce\":true,"
	    "\"anyOf\":[{\"authority\":\"" ISS "\",\"allOf\":[{\"claim\":\"a\","
	    "\"exists\":true}]}]}");
	CHECK(p != NULL && skr_policy_require_server_nonce(p) == 1);
	CHECK(p != NULL && skr_policy_rule_count(p) == 1);
	CHECK_STR(p ? skr_policy_rule_authority(p, 0) : NULL, ISS);
	CHECK(p != NULL && skr_policy_rule_authority(p, 1) == NULL);
	/* Not an object: refused. */
	{
		json_t *arr = json_array();

		CHECK_ERR(skr_policy_eval(p, arr, ISS, 0, &res), SKR_ERR_INVAL);
		json_decref(arr);
	}
	skr_policy_free(p);
	p = parse_ok(one("{\"claim\":\"a\",\"exists\":true}"));
	CHECK(p != NULL && skr_policy_require_server_nonce(p) == 0);
	skr_policy_free(p);
}

/* ---- the cache of parsed policies ---------------------------------------- */

/* A policy for ISS allowing x-ms-attestation-type == type. */
static char *
policy_for(const char *type, char *buf, size_t len)
{
	snprintf(buf, len, "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":"
	    "\"%s\",\"allOf\":[{\"claim\":\"x-ms-attestation-type\","
	    "\"equals\":\"%s\"}]}]}", ISS, type);
	return buf;
}

/* Evaluate p over {"x-ms-attestation-type": type}: SKR_OK when allowed. */
static int
eval_type(const skr_policy *p, const char *type)
{
	skr_policy_result res = SKR_POLICY_RESULT_INIT;
	skr_jdoc doc = SKR_JDOC_INIT;
	char claims[128];
	int r;

	snprintf(claims, sizeof(claims), "{\"x-ms-attestation-type\":\"%s\"}",
	    type);
	if ((r = skr_jdoc_parse(&doc, claims, strlen(claims), 0)) == SKR_OK)
		r = skr_policy_eval_doc(p, &doc, skr_jdoc_root(&doc), ISS, 1000,
		    &res);
	skr_policy_result_clear(&res);
	skr_jdoc_free(&doc);
	return r;
}

/*
 * skr_policy_parse_cached: the same bytes give the same parsed policy
 * (a hit), other bytes -- even the same JSON spelled otherwise -- another;
 * a text that does not parse is refused every time and never kept; a
 * reference outlives its entry's eviction and a clear.
 */
static void
test_cache(void)
{
	skr_policy *a = NULL, *b = NULL, *c = NULL, *held = NULL, *q;
	char t1[512], t2[512], spaced[600];
	uint64_t h0, m0, h1, m1;
	int i, ok = 1;

	skr_policy_cache_clear();
	policy_for("sevsnpvm", t1, sizeof(t1));
	policy_for("tdxvm", t2, sizeof(t2));
	snprintf(spaced, sizeof(spaced), " %s", t1);
	skr_policy_cache_stats(&h0, &m0);
	CHECK_OK(skr_policy_parse_cached(t1, strlen(t1), &a));
	CHECK_OK(skr_policy_parse_cached(t1, strlen(t1), &b));
	CHECK(a != NULL && a == b);
	CHECK_OK(skr_policy_parse_cached(t2, strlen(t2), &c));
	CHECK(c != NULL && c != a);
	skr_policy_free(c);
	CHECK_OK(skr_policy_parse_cached(spaced, strlen(spaced), &c));
	CHECK(c != NULL && c != a);
	skr_policy_cache_stats(&h1, &m1);
	CHECK(h1 == h0 + 1 && m1 == m0 + 3);
	CHECK_OK(eval_type(a, "sevsnpvm"));
	CHECK_ERR(eval_type(a, "tdxvm"), SKR_ERR_POLICY_DENIED);
	CHECK_OK(eval_type(c, "sevsnpvm"));
	skr_policy_free(b);
	skr_policy_free(c);

	/* Refused, and refused again: nothing was kept. */
	for (i = 0; i < 2; i++) {
		static const char bad[] = "{\"version\":\"1.0.0\"}";

		q = (skr_policy *)1;
		CHECK_ERR(skr_policy_parse_cached(bad, strlen(bad), &q),
		    SKR_ERR_POLICY_INVALID);
		CHECK(q == NULL);
	}
	skr_policy_cache_stats(&h0, &m0);
	CHECK(h0 == h1 && m0 == m1 + 2);

	/* a's entry pushed out by 64 other texts: a is still whole, and the
	 * same text is parsed anew. */
	held = a;
	for (i = 0; i < 70; i++) {
		char type[16], t[512];

		snprintf(type, sizeof(type), "type-%d", i);
		policy_for(type, t, sizeof(t));
		q = NULL;
		CHECK_OK(skr_policy_parse_cached(t, strlen(t), &q));
		ok &= q != NULL && eval_type(q, type) == SKR_OK;
		skr_policy_free(q);
	}
	CHECK(ok);
	CHECK_OK(eval_type(held, "sevsnpvm"));
	CHECK_OK(skr_policy_parse_cached(t1, strlen(t1), &a));
	CHECK(a != NULL && a != held);
	skr_policy_free(held);
	/* Cleared: a reference held elsewhere stays valid. */
	skr_policy_cache_clear();
	CHECK_OK(eval_type(a, "sevsnpvm"));
	skr_policy_free(a);
}

#define CACHE_THREADS 4
#define CACHE_ROUNDS 300

static atomic_int cache_bad;

/* Parse through the cache and evaluate, over a few texts, while another
 * thread clears the cache now and then (ThreadSanitizer runs this). */
static void *
cache_thread(void *arg)
{
	static const char *const types[] = { "sevsnpvm", "tdxvm", "sgx" };
	skr_policy *p;
	char t[512];
	int i, id = (int)(intptr_t)arg;

	for (i = 0; i < CACHE_ROUNDS; i++) {
		const char *type = types[(i + id) % 3];

		if (id == 0 && i % 50 == 0)
			skr_policy_cache_clear();
		policy_for(type, t, sizeof(t));
		p = NULL;
		if (skr_policy_parse_cached(t, strlen(t), &p) != SKR_OK ||
		    eval_type(p, type) != SKR_OK ||
		    eval_type(p, "other") != SKR_ERR_POLICY_DENIED)
			atomic_fetch_add(&cache_bad, 1);
		skr_policy_free(p);
	}
	return NULL;
}

static void
test_cache_threads(void)
{
	pthread_t th[CACHE_THREADS];
	int i, started = 0;

	for (i = 0; i < CACHE_THREADS; i++)
		if (pthread_create(&th[i], NULL, cache_thread,
		    (void *)(intptr_t)i) == 0)
			started++;
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	CHECK(started == CACHE_THREADS);
	CHECK(atomic_load(&cache_bad) == 0);
	skr_policy_cache_clear();
}

int
main(void)
{
	test_parse_negative();
	test_operators();
	test_rules();
	test_cache();
	test_cache_threads();
	return check_done();
}
