/*
 * test_evbench.c - bin/evbench end to end, as a user runs it: a small sweep
 * over two servers checked against the schema of docs/results.md and for
 * consistency; a run with more connections than descriptors; Ctrl-C and
 * SIGKILL in the middle of a run, checked in the process table; a server that
 * cannot start; bad command lines.
 *
 * Every evbench is started with tu_spawn()/tu_run(), in its own process group
 * and killed by .fini whatever happens; every wait has a deadline. Nothing
 * here asserts on speed: runs are short only to keep the suite short.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "designs.h"
#include "jsonr.h"
#include "procfs.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------ */

static char evbench[PATH_MAX];
static char outdir[PATH_MAX];

static void setup(void)
{
	cr_assert_eq(tu_path(evbench, sizeof evbench, tu_bin_dir(), "evbench"), 0,
		     "%s is not built", evbench);
	cr_assert_eq(tu_scratch_dir(outdir, sizeof outdir, "test"), 0);
}

static void teardown(void)
{
	tu_scratch_remove(outdir);
}

static bool has(const struct jr_value *v, const char *path)
{
	return jr_path(v, path) != NULL;
}

/* Runs evbench with argv (argv[0] is filled in) and parses its stdout. */
static struct jr_value *run_json(char **argv, int *status, char *err, size_t errcap)
{
	static char out[1 << 20];
	struct jr_error e;
	struct jr_value *v;

	argv[0] = evbench;
	*status = tu_run(argv, out, sizeof out, err, errcap, 120000);
	cr_assert_neq(*status, -1, "evbench did not finish in time: %s", err);
	v = jr_parse(out, strlen(out), &e);
	cr_assert_not_null(v, "stdout is not JSON (%d:%d %s): %.300s\nstderr: %s", e.line,
			   e.column, e.msg, out, err);
	return v;
}

/* Every key docs/results.md documents as always present. */
static const char *const required[] = {
	"schema", "run_id", "started_at", "host", "server", "load", "result",
	"host.kernel", "host.cpus", "host.nofile.soft", "host.nofile.hard", "host.somaxconn",
	"host.ephemeral_ports", "host.fd_setsize", "host.threads_max", "host.nproc.soft",
	"server.name", "server.design", "server.binary", "server.pid", "server.port",
	"server.exit", "server.ready_s", "server.stop_s",
	"load.conns", "load.threads", "load.duration_s", "load.warmup_s", "load.size",
	"result.repeat", "result.ran", "result.failure", "result.warnings",
	"result.wall_s", "result.client_cpu_s", "result.client_user_s", "result.client_sys_s",
	"result.requests", "result.replies", "result.bytes_sent", "result.bytes_received",
	"result.throughput_rps", "result.latency_us.p50", "result.latency_us.p99",
	"result.latency_us.p999", "result.latency_us.max", "result.connections",
	"result.errors", "result.server_cpu_s.total", "result.cpu_us_per_req.client",
	"result.cpu_us_per_req.server", "result.utilization.server", "result.bound",
	"result.fd_limit.client.emfile", "result.fd_limit.server.emfile",
	"result.fd_limit.server.fd_setsize_refused", "result.server_counters.bytes_in",
	"result.server_counters.accepted", "result.server_process.peak_rss_kb",
	"result.server_process.lifetime.voluntary_ctxt_switches",
	NULL
};

/* ---- the schema as docs/results.md documents it ---------------------------------- */

#define MAX_DOC_KEYS 256

/* Every key docs/results.md documents, as a dotted path from the top of a
 * result ("result.connections.peak"): the first column of each table,
 * prefixed by the object its section is about. */
static int documented_keys(char keys[][64], int max)
{
	char path[PATH_MAX + 32], line[2048], prefix[64] = "";
	bool in_table_section = false;
	FILE *f;
	int n = 0;

	snprintf(path, sizeof path, "%s/../docs/results.md", tu_bin_dir());
	f = fopen(path, "re");
	if (!f) {
		snprintf(path, sizeof path, "%s/../../docs/results.md", tu_bin_dir());
		f = fopen(path, "re");
	}
	cr_assert_not_null(f, "cannot read docs/results.md beside %s", tu_bin_dir());
	while (fgets(line, sizeof line, f)) {
		const char *sections[][2] = {
			{ "## `load`", "load." }, { "## `result`", "result." },
			{ "`connections`:", "result.connections." }, { "## Top-level keys", "" },
			{ "## `host`", "host." }, { "## `server`", "server." },
			{ "`server_process`:", "result.server_process." },
			{ "`mechanism.server` and `mechanism.client`:", "result.mechanism.server." },
		};
		bool matched = false;

		for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
			if (strncmp(line, sections[i][0], strlen(sections[i][0])) == 0) {
				snprintf(prefix, sizeof prefix, "%s", sections[i][1]);
				in_table_section = matched = true;
			}
		if (matched)
			continue;
		if (strncmp(line, "## ", 3) == 0) {
			in_table_section = false;   /* files, summary.csv, the table */
			continue;
		}
		if (!in_table_section || strncmp(line, "| `", 3) != 0)
			continue;
		/* "| `a`, `b.c` | type | meaning |": every key of the first cell. */
		for (char *c = line + 1; *c && *c != '|'; ) {
			char *open = strchr(c, '`'), *close;

			if (!open || open > strchr(c, '|'))
				break;
			close = strchr(open + 1, '`');
			if (!close)
				break;
			cr_assert_lt(n, max);
			snprintf(keys[n++], 64, "%s%.*s", prefix, (int)(close - open - 1), open + 1);
			c = close + 1;
		}
	}
	fclose(f);
	return n;
}

/* True when `key` (a dotted path) is documented, or leads to one that is. */
static bool is_documented(char keys[][64], int n, const char *key)
{
	size_t len = strlen(key);

	for (int i = 0; i < n; i++)
		if (strcmp(keys[i], key) == 0 ||
		    (strncmp(keys[i], key, len) == 0 && keys[i][len] == '.'))
			return true;
	return false;
}

/* Checks a run against the documentation both ways: every documented key is
 * there, and every key of the top-level objects is documented. */
