/*
 * The loop: its return values and flags, loopexit / loopbreak /
 * loopcontinue, priorities and the cached time.
 */
#include "evtest.h"

#include <sys/time.h>

enum { DO_NOTHING, DO_LOOPEXIT, DO_LOOPBREAK, DO_LOOPCONTINUE, DO_WAKE };

/* Callback arguments: the trace plus the letter to log. */
struct step {
	struct trace *t;
	char letter;
	int action;
};

/* A log of which callbacks ran, in order, as letters, and the events that
 * write it: step[i] is ev[i]'s callback argument, kept here so that it lives
 * as long as its event. */
struct trace {
	char log[64];
	int n;
	struct event_base *base;
	struct event *ev[8];
	struct step step[8];
	evutil_socket_t wake;		/* a socket to write to from a callback */
};

static void note(struct trace *t, char c)
{
	if (t->n < (int)sizeof(t->log) - 1)
		t->log[t->n++] = c;
}

static void step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct step *s = arg;
	char c;

	note(s->t, s->letter);
	if (fd >= 0 && (what & EV_READ))
		while (recv(fd, &c, 1, 0) == 1)
			;
	switch (s->action) {
	case DO_LOOPEXIT:
		cr_assert_eq(event_base_loopexit(s->t->base, NULL), 0);
		break;
	case DO_LOOPBREAK:
		cr_assert_eq(event_base_loopbreak(s->t->base), 0);
		break;
	case DO_LOOPCONTINUE:
		cr_assert_eq(send(s->t->wake, "w", 1, 0), 1);
		cr_assert_eq(event_base_loopcontinue(s->t->base), 0);
		break;
	case DO_WAKE:
		cr_assert_eq(send(s->t->wake, "w", 1, 0), 1);
		break;
	}
}

Test(loop, empty_base_returns_1, .timeout = 10)
{
	struct event_base *base = evtest_base();

	cr_assert_eq(event_base_dispatch(base), 1);
	cr_assert_eq(event_base_loop(base, EVLOOP_NONBLOCK), 1);
	cr_assert_eq(event_base_loop(base, EVLOOP_ONCE), 1);
	/* With NO_EXIT_ON_EMPTY an empty base is not a reason to stop. */
	cr_assert_eq(event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY | EVLOOP_NONBLOCK), 0);
	event_base_free(base);
}

/* A watched socket pair: a read event on sv[0], its callback argument, and
 * the pair. */
struct watch {
	struct step s;
	evutil_socket_t sv[2];
	struct event *ev;
};

/* Makes w a persistent read event on one end of a new socket pair that logs
 * letter; the other end is t->wake, so that a DO_WAKE or DO_LOOPCONTINUE
 * callback makes the event ready. The event is added. */
static void watch_pair(struct trace *t, struct watch *w, char letter)
{
	evtest_pair(w->sv);
	t->wake = w->sv[1];
	w->s = (struct step){ t, letter, DO_NOTHING };
	w->ev = event_new(t->base, w->sv[0], EV_READ | EV_PERSIST, step_cb, &w->s);
	cr_assert_eq(event_add(w->ev, NULL), 0);
}

/* Frees the event of watch_pair() and closes its two sockets. */
static void unwatch(struct watch *w)
{
	event_free(w->ev);
	evutil_closesocket(w->sv[0]);
	evutil_closesocket(w->sv[1]);
}

Test(loop, nonblock_returns_with_nothing_ready, .timeout = 10)
{
	struct trace t = { .base = evtest_base() };
	struct watch w;

	watch_pair(&t, &w, 'a');
	cr_assert_eq(event_base_loop(t.base, EVLOOP_NONBLOCK), 0);
	cr_assert_eq(t.n, 0);
	evtest_send(w.sv[1], 1);
	cr_assert_eq(event_base_loop(t.base, EVLOOP_ONCE), 0);
	cr_assert_str_eq(t.log, "a");
	unwatch(&w);
	event_base_free(t.base);
}

/* EVLOOP_NONBLOCK polls without waiting, but like every loop it goes on
 * while callbacks became active: a level-triggered read event whose
 * descriptor still holds data after its callback is reported again by the
 * next poll of the same call, until the data is gone. */
struct reader {
	struct event_base *base;
	int calls;
};

static void read_one_cb(evutil_socket_t fd, short what, void *arg)
{
	struct reader *r = arg;
	char c;

	cr_assert_eq(what, EV_READ);
	cr_assert_eq(recv(fd, &c, 1, 0), 1);
	if (++r->calls >= 100)
		event_base_loopbreak(r->base);	/* a bound, never reached */
}

