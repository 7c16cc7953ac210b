/*
 * test_oracle.c - the figures comparisons rest on, checked against answers
 * evbench did not compute.
 *
 * - Server CPU. tests/helpers/cpu_testsrv burns a known CPU time per answered
 *   line (in its serving thread, in a thread per batch, in a child per batch
 *   that is reaped, in a child per connection that lives through the run).
 *   evbench's server_cpu_s.total and cpu_us_per_req.server must come out as
 *   that burn times the replies the client verified, within CPU_TOL: a
 *   collector that drops the serving process, exited threads, reaped children
 *   or live children is off by far more, and so is one that counts a source
 *   twice. The burn is user time, so user and sys must not be swapped; and
 *   the load generator's own CPU must stay far below the server's.
 * - Percentiles. The same server with --stairs gives the latency distribution
 *   known steps. Every percentile of the JSON, summary.csv and the table is
 *   checked against the run's own .hgrm, parsed here, and against the steps.
 * - Mechanism. The same server, told to make a known set of system calls per
 *   request (a poll that wakes it, a recv, K polls that return nothing, N
 *   getppid, a nanosleep, a send), under the name rot13-poll so that evbench
 *   counts its poll() returns as wake-ups: system calls, wake-ups, ready
 *   descriptors per wake-up and the calls by name per request of the JSON,
 *   summary.csv and the table must come out as those counts. A figure divided
 *   by the wake-ups instead of the replies is off by 1 + K.
 * - Memory. The same server holding a known number of MiB it touched (and
 *   1 GiB it only reserved): every resident figure, group RSS and PSS, the
 *   peak, the table's srv MB, must be that many MiB and little more; a
 *   reader that took the virtual size is off by thousands.
 *
 * evbench runs the servers beside its own executable, so a copy of it in a
 * directory of its own runs cpu_testsrv under the name rot13-epoll-lt (the
 * hook test_evbench.c uses for its misbehaving servers). Every evbench is run
 * with tu_run(), which kills its group if it overruns; runs are short, and
 * nothing here asserts on speed: the burn is CPU time, not wall time.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonr.h"

#include "testutil.h"

/* µs of CPU per answered line: large against what the protocol costs the
 * server (10-20 µs a request on loopback, more under ASan), so that the burn
 * dominates the figure. */
#define BURN_US 400
/* measured / (replies x BURN_US) must lie within CPU_TOL of 1. What can move
 * it: the protocol's own cost (up by 2-5%), and the phase's edges: the
 * requests in flight, and the burn still owed when a sample is taken (less
 * than one quantum, below). Dropping any source of the sum loses most of it;
 * counting one twice doubles it. */
#define CPU_TOL 0.15

static char evbench[PATH_MAX];     /* the copy beside the test server */
static char outdir[PATH_MAX];

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;

	cr_assert(in && out, "cannot copy %s to %s", from, to);
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		cr_assert_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	cr_assert_eq(fclose(out), 0);
	cr_assert_eq(chmod(to, 0755), 0);
}

/* A temporary directory holding a copy of evbench and, as rot13-epoll-lt and
 * rot13-poll, a script that runs cpu_testsrv with evbench's arguments. */
static void setup(void)
{
	char real[PATH_MAX], srv[PATH_MAX], dir[PATH_MAX + 8], path[PATH_MAX + 32];
	FILE *f;

	cr_assert_eq(tu_path(real, sizeof real, tu_bin_dir(), "evbench"), 0, "%s is not built",
		     real);
	snprintf(dir, sizeof dir, "%s/tests/bin", tu_build_dir());
	cr_assert_eq(tu_path(srv, sizeof srv, dir, "cpu_testsrv"), 0, "%s is not built", srv);
	cr_assert_eq(tu_scratch_dir(outdir, sizeof outdir, "oracle"), 0);
	snprintf(dir, sizeof dir, "%.3000s/bin", outdir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(evbench, sizeof evbench, "%.3000s/evbench", dir);
	copy_file(real, evbench);
	/* As poll, evbench counts its poll() returns as the wake-ups (the
	 * mechanism tests below); as epoll-lt, it would look for epoll_wait. */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/rot13-%s", dir, i ? "poll" : "epoll-lt");
		f = fopen(path, "w");
		cr_assert_not_null(f);
		fprintf(f, "#!/bin/sh\nexec %s \"$@\"\n", srv);
		cr_assert_eq(fclose(f), 0);
		cr_assert_eq(chmod(path, 0755), 0);
	}
}

