/*
 * srv_conn.c - a connection's life after accept(): the table of live
 * connections, the line buffer and ROT13 framing, the reply queue and its
 * backpressure, idle timeouts, and the blocking loop of fork and threads.
 * See srv.h for the contract of each function.
 */
#include "srv.h"
#include "srv_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static unsigned char rot13[256];

void srv__rot13_init(void)
{
	for (int i = 0; i < 256; i++) {
		int c = i;
		if (c >= 'a' && c <= 'z')
			c = 'a' + (c - 'a' + 13) % 26;
		else if (c >= 'A' && c <= 'Z')
			c = 'A' + (c - 'A' + 13) % 26;
		rot13[i] = (unsigned char)c;
	}
}

/* ---- connections ---------------------------------------------------------- */

void srv_conn_opened(void)
{
	uint64_t live = __atomic_add_fetch(&srv_ctr->live, 1, __ATOMIC_RELAXED);
	uint64_t peak = __atomic_load_n(&srv_ctr->peak_conns, __ATOMIC_RELAXED);

	SRV_COUNT(accepted, 1);
	while (live > peak && !__atomic_compare_exchange_n(&srv_ctr->peak_conns, &peak, live, true,
							   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void srv_conn_closed(int fd)
{
	if (fd >= 0)
		close(fd);
	__atomic_sub_fetch(&srv_ctr->live, 1, __ATOMIC_RELAXED);
	SRV_COUNT(closed, 1);
}

/* Every live connection by descriptor: select and poll find theirs here, and
 * the stop closes what is left. Grown on demand, never shrunk. One per
 * thread: a reactor per thread (epoll-mt) files, sweeps and frees only its
 * own connections, and a single-threaded design has just the one. */
static __thread struct srv_conn **table;
static __thread size_t table_len;
/* srv_conn_readable's buffer, the thread's own, made on its first read. */
static __thread char *read_buf;

struct srv_conn *srv_conn_new(int fd)
{
	struct srv_conn *c = calloc(1, sizeof *c);

	if (c != NULL && (size_t)fd >= table_len) {
		size_t len = table_len ? table_len : 1024;
		while (len <= (size_t)fd)
			len *= 2;
		struct srv_conn **t = realloc(table, len * sizeof *t);
		if (t == NULL) {
			free(c);
			c = NULL;
		} else {
			memset(t + table_len, 0, (len - table_len) * sizeof *t);
			table = t;
			table_len = len;
		}
	}
	if (c == NULL) {
		close(fd);
		SRV_COUNT(errors, 1);
		return NULL;
	}
	c->fd = fd;
	if (srv_opts.idle_timeout_s)
		c->last_ms = srv_now_ms();
	table[fd] = c;
	srv_conn_opened();
	return c;
}

struct srv_conn *srv_conn_get(int fd)
{
	return (size_t)fd < table_len ? table[fd] : NULL;
}

void srv_conn_free(struct srv_conn *c)
{
	int fd = c->fd;

	srv_conn_release(c);
	close(fd);
}

void srv_conn_release(struct srv_conn *c)
{
	table[c->fd] = NULL;
	srv_conn_closed(-1);
	free(c->line);
	free(c->out);
	free(c);
}

void srv_conn_free_all(void (*release)(struct srv_conn *))
{
	for (size_t fd = 0; fd < table_len; fd++) {
		if (table[fd] == NULL)
			continue;
		if (release != NULL)
			release(table[fd]);
		srv_conn_free(table[fd]);
	}
	free(table);
	table = NULL;
	table_len = 0;
	free(read_buf);
	read_buf = NULL;
}

int64_t srv_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A byte moved: the connection is not idle. A clock read costs some 20 ns,
 * but without --idle-timeout nobody looks, so it is not paid. */
static inline void touch(struct srv_conn *c)
{
	if (srv_opts.idle_timeout_s)
		c->last_ms = srv_now_ms();
}

int srv_idle_sweep(void (*close_conn)(struct srv_conn *))
{
	static __thread int64_t last_sweep;
	int64_t now, limit = (int64_t)srv_opts.idle_timeout_s * 1000;
	int closed = 0;

	if (limit == 0)
		return 0;
	now = srv_now_ms();
	if (now - last_sweep < SRV_IDLE_SWEEP_MS)
		return 0;
	last_sweep = now;
	/* By descriptor: close_conn empties the slot it frees, and nothing is
	 * accepted meanwhile, so the walk sees each connection once. */
	for (size_t fd = 0; fd < table_len; fd++) {
		struct srv_conn *c = table[fd];

		if (c != NULL && now - c->last_ms >= limit) {
			SRV_COUNT(idle_closed, 1);
			close_conn(c);
			closed++;
		}
	}
	return closed;
}

/* A failed read or write ends the connection; say why in the counters.
 * Failures our own stop causes (threads shuts its sockets down) are not news. */
void srv_count_failure(int err)
{
	if (srv_stopping())
		return;
	if (err == ECONNRESET || err == EPIPE)
		SRV_COUNT(resets, 1);
	else
		SRV_COUNT(errors, 1);
}

/* Keep what the kernel did not take, after what is already waiting. */
static int queue(struct srv_conn *c, const struct iovec *iov, int cnt)
{
	size_t need = srv_conn_pending(c);

	for (int i = 0; i < cnt; i++)
		need += iov[i].iov_len;
	if (c->out_off > 0) { /* slide the unsent tail to the front first */
		memmove(c->out, c->out + c->out_off, srv_conn_pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < need)
			cap *= 2;
		char *p = realloc(c->out, cap);
		if (p == NULL) {
			SRV_COUNT(errors, 1);
			return -1;
		}
		c->out = p;
		c->out_cap = cap;
	}
	for (int i = 0; i < cnt; i++) {
		if (iov[i].iov_len == 0) /* its base may be NULL, which memcpy may not see */
			continue;
		memcpy(c->out + c->out_len, iov[i].iov_base, iov[i].iov_len);
		c->out_len += iov[i].iov_len;
	}
	return 0;
}

/*
 * Send a then b. With nothing already waiting they go straight to the socket,
 * and only what the kernel refuses is copied; a blocking connection loops until
 * all is sent. Returns -1 when the connection must end.
 */
static int emit(struct srv_conn *c, const char *a, size_t alen, const char *b, size_t blen)
{
	struct iovec iov[2] = {{(void *)a, alen}, {(void *)b, blen}};
	struct iovec *v = iov;
	int cnt = 2;

	if (srv_conn_pending(c) == 0 && !c->deferred) {
		while (cnt > 0) {
			ssize_t w = writev(c->fd, v, cnt);
			if (w < 0) {
				if (errno == EINTR && !srv_stopping())
					continue;
				if (errno == EAGAIN && !c->blocking)
					break;
				if (errno == EAGAIN) /* SO_SNDTIMEO: the client read nothing for that long */
					SRV_COUNT(idle_closed, 1);
				else if (errno != EINTR)
					srv_count_failure(errno);
				return -1;
			}
			SRV_COUNT(bytes_out, (uint64_t)w);
			touch(c);
			while (cnt > 0 && (size_t)w >= v->iov_len) {
				w -= (ssize_t)v->iov_len;
				v++, cnt--;
			}
			if (cnt > 0) {
				v->iov_base = (char *)v->iov_base + w;
				v->iov_len -= (size_t)w;
				if (!c->blocking)
					break; /* a short write means the buffer is full */
				/* A stop signal that lands during a blocking write which
				 * had already sent something does not make it fail with
				 * EINTR: it returns short. Going on would block again,
				 * until the fork server's SIGKILL. */
				if (srv_stopping())
					return -1;
			}
		}
	}
	return cnt > 0 ? queue(c, v, cnt) : 0;
}

/* --work-us, --work-ns: burn the CPU for this long, the cost of a request's
 * real work. Nanoseconds, because a request here costs a few µs in all and a
 * 10% slowdown is a fraction of one. */
static void burn(uint64_t ns)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((int64_t)(t.tv_sec - t0.tv_sec) * 1000000000 + (t.tv_nsec - t0.tv_nsec) < (int64_t)ns);
}

/*
 * Answer what `n` fresh bytes complete. They are rot13'd in place (under
 * --echo they stay as they came, the one difference echo makes); every byte
 * up to the last newline is sent, and so is every full max_line of a line
 * without one; what is left waits in c->line. The bytes sent are always a
 * prefix of (c->line, data), so one writev covers both.
 */
static int consume(struct srv_conn *c, char *data, size_t n)
{
	const size_t max = srv_opts.max_line;
	uint64_t lines = 0, oversize = 0;
	size_t run = c->line_len; /* bytes of the current line so far, no '\n' */
	char *p = data, *end = data + n, *nl;
	size_t keep;

	SRV_COUNT(bytes_in, n);
	if (!srv_opts.echo)
		for (size_t i = 0; i < n; i++)
			data[i] = (char)rot13[(unsigned char)data[i]];
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		run += (size_t)(nl - p);
		oversize += run / max; /* the buffer filled this often before the '\n' */
		run = 0;
		lines++;
		p = nl + 1;
	}
	run += (size_t)(end - p);
	oversize += run / max;
	keep = run % max;

	if (lines == 0 && oversize == 0) { /* all of it extends the partial line */
		if (c->line == NULL && (c->line = malloc(max)) == NULL) {
			SRV_COUNT(errors, 1);
			return -1;
		}
		memcpy(c->line + c->line_len, data, n);
		c->line_len += n;
		return 0;
	}
	if (lines)
		SRV_COUNT(lines, lines);
	if (oversize)
		SRV_COUNT(oversize, oversize);
	if (srv_opts.work_ns)
		burn(lines * srv_opts.work_ns);
	if (emit(c, c->line, c->line_len, data, n - keep) < 0)
		return -1;
	c->line_len = 0;
	if (keep == 0) {
		free(c->line);
		c->line = NULL;
		return 0;
	}
	if (c->line == NULL && (c->line = malloc(max)) == NULL) {
		SRV_COUNT(errors, 1);
		return -1;
	}
	memcpy(c->line, end - keep, keep);
	c->line_len = keep;
	return 0;
}

/* The client half-closed: what is left of its last line goes back as it is. */
static int finish(struct srv_conn *c)
{
	int rc = emit(c, c->line, c->line_len, NULL, 0);

	c->eof = true;
	free(c->line);
	c->line = NULL;
	c->line_len = 0;
	return rc;
}

int srv_conn_want(const struct srv_conn *c)
{
	size_t pending = srv_conn_pending(c) + c->sending;

	if (c->eof)
		return pending ? SRV_WRITE : SRV_CLOSE;
	return (pending ? SRV_WRITE : 0) | (pending > srv_opts.max_pending ? 0 : SRV_READ);
}

int srv_conn_readable(struct srv_conn *c, bool edge)
{
	size_t turn = 0;

	/* One buffer per thread, not on the stack: the threads design's
	 * stacks are 64 KiB, and static thread-local storage comes out of them. */
	if (read_buf == NULL && (read_buf = malloc(SRV_READ_TURN)) == NULL) {
		SRV_COUNT(errors, 1);
		return SRV_CLOSE;
	}

	while (!c->eof && srv_conn_pending(c) <= srv_opts.max_pending) {
		if (turn >= SRV_READ_TURN) /* edge only: the others' turn (srv.h) */
			return srv_conn_want(c) | SRV_MORE;
		ssize_t n = read(c->fd, read_buf, SRV_READ_TURN);
		if (n > 0) {
			touch(c);
			if (consume(c, read_buf, (size_t)n) < 0)
				return SRV_CLOSE;
			turn += (size_t)n;
			if (!edge)
				break;
		} else if (n == 0) {
			if (finish(c) < 0)
				return SRV_CLOSE;
		} else if (errno == EAGAIN) {
			break;
		} else if (errno != EINTR) {
			srv_count_failure(errno);
			return SRV_CLOSE;
		}
	}
	return srv_conn_want(c);
}

int srv_conn_writable(struct srv_conn *c)
{
	while (srv_conn_pending(c) > 0) {
		ssize_t w = write(c->fd, c->out + c->out_off, srv_conn_pending(c));
		if (w < 0) {
			if (errno == EAGAIN)
				break;
			if (errno == EINTR)
				continue;
			srv_count_failure(errno);
			return SRV_CLOSE;
		}
		SRV_COUNT(bytes_out, (uint64_t)w);
		touch(c);
		c->out_off += (size_t)w;
	}
	if (srv_conn_pending(c) == 0 && c->out != NULL) {
		/* Give the memory back: most connections never queue a byte. */
		free(c->out);
		c->out = NULL;
		c->out_off = c->out_len = c->out_cap = 0;
	}
	return srv_conn_want(c);
}

int srv_conn_ready(struct srv_conn *c, bool readable, bool writable)
{
	int want = SRV_READ;

	if (writable)
		want = srv_conn_writable(c);
	if ((want & SRV_READ) && readable)
		want = srv_conn_readable(c, false);
	return want;
}

int srv_conn_input(struct srv_conn *c, char *data, size_t n)
{
	if (n == 0)
		return finish(c) < 0 ? SRV_CLOSE : srv_conn_want(c);
	touch(c);
	return consume(c, data, n) < 0 ? SRV_CLOSE : srv_conn_want(c);
}

char *srv_conn_take_out(struct srv_conn *c, size_t *len)
{
	char *p = c->out;

	/* A deferred connection never writes, so its queue starts at 0. */
	*len = c->out_len;
	if (c->out_len == 0)
		return NULL;
	c->sending += c->out_len;
	c->out = NULL;
	c->out_off = c->out_len = c->out_cap = 0;
	return p;
}

int srv_conn_sent(struct srv_conn *c, size_t n)
{
	SRV_COUNT(bytes_out, (uint64_t)n);
	touch(c);
	c->sending -= n;
	return srv_conn_want(c);
}

void srv_serve_blocking(int fd, char *buf, size_t bufsz)
{
	struct srv_conn c = {.fd = fd, .blocking = true};

	if (srv_opts.idle_timeout_s) {
		/* A blocking read or write that sees no byte move for this long
		 * fails with EAGAIN: the idle timeout without a timer. */
		struct timeval tv = {.tv_sec = srv_opts.idle_timeout_s};

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	for (;;) {
		ssize_t n = read(fd, buf, bufsz);
		if (n > 0) {
			if (consume(&c, buf, (size_t)n) < 0)
				break;
		} else if (n == 0) {
			finish(&c);
			break;
		} else if (errno == EINTR) {
			if (srv_stopping())
				break;
		} else if (errno == EAGAIN) { /* SO_RCVTIMEO: silent for --idle-timeout */
			SRV_COUNT(idle_closed, 1);
			break;
		} else {
			srv_count_failure(errno);
			break;
		}
	}
	free(c.line);
	free(c.out);
}
