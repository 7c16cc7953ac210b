/*
 * cli.c - evbench's command line parsed: the options of the sweep, of
 * `evbench ab` and of `evbench gate` read with the tables cli_options.c makes,
 * the design table as --list shows it, and the options resolved once
 * (servers to their rows, --conns to made loads). See cli.h.
 */
#include "cli.h"
#include "cli_int.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ab.h"
#include "designs.h"
#include "gate.h"
#include "json.h"
#include "report.h"
#include "schema.h"

/* ---- dying and warning ------------------------------------------------------------ */

/* Every way evbench gives up: one line on stderr, then the exit status. */
static void vdie(int status, const char *tail, const char *fmt, va_list ap)
	__attribute__((noreturn));
static void vdie(int status, const char *tail, const char *fmt, va_list ap)
{
	fputs("evbench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(tail, stderr);
	exit(status);
}

/* Bad input that the usage would explain: exit 2, pointing at --help. */
void cli_die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(2, " (evbench --help)\n", fmt, ap);
}

/* Bad input whose message says all: no pointer to --help. */
void cli_die_bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(2, "\n", fmt, ap);
}

/* A failure of the machine, not of the input: exit 1. */
void cli_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(1, "\n", fmt, ap);
}

/* ---- options ------------------------------------------------------------------------ */


/* A server by name; NAME@LABEL is NAME's binary entered once more under
 * another name, so that an A/A comparison can run one binary against
 * itself (docs/results.md, "Comparisons"). */
static void add_server(struct opts *o, const char *name, bool from_all)
{
	struct orch_server s;
	const char *at = strchr(name, '@');
	char base[sizeof s.name];

	if (at && (at == name || !at[1] || strlen(name) >= sizeof s.name ||
		   strspn(at + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		   strlen(at + 1)))
		cli_die_bad("--server: '%s': a label after '@' is letters, digits, '_' or '-', "
			"and the whole name under %zu characters", name, sizeof s.name);
	snprintf(base, sizeof base, "%.*s", at ? (int)(at - name) : (int)strlen(name), name);
	if (orch_resolve(base, &s) < 0)
		cli_die_bad("unknown server '%s' (evbench --list shows them)", base);
	if (at) {
		size_t blen = strlen(s.name);

		if (blen + strlen(at) >= sizeof s.name)
			cli_die_bad("--server: '%s': name too long", name);
		memcpy(s.name + blen, at, strlen(at) + 1);
	}
	for (int i = 0; i < o->nservers; i++)
		if (strcmp(o->servers[i].name, s.name) == 0)
			return;
	if (!s.built) {
		if (!from_all) {
			fprintf(stderr, "evbench: %s is not built (run make)\n", s.path);
			exit(2);
		}
		fprintf(stderr, "evbench: warning: skipping %s: %s is not built\n", s.name, s.path);
		return;
	}
	if (o->nservers == CLI_MAX_SERVERS)
		cli_die_usage("--server: more than %d servers", CLI_MAX_SERVERS);
	o->servers[o->nservers++] = s;
}

/* Copies the comma-separated list of option opt into buf, or dies with one
 * line when it is too long or has an empty item; what names the items. */
static void copy_list(char *buf, size_t cap, const char *opt, const char *list, const char *what)
{
	if (strlen(list) >= cap)
		cli_die_usage("%s: list too long", opt);
	if (!list[0] || list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,"))
		cli_die_usage("%s: expected a comma-separated list of %s, got '%s'", opt, what, list);
	strcpy(buf, list);
}

/* A server the user names as NAME=SPEC: a command or an address (orch.h). */
static void add_external(struct opts *o, const char *item)
{
	const char *eq = strchr(item, '=');
	char name[64], err[512];
	struct orch_server s;

	snprintf(name, sizeof name, "%.*s", (int)(eq - item), item);
	if (orch_parse_external(name, eq + 1, &s, err, sizeof err) < 0)
		cli_die_bad("--server: %s", err);
	for (int i = 0; i < o->nservers; i++)
		if (strcmp(o->servers[i].name, s.name) == 0)
			cli_die_bad("--server: '%s' is named twice", s.name);
	if (o->nservers == CLI_MAX_SERVERS)
		cli_die_usage("--server: more than %d servers", CLI_MAX_SERVERS);
	o->servers[o->nservers++] = s;
}

/* One --server value: a comma-separated list of names, whose last item may
 * be NAME=SPEC, a user's server; everything after its '=' is its command
 * or address, commas included (a command may well hold commas). */
static void parse_servers(struct opts *o, const char *list)
{
	char buf[512], *save = NULL, *tok;
	const char *eq = strchr(list, '='), *ext = NULL;

	if (eq) {
		/* The item holding '=' starts after the last comma before it. */
		ext = eq;
		while (ext > list && ext[-1] != ',')
			ext--;
		if (ext == list) {
			add_external(o, list);
			return;
		}
		if ((size_t)(ext - list) >= sizeof buf)
			cli_die_usage("--server: list too long");
		snprintf(buf, sizeof buf, "%.*s", (int)(ext - list - 1), list);
		list = buf;
	}
	copy_list(buf, sizeof buf, "--server", list, "servers");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "all") == 0)
			for (int i = 0; i < evb_ndesigns; i++) {
				if (evb_designs[i].props & DS_ALL)
					add_server(o, evb_designs[i].name, true);
			}
		else
			add_server(o, tok, false);
	}
	if (ext)
		add_external(o, ext);
}

