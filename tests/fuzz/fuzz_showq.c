/* fuzz_showq - libFuzzer harness for the queue listing formatters, fed
 * with what the pure queue-file parser makes of arbitrary bytes (root
 * lists maildrop files that local users wrote).
 *
 * Properties beyond "no crash": the text form holds no control byte but
 * the line feeds, and one line per recipient and reason at most; the JSON
 * form is one line, ends in "]}\n" and holds no raw control byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "queue/qfile.h"
#include "queue/showq.h"

static void check(const struct buf *b, int json)
{
	const char *s = buf_str(b);
	size_t n = buf_len(b), lines = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			lines++;
		else if (c < 32 || c == 127)
			abort();
	}
	if (json && (lines != 1 || n < 3 || memcmp(s + n - 3, "]}\n", 3)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qfile_msg qm;
	struct showq_msg m;
	struct showq_rcpt *r;
	struct buf b;
	size_t k = 0, lines = 0;

	memset(&qm, 0, sizeof(qm));
	if (qfile_parse(&qm, data, size) != 0)
		return 0;
	r = mem_zalloc((qm.nrcpt + 1) * sizeof(*r));
	for (size_t i = 0; i < qm.nrcpt; i++) {
		if (qm.rcpt[i].state != QFILE_RCPT_TODO)
			continue;
		r[k].addr = qm.rcpt[i].addr.p;
		r[k].addr_len = qm.rcpt[i].addr.len;
		r[k].reason = qm.rcpt[i].text.p;
		r[k].reason_len = qm.rcpt[i].text.len;
		k++;
	}
	m.queue = size & 1 ? "hold" : "active";
	m.id = "4SVLCh000BMF";
	m.arrival = qm.arrival_sec;
	m.size = qm.content_len;
	m.sender = qm.sender.p;
	m.sender_len = qm.sender.len;
	m.rcpt = r;
	m.nrcpt = k;
	buf_init(&b, 64 * 1024 * 1024);
	if (showq_format_text(&b, &m, 1, "MAILER-DAEMON") != 0)
		abort();
	check(&b, 0);
	for (size_t i = 0; i < buf_len(&b); i++)
		lines += buf_str(&b)[i] == '\n';
	if (lines > 2 + 2 * k)
		abort();
	buf_reset(&b);
	if (showq_format_json(&b, &m, "MAILER-DAEMON") != 0)
		abort();
	check(&b, 1);
	buf_free(&b);
	mem_free(r);
	qfile_msg_free(&qm);
	return 0;
}
