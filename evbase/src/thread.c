/*
 * thread.c — locks, conditions and thread ids (event2/thread.h), lock
 * debugging, and the eventfd that wakes a base's loop from another thread.
 *
 * evbase itself calls only the three tables below, and only for a base that
 * has a lock (base->lock, set when the base was created with lock callbacks
 * installed). A base without one tests that pointer and goes on: that test
 * is the whole cost of thread support for a single-threaded program.
 */
#include "evb-internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* The table in force is named as libevent names its own, which it exports
 * for its tests: the lock-debugging test reaches the checking functions
 * through it on both libraries. */
struct evthread_lock_callbacks evthread_lock_fns_;
struct evthread_condition_callbacks evb_cond_fns;
unsigned long (*evb_id_fn)(void);

/* With lock debugging on, evthread_lock_fns_ holds the checking wrappers and the
 * program's (or pthreads') functions wait here. */
static int debugging;
static struct evthread_lock_callbacks real_fns;

/* Not in event2/thread.h; libevent exports it too. The program's own
 * functions, under the checking ones when debugging is on. */
struct evthread_lock_callbacks *evthread_get_lock_callbacks(void);
struct evthread_lock_callbacks *evthread_get_lock_callbacks(void)
{
	return debugging ? &real_fns : &evthread_lock_fns_;
}

int evthread_set_lock_callbacks(const struct evthread_lock_callbacks *cbs)
{
	struct evthread_lock_callbacks *target = debugging ? &real_fns : &evthread_lock_fns_;

	if (!cbs) {
		memset(target, 0, sizeof(*target));
		return 0;
	}
	if (target->alloc) {
		/* Setting the same functions again is harmless; replacing
		 * them under locks already made is not. */
		if (!memcmp(target, cbs, sizeof(*cbs)))
			return 0;
		evb_warnx("Can't change lock callbacks once they have been initialized.");
		return -1;
	}
	if (!cbs->alloc || !cbs->free || !cbs->lock || !cbs->unlock)
		return -1;
	*target = *cbs;
	return 0;
}

int evthread_set_condition_callbacks(const struct evthread_condition_callbacks *cbs)
{
	if (!cbs) {
		memset(&evb_cond_fns, 0, sizeof(evb_cond_fns));
		return 0;
	}
	if (evb_cond_fns.alloc_condition) {
		if (!memcmp(&evb_cond_fns, cbs, sizeof(*cbs)))
			return 0;
		evb_warnx("Can't change condition callbacks once they have been initialized.");
		return -1;
	}
	if (!cbs->alloc_condition || !cbs->free_condition ||
	    !cbs->signal_condition || !cbs->wait_condition)
		return -1;
	evb_cond_fns = *cbs;
	return 0;
}

void evthread_set_id_callback(unsigned long (*id_fn)(void))
{
	evb_id_fn = id_fn;
}

/* ---- POSIX threads --------------------------------------------------------- */

static void *pt_lock_alloc(unsigned locktype)
{
	pthread_mutexattr_t attr;
	pthread_mutex_t *m = evb_malloc(sizeof(*m));

	if (!m)
		return NULL;
	pthread_mutexattr_init(&attr);
	if (locktype & EVTHREAD_LOCKTYPE_RECURSIVE)
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	if (pthread_mutex_init(m, &attr)) {
		pthread_mutexattr_destroy(&attr);
		evb_free(m);
		return NULL;
	}
	pthread_mutexattr_destroy(&attr);
	return m;
}

static void pt_lock_free(void *lock, unsigned locktype)
{
	pthread_mutex_destroy(lock);
	evb_free(lock);
}

static int pt_lock(unsigned mode, void *lock)
{
	return (mode & EVTHREAD_TRY) ? pthread_mutex_trylock(lock) : pthread_mutex_lock(lock);
}

static int pt_unlock(unsigned mode, void *lock)
{
	return pthread_mutex_unlock(lock);
}

static unsigned long pt_id(void)
{
	return (unsigned long)pthread_self();
}

