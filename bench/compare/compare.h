/*
 * compare.h - comparisons that survive a drifting machine: the order in
 * which a sweep runs its trials, and each design measured against a
 * reference design in the same round.
 *
 * A sweep of servers × connection counts × K repeats runs as K rounds. In
 * the interleaved order (the default) every round runs each (server, conns)
 * once, in a fresh random order drawn from the sweep's seed, so a slow spell
 * of the machine lands on a few trials of every design instead of on all
 * trials of one. The sequential order (every repeat of one pair back to
 * back, as evbench did before) stays for contrast: its "rounds" are the
 * repeat indexes.
 *
 * A comparison takes, for every round, the ratio of a design's figure to the
 * reference's figure in that same round, and summarises the rounds by the
 * median ratio with a distribution-free 95% interval (stats_median_ci in
 * stats.h). docs/results.md ("Comparisons") documents the fields and the
 * method; scripts/compare_aa.sh proves it with the same binary compared with
 * itself.
 *
 * Conventions: pure functions but for the writers, which return 0 or -1
 * with errno; nothing prints or exits.
 */
#ifndef EVBENCH_COMPARE_H
#define EVBENCH_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The runs compared are report.h's rows; this header names them only, so
 * that what includes it (the gate) does not take in the run machinery
 * report.h describes (collect, loadgen, mech, orch). */
struct rep_row;

enum cmp_order { CMP_INTERLEAVED, CMP_SEQUENTIAL };

/* "interleaved" / "sequential". */
const char *cmp_order_name(enum cmp_order o);

/* One trial of a sweep: which server and connection count, in which round,
 * and at which position of that round (both 1-based). */
struct cmp_trial {
	int si, ci;
	int round, position;
};

/* Fills out[] (room for nservers * nconns * rounds) with the sweep in the
 * given order; the interleaved order shuffles each round with a generator
 * seeded by `seed` alone, so the same seed gives the same order. */
void cmp_plan(int nservers, int nconns, int rounds, enum cmp_order order, uint64_t seed,
	      struct cmp_trial *out);

/* What is compared, per round, as this design's figure over the reference's. */
enum cmp_metric {
	CMP_SERVER_CPU,     /* server CPU µs per request (lower is better) */
	CMP_THROUGHPUT,     /* verified replies per second (higher is better) */
	CMP_P99,            /* p99 latency (lower is better) */
	CMP_NMETRICS
};

/* A metric's names and unit: the one home of each (comparisons.json, the
 * paired gate's verdict, `evbench ab`'s github JSON, --metrics). */
struct cmp_metric_info {
	const char *key;        /* in comparisons.json and .csv */
	const char *label;      /* as printed */
	const char *unit;       /* of the figure itself, before any ratio */
	const char *option;     /* its name in --metrics */
	bool higher_better;     /* throughput; CPU and latency are better lower */
};
extern const struct cmp_metric_info cmp_metrics[CMP_NMETRICS];

/* The key of a metric in comparisons.json and .csv. */
const char *cmp_metric_key(enum cmp_metric m);

/* A trial's figure for a metric (its row's); NaN when the trial failed or
 * did not measure it (the rows keep -1 for that). */
double cmp_figure(const struct rep_row *r, enum cmp_metric m);

/* The confidence of the intervals. */
#define CMP_LEVEL 0.95

struct cmp_metric_result {
	int    n;                     /* rounds where both sides measured it */
	double median;                /* NaN when n == 0 */
	bool   has_ci;                /* n >= 3 */
	double lo, hi, level;         /* the interval and its exact coverage */
};

/* One design at one connection count against the reference. */
struct cmp_result {
	char   server[32], reference[32];
	long   conns;
	int    rounds;                /* rounds in the sweep */
	double *ratio[CMP_NMETRICS];  /* per round (index round - 1), NaN where missing */
	int    flagged;               /* rounds whose ratio rests on a trial the drift
	                                 probe flagged (either side) */
	struct cmp_metric_result m[CMP_NMETRICS];
};

/* What a comparison divides: server's figures by reference's. */
struct cmp_pair {
	const char *server, *reference;
};

/*
 * Compares, for every pair and every connection count rows[0..n) have of
 * its server, the server with its reference at the same conns, round by
 * round (row.repeat is the round). Results come in the order of pairs, then
 * of the conns as rows first list them. Returns the number of results
 * written to *out (freed with cmp_free), 0 when there is nothing to compare,
 * or -1 with errno ENOMEM.
 */
int cmp_compute(const struct rep_row *rows, int n, const struct cmp_pair *pairs, int npairs,
		int rounds, struct cmp_result **out);
void cmp_free(struct cmp_result *res, int n);

/* Recomputes c->m[] (median and interval) from c->ratio[][], for results
 * read back from comparisons.json. */
void cmp_summarise(struct cmp_result *c);

/* ---- judging a change (evbench ab and evbench gate on paired data) ------------------ */

