/*
 * trial.c - one trial of a sweep: the preflight of its limits, the server
 * started and stopped (orch.c), the load run in this process (loadgen) with
 * the collector's samples and the mechanism counts taken from its phase
 * hooks, the progress line, and the signals that end it. See trial.h.
 */
#include "trial.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "agents.h"
#include "collect.h"
#include "designs.h"
#include "loadgen.h"
#include "mech.h"
#include "orch.h"
#include "probe.h"
#include "procfs.h"
#include "progress.h"

/* How long a server may take to print its ready line, and to exit once told. */
#define STOP_TIMEOUT_S  5.0

/* ---- preflight ------------------------------------------------------------------------ */

static void warn_add(struct rep_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn_add(struct rep_run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nwarn == REP_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->warnings[r->nwarn++], sizeof r->warnings[0], fmt, ap);
	va_end(ap);
}

/*
 * Every limit of this machine that the run will meet, as a warning with its
 * remedy. The run goes ahead anyway, so the failures are measured.
 */
void trial_preflight(struct rep_run *r, const struct col_host *h)
{
	unsigned props = r->srv->d->props;
	long conns = r->cfg.conns;
	char msg[512];

	if (lg_preflight(&r->cfg, msg, sizeof msg))
		warn_add(r, "client: %s", msg);
	/* The servers raise their soft limit to the hard one; a process-per-
	 * connection parent holds only its listener, each child one connection. */
	if (!(props & DS_PROC_CONN) && h->nofile_hard > 0 && conns + 16 > h->nofile_hard)
		warn_add(r, "%s: a server process may hold %ld descriptors (hard limit), fewer than "
			 "--conns %ld needs: about %ld connections will be shed as emfile; raise the "
			 "hard limit (limits.conf nofile, systemd LimitNOFILE, or ulimit -Hn as root)",
			 r->srv->name, h->nofile_hard, conns, conns + 16 - h->nofile_hard);
	/* Only a design that calls select() itself: evbase's and libevent's
	 * select backends size their descriptor sets by hand, past FD_SETSIZE. */
	if ((props & DS_FD_SETSIZE) && conns > h->fd_setsize - 5)
		warn_add(r, "%s: select() cannot watch descriptors >= FD_SETSIZE (%ld): about %ld of "
			 "%ld connections will be refused (fd_setsize_refused); FD_SETSIZE is fixed "
			 "at compile time, use poll or epoll beyond %ld connections",
			 r->srv->name, h->fd_setsize, conns - (h->fd_setsize - 5), conns,
			 h->fd_setsize - 5);
	if (props & (DS_PROC_CONN | DS_THREAD_CONN)) {
		const char *what = props & DS_PROC_CONN ? "processes" : "threads";
		long need = conns + 256;   /* what the user already runs, roughly */

		if (h->nproc_soft >= 0 && need > h->nproc_soft)
			warn_add(r, "%s: %ld connections need %ld %s but RLIMIT_NPROC is %ld: "
				 "raise it with 'ulimit -u %ld'", r->srv->name, conns, conns, what,
				 h->nproc_soft, need);
		if (h->threads_max > 0 && need > h->threads_max)
			warn_add(r, "%s: %ld %s exceed kernel.threads-max (%ld): "
				 "sysctl -w kernel.threads-max=%ld", r->srv->name, conns, what,
				 h->threads_max, need * 2);
		if (h->pid_max > 0 && need > h->pid_max)
			warn_add(r, "%s: %ld %s exceed kernel.pid_max (%ld): sysctl -w kernel.pid_max=%ld",
				 r->srv->name, conns, what, h->pid_max, need * 2);
		/* A thread's stack and its guard page are two mappings. */
		if ((props & DS_THREAD_CONN) && h->max_map_count > 0 &&
		    2 * conns + 1024 > h->max_map_count)
			warn_add(r, "%s: %ld threads need about %ld memory mappings but vm.max_map_count "
				 "is %ld: sysctl -w vm.max_map_count=%ld", r->srv->name, conns,
				 2 * conns + 1024, h->max_map_count, 4 * conns + 2048);
	}
	if (h->file_max > 0 && 2 * conns + 1024 > h->file_max)
		warn_add(r, "client and server together need about %ld descriptors but fs.file-max is "
			 "%ld: connections will fail with ENFILE; sysctl -w fs.file-max=%ld",
			 2 * conns + 1024, h->file_max, 4 * conns + 2048);
	/* The load generator keeps at most LG_CONNECTS_IN_FLIGHT connects in
	 * flight per thread, so only more than that can overflow the backlog. */
	if (h->somaxconn > 0 && conns > h->somaxconn && r->cfg.connect_rate == 0 &&
	    (long)LG_CONNECTS_IN_FLIGHT * r->cfg.threads > h->somaxconn)
		warn_add(r, "a burst of %ld connects may overflow the listen backlog "
			 "(net.core.somaxconn=%ld) if the server accepts slowly; dropped SYNs are "
			 "retried after 1 s and show in connect latency: sysctl -w net.core.somaxconn=%ld, "
			 "or pace connects with --connect-rate", conns, h->somaxconn, conns);
	/* One source address reaches one server port from the ephemeral range
	 * only; the load generator spreads over 127.0.0.x by itself unless
	 * told which addresses to use. */
	{
		long per = lg_ports_per_addr();
		long addrs = r->cfg.n_source_addrs > 0 ? r->cfg.n_source_addrs : 1;

		if (per > 0 && conns > per * addrs)
			warn_add(r, "%ld connections need more local ports than %ld source address%s "
				 "offer%s (%ld each, ephemeral range %ld-%ld): the rest will fail with "
				 "EADDRNOTAVAIL; add --source-addrs or widen net.ipv4.ip_local_port_range",
				 conns, addrs, addrs == 1 ? "" : "es", addrs == 1 ? "s" : "", per,
				 h->port_lo, h->port_hi);
	}
	if (r->cfg.requests_per_conn > 0 && h->tcp_tw_reuse == 0)
		warn_add(r, "reopening connections leaves TIME_WAIT sockets for 60 s and the ephemeral "
			 "range %ld-%ld may run out (eaddrnotavail): sysctl -w net.ipv4.tcp_tw_reuse=2, "
			 "or spread over --source-addrs", h->port_lo, h->port_hi);
}

