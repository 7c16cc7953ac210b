/*
 * main.c - evbench: the command line, the sweep that runs every server at
 * every connection count, round after round, and what is written of it.
 *
 * Each trial (trial.c): start the server in its own process group, run the
 * load in this process, sample the server's CPU from the load generator's
 * phase hooks, stop the server; then this file writes the trial's JSON at
 * once (report.c) and the comparisons so far (compare.c). A trial that fails
 * (no ready line, a crash, a server that will not stop) is recorded as such
 * and the sweep goes on. Ctrl-C ends the current trial early, records it,
 * and stops; a second one kills the server's group and exits at once.
 * docs/architecture.md draws the whole path.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ab.h"
#include "collect.h"
#include "compare.h"
#include "designs.h"
#include "gate.h"
#include "html.h"
#include "json.h"
#include "lesson.h"
#include "loadgen.h"
#include "orch.h"
#include "probe.h"
#include "procfs.h"
#include "report.h"
#include "schema.h"
#include "stats.h"
#include "trial.h"

#define HAVE_GATE 1

#define MAX_SERVERS  32
#define MAX_CONNS    32
#define MAX_SRV_ARGS 32

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
static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(2, " (evbench --help)\n", fmt, ap);
}

/* Bad input whose message says all: no pointer to --help. */
static void die_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(2, "\n", fmt, ap);
}

/* A failure of the machine, not of the input: exit 1. */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(1, "\n", fmt, ap);
}

/* ---- options ------------------------------------------------------------------------ */

struct opts {
	struct orch_server servers[MAX_SERVERS];
	int    nservers;
	struct lg_config loads[MAX_CONNS];   /* the load of each --conns count, made and
	                                        checked once (lg_config_make) */
	int    nconns;
	int    repeat;
	const char *out;
	bool   json, quiet, plot;
	int    mech;            /* --mechanism: MECH_OFF, MECH_AUTO (default), MECH_ON */
	long   server_nofile;   /* --server-nofile: the servers' RLIMIT_NOFILE, 0 = theirs */
	char  *srv_args[MAX_SRV_ARGS + 1];
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
};

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
		die_bad("--server: '%s': a label after '@' is letters, digits, '_' or '-', "
			"and the whole name under %zu characters", name, sizeof s.name);
	snprintf(base, sizeof base, "%.*s", at ? (int)(at - name) : (int)strlen(name), name);
	if (orch_resolve(base, &s) < 0)
		die_bad("unknown server '%s' (evbench --list shows them)", base);
	if (at) {
		size_t blen = strlen(s.name);

		if (blen + strlen(at) >= sizeof s.name)
			die_bad("--server: '%s': name too long", name);
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
	if (o->nservers == MAX_SERVERS)
		die_usage("--server: more than %d servers", MAX_SERVERS);
	o->servers[o->nservers++] = s;
}

/* Copies the comma-separated list of option opt into buf, or dies with one
 * line when it is too long or has an empty item; what names the items. */
