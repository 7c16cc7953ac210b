/*
 * trial.h - one trial of a sweep: a server at one connection count, one
 * round. main.c plans the trials (compare.h) and writes what each measured
 * (report.h); this runs them.
 *
 * A trial starts the server in its own process group (orch.h), runs the load
 * in this process (loadgen.h), samples the server's group at MEASURE, midway
 * and DRAIN from the load generator's phase hooks (collect.h), counts the
 * mechanism with perf when asked (mech.h), stops the server and reads its
 * report. A trial that fails (no ready line, a crash, a server that will not
 * stop) is recorded in r->failure; nothing here exits.
 *
 * Ctrl-C (SIGINT, SIGTERM, SIGHUP) ends the current trial early, and the
 * sweep stops after it; a second one kills the server's group and exits.
 */
#ifndef EVBENCH_TRIAL_H
#define EVBENCH_TRIAL_H

#include <stdbool.h>

#include "collect.h"
#include "report.h"

/* Every limit of this machine that trial r (its server's row, its load)
 * will meet, as warnings in r with their remedies. The trial runs anyway,
 * so that the failures are measured. */
void trial_preflight(struct rep_run *r, const struct col_host *h);

/* Installs the handlers of the stop signals, ignores SIGPIPE, and kills the
 * running server's group at exit. Once, before the first trial. */
void trial_catch_signals(void);

/* The signal that asked the sweep to stop, or 0. */
int trial_stop_signal(void);

/* Runs trial r (filled by the caller; r->cfg made by lg_config_make, its
 * port set here once the server is up): the probe, the server, the load,
 * the samples, the stop. show_progress draws the progress line on stderr,
 * trial of trials in the sweep begun at sweep_t0 (col_now()). */
void trial_run(struct rep_run *r, bool show_progress, int trial, int trials, double sweep_t0);

#endif
