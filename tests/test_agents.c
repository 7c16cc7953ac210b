/*
 * test_agents.c - agents' results merged exactly (bench/agents/agentres.c), `evbench
 * agent` and `evbench merge` end to end on loopback, and the coordinator's
 * faults (docs/many-hosts.md).
 *
 * The exactness oracle is independent of the merge: the same samples recorded
 * whole by hist_record() into one histogram. The merge must give it back
 * bucket for bucket after each share went through the agent's file format.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agentres.h"
#include "jsonr.h"
#include "testutil.h"

/* A deterministic generator (xorshift64*), so that a failure reproduces. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* A latency in ns from a skewed mixture: most around 50 us, a tail of slow
 * replies from 1 ms to 80 ms. */
static uint64_t sample(void)
{
	if (rng() % 100 < 93)
		return 20000 + rng() % 60000;
	return 1000000 + rng() % 79000000;
}

static void empty_result(struct ar_result *r, const char *name, int index, int shares)
{
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	r->index = index;
	r->shares = shares;
	r->offset_s = NAN;
	r->offset_unc_s = NAN;
	lg_config_default(&r->cfg);
	r->cfg.port = 1;
	cr_assert(hist_init(&r->res.latency) == 0 && hist_init(&r->res.latency_uncorrected) == 0 &&
		  hist_init(&r->res.connect_latency) == 0 && hist_init(&r->res.send_lag) == 0);
}

/* Writes r in the agent's format and reads it back into *back, as `evbench
 * merge` would from an agent's file. */
static void round_trip(const struct ar_result *r, struct ar_result *back)
{
	char *text = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert(f);
	cr_assert(ar_write(f, r) == 0);
	cr_assert(fclose(f) == 0);
	cr_assert(ar_parse(text, len, back, err, sizeof err) == 0, "%s", err);
	free(text);
}

/* Every counter the agent's file carries comes back from it as it went: each
 * is given a value of its own, so a field written under another's key, or
 * not read back, shows. (The file is how an agent's whole result reaches
 * the coordinator; docs/many-hosts.md.) */
Test(agents_merge, every_counter_survives_the_file)
{
#define U64(f) { #f, offsetof(struct lg_result, f), 'u' }
#define LONG(f) { #f, offsetof(struct lg_result, f), 'l' }
#define DBL(f) { #f, offsetof(struct lg_result, f), 'd' }
	static const struct { const char *name; size_t off; char type; } field[] = {
		DBL(wall_s), DBL(client_cpu_s), DBL(client_user_s), DBL(client_sys_s),
		U64(requests), U64(replies), U64(bytes_sent), U64(bytes_received),
		LONG(conns_target), LONG(conns_up_at_measure), LONG(conns_peak),
		U64(connects), U64(connect_failures), U64(closes), U64(requests_all),
		U64(replies_all), U64(errors_total), U64(verify_mismatch), U64(closed_unserved),
		U64(fd_emfile), U64(fd_enfile), U64(fd_eaddrnotavail), DBL(measure_target_s),
	};
#undef U64
#undef LONG
#undef DBL
	struct ar_result r, back;
	const size_t n = sizeof field / sizeof *field;

	empty_result(&r, "a", 0, 1);
	for (size_t i = 0; i < n; i++) {
		char *p = (char *)&r.res + field[i].off;

		if (field[i].type == 'u')
			*(uint64_t *)p = 1000 + i;
		else if (field[i].type == 'l')
			*(long *)p = 1000 + (long)i;
		else
			*(double *)p = 1000.25 + (double)i;
	}
	r.res.open_loop = true;
	r.res.stopped = true;
	round_trip(&r, &back);
	for (size_t i = 0; i < n; i++) {
		const char *a = (const char *)&r.res + field[i].off, *b = (const char *)&back.res + field[i].off;
		bool same = field[i].type == 'u' ? *(const uint64_t *)a == *(const uint64_t *)b
			  : field[i].type == 'l' ? *(const long *)a == *(const long *)b
			  : *(const double *)a == *(const double *)b;

		cr_expect(same, "%s did not come back as it went", field[i].name);
	}
	cr_assert(back.res.open_loop && back.res.stopped);
	ar_free(&r);
	ar_free(&back);
}

#define NSAMPLES 200000

/* The whole against three agents that saw very different parts of it: agent
 * 0 nine tenths of the fast replies, agent 1 the rest, agent 2 every slow
 * one (a host behind a slower path). */
