/* diff - LCS line diff (see diff.h). */
#include <stdint.h>
#include <string.h>

#include "core/mem.h"
#include "diff.h"

struct lines {
	const char **p;
	size_t *len;
	size_t n;
};

static void split(const char *s, size_t n, struct lines *l)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += s[i] == '\n';
	count += n > 0 && s[n - 1] != '\n';
	l->p = mem_alloc((count + 1) * sizeof(*l->p));
	l->len = mem_alloc((count + 1) * sizeof(*l->len));
	l->n = 0;
	for (size_t off = 0; off < n;) {
		const char *nl = memchr(s + off, '\n', n - off);
		size_t len = nl ? (size_t)(nl - s - off) : n - off;

		l->p[l->n] = s + off;
		l->len[l->n++] = len;
		off += len + 1;
	}
}

static int same(const struct lines *a, size_t i, const struct lines *b,
		size_t j)
{
	return a->len[i] == b->len[j] &&
	       memcmp(a->p[i], b->p[j], a->len[i]) == 0;
}

size_t diff_lines(const char *a, size_t alen, const char *b, size_t blen,
		  void (*fn)(char op, const char *line, size_t len, void *arg),
		  void *arg)
{
	struct lines la, lb;
	uint16_t *t = NULL;
	size_t changes = 0, i = 0, j = 0, w;

	split(a, alen, &la);
	split(b, blen, &lb);
	w = lb.n + 1;
	if (la.n > DIFF_LINES_MAX || lb.n > DIFF_LINES_MAX) {
		for (i = 0; i < la.n; i++, changes++)
			fn('-', la.p[i], la.len[i], arg);
		for (j = 0; j < lb.n; j++, changes++)
			fn('+', lb.p[j], lb.len[j], arg);
		goto out;
	}
	/* t[i][j]: LCS length of a[i..] and b[j..]. */
	t = mem_zalloc((la.n + 1) * w * sizeof(*t));
	for (size_t x = la.n; x-- > 0;)
		for (size_t y = lb.n; y-- > 0;)
			t[x * w + y] =
				same(&la, x, &lb, y)
					? (uint16_t)(t[(x + 1) * w + y + 1] + 1)
				: t[(x + 1) * w + y] >= t[x * w + y + 1]
					? t[(x + 1) * w + y]
					: t[x * w + y + 1];
	while (i < la.n || j < lb.n) {
		if (i < la.n && j < lb.n && same(&la, i, &lb, j)) {
			fn(' ', la.p[i], la.len[i], arg);
			i++;
			j++;
		} else if (i < la.n &&
			   (j == lb.n ||
			    t[(i + 1) * w + j] >= t[i * w + j + 1])) {
			fn('-', la.p[i], la.len[i], arg);
			i++;
			changes++;
		} else {
			fn('+', lb.p[j], lb.len[j], arg);
			j++;
			changes++;
		}
	}
out:
	mem_free(t);
	mem_free(la.p);
	mem_free(la.len);
	mem_free(lb.p);
	mem_free(lb.len);
	return changes;
}
