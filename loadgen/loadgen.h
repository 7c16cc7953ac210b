/*
 * loadgen.h - evbench's load generator, as a library. This header is its manual.
 *
 * A load is `conns` TCP connections to one line server (ROT13 or echo, see
 * `protocol`), split over `threads` threads. Each thread runs its own event
 * loop (io_uring, or epoll; see LG_IO_AUTO below) over its own connections
 * with its own histograms and counters; nothing is shared on the hot path,
 * and the threads' results are merged after join (the shape of wrk).
 *
 *   closed loop (rate == 0): each active connection keeps `pipeline` requests
 *       in flight, sending the next as soon as a reply is verified;
 *   open loop (rate > 0): `rate` requests per second in total, each active
 *       connection on its own fixed schedule with at most `pipeline` requests in
 *       flight. Latency is measured twice: from the intended send time of the
 *       schedule (corrected: a stalled server cannot hide the requests it
 *       delayed, as in wrk2) and from the actual send time (uncorrected).
 *   `active` connections carry requests, the others stay open and silent;
 *   `requests_per_conn` closes and reopens a connection after that many replies.
 *
 * A request is a line of `size` bytes of printable characters, '\n' included,
 * whose content depends on the connection and the request's sequence number.
 * Replies are framed by length (a reply is exactly `size` bytes) and each is
 * compared byte for byte with the reply its request is owed under the protocol
 * (rot13 of the request, or the request itself); a reply that differs counts
 * as verify_mismatch, is not a verified reply, and adds no latency sample.
 *
 * Phases: connect (ramped by connect_rate, each connect timed), warmup (load,
 * nothing counted), measure (duration seconds, or until `requests` replies are
 * verified), drain (no new requests; outstanding replies are awaited up to the
 * timeout), done. Only the measure phase counts in the histograms, the rates
 * and the CPU figures. Failures never stop a run: they are counted by phase and
 * cause, and a failed connection is reopened with a backoff (in warmup and
 * measure). Failures due to descriptor limits (EMFILE, ENFILE, EADDRNOTAVAIL)
 * are counted apart, in fd_limit.
 *
 * Conventions: functions return 0 or -1 (with a one-line reason in err where
 * given) or a negative errno; the library never prints and never exits.
 * Latencies are recorded in nanoseconds (hist.h) and reported in microseconds.
 * The caller sets RLIMIT_NOFILE (lg_raise_nofile()) and ignores SIGPIPE before
 * lg_run(); the library sends with MSG_NOSIGNAL anyway.
 */
#ifndef EVBENCH_LOADGEN_H
#define EVBENCH_LOADGEN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"
#include "json.h"

/* The project's version, which evbench --version and loadgen --version print. */
#ifndef EVBENCH_VERSION
#define EVBENCH_VERSION "0.1"
#endif

#define LG_MAX_SOURCE_ADDRS 64
#define LG_ADDR_LEN         64      /* room for an IPv6 literal */

/* ---- configuration ---------------------------------------------------------- */

struct lg_config {
	char     host[LG_ADDR_LEN];  /* server address, numeric IPv4 or IPv6 (default 127.0.0.1) */
	int      port;               /* server port, 1..65535; 0 = not set (lg_config_make fails) */
	long     conns;              /* connections, >= 1 (default 100) */
	int      threads;            /* load threads; 0 = auto: half the online CPUs, at least 1,
	                                at most conns */
	double   duration_s;         /* measure phase length in s (default 10); ignored if requests */
	double   warmup_s;           /* warm-up length in s, not measured (default 1; 0 = none) */
	uint64_t requests;           /* measure until this many verified replies; 0 = use duration */
	long     size;               /* request size in bytes, '\n' included, 2..65536 (default 64) */
	int      pipeline;           /* requests in flight per active connection, 1..1024 (default 1) */
	double   rate;               /* open loop: total requests/s; 0 = closed loop (default) */
	long     active;             /* connections carrying requests; -1 = all (default) */
	uint64_t requests_per_conn;  /* reopen a connection after this many replies; 0 = never */
	double   connect_rate;       /* new connections per second in total; 0 = as fast as the
	                                in-flight cap allows (default) */
	double   timeout_s;          /* connect timeout and reply timeout in s (default 5) */
	int      n_source_addrs;     /* 0 = the kernel picks (auto-spread when conns need it) */
	char     source_addrs[LG_MAX_SOURCE_ADDRS][LG_ADDR_LEN]; /* local addresses to bind */
	int      io;                 /* LG_IO_AUTO (default: uring where the kernel allows it,
	                                else epoll), LG_IO_EPOLL or LG_IO_URING (--io) */
	int      protocol;           /* LG_PROTO_ROT13 (default) or LG_PROTO_ECHO (--protocol) */
};

