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
 * A server evbench did not build is either a command or an address
 * (docs/your-server.md):
 *  - a command is started on a free port evbench chose and substituted for
 *    "{port}", without a shell, under a small keeper process that evbench
 *    forks: the keeper is pid 1 of a new PID namespace when the kernel allows
 *    it (root), so that when it goes, the kernel kills every process the
 *    command made, even one that left its process group, and it dies with
 *    evbench (PDEATHSIG). Without a namespace it is a child subreaper that
 *    kills what it inherits. It forwards SIGTERM to the command, reaps every
 *    orphan (their CPU reaches wait4()'s rusage through it), and exits with
 *    the command's status (128 + the signal that killed it). The command is
 *    ready when 127.0.0.1:port accepts a connection; it has no ready line and
 *    no stop report.
 *  - an address is a server someone else runs: evbench only checks that it
 *    accepts, and measures it from the client's side, or its CPU too when a
 *    local pid is named.
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

/* What kind of server an orch_server is. */
enum orch_kind {
	ORCH_BUILTIN,           /* a design of the table: bin/rot13-<design> */
	ORCH_COMMAND,           /* a user's command, started and stopped by evbench */
	ORCH_ADDRESS,           /* a user's server already running at host:port */
};

/* A server as evbench names it, resolved to a binary and its arguments. */
struct orch_server {
	const struct evb_design *d; /* its row of the design table; for a command or an
	                               address a row of its own (orch_parse_external) */
	enum orch_kind kind;
	char name[32];          /* the row's name, with "@label" for a second entry of
	                           the same design (an A/A comparison, evbench ab) */
	char path[PATH_MAX];    /* bin/rot13-<design> beside evbench; a command's first
	                           word; an address as given */
	bool built;             /* path exists and is executable (always, for the others) */
	char **argv;            /* ORCH_COMMAND: its words, NULL-terminated, "{port}" in
	                           any of them standing for the port */
	char host[64];          /* ORCH_ADDRESS: numeric IPv4 or IPv6 */
	int  port;              /* ORCH_ADDRESS */
	pid_t pid;              /* ORCH_ADDRESS: a local process to sample for CPU, or 0 */
};

/*
 * Parses a server the user names as NAME=SPEC (docs/your-server.md) into *s:
 * SPEC is a command line ("./mysrv --port {port}"), split into words as a
 * shell would split it but with no expansion (quotes '...' and "..." and
 * backslash escape; a shell is used only when the command names one, as in
 * "sh -c '...'"), which must contain {port}; or "@HOST:PORT" ("@[::1]:PORT"
 * for IPv6), optionally followed by " pid=PID". NAME is letters, digits,
 * '_' or '-', and not a design's name. Returns 0, or -1 with a one-line
 * reason in err.
 */
int orch_parse_external(const char *name, const char *spec, struct orch_server *s,
			char *err, size_t errlen);

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
	enum orch_kind kind;    /* its server's */
	pid_t  pid;             /* also its process group; 0 before start and for an
	                           address */
	int    out;             /* read end of its stdout, -1 when closed */
	FILE  *errf;            /* its stderr, an unlinked temporary file */
	int    port;            /* from the ready line, or chosen for a command */
	pid_t  cmd_pid;         /* ORCH_COMMAND: the command itself (pid is its keeper) */
	bool   pidns;           /* ORCH_COMMAND: the keeper is init of a PID namespace */
	FILE  *outf;            /* ORCH_COMMAND: its stdout, an unlinked temporary file */
	int    lifeline;        /* ORCH_COMMAND: the pipe end whose closing tells the
	                           keeper that evbench is gone; -1 when closed */
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
	char   note[256];       /* ORCH_COMMAND: how it stopped, when not as asked */
	double stop_s;          /* seconds from SIGTERM to exit */
	struct rusage ru;       /* from wait4(): its whole life, reaped children included */
	struct orch_counters counters;
	char   stderr_tail[1024];
};

/*
 * Starts s with `args` (extra arguments, NULL-terminated, may be NULL; for
 * the built-in servers only), and waits up to ready_timeout_s for its ready
 * line; a command, until its port accepts; an address, until it accepts
 * (nothing is started). Returns 0 with p->port set;
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
 *
 * A command: SIGTERM through its keeper; one that has not exited within
 * timeout_s is killed with all it made, which is said in p->note but is no
 * failure, nor is any exit status after SIGTERM (a server without a handler
 * dies of it). Only a command that died before it was asked is a failure.
 * An address: nothing to stop, 0.
 */
int orch_stop(struct orch_proc *p, double timeout_s, char *err, size_t errlen);

/* Releases the pipe and the stderr file. */
void orch_release(struct orch_proc *p);

/* Copies a command's stdout and stderr (whole) to path_base.stdout and
 * path_base.stderr. Returns 0, or -1 with errno set. Nothing for the others. */
int orch_save_output(const struct orch_proc *p, const char *path_base);

/* SIGKILLs the group of the server running now, if any. Async-signal-safe:
 * for signal handlers and atexit(). */
void orch_kill_current(void);

/* "exited 0", "killed by SIGSEGV", ... for a wait status. */
const char *orch_status_text(int status, char *buf, size_t len);

/* How a reaped server ended, as orch_status_text() says it; for a command,
 * its own end as its keeper passed it on (a death by a signal included). */
const char *orch_exit_text(const struct orch_proc *p, char *buf, size_t len);

#endif
