/*
 * Library set-up and configuration: versions, methods, config objects,
 * EVENT_NO<METHOD> and EVENT_SHOW_METHOD, logging and debug mode.
 * Criterion runs each test in its own process, so setenv() stays local.
 */
#include "evtest.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>

static char logged[4096];
static int log_severity = -1, log_count;

static void capture(int severity, const char *msg)
{
	size_t n = strlen(logged);
	snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
	log_severity = severity;
	log_count++;
}

static void count_cb(evutil_socket_t fd, short what, void *arg)
{
	(*(int *)arg)++;
}

Test(setup, version)
{
	cr_assert_str_eq(event_get_version(), LIBEVENT_VERSION);
	cr_assert_eq(event_get_version_number(), LIBEVENT_VERSION_NUMBER);
	cr_assert_eq(event_get_version_number(), 0x02010c00);
	cr_assert_eq(strncmp(event_get_version(), "2.1.12", 6), 0);
}

Test(setup, supported_methods)
{
	const char **m = event_get_supported_methods();
	int epoll = 0, poll = 0, sel = 0, n = 0;

	cr_assert_not_null(m);
	for (; *m; m++, n++) {
		epoll += !strcmp(*m, "epoll");
		poll += !strcmp(*m, "poll");
		sel += !strcmp(*m, "select");
	}
	cr_assert(epoll == 1 && poll == 1 && sel == 1);
	cr_assert_str_eq(event_get_supported_methods()[0], "epoll", "epoll is preferred");
}

Test(setup, default_base_is_epoll)
{
	struct event_base *base = event_base_new();

	cr_assert_not_null(base);
	cr_assert_str_eq(event_base_get_method(base), "epoll");
	cr_assert_eq(event_base_get_features(base),
	    EV_FEATURE_ET | EV_FEATURE_O1 | EV_FEATURE_EARLY_CLOSE);
	event_base_free(base);
}

static struct event_base *only(const char *method)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;
	for (const char **m = event_get_supported_methods(); *m; m++)
		if (strcmp(*m, method))
			event_config_avoid_method(cfg, *m);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

Test(setup, each_method_and_its_features)
{
	const char *names[] = { "epoll", "poll", "select" };
	int features[] = { EV_FEATURE_ET | EV_FEATURE_O1 | EV_FEATURE_EARLY_CLOSE,
	    EV_FEATURE_FDS | EV_FEATURE_EARLY_CLOSE, EV_FEATURE_FDS };

	for (int i = 0; i < 3; i++) {
		struct event_base *base = only(names[i]);
		cr_assert_not_null(base, "%s", names[i]);
		cr_assert_str_eq(event_base_get_method(base), names[i]);
		cr_assert_eq(event_base_get_features(base), features[i], "%s", names[i]);
		event_base_free(base);
	}
}

Test(setup, avoiding_everything_gives_null)
{
	struct event_config *cfg = event_config_new();

	event_set_log_callback(capture);
	for (const char **m = event_get_supported_methods(); *m; m++)
		cr_assert_eq(event_config_avoid_method(cfg, *m), 0);
	cr_assert_null(event_base_new_with_config(cfg));
	event_config_free(cfg);
}

Test(setup, require_features)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	cr_assert_eq(event_config_require_features(cfg, EV_FEATURE_FDS), 0);
	base = event_base_new_with_config(cfg);
	cr_assert_not_null(base);
	cr_assert_str_eq(event_base_get_method(base), "poll");
	event_base_free(base);

	event_config_require_features(cfg, EV_FEATURE_ET);
	event_config_avoid_method(cfg, "epoll");
	event_config_avoid_method(cfg, "io_uring");	/* evbase's; unknown to libevent */
	event_set_log_callback(capture);
	cr_assert_null(event_base_new_with_config(cfg), "only epoll and io_uring have EV_FEATURE_ET");
	event_config_free(cfg);
}

