/*
 * test_loadgen_run.c - the load generator against real servers on loopback:
 * a correct one (bin/rot13-epoll-lt) and tests/helpers/lg_testsrv, which lies
 * (--corrupt), stalls (--stall-after/--stall-for) and counts what it saw
 * (talkers, peers). Each test bounds its own run (requests or a few seconds)
 * and kills every process it started, even on failure (.fini).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonr.h"
#include "loadcheck.h"
#include "loadgen.h"
#include "testutil.h"

static void start_helper(struct tu_proc *p, const char *a1, const char *a2, const char *a3,
			 const char *a4)
{
	char dir[512], path[600];
	snprintf(dir, sizeof dir, "%s/tests/bin", tu_build_dir());
	cr_assert_eq(tu_path(path, sizeof path, dir, "lg_testsrv"), 0, "%s not built", path);
	char *argv[] = { path, "--port", "0", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
	cr_assert_eq(tu_server_start(p, argv, 0, 5000), 0, "lg_testsrv did not start: %s",
		     strerror(errno));
}

static void start_server(struct tu_proc *p, const char *name)
{
	char path[512];
	cr_assert_eq(tu_path(path, sizeof path, tu_bin_dir(), name), 0, "%s not built", path);
	char *argv[] = { path, "--port", "0", NULL };
	cr_assert_eq(tu_server_start(p, argv, 0, 5000), 0, "%s did not start", name);
}

/* Every load test runs twice: in the default I/O mode (io_uring where the
 * kernel has it) as suite loadgen_run, and with epoll as suite loadgen_epoll. */
static int cur_io = LG_IO_AUTO;

#define LOAD_TEST(name, secs)                                                        \
	static void name##_body(void);                                               \
	Test(loadgen_run, name, .timeout = secs, .fini = tu_kill_all)                \
	{                                                                            \
		cur_io = LG_IO_AUTO;                                                 \
		name##_body();                                                       \
	}                                                                            \
	Test(loadgen_epoll, name, .timeout = secs, .fini = tu_kill_all)              \
	{                                                                            \
		cur_io = LG_IO_EPOLL;                                                \
		name##_body();                                                       \
	}                                                                            \
	static void name##_body(void)

/* The load of every test here: lc_config()'s, on the test's I/O mode. */
static void base_config(struct lg_config *c, int port)
{
	lc_config(c, port);
	c->io = cur_io;
	c->timeout_s = 5;
}

/* The helper server with no options, and the base load aimed at it. */
static void start_default(struct tu_proc *srv, struct lg_config *c)
{
	start_helper(srv, NULL, NULL, NULL, NULL);
	base_config(c, srv->port);
}

/* Stops srv, its stop report into *j. */
static void stop_helper(struct tu_proc *srv, struct tu_json *j)
{
	cr_assert_eq(tu_server_stop(srv, j, 5000), 0);
}

static uint64_t errors_of(const struct lg_result *r, int cause)
{
	uint64_t n = 0;
	for (int p = 0; p < LG_NPHASES; p++)
		n += r->errors[p][cause];
	return n;
}

LOAD_TEST(verified_against_epoll_lt, 30)
{
	struct tu_proc srv;
	start_server(&srv, "rot13-epoll-lt");
	struct lg_config c;
	base_config(&c, srv.port);
	c.conns = 20;
	c.pipeline = 4;
	c.size = 100;
	c.requests = 20000;
	struct lg_result r;
	cr_assert_eq(lg_run(lc_made(&c), &r, NULL), 0);
	cr_assert_eq(r.replies, 20000, "replies %llu", (unsigned long long)r.replies);
	cr_assert_eq(r.verify_mismatch, 0);
	cr_assert_eq(r.errors_total, 0);
	cr_assert_eq(hist_count(&r.latency), r.replies, "one latency sample per verified reply");
	cr_assert_eq(hist_count(&r.connect_latency), 20);
	cr_assert_eq(r.conns_up_at_measure, 20);
	cr_assert(r.bytes_received >= 20000 * 100ull);
	cr_assert(r.wall_s > 0 && r.client_cpu_s >= 0);
	struct tu_json j;
	stop_helper(&srv, &j);
	cr_assert_eq(tu_json_int(&j, "accepted"), 20);
	lg_result_free(&r);
}

/* 5000 requests of 64 bytes over conns connections and threads threads
 * against the helper flipping one byte in every `every`: each flipped byte
 * must cost exactly one reply, a mismatch without a latency sample. Leaves
 * the result in *r and the server's stop report in *j; returns the bytes
 * the server says it flipped. */
