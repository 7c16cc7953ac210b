/*
 * counters.h - the one list of the servers' counters (docs/protocol.md, the
 * stop report).
 *
 * SRV_COUNTERS(X) calls X(name) once per counter, in the order of the stop
 * report. From it come the servers' struct srv_counters and their report
 * (servers/common.c), evbench's reader and its results' server_counters
 * (bench/sweep/orch.c, bench/report/report.c) and the conformance suite's check that
 * every counter is reported. A new counter is one line here, and the code
 * that counts it, and a row in docs/protocol.md's table, which says what
 * each one means.
 */
#ifndef EVBENCH_COUNTERS_H
#define EVBENCH_COUNTERS_H

#define SRV_COUNTERS(X)                                                          \
	X(accepted) X(closed) X(peak_conns) X(bytes_in) X(bytes_out) X(lines)     \
	X(oversize) X(emfile) X(enfile) X(fd_setsize_refused) X(resets) X(errors) \
	X(idle_closed) X(children_refused)

/* How many there are. */
#define SRV_COUNTER_ONE(name) +1
enum { SRV_NCOUNTERS = 0 SRV_COUNTERS(SRV_COUNTER_ONE) };

#endif
