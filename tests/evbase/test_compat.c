/*
 * The libevent 1.x API: event_init() and the functions and macros that work
 * on its implicit current base. The backend under test is chosen through
 * EVENT_NO<METHOD>, since event_init() takes no configuration.
 */
#include "evtest.h"

#include <event.h>

static int ticks;

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	ticks++;
	cr_assert_eq(what, EV_TIMEOUT);
}

static void once_cb(evutil_socket_t fd, short what, void *arg)
{
	(*(int *)arg)++;
}

Test(compat, event_init_and_dispatch, .timeout = 10)
{
	struct event_base *base;
	struct event ev;
	struct timeval tv = evtest_ms(1);
	int onces = 0;

	evtest_env_backend();
	base = event_init();
	cr_assert_not_null(base);
	if (evtest_backend())
		cr_assert_str_eq(event_get_method(), evtest_backend());
	timeout_set(&ev, tick_cb, NULL);
	cr_assert(timeout_initialized(&ev));
	cr_assert_eq(timeout_add(&ev, &tv), 0);
	cr_assert(timeout_pending(&ev, NULL));
	cr_assert_eq(event_once(-1, EV_TIMEOUT, once_cb, &onces, NULL), 0);
	cr_assert_eq(event_dispatch(), 1);
	cr_assert_eq(ticks, 1);
	cr_assert_eq(onces, 1);
	cr_assert(!timeout_pending(&ev, NULL));
	event_base_free(NULL);	/* the current base */
}

Test(compat, loopexit_and_loopbreak, .timeout = 10)
{
	struct event ev;
	struct timeval tv = evtest_ms(1), never = evtest_ms(60000);

	evtest_env_backend();
	cr_assert_not_null(event_init());
	evtimer_set(&ev, tick_cb, NULL);
	evtimer_add(&ev, &never);
	cr_assert_eq(event_loopexit(&tv), 0);
	cr_assert_eq(event_dispatch(), 0);
	cr_assert_eq(event_loopbreak(), 0);
	cr_assert_eq(event_loop(EVLOOP_NONBLOCK), 0);
	timeout_del(&ev);
	cr_assert_eq(event_priority_init(2), 0);
	event_base_free(NULL);
}

Test(compat, event_set_and_base_set, .timeout = 10)
{
	struct event_base *base = evtest_base();
	struct event ev;
	evutil_socket_t sv[2];
	int reads = 0;

	evtest_pair(sv);
	/* No current base: event_set leaves the event without one until
	 * event_base_set() gives it one. */
	event_set(&ev, sv[0], EV_READ, once_cb, &reads);
	cr_assert_eq(event_base_set(base, &ev), 0);
	cr_assert_eq(event_get_base(&ev), base);
	cr_assert_eq(event_add(&ev, NULL), 0);
	cr_assert_eq(event_base_set(base, &ev), -1, "refused while pending");
	cr_assert_eq(EVENT_FD(&ev), sv[0]);
	evtest_send(sv[1], 1);
	cr_assert_eq(event_base_dispatch(base), 1);
	cr_assert_eq(reads, 1);
	event_base_free(base);
}

Test(compat, signal_macros, .timeout = 10)
{
	struct event_base *base = evtest_base();
	struct event ev;
	int sigs = 0;

	signal_set(&ev, SIGUSR2, once_cb, &sigs);
	event_base_set(base, &ev);
	cr_assert(signal_initialized(&ev));
	cr_assert_eq(signal_add(&ev, NULL), 0);
	cr_assert(signal_pending(&ev, NULL));
	cr_assert_eq(EVENT_SIGNAL(&ev), SIGUSR2);
	raise(SIGUSR2);
	cr_assert_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	cr_assert_eq(sigs, 1);
	cr_assert_eq(signal_del(&ev), 0);
	event_base_free(base);
}
