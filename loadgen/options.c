/*
 * options.c - the load options: defaults, the one parser that loadgen and
 * evbench share, the cross-checks, and the descriptor and port budgets.
 *
 * Every message names the option as the user typed it and says what was
 * expected, on one line, so main() can print it and exit 2.
 */
#include "loadgen.h"
#include "procfs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

void lg_config_default(struct lg_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	strcpy(cfg->host, "127.0.0.1");
	cfg->conns = 100;
	cfg->duration_s = 10.0;
	cfg->warmup_s = 1.0;
	cfg->size = 64;
	cfg->pipeline = 1;
	cfg->active = -1;
	cfg->timeout_s = 5.0;
}

const char lg_options_usage[] =
	"  --host H               server address, numeric IPv4/IPv6 (default 127.0.0.1)\n"
	"  --port P               server port (required)\n"
	"  --conns N              connections (default 100)\n"
	"  --threads N            load threads (default: half the CPUs, at least 1)\n"
	"  --duration S           measure for S seconds (default 10)\n"
	"  --warmup S             load for S seconds before measuring (default 1)\n"
	"  --requests N           measure until N verified replies instead of --duration\n"
	"  --size B               request size in bytes, newline included, 2..65536 (default 64)\n"
	"  --pipeline D           requests in flight per connection, 1..1024 (default 1)\n"
	"  --rate R               open loop: R requests/s in total (default 0: closed loop)\n"
	"  --active K             only K connections send; the others stay open and silent\n"
	"  --requests-per-conn N  reopen a connection after N replies (1 = one per request)\n"
	"  --connect-rate R       open at most R connections per second (default: unlimited)\n"
	"  --timeout S            connect and reply timeout in seconds (default 5)\n"
	"  --source-addrs LIST    comma-separated local addresses to spread connections over\n"
	"                         (default: automatic on 127/8 when one address has too few ports)\n"
	"  --io auto|epoll|uring  how load threads do I/O: io_uring batches a thread's sends and\n"
	"                         waits into one system call; auto (default) uses it if it can\n";

static const char *const option_names[] = {
	"host", "port", "conns", "threads", "duration", "warmup", "requests", "size",
	"pipeline", "rate", "active", "requests-per-conn", "connect-rate", "timeout",
	"source-addrs", "io", NULL
};

