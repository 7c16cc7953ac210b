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

/* The failure of agent i: the reason, how it ended if it did, the tail of
 * its stderr. */
static void failed(struct agents_outcome *out, int i, struct agent_proc *p, const char *host,
		   const char *why)
{
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

		if (s->hosts[i].via[0]) {
			char via[sizeof s->hosts[i].via];

			snprintf(via, sizeof via, "%s", s->hosts[i].via);
			for (char *t = strtok_r(via, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
				add(&a, "%s", t);
			save = NULL;
		}
		agent_words(&a, s, i, cfg, bin);
		if (s->hosts[i].local) {
			if (agents__spawn(&ps[i], a.w) < 0)
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
		if (agents__spawn(&ps[i], w.w) < 0)
			failed(out, i, &ps[i], s->hosts[i].host, strerror(errno));
	}

	/* Hello, then the clock, one agent after the other: an exchange is a
	 * few round trips. */
	deadline = agents__mono_s() + AGENTS_START_TIMEOUT_S;
	for (int i = 0; i < s->n; i++) {
		const char *host = s->hosts[i].host;
		char *line, want[64];

		if (out->a[i].failure[0])
			continue;
		snprintf(want, sizeof want, "hello %s ", EVB_SCHEMA_AGENT);
		if (!(line = agents__next_line(&ps[i], deadline))) {
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
		if (clock_exchange(&ps[i], agents__mono_s() + 10.0, &out->a[i].offset_s,
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
	start = agents__realtime_s() + 0.2 + 2 * rtt_max;
	for (int i = 0; i < s->n; i++)
		if (agents__say(&ps[i], "go %.9f %.9f %.9f\n", start + out->a[i].offset_s,
			out->a[i].offset_s, out->a[i].offset_unc_s) < 0)
			failed(out, i, &ps[i], s->hosts[i].host, "the control channel closed before go");
	deadline = agents__mono_s() + (start - agents__realtime_s()) + load_bound_s(cfg);

	while (ndone < s->n && agents__mono_s() < deadline) {
		struct pollfd pf[2 * AGENTS_MAX];
		int np = 0;

		if (hooks && hooks->stop && *hooks->stop && !stop_sent) {
			for (int i = 0; i < s->n; i++)
				agents__say(&ps[i], "stop\n");
			stop_sent = true;
		}
		/* The latency agent runs until the load is over. */
		if (drain_told && !stop_sent && !latency_stopped) {
			latency_stopped = true;
			for (int i = 0; i < s->n; i++)
				if (s->hosts[i].latency)
					agents__say(&ps[i], "stop\n");
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
				agents__drain_err(&ps[i]);
			if (ps[i].done || !pf[2 * i].revents)
				continue;
			open = agents__fill(&ps[i]);
			while (!ps[i].done && agents__take_line(&ps[i], &line)) {
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
			double at = agents__realtime_s() + fmax(cfg->warmup_s, 0.1 + 2 * rtt_max);

			measure_sent = true;
			for (int i = 0; i < s->n; i++)
				agents__say(&ps[i], "measure %.9f\n", at + out->a[i].offset_s);
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
	agents__end_all(ps, s->n);
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