Test(loop, nonblock_goes_on_while_data_remains, .timeout = 10)
{
	struct event_base *base = evtest_base();
	struct reader r = { .base = base };
	evutil_socket_t sv[2];
	struct event *ev;

	evtest_pair(sv);
	ev = event_new(base, sv[0], EV_READ | EV_PERSIST, read_one_cb, &r);
	cr_assert_eq(event_add(ev, NULL), 0);
	evtest_send(sv[1], 3);
	cr_assert_eq(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	cr_assert_eq(r.calls, 3, "%d callbacks in one EVLOOP_NONBLOCK call for 3 bytes", r.calls);
	/* Drained: the next call finds nothing. */
	cr_assert_eq(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	cr_assert_eq(r.calls, 3);
	/* The same once more on an fd that was already watched. */
	evtest_send(sv[1], 2);
	cr_assert_eq(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	cr_assert_eq(r.calls, 5);
	event_free(ev);
	evutil_closesocket(sv[0]);
	evutil_closesocket(sv[1]);
	event_base_free(base);
}

/* Three events made active together; the first one's callback acts. */
static void three_active(struct trace *t, int action)
{
	for (int i = 0; i < 3; i++) {
		t->step[i] = (struct step){ t, (char)('a' + i), i == 0 ? action : DO_NOTHING };
		t->ev[i] = event_new(t->base, -1, 0, step_cb, &t->step[i]);
		event_active(t->ev[i], EV_TIMEOUT, 1);
	}
}

/* The three events t->ev[0..2], then the base. */
static void free_three(struct trace *t)
{
	for (int i = 0; i < 3; i++)
		event_free(t->ev[i]);
	event_base_free(t->base);
}

/* Three active events, the first of which stops the loop with action
 * (DO_LOOPEXIT or DO_LOOPBREAK): dispatch returns 0 having run the callbacks
 * `ran`, and of the base's two flags only that action's is set. */
static void stop_three(struct trace *t, int action, const char *ran)
{
	three_active(t, action);
	cr_assert_eq(event_base_dispatch(t->base), 0);
	cr_assert_str_eq(t->log, ran);
	cr_assert_eq(!!event_base_got_exit(t->base), action == DO_LOOPEXIT);
	cr_assert_eq(!!event_base_got_break(t->base), action == DO_LOOPBREAK);
}

Test(loop, loopexit_lets_active_callbacks_run, .timeout = 10)
{
	struct trace t = { .base = evtest_base() };

	stop_three(&t, DO_LOOPEXIT, "abc");
	free_three(&t);
}

Test(loop, loopbreak_stops_after_current, .timeout = 10)
{
	struct trace t = { .base = evtest_base() };

	stop_three(&t, DO_LOOPBREAK, "a");
	/* The others are still active; the next loop runs them and resets
	 * the flags. */
	cr_assert_eq(event_base_loop(t.base, EVLOOP_NONBLOCK), 1);
	cr_assert_str_eq(t.log, "abc");
	cr_assert(!event_base_got_break(t.base));
	free_three(&t);
}

/* The scene of the loopcontinue tests: R watches a socket pair, and a, b and
 * c are active; a's callback writes R's socket (DO_WAKE), and with
 * DO_LOOPCONTINUE then calls event_base_loopcontinue(). */
static void r_and_three(struct trace *t, struct watch *w, int action)
{
	watch_pair(t, w, 'R');
	three_active(t, action);
}

/* loopcontinue ends the round after the current callback and polls again:
 * the socket written by that callback is seen in the same EVLOOP_ONCE call,
 * which would otherwise have returned after running a, b and c. */
Test(loop, loopcontinue_polls_again, .timeout = 10)
{
	struct trace t = { .base = evtest_base() };
	struct watch w;

	r_and_three(&t, &w, DO_LOOPCONTINUE);
	cr_assert_eq(event_base_loop(t.base, EVLOOP_ONCE), 0);
	cr_assert_eq(t.n, 4, "log %s", t.log);
	cr_assert_eq(t.log[0], 'a');
	cr_assert_not_null(strchr(t.log, 'R'), "log %s", t.log);
	cr_assert_not_null(strchr(t.log, 'c'), "log %s", t.log);
	unwatch(&w);
	free_three(&t);
}

/* The control: the same, but a only writes. EVLOOP_ONCE then stops after
 * the round that ran a, b and c, before any poll could see R. */
Test(loop, without_loopcontinue_once_is_one_round, .timeout = 10)
{
	struct trace t = { .base = evtest_base() };
	struct watch w;

	r_and_three(&t, &w, DO_WAKE);
	cr_assert_eq(event_base_loop(t.base, EVLOOP_ONCE), 0);
	cr_assert_str_eq(t.log, "abc");
	cr_assert_eq(event_base_loop(t.base, EVLOOP_ONCE), 0);
	cr_assert_str_eq(t.log, "abcR");
	unwatch(&w);
	free_three(&t);
}

static void exit_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	int *ticks = arg;
	(*ticks)++;
}

Test(loop, loopexit_after_timeout, .timeout = 10)
{
	struct event_base *base = evtest_base();
	struct timeval period = evtest_ms(5), after = evtest_ms(60);
	int ticks = 0;
	struct event *ev = event_new(base, -1, EV_PERSIST, exit_timer_cb, &ticks);
	long long t0 = evtest_now_us();

	event_add(ev, &period);
	cr_assert_eq(event_base_loopexit(base, &after), 0);
	cr_assert_eq(event_base_dispatch(base), 0);
	cr_assert(event_base_got_exit(base));
	/* libevent's coarse clock may fire a few ms early by ours. */
	cr_assert_geq(evtest_now_us() - t0, 50000, "loopexit came early");
	cr_assert_geq(ticks, 1);
	event_free(ev);
	event_base_free(base);
}

/* A signal the base does not watch, caught by a handler installed without
 * SA_RESTART, interrupts the backend's wait (EINTR): the loop waits again,
 * its timer runs, and dispatch does not fail. (A signal that lands before
 * the loop waits passes the test without showing it.) */
static void ignore_alarm(int sig)
{
	(void)sig;
}

Test(loop, interrupted_wait_goes_on, .timeout = 10)
{
	struct event_base *base = evtest_base();
	struct sigaction sa = { .sa_handler = ignore_alarm }, old;
	struct itimerval in_100ms = { .it_value = { 0, 100000 } }, off = { { 0, 0 }, { 0, 0 } };
	struct timeval later = evtest_ms(500);
	int ticks = 0;
	struct event *ev = evtimer_new(base, exit_timer_cb, &ticks);

	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGALRM, &sa, &old), 0);
	cr_assert_eq(evtimer_add(ev, &later), 0);
	cr_assert_eq(setitimer(ITIMER_REAL, &in_100ms, NULL), 0);
	cr_assert_eq(event_base_dispatch(base), 1, "the interrupted wait ended the loop");
	cr_assert_eq(ticks, 1);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	event_free(ev);
	event_base_free(base);
}