/* The loads of the sweep, one per count of the --conns list, each the load
 * options with its count, made and checked once by the load generator
 * (lg_config_make), so that a bad combination fails before any server
 * starts. Called once every load option is parsed. */
static void make_loads(struct opts *o, const char *list)
{
	char buf[512], *save = NULL, *tok, err[512];

	copy_list(buf, sizeof buf, "--conns", list, "integers >= 1");
	o->nconns = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct lg_config c = o->load;

		if (o->nconns == CLI_MAX_CONNS)
			cli_die_usage("--conns: more than %d counts", CLI_MAX_CONNS);
		/* The load generator's own parser, so that the limits are its. The
		 * server's port is known once it is up (trial_run sets it): 1 stands
		 * for it here. */
		if (lg_parse_option(&c, "conns", tok, err, sizeof err) < 0 ||
		    (c.port = 1, lg_config_make(&c, &o->loads[o->nconns], err, sizeof err) < 0)) {
			fprintf(stderr, "evbench: %s\n", err);
			exit(2);
		}
		o->nconns++;
	}
}

/* val as a number, the whole of it: strtod()'s grammar with nothing after
 * it but suffix, which may be left out (0 for none). NaN when it is not a
 * number or does not fit, so that each option's range check, written as
 * !(in range), refuses it with the option's own message. */
static double number(const char *val, char suffix)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(val, &end);
	if (suffix && *end == suffix)
		end++;
	return errno || end == val || *end ? NAN : v;
}

static long parse_long(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		cli_die_usage("%s: expected an integer %ld..%ld, got '%s'", opt, lo, hi, s);
	return v;
}

static void add_srv_arg(struct opts *o, const char *a)
{
	if (o->nsrv_args == CLI_MAX_SRV_ARGS)
		cli_die_usage("--server-args: more than %d arguments", CLI_MAX_SRV_ARGS);
	o->srv_args[o->nsrv_args++] = strdup(a);
	o->srv_args[o->nsrv_args] = NULL;
}

/* The design table (designs.h) with where each binary is: a table, or with
 * --json the object docs/designs.md describes. */
