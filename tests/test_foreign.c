/*
 * test_foreign.c - the load generator against servers nobody here wrote, as
 * Debian ships them (scripts/deps.sh installs them with the test set):
 *
 *   socat TCP-LISTEN:P,fork,reuseaddr EXEC:'stdbuf -oL tr a-zA-Z n-za-mN-ZA-M'
 *       rot13, a process per connection (socat forks, then runs tr);
 *   ncat --listen --keep-open --exec /bin/cat, and socat TCP-LISTEN:P,fork PIPE
 *       echo;
 *   tests/helpers/asyncio_srv.py, a Python asyncio server, in both protocols;
 *
 * each verified reply by reply; a server checked under the other protocol,
 * whose every reply must count as verify_mismatch and none as verified; and
 * the protocol through bin/loadgen's and bin/evbench's command lines into
 * their results.
 *
 * Why stdbuf: tr writes through stdio, which buffers a whole block (4 KiB)
 * when its output is not a terminal, and socat's EXEC gives it a socket pair.
 * A 64-byte request then gets no reply until 64 more have been sent, and a
 * closed loop waits for ever: measured here (loadgen --conns 2 --duration 1
 * --timeout 1), plain `tr` verified 0 replies in 1 s, `stdbuf -oL tr` 52,739.
 * -oL makes stdio flush at each '\n'. socat's `pty` address option would make
 * tr's output a terminal instead, but the terminal's line discipline turns
 * '\n' into "\r\n" and echoes input unless set raw as well.
 *
 * These servers print no ready line and take their port on the command line,
 * as a user's server given to evbench as a command does: the test picks a
 * free port, starts the server in its own process group (tu_spawn; .fini
 * kills the group, socat's and ncat's children included) and waits, bounded,
 * until the port accepts. Nothing here asserts on speed.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonr.h"
#include "loadcheck.h"
#include "loadgen.h"
#include "testutil.h"

#define LISTEN_MS 10000  /* a foreign server's port accepts */

/* ---- helpers ------------------------------------------------------------------ */

/* The program called name on PATH, into buf; fails the test when there is
 * none: these are part of the test set (make test installs them). */
static void program(char *buf, size_t cap, const char *name)
{
	const char *path = getenv("PATH");
	char dirs[4096], *save = NULL;

	snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save))
		if (tu_path(buf, cap, d, name) == 0)
			return;
	cr_assert_fail("%s is not on PATH: scripts/deps.sh test installs it", name);
}

/* A port no socket on 127.0.0.1 holds now. Another program may take it
 * before the server binds it; start_foreign() then tries another. */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0, "bind: %s", strerror(errno));
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* True once the group's leader has exited (it is a zombie or gone). */
static bool exited(const struct tu_proc *p)
{
	int zombies = 0, n = tu_pgrp_procs(p->pid, &zombies);

	return n == 0 || (n == zombies);
}

/*
 * Starts argv, each "{port}" in it replaced by a free port, and waits until
 * that port accepts a connection. A server that exits first (its port taken
 * meanwhile) is tried again on another port, three times at most. Returns
 * the port.
 */
static int start_foreign(struct tu_proc *p, const char *const tmpl[])
{
	static char args[16][PATH_MAX];
	char err[512];

	for (int attempt = 0; attempt < 3; attempt++) {
		int port = free_port(), argc = 0;
		char *argv[17];

		for (; tmpl[argc] && argc < 16; argc++) {
			const char *at = strstr(tmpl[argc], "{port}");
			int len = at ? snprintf(args[argc], sizeof args[argc], "%.*s%d%s",
						(int)(at - tmpl[argc]), tmpl[argc], port, at + 6)
				     : snprintf(args[argc], sizeof args[argc], "%s", tmpl[argc]);

			cr_assert(len < (int)sizeof args[argc], "argument too long: %s", tmpl[argc]);
			argv[argc] = args[argc];
		}
		argv[argc] = NULL;
		cr_assert_eq(tu_spawn(p, argv, 0, TU_CAPTURE_STDERR), 0, "cannot start %s: %s",
			     argv[0], strerror(errno));

		long long deadline = tu_now_ms() + tu_ms(LISTEN_MS);

		while (tu_now_ms() < deadline && !exited(p)) {
			int fd = tu_connect(port, 1000);

			if (fd >= 0) {
				close(fd);
				return port;
			}
			poll(NULL, 0, 20);
		}
		struct pollfd q = { p->err, POLLIN, 0 };
		ssize_t n = p->err >= 0 && poll(&q, 1, 0) > 0 ? read(p->err, err, sizeof err - 1) : -1;

		err[n > 0 ? n : 0] = '\0';
		cr_assert(exited(p), "%s did not listen on port %d within %d ms", argv[0], port,
			  tu_ms(LISTEN_MS));
		tu_kill(p);
		cr_log_warn("%s exited before listening on port %d (%s); trying another port",
			    argv[0], port, err);
	}
	cr_assert_fail("%s never listened", tmpl[0]);
	return -1;
}

