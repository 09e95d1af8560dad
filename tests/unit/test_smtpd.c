/* test_smtpd - the SMTP server: sessions over loopback against a real
 * spool (smtpd_service in a forked child), the queue writer's group
 * commit and its disk-full path, and the restriction engine's flow. */
#include "testutil.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "conf/conf.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/net.h"
#include "master/service.h"
#include "queue/qfile.h"
#include "queue/spool.h"
#include "queue/writer.h"
#include "dict/dict.h"
#include "smtpd/passwd.h"
#include "smtpd/restrict.h"
#include "smtpd/session.h"

static char qdir[256], logpath[256];
static pid_t child;
static int port;
static rlim_t child_fsize; /* RLIMIT_FSIZE for the server; 0: none */
static int use_v6;         /* listen on and dial [::1] */

static char *read_log(void);

static void write_conf(const char *extra)
{
	char text[4096];

	snprintf(qdir, sizeof(qdir), "%s/queue", test_tmpdir());
	snprintf(logpath, sizeof(logpath), "%s/maillog", test_tmpdir());
	snprintf(text, sizeof(text),
		 "queue_directory = %s\nmyhostname = mx.test.example\n"
		 "mydestination = test.example\nmynetworks = 10.0.0.0/8\n"
		 "relay_domains = relay.example\nsmtpd_error_sleep_time = 0\n"
		 "local_recipient_maps =\n"
		 /* no DNS or hosts file of this machine in unit tests */
		 "smtpd_peername_lookup = no\n"
		 "%s",
		 qdir, extra);
	test_write_file("main.cf", text);
	assert_int_equal(conf_load(test_tmpdir()), 0);
}

static void start(const char *extra)
{
	struct net_addr a;
	int lfd, pfd[2];

	write_conf(extra);
	assert_int_equal(spool_create(qdir, (uid_t)-1, (gid_t)-1), 0);
	const char *la = use_v6 ? "[::1]:0" : "127.0.0.1:0";
	assert_int_equal(net_addr_parse(&a, la, strlen(la)), 0);
	assert_int_equal(net_listen(&a, 4096, &lfd), 0); /* as a busy MX */
	assert_int_equal(net_local_addr(lfd, &a), 0);
	port = net_addr_port(&a);
	assert_int_equal(pipe(pfd), 0);
	unlink(logpath);
	assert_string_equal(smtpd_module_name, "smtpd");
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		/* dies with the test program, even when it aborts */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		log_set_sink(NULL, NULL);
		log_open("smtpd", 0);
		log_set_file(logpath);
		if (child_fsize > 0) {
			/* a full disk: writes past the limit fail with
			 * EFBIG instead of killing the process */
			struct rlimit rl = {child_fsize, child_fsize};
			signal(SIGXFSZ, SIG_IGN);
			setrlimit(RLIMIT_FSIZE, &rl);
		}
		struct service_listener l = {lfd, "127.0.0.1"};
		struct service_ctx ctx = {"smtp", &l, 1, pfd[1], 5000, 0, -1};
		_exit(smtpd_service(&ctx));
	}
	close(lfd);
	close(pfd[1]);
	char c = 0;
	if (read(pfd[0], &c, 1) != 1)
		fail_msg("smtpd did not start: %s", read_log());
	assert_int_equal(c, 'R');
	close(pfd[0]);
}

