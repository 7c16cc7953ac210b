/*
 * common.c — the parts of a ROT13 server that do not depend on how it waits.
 * See common.h for the contract of each function.
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

struct srv_opts srv_opts = {
	.addr = "127.0.0.1",
	.port = 0,
	.max_line = 16384,
	.max_pending = 65536,
};
struct srv_counters *srv_ctr;
volatile sig_atomic_t srv_stop;

static const char *design;
static unsigned char rot13[256];
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

/* ---- command line --------------------------------------------------------- */

static void usage(FILE *f, unsigned flags)
{
	fprintf(f, "usage: rot13-%s [--addr A] [--port N] [--max-line B] [--max-pending B] "
		"[--work-us N] [--work-ns N] [--idle-timeout S]%s%s%s\n", design,
		(flags & SRV_OPT_BACKEND) ? " [--backend M]" : "",
		(flags & SRV_OPT_CHILDREN) ? " [--max-children N]" : "",
		(flags & SRV_OPT_THREADS) ? " [--threads N]" : "");
}

static unsigned design_flags;

void srv_bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rot13-%s: ", design);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr, design_flags);
	exit(2);
}

/* A whole decimal number in [min, max], or a usage error naming the option. */
static unsigned long long number(const char *opt, const char *s, unsigned long long min,
				 unsigned long long max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] == '\0' || s[0] == '-' || *end != '\0' || errno != 0)
		srv_bad_usage("--%s wants a whole number, not '%s'", opt, s);
	if (v < min || v > max)
		srv_bad_usage("--%s must be between %llu and %llu, not %s", opt, min, max, s);
	return v;
}

static void parse(int argc, char **argv, unsigned flags)
{
	static const struct option longopts[] = {
		{"addr", required_argument, NULL, 'a'},
		{"port", required_argument, NULL, 'p'},
		{"max-line", required_argument, NULL, 'l'},
		{"max-pending", required_argument, NULL, 'm'},
		{"work-us", required_argument, NULL, 'w'},
		{"work-ns", required_argument, NULL, 'W'},
		{"backend", required_argument, NULL, 'b'},
		{"idle-timeout", required_argument, NULL, 'i'},
		{"max-children", required_argument, NULL, 'c'},
		{"threads", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct in6_addr scratch;
	int c;

	opterr = 0; /* our own one-line messages, not getopt's */
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &scratch) != 1 &&
			    inet_pton(AF_INET6, optarg, &scratch) != 1)
				srv_bad_usage("--addr wants a numeric IPv4 or IPv6 address, not '%s'", optarg);
			srv_opts.addr = optarg;
			break;
		case 'p':
			srv_opts.port = (int)number("port", optarg, 0, 65535);
			break;
		case 'l':
			srv_opts.max_line = number("max-line", optarg, 1, 1u << 30);
			break;
		case 'm':
			srv_opts.max_pending = number("max-pending", optarg, 1, 1u << 30);
			break;
		case 'w':
			srv_opts.work_ns += 1000 * (uint64_t)number("work-us", optarg, 0, 1000000);
			break;
		case 'W':
			srv_opts.work_ns += (uint64_t)number("work-ns", optarg, 0, 1000000000);
			break;
		case 'b':
			if (!(flags & SRV_OPT_BACKEND))
				srv_bad_usage("--backend is not an option of this design");
			srv_opts.backend = optarg;
			break;
		case 'i': /* a day at most: beyond that, leave it off */
			srv_opts.idle_timeout_s = (unsigned)number("idle-timeout", optarg, 0, 86400);
			break;
		case 'c':
			if (!(flags & SRV_OPT_CHILDREN))
				srv_bad_usage("--max-children is not an option of this design");
			srv_opts.max_children = (unsigned long)number("max-children", optarg, 1, 1u << 30);
			break;
		case 't':
			if (!(flags & SRV_OPT_THREADS))
				srv_bad_usage("--threads is not an option of this design");
			srv_opts.threads = (int)number("threads", optarg, 1, SRV_MAX_THREADS);
			break;
		case 'h':
			usage(stdout, flags);
			exit(0);
		case ':':
			srv_bad_usage("%s needs a value", argv[optind - 1]);
			break;
		default:
			srv_bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		srv_bad_usage("unexpected argument '%s'", argv[optind]);
}

/* ---- setup ---------------------------------------------------------------- */

