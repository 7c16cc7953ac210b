/*
 * agents.c - the coordinator of agents over ssh; see agents.h, and agent.h
 * for the conversation.
 *
 * One process (ssh, or the agent itself for `local`) per agent, with three
 * pipes (agents_proc.c); this thread talks to them one at a time before the
 * start (hello, the clock exchange, go) and with poll() over all of them
 * afterwards. The options are parsed in agents_opts.c.
 */
#include "agents.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agents_int.h"
#include "procfs.h"
#include "schema.h"

/* ---- the agent's command line ---------------------------------------------------------- */

struct words {
	char *w[96];
	int   n;
	char  store[8192];
	size_t used;
};

static void vadd(struct words *a, const char *fmt, va_list ap)
{
	int k;

	if (a->n >= (int)(sizeof a->w / sizeof *a->w) - 1 || a->used >= sizeof a->store)
		return;
	k = vsnprintf(a->store + a->used, sizeof a->store - a->used, fmt, ap);
	if (k < 0 || a->used + (size_t)k + 1 > sizeof a->store)
		return;
	a->w[a->n++] = a->store + a->used;
	a->used += (size_t)k + 1;
	a->w[a->n] = NULL;
}

/* One word, formatted. */
static void add(struct words *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct words *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(a, fmt, ap);
	va_end(ap);
}