static void copy_list(char *buf, size_t cap, const char *opt, const char *list, const char *what)
{
	if (strlen(list) >= cap)
		die_usage("%s: list too long", opt);
	if (!list[0] || list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,"))
		die_usage("%s: expected a comma-separated list of %s, got '%s'", opt, what, list);
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
		die_usage("--server %s: none of these servers is built (run make)", list);
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

		if (o->nconns == MAX_CONNS)
			die_usage("--conns: more than %d counts", MAX_CONNS);
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
		die_usage("%s: expected an integer %ld..%ld, got '%s'", opt, lo, hi, s);
	return v;
}

static void add_srv_arg(struct opts *o, const char *a)
{
	if (o->nsrv_args == MAX_SRV_ARGS)
		die_usage("--server-args: more than %d arguments", MAX_SRV_ARGS);
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
			die("stdout: %s", strerror(errno));
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
		die_usage("--server: expected a comma-separated list of servers, got '%s'", list);
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
				die_bad("unknown server '%s' (evbench --list shows them)", name);
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
					die_bad("ab: --%s: path too long", side[k]);
				two[k].built = access(two[k].path, X_OK) == 0;
				if (!two[k].built && !all)
					die_bad("ab: %s: no executable %s (build that tree with make first)",
						side[k], two[k].path);
				missing |= !two[k].built;
			}
			if (missing) {
				fprintf(stderr, "evbench: warning: skipping %s: not built in both builds\n",
					s.name);
				continue;
			}
			if (o->nservers + 2 > MAX_SERVERS)
				die_usage("--server: more than %d servers", MAX_SERVERS / 2);
			o->servers[o->nservers++] = two[0];
			o->servers[o->nservers++] = two[1];
		}
	}
	if (o->nservers == 0)
		die_usage("--server %s: none of these servers is built in both builds", list);
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
		die_bad("--reference: unknown server '%s' (evbench --list shows them)", name);
	for (int i = 0; i < o->nservers; i++)
		if (!strcmp(o->servers[i].name, s.name)) {
			o->reference = o->servers[i].name;
			return;
		}
	die_bad("--reference %s: not among the servers of this sweep (--server)", name);
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
		die_usage("%s: expected a percentage from 0 to 1000, got '%s'", opt, val);
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
			die_usage("--budget: expected seconds, more than 0, got '%s'", val);
	} else if (!strcmp(name, "max-regression"))
		o->rule.max_regression = parse_pct("--max-regression", val);
	else if (!strcmp(name, "alpha")) {
		errno = 0;
		o->rule.alpha = strtod(val, &end);
		if (errno || end == val || *end || !(o->rule.alpha > 0) || !(o->rule.alpha < 0.5))
			die_usage("--alpha: expected a level between 0 and 0.5, got '%s'", val);
	} else if (!strcmp(name, "metrics")) {
		if (gate_parse_metrics(val, o->rule.gated) < 0)
			die_usage("--metrics: expected a comma-separated list of cpu, throughput and "
				  "p99, got '%s'", val);
	} else
		return false;
	return true;
}

enum {
	OPT_HELP = 256, OPT_VERSION, OPT_LIST, OPT_JSON, OPT_QUIET, OPT_PLOT, OPT_SERVER,
	OPT_CONNS, OPT_REPEAT, OPT_ORDER, OPT_SEED, OPT_REFERENCE, OPT_OUT, OPT_SERVER_ARGS,
	OPT_WORK_US, OPT_HOST_PORT, OPT_AB, OPT_SERVER_NOFILE, OPT_MECHANISM,
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
	o->rule = (struct cmp_rule){ .max_regression = 0.10, .alpha = 0.05, .looks = 1,
				     .min_rounds = 3 };
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
	die_usage("--mechanism: expected auto, on or off, got '%s'", val);
}

/* --order interleaved|sequential. */
static enum cmp_order parse_order(const char *val)
{
	if (!strcmp(val, "interleaved"))
		return CMP_INTERLEAVED;
	if (!strcmp(val, "sequential"))
		return CMP_SEQUENTIAL;
	die_usage("--order: expected interleaved or sequential, got '%s'", val);
}

/* --seed N. */
static uint64_t parse_seed(const char *val)
{
	char *end;
	uint64_t seed;

	errno = 0;
	seed = strtoull(val, &end, 10);
	if (errno || end == val || *end || val[0] == '-')
		die_usage("--seed: expected an integer 0..%llu, got '%s'",
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
			die_usage("ab: needs --baseline DIR and --current DIR");
		ab_servers(o, servers);
		if (o->rounds_auto)
			o->rule.looks = ab_looks();
		if (o->rounds_auto && o->order == CMP_SEQUENTIAL)
			die_usage("ab: --rounds auto needs the interleaved order (a sequential sweep "
				  "completes no round before its end)");
	} else {
		parse_servers(o, servers);
		pick_reference(o, reference);
	}
	if (!seeded && getrandom(&o->seed, sizeof o->seed, 0) != sizeof o->seed)
		o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	make_loads(o, conns);
}

