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
#include <getopt.h>
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

/*
 * The load options, in the order of --help. Each row is the option's name,
 * its value's placeholder, its help (lines after the first start with '\n'),
 * and how it is parsed: a number of the given type stored at `offset` of
 * struct lg_config when it lies in [lo, hi] ("--x: must be <what>, got 'v'"),
 * or, with type 0, by hand in lg_parse_option(). With show_default, the help
 * ends with the value of that field in the configuration the help is for.
 */
#define OPT(name, arg, type, field, lo, hi, what, dflt, help) \
	{ name, arg, help, type, offsetof(struct lg_config, field), lo, hi, what, dflt }
#define HAND(name, arg, help) { name, arg, help, 0, 0, 0, 0, NULL, false }
const struct lg_option lg_options[] = {
	HAND("host", "H", "server address, numeric IPv4/IPv6 (default 127.0.0.1)"),
	OPT("port", "P", 'i', port, 1, 65535, "a port number 1..65535", false,
	    "server port (required)"),
	OPT("conns", "N", 'l', conns, 1, 10000000, "an integer >= 1", true, "connections"),
	OPT("threads", "N", 'i', threads, 1, 1024, "an integer 1..1024", false,
	    "load threads (default: half the CPUs, at least 1)"),
	OPT("duration", "S", 'd', duration_s, 0.001, 1e7, "a number of seconds > 0", true,
	    "measure for S seconds"),
	OPT("warmup", "S", 'd', warmup_s, 0.0, 1e7, "a number of seconds >= 0", true,
	    "load for S seconds before measuring"),
	OPT("requests", "N", 'u', requests, 1, (double)(1LL << 50), "an integer >= 1", false,
	    "measure until N verified replies instead of --duration"),
	OPT("size", "B", 'l', size, 2, 65536, "an integer 2..65536 (bytes, newline included)", true,
	    "request size in bytes, newline included, 2..65536"),
	OPT("pipeline", "D", 'i', pipeline, 1, 1024, "an integer 1..1024", true,
	    "requests in flight per connection, 1..1024"),
	OPT("rate", "R", 'd', rate, 0.0, 1e9, "a rate >= 0 in requests per second (0 = closed loop)",
	    false, "open loop: R requests/s in total (default 0: closed loop)"),
	OPT("active", "K", 'l', active, 0, 10000000, "an integer >= 0", false,
	    "only K connections send; the others stay open and silent"),
	OPT("requests-per-conn", "N", 'u', requests_per_conn, 1, (double)(1LL << 50),
	    "an integer >= 1", false, "reopen a connection after N replies (1 = one per request)"),
	OPT("connect-rate", "R", 'd', connect_rate, 0.0, 1e9,
	    "a rate >= 0 in connections per second (0 = unlimited)", false,
	    "open at most R connections per second (default: unlimited)"),
	OPT("timeout", "S", 'd', timeout_s, 0.001, 1e6, "a number of seconds > 0", true,
	    "connect and reply timeout in seconds"),
	HAND("source-addrs", "LIST", "comma-separated local addresses to spread connections over\n"
	     "(default: automatic on 127/8 when one address has too few ports)"),
	HAND("io", "auto|epoll|uring", "how load threads do I/O: io_uring batches a thread's sends and\n"
	     "waits into one system call; auto (default) uses it if it can"),
	HAND("protocol", "rot13|echo", "what the server answers to each line: rot13 of it (default) or\n"
	     "the line itself (echo); every reply is checked byte for byte"),
};
#undef OPT
#undef HAND
const int lg_noptions = sizeof lg_options / sizeof *lg_options;

const struct lg_option *lg_find_option(const char *name)
{
	for (int i = 0; i < lg_noptions; i++)
		if (strcmp(lg_options[i].name, name) == 0)
			return &lg_options[i];
	return NULL;
}

bool lg_is_option(const char *name)
{
	return lg_find_option(name) != NULL;
}

static bool skipped(const char *name, const char *const *skip)
{
	for (; skip && *skip; skip++)
		if (strcmp(*skip, name) == 0)
			return true;
	return false;
}

/* The value of a numeric option's field, for its "(default X)". */
static double field_value(const struct lg_config *cfg, const struct lg_option *o)
{
	const char *p = (const char *)cfg + o->offset;

	switch (o->type) {
	case 'i': return *(const int *)p;
	case 'l': return (double)*(const long *)p;
	case 'u': return (double)*(const uint64_t *)p;
	default:  return *(const double *)p;
	}
}

