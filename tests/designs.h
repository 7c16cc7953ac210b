/*
 * designs.h — every server design the suites run against, in one list.
 *
 * The conformance suite (conformance.c) and the hostile-client suite
 * (hostile.c) each turn a case into one Criterion test per entry here, so a
 * design added to this list is tried by both. An entry is a Criterion suite
 * name (a C identifier), the binary in bin/, the design name the server puts
 * in its ready line and report, and the --backend it runs with (NULL: none).
 *
 * EVBENCH_DESIGNS(X, ...) calls X(suite, bin, name, backend, ...) once per
 * design, passing the extra arguments through.
 */
#ifndef EVBENCH_TESTS_DESIGNS_H
#define EVBENCH_TESTS_DESIGNS_H

#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct design {
	const char *suite;
	const char *bin;
	const char *name;
	const char *backend;
};

#define EVBENCH_DESIGNS(X, ...)                                                \
	X(fork, "rot13-fork", "fork", NULL, __VA_ARGS__)                       \
	X(threads, "rot13-threads", "threads", NULL, __VA_ARGS__)              \
	X(select, "rot13-select", "select", NULL, __VA_ARGS__)                 \
	X(poll, "rot13-poll", "poll", NULL, __VA_ARGS__)                       \
	X(epoll_lt, "rot13-epoll-lt", "epoll-lt", NULL, __VA_ARGS__)           \
	X(epoll_et, "rot13-epoll-et", "epoll-et", NULL, __VA_ARGS__)           \
	X(libevent, "rot13-libevent", "libevent", NULL, __VA_ARGS__)           \
	X(libevent_select, "rot13-libevent", "libevent", "select", __VA_ARGS__) \
	X(libevent_poll, "rot13-libevent", "libevent", "poll", __VA_ARGS__)    \
	X(evbase_select, "rot13-evbase", "evbase", "select", __VA_ARGS__)      \
	X(evbase_poll, "rot13-evbase", "evbase", "poll", __VA_ARGS__)          \
	X(evbase_epoll, "rot13-evbase", "evbase", "epoll", __VA_ARGS__)        \
	X(evbase_io_uring, "rot13-evbase", "evbase", "io_uring", __VA_ARGS__)

/* Why this machine cannot run design d although its binary exists, or NULL:
 * the kernel may lack io_uring or refuse it (kernel.io_uring_disabled, a
 * seccomp filter), and then evbase's io_uring backend has nothing to run on. */
static inline const char *design_unavailable(const struct design *d)
{
	unsigned char params[120] = { 0 };	/* struct io_uring_params */
	long fd;

	if (!d->backend || strcmp(d->backend, "io_uring"))
		return NULL;
	if ((fd = syscall(SYS_io_uring_setup, 1, params)) < 0)
		return "io_uring is not available on this machine";
	close((int)fd);
	return NULL;
}

#endif
