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

/* ---- other threads poke a loop blocked in its backend ---------------------- */

enum poke { POKE_ACTIVE, POKE_BREAK, POKE_EXIT, POKE_ADD_TIMER, POKE_ONCE };

struct poker {
	struct event_base *base;
	struct event *ev;
	enum poke how;
	atomic_int calls;
};

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
	struct idle idle;
	pthread_t t;

	idle_start(&idle, base);
	p.ev = (how == POKE_ADD_TIMER) ? evtimer_new(base, break_cb, &p)
	    : event_new(base, -1, 0, break_cb, &p);
	cr_assert_eq(pthread_create(&t, NULL, poke_thread, &p), 0);
	cr_assert_eq(event_base_dispatch(base), 0);
	pthread_join(t, NULL);
	if (how == POKE_BREAK) {
		cr_assert(event_base_got_break(base));
		cr_assert_eq(atomic_load(&p.calls), 0);
	} else if (how == POKE_EXIT) {
		cr_assert(event_base_got_exit(base));
	} else {
		cr_assert_eq(atomic_load(&p.calls), 1);
	}
	event_free(p.ev);
	idle_stop(&idle);
	event_base_free(base);
}

Test(threads, active_from_another_thread_wakes_loop, .timeout = 10) { poke(POKE_ACTIVE); }
Test(threads, loopbreak_from_another_thread, .timeout = 10) { poke(POKE_BREAK); }
Test(threads, loopexit_from_another_thread, .timeout = 10) { poke(POKE_EXIT); }
Test(threads, add_from_another_thread_wakes_loop, .timeout = 10) { poke(POKE_ADD_TIMER); }
Test(threads, once_from_another_thread_wakes_loop, .timeout = 10) { poke(POKE_ONCE); }

/* event_del() from another thread: the event is gone for the loop, even
 * with its descriptor readable at once afterwards. */
struct deleter {
	struct event_base *base;
	struct event *rd, *done;
	evutil_socket_t sv[2];
	atomic_int reads, dones;
};

static void del_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deleter *d = arg;
	atomic_fetch_add(&d->reads, 1);
}

static void del_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deleter *d = arg;
	atomic_fetch_add(&d->dones, 1);
	event_base_loopbreak(d->base);
}

static void *del_thread(void *arg)
{
	struct deleter *d = arg;

	sleep_ms(50);
	cr_assert_eq(event_del(d->rd), 0);
	evtest_send(d->sv[1], 1);
	/* Give a loop that still watched the descriptor time to see it. */
	sleep_ms(50);
	event_active(d->done, EV_TIMEOUT, 1);
	return NULL;
}

Test(threads, del_from_another_thread, .timeout = 10)
{
	struct deleter d = { .base = threaded_base() };
	struct idle idle;
	pthread_t t;

	idle_start(&idle, d.base);
	evtest_pair(d.sv);
	d.rd = event_new(d.base, d.sv[0], EV_READ | EV_PERSIST, del_read_cb, &d);
	d.done = event_new(d.base, -1, 0, del_done_cb, &d);
	event_add(d.rd, NULL);
	cr_assert_eq(pthread_create(&t, NULL, del_thread, &d), 0);
	cr_assert_eq(event_base_dispatch(d.base), 0);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&d.reads), 0);
	cr_assert_eq(atomic_load(&d.dones), 1);
	event_free(d.rd);
	event_free(d.done);
	evutil_closesocket(d.sv[0]);
	evutil_closesocket(d.sv[1]);
	idle_stop(&idle);
	event_base_free(d.base);
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
	deadline = evtest_now_us() + evtest_tv_us(&(struct timeval){ 5, 0 }) *
	    (getenv("EVBENCH_TIMEOUT_MULT") ? atof(getenv("EVBENCH_TIMEOUT_MULT")) : 1);
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
	struct idle idle;
	pthread_t c;

	idle_start(&idle, s.base);
	s.ev = event_new(s.base, -1, 0, stress_cb, &s);
	cr_assert_eq(pthread_create(&c, NULL, stress_control, &s), 0);
	cr_assert_eq(event_base_dispatch(s.base), 0);
	pthread_join(c, NULL);
	cr_assert_eq(atomic_load(&s.max_seen), STRESS_THREADS * STRESS_CALLS,
	    "no callback after the last activation");
	cr_assert_leq(atomic_load(&s.calls), atomic_load(&s.activations) + 2,
	    "%ld callbacks for %ld activations: activations must merge",
	    (long)atomic_load(&s.calls), (long)atomic_load(&s.activations));
	cr_assert(atomic_load(&s.in_callback));
	cr_assert_eq(atomic_load(&s.ran_after_free), 0, "a callback ran after event_free");
	idle_stop(&idle);
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
