/*
 * testutil.c — see testutil.h. Everything waits on an event (a pipe, a
 * socket, a pidfd) with a deadline; the few loops that must poll /proc or
 * waitid say why.
 */
#include "testutil.h"
#include "jsonr.h"
#include "procfs.h"
#include "report.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

/* ---- time ------------------------------------------------------------------ */

double tu_timeout_mult(void)
{
	static double mult;

	if (mult == 0) {
		const char *s = getenv("EVBENCH_TIMEOUT_MULT");
		char *end;
		double m = s ? strtod(s, &end) : 1;

		mult = (s && (end == s || *end || !(m > 0) || !isfinite(m))) ? 1 : m;
	}
	return mult;
}

int tu_ms(int ms)
{
	double v = ceil(ms * tu_timeout_mult());

	return v > INT_MAX ? INT_MAX : (int)v;
}

long long tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline, as poll() wants them. */
static int left_ms(long long deadline)
{
	long long d = deadline - tu_now_ms();

	return d < 0 ? 0 : d > INT_MAX ? INT_MAX : (int)d;
}

static long long deadline_in(int timeout_ms)
{
	return tu_now_ms() + tu_ms(timeout_ms);
}

/*
 * Criterion reads a test's .timeout in the runner when it starts the test's
 * worker, so scaling them all once, before the first test, is enough for
 * every Test in this binary to honour EVBENCH_TIMEOUT_MULT.
 */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	double m = tu_timeout_mult();

	if (m == 1)
		return;
	FOREACH_SET(struct criterion_suite_set *s, set->suites) {
		if (s->suite.data && s->suite.data->timeout > 0)
			s->suite.data->timeout *= m;
		if (!s->tests)
			continue;
		FOREACH_SET(struct criterion_test *t, s->tests) {
			if (t->data && t->data->timeout > 0)
				t->data->timeout *= m;
		}
	}
}

/* ---- where things are ------------------------------------------------------- */

static char build_dir[PATH_MAX], bin_dir[PATH_MAX + 8];

/* Directories from this executable's path: <build>/tests/<exe>. */
static void find_dirs(void)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (build_dir[0])
		return;
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	for (int up = 0; up < 2; up++) {
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
	}
	if (!exe[0])
		strcpy(exe, "build");
	snprintf(build_dir, sizeof build_dir, "%s", exe);
	/* The plain build keeps its programs in bin/ at the top, an
	 * instrumented one (build-<san>) in its own bin/, as the Makefile does. */
	slash = strrchr(exe, '/');
	if (slash && strcmp(slash + 1, "build") == 0) {
		*slash = '\0';
		snprintf(bin_dir, sizeof bin_dir, "%s/bin", exe);
	} else {
		snprintf(bin_dir, sizeof bin_dir, "%s/bin", build_dir);
	}
}

/* The directory the environment variable var names, else the one found. */
static const char *dir_from(const char *var, const char *found)
{
	const char *e = getenv(var);

	if (e && *e)
		return e;
	find_dirs();
	return found;
}

const char *tu_bin_dir(void)
{
	return dir_from("EVBENCH_BIN", bin_dir);
}

const char *tu_build_dir(void)
{
	return dir_from("EVBENCH_BUILD", build_dir);
}

int tu_path(char *buf, size_t cap, const char *dir, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
	return access(buf, X_OK);
}

/* ---- the registry of live process groups ---------------------------------- */

#define TU_MAX_PROCS 64
static pid_t live[TU_MAX_PROCS];

static void live_add(pid_t pid)
{
	for (int i = 0; i < TU_MAX_PROCS; i++)
		if (live[i] == 0) {
			live[i] = pid;
			return;
		}
}

static void live_del(pid_t pid)
{
	for (int i = 0; i < TU_MAX_PROCS; i++)
		if (live[i] == pid)
			live[i] = 0;
}

/* Kill the group before reaping its leader: while the leader is an unreaped
 * zombie its pid, and so the group id, cannot be reused by a stranger. */
static void kill_and_reap(pid_t pid, int *status)
{
	int st = -1;

	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (status)
		*status = st;
	live_del(pid);
}

void tu_kill_all(void)
{
	for (int i = 0; i < TU_MAX_PROCS; i++)
		if (live[i] > 0)
			kill_and_reap(live[i], NULL);
}

/* ---- spawning ---------------------------------------------------------------- */

static void close_pipes(struct tu_proc *p)
{
	if (p->out >= 0)
		close(p->out);
	if (p->err >= 0)
		close(p->err);
	p->out = p->err = -1;
}

