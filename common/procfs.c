/*
 * procfs.c - reading /proc. See procfs.h.
 */
#include "procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int proc_read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

long proc_read_long(const char *path)
{
	char buf[64];

	return proc_read_small(path, buf, sizeof buf) < 0 ? -1 : strtol(buf, NULL, 10);
}

int proc_stat_read(const char *name, struct proc_stat *ps)
{
	char path[320], buf[1024];
	char *open_paren, *close_paren;
	size_t n;

	snprintf(path, sizeof path, "/proc/%s/stat", name);
	if (proc_read_small(path, buf, sizeof buf) < 0)
		return -1;
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -1;
	n = (size_t)(close_paren - open_paren - 1);
	if (n >= sizeof ps->comm)
		n = sizeof ps->comm - 1;
	memcpy(ps->comm, open_paren + 1, n);
	ps->comm[n] = '\0';
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 * utime stime cutime cstime priority nice num_threads itrealvalue
	 * starttime vsize rss */
	if (sscanf(close_paren + 2, "%c %ld %ld %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu "
		   "%*d %*d %ld %*d %*u %*u %ld",
		   &ps->state, &ps->ppid, &ps->pgrp, &ps->utime, &ps->stime, &ps->cutime,
		   &ps->cstime, &ps->nthreads, &ps->rss_pages) != 9)
		return -1;
	return 0;
}

int proc_stat_pid(pid_t pid, struct proc_stat *ps)
{
	char name[24];

	snprintf(name, sizeof name, "%d", (int)pid);
	return proc_stat_read(name, ps);
}

long proc_status_field(pid_t pid, const char *name)
{
	char path[64], line[256];
	size_t len = strlen(name);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, name, len) == 0 && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

unsigned long long proc_schedstat_ns(const char *path)
{
	char buf[128];

	return proc_read_small(path, buf, sizeof buf) < 0 ? 0 : strtoull(buf, NULL, 10);
}

int proc_port_range(long *lo, long *hi)
{
	char buf[64];
	long a, b;

	if (proc_read_small("/proc/sys/net/ipv4/ip_local_port_range", buf, sizeof buf) < 0 ||
	    sscanf(buf, "%ld %ld", &a, &b) != 2)
		return -1;
	*lo = a;
	*hi = b;
	return 0;
}

int proc_each(const char *dir, int (*fn)(const char *entry, void *arg), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return -1;
	while (rc == 0 && (de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]))
			rc = fn(de->d_name, arg);
	closedir(d);
	return rc;
}

struct tids {
	pid_t except, *tids;
	int n, max;
};

static int add_tid(const char *entry, void *arg)
{
	struct tids *t = arg;

	if (atoi(entry) != (int)t->except)
		t->tids[t->n++] = (pid_t)atoi(entry);
	return t->n == t->max;
}

int proc_tids(pid_t pid, pid_t except, pid_t *tids, int max)
{
	struct tids t = { except, tids, 0, max };
	char dir[64];

	snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
	if (max < 1)
		return 0;
	return proc_each(dir, add_tid, &t) < 0 ? -1 : t.n;
}

/* A process's threads, each read by a function of its task's path. */
struct per_task {
	const char *name;
	unsigned long long ns;
	long *v, *iv;
};

static int add_task_ns(const char *entry, void *arg)
{
	struct per_task *t = arg;
	char path[600];

	snprintf(path, sizeof path, "/proc/%s/task/%s/schedstat", t->name, entry);
	t->ns += proc_schedstat_ns(path);
	return 0;
}

unsigned long long proc_threads_ns(const char *name, long nthreads)
{
	struct per_task t = { .name = name };
	char path[600];

	if (nthreads <= 1) {
		snprintf(path, sizeof path, "/proc/%s/schedstat", name);
		return proc_schedstat_ns(path);
	}
	snprintf(path, sizeof path, "/proc/%s/task", name);
	proc_each(path, add_task_ns, &t);
	return t.ns;
}

/* Adds the context-switch lines of one status file to *v and *iv. */
static int add_csw(const char *path, long *v, long *iv)
{
	char buf[4096];
	const char *a, *b;

	if (proc_read_small(path, buf, sizeof buf) < 0)
		return -1;
	a = strstr(buf, "\nvoluntary_ctxt_switches:");
	b = strstr(buf, "\nnonvoluntary_ctxt_switches:");
	if (!a || !b)
		return -1;
	*v += strtol(a + 25, NULL, 10);
	*iv += strtol(b + 28, NULL, 10);
	return 0;
}

static int add_task_csw(const char *entry, void *arg)
{
	struct per_task *t = arg;
	char path[600];

	snprintf(path, sizeof path, "/proc/%s/task/%s/status", t->name, entry);
	add_csw(path, t->v, t->iv);
	return 0;
}

void proc_threads_csw(const char *name, long nthreads, long *v, long *iv)
{
	struct per_task t = { .name = name, .v = v, .iv = iv };
	char path[600];

	if (nthreads <= 1) {
		snprintf(path, sizeof path, "/proc/%s/status", name);
		add_csw(path, v, iv);
		return;
	}
	snprintf(path, sizeof path, "/proc/%s/task", name);
	proc_each(path, add_task_csw, &t);
}

long proc_pss_kb(pid_t pid)
{
	char path[64], buf[1024];
	char *p;

	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	if (proc_read_small(path, buf, sizeof buf) < 0)
		return -1;
	p = strstr(buf, "\nPss:");
	return p ? strtol(p + 5, NULL, 10) : -1;
}

int proc_cpu_ticks(unsigned long long ticks[8])
{
	char buf[512];

	memset(ticks, 0, 8 * sizeof *ticks);
	if (proc_read_small("/proc/stat", buf, sizeof buf) < 0)
		return -1;
	return sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &ticks[0], &ticks[1],
		      &ticks[2], &ticks[3], &ticks[4], &ticks[5], &ticks[6], &ticks[7]) < 4 ? -1 : 0;
}

long proc_mem_total_kb(void)
{
	char buf[256];
	long kb;

	/* MemTotal is the first line of meminfo, in the first read. */
	if (proc_read_small("/proc/meminfo", buf, sizeof buf) < 0 ||
	    sscanf(buf, "MemTotal: %ld kB", &kb) != 1)
		return -1;
	return kb;
}

double proc_loadavg_1m(void)
{
	char buf[128];
	double l;

	if (proc_read_small("/proc/loadavg", buf, sizeof buf) < 0 || sscanf(buf, "%lf", &l) != 1)
		return -1;
	return l;
}

int proc_self_exe(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}
