/*
 * merge.c - `evbench merge`: read agents' results, merge them (agentres.c),
 * report the whole. See merge.h.
 */
#include "merge.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "schema.h"

#define MERGE_MAX_AGENTS 256

static void agent_line(FILE *f, const struct ar_result *r)
{
	const struct hist *h = &r->res.latency;

	fprintf(f, "  %-20s %-7s %2d/%-2d %7ld %9.0f %11llu %11.1f %9.1f %9.1f ",
		r->name, ar_role_name(r->role), r->index, r->shares,
		r->conns, r->rate, (unsigned long long)r->res.replies, r->res.throughput_rps,
		(double)hist_value_at_percentile(h, 50) / 1e3,
		(double)hist_value_at_percentile(h, 99) / 1e3);
	if (isfinite(r->offset_s))
		fprintf(f, "%+.6f s +- %.6f\n", r->offset_s, r->offset_unc_s);
	else
		fprintf(f, "not measured\n");
}

void merge_print(FILE *f, const struct ar_result *rs, int n, const struct ar_merged *m)
{
	fprintf(f, "evbench merge: %d load agent%s, %d latency agent%s\n", m->nload,
		m->nload == 1 ? "" : "s", m->nlatency, m->nlatency == 1 ? "" : "s");
	fprintf(f, "  %-20s %-7s %5s %7s %9s %11s %11s %9s %9s clock offset\n", "agent", "role",
		"share", "conns", "rate", "replies", "replies/s", "p50 us", "p99 us");
	for (int i = 0; i < n; i++)
		agent_line(f, &rs[i]);
	fprintf(f, "  (per-agent percentiles are shown for inspection only; the merged ones\n"
		"   below come from the summed histograms, never from these)\n");
	if (m->clock_corrected)
		fprintf(f, "window: %.6f s in which every load agent measured, in the coordinator's "
			"clock (offsets known to +- %.6f s)\n", m->load.wall_s, m->max_offset_unc_s);
	else
		fprintf(f, "window: %.6f s in which every load agent measured, in the agents' own "
			"clocks taken as they are (offsets not measured)\n", m->load.wall_s);
	fprintf(f, "merged load (replies/s summed over the agents' own measure phases):\n");
	lg_print_summary(f, &m->load_cfg, &m->load);
	if (m->nlatency) {
		fprintf(f, "latency agent%s, apart from the load:\n", m->nlatency == 1 ? "" : "s");
		lg_print_summary(f, &m->latency_cfg, &m->latency);
	}
}

int merge_write_json(FILE *f, const struct ar_result *rs, int n, const struct ar_merged *m)
{
	struct json_writer w;

	json_begin_document(&w, f, 2, EVB_SCHEMA_MERGED);
	json_key(&w, "agents");
	json_begin_array(&w);
	for (int i = 0; i < n; i++) {
		const struct ar_result *r = &rs[i];

		json_begin_object(&w);
		json_kv_string(&w, "name", r->name);
		json_kv_string(&w, "role", ar_role_name(r->role));
		json_kv_int(&w, "index", r->index);
		json_kv_int(&w, "shares", r->shares);
		json_kv_int(&w, "conns", r->conns);
		json_kv_double(&w, "rate", r->rate);
		json_kv_uint(&w, "replies", r->res.replies);
		/* Nanoseconds, as in the agent's file: a CLOCK_REALTIME second
		 * count is ten digits, all that json_double prints. */
		json_kv_int(&w, "measure_start_ns", ar_ns(r->start_s));
		json_kv_int(&w, "measure_end_ns", ar_ns(r->end_s));
		json_kv_double(&w, "clock_offset_s", r->offset_s);
		json_kv_double(&w, "clock_offset_uncertainty_s", r->offset_unc_s);
		json_end_object(&w);
	}
	json_end_array(&w);
	json_key(&w, "window");
	json_begin_object(&w);
	json_kv_double(&w, "length_s", m->load.wall_s);
	json_kv_string(&w, "clock", m->clock_corrected ? "coordinator" : "agents-uncorrected");
	json_kv_double(&w, "offset_uncertainty_s",
		       m->clock_corrected ? m->max_offset_unc_s : NAN);
	json_end_object(&w);
	/* Every phase's requests and replies, warm-up and drain included:
	 * what the server's own counters count (its lines). */
	json_key(&w, "all_phases");
	json_begin_object(&w);
	json_kv_uint(&w, "requests", m->load.requests_all + m->latency.requests_all);
	json_kv_uint(&w, "replies", m->load.replies_all + m->latency.replies_all);
	json_end_object(&w);
	json_key(&w, "load");
	lg_json_load(&w, &m->load_cfg);
	json_key(&w, "result");
	lg_json_result(&w, &m->load);
	json_key(&w, "latency_agent");
	if (m->nlatency) {
		json_begin_object(&w);
		json_kv_uint(&w, "replies", m->latency.replies);
		json_kv_double(&w, "rate", m->latency_cfg.rate);
		json_key(&w, "latency_us");
		lg_json_latency(&w, &m->latency.latency);
		json_key(&w, "latency_uncorrected_us");
		lg_json_latency(&w, &m->latency.latency_uncorrected);
		json_end_object(&w);
	} else {
		json_null(&w);
	}
	json_end_object(&w);
	return json_finish(&w);
}

