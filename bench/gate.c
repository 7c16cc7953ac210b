/*
 * gate.c - `evbench gate`, the CI performance-regression gate.
 *
 * A CI machine is shared and noisy, so the gate never compares two single
 * numbers. Each side holds K repeats of every (server, conns); for each
 * metric the gate runs Welch's t-test on the per-repeat values and calls a
 * change a regression only when it is both statistically significant (one-
 * sided, alpha family-wise with Holm's correction over every comparison in
 * the invocation) and larger than --max-regression. The interval printed
 * beside each change is the (1 - 2 alpha) Welch interval, the two-sided
 * twin of the one-sided test. docs/gate.md has the reasoning and the figures
 * that validate it on this machine.
 *
 * Two inputs escape the noise instead of modelling it: --normalize-by divides
 * each run's figures by those of a reference server measured in the same run,
 * and files of schema evbench.instructions/1 (scripts/gate_instructions.sh)
 * carry instruction counts from valgrind, compared against a plain threshold.
 */
#include "gate.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "designs.h"
#include "json.h"
#include "jsonr.h"
#include "stats.h"

#define RUN_SCHEMA   "evbench.run/1"
#define INSTR_SCHEMA "evbench.instructions/1"


struct metric {
	const char *name;   /* as printed and in --json */
	const char *path;   /* in an evbench.run/1 object */
	const char *unit;
	bool higher_better;
	bool wall_clock;    /* measured in wall time, so other processes move it */
};

static const struct metric metrics[] = {
	{ "throughput", "result.throughput_rps", "req/s", true, true },
	{ "p99 latency", "result.latency_us.p99", "us", false, true },
	{ "server CPU", "result.cpu_us_per_req.server", "us/req", false, false },
};

/* A wall-clock regression is not blamed on the server when, in the current
 * runs, other processes took this much more of the machine than in the
 * baseline's (result.utilization.others, a share of all CPUs). On a shared
 * 2-core machine throughput follows the share the benchmark gets almost
 * exactly; 0.10 is a tenth of the machine, several times the change in that
 * share between quiet runs. */
#define GATE_MAX_DISTURBANCE 0.10
#define NMETRIC (sizeof metrics / sizeof metrics[0])

/* One run: one (server, conns, repeat) of one side. */
struct run {
	char *server;
	char *run_id;       /* "" when the file has none */
	long conns;
	size_t ordinal;     /* result.repeat, else its place among the runs of
			     * (server, conns, run_id) as read */
	double m[NMETRIC];
	bool has[NMETRIC];
	double others;      /* result.utilization.others; NaN when absent */
};

struct side {
	const char *path;
	char *owned;        /* path, when the gate chose it (DIR/latest) */
	struct run *runs;
	size_t n, cap;
};

struct opts {
	const char *base, *cur;
	double max_regression;     /* a fraction: 0.10 for 10% */
	bool max_given;
	double alpha;
	size_t min_repeats;
	const char *normalize_by;
	const char *metrics;       /* paired mode: --metrics LIST, NULL for the default */
	bool json;
};

enum verdict {
	V_NO_CHANGE, V_IMPROVED, V_WORSE_SMALL, V_REGRESSION,
	V_INSUFFICIENT, V_MISSING, V_NOT_MEASURED, V_DISTURBED,
};

static const char *const verdict_name[] = {
	[V_NO_CHANGE] = "no change",
	[V_IMPROVED] = "improved",
	[V_WORSE_SMALL] = "worse, under threshold",
	[V_REGRESSION] = "REGRESSION",
	[V_INSUFFICIENT] = "insufficient data",
	[V_MISSING] = "missing in current",
	[V_NOT_MEASURED] = "not measured",
	[V_DISTURBED] = "disturbed",
};

/* One row of the report. */
struct cmp {
	const char *server;
	long conns;
	size_t metric;
	size_t nb, nc;
	double mb, mc, sdb, sdc;
	double change, lo, hi;      /* relative to the baseline mean */
	double p_worse, p_better;   /* one-sided, uncorrected */
	double p_worse_adj;         /* Holm-adjusted */
	double disturbance;         /* current minus baseline mean "others"; NaN if unknown */
	enum verdict v;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: evbench gate BASELINE CURRENT [--max-regression PCT] [--alpha A]\n"
		"                    [--min-repeats K] [--normalize-by SERVER] [--json]\n"
		"       evbench gate DIR [--max-regression PCT] [--alpha A] [--min-repeats K]\n"
		"                    [--metrics LIST] [--json]\n"
		"  BASELINE, CURRENT  results directories or JSON files made with --repeat K\n"
		"                     (or two evbench.instructions/1 files), measured apart\n"
		"  DIR                a results directory written by evbench ab: both builds\n"
		"                     interleaved, judged round by round (docs/gate.md)\n"
		"  --metrics LIST     paired: cpu, throughput, p99 (default cpu)\n"
		"  --max-regression   smallest change that counts, in percent (default 10;\n"
		"                     2 for instruction counts)\n"
		"  --alpha            family-wise significance level, one-sided (default 0.05)\n"
		"  --min-repeats      fewer repeats than this is insufficient data (default 3)\n"
		"  --normalize-by     compare each server relative to SERVER in the same run\n"
		"  --json             print the verdicts as JSON instead of a Markdown table\n"
		"exit status: 0 no regression, 1 regression, 2 usage or input error,\n"
		"             3 (paired) a comparison still undecided\n");
}

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "evbench gate: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	usage(stderr);
	return GATE_ERROR;
}

/* ---- reading results ------------------------------------------------------ */

