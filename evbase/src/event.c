/*
 * event.c — evbase's core: bases, events, the loop, timeouts, priorities.
 *
 * Where an event is, is kept in ev_flags (EVLIST_*): registered for its fd or
 * signal (INSERTED), in the timer heap (TIMEOUT), in an active queue (ACTIVE).
 * Every transition goes through a handful of small functions below that also
 * keep libevent's counters, so that event_pending(), the "no events left"
 * exit and event_base_get_num_events() all read the same state.
 *
 * One round of the loop: poll the backend (without waiting if something is
 * already active), move expired timers to the active queues, then run the
 * most urgent non-empty queue until it is empty. Callbacks may add, delete,
 * activate or free events freely: the queue is re-read after every callback
 * and an event is never touched after its callback returns.
 */
#include "evb-internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IO_BITS (EV_READ | EV_WRITE | EV_CLOSED)

/* Debug mode: every call on an event needs event_assign() first. The check
 * is the EVLIST_INIT bit, so a zero-filled event is caught too. */
#define CHECK_SETUP(ev) do {						\
	if (evb_debug_mode && !((ev)->ev_flags & EVLIST_INIT))		\
		evb_fatal("%s called on a non-initialized event %p",	\
		    __func__, (const void *)(ev));			\
} while (0)

/* ---- time --------------------------------------------------------------- */

static void clock_mono(struct timeval *tv)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
}

/* Now, as the callbacks of this round see it: the cached time if there is
 * one. The wall-clock offset is refreshed every few seconds, as libevent
 * does, so that wall-clock answers follow clock changes. */
static void gettime(struct event_base *base, struct timeval *tv)
{
	if (base->tv_cache.tv_sec) {
		*tv = base->tv_cache;
		return;
	}
	clock_mono(tv);
	if (tv->tv_sec >= base->clock_diff_at + 5 || !base->clock_diff_at) {
		struct timeval wall;
		gettimeofday(&wall, NULL);
		evutil_timersub(&wall, tv, &base->tv_clock_diff);
		base->clock_diff_at = tv->tv_sec;
	}
}

static void update_time_cache(struct event_base *base)
{
	base->tv_cache.tv_sec = 0;
	if (!(base->flags & EVENT_BASE_FLAG_NO_CACHE_TIME))
		gettime(base, &base->tv_cache);
}

int event_base_gettimeofday_cached(struct event_base *base, struct timeval *tv)
{
	if (!base)
		base = evb_current_base;
	if (!base)
		return gettimeofday(tv, NULL);
	EVB_LOCK(base);
	if (!base->tv_cache.tv_sec) {
		EVB_UNLOCK(base);
		return gettimeofday(tv, NULL);
	}
	evutil_timeradd(&base->tv_cache, &base->tv_clock_diff, tv);
	EVB_UNLOCK(base);
	return 0;
}

int event_base_update_cache_time(struct event_base *base)
{
	if (!base)
		base = evb_current_base;
	if (!base)
		return -1;
	EVB_LOCK(base);
	if (base->running_loop)
		update_time_cache(base);
	EVB_UNLOCK(base);
	return 0;
}

int event_gettime_monotonic(struct event_base *base, struct timeval *tp)
{
	if (!base || !tp)
		return -1;
	clock_mono(tp);
	return 0;
}

/* ---- where an event is: the three places and their counters -------------- */

#define count_in evb_count_in

static void count_out(struct event_base *base, struct event *ev)
{
	if (!(ev->ev_flags & EVLIST_INTERNAL))
		base->event_count--;
}

#define active_insert evb_active_insert

static void active_remove(struct event_base *base, struct event *ev)
{
	int pri = ev->ev_pri < base->nqueues ? ev->ev_pri : base->nqueues - 1;
	struct evb_queue *q = &base->queues[pri];

	ev->ev_flags &= ~EVLIST_ACTIVE;
	count_out(base, ev);
	base->nactive--;
	if (ev->ev_active_next)
		ev->ev_active_next->ev_active_prev = ev->ev_active_prev;
	else
		q->tail = ev->ev_active_prev;
	*ev->ev_active_prev = ev->ev_active_next;
}

static struct evb_common *common_of(struct event_base *base, const struct timeval *tv)
{
	return base->common[(tv->tv_usec & EVB_COMMON_IDX_MASK) >> EVB_COMMON_IDX_SHIFT];
}

/* A deadline without the common-timeout bits. */
static struct timeval plain_tv(const struct timeval *tv)
{
	struct timeval t = *tv;
	t.tv_usec &= EVB_USEC_MASK;
	return t;
}

static int add_event(struct event *ev, const struct timeval *tv, int absolute);
static int del_event(struct event *ev);

/* Set a common timeout's internal timer to the deadline of its queue's head,
 * or take it out when the queue is empty. */
static void common_arm(struct evb_common *c)
{
	if (c->head) {
		struct timeval at = plain_tv(&c->head->ev_timeout);
		add_event(&c->timer, &at, 1);
	} else {
		del_event(&c->timer);
	}
}

static void timeout_remove(struct event_base *base, struct event *ev)
{
	ev->ev_flags &= ~EVLIST_TIMEOUT;
	count_out(base, ev);
	if (evb_is_common(base, &ev->ev_timeout)) {
		struct evb_common *c = common_of(base, &ev->ev_timeout);
		int was_head = c->head == ev;
		if (ev->ev_common_prev)
			ev->ev_common_prev->ev_common_next = ev->ev_common_next;
		else
			c->head = ev->ev_common_next;
		if (ev->ev_common_next)
			ev->ev_common_next->ev_common_prev = ev->ev_common_prev;
		else
			c->tail = ev->ev_common_prev;
		/* An earlier wake-up than needed costs one empty round; an
		 * empty queue needs none at all. */
		if (was_head && !c->head)
			common_arm(c);
	} else {
		evb_heap_erase(&base->timers, ev);
	}
}

