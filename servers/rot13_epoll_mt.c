/*
 * rot13_epoll_mt.c — a reactor per thread: N threads, each running the
 * level-triggered epoll loop of rot13_epoll_lt.c on its own epoll instance
 * and its own listening socket.
 *
 * The N listeners share one port through SO_REUSEPORT, and the kernel picks
 * the listener of each new connection by a hash of the client's address and
 * port. A connection then lives its whole life on the thread that accepted
 * it: no lock, no queue and no shared descriptor on the request path, and
 * the counters are the only thing the threads share (relaxed atomics,
 * servers/srv.h). This is what nginx (`reuseport`) and most per-core
 * servers do.
 *
 * Why not one listener shared by every thread's epoll with EPOLLEXCLUSIVE?
 * That wakes one waiting thread per new connection instead of all of them,
 * but which one is not a matter of balance: the listener offers the event
 * to the epoll instances in the order they were registered, and the first
 * whose thread is asleep in epoll_wait takes it. A server that is not
 * saturated so puts most connections on its first threads, and one whose
 * connections are long-lived keeps that imbalance when the load comes. The
 * woken threads also still share one accept queue. With SO_REUSEPORT each
 * listener has its own queue, so nothing is contended, and the spread is a
 * hash, even on average whatever the threads are doing. Its costs: the hash
 * knows nothing of load, so a thread whose clients happen to be busy
 * cannot hand any to an idle one; and connections still in a listener's
 * queue when its socket closes are reset (here all stop together). The
 * stop report's `accepted_by_thread` shows the balance the hash gave.
 *
 * What it can show depends on the CPUs: N reactors need N CPUs besides
 * the load generator's, so on a 2-CPU machine two threads compete with the
 * client for the same two CPUs, and the gain over epoll-lt is bounded by
 * what the client leaves.
 *
 * `--threads N` (default: the CPUs this process may run on). Signals go to
 * the main thread alone, which waits for a stop and joins the reactors; each
 * reactor sees the stop within SRV_STOP_CHECK_MS.
 */
#include "srv.h"
#include "srv_epoll.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_EVENTS   256 /* events taken per wait; more wait for the next one */

struct reactor {
	pthread_t thread;
	int lfd, epfd;
	uint64_t accepted; /* read by the main thread only after the join */
};

/* A connection accepted by srv_accept_batch(): watch it for input on this
 * reactor's epoll instance, or close it. */
static void add_conn(int fd, void *arg)
{
	struct reactor *r = arg;

	if (srv_epoll_add(r->epfd, fd, EPOLLIN) != NULL)
		r->accepted++;
}

/* rot13_epoll_lt.c's loop, on this reactor's own listener and instance. */
static void *reactor(void *arg)
{
	struct reactor *r = arg;
	struct epoll_event events[MAX_EVENTS];

	while (!srv_stopping()) {
		int n = srv_epoll_wait(r->epfd, events, MAX_EVENTS, SRV_STOP_CHECK_MS);
		for (int i = 0; i < n; i++) {
			struct srv_conn *c = events[i].data.ptr;
			uint32_t ready = events[i].events;

			if (c == NULL) {
				srv_accept_batch(r->lfd, add_conn, r);
				continue;
			}
			srv_epoll_watch(r->epfd, c, srv_conn_ready(c, ready & (EPOLLIN | EPOLLHUP | EPOLLERR),
								      ready & (EPOLLOUT | EPOLLERR)));
		}
		srv_idle_sweep(srv_conn_free); /* closing drops it from the set */
	}
	srv_conn_free_all(NULL);
	close(r->epfd);
	return NULL;
}

int main(int argc, char **argv)
{
	sigset_t stops, old;
	cpu_set_t cpus;

	srv_init("epoll-mt", argc, argv, SRV_OPT_THREADS);
	int n = srv_opts.threads;
	if (n == 0)
		n = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;

	struct reactor *rs = calloc((size_t)n, sizeof *rs);
	int *lfds = calloc((size_t)n, sizeof *lfds);
	if (rs == NULL || lfds == NULL) {
		fprintf(stderr, "rot13-epoll-mt: no memory for %d threads\n", n);
		return 1;
	}
	srv_listen_reuseport(lfds, n);
	/* Every epoll instance before the ready line: once clients come, a
	 * reactor could find the descriptors all taken by another's accepts. */
	for (int i = 0; i < n; i++) {
		rs[i].lfd = lfds[i];
		rs[i].epfd = srv_epoll_open(lfds[i]);
	}

	/* The reactors inherit a mask without the stop signals, so that the
	 * main thread takes them; it waits for one with the mask lifted. */
	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stops, &old);
	for (int i = 0; i < n; i++) {
		/* 256 KiB stacks: a reactor needs its event array and little more. */
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 << 10);
		int rc = pthread_create(&rs[i].thread, &attr, reactor, &rs[i]);
		pthread_attr_destroy(&attr);
		if (rc != 0) {
			fprintf(stderr, "rot13-epoll-mt: pthread_create: %s\n", strerror(rc));
			return 1;
		}
	}
	/* Only now: evbench lists the threads at this line, to count the
	 * reactors' system calls (bench/sweep/mech.c). */
	srv_ready();
	while (!srv_stop)
		sigsuspend(&old); /* the handler sets srv_stop (no wake-up is lost: blocked until here) */

	char more[64 + SRV_MAX_THREADS * 21];
	int len = snprintf(more, sizeof more, ",\"threads\":%d,\"accepted_by_thread\":[", n);
	for (int i = 0; i < n; i++) {
		pthread_join(rs[i].thread, NULL);
		close(rs[i].lfd);
		len += snprintf(more + len, sizeof more - (size_t)len, "%s%llu", i ? "," : "",
				(unsigned long long)rs[i].accepted);
	}
	snprintf(more + len, sizeof more - (size_t)len, "]");
	srv_report_more("epoll", more);
	free(rs);
	free(lfds);
	return 0;
}
