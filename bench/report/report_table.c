/*
 * report_table.c - the compact human table on stdout: one row per server and
 * connection count over its repeats. Nothing parses it (the machine files
 * are report.c's). See report.h.
 */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table ------------------------------------------------------------------- */

void rep_table_header(FILE *f)
{
	fprintf(f, "%-17s %6s %7s %6s %9s %8s %8s %8s %8s %8s %6s %7s %-7s %6s %8s %6s  %s\n",
		"server", "conns", "up", "active", "req/s", "p50 ms", "p99 ms", "p99.9 ms",
		"cli us/r", "srv us/r", "sys/r", "srv MB", "bound", "others", "fd-limit", "errors",
		"srv vs ref");
}

/* A number in a fixed width, '-' when not measured. */
static const char *cell(char *buf, size_t len, double v, const char *fmt)
	__attribute__((format(printf, 4, 0)));
static const char *cell(char *buf, size_t len, double v, const char *fmt)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, fmt, v);
	return buf;
}

/* A percentile in milliseconds with three significant digits or so: the
 * table spans 0.1 ms at 100 connections to seconds at 10,000. */
static const char *ms_cell(char *buf, size_t len, const struct hist *h, double p)
{
	double ms;

	if (!h || !hist_count(h))
		return cell(buf, len, -1, "%.0f");
	ms = (double)hist_value_at_percentile(h, p) / 1e6;
	return cell(buf, len, ms, ms < 10 ? "%.2f" : ms < 100 ? "%.1f" : "%.0f");
}

static int cmp_dbl(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* The median of the measured (non-negative) values among n, -1 when none:
 * a repeat that ran in a slow spell of the machine moves a mean, not a
 * median. */
static double median_of(double *v, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		if (v[i] >= 0)
			v[k++] = v[i];
	if (k == 0)
		return -1;
	qsort(v, (size_t)k, sizeof *v, cmp_dbl);
	return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

enum { T_UP, T_ACT, T_RPS, T_CLI, T_SRV, T_OTH, T_MEM, T_SYS, T_NCOLS };

void rep_table_row(FILE *f, const struct rep_row *rows, int n, const struct hist *merged,
		   const char *vs_ref)
{
	double *col[T_NCOLS], med[T_NCOLS];
	int64_t fd = 0, errs = 0;
	bool fd_known = false, any_failure = false, skipped = false;
	char bound[16] = "-", c[12][32];
	const char *note = "";

	for (int k = 0; k < T_NCOLS; k++) {
		col[k] = calloc((size_t)n, sizeof(double));
		if (!col[k]) {
			while (k--)
				free(col[k]);
			fprintf(f, "%-17s %6ld (out of memory)\n", rows[0].server, rows[0].conns);
			return;
		}
	}
	for (int i = 0; i < n; i++) {
		const struct rep_row *r = &rows[i];

		col[T_UP][i] = (double)r->conns_up;
		col[T_ACT][i] = (double)r->conns_active;
		col[T_RPS][i] = r->throughput_rps;
		col[T_CLI][i] = r->cpu_us_client;
		col[T_SRV][i] = r->cpu_us_server;
		col[T_OTH][i] = r->others_util >= 0 ? r->others_util * 100 : -1;
		col[T_SYS][i] = r->sys_per_req_server;
		col[T_MEM][i] = r->group_pss_kb >= 0 ? (double)r->group_pss_kb / 1024 : -1;
		if (r->ran) {
			fd += (int64_t)r->fd_client;
			errs += (int64_t)(r->errors_client - r->errors_shed);
			/* A user's server does not say what it shed: the sum
			 * would pass half a count for the whole. */
			fd_known = !r->external;
		}
		if (r->fd_server >= 0)
			fd += r->fd_server, fd_known = true;
		if (r->errors_server > 0)
			errs += r->errors_server;
		if (strncmp(r->failure, ORCH_SKIPPED, strlen(ORCH_SKIPPED)) == 0)
			skipped = true;
		else if (r->failure[0])
			any_failure = true;
		/* The repeats' common bound, or "mixed" when they disagree. */
		if (i == 0)
			snprintf(bound, sizeof bound, "%s", r->bound);
		else if (strcmp(bound, r->bound) != 0)
			snprintf(bound, sizeof bound, "mixed");
	}
	for (int k = 0; k < T_NCOLS; k++) {
		med[k] = median_of(col[k], n);
		free(col[k]);
	}
	if (any_failure)
		note = "  (failed: see JSON)";
	else if (skipped)
		note = "  (skipped: see JSON)";
	/* Fewer connections up than asked for (select past FD_SETSIZE, a
	 * descriptor limit): the row measured a smaller load than its conns
	 * says, and the flag says so where the number is read. */
	fprintf(f, "%-17s %6ld %7s %6s %9s %8s %8s %8s %8s %8s %6s %7s %-7s %6s %8s %6lld  %s%s\n",
		rows[0].server, rows[0].conns,
		med[T_UP] < 0 ? "- " : cell(c[0], 32, med[T_UP], med[T_UP] < (double)rows[0].conns ?
						       "%.0f*" : "%.0f "),
		cell(c[11], 32, med[T_ACT], "%.0f"),
		cell(c[1], 32, med[T_RPS], "%.0f"),
		ms_cell(c[2], 32, merged, 50),
		ms_cell(c[3], 32, merged, 99),
		ms_cell(c[4], 32, merged, 99.9),
		cell(c[5], 32, med[T_CLI], "%.1f"),
		cell(c[6], 32, med[T_SRV], "%.1f"),
		cell(c[10], 32, med[T_SYS], med[T_SYS] < 10 ? "%.2f" : "%.0f"),
		cell(c[9], 32, med[T_MEM], med[T_MEM] < 10 ? "%.1f" : "%.0f"),
		bound,
		cell(c[8], 32, med[T_OTH], "%.0f%%"),
		cell(c[7], 32, fd_known ? (double)fd : -1, "%.0f"),
		(long long)errs, vs_ref ? vs_ref : "-", note);
	fflush(f);
}