static void timeout_insert(struct event_base *base, struct event *ev)
{
	ev->ev_flags |= EVLIST_TIMEOUT;
	count_in(base, ev);
	if (evb_is_common(base, &ev->ev_timeout)) {
		struct evb_common *c = common_of(base, &ev->ev_timeout);
		struct event *after = c->tail;
		/* Deadlines computed from now only grow, so this is the tail
		 * (O(1)); only a persistent event rescheduled from an earlier
		 * deadline walks back. Equal deadlines keep their order. */
		while (after && evutil_timercmp(&after->ev_timeout, &ev->ev_timeout, >))
			after = after->ev_common_prev;
		ev->ev_common_prev = after;
		ev->ev_common_next = after ? after->ev_common_next : c->head;
		if (ev->ev_common_next)
			ev->ev_common_next->ev_common_prev = ev;
		else
			c->tail = ev;
		if (after)
			after->ev_common_next = ev;
		else
			c->head = ev;
		if (c->head == ev)
			common_arm(c);
	} else {
		evb_heap_push(&base->timers, ev);
	}
}

/* ---- the fd map ------------------------------------------------------------ */

static short fd_interest(const struct evb_fd *f)
{
	return (short)((f->nread ? EV_READ : 0) | (f->nwrite ? EV_WRITE : 0) |
	    (f->nclose ? EV_CLOSED : 0) | (f->net ? EV_ET : 0));
}

/* Count the events ev waits for into its fd's totals (n = 1) or out of
 * them (n = -1; the counts are unsigned, and adding -1 takes one away). */
static void fd_count(struct evb_fd *f, const struct event *ev, int n)
{
	if (ev->ev_events & EV_READ)
		f->nread += n;
	if (ev->ev_events & EV_WRITE)
		f->nwrite += n;
	if (ev->ev_events & EV_CLOSED)
		f->nclose += n;
	if (ev->ev_events & EV_ET)
		f->net += n;
}

static int io_add(struct event_base *base, struct event *ev)
{
	int fd = ev->ev_fd;
	struct evb_fd *f;
	short old;

	if (fd < 0)
		return 0;	/* as libevent: "added", but nothing to watch */
	if (fd >= base->nfds) {
		int n = base->nfds;
		struct evb_fd *fds = evb_fd_grow(base->fds, &n, fd, sizeof(*fds));

		if (!fds)
			return -1;
		/* The lists point into the array: re-anchor their heads. */
		for (int i = 0; i < base->nfds; i++)
			if (fds[i].head)
				fds[i].head->ev_io_prev = &fds[i].head;
		base->fds = fds;
		base->nfds = n;
	}
	f = &base->fds[fd];
	old = f->mask;
	fd_count(f, ev, 1);
	f->mask = fd_interest(f);
	if (f->mask != old && base->be->ctl(base, fd, old, f->mask) < 0) {
		fd_count(f, ev, -1);
		f->mask = old;
		return -1;
	}
	evb_io_push(&f->head, ev);
	return 0;
}

static void io_del(struct event_base *base, struct event *ev)
{
	struct evb_fd *f;
	short old;

	if (ev->ev_fd < 0 || ev->ev_fd >= base->nfds)
		return;
	f = &base->fds[ev->ev_fd];
	evb_io_unlink(ev);
	old = f->mask;
	fd_count(f, ev, -1);
	f->mask = fd_interest(f);
	/* A failure here means the fd is already gone; nothing to undo. */
	if (f->mask != old)
		(void)base->be->ctl(base, ev->ev_fd, old, f->mask);
}

/* ---- events ------------------------------------------------------------- */

static int self_cbarg_sentinel;
void *event_self_cbarg(void) { return &self_cbarg_sentinel; }

int event_assign(struct event *ev, struct event_base *base, evutil_socket_t fd,
    short events, event_callback_fn callback, void *arg)
{
	if ((events & EV_SIGNAL) && (events & IO_BITS)) {
		evb_warnx("%s: EV_SIGNAL is not compatible with EV_READ, "
		    "EV_WRITE or EV_CLOSED", __func__);
		return -1;
	}
	memset(ev, 0, sizeof(*ev));
	ev->ev_base = base;
	ev->ev_fd = fd;
	ev->ev_events = events;
	ev->ev_callback = callback;
	ev->ev_arg = arg == &self_cbarg_sentinel ? ev : arg;
	ev->ev_flags = EVLIST_INIT;
	ev->ev_heap_idx = -1;
	ev->ev_pri = base ? (ev_uint8_t)(base->nqueues / 2) : 0;
	return 0;
}

struct event *event_new(struct event_base *base, evutil_socket_t fd,
    short events, event_callback_fn callback, void *arg)
{
	struct event *ev = evb_malloc(sizeof(*ev));

	if (!ev)
		return NULL;
	ev->ev_flags = 0;
	if (arg == &self_cbarg_sentinel)
		arg = ev;
	if (event_assign(ev, base, fd, events, callback, arg) < 0) {
		evb_free(ev);
		return NULL;
	}
	return ev;
}

