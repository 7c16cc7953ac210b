/*
 * test_mm.c — event_set_mem_functions(): every block the library allocates
 * comes from the program's malloc or realloc and goes back through its free.
 *
 * The hooks hand out blocks 16 bytes past what they got from the C library,
 * so a block freed with the C library's free() crashes (or, instrumented, is
 * reported), and they keep a table of the blocks they handed out, so a block
 * the library got elsewhere and passed to the hooks' free is counted.
 */
#include "evtest.h"
#include <event2/thread.h>
#include <signal.h>

#define MM_SLOTS 4096
#define MM_PAD 16

static void *live[MM_SLOTS];
static int nlive, allocs, frees, foreign, null_frees;

static int find(void *p)
{
	for (int i = 0; i < MM_SLOTS; i++)
		if (live[i] == p)
			return i;
	return -1;
}

static void *remember(char *raw)
{
	int i = find(NULL);

	cr_assert_geq(i, 0, "more than %d blocks live", MM_SLOTS);
	live[i] = raw + MM_PAD;
	nlive++;
	return raw + MM_PAD;
}

static void *mm_malloc(size_t n)
{
	char *raw = malloc(n + MM_PAD);

	if (!raw)
		return NULL;
	allocs++;
	return remember(raw);
}

static void mm_free(void *p)
{
	int i;

	/* libevent never hands its free hook NULL; a program's hook may rely
	 * on that (mm::free_hook_never_gets_null). */
	if (!p) {
		null_frees++;
		return;
	}
	if ((i = find(p)) < 0) {
		foreign++;
		return;
	}
	live[i] = NULL;
	nlive--;
	frees++;
	free((char *)p - MM_PAD);
}

static void *mm_realloc(void *p, size_t n)
{
	char *raw;
	int i;

	if (!p)
		return mm_malloc(n);
	if ((i = find(p)) < 0) {
		foreign++;
		return NULL;
	}
	if (!(raw = realloc((char *)p - MM_PAD, n + MM_PAD)))
		return NULL;
	live[i] = NULL;
	nlive--;
	allocs++;
	frees++;
	return remember(raw);
}

static void cb(evutil_socket_t fd, short what, void *arg)
{
	(*(int *)arg)++;
}

Test(mm, hooks_see_every_allocation, .timeout = 10)
{
	struct event_config *cfg;
	struct event_base *base;
	struct event *evs[200], *sig;
	evutil_socket_t sv[2];
	struct timeval t = evtest_ms(1), d = evtest_ms(2);
	const struct timeval *ct;
	int calls = 0;

	event_set_mem_functions(mm_malloc, mm_realloc, mm_free);
	cfg = event_config_new();
	cr_assert_not_null(cfg);
	evtest_config(cfg);
	event_config_avoid_method(cfg, "no-such-method");	/* a copied string */
	base = event_base_new_with_config(cfg);
	cr_assert_not_null(base);
	event_config_free(cfg);
	cr_assert_eq(event_base_priority_init(base, 3), 0);
	evtest_pair(sv);
	/* Enough events on enough descriptors and timers that the fd map,
	 * the backend's arrays and the timer heap all grow. */
	for (int i = 0; i < 200; i++) {
		evs[i] = (i % 2) ? evtimer_new(base, cb, &calls)
		    : event_new(base, i % 4 ? sv[1] : sv[0], EV_WRITE, cb, &calls);
		cr_assert_not_null(evs[i]);
		cr_assert_eq(event_add(evs[i], &t), 0);
	}
	ct = event_base_init_common_timeout(base, &d);
	cr_assert_not_null(ct);
	cr_assert_eq(event_base_once(base, -1, EV_TIMEOUT, cb, &calls, ct), 0);
	sig = evsignal_new(base, SIGUSR1, cb, &calls);
	cr_assert_eq(event_add(sig, NULL), 0);
	event_base_loopexit(base, &d);
	cr_assert_eq(event_base_dispatch(base), 0);
	cr_assert_gt(calls, 0);
	for (int i = 0; i < 200; i++)
		event_free(evs[i]);
	event_free(sig);
	event_base_free(base);
	libevent_global_shutdown();

	cr_assert_gt(allocs, 5, "only %d allocations seen", allocs);
	cr_assert_eq(foreign, 0, "%d blocks freed that the hooks never gave", foreign);
	cr_assert_eq(nlive, 0, "%d blocks never freed through the hooks", nlive);
	event_set_mem_functions(NULL, NULL, NULL);
	evutil_closesocket(sv[0]);
	evutil_closesocket(sv[1]);
}

/* One base on each method the library has, with an I/O event, a timer and a
 * signal event, run once and freed: every teardown path (the signal pipe,
 * the base, each backend's arrays, some of which were never allocated) goes
 * through the free hook, and none of them may pass NULL. Then the same with
 * locking on, for the lock and the condition. What was allocated is freed. */
static void base_per_method(const char **methods, int *made)
{
	for (const char **m = methods; *m; m++) {
		struct event_config *cfg = event_config_new();
		struct event_base *base, *empty;
		struct event *io, *tm, *sig;
		struct timeval t = evtest_ms(1);
		evutil_socket_t sv[2];
		int calls = 0;

		cr_assert_not_null(cfg);
		for (const char **o = methods; *o; o++)
			if (strcmp(*o, *m))
				event_config_avoid_method(cfg, *o);
		base = event_base_new_with_config(cfg);
		/* A base that never has an event: arrays never grown. */
		empty = event_base_new_with_config(cfg);
		event_config_free(cfg);
		if (!base) {
			/* Only io_uring may be refused by the kernel here. */
			cr_assert_str_eq(*m, "io_uring", "no base with method %s", *m);
			continue;
		}
		cr_assert_str_eq(event_base_get_method(base), *m);
		evtest_pair(sv);
		io = event_new(base, sv[0], EV_READ | EV_PERSIST, cb, &calls);
		tm = evtimer_new(base, cb, &calls);
		sig = evsignal_new(base, SIGUSR2, cb, &calls);
		cr_assert_eq(event_add(io, NULL), 0);
		cr_assert_eq(event_add(tm, &t), 0);
		cr_assert_eq(event_add(sig, NULL), 0);
		evtest_send(sv[1], 1);
		cr_assert_eq(event_base_loop(base, EVLOOP_ONCE), 0);
		cr_assert_gt(calls, 0);
		event_free(io);
		event_free(tm);
		event_free(sig);
		event_base_free(base);
		evutil_closesocket(sv[0]);
		evutil_closesocket(sv[1]);
		cr_assert_not_null(empty);
		event_base_free(empty);
		++*made;
	}
}

Test(mm, free_hook_never_gets_null, .timeout = 10)
{
	/* Asked before the hooks: libevent keeps the list it returns in a
	 * block it never frees (and frees the previous one at each call). */
	const char **methods = event_get_supported_methods();
	int made = 0;

	event_set_mem_functions(mm_malloc, mm_realloc, mm_free);
	base_per_method(methods, &made);
	cr_assert_eq(evthread_use_pthreads(), 0);
	base_per_method(methods, &made);
	libevent_global_shutdown();
	event_set_mem_functions(NULL, NULL, NULL);

	cr_assert_geq(made, 6, "only %d bases made", made);
	cr_assert_eq(null_frees, 0, "the free hook got NULL %d times", null_frees);
	cr_assert_eq(foreign, 0, "%d blocks freed that the hooks never gave", foreign);
	cr_assert_eq(nlive, 0, "%d blocks never freed through the hooks", nlive);
	cr_assert_eq(allocs, frees);
}
