/*
 * Descriptors at and above FD_SETSIZE. evbase's select backend sizes its
 * fd sets to the highest descriptor instead of stopping at FD_SETSIZE
 * (docs/evbase.md); poll and epoll have no such limit to begin with.
 */
#include "evtest.h"

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
