/*
 * test_gate_paired.c - the gate on paired data (compare.c's cmp_judge,
 * `evbench gate DIR`, `evbench ab`), on synthetic rounds whose answer is
 * known: identical builds pass, a 12% slowdown fails whether or not the
 * machine drifts under both builds, a 12% slowdown hidden in huge spread is
 * undecided, a budget that ends first says undecided with its own exit
 * status, and a build without the server is bad input naming the path.
 * Run sequentially as `evbench ab --rounds auto` runs them, a true 5% whose
 * first rounds are a slow spell passes, and a true 15% in noise as large
 * as this machine's fails.
 */
#include <criterion/criterion.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab.h"
#include "compare.h"
#include "report.h"
#include "gate.h"
#include "jsonr.h"
#include "testutil.h"

static const struct cmp_pair cur_vs_base = { "s@current", "s@baseline" };

/*
 * Builds K rounds where the current build costs `factor` times the baseline,
 * the machine's speed is `speed(k)` for both in round k, and each trial has
 * its own noise of relative size `spread`; judges them with the default rule
 * and returns the verdict of the server-CPU comparison.
 */
static enum cmp_verdict judge(int K, double factor, double spread, bool drift,
			      struct cmp_judgement *out)
{
	struct rep_row rows[2 * 64];
	struct cmp_result *res;
	struct cmp_judgement j[CMP_NMETRICS];
	struct cmp_rule rule = cmp_rule_default();
	int n;

	cmp_parse_metrics("cpu,throughput", rule.gated);
	for (int k = 0; k < K; k++) {
		double speed = drift ? ((k / 2) % 2 ? 7.3 : 5.4) : 5.4;

		tu_ab_row(&rows[2 * k], "s@baseline", k + 1, speed * (1 + spread * tu_noise(2 * k)));
		tu_ab_row(&rows[2 * k + 1], "s@current", k + 1,
			  factor * speed * (1 + spread * tu_noise(2 * k + 1)));
	}
	n = cmp_compute(rows, 2 * K, &cur_vs_base, 1, K, &res);
	cr_assert_eq(n, 1);
	cmp_judge(res, n, &rule, j);
	cmp_free(res, n);
	if (out)
		*out = j[CMP_SERVER_CPU];
	/* Throughput is the same change seen from the other side. */
	if (j[CMP_SERVER_CPU].v == CMP_V_REGRESSION)
		cr_assert_eq(j[CMP_THROUGHPUT].v, CMP_V_REGRESSION);
	cr_assert_eq(j[CMP_P99].v, CMP_V_NOT_GATED, "p99 is gated only when asked");
	return j[CMP_SERVER_CPU].v;
}

Test(gate_paired, identical_builds_pass, .timeout = 10)
{
	struct cmp_judgement j;

	cr_assert_eq(judge(10, 1.0, 0.01, false, &j), CMP_V_SAME, "verdict %s",
		     cmp_verdict_name(j.v));
	cr_assert(fabs(j.change) < 0.01);
}

Test(gate_paired, twelve_percent_worse_fails, .timeout = 10)
{
	struct cmp_judgement j;

	cr_assert_eq(judge(10, 1.12, 0.01, false, &j), CMP_V_REGRESSION);
	cr_assert(fabs(j.change - 0.12) < 0.01, "change %g", j.change);
	cr_assert(j.lo > 0 && j.hi > j.change);
}

Test(gate_paired, twelve_percent_worse_under_drift_fails, .timeout = 10)
{
	struct cmp_judgement j;

	/* The machine moves by 35% between rounds; both builds move with it. */
	cr_assert_eq(judge(10, 1.12, 0.01, true, &j), CMP_V_REGRESSION);
	cr_assert(fabs(j.change - 0.12) < 0.01, "change %g", j.change);
}

