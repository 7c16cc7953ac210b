/*
 * srv.h — everything the ROT13 servers share that is not the multiplexing.
 *
 * Each servers/rot13_<design>.c owns only the way it waits for descriptors
 * (fork, threads, select, poll, epoll, an event library). The rest lives here,
 * so that `diff rot13_poll.c rot13_epoll_lt.c` shows the multiplexing and
 * little else: the command line, the listening socket, accept() with its
 * descriptor-limit handling, the per-connection line buffer and reply queue,
 * the counters and the stop signal.
 *
 * Error convention: setup functions (srv_init, srv_listen) die with one line
 * on stderr, since a server that cannot start has nothing better to do.
 * Everything on the connection path counts its failures and carries on.
 */
#ifndef EVBENCH_SERVERS_SRV_H
#define EVBENCH_SERVERS_SRV_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "counters.h"

/* ---- command line --------------------------------------------------------- */

struct srv_opts {
	const char *addr;    /* --addr, default 127.0.0.1 */
	int port;            /* --port, default 0: an ephemeral port */
	size_t max_line;     /* --max-line: bytes a partial line may hold */
	size_t max_pending;  /* --max-pending: unsent reply bytes before reading stops */
	uint64_t work_ns;    /* --work-us and --work-ns together: busy work per line, in ns,
	                        the gate's known slowdown */
	const char *backend; /* --backend, only for designs that declare SRV_OPT_BACKEND */
	unsigned idle_timeout_s; /* --idle-timeout: 0 (the default) keeps idle connections */
	unsigned long max_children; /* --max-children, SRV_OPT_CHILDREN only; 0: the design's default */
	int threads;         /* --threads, SRV_OPT_THREADS only; 0: the design's default */
	bool echo;           /* --echo: answer each line with itself instead of its rot13
	                        (docs/protocol.md, "Echo"); every design, one place: srv_conn.c */
};

#define SRV_OPT_BACKEND  1u /* the design accepts --backend NAME */
#define SRV_OPT_CHILDREN 2u /* the design accepts --max-children N (fork) */
#define SRV_OPT_THREADS  4u /* the design accepts --threads N (epoll-mt) */
#define SRV_MAX_THREADS  1024 /* --threads at most */

/* A design's own check of its options failed: print the reason and the
 * usage on stderr, exit 2. */
void srv_bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Global options, valid after srv_init(). */
extern struct srv_opts srv_opts;

/*
 * Parse the command line into srv_opts, raise RLIMIT_NOFILE to its hard
 * limit, map the counters, ignore SIGPIPE and route SIGTERM/SIGINT to
 * srv_stop (without SA_RESTART, so that they interrupt blocking calls). Bad arguments print a one-line reason and the usage, exit 2.
 * `flags` is a mask of SRV_OPT_* the design understands.
 */
void srv_init(const char *design, int argc, char **argv, unsigned flags);

/* ---- stopping ------------------------------------------------------------- */

/*
 * Set by SIGTERM or SIGINT. Loops test it after every wait. The thread that
 * takes the signal may read it plainly; any other thread (the threads design's
 * connection threads) must use srv_stopping(): a volatile sig_atomic_t is safe
 * only between a handler and the thread it interrupted, and ThreadSanitizer
 * rightly calls a plain read from another thread a data race.
 */
extern volatile sig_atomic_t srv_stop;

/* srv_stop, read atomically: for code that may run on any thread. */
static inline bool srv_stopping(void)
{
	return __atomic_load_n(&srv_stop, __ATOMIC_RELAXED) != 0;
}

/*
 * How long a wait may block before the loop looks at srv_stop again. The
 * signal handler only sets the flag; the signal usually interrupts the wait
 * (EINTR) at once, but one that lands between the test of srv_stop and the
 * wait is noticed only when the wait times out. The textbook cure, passing a
 * mask to pselect/ppoll/epoll_pwait, fails under load: Linux delivers a signal
 * unblocked that way only if the call would have slept, and a server with
 * ready descriptors on every call would never see its SIGTERM. An idle
 * server's four wake-ups a second cost nothing measurable.
 */
#define SRV_STOP_CHECK_MS 250

/* ---- listening and accepting --------------------------------------------- */

/* Bind and listen on srv_opts.addr:port (non-blocking, SO_REUSEADDR), print
 * the ready line `ready <design> port=<port> pid=<pid>`; dies on failure. */
int srv_listen(void);

/* The same for a group of n listeners on one port with SO_REUSEPORT, into
 * fds[0..n): the kernel spreads new connections over them by a hash of the
 * client's address and port; dies on failure. It prints no ready line: the
 * caller calls srv_ready() once its threads exist, since evbench lists the
 * server's threads at that line to count their system calls. */
void srv_listen_reuseport(int *fds, int n);

/* Print the ready line (srv_listen does it itself). */
void srv_ready(void);

#define SRV_AGAIN (-1) /* nothing left to accept now */
#define SRV_SHED  (-2) /* one connection was refused and counted; try again */