static void list_servers(bool json)
{
	static const struct { unsigned prop; const char *name; } props[] = {
		{ DS_FD_SETSIZE, "fd_setsize_bound" },
		{ DS_PROC_CONN, "process_per_connection" },
		{ DS_THREAD_CONN, "thread_per_connection" },
		{ DS_MULTICORE, "multicore" },
	};
	struct json_writer w;
	const char *sep = "";

	if (json) {
		json_begin_document(&w, stdout, 2, EVB_SCHEMA_DESIGNS);
		json_key(&w, "designs");
		json_begin_array(&w);
	} else {
		printf("%-14s %-10s %s\n", "server", "built", "binary");
	}
	for (int i = 0; i < evb_ndesigns; i++) {
		const struct evb_design *d = &evb_designs[i];
		struct orch_server s;

		orch_resolve(d->name, &s);
		if (!json) {
			printf("%-14s %-10s %s%s%s\n", d->name, s.built ? "yes" : "no", s.path,
			       d->backend ? " --backend " : "", d->backend ? d->backend : "");
			if (d->alias)
				printf("%-14s %-10s %s  (= %s)\n", d->alias, s.built ? "yes" : "no",
				       s.path, d->name);
			continue;
		}
		json_begin_object(&w);
		json_kv_string(&w, "name", d->name);
		json_kv_string(&w, "design", d->binary);
		json_kv_string(&w, "backend", d->backend);
		json_key(&w, "aliases");
		json_begin_array(&w);
		if (d->alias)
			json_string(&w, d->alias);
		json_end_array(&w);
		json_kv_bool(&w, "in_all", d->props & DS_ALL);
		json_key(&w, "properties");
		json_begin_array(&w);
		for (size_t k = 0; k < sizeof props / sizeof *props; k++)
			if (d->props & props[k].prop)
				json_string(&w, props[k].name);
		json_end_array(&w);
		json_kv_string(&w, "color", d->color);
		json_kv_string(&w, "binary", s.path);
		json_kv_bool(&w, "built", s.built);
		json_end_object(&w);
	}
	if (json) {
		json_end_array(&w);
		json_end_object(&w);
		if (json_finish(&w) < 0)
			cli_die("stdout: %s", strerror(errno));
		return;
	}
	printf("all = ");
	for (int i = 0; i < evb_ndesigns; i++)
		if (evb_designs[i].props & DS_ALL) {
			printf("%s%s", sep, evb_designs[i].name);
			sep = ", ";
		}
	printf("\n");
}

/* evbench ab: every server of the list twice, as NAME@baseline and
 * NAME@current, each the binary of its own build (DIR/bin/rot13-<design>). */
static void ab_servers(struct opts *o, const char *list)
{
	char buf[512], *save = NULL, *tok;

	if (strlen(list) >= sizeof buf || !list[0] || list[0] == ',' ||
	    list[strlen(list) - 1] == ',' || strstr(list, ",,"))
		cli_die_usage("--server: expected a comma-separated list of servers, got '%s'", list);
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool all = !strcmp(tok, "all");

		for (int a = 0; all ? a < evb_ndesigns : a < 1; a++) {
			const char *name = all ? evb_designs[a].name : tok;
			const char *side[2] = { "baseline", "current" };
			const char *dir[2] = { o->baseline, o->current };
			struct orch_server s, two[2];
			bool missing = false, dup = false;

			if (all && !(evb_designs[a].props & DS_ALL))
				continue;
			if (strchr(name, '@') || orch_resolve(name, &s) < 0)
				cli_die_bad("unknown server '%s' (evbench --list shows them)", name);
			for (int i = 0; i < o->nservers; i++)
				dup |= !strncmp(o->servers[i].name, s.name, strlen(s.name)) &&
				       o->servers[i].name[strlen(s.name)] == '@';
			if (dup)
				continue;
			for (int k = 0; k < 2; k++) {
				const char *bin = strrchr(s.path, '/') ? strrchr(s.path, '/') + 1 : s.path;

				two[k] = s;
				snprintf(two[k].name, sizeof two[k].name, "%s@%s", s.name, side[k]);
				if (snprintf(two[k].path, sizeof two[k].path, "%s/bin/%s", dir[k], bin) >=
				    (int)sizeof two[k].path)
					cli_die_bad("ab: --%s: path too long", side[k]);
				two[k].built = access(two[k].path, X_OK) == 0;
				if (!two[k].built && !all)
					cli_die_bad("ab: %s: no executable %s (build that tree with make first)",
						side[k], two[k].path);
				missing |= !two[k].built;
			}
			if (missing) {
				fprintf(stderr, "evbench: warning: skipping %s: not built in both builds\n",
					s.name);
				continue;
			}
			if (o->nservers + 2 > CLI_MAX_SERVERS)
				cli_die_usage("--server: more than %d servers", CLI_MAX_SERVERS / 2);
			o->servers[o->nservers++] = two[0];
			o->servers[o->nservers++] = two[1];
		}
	}
	if (o->nservers == 0)
		cli_die_usage("--server %s: none of these servers is built in both builds", list);
}

/* evbench ab on two commands (a value with {port}): the user's server as
 * NAME@baseline and NAME@current, NAME being --server's or "yours". */
