/*
 * test_mech.c - the mechanism metrics (bench/sweep/mech.c) against a program whose
 * system calls are known in advance (tests/helpers/syscall_count.c), both
 * ways of counting (per CPU filtered by thread, per task inherited by a
 * child); evbench without perf (PATH) or with a perf that refuses, where the
 * figures must be null with a reason and the run must go on; and a lesson's
 * verdict computed from synthetic rows (bench/lesson/lesson.c).
 *
 * The counting tests need perf and the permission to use syscall
 * tracepoints (root, as `make test` runs here; scripts/deps.sh installs
 * linux-perf). Nothing asserts on speed.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lesson.h"
#include "mech.h"
#include "testutil.h"

/* ---- the helper, driven through its stdin and stdout ------------------------ */

struct helper {
	pid_t pid;
	int in, out;     /* its stdin (write end) and stdout (read end) */
};

static struct helper h = { 0, -1, -1 };

static void helper_kill(void)
{
	if (h.pid > 0) {
		kill(h.pid, SIGKILL);
		waitpid(h.pid, NULL, 0);
		h.pid = 0;
	}
	if (h.in >= 0)
		close(h.in);
	if (h.out >= 0)
		close(h.out);
	h.in = h.out = -1;
	tu_kill_all();
}

/* Reads a line from the helper's stdout within the (scaled) deadline. */
static void expect_line(const char *prefix, char *line, size_t cap)
{
	size_t len = 0;

	while (len + 1 < cap) {
		struct pollfd p = { .fd = h.out, .events = POLLIN };
		char c;

		cr_assert_gt(poll(&p, 1, tu_ms(10000)), 0, "the helper said nothing in time");
		cr_assert_eq(read(h.out, &c, 1), 1, "the helper closed its stdout");
		if (c == '\n')
			break;
		line[len++] = c;
	}
	line[len] = '\0';
	cr_assert(strncmp(line, prefix, strlen(prefix)) == 0, "helper said '%s', not '%s...'", line,
		  prefix);
}