static void check_against_docs(const struct jr_value *run)
{
	static char keys[MAX_DOC_KEYS][64];
	static int n;
	static const char *const objects[] = { "", "host", "server", "load", "result" };

	if (!n)
		n = documented_keys(keys, MAX_DOC_KEYS);
	cr_assert_gt(n, 100, "docs/results.md documents only %d keys?", n);
	for (int i = 0; i < n; i++)
		cr_assert(has(run, keys[i]), "documented key %s is missing from the result", keys[i]);
	for (size_t k = 0; k < sizeof objects / sizeof objects[0]; k++) {
		const struct jr_value *o = objects[k][0] ? jr_get(run, objects[k]) : run;

		cr_assert(o && o->type == JR_OBJECT, "no object %s", objects[k]);
		for (size_t m = 0; m < o->len; m++) {
			char key[128];

			snprintf(key, sizeof key, "%s%s%s", objects[k], objects[k][0] ? "." : "",
				 o->keys[m]);
			cr_assert(is_documented(keys, n, key), "%s is not documented in docs/results.md",
				  key);
		}
	}
}

/* Processes in group pgid that are not zombies, from the process table. */
static int live_in_group(pid_t pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		struct proc_stat ps;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (proc_stat_read(de->d_name, &ps) == 0 && ps.pgrp == (long)pgid && ps.state != 'Z')
			n++;
	}
	closedir(d);
	return n;
}

/* The pid of the first child of `parent` named comm, or 0. */
static pid_t child_named(pid_t parent, const char *prefix)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		struct proc_stat ps;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (proc_stat_read(de->d_name, &ps) == 0 && ps.ppid == (long)parent &&
		    strncmp(ps.comm, prefix, strlen(prefix)) == 0)
			found = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	return found;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits until group pgid has at least n live processes. */
static bool wait_group_size(pid_t pgid, int n, int timeout_ms)
{
	long long end = tu_now_ms() + tu_ms(timeout_ms);

	while (tu_now_ms() < end) {
		if (live_in_group(pgid) >= n)
			return true;
		sleep_ms(20);
	}
	return false;
}

/* Waits until group pgid has no live process. */
static bool wait_group_gone(pid_t pgid, int timeout_ms)
{
	long long end = tu_now_ms() + tu_ms(timeout_ms);

	while (tu_now_ms() < end) {
		if (live_in_group(pgid) == 0)
			return true;
		sleep_ms(20);
	}
	return live_in_group(pgid) == 0;
}

/* ---- a sweep over two servers --------------------------------------------------- */

Test(evbench, two_servers_schema_and_consistency, .init = setup, .fini = teardown,
     .timeout = 120)
{
	char err[8192], path[PATH_MAX + 64];
	int status;
	char *argv[] = { NULL, "--server", "epoll,poll", "--conns", "4,16", "--duration", "0.5",
			 "--warmup", "0", "--out", outdir, "--json", "--quiet", NULL };
	struct jr_value *v = run_json(argv, &status, err, sizeof err);
	struct stat st;

	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x: %s", status, err);
	cr_assert_eq(v->type, JR_ARRAY);
	cr_assert_eq(v->len, 4, "4 runs expected, got %zu", v->len);
	for (size_t i = 0; i < v->len; i++) {
		const struct jr_value *r = v->items[i];
		double wall = jr_path_number(r, "result.wall_s"), rps = jr_path_number(r, "result.throughput_rps");
		double replies = jr_path_number(r, "result.replies"), size = jr_path_number(r, "load.size");
		const char *bound = jr_string(jr_path(r, "result.bound"));

		for (int k = 0; required[k]; k++)
			cr_assert(has(r, required[k]), "run %zu lacks %s", i, required[k]);
		check_against_docs(r);
		cr_assert_str_eq(jr_string(jr_get(r, "schema")), "evbench.run/1");
		cr_assert_eq(jr_path(r, "result.failure")->type, JR_NULL);
		cr_assert_str_eq(jr_string(jr_path(r, "server.exit")), "exited 0");
		cr_assert_eq(jr_path_number(r, "load.conns"), i % 2 == 0 ? 4 : 16);
		cr_assert(replies > 0, "run %zu verified no reply", i);
		/* The metrics agree with each other. */
		cr_assert(fabs(replies - rps * wall) <= 0.01 * replies + 1,
			  "replies %.0f, throughput x wall %.1f", replies, rps * wall);
		cr_assert(fabs(jr_path_number(r, "result.bytes_received") - replies * size) < 1,
			  "bytes received is replies x size");
		/* The server read every byte the client sent. The client counts
		 * the measure phase only; with no warm-up and no new request in
		 * the drain, what it sent besides is at most one request per
		 * connection and pipeline slot, sent as a connection came up
		 * before the phase began. And rot13 keeps lengths: every byte
		 * in is a byte out. */
		{
			double in = jr_path_number(r, "result.server_counters.bytes_in");
			double sent = jr_path_number(r, "result.bytes_sent");
			double edge = jr_path_number(r, "load.conns") * jr_path_number(r, "load.pipeline") * size;

			cr_assert(in >= sent && in - sent <= edge && fmod(in - sent, size) == 0,
				  "server bytes_in %.0f against client bytes_sent %.0f", in, sent);
			cr_assert_eq(in, jr_path_number(r, "result.server_counters.bytes_out"));
		}
		cr_assert_eq(jr_path_number(r, "result.server_counters.accepted"), jr_path_number(r, "load.conns"));
		cr_assert_eq(jr_path_number(r, "result.errors_total"), 0);
		cr_assert(jr_path_number(r, "result.server_cpu_s.total") >= 0);
		cr_assert(jr_path_number(r, "result.client_cpu_s") >= 0);
		cr_assert(jr_path_number(r, "result.latency_us.p50") <= jr_path_number(r, "result.latency_us.p99"));
		cr_assert(jr_path_number(r, "result.latency_us.p99") <= jr_path_number(r, "result.latency_us.max"));
		cr_assert(bound && (!strcmp(bound, "server") || !strcmp(bound, "client") ||
				    !strcmp(bound, "neither")), "bound '%s'", bound ? bound : "(null)");
	}
	/* The files beside: latest, summary.csv with a header and 4 lines, .hgrm. */
	snprintf(path, sizeof path, "%s/latest/summary.csv", outdir);
	{
		FILE *f = fopen(path, "re");
		char line[4096];
		int lines = 0;

		cr_assert_not_null(f, "no %s", path);
		while (fgets(line, sizeof line, f))
			lines++;
		fclose(f);
		cr_assert_eq(lines, 5, "summary.csv: %d lines", lines);
	}
	snprintf(path, sizeof path, "%s/latest/epoll-lt-c16-r1.hgrm", outdir);
	cr_assert_eq(stat(path, &st), 0, "no %s", path);
	snprintf(path, sizeof path, "%s/latest/poll-c4-r1.json", outdir);
	cr_assert_eq(stat(path, &st), 0, "no %s", path);
	jr_free(v);

	/* The plots of that directory, when this machine can draw them. What an
	 * optional package leaves untested is said with cr_log_info: Criterion
	 * exits 1 after any cr_log_warn, which would fail make test on every
	 * machine without the package. */
	{
		char py[PATH_MAX + 32], script[PATH_MAX + 32], dir[PATH_MAX + 16];
		char *pyargv[] = { py, NULL }, *plotargv[] = { py, script, dir, NULL };
		static const char *const names[] = { "throughput", "latency", "cpu", "spectrum",
						     "fd_limit" };

		/* bin/../scripts, or build-<san>/bin/../../scripts */
		snprintf(py, sizeof py, "%s/../scripts/python.sh", tu_bin_dir());
		if (access(py, X_OK) != 0)
			snprintf(py, sizeof py, "%s/../../scripts/python.sh", tu_bin_dir());
		snprintf(script, sizeof script, "%.*s/plot.py", (int)(strlen(py) - 10), py);
		snprintf(dir, sizeof dir, "%s/latest", outdir);
		if (access(py, X_OK) != 0 || access(script, R_OK) != 0 ||
		    tu_run(pyargv, NULL, 0, NULL, 0, 10000) != 0) {
			cr_log_info("no Python with matplotlib: plot.py not tested");
			return;
		}
		status = tu_run(plotargv, NULL, 0, err, sizeof err, 120000);
		cr_assert_eq(status, 0, "plot.py failed (%#x): %s", status, err);
		for (size_t i = 0; i < 5; i++)
			for (int k = 0; k < 2; k++) {
				snprintf(path, sizeof path, "%s/latest/plots/%s.%s", outdir, names[i],
					 k ? "svg" : "png");
				cr_assert(stat(path, &st) == 0 && st.st_size > 1000, "no plot %s", path);
			}
	}
}

