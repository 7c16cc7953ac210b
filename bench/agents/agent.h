/*
 * agent.h - `evbench agent`: one share of a load, on the host it runs on,
 * written as a mergeable result (agentres.h). docs/many-hosts.md.
 *
 *   evbench agent --port P [--host H] [load options] [--share I/N]
 *                 [--role load|latency] [--name NAME] [--start-at T]
 *                 [--out FILE] [--control]
 *
 * The load options are the load generator's; --conns, --rate, --requests
 * and --connect-rate are the whole load's, of which --share I/N (from 0)
 * runs ar_share()'s part, so every agent is given the same command but its
 * index (a Kubernetes Indexed Job gives each pod JOB_COMPLETION_INDEX).
 * --start-at T: begin connecting at T, CLOCK_REALTIME seconds, and measure
 * from T + ar_connect_allowance_s(its connections) + --warmup, so that agents
 * started together measure together. The result goes to --out FILE, else
 * stdout.
 *
 * --control: the coordinator's side of the conversation is this process's
 * stdin and stdout (an ssh session's), one line each way at a time:
 *
 *   agent -> "hello evbench.agent/1 <version> <pid>"
 *   coord -> "t <T1>"              agent -> "t <T1> <T2> <T3>"   (repeated)
 *   coord -> "go <START> <OFFSET> <UNCERTAINTY>"  (START in the agent's clock)
 *   agent -> "phase warmup"        (connected; it warms up and waits)
 *   coord -> "measure <AT>"        (once every agent is connected; agent's clock)
 *   agent -> "phase measure", "phase drain", then "result <evbench.agent/1 JSON>"
 *   coord -> "stop"                (optional: end the measure phase now)
 *
 * Times are integer CLOCK_REALTIME nanoseconds (T2 when "t" arrived, T3 when
 * the answer left), OFFSET and UNCERTAINTY seconds. When stdin reaches its
 * end (the coordinator or its ssh died) the agent exits at once with status
 * 3: nothing is left running on the host, with or without a terminal.
 *
 * Test mode only: EVBENCH_TEST_CLOCK_SKEW_S=X makes the agent read every
 * CLOCK_REALTIME instant X seconds late or early, as a host whose clock is
 * off by X would; X@I does so only in the agent of share I. No other code
 * reads it.
 */
#ifndef EVBENCH_AGENT_H
#define EVBENCH_AGENT_H

#include <stdbool.h>

#include "agentres.h"
#include "loadgen.h"

/* The agent's command line, as cli_parse_agent() (cli.h) reads it with
 * evbench's one option table. */
struct agent_opts {
	int          index, shares;   /* --share I/N: 0/1 when not given */
	enum ar_role role;            /* --role: load when not given */
	const char  *name;            /* --name; NULL: the host's name */
	double       start;           /* --start-at: CLOCK_REALTIME seconds; 0 = now */
	const char  *out;             /* --out FILE; NULL: stdout */
	bool         control;         /* --control: a coordinator on stdin and stdout */
	struct lg_config whole;       /* the load options: the whole load's, as given */
};

/* The `evbench agent` command: argv[0] is "agent". Returns the exit status
 * (0 ran, 1 could not run or report, 3 the coordinator left); bad input
 * exits 2 with one line, as for every command (cli.h). */
int agent_main(int argc, char **argv);

#endif