static void ab_commands(struct opts *o, const char *name)
{
	const char *side[2] = { "baseline", "current" };
	const char *cmd[2] = { o->baseline, o->current };

	if (!name)
		name = "yours";
	for (int k = 0; k < 2; k++) {
		char err[512], label[64];
		struct orch_server s;

		if (!strstr(cmd[k], "{port}"))
			cli_die_bad("ab: --%s '%s': with a command on the other side this must be a "
				    "command too, with {port}", side[k], cmd[k]);
		if (orch_parse_external(name, cmd[k], &s, err, sizeof err) < 0)
			cli_die_bad("ab: --%s: %s", side[k], err);
		if (snprintf(label, sizeof label, "%s@%s", name, side[k]) >= (int)sizeof s.name)
			cli_die_bad("ab: --server '%s': name too long", name);
		memcpy(s.name, label, strlen(label) + 1);
		o->servers[o->nservers++] = s;
	}
}

/* The reference of the comparisons: the named server, which must be in the
 * sweep; by default the design table's reference (DS_REFERENCE) when it
 * is, else the first server. */
static void pick_reference(struct opts *o, const char *name)
{
	struct orch_server s;

	o->reference = o->servers[0].name;
	for (int i = 0; !name && i < o->nservers; i++)
		if ((o->servers[i].d->props & DS_REFERENCE) &&
		    !strcmp(o->servers[i].name, o->servers[i].d->name))   /* not NAME@LABEL */
			o->reference = o->servers[i].name;
	if (!name)
		return;
	for (int i = 0; i < o->nservers; i++)
		if (!strcmp(o->servers[i].name, name)) {
			o->reference = o->servers[i].name;
			return;
		}
	if (orch_resolve(name, &s) < 0)
		cli_die_bad("--reference: unknown server '%s' (evbench --list shows them)", name);
	for (int i = 0; i < o->nservers; i++)
		if (!strcmp(o->servers[i].name, s.name)) {
			o->reference = o->servers[i].name;
			return;
		}
	cli_die_bad("--reference %s: not among the servers of this sweep (--server)", name);
}

/* A percentage as --max-regression takes it: "10" or "10%". */
static double parse_pct(const char *opt, const char *val)
{
	double v = number(val, '%');

	if (!(v >= 0) || v > 1000)
		cli_die_usage("%s: expected a percentage from 0 to 1000, got '%s'", opt, val);
	return v / 100;
}

/* The options of the rule that evbench ab and evbench gate judge by, the one
 * check of each; false for any other option. */
static bool rule_option(struct cmp_rule *rule, int id, const char *val)
{
	switch (id) {
	case OPT_MAX_REGRESSION:
		rule->max_regression = parse_pct("--max-regression", val);
		return true;
	case OPT_ALPHA:
		rule->alpha = number(val, 0);
		if (!(rule->alpha > 0) || !(rule->alpha < 0.5))
			cli_die_usage("--alpha: expected a level between 0 and 0.5, got '%s'", val);
		return true;
	case OPT_METRICS:
		if (cmp_parse_metrics(val, rule->gated) < 0)
			cli_die_usage("--metrics: expected a comma-separated list of cpu, throughput and "
				      "p99, got '%s'", val);
		return true;
	case OPT_MIN_REPEATS:
		rule->min_rounds = (int)parse_long("--min-repeats", val, 2, 1000000);
		return true;
	}
	return false;
}

/* The options of `evbench ab` alone; false for any other option. */
static bool ab_option(struct opts *o, int id, const char *val)
{
	switch (id) {
	case OPT_BASELINE:
		o->baseline = val;
		return true;
	case OPT_CURRENT:
		o->current = val;
		return true;
	case OPT_ROUNDS:
		o->rounds_auto = !strcmp(val, "auto");
		o->repeat = o->rounds_auto ? AB_MAX_ROUNDS :
			(int)parse_long("--rounds", val, 3, AB_MAX_ROUNDS * 20);
		return true;
	case OPT_BUDGET:
		o->budget_s = number(val, 0);
		if (!(o->budget_s > 0) || o->budget_s > 86400)
			cli_die_usage("--budget: expected seconds, more than 0, got '%s'", val);
		return true;
	}
	return false;
}

/* The options' values before the command line: evbench's defaults, and the
 * load generator's but for the phases, which are evbench's. */
