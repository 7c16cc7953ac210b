/*
 * mech.h - why a design costs what it costs: system calls by name, wake-ups
 * of the waiting call and the descriptors each wake-up returned, counted by
 * the kernel from outside the process (docs/results.md, "Mechanism").
 *
 * A counting session is one `perf stat` process attached with -p to a pid
 * (the server's leader, or evbench itself for the client). It is started
 * before the load, while the target has its first threads only, so that the
 * kernel's counter inheritance follows every thread and child the target
 * creates afterwards, and it counts nothing until mech_enable(): the
 * counters are switched on and off through perf's control FIFO at the
 * measure phase's edges, and perf's acknowledgement is awaited, so the
 * window is the measure phase to within a round trip.
 *
 * Every count comes from a syscall tracepoint: raw_syscalls:sys_enter for
 * the total, syscalls:sys_enter_<name> for each name of the list below, and
 * syscalls:sys_exit_<wait call> with filters `ret >= k` for the waiting
 * call's results (a counter cannot add up return values, but a set of
 * thresholds can: the sum of min(ret, K) is exact, beyond it a bound).
 *
 * When perf is missing, not permitted, or dies, the session holds a reason
 * and every count reads as not measured; the run goes on.
 *
 * Conventions: 0 or -1; nothing prints or exits.
 */
#ifndef EVBENCH_MECH_H
#define EVBENCH_MECH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "designs.h"
#include "json.h"

/* The system calls counted by name: what the designs and the load generator
 * make per request, per connection and per wake-up. Any other call counts
 * in `other` (the total less these). X(name) */
#define MECH_SYSCALLS(X) \
	X(read) X(write) X(readv) X(writev) X(recvfrom) X(sendto) X(recvmsg) X(sendmsg) \
	X(accept) X(accept4) X(close) X(shutdown) X(epoll_ctl) \
	X(epoll_wait) X(epoll_pwait) X(poll) X(ppoll) X(select) X(pselect6) X(io_uring_enter) \
	X(futex) X(clone) X(clone3) X(wait4) X(exit) X(fcntl)

enum {
#define MECH_ENUM(n) MECH_SC_##n,
	MECH_SYSCALLS(MECH_ENUM)
#undef MECH_ENUM
	MECH_NSYSCALLS
};

/* The name of syscall index i of the list. */
const char *mech_syscall_name(int i);

/* The waiting calls whose wake-ups count are those of the design's row
 * (common/designs.h, enum evb_wait), in pairs of the same family (glibc may
 * make either of a pair). */

/* The thresholds k of the `ret >= k` counters: exact to 8, then steps of
 * a factor of about 1.41 to 16,384, so that the mean ready count per
 * wake-up is exact when no wake-up returned more than 8, and bounded within
 * a factor of 1.41 beyond. */
#define MECH_NTHRESH 30
extern const long mech_thresh[MECH_NTHRESH];

/* What one session counted over its window. */
struct mech_counts {
	bool     valid;                /* perf counted; else reason says why not */
	char     reason[200];
	uint64_t total;                /* every system call entered */
	uint64_t by_name[MECH_NSYSCALLS];
	uint64_t named;                /* bit i: by_name[i] was counted */
	bool     per_task;             /* counted per task (inherited), not per CPU */
	enum evb_wait wait;           /* the family whose wake-ups were counted */
	uint64_t wakeups;              /* returns of the waiting calls */
	bool     have_ready;           /* the threshold counters were read */
	uint64_t ge[MECH_NTHRESH];     /* returns with ret >= mech_thresh[i] */
};

/* A counting session. */
struct mech_session {
	pid_t pid;                     /* perf's, 0 when none runs */
	int   ctl, ack;                /* the control FIFOs, -1 when closed */
	char  dir[64];                 /* their temporary directory */
	struct mech_counts c;          /* filled by mech_finish() */
	enum evb_wait wait;
	uint64_t named;                /* the names asked for (bits of the list) */
	bool  per_task;
	bool  files;                   /* outfd and errfd are open (the paths are gone) */
	int   outfd, errfd;            /* perf's -o file and its stderr */
};

