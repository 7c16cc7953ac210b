/*
 * evtest.h — what every event-loop test shares.
 *
 * These tests are written against libevent 2.1's core API and built twice:
 * against libevent, and against evbase (-Ievbase/include). tests/run.sh runs
 * the evbase build once per backend with EVTEST_BACKEND=select|poll|epoll|
 * io_uring;
 * evtest_base() then builds a base that avoids every other method and checks
 * it got the one asked for. Without EVTEST_BACKEND it is event_base_new().
 *
 * Tests count callbacks instead of sleeping. Where a test must wait for time
 * to pass it spins on CLOCK_MONOTONIC, so the outcome does not depend on the
 * machine's speed; safety deadlines are scaled by EVBENCH_TIMEOUT_MULT.
 */
#ifndef EVTEST_H
#define EVTEST_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/util.h>

#ifdef EVTEST_MINI
#include "minicr.h"	/* tests/evbase/tsan/: a plain program, for ThreadSanitizer */
#else
#include <criterion/criterion.h>
#endif
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The backend under test, or NULL for the library's own choice. */
static inline const char *evtest_backend(void)
{
	const char *be = getenv("EVTEST_BACKEND");
	return be && *be ? be : NULL;
}

/* Avoid every method but the one under test in cfg. */
static inline void evtest_config(struct event_config *cfg)
{
	const char *be = evtest_backend();
	const char **m;

	if (!be)
		return;
	for (m = event_get_supported_methods(); *m; m++)
		if (strcmp(*m, be))
			cr_assert_eq(event_config_avoid_method(cfg, *m), 0);
}

/* A base on the backend under test. */
static inline struct event_base *evtest_base(void)
{
	const char *be = evtest_backend();
	struct event_config *cfg;
	struct event_base *base;

	if (!be) {
		base = event_base_new();
		cr_assert_not_null(base);
		return base;
	}
	cfg = event_config_new();
	cr_assert_not_null(cfg);
	evtest_config(cfg);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	/* io_uring may be missing or disabled (kernel.io_uring_disabled,
	 * seccomp in containers): that is a skip, not a failure. */
	if (!base && !strcmp(be, "io_uring"))
		cr_skip_test("io_uring is not available on this machine");
	cr_assert_not_null(base, "no base with backend %s", be);
	cr_assert_str_eq(event_base_get_method(base), be);
	return base;
}

/* For the event_init() API, which takes no config: steer it through the
 * EVENT_NO<METHOD> variables instead. */
static inline void evtest_env_backend(void)
{
	const char *be = evtest_backend();
	const char **m;

	if (!be)
		return;
	for (m = event_get_supported_methods(); *m; m++) {
		char var[64] = "EVENT_NO";
		size_t n = strlen(var);
		for (const char *p = *m; *p; p++)
			var[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		var[n] = '\0';
		if (strcmp(*m, be))
			setenv(var, "1", 1);
		else
			unsetenv(var);
	}
}

/* A non-blocking AF_UNIX stream pair. */
static inline void evtest_pair(evutil_socket_t sv[2])
{
	cr_assert_eq(evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(evutil_make_socket_nonblocking(sv[0]), 0);
	cr_assert_eq(evutil_make_socket_nonblocking(sv[1]), 0);
}

static inline void evtest_send(evutil_socket_t fd, int n)
{
	for (int i = 0; i < n; i++)
		cr_assert_eq(send(fd, "x", 1, 0), 1);
}

static inline long long evtest_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Busy-wait until us microseconds have passed on the monotonic clock. */
static inline void evtest_spin_us(long long us)
{
	long long end = evtest_now_us() + us;
	while (evtest_now_us() < end)
		;
}

static inline long long evtest_tv_us(const struct timeval *tv)
{
	return (long long)tv->tv_sec * 1000000 + tv->tv_usec;
}

static inline struct timeval evtest_ms(long ms)
{
	struct timeval tv;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

/* A safety deadline in ms, scaled by EVBENCH_TIMEOUT_MULT. */
static inline struct timeval evtest_deadline(long ms)
{
	const char *m = getenv("EVBENCH_TIMEOUT_MULT");
	double mult = m ? atof(m) : 1.0;
	return evtest_ms((long)(ms * (mult > 0 ? mult : 1.0)));
}

/* Expected warnings: between evtest_expect_warning() and evtest_got_warning()
 * the library's log lines are kept here instead of printed on stderr, where
 * `make test` would show them among the results and they would read as
 * failures. evtest_got_warning() asserts that one containing `what` came
 * (NULL: whether one came is the library's choice). */
static char evtest_warned[1024];

static inline void evtest_keep_warning(int severity, const char *msg)
{
	size_t n = strlen(evtest_warned);

	(void)severity;
	snprintf(evtest_warned + n, sizeof evtest_warned - n, "%s\n", msg);
}

static inline void evtest_expect_warning(void)
{
	evtest_warned[0] = '\0';
	event_set_log_callback(evtest_keep_warning);
}

static inline void evtest_got_warning(const char *what)
{
	event_set_log_callback(NULL);
	if (what)
		cr_assert_not_null(strstr(evtest_warned, what), "expected a warning with '%s', got: %s",
				   what, evtest_warned);
}

#endif /* EVTEST_H */
