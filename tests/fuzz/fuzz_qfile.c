/* fuzz_qfile - libFuzzer harness for qfile_parse().
 *
 * Beyond "no crash, no overread": an error is a known code; an accepted
 * file has consistent offsets and counts, every string lies inside the
 * input, the good prefix [0, valid_len) parses to the same state without
 * a torn tail, and the envelope written out again (when the content is in
 * the form the writer accepts) parses back to the same envelope. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "queue/qfile.h"

static const uint8_t *lo, *hi;

static void check_str(struct qfile_str s)
{
	if (s.len == 0)
		return;
	if ((const uint8_t *)s.p < lo || (const uint8_t *)s.p + s.len > hi)
		abort();
}

static int str_eq(struct qfile_str a, struct qfile_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static void check_same_envelope(const struct qfile_msg *a,
				const struct qfile_msg *b)
{
	if (a->arrival_sec != b->arrival_sec ||
	    a->arrival_usec != b->arrival_usec ||
	    !str_eq(a->sender, b->sender) ||
	    !str_eq(a->client_name, b->client_name) ||
	    !str_eq(a->client_addr, b->client_addr) ||
	    !str_eq(a->client_port, b->client_port) ||
	    !str_eq(a->helo, b->helo) || !str_eq(a->protocol, b->protocol) ||
	    !str_eq(a->sasl_user, b->sasl_user) ||
	    !str_eq(a->envid, b->envid) || a->body != b->body ||
	    a->smtputf8 != b->smtputf8 || a->ret != b->ret ||
	    a->nrcpt != b->nrcpt || a->content_len != b->content_len)
		abort();
	for (size_t i = 0; i < a->nrcpt; i++)
		if (!str_eq(a->rcpt[i].addr, b->rcpt[i].addr) ||
		    !str_eq(a->rcpt[i].orcpt, b->rcpt[i].orcpt) ||
		    a->rcpt[i].notify != b->rcpt[i].notify)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qfile_msg m, pre;
	struct buf out;
	size_t todo = 0;
	int rc;

	lo = data;
	hi = data + size;
	rc = qfile_parse(&m, data, size);
	if (rc != 0) {
		if (rc < QFILE_ERR_CONTENT || m.rcpt != NULL ||
		    m.err_off > size)
			abort();
		return 0;
	}
	if (m.content_off + m.content_len > m.initial_len ||
	    m.initial_len > m.valid_len || m.valid_len > size ||
	    m.torn != (m.valid_len != size) || m.nrcpt == 0 ||
	    m.nrcpt > QFILE_RCPT_MAX || m.arrival_usec > 999999)
		abort();
	check_str(m.sender);
	check_str(m.client_name);
	check_str(m.client_addr);
	check_str(m.client_port);
	check_str(m.helo);
	check_str(m.protocol);
	check_str(m.sasl_user);
	check_str(m.envid);
	for (size_t i = 0; i < m.nrcpt; i++) {
		check_str(m.rcpt[i].addr);
		check_str(m.rcpt[i].orcpt);
		check_str(m.rcpt[i].dsn);
		check_str(m.rcpt[i].text);
		todo += m.rcpt[i].state == QFILE_RCPT_TODO;
	}
	if (todo != m.nrcpt_todo)
		abort();

	if (qfile_parse(&pre, data, m.valid_len) != 0 || pre.torn ||
	    pre.valid_len != m.valid_len || pre.nrcpt_todo != m.nrcpt_todo ||
	    pre.retry_after != m.retry_after || pre.attempts != m.attempts ||
	    pre.hold != m.hold || pre.warned != m.warned)
		abort();
	qfile_msg_free(&pre);

	buf_init(&out, 64 * 1024 * 1024);
	rc = qfile_format(&out, &m, data + m.content_off, m.content_len);
	if (rc == 0) {
		if (qfile_parse(&pre, out.data, out.len) != 0)
			abort();
		check_same_envelope(&m, &pre);
		qfile_msg_free(&pre);
	} else if (rc != QFILE_ERR_CONTENT) {
		abort();
	}
	buf_free(&out);
	qfile_msg_free(&m);
	return 0;
}
