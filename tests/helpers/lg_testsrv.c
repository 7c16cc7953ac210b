/*
 * lg_testsrv.c - a ROT13 line server with faults on request, for the load
 * generator's tests. Not a design under test: one thread, level-triggered
 * epoll, small and obvious.
 *
 *   lg_testsrv [--port N] [--corrupt N] [--stall-after S --stall-for S]
 *
 *   --corrupt N      flip one bit (0x20) of every N-th byte sent, counting over
 *                    all connections: a liar the load generator must catch.
 *                    Which offsets within a line it hit is reported, so that
 *                    a test can make sure every position (the '\n' too) was
 *                    tried: with one connection and N prime to the line
 *                    size, N-th bytes walk through all of them
 *   --stall-after S  S seconds after the first request byte arrives, stop
 *   --stall-for S    serving for S seconds, once (a GC pause, a swap storm)
 *
 * Prints `ready lg-testsrv port=P pid=PID`; on SIGTERM one flat JSON line:
 * accepted, closed, bytes_in, bytes_out, flipped, flip_positions (distinct
 * offsets within a line, 0 = first byte, that a flip hit; offsets past
 * MAXPOS are not told apart), talkers (connections that
 * sent at least one byte), stalls, peers (distinct peer addresses), and one
 * "peer_<addr>": connections key per peer address (at most 16).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXPEERS 16
#define MAXPOS   4096

struct conn {
	struct conn *prev, *next;   /* every open connection, so a stop can free them */
	int    fd;
	int    talked;
	size_t col;        /* offset within the current line of the next byte sent */
	char  *out;        /* replies not yet sent */
	size_t outlen, outcap;
};

static volatile sig_atomic_t stop;
static unsigned long long accepted, closed_n, bytes_in, bytes_out, flipped, talkers, stalls;
static unsigned long long corrupt_every, out_count;
static struct { char addr[INET6_ADDRSTRLEN]; unsigned long long n; } peers[MAXPEERS];
static int npeers;
static unsigned char flipped_at[MAXPOS + 1];
static unsigned flip_positions;

static void on_term(int sig) { (void)sig; stop = 1; }

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void note_peer(const struct sockaddr_in *sa)
{
	char a[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET, &sa->sin_addr, a, sizeof a);
	for (int i = 0; i < npeers; i++)
		if (strcmp(peers[i].addr, a) == 0) {
			peers[i].n++;
			return;
		}
	if (npeers < MAXPEERS) {
		strcpy(peers[npeers].addr, a);
		peers[npeers++].n = 1;
	}
}

static struct conn *conns;   /* the open connections */

static void link_conn(struct conn *c)
{
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
}

static void unlink_conn(struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

static void drop(int ep, struct conn *c)
{
	unlink_conn(c);
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
	closed_n++;
}

/* Sends what is pending; returns -1 when the connection died. */
static int flush_out(int ep, struct conn *c)
{
	while (c->outlen) {
		ssize_t w = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				return 0;
			}
			return -1;
		}
		bytes_out += (unsigned long long)w;
		memmove(c->out, c->out + w, c->outlen - (size_t)w);
		c->outlen -= (size_t)w;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

int main(int argc, char **argv)
{
	int port = 0;
	double stall_after = -1, stall_for = 0, first = -1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--corrupt") == 0)
			corrupt_every = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--stall-after") == 0)
			stall_after = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--stall-for") == 0)
			stall_for = atof(argv[i + 1]);
		else {
			fprintf(stderr, "lg_testsrv: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sin;
	if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) < 0) {
		perror("lg_testsrv: listen");
		return 1;
	}
	int ep = epoll_create1(0);
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
	printf("ready lg-testsrv port=%d pid=%d\n", ntohs(sin.sin_port), (int)getpid());
	fflush(stdout);

	static char buf[65536];
	struct epoll_event evs[256];
	while (!stop) {
		if (stall_after >= 0 && first >= 0 && now_s() - first >= stall_after) {
			/* The stall: nothing is read or written meanwhile. */
			struct timespec ts = { (time_t)stall_for,
					       (long)((stall_for - (double)(time_t)stall_for) * 1e9) };
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop)
				;
			stall_after = -1;
			stalls++;
		}
		int n = epoll_wait(ep, evs, 256, 20);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c) {
				struct sockaddr_in peer;
				socklen_t pl = sizeof peer;
				int fd;
				while ((fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK)) >= 0) {
					accepted++;
					note_peer(&peer);
					c = calloc(1, sizeof *c);
					c->fd = fd;
					link_conn(c);
					struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
					pl = sizeof peer;
				}
				continue;
			}
			if (evs[i].events & EPOLLOUT) {
				if (flush_out(ep, c) < 0) {
					drop(ep, c);
					continue;
				}
			}
			if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->outlen > 65536)
				continue;
			ssize_t r = recv(c->fd, buf, sizeof buf, 0);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				drop(ep, c);
				continue;
			}
			if (first < 0)
				first = now_s();
			if (!c->talked) {
				c->talked = 1;
				talkers++;
			}
			bytes_in += (unsigned long long)r;
			/* Lines need no framing here: rot13 is byte by byte, so
			 * transforming whatever arrived keeps the stream invariant. */
			for (ssize_t k = 0; k < r; k++) {
				char ch = buf[k];
				if (ch >= 'a' && ch <= 'z')
					ch = (char)('a' + (ch - 'a' + 13) % 26);
				else if (ch >= 'A' && ch <= 'Z')
					ch = (char)('A' + (ch - 'A' + 13) % 26);
				if (corrupt_every && ++out_count % corrupt_every == 0) {
					size_t pos = c->col < MAXPOS ? c->col : MAXPOS;
					if (!flipped_at[pos]) {
						flipped_at[pos] = 1;
						flip_positions++;
					}
					ch ^= 0x20;
					flipped++;
				}
				c->col = buf[k] == '\n' ? 0 : c->col + 1;
				buf[k] = ch;
			}
			if (c->outlen + (size_t)r > c->outcap) {
				c->outcap = (c->outlen + (size_t)r) * 2;
				c->out = realloc(c->out, c->outcap);
			}
			memcpy(c->out + c->outlen, buf, (size_t)r);
			c->outlen += (size_t)r;
			if (flush_out(ep, c) < 0)
				drop(ep, c);
		}
	}
	/* What the client established before the stop is in the backlog even if
	 * this loop had no turn to accept it yet: count it now, so that the
	 * report does not depend on how fast this process was scheduled. */
	for (;;) {
		struct sockaddr_in peer;
		socklen_t pl = sizeof peer;
		int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, 0);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		accepted++;
		note_peer(&peer);
		close(fd);
		closed_n++;
	}
	/* Connections still open at the stop are released without counting
	 * them as closed, so the report is what it always was, and a
	 * LeakSanitizer build of this helper reports no leak. */
	while (conns) {
		struct conn *c = conns;

		unlink_conn(c);
		close(c->fd);
		free(c->out);
		free(c);
	}
	printf("{\"accepted\":%llu,\"closed\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
	       "\"flipped\":%llu,\"flip_positions\":%u,\"talkers\":%llu,\"stalls\":%llu,\"peers\":%d",
	       accepted, closed_n, bytes_in, bytes_out, flipped, flip_positions, talkers, stalls, npeers);
	for (int i = 0; i < npeers; i++)
		printf(",\"peer_%s\":%llu", peers[i].addr, peers[i].n);
	printf("}\n");
	fflush(stdout);
	return 0;
}
