/*
 * progress.c - the live progress line (progress.h).
 */
#include "progress.h"

#include <stdio.h>

double prog_time_left(double sweep_s, double trial_s, int trial, int trials, double trial_est_s)
{
	int done = trial - 1;
	/* The trials done so far say how long one takes here (server start,
	 * connects and stop included), better than the plan; before any is
	 * done, the plan is all there is. */
	double per = done > 0 ? (sweep_s - trial_s) / done : trial_est_s;
	double rest = per - trial_s;

	if (per <= 0 || trial < 1 || trial > trials)
		return -1;
	/* A trial running over its estimate has at least a moment left. */
	if (rest < 0)
		rest = 0;
	return per * (trials - trial) + rest;
}

const char *prog_duration(char *buf, size_t len, double s)
{
	long t = (long)(s + 0.5);

	if (s < 0)
		snprintf(buf, len, "?");
	else if (t < 60)
		snprintf(buf, len, "%lds", t);
	else if (t < 3600)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
	return buf;
}

const char *prog_format(char *buf, size_t len, const struct prog_view *v)
{
	char phase[48], left[32];

	if (v->phase_len_s > 0)
		snprintf(phase, sizeof phase, "%s %.1f/%.1fs", v->phase, v->phase_s, v->phase_len_s);
	else
		snprintf(phase, sizeof phase, "%s %.1fs", v->phase, v->phase_s);
	snprintf(buf, len, "[run %d/%d r%d/%d] %s c=%ld  %s  up %ld  %.0f req/s  "
		 "%llu failures  ~%s left", v->trial, v->trials, v->round, v->rounds,
		 v->server, v->conns, phase, v->conns_up, v->rate,
		 (unsigned long long)v->failures, prog_duration(left, sizeof left, v->left_s));
	return buf;
}