/* In the child: everything but 0-2 and the exec-error pipe must not survive
 * exec, or the program would hold the test's sockets (and start with more
 * descriptors than a test of descriptor limits expects). */
static void child_cloexec_all(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);

	for (long fd = 3; fd < max && fd < 65536; fd++)
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

int tu_spawn(struct tu_proc *p, char *const argv[], long nofile, int flags)
{
	int out[2], err[2] = { -1, -1 }, ex[2];
	pid_t parent = getpid(), pid;
	int e;

	memset(p, 0, sizeof *p);
	p->out = p->err = p->status = -1;
	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;
	if ((flags & TU_CAPTURE_STDERR) && pipe2(err, O_CLOEXEC) < 0)
		goto fail_out;
	if (pipe2(ex, O_CLOEXEC) < 0)
		goto fail_err;

	pid = fork();
	if (pid < 0)
		goto fail_ex;
	if (pid == 0) {
		sigset_t none;
		int devnull = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		/* Die with the test; and if the test died before prctl, now. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				signal(s, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (nofile > 0) {
			struct rlimit rl = { (rlim_t)nofile, (rlim_t)nofile };

			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				goto child_fail;
		}
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(out[1], 1);
		if (err[1] >= 0)
			dup2(err[1], 2);
		child_cloexec_all();
		execv(argv[0], argv);
child_fail:
		e = errno;
		(void)!write(ex[1], &e, sizeof e);
		_exit(127);
	}

	/* Also here, so that a kill(-pid) right after return cannot miss. */
	setpgid(pid, pid);
	live_add(pid);
	close(out[1]);
	if (err[1] >= 0)
		close(err[1]);
	close(ex[1]);
	p->pid = pid;
	p->out = out[0];
	p->err = err[0];

	/* exec succeeded when the error pipe closes without a word. */
	ssize_t n;
	while ((n = read(ex[0], &e, sizeof e)) < 0 && errno == EINTR)
		;
	close(ex[0]);
	if (n == (ssize_t)sizeof e) {
		kill_and_reap(pid, &p->status);
		p->pid = 0;
		close_pipes(p);
		errno = e;
		return -1;
	}
	return 0;

fail_ex:
	e = errno;
	close(ex[0]);
	close(ex[1]);
	errno = e;
fail_err:
	e = errno;
	if (err[0] >= 0) {
		close(err[0]);
		close(err[1]);
	}
	errno = e;
fail_out:
	e = errno;
	close(out[0]);
	close(out[1]);
	errno = e;
	return -1;
}

ssize_t tu_read_line(struct tu_proc *p, char *line, size_t cap, int timeout_ms)
{
	long long deadline = deadline_in(timeout_ms);

	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);

		if (nl) {
			size_t n = (size_t)(nl - p->buf);

			if (n + 1 > cap) {
				errno = ENOBUFS;
				return -1;
			}
			memcpy(line, p->buf, n);
			line[n] = '\0';
			memmove(p->buf, nl + 1, p->len - n - 1);
			p->len -= n + 1;
			return (ssize_t)n;
		}
		if (p->len == sizeof p->buf) {
			errno = ENOBUFS;
			return -1;
		}
		if (p->out < 0) {
			errno = EPIPE;
			return -1;
		}
		struct pollfd pfd = { p->out, POLLIN, 0 };
		int r = poll(&pfd, 1, left_ms(deadline));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		ssize_t got = read(p->out, p->buf + p->len, sizeof p->buf - p->len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			errno = EPIPE;
			return -1;
		}
		p->len += (size_t)got;
	}
}

int tu_wait_ready(struct tu_proc *p, int timeout_ms)
{
	char line[256], design[sizeof p->design];
	int port, pid, used = 0;

	if (tu_read_line(p, line, sizeof line, timeout_ms) < 0)
		return -1;
	if (sscanf(line, "ready %31s port=%d pid=%d%n", design, &port, &pid, &used) != 3 ||
	    line[used] != '\0' || port <= 0 || port > 65535 || pid != p->pid) {
		errno = EPROTO;
		return -1;
	}
	snprintf(p->design, sizeof p->design, "%s", design);
	p->port = port;
	return 0;
}

/* Block until pid has exited, without reaping it (so its group id stays
 * reserved). A pidfd makes this one poll; without one (old kernels), waitid
 * with WNOHANG in 5 ms steps is the fallback. Returns 0 or -1 (ETIMEDOUT). */
