/*
 * test_compare.c - comparisons that survive a drifting machine
 * (bench/compare/compare.c, the paired-ratio statistics in bench/compare/stats.c, and
 * evbench's --order, --seed and --reference from outside).
 *
 * The statistics are checked against answers worked out by hand (binomial
 * tails, order statistics) and against synthetic sweeps whose true ratio is
 * known: a design that costs 1.3x the reference in every round, while the
 * machine under both moves between two speeds, must come out as 1.3x with a
 * narrow interval. The order is checked to be a permutation in every round
 * and to be reproducible from its seed, in the library and through evbench's
 * own result files.
 */
#include <criterion/criterion.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compare.h"
#include "report.h"
#include "stats.h"
#include "testutil.h"

/* ---- the order of a sweep -------------------------------------------------------- */

Test(compare_order, interleaved_rounds_are_permutations, .timeout = 10)
{
	enum { NS = 4, NC = 3, K = 6, PER = NS * NC };
	struct cmp_trial t[PER * K];
	bool differs = false;

	cmp_plan(NS, NC, K, CMP_INTERLEAVED, 12345, t);
	for (int r = 0; r < K; r++) {
		bool seen[PER] = { false };

		for (int i = 0; i < PER; i++) {
			const struct cmp_trial *x = &t[r * PER + i];

			cr_assert_eq(x->round, r + 1, "trial %d of round %d says round %d", i, r + 1,
				     x->round);
			cr_assert_eq(x->position, i + 1);
			cr_assert(x->si >= 0 && x->si < NS && x->ci >= 0 && x->ci < NC);
			cr_assert(!seen[x->si * NC + x->ci], "round %d runs (%d, %d) twice", r + 1,
				  x->si, x->ci);
			seen[x->si * NC + x->ci] = true;
			if (r > 0 && (x->si != t[i].si || x->ci != t[i].ci))
				differs = true;
		}
	}
	/* A fresh order per round, not one shuffle repeated. */
	cr_assert(differs, "every round ran in the same order");
}

Test(compare_order, the_seed_reproduces_the_order, .timeout = 10)
{
	enum { NS = 3, NC = 2, K = 5, N = NS * NC * K };
	struct cmp_trial a[N], b[N], c[N];
	bool same_as_other = true;

	cmp_plan(NS, NC, K, CMP_INTERLEAVED, 7, a);
	cmp_plan(NS, NC, K, CMP_INTERLEAVED, 7, b);
	cmp_plan(NS, NC, K, CMP_INTERLEAVED, 8, c);
	for (int i = 0; i < N; i++) {
		cr_assert(a[i].si == b[i].si && a[i].ci == b[i].ci && a[i].round == b[i].round,
			  "seed 7 gave two orders (trial %d)", i);
		if (a[i].si != c[i].si || a[i].ci != c[i].ci)
			same_as_other = false;
	}
	/* 720^5 orders: two seeds agreeing on all five rounds would be a
	 * generator that ignores its seed. */
	cr_assert(!same_as_other, "seeds 7 and 8 gave the same order");
}

Test(compare_order, sequential_runs_repeats_back_to_back, .timeout = 10)
{
	struct cmp_trial t[2 * 2 * 3];
	int k = 0;

	cmp_plan(2, 2, 3, CMP_SEQUENTIAL, 99, t);
	for (int si = 0; si < 2; si++)
		for (int ci = 0; ci < 2; ci++)
			for (int r = 1; r <= 3; r++, k++)
				cr_assert(t[k].si == si && t[k].ci == ci && t[k].round == r,
					  "trial %d is (%d, %d, %d)", k, t[k].si, t[k].ci, t[k].round);
}

/* ---- the statistics ---------------------------------------------------------------- */

Test(compare_stats, binomial_tails, .timeout = 10)
{
	/* Worked by hand: 2^-10 (1 + 10) and 2^-10 (1 + 10 + 45). */
	cr_assert_float_eq(stats_binom_half_cdf(0, 10), 1.0 / 1024, 1e-12);
	cr_assert_float_eq(stats_binom_half_cdf(1, 10), 11.0 / 1024, 1e-12);
	cr_assert_float_eq(stats_binom_half_cdf(2, 10), 56.0 / 1024, 1e-12);
	cr_assert_float_eq(stats_binom_half_cdf(5, 5), 1.0, 1e-12);
	/* Symmetry: P(B <= 49) + P(B <= 50) = 1 at n = 100 (P(B <= 49) = P(B >= 51)). */
	cr_assert_float_eq(stats_binom_half_cdf(49, 100) + stats_binom_half_cdf(50, 100), 1.0,
			   1e-9);
}