/* Reads one result file into rs[*n]. A file of another schema is passed over
 * when it came from a directory (quiet), an error when named. Returns 0 or
 * -1 with the reason in err. */
static int read_one(const char *path, bool from_dir, struct ar_result *rs, int *n,
		    char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL, *start, why[256];
	size_t len = 0;
	int rc;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	FILE *mem = open_memstream(&text, &len);
	char buf[65536];
	size_t got;

	while (mem && (got = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, got, mem);
	if (!mem || ferror(f) || fclose(mem) != 0) {
		snprintf(err, errlen, "%s: cannot read", path);
		fclose(f);
		free(text);
		return -1;
	}
	fclose(f);
	/* The result is the line that opens with its schema: a file holding
	 * only it, or a pod's log (`kubectl logs`), where the agent's warnings
	 * on stderr may surround it. */
	start = strstr(text, "{\"schema\":\"" EVB_SCHEMA_AGENT "\"");
	if (!start && from_dir) {
		free(text);
		return 0;
	}
	if (!start) {
		start = text;
	} else {
		char *nl = strchr(start, '\n');

		len = nl ? (size_t)(nl - start) : strlen(start);
	}
	if (*n >= MERGE_MAX_AGENTS) {
		snprintf(err, errlen, "more than %d agents' results", MERGE_MAX_AGENTS);
		free(text);
		return -1;
	}
	rc = ar_parse(start, len, &rs[*n], why, sizeof why);
	free(text);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	(*n)++;
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int result_file(const struct dirent *e)
{
	size_t l = strlen(e->d_name);

	return (l > 5 && !strcmp(e->d_name + l - 5, ".json")) ||
	       (l > 4 && !strcmp(e->d_name + l - 4, ".log"));
}

static int read_path(const char *path, struct ar_result *rs, int *n, char *err, size_t errlen)
{
	struct stat st;
	struct dirent **list;
	int k, rc = 0;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return read_one(path, false, rs, n, err, errlen);
	if ((k = scandir(path, &list, result_file, by_name)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < k; i++) {
		char p[4096];

		snprintf(p, sizeof p, "%s/%s", path, list[i]->d_name);
		if (!rc && read_one(p, true, rs, n, err, errlen) < 0)
			rc = -1;
		free(list[i]);
	}
	free(list);
	return rc;
}

int merge_main(int argc, char **argv)
{
	struct ar_result *rs = calloc(MERGE_MAX_AGENTS, sizeof *rs);
	struct ar_merged m;
	bool json = false;
	char err[4400];
	int n = 0, npaths = 0, status = 0;

	if (!rs) {
		fprintf(stderr, "evbench merge: out of memory\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: evbench merge [--json] PATH...\n"
			       "Merges agents' results (evbench.agent/1 files, or directories of them)\n"
			       "exactly: histograms bucket by bucket, counters and CPU summed, the\n"
			       "window the intersection of the agents' measure phases (docs/many-hosts.md).\n");
			free(rs);
			return 0;
		}
		if (!strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		if (argv[i][0] == '-') {
			fprintf(stderr, "evbench merge: unknown option '%s' (see evbench merge --help)\n",
				argv[i]);
			free(rs);
			return 2;
		}
		npaths++;
		if (read_path(argv[i], rs, &n, err, sizeof err) < 0) {
			fprintf(stderr, "evbench merge: %s\n", err);
			status = 1;
			goto out;
		}
	}
	if (!npaths) {
		fprintf(stderr, "evbench merge: expected agents' result files or directories "
			"(see evbench merge --help)\n");
		free(rs);
		return 2;
	}
	if (ar_merge(rs, n, &m, err, sizeof err) < 0) {
		fprintf(stderr, "evbench merge: %s\n", err);
		status = 1;
	} else if (json ? merge_write_json(stdout, rs, n, &m) < 0
			: (merge_print(stdout, rs, n, &m), fflush(stdout) != 0)) {
		fprintf(stderr, "evbench merge: cannot write the report: %s\n", strerror(errno));
		status = 1;
	}
	ar_merged_free(&m);
out:
	for (int i = 0; i < n; i++)
		ar_free(&rs[i]);
	free(rs);
	return status;
}
