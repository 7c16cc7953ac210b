/*
 * collect.c - the server side of the measurements, and the host's facts.
 * See collect.h for what each figure means and where it comes from.
 */
#include "collect.h"
#include "designs.h"
#include "procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

double col_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Descriptors held in reserve for the /proc scan: a client at its
 * descriptor limit (more connections asked for than it may hold) takes every
 * free slot, and the scan would then find nothing to open. */
#define NRESERVE 4
static int reserve[NRESERVE] = { -1, -1, -1, -1 };

void col_reserve_fds(void)
{
	for (int i = 0; i < NRESERVE; i++)
		if (reserve[i] < 0)
			reserve[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void release_reserve(void)
{
	for (int i = 0; i < NRESERVE; i++)
		if (reserve[i] >= 0) {
			close(reserve[i]);
			reserve[i] = -1;
		}
}

/* A member of the group other than its leader, as the scan found it. */
struct member {
	pid_t pid;
	unsigned long long utime, stime, cutime, cstime, ns;
	long vcsw, ivcsw;
};

/* The scan of /proc for the members of a group (proc_each). */
struct scan {
	pid_t pgid;
	const char *lname;          /* the leader, read last and apart */
	bool cpu, csw;
	long page_kb;
	struct member *m;
	size_t nm, cap;
	struct col_sample *s;
};

static int add_member(const char *entry, void *arg)
{
	struct scan *g = arg;
	struct proc_stat ps;
	struct member *x;

	/* A process that exits between readdir and open is simply gone. */
	if (strcmp(entry, g->lname) == 0 || proc_stat_read(entry, &ps) < 0 ||
	    ps.pgrp != (long)g->pgid)
		return 0;
	if (g->nm == g->cap) {
		struct member *grown = realloc(g->m, (g->cap = g->cap ? 2 * g->cap : 64) * sizeof *g->m);

		if (!grown)
			return -1;
		g->m = grown;
	}
	x = &g->m[g->nm++];
	x->pid = (pid_t)atoi(entry);
	x->utime = ps.utime;
	x->stime = ps.stime;
	x->cutime = ps.cutime;
	x->cstime = ps.cstime;
	x->ns = g->cpu ? proc_threads_ns(entry, ps.nthreads) : 0;
	x->vcsw = x->ivcsw = 0;
	if (g->csw)
		proc_threads_csw(entry, ps.nthreads, &x->vcsw, &x->ivcsw);
	g->s->nprocs++;
	g->s->nthreads += ps.nthreads;
	g->s->rss_kb += ps.rss_pages * g->page_kb;
	return 0;
}

/*
 * Children exit while the group is scanned (at DRAIN the client closes its
 * connections, and fork's children follow), and the leader reaps them: a
 * child's time then moves from its own stat to the leader's cutime. So the
 * children are read first, the leader last, and a child read alive counts
 * only if it still exists after the leader was read (a zombie still exists:
 * its time is not in cutime yet). One that was reaped in between is in the
 * leader's cutime instead; only a reap in the few ms between reading the
 * leader and checking the child can still go uncounted. A member that
 * reaps children of its own counts their time in its cutime the same way
 * (a reap by it after it was read is the same small loss).
 *
 * Why two sources: /proc/<pid>/stat gives utime and stime in clock ticks,
 * truncated per process, so 10,000 fork children that each ran 2 ms add up
 * to nothing; it does include the threads that have exited. The scheduler's
 * schedstat is exact to the ns but per live thread. Each process counts the
 * larger of the two, and the user/sys split follows the ticks' proportions.
 */
int col_sample_group(pid_t pgid, pid_t leader, struct col_sample *s, int what)
{
	bool pss = what & COL_PSS, cpu = what & COL_CPU, csw = what & COL_CSW;
	static long tck, page_kb;
	unsigned long long tick_ns, user = 0, sys = 0, total_ns = 0, ns;
	struct member *m = NULL;
	size_t nm = 0;
	char lname[24];
	struct proc_stat ps;
	struct scan g;
	int rc;

	if (!tck) {
		tck = sysconf(_SC_CLK_TCK);
		page_kb = sysconf(_SC_PAGESIZE) / 1024;
		if (tck <= 0)
			tck = 100;
		if (page_kb <= 0)
			page_kb = 4;
	}
	tick_ns = 1000000000ULL / (unsigned long long)tck;
	memset(s, 0, sizeof *s);
	s->t = col_now();
	s->pss_kb = -1;
	s->vcsw = s->ivcsw = -1;
	/* The load threads may take a freed slot first; the reserve holds
	 * several so the scan still has one or two. */
	release_reserve();
	col_sample_machine(s);
	snprintf(lname, sizeof lname, "%d", (int)leader);
	g = (struct scan){ pgid, lname, cpu, csw, page_kb, NULL, 0, 0, s };
	rc = proc_each("/proc", add_member, &g);
	m = g.m;
	nm = g.nm;
	if (rc != 0)
		goto fail;

	/* The leader, last: its own threads, and the children it has reaped
	 * (their times were summed in ns by the kernel, so this term is not
	 * truncated per child). */
	if (proc_stat_read(lname, &ps) < 0 || ps.pgrp != (long)pgid)
		goto gone;
	s->valid = true;
	user = ps.utime + ps.cutime;
	sys = ps.stime + ps.cstime;
	ns = cpu ? proc_threads_ns(lname, ps.nthreads) : 0;
	if (csw) {
		s->vcsw = s->ivcsw = 0;
		proc_threads_csw(lname, ps.nthreads, &s->vcsw, &s->ivcsw);
	}
	total_ns = ns > (ps.utime + ps.stime) * tick_ns ? ns : (ps.utime + ps.stime) * tick_ns;
	total_ns += (ps.cutime + ps.cstime) * tick_ns;
	s->nprocs++;
	s->nthreads += ps.nthreads;
	s->rss_kb += ps.rss_pages * page_kb;

	for (size_t i = 0; i < nm; i++) {
		unsigned long long ticks_ns = (m[i].utime + m[i].stime) * tick_ns;

		if (kill(m[i].pid, 0) < 0 && errno == ESRCH)
			continue;       /* reaped: counted in the leader's cutime */
		user += m[i].utime + m[i].cutime;
		sys += m[i].stime + m[i].cstime;
		total_ns += m[i].ns > ticks_ns ? m[i].ns : ticks_ns;
		/* The children a member reaped itself (a user's command
		 * under its keeper does: docs/your-server.md) are in its
		 * cutime, as the leader's are in the leader's. */
		total_ns += (m[i].cutime + m[i].cstime) * tick_ns;
		if (csw) {
			s->vcsw += m[i].vcsw;
			s->ivcsw += m[i].ivcsw;
		}
	}

	/* Memory after CPU: a slow pass must not smear the CPU sample. */
	if (pss) {
		/* smaps_rollup walks a process's mappings: ~50 µs each, half a
		 * second of CPU for 10,000 fork children, taken from the run it
		 * measures. Past COL_PSS_SAMPLE children the leader is read and
		 * the others are estimated from an even sample of them: fork's
		 * children are alike. */
		size_t stride = nm > COL_PSS_SAMPLE ? nm / COL_PSS_SAMPLE : 1;
		long sum = 0, n = 0, leader_kb = proc_pss_kb(leader);

		for (size_t i = 0; i < nm; i += stride) {
			long kb = proc_pss_kb(m[i].pid);

			if (kb > 0)
				sum += kb, n++;
		}
		s->pss_estimated = stride > 1;
		s->pss_kb = (leader_kb > 0 ? leader_kb : 0) +
			    (n ? (long)((double)sum / (double)n * (double)nm) : 0);
	}
	free(m);
	s->cpu_s = (double)total_ns / 1e9;
	s->user_ticks = user;
	s->sys_ticks = sys;
	s->tck = tck;
	s->leader_hwm_kb = proc_status_field(leader, "VmHWM");
	col_reserve_fds();
	return 0;
gone:
	free(m);
	col_reserve_fds();
	errno = ESRCH;
	return -1;
fail:
	free(m);
	col_reserve_fds();
	return -1;
}

int col_sample_machine(struct col_sample *s)
{
	unsigned long long v[8];
	long tck = sysconf(_SC_CLK_TCK);

	if (proc_cpu_ticks(v) < 0)
		return -1;
	if (tck <= 0)
		tck = 100;
	/* user nice system idle iowait irq softirq steal */
	s->machine_busy_s = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)tck;
	s->machine_irq_s = (double)(v[5] + v[6]) / (double)tck;
	s->machine_total_s = s->machine_busy_s + (double)(v[3] + v[4]) / (double)tck;
	return 0;
}

void col_sample_diff(const struct col_sample *a, const struct col_sample *b,
		     double *total, double *user, double *sys)
{
	double du = (double)b->user_ticks - (double)a->user_ticks;
	double ds = (double)b->sys_ticks - (double)a->sys_ticks;

	*total = b->cpu_s - a->cpu_s;
	if (*total < 0)
		*total = 0;
	if (du < 0)
		du = 0;
	if (ds < 0)
		ds = 0;
	if (du + ds > 0) {
		*user = *total * du / (du + ds);
		*sys = *total - *user;
	} else {
		*user = *sys = -1;   /* too short for a single tick: no split */
	}
}

void col_lifetime_from_rusage(struct col_lifetime *l, const struct rusage *ru)
{
	l->valid = true;
	l->user_s = (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6;
	l->sys_s = (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
	l->maxrss_kb = ru->ru_maxrss;
	l->vcsw = ru->ru_nvcsw;
	l->ivcsw = ru->ru_nivcsw;
}

/* ---- host ------------------------------------------------------------------ */

static long rlim_long(rlim_t v)
{
	return v == RLIM_INFINITY ? -1 : (long)v;
}

void col_host_read(struct col_host *h)
{
	struct utsname u;
	struct rlimit rl;

	if (gethostname(h->hostname, sizeof h->hostname) < 0)
		strcpy(h->hostname, "?");
	h->hostname[sizeof h->hostname - 1] = '\0';
	if (uname(&u) == 0)
		snprintf(h->kernel, sizeof h->kernel, "%s %s %s", u.sysname, u.release, u.machine);
	else
		strcpy(h->kernel, "?");
	h->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (h->cpus < 1)
		h->cpus = 1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		h->nofile_soft = rlim_long(rl.rlim_cur);
		h->nofile_hard = rlim_long(rl.rlim_max);
	}
	if (getrlimit(RLIMIT_NPROC, &rl) == 0) {
		h->nproc_soft = rlim_long(rl.rlim_cur);
		h->nproc_hard = rlim_long(rl.rlim_max);
	}
	h->file_max = proc_read_long("/proc/sys/fs/file-max");
	h->nr_open = proc_read_long("/proc/sys/fs/nr_open");
	h->somaxconn = proc_read_long("/proc/sys/net/core/somaxconn");
	h->tcp_tw_reuse = proc_read_long("/proc/sys/net/ipv4/tcp_tw_reuse");
	h->threads_max = proc_read_long("/proc/sys/kernel/threads-max");
	h->pid_max = proc_read_long("/proc/sys/kernel/pid_max");
	h->max_map_count = proc_read_long("/proc/sys/vm/max_map_count");
	h->port_lo = h->port_hi = -1;
	proc_port_range(&h->port_lo, &h->port_hi);
	h->fd_setsize = FD_SETSIZE;
	h->mem_total_kb = proc_mem_total_kb();
	h->loadavg1 = proc_loadavg_1m();
}

void col_json_host(struct json_writer *w, const struct col_host *h)
{
	json_begin_object(w);
	json_kv_string(w, "hostname", h->hostname);
	json_kv_string(w, "kernel", h->kernel);
	json_kv_int(w, "cpus", h->cpus);
	json_kv_int_or_null(w, "mem_total_kb", h->mem_total_kb);
	json_kv_double(w, "loadavg_1m", h->loadavg1 >= 0 ? h->loadavg1 : NAN);
	json_key(w, "nofile");
	json_begin_object(w);
	json_kv_int_or_null(w, "soft_initial", h->nofile_soft_initial);
	json_kv_int_or_null(w, "soft", h->nofile_soft);
	json_kv_int_or_null(w, "hard", h->nofile_hard);
	json_end_object(w);
	json_key(w, "nproc");
	json_begin_object(w);
	json_kv_int_or_null(w, "soft", h->nproc_soft);
	json_kv_int_or_null(w, "hard", h->nproc_hard);
	json_end_object(w);
	json_kv_int_or_null(w, "file_max", h->file_max);
	json_kv_int_or_null(w, "nr_open", h->nr_open);
	json_kv_int_or_null(w, "somaxconn", h->somaxconn);
	json_key(w, "ephemeral_ports");
	if (h->port_lo < 0 || h->port_hi < 0) {
		json_null(w);   /* unread: null, as for every figure, never -1 */
	} else {
		json_begin_array(w);
		json_int(w, h->port_lo);
		json_int(w, h->port_hi);
		json_end_array(w);
	}
	json_kv_int_or_null(w, "tcp_tw_reuse", h->tcp_tw_reuse);
	json_kv_int_or_null(w, "threads_max", h->threads_max);
	json_kv_int_or_null(w, "pid_max", h->pid_max);
	json_kv_int_or_null(w, "max_map_count", h->max_map_count);
	json_kv_int(w, "fd_setsize", h->fd_setsize);
	json_end_object(w);
}

/* ---- bound -------------------------------------------------------------------- */

double col_server_capacity(const struct evb_design *d, long cpus, long threads)
{
	/* Only the designs that run connections on several processes or threads
	 * can use more than one core; the event loops are single-threaded. */
	long cap = d && (d->props & DS_MULTICORE) && cpus > 0 ? cpus : 1;

	return (double)(threads > 0 && threads < cap ? threads : cap);
}

const char *col_bound(double server_cpu_s, double server_cap, double client_cpu_s,
		      double client_cap, double wall_s, long cpus)
{
	double su, cu;

	if (!(wall_s > 0) || server_cpu_s < 0 || client_cpu_s < 0 || !(server_cap > 0) ||
	    !(client_cap > 0))
		return "unknown";
	su = server_cpu_s / wall_s / server_cap;
	cu = client_cpu_s / wall_s / client_cap;
	if (su >= COL_SATURATED || cu >= COL_SATURATED)
		return su >= cu ? "server" : "client";
	/* Client and server share the machine: a full machine bounds whoever
	 * is using it most, though neither side reached its own capacity. */
	if ((server_cpu_s + client_cpu_s) / wall_s >= COL_SATURATED * (double)cpus)
		return server_cpu_s >= client_cpu_s ? "server" : "client";
	return "neither";
}
