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
	X(evbase_epoll, "rot13-evbase", "evbase", "epoll", __VA_ARGS__)

#endif
