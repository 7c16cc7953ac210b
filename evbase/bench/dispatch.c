/*
 * dispatch.c — the classic event-library benchmark, written against the
 * libevent 2.1 core API so that it builds against libevent and against
 * evbase alike (evbase/bench/run-dispatch.sh compares the two).
 *
 * n socketpairs each have a persistent read event. a of them, spread evenly,
 * get one byte; every callback reads its byte and, while the budget of w
 * writes lasts, writes one byte to the next pair, so a chains of activity
 * walk through the pairs. What is timed is the dispatch phase only: from the
 * first byte sent to the last callback, the loop run with EVLOOP_ONCE |
 * EVLOOP_NONBLOCK as in the original. Setting the events up again before
 * every run (event_del + event_assign + event_add on all n) is not timed.
 *
 * The cost that is left is per loop round (what the backend does with the
 * n - a idle descriptors: nothing for epoll, a scan for poll and select) and
 * per callback (the library's bookkeeping around recv() and send()).
 *
 *   dispatch [-n pairs] [-a active] [-w writes] [-r runs] [-b backend] [-c] [-e] [-t]
 *
 * Prints one line: library, backend, n, a, w, runs, then the median and the
 * minimum time of a run in microseconds: wall time, or with -c the thread's
 * CPU time. -e makes the events edge-triggered (EV_ET); -t calls
 * evthread_use_pthreads() first, so that the base is locked.
 */
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/util.h>
#include <event2/thread.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef EVBASE
#define LIBRARY "evbase"
#else
#define LIBRARY "libevent"
#endif

static int npairs, nactive, nwrites;
static evutil_socket_t (*pairs)[2];
static struct event *events;
static int writes_left, fired, count, failures;

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	int idx = (int)(intptr_t)arg, next = idx + 1 == npairs ? 0 : idx + 1;
	char c;

	if (recv(fd, &c, 1, 0) == 1)
		count++;
	else
		failures++;
	if (writes_left > 0) {
		if (send(pairs[next][1], "e", 1, 0) != 1)
			failures++;
		writes_left--;
		fired++;
	}
}

/* Wall time, or with -c the CPU time of this (the only) thread, user and
 * system: on a shared machine a run that is descheduled loses wall time but
 * no CPU time. The kernel's work for the loop (epoll_wait, io_uring's task
 * work, the wake-ups that send() causes) runs in this thread and counts. */
static clockid_t clock_id = CLOCK_MONOTONIC;
/* -e: edge-triggered events (EV_ET); every callback reads all there is (one
 * byte), so the result is the same. */
static short et_flag;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(clock_id, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The dispatch phase proper, apart so that an instruction count can be
 * limited to it (valgrind --tool=cachegrind --toggle-collect=dispatch_phase;
 * evbase/bench/ir-dispatch.sh). */
__attribute__((noinline)) static void dispatch_phase(struct event_base *base)
{
	do {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	} while (count != fired);
}

/* One run; returns the dispatch phase in microseconds. */
static double run_once(struct event_base *base)
{
	int space = npairs / nactive;
	double t0;

	for (int i = 0; i < npairs; i++) {
		if (event_initialized(&events[i]))
			event_del(&events[i]);
		event_assign(&events[i], base, pairs[i][0], EV_READ | EV_PERSIST | et_flag,
		    read_cb, (void *)(intptr_t)i);
		event_add(&events[i], NULL);
	}
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);

	fired = count = 0;
	writes_left = nwrites;
	for (int i = 0; i < nactive; i++, fired++)
		if (send(pairs[i * space][1], "e", 1, 0) != 1)
			failures++;
	t0 = now_us();
	dispatch_phase(base);
	return now_us() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void usage(void)
{
	fprintf(stderr, "usage: dispatch [-n pairs] [-a active] [-w writes] [-r runs] [-b backend] [-c] [-e] [-t]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *backend = NULL;
	struct event_config *cfg;
	struct event_base *base;
	struct rlimit rl;
	int runs = 10, opt;
	double *t;

	npairs = 100;
	nactive = 1;
	nwrites = 1000;
	while ((opt = getopt(argc, argv, "n:a:w:r:b:cet")) != -1) {
		switch (opt) {
		case 'n': npairs = atoi(optarg); break;
		case 'a': nactive = atoi(optarg); break;
		case 'w': nwrites = atoi(optarg); break;
		case 'r': runs = atoi(optarg); break;
		case 'b': backend = optarg; break;
		case 'c': clock_id = CLOCK_THREAD_CPUTIME_ID; break;
		case 'e': et_flag = EV_ET; break;
		case 't':
			/* A locked base: what thread support costs when on. */
			if (evthread_use_pthreads() < 0) {
				fprintf(stderr, "dispatch: evthread_use_pthreads failed\n");
				return 1;
			}
			break;
		default: usage();
		}
	}
	if (npairs < 1 || nactive < 1 || nactive > npairs || nwrites < 0 || runs < 1)
		usage();

	/* Two descriptors per pair, plus a few for stdio and the library. */
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if ((rlim_t)npairs * 2 + 16 > rl.rlim_cur) {
		fprintf(stderr, "dispatch: %d pairs need %d descriptors; the limit is %lu\n",
		    npairs, npairs * 2 + 16, (unsigned long)rl.rlim_cur);
		return 1;
	}

	cfg = event_config_new();
	if (backend)
		for (const char **m = event_get_supported_methods(); *m; m++)
			if (strcmp(*m, backend))
				event_config_avoid_method(cfg, *m);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (!base || (backend && strcmp(event_base_get_method(base), backend))) {
		fprintf(stderr, "dispatch: no event base with backend %s\n", backend ? backend : "(any)");
		return 1;
	}

	pairs = calloc((size_t)npairs, sizeof(*pairs));
	events = calloc((size_t)npairs, sizeof(*events));
	t = calloc((size_t)runs, sizeof(*t));
	if (!pairs || !events || !t)
		return 1;
	for (int i = 0; i < npairs; i++) {
		if (evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[i]) < 0) {
			fprintf(stderr, "dispatch: socketpair: %s\n", strerror(errno));
			return 1;
		}
		evutil_make_socket_nonblocking(pairs[i][0]);
		evutil_make_socket_nonblocking(pairs[i][1]);
	}

	run_once(base);		/* warm-up: caches, page faults, epoll's array */
	for (int r = 0; r < runs; r++)
		t[r] = run_once(base);
	qsort(t, (size_t)runs, sizeof(*t), cmp_double);
	printf("%s %s %d %d %d %d %.1f %.1f\n", LIBRARY, event_base_get_method(base),
	    npairs, nactive, nwrites, runs, t[runs / 2], t[0]);
	if (failures)
		fprintf(stderr, "dispatch: %d failed reads or writes\n", failures);

	for (int i = 0; i < npairs; i++) {
		event_del(&events[i]);
		close(pairs[i][0]);
		close(pairs[i][1]);
	}
	event_base_free(base);
	free(pairs);
	free(events);
	free(t);
	return failures != 0;
}