Test(setup, env_avoids_methods)
{
	struct event_base *base;

	setenv("EVENT_NOEPOLL", "1", 1);
	base = event_base_new();
	cr_assert_str_eq(event_base_get_method(base), "poll");
	event_base_free(base);

	setenv("EVENT_NOPOLL", "yes", 1);
	base = event_base_new();
	cr_assert_str_eq(event_base_get_method(base), "select");
	event_base_free(base);
}

Test(setup, ignore_env_flag)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	setenv("EVENT_NOEPOLL", "1", 1);
	setenv("EVENT_SHOW_METHOD", "1", 1);
	event_set_log_callback(capture);
	cr_assert_eq(event_config_set_flag(cfg, EVENT_BASE_FLAG_IGNORE_ENV), 0);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	cr_assert_str_eq(event_base_get_method(base), "epoll");
#ifdef EVBASE
	/* libevent 2.1.12 still reads EVENT_SHOW_METHOD under IGNORE_ENV;
	 * evbase ignores every EVENT_* variable (docs/evbase.md). */
	cr_assert_eq(log_count, 0, "EVENT_SHOW_METHOD honoured despite IGNORE_ENV: %s", logged);
#endif
	event_base_free(base);
}

Test(setup, show_method)
{
	struct event_base *base;

	setenv("EVENT_SHOW_METHOD", "1", 1);
	setenv("EVENT_NOEPOLL", "1", 1);
	event_set_log_callback(capture);
	base = event_base_new();
	cr_assert_eq(log_count, 1);
	cr_assert_eq(log_severity, EVENT_LOG_MSG);
	cr_assert_not_null(strstr(logged, "poll"), "logged: %s", logged);
	event_base_free(base);
}

Test(setup, log_callback_gets_warnings)
{
	struct event_base *base = evtest_base();
	struct event ev;

	event_set_log_callback(capture);
	cr_assert_eq(event_assign(&ev, base, SIGUSR1, EV_SIGNAL | EV_READ, count_cb, NULL), -1);
	cr_assert_eq(log_count, 1);
	cr_assert_eq(log_severity, EVENT_LOG_WARN);
	cr_assert_not_null(strstr(logged, "EV_SIGNAL"));
	event_set_log_callback(NULL);
	event_base_free(base);
}

Test(setup, debug_logging_calls_back)
{
	struct event_base *base;

	event_set_log_callback(capture);
	event_enable_debug_logging(EVENT_DBG_ALL);
	base = evtest_base();
	cr_assert_eq(event_base_dispatch(base), 1);
	cr_assert_gt(log_count, 0, "no debug messages");
	cr_assert_eq(log_severity, EVENT_LOG_DEBUG);
	event_enable_debug_logging(EVENT_DBG_NONE);
	log_count = 0;
	cr_assert_eq(event_base_dispatch(base), 1);
	cr_assert_eq(log_count, 0);
	event_base_free(base);
}

static void die42(int err)
{
	_exit(42);
}

/* Debug mode catches an event used before event_assign() and dies through
 * the fatal callback. */
Test(setup, debug_mode_catches_unassigned_event, .exit_code = 42, .timeout = 10)
{
	struct event_base *base;
	struct event ev;

	event_set_log_callback(capture);
	event_set_fatal_callback(die42);
	event_enable_debug_mode();
	base = evtest_base();
	/* Never assigned; only the base is set, so that libevent gets past
	 * its "no event_base" check to the debug-mode one. */
	memset(&ev, 0, sizeof(ev));
	ev.ev_base = base;
	event_add(&ev, NULL);
	event_base_free(base);
	_exit(0);
}

Test(setup, debug_mode_normal_use_is_quiet, .timeout = 10)
{
	struct event_base *base;
	struct event *ev;
	int calls = 0;

	event_set_fatal_callback(die42);
	event_enable_debug_mode();
	base = evtest_base();
	ev = evtimer_new(base, count_cb, &calls);
	struct timeval tv = evtest_ms(1);
	evtimer_add(ev, &tv);
	cr_assert_eq(event_base_dispatch(base), 1);
	cr_assert_eq(calls, 1);
	event_free(ev);
	event_base_free(base);
}

