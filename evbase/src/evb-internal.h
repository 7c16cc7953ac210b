/*
 * evb-internal.h — what the core, the timer heap, the signal code and the
 * backends share. Nothing here is visible to programs.
 *
 * A backend is a name, its EV_FEATURE_* bits, the size of its state and four
 * functions, like libevent's struct eventop and the handful every Redis ae
 * backend has. The core owns the state's memory (base->bd, `size` bytes): it
 * allocates it zeroed before init and frees it after free, so that a backend
 * handles only what its state holds.
 *   init      set up the state; 0, or -1 having released what it took. NULL
 *             when the zeroed state is ready as it is.
 *   free      release what the state holds (also before init again in
 *             event_reinit).
 *   ctl       the interest set of fd changes from old to new (masks of
 *             EV_READ | EV_WRITE | EV_CLOSED | EV_ET); new == 0 removes fd.
 *   dispatch  wait up to tv (NULL: forever) and report every ready fd with
 *             evb_io_active(); 0, or -1 on a real error (EINTR is 0).
 * The core calls ctl only when the union of the events on an fd changes.
 * EV_ET is part of that union: one edge-triggered event makes the whole fd
 * edge-triggered on epoll (the others then see edges too).
 */
#ifndef EVB_INTERNAL_H
#define EVB_INTERNAL_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/event_compat.h>
#include <event2/thread.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct evb_backend {
	const char *name;
	int features;		/* EV_FEATURE_* */
	size_t size;		/* of its state, base->bd */
	int (*init)(struct event_base *base);
	void (*free)(struct event_base *base);
	int (*ctl)(struct event_base *base, int fd, short old, short new_);
	int (*dispatch)(struct event_base *base, struct timeval *tv);
};

extern const struct evb_backend evb_epollops, evb_pollops, evb_selectops, evb_uringops;

/* The events waiting on one fd and the union of what they wait for. */
struct evb_fd {
	struct event *head;
	unsigned nread, nwrite, nclose, net;
	short mask;		/* what the backend was last told */
};

struct evb_queue {
	struct event *head;
	struct event **tail;
};

/* The events on one fd (evb_fd.head) or one signal (sig_head) are a list
 * through ev_io_next and ev_io_prev, which points at whatever points at the
 * event, so that an event leaves it in O(1). A new event goes to the head,
 * as in libevent: the newest event on an fd runs first. */
static inline void evb_io_push(struct event **head, struct event *ev)
{
	ev->ev_io_next = *head;
	if (*head)
		(*head)->ev_io_prev = &ev->ev_io_next;
	*head = ev;
	ev->ev_io_prev = head;
}

static inline void evb_io_unlink(struct event *ev)
{
	if (ev->ev_io_next)
		ev->ev_io_next->ev_io_prev = ev->ev_io_prev;
	*ev->ev_io_prev = ev->ev_io_next;
}

/* A binary min-heap of events ordered by ev_timeout (timerheap.c). */
struct evb_heap {
	struct event **a;
	unsigned n, cap;
};

struct evb_once;

struct event_config {
	char **avoid;
	int navoid;
	int features;
	int flags;
	int num_cpus_hint;		/* kept, unused (no IOCP here) */
	struct timeval max_dispatch;	/* tv_sec -1: no time bound */
	int max_callbacks;		/* INT_MAX: no count bound */
	int limit_after_prio;		/* the bounds apply from this priority on */
};

/* Common timeouts, encoded as libevent encodes them: a handle is a timeval
 * whose tv_usec holds the microseconds in its low 20 bits, the queue's index
 * in the next 8 and a magic number in the top 4, so that event_add() tells a
 * handle from an ordinary duration by looking at it. An event added with one
 * waits in that duration's FIFO (add is O(1): deadlines only grow), and one
 * internal timer in the heap stands for the whole queue, set to its head. */
#define EVB_COMMON_MAGIC	0x50000000
#define EVB_COMMON_MASK		0xf0000000
#define EVB_COMMON_IDX_MASK	0x0ff00000
#define EVB_COMMON_IDX_SHIFT	20
#define EVB_USEC_MASK		0x000fffff
#define EVB_MAX_COMMON_TIMEOUTS 256

