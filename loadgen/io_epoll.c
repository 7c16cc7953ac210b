/*
 * io_epoll.c - a load thread's I/O through edge-triggered epoll (cfg.io ==
 * LG_IO_EPOLL): one of the two struct lg_io of engine.h, uring.c being the
 * other. engine.c keeps the protocol, the schedule and the accounting.
 *
 * Each connection is registered once, for EPOLLIN | EPOLLOUT | EPOLLET, with
 * its slot and generation as the event's data, so an event of a socket
 * closed earlier in the same batch is recognised and dropped. EPOLLOUT is
 * only looked at while a write is pending, so a request costs no epoll_ctl.
 * Reads stop at the first short read: on TCP a short read means the queue
 * was empty, and any later byte raises a new edge, which saves the read that
 * would only return EAGAIN. Pipelined requests leave in one send() from a
 * per-thread scratch buffer; replies are checked in place in the receive
 * buffer.
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RBUF_SIZE   (64 * 1024)
#define WBUF_SIZE   (256 * 1024)
#define MAX_EVENTS  512
#define WAKE_TOKEN  UINT64_MAX

/* Set once a kernel answers epoll_pwait2() with ENOSYS (before Linux 5.11):
 * every thread then waits with epoll_wait()'s milliseconds. */
static int no_pwait2;

static int ep_init(struct lthread *t)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_TOKEN };

	t->rbuf = malloc(RBUF_SIZE);
	t->wbuf = malloc(WBUF_SIZE);
	if (!t->rbuf || !t->wbuf)
		return -ENOMEM;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0 || epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wakefd, &ev) < 0)
		return -errno;
	return 0;
}

static void ep_free(struct lthread *t)
{
	free(t->rbuf);
	free(t->wbuf);
	t->rbuf = t->wbuf = NULL;
	if (t->epfd >= 0)
		close(t->epfd);
	t->epfd = -1;
}

static void ep_connect(struct lthread *t, struct conn *c, uint64_t now)
{
	const struct shared *sh = t->sh;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET,
				  .data.u64 = (uint64_t)c->gen << 32 | (uint64_t)(c - t->conns) };

	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		lg__conn_fail(t, c, errno, now);
		return;
	}
	if (connect(c->fd, (const struct sockaddr *)&sh->dst, sh->dstlen) == 0) {
		lg__conn_established(t, c, lg__now_ns());
		return;
	}
	if (errno != EINPROGRESS)
		lg__conn_fail(t, c, errno, now);
}

/* Writes requests [started, upto) of c, batched into as few send() calls as
 * the scratch buffer allows. Stops at EAGAIN and waits for EPOLLOUT. */
static void ep_write(struct lthread *t, struct conn *c)
{
	while (c->wnext < c->upto) {
		size_t n = lg__build(t, c, t->wbuf, WBUF_SIZE);
		uint64_t now = lg__now_ns();
		ssize_t r = send(c->fd, t->wbuf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->want_write = 1;
				return;
			}
			lg__conn_fail(t, c, errno, now);
			return;
		}
		lg__account_sent(t, c, (size_t)r, now);
		if ((size_t)r < n) {
			c->want_write = 1;
			return;
		}
	}
	c->want_write = 0;
}

static void ep_read(struct lthread *t, struct conn *c)
{
	uint64_t now;
	for (;;) {
		ssize_t r = recv(c->fd, t->rbuf, RBUF_SIZE, 0);
		now = lg__now_ns();
		if (r > 0) {
			if (!lg__consume(t, c, t->rbuf, (size_t)r, now))
				return;
			if (r < RBUF_SIZE)
				break;
			continue;
		}
		if (r == 0) {
			/* The server closed. After a drain that is expected; otherwise it
			 * is a failure whether or not requests were outstanding. */
			if (t->phase >= LG_PHASE_DRAIN && lg__started(c) == c->rseq) {
				lg__conn_close(t, c, false, 0, now);
				return;
			}
			lg__conn_fail(t, c, LG_CAUSE_EOF, now);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		lg__conn_fail(t, c, errno, now);
		return;
	}
	/* The receive's own clock reading serves for what follows: clock_gettime
	 * is 30 ns here, about 1% of a request's whole cost. */
	lg__after_read(t, c, now);
}

static void on_event(struct lthread *t, struct conn *c, uint32_t ev)
{
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			lg__conn_fail(t, c, err, lg__now_ns());
			return;
		}
		if (!(ev & (EPOLLOUT | EPOLLIN)))
			return;
		lg__conn_established(t, c, lg__now_ns());
		if (c->state != C_UP)
			return;
	}
	if (c->state != C_UP)
		return;
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ep_read(t, c);
		if (c->state != C_UP)
			return;
	}
	if ((ev & EPOLLOUT) && c->want_write) {
		ep_write(t, c);
		if (c->state == C_UP && !c->want_write)
			lg__pump(t, c, lg__now_ns());
	}
}

static void ep_wait(struct lthread *t, long long wait_ns)
{
	struct epoll_event evs[MAX_EVENTS];
	int n;

	if (!__atomic_load_n(&no_pwait2, __ATOMIC_RELAXED)) {
		struct timespec ts = { .tv_sec = (time_t)(wait_ns / 1000000000),
				       .tv_nsec = (long)(wait_ns % 1000000000) };
		n = epoll_pwait2(t->epfd, evs, MAX_EVENTS, &ts, NULL);
		if (n < 0 && errno == ENOSYS) {
			__atomic_store_n(&no_pwait2, 1, __ATOMIC_RELAXED);
			return;
		}
	} else {
		n = epoll_wait(t->epfd, evs, MAX_EVENTS, (int)((wait_ns + 999999) / 1000000));
	}
	if (n < 0) {
		if (errno == EINTR)
			return;
		abort();   /* EBADF/EFAULT/EINVAL: our own bug, not a load condition */
	}
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 == WAKE_TOKEN) {
			uint64_t v;
			if (read(t->wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
				abort();
			continue;
		}
		struct conn *c = &t->conns[(uint32_t)evs[i].data.u64];
		/* An event collected before its socket was closed (and the slot
		 * reconnected) in this same batch belongs to no one now. */
		if ((uint32_t)(evs[i].data.u64 >> 32) == c->gen)
			on_event(t, c, evs[i].events);
	}
}

static void ep_nothing(struct lthread *t)
{
	(void)t;
}

static void ep_nothing_conn(struct lthread *t, struct conn *c)
{
	(void)t, (void)c;
}

/* Nothing of epoll's outlives close(). */
static unsigned long long ep_pending(const struct lthread *t)
{
	(void)t;
	return 0;
}

const struct lg_io lg__io_epoll = {
	.name = "epoll",
	.sock_flags = SOCK_NONBLOCK,
	.init = ep_init,
	.free = ep_free,
	.start = ep_nothing,
	.connect = ep_connect,
	.established = ep_nothing_conn,
	.write = ep_write,
	.closing = ep_nothing_conn,
	.wait = ep_wait,
	.pending = ep_pending,
};
