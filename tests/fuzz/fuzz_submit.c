/* fuzz_submit - libFuzzer harness for sendmail's pure parsers.
 *
 * Properties beyond "no crash": line-end normalisation gives the same
 * output however the input is split, and that output is canonical (every
 * LF after a CR, no bare CR, ends in CRLF); the header section lies
 * inside the input and its fields tile it; every address reported is
 * NUL-terminated, of the stated length and within the limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/submit.h"

static void normalise(const char *p, size_t n, size_t cut, int dots,
		      struct buf *out, size_t *used)
{
	struct submit_norm s;
	size_t u1 = 0, u2 = 0;

	submit_norm_init(&s, dots);
	if (submit_norm_push(&s, p, cut, out, &u1) != 0)
		abort();
	if (!s.done && submit_norm_push(&s, p + cut, n - cut, out, &u2) != 0)
		abort();
	if (submit_norm_finish(&s, out) != 0)
		abort();
	*used = u1 + u2;
}

static int check_addr(const char *addr, size_t len, void *arg)
{
	(void)arg;
	if (len == 0 || len > SUBMIT_ADDR_MAX || strlen(addr) != len)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct buf a, b;
	size_t ua, ub, cut = size ? data[0] % (size + 1) : 0, hlen, off = 0;
	size_t prev_end = 0;
	struct submit_header h;
	int dots = size > 1 && (data[1] & 1), complete;

	buf_init(&a, 2 * size + 16);
	buf_init(&b, 2 * size + 16);
	normalise(p, size, size, dots, &a, &ua);
	normalise(p, size, cut, dots, &b, &ub);
	if (ua != ub || buf_len(&a) != buf_len(&b) ||
	    memcmp(buf_str(&a), buf_str(&b), buf_len(&a)) != 0)
		abort();
	for (size_t i = 0; i < buf_len(&a); i++) {
		char c = buf_str(&a)[i];

		if (c == '\n' && (i == 0 || buf_str(&a)[i - 1] != '\r'))
			abort();
		if (c == '\r' &&
		    (i + 1 >= buf_len(&a) || buf_str(&a)[i + 1] != '\n'))
			abort();
	}
	hlen = submit_header_len(buf_str(&a), buf_len(&a), &complete);
	if (hlen > buf_len(&a))
		abort();
	while (submit_header_next(buf_str(&a), hlen, &off, &h)) {
		if (h.start != prev_end || h.end > hlen || h.end <= h.start ||
		    h.name_len == 0)
			abort();
		prev_end = h.end;
	}
	if (prev_end != hlen)
		abort();
	(void)submit_addr_list(p, size, check_addr, NULL);
	buf_free(&a);
	buf_free(&b);
	return 0;
}
