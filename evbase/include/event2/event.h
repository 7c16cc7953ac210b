/*
 * event2/event.h — evbase, the project's own event_base.
 *
 * The core API of libevent 2.1: the same names, types, constants and return
 * values, so a program written for libevent's core compiles unchanged with
 * -Ievbase/include and links against libevbase.a instead.
 *
 * The model in one paragraph. An event is an fd (or a signal number, or -1)
 * plus what to wait for (EV_READ, EV_WRITE, EV_CLOSED, EV_SIGNAL), an
 * optional timeout, a callback and its argument. event_add() makes it
 * *pending*; when what it waits for happens (or its timeout passes) it
 * becomes *active*, and the loop runs its callback. A one-shot event is no
 * longer pending when its callback runs; an EV_PERSIST event stays pending
 * until event_del(). Active events wait in one queue per priority; each loop
 * iteration runs only the most urgent non-empty queue. Callbacks may add,
 * delete, activate and free any event, their own included.
 *
 * Errors: functions that return int return 0 on success and -1 on failure;
 * messages go to the log callback (stderr by default). Nothing here exits,
 * except through the fatal callback when debug mode catches a misuse.
 */
#ifndef EVENT2_EVENT_H_INCLUDED_
#define EVENT2_EVENT_H_INCLUDED_

#include <event2/event-config.h>
#include <sys/types.h>
#include <sys/time.h>
#include <stdio.h>
#include <event2/util.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct event;
struct event_config;

/* ---- library setup ------------------------------------------------------ */

#define EVENT_LOG_DEBUG 0
#define EVENT_LOG_MSG   1
#define EVENT_LOG_WARN  2
#define EVENT_LOG_ERR   3
#define _EVENT_LOG_DEBUG EVENT_LOG_DEBUG
#define _EVENT_LOG_MSG EVENT_LOG_MSG
#define _EVENT_LOG_WARN EVENT_LOG_WARN
#define _EVENT_LOG_ERR EVENT_LOG_ERR

typedef void (*event_log_cb)(int severity, const char *msg);
/* Send evbase's messages to cb instead of stderr (NULL restores stderr).
 * cb must not call back into evbase. */
void event_set_log_callback(event_log_cb cb);

typedef void (*event_fatal_cb)(int err);
/* Call cb instead of exit()/abort() when evbase cannot go on (debug-mode
 * misuse). If cb returns, the process exits anyway. */
void event_set_fatal_callback(event_fatal_cb cb);

#define EVENT_DBG_ALL 0xffffffffu
#define EVENT_DBG_NONE 0
/* Turn EVENT_LOG_DEBUG messages on (EVENT_DBG_ALL) or off (EVENT_DBG_NONE). */
void event_enable_debug_logging(ev_uint32_t which);
/* Check every event call for misuse (an event used before event_assign(), an
 * event re-assigned while pending) and die through the fatal callback. Must
 * be called before the first event_base is created. */
void event_enable_debug_mode(void);
/* In debug mode, forget that ev was assigned (before freeing its memory). */
void event_debug_unassign(struct event *ev);

/* "2.1.12-evbase": the libevent API version followed, with evbase's tag. */
const char *event_get_version(void);
/* 0x02010c00, as libevent 2.1.12. */
ev_uint32_t event_get_version_number(void);
#define LIBEVENT_VERSION EVENT__VERSION
#define LIBEVENT_VERSION_NUMBER EVENT__NUMERIC_VERSION
/* Free what the library holds globally. Bases must already be freed. */
void libevent_global_shutdown(void);

/* Route every allocation evbase makes (bases, events from event_new, the
 * backends' arrays, configs) through these instead of malloc, realloc and
 * free; calloc and strdup go through malloc_fn. Call before anything is
 * allocated; all NULL restores the C library's. realloc_fn may be given
 * NULL as its pointer. */
void event_set_mem_functions(void *(*malloc_fn)(size_t sz),
    void *(*realloc_fn)(void *ptr, size_t sz), void (*free_fn)(void *ptr));
#define EVENT_SET_MEM_FUNCTIONS_IMPLEMENTED

/* ---- configuration ------------------------------------------------------ */

/* Features a backend may have; event_config_require_features() filters on them. */
enum event_method_feature {
	EV_FEATURE_ET = 0x01,		/* edge-triggered events (epoll) */
	EV_FEATURE_O1 = 0x02,		/* O(1) add, delete and dispatch (epoll) */
	EV_FEATURE_FDS = 0x04,		/* any fd, not only sockets (select, poll) */
	EV_FEATURE_EARLY_CLOSE = 0x08	/* EV_CLOSED without reading (epoll, poll) */
};

