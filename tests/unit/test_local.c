/* test_local - the local delivery agent end to end: a queue file, alias
 * tables (texthash, :include:), mailboxes in a scratch spool, log lines. */
#include "testutil.h"

#include <sys/stat.h>
#include <time.h>

#include "conf/conf.h"
#include "core/loop.h"
#include "deliver/deliver.h"
#include "deliver/local.h"

static struct loop *lp;
static struct local_agent *agent;

struct tjob {
	struct deliver_job job;
	struct qfile_msg msg;
	struct buf file;
	size_t idx[8];
	enum deliver_status st[8];
	char dsn[8][8];
	char text[8][512];
	size_t ncalls;
	int done;
};

static void on_rcpt(struct deliver_job *job, size_t i, enum deliver_status st,
		    const char *dsn, const char *text)
{
	struct tjob *t = job->arg;

	assert_true(i < job->nrcpt);
	assert_false(t->done);
	t->st[i] = st;
	snprintf(t->dsn[i], sizeof(t->dsn[i]), "%s", dsn);
	snprintf(t->text[i], sizeof(t->text[i]), "%s", text);
	t->ncalls++;
}

static void on_done(struct deliver_job *job)
{
	struct tjob *t = job->arg;

	assert_int_equal(t->ncalls, job->nrcpt);
	t->done = 1;
}

/* run - deliver content from sender to the comma-separated rcpts. */
static struct tjob *run(const char *sender, const char *rcpts,
			const char *content)
{
	struct tjob *t = calloc(1, sizeof(*t));
	struct qfile_msg m;
	struct qfile_rcpt r[8];
	char *list = strdup(rcpts), *cur = list, *tok;
	size_t n = 0;

	memset(&m, 0, sizeof(m));
	memset(r, 0, sizeof(r));
	m.arrival_sec = time(NULL);
	m.sender.p = sender;
	m.sender.len = strlen(sender);
	while ((tok = strsep(&cur, ",")) != NULL && n < 8) {
		r[n].addr.p = tok;
		r[n].addr.len = strlen(tok);
		n++;
	}
	m.rcpt = r;
	m.nrcpt = n;
	buf_init(&t->file, 1 << 20);
	assert_int_equal(qfile_format(&t->file, &m, content, strlen(content)),
			 0);
	free(list);
	assert_int_equal(qfile_parse(&t->msg, t->file.data, t->file.len), 0);
	for (size_t i = 0; i < n; i++)
		t->idx[i] = i;
	t->job.qid = "4LOCAL1";
	t->job.msg = &t->msg;
	t->job.file = (const unsigned char *)t->file.data;
	t->job.rcpt = t->idx;
	t->job.nrcpt = n;
	t->job.active_at = deliver_now();
	t->job.rcpt_done = on_rcpt;
	t->job.done = on_done;
	t->job.arg = t;
	t->job.route.tp = transport_find("local");
	assert_non_null(t->job.route.tp);
	assert_int_equal(local_agent_deliver(agent, &t->job), 0);
	/* Never from inside the starting call. */
	assert_int_equal(t->ncalls, 0);
	assert_int_equal(local_agent_busy(agent), 1);
	while (!t->done)
		loop_run_once(lp, 1000);
	assert_int_equal(local_agent_busy(agent), 0);
	return t;
}

static void tjob_free(struct tjob *t)
{
	qfile_msg_free(&t->msg);
	buf_free(&t->file);
	free(t);
}

/* The mailbox of user, without the From_ line's date (checked apart). */
static const char *mailbox(const char *user, const char *sender)
{
	static char data[1 << 16];
	char path[256], want[128];
	FILE *f;
	size_t n;
	char *nl;

	snprintf(path, sizeof(path), "%s/spool/%s", test_tmpdir(), user);
	f = fopen(path, "rb");
	if (f == NULL)
		return "(none)";
	n = fread(data, 1, sizeof(data) - 1, f);
	data[n] = 0;
	fclose(f);
	snprintf(want, sizeof(want), "From %s  ", sender);
	assert_memory_equal(data, want, strlen(want));
	nl = strchr(data, '\n');
	assert_non_null(nl);
	/* "Www Mmm dd hh:mm:ss yyyy" */
	assert_int_equal(nl - data - (long)strlen(want), 24);
	return nl + 1;
}