/*
 * Accept one connection, non-blocking and close-on-exec when `nonblock`,
 * otherwise blocking. Returns the descriptor, SRV_AGAIN or SRV_SHED.
 *
 * On EMFILE or ENFILE the waiting connection is shed and counted: a spare
 * descriptor held for that purpose is closed, the connection accepted and
 * closed at once, the spare reopened. The listening socket is then no longer
 * readable for that connection, so a level-triggered loop cannot spin on it,
 * and the client learns at once instead of waiting in the backlog. When even
 * the spare cannot be had, the call sleeps 10 ms: a slow accept rate beats a
 * hot loop. A connection reset in the backlog is counted as a reset.
 */
int srv_accept(int lfd, bool nonblock);

/*
 * The event loops' accept: up to SRV_ACCEPT_BATCH connections per wake-up,
 * so that the clients already held get a turn, each accepted non-blocking
 * (srv_accept) and handed to add(fd, arg), which owns it from then on.
 * Returns early once nothing is left to accept.
 */
#define SRV_ACCEPT_BATCH 64
void srv_accept_batch(int lfd, void (*add)(int fd, void *arg), void *arg);

/*
 * The same for the designs that give each connection a process or a thread
 * of its own: up to SRV_ACCEPT_BATCH connections, each accepted blocking and
 * handed to start(fd, arg), which owns it. Both batches end early once
 * srv_stop is set, so that a backlog that never empties cannot keep the
 * caller from stopping (or the fork server from reaping its children).
 */
void srv_accept_blocking_batch(int lfd, void (*start)(int fd, void *arg), void *arg);

/* Close the listening socket and the spare in a forked child. */
void srv_child_closefds(int lfd);

/* ---- connections ---------------------------------------------------------- */

/*
 * One client. The partial line and the unsent replies are allocated only
 * while they hold bytes, so an idle connection costs this struct alone.
 * Replies are rot13'd as soon as they are read (under --echo they are left
 * as read): the transform is byte-wise, so the buffers always hold output,
 * never input.
 */
struct srv_conn {
	int fd;
	bool eof;           /* the client half-closed; close once out is flushed */
	char *line;         /* partial line, < max_line bytes (transformed) */
	size_t line_len;
	char *out;          /* replies not yet accepted by the kernel */
	size_t out_off, out_len, out_cap;
	bool blocking;      /* srv_serve_blocking: write everything, never queue */
	bool deferred;      /* the design sends c->out itself (srv_conn_input): never write */
	size_t sending;     /* deferred: bytes taken by srv_conn_take_out, not yet srv_conn_sent */
	unsigned watch;     /* the design's: the srv_want mask it watches now */
	void *user;         /* the design's own per-connection data */
	int64_t last_ms;    /* srv_now_ms() when a byte last moved; kept only with --idle-timeout */
};

/* What a connection wants from the multiplexer next. */
enum srv_want {
	SRV_CLOSE = 0,      /* done or failed: call srv_conn_free() */
	SRV_READ = 1,       /* watch for readable */
	SRV_WRITE = 2,      /* watch for writable */
	SRV_MORE = 4,       /* edge-triggered only: its turn ended before EAGAIN; see srv_conn_readable */
};

/* Count a connection taken into service (accepted, open now, peak). */
void srv_conn_opened(void);

/* Close a descriptor counted by srv_conn_opened() and count it closed. A
 * negative fd counts one closed elsewhere: with its process (fork's killed
 * child) or by a library (srv_conn_release). */
void srv_conn_closed(int fd);

/* Allocate the state of an accepted descriptor, count it opened and file it
 * under its descriptor. NULL when out of memory: the descriptor is then
 * closed and counted as an error. The table is the calling thread's own:
 * srv_conn_get, srv_conn_free_all and srv_idle_sweep see only the
 * connections that thread filed. */
struct srv_conn *srv_conn_new(int fd);

/* The connection filed under `fd`, or NULL. */
struct srv_conn *srv_conn_get(int fd);

/* Close the descriptor, count it closed and free everything. */
void srv_conn_free(struct srv_conn *c);

/* The same, but the descriptor is left open: for a library that closes it
 * itself (libuv's uv_close), which must then do so before anything else can
 * be given the same number. */
void srv_conn_release(struct srv_conn *c);

/* At stop: free every connection this thread filed, so that closed ==
 * accepted, calling `release` (if not NULL) first on each for the design's
 * own state. */
void srv_conn_free_all(void (*release)(struct srv_conn *));

/*
 * The client's descriptor is readable. Reads once, answers every complete
 * line and tries to send the replies at once. Returns a mask of enum srv_want.
 *
 * `edge` is for edge-triggered loops, which hear of new bytes only once and
 * so must read until EAGAIN. Reading until EAGAIN in one go would let a client
 * that sends as fast as it is read hold the loop for as long as it streams, so
 * a connection gets one turn per call, at most SRV_READ_TURN bytes (one buffer,
 * the share a level-triggered loop gives it). A turn that ends before EAGAIN
 * adds SRV_MORE to the result: the loop must come back to the connection
 * after the others have had their turn, without waiting for readiness.
 */
