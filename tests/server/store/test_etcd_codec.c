/*
 * The etcd gateway codec (server/store/etcd/etcd_codec.h) without etcd:
 * requests built to the exact text the gateway takes, answers of etcd
 * 3.4 parsed (taken from a real member), and every way an answer is
 * refused: not JSON, wrong types, numbers that are not decimal int64 or
 * are out of range, base64 that does not decode, missing members, events
 * out of order, messages of a stream cut anywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "etcd_codec.h"

#define B(s) (const uint8_t *)(s), strlen(s)

/* ---- requests ----------------------------------------------------------- */

static void
test_build(void)
{
	skr_buf out = SKR_BUF_INIT, pw = SKR_BUF_INIT_SECRET;
	skr_etcd_range_req rq = { 0 };
	skr_etcd_cmp cmp[2] = {
		{ B("foo"), SKR_ETCD_CMP_MOD, SKR_ETCD_EQUAL, 5 },
		{ B("a"), SKR_ETCD_CMP_CREATE, SKR_ETCD_LESS, 0 },
	};
	skr_etcd_op ops[3] = {
		{ SKR_ETCD_OP_PUT, B("foo"), NULL, 0, B("bar") },
		{ SKR_ETCD_OP_DELETE, B("p/"), B("p0"), NULL, 0 },
		{ SKR_ETCD_OP_RANGE, B("x"), NULL, 0, NULL, 0 },
	};

	rq.key = (const uint8_t *)"foo";
	rq.key_len = 3;
	CHECK_OK(skr_etcd_range_req_build(&rq, &out));
	CHECK_STR(skr_buf_cstr(&out), "{\"key\":\"Zm9v\"}");
	rq.range_end = (const uint8_t *)"\0";
	rq.range_end_len = 1;
	rq.limit = 10;
	rq.revision = 12345678901LL;
	rq.keys_only = rq.count_only = 1;
	CHECK_OK(skr_etcd_range_req_build(&rq, &out));
	CHECK_STR(skr_buf_cstr(&out), "{\"key\":\"Zm9v\",\"range_end\":\"AA==\","
	    "\"limit\":\"10\",\"revision\":\"12345678901\",\"keys_only\":true,"
	    "\"count_only\":true}");
	rq.revision = -1;
	CHECK_ERR(skr_etcd_range_req_build(&rq, &out), SKR_ERR_INVAL);
	rq.revision = 0;
	rq.key = NULL;
	CHECK_ERR(skr_etcd_range_req_build(&rq, &out), SKR_ERR_INVAL);

	CHECK_OK(skr_etcd_txn_req_build(cmp, 2, ops, 2, &ops[2], 1, &out));
	CHECK_STR(skr_buf_cstr(&out), "{\"compare\":[{\"key\":\"Zm9v\","
	    "\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"5\"},"
	    "{\"key\":\"YQ==\",\"target\":\"CREATE\",\"result\":\"LESS\","
	    "\"create_revision\":\"0\"}],\"success\":[{\"request_put\":"
	    "{\"key\":\"Zm9v\",\"value\":\"YmFy\"}},{\"request_delete_range\":"
	    "{\"key\":\"cC8=\",\"range_end\":\"cDA=\"}}],\"failure\":"
	    "[{\"request_range\":{\"key\":\"eA==\"}}]}");
	/* Nothing at all is a valid (empty) txn. */
	CHECK_OK(skr_etcd_txn_req_build(NULL, 0, NULL, 0, NULL, 0, &out));
	CHECK_STR(skr_buf_cstr(&out), "{}");
	cmp[0].target = 7;
	CHECK_ERR(skr_etcd_txn_req_build(cmp, 1, NULL, 0, NULL, 0, &out),
	    SKR_ERR_INVAL);
	cmp[0].target = SKR_ETCD_CMP_MOD;
	cmp[0].value = -2;
	CHECK_ERR(skr_etcd_txn_req_build(cmp, 1, NULL, 0, NULL, 0, &out),
	    SKR_ERR_INVAL);
	ops[0].kind = 9;
	CHECK_ERR(skr_etcd_txn_req_build(NULL, 0, ops, 1, NULL, 0, &out),
	    SKR_ERR_INVAL);

	CHECK_OK(skr_etcd_watch_req_build(B("k/"), B("k0"), 42, &out));
	CHECK_STR(skr_buf_cstr(&out), "{\"create_request\":{\"key\":\"ay8=\","
	    "\"range_end\":\"azA=\",\"start_revision\":\"42\","
	    "\"progress_notify\":true}}");
	CHECK_OK(skr_etcd_compaction_req_build(7, &out));
	CHECK_STR(skr_buf_cstr(&out), "{\"revision\":\"7\"}");
	CHECK_ERR(skr_etcd_compaction_req_build(0, &out), SKR_ERR_INVAL);
	CHECK_OK(skr_etcd_auth_req_build("skr", "pa\"ss", &pw));
	CHECK_STR(skr_buf_cstr(&pw), "{\"name\":\"skr\",\"password\":"
	    "\"pa\\\"ss\"}");
	CHECK_ERR(skr_etcd_auth_req_build(NULL, "x", &pw), SKR_ERR_INVAL);
	skr_buf_free(&out);
	skr_buf_free(&pw);
}

