/*
 * test_figures.c - figures of a result checked against answers the test
 * works out itself, on synthetic inputs whose answer is known in advance
 * (tests/README.md lists every figure of a result and its oracle):
 *
 * - the drift flag, from probe readings the test chooses: a machine that
 *   slows down by 20% during a trial and one that speeds up by 20% are both
 *   flagged, in the row, the JSON and summary.csv; 4% either way is not;
 * - the drift probe's summary of its batches: the median, not the largest;
 * - when `evbench ab --rounds auto` judges and stops: after rounds 5, 10,
 *   ..., 50 only (docs/gate.md), ten looks, which is what its correction
 *   pays for, on synthetic rounds whose verdict is known;
 * - a process's resident memory as evbench's /proc reader sees it, against
 *   VmRSS that the test reads from /proc/PID/status with its own parser, of
 *   a child that touched a known number of MiB;
 * - the load generator's wall time and CPU, against the phase length asked
 *   for and the test's own clock and getrusage() around the run;
 * - the `bound` rule of docs/results.md on figures whose answer it gives.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ab.h"
#include "collect.h"
#include "compare.h"
#include "gate.h"
#include "probe.h"
#include "report.h"
#include "jsonr.h"
#include "loadcheck.h"
#include "loadgen.h"
#include "procfs.h"
#include "testutil.h"

/* ---- the drift flag --------------------------------------------------------------- */

static char outdir[PATH_MAX];

static void mkout(void)
{
	cr_assert_eq(tu_scratch_dir(outdir, sizeof outdir, "figures"), 0);
}

static void rmout(void)
{
	tu_scratch_remove(outdir);
}

Test(figures_drift, a_trial_is_flagged_whichever_way_the_machine_moved, .init = mkout,
     .fini = rmout, .timeout = 10)
{
	/* The probe reads CPU ns per round trip: after < before is a machine
	 * that sped up during the trial. The answers are worked out here from
	 * docs/results.md's rule, |after / before - 1| > 10%. */
	static const struct {
		double before, after;
		bool flagged;
		const char *what;
	} c[] = {
		{ 2500, 3000, true, "slowed down by 20%" },
		{ 2500, 2000, true, "sped up by 20%" },
		{ 2500, 2200, true, "sped up by 12%" },
		{ 2500, 2600, false, "slowed down by 4%" },
		{ 2500, 2400, false, "sped up by 4%" },
		{ -1, 2400, false, "the first probe failed" },
	};
	enum { N = sizeof c / sizeof c[0] };
	struct orch_server srv;
	struct col_host host = { .cpus = 2 };
	struct rep_row rows[N];
	char path[PATH_MAX + 64], header[8192], line[8192];
	FILE *f;

	cr_assert_eq(orch_resolve("epoll-lt", &srv), 0);
	for (int i = 0; i < N; i++) {
		struct rep_run *r = calloc(1, sizeof *r);
		struct jr_value *v;
		const struct jr_value *flag;

		cr_assert_not_null(r);
		r->srv = &srv;
		r->repeat = r->repeats = 1;
		r->probe_before_ns = c[i].before;
		r->probe_after_ns = c[i].after;
		snprintf(r->file, sizeof r->file, "trial-%d", i);
		rep_row_fill(&rows[i], r, &host);
		cr_assert_eq(rows[i].drift_flagged, c[i].flagged, "a machine that %s: flagged %d",
			     c[i].what, rows[i].drift_flagged);
		if (c[i].before > 0)
			cr_assert_float_eq(rows[i].drift, c[i].after / c[i].before - 1, 1e-12);
		else
			cr_assert(isnan(rows[i].drift));

		/* What a user reads: result.drift.flagged in the run's JSON. */
		cr_assert_eq(rep_write_run(outdir, r, &rows[i], &host), 0, "%s", strerror(errno));
		snprintf(path, sizeof path, "%s/trial-%d.json", outdir, i);
		v = jr_parse_file(path, NULL);
		cr_assert_not_null(v, "cannot read %s", path);
		flag = jr_path(v, "result.drift.flagged");
		cr_assert(flag && flag->type == JR_BOOL && flag->boolean == c[i].flagged,
			  "a machine that %s: the JSON's flag is wrong", c[i].what);
		jr_free(v);
		free(r);
	}
	/* And summary.csv's drift_flagged, 0 or 1. */
	cr_assert_eq(rep_write_summary(outdir, rows, N), 0);
	snprintf(path, sizeof path, "%s/summary.csv", outdir);
	f = fopen(path, "re");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(header, sizeof header, f));
	for (int i = 0; i < N; i++) {
		cr_assert_not_null(fgets(line, sizeof line, f));
		cr_assert_eq(tu_csv_cell(header, line, "drift_flagged"), c[i].flagged ? 1 : 0,
			     "a machine that %s: summary.csv's drift_flagged", c[i].what);
	}
	fclose(f);
}

