/*
 * test_yourserver.c - servers evbench did not build (docs/your-server.md):
 * a command it starts, an address it only connects to.
 *
 * - How a user names one: orch_parse_external()'s words, quotes, {port},
 *   addresses, and what it refuses.
 * - A command beside a built-in server in one sweep: its results say what
 *   kind of server it was, which figures it cannot have and why (null, never
 *   zero), and keep its stdout and stderr.
 * - Every way a command can fail: it exits at once, never listens, replies
 *   with the wrong bytes, ignores SIGTERM, forks a daemon and exits: each a
 *   clear message, and no process left, checked in the process table; nor
 *   after SIGINT or SIGKILL of evbench, with a child that left the group.
 * - Its CPU is the whole tree: tests/helpers/cpu_testsrv burns a known CPU
 *   per reply in its serving thread, in children it reaps, and in a child
 *   per connection; evbench's server CPU must be that burn (test_oracle.c's
 *   tolerance).
 * - Servers nobody here wrote (socat), through a sweep, a lesson and
 *   evbench ab on two commands.
 *
 * Every evbench runs under tu_run() or tu_spawn() with a deadline, in a
 * process group .fini kills; the processes a command makes carry a marker
 * in their arguments (an unusual sleep time), and .fini kills any left.
 * Nothing asserts on speed.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonr.h"
#include "orch.h"
#include "testutil.h"

static char evbench[PATH_MAX], outdir[PATH_MAX], rot13[PATH_MAX];

/* The sleep time that marks the processes a test's commands make: the
 * test's own (its pid), since tests run in parallel. */
static char MARK_[32];
#define MARK MARK_

/* Processes whose command line holds MARK: their pids into pids. */
static int marked(pid_t *pids, int cap)
{
	return tu_find_processes(MARK, NULL, "evbench", pids, cap);
}

/* Waits up to ms for every marked process to be gone; how many are left. */
static int marked_left(int ms)
{
	pid_t pids[64];
	long long end = tu_now_ms() + tu_ms(ms);
	int n;

	while ((n = marked(pids, 64)) > 0 && tu_now_ms() < end)
		usleep(20000);
	return n;
}

static void setup(void)
{
	snprintf(MARK_, sizeof MARK_, "31%07d.5", (int)getpid());
	cr_assert_eq(tu_path(evbench, sizeof evbench, tu_bin_dir(), "evbench"), 0,
		     "%s is not built", evbench);
	cr_assert_eq(tu_path(rot13, sizeof rot13, tu_bin_dir(), "rot13-epoll-lt"), 0,
		     "%s is not built", rot13);
	snprintf(outdir, sizeof outdir, "/tmp/evbench-yours-XXXXXX");
	cr_assert_not_null(mkdtemp(outdir));
}

static void teardown(void)
{
	pid_t pids[64];
	int n = marked(pids, 64);

	tu_kill_all();
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	if (outdir[0])
		tu_rmtree(outdir);
}

/* Runs evbench with argv (argv[0] filled in); returns its exit status and
 * leaves its stdout and stderr in out and err. */
static int run(char **argv, char *out, size_t cap, char *err, size_t errcap)
{
	int status;

	argv[0] = evbench;
	status = tu_run(argv, out, cap, err, errcap, 120000);
	cr_assert(status >= 0 && WIFEXITED(status), "evbench did not finish (%#x): %s", status,
		  err);
	return WEXITSTATUS(status);
}

/* The runs of a --json sweep, as parsed; asserts they are an array of n. */
static struct jr_value *runs(const char *out, size_t n)
{
	struct jr_value *v = jr_parse(out, strlen(out), NULL);

	cr_assert(v && v->type == JR_ARRAY && v->len == n, "%zu runs expected: %.400s", n, out);
	return v;
}

/* The run of server `name` among v's. */
static const struct jr_value *run_of(const struct jr_value *v, const char *name)
{
	for (size_t i = 0; i < v->len; i++) {
		const char *s = jr_string(jr_path(v->items[i], "server.name"));

		if (s && !strcmp(s, name))
			return v->items[i];
	}
	cr_assert_fail("no run of %s", name);
	return NULL;
}

static bool is_null(const struct jr_value *r, const char *path)
{
	const struct jr_value *x = jr_path(r, path);

	return x && x->type == JR_NULL;
}

/* ---- naming a server ----------------------------------------------------------------- */

