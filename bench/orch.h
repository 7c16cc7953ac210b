/*
 * orch.h - starting and stopping the ROT13 servers (the lifecycle of
 * docs/protocol.md), so that nothing outlives evbench.
 *
 * A server is started with fork() and exec() in a process group of its own
 * (so its whole group can be sampled and killed at once) on port 0, with
 * PR_SET_PDEATHSIG(SIGKILL) set between fork and exec: if evbench dies, even
 * by SIGKILL, the kernel kills the server, and the servers' own children
 * (fork) die with their server. Its stdout is a pipe (the ready line, later
 * the JSON stop report); its stderr goes to an unlinked temporary file whose
 * tail is kept for the results when the server fails.
 *
 * Servers are looked up next to evbench's own executable (/proc/self/exe), so
 * an instrumented build in build-<san>/bin runs its own servers.
 *
 * Conventions: functions return 0 or -1 with a one-line reason in the
 * caller's buffer; they never print and never exit.
 */
#ifndef EVBENCH_ORCH_H
#define EVBENCH_ORCH_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "counters.h"
#include "designs.h"

/* A server as evbench names it, resolved to a binary and its arguments. */
struct orch_server {
	const struct evb_design *d; /* its row of the design table */
	char name[32];          /* the row's name, with "@label" for a second entry of
	                           the same design (an A/A comparison, evbench ab) */
	char path[PATH_MAX];    /* bin/rot13-<design> beside evbench */
	bool built;             /* path exists and is executable */
};

/* Resolves a name or alias of the design table (designs.h: "epoll" is
 * epoll-lt, "evbase-poll" is rot13-evbase --backend poll) to *s. Returns 0,
 * or -1 for an unknown name. */
int orch_resolve(const char *name, struct orch_server *s);

/* The directory holding evbench's own executable. */
const char *orch_bin_dir(void);

/* The server counters of the stop report (docs/protocol.md), in the order
 * of SRV_COUNTERS (common/counters.h). */
#define ORCH_NCOUNTERS SRV_NCOUNTERS
extern const char *const orch_counter_names[ORCH_NCOUNTERS];
struct orch_counters {
	bool   valid;                   /* a well-formed report was read */
	char   design[32], backend[32];
	int64_t v[ORCH_NCOUNTERS];      /* in orch_counter_names' order; -1 = absent */
	long   threads;                 /* the report's `threads` (epoll-mt), 0 = not said */
};
/* Index of a counter by name, or -1. */
int orch_counter_index(const char *name);
/* The counter named name, or -1 when absent. */
int64_t orch_counter(const struct orch_counters *c, const char *name);

/* A running (or finished) server. Zero it before orch_start(). */
struct orch_proc {
	pid_t  pid;             /* also its process group; 0 before start */
	int    out;             /* read end of its stdout, -1 when closed */
	FILE  *errf;            /* its stderr, an unlinked temporary file */
	int    port;            /* from the ready line */
	double t_spawn, ready_s;/* when it was started; seconds until ready */
	char   buf[8192];       /* stdout read but not yet consumed as a line */
	size_t len;
	/* after orch_stop() */
	bool   reaped;
	int    status;          /* wait status */
	bool   died_early;      /* had exited before evbench asked it to stop */
	bool   unavailable;     /* exited EVB_EXIT_UNAVAILABLE before ready: the design
	                           cannot run on this machine, and is skipped */
	bool   killed;          /* did not exit within the stop timeout: SIGKILLed */
	double stop_s;          /* seconds from SIGTERM to exit */
	struct rusage ru;       /* from wait4(): its whole life, reaped children included */
	struct orch_counters counters;
	char   stderr_tail[1024];
};

/*
 * Starts s with `args` (extra arguments, NULL-terminated, may be NULL), and
 * waits up to ready_timeout_s for its ready line. Returns 0 with p->port set;
 * or -1 with a reason in err (exec failed, exited before ready, timeout,
 * malformed line), in which case the group has been killed and reaped and
 * p->status/stderr_tail say what is known. A server that exits with
 * EVB_EXIT_UNAVAILABLE (common/designs.h) sets p->unavailable, and err is
 * ORCH_SKIPPED followed by the reason it gave on stderr.
 */
#define ORCH_SKIPPED "skipped: "

int orch_start(struct orch_proc *p, const struct orch_server *s, char *const *args,
	       double ready_timeout_s, char *err, size_t errlen);

/* True while the server has not exited (it is not reaped by this). */
bool orch_alive(const struct orch_proc *p);

/*
 * Stops the server: SIGTERM to its pid, reads the JSON stop report, reaps it
 * with its rusage; SIGKILLs the group if it has not exited within timeout_s,
 * and SIGKILLs whatever is left of the group in any case. Returns 0 when it
 * exited 0 with a report, else -1 with the reason in err. Never leaves a
 * process of the group alive.
 */
int orch_stop(struct orch_proc *p, double timeout_s, char *err, size_t errlen);

/* Releases the pipe and the stderr file. */
void orch_release(struct orch_proc *p);

/* SIGKILLs the group of the server running now, if any. Async-signal-safe:
 * for signal handlers and atexit(). */
void orch_kill_current(void);

/* "exited 0", "killed by SIGSEGV", ... for a wait status. */
const char *orch_status_text(int status, char *buf, size_t len);

#endif