static void parse_args(struct opts *o, int argc, char **argv, bool ab)
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
			die_usage("unknown option '--%s'", opts[idx].name);
		if (ab && (ch == OPT_REPEAT || ch == OPT_REFERENCE))
			die_usage("--%s: evbench ab pairs each server with its baseline; use --rounds",
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
				die_usage("--server given twice: give one comma-separated list");
			servers = val;
			break;
		case OPT_CONNS:
			if (conns_given++)
				die_usage("--conns given twice: give one comma-separated list");
			conns = val;
			break;
		case OPT_SERVER_NOFILE:
			o->server_nofile = parse_long("--server-nofile", val, 16, 1L << 20);
			break;
		case OPT_MECHANISM:
			o->mech = parse_mechanism(val);
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
				die_usage("--out: expected a directory");
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
			die_usage("--%s: evbench starts its servers on 127.0.0.1 and port 0 itself",
				  opts[idx].name);
		case '?':
		case ':':
			lg_getopt_error(err, sizeof err, ch, argv[optind - 1], optopt);
			die_usage("%s", err);
		default:
			if (lg_parse_option(&o->load, lg_options[ch - OPT_LOAD].name, val, err,
					    sizeof err) < 0) {
				fprintf(stderr, "evbench: %s\n", err);
				exit(2);
			}
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	if (list) {
		list_servers(o->json);
		exit(0);
	}
	resolve_opts(o, servers, conns, reference, seeded);
}

/* ---- plots ------------------------------------------------------------------------------ */

/* Runs scripts/python.sh scripts/plot.py DIR, found beside the binary
 * (bin/ or build-<san>/bin/ in the tree, or share/evbench when installed). */
static void draw_plots(const char *dir, bool quiet)
{
	const char *bindir = orch_bin_dir();
	const char *rel[] = { "../scripts", "../../scripts", "../share/evbench", NULL };
	char script[PATH_MAX], python[PATH_MAX];
	pid_t pid;
	int status;

	for (int i = 0; rel[i]; i++) {
		snprintf(script, sizeof script, "%s/%s/plot.py", bindir, rel[i]);
		if (access(script, R_OK) == 0) {
			snprintf(python, sizeof python, "%s/%s/python.sh", bindir, rel[i]);
			goto found;
		}
	}
	fprintf(stderr, "evbench: plot.py not found beside %s; no plots drawn\n", bindir);
	return;
found:
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char self[PATH_MAX];
		int n = proc_self_exe(self, sizeof self);

		/* The table owns stdout; the script's own lines go to stderr. */
		dup2(2, 1);
		/* --quiet: the script's own summary line goes too; its errors stay. */
		if (quiet)
			setenv("EVBENCH_PLOT_QUIET", "1", 1);
		/* plot.py asks this evbench for the design table's order and colours. */
		if (n == 0)
			setenv("EVBENCH", self, 1);
		if (access(python, X_OK) == 0)
			execl(python, python, script, dir, (char *)NULL);
		/* Installed without python.sh: Debian's matplotlib is for
		 * /usr/bin/python3, which may not be the first on PATH. */
		if (access("/usr/bin/python3", X_OK) == 0)
			execl("/usr/bin/python3", "python3", script, dir, (char *)NULL);
		execlp("python3", "python3", script, dir, (char *)NULL);
		fprintf(stderr, "evbench: cannot run python3 for the plots: %s\n", strerror(errno));
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
}

/* ---- comparisons and the table ------------------------------------------------------ */

/* A copy of rows in the order of --server, then --conns, then rounds (the
 * trials ran in another), for everything that lists them. */
static struct rep_row *in_sweep_order(const struct opts *o, const struct rep_row *rows, int nrows)
{
	struct rep_row *sorted = malloc((size_t)(nrows > 0 ? nrows : 1) * sizeof *sorted);
	int k = 0;

	if (!sorted)
		die("out of memory");
	for (int si = 0; si < o->nservers; si++)
		for (int ci = 0; ci < o->nconns; ci++)
			for (int round = 1; round <= o->repeat; round++)
				for (int i = 0; i < nrows; i++)
					if (rows[i].conns == o->loads[ci].conns && rows[i].repeat == round &&
					    !strcmp(rows[i].server, o->servers[si].name))
						sorted[k++] = rows[i];
	return sorted;
}

