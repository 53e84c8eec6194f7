/* Unit tests: skrd's configuration parser (server/config.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

static skr_buf why = SKR_BUF_INIT;

/* Parse text into a fresh c (defaults). */
static int
parse(const char *text, skr_config *c)
{
	skr_buf_reset(&why);
	skr_config_clear(c);
	return skr_config_parse(text, strlen(text), c, &why);
}

/* text must be refused with a reason naming line `line` (0: any). */
static void
refused(const char *text, int line)
{
	skr_config c;
	char want[32];
	int r;

	skr_config_init(&c);
	r = parse(text, &c);
	CHECK_ERR(r, SKR_ERR_CONFIG);
	if (r != SKR_ERR_CONFIG)
		fprintf(stderr, "  accepted: \"%s\"\n", text);
	CHECK(why.len > 0);
	if (line > 0) {
		snprintf(want, sizeof(want), "line %d: ", line);
		CHECK(strstr(skr_buf_cstr(&why), want) != NULL);
	}
	skr_config_clear(&c);
}

static void
test_defaults(void)
{
	skr_config c;

	skr_config_init(&c);
	CHECK(c.data == NULL && c.listen == NULL);
	CHECK(c.threads == 0);
	CHECK(c.plain_http == 0);
	CHECK(c.max_body == 1024 * 1024);
	CHECK(c.max_header_bytes == 16 * 1024);
	CHECK(c.max_headers == 64);
	CHECK(c.max_connections == 4096);
	CHECK(c.max_body_memory == 64 * 1024 * 1024);
	CHECK(c.max_connection_body_memory == 2 * 1024 * 1024);
	CHECK(c.http2_max_streams == 16);
	CHECK(c.header_timeout == 10 && c.idle_timeout == 60);
	CHECK(c.shutdown_timeout == 10);
	CHECK(c.token_skew == 60 && c.nonce_ttl == 300);
	CHECK(c.release_alg == NULL); /* RS256 */
	CHECK(c.require_releaser == 0);
	CHECK(c.deny_detail == NULL); /* names */
	CHECK(c.nauthorities == 0);
	/* An empty file and one of comments change nothing. */
	CHECK_OK(parse("", &c));
	CHECK_OK(parse("\n\n# only a comment\n   # indented\n\t\n", &c));
	CHECK(c.max_body == 1024 * 1024 && c.nauthorities == 0);
	skr_config_clear(&c);
}

