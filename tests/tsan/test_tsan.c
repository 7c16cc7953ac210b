/*
 * test_tsan.c — the threaded programs under ThreadSanitizer (`make tsan-check`).
 *
 * The programs with threads or shared memory, rot13-threads, rot13-epoll-mt
 * (a reactor per thread, sharing the counters, the spare descriptor and the
 * allocator), rot13-fork (its
 * counters are shared with its children) and the load generator (a thread per
 * slice of connections, merged after join), are built with -fsanitize=thread
 * into build-thread/bin and driven from here, under load. A case passes only
 * when every reply is right, the counters add up, and no instrumented process
 * it started wrote a ThreadSanitizer report.
 *
 * This binary itself is a plain build: Criterion cannot start under TSan here
 * (its sandbox maps memory at addresses TSan reserves for itself: "Could not
 * initialize inheritable arena"), and nothing in the driver needs checking.
 *
 * How reports are found: each case points TSAN_OPTIONS at a fresh directory
 * (log_path), so that every instrumented process, forked children included,
 * writes its reports to a file of its own there, and the case fails on any
 * such file, printing it. Exit statuses say it too (TSan exits 66 after a
 * report), but a forked child's status reaches nobody. Two checks keep the
 * setup honest: every binary driven must carry TSan's instrumentation, and the
 * first case plants a race (tests/helpers/tsan_race.c) and fails if that goes
 * unseen, so a blind setup cannot pass the others.
 *
 * Environment: EVBENCH_BIN and EVBENCH_BUILD name the instrumented build
 * (the Makefile's tsan-check sets them to build-thread/).
 */
#include "testutil.h"
#include "jsonr.h"
#include "loadgen.h"

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Deadlines (unscaled milliseconds). TSan makes a program 5-15 times slower. */
#define READY_MS 10000
#define STOP_MS  15000   /* the threads server waits 3 s for its threads */
#define IO_MS    10000
#define RUN_MS   120000  /* one load generator run */

/* ---- the log directory of the case -------------------------------------------- */

static char logdir[256];

static void setup(void)
{
	char opts[512];

	snprintf(logdir, sizeof logdir, "/tmp/evbench-tsan.XXXXXX");
	cr_assert_not_null(mkdtemp(logdir), "mkdtemp: %s", strerror(errno));
	/* exitcode is TSan's default, spelt out because the cases check it. */
	snprintf(opts, sizeof opts, "log_path=%s/tsan exitcode=66", logdir);
	setenv("TSAN_OPTIONS", opts, 1);
}

