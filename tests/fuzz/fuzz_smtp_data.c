/* fuzz_smtp_data - libFuzzer harness for the DATA/BDAT push parser.
 *
 * The first byte picks the bare-newline mode, a size limit and the seed of
 * a chunking; the rest is the client's bytes. Properties beyond "no
 * crash":
 *   - one push, byte-at-a-time pushes and a random chunking give the same
 *     output, end, counters and error (in REJECT mode the sink sees some
 *     prefix once the error is set, so only the rest is compared);
 *   - DATA ends exactly at the first CRLF "." CRLF of "\r\n" + input, and
 *     *used points just past it (the smuggling defence, as an oracle);
 *   - bare_lf counts the LFs without a CR before them; REJECT reports an
 *     error exactly when there is one;
 *   - NORMALIZE output never holds a bare LF, its CRLFs are its lines;
 *   - BDAT in mode NO gives back every byte, however it is chunked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "smtpd/smtp_data.h"

struct out {
	char *p;
	size_t n, cap;
};

static int sink(void *arg, const char *p, size_t n)
{
	struct out *o = arg;

	if (o->n + n > o->cap)
		abort();
	memcpy(o->p + o->n, p, n);
	o->n += n;
	return 0;
}

struct result {
	struct smtp_data d;
	struct out out;
	int rc;
	size_t used;
};

/* steps: 0 one push; 1 byte at a time; else random sizes from seed. */
static void run(struct result *r, const struct smtp_data_opts *o,
		const char *in, size_t n, int bdat, unsigned mode,
		uint32_t seed)
{
	size_t off = 0, u;

	r->out.n = 0;
	r->out.cap = 2 * n + 16;
	r->out.p = malloc(r->out.cap);
	if (r->out.p == NULL)
		abort();
	if (bdat)
		smtp_data_init_bdat(&r->d, o, sink, &r->out);
	else
		smtp_data_init(&r->d, o, sink, &r->out);
	r->rc = SMTP_DATA_MORE;
	while (off < n || (bdat && r->rc != SMTP_DATA_DONE)) {
		size_t k = n - off;

		if (mode == 1 && k > 1)
			k = 1;
		if (mode == 2) {
			seed = seed * 1103515245u + 12345u;
			if (k > 0)
				k = 1 + (seed >> 8) % k;
		}
		if (bdat) {
			int b = smtp_data_bdat_begin(&r->d, k, off + k == n);

			if (k == 0) {
				r->rc = b;
				break;
			}
		}
		r->rc = smtp_data_push(&r->d, in + off, k, &u);
		if (u > k)
			abort();
		off += u;
		if (r->rc == SMTP_DATA_DONE)
			break;
		if (r->rc == SMTP_DATA_MORE && u != k)
			abort();
		if (bdat && r->rc != SMTP_DATA_CHUNK && off < n)
			abort();
	}
	r->used = off;
}

static void same(const struct result *a, const struct result *b, int cmp_out)
{
	if (a->rc != b->rc || a->used != b->used || a->d.err != b->d.err ||
	    a->d.size != b->d.size || a->d.lines != b->d.lines ||
	    a->d.max_line != b->d.max_line ||
	    a->d.long_lines != b->d.long_lines ||
	    a->d.header_end != b->d.header_end ||
	    a->d.bare_lf != b->d.bare_lf || a->d.bare_cr != b->d.bare_cr ||
	    a->d.in_bytes != b->d.in_bytes)
		abort();
	if (cmp_out &&
	    (a->out.n != b->out.n || memcmp(a->out.p, b->out.p, a->out.n) != 0))
		abort();
}

/* Where "\r\n" + in first holds CRLF "." CRLF: the end in in, or 0. */
static size_t oracle_end(const char *in, size_t n)
{
	for (size_t i = 0; i + 3 <= n; i++) {
		/* ".\r\n" at i, preceded by CRLF (or the start) */
		if (in[i] == '.' && in[i + 1] == '\r' && in[i + 2] == '\n' &&
		    (i == 0 ||
		     (i >= 2 && in[i - 2] == '\r' && in[i - 1] == '\n')))
			return i + 3;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_data_opts o;
	struct result one, bytes, rnd;
	const char *in;
	size_t n, end, bare = 0;
	unsigned ctl;
	int bdat;

	if (size < 1)
		return 0;
	ctl = data[0];
	in = (const char *)data + 1;
	n = size - 1;
	memset(&o, 0, sizeof(o));
	o.bare = (enum smtp_bare)(ctl % 3);
	o.size_limit = (ctl & 0x08) ? n / 2 : 0;
	o.line_limit = (ctl & 0x10) ? 80 : 0;
	bdat = (ctl & 0x20) != 0;

	run(&one, &o, in, n, bdat, 0, 0);
	run(&bytes, &o, in, n, bdat, 1, 0);
	run(&rnd, &o, in, n, bdat, 2, ctl * 2654435761u + (uint32_t)n);
	{
		int cmp = o.bare != SMTP_BARE_REJECT || one.d.err == 0;

		if (o.size_limit != 0 && one.d.err == SMTP_DATA_ERR_SIZE)
			cmp = 0; /* the sink saw a chunking-dependent prefix */
		same(&one, &bytes, cmp);
		same(&one, &rnd, cmp);
	}

	for (size_t i = 0; i < one.used; i++)
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			bare++;
	if (one.d.bare_lf != bare)
		abort();
	if (o.bare == SMTP_BARE_REJECT &&
	    (one.d.err == SMTP_DATA_ERR_BARE_LF) != (bare > 0) &&
	    !(bare > 0 && one.d.err != 0))
		abort();
	if (one.d.header_end != SMTP_DATA_NO_BODY &&
	    one.d.header_end > one.d.size)
		abort();

	if (!bdat) {
		end = oracle_end(in, n);
		if ((one.rc == SMTP_DATA_DONE) != (end != 0))
			abort();
		if (end != 0 && one.used != end)
			abort();
		if (end == 0 && one.used != n)
			abort();
	} else if (one.rc != SMTP_DATA_DONE || one.used != n) {
		abort();
	}

	if (one.d.err == 0) {
		if (one.d.size != one.out.n)
			abort();
		if (o.bare == SMTP_BARE_NORMALIZE) {
			uint64_t crlf = 0;

			for (size_t i = 0; i < one.out.n; i++) {
				if (one.out.p[i] != '\n')
					continue;
				if (i == 0 || one.out.p[i - 1] != '\r')
					abort();
				crlf++;
			}
			/* BDAT may end in an open line */
			if (crlf != one.d.lines &&
			    !(bdat && crlf + 1 == one.d.lines))
				abort();
		}
		if (bdat && o.bare == SMTP_BARE_NO &&
		    (one.out.n != n || memcmp(one.out.p, in, n) != 0))
			abort();
	}
	free(one.out.p);
	free(bytes.out.p);
	free(rnd.out.p);
	return 0;
}
