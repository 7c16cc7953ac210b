/*
 * cpu_testsrv.c - a ROT13 server whose CPU cost and latency are known in
 * advance, so that the figures evbench reports can be checked against an
 * answer that evbench did not compute. Not a design under test: one poll()
 * loop, blocking writes, small and obvious.
 *
 *   cpu_testsrv [--port N] --burn-us N [--burn-in WHERE] [--quantum-us Q] [--stairs]
 *               [--calls-per-line N] [--polls-per-line K] [--sleep-us S] [--touch-mib M]
 *
 *   --burn-us N      every answered line costs N µs of CPU, burnt in a busy
 *                    loop on CLOCK_THREAD_CPUTIME_ID: the CPU clock of the
 *                    thread that burns, so the cost is exact however often
 *                    the thread is preempted
 *   --burn-in WHERE  who burns it:
 *                      main    the serving thread itself
 *                      thread  a new thread per quantum, joined: its time
 *                              survives it only in the process's totals
 *                      child   a forked child per quantum that exits and is
 *                              reaped: its time moves to the server's cutime
 *                      conn    a forked child per connection serves it and
 *                              burns inline: children live through the run
 *   --quantum-us Q   owe the CPU until Q µs of it are due, then burn it all
 *                    at once (default 0: after every read). A thread or a
 *                    fork costs tens of µs (more under ASan); Q amortises it
 *                    so that the burn dominates what the server spends.
 *   --stairs         add a sleep before the reply to line k (counted over the
 *                    server's life, from 0), so that the latency distribution
 *                    has known steps: k % 2000 == 0 sleeps 50 ms (0.05% of the
 *                    lines), else k % 200 == 0 20 ms (0.45%), else k % 20 == 0
 *                    2 ms (4.5%), else k % 4 == 0 500 µs (20%), else none
 *                    (75%). A sleep only ever adds latency, so with one
 *                    connection and any window of N >= 1000 lines p90 is at
 *                    least 500 µs, p99 at least 2 ms and p99.9 at least 20 ms;
 *                    and the steps are far enough apart that a machine's
 *                    stalls do not merge them.
 *   --calls-per-line N  before each reply, N system calls that do nothing
 *                    (getppid), so that the system calls per request are
 *                    known in advance: with one connection and one request in
 *                    flight, a line costs its wake-up (poll), its recv, the
 *                    extra calls below and its send, and nothing else
 *   --polls-per-line K  before each reply, K polls of the connection with a
 *                    zero timeout: K more wake-ups of the waiting call per
 *                    request, each returning 0 (with one request in flight,
 *                    nothing more can have arrived), so that wake-ups per
 *                    request (1 + K) and ready descriptors per wake-up
 *                    (1 / (1 + K)) are known too
 *   --sleep-us S     before each reply, one nanosleep of S µs: one system
 *                    call, and a pace slow enough that the milliseconds
 *                    perf takes to switch its counters are a small share of
 *                    the phase
 *   --touch-mib M    at start, map M MiB and write to every page, and keep
 *                    them for the server's life: its resident memory is M MiB
 *                    and what a small poll loop holds besides. It also
 *                    reserves 1 GiB it never touches, so that its virtual
 *                    size is far from its resident size
 *
 * Other options evbench or the protocol passes (--addr, --max-line,
 * --max-pending) are accepted and ignored. The lifecycle is docs/protocol.md's:
 * `ready cpu-testsrv port=P pid=PID`; on SIGTERM one JSON line with the
 * protocol's counters (children's included: they live in shared memory),
 * exit 0. The fork-based modes reap every child.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN 64

enum where { MAIN, THREAD, CHILD, CONN };

/* The protocol's counters, in shared memory so that conn's children add
 * theirs to the parent's report. */
struct counters {
	unsigned long long accepted, closed, peak_conns, bytes_in, bytes_out, lines, errors;
};

static struct counters *cnt;
static volatile sig_atomic_t stop;
static enum where where = MAIN;
static long long burn_ns, quantum_ns, debt_ns;
static int stairs;
static long calls_per_line, polls_per_line, sleep_us_per_line;

static void on_term(int sig) { (void)sig; stop = 1; }