Test(loop, loopexit_before_dispatch, .timeout = 10)
{
	struct trace t = { .base = evtest_base() };
	struct watch w;

	watch_pair(&t, &w, 'a');
	/* Exits after one round although w's event stays pending forever. */
	cr_assert_eq(event_base_loopexit(t.base, NULL), 0);
	cr_assert_eq(event_base_dispatch(t.base), 0);
	cr_assert(event_base_got_exit(t.base));
	unwatch(&w);
	event_base_free(t.base);
}

/* ---- priorities ------------------------------------------------------------- */

/* a (priority 0) and b (priority 1) are active; a's callback makes the
 * socket of R (priority 0) readable. Each round runs only the most urgent
 * non-empty queue, so the poll after a's round finds R, which then runs
 * before the less urgent b. */
Test(loop, priorities_best_queue_per_round, .timeout = 10)
{
	struct trace t = { .base = evtest_base() };
	evutil_socket_t sv[2];
	struct step sa, sb, sr;
	struct event *a, *b, *r;

	cr_assert_eq(event_base_priority_init(t.base, 2), 0);
	evtest_pair(sv);
	t.wake = sv[1];
	sa = (struct step){ &t, 'a', DO_WAKE };
	sb = (struct step){ &t, 'b', DO_NOTHING };
	sr = (struct step){ &t, 'R', DO_NOTHING };
	a = event_new(t.base, -1, 0, step_cb, &sa);
	b = event_new(t.base, -1, 0, step_cb, &sb);
	r = event_new(t.base, sv[0], EV_READ, step_cb, &sr);
	event_priority_set(a, 0);
	event_priority_set(b, 1);
	event_priority_set(r, 0);
	event_add(r, NULL);
	event_active(b, EV_TIMEOUT, 1);
	event_active(a, EV_TIMEOUT, 1);
	cr_assert_eq(event_base_dispatch(t.base), 1);
	cr_assert_str_eq(t.log, "aRb");
	event_free(a);
	event_free(b);
	event_free(r);
	event_base_free(t.base);
}

