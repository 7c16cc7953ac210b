/*
 * gate_paired.c - the gate on paired data: `evbench gate DIR` on a results
 * directory written by `evbench ab`, and the report `evbench ab` prints
 * itself. The statistics are compare.c's (cmp_judge); this file reads
 * comparisons.json back and prints. docs/gate.md is the description.
 */
#include "gate_int.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "jsonr.h"
#include "schema.h"

int gate_paired_status(const struct cmp_judgement *j, int n)
{
	bool regression = false, undecided = false, insufficient = false;

	for (int i = 0; i < n * CMP_NMETRICS; i++) {
		regression |= j[i].v == CMP_V_REGRESSION;
		undecided |= j[i].v == CMP_V_UNDECIDED;
		insufficient |= j[i].v == CMP_V_INSUFFICIENT;
	}
	/* A regression is reported whatever else is; an incomplete comparison
	 * outranks an undecided one, as in the unpaired gate. */
	return regression ? GATE_REGRESSION : insufficient ? GATE_ERROR :
	       undecided ? GATE_UNDECIDED : GATE_PASS;
}

static const char *status_text(int status)
{
	return status == GATE_PASS ? "pass" : status == GATE_REGRESSION ? "regression" :
	       status == GATE_UNDECIDED ? "undecided" : "error";
}

static void print_markdown(FILE *f, const char *dir, const struct cmp_result *res, int n,
			   const struct cmp_rule *rule, const struct cmp_judgement *j, int status)
{
	int rounds = n ? res[0].rounds : 0, family = 0;

	for (int m = 0; m < CMP_NMETRICS; m++)
		family += rule->gated[m] ? n : 0;

	fprintf(f, "## evbench gate (paired): %s\n\n", status_text(status));
	fprintf(f, "`%s`: each server of the current build against the same server of the "
		"baseline build in the same round, %d round%s. A regression is worse than "
		"%.1f%% with an interval above +%.1f%% (family-wise alpha %.3g, Bonferroni over "
		"%d comparison%s%s).\n\n", dir, rounds, rounds == 1 ? "" : "s",
		100 * rule->max_regression, 100 * rule->clear * rule->max_regression, rule->alpha,
		family, family == 1 ? "" : "s",
		rule->looks > 1 ? " and the looks of a sequential run" : "");
	fputs("| server | conns | metric | rounds | change | interval | verdict |\n"
	      "|---|--:|---|--:|--:|---|---|\n", f);
	for (int i = 0; i < n; i++)
		for (int m = 0; m < CMP_NMETRICS; m++) {
			const struct cmp_judgement *x = &j[i * CMP_NMETRICS + m];
			char ch[32], lo[32], hi[32];

			if (x->v == CMP_V_NOT_GATED)
				continue;
			gate__fmt_pct(ch, sizeof ch, x->change);
			gate__fmt_pct(lo, sizeof lo, x->lo);
			gate__fmt_pct(hi, sizeof hi, x->hi);
			fprintf(f, "| %s | %ld | %s | %d | %s | [%s, %s] | %s |\n", res[i].server,
				res[i].conns, cmp_metrics[m].label, x->n, ch, lo, hi,
				cmp_verdict_name(x->v));
		}
	fputs("\nchange: geometric mean over the rounds of current / baseline, positive = worse "
	      "(throughput's sign flipped); interval at the level the Bonferroni correction "
	      "gives each comparison.\n", f);
}

static void print_json(FILE *f, const char *dir, const struct cmp_result *res, int n,
		       const struct cmp_rule *rule, const struct cmp_judgement *j, int status)
{
	struct json_writer w;

	json_begin_document(&w, f, 2, EVB_SCHEMA_GATE_PAIRED);
	json_kv_string(&w, "results", dir);
	json_kv_string(&w, "status", status_text(status));
	json_kv_int(&w, "exit", status);
	json_kv_double(&w, "alpha", rule->alpha);
	json_kv_double(&w, "max_regression", rule->max_regression);
	json_kv_int(&w, "looks", rule->looks);
	json_key(&w, "comparisons");
	json_begin_array(&w);
	for (int i = 0; i < n; i++)
		for (int m = 0; m < CMP_NMETRICS; m++) {
			const struct cmp_judgement *x = &j[i * CMP_NMETRICS + m];

			if (x->v == CMP_V_NOT_GATED)
				continue;
			json_begin_object(&w);
			json_kv_string(&w, "server", res[i].server);
			json_kv_string(&w, "baseline", res[i].reference);
			json_kv_int(&w, "conns", res[i].conns);
			json_kv_string(&w, "metric", cmp_metric_key(m));
			json_kv_int(&w, "rounds", x->n);
			/* Not finite (too few rounds): null, as json_double writes it. */
			json_kv_double(&w, "change", x->change);
			json_kv_double(&w, "lo", x->lo);
			json_kv_double(&w, "hi", x->hi);
			json_kv_double(&w, "level", x->level);
			json_kv_string(&w, "verdict", cmp_verdict_name(x->v));
			json_end_object(&w);
		}
	json_end_array(&w);
	json_end_object(&w);
	json_finish(&w);
}