enum event_base_config_flag {
	EVENT_BASE_FLAG_NOLOCK = 0x01,		/* no lock even with threads on */
	EVENT_BASE_FLAG_IGNORE_ENV = 0x02,	/* ignore EVENT_NO* / EVENT_SHOW_METHOD */
	EVENT_BASE_FLAG_STARTUP_IOCP = 0x04,	/* accepted; Windows only */
	EVENT_BASE_FLAG_NO_CACHE_TIME = 0x08,	/* read the clock on every request */
	EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST = 0x10, /* accepted, no effect */
	EVENT_BASE_FLAG_PRECISE_TIMER = 0x20	/* accepted; the clock is always precise */
};

/* A new, empty configuration, or NULL when out of memory. */
struct event_config *event_config_new(void);
void event_config_free(struct event_config *cfg);
/* Never use the backend called method ("epoll", "poll", "select"). 0 or -1. */
int event_config_avoid_method(struct event_config *cfg, const char *method);
/* Only use a backend with every EV_FEATURE_* bit in feature (replaces any
 * earlier requirement). 0 or -1. */
int event_config_require_features(struct event_config *cfg, int feature);
/* Add an EVENT_BASE_FLAG_* to cfg. 0 or -1. */
int event_config_set_flag(struct event_config *cfg, int flag);
/* A hint of how many CPUs the program means to use: accepted and kept, but
 * only Windows' IOCP backend reads it in libevent, and evbase has none. 0. */
int event_config_set_num_cpus_hint(struct event_config *cfg, int cpus);
/* Bound how long a loop runs the callbacks of priority min_priority and
 * lower (larger numbers) before it polls again for more urgent events:
 * after max_callbacks callbacks (-1: no bound), or once max_interval has
 * passed (NULL: no bound), checked after each callback. Priorities below
 * min_priority (more urgent) are never cut short. 0 or -1. */
int event_config_set_max_dispatch_interval(struct event_config *cfg,
    const struct timeval *max_interval, int max_callbacks, int min_priority);

/* The backends compiled in, most preferred first, NULL-terminated:
 * {"epoll", "poll", "select", NULL}. The array is static. */
const char **event_get_supported_methods(void);

/* ---- bases -------------------------------------------------------------- */

/* A base with the best backend the environment allows, or NULL. */
struct event_base *event_base_new(void);
/* A base honouring cfg (NULL means defaults), or NULL if no backend fits.
 * EVENT_NOEPOLL, EVENT_NOPOLL, EVENT_NOSELECT in the environment avoid a
 * backend, and EVENT_SHOW_METHOD logs the choice, unless IGNORE_ENV is set. */
struct event_base *event_base_new_with_config(const struct event_config *cfg);
/* Free base (NULL: the event_init() base). Events still added are deleted,
 * not freed; their memory remains the caller's. Fds are never closed. */
void event_base_free(struct event_base *base);
/* As event_base_free(); evbase has no finalizers. */
void event_base_free_nofinalize(struct event_base *base);
/* After fork(), in the child: give base its own backend and signal pipe and
 * re-register every event. 0, or -1 if some event could not be re-added. */
int event_reinit(struct event_base *base);
/* The backend's name: "epoll", "poll" or "select". */
const char *event_base_get_method(const struct event_base *base);
/* The backend's EV_FEATURE_* bits. */
int event_base_get_features(const struct event_base *base);

/* Use npriorities active queues (1 by default, at most EVENT_MAX_PRIORITIES - 1).
 * New events get priority npriorities / 2. -1 while any event is active. */
int event_base_priority_init(struct event_base *base, int npriorities);
int event_base_get_npriorities(struct event_base *base);
#define EVENT_MAX_PRIORITIES 256

/* A timeval to pass to event_add() for a duration used by many events.
 * evbase keeps one heap for every timeout, so this only hands back a
 * stable copy of duration (owned by base); NULL on error. */
const struct timeval *event_base_init_common_timeout(struct event_base *base,
    const struct timeval *duration);

/* Write every added and every active event to output, for debugging. */
void event_base_dump_events(struct event_base *base, FILE *output);

typedef int (*event_base_foreach_event_cb)(const struct event_base *,
    const struct event *, void *);
