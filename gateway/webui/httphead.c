/* httphead - rewrite the request head for the CGI (see httphead.h).
 *
 * Trusts nothing: the bytes are what a client sent through TLS. Lines end
 * in LF (a CR before it is kept as sent); the head ends at the first
 * empty line. */
#include <ctype.h>
#include <string.h>

#include "webui/httphead.h"

int httphead_is_client_field(const char *n, size_t len)
{
	const char *want = HTTPHEAD_CLIENT;
	size_t wl = strlen(want);

	if (len != wl)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char a = n[i] == '_' ? '-' : n[i];

		if (toupper((unsigned char)a) != toupper((unsigned char)want[i]))
			return 0;
	}
	return 1;
}

/* The end of the head: the offset after its empty line, or 0. */
static size_t head_end(const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (in[i] != '\n')
			continue;
		if (i + 1 < len && in[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && in[i + 1] == '\r' && in[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

int httphead_rewrite(const char *in, size_t len, const char *add,
		     struct buf *out)
{
	size_t end = head_end(in, len < HTTPHEAD_MAX ? len : HTTPHEAD_MAX);
	size_t off = 0, empty;
	int drop = 0, first = 1;

	if (end == 0)
		return len < HTTPHEAD_MAX ? 0 : -1;
	if (memchr(in, 0, end) != NULL)
		return -1;
	/* The empty line: "\n" or "\r\n" at the end. */
	empty = in[end - 2] == '\r' ? end - 2 : end - 1;
	while (off < empty) {
		const char *l = in + off;
		const char *nl = memchr(l, '\n', empty - off);
		size_t n = nl ? (size_t)(nl - l) + 1 : empty - off;

		if (first) {
			first = 0;
		} else if (l[0] == ' ' || l[0] == '\t') {
			/* a folded continuation belongs to the field before */
		} else {
			const char *colon = memchr(l, ':', n);
			size_t nlen = colon ? (size_t)(colon - l) : 0;

			while (nlen > 0 &&
			       (l[nlen - 1] == ' ' || l[nlen - 1] == '\t'))
				nlen--;
			drop = colon && httphead_is_client_field(l, nlen);
		}
		if (!drop && buf_append(out, l, n) < 0)
			return -1;
		off += n;
	}
	if ((add && buf_puts(out, add) < 0) ||
	    buf_append(out, in + empty, end - empty) < 0)
		return -1;
	return (int)end;
}
