/*
 * compare.c - the order of a sweep's trials and the paired comparisons;
 * see compare.h and docs/results.md ("Comparisons").
 */
#include "compare.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "report.h"
#include "schema.h"
#include "stats.h"

const char *cmp_order_name(enum cmp_order o)
{
	return o == CMP_SEQUENTIAL ? "sequential" : "interleaved";
}

void cmp_plan(int nservers, int nconns, int rounds, enum cmp_order order, uint64_t seed,
	      struct cmp_trial *out)
{
	int per = nservers * nconns, k = 0;
	uint64_t state = seed;

	if (order == CMP_SEQUENTIAL) {
		for (int si = 0; si < nservers; si++)
			for (int ci = 0; ci < nconns; ci++)
				for (int r = 1; r <= rounds; r++, k++)
					out[k] = (struct cmp_trial){ si, ci, r, si * nconns + ci + 1 };
		return;
	}
	for (int r = 1; r <= rounds; r++) {
		struct cmp_trial *round = out + (size_t)(r - 1) * per;

		for (int i = 0; i < per; i++)
			round[i] = (struct cmp_trial){ i / nconns, i % nconns, r, 0 };
		/* Fisher-Yates, then number the positions as they will run. */
		for (int i = per - 1; i > 0; i--) {
			int j = (int)stats_rand_below(&state, (uint64_t)i + 1);
			struct cmp_trial t = round[i];

			round[i] = round[j];
			round[j] = t;
		}
		for (int i = 0; i < per; i++)
			round[i].position = i + 1;
	}
}

const struct cmp_metric_info cmp_metrics[CMP_NMETRICS] = {
	[CMP_SERVER_CPU] = { "server_cpu_us_per_req", "server CPU", "us/req", "cpu", false },
	[CMP_THROUGHPUT] = { "throughput_rps", "throughput", "req/s", "throughput", true },
	[CMP_P99] = { "p99_us", "p99 latency", "us", "p99", false },
};

struct cmp_rule cmp_rule_default(void)
{
	return (struct cmp_rule){
		.max_regression = 0.10, .clear = CMP_CLEAR, .alpha = 0.05, .looks = 1,
		.min_rounds = 3,
		/* Server CPU alone by default: docs/gate.md, "Why server CPU alone
		 * by default". */
		.gated = { [CMP_SERVER_CPU] = true },
	};
}

int cmp_parse_metrics(const char *list, bool gated[CMP_NMETRICS])
{
	bool g[CMP_NMETRICS] = { false };
	char buf[128], *save = NULL;

	if (strlen(list) >= sizeof buf || !list[0])
		return -1;
	strcpy(buf, list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int m = 0;

		while (m < CMP_NMETRICS && strcmp(t, cmp_metrics[m].option) != 0)
			m++;
		if (m == CMP_NMETRICS)
			return -1;
		g[m] = true;
	}
	memcpy(gated, g, sizeof g);
	return 0;
}

const char *cmp_metric_key(enum cmp_metric m)
{
	return cmp_metrics[m].key;
}

double cmp_figure(const struct rep_row *r, enum cmp_metric m)
{
	/* lat_us: min, mean, then lg_pcts[] from p50, so p99 is lat_us[2 + 2]. */
	double v = m == CMP_SERVER_CPU ? r->cpu_us_server :
		   m == CMP_THROUGHPUT ? r->throughput_rps : r->lat_us[4];

	return r->ran && !r->failure[0] && v > 0 ? v : NAN;
}

void cmp_free(struct cmp_result *res, int n)
{
	for (int i = 0; res && i < n; i++)
		for (int m = 0; m < CMP_NMETRICS; m++)
			free(res[i].ratio[m]);
	free(res);
}

/* The row of (server, conns) in round `round`, or NULL. */
static const struct rep_row *find(const struct rep_row *rows, int n, const char *server,
				  long conns, int round)
{
	for (int i = 0; i < n; i++)
		if (rows[i].conns == conns && rows[i].repeat == round &&
		    strcmp(rows[i].server, server) == 0)
			return &rows[i];
	return NULL;
}

/* Whether (server, conns) is already among res[0..n). */
static bool seen(const struct cmp_result *res, int n, const char *server, long conns)
{
	for (int i = 0; i < n; i++)
		if (res[i].conns == conns && strcmp(res[i].server, server) == 0)
			return true;
	return false;
}

void cmp_summarise(struct cmp_result *c)
{
	double *buf = malloc((size_t)(c->rounds > 0 ? c->rounds : 1) * sizeof *buf);

	for (int m = 0; m < CMP_NMETRICS; m++) {
		struct stats_median_ci ci;
		size_t got = 0;

		for (int k = 0; buf && k < c->rounds; k++)
			if (!isnan(c->ratio[m][k]))
				buf[got++] = c->ratio[m][k];
		stats_median_ci(buf, got, CMP_LEVEL, &ci);
		c->m[m] = (struct cmp_metric_result){
			.n = (int)got, .median = ci.median, .has_ci = ci.has_ci,
			.lo = ci.lo, .hi = ci.hi, .level = ci.level,
		};
	}
	free(buf);
}