Test(gate_paired, twelve_percent_worse_in_huge_spread_is_not_significant, .timeout = 10)
{
	struct cmp_judgement j;

	cr_assert_eq(judge(10, 1.12, 0.40, false, &j), CMP_V_UNDECIDED, "verdict %s",
		     cmp_verdict_name(j.v));
	cr_assert(j.lo < 0, "interval [%g, %g] should hold 0", j.lo, j.hi);
}

Test(gate_paired, small_change_is_under_threshold, .timeout = 10)
{
	cr_assert_eq(judge(10, 1.04, 0.005, false, NULL), CMP_V_WORSE);
	cr_assert_eq(judge(10, 0.96, 0.005, false, NULL), CMP_V_BETTER);
	cr_assert_eq(judge(10, 0.80, 0.01, false, NULL), CMP_V_IMPROVED);
}

Test(gate_paired, significant_but_maybe_past_the_threshold_is_undecided, .timeout = 10)
{
	struct cmp_judgement j;

	/* A true 12% whose rounds' noise puts the estimate under 10%: clearly
	 * not nothing, but the interval reaches past 10%;
	 * passing it as "worse, under threshold" would let a true 12% through
	 * whenever an early look lands low. */
	cr_assert_eq(judge(10, 1.12, 0.08, false, &j), CMP_V_UNDECIDED, "verdict %s [%g, %g]",
		     cmp_verdict_name(j.v), j.lo, j.hi);
	cr_assert(j.lo > 0 && j.change < 0.10 && j.hi > 0.10, "change %g [%g, %g]", j.change,
		  j.lo, j.hi);
}

/*
 * The sequential decision of `evbench ab --rounds auto` (ab.h) on the
 * server-CPU ratios cpu[0..AB_MAX_ROUNDS) with the default rule but for its
 * clearance, with no budget: rounds are added until ab_stops() says a look
 * decided. Returns the exit status; *at is the round it stopped at.
 */
static int sequential(const double *cpu, double clear, int *at)
{
	struct cmp_rule rule = cmp_rule_default();
	struct cmp_result res;
	struct cmp_judgement j[CMP_NMETRICS];
	double ratio[AB_MAX_ROUNDS];

	rule.clear = clear;
	rule.looks = ab_looks();
	memset(&res, 0, sizeof res);
	for (int m = 0; m < CMP_NMETRICS; m++)
		res.ratio[m] = ratio;
	for (*at = 1; *at <= AB_MAX_ROUNDS; ++*at) {
		ratio[*at - 1] = cpu[*at - 1];
		res.rounds = *at;
		if (ab_stops(&res, 1, &rule, *at))
			break;
	}
	if (*at > AB_MAX_ROUNDS)
		*at = AB_MAX_ROUNDS;
	res.rounds = *at;
	cmp_judge(&res, 1, &rule, j);
	return gate_paired_status(j, 1);
}

Test(gate_paired, five_percent_after_a_slow_spell_passes, .timeout = 10)
{
	/* A true 5% whose first ten rounds caught the machine in a slow
	 * spell that lands on either build: after 10 rounds +13.3% [+1.9%,
	 * +25.9%], significant and past the threshold, as the real +3 to +6%
	 * of issue 25 read +10.5% [+2.1%, +19.6%]. Its interval has not
	 * cleared half the threshold, so the run goes on, and the rounds after
	 * the spell bring it under 10%. */
	static const double spell[10] = { 1.25, 0.98, 1.20, 1.02, 0.97, 1.18, 1.00, 1.22, 0.99,
					  1.03 };
	double cpu[AB_MAX_ROUNDS];
	int at;

	for (int k = 0; k < AB_MAX_ROUNDS; k++)
		cpu[k] = 1.05 * (k < 10 ? spell[k] : 1 + 0.03 * tu_noise(k));
	cr_assert_eq(sequential(cpu, CMP_CLEAR, &at), GATE_PASS, "a true 5%% stopped at round %d "
		     "without passing", at);
	cr_assert(at > 10, "passed at round %d, before the spell was outweighed", at);
}