/* ---- descriptor limits --------------------------------------------------------------- */

Test(evbench, more_conns_than_descriptors, .init = setup, .fini = teardown, .timeout = 120)
{
	char *argv[] = { evbench, "--server", "epoll", "--conns", "300", "--duration", "1",
			 "--warmup", "0", "--timeout", "2", "--out", outdir, "--json", "--quiet",
			 NULL };
	static char out[1 << 20];
	struct tu_proc p;
	size_t len = 0;
	struct jr_value *v;
	const struct jr_value *r;
	double fd;
	int status;

	/* 128 descriptors, hard limit included, for evbench and its server. */
	cr_assert_eq(tu_spawn(&p, argv, 128, 0), 0);
	for (;;) {
		ssize_t n = tu_read_line(&p, out + len, sizeof out - len - 2, 60000);

		if (n < 0)
			break;
		len += (size_t)n;
		out[len++] = '\n';
	}
	out[len] = '\0';
	status = tu_wait_exit(&p, 30000);
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "status %#x", status);
	v = jr_parse(out, len, NULL);
	cr_assert_not_null(v, "stdout is not JSON: %.300s", out);
	cr_assert_eq(v->len, 1);
	r = v->items[0];
	fd = jr_path_number(r, "result.fd_limit.client.emfile") + jr_path_number(r, "result.fd_limit.server.emfile");
	cr_assert(fd > 0, "no fd-limit failure recorded at 300 connections and 128 descriptors");
	cr_assert(jr_path(r, "result.warnings")->len >= 1, "no preflight warning recorded");
	cr_assert_eq(jr_path(r, "result.failure")->type, JR_NULL, "the run itself should succeed");
	cr_assert(jr_path_number(r, "result.replies") > 0, "the connections that opened were served");
	jr_free(v);
}

/* select past FD_SETSIZE: the server closes each connection it cannot watch
 * at once, and the client sees it closed before any reply. The table counts
 * such a connection once, in fd-limit, not again in errors; its `up` is
 * flagged as short of conns, poll's is not; `active` shows --active (issue 16). */