Test(agents_merge, split_over_three_is_the_whole_bucket_for_bucket)
{
	struct ar_result parts[3], back[3];
	struct ar_merged m;
	struct hist whole;
	char err[256];

	cr_assert(hist_init(&whole) == 0);
	for (int a = 0; a < 3; a++)
		empty_result(&parts[a], "a", a, 3);
	for (int i = 0; i < NSAMPLES; i++) {
		uint64_t v = sample();
		int a = v >= 1000000 ? 2 : rng() % 10 < 9 ? 0 : 1;

		hist_record(&whole, v);
		hist_record(&parts[a].res.latency, v);
		parts[a].res.replies++;
	}
	for (int a = 0; a < 3; a++) {
		parts[a].start_s = 1000.0 + a * 0.001;
		parts[a].end_s = 1010.0;
		round_trip(&parts[a], &back[a]);
	}
	cr_assert(ar_merge(back, 3, &m, err, sizeof err) == 0, "%s", err);
	cr_assert(memcmp(m.load.latency.counts, whole.counts, HIST_NCOUNTS * sizeof *whole.counts) == 0,
		  "the merged buckets differ from the whole's");
	cr_assert_eq(m.load.latency.total, whole.total);
	cr_assert_eq(hist_min(&m.load.latency), hist_min(&whole));
	cr_assert_eq(hist_max(&m.load.latency), hist_max(&whole));
	cr_assert(m.load.latency.sum == whole.sum, "the exact sums differ");
	cr_assert_eq(m.load.replies, (uint64_t)NSAMPLES);
	static const double ps[] = { 1, 10, 50, 75, 90, 93, 95, 99, 99.9, 99.99, 99.999 };
	for (size_t i = 0; i < sizeof ps / sizeof *ps; i++)
		cr_assert_eq(hist_value_at_percentile(&m.load.latency, ps[i]),
			     hist_value_at_percentile(&whole, ps[i]), "p%g differs", ps[i]);
	cr_assert(fabs(m.load.wall_s - 9.998) < 1e-6, "window %.9f", m.load.wall_s);

	/* What a tool that averages the agents' percentiles reports: far from
	 * the whole's on this split, so a merge that did it would fail above. */
	for (int k = 0; k < 2; k++) {
		double p = k ? 99.0 : 50.0, avg = 0;
		double truth = (double)hist_value_at_percentile(&whole, p);

		for (int a = 0; a < 3; a++)
			avg += (double)hist_value_at_percentile(&back[a].res.latency, p) / 3;
		cr_assert(fabs(avg - truth) > 0.2 * truth,
			  "averaged p%g %.0f ns is close to the whole's %.0f ns: the split is not skewed",
			  p, avg, truth);
	}
	ar_merged_free(&m);
	for (int a = 0; a < 3; a++) {
		ar_free(&parts[a]);
		ar_free(&back[a]);
	}
	hist_free(&whole);
}

/* Every counter goes through the file and adds up. */
Test(agents_merge, counters_and_cpu_sum)
{
	struct ar_result parts[2], back[2];
	struct ar_merged m;
	char err[256];

	for (int a = 0; a < 2; a++) {
		empty_result(&parts[a], "a", a, 2);
		parts[a].res.requests = 1000 + a;
		parts[a].res.replies = 990 + a;
		parts[a].res.bytes_sent = 64000 + a;
		parts[a].res.connects = 10 + a;
		parts[a].res.client_cpu_s = 0.25 * (a + 1);
		parts[a].res.errors[LG_PHASE_MEASURE][LG_CAUSE_TIMEOUT] = 3 + a;
		parts[a].res.errors[LG_PHASE_CONNECT][111] = 5;
		parts[a].res.fd_emfile = 7;
		parts[a].res.wall_s = 2.0;
		parts[a].start_s = 50;
		parts[a].end_s = 52;
		round_trip(&parts[a], &back[a]);
	}
	cr_assert(ar_merge(back, 2, &m, err, sizeof err) == 0, "%s", err);
	cr_assert_eq(m.load.requests, 2001);
	cr_assert_eq(m.load.replies, 1981);
	cr_assert_eq(m.load.bytes_sent, 128001);
	cr_assert_eq(m.load.connects, 21);
	cr_assert_eq(m.load.errors[LG_PHASE_MEASURE][LG_CAUSE_TIMEOUT], 7);
	cr_assert_eq(m.load.errors[LG_PHASE_CONNECT][111], 10);
	cr_assert_eq(m.load.fd_emfile, 14);
	cr_assert(fabs(m.load.client_cpu_s - 0.75) < 1e-9);
	/* Each agent's rate over its own phase, summed. */
	cr_assert(fabs(m.load.throughput_rps - (990 + 991) / 2.0) < 1e-6);
	ar_merged_free(&m);
	for (int a = 0; a < 2; a++) {
		ar_free(&parts[a]);
		ar_free(&back[a]);
	}
}

/* The window: offsets known, the phases are compared in the coordinator's
 * clock; phases that do not overlap are refused, not summed. */
