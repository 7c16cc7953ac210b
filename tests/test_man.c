/*
 * test_man.c - the man pages and the bash completion, as installed: each page
 * formats without a single groff warning (what `man -l` runs, warnings on),
 * evbench(1) names every option of `evbench --help` and every server of
 * `evbench --list`, and the completion offers options and servers.
 */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* The whole output of a shell command (stderr joined), and its status. */
static int shell(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0, got;
	int st;

	cr_assert_not_null(p, "popen %s", cmd);
	while (n + 1 < cap && (got = fread(out + n, 1, cap - n - 1, p)) > 0)
		n += got;
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void page_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/man/%s.1", tu_build_dir(), name);
	cr_assert_eq(access(buf, R_OK), 0, "%s is not built (make)", buf);
}

Test(man, pages_format_without_warnings, .timeout = 60)
{
	static const char *const pages[] = { "evbench", "loadgen", "rot13-server" };
	char path[PATH_MAX], cmd[PATH_MAX + 128], out[65536];

	if (system("command -v groff >/dev/null 2>&1") != 0)
		cr_skip_test("groff is missing (scripts/deps.sh test installs it)");
	for (size_t i = 0; i < sizeof pages / sizeof *pages; i++) {
		page_path(path, sizeof path, pages[i]);
		/* -ww: every warning; -z: format, print nothing but them. */
		snprintf(cmd, sizeof cmd, "groff -man -ww -z -Tutf8 '%s' 2>&1", path);
		cr_assert_eq(shell(cmd, out, sizeof out), 0, "%s: %s", pages[i], out);
		cr_assert_eq(out[0], '\0', "%s: groff warns:\n%s", pages[i], out);
		/* And it reads as a man page: the sections man(7) asks for. */
		snprintf(cmd, sizeof cmd, "groff -man -Tutf8 -P-cbou '%s' 2>&1", path);
		shell(cmd, out, sizeof out);
		cr_assert(strstr(out, "NAME") && strstr(out, "SYNOPSIS") &&
			  strstr(out, "DESCRIPTION") && strstr(out, "SEE ALSO"), "%s:\n%.400s",
			  pages[i], out);
	}
}

/* Every option of --help and every server of --list, in the formatted page. */
Test(man, evbench_page_lists_every_option_and_server, .timeout = 60)
{
	static char page[1 << 18], help[1 << 16], list[8192];
	char path[PATH_MAX], cmd[PATH_MAX + 128];
	int checked = 0;

	if (system("command -v groff >/dev/null 2>&1") != 0)
		cr_skip_test("groff is missing");
	page_path(path, sizeof path, "evbench");
	snprintf(cmd, sizeof cmd, "groff -man -Tutf8 -P-cbou -rLL=200n '%s' 2>/dev/null", path);
	shell(cmd, page, sizeof page);
	snprintf(cmd, sizeof cmd, "'%s/evbench' --help; '%s/evbench' gate --help", tu_bin_dir(),
		 tu_bin_dir());
	shell(cmd, help, sizeof help);
	for (char *p = strstr(help, "--"); p; p = strstr(p + 2, "--")) {
		char opt[64];
		size_t n = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz0123456789-");

		if (n == 0 || n + 3 > sizeof opt)
			continue;
		snprintf(opt, sizeof opt, "--%.*s", (int)n, p + 2);
		cr_assert(strstr(page, opt), "evbench(1) does not mention %s", opt);
		checked++;
	}
	cr_assert_gt(checked, 30, "only %d options in --help?", checked);
	snprintf(cmd, sizeof cmd, "'%s/evbench' --list | awk 'NR > 1 && $1 != \"all\" { print $1 }'",
		 tu_bin_dir());
	shell(cmd, list, sizeof list);
	for (char *save = NULL, *s = strtok_r(list, "\n", &save); s; s = strtok_r(NULL, "\n", &save))
		cr_assert(strstr(page, s), "evbench(1) does not list the server %s", s);
}

Test(man, bash_completion_offers_options_and_servers, .timeout = 60)
{
	char script[PATH_MAX], cmd[10 * PATH_MAX], out[8192];

	snprintf(script, sizeof script, "%s/../scripts/evbench-completion.bash", tu_bin_dir());
	if (access(script, R_OK) != 0)
		snprintf(script, sizeof script, "%s/../../scripts/evbench-completion.bash",
			 tu_bin_dir());
	cr_assert_eq(access(script, R_OK), 0, "no %s", script);
	if (system("command -v bash >/dev/null 2>&1") != 0)
		cr_skip_test("no bash");
	snprintf(cmd, sizeof cmd,
		 "bash -c '. \"%s\"; t() { COMP_WORDS=(\"$@\"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1));"
		 " COMPREPLY=(); _evbench; echo \"$*: ${COMPREPLY[*]}\"; };"
		 " t \"%s/evbench\" --ser; t \"%s/evbench\" --server poll,epoll-;"
		 " t \"%s/evbench\" gate --min; t \"%s/evbench\" \"\";"
		 " t \"%s/evbench\" lesson id;"
		 " t \"%s/evbench\" --server-nofile -; t \"%s/evbench\" gate --min-repeats \"\";"
		 " t \"%s/evbench\" --mechanism o' 2>&1",
		 script, tu_bin_dir(), tu_bin_dir(), tu_bin_dir(), tu_bin_dir(), tu_bin_dir(),
		 tu_bin_dir(), tu_bin_dir(), tu_bin_dir());
	cr_assert_eq(shell(cmd, out, sizeof out), 0, "%s", out);
	cr_assert(strstr(out, "--ser: --server --server-args"), "%s", out);
	cr_assert(strstr(out, "poll,epoll-: poll,epoll-lt poll,epoll-et"), "%s", out);
	cr_assert(strstr(out, "--min: --min-repeats"), "%s", out);
	cr_assert(strstr(out, " : ab gate report"), "%s", out);
	/* An option whose --help line shows a value is given no completion of
	 * options or directories for it: the value is the user's. */
	cr_assert(strstr(out, "--server-nofile -: \n"), "%s", out);
	cr_assert(strstr(out, "--min-repeats : \n"), "%s", out);
	cr_assert(strstr(out, "--mechanism o: on off\n"), "%s", out);
	/* Lessons, when this evbench has them (evbench lesson --list). */
	if (system("\"$EVBENCH_BIN/evbench\" lesson --list >/dev/null 2>&1") == 0)
		cr_assert(strstr(out, "lesson id: idle\n"), "%s", out);
}
