/*
 * main.c - evbench: the command line, the preflight, and the loop that runs
 * every server at every connection count, repeat times.
 *
 * Each run: start the server in its own process group (orch.c), run the load
 * in this process (loadgen), sample the server's CPU at MEASURE and DRAIN
 * start from the load generator's on_phase hook (collect.c), stop the server,
 * write the run's JSON at once (report.c). A run that fails (no ready line, a
 * crash, a server that will not stop) is recorded as such and the sweep goes
 * on. Ctrl-C ends the current run early, records it, and stops; a second one
 * kills the server's group and exits at once.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
#include "progress.h"
#include "report.h"
#include "schema.h"
#include "stats.h"

#define HAVE_GATE 1

#define MAX_SERVERS  32
#define MAX_CONNS    32
#define MAX_SRV_ARGS 32
#define READY_TIMEOUT_S 10.0
#define STOP_TIMEOUT_S  5.0

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
		 * server's port is known once it is up (run_one sets it): 1 stands
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

/* ---- preflight ------------------------------------------------------------------------ */

static void warn_add(struct rep_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn_add(struct rep_run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nwarn == REP_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->warnings[r->nwarn++], sizeof r->warnings[0], fmt, ap);
	va_end(ap);
}

/*
 * Every limit of this machine that the run will meet, as a warning with its
 * remedy. The run goes ahead anyway, so the failures are measured.
 */
static void preflight(struct rep_run *r, const struct col_host *h)
{
	unsigned props = r->srv->d->props;
	long conns = r->cfg.conns;
	char msg[512];

	if (lg_preflight(&r->cfg, msg, sizeof msg))
		warn_add(r, "client: %s", msg);
	/* The servers raise their soft limit to the hard one; a process-per-
	 * connection parent holds only its listener, each child one connection. */
	if (!(props & DS_PROC_CONN) && h->nofile_hard > 0 && conns + 16 > h->nofile_hard)
		warn_add(r, "%s: a server process may hold %ld descriptors (hard limit), fewer than "
			 "--conns %ld needs: about %ld connections will be shed as emfile; raise the "
			 "hard limit (limits.conf nofile, systemd LimitNOFILE, or ulimit -Hn as root)",
			 r->srv->name, h->nofile_hard, conns, conns + 16 - h->nofile_hard);
	/* Only a design that calls select() itself: evbase's and libevent's
	 * select backends size their descriptor sets by hand, past FD_SETSIZE. */
	if ((props & DS_FD_SETSIZE) && conns > h->fd_setsize - 5)
		warn_add(r, "%s: select() cannot watch descriptors >= FD_SETSIZE (%ld): about %ld of "
			 "%ld connections will be refused (fd_setsize_refused); FD_SETSIZE is fixed "
			 "at compile time, use poll or epoll beyond %ld connections",
			 r->srv->name, h->fd_setsize, conns - (h->fd_setsize - 5), conns,
			 h->fd_setsize - 5);
	if (props & (DS_PROC_CONN | DS_THREAD_CONN)) {
		const char *what = props & DS_PROC_CONN ? "processes" : "threads";
		long need = conns + 256;   /* what the user already runs, roughly */

		if (h->nproc_soft >= 0 && need > h->nproc_soft)
			warn_add(r, "%s: %ld connections need %ld %s but RLIMIT_NPROC is %ld: "
				 "raise it with 'ulimit -u %ld'", r->srv->name, conns, conns, what,
				 h->nproc_soft, need);
		if (h->threads_max > 0 && need > h->threads_max)
			warn_add(r, "%s: %ld %s exceed kernel.threads-max (%ld): "
				 "sysctl -w kernel.threads-max=%ld", r->srv->name, conns, what,
				 h->threads_max, need * 2);
		if (h->pid_max > 0 && need > h->pid_max)
			warn_add(r, "%s: %ld %s exceed kernel.pid_max (%ld): sysctl -w kernel.pid_max=%ld",
				 r->srv->name, conns, what, h->pid_max, need * 2);
		/* A thread's stack and its guard page are two mappings. */
		if ((props & DS_THREAD_CONN) && h->max_map_count > 0 &&
		    2 * conns + 1024 > h->max_map_count)
			warn_add(r, "%s: %ld threads need about %ld memory mappings but vm.max_map_count "
				 "is %ld: sysctl -w vm.max_map_count=%ld", r->srv->name, conns,
				 2 * conns + 1024, h->max_map_count, 4 * conns + 2048);
	}
	if (h->file_max > 0 && 2 * conns + 1024 > h->file_max)
		warn_add(r, "client and server together need about %ld descriptors but fs.file-max is "
			 "%ld: connections will fail with ENFILE; sysctl -w fs.file-max=%ld",
			 2 * conns + 1024, h->file_max, 4 * conns + 2048);
	/* The load generator keeps at most LG_CONNECTS_IN_FLIGHT connects in
	 * flight per thread, so only more than that can overflow the backlog. */
	if (h->somaxconn > 0 && conns > h->somaxconn && r->cfg.connect_rate == 0 &&
	    (long)LG_CONNECTS_IN_FLIGHT * r->cfg.threads > h->somaxconn)
		warn_add(r, "a burst of %ld connects may overflow the listen backlog "
			 "(net.core.somaxconn=%ld) if the server accepts slowly; dropped SYNs are "
			 "retried after 1 s and show in connect latency: sysctl -w net.core.somaxconn=%ld, "
			 "or pace connects with --connect-rate", conns, h->somaxconn, conns);
	/* One source address reaches one server port from the ephemeral range
	 * only; the load generator spreads over 127.0.0.x by itself unless
	 * told which addresses to use. */
	{
		long per = lg_ports_per_addr();
		long addrs = r->cfg.n_source_addrs > 0 ? r->cfg.n_source_addrs : 1;

		if (per > 0 && conns > per * addrs)
			warn_add(r, "%ld connections need more local ports than %ld source address%s "
				 "offer%s (%ld each, ephemeral range %ld-%ld): the rest will fail with "
				 "EADDRNOTAVAIL; add --source-addrs or widen net.ipv4.ip_local_port_range",
				 conns, addrs, addrs == 1 ? "" : "es", addrs == 1 ? "s" : "", per,
				 h->port_lo, h->port_hi);
	}
	if (r->cfg.requests_per_conn > 0 && h->tcp_tw_reuse == 0)
		warn_add(r, "reopening connections leaves TIME_WAIT sockets for 60 s and the ephemeral "
			 "range %ld-%ld may run out (eaddrnotavail): sysctl -w net.ipv4.tcp_tw_reuse=2, "
			 "or spread over --source-addrs", h->port_lo, h->port_hi);
}

