/*
 * engine.c - a load thread: its connections, the protocol (what to send,
 * verifying what comes back), the open-loop schedule, the phases and the
 * accounting. run.c starts the threads and moves them through the phases;
 * the I/O itself goes through t->io (engine.h): io_epoll.c or uring.c.
 *
 * Hot-path choices, each for a measured reason:
 *  - io_uring where the kernel has it (uring.c): a client that makes as many
 *    system calls per request as an epoll server costs as much CPU per
 *    request as that server, and cannot measure it. Otherwise edge-triggered
 *    epoll (io_epoll.c).
 *  - Requests are not stored. A request is a window of size-1 bytes on a
 *    per-thread random tape plus '\n'; the window's offset is a hash of the
 *    connection and the sequence number, so it can be rebuilt at any time.
 *    Pipelined requests go out together, and a reply is compared in place,
 *    in the receive buffer, with the same window of the tape's reply twin
 *    (rot13 of the tape, or the tape itself under echo): no copy per reply.
 *  - Each thread owns its counters and histograms. The controller only sees
 *    a few live counters, stored with relaxed atomics once per loop pass.
 */
#include "engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TAPE_SLACK        4096     /* distinct windows per tape */
#define SWEEP_MIN_NS      (10 * 1000000ull)
#define SWEEP_MAX_NS      (500 * 1000000ull)
#define BACKOFF_MIN_NS    (10 * 1000000ull)
#define BACKOFF_MAX_NS    (1000 * 1000000ull)
#define STOP_DRAIN_NS     (250 * 1000000ull)
#define MAX_DRAIN_NS      (2000 * 1000000ull)

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

/* The byte a server owes for request byte c under the protocol
 * (docs/protocol.md): the one home of the expectation every reply is checked
 * against, through the reply tape made from it in lg__thread_init(). */
static inline char owed(int protocol, char c)
{
	if (protocol == LG_PROTO_ECHO)
		return c;
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


/* Closes c. Requests still outstanding are abandoned: the caller has counted
 * the failure that made them so. With retry, the slot reconnects after its
 * backoff (0 = at once). */
void lg__conn_close(struct lthread *t, struct conn *c, bool retry, uint64_t backoff, uint64_t now)
{
	if (c->state == C_CONNECTING)
		t->connecting--;
	if (c->state == C_UP)
		t->conns_up--;
	if (c->fd >= 0) {
		t->io->closing(t, c);
		close(c->fd);
		if (c->state == C_UP)
			t->closes++;
	}
	c->fd = -1;
	uint64_t s = lg__started(c);
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
void lg__conn_fail(struct lthread *t, struct conn *c, int cause, uint64_t now)
{
	count_error(t, cause);
	/* A server that sheds a connection for a descriptor limit accepts it
	 * and closes it at once (docs/protocol.md): the client sees an EOF or
	 * a reset before the first byte of a reply. Counted apart as well, so
	 * that evbench can count such a connection once, as the server's
	 * fd-limit failure, and not a second time as the client's error. */
	if (c->state == C_UP && c->in_bytes == 0 &&
	    (cause == LG_CAUSE_EOF || cause == ECONNRESET || cause == EPIPE))
		t->closed_unserved++;
	if (c->state == C_CONNECTING)
		t->connect_failures++;
	c->backoff = c->backoff ? c->backoff * 2 : BACKOFF_MIN_NS;
	if (c->backoff > BACKOFF_MAX_NS)
		c->backoff = BACKOFF_MAX_NS;
	bool retry = t->phase != LG_PHASE_CONNECT && t->phase < LG_PHASE_DRAIN;
	lg__conn_close(t, c, retry, c->backoff, now);
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

void lg__conn_established(struct lthread *t, struct conn *c, uint64_t now)
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
	t->io->established(t, c);
	lg__pump(t, c, now);
}

static void conn_connect(struct lthread *t, struct conn *c, uint64_t now)
{
	struct shared *sh = t->sh;
	int fam = sh->dst.ss_family;
	int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC | t->io->sock_flags, 0);
	c->retry_at = 0;
	c->t_start = now;
	c->gen++;
	if (fd < 0) {
		t->connecting++;          /* conn_fail undoes this */
		c->state = C_CONNECTING;
		lg__conn_fail(t, c, errno, now);
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
			lg__conn_fail(t, c, errno, now);
			return;
		}
	}
	t->io->connect(t, c, now);
}

