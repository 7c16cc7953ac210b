/*
 * engine.c - a load thread: its connections, its epoll loop, sending and
 * verifying. run.c starts the threads and moves them through the phases.
 *
 * Hot-path choices, each for a measured reason:
 *  - io_uring where the kernel has it (the section "io_uring mode" below):
 *    a client that makes as many system calls per request as an epoll server
 *    costs as much CPU per request as that server, and cannot measure it.
 *  - Otherwise edge-triggered epoll, registered once per connection. EPOLLOUT is only
 *    looked at while a write is pending, so no epoll_ctl per request. Reads
 *    stop at the first short read: on TCP a short read means the queue was
 *    empty, and any later byte raises a new edge. That saves the read that
 *    would only return EAGAIN.
 *  - Requests are not stored. A request is a window of size-1 bytes on a
 *    per-thread random tape plus '\n'; the window's offset is a hash of the
 *    connection and the sequence number, so it can be rebuilt at any time.
 *    Pipelined requests go out in one send() from a per-thread scratch buffer,
 *    and a reply is compared in place, in the receive buffer, with the same
 *    window of the tape's rot13 twin: no copy per reply.
 *  - Each thread owns its counters and histograms. The controller only sees
 *    a few live counters, stored with relaxed atomics once per loop pass.
 */
#include "engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TAPE_SLACK        4096     /* distinct windows per tape */
#define RBUF_SIZE         (64 * 1024)
#define WBUF_SIZE         (256 * 1024)
#define MAX_EVENTS        512
#define CONNECTS_IN_FLIGHT 256     /* per thread: a ramp even without --connect-rate */
#define SWEEP_MIN_NS      (10 * 1000000ull)
#define SWEEP_MAX_NS      (500 * 1000000ull)
#define BACKOFF_MIN_NS    (10 * 1000000ull)
#define BACKOFF_MAX_NS    (1000 * 1000000ull)
#define STOP_DRAIN_NS     (250 * 1000000ull)
#define MAX_DRAIN_NS      (2000 * 1000000ull)
#define WAKE_TOKEN        UINT64_MAX

enum cstate { C_DOWN, C_CONNECTING, C_UP, C_RETIRED };

struct conn {
	int      fd;
	uint8_t  state;
	uint8_t  active;           /* carries requests */
	uint8_t  want_write;       /* a send stopped short; waiting for EPOLLOUT */
	uint8_t  bad;              /* the reply being read already differs */
	uint8_t  send_pending;     /* io_uring: a SEND of this slot is in flight */
	uint8_t  recv_pending;     /* io_uring: a RECV of this slot is in flight */
	uint16_t src;              /* index into the source addresses */
	uint32_t id;               /* global slot number */
	uint32_t gen;              /* connection generation: drops events of a closed socket */
	int32_t  heap_pos;         /* open loop: position in the thread's timer heap, -1 if none */
	uint32_t woff;             /* bytes of request wnext already sent */
	uint32_t roff;             /* bytes of reply rseq already received */
	uint64_t wnext;            /* request the next unsent byte belongs to */
	uint64_t upto;             /* requests [0, upto) are decided; the writer catches up */
	uint64_t rseq;             /* request whose reply is being read */
	uint64_t conn_base;        /* first request on the current connection */
	uint64_t out_bytes, in_bytes; /* on the current connection, to catch extra bytes */
	uint64_t t_start;          /* connect started (ns) */
	uint64_t retry_at;         /* C_DOWN: when to reconnect (ns), 0 = not scheduled */
	uint64_t backoff;          /* current reconnect backoff (ns) */
	double   sched_base;       /* open loop: intended time of request 0 (ns) */
	uint64_t send_ts;          /* io_uring: when the in-flight SEND was submitted */
	uint64_t *t_sent;          /* pipeline slots: actual send time of request seq % pipeline */
};

struct heap_ent {
	double   due;
	uint32_t conn;
};

/* ---- small helpers --------------------------------------------------------- */

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Offset of request seq of slot id on the tape. */
static inline uint32_t window(uint32_t id, uint64_t seq)
{
	return (uint32_t)(mix64(((uint64_t)id << 40) ^ seq) % TAPE_SLACK);
}

static inline char rot13(char c)
{
	if (c >= 'a' && c <= 'z')
		return (char)('a' + (c - 'a' + 13) % 26);
	if (c >= 'A' && c <= 'Z')
		return (char)('A' + (c - 'A' + 13) % 26);
	return c;
}

void lg__poke(int fd)
{
	uint64_t one = 1;
	ssize_t r;
	do
		r = write(fd, &one, sizeof one);
	while (r < 0 && errno == EINTR);
}

static void publish(struct lthread *t)
{
	__atomic_store_n(&t->live.conns_up, t->conns_up, __ATOMIC_RELAXED);
	__atomic_store_n(&t->live.requests, t->a_requests, __ATOMIC_RELAXED);
	__atomic_store_n(&t->live.replies, t->a_replies, __ATOMIC_RELAXED);
	__atomic_store_n(&t->live.errors, t->a_errors, __ATOMIC_RELAXED);
}

static void count_error(struct lthread *t, int cause)
{
	if (cause <= 0)
		cause = LG_CAUSE_OTHER;
	else if (cause > LG_ERRNO_MAX && cause < LG_CAUSE_VERIFY_MISMATCH)
		cause = LG_CAUSE_OTHER;
	t->a_errors++;
	if (cause == EMFILE)
		t->fd_emfile++;
	else if (cause == ENFILE)
		t->fd_enfile++;
	else if (cause == EADDRNOTAVAIL)
		t->fd_eaddrnotavail++;
	else
		t->errors[t->phase][cause]++;
}

static inline bool is_fd_limit(int e)
{
	return e == EMFILE || e == ENFILE || e == EADDRNOTAVAIL;
}

static inline bool sending_phase(const struct lthread *t)
{
	return t->phase == LG_PHASE_WARMUP || t->phase == LG_PHASE_MEASURE;
}

/* ---- open-loop timer heap (min-heap on due time) ------------------------------- */

static void heap_swap(struct lthread *t, uint32_t a, uint32_t b)
{
	struct heap_ent e = t->heap[a];
	t->heap[a] = t->heap[b];
	t->heap[b] = e;
	t->conns[t->heap[a].conn].heap_pos = (int32_t)a;
	t->conns[t->heap[b].conn].heap_pos = (int32_t)b;
}

