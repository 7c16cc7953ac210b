/*
 * report.c - the figures of a run, the JSON files, summary.csv and the .hgrm
 * files (the table is report_table.c). See report.h, and docs/results.md for
 * every field.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"
#include "schema.h"

#ifndef EVBENCH_VERSION
#define EVBENCH_VERSION "0.1"
#endif


int rep_write_atomic(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX + 32];
	int fd, saved;
	size_t off = 0;

	snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

int rep_commit(FILE *f, char **buf, size_t *len, bool failed, const char *dir, const char *name)
{
	char path[PATH_MAX];
	int rc;

	if (fclose(f) != 0 || failed) {
		free(*buf);
		*buf = NULL;
		errno = EIO;
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s", dir, name);
	rc = rep_write_atomic(path, *buf, *len);
	free(*buf);
	*buf = NULL;
	return rc;
}

/* ---- the figures of a run ----------------------------------------------------- */

static int64_t counter(const struct rep_run *r, const char *name)
{
	return orch_counter(&r->proc.counters, name);
}

static int64_t nonneg(int64_t v)
{
	return v < 0 ? 0 : v;
}

/* The server's context switches over the measure phase, from the two
 * samples' sums over the group's live threads; -1 each when not sampled. */
static void server_csw(const struct rep_run *r, long *v, long *iv)
{
	*v = *iv = -1;
	if (r->s_measure.valid && r->s_drain.valid && r->s_measure.vcsw >= 0 &&
	    r->s_drain.vcsw >= 0 && r->s_drain.vcsw >= r->s_measure.vcsw &&
	    r->s_drain.ivcsw >= r->s_measure.ivcsw) {
		*v = r->s_drain.vcsw - r->s_measure.vcsw;
		*iv = r->s_drain.ivcsw - r->s_measure.ivcsw;
	}
}

static void client_csw(const struct rep_run *r, long *v, long *iv)
{
	*v = *iv = -1;

	if (r->cli_vcsw[0] >= 0 && r->cli_vcsw[1] >= r->cli_vcsw[0] &&
	    r->cli_ivcsw[1] >= r->cli_ivcsw[0]) {
		*v = r->cli_vcsw[1] - r->cli_vcsw[0];
		*iv = r->cli_ivcsw[1] - r->cli_ivcsw[0];
	}
}

static void mech_row_fill(struct rep_row *row, const struct rep_run *r)
{
	const struct mech_counts *cs = &r->mech_srv.c, *cc = &r->mech_cli.c;
	double n = r->ran ? (double)r->res.replies : 0, lo, hi;
	long v, iv;
	int idx[MECH_NSYSCALLS], k, len = 0;

	row->sys_per_req_server = row->sys_per_req_client = -1;
	row->wakeups_per_req_server = row->ready_per_wakeup_server = -1;
	row->csw_vol_server = row->csw_invol_server = -1;
	row->csw_vol_client = row->csw_invol_client = -1;
	row->sys_top_server[0] = '\0';
	for (int i = 0; i < MECH_NSYSCALLS; i++)
		row->sys_by_name_server[i] = -1;
	if (n <= 0)
		return;
	if (cs->valid) {
		row->sys_per_req_server = (double)cs->total / n;
		if (cs->wait != EVB_WAIT_NONE)
			row->wakeups_per_req_server = (double)cs->wakeups / n;
		row->ready_per_wakeup_server = mech_ready_per_wakeup(cs, &lo, &hi);
		for (int i = 0; i < MECH_NSYSCALLS; i++)
			if (cs->named & (1ULL << i))
				row->sys_by_name_server[i] = (double)cs->by_name[i] / n;
		k = mech_top(cs, idx);
		for (int i = 0; i < k && i < 4; i++)
			len += snprintf(row->sys_top_server + len, sizeof row->sys_top_server - (size_t)len,
					"%s%s=%.3g", i ? ";" : "", mech_syscall_name(idx[i]),
					(double)cs->by_name[idx[i]] / n);
	}
	if (cc->valid)
		row->sys_per_req_client = (double)cc->total / n;
	server_csw(r, &v, &iv);
	if (v >= 0) {
		row->csw_vol_server = (double)v / n;
		row->csw_invol_server = (double)iv / n;
	}
	client_csw(r, &v, &iv);
	if (v >= 0) {
		row->csw_vol_client = (double)v / n;
		row->csw_invol_client = (double)iv / n;
	}
}

