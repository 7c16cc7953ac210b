/*
 * event2/thread.h — threads and evbase: the lock, condition and thread-id
 * hooks of libevent 2.1, with the same names, constants and results.
 *
 * The model (docs/evbase.md, "Threads"): nothing is locked until a program
 * calls evthread_use_pthreads() (or installs its own callbacks) *before* it
 * creates a base. A base created after that has a recursive lock and an
 * eventfd to wake its loop, so event_add, event_del, event_active,
 * event_base_once and loopbreak/loopexit/loopcontinue may be called from any
 * thread, and a loop blocked in its backend wakes up to see the change.
 * event_del() (and so event_free()) from another thread waits until a
 * callback of that event that is running has returned, so nothing of the
 * event runs after event_free() returns. A base created before stays
 * unlocked and costs nothing. Callbacks run without the lock held.
 *
 * Link with -pthread; everything is in libevbase.a (libevent puts
 * evthread_use_pthreads in libevent_pthreads).
 */
#ifndef EVENT2_THREAD_H_INCLUDED_
#define EVENT2_THREAD_H_INCLUDED_

#include <event2/event-config.h>
#include <sys/time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Modes for the lock and unlock callbacks. */
#define EVTHREAD_WRITE	0x04
#define EVTHREAD_READ	0x08
#define EVTHREAD_TRY	0x10

/* Lock types for alloc: 0 is a plain mutex. */
#define EVTHREAD_LOCKTYPE_RECURSIVE 1
#define EVTHREAD_LOCKTYPE_READWRITE 2

#define EVTHREAD_LOCK_API_VERSION 1

struct evthread_lock_callbacks {
	int lock_api_version;		/* EVTHREAD_LOCK_API_VERSION */
	unsigned supported_locktypes;	/* EVTHREAD_LOCKTYPE_* bits */
	void *(*alloc)(unsigned locktype);
	void (*free)(void *lock, unsigned locktype);
	int (*lock)(unsigned mode, void *lock);		/* 0 on success */
	int (*unlock)(unsigned mode, void *lock);	/* 0 on success */
};

/* Install lock callbacks (NULL: none). Call before creating any base; once
 * set, they cannot be replaced by different ones (-1), as in libevent. */
int evthread_set_lock_callbacks(const struct evthread_lock_callbacks *);

#define EVTHREAD_CONDITION_API_VERSION 1

struct timeval;

struct evthread_condition_callbacks {
	int condition_api_version;	/* EVTHREAD_CONDITION_API_VERSION */
	void *(*alloc_condition)(unsigned condtype);
	void (*free_condition)(void *cond);
	int (*signal_condition)(void *cond, int broadcast);
	/* 0 when signalled, 1 on timeout, -1 on error; the lock is held. */
	int (*wait_condition)(void *cond, void *lock, const struct timeval *timeout);
};

int evthread_set_condition_callbacks(const struct evthread_condition_callbacks *);

/* How the library tells threads apart (a loop's own calls need no wake-up). */
void evthread_set_id_callback(unsigned long (*id_fn)(void));

/* All three of the above, with POSIX threads. 0, or -1. */
int evthread_use_pthreads(void);
#define EVTHREAD_USE_PTHREADS_IMPLEMENTED 1

/* Wrap the installed locks in checks that die through the fatal callback
 * (or abort()) on an unlock of a lock this thread does not hold, and on a
 * second lock of a non-recursive lock. Call after evthread_use_pthreads()
 * and before creating any base. */
void evthread_enable_lock_debugging(void);
/* The old, misspelled name. */
void evthread_enable_lock_debuging(void);

struct event_base;
/* Give base its wake-up eventfd now (bases made with locking have one
 * already). 0, or -1. */
int evthread_make_base_notifiable(struct event_base *base);

#ifdef __cplusplus
}
#endif

#endif /* EVENT2_THREAD_H_INCLUDED_ */