static int wait_exited(pid_t pid, long long deadline)
{
#ifdef SYS_pidfd_open
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pfd >= 0) {
		struct pollfd q = { pfd, POLLIN, 0 };
		int r;

		while ((r = poll(&q, 1, left_ms(deadline))) < 0 && errno == EINTR)
			;
		close(pfd);
		if (r > 0)
			return 0;
		errno = ETIMEDOUT;
		return -1;
	}
#endif
	for (;;) {
		siginfo_t si;

		memset(&si, 0, sizeof si);
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
			return 0;
		if (tu_now_ms() >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	}
}

int tu_wait_exit(struct tu_proc *p, int timeout_ms)
{
	if (p->pid <= 0)
		return p->status;
	if (wait_exited(p->pid, deadline_in(timeout_ms)) < 0)
		return -1;
	kill_and_reap(p->pid, &p->status);
	p->pid = 0;
	return p->status;
}

void tu_kill(struct tu_proc *p)
{
	if (p->pid > 0) {
		kill_and_reap(p->pid, &p->status);
		p->pid = 0;
	}
	close_pipes(p);
}

/* Append what fd has now to buf; returns 0 at EOF, 1 otherwise. */
static int drain_into(int fd, char *buf, size_t cap, size_t *len)
{
	char tmp[4096];
	ssize_t n;

	while ((n = read(fd, tmp, sizeof tmp)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return n < 0 && errno == EAGAIN;
	if (buf && cap > 0) {
		size_t room = cap - 1 - *len;
		size_t k = (size_t)n < room ? (size_t)n : room;

		memcpy(buf + *len, tmp, k);
		*len += k;
		buf[*len] = '\0';
	}
	return 1;
}

int tu_run(char *const argv[], char *out, size_t outcap, char *err, size_t errcap,
	   int timeout_ms)
{
	struct tu_proc p;
	long long deadline = deadline_in(timeout_ms);
	size_t olen = 0, elen = 0;

	if (out && outcap)
		out[0] = '\0';
	if (err && errcap)
		err[0] = '\0';
	if (tu_spawn(&p, argv, 0, TU_CAPTURE_STDERR) < 0)
		return -1;
	/* Read both pipes until both reach EOF; a program that leaves a
	 * descendant holding them open is cut off by the deadline. */
	while (p.out >= 0 || p.err >= 0) {
		struct pollfd q[2] = { { p.out, POLLIN, 0 }, { p.err, POLLIN, 0 } };
		int r = poll(q, 2, left_ms(deadline));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			tu_kill(&p);
			errno = ETIMEDOUT;
			return -1;
		}
		if (q[0].revents && !drain_into(p.out, out, outcap, &olen)) {
			close(p.out);
			p.out = -1;
		}
		if (q[1].revents && !drain_into(p.err, err, errcap, &elen)) {
			close(p.err);
			p.err = -1;
		}
	}
	int st = tu_wait_exit(&p, (int)(left_ms(deadline) / tu_timeout_mult()) + 1);

	if (st < 0) {
		tu_kill(&p);
		errno = ETIMEDOUT;
		return -1;
	}
	return st;
}

/* ---- files ----------------------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void tu_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int tu_scratch_dir(char *dir, size_t cap, const char *name)
{
	if ((size_t)snprintf(dir, cap, "/tmp/evbench-%s-XXXXXX", name) >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdtemp(dir) ? 0 : -1;
}

void tu_scratch_remove(char *dir)
{
	tu_kill_all();
	if (dir[0])
		tu_rmtree(dir);
	dir[0] = '\0';
}

bool tu_on_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	for (const char *p = path ? path : ""; *p;) {
		size_t n = strcspn(p, ":");

		snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, name);
		if (n && access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* ---- flat JSON objects ---------------------------------------------------------- */

/* The project's one JSON reader (common/jsonr.h), flattened into the fixed
 * fields the tests compare: an array of numbers becomes its count, sum and
 * least; any other nested value is not flat, so an error. */
int tu_json_parse(const char *text, struct tu_json *j)
{
	struct jr_value *v = jr_parse(text, strlen(text), NULL);
	int rc = -1;

	memset(j, 0, sizeof *j);
	if (!v || v->type != JR_OBJECT || v->len > TU_JSON_FIELDS)
		goto out;
	for (size_t k = 0; k < v->len; k++) {
		const struct jr_value *m = v->items[k];
		struct tu_json_field *f = &j->f[j->n++];

		snprintf(f->key, sizeof f->key, "%s", v->keys[k]);
		switch (m->type) {
		case JR_STRING:
			f->is_str = true;
			snprintf(f->str, sizeof f->str, "%s", m->string);
			break;
		case JR_NUMBER:
			f->num = m->number;
			f->i = m->integer;
			break;
		case JR_BOOL:
			f->num = f->i = m->boolean;
			break;
		case JR_NULL:
			break;
		case JR_ARRAY:
			for (size_t e = 0; e < m->len; e++) {
				const struct jr_value *x = m->items[e];

				if (x->type != JR_NUMBER)
					goto out;
				f->num += x->number;
				f->i += x->integer;
				f->min = e == 0 || x->number < f->min ? x->number : f->min;
			}
			f->items = (int)m->len;
			break;
		default:
			goto out;
		}
	}
	rc = 0;
out:
	jr_free(v);
	if (rc < 0)
		errno = EINVAL;
	return rc;
}

const struct tu_json_field *tu_json_get(const struct tu_json *j, const char *key)
{
	for (int i = 0; i < j->n; i++)
		if (strcmp(j->f[i].key, key) == 0)
			return &j->f[i];
	return NULL;
}

long long tu_json_int(const struct tu_json *j, const char *key)
{
	const struct tu_json_field *f = tu_json_get(j, key);

	return f && !f->is_str ? f->i : -1;
}

const char *tu_json_str(const struct tu_json *j, const char *key)
{
	const struct tu_json_field *f = tu_json_get(j, key);

	return f && f->is_str ? f->str : NULL;
}

/* ---- servers ------------------------------------------------------------------- */

int tu_server_start(struct tu_proc *p, char *const argv[], long nofile, int timeout_ms)
{
	if (tu_spawn(p, argv, nofile, 0) < 0)
		return -1;
	if (tu_wait_ready(p, timeout_ms) < 0) {
		int e = errno;

		tu_kill(p);
		errno = e;
		return -1;
	}
	return 0;
}

int tu_server_start_v(struct tu_proc *p, const char *bin, const char *backend, long nofile,
		      int timeout_ms, va_list ap)
{
	char path[8192], *argv[32], *a;   /* tu_bin_dir() is up to PATH_MAX */
	int argc = 0;

	tu_path(path, sizeof path, tu_bin_dir(), bin);
	argv[argc++] = path;
	if (backend) {
		argv[argc++] = "--backend";
		argv[argc++] = (char *)backend;
	}
	while ((a = va_arg(ap, char *)) && argc < 31)
		argv[argc++] = a;
	argv[argc] = NULL;
	return tu_server_start(p, argv, nofile, timeout_ms);
}

int tu_server_stop(struct tu_proc *p, struct tu_json *j, int timeout_ms)
{
	long long deadline = deadline_in(timeout_ms);
	char line[TU_LINE_MAX];
	int e = 0, st;

	memset(j, 0, sizeof *j);
	if (p->pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	kill(p->pid, SIGTERM);
	for (;;) {
		/* tu_read_line scales its timeout; hand it unscaled time left. */
		int left = (int)(left_ms(deadline) / tu_timeout_mult());

		if (tu_read_line(p, line, sizeof line, left) < 0) {
			e = errno;
			break;
		}
		if (line[0] == '{') {
			if (tu_json_parse(line, j) < 0)
				e = EINVAL;
			break;
		}
	}
	st = e == ETIMEDOUT ? -1 : tu_wait_exit(p, (int)(left_ms(deadline) / tu_timeout_mult()) + 1);
	if (st < 0 && !e)
		e = ETIMEDOUT;
	tu_kill(p);
	if (e) {
		errno = e;
		return -1;
	}
	return st;
}

/* ---- sockets ----------------------------------------------------------------- */

static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd q = { fd, events, 0 };
	int r;

	while ((r = poll(&q, 1, left_ms(deadline))) < 0 && errno == EINTR)
		;
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

/* After a non-blocking send or recv on fd failed: 0 to try it again (EINTR,
 * or fd became ready for events before the deadline), -1 to give up with
 * errno set (the call's own error, or ETIMEDOUT). */
static int retry_io(int fd, short events, long long deadline)
{
	if (errno == EINTR)
		return 0;
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return -1;
	return wait_fd(fd, events, deadline);
}

int tu_connect(int port, int timeout_ms)
{
	long long deadline = deadline_in(timeout_ms);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int e = 0;
	socklen_t len = sizeof e;

	if (fd < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		if (wait_fd(fd, POLLOUT, deadline) < 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
			goto fail;
		if (e) {
			errno = e;
			goto fail;
		}
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

ssize_t tu_write_all(int fd, const void *buf, size_t n, int timeout_ms)
{
	long long deadline = deadline_in(timeout_ms);
	size_t done = 0;

	while (done < n) {
		ssize_t w = send(fd, (const char *)buf + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			done += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (wait_fd(fd, POLLOUT, deadline) < 0)
			return errno == ETIMEDOUT ? (ssize_t)done : -1;
	}
	return (ssize_t)done;
}

ssize_t tu_read_n(int fd, void *buf, size_t n, int timeout_ms)
{
	long long deadline = deadline_in(timeout_ms);
	size_t done = 0;

	while (done < n) {
		ssize_t r = recv(fd, (char *)buf + done, n - done, MSG_DONTWAIT);

		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r == 0)
			break;
		if (retry_io(fd, POLLIN, deadline) < 0)
			return -1;
	}
	return (ssize_t)done;
}

ssize_t tu_read_to_eof(int fd, void *buf, size_t cap, int timeout_ms)
{
	long long deadline = deadline_in(timeout_ms);
	size_t done = 0;
	char extra;

	for (;;) {
		/* One byte past cap tells "exactly cap, then EOF" from "more". */
		void *dst = done < cap ? (char *)buf + done : &extra;
		ssize_t r = recv(fd, dst, done < cap ? cap - done : 1, MSG_DONTWAIT);

		if (r > 0) {
			if (done >= cap) {
				errno = ENOBUFS;
				return -1;
			}
			done += (size_t)r;
			continue;
		}
		if (r == 0)
			return (ssize_t)done;
		if (retry_io(fd, POLLIN, deadline) < 0)
			return -1;
	}
}

void tu_close_reset(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

void tu_rot13(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c >= 'a' && c <= 'z')
			c = (unsigned char)('a' + (c - 'a' + 13) % 26);
		else if (c >= 'A' && c <= 'Z')
			c = (unsigned char)('A' + (c - 'A' + 13) % 26);
		d[i] = c;
	}
}

/* ---- the system ----------------------------------------------------------------- */

long tu_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	return rl.rlim_cur == RLIM_INFINITY ? LONG_MAX : (long)rl.rlim_cur;
}

/* Calls fn for every process of group pgid; returns how many there were. */
static int each_in_group(pid_t pgid, void (*fn)(pid_t, const struct proc_stat *, void *), void *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int count = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct proc_stat ps;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (proc_stat_pid((pid_t)pid, &ps) < 0 || ps.pgrp != pgid)
			continue;
		fn((pid_t)pid, &ps, arg);
		count++;
	}
	closedir(d);
	return count;
}

/* Reaped children's time is in their parent's cutime/cstime, so a group's
 * total counts forked children that have come and gone. */
static void add_cpu(pid_t pid, const struct proc_stat *ps, void *arg)
{
	(void)pid;
	*(long long *)arg += (long long)(ps->utime + ps->stime) + ps->cutime + ps->cstime;
}

long long tu_pgrp_cpu_ticks(pid_t pgid)
{
	long long sum = 0;

	return each_in_group(pgid, add_cpu, &sum) ? sum : -1;
}

/* A per-process figure summed over a group; figures <= 0 add nothing. */
struct group_sum {
	long (*figure)(pid_t pid);
	long sum;
};

static void add_figure(pid_t pid, const struct proc_stat *ps, void *arg)
{
	struct group_sum *g = arg;
	long v = g->figure(pid);

	(void)ps;
	if (v > 0)
		g->sum += v;
}

static long rss_kb(pid_t pid)
{
	return tu_proc_status(pid, "VmRSS");
}

static long nfds(pid_t pid)
{
	return tu_proc_fds(pid, NULL, 0);
}

long tu_pgrp_rss_kb(pid_t pgid)
{
	struct group_sum g = { rss_kb, 0 };

	return each_in_group(pgid, add_figure, &g) ? g.sum : -1;
}

int tu_pgrp_nfds(pid_t pgid)
{
	struct group_sum g = { nfds, 0 };

	return each_in_group(pgid, add_figure, &g) ? (int)g.sum : -1;
}

int tu_pgrp_nfds_at_most(pid_t pgid, int nfds, int timeout_ms)
{
	long long deadline = tu_now_ms() + tu_ms(timeout_ms);
	int n;

	/* /proc has no event to wait on: 2 ms steps under the deadline. */
	while ((n = tu_pgrp_nfds(pgid)) > nfds && tu_now_ms() < deadline)
		poll(NULL, 0, 2);
	return n;
}

static void add_zombie(pid_t pid, const struct proc_stat *ps, void *arg)
{
	(void)pid;
	if (ps->state == 'Z')
		(*(int *)arg)++;
}

int tu_pgrp_procs(pid_t pgid, int *zombies)
{
	int z = 0, n = each_in_group(pgid, add_zombie, &z);

	if (zombies)
		*zombies = z;
	return n;
}

long tu_proc_status(pid_t pid, const char *name)
{
	return proc_status_field(pid, name);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int tu_proc_fds(pid_t pid, int *fds, int cap)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end || de->d_name[0] == '\0' || de->d_name[0] == '.')
			continue;
		if (fds && n < cap)
			fds[n] = (int)fd;
		n++;
	}
	closedir(d);
	if (fds)
		qsort(fds, (size_t)(n < cap ? n : cap), sizeof *fds, cmp_int);
	return n;
}

