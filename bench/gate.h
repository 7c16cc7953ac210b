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

/* Runs the gate. argv[0] is "gate". Prints its own report and messages and
 * returns the process exit status: 0 nothing regressed, 1 a regression,
 * 2 a usage or input error or an incomplete comparison (a server missing
 * from CURRENT, fewer than --min-repeats repeats). */
int gate_main(int argc, char **argv);

#endif