static void teardown(void)
{
	tu_kill_all();
	DIR *d = opendir(logdir);
	if (d == NULL)
		return;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		char path[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", logdir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(logdir);
}

/* A whole small file into a static buffer (NUL-terminated, truncated). */
static const char *slurp(const char *path)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return "";
	while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* The reports in the case's directory; each is printed on stderr when
 * `show` (the planted race's is expected, and only noise). */
static int tsan_reports(bool show)
{
	DIR *d = opendir(logdir);
	int reports = 0;

	cr_assert_not_null(d, "opendir %s: %s", logdir, strerror(errno));
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		char path[512];
		if (strncmp(e->d_name, "tsan.", 5) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", logdir, e->d_name);
		const char *text = slurp(path);
		if (strstr(text, "WARNING: ThreadSanitizer") || strstr(text, "ERROR: ThreadSanitizer")) {
			reports++;
			if (show)
				fprintf(stderr, "---- %s ----\n%s\n", e->d_name, text);
		}
	}
	closedir(d);
	return reports;
}

/* Asserts that the program at path was built with -fsanitize=thread: the
 * instrumented code calls into TSan's runtime, whose entry point it names. */
static void assert_instrumented(const char *path)
{
	static char buf[1 << 16];
	static const char sym[] = "__tsan_init";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t keep = 0;
	ssize_t n;
	bool found = false;

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	/* Read in blocks, keeping the tail of each so that a name cut in two
	 * by a block boundary is still found. */
	while (!found && (n = read(fd, buf + keep, sizeof buf - keep)) > 0) {
		size_t len = keep + (size_t)n;
		found = memmem(buf, len, sym, sizeof sym - 1) != NULL;
		keep = sizeof sym - 2;
		memmove(buf, buf + len - keep, keep);
	}
	close(fd);
	cr_assert(found, "%s was not built with -fsanitize=thread (run `make tsan-check`)", path);
}

/* ---- servers and the load generator ---------------------------------------------- */

static void start_server(struct tu_proc *srv, const char *name)
{
	char path[512];

	if (tu_path(path, sizeof path, tu_bin_dir(), name) < 0)
		cr_assert_fail("no %s (run `make tsan-check`)", path);
	assert_instrumented(path);
	char *argv[] = { path, "--port", "0", NULL };
	cr_assert_eq(tu_server_start(srv, argv, 0, READY_MS), 0, "%s did not start: %s", name,
		     strerror(errno));
}

/* SIGTERM, exit 0, and the counters every run must satisfy. Only a server
 * stopped while idle has answered every byte it read: one stopped under load
 * may have read a line it could no longer send. */
static void stop_server(struct tu_proc *srv, struct tu_json *j, bool idle)
{
	pid_t pid = srv->pid;
	int st = tu_server_stop(srv, j, STOP_MS);

	if (st != 0)
		tsan_reports(true);
	cr_assert(st == 0, "server pid %d: stop status %d (%s); TSan exits 66 after a report", (int)pid,
		  st, st < 0 ? strerror(errno) : "");
	cr_assert_eq(tu_json_int(j, "accepted"), tu_json_int(j, "closed"));
	if (idle)
		cr_assert_eq(tu_json_int(j, "bytes_in"), tu_json_int(j, "bytes_out"));
	cr_assert_eq(tu_json_int(j, "errors"), 0);
}

/* Spawn bin/loadgen against port with `args` (NULL-terminated), --io io and
 * --json. */
static void spawn_loadgen(struct tu_proc *lg, int port, const char *io, const char *const *args)
{
	static char path[512], portarg[16];
	char *argv[32];
	int n = 0;

	if (tu_path(path, sizeof path, tu_bin_dir(), "loadgen") < 0)
		cr_assert_fail("no %s (run `make tsan-check`)", path);
	assert_instrumented(path);
	snprintf(portarg, sizeof portarg, "%d", port);
	argv[n++] = path;
	argv[n++] = "--port";
	argv[n++] = portarg;
	argv[n++] = "--json";
	argv[n++] = "--io";
	argv[n++] = (char *)io;
	while (*args && n < 31)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	cr_assert_eq(tu_spawn(lg, argv, 0, 0), 0, "spawn loadgen: %s", strerror(errno));
}

/* Read the load generator's JSON to its end, wait for its exit 0, parse it. */
static struct jr_value *finish_loadgen(struct tu_proc *lg)
{
	static char out[1 << 16];
	char line[TU_LINE_MAX];
	size_t len = 0;
	ssize_t n;
	pid_t pid = lg->pid;

	while ((n = tu_read_line(lg, line, sizeof line, RUN_MS)) >= 0)
		if (len + (size_t)n + 1 < sizeof out) {
			memcpy(out + len, line, (size_t)n);
			len += (size_t)n;
			out[len++] = '\n';
		}
	cr_assert_eq(errno, EPIPE, "loadgen output: %s", strerror(errno));
	int st = tu_wait_exit(lg, IO_MS);
	if (st != 0)
		tsan_reports(true);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "loadgen pid %d: status %d; TSan exits 66 after a report", (int)pid, st);
	struct jr_error e;
	struct jr_value *v = jr_parse(out, len, &e);
	cr_assert_not_null(v, "loadgen JSON %d:%d: %s", e.line, e.column, e.msg);
	return v;
}

static double num(const struct jr_value *v, const char *path)
{
	double d;
	cr_assert_eq(jr_number(jr_path(v, path), &d), 0, "no number at %s", path);
	return d;
}

/* Waits until the threads server `pid` serves `conns` connections: a thread
 * each, besides its main thread and TSan's own (started with the first). */
static void wait_conns(pid_t pid, long conns)
{
	long threads = conns + 2;
	long long deadline = tu_now_ms() + tu_ms(IO_MS);
	long t;

	while ((t = tu_proc_status(pid, "Threads")) < threads && tu_now_ms() < deadline)
		usleep(10000);
	cr_assert(t >= threads, "pid %d has %ld threads, not %ld", (int)pid, t, threads);
}

/* ---- the cases --------------------------------------------------------------------- */

TestSuite(tsan, .init = setup, .fini = teardown, .timeout = 240);

/* The setup sees a race: the planted one is reported and fails its process. */
Test(tsan, planted_race_is_reported)
{
	char path[512];

	if (tu_path(path, sizeof path, tu_build_dir(), "tests/bin/tsan_race") < 0)
		cr_assert_fail("no %s (run `make tsan-check`)", path);
	assert_instrumented(path);
	char *argv[] = { path, NULL };
	int st = tu_run(argv, NULL, 0, NULL, 0, IO_MS);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 66,
		  "tsan_race exited with status %d, not 66: TSan did not see its race", st);
	cr_assert_geq(tsan_reports(false), 1, "no report file in %s", logdir);
}