/* ---- the drift probe's summary ----------------------------------------------------------- */

Test(figures_probe, the_batches_are_summarised_by_their_median, .timeout = 10)
{
	/* One batch a preemption made ten times longer, one slightly short:
	 * the median is 2,510, the largest 25,000, the mean 7,008. */
	double b[] = { 2510, 25000, 2480, 2500, 2540 };
	double one[] = { 2600 };

	double got = probe_summary(b, 5);

	cr_assert_float_eq(got, 2510, 1e-9, "the probe reported %g, not the median", got);
	cr_assert_float_eq(probe_summary(one, 1), 2600, 1e-9);
}

/* ---- the schedule of evbench ab --rounds auto ----------------------------------------- */

Test(figures_ab, looks_are_rounds_5_10_to_50, .timeout = 10)
{
	int looks = 0;

	/* docs/gate.md: "after rounds 5, 10, 15, ... 50"; "the correction
	 * counts 10 looks". */
	for (int r = 1; r <= 60; r++) {
		bool want = r >= 5 && r <= 50 && r % 5 == 0;

		cr_assert_eq(ab_is_look(r), want, "round %d %s a look", r, want ? "is" : "is not");
		looks += ab_is_look(r);
	}
	cr_assert_eq(looks, 10);
	cr_assert_eq(ab_looks(), looks, "the correction pays for %d looks, the run takes %d",
		     ab_looks(), looks);
}

/*
 * Replays a sequential run as evbench's sweep makes it: a round at a time,
 * asking after each whole round whether to stop (main.c's loop, less the
 * budget). Round k's current build costs factor(k) times the baseline, each
 * trial with its own noise of relative size spread(k). Returns the round it
 * stopped after (AB_MAX_ROUNDS when it never decided) and the rounds it
 * judged in *looks; checks that it never stops between looks.
 */
static int replay(double (*factor)(int), double (*spread)(int), int *looks)
{
	static const struct cmp_pair pair = { "s@current", "s@baseline" };
	struct rep_row rows[2 * AB_MAX_ROUNDS];
	struct cmp_rule rule = cmp_rule_default();

	rule.looks = ab_looks();
	*looks = 0;
	for (int k = 1; k <= AB_MAX_ROUNDS; k++) {
		struct cmp_result *res;
		bool stop;
		int n;

		tu_ab_row(&rows[2 * k - 2], "s@baseline", k,
			  5.4 * (1 + spread(k) * tu_noise(2 * k)));
		tu_ab_row(&rows[2 * k - 1], "s@current", k,
			  5.4 * factor(k) * (1 + spread(k) * tu_noise(2 * k + 1)));
		n = cmp_compute(rows, 2 * k, &pair, 1, k, &res);
		cr_assert_eq(n, 1);
		stop = ab_stops(res, n, &rule, k);
		cmp_free(res, n);
		*looks += ab_is_look(k);
		if (stop) {
			cr_assert(ab_is_look(k), "the run stopped after round %d, which is no look", k);
			return k;
		}
	}
	return AB_MAX_ROUNDS;
}

static double same(int k) { (void)k; return 1.0; }
static double worse30(int k) { (void)k; return 1.30; }
/* 30% worse in one round, 20% better in the next: the mean log ratio is
 * +2% with a spread that keeps the interval wider than [0, +10%] to
 * 50 rounds and beyond. */