/* Without any re-polling: three priorities, activated in reverse order,
 * run most urgent first. */
Test(loop, priorities_order, .timeout = 10)
{
	struct trace t = { .base = evtest_base() };

	cr_assert_eq(event_base_priority_init(t.base, 3), 0);
	for (int i = 2; i >= 0; i--) {
		t.step[i] = (struct step){ &t, (char)('a' + i), DO_NOTHING };
		t.ev[i] = event_new(t.base, -1, 0, step_cb, &t.step[i]);
		cr_assert_eq(event_priority_set(t.ev[i], i), 0);
		event_active(t.ev[i], EV_TIMEOUT, 1);
	}
	cr_assert_eq(event_base_dispatch(t.base), 1);
	cr_assert_str_eq(t.log, "abc");
	free_three(&t);
}

/* A more urgent event activated from a callback runs before the rest of the
 * less urgent queue. */
static void preempt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct step *s = arg;
	note(s->t, s->letter);
	if (s->letter == 'x')
		event_active(s->t->ev[0], EV_TIMEOUT, 1);
}

Test(loop, urgent_activation_preempts, .timeout = 10)
{
	struct trace t = { .base = evtest_base() };
	struct step su = { &t, 'U', 0 }, sx = { &t, 'x', 0 }, sy = { &t, 'y', 0 };
	struct event *x, *y;

	cr_assert_eq(event_base_priority_init(t.base, 2), 0);
	t.ev[0] = event_new(t.base, -1, 0, preempt_cb, &su);
	x = event_new(t.base, -1, 0, preempt_cb, &sx);
	y = event_new(t.base, -1, 0, preempt_cb, &sy);
	event_priority_set(t.ev[0], 0);
	event_priority_set(x, 1);
	event_priority_set(y, 1);
	event_active(x, EV_TIMEOUT, 1);
	event_active(y, EV_TIMEOUT, 1);
	cr_assert_eq(event_base_dispatch(t.base), 1);
	cr_assert_str_eq(t.log, "xUy");
	event_free(t.ev[0]);
	event_free(x);
	event_free(y);
	event_base_free(t.base);
}

/* ---- reentrancy ------------------------------------------------------------- */

struct nest { struct event_base *base; int ret; };
static void nest_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nest *n = arg;
	n->ret = event_base_loop(n->base, EVLOOP_NONBLOCK);
}

Test(loop, reentrant_loop_refused, .timeout = 10)
{
	struct nest n = { evtest_base(), 0 };
	struct event *ev = event_new(n.base, -1, 0, nest_cb, &n);

	evtest_expect_warning();
	event_active(ev, EV_TIMEOUT, 1);
	cr_assert_eq(event_base_dispatch(n.base), 1);
	cr_assert_eq(n.ret, -1);
	evtest_got_warning("reentrant");
	event_free(ev);
	event_base_free(n.base);
}

/* ---- the cached time -------------------------------------------------------- */

struct cache {
	struct event_base *base;
	long long first, second, updated;
};

static long long cached_us(struct event_base *base)
{
	struct timeval tv;
	cr_assert_eq(event_base_gettimeofday_cached(base, &tv), 0);
	return evtest_tv_us(&tv);
}

static void cache_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cache *c = arg;
	c->first = cached_us(c->base);
	evtest_spin_us(20000);
	c->second = cached_us(c->base);
	cr_assert_eq(event_base_update_cache_time(c->base), 0);
	c->updated = cached_us(c->base);
}

static void run_cache(struct cache *c, int flags)
{
	struct event_config *cfg = event_config_new();
	struct event *ev;

	evtest_config(cfg);
	if (flags)
		event_config_set_flag(cfg, flags);
	c->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	cr_assert_not_null(c->base);
	ev = event_new(c->base, -1, 0, cache_cb, c);
	event_active(ev, EV_TIMEOUT, 1);
	cr_assert_eq(event_base_dispatch(c->base), 1);
	event_free(ev);
}

Test(loop, cached_time_frozen_in_callbacks, .timeout = 10)
{
	struct cache c;
	struct timeval now;
	long long outside;

	run_cache(&c, 0);
	cr_assert_eq(c.first, c.second, "the cached time moved inside a callback");
	cr_assert_geq(c.updated - c.first, 15000, "update_cache_time did not refresh it");
	/* Outside the loop there is no cache: it reads the clock. */
	outside = cached_us(c.base);
	gettimeofday(&now, NULL);
	cr_assert_leq(evtest_tv_us(&now) - outside, 1000000);
	/* libevent reads a coarse monotonic clock: allow it 10 ms. */
	cr_assert_geq(outside, c.updated - 10000);
	event_base_free(c.base);
}