/* What the server answers (docs/protocol.md). Both protocols are framed by
 * '\n' and every reply is checked byte for byte: under rot13 a reply is the
 * request with each letter rotated by 13, under echo it is the request
 * itself. The built-in servers speak echo when started with --echo, so that
 * someone else's echo server is compared with them under one protocol. */
enum { LG_PROTO_ROT13 = 0, LG_PROTO_ECHO = 1, LG_NPROTOS };

/* "rot13" or "echo": the names --protocol takes and the results record
 * ("?" for a value that is neither). */
const char *lg_protocol_name(int protocol);

/* How a load thread does its I/O. epoll: edge-triggered readiness, then
 * send() and recv(), two system calls per request, as many as an epoll
 * server makes. uring: each connection keeps a multishot RECV armed and at
 * most one SEND in an io_uring; a thread's sends and its wait for completions
 * go in one io_uring_enter(), so the client makes fewer system calls per
 * request than the server it measures (about 12% less CPU per request; needs
 * Linux 6.0 and io_uring not disabled). lg_config_make() resolves AUTO. */
enum { LG_IO_AUTO = 0, LG_IO_EPOLL = 1, LG_IO_URING = 2 };

/* 1 when this kernel and process can run the io_uring mode, else 0. */
int lg_uring_available(void);

/* Fills *cfg with the defaults listed above. */
void lg_config_default(struct lg_config *cfg);

/* Parses one load option, named as on the command line without the dashes
 * ("conns", "source-addrs", ...), into cfg. Returns 0, or -1 with a one-line
 * reason in err ("--conns: must be an integer >= 1, got '0'"). evbench and
 * loadgen both parse through this, so they accept exactly the same options. */
int lg_parse_option(struct lg_config *cfg, const char *name, const char *value,
		    char *err, size_t errlen);

/* True when name (without dashes) is a load option lg_parse_option() takes.
 * Every load option takes a value. */
bool lg_is_option(const char *name);

/* The one table of the load options (options.c), from which come
 * lg_parse_option(), the help text of loadgen and evbench, and the entries
 * both give getopt_long(). */
struct lg_option {
	const char *name;       /* without dashes: "requests-per-conn" */
	const char *arg;        /* its value in the help: "N", "auto|epoll|uring" */
	const char *help;       /* lines after the first start with '\n' */
	char        type;       /* 'i' int, 'l' long, 'u' uint64_t, 'd' double, 0 by hand */
	size_t      offset;     /* of its field in struct lg_config */
	double      lo, hi;     /* the accepted range */
	const char *what;       /* what the error says it must be */
	bool        show_default; /* the help ends with "(default <field's value>)" */
};
extern const struct lg_option lg_options[];
extern const int lg_noptions;

/* The row of the option called name, or NULL. */
const struct lg_option *lg_find_option(const char *name);

/* Writes the help of every load option but those named in skip (a
 * NULL-terminated list of names; NULL skips none), one option a line (or
 * two), with the "(default X)" values of `defaults`. */
void lg_options_help(FILE *f, const struct lg_config *defaults, const char *const *skip);

