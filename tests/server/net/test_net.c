/*
 * server/net: the listen parser with its hostile inputs, the loopback rule
 * skrd's plain HTTP and skr-test-authority both enforce, address
 * resolution, URLs, listening sockets and TLS server contexts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "net.h"
#include "pki.h"

static void
test_parse(void)
{
	static const char *const bad[] = {
		"127.0.0.1", "127.0.0.1:", ":80", "[::1]", "[::1]80", "[::1",
		"[]:80", "127.0.0.1:70000", "127.0.0.1:65536", "127.0.0.1:-1",
		"127.0.0.1:+80", "127.0.0.1: 80", "127.0.0.1:80 ",
		"127.0.0.1:0x50", "127.0.0.1:000080", "127.0.0.1:8a", "",
		":", "[::1]:", "127.0.0.1:99999999999999999999",
	};
	char host[64], small[4];
	int port;

	CHECK_OK(skr_net_parse_listen("127.0.0.1:8443", host, sizeof(host),
	    &port));
	CHECK_STR(host, "127.0.0.1");
	CHECK(port == 8443);
	CHECK_OK(skr_net_parse_listen("[::1]:0", host, sizeof(host), &port));
	CHECK_STR(host, "::1");
	CHECK(port == 0);
	CHECK_OK(skr_net_parse_listen("localhost:65535", host, sizeof(host),
	    &port));
	CHECK_STR(host, "localhost");
	CHECK(port == 65535);
	/* The last colon separates the port of an unbracketed IPv6 host. */
	CHECK_OK(skr_net_parse_listen("::1:9", host, sizeof(host), &port));
	CHECK_STR(host, "::1");
	CHECK(port == 9);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		port = -7;
		CHECK_ERR(skr_net_parse_listen(bad[i], host, sizeof(host),
		    &port), SKR_ERR_CONFIG);
		CHECK(port == -7);
	}
	/* A host that does not fit is refused, not cut. */
	CHECK_ERR(skr_net_parse_listen("1234:1", small, sizeof(small),
	    &port), SKR_ERR_CONFIG);
	CHECK_OK(skr_net_parse_listen("123:1", small, sizeof(small), &port));
}

