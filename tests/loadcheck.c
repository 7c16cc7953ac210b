/*
 * loadcheck.c — the load configuration of loadcheck.h.
 */
#include "loadcheck.h"

#include <criterion/criterion.h>

void lc_config(struct lg_config *c, int port)
{
	lg_config_default(c);
	c->port = port;
	c->threads = 2;
	c->warmup_s = 0;
}

struct lg_config *lc_made(struct lg_config *c)
{
	char err[512];

	cr_assert_eq(lg_config_make(c, c, err, sizeof err), 0, "%s", err);
	return c;
}
