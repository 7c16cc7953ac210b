/*
 * Descriptors at and above FD_SETSIZE. evbase's select backend sizes its
 * fd sets to the highest descriptor instead of stopping at FD_SETSIZE
 * (docs/evbase.md); poll and epoll have no such limit to begin with.
 */
#include "evtest.h"

#include <limits.h>
#include <sys/resource.h>
#include <sys/select.h>

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	char c;
	cr_assert_eq(recv(fd, &c, 1, 0), 1);
	*(int *)arg = fd;
}

/* Move both ends of a pair to numbers >= FD_SETSIZE, if the limit lets us. */
static int high_pair(evutil_socket_t sv[2])
{
	struct rlimit rl;
	int want = FD_SETSIZE + 100;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)want + 10) {
		if (rl.rlim_max < (rlim_t)want + 10)
			return -1;
		rl.rlim_cur = (rlim_t)want + 10;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -1;
	}
	evtest_pair(sv);
	cr_assert_eq(dup2(sv[0], want), want);
	cr_assert_eq(dup2(sv[1], FD_SETSIZE), FD_SETSIZE);
	close(sv[0]);
	close(sv[1]);
	sv[0] = want;
	sv[1] = FD_SETSIZE;
	return 0;
}

static void above_fd_setsize(struct event_base *base)
{
	evutil_socket_t sv[2], low[2];
	int got = -1, gotlow = -1;
	struct event *ev, *evlow;

	if (high_pair(sv) < 0) {
		event_base_free(base);
		cr_skip_test("RLIMIT_NOFILE too low for fds above FD_SETSIZE");
	}
	evtest_pair(low);
	ev = event_new(base, sv[0], EV_READ, read_cb, &got);
	evlow = event_new(base, low[0], EV_READ, read_cb, &gotlow);
	cr_assert_eq(event_add(ev, NULL), 0);
	cr_assert_eq(event_add(evlow, NULL), 0);
	evtest_send(sv[1], 1);
	evtest_send(low[1], 1);
	cr_assert_eq(event_base_dispatch(base), 1);
	cr_assert_eq(got, sv[0]);
	cr_assert_eq(gotlow, low[0]);
	event_free(ev);
	event_free(evlow);
	event_base_free(base);
}

Test(fdlimit, backend_under_test_above_fd_setsize, .timeout = 10)
{
	above_fd_setsize(evtest_base());
}

#ifdef EVBASE
/* libevent 2.1.12's select backend sets bits with FD_SET(), which the
 * distribution's _FORTIFY_SOURCE build turns into an abort above
 * FD_SETSIZE; evbase sizes the sets itself (docs/evbase.md). */
Test(fdlimit, select_above_fd_setsize, .timeout = 10)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	event_config_avoid_method(cfg, "epoll");
	event_config_avoid_method(cfg, "poll");
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	cr_assert_str_eq(event_base_get_method(base), "select");
	above_fd_setsize(base);
}
#endif

/* A descriptor the fd map cannot hold gets a bounded answer: event_add()
 * returns -1 and leaves the event unregistered (libevent refuses any fd above
 * INT_MAX / 2 before it sizes its map). No such descriptor can be open, so
 * the backend never sees one either way. The base stays usable afterwards.
 * The map must refuse without first trying to grow towards the number:
 * Criterion's timeout turns a growth loop that never ends into a failure
 * instead of a hung suite. */
Test(fdlimit, huge_descriptor_refused, .timeout = 10)
{
	static const evutil_socket_t huge[] = { INT_MAX, INT_MAX - 1, INT_MAX / 2 + 1 };
	struct event_base *base = evtest_base();
	evutil_socket_t sv[2];
	struct event *ev;
	int got = -1;

	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		ev = event_new(base, huge[i], EV_READ | EV_PERSIST, read_cb, &got);
		cr_assert_not_null(ev);
		cr_assert_eq(event_add(ev, NULL), -1, "event_add on fd %d", huge[i]);
		cr_assert_eq(event_pending(ev, EV_READ, NULL), 0);
		event_free(ev);
	}
	cr_assert_eq(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
	/* A real descriptor still works on the same base. */
	evtest_pair(sv);
	ev = event_new(base, sv[0], EV_READ, read_cb, &got);
	cr_assert_eq(event_add(ev, NULL), 0);
	evtest_send(sv[1], 1);
	cr_assert_eq(event_base_dispatch(base), 1);
	cr_assert_eq(got, sv[0]);
	event_free(ev);
	evutil_closesocket(sv[0]);
	evutil_closesocket(sv[1]);
	event_base_free(base);
}
