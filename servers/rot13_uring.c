/*
 * rot13_uring.c — one thread, io_uring through liburing: completions, not
 * readiness.
 *
 * The other event loops ask the kernel "which descriptors are ready?" and
 * then make a read or write call for each. Here the loop hands the kernel the
 * I/O itself and later collects what it did: one multishot accept on the
 * listener posts a completion per new connection; one multishot recv per
 * connection posts a completion per arrival, its bytes already in a buffer
 * the kernel took from a ring of buffers that the loop registered once (so
 * an idle connection holds no buffer); a send per batch of replies. New
 * requests and the wait for completions share one io_uring_enter, and with
 * DEFER_TASKRUN (Linux 6.1) the kernel does the deferred work of the ring
 * only inside that call, so nothing interrupts the loop between waits.
 *
 * What it saves: the read, write and epoll_ctl calls. A request that costs
 * epoll-lt an epoll_wait share, a read and a write costs here one
 * io_uring_enter shared by every completion it brings, and a send SQE.
 * What it costs: a send buffer must stay put until its completion, so the
 * framer only queues (c->deferred, servers/srv.h) and the replies move
 * to the send in flight, which is one more copy than epoll-lt's writev of
 * the fresh bytes. Every buffer of the ring is BUF_SIZE bytes whatever
 * arrives, so a 100-byte request occupies 4 KiB until the loop gives it back.
 *
 * The hang-up poll: on Linux 6.18 a multishot recv whose poll is armed while
 * its socket holds unread bytes and a reset delivers the bytes and then
 * stays armed forever (docs/uring-multishot-reset.md; tests/repro/ shows it
 * every time with IORING_RECVSEND_POLL_FIRST, and rot13-uring hit it without
 * that flag under load). So each connection also arms, once, a one-shot
 * POLL_ADD for POLLRDHUP | POLLHUP | POLLERR, which looks at the socket's
 * state when armed and so cannot miss what is already there. When it
 * completes (the client half-closed, reset, or the socket failed) the loop
 * cancels the multishot recv and reads the rest with single-shot recvs,
 * each armed after the last completed, until one ends with 0 or an error.
 * It costs one SQE per connection in its life; the single-shot recv that
 * this server armed after every arrival before cost 10-13% more server CPU
 * per request than a multishot recv (docs/teaching.md, section 7).
 *
 * What a request costs it, and what was tried (docs/teaching.md, section 7,
 * has the commands and the intervals). Per request: one recv completion, one
 * send SQE and its completion, and a share of the one io_uring_enter per loop
 * turn that submits everything and waits; SINGLE_ISSUER and DEFER_TASKRUN
 * keep the kernel's completion work inside that call, and the hang-up poll is
 * armed once per connection, not per request. A profile under load found
 * 0.2 page faults per request that were no TCP work at all: glibc trimming
 * the heap after each batch of send buffers was freed, then faulting it in
 * again; setup() turns the trimming off (21% less server CPU per request at
 * 1,000 connections, paired; not shown worse at 100 and 10,000). Registered
 * files (each socket in a sparse table at the slot of its descriptor's
 * number, IOSQE_FIXED_FILE on recv, send and poll), which save the send's
 * lookup of the file and its reference, 1.7% of the profile, could not be
 * told from the plain descriptors in 20 paired rounds and are not used.
 * After that the server's CPU per request is epoll-lt's within the few
 * percent a run resolves: 1.00x, 0.93x and 0.96x at 100, 1,000 and 10,000
 * connections, medians of 20 rounds, none with an interval below 1.00x, on a
 * busy machine; on the machine alone 0.92x [0.86,0.99], 0.95x [0.88,0.98],
 * 0.94x [0.88,1.02] (docs/teaching.md, section 7).
 *
 * Backpressure: a multishot recv delivers until it is cancelled, so while
 * more than --max-pending bytes of replies are queued or in flight the loop
 * cancels the connection's recv, and arms a new one once the sends drained
 * them. Completions already posted before the cancel are still served: a
 * connection may hold a few buffers more than max-pending, never unbounded.
 * Fairness is the kernel's: a multishot recv retries a busy socket a bounded
 * number of times before it lets the other requests run.
 *
 * Where it breaks: it needs Linux 6.0 (multishot recv, buffer rings) and a
 * kernel that lets it use io_uring at all; where io_uring_queue_init fails
 * with ENOSYS or EPERM (an old kernel, kernel.io_uring_disabled, a seccomp
 * filter such as Docker's default one) it exits with EVB_EXIT_UNAVAILABLE
 * and one line on stderr, and evbench records the design as skipped. When
 * the ring's BUF_COUNT buffers are all waiting to be served, a recv ends with
 * ENOBUFS and is armed again: more connections delivering at once than
 * buffers is a cliff of extra SQEs, not a failure. A full descriptor table
 * fails the accept before it even looks at the backlog, so after EMFILE the
 * loop sheds what waits with the other designs' accept (srv_accept_batch)
 * and arms the accept again only when a connection closes or after
 * ACCEPT_RETRY_MS, rather than spinning on completions that cannot succeed.
 */