Test(gate_paired, fifteen_percent_in_large_noise_fails, .timeout = 10)
{
	/* A true 15% in rounds whose log ratios spread by 0.13 (standard
	 * deviation), as much as the quieter A/A trial of docs/gate-noise.csv
	 * (0.125; docs/gate.md): caught within the 50 rounds a sequential run
	 * may take (at round 15). An interval that had to clear the whole
	 * threshold would still be short of it at round 50. */
	double cpu[AB_MAX_ROUNDS];
	int at;

	for (int k = 0; k < AB_MAX_ROUNDS; k++)
		cpu[k] = 1.15 * exp(0.30 * tu_noise(k));
	cr_assert_eq(sequential(cpu, CMP_CLEAR, &at), GATE_REGRESSION, "a true 15%% not caught "
		     "by round %d", at);
}

Test(gate_paired, too_few_rounds_are_insufficient, .timeout = 10)
{
	cr_assert_eq(judge(2, 1.5, 0.01, false, NULL), CMP_V_INSUFFICIENT);
}

Test(gate_paired, more_looks_widen_the_interval, .timeout = 10)
{
	struct rep_row rows[20];
	struct cmp_result *res;
	struct cmp_judgement one[CMP_NMETRICS], many[CMP_NMETRICS];
	struct cmp_rule rule = cmp_rule_default();
	int n;

	cmp_parse_metrics("cpu", rule.gated);
	for (int k = 0; k < 10; k++) {
		tu_ab_row(&rows[2 * k], "s@baseline", k + 1, 5 * (1 + 0.03 * tu_noise(k)));
		tu_ab_row(&rows[2 * k + 1], "s@current", k + 1, 5.5 * (1 + 0.03 * tu_noise(k + 50)));
	}
	n = cmp_compute(rows, 20, &cur_vs_base, 1, 10, &res);
	cmp_judge(res, n, &rule, one);
	rule.looks = 46;
	cmp_judge(res, n, &rule, many);
	cmp_free(res, n);
	cr_assert(many[CMP_SERVER_CPU].hi - many[CMP_SERVER_CPU].lo >
		  one[CMP_SERVER_CPU].hi - one[CMP_SERVER_CPU].lo,
		  "a sequential run's looks must cost it width");
	cr_assert(many[CMP_SERVER_CPU].level > one[CMP_SERVER_CPU].level);
}

/* ---- through evbench ------------------------------------------------------------------ */

static char outdir[PATH_MAX];

static void mkout(void)
{
	cr_assert_eq(tu_scratch_dir(outdir, sizeof outdir, "ab"), 0);
}

static void cleanup(void)
{
	tu_scratch_remove(outdir);
}

/* Writes a comparisons.json of one comparison with the given server-CPU
 * and throughput ratios per round into <outdir>/<sub>. */
static void write_comparisons(const char *sub, const double *cpu, int k)
{
	char dir[PATH_MAX + 32], path[PATH_MAX + 64];
	FILE *f;

	snprintf(dir, sizeof dir, "%s/%s", outdir, sub);
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof path, "%s/comparisons.json", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "{\"schema\": \"evbench.comparisons/1\", \"rounds\": %d, \"comparisons\": [\n"
		"{\"server\": \"epoll-lt@current\", \"reference\": \"epoll-lt@baseline\", "
		"\"conns\": 100, ", k);
	for (int m = 0; m < 3; m++) {
		fprintf(f, "\"%s\": {\"ratios\": [", m == 0 ? "server_cpu_us_per_req" :
			m == 1 ? "throughput_rps" : "p99_us");
		for (int i = 0; i < k; i++)
			fprintf(f, "%s%.6f", i ? ", " : "", m == 1 ? 1 / cpu[i] : m == 2 ? 1.0 : cpu[i]);
		fprintf(f, "]}%s", m < 2 ? ", " : "");
	}
	fputs("}]}\n", f);
	fclose(f);
}