/* ---- range answers --------------------------------------------------------- */

#define HDR "\"header\":{\"cluster_id\":\"15118495548433857066\"," \
	"\"member_id\":\"13668033151171901709\",\"revision\":\"2\"," \
	"\"raft_term\":\"2\"}"

static int
range(const char *text, skr_etcd_range *rg)
{
	return skr_etcd_range_parse((const uint8_t *)text, strlen(text), rg);
}

static void
test_range(void)
{
	skr_etcd_range rg;

	CHECK_OK(range("{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":"
	    "\"2\",\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"YmFy\"}],"
	    "\"count\":\"1\"}", &rg));
	CHECK(rg.header.revision == 2 && rg.header.raft_term == 2);
	CHECK(rg.header.cluster_id == 15118495548433857066ULL);
	CHECK(rg.nkvs == 1 && rg.count == 1 && !rg.more);
	CHECK_MEM(rg.kvs[0].key, rg.kvs[0].key_len, "foo", 3);
	CHECK_MEM(rg.kvs[0].value, rg.kvs[0].value_len, "bar", 3);
	CHECK(rg.kvs[0].create_revision == 2 && rg.kvs[0].mod_revision == 2 &&
	    rg.kvs[0].version == 1);
	skr_etcd_range_clear(&rg);
	/* Nothing found: kvs and count left out. */
	CHECK_OK(range("{" HDR "}", &rg));
	CHECK(rg.nkvs == 0 && rg.kvs == NULL && rg.count == 0);
	skr_etcd_range_clear(&rg);
	/* An empty value is left out; JSON integers are taken too; an
	 * unknown member is ignored. */
	CHECK_OK(range("{\"header\":{\"revision\":9},\"kvs\":[{\"key\":\"YQ==\","
	    "\"create_revision\":3,\"mod_revision\":\"9\",\"version\":\"2\"}],"
	    "\"count\":\"5\",\"more\":true,\"new_member\":[1]}", &rg));
	CHECK(rg.nkvs == 1 && rg.kvs[0].value == NULL &&
	    rg.kvs[0].value_len == 0 && rg.more && rg.count == 5);
	skr_etcd_range_clear(&rg);

	/* Refusals; rg stays empty. */
	static const char *const bad[] = {
		"",
		"[]",
		"nul",
		"{\"header\":{\"revision\":\"2\"}} x",
		"{\"header\":{\"revision\":\"2\"},\"header\":{}}",
		"{}",
		"{\"header\":[]}",
		"{\"header\":{}}",
		"{\"header\":{\"revision\":\"0\"}}",
		"{\"header\":{\"revision\":\"-1\"}}",
		"{\"header\":{\"revision\":\"1e3\"}}",
		"{\"header\":{\"revision\":\"0x10\"}}",
		"{\"header\":{\"revision\":\" 1\"}}",
		"{\"header\":{\"revision\":\"\"}}",
		"{\"header\":{\"revision\":\"+1\"}}",
		"{\"header\":{\"revision\":1.5}}",
		"{\"header\":{\"revision\":true}}",
		"{\"header\":{\"revision\":\"99999999999999999999\"}}",
		"{\"header\":{\"revision\":\"2\",\"cluster_id\":\"-5\"}}",
		"{\"header\":{\"revision\":\"2\",\"cluster_id\":"
		    "\"184467440737095516160\"}}",
		"{" HDR ",\"kvs\":{}}",
		"{" HDR ",\"kvs\":[1],\"count\":\"1\"}",
		"{" HDR ",\"kvs\":[{}],\"count\":\"1\"}",
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\"}],\"count\":\"1\"}",
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v!\",\"create_revision\":\"1\","
		    "\"mod_revision\":\"1\",\"version\":\"1\"}],\"count\":\"1\"}",
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"value\":\"YmF\","
		    "\"create_revision\":\"1\",\"mod_revision\":\"1\","
		    "\"version\":\"1\"}],\"count\":\"1\"}",
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"value\":7,"
		    "\"create_revision\":\"1\",\"mod_revision\":\"1\","
		    "\"version\":\"1\"}],\"count\":\"1\"}",
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"3\","
		    "\"mod_revision\":\"2\",\"version\":\"1\"}],\"count\":\"1\"}",
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"1\","
		    "\"mod_revision\":\"2\",\"version\":\"0\"}],\"count\":\"1\"}",
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"1\","
		    "\"mod_revision\":\"2\",\"version\":\"1\",\"lease\":\"-1\"}],"
		    "\"count\":\"1\"}",
		/* Two keys but a count of one. */
		"{" HDR ",\"kvs\":[{\"key\":\"YQ==\",\"create_revision\":\"1\","
		    "\"mod_revision\":\"1\",\"version\":\"1\"},{\"key\":\"Yg==\","
		    "\"create_revision\":\"1\",\"mod_revision\":\"1\","
		    "\"version\":\"1\"}],\"count\":\"1\"}",
		"{" HDR ",\"more\":\"true\"}",
		"{" HDR ",\"count\":\"-3\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = range(bad[i], &rg);
		if (r != SKR_ERR_STORE)
			fprintf(stderr, "accepted bad range %zu: %s\n", i,
			    bad[i]);
		CHECK(r == SKR_ERR_STORE);
		CHECK(rg.kvs == NULL && rg.nkvs == 0 && rg.header.revision == 0);
	}
	CHECK_ERR(skr_etcd_range_parse(NULL, 0, &rg), SKR_ERR_STORE);
}