/* ---- signals and progress ------------------------------------------------------------ */

static volatile sig_atomic_t stop_signal;
/* Ends the current load early: set with stop_signal, and when the server
 * dies in the middle of a run (no use loading a dead port for the rest of
 * the duration). */
static volatile sig_atomic_t stop_run;

static void on_signal(int sig)
{
	if (stop_signal) {
		/* A second signal: no more patience. The kernel would kill the
		 * server anyway (PDEATHSIG); do it first so it is sure. */
		orch_kill_current();
		_exit(128 + sig);
	}
	stop_signal = sig;
	stop_run = 1;
}

static void kill_at_exit(void)
{
	orch_kill_current();
}

void trial_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	atexit(kill_at_exit);
}

int trial_stop_signal(void)
{
	return stop_signal;
}

struct live {
	struct rep_run *run;
	int    trial, trials;    /* this trial's number in the sweep, and how many */
	bool   show;             /* progress on stderr */
	bool   server_dead;      /* the server exited during the load */
	double last_t;
	uint64_t last_replies;
	int    width;
	enum lg_phase phase;     /* the phase on_phase last saw begin, and when (col_now) */
	double phase_t0;
	double sweep_t0, trial_t0;
};

/* A trial's planned length before any has run: its phases, and about a
 * second for starting the server, connecting and stopping. */
static double trial_estimate(const struct lg_config *c)
{
	return c->warmup_s + (c->requests ? 1.0 : c->duration_s) + 1.0;
}

