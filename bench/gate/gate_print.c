/*
 * gate_print.c - the gate's report: a Markdown table, or JSON. See gate_int.h.
 */
#include "gate_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "schema.h"

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

void gate__fmt_pct(char *buf, size_t cap, double v)
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

void gate__print_markdown(const struct gate_opts *o, const struct cmp *x, size_t n,
			   size_t tested, int status)
{
	size_t reg = gate__count(x, n, CMP_V_REGRESSION);
	if (status == GATE_ERROR)
		printf("## evbench gate: incomplete (%zu regression%s)\n\n", reg, reg == 1 ? "" : "s");
	else if (reg)
		printf("## evbench gate: %zu regression%s\n\n", reg, reg == 1 ? "" : "s");
	else if (gate__count(x, n, CMP_V_DISTURBED))
		printf("## evbench gate: no regression (%zu disturbed)\n\n", gate__count(x, n, CMP_V_DISTURBED));
	else
		printf("## evbench gate: no regression\n\n");
	printf("Baseline `%s`, current `%s`%s%s%s. A regression is a change for the worse "
	       "larger than %g%% that Welch's t-test finds significant at alpha = %g "
	       "(one-sided, Holm-corrected over %zu comparisons). Intervals are %g%% Welch "
	       "intervals of the change; ± is the spread (standard deviation) of the repeats.\n\n",
	       o->base, o->cur, o->normalize_by ? ", every figure relative to `" : "",
	       o->normalize_by ? o->normalize_by : "", o->normalize_by ? "` in the same run" : "",
	       100 * o->rule.max_regression, o->rule.alpha, tested, 100 * (1 - 2 * o->rule.alpha));
	/* The regressions first, one line each: a long table in a pull-request
	 * comment is read from the top and rarely to the end. */
	for (size_t i = 0; i < n; i++) {
		const struct cmp *c = &x[i];
		if (c->v != CMP_V_REGRESSION)
			continue;
		char ch[24], lo[24], hi[24];
		gate__fmt_pct(ch, sizeof ch, c->change);
		gate__fmt_pct(lo, sizeof lo, c->lo);
		gate__fmt_pct(hi, sizeof hi, c->hi);
		printf("- **%s at %ld conns: %s %s** (%s to %s)\n", c->server, c->conns,
		       gate__metric_name(c->metric), ch, lo, hi);
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
		gate__fmt_pct(ch, sizeof ch, c->change);
		gate__fmt_pct(lo, sizeof lo, c->lo);
		gate__fmt_pct(hi, sizeof hi, c->hi);
		if (isnan(c->lo))
			snprintf(iv, sizeof iv, "-");
		else
			snprintf(iv, sizeof iv, "%s to %s", lo, hi);
		fmt_p(p, sizeof p, c->p_worse_adj);
		char mt[64];
		if (c->v == CMP_V_MISSING)
			snprintf(mt, sizeof mt, "all");
		else
			snprintf(mt, sizeof mt, "%s (%s)", gate__metric_name(c->metric),
				 o->normalize_by ? "ratio" : gate__metric_unit(c->metric));
		char vd[64];
		if (c->v == CMP_V_DISTURBED)
			snprintf(vd, sizeof vd, "disturbed (others %+.0f%% of the machine)",
				 100 * c->disturbance);
		else if (c->v == CMP_V_REGRESSION)
			snprintf(vd, sizeof vd, "**%s**", cmp_verdict_name(c->v));
		else
			snprintf(vd, sizeof vd, "%s", cmp_verdict_name(c->v));
		printf("| %s | %ld | %s | %zu/%zu | %s | %s | %s | %s | %s | %s |\n",
		       c->server, c->conns, mt, c->nb, c->nc, sb, sc, ch, iv, p, vd);
	}
	size_t ins = gate__count(x, n, CMP_V_INSUFFICIENT), mis = gate__count(x, n, CMP_V_MISSING);
	size_t dis = gate__count(x, n, CMP_V_DISTURBED);
	if (dis)
		printf("\n%zu wall-clock comparison%s would be %s, but during the current "
		       "runs other processes took at least %.0f%% more of the machine than during "
		       "the baseline's (result.utilization.others); %s not blamed on the server and "
		       "%s not fail the gate. Server CPU per request is still gated.\n",
		       dis, dis == 1 ? "" : "s", dis == 1 ? "a regression" : "regressions",
		       100 * GATE_MAX_DISTURBANCE,
		       dis == 1 ? "it is" : "they are", dis == 1 ? "does" : "do");
	if (ins)
		printf("\n%zu comparison%s had fewer than %d repeats on a side: insufficient "
		       "data is neither a pass nor a failure, and makes the gate exit 2.\n",
		       ins, ins == 1 ? "" : "s", o->rule.min_rounds);
	if (mis)
		printf("\n%zu comparison%s of the baseline are missing from the current results "
		       "(a server that did not run, or failed): the gate exits 2.\n",
		       mis, mis == 1 ? "" : "s");
}