Test(setup, config_null_is_refused)
{
	cr_assert_eq(event_config_set_flag(NULL, EVENT_BASE_FLAG_NOLOCK), -1);
	cr_assert_eq(event_config_require_features(NULL, 0), -1);
	struct event_base *base = event_base_new_with_config(NULL);
	cr_assert_not_null(base, "a NULL config means the defaults");
	event_base_free(base);
}

Test(setup, global_shutdown)
{
	struct event_base *base = evtest_base();
	event_base_free(base);
	libevent_global_shutdown();
}

Test(setup, util_helpers)
{
	evutil_socket_t sv[2];
	struct timeval a = { 1, 900000 }, b = { 0, 200000 }, c;

	cr_assert_eq(evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(evutil_make_socket_nonblocking(sv[0]), 0);
	cr_assert_eq(evutil_make_socket_closeonexec(sv[0]), 0);
	cr_assert(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	cr_assert(fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
	/* Again: a flag already set is kept, and it is no error. */
	cr_assert_eq(evutil_make_socket_closeonexec(sv[0]), 0);
	cr_assert(fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(evutil_make_listen_socket_reuseable(sv[0]), 0);
	char ch;
	cr_assert_eq(recv(sv[0], &ch, 1, 0), -1);
	cr_assert(EVUTIL_SOCKET_ERROR() == EAGAIN || EVUTIL_SOCKET_ERROR() == EWOULDBLOCK);
	cr_assert_eq(evutil_closesocket(sv[0]), 0);
	cr_assert_eq(evutil_closesocket(sv[1]), 0);
	evtest_expect_warning();
	cr_assert_eq(evutil_make_socket_nonblocking(-1), -1);
	evtest_got_warning(NULL);    /* libevent logs the fcntl() failure, evbase does not */

	evutil_timeradd(&a, &b, &c);
	cr_assert(c.tv_sec == 2 && c.tv_usec == 100000);
	evutil_timersub(&c, &a, &c);
	cr_assert(evutil_timercmp(&c, &b, ==));
	cr_assert(evutil_timercmp(&a, &b, >));
	evutil_timerclear(&c);
	cr_assert(!evutil_timerisset(&c));
	ev_uint64_t u64 = EV_UINT64_MAX;
	ev_int32_t i32 = EV_INT32_MIN;
	ev_uint8_t u8 = EV_UINT8_MAX;
	ev_ssize_t ss = -1;
	cr_assert(u64 == UINT64_MAX && i32 == INT32_MIN && u8 == 255 && ss < 0);
}

/* evutil_snprintf and evutil_vsnprintf: C99's return value (the length the
 * whole output would have), and the output cut to fit, always terminated. */
static int vformat(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = evutil_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

Test(setup, util_snprintf)
{
	char buf[8];

	memset(buf, 'z', sizeof(buf));
	cr_assert_eq(evutil_snprintf(buf, sizeof(buf), "%d-%s", 42, "ok"), 5);
	cr_assert_str_eq(buf, "42-ok");
	memset(buf, 'z', sizeof(buf));
	cr_assert_eq(evutil_snprintf(buf, sizeof(buf), "%s|%d", "abcdefgh", 12345), 14);
	cr_assert_str_eq(buf, "abcdefg");
	memset(buf, 'z', sizeof(buf));
	cr_assert_eq(evutil_snprintf(buf, 1, "%s", "abc"), 3);
	cr_assert_eq(buf[0], '\0');
	cr_assert_eq(buf[1], 'z', "wrote past the given length");
	memset(buf, 'z', sizeof(buf));
	cr_assert_eq(vformat(buf, 4, "%c%c%c%c%c", 'a', 'b', 'c', 'd', 'e'), 5);
	cr_assert_str_eq(buf, "abc");
	cr_assert_eq(buf[4], 'z', "wrote past the given length");
	cr_assert_eq(vformat(buf, sizeof(buf), "%s", ""), 0);
	cr_assert_str_eq(buf, "");
	/* An empty buffer: libevent 2.1 answers 0 (not C99's 5), writes nothing. */
	memset(buf, 'z', sizeof(buf));
	cr_assert_eq(evutil_snprintf(buf, 0, "%s", "hello"), 0);
	cr_assert_eq(buf[0], 'z');
}

/* evutil_ascii_strcasecmp / strncasecmp: strcasecmp's answers on ASCII. */
Test(setup, util_ascii_strcasecmp)
{
	cr_assert_eq(evutil_ascii_strcasecmp("Content-Length", "content-LENGTH"), 0);
	cr_assert_lt(evutil_ascii_strcasecmp("ABC", "abd"), 0);
	cr_assert_gt(evutil_ascii_strcasecmp("b", "A"), 0);
	cr_assert_lt(evutil_ascii_strcasecmp("ab", "ABC"), 0, "a prefix sorts first");
	cr_assert_gt(evutil_ascii_strcasecmp("abc", "AB"), 0);
	cr_assert_eq(evutil_ascii_strcasecmp("", ""), 0);
	cr_assert_eq(evutil_ascii_strncasecmp("HTTP/1.1", "http/1.0", 7), 0);
	cr_assert_neq(evutil_ascii_strncasecmp("HTTP/1.1", "http/1.0", 8), 0);
	cr_assert_eq(evutil_ascii_strncasecmp("x", "y", 0), 0);
	cr_assert_eq(evutil_ascii_strncasecmp("ab", "AB", 100), 0, "stops at the end");
	/* Only A-Z fold: '[' (0x5b) is not '{' (0x7b), and bytes above 0x7f
	 * compare as themselves. */
	cr_assert_neq(evutil_ascii_strcasecmp("[", "{"), 0);
	cr_assert_neq(evutil_ascii_strcasecmp("\xc4", "\xe4"), 0);
}

/* The event-config.h macros that libevent's own sample and benchmark programs
 * test before they include a header or call a function (bench.c raises its
 * descriptor limit only under EVENT__HAVE_SETRLIMIT). Against libevent this
 * checks the names are libevent's; against evbase, that it defines them. */
Test(setup, config_macros)
{
	const char *missing = ""
#ifndef EVENT__HAVE_SETRLIMIT
	    " SETRLIMIT"
#endif
#ifndef EVENT__HAVE_SYS_RESOURCE_H
	    " SYS_RESOURCE_H"
#endif
#ifndef EVENT__HAVE_SYS_TIME_H
	    " SYS_TIME_H"
#endif
#ifndef EVENT__HAVE_SYS_SOCKET_H
	    " SYS_SOCKET_H"
#endif
#ifndef EVENT__HAVE_SYS_STAT_H
	    " SYS_STAT_H"
#endif
#ifndef EVENT__HAVE_UNISTD_H
	    " UNISTD_H"
#endif
#ifndef EVENT__HAVE_FCNTL_H
	    " FCNTL_H"
#endif
#ifndef EVENT__HAVE_NETINET_IN_H
	    " NETINET_IN_H"
#endif
#ifndef EVENT__HAVE_STDARG_H
	    " STDARG_H"
#endif
#ifndef EVENT__HAVE_PTHREADS
	    " PTHREADS"
#endif
#ifndef EVENT__HAVE_EVENTFD
	    " EVENTFD"
#endif
	    "";
	cr_assert_str_empty(missing, "not defined:%s", missing);
}

#ifdef EVBASE
/* evbase's fourth backend goes by the same rules: EVENT_NOIO_URING rules it
 * out, and it comes last in the order of preference. */
Test(setup, env_avoids_io_uring)
{
	struct event_base *base;
	const char **m = event_get_supported_methods();
	int n = 0;

	while (m[n])
		n++;
	cr_assert_str_eq(m[n - 1], "io_uring");
	setenv("EVENT_NOEPOLL", "1", 1);
	setenv("EVENT_NOPOLL", "1", 1);
	setenv("EVENT_NOSELECT", "1", 1);
	event_set_log_callback(capture);
	base = event_base_new();
	if (!base)
		cr_skip_test("io_uring is not available on this machine");
	cr_assert_str_eq(event_base_get_method(base), "io_uring");
	event_base_free(base);
	setenv("EVENT_NOIO_URING", "1", 1);
	cr_assert_null(event_base_new());
}
#endif