/* ---- LeakSanitizer ----------------------------------------------------------------- */

/*
 * In a SANITIZER=address build Criterion's runner, running tests in
 * parallel, exits with a few 48-byte blocks of its own still allocated
 * (the whole stack is inside libcriterion.so). LeakSanitizer would then
 * fail the test binary however its tests went, so leaks whose stack runs
 * through libcriterion.so are suppressed for every binary that links this
 * file. The programs under test are separate processes, built without this
 * hook: their leaks still count. Weak, so that a test binary may define its
 * own list instead.
 */
__attribute__((weak)) const char *__lsan_default_suppressions(void);

__attribute__((weak)) const char *__lsan_default_suppressions(void)
{
	return "leak:libcriterion.so\n";
}

/* ---- results files ------------------------------------------------------------- */

int tu_summary_first(const char *outdir, char *header, size_t hcap, char *line, size_t lcap)
{
	char path[PATH_MAX];
	FILE *f;
	bool ok;

	snprintf(path, sizeof path, "%s/latest/summary.csv", outdir);
	if (!(f = fopen(path, "re")))
		return -1;
	ok = fgets(header, (int)hcap, f) && fgets(line, (int)lcap, f);
	fclose(f);
	if (!ok)
		errno = EINVAL;
	return ok ? 0 : -1;
}

