/*
 * procfs.h - the one reader of the /proc files that the servers, loadgen,
 * evbench and the tests read: a process's stat, status, schedstat and
 * smaps_rollup, its threads, the processes of the machine, the machine's CPU
 * time, memory and load, single-number files under /proc/sys, the ephemeral
 * port range and this program's own path. proc(5) documents every field.
 *
 * Conventions: 0 or -1 (the file is gone or not what proc(5) says); values
 * that cannot be read are -1. Nothing prints or exits.
 */
#ifndef EVBENCH_PROCFS_H
#define EVBENCH_PROCFS_H

#include <stddef.h>
#include <sys/types.h>

/* Reads a small file into buf as a NUL-terminated string with one read()
 * (enough for every /proc file here). Returns 0, or -1. */
int proc_read_small(const char *path, char *buf, size_t cap);

/* The integer a file such as /proc/sys/fs/file-max holds, or -1. */
long proc_read_long(const char *path);

/* The fields of /proc/<pid>/stat this project uses. */
struct proc_stat {
	char comm[64];          /* the command name, without its parentheses */
	char state;             /* R, S, D, Z, ... */
	long ppid, pgrp;
	unsigned long long utime, stime;   /* clock ticks, this process's own */
	unsigned long long cutime, cstime; /* clock ticks, its reaped children's */
	long nthreads, rss_pages;
};

/* Reads /proc/<name>/stat, name being a pid, "self", or "<pid>/task/<tid>".
 * The command name may hold spaces and parentheses, so the fields after it
 * are read from its last ')'. Returns 0, or -1. */
int proc_stat_read(const char *name, struct proc_stat *ps);

/* The same for a pid. */
int proc_stat_pid(pid_t pid, struct proc_stat *ps);

/* The number of a "Name:   <n> [kB]" line of /proc/<pid>/status, or -1. */
long proc_status_field(pid_t pid, const char *name);

/* The first field of a schedstat file (/proc/<pid>/schedstat or a task's):
 * nanoseconds on a CPU. 0 when it cannot be read. */
unsigned long long proc_schedstat_ns(const char *path);

/* The ephemeral port range, net.ipv4.ip_local_port_range. Returns 0 with
 * *lo and *hi set, or -1 with both unchanged. */
int proc_port_range(long *lo, long *hi);

/* Calls fn(entry, arg) for every numeric entry of dir: "/proc" lists the
 * processes, "/proc/<pid>/task" a process's threads. Stops at the first
 * nonzero value fn returns and returns it; returns 0 after the last entry,
 * -1 when dir cannot be opened. An entry may vanish before fn reads it
 * (processes exit): fn skips what it cannot read. */
int proc_each(const char *dir, int (*fn)(const char *entry, void *arg), void *arg);

/* The thread ids of process pid but `except` (0 for none), at most max, into
 * tids. Returns how many, or -1. */
int proc_tids(pid_t pid, pid_t except, pid_t *tids, int max);

/* Nanoseconds on a CPU of the live threads of process `name` (a pid or
 * "self"; nthreads from its stat), from the scheduler's own accounting. 0
 * when nothing can be read. */
unsigned long long proc_threads_ns(const char *name, long nthreads);

/* Adds the voluntary and involuntary context switches of process `name`'s
 * live threads to *v and *iv. A process's own status shows its main thread's
 * only (proc(5)), so a threaded one is read thread by thread. */
void proc_threads_csw(const char *name, long nthreads, long *v, long *iv);

/* The Pss of /proc/<pid>/smaps_rollup in kB, or -1. */
long proc_pss_kb(pid_t pid);

/* The first line of /proc/stat: the machine's CPU time in clock ticks, in
 * its order (user nice system idle iowait irq softirq steal; fields the
 * kernel does not give are 0). Returns 0, or -1. */
int proc_cpu_ticks(unsigned long long ticks[8]);

/* MemTotal of /proc/meminfo in kB, or -1. */
long proc_mem_total_kb(void);

/* The load average over one minute (/proc/loadavg), or -1. */
double proc_loadavg_1m(void);

/* The path of this program's executable (/proc/self/exe) into buf. Returns
 * 0, or -1. */
int proc_self_exe(char *buf, size_t len);

#endif
