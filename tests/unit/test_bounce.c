/* test_bounce - the RFC 3464 report builder: structure, per-recipient
 * fields, ORCPT/ENVID, RET=HDRS vs RET=FULL, size limit, hostile bytes. */
#include "testutil.h"

#include <sys/stat.h>

#include "core/mem.h"
#include "queue/bounce.h"
#include "queue/qfile.h"

#define S(lit) ((struct qfile_str){(lit), sizeof(lit) - 1})

static const char content[] = "From: alice@example.org\r\n"
			      "Subject: hello\r\n"
			      "\r\n"
			      "secret body line\r\n";

/* Build a queue file in b, parse it into m, mark recipient 0 bounced. */
static void make(struct buf *qf, struct qfile_msg *m, enum qfile_ret ret,
		 int with_env)
{
	struct qfile_rcpt r[2];
	struct qfile_msg w;

	memset(r, 0, sizeof(r));
	memset(&w, 0, sizeof(w));
	w.arrival_sec = 1700000000;
	w.sender = S("alice@example.org");
	w.protocol = S("ESMTP");
	w.ret = ret;
	if (with_env)
		w.envid = S("ENV123");
	r[0].addr = S("gone@example.net");
	if (with_env)
		r[0].orcpt = S("rfc822;Gone@example.net");
	r[1].addr = S("ok@example.net");
	w.rcpt = r;
	w.nrcpt = 2;
	buf_init(qf, 1 << 20);
	assert_int_equal(qfile_format(qf, &w, content, sizeof(content) - 1), 0);
	{
		static const char said[] =
			"host mx.example.net[192.0.2.1] said: 550 5.1.1 no "
			"such user\x01 (in reply to RCPT TO command)";

		assert_int_equal(qfile_format_done(qf, 0, QFILE_RCPT_BOUNCED,
						   "5.1.1", said,
						   sizeof(said) - 1),
				 0);
	}
	assert_int_equal(qfile_parse(m, qf->data, qf->len), 0);
}

static const char *build(struct buf *out, struct qfile_msg *m,
			 const struct buf *qf, size_t limit)
{
	static const unsigned char which[2] = {1, 0};
	struct bounce_info bi;

	memset(&bi, 0, sizeof(bi));
	bi.kind = BOUNCE_FAILED;
	bi.qid = "4Q0AAAAAAAAAAA";
	bi.hostname = "mx.example.org";
	bi.mail_name = "Postfix";
	bi.to = "alice@example.org";
	bi.msgid = "id@mx.example.org";
	bi.now = 1700000100;
	bi.size_limit = limit;
	bi.which = which;
	buf_init(out, 1 << 20);
	assert_int_equal(bounce_build(out, &bi, m, (const void *)qf->data), 0);
	return buf_str(out);
}

static void test_failed_report_hdrs(void **state)
{
	struct buf qf, out;
	struct qfile_msg m;
	const char *s;

	(void)state;
	make(&qf, &m, QFILE_RET_HDRS, 1);
	s = build(&out, &m, &qf, 50000);
	assert_non_null(strstr(s, "From: MAILER-DAEMON@mx.example.org"));
	assert_non_null(strstr(s, "\r\nTo: alice@example.org\r\n"));
	assert_non_null(strstr(s, "multipart/report; "
				  "report-type=delivery-status"));
	assert_non_null(strstr(s, "This is the mail system at host "
				  "mx.example.org."));
	assert_non_null(strstr(s, "Reporting-MTA: dns; mx.example.org\r\n"));
	assert_non_null(strstr(s, "X-Postfix-Queue-ID: 4Q0AAAAAAAAAAA\r\n"));
	assert_non_null(strstr(s, "Original-Envelope-Id: ENV123\r\n"));
	assert_non_null(strstr(s, "Final-Recipient: rfc822; "
				  "gone@example.net\r\n"));
	assert_non_null(strstr(s, "Original-Recipient: rfc822; "
				  "Gone@example.net\r\n"));
	assert_non_null(strstr(s, "Action: failed\r\nStatus: 5.1.1\r\n"));
	/* The remote MTA and its reply, as Postfix reports them; the
	 * control byte of the reply never reaches the report. */
	assert_non_null(strstr(s, "Remote-MTA: dns; mx.example.net\r\n"
				  "Diagnostic-Code: smtp; 550 5.1.1 no such "
				  "user?\r\n"));
	/* Only recipients in `which`. */
	assert_null(strstr(s, "ok@example.net"));
	/* RET=HDRS: headers only. */
	assert_non_null(strstr(s, "text/rfc822-headers"));
	assert_non_null(strstr(s, "Subject: hello\r\n"));
	assert_null(strstr(s, "secret body line"));
	/* Every line ends in CRLF. */
	for (size_t i = 0; i < out.len; i++)
		if (out.data[i] == '\n')
			assert_true(i > 0 && out.data[i - 1] == '\r');
	qfile_msg_free(&m);
	buf_free(&out);
	buf_free(&qf);
}