/* ---- signals and progress ------------------------------------------------------------ */

static volatile sig_atomic_t stop_signal;
/* Ends the current load early: set with stop_signal, and when the server
 * dies in the middle of a run (no use loading a dead port for the rest of
 * the duration). */
static volatile sig_atomic_t stop_run;

static void on_signal(int sig)
{
	if (stop_signal) {
		/* A second signal: no more patience. The kernel would kill the
		 * server anyway (PDEATHSIG); do it first so it is sure. */
		orch_kill_current();
		_exit(128 + sig);
	}
	stop_signal = sig;
	stop_run = 1;
}

static void kill_at_exit(void)
{
	orch_kill_current();
}

struct live {
	struct rep_run *run;
	int    trial, trials;    /* this trial's number in the sweep, and how many */
	bool   show;             /* progress on stderr */
	bool   server_dead;      /* the server exited during the load */
	double last_t;
	uint64_t last_replies;
	int    width;
	enum lg_phase phase;     /* the phase on_phase last saw begin, and when (col_now) */
	double phase_t0;
	double sweep_t0, trial_t0;
};

/* A trial's planned length before any has run: its phases, and about a
 * second for starting the server, connecting and stopping. */
static double trial_estimate(const struct lg_config *c)
{
	return c->warmup_s + (c->requests ? 1.0 : c->duration_s) + 1.0;
}

static void show_progress_line(struct live *lv, const char *phase, double phase_s,
			       double phase_len_s, long up, double rate, uint64_t failures)
{
	struct rep_run *r = lv->run;
	double now = col_now();
	struct prog_view v = {
		.trial = lv->trial, .trials = lv->trials, .round = r->repeat, .rounds = r->repeats,
		.server = r->srv->name, .conns = r->cfg.conns, .phase = phase, .phase_s = phase_s,
		.phase_len_s = phase_len_s, .conns_up = up, .rate = rate, .failures = failures,
		.left_s = prog_time_left(now - lv->sweep_t0, now - lv->trial_t0, lv->trial,
					 lv->trials, trial_estimate(&r->cfg)),
	};
	char line[512];
	struct winsize ws;

	prog_format(line, sizeof line, &v);
	/* A line longer than the terminal would wrap, and '\r' would then
	 * rewrite only its last part: cut it to the width. */
	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && strlen(line) >= ws.ws_col)
		line[ws.ws_col - 1] = '\0';
	lv->width = fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
}

