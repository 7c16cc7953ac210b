/*
 * conformance.c — the one suite every ROT13 server must pass (docs/protocol.md: the
 * protocol, the command line, the lifecycle, the counters).
 *
 * Each case is written once, as a function of the design under test, and
 * CONFORMANCE() turns it into one Criterion test per design, named
 * `<design>::<case>` (epoll_lt::half_close, evbase_poll::reset, ...), so
 * that Criterion's --filter can pick one server or one case. A design whose
 * binary is not built yet is skipped, with a line on stderr that names it.
 *
 * The tests never measure speed. They wait on events with deadlines scaled by
 * EVBENCH_TIMEOUT_MULT; the only fixed waits are the CPU-measuring window of
 * the descriptor-exhaustion case and short negative checks ("nothing arrives
 * yet"), which can let a broken server pass on a slow machine but never fail
 * a correct one.
 */
#include "counters.h"
#include "designs.h"
#include "loadcheck.h"
#include "loadgen.h"
#include "servercheck.h"
#include "testutil.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

/* Deadlines (unscaled milliseconds). */
#define STOP_MS    10000  /* SIGTERM to exit: fork and threads may hold 1,000 */
#define IO_MS      5000   /* one exchange on one connection */
#define MANY_MS    20000  /* every exchange of a 1,000-connection case */

#define FD_SETSIZE_ 1024  /* glibc's FD_SETSIZE; the select server's limit */

/*
 * One Test per design for the case `fn`, each with a .timeout (in seconds,
 * scaled at run time by testutil) and tu_kill_all as .fini, so that a failing
 * assertion cannot leave a server behind. The designs come from designs.h.
 */
