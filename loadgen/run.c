/*
 * run.c - lg_run(): the controller. It starts the load threads, moves them
 * through the phases (connect, warmup, measure, drain, done) on its own
 * clock, reads the process's CPU at the measure phase's two boundaries,
 * reports progress, watches the stop flag, and merges after join.
 *
 * The controller runs on the caller's thread and is the only thread that
 * takes signals: the load threads are started with every signal blocked, so
 * a Ctrl-C interrupts the controller's ppoll() and never a send().
 */
#include "engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/resource.h>

static int to_sockaddr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof *in4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof *in6;
		return 0;
	}
	return -EINVAL;
}

static void set_phase(struct shared *sh, int phase)
{
	__atomic_store_n(&sh->phase, phase, __ATOMIC_RELEASE);
	for (int i = 0; i < sh->nthreads; i++)
		lg__poke(sh->t[i].wakefd);
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

struct cpu_mark {
	uint64_t mono;
	clock_t  clk;
	struct rusage ru;
};

static void mark(struct cpu_mark *m)
{
	m->mono = lg__now_ns();
	m->clk = clock();
	getrusage(RUSAGE_SELF, &m->ru);
}

static void progress(struct shared *sh, const struct lg_hooks *hooks, uint64_t t_run0)
{
	if (!hooks || !hooks->on_progress)
		return;
	struct lg_progress p = { .phase = (enum lg_phase)lg__load_phase(sh),
				 .elapsed_s = (double)(lg__now_ns() - t_run0) / 1e9 };
	for (int i = 0; i < sh->nthreads; i++) {
		struct live *l = &sh->t[i].live;
		p.conns_up += __atomic_load_n(&l->conns_up, __ATOMIC_RELAXED);
		p.requests += __atomic_load_n(&l->requests, __ATOMIC_RELAXED);
		p.replies += __atomic_load_n(&l->replies, __ATOMIC_RELAXED);
		p.errors += __atomic_load_n(&l->errors, __ATOMIC_RELAXED);
	}
	hooks->on_progress(&p, hooks->arg);
}

static bool stop_requested(const struct lg_hooks *hooks)
{
	return hooks && hooks->stop && *hooks->stop;
}

static bool all_flag(struct shared *sh, bool quota)
{
	for (int i = 0; i < sh->nthreads; i++) {
		int *f = quota ? &sh->t[i].live.quota_done : &sh->t[i].live.connect_done;
		if (!__atomic_load_n(f, __ATOMIC_ACQUIRE))
			return false;
	}
	return true;
}

/* What the controller waits for besides its deadline. */
enum until { UNTIL_DEADLINE, UNTIL_CONNECTED, UNTIL_QUOTA, UNTIL_MEASURE_AT };

/* Seconds until the coordinator's measure instant (hooks->measure_at_s);
 * +inf while it is not set. */
static double measure_at_left_s(const struct lg_hooks *hooks)
{
	double at;
	struct timespec rt;

	__atomic_load(hooks->measure_at_s, &at, __ATOMIC_ACQUIRE);
	if (at <= 0)
		return INFINITY;
	clock_gettime(CLOCK_REALTIME, &rt);
	return at - ((double)rt.tv_sec + (double)rt.tv_nsec / 1e9);
}

/* Waits until `deadline` (ns, 0 = none) or until cond holds (every thread
 * connected / every quota met), reporting progress and watching the stop
 * flag. Returns false when stopped. */
static bool wait_until(struct shared *sh, const struct lg_hooks *hooks, uint64_t deadline,
		       enum until cond, uint64_t t_run0, uint64_t *next_progress)
{
	const uint64_t interval = (uint64_t)(((hooks && hooks->progress_interval_s > 0)
					      ? hooks->progress_interval_s : 1.0) * 1e9);
	for (;;) {
		if (stop_requested(hooks))
			return false;
		if (cond == UNTIL_CONNECTED && all_flag(sh, false))
			return true;
		if (cond == UNTIL_QUOTA && all_flag(sh, true))
			return true;
		double at_left = cond == UNTIL_MEASURE_AT ? measure_at_left_s(hooks) : INFINITY;
		if (at_left <= 0)
			return true;
		uint64_t now = lg__now_ns();
		if (deadline && now >= deadline)
			return true;
		if (now >= *next_progress) {
			progress(sh, hooks, t_run0);
			*next_progress = now + interval;
		}
		/* Sleep to the nearest of: deadline, progress, 20 ms (the stop flag
		 * is polled, since a signal may land on any thread). */
		uint64_t wake = now + 20 * 1000000ull;
		if (*next_progress < wake)
			wake = *next_progress;
		if (deadline && deadline < wake)
			wake = deadline;
		if (at_left < (double)(wake - now) / 1e9)
			wake = now + (uint64_t)(at_left * 1e9);
		uint64_t d = wake > now ? wake - now : 0;
		struct timespec ts = { .tv_sec = (time_t)(d / 1000000000ull),
				       .tv_nsec = (long)(d % 1000000000ull) };
		struct pollfd pfd = { .fd = sh->ctlfd, .events = POLLIN };
		if (ppoll(&pfd, 1, &ts, NULL) > 0) {
			uint64_t v;
			if (read(sh->ctlfd, &v, sizeof v) < 0 && errno != EAGAIN)
				return true;
		}
	}
}

static void merge(struct shared *sh, struct lg_result *res)
{
	for (int i = 0; i < sh->nthreads; i++) {
		struct lthread *t = &sh->t[i];
		res->requests += t->m_requests;
		res->replies += t->m_replies;
		res->verify_mismatch += t->m_mismatch;
		res->bytes_sent += t->m_bytes_out;
		res->bytes_received += t->m_bytes_in;
		res->connects += t->connects;
		res->requests_all += t->a_requests;
		res->replies_all += t->a_replies;
		res->connect_failures += t->connect_failures;
		res->closes += t->closes;
		res->conns_peak += t->conns_peak;
		for (int p = 0; p < LG_NPHASES; p++)
			for (int c = 0; c < LG_NCAUSES; c++) {
				res->errors[p][c] += t->errors[p][c];
				res->errors_total += t->errors[p][c];
			}
		res->fd_emfile += t->fd_emfile;
		res->fd_enfile += t->fd_enfile;
		res->fd_eaddrnotavail += t->fd_eaddrnotavail;
		res->closed_unserved += t->closed_unserved;
		for (int s = 0; s < res->n_sources; s++)
			res->sources[s].connects += t->src_connects[s];
		hist_add(&res->latency, &t->lat);
		hist_add(&res->latency_uncorrected, &t->lat_unc);
		hist_add(&res->connect_latency, &t->conn_lat);
		hist_add(&res->send_lag, &t->send_lag);
	}
}

int lg_result_init(struct lg_result *res)
{
	memset(res, 0, sizeof *res);
	if (hist_init(&res->latency) || hist_init(&res->latency_uncorrected) ||
	    hist_init(&res->connect_latency) || hist_init(&res->send_lag)) {
		lg_result_free(res);
		return -ENOMEM;
	}
	return 0;
}

void lg_result_free(struct lg_result *res)
{
	hist_free(&res->latency);
	hist_free(&res->latency_uncorrected);
	hist_free(&res->connect_latency);
	hist_free(&res->send_lag);
}

/* The controller's walk through the phases once the threads run: connect
 * (until every thread is done connecting), warm-up, measure (the clocks
 * around it are the result's wall and CPU time), then drain. A stop request
 * cuts the walk short and marks the result stopped. */
static void run_phases(struct shared *sh, struct lg_result *res, const struct lg_hooks *hooks,
		       uint64_t t_run0)
{
	const struct lg_config *cfg = &sh->cfg;
	uint64_t next_progress = t_run0;
	if (hooks && hooks->on_phase)
		hooks->on_phase(LG_PHASE_CONNECT, hooks->arg);
	bool go = wait_until(sh, hooks, 0, UNTIL_CONNECTED, t_run0, &next_progress);
	bool coordinated = hooks && hooks->measure_at_s;
	if (go && (cfg->warmup_s > 0 || coordinated)) {
		set_phase(sh, LG_PHASE_WARMUP);
		if (hooks && hooks->on_phase)
			hooks->on_phase(LG_PHASE_WARMUP, hooks->arg);
		go = wait_until(sh, hooks, lg__now_ns() + (uint64_t)(cfg->warmup_s * 1e9),
				UNTIL_DEADLINE, t_run0, &next_progress);
		if (go && coordinated)
			go = wait_until(sh, hooks, 0, UNTIL_MEASURE_AT, t_run0, &next_progress);
	}
	struct cpu_mark m0, m1;
	if (go) {
		__atomic_store_n(&sh->phase, LG_PHASE_MEASURE, __ATOMIC_RELEASE);
		mark(&m0);
		set_phase(sh, LG_PHASE_MEASURE);
		for (int i = 0; i < sh->nthreads; i++)
			res->conns_up_at_measure += __atomic_load_n(&sh->t[i].live.conns_up, __ATOMIC_RELAXED);
		if (hooks && hooks->on_phase)
			hooks->on_phase(LG_PHASE_MEASURE, hooks->arg);
		uint64_t deadline = cfg->requests ? 0 : m0.mono + (uint64_t)(cfg->duration_s * 1e9);
		go = wait_until(sh, hooks, deadline, cfg->requests ? UNTIL_QUOTA : UNTIL_DEADLINE,
				t_run0, &next_progress);
		mark(&m1);
		res->wall_s = (double)(m1.mono - m0.mono) / 1e9;
		res->client_cpu_s = (double)(m1.clk - m0.clk) / CLOCKS_PER_SEC;
		res->client_user_s = tv_s(m1.ru.ru_utime) - tv_s(m0.ru.ru_utime);
		res->client_sys_s = tv_s(m1.ru.ru_stime) - tv_s(m0.ru.ru_stime);
	}
	if (!go) {
		res->stopped = true;
		sh->stopping = true;
	}
	set_phase(sh, LG_PHASE_DRAIN);
	if (hooks && hooks->on_phase)
		hooks->on_phase(LG_PHASE_DRAIN, hooks->arg);
}

int lg_run(const struct lg_config *cfg_in, struct lg_result *res, const struct lg_hooks *hooks)
{
	memset(res, 0, sizeof *res);
	struct shared *sh = calloc(1, sizeof *sh);
	if (!sh)
		return -ENOMEM;
	sh->cfg = *cfg_in;
	sh->ctlfd = -1;
	int rc = 0, started_threads = 0;
	/* Made by lg_config_make(): the options were checked there, once. A
	 * configuration that was not (automatic values left) is refused. */
	if (sh->cfg.threads < 1 || sh->cfg.io == LG_IO_AUTO ||
	    to_sockaddr(sh->cfg.host, sh->cfg.port, &sh->dst, &sh->dstlen) < 0) {
		free(sh);
		return -EINVAL;
	}
	const struct lg_config *cfg = &sh->cfg;
	for (int i = 0; i < cfg->n_source_addrs; i++)
		if (to_sockaddr(cfg->source_addrs[i], 0, &sh->src[i], &sh->srclen) < 0) {
			free(sh);
			return -EINVAL;
		}
	sh->open_loop = cfg->rate > 0;
	sh->nthreads = cfg->threads;
	sh->phase = LG_PHASE_CONNECT;

	if (lg_result_init(res) < 0) {
		free(sh);
		return -ENOMEM;
	}
	res->open_loop = sh->open_loop;
	res->conns_target = cfg->conns;
	res->measure_target_s = cfg->requests ? 0 : cfg->duration_s;
	res->n_sources = cfg->n_source_addrs ? cfg->n_source_addrs : 1;
	for (int s = 0; s < cfg->n_source_addrs; s++)
		strcpy(res->sources[s].addr, cfg->source_addrs[s]);

	sh->t = calloc((size_t)sh->nthreads, sizeof *sh->t);
	sh->ctlfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!sh->t || sh->ctlfd < 0) {
		rc = sh->ctlfd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	/* The I/O mechanism of every load thread (lg_config_make() resolved auto). */
	const struct lg_io *io = cfg->io == LG_IO_URING ? &lg__io_uring : &lg__io_epoll;
	for (int i = 0; i < sh->nthreads; i++) {
		rc = lg__thread_init(sh, &sh->t[i], i, io);
		if (rc < 0) {
			sh->nthreads = i + 1;
			goto out;
		}
	}
	/* In --requests mode, the remainder of the division goes to thread 0. */
	if (cfg->requests) {
		uint64_t given = 0;
		for (int i = 0; i < sh->nthreads; i++)
			given += sh->t[i].quota;
		if (sh->t[0].nactive)
			sh->t[0].quota += cfg->requests - given;
	}

	/* Load threads never take signals: a Ctrl-C must reach the caller's
	 * thread, which polls the stop flag. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	uint64_t t_run0 = lg__now_ns();
	for (int i = 0; i < sh->nthreads; i++) {
		int e = pthread_create(&sh->t[i].tid, NULL, lg__thread_main, &sh->t[i]);
		if (e) {
			rc = -e;
			break;
		}
		started_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		set_phase(sh, LG_PHASE_DONE);
	else
		run_phases(sh, res, hooks, t_run0);
	for (int i = 0; i < started_threads; i++)
		pthread_join(sh->t[i].tid, NULL);
	__atomic_store_n(&sh->phase, LG_PHASE_DONE, __ATOMIC_RELEASE);
	if (rc == 0) {
		merge(sh, res);
		if (res->wall_s > 0)
			res->throughput_rps = (double)res->replies / res->wall_s;
		if (res->replies)
			res->cpu_us_per_req = res->client_cpu_s * 1e6 / (double)res->replies;
		if (hooks && hooks->on_phase)
			hooks->on_phase(LG_PHASE_DONE, hooks->arg);
	}
out:
	if (sh->t)
		for (int i = 0; i < sh->nthreads; i++)
			lg__thread_free(&sh->t[i]);
	free(sh->t);
	if (sh->ctlfd >= 0)
		close(sh->ctlfd);
	free(sh);
	if (rc < 0) {
		lg_result_free(res);
		memset(res, 0, sizeof *res);
	}
	return rc;
}

const char *lg_phase_name(enum lg_phase phase)
{
	static const char *const names[] = { "connect", "warmup", "measure", "drain", "done" };
	return (unsigned)phase < LG_NPHASES ? names[phase] : "?";
}

const char *lg_cause_name(int cause)
{
	static __thread char buf[16];
	switch (cause) {
	case LG_CAUSE_VERIFY_MISMATCH: return "verify_mismatch";
	case LG_CAUSE_TIMEOUT:         return "timeout";
	case LG_CAUSE_EOF:             return "eof";
	case LG_CAUSE_OTHER:           return "other";
	}
	const char *n = cause > 0 ? strerrorname_np(cause) : NULL;
	if (n)
		return n;
	snprintf(buf, sizeof buf, "E%d", cause);
	return buf;
}