Test(agents_merge, window_is_the_intersection_in_the_coordinators_clock)
{
	struct ar_result r[2];
	struct ar_merged m;
	char err[256];

	empty_result(&r[0], "a", 0, 2);
	empty_result(&r[1], "b", 1, 2);
	r[0].start_s = 100.0, r[0].end_s = 110.0, r[0].offset_s = 0, r[0].offset_unc_s = 0.001;
	/* b's clock is 1 s ahead: 101..111 in its clock is 100..110 in ours. */
	r[1].start_s = 101.5, r[1].end_s = 111.0, r[1].offset_s = 1.0, r[1].offset_unc_s = 0.002;
	cr_assert(ar_merge(r, 2, &m, err, sizeof err) == 0, "%s", err);
	cr_assert(m.clock_corrected);
	cr_assert(fabs(m.load.wall_s - 9.5) < 1e-9, "window %.9f", m.load.wall_s);
	cr_assert(fabs(m.max_offset_unc_s - 0.002) < 1e-12);
	ar_merged_free(&m);

	r[1].offset_s = 12.0;   /* b measured 89.5..99 in our clock: no overlap */
	cr_assert(ar_merge(r, 2, &m, err, sizeof err) == -1);
	cr_assert(strstr(err, "do not overlap"), "%s", err);
	ar_merged_free(&m);

	r[1].offset_s = NAN;    /* unknown: taken as it is, and said so */
	cr_assert(ar_merge(r, 2, &m, err, sizeof err) == 0, "%s", err);
	cr_assert(!m.clock_corrected);
	cr_assert(fabs(m.load.wall_s - 8.5) < 1e-9, "window %.9f", m.load.wall_s);
	ar_merged_free(&m);
	ar_free(&r[0]);
	ar_free(&r[1]);
}

/* A file whose buckets do not add up to its total (cut, or edited) is
 * refused, as is another schema. */
Test(agents_merge, refuses_a_tampered_file)
{
	struct ar_result r, back;
	char *text = NULL, err[256], *p;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	empty_result(&r, "a", 0, 1);
	for (int i = 0; i < 100; i++)
		hist_record(&r.res.latency, 50000);
	cr_assert(ar_write(f, &r) == 0 && fclose(f) == 0);
	p = strstr(text, "\"buckets\":[[");
	cr_assert(p);
	p = strchr(p + 12, ',');            /* the count of the first bucket: 100 */
	cr_assert(p && !strncmp(p, ",100]", 5));
	p[1] = '9';                          /* 900 */
	cr_assert(ar_parse(text, len, &back, err, sizeof err) == -1);
	cr_assert(strstr(err, "do not add up"), "%s", err);
	ar_free(&back);
	p[1] = '1';
	cr_assert(ar_parse(text, len, &back, err, sizeof err) == 0, "%s", err);
	ar_free(&back);
	p = strstr(text, "evbench.agent/1");
	p[14] = '9';
	cr_assert(ar_parse(text, len, &back, err, sizeof err) == -1);
	cr_assert(strstr(err, "schema"), "%s", err);
	ar_free(&back);
	free(text);
	ar_free(&r);
}

/* The shares add up to the whole, whatever the split. */
/* The roles are spelt as docs/many-hosts.md and the agent's --role spell
 * them, both ways; anything else is no role. */
Test(agents_merge, roles_are_spelt_load_and_latency)
{
	cr_assert_str_eq(ar_role_name(AR_ROLE_LOAD), "load");
	cr_assert_str_eq(ar_role_name(AR_ROLE_LATENCY), "latency");
	cr_assert_eq(ar_role_parse("load"), AR_ROLE_LOAD);
	cr_assert_eq(ar_role_parse("latency"), AR_ROLE_LATENCY);
	cr_assert_eq(ar_role_parse("both"), -1);
	cr_assert_eq(ar_role_parse("Latency"), -1);
	cr_assert_eq(ar_role_parse(""), -1);
}

Test(agents_merge, shares_add_up)
{
	for (int n = 1; n <= 7; n++) {
		long conns = 1000 + n, csum = 0;
		uint64_t reqs = 999983, rsum = 0;
		double rate = 1234.5, ratesum = 0;

		for (int i = 0; i < n; i++) {
			long c;
			double r;
			uint64_t q;

			cr_assert(ar_share(conns, rate, reqs, i, n, &c, &r, &q) == 0);
			cr_assert(c == conns / n || c == conns / n + 1);
			csum += c;
			rsum += q;
			ratesum += r;
		}
		cr_assert_eq(csum, conns);
		cr_assert_eq(rsum, reqs);
		cr_assert(fabs(ratesum - rate) < 1e-6);
	}
	long c;
	double r;
	uint64_t q;
	cr_assert(ar_share(2, 0, 0, 0, 3, &c, &r, &q) == -1, "a share without a connection");
}

/* ---- the coordinator, with agents on this host ------------------------------------ */

static char evbench[PATH_MAX];
static char outdir[PATH_MAX];

static void setup(void)
{
	cr_assert_eq(tu_path(evbench, sizeof evbench, tu_bin_dir(), "evbench"), 0,
		     "%s is not built", evbench);
	snprintf(outdir, sizeof outdir, "/tmp/evbench-agents-XXXXXX");
	cr_assert_not_null(mkdtemp(outdir));
}

static void teardown(void)
{
	tu_kill_all();
	if (outdir[0])
		tu_rmtree(outdir);
}

