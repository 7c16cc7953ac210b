/*
 * rot13_threads.c — blocking I/O, one thread per connection.
 *
 * The simplest code of all: each connection gets a thread that reads,
 * answers and writes with plain blocking calls, and the kernel's scheduler is
 * the multiplexer. A blocked write is the backpressure: a client that stops
 * reading stops its own thread, and nobody else's.
 *
 * The cost is a thread per connection: a stack, a kernel task, a context
 * switch for every wake-up. Stacks are small here (64 KiB, the read buffer is
 * on the heap) so that ten thousand threads take about a gigabyte of address
 * space and much less memory; what limits the design first is the scheduler,
 * and the process and map-count limits (ulimit -u, vm.max_map_count).
 *
 * Stopping: the main thread shuts down every socket still open, which wakes
 * each thread out of its blocking call, and waits (boundedly) until the last
 * one has closed its socket, so that the report counts every close.
 */
#include "srv.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STACK_SIZE (64 * 1024)
#define BUF_SIZE   (16 * 1024)
/* How long the stop waits for threads to finish: well inside the 5 s evbench
 * allows before SIGKILL, so that the stop report still gets out. */
#define STOP_WAIT_S 3

/* The sockets threads are serving, so that the stop can shut them down. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_closed;
static unsigned char *live; /* indexed by descriptor */
static size_t live_len, nlive;

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = malloc(BUF_SIZE);

	if (buf != NULL)
		srv_serve_blocking(fd, buf, BUF_SIZE);
	else
		SRV_COUNT(errors, 1);
	free(buf);
	/* Closed under the lock: the stop must never shut down a descriptor
	 * number that this thread has just closed and accept() handed out again. */
	pthread_mutex_lock(&lock);
	live[fd] = 0;
	srv_conn_closed(fd);
	if (--nlive == 0)
		pthread_cond_signal(&all_closed);
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* A connection accepted by srv_accept_blocking_batch(): start its thread
 * with the attributes arg, or close it. */
static void start(int fd, void *arg)
{
	const pthread_attr_t *attr = arg;
	pthread_t t;

	pthread_mutex_lock(&lock);
	if ((size_t)fd >= live_len) { /* RLIMIT_NOFILE bounds descriptors; cannot happen */
		pthread_mutex_unlock(&lock);
		close(fd);
		SRV_COUNT(errors, 1);
		return;
	}
	srv_conn_opened();
	live[fd] = 1;
	nlive++;
	if (pthread_create(&t, attr, serve, (void *)(intptr_t)fd) != 0) {
		/* Out of threads (ulimit -u, memory): refuse this one, keep the rest. */
		live[fd] = 0;
		nlive--;
		srv_conn_closed(fd);
		SRV_COUNT(errors, 1);
	}
	pthread_mutex_unlock(&lock);
}

static void stop_all(void)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += STOP_WAIT_S;
	pthread_mutex_lock(&lock);
	for (size_t fd = 0; fd < live_len; fd++)
		if (live[fd])
			shutdown((int)fd, SHUT_RDWR);
	while (nlive > 0)
		if (pthread_cond_timedwait(&all_closed, &lock, &deadline) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv)
{
	pthread_attr_t attr;
	pthread_condattr_t ca;
	struct rlimit rl;
	sigset_t stopsigs;

	srv_init("threads", argc, argv, 0);
	int lfd = srv_listen();

	getrlimit(RLIMIT_NOFILE, &rl);
	live_len = rl.rlim_cur;
	live = calloc(live_len, 1);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&all_closed, &ca);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	/* The stop signals are for the main thread: on a connection thread the
	 * handler would not wake the main thread's poll(), and its write of
	 * srv_stop would race with the main thread's plain reads. Threads are
	 * born with them blocked, so there is no window before they could
	 * block them themselves. */
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGINT);
	pthread_attr_setsigmask_np(&attr, &stopsigs);
	if (live == NULL) {
		perror("rot13-threads: calloc");
		return 1;
	}

	while (!srv_stop) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		if (poll(&p, 1, SRV_STOP_CHECK_MS) <= 0)
			continue;
		srv_accept_blocking_batch(lfd, start, &attr);
	}
	/* The signal mask makes the attributes own memory (LeakSanitizer). */
	pthread_attr_destroy(&attr);
	stop_all();
	srv_report("threads");
	return 0;
}