static void show_progress_line(struct live *lv, const char *phase, double phase_s,
			       double phase_len_s, long up, double rate, uint64_t failures)
{
	struct rep_run *r = lv->run;
	double now = col_now();
	struct prog_view v = {
		.trial = lv->trial, .trials = lv->trials, .round = r->repeat, .rounds = r->repeats,
		.server = r->srv->name, .conns = r->cfg.conns, .phase = phase, .phase_s = phase_s,
		.phase_len_s = phase_len_s, .conns_up = up, .rate = rate, .failures = failures,
		.left_s = prog_time_left(now - lv->sweep_t0, now - lv->trial_t0, lv->trial,
					 lv->trials, trial_estimate(&r->cfg)),
	};
	char line[512];
	struct winsize ws;

	prog_format(line, sizeof line, &v);
	/* A line longer than the terminal would wrap, and '\r' would then
	 * rewrite only its last part: cut it to the width. */
	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && strlen(line) >= ws.ws_col)
		line[ws.ws_col - 1] = '\0';
	lv->width = fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
}

static void clear_progress(struct live *lv)
{
	if (lv->show && lv->width) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		lv->width = 0;
	}
}

static double tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}


/* The process whose group is the server, as sampled: its own for evbench's
 * servers, the keeper's for a command (its group is the command's), the
 * named pid's for an address, or 0 when there is none to sample. */
static pid_t server_leader(const struct rep_run *r)
{
	if (r->srv->kind == ORCH_ADDRESS)
		return r->srv->pid;
	return r->proc.pid;
}

/* Samples the server's group (collect.h); leaves s invalid without one. */
static void sample(struct rep_run *r, struct col_sample *s, int what)
{
	pid_t leader = server_leader(r), pgid = leader > 0 ? getpgid(leader) : -1;

	if (pgid > 0)
		col_sample_group(pgid, leader, s, what);
}

/* Samples the server's group into *s, and adds the scan's own CPU (on this
 * thread, the load generator's control thread) to what uncount_scan() will
 * take out of the client's figures. */
static void scan(struct rep_run *r, struct col_sample *s, int what)
{
	struct rusage a, b;

	getrusage(RUSAGE_THREAD, &a);
	sample(r, s, what);
	getrusage(RUSAGE_THREAD, &b);
	r->scan_user_s += tv_s(&b.ru_utime) - tv_s(&a.ru_utime);
	r->scan_sys_s += tv_s(&b.ru_stime) - tv_s(&a.ru_stime);
}

static void on_progress(const struct lg_progress *p, void *arg)
{
	struct live *lv = arg;
	struct rep_run *r = lv->run;
	double rate = 0, dt = p->elapsed_s - lv->last_t;

	/* An address's server is not evbench's: its end shows as errors. */
	if (r->srv->kind != ORCH_ADDRESS && !lv->server_dead && !orch_alive(&r->proc)) {
		lv->server_dead = true;
		stop_run = 1;
	}
	/* A second memory sample halfway through the measure phase: the fork
	 * server may still be forking children for connections the kernel
	 * had already accepted when the phase began. */
	if (p->phase == LG_PHASE_MEASURE && r->s_measure.valid && !r->s_mid.valid &&
	    col_now() - r->s_measure.t >= (r->cfg.requests ? 0.4 : r->cfg.duration_s / 2))
		scan(r, &r->s_mid, COL_PSS);
	if (!lv->show)
		return;
	if (dt > 0 && p->replies >= lv->last_replies)
		rate = (double)(p->replies - lv->last_replies) / dt;
	lv->last_t = p->elapsed_s;
	lv->last_replies = p->replies;
	{
		const struct lg_config *c = &r->cfg;
		/* Each phase's planned length: connect has none (it ends when
		 * every connection is tried), drain at most the reply timeout. */
		double len = p->phase == LG_PHASE_WARMUP ? c->warmup_s :
			     p->phase == LG_PHASE_MEASURE ? (c->requests ? 0 : c->duration_s) :
			     p->phase == LG_PHASE_DRAIN ? c->timeout_s : 0;
		double in = p->phase == lv->phase ? col_now() - lv->phase_t0 : 0;

		show_progress_line(lv, lg_phase_name(p->phase), in, len, p->conns_up, rate,
				   p->errors);
	}
}

static void mech_start_client(struct rep_run *r);