static void test_ret_full_and_limit(void **state)
{
	struct buf qf, out;
	struct qfile_msg m;
	const char *s;

	(void)state;
	make(&qf, &m, QFILE_RET_FULL, 0);
	s = build(&out, &m, &qf, 50000);
	assert_non_null(strstr(s, "Content-Type: message/rfc822"));
	assert_non_null(strstr(s, "secret body line"));
	assert_null(strstr(s, "Original-Envelope-Id"));
	assert_null(strstr(s, "Original-Recipient"));
	buf_free(&out);
	/* Over bounce_size_limit: headers only. */
	s = build(&out, &m, &qf, 10);
	assert_non_null(strstr(s, "text/rfc822-headers"));
	assert_null(strstr(s, "secret body line"));
	qfile_msg_free(&m);
	buf_free(&out);
	buf_free(&qf);
	/* No RET: the whole message, as Postfix. */
	make(&qf, &m, QFILE_RET_NONE, 0);
	s = build(&out, &m, &qf, 50000);
	assert_non_null(strstr(s, "Content-Type: message/rfc822"));
	assert_non_null(strstr(s, "secret body line"));
	qfile_msg_free(&m);
	buf_free(&out);
	buf_free(&qf);
}

static void test_success_and_delay(void **state)
{
	static const unsigned char which[2] = {0, 1};
	struct buf qf, out;
	struct qfile_msg m;
	struct bounce_info bi;

	(void)state;
	make(&qf, &m, QFILE_RET_FULL, 0);
	memset(&bi, 0, sizeof(bi));
	bi.qid = "4Q0AAAAAAAAAAA";
	bi.hostname = "mx.example.org";
	bi.mail_name = "Postfix";
	bi.to = "alice@example.org";
	bi.msgid = "id@mx.example.org";
	bi.now = 1700000100;
	bi.size_limit = 50000;
	bi.which = which;
	bi.kind = BOUNCE_DELIVERED;
	buf_init(&out, 1 << 20);
	assert_int_equal(bounce_build(&out, &bi, &m, (const void *)qf.data), 0);
	assert_non_null(strstr(out.data, "Final-Recipient: rfc822; "
					 "ok@example.net\r\nAction: relayed\r\n"
					 "Status: 2.0.0\r\n"));
	/* Never the whole message with a success or delay notice. */
	assert_null(strstr(out.data, "secret body line"));
	buf_reset(&out);
	bi.kind = BOUNCE_DELAYED;
	assert_int_equal(bounce_build(&out, &bi, &m, (const void *)qf.data), 0);
	assert_non_null(strstr(out.data, "THIS IS A WARNING ONLY"));
	assert_non_null(strstr(out.data, "Action: delayed\r\nStatus: 4.0.0"));
	qfile_msg_free(&m);
	buf_free(&out);
	buf_free(&qf);
}

/* postconf_text - Postfix's own expansion of its built-in template of
 * class cls ("failure", "delay", "success") for dir/main.cf, in CRLF form
 * (postconf -b, the real Postfix). */
static void postconf_text(const char *dir, const char *cls, struct buf *out)
{
	char cmd[600], line[1024], start[64];
	FILE *p;
	int in = 0;

	snprintf(cmd, sizeof(cmd), "/usr/sbin/postconf -c %s -b", dir);
	snprintf(start, sizeof(start), "expanded_%s_text = <<EOF\n", cls);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		if (in && strcmp(line, "EOF\n") == 0)
			in = 0;
		else if (in) {
			line[strcspn(line, "\n")] = 0;
			buf_puts(out, line);
			buf_puts(out, "\r\n");
		} else if (strcmp(line, start) == 0)
			in = 1;
	}
	assert_int_equal(pclose(p), 0);
	assert_true(out->len > 100);
}

/* The human-readable part is word for word what Postfix writes: the
 * texts come from the installed Postfix (postconf -b), with the same
 * myhostname, delay_warning_time (90m: "1 hour(s)") and
 * maximal_queue_lifetime (36h: "1 day(s)"). */
static void test_text_matches_postfix(void **state)
{
	static const unsigned char which[2] = {1, 1};
	static const char *const cls[] = {"failure", "delay", "success"};
	static const enum bounce_kind kinds[] = {BOUNCE_FAILED, BOUNCE_DELAYED,
						 BOUNCE_DELIVERED};
	char dir[300], path[400];
	struct buf qf, out, want;
	struct qfile_msg m;
	struct bounce_info bi;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/pf", test_tmpdir());
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/main.cf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("myhostname = mx.example.org\ndelay_warning_time = 90m\n"
	      "maximal_queue_lifetime = 36h\n",
	      f);
	fclose(f);
	make(&qf, &m, QFILE_RET_HDRS, 0);
	buf_init(&out, 1 << 20);
	buf_init(&want, 1 << 16);
	for (size_t k = 0; k < 3; k++) {
		memset(&bi, 0, sizeof(bi));
		bi.kind = kinds[k];
		bi.qid = "4Q0AAAAAAAAAAA";
		bi.hostname = "mx.example.org";
		bi.mail_name = "Postfix";
		bi.to = "alice@example.org";
		bi.msgid = "id@mx.example.org";
		bi.now = 1700000100;
		bi.size_limit = 50000;
		bi.delay_warning = 90 * 60;
		bi.queue_lifetime = 36 * 3600;
		bi.which = which;
		buf_reset(&out);
		buf_reset(&want);
		buf_puts(&want, "Content-Type: text/plain; charset=us-ascii"
				"\r\n\r\n");
		postconf_text(dir, cls[k], &want);
		buf_puts(&want, "\r\n<");
		assert_int_equal(
			bounce_build(&out, &bi, &m, (const void *)qf.data), 0);
		assert_non_null(strstr(buf_str(&out), buf_str(&want)));
	}
	qfile_msg_free(&m);
	buf_free(&out);
	buf_free(&want);
	buf_free(&qf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_report_hdrs),
		cmocka_unit_test(test_ret_full_and_limit),
		cmocka_unit_test(test_success_and_delay),
		cmocka_unit_test(test_text_matches_postfix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
