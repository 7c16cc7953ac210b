/*
 * rot13_libuv.c — one thread, libuv: the event library of Node.js, as a
 * second reference beside libevent.
 *
 * libevent hands the program readiness ("this descriptor is readable"), and
 * rot13_libevent.c does its own read and write. libuv hands it completed
 * I/O: it reads into a buffer the program lends it (alloc_cb) and calls back
 * with the bytes (read_cb); uv_write() takes a buffer the program must keep
 * until the write's callback says it is all sent. So this server frames the
 * way rot13_uring.c does: the framer queues replies without writing
 * (c->deferred, servers/srv.h), and each batch of replies becomes one
 * uv_write that owns its buffer. uv_write tries the socket at once, so a
 * reply that fits costs one write call, as in epoll-lt; only what the kernel
 * refuses waits in libuv's queue, with EPOLLOUT watched until it drains.
 *
 * What it costs beside epoll-lt: libuv's bookkeeping per callback, a
 * uv_write_t per batch of replies, and the copy of the replies into their
 * own buffer. Backpressure is the contract's: while more than --max-pending
 * bytes are queued or being written, uv_read_stop(); the last write's
 * callback starts reading again. Fairness is libuv's: on a readable socket
 * it reads up to 32 buffers (64 KiB each here) in a row, stopping earlier
 * when a read comes back short or the callback stops reading, where
 * epoll-lt reads one.
 *
 * The accepting is the project's, not libuv's: uv_listen() sheds
 * connections on EMFILE without a count and ignores ECONNABORTED, so the
 * listener is a uv_poll_t that runs srv_accept_batch(), and each accepted
 * descriptor is handed to a uv_tcp_t (uv_tcp_open). libuv then owns the
 * descriptor and closes it in uv_close(), so a connection leaves the
 * project's table with srv_conn_release(), not srv_conn_free().
 *
 * A timer every SRV_STOP_CHECK_MS looks at srv_stop and sweeps idle
 * connections: libuv restarts its wait after a signal, so the loop must
 * come back to look.
 */
#include "srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

static uv_loop_t *loop;
static uv_poll_t listener;
static uv_timer_t ticker;
static char *rbuf; /* the one read buffer: a callback consumes it before the next read */
static int lfd;

/* A connection: libuv's handle first, so that the handle is the struct. */
struct uvconn {
	uv_tcp_t tcp;
	struct srv_conn *c; /* NULL once closing */
	bool reading;
};

/* One uv_write and the buffer it owns. */
struct wreq {
	uv_write_t req;
	char *buf;
	size_t len;
};

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void on_closed(uv_handle_t *h)
{
	free(h); /* the uvconn */
}

static void close_conn(struct srv_conn *c)
{
	struct uvconn *u = c->user;

	u->c = NULL;
	srv_conn_release(c);
	uv_close((uv_handle_t *)&u->tcp, on_closed); /* closes the descriptor */
}

static void on_write(uv_write_t *req, int status);

/* Do what the connection wants now: close, send, read or stop reading. */
static void update(struct uvconn *u, int want)
{
	struct srv_conn *c = u->c;

	if (want == SRV_CLOSE) {
		close_conn(c);
		return;
	}
	if (want & SRV_WRITE) {
		struct wreq *w = malloc(sizeof *w);

		if (w == NULL) {
			SRV_COUNT(errors, 1);
			close_conn(c);
			return;
		}
		if ((w->buf = srv_conn_take_out(c, &w->len)) == NULL) {
			free(w); /* all of it is being written already */
		} else {
			uv_buf_t b = uv_buf_init(w->buf, (unsigned)w->len);
			int rc = uv_write(&w->req, (uv_stream_t *)&u->tcp, &b, 1, on_write);

			if (rc < 0) {
				srv_count_failure(-rc);
				free(w->buf);
				free(w);
				close_conn(c);
				return;
			}
		}
	}
	if ((want & SRV_READ) && !u->reading) {
		uv_read_start((uv_stream_t *)&u->tcp, on_alloc, on_read);
		u->reading = true;
	} else if (!(want & SRV_READ) && u->reading) {
		uv_read_stop((uv_stream_t *)&u->tcp);
		u->reading = false;
	}
}

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct uvconn *u = (struct uvconn *)req->handle;
	size_t len = w->len;

	free(w->buf);
	free(w);
	if (u->c == NULL) /* closing: libuv cancels what is left (UV_ECANCELED) */
		return;
	if (status < 0) {
		srv_count_failure(-status);
		close_conn(u->c);
		return;
	}
	update(u, srv_conn_sent(u->c, len));
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	*buf = uv_buf_init(rbuf, SRV_READ_TURN);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct uvconn *u = (struct uvconn *)s;
	int want;

	if (n == 0) /* nothing this time (EAGAIN) */
		return;
	if (n > 0) {
		want = srv_conn_input(u->c, buf->base, (size_t)n);
	} else if (n == UV_EOF) {
		want = srv_conn_input(u->c, NULL, 0);
	} else {
		srv_count_failure((int)-n);
		want = SRV_CLOSE;
	}
	update(u, want);
}

/* A connection accepted by srv_accept_batch(): hand it to libuv, or close it. */
static void add_conn(int fd, void *arg)
{
	struct srv_conn *c = srv_conn_new(fd);
	struct uvconn *u;

	if (c == NULL)
		return;
	if ((u = calloc(1, sizeof *u)) == NULL || uv_tcp_init(loop, &u->tcp) < 0) {
		SRV_COUNT(errors, 1);
		free(u);
		srv_conn_free(c);
		return;
	}
	if (uv_tcp_open(&u->tcp, fd) < 0) {
		SRV_COUNT(errors, 1);
		srv_conn_free(c);
		uv_close((uv_handle_t *)&u->tcp, on_closed);
		return;
	}
	c->deferred = true;
	c->user = u;
	u->c = c;
	update(u, SRV_READ);
}

static void on_listener(uv_poll_t *p, int status, int events)
{
	srv_accept_batch(lfd, add_conn, NULL);
}

static void on_tick(uv_timer_t *t)
{
	if (srv_stop)
		uv_stop(loop);
	srv_idle_sweep(close_conn);
}

/* At the stop: every handle closed, connections counted as they go. */
static void close_handle(uv_handle_t *h, void *arg)
{
	if (uv_is_closing(h))
		return;
	if (h->type == UV_TCP)
		close_conn(((struct uvconn *)h)->c);
	else
		uv_close(h, NULL);
}

int main(int argc, char **argv)
{
	srv_init("libuv", argc, argv, 0);
	loop = uv_default_loop();
	if ((rbuf = malloc(SRV_READ_TURN)) == NULL) {
		fprintf(stderr, "rot13-libuv: no memory\n");
		return 1;
	}
	lfd = srv_listen();
	if (uv_poll_init(loop, &listener, lfd) < 0 ||
	    uv_poll_start(&listener, UV_READABLE, on_listener) < 0 ||
	    uv_timer_init(loop, &ticker) < 0 ||
	    uv_timer_start(&ticker, on_tick, SRV_STOP_CHECK_MS, SRV_STOP_CHECK_MS) < 0) {
		fprintf(stderr, "rot13-libuv: cannot watch the listener\n");
		return 1;
	}

	uv_run(loop, UV_RUN_DEFAULT);
	uv_walk(loop, close_handle, NULL);
	uv_run(loop, UV_RUN_DEFAULT); /* the close callbacks */
	uv_loop_close(loop);
	srv_conn_free_all(NULL);
	free(rbuf);
	srv_report("libuv");
	return 0;
}
