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
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab.h"
#include "agent.h"
#include "cli.h"
#include "collect.h"
#include "compare.h"
#include "gate.h"
#include "html.h"
#include "json.h"
#include "lesson.h"
#include "loadgen.h"
#include "merge.h"
#include "orch.h"
#include "probe.h"
#include "procfs.h"
#include "report.h"
#include "stats.h"
#include "trial.h"

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
		cli_die("out of memory");
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

/* The comparisons of rows, listed in sweep order. Returns their number, or
 * -1 with errno. */
static int compare_in_sweep_order(const struct opts *o, const struct rep_row *rows, int nrows,
				  struct cmp_result **res)
{
	struct rep_row *sorted = in_sweep_order(o, rows, nrows);
	struct cmp_pair pairs[CLI_MAX_SERVERS];
	int n = cmp_compute(sorted, nrows, pairs, sweep_pairs(o, pairs), rep_rounds(rows, nrows),
			    res);

	free(sorted);
	return n;
}

static int write_comparisons(const struct opts *o, const char *run_id, const char *dir,
			     const struct rep_row *rows, int nrows)
{
	struct cmp_sweep sw = {
		.run_id = run_id, .order = o->order, .seed = o->seed,
		.rounds = rep_rounds(rows, nrows), .reference = o->reference,
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
		cli_die("out of memory");
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
	      "  fd-limit: connection attempts lost to descriptor limits (docs/results.md);\n"
	      "  '-' for a user's server, which does not report what it shed\n", f);
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
 * build and metric: the median of its rounds, smaller- or bigger-is-better
 * (its "customSmallerIsBetter" / "customBiggerIsBetter" formats). Returns 0,
 * or -1 when f could not be written. */
static int github_entries(FILE *f, const struct opts *o, const struct rep_row *rows, int nrows,
			  bool bigger)
{
	struct json_writer w;

	json_init(&w, f, 2);
	json_begin_array(&w);
	for (int si = 1; si < o->nservers; si += 2)
		for (int ci = 0; ci < o->nconns; ci++)
			for (int m = 0; m < CMP_NMETRICS; m++) {
				double v[AB_MAX_ROUNDS * 20];
				int k = 0;

				if (cmp_metrics[m].higher_better != bigger)
					continue;
				for (int i = 0; i < nrows && k < AB_MAX_ROUNDS * 20; i++) {
					const struct rep_row *r = &rows[i];
					double x = cmp_figure(r, m);

					if (r->conns == o->loads[ci].conns && !isnan(x) &&
					    !strcmp(r->server, o->servers[si].name))
						v[k++] = x;
				}
				if (!k)
					continue;
				{
					struct stats_median_ci med;
					char name[64], range[64], extra[32];
					int base = (int)(strchr(o->servers[si].name, '@') - o->servers[si].name);

					/* Sorts v: v[0] and v[k - 1] are the range. */
					stats_median_ci(v, (size_t)k, CMP_LEVEL, &med);
					snprintf(name, sizeof name, "%.*s c=%ld %s", base, o->servers[si].name,
						 o->loads[ci].conns, cmp_metrics[m].label);
					snprintf(range, sizeof range, "%.6g..%.6g", v[0], v[k - 1]);
					snprintf(extra, sizeof extra, "median of %d rounds", k);
					json_begin_object(&w);
					json_kv_string(&w, "name", name);
					json_kv_string(&w, "unit", cmp_metrics[m].unit);
					json_kv_double(&w, "value", med.median);
					json_kv_string(&w, "range", range);
					json_kv_string(&w, "extra", extra);
					json_end_object(&w);
				}
			}
	json_end_array(&w);
	return json_finish(&w);
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
		cli_die("out of memory");
	status = gate_paired_report(stdout, dir, res, n, &o->rule, o->json);
	snprintf(path, sizeof path, "%s/gate.md", dir);
	if ((f = fopen(path, "we"))) {
		gate_paired_report(f, dir, res, n, &o->rule, false);
		fclose(f);
	}
	for (int bigger = 0; bigger < 2; bigger++) {
		snprintf(path, sizeof path, "%s/github-%s-is-better.json", dir,
			 bigger ? "bigger" : "smaller");
		bool bad;

		if (!(f = fopen(path, "we"))) {
			fprintf(stderr, "evbench: %s: %s\n", path, strerror(errno));
			continue;
		}
		bad = github_entries(f, o, rows, nrows, bigger) < 0;
		if (fclose(f) != 0 || bad)
			fprintf(stderr, "evbench: %s: could not be written\n", path);
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
		cli_die_usage("report: expected one results directory, as in evbench report results/latest");
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
		cli_die_usage("lesson: which one? (evbench lesson --list)");
	if (!strcmp((*argv)[2], "--list")) {
		lesson_list(stdout);
		exit(0);
	}
	lesson = lesson_find((*argv)[2]);
	if (!lesson)
		cli_die_bad("lesson: unknown lesson '%s' (evbench lesson --list shows them)", (*argv)[2]);
	largv = lesson_argv(lesson, (*argv)[0], argc - 3, *argv + 3, &largc);
	if (!largv)
		cli_die("out of memory");
	*argv = largv;
	cli_parse(o, largc, largv, false);
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
				cli_die("out of memory");
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
		cli_die("out of memory");
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
	r->agents = o->agents;
	r->mech_tasks = o->mech == MECH_ON;
	r->server_args = o->srv_args;
	r->ready_timeout_s = o->ready_timeout_s;
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

/* What went wrong in a trial, told on stderr unless --quiet; whether it
 * fails the run (evbench's exit status 1). */
static bool trial_failed(const struct opts *o, const struct rep_run *r)
{
	bool failed = false;

	if (r->failure[0]) {
		/* A design this machine cannot run is recorded, not failed. */
		failed = !r->proc.unavailable;
		if (!o->quiet)
			fprintf(stderr, "evbench: %s c=%ld: %s\n", r->srv->name, r->cfg.conns,
				r->failure);
	}
	if (r->proc.note[0] && !o->quiet)
		fprintf(stderr, "evbench: %s c=%ld: warning: %s\n", r->srv->name, r->cfg.conns,
			r->proc.note);
	if (r->ran && r->res.verify_mismatch > 0) {
		/* Wrong bytes are the server's failure to serve, not a figure:
		 * a run with no verified reply failed. */
		failed |= r->res.replies == 0;
		if (!o->quiet)
			fprintf(stderr, "evbench: %s c=%ld: %llu replies were not what the "
				"protocol says (%llu verified; docs/protocol.md)\n",
				r->srv->name, r->cfg.conns, (unsigned long long)r->res.verify_mismatch,
				(unsigned long long)r->res.replies);
	}
	return failed;
}

/* The commands that run no trial: their exit status, or -1 for a sweep,
 * a lesson or ab (the rest of main). */
static int other_command(int argc, char **argv)
{
	if (strcmp(argv[0], "gate") == 0) {
		struct gate_opts g;

		cli_parse_gate(&g, argc, argv);
		return gate_run(&g);
	}
	if (strcmp(argv[0], "report") == 0)
		return report_main(argc, argv);
	if (strcmp(argv[0], "agent") == 0)
		return agent_main(argc, argv);
	if (strcmp(argv[0], "merge") == 0)
		return merge_main(argc, argv);
	return -1;
}

int main(int argc, char **argv)
{
	/* Static: what the options point to (a user's command, the agents'
	 * spec) lives as long as evbench, and stays reachable to the end. */
	static struct opts o;
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
	int other;

	if (argc > 1 && (other = other_command(argc - 1, argv + 1)) >= 0)
		return other;
	if (argc > 1 && strcmp(argv[1], "lesson") == 0)
		lesson = parse_lesson(&o, argc, &argv);
	else if (argc > 1 && strcmp(argv[1], "ab") == 0)
		cli_parse(&o, argc - 1, argv + 1, true);
	else
		cli_parse(&o, argc, argv, false);
	o.argv = argv;   /* a lesson's as run; reachable till the end, being o's */

	prepare_machine(&o, &host);

	if (rep_open_dir(o.out, run_id, sizeof run_id, dir, sizeof dir) < 0)
		cli_die("cannot create a results directory under %s: %s", o.out, strerror(errno));

	warn_up_front(&o, &host);
	if (o.agents)
		o.agents->save_dir = dir;

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
		cli_die("out of memory");
	for (int g = 0; g < per; g++)
		if (hist_init(&merged[g]) != 0)
			cli_die("out of memory");
	cmp_plan(o.nservers, o.nconns, o.repeat, o.order, o.seed, plan);

	for (int t = 0; t < ntrials && !trial_stop_signal(); t++) {
		const struct cmp_trial *tr = &plan[t];
		struct rep_run *r = new_trial(&o, tr, per, run_id, o.argv, &host);

		trial_run(r, show_progress, t + 1, ntrials, t_start);
		rep_row_fill(&rows[nrows++], r, &host);
		write_failed |= !record_trial(&o, run_id, dir, r, rows, nrows, &host);
		any_failure |= trial_failed(&o, r);
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
