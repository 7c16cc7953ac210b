/*
 * cli.h - evbench's command line, parsed once into struct opts: every name
 * resolved (a server to its row of the design table, the reference to a
 * server of the sweep), every load made and checked (lg_config_make), so
 * that nothing downstream parses or checks a value again.
 *
 * Conventions: bad input ends the program here, with one line on stderr and
 * exit status 2 (cli_die_usage, cli_die_bad); the rest of evbench uses the
 * same three functions to give up.
 */
#ifndef EVBENCH_CLI_H
#define EVBENCH_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "agent.h"
#include "agents.h"
#include "compare.h"
#include "gate.h"
#include "loadgen.h"
#include "orch.h"

/* The most servers, --conns counts and --server-args words a sweep takes. */
#define CLI_MAX_SERVERS  32
#define CLI_MAX_CONNS    32
#define CLI_MAX_SRV_ARGS 32

struct opts {
	struct orch_server servers[CLI_MAX_SERVERS];
	int    nservers;
	struct lg_config loads[CLI_MAX_CONNS];   /* the load of each --conns count, made and
	                                        checked once (lg_config_make) */
	int    nconns;
	int    repeat;
	const char *out;
	bool   json, quiet, plot;
	int    mech;            /* --mechanism: MECH_OFF, MECH_AUTO (default), MECH_ON */
	double ready_timeout_s; /* --ready-timeout */
	long   server_nofile;   /* --server-nofile: the servers' RLIMIT_NOFILE, 0 = theirs */
	char  *srv_args[CLI_MAX_SRV_ARGS + 1];
	int    nsrv_args;
	struct lg_config load;
	enum cmp_order order;
	uint64_t seed;
	const char *reference;  /* a name in servers[]; NULL in ab mode */
	/* evbench ab */
	bool   ab, rounds_auto;
	const char *baseline, *current;
	double budget_s;
	struct cmp_rule rule;
	char **argv;            /* the command line as run (a lesson's, expanded), for the
	                           results; set by main() */
	struct agents_spec *agents;  /* --agents: the load run by agents (agents.h), or NULL */
};

/* The commands of evbench that take options; `evbench lesson NAME` runs a
 * sweep and takes its options. */
enum cli_cmd { CLI_SWEEP = 1, CLI_AB = 2, CLI_GATE = 4, CLI_AGENT = 8 };

/* One option of evbench: a row of the table (cli.c) that makes the
 * getopt_long() table of each command, its --help lines, and through them the
 * man page. */
struct cli_option {
	const char *name;       /* without dashes: "max-regression" */
	const char *arg;        /* its value in the help ("PCT"), NULL: it takes none */
	unsigned    cmds;       /* the commands that take it: CLI_SWEEP | CLI_AB ... */
	int         id;         /* what the parser switches on (getopt_long's val) */
	const char *help;       /* lines after the first start with '\n'; NULL: refused
	                           with a reason, and not shown */
};
extern const struct cli_option cli_options[];
extern const int cli_noptions;

/* Fills opts[0..cap) with the getopt_long() table of command cmd: its rows of
 * cli_options[], then for the sweep and evbench ab the load options evbench
 * does not set itself, for the agent every load option, then the zero entry.
 * Returns the count, or -1 when cap is too small. */
struct option;
int cli_getopt(struct option *opts, int cap, enum cli_cmd cmd);

/* Parses argv (evbench's, or `evbench ab`'s with ab) into *o, resolved and
 * checked. --help, --version and --list print and exit 0; bad input exits 2. */
void cli_parse(struct opts *o, int argc, char **argv, bool ab);

/* Parses `evbench gate`'s argv (argv[0] is "gate") into *g with the same
 * table and the same checks as evbench ab. --help prints and exits 0; bad
 * input exits 2. */
void cli_parse_gate(struct gate_opts *g, int argc, char **argv);

/* Parses `evbench agent`'s argv (argv[0] is "agent") into *a; the load
 * options are read, not checked (the agent checks its share of them).
 * --help prints and exits 0; bad input exits 2. */
void cli_parse_agent(struct agent_opts *a, int argc, char **argv);

/* Bad input that the usage would explain: one line, a pointer to --help,
 * exit 2. */
void cli_die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Bad input whose message says all: one line, exit 2. */
void cli_die_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A failure of the machine, not of the input: one line, exit 1. */
void cli_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