int gate_paired_report(FILE *f, const char *dir, const struct cmp_result *res, int n,
		       const struct cmp_rule *rule, bool json)
{
	struct cmp_judgement *j = calloc((size_t)(n > 0 ? n : 1) * CMP_NMETRICS, sizeof *j);
	int status;

	if (!j) {
		fprintf(stderr, "evbench gate: out of memory\n");
		return GATE_ERROR;
	}
	cmp_judge(res, n, rule, j);
	status = n ? gate_paired_status(j, n) : GATE_ERROR;
	if (n == 0)
		fprintf(stderr, "evbench gate: %s holds no paired comparison\n", dir);
	else if (json)
		print_json(f, dir, res, n, rule, j, status);
	else
		print_markdown(f, dir, res, n, rule, j, status);
	free(j);
	return status;
}

/* ---- reading comparisons.json back ------------------------------------------------ */

static int read_one(const struct jr_value *o, int rounds, struct cmp_result *c)
{
	const char *server = jr_string(jr_get(o, "server"));
	const char *ref = jr_string(jr_get(o, "reference"));
	double conns;

	if (!server || !ref || jr_number(jr_get(o, "conns"), &conns) < 0)
		return -1;
	snprintf(c->server, sizeof c->server, "%s", server);
	snprintf(c->reference, sizeof c->reference, "%s", ref);
	c->conns = (long)conns;
	c->rounds = rounds;
	for (int m = 0; m < CMP_NMETRICS; m++) {
		const struct jr_value *r = jr_path(jr_get(o, cmp_metric_key(m)), "ratios");

		c->ratio[m] = malloc((size_t)(rounds > 0 ? rounds : 1) * sizeof(double));
		if (!c->ratio[m] || !r || r->type != JR_ARRAY || (int)r->len != rounds)
			return -1;
		for (int k = 0; k < rounds; k++)
			if (jr_number(r->items[k], &c->ratio[m][k]) < 0)
				c->ratio[m][k] = NAN;
	}
	cmp_summarise(c);
	return 0;
}

int gate_paired_load(const char *dir, struct cmp_result **out, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct jr_error e;
	struct jr_value *v;
	const struct jr_value *list;
	double rounds;
	int n = 0;

	*out = NULL;
	snprintf(path, sizeof path, "%s/comparisons.json", dir);
	v = jr_parse_file(path, &e);
	if (!v) {
		if (e.line)
			snprintf(err, errlen, "%s:%d:%d: %s", path, e.line, e.column, e.msg);
		else
			snprintf(err, errlen, "%s: %s", path, e.msg);
		return -1;
	}
	list = jr_get(v, "comparisons");
	if (!jr_string(jr_get(v, "schema")) ||
	    strcmp(jr_string(jr_get(v, "schema")), EVB_SCHEMA_COMPARISONS) != 0 || !list ||
	    list->type != JR_ARRAY || jr_number(jr_get(v, "rounds"), &rounds) < 0 || rounds < 0 ||
	    rounds > 100000) {
		snprintf(err, errlen, "%s: not an evbench.comparisons/1 file", path);
		jr_free(v);
		return -1;
	}
	*out = calloc(list->len ? list->len : 1, sizeof **out);
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		jr_free(v);
		return -1;
	}
	for (size_t i = 0; i < list->len; i++, n++)
		if (read_one(list->items[i], (int)rounds, &(*out)[n]) < 0) {
			snprintf(err, errlen, "%s: comparison %zu is malformed", path, i + 1);
			cmp_free(*out, n + 1);
			*out = NULL;
			jr_free(v);
			return -1;
		}
	jr_free(v);
	return n;
}
