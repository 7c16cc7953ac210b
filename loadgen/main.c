/*
 * main.c - bin/loadgen: the load generator on its own.
 *
 *   loadgen --port P [--host H] [--conns N] [load options] [--json] [--hgrm FILE]
 *           [--server-pid PID] [--progress]
 *
 * The load options are lg_parse_option()'s, shared with evbench. Bad input is
 * one line on stderr and exit status 2; a run, even one full of failures, exits
 * 0 with its report; Ctrl-C ends the run early and still reports.
 */
#include "loadgen.h"
#include "procfs.h"

#include <errno.h>
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
		"Drives a ROT13 line server, verifies every reply, reports latency and CPU.\n\n"
		"load options (the same as evbench's):\n%s\n"
		"output:\n"
		"  --json                 print {\"load\": ..., \"result\": ...} (evbench.run/1, client side)\n"
		"  --hgrm FILE            write the latency percentile distribution (.hgrm, microseconds;\n"
		"                         in open loop also FILE.uncorrected.hgrm, from the actual send)\n"
		"  --server-pid PID       also sample that process's CPU at the measure phase's bounds\n"
		"  --progress             a progress line on stderr every second\n"
		"  --help\n", lg_options_usage);
}

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

int main(int argc, char **argv)
{
	struct lg_config cfg;
	lg_config_default(&cfg);
	bool json = false;
	const char *hgrm = NULL;
	struct probe pr = { 0 };
	char err[512];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strncmp(a, "--", 2) != 0)
			die_usage((snprintf(err, sizeof err, "unexpected argument '%s'", a), err));
		char name[64];
		const char *eq = strchr(a + 2, '='), *value = NULL;
		size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (len >= sizeof name)
			die_usage((snprintf(err, sizeof err, "unknown option '%s'", a), err));
		memcpy(name, a + 2, len);
		name[len] = '\0';
		if (strcmp(name, "json") == 0 || strcmp(name, "progress") == 0) {
			if (eq)
				die_usage((snprintf(err, sizeof err, "--%s takes no value", name), err));
			*(strcmp(name, "json") == 0 ? &json : &pr.progress) = true;
			continue;
		}
		bool known = lg_is_option(name) || strcmp(name, "hgrm") == 0 ||
			     strcmp(name, "server-pid") == 0;
		if (!known)
			die_usage((snprintf(err, sizeof err, "unknown option '--%s'", name), err));
		if (eq)
			value = eq + 1;
		else if (i + 1 < argc)
			value = argv[++i];
		else
			die_usage((snprintf(err, sizeof err, "--%s: needs a value", name), err));
		if (strcmp(name, "hgrm") == 0) {
			hgrm = value;
		} else if (strcmp(name, "server-pid") == 0) {
			char *end;
			errno = 0;
			pr.pid = strtol(value, &end, 10);
			if (errno || *end || pr.pid <= 0)
				die_usage((snprintf(err, sizeof err,
						    "--server-pid: must be a process id, got '%s'", value), err));
		} else if (lg_parse_option(&cfg, name, value, err, sizeof err) < 0) {
			die_usage(err);
		}
	}
	if (lg_config_check(&cfg, err, sizeof err) < 0)
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

	double srv_cpu = (pr.pid && pr.cpu0 >= 0 && pr.cpu1 >= 0) ? pr.cpu1 - pr.cpu0 : -1;
	if (json) {
		struct json_writer w;
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_key(&w, "load");
		lg_json_load(&w, &cfg);
		json_key(&w, "result");
		lg_json_result(&w, &res);
		if (pr.pid) {
			/* Not part of evbench.run/1: what --server-pid sampled. */
			json_key(&w, "server_probe");
			json_begin_object(&w);
			json_kv_int(&w, "pid", pr.pid);
			json_kv_double(&w, "cpu_s", srv_cpu);
			json_kv_double(&w, "cpu_us_per_req",
				       res.replies && srv_cpu >= 0 ? srv_cpu * 1e6 / (double)res.replies : NAN);
			json_end_object(&w);
		}
		json_end_object(&w);
		if (json_finish(&w) < 0)
			return 1;
	} else {
		lg_print_summary(stdout, &cfg, &res);
		if (pr.pid) {
			if (srv_cpu < 0) {
				printf("  server cpu  unavailable (pid %ld)\n", pr.pid);
			} else {
				double s_us = res.replies ? srv_cpu * 1e6 / (double)res.replies : 0;
				printf("  server cpu  %.3f s, %.2f us per reply; client/server %.2f\n",
				       srv_cpu, s_us, s_us > 0 ? res.cpu_us_per_req / s_us : 0.0);
			}
		}
	}
	if (hgrm) {
		FILE *f = fopen(hgrm, "we");
		/* fclose() flushes the last of the file: its failure is a failed write. */
		int wr = !f ? -1 : hist_write_hgrm(&res.latency, f, 1000.0);
		if (f && fclose(f) != 0)
			wr = -1;
		if (wr < 0) {
			fprintf(stderr, "loadgen: %s: %s\n", hgrm, strerror(errno));
			lg_result_free(&res);
			return 1;
		}
		if (res.open_loop) {
			/* Beside it, the same replies measured from the actual send. */
			char path[4096];
			size_t n = strlen(hgrm);
			if (n > 5 && strcmp(hgrm + n - 5, ".hgrm") == 0)
				n -= 5;
			snprintf(path, sizeof path, "%.*s.uncorrected.hgrm", (int)n, hgrm);
			f = fopen(path, "we");
			wr = !f ? -1 : hist_write_hgrm(&res.latency_uncorrected, f, 1000.0);
			if (f && fclose(f) != 0)
				wr = -1;
			if (wr < 0) {
				fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
				lg_result_free(&res);
				return 1;
			}
		}
	}
	lg_result_free(&res);
	return 0;
}
