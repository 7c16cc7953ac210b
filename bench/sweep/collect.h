/*
 * collect.h - what evbench measures outside the load generator: the server's
 * CPU, memory and context switches from /proc and wait4(), the host's limits,
 * and the rule that names the side a run was bound by.
 *
 * The server runs in its own process group. Its CPU over the measure phase is
 * the difference of two samples, taken at MEASURE start and DRAIN start: each
 * sample sums, over every process whose /proc/<pid>/stat shows that process
 * group, the larger of its utime + stime (stat: all its threads, live and
 * exited, but in whole clock ticks) and its live threads' run time from
 * schedstat (exact), plus the group leader's cutime + cstime (the children it
 * has reaped: the fork design's finished connections). A child that exits and
 * is reaped between the two samples moves from the first term to the second,
 * so it is counted once either way.
 *
 * Conventions: library-style, functions return 0 or -1 with errno, never print.
 */
#ifndef EVBENCH_COLLECT_H
#define EVBENCH_COLLECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "designs.h"
#include "json.h"

/* One sample of a process group. */
struct col_sample {
	bool     valid;         /* the leader was found */
	double   t;             /* CLOCK_MONOTONIC seconds when the scan began */
	double   cpu_s;         /* live processes + the leader's reaped children */
	unsigned long long user_ticks, sys_ticks;  /* the same from stat, in ticks */
	long     tck;           /* ticks per second */
	long     nprocs;        /* processes found in the group */
	long     nthreads;      /* their threads (num_threads of each stat) */
	long     rss_kb;        /* sum of the RSS of the group's processes */
	long     pss_kb;        /* sum of their PSS (shared pages divided among their
	                           sharers), -1 unless asked for */
	bool     pss_estimated; /* from a sample of the members (COL_PSS_SAMPLE) */
	long     leader_hwm_kb; /* the leader's VmHWM (its own peak RSS) */
	long     vcsw, ivcsw;   /* with COL_CSW: voluntary and involuntary context
	                           switches of the live threads, summed; else -1 */
	double   machine_busy_s;  /* /proc/stat: CPU time of every CPU not idle, */
	double   machine_irq_s;   /* of which in interrupts and softirqs, */
	double   machine_total_s; /* and all CPU time, since boot */
};

/* Scans /proc for the processes of group pgid whose leader is pid. Returns 0
 * (s->valid true), or -1 with errno ESRCH when the leader is gone. Costs one
 * /proc/<pid>/stat read per process on the machine: a few ms; with COL_CPU
 * one schedstat read per member thread as well (~100 ms with 10,000 fork
 * children). With COL_PSS, a second pass, after the CPU figures are taken,
 * reads each member's smaps_rollup (tens of µs per process). Without
 * COL_CPU, cpu_s and the ticks stay 0. */
#define COL_PSS_SAMPLE 256  /* members read for PSS at most, besides the leader */
#define COL_CPU 1   /* CPU figures (stat and schedstat) */
#define COL_PSS 2   /* a second pass for PSS */
#define COL_CSW 4   /* context switches: one status read per member thread */
int col_sample_group(pid_t pgid, pid_t leader, struct col_sample *s, int what);

/* Fills s->machine_busy_s, machine_irq_s and machine_total_s from
 * /proc/stat's "cpu" line (busy = user, nice, system, irq, softirq, steal;
 * irq = irq + softirq; total adds idle and iowait).
 * col_sample_group() calls it. Returns 0 or -1. */
int col_sample_machine(struct col_sample *s);

/* The CPU used between samples a and b: total in seconds, split into user
 * and sys in the proportion of their ticks (-1 each when no tick fell). */
void col_sample_diff(const struct col_sample *a, const struct col_sample *b,
		     double *total, double *user, double *sys);

/* Opens the few descriptors col_sample_group() frees for its own use while
 * it scans, so that it works even when the load generator has taken every
 * other one. Call once before the runs. */
void col_reserve_fds(void);

/* What wait4() tells about the server's whole life: its threads and the
 * children it reaped included (ru_maxrss is then the largest single one). */
struct col_lifetime {
	bool   valid;
	double user_s, sys_s;
	long   maxrss_kb;
	long   vcsw, ivcsw;     /* voluntary and involuntary context switches */
};

void col_lifetime_from_rusage(struct col_lifetime *l, const struct rusage *ru);

/* The host's facts that decide what a run can do. -1 = unknown or unlimited. */
struct col_host {
	char   hostname[256];
	char   kernel[256];      /* uname -srm */
	long   cpus;             /* online */
	long   nofile_soft_initial;  /* RLIMIT_NOFILE's soft limit as evbench found it */
	long   nofile_soft, nofile_hard;  /* after raising the soft one to the hard one */
	long   nproc_soft, nproc_hard;    /* RLIMIT_NPROC */
	long   file_max, nr_open;         /* fs.file-max, fs.nr_open */
	long   somaxconn;
	long   port_lo, port_hi; /* net.ipv4.ip_local_port_range */
	long   tcp_tw_reuse;
	long   threads_max, pid_max, max_map_count;
	long   fd_setsize;
	long   mem_total_kb;
	double loadavg1;         /* at evbench's start: another load on the machine shows here */
};

/* Fills *h, but for nofile_soft_initial, which the caller sets before raising. */
void col_host_read(struct col_host *h);

/* Writes the `host` object of evbench.run/1. */
void col_json_host(struct json_writer *w, const struct col_host *h);

/* How many cores' worth the server may use: cpus for the designs that run
 * connections in parallel (fork, threads, epoll-mt), 1 for the
 * single-threaded event loops; and no more than the threads the server says
 * it ran (`threads` of its stop report, 0 when it does not say): epoll-mt
 * with --threads 1 is one loop. d is the server's row (DS_MULTICORE); NULL,
 * an unknown design, gets the safe answer, one core. */
double col_server_capacity(const struct evb_design *d, long cpus, long threads);

/* The side that bounds a run (the rule of docs/results.md). Utilisation is
 * CPU seconds over wall seconds over capacity. A side at or above
 * COL_SATURATED is saturated; when both are, the fuller one is named. When
 * neither is but the two together use COL_SATURATED of the machine's CPUs
 * (client and server share them), the side that used more CPU is named.
 * Otherwise "neither"; "unknown" when wall_s <= 0 or a figure is missing. */
#define COL_SATURATED 0.85
const char *col_bound(double server_cpu_s, double server_cap, double client_cpu_s,
		      double client_cap, double wall_s, long cpus);

/* CLOCK_MONOTONIC in seconds. */
double col_now(void);

#endif
