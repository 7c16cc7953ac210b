/*
 * syscall_count.c - a program whose system calls are known in advance, so
 * that the counts of bench/sweep/mech.c can be checked against an answer that perf
 * and evbench did not compute (tests/test_mech.c).
 *
 *   syscall_count [--fork]
 *
 * Prints "ready <pid>" and waits for a line on stdin. Then it makes, through
 * syscall(2) so that the C library cannot substitute another call:
 *   10,000 close(-1)                       (EBADF)
 *    3,000 getppid()
 *    1,000 poll() over 5 readable pipes    (each returns 5)
 *    1,000 poll() over 3 of them           (each returns 3)
 * and with --fork, first a child that makes 1,000 close(-1) and exits, and is
 * reaped (1 clone, 1 wait4 in the parent; in the child its close calls and
 * its exit). Then it prints "done" and waits for a second line before it
 * exits. Between the two lines it makes no other system call but the write
 * of "done" and the read that waits.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void wait_line(void)
{
	char c;

	while (read(0, &c, 1) == 1 && c != '\n')
		;
}

int main(int argc, char **argv)
{
	struct pollfd p[5];
	int fds[5][2];
	char msg[64];
	int n;

	for (int i = 0; i < 5; i++) {
		if (pipe(fds[i]) < 0 || write(fds[i][1], "x", 1) != 1)
			return 1;
		p[i] = (struct pollfd){ .fd = fds[i][0], .events = POLLIN };
	}
	n = snprintf(msg, sizeof msg, "ready %d\n", (int)getpid());
	if (write(1, msg, (size_t)n) != n)
		return 1;
	wait_line();
	if (argc > 1 && !strcmp(argv[1], "--fork")) {
		pid_t pid = (pid_t)syscall(SYS_fork);

		if (pid == 0) {
			for (int i = 0; i < 1000; i++)
				syscall(SYS_close, -1);
			syscall(SYS_exit, 0);
		}
		syscall(SYS_wait4, pid, NULL, 0, NULL);
	}
	for (int i = 0; i < 10000; i++)
		syscall(SYS_close, -1);
	for (int i = 0; i < 3000; i++)
		syscall(SYS_getppid);
	for (int i = 0; i < 1000; i++)
		syscall(SYS_poll, p, 5, 0);
	for (int i = 0; i < 1000; i++)
		syscall(SYS_poll, p, 3, 0);
	if (write(1, "done\n", 5) != 5)
		return 1;
	wait_line();
	return 0;
}