Test(yours, a_command_is_split_into_words_without_a_shell, .timeout = 10)
{
	struct orch_server s;
	char err[512];

	cr_assert_eq(orch_parse_external("mine", "./srv --port {port} -m 'a b' \"c\\\"d\" e\\ f",
					 &s, err, sizeof err), 0, "%s", err);
	cr_assert_eq(s.kind, ORCH_COMMAND);
	cr_assert_str_eq(s.argv[0], "./srv");
	cr_assert_str_eq(s.argv[2], "{port}");
	cr_assert_str_eq(s.argv[4], "a b");
	cr_assert_str_eq(s.argv[5], "c\"d");
	cr_assert_str_eq(s.argv[6], "e f");
	cr_assert_null(s.argv[7]);
	cr_assert_str_eq(s.name, "mine");
	cr_assert_str_eq(s.d->name, "mine");
	cr_assert_str_eq(s.d->binary, "command");
	cr_assert_eq(s.d->props, 0u, "a user's server has none of a design's properties");
	/* {port} inside a word, as socat writes it. */
	cr_assert_eq(orch_parse_external("s", "socat TCP-LISTEN:{port},fork EXEC:cat", &s, err,
					 sizeof err), 0, "%s", err);
	cr_assert_str_eq(s.argv[1], "TCP-LISTEN:{port},fork");
}

Test(yours, an_address_and_what_is_refused, .timeout = 10)
{
	struct orch_server s;
	char err[512];
	static const char *const bad[][2] = {
		{ "epoll-lt", "./x {port}" },   /* a design's name */
		{ "all", "./x {port}" },
		{ "a b", "./x {port}" },
		{ "m", "./x --port 8080" },     /* no {port} */
		{ "m", "./x {port} 'open" },    /* a quote left open */
		{ "m", "" },
		{ "m", "@localhost:80" },       /* not numeric */
		{ "m", "@127.0.0.1" },
		{ "m", "@127.0.0.1:0" },
		{ "m", "@127.0.0.1:70000" },
		{ "m", "@[::1:80" },
		{ "m", "@127.0.0.1:80 pid=x" },
		{ "m", "@127.0.0.1:80 junk" },
	};

	cr_assert_eq(orch_parse_external("theirs", "@127.0.0.1:8080", &s, err, sizeof err), 0,
		     "%s", err);
	cr_assert_eq(s.kind, ORCH_ADDRESS);
	cr_assert_str_eq(s.host, "127.0.0.1");
	cr_assert_eq(s.port, 8080);
	cr_assert_eq(s.pid, 0);
	cr_assert_eq(orch_parse_external("v6", "@[::1]:9", &s, err, sizeof err), 0, "%s", err);
	cr_assert_str_eq(s.host, "::1");
	cr_assert_eq(s.port, 9);
	cr_assert_eq(orch_parse_external("p", "@127.0.0.1:80 pid=1", &s, err, sizeof err), 0,
		     "%s", err);
	cr_assert_eq(s.pid, 1);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		cr_assert_eq(orch_parse_external(bad[i][0], bad[i][1], &s, err, sizeof err), -1,
			     "'%s=%s' was taken", bad[i][0], bad[i][1]);
		cr_assert(err[0] && !strchr(err, '\n'), "no one-line reason for '%s=%s'",
			  bad[i][0], bad[i][1]);
	}
}

Test(yours, bad_server_specs_exit_2_with_one_line, .init = setup, .fini = teardown,
     .timeout = 30)
{
	static const char *const bad[] = { "epoll-lt=./x {port}", "m=./x --port 80",
					   "m=@nowhere:80", "m=sh -c 'open {port}" };
	char out[4096], err[4096];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *argv[] = { NULL, "--server", (char *)bad[i], "--conns", "1", "--out", outdir,
				 NULL };

		cr_assert_eq(run(argv, out, sizeof out, err, sizeof err), 2, "'%s' taken: %s",
			     bad[i], err);
		cr_assert(strchr(err, '\n') == err + strlen(err) - 1, "not one line: %s", err);
	}
	{
		/* The same name twice. */
		char *argv[] = { NULL, "--server", "m=./x {port}", "--server", "m=./y {port}",
				 "--out", outdir, NULL };

		cr_assert_eq(run(argv, out, sizeof out, err, sizeof err), 2, "%s", err);
		cr_assert(strstr(err, "named twice"), "%s", err);
	}
}

/* ---- a command beside a built-in server ---------------------------------------------- */

