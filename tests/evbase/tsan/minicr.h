/*
 * minicr.h — just enough of Criterion's interface (Test() with .timeout,
 * .signal and .exit_code, and the cr_assert family the thread tests use) to
 * build a test file as a plain program, with tests/evbase/tsan/minicr.c as its
 * runner. It exists for ThreadSanitizer: Criterion's runner does not start
 * under TSan on this machine, and a sanitizer needs no more than a process
 * per test and an exit status. evtest.h includes it instead of Criterion
 * when EVTEST_MINI is defined (`make tsan-threads`).
 */
#ifndef MINICR_H
#define MINICR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct minicr_opts {
	int timeout;		/* seconds; 0: the runner's default */
	int signal;		/* the test must die of this signal */
	int exit_code;		/* ... or exit with this status */
};

void minicr_register(const char *suite, const char *name, void (*fn)(void),
    struct minicr_opts opts);
void minicr_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

#define Test(suite, name, ...)						\
	static void suite##__##name(void);				\
	__attribute__((constructor)) static void suite##__##name##__reg(void) \
	{								\
		minicr_register(#suite, #name, suite##__##name,		\
		    (struct minicr_opts){ __VA_ARGS__ });		\
	}								\
	static void suite##__##name(void)

/* Each takes an optional printf-style message, as Criterion's do. */
#define cr_assert(cond, ...) do {					\
	if (!(cond))							\
		minicr_fail(__FILE__, __LINE__, #cond, "" __VA_ARGS__);	\
} while (0)
#define cr_assert_fail(...) minicr_fail(__FILE__, __LINE__, "fail", "" __VA_ARGS__)
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...) cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_null(p, ...) cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0, __VA_ARGS__)
/* A skip passes, with its reason on stderr. */
#define cr_skip_test(...) do {						\
	fprintf(stderr, "skipped: " __VA_ARGS__);			\
	fputc('\n', stderr);						\
	exit(0);							\
} while (0)

#endif /* MINICR_H */