static void stop(void)
{
	int st;

	kill(child, SIGTERM);
	assert_int_equal(waitpid(child, &st, 0), child);
	child = 0;
	child_fsize = 0;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static int dial(void)
{
	struct timeval tv = {30, 0};
	int fd;

	if (use_v6) {
		struct sockaddr_in6 s6 = {.sin6_family = AF_INET6,
					  .sin6_port = htons((uint16_t)port),
					  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
		fd = socket(AF_INET6, SOCK_STREAM, 0);
		assert_int_equal(connect(fd, (void *)&s6, sizeof(s6)), 0);
	} else {
		struct sockaddr_in sin = {.sin_family = AF_INET,
					  .sin_port = htons((uint16_t)port),
					  .sin_addr.s_addr =
						  htonl(INADDR_LOOPBACK)};
		fd = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(fd, (void *)&sin, sizeof(sin)), 0);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void sendall(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

/* Read one whole reply (through the line "NNN "); returns it. */
static const char *get_reply(int fd)
{
	static char r[8192];
	size_t n = 0;

	for (;;) {
		ssize_t k = read(fd, r + n, 1);
		if (k <= 0) {
			r[n] = 0;
			return r;
		}
		n++;
		if (r[n - 1] == '\n') {
			char *ls = r + n - 1;
			while (ls > r && ls[-1] != '\n')
				ls--;
			if (strlen(ls) >= 4 || (r + n - ls) >= 4) {
				if (ls[3] == ' ') {
					r[n] = 0;
					return r;
				}
			}
		}
		assert_true(n < sizeof(r) - 1);
	}
}

static void expect(int fd, const char *cmd, const char *prefix)
{
	if (cmd != NULL)
		sendall(fd, cmd, strlen(cmd));
	const char *r = get_reply(fd);
	if (strncmp(r, prefix, strlen(prefix)) != 0)
		fail_msg("after %s: got \"%s\", want \"%s\"", cmd ? cmd : "", r,
			 prefix);
}

static char *read_log(void)
{
	static char text[1 << 16];
	int fd = open(logpath, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : 0;
	if (fd >= 0)
		close(fd);
	text[n > 0 ? n : 0] = 0;
	return text;
}

static void qid_of(const char *reply, char *qid)
{
	const char *p = strstr(reply, "queued as ");
	assert_non_null(p);
	p += 10;
	size_t n = strcspn(p, "\r\n");
	memcpy(qid, p, n);
	qid[n] = 0;
}

/* Parse incoming/QID; content copied to out. */
static void load_msg(const char *qid, struct qfile_msg *m, char **content,
		     char **raw)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/incoming/%s", qdir, qid);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	static char buf[1 << 16];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_true(n > 0);
	assert_int_equal(qfile_parse(m, buf, (size_t)n), 0);
	*content = mem_strndup(buf + m->content_off, m->content_len);
	*raw = buf;
}

static void test_basic_transaction(void **state)
{
	(void)state;
	start("");
	int fd = dial();
	expect(fd, NULL, "220 mx.test.example ESMTP");
	sendall(fd, "EHLO client.example\r\n", 21);
	const char *r = get_reply(fd);
	assert_non_null(strstr(r, "250-mx.test.example\r\n250-PIPELINING\r\n"
				  "250-SIZE 10240000\r\n"));
	assert_non_null(strstr(r, "250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n"
				  "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
				  "250 CHUNKING\r\n"));
	expect(fd, "MAIL FROM:<s@client.example> RET=HDRS ENVID=abc\r\n",
	       "250 2.1.0 Ok");
	expect(fd,
	       "RCPT TO:<u@test.example> NOTIFY=SUCCESS,FAILURE "
	       "ORCPT=rfc822;u@test.example\r\n",
	       "250 2.1.5 Ok");
	expect(fd, "DATA\r\n", "354 ");
	/* a "\n.\n" and "\r\n.\n" are content, not the end (no smuggling) */
	const char *body = "Message-ID: <m1@client.example>\r\nSubject: t\r\n"
			   "\r\nline\n.\nMAIL FROM:<x@y>\r\n.\nmore\r\n"
			   "..dot\r\n.\r\n";
	sendall(fd, body, strlen(body));
	r = get_reply(fd);
	assert_true(strncmp(r, "250 2.0.0 Ok: queued as ", 24) == 0);
	char qid[64];
	qid_of(r, qid);
	expect(fd, "QUIT\r\n", "221 2.0.0 Bye");
	close(fd);
	stop();

	struct qfile_msg m;
	char *content, *raw;
	load_msg(qid, &m, &content, &raw);
	assert_int_equal(m.nrcpt, 1);
	assert_memory_equal(m.sender.p, "s@client.example", 16);
	assert_memory_equal(m.rcpt[0].addr.p, "u@test.example", 14);
	assert_int_equal(m.rcpt[0].notify,
			 QFILE_NOTIFY_SUCCESS | QFILE_NOTIFY_FAILURE);
	assert_int_equal(m.ret, QFILE_RET_HDRS);
	assert_memory_equal(m.envid.p, "abc", 3);
	assert_memory_equal(m.rcpt[0].orcpt.p, "rfc822;u@test.example", 21);
	char want[256];
	snprintf(want, sizeof(want),
		 "Received: from client.example (unknown [127.0.0.1])\r\n\tby "
		 "mx.test.example (mailgw) with ESMTP id %s\r\n\tfor "
		 "<u@test.example>; ",
		 qid);
	assert_true(strncmp(content, want, strlen(want)) == 0);
	assert_non_null(strstr(content, "\r\n\r\nline\r\n.\r\nMAIL FROM:<x@y>"
					"\r\n.\r\nmore\r\n.dot\r\n"));
	qfile_msg_free(&m);
	mem_free(content);

	const char *log = read_log();
	assert_non_null(strstr(log, "mailgw/smtpd["));
	assert_non_null(strstr(log, ": connect from unknown[127.0.0.1]"));
	snprintf(want, sizeof(want), ": %s: client=unknown[127.0.0.1]", qid);
	assert_non_null(strstr(log, want));
	snprintf(want, sizeof(want), "mailgw/cleanup[");
	assert_non_null(strstr(log, want));
	snprintf(want, sizeof(want), ": %s: message-id=<m1@client.example>",
		 qid);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, ": disconnect from unknown[127.0.0.1] "
				    "ehlo=1 mail=1 rcpt=1 data=1 quit=1 "
				    "commands=5"));
}

static void test_relay_and_errors(void **state)
{
	(void)state;
	start("message_size_limit = 1000\n");
	int fd = dial();
	expect(fd, NULL, "220 ");
	expect(fd, "EHLO h\r\n", "250-");
	expect(fd, "DATA\r\n", "503 5.5.1 Error: need RCPT command");
	expect(fd, "RCPT TO:<a@b>\r\n", "503 5.5.1 Error: need MAIL command");
	expect(fd, "MAIL FROM:<s@x> SIZE=2000\r\n", "552 5.3.4 ");
	expect(fd, "MAIL FROM:<s@x>\r\n", "250 2.1.0 Ok");
	expect(fd, "MAIL FROM:<s@x>\r\n", "503 5.5.1 Error: nested MAIL");
	expect(fd, "RCPT TO:<a@other.example>\r\n",
	       "454 4.7.1 <a@other.example>: Relay access denied");
	expect(fd, "RCPT TO:<a@sub.relay.example>\r\n", "250 2.1.5");
	expect(fd, "RCPT TO:<a@relay.example>\r\n", "250 2.1.5");
	expect(fd, "DATA\r\n", "354 ");
	char big[1200];
	memset(big, 'x', sizeof(big));
	sendall(fd, "Subject: big\r\n\r\n", 16);
	sendall(fd, big, sizeof(big));
	expect(fd, "\r\n.\r\n", "552 5.3.4 Error: message file too big");
	expect(fd, "NOOP\r\n", "250 2.0.0 Ok");
	expect(fd, "VRFY a@b\r\n", "252 2.0.0 a@b");
	expect(fd, "ETRN other.example\r\n", "458 4.1.0");
	expect(fd, "FOO\r\n", "502 5.5.2 Error: command not recognized");
	expect(fd, "QUIT\r\n", "221 ");
	close(fd);
	stop();
	const char *log = read_log();
	assert_non_null(strstr(log,
			       "NOQUEUE: reject: MAIL from "
			       "unknown[127.0.0.1]: 552 5.3.4 Message size "
			       "exceeds fixed limit; proto=ESMTP "
			       "helo=<h>\n"));
	assert_non_null(strstr(log, "NOQUEUE: reject: RCPT from "
				    "unknown[127.0.0.1]: 454 4.7.1 "
				    "<a@other.example>: Relay access denied; "
				    "from=<s@x> to=<a@other.example> "
				    "proto=ESMTP helo=<h>"));
}

static void test_pipelining_bdat(void **state)
{
	(void)state;
	start("");
	int fd = dial();
	expect(fd, NULL, "220 ");
	const char *all =
		"EHLO h\r\nMAIL FROM:<>\r\nRCPT TO:<u@test.example>\r\n"
		"BDAT 5\r\nab\r\ncBDAT 5 LAST\r\nd\r\n\r\nDATA\r\n"
		"MAIL FROM:<>\r\nRCPT TO:<u@test.example>\r\n"
		"BDAT 3\r\nxy\nDATA\r\nRSET\r\nQUIT\r\n";
	sendall(fd, all, strlen(all));
	expect(fd, NULL, "250-");
	expect(fd, NULL, "250 2.1.0");
	expect(fd, NULL, "250 2.1.5");
	expect(fd, NULL, "250 2.0.0 Ok: 5 bytes");
	const char *r = get_reply(fd);
	if (strncmp(r, "250 2.0.0 Ok: queued as ", 24) != 0)
		fail_msg("want queued, got \"%s\"; log:\n%s", r, read_log());
	char qid[64];
	qid_of(r, qid);
	expect(fd, NULL, "503 5.5.1 Error: need RCPT command");
	expect(fd, NULL, "250 2.1.0");
	expect(fd, NULL, "250 2.1.5");
	expect(fd, NULL, "250 2.0.0 Ok: 3 bytes");
	expect(fd, NULL, "503 5.5.1");
	expect(fd, NULL, "250 2.0.0 Ok");
	expect(fd, NULL, "221 ");
	close(fd);
	stop();
	struct qfile_msg m;
	char *content, *raw;
	load_msg(qid, &m, &content, &raw);
	assert_int_equal(m.sender.len, 0);
	/* Received "for" only with one recipient, and the chunks joined */
	assert_non_null(strstr(content, "\tfor <u@test.example>; "));
	assert_non_null(strstr(content, "\r\nab\r\ncd\r\n\r\n"));
	qfile_msg_free(&m);
	mem_free(content);
}

static void test_graceful_stop(void **state)
{
	(void)state;
	start("");
	int fd = dial();
	expect(fd, NULL, "220 ");
	expect(fd, "HELO h\r\n", "250 mx.test.example");
	kill(child, SIGTERM);
	expect(fd, NULL, "421 4.3.2 mx.test.example Service shutting down");
	close(fd);
	int st;
	assert_int_equal(waitpid(child, &st, 0), child);
	child = 0;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int done_count, last_result;
static void on_done(void *arg, int result, const char *qid);

/* Send one message on an open session; returns the reply to the end of
 * data. */
static const char *send_msg(int fd, const char *from, const char *to,
			    const char *content)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>\r\n", from);
	expect(fd, cmd, "250 2.1.0");
	snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>\r\n", to);
	expect(fd, cmd, "250 2.1.5");
	expect(fd, "DATA\r\n", "354 ");
	sendall(fd, content, strlen(content));
	sendall(fd, ".\r\n", 3);
	return get_reply(fd);
}

/* Entries in incoming/ (failing on a temporary file left behind). */
static int count_incoming(void)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/incoming", qdir);
	DIR *d = opendir(path);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
		else if (strncmp(e->d_name, ".tmp", 4) == 0)
			fail_msg("temporary file left: %s", e->d_name);
	closedir(d);
	return n;
}

static void test_disk_full(void **state)
{
	(void)state;
	child_fsize = 16384;
	start("");
	int before = count_incoming();
	int fd = dial();
	expect(fd, NULL, "220 ");
	expect(fd, "EHLO h\r\n", "250-");
	static char big[40000];
	memset(big, 'x', sizeof(big) - 1);
	for (size_t i = 76; i < sizeof(big) - 1; i += 78)
		big[i] = '\r', big[i + 1] = '\n';
	memcpy(big + sizeof(big) - 3, "\r\n", 3);
	const char *r = send_msg(fd, "s@x", "u@test.example", big);
	if (strncmp(r, "452 4.3.1 Insufficient system storage\r\n", 39) != 0)
		fail_msg("want 452 4.3.1, got \"%s\"", r);
	/* the session goes on, and a message that fits is queued */
	r = send_msg(fd, "s@x", "u@test.example", "Subject: s\r\n\r\nok\r\n");
	if (strncmp(r, "250 2.0.0 Ok: queued as ", 24) != 0)
		fail_msg("want queued, got \"%s\"; log:\n%s", r, read_log());
	expect(fd, "QUIT\r\n", "221 ");
	close(fd);
	stop();
	assert_non_null(
		strstr(read_log(), "queue file write error: File too large"));
	/* nothing half-written is left visible or behind */
	assert_int_equal(count_incoming(), before + 1);
}

static void test_limits(void **state)
{
	(void)state;
	start("smtpd_recipient_limit = 2\nsmtpd_hard_error_limit = 4\n"
	      "smtpd_client_connection_count_limit = 2\n"
	      "smtpd_timeout = 1s\ndisable_vrfy_command = yes\n");
	int a = dial(), b = dial();
	expect(a, NULL, "220 ");
	expect(b, NULL, "220 ");
	int c = dial(); /* over the per-client limit: refused at once */
	expect(c, NULL,
	       "421 4.7.0 mx.test.example Error: too many "
	       "connections from 127.0.0.1");
	close(c);
	expect(a, "EHLO h\r\n", "250-");
	expect(a, "MAIL FROM:<s@x>\r\n", "250 ");
	expect(a, "RCPT TO:<1@test.example>\r\n", "250 ");
	expect(a, "RCPT TO:<2@test.example>\r\n", "250 ");
	expect(a, "RCPT TO:<3@test.example>\r\n",
	       "452 4.5.3 Error: too many recipients");
	expect(a, "VRFY x\r\n", "502 5.5.1 VRFY command is disabled");
	/* a line over line_length_limit is one error, and the session
	 * stays in step */
	static char longl[3000];
	memset(longl, 'n', sizeof(longl));
	memcpy(longl, "NOOP ", 5);
	memcpy(longl + sizeof(longl) - 2, "\r\n", 2);
	sendall(a, longl, sizeof(longl));
	expect(a, NULL, "500 5.5.2 Error: line too long");
	/* the fourth error: its reply, then 421 before the next command */
	expect(a, "FOO\r\n", "502 5.5.2 Error: command not recognized");
	expect(a, NULL, "421 4.7.0 mx.test.example Error: too many errors");
	close(a);
	/* the idle session b times out */
	expect(b, NULL, "421 4.4.2 mx.test.example Error: timeout exceeded");
	close(b);
	stop();
	const char *log = read_log();
	assert_non_null(strstr(log, "warning: Connection concurrency limit "
				    "exceeded: 3 from unknown[127.0.0.1] for "
				    "service smtp"));
	assert_non_null(strstr(log, "too many errors after UNKNOWN from "
				    "unknown[127.0.0.1]"));
	assert_non_null(strstr(log, "timeout after CONNECT from "
				    "unknown[127.0.0.1]"));
	if (strstr(log, "disconnect from unknown[127.0.0.1] ehlo=1 mail=1 "
			"rcpt=2/3 vrfy=0/1 unknown=0/2 "
			"commands=4/8\n") == NULL)
		fail_msg("disconnect line: %s", log);
}

static void test_bare_newline_reject(void **state)
{
	(void)state;
	start("smtpd_forbid_bare_newline = yes\n");
	int fd = dial();
	expect(fd, NULL, "220 ");
	expect(fd, "EHLO h\n", "550 5.5.2 Error: bare <LF> received");
	expect(fd, "EHLO h\r\n", "250-");
	expect(fd, "MAIL FROM:<s@x>\r\n", "250 ");
	expect(fd, "RCPT TO:<u@test.example>\r\n", "250 ");
	expect(fd, "DATA\r\n", "354 ");
	/* the smuggling attempt "\n.\n" is content, and refused as such */
	const char *smuggle = "a\r\nb\n.\nMAIL FROM:<x@y>\r\n.\r\n";
	sendall(fd, smuggle, strlen(smuggle));
	expect(fd, NULL, "550 5.5.2 Error: bare <LF> received");
	expect(fd, "QUIT\r\n", "221 ");
	close(fd);
	stop();
	assert_null(strstr(read_log(), "queued as"));
}

/* Message-ID folded onto a continuation line is logged whole. */
static void test_folded_message_id(void **state)
{
	(void)state;
	start("");
	int fd = dial();
	expect(fd, NULL, "220 ");
	expect(fd, "HELO h\r\n", "250 ");
	const char *r = send_msg(fd, "s@x", "u@test.example",
				 "Subject: x\r\nMessage-ID:\r\n"
				 " <folded.1@client.example>  \r\n\r\nb\r\n");
	char qid[64];
	qid_of(r, qid);
	expect(fd, "QUIT\r\n", "221 ");
	close(fd);
	stop();
	char want[256];
	const char *log = read_log();
	snprintf(want, sizeof(want),
		 ": %s: message-id=<folded.1@client."
		 "example>\n",
		 qid);
	assert_non_null(strstr(log, want));
	/* smtpd_junk_command_limit etc. do not apply to one message */
	assert_null(strstr(log, "warning"));
}

/* ETRN and the new-mail hint reach qmgr's FIFO. */
static void test_etrn_trigger(void **state)
{
	(void)state;
	start(""); /* fast_flush_domains: $relay_domains */
	char path[512];
	snprintf(path, sizeof(path), "%s/public", qdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/public/qmgr", qdir);
	unlink(path);
	assert_int_equal(mkfifo(path, 0622), 0);
	int ff = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(ff >= 0);
	int fd = dial();
	expect(fd, NULL, "220 ");
	expect(fd, "ETRN relay.example\r\n", "503 5.5.1 Error: send HELO");
	expect(fd, "EHLO h\r\n", "250-");
	expect(fd, "ETRN Relay.Example\r\n", "250 2.0.0 Queuing started");
	expect(fd, "ETRN other.example\r\n", "458 4.1.0");
	const char *r = send_msg(fd, "s@x", "u@test.example",
				 "Subject: x\r\n\r\nb\r\n");
	assert_true(strncmp(r, "250 2.0.0 Ok: queued as ", 24) == 0);
	expect(fd, "QUIT\r\n", "221 ");
	close(fd);
	stop();
	char got[256];
	ssize_t n = read(ff, got, sizeof(got) - 1);
	close(ff);
	assert_true(n > 0);
	got[n] = 0;
	assert_string_equal(got, "S relay.example\nI\n");
}

/* Twenty messages finished together share few directory syncs. */
static void test_writer_group_commit(void **state)
{
	(void)state;
	write_conf("");
	assert_int_equal(spool_create(qdir, (uid_t)-1, (gid_t)-1), 0);
	struct loop *lp = loop_new();
	struct qwriter *w;
	assert_int_equal(qwriter_new(lp, qdir, &w), 0);
	struct qfile_rcpt rc = {.addr = {"u@x", 3}};
	struct qfile_msg env = {.arrival_sec = 1700000000,
				.sender = {"s@x", 3},
				.rcpt = &rc,
				.nrcpt = 1};
	struct qw_msg *m[20];
	for (int i = 0; i < 20; i++) {
		assert_int_equal(qw_begin(w, &env, &m[i]), 0);
		assert_int_equal(qw_write(m[i], "Subject: a\r\n\r\nb\r\n", 17),
				 0);
	}
	done_count = 0;
	for (int i = 0; i < 20; i++)
		qw_finish(m[i], on_done, NULL);
	assert_int_equal(qwriter_pending(w), 20);
	while (done_count < 20)
		assert_true(loop_run_once(lp, 10000) >= 0);
	assert_int_equal(last_result, 0);
	size_t b = qwriter_batches(w);
	assert_true(b >= 1 && b <= 3);
	qwriter_free(w);
	loop_free(lp);
}

/* A client that pipelines far more than it reads: every reply arrives,
 * in order, none dropped (the server stops taking commands while its
 * replies are unread). */
static void test_pipelining_flood(void **state)
{
	(void)state;
	start("");
	int fd = dial();
	expect(fd, NULL, "220 ");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	enum { N = 20000 };
	const char *cmd = "EHLO flood.example\r\n";
	size_t clen = strlen(cmd), sent = 0, total = N * clen;
	int done = 0;
	static char stream[N * 32];
	for (int i = 0; i < N; i++)
		memcpy(stream + (size_t)i * clen, cmd, clen);
	char buf[65536], tail[16] = "";
	size_t tl = 0;
	while (done < N) {
		struct pollfd p = {fd, POLLIN | (sent < total ? POLLOUT : 0),
				   0};
		assert_true(poll(&p, 1, 10000) > 0);
		if ((p.revents & POLLOUT) && sent < total) {
			ssize_t w = write(fd, stream + sent, total - sent);
			if (w > 0)
				sent += (size_t)w;
		}
		if (p.revents & POLLIN) {
			ssize_t r = read(fd, buf, sizeof(buf));
			assert_true(r > 0);
			/* count "250 CHUNKING\r\n", the last line of each */
			for (ssize_t i = 0; i < r; i++) {
				if (tl == sizeof(tail) - 1)
					memmove(tail, tail + 1, --tl);
				tail[tl++] = buf[i];
				tail[tl] = 0;
				if (tl >= 14 && strcmp(tail + tl - 14,
						       "250 CHUNKING\r\n") == 0)
					done++;
			}
		}
	}
	fcntl(fd, F_SETFL, 0);
	expect(fd, "QUIT\r\n", "221 ");
	close(fd);
	stop();
	char want[128];
	snprintf(want, sizeof(want), "ehlo=%d quit=1 commands=%d", N, N + 1);
	assert_non_null(strstr(read_log(), want));
}

/* SIGTERM in the middle of DATA: the transaction finishes (250 after
 * the commit), then 421, and the process exits 0; a new connection is
 * refused at once (the listener is closed). */
static void test_drain_transaction(void **state)
{
	(void)state;
	start("");
	int fd = dial();
	expect(fd, NULL, "220 ");
	expect(fd, "EHLO h\r\n", "250-");
	expect(fd, "MAIL FROM:<s@x>\r\n", "250 ");
	expect(fd, "RCPT TO:<u@test.example>\r\n", "250 ");
	expect(fd, "DATA\r\n", "354 ");
	sendall(fd, "Subject: d\r\n\r\nhalf", 18);
	kill(child, SIGTERM);
	usleep(200 * 1000);
	sendall(fd, " and the rest\r\n.\r\n", 18);
	const char *r = get_reply(fd);
	if (strncmp(r, "250 2.0.0 Ok: queued as ", 24) != 0)
		fail_msg("want queued, got \"%s\"", r);
	expect(fd, NULL, "421 4.3.2 mx.test.example Service shutting down");
	close(fd);
	int st;
	assert_int_equal(waitpid(child, &st, 0), child);
	child = 0;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* smtpd_delay_reject: a sender restriction decides at RCPT by default,
 * at MAIL when off; permit_auth_destination and the explicit lists. */
static void test_delay_reject(void **state)
{
	(void)state;
	const char *lists = "smtpd_sender_restrictions = reject\n"
			    "smtpd_relay_restrictions = "
			    "permit_auth_destination, reject\n";
	char conf[512];
	for (int delay = 1; delay >= 0; delay--) {
		snprintf(conf, sizeof(conf), "%ssmtpd_delay_reject = %s\n",
			 lists, delay ? "yes" : "no");
		start(conf);
		int fd = dial();
		expect(fd, NULL, "220 ");
		expect(fd, "EHLO h\r\n", "250-");
		if (delay) {
			expect(fd, "MAIL FROM:<s@x>\r\n", "250 2.1.0 Ok");
			expect(fd, "RCPT TO:<u@test.example>\r\n",
			       "554 5.7.1 <s@x>: Sender address rejected: "
			       "Access denied");
		} else {
			expect(fd, "MAIL FROM:<s@x>\r\n",
			       "554 5.7.1 <s@x>: Sender address rejected: "
			       "Access denied");
		}
		expect(fd, "QUIT\r\n", "221 ");
		close(fd);
		stop();
		const char *log = read_log();
		assert_non_null(
			strstr(log, delay ? "NOQUEUE: reject: RCPT from "
					    "unknown[127.0.0.1]: 554 "
					  : "NOQUEUE: reject: MAIL from "
					    "unknown[127.0.0.1]: 554 "));
	}
	start("smtpd_relay_restrictions = permit_auth_destination, reject\n");
	int fd = dial();
	expect(fd, NULL, "220 ");
	expect(fd, "HELO h\r\n", "250 ");
	expect(fd, "MAIL FROM:<s@x>\r\n", "250 ");
	expect(fd, "RCPT TO:<u@test.example>\r\n", "250 2.1.5 Ok");
	expect(fd, "RCPT TO:<u@far.example>\r\n",
	       "554 5.7.1 <u@far.example>: Recipient address rejected: "
	       "Access denied");
	expect(fd, "QUIT\r\n", "221 ");
	close(fd);
	stop();
}

/* Two thousand sessions at once in the one process, each greeted and
 * each through a whole transaction (all committed), then all closed. */
static void test_many_sessions(void **state)
{
	(void)state;
	enum { N = 2000 };
	start("smtpd_client_connection_count_limit = 0\n");
	static int fds[N];
	for (int i = 0; i < N; i++)
		fds[i] = dial();
	for (int i = 0; i < N; i++)
		expect(fds[i], NULL, "220 ");
	/* everything pipelined first, then the replies read */
	const char *txn = "EHLO many\r\nMAIL FROM:<s@x>\r\n"
			  "RCPT TO:<u@test.example>\r\nDATA\r\n"
			  "Subject: m\r\n\r\nbody\r\n.\r\nQUIT\r\n";
	for (int i = 0; i < N; i++)
		sendall(fds[i], txn, strlen(txn));
	for (int i = 0; i < N; i++) {
		expect(fds[i], NULL, "250-");
		expect(fds[i], NULL, "250 2.1.0");
		expect(fds[i], NULL, "250 2.1.5");
		expect(fds[i], NULL, "354 ");
		expect(fds[i], NULL, "250 2.0.0 Ok: queued as ");
		expect(fds[i], NULL, "221 ");
		close(fds[i]);
	}
	stop();
}

/* An IPv6 client: its address in the logs and the Received header, and
 * mynetworks matched in its family. */
static void test_ipv6_client(void **state)
{
	(void)state;
	use_v6 = 1;
	for (int trusted = 0; trusted <= 1; trusted++) {
		start(trusted ? "mynetworks = [::1]/128\n" : "");
		int fd = dial();
		expect(fd, NULL, "220 ");
		expect(fd, "EHLO h6\r\n", "250-");
		expect(fd, "MAIL FROM:<s@x>\r\n", "250 ");
		expect(fd, "RCPT TO:<u@far.example>\r\n",
		       trusted ? "250 2.1.5 Ok"
			       : "454 4.7.1 <u@far.example>: Relay access "
				 "denied");
		char qid[64] = "";
		if (trusted) {
			expect(fd, "DATA\r\n", "354 ");
			const char *m6 = "Subject: 6\r\n\r\nb\r\n.\r\n";
			sendall(fd, m6, strlen(m6));
			qid_of(get_reply(fd), qid);
		}
		expect(fd, "QUIT\r\n", "221 ");
		close(fd);
		stop();
		assert_non_null(
			strstr(read_log(), "connect from unknown[::1]"));
		if (trusted) {
			struct qfile_msg m;
			char *content, *raw;
			load_msg(qid, &m, &content, &raw);
			assert_memory_equal(m.client_addr.p, "::1", 3);
			if (strncmp(content,
				    "Received: from h6 (unknown "
				    "[IPv6:::1])\r\n",
				    39) != 0)
				fail_msg("Received: %.80s", content);
			qfile_msg_free(&m);
			mem_free(content);
		}
	}
	use_v6 = 0;
}

/* ---- writer: group commit and a full disk, in this process ---- */

static char done_qid[QID_SIZE];
static void on_done(void *arg, int result, const char *qid)
{
	(void)arg;
	done_count++;
	last_result = result;
	snprintf(done_qid, sizeof(done_qid), "%s", qid);
}

static void writer_one(struct qwriter *w, struct loop *lp, int fail)
{
	struct qfile_rcpt rc = {.addr = {"u@x", 3}};
	struct qfile_msg env = {.arrival_sec = 1700000000,
				.sender = {"s@x", 3},
				.rcpt = &rc,
				.nrcpt = 1};
	struct qw_msg *m;

	assert_int_equal(qw_begin(w, &env, &m), 0);
	assert_int_equal(qw_write(m, "Subject: a\r\n\r\nb\r\n", 17), 0);
	if (fail)
		spool_fail_after(1, ENOSPC);
	done_count = 0;
	qw_finish(m, on_done, NULL);
	while (done_count == 0)
		assert_true(loop_run_once(lp, 10000) >= 0);
	spool_fail_after(0, 0);
}

static void test_writer(void **state)
{
	(void)state;
	write_conf("");
	assert_int_equal(spool_create(qdir, (uid_t)-1, (gid_t)-1), 0);
	struct loop *lp = loop_new();
	struct qwriter *w;
	assert_int_equal(qwriter_new(lp, qdir, &w), 0);

	writer_one(w, lp, 0);
	assert_int_equal(last_result, 0);
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/incoming/%s", qdir, done_qid);
	assert_int_equal(stat(path, &st), 0);

	writer_one(w, lp, 1);
	assert_int_equal(last_result, -ENOSPC);
	snprintf(path, sizeof(path), "%s/incoming/%s", qdir, done_qid);
	assert_int_not_equal(stat(path, &st), 0);
	assert_int_equal(qwriter_pending(w), 0);
	qwriter_free(w);
	loop_free(lp);
}

/* ---- restrictions ---- */

static enum restrict_result eval(struct restrict_cfg *c, int stage,
				 const char *client, const char *rcpt,
				 struct buf *r)
{
	struct restrict_ctx x = {.client_addr = client,
				 .client_name = "unknown",
				 .helo = "h",
				 .sender = "s@x",
				 .recipient = rcpt};
	buf_reset(r);
	return restrict_eval(c, stage, &x, r);
}

static void test_restrict_flow(void **state)
{
	(void)state;
	write_conf("smtpd_client_restrictions = dunno, permit\n"
		   "smtpd_helo_restrictions = bogus_restriction\n"
		   "smtpd_recipient_restrictions = permit_mynetworks, "
		   "reject_unauth_destination, reject\n"
		   "relay_recipient_maps = inline:{ok@relay.example=x}\n");
	struct restrict_cfg *c = restrict_new();
	struct buf r;
	buf_init(&r, 4096);
	assert_int_equal(eval(c, RESTRICT_CLIENT, "1.2.3.4", NULL, &r),
			 RESTRICT_PERMIT);
	assert_int_equal(eval(c, RESTRICT_HELO, "1.2.3.4", NULL, &r),
			 RESTRICT_REJECT);
	assert_string_equal(buf_str(&r),
			    "451 4.3.5 Server configuration error");
	/* defaults of smtpd_relay_restrictions */
	assert_int_equal(
		eval(c, RESTRICT_RELAY, "10.1.2.3", "a@far.example", &r),
		RESTRICT_PERMIT);
	assert_int_equal(
		eval(c, RESTRICT_RELAY, "1.2.3.4", "a@far.example", &r),
		RESTRICT_REJECT);
	assert_string_equal(buf_str(&r),
			    "454 4.7.1 <a@far.example>: Relay access denied");
	/* permit_sasl_authenticated (in the default relay list) */
	struct restrict_ctx ax = {.client_addr = "1.2.3.4",
				  .client_name = "unknown",
				  .helo = "h",
				  .sender = "s@x",
				  .recipient = "a@far.example",
				  .sasl_username = "alice",
				  .sasl_method = "PLAIN"};
	buf_reset(&r);
	assert_int_equal(restrict_eval(c, RESTRICT_RELAY, &ax, &r),
			 RESTRICT_PERMIT);
	assert_int_equal(
		eval(c, RESTRICT_RELAY, "1.2.3.4", "a@test.example", &r),
		RESTRICT_DUNNO);
	assert_int_equal(
		eval(c, RESTRICT_RECIPIENT, "1.2.3.4", "a@far.example", &r),
		RESTRICT_REJECT);
	assert_string_equal(buf_str(&r),
			    "554 5.7.1 <a@far.example>: Relay access denied");
	assert_int_equal(
		eval(c, RESTRICT_RECIPIENT, "1.2.3.4", "a@test.example", &r),
		RESTRICT_REJECT);
	assert_string_equal(buf_str(&r),
			    "554 5.7.1 <a@test.example>: Recipient address "
			    "rejected: Access denied");
	/* routing past our domain in the local part is not ours */
	assert_int_equal(eval(c, RESTRICT_RELAY, "1.2.3.4",
			      "u%far.example@relay.example", &r),
			 RESTRICT_REJECT);
	assert_string_equal(buf_str(&r), "454 4.7.1 "
					 "<u%far.example@relay.example>: "
					 "Relay access denied");
	/* smtpd_reject_unlisted_recipient with relay_recipient_maps */
	struct restrict_ctx ux = {.client_addr = "1.2.3.4",
				  .client_name = "unknown",
				  .helo = "h",
				  .sender = "s@x",
				  .recipient = "no@relay.example"};
	buf_reset(&r);
	assert_int_equal(restrict_unlisted(c, &ux, &r), RESTRICT_REJECT);
	assert_string_equal(buf_str(&r),
			    "550 5.1.1 <no@relay.example>: Recipient address "
			    "rejected: User unknown in relay recipient table");
	ux.recipient = "ok@relay.example";
	assert_int_equal(restrict_unlisted(c, &ux, &r), RESTRICT_DUNNO);
	ux.recipient = "any@test.example"; /* local: not this table */
	assert_int_equal(restrict_unlisted(c, &ux, &r), RESTRICT_DUNNO);
	assert_true(restrict_in_mynetworks(c, "10.255.0.1"));
	assert_true(restrict_in_mynetworks(c, "::ffff:10.0.0.1"));
	assert_false(restrict_in_mynetworks(c, "11.0.0.1"));
	assert_true(restrict_relay_domain(c, "a.b.relay.example"));
	assert_false(restrict_relay_domain(c, "xrelay.example"));
	buf_free(&r);
	restrict_free(c);
}

static void test_cidr_parse(void **state)
{
	(void)state;
	int fam;
	unsigned char a[16];
	unsigned bits;
	assert_int_equal(restrict_cidr_parse("10.0.0.0/8", 10, &fam, a, &bits),
			 0);
	assert_int_equal(bits, 8);
	assert_int_equal(restrict_cidr_parse("[::1]/128", 9, &fam, a, &bits),
			 0);
	assert_int_equal(fam, AF_INET6);
	assert_int_equal(restrict_cidr_parse("10.0.0.0/33", 11, &fam, a, &bits),
			 -1);
	assert_int_equal(restrict_cidr_parse("x/8", 3, &fam, a, &bits), -1);
	assert_int_equal(restrict_cidr_parse("1.2.3.4", 7, &fam, a, &bits), 0);
	assert_int_equal(bits, 32);
}

/* A failed assertion leaves the server running: kill it, or it would
 * hold the test's stdout open and the run would never end. */
static int reap(void **state)
{
	(void)state;
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = 0;
	}
	child_fsize = 0;
	use_v6 = 0;
	return 0;
}

/* The AUTH dialogue (golden): LOGIN with a wrong password, then PLAIN
 * pipelined with MAIL and RCPT in one write: the commands after AUTH wait
 * for the password check on the worker thread and are answered in order;
 * authenticated, relaying is permitted (permit_sasl_authenticated). */
static void test_auth_dialogue(void **state)
{
	(void)state;
	char db[256], spec[300], extra[600];
	struct dict *d;
	struct buf h;

	snprintf(db, sizeof(db), "%s/users", test_tmpdir());
	snprintf(spec, sizeof(spec), "lmdb:%s", db);
	assert_int_equal(dict_open(spec,
				   DICT_FLAG_FOLD | DICT_FLAG_WRITE |
					   DICT_FLAG_DUP_REPLACE,
				   &d, NULL),
			 DICT_OK);
	buf_init(&h, PASSWD_HASH_MAX);
	assert_int_equal(passwd_hash_new(&h, "tanstaaftanstaaf", 16, 100000),
			 0);
	assert_int_equal(dict_set(d, "tim", buf_str(&h)), DICT_OK);
	assert_int_equal(dict_close(d, NULL), DICT_OK);
	buf_free(&h);
	snprintf(extra, sizeof(extra),
		 "smtpd_sasl_auth_enable = yes\nsasl_user_database = %s\n"
		 "smtpd_sasl_authenticated_header = yes\n",
		 db);
	start(extra);
	int fd = dial();
	expect(fd, NULL, "220 ");
	sendall(fd, "EHLO h\r\n", 8);
	const char *r = get_reply(fd);
	assert_non_null(strstr(r, "250-AUTH PLAIN LOGIN\r\n"));
	assert_null(strstr(r, "AUTH="));
	expect(fd, "AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n");
	expect(fd, "dGlt\r\n", "334 UGFzc3dvcmQ6\r\n");
	expect(fd, "d3Jvbmc=\r\n",
	       "535 5.7.8 Error: authentication failed: authentication "
	       "failure\r\n");
	static const char burst[] =
		"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"
		"MAIL FROM:<tim@test.example> AUTH=<>\r\n"
		"RCPT TO:<a@far.example>\r\nDATA\r\n";
	sendall(fd, burst, sizeof(burst) - 1);
	expect(fd, NULL, "235 2.7.0 Authentication successful\r\n");
	expect(fd, NULL, "250 2.1.0 Ok");
	expect(fd, NULL, "250 2.1.5 Ok");
	expect(fd, NULL, "354 ");
	expect(fd, "Subject: a\r\n\r\nb\r\n.\r\n", "250 2.0.0 Ok: queued");
	expect(fd, "QUIT\r\n", "221 ");
	close(fd);
	stop();
	const char *log = read_log();
	assert_non_null(strstr(log, "warning: unknown[127.0.0.1]: SASL LOGIN "
				    "authentication failed: authentication "
				    "failure, sasl_username=tim\n"));
	assert_non_null(strstr(log, ": client=unknown[127.0.0.1], "
				    "sasl_method=PLAIN, sasl_username=tim\n"));
	assert_non_null(strstr(log, "disconnect from unknown[127.0.0.1] ehlo=1 "
				    "auth=1/2 mail=1 rcpt=1 data=1 quit=1 "
				    "commands=6/7\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_restrict_flow),
		cmocka_unit_test(test_writer),
		cmocka_unit_test_teardown(test_basic_transaction, reap),
		cmocka_unit_test_teardown(test_relay_and_errors, reap),
		cmocka_unit_test_teardown(test_pipelining_bdat, reap),
		cmocka_unit_test_teardown(test_graceful_stop, reap),
		cmocka_unit_test_teardown(test_pipelining_flood, reap),
		cmocka_unit_test_teardown(test_drain_transaction, reap),
		cmocka_unit_test_teardown(test_delay_reject, reap),
		cmocka_unit_test_teardown(test_many_sessions, reap),
		cmocka_unit_test_teardown(test_ipv6_client, reap),
		cmocka_unit_test_teardown(test_disk_full, reap),
		cmocka_unit_test_teardown(test_limits, reap),
		cmocka_unit_test_teardown(test_bare_newline_reject, reap),
		cmocka_unit_test_teardown(test_folded_message_id, reap),
		cmocka_unit_test_teardown(test_etrn_trigger, reap),
		cmocka_unit_test_teardown(test_auth_dialogue, reap),
		cmocka_unit_test(test_writer_group_commit),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	test_cleanup_tmpdir();
	return r;
}