Test(compare_stats, median_interval_order_statistics, .timeout = 10)
{
	struct stats_median_ci ci;
	double x[20];

	/* 10 values: the interval is the 2nd and 9th smallest, covering
	 * 1 - 2 * 11/1024 (the 3rd and 8th would cover only 89%). */
	for (int i = 0; i < 10; i++)
		x[i] = 10 - i;   /* 10..1, unsorted on purpose */
	stats_median_ci(x, 10, 0.95, &ci);
	cr_assert(ci.has_ci);
	cr_assert_float_eq(ci.median, 5.5, 1e-12);
	cr_assert_float_eq(ci.lo, 2, 1e-12);
	cr_assert_float_eq(ci.hi, 9, 1e-12);
	cr_assert_float_eq(ci.level, 1 - 22.0 / 1024, 1e-12);

	/* 20 values: P(B <= 5) = 0.0207 <= 0.025 < P(B <= 6) = 0.0577, so the
	 * 6th and 15th smallest. */
	for (int i = 0; i < 20; i++)
		x[i] = i + 1;
	stats_median_ci(x, 20, 0.95, &ci);
	cr_assert_float_eq(ci.lo, 6, 1e-12);
	cr_assert_float_eq(ci.hi, 15, 1e-12);
	cr_assert(ci.level >= 0.95 && ci.level < 0.96, "level %g", ci.level);

	/* 6 values reach 95% only with min and max: 1 - 2/64. */
	for (int i = 0; i < 6; i++)
		x[i] = i + 1;
	stats_median_ci(x, 6, 0.95, &ci);
	cr_assert(ci.lo == 1 && ci.hi == 6);
	cr_assert_float_eq(ci.level, 1 - 2.0 / 64, 1e-12);

	/* 3 to 5 values: min and max, at the coverage they really have. */
	for (int n = 3; n <= 5; n++) {
		for (int i = 0; i < n; i++)
			x[i] = i + 1;
		stats_median_ci(x, (size_t)n, 0.95, &ci);
		cr_assert(ci.has_ci && ci.lo == 1 && ci.hi == n);
		cr_assert_float_eq(ci.level, 1 - 2 * pow(0.5, n), 1e-12, "n = %d", n);
	}

	/* Under 3: a median, no interval. */
	x[0] = 4;
	x[1] = 2;
	stats_median_ci(x, 2, 0.95, &ci);
	cr_assert(!ci.has_ci && isnan(ci.lo) && isnan(ci.hi));
	cr_assert_float_eq(ci.median, 3, 1e-12);
	stats_median_ci(x, 0, 0.95, &ci);
	cr_assert(isnan(ci.median) && !ci.has_ci);
}

Test(compare_stats, ratios_skip_what_was_not_measured, .timeout = 10)
{
	double num[] = { 2, 3, -1, 4, NAN, 6 }, den[] = { 1, 0, 1, 2, 1, 3 }, out[6];
	size_t n = stats_ratios(num, den, 6, out);

	cr_assert_eq(n, 3);
	cr_assert(out[0] == 2 && out[1] == 2 && out[2] == 2);
}

/* ---- comparisons on synthetic sweeps -------------------------------------------------- */

/* A measured row of `server` at `conns` in `round`. */
static struct rep_row row(const char *server, long conns, int round, double cpu_us, double rps,
			  double p99_us)
{
	struct rep_row r;

	memset(&r, 0, sizeof r);
	snprintf(r.server, sizeof r.server, "%s", server);
	r.conns = conns;
	r.repeat = round;
	r.ran = true;
	r.cpu_us_server = cpu_us;
	r.throughput_rps = rps;
	r.lat_us[4] = p99_us;
	r.drift = 0;
	return r;
}

static const struct cmp_pair mine_vs_ref = { "mine", "ref" }, b_vs_ref = { "b", "ref" };

/* A small deterministic wobble in [-1%, +1%], so that ratios are not all equal. */
static double wobble(int i)
{
	return 1 + 0.01 * sin(1.7 * i + 0.3);
}