Test(evbench, shed_connections_counted_once, .init = setup, .fini = teardown, .timeout = 120)
{
	char *argv[] = { NULL, "--server", "select,poll", "--conns", "1100", "--duration", "0.5",
			 "--warmup", "0.3", "--active", "40", "--out", outdir, "--json", NULL };
	char err[65536], *row, up[16];
	long active;
	const struct jr_value *r;
	struct jr_value *v;
	double refused, unserved, errs_total, fd_cell, err_cell;
	int status;

	v = run_json(argv, &status, err, sizeof err);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x: %s", status, err);
	cr_assert_eq(v->len, 2);
	r = v->items[0];
	cr_assert_str_eq(jr_string(jr_path(r, "server.name")), "select");
	refused = jr_path_number(r, "result.fd_limit.server.fd_setsize_refused");
	unserved = jr_path_number(r, "result.closed_unserved");
	errs_total = jr_path_number(r, "result.errors_total");
	cr_assert(refused > 0, "select refused nothing at 1,100 connections");
	/* Nearly every refused connection was seen closed unserved by the
	 * client (one refused as the drain began may close unnoticed). */
	cr_assert(unserved >= 0.9 * refused && unserved <= errs_total,
		  "closed_unserved %.0f, fd_setsize_refused %.0f, errors_total %.0f", unserved,
		  refused, errs_total);
	/* The table's row (on stderr with --json): fd-limit and errors cells. */
	row = strstr(err, "\nselect ");
	cr_assert_not_null(row, "no select row in: %s", err);
	cr_assert_eq(sscanf(row, "%*s %*s %15s %ld %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %lf %lf",
			    up, &active, &fd_cell, &err_cell), 4, "row: %.200s", row);
	cr_assert(up[strlen(up) - 1] == '*', "up %s not flagged short of 1,100", up);
	cr_assert_eq(atol(up), (long)fmin(jr_path_number(r, "result.connections.up_at_measure"),
					  jr_path_number(r, "result.server_counters.peak_conns")), "up %s", up);
	cr_assert_eq(active, 40, "active %ld", active);
	cr_assert_eq(fd_cell, refused + jr_path_number(r, "result.fd_limit.client.emfile") +
		     jr_path_number(r, "result.fd_limit.client.enfile") +
		     jr_path_number(r, "result.fd_limit.client.eaddrnotavail"), "fd-limit cell %.0f", fd_cell);
	cr_assert_eq(err_cell, errs_total - fmin(unserved, refused) +
		     jr_path_number(r, "result.server_counters.errors"),
		     "errors cell %.0f: the %.0f refused connections should not count again",
		     err_cell, refused);
	cr_assert_lt(err_cell, refused / 2, "errors cell %.0f", err_cell);
	/* stderr is a pipe here: no progress line. */
	cr_assert_null(strstr(err, "[run "), "a progress line on a pipe: %s", err);
	row = strstr(err, "\npoll ");
	cr_assert_not_null(row, "no poll row in: %s", err);
	cr_assert_eq(sscanf(row, "%*s %*s %15s %ld", up, &active), 2, "row: %.200s", row);
	cr_assert_str_eq(up, "1100", "poll's row: %.120s", row);
	cr_assert_eq(active, 40);
	jr_free(v);
}

/* ---- nothing outlives evbench ---------------------------------------------------------- */

/* Starts evbench on the fork server and waits until the server has forked
 * a child per connection. Returns the server's pid (its process group). */
static pid_t start_long_run(struct tu_proc *p)
{
	char *argv[] = { evbench, "--server", "fork", "--conns", "20", "--duration", "60",
			 "--warmup", "0", "--out", outdir, "--quiet", NULL };
	long long end;
	pid_t srv = 0;

	cr_assert_eq(tu_spawn(p, argv, 0, TU_CAPTURE_STDERR), 0);
	end = tu_now_ms() + tu_ms(10000);
	while (!srv && tu_now_ms() < end) {
		srv = child_named(p->pid, "rot13-fork");
		if (!srv)
			sleep_ms(20);
	}
	cr_assert_gt(srv, 0, "evbench started no rot13-fork");
	cr_assert(wait_group_size(srv, 21, 10000), "the fork server did not reach 20 children");
	return srv;
}

Test(evbench, ctrl_c_leaves_nothing_behind, .init = setup, .fini = teardown, .timeout = 60)
{
	struct tu_proc p;
	pid_t srv = start_long_run(&p);
	char path[PATH_MAX + 64];
	struct stat st;
	int status;

	cr_assert_eq(kill(p.pid, SIGINT), 0);
	status = tu_wait_exit(&p, 20000);
	cr_assert(status >= 0, "evbench did not exit after SIGINT");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %#x", status);
	cr_assert(wait_group_gone(srv, 5000), "%d processes of the server's group survive",
		  live_in_group(srv));
	/* The interrupted run was recorded. */
	snprintf(path, sizeof path, "%s/latest/fork-c20-r1.json", outdir);
	cr_assert_eq(stat(path, &st), 0, "the interrupted run left no %s", path);
}

Test(evbench, sigkill_leaves_nothing_behind, .init = setup, .fini = teardown, .timeout = 60)
{
	struct tu_proc p;
	pid_t srv = start_long_run(&p);

	/* No handler runs: the kernel's PDEATHSIG must do it all. */
	cr_assert_eq(kill(p.pid, SIGKILL), 0);
	cr_assert(tu_wait_exit(&p, 10000) >= 0);
	cr_assert(wait_group_gone(srv, 5000), "%d processes of the server's group survive",
		  live_in_group(srv));
}

/* ---- failures are recorded ------------------------------------------------------------- */

Test(evbench, server_that_cannot_start_is_recorded, .init = setup, .fini = teardown,
     .timeout = 60)
{
	char err[8192];
	int status;
	char *argv[] = { NULL, "--server", "epoll", "--conns", "2", "--duration", "0.2",
			 "--warmup", "0", "--server-args", "--no-such-option", "--out", outdir,
			 "--json", NULL };
	struct jr_value *v = run_json(argv, &status, err, sizeof err);
	const struct jr_value *r;
	const char *failure;

	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x", status);
	cr_assert_eq(v->len, 1);
	r = v->items[0];
	failure = jr_string(jr_path(r, "result.failure"));
	cr_assert_not_null(failure, "no failure recorded");
	cr_assert(strstr(failure, "before its ready line"), "failure: %s", failure);
	cr_assert_eq(jr_path(r, "result.ran")->boolean, false);
	/* Nothing was measured, which is not zero: the client's figures are
	 * there, and null. */
	static const char *const unmeasured[] = {
		"result.cpu_us_per_req.client", "result.fd_limit.client.emfile",
		"result.fd_limit.client.enfile", "result.fd_limit.client.eaddrnotavail",
	};
	for (size_t i = 0; i < sizeof unmeasured / sizeof *unmeasured; i++) {
		const struct jr_value *x = jr_path(r, unmeasured[i]);

		cr_assert(x && x->type == JR_NULL, "%s is not null", unmeasured[i]);
	}
	jr_free(v);
}

/* ---- servers that misbehave ------------------------------------------------------------ */

/*
 * evbench runs the servers beside its own executable, so a copy of it in a
 * directory of its own runs whatever that directory holds: here a shell
 * script standing in for rot13-epoll-lt. Fills exe with the copy's path.
 */
