/*
 * log.c — messages, fatal errors, debug mode, versions: the library's
 * global settings. Messages go to the program's log callback, or to stderr
 * as "[warn] text" when it has none; nothing else in evbase prints.
 */
#include "evb-internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static event_log_cb log_fn;
static event_fatal_cb fatal_fn;
int evb_debug_logging;
int evb_debug_mode;
int evb_bases_created;

/* ---- logging ------------------------------------------------------------ */

void evb_log(int severity, const char *fmt, ...)
{
	static const char *const names[] = { "debug", "msg", "warn", "err" };
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log_fn)
		log_fn(severity, buf);
	else
		fprintf(stderr, "[%s] %s\n",
		    names[severity >= 0 && severity <= 3 ? severity : 2], buf);
}

/* A programming error debug mode caught: there is no sane way on. */
void evb_fatal(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	evb_log(EVENT_LOG_ERR, "%s", buf);
	if (fatal_fn) {
		fatal_fn(0xdeaddead);
		exit(0xdeaddead);	/* the callback must not return */
	}
	abort();
}

void event_set_log_callback(event_log_cb cb) { log_fn = cb; }
void event_set_fatal_callback(event_fatal_cb cb) { fatal_fn = cb; }
void event_enable_debug_logging(ev_uint32_t which) { evb_debug_logging = which != 0; }

void event_enable_debug_mode(void)
{
	if (evb_debug_mode)
		evb_fatal("%s was called twice!", __func__);
	if (evb_bases_created)
		evb_fatal("%s must be called *before* creating any events or "
		    "event_bases", __func__);
	evb_debug_mode = 1;
}

void event_debug_unassign(struct event *ev)
{
	if (ev)
		ev->ev_flags &= ~EVLIST_INIT;
}

const char *event_get_version(void) { return EVENT__VERSION; }
ev_uint32_t event_get_version_number(void) { return EVENT__NUMERIC_VERSION; }
size_t event_get_struct_event_size(void) { return sizeof(struct event); }

void libevent_global_shutdown(void)
{
	/* Nothing is allocated globally; forget the settings. */
	evb_current_base = NULL;
	log_fn = NULL;
	fatal_fn = NULL;
	evb_debug_logging = 0;
}