/* The client's figures: the load generator's result, when the load ran. */
static void fill_client(struct rep_row *row, const struct rep_run *r)
{
	const struct lg_result *res = &r->res;

	if (!r->ran)
		return;
	row->stopped = res->stopped;
	row->wall_s = res->wall_s;
	row->throughput_rps = res->throughput_rps;
	row->requests = res->requests;
	row->replies = res->replies;
	row->bytes_sent = res->bytes_sent;
	row->client_cpu_s = res->client_cpu_s;
	row->client_user_s = res->client_user_s;
	row->client_sys_s = res->client_sys_s;
	row->cpu_us_client = res->replies ? res->client_cpu_s * 1e6 / (double)res->replies : -1;
	row->conns_up = res->conns_up_at_measure;
	/* A connection the server closes at once (select past FD_SETSIZE,
	 * a shed) can look open to the client when the phase begins; the
	 * server never had more in service than its peak_conns. */
	if (counter(r, "peak_conns") >= 0 && counter(r, "peak_conns") < row->conns_up)
		row->conns_up = (long)counter(r, "peak_conns");
	/* --active N makes the first N of each thread's connections carry
	 * requests; with fewer up, at most those. */
	row->conns_active = r->cfg.active >= 0 && r->cfg.active < row->conns_up ?
		r->cfg.active : row->conns_up;
	row->fd_client = res->fd_emfile + res->fd_enfile + res->fd_eaddrnotavail;
	row->errors_client = res->errors_total;
	if (hist_count(&res->latency)) {
		row->lat_us[0] = (double)hist_min(&res->latency) / 1e3;
		row->lat_us[1] = hist_mean(&res->latency) / 1e3;
		for (int i = 0; i < LG_NPCTS; i++)
			row->lat_us[2 + i] =
				(double)hist_value_at_percentile(&res->latency, lg_pcts[i].p) / 1e3;
		row->lat_us[LG_NPCTS + 2] = (double)hist_max(&res->latency) / 1e3;
	}
}

/* The server's CPU over the measure phase, and the machine's: how busy it
 * was, in interrupts, and by other processes. */
static void fill_utilization(struct rep_row *row, const struct rep_run *r)
{
	const struct lg_result *res = &r->res;

	if (r->s_measure.valid && r->s_drain.valid) {
		col_sample_diff(&r->s_measure, &r->s_drain, &row->server_cpu_s,
				&row->server_user_s, &row->server_sys_s);
		if (r->ran && res->replies)
			row->cpu_us_server = row->server_cpu_s * 1e6 / (double)res->replies;
	}
	if (r->s_measure.valid && r->s_drain.valid &&
	    r->s_drain.machine_total_s > r->s_measure.machine_total_s) {
		double busy = r->s_drain.machine_busy_s - r->s_measure.machine_busy_s;
		double total = r->s_drain.machine_total_s - r->s_measure.machine_total_s;

		double irq = r->s_drain.machine_irq_s - r->s_measure.machine_irq_s;

		row->machine_util = busy / total;
		row->irq_util = irq / total;
		/* Other processes: the machine's busy time less ours. Softirqs
		 * stay in: the scheduler charges the loopback TCP work they do
		 * in our processes' context to our run time already, and what
		 * runs in ksoftirqd is not ours to claim. Tick rounding can
		 * make the rest slightly negative; that is zero. */
		if (r->ran && row->server_cpu_s >= 0) {
			double others = busy - row->server_cpu_s - res->client_cpu_s;

			row->others_util = others > 0 ? others / total : 0;
		}
	}
}

