/*
 * cli.c - evbench's command line: its usage, its own options and those of
 * `evbench ab` beside the load generator's, the design table as --list shows
 * it, and the options resolved once (servers to their rows, --conns to made
 * loads). See cli.h.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ab.h"
#include "designs.h"
#include "gate.h"
#include "json.h"
#include "report.h"
#include "schema.h"

/* evbench ab: rounds when not told; --rounds auto's schedule is ab.h's. */
#define AB_ROUNDS      10
#define AB_BUDGET_S    120.0

/* evbench's own defaults, shorter than loadgen's so that one run of
 * `evbench --server epoll --conns 10000` takes about 10 s. */
#define DEFAULT_DURATION_S 5.0
#define DEFAULT_WARMUP_S   1.0

static const char usage_text[] =
	"usage: evbench [--server LIST|all] [--conns LIST] [load options] [--repeat K]\n"
	"               [--order interleaved|sequential] [--seed N] [--reference NAME]\n"
	"               [--out DIR] [--json] [--quiet] [--plot] [--server-args \"ARGS\"] [--work-us N]\n"
	"               [--mechanism auto|on|off]\n"
	"       evbench ab --baseline DIR --current DIR [--server LIST] [--conns LIST]\n"
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
	"\n"
	"  --server LIST          comma-separated servers, or all (default %1$s); see --list\n"
	"  --conns LIST           comma-separated connection counts (default 100)\n"
	"  --repeat K             run each (server, conns) K times, as K rounds (default 1)\n"
	"  --order O              interleaved (default): each round runs every (server, conns)\n"
	"                         once in a fresh random order; sequential: repeats back to back\n"
	"  --seed N               the seed of the interleaved order (default: random, recorded)\n"
	"  --reference NAME       the server the others are compared with, round by round\n"
	"                         (default %1$s when in the sweep, else the first server)\n"
	"  --out DIR              results directory (default results)\n"
	"  --json                 print the runs as a JSON array on stdout (the table goes to stderr);\n"
	"                         with --list, the design table (docs/designs.md)\n"
	"  --quiet                no progress line and no warnings on stderr\n"
	"  --plot                 draw the plots of the run (scripts/plot.py, needs matplotlib)\n"
	"  --server-nofile N      lower each server's descriptor limit to N once it is ready\n"
	"                         (to watch it run out: evbench lesson emfile)\n"
	"  --mechanism M          auto (default): count system calls, wake-ups and context\n"
	"                         switches per request over the measure phase (perf), for\n"
	"                         the event loops; on: system calls by name as well, and\n"
	"                         fork and threads too (it costs more; the lessons use it);\n"
"                         off: not at all (docs/results.md, \"Mechanism\")\n"
	"  --server-args \"ARGS\"   extra arguments for every server, split on spaces\n"
	"  --work-us N            pass --work-us N to every server (busy work per request)\n"
	"  --agents LIST          run the load on agents: ssh:HOST, via:COMMAND or local,\n"
	"                         comma-separated, split evenly, merged exactly (docs/many-hosts.md)\n"
	"  --latency-agent LIST   agents that measure latency apart, an open loop at\n"
	"                         --latency-rate R (default 100/s) over 4 connections\n"
	"  --agent-host ADDR      the servers listen on ADDR and the agents connect there\n"
	"  --ssh-opts \"OPTS\"     ssh options for the agents (-i KEY -p PORT ...)\n"
	"  --agent-bin PATH       evbench on the agents' hosts (default: this one's path)\n"
	"  --max-clock-offset S   refuse an agent whose clock is further off (default 0.1)\n"
	"\n"
	"Load options (the same as loadgen's; --host and --port are evbench's to choose):\n";

