/*
 * merge.h - `evbench merge PATH...`: the agents' results (evbench.agent/1)
 * merged exactly and reported as a local run is (docs/many-hosts.md).
 *
 *   evbench merge [--json] PATH...
 *
 * A PATH is an agent's result file, or a directory whose *.json and *.log
 * files holding that schema are read (others are passed over). In a file the
 * result is the line that opens with {"schema":"evbench.agent/1", so a pod's
 * log (kubectl logs) with the agent's warnings around it reads as it is. The report is the load
 * generator's summary of the merged load agents, a line per agent, the
 * common measure window and the clock basis it is stated in, and the
 * latency agents' histogram apart; --json prints evbench.merged/1 instead.
 * Exit status: 0 merged, 1 a result could not be read or the agents do not
 * merge (no overlap), 2 bad usage.
 */
#ifndef EVBENCH_MERGE_H
#define EVBENCH_MERGE_H

#include <stdbool.h>
#include <stdio.h>

#include "agentres.h"

/* Writes the human report of the merge m of the n results rs to f. */
void merge_print(FILE *f, const struct ar_result *rs, int n, const struct ar_merged *m);

/* Writes evbench.merged/1: the agents (name, role, share, window, clock
 * offset), the window, `load` and `result` of the merged load agents as
 * evbench.run/1 has them, and `latency_agent` (its latency objects, or
 * null). Returns 0, or -1 when the stream failed. */
int merge_write_json(FILE *f, const struct ar_result *rs, int n, const struct ar_merged *m);

/* The `evbench merge` command: argv[0] is "merge". Returns the exit status. */
int merge_main(int argc, char **argv);

#endif
