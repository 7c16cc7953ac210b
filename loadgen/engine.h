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
	int       wakefd;           /* eventfd: the controller's pokes (lg__poke) */
	const struct lg_io *io;     /* the I/O mechanism (cfg.io) */
	int       epfd;             /* io_epoll.c's: the epoll instance */
	struct uring *ur;           /* uring.c's: the ring and its buffers */
	int       phase;            /* the phase this thread acts on */
	struct conn *conns;
	uint32_t  nconns, nactive;
	uint64_t *tsent_store;
	char     *tape, *rtape;     /* size-1+TAPE_SLACK bytes each */
	char     *rbuf, *wbuf;      /* io_epoll.c's: receive and send scratch buffers */

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
	uint64_t  closed_unserved;  /* of errors: closed by the server before any reply byte */
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

enum cstate { C_DOWN, C_CONNECTING, C_UP, C_RETIRED };

struct conn {
	int      fd;
	uint8_t  state;
	uint8_t  active;           /* carries requests */
	uint8_t  want_write;       /* a send stopped short; waiting for EPOLLOUT */
	uint8_t  bad;              /* the reply being read already differs */
	uint8_t  send_pending;     /* io_uring: a SEND of this slot is in flight */
	uint8_t  recv_pending;     /* io_uring: a RECV of this slot is in flight */
	uint16_t src;              /* index into the source addresses */
	uint32_t id;               /* global slot number */
	uint32_t gen;              /* connection generation: drops events of a closed socket */
	int32_t  heap_pos;         /* open loop: position in the thread's timer heap, -1 if none */
	uint32_t woff;             /* bytes of request wnext already sent */
	uint32_t roff;             /* bytes of reply rseq already received */
	uint64_t wnext;            /* request the next unsent byte belongs to */
	uint64_t upto;             /* requests [0, upto) are decided; the writer catches up */
	uint64_t rseq;             /* request whose reply is being read */
	uint64_t conn_base;        /* first request on the current connection */
	uint64_t out_bytes, in_bytes; /* on the current connection, to catch extra bytes */
	uint64_t t_start;          /* connect started (ns) */
	uint64_t retry_at;         /* C_DOWN: when to reconnect (ns), 0 = not scheduled */
	uint64_t backoff;          /* current reconnect backoff (ns) */
	double   sched_base;       /* open loop: intended time of request 0 (ns) */
	uint64_t send_ts;          /* io_uring: when the in-flight SEND was submitted */
	uint64_t *t_sent;          /* pipeline slots: actual send time of request seq % pipeline */
};

/* Requests started on c (first byte sent) and not yet answered. */
static inline uint64_t lg__started(const struct conn *c)
{
	return c->wnext + (c->woff > 0);
}

/* Open loop: when request seq of c was due (ns, CLOCK_MONOTONIC). */
static inline double lg__intended(const struct lthread *t, const struct conn *c, uint64_t seq)
{
	return c->sched_base + (double)seq * t->interval;
}

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

/* Sets up thread idx of sh (connections, tape, buffers, eventfd) and its
 * share of the I/O mechanism io. Returns 0 or a negative errno;
 * lg__thread_free() undoes it either way. */
struct lg_io;
int lg__thread_init(struct shared *sh, struct lthread *t, int idx, const struct lg_io *io);
void lg__thread_free(struct lthread *t);

/* The load thread: follows sh->phase until DRAIN is over or DONE. */
void *lg__thread_main(void *arg);

/* engine.c, for the I/O mechanisms: the connection's life and the byte
 * streams. lg__pump() decides and sends what c may send now. */
void lg__pump(struct lthread *t, struct conn *c, uint64_t now);
void lg__conn_fail(struct lthread *t, struct conn *c, int cause, uint64_t now);
void lg__conn_close(struct lthread *t, struct conn *c, bool retry, uint64_t backoff, uint64_t now);
void lg__conn_established(struct lthread *t, struct conn *c, uint64_t now);
size_t lg__build(const struct lthread *t, const struct conn *c, char *buf, size_t cap);
void lg__account_sent(struct lthread *t, struct conn *c, size_t r, uint64_t now);
bool lg__consume(struct lthread *t, struct conn *c, const char *p, size_t n, uint64_t now);
void lg__after_read(struct lthread *t, struct conn *c, uint64_t now);

/*
 * A load thread's I/O mechanism, the counterpart of evbase's backend table:
 * io_epoll.c (lg__io_epoll) and uring.c (lg__io_uring) each implement these
 * operations; run.c picks one per run (cfg.io) and engine.c reaches it only
 * through t->io. The mechanisms call engine.c's functions above, never each
 * other, and engine.c names neither: no file depends on one that depends on
 * it.
 */
struct lg_io {
	const char *name;
	int  sock_flags;        /* added to socket()'s type (SOCK_NONBLOCK for epoll) */
	/* Sets up the thread's share of the mechanism: 0 or a negative errno;
	 * free() undoes it either way. */
	int  (*init)(struct lthread *t);
	void (*free)(struct lthread *t);
	void (*start)(struct lthread *t);           /* on the load thread, before its loop */
	/* c->fd is made (and bound): connect it, and report through
	 * lg__conn_established() or lg__conn_fail(). */
	void (*connect)(struct lthread *t, struct conn *c, uint64_t now);
	void (*established)(struct lthread *t, struct conn *c);  /* before its first request */
	void (*write)(struct lthread *t, struct conn *c);  /* send requests [started, upto) */
	void (*closing)(struct lthread *t, struct conn *c);      /* just before close(c->fd) */
	/* Waits up to wait_ns for I/O or a poke of wakefd, and handles it. */
	void (*wait)(struct lthread *t, long long wait_ns);
	/* Operations in flight that still use the thread's buffers. */
	unsigned long long (*pending)(const struct lthread *t);
};
extern const struct lg_io lg__io_epoll, lg__io_uring;

#endif
