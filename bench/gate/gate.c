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

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


const struct metric gate__metrics[] = {
	{ CMP_THROUGHPUT, "result.throughput_rps", true },
	{ CMP_P99, "result.latency_us.p99", true },
	{ CMP_SERVER_CPU, "result.cpu_us_per_req.server", false },
};

_Static_assert(sizeof gate__metrics / sizeof *gate__metrics == NMETRIC, "NMETRIC, gate_int.h");

/* `evbench gate DIR`: the paired comparisons `evbench ab` wrote. */
static int gate_paired_dir(const struct gate_opts *o)
{
	struct cmp_result *res;
	char err[PATH_MAX + 128], dir[PATH_MAX];
	struct stat st;
	int n, rc;

	/* A directory of runs, or one whose `latest` points at them. */
	snprintf(dir, sizeof dir, "%s/latest", o->base);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		snprintf(dir, sizeof dir, "%s", o->base);
	snprintf(err, sizeof err, "%s/comparisons.json", dir);
	if (stat(err, &st) != 0) {
		fprintf(stderr, "evbench gate: %s holds no comparisons.json: one directory is the "
			"output of evbench ab; to compare two result sets, give BASELINE and CURRENT\n",
			o->base);
		return GATE_ERROR;
	}
	n = gate_paired_load(dir, &res, err, sizeof err);
	if (n < 0) {
		fprintf(stderr, "evbench gate: %s\n", err);
		return GATE_ERROR;
	}
	rc = gate_paired_report(stdout, dir, res, n, &o->rule, o->json);
	cmp_free(res, n);
	return rc;
}

/* BASELINE and CURRENT as results: every (server, conns) of the baseline,
 * each metric compared, the verdicts decided together, the report printed.
 * Returns the exit status. */
static int compare_dirs(struct gate_opts o)
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
			if (e->v == CMP_V_MISSING && m > 0)
				continue;
			if (e->v != CMP_V_NOT_MEASURED)
				n++;
		}
	}
	gate__decide(&o, x, n);
	size_t tested = 0;
	for (size_t i = 0; i < n; i++)
		tested += !isnan(x[i].p_worse);
	rc = GATE_PASS;
	if (gate__count(x, n, CMP_V_REGRESSION))
		rc = GATE_REGRESSION;
	/* An incomplete comparison is never a pass; and a missing server or too
	 * few repeats is something to fix before any verdict is trusted, so it
	 * outranks a regression (the table still shows the regressions). */
	if (gate__count(x, n, CMP_V_INSUFFICIENT) || gate__count(x, n, CMP_V_MISSING))
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

int gate_run(const struct gate_opts *opts)
{
	struct gate_opts o = *opts;
	int rc;

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