static void default_opts(struct opts *o, bool ab)
{
	memset(o, 0, sizeof *o);
	o->mech = MECH_AUTO;
	o->ab = ab;
	o->repeat = ab ? AB_ROUNDS : 1;
	o->budget_s = AB_BUDGET_S;
	o->ready_timeout_s = 10;
	o->rule = cmp_rule_default();
	o->out = "results";
	lg_config_default(&o->load);
	o->load.duration_s = DEFAULT_DURATION_S;
	o->load.warmup_s = DEFAULT_WARMUP_S;
}

/* --mechanism auto|on|off. */
static int parse_mechanism(const char *val)
{
	if (!strcmp(val, "on"))
		return MECH_ON;
	if (!strcmp(val, "off"))
		return MECH_OFF;
	if (!strcmp(val, "auto"))
		return MECH_AUTO;
	cli_die_usage("--mechanism: expected auto, on or off, got '%s'", val);
}

/* --order interleaved|sequential. */
static enum cmp_order parse_order(const char *val)
{
	if (!strcmp(val, "interleaved"))
		return CMP_INTERLEAVED;
	if (!strcmp(val, "sequential"))
		return CMP_SEQUENTIAL;
	cli_die_usage("--order: expected interleaved or sequential, got '%s'", val);
}

/* --seed N. */
static uint64_t parse_seed(const char *val)
{
	char *end;
	uint64_t seed;

	errno = 0;
	seed = strtoull(val, &end, 10);
	if (errno || end == val || *end || val[0] == '-')
		cli_die_usage("--seed: expected an integer 0..%llu, got '%s'",
			  (unsigned long long)UINT64_MAX, val);
	return seed;
}

/* What the options name, resolved once all are read: the servers (each
 * twice in ab mode) and the reference, the seed, the loads. */
static void resolve_opts(struct opts *o, const char *const *servers, int nservers,
			 bool explicit_server, const char *conns, const char *reference, bool seeded)
{
	if (o->ab) {
		if (!o->baseline || !o->current)
			cli_die_usage("ab: needs --baseline DIR and --current DIR");
		if (nservers > 1)
			cli_die_usage("ab: give one --server list");
		if (strstr(o->baseline, "{port}") || strstr(o->current, "{port}"))
			ab_commands(o, explicit_server ? servers[0] : NULL);
		else
			ab_servers(o, servers[0]);
		if (o->rounds_auto)
			o->rule.looks = ab_looks();
		if (o->rounds_auto && o->order == CMP_SEQUENTIAL)
			cli_die_usage("ab: --rounds auto needs the interleaved order (a sequential sweep "
				  "completes no round before its end)");
	} else {
		o->nservers = 0;
		for (int i = 0; i < nservers; i++)
			parse_servers(o, servers[i]);
		if (o->nservers == 0)
			cli_die_usage("--server: none of these servers is built (run make)");
		pick_reference(o, reference);
	}
	/* The built-in servers speak the protocol the load generator checks
	 * (--protocol, a load option): echo is their --echo (docs/protocol.md). */
	if (o->load.protocol == LG_PROTO_ECHO)
		add_srv_arg(o, "--echo");
	if (!seeded && getrandom(&o->seed, sizeof o->seed, 0) != sizeof o->seed)
		o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	make_loads(o, conns);
}

/* The options of a run that only set a field of it, each checked here;
 * false for any other option. */
static bool run_option(struct opts *o, int id, const char *val)
{
	char *copy, *save = NULL;

	switch (id) {
	case OPT_JSON:
		o->json = true;
		return true;
	case OPT_QUIET:
		o->quiet = true;
		return true;
	case OPT_PLOT:
		o->plot = true;
		return true;
	case OPT_SERVER_NOFILE:
		o->server_nofile = parse_long("--server-nofile", val, 16, 1L << 20);
		return true;
	case OPT_READY_TIMEOUT:
		o->ready_timeout_s = number(val, 0);
		if (!(o->ready_timeout_s >= 0.1) || o->ready_timeout_s > 3600)
			cli_die_usage("--ready-timeout: expected seconds from 0.1 to 3600, got '%s'", val);
		return true;
	case OPT_MECHANISM:
		o->mech = parse_mechanism(val);
		return true;
	case OPT_REPEAT:
		o->repeat = (int)parse_long("--repeat", val, 1, 1000);
		return true;
	case OPT_ORDER:
		o->order = parse_order(val);
		return true;
	case OPT_OUT:
		if (!val[0])
			cli_die_usage("--out: expected a directory");
		o->out = val;
		return true;
	case OPT_SERVER_ARGS:
		copy = strdup(val);
		for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
			add_srv_arg(o, t);
		free(copy);
		return true;
	case OPT_WORK_US:
		parse_long("--work-us", val, 0, 1000000);
		add_srv_arg(o, "--work-us");
		add_srv_arg(o, val);
		return true;
	}
	return false;
}