static void report_parse_error(const char *file, const struct jr_error *e)
{
	if (e->line == 0)
		fprintf(stderr, "evbench gate: %s: %s\n", file, e->msg);
	else
		fprintf(stderr, "evbench gate: %s:%d:%d (byte %zu): %s\n", file, e->line,
			e->column, e->offset, e->msg);
}

static bool is_schema(const struct jr_value *v, const char *schema)
{
	const char *s = jr_string(jr_get(v, "schema"));
	return s && strcmp(s, schema) == 0;
}

/* The design name: `server` is a string, or an object naming it. */
static const char *server_name(const struct jr_value *run)
{
	const struct jr_value *s = jr_get(run, "server");
	const char *name = jr_string(s);
	if (!name)
		name = jr_string(jr_get(s, "name"));
	if (!name)
		name = jr_string(jr_get(s, "design"));
	return name;
}

static int add_run(struct side *sd, const struct jr_value *o, const char *file, size_t index)
{
	const char *server = server_name(o);
	double conns;
	if (!server || jr_number(jr_path(o, "load.conns"), &conns) < 0) {
		fprintf(stderr, "evbench gate: %s: run %zu has no %s\n", file, index,
			server ? "load.conns" : "server name");
		return -1;
	}
	if (sd->n == sd->cap) {
		size_t cap = sd->cap ? 2 * sd->cap : 64;
		struct run *r = realloc(sd->runs, cap * sizeof *r);
		if (!r) {
			fprintf(stderr, "evbench gate: out of memory\n");
			return -1;
		}
		sd->runs = r;
		sd->cap = cap;
	}
	struct run *r = &sd->runs[sd->n];
	memset(r, 0, sizeof *r);
	const char *id = jr_string(jr_get(o, "run_id"));
	r->server = strdup(server);
	r->run_id = strdup(id ? id : "");
	r->conns = (long)conns;
	if (!r->server || !r->run_id) {
		free(r->server);
		free(r->run_id);
		fprintf(stderr, "evbench gate: out of memory\n");
		return -1;
	}
	/* A run that did not happen (the server failed to start or died) has no
	 * figures: its repeat is lost, which shows as too few repeats rather
	 * than as a throughput of zero averaged into the others. */
	const struct jr_value *ran = jr_path(o, "result.ran");
	bool happened = !ran || ran->type != JR_BOOL || ran->boolean;
	for (size_t m = 0; m < NMETRIC; m++)
		r->has[m] = happened && jr_number(jr_path(o, metrics[m].path), &r->m[m]) == 0 &&
			    isfinite(r->m[m]);
	if (!happened || jr_number(jr_path(o, "result.utilization.others"), &r->others) < 0)
		r->others = NAN;
	/* The repeat number pairs a run with its reference's (--normalize-by);
	 * without one, the order of reading stands in for it. */
	double rep;
	if (jr_number(jr_path(o, "result.repeat"), &rep) == 0 && rep >= 0) {
		r->ordinal = (size_t)rep;
	} else {
		for (size_t i = 0; i < sd->n; i++) {
			const struct run *q = &sd->runs[i];
			if (q->conns == r->conns && strcmp(q->server, r->server) == 0 &&
			    strcmp(q->run_id, r->run_id) == 0)
				r->ordinal++;
		}
	}
	sd->n++;
	return 0;
}

/* Adds every evbench.run/1 object in a parsed file: one object, or an array
 * (or sequence) of them. Other objects are skipped. Returns runs added or -1. */
static int add_file_runs(struct side *sd, const struct jr_value *v, const char *file)
{
	size_t before = sd->n;
	if (v->type == JR_OBJECT) {
		if (is_schema(v, RUN_SCHEMA) && add_run(sd, v, file, 0) < 0)
			return -1;
	} else if (v->type == JR_ARRAY) {
		for (size_t i = 0; i < v->len; i++)
			if (is_schema(v->items[i], RUN_SCHEMA) &&
			    add_run(sd, v->items[i], file, i) < 0)
				return -1;
	}
	return (int)(sd->n - before);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads a directory's *.json files (in name order, so repeats pair up in the
 * order evbench wrote them) or one file. Malformed JSON is an error with the
 * file and position; so is a side without a single run. */