/* Adds a getopt_long() entry (required argument, val base + its index in
 * lg_options[]) for every load option not in skip to opts[] from index n on,
 * and the terminating zero entry. Returns the new count, or -1 when cap is
 * too small. */
struct option;
int lg_options_getopt(struct option *opts, int n, int cap, int base, const char *const *skip);

/* The one-line reason for getopt_long()'s return c of '?' or ':' (given a
 * leading ':' in its optstring), arg being argv[optind - 1] and opt optopt:
 * "--conns: needs a value", "--json takes no value", "unknown option '--x'". */
void lg_getopt_error(char *err, size_t errlen, int c, const char *arg, int opt);

/* The same for every option with loadgen's defaults, as one string built on
 * first use. */
const char *lg_options_usage_text(void);
#define lg_options_usage lg_options_usage_text()

/* The one check of a load: the configuration a run uses, made from the options
 * in *opts. Checks them against each other (e.g. active <= conns, port set,
 * the source addresses parse and bind) and resolves the automatic values: io,
 * threads, and the source addresses when conns exceed what one address can
 * reach (see lg_ports_per_addr()). Returns 0 with the made configuration in
 * *out (which may be opts), or -1 with a one-line reason and *out untouched;
 * *opts is never changed. lg_run() takes only what this returned, and does
 * not check it again. */
int lg_config_make(const struct lg_config *opts, struct lg_config *out, char *err, size_t errlen);

/* Connects a load thread keeps in flight at most, with or without
 * --connect-rate, so that opening 10,000 connections is a ramp and not one
 * burst; evbench's preflight compares it with the listen backlog. */
#define LG_CONNECTS_IN_FLIGHT 256

/* Connections one source address can hold to one server port: the size of
 * the ephemeral port range (/proc/sys/net/ipv4/ip_local_port_range), less a
 * margin of 5% for other sockets and TIME_WAIT. */
long lg_ports_per_addr(void);

/* Says up front whether this process can hold the connections asked for: when
 * conns + a margin exceed RLIMIT_NOFILE's soft limit, writes a one-line
 * warning with the remedy into msg and returns 1; returns 0 when it fits. A
 * run that goes ahead anyway counts the connections it could not open as
 * fd_limit.emfile. */
int lg_preflight(const struct lg_config *cfg, char *msg, size_t msglen);

/* Raises RLIMIT_NOFILE's soft limit to its hard limit. Returns the new soft
 * limit, or -errno. For main() and evbench, not called by lg_run(). */
long lg_raise_nofile(void);

/* ---- running ---------------------------------------------------------------- */

enum lg_phase {
	LG_PHASE_CONNECT = 0,
	LG_PHASE_WARMUP,
	LG_PHASE_MEASURE,
	LG_PHASE_DRAIN,
	LG_PHASE_DONE,
	LG_NPHASES
};

/* "connect", "warmup", "measure", "drain", "done". */
const char *lg_phase_name(enum lg_phase phase);

/* Live counters, summed over the threads when the progress callback runs.
 * They count every phase (not only measure). */
struct lg_progress {
	enum lg_phase phase;
	double   elapsed_s;        /* since lg_run() started */
	long     conns_up;         /* connections open now */
	uint64_t requests;         /* requests sent */
	uint64_t replies;          /* replies verified */
	uint64_t errors;           /* failures of any cause, fd_limit included */
};