static void *pt_cond_alloc(unsigned condtype)
{
	pthread_cond_t *c = evb_malloc(sizeof(*c));

	if (c && pthread_cond_init(c, NULL)) {
		evb_free(c);
		return NULL;
	}
	return c;
}

static void pt_cond_free(void *cond)
{
	pthread_cond_destroy(cond);
	evb_free(cond);
}

static int pt_cond_signal(void *cond, int broadcast)
{
	return (broadcast ? pthread_cond_broadcast(cond) : pthread_cond_signal(cond)) ? -1 : 0;
}

static int pt_cond_wait(void *cond, void *lock, const struct timeval *tv)
{
	struct timespec at;
	struct timeval now;
	int r;

	if (!tv)
		return pthread_cond_wait(cond, lock) ? -1 : 0;
	/* pthread_cond_timedwait takes a wall-clock deadline. */
	gettimeofday(&now, NULL);
	evutil_timeradd(&now, tv, &now);
	at.tv_sec = now.tv_sec;
	at.tv_nsec = now.tv_usec * 1000L;
	r = pthread_cond_timedwait(cond, lock, &at);
	return r == ETIMEDOUT ? 1 : r ? -1 : 0;
}

int evthread_use_pthreads(void)
{
	static const struct evthread_lock_callbacks locks = {
		EVTHREAD_LOCK_API_VERSION, EVTHREAD_LOCKTYPE_RECURSIVE,
		pt_lock_alloc, pt_lock_free, pt_lock, pt_unlock,
	};
	static const struct evthread_condition_callbacks conds = {
		EVTHREAD_CONDITION_API_VERSION,
		pt_cond_alloc, pt_cond_free, pt_cond_signal, pt_cond_wait,
	};

	if (evthread_set_lock_callbacks(&locks) < 0 ||
	    evthread_set_condition_callbacks(&conds) < 0)
		return -1;
	evthread_set_id_callback(pt_id);
	return 0;
}

/* ---- lock debugging ---------------------------------------------------------- */

/* Each lock remembers who holds it and how often. The real lock under it is
 * always recursive, so that a second lock of a non-recursive one is caught
 * here rather than deadlocking first. */
struct dbg_lock {
	unsigned locktype;
	int count;
	unsigned long held_by;
	void *lock;
};

static void *dbg_alloc(unsigned locktype)
{
	struct dbg_lock *l = evb_malloc(sizeof(*l));

	if (!l)
		return NULL;
	l->locktype = locktype;
	l->count = 0;
	l->held_by = 0;
	l->lock = NULL;
	if (real_fns.alloc &&
	    !(l->lock = real_fns.alloc(locktype | EVTHREAD_LOCKTYPE_RECURSIVE))) {
		evb_free(l);
		return NULL;
	}
	return l;
}

static void dbg_free(void *lock, unsigned locktype)
{
	struct dbg_lock *l = lock;

	if (l->count)
		evb_fatal("lock debugging: lock %p freed while held", lock);
	if (real_fns.free)
		real_fns.free(l->lock, l->locktype | EVTHREAD_LOCKTYPE_RECURSIVE);
	evb_free(l);
}

static void dbg_mark_locked(struct dbg_lock *l)
{
	unsigned long me = evb_thread_id();

	if (++l->count > 1 && !(l->locktype & EVTHREAD_LOCKTYPE_RECURSIVE))
		evb_fatal("lock debugging: non-recursive lock %p locked twice", (void *)l);
	if (l->count > 1 && evb_id_fn && l->held_by != me)
		evb_fatal("lock debugging: lock %p held by two threads", (void *)l);
	l->held_by = me;
}

static void dbg_mark_unlocked(struct dbg_lock *l)
{
	if (l->count <= 0 || (evb_id_fn && l->held_by != evb_thread_id()))
		evb_fatal("lock debugging: unlock of lock %p, which this thread "
		    "does not hold", (void *)l);
	if (--l->count == 0)
		l->held_by = 0;
}

static int dbg_lock(unsigned mode, void *lock)
{
	struct dbg_lock *l = lock;
	int r = real_fns.lock ? real_fns.lock(mode, l->lock) : 0;

	if (!(mode & EVTHREAD_TRY) || r == 0)
		dbg_mark_locked(l);
	return r;
}