static void teardown(void)
{
	tu_scratch_remove(outdir);
}

/* Runs the copy of evbench on the test server with the load options in
 * `load` (NULL-terminated) and --server-args `srvargs`; fills out and err
 * (stdout, stderr) and checks that it exited 0. */
static void run_evbench_as(const char *server, const char *const *load, const char *srvargs,
			   char *out, size_t cap, char *err, size_t errcap)
{
	char *argv[32] = { evbench, "--server", (char *)server, "--out", outdir, "--server-args",
			   (char *)srvargs };
	int n = 7, status;

	for (int i = 0; load[i]; i++)
		argv[n++] = (char *)load[i];
	argv[n] = NULL;
	status = tu_run(argv, out, cap, err, errcap, 120000);
	cr_assert(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "evbench failed (status %#x): %s", status, err);
}

static void run_evbench(const char *const *load, const char *srvargs, char *out, size_t cap,
			char *err, size_t errcap)
{
	run_evbench_as("epoll", load, srvargs, out, cap, err, errcap);
}

/* The number in a column of the human table: the columns are right-aligned
 * under their header, so the value ends where the header's label ends. */
static double table_cell(const char *header, const char *row, const char *label)
{
	const char *at = strstr(header, label);
	size_t end, start;

	cr_assert_not_null(at, "no column '%s' in the table: %s", label, header);
	end = (size_t)(at - header) + strlen(label);
	cr_assert(strlen(row) >= end && row[end - 1] != ' ', "no value under '%s' in: %s", label,
		  row);
	start = end;
	while (start > 0 && row[start - 1] != ' ')
		start--;
	return atof(row + start);
}