static int load_side(struct side *sd)
{
	struct stat st;
	if (stat(sd->path, &st) < 0) {
		fprintf(stderr, "evbench gate: %s: %s\n", sd->path, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t nn = 0;
	int rc = 0;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(sd->path);
		if (!d) {
			fprintf(stderr, "evbench gate: %s: %s\n", sd->path, strerror(errno));
			return -1;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!ends_with(e->d_name, ".json") || e->d_name[0] == '.')
				continue;
			char **nb = realloc(names, (nn + 1) * sizeof *nb);
			size_t len = strlen(sd->path) + strlen(e->d_name) + 2;
			char *full = nb ? malloc(len) : NULL;
			if (!full) {
				free(nb ? nb : names);
				closedir(d);
				fprintf(stderr, "evbench gate: out of memory\n");
				return -1;
			}
			snprintf(full, len, "%s/%s", sd->path, e->d_name);
			names = nb;
			names[nn++] = full;
		}
		closedir(d);
		qsort(names, nn, sizeof *names, cmp_str);
		/* evbench --out DIR writes DIR/<run-id>/ and DIR/latest: given
		 * DIR itself, the gate reads the latest run. */
		char latest[4096];
		snprintf(latest, sizeof latest, "%s/latest", sd->path);
		if (nn == 0 && !sd->owned && stat(latest, &st) == 0 && S_ISDIR(st.st_mode)) {
			char *p = strdup(latest);
			free(names);
			if (!p) {
				fprintf(stderr, "evbench gate: out of memory\n");
				return -1;
			}
			sd->path = p;
			sd->owned = p;
			return load_side(sd);
		}
	} else {
		names = malloc(sizeof *names);
		if (!names || !(names[0] = strdup(sd->path))) {
			free(names);
			fprintf(stderr, "evbench gate: out of memory\n");
			return -1;
		}
		nn = 1;
	}
	for (size_t i = 0; i < nn && rc == 0; i++) {
		struct jr_error e;
		struct jr_value *v = jr_parse_file(names[i], &e);
		if (!v) {
			report_parse_error(names[i], &e);
			rc = -1;
		} else if (add_file_runs(sd, v, names[i]) < 0) {
			rc = -1;
		}
		jr_free(v);
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	if (rc == 0 && sd->n == 0) {
		fprintf(stderr, "evbench gate: %s: no %s results in it\n", sd->path, RUN_SCHEMA);
		rc = -1;
	}
	return rc;
}

static void free_side(struct side *sd)
{
	for (size_t i = 0; i < sd->n; i++) {
		free(sd->runs[i].server);
		free(sd->runs[i].run_id);
	}
	free(sd->runs);
	free(sd->owned);
}

/* ---- normalisation ---------------------------------------------------------- */

/* The run of the reference server that shares r's run, conns and ordinal:
 * the one measured beside it, under the same machine weather. */
static const struct run *reference_of(const struct side *sd, const struct run *r,
				      const char *ref)
{
	for (size_t i = 0; i < sd->n; i++) {
		const struct run *q = &sd->runs[i];
		if (q->conns == r->conns && q->ordinal == r->ordinal &&
		    strcmp(q->server, ref) == 0 && strcmp(q->run_id, r->run_id) == 0)
			return q;
	}
	return NULL;
}

/* Replaces every figure by its ratio to the reference's; runs without a
 * reference lose their figures (they cannot be normalised). The reference's
 * own runs are dropped, since they would all be 1. Returns -1 when the
 * reference server is not in this side at all. */
static int normalize(struct side *sd, const char *ref)
{
	bool found = false;
	double (*ratio)[NMETRIC] = calloc(sd->n ? sd->n : 1, sizeof *ratio);
	bool (*ok)[NMETRIC] = calloc(sd->n ? sd->n : 1, sizeof *ok);
	if (!ratio || !ok) {
		free(ratio);
		free(ok);
		fprintf(stderr, "evbench gate: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i < sd->n; i++) {
		const struct run *r = &sd->runs[i];
		if (strcmp(r->server, ref) == 0) {
			found = true;
			continue;
		}
		const struct run *q = reference_of(sd, r, ref);
		for (size_t m = 0; q && m < NMETRIC; m++) {
			ok[i][m] = r->has[m] && q->has[m] && q->m[m] > 0;
			if (ok[i][m])
				ratio[i][m] = r->m[m] / q->m[m];
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < sd->n; i++) {
		struct run *r = &sd->runs[i];
		if (strcmp(r->server, ref) == 0) {
			free(r->server);
			free(r->run_id);
			continue;
		}
		for (size_t m = 0; m < NMETRIC; m++) {
			r->has[m] = ok[i][m];
			r->m[m] = ratio[i][m];
		}
		sd->runs[k++] = *r;
	}
	sd->n = k;
	free(ratio);
	free(ok);
	if (!found) {
		fprintf(stderr, "evbench gate: %s: no runs of the reference server %s\n",
			sd->path, ref);
		return -1;
	}
	return 0;
}

/* ---- comparing ---------------------------------------------------------------- */

/* The values of one metric for (server, conns) on one side, in buf. */
static size_t collect(const struct side *sd, const char *server, long conns, size_t m,
		      double *buf, size_t *present)
{
	size_t n = 0;
	*present = 0;
	for (size_t i = 0; i < sd->n; i++) {
		const struct run *r = &sd->runs[i];
		if (r->conns != conns || strcmp(r->server, server) != 0)
			continue;
		(*present)++;
		if (r->has[m])
			buf[n++] = r->m[m];
	}
	return n;
}

/* The mean share of the machine other processes took during the runs of
 * (server, conns) on one side; NaN when no run recorded it. */
static double mean_others(const struct side *sd, const char *server, long conns)
{
	double sum = 0;
	size_t n = 0;
	for (size_t i = 0; i < sd->n; i++) {
		const struct run *r = &sd->runs[i];
		if (r->conns == conns && strcmp(r->server, server) == 0 && !isnan(r->others)) {
			sum += r->others;
			n++;
		}
	}
	return n ? sum / (double)n : NAN;
}

static void compare_metric(const struct opts *o, const struct side *b, const struct side *c,
			   struct cmp *x, double *bufb, double *bufc)
{
	size_t presb, presc;
	x->nb = collect(b, x->server, x->conns, x->metric, bufb, &presb);
	x->nc = collect(c, x->server, x->conns, x->metric, bufc, &presc);
	x->mb = stats_mean(bufb, x->nb);
	x->mc = stats_mean(bufc, x->nc);
	x->sdb = sqrt(stats_var(bufb, x->nb));
	x->sdc = sqrt(stats_var(bufc, x->nc));
	x->change = x->lo = x->hi = NAN;
	x->p_worse = x->p_better = x->p_worse_adj = NAN;
	x->disturbance = mean_others(c, x->server, x->conns) - mean_others(b, x->server, x->conns);
	if (presc == 0) {
		x->v = V_MISSING;
		return;
	}
	if (x->nb == 0 && x->nc == 0) {
		/* A figure nobody measured (say, server CPU where the host gives
		 * none) is no evidence either way and no error. */
		x->v = V_NOT_MEASURED;
		return;
	}
	if (x->nb < o->min_repeats || x->nc < o->min_repeats || x->nb < 2 || x->nc < 2 ||
	    !(x->mb != 0)) {
		x->v = V_INSUFFICIENT;
		return;
	}
	struct stats_welch w;
	stats_welch(bufb, x->nb, bufc, x->nc, &w);
	double lo, hi;
	stats_welch_ci(&w, 1 - 2 * o->alpha, &lo, &hi);
	/* The interval of the difference divided by the baseline mean: it leaves
	 * out the baseline mean's own uncertainty in the denominator, a second-
	 * order term at the spreads benchmarks have. */
	x->change = w.diff / fabs(w.mean_a);
	x->lo = lo / fabs(w.mean_a);
	x->hi = hi / fabs(w.mean_a);
	bool higher = metrics[x->metric].higher_better;
	x->p_worse = higher ? stats_welch_p_less(&w) : stats_welch_p_greater(&w);
	x->p_better = higher ? stats_welch_p_greater(&w) : stats_welch_p_less(&w);
	x->v = V_NO_CHANGE;   /* settled in decide() once every p-value is known */
}

/* Holm over all comparisons, separately for "worse" and for "better", then
 * the threshold: a verdict needs both significance and size. */
static void decide(const struct opts *o, struct cmp *x, size_t n)
{
	double *pw = malloc((n ? n : 1) * sizeof *pw), *pb = malloc((n ? n : 1) * sizeof *pb);
	bool *rw = malloc((n ? n : 1) * sizeof *rw), *rb = malloc((n ? n : 1) * sizeof *rb);
	double *adj = malloc((n ? n : 1) * sizeof *adj);
	if (!pw || !pb || !rw || !rb || !adj) {
		/* Without memory nothing can be shown significant; say so. */
		for (size_t i = 0; i < n; i++)
			if (x[i].v == V_NO_CHANGE)
				x[i].v = V_INSUFFICIENT;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool tested = x[i].v == V_NO_CHANGE;
		pw[i] = tested ? x[i].p_worse : NAN;
		pb[i] = tested ? x[i].p_better : NAN;
	}
	stats_holm(pw, n, o->alpha, rw, adj);
	stats_holm(pb, n, o->alpha, rb, NULL);
	for (size_t i = 0; i < n; i++) {
		if (x[i].v != V_NO_CHANGE)
			continue;
		x[i].p_worse_adj = adj[i];
		double worse = metrics[x[i].metric].higher_better ? -x[i].change : x[i].change;
		if (rw[i])
			x[i].v = worse > o->max_regression ? V_REGRESSION : V_WORSE_SMALL;
		/* Slower while the neighbours took more of the machine: the
		 * figure measured them, not the server. */
		if (x[i].v == V_REGRESSION && metrics[x[i].metric].wall_clock &&
		    x[i].disturbance > GATE_MAX_DISTURBANCE)
			x[i].v = V_DISTURBED;
		else if (rb[i] && -worse > o->max_regression)
			x[i].v = V_IMPROVED;
	}
out:
	free(pw);
	free(pb);
	free(rw);
	free(rb);
	free(adj);
}

/* ---- reporting --------------------------------------------------------------- */

static void fmt_num(char *buf, size_t cap, double v)
{
	if (isnan(v))
		snprintf(buf, cap, "-");
	else if (fabs(v) >= 1000)
		snprintf(buf, cap, "%.0f", v);
	else if (fabs(v) >= 100)
		snprintf(buf, cap, "%.1f", v);
	else
		snprintf(buf, cap, "%.3g", v);
}

/* "48210 ±1.2%": the mean and the spread of the repeats as a fraction. */
static void fmt_sample(char *buf, size_t cap, double mean, double sd, size_t n)
{
	char m[32];
	fmt_num(m, sizeof m, mean);
	if (n >= 2 && mean != 0 && !isnan(sd))
		snprintf(buf, cap, "%s ±%.1f%%", m, 100 * sd / fabs(mean));
	else
		snprintf(buf, cap, "%s", m);
}

static void fmt_pct(char *buf, size_t cap, double v)
{
	if (isnan(v))
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%+.1f%%", 100 * v);
}

static void fmt_p(char *buf, size_t cap, double p)
{
	if (isnan(p))
		snprintf(buf, cap, "-");
	else if (p < 0.0001)
		snprintf(buf, cap, "<0.0001");
	else
		snprintf(buf, cap, "%.4f", p);
}

static size_t count(const struct cmp *x, size_t n, enum verdict v)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += x[i].v == v;
	return k;
}

static void print_markdown(const struct opts *o, const struct cmp *x, size_t n,
			   size_t tested, int status)
{
	size_t reg = count(x, n, V_REGRESSION);
	if (status == GATE_ERROR)
		printf("## evbench gate: incomplete (%zu regression%s)\n\n", reg, reg == 1 ? "" : "s");
	else if (reg)
		printf("## evbench gate: %zu regression%s\n\n", reg, reg == 1 ? "" : "s");
	else if (count(x, n, V_DISTURBED))
		printf("## evbench gate: no regression (%zu disturbed)\n\n", count(x, n, V_DISTURBED));
	else
		printf("## evbench gate: no regression\n\n");
	printf("Baseline `%s`, current `%s`%s%s%s. A regression is a change for the worse "
	       "larger than %g%% that Welch's t-test finds significant at alpha = %g "
	       "(one-sided, Holm-corrected over %zu comparisons). Intervals are %g%% Welch "
	       "intervals of the change; ± is the spread (standard deviation) of the repeats.\n\n",
	       o->base, o->cur, o->normalize_by ? ", every figure relative to `" : "",
	       o->normalize_by ? o->normalize_by : "", o->normalize_by ? "` in the same run" : "",
	       100 * o->max_regression, o->alpha, tested, 100 * (1 - 2 * o->alpha));
	/* The regressions first, one line each: a long table in a pull-request
	 * comment is read from the top and rarely to the end. */
	for (size_t i = 0; i < n; i++) {
		const struct cmp *c = &x[i];
		if (c->v != V_REGRESSION)
			continue;
		char ch[24], lo[24], hi[24];
		fmt_pct(ch, sizeof ch, c->change);
		fmt_pct(lo, sizeof lo, c->lo);
		fmt_pct(hi, sizeof hi, c->hi);
		printf("- **%s at %ld conns: %s %s** (%s to %s)\n", c->server, c->conns,
		       metrics[c->metric].name, ch, lo, hi);
	}
	if (reg)
		printf("\n");
	printf("| server | conns | metric | n | baseline | current | change | interval | p (Holm) | verdict |\n");
	printf("|---|--:|---|--:|--:|--:|--:|--:|--:|---|\n");
	for (size_t i = 0; i < n; i++) {
		const struct cmp *c = &x[i];
		char sb[48], sc[48], ch[24], lo[24], hi[24], iv[56], p[24];
		fmt_sample(sb, sizeof sb, c->mb, c->sdb, c->nb);
		fmt_sample(sc, sizeof sc, c->mc, c->sdc, c->nc);
		fmt_pct(ch, sizeof ch, c->change);
		fmt_pct(lo, sizeof lo, c->lo);
		fmt_pct(hi, sizeof hi, c->hi);
		if (isnan(c->lo))
			snprintf(iv, sizeof iv, "-");
		else
			snprintf(iv, sizeof iv, "%s to %s", lo, hi);
		fmt_p(p, sizeof p, c->p_worse_adj);
		char mt[64];
		if (c->v == V_MISSING)
			snprintf(mt, sizeof mt, "all");
		else
			snprintf(mt, sizeof mt, "%s (%s)", metrics[c->metric].name,
				 o->normalize_by ? "ratio" : metrics[c->metric].unit);
		char vd[64];
		if (c->v == V_DISTURBED)
			snprintf(vd, sizeof vd, "disturbed (others %+.0f%% of the machine)",
				 100 * c->disturbance);
		else if (c->v == V_REGRESSION)
			snprintf(vd, sizeof vd, "**%s**", verdict_name[c->v]);
		else
			snprintf(vd, sizeof vd, "%s", verdict_name[c->v]);
		printf("| %s | %ld | %s | %zu/%zu | %s | %s | %s | %s | %s | %s |\n",
		       c->server, c->conns, mt, c->nb, c->nc, sb, sc, ch, iv, p, vd);
	}
	size_t ins = count(x, n, V_INSUFFICIENT), mis = count(x, n, V_MISSING);
	size_t dis = count(x, n, V_DISTURBED);
	if (dis)
		printf("\n%zu wall-clock comparison%s would be %s, but during the current "
		       "runs other processes took at least %.0f%% more of the machine than during "
		       "the baseline's (result.utilization.others); %s not blamed on the server and "
		       "%s not fail the gate. Server CPU per request is still gated.\n",
		       dis, dis == 1 ? "" : "s", dis == 1 ? "a regression" : "regressions",
		       100 * GATE_MAX_DISTURBANCE,
		       dis == 1 ? "it is" : "they are", dis == 1 ? "does" : "do");
	if (ins)
		printf("\n%zu comparison%s had fewer than %zu repeats on a side: insufficient "
		       "data is neither a pass nor a failure, and makes the gate exit 2.\n",
		       ins, ins == 1 ? "" : "s", o->min_repeats);
	if (mis)
		printf("\n%zu comparison%s of the baseline are missing from the current results "
		       "(a server that did not run, or failed): the gate exits 2.\n",
		       mis, mis == 1 ? "" : "s");
}

static void print_json(const struct opts *o, const struct cmp *x, size_t n, int status)
{
	struct json_writer w;
	json_init(&w, stdout, 2);
	json_begin_object(&w);
	json_kv_string(&w, "schema", "evbench.gate/1");
	json_kv_string(&w, "verdict", status == GATE_PASS ? "pass" :
				      status == GATE_REGRESSION ? "regression" : "incomplete");
	json_kv_int(&w, "exit_status", status);
	json_kv_string(&w, "baseline", o->base);
	json_kv_string(&w, "current", o->cur);
	json_key(&w, "normalize_by");
	json_string(&w, o->normalize_by);
	json_kv_string(&w, "test", "welch-t, one-sided");
	json_kv_double(&w, "alpha", o->alpha);
	json_kv_string(&w, "correction", "holm");
	json_kv_double(&w, "interval_level", 1 - 2 * o->alpha);
	json_kv_double(&w, "max_regression_pct", 100 * o->max_regression);
	json_kv_uint(&w, "min_repeats", o->min_repeats);
	json_key(&w, "comparisons");
	json_begin_array(&w);
	for (size_t i = 0; i < n; i++) {
		const struct cmp *c = &x[i];
		json_begin_object(&w);
		json_kv_string(&w, "server", c->server);
		json_kv_int(&w, "conns", c->conns);
		json_kv_string(&w, "metric", metrics[c->metric].name);
		json_kv_string(&w, "unit", o->normalize_by ? "ratio" : metrics[c->metric].unit);
		json_kv_string(&w, "better", metrics[c->metric].higher_better ? "higher" : "lower");
		json_key(&w, "baseline");
		json_begin_object(&w);
		json_kv_uint(&w, "n", c->nb);
		json_kv_double(&w, "mean", c->mb);
		json_kv_double(&w, "sd", c->sdb);
		json_end_object(&w);
		json_key(&w, "current");
		json_begin_object(&w);
		json_kv_uint(&w, "n", c->nc);
		json_kv_double(&w, "mean", c->mc);
		json_kv_double(&w, "sd", c->sdc);
		json_end_object(&w);
		json_kv_double(&w, "change_pct", 100 * c->change);
		json_kv_double(&w, "interval_lo_pct", 100 * c->lo);
		json_kv_double(&w, "interval_hi_pct", 100 * c->hi);
		json_kv_double(&w, "p_worse", c->p_worse);
		json_kv_double(&w, "p_worse_holm", c->p_worse_adj);
		json_kv_double(&w, "others_change", c->disturbance);
		json_kv_string(&w, "verdict", verdict_name[c->v]);
		json_end_object(&w);
	}
	json_end_array(&w);
	json_end_object(&w);
	json_finish(&w);
}

/* ---- instruction counts ------------------------------------------------------- */

/* The benchmark called name in an array of them, or NULL. */
static const struct jr_value *find_bench(const struct jr_value *list, const char *name)
{
	for (size_t j = 0; name && j < list->len; j++) {
		const char *n = jr_string(jr_get(list->items[j], "name"));
		if (n && strcmp(n, name) == 0)
			return list->items[j];
	}
	return NULL;
}

/* evbench.instructions/1: {"schema", "tool", "benchmarks": [{"name", "ir"}]}.
 * Counts of executed instructions hardly move between runs of one binary, so
 * no statistics are needed: the threshold is the whole test. */
static int gate_instructions(const struct opts *o, const struct jr_value *b,
			     const struct jr_value *c)
{
	const struct jr_value *lb = jr_get(b, "benchmarks"), *lc = jr_get(c, "benchmarks");
	if (!lb || lb->type != JR_ARRAY || !lc || lc->type != JR_ARRAY) {
		fprintf(stderr, "evbench gate: %s: no \"benchmarks\" array\n",
			!lb || lb->type != JR_ARRAY ? o->base : o->cur);
		return GATE_ERROR;
	}
	double thr = o->max_given ? o->max_regression : 0.02;
	int status = GATE_PASS;
	size_t reg = 0;
	struct json_writer w;
	for (size_t i = 0; i < lb->len; i++) {
		const char *name = jr_string(jr_get(lb->items[i], "name"));
		double ib;
		if (!name || jr_number(jr_get(lb->items[i], "ir"), &ib) < 0 || !(ib > 0)) {
			fprintf(stderr, "evbench gate: %s: benchmark %zu has no name or ir\n", o->base, i);
			return GATE_ERROR;
		}
	}
	if (o->json) {
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_kv_string(&w, "schema", "evbench.gate/1");
		json_kv_string(&w, "mode", "instructions");
		json_kv_double(&w, "max_regression_pct", 100 * thr);
		json_key(&w, "comparisons");
		json_begin_array(&w);
	} else {
		size_t would = 0;
		for (size_t i = 0; i < lb->len; i++) {
			double b0, c0;
			const struct jr_value *m =
				find_bench(lc, jr_string(jr_get(lb->items[i], "name")));
			if (jr_number(jr_get(m, "ir"), &c0) == 0 &&
			    jr_number(jr_get(lb->items[i], "ir"), &b0) == 0 && (c0 - b0) / b0 > thr)
				would++;
		}
		printf("## evbench gate (instruction counts): %s\n\n",
		       would ? "regression" : "no regression");
		printf("Baseline `%s`, current `%s`. Executed instructions (valgrind Ir) of each "
		       "benchmark; a regression is an increase over %g%%. Counts of one binary on "
		       "one input barely move between runs, so no statistics are needed.\n\n",
		       o->base, o->cur, 100 * thr);
		printf("| benchmark | baseline Ir | current Ir | change | verdict |\n");
		printf("|---|--:|--:|--:|---|\n");
	}
	for (size_t i = 0; i < lb->len; i++) {
		const char *name = jr_string(jr_get(lb->items[i], "name"));
		double ib, ic = NAN;
		jr_number(jr_get(lb->items[i], "ir"), &ib);
		const struct jr_value *m = find_bench(lc, name);
		const char *v;
		double change = NAN;
		if (!m || jr_number(jr_get(m, "ir"), &ic) < 0) {
			v = verdict_name[V_MISSING];
			status = GATE_ERROR;
		} else {
			change = (ic - ib) / ib;
			v = change > thr ? verdict_name[V_REGRESSION] :
			    change < -thr ? verdict_name[V_IMPROVED] : verdict_name[V_NO_CHANGE];
			if (change > thr) {
				reg++;
				if (status == GATE_PASS)
					status = GATE_REGRESSION;
			}
		}
		if (o->json) {
			json_begin_object(&w);
			json_kv_string(&w, "benchmark", name);
			json_kv_double(&w, "baseline_ir", ib);
			json_kv_double(&w, "current_ir", ic);
			json_kv_double(&w, "change_pct", 100 * change);
			json_kv_string(&w, "verdict", v);
			json_end_object(&w);
		} else {
			char ch[24], cur[32];
			if (isnan(change))
				snprintf(ch, sizeof ch, "-");
			else
				snprintf(ch, sizeof ch, "%+.2f%%", 100 * change);
			if (isnan(ic))
				snprintf(cur, sizeof cur, "-");
			else
				snprintf(cur, sizeof cur, "%.0f", ic);
			bool bold = change > thr;
			printf("| %s | %.0f | %s | %s | %s%s%s |\n", name, ib, cur, ch,
			       bold ? "**" : "", v, bold ? "**" : "");
		}
	}
	if (o->json) {
		json_end_array(&w);
		json_kv_string(&w, "verdict", status == GATE_PASS ? "pass" :
					      status == GATE_REGRESSION ? "regression" : "incomplete");
		json_kv_int(&w, "exit_status", status);
		json_end_object(&w);
		json_finish(&w);
	} else {
		printf("\n%zu regression%s.\n", reg, reg == 1 ? "" : "s");
	}
	return status;
}

/* Instruction files are single JSON files; a directory never is one. */
static struct jr_value *try_instructions(const char *path, int *failed)
{
	struct stat st;
	*failed = 0;
	if (stat(path, &st) < 0 || S_ISDIR(st.st_mode))
		return NULL;
	struct jr_error e;
	struct jr_value *v = jr_parse_file(path, &e);
	if (!v) {
		report_parse_error(path, &e);
		*failed = 1;
		return NULL;
	}
	if (!is_schema(v, INSTR_SCHEMA)) {
		jr_free(v);
		return NULL;
	}
	return v;
}

/* ---- the command ----------------------------------------------------------------- */

static int parse_args(int argc, char **argv, struct opts *o)
{
	const char *pos[2];
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (npos == 2)
				return bad_usage("unexpected argument '%s'", a);
			pos[npos++] = a;
			continue;
		}
		char name[32];
		const char *eq = strchr(a, '=');
		size_t nl = eq ? (size_t)(eq - a) : strlen(a);
		if (nl >= sizeof name)
			return bad_usage("unknown option '%s'", a);
		memcpy(name, a, nl);
		name[nl] = '\0';
		if (strcmp(name, "--max-regression") != 0 && strcmp(name, "--alpha") != 0 &&
		    strcmp(name, "--min-repeats") != 0 && strcmp(name, "--normalize-by") != 0 &&
		    strcmp(name, "--metrics") != 0)
			return bad_usage("unknown option '%s'", name);
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return bad_usage("%s needs a value", name);
		char *end;
		errno = 0;
		if (strcmp(name, "--max-regression") == 0) {
			double v = strtod(val, &end);
			if (*end == '%')
				end++;
			if (end == val || *end || errno || !(v >= 0) || v > 1000)
				return bad_usage("--max-regression: a percentage from 0 to 1000, got '%s'", val);
			o->max_regression = v / 100;
			o->max_given = true;
		} else if (strcmp(name, "--alpha") == 0) {
			double v = strtod(val, &end);
			if (end == val || *end || errno || !(v > 0) || !(v < 0.5))
				return bad_usage("--alpha: a level between 0 and 0.5, got '%s'", val);
			o->alpha = v;
		} else if (strcmp(name, "--min-repeats") == 0) {
			long v = strtol(val, &end, 10);
			if (end == val || *end || errno || v < 2 || v > 1000000)
				return bad_usage("--min-repeats: an integer >= 2, got '%s'", val);
			o->min_repeats = (size_t)v;
		} else if (strcmp(name, "--metrics") == 0) {
			o->metrics = val;
		} else if (strcmp(name, "--normalize-by") == 0) {
			if (!*val)
				return bad_usage("--normalize-by: a server name, got '%s'", val);
			/* An alias names its row, as in the results (designs.h). */
			const struct evb_design *d = evb_design_find(val);

			o->normalize_by = d ? d->name : val;
		} else {
			return bad_usage("unknown option '%s'", name);
		}
	}
	if (npos == 1) {
		/* One directory: paired data written by `evbench ab`. */
		o->base = pos[0];
		o->cur = NULL;
		if (o->normalize_by)
			return bad_usage("%s", "--normalize-by compares two unpaired directories; "
					 "a paired directory already divides by the baseline");
		return 0;
	}
	if (o->metrics)
		return bad_usage("%s", "--metrics applies to a paired directory (evbench ab)");
	if (npos != 2)
		return bad_usage("%s", "needs BASELINE and CURRENT, or one directory written by "
				 "evbench ab");
	o->base = pos[0];
	o->cur = pos[1];
	return 0;
}

