/*
 * event.h — the libevent 1.x umbrella header, core only: evbase has no
 * buffers, bufferevents, DNS or HTTP.
 */
#ifndef EVENT1_EVENT_H_INCLUDED_
#define EVENT1_EVENT_H_INCLUDED_

#include <event2/event-config.h>
#include <sys/types.h>
#include <sys/time.h>
#include <stdint.h>
#include <stdarg.h>
#include <evutil.h>
#include <event2/event_struct.h>
#include <event2/event.h>
#include <event2/event_compat.h>

#endif /* EVENT1_EVENT_H_INCLUDED_ */
