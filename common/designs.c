/*
 * designs.c - the design table as an array. See designs.h.
 */
#include "designs.h"

#include <stddef.h>
#include <string.h>

#define EVB_ROW(id, name, binary, backend, alias, props, color, ...) \
	{ name, binary, backend, alias, props, color },
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

const struct evb_design *evb_design_of_binary(const char *binary)
{
	for (int i = 0; i < evb_ndesigns; i++)
		if (!evb_designs[i].backend && strcmp(evb_designs[i].binary, binary) == 0)
			return &evb_designs[i];
	return NULL;
}

bool evb_design_has(const char *binary, unsigned prop)
{
	const struct evb_design *d = evb_design_of_binary(binary);

	return d && (d->props & prop);
}
