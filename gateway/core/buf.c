/* buf - bounded byte buffer; see buf.h for the contract. */
#include "buf.h"

#include <stdio.h>
#include <string.h>

#include "mem.h"

#define BUF_MIN_CAP 64

void buf_init(struct buf *b, size_t max)
{
	b->cap = BUF_MIN_CAP;
	b->data = mem_alloc(b->cap);
	b->data[0] = 0;
	b->len = 0;
	b->max = max;
	b->err = 0;
}

void buf_free(struct buf *b)
{
	mem_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_cache_init(struct buf_cache *c, size_t cap_max, size_t bytes_max)
{
	c->n = 0;
	c->cap_max = cap_max;
	c->bytes = 0;
	c->bytes_max = bytes_max;
}

void buf_cache_get(struct buf_cache *c, struct buf *b, size_t max)
{
	size_t big = 0;

	if (c->n == 0) {
		buf_init(b, max);
		return;
	}
	/* the largest block: a reader fills it before it must grow */
	for (size_t i = 1; i < c->n; i++)
		if (c->spare[i].cap > c->spare[big].cap)
			big = i;
	*b = c->spare[big];
	c->spare[big] = c->spare[--c->n];
	c->bytes -= b->cap;
	b->max = max; /* a larger block than max + 1 is harmless */
	buf_reset(b);
}

void buf_cache_put(struct buf_cache *c, struct buf *b)
{
	if (b->data == NULL)
		return;
	if (c->n < BUF_CACHE_MAX && b->cap <= c->cap_max &&
	    b->cap <= c->bytes_max - c->bytes) {
		c->bytes += b->cap;
		c->spare[c->n++] = *b;
		b->data = NULL;
		b->len = b->cap = 0;
		return;
	}
	buf_free(b);
}

void buf_cache_trim(struct buf_cache *c, size_t keep)
{
	while (c->n > 0 && c->bytes > keep) {
		struct buf *b = &c->spare[--c->n];

		c->bytes -= b->cap;
		buf_free(b);
	}
}

void buf_cache_free(struct buf_cache *c)
{
	buf_cache_trim(c, 0);
}

struct buf *buf_new(size_t max)
{
	struct buf *b = mem_alloc(sizeof(*b));

	buf_init(b, max);
	return b;
}

void buf_destroy(struct buf *b)
{
	if (b == NULL)
		return;
	buf_free(b);
	mem_free(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->data[0] = 0;
	b->err = 0;
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = 0;
	}
}

void buf_clear_error(struct buf *b) { b->err = 0; }

/* Make room for n more bytes plus the NUL, within max. */
static int reserve(struct buf *b, size_t n)
{
	size_t need;

	if (n > b->max - b->len) {
		b->err = BUF_ERR_FULL;
		return BUF_ERR_FULL;
	}
	need = b->len + n + 1;
	if (need > b->cap) {
		size_t cap = b->cap;

		while (cap < need)
			cap = cap > (b->max + 1) / 2 ? b->max + 1 : cap * 2;
		b->data = mem_realloc(b->data, cap);
		b->cap = cap;
	}
	return 0;
}

char *buf_space(struct buf *b, size_t n)
{
	if (reserve(b, n) < 0)
		return NULL;
	return b->data + b->len;
}

char *buf_space_all(struct buf *b, size_t n, size_t *avail)
{
	char *p = buf_space(b, n);

	if (p == NULL)
		return NULL;
	*avail = b->cap - b->len - 1;
	if (*avail > b->max - b->len)
		*avail = b->max - b->len;
	return p;
}

void buf_commit(struct buf *b, size_t k)
{
	b->len += k;
	b->data[b->len] = 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (reserve(b, n) < 0)
		return BUF_ERR_FULL;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int buf_puts(struct buf *b, const char *s) { return buf_append(b, s, strlen(s)); }

int buf_putc(struct buf *b, int c)
{
	char ch = (char)c;

	return buf_append(b, &ch, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->data[b->len] = 0;
		b->err = BUF_ERR_FULL;
		return BUF_ERR_FULL;
	}
	if ((size_t)n >= b->cap - b->len) {
		/* The truncated attempt overwrote the NUL; put it back before
		 * growing, which may leave through the out-of-memory path. */
		b->data[b->len] = 0;
		if (reserve(b, (size_t)n) < 0)
			return BUF_ERR_FULL;
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	} else if ((size_t)n > b->max - b->len) {
		b->data[b->len] = 0;
		b->err = BUF_ERR_FULL;
		return BUF_ERR_FULL;
	}
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

int buf_set(struct buf *b, const void *p, size_t n)
{
	buf_reset(b);
	return buf_append(b, p, n);
}

int buf_sets(struct buf *b, const char *s) { return buf_set(b, s, strlen(s)); }

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	b->data[b->len] = 0;
}
