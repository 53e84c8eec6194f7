/*
 * Listening addresses and TLS server contexts, shared by skrd's HTTP layer
 * and skr-test-authority.  Its own library so that both programs use one
 * listen parser and one loopback rule without either seeing the other's
 * headers (the test authority must not see skrd's server code).
 */
#ifndef SKR_NET_NET_H
#define SKR_NET_NET_H

#include <stddef.h>

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

/* A resolved listen address. */
typedef struct skr_net_addr {
	struct sockaddr_storage ss; /* family, address and port */
	socklen_t len;              /* of ss's family */
	char host[INET6_ADDRSTRLEN];/* numeric, without brackets; "localhost"
	                             * is 127.0.0.1 */
	int port;                   /* 0: any free port */
} skr_net_addr;

/*
 * Split "ADDR:PORT", "[V6]:PORT" or "NAME:PORT" into host (without
 * brackets; hostlen bytes) and port (0..65535, decimal digits only).
 * Syntax only: the host is not looked at.  SKR_ERR_CONFIG when malformed.
 */
int skr_net_parse_listen(const char *s, char *host, size_t hostlen,
    int *port);

/* 1 when host is a loopback address: 127.0.0.0/8 (RFC 1122 section
 * 3.2.1.3), ::1 (RFC 4291 section 2.5.3) or "localhost". */
int skr_net_is_loopback(const char *host);

/* Parse s (skr_net_parse_listen) into a numeric IPv4 or IPv6 address;
 * "localhost" means 127.0.0.1 and no other name is looked up.
 * SKR_ERR_CONFIG otherwise. */
int skr_net_resolve_listen(const char *s, skr_net_addr *out);

/* skr_net_resolve_listen for a listener that has no authentication of its
 * own (skr-test-authority, skrd --dev): a loopback address only
 * (skr_net_is_loopback), anything else is SKR_ERR_INVAL. */
int skr_net_resolve_loopback(const char *s, skr_net_addr *out);

/* "scheme://HOST:PORT" for a, with brackets around an IPv6 host and port
 * in place of a->port (the one bound when a->port was 0).  SKR_ERR_TOO_LARGE
 * when it does not fit outlen. */
int skr_net_url(const skr_net_addr *a, const char *scheme, int port,
    char *out, size_t outlen);

/* Flags of skr_net_listen_fd. */
#define SKR_NET_REUSEPORT 0x1 /* SO_REUSEPORT: one socket per event loop */

/* A non-blocking, close-on-exec socket bound to a and listening.  When
 * a->port is 0, a takes the port the kernel chose, so that further sockets
 * (SKR_NET_REUSEPORT) bind the same one.  -1 on failure, errno set. */
int skr_net_listen_fd(skr_net_addr *a, unsigned flags);

/*
 * A TLS server context from a PEM certificate chain and its private key:
 * TLS 1.2 at least, AEAD cipher suites only (tls.h), no compression or
 * renegotiation, the server's cipher order, and ALPN (RFC 7301) offering h2 then http/1.1 for h2o.  *out:
 * caller frees with SSL_CTX_free.  SKR_ERR_CONFIG for unusable files.
 */
int skr_net_tls_server(const char *cert_file, const char *key_file,
    SSL_CTX **out);

#endif