#define MAX_ARGV 64

/* evbench's argv (MAX_ARGV entries): evbench, the NULL-terminated args, and
 * what every run of these tests takes: "--json --quiet --mechanism off
 * --out DIR" (its runs as JSON on stdout, no perf, the scratch directory). */
static void evbench_argv(char **argv, const char *const *args)
{
	static const char *const tail[] = { "--json", "--quiet", "--mechanism", "off", "--out" };
	int n = 0;

	argv[n++] = evbench;
	for (; *args; args++) {
		cr_assert_lt(n, MAX_ARGV - 7, "too many arguments");
		argv[n++] = (char *)*args;
	}
	for (size_t i = 0; i < sizeof tail / sizeof *tail; i++)
		argv[n++] = (char *)tail[i];
	argv[n++] = outdir;
	argv[n] = NULL;
}

/* Runs evbench_argv(args) to its end; returns its one run (jr_free the
 * array in *all). */
static const struct jr_value *run_agents(const char **args, int *status, char *err, size_t errcap,
					 struct jr_value **all)
{
	static char out[1 << 20];
	char *argv[MAX_ARGV];
	struct jr_error e;

	evbench_argv(argv, args);
	*status = tu_run(argv, out, sizeof out, err, errcap, 90000);
	cr_assert_neq(*status, -1, "evbench did not finish in time: %s", err);
	*all = jr_parse(out, strlen(out), &e);
	cr_assert_not_null(*all, "not JSON (%s): %.300s / %.300s", e.msg, out, err);
	cr_assert(( *all)->type == JR_ARRAY && (*all)->len == 1, "one run expected");
	return (*all)->items[0];
}

static long long num(const struct jr_value *v, const char *path)
{
	long long x = -1;

	cr_assert(jr_int(jr_path(v, path), &x) == 0, "no integer at %s", path);
	return x;
}

static const char *failure_of(const struct jr_value *run)
{
	const char *f = jr_string(jr_path(run, "result.failure"));

	return f ? f : "";
}

/* The pid of a process whose command line holds both strings, or -1. */
static pid_t find_process(const char *a, const char *b)
{
	pid_t pid;

	return tu_find_processes(a, b, NULL, &pid, 1) == 1 ? pid : -1;
}

static bool process_with(const char *a, const char *b)
{
	return find_process(a, b) > 0;
}

/* Starts evbench's argv in *p (stdout captured), waits for the agent whose
 * command line holds share and mark (the test's --timeout, which tells its
 * agents from any other), lets it run run_ms, sends it sig, and checks that
 * evbench then ends with exit status 1. */
static void spoil_an_agent(struct tu_proc *p, char **argv, const char *share, const char *mark,
			   int run_ms, int sig)
{
	pid_t victim = -1;
	long long t0 = tu_now_ms();
	int status;

	cr_assert_eq(tu_spawn(p, argv, 0, TU_CAPTURE_STDERR), 0);
	while (victim < 0 && tu_now_ms() - t0 < tu_ms(20000)) {
		usleep(20000);
		victim = find_process(share, mark);
	}
	cr_assert(victim > 0, "the agent never started");
	usleep((useconds_t)run_ms * 1000);
	cr_assert_eq(kill(victim, sig), 0);
	status = tu_wait_exit(p, tu_ms(60000));
	cr_assert_eq(status, 256, "exit status 1 expected, got %d", status);
}

/* Three agents, one server: the merged counts are the server's own. The
 * server counts every line it answered, in every phase; the agents' replies
 * of every phase, merged, must be exactly that. */
Test(agents_run, three_local_agents_merge_to_the_servers_counts, .init = setup, .fini = teardown,
     .timeout = 90)
{
	const char *args[] = { "--server", "epoll-lt", "--conns", "60", "--agents", "local,local,local",
			       "--duration", "1", "--warmup", "0", NULL };
	char err[8192], cmd[PATH_MAX + 64], mout[1 << 16];
	struct jr_value *all;
	int status;
	const struct jr_value *run = run_agents(args, &status, err, sizeof err, &all);
	long long lines, accepted, requests, replies, established;

	cr_assert_eq(status, 0, "exit %d: %s / %s", status, failure_of(run), err);
	lines = num(run, "result.server_counters.lines");
	accepted = num(run, "result.server_counters.accepted");
	requests = num(run, "result.requests");
	replies = num(run, "result.replies");
	established = num(run, "result.connections.established");
	cr_assert_eq(established, 60);
	cr_assert_eq(accepted, established, "server accepted %lld, agents established %lld",
		     accepted, established);
	cr_assert(replies > 0 && requests > 0);
	cr_assert(strstr(err, "clock offset"), "the offsets are reported: %s", err);

	/* The agents' raw results are kept: evbench merge gives the same. */
	snprintf(cmd, sizeof cmd, "%s/latest", outdir);
	char *margv[] = { evbench, "merge", "--json", cmd, NULL };
	cr_assert_eq(tu_run(margv, mout, sizeof mout, err, sizeof err, 30000), 0, "%s", err);
	struct jr_error e;
	struct jr_value *m = jr_parse(mout, strlen(mout), &e);
	cr_assert_not_null(m, "%s", e.msg);
	cr_assert_eq(num(m, "result.replies"), replies);
	/* Every reply the agents verified, in every phase, is a line the
	 * server answered, and the other way round. */
	cr_assert_eq(num(m, "all_phases.replies"), lines, "merged replies %lld, server lines %lld",
		     num(m, "all_phases.replies"), lines);
	cr_assert_eq(num(m, "result.connections.established"), established);
	cr_assert_eq(jr_path(m, "agents")->len, 3);
	cr_assert_str_eq(jr_string(jr_path(m, "window.clock")), "coordinator");
	jr_free(m);
	jr_free(all);
}

