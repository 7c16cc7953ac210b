/*
 * lesson.c - the lessons' sweeps and their verdicts. See lesson.h, and
 * docs/teaching.md for what each one teaches.
 */
#include "lesson.h"
#include "designs.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "stats.h"

/* ---- reading a sweep's rows ---------------------------------------------------- */

typedef double (*metric_fn)(const struct rep_row *r);

static double m_cpu(const struct rep_row *r) { return r->cpu_us_server; }
static double m_rps(const struct rep_row *r) { return r->throughput_rps; }
static double m_sys(const struct rep_row *r) { return r->sys_per_req_server; }
static double m_up(const struct rep_row *r) { return (double)r->conns_up; }
static double m_util(const struct rep_row *r) { return r->server_util; }
static double m_ready(const struct rep_row *r) { return r->ready_per_wakeup_server; }
static double m_fdset(const struct rep_row *r) { return (double)r->srv_fdset; }
static double m_emfile(const struct rep_row *r) { return (double)r->srv_emfile; }
static double m_ctl(const struct rep_row *r) { return r->sys_by_name_server[MECH_SC_epoll_ctl]; }

/* The share of the server's CPU spent in the kernel, -1 when not measured. */
static double m_kernel(const struct rep_row *r)
{
	return r->server_cpu_s > 0 && r->server_sys_s >= 0 ? r->server_sys_s / r->server_cpu_s : -1;
}

static double m_accepts(const struct rep_row *r)
{
	double a = r->sys_by_name_server[MECH_SC_accept], b = r->sys_by_name_server[MECH_SC_accept4];

	return a < 0 && b < 0 ? -1 : (a > 0 ? a : 0) + (b > 0 ? b : 0);
}

/* KiB of the server group's memory (PSS) per connection up. */
static double m_kib_per_conn(const struct rep_row *r)
{
	return r->group_pss_kb >= 0 && r->conns_up > 0 ?
		(double)r->group_pss_kb / (double)r->conns_up : -1;
}

static const struct rep_row *find(const struct rep_row *rows, int n, const char *server,
				  long conns, int round)
{
	for (int i = 0; i < n; i++)
		if (rows[i].conns == conns && rows[i].repeat == round && rows[i].ran &&
		    !strcmp(rows[i].server, server))
			return &rows[i];
	return NULL;
}

/* The place of a server in the order the reports use (the design table,
 * designs.h), others after. */
static int rank(const char *server)
{
	for (int i = 0; i < evb_ndesigns; i++)
		if (!strcmp(evb_designs[i].name, server))
			return i;
	return evb_ndesigns;
}

/* The distinct servers of the rows, in the reports' order. Returns how many. */
static int servers_in(const struct rep_row *rows, int n, const char **out, int max)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		int j;

		for (j = 0; j < k && strcmp(out[j], rows[i].server); j++)
			;
		if (j < k || k == max)
			continue;
		/* Insert in order. */
		for (j = k++; j > 0 && (rank(out[j - 1]) > rank(rows[i].server) ||
					(rank(out[j - 1]) == rank(rows[i].server) &&
					 strcmp(out[j - 1], rows[i].server) > 0)); j--)
			out[j] = out[j - 1];
		out[j] = rows[i].server;
	}
	return k;
}

/* The distinct connection counts, ascending. Returns how many. */
static int conns_in(const struct rep_row *rows, int n, long *out, int max)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		int j;

		for (j = 0; j < k && out[j] != rows[i].conns; j++)
			;
		if (j < k || k == max)
			continue;
		for (j = k++; j > 0 && out[j - 1] > rows[i].conns; j--)
			out[j] = out[j - 1];
		out[j] = rows[i].conns;
	}
	return k;
}

/* The median over the rounds of a metric of (server, conns), -1 when no
 * round measured it. */
static double median_of(const struct rep_row *rows, int n, const char *server, long conns,
			metric_fn m)
{
	int rounds = rep_rounds(rows, n), k = 0;
	double *x = calloc((size_t)rounds + 1, sizeof *x);
	struct stats_median_ci ci;

	if (!x)
		return -1;
	for (int r = 1; r <= rounds; r++) {
		const struct rep_row *a = find(rows, n, server, conns, r);

		if (a && m(a) >= 0)
			x[k++] = m(a);
	}
	stats_median_ci(x, (size_t)k, 0.95, &ci);
	free(x);
	return k ? ci.median : -1;
}