static void clear_spool(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -f %s/spool/*", test_tmpdir());
	assert_int_equal(system(cmd), 0);
}

static void test_direct(void **state)
{
	struct tjob *t;

	(void)state;
	clear_spool();
	test_log_capture();
	t = run("alice@remote.example", "root@h.example.org",
		"Subject: hi\r\n\r\nFrom the start\r\nbye\r\n");
	assert_int_equal(t->st[0], DELIVER_SENT);
	assert_string_equal(t->dsn[0], "2.0.0");
	assert_string_equal(t->text[0], "delivered to mailbox");
	assert_string_equal(mailbox("root", "alice@remote.example"),
			    "Return-Path: <alice@remote.example>\n"
			    "X-Original-To: root@h.example.org\n"
			    "Delivered-To: root@h.example.org\n"
			    "Subject: hi\n\n>From the start\nbye\n\n");
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "4LOCAL1: to=<root@h.example.org>, relay=local, "
			       "delay="));
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "dsn=2.0.0, status=sent (delivered to "
			       "mailbox)"));
	log_set_sink(NULL, NULL);
	tjob_free(t);
}

/* The forwarding hook: what the local agent hands to the queue (qmgr
 * stores it with queue_store(); tests/integration/test_local.py checks
 * that path end to end). */
static char fwd_sender[256], fwd_rcpts[1024];
static struct buf fwd_content;
static int fwd_fail;

static int fwd_store(void *arg, const char *sender, const char *const *rcpts,
		     size_t n, const void *content, size_t len, char *newqid)
{
	(void)arg;
	if (fwd_fail)
		return -1;
	snprintf(fwd_sender, sizeof(fwd_sender), "%s", sender);
	fwd_rcpts[0] = 0;
	for (size_t i = 0; i < n; i++)
		snprintf(fwd_rcpts + strlen(fwd_rcpts),
			 sizeof(fwd_rcpts) - strlen(fwd_rcpts), "%s%s",
			 i ? "," : "", rcpts[i]);
	buf_reset(&fwd_content);
	buf_append(&fwd_content, content, len);
	snprintf(newqid, 32, "4FWD0001");
	return 0;
}

static const struct local_forward fwd_hook = {fwd_store, NULL};

static void test_aliases(void **state)
{
	struct tjob *t;
	const char *body = "Subject: x\r\n\r\nbody\r\n";

	(void)state;
	clear_spool();
	/* Nested alias and :include:; the null sender; postmaster default;
	 * one recipient unknown. */
	t = run("",
		"team@h.example.org,postmaster@localhost,"
		"nosuchuser@h.example.org",
		body);
	assert_int_equal(t->st[0], DELIVER_SENT);
	assert_int_equal(t->st[1], DELIVER_SENT);
	assert_int_equal(t->st[2], DELIVER_BOUNCE);
	assert_string_equal(t->dsn[2], "5.1.1");
	assert_string_equal(t->text[2], "unknown user: \"nosuchuser\"");
	assert_string_equal(mailbox("daemon", "MAILER-DAEMON"),
			    "Return-Path: <>\n"
			    "X-Original-To: team@h.example.org\n"
			    "Delivered-To: team@h.example.org\n"
			    "Subject: x\n\nbody\n\n");
	assert_string_equal(mailbox("bin", "MAILER-DAEMON"),
			    "Return-Path: <>\n"
			    "X-Original-To: team@h.example.org\n"
			    "Delivered-To: team@h.example.org\n"
			    "Subject: x\n\nbody\n\n");
	assert_string_equal(mailbox("root", "MAILER-DAEMON"),
			    "Return-Path: <>\n"
			    "X-Original-To: postmaster@localhost\n"
			    "Delivered-To: postmaster@localhost\n"
			    "Subject: x\n\nbody\n\n");
	assert_string_equal(mailbox("nosuchuser", ""), "(none)");
	tjob_free(t);

	/* Some members fail: bounced, naming them; the others delivered. */
	clear_spool();
	conf_set("allow_mail_to_commands", "forward");
	t = run("s@x.example", "mixed@h.example.org", body);
	conf_set("allow_mail_to_commands", "alias");
	assert_int_equal(t->st[0], DELIVER_BOUNCE);
	assert_string_equal(t->dsn[0], "5.0.0");
	assert_string_equal(t->text[0],
			    "delivered to mailbox of 1 user(s), failed: "
			    "unknown user: \"ghost\"; |/bin/cat: mail to "
			    "command is restricted");
	assert_string_equal(mailbox("sys", "s@x.example"),
			    "Return-Path: <s@x.example>\n"
			    "X-Original-To: mixed@h.example.org\n"
			    "Delivered-To: mixed@h.example.org\n"
			    "Subject: x\n\nbody\n\n");
	tjob_free(t);

	/* A target outside mydestination: a copy goes to the queue with
	 * Delivered-To in front; the local member gets its mailbox. One
	 * log line per target, with orig_to= (Postfix's local(8)). */
	clear_spool();
	test_log_capture();
	t = run("s@x.example", "fwd@h.example.org", body);
	log_set_sink(NULL, NULL);
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "to=<daemon@h.example.org>, "
			       "orig_to=<fwd@h.example.org>, relay=local, "));
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "to=<out@remote.example>, "
			       "orig_to=<fwd@h.example.org>, relay=local, "));
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "status=sent (forwarded as 4FWD0001)"));
	assert_int_equal(t->st[0], DELIVER_SENT);
	assert_string_equal(t->text[0],
			    "delivered to mailbox; forwarded as 4FWD0001");
	assert_string_equal(fwd_sender, "s@x.example");
	assert_string_equal(fwd_rcpts, "out@remote.example");
	assert_string_equal(buf_str(&fwd_content),
			    "Delivered-To: fwd@h.example.org\r\n"
			    "Subject: x\r\n\r\nbody\r\n");
	assert_string_equal(mailbox("daemon", "s@x.example"),
			    "Return-Path: <s@x.example>\n"
			    "X-Original-To: fwd@h.example.org\n"
			    "Delivered-To: fwd@h.example.org\n"
			    "Subject: x\n\nbody\n\n");
	tjob_free(t);

	/* The copy cannot be queued: deferred (the mailbox, written before,
	 * may get a second copy at the retry, as with Postfix). */
	clear_spool();
	fwd_fail = 1;
	t = run("s@x.example", "fwd@h.example.org", body);
	fwd_fail = 0;
	assert_int_equal(t->st[0], DELIVER_DEFER);
	assert_string_equal(t->dsn[0], "4.3.0");
	assert_string_equal(t->text[0], "cannot forward to out@remote.example: "
					"queue file write error");
	assert_string_not_equal(mailbox("daemon", "s@x.example"), "(none)");
	tjob_free(t);

	/* A target that defers: no mailbox is written at all. */
	clear_spool();
	t = run("s@x.example", "cmd@h.example.org", body);
	assert_int_equal(t->st[0], DELIVER_DEFER);
	assert_string_equal(t->text[0],
			    "mail to command is not supported by mailgw");
	assert_string_equal(mailbox("daemon", ""), "(none)");
	tjob_free(t);

	/* The message was here before: a forwarding loop (Postfix's
	 * local(8) text), whatever the case. */
	clear_spool();
	t = run("s@x.example", "root@h.example.org",
		"Received: from a\r\nDelivered-To: <ROOT@h.example.org> \r\n"
		"Subject: x\r\n\r\nDelivered-To: not@header\r\n");
	assert_int_equal(t->st[0], DELIVER_BOUNCE);
	assert_string_equal(t->dsn[0], "5.4.6");
	assert_string_equal(t->text[0],
			    "mail forwarding loop for root@h.example.org");
	assert_string_equal(mailbox("root", ""), "(none)");
	tjob_free(t);
	/* Only the header counts. */
	assert_int_equal(local_loop_seen("S: x\r\n\r\nDelivered-To: a@b\r\n",
					 29, "a@b", 3),
			 0);
	assert_int_equal(local_loop_seen("Delivered-To:a@b", 16, "a@b", 3), 1);
	assert_int_equal(local_loop_seen("Delivered-To: a@bc\r\n", 20, "a@b",
					 3),
			 0);
}