/* An agent that cannot start (no such binary on its host) fails the trial
 * with its stderr; nothing is merged. */
Test(agents_run, an_agent_that_cannot_start_is_a_failure, .init = setup, .fini = teardown,
     .timeout = 60)
{
	const char *args[] = { "--server", "epoll-lt", "--conns", "10", "--agents", "local,local",
			       "--agent-bin", "/nonexistent/evbench", "--duration", "0.5", NULL };
	char err[8192];
	struct jr_value *all;
	int status;
	const struct jr_value *run = run_agents(args, &status, err, sizeof err, &all);

	cr_assert_eq(status, 256, "exit status 1 expected, got %d", status);
	cr_assert(strstr(failure_of(run), "ended before its hello"), "%s", failure_of(run));
	cr_assert(strstr(failure_of(run), "cannot run /nonexistent/evbench"), "%s", failure_of(run));
	const struct jr_value *rep = jr_path(run, "result.replies");
	cr_assert(!rep || rep->type == JR_NULL || rep->integer == 0, "nothing merged");
	jr_free(all);
}

/* ssh to a host where nothing listens: ssh's own message is the reason. */
Test(agents_run, an_unreachable_ssh_host_is_a_failure, .init = setup, .fini = teardown,
     .timeout = 60)
{
	const char *args[] = { "--server", "epoll-lt", "--conns", "10", "--agents", "ssh:127.0.0.1",
			       "--agent-host", "127.0.0.1", "--ssh-opts",
			       "-p 1 -o ConnectTimeout=5 -o StrictHostKeyChecking=no", "--duration",
			       "0.5", NULL };
	char err[8192];
	struct jr_value *all;
	int status;

	if (!tu_on_path("ssh"))
		cr_skip_test("no ssh client (scripts/deps.sh test installs openssh-client)");
	const struct jr_value *run = run_agents(args, &status, err, sizeof err, &all);

	cr_assert_eq(status, 256, "exit status 1 expected, got %d", status);
	cr_assert(strstr(failure_of(run), "agent 127.0.0.1:"), "%s", failure_of(run));
	cr_assert(strstr(failure_of(run), "Connection refused"), "%s", failure_of(run));
	jr_free(all);
}

/* An agent whose clock is a second off (test mode) is refused with the
 * offset measured; allowed that much, it is corrected for and merged. */
Test(agents_run, a_clock_off_by_a_second_is_measured_and_refused, .init = setup,
     .fini = teardown, .timeout = 90)
{
	const char *args[] = { "--server", "epoll-lt", "--conns", "20", "--agents", "local,local",
			       "--duration", "0.5", "--warmup", "0", NULL };
	const char *allowed[] = { "--server", "epoll-lt", "--conns", "20", "--agents", "local,local",
				  "--max-clock-offset", "3", "--duration", "0.5", "--warmup", "0",
				  NULL };
	char err[8192], mout[1 << 16], dir[PATH_MAX + 16];
	struct jr_value *all;
	int status;
	double off;

	setenv("EVBENCH_TEST_CLOCK_SKEW_S", "1@1", 1);
	const struct jr_value *run = run_agents(args, &status, err, sizeof err, &all);
	cr_assert_eq(status, 256, "exit status 1 expected, got %d", status);
	cr_assert(sscanf(strstr(failure_of(run), "its clock is ") ? strstr(failure_of(run), "its clock is ")
								  : "", "its clock is %lf", &off) == 1,
		  "%s", failure_of(run));
	cr_assert(fabs(off - 1.0) < 0.01, "offset measured %f s, simulated 1 s", off);
	jr_free(all);

	run = run_agents(allowed, &status, err, sizeof err, &all);
	unsetenv("EVBENCH_TEST_CLOCK_SKEW_S");
	cr_assert_eq(status, 0, "%s / %s", failure_of(run), err);
	cr_assert(num(run, "result.replies") > 0);
	jr_free(all);
	/* Both agents measured at the same moment once the offset is taken
	 * out: the common window is most of the measure phase, which it could
	 * not be had agent 1 started a second late or early. */
	snprintf(dir, sizeof dir, "%s/latest", outdir);
	char *margv[] = { evbench, "merge", "--json", dir, NULL };
	cr_assert_eq(tu_run(margv, mout, sizeof mout, err, sizeof err, 30000), 0, "%s", err);
	struct jr_error e;
	struct jr_value *m = jr_parse(mout, strlen(mout), &e);
	double len = jr_path_number(m, "window.length_s"), from = -INFINITY, to = INFINITY;
	double shortest = INFINITY;
	const struct jr_value *ags = jr_path(m, "agents");

	/* The window is the intersection of the agents' phases, each moved
	 * into the coordinator's clock by its own offset, computed here from
	 * what each agent reported; and it is most of the shortest phase,
	 * which it could not be had agent 1's second not been taken out (its
	 * phase, as its clock reads it, lies a second after agent 0's). Not a
	 * bound in wall-clock time: how long a starved agent took to see its
	 * deadline shows in its own phase. */
	cr_assert(ags && ags->len == 2, "%s", mout);
	for (size_t i = 0; i < ags->len; i++) {
		double a = jr_path_number(ags->items[i], "measure_start_ns") / 1e9;
		double b = jr_path_number(ags->items[i], "measure_end_ns") / 1e9;
		double o = jr_path_number(ags->items[i], "clock_offset_s");

		from = fmax(from, a - o);
		to = fmin(to, b - o);
		shortest = fmin(shortest, b - a);
	}
	cr_assert(fabs(len - (to - from)) < 1e-6, "window %f s, the phases' intersection %f s",
		  len, to - from);
	cr_assert(len > shortest / 2, "window %f s of a shortest phase of %f s", len, shortest);
	jr_free(m);
}