static uint64_t errors_of(const struct lg_result *r, int cause)
{
	uint64_t n = 0;

	for (int p = 0; p < LG_NPHASES; p++)
		n += r->errors[p][cause];
	return n;
}

/* The load the tests run: a few connections, pipelined, no warm-up; ended
 * by `requests` verified replies, or by duration_s when requests is 0. */
static void run_load(struct lg_result *r, int port, int protocol, uint64_t requests,
		     double duration_s)
{
	struct lg_config c;

	lc_config(&c, port);
	c.conns = 6;
	c.pipeline = 2;
	c.requests = requests;
	c.duration_s = duration_s;
	c.protocol = protocol;
	cr_assert_eq(lg_run(lc_made(&c), r, NULL), 0);
}

/* run_load's `requests` replies in `protocol` from the server on port, every
 * one verified: nothing mismatched, no error, every connection up. */
static void expect_verified(int port, int protocol, const char *who)
{
	const uint64_t requests = 3000;
	struct lg_result r;

	run_load(&r, port, protocol, requests, 0);
	cr_assert_eq(r.replies, requests, "%s: %llu of %llu replies verified, %llu mismatched, "
		     "%llu errors", who, (unsigned long long)r.replies, (unsigned long long)requests,
		     (unsigned long long)r.verify_mismatch, (unsigned long long)r.errors_total);
	cr_assert_eq(r.verify_mismatch, 0, "%s", who);
	cr_assert_eq(r.errors_total, 0, "%s: %llu errors", who, (unsigned long long)r.errors_total);
	cr_assert_eq(hist_count(&r.latency), requests, "%s: one latency sample per reply", who);
	cr_assert_eq(r.conns_up_at_measure, 6, "%s: %ld of 6 connections up", who,
		     r.conns_up_at_measure);
	lg_result_free(&r);
}

/*
 * A server on port that answers in the other protocol, loaded for half a
 * second in `protocol`: every complete reply of the measure phase is a
 * verify_mismatch and none is verified. The replies have the request's
 * length, so the bytes received measure how many there were, to within the
 * few in flight at each edge of the phase (one per connection and pipeline
 * slot).
 */
static void expect_all_mismatched(int port, int protocol, const char *who)
{
	const double size = 64, edge = 6 * 2;   /* run_load's size, conns x pipeline */
	struct lg_result r;

	run_load(&r, port, protocol, 0, 0.5);
	double got = (double)r.bytes_received / size;

	cr_assert_eq(r.replies, 0, "%s: %llu replies verified under the wrong protocol", who,
		     (unsigned long long)r.replies);
	cr_assert_gt(r.verify_mismatch, 100, "%s: only %llu mismatches counted", who,
		     (unsigned long long)r.verify_mismatch);
	cr_assert(got - edge <= (double)r.verify_mismatch && (double)r.verify_mismatch <= got + edge,
		  "%s: %llu mismatches for %.0f replies' bytes received", who,
		  (unsigned long long)r.verify_mismatch, got);
	cr_assert_eq(r.errors_total, errors_of(&r, LG_CAUSE_VERIFY_MISMATCH),
		     "%s: errors other than mismatches", who);
	cr_assert_eq(hist_count(&r.latency), 0, "%s: a mismatch adds no latency sample", who);
	lg_result_free(&r);
}

