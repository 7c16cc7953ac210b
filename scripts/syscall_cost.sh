#!/bin/sh
# syscall_cost.sh - what one system call costs on this machine, the figure
# that bounds what io_uring can save (docs/teaching.md, section 7).
#
# Times, in one process on one CPU, N calls of getppid() (a system call that
# does nothing: entry and exit alone) and N of recv() on an empty
# non-blocking TCP socket (EAGAIN: the entry, the socket lookup and lock);
# prints the median ns per call over 7 batches of each, interleaved.
#
#   scripts/syscall_cost.sh [N]        (default 1000000 calls per batch)
# A benchmark, not a test: run it on an otherwise idle machine.
set -eu
n=${1:-1000000}
case "$n" in ''|*[!0-9]*) echo "syscall_cost.sh: N must be a whole number, got '$n'" >&2; exit 2 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cat >"$tmp/cost.c" <<'C'
#define _GNU_SOURCE
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long n = atol(argv[1]);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;
	double nul[7], rcv[7];
	char b[64];

	if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &len) || connect(c, (struct sockaddr *)&a, len) ||
	    (s = accept4(l, NULL, NULL, SOCK_NONBLOCK)) < 0) {
		perror("syscall_cost: loopback socket");
		return 1;
	}
	for (int k = 0; k < 7; k++) {
		double t0 = now();
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		double t1 = now();
		for (long i = 0; i < n; i++)
			recv(s, b, sizeof b, 0);
		double t2 = now();
		nul[k] = (t1 - t0) / n;
		rcv[k] = (t2 - t1) / n;
	}
	qsort(nul, 7, sizeof nul[0], cmp);
	qsort(rcv, 7, sizeof rcv[0], cmp);
	printf("getppid(): %.0f ns per call (median of 7 batches of %ld; %.0f-%.0f)\n",
	       nul[3], n, nul[0], nul[6]);
	printf("recv() on an empty socket: %.0f ns per call (%.0f-%.0f)\n", rcv[3], rcv[0], rcv[6]);
	return 0;
}
C
${CC:-cc} -O2 -o "$tmp/cost" "$tmp/cost.c"
taskset -c 0 "$tmp/cost" "$n" 2>/dev/null || "$tmp/cost" "$n"
