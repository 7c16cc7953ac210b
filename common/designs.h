/*
 * designs.h - the one table of the ROT13 server designs (docs/designs.md).
 *
 * Every part that needs to know a design reads this table: evbench's
 * resolver, `--list` and `--list --json`, the preflight warnings, the
 * collector's capacity rule, the gate's --normalize-by, the conformance and
 * hostile-client suites (tests/designs.h: a Criterion test per row and case)
 * and, through `evbench --list --json`, scripts/plot.py. Adding a design is its source file, one row here and one
 * line in the Makefile (docs/designs.md, "Adding a design").
 *
 * The table is an X-macro, not only an array, because the conformance suite
 * must expand it at compile time into Criterion tests. EVB_DESIGNS(X, ctx)
 * calls X(id, name, binary, backend, alias, props, wait, color) once per row,
 * ctx being whatever the caller needs in every expansion. designs.c turns it
 * into the array that evbench searches; common/ is linked by the tests too.
 *
 * A row is one thing evbench can run, in the order reports and plots list
 * them:
 *   id       a C identifier (the Criterion suite name of its tests)
 *   name     evbench's name for it (--server, reports, results' server.name)
 *   binary   the design it runs: bin/rot13-<binary>, and the name its ready
 *            line and stop report give
 *   backend  the --backend it passes, or NULL
 *   alias    another name evbench accepts for it, or NULL; reports always
 *            use `name`
 *   props    DS_* flags below
 *   wait     the waiting call it blocks in (enum evb_wait below)
 *   color    its colour in every plot
 */
#ifndef EVBENCH_DESIGNS_H
#define EVBENCH_DESIGNS_H

#include <stdbool.h>

/* Properties of a design. */
enum {
	DS_ALL        = 1 << 0, /* one of the designs `--server all` runs */
	DS_FD_SETSIZE = 1 << 1, /* calls select(): refuses descriptors >= FD_SETSIZE */
	DS_PROC_CONN  = 1 << 2, /* a process per connection, each holding one */
	DS_THREAD_CONN = 1 << 3, /* a thread per connection: a stack and two mappings each */
	DS_MULTICORE  = 1 << 4, /* runs connections on several CPUs at once */
	DS_SCANS      = 1 << 5, /* written on select() or poll(): hands the kernel every
	                           descriptor it watches on every call (the lessons say so) */
	DS_REFERENCE  = 1 << 6, /* the default --server, and the reference of comparisons
	                           and lessons when it is in the sweep; one row has it */
};

/*
 * The exit status of a server that cannot run on this machine at all (the
 * kernel lacks or forbids what it is built on, as io_uring may be), after one
 * line on stderr saying why. evbench records such a design as skipped with
 * that line, not as failed. 77 is what test harnesses (automake, meson) take
 * for "skipped", so a wrapper script may pass it on unchanged.
 */
#define EVB_EXIT_UNAVAILABLE 77

/* The waiting call a design's event loop blocks in, whose wake-ups the
 * mechanism metrics count (docs/results.md, "Mechanism"); EVB_WAIT_NONE for a
 * design that blocks in read() on each connection (fork, threads). */
enum evb_wait { EVB_WAIT_NONE, EVB_WAIT_EPOLL, EVB_WAIT_POLL, EVB_WAIT_SELECT, EVB_WAIT_URING };

/* Each row: X(id, name, binary, backend, alias, props, wait, colour). */
#define EVB_DESIGNS(X, ...)                                                                        \
  X(fork,     "fork",     "fork",     NULL, NULL, DS_ALL | DS_PROC_CONN | DS_MULTICORE,            \
    EVB_WAIT_NONE, "#d62728", __VA_ARGS__)                                                         \
  X(threads,  "threads",  "threads",  NULL, NULL, DS_ALL | DS_THREAD_CONN | DS_MULTICORE,          \
    EVB_WAIT_NONE, "#ff7f0e", __VA_ARGS__)                                                         \
  X(select,   "select",   "select",   NULL, NULL, DS_ALL | DS_FD_SETSIZE | DS_SCANS,               \
    EVB_WAIT_SELECT, "#8c564b", __VA_ARGS__)                                                       \
  X(poll,     "poll",     "poll",     NULL, NULL, DS_ALL | DS_SCANS,                               \
    EVB_WAIT_POLL, "#9467bd", __VA_ARGS__)                                                         \
  X(epoll_lt, "epoll-lt", "epoll-lt", NULL, "epoll", DS_ALL | DS_REFERENCE,                        \
    EVB_WAIT_EPOLL, "#1f77b4", __VA_ARGS__)                                                        \
  X(epoll_et, "epoll-et", "epoll-et", NULL, NULL, DS_ALL, EVB_WAIT_EPOLL, "#e377c2", __VA_ARGS__)  \
  X(epoll_mt, "epoll-mt", "epoll-mt", NULL, NULL, DS_ALL | DS_MULTICORE,                           \
    EVB_WAIT_EPOLL, "#c49c94", __VA_ARGS__)                                                        \
  X(uring,    "uring",    "uring",    NULL, NULL, DS_ALL, EVB_WAIT_URING, "#393b79", __VA_ARGS__)  \
  X(evbase,   "evbase",   "evbase",   NULL, NULL, DS_ALL, EVB_WAIT_EPOLL, "#2ca02c", __VA_ARGS__)  \
  X(evbase_select, "evbase-select", "evbase", "select", NULL, 0,                                   \
    EVB_WAIT_SELECT, "#98df8a", __VA_ARGS__)                                                       \
  X(evbase_poll,   "evbase-poll",   "evbase", "poll",   NULL, 0,                                   \
    EVB_WAIT_POLL, "#bcbd22", __VA_ARGS__)                                                         \
  X(evbase_epoll,  "evbase-epoll",  "evbase", "epoll",  NULL, 0,                                   \
    EVB_WAIT_EPOLL, "#006400", __VA_ARGS__)                                                        \
  X(evbase_io_uring, "evbase-io_uring", "evbase", "io_uring", NULL, 0,                             \
    EVB_WAIT_URING, "#8c6d31", __VA_ARGS__)                                                        \
  X(libevent, "libevent", "libevent", NULL, NULL, DS_ALL, EVB_WAIT_EPOLL, "#7f7f7f", __VA_ARGS__)  \
  X(libuv,    "libuv",    "libuv",    NULL, NULL, DS_ALL, EVB_WAIT_EPOLL, "#dbdb8d", __VA_ARGS__)

struct evb_design {
	const char   *name, *binary, *backend, *alias;
	unsigned      props;
	enum evb_wait wait;
	const char   *color;
};

/* The rows, in the table's order. */
extern const struct evb_design evb_designs[];
extern const int evb_ndesigns;

/* The row called name or its alias, or NULL. */
const struct evb_design *evb_design_find(const char *name);

/* The row with DS_REFERENCE. */
const struct evb_design *evb_design_reference(void);

#endif
