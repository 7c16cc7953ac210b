/*
 * cli_int.h - what cli.c (the parsers) and cli_options.c (the option table
 * and what it makes) share; private to them. cli.h is the public manual.
 */
#ifndef EVBENCH_CLI_INT_H
#define EVBENCH_CLI_INT_H

#include "cli.h"

/* evbench ab: rounds when not told, and --rounds auto's budget; --rounds
 * auto's schedule is ab.h's. */
#define AB_ROUNDS      10
#define AB_BUDGET_S    120

/* evbench's own defaults, shorter than loadgen's so that one run of
 * `evbench --server epoll --conns 10000` takes about 10 s. */
#define DEFAULT_DURATION_S 5.0
#define DEFAULT_WARMUP_S   1.0

/* What each option is to the parsers: getopt_long's val for its rows. The
 * load options come after OPT_LOAD (lg_options_getopt). */
enum {
	OPT_HELP = 256, OPT_VERSION, OPT_LIST, OPT_JSON, OPT_QUIET, OPT_PLOT, OPT_SERVER,
	OPT_CONNS, OPT_REPEAT, OPT_ORDER, OPT_SEED, OPT_REFERENCE, OPT_OUT, OPT_SERVER_ARGS,
	OPT_WORK_US, OPT_HOST_PORT, OPT_SERVER_NOFILE, OPT_MECHANISM, OPT_READY_TIMEOUT, OPT_AGENTS,
	OPT_BASELINE, OPT_CURRENT, OPT_ROUNDS, OPT_BUDGET,
	OPT_MAX_REGRESSION, OPT_ALPHA, OPT_METRICS, OPT_MIN_REPEATS, OPT_NORMALIZE_BY,
	OPT_SHARE, OPT_ROLE, OPT_NAME, OPT_START_AT, OPT_CONTROL,
	OPT_LOAD = 512, MAX_OPTS = 96
};

/* evbench --help: every command's options, from cli_options[] and the load
 * generator's table. */
void cli__print_help(void);

/* evbench gate --help. */
void cli__print_gate_help(void);

/* evbench agent --help. */
void cli__print_agent_help(void);

/* getopt_long()'s '?' or ':' for arg (argv[optind - 1]; opt is optopt) as
 * one line on stderr, exit 2. An option of another command says so. */
void cli__option_error(enum cli_cmd cmd, int ch, const char *arg, int opt)
	__attribute__((noreturn));

#endif