#define CONF_TEST(suite_, bin_, name_, backend_, fn, secs)                          \
	Test(suite_, fn, .timeout = (secs), .fini = tu_kill_all)                    \
	{                                                                           \
		static const struct design d = { #suite_, bin_, name_, backend_ };  \
		if (have_design(&d, #fn))                                           \
			fn(&d);                                                     \
	}

#define CONFORMANCE(fn, secs)                                                       \
	static void fn(const struct design *d);                                     \
	EVBENCH_DESIGNS(CONF_TEST, fn, secs)                                        \
	static void fn(const struct design *d)

/* ---- helpers ------------------------------------------------------------------ */

static int have_design(const struct design *d, const char *test)
{
	char path[4096];

	const char *why;

	if (tu_path(path, sizeof path, tu_bin_dir(), d->bin) == 0) {
		if (!(why = design_unavailable(d)))
			return 1;
		if (strcmp(test, "one_line") == 0)
			fprintf(stderr, "conformance: skipping every %s test: %s\n", d->suite, why);
		cr_skip_test("%s", why);
		return 0;
	}
	/* Said on stderr too, once per design (by its first case), since
	 * run.sh's terse Criterion output hides the reasons for skips. */
	if (strcmp(test, "one_line") == 0)
		fprintf(stderr, "conformance: skipping every %s test: no %s\n", d->suite, path);
	cr_skip_test("no %s", path);
	return 0;
}

/* Read the reply to req (n bytes, already sent) and expect exactly rot13(req). */
static void expect_reply(int fd, const void *req, size_t n)
{
	static char want[1 << 16], got[1 << 16];
	ssize_t r;

	cr_assert(n <= sizeof want);
	tu_rot13(want, req, n);
	r = tu_read_n(fd, got, n, IO_MS);
	cr_assert_eq(r, (ssize_t)n, "read %zd of %zu reply bytes: %s", r, n,
		     r < 0 ? strerror(errno) : "EOF");
	cr_assert(memcmp(got, want, n) == 0, "reply is not rot13 of the request");
}

/* Send req and expect exactly rot13(req) back. */
static void roundtrip(int fd, const void *req, size_t n)
{
	cr_assert_eq(tu_write_all(fd, req, n, IO_MS), (ssize_t)n, "write: %s", strerror(errno));
	expect_reply(fd, req, n);
}

/* One client served: it connects, sends req, gets exactly rot13(req) back
 * and closes. */
static void serve_one(const struct tu_proc *srv, const void *req, size_t n)
{
	int fd = sc_connect(srv);

	roundtrip(fd, req, n);
	close(fd);
}

/* Nothing is readable on fd within ms (a negative check, so not scaled:
 * a slow machine can only make it pass). */
static void expect_silence(int fd, int ms)
{
	struct pollfd q = { fd, POLLIN, 0 };

	cr_assert_eq(poll(&q, 1, ms), 0, "the server answered before the line was complete");
}

/*
 * Sends req (n bytes: a first line of `first` bytes, then a partial one),
 * reads the answer to the first line, checks that the partial line gets none
 * while it waits for its '\n', half-closes, and reads the rest to EOF. The
 * whole answer, n bytes, is left in got (cap bytes, at least n).
 */
static void half_close_exchange(int fd, const char *req, size_t n, size_t first, char *got,
				size_t cap)
{
	cr_assert_eq(tu_write_all(fd, req, n, IO_MS), (ssize_t)n);
	cr_assert_eq(tu_read_n(fd, got, first, IO_MS), (ssize_t)first, "first line not answered");
	expect_silence(fd, 20);
	cr_assert_eq(shutdown(fd, SHUT_WR), 0);
	ssize_t r = tu_read_to_eof(fd, got + first, cap - first, IO_MS);

	cr_assert(r >= 0, "no EOF after the remainder: %s", strerror(errno));
	cr_assert_eq((size_t)r + first, n, "got %zd bytes after half-close, want %zu", r, n - first);
}

/* Wait until the server's process group holds at most `nfds` descriptors:
 * the way to know it has closed connections the test dropped, before the
 * counters are read. */
static void wait_fds_at_most(const struct tu_proc *srv, int nfds)
{
	int n = tu_pgrp_nfds_at_most(srv->pid, nfds, IO_MS);

	cr_assert(n <= nfds, "the server still holds %d descriptors, expected <= %d", n, nfds);
}

/*
 * A client served once and kept open until the end of the test. Once it has
 * its reply the server is past its setup (an event loop may create its
 * epoll or kqueue descriptor after printing `ready`), so the descriptors
 * counted then are the baseline that connections the test drops return to.
 * It adds one connection and 6 bytes each way to the counters.
 */
static int sentinel(const struct tu_proc *srv, int *nfds)
{
	int fd = sc_connect(srv);

	roundtrip(fd, "Hello\n", 6);
	*nfds = tu_pgrp_nfds(srv->pid);
	return fd;
}

/* Ends what sentinel() began: waits until the server is back to the nfds
 * descriptors it held then (every connection the test dropped is closed),
 * then closes the sentinel `keep`. */
static void sentinel_close(const struct tu_proc *srv, int keep, int nfds)
{
	wait_fds_at_most(srv, nfds);
	close(keep);
}

/*
 * Many clients at once. Each sends its own line; then all are watched
 * together until each has its whole reply (ANSWERED), or EOF or a reset
 * (CLOSED), or the deadline passes (left PENDING).
 */
enum { PENDING, ANSWERED, CLOSED };
#define MAX_CLIENTS 2048

struct client {
	int fd;
	int state;
	size_t len, got;
	char req[96], reply[96];
};

static void make_request(struct client *c, int i)
{
	/* Content differs per connection, in length as well, so that a reply
	 * sent to the wrong client, or cut short, shows. */
	int n = snprintf(c->req, sizeof c->req, "client %d says ", i);
	int extra = 5 + (i * 7919) % 60;
	const char *abc = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

	for (int k = 0; k < extra; k++)
		c->req[n++] = abc[(i * 31 + k * 7) % 52];
	c->req[n++] = '\n';
	c->len = (size_t)n;
}

static void connect_clients(struct client *c, int n, const struct tu_proc *srv)
{
	for (int i = 0; i < n; i++) {
		memset(&c[i], 0, sizeof c[i]);
		c[i].fd = sc_connect(srv);
		make_request(&c[i], i);
	}
}

static void exchange_all(struct client *c, int n, int timeout_ms)
{
	static struct pollfd q[MAX_CLIENTS];
	static int idx[MAX_CLIENTS];
	long long deadline = tu_now_ms() + tu_ms(timeout_ms);
	int pending = 0;

	cr_assert(n <= MAX_CLIENTS);
	for (int i = 0; i < n; i++) {
		c[i].state = PENDING;
		c[i].got = 0;
		/* A shed connection may already be reset: that is CLOSED. */
		if (send(c[i].fd, c[i].req, c[i].len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)c[i].len)
			c[i].state = CLOSED;
		else
			pending++;
	}
	while (pending > 0) {
		int m = 0;

		for (int i = 0; i < n; i++)
			if (c[i].state == PENDING) {
				q[m] = (struct pollfd){ c[i].fd, POLLIN, 0 };
				idx[m++] = i;
			}
		long long left = deadline - tu_now_ms();
		int r = poll(q, (nfds_t)m, left > 0 ? (int)left : 0);

		if (r <= 0 && !(r < 0 && errno == EINTR))
			break;
		for (int k = 0; k < m; k++) {
			struct client *cl = &c[idx[k]];

			if (!q[k].revents)
				continue;
			ssize_t got = recv(cl->fd, cl->reply + cl->got, sizeof cl->reply - cl->got,
					   MSG_DONTWAIT);

			if (got > 0) {
				cl->got += (size_t)got;
				if (cl->got >= cl->len) {
					cl->state = ANSWERED;
					pending--;
				}
			} else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
				cl->state = CLOSED;
				pending--;
			}
		}
	}
}

/* Every ANSWERED client got exactly rot13 of its request; returns how many
 * there are, and how many CLOSED in *closed. Asserts none is left PENDING. */
/* "N descriptors: S sockets, F others" for the server, for failure messages. */
static void describe_fds(const struct tu_proc *srv, char *buf, size_t cap)
{
	static int fds[4096];
	int n = srv ? tu_proc_fds(srv->pid, fds, 4096) : -1, sockets = 0;

	for (int i = 0; i < n && i < 4096; i++) {
		char path[64], target[256];
		ssize_t len;

		snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)srv->pid, fds[i]);
		len = readlink(path, target, sizeof target - 1);
		if (len > 0 && strncmp(target, "socket:", 7) == 0)
			sockets++;
	}
	snprintf(buf, cap, "the server holds %d descriptors, %d of them sockets", n, sockets);
}

