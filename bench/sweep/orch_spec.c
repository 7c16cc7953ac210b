/*
 * orch_spec.c - a server evbench did not build, as the user names it on the
 * command line: NAME=COMMAND ... {port} or NAME=@HOST:PORT [pid=N]
 * (docs/your-server.md). Parsing only: what it makes is an orch_server that
 * orch.c starts and stops like any other. See orch.h.
 */
#include "orch.h"
#include "designs.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The colours of user servers in plots, in the order they are named: none
 * is a design's. */
static const char *const ext_colors[] = { "#17becf", "#e7ba52", "#ad494a", "#637939",
					  "#7b4173", "#5254a3" };

/* Splits a command line into words as a shell splits it, without any
 * expansion: '...' keeps everything, "..." keeps everything but \" and \\,
 * a backslash outside quotes keeps the next character. Returns the words,
 * NULL-terminated, in one allocation with their text; NULL with err. */
static char **split_words(const char *cmd, char *err, size_t errlen)
{
	size_t len = strlen(cmd), nw = 0;
	char **words = malloc((len / 2 + 2) * sizeof *words + len + 1);
	char *out, quote = 0;
	bool inword = false;

	if (!words) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	out = (char *)(words + len / 2 + 2);
	for (const char *c = cmd; *c; c++) {
		if (!quote && isspace((unsigned char)*c)) {
			if (inword)
				*out++ = '\0';
			inword = false;
			continue;
		}
		if (!inword) {
			words[nw++] = out;
			inword = true;
		}
		if (quote) {
			if (*c == quote)
				quote = 0;
			else if (quote == '"' && *c == '\\' && (c[1] == '"' || c[1] == '\\'))
				*out++ = *++c;
			else
				*out++ = *c;
		} else if (*c == '\'' || *c == '"') {
			quote = *c;
		} else if (*c == '\\' && c[1]) {
			*out++ = *++c;
		} else {
			*out++ = *c;
		}
	}
	if (inword)
		*out++ = '\0';
	words[nw] = NULL;
	if (quote) {
		snprintf(err, errlen, "unterminated %c quote", quote);
		free(words);
		return NULL;
	}
	if (nw == 0) {
		snprintf(err, errlen, "the command is empty");
		free(words);
		return NULL;
	}
	return words;
}

/* "@HOST:PORT" or "@[V6]:PORT", then " pid=PID" or nothing. */
static int parse_address(const char *spec, struct orch_server *s, char *err, size_t errlen)
{
	const char *h = spec + 1, *colon, *end;
	char host[sizeof s->host], *e;
	struct in6_addr a6;
	long port, pid = 0;
	size_t hl;

	if (*h == '[') {
		end = strchr(h, ']');
		if (!end || end[1] != ':')
			goto bad;
		hl = (size_t)(end - h - 1);
		h++;
		colon = end + 1;
	} else {
		colon = strchr(h, ':');
		if (!colon)
			goto bad;
		hl = (size_t)(colon - h);
	}
	if (hl == 0 || hl >= sizeof host)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &a6) != 1 && inet_pton(AF_INET6, host, &a6) != 1) {
		snprintf(err, errlen, "'%s': the host must be a numeric IPv4 or IPv6 address", host);
		return -1;
	}
	errno = 0;
	port = strtol(colon + 1, &e, 10);
	if (errno || e == colon + 1 || port < 1 || port > 65535)
		goto bad;
	while (*e == ' ')
		e++;
	if (!strncmp(e, "pid=", 4)) {
		const char *ps = e + 4;

		errno = 0;
		pid = strtol(ps, &e, 10);
		if (errno || e == ps || pid < 1 || pid > 4194304) {
			snprintf(err, errlen, "'%s': pid= takes a process id", spec);
			return -1;
		}
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
			snprintf(err, errlen, "'%s': no process %ld here", spec, pid);
			return -1;
		}
	}
	if (*e)
		goto bad;
	s->kind = ORCH_ADDRESS;
	snprintf(s->host, sizeof s->host, "%s", host);
	s->port = (int)port;
	s->pid = (pid_t)pid;
	snprintf(s->path, sizeof s->path, "%s", spec + 1);
	return 0;
bad:
	snprintf(err, errlen, "'%s': expected @HOST:PORT, @[IPV6]:PORT, optionally ' pid=PID'", spec);
	return -1;
}

int orch_parse_external(const char *name, const char *spec, struct orch_server *s,
			char *err, size_t errlen)
{
	static int nexternal;
	struct evb_design *row;
	size_t nl = strlen(name);

	memset(s, 0, sizeof *s);
	if (nl == 0 || nl >= sizeof s->name ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != nl) {
		snprintf(err, errlen, "'%s': a server's name is letters, digits, '_' or '-', under "
			 "%zu characters", name, sizeof s->name);
		return -1;
	}
	if (evb_design_find(name) || !strcmp(name, "all")) {
		snprintf(err, errlen, "'%s' is the name of a built-in design: choose another", name);
		return -1;
	}
	if (spec[0] == '@') {
		if (parse_address(spec, s, err, errlen) < 0)
			return -1;
	} else {
		bool has_port = false;

		if (!(s->argv = split_words(spec, err, errlen)))
			return -1;
		for (char **w = s->argv; *w; w++)
			has_port |= strstr(*w, "{port}") != NULL;
		if (!has_port) {
			snprintf(err, errlen, "'%s': the command must say where the port goes: {port}",
				 spec);
			free(s->argv);
			s->argv = NULL;
			return -1;
		}
		s->kind = ORCH_COMMAND;
		snprintf(s->path, sizeof s->path, "%s", s->argv[0]);
	}
	/* A row of its own, so that everything downstream that takes a row
	 * takes this one: no property of a design, no waiting call known. It
	 * lives as long as evbench. */
	row = calloc(1, sizeof *row);
	if (!row || !(row->name = strdup(name))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	row->binary = s->kind == ORCH_COMMAND ? "command" : "address";
	row->wait = EVB_WAIT_NONE;
	row->color = ext_colors[nexternal++ % (sizeof ext_colors / sizeof *ext_colors)];
	s->d = row;
	snprintf(s->name, sizeof s->name, "%s", name);
	s->built = true;
	return 0;
}
