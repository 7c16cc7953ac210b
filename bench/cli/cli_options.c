/*
 * cli_options.c - evbench's options in one table, and what the table makes:
 * each command's getopt_long() table, the option lines of --help (and
 * through them, scripts/mkman.sh, of the man page), and the error that names
 * an option of another command. The parsers are cli.c's.
 */
#include "cli_int.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ab.h"
#include "designs.h"
#include "loadgen.h"

/* A number of the code as text of the help, so the two cannot differ. */
#define STR_(x) #x
#define STR(x)  STR_(x)

/* The commands an option belongs to (cli.h); evbench lesson NAME is a sweep. */
#define SW  CLI_SWEEP
#define AB  CLI_AB
#define GT  CLI_GATE
#define AG  CLI_AGENT

/*
 * evbench's options: the one table that makes getopt_long's for each command
 * (cli_getopt), the option lines of --help and, through --help, of the man
 * page (scripts/mkman.sh). An option two commands take with one meaning is
 * one row; --json means one thing to the sweep and another to the gate, so it
 * is two. A row without help is refused with its own reason (the parsers say
 * why) and not shown. In help, "{reference}" stands for the design table's
 * reference (DS_REFERENCE). The load options are the load generator's own
 * table (lg_options[]), added after these for the sweep and evbench ab.
 */
