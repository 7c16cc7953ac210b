/*
 * rot13_epoll_et.c — one thread, epoll, edge-triggered.
 *
 * Each connection is registered once for both EPOLLIN and EPOLLOUT with
 * EPOLLET, and never touched again: where the level-triggered server calls
 * epoll_ctl() whenever a connection switches between reading and writing,
 * this one makes no such call at all. epoll reports a descriptor only when
 * its state changes (new bytes arrived, send buffer space came back).
 *
 * The price is discipline. An edge is reported once, so a read must go on
 * until EAGAIN, or the bytes left behind wait until the client happens to send
 * more. And when backpressure stops reading early, only the EPOLLOUT edge of
 * the drained send buffer will wake the connection again: it is then read
 * even though no EPOLLIN came with that edge. Draining also means one busy
 * client is read until it pauses, while the others wait.
 *
 * The listener stays level-triggered on purpose: when accept() has to back
 * off (descriptor limits), the connections left in the backlog must wake the
 * loop again without a new connection arriving to make an edge.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

#define MAX_EVENTS   256 /* events taken per wait; more wait for the next one */
#define ACCEPT_BATCH 64  /* accepts per wake-up, so the clients we hold get a turn */

static int epfd;

static void accept_some(int lfd)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = srv_accept(lfd, true);
		if (fd == SRV_AGAIN)
			return;
		if (fd == SRV_SHED)
			continue;
		struct srv_conn *c = srv_conn_new(fd);
		if (c == NULL)
			continue;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			SRV_COUNT(errors, 1);
			srv_conn_free(c);
			continue;
		}
		c->watch = SRV_READ;
	}
}

int main(int argc, char **argv)
{
	struct epoll_event events[MAX_EVENTS];
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL: the listener */

	srv_init("epoll-et", argc, argv, 0);
	int lfd = srv_listen();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) {
		perror("rot13-epoll-et: epoll");
		return 1;
	}

	while (!srv_stop) {
		int n = epoll_wait(epfd, events, MAX_EVENTS, SRV_STOP_CHECK_MS);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("rot13-epoll-et: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct srv_conn *c = events[i].data.ptr;
			uint32_t ready = events[i].events;
			int want;

			if (c == NULL) {
				accept_some(lfd);
				continue;
			}
			want = srv_conn_writable(c);
			/* Read on new input, and also when backpressure had paused
			 * reading: the EPOLLOUT edge is the only wake-up we will get. */
			if ((want & SRV_READ) &&
			    ((ready & (EPOLLIN | EPOLLHUP | EPOLLERR)) || !(c->watch & SRV_READ)))
				want = srv_conn_readable(c, true);
			if (want == SRV_CLOSE)
				srv_conn_free(c);
			else
				c->watch = (unsigned)want;
		}
	}
	srv_conn_free_all(NULL);
	srv_report("epoll");
	return 0;
}