bool lg_is_option(const char *name)
{
	for (int i = 0; option_names[i]; i++)
		if (strcmp(option_names[i], name) == 0)
			return true;
	return false;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Whole-string integer in [lo, hi]: no sign games, no trailing junk, no
 * silent wrap (strtoll's ERANGE is an error). */
static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	if (!s || !*s || (*s != '-' && *s != '+' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Whole-string finite number in [lo, hi]. */
static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	if (!s || !*s || (*s != '-' && *s != '+' && *s != '.' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* True when a TCP socket can be bound to addr (port 0) on this machine. */
static bool bindable(const char *addr, int fam)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, rc, saved;

	memset(&ss, 0, sizeof ss);
	if (fam == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &sin->sin_addr);
		len = sizeof *sin;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
		len = sizeof *sin6;
	}
	fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true; /* out of descriptors is not the address's fault; the run counts it */
	rc = bind(fd, (struct sockaddr *)&ss, len);
	saved = errno;
	close(fd);
	errno = saved;
	return rc == 0;
}

static int addr_family(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, s, buf) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return AF_INET6;
	return -1;
}

static int parse_sources(struct lg_config *cfg, const char *value, char *err, size_t errlen)
{
	int n = 0;
	const char *p = value;
	if (!*value)
		return fail(err, errlen, "--source-addrs: expected a comma-separated list of addresses, got ''");
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len >= LG_ADDR_LEN)
			return fail(err, errlen, "--source-addrs: empty or overlong entry in '%s'", value);
		if (n == LG_MAX_SOURCE_ADDRS)
			return fail(err, errlen, "--source-addrs: at most %d addresses", LG_MAX_SOURCE_ADDRS);
		memcpy(cfg->source_addrs[n], p, len);
		cfg->source_addrs[n][len] = '\0';
		if (addr_family(cfg->source_addrs[n]) < 0)
			return fail(err, errlen, "--source-addrs: '%s' is not a numeric IPv4 or IPv6 address",
				    cfg->source_addrs[n]);
		n++;
		p += len;
		if (*p == ',' && *++p == '\0')
			return fail(err, errlen, "--source-addrs: trailing comma in '%s'", value);
	}
	cfg->n_source_addrs = n;
	return 0;
}

int lg_parse_option(struct lg_config *cfg, const char *name, const char *value,
		    char *err, size_t errlen)
{
	long long i;
	double d;

	if (!value)
		return fail(err, errlen, "--%s: needs a value", name);
#define INT_OPT(opt, lo, hi, field, what)                                         \
	if (strcmp(name, opt) == 0) {                                             \
		if (parse_int(value, lo, hi, &i) < 0)                             \
			return fail(err, errlen, "--%s: must be " what ", got '%s'", \
				    name, value);                                 \
		cfg->field = i;                                                   \
		return 0;                                                         \
	}
#define NUM_OPT(opt, lo, hi, field, what)                                         \
	if (strcmp(name, opt) == 0) {                                             \
		if (parse_num(value, lo, hi, &d) < 0)                             \
			return fail(err, errlen, "--%s: must be " what ", got '%s'", \
				    name, value);                                 \
		cfg->field = d;                                                   \
		return 0;                                                         \
	}
	INT_OPT("port", 1, 65535, port, "a port number 1..65535")
	INT_OPT("conns", 1, 10000000, conns, "an integer >= 1")
	INT_OPT("threads", 1, 1024, threads, "an integer 1..1024")
	INT_OPT("requests", 1, (long long)1 << 50, requests, "an integer >= 1")
	INT_OPT("size", 2, 65536, size, "an integer 2..65536 (bytes, newline included)")
	INT_OPT("pipeline", 1, 1024, pipeline, "an integer 1..1024")
	INT_OPT("active", 0, 10000000, active, "an integer >= 0")
	INT_OPT("requests-per-conn", 1, (long long)1 << 50, requests_per_conn, "an integer >= 1")
	NUM_OPT("duration", 0.001, 1e7, duration_s, "a number of seconds > 0")
	NUM_OPT("warmup", 0.0, 1e7, warmup_s, "a number of seconds >= 0")
	NUM_OPT("rate", 0.0, 1e9, rate, "a rate >= 0 in requests per second (0 = closed loop)")
	NUM_OPT("connect-rate", 0.0, 1e9, connect_rate, "a rate >= 0 in connections per second (0 = unlimited)")
	NUM_OPT("timeout", 0.001, 1e6, timeout_s, "a number of seconds > 0")
#undef INT_OPT
#undef NUM_OPT
	if (strcmp(name, "host") == 0) {
		if (strlen(value) >= LG_ADDR_LEN || addr_family(value) < 0)
			return fail(err, errlen, "--host: must be a numeric IPv4 or IPv6 address, got '%s'", value);
		strcpy(cfg->host, value);
		return 0;
	}
	if (strcmp(name, "source-addrs") == 0)
		return parse_sources(cfg, value, err, errlen);
	if (strcmp(name, "io") == 0) {
		if (strcmp(value, "auto") == 0)
			cfg->io = LG_IO_AUTO;
		else if (strcmp(value, "epoll") == 0)
			cfg->io = LG_IO_EPOLL;
		else if (strcmp(value, "uring") == 0)
			cfg->io = LG_IO_URING;
		else
			return fail(err, errlen, "--io: must be 'auto', 'epoll' or 'uring', got '%s'", value);
		return 0;
	}
	return fail(err, errlen, "unknown load option '--%s'", name);
}

long lg_ports_per_addr(void)
{
	long lo = 32768, hi = 60999;  /* Linux's default, when unreadable */
	if (proc_port_range(&lo, &hi) < 0 || hi < lo)
		lo = 32768, hi = 60999;
	return (hi - lo + 1) * 95 / 100;
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

int lg_config_check(struct lg_config *cfg, char *err, size_t errlen)
{
	int fam = addr_family(cfg->host);
	if (fam < 0)
		return fail(err, errlen, "--host: must be a numeric IPv4 or IPv6 address, got '%s'", cfg->host);
	if (cfg->port < 1 || cfg->port > 65535)
		return fail(err, errlen, "--port: a server port 1..65535 is required");
	if (cfg->conns < 1)
		return fail(err, errlen, "--conns: must be an integer >= 1");
	if (cfg->size < 2 || cfg->size > 65536)
		return fail(err, errlen, "--size: must be an integer 2..65536");
	if (cfg->pipeline < 1 || cfg->pipeline > 1024)
		return fail(err, errlen, "--pipeline: must be an integer 1..1024");
	if (cfg->active > cfg->conns)
		return fail(err, errlen, "--active: %ld is more than --conns %ld", cfg->active, cfg->conns);
	if (!(cfg->rate >= 0) || !(cfg->connect_rate >= 0) || !(cfg->timeout_s > 0) ||
	    !(cfg->warmup_s >= 0) || (!cfg->requests && !(cfg->duration_s > 0)))
		return fail(err, errlen, "rates, timeout and durations must be positive numbers");
	if (cfg->io == LG_IO_AUTO)
		cfg->io = lg_uring_available() ? LG_IO_URING : LG_IO_EPOLL;
	else if (cfg->io == LG_IO_URING && !lg_uring_available())
		return fail(err, errlen, "--io uring: io_uring (Linux 6.0 or later, not disabled by "
			    "sysctl or seccomp) is not available here; use --io epoll");
	else if (cfg->io != LG_IO_EPOLL && cfg->io != LG_IO_URING)
		return fail(err, errlen, "--io: must be 'auto', 'epoll' or 'uring'");
	if (cfg->threads < 0 || cfg->threads > 1024)
		return fail(err, errlen, "--threads: must be an integer 1..1024");
	if (cfg->threads == 0) {
		/* Half the CPUs: the server under test needs the other half, and a
		 * load generator fighting its server for CPU measures neither. */
		cfg->threads = online_cpus() / 2;
		if (cfg->threads < 1)
			cfg->threads = 1;
	}
	if (cfg->threads > cfg->conns)
		cfg->threads = (int)cfg->conns;
	for (int i = 0; i < cfg->n_source_addrs; i++) {
		if (addr_family(cfg->source_addrs[i]) != fam)
			return fail(err, errlen, "--source-addrs: '%s' is not of the same family as --host %s",
				    cfg->source_addrs[i], cfg->host);
		/* An address this machine does not have would fail every connect
		 * with EADDRNOTAVAIL and make a run of nothing but errors. */
		if (!bindable(cfg->source_addrs[i], fam))
			return fail(err, errlen, "--source-addrs: cannot bind to '%s': %s",
				    cfg->source_addrs[i], strerror(errno));
	}
	if (cfg->n_source_addrs == 0 && fam == AF_INET && strncmp(cfg->host, "127.", 4) == 0) {
		/* One source address reaches one server port from at most the
		 * ephemeral range; past that, loopback offers 127.0.0.2, .3, ... */
		long per = lg_ports_per_addr();
		long need = (cfg->conns + per - 1) / per;
		if (need > 1) {
			if (need > LG_MAX_SOURCE_ADDRS)
				return fail(err, errlen, "--conns %ld needs %ld source addresses, more than %d",
					    cfg->conns, need, LG_MAX_SOURCE_ADDRS);
			for (long k = 0; k < need; k++)
				snprintf(cfg->source_addrs[k], LG_ADDR_LEN, "127.0.0.%ld", k + 2);
			cfg->n_source_addrs = (int)need;
		}
	}
	return 0;
}

int lg_preflight(const struct lg_config *cfg, char *msg, size_t msglen)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	/* Each thread holds an epoll and an eventfd; stdio and a few files more. */
	long threads = cfg->threads > 0 ? cfg->threads : online_cpus();
	long need = cfg->conns + 2 * threads + 16;
	if (rl.rlim_cur == RLIM_INFINITY || (rlim_t)need <= rl.rlim_cur)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && (rlim_t)need > rl.rlim_max)
		fail(msg, msglen, "--conns %ld needs about %ld descriptors but this process may hold %llu "
		     "(hard limit %llu); raise the hard limit (limits.conf, systemd LimitNOFILE, "
		     "or ulimit -Hn as root) or split the load over several processes; "
		     "connections past the limit will count as fd_limit.emfile",
		     cfg->conns, need, (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	else
		fail(msg, msglen, "--conns %ld needs about %ld descriptors but the soft limit is %llu; "
		     "raise it with 'ulimit -n %ld' (hard limit %llu)",
		     cfg->conns, need, (unsigned long long)rl.rlim_cur, need,
		     (unsigned long long)rl.rlim_max);
	return 1;
}

long lg_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	return rl.rlim_cur == RLIM_INFINITY ? (long)1 << 30 : (long)rl.rlim_cur;
}
