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
 * Counting across processes: the counters live in shared memory (srv_setup.c).
 * The parent counts a connection opened before fork(); the child counts it
 * closed when it finishes, also when stopped by SIGTERM, which only sets a
 * flag; a child killed outright cannot, so the parent does it when it reaps one.
 *
 * Connection churn (a connection per request, thousands a second) is where
 * this design breaks, so the parent guards itself three ways: it accepts at
 * most SRV_ACCEPT_BATCH connections between two looks at its children and at the
 * stop flag, so a backlog that never empties cannot keep it from reaping or
 * stopping; it holds at most --max-children live children (zombies included),
 * refusing and counting (children_refused) any connection over that cap
 * instead of forking it; and a failed fork() is counted in errors. The cap's
 * default is half of the smaller of RLIMIT_NPROC and kernel.pid_max: without
 * it a burst of short connections forks until the machine has no process IDs
 * left and unrelated programs cannot start (root ignores RLIMIT_NPROC).
 */
#include "srv.h"
#include "procfs.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (16 * 1024)
#define STOP_WAIT_MS 2000 /* how long the stop waits before SIGKILL */

/* Live children, so that the stop can end them. */
static pid_t *kids;
static size_t nkids, kcap;

static void forget(pid_t pid, int status);

static void on_child(int sig)
{
	(void)sig; /* only here to interrupt poll() */
}

static void reap(void)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		forget(pid, status);
}

/* The child's connection, for its stop handler. */
static int child_fd = -1;

/*
 * A child's stop: set the flag and shut the connection down. The flag alone
 * would be missed by a child busy between two system calls, whose next
 * blocking read or write would then wait for the client (or the parent's
 * SIGKILL after STOP_WAIT_MS); the shutdown ends whatever call comes, and one
 * already blocked. shutdown() is async-signal-safe.
 */
static void on_child_stop(int sig)
{
	int saved = errno;

	(void)sig;
	srv_stop = 1;
	shutdown(child_fd, SHUT_RDWR);
	errno = saved;
}

static void child(int lfd, int fd, pid_t parent)
{
	static char buf[BUF_SIZE];
	struct sigaction sa = {.sa_handler = on_child_stop};

	srv_child_closefds(lfd);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent) /* the parent died before prctl() took effect */
		_exit(0);
	/* The stop handler interrupts the blocking read or write and makes
	 * the next one fail at once, so the child still counts what it did and
	 * its close. A signal that came before this point set srv_stop, which
	 * the child inherited with the parent's memory. */
	child_fd = fd;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (srv_stop)
		shutdown(fd, SHUT_RDWR);
	signal(SIGCHLD, SIG_DFL);
	srv_serve_blocking(fd, buf, sizeof buf);
	srv_conn_closed(fd);
	_exit(0);
}

/* A connection accepted by srv_accept_blocking_batch(): fork its child, or
 * refuse it. arg is the listening socket, which the child closes. */
static void start(int fd, void *arg)
{
	int lfd = *(const int *)arg;
	pid_t parent = getpid(), pid;

	if (nkids >= srv_opts.max_children)
		reap(); /* a child may have ended since the last reap */
	if (nkids >= srv_opts.max_children) {
		close(fd);
		SRV_COUNT(children_refused, 1);
		return;
	}
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

/* Forget a reaped child; one killed by a signal could not count its close. */
static void forget(pid_t pid, int status)
{
	for (size_t i = 0; i < nkids; i++)
		if (kids[i] == pid) {
			kids[i] = kids[--nkids];
			break;
		}
	if (WIFSIGNALED(status))
		srv_conn_closed(-1);
}

static void stop_all(void)
{
	struct timespec tick = {0, 10 * 1000000L};
	int waited_ms = 0;

	for (size_t i = 0; i < nkids; i++)
		kill(kids[i], SIGTERM);
	while (nkids > 0) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0) {
			forget(pid, status);
		} else if (pid < 0 && errno != EINTR) {
			break;
		} else if (waited_ms < STOP_WAIT_MS) {
			nanosleep(&tick, NULL);
			waited_ms += 10;
		} else {
			for (size_t i = 0; i < nkids; i++)
				kill(kids[i], SIGKILL);
			waited_ms = 0;
		}
	}
}

/* --max-children by default: half of the processes this user may have
 * (RLIMIT_NPROC) or the system may number (kernel.pid_max), whichever is
 * fewer, leaving the other half to everything else. docs/protocol.md. */
static unsigned long default_max_children(void)
{
	unsigned long lim = 32768; /* pid_max's default, if /proc cannot say */
	struct rlimit rl;
	long pid_max = proc_read_long("/proc/sys/kernel/pid_max");

	if (pid_max > 0)
		lim = (unsigned long)pid_max;
	if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < lim)
		lim = (unsigned long)rl.rlim_cur;
	return lim / 2 > 0 ? lim / 2 : 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_child}; /* no SA_RESTART: wake poll() */

	srv_init("fork", argc, argv, SRV_OPT_CHILDREN);
	if (srv_opts.max_children == 0)
		srv_opts.max_children = default_max_children();
	sigaction(SIGCHLD, &sa, NULL);
	int lfd = srv_listen();

	while (!srv_stop) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		int n = poll(&p, 1, SRV_STOP_CHECK_MS);
		reap();
		if (n <= 0)
			continue;
		srv_accept_blocking_batch(lfd, start, &lfd);
	}
	stop_all();
	srv_report("fork");
	return 0;
}