static void fake_server(char *exe, size_t cap, const char *script)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], buf[65536];
	FILE *in, *out;
	size_t n;

	snprintf(dir, sizeof dir, "%.3000s/bin", outdir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(exe, cap, "%.3000s/evbench", dir);
	in = fopen(evbench, "rb");
	out = fopen(exe, "wb");
	cr_assert(in && out, "cannot copy %s", evbench);
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		cr_assert_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	cr_assert_eq(fclose(out), 0);
	cr_assert_eq(chmod(exe, 0755), 0);
	snprintf(path, sizeof path, "%s/rot13-epoll-lt", dir);
	out = fopen(path, "w");
	cr_assert_not_null(out);
	fputs(script, out);
	cr_assert_eq(fclose(out), 0);
	cr_assert_eq(chmod(path, 0755), 0);
}

/* Runs a copy of evbench against a fake server made of script: evbench must
 * exit with exit_code and record one run whose result.failure contains
 * failure. Returns the JSON (free it), the run in *r. */
static struct jr_value *run_fake(const char *script, int exit_code, const char *failure,
				 const struct jr_value **r)
{
	static char err[8192];
	char exe[PATH_MAX];
	char *argv[] = { NULL, "--server", "epoll", "--conns", "2", "--duration", "1", "--warmup",
			 "0", "--timeout", "1", "--out", outdir, "--json", "--quiet", NULL };
	struct jr_value *v;
	char saved[PATH_MAX];
	const char *got;
	int status;

	fake_server(exe, sizeof exe, script);
	/* run_json() runs `evbench`; point it at the copy for this call. */
	snprintf(saved, sizeof saved, "%s", evbench);
	snprintf(evbench, sizeof evbench, "%s", exe);
	v = run_json(argv, &status, err, sizeof err);
	snprintf(evbench, sizeof evbench, "%s", saved);
	cr_assert_eq(v->type, JR_ARRAY);
	cr_assert_eq(v->len, 1, "one run expected");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == exit_code, "status %#x", status);
	*r = v->items[0];
	got = jr_string(jr_path(*r, "result.failure"));
	cr_assert(got && strstr(got, failure), "failure: %s", got ? got : "(null)");
	return v;
}

Test(evbench, server_ignoring_sigterm_is_killed, .init = setup, .fini = teardown, .timeout = 60)
{
	const struct jr_value *r;
	struct jr_value *v;
	double pid;

	/* Ready on a port nobody listens on, then deaf to SIGTERM. */
	v = run_fake("#!/bin/sh\ntrap '' TERM\necho \"ready fake port=1 pid=$$\"\nexec sleep 60\n", 1,
		     "did not exit within 5 s", &r);
	cr_assert_eq(jr_path(r, "server.killed")->boolean, true);
	cr_assert_str_eq(jr_string(jr_path(r, "server.exit")), "killed by SIGKILL");
	cr_assert(jr_path_number(r, "result.errors_total") > 0, "connecting to port 1 must fail");
	pid = jr_path_number(r, "server.pid");
	cr_assert(pid > 0 && live_in_group((pid_t)pid) == 0, "the fake server's group survives");
	jr_free(v);
}

Test(evbench, server_crash_is_recorded, .init = setup, .fini = teardown, .timeout = 60)
{
	const struct jr_value *r;
	struct jr_value *v;

	v = run_fake("#!/bin/sh\necho \"ready fake port=1 pid=$$\"\nsleep 0.3\nkill -SEGV $$\n", 1,
		     "died during the run (killed by SIGSEGV)", &r);
	cr_assert_eq(jr_path(r, "server.died_early")->boolean, true);
	cr_assert_eq(jr_path(r, "result.ran")->boolean, true, "the load ran, against a dead server");
	jr_free(v);
}

/* A server that cannot run here (rot13-uring without io_uring) exits
 * EVB_EXIT_UNAVAILABLE with its reason: the run is recorded as skipped with
 * that reason, and evbench does not count it as a failure. */
Test(evbench, unavailable_design_is_skipped, .init = setup, .fini = teardown, .timeout = 60)
{
	char script[256];
	const struct jr_value *r;
	struct jr_value *v;

	snprintf(script, sizeof script, "#!/bin/sh\necho 'no io_uring in this sandbox' >&2\nexit %d\n",
		 EVB_EXIT_UNAVAILABLE);
	v = run_fake(script, 0, "skipped: no io_uring in this sandbox", &r);
	cr_assert_str_eq(jr_string(jr_path(r, "result.failure")),
			 "skipped: no io_uring in this sandbox");
	cr_assert_eq(jr_path(r, "result.ran")->boolean, false);
	jr_free(v);
}

Test(evbench, no_ready_line_times_out, .init = setup, .fini = teardown, .timeout = 60)
{
	const struct jr_value *r;
	struct jr_value *v;

	v = run_fake("#!/bin/sh\necho starting >&2\nexec sleep 60\n", 1, "no ready line within 10 s",
		     &r);
	cr_assert_eq(jr_path(r, "result.ran")->boolean, false);
	cr_assert(live_in_group((pid_t)jr_path_number(r, "server.pid")) == 0, "the fake server survives");
	jr_free(v);
}

Test(evbench, all_skips_servers_not_built, .init = setup, .fini = teardown, .timeout = 60)
{
	char exe[PATH_MAX], script[PATH_MAX + 64], real[PATH_MAX];
	char out[1 << 16], err[8192];
	int status, skipped = 0, others = -1; /* every row of `all` but epoll-lt */

	for (int i = 0; i < evb_ndesigns; i++)
		others += (evb_designs[i].props & DS_ALL) != 0;
	/* A directory holding evbench and one real server, under the name of
	 * epoll-lt: `all` runs it and skips the others with a warning. */
	cr_assert_eq(tu_path(real, sizeof real, tu_bin_dir(), "rot13-epoll-lt"), 0);
	snprintf(script, sizeof script, "#!/bin/sh\nexec %s \"$@\"\n", real);
	fake_server(exe, sizeof exe, script);
	{
		char *argv[] = { exe, "--server", "all", "--conns", "2", "--duration", "0.2",
				 "--warmup", "0", "--out", outdir, NULL };

		status = tu_run(argv, out, sizeof out, err, sizeof err, 60000);
	}
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "status %#x: %s", status, err);
	for (const char *c = err; (c = strstr(c, "warning: skipping")); c++)
		skipped++;
	cr_assert_eq(skipped, others, "%d servers should be skipped: %s", others, err);
	cr_assert(strstr(out, "epoll-lt"), "no row for epoll-lt: %s", out);

	/* Named explicitly, a server that is not built is an error. */
	{
		char *argv[] = { exe, "--server", "poll", "--out", outdir, NULL };

		status = tu_run(argv, out, sizeof out, err, sizeof err, 10000);
	}
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %#x",
		  status);
	cr_assert(strstr(err, "not built"), "message: %s", err);
}