static int check_replies(const struct client *c, int n, int *closed, const struct tu_proc *srv)
{
	int answered = 0, pending = 0, first = -1;

	*closed = 0;
	for (int i = 0; i < n; i++) {
		char want[96];

		if (c[i].state == PENDING) {
			pending++;
			if (first < 0)
				first = i;
			continue;
		}
		if (c[i].state == CLOSED) {
			(*closed)++;
			continue;
		}
		tu_rot13(want, c[i].req, c[i].len);
		cr_assert(c[i].got == c[i].len && memcmp(want, c[i].reply, c[i].len) == 0,
			  "client %d: reply is not rot13 of its request", i);
		answered++;
	}
	if (pending) {
		char fds[128];

		describe_fds(srv, fds, sizeof fds);
		cr_assert_fail("%d clients (the first: %d) got neither a reply nor EOF/reset "
			       "before the deadline; %d answered, %d closed; %s",
			       pending, first, answered, *closed, fds);
	}
	return answered;
}

static void close_clients(struct client *c, int n)
{
	for (int i = 0; i < n; i++)
		if (c[i].fd >= 0) {
			close(c[i].fd);
			c[i].fd = -1;
		}
}

/* ASan reserves its shadow memory up front: a virtual size in terabytes
 * means the server under test is instrumented. */
static int is_asan(pid_t pid)
{
	return tu_proc_status(pid, "VmSize") > (1L << 30); /* KiB: 1 TiB */
}

/* ---- the cases ------------------------------------------------------------------- */

CONFORMANCE(one_line, 20)
{
	struct tu_proc srv;
	struct tu_json j;

	design_start(&srv, d, 0, NULL);
	int fd = sc_connect(&srv);
	char got[6];

	cr_assert_eq(tu_write_all(fd, "Hello\n", 6, IO_MS), 6);
	cr_assert_eq(tu_read_n(fd, got, 6, IO_MS), 6, "no complete reply");
	cr_assert(memcmp(got, "Uryyb\n", 6) == 0, "got '%.6s', want 'Uryyb\\n'", got);
	close(fd);
	sc_stop(&srv, d, &j);
	sc_expect(&j, "accepted", 1);
	sc_expect_bytes(&j, 6);
	sc_expect(&j, "lines", 1);
	sc_expect(&j, "oversize", 0);
	sc_expect(&j, "errors", 0);
	cr_assert_str_eq(tu_json_str(&j, "protocol"), "rot13", "without --echo the report says rot13");
}

CONFORMANCE(many_lines, 20)
{
	struct tu_proc srv;
	struct tu_json j;
	char req[8192];
	size_t n = 0;
	int lines = 0;

	/* 200 lines of assorted lengths, all in one write. */
	for (int i = 0; i < 200; i++, lines++)
		n += (size_t)snprintf(req + n, sizeof req - n, "Line %d of The Many%.*s\n", i,
				      i % 17, "-abcdefghijklmnopq");
	design_start(&srv, d, 0, NULL);
	serve_one(&srv, req, n);
	sc_stop(&srv, d, &j);
	sc_expect(&j, "lines", lines);
	sc_expect_bytes(&j, (long long)n);
}

