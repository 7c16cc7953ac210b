/*
 * gate_oc.c - the operating characteristic of the paired gate, simulated:
 * how often `evbench ab --rounds auto` says REGRESSION, pass or UNDECIDED
 * at a given true change, and after how many rounds (docs/gate.md).
 *
 *   gate_oc [--changes LIST] [--trials N] [--budget R] [--clear C] [--scale F]
 *           [--max-regression PCT] [--block L] [--seed S] [--kind K] [--work-ns W]
 *           [--csv | --replay] NOISE.csv
 *
 * NOISE.csv is what scripts/gate_ab_validate.sh appends to OUT/ratios.csv:
 * kind,work_ns,trial,round,ratio, one row per round of a real `evbench ab`,
 * the ratio being server CPU per request, current over baseline. The rows of
 * kind K (default aa, the build against itself) are the noise: each trial's
 * log ratios less that trial's mean (--work-ns W: only the rows of that
 * slowdown; a trial is its work and number). A simulated trial draws its rounds from
 * one measured trial, drawn with a chance proportional to its rounds (the
 * machine's noise changes over minutes, and a trial lives in one regime), in
 * blocks of L consecutive rounds (default 5; a moving-block bootstrap, so
 * that a slow spell that lasts several rounds stays one), adds
 * log(1 + change), and runs the sequential decision of evbench ab: ab.h's
 * ab_stops at its looks (rounds 5, 10, ..., 50) until a look decides or the
 * budget of R rounds (default 34: 120 s at 3.5 s a round) is spent, when the
 * rounds run are judged once more (cmp_judge, gate_paired_status), as
 * bench/main.c does. C is the rule's clearance
 * (compare.h, default CMP_CLEAR); --clear 0 is the rule before 2026-12-05.
 * F (default 1) scales the noise, to see the curve on a quieter or a busier
 * machine than the one measured.
 *
 * Prints a Markdown table, or with --csv the lines
 * change,p_regression,p_pass,p_undecided,mean_rounds. With --replay it
 * simulates nothing: each measured trial of kind K is judged on its own
 * rounds as evbench ab judged it, with the clearance given, to see what
 * another rule would have said of the same real rounds. Bad input: one line
 * on stderr, exit 2.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab.h"
#include "compare.h"
#include "gate.h"
#include "stats.h"

#define MAX_NOISE   100000
#define MAX_TRIALS  1000
#define MAX_CHANGES 64

struct noise {
	double v[MAX_NOISE];        /* centred log ratios, trial after trial */
	double mean[MAX_TRIALS];    /* what each trial was centred by */
	char name[MAX_TRIALS][64];  /* its trial column */
	int start[MAX_TRIALS + 1];  /* trial t is v[start[t] .. start[t + 1]) */
	int ntrials;
};