/* event_add() proper. With absolute, tv is a deadline on the monotonic clock
 * (the persistent-timeout rescheduling uses that). */
static int add_event(struct event *ev, const struct timeval *tv, int absolute)
{
	struct event_base *base = ev->ev_base;

	CHECK_SETUP(ev);
	if (!base) {
		evb_warnx("%s: event has no event_base set.", "event_add");
		return -1;
	}
	/* Make room first, so that nothing below can fail half-done. */
	if (tv && !(ev->ev_flags & EVLIST_TIMEOUT) &&
	    evb_heap_reserve(&base->timers, base->timers.n + 1) < 0)
		return -1;
	/* As in libevent, an event that is active (its callback due) but not
	 * registered is not registered by event_add() either. */
	if ((ev->ev_events & (IO_BITS | EV_SIGNAL)) &&
	    !(ev->ev_flags & (EVLIST_INSERTED | EVLIST_ACTIVE))) {
		int r = (ev->ev_events & EV_SIGNAL) ? evb_sig_add(base, ev)
		    : io_add(base, ev);
		if (r < 0)
			return -1;
		ev->ev_flags |= EVLIST_INSERTED;
		count_in(base, ev);
	}
	if (tv) {
		if ((ev->ev_events & EV_PERSIST) && !(ev->ev_events & EV_SIGNAL) &&
		    !absolute) {
			ev->ev_io_timeout = *tv;
			if (evutil_timerisset(tv))
				ev->ev_flags |= EVB_PERIODIC;
			else
				ev->ev_flags &= ~EVB_PERIODIC;
		}
		if (ev->ev_flags & EVLIST_TIMEOUT)
			timeout_remove(base, ev);
		/* A timeout that fired but whose callback has not run yet is
		 * superseded by the new one. */
		if ((ev->ev_flags & EVLIST_ACTIVE) && (ev->ev_res & EV_TIMEOUT)) {
			if ((ev->ev_events & EV_SIGNAL) && ev->ev_pncalls)
				*ev->ev_pncalls = 0;
			active_remove(base, ev);
		}
		if (absolute) {
			ev->ev_timeout = *tv;
		} else {
			struct timeval now, d = plain_tv(tv);
			gettime(base, &now);
			evutil_timeradd(&now, &d, &ev->ev_timeout);
			if (evb_is_common(base, tv))
				ev->ev_timeout.tv_usec |= tv->tv_usec & ~EVB_USEC_MASK;
		}
		timeout_insert(base, ev);
	}
	return 0;
}

int event_add(struct event *ev, const struct timeval *tv)
{
	struct event_base *base = ev->ev_base;
	int r;

	if (!base)
		return add_event(ev, tv, 0);	/* which says why not */
	EVB_LOCK(base);
	r = add_event(ev, tv, 0);
	evb_wake(base);
	EVB_UNLOCK(base);
	return r;
}

/* Take ev out of every place it is in. */
static int del_event(struct event *ev)
{
	struct event_base *base = ev->ev_base;

	CHECK_SETUP(ev);
	if (!base) {
		evb_warnx("%s: event has no event_base set.", "event_del");
		return -1;
	}
	/* Stop a signal callback that is repeating for several deliveries. */
	if ((ev->ev_events & EV_SIGNAL) && ev->ev_ncalls && ev->ev_pncalls) {
		*ev->ev_pncalls = 0;
		ev->ev_pncalls = NULL;
		ev->ev_ncalls = 0;
	}
	if (ev->ev_flags & EVLIST_TIMEOUT)
		timeout_remove(base, ev);
	if (ev->ev_flags & EVLIST_ACTIVE)
		active_remove(base, ev);
	if (ev->ev_flags & EVLIST_INSERTED) {
		ev->ev_flags &= ~EVLIST_INSERTED;
		count_out(base, ev);
		if (ev->ev_events & EV_SIGNAL)
			evb_sig_del(base, ev);
		else
			io_del(base, ev);
	}
	return 0;
}

/* How event_del() treats a callback of ev running in the loop's thread when
 * it is called from another thread (libevent's EVENT_DEL_* modes). */
enum { DEL_NOBLOCK, DEL_BLOCK, DEL_AUTOBLOCK };

static int del_mode(struct event *ev, int mode)
{
	struct event_base *base = ev->ev_base;
	int r;

	if (!base)
		return del_event(ev);	/* which says why not */
	EVB_LOCK(base);
	/* Take the event out first: from here on the loop cannot start its
	 * callback again, however readable its fd stays. A deleted event
	 * forgets its period too: event_add(ev, NULL) later means no timeout,
	 * not the old one back at the first I/O (which is what libevent
	 * 2.1.12 does; docs/evbase.md). */
	if ((r = del_event(ev)) == 0) {
		evutil_timerclear(&ev->ev_io_timeout);
		ev->ev_flags &= ~EVB_PERIODIC;
	}
	evb_wake(base);
	/* Then, from another thread, wait until the callback of ev that is
	 * running now has returned, and for no later one (another thread may
	 * add ev again meanwhile): after event_del() (and so event_free())
	 * nothing of ev runs, as in libevent. The loop's own thread never
	 * waits, nor does _noblock; an EV_FINALIZE event waits only with
	 * _block. */
	if (base->lock && base->current == ev && base->owner != evb_thread_id() &&
	    evb_cond_fns.wait_condition &&
	    (mode == DEL_BLOCK || (mode == DEL_AUTOBLOCK && !(ev->ev_events & EV_FINALIZE)))) {
		unsigned long running = base->callbacks_begun;
		base->cond_waiters++;
		while (base->current == ev && base->callbacks_begun == running)
			evb_cond_wait(base);
		base->cond_waiters--;
	}
	EVB_UNLOCK(base);
	return r;
}

