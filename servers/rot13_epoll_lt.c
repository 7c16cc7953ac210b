/*
 * rot13_epoll_lt.c — one thread, epoll, level-triggered.
 *
 * The kernel keeps the interest set: each descriptor is registered once with
 * epoll_ctl(), and epoll_wait() returns only the descriptors that are ready.
 * A wait costs O(ready), not O(watched), which is why ten thousand mostly
 * idle connections cost epoll almost nothing while select and poll rescan all
 * of them every time. The price is a system call whenever what a connection
 * waits for changes (EPOLLIN to EPOLLOUT under backpressure), so the loop
 * remembers what it asked for (c->watch) and calls epoll_ctl() only on a
 * change: srv_epoll_watch() in srv_epoll.c, which epoll-mt's reactors share.
 *
 * Level-triggered means "still ready" is reported again on the next wait:
 * the loop may read once per readiness and leave the rest for later, which
 * keeps one busy client from starving the others. Compare rot13_epoll_et.c.
 *
 * Limits: none from the mechanism below the descriptor limit; every event
 * costs one trip through epoll_wait's array of MAX_EVENTS.
 */
#include "srv.h"
#include "srv_epoll.h"

#define MAX_EVENTS   256 /* events taken per wait; more wait for the next one */

static int epfd;

/* A connection accepted by srv_accept_batch(): watch it for input, or close it. */
static void add_conn(int fd, void *arg)
{
	srv_epoll_add(epfd, fd, EPOLLIN);
}

int main(int argc, char **argv)
{
	struct epoll_event events[MAX_EVENTS];

	srv_init("epoll-lt", argc, argv, 0);
	int lfd = srv_listen();
	epfd = srv_epoll_open(lfd);

	while (!srv_stop) {
		int n = srv_epoll_wait(epfd, events, MAX_EVENTS, SRV_STOP_CHECK_MS);
		for (int i = 0; i < n; i++) {
			struct srv_conn *c = events[i].data.ptr;
			uint32_t ready = events[i].events;

			if (c == NULL) {
				srv_accept_batch(lfd, add_conn, NULL);
				continue;
			}
			/* A turn per readiness, reading once; then epoll_ctl() only if
			 * what the connection waits for changed (srv_epoll_watch). */
			srv_epoll_watch(epfd, c, srv_conn_ready(c, ready & (EPOLLIN | EPOLLHUP | EPOLLERR),
								   ready & (EPOLLOUT | EPOLLERR)));
		}
		srv_idle_sweep(srv_conn_free); /* closing drops it from the set */
	}
	srv_conn_free_all(NULL);
	srv_report("epoll");
	return 0;
}
