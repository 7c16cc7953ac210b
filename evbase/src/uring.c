/*
 * uring.c — the io_uring backend: readiness through poll requests that live
 * in the kernel, changes and the wait in one io_uring_enter.
 *
 * Each watched fd has one poll request in the ring. ctl only notes the fd;
 * dispatch turns the notes into submission entries (add, update of the
 * mask, remove) and hands them to the kernel in the same io_uring_enter that
 * waits (io_uring_submit_and_wait_timeout). A round therefore costs one
 * system call whatever it changed, where epoll needs one epoll_ctl per
 * change.
 *
 * Edge-triggered fds (some event with EV_ET) get a multishot poll
 * (IORING_POLL_ADD_MULTI): it stays armed and posts a completion at each
 * wake-up of the fd, which is exactly EPOLLET's edge, with nothing to re-arm.
 * Level-triggered fds get a one-shot poll, re-armed in the next round after
 * it fired: re-arming checks readiness afresh, so an fd whose callback left
 * data unread is reported again, as epoll's level triggering does. We first
 * had multishot polls there too, plus a one-shot re-check of each reported
 * fd (a multishot poll reports wake-ups, not a level): two requests and two
 * completions per event, and 0.94x libevent's epoll time at n = 10,000
 * against 0.68x for the one-shot polls (docs/evbase.md). Updating the
 * multishot poll instead of adding a re-check was worse still (4x): an
 * update must find the request in the kernel's hash of polls, and with
 * 10,000 of them that costs microseconds.
 *
 * Each request's user_data is the fd and a generation that removal bumps,
 * so that completions of a removed request are recognised and dropped.
 * Like epoll's registrations, a poll follows the open file, not the number.
 * Needs Linux 5.13 (multishot poll) and IORING_FEAT_EXT_ARG (5.11, a wait
 * with a timeout in one call); init fails where io_uring is unavailable or
 * disabled, and the next backend is tried.
 */
#include "evb-internal.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <string.h>

#define RING_ENTRIES 1024
#define CQ_ENTRIES 8192
#define TAG_OWN (~(__u64)0)	/* completions of our updates and removes */
/* An update changes the mask and keeps the user_data; with
 * IORING_POLL_ADD_MULTI the request is (or becomes) multishot, without it
 * one-shot. */
#define UPDATE_FLAGS(mask) (IORING_POLL_UPDATE_EVENTS | ((mask) & EV_ET ? IORING_POLL_ADD_MULTI : 0))

struct ufd {
	unsigned gen;		/* of the request now in the kernel */
	short armed;		/* the mask it was armed with; 0: none */
	short want;		/* the mask the core asked for */
	unsigned pmask;		/* want as POLL* bits */
	unsigned char dirty;	/* on the change list */
};

struct uringop {
	struct io_uring ring;
	struct ufd *fds;
	int nfds;
	int *changes, nchanges, cap;	/* fds whose want may differ from armed */
};

static int uring_init(struct event_base *base)
{
	struct io_uring_params p;
	struct uringop *op = base->bd;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
	p.cq_entries = CQ_ENTRIES;
	if (io_uring_queue_init_params(RING_ENTRIES, &op->ring, &p) < 0) {
		/* COOP_TASKRUN is 5.19; try without it. */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = CQ_ENTRIES;
		if (io_uring_queue_init_params(RING_ENTRIES, &op->ring, &p) < 0)
			return -1;
	}
	if (!(p.features & IORING_FEAT_EXT_ARG)) {
		io_uring_queue_exit(&op->ring);
		return -1;
	}
	return 0;
}

static void uring_free(struct event_base *base)
{
	struct uringop *op = base->bd;

	io_uring_queue_exit(&op->ring);
	evb_free(op->fds);
	evb_free(op->changes);
}

static unsigned poll_mask(short ev)
{
	return (ev & EV_READ ? POLLIN : 0) | (ev & EV_WRITE ? POLLOUT : 0) |
	    (ev & EV_CLOSED ? POLLRDHUP : 0);
}

static __u64 ud(int fd, unsigned gen)
{
	return ((__u64)gen << 32) | (unsigned)fd;
}

/* A submission entry; when the queue is full, what is in it goes to the
 * kernel first (the only case of an extra io_uring_enter). */
static struct io_uring_sqe *sqe_get(struct uringop *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&op->ring);

	if (!sqe) {
		io_uring_submit(&op->ring);
		sqe = io_uring_get_sqe(&op->ring);
	}
	return sqe;
}

/* Room for fd in the table and for one more entry on the change list. */
static int grow(struct uringop *op, int fd)
{
	if (fd >= op->nfds) {
		struct ufd *f = evb_fd_grow(op->fds, &op->nfds, fd, sizeof(*f));

		if (!f)
			return -1;
		op->fds = f;
	}
	if (op->nchanges == op->cap) {
		int n = op->cap ? op->cap * 2 : 64;
		int *c = evb_realloc(op->changes, (size_t)n * sizeof(*c));
		if (!c)
			return -1;
		op->changes = c;
		op->cap = n;
	}
	return 0;
}

