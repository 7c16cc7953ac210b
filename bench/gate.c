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
#include "gate_int.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "designs.h"

const struct metric gate__metrics[] = {
	{ "throughput", "result.throughput_rps", "req/s", true, true },
	{ "p99 latency", "result.latency_us.p99", "us", false, true },
	{ "server CPU", "result.cpu_us_per_req.server", "us/req", false, false },
};

_Static_assert(sizeof gate__metrics / sizeof *gate__metrics == NMETRIC, "NMETRIC, gate_int.h");

const char *const gate__verdict_name[] = {
	[V_NO_CHANGE] = "no change",
	[V_IMPROVED] = "improved",
	[V_WORSE_SMALL] = "worse, under threshold",
	[V_REGRESSION] = "REGRESSION",
	[V_INSUFFICIENT] = "insufficient data",
	[V_MISSING] = "missing in current",
	[V_NOT_MEASURED] = "not measured",
	[V_DISTURBED] = "disturbed",
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
		int m = 0;

		while (m < CMP_NMETRICS && strcmp(t, cmp_metrics[m].option) != 0)
			m++;
		if (m == CMP_NMETRICS)
			return -1;
		gated[m] = true;
	}
	return 0;
}

/* `evbench gate DIR`: the paired comparisons `evbench ab` wrote. */
static int gate_paired_dir(const struct opts *o)
{
	struct cmp_rule rule = { .max_regression = o->max_regression, .clear = CMP_CLEAR,
				 .alpha = o->alpha, .looks = 1, .min_rounds = (int)o->min_repeats };
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

/* BASELINE and CURRENT as results: every (server, conns) of the baseline,
 * each metric compared, the verdicts decided together, the report printed.
 * Returns the exit status. */
static int compare_dirs(struct opts o)
{
	int rc;
	struct side b = { .path = o.base }, c = { .path = o.cur };
	struct cmp *x = NULL;
	size_t *keys = NULL, nk = 0, n = 0;
	double *bufb = NULL, *bufc = NULL;
	rc = GATE_ERROR;
	if (gate__load_side(&b) < 0 || gate__load_side(&c) < 0)
		goto out;
	if (o.normalize_by && (gate__normalize(&b, o.normalize_by) < 0 ||
			       gate__normalize(&c, o.normalize_by) < 0))
		goto out;
	o.base = b.path;   /* as resolved: DIR/latest when given DIR */
	o.cur = c.path;
	bufb = malloc((b.n ? b.n : 1) * sizeof *bufb);
	bufc = malloc((c.n ? c.n : 1) * sizeof *bufc);
	if (!bufb || !bufc || gate__collect_keys(&b, &keys, &nk) < 0 ||
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
			gate__compare_metric(&o, &b, &c, e, bufb, bufc);
			/* A missing pair is one row, not one per metric. */
			if (e->v == V_MISSING && m > 0)
				continue;
			if (e->v != V_NOT_MEASURED)
				n++;
		}
	}
	gate__decide(&o, x, n);
	size_t tested = 0;
	for (size_t i = 0; i < n; i++)
		tested += !isnan(x[i].p_worse);
	rc = GATE_PASS;
	if (gate__count(x, n, V_REGRESSION))
		rc = GATE_REGRESSION;
	/* An incomplete comparison is never a pass; and a missing server or too
	 * few repeats is something to fix before any verdict is trusted, so it
	 * outranks a regression (the table still shows the regressions). */
	if (gate__count(x, n, V_INSUFFICIENT) || gate__count(x, n, V_MISSING))
		rc = GATE_ERROR;
	if (o.json)
		gate__print_json(&o, x, n, rc);
	else
		gate__print_markdown(&o, x, n, tested, rc);
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
	gate__free_side(&b);
	gate__free_side(&c);
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
	{
		/* Every missing path in one line, not the first alone; and the
		 * same directory twice is no comparison. */
		struct stat sb, sc;
		bool nb = stat(o.base, &sb) != 0, nc = stat(o.cur, &sc) != 0;

		if (nb || nc) {
			fprintf(stderr, "evbench gate: %s%s%s: no such file or directory\n",
				nb ? o.base : "", nb && nc ? ", " : "", nc ? o.cur : "");
			return GATE_ERROR;
		}
		if (sb.st_dev == sc.st_dev && sb.st_ino == sc.st_ino)
			fprintf(stderr, "evbench gate: warning: BASELINE and CURRENT are the same %s "
				"(%s): every comparison will find no change\n",
				S_ISDIR(sb.st_mode) ? "directory" : "file", o.base);
	}
	/* Two directories measured apart: their difference holds the
	 * machine's drift between them as much as the change. */
	fprintf(stderr, "evbench gate: note: BASELINE and CURRENT were measured at different times, "
		"so their difference includes the machine's drift; `evbench ab` measures both builds "
		"interleaved in one run, and `evbench gate DIR` judges that (docs/gate.md)\n");

	int fb, fc = 0;
	struct jr_value *ib = gate__try_instructions(o.base, &fb);
	struct jr_value *ic = fb ? NULL : gate__try_instructions(o.cur, &fc);
	if (fb || (!fb && fc) || (!ib) != (!ic)) {
		if (!fb && !fc)
			fprintf(stderr, "evbench gate: %s is a file of instruction counts and %s is "
				"not; compare like with like\n", ib ? o.base : o.cur, ib ? o.cur : o.base);
		jr_free(ib);
		jr_free(ic);
		return GATE_ERROR;
	}
	if (ib) {
		rc = gate__instructions(&o, ib, ic);
		jr_free(ib);
		jr_free(ic);
		return rc;
	}

	return compare_dirs(o);
}