/* An agent killed in the middle of its run: the trial fails with how it
 * ended, nothing is merged, and no agent is left running. The timeout
 * 7.25 marks this test's agents among the machine's processes. */
Test(agents_run, an_agent_killed_mid_run_is_a_failure_and_nothing_survives, .init = setup,
     .fini = teardown, .timeout = 90)
{
	const char *args[] = { "--server", "epoll-lt", "--conns", "20", "--agents",
			       "local,local,local", "--duration", "4", "--warmup", "0", "--timeout",
			       "7.25", NULL };
	char *argv[MAX_ARGV];
	struct tu_proc p;
	char line[1 << 16];
	struct jr_error e;

	/* The share 1/3 agent, once it has been running a second. */
	evbench_argv(argv, args);
	spoil_an_agent(&p, argv, "--share 1/3", "7.25", 1000, SIGKILL);
	ssize_t n = tu_read_line(&p, line, sizeof line, 1000);
	cr_assert(n > 0, "no JSON on stdout");
	/* --json prints one array; read it whole. */
	struct jr_value *all = jr_parse(line, (size_t)n, &e);
	if (!all) {
		/* The array spans several lines: gather them. */
		size_t len = (size_t)n;
		ssize_t k;

		while (len + 1 < sizeof line &&
		       (k = tu_read_line(&p, line + len + 1, sizeof line - len - 1, 1000)) >= 0) {
			line[len] = '\n';
			len += (size_t)k + 1;
		}
		all = jr_parse(line, len, &e);
	}
	cr_assert_not_null(all, "%s", e.msg);
	const char *f = failure_of(all->items[0]);
	cr_assert(strstr(f, "ended before its result (killed by signal 9)"), "%s", f);
	const struct jr_value *rep = jr_path(all->items[0], "result.replies");
	cr_assert(!rep || rep->type == JR_NULL || rep->integer == 0, "nothing merged");
	jr_free(all);
	cr_assert(!process_with("agent --control", "7.25"), "an agent outlived evbench");
}

/* ---- the Kubernetes Indexed Job (deploy/k8s/agents-job.yaml) ---------------------- */

/* The rendered manifest, its fields checked line by line (no YAML parser
 * needed: the template is a fixed, simple subset), then its pods played
 * here: the container's args with $(JOB_COMPLETION_INDEX) and $(POD_NAME)
 * expanded as Kubernetes would, each "pod" run against a local server with
 * its stdout kept as its log (a warning line around the result, as kubectl
 * logs mixes stderr in), and evbench merge over the logs. */