static void die(const char *msg, const char *arg)
{
	fprintf(stderr, "gate_oc: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	exit(2);
}

static double number(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		die(what, s);
	return v;
}

/* A uniform integer in [0, n) from splitmix64 (stats.h), seeded from the
 * command line so that a table is reproducible; by scaling, not
 * stats_rand_below(), so that the seeds docs/gate.md quotes give its tables. */
static int below(uint64_t *s, int n)
{
	return (int)((stats_rand_u64(s) >> 11) * (1.0 / 9007199254740992.0) * n);
}

/* Closes the trial begun at start[ntrials]: centres it on its own mean. */
static void end_trial(struct noise *nz, int end)
{
	int b = nz->start[nz->ntrials];
	double mean = 0;

	if (end == b)
		return;
	for (int i = b; i < end; i++)
		mean += nz->v[i] / (end - b);
	for (int i = b; i < end; i++)
		nz->v[i] -= mean;
	nz->mean[nz->ntrials] = mean;
	nz->start[++nz->ntrials] = end;
}

static void load(const char *path, const char *kind, const char *work_ns, int block, double scale,
		 struct noise *nz)
{
	FILE *f = fopen(path, "r");
	char line[512], k[64], last[64] = "";
	int n = 0;

	if (!f)
		die("cannot open", path);
	nz->ntrials = 0;
	nz->start[0] = 0;
	while (fgets(line, sizeof line, f)) {
		char work[24], num[24], trial[64];
		double ratio;

		/* kind,work_ns,trial,round,ratio; the header and rounds without a
		 * figure (null) do not parse and are skipped. A trial is named by
		 * its work and number: one series may hold several slowdowns. */
		if (sscanf(line, "%63[^,],%23[^,],%23[^,],%*[^,],%lf", k, work, num, &ratio) != 4 ||
		    strcmp(k, kind) != 0 || (work_ns && strcmp(work, work_ns) != 0) || !(ratio > 0))
			continue;
		snprintf(trial, sizeof trial, "w%s-%s", work, num);
		if (strcmp(trial, last) != 0) {
			end_trial(nz, n);
			snprintf(last, sizeof last, "%s", trial);
			if (nz->ntrials == MAX_TRIALS)
				die("too many trials in", path);
			snprintf(nz->name[nz->ntrials], sizeof nz->name[0], "%s", trial);
		}
		if (n == MAX_NOISE)
			die("too many rounds in", path);
		nz->v[n++] = scale * log(ratio);
	}
	fclose(f);
	end_trial(nz, n);
	for (int t = 0; t < nz->ntrials; t++)
		if (nz->start[t + 1] - nz->start[t] < block)
			die("a trial is shorter than a block; lower --block or drop it from", path);
	if (nz->ntrials == 0)
		die("no rounds of that --kind in", path);
}

/* A measured trial, drawn with a chance proportional to its rounds. */
static int draw_trial(const struct noise *nz, uint64_t *rng)
{
	int t = 0, i = below(rng, nz->start[nz->ntrials]);

	while (nz->start[t + 1] <= i)
		t++;
	return t;
}

/* A block of L consecutive rounds of measured trial t. */
static void draw_block(const struct noise *nz, int t, int block, uint64_t *rng, double *out)
{
	int len = nz->start[t + 1] - nz->start[t];
	int s = nz->start[t] + below(rng, len - block + 1);

	memcpy(out, &nz->v[s], (size_t)block * sizeof *out);
}

/* The first r rounds of ratio[] as the one comparison of a sequential run;
 * only server CPU is gated, so the other metrics may share the array. */
static void as_result(double *ratio, int r, struct cmp_result *res)
{
	memset(res, 0, sizeof *res);
	snprintf(res->server, sizeof res->server, "s@current");
	snprintf(res->reference, sizeof res->reference, "s@baseline");
	res->conns = 100;
	res->rounds = r;
	for (int m = 0; m < CMP_NMETRICS; m++)
		res->ratio[m] = ratio;
}

/* The exit status evbench ab gives the first r rounds of ratio[]. */
static int judge(double *ratio, int r, const struct cmp_rule *rule)
{
	struct cmp_result res;
	struct cmp_judgement j[CMP_NMETRICS];

	as_result(ratio, r, &res);
	cmp_judge(&res, 1, rule, j);
	return gate_paired_status(j, 1);
}

/* Whether evbench ab stops after round r, a look that decides (ab.h). */
static bool stops(double *ratio, int r, const struct cmp_rule *rule)
{
	struct cmp_result res;

	as_result(ratio, r, &res);
	return ab_stops(&res, 1, rule, r);
}

/* One simulated `evbench ab --rounds auto`: its exit status, and in *rounds
 * how many rounds it ran. bench/main.c: after a whole round from the
 * minimum on, it stops when a look decides or the budget is spent, then
 * judges the rounds run once more for the verdict. */
static int trial(const struct noise *nz, double change, int budget, int block,
		 const struct cmp_rule *rule, uint64_t *rng, int *rounds)
{
	double ratio[AB_MAX_ROUNDS], e[64];
	int from = draw_trial(nz, rng), r;

	for (r = 1; r <= AB_MAX_ROUNDS; r++) {
		int at = (r - 1) % block;

		if (at == 0)
			draw_block(nz, from, block, rng, e);
		ratio[r - 1] = (1 + change) * exp(e[at]);
		if (r >= AB_MIN_ROUNDS && (stops(ratio, r, rule) || r >= budget))
			break;
	}
	if (r > AB_MAX_ROUNDS)
		r = AB_MAX_ROUNDS;
	*rounds = r;
	return judge(ratio, r, rule);
}

/* --replay: each measured trial's own rounds, in their order and without
 * a change added, through the sequential decision, as evbench ab judged
 * them (its budget ended it at its last round unless a look decided). */
static void replay(const struct noise *nz, const struct cmp_rule *rule)
{
	static const char *const name[] = { [GATE_PASS] = "pass", [GATE_REGRESSION] = "REGRESSION",
					    [GATE_ERROR] = "error", [GATE_UNDECIDED] = "UNDECIDED" };

	printf("| trial | rounds run | verdict, clearance %.2g | at round |\n|--:|--:|---|--:|\n",
	       rule->clear);
	for (int t = 0; t < nz->ntrials; t++) {
		double ratio[AB_MAX_ROUNDS];
		int len = nz->start[t + 1] - nz->start[t], r;

		if (len > AB_MAX_ROUNDS)
			len = AB_MAX_ROUNDS;
		for (r = 1; r <= len; r++) {
			ratio[r - 1] = exp(nz->v[nz->start[t] + r - 1] + nz->mean[t]);
			if (r >= AB_MIN_ROUNDS && (stops(ratio, r, rule) || r == len))
				break;
		}
		if (r > len)
			r = len;
		printf("| %s | %d | %s | %d |\n", nz->name[t], len, name[judge(ratio, r, rule)], r);
	}
}

int main(int argc, char **argv)
{
	static struct noise nz;
	double changes[MAX_CHANGES] = { 0, 0.05, 0.08, 0.10, 0.12, 0.15, 0.20 };
	int nchanges = 7, trials = 1000, budget = 34, block = 5;
	double scale = 1;
	uint64_t seed = 1;
	const char *kind = "aa", *work_ns = NULL, *path = NULL;
	bool csv = false, replaying = false;
	struct cmp_rule rule = cmp_rule_default();

	rule.looks = ab_looks();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--csv") || !strcmp(a, "--replay")) {
			csv |= !strcmp(a, "--csv");
			replaying |= !strcmp(a, "--replay");
			continue;
		}
		if (a[0] != '-') {
			path = a;
			continue;
		}
		if (!v)
			die("option needs a value", a);
		i++;
		if (!strcmp(a, "--changes")) {
			char buf[1024], *tok, *save;

			snprintf(buf, sizeof buf, "%s", v);
			nchanges = 0;
			for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (nchanges == MAX_CHANGES)
					die("too many --changes", v);
				changes[nchanges++] = number(tok, "--changes: a percentage") / 100;
			}
		} else if (!strcmp(a, "--trials")) {
			trials = (int)number(v, "--trials: a count");
		} else if (!strcmp(a, "--budget")) {
			budget = (int)number(v, "--budget: rounds");
		} else if (!strcmp(a, "--clear")) {
			rule.clear = number(v, "--clear: a fraction of the threshold");
		} else if (!strcmp(a, "--scale")) {
			scale = number(v, "--scale: a factor");
		} else if (!strcmp(a, "--max-regression")) {
			rule.max_regression = number(v, "--max-regression: a percentage") / 100;
		} else if (!strcmp(a, "--block")) {
			block = (int)number(v, "--block: rounds");
		} else if (!strcmp(a, "--seed")) {
			seed = (uint64_t)number(v, "--seed: a number");
		} else if (!strcmp(a, "--kind")) {
			kind = v;
		} else if (!strcmp(a, "--work-ns")) {
			work_ns = v;
		} else {
			die("unknown option", a);
		}
	}
	if (!path)
		die("usage: gate_oc [options] NOISE.csv (see tests/helpers/gate_oc.c)", NULL);
	if (trials < 1 || budget < AB_MIN_ROUNDS || block < 1 || block > 64 ||
	    nchanges < 1 || rule.clear < 0 || !(scale > 0))
		die("--trials at least 1, --budget at least the first look, --block 1 to 64, "
		    "--scale above 0", NULL);
	load(path, kind, work_ns, block, scale, &nz);
	if (replaying) {
		replay(&nz, &rule);
		return 0;
	}

	if (csv)
		puts("change,p_regression,p_pass,p_undecided,mean_rounds");
	else
		printf("%d rounds of %d %s trials (noise x %g), blocks of %d; %d simulated trials "
		       "per change, budget %d rounds, threshold %.0f%%, clearance %.2g\n\n"
		       "| true change | REGRESSION | pass | UNDECIDED | mean rounds |\n"
		       "|--:|--:|--:|--:|--:|\n", nz.start[nz.ntrials], nz.ntrials, kind, scale, block,
		       trials, budget, 100 * rule.max_regression, rule.clear);
	for (int c = 0; c < nchanges; c++) {
		uint64_t rng = seed;   /* the same noise draws at every change */
		int reg = 0, pass = 0, und = 0;
		double rounds = 0;

		for (int t = 0; t < trials; t++) {
			int r, st = trial(&nz, changes[c], budget, block, &rule, &rng, &r);

			reg += st == GATE_REGRESSION;
			pass += st == GATE_PASS;
			und += st == GATE_UNDECIDED;
			rounds += r;
		}
		if (csv)
			printf("%g,%.4f,%.4f,%.4f,%.2f\n", 100 * changes[c], (double)reg / trials,
			       (double)pass / trials, (double)und / trials, rounds / trials);
		else
			printf("| %+.0f%% | %.1f%% | %.1f%% | %.1f%% | %.1f |\n", 100 * changes[c],
			       100.0 * reg / trials, 100.0 * pass / trials, 100.0 * und / trials,
			       rounds / trials);
	}
	return 0;
}
