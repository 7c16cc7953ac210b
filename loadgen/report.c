/*
 * report.c - what a run says: the human summary and the client side of the
 * evbench.run/1 schema (docs/results.md). evbench and loadgen both write
 * through these functions, so the key names cannot drift apart.
 */
#include "loadgen.h"

#include <string.h>

/* ---- JSON --------------------------------------------------------------------- */

void lg_json_load(struct json_writer *w, const struct lg_config *cfg)
{
	json_begin_object(w);
	json_kv_string(w, "host", cfg->host);
	json_kv_int(w, "port", cfg->port);
	json_kv_int(w, "conns", cfg->conns);
	json_kv_int(w, "threads", cfg->threads);
	json_kv_string(w, "loop", cfg->rate > 0 ? "open" : "closed");
	/* A run is bounded by time or by a request count: the other is null. */
	json_kv_double_or_null(w, "duration_s", cfg->requests ? -1 : cfg->duration_s);
	json_kv_int_or_null(w, "requests", cfg->requests ? (int64_t)cfg->requests : -1);
	json_kv_double(w, "warmup_s", cfg->warmup_s);
	json_kv_int(w, "size", cfg->size);
	json_kv_int(w, "pipeline", cfg->pipeline);
	json_kv_double(w, "rate", cfg->rate);
	json_kv_int(w, "active", cfg->active < 0 ? cfg->conns : cfg->active);
	json_kv_uint(w, "requests_per_conn", cfg->requests_per_conn);
	json_kv_double(w, "connect_rate", cfg->connect_rate);
	json_kv_double(w, "timeout_s", cfg->timeout_s);
	json_kv_string(w, "io", cfg->io == LG_IO_URING ? "uring" : cfg->io == LG_IO_EPOLL ? "epoll" : "auto");
	json_kv_string(w, "protocol", lg_protocol_name(cfg->protocol));
	json_key(w, "source_addrs");
	json_begin_array(w);
	for (int i = 0; i < cfg->n_source_addrs; i++)
		json_string(w, cfg->source_addrs[i]);
	json_end_array(w);
	json_end_object(w);
}

const struct lg_pct lg_pcts[LG_NPCTS] = {
	{ "p50", "p50", 50.0 }, { "p90", "p90", 90.0 }, { "p99", "p99", 99.0 },
	{ "p999", "p99.9", 99.9 }, { "p9999", "p99.99", 99.99 },
};

void lg_json_latency(struct json_writer *w, const struct hist *h)
{
	bool empty = !h || !h->counts || hist_count(h) == 0;
	json_begin_object(w);
	json_key(w, "min");
	empty ? json_null(w) : json_double(w, (double)hist_min(h) / 1e3);
	json_key(w, "mean");
	empty ? json_null(w) : json_double(w, hist_mean(h) / 1e3);
	for (int i = 0; i < LG_NPCTS; i++) {
		json_key(w, lg_pcts[i].key);
		empty ? json_null(w) : json_double(w, (double)hist_value_at_percentile(h, lg_pcts[i].p) / 1e3);
	}
	json_key(w, "max");
	empty ? json_null(w) : json_double(w, (double)hist_max(h) / 1e3);
	json_end_object(w);
}

