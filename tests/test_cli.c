/*
 * test_cli.c - evbench's one option table (bench/cli/cli.c, cli_options[]) and
 * what it makes: each command's getopt_long() table, the --help lines of the
 * sweep, evbench ab and evbench gate, and through --help the man page; and
 * the checks evbench ab and evbench gate share (the same bad --alpha is
 * refused by both with the same line).
 */
#include <criterion/criterion.h>

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

#define OUT 65536
static char out[OUT], err[OUT];

/* Runs evbench with args (NULL-terminated); its exit status, -1 if it did
 * not exit. */
static int evbench(const char *a0, ...)
{
	char bin[PATH_MAX];
	char *argv[16];
	int argc = 1, st;
	va_list ap;

	cr_assert_eq(tu_path(bin, sizeof bin, tu_bin_dir(), "evbench"), 0, "no %s", bin);
	argv[0] = bin;
	va_start(ap, a0);
	for (const char *a = a0; a && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	st = tu_run(argv, out, sizeof out, err, sizeof err, tu_ms(10000));
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Whether text has the option line of "--name": at a line's start, after two
 * spaces, the name followed by a space, a comma or the line's end. */
static bool has_line(const char *text, const char *name)
{
	char want[80];
	size_t n;

	n = (size_t)snprintf(want, sizeof want, "\n  --%s", name);
	for (const char *p = strstr(text, want); p; p = strstr(p + 1, want))
		if (p[n] == ' ' || p[n] == ',' || p[n] == '\n')
			return true;
	return false;
}

/* Whether any row gives command cmd an option called name (--json is two
 * rows, the sweep's and the gate's: one row of json not the gate's must not
 * make the gate's own --json a fault). */
static bool cmd_in_other_row(const char *name, enum cli_cmd cmd)
{
	for (int i = 0; i < cli_noptions; i++)
		if ((cli_options[i].cmds & cmd) && !strcmp(cli_options[i].name, name))
			return true;
	return false;
}

/* Each command's getopt table holds every row of that command once, no row
 * of another command, and for the sweep and ab the load options after. */
Test(cli, getopt_tables_follow_the_option_table, .timeout = 10)
{
	static const enum cli_cmd cmds[] = { CLI_SWEEP, CLI_AB, CLI_GATE };

	for (size_t c = 0; c < sizeof cmds / sizeof *cmds; c++) {
		struct option opts[128];
		int n = cli_getopt(opts, 128, cmds[c]), rows = 0;

		cr_assert_gt(n, 0);
		cr_assert_null(opts[n].name, "no terminating entry");
		for (int i = 0; i < cli_noptions; i++) {
			const struct cli_option *r = &cli_options[i];
			int found = 0;

			for (int k = 0; k < n; k++)
				if (!strcmp(opts[k].name, r->name)) {
					found++;
					if (r->cmds & cmds[c])
						cr_assert_eq(opts[k].val, r->id, "--%s", r->name);
				}
			if (r->cmds & cmds[c]) {
				cr_assert_eq(found, 1, "--%s %d times in command %d's table", r->name,
					     found, cmds[c]);
				cr_assert_eq(opts[rows].has_arg, r->arg ? required_argument : no_argument,
					     "--%s", r->name);
				rows++;
			} else if (!cmd_in_other_row(r->name, cmds[c])) {
				cr_assert_eq(found, 0, "--%s is not command %d's", r->name, cmds[c]);
			}
		}
		/* Load options: the sweep and ab take them, the gate none. */
		cr_assert_eq(n > rows, cmds[c] != CLI_GATE, "command %d: %d rows, %d entries",
			     cmds[c], rows, n);
		/* Too small a table is refused, not overrun. */
		cr_assert_eq(cli_getopt(opts, rows, cmds[c]), -1);
	}
}

/* Every option a command takes, but those refused with a reason (no help),
 * has its line in that command's help: evbench --help for the sweep and ab
 * (with the gate's own options), evbench gate --help for the gate; and the
 * man page, made from evbench --help, names each. */
Test(cli, help_and_man_page_have_every_option, .timeout = 60)
{
	static char help[OUT], gate_help[OUT], page[1 << 18];
	char path[PATH_MAX], cmd[PATH_MAX + 128];
	int shown = 0;

	cr_assert_eq(evbench("--help", NULL), 0, "%s", err);
	memcpy(help, out, sizeof help);
	cr_assert_eq(evbench("gate", "--help", NULL), 0, "%s", err);
	memcpy(gate_help, out, sizeof gate_help);
	snprintf(path, sizeof path, "%s/man/evbench.1", tu_build_dir());
	cr_assert_eq(access(path, R_OK), 0, "%s is not built (make)", path);
	if (system("command -v groff >/dev/null 2>&1") != 0)
		cr_skip_test("groff is missing (scripts/deps.sh test installs it)");
	snprintf(cmd, sizeof cmd, "groff -man -Tutf8 -P-cbou -rLL=200n '%s' 2>/dev/null", path);
	{
		FILE *p = popen(cmd, "r");
		size_t n;

		cr_assert_not_null(p);
		n = fread(page, 1, sizeof page - 1, p);
		page[n] = '\0';
		pclose(p);
	}
	for (int i = 0; i < cli_noptions; i++) {
		const struct cli_option *r = &cli_options[i];
		char opt[64];

		snprintf(opt, sizeof opt, "--%s", r->name);
		if (!r->help) {
			cr_assert(!has_line(help, r->name) && !has_line(gate_help, r->name),
				  "%s is refused, yet has a help line", opt);
			continue;
		}
		shown++;
		if (r->cmds & (CLI_SWEEP | CLI_AB))
			cr_assert(has_line(help, r->name), "evbench --help has no line for %s:\n%s",
				  opt, help);
		if (r->cmds & CLI_GATE) {
			cr_assert(has_line(gate_help, r->name),
				  "evbench gate --help has no line for %s:\n%s", opt, gate_help);
			cr_assert(strstr(help, opt), "evbench --help does not name %s", opt);
		}
		cr_assert(strstr(page, opt), "evbench(1) does not name %s", opt);
	}
	cr_assert_gt(shown, 25, "only %d options shown?", shown);
	/* A row's help reaches --help as written: the reference is filled in. */
	cr_assert_null(strstr(help, "{reference}"), "%s", help);
}

/* evbench ab and evbench gate check --alpha, --max-regression and --metrics
 * with the same code: the same bad value, the same line, exit 2. */
Test(cli, ab_and_gate_refuse_the_same_bad_values, .timeout = 30)
{
	static const char *const bad[][2] = {
		{ "--alpha", "0.7" }, { "--alpha", "0" }, { "--alpha", "x" },
		{ "--max-regression", "ten" }, { "--max-regression", "-1" },
		{ "--metrics", "cpu,latency" },
	};
	static char ab_err[OUT];

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		cr_assert_eq(evbench("ab", bad[i][0], bad[i][1], NULL), 2, "ab %s %s", bad[i][0],
			     bad[i][1]);
		memcpy(ab_err, err, sizeof ab_err);
		cr_assert(strstr(ab_err, bad[i][0]) && strchr(ab_err, '\n') &&
			  !strchr(ab_err, '\n')[1], "ab %s %s: %s", bad[i][0], bad[i][1], ab_err);
		cr_assert_eq(evbench("gate", "somedir", bad[i][0], bad[i][1], NULL), 2);
		cr_assert_str_eq(err, ab_err, "gate %s %s", bad[i][0], bad[i][1]);
	}
	/* And the good values pass both parsers (the gate then finds no
	 * directory: an input error, after the options were taken). */
	cr_assert_eq(evbench("gate", "/nonexistent-evbench", "--alpha", "0.01", "--max-regression",
			     "5%", "--metrics", "cpu,p99", NULL), 2);
	cr_assert(strstr(err, "comparisons.json"), "%s", err);
}

/* An option of another command is named as such, not "unknown". */
Test(cli, an_option_of_another_command_says_so, .timeout = 30)
{
	cr_assert_eq(evbench("ab", "--repeat", "3", NULL), 2);
	cr_assert(strstr(err, "--repeat is not an option of evbench ab"), "%s", err);
	cr_assert_eq(evbench("--alpha", "0.1", NULL), 2);
	cr_assert(strstr(err, "--alpha is not an option of the sweep"), "%s", err);
	cr_assert_eq(evbench("gate", "a", "b", "--conns", "10", NULL), 2);
	cr_assert(strstr(err, "--conns is not an option of evbench gate"), "%s", err);
	cr_assert_eq(evbench("gate", "a", "b", "--bogus", NULL), 2);
	cr_assert(strstr(err, "unknown option '--bogus'"), "%s", err);
	/* The ones evbench sets itself, with their reason. */
	cr_assert_eq(evbench("--port", "80", NULL), 2);
	cr_assert(strstr(err, "starts its servers on 127.0.0.1"), "%s", err);
}
