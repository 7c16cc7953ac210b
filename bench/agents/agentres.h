/*
 * agentres.h - the result one load agent writes (schema evbench.agent/1) and
 * the exact merge of several (docs/many-hosts.md).
 *
 * An agent runs one share of a load on its own host. What it writes must merge
 * without loss, so it holds no percentile at all: the latency histograms go
 * out bucket by bucket (the index of every non-empty bucket of hist.h's
 * layout and its count, with the exact min, max and sum), and every counter
 * as the integer it is. Merging is then addition: the merged histogram is the
 * one a single load generator would have recorded for the same replies, and
 * its percentiles are those of the whole, never an average of the agents'
 * percentiles (which is wrong whenever the agents' shares differ).
 *
 * Time: each agent states its measure phase as CLOCK_REALTIME seconds of its
 * own clock, and the offset of that clock from the coordinator's (agent minus
 * coordinator, measured over the control channel, with its uncertainty), or
 * NaN when nobody measured it (a Kubernetes Job). The merge states the window
 * in which every load agent was measuring: the intersection of their phases,
 * in the coordinator's clock when the offsets are known.
 *
 * Conventions: functions return 0, or -1 with a one-line reason in err; none
 * prints or exits.
 */
#ifndef EVBENCH_AGENTRES_H
#define EVBENCH_AGENTRES_H

#include <stdbool.h>
#include <stddef.h>

#include "loadgen.h"

/* What an agent measures: a share of the load, or the latency probe, an open
 * loop at a low rate whose histogram is reported apart from the load's. */
enum ar_role { AR_ROLE_LOAD = 0, AR_ROLE_LATENCY };

/* A role's name, "load" or "latency", as the command line and the result
 * files spell it. */
const char *ar_role_name(enum ar_role role);

/* The role named s, or -1 when s names none. */
int ar_role_parse(const char *s);

struct ar_result {
	char   name[64];          /* the agent: its host, or "index-N" */
	enum ar_role role;
	int    index, shares;     /* this is share index of shares (from 0) */
	char   target[LG_ADDR_LEN + 8];  /* HOST:PORT it loaded */
	long   conns;             /* its share of the connections */
	double rate;              /* its share of the rate; 0 = closed loop */
	double start_s, end_s;    /* its measure phase, CLOCK_REALTIME s, its own clock */
	double offset_s;          /* its clock minus the coordinator's; NaN = not measured */
	double offset_unc_s;      /* half the round trip of the exchange that gave offset_s */
	struct lg_config cfg;     /* its share as it ran; written and read back are host,
	                             port, conns, threads, pipeline, size, rate, active,
	                             requests_per_conn and io, the rest are defaults */
	struct lg_result res;     /* counters, CPU and histograms; freed by ar_free() */
};

/* Shares n ways a load of `conns` connections, `rate` requests/s in total
 * and `requests` replies (0 = by duration): share i (0..n-1) gets conns / n,
 * one more for the first conns % n, and the rate and requests in proportion
 * to its connections (the last share takes what rounding left of requests).
 * Returns 0, or -1 when a share would get no connection. */
int ar_share(long conns, double rate, uint64_t requests, int i, int n,
	     long *conns_i, double *rate_i, uint64_t *requests_i);

/* Seconds an agent of `conns` connections is given to connect before its
 * warm-up: agents that start together begin measuring together, at start +
 * this + warmup (lg_hooks.measure_at_s), however long each took to connect.
 * One that takes longer begins late; the merge's window shows it. 1 s and
 * half a millisecond per connection: 6,000 connections took 0.5-3 s to
 * connect on the 2-core test machine while other tests ran. */
double ar_connect_allowance_s(long conns);

/* Seconds s as whole nanoseconds, 0 for NaN: the phase's CLOCK_REALTIME
 * times are written so, since a double printed to ten digits (json_double)
 * keeps only their seconds. */
int64_t ar_ns(double s);

/* Writes r as one evbench.agent/1 JSON object on one line. Returns 0, or -1
 * when the stream failed. */
int ar_write(FILE *f, const struct ar_result *r);

/* Reads an evbench.agent/1 object (text of len bytes) into *r, which it
 * initialises. Returns 0, or -1 with the reason (a missing member, a bucket
 * outside the layout, another schema); *r is then empty and safe to free. */
int ar_parse(const char *text, size_t len, struct ar_result *r, char *err, size_t errlen);

/* Frees r's histograms. Safe on a zeroed or freed result. */
void ar_free(struct ar_result *r);

/* The merge of several agents' results. */
struct ar_merged {
	int    nload, nlatency;   /* agents merged in each role */
	struct lg_result load;    /* the load agents' counters and histograms, summed;
	                             throughput_rps is the sum of the agents' rates,
	                             wall_s the length of the common window */
	struct lg_result latency; /* the latency agents' (empty when none) */
	struct lg_config load_cfg;    /* the first load agent's share, with conns, active,
	                                 threads and rate summed over the load agents */
	struct lg_config latency_cfg; /* the same over the latency agents */
	double win_start_s, win_end_s;  /* the load agents' common measure window */
	bool   clock_corrected;   /* the window is in the coordinator's clock (every
	                             load agent's offset known); else in the agents'
	                             own clocks, taken as they are */
	double max_offset_unc_s;  /* the largest uncertainty of an offset used */
};

/* Merges the n results exactly: counters and CPU summed, histograms bucket by
 * bucket, the window intersected. Returns 0, or -1 with the reason when there
 * is no load agent or the load agents' measure phases do not overlap (their
 * sums would then describe no common moment). *m is initialised here; free
 * it with ar_merged_free() in either case. */
int ar_merge(const struct ar_result *rs, int n, struct ar_merged *m, char *err, size_t errlen);

void ar_merged_free(struct ar_merged *m);

#endif
