/* qid - queue IDs; see qid.h for the scheme and its uniqueness argument.
 *
 * Pure encoding and decoding; trusts nothing about the names it parses (they
 * come from directory listings and from the command line of postsuper). */
#include "qid.h"

#include <string.h>

#define QID_BASE 52

/* Digits, then consonants upper and lower: strictly increasing in ASCII. */
static const char qid_alphabet[] =
	"0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";

static int digit_value(int c)
{
	const char *p;

	if (c == 0)
		return -1;
	p = strchr(qid_alphabet, c);
	return p == NULL ? -1 : (int)(p - qid_alphabet);
}

/* Fixed-width big-endian base-52 digits of v into out[0..width). */
static void put_fixed(char *out, int width, uint64_t v)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = qid_alphabet[v % QID_BASE];
		v /= QID_BASE;
	}
}

int qid_format(char out[QID_SIZE], int64_t sec, long usec, uint64_t ino)
{
	uint64_t sec_max = 1;
	char tmp[QID_INO_MAX];
	int n = 0, len;

	for (int i = 0; i < QID_SEC_WIDTH; i++)
		sec_max *= QID_BASE;
	if (sec < 0 || (uint64_t)sec >= sec_max || usec < 0 || usec > 999999)
		return QID_ERR_RANGE;
	put_fixed(out, QID_SEC_WIDTH, (uint64_t)sec);
	put_fixed(out + QID_SEC_WIDTH, QID_USEC_WIDTH, (uint64_t)usec);
	do {
		tmp[n++] = qid_alphabet[ino % QID_BASE];
		ino /= QID_BASE;
	} while (ino != 0);
	len = QID_SEC_WIDTH + QID_USEC_WIDTH;
	while (n > 0)
		out[len++] = tmp[--n];
	out[len] = 0;
	return len;
}

/* Decode s[0..len) as base 52 into *v; -1 on a bad digit or overflow. */
static int get_digits(const char *s, size_t len, uint64_t *v)
{
	uint64_t acc = 0;

	for (size_t i = 0; i < len; i++) {
		int d = digit_value((unsigned char)s[i]);

		if (d < 0 || acc > (UINT64_MAX - (uint64_t)d) / QID_BASE)
			return -1;
		acc = acc * QID_BASE + (uint64_t)d;
	}
	*v = acc;
	return 0;
}

int qid_parse(const char *s, size_t len, int64_t *sec, long *usec,
	      uint64_t *ino)
{
	const size_t tlen = QID_SEC_WIDTH + QID_USEC_WIDTH;
	uint64_t vs, vu, vi;

	if (len < QID_LEN_MIN || len > QID_LEN_MAX)
		return QID_ERR_SYNTAX;
	/* A leading zero digit would give a second spelling of one inode. */
	if (len > tlen + 1 && s[tlen] == qid_alphabet[0])
		return QID_ERR_SYNTAX;
	if (get_digits(s, QID_SEC_WIDTH, &vs) < 0 ||
	    get_digits(s + QID_SEC_WIDTH, QID_USEC_WIDTH, &vu) < 0 ||
	    get_digits(s + tlen, len - tlen, &vi) < 0 || vu > 999999)
		return QID_ERR_SYNTAX;
	if (sec != NULL)
		*sec = (int64_t)vs;
	if (usec != NULL)
		*usec = (long)vu;
	if (ino != NULL)
		*ino = vi;
	return 0;
}

int qid_valid(const char *s)
{
	return qid_parse(s, strnlen(s, QID_LEN_MAX + 1), NULL, NULL, NULL) == 0;
}
