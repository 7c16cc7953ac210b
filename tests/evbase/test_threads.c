/*
 * test_threads.c — event2/thread.h: a base made after evthread_use_pthreads()
 * is locked and notifiable, so other threads may add, delete and activate
 * events and stop its loop, and a loop blocked in its backend wakes up to see
 * it; event_free() from another thread waits for a running callback; lock
 * debugging catches misuse of a lock.
 *
 * Each Criterion test runs in its own process, so evthread_use_pthreads() is
 * called in each, before its base. The same file also builds with
 * tests/evbase/tsan/minicr.h as a standalone program for ThreadSanitizer
 * (`make tsan-threads`), where Criterion's runner cannot start.
 */
#include "evtest.h"
#include <event2/thread.h>
#include <pthread.h>
#include <errno.h>
#include <stdatomic.h>

/* Exported by libevent for its own tests, and by evbase under the same name
 * for this one: the lock callbacks in force, the checking ones once
 * debugging is on. */
extern struct evthread_lock_callbacks evthread_lock_fns_;

static struct event_base *threaded_base(void)
{
	cr_assert_eq(evthread_use_pthreads(), 0);
	return evtest_base();
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* A safety deadline ms from now, scaled by EVBENCH_TIMEOUT_MULT
 * (evtest_deadline), on evtest_now_us()'s clock. */
static long long deadline_us(long ms)
{
	struct timeval tv = evtest_deadline(ms);

	return evtest_now_us() + evtest_tv_us(&tv);
}

/* A thread that runs the loop of `base` until it is broken, empty or not. */
static void *loop_thread(void *base)
{
	cr_assert_eq(event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY), 0);
	return NULL;
}

/* A persistent read event on a pair nobody writes to: the loop has nothing
 * to do but wait in its backend, with no timeout. */
struct idle {
	evutil_socket_t sv[2];
	struct event *ev;
};

static void never_cb(evutil_socket_t fd, short what, void *arg)
{
	cr_assert_fail("the idle descriptor became readable");
}

static void idle_start(struct idle *i, struct event_base *base)
{
	evtest_pair(i->sv);
	i->ev = event_new(base, i->sv[0], EV_READ | EV_PERSIST, never_cb, NULL);
	cr_assert_eq(event_add(i->ev, NULL), 0);
}

static void idle_stop(struct idle *i)
{
	event_free(i->ev);
	evutil_closesocket(i->sv[0]);
	evutil_closesocket(i->sv[1]);
}

/* Run the loop of `base` in this thread, with nothing to do but wait in its
 * backend (struct idle), while a thread of its own runs fn(arg); the loop
 * has returned 0 and the thread is joined when this returns. */
static void dispatch_beside(struct event_base *base, void *(*fn)(void *), void *arg)
{
	struct idle idle;
	pthread_t t;

	idle_start(&idle, base);
	cr_assert_eq(pthread_create(&t, NULL, fn, arg), 0);
	cr_assert_eq(event_base_dispatch(base), 0);
	pthread_join(t, NULL);
	idle_stop(&idle);
}

/* ---- other threads poke a loop blocked in its backend ---------------------- */

enum poke { POKE_ACTIVE, POKE_BREAK, POKE_EXIT, POKE_ADD_TIMER, POKE_ONCE };

struct poker {
	struct event_base *base;
	struct event *ev;
	enum poke how;
	atomic_int calls;
};

/* Counts its calls and breaks the loop. */
static void break_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poker *p = arg;
	atomic_fetch_add(&p->calls, 1);
	event_base_loopbreak(p->base);
}

static void *poke_thread(void *arg)
{
	struct poker *p = arg;
	struct timeval zero = { 0, 0 };

	/* Let the loop reach its backend's wait first (if it has not, the
	 * test still passes: it then shows the call is safe, not the wake). */
	sleep_ms(50);
	switch (p->how) {
	case POKE_ACTIVE: event_active(p->ev, EV_READ, 1); break;
	case POKE_BREAK: event_base_loopbreak(p->base); break;
	case POKE_EXIT: event_base_loopexit(p->base, NULL); break;
	case POKE_ADD_TIMER: event_add(p->ev, &zero); break;
	case POKE_ONCE: event_base_once(p->base, -1, EV_TIMEOUT, break_cb, p, &zero); break;
	}
	return NULL;
}

