/*
 * agentres.c - evbench.agent/1: write, read and merge agents' results; see
 * agentres.h. The format is described member by member in docs/many-hosts.md.
 *
 * Instants are written as integer nanoseconds (json_double keeps ten
 * significant digits, a whole second of a CLOCK_REALTIME value), a
 * histogram's exact sum (128 bits) as a decimal string, and every other
 * counter as the integer it is, so that nothing is rounded on the way.
 */
#include "agentres.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonr.h"
#include "schema.h"

const char *ar_role_name(enum ar_role role)
{
	return role == AR_ROLE_LATENCY ? "latency" : "load";
}

int ar_role_parse(const char *s)
{
	if (!strcmp(s, ar_role_name(AR_ROLE_LOAD)))
		return AR_ROLE_LOAD;
	if (!strcmp(s, ar_role_name(AR_ROLE_LATENCY)))
		return AR_ROLE_LATENCY;
	return -1;
}

int ar_share(long conns, double rate, uint64_t requests, int i, int n,
	     long *conns_i, double *rate_i, uint64_t *requests_i)
{
	long c;

	if (n < 1 || i < 0 || i >= n || conns < n)
		return -1;
	c = conns / n + (i < conns % n ? 1 : 0);
	*conns_i = c;
	*rate_i = rate * (double)c / (double)conns;
	if (!requests) {
		*requests_i = 0;
	} else {
		/* Each share's part rounded down, the rest to the last, so that
		 * the parts add up to requests exactly. */
		uint64_t before = 0;

		for (int k = 0; k < i; k++)
			before += requests * (uint64_t)(conns / n + (k < conns % n ? 1 : 0)) / (uint64_t)conns;
		*requests_i = i == n - 1 ? requests - before
					 : requests * (uint64_t)c / (uint64_t)conns;
		if (!*requests_i)
			return -1;
	}
	return 0;
}

double ar_connect_allowance_s(long conns)
{
	return 1.0 + 0.0005 * (double)conns;
}

/* ---- writing -------------------------------------------------------------------------- */

int64_t ar_ns(double s)
{
	return isfinite(s) ? (int64_t)llround(s * 1e9) : 0;
}

