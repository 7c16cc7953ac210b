/*
 * agent.c - `evbench agent`: the agent's side of docs/many-hosts.md; the
 * control conversation is described in agent.h.
 *
 * The agent is evbench itself rather than a mode of bin/loadgen, so that one
 * binary carries both ends of the conversation and the result's reader and
 * writer (agentres.c): an agent and a coordinator of the same build cannot
 * disagree about either. It links the same load generator as a local run.
 */
#include "agent.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentres.h"
#include "cli.h"
#include "loadgen.h"
#include "schema.h"

static volatile sig_atomic_t stop_flag;
static double clock_skew_s;          /* EVBENCH_TEST_CLOCK_SKEW_S, tests only */
static double measure_at;            /* lg_hooks.measure_at_s: real clock, 0 = not yet */

/* This host's CLOCK_REALTIME in seconds, as the (possibly simulated) wrong
 * clock of the test mode reads it. */
static double agent_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + clock_skew_s;
}

static long long now_ns(void)
{
	return llround(agent_now() * 1e9);
}

static void on_signal(int sig)
{
	stop_flag = 1;
	signal(sig, SIG_DFL);
}

/* One agent's run, from its command line to its result: what on_phase()
 * stamps and what each step of agent_main() hands to the next. */
struct agent_run {
	struct agent_opts o;         /* the command line */
	struct ar_result  ar;
	struct lg_config  cfg;       /* this agent's share of the whole load, checked */
	double            start;     /* the start instant in the agent's clock, 0 = now:
	                                --start-at, or the coordinator's "go" */
};

static void on_phase(enum lg_phase phase, void *arg)
{
	struct agent_run *a = arg;

	if (phase == LG_PHASE_MEASURE)
		a->ar.start_s = agent_now();
	else if (phase == LG_PHASE_DRAIN)
		a->ar.end_s = agent_now();
	else if (phase != LG_PHASE_WARMUP)
		return;
	if (a->o.control) {
		printf("phase %s\n", lg_phase_name(phase));
		fflush(stdout);
	}
}

/* Reads the coordinator's lines while the load runs: "stop" ends the measure
 * phase; the end of stdin means nobody will read the result, so the agent
 * ends at once (its connections close with the process). */
static void *watch_stdin(void *arg)
{
	char line[256];

	(void)arg;
	while (fgets(line, sizeof line, stdin)) {
		double at;

		if (!strncmp(line, "stop", 4)) {
			stop_flag = 1;
		} else if (sscanf(line, "measure %lf", &at) == 1 && at > 0) {
			at -= clock_skew_s;
			__atomic_store(&measure_at, &at, __ATOMIC_RELEASE);
		}
	}
	fprintf(stderr, "evbench agent: the coordinator closed the control channel; exiting\n");
	_exit(3);
	return NULL;
}

/* The conversation up to "go": answers the clock exchange, then returns the
 * start instant (agent clock) with the offset and its uncertainty stored in
 * *ar. Returns 0, 3 at the end of stdin, 1 on a line it does not know. */
static int converse(struct ar_result *ar, double *start)
{
	char line[256];

	printf("hello %s %s %ld\n", EVB_SCHEMA_AGENT, EVBENCH_VERSION, (long)getpid());
	fflush(stdout);
	while (fgets(line, sizeof line, stdin)) {
		long long t1, t2 = now_ns();
		double s, off, unc;

		if (sscanf(line, "t %lld", &t1) == 1) {
			printf("t %lld %lld %lld\n", t1, t2, now_ns());
			fflush(stdout);
		} else if (sscanf(line, "go %lf %lf %lf", &s, &off, &unc) == 3) {
			*start = s;
			ar->offset_s = off;
			ar->offset_unc_s = unc;
			return 0;
		} else {
			fprintf(stderr, "evbench agent: unexpected line from the coordinator: %.60s", line);
			return 1;
		}
	}
	fprintf(stderr, "evbench agent: the coordinator closed the control channel before go\n");
	return 3;
}

/* Sleeps until `start` in the agent's clock (the skew of the test mode
 * undone: the kernel sleeps on the real clock). */
