/*
 * engine.h - what the controller (run.c) and the load threads (engine.c)
 * share. Private to the library: nothing here is part of the API.
 */
#ifndef EVBENCH_LOADGEN_ENGINE_H
#define EVBENCH_LOADGEN_ENGINE_H

#include "loadgen.h"

#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn;
struct heap_ent;
struct uring;

/* What a thread publishes for the controller, alone on its cache lines. */
struct live {
	long     conns_up;
	uint64_t requests, replies, errors;
	int      connect_done, quota_done;
} __attribute__((aligned(64)));

struct lthread {
	struct shared *sh;
	int       idx;
	pthread_t tid;
	int       epfd, wakefd;
	struct uring *ur;           /* io_uring mode (cfg.io == LG_IO_URING), else NULL */
	int       phase;            /* the phase this thread acts on */
	struct conn *conns;
	uint32_t  nconns, nactive;
	uint64_t *tsent_store;
	char     *tape, *rtape;     /* size-1+TAPE_SLACK bytes each */
	char     *rbuf, *wbuf;

	/* connect ramp */
	uint32_t *todo;             /* slots still to connect in the connect phase */
	uint32_t  ntodo, todo_pos;
	uint32_t  connecting;
	double    connect_interval; /* ns between connects, 0 = no pacing */
	double    next_connect;
	bool      connect_signalled;

	/* open loop */
	struct heap_ent *heap;
	uint32_t  heap_len;
	double    interval;         /* ns between requests of one connection */

	/* requests mode */
	uint64_t  quota;            /* verified replies this thread owes the measure phase */
	bool      quota_signalled;
	uint64_t  inflight;         /* requests decided (sent or about to be), not yet
	                               answered or abandoned: sum over conns of upto - rseq */

	uint64_t  next_sweep;
	uint64_t  sweep_every;      /* timeout / 10, within [SWEEP_MIN_NS, SWEEP_MAX_NS] */
	uint64_t  drain_deadline;

	/* counters: measure phase */
	uint64_t  m_requests, m_replies, m_mismatch, m_bytes_out, m_bytes_in;
	/* counters: all phases */
	uint64_t  a_requests, a_replies, a_errors;
	uint64_t  connects, connect_failures, closes;
	long      conns_up, conns_peak;
	uint64_t  errors[LG_NPHASES][LG_NCAUSES];
	uint64_t  fd_emfile, fd_enfile, fd_eaddrnotavail;
	uint64_t  src_connects[LG_MAX_SOURCE_ADDRS];
	struct hist lat, lat_unc, conn_lat, send_lag;

	struct live live;
};

struct shared {
	struct lg_config cfg;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	struct sockaddr_storage src[LG_MAX_SOURCE_ADDRS];
	socklen_t srclen;
	int       phase;            /* written by the controller, read by threads (atomics) */
	int       ctlfd;            /* eventfd the threads poke the controller through */
	bool      open_loop;
	bool      stopping;         /* stop flag seen: drain short */
	int       nthreads;
	struct lthread *t;
};

static inline uint64_t lg__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int lg__load_phase(const struct shared *sh)
{
	return __atomic_load_n(&sh->phase, __ATOMIC_ACQUIRE);
}

/* Adds 1 to an eventfd, waking whoever polls it. */
void lg__poke(int fd);

/* Sets up thread idx of sh (connections, tape, buffers, epoll, eventfd).
 * Returns 0 or a negative errno; lg__thread_free() undoes it either way. */
int lg__thread_init(struct shared *sh, struct lthread *t, int idx);
void lg__thread_free(struct lthread *t);

/* The load thread: follows sh->phase until DRAIN is over or DONE. */
void *lg__thread_main(void *arg);

#endif
