/*
 * gate_load.c - reading the results of both sides of `evbench gate`. See gate_int.h.
 */
#include "gate_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

void gate__report_parse_error(const char *file, const struct jr_error *e)
{
	if (e->line == 0)
		fprintf(stderr, "evbench gate: %s: %s\n", file, e->msg);
	else
		fprintf(stderr, "evbench gate: %s:%d:%d (byte %zu): %s\n", file, e->line,
			e->column, e->offset, e->msg);
}

bool gate__is_schema(const struct jr_value *v, const char *schema)
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
		r->has[m] = happened && jr_number(jr_path(o, gate__metrics[m].path), &r->m[m]) == 0 &&
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
		if (gate__is_schema(v, EVB_SCHEMA_RUN) && add_run(sd, v, file, 0) < 0)
			return -1;
	} else if (v->type == JR_ARRAY) {
		for (size_t i = 0; i < v->len; i++)
			if (gate__is_schema(v->items[i], EVB_SCHEMA_RUN) &&
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
int gate__load_side(struct side *sd)
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
			return gate__load_side(sd);
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
			gate__report_parse_error(names[i], &e);
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
		fprintf(stderr, "evbench gate: %s: no %s results in it\n", sd->path, EVB_SCHEMA_RUN);
		rc = -1;
	}
	return rc;
}

void gate__free_side(struct side *sd)
{
	for (size_t i = 0; i < sd->n; i++) {
		free(sd->runs[i].server);
		free(sd->runs[i].run_id);
	}
	free(sd->runs);
	free(sd->owned);
}

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
int gate__normalize(struct side *sd, const char *ref)
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
