/*
 * tsan_race.c - a data race on purpose, for `make tsan-check` to prove that
 * its setup sees one (tests/tsan/test_tsan.c, case planted_race_is_reported).
 *
 *   tsan_race
 *
 * Two threads add to one counter without a lock or an atomic, the bug the
 * check exists to catch in the servers. Built with -fsanitize=thread, the run
 * must produce a ThreadSanitizer report and exit 66; a run that stays silent
 * means the check is blind (an uninstrumented build, reports sent nowhere),
 * and every "no report" it gives about the servers would be worthless.
 * Prints the counter and exits 0 when not instrumented.
 */
#include <pthread.h>
#include <stdio.h>

#define ADDS 100000

static long counter; /* shared, unprotected: the planted race */

static void *add(void *arg)
{
	(void)arg;
	for (int i = 0; i < ADDS; i++)
		counter++;
	return NULL;
}

int main(void)
{
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, add, NULL) != 0) {
			perror("tsan_race: pthread_create");
			return 1;
		}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("%ld\n", counter);
	return 0;
}