/*
 * --work-us: every design burns that much time per answered line before it
 * replies (the regression gate's known slowdown). Ten lines at 20 ms must take
 * at least 200 ms from the write to the whole reply. A lower bound on time is
 * safe on a noisy machine: load can only make the reply later.
 */
CONFORMANCE(work_us, 20)
{
	struct tu_proc srv;
	struct tu_json j;
	char req[] = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";

	design_start(&srv, d, 0, "--work-us", "20000", NULL);
	int fd = sc_connect(&srv);
	long long t0 = tu_now_ms();

	roundtrip(fd, req, sizeof req - 1);
	long long took = tu_now_ms() - t0;

	close(fd);
	sc_stop(&srv, d, &j);
	sc_expect(&j, "lines", 10);
	cr_assert(took >= 200, "%s: 10 lines at --work-us 20000 answered in %lld ms, want >= 200",
		  d->suite, took);
}

CONFORMANCE(byte_by_byte, 20)
{
	struct tu_proc srv;
	struct tu_json j;
	const char line[] = "Split into single bytes, Nagle off.\n";
	size_t n = sizeof line - 1;
	int one = 1;

	design_start(&srv, d, 0, NULL);
	int fd = sc_connect(&srv);

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(tu_write_all(fd, line + i, 1, IO_MS), 1);
		if (i == n / 2)
			expect_silence(fd, 20);
	}
	expect_reply(fd, line, n);
	close(fd);
	sc_stop(&srv, d, &j);
	sc_expect(&j, "lines", 1);
	sc_expect(&j, "bytes_in", (long long)n);
}

/* --max-line 64: a 64-byte line (its '\n' included) fits the buffer. */
CONFORMANCE(max_line_exact, 20)
{
	struct tu_proc srv;
	struct tu_json j;
	char line[64];

	memset(line, 'q', sizeof line - 1);
	line[sizeof line - 1] = '\n';
	design_start(&srv, d, 0, "--max-line", "64", NULL);
	serve_one(&srv, line, sizeof line);
	sc_stop(&srv, d, &j);
	sc_expect(&j, "oversize", 0);
	sc_expect(&j, "lines", 1);
	sc_expect(&j, "bytes_out", 64);
}

/* 64 bytes without '\n' fill the buffer: they must come back, transformed,
 * before any newline is sent; then the '\n' comes back on its own. */
CONFORMANCE(max_line_over, 20)
{
	struct tu_proc srv;
	struct tu_json j;
	char line[64];

	for (size_t i = 0; i < sizeof line; i++)
		line[i] = (char)('A' + i % 52 % 26 + (i % 52 >= 26 ? 32 : 0));
	design_start(&srv, d, 0, "--max-line", "64", NULL);
	int fd = sc_connect(&srv);

	roundtrip(fd, line, sizeof line);
	roundtrip(fd, "\n", 1);
	close(fd);
	sc_stop(&srv, d, &j);
	sc_expect(&j, "oversize", 1);
	sc_expect(&j, "lines", 1);
	sc_expect_bytes(&j, 65);
}

CONFORMANCE(all_bytes, 20)
{
	struct tu_proc srv;
	struct tu_json j;
	unsigned char req[257];

	for (int i = 0; i < 256; i++)
		req[i] = (unsigned char)i;
	req[256] = '\n'; /* byte 10 ends the first line, this one the second */
	design_start(&srv, d, 0, NULL);
	serve_one(&srv, req, sizeof req);
	sc_stop(&srv, d, &j);
	sc_expect(&j, "lines", 2);
	sc_expect_bytes(&j, 257);
}

CONFORMANCE(silent_client, 20)
{
	struct tu_proc srv;
	struct tu_json j;

	int idle;

	design_start(&srv, d, 0, NULL);
	int keep = sentinel(&srv, &idle);
	int fd = sc_connect(&srv);

	close(fd);
	/* A second client served proves the first was accepted (the backlog is
	 * FIFO); the descriptor count proves its close was seen. */
	serve_one(&srv, "Hello\n", 6);
	sentinel_close(&srv, keep, idle);
	sc_stop(&srv, d, &j);
	sc_expect(&j, "accepted", 3);
	sc_expect_bytes(&j, 12);
	sc_expect(&j, "resets", 0);
	sc_expect(&j, "errors", 0);
}

