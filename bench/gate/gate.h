/*
 * gate.h - `evbench gate`, the CI performance-regression gate.
 *
 *     evbench gate BASELINE CURRENT [--max-regression PCT] [--alpha A]
 *                  [--min-repeats K] [--normalize-by SERVER] [--json]
 *
 * BASELINE and CURRENT are results directories or JSON files made with
 * `evbench --repeat K` (schema evbench.run/1), or two files of instruction
 * counts (schema evbench.instructions/1, scripts/gate_instructions.sh). For
 * every (server, conns) in both, throughput, p99 latency and server CPU per
 * request are compared with a one-sided Welch t-test, Holm-corrected at
 * alpha (default 0.05); a regression is significant and larger than
 * --max-regression (default 10%). A Markdown table goes to stdout (JSON with
 * --json), errors to stderr. docs/gate.md is the full description.
 */
#ifndef EVBENCH_GATE_H
#define EVBENCH_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "compare.h"

/* Exit statuses, the contract with CI (docs/gate.md). */
enum { GATE_PASS = 0, GATE_REGRESSION = 1, GATE_ERROR = 2, GATE_UNDECIDED = 3 };

/* The gate's command line, as cli_parse_gate() (cli.h) reads it from the
 * option table evbench's other commands share. */
struct gate_opts {
	const char *base, *cur;    /* cur NULL: base is a directory written by evbench ab */
	struct cmp_rule rule;      /* --max-regression, --alpha, --metrics; --min-repeats
	                              is rule.min_rounds (cmp_rule_default() else) */
	bool max_given;            /* --max-regression given (instruction counts default
	                              to 2%, not the rule's 10%) */
	bool metrics_given;        /* --metrics given: paired data only */
	const char *normalize_by;  /* a design's name, or NULL */
	bool json;
};

/* Runs the gate on parsed options. Prints its own report and messages and
 * returns the process exit status: 0 nothing regressed, 1 a regression,
 * 2 an input error or an incomplete comparison (a server missing from
 * CURRENT, fewer than --min-repeats repeats), 3 (paired data only) a
 * comparison still undecided. With a single directory, DIR written by
 * `evbench ab`, it judges the paired comparisons of DIR/comparisons.json. */
int gate_run(const struct gate_opts *o);

/* ---- on paired data (gate_paired.c) ---------------------------------------------- */

/* Judges res[0..n) by rule (compare.h's cmp_judge) and prints the report, a
 * Markdown table or (json) an evbench.gate-paired/1 object, on f. Returns
 * the exit status: GATE_REGRESSION when a gated comparison regressed, else
 * GATE_ERROR when one had too few rounds (or there was none), else
 * GATE_UNDECIDED when one is undecided, else GATE_PASS. */
int gate_paired_report(FILE *f, const char *dir, const struct cmp_result *res, int n,
		       const struct cmp_rule *rule, bool json);

/* The exit status of judgements j[0 .. n * CMP_NMETRICS), as above. */
int gate_paired_status(const struct cmp_judgement *j, int n);

/* Reads DIR/comparisons.json back into *out (cmp_free). Returns the number
 * of comparisons, or -1 with a one-line reason in err. */
int gate_paired_load(const char *dir, struct cmp_result **out, char *err, size_t errlen);

#endif