/* The server's own counters (its stop report), memory and context switches. */
static void fill_server(struct rep_row *row, const struct rep_run *r)
{
	const struct lg_result *res = &r->res;

	row->srv_emfile = counter(r, "emfile");
	row->srv_enfile = counter(r, "enfile");
	row->srv_fdset = counter(r, "fd_setsize_refused");
	row->fd_server = r->proc.counters.valid ?
		nonneg(row->srv_emfile) + nonneg(row->srv_enfile) + nonneg(row->srv_fdset) : -1;
	row->errors_server = counter(r, "errors");
	/* Each connection a server shed shows twice: in its fd-limit counters
	 * and as the client's EOF or reset before any reply. It is counted once,
	 * as the fd-limit failure; closes beyond what the server explains stay
	 * errors. */
	if (r->ran && row->fd_server > 0)
		row->errors_shed = res->closed_unserved < (uint64_t)row->fd_server ?
			res->closed_unserved : (uint64_t)row->fd_server;
	row->resets_server = counter(r, "resets");
	row->bytes_in_server = counter(r, "bytes_in");
	/* The kernel updates the high-water mark lazily: take the larger of
	 * wait4's ru_maxrss and the VmHWM sampled at DRAIN start. */
	row->rss_kb = r->proc.reaped ? r->proc.ru.ru_maxrss : -1;
	if (r->s_drain.valid && r->s_drain.leader_hwm_kb > row->rss_kb)
		row->rss_kb = r->s_drain.leader_hwm_kb;
	row->group_rss_kb = r->s_measure.valid ? r->s_measure.rss_kb : -1;
	row->group_pss_kb = r->s_measure.valid ? r->s_measure.pss_kb : -1;
	if (r->s_mid.valid && r->s_mid.rss_kb > row->group_rss_kb)
		row->group_rss_kb = r->s_mid.rss_kb;
	if (r->s_mid.valid && r->s_mid.pss_kb > row->group_pss_kb)
		row->group_pss_kb = r->s_mid.pss_kb;
	row->ctxsw_vol = r->proc.reaped ? r->proc.ru.ru_nvcsw : -1;
	row->ctxsw_invol = r->proc.reaped ? r->proc.ru.ru_nivcsw : -1;
}

int rep_rounds(const struct rep_row *rows, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		if (rows[i].repeat > k)
			k = rows[i].repeat;
	return k;
}

void rep_row_fill(struct rep_row *row, const struct rep_run *r, const struct col_host *host)
{
	const struct lg_result *res = &r->res;
	double cap_s, cap_c;

	memset(row, 0, sizeof *row);
	snprintf(row->server, sizeof row->server, "%s", r->srv->name);
	snprintf(row->design, sizeof row->design, "%s", r->srv->d->binary);
	row->d = r->srv->d;
	row->external = r->srv->kind != ORCH_BUILTIN;
	snprintf(row->backend, sizeof row->backend, "%s",
		 r->proc.counters.valid ? r->proc.counters.backend :
		 r->srv->d->backend ? r->srv->d->backend : "");
	snprintf(row->failure, sizeof row->failure, "%.255s", r->failure);
	snprintf(row->file, sizeof row->file, "%s", r->file);
	row->conns = r->cfg.conns;
	row->repeat = r->repeat;
	row->threads = r->cfg.threads;
	row->protocol = lg_protocol_name(r->cfg.protocol);
	row->ran = r->ran;
	row->server_cpu_s = row->server_user_s = row->server_sys_s = -1;
	row->cpu_us_server = row->server_util = -1;
	row->cpu_us_client = row->client_util = -1;
	row->machine_util = row->others_util = row->irq_util = -1;
	row->client_cpu_s = row->client_user_s = row->client_sys_s = -1;
	row->wall_s = row->throughput_rps = -1;
	for (size_t i = 0; i < sizeof row->lat_us / sizeof row->lat_us[0]; i++)
		row->lat_us[i] = -1;
	snprintf(row->bound, sizeof row->bound, "unknown");
	row->conns_up = row->conns_active = -1;

	fill_client(row, r);
	fill_utilization(row, r);
	cap_s = col_server_capacity(r->srv->d, host->cpus,
				    r->proc.counters.valid ? r->proc.counters.threads : 0);
	cap_c = r->cfg.threads < host->cpus ? r->cfg.threads : host->cpus;
	if (cap_c < 1)
		cap_c = 1;
	if (r->ran && res->wall_s > 0) {
		row->client_util = res->client_cpu_s / res->wall_s / cap_c;
		if (row->server_cpu_s >= 0)
			row->server_util = row->server_cpu_s / res->wall_s / cap_s;
		snprintf(row->bound, sizeof row->bound, "%s",
			 col_bound(row->server_cpu_s, cap_s, res->client_cpu_s, cap_c,
				   res->wall_s, host->cpus));
	}
	fill_server(row, r);
	mech_row_fill(row, r);
	row->position = r->position;
	row->probe_before_ns = r->probe_before_ns;
	row->probe_after_ns = r->probe_after_ns;
	row->drift = r->probe_before_ns > 0 && r->probe_after_ns > 0 ?
		r->probe_after_ns / r->probe_before_ns - 1 : NAN;
	row->drift_flagged = fabs(row->drift) > PROBE_DRIFT_THRESHOLD;
}

