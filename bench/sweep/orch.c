/*
 * orch.c - the server lifecycle. See orch.h.
 */
#include "orch.h"
#include "collect.h"
#include "designs.h"
#include "jsonr.h"
#include "keeper.h"
#include "procfs.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ORCH_COUNTER_NAME(name) #name,
const char *const orch_counter_names[ORCH_NCOUNTERS] = { SRV_COUNTERS(ORCH_COUNTER_NAME) };
#undef ORCH_COUNTER_NAME

/* The group to kill from a signal handler; 0 when no server runs. */
static volatile sig_atomic_t current_pgid;

const char *orch_bin_dir(void)
{
	static char dir[PATH_MAX];

	if (!dir[0]) {
		char *slash;

		if (proc_self_exe(dir, sizeof dir) < 0) {
			strcpy(dir, ".");
			return dir;
		}
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
	}
	return dir;
}

int orch_resolve(const char *name, struct orch_server *s)
{
	const struct evb_design *d = evb_design_find(name);

	memset(s, 0, sizeof *s);
	if (!d)
		return -1;
	/* Reports use the row's name, so "epoll" and "epoll-lt" are one line. */
	s->d = d;
	snprintf(s->name, sizeof s->name, "%s", d->name);
	snprintf(s->path, sizeof s->path, "%s/rot13-%s", orch_bin_dir(), d->binary);
	s->built = access(s->path, X_OK) == 0;
	return 0;
}

int orch_counter_index(const char *name)
{
	for (int i = 0; i < ORCH_NCOUNTERS; i++)
		if (strcmp(orch_counter_names[i], name) == 0)
			return i;
	return -1;
}

int64_t orch_counter(const struct orch_counters *c, const char *name)
{
	int i = orch_counter_index(name);

	return c->valid && i >= 0 ? c->v[i] : -1;
}

/* Reads the stop report: one object of string and integer members (the
 * counters of common/counters.h). Unknown members are skipped, so a server
 * may add counters. */
static int parse_counters(const char *s, struct orch_counters *c)
{
	struct jr_value *v = jr_parse(s, strlen(s), NULL);
	const char *design = jr_string(jr_get(v, "design"));
	long long t;
	const char *backend = jr_string(jr_get(v, "backend"));

	memset(c, 0, sizeof *c);
	for (int i = 0; i < ORCH_NCOUNTERS; i++) {
		long long n;

		c->v[i] = jr_int(jr_get(v, orch_counter_names[i]), &n) == 0 ? n : -1;
	}
	c->threads = jr_int(jr_get(v, "threads"), &t) == 0 && t > 0 ? (long)t : 0;
	snprintf(c->design, sizeof c->design, "%.31s", design ? design : "");
	snprintf(c->backend, sizeof c->backend, "%.31s", backend ? backend : "");
	c->valid = v && v->type == JR_OBJECT;
	jr_free(v);
	return c->valid ? 0 : -1;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

const char *orch_status_text(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status) && sigabbrev_np(WTERMSIG(status)))
		snprintf(buf, len, "killed by SIG%s", sigabbrev_np(WTERMSIG(status)));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "status %#x", status);
	return buf;
}

