/*
 * inspect.c — looking into a base: event counts, event_base_foreach_event()
 * and event_base_dump_events(). Nothing here changes any state.
 */
#include "evb-internal.h"

#include <stdio.h>

int event_base_get_num_events(struct event_base *base, unsigned int flags)
{
	int n = 0;

	EVB_LOCK(base);
	if (flags & EVENT_BASE_COUNT_ACTIVE)
		n += base->nactive;
	if (flags & EVENT_BASE_COUNT_ADDED)
		n += base->event_count;
	EVB_UNLOCK(base);
	return n;
}

int event_base_get_max_events(struct event_base *base, unsigned int flags, int clear)
{
	int n = 0;

	EVB_LOCK(base);
	if (flags & EVENT_BASE_COUNT_ACTIVE) {
		n += base->nactive_max;
		if (clear)
			base->nactive_max = 0;
	}
	if (flags & EVENT_BASE_COUNT_ADDED) {
		n += base->event_count_max;
		if (clear)
			base->event_count_max = 0;
	}
	EVB_UNLOCK(base);
	return n;
}

/* Every added or active event once: events on fds and signals, then pure
 * timers in the heap, then in the common timeouts' queues, then events that
 * are only active, in libevent's order. The base's
 * own events (the signal pipe) are left out of event_base_foreach_event() but
 * shown by the dump, as libevent's dump shows its own. */
static int walk(struct event_base *base, event_base_foreach_event_cb fn,
    void *arg, int internal)
{
	short skip = internal ? 0 : EVLIST_INTERNAL;
	struct event *ev;
	int r;

	for (int fd = 0; fd < base->nfds; fd++)
		for (ev = base->fds[fd].head; ev; ev = ev->ev_io_next)
			if (!(ev->ev_flags & skip) && (r = fn(base, ev, arg)))
				return r;
	for (int sig = 0; sig < NSIG; sig++)
		for (ev = base->sig_head[sig]; ev; ev = ev->ev_io_next)
			if ((r = fn(base, ev, arg)))
				return r;
	for (unsigned i = 0; i < base->timers.n; i++) {
		ev = base->timers.a[i];
		if (!(ev->ev_flags & (EVLIST_INSERTED | skip)) &&
		    (r = fn(base, ev, arg)))
			return r;
	}
	for (int i = 0; i < base->ncommon; i++)
		for (ev = base->common[i]->head; ev; ev = ev->ev_common_next)
			if (!(ev->ev_flags & (EVLIST_INSERTED | skip)) &&
			    (r = fn(base, ev, arg)))
				return r;
	for (int i = 0; i < base->nqueues; i++)
		for (ev = base->queues[i].head; ev; ev = ev->ev_active_next)
			if (!(ev->ev_flags & (EVLIST_INSERTED | EVLIST_TIMEOUT | skip)) &&
			    (r = fn(base, ev, arg)))
				return r;
	return 0;
}

int event_base_foreach_event(struct event_base *base,
    event_base_foreach_event_cb fn, void *arg)
{
	int r;

	if (!base || !fn)
		return -1;
	EVB_LOCK(base);
	r = walk(base, fn, arg, 0);
	EVB_UNLOCK(base);
	return r;
}

/* The dump's lines are libevent 2.1.12's to the byte, so that tools written
 * for its output (libevent's own check-dumpevents.py) read evbase's too: the
 * kind is padded to three characters ("fd " or "sig") before a space and the
 * number, hence "[fd  3]". */
static const char *gloss(const struct event *ev)
{
	return (ev->ev_events & EV_SIGNAL) ? "sig" : "fd ";
}

static int dump_one(const struct event_base *base, const struct event *ev, void *arg)
{
	FILE *out = arg;
	short e = ev->ev_events;

	if (!(ev->ev_flags & (EVLIST_INSERTED | EVLIST_TIMEOUT)))
		return 0;
	fprintf(out, "  %p [%s %d]%s%s%s%s%s%s%s", (void *)ev, gloss(ev), (int)ev->ev_fd,
	    (e & EV_READ) ? " Read" : "", (e & EV_WRITE) ? " Write" : "",
	    (e & EV_CLOSED) ? " EOF" : "", (e & EV_SIGNAL) ? " Signal" : "",
	    (e & EV_PERSIST) ? " Persist" : "", (e & EV_ET) ? " ET" : "",
	    (ev->ev_flags & EVLIST_INTERNAL) ? " Internal" : "");
	if (ev->ev_flags & EVLIST_TIMEOUT) {
		struct timeval tv = ev->ev_timeout;
		tv.tv_usec &= EVB_USEC_MASK;	/* a common timeout's marks */
		evutil_timeradd(&base->tv_clock_diff, &tv, &tv);
		fprintf(out, " Timeout=%ld.%06d", (long)tv.tv_sec, (int)tv.tv_usec);
	}
	fputc('\n', out);
	return 0;
}

static int dump_active(const struct event_base *base, const struct event *ev, void *arg)
{
	short r = ev->ev_res;

	(void)base;
	if (ev->ev_flags & EVLIST_ACTIVE)
		fprintf(arg, "  %p [%s %d, priority=%d]%s%s%s%s%s active%s\n",
		    (void *)ev, gloss(ev), (int)ev->ev_fd, ev->ev_pri,
		    (r & EV_READ) ? " Read" : "", (r & EV_WRITE) ? " Write" : "",
		    (r & EV_CLOSED) ? " EOF" : "", (r & EV_SIGNAL) ? " Signal" : "",
		    (r & EV_TIMEOUT) ? " Timeout" : "",
		    (ev->ev_flags & EVLIST_INTERNAL) ? " [Internal]" : "");
	return 0;
}

void event_base_dump_events(struct event_base *base, FILE *out)
{
	EVB_LOCK(base);
	fprintf(out, "Inserted events:\n");
	walk(base, dump_one, out, 1);
	fprintf(out, "Active events:\n");
	walk(base, dump_active, out, 1);
	EVB_UNLOCK(base);
}
