/*
 * designs.c - the design table as an array. See designs.h.
 */
#include "designs.h"

#include <stddef.h>
#include <string.h>

#define EVB_ROW(id, name, binary, backend, alias, props, wait, color, ...) \
	{ name, binary, backend, alias, props, wait, color },
const struct evb_design evb_designs[] = { EVB_DESIGNS(EVB_ROW, ~) };
#undef EVB_ROW
const int evb_ndesigns = sizeof evb_designs / sizeof *evb_designs;

const struct evb_design *evb_design_find(const char *name)
{
	for (int i = 0; i < evb_ndesigns; i++) {
		const struct evb_design *d = &evb_designs[i];

		if (strcmp(d->name, name) == 0 || (d->alias && strcmp(d->alias, name) == 0))
			return d;
	}
	return NULL;
}

const struct evb_design *evb_design_reference(void)
{
	for (int i = 0; i < evb_ndesigns; i++)
		if (evb_designs[i].props & DS_REFERENCE)
			return &evb_designs[i];
	return &evb_designs[0];
}