void lg_json_result_members(struct json_writer *w, const struct lg_result *r)
{
	json_kv_double(w, "wall_s", r->wall_s);
	json_kv_double(w, "client_cpu_s", r->client_cpu_s);
	json_kv_double(w, "client_user_s", r->client_user_s);
	json_kv_double(w, "client_sys_s", r->client_sys_s);
	json_kv_uint(w, "requests", r->requests);
	json_kv_uint(w, "replies", r->replies);
	json_kv_uint(w, "bytes_sent", r->bytes_sent);
	json_kv_uint(w, "bytes_received", r->bytes_received);
	json_kv_double(w, "throughput_rps", r->throughput_rps);
	json_kv_string(w, "latency_basis", r->open_loop ? "intended_send" : "actual_send");
	json_key(w, "latency_us");
	lg_json_latency(w, &r->latency);
	json_key(w, "latency_uncorrected_us");
	if (r->open_loop)
		lg_json_latency(w, &r->latency_uncorrected);
	else
		json_null(w);
	json_key(w, "send_lag_us");
	if (r->open_loop)
		lg_json_latency(w, &r->send_lag);
	else
		json_null(w);
	json_key(w, "connect_latency_us");
	lg_json_latency(w, &r->connect_latency);

	json_key(w, "connections");
	json_begin_object(w);
	json_kv_int(w, "target", r->conns_target);
	json_kv_int(w, "up_at_measure", r->conns_up_at_measure);
	json_kv_int(w, "peak", r->conns_peak);
	json_kv_uint(w, "established", r->connects);
	json_kv_uint(w, "failed", r->connect_failures);
	json_kv_uint(w, "closed", r->closes);
	json_key(w, "by_source");
	json_begin_object(w);
	for (int s = 0; s < r->n_sources; s++)
		json_kv_uint(w, r->sources[s].addr[0] ? r->sources[s].addr : "auto",
			     r->sources[s].connects);
	json_end_object(w);
	json_end_object(w);

	json_key(w, "errors");
	json_begin_object(w);
	for (int p = 0; p < LG_NPHASES; p++) {
		bool any = false;
		for (int c = 0; c < LG_NCAUSES; c++)
			any |= r->errors[p][c] != 0;
		if (!any)
			continue;
		json_key(w, lg_phase_name((enum lg_phase)p));
		json_begin_object(w);
		for (int c = 0; c < LG_NCAUSES; c++)
			if (r->errors[p][c])
				json_kv_uint(w, lg_cause_name(c), r->errors[p][c]);
		json_end_object(w);
	}
	json_end_object(w);
	json_kv_uint(w, "errors_total", r->errors_total);
	json_kv_uint(w, "verify_mismatch", r->verify_mismatch);
	json_kv_uint(w, "closed_unserved", r->closed_unserved);
	json_kv_bool(w, "stopped", r->stopped);
}

void lg_json_cpu_per_req_client(struct json_writer *w, const struct lg_result *r)
{
	json_key(w, "client");
	if (r && r->replies)
		json_double(w, r->cpu_us_per_req);
	else
		json_null(w);
}

void lg_json_fd_limit_client(struct json_writer *w, const struct lg_result *r)
{
	json_key(w, "client");
	json_begin_object(w);
	json_kv_int_or_null(w, "emfile", r ? (int64_t)r->fd_emfile : -1);
	json_kv_int_or_null(w, "enfile", r ? (int64_t)r->fd_enfile : -1);
	json_kv_int_or_null(w, "eaddrnotavail", r ? (int64_t)r->fd_eaddrnotavail : -1);
	json_end_object(w);
}

void lg_json_result(struct json_writer *w, const struct lg_result *r)
{
	json_begin_object(w);
	lg_json_result_members(w, r);
	json_key(w, "cpu_us_per_req");
	json_begin_object(w);
	lg_json_cpu_per_req_client(w, r);
	json_end_object(w);
	json_key(w, "fd_limit");
	json_begin_object(w);
	lg_json_fd_limit_client(w, r);
	json_end_object(w);
	json_end_object(w);
}

/* ---- human summary -------------------------------------------------------------- */

static void latency_line(FILE *f, const char *label, const struct hist *h, const char *note)
{
	if (!hist_count(h)) {
		fprintf(f, "  %-11s no samples\n", label);
		return;
	}
	fprintf(f, "  %-11s min %.1f  mean %.1f", label, (double)hist_min(h) / 1e3,
		hist_mean(h) / 1e3);
	for (int i = 0; i < LG_NPCTS; i++)
		fprintf(f, "  %s %.1f", lg_pcts[i].label,
			(double)hist_value_at_percentile(h, lg_pcts[i].p) / 1e3);
	fprintf(f, "  max %.1f us%s\n", (double)hist_max(h) / 1e3, note);
}

