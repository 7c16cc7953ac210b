/*
 * select.c — the select(2) backend: bitmaps sized to the highest fd.
 *
 * select() costs O(highest fd) per dispatch, in the kernel and in the scan
 * after it, however few fds are watched. FD_SETSIZE (1024) is not a limit
 * here: the kernel takes bitmaps of any length (up to the descriptor
 * limit), so the sets are allocated to fit the highest fd and the bits are
 * set by hand — the FD_SET() macros would stop at FD_SETSIZE (and abort
 * under _FORTIFY_SOURCE). libevent's select backend lifts the limit too.
 * Level-triggered only; EV_ET is accepted and ignored.
 */
#include "evb-internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#define WORD_BITS ((int)(sizeof(unsigned long) * CHAR_BIT))

struct selectop {
	int maxfd;		/* highest fd watched, -1 for none */
	int words;		/* length of each set, in unsigned longs */
	unsigned long *rin, *win;	/* what we watch */
	/* What select() returned: dispatch's own, grown by it alone, since
	 * with a locked base another thread's ctl may grow the sets while
	 * select() writes into these. */
	unsigned long *rout, *wout;
	int outwords;
};

static int has(const unsigned long *set, int fd)
{
	return (set[fd / WORD_BITS] >> (fd % WORD_BITS)) & 1;
}

static void put(unsigned long *set, int fd, int on)
{
	unsigned long bit = 1UL << (fd % WORD_BITS);
	if (on)
		set[fd / WORD_BITS] |= bit;
	else
		set[fd / WORD_BITS] &= ~bit;
}

static int select_init(struct event_base *base)
{
	struct selectop *op = base->bd;

	op->maxfd = -1;
	return 0;
}

static void select_free(struct event_base *base)
{
	struct selectop *op = base->bd;

	evb_free(op->rin);
	evb_free(op->win);
	evb_free(op->rout);
	evb_free(op->wout);
}

/* Make the sets long enough for fd, doubling so growth is amortized. */
static int grow(struct selectop *op, int fd)
{
	int bits = evb_fd_slots(op->words ? op->words * WORD_BITS : 1024, fd, 1);
	unsigned long **sets[] = { &op->rin, &op->win };
	int words;

	if (bits < 0)
		return -1;
	words = bits / WORD_BITS;
	for (int i = 0; i < 2; i++) {
		unsigned long *p = evb_realloc(*sets[i], (size_t)words * sizeof(*p));
		if (!p)
			return -1;	/* already-grown sets are harmless */
		memset(p + op->words, 0, (size_t)(words - op->words) * sizeof(*p));
		*sets[i] = p;
	}
	op->words = words;
	return 0;
}

static int select_ctl(struct event_base *base, int fd, short old, short new_)
{
	struct selectop *op = base->bd;

	if (fd >= op->words * WORD_BITS && grow(op, fd) < 0)
		return -1;
	put(op->rin, fd, new_ & EV_READ);
	put(op->win, fd, new_ & EV_WRITE);
	if (new_ & (EV_READ | EV_WRITE)) {
		if (fd > op->maxfd)
			op->maxfd = fd;
	} else if (fd == op->maxfd) {
		while (op->maxfd >= 0 && !has(op->rin, op->maxfd) && !has(op->win, op->maxfd))
			op->maxfd--;
	}
	return 0;
}

static int select_dispatch(struct event_base *base, struct timeval *tv)
{
	struct selectop *op = base->bd;
	struct timeval t, *tp = NULL;
	size_t len = (size_t)(op->maxfd / WORD_BITS + 1) * sizeof(unsigned long);
	int n;

	int maxfd = op->maxfd;

	if (tv) {
		t = *tv;	/* select() overwrites it */
		tp = &t;
	}
	if (op->outwords < op->words) {
		unsigned long *r = evb_realloc(op->rout, (size_t)op->words * sizeof(*r));
		if (r)
			op->rout = r;
		unsigned long *w = r ? evb_realloc(op->wout, (size_t)op->words * sizeof(*w)) : NULL;
		if (!w)
			return -1;
		op->wout = w;
		op->outwords = op->words;
	}
	if (maxfd >= 0) {
		memcpy(op->rout, op->rin, len);
		memcpy(op->wout, op->win, len);
	}
	EVB_UNLOCK(base);
	n = select(maxfd + 1, maxfd >= 0 ? (fd_set *)op->rout : NULL,
	    maxfd >= 0 ? (fd_set *)op->wout : NULL, NULL, tp);
	EVB_LOCK(base);
	if (n < 0)
		return evb_wait_failed("select");
	for (int fd = 0; fd <= maxfd && n > 0; fd++) {
		short res = (short)((has(op->rout, fd) ? EV_READ : 0) |
		    (has(op->wout, fd) ? EV_WRITE : 0));
		if (res) {
			n -= !!(res & EV_READ) + !!(res & EV_WRITE);
			evb_io_active(base, fd, res);
		}
	}
	return 0;
}

const struct evb_backend evb_selectops = {
	"select", EV_FEATURE_FDS, sizeof(struct selectop),
	select_init, select_free, select_ctl, select_dispatch,
};
