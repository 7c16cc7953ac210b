/*
 * test_gate.c - `evbench gate` on synthetic result files, and the statistics
 * and JSON reader underneath it.
 *
 * The gate is tested from outside, as CI uses it: each test writes result
 * files into a temporary directory, runs $EVBENCH_BIN/evbench gate as a
 * subprocess and checks its exit status and output. The pure parts
 * (bench/compare/stats.c, common/jsonr.c) are called directly: the test binary links
 * bench/ and common/.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonr.h"
#include "stats.h"
#include "testutil.h"

/* ---- statistics ------------------------------------------------------------- */

Test(gate_stats, t_cdf_known_values, .timeout = 10)
{
	/* Cauchy (df 1) has a closed form; the others are table values. */
	cr_assert_float_eq(stats_t_cdf(1.0, 1), 0.75, 1e-9);
	cr_assert_float_eq(stats_t_cdf(0.0, 7.3), 0.5, 1e-12);
	cr_assert_float_eq(stats_t_cdf(2.0, 5), 0.949030, 1e-6);
	cr_assert_float_eq(stats_t_cdf(-2.0, 5), 1 - 0.949030, 1e-6);
	cr_assert_float_eq(stats_t_quantile(0.975, 10), 2.228139, 1e-6);
	cr_assert_float_eq(stats_t_quantile(0.95, 4), 2.131847, 1e-6);
	cr_assert_float_eq(stats_t_quantile(0.975, 1e6), 1.959966, 1e-5);
	for (double p = 0.01; p < 1; p += 0.07)
		cr_assert_float_eq(stats_t_cdf(stats_t_quantile(p, 3.7), 3.7), p, 1e-9);
	cr_assert(isnan(stats_t_quantile(0, 5)));
	cr_assert(isnan(stats_t_cdf(1, 0)));
}

Test(gate_stats, mean_and_variance, .timeout = 10)
{
	/* Large, close values: the case a one-pass formula gets wrong. */
	double x[] = { 1e9 + 1, 1e9 + 2, 1e9 + 3 };
	cr_assert_float_eq(stats_mean(x, 3), 1e9 + 2, 1e-6);
	cr_assert_float_eq(stats_var(x, 3), 1.0, 1e-9);
	cr_assert(isnan(stats_var(x, 1)));
	cr_assert(isnan(stats_mean(x, 0)));
}

Test(gate_stats, welch_by_hand, .timeout = 10)
{
	/* a: mean 12, var 2.5; b: mean 14.5, var 3.5. se^2 = 0.5 + 0.58333,
	 * df = se^4 / (0.5^2/4 + 0.58333^2/5) = 8.9894. */
	double a[] = { 10, 11, 12, 13, 14 }, b[] = { 12, 13, 14, 15, 16, 17 };
	struct stats_welch w;
	cr_assert_eq(stats_welch(a, 5, b, 6, &w), 0);
	cr_assert_float_eq(w.diff, 2.5, 1e-12);
	cr_assert_float_eq(w.se, sqrt(0.5 + 3.5 / 6), 1e-12);
	cr_assert_float_eq(w.t, 2.401922, 1e-6);
	cr_assert_float_eq(w.df, 8.98936, 1e-4);
	double pg = stats_welch_p_greater(&w), pl = stats_welch_p_less(&w);
	cr_assert(pg > 0.015 && pg < 0.025, "p = %g", pg);
	cr_assert_float_eq(pg + pl, 1.0, 1e-12);
	double lo, hi;
	stats_welch_ci(&w, 0.90, &lo, &hi);
	cr_assert(lo > 0 && hi > lo, "90%% interval [%g, %g] excludes 0, as p < 0.05", lo, hi);
	cr_assert_eq(stats_welch(a, 1, b, 6, &w), -EINVAL);
}

