/*
 * servercheck.c — the checks of servercheck.h.
 */
#include "servercheck.h"

#include "counters.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#define SC_STOP_MS 10000 /* SIGTERM to exit: fork and threads may hold 1,000 */
#define SC_IO_MS   5000  /* a connect */

int sc_connect(const struct tu_proc *srv)
{
	int fd = tu_connect(srv->port, SC_IO_MS);

	cr_assert(fd >= 0, "connect to port %d: %s", srv->port, strerror(errno));
	return fd;
}

#define COUNTER_KEY(name) #name,
static const char *const counter_keys[] = { SRV_COUNTERS(COUNTER_KEY) };
#undef COUNTER_KEY

void sc_expect_bytes(const struct tu_json *j, long long bytes)
{
	sc_expect(j, "bytes_in", bytes);
	sc_expect(j, "bytes_out", bytes);
}

void sc_stop(struct tu_proc *srv, const struct design *d, struct tu_json *j)
{
	int st = tu_server_stop(srv, j, SC_STOP_MS);

	cr_assert(st >= 0, "%s: stop failed: %s", d->suite, strerror(errno));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "%s: stopped with wait status 0x%x, not exit 0", d->suite, st);
	for (size_t i = 0; i < sizeof counter_keys / sizeof *counter_keys; i++) {
		const struct tu_json_field *f = tu_json_get(j, counter_keys[i]);

		cr_assert(f && !f->is_str && f->i >= 0 && f->num == (double)f->i,
			  "%s: counter '%s' missing or not a non-negative integer",
			  d->suite, counter_keys[i]);
	}
	const char *design = tu_json_str(j, "design"), *backend = tu_json_str(j, "backend");

	cr_assert(design && strcmp(design, d->name) == 0, "%s: design is '%s'", d->suite,
		  design ? design : "(missing)");
	cr_assert(backend, "%s: no backend string", d->suite);
	const char *protocol = tu_json_str(j, "protocol");

	cr_assert(protocol && (!strcmp(protocol, "rot13") || !strcmp(protocol, "echo")),
		  "%s: protocol is '%s', want rot13 or echo", d->suite, protocol ? protocol : "(missing)");
	if (d->backend)
		cr_assert_str_eq(backend, d->backend, "%s: backend is '%s'", d->suite, backend);
	cr_assert_eq(tu_json_int(j, "closed"), tu_json_int(j, "accepted"),
		     "%s: closed %lld != accepted %lld after stop", d->suite,
		     tu_json_int(j, "closed"), tu_json_int(j, "accepted"));
}