/* An option and its value, formatted: two words. */
static void opt(struct words *a, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void opt(struct words *a, const char *name, const char *fmt, ...)
{
	va_list ap;

	add(a, "%s", name);
	va_start(ap, fmt);
	vadd(a, fmt, ap);
	va_end(ap);
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
	opt(a, "--name", "%s", h->host);
	opt(a, "--host", "%s", cfg->host);
	opt(a, "--port", "%d", cfg->port);
	if (h->latency) {
		opt(a, "--role", "%s", ar_role_name(AR_ROLE_LATENCY));
		opt(a, "--conns", "%ld", s->latency_conns);
		opt(a, "--rate", "%.17g", s->latency_rate);
	} else {
		opt(a, "--share", "%d/%d", i, s->nload);
		opt(a, "--conns", "%ld", cfg->conns);
		if (cfg->rate > 0)
			opt(a, "--rate", "%.17g", cfg->rate);
		if (cfg->connect_rate > 0)
			opt(a, "--connect-rate", "%.17g", cfg->connect_rate);
		if (cfg->requests_per_conn)
			opt(a, "--requests-per-conn", "%llu", (unsigned long long)cfg->requests_per_conn);
		opt(a, "--pipeline", "%d", cfg->pipeline);
	}
	/* Every agent measures for the same time; with --requests the load
	 * agents share the count and the latency agent measures until the
	 * load is over (it is stopped then). */
	if (cfg->requests && !h->latency)
		opt(a, "--requests", "%llu", (unsigned long long)cfg->requests);
	else
		opt(a, "--duration", "%.17g", cfg->requests ? 1e6 : cfg->duration_s);
	opt(a, "--warmup", "%.17g", cfg->warmup_s);
	opt(a, "--size", "%ld", cfg->size);
	opt(a, "--timeout", "%.17g", cfg->timeout_s);
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

/* ---- one run of the agents --------------------------------------------------------------- */

/* What agents_run() carries from one step to the next: its arguments, each
 * agent's process and parsed result, the worst round trip of the clock
 * exchanges (it sets how far ahead "go" and "measure" are sent), and how far
 * the load has come: the counts of agents in each phase and which lines have
 * been sent and which phases told to the caller, each exactly once. */
struct run {
	const struct agents_spec *s;
	const struct lg_config   *cfg;
	const struct lg_hooks    *hooks;
	struct agents_outcome    *out;
	struct agent_proc ps[AGENTS_MAX];
	struct ar_result  rs[AGENTS_MAX];
	char   bin[PATH_MAX];          /* evbench on the agents' hosts */
	double rtt_max;                /* the longest clock-exchange round trip, s */
	int    nconnected, nmeasuring, ndone;
	bool   measure_sent, measure_told, drain_told, stop_sent, latency_stopped;
};

/* The failure of agent i: the reason, how it ended if it did, the tail of
 * its stderr. */
static void failed(struct run *r, int i, const char *why)
{
	struct agent_proc *p = &r->ps[i];
	char how[64] = "";

	agents__drain_err(p);
	if (p->status < 0 && p->pid > 0 && waitpid(p->pid, &p->status, WNOHANG) != p->pid)
		p->status = -1;
	if (p->status >= 0 && WIFEXITED(p->status))
		snprintf(how, sizeof how, " (exit status %d)", WEXITSTATUS(p->status));
	else if (p->status >= 0 && WIFSIGNALED(p->status))
		snprintf(how, sizeof how, " (killed by signal %d)", WTERMSIG(p->status));
	for (size_t k = 0; k < p->errlen; k++)
		if (p->errtail[k] == '\n' || p->errtail[k] == '\r')
			p->errtail[k] = k + 1 == p->errlen ? '\0' : ' ';
	snprintf(r->out->a[i].failure, sizeof r->out->a[i].failure, "agent %s: %s%s; stderr: %s",
		 r->s->hosts[i].host, why, how, p->errlen ? p->errtail : "(empty)");
}

/* How many agents have not failed so far: the run goes on only with all. */
static int count_ok(const struct run *r)
{
	int nok = 0;

	for (int i = 0; i < r->s->n; i++)
		nok += !r->out->a[i].failure[0];
	return nok;
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
		long long t1 = llround(agents__realtime_s() * 1e9), e1, t2, t3, t4;
		char *line;

		if (agents__say(p, "t %lld\n", t1) < 0 || !(line = agents__next_line(p, deadline)))
			return -1;
		t4 = llround(agents__realtime_s() * 1e9);
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

/* Everything empty, every pipe closed, no offset measured yet; the agent's
 * binary is --agent-bin, else this evbench's own path. */
static void run_init(struct run *r, const struct agents_spec *s, const struct lg_config *cfg,
		     struct agents_outcome *out, const struct lg_hooks *hooks)
{
	memset(r, 0, sizeof *r);
	memset(out, 0, sizeof *out);
	r->s = s;
	r->cfg = cfg;
	r->hooks = hooks;
	r->out = out;
	out->n = s->n;
	for (int i = 0; i < s->n; i++) {
		r->ps[i].in = r->ps[i].out = r->ps[i].errfd = -1;
		r->ps[i].status = -1;
		out->a[i].offset_s = out->a[i].offset_unc_s = NAN;
	}
	if (s->agent_bin[0])
		snprintf(r->bin, sizeof r->bin, "%s", s->agent_bin);
	else if (proc_self_exe(r->bin, sizeof r->bin) < 0)
		snprintf(r->bin, sizeof r->bin, "evbench");
}

/* Starts agent i without waiting for it: its command line behind the words
 * of its `via:` command, run as it is for `local` and `via:`, else as one
 * remote command of `ssh -T -o BatchMode=yes OPTS -- HOST`. */
static void start_agent(struct run *r, int i)
{
	const struct agents_host *h = &r->s->hosts[i];
	struct words a = { .n = 0 }, w = { .n = 0 };
	char remote[8192], opts[sizeof r->s->ssh_opts], *save = NULL;

	if (h->via[0]) {
		char via[sizeof h->via];

		snprintf(via, sizeof via, "%s", h->via);
		for (char *t = strtok_r(via, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
			add(&a, "%s", t);
		save = NULL;
	}
	agent_words(&a, r->s, i, r->cfg, r->bin);
	if (h->local) {
		if (agents__spawn(&r->ps[i], a.w) < 0)
			failed(r, i, strerror(errno));
		return;
	}
	shell_join(remote, sizeof remote, a.w);
	add(&w, "ssh");
	add(&w, "-T");
	add(&w, "-o");
	add(&w, "BatchMode=yes");
	snprintf(opts, sizeof opts, "%s", r->s->ssh_opts);
	for (char *t = strtok_r(opts, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
		add(&w, "%s", t);
	add(&w, "--");
	add(&w, "%s", h->host);
	add(&w, "%s", remote);
	if (agents__spawn(&r->ps[i], w.w) < 0)
		failed(r, i, strerror(errno));
}

/* Agent i's hello (by the monotonic deadline, which all agents share), then
 * its clock: measured, and refused when further off than --max-clock-offset.
 * A failure is recorded in r->out; the other agents go on being greeted. */
static void greet_agent(struct run *r, int i, double deadline)
{
	struct agent_proc *p = &r->ps[i];
	double *offset = &r->out->a[i].offset_s, *unc = &r->out->a[i].offset_unc_s;
	char *line, want[64], why[200];

	if (r->out->a[i].failure[0])
		return;
	snprintf(want, sizeof want, "hello %s ", EVB_SCHEMA_AGENT);
	if (!(line = agents__next_line(p, deadline))) {
		failed(r, i, p->out < 0 ? "ended before its hello" : "no hello in time");
		return;
	}
	if (strncmp(line, want, strlen(want)) != 0) {
		snprintf(why, sizeof why, "did not say hello %s: '%.80s'", EVB_SCHEMA_AGENT, line);
		failed(r, i, why);
		free(line);
		return;
	}
	free(line);
	if (clock_exchange(p, agents__mono_s() + 10.0, offset, unc, &r->rtt_max) < 0) {
		failed(r, i, "the clock exchange failed");
		return;
	}
	if (fabs(*offset) > r->s->max_offset_s) {
		snprintf(why, sizeof why, "its clock is %+.6f s (+- %.6f) off this host's, more "
			 "than --max-clock-offset %g s", *offset, *unc, r->s->max_offset_s);
		failed(r, i, why);
	}
}

/* One start for all, far enough ahead for the last "go" to arrive, sent in
 * each agent's own clock. Returns the monotonic instant by which every
 * agent must have sent its result. */
static double send_go(struct run *r)
{
	double start = agents__realtime_s() + 0.2 + 2 * r->rtt_max;

	for (int i = 0; i < r->s->n; i++)
		if (agents__say(&r->ps[i], "go %.9f %.9f %.9f\n", start + r->out->a[i].offset_s,
				r->out->a[i].offset_s, r->out->a[i].offset_unc_s) < 0)
			failed(r, i, "the control channel closed before go");
	return agents__mono_s() + (start - agents__realtime_s()) + load_bound_s(r->cfg);
}

/* "stop" to every agent once the caller asks for it (hooks->stop); else,
 * once the load drains, to the latency agents alone: they run until the
 * load is over. */
static void send_stops(struct run *r)
{
	const struct lg_hooks *hooks = r->hooks;

	if (hooks && hooks->stop && *hooks->stop && !r->stop_sent) {
		for (int i = 0; i < r->s->n; i++)
			agents__say(&r->ps[i], "stop\n");
		r->stop_sent = true;
	}
	if (r->drain_told && !r->stop_sent && !r->latency_stopped) {
		r->latency_stopped = true;
		for (int i = 0; i < r->s->n; i++)
			if (r->s->hosts[i].latency)
				agents__say(&r->ps[i], "stop\n");
	}
}

/* Takes the lines agent i has sent: its phases (a latency agent's measure
 * and drain do not count: it runs on past the load) and its result, which
 * ends it. Its stdout ending before the result fails it. */
static void read_agent(struct run *r, int i)
{
	struct agent_proc *p = &r->ps[i];
	bool latency = r->s->hosts[i].latency;
	char *line;
	int open = agents__fill(p);

	while (!p->done && agents__take_line(p, &line)) {
		if (!strcmp(line, "phase warmup")) {
			p->connected = true;
			r->nconnected++;
		} else if (!strcmp(line, "phase measure") && !latency) {
			p->measuring = true;
			r->nmeasuring++;
		} else if (!strcmp(line, "phase drain") && !latency) {
			p->drained = true;
		} else if (!strncmp(line, "result ", 7)) {
			p->result = strdup(line + 7);
			p->done = true;
			r->ndone++;
		}
		free(line);
	}
	if (!open && !p->done) {
		p->done = true;
		r->ndone++;
		waitpid(p->pid, &p->status, 0);
		failed(r, i, "ended before its result");
	}
}

/* Waits up to 200 ms for any agent's stdout or stderr and reads what came.
 * Returns 0, or -1 when poll() itself fails. */
static int poll_agents(struct run *r)
{
	struct pollfd pf[2 * AGENTS_MAX];
	int np = 0;

	for (int i = 0; i < r->s->n; i++) {
		pf[np++] = (struct pollfd){ r->ps[i].done ? -1 : r->ps[i].out, POLLIN, 0 };
		pf[np++] = (struct pollfd){ r->ps[i].errfd, POLLIN, 0 };
	}
	if (poll(pf, (nfds_t)np, 200) < 0 && errno != EINTR)
		return -1;
	for (int i = 0; i < r->s->n; i++) {
		if (pf[2 * i + 1].revents)
			agents__drain_err(&r->ps[i]);
		if (!r->ps[i].done && pf[2 * i].revents)
			read_agent(r, i);
	}
	return 0;
}

/* What the phases the agents reported so far call for, each once: the
 * common "measure" instant when all have connected, the caller's MEASURE
 * when every load agent measures, its DRAIN when the first load agent
 * stops. */
static void advance_phases(struct run *r)
{
	const struct lg_hooks *hooks = r->hooks;

	/* Every agent connected: all measure from one instant, after the
	 * warm-up, far enough ahead for the last line to arrive. */
	if (!r->measure_sent && r->nconnected == r->s->n) {
		double at = agents__realtime_s() + fmax(r->cfg->warmup_s, 0.1 + 2 * r->rtt_max);

		r->measure_sent = true;
		for (int i = 0; i < r->s->n; i++)
			agents__say(&r->ps[i], "measure %.9f\n", at + r->out->a[i].offset_s);
	}
	/* The server is sampled while every load agent measures. */
	if (!r->measure_told && r->nmeasuring == r->s->nload) {
		r->measure_told = true;
		if (hooks && hooks->on_phase)
			hooks->on_phase(LG_PHASE_MEASURE, hooks->arg);
	}
	for (int i = 0; i < r->s->n && r->measure_told && !r->drain_told; i++)
		if (r->ps[i].drained || (r->ps[i].done && !r->s->hosts[i].latency)) {
			r->drain_told = true;
			if (hooks && hooks->on_phase)
				hooks->on_phase(LG_PHASE_DRAIN, hooks->arg);
		}
}

/* The load, from "go" until every agent has ended or the monotonic deadline
 * has passed; an agent without its result by then has hung. */
static void run_load(struct run *r, double deadline)
{
	while (r->ndone < r->s->n && agents__mono_s() < deadline) {
		send_stops(r);
		if (poll_agents(r) < 0)
			break;
		advance_phases(r);
	}
	for (int i = 0; i < r->s->n; i++)
		if (!r->ps[i].done)
			failed(r, i, "no result in time (hung)");
}

/* Every result is saved and read before any is merged: one bad one fails
 * all. Returns 0 with the load agents' merge in *res and the latency
 * agents' in r->out, or -1 (the merge's reason in err, the agents' own in
 * r->out). */
static int collect(struct run *r, struct lg_result *res, char *err, size_t errlen)
{
	struct ar_merged m;
	char why[300];

	for (int i = 0; i < r->s->n; i++) {
		struct agent_proc *p = &r->ps[i];

		if (r->out->a[i].failure[0] || !p->result)
			continue;
		save_result(r->s, i, p->result);
		if (ar_parse(p->result, strlen(p->result), &r->rs[i], why, sizeof why) < 0)
			failed(r, i, why);
	}
	if (count_ok(r) < r->s->n)
		return -1;
	if (ar_merge(r->rs, r->s->n, &m, why, sizeof why) < 0) {
		snprintf(err, errlen, "agents: %s", why);
		ar_merged_free(&m);
		return -1;
	}
	*res = m.load;
	r->out->latency = m.latency;
	r->out->has_latency = m.nlatency > 0;
	if (!r->out->has_latency)
		lg_result_free(&r->out->latency);
	return 0;
}

/* Ends every agent (agents__end_all), appends each agent's failure to err,
 * and frees what the run held. */
static void run_finish(struct run *r, char *err, size_t errlen)
{
	size_t k;

	agents__end_all(r->ps, r->s->n);
	k = strlen(err);
	for (int i = 0; i < r->s->n && k < errlen; i++)
		if (r->out->a[i].failure[0])
			k += (size_t)snprintf(err + k, errlen - k, "%s%s", k ? " | " : "",
					      r->out->a[i].failure);
	for (int i = 0; i < r->s->n; i++) {
		free(r->ps[i].buf);
		free(r->ps[i].result);
		ar_free(&r->rs[i]);
	}
}

/* The steps in their order: start every agent at once (ssh's handshakes
 * overlap), greet them one after the other (an exchange is a few round
 * trips), and only when all are well, go, run the load and merge. */
int agents_run(const struct agents_spec *s, const struct lg_config *cfg, struct lg_result *res,
	       struct agents_outcome *out, const struct lg_hooks *hooks, char *err, size_t errlen)
{
	struct run r;
	double deadline;
	int rc = -1;

	memset(res, 0, sizeof *res);
	err[0] = '\0';
	run_init(&r, s, cfg, out, hooks);
	for (int i = 0; i < s->n; i++)
		start_agent(&r, i);
	deadline = agents__mono_s() + AGENTS_START_TIMEOUT_S;
	for (int i = 0; i < s->n; i++)
		greet_agent(&r, i, deadline);
	if (count_ok(&r) == s->n) {
		run_load(&r, send_go(&r));
		rc = collect(&r, res, err, errlen);
	}
	run_finish(&r, err, errlen);
	return rc;
}