/* The load generator's context switches so far: the whole process's
 * (getrusage counts threads that have exited too: a load thread with few
 * connections may be gone by the time DRAIN is reported) less this
 * thread's, which runs the phases, the scans and the waits for perf. */
static void client_csw(long *v, long *iv)
{
	struct rusage self, me;

	if (getrusage(RUSAGE_SELF, &self) < 0 || getrusage(RUSAGE_THREAD, &me) < 0) {
		*v = *iv = -1;
		return;
	}
	*v = self.ru_nvcsw - me.ru_nvcsw;
	*iv = self.ru_nivcsw - me.ru_nivcsw;
}

/* Removes io_uring's kernel workers ("iou-wrk-<tid>", "iou-sqp-<pid>") from
 * evbench's thread ids. Returns how many are left. */
static int drop_uring_workers(pid_t *tids, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		char name[64];
		struct proc_stat ps;

		snprintf(name, sizeof name, "self/task/%d", (int)tids[i]);
		if (proc_stat_read(name, &ps) < 0 || strncmp(ps.comm, "iou-", 4) != 0)
			tids[k++] = tids[i];
	}
	return k;
}

static void on_phase(enum lg_phase phase, void *arg)
{
	struct live *lv = arg;
	struct rep_run *r = lv->run;

	lv->phase = phase;
	lv->phase_t0 = col_now();
	/* The server's CPU at the very edges of the measure phase; a sample
	 * that fails (the server is gone) stays invalid and reports null.
	 * The load generator read its own CPU clock just before MEASURE's
	 * call, so the scan's own cost would count as the client's: it is
	 * measured on this thread and taken back out after the run.
	 * Memory is sampled at MEASURE, when every connection is up, and
	 * once more halfway (on_progress): by DRAIN's call the connections
	 * are closing, and fork's children with them. The DRAIN scan comes
	 * after the load generator read its clocks and costs the client
	 * nothing. */
	/* perf's counters go on at the start of the phase and off at its
	 * end, each switch acknowledged (mech.h), after the /proc samples:
	 * waiting for perf takes milliseconds on a busy machine, which must
	 * not move the CPU window. The client's counters leave this thread
	 * out, so the scans are not counted as the load's. At DRAIN the
	 * samples come first: the client is closing its connections, and
	 * threads' threads and fork's children exit with them. */
	if (phase == LG_PHASE_CONNECT && r->mech) {
		mech_start_client(r);
	} else if (phase == LG_PHASE_MEASURE) {
		scan(r, &r->s_measure, COL_CPU | (r->mech ? COL_CSW : 0));
		if (r->mech)
			client_csw(&r->cli_vcsw[0], &r->cli_ivcsw[0]);
		mech_enable_pair(&r->mech_srv, &r->mech_cli);
	} else if (phase == LG_PHASE_DRAIN && r->s_measure.valid) {
		if (r->mech)
			client_csw(&r->cli_vcsw[1], &r->cli_ivcsw[1]);
		sample(r, &r->s_drain, COL_CPU | (r->mech ? COL_CSW : 0));
		mech_disable_pair(&r->mech_srv, &r->mech_cli);
	}
}

#define MECH_MAX_TIDS 64

/* The server's counting session, started once it is ready: the event loops
 * have all their threads by then and are counted per CPU, filtered by
 * thread; fork and threads make a task per connection and are followed by
 * inherited per-task counters (mech.h says why the two). */
