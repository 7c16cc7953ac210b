/*
 * event2/event-config.h — what evbase was built with, in libevent's names.
 *
 * evbase targets Linux only, so this file is written by hand rather than by a
 * configure script: the EVENT__HAVE_* macros below are the ones programs test
 * for, and the version macros say which libevent API evbase follows.
 */
#ifndef EVENT2_EVENT_CONFIG_H_INCLUDED_
#define EVENT2_EVENT_CONFIG_H_INCLUDED_

/* The libevent release whose core API evbase implements. The string carries
 * evbase's own suffix so that a log line tells the two libraries apart; the
 * number is libevent's, so version checks in programs pass unchanged. */
#define EVENT__VERSION "2.1.12-evbase"
#define EVENT__NUMERIC_VERSION 0x02010c00
/* Defined only by evbase, for code (tests) that must tell the two apart. */
#define EVBASE 1
#define EVENT__PACKAGE "evbase"
#define EVENT__PACKAGE_NAME "evbase"
#define EVENT__PACKAGE_VERSION EVENT__VERSION
#define EVENT__PACKAGE_STRING "evbase " EVENT__VERSION

/* Backends compiled in (evbase/src/{epoll,poll,select}.c). */
#define EVENT__HAVE_EPOLL 1
#define EVENT__HAVE_EPOLL_CTL 1
#define EVENT__HAVE_POLL 1
#define EVENT__HAVE_POLL_H 1
#define EVENT__HAVE_SELECT 1
#define EVENT__HAVE_SYS_EPOLL_H 1
#define EVENT__HAVE_SYS_SELECT_H 1

/* Headers and functions of the platform. */
#define EVENT__HAVE_SYS_TYPES_H 1
#define EVENT__HAVE_SYS_TIME_H 1
#define EVENT__HAVE_SYS_SOCKET_H 1
#define EVENT__HAVE_SYS_IOCTL_H 1
#define EVENT__HAVE_NETINET_IN_H 1
#define EVENT__HAVE_ARPA_INET_H 1
#define EVENT__HAVE_NETDB_H 1
#define EVENT__HAVE_UNISTD_H 1
#define EVENT__HAVE_FCNTL_H 1
#define EVENT__HAVE_STDINT_H 1
#define EVENT__HAVE_STDDEF_H 1
#define EVENT__HAVE_INTTYPES_H 1
#define EVENT__HAVE_SIGNAL_H 1
#define EVENT__HAVE_SETFD 1
#define EVENT__HAVE_SIGACTION 1
#define EVENT__HAVE_PIPE2 1
#define EVENT__HAVE_GETTIMEOFDAY 1
#define EVENT__HAVE_CLOCK_GETTIME 1
#define EVENT__HAVE_TIMERADD 1
#define EVENT__HAVE_TIMERCLEAR 1
#define EVENT__HAVE_TIMERCMP 1
#define EVENT__HAVE_TIMERISSET 1
#define EVENT__HAVE_UINT8_T 1
#define EVENT__HAVE_UINT16_T 1
#define EVENT__HAVE_UINT32_T 1
#define EVENT__HAVE_UINT64_T 1
#define EVENT__HAVE_UINTPTR_T 1
#define EVENT__HAVE_FD_MASK 1
/* What libevent's own sample and benchmark programs test before they use a
 * header or a call: bench.c and bench_cascade.c raise their descriptor limit
 * only under EVENT__HAVE_SETRLIMIT, and include <sys/resource.h> only under
 * EVENT__HAVE_SYS_RESOURCE_H. Each is true on Linux, as in libevent's build. */
#define EVENT__HAVE_SETRLIMIT 1
#define EVENT__HAVE_SYS_RESOURCE_H 1
#define EVENT__HAVE_SYS_STAT_H 1
#define EVENT__HAVE_SYS_UIO_H 1
#define EVENT__HAVE_SYS_WAIT_H 1
#define EVENT__HAVE_SYS_QUEUE_H 1
#define EVENT__HAVE_SYS_MMAN_H 1
#define EVENT__HAVE_STDARG_H 1
#define EVENT__HAVE_STDLIB_H 1
#define EVENT__HAVE_STRING_H 1
#define EVENT__HAVE_ERRNO_H 1
#define EVENT__HAVE_SIGNAL 1
#define EVENT__HAVE_PIPE 1
#define EVENT__HAVE_SETENV 1
#define EVENT__HAVE_UNSETENV 1
#define EVENT__HAVE_PUTENV 1
#define EVENT__HAVE_NANOSLEEP 1
#define EVENT__HAVE_USLEEP 1
#define EVENT__HAVE_STRSEP 1
#define EVENT__HAVE_MMAP 1
#define EVENT__HAVE_EPOLL_CREATE1 1
#define EVENT__HAVE_EVENTFD 1
#define EVENT__HAVE_SYS_EVENTFD_H 1
#define EVENT__HAVE_PTHREADS 1

#define EVENT__SIZEOF_INT 4
#define EVENT__SIZEOF_LONG 8
#define EVENT__SIZEOF_LONG_LONG 8
#define EVENT__SIZEOF_SHORT 2
#define EVENT__SIZEOF_SIZE_T 8
#define EVENT__SIZEOF_VOID_P 8
#define EVENT__SIZEOF_OFF_T 8
#define EVENT__SIZEOF_PTHREAD_T 8
#define EVENT__SIZEOF_TIME_T 8

/* Threads (event2/thread.h) and memory hooks (event_set_mem_functions) are
 * built in, so EVENT__DISABLE_THREAD_SUPPORT and
 * EVENT__DISABLE_MM_REPLACEMENT stay undefined, as in libevent's build. */

#endif /* EVENT2_EVENT_CONFIG_H_INCLUDED_ */
