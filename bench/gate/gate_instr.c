/*
 * gate_instr.c - the gate on instruction counts (evbench.instructions/1).
 * See gate_int.h.
 */
#include "gate_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "schema.h"

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
int gate__instructions(const struct gate_opts *o, const struct jr_value *b,
			     const struct jr_value *c)
{
	const struct jr_value *lb = jr_get(b, "benchmarks"), *lc = jr_get(c, "benchmarks");
	if (!lb || lb->type != JR_ARRAY || !lc || lc->type != JR_ARRAY) {
		fprintf(stderr, "evbench gate: %s: no \"benchmarks\" array\n",
			!lb || lb->type != JR_ARRAY ? o->base : o->cur);
		return GATE_ERROR;
	}
	double thr = o->max_given ? o->rule.max_regression : 0.02;
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
		json_begin_document(&w, stdout, 2, EVB_SCHEMA_GATE);
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
			v = cmp_verdict_name(CMP_V_MISSING);
			status = GATE_ERROR;
		} else {
			change = (ic - ib) / ib;
			v = change > thr ? cmp_verdict_name(CMP_V_REGRESSION) :
			    change < -thr ? cmp_verdict_name(CMP_V_IMPROVED) : cmp_verdict_name(CMP_V_NO_CHANGE);
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
struct jr_value *gate__try_instructions(const char *path, int *failed)
{
	struct stat st;
	*failed = 0;
	if (stat(path, &st) < 0 || S_ISDIR(st.st_mode))
		return NULL;
	struct jr_error e;
	struct jr_value *v = jr_parse_file(path, &e);
	if (!v) {
		gate__report_parse_error(path, &e);
		*failed = 1;
		return NULL;
	}
	if (!gate__is_schema(v, EVB_SCHEMA_INSTRUCTIONS)) {
		jr_free(v);
		return NULL;
	}
	return v;
}