struct lg_hooks {
	/* Called from lg_run()'s own thread at the start of each phase, after
	 * the phase's clocks were read: on MEASURE just after the measure phase's
	 * start time and CPU were taken, on DRAIN just after its end was taken.
	 * Keep it short: the load threads are running meanwhile. May be NULL. */
	void (*on_phase)(enum lg_phase phase, void *arg);
	/* Called from lg_run()'s thread about every progress_interval_s while the
	 * run lasts. May be NULL. */
	void (*on_progress)(const struct lg_progress *p, void *arg);
	void  *arg;
	double progress_interval_s;  /* 0 = 1 s */
	/* When *stop becomes nonzero (e.g. in a SIGINT handler), the run ends
	 * early: the measure phase ends there (or never starts), outstanding
	 * replies are drained briefly and the result holds what was measured.
	 * May be NULL. */
	volatile sig_atomic_t *stop;
	/* When not NULL, the measure phase waits for a coordinator: the
	 * warm-up (at least warmup_s) lasts while *measure_at_s is 0, and
	 * until the CLOCK_REALTIME instant (s) it holds once set, which
	 * another thread may do at any time (read with __atomic_load). Agents
	 * on several hosts (docs/many-hosts.md) measure from one instant so,
	 * once every one of them has connected. */
	double *measure_at_s;
};

/* ---- results ---------------------------------------------------------------- */

/* Causes of failure. errno values (1..LG_ERRNO_MAX) count under their own
 * name; the rest are the library's own. */
#define LG_ERRNO_MAX        133
enum {
	LG_CAUSE_VERIFY_MISMATCH = LG_ERRNO_MAX + 1,  /* reply differs from what the protocol
	                                                 owes for the request */
	LG_CAUSE_TIMEOUT,                             /* connect or reply took > timeout */
	LG_CAUSE_EOF,                                 /* server closed with requests outstanding,
	                                                 or an idle connection was closed */
	LG_CAUSE_OTHER,                               /* errno above LG_ERRNO_MAX */
	LG_NCAUSES
};

/* A cause's name: "verify_mismatch", "timeout", "eof", "other", or the errno's
 * symbolic name ("ECONNREFUSED"); "E<n>" for unnamed errnos. */
const char *lg_cause_name(int cause);

struct lg_source_stat {
	char     addr[LG_ADDR_LEN];  /* local address bound, "" = chosen by the kernel */
	uint64_t connects;           /* connections established from it (all phases) */
};

struct lg_result {
	/* measure phase */
	double   wall_s;             /* CLOCK_MONOTONIC seconds */
	double   client_cpu_s;       /* clock() over the phase: all threads of this process */
	double   client_user_s;      /* getrusage(RUSAGE_SELF) user time over the phase */
	double   client_sys_s;       /* getrusage(RUSAGE_SELF) system time over the phase */
	uint64_t requests;           /* requests sent */
	uint64_t replies;            /* replies verified equal to what their request is owed */
	uint64_t bytes_sent;
	uint64_t bytes_received;
	double   throughput_rps;     /* replies / wall_s */
	double   cpu_us_per_req;     /* client_cpu_s * 1e6 / replies; 0 when no replies */

	/* connections (all phases) */
	long     conns_target;       /* conns asked for */
	long     conns_up_at_measure;/* connections open when the measure phase began */
	long     conns_peak;         /* most connections open at once */
	uint64_t connects;           /* connections established */
	uint64_t connect_failures;   /* connection attempts that failed, any cause */
	uint64_t closes;             /* connections closed by the load generator */
	uint64_t requests_all;       /* requests sent in every phase, warm-up and drain too */
	uint64_t replies_all;        /* replies verified in every phase: what the server
	                                answered, when every reply arrived */
	int      n_sources;
	struct lg_source_stat sources[LG_MAX_SOURCE_ADDRS];

	/* failures (all phases) */
	uint64_t errors[LG_NPHASES][LG_NCAUSES];     /* errors[phase][cause]; fd limits excluded */
	uint64_t errors_total;
	uint64_t verify_mismatch;                    /* measure phase only, also in errors[][] */
	uint64_t closed_unserved;                    /* of errors[][]: connections the server closed
	                                                (EOF, ECONNRESET, EPIPE) before any reply
	                                                byte, as a server shedding for a
	                                                descriptor limit does; all phases */
	uint64_t fd_emfile, fd_enfile, fd_eaddrnotavail; /* descriptor-limit failures, all phases */