static void heap_push(struct lthread *t, uint32_t ci, double due)
{
	uint32_t i = t->heap_len++;
	t->heap[i].due = due;
	t->heap[i].conn = ci;
	t->conns[ci].heap_pos = (int32_t)i;
	while (i > 0 && t->heap[(i - 1) / 2].due > t->heap[i].due) {
		heap_swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static uint32_t heap_pop(struct lthread *t)
{
	uint32_t ci = t->heap[0].conn;
	t->heap_len--;
	if (t->heap_len) {
		heap_swap(t, 0, t->heap_len);
		uint32_t i = 0;
		for (;;) {
			uint32_t l = 2 * i + 1, r = l + 1, m = i;
			if (l < t->heap_len && t->heap[l].due < t->heap[m].due)
				m = l;
			if (r < t->heap_len && t->heap[r].due < t->heap[m].due)
				m = r;
			if (m == i)
				break;
			heap_swap(t, i, m);
			i = m;
		}
	}
	t->conns[ci].heap_pos = -1;
	return ci;
}

/* ---- connections --------------------------------------------------------------- */

static void conn_connect(struct lthread *t, struct conn *c, uint64_t now);
static void pump(struct lthread *t, struct conn *c, uint64_t now);
static void ur_recv(struct lthread *t, struct conn *c);
static void ur_connect(struct lthread *t, struct conn *c);

/* Requests started on c (first byte sent) and not yet answered. */
static inline uint64_t started(const struct conn *c)
{
	return c->wnext + (c->woff > 0);
}

/* Closes c. Requests still outstanding are abandoned: the caller has counted
 * the failure that made them so. With retry, the slot reconnects after its
 * backoff (0 = at once). */
static void conn_close(struct lthread *t, struct conn *c, bool retry, uint64_t backoff, uint64_t now)
{
	if (c->state == C_CONNECTING)
		t->connecting--;
	if (c->state == C_UP)
		t->conns_up--;
	if (c->fd >= 0) {
		/* io_uring: an operation in flight holds the socket open past
		 * close(); shutdown() makes it complete now (its completion, of an
		 * older generation, is then ignored). */
		if (t->ur && (c->recv_pending || c->send_pending || c->state == C_CONNECTING))
			shutdown(c->fd, SHUT_RDWR);
		close(c->fd);
		if (c->state == C_UP)
			t->closes++;
	}
	c->fd = -1;
	uint64_t s = started(c);
	t->inflight -= c->upto - c->rseq;
	if (c->woff)
		c->wnext++;
	c->woff = c->roff = 0;
	c->rseq = c->upto = s;
	c->want_write = c->bad = 0;
	c->state = C_DOWN;
	c->retry_at = 0;
	if (retry) {
		if (backoff == 0) {
			conn_connect(t, c, now);
		} else {
			c->retry_at = now + backoff;
			if (c->retry_at < t->next_sweep)
				t->next_sweep = c->retry_at;
		}
	}
}

/* A failure on an established or connecting slot: count, close, retry with a
 * growing backoff, so that a dead server is not hammered. */
static void conn_fail(struct lthread *t, struct conn *c, int cause, uint64_t now)
{
	count_error(t, cause);
	if (c->state == C_CONNECTING)
		t->connect_failures++;
	c->backoff = c->backoff ? c->backoff * 2 : BACKOFF_MIN_NS;
	if (c->backoff > BACKOFF_MAX_NS)
		c->backoff = BACKOFF_MAX_NS;
	bool retry = t->phase != LG_PHASE_CONNECT && t->phase < LG_PHASE_DRAIN;
	conn_close(t, c, retry, c->backoff, now);
	if (t->phase == LG_PHASE_CONNECT) {
		/* The connect phase tries each slot once. A slot refused for a
		 * descriptor limit stays down (retrying would only count the same
		 * limit again); any other failure is retried once the load starts. */
		if (is_fd_limit(cause))
			c->state = C_RETIRED;
		else
			c->retry_at = now + c->backoff;
	}
}

static void conn_established(struct lthread *t, struct conn *c, uint64_t now)
{
	c->state = C_UP;
	t->connecting--;
	t->conns_up++;
	if (t->conns_up > t->conns_peak)
		t->conns_peak = t->conns_up;
	t->connects++;
	t->src_connects[c->src]++;
	c->backoff = 0;
	c->conn_base = c->wnext;
	c->out_bytes = c->in_bytes = 0;
	hist_record(&t->conn_lat, now - c->t_start);
	if (t->ur && !c->recv_pending)
		ur_recv(t, c);
	pump(t, c, now);
}

static void conn_connect(struct lthread *t, struct conn *c, uint64_t now)
{
	struct shared *sh = t->sh;
	int fam = sh->dst.ss_family;
	/* io_uring polls for readiness itself; its sockets stay blocking. */
	int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC | (t->ur ? 0 : SOCK_NONBLOCK), 0);
	c->retry_at = 0;
	c->t_start = now;
	c->gen++;
	if (fd < 0) {
		t->connecting++;          /* conn_fail undoes this */
		c->state = C_CONNECTING;
		conn_fail(t, c, errno, now);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->fd = fd;
	c->state = C_CONNECTING;
	t->connecting++;
	if (sh->cfg.n_source_addrs > 0) {
		/* Let connect() pick the port from the full 4-tuple, so one source
		 * address serves each destination with the whole ephemeral range. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		if (bind(fd, (struct sockaddr *)&sh->src[c->src], sh->srclen) < 0) {
			conn_fail(t, c, errno, now);
			return;
		}
	}
	if (t->ur) {
		ur_connect(t, c);
		return;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET,
				  .data.u64 = (uint64_t)c->gen << 32 | (uint64_t)(c - t->conns) };
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		conn_fail(t, c, errno, now);
		return;
	}
	if (connect(fd, (struct sockaddr *)&sh->dst, sh->dstlen) == 0) {
		conn_established(t, c, lg__now_ns());
		return;
	}
	if (errno != EINPROGRESS)
		conn_fail(t, c, errno, now);
}

/* ---- sending ------------------------------------------------------------------- */

/* Open loop: when request seq of c was due (ns, CLOCK_MONOTONIC). */
static inline double intended(const struct lthread *t, const struct conn *c, uint64_t seq)
{
	return c->sched_base + (double)seq * t->interval;
}

/* Copies the unsent bytes of requests [wnext, upto) of c, from its first
 * unsent byte on, into buf: at most cap bytes, the last request possibly cut. */
static size_t build(const struct lthread *t, const struct conn *c, char *buf, size_t cap)
{
	const uint32_t size = (uint32_t)t->sh->cfg.size;
	size_t n = 0;
	uint64_t seq = c->wnext;
	uint32_t off = c->woff;
	while (seq < c->upto && n < cap) {
		if (off < size - 1) {
			size_t k = size - 1 - off;
			if (k > cap - n)
				k = cap - n;
			memcpy(buf + n, t->tape + window(c->id, seq) + off, k);
			n += k;
			off += (uint32_t)k;
			if (n == cap)
				break;
		}
		buf[n++] = '\n';
		off = 0;
		seq++;
	}
	return n;
}

/* Accounts r bytes of c that left at `now`: every request whose first byte
 * is among them starts then. */
static void account_sent(struct lthread *t, struct conn *c, size_t r, uint64_t now)
{
	const uint32_t size = (uint32_t)t->sh->cfg.size;
	const uint32_t depth = (uint32_t)t->sh->cfg.pipeline;
	bool measure = t->phase == LG_PHASE_MEASURE;
	size_t left = r;
	while (left > 0) {
		if (c->woff == 0) {
			c->t_sent[c->wnext % depth] = now;
			t->a_requests++;
			if (measure) {
				t->m_requests++;
				if (t->sh->open_loop) {
					/* Late: the client, or the in-flight cap. */
					double due = intended(t, c, c->wnext);
					hist_record(&t->send_lag, (double)now > due
						    ? (uint64_t)((double)now - due) : 0);
				}
			}
		}
		size_t rest = size - c->woff;
		if (left >= rest) {
			left -= rest;
			c->woff = 0;
			c->wnext++;
		} else {
			c->woff += (uint32_t)left;
			left = 0;
		}
	}
	c->out_bytes += r;
	if (measure)
		t->m_bytes_out += r;
}

static void ur_write(struct lthread *t, struct conn *c);

/* Writes requests [started, upto) of c, batched into as few send() calls as
 * the scratch buffer allows. Stops at EAGAIN and waits for EPOLLOUT. With
 * io_uring, queues one SEND instead (see ur_write). */
static void do_write(struct lthread *t, struct conn *c)
{
	if (t->ur) {
		ur_write(t, c);
		return;
	}
	while (c->wnext < c->upto) {
		size_t n = build(t, c, t->wbuf, WBUF_SIZE);
		uint64_t now = lg__now_ns();
		ssize_t r = send(c->fd, t->wbuf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->want_write = 1;
				return;
			}
			conn_fail(t, c, errno, now);
			return;
		}
		account_sent(t, c, (size_t)r, now);
		if ((size_t)r < n) {
			c->want_write = 1;
			return;
		}
	}
	c->want_write = 0;
}

/* How many more requests this thread may start in the measure phase of a
 * --requests run: the quota less what is verified and what is in flight. */
static inline uint64_t quota_room(const struct lthread *t)
{
	if (!t->sh->cfg.requests || t->phase != LG_PHASE_MEASURE)
		return UINT64_MAX;
	uint64_t used = t->m_replies + t->m_mismatch + t->inflight;
	return used >= t->quota ? 0 : t->quota - used;
}


/* Decides what c sends next and sends it: in closed loop, enough to keep
 * `pipeline` requests in flight; in open loop, every request whose intended
 * time has come, up to `pipeline` in flight, then a timer for the next one. */
static void pump(struct lthread *t, struct conn *c, uint64_t now)
{
	const struct lg_config *cfg = &t->sh->cfg;
	if (c->state != C_UP || !c->active || !sending_phase(t))
		return;
	if (c->want_write)
		return;
	uint64_t limit = c->rseq + (uint64_t)cfg->pipeline;
	if (cfg->requests_per_conn && limit > c->conn_base + cfg->requests_per_conn)
		limit = c->conn_base + cfg->requests_per_conn;
	uint64_t room = quota_room(t);
	uint64_t s = started(c);
	if (limit > c->upto && limit - c->upto > room)
		limit = c->upto + room;
	if (t->sh->open_loop) {
		uint64_t upto = s;
		while (upto < limit && intended(t, c, upto) <= (double)now)
			upto++;
		if (upto > c->upto) {
			t->inflight += upto - c->upto;
			c->upto = upto;
		}
		if (c->upto > c->wnext || c->woff)
			do_write(t, c);
		if (c->state == C_UP && c->upto < limit && c->heap_pos < 0)
			heap_push(t, (uint32_t)(c - t->conns), intended(t, c, c->upto));
	} else {
		if (limit > c->upto) {
			t->inflight += limit - c->upto;
			c->upto = limit;
		}
		if (c->upto > c->wnext)
			do_write(t, c);
	}
}

/* ---- receiving ----------------------------------------------------------------- */

/* A reply completed: count it, record its latency, recycle the connection
 * if it has served its requests_per_conn. */
static void reply_done(struct lthread *t, struct conn *c, uint64_t now)
{
	const uint32_t depth = (uint32_t)t->sh->cfg.pipeline;
	bool measure = t->phase == LG_PHASE_MEASURE;
	t->inflight--;
	if (c->bad) {
		count_error(t, LG_CAUSE_VERIFY_MISMATCH);
		if (measure)
			t->m_mismatch++;
		c->bad = 0;
	} else {
		t->a_replies++;
		if (measure) {
			uint64_t sent = c->t_sent[c->rseq % depth];
			t->m_replies++;
			if (t->sh->open_loop) {
				double due = intended(t, c, c->rseq);
				uint64_t corr = (double)now > due ? (uint64_t)((double)now - due) : 0;
				hist_record(&t->lat, corr);
				hist_record(&t->lat_unc, now - sent);
			} else {
				hist_record(&t->lat, now - sent);
			}
		}
	}
	c->rseq++;
	c->roff = 0;
}

/* Checks n received bytes against the expected replies, in place. Returns
 * false when c was closed (it received bytes nobody asked for). */
static bool consume(struct lthread *t, struct conn *c, const char *p, size_t n, uint64_t now)
{
	const uint32_t size = (uint32_t)t->sh->cfg.size;
	c->in_bytes += n;
	if (t->phase == LG_PHASE_MEASURE)
		t->m_bytes_in += n;
	if (c->in_bytes > c->out_bytes) {
		/* More bytes than were sent: the stream is not rot13 of ours. */
		count_error(t, LG_CAUSE_VERIFY_MISMATCH);
		if (t->phase == LG_PHASE_MEASURE)
			t->m_mismatch++;
		conn_close(t, c, sending_phase(t), BACKOFF_MIN_NS, now);
		return false;
	}
	while (n > 0) {
		const char *exp = t->rtape + window(c->id, c->rseq);
		uint32_t body = size - 1;
		if (c->roff < body) {
			size_t k = body - c->roff;
			if (k > n)
				k = n;
			if (!c->bad && memcmp(p, exp + c->roff, k) != 0)
				c->bad = 1;
			p += k;
			n -= k;
			c->roff += (uint32_t)k;
			if (n == 0)
				break;
		}
		if (*p != '\n')
			c->bad = 1;
		p++;
		n--;
		reply_done(t, c, now);
	}
	return true;
}

/* Replies were consumed: recycle a connection that has served its share,
 * else send what may be sent now. */
static void after_read(struct lthread *t, struct conn *c, uint64_t now)
{
	const struct lg_config *cfg = &t->sh->cfg;
	if (cfg->requests_per_conn && c->rseq - c->conn_base >= cfg->requests_per_conn &&
	    started(c) == c->rseq) {
		/* Served its share: close and open a fresh connection at once. */
		conn_close(t, c, sending_phase(t), 0, now);
		return;
	}
	pump(t, c, now);
}

static void do_read(struct lthread *t, struct conn *c)
{
	uint64_t now;
	for (;;) {
		ssize_t r = recv(c->fd, t->rbuf, RBUF_SIZE, 0);
		now = lg__now_ns();
		if (r > 0) {
			if (!consume(t, c, t->rbuf, (size_t)r, now))
				return;
			if (r < RBUF_SIZE)
				break;
			continue;
		}
		if (r == 0) {
			/* The server closed. After a drain that is expected; otherwise it
			 * is a failure whether or not requests were outstanding. */
			if (t->phase >= LG_PHASE_DRAIN && started(c) == c->rseq) {
				conn_close(t, c, false, 0, now);
				return;
			}
			conn_fail(t, c, LG_CAUSE_EOF, now);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		conn_fail(t, c, errno, now);
		return;
	}
	/* The receive's own clock reading serves for what follows: clock_gettime
	 * is 30 ns here, about 1% of a request's whole cost. */
	after_read(t, c, now);
}

static void on_event(struct lthread *t, struct conn *c, uint32_t ev)
{
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			conn_fail(t, c, err, lg__now_ns());
			return;
		}
		if (!(ev & (EPOLLOUT | EPOLLIN)))
			return;
		conn_established(t, c, lg__now_ns());
		if (c->state != C_UP)
			return;
	}
	if (c->state != C_UP)
		return;
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		do_read(t, c);
		if (c->state != C_UP)
			return;
	}
	if ((ev & EPOLLOUT) && c->want_write) {
		do_write(t, c);
		if (c->state == C_UP && !c->want_write)
			pump(t, c, lg__now_ns());
	}
}


/* ---- io_uring mode -------------------------------------------------------------- */

/* Each connection keeps one multishot RECV armed (the counterpart of an epoll
 * registration: armed once, a completion per arrival) drawing from a ring of
 * buffers the thread hands back as soon as a reply is checked, and at most
 * one SEND from its own small buffer; CONNECT and the wake-up eventfd's POLL
 * go through the ring too. Completions are handled in the order they come; the
 * SENDs they queue leave with the next io_uring_enter(), which also waits for
 * the next completions: one system call for a whole batch of requests. A
 * completion carries the slot, the operation and the slot's generation, so
 * one that belongs to a socket already closed is recognised and dropped. */

struct uring {
	int       fd;
	unsigned *sq_head, *sq_tail, *sq_array, sq_mask, sq_entries;
	unsigned *cq_head, *cq_tail, cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	void     *sq_map, *cq_map;
	size_t    sq_len, cq_len, sqes_len;
	uint32_t  icap, ocap;        /* receive buffer size, per-connection send buffer size */
	char     *ibufs, *obufs;     /* nbufs receive buffers; a send buffer per connection */
	struct io_uring_buf_ring *br;
	size_t    br_len;
	unsigned  nbufs;
	uint32_t *sendq, nsendq;     /* slots whose SEND was queued since the last enter */
	uint64_t  pending;           /* operations in flight, the wake-up poll excepted */
	bool      disabled;          /* created disabled: the load thread enables it */
};

enum { OP_RECV, OP_SEND, OP_CONNECT, OP_WAKE };
#define UR_GEN_MASK 0x3fffffffu

static inline uint64_t ur_data(int op, const struct conn *c, uint32_t idx)
{
	return (uint64_t)op << 62 | (uint64_t)(c->gen & UR_GEN_MASK) << 32 | idx;
}

static void ur_enter(struct lthread *t, long long wait_ns);
static void ur_wake(struct lthread *t);

static struct io_uring_sqe *ur_sqe(struct lthread *t)
{
	struct uring *u = t->ur;
	unsigned tail = *u->sq_tail;
	if (tail - __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE) >= u->sq_entries) {
		ur_enter(t, -1);  /* full: submit what is queued, without waiting */
		tail = *u->sq_tail;
	}
	unsigned i = tail & u->sq_mask;
	struct io_uring_sqe *e = &u->sqes[i];
	memset(e, 0, sizeof *e);
	u->sq_array[i] = i;
	__atomic_store_n(u->sq_tail, tail + 1, __ATOMIC_RELEASE);
	return e;
}