const struct cli_option cli_options[] = {
	/* the sweep (and evbench lesson NAME) */
	{ "server", "LIST", SW | AB, OPT_SERVER,
	  "comma-separated servers, or all (default {reference}); see --list;\n"
	  "the last item may be your own server (docs/your-server.md):\n"
	  "NAME='CMD ... {port} ...' a command evbench starts and stops,\n"
	  "on a free port put where {port} stands (no shell: name one,\n"
	  "as in sh -c '...', for pipes); NAME=@HOST:PORT [pid=PID] a\n"
	  "server already running (CPU only with a local pid).\n"
	  "--server may be given more than once: each adds servers;\n"
	  "in evbench ab, NAME for two commands (default yours)" },
	{ "ready-timeout", "S", SW | AB, OPT_READY_TIMEOUT,
	  "seconds a server has to get ready (default 10)" },
	{ "conns", "LIST", SW | AB, OPT_CONNS, "comma-separated connection counts (default 100)" },
	{ "repeat", "K", SW, OPT_REPEAT, "run each (server, conns) K times, as K rounds (default 1)" },
	{ "order", "O", SW | AB, OPT_ORDER,
	  "interleaved (default): each round runs every (server, conns)\n"
	  "once in a fresh random order; sequential: repeats back to back" },
	{ "seed", "N", SW | AB, OPT_SEED,
	  "the seed of the interleaved order (default: random, recorded)" },
	{ "reference", "NAME", SW, OPT_REFERENCE,
	  "the server the others are compared with, round by round\n"
	  "(default {reference} when in the sweep, else the first server)" },
	{ "out", "DIR", SW | AB, OPT_OUT, "results directory (default results)" },
	{ "json", NULL, SW, OPT_JSON,
	  "print the runs as a JSON array on stdout (the table goes to stderr);\n"
	  "with --list, the design table (docs/designs.md)" },
	{ "quiet", NULL, SW | AB, OPT_QUIET, "no progress line and no warnings on stderr" },
	{ "plot", NULL, SW | AB, OPT_PLOT,
	  "draw the plots of the run (scripts/plot.py, needs matplotlib)" },
	{ "server-nofile", "N", SW | AB, OPT_SERVER_NOFILE,
	  "lower each server's descriptor limit to N once it is ready\n"
	  "(to watch it run out: evbench lesson emfile)" },
	{ "mechanism", "M", SW | AB, OPT_MECHANISM,
	  "auto (default): count system calls, wake-ups and context\n"
	  "switches per request over the measure phase (perf), for\n"
	  "the event loops; on: system calls by name as well, and\n"
	  "fork and threads too (it costs more; the lessons use it);\n"
	  "off: not at all (docs/results.md, \"Mechanism\")" },
	{ "server-args", "\"ARGS\"", SW | AB, OPT_SERVER_ARGS,
	  "extra arguments for every server, split on spaces" },
	{ "work-us", "N", SW | AB, OPT_WORK_US,
	  "pass --work-us N to every server (busy work per request)" },
	/* the coordinator's (agents.h): agents_option() parses them */
	{ "agents", "LIST", SW, OPT_AGENTS,
	  "run the load on agents: ssh:HOST, via:COMMAND or local,\n"
	  "comma-separated, split evenly, merged exactly (docs/many-hosts.md)" },
	{ "latency-agent", "LIST", SW, OPT_AGENTS,
	  "agents that measure latency apart, an open loop at\n"
	  "--latency-rate R (default 100/s) over 4 connections" },
	{ "latency-rate", "R", SW, OPT_AGENTS, "the latency agents' requests per second" },
	{ "agent-host", "ADDR", SW, OPT_AGENTS,
	  "the servers listen on ADDR and the agents connect there" },
	{ "ssh-opts", "\"OPTS\"", SW, OPT_AGENTS, "ssh options for the agents (-i KEY -p PORT ...)" },
	{ "agent-bin", "PATH", SW, OPT_AGENTS,
	  "evbench on the agents' hosts (default: this one's path)" },
	{ "max-clock-offset", "S", SW, OPT_AGENTS,
	  "refuse an agent whose clock is further off (default 0.1)" },
	{ "list", NULL, SW | AB, OPT_LIST, "the servers, their binaries and whether each is built" },
	{ "version", NULL, SW | AB, OPT_VERSION, "evbench's version" },
	{ "help", NULL, SW | AB | GT | AG, OPT_HELP, "this text" },
	/* evbench sets these itself: refused, with the reason (cli_parse). */
	{ "host", "A", SW | AB, OPT_HOST_PORT, NULL },
	{ "port", "N", SW | AB, OPT_HOST_PORT, NULL },
	/* evbench ab */
	{ "baseline", "DIR|CMD", AB, OPT_BASELINE,
	  "the baseline build (a checkout or an install prefix), or a\n"
	  "command of your own server with {port} (docs/your-server.md)" },
	{ "current", "DIR|CMD", AB, OPT_CURRENT, "the current build, or command (both commands, or neither)" },
	{ "rounds", "K|auto", AB, OPT_ROUNDS,
	  "K rounds (default " STR(AB_ROUNDS) "); auto: add rounds until every\n"
	  "comparison is decided or the budget is spent (judged\n"
	  "after round " STR(AB_MIN_ROUNDS) " and every " STR(AB_LOOK_EVERY) " rounds after, up to "
	  STR(AB_MAX_ROUNDS) ")" },
	{ "budget", "S", AB, OPT_BUDGET,
	  "auto: seconds of rounds at most (default " STR(AB_BUDGET_S) ")" },
	/* evbench ab and evbench gate: one rule (cmp_rule_default), one check each */
	{ "max-regression", "PCT", AB | GT, OPT_MAX_REGRESSION,
	  "smallest change that counts (default 10; for instruction\n"
	  "counts 2)" },
	{ "alpha", "A", AB | GT, OPT_ALPHA, "family-wise false-alarm level, one-sided (default 0.05)" },
	{ "metrics", "LIST", AB | GT, OPT_METRICS,
	  "paired data: cpu, throughput, p99 (default cpu)" },
	{ "json", NULL, AB | GT, OPT_JSON,
	  "the gate's verdicts as JSON on stdout instead of\n"
	  "a Markdown table" },
	/* evbench gate */
	{ "min-repeats", "K", GT, OPT_MIN_REPEATS,
	  "fewer rounds or repeats is insufficient data (default 3)" },
	{ "normalize-by", "SERVER", GT, OPT_NORMALIZE_BY,
	  "BASELINE CURRENT: each server over SERVER in its own run" },
	/* evbench agent (agent.h): one share of a load; the coordinator gives
	 * these to the agents it starts (agents.c) */
	{ "share", "I/N", AG, OPT_SHARE,
	  "run share I of N (from 0) of the whole load (default 0/1)" },
	{ "role", "load|latency", AG, OPT_ROLE,
	  "what the merge makes of the result (default load)" },
	{ "name", "NAME", AG, OPT_NAME, "the agent in the results (default this host's name)" },
	{ "start-at", "T", AG, OPT_START_AT,
	  "start at CLOCK_REALTIME T (seconds); measure from T, the time\n"
	  "to connect and --warmup, so that agents started together\n"
	  "measure together" },
	{ "out", "FILE", AG, OPT_OUT, "write the result to FILE (default stdout)" },
	{ "control", NULL, AG, OPT_CONTROL,
	  "talk to a coordinator on stdin and stdout (docs/many-hosts.md)" },
};
const int cli_noptions = (int)(sizeof cli_options / sizeof *cli_options);

#undef SW
#undef AB
#undef GT
#undef AG

/* The help around the table's lines: the commands' forms, then a section per
 * command (print_help). */
