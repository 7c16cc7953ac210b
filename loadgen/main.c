/*
 * main.c - bin/loadgen: the load generator on its own.
 *
 *   loadgen --port P [--host H] [--conns N] [load options] [--json] [--hgrm FILE]
 *           [--server-pid PID] [--progress]
 *
 * The load options are lg_options[]'s, shared with evbench. Bad input is
 * one line on stderr and exit status 2; a run, even one full of failures, exits
 * 0 with its report; Ctrl-C ends the run early and still reports.
 */
#include "loadgen.h"
#include "procfs.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

/* The first Ctrl-C ends the run with a report; a second one, should the
 * drain take too long for the user, kills as usual. */
static void on_signal(int sig)
{
	stop_flag = 1;
	signal(sig, SIG_DFL);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: loadgen --port P [--host H] [--conns N] [options]\n"
		"Drives a line server (ROT13, or echo with --protocol echo), verifies every reply,\n"
		"reports latency and CPU.\n\n"
		"load options (the same as evbench's):\n%s\n"
		"output:\n"
		"  --json                 print {\"load\": ..., \"result\": ...} (evbench.run/1, client side)\n"
		"  --hgrm FILE            write the latency percentile distribution (.hgrm, microseconds;\n"
		"                         in open loop also FILE.uncorrected.hgrm, from the actual send)\n"
		"  --server-pid PID       also sample that process's CPU at the measure phase's bounds\n"
		"  --progress             a progress line on stderr every second\n"
		"  --help, --version\n", lg_options_usage);
}

static void die_usage(const char *msg) __attribute__((noreturn));
static void die_usage(const char *msg)
{
	fprintf(stderr, "loadgen: %s (see loadgen --help)\n", msg);
	exit(2);
}

/* CPU of one process (user + sys, reaped children included) from /proc, in
 * seconds; -1 when it cannot be read. */
static double proc_cpu_s(long pid)
{
	struct proc_stat ps;

	if (proc_stat_pid((pid_t)pid, &ps) < 0)
		return -1;
	return (double)(ps.utime + ps.stime + ps.cutime + ps.cstime) / (double)sysconf(_SC_CLK_TCK);
}

struct probe {
	long   pid;
	bool   progress;
	double cpu0, cpu1;
};

static void on_phase(enum lg_phase phase, void *arg)
{
	struct probe *pr = arg;
	if (pr->pid && phase == LG_PHASE_MEASURE)
		pr->cpu0 = proc_cpu_s(pr->pid);
	if (pr->pid && phase == LG_PHASE_DRAIN)
		pr->cpu1 = proc_cpu_s(pr->pid);
}

static void on_progress(const struct lg_progress *p, void *arg)
{
	struct probe *pr = arg;
	if (!pr->progress)
		return;
	fprintf(stderr, "\r[%6.1fs] %-7s conns %ld  requests %llu  replies %llu  errors %llu   ",
		p->elapsed_s, lg_phase_name(p->phase), p->conns_up,
		(unsigned long long)p->requests, (unsigned long long)p->replies,
		(unsigned long long)p->errors);
	fflush(stderr);
}

/* The result on stdout: JSON (evbench.run/1's load and result, and what
 * --server-pid sampled) or the human summary. Returns 0, or -1 when stdout
 * failed. */
static int print_result(bool json, const struct lg_config *cfg, const struct lg_result *res,
			const struct probe *pr)
{
	double srv_cpu = (pr->pid && pr->cpu0 >= 0 && pr->cpu1 >= 0) ? pr->cpu1 - pr->cpu0 : -1;
	if (json) {
		struct json_writer w;
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_key(&w, "load");
		lg_json_load(&w, cfg);
		json_key(&w, "result");
		lg_json_result(&w, res);
		if (pr->pid) {
			/* Not part of evbench.run/1: what --server-pid sampled. */
			json_key(&w, "server_probe");
			json_begin_object(&w);
			json_kv_int(&w, "pid", pr->pid);
			json_kv_double(&w, "cpu_s", srv_cpu);
			json_kv_double(&w, "cpu_us_per_req",
				       res->replies && srv_cpu >= 0 ? srv_cpu * 1e6 / (double)res->replies : NAN);
			json_end_object(&w);
		}
		json_end_object(&w);
		if (json_finish(&w) < 0)
			return -1;
	} else {
		lg_print_summary(stdout, cfg, res);
		if (pr->pid) {
			if (srv_cpu < 0) {
				printf("  server cpu  unavailable (pid %ld)\n", pr->pid);
			} else {
				double s_us = res->replies ? srv_cpu * 1e6 / (double)res->replies : 0;
				printf("  server cpu  %.3f s, %.2f us per reply; client/server %.2f\n",
				       srv_cpu, s_us, s_us > 0 ? res->cpu_us_per_req / s_us : 0.0);
			}
		}
	}
	return 0;
}

