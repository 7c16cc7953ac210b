/*
 * gate_decide.c - comparing the two sides, metric by metric, and the verdicts. See gate_int.h.
 */
#include "gate_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

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

void gate__compare_metric(const struct gate_opts *o, const struct side *b, const struct side *c,
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
		x->v = CMP_V_MISSING;
		return;
	}
	if (x->nb == 0 && x->nc == 0) {
		/* A figure nobody measured (say, server CPU where the host gives
		 * none) is no evidence either way and no error. */
		x->v = CMP_V_NOT_MEASURED;
		return;
	}
	size_t min = (size_t)o->rule.min_rounds;   /* --min-repeats */

	if (x->nb < min || x->nc < min || x->nb < 2 || x->nc < 2 || !(x->mb != 0)) {
		x->v = CMP_V_INSUFFICIENT;
		return;
	}
	struct stats_welch w;
	stats_welch(bufb, x->nb, bufc, x->nc, &w);
	double lo, hi;
	stats_welch_ci(&w, 1 - 2 * o->rule.alpha, &lo, &hi);
	/* The interval of the difference divided by the baseline mean: it leaves
	 * out the baseline mean's own uncertainty in the denominator, a second-
	 * order term at the spreads benchmarks have. */
	x->change = w.diff / fabs(w.mean_a);
	x->lo = lo / fabs(w.mean_a);
	x->hi = hi / fabs(w.mean_a);
	bool higher = gate__higher_better(x->metric);
	x->p_worse = higher ? stats_welch_p_less(&w) : stats_welch_p_greater(&w);
	x->p_better = higher ? stats_welch_p_greater(&w) : stats_welch_p_less(&w);
	x->v = CMP_V_NO_CHANGE;   /* settled in gate__decide() once every p-value is known */
}

/* Holm over all comparisons, separately for "worse" and for "better", then
 * the threshold: a verdict needs both significance and size. */
void gate__decide(const struct gate_opts *o, struct cmp *x, size_t n)
{
	double *pw = calloc(n ? n : 1, sizeof *pw), *pb = calloc(n ? n : 1, sizeof *pb);
	bool *rw = malloc((n ? n : 1) * sizeof *rw), *rb = malloc((n ? n : 1) * sizeof *rb);
	double *adj = malloc((n ? n : 1) * sizeof *adj);
	if (!pw || !pb || !rw || !rb || !adj) {
		/* Without memory nothing can be shown significant; say so. */
		for (size_t i = 0; i < n; i++)
			if (x[i].v == CMP_V_NO_CHANGE)
				x[i].v = CMP_V_INSUFFICIENT;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool tested = x[i].v == CMP_V_NO_CHANGE;
		pw[i] = tested ? x[i].p_worse : NAN;
		pb[i] = tested ? x[i].p_better : NAN;
	}
	stats_holm(pw, n, o->rule.alpha, rw, adj);
	stats_holm(pb, n, o->rule.alpha, rb, NULL);
	for (size_t i = 0; i < n; i++) {
		if (x[i].v != CMP_V_NO_CHANGE)
			continue;
		x[i].p_worse_adj = adj[i];
		double worse = gate__higher_better(x[i].metric) ? -x[i].change : x[i].change;
		if (rw[i])
			x[i].v = worse > o->rule.max_regression ? CMP_V_REGRESSION : CMP_V_WORSE;
		/* Slower while the neighbours took more of the machine: the
		 * figure measured them, not the server. */
		if (x[i].v == CMP_V_REGRESSION && gate__metrics[x[i].metric].wall_clock &&
		    x[i].disturbance > GATE_MAX_DISTURBANCE)
			x[i].v = CMP_V_DISTURBED;
		else if (rb[i] && -worse > o->rule.max_regression)
			x[i].v = CMP_V_IMPROVED;
	}
out:
	free(pw);
	free(pb);
	free(rw);
	free(rb);
	free(adj);
}

size_t gate__count(const struct cmp *x, size_t n, enum cmp_verdict v)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += x[i].v == v;
	return k;
}

/* The (server, conns) pairs of the baseline, in the order it lists them. */
int gate__collect_keys(const struct side *b, size_t **keys, size_t *nk)
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
