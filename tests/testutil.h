/*
 * testutil.h — what every evbench integration test needs to drive a program
 * from outside: start it in its own process group, wait for its `ready` line,
 * talk to it over loopback with deadlines, stop it and read the JSON line it
 * prints, and make sure it is dead when the test ends however the test ends.
 *
 * Conventions, the same for every function here:
 *  - Every timeout a caller passes is in milliseconds *before* scaling; the
 *    functions scale it by tu_timeout_mult() themselves. Callers scale only
 *    deadlines they compute on their own, with tu_ms().
 *  - Functions return -1 (or NULL) with errno set on failure; ETIMEDOUT means
 *    a deadline passed. None of them prints or exits, and none asserts, so
 *    they work in helpers and in Criterion .init/.fini alike.
 *  - Every Criterion .timeout in the test binary is multiplied by
 *    EVBENCH_TIMEOUT_MULT before the first test runs (a PRE_ALL hook in
 *    testutil.c): write the unscaled value in Test(..., .timeout = 30).
 *  - Put `.fini = tu_kill_all` on every Test that starts a process. A failing
 *    cr_assert leaves the test body at once; the .fini then kills whatever the
 *    test started. If the test process itself dies (crash, Criterion timeout),
 *    the spawned program gets SIGKILL from the kernel (PR_SET_PDEATHSIG), so a
 *    server never outlives its test. That signal follows the *thread* that
 *    spawned it: spawn from the thread that lives as long as the program.
 *
 * A test, in full:
 *
 *	Test(mine, echo, .timeout = 20, .fini = tu_kill_all)
 *	{
 *		char path[4096], got[6];
 *		struct tu_proc srv;
 *		struct tu_json j;
 *
 *		tu_path(path, sizeof path, tu_bin_dir(), "rot13-poll");
 *		cr_assert(tu_server_start(&srv, (char *[]){ path, NULL }, 0, 5000) == 0);
 *		int fd = tu_connect(srv.port, 5000);
 *		tu_write_all(fd, "Hello\n", 6, 5000);
 *		cr_assert(tu_read_n(fd, got, 6, 5000) == 6 && !memcmp(got, "Uryyb\n", 6));
 *		close(fd);
 *		cr_assert(tu_server_stop(&srv, &j, 5000) == 0);
 *		cr_assert(tu_json_int(&j, "lines") == 1);
 *	}
 *
 * testutil.c also gives the binary a (weak) LeakSanitizer suppression of
 * Criterion's own leaks, so an instrumented run fails only on real ones.
 *
 * Environment: EVBENCH_BIN (the programs under test), EVBENCH_BUILD (objects,
 * test helpers in $EVBENCH_BUILD/tests/bin), EVBENCH_TIMEOUT_MULT (default 1).
 * tests/run.sh exports the first two.
 */
#ifndef EVBENCH_TESTS_TESTUTIL_H
#define EVBENCH_TESTS_TESTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- time ------------------------------------------------------------------ */

/* EVBENCH_TIMEOUT_MULT as a positive number, 1 when unset or malformed. */
double tu_timeout_mult(void);

/* `ms` scaled by tu_timeout_mult(), rounded up. */
int tu_ms(int ms);

/* CLOCK_MONOTONIC in milliseconds, for deadlines. */
long long tu_now_ms(void);

/* ---- where things are ------------------------------------------------------- */

/* $EVBENCH_BIN, else bin/ beside build/ (or build-<san>/bin for an
 * instrumented build), found from this executable's own path. */
const char *tu_bin_dir(void);

/* $EVBENCH_BUILD, else the build directory this executable lives in. */
const char *tu_build_dir(void);

/* Write "<dir>/<name>" into buf. Returns 0 if that file exists and is
 * executable, -1 otherwise (buf is filled either way, for messages). */
int tu_path(char *buf, size_t cap, const char *dir, const char *name);

/* ---- processes ------------------------------------------------------------- */

#define TU_LINE_MAX 4096

/* A program started by tu_spawn(). Zero it, or let tu_spawn() fill it. */
struct tu_proc {
	pid_t pid;              /* the child, also its process group; 0 once reaped */
	int out;                /* read end of its stdout, -1 when closed */
	int err;                /* read end of its stderr if captured, else -1 */
	int status;             /* wait status once reaped, else -1 */
	int port;               /* from the ready line (tu_wait_ready) */
	char design[32];        /* from the ready line */
	char buf[TU_LINE_MAX];  /* stdout read but not yet returned as a line */
	size_t len;
};

#define TU_CAPTURE_STDERR 1 /* pipe stderr to p->err instead of inheriting it */

