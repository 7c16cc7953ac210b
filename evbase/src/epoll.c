/*
 * epoll.c — the epoll(7) backend: O(1) per change and per ready fd.
 *
 * The kernel keeps the interest set, so a dispatch costs one epoll_wait()
 * whatever the number of idle descriptors; each change of an fd's interest
 * is one epoll_ctl(). The only backend with edge triggering (EPOLLET, for
 * events with EV_ET: their owners must drain the fd until EAGAIN) and with
 * EV_CLOSED (EPOLLRDHUP). Limits: no regular files (epoll_ctl refuses them
 * with EPERM), and a registration follows the open file, not the number, so
 * a dup()ed fd still reports after close() — the price of not re-adding.
 */
#include "evb-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* epoll reports readiness in poll(2)'s bits, which evb_poll_res() reads. */
_Static_assert(EPOLLIN == POLLIN && EPOLLOUT == POLLOUT && EPOLLERR == POLLERR &&
	       EPOLLHUP == POLLHUP && EPOLLRDHUP == POLLRDHUP, "epoll's bits are poll's");

#define MIN_EVENTS 64		/* grown while a wait fills the array */
#define MAX_EVENTS 4096

struct epollop {
	int epfd;
	int nevents;
	struct epoll_event *events;
};

static int epoll_init(struct event_base *base)
{
	struct epollop *op = base->bd;

	if ((op->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	if (!(op->events = evb_malloc(MIN_EVENTS * sizeof(*op->events)))) {
		close(op->epfd);
		return -1;
	}
	op->nevents = MIN_EVENTS;
	return 0;
}

static void epoll_free(struct event_base *base)
{
	struct epollop *op = base->bd;

	close(op->epfd);
	evb_free(op->events);
}

static int epoll_ctl_fd(struct event_base *base, int fd, short old, short new_)
{
	struct epollop *op = base->bd;
	struct epoll_event ee;
	int how;

	memset(&ee, 0, sizeof(ee));
	ee.data.fd = fd;
	ee.events = (new_ & EV_READ ? EPOLLIN : 0) | (new_ & EV_WRITE ? EPOLLOUT : 0) |
	    (new_ & EV_CLOSED ? EPOLLRDHUP : 0) | (new_ & EV_ET ? EPOLLET : 0);
	if (!(new_ & (EV_READ | EV_WRITE | EV_CLOSED)))
		how = EPOLL_CTL_DEL;
	else
		how = (old & (EV_READ | EV_WRITE | EV_CLOSED)) ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(op->epfd, how, fd, &ee) == 0)
		return 0;
	/* The fd was closed and its number reused behind our back (the
	 * kernel dropped the old registration), or the other way round:
	 * retry with the other operation. A failed delete means the fd is
	 * gone already, which is what was wanted. */
	if (how == EPOLL_CTL_MOD && errno == ENOENT &&
	    epoll_ctl(op->epfd, EPOLL_CTL_ADD, fd, &ee) == 0)
		return 0;
	if (how == EPOLL_CTL_ADD && errno == EEXIST &&
	    epoll_ctl(op->epfd, EPOLL_CTL_MOD, fd, &ee) == 0)
		return 0;
	if (how == EPOLL_CTL_DEL && (errno == ENOENT || errno == EBADF || errno == EPERM))
		return 0;
	evb_warnx("epoll_ctl(%d, fd %d): %s", how, fd, strerror(errno));
	return -1;
}

static int epoll_dispatch(struct event_base *base, struct timeval *tv)
{
	struct epollop *op = base->bd;
	int n;

	/* Other threads may change the interest set meanwhile: epoll_ctl()
	 * on a set being waited on is safe, and the events array is ours. */
	EVB_UNLOCK(base);
	n = epoll_wait(op->epfd, op->events, op->nevents, tv ? evb_tv_to_ms(tv) : -1);
	EVB_LOCK(base);

	if (n < 0)
		return evb_wait_failed("epoll_wait");
	for (int i = 0; i < n; i++) {
		unsigned what = op->events[i].events;
		short res;
		/* The common cases first, one comparison each. */
		if (what == EPOLLIN) {
			evb_io_active(base, op->events[i].data.fd, EV_READ | EV_ET);
			continue;
		}
		if (what == EPOLLOUT) {
			evb_io_active(base, op->events[i].data.fd, EV_WRITE | EV_ET);
			continue;
		}
		if ((res = evb_poll_res(what)))
			evb_io_active(base, op->events[i].data.fd, res | EV_ET);
	}
	if (n == op->nevents && op->nevents < MAX_EVENTS) {
		struct epoll_event *e = evb_realloc(op->events, 2 * (size_t)op->nevents * sizeof(*e));
		if (e) {
			op->events = e;
			op->nevents *= 2;
		}
	}
	return 0;
}

const struct evb_backend evb_epollops = {
	"epoll", EV_FEATURE_ET | EV_FEATURE_O1 | EV_FEATURE_EARLY_CLOSE, sizeof(struct epollop),
	epoll_init, epoll_free, epoll_ctl_fd, epoll_dispatch,
};