/*
 * Starts `perf stat` on one side, its counters disabled, and waits up to 5 s
 * for perf to answer on its control FIFO. Two ways, because a counter that
 * follows a task is switched out and in with it at every context switch, and
 * with some sixty counters that costs more than the work it counts:
 *
 *  - ntids > 0: the side's threads are all known and it creates no more
 *    (the event loops): per-CPU counters (perf stat -a) whose tracepoint
 *    filter keeps only those threads' calls. Every named call, the wake-ups
 *    and, unless wait is EVB_WAIT_NONE or URING, the ready thresholds.
 *  - ntids == 0: target creates a thread or a process per connection (fork,
 *    threads): per-task counters on target (perf stat -p) that the kernel
 *    inherits into every thread and child it creates later, and folds back
 *    when they exit. Only the total and the MECH_TASK_SET calls, to keep the
 *    context-switch cost down; no wake-ups (these designs have no waiting
 *    call).
 *
 * Without names, only the total (and the wake-ups and ready thresholds) are
 * counted: a second tracepoint hit per system call is what a name costs.
 *
 * Returns 0, or -1 with s->c.reason set (perf not found, not permitted...);
 * the session is then inert and the other calls do nothing. PATH decides
 * which perf runs.
 */
int mech_start(struct mech_session *s, pid_t target, const pid_t *tids, int ntids,
	       enum evb_wait wait, bool names);

/* The calls counted by name in per-task mode: what a process or a thread per
 * connection makes. */
#define MECH_TASK_SET ((1ULL << MECH_SC_read) | (1ULL << MECH_SC_write) | \
		       (1ULL << MECH_SC_writev) | (1ULL << MECH_SC_accept) | \
		       (1ULL << MECH_SC_accept4) | (1ULL << MECH_SC_close) | \
		       (1ULL << MECH_SC_futex) | (1ULL << MECH_SC_clone) | \
		       (1ULL << MECH_SC_clone3) | (1ULL << MECH_SC_wait4))

/* Switches the counters on or off, and waits for perf's acknowledgement
 * (at most 2 s). Returns 0, or -1 (the session becomes inert, with a reason). */
int mech_enable(struct mech_session *s);
int mech_disable(struct mech_session *s);

/* The same for two sessions at once (server and client): both commands are
 * sent before either acknowledgement is awaited. Returns -1 if either failed. */
int mech_enable_pair(struct mech_session *a, struct mech_session *b);
int mech_disable_pair(struct mech_session *a, struct mech_session *b);

/* Ends perf (SIGINT, then SIGKILL after 2 s), reads its counts into s->c and
 * removes the FIFOs. Returns 0 when s->c.valid, else -1. Safe on an inert
 * or never-started session. */
int mech_finish(struct mech_session *s);

/* Parses the CSV perf stat -x, wrote for a session of this wait family and
 * these names (one line per counter, in the order mech_start() asked for
 * them) into c. Returns 0, or -1 with c->reason set. For the tests. */
int mech_parse(const char *text, enum evb_wait wait, uint64_t named, struct mech_counts *c);

/* The mean number of descriptors a wake-up returned: *lo and *hi bound it
 * (equal when no wake-up returned more than 8), and the return is their
 * middle; -1 when it cannot be had (no wake-ups, no threshold counters). */
double mech_ready_per_wakeup(const struct mech_counts *c, double *lo, double *hi);

/* The indices of the named calls with non-zero counts, most frequent first
 * (ties in list order), into idx (room for MECH_NSYSCALLS). Returns how many. */
int mech_top(const struct mech_counts *c, int *idx);

/* Writes the JSON object of one side (docs/results.md, "Mechanism"):
 * counts per request over `replies`, and the context switches vcsw and ivcsw
 * over the same window (negative = not measured, with csw_reason). */
void mech_json_side(struct json_writer *w, const struct mech_counts *c, uint64_t replies,
		    long vcsw, long ivcsw, const char *csw_reason);

#endif