static void ur_recv(struct lthread *t, struct conn *c)
{
	uint32_t idx = (uint32_t)(c - t->conns);
	struct io_uring_sqe *e = ur_sqe(t);
	e->opcode = IORING_OP_RECV;
	e->fd = c->fd;
	e->ioprio = IORING_RECV_MULTISHOT;
	e->flags = IOSQE_BUFFER_SELECT;
	e->buf_group = 0;
	e->user_data = ur_data(OP_RECV, c, idx);
	c->recv_pending = 1;
	t->ur->pending++;
}

/* Hands receive buffer bid back to the kernel. */
static void ur_give_back(struct uring *u, unsigned bid)
{
	unsigned short tail = u->br->tail;
	struct io_uring_buf *b = &u->br->bufs[tail & (u->nbufs - 1)];
	b->addr = (uint64_t)(uintptr_t)(u->ibufs + (size_t)bid * u->icap);
	b->len = u->icap;
	b->bid = (unsigned short)bid;
	__atomic_store_n(&u->br->tail, (unsigned short)(tail + 1), __ATOMIC_RELEASE);
}

static void ur_connect(struct lthread *t, struct conn *c)
{
	uint32_t idx = (uint32_t)(c - t->conns);
	struct io_uring_sqe *e = ur_sqe(t);
	e->opcode = IORING_OP_CONNECT;
	e->fd = c->fd;
	e->addr = (uint64_t)(uintptr_t)&t->sh->dst;
	e->off = t->sh->dstlen;
	e->user_data = ur_data(OP_CONNECT, c, idx);
	t->ur->pending++;
}

