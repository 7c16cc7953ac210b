/*
 * evutil.c — the socket helpers of event2/util.h: thin wrappers that keep
 * libevent's return convention (0, or -1 with errno set).
 */
#include <event2/util.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int evutil_socketpair(int d, int type, int protocol, evutil_socket_t sv[2])
{
	return socketpair(d, type, protocol, sv);
}

int evutil_make_socket_nonblocking(evutil_socket_t fd)
{
	int flags = fcntl(fd, F_GETFL, NULL);

	if (flags < 0)
		return -1;
	if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

int evutil_make_socket_closeonexec(evutil_socket_t fd)
{
	int flags = fcntl(fd, F_GETFD, NULL);

	if (flags < 0)
		return -1;
	if (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

int evutil_closesocket(evutil_socket_t fd)
{
	return close(fd);
}

int evutil_make_listen_socket_reuseable(evutil_socket_t fd)
{
	int one = 1;
	return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
}

int evutil_make_listen_socket_reuseable_port(evutil_socket_t fd)
{
	int one = 1;
	return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
}

ev_int64_t evutil_strtoll(const char *s, char **endptr, int base)
{
	return strtoll(s, endptr, base);
}
