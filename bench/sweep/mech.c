/*
 * mech.c - system calls, wake-ups and ready descriptors counted by perf's
 * syscall tracepoints over the measure phase. See mech.h.
 */
#include "mech.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const names[] = {
#define MECH_NAME(n) #n,
	MECH_SYSCALLS(MECH_NAME)
#undef MECH_NAME
};

const long mech_thresh[MECH_NTHRESH] = { 1, 2, 3, 4, 5, 6, 7, 8, 11, 16, 23, 32, 45, 64, 91,
					 128, 181, 256, 362, 512, 724, 1024, 1448, 2048,
					 2896, 4096, 5793, 8192, 11585, 16384 };

const char *mech_syscall_name(int i)
{
	return i >= 0 && i < MECH_NSYSCALLS ? names[i] : "?";
}

/* The two calls of a waiting family (the second may be NULL). io_uring_enter
 * returns how many submissions it consumed, not how many completions are
 * ready, so its results are not a ready count: no thresholds for it. */
static void wait_calls(enum evb_wait w, const char **a, const char **b, bool *thresholds)
{
	*a = *b = NULL;
	*thresholds = true;
	switch (w) {
	case EVB_WAIT_EPOLL:  *a = "epoll_wait"; *b = "epoll_pwait"; break;
	case EVB_WAIT_POLL:   *a = "poll"; *b = "ppoll"; break;
	case EVB_WAIT_SELECT: *a = "select"; *b = "pselect6"; break;
	case EVB_WAIT_URING:  *a = "io_uring_enter"; *thresholds = false; break;
	case EVB_WAIT_NONE:   *thresholds = false; break;
	}
}

/* ---- the perf process ---------------------------------------------------- */

static void set_reason(struct mech_counts *c, const char *fmt, const char *arg)
{
	snprintf(c->reason, sizeof c->reason, fmt, arg);
}

