/*
 * test_hist.c - the latency histogram against exact answers.
 *
 * Every percentile is compared with the exact value of the same rank in the
 * sorted data; the stated bound is 1% relative error (the layout gives
 * 0.39%). Data sets: uniform, bimodal, and extreme values from 0 to past 60 s.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

static const double pcts[] = { 0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 99.999, 100 };

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The exact value at percentile p: rank ceil(p/100 n), clamped to [1, n]. */
static uint64_t exact(const uint64_t *sorted, size_t n, double p)
{
	double r = ceil(p / 100.0 * (double)n - 1e-9);
	size_t rank = r < 1 ? 1 : (size_t)r;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static void check_all(uint64_t *v, size_t n, const char *what)
{
	struct hist h;
	cr_assert_eq(hist_init(&h), 0);
	for (size_t i = 0; i < n; i++)
		cr_assert(hist_record(&h, v[i]));
	qsort(v, n, sizeof *v, cmp_u64);
	cr_assert_eq(hist_count(&h), n);
	cr_assert_eq(hist_min(&h), v[0], "%s: min", what);
	cr_assert_eq(hist_max(&h), v[n - 1], "%s: max", what);
	long double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	double mean = (double)(sum / n);
	cr_assert(fabs(hist_mean(&h) - mean) <= 1e-9 * mean + 1e-9, "%s: mean %f vs %f", what,
		  hist_mean(&h), mean);
	for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
		uint64_t want = exact(v, n, pcts[i]), got = hist_value_at_percentile(&h, pcts[i]);
		double err = want ? fabs((double)got - (double)want) / (double)want : (double)got;
		cr_assert(err < 0.01, "%s: p%g = %llu, exact %llu (error %.4f%%)", what, pcts[i],
			  (unsigned long long)got, (unsigned long long)want, err * 100);
	}
	hist_free(&h);
}

Test(hist, uniform_1us_to_60s, .timeout = 20)
{
	size_t n = 200000;
	uint64_t *v = malloc(n * sizeof *v);
	/* Log-uniform, so every decade from 1 us to 60 s is populated. */
	for (size_t i = 0; i < n; i++)
		v[i] = (uint64_t)(1000.0 * pow(60e6, (double)(rnd() % 1000000) / 1e6));
	check_all(v, n, "log-uniform");
	for (size_t i = 0; i < n; i++)
		v[i] = 1000 + rnd() % 10000000;  /* linear: 1 us .. 10 ms */
	check_all(v, n, "uniform");
	free(v);
}

Test(hist, bimodal, .timeout = 20)
{
	size_t n = 100000;
	uint64_t *v = malloc(n * sizeof *v);
	/* 98% around 50 us, 2% around 200 ms: the shape a stall leaves. */
	for (size_t i = 0; i < n; i++)
		v[i] = (rnd() % 100 < 98) ? 45000 + rnd() % 10000 : 190000000 + rnd() % 20000000;
	check_all(v, n, "bimodal");
	free(v);
}

Test(hist, extreme_values, .timeout = 10)
{
	uint64_t v[] = { 0, 1, 255, 256, 257, 999, 1000, 1001, 59999999999ull, 60000000000ull,
			 61000000000ull, HIST_MAX_VALUE, 123456789, 1ull << 39 };
	check_all(v, sizeof v / sizeof v[0], "extremes");

	struct hist h;
	cr_assert_eq(hist_init(&h), 0);
	cr_assert_not(hist_record(&h, HIST_MAX_VALUE + 1), "values past the range are refused");
	cr_assert_eq(h.overflow, 1);
	cr_assert_eq(hist_count(&h), 0);
	cr_assert_eq(hist_value_at_percentile(&h, 50), 0, "an empty histogram reports 0");
	/* One value: every percentile is that value, exactly. */
	hist_record(&h, 60000000000ull);
	for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++)
		cr_assert_eq(hist_value_at_percentile(&h, pcts[i]), 60000000000ull);
	hist_free(&h);
}

Test(hist, bucket_width_bound, .timeout = 10)
{
	/* Across the whole range, a bucket is at most 1/128 of its lowest value. */
	for (uint64_t v = 1000; v < HIST_MAX_VALUE; v = v + v / 97 + 1) {
		uint64_t lo = hist_lowest_equivalent(v), hi = hist_highest_equivalent(v);
		cr_assert(lo <= v && v <= hi);
		cr_assert((double)(hi - lo + 1) / (double)lo <= 1.0 / 128 + 1e-12, "v=%llu",
			  (unsigned long long)v);
	}
}