/* Writes histogram h to path in the .hgrm format, in microseconds.
 * Returns 0, or -1 with errno (and one line on stderr). */
static int write_hgrm(const char *path, const struct hist *h)
{
	FILE *f = fopen(path, "we");
	/* fclose() flushes the last of the file: its failure is a failed write. */
	int wr = !f ? -1 : hist_write_hgrm(h, f, 1000.0);

	if (f && fclose(f) != 0)
		wr = -1;
	if (wr < 0)
		fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
	return wr < 0 ? -1 : 0;
}

/* --hgrm PATH: the latency distribution; in an open loop, beside it, the
 * same replies measured from the actual send (PATH.uncorrected.hgrm). */
static int write_hgrms(const char *hgrm, const struct lg_result *res)
{
	char path[4096];
	size_t n = strlen(hgrm);

	if (write_hgrm(hgrm, &res->latency) < 0)
		return -1;
	if (!res->open_loop)
		return 0;
	if (n > 5 && strcmp(hgrm + n - 5, ".hgrm") == 0)
		n -= 5;
	snprintf(path, sizeof path, "%.*s.uncorrected.hgrm", (int)n, hgrm);
	return write_hgrm(path, &res->latency_uncorrected);
}

int main(int argc, char **argv)
{
	struct lg_config cfg;
	lg_config_default(&cfg);
	bool json = false;
	const char *hgrm = NULL;
	struct probe pr = { 0 };
	char err[512];

	/* loadgen's own options, then the load options (val OPT_LOAD + index). */
	enum { OPT_JSON = 256, OPT_PROGRESS, OPT_HGRM, OPT_SERVER_PID, OPT_VERSION, OPT_LOAD = 512 };
	struct option opts[64] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "hgrm", required_argument, NULL, OPT_HGRM },
		{ "server-pid", required_argument, NULL, OPT_SERVER_PID },
	};
	int c;

	lg_options_getopt(opts, 6, 64, OPT_LOAD, NULL);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("loadgen (evbench) %s\n", EVBENCH_VERSION);
			return 0;
		case OPT_JSON:
			json = true;
			break;
		case OPT_PROGRESS:
			pr.progress = true;
			break;
		case OPT_HGRM:
			hgrm = optarg;
			break;
		case OPT_SERVER_PID: {
			char *end;
			errno = 0;
			pr.pid = strtol(optarg, &end, 10);
			if (errno || *end || pr.pid <= 0)
				die_usage((snprintf(err, sizeof err,
						    "--server-pid: must be a process id, got '%s'", optarg), err));
			break;
		}
		case '?':
		case ':':
			lg_getopt_error(err, sizeof err, c, argv[optind - 1], optopt);
			die_usage(err);
		default:
			if (lg_parse_option(&cfg, lg_options[c - OPT_LOAD].name, optarg, err, sizeof err) < 0)
				die_usage(err);
		}
	}
	if (optind < argc)
		die_usage((snprintf(err, sizeof err, "unexpected argument '%s'", argv[optind]), err));
	if (lg_config_make(&cfg, &cfg, err, sizeof err) < 0)
		die_usage(err);

	long nofile = lg_raise_nofile();
	(void)nofile;
	if (lg_preflight(&cfg, err, sizeof err))
		fprintf(stderr, "loadgen: warning: %s\n", err);

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct lg_hooks hooks = { .on_phase = on_phase, .on_progress = on_progress, .arg = &pr,
				  .stop = &stop_flag };
	struct lg_result res;
	int rc = lg_run(&cfg, &res, &hooks);
	if (pr.progress)
		fputc('\n', stderr);
	if (rc < 0) {
		fprintf(stderr, "loadgen: cannot run: %s\n", strerror(-rc));
		return 1;
	}

	if (print_result(json, &cfg, &res, &pr) < 0)
		return 1;
	if (hgrm && write_hgrms(hgrm, &res) < 0) {
		lg_result_free(&res);
		return 1;
	}
	lg_result_free(&res);
	return 0;
}
