/*
 * rot13_libevent.c — one thread, an event library's loop.
 *
 * The same single-threaded design as the poll and epoll servers, written
 * against libevent's low-level API: the library picks the best mechanism the
 * system has (epoll here; --backend select|poll|epoll, and io_uring when built
 * against evbase, forces one) and calls
 * back when a descriptor is ready. Only the core API is used (event_new,
 * event_add, event_del, the base loop) and no bufferevents, so that this file
 * also builds unchanged against evbase, the project's own event_base, with
 * -Ievbase/include (the build defines SRV_DESIGN as "evbase" then).
 *
 * Each connection has two persistent events, one for reading and one for
 * writing, added and deleted as the connection's wants change; the library
 * turns that into epoll_ctl() calls or array updates. What this costs over
 * the hand-written loops is the library's bookkeeping per callback: that
 * difference is what evbench measures.
 *
 * libevent's select backend, as Debian builds it, aborts the process in
 * glibc's FD_SET check when it is given a descriptor >= FD_SETSIZE, so with
 * that backend such a connection is closed at once and counted as
 * fd_setsize_refused, as the select server does. evbase's select backend
 * grows its sets and needs no such guard. --idle-timeout is a timer that
 * sweeps the connections (srv_idle_sweep) four times a second.
 */
#include "srv.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#ifndef SRV_DESIGN
#define SRV_DESIGN "libevent"
#endif

struct events {
	struct event *rd, *wr;
};

static struct event_base *base;
static bool fdset_limited; /* the backend cannot watch descriptors >= FD_SETSIZE */

static void release(struct srv_conn *c)
{
	struct events *e = c->user;

	event_free(e->rd);
	event_free(e->wr);
	free(e);
}

/* Add or delete the two events to match what the connection waits for now. */
static void watch(struct srv_conn *c, int want)
{
	struct events *e = c->user;
	unsigned changed = c->watch ^ (unsigned)want;

	if (want == SRV_CLOSE) {
		release(c);
		srv_conn_free(c);
		return;
	}
	/* An event that cannot be added (the kernel out of memory for epoll's
	 * registrations) would leave the connection unwatched until the stop:
	 * count it and close the connection instead, as epoll-lt does. */
	if (((changed & SRV_READ) &&
	     ((want & SRV_READ) ? event_add(e->rd, NULL) : event_del(e->rd)) < 0) ||
	    ((changed & SRV_WRITE) &&
	     ((want & SRV_WRITE) ? event_add(e->wr, NULL) : event_del(e->wr)) < 0)) {
		SRV_COUNT(errors, 1);
		release(c);
		srv_conn_free(c);
		return;
	}
	c->watch = (unsigned)want;
}

static void drop(struct srv_conn *c)
{
	release(c);
	srv_conn_free(c);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	srv_idle_sweep(drop);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	watch(arg, srv_conn_readable(arg, false));
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	watch(arg, srv_conn_writable(arg));
}

/* A connection accepted by srv_accept_batch(): watch it, or close it. */
static void add_conn(int fd, void *arg)
{
	if (fdset_limited && fd >= FD_SETSIZE) {
		close(fd);
		SRV_COUNT(fd_setsize_refused, 1);
		return;
	}
	struct srv_conn *c = srv_conn_new(fd);
	struct events *e = c ? calloc(1, sizeof *e) : NULL;
	if (e != NULL) {
		e->rd = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, c);
		e->wr = event_new(base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
	}
	if (e == NULL || e->rd == NULL || e->wr == NULL || event_add(e->rd, NULL) < 0) {
		if (c == NULL)
			return;
		SRV_COUNT(errors, 1);
		if (e != NULL) {
			if (e->rd)
				event_free(e->rd);
			if (e->wr)
				event_free(e->wr);
			free(e);
		}
		srv_conn_free(c);
		return;
	}
	c->user = e;
	c->watch = SRV_READ;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	srv_accept_batch(lfd, add_conn, NULL);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(base);
}

/* --backend NAME: avoid every other method the library offers. */
static struct event_config *config(void)
{
	struct event_config *cfg = event_config_new();
	const char **methods = event_get_supported_methods();
	int found = 0;

	if (cfg == NULL || srv_opts.backend == NULL)
		return cfg;
	for (int i = 0; methods[i] != NULL; i++) {
		if (strcmp(methods[i], srv_opts.backend) == 0)
			found = 1;
		else
			event_config_avoid_method(cfg, methods[i]);
	}
	if (!found)
		srv_bad_usage("--backend '%s' is not a method this library supports", srv_opts.backend);
	return cfg;
}

int main(int argc, char **argv)
{
	struct event_config *cfg;
	struct event *listener, *term, *intr, *sweep = NULL;

	srv_init(SRV_DESIGN, argc, argv, SRV_OPT_BACKEND);
	cfg = config();
	base = cfg ? event_base_new_with_config(cfg) : NULL;
	if (base == NULL) {
		fprintf(stderr, "rot13-%s: cannot create an event base\n", SRV_DESIGN);
		return 1;
	}
	event_config_free(cfg);
#ifndef EVBASE
	fdset_limited = strcmp(event_base_get_method(base), "select") == 0;
#endif

	/* The stop signals are routed to the loop before the ready line goes
	 * out: whoever reads that line may send SIGTERM at once, and the flag
	 * srv_init's handler would set is one this loop never looks at. */
	term = evsignal_new(base, SIGTERM, on_stop, NULL);
	intr = evsignal_new(base, SIGINT, on_stop, NULL);
	if (!term || !intr || event_add(term, NULL) < 0 || event_add(intr, NULL) < 0) {
		fprintf(stderr, "rot13-%s: cannot add the signal events\n", SRV_DESIGN);
		return 1;
	}
	int lfd = srv_listen();
	listener = event_new(base, lfd, EV_READ | EV_PERSIST, on_accept, NULL);
	if (!listener || event_add(listener, NULL) < 0) {
		fprintf(stderr, "rot13-%s: cannot add the listener event\n", SRV_DESIGN);
		return 1;
	}
	if (srv_opts.idle_timeout_s) {
		struct timeval tick = {0, SRV_STOP_CHECK_MS * 1000};

		sweep = event_new(base, -1, EV_PERSIST, on_sweep, NULL);
		if (!sweep || event_add(sweep, &tick) < 0) {
			fprintf(stderr, "rot13-%s: cannot add the idle timer\n", SRV_DESIGN);
			return 1;
		}
	}
	if (!srv_stop) /* a stop signal before the events were added set only the flag */
		event_base_dispatch(base);

	srv_conn_free_all(release);
	event_free(listener);
	if (sweep)
		event_free(sweep);
	event_free(term);
	event_free(intr);
	srv_report(event_base_get_method(base));
	event_base_free(base);
	return 0;
}
