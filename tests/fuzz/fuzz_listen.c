/*
 * libFuzzer target: the listen address parser shared by skrd and
 * skr-test-authority (server/net).  Input: the address text.  Whatever it
 * is, an accepted address has a port in range and a numeric host of its
 * family, its URL parses back to the same address, and a host is loopback
 * exactly when the address is in 127.0.0.0/8 or is ::1.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "skr/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
loopback_addr(const skr_net_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.
		    s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&a->ss)->
	    sin6_addr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	skr_net_addr a, back;
	char *s, url[128], host[64];
	const char *hp;
	int port;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* The syntax alone, with a small host buffer. */
	if (skr_net_parse_listen(s, host, sizeof(host), &port) == SKR_OK &&
	    (port < 0 || port > 65535 || host[0] == '\0' ||
	    strlen(host) >= sizeof(host)))
		abort();
	if (skr_net_resolve_listen(s, &a) != SKR_OK)
		goto out;
	if (a.port < 0 || a.port > 65535 ||
	    (a.ss.ss_family != AF_INET && a.ss.ss_family != AF_INET6) ||
	    skr_net_is_loopback(a.host) != loopback_addr(&a))
		abort();
	/* "https://" then the listen form again. */
	if (skr_net_url(&a, "https", a.port, url, sizeof(url)) != SKR_OK)
		abort();
	hp = url + strlen("https://");
	if (skr_net_resolve_listen(hp, &back) != SKR_OK ||
	    back.len != a.len || back.port != a.port ||
	    memcmp(&back.ss, &a.ss, a.len) != 0)
		abort();
out:
	free(s);
	return 0;
}
