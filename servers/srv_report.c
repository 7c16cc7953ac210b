/*
 * srv_report.c - the stop report: one JSON line of the server's counters
 * (docs/protocol.md). See srv.h.
 */
#include "srv.h"
#include "srv_int.h"

#include <inttypes.h>
#include <stdio.h>

/* ---- report --------------------------------------------------------------- */

void srv_report(const char *backend)
{
	srv_report_more(backend, "");
}

void srv_report_more(const char *backend, const char *more)
{
	const struct srv_counters *k = srv_ctr;

	printf("{\"design\":\"%s\",\"backend\":\"%s\",\"protocol\":\"%s\"", srv__design, backend,
	       srv_opts.echo ? "echo" : "rot13");
#define SRV_COUNTER_PRINT(name) printf(",\"" #name "\":%" PRIu64, k->name);
	SRV_COUNTERS(SRV_COUNTER_PRINT)
#undef SRV_COUNTER_PRINT
	printf("%s}\n", more);
	fflush(stdout);
}