#include "srv.h"
#include "designs.h"

#include <errno.h>
#include <liburing.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#define RING_ENTRIES    4096  /* SQ size; the CQ is CQ_ENTRIES */
#define CQ_ENTRIES      16384 /* multishot requests post many completions per SQE */
#define BUF_SIZE        4096  /* one provided buffer; one recv completion fills at most one */
#define BUF_COUNT       2048  /* buffers in the ring (a power of two): 8 MiB */
#define BUF_GROUP       0
#define TRIM_THRESHOLD  (64 << 20) /* heap top kept rather than given back: see setup() */
#define ACCEPT_RETRY_MS 10    /* after EMFILE: the next accept, unless a descriptor frees first */

/* What a completion is for: the low three bits of its user_data, a pointer
 * above (malloc's 16-byte alignment leaves them free). */
enum op { OP_ACCEPT, OP_RECV, OP_SEND, OP_CANCEL, OP_HUP };
#define OP_MASK 7

/*
 * The loop's side of a connection. It outlives its srv_conn: a closed
 * connection's requests may still be in the kernel, and their completions
 * must find something to land on, so the socket's descriptor is closed at
 * once (the requests hold the socket itself) and this waits for them.
 */
struct uconn {
	struct srv_conn *c;      /* NULL once closed */
	bool recv_armed;         /* a recv is in the kernel */
	bool recv_cancelled;     /* and it was asked to stop */
	bool hup_armed;          /* the hang-up poll is in the kernel */
	bool draining;           /* it completed: single-shot recvs from now on */
	bool send_armed;         /* sbuf[soff..slen) is being sent */
	char *sbuf;
	size_t slen, soff;
	struct uconn *prev, *next; /* every uconn, so that the stop frees them all */
};

static struct io_uring ring;
static struct io_uring_buf_ring *bufring;
static char *bufs;
static int lfd;
static bool accept_armed;
static int64_t accept_retry_at;  /* srv_now_ms() after which to arm the accept again */
static struct uconn *uconns;

static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (sqe == NULL) { /* the SQ is full: hand it to the kernel, then there is room */
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

static void sqe_tag(struct io_uring_sqe *sqe, struct uconn *u, enum op op)
{
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)u | op);
}

static void arm_accept(void)
{
	struct io_uring_sqe *sqe = sqe_get();

	io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
	sqe_tag(sqe, NULL, OP_ACCEPT);
	accept_armed = true;
}

static void cancel(struct uconn *u, enum op op)
{
	struct io_uring_sqe *sqe = sqe_get();

	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)u | op, 0);
	sqe_tag(sqe, NULL, OP_CANCEL);
}

/* Give a buffer the kernel filled back to the ring. */
static void buf_recycle(unsigned bid)
{
	io_uring_buf_ring_add(bufring, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
			      io_uring_buf_ring_mask(BUF_COUNT), 0);
	io_uring_buf_ring_advance(bufring, 1);
}

static void uconn_free_if_done(struct uconn *u)
{
	if (u->c || u->recv_armed || u->send_armed || u->hup_armed)
		return;
	if (u->prev)
		u->prev->next = u->next;
	else
		uconns = u->next;
	if (u->next)
		u->next->prev = u->prev;
	free(u->sbuf);
	free(u);
}

/* Close the connection now; its requests in flight are cancelled and the
 * uconn goes when the last of their completions comes. */
static void close_conn(struct srv_conn *c)
{
	struct uconn *u = c->user;

	u->c = NULL;
	if (u->recv_armed && !u->recv_cancelled)
		cancel(u, OP_RECV);
	if (u->send_armed)
		cancel(u, OP_SEND);
	if (u->hup_armed)
		cancel(u, OP_HUP);
	srv_conn_free(c);
	accept_retry_at = 0; /* a descriptor is free: accept again if it had stopped */
	uconn_free_if_done(u);
}

/* Send the rest of the buffer in flight, or the replies queued since. */
static void send_more(struct uconn *u)
{
	struct io_uring_sqe *sqe;

	if (u->sbuf == NULL && (u->sbuf = srv_conn_take_out(u->c, &u->slen)) == NULL)
		return;
	sqe = sqe_get();
	io_uring_prep_send(sqe, u->c->fd, u->sbuf + u->soff, u->slen - u->soff, MSG_NOSIGNAL);
	sqe_tag(sqe, u, OP_SEND);
	u->send_armed = true;
}

