/*
 * agents_opts.c - the coordinator's options on evbench's command line
 * (--agents, --latency-agent, --ssh-opts, ...): see agents.h.
 */
#include "agents.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void agents_spec_default(struct agents_spec *s)
{
	memset(s, 0, sizeof *s);
	s->max_offset_s = 0.1;
	s->latency_rate = 100;
	s->latency_conns = 4;
}

int agents_parse(struct agents_spec *s, const char *list, bool latency, char *err, size_t errlen)
{
	char buf[4096], *save = NULL;

	if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf) {
		snprintf(err, errlen, "the list of agents is too long");
		return -1;
	}
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct agents_host *h = &s->hosts[s->n];

		if (s->n >= AGENTS_MAX) {
			snprintf(err, errlen, "more than %d agents", AGENTS_MAX);
			return -1;
		}
		memset(h, 0, sizeof *h);
		if (!strcmp(t, "local")) {
			h->local = true;
			snprintf(h->host, sizeof h->host, "local");
		} else if (!strncmp(t, "via:", 4) && t[4] && strlen(t + 4) < sizeof h->host) {
			/* Any command that runs its arguments with our pipes as
			 * their stdin and stdout: ip netns exec NS, kubectl exec
			 * -i POD --, docker exec -i C. */
			h->local = true;
			snprintf(h->via, sizeof h->via, "%s", t + 4);
			snprintf(h->host, sizeof h->host, "%s", t + 4);
		} else if (!strncmp(t, "ssh:", 4) && t[4] && t[4] != '-' &&
			   !strpbrk(t + 4, " \t'\"\\;&|<>$`") && strlen(t + 4) < sizeof h->host) {
			snprintf(h->host, sizeof h->host, "%s", t + 4);
		} else {
			snprintf(err, errlen, "an agent must be ssh:HOST, via:COMMAND or local, got '%s'", t);
			return -1;
		}
		h->latency = latency;
		s->n++;
		if (!latency)
			s->nload++;
	}
	if (!s->n) {
		snprintf(err, errlen, "no agent in '%s'", list);
		return -1;
	}
	return 0;
}

const char *const agents_option_names[] = {
	"agents", "latency-agent", "ssh-opts", "agent-bin", "agent-host", "max-clock-offset",
	"latency-rate", NULL
};

static int number(const char *name, const char *val, double lo, double *out, char *err,
		  size_t errlen)
{
	char *end;

	errno = 0;
	*out = strtod(val, &end);
	if (errno || end == val || *end || !(*out >= lo)) {
		snprintf(err, errlen, "--%s: expected a number >= %g, got '%s'", name, lo, val);
		return -1;
	}
	return 0;
}

int agents_option(struct agents_spec **sp, const char *name, const char *val, char *err,
		  size_t errlen)
{
	struct agents_spec *s = *sp;

	if (!s) {
		if (!(s = *sp = malloc(sizeof *s))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		agents_spec_default(s);
	}
	if (!strcmp(name, "agents") || !strcmp(name, "latency-agent")) {
		bool latency = name[0] == 'l';

		/* Load agents first, then latency agents: a share's index is
		 * its place among the load agents. */
		if (!latency && s->n > s->nload) {
			snprintf(err, errlen, "--agents must come before --latency-agent");
			return -1;
		}
		return agents_parse(s, val, latency, err, errlen);
	}
	if (!strcmp(name, "ssh-opts"))
		return snprintf(s->ssh_opts, sizeof s->ssh_opts, "%s", val) < (int)sizeof s->ssh_opts
			       ? 0 : (snprintf(err, errlen, "--ssh-opts: too long"), -1);
	if (!strcmp(name, "agent-bin"))
		return snprintf(s->agent_bin, sizeof s->agent_bin, "%s", val) < (int)sizeof s->agent_bin
			       ? 0 : (snprintf(err, errlen, "--agent-bin: too long"), -1);
	if (!strcmp(name, "agent-host")) {
		unsigned char a[16];

		if (inet_pton(AF_INET, val, a) != 1 && inet_pton(AF_INET6, val, a) != 1) {
			snprintf(err, errlen, "--agent-host: expected a numeric IPv4 or IPv6 address, "
				 "got '%s'", val);
			return -1;
		}
		snprintf(s->target, sizeof s->target, "%s", val);
		return 0;
	}
	if (!strcmp(name, "max-clock-offset"))
		return number(name, val, 0, &s->max_offset_s, err, errlen);
	if (!strcmp(name, "latency-rate"))
		return number(name, val, 0.001, &s->latency_rate, err, errlen);
	snprintf(err, errlen, "unknown option '--%s'", name);
	return -1;
}

int agents_check(const struct agents_spec *s, char *err, size_t errlen)
{
	if (!s->nload) {
		snprintf(err, errlen, "--agents: no load agent given");
		return -1;
	}
	for (int i = 0; i < s->n; i++)
		if (!s->hosts[i].local && !s->target[0]) {
			snprintf(err, errlen, "--agents: an agent reached by ssh needs --agent-host ADDR, "
				 "the address where it reaches this host's servers");
			return -1;
		}
	return 0;
}