Test(compare_sweep, constant_ratio_under_a_drifting_machine, .timeout = 10)
{
	enum { K = 12 };
	struct rep_row rows[2 * K];
	struct cmp_result *res;
	double ref_cpu[K], mine_cpu[K];
	int n;

	/* The machine flips between two speeds every few rounds (5.4 and 7.3 µs
	 * per request for the reference); the other design costs 1.3x in the
	 * same round, whatever the speed. */
	for (int k = 0; k < K; k++) {
		double speed = (k / 3) % 2 ? 7.3 : 5.4;

		ref_cpu[k] = speed * wobble(k);
		mine_cpu[k] = 1.3 * speed * wobble(k + 100);
		rows[2 * k] = row("ref", 100, k + 1, ref_cpu[k], 1e6 / ref_cpu[k], 100 * speed);
		rows[2 * k + 1] = row("mine", 100, k + 1, mine_cpu[k], 1e6 / mine_cpu[k],
				      200 * speed);
	}
	n = cmp_compute(rows, 2 * K, &mine_vs_ref, 1, K, &res);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(res[0].server, "mine");
	cr_assert_eq(res[0].m[CMP_SERVER_CPU].n, K);
	cr_assert(fabs(res[0].m[CMP_SERVER_CPU].median - 1.3) < 0.015, "median %g",
		  res[0].m[CMP_SERVER_CPU].median);
	cr_assert(res[0].m[CMP_SERVER_CPU].has_ci);
	cr_assert(res[0].m[CMP_SERVER_CPU].lo > 1.27 && res[0].m[CMP_SERVER_CPU].hi < 1.33,
		  "interval [%g, %g] is not narrow around 1.3", res[0].m[CMP_SERVER_CPU].lo,
		  res[0].m[CMP_SERVER_CPU].hi);
	cr_assert(res[0].m[CMP_SERVER_CPU].level >= 0.95);
	cr_assert(fabs(res[0].m[CMP_THROUGHPUT].median - 1 / 1.3) < 0.01);
	cr_assert_float_eq(res[0].m[CMP_P99].median, 2.0, 1e-9);
	/* The per-round ratios are kept in round order. */
	for (int k = 0; k < K; k++)
		cr_assert_float_eq(res[0].ratio[CMP_SERVER_CPU][k], mine_cpu[k] / ref_cpu[k], 1e-12);
	cmp_free(res, n);
}

Test(compare_sweep, fewer_than_three_rounds_give_no_interval, .timeout = 10)
{
	struct rep_row rows[] = {
		row("ref", 10, 1, 5, 100, 50), row("b", 10, 1, 6, 90, 60),
		row("ref", 10, 2, 7, 80, 50), row("b", 10, 2, 8.4, 70, 60),
	};
	struct cmp_result *res;
	char cell[64];
	int n = cmp_compute(rows, 4, &b_vs_ref, 1, 2, &res);

	cr_assert_eq(n, 1);
	cr_assert_eq(res[0].m[CMP_SERVER_CPU].n, 2);
	cr_assert(!res[0].m[CMP_SERVER_CPU].has_ci);
	cr_assert_float_eq(res[0].m[CMP_SERVER_CPU].median, 1.2, 1e-9);
	cmp_cell(cell, sizeof cell, &res[0]);
	cr_assert_str_eq(cell, "1.20x (no CI)");
	cmp_free(res, n);
}

Test(compare_sweep, pairs_only_within_a_round_and_a_conns, .timeout = 10)
{
	/* Round 2's reference failed: that round drops out of the comparison
	 * instead of pairing with another round's reference. Another conns
	 * is a comparison of its own. */
	struct rep_row rows[] = {
		row("ref", 10, 1, 5, 1, 1), row("b", 10, 1, 10, 1, 1),
		row("ref", 10, 2, 5, 1, 1), row("b", 10, 2, 10, 1, 1),
		row("ref", 10, 3, 5, 1, 1), row("b", 10, 3, 10, 1, 1),
		row("ref", 10, 4, 5, 1, 1), row("b", 10, 4, 10, 1, 1),
		row("ref", 20, 1, 4, 1, 1), row("b", 20, 1, 4, 1, 1),
	};
	struct cmp_result *res;
	char cell[64];
	int n;

	rows[2].ran = false;
	rows[2].cpu_us_server = -1;
	rows[6].drift_flagged = true;   /* the reference's trial of round 4 */
	n = cmp_compute(rows, 10, &b_vs_ref, 1, 4, &res);
	cr_assert_eq(n, 2);
	cr_assert_eq(res[0].conns, 10);
	cr_assert_eq(res[0].m[CMP_SERVER_CPU].n, 3);
	cr_assert(isnan(res[0].ratio[CMP_SERVER_CPU][1]));
	cr_assert_float_eq(res[0].m[CMP_SERVER_CPU].median, 2.0, 1e-12);
	cr_assert_eq(res[0].flagged, 1);
	cmp_cell(cell, sizeof cell, &res[0]);
	cr_assert_str_eq(cell, "2.00x [2.00,2.00]~!");
	cr_assert_eq(res[1].conns, 20);
	cr_assert_eq(res[1].m[CMP_SERVER_CPU].n, 1);
	cr_assert_float_eq(res[1].m[CMP_SERVER_CPU].median, 1.0, 1e-12);
	cmp_free(res, n);
}

/* ---- through evbench ------------------------------------------------------------------- */

static char outdir[PATH_MAX];

static void mkout(void)
{
	cr_assert_eq(tu_scratch_dir(outdir, sizeof outdir, "cmp"), 0);
}

static void cleanup(void)
{
	tu_scratch_remove(outdir);
}

/* Runs a small A/A sweep into <outdir>/<sub> with the given seed and
 * returns "server:round:position" of every trial, in file order. */