Test(agents_k8s, the_indexed_job_renders_and_its_pods_merge, .init = setup, .fini = teardown,
     .timeout = 90)
{
	static char yaml[16384];
	char script[PATH_MAX + 64], err[4096], port[32], start[32], mout[1 << 16], logdir[PATH_MAX + 8];
	char *args[40];
	int nargs = 0;
	struct tu_proc srv;
	struct tu_json sj;
	char srvpath[PATH_MAX];

	snprintf(script, sizeof script, "%s/../scripts/k8s_agents.sh", tu_bin_dir());
	if (access(script, X_OK) != 0)
		snprintf(script, sizeof script, "%s/../../scripts/k8s_agents.sh", tu_bin_dir());
	cr_assert_eq(access(script, X_OK), 0, "%s", script);
	cr_assert_eq(tu_path(srvpath, sizeof srvpath, tu_bin_dir(), "rot13-epoll-lt"), 0);
	cr_assert_eq(tu_server_start(&srv, (char *[]){ srvpath, NULL }, 0, 5000), 0);
	snprintf(port, sizeof port, "TARGET_PORT=%d", srv.port);
	snprintf(start, sizeof start, "START_AT=%ld", (long)time(NULL) + 2);
	char *rargv[] = { script, "render", "AGENTS=3", "TARGET_HOST=127.0.0.1", port, "CONNS=31",
			  "DURATION=0.5", "WARMUP=0", start, NULL };
	cr_assert_eq(tu_run(rargv, yaml, sizeof yaml, err, sizeof err, 10000), 0, "%s", err);

	/* The fields that make it an Indexed Job of three agents. */
	static const char *const must[] = {
		"apiVersion: batch/v1\n", "kind: Job\n", "  completionMode: Indexed\n",
		"  completions: 3\n", "  parallelism: 3\n", "      restartPolicy: Never\n",
		"            - \"$(JOB_COMPLETION_INDEX)/3\"\n", "            - \"--share\"\n",
		"          command: [\"evbench\"]\n", "fieldPath: metadata.name\n", NULL
	};
	for (int i = 0; must[i]; i++)
		cr_assert(strstr(yaml, must[i]), "the manifest lacks %s", must[i]);
	cr_assert(!strstr(yaml, "${"), "a variable was left unrendered");

	/* The container's args: the lines `- "..."` between args: and env:. */
	char *p = strstr(yaml, "          args:\n"), *end = strstr(yaml, "          env:\n");
	cr_assert(p && end && p < end);
	args[nargs++] = evbench;
	for (p = strchr(p, '\n') + 1; p < end;) {
		char *nl = strchr(p, '\n'), *q = strstr(p, "- \""), *r;

		cr_assert(q && q < nl && nargs < 38, "an args line that is not - \"...\"");
		q += 3;
		r = strchr(q, '"');
		cr_assert(r && r < nl);
		*r = '\0';
		args[nargs++] = q;
		p = nl + 1;
	}
	args[nargs] = NULL;
	cr_assert_eq(nargs, 18, "args: %d", nargs);   /* evbench and 17 */

	snprintf(logdir, sizeof logdir, "%s/logs", outdir);
	cr_assert_eq(mkdir(logdir, 0700), 0);
	/* Each pod's stdout goes to its log after a line of stderr, as
	 * kubectl logs would show them mixed. */
	struct tu_proc pods[3];
	for (int i = 0; i < 3; i++) {
		char *a[48], share[16], pod[32], sh[2 * PATH_MAX + 200];

		/* What Kubernetes expands from the pod's environment. */
		snprintf(share, sizeof share, "%d/3", i);
		snprintf(pod, sizeof pod, "evbench-agents-%d-x", i);
		snprintf(sh, sizeof sh, "echo 'evbench agent: warning: a line of stderr' > %s/pod-%d.log; "
			 "exec \"$0\" \"$@\" >> %s/pod-%d.log", logdir, i, logdir, i);
		a[0] = "/bin/sh";
		a[1] = "-c";
		a[2] = sh;
		for (int k = 0; k <= nargs; k++)
			a[3 + k] = !args[k] ? NULL
				 : !strcmp(args[k], "$(JOB_COMPLETION_INDEX)/3") ? share
				 : !strcmp(args[k], "$(POD_NAME)") ? pod : args[k];
		cr_assert_eq(tu_spawn(&pods[i], a, 0, 0), 0);
	}
	for (int i = 0; i < 3; i++)
		cr_assert_eq(tu_wait_exit(&pods[i], tu_ms(30000)), 0, "pod %d failed", i);
	cr_assert_eq(tu_server_stop(&srv, &sj, 5000), 0);

	char *margv[] = { evbench, "merge", "--json", logdir, NULL };
	cr_assert_eq(tu_run(margv, mout, sizeof mout, err, sizeof err, 30000), 0, "%s", err);
	struct jr_error e;
	struct jr_value *m = jr_parse(mout, strlen(mout), &e);
	cr_assert_not_null(m, "%s", e.msg);
	cr_assert_eq(jr_path(m, "agents")->len, 3);
	cr_assert_eq(num(m, "result.connections.established"), 31, "%.3000s", mout);
	cr_assert_eq(num(m, "result.connections.established"), tu_json_int(&sj, "accepted"));
	cr_assert(num(m, "result.replies") > 0);
	cr_assert_str_eq(jr_string(jr_path(m, "window.clock")), "agents-uncorrected");
	jr_free(m);
}

/* An agent that hangs (stopped with SIGSTOP mid-run, as a wedged host would
 * be) is a failure once the load's bound has passed, and is killed: the
 * coordinator does not wait for it forever. The timeout 1.25 marks this
 * test's agents. */