/* Queues one SEND of what c has decided to send, unless one is in flight:
 * its completion calls back here for the rest. */
static void ur_write(struct lthread *t, struct conn *c)
{
	struct uring *u = t->ur;
	c->want_write = 0;   /* pump() may always decide more; the SEND follows */
	if (c->send_pending || c->state != C_UP || c->wnext >= c->upto)
		return;
	uint32_t idx = (uint32_t)(c - t->conns);
	char *buf = u->obufs + (size_t)idx * u->ocap;
	size_t n = build(t, c, buf, u->ocap);
	struct io_uring_sqe *e = ur_sqe(t);
	e->opcode = IORING_OP_SEND;
	e->fd = c->fd;
	e->addr = (uint64_t)(uintptr_t)buf;
	e->len = (uint32_t)n;
	e->msg_flags = MSG_NOSIGNAL;
	e->user_data = ur_data(OP_SEND, c, idx);
	c->send_pending = 1;
	u->pending++;
	u->sendq[u->nsendq++] = idx;
}

/* In the load thread, before anything is submitted. */
static void ur_start(struct lthread *t)
{
	if (t->ur->disabled &&
	    syscall(SYS_io_uring_register, t->ur->fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
		abort();  /* a ring we created and nobody else touched */
	t->ur->disabled = false;
	ur_wake(t);
}

static void ur_wake(struct lthread *t)
{
	struct io_uring_sqe *e = ur_sqe(t);
	e->opcode = IORING_OP_POLL_ADD;
	e->fd = t->wakefd;
	e->poll32_events = POLLIN;
	e->user_data = (uint64_t)OP_WAKE << 62;
}

/* Submits what is queued and, with wait_ns >= 0, waits up to that long for
 * one completion. SENDs queued since the last call are submitted on their
 * own first, timed: the kernel runs them one after the other inside that
 * call, so the n-th of N is given the start of the n-th N-th of the call's
 * duration as its send time, as epoll's send() is timed just before it runs.
 * (Stamping them all at the call's start would charge the later ones the
 * time spent sending the earlier ones.) Then the wait, a second call, made
 * only when there is no completion to handle yet. */
static void ur_enter(struct lthread *t, long long wait_ns)
{
	struct uring *u = t->ur;
	long r;
	if (u->nsendq) {
		unsigned queued = *u->sq_tail - __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
		uint64_t t0 = lg__now_ns();
		r = syscall(SYS_io_uring_enter, u->fd, queued, 0, 0, NULL, 0);
		if (r < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY)
			abort();  /* EBADF, EFAULT, EINVAL: our own bug */
		uint64_t span = lg__now_ns() - t0;
		for (uint32_t i = 0; i < u->nsendq; i++)
			t->conns[u->sendq[i]].send_ts = t0 + span * i / u->nsendq;
		u->nsendq = 0;
		if (wait_ns < 0 || *u->cq_head != __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE))
			return;
	}
	unsigned queued = *u->sq_tail - __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
	struct timespec ts = { .tv_sec = (time_t)(wait_ns / 1000000000LL),
			       .tv_nsec = (long)(wait_ns % 1000000000LL) };
	struct io_uring_getevents_arg arg = { .ts = (uint64_t)(uintptr_t)&ts };
	if (wait_ns >= 0)
		r = syscall(SYS_io_uring_enter, u->fd, queued, 1,
			    IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
	else
		r = syscall(SYS_io_uring_enter, u->fd, queued, 0, 0, NULL, 0);
	if (r < 0 && errno != ETIME && errno != EINTR && errno != EAGAIN && errno != EBUSY)
		abort();  /* EBADF, EFAULT, EINVAL: our own bug */
}

static void ur_complete(struct lthread *t, uint64_t data, int res, unsigned flags)
{
	struct uring *u = t->ur;
	int op = (int)(data >> 62);
	if (op == OP_WAKE) {
		uint64_t v;
		if (read(t->wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
			abort();
		ur_wake(t);
		return;
	}
	/* A multishot RECV stays armed, and in flight, while it says F_MORE. */
	bool more = op == OP_RECV && (flags & IORING_CQE_F_MORE);
	if (!more)
		u->pending--;
	struct conn *c = &t->conns[(uint32_t)data];
	bool stale = (uint32_t)(data >> 32 & UR_GEN_MASK) != (c->gen & UR_GEN_MASK);
	uint64_t now = lg__now_ns();
	switch (op) {
	case OP_CONNECT:
		if (stale || c->state != C_CONNECTING)
			return;
		if (res < 0)
			conn_fail(t, c, -res, now);
		else
			conn_established(t, c, now);
		return;
	case OP_SEND:
		c->send_pending = 0;
		if (stale || c->state != C_UP) {
			ur_write(t, c);  /* the slot's new connection may be waiting */
			return;
		}
		if (res < 0) {
			if (res == -EINTR || res == -EAGAIN)
				ur_write(t, c);
			else
				conn_fail(t, c, -res, now);
			return;
		}
		account_sent(t, c, (size_t)res, c->send_ts);
		ur_write(t, c);
		return;
	case OP_RECV: {
		bool has_buf = flags & IORING_CQE_F_BUFFER;
		unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
		if (!more)
			c->recv_pending = 0;
		if (stale || c->state != C_UP) {
			if (has_buf)
				ur_give_back(u, bid);
			if (c->state == C_UP && !c->recv_pending)
				ur_recv(t, c);  /* the slot's new connection */
			return;
		}
		if (res < 0) {
			if (res == -EINTR || res == -EAGAIN || res == -ENOBUFS) {
				if (!c->recv_pending)
					ur_recv(t, c);
			} else {
				conn_fail(t, c, -res, now);
			}
			return;
		}
		if (res == 0) {
			if (has_buf)
				ur_give_back(u, bid);
			if (t->phase >= LG_PHASE_DRAIN && started(c) == c->rseq)
				conn_close(t, c, false, 0, now);
			else
				conn_fail(t, c, LG_CAUSE_EOF, now);
			return;
		}
		bool alive = consume(t, c, u->ibufs + (size_t)bid * u->icap, (size_t)res, now);
		ur_give_back(u, bid);
		if (!alive)
			return;
		if (!c->recv_pending)
			ur_recv(t, c);
		after_read(t, c, now);
		return;
	}
	}
}

/* Waits up to wait_ns for completions and handles every one there is. */
static void ur_poll(struct lthread *t, long long wait_ns)
{
	struct uring *u = t->ur;
	ur_enter(t, wait_ns);
	for (;;) {
		unsigned head = *u->cq_head;
		if (head == __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE))
			break;
		struct io_uring_cqe *e = &u->cqes[head & u->cq_mask];
		uint64_t data = e->user_data;
		int res = e->res;
		unsigned flags = e->flags;
		__atomic_store_n(u->cq_head, head + 1, __ATOMIC_RELEASE);
		ur_complete(t, data, res, flags);
	}
}

static void ur_free(struct uring *u)
{
	if (!u)
		return;
	if (u->sqes && u->sqes != MAP_FAILED)
		munmap(u->sqes, u->sqes_len);
	if (u->cq_map && u->cq_map != MAP_FAILED && u->cq_map != u->sq_map)
		munmap(u->cq_map, u->cq_len);
	if (u->sq_map && u->sq_map != MAP_FAILED)
		munmap(u->sq_map, u->sq_len);
	if (u->fd >= 0)
		close(u->fd);
	if (u->br && u->br != MAP_FAILED)
		munmap(u->br, u->br_len);
	free(u->ibufs);
	free(u->obufs);
	free(u->sendq);
	free(u);
}

static int ur_init(struct lthread *t)
{
	const struct lg_config *cfg = &t->sh->cfg;
	struct uring *u = calloc(1, sizeof *u);
	if (!u)
		return -ENOMEM;
	u->fd = -1;
	t->ur = u;
	/* A RECV per connection, a SEND per connection, CONNECTs, the wake-up. */
	unsigned want = 2 * t->nconns + 64, entries = 64;
	while (entries < want && entries < 32768)
		entries *= 2;
	/* Completion work (the RECV's copy) runs when the thread asks for
	 * completions, never by interrupting it: DEFER_TASKRUN, which needs a
	 * single submitter, the load thread; the ring starts disabled and the
	 * load thread enables it (ur_start), becoming that submitter. Kernels
	 * before 6.1 get COOP_TASKRUN, or nothing. */
	static const unsigned tries[] = {
		IORING_SETUP_CLAMP | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
			IORING_SETUP_R_DISABLED,
		IORING_SETUP_CLAMP | IORING_SETUP_COOP_TASKRUN,
		IORING_SETUP_CLAMP,
	};
	struct io_uring_params p;
	for (size_t k = 0; k < sizeof tries / sizeof tries[0]; k++) {
		memset(&p, 0, sizeof p);
		p.flags = tries[k];
		u->fd = (int)syscall(SYS_io_uring_setup, entries, &p);
		if (u->fd >= 0 || errno != EINVAL)
			break;
	}
	if (u->fd < 0)
		return -errno;
	u->disabled = (p.flags & IORING_SETUP_R_DISABLED) != 0;
	if (!(p.features & IORING_FEAT_EXT_ARG))
		return -ENOSYS;
	u->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	u->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (u->cq_len > u->sq_len)
			u->sq_len = u->cq_len;
		u->cq_len = u->sq_len;
	}
	u->sq_map = mmap(NULL, u->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 u->fd, IORING_OFF_SQ_RING);
	if (u->sq_map == MAP_FAILED)
		return -errno;
	u->cq_map = (p.features & IORING_FEAT_SINGLE_MMAP) ? u->sq_map :
		mmap(NULL, u->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
		     IORING_OFF_CQ_RING);
	if (u->cq_map == MAP_FAILED)
		return -errno;
	u->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       u->fd, IORING_OFF_SQES);
	if (u->sqes == MAP_FAILED)
		return -errno;
	char *sq = u->sq_map, *cq = u->cq_map;
	u->sq_head = (unsigned *)(sq + p.sq_off.head);
	u->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	u->sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask);
	u->sq_entries = *(unsigned *)(sq + p.sq_off.ring_entries);
	u->sq_array = (unsigned *)(sq + p.sq_off.array);
	u->cq_head = (unsigned *)(cq + p.cq_off.head);
	u->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	u->cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);

	/* Small buffers: replies stream through them. A receive buffer is held
	 * only from its completion until its reply is checked, so one per
	 * connection and some spare suffice. */
	uint64_t window_bytes = (uint64_t)cfg->pipeline * (uint64_t)cfg->size;
	u->icap = window_bytes < 256 ? 256 : window_bytes > 4096 ? 4096 : (uint32_t)window_bytes;
	u->ocap = window_bytes < 64 ? 64 : window_bytes > 4096 ? 4096 : (uint32_t)window_bytes;
	size_t n = t->nconns ? t->nconns : 1;
	u->nbufs = 64;
	while (u->nbufs < n + 64 && u->nbufs < 32768)
		u->nbufs *= 2;
	u->ibufs = malloc((size_t)u->nbufs * u->icap);
	u->obufs = malloc(n * u->ocap);
	u->sendq = calloc(n, sizeof *u->sendq);
	if (!u->ibufs || !u->obufs || !u->sendq)
		return -ENOMEM;
	u->br_len = (size_t)u->nbufs * sizeof(struct io_uring_buf);
	u->br = mmap(NULL, u->br_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->br == MAP_FAILED)
		return -errno;
	struct io_uring_buf_reg reg = { .ring_addr = (uint64_t)(uintptr_t)u->br,
					.ring_entries = u->nbufs, .bgid = 0 };
	if (syscall(SYS_io_uring_register, u->fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0)
		return -errno;
	u->br->tail = 0;
	for (unsigned b = 0; b < u->nbufs; b++)
		ur_give_back(u, b);
	return 0;
}

