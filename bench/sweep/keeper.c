/*
 * keeper.c - the process that holds a user's server command. See keeper.h.
 *
 * It is evbench's code running in a child before any exec, so it keeps to
 * system calls: no stdio, no allocation.
 */
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The exit status when evbench went away before the command did. */
#define KEEPER_ORPHANED 125

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Reaps every child that has exited; records the command's status. */
static void reap(pid_t cmd, int *status, bool *cmd_done)
{
	pid_t r;
	int st;

	while ((r = waitpid(-1, &st, WNOHANG)) > 0)
		if (r == cmd) {
			*status = st;
			*cmd_done = true;
		}
}

/* Without a namespace: SIGKILLs the keeper's children, and the children
 * they leave it (it is their subreaper), until it has none, within a bound:
 * a process that forks faster than this kills is what the namespace is
 * for. Returns whether none is left. */
static bool kill_children(pid_t cmd, int *status, bool *cmd_done)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
	for (int round = 0; round < 400; round++) {
		char buf[4096];
		ssize_t n;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		bool any = false;

		if (fd < 0)
			return false;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n < 0)
			return false;
		buf[n] = '\0';
		for (char *p = buf; *p;) {
			char *end;
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
				any = true;
			p = end;
		}
		reap(cmd, status, cmd_done);
		if (!any && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			return true;
		nap_ms(5);
	}
	return false;
}

/* Ends every process the command made, then the keeper. */
static void __attribute__((noreturn)) finish(bool pidns, pid_t cmd, int status, bool cmd_done)
{
	if (pidns) {
		/* init of the namespace: -1 is everyone in it but itself. */
		pid_t r;
		int st;

		kill(-1, SIGKILL);
		while ((r = waitpid(-1, &st, 0)) > 0 || errno == EINTR)
			if (r == cmd && !cmd_done) {
				status = st;
				cmd_done = true;
			}
	} else {
		kill_children(cmd, &status, &cmd_done);
	}
	if (!cmd_done)
		_exit(KEEPER_ORPHANED);
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	_exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
}

void keeper_exec(char **argv, int outfd, int errfd, bool search_path)
{
	sigset_t none;
	int devnull = open("/dev/null", O_RDONLY);

	/* Exactly three descriptors cross exec: every one counts for
	 * select's 1,024, so none may leak in, nor what evbench itself
	 * inherited from its parent. */
	if (devnull >= 0 && devnull != 0) {
		dup2(devnull, 0);
		close(devnull);
	}
	dup2(outfd, 1);
	dup2(errfd, 2);
	close_range(3, ~0U, 0);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (search_path)
		execvp(argv[0], argv);
	else
		execv(argv[0], argv);
	dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

void keeper_run(char **argv, int outfd, int errfd, int lifeline, bool pidns)
{
	struct pollfd pf[2];
	sigset_t mask;
	int status = 0, sfd;
	bool cmd_done = false;
	pid_t cmd;

	setpgid(0, 0);
	/* In a namespace the kernel's SIGKILL is the whole guarantee; without
	 * one the keeper must live long enough to kill what it inherited. */
	prctl(PR_SET_PDEATHSIG, pidns ? SIGKILL : SIGUSR1);
	if (!pidns)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	/* evbench may have died before PDEATHSIG was set: then its end of the
	 * lifeline is closed already. */
	pf[0] = (struct pollfd){ .fd = lifeline, .events = POLLIN };
	if (sfd < 0 || (poll(pf, 1, 0) > 0 && pf[0].revents))
		_exit(KEEPER_ORPHANED);

	cmd = fork();
	if (cmd < 0) {
		dprintf(errfd, "keeper: fork: %s\n", strerror(errno));
		_exit(127);
	}
	if (cmd == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		keeper_exec(argv, outfd, errfd, true);
	}

	pf[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		struct signalfd_siginfo si;

		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			finish(pidns, cmd, status, cmd_done);
		if (pf[0].revents)      /* evbench is gone */
			finish(pidns, cmd, status, cmd_done);
		if (!(pf[1].revents & POLLIN))
			continue;
		if (read(sfd, &si, sizeof si) != sizeof si)
			continue;
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
		case SIGHUP:
			if (!cmd_done)
				kill(cmd, SIGTERM);
			break;
		case SIGUSR1:
			finish(pidns, cmd, status, cmd_done);
		case SIGCHLD:
			reap(cmd, &status, &cmd_done);
			break;
		}
		/* A server lives in the foreground: once the command has
		 * exited, what it left behind goes with it. */
		if (cmd_done)
			finish(pidns, cmd, status, cmd_done);
	}
}