Test(gate_stats, welch_constant_samples, .timeout = 10)
{
	double a[] = { 5, 5, 5 }, b[] = { 6, 6, 6 };
	struct stats_welch w;
	stats_welch(a, 3, b, 3, &w);
	cr_assert_eq(w.se, 0);
	cr_assert_eq(stats_welch_p_greater(&w), 0);
	cr_assert_eq(stats_welch_p_less(&w), 1);
	stats_welch(a, 3, a, 3, &w);
	cr_assert_eq(stats_welch_p_greater(&w), 1, "no difference is never significant");
	cr_assert_eq(stats_welch_p_less(&w), 1);
}

Test(gate_stats, holm, .timeout = 10)
{
	/* Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, then max(0.06, 0.04). */
	double p[] = { 0.01, 0.04, 0.03, 0.005, NAN };
	bool r[5];
	double adj[5];
	stats_holm(p, 5, 0.05, r, adj);
	cr_assert(r[0] && !r[1] && !r[2] && r[3] && !r[4]);
	cr_assert_float_eq(adj[0], 0.03, 1e-12);
	cr_assert_float_eq(adj[1], 0.06, 1e-12);
	cr_assert_float_eq(adj[2], 0.06, 1e-12);
	cr_assert_float_eq(adj[3], 0.02, 1e-12);
	cr_assert(isnan(adj[4]));
}

/* ---- the JSON reader ---------------------------------------------------------- */

Test(gate_jsonr, values, .timeout = 10)
{
	const char *t = "{\"a\":{\"b\":[1,-2.5e2,true,null]},\"s\":\"x\\u00e9\\ud83d\\ude00\\n\"}";
	struct jr_error e;
	struct jr_value *v = jr_parse(t, strlen(t), &e);
	cr_assert_not_null(v, "%s", e.msg);
	const struct jr_value *b = jr_path(v, "a.b");
	cr_assert_eq(b->type, JR_ARRAY);
	cr_assert_eq(b->len, 4);
	double d;
	cr_assert_eq(jr_number(b->items[1], &d), 0);
	cr_assert_float_eq(d, -250, 1e-12);
	cr_assert_eq(b->items[2]->type, JR_BOOL);
	cr_assert_str_eq(jr_string(jr_get(v, "s")), "x\xc3\xa9\xf0\x9f\x98\x80\n");
	cr_assert_null(jr_path(v, "a.c"));
	jr_free(v);
}