CONFORMANCE(half_close, 20)
{
	struct tu_proc srv;
	struct tu_json j;
	const char req[] = "First line\nand a partial one";
	size_t n = sizeof req - 1;
	char got[sizeof req], want[sizeof req];

	design_start(&srv, d, 0, NULL);
	int fd = sc_connect(&srv);

	/* The complete line is answered while the rest waits for its '\n'. */
	half_close_exchange(fd, req, n, 11, got, sizeof got);
	tu_rot13(want, req, n);
	cr_assert(memcmp(got, want, n) == 0, "reply is not rot13 of what was sent");
	close(fd);
	sc_stop(&srv, d, &j);
	sc_expect(&j, "lines", 1);
	sc_expect_bytes(&j, (long long)n);
}

/*
 * --echo (docs/protocol.md, "Echo"): every line comes back as it was sent,
 * the partial line at a half-close too; then a pipelined load under the load
 * generator's --protocol echo is verified reply by reply. The first check's
 * expectation is the request itself, as the test wrote it, not anything the
 * code under test computes.
 */
CONFORMANCE(echo, 30)
{
	struct tu_proc srv;
	struct tu_json j;
	const char req[] = "Hello, World\nand a partial one";
	size_t n = sizeof req - 1, first = 13;
	char got[sizeof req];
	struct lg_config c;
	struct lg_result res;

	design_start(&srv, d, 0, "--echo", NULL);
	int fd = sc_connect(&srv);

	half_close_exchange(fd, req, n, first, got, sizeof got);
	cr_assert(memcmp(got, req, n) == 0, "%s --echo answered '%.*s', not the request", d->suite,
		  (int)n, got);
	close(fd);

	lc_config(&c, srv.port);
	c.conns = 8;
	c.pipeline = 4;
	c.requests = 4000;
	c.protocol = LG_PROTO_ECHO;
	cr_assert_eq(lg_run(lc_made(&c), &res, NULL), 0);
	cr_assert_eq(res.replies, 4000, "%s --echo: %llu replies verified, %llu mismatched",
		     d->suite, (unsigned long long)res.replies,
		     (unsigned long long)res.verify_mismatch);
	cr_assert_eq(res.verify_mismatch, 0);
	cr_assert_eq(res.errors_total, 0, "%s --echo: %llu errors", d->suite,
		     (unsigned long long)res.errors_total);
	lg_result_free(&res);

	sc_stop(&srv, d, &j);
	cr_assert_str_eq(tu_json_str(&j, "protocol"), "echo", "%s: the report's protocol", d->suite);
	cr_assert_eq(tu_json_int(&j, "bytes_in"), tu_json_int(&j, "bytes_out"), "echo keeps every byte");
	cr_assert(tu_json_int(&j, "lines") >= 1 + 4000, "lines %lld", tu_json_int(&j, "lines"));
}

/*
 * A client that sends 50 MB and never reads. The server must stop reading
 * it, so its memory stays flat. Sending stops at 50 MB or when the kernel's
 * buffers are full and a write makes no progress for a while.
 */
CONFORMANCE(never_reads, 60)
{
	struct tu_proc srv;
	struct tu_json j;
	const size_t total = 50u << 20;
	static char buf[1 << 20];
	const size_t chunk = sizeof buf;
	size_t sent = 0;

	for (size_t i = 0; i < chunk; i++)
		buf[i] = i % 100 == 99 ? '\n' : (char)('a' + i % 26);
	design_start(&srv, d, 0, NULL);
	int fd = sc_connect(&srv);

	/* One exchange first, so that the baseline includes what the server
	 * spends on a connection (for fork: the child). */
	roundtrip(fd, "warm\n", 5);
	long base = tu_pgrp_rss_kb(srv.pid);

	while (sent < total) {
		ssize_t w = tu_write_all(fd, buf, chunk, 500);

		cr_assert(w >= 0, "write: %s", strerror(errno));
		sent += (size_t)w;
		if ((size_t)w < chunk)
			break; /* stalled: the server is not reading */
	}
	long rss = tu_pgrp_rss_kb(srv.pid);
	/*
	 * 16 MB over the baseline for a plain build. ASan's allocator keeps
	 * freed blocks in a quarantine (256 MB by default) instead of reusing
	 * them, so every buffer a server frees and allocates again while
	 * streaming stays resident, with its shadow: growth then follows the
	 * traffic, not the memory held. The instrumented build gets 64 MB, and
	 * the counter check below, which ASan cannot blur, carries the test.
	 */
	long limit_kb = is_asan(srv.pid) ? 64 << 10 : 16 << 10;

	cr_assert(rss - base < limit_kb,
		  "RSS grew from %ld to %ld KiB after %zu bytes sent to a client that never reads",
		  base, rss, sent);
	sc_stop(&srv, d, &j);
	close(fd);
	/* What was read and not written is what the server held: bounded by
	 * --max-pending, one read and one partial line, far below 4 MB. */
	long long held = tu_json_int(&j, "bytes_in") - tu_json_int(&j, "bytes_out");

	cr_assert(held < (4 << 20), "the server read %lld bytes more than it wrote (%zu sent)",
		  held, sent);
}

