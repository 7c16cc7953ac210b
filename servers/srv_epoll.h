/*
 * srv_epoll.h — the epoll calls the three epoll designs share (epoll-lt,
 * epoll-et, epoll-mt): an instance that watches the listener, a wait that
 * lets a signal through, a connection taken into service and registered,
 * and the level-triggered designs' change of interest.
 *
 * What each design does with what epoll reports stays in its own file: the
 * level-triggered loop that reads once per readiness (rot13_epoll_lt.c), the
 * edge-triggered one that registers a connection once and remembers who
 * still has bytes (rot13_epoll_et.c), the reactor per core (rot13_epoll_mt.c).
 *
 * Errors follow srv.h: setup dies with one line, the connection path counts
 * its failures and carries on.
 */
#ifndef EVBENCH_SERVERS_SRV_EPOLL_H
#define EVBENCH_SERVERS_SRV_EPOLL_H

#include <stdint.h>
#include <sys/epoll.h>

#include "srv.h"

/* A new epoll instance (close-on-exec) that watches the listening socket lfd
 * for EPOLLIN, level-triggered, under a NULL data.ptr: an event whose
 * data.ptr is NULL is the listener's, any other is a connection's. Dies on
 * failure. */
int srv_epoll_open(int lfd);

/* epoll_wait() on epfd for at most timeout_ms: the number of events in
 * events[0..max), 0 when a signal interrupted it (the loop then looks at the
 * stop flag); dies on any other failure. */
int srv_epoll_wait(int epfd, struct epoll_event *events, int max, int timeout_ms);

/* Take the accepted descriptor fd into service (srv_conn_new) and register
 * it with epfd for `events`, under the connection's pointer; the connection
 * then watches SRV_READ (c->watch). NULL when either fails: the descriptor is
 * then closed and the failure counted as an error. */
struct srv_conn *srv_epoll_add(int epfd, int fd, uint32_t events);

/* The level-triggered designs' change of interest (rot13_epoll_lt.c): make
 * epfd watch what `want` (a srv_want mask) asks for, with one
 * epoll_ctl(EPOLL_CTL_MOD) when it differs from c->watch and no call
 * otherwise. SRV_CLOSE, or a failed call (counted as an error), frees the
 * connection; closing its descriptor drops it from the set. */
void srv_epoll_watch(int epfd, struct srv_conn *c, int want);

#endif
