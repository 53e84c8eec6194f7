/*
 * store.json (server/store/storecfg.h): the text init writes parses back
 * to the same settings, and every malformed or unsafe file is refused with
 * SKR_ERR_CONFIG.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "storecfg.h"

static int
parse(const char *text, skr__storecfg *c)
{
	return skr__storecfg_parse((const uint8_t *)text, strlen(text), c);
}

static void
test_roundtrip(void)
{
	skr_store_etcd_opts o = { "https://10.0.0.1:2379,http://[::1]:2379",
		"skr-prod/", "etcd-ca.pem", "/etc/skr/client.pem",
		"/etc/skr/client-key.pem", "skr", "etcd-password" };
	skr_buf text = SKR_BUF_INIT;
	skr__storecfg c;

	CHECK_OK(skr__storecfg_emit(&o, &text));
	CHECK_OK(skr__storecfg_parse(text.data, text.len, &c));
	CHECK_STR(c.endpoints, o.endpoints);
	CHECK_STR(c.prefix, "skr-prod/");
	CHECK_STR(c.cacert, "etcd-ca.pem");
	CHECK_STR(c.cert, o.cert);
	CHECK_STR(c.key, o.key);
	CHECK_STR(c.user, "skr");
	CHECK_STR(c.password_file, "etcd-password");
	skr__storecfg_clear(&c);
	/* The least: endpoints alone, the default prefix. */
	memset(&o, 0, sizeof(o));
	o.endpoints = "http://127.0.0.1:2379";
	CHECK_OK(skr__storecfg_emit(&o, &text));
	CHECK_OK(skr__storecfg_parse(text.data, text.len, &c));
	CHECK_STR(c.prefix, SKR_STORECFG_PREFIX_DEFAULT);
	CHECK(c.cacert == NULL && c.user == NULL && c.password_file == NULL);
	skr__storecfg_clear(&c);
	/* Bad settings are refused before anything is written. */
	o.endpoints = "ftp://x";
	CHECK_ERR(skr__storecfg_emit(&o, &text), SKR_ERR_CONFIG);
	o.endpoints = "http://127.0.0.1:2379";
	o.prefix = "no-slash";
	CHECK_ERR(skr__storecfg_emit(&o, &text), SKR_ERR_CONFIG);
	o.prefix = NULL;
	o.user = "skr";
	CHECK_ERR(skr__storecfg_emit(&o, &text), SKR_ERR_CONFIG);
	o.user = NULL;
	o.cert = "c.pem";
	CHECK_ERR(skr__storecfg_emit(&o, &text), SKR_ERR_CONFIG);
	skr_buf_free(&text);
}

#define EP "{\"endpoints\":[\"http://127.0.0.1:2379\"]"

static void
test_refused(void)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{}",
		"{\"format\":1,\"backend\":\"etcd\"}",
		"{\"format\":2,\"backend\":\"etcd\",\"etcd\":" EP "}}",
		"{\"format\":\"1\",\"backend\":\"etcd\",\"etcd\":" EP "}}",
		"{\"format\":1,\"backend\":\"lmdb\",\"etcd\":" EP "}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":" EP "},\"x\":1}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":" EP ",\"x\":1}}",
		"{\"format\":1,\"format\":1,\"backend\":\"etcd\",\"etcd\":" EP "}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":{\"endpoints\":[]}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":{\"endpoints\":"
		    "\"http://a:1\"}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":{\"endpoints\":[1]}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":{\"endpoints\":"
		    "[\"http://a:1/v3\"]}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":{\"endpoints\":"
		    "[\"http://u@a:1\"]}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":{\"endpoints\":"
		    "[\"http://\"]}}",
		/* A comma would split one endpoint in two. */
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":{\"endpoints\":"
		    "[\"http://a:1,\"]}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":{\"endpoints\":"
		    "[\"http://a\\u0000b:1\"]}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":" EP
		    ",\"prefix\":\"\"}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":" EP
		    ",\"prefix\":\"a b/\"}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":" EP
		    ",\"prefix\":7}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":" EP
		    ",\"cacert\":\"\"}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":" EP
		    ",\"cacert\":\"a\\nb\"}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":" EP
		    ",\"cert\":\"c.pem\"}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":" EP
		    ",\"user\":\"u\"}}",
		"{\"format\":1,\"backend\":\"etcd\",\"etcd\":" EP
		    ",\"password_file\":\"p\"}}",
	};
	skr__storecfg c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i], &c);
		if (r != SKR_ERR_CONFIG)
			fprintf(stderr, "accepted %zu: %s\n", i, bad[i]);
		CHECK(r == SKR_ERR_CONFIG);
		CHECK(c.endpoints == NULL && c.prefix == NULL);
	}
	/* Seventeen endpoints are one too many. */
	skr_buf t = SKR_BUF_INIT;
	skr_buf_append_str(&t, "{\"format\":1,\"backend\":\"etcd\",\"etcd\":"
	    "{\"endpoints\":[");
	for (int i = 0; i < 17; i++)
		skr_buf_appendf(&t, "%s\"http://h%d:2379\"", i ? "," : "", i);
	skr_buf_append_str(&t, "]}}");
	CHECK_ERR(skr__storecfg_parse(t.data, t.len, &c), SKR_ERR_CONFIG);
	skr_buf_free(&t);
	CHECK_OK(parse("{\"format\":1,\"backend\":\"etcd\",\"etcd\":" EP "}}",
	    &c));
	skr__storecfg_clear(&c);
}

int
main(void)
{
	test_roundtrip();
	test_refused();
	return check_done();
}