static void test_failures(void **state)
{
	struct tjob *t;
	char path[256];

	(void)state;
	clear_spool();
	/* A mailbox that is a directory: cannot update, deferred. */
	snprintf(path, sizeof(path), "%s/spool/bin", test_tmpdir());
	assert_int_equal(mkdir(path, 0700), 0);
	t = run("s@x.example", "bin@h.example.org", "a\r\n");
	assert_int_equal(t->st[0], DELIVER_DEFER);
	assert_non_null(strstr(t->text[0], "cannot update mailbox "));
	assert_non_null(strstr(t->text[0], "/spool/bin for user bin. "));
	rmdir(path);
	tjob_free(t);

	/* Alias tables that cannot be opened: everything defers. */
	conf_set("alias_maps", "lmdb:/nonexistent/aliases");
	t = run("s@x.example", "root@h.example.org", "a\r\n");
	assert_int_equal(t->st[0], DELIVER_DEFER);
	assert_string_equal(t->dsn[0], "4.3.0");
	assert_string_equal(t->text[0], "alias database unavailable");
	tjob_free(t);
	{
		char spec[256];
		snprintf(spec, sizeof(spec), "texthash:%s/aliases",
			 test_tmpdir());
		conf_set("alias_maps", spec);
	}
}

static int setup(void **state)
{
	char buf[2048], spool[256];

	(void)state;
	buf_init(&fwd_content, 1024 * 1024);
	setenv("TZ", "UTC", 1);
	tzset();
	snprintf(spool, sizeof(spool), "%s/spool", test_tmpdir());
	if (mkdir(spool, 0755) < 0)
		return -1;
	snprintf(buf, sizeof(buf), ":include:%s/team.inc", test_tmpdir());
	test_write_file("team.inc", "# team\ndaemon\nbin@h.example.org\n");
	snprintf(buf, sizeof(buf),
		 "team :include:%s/team.inc\n"
		 "mixed sys, ghost, |/bin/cat\n"
		 "fwd daemon, out@remote.example\n"
		 "cmd daemon, |/usr/bin/procmail\n",
		 test_tmpdir());
	test_write_file("aliases", buf);
	snprintf(buf, sizeof(buf),
		 "myhostname = h.example.org\n"
		 "mydestination = $myhostname, localhost\n"
		 "mail_spool_directory = %s\n"
		 "alias_maps = texthash:%s/aliases\n"
		 "allow_mail_to_commands = alias\n",
		 spool, test_tmpdir());
	test_write_file("main.cf", buf);
	test_write_file("master.cf", "local unix - n n - - local\n");
	if (conf_load(test_tmpdir()) != 0 || transport_load() != 0)
		return -1;
	lp = loop_new();
	agent = local_agent_new(lp, &fwd_hook);
	return 0;
}