	/* histograms (ns); owned by the result, freed by lg_result_free() */
	bool        open_loop;        /* latency is corrected; latency_uncorrected is filled */
	struct hist latency;          /* measure phase: corrected in open loop, else from send */
	struct hist latency_uncorrected; /* open loop: from the actual send; empty in closed loop */
	struct hist connect_latency;  /* connect() to established, every phase */
	struct hist send_lag;         /* open loop, measure phase: how long after its intended
	                                 time each request left: the client running late, or
	                                 the request held back by the `pipeline` cap while the
	                                 server was slow (corrected ~ send_lag + uncorrected) */

	bool     stopped;            /* ended early by *hooks->stop */
	double   measure_target_s;   /* duration asked for (0 with --requests) */
};

/* Runs the load described by cfg, a configuration lg_config_make() returned
 * (a port set since is the caller's), and fills *res (which it initialises: do not
 * pass a live result). hooks may be NULL. Returns 0 when the run went through
 * its phases (failures are in the result, not in the return value), or a
 * negative errno when it could not run at all (not made: -EINVAL, memory,
 * threads, epoll). On error *res is left empty and safe to free. */
int lg_run(const struct lg_config *cfg, struct lg_result *res,
	   const struct lg_hooks *hooks);

/* Makes *res an empty result: every count zero, its histograms allocated
 * and empty (for a reader or a merge that fills it; lg_run() makes its own).
 * Returns 0, or -ENOMEM with *res left safe to free. */
int lg_result_init(struct lg_result *res);

/* Frees the result's histograms. Safe on a zeroed or freed result. */
void lg_result_free(struct lg_result *res);

/* Writes the human summary of a run (a few lines) to f. */
void lg_print_summary(FILE *f, const struct lg_config *cfg, const struct lg_result *res);

/* ---- the results schema (evbench.run/1), client side ------------------------- */

/* Writes the `load` object (the options as run, resolved values included). */
void lg_json_load(struct json_writer *w, const struct lg_config *cfg);

/* The percentiles every latency report gives, in order (docs/results.md): the
 * latency object's members (key), summary.csv's lat_<key>_us columns and the
 * summaries' labels (label). The one list of them. */
#define LG_NPCTS 5
struct lg_pct {
	const char *key, *label;
	double p;
};
extern const struct lg_pct lg_pcts[LG_NPCTS];

/* Writes a latency object {min, mean, p50, p90, p99, p999, p9999, max} in
 * microseconds (lg_pcts between mean and max); all null when the histogram is
 * empty. */
void lg_json_latency(struct json_writer *w, const struct hist *h);

/* Writes, inside an object the caller opened, the members of `result` that the
 * client alone knows: wall_s, client_cpu_s, client_user_s, client_sys_s,
 * requests, replies, bytes_sent, bytes_received, throughput_rps,
 * latency_basis, latency_us, latency_uncorrected_us (null in closed loop),
 * send_lag_us (null in closed loop), connect_latency_us, connections {...}, errors {phase: {cause: n}},
 * errors_total, verify_mismatch, closed_unserved, stopped. docs/results.md lists them with
 * units. evbench adds its server-side members and the two shared ones below. */
void lg_json_result_members(struct json_writer *w, const struct lg_result *res);

/* Writes the member "client": <cpu us per verified reply>, for the caller's
 * "cpu_us_per_req" object (which evbench completes with "server"); null when
 * nothing was verified, or res is NULL (the load did not run). */
void lg_json_cpu_per_req_client(struct json_writer *w, const struct lg_result *res);

/* Writes the member "client": {emfile, enfile, eaddrnotavail}, for the
 * caller's "fd_limit" object; each null when res is NULL (the load did not
 * run: nothing was measured, which is not the same as zero). */
void lg_json_fd_limit_client(struct json_writer *w, const struct lg_result *res);

/* Writes the whole client-only `result` object: the members above plus
 * cpu_us_per_req {client} and fd_limit {client}. What bin/loadgen --json uses. */
void lg_json_result(struct json_writer *w, const struct lg_result *res);

#endif