Test(yours, a_command_beside_a_design_in_one_sweep, .init = setup, .fini = teardown,
     .timeout = 120)
{
	static char out[1 << 20], err[1 << 16];
	char spec[PATH_MAX + 64], path[PATH_MAX + 64];
	char *argv[] = { NULL, "--server", spec, "--conns", "10", "--requests", "300",
			 "--warmup", "0.2", "--repeat", "2", "--mechanism", "off", "--json",
			 "--out", outdir, NULL };
	struct jr_value *v;
	const struct jr_value *x, *e;
	struct stat st;

	snprintf(spec, sizeof spec, "epoll-lt,x=%s --port {port}", rot13);
	cr_assert_eq(run(argv, out, sizeof out, err, sizeof err), 0, "%s", err);
	v = runs(out, 4);
	x = run_of(v, "x");
	e = run_of(v, "epoll-lt");
	cr_assert_str_eq(jr_string(jr_path(x, "server.kind")), "command");
	cr_assert_str_eq(jr_string(jr_path(e, "server.kind")), "builtin");
	cr_assert(is_null(x, "result.failure"), "%s", jr_string(jr_path(x, "result.failure")));
	cr_assert_geq(jr_path_number(x, "result.replies"), 300);
	/* Measured as the design is: CPU of its group, memory. */
	cr_assert_gt(jr_path_number(x, "result.server_cpu_s.total"), 0);
	cr_assert_gt(jr_path_number(x, "result.cpu_us_per_req.server"), 0);
	/* What only evbench's servers say is null with a reason, not zero. */
	cr_assert(is_null(x, "result.server_counters"), "a command's counters are not known");
	cr_assert(is_null(x, "result.fd_limit.server"), "nor its fd-limit causes");
	cr_assert(jr_string(jr_path(x, "server.why_no_counters")), "no reason given");
	cr_assert(!is_null(e, "result.server_counters"), "the design's counters went missing");
	cr_assert(is_null(e, "server.why_no_counters"));
	/* The port it was given, the pid of the command under its keeper. */
	cr_assert_gt(jr_path_number(x, "server.port"), 0);
	cr_assert_gt(jr_path_number(x, "server.command_pid"), 0);
	cr_assert_str_eq(jr_string(jr_path(x, "server.exit")), "exited 0");
	/* Its stdout and stderr are kept beside its result: the ready line
	 * rot13-epoll-lt prints is in its stdout. */
	snprintf(path, sizeof path, "%s/latest/x-c10-r1.stdout", outdir);
	cr_assert_eq(stat(path, &st), 0, "no %s", path);
	cr_assert_gt(st.st_size, 0, "%s is empty: the command's stdout was lost", path);
	snprintf(path, sizeof path, "%s/latest/x-c10-r2.stderr", outdir);
	cr_assert_eq(stat(path, &st), 0, "no %s", path);
	/* The table: '-' where the figure does not exist. */
	cr_assert(strstr(err, "\nx "), "no row for x in: %s", err);
	jr_free(v);
}

/* ---- how a command fails ----------------------------------------------------------- */

/* Runs a sweep of one command (spec) and returns its exit status, the
 * failure recorded in its JSON in failure, and stderr in err. */
static int run_failing(const char *spec, char *failure, size_t fcap, char *err, size_t errcap)
{
	static char out[1 << 20];
	char *argv[] = { NULL, "--server", (char *)spec, "--conns", "5", "--duration", "1",
			 "--warmup", "0", "--ready-timeout", "2", "--mechanism", "off", "--json",
			 "--out", outdir, NULL };
	int rc = run(argv, out, sizeof out, err, errcap);
	struct jr_value *v = runs(out, 1);
	const char *f = jr_string(jr_path(v->items[0], "result.failure"));

	snprintf(failure, fcap, "%s", f ? f : "");
	jr_free(v);
	return rc;
}

Test(yours, a_command_that_exits_at_once, .init = setup, .fini = teardown, .timeout = 60)
{
	char failure[1024], err[8192];

	cr_assert_eq(run_failing("u=sh -c 'echo cannot bind >&2; exit 3' {port}", failure,
				 sizeof failure, err, sizeof err), 1, "%s", err);
	cr_assert(strstr(failure, "exited 3 before it listened") &&
		  strstr(failure, "cannot bind"),
		  "the failure should say how it ended and what it said: %s", failure);
	cr_assert(strstr(err, "cannot bind"), "stderr: %s", err);
	cr_assert_eq(run_failing("u=/nonexistent/srv {port}", failure, sizeof failure, err,
				 sizeof err), 1);
	cr_assert(strstr(failure, "No such file"), "%s", failure);
}