int lg_uring_available(void)
{
	/* Asked once: a ring with a buffer ring, as ur_init() will want them. */
	static int known = -1;
	int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
	if (k >= 0)
		return k;
	int ok = 0;
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	p.flags = IORING_SETUP_CLAMP;
	int fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (fd >= 0) {
		void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct io_uring_buf_reg reg = { .ring_addr = (uint64_t)(uintptr_t)mem,
						.ring_entries = 1, .bgid = 0 };
		ok = (p.features & IORING_FEAT_EXT_ARG) && mem != MAP_FAILED &&
		     syscall(SYS_io_uring_register, fd, IORING_REGISTER_PBUF_RING, &reg, 1) == 0;
		close(fd);
		if (mem != MAP_FAILED)
			munmap(mem, 4096);
	}
	__atomic_store_n(&known, ok, __ATOMIC_RELAXED);
	return ok;
}

/* ---- the thread's loop ----------------------------------------------------------- */

static void start_connects(struct lthread *t, uint64_t now)
{
	while (t->todo_pos < t->ntodo && t->connecting < CONNECTS_IN_FLIGHT) {
		if (t->connect_interval > 0) {
			if ((double)now < t->next_connect)
				return;
			t->next_connect += t->connect_interval;
			if (t->next_connect < (double)now - 1e8)
				t->next_connect = (double)now;  /* no burst after a stall */
		}
		struct conn *c = &t->conns[t->todo[t->todo_pos++]];
		conn_connect(t, c, now);
	}
}

