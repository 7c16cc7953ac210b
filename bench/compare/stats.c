/*
 * stats.c - Welch's t-test, Student's t distribution, Holm's correction,
 * the median of paired ratios with its order-statistic interval; see stats.h.
 */
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

double stats_mean(const double *x, size_t n)
{
	if (n == 0)
		return NAN;
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += x[i];
	return s / (double)n;
}

double stats_var(const double *x, size_t n)
{
	if (n < 2)
		return NAN;
	/* Two passes: benchmark values are large and close together, where the
	 * one-pass sum-of-squares formula loses every significant digit. */
	double m = stats_mean(x, n), s = 0;
	for (size_t i = 0; i < n; i++)
		s += (x[i] - m) * (x[i] - m);
	return s / (double)(n - 1);
}

/* The continued fraction of I_x(a, b), evaluated with the modified Lentz
 * method; it converges quickly for x < (a + 1) / (a + b + 2). */
static double betacf(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-15;
	double c = 1, d = 1 - (a + b) * x / (a + 1);
	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	double h = d;
	for (int m = 1; m <= 500; m++) {
		double m2 = 2.0 * m;
		/* Even step. */
		double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
		d = 1 + num * d;
		c = 1 + num / c;
		if (fabs(d) < tiny) d = tiny;
		if (fabs(c) < tiny) c = tiny;
		d = 1 / d;
		h *= d * c;
		/* Odd step. */
		num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
		d = 1 + num * d;
		c = 1 + num / c;
		if (fabs(d) < tiny) d = tiny;
		if (fabs(c) < tiny) c = tiny;
		d = 1 / d;
		double delta = d * c;
		h *= delta;
		if (fabs(delta - 1) < eps)
			break;
	}
	return h;
}

double stats_betai(double a, double b, double x)
{
	if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1))
		return NAN;
	if (x == 0 || x == 1)
		return x;
	double lfront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
	if (x < (a + 1) / (a + b + 2))
		return exp(lfront) * betacf(a, b, x) / a;
	/* The symmetric form converges where the direct one does not. */
	return 1 - exp(lfront) * betacf(b, a, 1 - x) / b;
}

double stats_t_cdf(double t, double df)
{
	if (isnan(t) || !(df > 0))
		return NAN;
	if (isinf(t))
		return t > 0 ? 1 : 0;
	double tail = 0.5 * stats_betai(df / 2, 0.5, df / (df + t * t));
	return t >= 0 ? 1 - tail : tail;
}