Test(yours, a_command_that_never_listens, .init = setup, .fini = teardown, .timeout = 60)
{
	char failure[1024], err[8192], spec[128];

	snprintf(spec, sizeof spec, "u=sleep %s {port}", MARK);
	cr_assert_eq(run_failing(spec, failure, sizeof failure, err,
				 sizeof err), 1, "%s", err);
	cr_assert(strstr(failure, "did not listen on port") && strstr(failure, "within 2 s"),
		  "%s", failure);
	cr_assert_eq(marked_left(3000), 0, "the command that never listened survives");
}

Test(yours, a_command_that_forks_a_daemon_and_exits, .init = setup, .fini = teardown,
     .timeout = 60)
{
	char failure[1024], err[8192], spec[PATH_MAX + 128];

	/* The daemon listens; its parent exits before or after it does. */
	snprintf(spec, sizeof spec, "u=sh -c '(setsid sleep %s & exec %s --port $0) & "
		 "sleep 0.3; exit 0' {port}", MARK, rot13);
	cr_assert_eq(run_failing(spec, failure, sizeof failure, err, sizeof err), 1, "%s",
		     err);
	cr_assert(strstr(failure, "foreground"), "the failure should say why: %s", failure);
	cr_assert_eq(marked_left(3000), 0, "what the daemon left survives");
}

Test(yours, a_command_that_ignores_sigterm, .init = setup, .fini = teardown, .timeout = 60)
{
	static char out[1 << 20];
	char err[8192], spec[PATH_MAX + 128];
	char *argv[] = { NULL, "--server", spec, "--conns", "5", "--requests", "100",
			 "--warmup", "0", "--mechanism", "off", "--json", "--out", outdir, NULL };
	struct jr_value *v;
	const char *note;

	/* The shell ignores SIGTERM, and its child, not signalled, serves. */
	snprintf(spec, sizeof spec, "u=sh -c 'trap \"\" TERM; %s --port $0; sleep %s' {port}",
		 rot13, MARK);
	cr_assert_eq(run(argv, out, sizeof out, err, sizeof err), 0, "%s", err);
	v = runs(out, 1);
	note = jr_string(jr_path(v->items[0], "server.note"));
	cr_assert(note && strstr(note, "did not exit within"), "no note: %s", out);
	cr_assert(jr_path(v->items[0], "server.killed")->boolean);
	cr_assert(strstr(err, "did not exit within"), "not said on stderr: %s", err);
	/* The measurement stands: the server served. */
	cr_assert(is_null(v->items[0], "result.failure"));
	cr_assert_eq(marked_left(3000), 0);
	cr_assert_eq(tu_pgrp_procs((pid_t)jr_path_number(v->items[0], "server.pid"), NULL), 0);
	jr_free(v);
}

Test(yours, a_command_that_replies_wrong_bytes, .init = setup, .fini = teardown,
     .timeout = 60)
{
	static char out[1 << 20];
	char err[8192];
	/* An echo server measured as a ROT13 one: every reply is wrong. */
	char *argv[] = { NULL, "--server", "u=socat TCP-LISTEN:{port},fork,reuseaddr EXEC:cat",
			 "--conns", "3", "--duration", "0.5", "--warmup", "0", "--mechanism", "off",
			 "--json", "--out", outdir, NULL };
	struct jr_value *v;

	if (!tu_on_path("socat"))
		cr_skip_test("socat is not installed (scripts/deps.sh test installs it)");
	cr_assert_eq(run(argv, out, sizeof out, err, sizeof err), 1,
		     "a server that never replied right must fail the run: %s", err);
	v = runs(out, 1);
	cr_assert_eq(jr_path_number(v->items[0], "result.replies"), 0);
	cr_assert_gt(jr_path_number(v->items[0], "result.verify_mismatch"), 0);
	cr_assert(strstr(err, "replies were not what the protocol says"), "%s", err);
	jr_free(v);
}

/* evbench running a command whose shell has put a child in a session of its
 * own (out of the process group), until it is stopped by sig. */
