/* evutil.h — the libevent 1.x name for event2/util.h. */
#ifndef EVUTIL_H_INCLUDED_
#define EVUTIL_H_INCLUDED_
#include <event2/util.h>
#endif /* EVUTIL_H_INCLUDED_ */