static const char usage_tail[] =
	"\n"
	"evbench ab runs the servers of two builds (DIR/bin/rot13-*, a checkout or an\n"
	"install prefix) in interleaved rounds under this evbench's load generator and\n"
	"gates the current build against the baseline round by round (docs/gate.md):\n"
	"  --baseline DIR, --current DIR   the two builds\n"
	"  --rounds K|auto        K rounds (default 10); auto: add rounds until every\n"
	"                         comparison is decided or the budget is spent (judged\n"
	"                         after rounds 5, 10, ..., %d)\n"
	"  --budget S             auto: seconds of rounds at most (default 120)\n"
	"  --max-regression PCT   smallest change that counts (default 10)\n"
	"  --alpha A              family-wise false-alarm level (default 0.05)\n"
	"  --metrics LIST         cpu, throughput, p99 (default cpu)\n"
	"  exit status: 0 pass, 1 regression, 2 bad input or a comparison without data,\n"
	"  3 undecided; results, gate.md and github-*-is-better.json in the results directory\n"
	"\n"
	"evbench gate judges results already measured (docs/gate.md; evbench gate --help):\n"
	"  DIR                    a directory evbench ab wrote: paired, round by round\n"
	"  BASELINE CURRENT       two result sets measured apart (--repeat K each), or two\n"
	"                         instruction-count files: Welch's t-test, Holm-corrected\n"
	"  --max-regression PCT, --alpha A, --metrics LIST   as for evbench ab\n"
	"  --min-repeats K        fewer rounds or repeats is insufficient data (default 3)\n"
	"  --normalize-by SERVER  BASELINE CURRENT: each server over SERVER in its own run\n"
	"  --json                 the verdicts as JSON instead of a Markdown table\n"
	"\n"
	"Exit status: 0 all runs done; 1 a run failed (recorded in its JSON) or results could\n"
	"not be written; 2 bad command line; 128+N interrupted by signal N.\n";

/* ---- dying and warning ------------------------------------------------------------ */

/* Every way evbench gives up: one line on stderr, then the exit status. */
static void vdie(int status, const char *tail, const char *fmt, va_list ap)
	__attribute__((noreturn));
static void vdie(int status, const char *tail, const char *fmt, va_list ap)
{
	fputs("evbench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(tail, stderr);
	exit(status);
}

/* Bad input that the usage would explain: exit 2, pointing at --help. */
void cli_die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(2, " (evbench --help)\n", fmt, ap);
}

/* Bad input whose message says all: no pointer to --help. */
void cli_die_bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(2, "\n", fmt, ap);
}

/* A failure of the machine, not of the input: exit 1. */
void cli_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(1, "\n", fmt, ap);
}

/* ---- options ------------------------------------------------------------------------ */


/* A server by name; NAME@LABEL is NAME's binary entered once more under
 * another name, so that an A/A comparison can run one binary against
 * itself (docs/results.md, "Comparisons"). */
static void add_server(struct opts *o, const char *name, bool from_all)
{
	struct orch_server s;
	const char *at = strchr(name, '@');
	char base[sizeof s.name];

	if (at && (at == name || !at[1] || strlen(name) >= sizeof s.name ||
		   strspn(at + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		   strlen(at + 1)))
		cli_die_bad("--server: '%s': a label after '@' is letters, digits, '_' or '-', "
			"and the whole name under %zu characters", name, sizeof s.name);
	snprintf(base, sizeof base, "%.*s", at ? (int)(at - name) : (int)strlen(name), name);
	if (orch_resolve(base, &s) < 0)
		cli_die_bad("unknown server '%s' (evbench --list shows them)", base);
	if (at) {
		size_t blen = strlen(s.name);

		if (blen + strlen(at) >= sizeof s.name)
			cli_die_bad("--server: '%s': name too long", name);
		memcpy(s.name + blen, at, strlen(at) + 1);
	}
	for (int i = 0; i < o->nservers; i++)
		if (strcmp(o->servers[i].name, s.name) == 0)
			return;
	if (!s.built) {
		if (!from_all) {
			fprintf(stderr, "evbench: %s is not built (run make)\n", s.path);
			exit(2);
		}
		fprintf(stderr, "evbench: warning: skipping %s: %s is not built\n", s.name, s.path);
		return;
	}
	if (o->nservers == CLI_MAX_SERVERS)
		cli_die_usage("--server: more than %d servers", CLI_MAX_SERVERS);
	o->servers[o->nservers++] = s;
}

/* Copies the comma-separated list of option opt into buf, or dies with one
 * line when it is too long or has an empty item; what names the items. */
static void copy_list(char *buf, size_t cap, const char *opt, const char *list, const char *what)
{
	if (strlen(list) >= cap)
		cli_die_usage("%s: list too long", opt);
	if (!list[0] || list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,"))
		cli_die_usage("%s: expected a comma-separated list of %s, got '%s'", opt, what, list);
	strcpy(buf, list);
}

static void parse_servers(struct opts *o, const char *list)
{
	char buf[512], *save = NULL, *tok;

	copy_list(buf, sizeof buf, "--server", list, "servers");
	o->nservers = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "all") == 0)
			for (int i = 0; i < evb_ndesigns; i++) {
				if (evb_designs[i].props & DS_ALL)
					add_server(o, evb_designs[i].name, true);
			}
		else
			add_server(o, tok, false);
	}
	if (o->nservers == 0)
		cli_die_usage("--server %s: none of these servers is built (run make)", list);
}