/* Timeouts of connects and replies, and due reconnects. A scan touches every
 * connection, which at 10,000 connections costs cache misses by the
 * thousand, so it runs every tenth of the timeout (a timeout fires between
 * 1.0 and 1.1 times its value), and earlier only for a reconnect that is due. */
static void sweep(struct lthread *t, uint64_t now)
{
	const uint64_t timeout = (uint64_t)(t->sh->cfg.timeout_s * 1e9);
	const uint32_t depth = (uint32_t)t->sh->cfg.pipeline;
	/* In a --requests run, quota freed by failures must reach connections
	 * that stopped for want of it. */
	bool nudge = t->sh->cfg.requests && t->phase == LG_PHASE_MEASURE;
	bool retrying = t->phase != LG_PHASE_CONNECT && t->phase < LG_PHASE_DRAIN;
	uint64_t next = now + t->sweep_every;
	t->next_sweep = UINT64_MAX;  /* reconnects failing below lower it */
	for (uint32_t i = 0; i < t->nconns; i++) {
		struct conn *c = &t->conns[i];
		if (nudge)
			pump(t, c, now);
		switch (c->state) {
		case C_CONNECTING:
			if (now > c->t_start + timeout)
				conn_fail(t, c, LG_CAUSE_TIMEOUT, now);
			break;
		case C_UP:
			/* Send times may be later than `now`, taken before this pass. */
			if (started(c) > c->rseq && now > c->t_sent[c->rseq % depth] + timeout)
				conn_fail(t, c, LG_CAUSE_TIMEOUT, now);
			break;
		case C_DOWN:
			if (c->retry_at && retrying) {
				if (now >= c->retry_at)
					conn_connect(t, c, now);
				else if (c->retry_at < next)
					next = c->retry_at;
			}
			break;
		}
	}
	if (next < t->next_sweep)
		t->next_sweep = next;
}