/* The commands, "{port}" standing for the port. */
static const char *socat_tr[] = {
	"socat", "TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr",
	"EXEC:stdbuf -oL tr a-zA-Z n-za-mN-ZA-M", NULL
};
static const char *ncat_cat[] = {
	"ncat", "--listen", "127.0.0.1", "{port}", "--keep-open", "--exec", "/bin/cat", NULL
};
static const char *socat_pipe[] = {
	"socat", "TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr", "PIPE", NULL
};

/* tmpl with its program resolved on PATH (asyncio_srv.py runs under python3). */
static int start_named(struct tu_proc *p, const char *const tmpl[])
{
	char prog[PATH_MAX];
	const char *argv[16];
	int n = 0;

	program(prog, sizeof prog, tmpl[0]);
	argv[n++] = prog;
	for (int i = 1; tmpl[i] && n < 15; i++)
		argv[n++] = tmpl[i];
	argv[n] = NULL;
	return start_foreign(p, argv);
}

static int start_asyncio(struct tu_proc *p, const char *protocol)
{
	char script[PATH_MAX];
	const char *tmpl[] = { "python3", script, "--port", "{port}", "--protocol", protocol, NULL };

	snprintf(script, sizeof script, "%s/../tests/helpers/asyncio_srv.py", tu_bin_dir());
	if (access(script, R_OK) != 0)
		snprintf(script, sizeof script, "%s/../../tests/helpers/asyncio_srv.py", tu_bin_dir());
	cr_assert_eq(access(script, R_OK), 0, "no tests/helpers/asyncio_srv.py beside %s",
		     tu_bin_dir());
	return start_named(p, tmpl);
}

/* ---- the servers, verified ------------------------------------------------------ */

Test(foreign, socat_tr_rot13_verified, .timeout = 60, .fini = tu_kill_all)
{
	struct tu_proc srv;

	expect_verified(start_named(&srv, socat_tr), LG_PROTO_ROT13, "socat + tr");
}

Test(foreign, ncat_cat_echo_verified, .timeout = 60, .fini = tu_kill_all)
{
	struct tu_proc srv;

	expect_verified(start_named(&srv, ncat_cat), LG_PROTO_ECHO, "ncat --exec /bin/cat");
}

Test(foreign, socat_pipe_echo_verified, .timeout = 60, .fini = tu_kill_all)
{
	struct tu_proc srv;

	expect_verified(start_named(&srv, socat_pipe), LG_PROTO_ECHO, "socat PIPE");
}

Test(foreign, asyncio_rot13_verified, .timeout = 60, .fini = tu_kill_all)
{
	struct tu_proc srv;

	expect_verified(start_asyncio(&srv, "rot13"), LG_PROTO_ROT13,
			"asyncio_srv.py --protocol rot13");
}

Test(foreign, asyncio_echo_verified, .timeout = 60, .fini = tu_kill_all)
{
	struct tu_proc srv;

	expect_verified(start_asyncio(&srv, "echo"), LG_PROTO_ECHO,
			"asyncio_srv.py --protocol echo");
}

/* ---- the wrong bytes ------------------------------------------------------------ */

Test(foreign, echo_server_checked_as_rot13_mismatches_every_reply, .timeout = 60,
     .fini = tu_kill_all)
{
	struct tu_proc srv;

	expect_all_mismatched(start_named(&srv, ncat_cat), LG_PROTO_ROT13,
			      "ncat --exec /bin/cat under rot13");
}

Test(foreign, rot13_server_checked_as_echo_mismatches_every_reply, .timeout = 60,
     .fini = tu_kill_all)
{
	struct tu_proc srv;

	expect_all_mismatched(start_asyncio(&srv, "rot13"), LG_PROTO_ECHO,
			      "asyncio_srv.py --protocol rot13 under echo");
}

/* ---- the command lines and the results ------------------------------------------ */

/* bin/loadgen --protocol echo against socat's echo: the option parses, the
 * replies verify, and the JSON's load says which protocol was checked. */