/*
 * The gate on paired data (docs/gate.md). For each comparison and metric the
 * rounds' log ratios, oriented so that positive is worse (throughput's
 * sign flipped), give a geometric-mean change and a two-sided t interval at
 * level 1 - 2a, where a = alpha / (comparisons x looks): Bonferroni over
 * every comparison judged together and over every look a sequential run may
 * take, so that the family's chance of a false alarm stays under alpha.
 * Verdicts, with thr = max_regression and c = clear:
 *   REGRESSION  the interval is above 1 + c x thr and the change > thr;
 *   worse       significant, and the interval's top <= thr;
 *   better      significant, change <= thr;  IMPROVED: change > thr;
 *   same        not significant, and the interval within [1/(1+thr), 1+thr];
 *   UNDECIDED   neither: more rounds could still say either.
 * The clearance c makes the promise at the low end (docs/gate.md): a true
 * change of at most c x thr has its interval's bottom above c x thr with
 * probability at most alpha over every look, so it fails the gate at most
 * about 1 time in 20 at the default alpha, while a point estimate past thr
 * alone (c = 0, the rule until 2026-12-05) failed a true 5% about 1 time in 6.
 */
enum cmp_verdict {
	CMP_V_SAME, CMP_V_WORSE, CMP_V_BETTER, CMP_V_IMPROVED, CMP_V_REGRESSION,
	CMP_V_UNDECIDED, CMP_V_INSUFFICIENT, CMP_V_NOT_GATED,
	/* The gate on two unpaired directories and on instruction counts
	 * (bench/gate) gives REGRESSION, IMPROVED, WORSE and INSUFFICIENT
	 * too, by its own tests (docs/gate.md), and these of its own: */
	CMP_V_NO_CHANGE,      /* not significant, or within the threshold */
	CMP_V_MISSING,        /* in the baseline, not in the current results */
	CMP_V_NOT_MEASURED,   /* neither side has the figure */
	CMP_V_DISTURBED,      /* a wall-clock regression while others took the machine */
};

/* A verdict as every report of the gate prints it, paired or not: one
 * vocabulary, so that "REGRESSION" reads the same in each. */
const char *cmp_verdict_name(enum cmp_verdict v);

/* The default clearance: a regression's interval clears half the threshold. */
#define CMP_CLEAR 0.5

struct cmp_rule {
	double max_regression;       /* a fraction: 0.10 */
	double clear;                /* the interval's bottom must be above clear x
	                                max_regression for a REGRESSION: CMP_CLEAR */
	double alpha;                /* family-wise: 0.05 */
	int    looks;                /* looks a sequential run may take (1 for a fixed one) */
	int    min_rounds;           /* fewer paired rounds: INSUFFICIENT (at least 3) */
	bool   gated[CMP_NMETRICS];  /* metrics that take part */
};

/* The rule of docs/gate.md, the one place a rule is made: threshold 10%,
 * clearance CMP_CLEAR, alpha 0.05, one look, 3 rounds at least, server CPU
 * alone gated. Callers change a field after it (a flag of the command line,
 * a test's own figure); a rule written as a bare initializer would get
 * clearance 0, the rule before 2026-12-05, without saying so. */
struct cmp_rule cmp_rule_default(void);

/* --metrics LIST, a comma-separated list of cmp_metrics[].option, into
 * gated[] (the metrics not named are not gated). Returns 0, or -1 for an
 * empty list or an unknown name, gated[] then unchanged. */
int cmp_parse_metrics(const char *list, bool gated[CMP_NMETRICS]);

struct cmp_judgement {
	enum cmp_verdict v;
	int    n;
	double change;               /* geometric-mean ratio - 1, positive = worse */
	double lo, hi;               /* its interval, as ratios - 1 */
	double level;                /* the interval's level */
};

/* Judges every gated metric of res[0..n) into j[i * CMP_NMETRICS + m].
 * Returns the number of comparisons tested. */
int cmp_judge(const struct cmp_result *res, int n, const struct cmp_rule *rule,
	      struct cmp_judgement *j);

/* The table's cell for a result's server CPU ratio: "1.36x [1.29,1.44]",
 * with a '~' after the interval when its coverage is under 95% (3 to 5
 * rounds), "1.36x (no CI)" under 3 rounds, and a '!' at the end when a round
 * rests on a flagged trial; "-" when there is nothing to compare (res NULL). */
const char *cmp_cell(char *buf, size_t len, const struct cmp_result *res);

/* The sweep's description that comparisons.json carries. */
struct cmp_sweep {
	const char *run_id;
	enum cmp_order order;
	uint64_t seed;
	int rounds;
	const char *reference;        /* NULL when every pair has its own (evbench ab) */
	double drift_threshold;
};

/* Writes <dir>/comparisons.json (schema evbench.comparisons/1) and
 * <dir>/comparisons.csv. */
int cmp_write(const char *dir, const struct cmp_sweep *sw, const struct cmp_result *res, int n);

#endif
