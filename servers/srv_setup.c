/*
 * srv_setup.c - a server's command line, its start (signals, descriptor
 * limit, shared counters), its listening sockets and its ready line. See
 * srv.h for the contract of each function.
 */
#include "srv.h"
#include "srv_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct srv_opts srv_opts = {
	.addr = "127.0.0.1",
	.port = 0,
	.max_line = 16384,
	.max_pending = 65536,
};
struct srv_counters *srv_ctr;
volatile sig_atomic_t srv_stop;
const char *srv__design;

/* ---- command line --------------------------------------------------------- */

static void usage(FILE *f, unsigned flags)
{
	fprintf(f, "usage: rot13-%s [--addr A] [--port N] [--max-line B] [--max-pending B] "
		"[--work-us N] [--work-ns N] [--idle-timeout S] [--echo]%s%s%s\n", srv__design,
		(flags & SRV_OPT_BACKEND) ? " [--backend M]" : "",
		(flags & SRV_OPT_CHILDREN) ? " [--max-children N]" : "",
		(flags & SRV_OPT_THREADS) ? " [--threads N]" : "");
}

static unsigned design_flags;

void srv_bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rot13-%s: ", srv__design);
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
		{"echo", no_argument, NULL, 'e'},
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
		case 'e':
			srv_opts.echo = true;
			break;
		case 'h':
			usage(stdout, flags);
			exit(0);
		case ':':
			srv_bad_usage("%s needs a value", argv[optind - 1]);
			break;
		default:
			/* A known flag given a value (--echo=1) leaves its own
			 * value in optopt; an unknown option leaves 0. */
			if (optopt && strncmp(argv[optind - 1], "--", 2) == 0)
				srv_bad_usage("%.*s takes no value", (int)strcspn(argv[optind - 1], "="),
					      argv[optind - 1]);
			srv_bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		srv_bad_usage("unexpected argument '%s'", argv[optind]);
}

/* ---- setup ---------------------------------------------------------------- */

void srv__die(const char *what)
{
	fprintf(stderr, "rot13-%s: %s: %s\n", srv__design, what, strerror(errno));
	exit(1);
}

static void on_stop(int sig)
{
	(void)sig;
	__atomic_store_n(&srv_stop, 1, __ATOMIC_RELAXED); /* see srv.h */
}

void srv_init(const char *name, int argc, char **argv, unsigned flags)
{
	struct sigaction sa;
	struct rlimit rl;

	srv__design = name;
	design_flags = flags;
	parse(argc, argv, flags);

	srv__rot13_init();

	/* A server is asked to hold ten thousand connections; the soft limit of a
	 * login shell is often 1024. Take what the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	srv_ctr = mmap(NULL, sizeof *srv_ctr, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (srv_ctr == MAP_FAILED)
		srv__die("mmap counters");

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
			srv__die("socket");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		/* Only a group asks for SO_REUSEPORT: a lone listener with it
		 * would share its port with any other program of this user. */
		if (n > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
			srv__die("SO_REUSEPORT");
		if (bind(fd, (struct sockaddr *)&ss, len) < 0)
			srv__die("bind");
		/* The kernel caps the backlog at net.core.somaxconn; ask for the most. */
		if (listen(fd, INT_MAX) < 0)
			srv__die("listen");
		/* The first bound the port (maybe an ephemeral one); the others
		 * join it, so they bind the address it got. */
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
			srv__die("getsockname");
		fds[i] = fd;
	}

	srv__spare_open();
	ready_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

void srv_ready(void)
{
	printf("ready %s port=%d pid=%d\n", srv__design, ready_port, (int)getpid());
	fflush(stdout);
}