/* The table's header line and the row of `server` in text; asserts both. */
static void table_find(const char *text, const char *server, const char **header,
		       const char **row)
{
	char key[64];

	*header = strstr(text, "srv us/r");
	cr_assert_not_null(*header, "no table in: %s", text);
	while (*header > text && (*header)[-1] != '\n')
		(*header)--;
	snprintf(key, sizeof key, "\n%s ", server);
	*row = strstr(*header, key);
	cr_assert_not_null(*row, "no row for %s in: %s", server, text);
	(*row)++;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* ---- server CPU ---------------------------------------------------------------- */

/*
 * `repeats` runs of `requests` replies each, with the burn in `where`, paid
 * every `quantum_us` of it owed (0: after every read); checks each run's CPU
 * figures against the burn, and the table's `srv us/r`
 * against the runs' (their median, docs/results.md). A second of warm-up
 * burns as much as the phase or more, so that a measure-start sample that
 * lost its CPU (the phase would then count the warm-up's) shows.
 */
static void check_burn(const char *where, int quantum_us, const char *requests, int repeats)
{
	static char out[1 << 20], err[1 << 16];
	char srvargs[128], rep[16];
	const char *load[] = { "--conns", "2", "--threads", "1", "--requests", requests,
			       "--warmup", "1", "--repeat", rep, "--json", NULL };
	double per[8];
	struct jr_error e;
	struct jr_value *v;

	cr_assert_leq(repeats, 8);
	snprintf(rep, sizeof rep, "%d", repeats);
	snprintf(srvargs, sizeof srvargs, "--burn-us %d --burn-in %s --quantum-us %d", BURN_US,
		 where, quantum_us);
	run_evbench(load, srvargs, out, sizeof out, err, sizeof err);
	v = jr_parse(out, strlen(out), &e);
	cr_assert(v && v->type == JR_ARRAY && v->len == (size_t)repeats,
		  "%d runs expected: %.300s", repeats, out);
	for (int i = 0; i < repeats; i++) {
		const struct jr_value *r = v->items[i];
		double replies, total, user, sys, per_req, client, expected, ratio;

		cr_assert_eq(jr_path(r, "result.failure")->type, JR_NULL, "%s",
			     jr_string(jr_path(r, "result.failure")));
		replies = jr_path_number(r, "result.replies");
		total = jr_path_number(r, "result.server_cpu_s.total");
		user = jr_path_number(r, "result.server_cpu_s.user");
		sys = jr_path_number(r, "result.server_cpu_s.sys");
		per_req = per[i] = jr_path_number(r, "result.cpu_us_per_req.server");
		client = jr_path_number(r, "result.cpu_us_per_req.client");
		cr_assert(replies >= atof(requests),
			  "%s: %.0f replies, the phase was to end after %s", where, replies,
			  requests);
		cr_assert(replies <= jr_path_number(r, "result.server_counters.lines"),
			  "%s: the client verified more replies than the server answered lines",
			  where);

		expected = replies * BURN_US / 1e6;
		ratio = total / expected;
		cr_log_info("burn in %s: %.0f replies, server CPU %.4f s, %.3f of the burn, "
			    "user %.2f, client %.1f us/request", where, replies, total, ratio,
			    user / total, client);
		cr_assert(fabs(ratio - 1) <= CPU_TOL,
			  "burn in %s: server_cpu_s.total %.4f s against %.0f replies x %d us = "
			  "%.4f s (ratio %.3f, allowed 1 +- %.2f)", where, total, replies, BURN_US,
			  expected, ratio, CPU_TOL);
		ratio = per_req / BURN_US;
		cr_assert(fabs(ratio - 1) <= CPU_TOL,
			  "burn in %s: cpu_us_per_req.server %.1f against %d us burnt per request",
			  where, per_req, BURN_US);
		/* The burn is user-space work; the protocol's system calls are
		 * the smaller part. */
		cr_assert(!isnan(user) && !isnan(sys), "burn in %s: no user/sys split of %.3f s",
			  where, total);
		cr_assert(fabs(user + sys - total) <= 1e-6 * total + 1e-9,
			  "burn in %s: user %.4f + sys %.4f is not total %.4f", where, user, sys,
			  total);
		cr_assert(user >= 0.6 * total,
			  "burn in %s: user %.4f s of %.4f s: the burn is user time", where, user,
			  total);
		/* Over its whole life (warm-up and stop included) the server
		 * burnt the same per line it answered: wait4()'s rusage, its
		 * threads and reaped children included. */
		{
			double life = jr_path_number(r, "result.server_process.lifetime.user_s") +
				      jr_path_number(r, "result.server_process.lifetime.sys_s");
			double burnt = jr_path_number(r, "result.server_counters.lines") * BURN_US / 1e6;

			cr_assert(fabs(life / burnt - 1) <= CPU_TOL,
				  "burn in %s: lifetime user + sys %.4f s against %.0f lines x %d us "
				  "= %.4f s", where, life, burnt * 1e6 / BURN_US, BURN_US, burnt);
		}
		/* What the group held when the phase began: the serving process
		 * alone, or with a child per connection (--conns 2). A burn's
		 * own thread or child may be alive at that moment. */
		{
			double procs = jr_path_number(r, "result.server_process.procs_at_measure");
			double threads = jr_path_number(r, "result.server_process.threads_at_measure");

			if (!strcmp(where, "conn"))
				cr_assert(procs == 3 && threads == 3, "burn in conn: %.0f processes, "
					  "%.0f threads; a server and a child per connection", procs,
					  threads);
			else
				cr_assert(procs >= 1 && procs <= 2 && threads >= 1 && threads <= 2,
					  "burn in %s: %.0f processes, %.0f threads", where, procs,
					  threads);
			if (!strcmp(where, "main"))
				cr_assert(procs == 1 && threads == 1, "burn in main: %.0f processes, "
					  "%.0f threads; the server is one thread", procs, threads);
		}
		/* The load generator's CPU is its own: half the server's burn
		 * would be a generous cost for sending a line and checking its
		 * reply. */
		cr_assert(client < 0.5 * BURN_US,
			  "burn in %s: cpu_us_per_req.client %.1f us, the server burns %d: the "
			  "client is charged with what is not its own", where, client, BURN_US);
	}
	/* summary.csv's figures of the first run, against the burn as well. */
	{
		char header[8192], line[8192];
		double replies = jr_path_number(v->items[0], "result.replies"), c;

		cr_assert_eq(tu_summary_first(outdir, header, sizeof header, line, sizeof line), 0,
		     "%s/latest/summary.csv: %s", outdir, strerror(errno));
		cr_assert_eq(tu_csv_cell(header, line, "replies"), replies);
		c = tu_csv_cell(header, line, "server_cpu_s") / (replies * BURN_US / 1e6);
		cr_assert(fabs(c - 1) <= CPU_TOL, "burn in %s: summary.csv server_cpu_s is %.3f of "
			  "the burn", where, c);
		c = tu_csv_cell(header, line, "cpu_us_per_req_server") / BURN_US;
		cr_assert(fabs(c - 1) <= CPU_TOL, "burn in %s: summary.csv cpu_us_per_req_server is "
			  "%.3f of the burn", where, c);
		cr_assert_geq(tu_csv_cell(header, line, "server_user_s"),
			      0.6 * tu_csv_cell(header, line, "server_cpu_s"));
		cr_assert_lt(tu_csv_cell(header, line, "cpu_us_per_req_client"), 0.5 * BURN_US);
	}
	if (repeats > 1) {
		const char *header, *row;
		double t, med;

		/* With --json the table goes to stderr. */
		table_find(err, "epoll-lt", &header, &row);
		t = table_cell(header, row, "srv us/r");
		qsort(per, (size_t)repeats, sizeof per[0], cmp_double);
		med = repeats % 2 ? per[repeats / 2] : (per[repeats / 2 - 1] + per[repeats / 2]) / 2;
		cr_assert(fabs(t - med) <= 0.05 + 1e-9,
			  "table srv us/r %.1f, the median of the %d runs' is %.3f", t, repeats, med);
	}
	jr_free(v);
}

Test(oracle_cpu, burn_in_the_serving_thread, .init = setup, .fini = teardown, .timeout = 90)
{
	check_burn("main", 0, "800", 3);
}

Test(oracle_cpu, burn_in_threads_that_exit, .init = setup, .fini = teardown, .timeout = 60)
{
	/* A thread costs some 30 µs: one per 5 ms of burn is under 1%, and
	 * 5 ms owed at an edge is 1.6% of 800 requests' 320 ms. */
	check_burn("thread", 5000, "800", 1);
}

Test(oracle_cpu, burn_in_children_that_are_reaped, .init = setup, .fini = teardown,
     .timeout = 60)
{
	/* A fork costs some 100 µs, 600 under ASan (its shadow memory):
	 * one per 20 ms of burn is 3%, and 20 ms owed at an edge is 2.5% of
	 * 2,000 requests' 800 ms. */
	check_burn("child", 20000, "2000", 1);
}

Test(oracle_cpu, burn_in_live_children, .init = setup, .fini = teardown, .timeout = 60)
{
	check_burn("conn", 0, "800", 1);
}

/* ---- percentiles ---------------------------------------------------------------- */

/* One line of a .hgrm: the top of a bucket (µs), and how many values lie in
 * it and below. */
struct hgrm_row {
	double value;
	unsigned long long cum;
};

/* Parses path's rows (HdrHistogram's percentile distribution: Value,
 * Percentile, TotalCount[, 1/(1-Percentile)]) and its total count. */
static int read_hgrm(const char *path, struct hgrm_row *rows, int cap,
		     unsigned long long *total)
{
	char line[512];
	FILE *f = fopen(path, "re");
	int n = 0;

	cr_assert_not_null(f, "no %s", path);
	*total = 0;
	while (fgets(line, sizeof line, f)) {
		double value, pct;
		unsigned long long cum;
		const char *t = strstr(line, "Total count");

		if (line[0] == '#') {
			if (t)
				cr_assert_eq(sscanf(strchr(t, '=') + 1, "%llu", total), 1, "%s", line);
			continue;
		}
		if (sscanf(line, "%lf %lf %llu", &value, &pct, &cum) != 3)
			continue;   /* the header, blank lines */
		cr_assert_lt(n, cap, "%s: more than %d rows", path, cap);
		cr_assert(n == 0 || (value >= rows[n - 1].value && cum >= rows[n - 1].cum),
			  "%s: rows out of order at %s", path, line);
		rows[n].value = value;
		rows[n].cum = cum;
		n++;
	}
	fclose(f);
	cr_assert(n > 0 && *total > 0 && rows[n - 1].cum == *total,
		  "%s: %d rows, total %llu", path, n, *total);
	return n;
}

/*
 * Where the percentile p (in hundredths of a percent: 9990 is p99.9) must lie
 * by the .hgrm. docs/results.md: p is the smallest recorded value with at
 * least p% of the values at or below it, i.e. the value of rank
 * ceil(p N / 100%), reported at the middle of its bucket. The .hgrm gives the
 * top of each bucket it lists with the values at or below it, but not every
 * bucket: so the value of that rank lies above the top of the last listed
 * bucket holding fewer values than the rank (lo), and at or below the top of
 * the first listed bucket holding the rank (hi). The .hgrm prints µs to
 * 3 decimals: half a nanosecond either way.
 */
static void hgrm_bracket(const struct hgrm_row *rows, int n, unsigned long long total,
			 unsigned p, double *lo, double *hi)
{
	unsigned long long rank = (p * total + 9999) / 10000;

	if (rank < 1)
		rank = 1;
	*lo = 0;
	*hi = NAN;
	for (int i = 0; i < n; i++)
		if (rows[i].cum < rank) {
			*lo = rows[i].value;
		} else {
			*hi = rows[i].value;
			break;
		}
	cr_assert(!isnan(*hi), "rank %llu of %llu is in no row", rank, total);
	*lo -= 0.0005;
	*hi += 0.0005;
}

Test(oracle_percentiles, json_csv_and_table_agree_with_the_hgrm, .init = setup,
     .fini = teardown, .timeout = 60)
{
	static const struct {
		unsigned p;                 /* hundredths of a percent */
		const char *json, *csv, *table;
		double floor_us;            /* what the stairs guarantee at least */
	} pct[] = {
		{ 5000, "p50", "lat_p50_us", "p50 ms", 0 },
		{ 9000, "p90", "lat_p90_us", NULL, 500 },
		{ 9900, "p99", "lat_p99_us", "p99 ms", 2000 },
		{ 9990, "p999", "lat_p999_us", "p99.9 ms", 20000 },
		{ 9999, "p9999", "lat_p9999_us", NULL, 20000 },
	};
	static char out[1 << 16], err[1 << 16];
	static struct hgrm_row rows[4096];
	const char *load[] = { "--conns", "1", "--threads", "1", "--requests", "2000",
			       "--warmup", "0", "--quiet", NULL };
	char path[PATH_MAX + 64], header[8192], line[8192];
	const char *thead, *trow;
	unsigned long long total;
	struct jr_value *v;
	const struct jr_value *lat;
	int n;

	run_evbench(load, "--stairs", out, sizeof out, err, sizeof err);
	snprintf(path, sizeof path, "%s/latest/epoll-lt-c1-r1.hgrm", outdir);
	n = read_hgrm(path, rows, 4096, &total);
	snprintf(path, sizeof path, "%s/latest/epoll-lt-c1-r1.json", outdir);
	v = jr_parse_file(path, NULL);
	cr_assert_not_null(v, "cannot read %s", path);
	lat = jr_path(v, "result.latency_us");
	cr_assert_eq(jr_path_number(v, "result.replies"), (double)total,
		     "the .hgrm holds %llu values, the run verified %.0f replies", total,
		     jr_path_number(v, "result.replies"));
	cr_assert_geq(total, 1000, "too few replies (%llu) for the stairs' bounds to hold", total);

	cr_assert_eq(tu_summary_first(outdir, header, sizeof header, line, sizeof line), 0,
	     "%s/latest/summary.csv: %s", outdir, strerror(errno));

	table_find(out, "epoll-lt", &thead, &trow);

	/* min and max are exact, and bound every percentile. */
	cr_assert_float_eq(jr_path_number(lat, "max"), rows[n - 1].value, 0.0006);
	/* Any 2,000 lines in a row hold one 50 ms sleep, 9 of 20 ms, 90 of
	 * 2 ms and 400 of 500 us: the largest latency is at least 50 ms, and
	 * their mean at least 305 us (the replies past 2,000 may dilute it by
	 * a few per cent: 290). */
	cr_assert_geq(jr_path_number(lat, "max"), 50000, "max = %.0f us: one line slept 50 ms",
		      jr_path_number(lat, "max"));
	cr_assert_geq(jr_path_number(lat, "mean"), 290,
		      "mean = %.1f us; the stairs alone make 305 us per reply",
		      jr_path_number(lat, "mean"));
	cr_assert(jr_path_number(lat, "min") <= jr_path_number(lat, "p50") &&
		  jr_path_number(lat, "min") > 0, "min = %.3f us", jr_path_number(lat, "min"));
	cr_assert(fabs(tu_csv_cell(header, line, "lat_mean_us") - jr_path_number(lat, "mean")) <=
		  5e-6 * jr_path_number(lat, "mean") + 1e-3, "summary.csv lat_mean_us");
	for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++) {
		double lo, hi, j = jr_path_number(lat, pct[i].json), c = tu_csv_cell(header, line, pct[i].csv);

		hgrm_bracket(rows, n, total, pct[i].p, &lo, &hi);
		cr_assert(j > lo && j <= hi,
			  "JSON %s = %.3f us, but by the .hgrm the value of that rank lies in "
			  "(%.3f, %.3f]", pct[i].json, j, lo, hi);
		/* summary.csv prints 6 significant digits. */
		cr_assert(c > lo - 5e-6 * c && c <= hi + 5e-6 * c && fabs(c - j) <= 5e-6 * j,
			  "summary.csv %s = %.6g us, JSON %.3f, .hgrm (%.3f, %.3f]", pct[i].csv, c,
			  j, lo, hi);
		cr_assert_geq(j, pct[i].floor_us,
			      "%s = %.1f us: the server delayed enough replies to put it at %.0f us "
			      "or more", pct[i].json, j, pct[i].floor_us);
		if (pct[i].table) {
			/* Milliseconds, to 2 decimals below 10, 1 below 100. */
			double t = table_cell(thead, trow, pct[i].table) * 1e3;
			double half = j < 9995 ? 5 : j < 99950 ? 50 : 500;

			cr_assert(t > lo - half && t <= hi + half,
				  "table %s = %.0f us, .hgrm (%.3f, %.3f]", pct[i].table, t, lo, hi);
		}
	}
	jr_free(v);
}