/* Agents elsewhere reach the servers at --agent-host, where the servers
 * then listen; local agents on loopback. */
static void aim_agents(struct opts *o)
{
	char err[512];

	if (agents_check(o->agents, err, sizeof err) < 0)
		cli_die_usage("%s", err);
	if (!o->agents->target[0])
		snprintf(o->agents->target, sizeof o->agents->target, "127.0.0.1");
	add_srv_arg(o, "--addr");
	add_srv_arg(o, o->agents->target);
	snprintf(o->load.host, sizeof o->load.host, "%s", o->agents->target);
}

void cli_parse(struct opts *o, int argc, char **argv, bool ab)
{
	const char *servers_given[CLI_MAX_SERVERS], *conns = "100", *reference = NULL;
	bool seeded = false, list = false, explicit_server;
	int nservers_given = 0, conns_given = 0;
	enum cli_cmd cmd = ab ? CLI_AB : CLI_SWEEP;
	char err[512];
	struct option opts[MAX_OPTS];
	int ch, idx = 0;

	default_opts(o, ab);
	opterr = 0;
	if (cli_getopt(opts, MAX_OPTS, cmd) < 0)
		cli_die("%d options are more than MAX_OPTS (bench/cli/cli.c)", cli_noptions + lg_noptions);
	while ((ch = getopt_long(argc, argv, "+:", opts, &idx)) != -1) {
		const char *val = optarg;

		if (rule_option(&o->rule, ch, val) || ab_option(o, ch, val) || run_option(o, ch, val))
			continue;
		switch (ch) {
		case OPT_HELP:
			cli__print_help();
			exit(0);
		case OPT_VERSION:
			printf("evbench %s\n", EVBENCH_VERSION);
			exit(0);
		case OPT_LIST:
			list = true;
			break;
		case OPT_SERVER:
			/* Each --server adds to the sweep (a user's command may
			 * hold commas, so it may need a --server of its own). */
			if (nservers_given == CLI_MAX_SERVERS)
				cli_die_usage("--server: more than %d servers", CLI_MAX_SERVERS);
			servers_given[nservers_given++] = val;
			break;
		case OPT_CONNS:
			if (conns_given++)
				cli_die_usage("--conns given twice: give one comma-separated list");
			conns = val;
			break;
		case OPT_AGENTS:
			if (agents_option(&o->agents, opts[idx].name, val, err, sizeof err) < 0)
				cli_die_usage("%s", err);
			break;
		case OPT_SEED:
			o->seed = parse_seed(val);
			seeded = true;
			break;
		case OPT_REFERENCE:
			reference = val;
			break;
		case OPT_HOST_PORT:
			cli_die_usage("--%s: evbench starts its servers on 127.0.0.1 and port 0 itself",
				  opts[idx].name);
		case '?':
		case ':':
			cli__option_error(cmd, ch, argv[optind - 1], optopt);
		default:
			if (lg_parse_option(&o->load, lg_options[ch - OPT_LOAD].name, val, err,
					    sizeof err) < 0) {
				fprintf(stderr, "evbench: %s\n", err);
				exit(2);
			}
		}
	}
	if (optind < argc)
		cli_die_usage("unexpected argument '%s'", argv[optind]);
	if (list) {
		list_servers(o->json);
		exit(0);
	}
	if (o->agents)
		aim_agents(o);
	explicit_server = nservers_given > 0;
	if (nservers_given == 0)
		servers_given[nservers_given++] = evb_design_reference()->name;
	resolve_opts(o, servers_given, nservers_given, explicit_server, conns, reference, seeded);
}