/* Keeps the last bytes the server wrote on stderr, on one line. */
static void read_stderr_tail(struct orch_proc *p)
{
	long size, from;
	size_t n;

	p->stderr_tail[0] = '\0';
	if (!p->errf)
		return;
	fflush(p->errf);
	if (fseek(p->errf, 0, SEEK_END) < 0)
		return;
	size = ftell(p->errf);
	if (size <= 0)
		return;
	from = size > (long)sizeof p->stderr_tail - 1 ? size - (long)sizeof p->stderr_tail + 1 : 0;
	fseek(p->errf, from, SEEK_SET);
	n = fread(p->stderr_tail, 1, sizeof p->stderr_tail - 1, p->errf);
	p->stderr_tail[n] = '\0';
	while (n > 0 && isspace((unsigned char)p->stderr_tail[n - 1]))
		p->stderr_tail[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (p->stderr_tail[i] == '\n' || p->stderr_tail[i] == '\r')
			p->stderr_tail[i] = ' ';
}

/* Takes the next complete line out of p->buf. */
static bool take_line(struct orch_proc *p, char *line, size_t cap)
{
	char *nl = memchr(p->buf, '\n', p->len);
	size_t n;

	if (!nl)
		return false;
	n = (size_t)(nl - p->buf);
	if (n >= cap)
		n = cap - 1;
	memcpy(line, p->buf, n);
	line[n] = '\0';
	p->len -= (size_t)(nl - p->buf) + 1;
	memmove(p->buf, nl + 1, p->len);
	return true;
}

/* Reads what the pipe holds now (it is non-blocking). 0, or -1 at EOF. */
static int fill(struct orch_proc *p)
{
	for (;;) {
		ssize_t n;

		if (p->out < 0)
			return -1;
		if (p->len == sizeof p->buf)
			p->len = 0;     /* a line this long is not one we wait for */
		n = read(p->out, p->buf + p->len, sizeof p->buf - p->len);
		if (n > 0) {
			p->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			close(p->out);
			p->out = -1;
			return -1;
		}
		if (errno == EINTR)
			continue;
		return 0;       /* EAGAIN: nothing more now */
	}
}

/* Reaps the server if it has exited. True once reaped. */
static bool try_reap(struct orch_proc *p, int flags)
{
	pid_t r;

	if (p->reaped)
		return true;
	do
		r = wait4(p->pid, &p->status, flags, &p->ru);
	while (r < 0 && errno == EINTR);
	if (r == p->pid) {
		p->reaped = true;
		return true;
	}
	return false;
}

static void kill_group(struct orch_proc *p)
{
	if (p->pid > 0)
		kill(-p->pid, SIGKILL);
}

void orch_kill_current(void)
{
	pid_t g = (pid_t)current_pgid;

	if (g > 0)
		kill(-g, SIGKILL);
}

/* In the child of fork(): the server's own process group, death with
 * evbench, exactly stdin (/dev/null), stdout (out) and stderr (errfd), the
 * default signal dispositions, then exec. Never returns. */
static void __attribute__((noreturn)) exec_server(char **argv, int out, int errfd, pid_t parent)
{
	/* Its own group, so that its whole group can be sampled and
	 * killed; and killed by the kernel when evbench dies. If evbench
	 * died before prctl() took effect, nobody would ever stop us. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	keeper_exec(argv, out, errfd, false);
}

/* Reads the server's stdout until its ready line (p->port) or until it
 * exits, closes its stdout or runs out of ready_timeout_s. Returns 0, or -1
 * with the reason in err. */
static int wait_ready(struct orch_proc *p, const struct orch_server *s, double ready_timeout_s,
		      char *err, size_t errlen)
{
	double deadline = p->t_spawn + ready_timeout_s;
	char line[512];

	for (;;) {
		struct pollfd pf = { .fd = p->out, .events = POLLIN };
		double left = deadline - col_now();
		int eof;

		eof = fill(p);
		while (take_line(p, line, sizeof line)) {
			int port = 0, rpid = 0;
			if (strncmp(line, "ready ", 6) != 0)
				continue;       /* anything before the ready line is noise */
			if (sscanf(line, "ready %*s port=%d pid=%d", &port, &rpid) != 2 ||
			    port < 1 || port > 65535) {
				fail(err, errlen, "%s printed a malformed ready line: '%s'",
				     s->path, line);
				return -1;
			}
			p->port = port;
			p->ready_s = col_now() - p->t_spawn;
			return 0;
		}
		if (eof < 0 || try_reap(p, WNOHANG)) {
			char st[64];

			/* Its stdout closed: it is exiting, or it closed stdout
			 * and runs on. Give it a second to be reaped, then make
			 * sure of it; a blocking wait could last forever. */
			for (int i = 0; i < 100 && !try_reap(p, WNOHANG); i++) {
				struct timespec ts = { 0, 10000000 };

				nanosleep(&ts, NULL);
			}
			if (!p->reaped) {
				kill_group(p);
				try_reap(p, 0);
				read_stderr_tail(p);
				fail(err, errlen, "%s closed its stdout without a ready line%s%s",
				     s->path, p->stderr_tail[0] ? ": " : "", p->stderr_tail);
				return -1;
			}
			read_stderr_tail(p);
			if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == EVB_EXIT_UNAVAILABLE) {
				p->unavailable = true;
				fail(err, errlen, ORCH_SKIPPED "%s", p->stderr_tail);
				return -1;
			}
			fail(err, errlen, "%s %s before its ready line%s%s", s->path,
			     orch_status_text(p->status, st, sizeof st),
			     p->stderr_tail[0] ? ": " : "", p->stderr_tail);
			return -1;
		}
		if (left <= 0) {
			fail(err, errlen, "%s printed no ready line within %.0f s", s->path,
			     ready_timeout_s);
			return -1;
		}
		poll(&pf, 1, left > 0.05 ? 50 : (int)(left * 1000) + 1);
	}
}

/* A port that nobody holds now, for a command to listen on: the kernel's
 * choice for a socket bound to 127.0.0.1:0. Another program could take it
 * before the command does; the command then fails to listen, which is
 * recorded like any failure to start. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Whether host:port accepts a connection within timeout_ms: 1 yes, 0 not
 * (refused, or no answer yet), -1 when no socket can be made. The
 * connection is closed at once; the server sees a client that leaves. */
static int accepts(const char *host, int port, int timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	struct pollfd pf;
	int fd, rc = 0, soerr = 0;
	socklen_t el = sizeof soerr;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		slen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		slen = sizeof(struct sockaddr_in6);
	} else {
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, slen) == 0) {
		rc = 1;
	} else if (errno == EINPROGRESS) {
		pf = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (poll(&pf, 1, timeout_ms) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) == 0 && soerr == 0)
			rc = 1;
	}
	close(fd);
	return rc;
}