Test(agents_run, an_agent_that_hangs_is_a_failure, .init = setup, .fini = teardown, .timeout = 90)
{
	const char *args[] = { "--server", "epoll-lt", "--conns", "20", "--agents", "local,local",
			       "--duration", "1", "--warmup", "0", "--timeout", "1.25", NULL };
	char *argv[MAX_ARGV];
	static char out[1 << 20];
	struct tu_proc p;
	struct jr_error e;
	size_t len = 0;
	ssize_t k;

	evbench_argv(argv, args);
	spoil_an_agent(&p, argv, "--share 0/2", "1.25", 300, SIGSTOP);
	while (len + 1 < sizeof out && (k = read(p.out, out + len, sizeof out - 1 - len)) > 0)
		len += (size_t)k;
	out[len] = '\0';
	struct jr_value *all = jr_parse(out, len, &e);
	cr_assert_not_null(all, "%s: %.300s", e.msg, out);
	cr_assert(strstr(failure_of(all->items[0]), "no result in time (hung)"), "%s",
		  failure_of(all->items[0]));
	jr_free(all);
	cr_assert(!process_with("agent --control", "1.25"), "the hung agent was left behind");
	tu_kill(&p);
}

/* Bad input is one line and exit status 2, for each new command. */
Test(agents_cli, bad_input_exits_2_with_one_line, .init = setup, .fini = teardown, .timeout = 30)
{
	static const char *const cases[][8] = {
		{ "agent", "--port", "1", "--share", "3/3", NULL },
		{ "agent", "--port", "1", "--share", "0/2", "--active", "1", NULL },
		{ "agent", "--port", "1", "--role", "both", NULL },
		{ "merge", NULL },
		{ "merge", "--bogus", "x", NULL },
		{ "--agents", "rsh:host", NULL },
		{ "--agents", "ssh:h1", NULL },    /* no --agent-host */
		{ "--agents", "local", "--max-clock-offset", "-1", NULL },
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		char *argv[10], err[2048];
		int n = 0, st;

		argv[n++] = evbench;
		for (int k = 0; cases[c][k]; k++)
			argv[n++] = (char *)cases[c][k];
		argv[n] = NULL;
		st = tu_run(argv, NULL, 0, err, sizeof err, 10000);
		cr_assert_eq(st, 2 << 8, "case %zu (%s %s): status %d, %s", c, cases[c][0],
			     cases[c][1] ? cases[c][1] : "", st, err);
		cr_assert(err[0] && strchr(err, '\n') == err + strlen(err) - 1,
			  "case %zu: not one line: %s", c, err);
	}
	/* A file that is not an agent's result, named: exit 1 with the reason. */
	char path[PATH_MAX + 16], err[2048];
	FILE *f;

	snprintf(path, sizeof path, "%s/x.json", outdir);
	cr_assert_not_null(f = fopen(path, "we"));
	fputs("{\"schema\":\"evbench.run/1\"}\n", f);
	fclose(f);
	char *argv[] = { evbench, "merge", path, NULL };
	cr_assert_eq(tu_run(argv, NULL, 0, err, sizeof err, 10000), 1 << 8, "%s", err);
	cr_assert(strstr(err, "not an evbench.agent/1 result"), "%s", err);
}

/* via:COMMAND runs the agent through a command that passes stdin and stdout
 * on (here env(1), standing for ip netns exec or kubectl exec -i). */
Test(agents_run, an_agent_via_a_command, .init = setup, .fini = teardown, .timeout = 60)
{
	const char *args[] = { "--server", "epoll-lt", "--conns", "12", "--agents",
			       "via:env EVBENCH_VIA_TEST=1,local", "--duration", "0.5", "--warmup", "0",
			       NULL };
	char err[8192];
	struct jr_value *all;
	int status;
	const struct jr_value *run = run_agents(args, &status, err, sizeof err, &all);

	cr_assert_eq(status, 0, "%s / %s", failure_of(run), err);
	cr_assert_eq(num(run, "result.connections.established"), 12);
	cr_assert_eq(num(run, "result.server_counters.accepted"), 12);
	cr_assert(strstr(err, "agent env EVBENCH_VIA_TEST=1: clock offset"), "%s", err);
	jr_free(all);

	/* The agent really runs through the command: the environment env(1)
	 * gives it (the test mode's skew) shows in the offset measured. */
	const char *skewed[] = { "--server", "epoll-lt", "--conns", "12", "--agents",
				 "via:env EVBENCH_TEST_CLOCK_SKEW_S=0.5,local", "--duration", "0.5", NULL };
	run = run_agents(skewed, &status, err, sizeof err, &all);
	cr_assert_eq(status, 256);
	{
		/* The offset is measured, so "+0.499999" is as right as "+0.500001". */
		const char *at = strstr(failure_of(run), "its clock is +");
		double off = at ? atof(at + strlen("its clock is +")) : 0;

		cr_assert(at && fabs(off - 0.5) < 0.05, "%s", failure_of(run));
	}
	jr_free(all);
}