static int fill(struct cmp_result *c, const struct rep_row *rows, int n, int rounds)
{
	for (int m = 0; m < CMP_NMETRICS; m++) {
		c->ratio[m] = malloc((size_t)(rounds > 0 ? rounds : 1) * sizeof(double));
		if (!c->ratio[m])
			return -1;
	}
	for (int k = 1; k <= rounds; k++) {
		const struct rep_row *a = find(rows, n, c->server, c->conns, k);
		const struct rep_row *b = find(rows, n, c->reference, c->conns, k);
		bool used = false;

		for (int m = 0; m < CMP_NMETRICS; m++) {
			double x = a ? cmp_figure(a, m) : NAN, y = b ? cmp_figure(b, m) : NAN;

			c->ratio[m][k - 1] = isnan(x) || isnan(y) ? NAN : x / y;
			used |= !isnan(c->ratio[m][k - 1]);
		}
		if (used && (a->drift_flagged || b->drift_flagged))
			c->flagged++;
	}
	cmp_summarise(c);
	return 0;
}

/* ---- judging ---------------------------------------------------------------------- */

const char *cmp_verdict_name(enum cmp_verdict v)
{
	static const char *const names[] = {
		[CMP_V_SAME] = "same",
		[CMP_V_WORSE] = "worse, under threshold",
		[CMP_V_BETTER] = "better, under threshold",
		[CMP_V_IMPROVED] = "improved",
		[CMP_V_REGRESSION] = "REGRESSION",
		[CMP_V_UNDECIDED] = "UNDECIDED",
		[CMP_V_INSUFFICIENT] = "insufficient data",
		[CMP_V_NOT_GATED] = "not gated",
		[CMP_V_NO_CHANGE] = "no change",
		[CMP_V_MISSING] = "missing in current",
		[CMP_V_NOT_MEASURED] = "not measured",
		[CMP_V_DISTURBED] = "disturbed",
	};
	return names[v];
}

static void judge_one(const struct cmp_result *c, enum cmp_metric m, double a_each,
		      const struct cmp_rule *rule, struct cmp_judgement *j)
{
	double l[1024], mean = 0, var = 0, se, q, thr = rule->max_regression, up = 1 + thr;
	int n = 0;

	for (int k = 0; k < c->rounds && n < 1024; k++)
		if (isfinite(c->ratio[m][k]) && c->ratio[m][k] > 0)
			l[n++] = (cmp_metrics[m].higher_better ? -1 : 1) * log(c->ratio[m][k]);
	*j = (struct cmp_judgement){ .v = CMP_V_INSUFFICIENT, .n = n, .change = NAN, .lo = NAN,
				     .hi = NAN, .level = 1 - 2 * a_each };
	if (n < rule->min_rounds || n < 3)
		return;
	for (int i = 0; i < n; i++)
		mean += l[i] / n;
	for (int i = 0; i < n; i++)
		var += (l[i] - mean) * (l[i] - mean) / (n - 1);
	se = sqrt(var / n);
	q = se > 0 ? stats_t_quantile(1 - a_each, n - 1) : 0;
	j->change = exp(mean) - 1;
	j->lo = exp(mean - q * se) - 1;
	j->hi = exp(mean + q * se) - 1;
	/* A regression's interval must clear a part of the threshold, not just
	 * 0: the chance that a true change at or under clear x thr puts the
	 * bottom above it is what the correction bounds (alpha), and without
	 * it an estimate past thr from a noisy start failed a true 5% about 1
	 * time in 6. Worse but under the threshold only while the whole
	 * interval is: a significant 9% with an interval reaching 14% is not
	 * known yet, and a sequential run must keep going rather than pass it. */
	if (j->lo > 0)
		j->v = j->change > thr && j->lo > rule->clear * thr ? CMP_V_REGRESSION :
		       j->hi <= thr ? CMP_V_WORSE : CMP_V_UNDECIDED;
	else if (j->hi < 0)
		j->v = 1 / (1 + j->change) > up ? CMP_V_IMPROVED : CMP_V_BETTER;
	else if (j->hi <= thr && 1 / (1 + j->lo) <= up)
		j->v = CMP_V_SAME;
	else
		j->v = CMP_V_UNDECIDED;
}

int cmp_judge(const struct cmp_result *res, int n, const struct cmp_rule *rule,
	      struct cmp_judgement *j)
{
	int family = 0;
	double a_each;

	for (int i = 0; i < n; i++)
		for (int m = 0; m < CMP_NMETRICS; m++)
			family += rule->gated[m];
	a_each = rule->alpha / (double)((family ? family : 1) * (rule->looks > 0 ? rule->looks : 1));
	for (int i = 0; i < n; i++)
		for (int m = 0; m < CMP_NMETRICS; m++) {
			struct cmp_judgement *x = &j[i * CMP_NMETRICS + m];

			if (rule->gated[m])
				judge_one(&res[i], m, a_each, rule, x);
			else
				*x = (struct cmp_judgement){ .v = CMP_V_NOT_GATED, .change = NAN,
							     .lo = NAN, .hi = NAN };
		}
	return family;
}

