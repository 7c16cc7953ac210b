/*
 * agents_proc.c - the coordinator's agents as processes: started with three
 * pipes, read line by line with deadlines, written to, ended; see
 * agents_int.h. Every wait has a deadline, so an agent that hangs is a
 * failure with a reason and never a hung evbench.
 */
#include "agents_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double agents__realtime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double agents__mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int agents__spawn(struct agent_proc *p, char *const argv[])
{
	int in[2], out[2], er[2];

	p->in = p->out = p->errfd = -1;
	p->status = -1;
	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
		close(in[0]), close(in[1]);
		return -1;
	}
	p->pid = fork();
	if (p->pid == 0) {
		setpgid(0, 0);
		/* Dies with evbench however evbench ends: then the remote agent
		 * sees its stdin end and exits too. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(er[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(er[1]);
	if (p->pid < 0) {
		close(in[1]), close(out[0]), close(er[0]);
		return -1;
	}
	setpgid(p->pid, p->pid);
	p->in = in[1];
	p->out = out[0];
	p->errfd = er[0];
	fcntl(p->out, F_SETFL, O_NONBLOCK);
	fcntl(p->errfd, F_SETFL, O_NONBLOCK);
	return 0;
}

void agents__close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Keeps the last ERR_TAIL bytes of the agent's stderr. */
void agents__drain_err(struct agent_proc *p)
{
	char b[1024];
	ssize_t k;

	while (p->errfd >= 0 && (k = read(p->errfd, b, sizeof b)) != 0) {
		if (k < 0) {
			if (errno != EINTR && errno != EAGAIN)
				agents__close_fd(&p->errfd);
			if (errno != EINTR)
				return;
			continue;
		}
		if ((size_t)k >= ERR_TAIL) {
			memcpy(p->errtail, b + k - ERR_TAIL + 1, ERR_TAIL - 1);
			p->errlen = ERR_TAIL - 1;
		} else {
			if (p->errlen + (size_t)k >= ERR_TAIL) {
				size_t drop = p->errlen + (size_t)k - (ERR_TAIL - 1);
				memmove(p->errtail, p->errtail + drop, p->errlen - drop);
				p->errlen -= drop;
			}
			memcpy(p->errtail + p->errlen, b, (size_t)k);
			p->errlen += (size_t)k;
		}
		p->errtail[p->errlen] = '\0';
	}
	if (p->errfd >= 0 && k == 0)
		agents__close_fd(&p->errfd);
}

/* Reads what stdout has. Returns 1 while open, 0 at its end. */
int agents__fill(struct agent_proc *p)
{
	for (;;) {
		ssize_t k;

		if (p->cap - p->len < 65536) {
			size_t cap = p->cap ? p->cap * 2 : 131072;
			char *b = realloc(p->buf, cap);

			if (!b)
				return 0;
			p->buf = b, p->cap = cap;
		}
		k = read(p->out, p->buf + p->len, p->cap - p->len - 1);
		if (k > 0) {
			p->len += (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return 1;
		agents__close_fd(&p->out);
		return 0;
	}
}

/* Takes one whole line (without '\n') out of the buffer into *line
 * (malloc'ed). Returns 1, or 0 when there is none yet. */
int agents__take_line(struct agent_proc *p, char **line)
{
	char *nl = p->len ? memchr(p->buf, '\n', p->len) : NULL;
	size_t n;

	if (!nl)
		return 0;
	n = (size_t)(nl - p->buf);
	*line = malloc(n + 1);
	if (!*line)
		return 0;
	memcpy(*line, p->buf, n);
	(*line)[n] = '\0';
	memmove(p->buf, nl + 1, p->len - n - 1);
	p->len -= n + 1;
	return 1;
}

/* Waits for the next line of agent p until the monotonic deadline. Returns
 * the line (malloc'ed), or NULL at the end of its stdout or the deadline. */
char *agents__next_line(struct agent_proc *p, double deadline)
{
	char *line;

	for (;;) {
		struct pollfd pf[2] = { { p->out, POLLIN, 0 }, { p->errfd, POLLIN, 0 } };
		double left = deadline - agents__mono_s();

		if (agents__take_line(p, &line))
			return line;
		if (p->out < 0 || left <= 0)
			return NULL;
		if (poll(pf, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			return NULL;
		if (pf[1].revents)
			agents__drain_err(p);
		if (pf[0].revents)
			agents__fill(p);
	}
}

int agents__say(struct agent_proc *p, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	return p->in >= 0 && write(p->in, line, (size_t)n) == n ? 0 : -1;
}


/* Kills what is left of every agent's group and reaps it; gives each a
 * moment to exit on its own first (its stdin closed). */
void agents__end_all(struct agent_proc *ps, int n)
{
	double deadline = agents__mono_s() + 3.0;

	for (int i = 0; i < n; i++)
		agents__close_fd(&ps[i].in);
	for (int i = 0; i < n; i++) {
		while (ps[i].pid > 0 && ps[i].status < 0 && agents__mono_s() < deadline) {
			if (waitpid(ps[i].pid, &ps[i].status, WNOHANG) == ps[i].pid)
				break;
			ps[i].status = -1;
			usleep(10000);
		}
		if (ps[i].pid > 0) {
			kill(-ps[i].pid, SIGKILL);
			if (ps[i].status < 0)
				waitpid(ps[i].pid, &ps[i].status, 0);
		}
		agents__close_fd(&ps[i].out);
		agents__close_fd(&ps[i].errfd);
	}
}