/* Client i's message of round r: printable bytes, lengths from 1 to MAXLEN,
 * some holding several lines, always ending with one. Returns its length. */
#define MAXLEN 3000
static size_t message(char *msg, int i, int r)
{
	size_t len = 1 + (size_t)(i * 37 + r * 101) % MAXLEN;

	for (size_t k = 0; k < len; k++)
		msg[k] = (char)(' ' + (i * 7 + r * 13 + (int)k) % 95);
	for (size_t k = 96; k < len; k += 97 + (size_t)i)
		msg[k] = '\n';
	msg[len - 1] = '\n';
	return len;
}

/*
 * rot13-threads with a hundred clients at once, every reply checked byte for
 * byte; then half of them leave and the stop shuts the other half down from
 * the main thread while their threads sit in read().
 */
Test(tsan, threads_concurrent_clients)
{
	enum { CLIENTS = 100, ROUNDS = 12 };
	static char msg[MAXLEN], want[MAXLEN], got[MAXLEN];
	int fds[CLIENTS];
	long long bytes = 0, lines = 0;
	struct tu_proc srv;
	struct tu_json j;

	start_server(&srv, "rot13-threads");
	for (int i = 0; i < CLIENTS; i++)
		cr_assert_geq(fds[i] = tu_connect(srv.port, IO_MS), 0, "connect %d: %s", i,
			      strerror(errno));
	for (int r = 0; r < ROUNDS; r++) {
		/* Every client sends before any reads, so that all the server's
		 * threads work at once. */
		for (int i = 0; i < CLIENTS; i++) {
			size_t len = message(msg, i, r);
			for (size_t k = 0; k < len; k++)
				lines += msg[k] == '\n';
			cr_assert_eq(tu_write_all(fds[i], msg, len, IO_MS), (ssize_t)len);
			bytes += (long long)len;
		}
		for (int i = 0; i < CLIENTS; i++) {
			size_t len = message(msg, i, r);
			tu_rot13(want, msg, len);
			cr_assert_eq(tu_read_n(fds[i], got, len, IO_MS), (ssize_t)len, "client %d round %d", i, r);
			cr_assert(memcmp(got, want, len) == 0, "client %d round %d: wrong reply", i, r);
		}
	}
	for (int i = 0; i < CLIENTS; i += 2)
		close(fds[i]);
	stop_server(&srv, &j, true);
	for (int i = 1; i < CLIENTS; i += 2)
		close(fds[i]);
	cr_assert_eq(tu_json_int(&j, "accepted"), CLIENTS);
	cr_assert_eq(tu_json_int(&j, "bytes_in"), bytes);
	cr_assert_eq(tu_json_int(&j, "lines"), lines);
	cr_assert_eq(tu_json_int(&j, "resets"), 0);
	cr_assert_eq(tsan_reports(true), 0);
}

/* A SIGTERM while the load generator keeps every connection busy: 4 KiB
 * requests, four in flight on each, so that the stop finds threads in the
 * middle of a write and each sees it fail (the srv_stop test in srv_conn.c's
 * count_failure, read by a connection thread). */
Test(tsan, threads_stop_under_load)
{
	enum { CONNS = 32 };
	struct tu_proc srv, lg;
	struct tu_json j;

	start_server(&srv, "rot13-threads");
	pid_t spid = srv.pid;
	spawn_loadgen(&lg, srv.port, "epoll", (const char *const[]){ "--conns", "32",
		"--threads", "2", "--size", "4096", "--pipeline", "4", "--duration", "3",
		"--warmup", "0", "--timeout", "1", NULL });
	wait_conns(spid, CONNS);
	stop_server(&srv, &j, false);
	cr_assert_geq(tu_json_int(&j, "accepted"), CONNS);
	struct jr_value *v = finish_loadgen(&lg);
	cr_assert_eq(num(v, "result.verify_mismatch"), 0);
	jr_free(v);
	cr_assert_eq(tsan_reports(true), 0);
}

