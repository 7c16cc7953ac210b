/*
 * fork(): after event_reinit() a child's base is its own (own backend
 * instance, own signal pipe) and works; the parent's keeps working.
 */
#include "evtest.h"

#include <sys/wait.h>

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	char c;
	while (recv(fd, &c, 1, 0) == 1)
		;
	(*(int *)arg)++;
}

static void sig_cb(evutil_socket_t fd, short what, void *arg)
{
	(*(int *)arg)++;
}

static void guard_cb(evutil_socket_t fd, short what, void *arg)
{
	*(int *)arg = 1;
}

/* EVLOOP_ONCE, but never longer than a (scaled) 5 s: a fork bug must fail
 * the test, not hang it. Returns 0 if the guard fired. */
static int loop_once_guarded(struct event_base *base)
{
	int fired = 0;
	struct timeval tv = evtest_deadline(5000);
	struct event *guard = evtimer_new(base, guard_cb, &fired);

	evtimer_add(guard, &tv);
	event_base_loop(base, EVLOOP_ONCE);
	event_free(guard);
	return !fired;
}

/* What the child checks; returns its exit status (0: all good). */
static int child(struct event_base *base, struct event *ev, evutil_socket_t w,
    int *reads, int *sigs)
{
	if (event_reinit(base) != 0)
		return 10;
	if (strcmp(event_base_get_method(base), evtest_backend() ? evtest_backend()
	    : event_base_get_method(base)))
		return 11;
	/* The child stops watching the fd: with a shared epoll instance this
	 * would also silence the parent's event. */
	event_del(ev);
	event_add(ev, NULL);
	event_del(ev);
	*reads = 0;
	*sigs = 0;
	raise(SIGUSR1);
	if (!loop_once_guarded(base) || *sigs != 1)
		return 12;
	event_add(ev, NULL);
	if (send(w, "c", 1, 0) != 1)
		return 13;
	if (!loop_once_guarded(base) || *reads != 1)
		return 14;
	return 0;
}

Test(fork, base_works_in_child_after_reinit, .timeout = 20)
{
	struct event_base *base = evtest_base();
	evutil_socket_t sv[2];
	int reads = 0, sigs = 0, status;
	struct event *ev, *sig;
	pid_t pid;

	evtest_pair(sv);
	ev = event_new(base, sv[0], EV_READ | EV_PERSIST, read_cb, &reads);
	sig = evsignal_new(base, SIGUSR1, sig_cb, &sigs);
	event_add(ev, NULL);
	evsignal_add(sig, NULL);

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(child(base, ev, sv[1], &reads, &sigs));
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child failed with status %d", WEXITSTATUS(status));

	/* The parent's registration survived whatever the child did. The
	 * child drained the byte it sent itself, so send another. */
	evtest_send(sv[1], 1);
	cr_assert(loop_once_guarded(base), "the parent's fd event is gone");
	cr_assert_eq(reads, 1);
	raise(SIGUSR1);
	cr_assert(loop_once_guarded(base), "the parent's signal pipe is gone");
	cr_assert_eq(sigs, 1);
	event_free(ev);
	event_free(sig);
	event_base_free(base);
}

Test(fork, reinit_without_fork_is_harmless, .timeout = 10)
{
	struct event_base *base = evtest_base();
	evutil_socket_t sv[2];
	int reads = 0;
	struct event *ev;

	evtest_pair(sv);
	ev = event_new(base, sv[0], EV_READ | EV_PERSIST, read_cb, &reads);
	event_add(ev, NULL);
	cr_assert_eq(event_reinit(base), 0);
	evtest_send(sv[1], 1);
	cr_assert_eq(event_base_loop(base, EVLOOP_ONCE), 0);
	cr_assert_eq(reads, 1);
	event_free(ev);
	event_base_free(base);
}
