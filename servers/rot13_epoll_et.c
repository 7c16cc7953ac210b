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
 * even though no EPOLLIN came with that edge.
 *
 * Draining in one go would also mean that a client sending as fast as it is
 * read is read until it pauses, which may be never, while everyone else waits
 * (new connections included). So a connection reads one turn at a time
 * (SRV_READ_TURN bytes, the share a level-triggered loop gives it), and one
 * whose turn ended before EAGAIN is remembered in a queue of connections with
 * bytes left, served again after the events of the next wait, which then does
 * not block. Edge-triggered means the loop, not the kernel, remembers who is
 * still readable.
 *
 * The listener stays level-triggered on purpose: when accept() has to back
 * off (descriptor limits), the connections left in the backlog must wake the
 * loop again without a new connection arriving to make an edge.
 */
#include "srv.h"
#include "srv_epoll.h"

#include <stdlib.h>

#define MAX_EVENTS   256 /* events taken per wait; more wait for the next one */

static int epfd;

/* Connections whose last turn ended before EAGAIN, in turn order: `later`
 * fills while `now` is served. A connection is in at most one of them (its
 * SRV_MORE bit in c->watch says so); one closed while queued leaves a NULL. */
struct queue {
	struct srv_conn **c;
	size_t len, cap;
};
static struct queue now, later;

static void enqueue(struct srv_conn *c)
{
	if (later.len == later.cap) {
		size_t cap = later.cap ? later.cap * 2 : 64;
		struct srv_conn **p = realloc(later.c, cap * sizeof *p);
		if (p == NULL) { /* it keeps its bytes until the client sends more */
			SRV_COUNT(errors, 1);
			return;
		}
		later.c = p;
		later.cap = cap;
	}
	later.c[later.len++] = c;
	c->watch |= SRV_MORE;
}

/* Close a connection, first taking it out of the queue it may be in. */
static void drop(struct srv_conn *c)
{
	if (c->watch & SRV_MORE) {
		for (size_t i = 0; i < now.len; i++)
			if (now.c[i] == c)
				now.c[i] = NULL;
		for (size_t i = 0; i < later.len; i++)
			if (later.c[i] == c)
				later.c[i] = NULL;
	}
	srv_conn_free(c);
}

/* One turn of a connection: `in` when new input may be there. */
static void serve(struct srv_conn *c, bool in)
{
	bool queued = c->watch & SRV_MORE;
	int want = srv_conn_writable(c);

	/* Read on new input, and also when backpressure had paused reading:
	 * the EPOLLOUT edge is the only wake-up we will get. A connection
	 * already queued reads in its queued turn only, so that a busy one
	 * gets one turn a round like everyone else. */
	if ((want & SRV_READ) && !queued && (in || !(c->watch & SRV_READ)))
		want = srv_conn_readable(c, true);
	if (want == SRV_CLOSE) {
		drop(c);
		return;
	}
	c->watch = (unsigned)want & ~(unsigned)SRV_MORE;
	if (queued)
		c->watch |= SRV_MORE; /* still in a queue: it will get its turn there */
	else if (want & SRV_MORE)
		enqueue(c);
}

/* A connection accepted by srv_accept_batch(): registered once, for every
 * edge it will ever need, or closed. */
static void add_conn(int fd, void *arg)
{
	srv_epoll_add(epfd, fd, EPOLLIN | EPOLLOUT | EPOLLET);
}

int main(int argc, char **argv)
{
	struct epoll_event events[MAX_EVENTS];

	srv_init("epoll-et", argc, argv, 0);
	int lfd = srv_listen();
	epfd = srv_epoll_open(lfd);

	while (!srv_stop) {
		/* With connections left mid-turn, look for events without waiting. */
		int n = srv_epoll_wait(epfd, events, MAX_EVENTS, later.len ? 0 : SRV_STOP_CHECK_MS);
		for (int i = 0; i < n; i++) {
			struct srv_conn *c = events[i].data.ptr;

			if (c == NULL)
				srv_accept_batch(lfd, add_conn, NULL);
			else
				serve(c, events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR));
		}
		/* Then a turn for each connection left with bytes last time. */
		struct queue t = now;
		now = later;
		later = t;
		later.len = 0;
		for (size_t i = 0; i < now.len; i++) {
			struct srv_conn *c = now.c[i];

			if (c == NULL)
				continue;
			now.c[i] = NULL;
			c->watch &= ~(unsigned)SRV_MORE;
			serve(c, true);
		}
		now.len = 0;
		srv_idle_sweep(drop);
	}
	srv_conn_free_all(NULL);
	free(now.c);
	free(later.c);
	srv_report("epoll");
	return 0;
}
