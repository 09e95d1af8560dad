/* fuzz_bounce - libFuzzer harness for bounce_build() over queue files.
 *
 * The input is a queue file (seeds: the qfile corpus); one more byte at
 * the end picks which recipients go into the report. For each kind of
 * notice (failure, delay, success) the report must build or fail only
 * with a full buffer, and what bounce_build() writes itself (everything
 * before the returned message or headers) must be printable ASCII in
 * CRLF lines, whatever bytes the queue file holds; the report ends with
 * its closing boundary; a delay or success notice never carries the
 * message body; RET=FULL respects the size limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "queue/bounce.h"
#include "queue/qfile.h"

#define SIZE_LIMIT 4096

/* The part bounce_build() writes from its own text and the queue file's
 * envelope: up to the third part's blank line. The queue file's values
 * cannot hold CRLF in the report, so the first CRLF-framed boundary line
 * of the third part is the builder's own. */
static size_t own_part(const char *p, size_t n)
{
	static const char mark[] = "\r\n--4Q0AAAAAAAAAAA.1700000100/"
				   "mx.example.org\r\nContent-Description: "
				   "Undelivered Message";
	const char *m = NULL;

	for (size_t i = 0; m == NULL && i + sizeof(mark) - 1 <= n; i++)
		if (memcmp(p + i, mark, sizeof(mark) - 1) == 0)
			m = p + i;
	if (m == NULL)
		abort(); /* the third part is always there */
	for (size_t i = (size_t)(m - p) + 2; i + 3 < n; i++)
		if (memcmp(p + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	abort();
}

static void check_text(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n' && (i == 0 || p[i - 1] != '\r'))
			abort();
		if (c == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			abort();
		if (c != '\r' && c != '\n' && c != '\t' &&
		    (c < 0x20 || c >= 0x7f))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum bounce_kind kinds[] = {BOUNCE_FAILED, BOUNCE_DELAYED,
						 BOUNCE_DELIVERED};
	struct qfile_msg m;
	unsigned char pick;
	unsigned char *which;
	struct buf out;

	if (size < 1)
		return 0;
	pick = data[size - 1];
	size--;
	if (qfile_parse(&m, data, size) != 0)
		return 0;
	which = mem_zalloc(m.nrcpt);
	for (size_t i = 0; i < m.nrcpt; i++)
		which[i] = (unsigned char)(pick == 0xff ||
					   ((pick >> (i % 8)) & 1));
	for (size_t k = 0; k < 3; k++) {
		struct bounce_info bi;
		size_t own;
		int rc;

		memset(&bi, 0, sizeof(bi));
		bi.kind = kinds[k];
		bi.qid = "4Q0AAAAAAAAAAA";
		bi.hostname = "mx.example.org";
		bi.mail_name = "Postfix";
		bi.to = "alice@example.org";
		bi.msgid = "1.4Q0AAAAAAAAAAA.1@mx.example.org";
		bi.now = 1700000100;
		bi.size_limit = SIZE_LIMIT;
		bi.delay_warning = 4 * 3600;
		bi.queue_lifetime = 5 * 86400;
		bi.which = which;
		buf_init(&out, 64 * 1024 * 1024);
		rc = bounce_build(&out, &bi, &m, data);
		if (rc != 0) {
			if (rc != -1 || !buf_error(&out))
				abort();
			buf_free(&out);
			continue;
		}
		own = own_part(out.data, out.len);
		check_text(out.data, own);
		if (out.len < 4 ||
		    memcmp(out.data + out.len - 4, "--\r\n", 4) != 0)
			abort();
		/* What follows: only the headers (up to and with the blank
		 * line), unless a failure notice returns the whole message
		 * within the size limit; then the closing boundary. */
		if (kinds[k] != BOUNCE_FAILED || m.ret == QFILE_RET_HDRS ||
		    m.content_len > SIZE_LIMIT) {
			const uint8_t *c = data + m.content_off;
			size_t h = m.content_len;

			if (h >= 2 && c[0] == '\r' && c[1] == '\n')
				h = 2;
			else
				for (size_t i = 0; i + 3 < m.content_len; i++)
					if (memcmp(c + i, "\r\n\r\n", 4) == 0) {
						h = i + 4;
						break;
					}
			if (out.len - own > h + 2 + 128)
				abort();
		}
		buf_free(&out);
	}
	mem_free(which);
	qfile_msg_free(&m);
	return 0;
}
