/*
 * config.c — event_config and the choice of a backend.
 *
 * The backends are tried in the order of the table below, libevent's order
 * of preference; a backend is skipped when the config avoids it by name or
 * lacks a required feature, or when EVENT_NO<NAME> is set in the
 * environment (unless the config says EVENT_BASE_FLAG_IGNORE_ENV).
 */
#include "evb-internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Most preferred first; event_get_supported_methods() lists the same order.
 * io_uring, which libevent lacks, comes last: a program gets it only by
 * asking (avoiding the others), so that libevent's choice stays the
 * default. */
static const struct evb_backend *const backends[] = {
	&evb_epollops, &evb_pollops, &evb_selectops, &evb_uringops,
};
#define NBACKENDS ((int)(sizeof(backends) / sizeof(backends[0])))

struct event_config *event_config_new(void)
{
	struct event_config *cfg = evb_calloc(1, sizeof(*cfg));

	if (cfg) {
		cfg->max_dispatch.tv_sec = -1;
		cfg->max_callbacks = INT_MAX;
		cfg->limit_after_prio = 1;
	}
	return cfg;
}

void event_config_free(struct event_config *cfg)
{
	if (!cfg)
		return;
	for (int i = 0; i < cfg->navoid; i++)
		evb_free(cfg->avoid[i]);
	evb_free(cfg->avoid);
	evb_free(cfg);
}

int event_config_avoid_method(struct event_config *cfg, const char *method)
{
	char **a, *s;

	if (!cfg || !method || !(s = evb_strdup(method)))
		return -1;
	if (!(a = evb_realloc(cfg->avoid, (size_t)(cfg->navoid + 1) * sizeof(*a)))) {
		evb_free(s);
		return -1;
	}
	a[cfg->navoid++] = s;
	cfg->avoid = a;
	return 0;
}

int event_config_require_features(struct event_config *cfg, int features)
{
	if (!cfg)
		return -1;
	cfg->features = features;
	return 0;
}

int event_config_set_flag(struct event_config *cfg, int flag)
{
	if (!cfg)
		return -1;
	cfg->flags |= flag;
	return 0;
}

int event_config_set_num_cpus_hint(struct event_config *cfg, int cpus)
{
	if (!cfg)
		return -1;
	cfg->num_cpus_hint = cpus;
	return 0;
}

/* libevent's rules: no interval is no time bound, a negative count no count
 * bound, a negative priority 0. */
int event_config_set_max_dispatch_interval(struct event_config *cfg,
    const struct timeval *max_interval, int max_callbacks, int min_priority)
{
	if (!cfg)
		return -1;
	if (max_interval)
		cfg->max_dispatch = *max_interval;
	else
		cfg->max_dispatch.tv_sec = -1;
	cfg->max_callbacks = max_callbacks >= 0 ? max_callbacks : INT_MAX;
	cfg->limit_after_prio = min_priority < 0 ? 0 : min_priority;
	return 0;
}

const char **event_get_supported_methods(void)
{
	static const char *names[NBACKENDS + 1];

	for (int i = 0; i < NBACKENDS; i++)
		names[i] = backends[i]->name;
	return names;
}

/* Whether cfg or the environment rules backend be out. */
static int backend_avoided(const struct event_config *cfg,
    const struct evb_backend *be, int use_env)
{
	if (cfg) {
		for (int i = 0; i < cfg->navoid; i++)
			if (!strcmp(cfg->avoid[i], be->name))
				return 1;
		if ((be->features & cfg->features) != cfg->features)
			return 1;
	}
	if (use_env) {
		char var[32] = "EVENT_NO";
		size_t n = strlen(var);
		for (const char *p = be->name; *p && n < sizeof(var) - 1; p++)
			var[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		var[n] = '\0';
		if (getenv(var))
			return 1;
	}
	return 0;
}

void evb_backend_init(struct event_base *base, const struct event_config *cfg, int use_env)
{
	for (int i = 0; i < NBACKENDS && !base->be; i++)
		if (!backend_avoided(cfg, backends[i], use_env) &&
		    evb_backend_start(base, backends[i]) == 0)
			base->be = backends[i];
}

int evb_backend_start(struct event_base *base, const struct evb_backend *be)
{
	if (!(base->bd = evb_calloc(1, be->size)))
		return -1;
	if (be->init && be->init(base) < 0) {
		evb_free(base->bd);
		base->bd = NULL;
		return -1;
	}
	return 0;
}

void evb_backend_stop(struct event_base *base)
{
	if (!base->bd)
		return;
	base->be->free(base);
	evb_free(base->bd);
	base->bd = NULL;
}