static void stop_with(int sig)
{
	char spec[PATH_MAX + 128];
	char *argv[] = { evbench, "--server", spec, "--conns", "5", "--duration", "60",
			 "--warmup", "0", "--mechanism", "off", "--quiet", "--out", outdir, NULL };
	pid_t pids[64];
	struct tu_proc p;
	long long end;

	snprintf(spec, sizeof spec, "u=sh -c 'setsid sleep %s & exec %s --port $0' {port}", MARK,
		 rot13);
	cr_assert_eq(tu_spawn(&p, argv, 0, TU_CAPTURE_STDERR), 0);
	/* setsid(1) forks and is itself marked for a moment: wait for the
	 * marked process that leads a session of its own. */
	end = tu_now_ms() + tu_ms(10000);
	for (bool escaped = false; !escaped; usleep(20000)) {
		int n = marked(pids, 64);

		for (int i = 0; i < n; i++)
			escaped |= getsid(pids[i]) == pids[i];
		cr_assert(escaped || tu_now_ms() < end,
			  "the command's child never left the group (%d marked)", n);
	}
	usleep(300000);   /* into the run */
	cr_assert_eq(kill(p.pid, sig), 0);
	cr_assert(tu_wait_exit(&p, 20000) >= 0, "evbench did not exit after signal %d", sig);
	cr_assert_eq(marked_left(5000), 0,
		     "a process the command started outlived evbench's signal %d", sig);
}

Test(yours, sigint_leaves_nothing_of_a_command, .init = setup, .fini = teardown, .timeout = 60)
{
	stop_with(SIGINT);
}

Test(yours, sigkill_leaves_nothing_of_a_command, .init = setup, .fini = teardown,
     .timeout = 60)
{
	/* No handler runs: the keeper's PID namespace (or its lifeline,
	 * without one) must do it all. */
	stop_with(SIGKILL);
}

/* ---- the CPU of a command's tree ------------------------------------------------------- */

#define BURN_US 400
#define CPU_TOL 0.15    /* test_oracle.c's, for the same server */

static void check_burn(const char *where, int quantum_us, const char *requests)
{
	static char out[1 << 20], err[1 << 16];
	char srv[PATH_MAX], dir[PATH_MAX + 16], spec[2 * PATH_MAX];
	char *argv[] = { NULL, "--server", spec, "--conns", "2", "--threads", "1", "--requests",
			 (char *)requests, "--warmup", "1", "--mechanism", "off", "--json",
			 "--out", outdir, NULL };
	struct jr_value *v;
	double replies, total, ratio;

	snprintf(dir, sizeof dir, "%s/tests/bin", tu_build_dir());
	cr_assert_eq(tu_path(srv, sizeof srv, dir, "cpu_testsrv"), 0, "%s is not built", srv);
	snprintf(spec, sizeof spec, "burn=%s --port {port} --burn-us %d --burn-in %s "
		 "--quantum-us %d", srv, BURN_US, where, quantum_us);
	cr_assert_eq(run(argv, out, sizeof out, err, sizeof err), 0, "%s", err);
	v = runs(out, 1);
	replies = jr_path_number(v->items[0], "result.replies");
	total = jr_path_number(v->items[0], "result.server_cpu_s.total");
	ratio = total / (replies * BURN_US / 1e6);
	cr_log_info("command, burn in %s: %.0f replies, server CPU %.4f s, %.3f of the burn",
		    where, replies, total, ratio);
	cr_assert(fabs(ratio - 1) <= CPU_TOL,
		  "burn in %s through a command: server CPU %.4f s against %.0f replies x %d us "
		  "(ratio %.3f, allowed 1 +- %.2f)", where, total, replies, BURN_US, ratio,
		  CPU_TOL);
	/* Over its whole life, as wait4() gave it through the keeper: the
	 * command and every child it made. */
	{
		double life = jr_path_number(v->items[0], "result.server_process.lifetime.user_s") +
			      jr_path_number(v->items[0], "result.server_process.lifetime.sys_s");

		cr_assert_geq(life, 0.9 * total, "lifetime %.4f s below the phase's %.4f s", life,
			      total);
	}
	jr_free(v);
}

Test(yours_cpu, burn_in_the_command_itself, .init = setup, .fini = teardown, .timeout = 90)
{
	check_burn("main", 0, "800");
}

Test(yours_cpu, burn_in_children_it_reaps, .init = setup, .fini = teardown, .timeout = 90)
{
	check_burn("child", 20000, "2000");
}

Test(yours_cpu, burn_in_a_child_per_connection, .init = setup, .fini = teardown,
     .timeout = 90)
{
	check_burn("conn", 0, "800");
}

/* ---- servers nobody here wrote ------------------------------------------------------- */

/* socat's ROT13: tr per connection, told to write each line as it comes. */
#define SOCAT_ROT13 "socat=socat TCP-LISTEN:{port},fork,reuseaddr " \
	"EXEC:'stdbuf -oL tr a-zA-Z n-za-mN-ZA-M'"

