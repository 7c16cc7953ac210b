/*
 * progress.h - evbench's live progress line: what one line on a terminal
 * says while a sweep runs, computed from plain numbers so that it can be
 * tested without a terminal.
 *
 *   [run 3/24 r1/3] poll c=1000  measure 0.7/1.0s  up 1000  105210 req/s  0 failures  ~2m10s left
 *
 * run k of N in the sweep, round r of R; the phase, the time within it and
 * its planned length; connections up, replies per second lately, failures
 * of any cause so far, and the whole sweep's time left. main.c feeds it from
 * the load generator's progress hook, cuts it to the terminal's width and
 * prints it only when stderr is a terminal.
 */
#ifndef EVBENCH_PROGRESS_H
#define EVBENCH_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

struct prog_view {
	int    trial, trials;        /* this trial's number in the sweep (from 1), and how many */
	int    round, rounds;
	const char *server;
	long   conns;
	const char *phase;           /* "connect", "warmup", "measure", "drain", or "starting" */
	double phase_s;              /* time within the phase */
	double phase_len_s;          /* the phase's planned length; <= 0 when it has none */
	long   conns_up;
	double rate;                 /* verified replies per second, lately */
	uint64_t failures;           /* of any cause, descriptor limits included */
	double left_s;               /* the whole sweep's time left; < 0 when unknown */
};

/*
 * The sweep's time left: the trials after this one at the mean of those
 * done (trial_est_s, the planned length of one, before any is done), plus
 * what this one still has to go by the same measure. sweep_s is the time
 * since the sweep began, trial_s the time since this trial began.
 */
double prog_time_left(double sweep_s, double trial_s, int trial, int trials, double trial_est_s);

/* "45s", "2m10s", "1h05m": a duration for a person; "?" when negative. */
const char *prog_duration(char *buf, size_t len, double s);

/* The line, without '\r' or a newline. Returns buf. */
const char *prog_format(char *buf, size_t len, const struct prog_view *v);

#endif
