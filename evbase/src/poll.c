/*
 * poll.c — the poll(2) backend: no descriptor limit, O(n) per dispatch.
 *
 * The interest set is a dense array of struct pollfd handed whole to the
 * kernel on every dispatch, and scanned whole afterwards: the cost grows with
 * the number of watched fds, active or not. An fd's slot is found through
 * idx[fd]; removing an fd moves the last slot into the hole, so the array
 * never has gaps. Level-triggered only; EV_ET is accepted and ignored.
 * EV_CLOSED is POLLRDHUP (Linux), so poll has EV_FEATURE_EARLY_CLOSE too.
 */
#include "evb-internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

struct pollop {
	struct pollfd *fds;
	int n, cap;
	/* With a locked base, poll() waits on a copy: another thread's ctl
	 * may move or reallocate fds while the loop waits unlocked. */
	struct pollfd *copy;
	int ncopy;
	int *idx;		/* fd -> slot + 1; 0 when fd is not watched */
	int nidx;
};

static void poll_free(struct event_base *base)
{
	struct pollop *op = base->bd;

	evb_free(op->fds);
	evb_free(op->copy);
	evb_free(op->idx);
}

static int poll_ctl(struct event_base *base, int fd, short old, short new_)
{
	struct pollop *op = base->bd;
	short events = (short)((new_ & EV_READ ? POLLIN : 0) | (new_ & EV_WRITE ? POLLOUT : 0) |
	    (new_ & EV_CLOSED ? POLLRDHUP : 0));
	int slot;

	if (fd >= op->nidx) {
		int *idx = evb_fd_grow(op->idx, &op->nidx, fd, sizeof(*idx));

		if (!idx)
			return -1;
		op->idx = idx;
	}
	slot = op->idx[fd] - 1;
	if (!new_) {
		if (slot < 0)
			return 0;
		op->fds[slot] = op->fds[--op->n];
		op->idx[op->fds[slot].fd] = slot + 1;
		op->idx[fd] = 0;
		return 0;
	}
	if (slot < 0) {
		if (op->n == op->cap) {
			int cap = op->cap ? op->cap * 2 : 64;
			struct pollfd *p = evb_realloc(op->fds, (size_t)cap * sizeof(*p));
			if (!p)
				return -1;
			op->fds = p;
			op->cap = cap;
		}
		slot = op->n++;
		op->fds[slot].fd = fd;
		op->idx[fd] = slot + 1;
	}
	op->fds[slot].events = events;
	op->fds[slot].revents = 0;
	return 0;
}

static int poll_dispatch(struct event_base *base, struct timeval *tv)
{
	struct pollop *op = base->bd;
	struct pollfd *fds = op->fds;
	int nfds = op->n, n;

	if (base->lock) {
		if (op->ncopy < op->cap) {
			struct pollfd *c = evb_realloc(op->copy, (size_t)op->cap * sizeof(*c));
			if (!c)
				return -1;
			op->copy = c;
			op->ncopy = op->cap;
		}
		if (nfds)
			memcpy(op->copy, op->fds, (size_t)nfds * sizeof(*fds));
		fds = op->copy;
	}
	EVB_UNLOCK(base);
	n = poll(fds, (nfds_t)nfds, tv ? evb_tv_to_ms(tv) : -1);
	EVB_LOCK(base);

	if (n < 0)
		return evb_wait_failed("poll");
	/* Activation only queues callbacks; nothing changes the array until
	 * dispatch has returned, so the scan can stop after n hits. */
	for (int i = 0; i < nfds && n > 0; i++) {
		short what = fds[i].revents, res = 0;
		if (!what)
			continue;
		n--;
		if (what & (POLLHUP | POLLERR | POLLNVAL))
			what |= POLLIN | POLLOUT;
		if (what & POLLIN) res |= EV_READ;
		if (what & POLLOUT) res |= EV_WRITE;
		if (what & POLLRDHUP) res |= EV_CLOSED;
		if (res)
			evb_io_active(base, fds[i].fd, res);
	}
	return 0;
}

const struct evb_backend evb_pollops = {
	"poll", EV_FEATURE_FDS | EV_FEATURE_EARLY_CLOSE, sizeof(struct pollop),
	NULL, poll_free, poll_ctl, poll_dispatch,
};
