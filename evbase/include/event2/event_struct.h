/*
 * event2/event_struct.h — the layout of struct event, so that a program can
 * embed one (in a connection struct, on the stack) and set it up with
 * event_assign() instead of event_new().
 *
 * The fields are evbase's, not libevent's: source that only uses the
 * functions of event.h compiles unchanged, but nothing here is meant to be
 * touched directly. A zero-filled struct event reads as "not initialized"
 * (event_initialized() returns 0), because EVLIST_INIT is clear.
 */
#ifndef EVENT2_EVENT_STRUCT_H_INCLUDED_
#define EVENT2_EVENT_STRUCT_H_INCLUDED_

#include <event2/event-config.h>
#include <sys/types.h>
#include <sys/time.h>
#include <event2/util.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where an event is: the bits of ev_flags, with libevent's values. */
#define EVLIST_TIMEOUT	    0x01	/* in the timer heap */
#define EVLIST_INSERTED	    0x02	/* registered for its fd or signal */
#define EVLIST_SIGNAL	    0x04	/* unused; kept for old code that tests it */
#define EVLIST_ACTIVE	    0x08	/* in an active queue, callback due */
#define EVLIST_INTERNAL	    0x10	/* the base's own (signal pipe, ...) */
#define EVLIST_ACTIVE_LATER 0x20	/* unused by evbase */
#define EVLIST_FINALIZING   0x40	/* unused by evbase */
#define EVLIST_INIT	    0x80	/* set by event_assign() */
#define EVLIST_ALL          0xff

struct event_base;

struct event {
	/* The active queue of this event's priority (a tail queue). */
	struct event *ev_active_next;
	struct event **ev_active_prev;
	/* The other events on the same fd, or on the same signal. */
	struct event *ev_io_next;
	struct event **ev_io_prev;
	/* Index in the base's timer heap, or -1. */
	int ev_heap_idx;
	/* The queue of a common timeout, instead of the heap (event.c). */
	struct event *ev_common_next, *ev_common_prev;

	evutil_socket_t ev_fd;		/* descriptor, or signal number */
	struct event_base *ev_base;
	short ev_events;		/* what was asked for: EV_READ | ... */
	short ev_res;			/* what happened: passed to the callback */
	short ev_flags;			/* EVLIST_* */
	ev_uint8_t ev_pri;		/* 0 is the most urgent */

	/* Signal events: deliveries still to report in this round, and a
	 * pointer that event_del() uses to stop the round early. */
	short ev_ncalls;
	short *ev_pncalls;

	/* Absolute deadline, monotonic clock; for a common timeout tv_usec
	 * also carries the magic and the queue's index, as in libevent. */
	struct timeval ev_timeout;
	struct timeval ev_io_timeout;	/* a persistent event's period */

	void (*ev_callback)(evutil_socket_t, short, void *);
	void *ev_arg;
};

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_EVENT_STRUCT_H_INCLUDED_ */
