/*
 * uring.c - a load thread's I/O through io_uring (cfg.io == LG_IO_URING):
 * one of the two struct lg_io of engine.h, io_epoll.c being the other;
 * engine.c keeps the protocol, the schedule and the accounting.
 *
 * Each connection keeps one multishot RECV armed (the counterpart of an epoll
 * registration: armed once, a completion per arrival) drawing from a ring of
 * buffers the thread hands back as soon as a reply is checked, and at most
 * one SEND from its own small buffer; CONNECT and the wake-up eventfd's POLL
 * go through the ring too. Completions are handled in the order they come; the
 * SENDs they queue leave with the next io_uring_enter(), which also waits for
 * the next completions: one system call for a whole batch of requests. A
 * completion carries the slot, the operation and the slot's generation, so
 * one that belongs to a socket already closed is recognised and dropped.
 * The multishot RECV is armed before the connection's first SEND and never
 * poll-first, so the kernel hole of docs/uring-multishot-reset.md (bytes and
 * a reset pending when its poll is armed) cannot open at arming; the one
 * window left is bounded by the next SEND and the reply timeout
 * (docs/loadgen.md says why).
 * The ring is liburing's, as rot13-uring's and evbase's (Debian's
 * liburing-dev, scripts/deps.sh); what it costs against the raw system
 * calls this file used before is measured in docs/loadgen.md.
 */
#include "engine.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

struct uring {
	struct io_uring ring;
	bool      ring_ok;           /* ring set up: io_uring_queue_exit it */
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
static void ur_flush(struct lthread *t);

static struct io_uring_sqe *ur_sqe(struct lthread *t)
{
	struct io_uring_sqe *e = io_uring_get_sqe(&t->ur->ring);
	if (!e) {
		ur_enter(t, -1);  /* full: submit what is queued, without waiting */
		if (!(e = io_uring_get_sqe(&t->ur->ring)))
			abort();  /* the kernel took none of a full queue: our own bug */
	}
	return e;
}

static void ur_recv(struct lthread *t, struct conn *c)
{
	uint32_t idx = (uint32_t)(c - t->conns);
	struct io_uring_sqe *e = ur_sqe(t);
	io_uring_prep_recv_multishot(e, c->fd, NULL, 0, 0);
	e->flags |= IOSQE_BUFFER_SELECT;
	e->buf_group = 0;
	io_uring_sqe_set_data64(e, ur_data(OP_RECV, c, idx));
	c->recv_pending = 1;
	t->ur->pending++;
}

/* Hands receive buffer bid back to the kernel. */
static void ur_give_back(struct uring *u, unsigned bid)
{
	io_uring_buf_ring_add(u->br, u->ibufs + (size_t)bid * u->icap, u->icap,
			      (unsigned short)bid, io_uring_buf_ring_mask(u->nbufs), 0);
	io_uring_buf_ring_advance(u->br, 1);
}

static void ur_connect(struct lthread *t, struct conn *c, uint64_t now)
{
	(void)now;
	uint32_t idx = (uint32_t)(c - t->conns);
	struct io_uring_sqe *e = ur_sqe(t);
	io_uring_prep_connect(e, c->fd, (const struct sockaddr *)&t->sh->dst, t->sh->dstlen);
	io_uring_sqe_set_data64(e, ur_data(OP_CONNECT, c, idx));
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
	size_t n = lg__build(t, c, buf, u->ocap);
	struct io_uring_sqe *e = ur_sqe(t);
	io_uring_prep_send(e, c->fd, buf, n, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(e, ur_data(OP_SEND, c, idx));
	c->send_pending = 1;
	u->pending++;
	u->sendq[u->nsendq++] = idx;
}

/* In the load thread, before anything is submitted. (Debian's liburing 2.3
 * declares io_uring_enable_rings but does not export it: the register call
 * it would make, then.) */
static void ur_start(struct lthread *t)
{
	if (t->ur->disabled &&
	    io_uring_register(t->ur->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
		abort();  /* a ring we created and nobody else touched */
	t->ur->disabled = false;
	ur_wake(t);
}

static void ur_wake(struct lthread *t)
{
	struct io_uring_sqe *e = ur_sqe(t);
	io_uring_prep_poll_add(e, t->wakefd, POLLIN);
	io_uring_sqe_set_data64(e, (uint64_t)OP_WAKE << 62);
}

/* What io_uring_enter may say without a bug of ours (EBADF, EFAULT, EINVAL
 * would be one). */
static void ur_check(int r)
{
	if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
		abort();
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
	if (u->nsendq) {
		uint64_t t0 = lg__now_ns();
		ur_check(io_uring_submit(&u->ring));
		uint64_t span = lg__now_ns() - t0;
		for (uint32_t i = 0; i < u->nsendq; i++)
			t->conns[u->sendq[i]].send_ts = t0 + span * i / u->nsendq;
		u->nsendq = 0;
		if (wait_ns < 0 || io_uring_cq_ready(&u->ring))
			return;
	}
	if (wait_ns >= 0) {
		struct __kernel_timespec ts = { .tv_sec = wait_ns / 1000000000LL,
						.tv_nsec = wait_ns % 1000000000LL };
		struct io_uring_cqe *cqe;
		ur_check(io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL));
	} else {
		ur_check(io_uring_submit(&u->ring));
	}
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
			lg__conn_fail(t, c, -res, now);
		else
			lg__conn_established(t, c, now);
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
				lg__conn_fail(t, c, -res, now);
			return;
		}
		lg__account_sent(t, c, (size_t)res, c->send_ts);
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
				lg__conn_fail(t, c, -res, now);
			}
			return;
		}
		if (res == 0) {
			if (has_buf)
				ur_give_back(u, bid);
			if (t->phase >= LG_PHASE_DRAIN && lg__started(c) == c->rseq)
				lg__conn_close(t, c, false, 0, now);
			else
				lg__conn_fail(t, c, LG_CAUSE_EOF, now);
			return;
		}
		bool alive = lg__consume(t, c, u->ibufs + (size_t)bid * u->icap, (size_t)res, now);
		ur_give_back(u, bid);
		if (!alive)
			return;
		if (!c->recv_pending)
			ur_recv(t, c);
		lg__after_read(t, c, now);
		return;
	}
	}
}