static void die(const char *what)
{
	fprintf(stderr, "rot13-%s: %s: %s\n", design, what, strerror(errno));
	exit(1);
}

static void on_stop(int sig)
{
	(void)sig;
	__atomic_store_n(&srv_stop, 1, __ATOMIC_RELAXED); /* see common.h */
}

void srv_init(const char *name, int argc, char **argv, unsigned flags)
{
	struct sigaction sa;
	struct rlimit rl;

	design = name;
	design_flags = flags;
	parse(argc, argv, flags);

	for (int i = 0; i < 256; i++) {
		int c = i;
		if (c >= 'a' && c <= 'z')
			c = 'a' + (c - 'a' + 13) % 26;
		else if (c >= 'A' && c <= 'Z')
			c = 'A' + (c - 'A' + 13) % 26;
		rot13[i] = (unsigned char)c;
	}

	/* A server is asked to hold ten thousand connections; the soft limit of a
	 * login shell is often 1024. Take what the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	srv_ctr = mmap(NULL, sizeof *srv_ctr, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (srv_ctr == MAP_FAILED)
		die("mmap counters");

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* No SA_RESTART: a stop signal must interrupt a blocking call. */
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* The port the listeners got, for the ready line. */
static int ready_port;

int srv_listen(void)
{
	int fd;

	srv_listen_reuseport(&fd, 1);
	srv_ready();
	return fd;
}

void srv_listen_reuseport(int *fds, int n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd = -1, family = AF_INET;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, srv_opts.addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)srv_opts.port);
		len = sizeof *sin;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		inet_pton(AF_INET6, srv_opts.addr, &sin6->sin6_addr);
		sin6->sin6_family = family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)srv_opts.port);
		len = sizeof *sin6;
	}

	for (int i = 0; i < n; i++) {
		fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		/* Only a group asks for SO_REUSEPORT: a lone listener with it
		 * would share its port with any other program of this user. */
		if (n > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
			die("SO_REUSEPORT");
		if (bind(fd, (struct sockaddr *)&ss, len) < 0)
			die("bind");
		/* The kernel caps the backlog at net.core.somaxconn; ask for the most. */
		if (listen(fd, INT_MAX) < 0)
			die("listen");
		/* The first bound the port (maybe an ephemeral one); the others
		 * join it, so they bind the address it got. */
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
			die("getsockname");
		fds[i] = fd;
	}

	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ready_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

void srv_ready(void)
{
	printf("ready %s port=%d pid=%d\n", design, ready_port, (int)getpid());
	fflush(stdout);
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

void srv_accept_batch(int lfd, void (*add)(int fd, void *arg), void *arg)
{
	for (int i = 0; i < SRV_ACCEPT_BATCH; i++) {
		int fd = srv_accept(lfd, true);

		if (fd == SRV_AGAIN)
			return;
		if (fd != SRV_SHED)
			add(fd, arg);
	}
}

void srv_child_closefds(int lfd)
{
	close(lfd);
	if (spare_fd >= 0)
		close(spare_fd);
	spare_fd = -1;
}

/* ---- connections ---------------------------------------------------------- */

void srv_conn_opened(void)
{
	uint64_t live = __atomic_add_fetch(&srv_ctr->live, 1, __ATOMIC_RELAXED);
	uint64_t peak = __atomic_load_n(&srv_ctr->peak_conns, __ATOMIC_RELAXED);

	SRV_COUNT(accepted, 1);
	while (live > peak && !__atomic_compare_exchange_n(&srv_ctr->peak_conns, &peak, live, true,
							   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void srv_conn_closed(int fd)
{
	if (fd >= 0)
		close(fd);
	__atomic_sub_fetch(&srv_ctr->live, 1, __ATOMIC_RELAXED);
	SRV_COUNT(closed, 1);
}

/* Every live connection by descriptor: select and poll find theirs here, and
 * the stop closes what is left. Grown on demand, never shrunk. One per
 * thread: a reactor per thread (epoll-mt) files, sweeps and frees only its
 * own connections, and a single-threaded design has just the one. */
static __thread struct srv_conn **table;
static __thread size_t table_len;
/* srv_conn_readable's buffer, the thread's own, made on its first read. */
static __thread char *read_buf;

struct srv_conn *srv_conn_new(int fd)
{
	struct srv_conn *c = calloc(1, sizeof *c);

	if (c != NULL && (size_t)fd >= table_len) {
		size_t len = table_len ? table_len : 1024;
		while (len <= (size_t)fd)
			len *= 2;
		struct srv_conn **t = realloc(table, len * sizeof *t);
		if (t == NULL) {
			free(c);
			c = NULL;
		} else {
			memset(t + table_len, 0, (len - table_len) * sizeof *t);
			table = t;
			table_len = len;
		}
	}
	if (c == NULL) {
		close(fd);
		SRV_COUNT(errors, 1);
		return NULL;
	}
	c->fd = fd;
	if (srv_opts.idle_timeout_s)
		c->last_ms = srv_now_ms();
	table[fd] = c;
	srv_conn_opened();
	return c;
}

struct srv_conn *srv_conn_get(int fd)
{
	return (size_t)fd < table_len ? table[fd] : NULL;
}

void srv_conn_free(struct srv_conn *c)
{
	int fd = c->fd;

	srv_conn_release(c);
	close(fd);
}

void srv_conn_release(struct srv_conn *c)
{
	table[c->fd] = NULL;
	srv_conn_closed(-1);
	free(c->line);
	free(c->out);
	free(c);
}

void srv_conn_free_all(void (*release)(struct srv_conn *))
{
	for (size_t fd = 0; fd < table_len; fd++) {
		if (table[fd] == NULL)
			continue;
		if (release != NULL)
			release(table[fd]);
		srv_conn_free(table[fd]);
	}
	free(table);
	table = NULL;
	table_len = 0;
	free(read_buf);
	read_buf = NULL;
}

int64_t srv_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A byte moved: the connection is not idle. A clock read costs some 20 ns,
 * but without --idle-timeout nobody looks, so it is not paid. */
static inline void touch(struct srv_conn *c)
{
	if (srv_opts.idle_timeout_s)
		c->last_ms = srv_now_ms();
}

int srv_idle_sweep(void (*close_conn)(struct srv_conn *))
{
	static __thread int64_t last_sweep;
	int64_t now, limit = (int64_t)srv_opts.idle_timeout_s * 1000;
	int closed = 0;

	if (limit == 0)
		return 0;
	now = srv_now_ms();
	if (now - last_sweep < SRV_IDLE_SWEEP_MS)
		return 0;
	last_sweep = now;
	/* By descriptor: close_conn empties the slot it frees, and nothing is
	 * accepted meanwhile, so the walk sees each connection once. */
	for (size_t fd = 0; fd < table_len; fd++) {
		struct srv_conn *c = table[fd];

		if (c != NULL && now - c->last_ms >= limit) {
			SRV_COUNT(idle_closed, 1);
			close_conn(c);
			closed++;
		}
	}
	return closed;
}

/* A failed read or write ends the connection; say why in the counters.
 * Failures our own stop causes (threads shuts its sockets down) are not news. */
void srv_count_failure(int err)
{
	if (srv_stopping())
		return;
	if (err == ECONNRESET || err == EPIPE)
		SRV_COUNT(resets, 1);
	else
		SRV_COUNT(errors, 1);
}

/* Keep what the kernel did not take, after what is already waiting. */
static int queue(struct srv_conn *c, const struct iovec *iov, int cnt)
{
	size_t need = srv_conn_pending(c);

	for (int i = 0; i < cnt; i++)
		need += iov[i].iov_len;
	if (c->out_off > 0) { /* slide the unsent tail to the front first */
		memmove(c->out, c->out + c->out_off, srv_conn_pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < need)
			cap *= 2;
		char *p = realloc(c->out, cap);
		if (p == NULL) {
			SRV_COUNT(errors, 1);
			return -1;
		}
		c->out = p;
		c->out_cap = cap;
	}
	for (int i = 0; i < cnt; i++) {
		if (iov[i].iov_len == 0) /* its base may be NULL, which memcpy may not see */
			continue;
		memcpy(c->out + c->out_len, iov[i].iov_base, iov[i].iov_len);
		c->out_len += iov[i].iov_len;
	}
	return 0;
}

/*
 * Send a then b. With nothing already waiting they go straight to the socket,
 * and only what the kernel refuses is copied; a blocking connection loops until
 * all is sent. Returns -1 when the connection must end.
 */
static int emit(struct srv_conn *c, const char *a, size_t alen, const char *b, size_t blen)
{
	struct iovec iov[2] = {{(void *)a, alen}, {(void *)b, blen}};
	struct iovec *v = iov;
	int cnt = 2;

	if (srv_conn_pending(c) == 0 && !c->deferred) {
		while (cnt > 0) {
			ssize_t w = writev(c->fd, v, cnt);
			if (w < 0) {
				if (errno == EINTR && !srv_stopping())
					continue;
				if (errno == EAGAIN && !c->blocking)
					break;
				if (errno == EAGAIN) /* SO_SNDTIMEO: the client read nothing for that long */
					SRV_COUNT(idle_closed, 1);
				else if (errno != EINTR)
					srv_count_failure(errno);
				return -1;
			}
			SRV_COUNT(bytes_out, (uint64_t)w);
			touch(c);
			while (cnt > 0 && (size_t)w >= v->iov_len) {
				w -= (ssize_t)v->iov_len;
				v++, cnt--;
			}
			if (cnt > 0) {
				v->iov_base = (char *)v->iov_base + w;
				v->iov_len -= (size_t)w;
				if (!c->blocking)
					break; /* a short write means the buffer is full */
				/* A stop signal that lands during a blocking write which
				 * had already sent something does not make it fail with
				 * EINTR: it returns short. Going on would block again,
				 * until the fork server's SIGKILL. */
				if (srv_stopping())
					return -1;
			}
		}
	}
	return cnt > 0 ? queue(c, v, cnt) : 0;
}

/* --work-us, --work-ns: burn the CPU for this long, the cost of a request's
 * real work. Nanoseconds, because a request here costs a few µs in all and a
 * 10% slowdown is a fraction of one. */
static void burn(uint64_t ns)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((int64_t)(t.tv_sec - t0.tv_sec) * 1000000000 + (t.tv_nsec - t0.tv_nsec) < (int64_t)ns);
}

/*
 * Answer what `n` fresh bytes complete. They are rot13'd in place; every byte
 * up to the last newline is sent, and so is every full max_line of a line
 * without one; what is left waits in c->line. The bytes sent are always a
 * prefix of (c->line, data), so one writev covers both.
 */
static int consume(struct srv_conn *c, char *data, size_t n)
{
	const size_t max = srv_opts.max_line;
	uint64_t lines = 0, oversize = 0;
	size_t run = c->line_len; /* bytes of the current line so far, no '\n' */
	char *p = data, *end = data + n, *nl;
	size_t keep;

	SRV_COUNT(bytes_in, n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)rot13[(unsigned char)data[i]];
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		run += (size_t)(nl - p);
		oversize += run / max; /* the buffer filled this often before the '\n' */
		run = 0;
		lines++;
		p = nl + 1;
	}
	run += (size_t)(end - p);
	oversize += run / max;
	keep = run % max;

	if (lines == 0 && oversize == 0) { /* all of it extends the partial line */
		if (c->line == NULL && (c->line = malloc(max)) == NULL) {
			SRV_COUNT(errors, 1);
			return -1;
		}
		memcpy(c->line + c->line_len, data, n);
		c->line_len += n;
		return 0;
	}
	if (lines)
		SRV_COUNT(lines, lines);
	if (oversize)
		SRV_COUNT(oversize, oversize);
	if (srv_opts.work_ns)
		burn(lines * srv_opts.work_ns);
	if (emit(c, c->line, c->line_len, data, n - keep) < 0)
		return -1;
	c->line_len = 0;
	if (keep == 0) {
		free(c->line);
		c->line = NULL;
		return 0;
	}
	if (c->line == NULL && (c->line = malloc(max)) == NULL) {
		SRV_COUNT(errors, 1);
		return -1;
	}
	memcpy(c->line, end - keep, keep);
	c->line_len = keep;
	return 0;
}

/* The client half-closed: what is left of its last line goes back as it is. */
static int finish(struct srv_conn *c)
{
	int rc = emit(c, c->line, c->line_len, NULL, 0);

	c->eof = true;
	free(c->line);
	c->line = NULL;
	c->line_len = 0;
	return rc;
}

int srv_conn_want(const struct srv_conn *c)
{
	size_t pending = srv_conn_pending(c) + c->sending;

	if (c->eof)
		return pending ? SRV_WRITE : SRV_CLOSE;
	return (pending ? SRV_WRITE : 0) | (pending > srv_opts.max_pending ? 0 : SRV_READ);
}

int srv_conn_readable(struct srv_conn *c, bool edge)
{
	size_t turn = 0;

	/* One buffer per thread, not on the stack: the threads design's
	 * stacks are 64 KiB, and static thread-local storage comes out of them. */
	if (read_buf == NULL && (read_buf = malloc(SRV_READ_TURN)) == NULL) {
		SRV_COUNT(errors, 1);
		return SRV_CLOSE;
	}

	while (!c->eof && srv_conn_pending(c) <= srv_opts.max_pending) {
		if (turn >= SRV_READ_TURN) /* edge only: the others' turn (common.h) */
			return srv_conn_want(c) | SRV_MORE;
		ssize_t n = read(c->fd, read_buf, SRV_READ_TURN);
		if (n > 0) {
			touch(c);
			if (consume(c, read_buf, (size_t)n) < 0)
				return SRV_CLOSE;
			turn += (size_t)n;
			if (!edge)
				break;
		} else if (n == 0) {
			if (finish(c) < 0)
				return SRV_CLOSE;
		} else if (errno == EAGAIN) {
			break;
		} else if (errno != EINTR) {
			srv_count_failure(errno);
			return SRV_CLOSE;
		}
	}
	return srv_conn_want(c);
}

int srv_conn_writable(struct srv_conn *c)
{
	while (srv_conn_pending(c) > 0) {
		ssize_t w = write(c->fd, c->out + c->out_off, srv_conn_pending(c));
		if (w < 0) {
			if (errno == EAGAIN)
				break;
			if (errno == EINTR)
				continue;
			srv_count_failure(errno);
			return SRV_CLOSE;
		}
		SRV_COUNT(bytes_out, (uint64_t)w);
		touch(c);
		c->out_off += (size_t)w;
	}
	if (srv_conn_pending(c) == 0 && c->out != NULL) {
		/* Give the memory back: most connections never queue a byte. */
		free(c->out);
		c->out = NULL;
		c->out_off = c->out_len = c->out_cap = 0;
	}
	return srv_conn_want(c);
}

int srv_conn_input(struct srv_conn *c, char *data, size_t n)
{
	if (n == 0)
		return finish(c) < 0 ? SRV_CLOSE : srv_conn_want(c);
	touch(c);
	return consume(c, data, n) < 0 ? SRV_CLOSE : srv_conn_want(c);
}

char *srv_conn_take_out(struct srv_conn *c, size_t *len)
{
	char *p = c->out;

	/* A deferred connection never writes, so its queue starts at 0. */
	*len = c->out_len;
	if (c->out_len == 0)
		return NULL;
	c->sending += c->out_len;
	c->out = NULL;
	c->out_off = c->out_len = c->out_cap = 0;
	return p;
}

int srv_conn_sent(struct srv_conn *c, size_t n)
{
	SRV_COUNT(bytes_out, (uint64_t)n);
	touch(c);
	c->sending -= n;
	return srv_conn_want(c);
}

void srv_serve_blocking(int fd, char *buf, size_t bufsz)
{
	struct srv_conn c = {.fd = fd, .blocking = true};

	if (srv_opts.idle_timeout_s) {
		/* A blocking read or write that sees no byte move for this long
		 * fails with EAGAIN: the idle timeout without a timer. */
		struct timeval tv = {.tv_sec = srv_opts.idle_timeout_s};

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	for (;;) {
		ssize_t n = read(fd, buf, bufsz);
		if (n > 0) {
			if (consume(&c, buf, (size_t)n) < 0)
				break;
		} else if (n == 0) {
			finish(&c);
			break;
		} else if (errno == EINTR) {
			if (srv_stopping())
				break;
		} else if (errno == EAGAIN) { /* SO_RCVTIMEO: silent for --idle-timeout */
			SRV_COUNT(idle_closed, 1);
			break;
		} else {
			srv_count_failure(errno);
			break;
		}
	}
	free(c.line);
	free(c.out);
}

/* ---- report --------------------------------------------------------------- */

void srv_report(const char *backend)
{
	srv_report_more(backend, "");
}

void srv_report_more(const char *backend, const char *more)
{
	const struct srv_counters *k = srv_ctr;

	printf("{\"design\":\"%s\",\"backend\":\"%s\"", design, backend);
#define SRV_COUNTER_PRINT(name) printf(",\"" #name "\":%" PRIu64, k->name);
	SRV_COUNTERS(SRV_COUNTER_PRINT)
#undef SRV_COUNTER_PRINT
	printf("%s}\n", more);
	fflush(stdout);
}