/* The CSV cell in the column named `name`. Empty cells (null) count as
 * columns, so the line is split with strsep(), not strtok(); the columns
 * before the percentiles hold no quoted commas (only `failure` does, near
 * the end). */
double tu_csv_cell(const char *header, const char *line, const char *name)
{
	char h[8192], l[8192], *hp = h, *lp = l, *ht, *lt;

	snprintf(h, sizeof h, "%s", header);
	snprintf(l, sizeof l, "%s", line);
	h[strcspn(h, "\n")] = '\0';
	while ((ht = strsep(&hp, ",")) && (lt = strsep(&lp, ",")))
		if (strcmp(ht, name) == 0) {
			cr_assert(*lt, "summary.csv: %s is empty", name);
			return atof(lt);
		}
	cr_assert_fail("no column %s in summary.csv", name);
	return NAN;
}

void tu_ab_row(struct rep_row *r, const char *server, int round, double cpu)
{
	memset(r, 0, sizeof *r);
	snprintf(r->server, sizeof r->server, "%s", server);
	r->conns = 100;
	r->repeat = round;
	r->ran = true;
	r->cpu_us_server = cpu;
	r->throughput_rps = 1e6 / cpu;
	r->lat_us[4] = 100 * cpu;
}

double tu_noise(int i)
{
	return sin(12.9898 * i + 78.233 * (i % 7));
}

int tu_find_processes(const char *a, const char *b, const char *without, pid_t *pids, int cap)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	while (d && n < cap && (e = readdir(d))) {
		char path[300], buf[4096];
		FILE *f;
		size_t len;

		if (!isdigit((unsigned char)e->d_name[0]) || atoi(e->d_name) == getpid())
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		if (!(f = fopen(path, "re")))
			continue;
		len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		for (size_t k = 0; k < len; k++)
			if (!buf[k])
				buf[k] = ' ';
		buf[len] = '\0';
		if (strstr(buf, a) && (!b || strstr(buf, b)) && (!without || !strstr(buf, without)))
			pids[n++] = (pid_t)atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return n;
}