static double seesaw(int k) { return k % 2 ? 1.30 : 0.80; }
static double none(int k) { (void)k; return 0; }
static double tight(int k) { (void)k; return 0.01; }
/* Rounds 1-5 too noisy for a verdict, then quiet ones. */
static double noisy_then_quiet(int k) { return k <= 5 ? 0.30 : 0.01; }

/* The first round from the 5th after which the comparison, judged with the
 * correction of ten looks, is decided: what a run that judged after every
 * round would stop at (0 when never). Judged here directly, without the
 * schedule. */
static int first_decided(double (*factor)(int), double (*spread)(int))
{
	static const struct cmp_pair pair = { "s@current", "s@baseline" };
	struct rep_row rows[2 * AB_MAX_ROUNDS];
	struct cmp_rule rule = cmp_rule_default();

	rule.looks = 10;
	for (int k = 1; k <= AB_MAX_ROUNDS; k++) {
		struct cmp_judgement j[CMP_NMETRICS];
		struct cmp_result *res;
		int n, st;

		tu_ab_row(&rows[2 * k - 2], "s@baseline", k,
			  5.4 * (1 + spread(k) * tu_noise(2 * k)));
		tu_ab_row(&rows[2 * k - 1], "s@current", k,
			  5.4 * factor(k) * (1 + spread(k) * tu_noise(2 * k + 1)));
		n = cmp_compute(rows, 2 * k, &pair, 1, k, &res);
		cmp_judge(res, n, &rule, j);
		st = gate_paired_status(j, n);
		cmp_free(res, n);
		if (k >= 5 && (st == GATE_PASS || st == GATE_REGRESSION))
			return k;
	}
	return 0;
}

Test(figures_ab, a_clear_verdict_stops_at_the_first_look, .timeout = 10)
{
	int looks, stop;

	stop = replay(worse30, tight, &looks);
	cr_assert(stop == 5 && looks == 1, "30%% worse: stopped after round %d, %d looks", stop,
		  looks);
	stop = replay(same, tight, &looks);
	cr_assert(stop == 5 && looks == 1, "the same: stopped after round %d, %d looks", stop,
		  looks);
}

Test(figures_ab, a_verdict_between_looks_waits_for_the_next, .timeout = 10)
{
	int first = first_decided(worse30, noisy_then_quiet), looks, stop;

	/* The premise: judged after every round, this run would stop between
	 * two looks. */
	cr_assert(first > 5 && first < 10, "the series is decided first at round %d", first);
	stop = replay(worse30, noisy_then_quiet, &looks);
	cr_assert(stop == 10 && looks == 2, "decided from round %d on, the run stopped after "
		  "round %d with %d looks; the schedule judges at rounds 5 and 10", first, stop,
		  looks);
}

Test(figures_ab, an_undecided_run_takes_ten_looks, .timeout = 10)
{
	int looks, stop;

	cr_assert_eq(first_decided(seesaw, none), 0, "the premise: the seesaw is never decided");
	stop = replay(seesaw, none, &looks);
	cr_assert_eq(stop, AB_MAX_ROUNDS);
	cr_assert(looks == 10 && looks == ab_looks(),
		  "a run that never decides took %d looks; its correction paid for %d", looks,
		  ab_looks());
}

/* ---- resident memory through evbench's /proc reader --------------------------------------- */

#define TOUCH_MIB 64

static pid_t child;

static void kill_child(void)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = 0;
	}
}

/* VmRSS of /proc/<pid>/status in KiB, parsed here (not by common/procfs.c). */
static long own_vmrss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	cr_assert_geq(kb, 0, "no VmRSS in %s", path);
	return kb;
}