/* ---- bad command lines ------------------------------------------------------------------- */

Test(evbench, bad_input_exits_2_with_one_line, .init = setup, .fini = teardown, .timeout = 60)
{
	static const char *const cases[][6] = {
		{ "--server", "nosuch", NULL },
		{ "--server", "epoll,,poll", NULL },
		{ "--conns", "10,abc", NULL },
		{ "--conns", "0", NULL },
		{ "--repeat", "many", NULL },
		{ "--duration", "-3", NULL },
		{ "--no-such-option", NULL },
		{ "--conns", NULL },
		{ "--server", "mine=./mysrv --port 80", NULL },   /* no {port} */
		{ "--conns", "10", "--conns=20", NULL },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[10] = { evbench };
		char out[4096], err[4096];
		int n = 1, status, lines = 0;

		for (int k = 0; cases[i][k]; k++)
			argv[n++] = (char *)cases[i][k];
		argv[n++] = "--out";
		argv[n++] = outdir;
		argv[n] = NULL;
		status = tu_run(argv, out, sizeof out, err, sizeof err, 10000);
		cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 2,
			  "%s %s: status %#x", cases[i][0], cases[i][1] ? cases[i][1] : "", status);
		for (char *c = err; *c; c++)
			lines += *c == '\n';
		cr_assert_eq(lines, 1, "%s: stderr should be one line: %s", cases[i][0], err);
		cr_assert(strncmp(err, "evbench: ", 9) == 0, "message: %s", err);
		cr_assert_eq(out[0], '\0', "nothing on stdout: %s", out);
	}
}

/* evbench report: one page with the table as printed, the comparisons with
 * their intervals, a plot inlined byte for byte, the command, and nothing
 * fetched from elsewhere; with chromium here, rendered and shot. */
Test(evbench, report_is_one_self_contained_page, .init = setup, .fini = teardown,
     .timeout = 120)
{
	static char page[1 << 20];
	/* The 8 bytes every PNG begins with, and their base64. */
	static const unsigned char png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	char path[PATH_MAX + 64], so[8192], se[8192], table[8192];
	char *argv[] = { evbench, "--server", "epoll-lt,poll", "--conns", "4", "--repeat", "3",
			 "--duration", "0.2", "--warmup", "0", "--quiet", "--out", outdir, NULL };
	char *rargv[] = { evbench, "report", outdir, NULL };
	int status;
	FILE *f;
	size_t n;

	status = tu_run(argv, table, sizeof table, se, sizeof se, 60000);
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "status %#x: %s", status, se);
	snprintf(path, sizeof path, "%s/latest/plots", outdir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/latest/plots/throughput.png", outdir);
	f = fopen(path, "we");
	cr_assert_not_null(f);
	fwrite(png, 1, sizeof png, f);
	fclose(f);

	status = tu_run(rargv, so, sizeof so, se, sizeof se, 30000);
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "report: status %#x: %s", status, se);
	snprintf(path, sizeof path, "%s/latest/report.html", outdir);
	cr_assert(strstr(so, "report.html"), "report printed: %s", so);
	f = fopen(path, "re");
	cr_assert_not_null(f, "no %s", path);
	n = fread(page, 1, sizeof page - 1, f);
	fclose(f);
	page[n] = '\0';
	/* Every row of the table as evbench printed it on stdout (escaping
	 * leaves a table without < > & alone): the page's figures are the
	 * table's, which tests/test_oracle.c checks against known answers. */
	for (char *line = table, *end; *line; line = end + 1) {
		end = strchr(line, '\n');
		cr_assert_not_null(end, "the table ends without a newline");
		*end = '\0';
		cr_assert(strstr(page, line), "the table's row is not on the page: %s", line);
	}
	cr_assert(strstr(page, "<td>poll</td><td class=n>4</td>"), "no comparison row for poll");
	cr_assert(strstr(page, "&times; <span class="), "no interval on the page");
	cr_assert(strstr(page, "data:image/png;base64,iVBORw0KGgo=\""), "the PNG is not inlined");
	cr_assert(strstr(page, "--server epoll-lt,poll --conns 4"), "no command on the page");
	cr_assert_null(strstr(page, "http:"), "the page refers to the network");
	cr_assert_null(strstr(page, "https:"), "the page refers to the network");
	cr_assert_null(strstr(page, "<script"), "the page runs a script");

	/* A directory without results is bad input. */
	rargv[2] = "/proc/self";
	status = tu_run(rargv, so, sizeof so, se, sizeof se, 30000);
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %#x", status);

	if (tu_on_path("chromium")) {
		char shot[PATH_MAX + 32], script[PATH_MAX + 64];
		char *sargv[] = { script, outdir, shot, "800x1200", NULL };
		struct stat st;

		snprintf(script, sizeof script, "%s/../scripts/report_screenshot.sh", tu_bin_dir());
		if (access(script, X_OK) != 0)
			snprintf(script, sizeof script, "%s/../../scripts/report_screenshot.sh",
				 tu_bin_dir());
		snprintf(shot, sizeof shot, "%s/shot.png", outdir);
		status = tu_run(sargv, so, sizeof so, se, sizeof se, 90000);
		cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "report_screenshot.sh: status %#x: %s", status, se);
		cr_assert(stat(shot, &st) == 0 && st.st_size > 1000, "no screenshot %s", shot);
	} else {
		cr_log_info("no chromium here (scripts/deps.sh browser): the page was not rendered");
	}
}

/* On a terminal: one line per tick with run k of N, the round, the phase
 * with its time and planned length, and the sweep's time left. */