int event_del(struct event *ev) { return del_mode(ev, DEL_AUTOBLOCK); }
int event_del_noblock(struct event *ev) { return del_mode(ev, DEL_NOBLOCK); }
int event_del_block(struct event *ev) { return del_mode(ev, DEL_BLOCK); }

void event_free(struct event *ev)
{
	if (!ev)
		return;
	event_del(ev);
	evb_free(ev);
}

int event_remove_timer(struct event *ev)
{
	CHECK_SETUP(ev);
	if (!ev->ev_base) {
		evb_warnx("%s: event has no event_base set.", __func__);
		return -1;
	}
	EVB_LOCK(ev->ev_base);
	if (ev->ev_flags & EVLIST_TIMEOUT) {
		timeout_remove(ev->ev_base, ev);
		evutil_timerclear(&ev->ev_io_timeout);
		ev->ev_flags &= ~EVB_PERIODIC;
	}
	EVB_UNLOCK(ev->ev_base);
	return 0;
}

void evb_activate(struct event_base *base, struct event *ev, short res, short ncalls)
{
	if ((ev->ev_events & EV_SIGNAL) && !(ev->ev_flags & EVLIST_ACTIVE)) {
		ev->ev_ncalls = ncalls;
		ev->ev_pncalls = NULL;
	}
	evb_activate_io(base, ev, res);
}

void event_active(struct event *ev, int res, short ncalls)
{
	CHECK_SETUP(ev);
	if (!ev->ev_base) {
		evb_warnx("%s: event has no event_base set.", __func__);
		return;
	}
	EVB_LOCK(ev->ev_base);
	evb_activate(ev->ev_base, ev, (short)res, ncalls);
	evb_wake(ev->ev_base);
	EVB_UNLOCK(ev->ev_base);
}

/* Activate ev for a timeout unless it is one of the base's own events. */
static void activate_timeout(struct event_base *base, struct event *ev, evutil_socket_t fd)
{
	if (ev->ev_fd == fd && !(ev->ev_flags & EVLIST_INTERNAL))
		evb_activate(base, ev, EV_TIMEOUT, 1);
}

void event_base_active_by_fd(struct event_base *base, evutil_socket_t fd, short events)
{
	if (!base)
		return;
	EVB_LOCK(base);
	/* The I/O events on fd, as if the backend had reported it ready. */
	if (events & IO_BITS)
		evb_io_active(base, fd, events & IO_BITS);
	/* The events on fd waiting for a timeout: activating them leaves
	 * them in the heap or their queue, as event_active() would, so that
	 * the callback's own bookkeeping (del for one-shot events) takes
	 * them out. libevent 2.1.12 looks at nothing else once EV_TIMEOUT is
	 * in the mask (docs/evbase.md). */
	if (events & EV_TIMEOUT) {
		for (unsigned i = 0; i < base->timers.n; i++)
			activate_timeout(base, base->timers.a[i], fd);
		for (int i = 0; i < base->ncommon; i++)
			for (struct event *ev = base->common[i]->head; ev; ev = ev->ev_common_next)
				activate_timeout(base, ev, fd);
	}
	evb_wake(base);
	EVB_UNLOCK(base);
}

void event_base_active_by_signal(struct event_base *base, int sig)
{
	if (!base || sig < 1 || sig >= NSIG)
		return;
	EVB_LOCK(base);
	/* One delivery's worth, as the signal pipe's callback would. */
	for (struct event *ev = base->sig_head[sig]; ev; ev = ev->ev_io_next)
		evb_activate(base, ev, EV_SIGNAL, 1);
	evb_wake(base);
	EVB_UNLOCK(base);
}

int event_pending(const struct event *ev, short events, struct timeval *tv)
{
	int flags = 0;

	CHECK_SETUP(ev);
	if (ev->ev_base)
		EVB_LOCK(ev->ev_base);
	if (ev->ev_flags & EVLIST_INSERTED)
		flags |= ev->ev_events & (IO_BITS | EV_SIGNAL);
	if (ev->ev_flags & EVLIST_ACTIVE)
		flags |= ev->ev_res;
	if (ev->ev_flags & EVLIST_TIMEOUT)
		flags |= EV_TIMEOUT;
	events &= EV_TIMEOUT | IO_BITS | EV_SIGNAL;
	/* Deadlines live on the monotonic clock; report wall-clock time. */
	if (tv && (flags & events & EV_TIMEOUT)) {
		struct timeval at = plain_tv(&ev->ev_timeout);
		evutil_timeradd(&ev->ev_base->tv_clock_diff, &at, tv);
	}
	if (ev->ev_base)
		EVB_UNLOCK(ev->ev_base);
	return flags & events;
}

int event_initialized(const struct event *ev)
{
	return ev->ev_flags & EVLIST_INIT ? 1 : 0;
}

int event_priority_set(struct event *ev, int pri)
{
	int r = -1;

	CHECK_SETUP(ev);
	if (!ev->ev_base)
		return -1;
	EVB_LOCK(ev->ev_base);
	if (!(ev->ev_flags & EVLIST_ACTIVE) && pri >= 0 && pri < ev->ev_base->nqueues) {
		ev->ev_pri = (ev_uint8_t)pri;
		r = 0;
	}
	EVB_UNLOCK(ev->ev_base);
	return r;
}