void lg_options_help(FILE *f, const struct lg_config *defaults, const char *const *skip)
{
	for (int i = 0; i < lg_noptions; i++) {
		const struct lg_option *o = &lg_options[i];
		char head[64];

		if (skipped(o->name, skip))
			continue;
		snprintf(head, sizeof head, "--%s %s", o->name, o->arg);
		fprintf(f, "  %-23s", head);
		/* Continuation lines start under the first line's text. */
		for (const char *h = o->help; *h; h++)
			if (*h == '\n')
				fprintf(f, "\n%25s", "");
			else
				fputc(*h, f);
		if (o->show_default)
			fprintf(f, " (default %g)", field_value(defaults, o));
		fputc('\n', f);
	}
}

const char *lg_options_usage_text(void)
{
	static char text[4096];

	if (!text[0]) {
		struct lg_config cfg;
		FILE *f = fmemopen(text, sizeof text - 1, "w");

		lg_config_default(&cfg);
		if (f) {
			lg_options_help(f, &cfg, NULL);
			fclose(f);
		}
	}
	return text;
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

int lg_options_getopt(struct option *opts, int n, int cap, int base, const char *const *skip)
{
	for (int i = 0; i < lg_noptions; i++) {
		if (skipped(lg_options[i].name, skip))
			continue;
		if (n + 1 >= cap)
			return -1;
		opts[n++] = (struct option){ lg_options[i].name, required_argument, NULL, base + i };
	}
	opts[n] = (struct option){ 0 };
	return n;
}

void lg_getopt_error(char *err, size_t errlen, int c, const char *arg, int opt)
{
	const char *eq = strchr(arg, '=');
	int len = eq ? (int)(eq - arg) : (int)strlen(arg);

	if (c == ':')
		fail(err, errlen, "%.*s: needs a value", len, arg);
	else if (opt && strncmp(arg, "--", 2) == 0)
		fail(err, errlen, "%.*s takes no value", len, arg);
	else
		fail(err, errlen, "unknown option '%.*s'", len, arg);
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

/* --protocol's values, as the results record them (lg_protocol_name). */
static const char *const protocol_names[LG_NPROTOS] = {
	[LG_PROTO_ROT13] = "rot13",
	[LG_PROTO_ECHO] = "echo",
};

int lg_parse_option(struct lg_config *cfg, const char *name, const char *value,
		    char *err, size_t errlen)
{
	long long i = 0;
	double d = 0;

	if (!value)
		return fail(err, errlen, "--%s: needs a value", name);
	const struct lg_option *o = lg_find_option(name);
	if (o && o->type) {
		char *p = (char *)cfg + o->offset;
		int bad = o->type == 'd' ? parse_num(value, o->lo, o->hi, &d)
					 : parse_int(value, (long long)o->lo, (long long)o->hi, &i);
		if (bad < 0)
			return fail(err, errlen, "--%s: must be %s, got '%s'", name, o->what, value);
		switch (o->type) {
		case 'i': *(int *)p = (int)i; break;
		case 'l': *(long *)p = (long)i; break;
		case 'u': *(uint64_t *)p = (uint64_t)i; break;
		default:  *(double *)p = d; break;
		}
		return 0;
	}
	if (strcmp(name, "host") == 0) {
		if (strlen(value) >= LG_ADDR_LEN || addr_family(value) < 0)
			return fail(err, errlen, "--host: must be a numeric IPv4 or IPv6 address, got '%s'", value);
		strcpy(cfg->host, value);
		return 0;
	}
	if (strcmp(name, "source-addrs") == 0)
		return parse_sources(cfg, value, err, errlen);
	if (strcmp(name, "protocol") == 0) {
		for (int p = 0; p < LG_NPROTOS; p++)
			if (strcmp(value, protocol_names[p]) == 0) {
				cfg->protocol = p;
				return 0;
			}
		return fail(err, errlen, "--protocol: must be 'rot13' or 'echo', got '%s'", value);
	}
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

const char *lg_protocol_name(int protocol)
{
	return protocol >= 0 && protocol < LG_NPROTOS ? protocol_names[protocol] : "?";
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

int lg_config_make(const struct lg_config *opts, struct lg_config *out, char *err, size_t errlen)
{
	struct lg_config made = *opts, *cfg = &made;
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
	if (cfg->protocol < 0 || cfg->protocol >= LG_NPROTOS)
		return fail(err, errlen, "--protocol: must be 'rot13' or 'echo'");
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
	*out = made;
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
