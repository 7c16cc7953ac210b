/*
 * signal.c — signal events through a self-pipe.
 *
 * The handler only writes the signal number, one byte per delivery, into a
 * non-blocking pipe; the base watches the read end with an internal event
 * (priority 0) and turns the bytes into one callback per delivery. A pipe
 * rather than signalfd: signalfd needs the signal blocked, and blocked
 * signals coalesce, which would lose the one-callback-per-delivery count.
 *
 * A process has one handler per signal, so only one base receives signals
 * at a time: the one that most recently added a signal event or started its
 * loop with signal events (as in libevent). Handlers that were installed
 * before are put back when the last event on that signal goes.
 */
#include "evb-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where the handler writes; -1 when no base takes signals. */
static volatile sig_atomic_t sig_wfd = -1;
static struct event_base *sig_owner;

static void sig_handler(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;
	int fd = sig_wfd;

	/* A full pipe already guarantees a wake-up; the byte is only a count. */
	if (fd >= 0 && write(fd, &c, 1) < 0) {
		/* nothing to do in a handler */
	}
	errno = saved;
}

/* Drain the pipe and activate the events of each signal that arrived,
 * passing the number of deliveries as their call count. */
static void sig_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct event_base *base = arg;
	unsigned char buf[1024];
	int caught[NSIG] = { 0 };
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] < NSIG)
				caught[buf[i]]++;
	EVB_LOCK(base);		/* callbacks run unlocked */
	for (int sig = 1; sig < NSIG; sig++) {
		if (!caught[sig])
			continue;
		for (struct event *ev = base->sig_head[sig]; ev; ev = ev->ev_io_next)
			evb_activate(base, ev, EV_SIGNAL, (short)caught[sig]);
	}
	EVB_UNLOCK(base);
}

static int sig_pipe_open(struct event_base *base)
{
	if (pipe2(base->sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		evb_warnx("%s: pipe2: %s", __func__, strerror(errno));
		base->sig_pipe[0] = base->sig_pipe[1] = -1;
		return -1;
	}
	event_assign(&base->sig_ev, base, base->sig_pipe[0], EV_READ | EV_PERSIST,
	    sig_pipe_cb, base);
	base->sig_ev.ev_flags |= EVLIST_INTERNAL;
	base->sig_ev.ev_pri = 0;
	if (event_add(&base->sig_ev, NULL) < 0) {
		close(base->sig_pipe[0]);
		close(base->sig_pipe[1]);
		base->sig_pipe[0] = base->sig_pipe[1] = -1;
		return -1;
	}
	return 0;
}

static void sig_pipe_close(struct event_base *base)
{
	if (base->sig_pipe[0] < 0)
		return;
	event_del(&base->sig_ev);
	close(base->sig_pipe[0]);
	close(base->sig_pipe[1]);
	base->sig_pipe[0] = base->sig_pipe[1] = -1;
}

void evb_sig_own(struct event_base *base)
{
	sig_owner = base;
	sig_wfd = base->sig_pipe[1];
}

int evb_sig_add(struct event_base *base, struct event *ev)
{
	int sig = ev->ev_fd;

	if (sig < 1 || sig >= NSIG) {
		evb_warnx("%s: signal %d out of range", __func__, sig);
		return -1;
	}
	if (base->sig_pipe[0] < 0 && sig_pipe_open(base) < 0)
		return -1;
	if (!base->sig_old && !(base->sig_old = evb_calloc(NSIG, sizeof(struct sigaction))))
		return -1;
	if (!base->sig_head[sig]) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = sig_handler;
		sa.sa_flags = SA_RESTART;
		sigfillset(&sa.sa_mask);
		if (sigaction(sig, &sa, &base->sig_old[sig]) < 0) {
			evb_warnx("%s: sigaction(%d): %s", __func__, sig, strerror(errno));
			return -1;
		}
	}
	evb_io_push(&base->sig_head[sig], ev);
	base->nsignals++;
	if (sig_owner != base) {
		if (sig_owner && sig_owner->nsignals)
			evb_warnx("Added a signal to event base %p with signals "
			    "already added to event_base %p.  Only one can have "
			    "signals at a time; the most recent one gets them.",
			    (void *)base, (void *)sig_owner);
		evb_sig_own(base);
	}
	return 0;
}

void evb_sig_del(struct event_base *base, struct event *ev)
{
	int sig = ev->ev_fd;

	evb_io_unlink(ev);
	base->nsignals--;
	if (!base->sig_head[sig])
		sigaction(sig, &base->sig_old[sig], NULL);
}

int evb_sig_reinit(struct event_base *base)
{
	if (base->sig_pipe[0] < 0)
		return 0;
	/* The child must not share the pipe with its parent: a signal sent to
	 * one would wake the other. Until the new pipe exists the handler
	 * writes nowhere: the old write end's number may be reused by any
	 * descriptor opened meanwhile. */
	if (sig_owner == base)
		sig_wfd = -1;
	sig_pipe_close(base);
	if (sig_pipe_open(base) < 0)
		return -1;
	if (sig_owner == base)
		sig_wfd = base->sig_pipe[1];
	return 0;
}

void evb_sig_free(struct event_base *base)
{
	if (sig_owner == base) {
		sig_wfd = -1;
		sig_owner = NULL;
	}
	sig_pipe_close(base);
	evb_free(base->sig_old);
	base->sig_old = NULL;
}