evutil_socket_t event_get_fd(const struct event *ev) { return ev->ev_fd; }
struct event_base *event_get_base(const struct event *ev) { return ev->ev_base; }
short event_get_events(const struct event *ev) { return ev->ev_events; }
event_callback_fn event_get_callback(const struct event *ev) { return ev->ev_callback; }
void *event_get_callback_arg(const struct event *ev) { return ev->ev_arg; }
int event_get_priority(const struct event *ev) { return ev->ev_pri; }

void event_get_assignment(const struct event *ev, struct event_base **base_out,
    evutil_socket_t *fd_out, short *events_out, event_callback_fn *callback_out,
    void **arg_out)
{
	if (base_out) *base_out = ev->ev_base;
	if (fd_out) *fd_out = ev->ev_fd;
	if (events_out) *events_out = ev->ev_events;
	if (callback_out) *callback_out = ev->ev_callback;
	if (arg_out) *arg_out = ev->ev_arg;
}

/* ---- event_base_once ------------------------------------------------------- */

struct evb_once {
	struct event ev;
	event_callback_fn cb;
	void *arg;
	struct evb_once *next, **prev;
};

static void once_unlink(struct evb_once *o)
{
	if (o->next)
		o->next->prev = o->prev;
	*o->prev = o->next;
}

static void once_cb(evutil_socket_t fd, short what, void *arg)
{
	struct evb_once *o = arg;
	struct event_base *base = o->ev.ev_base;

	o->cb(fd, what, o->arg);
	EVB_LOCK(base);		/* callbacks run unlocked */
	once_unlink(o);
	EVB_UNLOCK(base);
	evb_free(o);
}

static int base_once(struct event_base *base, evutil_socket_t fd, short events,
    event_callback_fn callback, void *arg, const struct timeval *tv);

int event_base_once(struct event_base *base, evutil_socket_t fd, short events,
    event_callback_fn callback, void *arg, const struct timeval *tv)
{
	int r;

	if (!base || (events & (EV_SIGNAL | EV_PERSIST)))
		return -1;
	EVB_LOCK(base);
	r = base_once(base, fd, events, callback, arg, tv);
	evb_wake(base);
	EVB_UNLOCK(base);
	return r;
}

static int base_once(struct event_base *base, evutil_socket_t fd, short events,
    event_callback_fn callback, void *arg, const struct timeval *tv)
{
	struct evb_once *o;
	int now = 0;

	if (!(o = evb_calloc(1, sizeof(*o))))
		return -1;
	o->cb = callback;
	o->arg = arg;
	if ((events & (EV_TIMEOUT | EV_SIGNAL | EV_READ | EV_WRITE)) == EV_TIMEOUT) {
		event_assign(&o->ev, base, -1, 0, once_cb, o);
		/* No delay: make it active now rather than going through the heap. */
		now = !tv || !evutil_timerisset(tv);
	} else if (events & (EV_READ | EV_WRITE)) {
		event_assign(&o->ev, base, fd, events & (EV_READ | EV_WRITE), once_cb, o);
	} else {
		evb_free(o);
		return -1;
	}
	if (now) {
		evb_activate(base, &o->ev, EV_TIMEOUT, 1);
	} else if (add_event(&o->ev, tv, 0) < 0) {
		evb_free(o);
		return -1;
	}
	o->next = base->once;
	if (o->next)
		o->next->prev = &o->next;
	base->once = o;
	o->prev = &base->once;
	return 0;
}

/* ---- configuration and bases ------------------------------------------------ */

static int set_priorities(struct event_base *base, int n)
{
	struct evb_queue *q = evb_realloc(base->queues, (size_t)n * sizeof(*q));

	if (!q)
		return -1;
	for (int i = 0; i < n; i++) {
		q[i].head = NULL;
		q[i].tail = &q[i].head;
	}
	base->queues = q;
	base->nqueues = n;
	return 0;
}

struct event_base *event_base_new_with_config(const struct event_config *cfg)
{
	struct event_base *base = evb_calloc(1, sizeof(*base));
	int use_env = !(cfg && (cfg->flags & EVENT_BASE_FLAG_IGNORE_ENV));

	if (!base)
		return NULL;
	evb_bases_created = 1;
	base->flags = cfg ? cfg->flags : 0;
	base->running_pri = -1;
	base->sig_pipe[0] = base->sig_pipe[1] = -1;
	base->notify_fd = -1;
	/* No bound unless the config sets one; then the bounds apply from
	 * its priority on (libevent's defaults and rule). */
	base->max_dispatch.tv_sec = -1;
	base->max_callbacks = INT_MAX;
	base->limit_after_prio = INT_MAX;
	if (cfg && (cfg->max_callbacks != INT_MAX || cfg->max_dispatch.tv_sec != -1)) {
		base->max_dispatch = cfg->max_dispatch;
		base->max_callbacks = cfg->max_callbacks;
		base->limit_after_prio = cfg->limit_after_prio;
	}
	if (set_priorities(base, 1) < 0) {
		evb_free(base);
		return NULL;
	}
	evb_backend_init(base, cfg, use_env);
	if (!base->be) {
		evb_warnx("%s: no event mechanism available", __func__);
		evb_free(base->queues);
		evb_free(base);
		return NULL;
	}
	if (evb_thread_base_init(base) < 0) {
		evb_warnx("%s: cannot set up the lock or the wake-up eventfd", __func__);
		event_base_free(base);
		return NULL;
	}
	if (use_env && getenv("EVENT_SHOW_METHOD"))
		evb_log(EVENT_LOG_MSG, "libevent using: %s", base->be->name);
	evb_debug("%s: using %s", __func__, base->be->name);
	return base;
}