/* What the comparisons divide: every server by the reference; in ab mode
 * each NAME@current by its NAME@baseline (ab_servers lists them in that
 * order, side by side). Returns the number of pairs. */
static int sweep_pairs(const struct opts *o, struct cmp_pair *pairs)
{
	int n = 0;

	for (int si = 0; si < o->nservers; si++)
		if (o->ab && si % 2 == 1)
			pairs[n++] = (struct cmp_pair){ o->servers[si].name, o->servers[si - 1].name };
		else if (!o->ab && strcmp(o->servers[si].name, o->reference) != 0)
			pairs[n++] = (struct cmp_pair){ o->servers[si].name, o->reference };
	return n;
}

/* Whether name is what some pair divides by. */
static bool is_reference(const struct opts *o, const char *name)
{
	return o->ab ? strstr(name, "@baseline") != NULL : !strcmp(name, o->reference);
}

/* The rounds the rows reach so far (the last round may be partial). */
static int rounds_of(const struct rep_row *rows, int nrows)
{
	int k = 0;

	for (int i = 0; i < nrows; i++)
		if (rows[i].repeat > k)
			k = rows[i].repeat;
	return k;
}

/* The comparisons of rows, listed in sweep order. Returns their number, or
 * -1 with errno. */
static int compare_in_sweep_order(const struct opts *o, const struct rep_row *rows, int nrows,
				  struct cmp_result **res)
{
	struct rep_row *sorted = in_sweep_order(o, rows, nrows);
	struct cmp_pair pairs[MAX_SERVERS];
	int n = cmp_compute(sorted, nrows, pairs, sweep_pairs(o, pairs), rounds_of(rows, nrows),
			    res);

	free(sorted);
	return n;
}

static int write_comparisons(const struct opts *o, const char *run_id, const char *dir,
			     const struct rep_row *rows, int nrows)
{
	struct cmp_sweep sw = {
		.run_id = run_id, .order = o->order, .seed = o->seed,
		.rounds = rounds_of(rows, nrows), .reference = o->reference,
		.drift_threshold = PROBE_DRIFT_THRESHOLD,
	};
	struct cmp_result *res;
	int n = compare_in_sweep_order(o, rows, nrows, &res), rc;

	if (n < 0)
		return -1;
	rc = cmp_write(dir, &sw, res, n);
	cmp_free(res, n);
	return rc;
}

/* One row per (server, conns) in the order of --server and --conns, each
 * over all its rounds, with its comparison against the reference. */
static void print_table(FILE *table, const struct opts *o, const struct rep_row *rows, int nrows,
			const struct hist *merged)
{
	struct rep_row *group = calloc((size_t)(nrows > 0 ? nrows : 1), sizeof *group);
	struct cmp_result *res = NULL;
	int nres = compare_in_sweep_order(o, rows, nrows, &res);

	if (!group)
		die("out of memory");
	rep_table_header(table);
	for (int si = 0; si < o->nservers; si++)
		for (int ci = 0; ci < o->nconns; ci++) {
			const char *name = o->servers[si].name;
			const struct cmp_result *c = NULL;
			char cellbuf[64];
			int n = 0;

			for (int i = 0; i < nrows; i++)
				if (rows[i].conns == o->loads[ci].conns && !strcmp(rows[i].server, name))
					group[n++] = rows[i];
			if (!n)
				continue;
			for (int i = 0; i < nres; i++)
				if (res[i].conns == o->loads[ci].conns && !strcmp(res[i].server, name))
					c = &res[i];
			rep_table_row(table, group, n, &merged[si * o->nconns + ci],
				      o->nservers < 2 ? "-" : is_reference(o, name) ? "ref" :
				      cmp_cell(cellbuf, sizeof cellbuf, c));
		}
	cmp_free(res, nres > 0 ? nres : 0);
	free(group);
}