static long long run_corrupted(const char *every, int conns, int threads, struct lg_result *r,
			       struct tu_json *j)
{
	struct tu_proc srv;
	struct lg_config c;

	start_helper(&srv, "--corrupt", every, NULL, NULL);
	base_config(&c, srv.port);
	c.conns = conns;
	c.threads = threads;
	c.requests = 5000;
	c.size = 64;
	cr_assert_eq(lg_run(lc_made(&c), r, NULL), 0);
	stop_helper(&srv, j);
	long long flipped = tu_json_int(j, "flipped");
	cr_assert_eq((long long)errors_of(r, LG_CAUSE_VERIFY_MISMATCH), flipped,
		     "mismatches %llu, bytes flipped %lld",
		     (unsigned long long)errors_of(r, LG_CAUSE_VERIFY_MISMATCH), flipped);
	cr_assert_eq(r->replies + r->verify_mismatch, 5000);
	cr_assert_eq(hist_count(&r->latency), r->replies, "a wrong reply has no latency sample");
	return flipped;
}

LOAD_TEST(corrupting_server_is_caught, 30)
{
	struct lg_result r;
	struct tu_json j;
	long long flipped = run_corrupted("1000", 8, 2, &r, &j);

	/* Every flipped byte spoils exactly one 64-byte reply (1000 > 64). */
	cr_assert(flipped > 100, "the server flipped %lld bytes", flipped);
	lg_result_free(&r);
}

/* A verifier must check every byte of a reply, its '\n' included. One
 * connection and a flip every 999th byte (prime to the 64-byte reply) hit
 * every offset of a reply in turn, 64 flips apart: the server says which
 * offsets it hit, and each flip must cost exactly one reply. (Every 1000th
 * byte would hit only the 8 offsets that are multiples of 8, and a verifier
 * that skipped the last byte would pass.) */
LOAD_TEST(corruption_at_every_offset_is_caught, 30)
{
	struct lg_result r;
	struct tu_json j;
	long long flipped = run_corrupted("999", 1, 1, &r, &j);

	cr_assert_eq(tu_json_int(&j, "flip_positions"), 64,
		     "the server flipped %lld bytes at %lld of the 64 offsets", flipped,
		     tu_json_int(&j, "flip_positions"));
	lg_result_free(&r);
}

/* Open loop at a fixed rate; the server stalls once for 1 s in a 5 s run.
 * The requests the stall delayed show in the corrected latency (from the
 * intended send time); the uncorrected latency sees one slow request per
 * connection and hides the rest. */
LOAD_TEST(stall_shows_in_corrected_latency_only, 60)
{
	struct tu_proc srv;
	start_helper(&srv, "--stall-after", "1.5", "--stall-for", "1");
	struct lg_config c;
	base_config(&c, srv.port);
	c.conns = 10;
	c.rate = 1000;
	c.duration_s = 5;
	struct lg_result r;
	cr_assert_eq(lg_run(lc_made(&c), &r, NULL), 0);
	struct tu_json j;
	stop_helper(&srv, &j);
	cr_assert_eq(tu_json_int(&j, "stalls"), 1, "the server stalled once");
	cr_assert(r.open_loop);
	cr_assert_eq(r.verify_mismatch, 0);
	uint64_t corr = hist_value_at_percentile(&r.latency, 99);
	uint64_t unc = hist_value_at_percentile(&r.latency_uncorrected, 99);
	cr_assert_eq(hist_count(&r.latency), hist_count(&r.latency_uncorrected));
	cr_assert(corr >= 500000000ull, "corrected p99 %.1f ms should show the 1 s stall",
		  corr / 1e6);
	cr_assert(unc * 5 < corr, "uncorrected p99 %.1f ms should hide it (corrected %.1f ms)",
		  unc / 1e6, corr / 1e6);
	cr_assert(hist_max(&r.latency_uncorrected) >= 500000000ull,
		  "the request caught in the stall is still seen");
	/* The delayed requests waited before leaving, behind the in-flight cap. */
	cr_assert(hist_value_at_percentile(&r.send_lag, 99) >= 400000000ull, "send lag p99 %.1f ms",
		  hist_value_at_percentile(&r.send_lag, 99) / 1e6);
	lg_result_free(&r);
}