/* Acts on a phase the controller announced. */
static void enter_phase(struct lthread *t, int phase, uint64_t now)
{
	const struct lg_config *cfg = &t->sh->cfg;
	int old = t->phase;
	t->phase = phase;
	if (old == LG_PHASE_CONNECT && sending_phase(t)) {
		t->next_sweep = now;  /* slots that failed to connect are retried now */
		/* The load starts: open-loop schedules begin now, staggered over
		 * one interval so that the connections do not fire together. */
		uint32_t k = 0;
		for (uint32_t i = 0; i < t->nconns; i++) {
			struct conn *c = &t->conns[i];
			if (!c->active)
				continue;
			if (t->sh->open_loop)
				c->sched_base = (double)now + t->interval *
					((double)k + (double)t->idx / t->sh->nthreads) / t->nactive;
			k++;
			pump(t, c, now);
		}
	} else if (phase == LG_PHASE_DRAIN) {
		uint64_t d = t->sh->stopping ? STOP_DRAIN_NS : (uint64_t)(cfg->timeout_s * 1e9);
		if (d > MAX_DRAIN_NS)
			d = MAX_DRAIN_NS;
		t->drain_deadline = now + d;
	}
}

static void close_all(struct lthread *t, uint64_t now)
{
	for (uint32_t i = 0; i < t->nconns; i++) {
		struct conn *c = &t->conns[i];
		if (c->fd >= 0)
			conn_close(t, c, false, 0, now);
	}
}

