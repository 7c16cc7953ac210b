/*
 * test_loadgen_args.c - the load options: the shared parser, the cross-checks,
 * the automatic source addresses, and bin/loadgen's exit status 2 with one
 * clear line for bad input.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/wait.h>

#include "loadgen.h"
#include "testutil.h"

static int parse(struct lg_config *c, const char *name, const char *value, char *err)
{
	return lg_parse_option(c, name, value, err, 256);
}

Test(loadgen_args, parser_accepts_and_rejects, .timeout = 10)
{
	struct lg_config c;
	char err[256];
	lg_config_default(&c);
	cr_assert_eq(parse(&c, "conns", "10000", err), 0);
	cr_assert_eq(c.conns, 10000);
	cr_assert_eq(parse(&c, "rate", "2500.5", err), 0);
	cr_assert_eq(c.rate, 2500.5);
	cr_assert_eq(parse(&c, "source-addrs", "127.0.0.2,127.0.0.3", err), 0);
	cr_assert_eq(c.n_source_addrs, 2);
	cr_assert_str_eq(c.source_addrs[1], "127.0.0.3");
	cr_assert_eq(parse(&c, "requests-per-conn", "1", err), 0);
	cr_assert_eq(c.requests_per_conn, 1);
	cr_assert_eq(parse(&c, "io", "epoll", err), 0);
	cr_assert_eq(c.io, LG_IO_EPOLL);
	cr_assert_eq(parse(&c, "io", "auto", err), 0);
	cr_assert_eq(c.io, LG_IO_AUTO);
	cr_assert_eq(c.protocol, LG_PROTO_ROT13, "rot13 is the default");
	cr_assert_eq(parse(&c, "protocol", "echo", err), 0);
	cr_assert_eq(c.protocol, LG_PROTO_ECHO);
	cr_assert_eq(parse(&c, "protocol", "rot13", err), 0);
	cr_assert_eq(c.protocol, LG_PROTO_ROT13);

	static const struct { const char *name, *value, *must_say; } bad[] = {
		{ "conns", "0", "--conns" },         { "conns", "-5", "--conns" },
		{ "conns", "abc", "'abc'" },         { "conns", "10x", "'10x'" },
		{ "conns", "", "--conns" },          { "rate", "-1", "--rate" },
		{ "rate", "nan", "--rate" },         { "size", "1", "--size" },
		{ "size", "65537", "--size" },       { "pipeline", "0", "--pipeline" },
		{ "duration", "0", "--duration" },   { "timeout", "-2", "--timeout" },
		{ "port", "65536", "--port" },       { "host", "example.com", "--host" },
		{ "source-addrs", "127.0.0.2,", "trailing" },
		{ "source-addrs", "1.2.3", "'1.2.3'" },
		{ "threads", "0", "--threads" },     { "nonsense", "1", "unknown" },
		{ "conns", "99999999999999999999", "--conns" },
		{ "io", "kqueue", "--io" },
		{ "protocol", "ECHO", "--protocol" }, { "protocol", "", "--protocol" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		cr_assert_eq(parse(&c, bad[i].name, bad[i].value, err), -1, "--%s %s accepted",
			     bad[i].name, bad[i].value);
		cr_assert(strstr(err, bad[i].must_say), "--%s %s: message '%s' lacks '%s'",
			  bad[i].name, bad[i].value, err, bad[i].must_say);
		cr_assert(!strchr(err, '\n'), "one line");
	}
	cr_assert(lg_is_option("requests-per-conn") && lg_is_option("source-addrs"));
	cr_assert(!lg_is_option("json"));
	cr_assert(strstr(lg_options_usage, "--connect-rate"));
}

Test(loadgen_args, cross_checks_and_auto_sources, .timeout = 10)
{
	struct lg_config c;
	char err[256];
	lg_config_default(&c);
	cr_assert_eq(lg_config_make(&c, &c, err, sizeof err), -1, "a port is required");
	cr_assert(strstr(err, "--port"));
	c.port = 9;
	c.conns = 10;
	c.active = 11;
	cr_assert_eq(lg_config_make(&c, &c, err, sizeof err), -1);
	cr_assert(strstr(err, "--active"), "%s", err);
	c.active = -1;
	c.threads = 64;
	cr_assert_eq(lg_config_make(&c, &c, err, sizeof err), 0);
	cr_assert_eq(c.threads, 10, "no more threads than connections");
	cr_assert(c.io == LG_IO_EPOLL || c.io == LG_IO_URING, "auto is resolved");
	cr_assert_eq(c.io, lg_uring_available() ? LG_IO_URING : LG_IO_EPOLL);

	/* More connections than one source address has ports: 127.0.0.2, .3 ... */
	long per = lg_ports_per_addr();
	cr_assert(per > 1000);
	lg_config_default(&c);
	c.port = 9;
	c.conns = 2 * per + 1;
	cr_assert_eq(lg_config_make(&c, &c, err, sizeof err), 0, "%s", err);
	cr_assert_eq(c.n_source_addrs, 3);
	cr_assert_str_eq(c.source_addrs[0], "127.0.0.2");
	cr_assert_str_eq(c.source_addrs[2], "127.0.0.4");
	/* ... but never when the user chose them. */
	lg_config_default(&c);
	c.port = 9;
	c.conns = 2 * per + 1;
	cr_assert_eq(parse(&c, "source-addrs", "127.0.0.9", err), 0);
	cr_assert_eq(lg_config_make(&c, &c, err, sizeof err), 0);
	cr_assert_eq(c.n_source_addrs, 1);
	/* An address this machine does not have (TEST-NET-1) is refused up
	 * front, not run into thousands of EADDRNOTAVAIL. */
	lg_config_default(&c);
	c.port = 9;
	cr_assert_eq(parse(&c, "source-addrs", "192.0.2.1", err), 0);
	cr_assert_eq(lg_config_make(&c, &c, err, sizeof err), -1);
	cr_assert(strstr(err, "cannot bind") && strstr(err, "192.0.2.1"), "%s", err);

	/* Asking for more connections than the descriptor limit is said up front. */
	lg_config_default(&c);
	c.port = 9;
	c.conns = 50000000;
	cr_assert_eq(lg_preflight(&c, err, sizeof err), 1);
	cr_assert(strstr(err, "descriptors") && strstr(err, "limit"), "%s", err);
	c.conns = 10;
	cr_assert_eq(lg_preflight(&c, err, sizeof err), 0);
}

