/*
 * agents.h - the coordinator: a trial's load run by agents on other hosts,
 * started over OpenSSH, and merged exactly (docs/many-hosts.md).
 *
 *   evbench --agents ssh:HOST,ssh:HOST,... [--ssh-opts "OPTS"] [--agent-bin PATH]
 *           [--max-clock-offset S] [--latency-agent ssh:HOST] [--latency-rate R] ...
 *
 * For each agent the coordinator runs `ssh -T -o BatchMode=yes OPTS HOST
 * 'exec BIN agent --control ...'`: the control channel is that session's
 * stdin and stdout (agent.h), no port is opened and nothing stays installed.
 * It measures each agent's clock against its own by four timestamps over the
 * channel (the exchange with the shortest round trip of AGENTS_CLOCK_ROUNDS
 * gives the offset, half its round trip the uncertainty), refuses an agent
 * whose clock is further off than --max-clock-offset, gives every agent its
 * share of the connections and the rate (ar_share) and one start instant,
 * collects the results and merges them (ar_merge). `local` instead of
 * ssh:HOST runs the agent on this host without ssh, over the same channel
 * (for tests and for a load split into processes); `via:COMMAND` runs it
 * through any command that passes its stdin and stdout on (`via:ip netns
 * exec NS`, `via:kubectl exec -i POD --`).
 *
 * Failure: an agent that cannot start, answers wrongly, exits or hangs
 * before its result, or whose clock is too far off fails the whole load,
 * with every agent's reason and the tail of its stderr; nothing is merged
 * then. Every ssh (or local agent) runs in its own process group with
 * PR_SET_PDEATHSIG, and is killed when the load ends; an agent exits as soon
 * as its stdin ends, which is what it sees when its ssh dies.
 */
#ifndef EVBENCH_AGENTS_H
#define EVBENCH_AGENTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "agentres.h"
#include "loadgen.h"

#define AGENTS_MAX          32
#define AGENTS_CLOCK_ROUNDS 8
#define AGENTS_START_TIMEOUT_S 20.0   /* from ssh's start to the agent's hello */

struct agents_spec {
	int  n;                         /* load agents, then latency agents */
	int  nload;
	struct agents_host {
		bool local;             /* `local` or `via:`: no ssh */
		char via[128];          /* `via:COMMAND`: run the agent through COMMAND (split
		                           on blanks), "" for local and ssh */
		bool latency;           /* the latency agent (--latency-agent) */
		char host[128];         /* ssh's destination */
	} hosts[AGENTS_MAX];
	char   ssh_opts[512];           /* --ssh-opts, split on blanks, before HOST */
	char   agent_bin[PATH_MAX];     /* evbench on the agents' hosts; "" = this one's path */
	double max_offset_s;            /* --max-clock-offset (default 0.1 s) */
	double latency_rate;            /* --latency-rate: the latency agent's requests/s */
	long   latency_conns;           /* its connections (default 4) */
	const char *save_dir;           /* each agent's raw result is written here, may be NULL */
	char   save_prefix[96];         /* as <prefix>-agent<i>.json */
	char   target[LG_ADDR_LEN];     /* --agent-host: the server's address as the agents
	                                   reach it; evbench's servers listen there */
};

/* Adds the agents of a comma-separated list ("ssh:HOST", "via:COMMAND" or
 * "local") to s,
 * as load agents or, with latency, as latency agents. Returns 0, or -1 with
 * the reason. */
int agents_parse(struct agents_spec *s, const char *list, bool latency, char *err, size_t errlen);

/* The names of the coordinator's options on evbench's command line, without
 * dashes, NULL-terminated, and the parser of one of them into *s (allocated
 * on first use, defaults set). Returns 0, or -1 with the reason. */
extern const char *const agents_option_names[];
int agents_option(struct agents_spec **s, const char *name, const char *val, char *err,
		  size_t errlen);

/* Checks the options as a whole once all are read: a load agent is given,
 * and --agent-host when an agent is reached by ssh. Returns 0 or -1. */
int agents_check(const struct agents_spec *s, char *err, size_t errlen);

/* Defaults of everything but the hosts. */
void agents_spec_default(struct agents_spec *s);

/* Per agent, what the coordinator saw: for the report. */
struct agents_outcome {
	int    n;
	struct {
		double offset_s, offset_unc_s;  /* NaN when not measured */
		char   failure[640];            /* "" = merged */
	} a[AGENTS_MAX];
	struct lg_result latency;          /* the latency agents' merged result (empty when
	                                      none); freed with lg_result_free() */
	bool   has_latency;
};

/* Runs the load cfg (made by lg_config_make; its host and port are the
 * server's address as the agents reach it) on the agents of s, and fills
 * *res, as lg_run() would, with the load agents' merged result (wall_s the
 * common window). hooks->on_phase gets MEASURE when every load agent
 * measures and DRAIN when the first stops; hooks->stop ends the measure
 * phase on every agent. Returns 0, or -1 with every failed agent's reason
 * in err (*res is then empty and safe to free). out is filled either way. */
int agents_run(const struct agents_spec *s, const struct lg_config *cfg, struct lg_result *res,
	       struct agents_outcome *out, const struct lg_hooks *hooks, char *err, size_t errlen);

#endif
