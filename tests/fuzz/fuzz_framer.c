/*
 * fuzz_framer.c — libFuzzer target for the servers' line framer
 * (servers/srv_conn.c: srv_conn_readable, srv_conn_writable and what they call:
 * the line buffer, --max-line and oversize, the reply queue, --max-pending).
 *
 * It checks DESIGN.md's invariant, not only that nothing crashes: the bytes a
 * connection writes are exactly rot13 of the bytes it read, in order, however
 * the input is cut into reads and whatever --max-line and --max-pending are.
 * It also checks when they are written: after each read, everything up to the
 * last '\n' or the last full --max-line of a line without one, and nothing
 * more; and, at the end, the counters (bytes_in, bytes_out, lines, oversize).
 * The expected values come from a byte-at-a-time model of the protocol
 * written here, never from the code under test.
 *
 * The connection is one end of a socketpair, driven as a server's loop would
 * drive it: the fuzzer writes a chunk to the other end, then the connection
 * reads when its mask says SRV_READ and bytes wait (as a level-triggered loop
 * would; with `edge`, a read takes the edge-triggered turn, which only
 * changes how much it reads) and writes when it says SRV_WRITE, while
 * the "client" reads its replies a few bytes at a time. A lazy client reads
 * only when --max-pending has stopped the connection's reading (or after its
 * EOF), so that replies pile up in the socket, the small send buffer fills,
 * writes come up short and replies queue behind replies.
 *
 * Input: 5 header bytes, then chunks, each a length byte and that many bytes:
 *   [0..1] max_line = 1 + (big-endian u16 % 2048)
 *   [2]    max_pending = 1 + byte * 64
 *   [3]    bit 0: edge (srv_conn_readable's turn for edge-triggered loops);
 *          bit 1: a small SO_SNDBUF, so that writes come up short;
 *          bit 2: a lazy client
 *   [4]    the client reads this many bytes at a time (0: 64 KiB)
 */
#include "srv.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Rounds of pump() before calling it a hang: a round that moves no reply
 * byte to the client frees room for the connection's next write, and the
 * replies are no longer than the input (a few KiB). */
#define MAX_ROUNDS 100000

static unsigned char rot13(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return (unsigned char)('a' + (c - 'a' + 13) % 26);
	if (c >= 'A' && c <= 'Z')
		return (unsigned char)('A' + (c - 'A' + 13) % 26);
	return c;
}

/* What the protocol says the server owes after each byte it read. */
struct model {
	size_t max_line;
	size_t run;      /* bytes held for the current line */
	size_t flushed;  /* input bytes whose replies are due */
	uint64_t lines, oversize;
};

static void model_feed(struct model *m, const uint8_t *p, size_t n, size_t base)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			m->lines++;
			m->run = 0;
			m->flushed = base + i + 1;
		} else if (++m->run == m->max_line) { /* the buffer is full: send it */
			m->oversize++;
			m->run = 0;
			m->flushed = base + i + 1;
		}
	}
}

static void fail(const char *what, size_t a, size_t b)
{
	fprintf(stderr, "fuzz_framer: %s (%zu vs %zu)\n", what, a, b);
	abort();
}

struct run {
	struct srv_conn *c;
	int peer;
	int want;
	bool edge, lazy, eof_sent;
	size_t peer_read;
	uint8_t *got;   /* replies received */
	size_t got_len, cap;
};

/* Bytes waiting to be read on the server's end. */
static int unread(int fd)
{
	int n = 0;
	ioctl(fd, FIONREAD, &n);
	return n;
}

/* The client reads once, at most peer_read bytes. Returns the count. */
static size_t client_read(struct run *r)
{
	if (r->got_len == r->cap)
		fail("more replies than input", r->got_len, r->cap);
	size_t room = r->cap - r->got_len;
	ssize_t n = read(r->peer, r->got + r->got_len, room < r->peer_read ? room : r->peer_read);
	if (n > 0)
		r->got_len += (size_t)n;
	else if (n == 0 || errno != EAGAIN)
		fail("client read failed", (size_t)n, (size_t)errno);
	return n > 0 ? (size_t)n : 0;
}

/*
 * Runs the connection until it has read everything sent so far and sent
 * everything it queued; for a lazy client, until it has read everything, so
 * that replies may still wait in its queue when the next chunk comes (and
 * are queued behind them). After the client's EOF: until it asks to close.
 */
