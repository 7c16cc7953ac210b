/*
 * compat.c — the libevent 1.x API: event_init() makes a base the current
 * one, and these functions work on it.
 */
#include "evb-internal.h"

struct event_base *evb_current_base;

struct event_base *event_init(void)
{
	struct event_base *base = event_base_new();
	if (base)
		evb_current_base = base;
	return base;
}

void event_set(struct event *ev, evutil_socket_t fd, short events,
    void (*cb)(evutil_socket_t, short, void *), void *arg)
{
	event_assign(ev, evb_current_base, fd, events, cb, arg);
}

int event_base_set(struct event_base *base, struct event *ev)
{
	/* Only an event that is set up and neither pending nor active moves. */
	if (ev->ev_flags != EVLIST_INIT)
		return -1;
	ev->ev_base = base;
	ev->ev_pri = (ev_uint8_t)(base->nqueues / 2);
	return 0;
}

int event_dispatch(void) { return event_loop(0); }
int event_loop(int flags) { return event_base_loop(evb_current_base, flags); }
int event_loopexit(const struct timeval *tv) { return event_base_loopexit(evb_current_base, tv); }
int event_loopbreak(void) { return event_base_loopbreak(evb_current_base); }
const char *event_get_method(void) { return event_base_get_method(evb_current_base); }
int event_priority_init(int n) { return event_base_priority_init(evb_current_base, n); }

int event_once(evutil_socket_t fd, short events,
    void (*cb)(evutil_socket_t, short, void *), void *arg, const struct timeval *tv)
{
	return event_base_once(evb_current_base, fd, events, cb, arg, tv);
}
