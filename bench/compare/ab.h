/*
 * ab.h - when `evbench ab --rounds auto` judges and when it stops: the
 * schedule of a sequential run (docs/gate.md, "Sequential decisions").
 *
 * A sequential run adds rounds and judges what they say only after rounds
 * AB_MIN_ROUNDS, AB_MIN_ROUNDS + AB_LOOK_EVERY, ... AB_MAX_ROUNDS: ten
 * looks. Its intervals pay for every look it may take (cmp_rule.looks =
 * ab_looks(), Bonferroni), so a run that judged more often than its
 * schedule would spend more false alarms than alpha allows. Ten, not one
 * per round from the fifth (46): each look widens every interval, while a
 * round adds about a tenth of the evidence at 10 rounds; 46 looks widen the
 * intervals by about a fifth at 20 rounds (t at 0.05/46 against 0.05/10).
 *
 * Conventions: pure functions; nothing prints or exits.
 */
#ifndef EVBENCH_AB_H
#define EVBENCH_AB_H

#include <stdbool.h>

#include "compare.h"

#define AB_MIN_ROUNDS  5
#define AB_MAX_ROUNDS  50
#define AB_LOOK_EVERY  5

/* Whether a sequential run judges after round `round` (1-based). */
bool ab_is_look(int round);

/* The looks a sequential run may take: what its correction pays for. */
int ab_looks(void);

/* Whether a sequential run stops after round `round`, res[0..n) being its
 * comparisons over the rounds so far: only at a look, and only when every
 * comparison that rule gates is decided (none undecided, none short of
 * rounds). The budget is the caller's. */
bool ab_stops(const struct cmp_result *res, int n, const struct cmp_rule *rule, int round);

#endif