/* ---- sending ------------------------------------------------------------------- */


/* Copies the unsent bytes of requests [wnext, upto) of c, from its first
 * unsent byte on, into buf: at most cap bytes, the last request possibly cut. */
size_t lg__build(const struct lthread *t, const struct conn *c, char *buf, size_t cap)
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
void lg__account_sent(struct lthread *t, struct conn *c, size_t r, uint64_t now)
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
					double due = lg__intended(t, c, c->wnext);
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
void lg__pump(struct lthread *t, struct conn *c, uint64_t now)
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
	uint64_t s = lg__started(c);
	if (limit > c->upto && limit - c->upto > room)
		limit = c->upto + room;
	if (t->sh->open_loop) {
		uint64_t upto = s;
		while (upto < limit && lg__intended(t, c, upto) <= (double)now)
			upto++;
		if (upto > c->upto) {
			t->inflight += upto - c->upto;
			c->upto = upto;
		}
		if (c->upto > c->wnext || c->woff)
			t->io->write(t, c);
		if (c->state == C_UP && c->upto < limit && c->heap_pos < 0)
			heap_push(t, (uint32_t)(c - t->conns), lg__intended(t, c, c->upto));
	} else {
		if (limit > c->upto) {
			t->inflight += limit - c->upto;
			c->upto = limit;
		}
		if (c->upto > c->wnext)
			t->io->write(t, c);
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
				double due = lg__intended(t, c, c->rseq);
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
bool lg__consume(struct lthread *t, struct conn *c, const char *p, size_t n, uint64_t now)
{
	const uint32_t size = (uint32_t)t->sh->cfg.size;
	c->in_bytes += n;
	if (t->phase == LG_PHASE_MEASURE)
		t->m_bytes_in += n;
	if (c->in_bytes > c->out_bytes) {
		/* More bytes than were sent: the stream is not the reply to ours. */
		count_error(t, LG_CAUSE_VERIFY_MISMATCH);
		if (t->phase == LG_PHASE_MEASURE)
			t->m_mismatch++;
		lg__conn_close(t, c, sending_phase(t), BACKOFF_MIN_NS, now);
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
void lg__after_read(struct lthread *t, struct conn *c, uint64_t now)
{
	const struct lg_config *cfg = &t->sh->cfg;
	if (cfg->requests_per_conn && c->rseq - c->conn_base >= cfg->requests_per_conn &&
	    lg__started(c) == c->rseq) {
		/* Served its share: close and open a fresh connection at once. */
		lg__conn_close(t, c, sending_phase(t), 0, now);
		return;
	}
	lg__pump(t, c, now);
}



/* ---- the thread's loop ----------------------------------------------------------- */

static void start_connects(struct lthread *t, uint64_t now)
{
	while (t->todo_pos < t->ntodo && t->connecting < LG_CONNECTS_IN_FLIGHT) {
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
			lg__pump(t, c, now);
		switch (c->state) {
		case C_CONNECTING:
			if (now > c->t_start + timeout)
				lg__conn_fail(t, c, LG_CAUSE_TIMEOUT, now);
			break;
		case C_UP:
			/* Send times may be later than `now`, taken before this pass. */
			if (lg__started(c) > c->rseq && now > c->t_sent[c->rseq % depth] + timeout)
				lg__conn_fail(t, c, LG_CAUSE_TIMEOUT, now);
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
			lg__pump(t, c, now);
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
			lg__conn_close(t, c, false, 0, now);
	}
}

/* What a pass of the loop owes besides I/O: connects of the ramp (and the
 * controller's word once they are all done), the timeout sweep, the
 * open-loop sends that are due, the controller's word once the quota is
 * met, and the live counters. */
static void due_tasks(struct lthread *t, uint64_t now)
{
	struct shared *sh = t->sh;

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
		lg__pump(t, c, now);
	}
	if (sh->cfg.requests && t->phase == LG_PHASE_MEASURE && !t->quota_signalled &&
	    t->m_replies + t->m_mismatch >= t->quota) {
		t->quota_signalled = true;
		__atomic_store_n(&t->live.quota_done, 1, __ATOMIC_RELEASE);
		lg__poke(sh->ctlfd);
	}
	publish(t);
}

/* When this thread must next act on its own (ns): the sweep, the next due
 * open-loop send, the next paced connect, the end of the drain. */
static double next_wake(const struct lthread *t)
{
	double wake = (double)t->next_sweep;

	if (t->heap_len && t->heap[0].due < wake)
		wake = t->heap[0].due;
	if (t->phase == LG_PHASE_CONNECT && t->todo_pos < t->ntodo &&
	    t->connecting < LG_CONNECTS_IN_FLIGHT && t->next_connect < wake)
		wake = t->next_connect;
	if (t->phase == LG_PHASE_DRAIN && (double)t->drain_deadline < wake)
		wake = (double)t->drain_deadline;
	return wake;
}

void *lg__thread_main(void *arg)
{
	struct lthread *t = arg;
	struct shared *sh = t->sh;

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
	t->io->start(t);

	for (;;) {
		now = lg__now_ns();
		int p = lg__load_phase(sh);
		if (p != t->phase)
			enter_phase(t, p, now);
		if (t->phase == LG_PHASE_DONE)
			break;
		if (t->phase == LG_PHASE_DRAIN && (t->inflight == 0 || now >= t->drain_deadline))
			break;

		due_tasks(t, now);

		/* Sleep until the next thing this thread must do on its own. */
		double wait = next_wake(t) - (double)lg__now_ns();
		t->io->wait(t, wait > 0 ? (long long)wait : 0);
	}
	close_all(t, lg__now_ns());
	/* Operations still in flight write into this thread's buffers: let them
	 * complete (closing made them short) before anything is freed. */
	uint64_t until = lg__now_ns() + 1000000000ull;
	while (t->io->pending(t) && lg__now_ns() < until)
		t->io->wait(t, 10000000);
	publish(t);
	return NULL;
}

void lg__thread_free(struct lthread *t)
{
	free(t->conns);
	free(t->tsent_store);
	free(t->tape);
	free(t->rtape);
	free(t->todo);
	free(t->heap);
	hist_free(&t->lat);
	hist_free(&t->lat_unc);
	hist_free(&t->conn_lat);
	hist_free(&t->send_lag);
	if (t->io)
		t->io->free(t);
	if (t->wakefd >= 0)
		close(t->wakefd);
}

int lg__thread_init(struct shared *sh, struct lthread *t, int idx, const struct lg_io *io)
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
	t->todo = calloc(t->nconns ? t->nconns : 1, sizeof *t->todo);
	t->heap = calloc(t->nconns ? t->nconns : 1, sizeof *t->heap);
	if (!t->conns || !t->tsent_store || !t->tape || !t->rtape ||
	    !t->todo || !t->heap || hist_init(&t->lat) || hist_init(&t->lat_unc) ||
	    hist_init(&t->conn_lat) || hist_init(&t->send_lag))
		return -ENOMEM;

	/* Printable ASCII, letters over-represented so rot13 changes most bytes
	 * (so a rot13 server checked as echo, or the reverse, fails nearly every
	 * reply); seeded per thread so the run is reproducible. */
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
	uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(idx + 1);
	for (size_t i = 0; i < tape_len; i++) {
		x = mix64(x + 0x9e3779b97f4a7c15ull);
		t->tape[i] = alphabet[x % (sizeof alphabet - 1)];
		t->rtape[i] = owed(cfg->protocol, t->tape[i]);
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

	t->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->wakefd < 0)
		return -errno;
	t->io = io;
	return io->init(t);
}