void lg_print_summary(FILE *f, const struct lg_config *cfg, const struct lg_result *r)
{
	long active = cfg->active < 0 ? cfg->conns : cfg->active;
	fprintf(f, "loadgen: %s:%d, %ld conns (%ld active), %d thread%s, ", cfg->host, cfg->port,
		cfg->conns, active, cfg->threads, cfg->threads == 1 ? "" : "s");
	if (cfg->rate > 0)
		fprintf(f, "open loop at %.0f req/s", cfg->rate);
	else
		fprintf(f, "closed loop");
	fprintf(f, ", pipeline %d, %ld-byte requests", cfg->pipeline, cfg->size);
	if (cfg->io == LG_IO_URING)
		fprintf(f, ", io_uring");
	if (cfg->protocol != LG_PROTO_ROT13)
		fprintf(f, ", protocol %s", lg_protocol_name(cfg->protocol));
	if (cfg->requests_per_conn)
		fprintf(f, ", %llu per connection", (unsigned long long)cfg->requests_per_conn);
	fprintf(f, "\n");
	fprintf(f, "  measured    %.3f s%s: %llu replies verified (%.1f/s), %llu requests sent, "
		"%llu mismatched\n", r->wall_s, r->stopped ? " (stopped early)" : "",
		(unsigned long long)r->replies, r->throughput_rps, (unsigned long long)r->requests,
		(unsigned long long)r->verify_mismatch);
	if (cfg->rate > 0 && r->wall_s > 0 && r->throughput_rps < 0.95 * cfg->rate)
		fprintf(f, "  note        %.0f of the %.0f req/s asked for: the server (or --pipeline %d "
			"over %ld connections) could not keep up; the corrected latency shows the cost\n",
			r->throughput_rps, cfg->rate, cfg->pipeline, active);
	fprintf(f, "  bytes       %llu sent, %llu received\n",
		(unsigned long long)r->bytes_sent, (unsigned long long)r->bytes_received);
	if (r->open_loop) {
		latency_line(f, "latency", &r->latency, " (corrected: from intended send)");
		latency_line(f, "uncorrected", &r->latency_uncorrected, " (from actual send)");
		latency_line(f, "send lag", &r->send_lag, " (intended to actual send)");
	} else {
		latency_line(f, "latency", &r->latency, " (from send)");
	}
	latency_line(f, "connect", &r->connect_latency, "");
	fprintf(f, "  connections %ld up at measure start of %ld, %llu established, %llu failed, "
		"%llu closed\n", r->conns_up_at_measure, r->conns_target,
		(unsigned long long)r->connects, (unsigned long long)r->connect_failures,
		(unsigned long long)r->closes);
	if (r->n_sources > 1 || r->sources[0].addr[0]) {
		fprintf(f, "  sources    ");
		for (int s = 0; s < r->n_sources; s++)
			fprintf(f, " %s: %llu", r->sources[s].addr,
				(unsigned long long)r->sources[s].connects);
		fprintf(f, "\n");
	}
	fprintf(f, "  client cpu  %.3f s (user %.3f, sys %.3f)", r->client_cpu_s,
		r->client_user_s, r->client_sys_s);
	if (r->replies)
		fprintf(f, ", %.2f us per reply", r->cpu_us_per_req);
	fprintf(f, "\n");
	fprintf(f, "  fd limits   emfile %llu, enfile %llu, eaddrnotavail %llu\n",
		(unsigned long long)r->fd_emfile, (unsigned long long)r->fd_enfile,
		(unsigned long long)r->fd_eaddrnotavail);
	fprintf(f, "  errors     ");
	if (!r->errors_total)
		fprintf(f, " none");
	for (int p = 0; p < LG_NPHASES; p++)
		for (int c = 0; c < LG_NCAUSES; c++)
			if (r->errors[p][c])
				fprintf(f, " %s:%s=%llu", lg_phase_name((enum lg_phase)p),
					lg_cause_name(c), (unsigned long long)r->errors[p][c]);
	fprintf(f, "\n");
}
