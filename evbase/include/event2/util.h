/*
 * event2/util.h — evbase's portability helpers, as libevent 2.1 names them.
 *
 * Linux only: a socket is an int, the socket error is errno, and the timer
 * macros are the BSD ones from <sys/time.h>.
 */
#ifndef EVENT2_UTIL_H_INCLUDED_
#define EVENT2_UTIL_H_INCLUDED_

#include <event2/event-config.h>
#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <errno.h>
#include <string.h>
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed-width integer types under libevent's names. */
#define ev_uint64_t uint64_t
#define ev_int64_t int64_t
#define ev_uint32_t uint32_t
#define ev_int32_t int32_t
#define ev_uint16_t uint16_t
#define ev_int16_t int16_t
#define ev_uint8_t uint8_t
#define ev_int8_t int8_t
#define ev_uintptr_t uintptr_t
#define ev_intptr_t intptr_t
#define ev_ssize_t ssize_t
#define ev_off_t off_t
#define ev_socklen_t socklen_t

#define EV_UINT64_MAX UINT64_MAX
#define EV_INT64_MAX INT64_MAX
#define EV_INT64_MIN INT64_MIN
#define EV_UINT32_MAX UINT32_MAX
#define EV_INT32_MAX INT32_MAX
#define EV_INT32_MIN INT32_MIN
#define EV_UINT16_MAX UINT16_MAX
#define EV_INT16_MAX INT16_MAX
#define EV_INT16_MIN INT16_MIN
#define EV_UINT8_MAX UINT8_MAX
#define EV_INT8_MAX INT8_MAX
#define EV_INT8_MIN INT8_MIN
#define EV_SIZE_MAX SIZE_MAX
#define EV_SSIZE_MAX INT64_MAX
#define EV_SSIZE_MIN INT64_MIN

/* A socket descriptor: an int on every platform evbase runs on. */
#define evutil_socket_t int
#define EVUTIL_INVALID_SOCKET -1

/* The last socket error, and its text: errno and strerror() on Linux. */
#define EVUTIL_SOCKET_ERROR() (errno)
#define EVUTIL_SET_SOCKET_ERROR(errcode) do { errno = (errcode); } while (0)
#define evutil_socket_geterror(sock) (errno)
#define evutil_socket_error_to_string(errcode) (strerror(errcode))

/* struct timeval arithmetic; evutil_timercmp accepts ==, <=, <, >=, >. */
#define evutil_timeradd(tvp, uvp, vvp) timeradd((tvp), (uvp), (vvp))
#define evutil_timersub(tvp, uvp, vvp) timersub((tvp), (uvp), (vvp))
#define evutil_timerclear(tvp) timerclear(tvp)
#define evutil_timerisset(tvp) timerisset(tvp)
#define evutil_timercmp(tvp, uvp, cmp)					\
	(((tvp)->tv_sec == (uvp)->tv_sec) ?				\
	 ((tvp)->tv_usec cmp (uvp)->tv_usec) :				\
	 ((tvp)->tv_sec cmp (uvp)->tv_sec))
#define evutil_gettimeofday(tv, tz) gettimeofday((tv), (tz))
#define evutil_offsetof(type, field) offsetof(type, field)

/* socketpair(2): 0, or -1 with errno set. */
int evutil_socketpair(int d, int type, int protocol, evutil_socket_t sv[2]);
/* Set O_NONBLOCK on sock: 0, or -1 with errno set. */
int evutil_make_socket_nonblocking(evutil_socket_t sock);
/* Set FD_CLOEXEC on sock: 0, or -1 with errno set. */
int evutil_make_socket_closeonexec(evutil_socket_t sock);
/* close(2) a socket: 0, or -1 with errno set. */
int evutil_closesocket(evutil_socket_t sock);
/* SO_REUSEADDR, so a restarted server can bind at once: 0 or -1. */
int evutil_make_listen_socket_reuseable(evutil_socket_t sock);
/* SO_REUSEPORT, so several sockets may listen on one port: 0 or -1. */
int evutil_make_listen_socket_reuseable_port(evutil_socket_t sock);
/* strtoll(3) under libevent's name. */
ev_int64_t evutil_strtoll(const char *s, char **endptr, int base);

/* snprintf(3) and vsnprintf(3) as libevent has them: the output is cut to
 * buflen - 1 bytes and always terminated; the return value is the length
 * the whole output needs (C99), except that an empty buffer (buflen 0)
 * gets 0 and nothing is written. */
int evutil_snprintf(char *buf, size_t buflen, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
int evutil_vsnprintf(char *buf, size_t buflen, const char *format, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* strcasecmp(3) and strncasecmp(3) on ASCII alone, whatever the locale
 * (for protocols): <0, 0 or >0. */
int evutil_ascii_strcasecmp(const char *str1, const char *str2);
int evutil_ascii_strncasecmp(const char *str1, const char *str2, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_UTIL_H_INCLUDED_ */
