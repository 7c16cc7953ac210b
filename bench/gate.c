/*
 * gate.c - `evbench gate` (placeholder until the real gate lands).
 */
#include <stdio.h>

#include "gate.h"

int gate_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "evbench gate: not implemented yet\n");
	return 2;
}

/* Temporary: until the evbench engineer's main() lands in bench/, this weak
 * main keeps bin/evbench linkable. A strong main() elsewhere replaces it; it
 * will be deleted once that exists. */
__attribute__((weak)) int main(int argc, char **argv)
{
	if (argc > 1)
		return gate_main(argc - 1, argv + 1);
	fprintf(stderr, "evbench: only `evbench gate` exists so far\n");
	return 2;
}