Test(figures_memory, rss_is_what_proc_status_says, .fini = kill_child, .timeout = 30)
{
	long want = TOUCH_MIB * 1024L, vmrss, page_kb = sysconf(_SC_PAGESIZE) / 1024;
	struct proc_stat ps;
	struct col_sample s;
	int p[2];
	char c;

	/* A child in a group of its own that touches every page of 64 MiB,
	 * says so, and waits to be killed. */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		char *m;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0);
		m = mmap(NULL, (size_t)want * 1024, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			_exit(1);
		memset(m, 1, (size_t)want * 1024);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	cr_assert_eq(tu_read_n(p[0], &c, 1, tu_ms(10000)), 1, "the child did not touch its memory");
	close(p[0]);
	setpgid(child, child);   /* also here, so that the group exists whoever runs first */

	vmrss = own_vmrss_kb(child);
	cr_assert_geq(vmrss, want, "the child touched %ld KiB, VmRSS says %ld", want, vmrss);

	/* The reader: /proc/<pid>/stat's rss, in pages. */
	cr_assert_eq(proc_stat_pid(child, &ps), 0);
	cr_assert(labs(ps.rss_pages * page_kb - vmrss) <= 1024,
		  "/proc/PID/stat read as %ld KiB resident; VmRSS is %ld KiB",
		  ps.rss_pages * page_kb, vmrss);

	/* The collector's group sample, as result.server_process has it. */
	cr_assert_eq(col_sample_group(child, child, &s, COL_PSS), 0);
	cr_assert(s.valid && s.nprocs == 1);
	cr_assert(labs(s.rss_kb - vmrss) <= 1024,
		  "group_rss_kb would be %ld KiB; VmRSS of its one process is %ld KiB", s.rss_kb,
		  vmrss);
	/* Its own private pages: PSS counts them whole, and is at most RSS. */
	cr_assert(s.pss_kb >= want && s.pss_kb <= vmrss + 1024,
		  "group_pss_kb would be %ld KiB: it touched %ld, VmRSS %ld", s.pss_kb, want, vmrss);
	cr_assert(s.leader_hwm_kb >= vmrss - 1024,
		  "its peak (VmHWM) read as %ld KiB under VmRSS %ld", s.leader_hwm_kb, vmrss);
	kill_child();
}



/* ---- the load generator's clocks ------------------------------------------------------ */

static struct tu_proc srv;