/*
 * Start argv[0] (a path) with argv in a new process group, stdout piped to
 * p->out. `nofile` > 0 sets both soft and hard RLIMIT_NOFILE in the child
 * before exec; 0 leaves the limit as inherited. The child gets
 * PR_SET_PDEATHSIG(SIGKILL) and its group is registered for tu_kill_all().
 * Returns 0, or -1 if fork fails or exec fails (errno from exec).
 */
int tu_spawn(struct tu_proc *p, char *const argv[], long nofile, int flags);

/* Read the next line of the child's stdout into line (without '\n').
 * Returns its length, or -1: ETIMEDOUT, EPIPE at end of output, ENOBUFS when
 * longer than cap or TU_LINE_MAX. */
ssize_t tu_read_line(struct tu_proc *p, char *line, size_t cap, int timeout_ms);

/* Wait for `ready <design> port=<port> pid=<pid>`; fills p->port and
 * p->design. Returns 0, or -1 (ETIMEDOUT, EPIPE if it exited, EPROTO if the
 * line is malformed or names another pid). */
int tu_wait_ready(struct tu_proc *p, int timeout_ms);

/* Wait for the child to exit, SIGKILL what is left of its process group
 * (a program's leftovers never outlive it), reap it. Returns its wait
 * status, or -1 (ETIMEDOUT; the child is left running). */
int tu_wait_exit(struct tu_proc *p, int timeout_ms);

/* SIGKILL the whole process group, reap the child, close the pipes.
 * Safe to call twice and on a zeroed struct. */
void tu_kill(struct tu_proc *p);

/* SIGKILL and reap every group tu_spawn() started in this process and not
 * yet reaped. Use as Criterion .fini. */
void tu_kill_all(void);

/*
 * Run argv to completion, capturing stdout and stderr (NUL-terminated,
 * truncated to cap - 1; either buffer may be NULL to discard). Returns the
 * wait status, or -1 (ETIMEDOUT: the group was killed).
 */
int tu_run(char *const argv[], char *out, size_t outcap, char *err, size_t errcap,
	   int timeout_ms);

/* ---- flat JSON objects -------------------------------------------------------- */

#define TU_JSON_FIELDS 48

/* One flat JSON object: string, number, true/false/null values, and arrays
 * of numbers (a design's own figures, such as epoll-mt's accepted_by_thread);
 * no other nesting. */
struct tu_json {
	int n;
	struct tu_json_field {
		char key[40];
		char str[128];  /* string values (truncated), else empty */
		double num;     /* numbers; true is 1, false and null 0 */
		long long i;    /* numbers, truncated towards zero */
		bool is_str;
		int items;      /* arrays: how many numbers; num and i hold their sum */
		double min;     /* arrays: the smallest, 0 when empty */
	} f[TU_JSON_FIELDS];
};

/* Parse one object (surrounding white space allowed). 0, or -1 (EINVAL). */
int tu_json_parse(const char *text, struct tu_json *j);

/* The field named key, or NULL. */
const struct tu_json_field *tu_json_get(const struct tu_json *j, const char *key);

/* The integer field named key; -1 when absent or a string. */
long long tu_json_int(const struct tu_json *j, const char *key);

/* The string field named key; NULL when absent or not a string. */
const char *tu_json_str(const struct tu_json *j, const char *key);

/* ---- servers (the ROT13 server lifecycle of docs/protocol.md) ----------------------- */

/* tu_spawn() then tu_wait_ready(); on failure the child is killed. */
int tu_server_start(struct tu_proc *p, char *const argv[], long nofile, int timeout_ms);

/* tu_server_start() of the server bin in tu_bin_dir(), given `--backend
 * backend` when backend is not NULL, then the arguments of ap (char *, up to
 * a NULL; at most 28 are passed). */
int tu_server_start_v(struct tu_proc *p, const char *bin, const char *backend, long nofile,
		      int timeout_ms, va_list ap);

/*
 * SIGTERM the server (its pid only: a design with children must stop them
 * itself), read stdout up to the first line that starts with '{', parse it
 * into *j, reap the server, then SIGKILL what is left of its group. Returns
 * the wait status (0 = exited 0), or -1: ETIMEDOUT, EPIPE (no JSON line),
 * EINVAL (malformed JSON). The group is dead on return in every case.
 */
int tu_server_stop(struct tu_proc *p, struct tu_json *j, int timeout_ms);

/* ---- sockets ------------------------------------------------------------------ */

/* Connect a blocking TCP socket to 127.0.0.1:port. Returns the descriptor
 * or -1 (ETIMEDOUT, or connect's errno). */
int tu_connect(int port, int timeout_ms);

/* Write all n bytes. Returns n, the count written when the deadline passed
 * (< n; errno ETIMEDOUT), or -1 on a socket error. */
