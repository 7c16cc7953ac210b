/*
 * gate.h - `evbench gate`, the CI performance-regression gate.
 *
 *     evbench gate BASELINE CURRENT [--max-regression PCT] [--alpha A]
 *                  [--normalize-by SERVER] [--json]
 *
 * BASELINE and CURRENT are results directories or JSON files made with
 * `evbench --repeat K`. docs/gate.md describes the statistics and the output.
 */
#ifndef EVBENCH_GATE_H
#define EVBENCH_GATE_H

/* Runs the gate. argv[0] is "gate". Prints its own report and messages and
 * returns the process exit status: 0 nothing regressed, 1 a regression,
 * 2 a usage or input error. */
int gate_main(int argc, char **argv);

#endif
