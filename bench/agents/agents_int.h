/*
 * agents_int.h - what the coordinator's files share (agents.c, agents_proc.c):
 * one agent's process and the pipes to it. Not a public interface: the
 * manual is agents.h.
 */
#ifndef EVBENCH_AGENTS_INT_H
#define EVBENCH_AGENTS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define ERR_TAIL 600   /* bytes of an agent's stderr kept for its failure */

/* One agent: ssh (or the local agent) in its own process group, and the
 * three pipes to it. */
struct agent_proc {
	pid_t  pid;
	int    in, out, errfd;     /* its stdin (ours to write), stdout, stderr; -1 closed */
	char  *buf;                /* stdout not yet taken as lines */
	size_t len, cap;
	char   errtail[ERR_TAIL];  /* the last of its stderr */
	size_t errlen;
	bool   connected, measuring, drained, done;
	char  *result;             /* the JSON of its "result" line */
	int    status;             /* wait status once reaped, -1 before */
};

/* CLOCK_REALTIME and CLOCK_MONOTONIC in seconds. */
double agents__realtime_s(void);
double agents__mono_s(void);

/* Starts argv (execvp) with its stdin, stdout and stderr piped to *p, in
 * its own process group, killed if evbench dies. Returns 0 or -1 (errno). */
int agents__spawn(struct agent_proc *p, char *const argv[]);

/* Closes *fd when open and sets it to -1. */
void agents__close_fd(int *fd);

/* Keeps the last ERR_TAIL bytes of what the agent wrote on stderr. */
void agents__drain_err(struct agent_proc *p);

/* Reads what its stdout has now. Returns 1 while open, 0 at its end. */
int agents__fill(struct agent_proc *p);

/* Takes one whole line (without its newline) out of what was read, into
 * *line (malloc'ed). Returns 1, or 0 when there is no whole line yet. */
int agents__take_line(struct agent_proc *p, char **line);

/* The next line of the agent's stdout (malloc'ed), waiting until the
 * monotonic deadline; NULL at its end or the deadline. */
char *agents__next_line(struct agent_proc *p, double deadline);

/* Writes one formatted line to the agent's stdin. Returns 0 or -1. */
int agents__say(struct agent_proc *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Closes every agent's stdin, gives each 3 s to exit on its own, then
 * kills what is left of its process group and reaps it. */
void agents__end_all(struct agent_proc *ps, int n);

#endif