static void
test_good(void)
{
	skr_config c;
	static const char text[] =
	    "# skrd.conf\n"
	    "data = /var/lib/skr\n"
	    "listen = [::1]:8443   # trailing comment\n"
	    "threads=8\n"
	    "  plain_http = no\n"
	    "max_body = 65536\r\n"
	    "max_header_bytes = 8192\n"
	    "max_headers = 32\n"
	    "max_connections = 100\n"
	    "header_timeout = 5\n"
	    "idle_timeout = 30\n"
	    "shutdown_timeout = 0\n"
	    "token_skew = 0\n"
	    "nonce_ttl = 60\n"
	    "retention_days = 7\n"
	    "release_alg = PS256\n"
	    "require_releaser = yes\n"
	    "deny_detail = none\n"
	    "log_level = debug\n"
	    "auth_fail_limit = 5\n"
	    "auth_fail_window = 120\n"
	    "\n"
	    "[authority]\n"
	    "issuer = https://sharedeus.eus.attest.azure.net\n"
	    "source = oidc\n"
	    "algs = RS256, PS256\n"
	    "wrapkey_claim = x-ms-runtime.keys\n"
	    "[authority]\n"
	    "issuer = https://maa.example.test/\n"
	    "source = https://maa.example.test/certs?x=1#frag\n"
	    "https_ca = /etc/skr/maa-ca.pem\n"
	    "x5c_ca = /etc/skr/maa-root.pem\n";

	skr_config_init(&c);
	CHECK_OK(parse(text, &c));
	CHECK_STR(c.data, "/var/lib/skr");
	CHECK_STR(c.listen, "[::1]:8443");
	CHECK(c.threads == 8);
	CHECK(c.plain_http == 0);
	CHECK(c.max_body == 65536);
	CHECK(c.max_header_bytes == 8192 && c.max_headers == 32);
	CHECK(c.max_connections == 100);
	CHECK(c.header_timeout == 5 && c.idle_timeout == 30);
	CHECK(c.shutdown_timeout == 0);
	CHECK(c.token_skew == 0 && c.nonce_ttl == 60);
	CHECK(c.retention_days == 7);
	CHECK_STR(c.release_alg, "PS256");
	CHECK(c.require_releaser == 1);
	CHECK_STR(c.deny_detail, "none");
	CHECK_STR(c.log_level, "debug");
	CHECK(c.auth_fail_limit == 5 && c.auth_fail_window == 120);
	CHECK(c.nauthorities == 2);
	CHECK_STR(c.authorities[0].issuer,
	    "https://sharedeus.eus.attest.azure.net");
	CHECK_STR(c.authorities[0].source, "oidc");
	CHECK_STR(c.authorities[0].algs, "RS256, PS256");
	CHECK_STR(c.authorities[0].wrapkey_claim, "x-ms-runtime.keys");
	CHECK(c.authorities[0].https_ca == NULL);
	CHECK_STR(c.authorities[1].issuer, "https://maa.example.test/");
	/* '=' and '#' inside a value belong to it. */
	CHECK_STR(c.authorities[1].source,
	    "https://maa.example.test/certs?x=1#frag");
	CHECK_STR(c.authorities[1].https_ca, "/etc/skr/maa-ca.pem");
	CHECK_STR(c.authorities[1].x5c_ca, "/etc/skr/maa-root.pem");
	skr_config_clear(&c);
	CHECK(c.data == NULL && c.nauthorities == 0);

	/* Booleans and the edges of each range. */
	CHECK_OK(parse("plain_http = true\n", &c));
	CHECK(c.plain_http == 1);
	CHECK_OK(parse("plain_http = yes\nrequire_releaser = false\n", &c));
	CHECK(c.plain_http == 1 && c.require_releaser == 0);
	CHECK_OK(parse("threads = 0\n", &c));
	CHECK_OK(parse("threads = 256\n", &c));
	CHECK(c.threads == 256);
	CHECK_OK(parse("max_body = 1024\n", &c));
	CHECK_OK(parse("max_body = 67108864\n", &c));
	CHECK_OK(parse("max_headers = 100\n", &c));
	CHECK_OK(parse("max_body_memory = 1048576\n"
	    "max_connection_body_memory = 65536\nhttp2_max_streams = 100\n",
	    &c));
	CHECK(c.max_body_memory == 1048576 &&
	    c.max_connection_body_memory == 65536 &&
	    c.http2_max_streams == 100);
	CHECK_OK(parse("retention_days = 90\n", &c));
	CHECK_OK(parse("release_alg = RS256\n", &c));
	CHECK_OK(parse("release_alg = ES256\n", &c));
	skr_config_clear(&c);
}

/* Settings that must agree: a connection holds a whole max_body, the
 * process one connection's worth. */
static void
test_check(void)
{
	skr_config c;

	skr_config_init(&c);
	CHECK_OK(skr_config_check(&c, &why));
	c.max_body = 4 * 1024 * 1024;
	skr_buf_reset(&why);
	CHECK_ERR(skr_config_check(&c, &why), SKR_ERR_CONFIG);
	CHECK(strstr(skr_buf_cstr(&why), "max_connection_body_memory") !=
	    NULL);
	c.max_connection_body_memory = c.max_body;
	CHECK_OK(skr_config_check(&c, &why));
	c.max_body_memory = c.max_body - 1;
	skr_buf_reset(&why);
	CHECK_ERR(skr_config_check(&c, &why), SKR_ERR_CONFIG);
	CHECK(strstr(skr_buf_cstr(&why), "max_body_memory") != NULL);
	skr_config_clear(&c);
}