/* ---- txn answers ----------------------------------------------------------- */

static int
txn(const char *text, skr_etcd_txn *t)
{
	return skr_etcd_txn_parse((const uint8_t *)text, strlen(text), t);
}

static void
test_txn(void)
{
	skr_etcd_txn t;

	CHECK_OK(txn("{" HDR ",\"succeeded\":true,\"responses\":["
	    "{\"response_put\":{\"header\":{\"revision\":\"3\"}}},"
	    "{\"response_delete_range\":{\"header\":{\"revision\":\"3\"},"
	    "\"deleted\":\"4\"}}]}", &t));
	CHECK(t.succeeded && t.nresults == 2);
	CHECK(t.results[0].kind == SKR_ETCD_OP_PUT);
	CHECK(t.results[1].kind == SKR_ETCD_OP_DELETE &&
	    t.results[1].deleted == 4);
	skr_etcd_txn_clear(&t);
	/* A failed compare: succeeded left out, the failure ops' ranges. */
	CHECK_OK(txn("{" HDR ",\"responses\":[{\"response_range\":{\"header\":"
	    "{\"revision\":\"2\"},\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":"
	    "\"2\",\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"YmFy\"}],"
	    "\"count\":\"1\"}},{\"response_range\":{\"header\":"
	    "{\"revision\":\"2\"}}}]}", &t));
	CHECK(!t.succeeded && t.nresults == 2);
	CHECK(t.results[0].kind == SKR_ETCD_OP_RANGE &&
	    t.results[0].range.nkvs == 1 &&
	    t.results[0].range.kvs[0].mod_revision == 2);
	CHECK(t.results[1].kind == SKR_ETCD_OP_RANGE &&
	    t.results[1].range.nkvs == 0);
	skr_etcd_txn_clear(&t);
	CHECK_OK(txn("{" HDR ",\"succeeded\":false}", &t));
	CHECK(!t.succeeded && t.nresults == 0);
	skr_etcd_txn_clear(&t);

	static const char *const bad[] = {
		"{}",
		"{\"succeeded\":true}",
		"{" HDR ",\"succeeded\":1}",
		"{" HDR ",\"responses\":{}}",
		"{" HDR ",\"responses\":[7]}",
		"{" HDR ",\"responses\":[{}]}",
		"{" HDR ",\"responses\":[{\"response_put\":{},"
		    "\"response_range\":{}}]}",
		"{" HDR ",\"responses\":[{\"response_txn\":{}}]}",
		"{" HDR ",\"responses\":[{\"response_put\":[]}]}",
		"{" HDR ",\"responses\":[{\"response_delete_range\":"
		    "{\"deleted\":\"x\"}}]}",
		"{" HDR ",\"responses\":[{\"response_range\":{\"kvs\":[{}]}}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = txn(bad[i], &t);
		if (r != SKR_ERR_STORE)
			fprintf(stderr, "accepted bad txn %zu: %s\n", i, bad[i]);
		CHECK(r == SKR_ERR_STORE);
		CHECK(t.results == NULL && t.nresults == 0);
	}
}