static void write_u128(struct json_writer *w, unsigned __int128 v)
{
	char buf[48], *p = buf + sizeof buf;

	*--p = '\0';
	do {
		*--p = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	json_string(w, p);
}

static void write_hist(struct json_writer *w, const char *key, const struct hist *h)
{
	json_key(w, key);
	json_begin_object(w);
	json_kv_uint(w, "total", h->total);
	json_kv_uint(w, "min", h->total ? h->min : 0);
	json_kv_uint(w, "max", h->total ? h->max : 0);
	json_key(w, "sum");
	write_u128(w, h->sum);
	json_kv_uint(w, "overflow", h->overflow);
	json_key(w, "buckets");
	json_begin_array(w);
	for (unsigned i = 0; i < HIST_NCOUNTS; i++)
		if (h->counts[i]) {
			json_begin_array(w);
			json_uint(w, i);
			json_uint(w, h->counts[i]);
			json_end_array(w);
		}
	json_end_array(w);
	json_end_object(w);
}

int ar_write(FILE *f, const struct ar_result *r)
{
	const struct lg_result *s = &r->res;
	struct json_writer w;

	json_begin_document(&w, f, 0, EVB_SCHEMA_AGENT);
	json_kv_string(&w, "name", r->name);
	json_kv_string(&w, "role", ar_role_name(r->role));
	json_kv_int(&w, "index", r->index);
	json_kv_int(&w, "shares", r->shares);
	json_kv_string(&w, "target", r->target);
	json_kv_int(&w, "conns", r->conns);
	json_kv_double(&w, "rate", r->rate);
	json_kv_int(&w, "start_ns", ar_ns(r->start_s));
	json_kv_int(&w, "end_ns", ar_ns(r->end_s));
	json_kv_double(&w, "clock_offset_s", r->offset_s);              /* null when NaN */
	json_kv_double(&w, "clock_offset_uncertainty_s", r->offset_unc_s);

	json_key(&w, "load");
	json_begin_object(&w);
	json_kv_string(&w, "host", r->cfg.host);
	json_kv_int(&w, "port", r->cfg.port);
	json_kv_int(&w, "conns", r->cfg.conns);
	json_kv_int(&w, "threads", r->cfg.threads);
	json_kv_int(&w, "pipeline", r->cfg.pipeline);
	json_kv_int(&w, "size", r->cfg.size);
	json_kv_double(&w, "rate", r->cfg.rate);
	json_kv_int(&w, "active", r->cfg.active);
	json_kv_uint(&w, "requests_per_conn", r->cfg.requests_per_conn);
	json_kv_string(&w, "io", r->cfg.io == LG_IO_URING ? "uring" : "epoll");
	json_end_object(&w);

	json_key(&w, "counters");
	json_begin_object(&w);
	json_kv_double(&w, "wall_s", s->wall_s);
	json_kv_double(&w, "client_cpu_s", s->client_cpu_s);
	json_kv_double(&w, "client_user_s", s->client_user_s);
	json_kv_double(&w, "client_sys_s", s->client_sys_s);
	json_kv_uint(&w, "requests", s->requests);
	json_kv_uint(&w, "replies", s->replies);
	json_kv_uint(&w, "bytes_sent", s->bytes_sent);
	json_kv_uint(&w, "bytes_received", s->bytes_received);
	json_kv_int(&w, "conns_target", s->conns_target);
	json_kv_int(&w, "conns_up_at_measure", s->conns_up_at_measure);
	json_kv_int(&w, "conns_peak", s->conns_peak);
	json_kv_uint(&w, "connects", s->connects);
	json_kv_uint(&w, "connect_failures", s->connect_failures);
	json_kv_uint(&w, "closes", s->closes);
	json_kv_uint(&w, "requests_all", s->requests_all);
	json_kv_uint(&w, "replies_all", s->replies_all);
	json_kv_uint(&w, "errors_total", s->errors_total);
	json_kv_uint(&w, "verify_mismatch", s->verify_mismatch);
	json_kv_uint(&w, "closed_unserved", s->closed_unserved);
	json_kv_uint(&w, "fd_emfile", s->fd_emfile);
	json_kv_uint(&w, "fd_enfile", s->fd_enfile);
	json_kv_uint(&w, "fd_eaddrnotavail", s->fd_eaddrnotavail);
	json_kv_bool(&w, "open_loop", s->open_loop);
	json_kv_bool(&w, "stopped", s->stopped);
	json_kv_double(&w, "measure_target_s", s->measure_target_s);
	json_end_object(&w);

	/* [phase, cause, count] for every non-zero cell: the numbers of
	 * loadgen.h's enums (a cause up to LG_ERRNO_MAX is the errno). */
	json_key(&w, "errors");
	json_begin_array(&w);
	for (int p = 0; p < LG_NPHASES; p++)
		for (int c = 0; c < LG_NCAUSES; c++)
			if (s->errors[p][c]) {
				json_begin_array(&w);
				json_int(&w, p);
				json_int(&w, c);
				json_uint(&w, s->errors[p][c]);
				json_end_array(&w);
			}
	json_end_array(&w);

	/* The layout the bucket indexes mean: a reader built with another
	 * refuses the file instead of misplacing every sample. */
	json_key(&w, "hist_layout");
	json_begin_object(&w);
	json_kv_int(&w, "sub_bits", HIST_SUB_BITS);
	json_kv_int(&w, "ncounts", HIST_NCOUNTS);
	json_end_object(&w);
	json_key(&w, "histograms");
	json_begin_object(&w);
	write_hist(&w, "latency", &s->latency);
	write_hist(&w, "latency_uncorrected", &s->latency_uncorrected);
	write_hist(&w, "connect_latency", &s->connect_latency);
	write_hist(&w, "send_lag", &s->send_lag);
	json_end_object(&w);
	json_end_object(&w);
	return json_finish(&w);
}

/* ---- reading -------------------------------------------------------------------------- */

struct rd {
	const struct jr_value *v;
	char  *err;
	size_t errlen;
	int    bad;   /* a member was missing or malformed; err says which (the first) */
};

static void rd_fail(struct rd *d, const char *what, const char *key)
{
	if (!d->bad++)
		snprintf(d->err, d->errlen, "%s '%s'", what, key);
}

static long long rd_int(struct rd *d, const struct jr_value *o, const char *key)
{
	long long x;

	if (jr_int(jr_get(o, key), &x) < 0) {
		rd_fail(d, "no integer member", key);
		return 0;
	}
	return x;
}

static uint64_t rd_uint(struct rd *d, const struct jr_value *o, const char *key)
{
	long long x = rd_int(d, o, key);

	if (x < 0) {
		rd_fail(d, "negative count", key);
		return 0;
	}
	return (uint64_t)x;
}

/* A number, or NaN for null (the "number or null" convention). */
static double rd_num(struct rd *d, const struct jr_value *o, const char *key)
{
	const struct jr_value *v = jr_get(o, key);
	double x;

	if (v && v->type == JR_NULL)
		return NAN;
	if (jr_number(v, &x) < 0) {
		rd_fail(d, "no number member", key);
		return NAN;
	}
	return x;
}

static bool rd_bool(struct rd *d, const struct jr_value *o, const char *key)
{
	const struct jr_value *v = jr_get(o, key);

	if (!v || v->type != JR_BOOL) {
		rd_fail(d, "no boolean member", key);
		return false;
	}
	return v->boolean;
}

static void rd_str(struct rd *d, const struct jr_value *o, const char *key, char *out, size_t cap)
{
	const char *s = jr_string(jr_get(o, key));

	if (!s) {
		rd_fail(d, "no string member", key);
		s = "";
	}
	snprintf(out, cap, "%s", s);
}

static void rd_hist(struct rd *d, const struct jr_value *hs, const char *key, struct hist *h)
{
	const struct jr_value *o = jr_get(hs, key), *b;
	const char *sum;
	uint64_t seen = 0;

	if (!o) {
		rd_fail(d, "no histogram", key);
		return;
	}
	h->total = rd_uint(d, o, "total");
	h->overflow = rd_uint(d, o, "overflow");
	if (h->total) {
		h->min = rd_uint(d, o, "min");
		h->max = rd_uint(d, o, "max");
	}
	sum = jr_string(jr_get(o, "sum"));
	h->sum = 0;
	for (const char *p = sum; p && *p; p++) {
		if (*p < '0' || *p > '9') {
			sum = NULL;
			break;
		}
		h->sum = h->sum * 10 + (unsigned)(*p - '0');
	}
	if (!sum || !*sum)
		rd_fail(d, "no decimal sum in histogram", key);
	b = jr_get(o, "buckets");
	if (!b || b->type != JR_ARRAY) {
		rd_fail(d, "no buckets in histogram", key);
		return;
	}
	for (size_t i = 0; i < b->len; i++) {
		const struct jr_value *e = b->items[i];
		long long idx, n;

		if (e->type != JR_ARRAY || e->len != 2 || jr_int(e->items[0], &idx) < 0 ||
		    jr_int(e->items[1], &n) < 0 || idx < 0 || idx >= HIST_NCOUNTS || n <= 0 ||
		    h->counts[idx]) {
			rd_fail(d, "a bucket that is not [index, count] in the layout, once, in", key);
			return;
		}
		h->counts[idx] = (uint64_t)n;
		seen += (uint64_t)n;
	}
	/* The buckets must account for every sample, or the file was cut or
	 * edited: a merge of it would be silently short. */
	if (seen != h->total)
		rd_fail(d, "buckets that do not add up to the total of", key);
}

int ar_parse(const char *text, size_t len, struct ar_result *r, char *err, size_t errlen)
{
	struct jr_error je;
	struct jr_value *v;
	const struct jr_value *c, *e, *hl, *hs;
	struct rd d = { .err = err, .errlen = errlen };
	struct lg_result *s = &r->res;
	char role[16];
	const char *schema;

	memset(r, 0, sizeof *r);
	if (lg_result_init(s) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!(v = jr_parse(text, len, &je))) {
		snprintf(err, errlen, "not JSON (line %d, column %d: %s)", je.line, je.column, je.msg);
		return -1;
	}
	d.v = v;
	schema = jr_string(jr_get(v, "schema"));
	if (!schema || strcmp(schema, EVB_SCHEMA_AGENT) != 0) {
		snprintf(err, errlen, "not an %s result (schema %s)", EVB_SCHEMA_AGENT,
			 schema ? schema : "missing");
		jr_free(v);
		return -1;
	}
	rd_str(&d, v, "name", r->name, sizeof r->name);
	rd_str(&d, v, "role", role, sizeof role);
	int rl = ar_role_parse(role);
	if (!d.bad && rl < 0)
		rd_fail(&d, "a role that is neither load nor latency:", role);
	r->role = rl == AR_ROLE_LATENCY ? AR_ROLE_LATENCY : AR_ROLE_LOAD;
	r->index = (int)rd_int(&d, v, "index");
	r->shares = (int)rd_int(&d, v, "shares");
	rd_str(&d, v, "target", r->target, sizeof r->target);
	r->conns = (long)rd_int(&d, v, "conns");
	r->rate = rd_num(&d, v, "rate");
	r->start_s = (double)rd_int(&d, v, "start_ns") / 1e9;
	r->end_s = (double)rd_int(&d, v, "end_ns") / 1e9;
	r->offset_s = rd_num(&d, v, "clock_offset_s");
	r->offset_unc_s = rd_num(&d, v, "clock_offset_uncertainty_s");

	c = jr_get(v, "load");
	lg_config_default(&r->cfg);
	rd_str(&d, c, "host", r->cfg.host, sizeof r->cfg.host);
	r->cfg.port = (int)rd_int(&d, c, "port");
	r->cfg.conns = (long)rd_int(&d, c, "conns");
	r->cfg.threads = (int)rd_int(&d, c, "threads");
	r->cfg.pipeline = (int)rd_int(&d, c, "pipeline");
	r->cfg.size = (long)rd_int(&d, c, "size");
	r->cfg.rate = rd_num(&d, c, "rate");
	r->cfg.active = (long)rd_int(&d, c, "active");
	r->cfg.requests_per_conn = rd_uint(&d, c, "requests_per_conn");
	rd_str(&d, c, "io", role, sizeof role);
	r->cfg.io = !strcmp(role, "uring") ? LG_IO_URING : LG_IO_EPOLL;

	c = jr_get(v, "counters");
	s->wall_s = rd_num(&d, c, "wall_s");
	s->client_cpu_s = rd_num(&d, c, "client_cpu_s");
	s->client_user_s = rd_num(&d, c, "client_user_s");
	s->client_sys_s = rd_num(&d, c, "client_sys_s");
	s->requests = rd_uint(&d, c, "requests");
	s->replies = rd_uint(&d, c, "replies");
	s->bytes_sent = rd_uint(&d, c, "bytes_sent");
	s->bytes_received = rd_uint(&d, c, "bytes_received");
	s->conns_target = (long)rd_int(&d, c, "conns_target");
	s->conns_up_at_measure = (long)rd_int(&d, c, "conns_up_at_measure");
	s->conns_peak = (long)rd_int(&d, c, "conns_peak");
	s->connects = rd_uint(&d, c, "connects");
	s->connect_failures = rd_uint(&d, c, "connect_failures");
	s->closes = rd_uint(&d, c, "closes");
	s->requests_all = rd_uint(&d, c, "requests_all");
	s->replies_all = rd_uint(&d, c, "replies_all");
	s->errors_total = rd_uint(&d, c, "errors_total");
	s->verify_mismatch = rd_uint(&d, c, "verify_mismatch");
	s->closed_unserved = rd_uint(&d, c, "closed_unserved");
	s->fd_emfile = rd_uint(&d, c, "fd_emfile");
	s->fd_enfile = rd_uint(&d, c, "fd_enfile");
	s->fd_eaddrnotavail = rd_uint(&d, c, "fd_eaddrnotavail");
	s->open_loop = rd_bool(&d, c, "open_loop");
	s->stopped = rd_bool(&d, c, "stopped");
	s->measure_target_s = rd_num(&d, c, "measure_target_s");
	s->throughput_rps = s->wall_s > 0 ? (double)s->replies / s->wall_s : 0;
	s->cpu_us_per_req = s->replies ? s->client_cpu_s * 1e6 / (double)s->replies : 0;

	e = jr_get(v, "errors");
	if (!e || e->type != JR_ARRAY)
		rd_fail(&d, "no array member", "errors");
	for (size_t i = 0; e && e->type == JR_ARRAY && i < e->len; i++) {
		const struct jr_value *t = e->items[i];
		long long p, cause, n;

		if (t->type != JR_ARRAY || t->len != 3 || jr_int(t->items[0], &p) < 0 ||
		    jr_int(t->items[1], &cause) < 0 || jr_int(t->items[2], &n) < 0 ||
		    p < 0 || p >= LG_NPHASES || cause < 0 || cause >= LG_NCAUSES || n < 0) {
			rd_fail(&d, "an error cell that is not [phase, cause, count] in", "errors");
			break;
		}
		s->errors[p][cause] += (uint64_t)n;
	}

	hl = jr_get(v, "hist_layout");
	if (!d.bad && (rd_int(&d, hl, "sub_bits") != HIST_SUB_BITS ||
		       rd_int(&d, hl, "ncounts") != HIST_NCOUNTS))
		rd_fail(&d, "a histogram layout other than this evbench's:", "hist_layout");
	hs = jr_get(v, "histograms");
	rd_hist(&d, hs, "latency", &s->latency);
	rd_hist(&d, hs, "latency_uncorrected", &s->latency_uncorrected);
	rd_hist(&d, hs, "connect_latency", &s->connect_latency);
	rd_hist(&d, hs, "send_lag", &s->send_lag);
	jr_free(v);
	if (d.bad) {
		ar_free(r);
		return -1;
	}
	return 0;
}

void ar_free(struct ar_result *r)
{
	lg_result_free(&r->res);
}

/* ---- merging -------------------------------------------------------------------------- */

/* Adds src into dst: every count and CPU figure summed, every histogram
 * added bucket by bucket. The peak of connections becomes the sum of the
 * agents' peaks, an upper bound of the peak of the sum (the agents' peaks
 * need not coincide); docs/many-hosts.md says so. */
static void result_add(struct lg_result *dst, const struct lg_result *src)
{
	dst->client_cpu_s += src->client_cpu_s;
	dst->client_user_s += src->client_user_s;
	dst->client_sys_s += src->client_sys_s;
	dst->requests += src->requests;
	dst->replies += src->replies;
	dst->bytes_sent += src->bytes_sent;
	dst->bytes_received += src->bytes_received;
	dst->throughput_rps += src->throughput_rps;
	dst->conns_target += src->conns_target;
	dst->conns_up_at_measure += src->conns_up_at_measure;
	dst->conns_peak += src->conns_peak;
	dst->connects += src->connects;
	dst->connect_failures += src->connect_failures;
	dst->closes += src->closes;
	dst->requests_all += src->requests_all;
	dst->replies_all += src->replies_all;
	for (int p = 0; p < LG_NPHASES; p++)
		for (int c = 0; c < LG_NCAUSES; c++)
			dst->errors[p][c] += src->errors[p][c];
	dst->errors_total += src->errors_total;
	dst->verify_mismatch += src->verify_mismatch;
	dst->closed_unserved += src->closed_unserved;
	dst->fd_emfile += src->fd_emfile;
	dst->fd_enfile += src->fd_enfile;
	dst->fd_eaddrnotavail += src->fd_eaddrnotavail;
	dst->open_loop |= src->open_loop;
	dst->stopped |= src->stopped;
	if (src->measure_target_s > dst->measure_target_s)
		dst->measure_target_s = src->measure_target_s;
	hist_add(&dst->latency, &src->latency);
	hist_add(&dst->latency_uncorrected, &src->latency_uncorrected);
	hist_add(&dst->connect_latency, &src->connect_latency);
	hist_add(&dst->send_lag, &src->send_lag);
	dst->cpu_us_per_req = dst->replies ? dst->client_cpu_s * 1e6 / (double)dst->replies : 0;
}

/* The k-th share's configuration into the whole's: the first sets the
 * options every share has alike, the others add their connections, threads
 * and rate. */
static void cfg_add(struct lg_config *dst, const struct lg_config *src, int k)
{
	if (!k) {
		*dst = *src;
		return;
	}
	dst->active = dst->active < 0 || src->active < 0 ? -1 : dst->active + src->active;
	dst->conns += src->conns;
	dst->threads += src->threads;
	dst->rate += src->rate;
}

int ar_merge(const struct ar_result *rs, int n, struct ar_merged *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	if (lg_result_init(&m->load) < 0 || lg_result_init(&m->latency) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->clock_corrected = true;
	for (int i = 0; i < n; i++)
		if (rs[i].role == AR_ROLE_LOAD && !isfinite(rs[i].offset_s))
			m->clock_corrected = false;
	for (int i = 0; i < n; i++) {
		const struct ar_result *r = &rs[i];
		/* The agent's phase in the coordinator's clock: its own reading
		 * less its offset, when every offset is known. */
		double off = m->clock_corrected && isfinite(r->offset_s) ? r->offset_s : 0;
		double s = r->start_s - off, e = r->end_s - off;

		if (r->role == AR_ROLE_LATENCY) {
			result_add(&m->latency, &r->res);
			cfg_add(&m->latency_cfg, &r->cfg, m->nlatency++);
			continue;
		}
		result_add(&m->load, &r->res);
		cfg_add(&m->load_cfg, &r->cfg, m->nload);
		if (!m->nload++ || s > m->win_start_s)
			m->win_start_s = s;
		if (m->nload == 1 || e < m->win_end_s)
			m->win_end_s = e;
		if (m->clock_corrected && r->offset_unc_s > m->max_offset_unc_s)
			m->max_offset_unc_s = r->offset_unc_s;
	}
	if (!m->nload) {
		snprintf(err, errlen, "no load agent among the %d results", n);
		return -1;
	}
	if (m->win_end_s <= m->win_start_s) {
		snprintf(err, errlen, "the load agents' measure phases do not overlap (%s): "
			 "latest start %.3f s after the earliest end",
			 m->clock_corrected ? "in the coordinator's clock" : "in their own clocks",
			 m->win_start_s - m->win_end_s);
		return -1;
	}
	m->load.wall_s = m->win_end_s - m->win_start_s;
	m->latency.wall_s = m->load.wall_s;
	return 0;
}

void ar_merged_free(struct ar_merged *m)
{
	lg_result_free(&m->load);
	lg_result_free(&m->latency);
}