/* The loop waits with no timeout, so only the wake-up ends it; Criterion's
 * timeout is the hang guard. */
static void poke(enum poke how)
{
	struct event_base *base = threaded_base();
	struct poker p = { .base = base, .how = how };

	p.ev = (how == POKE_ADD_TIMER) ? evtimer_new(base, break_cb, &p)
	    : event_new(base, -1, 0, break_cb, &p);
	dispatch_beside(base, poke_thread, &p);
	if (how == POKE_BREAK) {
		cr_assert(event_base_got_break(base));
		cr_assert_eq(atomic_load(&p.calls), 0);
	} else if (how == POKE_EXIT) {
		cr_assert(event_base_got_exit(base));
	} else {
		cr_assert_eq(atomic_load(&p.calls), 1);
	}
	event_free(p.ev);
	event_base_free(base);
}

Test(threads, active_from_another_thread_wakes_loop, .timeout = 10) { poke(POKE_ACTIVE); }
Test(threads, loopbreak_from_another_thread, .timeout = 10) { poke(POKE_BREAK); }
Test(threads, loopexit_from_another_thread, .timeout = 10) { poke(POKE_EXIT); }
Test(threads, add_from_another_thread_wakes_loop, .timeout = 10) { poke(POKE_ADD_TIMER); }
Test(threads, once_from_another_thread_wakes_loop, .timeout = 10) { poke(POKE_ONCE); }

/* event_del() from another thread: the event is gone for the loop, even
 * with its descriptor readable at once afterwards. The thread then
 * activates `done` (break_cb), which ends the loop. */
struct deleter {
	struct event_base *base;
	struct event *rd;
	struct poker done;
	evutil_socket_t sv[2];
	atomic_int reads;
};

static void del_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deleter *d = arg;
	atomic_fetch_add(&d->reads, 1);
}

static void *del_thread(void *arg)
{
	struct deleter *d = arg;

	sleep_ms(50);
	cr_assert_eq(event_del(d->rd), 0);
	evtest_send(d->sv[1], 1);
	/* Give a loop that still watched the descriptor time to see it. */
	sleep_ms(50);
	event_active(d->done.ev, EV_TIMEOUT, 1);
	return NULL;
}

Test(threads, del_from_another_thread, .timeout = 10)
{
	struct deleter d = { .base = threaded_base() };

	evtest_pair(d.sv);
	d.rd = event_new(d.base, d.sv[0], EV_READ | EV_PERSIST, del_read_cb, &d);
	d.done.base = d.base;
	d.done.ev = event_new(d.base, -1, 0, break_cb, &d.done);
	event_add(d.rd, NULL);
	dispatch_beside(d.base, del_thread, &d);
	cr_assert_eq(atomic_load(&d.reads), 0);
	cr_assert_eq(atomic_load(&d.done.calls), 1);
	event_free(d.rd);
	event_free(d.done.ev);
	evutil_closesocket(d.sv[0]);
	evutil_closesocket(d.sv[1]);
	event_base_free(d.base);
}

/* ---- event_del() while the event's callback runs in the loop's thread ------- */

/* Lock callbacks of the test's own, made with the public API
 * (evthread_set_lock_callbacks and friends, as evthread_use_pthreads() sets
 * them), so that the test knows the moment event_del() has taken the base's
 * lock: the first lock the deleting thread takes once it is armed. */
static pthread_t watched_thread;
static atomic_int watch_armed, watched_locked;

static void *wl_alloc(unsigned locktype)
{
	pthread_mutexattr_t attr;
	pthread_mutex_t *m = malloc(sizeof(*m));

	cr_assert_not_null(m);
	pthread_mutexattr_init(&attr);
	if (locktype & EVTHREAD_LOCKTYPE_RECURSIVE)
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	cr_assert_eq(pthread_mutex_init(m, &attr), 0);
	pthread_mutexattr_destroy(&attr);
	return m;
}