void cli_parse_gate(struct gate_opts *g, int argc, char **argv)
{
	struct option opts[MAX_OPTS];
	const char *pos[2];
	int npos = 0, ch, idx = 0;

	*g = (struct gate_opts){ .rule = cmp_rule_default() };
	opterr = 0;
	if (cli_getopt(opts, MAX_OPTS, CLI_GATE) < 0)
		cli_die("%d options are more than MAX_OPTS (bench/cli/cli.c)", cli_noptions);
	/* "-": BASELINE, CURRENT and DIR may come before the options or after. */
	while ((ch = getopt_long(argc, argv, "-:", opts, &idx)) != -1) {
		const char *val = optarg;

		if (rule_option(&g->rule, ch, val)) {
			g->max_given |= ch == OPT_MAX_REGRESSION;
			g->metrics_given |= ch == OPT_METRICS;
			continue;
		}
		switch (ch) {
		case 1:
			if (npos == 2)
				cli_die_usage("gate: unexpected argument '%s'", val);
			pos[npos++] = val;
			break;
		case OPT_HELP:
			cli__print_gate_help();
			exit(0);
		case OPT_JSON:
			g->json = true;
			break;
		case OPT_NORMALIZE_BY: {
			/* An alias names its row, as in the results (designs.h). */
			const struct evb_design *d = evb_design_find(val);

			if (!val[0])
				cli_die_usage("--normalize-by: expected a server name");
			g->normalize_by = d ? d->name : val;
			break;
		}
		default:
			cli__option_error(CLI_GATE, ch, argv[optind - 1], optopt);
		}
	}
	for (; optind < argc; optind++) {   /* what follows "--" */
		if (npos == 2)
			cli_die_usage("gate: unexpected argument '%s'", argv[optind]);
		pos[npos++] = argv[optind];
	}
	if (npos == 1) {
		/* One directory: paired data written by `evbench ab`. */
		if (g->normalize_by)
			cli_die_usage("gate: --normalize-by compares two unpaired directories; a paired "
				      "directory already divides by the baseline");
		g->base = pos[0];
		return;
	}
	if (g->metrics_given)
		cli_die_usage("gate: --metrics applies to a paired directory (evbench ab)");
	if (npos != 2)
		cli_die_usage("gate: needs BASELINE and CURRENT, or one directory written by evbench ab");
	g->base = pos[0];
	g->cur = pos[1];
}

/* --share I/N: share I (from 0) of N. Returns 0, or -1 when it is not. */
static int parse_share(const char *s, int *i, int *n)
{
	char tail;

	return sscanf(s, "%d/%d%c", i, n, &tail) == 2 && *n >= 1 && *i >= 0 && *i < *n ? 0 : -1;
}

void cli_parse_agent(struct agent_opts *a, int argc, char **argv)
{
	struct option opts[MAX_OPTS];
	char err[512];
	int ch, role;

	*a = (struct agent_opts){ .shares = 1, .role = AR_ROLE_LOAD };
	lg_config_default(&a->whole);
	opterr = 0;
	if (cli_getopt(opts, MAX_OPTS, CLI_AGENT) < 0)
		cli_die("%d options are more than MAX_OPTS (bench/cli/cli.c)", cli_noptions + lg_noptions);
	while ((ch = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		const char *val = optarg;

		switch (ch) {
		case OPT_HELP:
			cli__print_agent_help();
			exit(0);
		case OPT_SHARE:
			if (parse_share(val, &a->index, &a->shares) < 0)
				cli_die_usage("agent: --share: must be I/N with 0 <= I < N");
			break;
		case OPT_ROLE:
			if ((role = ar_role_parse(val)) < 0)
				cli_die_usage("agent: --role: must be load or latency");
			a->role = role;
			break;
		case OPT_NAME:
			a->name = val;
			break;
		case OPT_START_AT:
			a->start = number(val, 0);
			if (!(a->start > 0))
				cli_die_usage("agent: --start-at: must be CLOCK_REALTIME seconds > 0");
			break;
		case OPT_OUT:
			a->out = val;
			break;
		case OPT_CONTROL:
			a->control = true;
			break;
		case '?':
		case ':':
			cli__option_error(CLI_AGENT, ch, argv[optind - 1], optopt);
		default:
			if (lg_parse_option(&a->whole, lg_options[ch - OPT_LOAD].name, val, err,
					    sizeof err) < 0)
				cli_die_usage("agent: %s", err);
		}
	}
	if (optind < argc)
		cli_die_usage("agent: unexpected argument '%s'", argv[optind]);
}