static void clear_progress(struct live *lv)
{
	if (lv->show && lv->width) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		lv->width = 0;
	}
}

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* Samples the server's group into *s, and adds the scan's own CPU (on this
 * thread, the load generator's control thread) to what uncount_scan() will
 * take out of the client's figures. */
static void scan(struct rep_run *r, struct col_sample *s, int what)
{
	struct rusage a, b;

	getrusage(RUSAGE_THREAD, &a);
	col_sample_group(r->proc.pid, r->proc.pid, s, what);
	getrusage(RUSAGE_THREAD, &b);
	r->scan_user_s += tv_s(&b.ru_utime) - tv_s(&a.ru_utime);
	r->scan_sys_s += tv_s(&b.ru_stime) - tv_s(&a.ru_stime);
}

static void on_progress(const struct lg_progress *p, void *arg)
{
	struct live *lv = arg;
	struct rep_run *r = lv->run;
	double rate = 0, dt = p->elapsed_s - lv->last_t;

	if (!lv->server_dead && !orch_alive(&r->proc)) {
		lv->server_dead = true;
		stop_run = 1;
	}
	/* A second memory sample halfway through the measure phase: the fork
	 * server may still be forking children for connections the kernel
	 * had already accepted when the phase began. */
	if (p->phase == LG_PHASE_MEASURE && r->s_measure.valid && !r->s_mid.valid &&
	    col_now() - r->s_measure.t >= (r->cfg.requests ? 0.4 : r->cfg.duration_s / 2))
		scan(r, &r->s_mid, COL_PSS);
	if (!lv->show)
		return;
	if (dt > 0 && p->replies >= lv->last_replies)
		rate = (double)(p->replies - lv->last_replies) / dt;
	lv->last_t = p->elapsed_s;
	lv->last_replies = p->replies;
	{
		const struct lg_config *c = &r->cfg;
		/* Each phase's planned length: connect has none (it ends when
		 * every connection is tried), drain at most the reply timeout. */
		double len = p->phase == LG_PHASE_WARMUP ? c->warmup_s :
			     p->phase == LG_PHASE_MEASURE ? (c->requests ? 0 : c->duration_s) :
			     p->phase == LG_PHASE_DRAIN ? c->timeout_s : 0;
		double in = p->phase == lv->phase ? col_now() - lv->phase_t0 : 0;

		show_progress_line(lv, lg_phase_name(p->phase), in, len, p->conns_up, rate,
				   p->errors);
	}
}

static void mech_start_client(struct rep_run *r);

/* The load generator's context switches so far: the whole process's
 * (getrusage counts threads that have exited too: a load thread with few
 * connections may be gone by the time DRAIN is reported) less this
 * thread's, which runs the phases, the scans and the waits for perf. */
static void client_csw(long *v, long *iv)
{
	struct rusage self, me;

	if (getrusage(RUSAGE_SELF, &self) < 0 || getrusage(RUSAGE_THREAD, &me) < 0) {
		*v = *iv = -1;
		return;
	}
	*v = self.ru_nvcsw - me.ru_nvcsw;
	*iv = self.ru_nivcsw - me.ru_nivcsw;
}

/* Removes io_uring's kernel workers ("iou-wrk-<tid>", "iou-sqp-<pid>") from
 * evbench's thread ids. Returns how many are left. */
static int drop_uring_workers(pid_t *tids, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		char name[64];
		struct proc_stat ps;

		snprintf(name, sizeof name, "self/task/%d", (int)tids[i]);
		if (proc_stat_read(name, &ps) < 0 || strncmp(ps.comm, "iou-", 4) != 0)
			tids[k++] = tids[i];
	}
	return k;
}