static void wl_free(void *lock, unsigned locktype)
{
	pthread_mutex_destroy(lock);
	free(lock);
}

static int wl_lock(unsigned mode, void *lock)
{
	int r = (mode & EVTHREAD_TRY) ? pthread_mutex_trylock(lock) : pthread_mutex_lock(lock);

	if (r == 0 && atomic_load(&watch_armed) && pthread_equal(pthread_self(), watched_thread)) {
		atomic_store(&watch_armed, 0);
		atomic_store(&watched_locked, 1);
	}
	return r;
}

static int wl_unlock(unsigned mode, void *lock)
{
	return pthread_mutex_unlock(lock);
}

static void *wl_cond_alloc(unsigned condtype)
{
	pthread_cond_t *c = malloc(sizeof(*c));

	cr_assert_not_null(c);
	cr_assert_eq(pthread_cond_init(c, NULL), 0);
	return c;
}

static void wl_cond_free(void *cond)
{
	pthread_cond_destroy(cond);
	free(cond);
}

static int wl_cond_signal(void *cond, int broadcast)
{
	return broadcast ? pthread_cond_broadcast(cond) : pthread_cond_signal(cond);
}

/* 0 when signalled, 1 on timeout, -1 on error (the callbacks' contract). */
static int wl_cond_wait(void *cond, void *lock, const struct timeval *tv)
{
	struct timespec ts;
	int r;

	if (!tv)
		return pthread_cond_wait(cond, lock) ? -1 : 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += tv->tv_sec + (ts.tv_nsec / 1000 + tv->tv_usec) / 1000000;
	ts.tv_nsec = ((ts.tv_nsec / 1000 + tv->tv_usec) % 1000000) * 1000;
	r = pthread_cond_timedwait(cond, lock, &ts);
	return r == ETIMEDOUT ? 1 : r ? -1 : 0;
}

static unsigned long wl_id(void)
{
	return (unsigned long)pthread_self();
}

static struct event_base *watched_base(void)
{
	static const struct evthread_lock_callbacks locks = {
		EVTHREAD_LOCK_API_VERSION, EVTHREAD_LOCKTYPE_RECURSIVE,
		wl_alloc, wl_free, wl_lock, wl_unlock,
	};
	static const struct evthread_condition_callbacks conds = {
		EVTHREAD_CONDITION_API_VERSION,
		wl_cond_alloc, wl_cond_free, wl_cond_signal, wl_cond_wait,
	};

	cr_assert_eq(evthread_set_lock_callbacks(&locks), 0);
	cr_assert_eq(evthread_set_condition_callbacks(&conds), 0);
	evthread_set_id_callback(wl_id);
	return evtest_base();
}

/* A callback held running while another thread deletes its event: counted
 * as started and marked running, it waits until *until is set (bounded by
 * deadline_us; a timeout is noted) before it may go on and return. */
struct held {
	long long deadline_us;
	atomic_int started, running, timed_out;
};

static void hold(struct held *h, atomic_int *until)
{
	atomic_fetch_add(&h->started, 1);
	atomic_store(&h->running, 1);
	while (!atomic_load(until) && evtest_now_us() < h->deadline_us)
		sleep_ms(1);
	if (!atomic_load(until))
		atomic_store(&h->timed_out, 1);
}

/* A persistent read event on a descriptor that stays readable (its callback
 * never reads), so the loop would run it round after round. Its callback
 * stays running until the deleting thread holds the base's lock inside
 * event_del(), so event_del() surely starts while the callback runs, then
 * lingers a little to make event_del() wait. libevent removes the event
 * first and then waits for that one callback: no callback may start during
 * event_del(), it returns only after the running one has returned, and none
 * starts afterwards. A probe, a second readable persistent event added after
 * event_del() returns, shows that the loop has polled again since. */