static int dbg_unlock(unsigned mode, void *lock)
{
	struct dbg_lock *l = lock;

	dbg_mark_unlocked(l);
	return real_fns.unlock ? real_fns.unlock(mode, l->lock) : 0;
}

void evthread_enable_lock_debugging(void)
{
	static const struct evthread_lock_callbacks dbg = {
		EVTHREAD_LOCK_API_VERSION, EVTHREAD_LOCKTYPE_RECURSIVE,
		dbg_alloc, dbg_free, dbg_lock, dbg_unlock,
	};

	if (debugging)
		return;
	real_fns = evthread_lock_fns_;
	evthread_lock_fns_ = dbg;
	evthread_lock_fns_.supported_locktypes |= real_fns.supported_locktypes;
	debugging = 1;
}

void evthread_enable_lock_debuging(void)
{
	evthread_enable_lock_debugging();
}

/* Wait on base's condition with base's lock held once; the checks see the
 * lock given up for the wait and taken back after it. */
void evb_cond_wait(struct event_base *base)
{
	void *lock = base->lock;

	if (!evb_cond_fns.wait_condition)
		return;
	if (debugging) {
		dbg_mark_unlocked(lock);
		lock = ((struct dbg_lock *)lock)->lock;
	}
	evb_cond_fns.wait_condition(base->cond, lock, NULL);
	if (debugging)
		dbg_mark_locked(base->lock);
}

/* ---- a base's lock and wake-up ---------------------------------------------- */

int evb_thread_base_init(struct event_base *base)
{
	if (!evthread_lock_fns_.lock || (base->flags & EVENT_BASE_FLAG_NOLOCK))
		return 0;
	if (!(base->lock = evthread_lock_fns_.alloc(EVTHREAD_LOCKTYPE_RECURSIVE)))
		return -1;
	if (evb_cond_fns.alloc_condition &&
	    !(base->cond = evb_cond_fns.alloc_condition(0)))
		return -1;
	return evb_notify_init(base);
}

void evb_thread_base_free(struct event_base *base)
{
	if (base->notify_fd >= 0) {
		event_del(&base->notify_ev);
		close(base->notify_fd);
		base->notify_fd = -1;
	}
	if (base->cond)
		evb_cond_fns.free_condition(base->cond);
	if (base->lock)
		evthread_lock_fns_.free(base->lock, EVTHREAD_LOCKTYPE_RECURSIVE);
	base->cond = base->lock = NULL;
}

static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct event_base *base = arg;
	uint64_t n;

	/* Drain first, then allow the next wake-up: one that comes after the
	 * read is not lost, it only makes one more round. */
	while (read(fd, &n, sizeof(n)) > 0)
		;
	EVB_LOCK(base);
	base->notify_pending = 0;
	EVB_UNLOCK(base);
}

int evb_notify_init(struct event_base *base)
{
	int fd;

	if (base->notify_fd >= 0)
		return 0;
	if ((fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -1;
	base->notify_fd = fd;
	event_assign(&base->notify_ev, base, fd, EV_READ | EV_PERSIST, notify_cb, base);
	base->notify_ev.ev_flags |= EVLIST_INTERNAL;
	base->notify_ev.ev_pri = 0;
	if (event_add(&base->notify_ev, NULL) < 0) {
		close(fd);
		base->notify_fd = -1;
		return -1;
	}
	return 0;
}

/* Called with the lock held after a change from a thread other than the
 * loop's: wake the loop if it may be waiting in its backend. */
void evb_notify(struct event_base *base)
{
	uint64_t one = 1;

	if (base->notify_fd < 0 || base->notify_pending)
		return;
	base->notify_pending = 1;
	if (write(base->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		base->notify_pending = 0;
}

int evthread_make_base_notifiable(struct event_base *base)
{
	int r;

	if (!base)
		return -1;
	EVB_LOCK(base);
	r = evb_notify_init(base);
	EVB_UNLOCK(base);
	return r;
}