struct event_base *event_base_new(void)
{
	return event_base_new_with_config(NULL);
}

/* Delete every event the base still holds; the memory stays the owner's. */
static void delete_all(struct event_base *base)
{
	struct event *ev;

	for (int fd = 0; fd < base->nfds; fd++)
		while ((ev = base->fds[fd].head))
			event_del(ev);
	for (int sig = 0; sig < NSIG; sig++)
		while ((ev = base->sig_head[sig]))
			event_del(ev);
	for (int i = 0; i < base->ncommon; i++)
		while ((ev = base->common[i]->head))
			event_del(ev);
	while ((ev = evb_heap_top(&base->timers)))
		event_del(ev);
	for (int i = 0; i < base->nqueues; i++)
		while ((ev = base->queues[i].head))
			event_del(ev);
}

void event_base_free(struct event_base *base)
{
	if (!base)
		base = evb_current_base;
	if (!base) {
		evb_warnx("%s: no base to free", __func__);
		return;
	}
	evb_thread_base_free(base);
	delete_all(base);
	while (base->once) {
		struct evb_once *o = base->once;
		once_unlink(o);
		evb_free(o);
	}
	evb_sig_free(base);
	evb_backend_stop(base);
	for (int i = 0; i < base->ncommon; i++)
		evb_free(base->common[i]);
	evb_free(base->timers.a);
	evb_free(base->fds);
	evb_free(base->queues);
	if (base == evb_current_base)
		evb_current_base = NULL;
	evb_free(base);
}

void event_base_free_nofinalize(struct event_base *base)
{
	event_base_free(base);
}

int event_reinit(struct event_base *base)
{
	int ret = 0;

	if (!base)
		return -1;
	/* After fork() the epoll instance is shared with the parent: any
	 * change made through it would change the parent's interest set too.
	 * So the new backend instance comes first, then the new signal pipe
	 * (deleting the old pipe's event now only touches the new, empty
	 * instance), then every fd is registered again. */
	evb_backend_stop(base);
	if (evb_backend_start(base, base->be) < 0)
		return -1;
	for (int fd = 0; fd < base->nfds; fd++)
		base->fds[fd].mask = 0;
	if (evb_sig_reinit(base) < 0)
		ret = -1;
	for (int fd = 0; fd < base->nfds; fd++) {
		struct evb_fd *f = &base->fds[fd];
		short mask = fd_interest(f);
		if (mask && mask != f->mask && base->be->ctl(base, fd, f->mask, mask) < 0)
			ret = -1;
		f->mask = mask;
	}
	return ret;
}

const char *event_base_get_method(const struct event_base *base)
{
	return base->be->name;
}

int event_base_get_features(const struct event_base *base)
{
	return base->be->features;
}

int event_base_priority_init(struct event_base *base, int n)
{
	int r = 0;

	if (!base || n < 1 || n >= EVENT_MAX_PRIORITIES)
		return -1;
	EVB_LOCK(base);
	if (base->nactive)
		r = -1;
	else if (n != base->nqueues)
		r = set_priorities(base, n);
	EVB_UNLOCK(base);
	return r;
}

int event_base_get_npriorities(struct event_base *base)
{
	if (!base)
		base = evb_current_base;
	return base ? base->nqueues : 0;
}

/* Expire the head of a common timeout's queue, as expire_timers() does for
 * the heap, then set the timer to the next deadline. */
static void common_fire(evutil_socket_t fd, short what, void *arg)
{
	struct evb_common *c = arg;
	struct event_base *base = c->timer.ev_base;
	struct timeval now;
	struct event *ev;

	EVB_LOCK(base);		/* callbacks run unlocked */
	gettime(base, &now);
	while ((ev = c->head)) {
		struct timeval at = plain_tv(&ev->ev_timeout);
		short had;
		if (evutil_timercmp(&at, &now, >))
			break;
		had = (ev->ev_flags & EVLIST_ACTIVE) ? ev->ev_res : 0;
		del_event(ev);
		evb_activate(base, ev, had | EV_TIMEOUT, 1);
	}
	common_arm(c);
	EVB_UNLOCK(base);
}

static const struct timeval *init_common(struct event_base *base,
    const struct timeval *duration);

const struct timeval *event_base_init_common_timeout(struct event_base *base,
    const struct timeval *duration)
{
	const struct timeval *r;

	EVB_LOCK(base);
	r = init_common(base, duration);
	EVB_UNLOCK(base);
	return r;
}

static const struct timeval *init_common(struct event_base *base,
    const struct timeval *duration)
{
	struct timeval d = *duration;
	struct evb_common *c;
	int i = base->ncommon;

	/* A handle passed back in is its own duration. */
	if (evb_is_common(base, &d))
		d.tv_usec &= EVB_USEC_MASK;
	d.tv_sec += d.tv_usec / 1000000;
	d.tv_usec %= 1000000;
	for (int j = 0; j < base->ncommon; j++) {
		c = base->common[j];
		if (c->duration.tv_sec == d.tv_sec &&
		    (c->duration.tv_usec & EVB_USEC_MASK) == d.tv_usec)
			return &c->duration;
	}
	if (i == EVB_MAX_COMMON_TIMEOUTS) {
		evb_warnx("%s: Too many common timeouts already in use; "
		    "we only support %d per event_base", __func__,
		    EVB_MAX_COMMON_TIMEOUTS);
		return NULL;
	}
	if (!(c = evb_calloc(1, sizeof(*c))))
		return NULL;
	c->duration.tv_sec = d.tv_sec;
	c->duration.tv_usec = d.tv_usec | EVB_COMMON_MAGIC |
	    (i << EVB_COMMON_IDX_SHIFT);
	event_assign(&c->timer, base, -1, 0, common_fire, NULL);
	c->timer.ev_arg = c;
	c->timer.ev_flags |= EVLIST_INTERNAL;
	c->timer.ev_pri = 0;
	base->common[base->ncommon++] = c;
	return &c->duration;
}