/* The loads of the sweep, one per count of the --conns list, each the load
 * options with its count, made and checked once by the load generator
 * (lg_config_make), so that a bad combination fails before any server
 * starts. Called once every load option is parsed. */
static void make_loads(struct opts *o, const char *list)
{
	char buf[512], *save = NULL, *tok, err[512];

	copy_list(buf, sizeof buf, "--conns", list, "integers >= 1");
	o->nconns = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct lg_config c = o->load;

		if (o->nconns == CLI_MAX_CONNS)
			cli_die_usage("--conns: more than %d counts", CLI_MAX_CONNS);
		/* The load generator's own parser, so that the limits are its. The
		 * server's port is known once it is up (trial_run sets it): 1 stands
		 * for it here. */
		if (lg_parse_option(&c, "conns", tok, err, sizeof err) < 0 ||
		    (c.port = 1, lg_config_make(&c, &o->loads[o->nconns], err, sizeof err) < 0)) {
			fprintf(stderr, "evbench: %s\n", err);
			exit(2);
		}
		o->nconns++;
	}
}

static long parse_long(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		cli_die_usage("%s: expected an integer %ld..%ld, got '%s'", opt, lo, hi, s);
	return v;
}

static void add_srv_arg(struct opts *o, const char *a)
{
	if (o->nsrv_args == CLI_MAX_SRV_ARGS)
		cli_die_usage("--server-args: more than %d arguments", CLI_MAX_SRV_ARGS);
	o->srv_args[o->nsrv_args++] = strdup(a);
	o->srv_args[o->nsrv_args] = NULL;
}

/* The load options evbench sets itself: --conns is a list here, and the
 * address and port are those of the server it starts. */
static const char *const load_options_skipped[] = { "host", "port", "conns", NULL };

/* The usage, with the load generator's options but for those evbench sets
 * itself, and with evbench's own defaults for the phases. */
static void print_help(void)
{
	struct lg_config defaults;

	lg_config_default(&defaults);
	defaults.duration_s = DEFAULT_DURATION_S;
	defaults.warmup_s = DEFAULT_WARMUP_S;
	/* The default server and reference are the design table's (DS_REFERENCE). */
	printf(usage_text, evb_design_reference()->name);
	lg_options_help(stdout, &defaults, load_options_skipped);
	printf(usage_tail, AB_MAX_ROUNDS);
}

/* The design table (designs.h) with where each binary is: a table, or with
 * --json the object docs/designs.md describes. */
