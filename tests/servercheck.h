/*
 * servercheck.h — what the two suites run against every server design
 * (conformance.c and hostile.c) check of a server from outside: a
 * connection that must open, and the stop report every server prints
 * (docs/protocol.md, "Counters"). Unlike testutil.h these helpers assert,
 * naming the design, so they belong in test bodies only.
 */
#ifndef EVBENCH_TESTS_SERVERCHECK_H
#define EVBENCH_TESTS_SERVERCHECK_H

#include <criterion/criterion.h>

#include "designs.h"
#include "testutil.h"

/* A connection to srv within 5 s, or the test fails. Returns the socket. */
int sc_connect(const struct tu_proc *srv);

/* SIGTERM the server and check its report: exit 0, one JSON line with every
 * counter as a non-negative integer, design and backend as strings (the
 * backend d's when d names one), the protocol rot13 or echo, and closed ==
 * accepted. The report is left in *j. */
void sc_stop(struct tu_proc *srv, const struct design *d, struct tu_json *j);

/* Assert one counter of the stop report, saying what it was. */
#define sc_expect(j, key, want)                                                        \
	cr_assert_eq(tu_json_int(j, key), (long long)(want), "counter %s is %lld, want %lld", \
		     key, tu_json_int(j, key), (long long)(want))

/* Assert that the server read `bytes` and wrote as many back (bytes_in and
 * bytes_out): rot13 keeps the length, so every connection it served to the
 * end returns what it took (docs/protocol.md). */
void sc_expect_bytes(const struct tu_json *j, long long bytes);

#endif
