/* str - small string helpers. */
#include "str.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

char *str_token(char **cursor, const char *sep)
{
	char *s = *cursor;
	char *start;

	if (s == NULL)
		return NULL;
	s += strspn(s, sep);
	if (*s == 0) {
		*cursor = s;
		return NULL;
	}
	start = s;
	s += strcspn(s, sep);
	if (*s)
		*s++ = 0;
	*cursor = s;
	return start;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

char *str_trim(char *s)
{
	size_t n;

	while (is_space((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

char *str_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)lower((unsigned char)*p);
	return s;
}

int str_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int d = lower((unsigned char)*a) - lower((unsigned char)*b);

		if (d || *a == 0)
			return d;
	}
}

int str_ncasecmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++) {
		int d = lower((unsigned char)*a) - lower((unsigned char)*b);

		if (d || *a == 0)
			return d;
	}
	return 0;
}

int str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int str_to_long(const char *s, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == 0 || is_space((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int str_secure_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char *x = a, *y = b;
	unsigned char d = alen != blen;
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}