static void sweep_order(const char *sub, const char *seed, char *order, size_t cap)
{
	char evbench[PATH_MAX], out[PATH_MAX + 64], csv[PATH_MAX + 128], err[4096], line[4096];
	FILE *f;
	int st;

	cr_assert_eq(tu_path(evbench, sizeof evbench, tu_bin_dir(), "evbench"), 0);
	snprintf(out, sizeof out, "%s/%s", outdir, sub);
	char *argv[] = { evbench, "--server", "epoll-lt,epoll-lt@b", "--conns", "4", "--repeat",
			 "3", "--duration", "0.2", "--warmup", "0", "--seed", (char *)seed,
			 "--quiet", "--out", out, NULL };
	st = tu_run(argv, NULL, 0, err, sizeof err, 120000);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "evbench failed: %s", err);
	snprintf(csv, sizeof csv, "%s/latest/summary.csv", out);
	f = fopen(csv, "r");
	cr_assert_not_null(f, "no %s", csv);
	cr_assert_not_null(fgets(line, sizeof line, f));
	order[0] = '\0';
	/* The columns round and position come right before drift's four and
	 * failure, file: find them from the header's names, not by number. */
	{
		int iround = -1, ipos = -1, k = 0;
		char hdr[sizeof line + 1], *save, *tok;

		snprintf(hdr, sizeof hdr, "%s", line);
		for (tok = strtok_r(hdr, ",\n", &save); tok; tok = strtok_r(NULL, ",\n", &save), k++) {
			if (!strcmp(tok, "round"))
				iround = k;
			if (!strcmp(tok, "position"))
				ipos = k;
		}
		cr_assert(iround >= 0 && ipos >= 0, "summary.csv has no round/position columns");
		while (fgets(line, sizeof line, f)) {
			char *cells[128], *p = line;
			int nc = 0;

			/* No quoted field comes before round and position. */
			while (nc < 128 && (cells[nc] = strsep(&p, ",")))
				nc++;
			cr_assert(nc > ipos);
			snprintf(order + strlen(order), cap - strlen(order), "%s:%s:%s ", cells[0],
				 cells[iround], cells[ipos]);
		}
	}
	fclose(f);
}

Test(compare_evbench, seed_reproduces_and_rounds_are_recorded, .init = mkout, .fini = cleanup,
     .timeout = 120)
{
	char a[2048], b[2048], cmp[PATH_MAX + 32], line[512];
	FILE *f;
	int rows = 0;

	sweep_order("a", "42", a, sizeof a);
	sweep_order("b", "42", b, sizeof b);
	cr_assert_str_eq(a, b, "the same seed ran in two orders:\n%s\n%s", a, b);
	/* Every round ran both servers, at positions 1 and 2. */
	for (int r = 1; r <= 3; r++)
		for (int pos = 1; pos <= 2; pos++) {
			char want[64];

			snprintf(want, sizeof want, ":%d:%d ", r, pos);
			cr_assert_not_null(strstr(a, want), "no trial at round %d position %d: %s", r,
					   pos, a);
		}
	snprintf(cmp, sizeof cmp, "%s/a/latest/comparisons.csv", outdir);
	f = fopen(cmp, "r");
	cr_assert_not_null(f, "no comparisons.csv");
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "epoll-lt@b,4,epoll-lt,", 22)) {
			rows++;
			/* metric, then n = 3 rounds. */
			cr_assert_not_null(strstr(line, ",3,"), "not 3 rounds: %s", line);
		}
	fclose(f);
	cr_assert_eq(rows, CMP_NMETRICS);
}

Test(compare_evbench, bad_order_seed_and_reference_exit_2, .init = mkout, .fini = cleanup,
     .timeout = 60)
{
	char evbench[PATH_MAX], err[2048];
	char *bad[][8] = {
		{ "--order", "random", NULL },
		{ "--seed", "-3", NULL },
		{ "--seed", "12x", NULL },
		{ "--server", "poll", "--reference", "epoll-lt", NULL },
		{ "--reference", "nosuch", NULL },
		{ "--server", "poll@", NULL },
		{ "--server", "poll@a b", NULL },
	};

	cr_assert_eq(tu_path(evbench, sizeof evbench, tu_bin_dir(), "evbench"), 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *argv[12] = { evbench };
		int k = 1, st;

		for (int j = 0; bad[i][j]; j++)
			argv[k++] = bad[i][j];
		argv[k++] = "--out";
		argv[k++] = outdir;
		argv[k] = NULL;
		st = tu_run(argv, NULL, 0, err, sizeof err, 30000);
		cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 2,
			  "case %zu: status %d, stderr: %s", i, st, err);
		cr_assert(strchr(err, '\n') == err + strlen(err) - 1, "case %zu: not one line: %s",
			  i, err);
	}
}
