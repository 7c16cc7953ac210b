/*
 * test_progress.c - evbench's live progress line (bench/sweep/progress.h): the
 * sweep's time left and the line itself, from numbers chosen here.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "progress.h"

Test(progress, time_left_before_any_trial_is_done)
{
	/* Trial 1 of 10, 1 s in, planned 4 s each: 3 s of it and 9 trials. */
	cr_assert_float_eq(prog_time_left(1.0, 1.0, 1, 10, 4.0), 3.0 + 9 * 4.0, 1e-9);
}

Test(progress, time_left_from_the_trials_done)
{
	/* Trials 1 and 2 took 18 s together (9 s each, not the planned 5);
	 * trial 3 is 2 s in: 7 s of it, then 7 trials of 9 s. */
	cr_assert_float_eq(prog_time_left(20.0, 2.0, 3, 10, 5.0), 7.0 + 7 * 9.0, 1e-9);
	/* The last trial: only what it has left. */
	cr_assert_float_eq(prog_time_left(40.0, 4.0, 5, 5, 1.0), 5.0, 1e-9);
}

Test(progress, time_left_of_a_trial_running_over)
{
	/* 9 s per trial so far, this one 12 s in: nothing of it is counted
	 * below zero, the 2 trials after it still are. */
	cr_assert_float_eq(prog_time_left(30.0, 12.0, 3, 5, 5.0), 2 * 9.0, 1e-9);
	cr_assert_lt(prog_time_left(1, 1, 0, 5, 5.0), 0);
	cr_assert_lt(prog_time_left(1, 1, 6, 5, 5.0), 0);
}

Test(progress, durations)
{
	char b[32];

	cr_assert_str_eq(prog_duration(b, sizeof b, 44.6), "45s");
	cr_assert_str_eq(prog_duration(b, sizeof b, 130), "2m10s");
	cr_assert_str_eq(prog_duration(b, sizeof b, 3900), "1h05m");
	cr_assert_str_eq(prog_duration(b, sizeof b, -1), "?");
}

Test(progress, the_line)
{
	struct prog_view v = {
		.trial = 3, .trials = 24, .round = 1, .rounds = 3, .server = "poll", .conns = 1000,
		.phase = "measure", .phase_s = 0.71, .phase_len_s = 1.0, .conns_up = 1000,
		.rate = 105210.4, .failures = 7, .left_s = 130,
	};
	char b[256];

	cr_assert_str_eq(prog_format(b, sizeof b, &v),
			 "[run 3/24 r1/3] poll c=1000  measure 0.7/1.0s  up 1000  105210 req/s  "
			 "7 failures  ~2m10s left");
	v.phase = "connect";
	v.phase_len_s = 0;
	v.phase_s = 0.25;
	v.left_s = -1;
	cr_assert_str_eq(prog_format(b, sizeof b, &v),
			 "[run 3/24 r1/3] poll c=1000  connect 0.2s  up 1000  105210 req/s  "
			 "7 failures  ~? left");
}
