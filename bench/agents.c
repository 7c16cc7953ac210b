/*
 * agents.c - the coordinator of agents over ssh; see agents.h, and agent.h
 * for the conversation.
 *
 * One process (ssh, or the agent itself for `local`) per agent, with three
 * pipes; this thread talks to them one at a time before the start (hello,
 * the clock exchange, go) and with poll() over all of them afterwards. Every
 * wait has a deadline, so an agent that hangs is a failure with a reason and
 * never a hung evbench.
 */
#include "agents.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"
#include "schema.h"

#define ERR_TAIL 600   /* bytes of an agent's stderr kept for its failure */

struct agent_proc {
	pid_t  pid;
	int    in, out, errfd;     /* its stdin (ours to write), stdout, stderr; -1 closed */
	char  *buf;                /* stdout not yet taken as lines */
	size_t len, cap;
	char   errtail[ERR_TAIL];  /* the last of its stderr */
	size_t errlen;
	bool   connected, measuring, drained, done;
	char  *result;             /* the JSON of its "result" line */
	int    status;             /* wait status once reaped, -1 before */
};

void agents_spec_default(struct agents_spec *s)
{
	memset(s, 0, sizeof *s);
	s->max_offset_s = 0.1;
	s->latency_rate = 100;
	s->latency_conns = 4;
}

int agents_parse(struct agents_spec *s, const char *list, bool latency, char *err, size_t errlen)
{
	char buf[4096], *save = NULL;

	if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf) {
		snprintf(err, errlen, "the list of agents is too long");
		return -1;
	}
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct agents_host *h = &s->hosts[s->n];

		if (s->n >= AGENTS_MAX) {
			snprintf(err, errlen, "more than %d agents", AGENTS_MAX);
			return -1;
		}
		memset(h, 0, sizeof *h);
		if (!strcmp(t, "local")) {
			h->local = true;
			snprintf(h->host, sizeof h->host, "local");
		} else if (!strncmp(t, "ssh:", 4) && t[4] && t[4] != '-' &&
			   !strpbrk(t + 4, " \t'\"\\;&|<>$`") && strlen(t + 4) < sizeof h->host) {
			snprintf(h->host, sizeof h->host, "%s", t + 4);
		} else {
			snprintf(err, errlen, "an agent must be ssh:HOST or local, got '%s'", t);
			return -1;
		}
		h->latency = latency;
		s->n++;
		if (!latency)
			s->nload++;
	}
	if (!s->n) {
		snprintf(err, errlen, "no agent in '%s'", list);
		return -1;
	}
	return 0;
}

const char *const agents_option_names[] = {
	"agents", "latency-agent", "ssh-opts", "agent-bin", "agent-host", "max-clock-offset",
	"latency-rate", NULL
};

static int number(const char *name, const char *val, double lo, double *out, char *err,
		  size_t errlen)
{
	char *end;

	errno = 0;
	*out = strtod(val, &end);
	if (errno || end == val || *end || !(*out >= lo)) {
		snprintf(err, errlen, "--%s: expected a number >= %g, got '%s'", name, lo, val);
		return -1;
	}
	return 0;
}