static void sleep_until(double start)
{
	double real = start - clock_skew_s;
	struct timespec ts = { .tv_sec = (time_t)real,
			       .tv_nsec = (long)((real - floor(real)) * 1e9) };

	while (!stop_flag && clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* This agent's share of the whole load (ar_share: the one rule every agent
 * and the merge follow), checked, and what its result says about itself.
 * The test mode's clock skew is set here, once the share's index is known.
 * Bad input exits 2 (cli_die_usage), as on the command line. */
static void take_share(struct agent_run *a)
{
	const char *skew = getenv("EVBENCH_TEST_CLOCK_SKEW_S");
	const struct lg_config *whole = &a->o.whole;
	struct lg_config *cfg = &a->cfg;
	double rate_i;
	uint64_t req_i;
	long conns_i;
	char err[512];

	a->ar.index = a->o.index;
	a->ar.shares = a->o.shares;
	a->ar.role = a->o.role;
	/* Test mode: "X" skews every agent, "X@I" only share I's. */
	if (skew) {
		const char *at = strchr(skew, '@');

		if (!at || atoi(at + 1) == a->ar.index)
			clock_skew_s = atof(skew);
	}
	if (a->ar.shares > 1 && whole->active >= 0)
		cli_die_usage("agent: --active is not split among agents; give it to a single agent");
	if (ar_share(whole->conns, whole->rate, whole->requests, a->ar.index, a->ar.shares,
		     &conns_i, &rate_i, &req_i) < 0)
		cli_die_usage("agent: --share: this share would get no connection or no request");
	*cfg = *whole;
	cfg->conns = conns_i;
	cfg->rate = rate_i;
	cfg->requests = req_i;
	cfg->connect_rate = whole->connect_rate * (double)conns_i / (double)whole->conns;
	if (lg_config_make(cfg, cfg, err, sizeof err) < 0)
		cli_die_usage("agent: %s", err);
	if (a->o.name && a->o.name[0])
		snprintf(a->ar.name, sizeof a->ar.name, "%s", a->o.name);
	else if (gethostname(a->ar.name, sizeof a->ar.name - 1) < 0)
		snprintf(a->ar.name, sizeof a->ar.name, "index-%d", a->ar.index);
	a->ar.conns = cfg->conns;
	a->ar.rate = cfg->rate;
	a->ar.cfg = *cfg;
	snprintf(a->ar.target, sizeof a->ar.target, "%s:%d", cfg->host, cfg->port);
}

/* The process made ready for the load: its descriptor limit raised, the
 * host's limits checked (a warning only: the load may still fit), SIGINT and
 * SIGTERM ending the measure phase, and a closed peer an error rather than
 * a signal. */
static void prepare_process(const struct agent_run *a)
{
	struct sigaction sa = { .sa_handler = on_signal };
	char err[512];

	lg_raise_nofile();
	if (lg_preflight(&a->cfg, err, sizeof err))
		fprintf(stderr, "evbench agent: warning: %s\n", err);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Under a coordinator, the conversation up to "go" and then the thread that
 * keeps reading it; then the sleep until the start, when there is one.
 * Returns 0, or the exit status of a conversation that failed. */
static int await_start(struct agent_run *a)
{
	int rc;

	if (a->o.control) {
		pthread_t th;

		if ((rc = converse(&a->ar, &a->start)) != 0)
			return rc;
		if (pthread_create(&th, NULL, watch_stdin, NULL) != 0) {
			fprintf(stderr, "evbench agent: cannot start a thread\n");
			return 1;
		}
		pthread_detach(th);
	}
	if (a->start > 0)
		sleep_until(a->start);
	return 0;
}

/* Runs the share into a->ar.res. Returns 0, or 1 when the load generator
 * could not run (said on stderr). */
static int run_share(struct agent_run *a)
{
	struct lg_hooks hooks = { .on_phase = on_phase, .arg = a, .stop = &stop_flag };
	int rc;

	/* Agents measure from one instant (in the real clock: the test mode's
	 * skew taken out). A coordinator names it once every agent has
	 * connected ("measure"); agents without one, started together, allow
	 * themselves a time to connect. */
	if (a->o.control) {
		hooks.measure_at_s = &measure_at;
	} else if (a->start > 0) {
		measure_at = a->start - clock_skew_s + ar_connect_allowance_s(a->cfg.conns) +
			     a->cfg.warmup_s;
		hooks.measure_at_s = &measure_at;
	}
	rc = lg_run(&a->cfg, &a->ar.res, &hooks);
	if (rc < 0) {
		fprintf(stderr, "evbench agent: the load generator could not run: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}

/* Writes the result to --out or stdout, behind "result " for a coordinator,
 * and frees it. Returns the exit status: 0, or 1 when it could not be
 * written. */
static int write_result(struct agent_run *a)
{
	FILE *f = stdout;
	int rc;

	if (a->o.out && !(f = fopen(a->o.out, "we"))) {
		fprintf(stderr, "evbench agent: %s: %s\n", a->o.out, strerror(errno));
		ar_free(&a->ar);
		return 1;
	}
	if (a->o.control)
		fputs("result ", f);
	rc = ar_write(f, &a->ar);
	if (f != stdout && fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		fprintf(stderr, "evbench agent: cannot write the result: %s\n", strerror(errno));
	ar_free(&a->ar);
	return rc < 0 ? 1 : 0;
}

int agent_main(int argc, char **argv)
{
	struct agent_run a = { .ar = { .offset_s = NAN, .offset_unc_s = NAN } };
	int rc;

	cli_parse_agent(&a.o, argc, argv);
	a.start = a.o.start;
	take_share(&a);
	prepare_process(&a);
	if ((rc = await_start(&a)) != 0)
		return rc;
	if ((rc = run_share(&a)) != 0)
		return rc;
	return write_result(&a);
}
