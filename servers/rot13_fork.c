/*
 * rot13_fork.c — accept, then fork a process per connection.
 *
 * The classic Unix server: the parent only accepts; each connection gets a
 * child process that serves it with blocking I/O and exits. Processes share
 * nothing, so a crash or a leak is confined to one client, and each process
 * holds one connection, so the parent never runs out of descriptors (it does
 * run out of processes: ulimit -u). The price is a fork() per connection,
 * copying page tables and taking a kernel task, which dominates when
 * connections are short; and a context switch per wake-up, as with threads.
 *
 * The bugs this design is known for, avoided here: the parent closes its copy
 * of the accepted socket (else the client never sees EOF, and the parent's
 * descriptors run out); the parent reaps every child (else zombies pile up);
 * children die with the parent (PR_SET_PDEATHSIG), so no orphan serves on.
 *
 * Counting across processes: the counters live in shared memory (common.c).
 * The parent counts a connection opened before fork(); the child counts it
 * closed when it finishes; a child killed by a signal cannot, so the parent
 * does it when it reaps one.
 */
#include "common.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUF_SIZE (16 * 1024)

/* Live children, so that the stop can end them. */
static pid_t *kids;
static size_t nkids, kcap;

static void on_child(int sig)
{
	(void)sig; /* only here to interrupt ppoll() */
}

static void reap(void)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < nkids; i++)
			if (kids[i] == pid) {
				kids[i] = kids[--nkids];
				break;
			}
		if (WIFSIGNALED(status))
			srv_conn_closed(-1); /* it died before it could count its close */
	}
}

static void child(int lfd, int fd, pid_t parent)
{
	static char buf[BUF_SIZE];
	sigset_t stopsigs;

	srv_child_closefds(lfd);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) /* the parent died before prctl() took effect */
		_exit(0);
	/* A stop signal simply ends a child (the parent counts the close)... */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, &srv_waitmask, NULL);
	srv_serve_blocking(fd, buf, sizeof buf);
	/* ...except here: between counting its own close and exiting, a child
	 * killed would be counted twice. */
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGINT);
	sigprocmask(SIG_BLOCK, &stopsigs, NULL);
	srv_conn_closed(fd);
	_exit(0);
}

static void start(int lfd, int fd)
{
	pid_t parent = getpid(), pid;

	if (nkids == kcap) {
		size_t ncap = kcap ? kcap * 2 : 256;
		pid_t *k = realloc(kids, ncap * sizeof *k);
		if (k == NULL) {
			close(fd);
			SRV_COUNT(errors, 1);
			return;
		}
		kids = k;
		kcap = ncap;
	}
	srv_conn_opened();
	pid = fork();
	if (pid == 0)
		child(lfd, fd, parent);
	if (pid < 0) { /* out of processes (ulimit -u) or memory: refuse this one */
		srv_conn_closed(fd);
		SRV_COUNT(errors, 1);
		return;
	}
	close(fd); /* the child has its own copy; ours would keep the connection open */
	kids[nkids++] = pid;
}

static void stop_all(void)
{
	for (size_t i = 0; i < nkids; i++)
		kill(kids[i], SIGTERM);
	while (nkids > 0) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno != EINTR)
			break;
		if (pid > 0) {
			for (size_t i = 0; i < nkids; i++)
				if (kids[i] == pid) {
					kids[i] = kids[--nkids];
					break;
				}
			if (WIFSIGNALED(status))
				srv_conn_closed(-1);
		}
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_child};
	sigset_t chld;

	srv_init("fork", argc, argv, 0);
	/* SIGCHLD, like the stop signals, only ever arrives inside ppoll(). */
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int lfd = srv_listen();

	while (!srv_stop) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		int n = ppoll(&p, 1, NULL, &srv_waitmask);
		reap();
		if (n <= 0)
			continue;
		int fd;
		while ((fd = srv_accept(lfd, false)) != SRV_AGAIN)
			if (fd >= 0)
				start(lfd, fd);
	}
	stop_all();
	srv_report("fork");
	return 0;
}