/* ---- mechanism: a server whose system calls are known ---------------------------- */

/* What cpu_testsrv is told to make per line, and so per request with one
 * connection and one request in flight: its wake-up (a poll that returns
 * the connection), the recv, K_POLLS polls with a zero timeout (each a
 * wake-up that returns 0), N_CALLS getppid, one nanosleep, the send. */
#define K_POLLS 3
#define N_CALLS 12
#define SYS_PER_REQ (1 + 1 + K_POLLS + N_CALLS + 1 + 1)
/* perf switches its counters on and off within milliseconds of the phase's
 * edges (docs/results.md, "Mechanism"), and the requests answered while it
 * has not yet switched on are not counted: with a phase of some 1.5 s, a few
 * per cent at most, and only downwards. */
#define MECH_TOL_LO 0.10
#define MECH_TOL_HI 0.03

static void within(const char *what, double got, double want)
{
	cr_assert(got >= want * (1 - MECH_TOL_LO) && got <= want * (1 + MECH_TOL_HI),
		  "%s = %.4f, but the server was made to make %.4f per request", what, got, want);
}

Test(oracle_mechanism, system_calls_and_wakeups_of_a_known_server, .init = setup,
     .fini = teardown, .timeout = 90)
{
	static char out[1 << 16], err[1 << 16];
	const char *load[] = { "--conns", "1", "--threads", "1", "--pipeline", "1", "--requests",
			       "2000", "--warmup", "0.3", "--mechanism", "on", "--quiet", NULL };
	char path[PATH_MAX + 64], srvargs[128], header[8192], line[8192];
	const char *thead, *trow;
	const struct jr_value *m, *by;
	struct jr_value *v;
	double replies, x;

	snprintf(srvargs, sizeof srvargs, "--polls-per-line %d --calls-per-line %d --sleep-us 400",
		 K_POLLS, N_CALLS);
	run_evbench_as("poll", load, srvargs, out, sizeof out, err, sizeof err);
	snprintf(path, sizeof path, "%s/latest/poll-c1-r1.json", outdir);
	v = jr_parse_file(path, NULL);
	cr_assert_not_null(v, "cannot read %s", path);
	replies = jr_path_number(v, "result.replies");
	cr_assert_geq(replies, 2000);
	m = jr_path(v, "result.mechanism.server");
	cr_assert(m && jr_get(m, "reason")->type == JR_NULL, "perf did not count: %s",
		  m ? jr_string(jr_get(m, "reason")) : "no mechanism");

	within("syscalls_per_req", jr_path_number(m, "syscalls_per_req"), SYS_PER_REQ);
	within("wakeups_per_req", jr_path_number(m, "wakeups_per_req"), 1 + K_POLLS);
	/* One wake-up in 1 + K returns the connection, the others nothing. */
	x = jr_path_number(m, "ready_per_wakeup");
	cr_assert(fabs(x - 1.0 / (1 + K_POLLS)) <= 0.02, "ready_per_wakeup = %.4f, expected %.4f",
		  x, 1.0 / (1 + K_POLLS));
	by = jr_get(m, "by_name_per_req");
	cr_assert(by && by->type == JR_OBJECT, "no by_name_per_req with --mechanism on");
	x = (jr_get(by, "poll") ? jr_path_number(by, "poll") : 0) +
	    (jr_get(by, "ppoll") ? jr_path_number(by, "ppoll") : 0);
	within("by_name_per_req.poll", x, 1 + K_POLLS);
	within("by_name_per_req.recvfrom", jr_path_number(by, "recvfrom"), 1);
	within("by_name_per_req.sendto", jr_path_number(by, "sendto"), 1);
	/* getppid and clock_nanosleep are not in the list. */
	within("by_name_per_req.other", jr_path_number(by, "other"), N_CALLS + 1);
	/* The nanosleep blocks once per request, and the poll that waits for
	 * the next request at most once more. */
	/* Over its life every line slept once, so it blocked at least once
	 * per line (wait4()'s count, threads and children included). */
	cr_assert_geq(jr_path_number(v, "result.server_process.lifetime.voluntary_ctxt_switches"),
		      jr_path_number(v, "result.server_counters.lines"),
		      "fewer voluntary context switches than lines, each of which slept");
	x = jr_path_number(m, "ctxsw_voluntary_per_req");
	cr_assert(x >= 1 - MECH_TOL_LO && x <= 2 + MECH_TOL_HI,
		  "ctxsw_voluntary_per_req = %.3f: a sleep per request is one switch, a wait for "
		  "the next at most one more", x);

	/* summary.csv and the table carry the same figures, and each is held
	 * to the known counts, not to the JSON. */
	cr_assert_eq(tu_summary_first(outdir, header, sizeof header, line, sizeof line), 0,
	     "%s/latest/summary.csv: %s", outdir, strerror(errno));
	within("summary.csv sys_per_req_server", tu_csv_cell(header, line, "sys_per_req_server"),
	       SYS_PER_REQ);
	within("summary.csv wakeups_per_req_server",
	       tu_csv_cell(header, line, "wakeups_per_req_server"), 1 + K_POLLS);
	cr_assert(fabs(tu_csv_cell(header, line, "ready_per_wakeup_server") - 1.0 / (1 + K_POLLS)) <=
		  0.02);
	cr_assert(strstr(line, ",poll=") && strstr(line, ";recvfrom=") && strstr(line, ";sendto="),
		  "sys_top_server: %s", line);
	x = tu_csv_cell(header, line, "ctxsw_vol_per_req_server");
	cr_assert(x >= 1 - MECH_TOL_LO && x <= 2 + MECH_TOL_HI,
		  "summary.csv ctxsw_vol_per_req_server = %.3f", x);
	cr_assert_geq(tu_csv_cell(header, line, "ctxsw_voluntary"),
		      jr_path_number(v, "result.server_counters.lines"),
		      "summary.csv ctxsw_voluntary: fewer than the lines that slept");
	table_find(out, "poll", &thead, &trow);
	within("the table's sys/r", table_cell(thead, trow, "sys/r"), SYS_PER_REQ);
	jr_free(v);
}