/* An ev_flags bit of evbase's own, above libevent's EVLIST_* (0xff): the
 * event is persistent with a period (ev_io_timeout), so the loop must
 * reschedule it before its callback. One bit to test on the hot path
 * instead of a timeval. */
#define EVB_PERIODIC 0x100

struct evb_common {
	struct timeval duration;	/* the handle given to programs */
	struct event *head, *tail;	/* by deadline, earliest first */
	struct event timer;		/* internal; fires at head's deadline */
};

struct event_base {
	const struct evb_backend *be;
	void *bd;			/* the backend's state */
	int flags;			/* EVENT_BASE_FLAG_* */

	struct evb_fd *fds;		/* indexed by fd */
	int nfds;

	struct evb_queue *queues;	/* one per priority */
	int nqueues;
	int running_pri;		/* queue being run, -1 outside */

	struct evb_heap timers;

	/* libevent's counters: event_count is one per place a non-internal
	 * event is in (fd/signal, heap, active queue); nactive counts every
	 * active event, internal ones too. */
	int event_count, event_count_max;
	int nactive, nactive_max;

	struct event *current;		/* whose callback runs */
	int running_loop;
	int got_exit, got_break, got_continue;

	struct timeval tv_cache;	/* monotonic; tv_sec == 0: not cached */
	struct timeval tv_clock_diff;	/* wall clock minus monotonic */
	time_t clock_diff_at;

	/* Signals: the events per signal number, the handlers they replaced,
	 * and the self-pipe the handler writes the signal number into. */
	struct event *sig_head[NSIG];
	struct sigaction *sig_old;	/* NSIG entries, allocated on first use */
	int nsignals;
	int sig_pipe[2];
	struct event sig_ev;
	short sig_ncalls;		/* deliveries left for the running signal event */

	/* event_config_set_max_dispatch_interval(): how many callbacks of
	 * priority >= limit_after_prio, or how long, before polling again. */
	int max_callbacks;
	struct timeval max_dispatch;
	int limit_after_prio;

	/* Threads (thread.c): the lock, NULL unless locking was on when the
	 * base was made; the condition event_del() waits on while the
	 * event's callback runs in the loop, and a count of callbacks begun
	 * that tells it the one it waits for from any later one; the loop's
	 * thread; the eventfd that wakes the loop, and whether a wake-up is
	 * already on its way. */
	void *lock;
	void *cond;
	int cond_waiters;
	unsigned long callbacks_begun;	/* by a locked base's loop */
	unsigned long owner;
	int notify_fd;
	int notify_pending;
	struct event notify_ev;

	struct evb_once *once;		/* event_base_once() events */
	struct evb_common *common[EVB_MAX_COMMON_TIMEOUTS];
	int ncommon;
};

/* Memory, through the program's functions if it set some (mm.c). */
void *evb_malloc(size_t n);
void *evb_calloc(size_t count, size_t size);
void *evb_realloc(void *p, size_t n);
void evb_free(void *p);
char *evb_strdup(const char *s);

/* Threads (thread.c). A base has a lock only if lock callbacks were set
 * before it was made; EVB_LOCK/EVB_UNLOCK cost one test otherwise. */
extern struct evthread_lock_callbacks evthread_lock_fns_;
extern struct evthread_condition_callbacks evb_cond_fns;
extern unsigned long (*evb_id_fn)(void);
static inline unsigned long evb_thread_id(void)
{
	return evb_id_fn ? evb_id_fn() : 1;
}
#define EVB_LOCK(base) do {						\
	if ((base)->lock)						\
		evthread_lock_fns_.lock(0, (base)->lock);			\
} while (0)
#define EVB_UNLOCK(base) do {						\
	if ((base)->lock)						\
		evthread_lock_fns_.unlock(0, (base)->lock);			\
} while (0)
int evb_thread_base_init(struct event_base *base);
void evb_thread_base_free(struct event_base *base);
int evb_notify_init(struct event_base *base);
void evb_notify(struct event_base *base);
void evb_cond_wait(struct event_base *base);
/* After a change to base, with its lock held: a loop running in another
 * thread may be asleep in its backend and must look again. */