int cmp_compute(const struct rep_row *rows, int n, const struct cmp_pair *pairs, int npairs,
		int rounds, struct cmp_result **out)
{
	struct cmp_result *res = calloc((size_t)(n > 0 ? n : 1), sizeof *res);
	int k = 0;

	*out = NULL;
	if (!res)
		return -1;
	for (int p = 0; p < npairs; p++)
		for (int i = 0; i < n; i++) {
			const struct rep_row *r = &rows[i];

			if (strcmp(r->server, pairs[p].server) != 0 ||
			    seen(res, k, r->server, r->conns))
				continue;
			snprintf(res[k].server, sizeof res[k].server, "%s", r->server);
			snprintf(res[k].reference, sizeof res[k].reference, "%s", pairs[p].reference);
			res[k].conns = r->conns;
			res[k].rounds = rounds;
			if (fill(&res[k++], rows, n, rounds) < 0) {
				cmp_free(res, k);
				errno = ENOMEM;
				return -1;
			}
		}
	*out = res;
	return k;
}

const char *cmp_cell(char *buf, size_t len, const struct cmp_result *res)
{
	const struct cmp_metric_result *m;
	const char *flag;

	if (!res) {
		snprintf(buf, len, "-");
		return buf;
	}
	m = &res->m[CMP_SERVER_CPU];
	flag = res->flagged ? "!" : "";
	if (m->n == 0)
		snprintf(buf, len, "-");
	else if (!m->has_ci)
		snprintf(buf, len, "%.2fx (no CI)%s", m->median, flag);
	else
		snprintf(buf, len, "%.2fx [%.2f,%.2f]%s%s", m->median, m->lo, m->hi,
			 m->level < CMP_LEVEL ? "~" : "", flag);
	return buf;
}

/* ---- comparisons.json and comparisons.csv ----------------------------------- */

static int write_json(const char *dir, const struct cmp_sweep *sw, const struct cmp_result *res,
		      int n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json_writer w;
	int rc;

	if (!f)
		return -1;
	json_begin_document(&w, f, 2, EVB_SCHEMA_COMPARISONS);
	json_kv_string(&w, "run_id", sw->run_id);
	json_kv_string(&w, "order", cmp_order_name(sw->order));
	json_kv_uint(&w, "seed", sw->seed);
	json_kv_int(&w, "rounds", sw->rounds);
	json_kv_string(&w, "reference", sw->reference);   /* null when none */
	json_kv_double(&w, "level", CMP_LEVEL);
	json_kv_double(&w, "drift_threshold", sw->drift_threshold);
	json_key(&w, "comparisons");
	json_begin_array(&w);
	for (int i = 0; i < n; i++) {
		const struct cmp_result *c = &res[i];

		json_begin_object(&w);
		json_kv_string(&w, "server", c->server);
		json_kv_int(&w, "conns", c->conns);
		json_kv_string(&w, "reference", c->reference);
		json_kv_int(&w, "flagged_rounds", c->flagged);
		for (int m = 0; m < CMP_NMETRICS; m++) {
			const struct cmp_metric_result *r = &c->m[m];

			json_key(&w, cmp_metric_key(m));
			json_begin_object(&w);
			json_kv_int(&w, "n", r->n);
			json_key(&w, "median");
			json_double(&w, r->median);
			json_key(&w, "ci");
			if (r->has_ci) {
				json_begin_object(&w);
				json_kv_double(&w, "lo", r->lo);
				json_kv_double(&w, "hi", r->hi);
				json_kv_double(&w, "level", r->level);
				json_end_object(&w);
			} else {
				json_null(&w);
			}
			json_key(&w, "ratios");
			json_begin_array(&w);
			for (int k = 0; k < c->rounds; k++)
				json_double(&w, c->ratio[m][k]);
			json_end_array(&w);
			json_end_object(&w);
		}
		json_end_object(&w);
	}
	json_end_array(&w);
	json_end_object(&w);
	rc = json_finish(&w);
	return rep_commit(f, &buf, &len, rc < 0, dir, "comparisons.json");
}

static void csv_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, ",%.6g", v);
	else
		fputs(",", f);
}

static int write_csv(const char *dir, const struct cmp_result *res, int n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -1;
	fputs("server,conns,reference,metric,n,median,ci_lo,ci_hi,ci_level,flagged_rounds\n", f);
	for (int i = 0; i < n; i++)
		for (int m = 0; m < CMP_NMETRICS; m++) {
			const struct cmp_metric_result *r = &res[i].m[m];

			fprintf(f, "%s,%ld,%s,%s,%d", res[i].server, res[i].conns, res[i].reference,
				cmp_metric_key(m), r->n);
			csv_num(f, r->median);
			csv_num(f, r->lo);
			csv_num(f, r->hi);
			csv_num(f, r->level);
			fprintf(f, ",%d\n", res[i].flagged);
		}
	return rep_commit(f, &buf, &len, false, dir, "comparisons.csv");
}

int cmp_write(const char *dir, const struct cmp_sweep *sw, const struct cmp_result *res, int n)
{
	if (write_json(dir, sw, res, n) < 0)
		return -1;
	return write_csv(dir, res, n);
}
