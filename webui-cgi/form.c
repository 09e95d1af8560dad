/* form - urlencoded forms, cookies and HTML escaping (see form.h).
 * Follows the WHATWG URL standard's application/x-www-form-urlencoded
 * parser and RFC 6265 section 5.4; trusts nothing in the input. */
#include <string.h>

#include "form.h"

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int decode(const char *s, size_t n, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n &&
			   hexval((unsigned char)s[i + 1]) >= 0 &&
			   hexval((unsigned char)s[i + 2]) >= 0) {
			c = (unsigned char)(hexval((unsigned char)s[i + 1]) *
						    16 +
					    hexval((unsigned char)s[i + 2]));
			i += 2;
		}
		if (buf_len(out) >= FORM_VALUE_MAX)
			return -1;
		buf_putc(out, c);
	}
	return 0;
}

int form_next(const char *s, size_t len, size_t *off, unsigned *count,
	      struct buf *name, struct buf *value)
{
	while (*off < len) {
		const char *p = s + *off, *amp = memchr(p, '&', len - *off);
		size_t n = amp ? (size_t)(amp - p) : len - *off;
		const char *eq = memchr(p, '=', n);
		size_t nlen = eq ? (size_t)(eq - p) : n;

		*off += n + (amp != NULL);
		if (n == 0)
			continue;
		if (++*count > FORM_PAIRS_MAX)
			return -1;
		if (decode(p, nlen, name) < 0 ||
		    decode(eq ? eq + 1 : p + n, eq ? n - nlen - 1 : 0, value) <
			    0)
			return -1;
		return 1;
	}
	return 0;
}

int form_get(const char *s, size_t len, const char *name, struct buf *value)
{
	struct buf n;
	size_t off = 0;
	unsigned count = 0;
	int rc;

	buf_init(&n, FORM_VALUE_MAX + 1);
	while ((rc = form_next(s, len, &off, &count, &n, value)) == 1)
		if (buf_len(&n) == strlen(name) &&
		    memcmp(buf_str(&n), name, buf_len(&n)) == 0)
			break;
	buf_free(&n);
	if (rc != 1)
		buf_reset(value);
	return rc;
}

int cookie_get(const char *hdr, size_t len, const char *name, struct buf *value)
{
	size_t off = 0, nl = strlen(name);

	while (off < len) {
		const char *p = hdr + off, *semi = memchr(p, ';', len - off);
		size_t n = semi ? (size_t)(semi - p) : len - off;
		const char *eq;

		off += n + (semi != NULL);
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		eq = memchr(p, '=', n);
		if (eq == NULL || (size_t)(eq - p) != nl ||
		    memcmp(p, name, nl) != 0)
			continue;
		if (n - nl - 1 > COOKIE_VALUE_MAX)
			return 0;
		buf_reset(value);
		buf_append(value, eq + 1, n - nl - 1);
		return 1;
	}
	return 0;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void html_escape(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t l;

		switch (p[i]) {
		case '&':
			buf_puts(out, "&amp;");
			break;
		case '<':
			buf_puts(out, "&lt;");
			break;
		case '>':
			buf_puts(out, "&gt;");
			break;
		case '"':
			buf_puts(out, "&quot;");
			break;
		case '\'':
			buf_puts(out, "&#39;");
			break;
		case '\t':
		case '\n':
			buf_putc(out, p[i]);
			break;
		default:
			if (p[i] < 0x20 || p[i] == 0x7f) {
				buf_puts(out, "\xef\xbf\xbd");
				break;
			}
			l = utf8_len(p + i, n - i);
			if (l == 0) {
				buf_puts(out, "\xef\xbf\xbd");
				break;
			}
			buf_append(out, p + i, l);
			i += l;
			continue;
		}
		i++;
	}
}

void url_escape(struct buf *out, const char *s, size_t n)
{
	static const char hexd[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '~' || c == '-') {
			buf_putc(out, c);
		} else {
			buf_putc(out, '%');
			buf_putc(out, hexd[c >> 4]);
			buf_putc(out, hexd[c & 15]);
		}
	}
}