/* bin/loadgen exits 2 with one line naming the problem. */
Test(loadgen_args, binary_bad_arguments_exit_2, .timeout = 30, .fini = tu_kill_all)
{
	char path[512];
	cr_assert_eq(tu_path(path, sizeof path, tu_bin_dir(), "loadgen"), 0, "%s not built", path);
	static const char *const cases[][4] = {
		{ "--port", "9", "--conns", "0" },
		{ "--port", "9", "--conns", "-3" },
		{ "--port", "9", "--conns", "many" },
		{ "--port", "9", "--rate", "-100" },
		{ "--port", "9", "--size", "1" },
		{ "--port", "9", "--bogus", "1" },
		{ "--conns", "10", "--size", "64" },    /* no --port */
		{ "--port", "9", "--active", "1000" },  /* more active than conns (100) */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[] = { path, (char *)cases[i][0], (char *)cases[i][1],
				 (char *)cases[i][2], (char *)cases[i][3], NULL };
		char out[4096], err[4096];
		int st = tu_run(argv, out, sizeof out, err, sizeof err, 10000);
		cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 2,
			  "%s %s %s %s: status %d, stderr '%s'", cases[i][0], cases[i][1],
			  cases[i][2], cases[i][3], st, err);
		cr_assert(strncmp(err, "loadgen: ", 9) == 0, "message: '%s'", err);
		char *nl = strchr(err, '\n');
		cr_assert(nl && nl[1] == '\0', "exactly one line: '%s'", err);
		cr_assert_eq(out[0], '\0', "nothing on stdout");
	}
	char *help[] = { path, "--help", NULL };
	char out[8192];
	int st = tu_run(help, out, sizeof out, NULL, 0, 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert(strstr(out, "--requests-per-conn") && strstr(out, "--json"));
}

/*
 * The option table (lg_options[]) is the whole truth about the load options:
 * every row shows in loadgen's help and, but for the three evbench sets
 * itself, in evbench's; both parsers know every row (given no value, each
 * says that it needs one, not that it is unknown), and evbench's help gives
 * its own phase defaults rather than loadgen's.
 */
Test(loadgen_args, one_table_for_help_and_parsers, .timeout = 60, .fini = tu_kill_all)
{
	static const char *const evbench_sets[] = { "host", "port", "conns" };
	static char lg_help[16384], ev_help[16384];
	char lg[512], ev[512], err[4096];
	char *lg_argv[] = { lg, "--help", NULL }, *ev_argv[] = { ev, "--help", NULL };

	cr_assert_eq(tu_path(lg, sizeof lg, tu_bin_dir(), "loadgen"), 0, "%s not built", lg);
	cr_assert_eq(tu_path(ev, sizeof ev, tu_bin_dir(), "evbench"), 0, "%s not built", ev);
	cr_assert_eq(tu_run(lg_argv, lg_help, sizeof lg_help, err, sizeof err, 10000), 0);
	cr_assert_eq(tu_run(ev_argv, ev_help, sizeof ev_help, err, sizeof err, 10000), 0);
	cr_assert(lg_noptions >= 16, "%d load options", lg_noptions);
	for (int i = 0; i < lg_noptions; i++) {
		const char *name = lg_options[i].name;
		char flag[64], want[96];
		bool evbench_own = false;

		for (size_t k = 0; k < 3; k++)
			evbench_own |= strcmp(name, evbench_sets[k]) == 0;
		snprintf(flag, sizeof flag, "--%s", name);
		snprintf(want, sizeof want, "  --%s %s ", name, lg_options[i].arg);
		cr_assert(strstr(lg_help, want), "loadgen --help lacks %s", flag);
		cr_assert_eq(strstr(ev_help, want) != NULL, !evbench_own,
			     "evbench --help %s %s", evbench_own ? "shows" : "lacks", flag);

		char *argv[] = { lg, flag, NULL };
		int st = tu_run(argv, NULL, 0, err, sizeof err, 10000);
		cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 2, "loadgen %s: %#x", flag, st);
		snprintf(want, sizeof want, "%s: needs a value", flag);
		cr_assert(strstr(err, want), "loadgen %s: '%s'", flag, err);
		if (evbench_own)
			continue;
		argv[0] = ev;
		st = tu_run(argv, NULL, 0, err, sizeof err, 10000);
		cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 2, "evbench %s: %#x", flag, st);
		cr_assert(strstr(err, want), "evbench %s: '%s'", flag, err);
	}
	/* evbench's phases are shorter than loadgen's (bench/main.c). */
	cr_assert(strstr(lg_help, "measure for S seconds (default 10)"), "%s", lg_help);
	cr_assert(strstr(ev_help, "measure for S seconds (default ") &&
		  !strstr(ev_help, "measure for S seconds (default 10)"), "%s", ev_help);
}