static void list_servers(bool json)
{
	static const struct { unsigned prop; const char *name; } props[] = {
		{ DS_FD_SETSIZE, "fd_setsize_bound" },
		{ DS_PROC_CONN, "process_per_connection" },
		{ DS_THREAD_CONN, "thread_per_connection" },
		{ DS_MULTICORE, "multicore" },
	};
	struct json_writer w;
	const char *sep = "";

	if (json) {
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_kv_string(&w, "schema", EVB_SCHEMA_DESIGNS);
		json_key(&w, "designs");
		json_begin_array(&w);
	} else {
		printf("%-14s %-10s %s\n", "server", "built", "binary");
	}
	for (int i = 0; i < evb_ndesigns; i++) {
		const struct evb_design *d = &evb_designs[i];
		struct orch_server s;

		orch_resolve(d->name, &s);
		if (!json) {
			printf("%-14s %-10s %s%s%s\n", d->name, s.built ? "yes" : "no", s.path,
			       d->backend ? " --backend " : "", d->backend ? d->backend : "");
			if (d->alias)
				printf("%-14s %-10s %s  (= %s)\n", d->alias, s.built ? "yes" : "no",
				       s.path, d->name);
			continue;
		}
		json_begin_object(&w);
		json_kv_string(&w, "name", d->name);
		json_kv_string(&w, "design", d->binary);
		json_kv_string(&w, "backend", d->backend);
		json_key(&w, "aliases");
		json_begin_array(&w);
		if (d->alias)
			json_string(&w, d->alias);
		json_end_array(&w);
		json_kv_bool(&w, "in_all", d->props & DS_ALL);
		json_key(&w, "properties");
		json_begin_array(&w);
		for (size_t k = 0; k < sizeof props / sizeof *props; k++)
			if (d->props & props[k].prop)
				json_string(&w, props[k].name);
		json_end_array(&w);
		json_kv_string(&w, "color", d->color);
		json_kv_string(&w, "binary", s.path);
		json_kv_bool(&w, "built", s.built);
		json_end_object(&w);
	}
	if (json) {
		json_end_array(&w);
		json_end_object(&w);
		if (json_finish(&w) < 0)
			cli_die("stdout: %s", strerror(errno));
		return;
	}
	printf("all = ");
	for (int i = 0; i < evb_ndesigns; i++)
		if (evb_designs[i].props & DS_ALL) {
			printf("%s%s", sep, evb_designs[i].name);
			sep = ", ";
		}
	printf("\n");
}

/* evbench ab: every server of the list twice, as NAME@baseline and
 * NAME@current, each the binary of its own build (DIR/bin/rot13-<design>). */
static void ab_servers(struct opts *o, const char *list)
{
	char buf[512], *save = NULL, *tok;

	if (strlen(list) >= sizeof buf || !list[0] || list[0] == ',' ||
	    list[strlen(list) - 1] == ',' || strstr(list, ",,"))
		cli_die_usage("--server: expected a comma-separated list of servers, got '%s'", list);
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool all = !strcmp(tok, "all");

		for (int a = 0; all ? a < evb_ndesigns : a < 1; a++) {
			const char *name = all ? evb_designs[a].name : tok;
			const char *side[2] = { "baseline", "current" };
			const char *dir[2] = { o->baseline, o->current };
			struct orch_server s, two[2];
			bool missing = false, dup = false;

			if (all && !(evb_designs[a].props & DS_ALL))
				continue;
			if (strchr(name, '@') || orch_resolve(name, &s) < 0)
				cli_die_bad("unknown server '%s' (evbench --list shows them)", name);
			for (int i = 0; i < o->nservers; i++)
				dup |= !strncmp(o->servers[i].name, s.name, strlen(s.name)) &&
				       o->servers[i].name[strlen(s.name)] == '@';
			if (dup)
				continue;
			for (int k = 0; k < 2; k++) {
				const char *bin = strrchr(s.path, '/') ? strrchr(s.path, '/') + 1 : s.path;

				two[k] = s;
				snprintf(two[k].name, sizeof two[k].name, "%s@%s", s.name, side[k]);
				if (snprintf(two[k].path, sizeof two[k].path, "%s/bin/%s", dir[k], bin) >=
				    (int)sizeof two[k].path)
					cli_die_bad("ab: --%s: path too long", side[k]);
				two[k].built = access(two[k].path, X_OK) == 0;
				if (!two[k].built && !all)
					cli_die_bad("ab: %s: no executable %s (build that tree with make first)",
						side[k], two[k].path);
				missing |= !two[k].built;
			}
			if (missing) {
				fprintf(stderr, "evbench: warning: skipping %s: not built in both builds\n",
					s.name);
				continue;
			}
			if (o->nservers + 2 > CLI_MAX_SERVERS)
				cli_die_usage("--server: more than %d servers", CLI_MAX_SERVERS / 2);
			o->servers[o->nservers++] = two[0];
			o->servers[o->nservers++] = two[1];
		}
	}
	if (o->nservers == 0)
		cli_die_usage("--server %s: none of these servers is built in both builds", list);
}

/* The reference of the comparisons: the named server, which must be in the
 * sweep; by default the design table's reference (DS_REFERENCE) when it
 * is, else the first server. */