/* Call fn on each added or active event (not the base's own) until fn
 * returns non-zero; returns that value, or 0. fn must not add, delete or
 * free events. */
int event_base_foreach_event(struct event_base *base,
    event_base_foreach_event_cb fn, void *arg);

/* Wall-clock time as of the last poll while callbacks run (frozen inside a
 * callback), or now outside the loop or with NO_CACHE_TIME. 0 or -1. */
int event_base_gettimeofday_cached(struct event_base *base, struct timeval *tv);
/* Refresh the cached time from within a callback. 0, or -1 without a base. */
int event_base_update_cache_time(struct event_base *base);
/* The monotonic clock evbase schedules timeouts on. 0 or -1. */
int event_gettime_monotonic(struct event_base *base, struct timeval *tp);

/* The event whose callback is running, or NULL outside callbacks. */
struct event *event_base_get_running_event(struct event_base *base);

#define EVENT_BASE_COUNT_ACTIVE  1U
#define EVENT_BASE_COUNT_VIRTUAL 2U
#define EVENT_BASE_COUNT_ADDED   4U
/* How many events of the kinds in flags the base holds. As in libevent an
 * event counts once per place it is in (fd or signal, timer heap, active
 * queue), and ACTIVE includes the base's own events. */
int event_base_get_num_events(struct event_base *base, unsigned int flags);
/* The largest such count seen (since the last clear). */
int event_base_get_max_events(struct event_base *base, unsigned int flags, int clear);

/* ---- the loop ----------------------------------------------------------- */

#define EVLOOP_ONCE	0x01	/* return after the first round that ran callbacks */
#define EVLOOP_NONBLOCK	0x02	/* never wait: run what is ready, then return */
#define EVLOOP_NO_EXIT_ON_EMPTY 0x04	/* keep running with no events added */

/* Run the loop. 0 when stopped by loopexit/loopbreak or by ONCE/NONBLOCK,
 * 1 when no events were left, -1 on error (or if base is already looping). */
int event_base_loop(struct event_base *base, int flags);
/* event_base_loop(base, 0). */
int event_base_dispatch(struct event_base *base);
/* Stop the loop after tv (NULL: at once), once every callback already active
 * has run. 0 or -1. */
int event_base_loopexit(struct event_base *base, const struct timeval *tv);
/* Stop the loop as soon as the running callback returns. 0 or -1. */
int event_base_loopbreak(struct event_base *base);
/* Stop running callbacks of this round and poll again. 0 or -1. */
int event_base_loopcontinue(struct event_base *base);
/* Whether the last or current loop was ended by loopexit / loopbreak. */
int event_base_got_exit(struct event_base *base);
int event_base_got_break(struct event_base *base);

/* ---- events ------------------------------------------------------------- */

#define EV_TIMEOUT	0x01	/* the timeout passed (only ever in a callback's what) */
#define EV_READ		0x02
#define EV_WRITE	0x04
#define EV_SIGNAL	0x08	/* fd is a signal number */
#define EV_PERSIST	0x10	/* stay pending after the callback */
#define EV_ET		0x20	/* edge-triggered, if the backend can */
#define EV_FINALIZE	0x40	/* accepted, no effect */
#define EV_CLOSED	0x80	/* the peer closed (epoll's EPOLLRDHUP) */

typedef void (*event_callback_fn)(evutil_socket_t, short, void *);

/* Pass as arg to event_new()/event_assign() to make the event its own arg. */
void *event_self_cbarg(void);

/* A new event on base (events: EV_* bits; fd -1 for pure timers), not yet
 * pending; NULL on error (EV_SIGNAL mixed with I/O bits, no memory). */
struct event *event_new(struct event_base *base, evutil_socket_t fd,
    short events, event_callback_fn callback, void *callback_arg);
/* Set up caller-owned memory as an event, like event_new(). ev must not be
 * pending or active. 0 or -1. */
int event_assign(struct event *ev, struct event_base *base, evutil_socket_t fd,
    short events, event_callback_fn callback, void *callback_arg);
/* event_del() then free an event_new() event. Safe inside its own callback. */
void event_free(struct event *ev);
/* Make ev pending; with timeout, also time out after that long (from now).
 * Adding a pending event replaces its timeout; a NULL timeout keeps the one
 * already scheduled. 0 or -1. */
