/*
 * mm.c — where evbase gets its memory: the C library's allocator, or the
 * program's (event_set_mem_functions). Every allocation in evbase goes
 * through the functions here, so that a program's allocator sees all of
 * them; calloc and strdup are made from the program's malloc, and its free
 * never sees NULL.
 */
#include "evb-internal.h"

#include <stdlib.h>
#include <string.h>

static void *(*mm_malloc)(size_t);
static void *(*mm_realloc)(void *, size_t);
static void (*mm_free)(void *);

void event_set_mem_functions(void *(*malloc_fn)(size_t sz),
    void *(*realloc_fn)(void *ptr, size_t sz), void (*free_fn)(void *ptr))
{
	mm_malloc = malloc_fn;
	mm_realloc = realloc_fn;
	mm_free = free_fn;
}

void *evb_malloc(size_t n)
{
	/* As libevent: a zero-byte request gets NULL, not a unique pointer. */
	if (!n)
		return NULL;
	return mm_malloc ? mm_malloc(n) : malloc(n);
}

void *evb_calloc(size_t count, size_t size)
{
	void *p;

	if (!count || !size || count > (size_t)-1 / size)
		return NULL;
	if (!mm_malloc)
		return calloc(count, size);
	if ((p = mm_malloc(count * size)))
		memset(p, 0, count * size);
	return p;
}

void *evb_realloc(void *p, size_t n)
{
	return mm_realloc ? mm_realloc(p, n) : realloc(p, n);
}

/* Like free(), evb_free(NULL) does nothing, so evbase's teardown code frees
 * what it may never have allocated (a backend's arrays before the first
 * dispatch, the signal table of a base without signals) without a test at
 * each call. The test lives here, once, and NULL never reaches a program's
 * free function: libevent never passes it one, and a hook may not expect it. */
void evb_free(void *p)
{
	if (!p)
		return;
	if (mm_free)
		mm_free(p);
	else
		free(p);
}

void *evb_fd_grow(void *tab, int *have, int fd, size_t elem)
{
	int n = evb_fd_slots(*have, fd, elem);
	char *t;

	/* A descriptor no table can hold is refused before anything grows;
	 * no such descriptor can be open. */
	if (n < 0 || !(t = evb_realloc(tab, (size_t)n * elem)))
		return NULL;
	memset(t + (size_t)*have * elem, 0, (size_t)(n - *have) * elem);
	*have = n;
	return t;
}

char *evb_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = evb_malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}