int agents_option(struct agents_spec **sp, const char *name, const char *val, char *err,
		  size_t errlen)
{
	struct agents_spec *s = *sp;

	if (!s) {
		if (!(s = *sp = malloc(sizeof *s))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		agents_spec_default(s);
	}
	if (!strcmp(name, "agents") || !strcmp(name, "latency-agent")) {
		bool latency = name[0] == 'l';

		/* Load agents first, then latency agents: a share's index is
		 * its place among the load agents. */
		if (!latency && s->n > s->nload) {
			snprintf(err, errlen, "--agents must come before --latency-agent");
			return -1;
		}
		return agents_parse(s, val, latency, err, errlen);
	}
	if (!strcmp(name, "ssh-opts"))
		return snprintf(s->ssh_opts, sizeof s->ssh_opts, "%s", val) < (int)sizeof s->ssh_opts
			       ? 0 : (snprintf(err, errlen, "--ssh-opts: too long"), -1);
	if (!strcmp(name, "agent-bin"))
		return snprintf(s->agent_bin, sizeof s->agent_bin, "%s", val) < (int)sizeof s->agent_bin
			       ? 0 : (snprintf(err, errlen, "--agent-bin: too long"), -1);
	if (!strcmp(name, "agent-host")) {
		unsigned char a[16];

		if (inet_pton(AF_INET, val, a) != 1 && inet_pton(AF_INET6, val, a) != 1) {
			snprintf(err, errlen, "--agent-host: expected a numeric IPv4 or IPv6 address, "
				 "got '%s'", val);
			return -1;
		}
		snprintf(s->target, sizeof s->target, "%s", val);
		return 0;
	}
	if (!strcmp(name, "max-clock-offset"))
		return number(name, val, 0, &s->max_offset_s, err, errlen);
	if (!strcmp(name, "latency-rate"))
		return number(name, val, 0.001, &s->latency_rate, err, errlen);
	snprintf(err, errlen, "unknown option '--%s'", name);
	return -1;
}

int agents_check(const struct agents_spec *s, char *err, size_t errlen)
{
	if (!s->nload) {
		snprintf(err, errlen, "--agents: no load agent given");
		return -1;
	}
	for (int i = 0; i < s->n; i++)
		if (!s->hosts[i].local && !s->target[0]) {
			snprintf(err, errlen, "--agents: an agent reached by ssh needs --agent-host ADDR, "
				 "the address where it reaches this host's servers");
			return -1;
		}
	return 0;
}

static double realtime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the agent's command line ---------------------------------------------------------- */

struct words {
	char *w[96];
	int   n;
	char  store[8192];
	size_t used;
};

static void add(struct words *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct words *a, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (a->n >= (int)(sizeof a->w / sizeof *a->w) - 1 || a->used >= sizeof a->store)
		return;
	va_start(ap, fmt);
	k = vsnprintf(a->store + a->used, sizeof a->store - a->used, fmt, ap);
	va_end(ap);
	if (k < 0 || a->used + (size_t)k + 1 > sizeof a->store)
		return;
	a->w[a->n++] = a->store + a->used;
	a->used += (size_t)k + 1;
	a->w[a->n] = NULL;
}

/* `BIN agent --control ...` for agent i: the whole load's options and its
 * share, so that the agent takes its part by the one rule (ar_share). The
 * latency agent gets its own small open loop instead. */
static void agent_words(struct words *a, const struct agents_spec *s, int i,
			const struct lg_config *cfg, const char *bin)
{
	const struct agents_host *h = &s->hosts[i];

	add(a, "%s", bin);
	add(a, "agent");
	add(a, "--control");
	add(a, "--name");
	add(a, "%s", h->host);
	add(a, "--host");
	add(a, "%s", cfg->host);
	add(a, "--port");
	add(a, "%d", cfg->port);
	if (h->latency) {
		add(a, "--role");
		add(a, "latency");
		add(a, "--conns");
		add(a, "%ld", s->latency_conns);
		add(a, "--rate");
		add(a, "%.17g", s->latency_rate);
	} else {
		add(a, "--share");
		add(a, "%d/%d", i, s->nload);
		add(a, "--conns");
		add(a, "%ld", cfg->conns);
		if (cfg->rate > 0) {
			add(a, "--rate");
			add(a, "%.17g", cfg->rate);
		}
		if (cfg->connect_rate > 0) {
			add(a, "--connect-rate");
			add(a, "%.17g", cfg->connect_rate);
		}
		if (cfg->requests_per_conn) {
			add(a, "--requests-per-conn");
			add(a, "%llu", (unsigned long long)cfg->requests_per_conn);
		}
		add(a, "--pipeline");
		add(a, "%d", cfg->pipeline);
	}
	/* Every agent measures for the same time; with --requests the load
	 * agents share the count and the latency agent measures until the
	 * load is over (it is stopped then). */
	if (cfg->requests && !h->latency) {
		add(a, "--requests");
		add(a, "%llu", (unsigned long long)cfg->requests);
	} else {
		add(a, "--duration");
		add(a, "%.17g", cfg->requests ? 1e6 : cfg->duration_s);
	}
	add(a, "--warmup");
	add(a, "%.17g", cfg->warmup_s);
	add(a, "--size");
	add(a, "%ld", cfg->size);
	add(a, "--timeout");
	add(a, "%.17g", cfg->timeout_s);
}

/* The words as one remote shell command, each single-quoted. */
static void shell_join(char *out, size_t cap, char *const *w)
{
	size_t k = (size_t)snprintf(out, cap, "exec");

	for (; *w && k < cap; w++) {
		k += (size_t)snprintf(out + k, cap - k, " '");
		for (const char *p = *w; *p && k + 5 < cap; p++)
			k += *p == '\'' ? (size_t)snprintf(out + k, cap - k, "'\\''")
					: (size_t)snprintf(out + k, cap - k, "%c", *p);
		if (k < cap)
			k += (size_t)snprintf(out + k, cap - k, "'");
	}
}

/* ---- the processes --------------------------------------------------------------------- */

static int spawn(struct agent_proc *p, char *const argv[])
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

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Keeps the last ERR_TAIL bytes of the agent's stderr. */
static void drain_err(struct agent_proc *p)
{
	char b[1024];
	ssize_t k;

	while (p->errfd >= 0 && (k = read(p->errfd, b, sizeof b)) != 0) {
		if (k < 0) {
			if (errno != EINTR && errno != EAGAIN)
				close_fd(&p->errfd);
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
		close_fd(&p->errfd);
}

/* Reads what stdout has. Returns 1 while open, 0 at its end. */
static int fill(struct agent_proc *p)
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
		close_fd(&p->out);
		return 0;
	}
}

/* Takes one whole line (without '\n') out of the buffer into *line
 * (malloc'ed). Returns 1, or 0 when there is none yet. */
static int take_line(struct agent_proc *p, char **line)
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
static char *next_line(struct agent_proc *p, double deadline)
{
	char *line;

	for (;;) {
		struct pollfd pf[2] = { { p->out, POLLIN, 0 }, { p->errfd, POLLIN, 0 } };
		double left = deadline - mono_s();

		if (take_line(p, &line))
			return line;
		if (p->out < 0 || left <= 0)
			return NULL;
		if (poll(pf, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			return NULL;
		if (pf[1].revents)
			drain_err(p);
		if (pf[0].revents)
			fill(p);
	}
}

static int say(struct agent_proc *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(struct agent_proc *p, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	return p->in >= 0 && write(p->in, line, (size_t)n) == n ? 0 : -1;
}

/* The failure of agent i: the reason, how it ended if it did, the tail of
 * its stderr. */
static void failed(struct agents_outcome *out, int i, struct agent_proc *p, const char *host,
		   const char *why)
{
	char how[64] = "";

	drain_err(p);
	if (p->status < 0 && p->pid > 0 && waitpid(p->pid, &p->status, WNOHANG) != p->pid)
		p->status = -1;
	if (p->status >= 0 && WIFEXITED(p->status))
		snprintf(how, sizeof how, " (exit status %d)", WEXITSTATUS(p->status));
	else if (p->status >= 0 && WIFSIGNALED(p->status))
		snprintf(how, sizeof how, " (killed by signal %d)", WTERMSIG(p->status));
	for (size_t k = 0; k < p->errlen; k++)
		if (p->errtail[k] == '\n' || p->errtail[k] == '\r')
			p->errtail[k] = k + 1 == p->errlen ? '\0' : ' ';
	snprintf(out->a[i].failure, sizeof out->a[i].failure, "agent %s: %s%s; stderr: %s",
		 host, why, how, p->errlen ? p->errtail : "(empty)");
}

/* Four timestamps, AGENTS_CLOCK_ROUNDS times: T1 sent, T2 received and T3
 * answered in the agent's clock, T4 received. The exchange with the
 * shortest round trip bounds the offset best: offset = ((T2 - T1) + (T3 -
 * T4)) / 2, within half the round trip (T4 - T1) - (T3 - T2). */
static int clock_exchange(struct agent_proc *p, double deadline, double *offset, double *unc,
			  double *rtt_max)
{
	double best = INFINITY;

	for (int k = 0; k < AGENTS_CLOCK_ROUNDS; k++) {
		long long t1 = llround(realtime_s() * 1e9), e1, t2, t3, t4;
		char *line;

		if (say(p, "t %lld\n", t1) < 0 || !(line = next_line(p, deadline)))
			return -1;
		t4 = llround(realtime_s() * 1e9);
		if (sscanf(line, "t %lld %lld %lld", &e1, &t2, &t3) != 3 || e1 != t1) {
			free(line);
			return -1;
		}
		free(line);
		double rtt = (double)((t4 - t1) - (t3 - t2)) / 1e9;
		if (rtt < best) {
			best = rtt;
			*offset = ((double)(t2 - t1) + (double)(t3 - t4)) / 2e9;
			*unc = rtt / 2;
		}
		if ((double)(t4 - t1) / 1e9 > *rtt_max)
			*rtt_max = (double)(t4 - t1) / 1e9;
	}
	return 0;
}

/* Kills what is left of every agent's group and reaps it; gives each a
 * moment to exit on its own first (its stdin closed). */
static void end_all(struct agent_proc *ps, int n)
{
	double deadline = mono_s() + 3.0;

	for (int i = 0; i < n; i++)
		close_fd(&ps[i].in);
	for (int i = 0; i < n; i++) {
		while (ps[i].pid > 0 && ps[i].status < 0 && mono_s() < deadline) {
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
		close_fd(&ps[i].out);
		close_fd(&ps[i].errfd);
	}
}

/* How long the load lasts at most once started: connect, warm-up, measure,
 * drain (each bounded by the load's timeout), with 10 s for a slow host.
 * An agent silent past it has hung. */
static double load_bound_s(const struct lg_config *cfg)
{
	double measure = cfg->requests ? 3600.0 : cfg->duration_s;

	return 4 * cfg->timeout_s + ar_connect_allowance_s(cfg->conns) + cfg->warmup_s + measure +
	       10.0;
}

static void save_result(const struct agents_spec *s, int i, const char *json)
{
	char path[PATH_MAX + 128];
	FILE *f;

	if (!s->save_dir)
		return;
	snprintf(path, sizeof path, "%s/%s-agent%d.json", s->save_dir, s->save_prefix, i);
	if ((f = fopen(path, "we"))) {
		fprintf(f, "%s\n", json);
		fclose(f);
	}
}

int agents_run(const struct agents_spec *s, const struct lg_config *cfg, struct lg_result *res,
	       struct agents_outcome *out, const struct lg_hooks *hooks, char *err, size_t errlen)
{
	struct agent_proc ps[AGENTS_MAX];
	struct ar_result rs[AGENTS_MAX];
	char bin[PATH_MAX];
	double rtt_max = 0, start, deadline;
	int nok = 0, nconnected = 0, nmeasuring = 0, ndone = 0, rc = -1;
	bool measure_sent = false, measure_told = false, drain_told = false, stop_sent = false, latency_stopped = false;
	size_t k;

	memset(res, 0, sizeof *res);
	memset(ps, 0, sizeof ps);
	memset(rs, 0, sizeof rs);
	memset(out, 0, sizeof *out);
	out->n = s->n;
	err[0] = '\0';
	for (int i = 0; i < s->n; i++) {
		ps[i].in = ps[i].out = ps[i].errfd = -1;
		ps[i].status = -1;
		out->a[i].offset_s = out->a[i].offset_unc_s = NAN;
	}
	if (s->agent_bin[0])
		snprintf(bin, sizeof bin, "%s", s->agent_bin);
	else if (proc_self_exe(bin, sizeof bin) < 0)
		snprintf(bin, sizeof bin, "evbench");

	/* Start them all at once: ssh's handshakes overlap. */
	for (int i = 0; i < s->n; i++) {
		struct words a = { .n = 0 }, w = { .n = 0 };
		char remote[8192], opts[sizeof s->ssh_opts], *save = NULL;

		agent_words(&a, s, i, cfg, bin);
		if (s->hosts[i].local) {
			if (spawn(&ps[i], a.w) < 0)
				failed(out, i, &ps[i], s->hosts[i].host, strerror(errno));
			continue;
		}
		shell_join(remote, sizeof remote, a.w);
		add(&w, "ssh");
		add(&w, "-T");
		add(&w, "-o");
		add(&w, "BatchMode=yes");
		snprintf(opts, sizeof opts, "%s", s->ssh_opts);
		for (char *t = strtok_r(opts, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
			add(&w, "%s", t);
		add(&w, "--");
		add(&w, "%s", s->hosts[i].host);
		add(&w, "%s", remote);
		if (spawn(&ps[i], w.w) < 0)
			failed(out, i, &ps[i], s->hosts[i].host, strerror(errno));
	}

	/* Hello, then the clock, one agent after the other: an exchange is a
	 * few round trips. */
	deadline = mono_s() + AGENTS_START_TIMEOUT_S;
	for (int i = 0; i < s->n; i++) {
		const char *host = s->hosts[i].host;
		char *line, want[64];

		if (out->a[i].failure[0])
			continue;
		snprintf(want, sizeof want, "hello %s ", EVB_SCHEMA_AGENT);
		if (!(line = next_line(&ps[i], deadline))) {
			failed(out, i, &ps[i], host, ps[i].out < 0 ? "ended before its hello"
								  : "no hello in time");
			continue;
		}
		if (strncmp(line, want, strlen(want)) != 0) {
			char why[200];

			snprintf(why, sizeof why, "did not say hello %s: '%.80s'", EVB_SCHEMA_AGENT, line);
			failed(out, i, &ps[i], host, why);
			free(line);
			continue;
		}
		free(line);
		if (clock_exchange(&ps[i], mono_s() + 10.0, &out->a[i].offset_s,
				   &out->a[i].offset_unc_s, &rtt_max) < 0) {
			failed(out, i, &ps[i], host, "the clock exchange failed");
			continue;
		}
		if (fabs(out->a[i].offset_s) > s->max_offset_s) {
			char why[200];

			snprintf(why, sizeof why, "its clock is %+.6f s (+- %.6f) off this host's, more "
				 "than --max-clock-offset %g s", out->a[i].offset_s,
				 out->a[i].offset_unc_s, s->max_offset_s);
			failed(out, i, &ps[i], host, why);
		}
	}
	for (int i = 0; i < s->n; i++)
		nok += !out->a[i].failure[0];
	if (nok < s->n)
		goto finish;

	/* One start for all, far enough ahead for the last "go" to arrive. */
	start = realtime_s() + 0.2 + 2 * rtt_max;
	for (int i = 0; i < s->n; i++)
		if (say(&ps[i], "go %.9f %.9f %.9f\n", start + out->a[i].offset_s,
			out->a[i].offset_s, out->a[i].offset_unc_s) < 0)
			failed(out, i, &ps[i], s->hosts[i].host, "the control channel closed before go");
	deadline = mono_s() + (start - realtime_s()) + load_bound_s(cfg);

	while (ndone < s->n && mono_s() < deadline) {
		struct pollfd pf[2 * AGENTS_MAX];
		int np = 0;

		if (hooks && hooks->stop && *hooks->stop && !stop_sent) {
			for (int i = 0; i < s->n; i++)
				say(&ps[i], "stop\n");
			stop_sent = true;
		}
		/* The latency agent runs until the load is over. */
		if (drain_told && !stop_sent && !latency_stopped) {
			latency_stopped = true;
			for (int i = 0; i < s->n; i++)
				if (s->hosts[i].latency)
					say(&ps[i], "stop\n");
		}
		for (int i = 0; i < s->n; i++) {
			pf[np++] = (struct pollfd){ ps[i].done ? -1 : ps[i].out, POLLIN, 0 };
			pf[np++] = (struct pollfd){ ps[i].errfd, POLLIN, 0 };
		}
		if (poll(pf, (nfds_t)np, 200) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < s->n; i++) {
			char *line;
			int open;

			if (pf[2 * i + 1].revents)
				drain_err(&ps[i]);
			if (ps[i].done || !pf[2 * i].revents)
				continue;
			open = fill(&ps[i]);
			while (!ps[i].done && take_line(&ps[i], &line)) {
				if (!strcmp(line, "phase warmup")) {
					ps[i].connected = true;
					nconnected++;
				} else if (!strcmp(line, "phase measure") && !s->hosts[i].latency) {
					ps[i].measuring = true;
					nmeasuring++;
				} else if (!strcmp(line, "phase drain") && !s->hosts[i].latency) {
					ps[i].drained = true;
				} else if (!strncmp(line, "result ", 7)) {
					ps[i].result = strdup(line + 7);
					ps[i].done = true;
					ndone++;
				}
				free(line);
			}
			if (!open && !ps[i].done) {
				ps[i].done = true;
				ndone++;
				waitpid(ps[i].pid, &ps[i].status, 0);
				failed(out, i, &ps[i], s->hosts[i].host, "ended before its result");
			}
		}
		/* Every agent connected: all measure from one instant, after the
		 * warm-up, far enough ahead for the last line to arrive. */
		if (!measure_sent && nconnected == s->n) {
			double at = realtime_s() + fmax(cfg->warmup_s, 0.1 + 2 * rtt_max);

			measure_sent = true;
			for (int i = 0; i < s->n; i++)
				say(&ps[i], "measure %.9f\n", at + out->a[i].offset_s);
		}
		/* The server is sampled while every load agent measures. */
		if (!measure_told && nmeasuring == s->nload) {
			measure_told = true;
			if (hooks && hooks->on_phase)
				hooks->on_phase(LG_PHASE_MEASURE, hooks->arg);
		}
		for (int i = 0; i < s->n && measure_told && !drain_told; i++)
			if (ps[i].drained || (ps[i].done && !s->hosts[i].latency)) {
				drain_told = true;
				if (hooks && hooks->on_phase)
					hooks->on_phase(LG_PHASE_DRAIN, hooks->arg);
			}
	}
	for (int i = 0; i < s->n; i++)
		if (!ps[i].done)
			failed(out, i, &ps[i], s->hosts[i].host, "no result in time (hung)");

	/* Every result is read before any is merged: one bad one fails all. */
	for (int i = 0; i < s->n; i++) {
		char why[300];

		if (out->a[i].failure[0] || !ps[i].result)
			continue;
		save_result(s, i, ps[i].result);
		if (ar_parse(ps[i].result, strlen(ps[i].result), &rs[i], why, sizeof why) < 0)
			failed(out, i, &ps[i], s->hosts[i].host, why);
	}
	nok = 0;
	for (int i = 0; i < s->n; i++)
		nok += !out->a[i].failure[0];
	if (nok == s->n) {
		struct ar_merged m;
		char why[300];

		if (ar_merge(rs, s->n, &m, why, sizeof why) < 0) {
			snprintf(err, errlen, "agents: %s", why);
			ar_merged_free(&m);
		} else {
			*res = m.load;
			out->latency = m.latency;
			out->has_latency = m.nlatency > 0;
			if (!out->has_latency)
				lg_result_free(&out->latency);
			rc = 0;
		}
	}

finish:
	end_all(ps, s->n);
	k = strlen(err);
	for (int i = 0; i < s->n && k < errlen; i++)
		if (out->a[i].failure[0])
			k += (size_t)snprintf(err + k, errlen - k, "%s%s", k ? " | " : "",
					      out->a[i].failure);
	for (int i = 0; i < s->n; i++) {
		free(ps[i].buf);
		free(ps[i].result);
		ar_free(&rs[i]);
	}
	return rc;
}