/* The command's words with the port put where "{port}" stands. */
static char **command_argv(char *const *words, int port)
{
	char num[16];
	size_t n = 0, bytes = 0;
	char **argv, *out;

	snprintf(num, sizeof num, "%d", port);
	for (; words[n]; n++)
		bytes += strlen(words[n]) * (strlen(num) + 1) + 1;   /* room for any number of {port} */
	argv = malloc((n + 1) * sizeof *argv + bytes);
	if (!argv)
		return NULL;
	out = (char *)(argv + n + 1);
	for (size_t i = 0; i < n; i++) {
		const char *w = words[i], *hit;

		argv[i] = out;
		while ((hit = strstr(w, "{port}"))) {
			memcpy(out, w, (size_t)(hit - w));
			out += hit - w;
			out += sprintf(out, "%s", num);
			w = hit + 6;
		}
		out += sprintf(out, "%s", w) + 1;
	}
	argv[n] = NULL;
	return argv;
}

/* Forks the keeper (keeper.h) in a PID namespace of its own when the
 * kernel allows it, else as a plain child. Returns its pid, or -1. */
static pid_t fork_keeper(char **argv, int outfd, int errfd, const int lifeline[2], bool *pidns)
{
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);

	*pidns = pid >= 0;
	if (pid < 0 && (errno == EPERM || errno == EINVAL || errno == ENOSPC || errno == EUSERS))
		pid = fork();
	if (pid == 0) {
		/* Only evbench may hold the write end, or the keeper would
		 * never see it close. */
		close(lifeline[1]);
		keeper_run(argv, outfd, errfd, lifeline[0], *pidns);
	}
	return pid;
}