Test(yours_others, socat_rot13_in_a_sweep_and_a_lesson, .init = setup, .fini = teardown,
     .timeout = 120)
{
	static char out[1 << 20], err[1 << 16];
	/* A second, not a few requests: the CPU of children reaped during
	 * the phase is known to the clock tick (collect.c), 10 ms. */
	char *argv[] = { NULL, "--server", "epoll-lt," SOCAT_ROT13, "--conns", "3",
			 "--duration", "1", "--warmup", "0.2", "--mechanism", "off", "--json",
			 "--out", outdir, NULL };
	char *lesson[] = { NULL, "lesson", "idle", "--server", SOCAT_ROT13, "--conns", "5,20",
			   "--active", "5", "--repeat", "2", "--duration", "0.3", "--warmup", "0",
			   "--mechanism", "off", "--out", outdir, NULL };
	struct jr_value *v;
	const struct jr_value *s;

	if (!tu_on_path("socat") || !tu_on_path("stdbuf"))
		cr_skip_test("socat is not installed (scripts/deps.sh test installs it)");
	cr_assert_eq(run(argv, out, sizeof out, err, sizeof err), 0, "%s", err);
	v = runs(out, 2);
	s = run_of(v, "socat");
	cr_assert(is_null(s, "result.failure"), "%s", jr_string(jr_path(s, "result.failure")));
	cr_assert_geq(jr_path_number(s, "result.replies"), 200);
	cr_assert_eq(jr_path_number(s, "result.verify_mismatch"), 0);
	/* A process per connection, each counted. */
	cr_assert_geq(jr_path_number(s, "result.server_process.procs_at_measure"), 4);
	cr_assert_gt(jr_path_number(s, "result.server_cpu_s.total"), 0);
	jr_free(v);

	/* The lesson takes it beside its own servers, and its verdict names it. */
	cr_assert_eq(run(lesson, out, sizeof out, err, sizeof err), 0, "%s", err);
	cr_assert(strstr(out, "lesson idle"), "no verdict: %s", out);
	cr_assert(strstr(out, "  socat: server CPU per request"),
		  "the verdict leaves the user's server out: %s", out);
}

Test(yours_others, ab_on_two_commands, .init = setup, .fini = teardown, .timeout = 180)
{
	static char out[1 << 20], err[1 << 16];
	char base[PATH_MAX + 64], cur[PATH_MAX + 64], path[PATH_MAX + 64];
	char *argv[] = { NULL, "ab", "--baseline", base, "--current", cur, "--server", "mine",
			 "--conns", "5", "--requests", "300", "--warmup", "0", "--rounds", "3",
			 "--mechanism", "off", "--out", outdir, NULL };
	struct stat st;
	int rc;

	/* The current build does 300 us more work per request than the
	 * baseline: some 50 times the cost of a request, which no noise
	 * hides. */
	snprintf(base, sizeof base, "%s --port {port}", rot13);
	snprintf(cur, sizeof cur, "%s --port {port} --work-us 300", rot13);
	argv[0] = evbench;
	rc = run(argv, out, sizeof out, err, sizeof err);
	cr_assert_eq(rc, 1, "a 50-fold cost was not called a regression (exit %d): %s%s", rc,
		     out, err);
	cr_assert(strstr(out, "mine"), "the gate does not name the server: %s", out);
	snprintf(path, sizeof path, "%s/latest/mine@current-c5-r1.json", outdir);
	cr_assert_eq(stat(path, &st), 0, "no %s", path);
	/* A directory on one side and a command on the other is refused. */
	snprintf(base, sizeof base, "%s", outdir);
	cr_assert_eq(run(argv, out, sizeof out, err, sizeof err), 2, "%s", err);
}

/* ---- an address ------------------------------------------------------------------------ */

