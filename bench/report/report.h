/*
 * report.h - evbench's two output channels: the compact human table on
 * stdout (one row per server and connection count), and the machine files
 * under results/<run-id>/ (one JSON per run in schema evbench.run/1,
 * summary.csv, .hgrm latency distributions) that plot.py and the gate read.
 * Nothing parses the table.
 *
 * Every file is written to a temporary name in its directory and renamed
 * into place, so a reader never sees half a file and an interrupted sweep
 * leaves whole files of every run it finished.
 *
 * Conventions: functions return 0 or -1 with errno; they do not exit.
 */
#ifndef EVBENCH_REPORT_H
#define EVBENCH_REPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "collect.h"
#include "loadgen.h"
#include "mech.h"
#include "orch.h"

#define REP_MAX_WARNINGS 8

/* --mechanism (docs/results.md, "Mechanism"). */
enum { MECH_OFF, MECH_AUTO, MECH_ON };

/* One run: a server at one connection count, one repeat. */
struct agents_spec;

struct rep_run {
	const struct orch_server *srv;
	int    repeat, repeats;            /* 1-based index, and how many */
	char   run_id[64];
	char   started_at[32];             /* ISO 8601 UTC */
	double ready_timeout_s;            /* how long the server has to get ready */
	char  *const *server_args;         /* extra server arguments, NULL-terminated */
	char  *const *argv;                /* evbench's own command line, NULL-terminated */
	struct lg_config cfg;              /* as run (lg_config_make), and the one home of
	                                      its connection count, cfg.conns */
	bool   ran;                        /* lg_run() went through its phases */
	struct lg_result res;
	struct orch_proc proc;
	bool   started;                    /* the server printed its ready line */
	struct col_sample s_measure, s_drain;  /* at MEASURE start and DRAIN start */
	struct col_sample s_mid;           /* halfway through MEASURE, for memory */
	double scan_user_s, scan_sys_s;    /* the measure-phase scans' own CPU, out of the client's */
	char   failure[768];               /* "" when the run went as planned */
	int    nwarn;
	char   warnings[REP_MAX_WARNINGS][512];
	char   file[96];                   /* basename of the JSON, without ".json" */
	/* The sweep it belongs to (compare.h): repeat is also its round. */
	const char *order;                 /* "interleaved" or "sequential" */
	uint64_t seed;
	int    position, positions;        /* its place in the round, 1-based, and of how many */
	const char *reference;             /* the design the comparisons divide by */
	double probe_before_ns, probe_after_ns;  /* the drift probe (probe.h), -1 if it failed */
	/* Mechanism metrics (mech.h): perf's counts over the measure phase,
	 * and the client's context switches from /proc at its edges (the
	 * server's are in s_measure and s_drain). */
	bool   mech;                       /* counting was asked for (--mechanism auto or on) */
	bool   mech_tasks;                 /* fork and threads too (--mechanism on) */
	long   server_nofile;              /* --server-nofile, 0 = the server's own limit */
	const struct agents_spec *agents;  /* --agents: the load runs there (agents.h), or NULL */
	struct mech_session mech_srv, mech_cli;
	long   cli_vcsw[2], cli_ivcsw[2];  /* the load's at MEASURE and at DRAIN, -1 unread */
};

/* The figures of one run that the table and summary.csv show. Negative
 * numbers mean "not measured" and print as empty cells or '-'. */
