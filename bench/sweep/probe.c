/*
 * probe.c - the drift probe; see probe.h.
 */
#include "probe.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* About 2 ms per batch on this machine: long enough that the clock's and the
 * first iterations' costs vanish, short enough that the five batches of two
 * probes add a few tens of ms to a trial of seconds. */
#define PROBE_BATCHES 5
#define PROBE_ROUNDS  200
#define PROBE_MSG     64

static double thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A connected TCP pair on 127.0.0.1, both ends blocking, Nagle off. */
static int tcp_pair(int fd[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	int one = 1, lis, saved;

	fd[0] = fd[1] = -1;
	lis = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lis < 0)
		return -1;
	if (bind(lis, (struct sockaddr *)&a, sizeof a) < 0 || listen(lis, 1) < 0 ||
	    getsockname(lis, (struct sockaddr *)&a, &alen) < 0)
		goto fail;
	fd[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd[0] < 0 || connect(fd[0], (struct sockaddr *)&a, sizeof a) < 0)
		goto fail;
	fd[1] = accept4(lis, NULL, NULL, SOCK_CLOEXEC);
	if (fd[1] < 0)
		goto fail;
	setsockopt(fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	close(lis);
	return 0;
fail:
	saved = errno;
	close(lis);
	if (fd[0] >= 0)
		close(fd[0]);
	errno = saved;
	return -1;
}

/* Sends a message from one end and reads all of it at the other. */
static int hop(int from, int to, char *buf)
{
	size_t got = 0;

	if (write(from, buf, PROBE_MSG) != PROBE_MSG)
		return -1;
	while (got < PROBE_MSG) {
		ssize_t n = read(to, buf + got, PROBE_MSG - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

double probe_summary(double *batches, int n)
{
	qsort(batches, (size_t)n, sizeof batches[0], cmp_double);
	return batches[n / 2];
}

double probe_run(void)
{
	double per[PROBE_BATCHES];
	char buf[PROBE_MSG];
	int fd[2], saved;

	memset(buf, 'p', sizeof buf);
	if (tcp_pair(fd) < 0)
		return -1;
	for (int b = 0; b < PROBE_BATCHES; b++) {
		double t0 = thread_cpu_ns();

		for (int i = 0; i < PROBE_ROUNDS; i++)
			if (hop(fd[0], fd[1], buf) < 0 || hop(fd[1], fd[0], buf) < 0)
				goto fail;
		per[b] = (thread_cpu_ns() - t0) / PROBE_ROUNDS;
	}
	close(fd[0]);
	close(fd[1]);
	return probe_summary(per, PROBE_BATCHES);
fail:
	saved = errno;
	close(fd[0]);
	close(fd[1]);
	errno = saved ? saved : EIO;
	return -1;
}