static const char help_synopsis[] =
	"usage: evbench [--server LIST|all] [--conns LIST] [load options] [--repeat K]\n"
	"               [--order interleaved|sequential] [--seed N] [--reference NAME]\n"
	"               [--out DIR] [--json] [--quiet] [--plot] [--server-args \"ARGS\"] [--work-us N]\n"
	"               [--mechanism auto|on|off]\n"
	"       evbench ab --baseline DIR|CMD --current DIR|CMD [--server LIST|NAME] [--conns LIST]\n"
	"               [--rounds K|auto] [--budget S] [--max-regression PCT] [--alpha A]\n"
	"               [--metrics LIST] [load options] [--out DIR] [--seed N]\n"
	"       evbench gate BASELINE CURRENT [--max-regression PCT] [--alpha A]\n"
	"               [--min-repeats K] [--normalize-by SERVER] [--json]\n"
	"       evbench gate DIR [--max-regression PCT] [--alpha A] [--metrics LIST] [--json]\n"
	"       evbench lesson NAME [options] | evbench lesson --list\n"
	"       evbench report DIR\n"
	"       evbench agent --port P [--share I/N] [options]; evbench merge [--json] PATH...\n"
	"       evbench --list [--json] | --help | --version\n"
	"\n"
	"Runs each ROT13 server at each connection count, prints one table row per\n"
	"(server, conns) and writes results/<run-id>/ (JSON per run, summary.csv, .hgrm).\n"
	"evbench report DIR writes DIR/report.html: one self-contained page of a run.\n"
	"\n";

static const char help_load[] =
	"\n"
	"Load options (the same as loadgen's; --host and --port are evbench's to choose):\n";

static const char help_ab[] =
	"\n"
	"evbench ab runs the servers of two builds (DIR/bin/rot13-*, a checkout or an\n"
	"install prefix) in interleaved rounds under this evbench's load generator and\n"
	"gates the current build against the baseline round by round (docs/gate.md).\n";

static const char help_ab_tail[] =
	"  exit status: 0 pass, 1 regression, 2 bad input or a comparison without data,\n"
	"  3 undecided; results, gate.md and github-*-is-better.json in the results directory\n";

static const char help_gate_args[] =
	"  BASELINE CURRENT       two result sets measured apart (--repeat K each), or two\n"
	"                         instruction-count files: Welch's t-test, Holm-corrected\n"
	"  DIR                    a directory evbench ab wrote: paired, round by round\n";

static const char help_exit[] =
	"\n"
	"Exit status: 0 all runs done; 1 a run failed (recorded in its JSON) or results could\n"
	"not be written; 2 bad command line; 128+N interrupted by signal N.\n";

static const char help_agent[] =
	"usage: evbench agent --port P [--host H] [load options] [--share I/N]\n"
	"                     [--role load|latency] [--name NAME] [--start-at T]\n"
	"                     [--out FILE] [--control]\n"
	"Runs share I of N of the load against H:P and writes its mergeable result\n"
	"(evbench.agent/1) to FILE or stdout; `evbench merge` merges them.\n\n";

static const char help_gate_exit[] =
	"exit status: 0 no regression, 1 regression, 2 usage or input error,\n"
	"             3 (paired) a comparison still undecided\n";

/* The load options evbench sets itself: --conns is a list here, and the
 * address and port are those of the server it starts. */
static const char *const load_options_skipped[] = { "host", "port", "conns", NULL };

/* A row's help, continuation lines under the first line's text, with
 * "{reference}" as the design table's reference. */
static void put_help(FILE *f, const struct cli_option *r)
{
	static const char ref[] = "{reference}";

	for (const char *h = r->help; *h; h++)
		if (!strncmp(h, ref, sizeof ref - 1)) {
			fputs(evb_design_reference()->name, f);
			h += sizeof ref - 2;
		} else if (*h == '\n') {
			fprintf(f, "\n%25s", "");
		} else {
			fputc(*h, f);
		}
}

/* "--name ARG", as help shows an option. */
static const char *head(char *buf, size_t cap, const struct cli_option *r)
{
	snprintf(buf, cap, "--%s%s%s", r->name, r->arg ? " " : "", r->arg ? r->arg : "");
	return buf;
}

/* The lines of the options of cmd that no command in before took: one
 * each, "  --name ARG   help" (scripts/mkman.sh reads this shape). */
static void print_options(FILE *f, unsigned cmd, unsigned before)
{
	for (int i = 0; i < cli_noptions; i++) {
		const struct cli_option *r = &cli_options[i];
		char h[64];

		if (!(r->cmds & cmd) || (r->cmds & before) || !r->help)
			continue;
		fprintf(f, "  %-21s  ", head(h, sizeof h, r));
		put_help(f, r);
		fputc('\n', f);
	}
}

/* Whether a row of command cmd is called name. */
static bool cmd_has(unsigned cmd, const char *name)
{
	for (int i = 0; i < cli_noptions; i++)
		if ((cli_options[i].cmds & cmd) && !strcmp(cli_options[i].name, name))
			return true;
	return false;
}