/* ---- memory: a server that holds a known number of MiB ------------------------------ */

#define TOUCH_MIB 48
/* What a small poll loop holds besides: 1.4 MiB here; ASan's shadow and
 * its allocator take more. Reserved but untouched memory (cpu_testsrv maps
 * 1 GiB more) must not count. */
#define MEM_SLACK_KB (24 * 1024)

static void resident(const char *what, double kb)
{
	cr_assert(kb >= TOUCH_MIB * 1024 && kb <= TOUCH_MIB * 1024 + MEM_SLACK_KB,
		  "%s = %.0f KiB; the server touched %d MiB (%d KiB) and holds little else", what,
		  kb, TOUCH_MIB, TOUCH_MIB * 1024);
}

Test(oracle_memory, resident_memory_of_a_known_server, .init = setup, .fini = teardown,
     .timeout = 90)
{
	static char out[1 << 16], err[1 << 16];
	/* A phase long enough for the halfway sample (docs/results.md). */
	const char *load[] = { "--conns", "1", "--threads", "1", "--duration", "1.2", "--warmup",
			       "0.2", "--quiet", NULL };
	char path[PATH_MAX + 64], srvargs[64], header[8192], line[8192];
	const char *thead, *trow;
	const struct jr_value *sp;
	struct jr_value *v;

	snprintf(srvargs, sizeof srvargs, "--touch-mib %d --sleep-us 200", TOUCH_MIB);
	run_evbench_as("poll", load, srvargs, out, sizeof out, err, sizeof err);
	snprintf(path, sizeof path, "%s/latest/poll-c1-r1.json", outdir);
	v = jr_parse_file(path, NULL);
	cr_assert_not_null(v, "cannot read %s", path);
	sp = jr_path(v, "result.server_process");
	cr_assert_not_null(sp);
	resident("group_rss_kb", jr_path_number(sp, "group_rss_kb"));
	resident("group_pss_kb", jr_path_number(sp, "group_pss_kb"));
	resident("peak_rss_kb", jr_path_number(sp, "peak_rss_kb"));
	resident("leader_hwm_kb_at_drain", jr_path_number(sp, "leader_hwm_kb_at_drain"));
	/* One process of one thread, at the start and halfway. */
	cr_assert(jr_path_number(sp, "procs_at_measure") == 1 &&
		  jr_path_number(sp, "threads_at_measure") == 1 &&
		  jr_path_number(sp, "procs_mid_measure") == 1 &&
		  jr_path_number(sp, "threads_mid_measure") == 1,
		  "the server is one process of one thread");
	cr_assert(!jr_path(sp, "group_pss_estimated")->boolean);

	cr_assert_eq(tu_summary_first(outdir, header, sizeof header, line, sizeof line), 0,
	     "%s/latest/summary.csv: %s", outdir, strerror(errno));
	resident("summary.csv group_rss_kb", tu_csv_cell(header, line, "group_rss_kb"));
	resident("summary.csv group_pss_kb", tu_csv_cell(header, line, "group_pss_kb"));
	resident("summary.csv peak_rss_kb", tu_csv_cell(header, line, "peak_rss_kb"));
	/* The table's srv MB is the PSS in MiB, one decimal. */
	table_find(out, "poll", &thead, &trow);
	resident("the table's srv MB", table_cell(thead, trow, "srv MB") * 1024);
	jr_free(v);
}