LOAD_TEST(idle_connections_send_nothing, 30)
{
	struct tu_proc srv;
	struct lg_config c;
	start_default(&srv, &c);
	c.conns = 30;
	c.active = 5;
	c.requests = 2000;
	struct lg_result r;
	cr_assert_eq(lg_run(lc_made(&c), &r, NULL), 0);
	cr_assert_eq(r.replies, 2000);
	cr_assert_eq(r.conns_up_at_measure, 30);
	struct tu_json j;
	stop_helper(&srv, &j);
	cr_assert_eq(tu_json_int(&j, "accepted"), 30);
	cr_assert_eq(tu_json_int(&j, "talkers"), 5, "only the 5 active connections sent bytes");
	lg_result_free(&r);

	/* All idle: the server receives nothing at all. */
	start_default(&srv, &c);
	c.conns = 20;
	c.active = 0;
	c.duration_s = 0.5;
	cr_assert_eq(lg_run(lc_made(&c), &r, NULL), 0);
	cr_assert_eq(r.requests, 0);
	stop_helper(&srv, &j);
	cr_assert_eq(tu_json_int(&j, "accepted"), 20);
	cr_assert_eq(tu_json_int(&j, "bytes_in"), 0);
	lg_result_free(&r);
}

LOAD_TEST(reconnect_mode_opens_expected_connections, 30)
{
	struct tu_proc srv;
	struct lg_config c;
	start_default(&srv, &c);
	c.conns = 4;
	c.requests = 400;
	c.requests_per_conn = 10;
	struct lg_result r;
	cr_assert_eq(lg_run(lc_made(&c), &r, NULL), 0);
	cr_assert_eq(r.replies, 400);
	cr_assert_eq(r.errors_total, 0);
	struct tu_json j;
	stop_helper(&srv, &j);
	long long acc = tu_json_int(&j, "accepted");
	/* 400 replies at 10 per connection: 40 connections, plus at most one
	 * per slot opened after its last full share and one partial share each. */
	cr_assert(acc >= 40 && acc <= 48, "server accepted %lld", acc);
	cr_assert_eq((long long)r.connects, acc, "loadgen counted %llu",
		     (unsigned long long)r.connects);
	cr_assert_eq(hist_count(&r.connect_latency), r.connects);
	lg_result_free(&r);

	/* One connection per request. */
	start_default(&srv, &c);
	c.conns = 2;
	c.requests = 100;
	c.requests_per_conn = 1;
	cr_assert_eq(lg_run(lc_made(&c), &r, NULL), 0);
	cr_assert_eq(r.replies, 100);
	stop_helper(&srv, &j);
	acc = tu_json_int(&j, "accepted");
	cr_assert(acc >= 100 && acc <= 104, "server accepted %lld", acc);
	lg_result_free(&r);
}

LOAD_TEST(connections_come_from_each_source_address, 30)
{
	struct tu_proc srv;
	start_helper(&srv, NULL, NULL, NULL, NULL);
	struct lg_config c;
	char err[256];
	base_config(&c, srv.port);
	c.conns = 9;
	c.requests = 900;
	cr_assert_eq(lg_parse_option(&c, "source-addrs", "127.0.0.2,127.0.0.3,127.0.0.4", err,
				     sizeof err), 0);
	struct lg_result r;
	cr_assert_eq(lg_run(lc_made(&c), &r, NULL), 0);
	cr_assert_eq(r.replies, 900);
	cr_assert_eq(r.n_sources, 3);
	for (int s = 0; s < 3; s++)
		cr_assert_eq(r.sources[s].connects, 3, "%s: %llu", r.sources[s].addr,
			     (unsigned long long)r.sources[s].connects);
	struct tu_json j;
	stop_helper(&srv, &j);
	cr_assert_eq(tu_json_int(&j, "peers"), 3);
	cr_assert_eq(tu_json_int(&j, "peer_127.0.0.2"), 3);
	cr_assert_eq(tu_json_int(&j, "peer_127.0.0.3"), 3);
	cr_assert_eq(tu_json_int(&j, "peer_127.0.0.4"), 3);
	lg_result_free(&r);
}

/* Past the descriptor limit: connections that cannot get a descriptor are
 * counted as fd_limit.emfile, and the run goes on with the others. */
