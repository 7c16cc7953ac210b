/*
 * rot13_poll.c — one thread, poll().
 *
 * The process keeps the interest set, an array of struct pollfd, and hands
 * all of it to the kernel on every call. poll() lifts select's FD_SETSIZE
 * limit and its bitmaps, but not its cost: each call copies the whole array
 * in and out and the kernel checks every descriptor, then the loop scans the
 * array again for revents. With ten thousand connections of which ten are
 * busy, that is ten thousand entries walked three times to find ten.
 *
 * Changing what a connection waits for is free (write its .events), and a
 * closed connection leaves a hole (.fd = -1, which poll ignores) that is
 * squeezed out once per round, so the array stays dense.
 *
 * Limits: only the descriptor limit; the cost is O(watched) per wait.
 */
#include "srv.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>


static struct pollfd *pfds; /* [0] is the listener, then one per connection */
static size_t npfds, cap;
static bool holes;

static short poll_events(int want)
{
	return (short)(((want & SRV_READ) ? POLLIN : 0) | ((want & SRV_WRITE) ? POLLOUT : 0));
}

/* Record what the connection in slot i waits for now. */
static void watch(size_t i, struct srv_conn *c, int want)
{
	if (want == SRV_CLOSE) {
		srv_conn_free(c);
		pfds[i].fd = -1;
		holes = true;
		return;
	}
	pfds[i].events = poll_events(want);
}

/* A connection accepted by srv_accept_batch(): watch it, or close it. */
static void add_conn(int fd, void *arg)
{
	if (npfds == cap) {
		size_t ncap = cap * 2;
		struct pollfd *p = realloc(pfds, ncap * sizeof *p);
		if (p == NULL) {
			SRV_COUNT(errors, 1);
			close(fd);
			return;
		}
		pfds = p;
		cap = ncap;
	}
	if (srv_conn_new(fd) == NULL)
		return;
	pfds[npfds++] = (struct pollfd){.fd = fd, .events = POLLIN};
}

/* Squeeze out the slots of closed connections, keeping the order. */
static void fill_holes(void)
{
	size_t j = 1;

	for (size_t i = 1; i < npfds; i++)
		if (pfds[i].fd >= 0)
			pfds[j++] = pfds[i];
	npfds = j;
	holes = false;
}

int main(int argc, char **argv)
{
	srv_init("poll", argc, argv, 0);
	int lfd = srv_listen();
	cap = 1024;
	pfds = malloc(cap * sizeof *pfds);
	if (pfds == NULL) {
		perror("rot13-poll: malloc");
		return 1;
	}
	pfds[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
	npfds = 1;

	while (!srv_stop) {
		int n = poll(pfds, npfds, SRV_STOP_CHECK_MS);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("rot13-poll: poll");
			return 1;
		}
		for (size_t i = 1; i < npfds && n > 0; i++) {
			short ready = pfds[i].revents;

			if (ready == 0)
				continue;
			n--;
			struct srv_conn *c = srv_conn_get(pfds[i].fd);
			watch(i, c, srv_conn_ready(c, ready & (POLLIN | POLLHUP | POLLERR),
						   ready & (POLLOUT | POLLERR)));
		}
		/* Slots whose connection the sweep closed become holes, before any
		 * accept can hand their descriptor numbers out again. */
		if (srv_idle_sweep(srv_conn_free) > 0)
			for (size_t i = 1; i < npfds; i++)
				if (pfds[i].fd >= 0 && srv_conn_get(pfds[i].fd) == NULL) {
					pfds[i].fd = -1;
					holes = true;
				}
		if (pfds[0].revents & POLLIN)
			srv_accept_batch(lfd, add_conn, NULL);
		if (holes)
			fill_holes();
	}
	srv_conn_free_all(NULL);
	srv_report("poll");
	return 0;
}