/* ---- watch messages and the stream ------------------------------------ */

static int
watch(const char *text, skr_etcd_watch_msg *w)
{
	return skr_etcd_watch_parse((const uint8_t *)text, strlen(text), w);
}

static void
test_watch(void)
{
	skr_etcd_watch_msg w;

	CHECK_OK(watch("{\"result\":{" HDR ",\"created\":true}}", &w));
	CHECK(w.created && !w.canceled && w.nevents == 0 && !w.error);
	skr_etcd_watch_clear(&w);
	CHECK_OK(watch("{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":"
	    "\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"2\","
	    "\"version\":\"1\",\"value\":\"YmFy\"}},{\"type\":\"DELETE\","
	    "\"kv\":{\"key\":\"Zm9v\",\"mod_revision\":\"4\"}}]}}", &w));
	CHECK(w.nevents == 2);
	CHECK(w.events[0].type == SKR_ETCD_EVENT_PUT &&
	    w.events[0].kv.mod_revision == 2 &&
	    w.events[0].kv.value_len == 3);
	CHECK(w.events[1].type == SKR_ETCD_EVENT_DELETE &&
	    w.events[1].kv.mod_revision == 4 && w.events[1].kv.value == NULL);
	skr_etcd_watch_clear(&w);
	CHECK_OK(watch("{\"result\":{\"header\":{\"cluster_id\":\"1\","
	    "\"member_id\":\"2\",\"raft_term\":\"2\",\"revision\":\"7\"},"
	    "\"canceled\":true,\"compact_revision\":\"6\"}}", &w));
	CHECK(w.canceled && w.compact_revision == 6);
	skr_etcd_watch_clear(&w);
	CHECK_OK(watch("{\"error\":{\"grpc_code\":14,\"http_code\":503,"
	    "\"message\":\"etcdserver: no leader\",\"http_status\":"
	    "\"Service Unavailable\"}}", &w));
	CHECK(w.error && w.grpc_code == 14);
	CHECK_STR(w.message, "etcdserver: no leader");
	skr_etcd_watch_clear(&w);

	static const char *const bad[] = {
		"{}",
		"{\"result\":{}}",
		"{\"result\":{" HDR "},\"error\":{}}",
		"{\"result\":[]}",
		"{\"error\":\"x\"}",
		"{\"error\":{\"grpc_code\":\"x\"}}",
		"{\"result\":{" HDR ",\"events\":[{\"type\":\"PATCH\",\"kv\":"
		    "{\"key\":\"Zm9v\",\"mod_revision\":\"4\"}}]}}",
		"{\"result\":{" HDR ",\"events\":[{\"type\":\"DELETE\"}]}}",
		"{\"result\":{" HDR ",\"events\":[{\"type\":\"DELETE\",\"kv\":"
		    "{\"key\":\"Zm9v\"}}]}}",
		/* A put that is not a live key. */
		"{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"Zm9v\","
		    "\"mod_revision\":\"4\"}}]}}",
		/* Events going back in revision. */
		"{\"result\":{" HDR ",\"events\":[{\"type\":\"DELETE\",\"kv\":"
		    "{\"key\":\"YQ==\",\"mod_revision\":\"5\"}},{\"type\":"
		    "\"DELETE\",\"kv\":{\"key\":\"Yg==\",\"mod_revision\":"
		    "\"4\"}}]}}",
		"{\"result\":{" HDR ",\"created\":\"yes\"}}",
		"{\"result\":{" HDR ",\"compact_revision\":\"-6\"}}",
		"{\"result\":{" HDR ",\"cancel_reason\":5}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = watch(bad[i], &w);
		if (r != SKR_ERR_STORE)
			fprintf(stderr, "accepted bad watch %zu: %s\n", i,
			    bad[i]);
		CHECK(r == SKR_ERR_STORE);
		CHECK(w.events == NULL && w.nevents == 0 && !w.error);
	}
}