static int gate(const char *sub, char *out, size_t cap)
{
	char evbench[PATH_MAX], dir[PATH_MAX + 32], err[2048];
	int st;

	cr_assert_eq(tu_path(evbench, sizeof evbench, tu_bin_dir(), "evbench"), 0);
	snprintf(dir, sizeof dir, "%s/%s", outdir, sub);
	char *argv[] = { evbench, "gate", dir, NULL };
	st = tu_run(argv, out, cap, err, sizeof err, 30000);
	cr_assert(st != -1 && WIFEXITED(st), "evbench gate did not exit: %s", err);
	return WEXITSTATUS(st);
}

Test(gate_paired_cli, exit_status_per_verdict, .init = mkout, .fini = cleanup, .timeout = 60)
{
	/* Rounds that swing by -35% to +60% around a 12% slowdown. */
	static const double swing[10] = { 1.6, 0.65, 1.4, 0.75, 1.5, 0.7, 1.3, 0.8, 1.45, 0.72 };
	double same[10], worse[10], wild[10];
	char out[8192];

	for (int i = 0; i < 10; i++) {
		same[i] = 1 + 0.01 * tu_noise(i);
		worse[i] = 1.12 * (1 + 0.01 * tu_noise(i));
		wild[i] = 1.12 * swing[i];
	}
	write_comparisons("same", same, 10);
	write_comparisons("worse", worse, 10);
	write_comparisons("wild", wild, 10);
	write_comparisons("short", same, 2);
	cr_assert_eq(gate("same", out, sizeof out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "| same |"), "%s", out);
	cr_assert_eq(gate("worse", out, sizeof out), 1, "%s", out);
	cr_assert_not_null(strstr(out, "REGRESSION"), "%s", out);
	cr_assert_eq(gate("wild", out, sizeof out), 3, "%s", out);
	cr_assert_not_null(strstr(out, "UNDECIDED"), "%s", out);
	cr_assert_eq(gate("short", out, sizeof out), 2, "%s", out);
	cr_assert_not_null(strstr(out, "insufficient data"), "%s", out);
}

/* The root of the build under test: bin/.. (or build-<san>/bin/..). */
static void build_root(char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/..", tu_bin_dir());
}

Test(gate_paired_cli, budget_ends_undecided, .init = mkout, .fini = cleanup, .timeout = 120)
{
	char evbench[PATH_MAX], root[PATH_MAX + 8], err[8192], out[16384], path[PATH_MAX + 64];
	struct stat st;
	int status;

	cr_assert_eq(tu_path(evbench, sizeof evbench, tu_bin_dir(), "evbench"), 0);
	build_root(root, sizeof root);
	/* No threshold and a vanishing alpha: no run can decide, so the
	 * budget (spent after the first round) ends it at the minimum rounds. */
	char *argv[] = { evbench, "ab", "--baseline", root, "--current", root, "--conns", "4",
			 "--rounds", "auto", "--budget", "0.1", "--max-regression", "0", "--alpha",
			 "1e-12", "--duration", "0.4", "--warmup", "0.1", "--quiet", "--out", outdir,
			 NULL };
	status = tu_run(argv, out, sizeof out, err, sizeof err, 100000);
	cr_assert(status != -1 && WIFEXITED(status), "evbench ab did not exit: %s", err);
	cr_assert_eq(WEXITSTATUS(status), 3, "exit %d (3 = undecided expected)\n%s\n%s",
		     WEXITSTATUS(status), out, err);
	cr_assert_not_null(strstr(out, "UNDECIDED"), "%s", out);
	/* It ran the least a sequential decision looks at, 5 rounds, no more. */
	snprintf(path, sizeof path, "%s/latest/epoll-lt@current-c4-r5.json", outdir);
	cr_assert_eq(stat(path, &st), 0, "no round 5: %s", path);
	snprintf(path, sizeof path, "%s/latest/epoll-lt@current-c4-r6.json", outdir);
	cr_assert_neq(stat(path, &st), 0, "ran past the budget");
	snprintf(path, sizeof path, "%s/latest/gate.md", outdir);
	cr_assert_eq(stat(path, &st), 0, "no gate.md");
	/* github-action-benchmark's two files: JSON arrays of {name, unit,
	 * value, range, extra}, one entry per metric of the current build, the
	 * median of the 5 rounds inside their range. */
	for (int bigger = 0; bigger < 2; bigger++) {
		static const char *const want[2][2] = {
			{ "epoll-lt c=4 server CPU", "epoll-lt c=4 p99 latency" },
			{ "epoll-lt c=4 throughput", NULL },
		};
		struct jr_error jerr;
		struct jr_value *doc;
		size_t n = bigger ? 1 : 2;

		snprintf(path, sizeof path, "%s/latest/github-%s-is-better.json", outdir,
			 bigger ? "bigger" : "smaller");
		doc = jr_parse_file(path, &jerr);
		cr_assert_not_null(doc, "%s: line %d: %s", path, jerr.line, jerr.msg);
		cr_assert(doc->type == JR_ARRAY && doc->len == n, "%s: %zu entries", path, doc->len);
		for (size_t i = 0; i < n; i++) {
			const struct jr_value *e = doc->items[i];
			const char *range = jr_string(jr_get(e, "range"));
			double v = jr_path_number(e, "value"), lo, hi;

			cr_assert_str_eq(jr_string(jr_get(e, "name")), want[bigger][i]);
			cr_assert_str_eq(jr_string(jr_get(e, "extra")), "median of 5 rounds");
			cr_assert_not_null(jr_string(jr_get(e, "unit")));
			/* "LO..HI": strtod would take "48." of "48..81.6" for the
			 * low bound, so the two are split at "..". */
			cr_assert(range && strstr(range, ".."), "%s", range);
			lo = atof(range);
			hi = atof(strstr(range, "..") + 2);
			cr_assert(v > 0 && lo <= v * (1 + 1e-5) && v <= hi * (1 + 1e-5),
				  "%s: %g outside %s", want[bigger][i], v, range);
		}
		jr_free(doc);
	}
}