static void pick_reference(struct opts *o, const char *name)
{
	struct orch_server s;

	o->reference = o->servers[0].name;
	for (int i = 0; !name && i < o->nservers; i++)
		if ((o->servers[i].d->props & DS_REFERENCE) &&
		    !strcmp(o->servers[i].name, o->servers[i].d->name))   /* not NAME@LABEL */
			o->reference = o->servers[i].name;
	if (!name)
		return;
	if (orch_resolve(name, &s) < 0)
		cli_die_bad("--reference: unknown server '%s' (evbench --list shows them)", name);
	for (int i = 0; i < o->nservers; i++)
		if (!strcmp(o->servers[i].name, s.name)) {
			o->reference = o->servers[i].name;
			return;
		}
	cli_die_bad("--reference %s: not among the servers of this sweep (--server)", name);
}

/* A percentage as --max-regression takes it: "10" or "10%". */
static double parse_pct(const char *opt, const char *val)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(val, &end);
	if (*end == '%')
		end++;
	if (errno || end == val || *end || !(v >= 0) || v > 1000)
		cli_die_usage("%s: expected a percentage from 0 to 1000, got '%s'", opt, val);
	return v / 100;
}

/* The options of `evbench ab` alone; false for any other name. */
static bool ab_option(struct opts *o, const char *name, const char *val)
{
	char *end;

	if (!strcmp(name, "baseline"))
		o->baseline = val;
	else if (!strcmp(name, "current"))
		o->current = val;
	else if (!strcmp(name, "rounds")) {
		o->rounds_auto = !strcmp(val, "auto");
		o->repeat = o->rounds_auto ? AB_MAX_ROUNDS :
			(int)parse_long("--rounds", val, 3, AB_MAX_ROUNDS * 20);
	} else if (!strcmp(name, "budget")) {
		errno = 0;
		o->budget_s = strtod(val, &end);
		if (errno || end == val || *end || !(o->budget_s > 0) || o->budget_s > 86400)
			cli_die_usage("--budget: expected seconds, more than 0, got '%s'", val);
	} else if (!strcmp(name, "max-regression"))
		o->rule.max_regression = parse_pct("--max-regression", val);
	else if (!strcmp(name, "alpha")) {
		errno = 0;
		o->rule.alpha = strtod(val, &end);
		if (errno || end == val || *end || !(o->rule.alpha > 0) || !(o->rule.alpha < 0.5))
			cli_die_usage("--alpha: expected a level between 0 and 0.5, got '%s'", val);
	} else if (!strcmp(name, "metrics")) {
		if (gate_parse_metrics(val, o->rule.gated) < 0)
			cli_die_usage("--metrics: expected a comma-separated list of cpu, throughput and "
				  "p99, got '%s'", val);
	} else
		return false;
	return true;
}

enum {
	OPT_HELP = 256, OPT_VERSION, OPT_LIST, OPT_JSON, OPT_QUIET, OPT_PLOT, OPT_SERVER,
	OPT_CONNS, OPT_REPEAT, OPT_ORDER, OPT_SEED, OPT_REFERENCE, OPT_OUT, OPT_SERVER_ARGS,
	OPT_WORK_US, OPT_HOST_PORT, OPT_AB, OPT_SERVER_NOFILE, OPT_MECHANISM,
	OPT_AGENTS,
	OPT_LOAD = 512, MAX_OPTS = 80
};

/* evbench's own options, those of `evbench ab` (OPT_AB, refused otherwise);
 * lg_options_getopt() adds the load options after them. */