/* The command's pid: the keeper's one child, once it exists. */
static pid_t command_pid(pid_t keeper)
{
	char path[64], buf[64];
	FILE *f;
	long pid = 0;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)keeper, (int)keeper);
	if ((f = fopen(path, "re"))) {
		if (!fgets(buf, sizeof buf, f) || sscanf(buf, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* Starts a user's command (orch.h): a free port, the keeper, then a probe
 * of the port until it accepts, the command exits, or the time is up. */
static int start_command(struct orch_proc *p, const struct orch_server *s,
			 double ready_timeout_s, char *err, size_t errlen)
{
	int lfd[2], outfd, efd;
	char **argv;
	pid_t pid;
	double deadline;

	p->port = free_port();
	if (p->port < 0)
		return fail(err, errlen, "no free port for %s: %s", s->name, strerror(errno));
	if (!(argv = command_argv(s->argv, p->port)))
		return fail(err, errlen, "out of memory");
	p->errf = tmpfile();
	p->outf = tmpfile();
	if (!p->errf || !p->outf || pipe2(lfd, O_CLOEXEC) < 0) {
		free(argv);
		return fail(err, errlen, "cannot make the files of %s: %s", s->name,
			    strerror(errno));
	}
	efd = fileno(p->errf);
	outfd = fileno(p->outf);
	fcntl(efd, F_SETFD, FD_CLOEXEC);
	fcntl(outfd, F_SETFD, FD_CLOEXEC);
	p->t_spawn = col_now();
	pid = fork_keeper(argv, outfd, efd, lfd, &p->pidns);
	free(argv);
	close(lfd[0]);
	if (pid < 0) {
		close(lfd[1]);
		return fail(err, errlen, "fork: %s", strerror(errno));
	}
	setpgid(pid, pid);
	p->pid = pid;
	p->lifeline = lfd[1];
	current_pgid = pid;

	deadline = p->t_spawn + ready_timeout_s;
	for (;;) {
		char st[64];

		if (try_reap(p, WNOHANG)) {
			int code = WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1;

			read_stderr_tail(p);
			fail(err, errlen, "%s: '%s' %s%s before it listened on port %d%s%s%s", s->name,
			     s->path, code > 128 ? "was " : "", orch_exit_text(p, st, sizeof st), p->port,
			     code == 0 ? " (a server must stay in the foreground; what it left "
					 "running was killed)" : "",
			     p->stderr_tail[0] ? ": " : "", p->stderr_tail);
			break;
		}
		if (accepts("127.0.0.1", p->port, 50) == 1) {
			p->ready_s = col_now() - p->t_spawn;
			p->cmd_pid = command_pid(pid);
			return 0;
		}
		if (col_now() >= deadline) {
			read_stderr_tail(p);
			fail(err, errlen, "%s: '%s' did not listen on port %d within %g s%s%s",
			     s->name, s->path, p->port, ready_timeout_s,
			     p->stderr_tail[0] ? ": " : "", p->stderr_tail);
			break;
		}
		{
			struct timespec ts = { 0, 20000000 };

			nanosleep(&ts, NULL);
		}
	}
	kill_group(p);
	if (!p->reaped)
		try_reap(p, 0);
	current_pgid = 0;
	close(p->lifeline);
	p->lifeline = -1;
	return -1;
}

/* A server someone else runs: ready when it accepts, within the time. */
static int start_address(struct orch_proc *p, const struct orch_server *s,
			 double ready_timeout_s, char *err, size_t errlen)
{
	double deadline;

	p->t_spawn = col_now();
	deadline = p->t_spawn + ready_timeout_s;
	for (;;) {
		int a = accepts(s->host, s->port, 200);

		if (a == 1) {
			p->port = s->port;
			p->ready_s = col_now() - p->t_spawn;
			return 0;
		}
		if (a < 0 || col_now() >= deadline)
			return fail(err, errlen, "%s: nothing accepts connections at %s within %g s",
				    s->name, s->path, ready_timeout_s);
		struct timespec ts = { 0, 50000000 };

		nanosleep(&ts, NULL);
	}
}

int orch_start(struct orch_proc *p, const struct orch_server *s, char *const *args,
	       double ready_timeout_s, char *err, size_t errlen)
{
	char *argv[64];
	int argc = 0, pfd[2], efd;
	pid_t parent = getpid(), pid;

	memset(p, 0, sizeof *p);
	p->out = -1;
	p->lifeline = -1;
	p->kind = s->kind;
	if (s->kind == ORCH_COMMAND)
		return start_command(p, s, ready_timeout_s, err, errlen);
	if (s->kind == ORCH_ADDRESS)
		return start_address(p, s, ready_timeout_s, err, errlen);
	argv[argc++] = (char *)s->path;
	argv[argc++] = "--port";
	argv[argc++] = "0";
	if (s->d->backend) {
		argv[argc++] = "--backend";
		argv[argc++] = (char *)s->d->backend;
	}
	for (int i = 0; args && args[i] && argc < 63; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;

	p->errf = tmpfile();
	if (!p->errf)
		return fail(err, errlen, "cannot create a file for the server's stderr: %s",
			    strerror(errno));
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return fail(err, errlen, "pipe: %s", strerror(errno));
	efd = fileno(p->errf);
	fcntl(efd, F_SETFD, FD_CLOEXEC);   /* dup2() to 2 in the child clears it there */
	p->t_spawn = col_now();
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return fail(err, errlen, "fork: %s", strerror(errno));
	}
	if (pid == 0)
		exec_server(argv, pfd[1], efd, parent);
	/* Both sides call setpgid, so the group exists before either goes on. */
	setpgid(pid, pid);
	p->pid = pid;
	current_pgid = pid;
	close(pfd[1]);
	p->out = pfd[0];
	fcntl(p->out, F_SETFL, O_NONBLOCK);

	if (wait_ready(p, s, ready_timeout_s, err, errlen) == 0)
		return 0;
	kill_group(p);
	if (!p->reaped)
		try_reap(p, 0);
	kill_group(p);  /* the leader's children, if it had any */
	current_pgid = 0;
	if (!p->stderr_tail[0])
		read_stderr_tail(p);
	return -1;
}

const char *orch_exit_text(const struct orch_proc *p, char *buf, size_t len)
{
	int code = WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1;

	/* The keeper's 128 + N is its command's death by signal N (keeper.h). */
	if (p->kind == ORCH_COMMAND && code > 128) {
		snprintf(buf, len, "killed by SIG%s",
			 sigabbrev_np(code - 128) ? sigabbrev_np(code - 128) : "?");
		return buf;
	}
	return orch_status_text(p->status, buf, len);
}

bool orch_alive(const struct orch_proc *p)
{
	siginfo_t si;

	if (p->pid <= 0 || p->reaped)
		return false;
	memset(&si, 0, sizeof si);
	/* WNOWAIT: look without reaping, so orch_stop() still gets the rusage. */
	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return false;
	return si.si_pid == 0;
}

/* Stops a command (orch.h, orch_stop). */
static int stop_command(struct orch_proc *p, double timeout_s, char *err, size_t errlen)
{
	double t0 = col_now();
	char st[64];
	int code;

	p->died_early = !orch_alive(p);
	if (!p->died_early)
		kill(p->pid, SIGTERM);   /* the keeper passes it on */
	for (int phase = 0; !try_reap(p, WNOHANG);) {
		struct timespec ts = { 0, 10000000 };

		if (phase == 0 && col_now() >= t0 + timeout_s) {
			/* It ignored SIGTERM: the keeper kills everything now. */
			snprintf(p->note, sizeof p->note,
				 "did not exit within %.0f s of SIGTERM: killed with all it made",
				 timeout_s);
			p->killed = true;
			kill(p->pid, SIGUSR1);
			phase = 1;
		} else if (phase == 1 && col_now() >= t0 + timeout_s + 2) {
			kill_group(p);
			try_reap(p, 0);
			break;
		}
		nanosleep(&ts, NULL);
	}
	p->stop_s = col_now() - t0;
	kill_group(p);
	current_pgid = 0;
	if (p->lifeline >= 0)
		close(p->lifeline);
	p->lifeline = -1;
	read_stderr_tail(p);
	if (!p->died_early)
		return 0;
	code = WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1;
	return fail(err, errlen, "server died during the run (%s)%s%s%s",
		    orch_exit_text(p, st, sizeof st),
		    code == 0 ? "; a server must stay in the foreground" : "",
		    p->stderr_tail[0] ? ": " : "", p->stderr_tail);
}

int orch_stop(struct orch_proc *p, double timeout_s, char *err, size_t errlen)
{
	char line[4096], st[64];
	double t0 = col_now(), deadline = t0 + timeout_s;
	bool have_json = false;
	int rc = 0;

	err[0] = '\0';
	if (p->kind == ORCH_ADDRESS)
		return 0;
	if (p->pid <= 0)
		return fail(err, errlen, "server was never started");
	if (p->kind == ORCH_COMMAND)
		return stop_command(p, timeout_s, err, errlen);
	p->died_early = !orch_alive(p);
	if (!p->died_early)
		kill(p->pid, SIGTERM);
	for (;;) {
		struct pollfd pf = { .fd = p->out, .events = POLLIN };
		bool reaped;

		fill(p);
		while (!have_json && take_line(p, line, sizeof line))
			if (line[0] == '{')
				have_json = parse_counters(line, &p->counters) == 0;
		reaped = try_reap(p, WNOHANG);
		if (reaped && (have_json || p->out < 0))
			break;
		if (reaped) {
			/* Exited: what it wrote is in the pipe already. The fork
			 * server's children may hold the pipe open, so do not wait
			 * for EOF, only drain what is there. */
			fill(p);
			while (!have_json && take_line(p, line, sizeof line))
				if (line[0] == '{')
					have_json = parse_counters(line, &p->counters) == 0;
			break;
		}
		if (col_now() >= deadline) {
			kill_group(p);
			try_reap(p, 0);
			p->killed = true;
			break;
		}
		poll(&pf, p->out >= 0 ? 1 : 0, 10);
	}
	p->stop_s = col_now() - t0;
	/* Nothing of the group survives its leader: fork's children die by
	 * PDEATHSIG too, but a stray one would skew the next run. */
	kill_group(p);
	current_pgid = 0;
	read_stderr_tail(p);

	if (p->died_early) {
		rc = fail(err, errlen, "server died during the run (%s)%s%s",
			  orch_status_text(p->status, st, sizeof st),
			  p->stderr_tail[0] ? ": " : "", p->stderr_tail);
	} else if (p->killed) {
		rc = fail(err, errlen, "server did not exit within %.0f s of SIGTERM; its group was killed",
			  timeout_s);
	} else if (!WIFEXITED(p->status) || WEXITSTATUS(p->status) != 0) {
		rc = fail(err, errlen, "server %s after SIGTERM%s%s",
			  orch_status_text(p->status, st, sizeof st),
			  p->stderr_tail[0] ? ": " : "", p->stderr_tail);
	} else if (!have_json) {
		rc = fail(err, errlen, "server exited without a JSON stop report");
	}
	return rc;
}

void orch_release(struct orch_proc *p)
{
	if (p->out >= 0)
		close(p->out);
	p->out = -1;
	if (p->errf)
		fclose(p->errf);
	p->errf = NULL;
	if (p->outf)
		fclose(p->outf);
	p->outf = NULL;
	if (p->lifeline >= 0)
		close(p->lifeline);
	p->lifeline = -1;
}

static int copy_file(FILE *from, const char *path)
{
	char buf[65536];
	size_t n;
	FILE *to;
	int rc = 0;

	fflush(from);
	if (fseek(from, 0, SEEK_SET) < 0 || !(to = fopen(path, "we")))
		return -1;
	while ((n = fread(buf, 1, sizeof buf, from)) > 0)
		if (fwrite(buf, 1, n, to) != n)
			rc = -1;
	if (ferror(from))
		rc = -1;
	if (fclose(to) != 0)
		rc = -1;
	return rc;
}

int orch_save_output(const struct orch_proc *p, const char *path_base)
{
	char path[PATH_MAX + 16];

	if (p->kind != ORCH_COMMAND || !p->outf || !p->errf)
		return 0;
	snprintf(path, sizeof path, "%s.stdout", path_base);
	if (copy_file(p->outf, path) < 0)
		return -1;
	snprintf(path, sizeof path, "%s.stderr", path_base);
	return copy_file(p->errf, path);
}