/* Whether an executable perf is on PATH. */
static bool perf_on_path(void)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		return false;
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof buf, "%.*s/perf", (int)n, n ? path : ".");
		if (access(buf, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* The first line perf wrote on stderr, as the reason it stopped. */
static void reason_from_stderr(struct mech_session *s, const char *what)
{
	char path[96], buf[512] = "";
	FILE *f = NULL;

	if (s->files) {
		int fd = dup(s->errfd);

		if (fd >= 0 && lseek(fd, 0, SEEK_SET) == 0)
			f = fdopen(fd, "r");
		else if (fd >= 0)
			close(fd);
	} else if (s->dir[0]) {
		snprintf(path, sizeof path, "%s/err", s->dir);
		f = fopen(path, "re");
	}
	if (f) {
		/* perf announces the control commands on stderr: skip them. */
		while (fgets(buf, sizeof buf, f))
			if (strncmp(buf, "Events ", 7) != 0 && buf[0] != '\n')
				break;
			else
				buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(s->c.reason, sizeof s->c.reason, "perf %s%s%.150s", what, buf[0] ? ": " : "",
		 buf);
}

static void close_files(struct mech_session *s)
{
	if (s->files) {
		close(s->outfd);
		close(s->errfd);
		s->files = false;
	}
}

static void cleanup_dir(struct mech_session *s)
{
	static const char *const files[] = { "ctl", "ack", "out", "err" };
	char path[96];

	if (!s->dir[0])
		return;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", s->dir, files[i]);
		unlink(path);
	}
	rmdir(s->dir);
	s->dir[0] = '\0';
}

/* Ends perf at once and makes the session inert. */
static void kill_perf(struct mech_session *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	if (s->ctl >= 0)
		close(s->ctl);
	if (s->ack >= 0)
		close(s->ack);
	s->ctl = s->ack = -1;
}

/* perf did not answer: it failed to attach, or died. */
static int dead(struct mech_session *s)
{
	kill_perf(s);
	reason_from_stderr(s, "did not answer on its control FIFO");
	cleanup_dir(s);
	close_files(s);
	return -1;
}

/* Writes one control command. */
static int send_cmd(struct mech_session *s, const char *cmd)
{
	size_t len = strlen(cmd);

	if (s->pid <= 0)
		return -1;
	if (write(s->ctl, cmd, len) != (ssize_t)len)
		return dead(s);
	return 0;
}

/* Waits for perf's "ack", in slices, so that a perf that has exited
 * (refused, not permitted) is noticed at once rather than at the deadline. */
static int wait_ack(struct mech_session *s, int timeout_ms)
{
	struct pollfd p = { .fd = s->ack, .events = POLLIN };
	char buf[16];

	if (s->pid <= 0)
		return -1;
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		int rc = poll(&p, 1, 50);

		if (rc > 0 && read(s->ack, buf, sizeof buf) > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			break;
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			break;
		}
	}
	return dead(s);
}

static int command(struct mech_session *s, const char *cmd, int timeout_ms)
{
	return send_cmd(s, cmd) < 0 ? -1 : wait_ack(s, timeout_ms);
}

/* Both sessions' commands go out before either answer is awaited, so the
 * two switch within one scheduling delay of each other. */
static int switch_pair(struct mech_session *a, struct mech_session *b, const char *cmd)
{
	int ra = send_cmd(a, cmd), rb = send_cmd(b, cmd);

	if (ra == 0)
		ra = wait_ack(a, 2000);
	if (rb == 0)
		rb = wait_ack(b, 2000);
	return ra < 0 || rb < 0 ? -1 : 0;
}

int mech_enable_pair(struct mech_session *a, struct mech_session *b)
{
	return switch_pair(a, b, "enable\n");
}

int mech_disable_pair(struct mech_session *a, struct mech_session *b)
{
	return switch_pair(a, b, "disable\n");
}

#define MAX_ARGS (32 + 4 * MECH_NSYSCALLS + 8 * (MECH_NTHRESH + 1))

/* Makes the session's directory and perf's control and acknowledgement
 * FIFOs in it (ctl, ack), open in s. Returns 0, or -1 with the reason in s
 * and nothing left behind. */
static int open_fifos(struct mech_session *s)
{
	char p1[96], p2[96];

	snprintf(s->dir, sizeof s->dir, "/tmp/evbench-perf-XXXXXX");
	if (!mkdtemp(s->dir)) {
		set_reason(&s->c, "cannot make a directory for perf's FIFOs: %s", strerror(errno));
		s->dir[0] = '\0';
		return -1;
	}
	snprintf(p1, sizeof p1, "%s/ctl", s->dir);
	snprintf(p2, sizeof p2, "%s/ack", s->dir);
	/* Opened read-write so that neither open blocks for the other side,
	 * and neither end sees EOF while perf starts. */
	if (mkfifo(p1, 0600) < 0 || mkfifo(p2, 0600) < 0 ||
	    (s->ctl = open(p1, O_RDWR | O_CLOEXEC)) < 0 ||
	    (s->ack = open(p2, O_RDWR | O_CLOEXEC | O_NONBLOCK)) < 0) {
		set_reason(&s->c, "cannot make perf's control FIFOs: %s", strerror(errno));
		kill_perf(s);
		cleanup_dir(s);
		return -1;
	}
	return 0;
}

/* In the forked child: becomes perf with argv, its output in errp. */
static void exec_perf(char **argv, const char *errp) __attribute__((noreturn));
static void exec_perf(char **argv, const char *errp)
{
	int fd;

	/* perf must not outlive evbench, and its chatter goes to a file that
	 * gives the reason when it fails. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* perf sleeps but for the commands at the measure phase's edges; where
	 * it may (root), it answers them ahead of the load that fills the CPUs,
	 * so the window opens and closes on time. */
	sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){ .sched_priority = 1 });
	fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		dup2(fd, 2);
		dup2(fd, 1);
		close(fd);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		dup2(fd, 0);
	execvp("perf", argv);
	_exit(127);
}

int mech_start(struct mech_session *s, pid_t target, const pid_t *tids, int ntids,
	       enum evb_wait wait, bool by_name)
{
	char *argv[MAX_ARGS], pidarg[24], ctlarg[160], outp[96], errp[96];
	static char evs[MECH_NSYSCALLS + 2 + 2 * MECH_NTHRESH][64];
	static char filt[MECH_NTHRESH + 1][2048];
	const char *wa, *wb, *pair[2];
	char *tidf = filt[MECH_NTHRESH];
	bool thresholds, per_cpu = ntids > 0;
	int n = 0, ne = 0;
	size_t len = 0;