/* Do what the connection wants now: close, send, read or stop reading. */
static void update(struct uconn *u, int want)
{
	if (want == SRV_CLOSE) {
		close_conn(u->c);
		return;
	}
	if (!u->send_armed && (want & SRV_WRITE))
		send_more(u);
	if ((want & SRV_READ) && !u->recv_armed) {
		struct io_uring_sqe *sqe = sqe_get();

		/* After the hang-up poll, whatever is left is already there:
		 * one recv at a time, each completing, until 0 or an error. */
		if (u->draining) {
			io_uring_prep_recv(sqe, u->c->fd, NULL, BUF_SIZE, 0);
		} else {
			io_uring_prep_recv_multishot(sqe, u->c->fd, NULL, 0, 0);
			/* Poll first, on purpose: a client whose bytes and reset
			 * both came before this recv then always meets the
			 * kernel's hole, not once in a while, so the hang-up poll
			 * is what closes it every time and hostile_rst_storm
			 * fails at once without it (tests/hostile.c). A multishot
			 * recv is armed once per connection, and again only after
			 * backpressure or ENOBUFS ended it, so the attempt it skips
			 * or delays costs nothing measurable. */
			sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
		}
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BUF_GROUP;
		sqe_tag(sqe, u, OP_RECV);
		u->recv_armed = true;
	} else if (!(want & SRV_READ) && u->recv_armed && !u->recv_cancelled) {
		cancel(u, OP_RECV);
		u->recv_cancelled = true;
	}
}

/* The hang-up poll: one-shot, so it reports the socket's state when armed. */
static void arm_hup(struct uconn *u)
{
	struct io_uring_sqe *sqe = sqe_get();

	io_uring_prep_poll_add(sqe, u->c->fd, POLLRDHUP | POLLHUP | POLLERR);
	sqe_tag(sqe, u, OP_HUP);
	u->hup_armed = true;
}

static void add_conn(int fd, void *arg)
{
	struct srv_conn *c = srv_conn_new(fd);
	struct uconn *u;

	if (c == NULL)
		return;
	if ((u = calloc(1, sizeof *u)) == NULL) {
		SRV_COUNT(errors, 1);
		srv_conn_free(c);
		return;
	}
	c->deferred = true;
	c->user = u;
	u->c = c;
	u->next = uconns;
	if (uconns)
		uconns->prev = u;
	uconns = u;
	arm_hup(u);
	update(u, SRV_READ);
}

static void on_accept(const struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE))
		accept_armed = false;
	if (cqe->res >= 0) {
		add_conn(cqe->res, NULL);
	} else if (cqe->res != -ECANCELED) {
		/* EMFILE, ENFILE, ECONNABORTED and the rest: the synchronous
		 * accept of the other designs sheds and counts what waits,
		 * pausing where retrying would spin (servers/srv.h). */
		srv_accept_batch(lfd, add_conn, NULL);
		if (cqe->res == -EMFILE || cqe->res == -ENFILE)
			accept_retry_at = srv_now_ms() + ACCEPT_RETRY_MS;
	}
}

static void on_recv(struct uconn *u, const struct io_uring_cqe *cqe)
{
	int want;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		u->recv_armed = u->recv_cancelled = false;
	if (u->c == NULL) {
		if (cqe->flags & IORING_CQE_F_BUFFER)
			buf_recycle(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		uconn_free_if_done(u);
		return;
	}
	if (cqe->res > 0) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

		want = srv_conn_input(u->c, bufs + (size_t)bid * BUF_SIZE, (size_t)cqe->res);
		buf_recycle(bid);
	} else if (cqe->res == 0) {
		want = srv_conn_input(u->c, NULL, 0);
	} else if (cqe->res == -ENOBUFS || cqe->res == -ECANCELED) {
		want = srv_conn_want(u->c); /* armed again below if it still wants to read */
	} else {
		srv_count_failure(-cqe->res);
		want = SRV_CLOSE;
	}
	update(u, want);
}

static void on_send(struct uconn *u, const struct io_uring_cqe *cqe)
{
	int want;

	u->send_armed = false;
	if (u->c == NULL) {
		uconn_free_if_done(u);
		return;
	}
	if (cqe->res < 0) {
		srv_count_failure(-cqe->res);
		update(u, SRV_CLOSE);
		return;
	}
	u->soff += (size_t)cqe->res;
	want = srv_conn_sent(u->c, (size_t)cqe->res);
	if (u->soff == u->slen) {
		free(u->sbuf);
		u->sbuf = NULL;
		u->slen = u->soff = 0;
	}
	update(u, want);
}

/* The client half-closed, reset, or the socket failed: stop the multishot
 * recv, which may never report it, and let single-shot recvs read the rest
 * (armed again by on_recv once the cancelled recv has reported its end). */
