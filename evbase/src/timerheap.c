/*
 * timerheap.c — the base's timeouts as a binary min-heap on ev_timeout.
 *
 * Each event remembers its slot (ev_heap_idx), so deleting or re-adding an
 * event is O(log n) without a search. The heap stores pointers only; the
 * caller reserves room first (evb_heap_reserve) so that the push itself
 * cannot fail halfway through event_add().
 */
#include "evb-internal.h"
#include <stdlib.h>

static int earlier(const struct event *a, const struct event *b)
{
	return evutil_timercmp(&a->ev_timeout, &b->ev_timeout, <);
}

static void place(struct evb_heap *h, unsigned i, struct event *ev)
{
	h->a[i] = ev;
	ev->ev_heap_idx = (int)i;
}

static void sift_up(struct evb_heap *h, unsigned i, struct event *ev)
{
	while (i > 0) {
		unsigned parent = (i - 1) / 2;
		if (!earlier(ev, h->a[parent]))
			break;
		place(h, i, h->a[parent]);
		i = parent;
	}
	place(h, i, ev);
}

static void sift_down(struct evb_heap *h, unsigned i, struct event *ev)
{
	for (;;) {
		unsigned child = 2 * i + 1;
		if (child >= h->n)
			break;
		if (child + 1 < h->n && earlier(h->a[child + 1], h->a[child]))
			child++;
		if (!earlier(h->a[child], ev))
			break;
		place(h, i, h->a[child]);
		i = child;
	}
	place(h, i, ev);
}

int evb_heap_reserve(struct evb_heap *h, unsigned n)
{
	if (n > h->cap) {
		unsigned cap = h->cap ? h->cap * 2 : 32;
		struct event **a;
		if (cap < n)
			cap = n;
		if (!(a = evb_realloc(h->a, cap * sizeof(*a))))
			return -1;
		h->a = a;
		h->cap = cap;
	}
	return 0;
}

void evb_heap_push(struct evb_heap *h, struct event *ev)
{
	sift_up(h, h->n++, ev);
}

void evb_heap_erase(struct evb_heap *h, struct event *ev)
{
	unsigned i = (unsigned)ev->ev_heap_idx;
	struct event *last = h->a[--h->n];

	ev->ev_heap_idx = -1;
	if (last == ev)
		return;
	/* The last element fills the hole; it may belong above or below it. */
	if (i > 0 && earlier(last, h->a[(i - 1) / 2]))
		sift_up(h, i, last);
	else
		sift_down(h, i, last);
}