static void
test_refused(void)
{
	char longline[5000];

	/* Unknown keys, sections and syntax. */
	refused("nosuchkey = 1\n", 1);
	refused("Threads = 4\n", 1);          /* keys are case-sensitive */
	refused("threads\n", 1);               /* missing '=' */
	refused("# ok\nlisten 127.0.0.1:1\n", 2);
	refused("= 4\n", 1);                   /* empty key */
	refused("   =\n", 1);
	refused("[server]\n", 1);
	refused("[authority\n", 1);
	refused("[ authority ]\n", 1);
	refused("[]\n", 1);
	refused("threads = 2 # ok\nfoo bar\n", 2);
	/* Duplicates, in the file and in a section. */
	refused("threads = 1\nthreads = 1\n", 2);
	refused("listen = a:1\nthreads = 1\nlisten = a:2\n", 3);
	refused("[authority]\nissuer = https://a\nissuer = https://b\n"
	    "source = oidc\n", 3);
	/* Empty values. */
	refused("listen =\n", 1);
	refused("listen =    # nothing\n", 1);
	refused("[authority]\nissuer =\nsource = oidc\n", 2);
	/* Numbers: malformed, out of range, not decimal. */
	refused("threads = many\n", 1);
	refused("threads = \n", 1);
	refused("threads = 4x\n", 1);
	refused("threads = 4 5\n", 1);
	refused("threads = -1\n", 1);
	refused("threads = 257\n", 1);
	refused("threads = 0x10\n", 1);
	refused("threads = 1e3\n", 1);
	refused("threads = 4.0\n", 1);
	refused("max_body = 12kb\n", 1);
	refused("max_body = 1023\n", 1);
	refused("max_body = 67108865\n", 1);
	refused("max_body = 99999999999999999999999\n", 1);
	refused("max_headers = 101\n", 1);
	refused("max_headers = 7\n", 1);
	refused("max_header_bytes = 1023\n", 1);
	refused("max_connections = 0\n", 1);
	refused("max_body_memory = 1048575\n", 1);
	refused("max_connection_body_memory = 65535\n", 1);
	refused("http2_max_streams = 0\n", 1);
	refused("http2_max_streams = 101\n", 1);
	refused("header_timeout = 0\n", 1);
	refused("nonce_ttl = 9\n", 1);
	refused("retention_days = 6\n", 1);
	refused("retention_days = 91\n", 1);
	refused("token_skew = -5\n", 1);
	/* Booleans and choices. */
	refused("plain_http = maybe\n", 1);
	refused("plain_http = 1\n", 1);
	refused("plain_http = TRUE\n", 1);
	refused("release_alg = HS256\n", 1);
	refused("release_alg = none\n", 1);
	refused("release_alg = rs256\n", 1);
	refused("deny_detail = values\n", 1);
	refused("log_level = trace\n", 1);
	/* Authorities: keys, completeness, count. */
	refused("[authority]\nissuer = https://a\n", 1);
	refused("[authority]\nsource = oidc\n", 1);
	refused("[authority]\n", 1);
	refused("[authority]\nissuer = https://a\nsource = oidc\nbogus = 1\n",
	    4);
	refused("[authority]\nissuer = https://a\n[authority]\n"
	    "issuer = https://b\nsource = oidc\n", 1);
	/* A global key after a section belongs to the section: refused. */
	refused("[authority]\nissuer = https://a\nsource = oidc\n"
	    "threads = 2\n", 4);
	/* Bytes: NUL, over-long lines. */
	{
		skr_config c;
		static const char nul[] = "threads = 1\nlisten = a\0b:1\n";

		skr_config_init(&c);
		skr_buf_reset(&why);
		CHECK_ERR(skr_config_parse(nul, sizeof(nul) - 1, &c, &why),
		    SKR_ERR_CONFIG);
		CHECK(strstr(skr_buf_cstr(&why), "line 2") != NULL);
		skr_config_clear(&c);
	}
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	memcpy(longline, "data = ", 7);
	refused(longline, 1);
}

