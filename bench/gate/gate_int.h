/*
 * gate_int.h - what the files of `evbench gate` share; private to them.
 *
 * gate.c reads the command line and runs the job; gate_load.c reads the
 * results of both sides; gate_decide.c compares them and gives each
 * comparison its verdict; gate_print.c prints the report, as Markdown or
 * JSON; gate_instr.c is the instruction-count mode; gate_paired.c judges a
 * directory written by `evbench ab`. gate.h is the public manual.
 */
#ifndef EVBENCH_GATE_INT_H
#define EVBENCH_GATE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "gate.h"
#include "jsonr.h"
#include "schema.h"


/* A metric the gate reads from evbench.run/1 files; its name, unit and
 * direction are compare.h's (cmp_metrics[id]). */
struct metric {
	enum cmp_metric id;
	const char *path;   /* in an evbench.run/1 object */
	bool wall_clock;    /* measured in wall time, so other processes move it */
};

/* The metrics the gate compares, in report order (gate.c). */
extern const struct metric gate__metrics[];

/* A metric's name as printed and in --json, and its unit. */
#define gate__metric_name(m) (cmp_metrics[gate__metrics[m].id].label)
#define gate__metric_unit(m) (cmp_metrics[gate__metrics[m].id].unit)
#define gate__higher_better(m) (cmp_metrics[gate__metrics[m].id].higher_better)

/* A wall-clock regression is not blamed on the server when, in the current
 * runs, other processes took this much more of the machine than in the
 * baseline's (result.utilization.others, a share of all CPUs). On a shared
 * 2-core machine throughput follows the share the benchmark gets almost
 * exactly; 0.10 is a tenth of the machine, several times the change in that
 * share between quiet runs. */
#define GATE_MAX_DISTURBANCE 0.10
#define NMETRIC 3   /* rows of gate__metrics[] */

/* One run: one (server, conns, repeat) of one side. */
struct run {
	char *server;
	char *run_id;       /* "" when the file has none */
	long conns;
	size_t ordinal;     /* result.repeat, else its place among the runs of
			     * (server, conns, run_id) as read */
	double m[NMETRIC];
	bool has[NMETRIC];
	double others;      /* result.utilization.others; NaN when absent */
};

struct side {
	const char *path;
	char *owned;        /* path, when the gate chose it (DIR/latest) */
	struct run *runs;
	size_t n, cap;
};



/* One row of the report. */
struct cmp {
	const char *server;
	long conns;
	size_t metric;
	size_t nb, nc;
	double mb, mc, sdb, sdc;
	double change, lo, hi;      /* relative to the baseline mean */
	double p_worse, p_better;   /* one-sided, uncorrected */
	double p_worse_adj;         /* Holm-adjusted */
	double disturbance;         /* current minus baseline mean "others"; NaN if unknown */
	enum cmp_verdict v;
};

/* Says on stderr where and why a file failed to parse. */
void gate__report_parse_error(const char *file, const struct jr_error *e);

/* True when v is an object whose "schema" is schema. */
bool gate__is_schema(const struct jr_value *v, const char *schema);

/* Loads a directory's *.json files (in name order, so repeats pair up in the
 * order evbench wrote them) or one file. Malformed JSON is an error with the
 * file and position; so is a side without a single run. */
int gate__load_side(struct side *sd);

/* Frees what gate__load_side() read. */
void gate__free_side(struct side *sd);

/* Replaces every figure by its ratio to the reference's; runs without a
 * reference lose their figures (they cannot be normalised). The reference's
 * own runs are dropped, since they would all be 1. Returns -1 when the
 * reference server is not in this side at all. */
int gate__normalize(struct side *sd, const char *ref);

/* Fills x (server, conns and metric set) from both sides: the samples,
 * their means and spreads, Welch's test, the change and its interval, and
 * the verdicts that need no correction (missing, insufficient, disturbed).
 * bufb and bufc hold as many values as the sides have runs. */
void gate__compare_metric(const struct gate_opts *o, const struct side *b, const struct side *c,
			   struct cmp *x, double *bufb, double *bufc);

/* Holm over all comparisons, separately for "worse" and for "better", then
 * the threshold: a verdict needs both significance and size. */
void gate__decide(const struct gate_opts *o, struct cmp *x, size_t n);

/* "+1.2%", or "-" for NaN; shared with gate_paired.c. */
void gate__fmt_pct(char *buf, size_t cap, double v);

/* How many of x[0..n) have verdict v. */
size_t gate__count(const struct cmp *x, size_t n, enum cmp_verdict v);

/* The report as a Markdown table on stdout; status is the exit status. */
void gate__print_markdown(const struct gate_opts *o, const struct cmp *x, size_t n,
			   size_t tested, int status);

/* The same as an evbench.gate/1 JSON object on stdout. */
void gate__print_json(const struct gate_opts *o, const struct cmp *x, size_t n, int status);

/* evbench.instructions/1: {"schema", "tool", "benchmarks": [{"name", "ir"}]}.
 * Counts of executed instructions hardly move between runs of one binary, so
 * no statistics are needed: the threshold is the whole test. */
int gate__instructions(const struct gate_opts *o, const struct jr_value *b,
			     const struct jr_value *c);

/* Instruction files are single JSON files; a directory never is one. */
struct jr_value *gate__try_instructions(const char *path, int *failed);

/* The (server, conns) pairs of the baseline, in the order it lists them. */
int gate__collect_keys(const struct side *b, size_t **keys, size_t *nk);

#endif