	memset(s, 0, sizeof *s);
	s->ctl = s->ack = -1;
	if (!per_cpu)
		wait = EVB_WAIT_NONE;
	s->wait = wait;
	s->c.wait = wait;
	s->named = !by_name ? 0 : per_cpu ? (1ULL << MECH_NSYSCALLS) - 1 : MECH_TASK_SET;
	s->per_task = !per_cpu;
	/* Per CPU, the filter keeps the side's threads: "common_pid == a ||
	 * common_pid == b". */
	tidf[0] = '\0';
	for (int i = 0; i < ntids && len + 40 < sizeof filt[0]; i++)
		len += (size_t)snprintf(tidf + len, sizeof filt[0] - len, "%scommon_pid == %d",
					i ? " || " : "", (int)tids[i]);
	if (!perf_on_path()) {
		set_reason(&s->c, "perf not found in PATH (Debian: linux-perf)%s", "");
		return -1;
	}
	if (open_fifos(s) < 0)
		return -1;
	snprintf(ctlarg, sizeof ctlarg, "fifo:%s/ctl,%s/ack", s->dir, s->dir);
	snprintf(outp, sizeof outp, "%s/out", s->dir);
	snprintf(errp, sizeof errp, "%s/err", s->dir);
	snprintf(pidarg, sizeof pidarg, "%d", (int)target);
	argv[n++] = "perf";
	argv[n++] = "stat";
	argv[n++] = "-x,";
	argv[n++] = "--no-big-num";
	argv[n++] = "-D";
	argv[n++] = "-1";
	argv[n++] = "--control";
	argv[n++] = ctlarg;
	argv[n++] = "-o";
	argv[n++] = outp;
	if (per_cpu) {
		argv[n++] = "-a";
	} else {
		argv[n++] = "-p";
		argv[n++] = pidarg;
	}
	argv[n++] = "-e";
	argv[n++] = "raw_syscalls:sys_enter";
	if (per_cpu) {
		argv[n++] = "--filter";
		argv[n++] = tidf;
	}
	for (int i = 0; i < MECH_NSYSCALLS; i++) {
		if (!(s->named & (1ULL << i)))
			continue;
		snprintf(evs[ne], sizeof evs[ne], "syscalls:sys_enter_%s", names[i]);
		argv[n++] = "-e";
		argv[n++] = evs[ne++];
		if (per_cpu) {
			argv[n++] = "--filter";
			argv[n++] = tidf;
		}
	}
	wait_calls(wait, &wa, &wb, &thresholds);
	pair[0] = wa;
	pair[1] = wb;
	for (int j = 0; j < 2; j++) {
		if (!pair[j])
			continue;
		snprintf(evs[ne], sizeof evs[ne], "syscalls:sys_exit_%s", pair[j]);
		argv[n++] = "-e";
		argv[n++] = evs[ne];
		argv[n++] = "--filter";
		argv[n++] = tidf;
		for (int k = 0; thresholds && k < MECH_NTHRESH; k++) {
			snprintf(filt[k], sizeof filt[k], "ret >= %ld && (%s)", mech_thresh[k], tidf);
			argv[n++] = "-e";
			argv[n++] = evs[ne];
			argv[n++] = "--filter";
			argv[n++] = filt[k];
		}
		ne++;
	}
	argv[n] = NULL;

	s->pid = fork();
	if (s->pid < 0) {
		s->pid = 0;
		set_reason(&s->c, "cannot fork perf: %s", strerror(errno));
		kill_perf(s);
		cleanup_dir(s);
		return -1;
	}
	if (s->pid == 0)
		exec_perf(argv, errp);
	/* perf answers its FIFO once every counter is open (disabled). */
	if (command(s, "disable\n", 5000) < 0)
		return -1;
	/* perf holds its FIFOs and its output open from here on: keep the two
	 * files by descriptor and remove every name, so that nothing is left
	 * in /tmp even when evbench is killed. */
	s->outfd = open(outp, O_RDONLY | O_CLOEXEC);
	s->errfd = open(errp, O_RDONLY | O_CLOEXEC);
	if (s->outfd >= 0 && s->errfd >= 0) {
		s->files = true;
		cleanup_dir(s);
	} else {
		if (s->outfd >= 0)
			close(s->outfd);
		if (s->errfd >= 0)
			close(s->errfd);
	}
	return 0;
}

int mech_enable(struct mech_session *s)
{
	return command(s, "enable\n", 2000);
}

int mech_disable(struct mech_session *s)
{
	return command(s, "disable\n", 2000);
}

/* ---- reading perf's output ------------------------------------------------ */

/* The next data line of perf's CSV: "count,unit,event,..." Returns the
 * event name's start and sets *count (-1 for "<not counted>" and the like),
 * or NULL at the end. */