CONFORMANCE(thousand_clients, 90)
{
	struct tu_proc srv;
	struct tu_json j;
	enum { N = 1000 };
	static struct client c[N];
	int closed;

	cr_assert(tu_raise_nofile() >= N + 100, "RLIMIT_NOFILE hard limit too low for %d clients", N);
	design_start(&srv, d, 0, NULL);
	connect_clients(c, N, &srv);
	exchange_all(c, N, MANY_MS);
	int answered = check_replies(c, N, &closed, &srv);

	cr_assert_eq(answered, N, "%d of %d answered, %d closed", answered, N, closed);
	close_clients(c, N);
	sc_stop(&srv, d, &j);
	sc_expect(&j, "accepted", N);
	sc_expect(&j, "peak_conns", N);
	long long bytes = 0;

	for (int i = 0; i < N; i++)
		bytes += (long long)c[i].len;
	sc_expect_bytes(&j, bytes);
	sc_expect(&j, "lines", N);
}

/*
 * Abrupt resets. First a client resets with a partial line held by the
 * server. Then one resets while the server holds replies it cannot send and
 * input it has not read (the client sent until the kernel's buffers were
 * full, never reading): its next read or write must fail with ECONNRESET or
 * EPIPE, so the count is deterministic. After each, a new client is served.
 */
CONFORMANCE(reset, 30)
{
	struct tu_proc srv;
	struct tu_json j;
	static char buf[256 << 10];
	const size_t chunk = sizeof buf;
	int small = 4096;

	for (size_t i = 0; i < chunk; i++)
		buf[i] = i % 64 == 63 ? '\n' : 'x';
	int idle;

	design_start(&srv, d, 0, "--max-pending", "4096", NULL);
	int keep = sentinel(&srv, &idle);
	int fd = sc_connect(&srv);
	roundtrip(fd, "Hello\n", 6);
	cr_assert_eq(tu_write_all(fd, "partial", 7, IO_MS), 7);
	tu_close_reset(fd);

	serve_one(&srv, "still up\n", 9);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0);
	/* Small buffers on the client's side make the stall come sooner. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "connect: %s",
		     strerror(errno));
	roundtrip(fd, "Hello\n", 6);
	for (size_t sent = 0; sent < (64u << 20);) {
		ssize_t w = tu_write_all(fd, buf, chunk, 300);

		cr_assert(w >= 0, "write: %s", strerror(errno));
		sent += (size_t)w;
		if ((size_t)w < chunk)
			break;
	}
	tu_close_reset(fd);

	serve_one(&srv, "still up\n", 9);
	sentinel_close(&srv, keep, idle);
	sc_stop(&srv, d, &j);
	sc_expect(&j, "accepted", 5);
	cr_assert_geq(tu_json_int(&j, "resets"), 1, "no reset counted");
}

/* The stop report counts what this test did, exactly. */
CONFORMANCE(sigterm_report, 20)
{
	struct tu_proc srv;
	struct tu_json j;
	enum { N = 5 };
	int fds[N];
	long long bytes = 0;

	design_start(&srv, d, 0, NULL);
	for (int i = 0; i < N; i++) {
		char line[64];
		int n = snprintf(line, sizeof line, "Connection %d of %d\n", i, N);

		fds[i] = sc_connect(&srv);
		for (int k = 0; k <= i; k++)
			roundtrip(fds[i], line, (size_t)n);
		bytes += (long long)n * (i + 1);
	}
	/* Three closed by the client, two still open when the signal comes:
	 * those the server must close itself. */
	for (int i = 0; i < N - 2; i++)
		close(fds[i]);
	sc_stop(&srv, d, &j);
	close(fds[N - 2]);
	close(fds[N - 1]);
	sc_expect(&j, "accepted", N);
	sc_expect(&j, "peak_conns", N);
	sc_expect_bytes(&j, bytes);
	sc_expect(&j, "lines", N * (N + 1) / 2);
	sc_expect(&j, "resets", 0);
}

/* SIGINT stops a server like SIGTERM, and the report is the next line it
 * prints after `ready`: nothing else goes to stdout. */
