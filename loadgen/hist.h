/*
 * hist.h - a log-linear latency histogram (the HdrHistogram idea, written here).
 *
 * Values are unsigned 64-bit integers in NANOSECONDS. Values 0..255 ns have
 * their own exact counters; above that every power-of-two range [2^k, 2^(k+1))
 * is split into 128 equal sub-buckets, so a bucket is never wider than 1/128
 * of its lowest value. A value is reported as the middle of its bucket, which
 * keeps the relative error of any percentile under 0.4% (stated bound: 1%),
 * from 1 us up to HIST_MAX_VALUE (2^40 ns, about 1,099 s, well past 60 s).
 * min, max, count and the mean are kept exactly beside the counters.
 *
 * A histogram is ~35 KB and owned by one thread; there is no locking. Threads
 * record into their own and merge with hist_add() after join.
 */
#ifndef EVBENCH_HIST_H
#define EVBENCH_HIST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define HIST_SUB_BITS   8                      /* 256 exact counters, then 128 per octave */
#define HIST_MAX_SHIFT  32                     /* highest octave: [2^39, 2^40) */
#define HIST_MAX_VALUE  ((UINT64_C(1) << 40) - 1)
#define HIST_NCOUNTS    ((HIST_MAX_SHIFT + 2) << (HIST_SUB_BITS - 1))

struct hist {
	uint64_t *counts;      /* HIST_NCOUNTS counters */
	uint64_t  total;       /* values recorded */
	uint64_t  min, max;    /* exact; min is UINT64_MAX while empty */
	unsigned __int128 sum; /* exact sum of the values recorded, for the mean */
	uint64_t  overflow;    /* values above HIST_MAX_VALUE, refused by hist_record */
};

/* Allocates the counters of an empty histogram. Returns 0 or ENOMEM. */
int hist_init(struct hist *h);

/* Frees the counters; h may then be initialised again. Safe on a zeroed struct. */
void hist_free(struct hist *h);

/* Empties h, keeping its memory. */
void hist_reset(struct hist *h);

/* Records one value (ns). Returns false, and counts it in h->overflow, when the
 * value is above HIST_MAX_VALUE; the histogram is unchanged otherwise. */
bool hist_record(struct hist *h, uint64_t value_ns);

/* Adds every value of src into dst (merging per-thread histograms). */
void hist_add(struct hist *dst, const struct hist *src);

/* Number of values recorded. */
uint64_t hist_count(const struct hist *h);

/* Exact smallest and largest value recorded (ns); 0 when empty. */
uint64_t hist_min(const struct hist *h);
uint64_t hist_max(const struct hist *h);

/* Exact mean (ns); 0 when empty. */
double hist_mean(const struct hist *h);

/* Standard deviation (ns), from the buckets' middles; 0 when empty. */
double hist_stddev(const struct hist *h);

/* The value (ns) at percentile p (0..100): the smallest recorded value such
 * that at least p% of the values are <= it, reported as its bucket's middle
 * and clamped to [min, max]. p <= 0 gives min, p >= 100 gives max; 0 when empty. */
uint64_t hist_value_at_percentile(const struct hist *h, double p);

/* Lowest and highest value that share value's bucket (both ns). */
uint64_t hist_lowest_equivalent(uint64_t value_ns);
uint64_t hist_highest_equivalent(uint64_t value_ns);

/* Writes HdrHistogram's percentile-distribution text (.hgrm), as its Java
 * outputPercentileDistribution() does, with values divided by unit_ns (1000
 * gives microseconds, 1e6 milliseconds) and 5 percentile ticks per half
 * distance, so HdrHistogram's plotter reads it unchanged.
 * Returns 0, or -1 with errno set when the stream fails. */
int hist_write_hgrm(const struct hist *h, FILE *f, double unit_ns);

#endif
