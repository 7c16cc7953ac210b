/*
 * designs.h — every server configuration the suites run against.
 *
 * The conformance suite (conformance.c) and the hostile-client suite
 * (hostile.c) each turn a case into one Criterion test per entry, so a design
 * added to the design table (common/designs.h, docs/designs.md) is tried by
 * both. The entries are the table's rows, and libevent's own select and poll
 * backends besides its default (epoll): rot13-libevent is the source of
 * rot13-evbase too, so a difference between the two is a finding.
 *
 * EVBENCH_DESIGNS(X, ...) calls X(suite, bin, name, backend, ...) once per
 * entry: a Criterion suite name (a C identifier), the binary in bin/, the
 * design name the server puts in its ready line and report, and the
 * --backend it runs with (NULL: none), passing the extra arguments through.
 */
#ifndef EVBENCH_TESTS_DESIGNS_H
#define EVBENCH_TESTS_DESIGNS_H

#include <criterion/criterion.h>

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/designs.h"
#include "testutil.h"

struct design {
	const char *suite;
	const char *bin;
	const char *name;
	const char *backend;
};

#define EVBENCH_DESIGN_ROW(id, name, binary, backend, alias, props, wait, color, X, ...)  \
	X(id, "rot13-" binary, binary, backend, __VA_ARGS__)

#define EVBENCH_DESIGNS(X, ...)                                                     \
	EVB_DESIGNS(EVBENCH_DESIGN_ROW, X, __VA_ARGS__)                             \
	X(libevent_select, "rot13-libevent", "libevent", "select", __VA_ARGS__)     \
	X(libevent_poll, "rot13-libevent", "libevent", "poll", __VA_ARGS__)

/* Why this machine cannot run design d although its binary exists, or NULL:
 * the kernel may lack io_uring or refuse it (kernel.io_uring_disabled, a
 * seccomp filter), and then rot13-uring and evbase's io_uring backend have
 * nothing to run on. */
static inline const char *design_unavailable(const struct design *d)
{
	unsigned char params[120] = { 0 };	/* struct io_uring_params */
	long fd;

	if (strcmp(d->name, "uring") != 0 && (!d->backend || strcmp(d->backend, "io_uring")))
		return NULL;
	if ((fd = syscall(SYS_io_uring_setup, 1, params)) < 0)
		return "io_uring is not available on this machine";
	close((int)fd);
	return NULL;
}

/* A server prints `ready` within this (unscaled; tu_server_start scales it). */
#define DESIGN_READY_MS 5000

/* Starts design d's server with extra arguments (NULL-terminated) and an
 * RLIMIT_NOFILE (0: inherited); asserts that it became ready and that its
 * ready line names the design. */
static inline void design_start(struct tu_proc *srv, const struct design *d, long nofile, ...)
{
	va_list ap;
	int rc;

	va_start(ap, nofile);
	rc = tu_server_start_v(srv, d->bin, d->backend, nofile, DESIGN_READY_MS, ap);
	va_end(ap);
	cr_assert(rc == 0, "%s: no ready line: %s", d->suite, strerror(errno));
	cr_assert_str_eq(srv->design, d->name, "%s: ready line names design '%s'",
			 d->suite, srv->design);
}

#endif
