/* mem - allocation wrapper that never returns NULL. */
#include "mem.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static unsigned long fail_countdown;
static void (*oom_handler)(size_t);

static void *oom(size_t n)
{
	if (oom_handler)
		oom_handler(n);
	msg_fatal("out of memory allocating %zu bytes", n);
}

static int should_fail(void)
{
	if (fail_countdown == 0)
		return 0;
	return --fail_countdown == 0;
}

void mem_fail_after(unsigned long n) { fail_countdown = n; }

void mem_set_oom_handler(void (*fn)(size_t n)) { oom_handler = fn; }

/* The block cache (mem.h): per thread, so no lock; off in the unit
 * tests and fuzzers, where ASan must see every free. */
#if !defined(MAILGW_TESTING) && !defined(MAILGW_FUZZING)
#define CACHE_ON 1
#else
#define CACHE_ON 0
#endif

/* Freed blocks of one class, linked through their first bytes. */
struct cache_class {
	void *head;
	unsigned n;
};

static _Thread_local struct cache_class cache[MEM_CACHE_MAX / MEM_CACHE_UNIT];
static _Thread_local size_t cache_bytes;

/* The class of a request of n bytes (its size rounded up to the unit),
 * or -1 when n is not cached. */
static int cache_class(size_t n)
{
	if (!CACHE_ON || n <= MEM_CACHE_MIN || n > MEM_CACHE_MAX)
		return -1;
	return (int)((n + MEM_CACHE_UNIT - 1) / MEM_CACHE_UNIT) - 1;
}

static void *cache_get(int c)
{
	struct cache_class *k = &cache[c];
	void *p = k->head;

	if (p == NULL)
		return NULL;
	memcpy(&k->head, p, sizeof(k->head));
	k->n--;
	cache_bytes -= (size_t)(c + 1) * MEM_CACHE_UNIT;
	return p;
}

static void cache_put(int c, void *p)
{
	struct cache_class *k = &cache[c];

	memcpy(p, &k->head, sizeof(k->head));
	k->head = p;
	k->n++;
	cache_bytes += (size_t)(c + 1) * MEM_CACHE_UNIT;
}

/* A request of n bytes, zero-filled when zero (calloc() for blocks that
 * do not come from the cache: fresh pages need no clearing). */
static void *alloc(size_t n, int zero)
{
	int c = cache_class(n);
	void *p;

	if (should_fail())
		return oom(n);
	if (c >= 0) {
		size_t size = (size_t)(c + 1) * MEM_CACHE_UNIT;

		if ((p = cache_get(c)) != NULL)
			return zero ? memset(p, 0, size) : p;
		n = size;
	}
	p = zero ? calloc(1, n ? n : 1) : malloc(n ? n : 1);
	return p ? p : oom(n);
}

void *mem_alloc(size_t n) { return alloc(n, 0); }

void *mem_zalloc(size_t n) { return alloc(n, 1); }

void *mem_realloc(void *p, size_t n)
{
	void *q = should_fail() ? NULL : realloc(p, n ? n : 1);

	return q ? q : oom(n);
}

void *mem_memdup(const void *p, size_t n)
{
	void *q = mem_alloc(n);

	if (n)
		memcpy(q, p, n);
	return q;
}

char *mem_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *q = mem_alloc(len + 1);

	memcpy(q, s, len);
	q[len] = 0;
	return q;
}

char *mem_strdup(const char *s) { return mem_strndup(s, SIZE_MAX - 1); }

void mem_free(void *p)
{
	if (CACHE_ON && p != NULL) {
		/* A block of a whole number of units (what mem_alloc asks
		 * for in that range) serves any request of its class. */
		size_t u = malloc_usable_size(p);
		int c = u % MEM_CACHE_UNIT == 0 ? cache_class(u) : -1;

		if (c >= 0 && cache[c].n < MEM_CACHE_DEPTH &&
		    u <= MEM_CACHE_BYTES - cache_bytes) {
			cache_put(c, p);
			return;
		}
	}
	free(p);
}

void mem_trim(void)
{
	for (int c = MEM_CACHE_MAX / MEM_CACHE_UNIT - 1;
	     c >= 0 && cache_bytes > MEM_CACHE_IDLE; c--)
		while (cache[c].n > 0 && cache_bytes > MEM_CACHE_IDLE)
			free(cache_get(c));
}
