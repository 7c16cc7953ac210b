/*
 * srv_int.h - what the server library's own files share and no server uses.
 */
#ifndef EVBENCH_SERVERS_SRV_INT_H
#define EVBENCH_SERVERS_SRV_INT_H

/* The design's name as srv_init() was given it (usage, ready line, report). */
extern const char *srv__design;

/* Builds the ROT13 table the framing uses (srv_conn.c); srv_init() calls it. */
void srv__rot13_init(void);

/* Opens the spare descriptor srv_accept() gives up at EMFILE (srv_accept.c);
 * the listeners open it once they are bound. */
void srv__spare_open(void);

/* Setup failed: print `rot13-<design>: what: strerror(errno)` on stderr and
 * exit 1 (srv_setup.c). */
void srv__die(const char *what) __attribute__((noreturn));

#endif