static void
test_loopback(void)
{
	static const char *const yes[] = { "127.0.0.1", "127.3.2.1",
		"127.255.255.255", "::1", "0:0:0:0:0:0:0:1", "localhost" };
	static const char *const no[] = { "0.0.0.0", "10.0.0.1", "::",
		"128.0.0.1", "126.255.255.255", "::ffff:127.0.0.1", "::2",
		"localhost.", "LOCALHOST.example", "127.0.0.1.", "", "1" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK(skr_net_is_loopback(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CHECK(!skr_net_is_loopback(no[i]));
}

/* Listeners without authentication (the test authority, skrd --dev). */
static void
test_resolve_loopback(void)
{
	static const char *const yes[] = { "127.0.0.1:0", "127.9.9.9:8443",
		"[::1]:1", "localhost:443" };
	static const char *const no[] = { "0.0.0.0:0", "[::]:0",
		"192.0.2.1:8443", "[::ffff:127.0.0.1]:1", "10.0.0.1:1",
		"127.0.0.1", "example.com:443" };
	skr_net_addr a;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CHECK_OK(skr_net_resolve_loopback(yes[i], &a));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		CHECK(skr_net_resolve_loopback(no[i], &a) != SKR_OK);
		CHECK(a.port == 0 && a.host[0] == '\0');
	}
}

static void
test_resolve(void)
{
	skr_net_addr a;
	char url[64];

	CHECK_OK(skr_net_resolve_listen("localhost:8443", &a));
	CHECK_STR(a.host, "127.0.0.1");
	CHECK(a.ss.ss_family == AF_INET && a.port == 8443);
	CHECK(a.len == sizeof(struct sockaddr_in));
	CHECK(ntohs(((struct sockaddr_in *)&a.ss)->sin_port) == 8443);
	CHECK_OK(skr_net_url(&a, "https", a.port, url, sizeof(url)));
	CHECK_STR(url, "https://127.0.0.1:8443");

	CHECK_OK(skr_net_resolve_listen("[::1]:0", &a));
	CHECK(a.ss.ss_family == AF_INET6 && a.port == 0);
	CHECK_OK(skr_net_url(&a, "http", 9, url, sizeof(url)));
	CHECK_STR(url, "http://[::1]:9");
	CHECK_ERR(skr_net_url(&a, "http", 9, url, 10), SKR_ERR_TOO_LARGE);

	CHECK_OK(skr_net_resolve_listen("0.0.0.0:1", &a));
	CHECK(!skr_net_is_loopback(a.host));
	/* Names other than localhost are not looked up. */
	CHECK_ERR(skr_net_resolve_listen("example.com:443", &a),
	    SKR_ERR_CONFIG);
	CHECK_ERR(skr_net_resolve_listen("127.0.0.256:1", &a), SKR_ERR_CONFIG);
	CHECK_ERR(skr_net_resolve_listen("[127.0.0.1:1", &a), SKR_ERR_CONFIG);
	CHECK(a.len == 0 && a.host[0] == '\0');
}

static void
test_listen_fd(void)
{
	skr_net_addr a, b;
	int fd, fd2, fd3;

	CHECK_OK(skr_net_resolve_listen("127.0.0.1:0", &a));
	fd = skr_net_listen_fd(&a, SKR_NET_REUSEPORT);
	CHECK(fd >= 0);
	/* The kernel's port is kept, in the address too. */
	CHECK(a.port > 0);
	CHECK(ntohs(((struct sockaddr_in *)&a.ss)->sin_port) == a.port);
	/* One socket per event loop on that port. */
	fd2 = skr_net_listen_fd(&a, SKR_NET_REUSEPORT);
	CHECK(fd2 >= 0);
	/* Without SO_REUSEPORT a port in use is refused. */
	b = a;
	errno = 0;
	fd3 = skr_net_listen_fd(&b, 0);
	CHECK(fd3 < 0 && errno == EADDRINUSE);
	if (fd3 >= 0)
		close(fd3);
	if (fd2 >= 0)
		close(fd2);
	if (fd >= 0)
		close(fd);
}

/* Every suite the context offers is AEAD, and TLS 1.2's have ECDHE key
 * exchange: no CBC suite with an HMAC, no static RSA. */
static void
check_aead_only(SSL_CTX *ctx)
{
	STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
	int i, n = sk_SSL_CIPHER_num(sk), tls12 = 0, tls13 = 0;

	CHECK(n > 0);
	for (i = 0; i < n; i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);

		CHECK(SSL_CIPHER_is_aead(c));
		if (strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0) {
			tls13++;
			continue;
		}
		tls12++;
		CHECK(SSL_CIPHER_get_kx_nid(c) == NID_kx_ecdhe);
	}
	CHECK(tls12 > 0);
	CHECK(tls13 > 0);
}

static void
test_tls(void)
{
	char dir[SKR_TEST_PATH_MAX];
	SSL_CTX *ssl = (SSL_CTX *)1;

	CHECK_ERR(skr_net_tls_server("/nonexistent/cert.pem",
	    "/nonexistent/key.pem", &ssl), SKR_ERR_CONFIG);
	CHECK(ssl == NULL);
	CHECK_ERR(skr_net_tls_server(NULL, NULL, &ssl), SKR_ERR_CONFIG);
	skr_test_tmpdir(NULL, "net", dir, sizeof(dir));
	CHECK_OK(skr_pki_init_dir(dir, "localhost"));
	CHECK_OK(skr_net_tls_server(skr_test_path(dir, "tls-cert.pem"),
	    skr_test_path(dir, "tls-key.pem"), &ssl));
	CHECK(ssl != NULL);
	if (ssl != NULL) {
		CHECK(SSL_CTX_get_min_proto_version(ssl) == TLS1_2_VERSION);
		check_aead_only(ssl);
	}
	SSL_CTX_free(ssl);
	/* A key that is not the certificate's. */
	CHECK_ERR(skr_net_tls_server(skr_test_path(dir, "tls-cert.pem"),
	    skr_test_path(dir, "ca-key.pem"), &ssl), SKR_ERR_CONFIG);
	CHECK(ssl == NULL);
	CHECK(skr_test_rmrf(dir) == 0);
}

int
main(void)
{
	test_parse();
	test_loopback();
	test_resolve_loopback();
	test_resolve();
	test_listen_fd();
	test_tls();
	return check_done();
}
