/*
 * srv_epoll.c - the epoll calls of the epoll designs; see srv_epoll.h for
 * the contract of each function.
 */
#include "srv_epoll.h"
#include "srv_int.h"

#include <errno.h>

int srv_epoll_open(int lfd)
{
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL: the listener */
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (epfd < 0)
		srv__die("epoll_create1");
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0)
		srv__die("epoll_ctl");
	return epfd;
}

int srv_epoll_wait(int epfd, struct epoll_event *events, int max, int timeout_ms)
{
	int n = epoll_wait(epfd, events, max, timeout_ms);

	if (n < 0 && errno != EINTR)
		srv__die("epoll_wait");
	return n < 0 ? 0 : n;
}

struct srv_conn *srv_epoll_add(int epfd, int fd, uint32_t events)
{
	struct srv_conn *c = srv_conn_new(fd);
	if (c == NULL)
		return NULL;
	struct epoll_event ev = {.events = events, .data.ptr = c};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		SRV_COUNT(errors, 1);
		srv_conn_free(c);
		return NULL;
	}
	c->watch = SRV_READ;
	return c;
}

void srv_epoll_watch(int epfd, struct srv_conn *c, int want)
{
	struct epoll_event ev = {
		.events = ((want & SRV_READ) ? EPOLLIN : 0) | ((want & SRV_WRITE) ? EPOLLOUT : 0),
		.data.ptr = c,
	};

	if (want == SRV_CLOSE) {
		srv_conn_free(c);
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
