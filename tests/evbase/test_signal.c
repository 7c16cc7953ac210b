/*
 * Signal events: one callback per delivered signal, deleting from the
 * callback, restoring the previous handler, signals during a blocking wait.
 */
#include "evtest.h"

struct sigrec {
	int calls;
	short what;
	evutil_socket_t fd;
	struct event *ev;
	int del_at;
};

static void sig_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sigrec *r = arg;
	r->calls++;
	r->what = what;
	r->fd = fd;
	if (r->del_at && r->calls == r->del_at)
		event_del(r->ev);
}

Test(signal, one_callback_per_delivery, .timeout = 10)
{
	struct event_base *base = evtest_base();
	struct sigrec r = { 0 };

	r.ev = evsignal_new(base, SIGUSR1, sig_cb, &r);
	cr_assert_eq(evsignal_add(r.ev, NULL), 0);
	cr_assert_eq(evsignal_pending(r.ev, NULL), EV_SIGNAL);
	for (int i = 0; i < 3; i++)
		raise(SIGUSR1);
	cr_assert_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	cr_assert_eq(r.calls, 3);
	cr_assert_eq(r.what, EV_SIGNAL);
	cr_assert_eq(r.fd, SIGUSR1);
	cr_assert_eq(evsignal_pending(r.ev, NULL), EV_SIGNAL, "persistent");
	event_free(r.ev);
	event_base_free(base);
}

Test(signal, del_in_callback_ends_the_series, .timeout = 10)
{
	struct event_base *base = evtest_base();
	struct sigrec r = { .del_at = 1 };

	r.ev = evsignal_new(base, SIGUSR1, sig_cb, &r);
	evsignal_add(r.ev, NULL);
	for (int i = 0; i < 3; i++)
		raise(SIGUSR1);
	cr_assert_eq(event_base_dispatch(base), 1);
	cr_assert_eq(r.calls, 1);
	/* A later delete after the series must be harmless. */
	cr_assert_eq(event_del(r.ev), 0);
	event_free(r.ev);
	event_base_free(base);
}

Test(signal, oneshot_signal_event, .timeout = 10)
{
	struct event_base *base = evtest_base();
	struct sigrec r = { 0 };

	r.ev = event_new(base, SIGUSR2, EV_SIGNAL, sig_cb, &r);
	event_add(r.ev, NULL);
	raise(SIGUSR2);
	cr_assert_eq(event_base_dispatch(base), 1);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(evsignal_pending(r.ev, NULL), 0);
	event_free(r.ev);
	event_base_free(base);
}

static volatile sig_atomic_t old_handler_ran;
static void old_handler(int sig) { old_handler_ran++; }

Test(signal, previous_handler_restored, .timeout = 10)
{
	struct event_base *base = evtest_base();
	struct sigrec r = { 0 };
	struct sigaction sa, now;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = old_handler;
	sigaction(SIGUSR1, &sa, NULL);
	r.ev = evsignal_new(base, SIGUSR1, sig_cb, &r);
	evsignal_add(r.ev, NULL);
	raise(SIGUSR1);
	cr_assert_eq(old_handler_ran, 0);
	cr_assert_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	cr_assert_eq(r.calls, 1);
	evsignal_del(r.ev);
	sigaction(SIGUSR1, NULL, &now);
	cr_assert(now.sa_handler == old_handler);
	raise(SIGUSR1);
	cr_assert_eq(old_handler_ran, 1);
	event_free(r.ev);
	event_base_free(base);
}

static void kill_self_cb(evutil_socket_t fd, short what, void *arg)
{
	kill(getpid(), SIGUSR1);
}

/* The signal arrives while the loop waits in the backend. */
Test(signal, wakes_a_blocked_loop, .timeout = 10)
{
	struct event_base *base = evtest_base();
	struct sigrec r = { .del_at = 1 };
	struct timeval tv = evtest_ms(20);
	struct event *t = evtimer_new(base, kill_self_cb, NULL);

	r.ev = evsignal_new(base, SIGUSR1, sig_cb, &r);
	evsignal_add(r.ev, NULL);
	evtimer_add(t, &tv);
	cr_assert_eq(event_base_dispatch(base), 1);
	cr_assert_eq(r.calls, 1);
	event_free(t);
	event_free(r.ev);
	event_base_free(base);
}

Test(signal, two_events_same_signal, .timeout = 10)
{
	struct event_base *base = evtest_base();
	struct sigrec a = { 0 }, b = { 0 };

	a.ev = evsignal_new(base, SIGUSR1, sig_cb, &a);
	b.ev = evsignal_new(base, SIGUSR1, sig_cb, &b);
	evsignal_add(a.ev, NULL);
	evsignal_add(b.ev, NULL);
	raise(SIGUSR1);
	raise(SIGUSR1);
	cr_assert_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	cr_assert_eq(a.calls, 2);
	cr_assert_eq(b.calls, 2);
	event_free(a.ev);
	event_free(b.ev);
	event_base_free(base);
}

/* Signal events do not keep the loop alive on their own account once
 * deleted: the base's own pipe is not an event of the program's. */
Test(signal, deleted_signal_leaves_base_empty, .timeout = 10)
{
	struct event_base *base = evtest_base();
	struct sigrec r = { 0 };

	r.ev = evsignal_new(base, SIGUSR1, sig_cb, &r);
	evsignal_add(r.ev, NULL);
	cr_assert_eq(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 1);
	evsignal_del(r.ev);
	cr_assert_eq(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
	cr_assert_eq(event_base_dispatch(base), 1);
	event_free(r.ev);
	event_base_free(base);
}