/* What the table's columns mean, after it: on stderr, and in table.txt. */
static void print_legend(FILE *f, const struct opts *o)
{
	fputs("  up: connections open when measuring began (*: fewer than conns, so the row\n"
	      "  measured a partial load); active: of those, the ones carrying requests;\n"
	      "  latency of verified replies;\n"
	      "  figures are medians over the rounds; latencies from all rounds' histograms;\n"
	      "  us/r: CPU microseconds per request, load generator and server process group;\n"
	      "  sys/r: the server's system calls per request (perf; '-' when not counted);\n"
	      "  srv MB: the server processes' memory (PSS) during the measure phase;\n"
	      "  bound: whose CPU ran out; others: share of the CPUs other processes took;\n"
	      "  fd-limit: connection attempts lost to descriptor limits (docs/results.md)\n", f);
	if (o->nservers > 1)
		fprintf(f, "  srv vs ref: server CPU per request over %s in the same round: median\n"
			"  [95%% interval] over the rounds (~: 3-5 rounds, the interval is min-max and\n"
			"  covers less than 95%%; !: a round rests on a trial during which the machine's\n"
			"  speed moved more than %.0f%%); comparisons.json has throughput and p99 too\n",
			o->ab ? "the baseline's" : o->reference, PROBE_DRIFT_THRESHOLD * 100);
}

/* ---- evbench ab ----------------------------------------------------------------------------- */

/* Whether the sequential run stops after round `round`: at one of its looks
 * only, once every gated comparison is decided (ab.h). */
static bool ab_decided(const struct opts *o, const struct rep_row *rows, int nrows, int round)
{
	struct cmp_result *res;
	bool stop;
	int n;

	if (!ab_is_look(round))
		return false;
	n = compare_in_sweep_order(o, rows, nrows, &res);
	if (n <= 0)
		return false;
	stop = ab_stops(res, n, &o->rule, round);
	cmp_free(res, n);
	return stop;
}

/* One github-action-benchmark entry per (server, conns) of the current
 * build and metric: the median of its rounds, smaller- or bigger-is-better. */
static void github_entries(FILE *f, const struct opts *o, const struct rep_row *rows, int nrows,
			   bool bigger)
{
	bool first = true;

	fputs("[", f);
	for (int si = 1; si < o->nservers; si += 2)
		for (int ci = 0; ci < o->nconns; ci++)
			for (int m = 0; m < CMP_NMETRICS; m++) {
				double v[AB_MAX_ROUNDS * 20];
				int k = 0;

				if ((m == CMP_THROUGHPUT) != bigger)
					continue;
				for (int i = 0; i < nrows && k < AB_MAX_ROUNDS * 20; i++) {
					const struct rep_row *r = &rows[i];
					double x = m == CMP_SERVER_CPU ? r->cpu_us_server :
						   m == CMP_THROUGHPUT ? r->throughput_rps : r->lat_us[4];

					if (r->conns == o->loads[ci].conns && x > 0 &&
					    !strcmp(r->server, o->servers[si].name))
						v[k++] = x;
				}
				if (!k)
					continue;
				{
					struct stats_median_ci med;
					char name[64];
					int base = (int)(strchr(o->servers[si].name, '@') - o->servers[si].name);

					/* Sorts v: v[0] and v[k - 1] are the range. */
					stats_median_ci(v, (size_t)k, CMP_LEVEL, &med);
					snprintf(name, sizeof name, "%.*s c=%ld %s", base, o->servers[si].name,
						 o->loads[ci].conns, cmp_metrics[m].label);
					fprintf(f, "%s\n  {\"name\": \"%s\", \"unit\": \"%s\", \"value\": %.6g, "
						"\"range\": \"%.6g..%.6g\", \"extra\": \"median of %d rounds\"}",
						first ? "" : ",", name,
						cmp_metrics[m].unit,
						med.median, v[0], v[k - 1], k);
					first = false;
				}
			}
	fputs("\n]\n", f);
}

/* After an ab sweep: the gate's verdict on stdout (Markdown, or JSON with
 * --json), and in the results directory gate.md and the two files of
 * github-action-benchmark's custom formats. Returns the gate's status. */