static const char *next_line(const char **p, long long *count, size_t *evlen)
{
	while (**p) {
		const char *line = *p, *end = strchr(line, '\n'), *c1, *c2;

		*p = end ? end + 1 : line + strlen(line);
		if (line[0] == '#' || line[0] == '\n' || line[0] == '\0')
			continue;
		c1 = memchr(line, ',', (size_t)(*p - line));
		if (!c1)
			continue;
		c2 = memchr(c1 + 1, ',', (size_t)(*p - c1 - 1));
		if (!c2)
			continue;
		*count = line[0] >= '0' && line[0] <= '9' ? strtoll(line, NULL, 10) : -1;
		*evlen = strcspn(c2 + 1, ",\n");
		return c2 + 1;
	}
	return NULL;
}

/* Takes the next line, which must name event ev. Returns its count (0 for a
 * counter that never ran: disabled the whole window), or -1 on a mismatch. */
static long long take(const char **p, const char *ev, bool *ok)
{
	long long v = 0;
	size_t len = 0;
	const char *name = next_line(p, &v, &len);

	if (!name || len != strlen(ev) || strncmp(name, ev, len) != 0) {
		*ok = false;
		return 0;
	}
	return v < 0 ? 0 : v;
}

int mech_parse(const char *text, enum evb_wait wait, uint64_t named, struct mech_counts *c)
{
	const char *p = text, *pair[2];
	char ev[64];
	bool ok = true, thresholds;

	memset(c, 0, sizeof *c);
	c->wait = wait;
	c->named = named;
	c->total = (uint64_t)take(&p, "raw_syscalls:sys_enter", &ok);
	for (int i = 0; i < MECH_NSYSCALLS; i++) {
		if (!(named & (1ULL << i)))
			continue;
		snprintf(ev, sizeof ev, "syscalls:sys_enter_%s", names[i]);
		c->by_name[i] = (uint64_t)take(&p, ev, &ok);
	}
	wait_calls(wait, &pair[0], &pair[1], &thresholds);
	for (int j = 0; j < 2; j++) {
		if (!pair[j])
			continue;
		snprintf(ev, sizeof ev, "syscalls:sys_exit_%s", pair[j]);
		c->wakeups += (uint64_t)take(&p, ev, &ok);
		for (int k = 0; thresholds && k < MECH_NTHRESH; k++)
			c->ge[k] += (uint64_t)take(&p, ev, &ok);
	}
	if (!ok) {
		snprintf(c->reason, sizeof c->reason, "perf's output was not what evbench asked for");
		return -1;
	}
	c->have_ready = thresholds;
	c->valid = true;
	return 0;
}