LOAD_TEST(descriptor_limit_is_counted_not_fatal, 30)
{
	struct tu_proc srv;
	start_helper(&srv, NULL, NULL, NULL, NULL);
	/* Room for about 40 more descriptors above the highest one open now
	 * (the test runner holds some of its own). */
	int fds[1024], n = tu_proc_fds(getpid(), fds, 1024);
	cr_assert(n > 0 && n <= 1024);
	struct rlimit rl = { (rlim_t)fds[n - 1] + 41, (rlim_t)fds[n - 1] + 41 };
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	struct lg_config c;
	char msg[512];
	base_config(&c, srv.port);
	c.threads = 1;
	c.conns = 100;
	c.requests = 1000;
	cr_assert_eq(lg_preflight(&c, msg, sizeof msg), 1, "said up front");
	struct lg_result r;
	cr_assert_eq(lg_run(lc_made(&c), &r, NULL), 0);
	cr_assert(r.fd_emfile > 0, "emfile %llu", (unsigned long long)r.fd_emfile);
	cr_assert(r.conns_up_at_measure > 20 && r.conns_up_at_measure < 100, "up %ld",
		  r.conns_up_at_measure);
	cr_assert_eq((long)r.fd_emfile, 100 - r.conns_up_at_measure, "each refused slot once");
	cr_assert_eq(r.replies, 1000, "the run went on");
	cr_assert_eq(r.errors_total, 0, "descriptor limits are not counted as errors");
	lg_result_free(&r);
}

static volatile sig_atomic_t stop_flag;
static int phases_seen[LG_NPHASES];

static void on_phase(enum lg_phase ph, void *arg)
{
	(void)arg;
	phases_seen[ph]++;
	if (ph == LG_PHASE_MEASURE)
		alarm(1);  /* Ctrl-C, one second into the measure phase */
}

static void on_alarm(int sig)
{
	(void)sig;
	stop_flag = 1;
}

LOAD_TEST(stop_flag_ends_early_with_a_report, 30)
{
	struct tu_proc srv;
	start_helper(&srv, NULL, NULL, NULL, NULL);
	signal(SIGALRM, on_alarm);
	struct lg_config c;
	base_config(&c, srv.port);
	c.conns = 10;
	c.duration_s = 600;
	c.warmup_s = 0.2;
	struct lg_hooks h = { .on_phase = on_phase, .stop = &stop_flag };
	struct lg_result r;
	cr_assert_eq(lg_run(lc_made(&c), &r, &h), 0);
	cr_assert(r.stopped);
	cr_assert(r.replies > 0 && r.wall_s > 0.5 && r.wall_s < 60, "wall %.2f", r.wall_s);
	cr_assert_eq(hist_count(&r.latency), r.replies);
	for (int p = 0; p < LG_NPHASES; p++)
		cr_assert_eq(phases_seen[p], 1, "phase %s announced %d times", lg_phase_name(p),
			     phases_seen[p]);
	lg_result_free(&r);
}

