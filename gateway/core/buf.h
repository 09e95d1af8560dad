/* buf - the bounded, binary-safe byte buffer used everywhere.
 *
 * A buf owns a heap block that grows on demand up to a hard maximum fixed at
 * buf_init(). Appending past the maximum stores nothing of the append and
 * sets a sticky error (BUF_ERR_FULL) that stays until buf_reset() or
 * buf_clear_error(); every append returns 0 or BUF_ERR_FULL so the caller may
 * check each step or only the end (buf_error()).
 *
 * The contents are always followed by a NUL byte that is not counted in len,
 * so buf_str() is a C string for text (binary contents may hold NULs too).
 * A zero-initialised struct is not valid: call buf_init() first.
 *
 * This type replaces strcpy/strcat/sprintf in mailgw (STYLE.md rule 6). */
#ifndef MAILGW_CORE_BUF_H
#define MAILGW_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define BUF_ERR_FULL (-1)

/* Default maximum for general-purpose text (config values, log lines...). */
#define BUF_MAX_DEFAULT (1024 * 1024)

struct buf {
	char *data;  /* len bytes + NUL; never NULL after buf_init() */
	size_t len;  /* bytes used, not counting the NUL */
	size_t cap;  /* bytes allocated, including room for the NUL */
	size_t max;  /* hard limit on len */
	int err;     /* sticky: 0 or BUF_ERR_FULL */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);            /* releases memory; b may be re-init'ed */
struct buf *buf_new(size_t max);         /* heap-allocated buf_init() */
void buf_destroy(struct buf *b);         /* buf_free() + free the struct */

void buf_reset(struct buf *b);           /* len = 0, err = 0, keeps memory */
void buf_truncate(struct buf *b, size_t len); /* len = min(len, b->len) */
void buf_clear_error(struct buf *b);

int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, int c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Replace the contents: buf_reset() + buf_append(). */
int buf_set(struct buf *b, const void *p, size_t n);
int buf_sets(struct buf *b, const char *s);
/* Remove the first n bytes (consumed input). */
void buf_consume(struct buf *b, size_t n);

/* Direct fill (read(2) into the buffer, no bounce copy): buf_space()
 * makes room for n more bytes (within max) and returns where they go, or
 * NULL with BUF_ERR_FULL set; buf_commit() then counts the k <= n bytes
 * actually stored. */
char *buf_space(struct buf *b, size_t n);
/* The same, but all the room the block has when that is at least n (so a
 * reader fills the block before it grows): *avail is set to it. */
char *buf_space_all(struct buf *b, size_t n, size_t *avail);
void buf_commit(struct buf *b, size_t k);

/* buf_cache - the memory of released buffers, kept for the next buffer
 * of the same use. A process that handles one session or message after
 * another then stops giving memory back to the kernel and faulting it in
 * again (each munmap is a TLB flush on every CPU the process ran on).
 * With N sessions at once up to N blocks come and go, so the cache keeps
 * up to BUF_CACHE_MAX blocks and bytes_max bytes while busy: what the
 * busiest moment needed stays, within that bound; the owner calls
 * buf_cache_trim() when it goes idle, as Postfix lets idle processes
 * exit. One owner, one thread. A block larger than cap_max, or one over
 * the bounds, is freed as by buf_free(). */
#define BUF_CACHE_MAX 128

struct buf_cache {
	struct buf spare[BUF_CACHE_MAX];
	size_t n;
	size_t cap_max;   /* largest block kept (0: none) */
	size_t bytes;     /* kept now */
	size_t bytes_max; /* kept at most */
};

void buf_cache_init(struct buf_cache *c, size_t cap_max, size_t bytes_max);
/* buf_init(b, max), with a kept block when there is one. */
void buf_cache_get(struct buf_cache *c, struct buf *b, size_t max);
/* buf_free(b), keeping its block when there is room. */
void buf_cache_put(struct buf_cache *c, struct buf *b);
/* Free kept blocks until at most keep bytes are left. */
void buf_cache_trim(struct buf_cache *c, size_t keep);
void buf_cache_free(struct buf_cache *c);

static inline const char *buf_str(const struct buf *b) { return b->data; }
static inline size_t buf_len(const struct buf *b) { return b->len; }
static inline int buf_error(const struct buf *b) { return b->err; }

#endif
