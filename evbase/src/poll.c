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
	int *idx;		/* fd -> slot + 1; 0 when fd is not watched */
	int nidx;
};

static int poll_init(struct event_base *base)
{
	return (base->bd = calloc(1, sizeof(struct pollop))) ? 0 : -1;
}

static void poll_free(struct event_base *base)
{
	struct pollop *op = base->bd;

	free(op->fds);
	free(op->idx);
	free(op);
	base->bd = NULL;
}

static int poll_ctl(struct event_base *base, int fd, short old, short new_)
{
	struct pollop *op = base->bd;
	short events = (short)((new_ & EV_READ ? POLLIN : 0) | (new_ & EV_WRITE ? POLLOUT : 0) |
	    (new_ & EV_CLOSED ? POLLRDHUP : 0));
	int slot;

	if (fd >= op->nidx) {
		int n = op->nidx ? op->nidx : 64;
		int *idx;
		while (n <= fd)
			n *= 2;
		if (!(idx = realloc(op->idx, (size_t)n * sizeof(*idx))))
			return -1;
		memset(idx + op->nidx, 0, (size_t)(n - op->nidx) * sizeof(*idx));
		op->idx = idx;
		op->nidx = n;
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
			struct pollfd *p = realloc(op->fds, (size_t)cap * sizeof(*p));
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
	int n = poll(op->fds, (nfds_t)op->n, tv ? evb_tv_to_ms(tv) : -1);

	if (n < 0) {
		if (errno == EINTR)
			return 0;
		evb_warnx("poll: %s", strerror(errno));
		return -1;
	}
	/* Activation only queues callbacks; nothing changes the array until
	 * dispatch has returned, so the scan can stop after n hits. */
	for (int i = 0; i < op->n && n > 0; i++) {
		short what = op->fds[i].revents, res = 0;
		if (!what)
			continue;
		n--;
		if (what & (POLLHUP | POLLERR | POLLNVAL))
			what |= POLLIN | POLLOUT;
		if (what & POLLIN) res |= EV_READ;
		if (what & POLLOUT) res |= EV_WRITE;
		if (what & POLLRDHUP) res |= EV_CLOSED;
		if (res)
			evb_io_active(base, op->fds[i].fd, res);
	}
	return 0;
}

const struct evb_backend evb_pollops = {
	"poll", EV_FEATURE_FDS | EV_FEATURE_EARLY_CLOSE, poll_init, poll_free, poll_ctl, poll_dispatch,
};