Test(yours, an_address_measured_from_the_client_and_with_a_pid, .init = setup,
     .fini = teardown, .timeout = 120)
{
	static char out[1 << 20], err[1 << 16];
	char spec[128], spec_pid[128];
	char *argv[] = { NULL, "--server", spec, "--server", spec_pid, "--conns", "5",
			 "--duration", "0.5", "--warmup", "0.1", "--mechanism", "off", "--json",
			 "--out", outdir, NULL };
	char *srv_argv[] = { rot13, "--port", "0", NULL };
	struct tu_proc srv;
	struct jr_value *v;
	const struct jr_value *a, *p;

	cr_assert_eq(tu_server_start(&srv, srv_argv, 0, 10000), 0, "rot13-epoll-lt did not start");
	snprintf(spec, sizeof spec, "theirs=@127.0.0.1:%d", srv.port);
	snprintf(spec_pid, sizeof spec_pid, "mine=@127.0.0.1:%d pid=%d", srv.port, (int)srv.pid);
	cr_assert_eq(run(argv, out, sizeof out, err, sizeof err), 0, "%s", err);
	v = runs(out, 2);
	a = run_of(v, "theirs");
	p = run_of(v, "mine");
	cr_assert_str_eq(jr_string(jr_path(a, "server.kind")), "address");
	cr_assert(is_null(a, "result.failure"), "%s", jr_string(jr_path(a, "result.failure")));
	cr_assert_gt(jr_path_number(a, "result.replies"), 0);
	/* Without a pid nothing of the server is known but what the client saw. */
	cr_assert(is_null(a, "result.server_cpu_s"), "an address has no CPU of its own");
	cr_assert(is_null(a, "result.server_counters"));
	cr_assert(jr_string(jr_path(a, "server.why_no_counters")));
	/* With one, its CPU. */
	cr_assert_gt(jr_path_number(p, "result.server_cpu_s.total"), 0);
	cr_assert_eq(jr_path_number(p, "server.pid"), srv.pid);
	/* evbench neither started nor stopped it: it still serves. */
	cr_assert_gt(tu_connect(srv.port, 2000), -1, "the address's server was stopped");
	jr_free(v);
	tu_kill(&srv);
}

Test(yours, an_address_where_nothing_listens, .init = setup, .fini = teardown, .timeout = 60)
{
	char failure[1024], err[8192];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	/* A port nobody listens on: bound, and closed again. */
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
		  getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
	port = ntohs(a.sin_port);
	close(fd);

	snprintf(failure, sizeof failure, "gone=@127.0.0.1:%d", port);
	cr_assert_eq(run_failing(failure, failure, sizeof failure, err, sizeof err), 1, "%s", err);
	cr_assert(strstr(failure, "nothing accepts connections"), "%s", failure);
}

/* tests/helpers/asyncio_srv.py, found from the binaries' directory (bin/ or
 * build-<san>/bin/). */
static void asyncio_script(char *path, size_t cap)
{
	snprintf(path, cap, "%s/../tests/helpers/asyncio_srv.py", tu_bin_dir());
	if (access(path, R_OK) != 0)
		snprintf(path, cap, "%s/../../tests/helpers/asyncio_srv.py", tu_bin_dir());
	cr_assert_eq(access(path, R_OK), 0, "no tests/helpers/asyncio_srv.py beside %s",
		     tu_bin_dir());
}

Test(yours_others, ncat_and_asyncio_echo_in_a_sweep, .init = setup, .fini = teardown,
     .timeout = 120)
{
	static char out[1 << 20], err[1 << 16];
	char script[PATH_MAX], py[PATH_MAX + 64];
	char *argv[] = { NULL, "--protocol", "echo", "--server", "epoll-lt",
			 "--server", "ncat=ncat -l -k 127.0.0.1 {port} --exec /bin/cat",
			 "--server", py, "--conns", "3", "--duration", "1", "--warmup", "0.2",
			 "--mechanism", "off", "--json", "--out", outdir, NULL };
	struct jr_value *v;

	if (!tu_on_path("ncat") || !tu_on_path("python3"))
		cr_skip_test("ncat or python3 is not installed (scripts/deps.sh test installs them)");
	asyncio_script(script, sizeof script);
	snprintf(py, sizeof py, "py=python3 %s --port {port} --protocol echo", script);
	cr_assert_eq(run(argv, out, sizeof out, err, sizeof err), 0, "%s", err);
	v = runs(out, 3);
	for (size_t i = 0; i < v->len; i++) {
		const struct jr_value *r = v->items[i];
		const char *name = jr_string(jr_path(r, "server.name"));

		cr_assert(is_null(r, "result.failure"), "%s: %s", name,
			  jr_string(jr_path(r, "result.failure")));
		cr_assert_str_eq(jr_string(jr_path(r, "load.protocol")), "echo");
		cr_assert_gt(jr_path_number(r, "result.replies"), 0, "%s verified nothing", name);
		cr_assert_eq(jr_path_number(r, "result.verify_mismatch"), 0, "%s", name);
		cr_assert_gt(jr_path_number(r, "result.server_cpu_s.total"), 0, "%s", name);
	}
	jr_free(v);
}

