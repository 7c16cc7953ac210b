/*
 * loadcheck.h — the load the tests run in process against a server on
 * loopback, configured and made the way evbench and loadgen make it before
 * lg_run(). Like servercheck.h these helpers assert, so they belong in test
 * bodies only.
 */
#ifndef EVBENCH_TESTS_LOADCHECK_H
#define EVBENCH_TESTS_LOADCHECK_H

#include "loadgen.h"

/* The load's defaults aimed at port on loopback, with two load threads and
 * no warm-up: what a test needs to be short and still exercise the threads.
 * The caller sets the rest, then hands it to lc_made(). */
void lc_config(struct lg_config *c, int port);

/* c made and checked in place by lg_config_make(), as evbench and loadgen
 * hand it to lg_run(); the test fails if c is not valid. Returns c. */
struct lg_config *lc_made(struct lg_config *c);

#endif