static void add(unsigned long long *c, unsigned long long n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static long long thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CPU burnt beyond what was asked, taken off the next burn of this process. */
static long long overshoot_ns;

/* Spins until this thread has run ns more nanoseconds of CPU. The clock is
 * a system call, so it is read only between chunks of pure user-space work
 * (some 20 µs each): the burn is then almost all user time, which lets a
 * test tell user from sys. The chunk is a chain of multiplications, each
 * waiting for the one before, so that no compiler can unroll or fold it into
 * less work. What a chunk overshoots is owed back by the next burn, so that
 * many short burns add up to what was asked. */
static void burn(long long ns)
{
	long long start = thread_cpu_ns(), now = start, want = ns - overshoot_ns;
	unsigned long long x = 1;

	while (now - start < want) {
		for (int i = 0; i < 16384; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			__asm__ volatile("" : "+r"(x));
		}
		now = thread_cpu_ns();
	}
	overshoot_ns = now - start - want;
}

static void *burn_thread(void *arg)
{
	burn(*(long long *)arg);
	return NULL;
}

/* Burns ns where --burn-in says: here, in a thread, or in a child. */
static void pay(long long ns)
{
	if (where == THREAD) {
		pthread_t t;

		if (pthread_create(&t, NULL, burn_thread, &ns) == 0) {
			pthread_join(t, NULL);
			return;
		}
		add(&cnt->errors, 1);
	} else if (where == CHILD) {
		pid_t pid = fork();

		if (pid == 0) {
			burn(ns);
			_exit(0);
		}
		if (pid > 0) {
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			return;
		}
		add(&cnt->errors, 1);
	}
	burn(ns);
}

/* The sleep --stairs adds before answering line k, in µs. */
static long stair_us(unsigned long long k)
{
	return k % 2000 == 0 ? 50000 : k % 200 == 0 ? 20000 : k % 20 == 0 ? 2000 :
	       k % 4 == 0 ? 500 : 0;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop)
		;
}

/* Reads what fd has, answers it; returns -1 when the connection is done. */
static int serve(int fd)
{
	char buf[65536];
	ssize_t r = recv(fd, buf, sizeof buf, 0), off = 0;
	unsigned long long lines = 0;

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (r <= 0)
		return -1;
	add(&cnt->bytes_in, (unsigned long long)r);
	/* rot13 is byte by byte, so answering whatever arrived keeps the
	 * stream's invariant without framing lines. */
	for (ssize_t i = 0; i < r; i++) {
		char c = buf[i];

		if (c == '\n') {
			if (stairs)
				sleep_us(stair_us(__atomic_fetch_add(&cnt->lines, 1, __ATOMIC_RELAXED)));
			else
				add(&cnt->lines, 1);
			lines++;
		} else if ((c >= 'a' && c <= 'm') || (c >= 'A' && c <= 'M')) {
			c = (char)(c + 13);
		} else if ((c >= 'n' && c <= 'z') || (c >= 'N' && c <= 'Z')) {
			c = (char)(c - 13);
		}
		buf[i] = c;
	}
	/* The known system calls of every line, before its reply. */
	for (unsigned long long l = 0; l < lines; l++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct timespec ts = { sleep_us_per_line / 1000000,
				       sleep_us_per_line % 1000000 * 1000 };

		for (long i = 0; i < polls_per_line; i++)
			poll(&p, 1, 0);
		for (long i = 0; i < calls_per_line; i++)
			syscall(SYS_getppid);
		if (sleep_us_per_line)
			nanosleep(&ts, NULL);
	}
	/* The CPU is owed before the reply goes, so that what the server has
	 * burnt tracks what the client has seen answered. */
	debt_ns += (long long)lines * burn_ns;
	if (debt_ns > 0 && debt_ns >= quantum_ns) {
		pay(debt_ns);
		debt_ns = 0;
	}
	while (off < r) {
		ssize_t w = send(fd, buf + off, (size_t)(r - off), MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (errno != EPIPE && errno != ECONNRESET)
				add(&cnt->errors, 1);
			return -1;
		}
		add(&cnt->bytes_out, (unsigned long long)w);
		off += w;
	}
	return 0;
}

/* conn's child: serves one connection to its end, then exits. */
static void serve_alone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (!stop) {
		int n = poll(&p, 1, 50);

		if (n > 0 && serve(fd) < 0)
			break;
	}
	close(fd);
	add(&cnt->closed, 1);
	_exit(0);
}

/* conn's children, so that the stop reaches them and no one else. */
static pid_t kids[MAXCONN];
static int nkids;

/* Reaps the children that have exited (all of them, waiting, with flags 0). */
static void reap(int flags)
{
	pid_t pid;

	while ((pid = waitpid(-1, NULL, flags)) > 0)
		for (int i = 0; i < nkids; i++)
			if (kids[i] == pid) {
				kids[i] = kids[--nkids];
				break;
			}
}