static inline void evb_wake(struct event_base *base)
{
	if (base->lock && base->running_loop && base->owner != evb_thread_id())
		evb_notify(base);
}

/* Settings and messages (log.c). */
extern int evb_debug_mode, evb_bases_created, evb_debug_logging;
void evb_log(int severity, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void evb_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define evb_warnx(...) evb_log(EVENT_LOG_WARN, __VA_ARGS__)
#define evb_debug(...) do { if (evb_debug_logging) evb_log(EVENT_LOG_DEBUG, __VA_ARGS__); } while (0)

/* What a backend's dispatch returns when its waiting call failed (errno
 * set): 0 when a signal interrupted it, so that the loop goes round and
 * runs the signal's events; otherwise -1, with a warning naming call. */
static inline int evb_wait_failed(const char *call)
{
	if (errno == EINTR)
		return 0;
	evb_warnx("%s: %s", call, strerror(errno));
	return -1;
}

/* The event_init() base (compat.c). */
extern struct event_base *evb_current_base;

/* Pick and initialize base->be from cfg (may be NULL); base->be stays NULL
 * when no backend fits (config.c). */
void evb_backend_init(struct event_base *base, const struct event_config *cfg, int use_env);

/* Give base a fresh state of backend be: allocated zeroed, then be->init.
 * 0, or -1 with nothing kept (base->bd NULL). */
int evb_backend_start(struct event_base *base, const struct evb_backend *be);

/* Release base's backend state (be->free, then its memory); nothing when
 * there is none. */
void evb_backend_stop(struct event_base *base);

/* Core services for the backends and signal.c (event.c). evb_activate also
 * sets a signal event's call count. */
void evb_activate(struct event_base *base, struct event *ev, short res, short ncalls);

/* The hot path, inline so that a backend's dispatch loop turns a ready fd
 * into queued callbacks without a call (event.c owns everything else about
 * the active queues). libevent's counters: event_count is one per place a
 * non-internal event is in (fd/signal, heap, active queue); nactive counts
 * every active event, internal ones too. */
static inline void evb_count_in(struct event_base *base, const struct event *ev)
{
	if (!(ev->ev_flags & EVLIST_INTERNAL) &&
	    ++base->event_count > base->event_count_max)
		base->event_count_max = base->event_count;
}

static inline void evb_active_insert(struct event_base *base, struct event *ev)
{
	int pri = ev->ev_pri < base->nqueues ? ev->ev_pri : base->nqueues - 1;
	struct evb_queue *q = &base->queues[pri];
	short flags = ev->ev_flags;

	ev->ev_flags = flags | EVLIST_ACTIVE;
	if (!(flags & EVLIST_INTERNAL) && ++base->event_count > base->event_count_max)
		base->event_count_max = base->event_count;
	if (++base->nactive > base->nactive_max)
		base->nactive_max = base->nactive;
	ev->ev_active_next = NULL;
	ev->ev_active_prev = q->tail;
	*q->tail = ev;
	q->tail = &ev->ev_active_next;
}

/* Make ev active with res, or add res to an activation already queued
 * (activations merge). */
static inline void evb_activate_io(struct event_base *base, struct event *ev, short res)
{
	if (ev->ev_flags & EVLIST_ACTIVE) {
		ev->ev_res |= res;
		return;
	}
	ev->ev_res = res;
	/* A more urgent event became active: finish this callback, then let
	 * the next round run the more urgent queue first. */
	if (ev->ev_pri < base->running_pri)
		base->got_continue = 1;
	evb_active_insert(base, ev);
}

/* The highest descriptor evbase maps, libevent's bound too: the tables
 * indexed by fd (the core's map, poll's index, select's sets, io_uring's
 * table) grow by doubling an int, which past this would overflow. No open
 * descriptor comes near it (the kernel caps them at fs.nr_open, 1,048,576
 * unless raised), so event_add() refuses anything above it with -1. */
#define EVB_MAX_FD (INT_MAX / 2)

/* How many slots a table indexed by descriptor, now have slots long (0:
 * not yet allocated), needs to hold fd: have doubled (from 64) until it
 * exceeds fd, so growth is amortized. -1 when fd is out of range or the
 * table's size in bytes (elem each) would not fit a size_t. */
static inline int evb_fd_slots(int have, int fd, size_t elem)
{
	long long n = have > 0 ? have : 64;

	if (fd < 0 || fd > EVB_MAX_FD)
		return -1;
	while (n <= fd)
		n *= 2;
	if ((unsigned long long)n > SIZE_MAX / elem)
		return -1;
	return (int)n;
}

/* Grows tab, a table indexed by descriptor of *have slots of elem bytes
 * (NULL and 0 before the first), to hold fd, as far as evb_fd_slots() says,
 * the new slots zeroed. Returns the table, its new length in *have; or NULL,
 * with tab and *have as they were, when fd is out of range or memory ran
 * out (mm.c). */
void *evb_fd_grow(void *tab, int *have, int fd, size_t elem);

/* The events a readiness report in poll(2)'s bits wakes (io_uring's poll
 * completions carry them, and epoll's EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP
 * and EPOLLRDHUP are the same bits): an error, or a hang-up that is not
 * just the peer's half close, wakes readers and writers alike, since the
 * next read or write is what tells them; a half close is EV_CLOSED. */
static inline short evb_poll_res(unsigned what)
{
	short res = 0;

	if ((what & POLLERR) || ((what & POLLHUP) && !(what & POLLRDHUP)))
		return EV_READ | EV_WRITE;
	if (what & POLLIN) res |= EV_READ;
	if (what & POLLOUT) res |= EV_WRITE;
	if (what & POLLRDHUP) res |= EV_CLOSED;
	return res;
}

/* Called by the backends for every ready fd; res may carry EV_ET, which is
 * then passed on to the events that asked for it. */
static inline void evb_io_active(struct event_base *base, int fd, short res)
{
	if ((unsigned)fd >= (unsigned)base->nfds)
		return;
	for (struct event *ev = base->fds[fd].head; ev; ev = ev->ev_io_next) {
		short r = ev->ev_events & res;
		if (r & (EV_READ | EV_WRITE | EV_CLOSED))
			evb_activate_io(base, ev, r);
	}
}

/* Signals (signal.c). */
int evb_sig_add(struct event_base *base, struct event *ev);
void evb_sig_del(struct event_base *base, struct event *ev);
void evb_sig_own(struct event_base *base);
int evb_sig_reinit(struct event_base *base);
void evb_sig_free(struct event_base *base);

/* Timer heap (timerheap.c). */
int evb_heap_reserve(struct evb_heap *h, unsigned n);
void evb_heap_push(struct evb_heap *h, struct event *ev);
void evb_heap_erase(struct evb_heap *h, struct event *ev);
static inline struct event *evb_heap_top(const struct evb_heap *h)
{
	return h->n ? h->a[0] : NULL;
}

/* Whether tv is one of base's common-timeout handles (or a deadline
 * computed from one). */
static inline int evb_is_common(const struct event_base *base, const struct timeval *tv)
{
	return (tv->tv_usec & EVB_COMMON_MASK) == EVB_COMMON_MAGIC &&
	    ((tv->tv_usec & EVB_COMMON_IDX_MASK) >> EVB_COMMON_IDX_SHIFT) < base->ncommon;
}

/* Round a timeval up to whole milliseconds for poll() and epoll_wait(), so
 * that a wait never ends just before a deadline and spins. */
static inline int evb_tv_to_ms(const struct timeval *tv)
{
	long long ms = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
	return ms > 35 * 60 * 1000 ? 35 * 60 * 1000 : (int)ms;
}

#endif /* EVB_INTERNAL_H */