Test(hist, merge_equals_single, .timeout = 10)
{
	struct hist all, part[4], merged;
	cr_assert_eq(hist_init(&all), 0);
	cr_assert_eq(hist_init(&merged), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(hist_init(&part[i]), 0);
	for (int i = 0; i < 100000; i++) {
		uint64_t v = (uint64_t)(500.0 * pow(1e8, (double)(rnd() % 100000) / 1e5));
		hist_record(&all, v);
		hist_record(&part[rnd() % 4], v);
	}
	hist_record(&part[2], HIST_MAX_VALUE + 5);  /* overflow counts merge too */
	hist_record(&all, HIST_MAX_VALUE + 5);
	for (int i = 0; i < 4; i++)
		hist_add(&merged, &part[i]);
	cr_assert_eq(memcmp(all.counts, merged.counts, HIST_NCOUNTS * sizeof *all.counts), 0);
	cr_assert_eq(hist_count(&all), hist_count(&merged));
	cr_assert_eq(hist_min(&all), hist_min(&merged));
	cr_assert_eq(hist_max(&all), hist_max(&merged));
	cr_assert_eq(all.overflow, merged.overflow);
	cr_assert_eq(hist_mean(&all), hist_mean(&merged));
	for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++)
		cr_assert_eq(hist_value_at_percentile(&all, pcts[i]),
			     hist_value_at_percentile(&merged, pcts[i]));
	/* Reset empties but keeps the memory. */
	hist_reset(&merged);
	cr_assert_eq(hist_count(&merged), 0);
	cr_assert(hist_record(&merged, 5));
	cr_assert_eq(hist_min(&merged), 5);
	hist_free(&all);
	hist_free(&merged);
	for (int i = 0; i < 4; i++)
		hist_free(&part[i]);
}

/* The .hgrm text as HdrHistogram's tools read it: a header line, a blank
 * line, 4 columns of numbers per line with non-decreasing values and
 * percentiles, a closing 100% line, and the three #[...] footer lines. */
Test(hist, hgrm_format, .timeout = 10)
{
	struct hist h;
	cr_assert_eq(hist_init(&h), 0);
	for (int i = 1; i <= 10000; i++)
		hist_record(&h, (uint64_t)i * 1000);  /* 1 us .. 10 ms */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_eq(hist_write_hgrm(&h, f, 1000.0), 0);
	fclose(f);

	cr_assert(strstr(buf, "#[Mean    =") && strstr(buf, "#[Max     =") &&
		  strstr(buf, "#[Buckets ="));
	char *save, *line = strtok_r(buf, "\n", &save);
	cr_assert(line && strstr(line, "Value") && strstr(line, "Percentile") &&
		  strstr(line, "TotalCount") && strstr(line, "1/(1-Percentile)"));
	cr_assert(strstr(buf + strlen(line) + 1, "\n") != NULL);
	double last_v = -1, last_p = -1;
	int rows = 0, footer = 0;
	bool closed = false;
	while ((line = strtok_r(NULL, "\n", &save))) {
		if (line[0] == '#') {
			footer++;
			continue;
		}
		double v, p, inv;
		unsigned long long cnt;
		int k = sscanf(line, "%lf %lf %llu %lf", &v, &p, &cnt, &inv);
		cr_assert(k == 4 || (k == 3 && p == 1.0), "bad row: %s", line);
		cr_assert(v >= last_v && p >= last_p, "not monotonic: %s", line);
		if (k == 4)
			cr_assert(fabs(inv - 1.0 / (1.0 - p)) < 0.01 * inv + 0.01);
		last_v = v;
		last_p = p;
		rows++;
		if (k == 3) {
			closed = true;
			cr_assert_eq(cnt, 10000);
			cr_assert(fabs(v - 10000.0) < 0.01, "the 100%% row is the max (%f)", v);
		}
	}
	cr_assert(closed, "a closing 100%% row");
	cr_assert(rows > 30, "5 ticks per half distance gives many rows (%d)", rows);
	cr_assert_eq(footer, 3);
	free(buf);
	hist_free(&h);
}