static void
test_stream(void)
{
	const char *s = "\n{\"a\":1}\r\n{\"b\":2}\n{\"c\"";
	size_t off, len, used, n = strlen(s), at = 0;

	CHECK_OK(skr_etcd_stream_next((const uint8_t *)s, n, &off, &len,
	    &used));
	CHECK(off == 1 && len == 7 && used == 10);
	CHECK(memcmp(s + off, "{\"a\":1}", len) == 0);
	at += used;
	CHECK_OK(skr_etcd_stream_next((const uint8_t *)s + at, n - at, &off,
	    &len, &used));
	CHECK(off == 0 && len == 7 && used == 8);
	at += used;
	/* An incomplete message waits for more. */
	CHECK_OK(skr_etcd_stream_next((const uint8_t *)s + at, n - at, &off,
	    &len, &used));
	CHECK(len == 0 && used == 0);
	CHECK_OK(skr_etcd_stream_next((const uint8_t *)"\n\n", 2, &off, &len,
	    &used));
	CHECK(len == 0 && used == 2);
	CHECK_OK(skr_etcd_stream_next((const uint8_t *)"", 0, &off, &len,
	    &used));
	CHECK(len == 0 && used == 0);
}

/* ---- errors and auth ------------------------------------------------------- */

static void
test_error_auth(void)
{
	skr_etcd_error e;
	skr_buf tok = SKR_BUF_INIT_SECRET;
	const char *t;

	t = "{\"error\":\"etcdserver: mvcc: required revision has been "
	    "compacted\",\"message\":\"etcdserver: mvcc: required revision "
	    "has been compacted\",\"code\":11}";
	CHECK_OK(skr_etcd_error_parse(B(t), &e));
	CHECK(e.code == SKR_ETCD_GRPC_OUT_OF_RANGE);
	CHECK(strstr(e.message, "compacted") != NULL);
	t = "{\"error\":\"unexpected EOF\",\"code\":3}";
	CHECK_OK(skr_etcd_error_parse(B(t), &e));
	CHECK(e.code == 3);
	CHECK_STR(e.message, "unexpected EOF");
	CHECK_ERR(skr_etcd_error_parse(B("{\"error\":\"x\"}"), &e),
	    SKR_ERR_STORE);
	CHECK_ERR(skr_etcd_error_parse(B("{\"code\":0}"), &e), SKR_ERR_STORE);
	CHECK_ERR(skr_etcd_error_parse(B("{\"code\":\"9999999999\"}"), &e),
	    SKR_ERR_STORE);
	CHECK_ERR(skr_etcd_error_parse(B("{\"code\":3,\"message\":[]}"), &e),
	    SKR_ERR_STORE);
	CHECK(e.code == 0);

	t = "{" HDR ",\"token\":\"abc.17\"}";
	CHECK_OK(skr_etcd_auth_parse(B(t), &tok));
	CHECK_STR(skr_buf_cstr(&tok), "abc.17");
	CHECK_ERR(skr_etcd_auth_parse(B("{" HDR "}"), &tok), SKR_ERR_STORE);
	CHECK_ERR(skr_etcd_auth_parse(B("{" HDR ",\"token\":\"\"}"), &tok),
	    SKR_ERR_STORE);
	/* A token that would split an HTTP header. */
	CHECK_ERR(skr_etcd_auth_parse(B("{" HDR ",\"token\":\"a\\r\\nX: y\"}"),
	    &tok), SKR_ERR_STORE);
	CHECK_ERR(skr_etcd_auth_parse(B("{\"token\":\"abc\"}"), &tok),
	    SKR_ERR_STORE);

	skr_etcd_header h;
	CHECK_OK(skr_etcd_header_parse(B("{" HDR "}"), &h));
	CHECK(h.revision == 2);
	CHECK_ERR(skr_etcd_header_parse(B("{\"x\":1}"), &h), SKR_ERR_STORE);
	skr_buf_free(&tok);
}

int
main(void)
{
	test_build();
	test_range();
	test_txn();
	test_watch();
	test_stream();
	test_error_auth();
	return check_done();
}
