/*
 * srv_accept.c - accepting connections within the descriptor limits: the
 * spare descriptor given up to shed a connection at EMFILE or ENFILE, and
 * the lock that keeps it across threads (docs/protocol.md, "Descriptor
 * limits"). See srv.h for the contract of each function.
 */
#include "srv.h"
#include "srv_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Held open only to be given up when accept() meets EMFILE; see srv_accept(). */
static int spare_fd = -1;
/*
 * Several threads may accept at once (epoll-mt). While one sheds, the slot
 * its closed spare leaves is free for an instant, and another thread's
 * accept() would take it: that connection is then served beyond the limit
 * and the spare is lost, so the next EMFILE can only wait. So every accept()
 * holds this lock for reading and a shed holds it for writing, writers
 * first; the uncontended read lock of a single-threaded design costs two
 * atomic operations beside a system call.
 */
static pthread_rwlock_t spare_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

void srv__spare_open(void)
{
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* ---- accepting ------------------------------------------------------------ */

static void pause_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

/* Written under spare_lock, read without it on the fast path. */
static void spare_set(int fd)
{
	__atomic_store_n(&spare_fd, fd, __ATOMIC_RELAXED);
}

int srv_accept(int lfd, bool nonblock)
{
	int flags = SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0);
	/* A blocking accept (the threads design's one acceptor) would hold the
	 * lock for as long as it waits; no other thread of that design accepts. */
	if (nonblock)
		pthread_rwlock_rdlock(&spare_lock);
	int fd = accept4(lfd, NULL, NULL, flags), saved = errno;
	if (nonblock)
		pthread_rwlock_unlock(&spare_lock);
	errno = saved;

	if (fd >= 0) {
		if (__atomic_load_n(&spare_fd, __ATOMIC_RELAXED) >= 0)
			return fd;
		/* The spare was lost: in a threaded server another thread's open()
		 * (glibc reads /sys when it makes a malloc arena) can take its slot
		 * while a shed has it closed, and a connection then takes it for
		 * good. Without a spare the next EMFILE could only wait, leaving
		 * clients in the backlog; so the spare comes first, and this
		 * connection gives its descriptor back to it. */
		pthread_rwlock_wrlock(&spare_lock);
		if (spare_fd < 0)
			spare_set(open("/dev/null", O_RDONLY | O_CLOEXEC));
		if (spare_fd < 0) {
			close(fd);
			spare_set(open("/dev/null", O_RDONLY | O_CLOEXEC));
			SRV_COUNT(emfile, 1);
			fd = SRV_SHED;
		}
		pthread_rwlock_unlock(&spare_lock);
		return fd;
	}
	switch (errno) {
	case EAGAIN:
	case EINTR: /* let the caller look at srv_stop */
		return SRV_AGAIN;
	case ECONNABORTED: /* the client gave up while it waited in the backlog */
		SRV_COUNT(resets, 1);
		return SRV_SHED;
	case EMFILE:
	case ENFILE: {
		/* Linux takes the descriptor before it looks at the backlog, so
		 * this failure does not even say that a connection is waiting:
		 * only the second accept() below tells, and only one that finds
		 * a connection counts. */
		int err = errno;

		pthread_rwlock_wrlock(&spare_lock);
		if (spare_fd < 0) {
			spare_set(open("/dev/null", O_RDONLY | O_CLOEXEC));
			pthread_rwlock_unlock(&spare_lock);
			pause_ms(10);
			return SRV_AGAIN;
		}
		close(spare_fd);
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		spare_set(open("/dev/null", O_RDONLY | O_CLOEXEC));
		pthread_rwlock_unlock(&spare_lock);
		if (fd < 0)
			return SRV_AGAIN;
		if (err == EMFILE)
			SRV_COUNT(emfile, 1);
		else
			SRV_COUNT(enfile, 1);
		return SRV_SHED;
	}
	default:
		/* ENOBUFS, ENOMEM and the like: the backlog stays readable, so
		 * returning at once would spin. */
		SRV_COUNT(errors, 1);
		pause_ms(10);
		return SRV_AGAIN;
	}
}

/* Both batches: bounded, so that a backlog that never empties cannot keep a
 * loop from its other work or from seeing a stop. */
static void accept_batch(int lfd, bool nonblock, void (*add)(int fd, void *arg), void *arg)
{
	for (int i = 0; i < SRV_ACCEPT_BATCH && !srv_stopping(); i++) {
		int fd = srv_accept(lfd, nonblock);

		if (fd == SRV_AGAIN)
			return;
		if (fd != SRV_SHED)
			add(fd, arg);
	}
}

void srv_accept_batch(int lfd, void (*add)(int fd, void *arg), void *arg)
{
	accept_batch(lfd, true, add, arg);
}

void srv_accept_blocking_batch(int lfd, void (*start)(int fd, void *arg), void *arg)
{
	accept_batch(lfd, false, start, arg);
}

void srv_child_closefds(int lfd)
{
	close(lfd);
	if (spare_fd >= 0)
		close(spare_fd);
	spare_fd = -1;
}