#define BUSY_ROUNDS 4
#define BUSY_LINGER_MS 10

struct busy {
	struct event_base *base;
	struct event *ev, *probe;
	evutil_socket_t sv[2], pv[2];
	struct held h;
	atomic_int probes;
};

static void busy_cb(evutil_socket_t fd, short what, void *arg)
{
	struct busy *b = arg;

	hold(&b->h, &watched_locked);
	sleep_ms(BUSY_LINGER_MS);
	atomic_store(&b->h.running, 0);
}

static void probe_cb(evutil_socket_t fd, short what, void *arg)
{
	atomic_fetch_add(&((struct busy *)arg)->probes, 1);
}

/* Wait (bounded) until *v reaches at least want. */
static int wait_for(atomic_int *v, int want, long long deadline_us)
{
	while (atomic_load(v) < want && evtest_now_us() < deadline_us)
		sleep_ms(1);
	return atomic_load(v) >= want;
}

Test(threads, del_during_callback_waits_for_that_callback_only, .timeout = 60)
{
	struct busy b = { .base = watched_base(), .h.deadline_us = deadline_us(10000) };
	pthread_t loop;

	evtest_pair(b.sv);
	evtest_pair(b.pv);
	evtest_send(b.sv[1], 1);
	evtest_send(b.pv[1], 1);
	b.ev = event_new(b.base, b.sv[0], EV_READ | EV_PERSIST, busy_cb, &b);
	b.probe = event_new(b.base, b.pv[0], EV_READ | EV_PERSIST, probe_cb, &b);
	watched_thread = pthread_self();
	cr_assert_eq(pthread_create(&loop, NULL, loop_thread, b.base), 0);
	for (int round = 0; round < BUSY_ROUNDS; round++) {
		int before, during, after, probes;

		atomic_store(&watched_locked, 0);
		before = atomic_load(&b.h.started);
		cr_assert_eq(event_add(b.ev, NULL), 0);
		cr_assert(wait_for(&b.h.started, before + 1, b.h.deadline_us), "the callback never ran");
		/* The callback is running, and cannot return before event_del()
		 * holds the lock. */
		during = atomic_load(&b.h.started);
		atomic_store(&watch_armed, 1);
		cr_assert_eq(event_del(b.ev), 0);
		after = atomic_load(&b.h.started);
		cr_assert_eq(atomic_load(&b.h.running), 0,
		    "round %d: event_del returned while the callback still ran", round);
		cr_assert_eq(after, during,
		    "round %d: %d callbacks started while event_del waited for the running one",
		    round, after - during);
		/* Two more rounds of the loop with both descriptors readable. */
		probes = atomic_load(&b.probes);
		cr_assert_eq(event_add(b.probe, NULL), 0);
		cr_assert(wait_for(&b.probes, probes + 2, b.h.deadline_us), "the probe never ran");
		cr_assert_eq(event_del(b.probe), 0);
		cr_assert_eq(atomic_load(&b.h.started), after,
		    "round %d: the callback ran after event_del returned", round);
	}
	cr_assert_eq(atomic_load(&b.h.timed_out), 0, "event_del never took the lock");
	event_base_loopbreak(b.base);
	pthread_join(loop, NULL);
	event_free(b.ev);
	event_free(b.probe);
	evutil_closesocket(b.sv[0]);
	evutil_closesocket(b.sv[1]);
	evutil_closesocket(b.pv[0]);
	evutil_closesocket(b.pv[1]);
	event_base_free(b.base);
}

/* The modes that do not wait: event_del_noblock() never waits for a running
 * callback, and event_del() does not wait for one of an event made with
 * EV_FINALIZE (libevent's documentation). The callback here stays running
 * until the deleting thread has returned from the call, so a call that
 * waited would keep both waiting until the callback's safety deadline and
 * fail the test; the event is removed all the same. */
struct nowait {
	struct event_base *base;
	evutil_socket_t sv[2];
	struct held h;
	atomic_int returned;
};

static void nowait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nowait *w = arg;

	hold(&w->h, &w->returned);
	atomic_store(&w->h.running, 0);
}