static int ab_report(const struct opts *o, const char *dir, const struct rep_row *rows, int nrows)
{
	struct cmp_result *res;
	int n = compare_in_sweep_order(o, rows, nrows, &res), status;
	char path[PATH_MAX + 64];
	FILE *f;

	if (n < 0)
		die("out of memory");
	status = gate_paired_report(stdout, dir, res, n, &o->rule, o->json);
	snprintf(path, sizeof path, "%s/gate.md", dir);
	if ((f = fopen(path, "we"))) {
		gate_paired_report(f, dir, res, n, &o->rule, false);
		fclose(f);
	}
	for (int bigger = 0; bigger < 2; bigger++) {
		snprintf(path, sizeof path, "%s/github-%s-is-better.json", dir,
			 bigger ? "bigger" : "smaller");
		if ((f = fopen(path, "we"))) {
			github_entries(f, o, rows, nrows, bigger);
			fclose(f);
		}
	}
	cmp_free(res, n);
	return status;
}

/* ---- evbench report --------------------------------------------------------------------- */

/* evbench report DIR: DIR/report.html (html.h). Exit 0, 1 when it could not
 * be written, 2 on a bad command line or a directory without results. */
static int report_main(int argc, char **argv)
{
	char out[PATH_MAX + 32], err[PATH_MAX + 128];

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: evbench report DIR\n"
		       "Writes DIR/report.html (DIR/latest/report.html when DIR holds a `latest`):\n"
		       "one self-contained page with the table, the comparisons and their intervals,\n"
		       "the plots inlined, the command and the host (docs/results.md).\n");
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		die_usage("report: expected one results directory, as in evbench report results/latest");
	if (html_report(argv[1], out, sizeof out, err, sizeof err) < 0) {
		struct stat st;

		fprintf(stderr, "evbench report: %s\n", err);
		/* A directory that is not one of results is the user's to fix. */
		return stat(argv[1], &st) != 0 || strstr(err, "no evbench.run/1") ? 2 : 1;
	}
	printf("%s\n", out);
	return 0;
}

/* ---- main ------------------------------------------------------------------------------- */

/* ---- the sweep ------------------------------------------------------------------------ */

/* `evbench lesson NAME [options]`: parses the lesson's sweep, and replaces
 * *argv by it, so that the results record the command as the lesson ran it. */
static const struct lesson *parse_lesson(struct opts *o, int argc, char ***argv)
{
	const struct lesson *lesson;
	int largc;
	char **largv;

	if (argc < 3)
		die_usage("lesson: which one? (evbench lesson --list)");
	if (!strcmp((*argv)[2], "--list")) {
		lesson_list(stdout);
		exit(0);
	}
	lesson = lesson_find((*argv)[2]);
	if (!lesson)
		die_bad("lesson: unknown lesson '%s' (evbench lesson --list shows them)", (*argv)[2]);
	largv = lesson_argv(lesson, (*argv)[0], argc - 3, *argv + 3, &largc);
	if (!largv)
		die("out of memory");
	*argv = largv;
	parse_args(o, largc, largv, false);
	return lesson;
}

/* The machine before the first trial: its limits (the descriptor limit raised
 * to the hard one), the descriptors the scans keep in reserve, and the
 * signals, so that no server outlives evbench. */
static void prepare_machine(const struct opts *o, struct col_host *host)
{
	struct rlimit rl;

	memset(host, 0, sizeof *host);
	host->nofile_soft_initial = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : -1;
	if (lg_raise_nofile() < 0 && !o->quiet)
		fprintf(stderr, "evbench: warning: cannot raise the descriptor limit: %s\n",
			strerror(errno));
	col_host_read(host);
	col_reserve_fds();
	trial_catch_signals();
}

/* Every warning of every (server, conns) up front, before the table starts. */
static void warn_up_front(const struct opts *o, const struct col_host *host)
{
	for (int si = 0; si < o->nservers && !o->quiet; si++)
		for (int ci = 0; ci < o->nconns; ci++) {
			struct rep_run *r = calloc(1, sizeof *r);

			if (!r)
				die("out of memory");
			r->srv = &o->servers[si];
			r->cfg = o->loads[ci];
			trial_preflight(r, host);
			for (int w = 0; w < r->nwarn; w++)
				fprintf(stderr, "evbench: warning: %s\n", r->warnings[w]);
			free(r);
		}
}