Test(gate_jsonr, error_positions, .timeout = 10)
{
	static const struct {
		const char *text;
		int line, column;
	} cases[] = {
		{ "{\n  \"a\": 1,\n  x\n}", 3, 3 },
		{ "{\"a\": 01}", 1, 8 },
		{ "[1, 2", 1, 6 },
		{ "{\"a\": \"x}", 1, 7 },
		{ "{\"a\": 1.}", 1, 9 },
		{ "{\"a\": 1e}", 1, 9 },
		{ "{\"a\": 1.5E+}", 1, 12 },
		{ "", 1, 1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct jr_error e;
		struct jr_value *v = jr_parse(cases[i].text, strlen(cases[i].text), &e);
		cr_assert_null(v, "case %zu parsed", i);
		cr_assert_eq(e.line, cases[i].line, "case %zu: line %d (%s)", i, e.line, e.msg);
		cr_assert_eq(e.column, cases[i].column, "case %zu: column %d (%s)", i, e.column, e.msg);
	}
}

Test(gate_jsonr, sequences_and_depth, .timeout = 10)
{
	const char *lines = "{\"a\":1}\n{\"a\":2}\n";
	struct jr_value *v = jr_parse(lines, strlen(lines), NULL);
	cr_assert_not_null(v);
	cr_assert_eq(v->type, JR_ARRAY);
	cr_assert_eq(v->len, 2);
	jr_free(v);
	char deep[200];
	memset(deep, '[', sizeof deep);
	struct jr_error e;
	cr_assert_null(jr_parse(deep, sizeof deep, &e));
	cr_assert(strstr(e.msg, "nesting"), "%s", e.msg);
}

/* ---- the gate, from outside ------------------------------------------------------ */

static char tmp[64];

/* The share of the machine other processes took, for result.utilization.others
 * of the runs written next; negative leaves the key out. */
static double others = -1;


static void make_tmp(void)
{
	others = -1;
	cr_assert_eq(tu_scratch_dir(tmp, sizeof tmp, "gate"), 0);
}

static void remove_tmp(void)
{
	tu_scratch_remove(tmp);
}

/* tmp/rel, made if need be when rel names a directory. */
static const char *in_tmp(const char *rel)
{
	static char buf[4][256];
	static int k;
	char *p = buf[k++ % 4];
	snprintf(p, 256, "%s/%s", tmp, rel);
	return p;
}

static void write_file(const char *rel, const char *text)
{
	FILE *f = fopen(in_tmp(rel), "w");
	cr_assert_not_null(f, "%s", in_tmp(rel));
	fputs(text, f);
	fclose(f);
}

/* One evbench.run/1 file, with the keys docs/results.md names. */
static void write_run(const char *dir, const char *server, long conns, int repeat,
		      double rps, double p99, double cpu)
{
	char rel[128], text[1024], util[64] = "";
	if (others >= 0)
		snprintf(util, sizeof util, ", \"utilization\": {\"others\": %.3f}", others);
	mkdir(in_tmp(dir), 0700);
	snprintf(rel, sizeof rel, "%s/%s-c%ld-r%d.json", dir, server, conns, repeat);
	snprintf(text, sizeof text,
		 "{\"schema\": \"evbench.run/1\", \"run_id\": \"%s\", \"started_at\": \"2026-01-01T00:00:00Z\",\n"
		 " \"host\": {\"cpus\": 2}, \"server\": \"%s\",\n"
		 " \"load\": {\"conns\": %ld, \"threads\": 2},\n"
		 " \"result\": {\"repeat\": %d, \"ran\": true, \"throughput_rps\": %.3f, \"latency_us\": {\"p50\": 100, \"p99\": %.3f},\n"
		 "            \"cpu_us_per_req\": {\"client\": 5.0, \"server\": %.4f}%s}}\n",
		 dir, server, conns, repeat, rps, p99, cpu, util);
	write_file(rel, text);
}

/* Small, fixed run-to-run spread (about 1%) for the "quiet machine" cases;
 * quiet + 1 is a second, different draw of five. */
static const double quiet[] = { 1.000, 1.012, 0.991, 1.006, 0.989, 1.004 };
/* A wildly noisy current: same 30% average loss but a spread of about 60%,
 * which no honest test can tell from noise with five repeats. */
static const double wild[] = { 0.15, 1.25, 0.30, 1.10, 0.70 };

/* Writes K repeats of server at conns into dir. Throughput is divided by
 * slow; latency and CPU are multiplied by it. spread[k] scales the whole
 * repeat, as a busy or idle moment of the machine would. */
static void write_side(const char *dir, const char *server, long conns, int k, double slow,
		       const double *spread)
{
	for (int i = 0; i < k; i++) {
		double s = spread[i % 5];
		write_run(dir, server, conns, i + 1, 50000 * s / slow, 300 / s * slow, 20 / s * slow);
	}
}

/* The baseline most tests compare with: epoll-lt and poll at 100
 * connections, five quiet rounds at the nominal figures. */
static void base_two(void)
{
	write_side("base", "epoll-lt", 100, 5, 1.0, quiet);
	write_side("base", "poll", 100, 5, 1.0, quiet);
}

/* Its current side: the same two servers in other quiet rounds (the noise
 * shifted by one), epoll-lt's figures `ep` and poll's `poll` times slower
 * (1.3: 30% worse, 0.7: 30% better). */
static void cur_two(double ep, double poll)
{
	write_side("cur", "epoll-lt", 100, 5, ep, quiet + 1);
	write_side("cur", "poll", 100, 5, poll, quiet + 1);
}

/* The comparison of poll alone at 100 connections: the baseline five quiet
 * rounds at the nominal figures, the current k rounds `slow` times slower
 * with the spread given. */
static void poll_sides(int k, double slow, const double *spread)
{
	write_side("base", "poll", 100, 5, 1.0, quiet);
	write_side("cur", "poll", 100, k, slow, spread);
}

static char out[65536], err[65536];

/* Runs `evbench gate` on tmp/base and tmp/cur (names under tmp) with the
 * options after them (NULL-terminated; a NULL base or cur ends the arguments
 * there) and asserts that it exits with want; why, if not NULL, says in the
 * failure message what that status means. What it printed is left in out and
 * err. */
static void gate_exits(int want, const char *why, const char *base, const char *cur, ...)
{
	char bin[512];
	cr_assert_eq(tu_path(bin, sizeof bin, tu_bin_dir(), "evbench"), 0,
		     "no evbench binary at %s", bin);
	char *argv[16] = { bin, "gate" };
	int argc = 2;
	if (base)
		argv[argc++] = (char *)in_tmp(base);
	if (base && cur) {
		va_list ap;
		argv[argc++] = (char *)in_tmp(cur);
		va_start(ap, cur);
		for (char *a; argc < 15 && (a = va_arg(ap, char *));)
			argv[argc++] = a;
		va_end(ap);
	}
	argv[argc] = NULL;
	int st = tu_run(argv, out, sizeof out, err, sizeof err, tu_ms(10000));
	cr_assert(st >= 0 && WIFEXITED(st), "evbench gate did not exit normally");
	cr_assert_eq(WEXITSTATUS(st), want, "%s%sexit %d, want %d\n%s%s", why ? why : "",
		     why ? ": " : "", WEXITSTATUS(st), want, out, err);
}

TestSuite(gate, .init = make_tmp, .fini = remove_tmp, .timeout = 20);

Test(gate, identical_results_pass)
{
	base_two();
	gate_exits(0, NULL, "base", "base", NULL);
	cr_assert(strstr(out, "no regression"), "%s", out);
	cr_assert(strstr(out, "| epoll-lt | 100 | throughput"), "%s", out);
	cr_assert_null(strstr(out, "REGRESSION"), "%s", out);
}

Test(gate, thirty_percent_worse_small_variance_fails)
{
	base_two();
	cur_two(1.0, 1.3);
	gate_exits(1, NULL, "base", "cur", NULL);
	cr_assert(strstr(out, "| poll | 100 | throughput (req/s) | 5/5 |"), "%s", out);
	cr_assert(strstr(out, "**REGRESSION**"), "%s", out);
	/* The unchanged server is not blamed: its throughput row says so. */
	const char *e = strstr(out, "| epoll-lt | 100 | throughput");
	const char *eol = e ? strchr(e, '\n') : NULL, *nc = e ? strstr(e, "no change") : NULL;
	cr_assert(eol && nc && nc < eol, "epoll-lt's throughput row is not 'no change':\n%s", out);
}

Test(gate, thirty_percent_worse_huge_variance_passes)
{
	poll_sides(5, 1.3, wild);
	gate_exits(0, "not significant, so not a regression", "base", "cur", NULL);
	cr_assert_null(strstr(out, "REGRESSION"), "%s", out);
}

Test(gate, small_significant_change_is_under_threshold)
{
	/* 5% worse on a quiet machine: real, but smaller than --max-regression. */
	poll_sides(5, 1.05, quiet);
	gate_exits(0, NULL, "base", "cur", NULL);
	cr_assert(strstr(out, "worse, under threshold"), "%s", out);
	gate_exits(1, "a 3% threshold sees it", "base", "cur", "--max-regression", "3%", NULL);
}

Test(gate, server_missing_from_current_is_an_input_error)
{
	base_two();
	write_side("cur", "epoll-lt", 100, 5, 1.0, quiet);
	gate_exits(2, NULL, "base", "cur", NULL);
	cr_assert(strstr(out, "| poll | 100 | all | 5/0 |"), "%s", out);
	cr_assert(strstr(out, "missing in current"), "%s", out);
}

Test(gate, malformed_json_names_file_and_position)
{
	poll_sides(5, 1.0, quiet);
	write_file("cur/poll-c100-r3.json",
		   "{\"schema\": \"evbench.run/1\",\n \"server\": \"poll\",\n \"load\": {\"conns\": 100,}\n}\n");
	gate_exits(2, NULL, "base", "cur", NULL);
	cr_assert(strstr(err, "cur/poll-c100-r3.json:3:24 (byte 70)"), "%s", err);
	cr_assert(strstr(err, "expected"), "%s", err);
}

Test(gate, too_few_repeats_is_insufficient_data)
{
	poll_sides(2, 1.3, quiet);
	gate_exits(2, NULL, "base", "cur", NULL);
	cr_assert(strstr(out, "insufficient data"), "%s", out);
	cr_assert_null(strstr(out, "REGRESSION"), "%s", out);
}

Test(gate, usage_errors)
{
	write_side("base", "poll", 100, 5, 1.0, quiet);
	gate_exits(2, NULL, "base", NULL);
	cr_assert(strstr(err, "holds no comparisons.json"), "%s", err);
	/* Bad input: one line, pointing at the help. */
	gate_exits(2, NULL, NULL, NULL);
	cr_assert(strstr(err, "needs BASELINE and CURRENT"), "%s", err);
	cr_assert(strstr(err, "(evbench --help)\n") && !strchr(err, '\n')[1], "not one line: %s", err);
	gate_exits(2, NULL, "base", "base", "--max-regression", "ten", NULL);
	gate_exits(2, NULL, "base", "nothing", NULL);
	cr_assert(strstr(err, "nothing"), "%s", err);
	write_file("empty.json", "[]");
	gate_exits(2, NULL, "base", "empty.json", NULL);
}

Test(gate, json_output_and_single_file_input)
{
	write_side("base", "poll", 100, 5, 1.0, quiet);
	/* The current side as one file holding an array of runs. */
	char text[8192] = "[";
	for (int i = 0; i < 5; i++) {
		char one[512];
		snprintf(one, sizeof one,
			 "%s{\"schema\":\"evbench.run/1\",\"run_id\":\"c\",\"server\":\"poll\","
			 "\"load\":{\"conns\":100},\"result\":{\"throughput_rps\":%g,"
			 "\"latency_us\":{\"p99\":%g},\"cpu_us_per_req\":{\"server\":%g}}}",
			 i ? "," : "", 35000 * quiet[i], 420 / quiet[i], 28 / quiet[i]);
		strcat(text, one);
	}
	strcat(text, "]\n");
	write_file("cur.json", text);
	gate_exits(1, NULL, "base", "cur.json", "--json", NULL);
	struct jr_error e;
	struct jr_value *v = jr_parse(out, strlen(out), &e);
	cr_assert_not_null(v, "--json output is not JSON: %s\n%s", e.msg, out);
	cr_assert_str_eq(jr_string(jr_get(v, "verdict")), "regression");
	const struct jr_value *c = jr_get(v, "comparisons");
	cr_assert(c && c->type == JR_ARRAY && c->len == 3);
	cr_assert_str_eq(jr_string(jr_get(c->items[0], "verdict")), "REGRESSION");
	double ch;
	cr_assert_eq(jr_number(jr_get(c->items[0], "change_pct"), &ch), 0);
	cr_assert(ch < -29 && ch > -31, "change %g%%", ch);
	jr_free(v);
}

Test(gate, normalize_by_cancels_a_slower_machine)
{
	/* The whole current machine is 30% slower: both servers lose alike. */
	base_two();
	cur_two(1.3, 1.3);
	gate_exits(1, "raw figures regress", "base", "cur", NULL);
	gate_exits(0, "relative figures do not", "base", "cur", "--normalize-by", "epoll-lt", NULL);
	cr_assert(strstr(out, "| poll | 100 | throughput (ratio) |"), "%s", out);
	cr_assert_null(strstr(out, "| epoll-lt |"), "the reference is not compared with itself\n%s", out);
	gate_exits(2, "an absent reference is an input error", "base", "cur", "--normalize-by",
		   "select", NULL);
}

Test(gate, normalize_by_still_sees_one_server_regress)
{
	base_two();
	cur_two(1.0, 1.3);
	gate_exits(1, NULL, "base", "cur", "--normalize-by", "epoll-lt", NULL);
}

Test(gate, instruction_counts)
{
	write_file("ib.json", "{\"schema\": \"evbench.instructions/1\", \"tool\": \"cachegrind\",\n"
			      " \"benchmarks\": [{\"name\": \"dispatch-epoll\", \"ir\": 100000000},\n"
			      "                {\"name\": \"dispatch-poll\", \"ir\": 200000000}]}\n");
	write_file("ic.json", "{\"schema\": \"evbench.instructions/1\", \"tool\": \"cachegrind\",\n"
			      " \"benchmarks\": [{\"name\": \"dispatch-epoll\", \"ir\": 101000000},\n"
			      "                {\"name\": \"dispatch-poll\", \"ir\": 210000000}]}\n");
	write_file("im.json", "{\"schema\": \"evbench.instructions/1\",\n"
			      " \"benchmarks\": [{\"name\": \"dispatch-epoll\", \"ir\": 100000000}]}\n");
	gate_exits(0, NULL, "ib.json", "ib.json", NULL);
	gate_exits(1, "+5% instructions regress at the 2% default", "ib.json", "ic.json", NULL);
	cr_assert(strstr(out, "| dispatch-poll | 200000000 | 210000000 | +5.00% | **REGRESSION** |"), "%s", out);
	cr_assert(strstr(out, "| dispatch-epoll | 100000000 | 101000000 | +1.00% | no change |"), "%s", out);
	gate_exits(0, NULL, "ib.json", "ic.json", "--max-regression", "6", NULL);
	gate_exits(2, "a benchmark missing from current", "ib.json", "im.json", NULL);
	write_side("runs", "poll", 100, 5, 1.0, quiet);
	gate_exits(2, "instructions against timings", "ib.json", "runs", NULL);
}

Test(gate, runs_that_did_not_happen_are_lost_repeats)
{
	poll_sides(2, 1.0, quiet);
	/* Three repeats whose server died: no figures, not zeros. */
	for (int i = 3; i <= 5; i++) {
		char rel[64];
		snprintf(rel, sizeof rel, "cur/poll-c100-r%d.json", i);
		write_file(rel, "{\"schema\": \"evbench.run/1\", \"run_id\": \"cur\", \"server\": {\"name\": \"poll\"},\n"
				" \"load\": {\"conns\": 100}, \"result\": {\"ran\": false, \"failure\": \"died\",\n"
				" \"throughput_rps\": 0, \"latency_us\": null, \"cpu_us_per_req\": null}}\n");
	}
	gate_exits(2, NULL, "base", "cur", NULL);
	cr_assert(strstr(out, "| poll | 100 | throughput (req/s) | 5/2 |"), "%s", out);
	cr_assert(strstr(out, "insufficient data"), "%s", out);
}

Test(gate, slower_while_neighbours_took_the_machine_is_disturbed)
{
	/* Throughput and latency 30% worse, CPU per request unchanged, and other
	 * processes took 40% more of the machine: the neighbours, not the server. */
	others = 0.30;
	write_side("base", "poll", 100, 5, 1.0, quiet);
	others = 0.70;
	for (int i = 0; i < 5; i++)
		write_run("cur", "poll", 100, i + 1, 50000 * quiet[i] / 1.3, 300 / quiet[i] * 1.3,
			  20 / quiet[i]);
	gate_exits(0, NULL, "base", "cur", NULL);
	cr_assert(strstr(out, "| poll | 100 | throughput (req/s) | 5/5 |"), "%s", out);
	cr_assert(strstr(out, "disturbed (others +40% of the machine)"), "%s", out);
	cr_assert_null(strstr(out, "REGRESSION"), "%s", out);

	/* The same loss with quiet neighbours is the server's. */
	others = 0.30;
	for (int i = 0; i < 5; i++)
		write_run("cur2", "poll", 100, i + 1, 50000 * quiet[i] / 1.3, 300 / quiet[i] * 1.3,
			  20 / quiet[i]);
	gate_exits(1, NULL, "base", "cur2", NULL);
}

/* True when the Markdown row that starts with `row` ends in verdict `v`. */
static bool row_says(const char *md, const char *row, const char *v)
{
	const char *r = strstr(md, row), *eol = r ? strchr(r, '\n') : NULL;
	char cell[64];
	snprintf(cell, sizeof cell, "| %s |", v);
	return eol && eol - r > (long)strlen(cell) && memcmp(eol - strlen(cell), cell, strlen(cell)) == 0;
}

Test(gate, clearly_better_current_is_improved)
{
	/* poll 30% faster, its latency and CPU 30% lower; epoll-lt unchanged. */
	base_two();
	cur_two(1.0, 0.7);
	gate_exits(0, "an improvement passes", "base", "cur", NULL);
	cr_assert(strstr(out, "## evbench gate: no regression"), "%s", out);
	cr_assert_null(strstr(out, "REGRESSION"), "%s", out);
	static const char *const rows[] = { "| poll | 100 | throughput (req/s) | 5/5 |",
					    "| poll | 100 | p99", "| poll | 100 | server CPU" };
	for (size_t i = 0; i < 3; i++)
		cr_assert(row_says(out, rows[i], "improved"), "%s is not improved\n%s", rows[i], out);
	cr_assert(row_says(out, "| epoll-lt | 100 | throughput", "no change"), "%s", out);

	/* The same as JSON: each of poll's metrics improved by what was written. */
	gate_exits(0, NULL, "base", "cur", "--json", NULL);
	struct jr_value *v = jr_parse(out, strlen(out), NULL);
	cr_assert_not_null(v, "--json output is not JSON: %s", out);
	cr_assert_str_eq(jr_string(jr_get(v, "verdict")), "pass");
	const struct jr_value *c = jr_get(v, "comparisons");
	cr_assert(c && c->type == JR_ARRAY);
	int improved = 0;
	for (size_t i = 0; i < c->len; i++) {
		const char *server = jr_string(jr_get(c->items[i], "server"));
		const char *metric = jr_string(jr_get(c->items[i], "metric"));
		const char *verdict = jr_string(jr_get(c->items[i], "verdict"));
		double ch;
		cr_assert(server && metric && verdict);
		cr_assert_eq(jr_number(jr_get(c->items[i], "change_pct"), &ch), 0);
		if (strcmp(server, "poll") != 0) {
			cr_assert_str_eq(verdict, "no change", "%s %s", server, metric);
			continue;
		}
		cr_assert_str_eq(verdict, "improved", "poll %s: %s", metric, verdict);
		improved++;
		/* Throughput x 1/0.7 (+42.9%); latency and CPU x 0.7 (-30%),
		 * give or take the repeats' 1% spread. */
		if (strncmp(metric, "throughput", 10) == 0)
			cr_assert(ch > 40 && ch < 46, "poll %s: change %g%%", metric, ch);
		else
			cr_assert(ch > -32 && ch < -28, "poll %s: change %g%%", metric, ch);
	}
	cr_assert_eq(improved, 3, "3 metrics of poll improved, %d said so", improved);
	jr_free(v);
}

Test(gate, small_improvement_is_no_change_under_the_threshold)
{
	/* 5% better on a quiet machine: significant, but smaller than
	 * --max-regression, so not worth a word; past a 3% threshold it is. */
	poll_sides(5, 0.95, quiet);
	gate_exits(0, NULL, "base", "cur", NULL);
	cr_assert(row_says(out, "| poll | 100 | throughput", "no change"), "%s", out);
	cr_assert_null(strstr(out, "| improved |"), "%s", out);
	gate_exits(0, NULL, "base", "cur", "--max-regression", "3%", NULL);
	cr_assert(row_says(out, "| poll | 100 | throughput", "improved"), "%s", out);
}