int mech_finish(struct mech_session *s)
{
	char path[96], *text = NULL;
	bool exited = false;
	int status;
	FILE *f;

	if (s->pid <= 0) {
		if (!s->c.reason[0])
			snprintf(s->c.reason, sizeof s->c.reason, "not counted");
		cleanup_dir(s);
		close_files(s);
		return -1;
	}
	/* SIGINT makes perf stat print its counts and exit. */
	kill(s->pid, SIGINT);
	for (int i = 0; i < 200 && !exited; i++) {
		pid_t r = waitpid(s->pid, &status, WNOHANG);

		if (r == s->pid)
			exited = true;
		else
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	if (!exited) {
		kill_perf(s);
		reason_from_stderr(s, "did not exit after SIGINT");
		cleanup_dir(s);
		close_files(s);
		return -1;
	}
	s->pid = 0;
	kill_perf(s);      /* closes the FIFOs */
	if (s->files) {
		int fd = dup(s->outfd);

		f = fd >= 0 && lseek(fd, 0, SEEK_SET) == 0 ? fdopen(fd, "r") : NULL;
		if (!f && fd >= 0)
			close(fd);
	} else {
		snprintf(path, sizeof path, "%s/out", s->dir);
		f = fopen(path, "re");
	}
	if (f) {
		size_t cap = 1 << 16, len = fread(text = malloc(cap), 1, cap - 1, f);

		if (text)
			text[len] = '\0';
		fclose(f);
	}
	if (!text) {
		reason_from_stderr(s, "wrote no counts");
		cleanup_dir(s);
		close_files(s);
		return -1;
	}
	mech_parse(text, s->wait, s->named, &s->c);
	s->c.per_task = s->per_task;
	free(text);
	cleanup_dir(s);
	close_files(s);
	return s->c.valid ? 0 : -1;
}

/* ---- what the counts say ---------------------------------------------------- */

double mech_ready_per_wakeup(const struct mech_counts *c, double *lo, double *hi)
{
	double sl = 0, sh = 0;

	*lo = *hi = -1;
	if (!c->valid || !c->have_ready || c->wakeups == 0)
		return -1;
	/* Returns with ret in [t_k, t_{k+1}) number ge[k] - ge[k+1]; each adds
	 * at least t_k and at most t_{k+1} - 1. Past the last threshold the
	 * bound is open: it is taken as twice the threshold, and said so in
	 * docs/results.md. */
	for (int k = 0; k < MECH_NTHRESH; k++) {
		uint64_t in = c->ge[k] - (k + 1 < MECH_NTHRESH ? c->ge[k + 1] : 0);
		long top = k + 1 < MECH_NTHRESH ? mech_thresh[k + 1] - 1 : 2 * mech_thresh[k];

		sl += (double)in * (double)mech_thresh[k];
		sh += (double)in * (double)top;
	}
	*lo = sl / (double)c->wakeups;
	*hi = sh / (double)c->wakeups;
	return (*lo + *hi) / 2;
}

int mech_top(const struct mech_counts *c, int *idx)
{
	int n = 0;

	for (int i = 0; i < MECH_NSYSCALLS; i++)
		if (c->by_name[i]) {
			int j = n++;

			/* Insertion: stable, so ties keep the list's order. */
			while (j > 0 && c->by_name[idx[j - 1]] < c->by_name[i]) {
				idx[j] = idx[j - 1];
				j--;
			}
			idx[j] = i;
		}
	return n;
}

static const char *wait_name(enum evb_wait w)
{
	const char *a, *b;
	bool t;

	wait_calls(w, &a, &b, &t);
	return a;
}

void mech_json_side(struct json_writer *w, const struct mech_counts *c, uint64_t replies,
		    long vcsw, long ivcsw, const char *csw_reason)
{
	double r = (double)replies, lo, hi, ready;
	bool per = c->valid && replies > 0;
	int idx[MECH_NSYSCALLS], n;
	uint64_t named = 0;

	json_begin_object(w);
	json_key(w, "source");
	json_string(w, !c->valid ? NULL : c->per_task ? "perf stat -p, per task, inherited"
		    : "perf stat -a, per CPU, filtered by thread");
	json_key(w, "reason");
	if (c->valid)
		json_null(w);
	else
		json_string(w, c->reason[0] ? c->reason : "not counted");
	json_key(w, "syscalls");
	if (c->valid)
		json_uint(w, c->total);
	else
		json_null(w);
	json_kv_double_or_null(w, "syscalls_per_req", per ? (double)c->total / r : -1);
	json_key(w, "by_name_per_req");
	if (per && c->named) {
		json_begin_object(w);
		n = mech_top(c, idx);
		for (int i = 0; i < n; i++) {
			json_kv_double(w, names[idx[i]], (double)c->by_name[idx[i]] / r);
			named += c->by_name[idx[i]];
		}
		json_kv_double(w, "other", c->total > named ? (double)(c->total - named) / r : 0);
		json_end_object(w);
	} else {
		json_null(w);
	}
	json_key(w, "wait_call");
	json_string(w, c->wait == EVB_WAIT_NONE ? NULL : wait_name(c->wait));
	json_kv_double_or_null(w, "wakeups_per_req",
			       per && c->wait != EVB_WAIT_NONE ? (double)c->wakeups / r : -1);
	ready = mech_ready_per_wakeup(c, &lo, &hi);
	json_kv_double_or_null(w, "ready_per_wakeup", ready);
	json_key(w, "ready_per_wakeup_bounds");
	if (ready >= 0) {
		json_begin_array(w);
		json_double(w, lo);
		json_double(w, hi);
		json_end_array(w);
	} else {
		json_null(w);
	}
	json_kv_double_or_null(w, "ctxsw_voluntary_per_req",
			       vcsw >= 0 && replies ? (double)vcsw / r : -1);
	json_kv_double_or_null(w, "ctxsw_involuntary_per_req",
			       ivcsw >= 0 && replies ? (double)ivcsw / r : -1);
	json_key(w, "ctxsw_reason");
	json_string(w, vcsw >= 0 ? NULL : csw_reason ? csw_reason : "not sampled");
	json_end_object(w);
}