Test(foreign, loadgen_records_the_protocol, .timeout = 60, .fini = tu_kill_all)
{
	static char out[1 << 16], err[4096];
	char loadgen[PATH_MAX], port[16];
	struct tu_proc srv;
	struct jr_value *v;

	cr_assert_eq(tu_path(loadgen, sizeof loadgen, tu_bin_dir(), "loadgen"), 0, "%s not built",
		     loadgen);
	snprintf(port, sizeof port, "%d", start_named(&srv, socat_pipe));

	char *argv[] = { loadgen, "--port", port, "--conns", "4", "--requests", "2000",
			 "--warmup", "0", "--protocol", "echo", "--json", NULL };
	int st = tu_run(argv, out, sizeof out, err, sizeof err, 30000);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "loadgen: status %#x: %s", st, err);
	v = jr_parse(out, strlen(out), NULL);
	cr_assert_not_null(v, "loadgen --json printed no JSON: %.300s", out);
	cr_assert_str_eq(jr_string(jr_path(v, "load.protocol")), "echo");
	cr_assert_eq(jr_path_number(v, "result.replies"), 2000);
	cr_assert_eq(jr_path_number(v, "result.verify_mismatch"), 0);
	jr_free(v);
}

/*
 * evbench --protocol echo: the built-in servers it starts get --echo, every
 * reply verifies as an echo, and the protocol is in each run's JSON (load,
 * and --echo in server.args) and in summary.csv. Without the --echo the
 * servers would answer rot13 and every reply would mismatch.
 */
Test(foreign, evbench_echo_starts_its_servers_with_echo, .timeout = 120, .fini = tu_kill_all)
{
	static char out[1 << 20], err[8192];
	char evbench[PATH_MAX], dir[] = "/tmp/evbench-foreign-XXXXXX", path[PATH_MAX + 64];
	struct jr_value *v;

	cr_assert_eq(tu_path(evbench, sizeof evbench, tu_bin_dir(), "evbench"), 0, "%s not built",
		     evbench);
	cr_assert_not_null(mkdtemp(dir));
	char *argv[] = { evbench, "--server", "epoll-lt,fork", "--conns", "4", "--duration", "0.5",
			 "--warmup", "0", "--protocol", "echo", "--mechanism", "off", "--out", dir,
			 "--json", "--quiet", NULL };
	int st = tu_run(argv, out, sizeof out, err, sizeof err, 90000);

	v = jr_parse(out, strlen(out), NULL);
	snprintf(path, sizeof path, "%s/latest/summary.csv", dir);
	FILE *f = fopen(path, "re");
	char header[4096] = "", line[4096] = "";
	int rows = 0;

	if (f) {
		if (fgets(header, sizeof header, f))
			while (fgets(line, sizeof line, f))
				rows += strstr(line, ",echo,") != NULL;
		fclose(f);
	}
	tu_rmtree(dir);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "evbench: status %#x: %s", st, err);
	cr_assert(v && v->type == JR_ARRAY && v->len == 2, "two runs expected: %.300s", out);
	for (size_t i = 0; i < v->len; i++) {
		const struct jr_value *run = v->items[i], *args = jr_path(run, "server.args");
		bool echo_arg = false;

		cr_assert_str_eq(jr_string(jr_path(run, "load.protocol")), "echo");
		cr_assert(args && args->type == JR_ARRAY);
		for (size_t k = 0; k < args->len; k++)
			echo_arg |= jr_string(args->items[k]) && !strcmp(jr_string(args->items[k]), "--echo");
		cr_assert(echo_arg, "run %zu: server.args lacks --echo", i);
		cr_assert_gt(jr_path_number(run, "result.replies"), 0, "run %zu verified nothing", i);
		cr_assert_eq(jr_path_number(run, "result.verify_mismatch"), 0,
			     "run %zu: %.0f replies were not the echo of their request", i,
			     jr_path_number(run, "result.verify_mismatch"));
		cr_assert_eq(jr_path_number(run, "result.errors_total"), 0);
	}
	jr_free(v);
	cr_assert(strstr(header, ",threads,protocol,"), "summary.csv has no protocol column: %s",
		  header);
	cr_assert_eq(rows, 2, "summary.csv: %d of 2 rows say echo", rows);
}