static void on_phase(enum lg_phase phase, void *arg)
{
	struct live *lv = arg;
	struct rep_run *r = lv->run;

	lv->phase = phase;
	lv->phase_t0 = col_now();
	/* The server's CPU at the very edges of the measure phase; a sample
	 * that fails (the server is gone) stays invalid and reports null.
	 * The load generator read its own CPU clock just before MEASURE's
	 * call, so the scan's own cost would count as the client's: it is
	 * measured on this thread and taken back out after the run.
	 * Memory is sampled at MEASURE, when every connection is up, and
	 * once more halfway (on_progress): by DRAIN's call the connections
	 * are closing, and fork's children with them. The DRAIN scan comes
	 * after the load generator read its clocks and costs the client
	 * nothing. */
	/* perf's counters go on at the start of the phase and off at its
	 * end, each switch acknowledged (mech.h), after the /proc samples:
	 * waiting for perf takes milliseconds on a busy machine, which must
	 * not move the CPU window. The client's counters leave this thread
	 * out, so the scans are not counted as the load's. At DRAIN the
	 * samples come first: the client is closing its connections, and
	 * threads' threads and fork's children exit with them. */
	if (phase == LG_PHASE_CONNECT && r->mech) {
		mech_start_client(r);
	} else if (phase == LG_PHASE_MEASURE) {
		scan(r, &r->s_measure, COL_CPU | (r->mech ? COL_CSW : 0));
		if (r->mech)
			client_csw(&r->cli_vcsw[0], &r->cli_ivcsw[0]);
		mech_enable_pair(&r->mech_srv, &r->mech_cli);
	} else if (phase == LG_PHASE_DRAIN && r->s_measure.valid) {
		if (r->mech)
			client_csw(&r->cli_vcsw[1], &r->cli_ivcsw[1]);
		col_sample_group(r->proc.pid, r->proc.pid, &r->s_drain,
				 COL_CPU | (r->mech ? COL_CSW : 0));
		mech_disable_pair(&r->mech_srv, &r->mech_cli);
	}
}

#define MECH_MAX_TIDS 64

/* The server's counting session, started once it is ready: the event loops
 * have all their threads by then and are counted per CPU, filtered by
 * thread; fork and threads make a task per connection and are followed by
 * inherited per-task counters (mech.h says why the two). */
static void mech_start_server(struct rep_run *r)
{
	pid_t tids[MECH_MAX_TIDS];
	int n = 0;

	if (!(r->srv->d->props & (DS_PROC_CONN | DS_THREAD_CONN))) {
		n = proc_tids(r->proc.pid, 0, tids, MECH_MAX_TIDS);
		if (n == MECH_MAX_TIDS)
			n = 0;   /* more threads than a filter holds: follow the tasks */
	}
	if (n < 0)
		n = 0;
	if (n == 0 && !r->mech_tasks) {
		snprintf(r->mech_srv.c.reason, sizeof r->mech_srv.c.reason,
			 "a task per connection is counted per task, which slows it (up to 1.6x "
			 "server CPU per request with a fork per request): --mechanism on counts it");
		return;
	}
	mech_start(&r->mech_srv, r->proc.pid, tids, n, r->srv->d->wait, r->mech_tasks);
}

/* The client's session, started when the load threads exist (CONNECT):
 * evbench's threads but this one, which runs the phases, the scans and the
 * progress line. */
static void mech_start_client(struct rep_run *r)
{
	pid_t tids[MECH_MAX_TIDS];
	int n = proc_tids(getpid(), gettid(), tids, MECH_MAX_TIDS);

	/* io_uring's kernel workers are evbench's tasks too, but come and go
	 * and make no system calls: only the load threads are kept. */
	n = drop_uring_workers(tids, n);
	if (n <= 0 || n == MECH_MAX_TIDS) {
		snprintf(r->mech_cli.c.reason, sizeof r->mech_cli.c.reason,
			 "the load threads could not be listed (or more than %d)", MECH_MAX_TIDS - 1);
		return;
	}
	mech_start(&r->mech_cli, getpid(), tids, n,
		   r->cfg.io == LG_IO_URING ? EVB_WAIT_URING : EVB_WAIT_EPOLL, r->mech_tasks);
}

/* ---- one run ------------------------------------------------------------------------- */

static void iso_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%.20s.%03dZ", base, (int)(ts.tv_nsec / 1000000));
}

/* Takes the /proc scans of the measure phase out of the client's CPU
 * figures: they are evbench's collecting, not the load generator's work. */
static void uncount_scan(struct rep_run *r)
{
	struct lg_result *res = &r->res;
	double u = r->scan_user_s, sy = r->scan_sys_s;

	if (u < 0)
		u = 0;
	if (sy < 0)
		sy = 0;
	if (u > res->client_user_s)
		u = res->client_user_s;
	if (sy > res->client_sys_s)
		sy = res->client_sys_s;
	res->client_user_s -= u;
	res->client_sys_s -= sy;
	res->client_cpu_s = res->client_cpu_s > u + sy ? res->client_cpu_s - (u + sy) : 0;
	res->cpu_us_per_req = res->replies ? res->client_cpu_s * 1e6 / (double)res->replies : 0;
	r->scan_user_s = u;
	r->scan_sys_s = sy;
}

