/* mem - allocation wrapper that never returns NULL. */
#include "mem.h"

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

void *mem_alloc(size_t n)
{
	void *p = should_fail() ? NULL : malloc(n ? n : 1);

	return p ? p : oom(n);
}

void *mem_zalloc(size_t n)
{
	void *p = should_fail() ? NULL : calloc(1, n ? n : 1);

	return p ? p : oom(n);
}

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

void mem_free(void *p) { free(p); }
