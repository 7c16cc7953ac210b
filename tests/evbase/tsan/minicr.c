/*
 * minicr.c — the runner for tests built with minicr.h: each test in its own
 * process (as Criterion runs them), killed by SIGALRM after its timeout
 * (scaled by EVBENCH_TIMEOUT_MULT), judged by how it ended, and one closing
 * line "N passed, N failed". An argument keeps only the tests whose
 * "suite::name" contains it. Exit status 0 when every test passed.
 *
 * A sanitizer's report makes the test's process exit non-zero
 * (TSAN_OPTIONS=exitcode=66 is ThreadSanitizer's default), which fails it.
 */
#include "minicr.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TESTS 256

static struct {
	const char *suite, *name;
	void (*fn)(void);
	struct minicr_opts opts;
} tests[MAX_TESTS];
static int ntests;

void minicr_register(const char *suite, const char *name, void (*fn)(void),
    struct minicr_opts opts)
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "minicr: more than %d tests\n", MAX_TESTS);
		exit(2);
	}
	tests[ntests].suite = suite;
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	tests[ntests].opts = opts;
	ntests++;
}

void minicr_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: assertion failed: %s", file, line, expr);
	if (*fmt) {
		fputs(": ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	exit(1);
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	const char *m = getenv("EVBENCH_TIMEOUT_MULT");
	double mult = m && atof(m) > 0 ? atof(m) : 1.0;
	int passed = 0, failed = 0;

	for (int i = 0; i < ntests; i++) {
		char full[256];
		int status, ok;
		pid_t pid;

		snprintf(full, sizeof(full), "%s::%s", tests[i].suite, tests[i].name);
		if (filter && !strstr(full, filter))
			continue;
		fflush(NULL);
		if ((pid = fork()) < 0) {
			perror("minicr: fork");
			return 2;
		}
		if (pid == 0) {
			alarm((unsigned)((tests[i].opts.timeout ? tests[i].opts.timeout : 30) * mult));
			tests[i].fn();
			exit(0);
		}
		if (waitpid(pid, &status, 0) < 0) {
			perror("minicr: waitpid");
			return 2;
		}
		if (tests[i].opts.signal)
			ok = WIFSIGNALED(status) && WTERMSIG(status) == tests[i].opts.signal;
		else
			ok = WIFEXITED(status) && WEXITSTATUS(status) == tests[i].opts.exit_code;
		if (ok)
			passed++;
		else
			failed++;
		if (WIFSIGNALED(status))
			printf("[%s] %s (signal %d)\n", ok ? "PASS" : "FAIL", full, WTERMSIG(status));
		else
			printf("[%s] %s (exit %d)\n", ok ? "PASS" : "FAIL", full, WEXITSTATUS(status));
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
