/*
 * procfs.c - reading /proc. See procfs.h.
 */
#include "procfs.h"

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