static void on_hup(struct uconn *u)
{
	u->hup_armed = false;
	if (u->c == NULL) {
		uconn_free_if_done(u);
		return;
	}
	u->draining = true;
	if (u->recv_armed && !u->recv_cancelled) {
		cancel(u, OP_RECV);
		u->recv_cancelled = true;
	} else if (!u->recv_armed) {
		update(u, srv_conn_want(u->c));
	}
}

static void on_cqe(const struct io_uring_cqe *cqe)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	struct uconn *u = (struct uconn *)(uintptr_t)(data & ~(uint64_t)OP_MASK);

	switch ((enum op)(data & OP_MASK)) {
	case OP_ACCEPT:
		on_accept(cqe);
		break;
	case OP_RECV:
		on_recv(u, cqe);
		break;
	case OP_SEND:
		on_send(u, cqe);
		break;
	case OP_HUP:
		on_hup(u);
		break;
	case OP_CANCEL: /* the request it cancelled reports for itself */
		break;
	}
}

/* The ring and its buffers, or exit: unavailable (evbench skips the design)
 * when the kernel has no io_uring or forbids it, 1 on any other failure. */
static void setup(void)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		.cq_entries = CQ_ENTRIES,
	};
	struct io_uring_buf_reg reg = { .ring_entries = BUF_COUNT, .bgid = BUF_GROUP };
	int rc;

	/* Every reply is queued in a buffer of its own that the send owns
	 * until its completion (srv_conn_take_out), so the heap's top comes and
	 * goes with each batch: with glibc's default threshold each free gave
	 * it back to the kernel and the next malloc faulted it in again: about
	 * 0.2 page faults per request, which epoll-lt, writing the fresh bytes,
	 * never takes (docs/teaching.md, section 7). So the heap keeps it. */
	mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
	rc = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);

	if (rc == -EINVAL) { /* before 6.1: no DEFER_TASKRUN, the kernel runs the work when it likes */
		p.flags = IORING_SETUP_CQSIZE;
		rc = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);
	}
	if (rc == -ENOSYS || rc == -EPERM) {
		fprintf(stderr, "rot13-uring: io_uring is not available here: %s\n", strerror(-rc));
		exit(EVB_EXIT_UNAVAILABLE);
	}
	if (rc < 0) {
		fprintf(stderr, "rot13-uring: io_uring_queue_init: %s\n", strerror(-rc));
		exit(1);
	}
	bufring = mmap(NULL, BUF_COUNT * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bufs = malloc((size_t)BUF_COUNT * BUF_SIZE);
	if (bufring == MAP_FAILED || bufs == NULL) {
		fprintf(stderr, "rot13-uring: no memory for %d buffers\n", BUF_COUNT);
		exit(1);
	}
	reg.ring_addr = (uint64_t)(uintptr_t)bufring;
	if ((rc = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) {
		fprintf(stderr, "rot13-uring: io_uring has no buffer rings here (Linux 6.0 or later): %s\n",
			strerror(-rc));
		exit(EVB_EXIT_UNAVAILABLE);
	}
	io_uring_buf_ring_init(bufring);
	for (unsigned i = 0; i < BUF_COUNT; i++)
		buf_recycle(i);
}

/* At the stop: every connection closed and counted, every uconn freed. */
static void release(struct srv_conn *c)
{
	((struct uconn *)c->user)->c = NULL;
}

int main(int argc, char **argv)
{
	srv_init("uring", argc, argv, 0);
	setup(); /* before the ready line: a design that cannot run never says ready */
	lfd = srv_listen();
	arm_accept();

	while (!srv_stop) {
		struct __kernel_timespec ts = { 0, SRV_STOP_CHECK_MS * 1000000L };
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;

		if (!accept_armed && srv_now_ms() >= accept_retry_at)
			arm_accept();
		else if (!accept_armed)
			ts.tv_nsec = ACCEPT_RETRY_MS * 1000000L;
		int rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);

		if (rc < 0 && rc != -ETIME && rc != -EINTR) {
			fprintf(stderr, "rot13-uring: io_uring_submit_and_wait: %s\n", strerror(-rc));
			return 1;
		}
		io_uring_for_each_cqe(&ring, head, cqe) {
			on_cqe(cqe);
			n++;
		}
		io_uring_cq_advance(&ring, n);
		srv_idle_sweep(close_conn);
	}
	/* Closing the ring cancels what is still in the kernel; only then may
	 * the buffers those requests point into go. */
	io_uring_queue_exit(&ring);
	srv_conn_free_all(release);
	while (uconns) {
		struct uconn *u = uconns;

		u->recv_armed = u->send_armed = u->hup_armed = false;
		uconn_free_if_done(u);
	}
	srv_report("io_uring");
	return 0;
}
