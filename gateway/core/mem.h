/* mem - the one allocation wrapper.
 *
 * Every heap allocation in mailgw goes through these functions. They never
 * return NULL: on failure they log a fatal error and exit, so callers do not
 * test for it. mem_fail_after() is the test hook of STYLE.md rule 23: with
 * n > 0, the n-th allocation from now fails (and the process exits through
 * the out-of-memory path, which unit tests observe with a handler).
 *
 * Block cache: requests of more than MEM_CACHE_MIN and at most
 * MEM_CACHE_MAX bytes are rounded up to whole MEM_CACHE_UNITs, and
 * mem_free() keeps up to MEM_CACHE_DEPTH freed blocks of each size (and
 * MEM_CACHE_BYTES in all, per thread) for the next request of that size;
 * a daemon calls mem_trim() when it goes idle, to give back what a burst
 * left beyond MEM_CACHE_IDLE. musl's allocator gives a
 * group of such blocks back to the kernel as soon as it empties, so a
 * process handling one session or message after another would otherwise
 * mmap, page-fault and munmap the same few pages per message, and every
 * munmap is a TLB flush (across CPUs in a threaded process). The unit
 * tests and fuzzers build without it, so ASan sees every free. */
#ifndef MAILGW_CORE_MEM_H
#define MAILGW_CORE_MEM_H

#include <stddef.h>

#define MEM_CACHE_MIN   1024
#define MEM_CACHE_MAX   (16 * 1024)
#define MEM_CACHE_UNIT  1024
#define MEM_CACHE_DEPTH 1024
#define MEM_CACHE_BYTES (2 * 1024 * 1024) /* kept per thread, in all */
#define MEM_CACHE_IDLE  (256 * 1024)      /* ... once mem_trim() ran */

void *mem_alloc(size_t n);                 /* uninitialised, n may be 0 */
void *mem_zalloc(size_t n);                /* zero-filled */
void *mem_realloc(void *p, size_t n);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n); /* copies at most n bytes + NUL */
void *mem_memdup(const void *p, size_t n);
void mem_free(void *p);
/* Free the calling thread's cached blocks beyond MEM_CACHE_IDLE bytes. */
void mem_trim(void);

/* Test hook: make the n-th allocation from now fail; 0 disables. */
void mem_fail_after(unsigned long n);
/* Test hook: called instead of exiting when an allocation fails. */
void mem_set_oom_handler(void (*fn)(size_t n));

#endif