Test(gate_paired_cli, build_without_the_server_is_bad_input, .init = mkout, .fini = cleanup,
     .timeout = 60)
{
	char evbench[PATH_MAX], root[PATH_MAX + 8], err[4096];
	int status;

	cr_assert_eq(tu_path(evbench, sizeof evbench, tu_bin_dir(), "evbench"), 0);
	build_root(root, sizeof root);
	char *argv[] = { evbench, "ab", "--baseline", outdir, "--current", root, "--out", outdir,
			 NULL };
	status = tu_run(argv, NULL, 0, err, sizeof err, 30000);
	cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 2,
		  "status %#x: %s", status, err);
	cr_assert_not_null(strstr(err, outdir), "the message does not name the path: %s", err);
	cr_assert_not_null(strstr(err, "rot13-epoll-lt"), "%s", err);
}

/* The one rule: server CPU alone gated and the clearance set, so that no
 * caller gets clearance 0 by leaving a field out; --metrics replaces the
 * gated set, and a bad list leaves it as it was. */
Test(gate_paired, the_default_rule, .timeout = 10)
{
	struct cmp_rule r = cmp_rule_default();
	bool *g = r.gated;

	cr_assert(g[CMP_SERVER_CPU] && !g[CMP_THROUGHPUT] && !g[CMP_P99]);
	cr_assert_float_eq(r.clear, CMP_CLEAR, 1e-12);
	cr_assert(r.clear > 0 && r.max_regression == 0.10 && r.alpha == 0.05 && r.looks == 1 &&
		  r.min_rounds == 3);
	cr_assert_eq(cmp_parse_metrics("p99,throughput", g), 0);
	cr_assert(!g[CMP_SERVER_CPU] && g[CMP_THROUGHPUT] && g[CMP_P99]);
	cr_assert_eq(cmp_parse_metrics("cpu,latency", g), -1);
	cr_assert(!g[CMP_SERVER_CPU] && g[CMP_THROUGHPUT] && g[CMP_P99]);
	cr_assert_eq(cmp_parse_metrics("", g), -1);
}