Test(loop, no_cache_time_flag, .timeout = 10)
{
	struct cache c;

	run_cache(&c, EVENT_BASE_FLAG_NO_CACHE_TIME);
	cr_assert_geq(c.second - c.first, 15000, "NO_CACHE_TIME still cached");
	event_base_free(c.base);
}

/* ---- event_config_set_max_dispatch_interval ------------------------------------ */

/* A flood of 100 low-priority callbacks, already active; the first one makes
 * a high-priority event's descriptor readable, which only a poll of the
 * backend can notice. Without a bound the loop runs the whole flood before it
 * polls again, so the high-priority callback comes 101st; with at most 5
 * callbacks of priority >= 1 per round it comes 6th. */
#define FLOOD 100
struct flood {
	struct event_base *base;
	evutil_socket_t sv[2];
	struct event *low[FLOOD], *high;
	int ncalls, high_at;
};

static void flood_low_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flood *f = arg;
	if (f->ncalls++ == 0)
		evtest_send(f->sv[1], 1);
}

static void flood_high_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flood *f = arg;
	char c;
	cr_assert_eq(recv(fd, &c, 1, 0), 1);
	f->high_at = ++f->ncalls;
}

/* A flood of n low-priority callbacks low_cb (n <= FLOOD), the first of
 * which makes the high-priority event readable, on a base whose rounds are
 * bounded by max_interval and max_callbacks (NULL and 0: not bounded).
 * Returns the place of the high-priority callback among all n + 1. */
static int flood_run(const struct timeval *max_interval, int max_callbacks, int n,
		     event_callback_fn low_cb)
{
	struct event_config *cfg = event_config_new();
	struct flood f = { 0 };

	cr_assert_not_null(cfg);
	evtest_config(cfg);
	cr_assert_eq(event_config_set_num_cpus_hint(cfg, 2), 0, "accepted");
	if (max_interval || max_callbacks)
		cr_assert_eq(event_config_set_max_dispatch_interval(cfg, max_interval,
				max_callbacks ? max_callbacks : -1, 1), 0);
	f.base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	cr_assert_not_null(f.base);
	cr_assert_eq(event_base_priority_init(f.base, 2), 0);
	evtest_pair(f.sv);
	f.high = event_new(f.base, f.sv[0], EV_READ, flood_high_cb, &f);
	event_priority_set(f.high, 0);
	event_add(f.high, NULL);
	for (int i = 0; i < n; i++) {
		f.low[i] = event_new(f.base, -1, 0, low_cb, &f);
		event_priority_set(f.low[i], 1);
		event_active(f.low[i], EV_TIMEOUT, 1);
	}
	cr_assert_eq(event_base_dispatch(f.base), 1);
	cr_assert_eq(f.ncalls, n + 1);
	for (int i = 0; i < n; i++)
		event_free(f.low[i]);
	event_free(f.high);
	evutil_closesocket(f.sv[0]);
	evutil_closesocket(f.sv[1]);
	event_base_free(f.base);
	return f.high_at;
}

Test(loop, max_dispatch_callbacks_bounds_a_flood, .timeout = 10)
{
	cr_assert_eq(flood_run(NULL, 5, FLOOD, flood_low_cb), 6,
		     "the high-priority callback after 5 of the flood");
}

Test(loop, without_max_dispatch_the_flood_runs_first, .timeout = 10)
{
	cr_assert_eq(flood_run(NULL, 0, FLOOD, flood_low_cb), FLOOD + 1);
}

/* The time bound: ten callbacks of 10 ms each (spun on the clock), bounded
 * at 1 ms a round. The bound is checked after each callback, so the first
 * runs, and the loop polls before the second: the high-priority callback
 * comes 2nd instead of 11th. 10 ms leaves room for libevent's coarse clock. */
static void flood_slow_cb(evutil_socket_t fd, short what, void *arg)
{
	flood_low_cb(fd, what, arg);
	evtest_spin_us(10000);
}

Test(loop, max_dispatch_interval_bounds_a_flood, .timeout = 10)
{
	struct timeval ms = evtest_ms(1);
	int at = flood_run(&ms, 0, 10, flood_slow_cb);

	cr_assert_eq(at, 2, "the high-priority callback came %d", at);
}
