/*
 * hist.c - log-linear histogram; see hist.h for the layout and its error bound.
 *
 * Index of a value v:
 *   v < 256:  v itself (exact counters);
 *   v >= 256: with s = msb(v) - 7, v >> s lies in [128, 256), and the index is
 *             s * 128 + (v >> s). Octave s therefore owns indexes
 *             [128 (s + 1), 128 (s + 2)) and buckets 2^s wide.
 * Recording is a count-leading-zeros, a shift and an add: cheap enough to do
 * for every reply on the load generator's hot path.
 */
#include "hist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HALF (1u << (HIST_SUB_BITS - 1))   /* 128 sub-buckets per octave */

static inline unsigned index_of(uint64_t v)
{
	if (v < (UINT64_C(1) << HIST_SUB_BITS))
		return (unsigned)v;
	unsigned s = (unsigned)(63 - __builtin_clzll(v)) - (HIST_SUB_BITS - 1);
	return s * HALF + (unsigned)(v >> s);
}

static inline uint64_t lowest_of(unsigned idx)
{
	if (idx < (1u << HIST_SUB_BITS))
		return idx;
	unsigned s = idx / HALF - 1;
	return (uint64_t)(idx - s * HALF) << s;
}

static inline uint64_t width_of(unsigned idx)
{
	if (idx < (1u << HIST_SUB_BITS))
		return 1;
	return UINT64_C(1) << (idx / HALF - 1);
}

uint64_t hist_lowest_equivalent(uint64_t v)
{
	return v > HIST_MAX_VALUE ? v : lowest_of(index_of(v));
}

uint64_t hist_highest_equivalent(uint64_t v)
{
	if (v > HIST_MAX_VALUE)
		return v;
	unsigned i = index_of(v);
	return lowest_of(i) + width_of(i) - 1;
}

/* The value a bucket stands for: its middle, so the error is at most half a
 * bucket either way. */
static inline uint64_t middle_of(unsigned idx)
{
	return lowest_of(idx) + width_of(idx) / 2;
}

int hist_init(struct hist *h)
{
	memset(h, 0, sizeof *h);
	h->counts = calloc(HIST_NCOUNTS, sizeof *h->counts);
	if (!h->counts)
		return ENOMEM;
	h->min = UINT64_MAX;
	return 0;
}

void hist_free(struct hist *h)
{
	free(h->counts);
	h->counts = NULL;
}

void hist_reset(struct hist *h)
{
	if (h->counts)
		memset(h->counts, 0, HIST_NCOUNTS * sizeof *h->counts);
	h->total = h->max = h->overflow = 0;
	h->sum = 0;
	h->min = UINT64_MAX;
}

bool hist_record(struct hist *h, uint64_t v)
{
	if (v > HIST_MAX_VALUE) {
		h->overflow++;
		return false;
	}
	h->counts[index_of(v)]++;
	h->total++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	return true;
}

void hist_add(struct hist *dst, const struct hist *src)
{
	if (src->total) {
		for (unsigned i = 0; i < HIST_NCOUNTS; i++)
			dst->counts[i] += src->counts[i];
		dst->total += src->total;
		dst->sum += src->sum;
		if (src->min < dst->min)
			dst->min = src->min;
		if (src->max > dst->max)
			dst->max = src->max;
	}
	dst->overflow += src->overflow;
}

uint64_t hist_count(const struct hist *h)
{
	return h->total;
}

uint64_t hist_min(const struct hist *h)
{
	return h->total ? h->min : 0;
}

uint64_t hist_max(const struct hist *h)
{
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->total ? (double)h->sum / (double)h->total : 0.0;
}

double hist_stddev(const struct hist *h)
{
	if (!h->total)
		return 0.0;
	double mean = hist_mean(h), acc = 0.0;
	for (unsigned i = 0; i < HIST_NCOUNTS; i++) {
		if (h->counts[i]) {
			double d = (double)middle_of(i) - mean;
			acc += d * d * (double)h->counts[i];
		}
	}
	return sqrt(acc / (double)h->total);
}

static uint64_t clamp(const struct hist *h, uint64_t v)
{
	return v < h->min ? h->min : v > h->max ? h->max : v;
}

uint64_t hist_value_at_percentile(const struct hist *h, double p)
{
	if (!h->total)
		return 0;
	if (p <= 0.0)
		return h->min;
	if (p >= 100.0)
		return h->max;
	/* The rank of the value wanted, 1-based: at least p% of the values lie at
	 * or below it. The epsilon keeps 99.9% of 1000 at rank 999, not 1000. */
	double r = ceil(p / 100.0 * (double)h->total - 1e-9);
	uint64_t rank = r < 1.0 ? 1 : (uint64_t)r, seen = 0;
	for (unsigned i = 0; i < HIST_NCOUNTS; i++) {
		seen += h->counts[i];
		if (seen >= rank)
			return clamp(h, middle_of(i));
	}
	return h->max;
}

/* The percentile iteration of HdrHistogram's text output: the step between
 * reported percentiles halves each time the distance to 100% halves, with
 * `ticks` lines per halving, so the tail gets as many lines as the body. */
int hist_write_hgrm(const struct hist *h, FILE *f, double unit_ns)
{
	const int ticks = 5;
	fprintf(f, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
		"1/(1-Percentile)");
	if (h->total) {
		double level = 0.0;  /* percentile (0..100) to report next */
		uint64_t cum = 0;
		for (unsigned i = 0; i < HIST_NCOUNTS; i++) {
			if (!h->counts[i])
				continue;
			cum += h->counts[i];
			double value = (double)clamp(h, lowest_of(i) + width_of(i) - 1) / unit_ns;
			while (100.0 * (double)cum / (double)h->total >= level) {
				double q = level / 100.0;
				fprintf(f, "%12.3f %2.12f %10llu %14.2f\n", value, q,
					(unsigned long long)cum, 1.0 / (1.0 - q));
				double halvings = floor(log2(100.0 / (100.0 - level))) + 1.0;
				level += 100.0 / (ticks * pow(2.0, halvings));
				if (cum == h->total)
					break;
			}
			if (cum == h->total) {
				/* The last value closes the table at 100%, as HdrHistogram's
				 * own output does (no 1/(1-Percentile) column there). */
				fprintf(f, "%12.3f %2.12f %10llu\n", value, 1.0,
					(unsigned long long)cum);
				break;
			}
		}
	}
	uint64_t nbuckets = HIST_MAX_SHIFT + 1;
	fprintf(f, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n",
		hist_mean(h) / unit_ns, hist_stddev(h) / unit_ns);
	fprintf(f, "#[Max     = %12.3f, Total count    = %12llu]\n",
		(double)hist_max(h) / unit_ns, (unsigned long long)h->total);
	fprintf(f, "#[Buckets = %12llu, SubBuckets     = %12u]\n",
		(unsigned long long)nbuckets, 1u << HIST_SUB_BITS);
	if (ferror(f)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}