/* The JSON of bin/loadgen --json carries the schema's key names. */
Test(loadgen_run, binary_json_output, .timeout = 30, .fini = tu_kill_all)
{
	struct tu_proc srv;
	start_helper(&srv, NULL, NULL, NULL, NULL);
	char path[512], port[16];
	cr_assert_eq(tu_path(path, sizeof path, tu_bin_dir(), "loadgen"), 0);
	snprintf(port, sizeof port, "%d", srv.port);
	char *argv[] = { path, "--port", port, "--conns", "4", "--requests", "500", "--warmup",
			 "0", "--json", NULL };
	static char out[65536];
	int st = tu_run(argv, out, sizeof out, NULL, 0, 20000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	static const char *const keys[] = {
		"\"load\"", "\"result\"", "\"wall_s\"", "\"client_cpu_s\"", "\"client_user_s\"",
		"\"client_sys_s\"", "\"throughput_rps\"", "\"cpu_us_per_req\"", "\"latency_us\"",
		"\"p50\"", "\"p90\"", "\"p99\"", "\"p999\"", "\"p9999\"", "\"fd_limit\"",
		"\"emfile\"", "\"enfile\"", "\"eaddrnotavail\"", "\"errors\"",
		"\"connect_latency_us\"", "\"replies\": 500", "\"io\": ",
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		cr_assert(strstr(out, keys[i]), "no %s in\n%s", keys[i], out);
	/* A load bounded by a request count: its count, and no duration. */
	struct jr_error e;
	struct jr_value *v = jr_parse(out, strlen(out), &e);
	cr_assert_not_null(v, "%s", e.msg);
	const struct jr_value *d = jr_path(v, "load.duration_s");
	cr_assert(d && d->type == JR_NULL, "load.duration_s is not null");
	cr_assert_eq(jr_path_number(v, "load.requests"), 500);
	jr_free(v);
}

/* A reply later than --timeout counts as `timeout` in its phase, and the
 * connection is closed and reopened, so the load goes on after the stall. */
LOAD_TEST(reply_timeout_counted_and_connection_reopened, 30)
{
	struct tu_proc srv;
	start_helper(&srv, "--stall-after", "0.3", "--stall-for", "1.5");
	struct lg_config c;
	base_config(&c, srv.port);
	c.conns = 4;
	c.duration_s = 3;
	c.timeout_s = 0.5;
	struct lg_result r;
	cr_assert_eq(lg_run(lc_made(&c), &r, NULL), 0);
	cr_assert(r.errors[LG_PHASE_MEASURE][LG_CAUSE_TIMEOUT] >= 4, "timeouts %llu",
		  (unsigned long long)r.errors[LG_PHASE_MEASURE][LG_CAUSE_TIMEOUT]);
	cr_assert(r.connects > 4, "connections were reopened (%llu)", (unsigned long long)r.connects);
	cr_assert(r.replies > 0);
	cr_assert_eq(r.verify_mismatch, 0);
	/* A connection stuck in the 1.5 s stall would show samples near 1.5 s;
	 * the 0.7 s above the timeout is room for the client being descheduled. */
	cr_assert(hist_max(&r.latency) < 1200000000ull, "no sample past the timeout's close");
	lg_result_free(&r);
	struct tu_json j;
	stop_helper(&srv, &j);
}

/* The open-loop schedule sends what it promised: rate x duration requests,
 * whatever the latency, as long as the server keeps up. */
LOAD_TEST(open_loop_keeps_its_schedule, 30)
{
	struct tu_proc srv;
	struct lg_config c;
	start_default(&srv, &c);
	c.conns = 20;
	c.rate = 2000;
	c.duration_s = 2;
	c.warmup_s = 0.2;
	struct lg_result r;
	cr_assert_eq(lg_run(lc_made(&c), &r, NULL), 0);
	double want = c.rate * r.wall_s;
	/* Late sends catch up, except those a descheduled client owed at the very
	 * end of the phase: the lower bound leaves room for half a second of that. */
	cr_assert(r.requests > 0.75 * want && r.requests < 1.02 * want + 20,
		  "%llu requests in %.3f s at %.0f/s", (unsigned long long)r.requests, r.wall_s, c.rate);
	cr_assert_eq(hist_count(&r.send_lag), r.requests);
	cr_assert_eq(r.errors_total, 0);
	lg_result_free(&r);
	struct tu_json j;
	stop_helper(&srv, &j);
}

/* A thousand connections on two threads, pipelined, every reply verified. */
LOAD_TEST(thousand_connections, 60)
{
	tu_raise_nofile();
	struct tu_proc srv;
	char path[512];
	cr_assert_eq(tu_path(path, sizeof path, tu_bin_dir(), "rot13-epoll-lt"), 0);
	char *argv[] = { path, "--port", "0", NULL };
	cr_assert_eq(tu_server_start(&srv, argv, 4096, 5000), 0);
	struct lg_config c;
	base_config(&c, srv.port);
	c.conns = 1000;
	c.pipeline = 2;
	c.requests = 30000;
	struct lg_result r;
	cr_assert_eq(lg_run(lc_made(&c), &r, NULL), 0);
	cr_assert_eq(r.replies, 30000);
	cr_assert_eq(r.conns_up_at_measure, 1000);
	cr_assert_eq(r.errors_total + r.fd_emfile + r.fd_enfile + r.fd_eaddrnotavail, 0);
	cr_assert_eq(hist_count(&r.connect_latency), 1000);
	lg_result_free(&r);
	struct tu_json j;
	stop_helper(&srv, &j);
	cr_assert_eq(tu_json_int(&j, "accepted"), 1000);
	cr_assert_eq(tu_json_int(&j, "peak_conns"), 1000);
}

/* An empty result, as a reader or a merge (bench/agents) fills it: every one
 * of its four histograms takes a value, and the counts start at zero. A
 * histogram left out of lg_result_init() would take none (or crash). */
Test(loadgen_run, an_empty_result_has_every_histogram)
{
	struct lg_result r;
	memset(&r, 0xa5, sizeof r);
	cr_assert_eq(lg_result_init(&r), 0);
	cr_assert_eq(r.replies, 0);
	struct hist *h[] = { &r.latency, &r.latency_uncorrected, &r.connect_latency, &r.send_lag };
	for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
		cr_assert_eq(hist_count(h[i]), 0, "histogram %zu", i);
		cr_assert(hist_record(h[i], 1000 * (i + 1)), "histogram %zu", i);
		cr_assert_eq(hist_count(h[i]), 1, "histogram %zu", i);
		cr_assert_eq(hist_max(h[i]), 1000 * (i + 1), "histogram %zu", i);
	}
	lg_result_free(&r);
}
