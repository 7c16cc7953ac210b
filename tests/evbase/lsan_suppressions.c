/*
 * LeakSanitizer's hook for built-in suppressions (read only in a
 * SANITIZER=address build). Criterion's runner, when it runs tests in
 * parallel, leaves a few 48-byte blocks of its own allocated at exit: the
 * whole stack is inside libcriterion.so, and with -j1 the report goes
 * away. It is not this code's leak, and it would fail every instrumented
 * run, so it is suppressed by library name; leaks anywhere else still count.
 */
const char *__lsan_default_suppressions(void);

const char *__lsan_default_suppressions(void)
{
	return "leak:libcriterion.so\n";
}