/* The sweep in one line: how many trials, in which order, with which seed. */
static void announce(const struct opts *o)
{
	int n = o->nservers * o->nconns * o->repeat;

	fprintf(stderr, "evbench: %s%d trial%s in %d round%s, %s order, seed %llu, %s%s\n",
		o->rounds_auto ? "up to " : "", n, n == 1 ? "" : "s",
		o->repeat, o->repeat == 1 ? "" : "s", cmp_order_name(o->order),
		(unsigned long long)o->seed, o->ab ? "each server against its baseline" :
		"reference ", o->ab ? "" : o->reference);
}

/* Trial tr of the plan, ready to run: its server, its load, its place in
 * the sweep, and the warnings of its preflight. */
static struct rep_run *new_trial(const struct opts *o, const struct cmp_trial *tr, int per,
				 const char *run_id, char **argv, const struct col_host *host)
{
	struct rep_run *r = calloc(1, sizeof *r);

	if (!r)
		die("out of memory");
	r->srv = &o->servers[tr->si];
	r->cfg = o->loads[tr->ci];
	r->repeat = tr->round;
	r->repeats = o->repeat;
	r->position = tr->position;
	r->positions = per;
	r->order = cmp_order_name(o->order);
	r->seed = o->seed;
	r->reference = o->reference;
	r->mech = o->mech != MECH_OFF;
	r->server_nofile = o->server_nofile;
	r->mech_tasks = o->mech == MECH_ON;
	r->server_args = o->srv_args;
	r->argv = argv;
	snprintf(r->run_id, sizeof r->run_id, "%s", run_id);
	snprintf(r->file, sizeof r->file, "%s-c%ld-r%d", r->srv->name, r->cfg.conns, tr->round);
	r->cfg.port = 0;   /* the server's, once it is up */
	trial_preflight(r, host);
	return r;
}

/* Writes what the sweep has so far: the trial's JSON, summary.csv, and the
 * comparisons (rewritten after every trial, so an interrupted sweep keeps
 * those of the rounds it finished). Returns false when a file could not be
 * written. */
static bool record_trial(const struct opts *o, const char *run_id, const char *dir,
			 const struct rep_run *r, struct rep_row *rows, int nrows,
			 const struct col_host *host)
{
	bool ok = true;

	if (rep_write_run(dir, r, &rows[nrows - 1], host) < 0) {
		fprintf(stderr, "evbench: cannot write %s/%s.json: %s\n", dir, r->file,
			strerror(errno));
		ok = false;
	}
	if (rep_write_summary(dir, rows, nrows) < 0) {
		fprintf(stderr, "evbench: cannot write %s/summary.csv: %s\n", dir, strerror(errno));
		ok = false;
	}
	if (o->nservers > 1 && write_comparisons(o, run_id, dir, rows, nrows) < 0) {
		fprintf(stderr, "evbench: cannot write %s/comparisons.json: %s\n", dir,
			strerror(errno));
		ok = false;
	}
	return ok;
}

/* The table once more in the results directory, with its legend, for
 * evbench report. Returns false when it could not be written. */