static void run_one(struct rep_run *r, bool show_progress, int trial, int trials, double sweep_t0)
{
	struct live lv = { .run = r, .show = show_progress, .trial = trial, .trials = trials,
			   .sweep_t0 = sweep_t0, .trial_t0 = col_now(), .phase = LG_PHASE_CONNECT };
	struct lg_hooks hooks = {
		.on_phase = on_phase, .on_progress = on_progress, .arg = &lv,
		.progress_interval_s = 0.5, .stop = &stop_run,
	};
	char err[768];
	int rc;

	stop_run = stop_signal ? 1 : 0;
	iso_now(r->started_at, sizeof r->started_at);
	if (show_progress)
		show_progress_line(&lv, "starting", 0, 0, 0, 0, 0);
	/* The drift probe, before the server starts and after it is gone, so
	 * that it measures the machine and nothing of the trial. */
	r->mech_srv.ctl = r->mech_srv.ack = r->mech_cli.ctl = r->mech_cli.ack = -1;
	r->cli_vcsw[0] = r->cli_vcsw[1] = r->cli_ivcsw[0] = r->cli_ivcsw[1] = -1;
	r->probe_before_ns = probe_run();
	if (orch_start(&r->proc, r->srv, r->server_args, READY_TIMEOUT_S, err, sizeof err) < 0) {
		snprintf(r->failure, sizeof r->failure, "%s", err);
		clear_progress(&lv);
		r->probe_after_ns = probe_run();
		return;
	}
	r->started = true;
	r->cfg.port = r->proc.port;
	/* --server-nofile: the server raised its soft limit to the hard one at
	 * start; both come down now, before any connection, and fork's
	 * children inherit them. */
	if (r->server_nofile > 0) {
		struct rlimit lim = { (rlim_t)r->server_nofile, (rlim_t)r->server_nofile };

		if (prlimit(r->proc.pid, RLIMIT_NOFILE, &lim, NULL) < 0)
			snprintf(r->failure, sizeof r->failure, "--server-nofile: prlimit: %s",
				 strerror(errno));
	}
	/* perf attaches to the server now, before any connection: fork's
	 * and threads' counters are inherited by every task they create from
	 * here on. The client's session starts with the load threads. */
	if (r->mech) {
		mech_start_server(r);
	} else {
		snprintf(r->mech_srv.c.reason, sizeof r->mech_srv.c.reason, "--mechanism off");
		snprintf(r->mech_cli.c.reason, sizeof r->mech_cli.c.reason, "--mechanism off");
	}
	lv.phase_t0 = col_now();
	rc = lg_run(&r->cfg, &r->res, &hooks);
	if (rc < 0) {
		snprintf(r->failure, sizeof r->failure, "the load generator could not run: %s",
			 strerror(-rc));
	} else {
		r->ran = true;
		uncount_scan(r);
	}
	clear_progress(&lv);
	if (r->mech) {
		mech_finish(&r->mech_cli);
		mech_finish(&r->mech_srv);
	}
	if (orch_stop(&r->proc, STOP_TIMEOUT_S, err, sizeof err) < 0 && !r->failure[0])
		snprintf(r->failure, sizeof r->failure, "%s", err);
	r->probe_after_ns = probe_run();
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
	struct sigaction sa;

	memset(host, 0, sizeof *host);
	host->nofile_soft_initial = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : -1;
	if (lg_raise_nofile() < 0 && !o->quiet)
		fprintf(stderr, "evbench: warning: cannot raise the descriptor limit: %s\n",
			strerror(errno));
	col_host_read(host);
	col_reserve_fds();

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	atexit(kill_at_exit);
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
			preflight(r, host);
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
	preflight(r, host);
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

	for (int t = 0; t < ntrials && !stop_signal; t++) {
		const struct cmp_trial *tr = &plan[t];
		struct rep_run *r = new_trial(&o, tr, per, run_id, argv, &host);

		run_one(r, show_progress, t + 1, ntrials, t_start);
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
	if (o.plot && !stop_signal)
		draw_plots(dir, o.quiet);
	if (lesson && !stop_signal) {
		lesson_verdict(lesson, rows, nrows, table);
		fprintf(table, "  results and plots in %s/\n", dir);
	}
	free(rows);
	for (int i = 0; i < o.nsrv_args; i++)
		free(o.srv_args[i]);
	if (stop_signal)
		return 128 + stop_signal;
	if (o.ab)
		return write_failed ? GATE_ERROR : gate_status;
	return any_failure || write_failed ? 1 : 0;
}
