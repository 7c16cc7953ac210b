/*
 * uring_mshot_reset.c — does an io_uring multishot recv stay armed after its
 * socket is reset? A standalone reproducer: liburing and the C library only,
 * loopback TCP only. It reports; it is not a test, and exits 0 whatever it
 * finds (2 on bad arguments, 1 when the machine cannot run it at all).
 *
 *   uring_mshot_reset [--conns N] [--wait-ms M] [--rounds R]
 *
 * Every case accepts N loopback connections (blocking sockets, as
 * rot13-uring's), arms one recv on each accepted socket (buffer select from a
 * provided-buffer ring), lets each client send a half line ("half a li",
 * no newline) and then reset the connection (SO_LINGER 0, close()) or
 * half-close it, and waits at most M ms for the recvs to end. A recv whose last
 * completion still says IORING_CQE_F_MORE after the wait is "still armed":
 * its socket is closed by TCP and nothing will wake that recv again. A case's
 * name says the recv (mshot: multishot, single: one completion), whether it
 * polls first (IORING_RECVSEND_POLL_FIRST), what the client sends, and when:
 *
 *   pollfirst  the client sends and resets BEFORE the recv is submitted: the
 *              recv's poll is armed on a socket where both already are (the
 *              deterministic variant);
 *   before     the same without POLL_FIRST: the recv tries once, then polls;
 *   armed      the recv is submitted and finds nothing (its poll armed); the
 *              client then sends and resets before this thread enters the
 *              ring again (with DEFER_TASKRUN the recv runs only then);
 *   race       the default recv, submitted while a second thread sends and
 *              resets that client a random 0-8 us later, so that some land
 *              between the recv's first attempt and its poll (the racy
 *              variant; the window is a fraction of a microsecond).
 *
 * Each case runs on a ring made as rot13-uring makes its ring (SINGLE_ISSUER |
 * DEFER_TASKRUN, "defer") and on a plain ring ("plain"). What it printed on
 * this project's machine, and what that means: docs/uring-multishot-reset.md.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 4096
#define BUF_SIZE  256
#define BUF_COUNT 8192 /* a power of two, more than MAX_CONNS */
#define HUP_TAG   (1ULL << 32) /* user_data of a hang-up poll: the index | HUP_TAG */

struct tally {
	int conns;        /* connections reset (or, for the data case, sent a line) */
	int cqes;         /* completions seen */
	int res_pos, res_zero, res_reset, res_other; /* by result */
	int armed;        /* recvs still armed after the wait */
	int hup;          /* completions of the hang-up polls (cases with "+hup") */
};

static int nconns = 300, wait_ms = 1000, rounds = 1;
static int lfd;
static struct sockaddr_in addr;
static int cli[MAX_CONNS], srv[MAX_CONNS];
static bool live[MAX_CONNS]; /* the recv on srv[i] has not ended */

static void die(const char *what, int err)
{
	fprintf(stderr, "uring_mshot_reset: %s: %s\n", what, strerror(err));
	exit(1);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void listen_loopback(void)
{
	socklen_t len = sizeof addr;

	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len) < 0)
		die("listen on 127.0.0.1", errno);
}