static void stop_srv(void)
{
	struct tu_json j;

	if (srv.pid > 0)
		tu_server_stop(&srv, &j, 5000);
	tu_kill_all();
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

Test(figures_client, wall_and_cpu_against_the_tests_own_clocks, .fini = stop_srv, .timeout = 30)
{
	char path[PATH_MAX];
	struct lg_config c;
	struct lg_result r;
	struct rusage r0, r1;
	struct timespec t0, t1;
	double elapsed, user, sys;

	cr_assert_eq(tu_path(path, sizeof path, tu_bin_dir(), "rot13-epoll-lt"), 0);
	cr_assert_eq(tu_server_start(&srv, (char *[]){ path, "--port", "0", NULL }, 0, 5000), 0);
	lc_config(&c, srv.port);
	c.conns = 4;
	c.duration_s = 1.0;
	/* The load runs in this process: what it spends here, connect and
	 * drain included, bounds what it says it spent measuring. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	getrusage(RUSAGE_SELF, &r0);
	cr_assert_eq(lg_run(lc_made(&c), &r, NULL), 0);
	getrusage(RUSAGE_SELF, &r1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	user = tv_s(r1.ru_utime) - tv_s(r0.ru_utime);
	sys = tv_s(r1.ru_stime) - tv_s(r0.ru_stime);
	cr_log_info("wall %.3f s of %.3f; cpu %.3f s (user %.3f, sys %.3f) of %.3f (%.3f, %.3f)",
		    r.wall_s, elapsed, r.client_cpu_s, r.client_user_s, r.client_sys_s, user + sys,
		    user, sys);
	cr_assert(r.replies > 0);
	/* The phase ends once its duration has passed, at the next turn of a
	 * load thread's loop. */
	cr_assert(r.wall_s >= c.duration_s && r.wall_s <= c.duration_s + 0.1 && r.wall_s <= elapsed,
		  "wall_s %.4f for a %.1f s phase, in a run of %.4f s", r.wall_s, c.duration_s,
		  elapsed);
	cr_assert_float_eq(r.throughput_rps, (double)r.replies / r.wall_s, 1e-6 * r.throughput_rps);
	/* Connecting and draining four connections take milliseconds: the
	 * phase is nearly all of the run's CPU, and can be no more. A clock
	 * tick (10 ms) of slack for the user/sys split. */
	cr_assert(r.client_cpu_s <= user + sys + 0.01 && r.client_cpu_s >= 0.7 * (user + sys),
		  "client_cpu_s %.4f; the whole run took %.4f s of this process's CPU",
		  r.client_cpu_s, user + sys);
	cr_assert(r.client_user_s <= user + 0.01 && r.client_user_s >= 0.7 * user - 0.01,
		  "client_user_s %.4f; the run's user time %.4f", r.client_user_s, user);
	cr_assert(r.client_sys_s <= sys + 0.01 && r.client_sys_s >= 0.7 * sys - 0.01,
		  "client_sys_s %.4f; the run's system time %.4f", r.client_sys_s, sys);
	cr_assert_float_eq(r.cpu_us_per_req, r.client_cpu_s * 1e6 / (double)r.replies,
			   1e-9 * r.cpu_us_per_req);
	/* The connections, against what was asked and what the server saw. */
	cr_assert(r.conns_target == 4 && r.conns_up_at_measure == 4 && r.conns_peak == 4,
		  "target %ld, up %ld, peak %ld for 4 connections", r.conns_target,
		  r.conns_up_at_measure, r.conns_peak);
	cr_assert(r.connect_failures == 0 && r.closes == 4 &&
		  hist_count(&r.connect_latency) == 4, "failures %llu, closes %llu, connect "
		  "latencies %llu", (unsigned long long)r.connect_failures,
		  (unsigned long long)r.closes,
		  (unsigned long long)hist_count(&r.connect_latency));
	{
		struct tu_json j;

		cr_assert_eq(tu_server_stop(&srv, &j, 5000), 0);
		cr_assert_eq(tu_json_int(&j, "accepted"), (long long)r.connects,
			     "the server accepted %lld, the load says it established %llu",
			     tu_json_int(&j, "accepted"), (unsigned long long)r.connects);
		cr_assert_geq(tu_json_int(&j, "lines"), (long long)r.replies,
			      "more replies verified than lines the server answered");
	}
	lg_result_free(&r);
}

/* ---- the bound rule ---------------------------------------------------------------------- */

Test(figures_bound, the_rule_of_docs_results_md, .timeout = 10)
{
	/* A 2-CPU machine, a one-second phase; an event loop (capacity 1)
	 * against a load of two threads (capacity 2). The answers are the
	 * four steps of docs/results.md, "The bound rule". */
	static const struct {
		double srv, cli;
		const char *want, *why;
	} c[] = {
		{ 0.90, 0.30, "server", "the server at 0.90 of its core" },
		{ 0.40, 1.80, "client", "the load at 0.90 of its two" },
		{ 0.86, 1.90, "client", "both saturated: the fuller (0.95 against 0.86)" },
		{ 0.95, 1.72, "server", "both saturated: the fuller (0.95 against 0.86)" },
		{ 0.80, 1.00, "client", "neither saturated, the machine full (1.80 of 2): the "
					"larger consumer" },
		{ 0.84, 0.80, "neither", "neither saturated, the machine at 1.64 of 2" },
		{ 0.50, 0.60, "neither", "neither saturated, the machine at 1.10 of 2" },
	};

	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		const char *got = col_bound(c[i].srv, 1, c[i].cli, 2, 1.0, 2);

		cr_assert_str_eq(got, c[i].want, "%s: said %s", c[i].why, got);
	}
	/* The same at twice the CPU over twice the wall time. */
	cr_assert_str_eq(col_bound(1.8, 1, 0.6, 2, 2.0, 2), "server");
	cr_assert_str_eq(col_bound(0.5, 1, 0.5, 2, 0, 2), "unknown", "no wall time");
	cr_assert_str_eq(col_bound(-1, 1, 0.5, 2, 1, 2), "unknown", "the server not sampled");
}
