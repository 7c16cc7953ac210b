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
 * calls X(id, name, binary, backend, alias, props, color) once per row,
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
};

/*
 * The exit status of a server that cannot run on this machine at all (the
 * kernel lacks or forbids what it is built on, as io_uring may be), after one
 * line on stderr saying why. evbench records such a design as skipped with
 * that line, not as failed. 77 is what test harnesses (automake, meson) take
 * for "skipped", so a wrapper script may pass it on unchanged.
 */
#define EVB_EXIT_UNAVAILABLE 77

/* Each row: X(id, name, binary, backend, alias, props, colour). */
#define EVB_DESIGNS(X, ...)                                                              \
  X(fork,     "fork",     "fork",     NULL, NULL, DS_ALL | DS_PROC_CONN | DS_MULTICORE,   \
    "#d62728", __VA_ARGS__)                                                                            \
  X(threads,  "threads",  "threads",  NULL, NULL, DS_ALL | DS_THREAD_CONN | DS_MULTICORE, \
    "#ff7f0e", __VA_ARGS__)                                                                            \
  X(select,   "select",   "select",   NULL, NULL,    DS_ALL | DS_FD_SETSIZE, "#8c564b", __VA_ARGS__)    \
  X(poll,     "poll",     "poll",     NULL, NULL,    DS_ALL, "#9467bd", __VA_ARGS__)                    \
  X(epoll_lt, "epoll-lt", "epoll-lt", NULL, "epoll", DS_ALL, "#1f77b4", __VA_ARGS__)                    \
  X(epoll_et, "epoll-et", "epoll-et", NULL, NULL,    DS_ALL, "#e377c2", __VA_ARGS__)                    \
  X(epoll_mt, "epoll-mt", "epoll-mt", NULL, NULL,    DS_ALL | DS_MULTICORE, "#c49c94", __VA_ARGS__)     \
  X(uring,    "uring",    "uring",    NULL, NULL,    DS_ALL, "#393b79", __VA_ARGS__)                    \
  X(evbase,   "evbase",   "evbase",   NULL, NULL,    DS_ALL, "#2ca02c", __VA_ARGS__)                    \
  X(evbase_select, "evbase-select", "evbase", "select", NULL, 0, "#98df8a", __VA_ARGS__)              \
  X(evbase_poll,   "evbase-poll",   "evbase", "poll",   NULL, 0, "#bcbd22", __VA_ARGS__)              \
  X(evbase_epoll,  "evbase-epoll",  "evbase", "epoll",  NULL, 0, "#006400", __VA_ARGS__)              \
  X(evbase_io_uring, "evbase-io_uring", "evbase", "io_uring", NULL, 0, "#8c6d31", __VA_ARGS__)     \
  X(libevent, "libevent", "libevent", NULL, NULL,    DS_ALL, "#7f7f7f", __VA_ARGS__)                    \
  X(libuv,    "libuv",    "libuv",    NULL, NULL,    DS_ALL, "#dbdb8d", __VA_ARGS__)

struct evb_design {
	const char *name, *binary, *backend, *alias;
	unsigned    props;
	const char *color;
};

/* The rows, in the table's order. */
extern const struct evb_design evb_designs[];
extern const int evb_ndesigns;

/* The row called name or its alias, or NULL. */
const struct evb_design *evb_design_find(const char *name);

/* The row whose binary is `binary` and which passes no --backend (the
 * properties of a design as its ready line names it), or NULL. */
const struct evb_design *evb_design_of_binary(const char *binary);

/* True when the design runs with the property (DS_*); false for an unknown
 * binary. */
bool evb_design_has(const char *binary, unsigned prop);

#endif