Test(threads, del_noblock_and_finalize_do_not_wait, .timeout = 60)
{
	struct nowait w = { .base = threaded_base(), .h.deadline_us = deadline_us(10000) };
	struct event *evs[2];
	pthread_t loop;

	evtest_pair(w.sv);
	evtest_send(w.sv[1], 1);	/* readable for good: never read */
	cr_assert_eq(pthread_create(&loop, NULL, loop_thread, w.base), 0);
	for (int round = 0; round < 2; round++) {
		struct event *ev = evs[round] = event_new(w.base, w.sv[0],
		    EV_READ | EV_PERSIST | (round ? EV_FINALIZE : 0), nowait_cb, &w);
		int started;

		atomic_store(&w.returned, 0);
		started = atomic_load(&w.h.started);
		cr_assert_eq(event_add(ev, NULL), 0);
		cr_assert(wait_for(&w.h.running, 1, w.h.deadline_us), "the callback never ran");
		cr_assert_eq(round ? event_del(ev) : event_del_noblock(ev), 0);
		cr_assert_eq(atomic_load(&w.h.running), 1,
		    "%s waited for the callback", round ? "event_del on EV_FINALIZE" : "event_del_noblock");
		atomic_store(&w.returned, 1);
		/* Deleted all the same. */
		while (atomic_load(&w.h.running) && evtest_now_us() < w.h.deadline_us)
			sleep_ms(1);
		cr_assert_eq(event_pending(ev, EV_READ, NULL), 0);
		cr_assert_eq(atomic_load(&w.h.started), started + 1);
	}
	cr_assert_eq(atomic_load(&w.h.timed_out), 0);
	event_base_loopbreak(w.base);
	pthread_join(loop, NULL);
	/* Freed once the loop is gone: nothing may still be on its way out
	 * of a callback of an event that event_del() did not wait for. */
	event_free(evs[0]);
	event_free(evs[1]);
	evutil_closesocket(w.sv[0]);
	evutil_closesocket(w.sv[1]);
	event_base_free(w.base);
}

/* ---- the stress case: 4 threads x 100,000 event_active on one event -------- */

#define STRESS_THREADS 4
#define STRESS_CALLS 100000

struct stress {
	struct event_base *base;
	struct event *ev;
	atomic_long activations, calls;
	atomic_long max_seen;		/* most activations a callback saw begun */
	atomic_int slow;		/* phase 2: the callback dawdles */
	atomic_int in_callback;
	atomic_int freed;		/* event_free() has returned */
	atomic_int ran_after_free;
};

static void stress_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stress *s = arg;

	if (atomic_load(&s->freed))
		atomic_store(&s->ran_after_free, 1);
	long seen = atomic_load(&s->activations);

	atomic_fetch_add(&s->calls, 1);
	/* Workers count an activation before making it, so a callback that
	 * sees them all began after the last event_active() began. */
	if (seen > atomic_load(&s->max_seen))
		atomic_store(&s->max_seen, seen);
	if (atomic_load(&s->slow)) {
		atomic_store(&s->in_callback, 1);
		sleep_ms(20);	/* be running while another thread frees us */
	}
	if (atomic_load(&s->freed))
		atomic_store(&s->ran_after_free, 1);
}

static void *stress_worker(void *arg)
{
	struct stress *s = arg;

	for (int i = 0; i < STRESS_CALLS; i++) {
		atomic_fetch_add(&s->activations, 1);
		event_active(s->ev, EV_READ, 1);
	}
	return NULL;
}