int event_add(struct event *ev, const struct timeval *timeout);
/* Cancel ev's timeout but leave it pending for I/O or its signal. 0 or -1. */
int event_remove_timer(struct event *ev);
/* Make ev neither pending nor active. Safe inside any callback. 0 or -1. */
int event_del(struct event *ev);
int event_del_noblock(struct event *ev);
int event_del_block(struct event *ev);
/* Make ev active as if res had happened (its callback gets res); ncalls is
 * the repeat count for signal events. Pending state is unchanged. */
void event_active(struct event *ev, int res, short ncalls);
/* Make active the pending events on fd whose kinds are in events (EV_READ,
 * EV_WRITE, EV_CLOSED), each with those of its kinds, as if the backend had
 * reported them; with EV_TIMEOUT, also the events on fd waiting for a
 * timeout, with EV_TIMEOUT. Events not added stay as they are. */
void event_base_active_by_fd(struct event_base *base, evutil_socket_t fd, short events);
/* Make active, once each with EV_SIGNAL, the pending events of signal sig,
 * as one delivery would; no signal is raised. */
void event_base_active_by_signal(struct event_base *base, int sig);
/* The bits of events (EV_TIMEOUT, EV_READ, EV_WRITE, EV_SIGNAL, EV_CLOSED)
 * ev is pending or active for; with EV_TIMEOUT and tv, tv gets the deadline
 * as wall-clock time. */
int event_pending(const struct event *ev, short events, struct timeval *tv);
/* Non-zero once event_assign()/event_new() has set ev up. */
int event_initialized(const struct event *ev);
/* Set ev's priority (0 is most urgent); -1 if ev is active or pri is out
 * of range. */
int event_priority_set(struct event *ev, int priority);

/* Run callback once, for fd's events (EV_READ/EV_WRITE) or for EV_TIMEOUT
 * after tv (NULL: in this round). The base owns and frees the event.
 * 0, or -1 (EV_SIGNAL and EV_PERSIST are refused). */
int event_base_once(struct event_base *base, evutil_socket_t fd, short events,
    event_callback_fn callback, void *arg, const struct timeval *timeout);

/* What an event was set up with. */
evutil_socket_t event_get_fd(const struct event *ev);
struct event_base *event_get_base(const struct event *ev);
short event_get_events(const struct event *ev);
event_callback_fn event_get_callback(const struct event *ev);
void *event_get_callback_arg(const struct event *ev);
int event_get_priority(const struct event *ev);
/* All of the above at once; any out-pointer may be NULL. */
void event_get_assignment(const struct event *event,
    struct event_base **base_out, evutil_socket_t *fd_out, short *events_out,
    event_callback_fn *callback_out, void **arg_out);
/* sizeof(struct event) of the running library. */
size_t event_get_struct_event_size(void);
#define event_get_signal(ev) ((int)event_get_fd(ev))

/* One-shot timers. */
#define evtimer_assign(ev, b, cb, arg) \
	event_assign((ev), (b), -1, 0, (cb), (arg))
#define evtimer_new(b, cb, arg)		event_new((b), -1, 0, (cb), (arg))
#define evtimer_add(ev, tv)		event_add((ev), (tv))
#define evtimer_del(ev)			event_del(ev)
#define evtimer_pending(ev, tv)		event_pending((ev), EV_TIMEOUT, (tv))
#define evtimer_initialized(ev)		event_initialized(ev)

/* Signal events (persistent). */
#define evsignal_add(ev, tv)		event_add((ev), (tv))
#define evsignal_assign(ev, b, x, cb, arg) \
	event_assign((ev), (b), (x), EV_SIGNAL|EV_PERSIST, cb, (arg))
#define evsignal_new(b, x, cb, arg) \
	event_new((b), (x), EV_SIGNAL|EV_PERSIST, (cb), (arg))
#define evsignal_del(ev)		event_del(ev)
#define evsignal_pending(ev, tv)	event_pending((ev), EV_SIGNAL, (tv))
#define evsignal_initialized(ev)	event_initialized(ev)

/* Events triggered only by the program. */
#define evuser_new(b, cb, arg)		event_new((b), -1, 0, (cb), (arg))
#define evuser_del(ev)			event_del(ev)
#define evuser_pending(ev, tv)		event_pending((ev), 0, (tv))
#define evuser_initialized(ev)		event_initialized(ev)
#define evuser_trigger(ev)		event_active((ev), 0, 0)

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_EVENT_H_INCLUDED_ */