/* local_header_value: the whole field, folded lines included. */
static void test_header_value(void **state)
{
	static const char m[] = "Subject: x\r\n"
				"message-id:\r\n <f@x.example>\r\n\t(c)\r\n"
				"To: y\r\n"
				"\r\n"
				"Message-ID: <body@x>\r\n";
	static const char plain[] = "Message-ID: <a@b>\r\n\r\n";
	static const char none[] = "Subject: x\r\n\r\nMessage-ID: <b@x>\r\n";
	const char *v;
	size_t n;

	(void)state;
	assert_int_equal(local_header_value(m, sizeof(m) - 1, "Message-ID", &v,
					    &n),
			 1);
	assert_int_equal(n, strlen("\r\n <f@x.example>\r\n\t(c)"));
	assert_memory_equal(v, "\r\n <f@x.example>\r\n\t(c)", n);
	assert_int_equal(local_header_value(plain, sizeof(plain) - 1,
					    "Message-ID", &v, &n),
			 1);
	assert_int_equal(n, 6);
	assert_memory_equal(v, " <a@b>", 6);
	/* Only in the header; a body line is not a field. */
	assert_int_equal(local_header_value(none, sizeof(none) - 1,
					    "Message-ID", &v, &n),
			 0);
	/* The last field, without a line end. */
	assert_int_equal(local_header_value("Message-ID: <e>\r\n x", 20,
					    "Message-ID", &v, &n),
			 1);
	assert_int_equal(n, 9);
	assert_memory_equal(v, " <e>\r\n x", 9);
}

static int teardown(void **state)
{
	(void)state;
	local_agent_free(agent);
	loop_free(lp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_header_value),
	};
	int rc;

	rc = cmocka_run_group_tests(tests, setup, teardown);
	test_cleanup_tmpdir();
	return rc;
}