ssize_t tu_write_all(int fd, const void *buf, size_t n, int timeout_ms);

/* Read exactly n bytes. Returns n, fewer at EOF, or -1 (ETIMEDOUT, or the
 * read's errno such as ECONNRESET). */
ssize_t tu_read_n(int fd, void *buf, size_t n, int timeout_ms);

/* Read until EOF. Returns the count, or -1: ETIMEDOUT, ENOBUFS (more than
 * cap bytes came), or the read's errno. */
ssize_t tu_read_to_eof(int fd, void *buf, size_t cap, int timeout_ms);

/* Close with SO_LINGER {1, 0}, so the peer gets a RST instead of a FIN. */
void tu_close_reset(int fd);

/* Removes the directory tree dir (a test's scratch directory); errors are
 * ignored, since there is nothing a cleanup can do about them. */
void tu_rmtree(const char *dir);

/* Makes a fresh scratch directory /tmp/evbench-<name>-XXXXXX and writes its
 * path into dir. Returns 0, or -1 with errno (ENAMETOOLONG: cap too small). */
int tu_scratch_dir(char *dir, size_t cap, const char *name);

/* The end of a test with a scratch directory, for its .fini: kills what the
 * test started (tu_kill_all), removes dir's tree if dir is set, clears dir. */
void tu_scratch_remove(char *dir);

/* Whether PATH has an executable called name: how a test asks for an optional
 * program (chromium) without a shell, whose own status would be the test's. */
bool tu_on_path(const char *name);

/* The ROT13 transform of docs/protocol.md: dst[i] = rot13(src[i]); dst may be src. */
void tu_rot13(void *dst, const void *src, size_t n);

/* ---- the system ------------------------------------------------------------------ */

/* Raise this process's RLIMIT_NOFILE soft limit to the hard limit.
 * Returns the new soft limit, or -1. */
long tu_raise_nofile(void);

/* user + system CPU, in clock ticks (sysconf(_SC_CLK_TCK)), of every process
 * in group pgid, threads and reaped children included; -1 if none is found. */
long long tu_pgrp_cpu_ticks(pid_t pgid);

/* VmRSS in KiB summed over every process in group pgid; -1 if none. */
long tu_pgrp_rss_kb(pid_t pgid);

/* Open descriptors summed over every process in group pgid; -1 if none. */
int tu_pgrp_nfds(pid_t pgid);

/* Waits up to timeout_ms (scaled) until group pgid holds at most nfds
 * descriptors: how a test knows a server has closed the connections it
 * dropped. Returns the count then (more than nfds at the deadline). */
int tu_pgrp_nfds_at_most(pid_t pgid, int nfds, int timeout_ms);

/* Processes in group pgid (0 if none), and in *zombies (if not NULL) how
 * many of them have exited and wait to be reaped. */
int tu_pgrp_procs(pid_t pgid, int *zombies);

/* The processes but this one whose command line (its words joined by
 * spaces) holds a, and b unless NULL, and not `without` unless NULL: their
 * pids into pids (at most cap). Returns how many. */
int tu_find_processes(const char *a, const char *b, const char *without, pid_t *pids, int cap);

/* A "Name:  <n> kB" field of /proc/<pid>/status (VmRSS, VmSize, Threads...),
 * or -1. */
long tu_proc_status(pid_t pid, const char *name);

/* Fill fds[] with the descriptors open in pid, ascending; returns their count
 * (which may exceed cap: only cap are stored), or -1. */
int tu_proc_fds(pid_t pid, int *fds, int cap);

/* ---- results files ------------------------------------------------------------- */

/* A row (bench/report/report.h) of evbench ab's as the paired gate reads it: server
 * (NAME@baseline or NAME@current) in round `round` at 100 connections, with
 * server CPU cpu µs per request, throughput 1e6 / cpu and p99 100 x cpu;
 * every other figure 0. */
struct rep_row;
void tu_ab_row(struct rep_row *r, const char *server, int round, double cpu);

/* Deterministic noise in [-1, 1], the i-th of a fixed sequence: rounds that
 * look measured, the same on every run. */
double tu_noise(int i);

/* Reads the header and the first run's line of <outdir>/latest/summary.csv
 * into header and line (each NUL-terminated, '\n' kept). Returns 0, or -1
 * with errno (fopen's, or EINVAL when the file holds no run). */
int tu_summary_first(const char *outdir, char *header, size_t hcap, char *line, size_t lcap);

/* The number in the cell of summary.csv's column `name` on `line`, given
 * its header line; fails the test if there is no such column or it is
 * empty (null). */
double tu_csv_cell(const char *header, const char *line, const char *name);

#endif
