/*
 * keeper.h - the process that holds a user's server command (orch.h, "a
 * command"), so that nothing the command starts outlives evbench.
 *
 * evbench forks the keeper in a PID namespace of its own when the kernel
 * allows it (clone(CLONE_NEWPID) needs CAP_SYS_ADMIN), and the keeper forks
 * and execs the command. What the keeper guarantees, in each case:
 *  - evbench stops the server: SIGTERM to the keeper, which passes it to the
 *    command and exits with the command's status once the command has gone,
 *    after killing whatever the command left behind. SIGUSR1 asks it to
 *    SIGKILL everything now (the command ignored SIGTERM).
 *  - evbench dies, even by SIGKILL: in a namespace, the kernel kills the
 *    keeper (PR_SET_PDEATHSIG) and with it, as it is the namespace's init,
 *    every process of the namespace, whatever group or session it moved to.
 *    Without one, the keeper is a child subreaper (PR_SET_CHILD_SUBREAPER):
 *    the command's orphans become its children, and when evbench's end of
 *    the lifeline pipe closes (or PR_SET_PDEATHSIG's SIGUSR1 arrives) it
 *    kills its children, and what they leave it, until none is left. A
 *    process that escapes both (a double fork whose middle process the
 *    keeper never saw exit) cannot exist in a namespace; without one it is
 *    reparented to the keeper too, so it is only missed if it outlives the
 *    keeper's last sweep (docs/your-server.md says so).
 *
 * The keeper's exit status is the command's: its exit code, or 128 + the
 * signal that killed it. Every orphan it reaps adds its CPU to the keeper's
 * rusage, so wait4() on the keeper gives the CPU of the whole tree.
 */
#ifndef EVBENCH_KEEPER_H
#define EVBENCH_KEEPER_H

#include <stdbool.h>

/*
 * Runs as the keeper, in the child of fork() or clone(): argv is the
 * command (argv[0] looked up in PATH), its stdout and stderr go to outfd and
 * errfd, its stdin is /dev/null; lifeline is the read end of a pipe whose
 * write end only evbench holds. pidns says the caller is init of a new PID
 * namespace. Never returns.
 */
void keeper_run(char **argv, int outfd, int errfd, int lifeline, bool pidns)
	__attribute__((noreturn));

/*
 * In a child of fork(), after its own set-up: stdin from /dev/null, stdout
 * and stderr to outfd and errfd, no other descriptor, the default signal
 * mask and dispositions, then exec argv (looked up in PATH with
 * search_path). Never returns; a failed exec says why on errfd, status 127.
 * evbench's servers and a user's command are started through it.
 */
void keeper_exec(char **argv, int outfd, int errfd, bool search_path) __attribute__((noreturn));

#endif