/* The paired ratio, round by round, of a metric of (sa, ca) over the same
 * metric of (sb, cb), as in "Comparisons": its median and interval. Returns
 * false when no round has both. */
static bool paired(const struct rep_row *rows, int n, const char *sa, long ca, const char *sb,
		   long cb, metric_fn m, struct stats_median_ci *ci)
{
	int rounds = rep_rounds(rows, n), k = 0;
	double *x = calloc((size_t)rounds + 1, sizeof *x);

	if (!x)
		return false;
	for (int r = 1; r <= rounds; r++) {
		const struct rep_row *a = find(rows, n, sa, ca, r), *b = find(rows, n, sb, cb, r);

		if (a && b && m(a) > 0 && m(b) > 0)
			x[k++] = m(a) / m(b);
	}
	stats_median_ci(x, (size_t)k, 0.95, ci);
	free(x);
	return k > 0;
}

/* "2.10x [1.90, 2.30]", with the interval's coverage when it is under 95%,
 * or the reason there is none. */
static const char *ratio_text(char *buf, size_t len, const struct stats_median_ci *ci)
{
	char m[24], lo[24], hi[24];
	/* Two decimals, or two significant digits for a collapse (0.013x). */
#define RATIO(b, v) snprintf(b, sizeof b, fabs(v) < 0.1 ? "%.2g" : "%.2f", v)
	RATIO(m, ci->median);
	if (!ci->has_ci) {
		snprintf(buf, len, "%sx (%zu round%s: no interval)", m, ci->n, ci->n == 1 ? "" : "s");
		return buf;
	}
	RATIO(lo, ci->lo);
	RATIO(hi, ci->hi);
#undef RATIO
	if (ci->level < 0.95 - 1e-9)
		snprintf(buf, len, "%sx [%s, %s] (%zu rounds: a %.1f%% interval)", m, lo, hi, ci->n,
			 ci->level * 100);
	else
		snprintf(buf, len, "%sx [%s, %s]", m, lo, hi);
	return buf;
}