struct event *event_base_get_running_event(struct event_base *base)
{
	struct event *ev;

	EVB_LOCK(base);
	ev = base->current;
	EVB_UNLOCK(base);
	return ev;
}

/* ---- the loop --------------------------------------------------------------- */

/* Set a persistent event's next timeout before its callback runs: one period
 * after the deadline that just passed (so a periodic timer does not drift),
 * or one period from now after I/O; from now, too, if the loop fell so far
 * behind that the next deadline is already gone. */
static void persist_reschedule(struct event_base *base, struct event *ev)
{
	struct timeval now, at;
	struct timeval period = plain_tv(&ev->ev_io_timeout);
	struct timeval last = plain_tv(&ev->ev_timeout);

	gettime(base, &now);
	if (ev->ev_res & EV_TIMEOUT)
		evutil_timeradd(&last, &period, &at);
	else
		evutil_timeradd(&now, &period, &at);
	if (evutil_timercmp(&at, &now, <))
		evutil_timeradd(&now, &period, &at);
	/* A common timeout's deadline stays marked, so it goes back to its
	 * queue. */
	if (evb_is_common(base, &ev->ev_io_timeout))
		at.tv_usec |= ev->ev_io_timeout.tv_usec & ~EVB_USEC_MASK;
	add_event(ev, &at, 1);
}

/* A signal event runs once per delivery; event_del() from the callback ends
 * the series by zeroing the counter through ev_pncalls. */
static void run_signal(struct event_base *base, struct event *ev)
{
	short *ncalls = &base->sig_ncalls;	/* the base outlives the callback */

	*ncalls = ev->ev_ncalls;
	if (*ncalls)
		ev->ev_pncalls = ncalls;
	while (*ncalls) {
		--*ncalls;
		ev->ev_ncalls = *ncalls;
		if (!*ncalls)
			ev->ev_pncalls = NULL;
		EVB_UNLOCK(base);
		ev->ev_callback(ev->ev_fd, ev->ev_res, ev->ev_arg);
		EVB_LOCK(base);
		if (base->got_break) {
			if (*ncalls)
				ev->ev_pncalls = NULL;
			return;
		}
	}
}

/* Run one queue until it is empty, or until max user callbacks have run or
 * the monotonic clock has reached *end (event_config_set_max_dispatch_
 * interval; INT_MAX and NULL for no bound). Returns how many non-internal
 * callbacks ran, or -1 if loopbreak was called. Callbacks run without the
 * base's lock, so other threads can add, delete and activate meanwhile. */
static inline __attribute__((always_inline)) int run_queue_as(struct event_base *base,
    struct evb_queue *q, int max, const struct timeval *end, const int locked)
{
	void *lock = locked ? base->lock : NULL;
	struct event *ev;
	int count = 0;

	while ((ev = q->head)) {
		if (ev->ev_events & EV_PERSIST) {
			/* active_remove() for the head of a known queue. */
			if (!(q->head = ev->ev_active_next))
				q->tail = &q->head;
			else
				q->head->ev_active_prev = &q->head;
			ev->ev_flags &= ~EVLIST_ACTIVE;
			base->nactive--;
			if (!(ev->ev_flags & EVLIST_INTERNAL)) {
				base->event_count--;
				count++;
			}
		} else {
			del_event(ev);	/* one-shot: not pending in its callback */
			if (!(ev->ev_flags & EVLIST_INTERNAL))
				count++;
		}
		base->current = ev;
		if (locked)
			base->callbacks_begun++;	/* for event_del()'s wait */
		if (ev->ev_events & EV_SIGNAL) {
			run_signal(base, ev);
		} else {
			event_callback_fn cb = ev->ev_callback;
			evutil_socket_t fd = ev->ev_fd;
			void *arg = ev->ev_arg;
			short res = ev->ev_res;
			if (ev->ev_flags & EVB_PERIODIC)
				persist_reschedule(base, ev);
			if (!locked) {
				cb(fd, res, arg);	/* ev may be freed from here on */
			} else {
				evthread_lock_fns_.unlock(0, lock);
				cb(fd, res, arg);
				evthread_lock_fns_.lock(0, lock);
			}
		}
		base->current = NULL;
		/* An event_del() in another thread may be waiting for it. */
		if (locked && base->cond_waiters)
			evb_cond_fns.signal_condition(base->cond, 1);
		if (base->got_break | base->got_continue) {
			if (base->got_break)
				return -1;
			break;
		}
		if (count >= max)
			break;
		if (end && count) {
			struct timeval now;
			update_time_cache(base);
			clock_mono(&now);
			if (evutil_timercmp(&now, end, >=))
				break;
		}
	}
	return count;
}

