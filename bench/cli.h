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

#include "agents.h"
#include "compare.h"
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
	struct agents_spec *agents;  /* --agents: the load run by agents (agents.h), or NULL */
};

/* Parses argv (evbench's, or `evbench ab`'s with ab) into *o, resolved and
 * checked. --help, --version and --list print and exit 0; bad input exits 2. */
void cli_parse(struct opts *o, int argc, char **argv, bool ab);

/* Bad input that the usage would explain: one line, a pointer to --help,
 * exit 2. */
void cli_die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Bad input whose message says all: one line, exit 2. */
void cli_die_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A failure of the machine, not of the input: one line, exit 1. */
void cli_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
