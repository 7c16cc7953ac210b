/*
 * lesson.h - `evbench lesson NAME`: the classic experiments about select,
 * poll, epoll, a process and a thread per connection, each one command.
 *
 * A lesson is a list of ordinary evbench options (its sweep: servers,
 * connection counts, load, rounds, --mechanism on, --plot) that main() runs
 * through the one sweep it has, and a verdict that reads the sweep's rows
 * and says what they show, with numbers measured in that sweep and the
 * paired intervals of "Comparisons" (docs/results.md). Nothing in a verdict
 * is a figure written in advance. docs/teaching.md walks through them.
 *
 * Conventions: nothing exits; the verdicts print to the FILE they are given.
 */
#ifndef EVBENCH_LESSON_H
#define EVBENCH_LESSON_H

#include <stdio.h>

#include "report.h"

#define LESSON_MAX_ARGS 24

/* What a verdict reads: the sweep's rows, their servers and connection
 * counts, the reference (lesson.c). */
struct lesson_grid;

struct lesson {
	const char *name;
	const char *title;        /* one line for --list */
	const char *read;         /* the files to read beside it */
	const char *plot;         /* the plot under results/<run-id>/plots/ that shows it */
	const char *args[LESSON_MAX_ARGS];   /* its sweep, as evbench options; NULL-ended */
	void (*verdict)(FILE *f, const struct lesson_grid *g);
};

/* The lesson called name, or NULL. */
const struct lesson *lesson_find(const char *name);

/* Prints every lesson: name, title, the command it runs. */
void lesson_list(FILE *f);

/* Builds the evbench command line of lesson l: argv0, the lesson's options,
 * then extra (the user's own, which override the lesson's: --repeat 10,
 * --conns 100,10000, --out DIR...; but --server adds the user's servers to
 * the lesson's, as in --server mine='./mysrv --port {port}'). Returns a malloc'd NULL-terminated
 * array (argc in *argc), or NULL when out of memory. */
char **lesson_argv(const struct lesson *l, const char *argv0, int nextra, char **extra,
		   int *argc);

/* Prints l's verdict on the rows of its sweep (in any order; repeat is the
 * round): what to read, the plot to look at, and the measured figures. */
void lesson_verdict(const struct lesson *l, const struct rep_row *rows, int n, FILE *f);

#endif