static long number(const char *name, const char *v)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < 0) {
		fprintf(stderr, "cpu_testsrv: %s: not a number: %s\n", name, v);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	struct pollfd pf[MAXCONN + 1];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sin;
	int lfd, one = 1, n = 1;
	long touch_mib = 0;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--stairs") == 0) {
			stairs = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "cpu_testsrv: %s needs a value\n", o);
			return 2;
		}
		i++;
		if (strcmp(o, "--port") == 0)
			sin.sin_port = htons((uint16_t)number(o, v));
		else if (strcmp(o, "--burn-us") == 0)
			burn_ns = number(o, v) * 1000LL;
		else if (strcmp(o, "--quantum-us") == 0)
			quantum_ns = number(o, v) * 1000LL;
		else if (strcmp(o, "--calls-per-line") == 0)
			calls_per_line = number(o, v);
		else if (strcmp(o, "--polls-per-line") == 0)
			polls_per_line = number(o, v);
		else if (strcmp(o, "--sleep-us") == 0)
			sleep_us_per_line = number(o, v);
		else if (strcmp(o, "--touch-mib") == 0)
			touch_mib = number(o, v);
		else if (strcmp(o, "--burn-in") == 0) {
			if (strcmp(v, "main") == 0)
				where = MAIN;
			else if (strcmp(v, "thread") == 0)
				where = THREAD;
			else if (strcmp(v, "child") == 0)
				where = CHILD;
			else if (strcmp(v, "conn") == 0)
				where = CONN;
			else {
				fprintf(stderr, "cpu_testsrv: --burn-in: main, thread, child or conn\n");
				return 2;
			}
		} else if (strcmp(o, "--addr") && strcmp(o, "--max-line") && strcmp(o, "--max-pending")) {
			fprintf(stderr, "cpu_testsrv: unknown option %s\n", o);
			return 2;
		}
	}
	cnt = mmap(NULL, sizeof *cnt, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cnt == MAP_FAILED) {
		perror("cpu_testsrv: mmap");
		return 1;
	}
	if (touch_mib > 0) {
		size_t len = (size_t)touch_mib << 20;
		char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED) {
			perror("cpu_testsrv: mmap");
			return 1;
		}
		memset(m, 1, len);
		if (mmap(NULL, (size_t)1 << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			 -1, 0) == MAP_FAILED) {
			perror("cpu_testsrv: mmap");
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(lfd, 128) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) < 0) {
		perror("cpu_testsrv: listen");
		return 1;
	}
	printf("ready cpu-testsrv port=%d pid=%d\n", ntohs(sin.sin_port), (int)getpid());
	fflush(stdout);

	pf[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	while (!stop) {
		/* A timeout, so that a stop landing just before poll() is seen. */
		int ready = poll(pf, (nfds_t)n, 50);

		if (where == CONN)
			reap(WNOHANG);
		if (ready <= 0)
			continue;
		for (int i = n - 1; i >= 1; i--) {
			if (!pf[i].revents || serve(pf[i].fd) == 0)
				continue;
			close(pf[i].fd);
			add(&cnt->closed, 1);
			pf[i] = pf[--n];
		}
		if (pf[0].revents) {
			int fd;

			while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
				add(&cnt->accepted, 1);
				if (where == CONN && nkids < MAXCONN) {
					pid_t pid = fork();

					if (pid == 0) {
						close(lfd);
						serve_alone(fd);
					}
					if (pid < 0) {
						add(&cnt->errors, 1);
						add(&cnt->closed, 1);
					} else {
						kids[nkids++] = pid;
					}
					close(fd);
					if ((unsigned long long)nkids > cnt->peak_conns)
						cnt->peak_conns = (unsigned long long)nkids;
				} else if (where == CONN || n == MAXCONN + 1) {
					close(fd);   /* more than a test needs: refused */
					add(&cnt->closed, 1);
				} else {
					pf[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
					if ((unsigned long long)(n - 1) > cnt->peak_conns)
						cnt->peak_conns = (unsigned long long)(n - 1);
				}
			}
		}
	}
	for (int i = 1; i < n; i++) {
		close(pf[i].fd);
		add(&cnt->closed, 1);
	}
	/* conn's children stop on the same signal (they inherited the
	 * handler) once it reaches them; each counts its connection closed. */
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGTERM);
	if (where == CONN)
		reap(0);
	printf("{\"design\":\"cpu-testsrv\",\"backend\":\"poll\",\"accepted\":%llu,\"closed\":%llu,"
	       "\"peak_conns\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,\"lines\":%llu,"
	       "\"oversize\":0,\"emfile\":0,\"enfile\":0,\"fd_setsize_refused\":0,\"resets\":0,"
	       "\"errors\":%llu}\n",
	       cnt->accepted, cnt->closed, cnt->peak_conns, cnt->bytes_in, cnt->bytes_out,
	       cnt->lines, cnt->errors);
	fflush(stdout);
	return 0;
}
