/*
 * probe.h - the drift probe: a fixed piece of work, timed right before and
 * right after every trial, that tracks how fast this machine is at that
 * moment, independently of the design under test.
 *
 * The speed of a shared or virtual machine moves between levels for seconds
 * at a time (the same server under the same load costs 5.4 µs of CPU per
 * request, then 7.3): a trial taken while it moved compares badly with one
 * taken in a steady spell. The probe is what the trials do: short messages
 * over a TCP loopback connection (write, then read on the other end, both
 * ways), in the calling thread, and what it reports is that thread's CPU
 * time per round trip — the same currency as the servers' CPU per request.
 * It takes the median of a few batches, so one preemption does not count.
 *
 * docs/results.md ("Comparisons") says how the probe's figures are reported
 * and what a flagged trial is.
 *
 * Conventions: returns a positive figure, or -1 with errno; never prints.
 */
#ifndef EVBENCH_PROBE_H
#define EVBENCH_PROBE_H

/* A trial is flagged when the probe after it differs from the probe before
 * it by more than this fraction (docs/results.md gives the measurement that
 * chose it). */
#define PROBE_DRIFT_THRESHOLD 0.10

/* Runs the probe and returns the CPU nanoseconds of one loopback round trip
 * (the median over its batches), or -1 with errno when a socket call failed. */
double probe_run(void);

/* What a probe reports of its batches, batches[0..n) (n odd) of CPU ns per
 * round trip each: their median, so that a batch that a preemption made
 * long does not count. Sorts batches in place. */
double probe_summary(double *batches, int n);

#endif