/*
 * A closed load of `requests` 64-byte requests (the load generator's default
 * size, one line each) with `args` and --io io against srv, to its end:
 * every request answered and verified, no error, the I/O mode as asked. Then
 * srv is stopped, idle, into *j, and must have read 64 bytes a line.
 */
static void complete_load(struct tu_proc *srv, const char *io, const char *const *args,
			  long long requests, struct tu_json *j)
{
	struct tu_proc lg;

	spawn_loadgen(&lg, srv->port, io, args);
	struct jr_value *v = finish_loadgen(&lg);
	cr_assert_eq(num(v, "result.replies"), requests);
	cr_assert_eq(num(v, "result.verify_mismatch"), 0);
	cr_assert_eq(num(v, "result.errors_total"), 0);
	cr_assert_str_eq(jr_string(jr_path(v, "load.io")), io);
	jr_free(v);
	stop_server(srv, j, true);
	cr_assert_eq(tu_json_int(j, "lines") * 64, tu_json_int(j, "bytes_in"));
}

/*
 * The load generator on several threads, closed loop, pipelined, reopening
 * connections, against a threaded server: every reply verified, counters exact.
 */
static void loadgen_against(const char *server, const char *io)
{
	struct tu_proc srv;
	struct tu_json j;

	start_server(&srv, server);
	complete_load(&srv, io, (const char *const[]){ "--conns", "48", "--threads", "4",
		"--requests", "20000", "--warmup", "0.2", "--pipeline", "2",
		"--requests-per-conn", "400", NULL }, 20000, &j);
	cr_assert_geq(tu_json_int(&j, "accepted"), 48);
	cr_assert_eq(tu_json_int(&j, "resets"), 0);
	cr_assert_eq(tsan_reports(true), 0);
}

Test(tsan, loadgen_epoll_threads)
{
	loadgen_against("rot13-threads", "epoll");
}

/* The same load against rot13-epoll-mt, its reactors (one per CPU) each
 * serving the connections its listener took, at once. */
Test(tsan, loadgen_epoll_mt)
{
	loadgen_against("rot13-epoll-mt", "epoll");
}

Test(tsan, loadgen_uring_threads)
{
	if (!lg_uring_available())
		cr_skip_test("io_uring is not available to this process");
	loadgen_against("rot13-threads", "uring");
}

/* The load generator's stop flag, set by SIGINT, reaches every load thread
 * (open loop on io_uring: the timer path), and it still reports. */
Test(tsan, loadgen_stopped_by_sigint)
{
	enum { CONNS = 24 };
	struct tu_proc srv, lg;
	struct tu_json j;
	const char *io = lg_uring_available() ? "uring" : "epoll";

	start_server(&srv, "rot13-threads");
	pid_t spid = srv.pid;
	spawn_loadgen(&lg, srv.port, io, (const char *const[]){ "--conns", "24", "--threads", "3",
		"--rate", "4000", "--duration", "60", "--warmup", "0", NULL });
	wait_conns(spid, CONNS);
	usleep(300000); /* some load on every connection; any time will do */
	kill(lg.pid, SIGINT);
	struct jr_value *v = finish_loadgen(&lg);
	const struct jr_value *stopped = jr_path(v, "result.stopped");
	cr_assert(stopped && stopped->type == JR_BOOL && stopped->boolean, "not reported as stopped");
	cr_assert_eq(num(v, "result.verify_mismatch"), 0);
	jr_free(v);
	stop_server(&srv, &j, true);
	cr_assert_eq(tsan_reports(true), 0);
}

/*
 * rot13-fork under connection churn: hundreds of children add to the shared
 * counters; every child writes its own TSan log, and the totals add up.
 */
Test(tsan, fork_shared_counters)
{
	struct tu_proc srv;
	struct tu_json j;

	start_server(&srv, "rot13-fork");
	complete_load(&srv, "epoll", (const char *const[]){ "--conns", "16", "--threads", "2",
		"--requests", "3000", "--warmup", "0", "--requests-per-conn", "10", NULL }, 3000, &j);
	/* At least one child per ten requests, each counted in and out. */
	cr_assert_geq(tu_json_int(&j, "accepted"), 300);
	cr_assert_geq(tu_json_int(&j, "lines"), 3000);
	cr_assert_eq(tsan_reports(true), 0);
}