/* Note the change; dispatch sends it. Other threads may call this while the
 * loop waits (the base is locked): only the loop touches the ring. */
static int uring_ctl(struct event_base *base, int fd, short old, short new_)
{
	struct uringop *op = base->bd;
	struct ufd *f;

	if (grow(op, fd) < 0)
		return -1;
	f = &op->fds[fd];
	f->want = new_ & (EV_READ | EV_WRITE | EV_CLOSED | EV_ET);
	if (!(f->want & (EV_READ | EV_WRITE | EV_CLOSED)))
		f->want = 0;
	f->pmask = poll_mask(f->want);
	if (!f->dirty) {
		f->dirty = 1;
		op->changes[op->nchanges++] = fd;
	}
	return 0;
}

/* Note that fd needs a request again (its one-shot poll fired, or the
 * kernel ended its multishot one). */
static inline void note(struct uringop *op, int fd, struct ufd *f)
{
	if (f->dirty || (op->nchanges == op->cap && grow(op, fd) < 0))
		return;
	f->dirty = 1;
	op->changes[op->nchanges++] = fd;
}

/* Turn the notes into submission entries. */
static int prepare(struct uringop *op)
{
	struct io_uring_sqe *sqe;

	for (int i = 0; i < op->nchanges; i++) {
		int fd = op->changes[i];
		struct ufd *f = &op->fds[fd];
		f->dirty = 0;
		if (f->want == f->armed)
			continue;
		if (!(sqe = sqe_get(op)))
			return -1;
		if (!f->want) {
			io_uring_prep_poll_remove(sqe, ud(fd, f->gen));
			sqe->user_data = TAG_OWN;
			f->gen++;	/* what the old request still posts is stale */
		} else if (!f->armed) {
			if (f->want & EV_ET)
				io_uring_prep_poll_multishot(sqe, fd, f->pmask);
			else
				io_uring_prep_poll_add(sqe, fd, f->pmask);
			sqe->user_data = ud(fd, f->gen);
		} else {
			io_uring_prep_poll_update(sqe, ud(fd, f->gen), 0,
			    f->pmask, UPDATE_FLAGS(f->want));
			sqe->user_data = TAG_OWN;
		}
		f->armed = f->want;
	}
	op->nchanges = 0;
	return 0;
}

static void complete(struct event_base *base, struct uringop *op,
    const struct io_uring_cqe *cqe)
{
	int fd = (int)(cqe->user_data & 0xffffffffu);
	unsigned what;
	struct ufd *f;
	short res;

	if (cqe->user_data == TAG_OWN || fd >= op->nfds)
		return;
	f = &op->fds[fd];
	if ((unsigned)(cqe->user_data >> 32) != f->gen)
		return;		/* from a request removed since */
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		/* A one-shot poll that fired, or a multishot one the kernel
		 * ended (an error, a full completion queue): arm it again
		 * next round, which for a level-triggered fd is what reports
		 * it again while it stays ready. */
		f->armed = 0;
		if (f->want)
			note(op, fd, f);
	}
	if (cqe->res <= 0)
		return;
	what = (unsigned)cqe->res;
	if (what == POLLIN) {		/* the common case, one comparison */
		evb_io_active(base, fd, EV_READ | EV_ET);
		return;
	}
	res = evb_poll_res(what);
	if (!res)
		return;
	evb_io_active(base, fd, res | EV_ET);
}

static int uring_dispatch(struct event_base *base, struct timeval *tv)
{
	struct uringop *op = base->bd;
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe, *cqes[256];
	unsigned n;
	int r;

	if (prepare(op) < 0) {
		evb_warnx("io_uring: no submission entry");
		return -1;
	}
	EVB_UNLOCK(base);
	if (tv && !tv->tv_sec && !tv->tv_usec) {
		/* No wait, but still one io_uring_enter: with COOP_TASKRUN
		 * the kernel posts poll completions only when the task asks
		 * for events, as epoll_wait(0) would look. */
		r = io_uring_submit_and_get_events(&op->ring);
	} else {
		if (tv) {
			ts.tv_sec = tv->tv_sec;
			ts.tv_nsec = tv->tv_usec * 1000LL;
		}
		r = io_uring_submit_and_wait_timeout(&op->ring, &cqe, 1, tv ? &ts : NULL, NULL);
	}
	EVB_LOCK(base);
	if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY) {
		evb_warnx("io_uring_enter: %s", strerror(-r));
		return -1;
	}
	/* In batches: one look at the kernel's tail for many completions. */
	while ((n = io_uring_peek_batch_cqe(&op->ring, cqes, 256)) > 0) {
		for (unsigned i = 0; i < n; i++)
			complete(base, op, cqes[i]);
		io_uring_cq_advance(&op->ring, n);
		if (n < 256)
			break;
	}
	return 0;
}

const struct evb_backend evb_uringops = {
	"io_uring", EV_FEATURE_ET | EV_FEATURE_O1 | EV_FEATURE_EARLY_CLOSE, sizeof(struct uringop),
	uring_init, uring_free, uring_ctl, uring_dispatch,
};