int srv_conn_readable(struct srv_conn *c, bool edge);

#define SRV_READ_TURN 65536 /* bytes a connection may read per turn: the read buffer */

/* The descriptor is writable: send what waits. Returns a mask of srv_want. */
int srv_conn_writable(struct srv_conn *c);

/*
 * A level-triggered loop's turn for a connection its waiting call reported:
 * send what waits when `writable`, then read once (srv_conn_readable, not
 * edge) when `readable` and the connection still reads. Each loop says which
 * of its mechanism's flags mean which; errors and hang-ups surface through
 * the read or write that follows. Returns a mask of srv_want.
 */
int srv_conn_ready(struct srv_conn *c, bool readable, bool writable);

/* Bytes of replies waiting to be sent. */
static inline size_t srv_conn_pending(const struct srv_conn *c)
{
	return c->out_len - c->out_off;
}

/* What the connection wants next (enum srv_want), from its state alone. */
int srv_conn_want(const struct srv_conn *c);

/* ---- designs whose I/O completes later (io_uring, libuv) ------------------- */

/*
 * A completion-based design reads into buffers of its own and sends from
 * buffers that must stay where they are until the kernel or the library says
 * the send is done, so the framer must never write itself, nor move a buffer
 * under a send in flight. Such a design sets c->deferred on a new connection
 * and uses these three instead of srv_conn_readable/srv_conn_writable.
 * Backpressure then counts both the replies still queued and those in flight.
 */

/* `n` bytes the design read (rot13'd in place unless --echo; n == 0: the client
 * half-closed) are framed and their replies queued. Returns a srv_want mask. */
int srv_conn_input(struct srv_conn *c, char *data, size_t n);

/* The replies queued so far, now the caller's to send and free(); NULL when
 * none wait. Their bytes count as c->sending until srv_conn_sent(). */
char *srv_conn_take_out(struct srv_conn *c, size_t *len);

/* `n` bytes of taken replies went out: counted, and the connection is not
 * idle. Returns a srv_want mask. */
int srv_conn_sent(struct srv_conn *c, size_t n);

/* A read or write that failed with `err` ends its connection: count it as a
 * reset (ECONNRESET, EPIPE) or an error. */
void srv_count_failure(int err);

/*
 * Serve one client with blocking I/O until it closes or fails (fork and
 * threads). Reads into `buf` of `bufsz` bytes; blocking writes give the
 * backpressure. Neither counts the connection opened nor closes it: the
 * caller does both, since fork and threads disagree on who may. Returns
 * early when srv_stop is set and a read or write is interrupted, also when
 * the write was partly done. With --idle-timeout, a read or write that makes
 * no progress for that long ends the connection (socket timeouts), counted in
 * idle_closed.
 */
void srv_serve_blocking(int fd, char *buf, size_t bufsz);

/* ---- idle connections (--idle-timeout) ------------------------------------- */

/* CLOCK_MONOTONIC in milliseconds. */
int64_t srv_now_ms(void);

/*
 * Close the connections that moved no byte, in either direction, for
 * --idle-timeout seconds, counting each in idle_closed. The event loops call
 * it after every wait (each reactor thread on its own connections); it does nothing without the option,
 * and walks the connections at most every SRV_IDLE_SWEEP_MS, so a connection
 * goes between S seconds and S + SRV_IDLE_SWEEP_MS + SRV_STOP_CHECK_MS after
 * its last byte. `close_conn` is the design's way to drop a connection (undo
 * its registration, then srv_conn_free). Returns how many it closed.
 * The blocking designs need none of this: srv_serve_blocking sets socket
 * timeouts instead.
 */
int srv_idle_sweep(void (*close_conn)(struct srv_conn *));

#define SRV_IDLE_SWEEP_MS 500

/* ---- counters ------------------------------------------------------------- */

/*
 * The counters of docs/protocol.md, one field per line of SRV_COUNTERS. They live in a shared anonymous mapping so that
 * forked children add to the parent's totals, and are updated with relaxed
 * atomics so that threads can too. One atomic add costs a few nanoseconds;
 * every update sits next to a system call that costs a microsecond.
 */
#define SRV_COUNTER_FIELD(name) uint64_t name;
struct srv_counters {
	SRV_COUNTERS(SRV_COUNTER_FIELD)  /* common/counters.h, the stop report's */
	uint64_t live;       /* open now; not reported, it feeds peak_conns */
};
#undef SRV_COUNTER_FIELD

extern struct srv_counters *srv_ctr;

#define SRV_COUNT(field, n) __atomic_fetch_add(&srv_ctr->field, (n), __ATOMIC_RELAXED)

/* Print the counters as one JSON line on stdout, after the design, its
 * backend and the protocol it spoke ("rot13" or "echo"): the stop report. */
void srv_report(const char *backend);

/* The same with the design's own members added at the end: `more` is empty
 * or starts with a comma (`,"threads":2`). */
void srv_report_more(const char *backend, const char *more);

#endif