Test(evbench, progress_line_on_a_terminal, .init = setup, .fini = teardown, .timeout = 60)
{
	static char out[1 << 16];
	char *argv[] = { evbench, "--server", "epoll-lt,poll", "--conns", "2", "--duration", "1.2",
			 "--warmup", "0.2", "--out", outdir, NULL };
	long long end = tu_now_ms() + tu_ms(30000);
	size_t len = 0;
	int master, status = -1;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);

	cr_assert_neq(pid, -1, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		execv(evbench, argv);
		_exit(127);
	}
	/* Read until the program closes the terminal or the deadline passes;
	 * kill it either way before asserting anything. */
	while (tu_now_ms() < end && len + 1 < sizeof out) {
		struct pollfd pfd = { .fd = master, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(master, out + len, sizeof out - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(master);
	cr_assert(strstr(out, "[run 1/2 r1/1] "), "no line for run 1 of 2: %s", out);
	cr_assert(strstr(out, "[run 2/2 r1/1] "), "no line for run 2 of 2: %s", out);
	cr_assert(strstr(out, "measure ") && strstr(out, "/1.2s"), "no measure phase of 1.2 s: %s",
		  out);
	cr_assert(strstr(out, " left"), "no time left: %s", out);
}

/* --out a/b/c makes its parents; --quiet --plot prints nothing at all. */
Test(evbench, out_parents_and_quiet_plot, .init = setup, .fini = teardown, .timeout = 120)
{
	char out[PATH_MAX + 32], path[PATH_MAX + 64], so[4096], se[4096];
	char *argv[] = { evbench, "--server", "epoll-lt", "--conns", "2", "--duration", "0.2",
			 "--warmup", "0", "--quiet", "--plot", "--out", out, NULL };
	bool plots = system("/usr/bin/python3 -c 'import matplotlib' 2>/dev/null") == 0;
	int status;

	snprintf(out, sizeof out, "%s/a/b", outdir);
	status = tu_run(argv, so, sizeof so, se, sizeof se, 60000);
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "status %#x: %s", status, se);
	snprintf(path, sizeof path, "%s/latest/summary.csv", out);
	cr_assert_eq(access(path, R_OK), 0, "no %s", path);
	if (!plots) {
		/* Only the drawing needs matplotlib; the run without it, and its
		 * one line on stderr, is plot_without_matplotlib_keeps_the_run. */
		cr_log_info("no matplotlib here (scripts/deps.sh bench): the plots not checked");
		return;
	}
	cr_assert_eq(se[0], '\0', "--quiet printed on stderr: %s", se);
	snprintf(path, sizeof path, "%s/latest/plots/throughput.png", out);
	cr_assert_eq(access(path, R_OK), 0, "no %s", path);
}

/* The same run on a machine without matplotlib, made here by a matplotlib
 * that cannot be imported first on PYTHONPATH: --plot costs one line on
 * stderr and nothing else; the results land in --out, not in the clone. */
Test(evbench, plot_without_matplotlib_keeps_the_run, .init = setup, .fini = teardown, .timeout = 120)
{
	char out[PATH_MAX + 32], stub[PATH_MAX + 32], path[PATH_MAX + 64], so[4096], se[4096];
	char *argv[] = { evbench, "--server", "epoll-lt", "--conns", "2", "--duration", "0.2",
			 "--warmup", "0", "--quiet", "--plot", "--out", out, NULL };
	FILE *f;
	int status;

	snprintf(out, sizeof out, "%s/a/b", outdir);
	snprintf(stub, sizeof stub, "%s/nompl/matplotlib", outdir);
	snprintf(path, sizeof path, "%s/nompl", outdir);
	cr_assert(mkdir(path, 0755) == 0 && mkdir(stub, 0755) == 0, "mkdir %s", stub);
	snprintf(path, sizeof path, "%s/__init__.py", stub);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("raise ImportError('hidden by test_evbench')\n", f);
	fclose(f);
	snprintf(stub, sizeof stub, "%s/nompl", outdir);
	setenv("PYTHONPATH", stub, 1);
	status = tu_run(argv, so, sizeof so, se, sizeof se, 60000);
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "status %#x: %s", status, se);
	snprintf(path, sizeof path, "%s/latest/summary.csv", out);
	cr_assert_eq(access(path, R_OK), 0, "no %s", path);
	cr_assert(strstr(se, "matplotlib") && strchr(se, '\n') == se + strlen(se) - 1,
		  "one line that says matplotlib is missing: %s", se);
	snprintf(path, sizeof path, "%s/latest/plots/throughput.png", out);
	cr_assert_neq(access(path, R_OK), 0, "a plot without matplotlib: %s", path);
}

/* Both missing paths named in one line; the same directory twice warned of. */
Test(evbench, gate_names_every_missing_path, .init = setup, .fini = teardown, .timeout = 30)
{
	char a[PATH_MAX + 8], b[PATH_MAX + 8], so[4096], se[4096];
	char *argv[] = { evbench, "gate", a, b, NULL };
	int status, lines = 0;

	snprintf(a, sizeof a, "%s/nob", outdir);
	snprintf(b, sizeof b, "%s/noc", outdir);
	status = tu_run(argv, so, sizeof so, se, sizeof se, 10000);
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %#x", status);
	for (char *c = se; *c; c++)
		lines += *c == '\n';
	cr_assert_eq(lines, 1, "one line: %s", se);
	cr_assert(strstr(se, a) && strstr(se, b), "both paths named: %s", se);
	argv[3] = a;
	mkdir(a, 0755);
	status = tu_run(argv, so, sizeof so, se, sizeof se, 10000);
	cr_assert(strstr(se, "same directory"), "no warning for the same directory: %s", se);
}

Test(evbench, list_version_help, .init = setup, .fini = teardown, .timeout = 30)
{
	static const char *const flags[] = { "--list", "--version", "--help" };

	for (size_t i = 0; i < 3; i++) {
		char *argv[] = { evbench, (char *)flags[i], NULL };
		char out[16384], err[4096];
		int status = tu_run(argv, out, sizeof out, err, sizeof err, 10000);

		cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "%s: status %#x", flags[i], status);
		cr_assert(out[0], "%s printed nothing", flags[i]);
	}
	{
		char lg[PATH_MAX], out[256], err[256];
		char *argv[] = { lg, "--version", NULL };
		int status;

		cr_assert_eq(tu_path(lg, sizeof lg, tu_bin_dir(), "loadgen"), 0, "%s is not built", lg);
		status = tu_run(argv, out, sizeof out, err, sizeof err, 10000);
		cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "loadgen --version: status %#x: %s", status, err);
		cr_assert(!strncmp(out, "loadgen ", 8), "loadgen --version: %s", out);
	}
}

