/*
 * procfs.h - the one reader of the /proc files that loadgen, evbench and the
 * tests read: a process's stat, status and schedstat, single-number files
 * under /proc/sys, and the ephemeral port range. proc(5) documents every
 * field.
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

#endif
