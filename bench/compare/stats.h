/*
 * stats.h - the small statistics the regression gate needs.
 *
 * Pure functions: no I/O, no allocation beyond the caller's buffers, no
 * global state. Samples are plain double arrays; "n" counts them.
 *
 * The gate compares two independent samples (per-repeat values of one metric
 * from the baseline and from the current build) with Welch's t-test, which
 * does not assume equal variances: a noisy current run must not borrow the
 * baseline's tight spread.
 */
#ifndef EVBENCH_STATS_H
#define EVBENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Arithmetic mean; NaN when n == 0. */
double stats_mean(const double *x, size_t n);

/* Unbiased sample variance (divides by n - 1); NaN when n < 2. */
double stats_var(const double *x, size_t n);

/* Student's t distribution with df > 0 degrees of freedom (df need not be an
 * integer: Welch's df is not). Returns P(T <= t). */
double stats_t_cdf(double t, double df);

/* The inverse: the t with P(T <= t) == p, for 0 < p < 1. NaN outside. */
double stats_t_quantile(double p, double df);

/* Regularised incomplete beta function I_x(a, b), 0 <= x <= 1, a, b > 0. */
double stats_betai(double a, double b, double x);

/* Welch's two-sample comparison of b against a (b - a). */
struct stats_welch {
	double mean_a, mean_b;
	double diff;      /* mean_b - mean_a */
	double se;        /* standard error of diff; 0 when both samples are constant */
	double df;        /* Welch-Satterthwaite degrees of freedom */
	double t;         /* diff / se; +-INFINITY or 0 when se == 0 */
};

/* Fills *w. Needs na >= 2 and nb >= 2; returns 0, or -EINVAL otherwise. */
int stats_welch(const double *a, size_t na, const double *b, size_t nb,
		struct stats_welch *w);

/* One-sided p-value of the hypothesis "b is greater than a" (diff > 0):
 * P(T >= t). With se == 0 it is 0 when diff > 0 and 1 otherwise, because
 * constant samples leave no doubt. Use -diff by negating: see _less. */
double stats_welch_p_greater(const struct stats_welch *w);
double stats_welch_p_less(const struct stats_welch *w);

/* Two-sided confidence interval for diff at the given level (e.g. 0.90):
 * diff -+ q * se with q the t quantile at (1 + level) / 2. */
void stats_welch_ci(const struct stats_welch *w, double level, double *lo, double *hi);

/* Holm's step-down procedure over m p-values at family-wise level alpha.
 * Sets reject[i]; NaN p-values are never rejected and do not count in m.
 * adj[i] (may be NULL) receives the Holm-adjusted p-value, capped at 1. */
void stats_holm(const double *p, size_t m, double alpha, bool *reject, double *adj);

/* ---- paired comparisons (docs/results.md, "Comparisons") ------------------------ */

/* The ratios num[i] / den[i] of the pairs where both are finite and > 0, in
 * order, into out (room for n). Returns how many were written. */
size_t stats_ratios(const double *num, const double *den, size_t n, double *out);

/* The median of x[0..n) with a distribution-free confidence interval: the
 * order statistics [x(k), x(n+1-k)] with the largest k whose coverage,
 * 1 - 2 P(B <= k - 1) for B ~ Binomial(n, 1/2), is at least `level` (the
 * interval a sign test inverts to). It assumes only that the n values are
 * independent draws around one median, which paired rounds are. With fewer
 * than 6 values no k reaches 95%: the interval is then [min, max] and
 * `level` says the coverage it really has (75% at 3, 87.5% at 4, 93.75% at 5).
 * Sorts x in place. */
struct stats_median_ci {
	size_t n;
	double median;      /* NaN when n == 0 */
	bool   has_ci;      /* n >= 3 */
	double lo, hi;      /* the interval, NaN without one */
	double level;       /* its exact coverage, NaN without one */
};
void stats_median_ci(double *x, size_t n, double level, struct stats_median_ci *out);

/* P(B <= k) for B ~ Binomial(n, 1/2). */
double stats_binom_half_cdf(size_t k, size_t n);

/* splitmix64: the next of a sequence whose whole state is *state, so that a
 * random order (cmp_plan) is reproducible from the seed the results record. */
uint64_t stats_rand_u64(uint64_t *state);

/* A uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t stats_rand_below(uint64_t *state, uint64_t n);

#endif