static bool save_table(const struct opts *o, const char *dir, const struct rep_row *rows,
		       int nrows, const struct hist *merged)
{
	char tpath[PATH_MAX + 16];
	FILE *tf;

	if (!nrows)
		return true;
	snprintf(tpath, sizeof tpath, "%s/table.txt", dir);
	if (!(tf = fopen(tpath, "we")))
		return false;
	print_table(tf, o, rows, nrows, merged);
	print_legend(tf, o);
	return fclose(tf) == 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct col_host host;
	char run_id[64], dir[PATH_MAX];
	struct rep_row *rows = NULL;
	struct cmp_trial *plan;
	struct hist *merged;
	int nrows = 0, per, ntrials, gate_status = GATE_ERROR;
	double t_start;
	bool any_failure = false, write_failed = false, show_progress;
	const struct lesson *lesson = NULL;
	FILE *table;

	if (argc > 1 && strcmp(argv[1], "gate") == 0) {
#ifdef HAVE_GATE
		return gate_main(argc - 1, argv + 1);
#else
		fputs("evbench: gate is not built into this evbench\n", stderr);
		return 2;
#endif
	}
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "lesson") == 0)
		lesson = parse_lesson(&o, argc, &argv);
	else if (argc > 1 && strcmp(argv[1], "ab") == 0)
		parse_args(&o, argc - 1, argv + 1, true);
	else
		parse_args(&o, argc, argv, false);

	prepare_machine(&o, &host);

	if (rep_open_dir(o.out, run_id, sizeof run_id, dir, sizeof dir) < 0)
		die("cannot create a results directory under %s: %s", o.out, strerror(errno));

	warn_up_front(&o, &host);

	show_progress = !o.quiet && isatty(2);
	table = o.json ? stderr : stdout;
	if (!o.quiet)
		announce(&o);
	t_start = col_now();

	per = o.nservers * o.nconns;
	ntrials = per * o.repeat;
	plan = calloc((size_t)ntrials, sizeof *plan);
	rows = calloc((size_t)ntrials, sizeof *rows);
	merged = calloc((size_t)per, sizeof *merged);
	if (!plan || !rows || !merged)
		die("out of memory");
	for (int g = 0; g < per; g++)
		if (hist_init(&merged[g]) != 0)
			die("out of memory");
	cmp_plan(o.nservers, o.nconns, o.repeat, o.order, o.seed, plan);

	for (int t = 0; t < ntrials && !trial_stop_signal(); t++) {
		const struct cmp_trial *tr = &plan[t];
		struct rep_run *r = new_trial(&o, tr, per, run_id, argv, &host);

		trial_run(r, show_progress, t + 1, ntrials, t_start);
		rep_row_fill(&rows[nrows++], r, &host);
		write_failed |= !record_trial(&o, run_id, dir, r, rows, nrows, &host);
		if (r->failure[0]) {
			/* A design this machine cannot run is recorded, not failed. */
			any_failure |= !r->proc.unavailable;
			if (!o.quiet)
				fprintf(stderr, "evbench: %s c=%ld: %s\n", r->srv->name, r->cfg.conns,
					r->failure);
		}
		if (r->ran)
			hist_add(&merged[tr->si * o.nconns + tr->ci], &r->res.latency);
		lg_result_free(&r->res);
		orch_release(&r->proc);
		free(r);
		/* evbench ab --rounds auto: after each whole round from the
		 * AB_MIN_ROUNDS-th on, stop once every comparison is decided or
		 * the budget is spent (a round begun is finished). */
		if (o.ab && o.rounds_auto && tr->position == per && tr->round >= AB_MIN_ROUNDS &&
		    (col_now() - t_start >= o.budget_s || ab_decided(&o, rows, nrows, tr->round)))
			break;
	}

	if (!(o.json && o.quiet))
		print_table(table, &o, rows, nrows, merged);
	write_failed |= !save_table(&o, dir, rows, nrows, merged);
	for (int g = 0; g < per; g++)
		hist_free(&merged[g]);
	free(merged);
	free(plan);

	if (o.ab && nrows) {
		gate_status = ab_report(&o, dir, rows, nrows);
	} else if (o.json) {
		struct rep_row *sorted = in_sweep_order(&o, rows, nrows);

		if (rep_print_json_array(stdout, dir, sorted, nrows) < 0)
			write_failed = true;
		free(sorted);
	}
	if (!o.quiet && nrows)
		print_legend(stderr, &o);
	if (!o.quiet)
		fprintf(stderr, "evbench: results in %s/\n", dir);
	if (o.plot && !trial_stop_signal())
		draw_plots(dir, o.quiet);
	if (lesson && !trial_stop_signal()) {
		lesson_verdict(lesson, rows, nrows, table);
		fprintf(table, "  results and plots in %s/\n", dir);
	}
	free(rows);
	for (int i = 0; i < o.nsrv_args; i++)
		free(o.srv_args[i]);
	if (trial_stop_signal())
		return 128 + trial_stop_signal();
	if (o.ab)
		return write_failed ? GATE_ERROR : gate_status;
	return any_failure || write_failed ? 1 : 0;
}