/* Waits up to wait_ns for completions and handles every one there is. Each
 * batch is copied out and its slots handed back before it is handled: a
 * completion's handler may submit, and must find the CQ with room. */
static void ur_poll(struct lthread *t, long long wait_ns)
{
	struct uring *u = t->ur;
	struct io_uring_cqe *batch[64];
	struct { uint64_t data; int res; unsigned flags; } got[64];
	unsigned n;
	ur_enter(t, wait_ns);
	while ((n = io_uring_peek_batch_cqe(&u->ring, batch, 64)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			got[i].data = io_uring_cqe_get_data64(batch[i]);
			got[i].res = batch[i]->res;
			got[i].flags = batch[i]->flags;
		}
		io_uring_cq_advance(&u->ring, n);
		for (unsigned i = 0; i < n; i++)
			ur_complete(t, got[i].data, got[i].res, got[i].flags);
	}
}

static void ur_free(struct lthread *t)
{
	struct uring *u = t->ur;
	t->ur = NULL;
	if (!u)
		return;
	if (u->ring_ok)
		io_uring_queue_exit(&u->ring);
	if (u->br && u->br != MAP_FAILED)
		munmap(u->br, u->br_len);
	free(u->ibufs);
	free(u->obufs);
	free(u->sendq);
	free(u);
}

/* Registers a buffer ring of `entries` buffers (group 0) at `mem`. */
static int ur_register_bufs(struct io_uring *ring, void *mem, unsigned entries)
{
	struct io_uring_buf_reg reg = { .ring_addr = (uint64_t)(uintptr_t)mem,
					.ring_entries = entries, .bgid = 0 };
	return io_uring_register_buf_ring(ring, &reg, 0);
}

static int ur_init(struct lthread *t)
{
	const struct lg_config *cfg = &t->sh->cfg;
	struct uring *u = calloc(1, sizeof *u);
	if (!u)
		return -ENOMEM;
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
	int rc = -EINVAL;
	for (size_t k = 0; k < sizeof tries / sizeof tries[0] && rc == -EINVAL; k++) {
		memset(&p, 0, sizeof p);
		p.flags = tries[k];
		rc = io_uring_queue_init_params(entries, &u->ring, &p);
	}
	if (rc < 0)
		return rc;
	u->ring_ok = true;
	u->disabled = (p.flags & IORING_SETUP_R_DISABLED) != 0;
	if (!(p.features & IORING_FEAT_EXT_ARG))
		return -ENOSYS;

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
	if ((rc = ur_register_bufs(&u->ring, u->br, u->nbufs)) < 0)
		return rc;
	io_uring_buf_ring_init(u->br);
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
	struct io_uring ring;
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	p.flags = IORING_SETUP_CLAMP;
	if (io_uring_queue_init_params(4, &ring, &p) == 0) {
		void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ok = (p.features & IORING_FEAT_EXT_ARG) && mem != MAP_FAILED &&
		     ur_register_bufs(&ring, mem, 1) == 0;
		io_uring_queue_exit(&ring);
		if (mem != MAP_FAILED)
			munmap(mem, 4096);
	}
	__atomic_store_n(&known, ok, __ATOMIC_RELAXED);
	return ok;
}

static void ur_flush(struct lthread *t)
{
	if (io_uring_sq_ready(&t->ur->ring))
		ur_enter(t, -1);
}

static unsigned long long ur_pending(const struct lthread *t)
{
	return t->ur ? t->ur->pending : 0;
}

/* An established connection keeps one multishot RECV armed. */
static void ur_established(struct lthread *t, struct conn *c)
{
	if (!c->recv_pending)
		ur_recv(t, c);
}

/* An operation in flight holds the socket open past close(); shutdown()
 * makes it complete now (its completion, of an older generation, is then
 * ignored). Operations queued and not yet submitted name the descriptor by
 * number, which the next socket may reuse: they are submitted first, while
 * it is still this socket. */
static void ur_closing(struct lthread *t, struct conn *c)
{
	if (c->recv_pending || c->send_pending || c->state == C_CONNECTING) {
		ur_flush(t);
		shutdown(c->fd, SHUT_RDWR);
	}
}

/* io_uring polls for readiness itself: its sockets stay blocking. */
const struct lg_io lg__io_uring = {
	.name = "uring",
	.sock_flags = 0,
	.init = ur_init,
	.free = ur_free,
	.start = ur_start,
	.connect = ur_connect,
	.established = ur_established,
	.write = ur_write,
	.closing = ur_closing,
	.wait = ur_poll,
	.pending = ur_pending,
};