/* ---- throughput: an open loop at a known rate -------------------------------------------- */

#define RATE 400

Test(oracle_throughput, an_open_loop_serves_its_rate, .init = setup, .fini = teardown,
     .timeout = 90)
{
	static char out[1 << 16], err[1 << 16];
	char rate[16], path[PATH_MAX + 64], header[8192], line[8192];
	const char *load[] = { "--conns", "2", "--threads", "1", "--rate", rate, "--duration",
			       "1.5", "--warmup", "0.3", "--quiet", NULL };
	const char *thead, *trow;
	struct jr_value *v;
	double rps, req, wall;

	/* A server that answers at once: the schedule, not the server, sets
	 * the pace (docs/results.md: requests leave at their intended times). */
	snprintf(rate, sizeof rate, "%d", RATE);
	run_evbench(load, "--burn-us 0", out, sizeof out, err, sizeof err);
	snprintf(path, sizeof path, "%s/latest/epoll-lt-c2-r1.json", outdir);
	v = jr_parse_file(path, NULL);
	cr_assert_not_null(v, "cannot read %s", path);
	rps = jr_path_number(v, "result.throughput_rps");
	req = jr_path_number(v, "result.requests");
	wall = jr_path_number(v, "result.wall_s");
	cr_log_info("open loop at %d/s: %.1f replies/s, %.0f requests in %.3f s", RATE, rps, req,
		    wall);
	/* A client that fell behind catches up; what it owes at the phase's
	 * end is at most a few of its 2.5 ms slots. */
	cr_assert(rps >= 0.9 * RATE && rps <= 1.03 * RATE,
		  "throughput_rps %.1f in an open loop at %d per second", rps, RATE);
	cr_assert(req >= 0.9 * RATE * 1.5 && req <= 1.03 * RATE * 1.5 + 2,
		  "%.0f requests in a 1.5 s phase at %d per second", req, RATE);
	cr_assert(wall >= 1.5 && wall <= 1.6, "wall_s %.3f for a 1.5 s phase", wall);

	cr_assert_eq(tu_summary_first(outdir, header, sizeof header, line, sizeof line), 0,
	     "%s/latest/summary.csv: %s", outdir, strerror(errno));
	rps = tu_csv_cell(header, line, "throughput_rps");
	cr_assert(rps >= 0.9 * RATE && rps <= 1.03 * RATE, "summary.csv throughput_rps %.1f", rps);
	table_find(out, "epoll-lt", &thead, &trow);
	rps = table_cell(thead, trow, "req/s");
	cr_assert(rps >= 0.9 * RATE && rps <= 1.03 * RATE, "the table's req/s %.0f", rps);
	jr_free(v);
}