struct rep_row {
	const struct evb_design *d;        /* the server's row; NULL in rows read back from files */
	bool   external;                 /* a user's command or address: no stop report */
	char     server[32], design[32], backend[32];
	long     conns;
	int      repeat, threads;
	const char *protocol;              /* the load's: "rot13" or "echo" (lg_protocol_name) */
	bool     ran, stopped;
	char     failure[256];
	double   wall_s, throughput_rps;
	uint64_t requests, replies, bytes_sent;
	double   client_cpu_s, client_user_s, client_sys_s;
	double   server_cpu_s, server_user_s, server_sys_s;
	double   cpu_us_client, cpu_us_server;
	double   server_util, client_util;
	double   machine_util;             /* share of all CPUs busy, measure phase */
	double   irq_util;                 /* of which in interrupts and softirqs */
	double   others_util;              /* of which neither that nor client nor server */
	double   lat_us[LG_NPCTS + 3];     /* min, mean, lg_pcts (p50 .. p9999), max */
	char     bound[16];
	long     conns_up;                 /* up when measuring began, at most the server's
	                                      peak_conns */
	long     conns_active;             /* of those, carrying requests (--active, else all) */
	uint64_t fd_client;                /* emfile + enfile + eaddrnotavail */
	int64_t  fd_server;                /* emfile + enfile + fd_setsize_refused */
	int64_t  srv_emfile, srv_enfile, srv_fdset;
	uint64_t errors_client;
	uint64_t errors_shed;              /* of errors_client: connections closed unserved that
	                                      the server's fd_server explains (counted there) */
	int64_t  errors_server, resets_server, bytes_in_server;
	long     rss_kb;                   /* peak RSS of the largest process */
	long     group_rss_kb, group_pss_kb;   /* the group's, the larger of two samples */
	long     ctxsw_vol, ctxsw_invol;
	char     file[96];
	int      position;                 /* in its round (repeat is the round) */
	double   probe_before_ns, probe_after_ns;  /* -1 when the probe failed */
	double   drift;                    /* after / before - 1; NaN without both */
	bool     drift_flagged;            /* |drift| > PROBE_DRIFT_THRESHOLD */
	/* Mechanism, per verified reply over the measure phase; -1 = not measured. */
	double   sys_per_req_server, sys_per_req_client;
	double   wakeups_per_req_server, ready_per_wakeup_server;
	double   csw_vol_server, csw_invol_server, csw_vol_client, csw_invol_client;
	char     sys_top_server[160];      /* "read=0.98;writev=0.98;epoll_wait=0.013" */
	double   sys_by_name_server[MECH_NSYSCALLS];  /* per request, -1 when not counted */
};

/* The rounds rows[0..n) reach so far, the largest repeat (the last round
 * may be partial); 0 for none. */
int rep_rounds(const struct rep_row *rows, int n);

/* Fills *row from a finished run (host gives the CPU count for bound). */
void rep_row_fill(struct rep_row *row, const struct rep_run *r, const struct col_host *host);

/* Creates <out>/<run-id> (and out's missing parents; the run id is the UTC start time, made unique) and
 * points <out>/latest at it. Writes the id into run_id and the directory
 * into dir. Returns 0 or -1 with errno (the directory could not be made; a
 * failing `latest` link is not an error). */
int rep_open_dir(const char *out, char *run_id, size_t idlen, char *dir, size_t dirlen);

/* Writes <dir>/<r->file>.json (evbench.run/1) and the .hgrm beside it. */
int rep_write_run(const char *dir, const struct rep_run *r, const struct rep_row *row,
		  const struct col_host *host);

/* (Re)writes <dir>/summary.csv with one line per run. */
int rep_write_summary(const char *dir, const struct rep_row *rows, int n);

/* The table: a header, then one row per (server, conns) over its repeats:
 * rates and CPU are medians over the repeats, latencies come from the merged
 * histogram (NULL when no run measured any); vs_ref is the comparison cell
 * (compare.h's cmp_cell). */
void rep_table_header(FILE *f);
void rep_table_row(FILE *f, const struct rep_row *rows, int n, const struct hist *merged,
		   const char *vs_ref);

/* Prints the JSON files of rows as one JSON array on f (--json). */
int rep_print_json_array(FILE *f, const char *dir, const struct rep_row *rows, int n);

/* Writes `text` of len bytes to path through a temporary file and rename().
 * Returns 0 or -1 with errno. */
int rep_write_atomic(const char *path, const char *text, size_t len);

/* Closes f, an open_memstream() over *buf and *len, and writes what it holds
 * to <dir>/<name> with rep_write_atomic(); frees the buffer either way.
 * `failed` says that writing into f already went wrong (nothing is written
 * then). Returns 0 or -1 with errno. */
int rep_commit(FILE *f, char **buf, size_t *len, bool failed, const char *dir, const char *name);

#endif
