/*
 * evutil.c — the helpers of event2/util.h: socket calls as thin wrappers that
 * keep libevent's return convention (0, or -1 with errno set), snprintf with
 * libevent's answers, and locale-independent ASCII comparisons.
 */
#include <event2/util.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int evutil_socketpair(int d, int type, int protocol, evutil_socket_t sv[2])
{
	return socketpair(d, type, protocol, sv);
}

/* Sets flag among fd's flags read by get and written by set (F_GETFL and
 * F_SETFL, or F_GETFD and F_SETFD), unless it is set already. */
static int add_fd_flag(evutil_socket_t fd, int get, int set, int flag)
{
	int flags = fcntl(fd, get, NULL);

	if (flags < 0)
		return -1;
	if (!(flags & flag) && fcntl(fd, set, flags | flag) < 0)
		return -1;
	return 0;
}

int evutil_make_socket_nonblocking(evutil_socket_t fd)
{
	return add_fd_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK);
}

int evutil_make_socket_closeonexec(evutil_socket_t fd)
{
	return add_fd_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC);
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

/* ---- strings -------------------------------------------------------------- */

int evutil_vsnprintf(char *buf, size_t buflen, const char *format, va_list ap)
{
	int r;

	/* libevent 2.1 returns 0 for an empty buffer, where C99's vsnprintf
	 * would return the length the output needs; programs written for
	 * libevent get libevent's answer. */
	if (!buflen)
		return 0;
	r = vsnprintf(buf, buflen, format, ap);
	buf[buflen - 1] = '\0';	/* terminated even if vsnprintf failed */
	return r;
}

int evutil_snprintf(char *buf, size_t buflen, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = evutil_vsnprintf(buf, buflen, format, ap);
	va_end(ap);
	return r;
}

/* A-Z folded to a-z and nothing else, whatever the locale says. */
static int ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int evutil_ascii_strncasecmp(const char *s1, const char *s2, size_t n)
{
	for (; n; n--, s1++, s2++) {
		int a = ascii_lower((unsigned char)*s1), b = ascii_lower((unsigned char)*s2);
		if (a != b)
			return a < b ? -1 : 1;
		if (!a)
			break;
	}
	return 0;
}

int evutil_ascii_strcasecmp(const char *s1, const char *s2)
{
	return evutil_ascii_strncasecmp(s1, s2, (size_t)-1);
}