/* The (server, conns) pairs of the baseline, in the order it lists them. */
static int collect_keys(const struct side *b, size_t **keys, size_t *nk)
{
	*keys = malloc((b->n ? b->n : 1) * sizeof **keys);
	*nk = 0;
	if (!*keys)
		return -1;
	for (size_t i = 0; i < b->n; i++) {
		bool seen = false;
		for (size_t k = 0; k < *nk && !seen; k++) {
			const struct run *q = &b->runs[(*keys)[k]];
			seen = q->conns == b->runs[i].conns && strcmp(q->server, b->runs[i].server) == 0;
		}
		if (!seen)
			(*keys)[(*nk)++] = i;
	}
	return 0;
}

int gate_parse_metrics(const char *list, bool gated[CMP_NMETRICS])
{
	char buf[128], *save = NULL;

	for (int m = 0; m < CMP_NMETRICS; m++)
		gated[m] = list == NULL && m == CMP_SERVER_CPU;
	if (!list)
		return 0;
	if (strlen(list) >= sizeof buf || !list[0])
		return -1;
	strcpy(buf, list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "cpu"))
			gated[CMP_SERVER_CPU] = true;
		else if (!strcmp(t, "throughput"))
			gated[CMP_THROUGHPUT] = true;
		else if (!strcmp(t, "p99"))
			gated[CMP_P99] = true;
		else
			return -1;
	}
	return 0;
}