/* One side of a comparison in the JSON report: {n, mean, sd}. */
static void side_json(struct json_writer *w, const char *key, size_t n, double mean, double sd)
{
	json_key(w, key);
	json_begin_object(w);
	json_kv_uint(w, "n", n);
	json_kv_double(w, "mean", mean);
	json_kv_double(w, "sd", sd);
	json_end_object(w);
}

void gate__print_json(const struct gate_opts *o, const struct cmp *x, size_t n, int status)
{
	struct json_writer w;
	json_begin_document(&w, stdout, 2, EVB_SCHEMA_GATE);
	json_kv_string(&w, "verdict", status == GATE_PASS ? "pass" :
				      status == GATE_REGRESSION ? "regression" : "incomplete");
	json_kv_int(&w, "exit_status", status);
	json_kv_string(&w, "baseline", o->base);
	json_kv_string(&w, "current", o->cur);
	json_kv_string(&w, "normalize_by", o->normalize_by);   /* null when not given */
	json_kv_string(&w, "test", "welch-t, one-sided");
	json_kv_double(&w, "alpha", o->rule.alpha);
	json_kv_string(&w, "correction", "holm");
	json_kv_double(&w, "interval_level", 1 - 2 * o->rule.alpha);
	json_kv_double(&w, "max_regression_pct", 100 * o->rule.max_regression);
	json_kv_uint(&w, "min_repeats", (size_t)o->rule.min_rounds);
	json_key(&w, "comparisons");
	json_begin_array(&w);
	for (size_t i = 0; i < n; i++) {
		const struct cmp *c = &x[i];
		json_begin_object(&w);
		json_kv_string(&w, "server", c->server);
		json_kv_int(&w, "conns", c->conns);
		json_kv_string(&w, "metric", gate__metric_name(c->metric));
		json_kv_string(&w, "unit", o->normalize_by ? "ratio" : gate__metric_unit(c->metric));
		json_kv_string(&w, "better", gate__higher_better(c->metric) ? "higher" : "lower");
		side_json(&w, "baseline", c->nb, c->mb, c->sdb);
		side_json(&w, "current", c->nc, c->mc, c->sdc);
		json_kv_double(&w, "change_pct", 100 * c->change);
		json_kv_double(&w, "interval_lo_pct", 100 * c->lo);
		json_kv_double(&w, "interval_hi_pct", 100 * c->hi);
		json_kv_double(&w, "p_worse", c->p_worse);
		json_kv_double(&w, "p_worse_holm", c->p_worse_adj);
		json_kv_double(&w, "others_change", c->disturbance);
		json_kv_string(&w, "verdict", cmp_verdict_name(c->v));
		json_end_object(&w);
	}
	json_end_array(&w);
	json_end_object(&w);
	json_finish(&w);
}
