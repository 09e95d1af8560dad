/* fuzz_webui_qlist - libFuzzer harness for the dashboard and queue page
 * inputs (webui-cgi/qlist.h, diff.h) and the control-socket job parser
 * (master/control.h).
 *
 * The input is one postqueue -j line, one maillog line, two texts for the
 * line diff (split at the first NUL) and a control request. Properties
 * beyond "no crash, no leak, no hang":
 *   - a parsed message never has more than QLIST_RCPT_MAX recipients;
 *   - the diff replays: its ' ' and '-' lines rebuild the old text's lines,
 *     its ' ' and '+' lines the new text's;
 *   - a control job is a fixed tool with at most one argument taken from
 *     the request, and that argument is a queue ID. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "diff.h"
#include "master/control.h"
#include "qlist.h"
#include "queue/qid.h"

struct replay {
	struct buf a, b;
};

static void rebuild(char op, const char *line, size_t len, void *arg)
{
	struct replay *r = arg;

	if (op != '+') {
		buf_append(&r->a, line, len);
		buf_putc(&r->a, '\n');
	}
	if (op != '-') {
		buf_append(&r->b, line, len);
		buf_putc(&r->b, '\n');
	}
}

/* The text with a newline after its last line. */
static int same_lines(const struct buf *got, const char *s, size_t n)
{
	size_t extra = n > 0 && s[n - 1] != '\n';

	return buf_len(got) == n + extra && memcmp(buf_str(got), s, n) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nul = memchr(s, 0, size);
	size_t alen = nul ? (size_t)(nul - s) : size;
	struct qlist_msg m;
	struct logstat st = {0};
	struct replay r;
	struct control_job job;
	struct buf why;

	qlist_msg_init(&m);
	if (qlist_parse(s, size, &m) == 0 && m.nrcpt > QLIST_RCPT_MAX)
		abort();
	qlist_msg_free(&m);
	logstat_line(s, size, "Nov 29", &st);

	buf_init(&r.a, size * 2 + 16);
	buf_init(&r.b, size * 2 + 16);
	if (size < 4096) {
		const char *b = nul ? nul + 1 : s + size;
		size_t blen = nul ? size - alen - 1 : 0;

		diff_lines(s, alen, b, blen, rebuild, &r);
		if (!same_lines(&r.a, s, alen) || !same_lines(&r.b, b, blen))
			abort();
	}
	buf_free(&r.a);
	buf_free(&r.b);

	buf_init(&why, 256);
	if (control_job_parse(s, alen, "/var/lib/mailgw/webui", &job, &why) ==
	    1) {
		if (job.argc > 5)
			abort();
		for (size_t i = 0; i < job.argc; i++)
			if (job.argv[i] == job.qid && !qid_valid(job.qid))
				abort();
		/* A user name is of its characters only; a password never
		 * gets onto argv. */
		if (job.user[0] &&
		    strspn(job.user, CONTROL_USER_CHARS) != strlen(job.user))
			abort();
		for (size_t i = 0; i < job.argc; i++)
			if (job.argv[i] == job.input)
				abort();
		if (job.input[0] && (job.argc != 3 || job.argv[2] != job.user))
			abort();
	}
	buf_free(&why);
	return 0;
}