/* A count with thousands separators: 4,901. */
static const char *count(char *buf, size_t len, double v)
{
	char digits[32];
	int nd, o = 0;

	if (v < 0)
		return snprintf(buf, len, "-"), buf;
	nd = snprintf(digits, sizeof digits, "%.0f", v);
	for (int i = 0; i < nd && (size_t)o + 2 < len; i++) {
		if (i && (nd - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

/* A figure with about three significant digits, or "-". */
static const char *fig(char *buf, size_t len, double v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else if (v >= 100)
		count(buf, len, v);
	else
		snprintf(buf, len, v >= 10 ? "%.1f" : v >= 0.1 ? "%.2f" : "%.3g", v);
	return buf;
}

/* True when the server of the rows has the property (common/designs.h, DS_*)
 * in its row of the design table. */
static bool has(const struct rep_row *rows, int n, const char *server, unsigned prop)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(rows[i].server, server))
			return rows[i].d && (rows[i].d->props & prop);
	return false;
}

/* The server the others are measured against: the design table's reference
 * (DS_REFERENCE) when it ran, else the last. */
static const char *reference(const struct rep_row *rows, int n, const char **servers, int ns)
{
	for (int i = 0; i < ns; i++)
		if (has(rows, n, servers[i], DS_REFERENCE))
			return servers[i];
	return ns ? servers[ns - 1] : NULL;
}

#define MAXS 16
#define MAXC 16

/* ---- the verdicts ------------------------------------------------------------------ */

/* What a verdict reads its figures over: the rows, their servers in the
 * reports' order, their connection counts ascending, and the reference.
 * lesson_verdict() builds it once for the lesson's verdict. */
struct lesson_grid {
	const struct rep_row *rows;
	int n;
	const char *sv[MAXS];
	long cv[MAXC];
	int ns, nc;
	const char *ref;
};

static void grid_of(struct lesson_grid *g, const struct rep_row *rows, int n)
{
	g->rows = rows;
	g->n = n;
	g->ns = servers_in(rows, n, g->sv, MAXS);
	g->nc = conns_in(rows, n, g->cv, MAXC);
	g->ref = reference(rows, n, g->sv, g->ns);
}

/* The median over the rounds of metric m of server i at count k (as
 * median_of). */
static double at(const struct lesson_grid *g, int i, int k, metric_fn m)
{
	return median_of(g->rows, g->n, g->sv[i], g->cv[k], m);
}

/* Ends the line of server i at count k with the paired ratio of metric m
 * over the reference's, between pre and post ("; CPU 0.93x [0.90, 0.97]
 * epoll-lt's"); with nothing for the reference itself or when no round
 * measured both. */
static void end_vs_ref(FILE *f, const struct lesson_grid *g, int i, int k, metric_fn m,
		       const char *pre, const char *post)
{
	struct stats_median_ci ci;
	char a[160];

	if (g->ref && strcmp(g->sv[i], g->ref) &&
	    paired(g->rows, g->n, g->sv[i], g->cv[k], g->ref, g->cv[k], m, &ci))
		fprintf(f, "%s%s %s's%s", pre, ratio_text(a, sizeof a, &ci), g->ref, post);
	fputs("\n", f);
}

static void v_idle(FILE *f, const struct lesson_grid *gr)
{
	char a[160], b[32], c[32], d[32], e[32], g[32], h[32];

	if (gr->nc < 2) {
		fprintf(f, "  (the sweep needs two connection counts to show the growth)\n");
		return;
	}
	for (int i = 0; i < gr->ns; i++) {
		struct stats_median_ci ci;
		long lo = gr->cv[0], hi = gr->cv[gr->nc - 1];
		double ready = median_of(gr->rows, gr->n, gr->sv[i], hi, m_ready);
		double up = median_of(gr->rows, gr->n, gr->sv[i], hi, m_up);

		if (!paired(gr->rows, gr->n, gr->sv[i], hi, gr->sv[i], lo, m_cpu, &ci)) {
			fprintf(f, "  %s: not measured at both %ld and %ld connections\n", gr->sv[i], lo,
				hi);
			continue;
		}
		fprintf(f, "  %s: server CPU per request %s at %s connections against %s "
			"(%s -> %s us); system calls per request %s -> %s",
			gr->sv[i], ratio_text(a, sizeof a, &ci), count(c, sizeof c, (double)hi),
			count(b, sizeof b, (double)lo),
			fig(d, sizeof d, median_of(gr->rows, gr->n, gr->sv[i], lo, m_cpu)),
			fig(e, sizeof e, median_of(gr->rows, gr->n, gr->sv[i], hi, m_cpu)),
			fig(g, sizeof g, median_of(gr->rows, gr->n, gr->sv[i], lo, m_sys)),
			fig(h, sizeof h, median_of(gr->rows, gr->n, gr->sv[i], hi, m_sys)));
		if (ready >= 0) {
			fprintf(f, "; at %s each wake-up returned %s ready descriptors",
				count(b, sizeof b, (double)hi), fig(c, sizeof c, ready));
			if (has(gr->rows, gr->n, gr->sv[i], DS_SCANS) && up > 0)
				fprintf(f, " of the %s it handed the kernel on every call",
					count(e, sizeof e, up + 1));
		}
		fputs("\n", f);
	}
}

static void v_fdsetsize(FILE *f, const struct lesson_grid *gr)
{
	char a[160], b[32], c[32], d[32];

	for (int k = 0; k < gr->nc; k++)
		for (int i = 0; i < gr->ns; i++) {
			if (!has(gr->rows, gr->n, gr->sv[i], DS_FD_SETSIZE))
				continue;
			fprintf(f, "  at %s connections %s had %s up (FD_SETSIZE is %d) and "
				"refused %s connection attempts",
				count(b, sizeof b, (double)gr->cv[k]), gr->sv[i],
				count(c, sizeof c, at(gr, i, k, m_up)), FD_SETSIZE,
				count(d, sizeof d, at(gr, i, k, m_fdset)));
			for (int j = 0; j < gr->ns; j++) {
				struct stats_median_ci ci;

				if (j != i && paired(gr->rows, gr->n, gr->sv[i], gr->cv[k], gr->sv[j],
						     gr->cv[k], m_rps, &ci))
					fprintf(f, "; its throughput was %s %s's", ratio_text(a, sizeof a, &ci),
						gr->sv[j]);
			}
			fputs("\n", f);
		}
}

static void v_perconn(FILE *f, const struct lesson_grid *gr)
{
	char b[32], c[32];

	for (int k = 0; k < gr->nc; k++)
		for (int i = 0; i < gr->ns; i++) {
			const struct rep_row *any = NULL;

			for (int r = 1; r <= rep_rounds(gr->rows, gr->n) && !any; r++)
				if ((any = find(gr->rows, gr->n, gr->sv[i], gr->cv[k], r)) &&
				    !any->sys_top_server[0])
					any = NULL;
			fprintf(f, "  %s: %s us of server CPU and %s system calls per request", gr->sv[i],
				fig(b, sizeof b, at(gr, i, k, m_cpu)),
				fig(c, sizeof c, at(gr, i, k, m_sys)));
			if (any)
				fprintf(f, " (%s)", any->sys_top_server);
			end_vs_ref(f, gr, i, k, m_cpu, "; CPU ", "");
		}
}

static void v_edge(FILE *f, const struct lesson_grid *gr)
{
	char a[32], b[32], c[32];

	for (int k = 0; k < gr->nc; k++)
		for (int i = 0; i < gr->ns; i++) {
			fprintf(f, "  %s: %s epoll_ctl calls and %s system calls per request, %s us of "
				"server CPU", gr->sv[i],
				fig(b, sizeof b, at(gr, i, k, m_ctl)),
				fig(c, sizeof c, at(gr, i, k, m_sys)),
				fig(a, sizeof a, at(gr, i, k, m_cpu)));
			end_vs_ref(f, gr, i, k, m_cpu, " (", ")");
		}
}

static void v_memory(FILE *f, const struct lesson_grid *gr)
{
	char b[32], c[32];

	for (int k = 0; k < gr->nc; k++) {
		fprintf(f, "  at %s connections, server memory (PSS) per connection up:\n",
			count(b, sizeof b, (double)gr->cv[k]));
		for (int i = 0; i < gr->ns; i++) {
			fprintf(f, "    %s: %s KiB (%s up)", gr->sv[i],
				fig(b, sizeof b, at(gr, i, k, m_kib_per_conn)),
				count(c, sizeof c, at(gr, i, k, m_up)));
			end_vs_ref(f, gr, i, k, m_kib_per_conn, ", ", "");
		}
	}
}

static void v_emfile(FILE *f, const struct lesson_grid *gr)
{
	char a[32], b[32], c[32], d[32], e[32], g[32], h[32];

	for (int k = 0; k < gr->nc; k++)
		for (int i = 0; i < gr->ns; i++)
			fprintf(f, "  %s at %s connections: %s accepts failed with EMFILE, %s "
				"connections up, %s req/s served; the server used %s of its CPU "
				"capacity (%s us per request) and made %s accept calls per request\n",
				gr->sv[i], count(a, sizeof a, (double)gr->cv[k]),
				count(b, sizeof b, at(gr, i, k, m_emfile)),
				count(c, sizeof c, at(gr, i, k, m_up)),
				count(d, sizeof d, at(gr, i, k, m_rps)),
				fig(e, sizeof e, at(gr, i, k, m_util)),
				fig(g, sizeof g, at(gr, i, k, m_cpu)),
				fig(h, sizeof h, at(gr, i, k, m_accepts)));
}

/* Completions against readiness: what the system calls were worth. For each
 * count, each server's system calls and CPU per request and the kernel's
 * share of that CPU, then the completion-based server against the
 * reference, and what the two figures together say. */
static void v_uring(FILE *f, const struct lesson_grid *gr)
{
	char a[160], b[32], c[32], d[32], e[32];

	for (int k = 0; k < gr->nc; k++) {
		fprintf(f, "  at %s connections:\n", count(b, sizeof b, (double)gr->cv[k]));
		for (int i = 0; i < gr->ns; i++) {
			double kern = at(gr, i, k, m_kernel);

			fprintf(f, "    %s: %s system calls and %s us of server CPU per request, "
				"%s%% of it in the kernel\n", gr->sv[i],
				fig(b, sizeof b, at(gr, i, k, m_sys)),
				fig(c, sizeof c, at(gr, i, k, m_cpu)),
				kern < 0 ? "-" : (snprintf(d, sizeof d, "%.0f", kern * 100), d));
		}
		for (int i = 0; i < gr->ns && gr->ref; i++) {
			struct stats_median_ci ci;
			double s_ref = median_of(gr->rows, gr->n, gr->ref, gr->cv[k], m_sys);
			double s_me = at(gr, i, k, m_sys);
			double kern = median_of(gr->rows, gr->n, gr->ref, gr->cv[k], m_kernel);
			const char *says;

			if (!strcmp(gr->sv[i], gr->ref) ||
			    !paired(gr->rows, gr->n, gr->sv[i], gr->cv[k], gr->ref, gr->cv[k], m_cpu, &ci))
				continue;
			if (!ci.has_ci)
				says = "too few rounds to tell";
			else if (ci.hi < 1)
				says = "cheaper";
			else if (ci.lo > 1)
				says = "dearer";
			else
				says = "no different, as far as this run can tell";
			fprintf(f, "    %s against %s: CPU per request %s, %s", gr->sv[i], gr->ref,
				ratio_text(a, sizeof a, &ci), says);
			if (s_ref > 0 && s_me >= 0) {
				double fewer = 1 - s_me / s_ref, less = 1 - ci.median;

				snprintf(d, sizeof d, "%.0f", 100 * fewer);
				snprintf(e, sizeof e, "%.0f", 100 * fabs(less));
				fprintf(f, "; %s%% fewer system calls (%s -> %s per request) %s %s%% %s "
					"CPU", d, fig(b, sizeof b, s_ref), fig(c, sizeof c, s_me),
					less >= 0 ? "bought" : "and yet", e, less >= 0 ? "less" : "more");
				/* The lesson: when the calls go and the CPU barely
				 * moves, the time was elsewhere (the TCP work). */
				if (fewer > 0.5 && less < fewer / 4)
					fputs(": the system calls were not where the time went", f);
			}
			if (kern >= 0)
				fprintf(f, " (the kernel took %.0f%% of %s's CPU)", kern * 100, gr->ref);
			fputs("\n", f);
		}
	}
}

/* ---- the lessons -------------------------------------------------------------------- */

#define SHORT "--duration", "1", "--warmup", "0.5", "--repeat", "6", "--mechanism", "on", "--plot"

static const struct lesson lessons[] = {
	{ "idle", "idle connections cost select and poll, not epoll: O(n) against O(ready)",
	  "servers/rot13_poll.c, servers/rot13_epoll_lt.c", "mechanism.png, cpu.png",
	  { "--server", "poll,epoll-lt", "--conns", "100,5000", "--active", "100", SHORT, NULL },
	  v_idle },
	{ "fdsetsize", "select cannot watch a descriptor >= FD_SETSIZE",
	  "servers/rot13_select.c", "fd_limit.png, throughput.png",
	  { "--server", "select,poll", "--conns", "900,2000", "--active", "100", SHORT, NULL },
	  v_fdsetsize },
	{ "perconn", "a process or a thread per connection pays for its creation",
	  "servers/rot13_fork.c, servers/rot13_threads.c, servers/rot13_epoll_lt.c",
	  "mechanism.png, cpu.png",
	  { "--server", "fork,threads,epoll-lt", "--conns", "50", "--requests-per-conn", "1", SHORT,
	    NULL },
	  v_perconn },
	{ "edge", "edge-triggered epoll saves the re-arming epoll_ctl calls",
	  "servers/rot13_epoll_lt.c, servers/rot13_epoll_et.c", "mechanism.png, cpu.png",
	  { "--server", "epoll-lt,epoll-et", "--conns", "100", "--size", "16384", "--pipeline", "8",
	    SHORT, NULL },
	  v_edge },
	{ "memory", "memory per connection: a process, a thread, or a few hundred bytes",
	  "servers/rot13_fork.c, servers/rot13_threads.c, servers/rot13_epoll_lt.c",
	  "mechanism.png (and the table's srv MB)",
	  { "--server", "fork,threads,poll,epoll-lt", "--conns", "1000", "--active", "10", "--duration",
	    "2", "--warmup", "0.5", "--repeat", "3", "--mechanism", "on", "--plot", NULL },
	  v_memory },
	{ "emfile", "out of descriptors: shed the connection, do not spin",
	  "servers/srv_accept.c (srv_accept), docs/protocol.md", "fd_limit.png, mechanism.png",
	  { "--server", "poll,epoll-lt,threads", "--conns", "400", "--server-nofile", "256", SHORT,
	    NULL },
	  v_emfile },
	{ "uring", "completions save the system calls, not the TCP work behind them",
	  "servers/rot13_uring.c, servers/rot13_epoll_lt.c, docs/uring-multishot-reset.md",
	  "mechanism.png, cpu.png",
	  /* auto, not on: counting calls by name costs a second tracepoint hit
	   * per call, which epoll-lt makes thirty times as often as uring,
	   * and would tilt the very comparison the lesson is about. */
	  { "--server", "epoll-lt,uring", "--conns", "100,1000,10000", "--duration", "1",
	    "--warmup", "0.5", "--repeat", "6", "--mechanism", "auto", "--plot", NULL },
	  v_uring },
};

const struct lesson *lesson_find(const char *name)
{
	for (size_t i = 0; i < sizeof lessons / sizeof lessons[0]; i++)
		if (!strcmp(lessons[i].name, name))
			return &lessons[i];
	return NULL;
}

void lesson_list(FILE *f)
{
	for (size_t i = 0; i < sizeof lessons / sizeof lessons[0]; i++) {
		fprintf(f, "%-10s %s\n           evbench", lessons[i].name, lessons[i].title);
		for (int k = 0; lessons[i].args[k]; k++)
			fprintf(f, " %s", lessons[i].args[k]);
		fprintf(f, "\n           read %s\n", lessons[i].read);
	}
}

/* Whether option opt ("--conns") is among the user's, as "--conns V" or
 * "--conns=V". */
static bool given(const char *opt, int n, char **args)
{
	size_t len = strlen(opt);

	for (int i = 0; i < n; i++)
		if (!strncmp(args[i], opt, len) && (args[i][len] == '\0' || args[i][len] == '='))
			return true;
	return false;
}

char **lesson_argv(const struct lesson *l, const char *argv0, int nextra, char **extra,
		   int *argc)
{
	int n = 0, k = 0;
	char **v;

	while (l->args[n])
		n++;
	v = calloc((size_t)(n + nextra + 2), sizeof *v);
	if (!v)
		return NULL;
	v[k++] = (char *)argv0;
	/* The user's options win: a lesson's option the user gives too is
	 * left out (evbench refuses a second --conns), but for --server,
	 * which adds the user's servers to the lesson's. */
	for (int i = 0; i < n; i++) {
		bool has_value = i + 1 < n && strncmp(l->args[i + 1], "--", 2) != 0;

		if (strcmp(l->args[i], "--server") != 0 && given(l->args[i], nextra, extra)) {
			i += has_value;
			continue;
		}
		v[k++] = (char *)l->args[i];
	}
	for (int i = 0; i < nextra; i++)
		v[k++] = extra[i];
	v[k] = NULL;
	*argc = k;
	return v;
}

void lesson_verdict(const struct lesson *l, const struct rep_row *rows, int n, FILE *f)
{
	struct lesson_grid g;

	grid_of(&g, rows, n);
	fprintf(f, "\nlesson %s: %s\n", l->name, l->title);
	l->verdict(f, &g);
	fprintf(f, "  read %s; the plots %s; docs/teaching.md explains it\n", l->read, l->plot);
}
