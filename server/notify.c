#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "skr/error.h"

int
skr_notify(const char *state)
{
	struct sockaddr_un sa;
	const char *path = getenv("NOTIFY_SOCKET");
	socklen_t len;
	size_t n;
	ssize_t w;
	int fd;

	if (state == NULL)
		return SKR_ERR_INVAL;
	if (path == NULL || path[0] == '\0')
		return 0;
	n = strlen(path);
	/* A path, or '@' for the abstract namespace (unix(7)). */
	if ((path[0] != '/' && path[0] != '@') || n < 2 ||
	    n >= sizeof(sa.sun_path))
		return SKR_ERR_CONFIG;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	/* An abstract name's length is exact: no terminating NUL counts. */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (path[0] == '/' ? 1 : 0));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return SKR_ERR_IO;
	do
		w = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		    (struct sockaddr *)&sa, len);
	while (w < 0 && errno == EINTR);
	close(fd);
	return w == (ssize_t)strlen(state) ? 1 : SKR_ERR_IO;
}