/*
 * `--list --json` is the design table (common/designs.h, docs/designs.md):
 * every row in order with its binary, backend, alias, `all` membership and
 * colour, each binary found beside evbench (make test builds them all).
 */
Test(evbench, list_json_is_the_design_table, .init = setup, .fini = teardown, .timeout = 30)
{
	char *argv[] = { evbench, "--list", "--json", NULL };
	static char out[65536];
	char err[4096];
	int status = tu_run(argv, out, sizeof out, err, sizeof err, 10000);

	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "status %#x: %s", status, err);
	struct jr_value *v = jr_parse(out, strlen(out), NULL);
	const struct jr_value *ds = jr_get(v, "designs");

	cr_assert(v && ds && ds->type == JR_ARRAY, "not the designs object: %s", out);
	cr_assert_eq(ds->len, (size_t)evb_ndesigns, "%zu designs listed, the table has %d",
		     ds->len, evb_ndesigns);
	for (int i = 0; i < evb_ndesigns; i++) {
		const struct evb_design *d = &evb_designs[i];
		const struct jr_value *e = ds->items[i], *al = jr_get(e, "aliases");
		const struct jr_value *all = jr_get(e, "in_all"), *built = jr_get(e, "built");
		const char *bin = jr_string(jr_get(e, "binary"));
		char want[64];

		cr_assert_str_eq(jr_string(jr_get(e, "name")), d->name, "row %d", i);
		cr_assert_str_eq(jr_string(jr_get(e, "design")), d->binary, "%s", d->name);
		if (d->backend)
			cr_assert_str_eq(jr_string(jr_get(e, "backend")), d->backend, "%s", d->name);
		else
			cr_assert(jr_get(e, "backend") && jr_get(e, "backend")->type == JR_NULL,
				  "%s: backend should be null", d->name);
		cr_assert(al && al->type == JR_ARRAY && al->len == (d->alias ? 1u : 0u),
			  "%s: aliases", d->name);
		if (d->alias)
			cr_assert_str_eq(jr_string(al->items[0]), d->alias, "%s", d->name);
		cr_assert(all && all->type == JR_BOOL && all->boolean == !!(d->props & DS_ALL),
			  "%s: in_all", d->name);
		cr_assert_str_eq(jr_string(jr_get(e, "color")), d->color, "%s", d->name);
		cr_assert(built && built->type == JR_BOOL && built->boolean, "%s: not built", d->name);
		snprintf(want, sizeof want, "/rot13-%s", d->binary);
		cr_assert(bin && strlen(bin) > strlen(want) &&
			  strcmp(bin + strlen(bin) - strlen(want), want) == 0,
			  "%s: binary %s", d->name, bin ? bin : "(none)");
	}
	jr_free(v);
}

/*
 * The design table's properties drive the collector's capacity rule
 * (docs/results.md, "The bound rule"): fork and threads run connections in
 * parallel, so their capacity is every CPU; the event loops have one.
 */
Test(evbench, capacity_follows_the_design_table, .timeout = 10)
{
	static const char *const parallel[] = { "fork", "threads" };
	static const char *const one_loop[] = { "select", "poll", "epoll-lt", "epoll-et",
						"evbase", "libevent" };

	for (size_t i = 0; i < 2; i++)
		cr_assert_eq(col_server_capacity(evb_design_find(parallel[i]), 6, 0), 6.0, "%s", parallel[i]);
	for (size_t i = 0; i < 6; i++)
		cr_assert_eq(col_server_capacity(evb_design_find(one_loop[i]), 6, 0), 1.0, "%s", one_loop[i]);
	/* An unknown design is given the safe answer, one CPU. */
	cr_assert_eq(col_server_capacity(evb_design_find("nosuch"), 6, 0), 1.0);
	/* A reactor per thread has the threads it ran, up to the CPUs. */
	cr_assert_eq(col_server_capacity(evb_design_find("epoll-mt"), 6, 0), 6.0);
	cr_assert_eq(col_server_capacity(evb_design_find("epoll-mt"), 6, 1), 1.0);
	cr_assert_eq(col_server_capacity(evb_design_find("epoll-mt"), 6, 4), 4.0);
	cr_assert_eq(col_server_capacity(evb_design_find("epoll-mt"), 2, 4), 2.0);
}

/* What the server says it ran sets its capacity: epoll-mt with --threads 1
 * has one core's worth, and its utilisation is its CPU over the wall time,
 * not half of it (on a machine of more than one CPU). */
Test(evbench, a_server_s_own_thread_count_caps_its_capacity, .init = setup, .fini = teardown,
     .timeout = 120)
{
	char err[4096];
	int status;
	char *argv[] = { NULL, "--server", "epoll-mt", "--server-args", "--threads 1", "--conns", "4",
			 "--duration", "0.3", "--warmup", "0", "--mechanism", "off", "--json",
			 "--quiet", "--out", outdir, NULL };
	struct jr_value *v = run_json(argv, &status, err, sizeof err);
	const struct jr_value *r;
	double cpu, wall, util;

	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "evbench: %s", err);
	cr_assert(v->type == JR_ARRAY && v->len == 1, "one run expected");
	r = v->items[0];
	cpu = jr_path_number(r, "result.server_cpu_s.total");
	wall = jr_path_number(r, "result.wall_s");
	util = jr_path_number(r, "result.utilization.server");
	cr_assert(wall > 0 && cpu > 0, "cpu %g wall %g", cpu, wall);
	cr_assert(fabs(util - cpu / wall) < 1e-3 * (1 + cpu / wall), "utilisation %g, cpu/wall %g",
		  util, cpu / wall);
	jr_free(v);
}