static const struct option own_options[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "plot", no_argument, NULL, OPT_PLOT },
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "conns", required_argument, NULL, OPT_CONNS },
	{ "repeat", required_argument, NULL, OPT_REPEAT },
	{ "order", required_argument, NULL, OPT_ORDER },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "reference", required_argument, NULL, OPT_REFERENCE },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "server-args", required_argument, NULL, OPT_SERVER_ARGS },
	{ "work-us", required_argument, NULL, OPT_WORK_US },
	{ "host", required_argument, NULL, OPT_HOST_PORT },
	{ "port", required_argument, NULL, OPT_HOST_PORT },
	{ "baseline", required_argument, NULL, OPT_AB },
	{ "current", required_argument, NULL, OPT_AB },
	{ "rounds", required_argument, NULL, OPT_AB },
	{ "budget", required_argument, NULL, OPT_AB },
	{ "max-regression", required_argument, NULL, OPT_AB },
	{ "alpha", required_argument, NULL, OPT_AB },
	{ "metrics", required_argument, NULL, OPT_AB },
	{ "server-nofile", required_argument, NULL, OPT_SERVER_NOFILE },
	{ "mechanism", required_argument, NULL, OPT_MECHANISM },
	/* The coordinator's (agents.h): agents_option() parses them. */
	{ "agents", required_argument, NULL, OPT_AGENTS },
	{ "latency-agent", required_argument, NULL, OPT_AGENTS },
	{ "ssh-opts", required_argument, NULL, OPT_AGENTS },
	{ "agent-bin", required_argument, NULL, OPT_AGENTS },
	{ "agent-host", required_argument, NULL, OPT_AGENTS },
	{ "max-clock-offset", required_argument, NULL, OPT_AGENTS },
	{ "latency-rate", required_argument, NULL, OPT_AGENTS },
};

/* The options' values before the command line: evbench's defaults, and the
 * load generator's but for the phases, which are evbench's. */
static void default_opts(struct opts *o, bool ab)
{
	memset(o, 0, sizeof *o);
	o->mech = MECH_AUTO;
	o->ab = ab;
	o->repeat = ab ? AB_ROUNDS : 1;
	o->budget_s = AB_BUDGET_S;
	o->rule = (struct cmp_rule){ .max_regression = 0.10, .clear = CMP_CLEAR, .alpha = 0.05,
				     .looks = 1, .min_rounds = 3 };
	gate_parse_metrics(NULL, o->rule.gated);
	o->out = "results";
	lg_config_default(&o->load);
	o->load.duration_s = DEFAULT_DURATION_S;
	o->load.warmup_s = DEFAULT_WARMUP_S;
}

/* --mechanism auto|on|off. */
static int parse_mechanism(const char *val)
{
	if (!strcmp(val, "on"))
		return MECH_ON;
	if (!strcmp(val, "off"))
		return MECH_OFF;
	if (!strcmp(val, "auto"))
		return MECH_AUTO;
	cli_die_usage("--mechanism: expected auto, on or off, got '%s'", val);
}

/* --order interleaved|sequential. */
static enum cmp_order parse_order(const char *val)
{
	if (!strcmp(val, "interleaved"))
		return CMP_INTERLEAVED;
	if (!strcmp(val, "sequential"))
		return CMP_SEQUENTIAL;
	cli_die_usage("--order: expected interleaved or sequential, got '%s'", val);
}

/* --seed N. */
static uint64_t parse_seed(const char *val)
{
	char *end;
	uint64_t seed;

	errno = 0;
	seed = strtoull(val, &end, 10);
	if (errno || end == val || *end || val[0] == '-')
		cli_die_usage("--seed: expected an integer 0..%llu, got '%s'",
			  (unsigned long long)UINT64_MAX, val);
	return seed;
}

/* What the options name, resolved once all are read: the servers (each
 * twice in ab mode) and the reference, the seed, the loads. */
static void resolve_opts(struct opts *o, const char *servers, const char *conns,
			 const char *reference, bool seeded)
{
	if (o->ab) {
		if (!o->baseline || !o->current)
			cli_die_usage("ab: needs --baseline DIR and --current DIR");
		ab_servers(o, servers);
		if (o->rounds_auto)
			o->rule.looks = ab_looks();
		if (o->rounds_auto && o->order == CMP_SEQUENTIAL)
			cli_die_usage("ab: --rounds auto needs the interleaved order (a sequential sweep "
				  "completes no round before its end)");
	} else {
		parse_servers(o, servers);
		pick_reference(o, reference);
	}
	if (!seeded && getrandom(&o->seed, sizeof o->seed, 0) != sizeof o->seed)
		o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	make_loads(o, conns);
}