static void
test_too_many_authorities(void)
{
	skr_buf text = SKR_BUF_INIT;
	skr_config c;
	int i;

	for (i = 0; i < SKR_CONFIG_MAX_AUTHORITIES; i++)
		CHECK_OK(skr_buf_appendf(&text, "[authority]\nissuer = "
		    "https://a%d.test\nsource = oidc\n", i));
	skr_config_init(&c);
	CHECK_OK(parse(skr_buf_cstr(&text), &c));
	CHECK(c.nauthorities == SKR_CONFIG_MAX_AUTHORITIES);
	CHECK_OK(skr_buf_appendf(&text, "[authority]\nissuer = https://x\n"
	    "source = oidc\n"));
	CHECK_ERR(parse(skr_buf_cstr(&text), &c), SKR_ERR_CONFIG);
	skr_config_clear(&c);
	skr_buf_free(&text);
}

/* The file is read first; command-line flags (skr_config_set) win. */
static void
test_precedence(void)
{
	skr_config c;
	char path[] = "/tmp/skr-test-config-XXXXXX";
	FILE *f;
	int fd;

	skr_config_init(&c);
	CHECK_OK(parse("listen = 127.0.0.1:9000\nthreads = 4\n"
	    "header_timeout = 5\n", &c));
	CHECK_OK(skr_config_set(&c, "listen", "127.0.0.1:0", &why));
	CHECK_OK(skr_config_set(&c, "threads", "1", &why));
	CHECK_OK(skr_config_set(&c, "plain_http", "true", &why));
	CHECK_STR(c.listen, "127.0.0.1:0");
	CHECK(c.threads == 1 && c.plain_http == 1);
	CHECK(c.header_timeout == 5); /* not overridden: the file's */
	CHECK(c.max_body == 1024 * 1024); /* neither: the default */
	/* A flag is checked like a file line and leaves the value alone
	 * when refused. */
	skr_buf_reset(&why);
	CHECK_ERR(skr_config_set(&c, "threads", "lots", &why),
	    SKR_ERR_CONFIG);
	CHECK(c.threads == 1);
	CHECK(why.len > 0 && strstr(skr_buf_cstr(&why), "line") == NULL);
	CHECK_ERR(skr_config_set(&c, "no_such_flag", "1", &why),
	    SKR_ERR_CONFIG);
	CHECK_ERR(skr_config_set(&c, "listen", "", &why), SKR_ERR_CONFIG);
	CHECK_STR(c.listen, "127.0.0.1:0");
	/* Setting twice from flags is allowed: the last one wins. */
	CHECK_OK(skr_config_set(&c, "threads", "3", &why));
	CHECK(c.threads == 3);
	skr_config_clear(&c);

	/* skr_config_load reads a file the same way. */
	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		CHECK(0);
		return;
	}
	fputs("threads = 2\n[authority]\nissuer = https://f.test\n"
	    "source = /etc/f.json\n", f);
	fclose(f);
	skr_config_init(&c);
	skr_buf_reset(&why);
	CHECK_OK(skr_config_load(path, &c, &why));
	CHECK(c.threads == 2 && c.nauthorities == 1);
	skr_config_clear(&c);
	unlink(path);
	skr_buf_reset(&why);
	CHECK_ERR(skr_config_load(path, &c, &why), SKR_ERR_CONFIG);
	CHECK(strstr(skr_buf_cstr(&why), path) != NULL);
	skr_config_clear(&c);
}

int
main(void)
{
	test_defaults();
	test_good();
	test_refused();
	test_check();
	test_too_many_authorities();
	test_precedence();
	skr_buf_free(&why);
	return check_done();
}