/* `evbench gate DIR`: the paired comparisons `evbench ab` wrote. */
static int gate_paired_dir(const struct opts *o)
{
	struct cmp_rule rule = { .max_regression = o->max_regression, .alpha = o->alpha,
				 .looks = 1, .min_rounds = (int)o->min_repeats };
	struct cmp_result *res;
	char err[PATH_MAX + 128], dir[PATH_MAX];
	struct stat st;
	int n, rc;

	if (gate_parse_metrics(o->metrics, rule.gated) < 0)
		return bad_usage("--metrics: a comma-separated list of cpu, throughput and p99, "
				 "got '%s'", o->metrics);
	/* A directory of runs, or one whose `latest` points at them. */
	snprintf(dir, sizeof dir, "%s/latest", o->base);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		snprintf(dir, sizeof dir, "%s", o->base);
	snprintf(err, sizeof err, "%s/comparisons.json", dir);
	if (stat(err, &st) != 0)
		return bad_usage("%s holds no comparisons.json: one directory is the output of "
				 "evbench ab; to compare two result sets, give BASELINE and CURRENT",
				 o->base);
	n = gate_paired_load(dir, &res, err, sizeof err);
	if (n < 0) {
		fprintf(stderr, "evbench gate: %s\n", err);
		return GATE_ERROR;
	}
	rc = gate_paired_report(stdout, dir, res, n, &rule, o->json);
	cmp_free(res, n);
	return rc;
}