/* The usage, section by section: the sweep's options and the load
 * generator's (but for those evbench sets itself, and with evbench's
 * defaults for the phases), then what evbench ab, evbench gate and evbench
 * agent add and which options they share, all from cli_options[]. */
void cli__print_help(void)
{
	struct lg_config defaults;
	const char *sep = "";

	lg_config_default(&defaults);
	defaults.duration_s = DEFAULT_DURATION_S;
	defaults.warmup_s = DEFAULT_WARMUP_S;
	fputs(help_synopsis, stdout);
	print_options(stdout, CLI_SWEEP, 0);
	fputs(help_load, stdout);
	lg_options_help(stdout, &defaults, load_options_skipped);

	fputs(help_ab, stdout);
	printf("It takes the options above and the load options but");
	for (int i = 0; i < cli_noptions; i++)
		if ((cli_options[i].cmds & CLI_SWEEP) && cli_options[i].help &&
		    !cmd_has(CLI_AB, cli_options[i].name)) {
			printf("%s --%s", sep, cli_options[i].name);
			sep = ",";
		}
	printf(", and:\n");
	print_options(stdout, CLI_AB, CLI_SWEEP);
	fputs(help_ab_tail, stdout);

	printf("\nevbench gate judges results already measured (docs/gate.md; evbench gate --help):\n");
	fputs(help_gate_args, stdout);
	print_options(stdout, CLI_GATE, CLI_SWEEP | CLI_AB);
	/* The options the gate shares with evbench ab, one line. */
	sep = "  ";
	for (int i = 0; i < cli_noptions; i++) {
		const struct cli_option *r = &cli_options[i];
		char h[64];

		if ((r->cmds & CLI_GATE) && (r->cmds & CLI_AB) && !(r->cmds & CLI_SWEEP) && r->help) {
			printf("%s%s", sep, head(h, sizeof h, r));
			sep = ", ";
		}
	}
	printf("   as for evbench ab\n");

	printf("\nevbench agent runs one share of a load, for --agents or on its own, and takes\n"
	       "the load options and --host and --port (docs/many-hosts.md; evbench agent --help):\n");
	print_options(stdout, CLI_AGENT, CLI_SWEEP | CLI_AB | CLI_GATE);
	fputs(help_exit, stdout);
}

/* `evbench gate --help`: the gate's forms and every option it takes. */
void cli__print_gate_help(void)
{
	printf("usage: evbench gate BASELINE CURRENT [options]\n"
	       "       evbench gate DIR [options]\n");
	fputs(help_gate_args, stdout);
	print_options(stdout, CLI_GATE, 0);
	fputs(help_gate_exit, stdout);
}

/* `evbench agent --help`: its form, its options, and the load options,
 * which here are the whole load's. */
void cli__print_agent_help(void)
{
	fputs(help_agent, stdout);
	print_options(stdout, CLI_AGENT, 0);
	printf("\nload options (the whole load's; the share is taken here):\n%s",
	       lg_options_usage);
}

int cli_getopt(struct option *opts, int cap, enum cli_cmd cmd)
{
	int n = 0;

	for (int i = 0; i < cli_noptions; i++) {
		const struct cli_option *r = &cli_options[i];

		if (!(r->cmds & cmd))
			continue;
		if (n + 1 >= cap)
			return -1;
		opts[n++] = (struct option){ r->name, r->arg ? required_argument : no_argument,
					     NULL, r->id };
	}
	if (cmd == CLI_GATE) {
		opts[n] = (struct option){ 0 };
		return n;
	}
	/* An agent is told where the server is: it takes every load option. */
	return lg_options_getopt(opts, n, cap, OPT_LOAD,
				 cmd == CLI_AGENT ? NULL : load_options_skipped);
}

/* getopt_long()'s '?' or ':' for arg as one line, exit 2. An option of
 * another command says so, instead of "unknown option". */
void cli__option_error(enum cli_cmd cmd, int ch, const char *arg, int opt)
{
	static const char *const cmd_name[] = {
		[CLI_SWEEP] = "the sweep", [CLI_AB] = "evbench ab", [CLI_GATE] = "evbench gate",
		[CLI_AGENT] = "evbench agent",
	};
	char err[512];
	size_t len = strcspn(arg, "=");

	if (ch == '?' && !opt && !strncmp(arg, "--", 2))
		for (int i = 0; i < cli_noptions; i++) {
			const char *name = cli_options[i].name;

			if (strlen(name) == len - 2 && !strncmp(name, arg + 2, len - 2) &&
			    !cmd_has(cmd, name))
				cli_die_usage("--%s is not an option of %s", name, cmd_name[cmd]);
		}
	lg_getopt_error(err, sizeof err, ch, arg, opt);
	cli_die_usage("%s", err);
}