void cli_parse(struct opts *o, int argc, char **argv, bool ab)
{
	const char *servers = evb_design_reference()->name, *conns = "100", *reference = NULL;
	bool seeded = false, list = false;
	int servers_given = 0, conns_given = 0;
	char err[512];
	struct option opts[MAX_OPTS];
	int nown = (int)(sizeof own_options / sizeof *own_options), ch, idx = 0;

	default_opts(o, ab);
	memcpy(opts, own_options, sizeof own_options);
	opterr = 0;
	lg_options_getopt(opts, nown, MAX_OPTS, OPT_LOAD, load_options_skipped);
	while ((ch = getopt_long(argc, argv, "+:", opts, &idx)) != -1) {
		const char *val = optarg;

		if (ch == OPT_AB && !ab)
			cli_die_usage("unknown option '--%s'", opts[idx].name);
		if (ab && (ch == OPT_REPEAT || ch == OPT_REFERENCE))
			cli_die_usage("--%s: evbench ab pairs each server with its baseline; use --rounds",
				  opts[idx].name);
		switch (ch) {
		case OPT_HELP:
			print_help();
			exit(0);
		case OPT_VERSION:
			printf("evbench %s\n", EVBENCH_VERSION);
			exit(0);
		case OPT_LIST:
			list = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_PLOT:
			o->plot = true;
			break;
		case OPT_AB:
			ab_option(o, opts[idx].name, val);
			break;
		case OPT_SERVER:
			/* A second --server or --conns would silently replace the
			 * first: a list says what was meant. */
			if (servers_given++)
				cli_die_usage("--server given twice: give one comma-separated list");
			servers = val;
			break;
		case OPT_CONNS:
			if (conns_given++)
				cli_die_usage("--conns given twice: give one comma-separated list");
			conns = val;
			break;
		case OPT_SERVER_NOFILE:
			o->server_nofile = parse_long("--server-nofile", val, 16, 1L << 20);
			break;
		case OPT_MECHANISM:
			o->mech = parse_mechanism(val);
			break;
		case OPT_AGENTS:
			if (agents_option(&o->agents, opts[idx].name, val, err, sizeof err) < 0)
				cli_die_usage("%s", err);
			break;
		case OPT_REPEAT:
			o->repeat = (int)parse_long("--repeat", val, 1, 1000);
			break;
		case OPT_ORDER:
			o->order = parse_order(val);
			break;
		case OPT_SEED:
			o->seed = parse_seed(val);
			seeded = true;
			break;
		case OPT_REFERENCE:
			reference = val;
			break;
		case OPT_OUT:
			if (!val[0])
				cli_die_usage("--out: expected a directory");
			o->out = val;
			break;
		case OPT_SERVER_ARGS: {
			char *copy = strdup(val), *save = NULL;

			for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
				add_srv_arg(o, t);
			free(copy);
			break;
		}
		case OPT_WORK_US:
			parse_long("--work-us", val, 0, 1000000);
			add_srv_arg(o, "--work-us");
			add_srv_arg(o, val);
			break;
		case OPT_HOST_PORT:
			cli_die_usage("--%s: evbench starts its servers on 127.0.0.1 and port 0 itself",
				  opts[idx].name);
		case '?':
		case ':':
			lg_getopt_error(err, sizeof err, ch, argv[optind - 1], optopt);
			cli_die_usage("%s", err);
		default:
			if (lg_parse_option(&o->load, lg_options[ch - OPT_LOAD].name, val, err,
					    sizeof err) < 0) {
				fprintf(stderr, "evbench: %s\n", err);
				exit(2);
			}
		}
	}
	if (optind < argc)
		cli_die_usage("unexpected argument '%s'", argv[optind]);
	if (list) {
		list_servers(o->json);
		exit(0);
	}
	/* Agents elsewhere reach the servers at --agent-host, where the
	 * servers then listen; local agents on loopback. */
	if (o->agents) {
		if (agents_check(o->agents, err, sizeof err) < 0)
			cli_die_usage("%s", err);
		if (!o->agents->target[0])
			snprintf(o->agents->target, sizeof o->agents->target, "127.0.0.1");
		add_srv_arg(o, "--addr");
		add_srv_arg(o, o->agents->target);
		snprintf(o->load.host, sizeof o->load.host, "%s", o->agents->target);
	}
	resolve_opts(o, servers, conns, reference, seeded);
}
