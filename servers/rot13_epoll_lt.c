/*
 * rot13_epoll_lt.c — one thread, epoll, level-triggered.
 *
 * The kernel keeps the interest set: each descriptor is registered once with
 * epoll_ctl(), and epoll_wait() returns only the descriptors that are ready.
 * A wait costs O(ready), not O(watched), which is why ten thousand mostly
 * idle connections cost epoll almost nothing while select and poll rescan all
 * of them every time. The price is a system call whenever what a connection
 * waits for changes (EPOLLIN to EPOLLOUT under backpressure), so the loop
 * remembers what it asked for and calls epoll_ctl() only on a change.
 *
 * Level-triggered means "still ready" is reported again on the next wait:
 * the loop may read once per readiness and leave the rest for later, which
 * keeps one busy client from starving the others. Compare rot13_epoll_et.c.
 *
 * Limits: none from the mechanism below the descriptor limit; every event
 * costs one trip through epoll_wait's array of MAX_EVENTS.
 */
#include "srv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

#define MAX_EVENTS   256 /* events taken per wait; more wait for the next one */

static int epfd;

static uint32_t epoll_events(int want)
{
	return ((want & SRV_READ) ? EPOLLIN : 0) | ((want & SRV_WRITE) ? EPOLLOUT : 0);
}

/* Tell the kernel what the connection waits for now, if that changed. */
static void watch(struct srv_conn *c, int want)
{
	struct epoll_event ev = {.events = epoll_events(want), .data.ptr = c};

	if (want == SRV_CLOSE) {
		srv_conn_free(c); /* closing the descriptor drops it from the set */
		return;
	}
	if ((unsigned)want == c->watch)
		return;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		SRV_COUNT(errors, 1);
		srv_conn_free(c);
		return;
	}
	c->watch = (unsigned)want;
}

/* A connection accepted by srv_accept_batch(): watch it, or close it. */
static void add_conn(int fd, void *arg)
{
	struct srv_conn *c = srv_conn_new(fd);
	if (c == NULL)
		return;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		SRV_COUNT(errors, 1);
		srv_conn_free(c);
		return;
	}
	c->watch = SRV_READ;
}

int main(int argc, char **argv)
{
	struct epoll_event events[MAX_EVENTS];
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL: the listener */

	srv_init("epoll-lt", argc, argv, 0);
	int lfd = srv_listen();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) {
		perror("rot13-epoll-lt: epoll");
		return 1;
	}

	while (!srv_stop) {
		int n = epoll_wait(epfd, events, MAX_EVENTS, SRV_STOP_CHECK_MS);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("rot13-epoll-lt: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct srv_conn *c = events[i].data.ptr;
			uint32_t ready = events[i].events;
			int want = SRV_READ;

			if (c == NULL) {
				srv_accept_batch(lfd, add_conn, NULL);
				continue;
			}
			/* Errors and hang-ups surface through the read or write that follows. */
			if (ready & (EPOLLOUT | EPOLLERR))
				want = srv_conn_writable(c);
			if ((want & SRV_READ) && (ready & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				want = srv_conn_readable(c, false);
			watch(c, want);
		}
		srv_idle_sweep(srv_conn_free); /* closing drops it from the set */
	}
	srv_conn_free_all(NULL);
	srv_report("epoll");
	return 0;
}