CONFORMANCE(sigint_report, 20)
{
	struct tu_proc srv;
	struct tu_json j;
	char line[TU_LINE_MAX];

	design_start(&srv, d, 0, NULL);
	int fd = sc_connect(&srv);

	roundtrip(fd, "Hello\n", 6);
	cr_assert_eq(kill(srv.pid, SIGINT), 0);
	cr_assert(tu_read_line(&srv, line, sizeof line, STOP_MS) >= 0, "no line after SIGINT: %s",
		  strerror(errno));
	cr_assert_eq(tu_json_parse(line, &j), 0, "not a JSON object: %s", line);
	int st = tu_wait_exit(&srv, STOP_MS);

	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "wait status 0x%x after SIGINT, want exit 0", st);
	close(fd);
	sc_expect(&j, "accepted", 1);
	sc_expect(&j, "closed", 1);
	sc_expect(&j, "bytes_in", 6);
	sc_expect(&j, "lines", 1);
}

/* A bad command line: exit 2, nothing on stdout, a reason then the usage on
 * stderr. */
CONFORMANCE(bad_args, 20)
{
	static const char *const cases[][3] = {
		{ "--no-such-option", NULL, NULL },
		{ "--port", "abc", NULL },
		{ "--port", "70000", NULL },
		{ "--max-line", "0", NULL },
		{ "--echo=yes", NULL, NULL },   /* a flag takes no value */
		{ "stray", NULL, NULL },
		/* Not an option of most designs, not a method of any. */
		{ "--backend", "nosuch", NULL },
	};
	char path[4096], out[256], err[2048];

	tu_path(path, sizeof path, tu_bin_dir(), d->bin);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *argv[8];
		int argc = 0;

		argv[argc++] = path;
		if (d->backend) {
			argv[argc++] = "--backend";
			argv[argc++] = (char *)d->backend;
		}
		for (int k = 0; k < 3 && cases[i][k]; k++)
			argv[argc++] = (char *)cases[i][k];
		argv[argc] = NULL;
		int st = tu_run(argv, out, sizeof out, err, sizeof err, IO_MS);
		const char *what = cases[i][1] ? cases[i][1] : cases[i][0];

		cr_assert(st >= 0, "%s %s: did not exit: %s", cases[i][0], what, strerror(errno));
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2,
			  "%s %s: wait status 0x%x, want exit 2", cases[i][0], what, st);
		cr_assert_str_empty(out, "%s: printed on stdout: %s", what, out);
		char *nl = strchr(err, '\n');

		cr_assert(nl && nl > err, "%s: no one-line reason on stderr", what);
		cr_assert(strcasestr(nl, "usage"), "%s: no usage after the reason on stderr: %s",
			  what, err);
	}
}

/*
 * Descriptor exhaustion: RLIMIT_NOFILE 64 and 200 clients. Connections the
 * server holds are served, the rest are shed (EOF or reset), emfile counts
 * them, the server does not spin, and once clients leave new ones are served.
 * The fork server is the lesson: its parent holds only the listening socket
 * and each child one connection, so at 64 nobody runs out and all are served.
 */
CONFORMANCE(fd_exhaustion, 60)
{
	struct tu_proc srv;
	struct tu_json j;
	enum { N = 200 };
	static struct client c[N];
	int forks = strcmp(d->name, "fork") == 0, closed;
	long tck = sysconf(_SC_CLK_TCK);

	tu_raise_nofile();
	int idle;

	design_start(&srv, d, 64, NULL);
	int keep = sentinel(&srv, &idle);

	connect_clients(c, N, &srv);
	/* The fork server's 200 forks are work, not spinning: let them happen
	 * before the window. The others shed in microseconds. */
	if (forks)
		exchange_all(c, N, MANY_MS);

	/* A one-second window with every descriptor taken. A server that retried
	 * accept() on EMFILE instead of shedding would burn a CPU here. */
	long long t0 = tu_now_ms(), cpu0 = tu_pgrp_cpu_ticks(srv.pid);
	poll(NULL, 0, 1000);
	long long cpu1 = tu_pgrp_cpu_ticks(srv.pid), t1 = tu_now_ms();
	double share = (double)(cpu1 - cpu0) / tck / ((double)(t1 - t0) / 1000);

	cr_assert(share < 0.2, "the server used %.0f%% of a CPU while out of descriptors",
		  share * 100);

	if (!forks)
		exchange_all(c, N, MANY_MS);
	int answered = check_replies(c, N, &closed, &srv);

	if (forks) {
		cr_assert_eq(answered, N, "fork: %d of %d answered", answered, N);
	} else {
		cr_assert(answered > 0 && answered < 64,
			  "%d answered, %d shed: want 1..62 answered at RLIMIT_NOFILE 64",
			  answered, closed);
	}

	close_clients(c, N);
	wait_fds_at_most(&srv, idle);
	serve_one(&srv, "Served again\n", 13);
	close(keep);
	sc_stop(&srv, d, &j);
	if (forks)
		sc_expect(&j, "emfile", 0);
	else
		cr_assert_gt(tu_json_int(&j, "emfile"), 0, "no EMFILE counted with %d shed", closed);
}