static void helper_start(bool fork_child)
{
	char path[4096], line[64];
	int in[2], out[2];

	tu_path(path, sizeof path, tu_build_dir(), "tests/bin/syscall_count");
	cr_assert_eq(access(path, X_OK), 0, "%s is not built", path);
	cr_assert(pipe(in) == 0 && pipe(out) == 0);
	h.pid = fork();
	cr_assert_geq(h.pid, 0);
	if (h.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(path, path, fork_child ? "--fork" : (char *)NULL, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	h.in = in[1];
	h.out = out[0];
	expect_line("ready ", line, sizeof line);
}

/* Counts what the helper does between its two lines, with a session
 * started as mech_start() is told. */
static void count_helper(bool per_cpu, bool fork_child, struct mech_counts *c)
{
	struct mech_session s;
	char line[64];
	pid_t tid;

	helper_start(fork_child);
	tid = h.pid;
	cr_assert_eq(mech_start(&s, h.pid, per_cpu ? &tid : NULL, per_cpu ? 1 : 0, EVB_WAIT_POLL,
				true), 0, "perf could not count: %s", s.c.reason);
	cr_assert_eq(mech_enable(&s), 0, "%s", s.c.reason);
	cr_assert_eq(write(h.in, "go\n", 3), 3);
	expect_line("done", line, sizeof line);
	cr_assert_eq(mech_disable(&s), 0, "%s", s.c.reason);
	cr_assert_eq(write(h.in, "end\n", 4), 4);
	cr_assert_eq(mech_finish(&s), 0, "%s", s.c.reason);
	*c = s.c;
	helper_kill();
}

Test(mech, per_cpu_counts_exactly_what_the_program_made, .timeout = 60, .fini = helper_kill)
{
	struct mech_counts c;
	uint64_t known = 10000 + 3000 + 2000;
	double lo, hi, ready;

	count_helper(true, false, &c);
	cr_assert(c.valid);
	cr_assert_eq(c.by_name[MECH_SC_close], 10000, "close: %llu",
		     (unsigned long long)c.by_name[MECH_SC_close]);
	cr_assert_eq(c.by_name[MECH_SC_poll], 2000, "poll: %llu",
		     (unsigned long long)c.by_name[MECH_SC_poll]);
	/* Besides the known calls: the write of "done" and the read that
	 * waits for the second line (entered before the counters went off). */
	cr_assert(c.total >= known + 2 && c.total <= known + 4, "total %llu, expected %llu + 2",
		  (unsigned long long)c.total, (unsigned long long)known);
	cr_assert_eq(c.wakeups, 2000, "wake-ups: %llu", (unsigned long long)c.wakeups);
	ready = mech_ready_per_wakeup(&c, &lo, &hi);
	/* 1,000 returns of 5 and 1,000 of 3: exactly 4, both bounds. */
	cr_assert(fabs(ready - 4.0) < 1e-9 && fabs(lo - 4.0) < 1e-9 && fabs(hi - 4.0) < 1e-9,
		  "ready per wake-up %g [%g, %g], expected 4", ready, lo, hi);
}

Test(mech, per_task_counts_follow_a_child, .timeout = 60, .fini = helper_kill)
{
	struct mech_counts c;

	count_helper(false, true, &c);
	cr_assert(c.valid);
	/* The child's 1,000 and the parent's 10,000: the inherited counter
	 * was folded back when the child exited. */
	cr_assert_eq(c.by_name[MECH_SC_close], 11000, "close: %llu",
		     (unsigned long long)c.by_name[MECH_SC_close]);
	cr_assert_eq(c.by_name[MECH_SC_wait4], 1);
	cr_assert_eq(c.named & (1ULL << MECH_SC_poll), 0, "per task, poll is not counted by name");
	/* Parent: fork, wait4, 15,000 known, write, read; child: 1,000 and exit. */
	cr_assert(c.total >= 16000 + 4 && c.total <= 16000 + 8, "total %llu",
		  (unsigned long long)c.total);
}

Test(mech, parse_checks_the_order_of_perfs_lines)
{
	struct mech_counts c;
	char text[8192];
	int o = 0;

	o += snprintf(text + o, sizeof text - (size_t)o, "# started on today\n\n");
	o += snprintf(text + o, sizeof text - (size_t)o, "42,,raw_syscalls:sys_enter,1,100.00,,\n");
	for (int i = 0; i < MECH_NSYSCALLS; i++)
		o += snprintf(text + o, sizeof text - (size_t)o,
			      "%s,,syscalls:sys_enter_%s,1,100.00,,\n", i == 3 ? "<not counted>" : "7",
			      mech_syscall_name(i));
	cr_assert_eq(mech_parse(text, EVB_WAIT_NONE, (1ULL << MECH_NSYSCALLS) - 1, &c), 0,
		     "%s", c.reason);
	cr_assert_eq(c.total, 42);
	cr_assert_eq(c.by_name[0], 7);
	cr_assert_eq(c.by_name[3], 0, "a counter that never ran counts 0");
	/* Expecting the epoll family's lines too: perf's output does not match. */
	cr_assert_eq(mech_parse(text, EVB_WAIT_EPOLL, (1ULL << MECH_NSYSCALLS) - 1, &c), -1);
	cr_assert(!c.valid && c.reason[0]);
}

/* ---- evbench without perf ---------------------------------------------------- */

/* Runs a short evbench with PATH set to dir; returns its stdout (--json). */
static char *evbench_with_path(const char *dir)
{
	static char out[1 << 17];
	char err[4096], bin[4096], outdir[128];
	int status;

	snprintf(outdir, sizeof outdir, "/tmp/evbench-test-mech-%d", (int)getpid());
	tu_path(bin, sizeof bin, tu_bin_dir(), "evbench");
	setenv("PATH", dir, 1);
	status = tu_run((char *[]){ bin, "--server", "epoll-lt", "--conns", "4", "--duration", "0.3",
				    "--warmup", "0", "--json", "--quiet", "--out", outdir, NULL },
			out, sizeof out, err, sizeof err, 30000);
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "evbench failed (%d): %s", status, err);
	tu_run((char *[]){ "/bin/rm", "-rf", outdir, NULL }, NULL, 0, NULL, 0, 10000);
	return out;
}

static int occurrences(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

Test(mech, no_perf_on_path_gives_null_with_a_reason, .timeout = 60, .fini = tu_kill_all)
{
	char dir[] = "/tmp/evbench-noperf-XXXXXX";
	const char *out;

	cr_assert_not_null(mkdtemp(dir));
	out = evbench_with_path(dir);
	rmdir(dir);
	cr_assert(strstr(out, "\"ran\": true"), "the run did not go on: %.500s", out);
	cr_assert_eq(occurrences(out, "\"reason\": \"perf not found in PATH"), 2,
		     "both sides say why: %.3000s", strstr(out, "\"mechanism\""));
	cr_assert_eq(occurrences(out, "\"syscalls\": null"), 2);
	cr_assert_eq(occurrences(out, "\"syscalls_per_req\": null"), 2);
	/* The context switches come from /proc, and are there. */
	cr_assert_eq(occurrences(out, "\"ctxsw_reason\": null"), 2, "%.3000s",
		     strstr(out, "\"mechanism\""));
}

Test(mech, a_perf_that_refuses_gives_null_with_its_message, .timeout = 60, .fini = tu_kill_all)
{
	char dir[] = "/tmp/evbench-badperf-XXXXXX", path[128];
	const char *out;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/perf", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("#!/bin/sh\necho 'Error: no permission to trace syscalls' >&2\nexit 255\n", f);
	fclose(f);
	chmod(path, 0755);
	out = evbench_with_path(dir);
	unlink(path);
	rmdir(dir);
	cr_assert(strstr(out, "\"ran\": true"));
	cr_assert_eq(occurrences(out, "no permission to trace syscalls"), 2, "%.3000s",
		     strstr(out, "\"mechanism\""));
	cr_assert_eq(occurrences(out, "\"syscalls\": null"), 2);
}

/* ---- a lesson's verdict from synthetic rows --------------------------------- */

static void row(struct rep_row *r, const char *server, long conns, int round, double cpu,
		double ready)
{
	memset(r, 0, sizeof *r);
	snprintf(r->server, sizeof r->server, "%s", server);
	snprintf(r->design, sizeof r->design, "%s", server);
	r->d = evb_design_find(server);   /* as rep_row_fill() sets it from the run's row */
	r->conns = conns;
	r->conns_up = conns;
	r->repeat = round;
	r->ran = true;
	r->cpu_us_server = cpu;
	r->throughput_rps = 1e6 / cpu;
	r->sys_per_req_server = 2.02;
	r->wakeups_per_req_server = 0.1;
	r->ready_per_wakeup_server = ready;
	r->group_pss_kb = -1;
	for (int i = 0; i < MECH_NSYSCALLS; i++)
		r->sys_by_name_server[i] = -1;
}

/* What lesson l's verdict says of rows[0..n), as one string (free it). */
static char *verdict(const struct lesson *l, const struct rep_row *rows, int n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	lesson_verdict(l, rows, n, f);
	cr_assert_eq(fclose(f), 0);
	return text;
}

Test(lesson, idle_verdict_is_computed_from_the_rows)
{
	/* poll's ratios by round: 2.0, 2.05, 2.1, 2.1, 2.2, 2.3 -> median
	 * 2.10, and with 6 rounds the 96.9% interval [min, max]; epoll-lt's
	 * 1.01 .. 1.06 -> median 1.035. */
	static const double poll_r[] = { 2.0, 2.05, 2.1, 2.1, 2.2, 2.3 };
	static const double ep_r[] = { 1.01, 1.02, 1.03, 1.04, 1.05, 1.06 };
	const struct lesson *l = lesson_find("idle");
	struct rep_row rows[24];
	char *text;
	int n = 0;

	cr_assert_not_null(l);
	for (int k = 0; k < 6; k++) {
		/* Rows in a shuffled order, as an interleaved sweep leaves them. */
		row(&rows[n++], "epoll-lt", 5000, k + 1, 7.0 * ep_r[k], 12.5);
		row(&rows[n++], "poll", 100, k + 1, 7.0, 60.0);
		row(&rows[n++], "poll", 5000, k + 1, 7.0 * poll_r[k], 12.3);
		rows[n - 1].sys_per_req_server = 2.5;
		row(&rows[n++], "epoll-lt", 100, k + 1, 7.0, 61.0);
	}
	text = verdict(l, rows, n);
	cr_assert(strstr(text, "poll: server CPU per request 2.10x [2.00, 2.30] at 5,000 "
			 "connections against 100 (7.00 -> 14.7 us)"), "%s", text);
	cr_assert(strstr(text, "epoll-lt: server CPU per request 1.03x [1.01, 1.06]") ||
		  strstr(text, "epoll-lt: server CPU per request 1.04x [1.01, 1.06]"), "%s", text);
	cr_assert(strstr(text, "system calls per request 2.02 -> 2.50"), "%s", text);
	cr_assert(strstr(text, "returned 12.3 ready descriptors of the 5,001 it handed"), "%s", text);
	/* epoll does not hand the kernel its descriptors on every call. */
	cr_assert(strstr(text, "returned 12.5 ready descriptors\n"), "%s", text);
	free(text);
}

Test(lesson, a_missing_round_leaves_the_pairing)
{
	const struct lesson *l = lesson_find("edge");
	struct rep_row rows[4];
	char *text;

	row(&rows[0], "epoll-lt", 100, 1, 10.0, 30);
	row(&rows[1], "epoll-et", 100, 1, 8.0, 30);
	row(&rows[2], "epoll-lt", 100, 2, 12.0, 30);
	row(&rows[3], "epoll-et", 100, 2, 9.0, 30);
	rows[3].ran = false;   /* round 2 of epoll-et did not measure */
	rows[0].sys_by_name_server[MECH_SC_epoll_ctl] = 1.5;
	rows[2].sys_by_name_server[MECH_SC_epoll_ctl] = 1.7;
	rows[1].sys_by_name_server[MECH_SC_epoll_ctl] = 0;
	text = verdict(l, rows, 4);
	/* One round pairs: 8 / 10, and no interval. */
	cr_assert(strstr(text, "0.80x (1 round: no interval) epoll-lt's"), "%s", text);
	cr_assert(strstr(text, "epoll-lt: 1.60 epoll_ctl calls"), "%s", text);
	cr_assert(strstr(text, "epoll-et: 0 epoll_ctl calls") ||
		  strstr(text, "epoll-et: 0.000 epoll_ctl calls"), "%s", text);
	free(text);
}

Test(lesson, emfile_verdict_keeps_each_figure_apart)
{
	const struct lesson *l = lesson_find("emfile");
	struct rep_row rows[3];
	char *text;

	for (int k = 0; k < 3; k++) {
		row(&rows[k], "epoll-lt", 400, k + 1, 5.0 + k, -1);
		rows[k].srv_emfile = 4000 + 100 * k;
		rows[k].conns_up = 255;
		rows[k].server_util = 0.1 + 0.01 * k;
		rows[k].sys_by_name_server[MECH_SC_accept4] = 0.012;
	}
	text = verdict(l, rows, 3);
	cr_assert(strstr(text, "epoll-lt at 400 connections: 4,100 accepts failed with EMFILE, 255 "
			 "connections up, 166,667 req/s served; the server used 0.11 of its CPU "
			 "capacity (6.00 us per request) and made 0.012 accept calls per request"),
		  "%s", text);
	free(text);
}

Test(lesson, uring_verdict_weighs_the_calls_against_the_cpu)
{
	/* uring over epoll-lt by round at 1,000 connections: 0.94 .. 0.99,
	 * median 0.965 -> 3.5% less CPU for 97% fewer calls; at 100: 1.05 ..
	 * 1.10, all above 1: dearer. The kernel's share of epoll-lt's CPU:
	 * 0.93 in every round. */
	static const double r1000[] = { 0.94, 0.95, 0.96, 0.97, 0.98, 0.99 };
	static const double r100[] = { 1.05, 1.06, 1.07, 1.08, 1.09, 1.10 };
	const struct lesson *l = lesson_find("uring");
	struct rep_row rows[24];
	char *text;
	int n = 0;

	cr_assert_not_null(l);
	for (int k = 0; k < 6; k++) {
		row(&rows[n++], "uring", 1000, k + 1, 4.0 * r1000[k], -1);
		rows[n - 1].sys_per_req_server = 0.06;
		row(&rows[n++], "epoll-lt", 100, k + 1, 4.0, -1);
		row(&rows[n++], "epoll-lt", 1000, k + 1, 4.0, -1);
		row(&rows[n++], "uring", 100, k + 1, 4.0 * r100[k], -1);
		rows[n - 1].sys_per_req_server = 0.06;
	}
	for (int i = 0; i < n; i++) {
		rows[i].server_cpu_s = 1.0;
		rows[i].server_sys_s = !strcmp(rows[i].server, "epoll-lt") ? 0.93 : 0.95;
	}
	text = verdict(l, rows, n);
	cr_assert(strstr(text, "epoll-lt: 2.02 system calls and 4.00 us of server CPU per request, "
			 "93% of it in the kernel"), "%s", text);
	cr_assert(strstr(text, "uring against epoll-lt: CPU per request 0.96x [0.94, 0.99], cheaper; "
			 "97% fewer system calls (2.02 -> 0.06 per request) bought 4% less CPU: "
			 "the system calls were not where the time went (the kernel took 93% of "
			 "epoll-lt's CPU)") ||
		  strstr(text, "uring against epoll-lt: CPU per request 0.97x [0.94, 0.99], cheaper; "
			 "97% fewer system calls (2.02 -> 0.06 per request) bought 3% less CPU: "
			 "the system calls were not where the time went"), "%s", text);
	cr_assert(strstr(text, "uring against epoll-lt: CPU per request 1.07x [1.05, 1.10], dearer; "
			 "97% fewer system calls (2.02 -> 0.06 per request) and yet 7% more CPU: "
			 "the system calls were not where the time went") ||
		  strstr(text, "uring against epoll-lt: CPU per request 1.08x [1.05, 1.10], dearer; "
			 "97% fewer system calls (2.02 -> 0.06 per request) and yet 8% more CPU: "
			 "the system calls were not where the time went"), "%s", text);
	free(text);
}

/* ---- a reactor per thread -------------------------------------------------------- */

/* evbench lists a server's threads at its ready line and counts theirs:
 * epoll-mt must say ready only once its reactors exist, or the reactors
 * that came later are not counted (it once said 0.00 system calls per
 * request at 10,000 connections). Each request costs the reactor serving
 * it a read and a write at least, so the count cannot be under 1.5
 * unless a reactor was missed. */
Test(mech, every_reactor_of_epoll_mt_is_counted, .timeout = 90, .fini = tu_kill_all)
{
	char bin[4096], outdir[128], header[8192], line[8192], err[4096];
	int status;

	snprintf(outdir, sizeof outdir, "/tmp/evbench-test-mech-mt-%d", (int)getpid());
	tu_path(bin, sizeof bin, tu_bin_dir(), "evbench");
	status = tu_run((char *[]){ bin, "--server", "epoll-mt", "--conns", "16", "--duration",
				    "0.5", "--warmup", "0.1", "--mechanism", "on", "--quiet", "--out",
				    outdir, NULL },
			NULL, 0, err, sizeof err, 60000);
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "evbench failed (%d): %s", status, err);
	cr_assert_eq(tu_summary_first(outdir, header, sizeof header, line, sizeof line), 0,
		     "%s/latest/summary.csv: %s", outdir, strerror(errno));
	tu_run((char *[]){ "/bin/rm", "-rf", outdir, NULL }, NULL, 0, NULL, 0, 10000);
	double sys = tu_csv_cell(header, line, "sys_per_req_server");
	cr_assert_geq(sys, 1.5, "epoll-mt made %.2f system calls per request: a reactor was "
		      "not counted", sys);
}
