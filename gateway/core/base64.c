/* base64 - RFC 4648 section 4 (see base64.h). Trusts nothing. */
#include "core/base64.h"

#include <stdint.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c, or -1. */
static int value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long base64_decoded_len(const char *s, size_t n)
{
	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		const unsigned char *g = (const unsigned char *)s + i;
		int last = i + 4 == n;
		int pad = 0;
		int v[4];
		for (int k = 0; k < 4; k++) {
			if (g[k] == '=' && last && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0) /* data after padding */
				return -1;
			v[k] = value(g[k]);
			if (v[k] < 0)
				return -1;
		}
		/* canonical: the bits padding leaves unused are zero */
		if (pad == 2 && (v[1] & 0x0f) != 0)
			return -1;
		if (pad == 1 && (v[2] & 0x03) != 0)
			return -1;
		if (last)
			return (long)(n / 4 * 3 - (size_t)pad);
	}
	return 0;
}

int base64_decode(struct buf *out, const char *s, size_t n)
{
	long len = base64_decoded_len(s, n);
	if (len < 0)
		return BASE64_ERR_SYNTAX;
	unsigned char tmp[3 * 64];
	size_t t = 0;
	size_t start = out->len;
	for (size_t i = 0; i < n; i += 4) {
		const unsigned char *g = (const unsigned char *)s + i;
		uint32_t w = 0;
		int k;
		for (k = 0; k < 4 && g[k] != '='; k++)
			w |= (uint32_t)value(g[k]) << (18 - 6 * k);
		tmp[t++] = (unsigned char)(w >> 16);
		if (k > 2)
			tmp[t++] = (unsigned char)(w >> 8);
		if (k > 3)
			tmp[t++] = (unsigned char)w;
		if (t + 3 > sizeof(tmp) || i + 4 == n) {
			if (buf_append(out, tmp, t) < 0) {
				buf_truncate(out, start);
				return BUF_ERR_FULL;
			}
			t = 0;
		}
	}
	return 0;
}

int base64_encode(struct buf *out, const void *p, size_t n)
{
	const unsigned char *b = p;
	char tmp[4 * 64];
	size_t t = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)b[i] << 16;
		if (i + 1 < n)
			w |= (uint32_t)b[i + 1] << 8;
		if (i + 2 < n)
			w |= b[i + 2];
		tmp[t++] = alphabet[(w >> 18) & 63];
		tmp[t++] = alphabet[(w >> 12) & 63];
		tmp[t++] = i + 1 < n ? alphabet[(w >> 6) & 63] : '=';
		tmp[t++] = i + 2 < n ? alphabet[w & 63] : '=';
		if (t + 4 > sizeof(tmp) || i + 3 >= n) {
			if (buf_append(out, tmp, t) < 0)
				return BUF_ERR_FULL;
			t = 0;
		}
	}
	return 0;
}