/*
 * select(2) cannot watch a descriptor >= FD_SETSIZE: the select server must
 * refuse those connections and count them. With 1,100 clients held open, the
 * first FD_SETSIZE - base are served (base: the descriptors the server holds
 * with one client, 0 to base-1: each new connection takes the lowest free
 * one) and every other one is refused, exactly.
 */
Test(select, fd_setsize, .timeout = 90, .fini = tu_kill_all)
{
	static const struct design sel = { "select", "rot13-select", "select", NULL };
	const struct design *d = &sel;
	struct tu_proc srv;
	struct tu_json j;
	enum { N = 1100 };
	static struct client c[N];
	int fds[64], closed;

	if (!have_design(d, "fd_setsize"))
		return;
	cr_assert(tu_raise_nofile() >= N + 100, "RLIMIT_NOFILE hard limit too low for %d clients", N);
	int nfds;

	design_start(&srv, d, 0, NULL);
	int keep = sentinel(&srv, &nfds);
	int base = tu_proc_fds(srv.pid, fds, 64);

	cr_assert(base > 0 && base < 64);
	for (int i = 0; i < base; i++)
		cr_assert_eq(fds[i], i, "the server's descriptors are not 0..%d", base - 1);
	int served = FD_SETSIZE_ - base, refused = N - served;

	connect_clients(c, N, &srv);
	exchange_all(c, N, MANY_MS);
	int answered = check_replies(c, N, &closed, &srv);

	cr_assert_eq(answered, served, "%d answered, want %d (FD_SETSIZE - %d)", answered, served,
		     base);
	cr_assert_eq(closed, refused);
	for (int i = 0; i < served; i++)
		cr_assert_eq(c[i].state, ANSWERED, "client %d (fd %d on the server) refused", i, base + i);
	close_clients(c, N);
	close(keep);
	sc_stop(&srv, d, &j);
	sc_expect(&j, "fd_setsize_refused", refused);
	sc_expect(&j, "emfile", 0);
}

/*
 * epoll-mt's reactors each accept on their own SO_REUSEPORT listener. With
 * --threads 3 and 300 clients (more threads than this machine may have
 * CPUs: the count is the option's, not the CPUs'), every reactor gets some
 * of them (the kernel's hash leaves one empty with odds of about 5 in 10^53),
 * each client is answered on whichever thread took it, and the stop report
 * adds up: one figure per thread, summing to `accepted`, the shared
 * counters aggregated over the threads. --threads 0 is bad input.
 */
Test(epoll_mt, threads_share_the_load, .timeout = 90, .fini = tu_kill_all)
{
	static const struct design mt = { "epoll_mt", "rot13-epoll-mt", "epoll-mt", NULL };
	const struct design *d = &mt;
	struct tu_proc srv;
	struct tu_json j;
	enum { N = 300, THREADS = 3 };
	static struct client c[N];
	int closed;

	if (!have_design(d, "threads_share_the_load"))
		return;
	cr_assert(tu_raise_nofile() >= N + 100, "RLIMIT_NOFILE hard limit too low for %d clients", N);
	design_start(&srv, d, 0, "--threads", "3", NULL);
	connect_clients(c, N, &srv);
	exchange_all(c, N, MANY_MS);
	cr_assert_eq(check_replies(c, N, &closed, &srv), N, "%d clients closed unanswered", closed);
	close_clients(c, N);
	sc_stop(&srv, d, &j);
	sc_expect(&j, "accepted", N);
	sc_expect(&j, "lines", N);
	sc_expect(&j, "threads", THREADS);
	const struct tu_json_field *f = tu_json_get(&j, "accepted_by_thread");

	cr_assert(f && f->items == THREADS, "accepted_by_thread: %d figures, want %d",
		  f ? f->items : -1, THREADS);
	cr_assert_eq(f->i, N, "accepted_by_thread sums to %lld, want %d", f->i, N);
	cr_assert_gt(f->min, 0, "a reactor accepted no connection of %d", N);

	char path[4096], out[256], err[512];

	tu_path(path, sizeof path, tu_bin_dir(), d->bin);
	char *argv[] = { path, "--threads", "0", NULL };
	int st = tu_run(argv, out, sizeof out, err, sizeof err, IO_MS);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "--threads 0: status %#x", st);
}