/* Two copies: a base without a lock runs one with no trace of locking. */
static int run_queue(struct event_base *base, struct evb_queue *q, int max,
    const struct timeval *end)
{
	if (base->lock)
		return run_queue_as(base, q, max, end, 1);
	return run_queue_as(base, q, max, end, 0);
}

/* Run the most urgent queue that has user callbacks. A queue holding only
 * the base's own events (the signal pipe) does not count as a round. */
static int run_active(struct event_base *base)
{
	struct timeval end, *endp = NULL;
	int c = 0;

	if (base->max_dispatch.tv_sec >= 0) {
		clock_mono(&end);
		evutil_timeradd(&end, &base->max_dispatch, &end);
		endp = &end;
	}
	for (int i = 0; i < base->nqueues && c == 0; i++) {
		if (!base->queues[i].head)
			continue;
		base->running_pri = i;
		if (i < base->limit_after_prio)
			c = run_queue(base, &base->queues[i], INT_MAX, NULL);
		else
			c = run_queue(base, &base->queues[i], base->max_callbacks, endp);
	}
	base->running_pri = -1;
	return c;
}

static void expire_timers(struct event_base *base)
{
	struct timeval now;
	struct event *ev;

	if (!base->timers.n)
		return;
	gettime(base, &now);
	while ((ev = evb_heap_top(&base->timers)) &&
	    evutil_timercmp(&ev->ev_timeout, &now, <=)) {
		/* An event already active for I/O keeps what it had: the
		 * callback sees EV_READ | EV_TIMEOUT. libevent 2.1.12 drops the
		 * I/O bits here (fixed upstream later; docs/evbase.md). The
		 * period survives for persist_reschedule(). */
		short had = (ev->ev_flags & EVLIST_ACTIVE) ? ev->ev_res : 0;
		del_event(ev);
		evb_activate(base, ev, had | EV_TIMEOUT, 1);
	}
}

/* How long the backend may wait: until the earliest deadline, or forever
 * (NULL) when there is no timer. */
static struct timeval *next_wait(struct event_base *base, struct timeval *tv)
{
	struct event *ev = evb_heap_top(&base->timers);
	struct timeval now;

	if (!ev)
		return NULL;
	gettime(base, &now);
	if (evutil_timercmp(&ev->ev_timeout, &now, <=))
		evutil_timerclear(tv);
	else
		evutil_timersub(&ev->ev_timeout, &now, tv);
	return tv;
}

int event_base_loop(struct event_base *base, int flags)
{
	struct timeval tv, *tvp;
	int ret = 0, done = 0;

	EVB_LOCK(base);
	if (base->running_loop) {
		evb_warnx("%s: reentrant invocation.  Only one event_base_loop "
		    "can run on each event_base at once.", __func__);
		EVB_UNLOCK(base);
		return -1;
	}
	base->running_loop = 1;
	base->owner = evb_thread_id();
	base->tv_cache.tv_sec = 0;
	if (base->nsignals)
		evb_sig_own(base);
	base->got_exit = base->got_break = 0;

	while (!done) {
		base->got_continue = 0;
		if (base->got_exit || base->got_break)
			break;
		if (!base->nactive && !(flags & EVLOOP_NONBLOCK)) {
			tvp = next_wait(base, &tv);
		} else {
			evutil_timerclear(&tv);
			tvp = &tv;
		}
		if (!(flags & EVLOOP_NO_EXIT_ON_EMPTY) && !base->event_count &&
		    !base->nactive) {
			evb_debug("%s: no events registered.", __func__);
			ret = 1;
			break;
		}
		base->tv_cache.tv_sec = 0;
		if (base->be->dispatch(base, tvp) < 0) {
			ret = -1;
			break;
		}
		update_time_cache(base);
		expire_timers(base);
		if (base->nactive) {
			int n = run_active(base);
			if ((flags & EVLOOP_ONCE) && !base->nactive && n != 0)
				done = 1;
		} else if (flags & EVLOOP_NONBLOCK) {
			done = 1;
		}
	}
	base->tv_cache.tv_sec = 0;
	base->running_loop = 0;
	base->owner = 0;
	EVB_UNLOCK(base);
	return ret;
}

int event_base_dispatch(struct event_base *base)
{
	return event_base_loop(base, 0);
}

static void loopexit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct event_base *base = arg;

	EVB_LOCK(base);		/* callbacks run unlocked */
	base->got_exit = 1;
	EVB_UNLOCK(base);
}

int event_base_loopexit(struct event_base *base, const struct timeval *tv)
{
	return event_base_once(base, -1, EV_TIMEOUT, loopexit_cb, base, tv);
}

/* Raises one of the loop's flags (base->got_break, got_continue) under the
 * lock, and wakes the loop in case another thread is running it. */
static int raise_flag(struct event_base *base, int *flag)
{
	EVB_LOCK(base);
	*flag = 1;
	evb_wake(base);
	EVB_UNLOCK(base);
	return 0;
}

int event_base_loopbreak(struct event_base *base)
{
	return base ? raise_flag(base, &base->got_break) : -1;
}

int event_base_loopcontinue(struct event_base *base)
{
	return base ? raise_flag(base, &base->got_continue) : -1;
}

/* One of the loop's flags, read under the lock. */
static int read_flag(struct event_base *base, const int *flag)
{
	int r;

	EVB_LOCK(base);
	r = *flag;
	EVB_UNLOCK(base);
	return r;
}

int event_base_got_exit(struct event_base *base)
{
	return read_flag(base, &base->got_exit);
}

int event_base_got_break(struct event_base *base)
{
	return read_flag(base, &base->got_break);
}
