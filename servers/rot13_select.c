/*
 * rot13_select.c — one thread, select().
 *
 * The oldest of the multiplexers: the interest set is two bitmaps, one bit
 * per descriptor, and select() overwrites them with the ready ones, so the
 * loop keeps master copies and hands the kernel fresh copies every call.
 * Each call costs O(highest descriptor): the kernel tests every bit below
 * maxfd + 1 and the loop tests them again to find the ready ones. And since
 * select() overwrites its timeout too, that is set anew every call.
 *
 * The hard limit is FD_SETSIZE (1024 on Linux). An fd_set is a fixed array
 * of that many bits, and FD_SET() on a descriptor >= FD_SETSIZE writes past
 * its end: silent memory corruption, not an error. So a connection whose
 * descriptor would reach FD_SETSIZE is closed at once and counted as
 * fd_setsize_refused. Note the >=: descriptor 1024 is already out of range.
 * With stdin, stdout, stderr, the listener and accept's spare descriptor
 * open, at most FD_SETSIZE - 5 clients fit.
 */
#include "srv.h"

#include <errno.h>
#include <stdio.h>
#include <sys/select.h>
#include <unistd.h>


static fd_set rset, wset; /* master copies: what each connection waits for */
static int maxfd;

/* Record what the connection waits for now. */
static void watch(struct srv_conn *c, int want)
{
	int fd = c->fd;

	if (want == SRV_CLOSE) {
		FD_CLR(fd, &rset);
		FD_CLR(fd, &wset);
		srv_conn_free(c);
		while (maxfd > 0 && !FD_ISSET(maxfd, &rset) && !FD_ISSET(maxfd, &wset))
			maxfd--;
		return;
	}
	if (want & SRV_READ)
		FD_SET(fd, &rset);
	else
		FD_CLR(fd, &rset);
	if (want & SRV_WRITE)
		FD_SET(fd, &wset);
	else
		FD_CLR(fd, &wset);
}

static void drop(struct srv_conn *c)
{
	watch(c, SRV_CLOSE);
}

/* A connection accepted by srv_accept_batch(): watch it, or close it. */
static void add_conn(int fd, void *arg)
{
	if (fd >= FD_SETSIZE) { /* FD_SET would write past the end of the set */
		close(fd);
		SRV_COUNT(fd_setsize_refused, 1);
		return;
	}
	if (srv_conn_new(fd) == NULL)
		return;
	FD_SET(fd, &rset);
	if (fd > maxfd)
		maxfd = fd;
}

int main(int argc, char **argv)
{
	srv_init("select", argc, argv, 0);
	int lfd = srv_listen();
	if (lfd >= FD_SETSIZE) {
		fprintf(stderr, "rot13-select: listening descriptor %d is beyond FD_SETSIZE\n", lfd);
		return 1;
	}
	FD_SET(lfd, &rset);
	maxfd = lfd;

	while (!srv_stop) {
		fd_set r = rset, w = wset;
		struct timeval tv = {0, SRV_STOP_CHECK_MS * 1000};
		int n = select(maxfd + 1, &r, &w, NULL, &tv);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("rot13-select: select");
			return 1;
		}
		for (int fd = 0; fd <= maxfd && n > 0; fd++) {
			bool rd = FD_ISSET(fd, &r), wr = FD_ISSET(fd, &w);

			if (!rd && !wr)
				continue;
			n -= rd + wr;
			if (fd == lfd)
				continue; /* below, once the connections held have had their turn */
			struct srv_conn *c = srv_conn_get(fd);
			/* select() reports errors and hang-ups as readable or writable. */
			watch(c, srv_conn_ready(c, rd, wr));
		}
		srv_idle_sweep(drop);
		if (FD_ISSET(lfd, &r))
			srv_accept_batch(lfd, add_conn, NULL);
	}
	srv_conn_free_all(NULL);
	srv_report("select");
	return 0;
}
