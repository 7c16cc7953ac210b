/*
 * ab.c - the schedule of a sequential `evbench ab`; see ab.h.
 */
#include "ab.h"

#include <stdlib.h>

#include "gate.h"

bool ab_is_look(int round)
{
	return round >= AB_MIN_ROUNDS && round <= AB_MAX_ROUNDS &&
	       (round - AB_MIN_ROUNDS) % AB_LOOK_EVERY == 0;
}

int ab_looks(void)
{
	return (AB_MAX_ROUNDS - AB_MIN_ROUNDS) / AB_LOOK_EVERY + 1;
}

bool ab_stops(const struct cmp_result *res, int n, const struct cmp_rule *rule, int round)
{
	struct cmp_judgement *j;
	int status;

	if (!ab_is_look(round) || n <= 0)
		return false;
	j = calloc((size_t)n * CMP_NMETRICS, sizeof *j);
	if (!j)
		return false;   /* judged again at the next look */
	cmp_judge(res, n, rule, j);
	status = gate_paired_status(j, n);
	free(j);
	return status == GATE_PASS || status == GATE_REGRESSION;
}