int gate_main(int argc, char **argv)
{
	struct opts o = { .max_regression = 0.10, .alpha = 0.05, .min_repeats = 3 };
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc == 1 ? GATE_PASS : rc;
	if (!o.cur)
		return gate_paired_dir(&o);
	/* Two directories measured apart: their difference holds the
	 * machine's drift between them as much as the change. */
	fprintf(stderr, "evbench gate: note: BASELINE and CURRENT were measured at different times, "
		"so their difference includes the machine's drift; `evbench ab` measures both builds "
		"interleaved in one run, and `evbench gate DIR` judges that (docs/gate.md)\n");

	int fb, fc = 0;
	struct jr_value *ib = try_instructions(o.base, &fb);
	struct jr_value *ic = fb ? NULL : try_instructions(o.cur, &fc);
	if (fb || (!fb && fc) || (!ib) != (!ic)) {
		if (!fb && !fc)
			fprintf(stderr, "evbench gate: %s is a file of instruction counts and %s is "
				"not; compare like with like\n", ib ? o.base : o.cur, ib ? o.cur : o.base);
		jr_free(ib);
		jr_free(ic);
		return GATE_ERROR;
	}
	if (ib) {
		rc = gate_instructions(&o, ib, ic);
		jr_free(ib);
		jr_free(ic);
		return rc;
	}

	struct side b = { .path = o.base }, c = { .path = o.cur };
	struct cmp *x = NULL;
	size_t *keys = NULL, nk = 0, n = 0;
	double *bufb = NULL, *bufc = NULL;
	rc = GATE_ERROR;
	if (load_side(&b) < 0 || load_side(&c) < 0)
		goto out;
	if (o.normalize_by && (normalize(&b, o.normalize_by) < 0 || normalize(&c, o.normalize_by) < 0))
		goto out;
	o.base = b.path;   /* as resolved: DIR/latest when given DIR */
	o.cur = c.path;
	bufb = malloc((b.n ? b.n : 1) * sizeof *bufb);
	bufc = malloc((c.n ? c.n : 1) * sizeof *bufc);
	if (!bufb || !bufc || collect_keys(&b, &keys, &nk) < 0 ||
	    !(x = calloc(nk * NMETRIC + 1, sizeof *x))) {
		fprintf(stderr, "evbench gate: out of memory\n");
		goto out;
	}
	for (size_t k = 0; k < nk; k++) {
		for (size_t m = 0; m < NMETRIC; m++) {
			struct cmp *e = &x[n];
			e->server = b.runs[keys[k]].server;
			e->conns = b.runs[keys[k]].conns;
			e->metric = m;
			compare_metric(&o, &b, &c, e, bufb, bufc);
			/* A missing pair is one row, not one per metric. */
			if (e->v == V_MISSING && m > 0)
				continue;
			if (e->v != V_NOT_MEASURED)
				n++;
		}
	}
	decide(&o, x, n);
	size_t tested = 0;
	for (size_t i = 0; i < n; i++)
		tested += !isnan(x[i].p_worse);
	rc = GATE_PASS;
	if (count(x, n, V_REGRESSION))
		rc = GATE_REGRESSION;
	/* An incomplete comparison is never a pass; and a missing server or too
	 * few repeats is something to fix before any verdict is trusted, so it
	 * outranks a regression (the table still shows the regressions). */
	if (count(x, n, V_INSUFFICIENT) || count(x, n, V_MISSING))
		rc = GATE_ERROR;
	if (o.json)
		print_json(&o, x, n, rc);
	else
		print_markdown(&o, x, n, tested, rc);
	/* Servers only in the current results are new, not a comparison. */
	for (size_t i = 0; i < c.n; i++) {
		bool known = false, earlier = false;
		for (size_t j = 0; j < b.n && !known; j++)
			known = b.runs[j].conns == c.runs[i].conns &&
				strcmp(b.runs[j].server, c.runs[i].server) == 0;
		for (size_t j = 0; j < i && !earlier; j++)
			earlier = c.runs[j].conns == c.runs[i].conns &&
				  strcmp(c.runs[j].server, c.runs[i].server) == 0;
		if (!known && !earlier)
			fprintf(stderr, "evbench gate: note: %s at %ld conns is only in the current "
				"results; not compared\n", c.runs[i].server, c.runs[i].conns);
	}
out:
	free(x);
	free(keys);
	free(bufb);
	free(bufc);
	free_side(&b);
	free_side(&c);
	return rc;
}