static void mech_start_server(struct rep_run *r)
{
	pid_t tids[MECH_MAX_TIDS];
	int n = 0;

	/* A user's server is counted through its own pid and threads: for
	 * a command the keeper's child, not the keeper. */
	pid_t pid = r->srv->kind == ORCH_COMMAND ? r->proc.cmd_pid : server_leader(r);

	if (pid <= 0) {
		snprintf(r->mech_srv.c.reason, sizeof r->mech_srv.c.reason,
			 "a server at an address without pid=: no local process to count");
		return;
	}
	/* A command may fork or spawn threads per connection, which evbench
	 * cannot know: --mechanism on follows its tasks, auto counts the
	 * threads it has once ready (docs/your-server.md). */
	if (!(r->srv->d->props & (DS_PROC_CONN | DS_THREAD_CONN)) &&
	    !(r->srv->kind == ORCH_COMMAND && r->mech_tasks)) {
		n = proc_tids(pid, 0, tids, MECH_MAX_TIDS);
		if (n == MECH_MAX_TIDS)
			n = 0;   /* more threads than a filter holds: follow the tasks */
	}
	if (n < 0)
		n = 0;
	if (n == 0 && !r->mech_tasks) {
		snprintf(r->mech_srv.c.reason, sizeof r->mech_srv.c.reason,
			 "a task per connection is counted per task, which slows it (up to 1.6x "
			 "server CPU per request with a fork per request): --mechanism on counts it");
		return;
	}
	mech_start(&r->mech_srv, pid, tids, n, r->srv->d->wait, r->mech_tasks);
}

/* The client's session, started when the load threads exist (CONNECT):
 * evbench's threads but this one, which runs the phases, the scans and the
 * progress line. */
static void mech_start_client(struct rep_run *r)
{
	pid_t tids[MECH_MAX_TIDS];
	int n = proc_tids(getpid(), gettid(), tids, MECH_MAX_TIDS);

	/* io_uring's kernel workers are evbench's tasks too, but come and go
	 * and make no system calls: only the load threads are kept. */
	n = drop_uring_workers(tids, n);
	if (n <= 0 || n == MECH_MAX_TIDS) {
		snprintf(r->mech_cli.c.reason, sizeof r->mech_cli.c.reason,
			 "the load threads could not be listed (or more than %d)", MECH_MAX_TIDS - 1);
		return;
	}
	mech_start(&r->mech_cli, getpid(), tids, n,
		   r->cfg.io == LG_IO_URING ? EVB_WAIT_URING : EVB_WAIT_EPOLL, r->mech_tasks);
}

/* ---- one run ------------------------------------------------------------------------- */

static void iso_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%.20s.%03dZ", base, (int)(ts.tv_nsec / 1000000));
}

/* Takes the /proc scans of the measure phase out of the client's CPU
 * figures: they are evbench's collecting, not the load generator's work. */
static void uncount_scan(struct rep_run *r)
{
	struct lg_result *res = &r->res;
	double u = r->scan_user_s, sy = r->scan_sys_s;

	if (u < 0)
		u = 0;
	if (sy < 0)
		sy = 0;
	if (u > res->client_user_s)
		u = res->client_user_s;
	if (sy > res->client_sys_s)
		sy = res->client_sys_s;
	res->client_user_s -= u;
	res->client_sys_s -= sy;
	res->client_cpu_s = res->client_cpu_s > u + sy ? res->client_cpu_s - (u + sy) : 0;
	res->cpu_us_per_req = res->replies ? res->client_cpu_s * 1e6 / (double)res->replies : 0;
	r->scan_user_s = u;
	r->scan_sys_s = sy;
}

/* The load on the agents (agents.h) instead of in this process. Their raw
 * results are kept beside the trial's JSON, so that `evbench merge` can be
 * run on them again. Returns 0, or -EREMOTEIO with the failures in
 * r->failure. */
static int run_on_agents(struct rep_run *r, const struct lg_hooks *hooks)
{
	struct agents_spec *s = malloc(sizeof *s);
	struct agents_outcome *out = malloc(sizeof *out);
	int rc = 0;

	if (!s || !out) {
		free(s);
		free(out);
		return -ENOMEM;
	}
	*s = *r->agents;
	snprintf(s->save_prefix, sizeof s->save_prefix, "%s", r->file);
	if (agents_run(s, &r->cfg, &r->res, out, hooks, r->failure, sizeof r->failure) < 0)
		rc = -EREMOTEIO;
	for (int i = 0; i < out->n; i++)
		if (isfinite(out->a[i].offset_s))
			fprintf(stderr, "evbench: agent %s: clock offset %+.6f s +- %.6f s\n",
				s->hosts[i].host, out->a[i].offset_s, out->a[i].offset_unc_s);
	if (out->has_latency) {
		lg_print_summary(stderr, &r->cfg, &out->latency);
		lg_result_free(&out->latency);
	}
	free(out);
	free(s);
	return rc;
}