Test(yours_others, asyncio_in_a_lesson_and_ab, .init = setup, .fini = teardown,
     .timeout = 180)
{
	static char out[1 << 20], err[1 << 16];
	char script[PATH_MAX], py[PATH_MAX + 64], cmd[PATH_MAX + 64], path[PATH_MAX + 64];
	char *lesson[] = { NULL, "lesson", "idle", "--server", py, "--conns", "5,20",
			   "--active", "5", "--repeat", "2", "--duration", "0.3", "--warmup", "0",
			   "--mechanism", "off", "--out", outdir, NULL };
	char *ab[] = { NULL, "ab", "--baseline", cmd, "--current", cmd, "--server", "py",
		       "--conns", "5", "--duration", "0.3", "--warmup", "0", "--rounds", "3",
		       "--mechanism", "off", "--out", outdir, NULL };
	struct stat st;
	int rc;

	if (!tu_on_path("python3"))
		cr_skip_test("python3 is not installed (scripts/deps.sh test installs it)");
	asyncio_script(script, sizeof script);
	snprintf(py, sizeof py, "py=python3 %s --port {port}", script);
	snprintf(cmd, sizeof cmd, "python3 %s --port {port}", script);
	cr_assert_eq(run(lesson, out, sizeof out, err, sizeof err), 0, "%s", err);
	cr_assert(strstr(out, "  py: server CPU per request"), "the verdict leaves it out: %s", out);
	/* An A/A of the user's server: whatever three rounds decide (the
	 * gate's verdict on an A/A is a matter of its error rate, docs/gate.md),
	 * the two commands ran, paired, under their names. */
	rc = run(ab, out, sizeof out, err, sizeof err);
	cr_assert(rc == 0 || rc == 1 || rc == 3, "ab on two commands: exit %d: %s%s", rc, out, err);
	cr_assert(strstr(out, "py"), "the verdict does not name the server: %s", out);
	snprintf(path, sizeof path, "%s/latest/py@baseline-c5-r3.json", outdir);
	cr_assert_eq(stat(path, &st), 0, "no %s", path);
	snprintf(path, sizeof path, "%s/latest/py@current-c5-r3.stdout", outdir);
	cr_assert_eq(stat(path, &st), 0, "no %s", path);
}

/* Agents (docs/many-hosts.md) load a server given as an address as they
 * load ours: the merged replies are the server's lines. */
Test(yours, agents_load_an_address, .init = setup, .fini = teardown, .timeout = 120)
{
	static char out[1 << 20], err[1 << 16];
	char spec[128];
	char *argv[] = { NULL, "--server", spec, "--agents", "local,local", "--conns", "10",
			 "--duration", "0.5", "--warmup", "0.1", "--mechanism", "off", "--json",
			 "--out", outdir, NULL };
	char *srv_argv[] = { rot13, "--port", "0", NULL };
	struct tu_proc srv;
	struct tu_json j;
	struct jr_value *v;
	double replies;

	cr_assert_eq(tu_server_start(&srv, srv_argv, 0, 10000), 0, "rot13-epoll-lt did not start");
	snprintf(spec, sizeof spec, "theirs=@127.0.0.1:%d pid=%d", srv.port, (int)srv.pid);
	cr_assert_eq(run(argv, out, sizeof out, err, sizeof err), 0, "%s", err);
	v = runs(out, 1);
	cr_assert(is_null(v->items[0], "result.failure"), "%s",
		  jr_string(jr_path(v->items[0], "result.failure")));
	replies = jr_path_number(v->items[0], "result.replies");
	cr_assert_gt(replies, 0);
	cr_assert_gt(jr_path_number(v->items[0], "result.server_cpu_s.total"), 0);
	cr_assert_eq(jr_path_number(v->items[0], "result.connections.established"), 10);
	/* Every reply of every phase the two agents counted is a line the
	 * server answered: its own stop report says how many. */
	cr_assert_eq(tu_server_stop(&srv, &j, 10000), 0, "the server did not stop cleanly");
	{
		char latest[PATH_MAX + 16], *margv[] = { NULL, "merge", "--json", latest, NULL };
		struct jr_value *m;

		snprintf(latest, sizeof latest, "%s/latest", outdir);
		cr_assert_eq(run(margv, out, sizeof out, err, sizeof err), 0, "%s", err);
		m = jr_parse(out, strlen(out), NULL);
		cr_assert_not_null(m, "evbench merge --json: %.300s", out);
		cr_assert_eq((double)tu_json_int(&j, "lines"), jr_path_number(m, "all_phases.replies"),
			     "server lines %lld, merged replies of all phases %.0f",
			     tu_json_int(&j, "lines"), jr_path_number(m, "all_phases.replies"));
		jr_free(m);
	}
	jr_free(v);
}