static void *stress_control(void *arg)
{
	struct stress *s = arg;
	pthread_t w[STRESS_THREADS];
	long long deadline;

	for (int i = 0; i < STRESS_THREADS; i++)
		cr_assert_eq(pthread_create(&w[i], NULL, stress_worker, s), 0);
	for (int i = 0; i < STRESS_THREADS; i++)
		pthread_join(w[i], NULL);
	/* The last activation must be followed by a callback. */
	deadline = deadline_us(5000);
	while (atomic_load(&s->max_seen) < STRESS_THREADS * STRESS_CALLS &&
	    evtest_now_us() < deadline)
		sleep_ms(1);
	/* Phase 2: free the event while its callback runs (and with one more
	 * activation queued): event_free() must wait for the callback, and
	 * drop the activation, so that nothing of it runs afterwards. */
	atomic_store(&s->slow, 1);
	event_active(s->ev, EV_READ, 1);
	while (!atomic_load(&s->in_callback) && evtest_now_us() < deadline)
		sleep_ms(1);
	event_active(s->ev, EV_READ, 1);
	event_free(s->ev);
	atomic_store(&s->freed, 1);
	sleep_ms(50);
	event_base_loopbreak(s->base);
	return NULL;
}

Test(threads, stress_active_from_four_threads, .timeout = 60)
{
	struct stress s = { .base = threaded_base() };

	s.ev = event_new(s.base, -1, 0, stress_cb, &s);
	dispatch_beside(s.base, stress_control, &s);
	cr_assert_eq(atomic_load(&s.max_seen), STRESS_THREADS * STRESS_CALLS,
	    "no callback after the last activation");
	cr_assert_leq(atomic_load(&s.calls), atomic_load(&s.activations) + 2,
	    "%ld callbacks for %ld activations: activations must merge",
	    (long)atomic_load(&s.calls), (long)atomic_load(&s.activations));
	cr_assert(atomic_load(&s.in_callback));
	cr_assert_eq(atomic_load(&s.ran_after_free), 0, "a callback ran after event_free");
	event_base_free(s.base);
}

/* ---- lock debugging ------------------------------------------------------------ */

static struct evthread_lock_callbacks *debug_locks(void)
{
	cr_assert_eq(evthread_use_pthreads(), 0);
	evthread_enable_lock_debugging();
	return &evthread_lock_fns_;
}

Test(threads, lock_debugging_catches_unlock_of_unheld_lock, .signal = SIGABRT, .timeout = 10)
{
	struct evthread_lock_callbacks *cb = debug_locks();
	void *lock = cb->alloc(0);

	cr_assert_not_null(lock);
	cb->unlock(0, lock);
}

Test(threads, lock_debugging_catches_second_lock_of_plain_lock, .signal = SIGABRT, .timeout = 10)
{
	struct evthread_lock_callbacks *cb = debug_locks();
	void *lock = cb->alloc(0);

	cr_assert_not_null(lock);
	cb->lock(0, lock);
	cb->lock(0, lock);
}

/* The control: proper use passes the checks, a recursive lock may be taken
 * twice, and a threaded loop (whose own locking is checked) runs clean. */
Test(threads, lock_debugging_allows_proper_use, .timeout = 10)
{
	struct evthread_lock_callbacks *cb = debug_locks();
	void *plain = cb->alloc(0), *rec = cb->alloc(EVTHREAD_LOCKTYPE_RECURSIVE);

	cr_assert_eq(cb->lock(0, plain), 0);
	cr_assert_eq(cb->unlock(0, plain), 0);
	cr_assert_eq(cb->lock(0, rec), 0);
	cr_assert_eq(cb->lock(0, rec), 0);
	cr_assert_eq(cb->unlock(0, rec), 0);
	cr_assert_eq(cb->unlock(0, rec), 0);
	cb->free(plain, 0);
	cb->free(rec, EVTHREAD_LOCKTYPE_RECURSIVE);
	poke(POKE_ACTIVE);
}

/* Without evthread_use_pthreads() a base still works in its own thread, and
 * evthread_make_base_notifiable() is accepted. */
Test(threads, make_base_notifiable, .timeout = 10)
{
	struct event_base *base = evtest_base();

	cr_assert_eq(evthread_make_base_notifiable(base), 0);
	cr_assert_eq(evthread_make_base_notifiable(base), 0, "twice is fine");
	cr_assert_eq(event_base_loop(base, EVLOOP_NONBLOCK), 1, "its own event does not count");
	event_base_free(base);
}