double stats_t_quantile(double p, double df)
{
	if (!(p > 0) || !(p < 1) || !(df > 0))
		return NAN;
	if (p == 0.5)
		return 0;
	/* Bisection: the CDF is monotonic and cheap, and 200 halvings of a
	 * bracket that starts at +-1e6 are far below double resolution. */
	double lo = -1, hi = 1;
	while (stats_t_cdf(lo, df) > p && lo > -1e12)
		lo *= 2;
	while (stats_t_cdf(hi, df) < p && hi < 1e12)
		hi *= 2;
	for (int i = 0; i < 200; i++) {
		double mid = (lo + hi) / 2;
		if (stats_t_cdf(mid, df) < p)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

int stats_welch(const double *a, size_t na, const double *b, size_t nb,
		struct stats_welch *w)
{
	if (na < 2 || nb < 2)
		return -EINVAL;
	double va = stats_var(a, na) / (double)na, vb = stats_var(b, nb) / (double)nb;
	w->mean_a = stats_mean(a, na);
	w->mean_b = stats_mean(b, nb);
	w->diff = w->mean_b - w->mean_a;
	w->se = sqrt(va + vb);
	if (va + vb > 0)
		w->df = (va + vb) * (va + vb) /
			(va * va / (double)(na - 1) + vb * vb / (double)(nb - 1));
	else
		w->df = (double)(na + nb - 2);
	if (w->se > 0)
		w->t = w->diff / w->se;
	else
		w->t = w->diff > 0 ? INFINITY : w->diff < 0 ? -INFINITY : 0;
	return 0;
}

double stats_welch_p_greater(const struct stats_welch *w)
{
	if (w->se == 0)
		return w->diff > 0 ? 0 : 1;
	return 1 - stats_t_cdf(w->t, w->df);
}

double stats_welch_p_less(const struct stats_welch *w)
{
	if (w->se == 0)
		return w->diff < 0 ? 0 : 1;
	return stats_t_cdf(w->t, w->df);
}

void stats_welch_ci(const struct stats_welch *w, double level, double *lo, double *hi)
{
	double q = w->se > 0 ? stats_t_quantile((1 + level) / 2, w->df) : 0;
	*lo = w->diff - q * w->se;
	*hi = w->diff + q * w->se;
}

struct pidx {
	double p;
	size_t i;
};

static int pidx_cmp(const void *x, const void *y)
{
	const struct pidx *a = x, *b = y;
	return (a->p > b->p) - (a->p < b->p);
}

void stats_holm(const double *p, size_t m, double alpha, bool *reject, double *adj)
{
	struct pidx *s = malloc((m ? m : 1) * sizeof *s);
	size_t k = 0;
	for (size_t i = 0; i < m; i++) {
		reject[i] = false;
		if (adj)
			adj[i] = NAN;
	}
	if (!s) /* Out of memory: reject nothing rather than guess. */
		return;
	for (size_t i = 0; i < m; i++)
		if (!isnan(p[i]))
			s[k++] = (struct pidx){ p[i], i };
	qsort(s, k, sizeof *s, pidx_cmp);
	/* The adjusted p-value of the j-th smallest is the running maximum of
	 * (k - j) * p; comparing it with alpha is Holm's step-down rule. */
	double run = 0;
	for (size_t j = 0; j < k; j++) {
		double v = (double)(k - j) * s[j].p;
		if (v > 1)
			v = 1;
		if (v > run)
			run = v;
		reject[s[j].i] = run <= alpha;
		if (adj)
			adj[s[j].i] = run;
	}
	free(s);
}

size_t stats_ratios(const double *num, const double *den, size_t n, double *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (isfinite(num[i]) && isfinite(den[i]) && num[i] > 0 && den[i] > 0)
			out[k++] = num[i] / den[i];
	return k;
}

double stats_binom_half_cdf(size_t k, size_t n)
{
	double s = 0;

	if (k >= n)
		return 1;
	/* Each term through lgamma, so that n in the thousands neither
	 * overflows a binomial coefficient nor underflows 2^-n. */
	for (size_t i = 0; i <= k; i++)
		s += exp(lgamma((double)n + 1) - lgamma((double)i + 1) -
			 lgamma((double)(n - i) + 1) - (double)n * M_LN2);
	return s > 1 ? 1 : s;
}

static int dbl_cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

void stats_median_ci(double *x, size_t n, double level, struct stats_median_ci *out)
{
	size_t k = 1;

	out->n = n;
	out->median = out->lo = out->hi = out->level = NAN;
	out->has_ci = false;
	if (n == 0)
		return;
	qsort(x, n, sizeof *x, dbl_cmp);
	out->median = n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
	if (n < 3)
		return;
	/* Widen from the middle outwards: the largest k (1-based) whose
	 * interval still covers with at least `level`. */
	while (k + 1 <= n / 2 && 1 - 2 * stats_binom_half_cdf(k, n) >= level)
		k++;
	out->has_ci = true;
	out->lo = x[k - 1];
	out->hi = x[n - k];
	out->level = 1 - 2 * stats_binom_half_cdf(k - 1, n);
}

uint64_t stats_rand_u64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t stats_rand_below(uint64_t *state, uint64_t n)
{
	uint64_t lim = UINT64_MAX - UINT64_MAX % n, v;

	do
		v = stats_rand_u64(state);
	while (v >= lim);
	return v % n;
}