static void pump(struct run *r)
{
	for (int round = 0; round < MAX_ROUNDS; round++) {
		bool input = unread(r->c->fd) > 0 || (r->eof_sent && !r->c->eof);
		bool flushed = srv_conn_pending(r->c) == 0 || (r->lazy && !r->eof_sent);
		if (r->want == SRV_CLOSE || (!input && flushed))
			return;
		if ((r->want & SRV_READ) && input)
			r->want = srv_conn_readable(r->c, r->edge);
		if (!r->lazy || !(r->want & SRV_READ) || r->eof_sent)
			client_read(r);
		if (r->want & SRV_WRITE)
			r->want = srv_conn_writable(r->c);
	}
	fail("no progress", MAX_ROUNDS, 0);
}

/*
 * Compares the replies with what is due: every byte of them must have been
 * sent, in order. The client takes what reached its socket first, unless it
 * is lazy: then the bytes read, those in the socket and those still queued
 * must add up to what is due, and what was read must be its beginning.
 */
static void check_replies(struct run *r, const uint8_t *in, size_t due, bool all)
{
	if (!r->lazy || all)
		while (r->got_len < r->cap && client_read(r) > 0)
			;
	size_t sent = r->got_len + (size_t)unread(r->peer) + srv_conn_pending(r->c);
	if (sent != due)
		fail("reply bytes differ from what is due", sent, due);
	if (all && r->got_len != due)
		fail("replies received differ from what is due", r->got_len, due);
	for (size_t i = 0; i < r->got_len; i++)
		if (r->got[i] != rot13(in[i]))
			fail("reply byte is not rot13 of its input byte at", i, r->got[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char *args[] = { "rot13-fuzz", NULL };
	(void)argc, (void)argv;
	srv_init("fuzz", 1, args, 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5)
		return 0;
	srv_opts.max_line = 1 + ((size_t)data[0] << 8 | data[1]) % 2048;
	srv_opts.max_pending = 1 + (size_t)data[2] * 64;
	struct run r = { .want = SRV_READ, .edge = data[3] & 1, .lazy = data[3] & 4,
			 .peer_read = data[4] ? data[4] : 65536 };
	struct model m = { .max_line = srv_opts.max_line };
	memset(srv_ctr, 0, sizeof *srv_ctr);

	/* The input, without the framing, is what the client sends. */
	uint8_t *in = malloc(size), *p = (uint8_t *)data + 5;
	size_t in_len = 0;
	const uint8_t *end = data + size;
	int sv[2];
	if (!in || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		fail("setup", 0, (size_t)errno);
	if (data[3] & 2) {
		int small = 1; /* the kernel rounds it up to its minimum */
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	}
	r.peer = sv[1];
	r.cap = size;
	r.got = malloc(size);
	r.c = srv_conn_new(sv[0]);
	if (!r.got || !r.c)
		fail("setup", 0, 0);

	while (p < end) {
		size_t n = *p++;
		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		if (n == 0)
			continue;
		if (write(sv[1], p, n) != (ssize_t)n)
			fail("client write", n, (size_t)errno);
		memcpy(in + in_len, p, n);
		model_feed(&m, p, n, in_len);
		in_len += n;
		p += n;
		pump(&r);
		check_replies(&r, in, m.flushed, false);
	}

	/* Half-close: the server sends what it still holds, then closes. */
	shutdown(sv[1], SHUT_WR);
	r.eof_sent = true;
	pump(&r);
	if (r.want != SRV_CLOSE)
		fail("connection not closed after EOF and flush", (size_t)r.want, 0);
	check_replies(&r, in, in_len, true);

	const struct srv_counters *k = srv_ctr;
	if (k->bytes_in != in_len || k->bytes_out != in_len)
		fail("bytes_in/bytes_out", (size_t)k->bytes_in, (size_t)k->bytes_out);
	if (k->lines != m.lines)
		fail("lines", (size_t)k->lines, (size_t)m.lines);
	if (k->oversize != m.oversize)
		fail("oversize", (size_t)k->oversize, (size_t)m.oversize);
	if (k->errors != 0 || k->resets != 0)
		fail("errors/resets", (size_t)k->errors, (size_t)k->resets);

	srv_conn_free(r.c);
	close(sv[1]);
	free(r.got);
	free(in);
	return 0;
}