void *lg__thread_main(void *arg)
{
	struct lthread *t = arg;
	struct shared *sh = t->sh;
	struct epoll_event evs[MAX_EVENTS];
	bool have_pwait2 = true;

	/* The default 50 us of timer slack would make every open-loop send up
	 * to 50 us late, and the corrected latency would (rightly) charge it. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	t->phase = LG_PHASE_CONNECT;
	uint64_t now = lg__now_ns();
	t->next_connect = (double)now;
	t->sweep_every = (uint64_t)(sh->cfg.timeout_s * 1e8);
	if (t->sweep_every < SWEEP_MIN_NS)
		t->sweep_every = SWEEP_MIN_NS;
	if (t->sweep_every > SWEEP_MAX_NS)
		t->sweep_every = SWEEP_MAX_NS;
	t->next_sweep = now + t->sweep_every;
	if (t->ur)
		ur_start(t);

	for (;;) {
		now = lg__now_ns();
		int p = lg__load_phase(sh);
		if (p != t->phase)
			enter_phase(t, p, now);
		if (t->phase == LG_PHASE_DONE)
			break;
		if (t->phase == LG_PHASE_DRAIN && (t->inflight == 0 || now >= t->drain_deadline))
			break;

		if (t->phase == LG_PHASE_CONNECT) {
			start_connects(t, now);
			if (!t->connect_signalled && t->todo_pos == t->ntodo && t->connecting == 0) {
				t->connect_signalled = true;
				publish(t);  /* conns_up must be current when the controller looks */
				__atomic_store_n(&t->live.connect_done, 1, __ATOMIC_RELEASE);
				lg__poke(sh->ctlfd);
			}
		}
		if (now >= t->next_sweep)
			sweep(t, now);
		while (t->heap_len && t->heap[0].due <= (double)now) {
			struct conn *c = &t->conns[heap_pop(t)];
			pump(t, c, now);
		}
		if (sh->cfg.requests && t->phase == LG_PHASE_MEASURE && !t->quota_signalled &&
		    t->m_replies + t->m_mismatch >= t->quota) {
			t->quota_signalled = true;
			__atomic_store_n(&t->live.quota_done, 1, __ATOMIC_RELEASE);
			lg__poke(sh->ctlfd);
		}
		publish(t);

		/* Sleep until the next thing this thread must do on its own. */
		double wake = (double)t->next_sweep;
		if (t->heap_len && t->heap[0].due < wake)
			wake = t->heap[0].due;
		if (t->phase == LG_PHASE_CONNECT && t->todo_pos < t->ntodo &&
		    t->connecting < CONNECTS_IN_FLIGHT && t->next_connect < wake)
			wake = t->next_connect;
		if (t->phase == LG_PHASE_DRAIN && (double)t->drain_deadline < wake)
			wake = (double)t->drain_deadline;
		double wait = wake - (double)lg__now_ns();
		if (wait < 0)
			wait = 0;
		if (t->ur) {
			ur_poll(t, (long long)wait);
			continue;
		}
		int n;
		if (have_pwait2) {
			struct timespec ts = { .tv_sec = (time_t)(wait / 1e9),
					       .tv_nsec = (long)fmod(wait, 1e9) };
			n = epoll_pwait2(t->epfd, evs, MAX_EVENTS, &ts, NULL);
			if (n < 0 && errno == ENOSYS) {
				have_pwait2 = false;
				continue;
			}
		} else {
			n = epoll_wait(t->epfd, evs, MAX_EVENTS, (int)ceil(wait / 1e6));
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			abort();   /* EBADF/EFAULT/EINVAL: our own bug, not a load condition */
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == WAKE_TOKEN) {
				uint64_t v;
				if (read(t->wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
					abort();
				continue;
			}
			struct conn *c = &t->conns[(uint32_t)evs[i].data.u64];
			/* An event collected before its socket was closed (and the slot
			 * reconnected) in this same batch belongs to no one now. */
			if ((uint32_t)(evs[i].data.u64 >> 32) == c->gen)
				on_event(t, c, evs[i].events);
		}
	}
	close_all(t, lg__now_ns());
	if (t->ur) {
		/* Operations still in flight write into this thread's buffers:
		 * let them complete (shutdown made them short) before freeing. */
		uint64_t until = lg__now_ns() + 1000000000ull;
		while (t->ur->pending && lg__now_ns() < until)
			ur_poll(t, 10000000);
	}
	publish(t);
	return NULL;
}

void lg__thread_free(struct lthread *t)
{
	free(t->conns);
	free(t->tsent_store);
	free(t->tape);
	free(t->rtape);
	free(t->rbuf);
	free(t->wbuf);
	free(t->todo);
	free(t->heap);
	hist_free(&t->lat);
	hist_free(&t->lat_unc);
	hist_free(&t->conn_lat);
	hist_free(&t->send_lag);
	ur_free(t->ur);
	t->ur = NULL;
	if (t->epfd >= 0)
		close(t->epfd);
	if (t->wakefd >= 0)
		close(t->wakefd);
}

int lg__thread_init(struct shared *sh, struct lthread *t, int idx)
{
	const struct lg_config *cfg = &sh->cfg;
	long active = cfg->active < 0 ? cfg->conns : cfg->active;
	memset(t, 0, sizeof *t);
	t->sh = sh;
	t->idx = idx;
	t->epfd = t->wakefd = -1;
	/* Slot i belongs to thread i % nthreads; slots below `active` carry load,
	 * so active and idle connections spread evenly over the threads. */
	for (long i = idx; i < cfg->conns; i += sh->nthreads) {
		t->nconns++;
		if (i < active)
			t->nactive++;
	}
	size_t tape_len = (size_t)cfg->size - 1 + TAPE_SLACK;
	t->conns = calloc(t->nconns ? t->nconns : 1, sizeof *t->conns);
	t->tsent_store = calloc((size_t)t->nconns * cfg->pipeline + 1, sizeof *t->tsent_store);
	t->tape = malloc(tape_len);
	t->rtape = malloc(tape_len);
	t->rbuf = malloc(RBUF_SIZE);
	t->wbuf = malloc(WBUF_SIZE);
	t->todo = calloc(t->nconns ? t->nconns : 1, sizeof *t->todo);
	t->heap = calloc(t->nconns ? t->nconns : 1, sizeof *t->heap);
	if (!t->conns || !t->tsent_store || !t->tape || !t->rtape || !t->rbuf || !t->wbuf ||
	    !t->todo || !t->heap || hist_init(&t->lat) || hist_init(&t->lat_unc) ||
	    hist_init(&t->conn_lat) || hist_init(&t->send_lag))
		return -ENOMEM;

	/* Printable ASCII, letters over-represented so rot13 changes most bytes;
	 * seeded per thread so the run is reproducible. */
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
	uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(idx + 1);
	for (size_t i = 0; i < tape_len; i++) {
		x = mix64(x + 0x9e3779b97f4a7c15ull);
		t->tape[i] = alphabet[x % (sizeof alphabet - 1)];
		t->rtape[i] = rot13(t->tape[i]);
	}

	uint32_t k = 0;
	for (long i = idx; i < cfg->conns; i += sh->nthreads, k++) {
		struct conn *c = &t->conns[k];
		c->fd = -1;
		c->id = (uint32_t)i;
		c->active = i < active;
		c->heap_pos = -1;
		c->src = cfg->n_source_addrs ? (uint16_t)(i % cfg->n_source_addrs) : 0;
		c->t_sent = t->tsent_store + (size_t)k * cfg->pipeline;
		t->todo[k] = k;
	}
	t->ntodo = t->nconns;
	if (cfg->connect_rate > 0)
		t->connect_interval = 1e9 * sh->nthreads / cfg->connect_rate;
	if (sh->open_loop && t->nactive)
		t->interval = 1e9 * (double)active / cfg->rate;
	if (cfg->requests && active > 0) {
		/* Shares of the quota in proportion to active connections. */
		t->quota = cfg->requests / (uint64_t)active * t->nactive;
	}

	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	t->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->epfd < 0 || t->wakefd < 0)
		return -errno;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_TOKEN };
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wakefd, &ev) < 0)
		return -errno;
	if (cfg->io == LG_IO_URING)
		return ur_init(t);
	return 0;
}