void trial_run(struct rep_run *r, bool show_progress, int trial, int trials, double sweep_t0)
{
	struct live lv = { .run = r, .show = show_progress, .trial = trial, .trials = trials,
			   .sweep_t0 = sweep_t0, .trial_t0 = col_now(), .phase = LG_PHASE_CONNECT };
	struct lg_hooks hooks = {
		.on_phase = on_phase, .on_progress = on_progress, .arg = &lv,
		.progress_interval_s = 0.5, .stop = &stop_run,
	};
	char err[768];
	int rc;

	stop_run = stop_signal ? 1 : 0;
	iso_now(r->started_at, sizeof r->started_at);
	if (show_progress)
		show_progress_line(&lv, "starting", 0, 0, 0, 0, 0);
	/* The drift probe, before the server starts and after it is gone, so
	 * that it measures the machine and nothing of the trial. */
	r->mech_srv.ctl = r->mech_srv.ack = r->mech_cli.ctl = r->mech_cli.ack = -1;
	r->cli_vcsw[0] = r->cli_vcsw[1] = r->cli_ivcsw[0] = r->cli_ivcsw[1] = -1;
	r->probe_before_ns = probe_run();
	if (orch_start(&r->proc, r->srv, r->server_args, r->ready_timeout_s, err, sizeof err) < 0) {
		snprintf(r->failure, sizeof r->failure, "%s", err);
		clear_progress(&lv);
		r->probe_after_ns = probe_run();
		return;
	}
	r->started = true;
	r->cfg.port = r->proc.port;
	if (r->srv->kind == ORCH_ADDRESS)
		snprintf(r->cfg.host, sizeof r->cfg.host, "%s", r->srv->host);
	/* --server-nofile: the server raised its soft limit to the hard one at
	 * start; both come down now, before any connection, and fork's
	 * children inherit them. */
	if (r->server_nofile > 0 && r->srv->kind != ORCH_ADDRESS) {
		struct rlimit lim = { (rlim_t)r->server_nofile, (rlim_t)r->server_nofile };
		pid_t pid = r->srv->kind == ORCH_COMMAND ? r->proc.cmd_pid : r->proc.pid;

		if (prlimit(pid, RLIMIT_NOFILE, &lim, NULL) < 0)
			snprintf(r->failure, sizeof r->failure, "--server-nofile: prlimit: %s",
				 strerror(errno));
	}
	/* perf attaches to the server now, before any connection: fork's
	 * and threads' counters are inherited by every task they create from
	 * here on. The client's session starts with the load threads. */
	if (r->mech) {
		mech_start_server(r);
	} else {
		snprintf(r->mech_srv.c.reason, sizeof r->mech_srv.c.reason, "--mechanism off");
		snprintf(r->mech_cli.c.reason, sizeof r->mech_cli.c.reason, "--mechanism off");
	}
	lv.phase_t0 = col_now();
	if (r->agents) {
		rc = run_on_agents(r, &hooks);
	} else {
		rc = lg_run(&r->cfg, &r->res, &hooks);
	}
	if (rc == -EREMOTEIO) {
		/* agents_run() said why in r->failure: nothing was merged. */
	} else if (rc < 0) {
		snprintf(r->failure, sizeof r->failure, "the load generator could not run: %s",
			 strerror(-rc));
	} else {
		r->ran = true;
		uncount_scan(r);
	}
	clear_progress(&lv);
	if (r->mech) {
		mech_finish(&r->mech_cli);
		mech_finish(&r->mech_srv);
	}
	if (orch_stop(&r->proc, STOP_TIMEOUT_S, err, sizeof err) < 0 && !r->failure[0])
		snprintf(r->failure, sizeof r->failure, "%s", err);
	r->probe_after_ns = probe_run();
}