/* ---- results/<run-id>/ -------------------------------------------------------- */

int rep_open_dir(const char *out, char *run_id, size_t idlen, char *dir, size_t dirlen)
{
	char base[64], link[PATH_MAX], tmp[PATH_MAX + 32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(base, sizeof base, "%Y%m%d-%H%M%S", &tm);
	/* --out a/b/c makes its missing parents, as mkdir -p does. */
	snprintf(tmp, sizeof tmp, "%s", out);
	for (char *s = strchr(tmp + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		return -1;
	for (int k = 1; k < 100; k++) {
		if (k == 1)
			snprintf(run_id, idlen, "%s", base);
		else
			snprintf(run_id, idlen, "%s-%d", base, k);
		snprintf(dir, dirlen, "%s/%s", out, run_id);
		if (mkdir(dir, 0755) == 0)
			goto made;
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
made:
	/* latest -> <run-id>, relative so that the tree can be moved; replaced
	 * with rename() so a reader never finds it missing. */
	snprintf(link, sizeof link, "%s/latest", out);
	snprintf(tmp, sizeof tmp, "%s/.latest.%d", out, (int)getpid());
	unlink(tmp);
	if (symlink(run_id, tmp) == 0 && rename(tmp, link) < 0)
		unlink(tmp);
	return 0;
}

static const char *const kind_names[] = {
	[ORCH_BUILTIN] = "builtin", [ORCH_COMMAND] = "command", [ORCH_ADDRESS] = "address",
};

/* Why a server's figures that only evbench's own servers give are null
 * (docs/your-server.md), or NULL when they are not. */
static const char *why_no_counters(const struct rep_run *r)
{
	switch (r->srv->kind) {
	case ORCH_COMMAND:
		return "a command has no stop report: its fd-limit causes, peak connections "
		       "and counters are not known";
	case ORCH_ADDRESS:
		return "a server at an address is measured from the client's side only";
	default:
		return NULL;
	}
}

static void json_server(struct json_writer *w, const struct rep_run *r)
{
	const struct orch_proc *p = &r->proc;
	const struct orch_server *s = r->srv;
	char st[64];

	json_begin_object(w);
	json_kv_string(w, "name", s->name);
	json_kv_string(w, "kind", kind_names[s->kind]);
	json_kv_string(w, "design", s->d->binary);
	json_key(w, "backend");
	if (p->counters.valid && p->counters.backend[0])
		json_string(w, p->counters.backend);
	else
		json_string(w, s->d->backend);   /* null without one */
	json_kv_string(w, "binary", s->kind == ORCH_ADDRESS ? NULL : s->path);
	json_kv_int_or_null(w, "nofile_limit", r->server_nofile > 0 ? r->server_nofile : -1);
	json_key(w, "args");
	json_begin_array(w);
	if (s->kind == ORCH_COMMAND) {
		/* The words as given, {port} where the port went. */
		for (char **a = s->argv + 1; *a; a++)
			json_string(w, *a);
	} else if (s->kind == ORCH_BUILTIN) {
		json_string(w, "--port");
		json_string(w, "0");
		if (s->d->backend) {
			json_string(w, "--backend");
			json_string(w, s->d->backend);
		}
		for (int i = 0; r->server_args && r->server_args[i]; i++)
			json_string(w, r->server_args[i]);
	}
	json_end_array(w);
	json_kv_string(w, "address", s->kind == ORCH_ADDRESS ? s->path : NULL);
	json_kv_int_or_null(w, "pid", s->kind == ORCH_ADDRESS ? (s->pid ? s->pid : -1)
				       : p->pid > 0 ? p->pid : -1);
	json_kv_int_or_null(w, "command_pid", p->cmd_pid > 0 ? p->cmd_pid : -1);
	json_kv_bool(w, "pid_namespace", p->pidns);
	json_kv_string(w, "note", p->note[0] ? p->note : NULL);
	json_kv_string(w, "why_no_counters", why_no_counters(r));
	json_kv_int_or_null(w, "port", r->started ? p->port : -1);
	json_kv_double_or_null(w, "ready_s", r->started ? p->ready_s : -1);
	json_kv_double_or_null(w, "stop_s", r->started && s->kind != ORCH_ADDRESS ? p->stop_s : -1);
	json_key(w, "exit");
	if (p->reaped) {
		json_string(w, orch_exit_text(p, st, sizeof st));
	} else {
		json_null(w);
	}
	json_kv_bool(w, "killed", p->killed);
	json_kv_bool(w, "died_early", p->died_early);
	json_kv_string(w, "stderr_tail", p->stderr_tail);
	json_end_object(w);
}

/* result.mechanism: server and client (docs/results.md, "Mechanism"). */
static void json_mechanism(struct json_writer *w, const struct rep_run *r)
{
	uint64_t n = r->ran ? r->res.replies : 0;
	long v, iv;
	const char *why = !r->mech ? "--mechanism off" : !r->ran ? "the load did not run"
			  : NULL;

	json_key(w, "mechanism");
	json_begin_object(w);
	json_key(w, "server");
	server_csw(r, &v, &iv);
	mech_json_side(w, &r->mech_srv.c, n, v, iv,
		       why ? why : "the server could not be sampled at both edges of the phase, or "
		       "threads or children that exited during it took their counts along");
	json_key(w, "client");
	client_csw(r, &v, &iv);
	mech_json_side(w, &r->mech_cli.c, n, v, iv,
		       why ? why : "evbench's threads could not be read");
	json_end_object(w);
}

/* The trial's place in its sweep, and the drift probe around it. */
static void json_sweep(struct json_writer *w, const struct rep_run *r, const struct rep_row *row)
{
	json_key(w, "sweep");
	json_begin_object(w);
	json_kv_string(w, "order", r->order ? r->order : "sequential");
	json_kv_uint(w, "seed", r->seed);
	json_kv_int(w, "round", r->repeat);
	json_kv_int(w, "position", r->position);
	json_kv_int(w, "positions", r->positions);
	json_kv_string(w, "reference", r->reference);   /* null when none */
	json_end_object(w);
	json_key(w, "drift");
	json_begin_object(w);
	json_kv_double_or_null(w, "probe_before_ns", row->probe_before_ns);
	json_kv_double_or_null(w, "probe_after_ns", row->probe_after_ns);
	json_kv_double(w, "change", row->drift);   /* null when NaN (not probed) */
	json_kv_double(w, "threshold", PROBE_DRIFT_THRESHOLD);
	json_kv_bool(w, "flagged", row->drift_flagged);
	json_end_object(w);
}

/* fd_limit: every failure a descriptor limit caused, by side and cause. */
static void json_fd_limit(struct json_writer *w, const struct rep_run *r, const struct rep_row *row)
{
	const struct orch_proc *p = &r->proc;

	json_key(w, "fd_limit");
	json_begin_object(w);
	lg_json_fd_limit_client(w, r->ran ? &r->res : NULL);
	json_key(w, "server");
	if (p->counters.valid) {
		json_begin_object(w);
		json_kv_int_or_null(w, "emfile", row->srv_emfile);
		json_kv_int_or_null(w, "enfile", row->srv_enfile);
		json_kv_int_or_null(w, "fd_setsize_refused", row->srv_fdset);
		json_end_object(w);
	} else {
		json_null(w);
	}
	json_end_object(w);
}

/* server_process: the server's group as sampled, and its whole life. */
static void json_server_process(struct json_writer *w, const struct rep_run *r,
				const struct rep_row *row)
{
	const struct orch_proc *p = &r->proc;

	json_key(w, "server_process");
	json_begin_object(w);
	json_kv_int_or_null(w, "procs_at_measure", r->s_measure.valid ? r->s_measure.nprocs : -1);
	json_kv_int_or_null(w, "threads_at_measure", r->s_measure.valid ? r->s_measure.nthreads : -1);
	json_kv_int_or_null(w, "procs_mid_measure", r->s_mid.valid ? r->s_mid.nprocs : -1);
	json_kv_int_or_null(w, "threads_mid_measure", r->s_mid.valid ? r->s_mid.nthreads : -1);
	json_kv_int_or_null(w, "group_rss_kb", row->group_rss_kb);
	json_kv_int_or_null(w, "group_pss_kb", row->group_pss_kb);
	json_kv_bool(w, "group_pss_estimated", r->s_mid.valid && r->s_mid.pss_estimated);
	json_kv_int_or_null(w, "leader_hwm_kb_at_drain", r->s_drain.valid ? r->s_drain.leader_hwm_kb : -1);
	json_kv_int_or_null(w, "peak_rss_kb", row->rss_kb);
	json_key(w, "lifetime");
	if (p->reaped) {
		struct col_lifetime l;

		col_lifetime_from_rusage(&l, &p->ru);
		json_begin_object(w);
		json_kv_double(w, "user_s", l.user_s);
		json_kv_double(w, "sys_s", l.sys_s);
		json_kv_int(w, "voluntary_ctxt_switches", l.vcsw);
		json_kv_int(w, "involuntary_ctxt_switches", l.ivcsw);
		json_end_object(w);
	} else {
		json_null(w);
	}
	json_end_object(w);
}

static void json_result(struct json_writer *w, const struct rep_run *r, const struct rep_row *row)
{
	const struct orch_proc *p = &r->proc;

	json_begin_object(w);
	json_kv_int(w, "repeat", r->repeat);
	json_kv_int(w, "repeats", r->repeats);
	json_sweep(w, r, row);
	json_kv_bool(w, "ran", r->ran);
	json_key(w, "failure");
	if (r->failure[0])
		json_string(w, r->failure);
	else
		json_null(w);
	json_key(w, "warnings");
	json_begin_array(w);
	for (int i = 0; i < r->nwarn; i++)
		json_string(w, r->warnings[i]);
	json_end_array(w);

	if (r->ran)
		lg_json_result_members(w, &r->res);

	json_key(w, "server_cpu_s");
	if (row->server_cpu_s >= 0) {
		json_begin_object(w);
		json_kv_double(w, "total", row->server_cpu_s);
		json_kv_double_or_null(w, "user", row->server_user_s);
		json_kv_double_or_null(w, "sys", row->server_sys_s);
		json_end_object(w);
	} else {
		json_null(w);
	}
	json_key(w, "cpu_us_per_req");
	json_begin_object(w);
	lg_json_cpu_per_req_client(w, r->ran ? &r->res : NULL);
	json_kv_double_or_null(w, "server", row->cpu_us_server);
	json_end_object(w);

	json_key(w, "utilization");
	json_begin_object(w);
	json_kv_double_or_null(w, "server", row->server_util);
	json_kv_double_or_null(w, "client", row->client_util);
	json_kv_double_or_null(w, "machine", row->machine_util);
	json_kv_double_or_null(w, "irq", row->irq_util);
	json_kv_double_or_null(w, "others", row->others_util);
	json_end_object(w);
	json_kv_string(w, "bound", row->bound);

	json_fd_limit(w, r, row);
	json_key(w, "server_counters");
	if (p->counters.valid) {
		json_begin_object(w);
		json_kv_string(w, "design", p->counters.design);
		json_kv_string(w, "backend", p->counters.backend);
		for (int i = 0; i < ORCH_NCOUNTERS; i++)
			json_kv_int_or_null(w, orch_counter_names[i], p->counters.v[i]);
		json_end_object(w);
	} else {
		json_null(w);
	}

	json_key(w, "collector_cpu_s");
	if (r->ran)
		json_double(w, r->scan_user_s + r->scan_sys_s);
	else
		json_null(w);

	json_server_process(w, r, row);
	json_mechanism(w, r);
	json_end_object(w);
}

int rep_write_run(const char *dir, const struct rep_run *r, const struct rep_row *row,
		  const struct col_host *host)
{
	char path[PATH_MAX];
	struct json_writer w;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	f = open_memstream(&buf, &len);
	if (!f)
		return -1;
	json_begin_document(&w, f, 2, EVB_SCHEMA_RUN);
	json_kv_string(&w, "run_id", r->run_id);
	json_kv_string(&w, "started_at", r->started_at);
	json_kv_string(&w, "evbench_version", EVBENCH_VERSION);
	json_key(&w, "command");
	json_begin_array(&w);
	for (int i = 0; r->argv && r->argv[i]; i++)
		json_string(&w, r->argv[i]);
	json_end_array(&w);
	json_key(&w, "host");
	col_json_host(&w, host);
	json_key(&w, "server");
	json_server(&w, r);
	json_key(&w, "load");
	lg_json_load(&w, &r->cfg);
	json_key(&w, "result");
	json_result(&w, r, row);
	json_end_object(&w);
	rc = json_finish(&w);
	snprintf(path, sizeof path, "%s.json", r->file);
	rc = rep_commit(f, &buf, &len, rc < 0, dir, path);
	if (rc < 0)
		return rc;
	/* A command's own output, whole, beside its result. */
	snprintf(path, sizeof path, "%s/%s", dir, r->file);
	if (orch_save_output(&r->proc, path) < 0)
		return -1;
	if (!r->ran)
		return rc;

	/* The latency distribution in HdrHistogram's text format, in µs. */
	for (int k = 0; k < 2; k++) {
		const struct hist *h = k == 0 ? &r->res.latency : &r->res.latency_uncorrected;

		if (k == 1 && !r->res.open_loop)
			break;
		buf = NULL;
		len = 0;
		f = open_memstream(&buf, &len);
		if (!f)
			return -1;
		rc = hist_write_hgrm(h, f, 1000.0);
		snprintf(path, sizeof path, "%s%s.hgrm", r->file, k == 0 ? "" : "-uncorrected");
		rc = rep_commit(f, &buf, &len, rc < 0, dir, path);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- summary.csv ---------------------------------------------------------------- */

static void csv_num(FILE *f, double v)
{
	if (v < 0)
		fputs(",", f);
	else
		fprintf(f, ",%.6g", v);
}

static void csv_int(FILE *f, int64_t v)
{
	if (v < 0)
		fputs(",", f);
	else
		fprintf(f, ",%lld", (long long)v);
}

/* A CSV field: quoted, with quotes doubled, since failures hold commas. */
static void csv_str(FILE *f, const char *s)
{
	fputs(",\"", f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s == '\n' ? ' ' : *s, f);
	}
	fputc('"', f);
}

int rep_write_summary(const char *dir, const struct rep_row *rows, int n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -1;
	fputs("server,design,backend,conns,repeat,threads,protocol,ran,stopped,wall_s,requests,replies,"
	      "throughput_rps,client_cpu_s,client_user_s,client_sys_s,server_cpu_s,server_user_s,"
	      "server_sys_s,cpu_us_per_req_client,cpu_us_per_req_server,util_server,util_client,"
	      "util_machine,util_irq,util_others,"
	      "bound,lat_min_us,lat_mean_us,", f);
	for (int i = 0; i < LG_NPCTS; i++)
		fprintf(f, "lat_%s_us,", lg_pcts[i].key);
	fputs("lat_max_us,conns_up,conns_active,fd_limit_client,fd_limit_server,server_emfile,"
	      "server_enfile,server_fd_setsize_refused,errors_client,errors_shed,errors_server,resets_server,"
	      "bytes_sent_client,bytes_in_server,peak_rss_kb,group_rss_kb,group_pss_kb,"
	      "ctxsw_voluntary,"
	      "ctxsw_involuntary,round,position,probe_before_ns,probe_after_ns,drift,"
	      "drift_flagged,sys_per_req_server,sys_per_req_client,wakeups_per_req_server,"
	      "ready_per_wakeup_server,ctxsw_vol_per_req_server,ctxsw_invol_per_req_server,"
	      "ctxsw_vol_per_req_client,ctxsw_invol_per_req_client,sys_top_server,failure,file\n", f);
	for (int i = 0; i < n; i++) {
		const struct rep_row *r = &rows[i];

		fprintf(f, "%s,%s,%s,%ld,%d,%d,%s,%d,%d", r->server, r->design, r->backend, r->conns,
			r->repeat, r->threads, r->protocol ? r->protocol : "", r->ran, r->stopped);
		csv_num(f, r->wall_s);
		csv_int(f, r->ran ? (int64_t)r->requests : -1);
		csv_int(f, r->ran ? (int64_t)r->replies : -1);
		csv_num(f, r->throughput_rps);
		csv_num(f, r->client_cpu_s);
		csv_num(f, r->client_user_s);
		csv_num(f, r->client_sys_s);
		csv_num(f, r->server_cpu_s);
		csv_num(f, r->server_user_s);
		csv_num(f, r->server_sys_s);
		csv_num(f, r->cpu_us_client);
		csv_num(f, r->cpu_us_server);
		csv_num(f, r->server_util);
		csv_num(f, r->client_util);
		csv_num(f, r->machine_util);
		csv_num(f, r->irq_util);
		csv_num(f, r->others_util);
		fprintf(f, ",%s", r->bound);
		for (size_t k = 0; k < sizeof r->lat_us / sizeof r->lat_us[0]; k++)
			csv_num(f, r->lat_us[k]);
		csv_int(f, r->conns_up);
		csv_int(f, r->conns_active);
		csv_int(f, r->ran ? (int64_t)r->fd_client : -1);
		csv_int(f, r->fd_server);
		csv_int(f, r->srv_emfile);
		csv_int(f, r->srv_enfile);
		csv_int(f, r->srv_fdset);
		csv_int(f, r->ran ? (int64_t)r->errors_client : -1);
		csv_int(f, r->ran ? (int64_t)r->errors_shed : -1);
		csv_int(f, r->errors_server);
		csv_int(f, r->resets_server);
		csv_int(f, r->ran ? (int64_t)r->bytes_sent : -1);
		csv_int(f, r->bytes_in_server);
		csv_int(f, r->rss_kb);
		csv_int(f, r->group_rss_kb);
		csv_int(f, r->group_pss_kb);
		csv_int(f, r->ctxsw_vol);
		csv_int(f, r->ctxsw_invol);
		fprintf(f, ",%d,%d", r->repeat, r->position);
		csv_num(f, r->probe_before_ns);
		csv_num(f, r->probe_after_ns);
		if (isnan(r->drift))
			fputs(",", f);
		else
			fprintf(f, ",%.6g", r->drift);
		fprintf(f, ",%d", r->drift_flagged);
		csv_num(f, r->sys_per_req_server);
		csv_num(f, r->sys_per_req_client);
		csv_num(f, r->wakeups_per_req_server);
		csv_num(f, r->ready_per_wakeup_server);
		csv_num(f, r->csw_vol_server);
		csv_num(f, r->csw_invol_server);
		csv_num(f, r->csw_vol_client);
		csv_num(f, r->csw_invol_client);
		fprintf(f, ",%s", r->sys_top_server);
		csv_str(f, r->failure);
		fprintf(f, ",%s.json\n", r->file);
	}
	return rep_commit(f, &buf, &len, false, dir, "summary.csv");
}

/* ---- --json ------------------------------------------------------------------------ */

int rep_print_json_array(FILE *f, const char *dir, const struct rep_row *rows, int n)
{
	int rc = 0, printed = 0;

	fputs("[\n", f);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX], buf[65536];
		size_t got;
		FILE *in;

		snprintf(path, sizeof path, "%s/%s.json", dir, rows[i].file);
		in = fopen(path, "re");
		if (!in) {
			rc = -1;
			continue;
		}
		if (printed++)
			fputs(",\n", f);
		/* Copy the file without its final newline, so commas sit right. */
		while ((got = fread(buf, 1, sizeof buf, in)) > 0) {
			int more = !feof(in);

			while (!more && got > 0 && (buf[got - 1] == '\n'))
				got--;
			fwrite(buf, 1, got, f);
		}
		fclose(in);
	}
	fputs("\n]\n", f);
	return fflush(f) == 0 ? rc : -1;
}
