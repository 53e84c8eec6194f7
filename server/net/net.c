#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <h2o.h>

#include "skr/error.h"
#include "tls.h"

#define PORT_DIGITS_MAX 5

int
skr_net_parse_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *h = s, *colon, *p;
	size_t hl, n;
	long v = 0;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return SKR_ERR_CONFIG;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return SKR_ERR_CONFIG;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen)
		return SKR_ERR_CONFIG;
	/* Decimal digits only: no sign, space or base prefix. */
	p = colon + 1;
	n = strlen(p);
	if (n == 0 || n > PORT_DIGITS_MAX || strspn(p, "0123456789") != n)
		return SKR_ERR_CONFIG;
	for (; *p != '\0'; p++)
		v = v * 10 + (*p - '0');
	if (v > 65535)
		return SKR_ERR_CONFIG;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (int)v;
	return SKR_OK;
}

int
skr_net_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

int
skr_net_resolve_listen(const char *s, skr_net_addr *out)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = skr_net_parse_listen(s, out->host, sizeof(out->host),
	    &out->port)) != SKR_OK)
		return r;
	if (strcmp(out->host, "localhost") == 0)
		snprintf(out->host, sizeof(out->host), "127.0.0.1");
	if (inet_pton(AF_INET, out->host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)out->port);
		out->len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, out->host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)out->port);
		out->len = sizeof(*s6);
	} else {
		memset(out, 0, sizeof(*out));
		return SKR_ERR_CONFIG;
	}
	return SKR_OK;
}

int
skr_net_resolve_loopback(const char *s, skr_net_addr *out)
{
	int r;

	if ((r = skr_net_resolve_listen(s, out)) != SKR_OK)
		return r;
	if (!skr_net_is_loopback(out->host)) {
		memset(out, 0, sizeof(*out));
		return SKR_ERR_INVAL;
	}
	return SKR_OK;
}

int
skr_net_url(const skr_net_addr *a, const char *scheme, int port, char *out,
    size_t outlen)
{
	int v6 = a->ss.ss_family == AF_INET6;
	int n;

	n = snprintf(out, outlen, "%s://%s%s%s:%d", scheme, v6 ? "[" : "",
	    a->host, v6 ? "]" : "", port);
	return n < 0 || (size_t)n >= outlen ? SKR_ERR_TOO_LARGE : SKR_OK;
}

int
skr_net_listen_fd(skr_net_addr *a, unsigned flags)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, one = 1, saved;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    ((flags & SKR_NET_REUSEPORT) && setsockopt(fd, SOL_SOCKET,
	    SO_REUSEPORT, &one, sizeof(one)) != 0) ||
	    bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0 ||
	    listen(fd, 1024) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		goto fail;
	if (a->port == 0) {
		memcpy(&a->ss, &ss, a->len);
		a->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * ALPN (RFC 7301): h2 first, then http/1.1, so a client offering only
 * http/1.1 gets it named rather than no protocol.  h2o speaks HTTP/2 when
 * the selected name is one of h2o_http2_alpn_protocols, HTTP/1.1 otherwise.
 */
static const h2o_iovec_t alpn_protocols[] = {
	{ H2O_STRLIT("h2") },
	{ H2O_STRLIT("http/1.1") },
	{ NULL, 0 },
};

int
skr_net_tls_server(const char *cert_file, const char *key_file,
    SSL_CTX **out)
{
	SSL_CTX *ssl;

	*out = NULL;
	if ((ssl = SSL_CTX_new(TLS_server_method())) == NULL)
		return SKR_ERR_NOMEM;
	/* TLS 1.2 at least; OpenSSL prefers 1.3 when the client offers it.
	 * AEAD suites only (tls.h). */
	if (cert_file == NULL || key_file == NULL ||
	    SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ssl, SKR_TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set_ciphersuites(ssl, SKR_TLS13_CIPHERS) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ssl, cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ssl, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ssl) != 1) {
		SSL_CTX_free(ssl);
		return SKR_ERR_CONFIG;
	}
	SSL_CTX_set_options(ssl, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	h2o_ssl_register_alpn_protocols(ssl, alpn_protocols);
	*out = ssl;
	return SKR_OK;
}