/* N client sockets, each connected and accepted. */
static void open_pairs(void)
{
	for (int i = 0; i < nconns; i++) {
		if ((cli[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
		    connect(cli[i], (struct sockaddr *)&addr, sizeof addr) < 0)
			die("connect", errno);
		if ((srv[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			die("accept", errno);
	}
}

/* close() with SO_LINGER 0: the peer gets a RST instead of a FIN. */
static void reset(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

static void setup_ring(struct io_uring *ring, bool defer, char **bufs)
{
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE, .cq_entries = 4 * MAX_CONNS };
	struct io_uring_buf_reg reg = { .ring_entries = BUF_COUNT, .bgid = 0 };
	struct io_uring_buf_ring *br;
	int rc;

	if (defer)
		p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	if ((rc = io_uring_queue_init_params(MAX_CONNS, ring, &p)) < 0)
		die("io_uring_queue_init", -rc);
	br = mmap(NULL, BUF_COUNT * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (br == MAP_FAILED || (*bufs = malloc((size_t)BUF_COUNT * BUF_SIZE)) == NULL)
		die("buffers", ENOMEM);
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	if ((rc = io_uring_register_buf_ring(ring, &reg, 0)) < 0)
		die("io_uring_register_buf_ring", -rc);
	io_uring_buf_ring_init(br);
	for (int b = 0; b < BUF_COUNT; b++)
		io_uring_buf_ring_add(br, *bufs + (size_t)b * BUF_SIZE, BUF_SIZE, (unsigned short)b,
				      io_uring_buf_ring_mask(BUF_COUNT), b);
	io_uring_buf_ring_advance(br, BUF_COUNT);
}

static void prep_recv(struct io_uring *ring, int i, bool multishot, bool poll_first)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (sqe == NULL) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	if (multishot)
		io_uring_prep_recv_multishot(sqe, srv[i], NULL, 0, 0);
	else
		io_uring_prep_recv(sqe, srv[i], NULL, BUF_SIZE, 0);
	if (poll_first)
		sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 0;
	io_uring_sqe_set_data64(sqe, (uint64_t)i);
	live[i] = true;
}

/* Take every completion there is, waiting up to `ms` for the first. */
static void reap(struct io_uring *ring, struct tally *t, int ms)
{
	struct __kernel_timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
	io_uring_for_each_cqe(ring, head, cqe) {
		if (cqe->user_data & HUP_TAG) {
			t->hup += cqe->res > 0;
			n++;
			continue;
		}
		t->cqes++;
		if (cqe->res > 0)
			t->res_pos++;
		else if (cqe->res == 0)
			t->res_zero++;
		else if (cqe->res == -ECONNRESET)
			t->res_reset++;
		else
			t->res_other++;
		if (!(cqe->flags & IORING_CQE_F_MORE))
			live[cqe->user_data] = false;
		n++;
	}
	io_uring_cq_advance(ring, n);
}

/* Wait until every recv has ended or wait_ms have passed; count the rest. */
static void settle(struct io_uring *ring, struct tally *t)
{
	long long deadline = now_ms() + wait_ms;

	for (;;) {
		int armed = 0;

		for (int i = 0; i < nconns; i++)
			armed += live[i];
		t->armed = armed;
		if (armed == 0 || now_ms() >= deadline)
			return;
		reap(ring, t, 10);
	}
}

/* When the client's bytes and its end arrive, against the recv's arming. */
enum when {
	BEFORE, /* before the recv is submitted */
	ARMED,  /* after it is armed and waiting, before the ring is entered again */
	RACE,   /* from another thread, while the recv is being submitted */
};

struct kase {
	const char *name;
	bool multishot, poll_first, data, fin; /* fin: shutdown(SHUT_WR), else a reset */
	enum when when;
	bool hup; /* also a one-shot POLL_ADD for POLLRDHUP | POLLHUP | POLLERR */
};

static void client_writes(const struct kase *k, int i)
{
	if (k->data && write(cli[i], "half a li", 9) != 9)
		die("write", errno);
}

/* The client's side: a half line (or nothing), then a reset or a FIN. */
static void client_ends(const struct kase *k, int i)
{
	if (k->fin)
		shutdown(cli[i], SHUT_WR);
	else
		reset(cli[i]); /* on loopback the RST is processed before close() returns */
}

struct racer {
	const struct kase *k;
	int go; /* the recv the server thread has reached */
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sends and ends client i a random 0-8 us after the server thread starts
 * to submit recv i: the submission takes a few microseconds, so some of the
 * bytes and resets land inside it. */
static void *racer(void *arg)
{
	struct racer *r = arg;
	uint32_t seed = 2463534242u;

	for (int i = 0; i < nconns; i++) {
		while (__atomic_load_n(&r->go, __ATOMIC_ACQUIRE) < i)
			;
		seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
		for (long long until = now_ns() + seed % 8000; now_ns() < until;)
			;
		client_writes(r->k, i);
		client_ends(r->k, i);
	}
	return NULL;
}

static void run_case(const struct kase *k, bool defer, struct tally *t)
{
	struct io_uring ring;
	char *bufs;
	struct racer r = { k, -1 };
	pthread_t th;

	memset(t, 0, sizeof *t);
	setup_ring(&ring, defer, &bufs);
	open_pairs();
	t->conns = nconns;
	if (k->when == RACE && pthread_create(&th, NULL, racer, &r) != 0)
		die("pthread_create", EAGAIN);
	for (int i = 0; i < nconns; i++) {
		if (k->when == BEFORE) {
			client_writes(k, i);
			client_ends(k, i);
		}
		prep_recv(&ring, i, k->multishot, k->poll_first);
		if (k->hup) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			if (sqe == NULL) {
				io_uring_submit(&ring);
				sqe = io_uring_get_sqe(&ring);
			}
			io_uring_prep_poll_add(sqe, srv[i], POLLRDHUP | POLLHUP | POLLERR);
			io_uring_sqe_set_data64(sqe, HUP_TAG | (uint64_t)i);
		}
		if (k->when == RACE) {
			__atomic_store_n(&r.go, i, __ATOMIC_RELEASE);
			io_uring_submit(&ring); /* one enter per recv, racing that client */
		}
	}
	if (k->when == RACE)
		pthread_join(th, NULL);
	if (k->when == ARMED) {
		/* Submitted and given time to find the sockets empty and arm
		 * their polls; then the clients act while this thread stays out
		 * of the ring, so with DEFER_TASKRUN the recvs run only later. */
		reap(&ring, t, 50);
		for (int i = 0; i < nconns; i++) {
			client_writes(k, i);
			client_ends(k, i);
		}
	}
	io_uring_submit(&ring);
	settle(&ring, t);
	if (k->fin)
		for (int i = 0; i < nconns; i++)
			close(cli[i]);
	io_uring_queue_exit(&ring); /* cancels what is still armed */
	for (int i = 0; i < nconns; i++)
		close(srv[i]);
	free(bufs);
}

static void usage(void)
{
	fprintf(stderr, "usage: uring_mshot_reset [--conns N (1-%d)] [--wait-ms M] [--rounds R]\n",
		MAX_CONNS);
	exit(2);
}

static int intarg(const char *s, int lo, int hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		usage();
	return (int)v;
}

int main(int argc, char **argv)
{
	/* name, multishot, poll first, data, FIN (else RST), when, hang-up poll */
	static const struct kase cases[] = {
		{ "mshot-pollfirst-data+rst", true, true, true, false, BEFORE, false },
		{ "mshot-pollfirst-data+rst+hup", true, true, true, false, BEFORE, true },
		{ "mshot-pollfirst-rst", true, true, false, false, BEFORE, false },
		{ "mshot-pollfirst-data+fin", true, true, true, true, BEFORE, false },
		{ "single-pollfirst-data+rst", false, true, true, false, BEFORE, false },
		{ "mshot-before-data+rst", true, false, true, false, BEFORE, false },
		{ "mshot-armed-data+rst", true, false, true, false, ARMED, false },
		{ "mshot-armed-data+fin", true, false, true, true, ARMED, false },
		{ "single-armed-data+rst", false, false, true, false, ARMED, false },
		{ "mshot-armed-data+rst+hup", true, false, true, false, ARMED, true },
		{ "mshot-race-data+rst", true, false, true, false, RACE, false },
		{ "single-race-data+rst", false, false, true, false, RACE, false },
	};
	struct utsname u;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--conns") && i + 1 < argc)
			nconns = intarg(argv[++i], 1, MAX_CONNS);
		else if (!strcmp(argv[i], "--wait-ms") && i + 1 < argc)
			wait_ms = intarg(argv[++i], 0, 60000);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = intarg(argv[++i], 1, 1000);
		else
			usage();
	}
	uname(&u);
	listen_loopback();
	printf("kernel %s %s, %d connections per case, wait %d ms\n", u.release, u.version,
	       nconns, wait_ms);
	printf("%-28s %-5s %5s %5s %5s %5s %5s %5s %5s %5s\n", "case", "ring", "round", "conns",
	       "cqes", "res>0", "res=0", "reset", "armed", "hup");
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
		for (int defer = 1; defer >= 0; defer--)
			for (int r = 0; r < rounds; r++) {
				struct tally t;

				run_case(&cases[c], defer, &t);
				printf("%-28s %-5s %5d %5d %5d %5d %5d %5d %5d %5d%s\n",
				       cases[c].name, defer ? "defer" : "plain", r + 1, t.conns,
				       t.cqes, t.res_pos, t.res_zero, t.res_reset, t.armed, t.hup,
				       t.res_other ? " (other errors)" : "");
				fflush(stdout);
			}
	return 0;
}
