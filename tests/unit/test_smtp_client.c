/* test_smtp_client - the SMTP client against the real Postfix smtp-sink
 * (pipelining, rejects, 421, lost connections, dot-stuffing checked in
 * its dump files, connection reuse), a silent listener (timeouts), a
 * closed port (refused), and a small scripted server for what smtp-sink
 * cannot do (per-recipient rejects, SIZE, multi-line replies). */
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "conf/conf.h"
#include "core/loop.h"
#include "deliver/deliver.h"
#include "deliver/smtp_reply.h"
#include "queue/qfile.h"

#define SINK    "/usr/sbin/smtp-sink"
#define WAIT_MS 60000 /* failure bound only */

static struct loop *lp;
static struct smtp_client *client;
static const char *sink_stdout; /* smtp-sink -c counters go here */

/* Peers still running: killed when a test fails half-way. */
static pid_t peers[64];

static void peer_add(pid_t pid)
{
	for (size_t i = 0; i < 64; i++)
		if (peers[i] == 0) {
			peers[i] = pid;
			return;
		}
}

static void peers_kill(void)
{
	for (size_t i = 0; i < 64; i++)
		if (peers[i] > 0) {
			kill(peers[i], SIGKILL);
			waitpid(peers[i], NULL, 0);
			peers[i] = 0;
		}
}

/* ---- peers ---- */

static unsigned free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* listening - the port is in LISTEN state (/proc/net/tcp), so readiness
 * checks use up no session of smtp-sink -n. */
static int listening(unsigned port)
{
	char line[512], want[16];
	FILE *f = fopen("/proc/net/tcp", "r");
	int found = 0;

	snprintf(want, sizeof(want), ":%04X ", port);
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, want) != NULL &&
			strstr(line, want) < line + 20 &&
			strstr(line, " 0A ") != NULL;
	if (f)
		fclose(f);
	return found;
}

/* is_socket - path is a UNIX-domain socket (smtp-sink unix: is up). */
static int is_socket(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static pid_t sink_start_at(const char *addr, const char *const *opts);

/* sink_start - smtp-sink with extra options (NULL-terminated). */
static pid_t sink_start(unsigned port, const char *const *opts)
{
	char addr[32];
	pid_t pid;
	int i;

	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	pid = sink_start_at(addr, opts);
	for (i = 0; i < 500 && !listening(port); i++)
		usleep(10000);
	assert_true(listening(port));
	return pid;
}

/* sink_start_unix - smtp-sink on the UNIX-domain socket path. */
static pid_t sink_start_unix(const char *path, const char *const *opts)
{
	char addr[320];
	pid_t pid;
	int i;

	unlink(path);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	pid = sink_start_at(addr, opts);
	for (i = 0; i < 500 && !is_socket(path); i++)
		usleep(10000);
	assert_true(is_socket(path));
	return pid;
}

/* sink_start_at - smtp-sink on addr ("host:port" or "unix:path"). */
static pid_t sink_start_at(const char *addr, const char *const *opts)
{
	char *argv[32];
	size_t n = 0;
	pid_t pid;

	argv[n++] = strdup(SINK);
	argv[n++] = strdup("-u");
	argv[n++] = strdup("nobody");
	for (; opts && *opts; opts++)
		argv[n++] = strdup(*opts);
	argv[n++] = strdup(addr);
	argv[n++] = strdup("100");
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int out = open(sink_stdout ? sink_stdout : "/dev/null",
			       O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(out, 1);
		execv(SINK, argv);
		_exit(127);
	}
	for (size_t k = 0; k < n; k++)
		free(argv[k]);
	peer_add(pid);
	return pid;
}

static void stop(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	for (size_t i = 0; i < 64; i++)
		if (peers[i] == pid)
			peers[i] = 0;
}

/* lmtp_dot_reply - the reply after "." for one accepted recipient (its
 * RCPT line): "full" 552, "busy" 452, else 250. */
static void lmtp_dot_reply(int fd, const char *rcpt_line)
{
	const char *r = strstr(rcpt_line, "full")
				? "552 5.2.2 <full@x.example> Mailbox full\r\n"
			: strstr(rcpt_line, "busy")
				? "452 4.2.1 <busy@x.example> Try later\r\n"
				: "250 2.1.5 Saved\r\n";

	(void)!write(fd, r, strlen(r));
}

/* Scripted server: one connection; RCPT to an address with "bad" gets
 * 550, "later" 450, "multi" a two-line 550; EHLO announces SIZE 1000.
 * After LHLO it speaks LMTP: one reply per accepted recipient after "."
 * (lmtp_dot_reply()), which smtp-sink -L cannot vary per recipient. */
static void script_session(int fd)
{
	char buf[8192], line[2048];
	size_t len = 0, ll = 0;
	int in_data = 0, lmtp = 0;
	/* LMTP: the accepted recipients, for the replies after ".". */
	char acc[8][64];
	size_t nacc = 0;
	ssize_t r;

#define SAY(s) (void)!write(fd, s, strlen(s))
	SAY("220 scripted ESMTP\r\n");
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		for (len = 0; len < (size_t)r; len++) {
			if (buf[len] != '\n') {
				if (ll < sizeof(line) - 1)
					line[ll++] = buf[len];
				continue;
			}
			line[ll] = 0;
			ll = 0;
			if (in_data) {
				if (strcmp(line, ".\r") == 0 && lmtp) {
					in_data = 0;
					for (size_t k = 0; k < nacc; k++)
						lmtp_dot_reply(fd, acc[k]);
					nacc = 0;
				} else if (strcmp(line, ".\r") == 0) {
					in_data = 0;
					SAY("250 2.0.0 Ok: queued as "
					    "SCRIPT1\r\n");
				}
				continue;
			}
			if (strncmp(line, "LHLO", 4) == 0) {
				lmtp = 1;
				SAY("250-scripted\r\n250-PIPELINING\r\n"
				    "250 ENHANCEDSTATUSCODES\r\n");
			} else if (strncmp(line, "EHLO", 4) == 0)
				SAY("250-scripted\r\n250-PIPELINING\r\n"
				    "250-SIZE 1000\r\n250 8BITMIME\r\n");
			else if (strncmp(line, "MAIL", 4) == 0)
				SAY("250 2.1.0 Ok\r\n");
			else if (strncmp(line, "RCPT", 4) == 0 &&
				 strstr(line, "bad"))
				SAY("550 5.1.1 <bad@x.example>: Recipient "
				    "address rejected: User unknown\r\n");
			else if (strncmp(line, "RCPT", 4) == 0 &&
				 strstr(line, "later"))
				SAY("450 4.2.0 <later@x.example>: try "
				    "later\r\n");
			else if (strncmp(line, "RCPT", 4) == 0 &&
				 strstr(line, "multi"))
				SAY("550-5.7.1 first line\r\n550 5.7.1 second "
				    "line\r\n");
			else if (strncmp(line, "RCPT", 4) == 0) {
				if (nacc < 8)
					snprintf(acc[nacc++], sizeof(acc[0]),
						 "%.60s", line);
				SAY("250 2.1.5 Ok\r\n");
			} else if (strncmp(line, "DATA", 4) == 0) {
				SAY("354 go ahead\r\n");
				in_data = 1;
			} else if (strncmp(line, "RSET", 4) == 0)
				SAY("250 2.0.0 Ok\r\n");
			else if (strncmp(line, "QUIT", 4) == 0) {
				SAY("221 2.0.0 Bye\r\n");
				return;
			} else
				SAY("502 5.5.2 Error: command not "
				    "recognized\r\n");
		}
	}
#undef SAY
}

/* listener - a listening socket on port (never accepted: silent). */
static int listener(unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 10), 0);
	return fd;
}

static pid_t script_start(unsigned port)
{
	int lfd = listener(port);
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;

		while ((fd = accept(lfd, NULL, NULL)) >= 0) {
			script_session(fd);
			close(fd);
		}
		_exit(0);
	}
	close(lfd);
	peer_add(pid);
	return pid;
}

/* ---- jobs ---- */

struct result {
	int st[8];
	char dsn[8][16];
	char text[8][4096];
	int done;
};

struct tjob {
	struct deliver_job job;
	struct qfile_msg msg;
	struct buf file;
	size_t idx[8];
	struct result res;
};

static void on_rcpt(struct deliver_job *job, size_t i, enum deliver_status st,
		    const char *dsn, const char *text)
{
	struct tjob *t = job->arg;

	assert_true(i < job->nrcpt);
	assert_int_equal(t->res.st[i], 0); /* exactly once */
	t->res.st[i] = (int)st;
	snprintf(t->res.dsn[i], sizeof(t->res.dsn[i]), "%s", dsn);
	snprintf(t->res.text[i], sizeof(t->res.text[i]), "%s", text);
}

static void on_done(struct deliver_job *job)
{
	struct tjob *t = job->arg;

	for (size_t i = 0; i < job->nrcpt; i++)
		assert_int_not_equal(t->res.st[i], 0);
	t->res.done++;
}

/* tjob_new - a message from sender to rcpts (comma-separated) with
 * content, routed to [127.0.0.1]:port. */
static struct tjob *tjob_new(const char *sender, const char *rcpts,
			     const char *content, unsigned port)
{
	static struct qfile_rcpt r[8];
	struct tjob *t = calloc(1, sizeof(*t));
	struct qfile_msg m;
	char *list = strdup(rcpts), *cur = list, *tok, *copies[8];
	size_t n = 0;

	memset(&m, 0, sizeof(m));
	memset(r, 0, sizeof(r));
	m.arrival_sec = time(NULL);
	m.sender.p = sender;
	m.sender.len = strlen(sender);
	while ((tok = strsep(&cur, ",")) != NULL && n < 8) {
		copies[n] = strdup(tok);
		r[n].addr.p = copies[n];
		r[n].addr.len = strlen(tok);
		n++;
	}
	m.rcpt = r;
	m.nrcpt = n;
	m.body = QFILE_BODY_8BITMIME;
	buf_init(&t->file, 1 << 24);
	assert_int_equal(qfile_format(&t->file, &m, content, strlen(content)),
			 0);
	for (size_t i = 0; i < n; i++)
		free(copies[i]);
	free(list);
	assert_int_equal(qfile_parse(&t->msg, t->file.data, t->file.len), 0);
	for (size_t i = 0; i < n; i++)
		t->idx[i] = i;
	t->job.qid = "4ABCDEF";
	t->job.msg = &t->msg;
	t->job.file = (const unsigned char *)t->file.data;
	t->job.rcpt = t->idx;
	t->job.nrcpt = n;
	t->job.active_at = deliver_now();
	t->job.rcpt_done = on_rcpt;
	t->job.done = on_done;
	t->job.arg = t;
	assert_int_equal(route_rcpt("x@y.example", 11, &t->job.route), 0);
	t->job.route.port = port;
	return t;
}

static void tjob_free(struct tjob *t)
{
	qfile_msg_free(&t->msg);
	buf_free(&t->file);
	free(t);
}

/* run - deliver and wait for done (bounded). */
static void run(struct tjob *t)
{
	uint64_t end = loop_clock_ms() + WAIT_MS;

	assert_int_equal(smtp_client_deliver(client, &t->job), 0);
	/* Never from inside the call. */
	assert_int_equal(t->res.done, 0);
	while (!t->res.done && loop_clock_ms() < end)
		loop_run_once(lp, 100);
	assert_int_equal(t->res.done, 1);
}

/* settle - let idle connections go (QUIT answered, closed). */
static void settle(void)
{
	uint64_t end = loop_clock_ms() + 5000;

	smtp_client_flush(client);
	while (loop_clock_ms() < end) {
		loop_run_once(lp, 50);
		if (smtp_client_busy(client) == 0)
			break;
	}
	for (int i = 0; i < 20; i++)
		loop_run_once(lp, 10);
}

/* ---- tests ---- */

static const char *content_dots = "Subject: dots\r\n"
				  "\r\n"
				  ".leading dot\r\n"
				  "..two dots\r\n"
				  ".\r\n"
				  "middle . dot\r\n"
				  "last line\r\n";

static char *read_dump(const char *dumpdir)
{
	DIR *d = opendir(dumpdir);
	struct dirent *e;
	char path[1024];
	struct buf b;
	char *out = NULL;
	FILE *f;
	int c;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			break;
	assert_non_null(e);
	snprintf(path, sizeof(path), "%s/%s", dumpdir, e->d_name);
	closedir(d);
	f = fopen(path, "r");
	assert_non_null(f);
	buf_init(&b, 16 << 20);
	while ((c = fgetc(f)) != EOF)
		buf_putc(&b, c);
	fclose(f);
	out = strdup(buf_str(&b));
	buf_free(&b);
	unlink(path);
	return out;
}

static void test_sent_pipelined_dotstuffing(void **state)
{
	char dumpdir[300], tmpl[320];
	const char *opts[4];
	unsigned port = free_port();
	struct tjob *t;
	char *dump, *body, logwant[128];
	pid_t pid;

	(void)state;
	snprintf(dumpdir, sizeof(dumpdir), "%s/dump1", test_tmpdir());
	mkdir(dumpdir, 0777);
	chmod(dumpdir, 0777);
	snprintf(tmpl, sizeof(tmpl), "%s/m.", dumpdir);
	opts[0] = "-d";
	opts[1] = tmpl;
	opts[2] = NULL;
	pid = sink_start(port, opts);

	t = tjob_new("alice@example.org", "bob@example.net,carol@example.net",
		     content_dots, port);
	/* DSN parameters go along: smtp-sink announces DSN. */
	t->msg.ret = QFILE_RET_HDRS;
	t->msg.envid.p = "ENV+2B1";
	t->msg.envid.len = 7;
	t->msg.rcpt[0].notify = QFILE_NOTIFY_SUCCESS | QFILE_NOTIFY_FAILURE;
	t->msg.rcpt[0].orcpt.p = "rfc822;bob@example.net";
	t->msg.rcpt[0].orcpt.len = 22;
	t->msg.rcpt[1].notify = QFILE_NOTIFY_NEVER;
	test_log_capture();
	run(t);
	log_set_sink(NULL, NULL);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(t->res.st[i], DELIVER_SENT);
		assert_string_equal(t->res.dsn[i], "2.0.0");
		assert_string_equal(t->res.text[i], "250 2.0.0 Ok");
	}
	/* The Postfix log line, under the transport's name. */
	snprintf(logwant, sizeof(logwant),
		 "4ABCDEF: to=<bob@example.net>, relay=127.0.0.1[127.0.0.1]:%u,"
		 " delay=",
		 port);
	assert_non_null(strstr(buf_str(&test_log_lines), logwant));
	assert_non_null(strstr(buf_str(&test_log_lines),
			       ", dsn=2.0.0, status=sent (250 2.0.0 Ok)"));
	/* The next hop announced DSN: success notices are its business. */
	assert_int_equal(t->job.next_hop_dsn, 1);
	settle();
	stop(pid);

	/* The sink saw the content byte for byte, dot-stuffing undone. */
	dump = read_dump(dumpdir);
	assert_non_null(strstr(dump, "X-Mail-Args: <alice@example.org> "
				     "BODY=8BITMIME RET=HDRS ENVID=ENV+2B1\n"));
	assert_non_null(strstr(
		dump, "X-Rcpt-Args: <bob@example.net> "
		      "NOTIFY=SUCCESS,FAILURE "
		      "ORCPT=rfc822;bob@example.net\n"
		      "X-Rcpt-Args: <carol@example.net> NOTIFY=NEVER\n"));
	body = strstr(dump, "Subject: dots");
	assert_non_null(body);
	assert_string_equal(body, "Subject: dots\n\n.leading dot\n..two dots\n"
				  ".\nmiddle . dot\nlast line\n\n");
	free(dump);
	tjob_free(t);
}

/* smtp-sink -N announces no DSN: no NOTIFY, ORCPT, RET or ENVID on the
 * wire, and the job says so (qmgr then owes a "relayed" notice). */
static void test_next_hop_without_dsn(void **state)
{
	char dumpdir[300], tmpl[320];
	const char *opts[] = {"-N", "-d", tmpl, NULL};
	unsigned port = free_port();
	struct tjob *t;
	char *dump;
	pid_t pid;

	(void)state;
	snprintf(dumpdir, sizeof(dumpdir), "%s/dump-nodsn", test_tmpdir());
	mkdir(dumpdir, 0777);
	chmod(dumpdir, 0777);
	snprintf(tmpl, sizeof(tmpl), "%s/m.", dumpdir);
	pid = sink_start(port, opts);
	t = tjob_new("alice@example.org", "bob@example.net", "x\r\n", port);
	t->msg.ret = QFILE_RET_FULL;
	t->msg.envid.p = "ENV1";
	t->msg.envid.len = 4;
	t->msg.rcpt[0].notify = QFILE_NOTIFY_SUCCESS;
	t->msg.rcpt[0].orcpt.p = "rfc822;bob@example.net";
	t->msg.rcpt[0].orcpt.len = 22;
	t->job.next_hop_dsn = 7; /* the agent must set it */
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_SENT);
	assert_int_equal(t->job.next_hop_dsn, 0);
	settle();
	stop(pid);
	dump = read_dump(dumpdir);
	assert_non_null(strstr(dump, "X-Mail-Args: <alice@example.org> "
				     "BODY=8BITMIME\n"));
	assert_non_null(strstr(dump, "X-Rcpt-Args: <bob@example.net>\n"));
	assert_null(strstr(dump, "NOTIFY"));
	assert_null(strstr(dump, "ENVID"));
	free(dump);
	tjob_free(t);
}

/* smtp_line_length_limit: longer lines are broken with CRLF SPACE as
 * Postfix's smtp client does (header and body alike), a line of exactly
 * the limit is left alone, a leading dot is stuffed once; 0 disables it.
 * Checked in smtp-sink's dump (one dump line per wire line). */
static void test_line_length_limit(void **state)
{
	char dumpdir[300], tmpl[320], want[4096];
	const char *opts[] = {"-d", tmpl, NULL};
	unsigned port = free_port();
	struct buf c;
	struct tjob *t;
	char *dump, *body;
	size_t k;
	pid_t pid;

	(void)state;
	snprintf(dumpdir, sizeof(dumpdir), "%s/dump-fold", test_tmpdir());
	mkdir(dumpdir, 0777);
	chmod(dumpdir, 0777);
	snprintf(tmpl, sizeof(tmpl), "%s/m.", dumpdir);
	buf_init(&c, 1 << 16);
	buf_puts(&c, "X-Long: ");
	for (k = 0; k < 1192; k++)
		buf_putc(&c, 'h');
	buf_puts(&c, "\r\n\r\n");
	for (k = 0; k < 2500; k++)
		buf_putc(&c, 'b');
	buf_puts(&c, "\r\n");
	for (k = 0; k < 998; k++)
		buf_putc(&c, 'c');
	buf_puts(&c, "\r\n.");
	for (k = 0; k < 1100; k++)
		buf_putc(&c, 'd');
	buf_puts(&c, "\r\nend\r\n");
	pid = sink_start(port, opts);
	t = tjob_new("s@example.org", "a@x.example", buf_str(&c), port);
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_SENT);
	tjob_free(t);
	settle();
	dump = read_dump(dumpdir);
	body = strstr(dump, "X-Long: ");
	assert_non_null(body);
	/* The expected wire lines, as the dump shows them. */
	buf_reset(&c);
	buf_puts(&c, "X-Long: ");
	for (k = 0; k < 990; k++)
		buf_putc(&c, 'h');
	buf_puts(&c, "\n ");
	for (k = 0; k < 202; k++)
		buf_putc(&c, 'h');
	buf_puts(&c, "\n\n");
	for (k = 0; k < 2500; k++) {
		if (k == 998 || k == 998 + 997)
			buf_puts(&c, "\n ");
		buf_putc(&c, 'b');
	}
	buf_putc(&c, '\n');
	for (k = 0; k < 998; k++)
		buf_putc(&c, 'c');
	buf_puts(&c, "\n.");
	for (k = 0; k < 1100; k++) {
		if (k == 997)
			buf_puts(&c, "\n ");
		buf_putc(&c, 'd');
	}
	buf_puts(&c, "\nend\n\n");
	assert_string_equal(body, buf_str(&c));
	free(dump);

	/* 0: no limit, the long line goes whole. */
	conf_set("smtp_line_length_limit", "0");
	buf_reset(&c);
	buf_puts(&c, "Subject: x\r\n\r\n");
	for (k = 0; k < 1500; k++)
		buf_putc(&c, 'b');
	buf_puts(&c, "\r\n");
	t = tjob_new("s@example.org", "a@x.example", buf_str(&c), port);
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_SENT);
	tjob_free(t);
	settle();
	stop(pid);
	conf_set("smtp_line_length_limit", "998");
	dump = read_dump(dumpdir);
	body = strstr(dump, "Subject: x\n\n");
	assert_non_null(body);
	memset(want, 'b', 1500);
	want[1500] = 0;
	assert_non_null(strstr(body, want));
	assert_int_equal(strlen(body), strlen("Subject: x\n\n") + 1500 + 2);
	free(dump);
	buf_free(&c);
}

/* A message far larger than the socket buffers and the client's fill:
 * written as the socket takes it, byte-exact at the sink. */
static void test_large_message(void **state)
{
	char dumpdir[300], tmpl[320];
	const char *opts[] = {"-d", tmpl, NULL};
	unsigned port = free_port();
	struct buf content, want;
	struct tjob *t;
	char *dump, *body;
	pid_t pid;

	(void)state;
	snprintf(dumpdir, sizeof(dumpdir), "%s/dump2", test_tmpdir());
	mkdir(dumpdir, 0777);
	chmod(dumpdir, 0777);
	snprintf(tmpl, sizeof(tmpl), "%s/m.", dumpdir);
	pid = sink_start(port, opts);
	buf_init(&content, 8 << 20);
	buf_init(&want, 8 << 20);
	buf_puts(&content, "Subject: big\r\n\r\n");
	buf_puts(&want, "Subject: big\n\n");
	for (int i = 0; buf_len(&content) < (4 << 20); i++) {
		const char *lead = i % 3 == 0 ? "." : i % 3 == 1 ? ".." : "x";

		buf_printf(&content, "%s line %d of a big message\r\n", lead,
			   i);
		buf_printf(&want, "%s line %d of a big message\n", lead, i);
	}
	buf_putc(&want, '\n');
	t = tjob_new("a@example.org", "b@example.net", buf_str(&content), port);
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_SENT);
	settle();
	stop(pid);
	dump = read_dump(dumpdir);
	body = strstr(dump, "Subject: big");
	assert_non_null(body);
	assert_int_equal(strlen(body), buf_len(&want));
	assert_true(strcmp(body, buf_str(&want)) == 0);
	free(dump);
	buf_free(&content);
	buf_free(&want);
	tjob_free(t);
}

static void test_sent_without_pipelining(void **state)
{
	const char *opts[] = {"-p", "-N", NULL};
	unsigned port = free_port();
	pid_t pid = sink_start(port, opts);
	struct tjob *t = tjob_new("", "a@x.example,b@x.example",
				  "Subject: x\r\n\r\nbody\r\n", port);

	(void)state;
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_SENT);
	assert_int_equal(t->res.st[1], DELIVER_SENT);
	settle();
	stop(pid);
	tjob_free(t);
}

/* one_reject - a sink with opts; both recipients end with st/dsn and a
 * text containing want; the log line carries the whole text. */
static void one_reject(const char *const *opts, int st, const char *dsn,
		       const char *want)
{
	unsigned port = free_port();
	pid_t pid = sink_start(port, opts);
	struct tjob *t = tjob_new("s@example.org", "a@x.example,b@x.example",
				  "Subject: x\r\n\r\nbody\r\n", port);
	char line[4400];

	test_log_capture();
	run(t);
	log_set_sink(NULL, NULL);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(t->res.st[i], st);
		assert_string_equal(t->res.dsn[i], dsn);
		if (strstr(t->res.text[i], want) == NULL)
			fail_msg("text \"%s\" lacks \"%s\"", t->res.text[i],
				 want);
		snprintf(line, sizeof(line), "dsn=%s, status=%s (%s)\n", dsn,
			 st == DELIVER_BOUNCE ? "bounced" : "deferred",
			 t->res.text[i]);
		assert_non_null(strstr(buf_str(&test_log_lines), line));
	}
	settle();
	stop(pid);
	tjob_free(t);
}

static void test_rejects(void **state)
{
	const char *rcpt_soft[] = {"-r", "RCPT", NULL};
	const char *rcpt_hard[] = {"-f", "RCPT", NULL};
	const char *mail_hard[] = {"-f", "MAIL", NULL};
	const char *data_hard[] = {"-f", "DATA", NULL};
	const char *dot_hard[] = {"-f", ".", NULL};
	const char *dot_soft[] = {"-r", ".", NULL};
	const char *mail_421[] = {"-Q", "MAIL", NULL};
	const char *rcpt_drop[] = {"-q", "RCPT", NULL};
	const char *data_drop[] = {"-q", ".", NULL};

	(void)state;
	one_reject(rcpt_soft, DELIVER_DEFER, "4.3.0",
		   "host 127.0.0.1[127.0.0.1] said: 450 4.3.0 Error: command "
		   "failed (in reply to RCPT TO command)");
	one_reject(rcpt_hard, DELIVER_BOUNCE, "5.3.0",
		   "host 127.0.0.1[127.0.0.1] said: 500 5.3.0 Error: command "
		   "failed (in reply to RCPT TO command)");
	one_reject(mail_hard, DELIVER_BOUNCE, "5.3.0",
		   "(in reply to MAIL FROM command)");
	one_reject(data_hard, DELIVER_BOUNCE, "5.3.0",
		   "said: 500 5.3.0 Error: command failed (in reply to DATA "
		   "command)");
	one_reject(dot_hard, DELIVER_BOUNCE, "5.3.0",
		   "(in reply to end of DATA command)");
	one_reject(dot_soft, DELIVER_DEFER, "4.3.0",
		   "host 127.0.0.1[127.0.0.1] said: 450 4.3.0 Error: command "
		   "failed (in reply to end of DATA command)");
	one_reject(mail_421, DELIVER_DEFER, "4.0.0",
		   "said: 421 4.0.0 Server closing connection (in reply to "
		   "MAIL FROM command)");
	one_reject(rcpt_drop, DELIVER_DEFER, "4.4.2",
		   "lost connection with 127.0.0.1[127.0.0.1] while sending "
		   "RCPT TO");
	one_reject(data_drop, DELIVER_DEFER, "4.4.2",
		   "lost connection with 127.0.0.1[127.0.0.1] while sending "
		   "end of data -- message may be sent more than once");
}

static void test_greeting_and_helo(void **state)
{
	const char *greet[] = {"-f", "CONNECT", NULL};
	char dumpdir[300], tmpl[320];
	const char *ehlo[] = {"-f", "EHLO", "-d", tmpl, NULL};
	unsigned port = free_port();
	struct tjob *t;
	char *dump;
	pid_t pid;

	(void)state;
	/* A 5xx greeting defers, as Postfix skips such a server. */
	pid = sink_start(port, greet);
	t = tjob_new("s@example.org", "a@x.example", "x\r\n", port);
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_DEFER);
	assert_string_equal(t->res.dsn[0], "4.3.0");
	assert_string_equal(t->res.text[0],
			    "host 127.0.0.1[127.0.0.1] refused to talk to me: "
			    "500 5.3.0 Error: command failed");
	tjob_free(t);
	stop(pid);

	/* EHLO refused: HELO, and no ESMTP parameters. */
	snprintf(dumpdir, sizeof(dumpdir), "%s/dump3", test_tmpdir());
	mkdir(dumpdir, 0777);
	chmod(dumpdir, 0777);
	snprintf(tmpl, sizeof(tmpl), "%s/m.", dumpdir);
	pid = sink_start(port, ehlo);
	t = tjob_new("s@example.org", "a@x.example", "x\r\n", port);
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_SENT);
	tjob_free(t);
	settle();
	stop(pid);
	dump = read_dump(dumpdir);
	assert_non_null(strstr(dump, "X-Client-Proto: SMTP\n"));
	assert_non_null(strstr(dump, "X-Helo-Args: client.example\n"));
	assert_non_null(strstr(dump, "X-Mail-Args: <s@example.org>\n"));
	free(dump);

	/* An IPv6 literal with inet_protocols = ipv4. */
	t = tjob_new("s@example.org", "a@x.example", "x\r\n", port);
	snprintf(t->job.route.host, sizeof(t->job.route.host), "::1");
	conf_set("inet_protocols", "ipv4");
	run(t);
	conf_set("inet_protocols", "all");
	assert_int_equal(t->res.st[0], DELIVER_DEFER);
	assert_string_equal(t->res.dsn[0], "4.4.4");
	tjob_free(t);
}

static void test_refused_and_timeouts(void **state)
{
	unsigned port = free_port();
	struct tjob *t;
	char want[256];
	int lfd;
	pid_t pid;

	(void)state;
	/* Nothing listens. */
	t = tjob_new("s@example.org", "a@x.example", "x\r\n", port);
	test_log_capture();
	run(t);
	log_set_sink(NULL, NULL);
	snprintf(want, sizeof(want),
		 "connect to 127.0.0.1[127.0.0.1]:%u: Connection refused",
		 port);
	assert_int_equal(t->res.st[0], DELIVER_DEFER);
	assert_string_equal(t->res.dsn[0], "4.4.1");
	assert_string_equal(t->res.text[0], want);
	assert_non_null(strstr(buf_str(&test_log_lines),
			       "to=<a@x.example>, relay=none, delay="));
	tjob_free(t);

	/* A listener that never speaks: the greeting times out. */
	conf_set("smtp_helo_timeout", "1s");
	lfd = listener(port);
	t = tjob_new("s@example.org", "a@x.example", "x\r\n", port);
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_DEFER);
	assert_string_equal(t->res.dsn[0], "4.4.2");
	assert_string_equal(t->res.text[0],
			    "conversation with 127.0.0.1[127.0.0.1] timed out "
			    "while receiving the initial server greeting");
	close(lfd);
	tjob_free(t);
	conf_set("smtp_helo_timeout", "300s");

	/* smtp-sink waits 3 s before answering DATA; we wait 1 s. Without
	 * PIPELINING, as smtp-sink holds back pipelined replies. */
	{
		const char *opts[] = {"-p", "-w", "3", NULL};

		conf_set("smtp_data_init_timeout", "1s");
		pid = sink_start(port, opts);
		t = tjob_new("s@example.org", "a@x.example", "x\r\n", port);
		run(t);
		assert_int_equal(t->res.st[0], DELIVER_DEFER);
		assert_string_equal(t->res.text[0],
				    "conversation with 127.0.0.1[127.0.0.1] "
				    "timed out while sending DATA command");
		conf_set("smtp_data_init_timeout", "120s");
		stop(pid);
		tjob_free(t);
	}
}

static void test_per_recipient_and_size(void **state)
{
	unsigned port = free_port();
	pid_t pid = script_start(port);
	struct tjob *t;
	char big[2048];

	(void)state;
	t = tjob_new("s@example.org",
		     "ok@x.example,bad@x.example,later@x.example,"
		     "multi@x.example,ok2@x.example",
		     "Subject: x\r\n\r\nbody\r\n", port);
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_SENT);
	assert_string_equal(t->res.text[0], "250 2.0.0 Ok: queued as SCRIPT1");
	assert_int_equal(t->res.st[1], DELIVER_BOUNCE);
	assert_string_equal(t->res.dsn[1], "5.1.1");
	assert_string_equal(t->res.text[1],
			    "host 127.0.0.1[127.0.0.1] said: 550 5.1.1 "
			    "<bad@x.example>: Recipient address rejected: User "
			    "unknown (in reply to RCPT TO command)");
	assert_int_equal(t->res.st[2], DELIVER_DEFER);
	assert_string_equal(t->res.dsn[2], "4.2.0");
	/* A multi-line reply, joined as Postfix logs it. */
	assert_int_equal(t->res.st[3], DELIVER_BOUNCE);
	assert_string_equal(t->res.text[3],
			    "host 127.0.0.1[127.0.0.1] said: 550-5.7.1 first "
			    "line 550 5.7.1 second line (in reply to RCPT TO "
			    "command)");
	assert_int_equal(t->res.st[4], DELIVER_SENT);
	tjob_free(t);

	/* SIZE 1000: a larger message is refused before MAIL, and the
	 * connection (cached from the job before) stays usable. */
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 3] = '\r';
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = 0;
	t = tjob_new("s@example.org", "ok@x.example", big, port);
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_BOUNCE);
	assert_string_equal(t->res.dsn[0], "5.3.4");
	assert_string_equal(t->res.text[0],
			    "message size 2047 exceeds size limit 1000 of "
			    "server 127.0.0.1[127.0.0.1]");
	tjob_free(t);
	t = tjob_new("s@example.org", "ok@x.example", "small\r\n", port);
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_SENT);
	tjob_free(t);
	settle();
	stop(pid);
}

static void test_smtputf8_required(void **state)
{
	unsigned port = free_port();
	pid_t pid = sink_start(port, NULL); /* no SMTPUTF8 */
	struct tjob *t = tjob_new("s@example.org", "j\xc3\xbcrgen@x.example",
				  "x\r\n", port);

	(void)state;
	t->msg.smtputf8 = 1;
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_BOUNCE);
	assert_string_equal(t->res.dsn[0], "5.6.7");
	assert_string_equal(t->res.text[0],
			    "SMTPUTF8 is required, but was not offered by host "
			    "127.0.0.1[127.0.0.1]");
	settle();
	stop(pid);
	tjob_free(t);
}

/* sink_counters - wait (bounded) until smtp-sink -c reports quit QUITs
 * and mesg messages ("sess=N quit=N mesg=N", last record). */
static void sink_counters(const char *path, int quit, int mesg)
{
	char buf[4096], *last;
	int s = -1, q = -1, m = -1;

	for (int i = 0; i < 1000 && (q != quit || m != mesg); i++) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f)
			fclose(f);
		buf[n] = 0;
		while (n > 0 && buf[n - 1] == '\r')
			buf[--n] = 0;
		last = strrchr(buf, '\r');
		last = last ? last + 1 : buf;
		if (sscanf(last, "sess=%d quit=%d mesg=%d", &s, &q, &m) != 3)
			q = m = -1;
		if (q != quit || m != mesg) {
			loop_run_once(lp, 10);
		}
	}
	assert_int_equal(q, quit);
	assert_int_equal(m, mesg);
}

/* send_some - n one-recipient messages to port, each delivered. */
static void send_some(unsigned port, int n)
{
	for (int i = 0; i < n; i++) {
		struct tjob *t =
			tjob_new("s@example.org", "a@x.example", "x\r\n", port);

		run(t);
		assert_int_equal(t->res.st[0], DELIVER_SENT);
		tjob_free(t);
	}
}

static void test_connection_reuse(void **state)
{
	const char *opts[] = {"-c", NULL};
	char counters[300];
	unsigned port = free_port();
	int st;
	pid_t pid;

	(void)state;
	snprintf(counters, sizeof(counters), "%s/counters", test_tmpdir());
	sink_stdout = counters;
	conf_set("smtp_connection_cache_time_limit", "30s");
	pid = sink_start(port, opts);
	send_some(port, 3);
	/* Three messages, one session (one QUIT). */
	settle();
	sink_counters(counters, 1, 3);
	stop(pid);

	/* A cached connection whose server went away: the next job takes
	 * a new connection and is delivered. */
	pid = sink_start(port, opts);
	send_some(port, 1);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	pid = sink_start(port, opts);
	send_some(port, 1);
	settle();
	sink_counters(counters, 1, 1);
	stop(pid);

	/* smtp_connection_reuse_count_limit = 2: three messages, two
	 * sessions. */
	conf_set("smtp_connection_reuse_count_limit", "2");
	pid = sink_start(port, opts);
	send_some(port, 3);
	settle();
	sink_counters(counters, 2, 3);
	stop(pid);
	conf_set("smtp_connection_reuse_count_limit", "0");
	conf_set("smtp_connection_cache_time_limit", "2s");
	sink_stdout = NULL;
}

static void test_parallel_and_expiry(void **state)
{
	const char *opts[] = {"-c", NULL};
	char counters[300];
	unsigned port = free_port();
	struct tjob *t[10];
	uint64_t end = loop_clock_ms() + WAIT_MS;
	size_t i, done = 0;
	pid_t pid;

	(void)state;
	snprintf(counters, sizeof(counters), "%s/counters2", test_tmpdir());
	sink_stdout = counters;
	conf_set("smtp_connection_cache_time_limit", "1s");
	pid = sink_start(port, opts);
	/* Ten jobs at once: ten connections in parallel on one loop. */
	for (i = 0; i < 10; i++) {
		t[i] = tjob_new("s@example.org", "a@x.example,b@x.example",
				"x\r\n", port);
		assert_int_equal(smtp_client_deliver(client, &t[i]->job), 0);
	}
	assert_int_equal(smtp_client_busy(client), 10);
	while (done < 10 && loop_clock_ms() < end) {
		loop_run_once(lp, 100);
		for (i = 0, done = 0; i < 10; i++)
			done += t[i]->res.done;
	}
	assert_int_equal(smtp_client_busy(client), 0);
	/* Ten idle connections: nothing to do, so the loop sleeps (no
	 * connection stays registered for writability). */
	assert_int_equal(loop_run_once(lp, 20), 0);
	for (i = 0; i < 10; i++) {
		assert_int_equal(t[i]->res.st[0], DELIVER_SENT);
		assert_int_equal(t[i]->res.st[1], DELIVER_SENT);
		tjob_free(t[i]);
	}
	/* No flush: the idle connections expire after the cache time
	 * limit and each says QUIT. */
	sink_counters(counters, 10, 10);
	stop(pid);
	conf_set("smtp_connection_cache_time_limit", "2s");
	sink_stdout = NULL;
}

static void test_free_in_progress(void **state)
{
	unsigned port = free_port();
	int lfd = listener(port);
	struct tjob *t =
		tjob_new("s@example.org", "a@x.example", "x\r\n", port);
	int i;

	(void)state;
	assert_int_equal(smtp_client_deliver(client, &t->job), 0);
	for (i = 0; i < 5; i++)
		loop_run_once(lp, 10);
	assert_int_equal(t->res.done, 0); /* waiting for a greeting */
	smtp_client_free(client);
	assert_int_equal(t->res.done, 1);
	assert_int_equal(t->res.st[0], DELIVER_DEFER);
	assert_string_equal(t->res.dsn[0], "4.3.2");
	client = smtp_client_new(lp);
	close(lfd);
	tjob_free(t);
}

/* ---- LMTP (RFC 2033) ---- */

/* lmtp_job - a job to rcpts routed by default_transport = lmtp:NEXTHOP
 * (port: the next hop's, 0 for a UNIX socket). */
static struct tjob *lmtp_job(const char *rcpts, const char *nexthop,
			     unsigned port)
{
	struct tjob *t;
	char v[400];

	snprintf(v, sizeof(v), "lmtp:%s", nexthop);
	conf_set("default_transport", v);
	t = tjob_new("s@example.org", rcpts, "Subject: lmtp\r\n\r\nbody\r\n",
		     port);
	conf_set("default_transport", "smtp");
	assert_int_equal(t->job.route.tp->kind, TRANSPORT_LMTP);
	return t;
}

/* has_log - a captured log line holds all of the given parts. */
static int has_log(const char *a, const char *b, const char *c)
{
	const char *p = buf_str(&test_log_lines), *e;

	for (; p && *p; p = e + 1) {
		size_t n;
		char line[8192];

		e = strchr(p, '\n');
		if (e == NULL)
			e = p + strlen(p);
		n = (size_t)(e - p) < sizeof(line) - 1 ? (size_t)(e - p)
						       : sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = 0;
		if (strstr(line, a) && (!b || strstr(line, b)) &&
		    (!c || strstr(line, c)))
			return 1;
		if (*e == 0)
			break;
	}
	return 0;
}

/* smtp-sink -L on TCP: LHLO, one reply per recipient after "." (three
 * recipients: the client waits for three), lmtp_* log lines; then the
 * refusals smtp-sink can make: RCPT 5xx, DATA 4xx, end-of-data 4xx (one
 * per recipient), LHLO 5xx, and a connection lost after ".". */
static void test_lmtp_sink_inet(void **state)
{
	const char *lmtp[] = {"-L", NULL};
	const char *rej_rcpt[] = {"-L", "-f", "rcpt", NULL};
	const char *rej_data[] = {"-L", "-r", "data", NULL};
	const char *rej_dot[] = {"-L", "-r", ".", NULL};
	const char *rej_lhlo[] = {"-L", "-f", "LHLO", NULL};
	const char *drop_dot[] = {"-L", "-q", ".", NULL};
	unsigned port = free_port();
	char nh[64], relay[80];
	struct tjob *t;
	pid_t pid;

	(void)state;
	snprintf(nh, sizeof(nh), "inet:127.0.0.1:%u", port);
	snprintf(relay, sizeof(relay), "relay=127.0.0.1[127.0.0.1]:%u,", port);
	pid = sink_start(port, lmtp);
	t = lmtp_job("a@x.example,b@x.example,c@x.example", nh, port);
	test_log_capture();
	run(t);
	log_set_sink(NULL, NULL);
	for (int i = 0; i < 3; i++) {
		/* smtp-sink -L: "250 2.2.0 Ok" per recipient. */
		assert_int_equal(t->res.st[i], DELIVER_SENT);
		assert_string_equal(t->res.dsn[i], "2.2.0");
		assert_string_equal(t->res.text[i], "250 2.2.0 Ok");
	}
	assert_true(has_log("to=<a@x.example>, ", relay,
			    "dsn=2.2.0, status=sent (250 2.2.0 Ok)"));
	assert_true(has_log("to=<c@x.example>, ", relay, "status=sent (250"));
	assert_int_equal(t->job.next_hop_dsn, 1); /* smtp-sink: DSN */
	tjob_free(t);
	settle();
	stop(pid);

	/* Every RCPT refused (5xx): bounced, no DATA. */
	pid = sink_start(port, rej_rcpt);
	t = lmtp_job("a@x.example,b@x.example", nh, port);
	run(t);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(t->res.st[i], DELIVER_BOUNCE);
		assert_non_null(strstr(t->res.text[i],
				       "host 127.0.0.1[127.0.0.1] said: 5"));
		assert_non_null(strstr(t->res.text[i],
				       "(in reply to RCPT TO command)"));
	}
	tjob_free(t);
	settle();
	stop(pid);

	/* DATA refused with 4xx: every recipient deferred. */
	pid = sink_start(port, rej_data);
	t = lmtp_job("a@x.example,b@x.example", nh, port);
	run(t);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(t->res.st[i], DELIVER_DEFER);
		assert_int_equal(t->res.dsn[i][0], '4');
		assert_non_null(
			strstr(t->res.text[i], "(in reply to DATA command)"));
	}
	tjob_free(t);
	settle();
	stop(pid);

	/* The end of data refused with 4xx: smtp-sink -L -r . sends that
	 * reply once per recipient, and each recipient gets its own. */
	pid = sink_start(port, rej_dot);
	t = lmtp_job("a@x.example,b@x.example", nh, port);
	test_log_capture();
	run(t);
	log_set_sink(NULL, NULL);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(t->res.st[i], DELIVER_DEFER);
		assert_non_null(strstr(t->res.text[i],
				       "host 127.0.0.1[127.0.0.1] said: 4"));
		assert_non_null(strstr(t->res.text[i],
				       "(in reply to end of DATA command)"));
	}
	assert_true(has_log("to=<b@x.example>, ", relay, "status=deferred"));
	tjob_free(t);
	settle();
	stop(pid);

	/* LHLO refused: no HELO fallback in LMTP. */
	pid = sink_start(port, rej_lhlo);
	t = lmtp_job("a@x.example", nh, port);
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_BOUNCE);
	assert_non_null(strstr(t->res.text[0], "(in reply to LHLO command)"));
	tjob_free(t);
	settle();
	stop(pid);

	/* The connection lost after ".": deferred, as Postfix says it. */
	pid = sink_start(port, drop_dot);
	t = lmtp_job("a@x.example,b@x.example", nh, port);
	run(t);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(t->res.st[i], DELIVER_DEFER);
		assert_string_equal(t->res.dsn[i], "4.4.2");
		assert_non_null(
			strstr(t->res.text[i],
			       "lost connection with 127.0.0.1[127.0.0.1] "
			       "while sending end of data -- message may "
			       "be sent more than once"));
	}
	tjob_free(t);
	settle();
	stop(pid);
}

/* smtp-sink -L on a UNIX-domain socket: delivered, logged as Postfix's
 * lmtp logs it (myhostname[/path]), the connection reused; a socket that
 * does not exist defers 4.4.1. */
static void test_lmtp_sink_unix(void **state)
{
	const char *opts[] = {"-L", "-c", NULL};
	char path[200], nh[220], relay[300], counters[300], want[400];
	struct tjob *t;
	pid_t pid;

	(void)state;
	snprintf(path, sizeof(path), "%s/lmtp.sock", test_tmpdir());
	snprintf(nh, sizeof(nh), "unix:%s", path);
	snprintf(relay, sizeof(relay), "relay=client.example[%s],", path);
	snprintf(counters, sizeof(counters), "%s/counters", test_tmpdir());
	sink_stdout = counters;
	conf_set("smtp_connection_cache_time_limit", "30s");
	pid = sink_start_unix(path, opts);
	for (int k = 0; k < 3; k++) {
		t = lmtp_job("a@x.example,b@x.example", nh, 0);
		test_log_capture();
		run(t);
		log_set_sink(NULL, NULL);
		for (int i = 0; i < 2; i++)
			assert_int_equal(t->res.st[i], DELIVER_SENT);
		assert_true(has_log("to=<b@x.example>, ", relay,
				    "status=sent (250 2.2.0 Ok)"));
		if (k > 0) /* reused: Postfix's conn_use= */
			assert_true(has_log("to=<a@x.example>, ", relay,
					    ", conn_use="));
		tjob_free(t);
	}
	/* Three messages, one session (one QUIT). */
	settle();
	sink_counters(counters, 1, 3);
	stop(pid);
	sink_stdout = NULL;
	conf_set("smtp_connection_cache_time_limit", "2s");

	/* No socket there: deferred, as Postfix's lmtp words it. */
	unlink(path);
	t = lmtp_job("a@x.example", nh, 0);
	test_log_capture();
	run(t);
	log_set_sink(NULL, NULL);
	assert_int_equal(t->res.st[0], DELIVER_DEFER);
	assert_string_equal(t->res.dsn[0], "4.4.1");
	snprintf(want, sizeof(want),
		 "connect to client.example[%s]: No such file or directory",
		 path);
	assert_string_equal(t->res.text[0], want);
	assert_true(has_log("to=<a@x.example>, relay=none, ", "dsn=4.4.1, ",
			    "status=deferred (connect to client.example["));
	tjob_free(t);
}

/* Per-recipient outcomes after "." (scripted: smtp-sink -L answers all
 * recipients alike): each accepted recipient's own reply, in RCPT order;
 * a recipient refused at RCPT gets no reply after ".". */
static void test_lmtp_per_recipient(void **state)
{
	unsigned port = free_port();
	char nh[64];
	struct tjob *t;

	(void)state;
	snprintf(nh, sizeof(nh), "[127.0.0.1]:%u", port);
	script_start(port);
	t = lmtp_job("a@x.example,full@x.example,bad@x.example,"
		     "busy@x.example,b@x.example",
		     nh, port);
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_SENT);
	assert_string_equal(t->res.text[0], "250 2.1.5 Saved");
	assert_int_equal(t->res.st[1], DELIVER_BOUNCE);
	assert_string_equal(t->res.dsn[1], "5.2.2");
	assert_non_null(strstr(t->res.text[1],
			       "host 127.0.0.1[127.0.0.1] said: 552 5.2.2 "
			       "<full@x.example> Mailbox full (in reply to end "
			       "of DATA command)"));
	assert_int_equal(t->res.st[2], DELIVER_BOUNCE);
	assert_non_null(
		strstr(t->res.text[2], "(in reply to RCPT TO command)"));
	assert_int_equal(t->res.st[3], DELIVER_DEFER);
	assert_string_equal(t->res.dsn[3], "4.2.1");
	assert_non_null(strstr(t->res.text[3], "452 4.2.1 <busy@x.example>"));
	assert_int_equal(t->res.st[4], DELIVER_SENT);
	tjob_free(t);
	/* The connection is still in step: a second job on it. */
	t = lmtp_job("c@x.example", nh, port);
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_SENT);
	tjob_free(t);
	settle();
}

/* The lmtp_* parameters govern LMTP sessions: lmtp_lhlo_timeout (not
 * smtp_helo_timeout) bounds the wait for the greeting. */
static void test_lmtp_parameters(void **state)
{
	unsigned port = free_port();
	int lfd = listener(port); /* never accepts: no greeting */
	char nh[64];
	struct tjob *t;
	uint64_t t0;

	(void)state;
	conf_set("lmtp_lhlo_timeout", "1s");
	conf_set("smtp_helo_timeout", "300s");
	snprintf(nh, sizeof(nh), "inet:127.0.0.1:%u", port);
	t = lmtp_job("a@x.example", nh, port);
	t0 = loop_clock_ms();
	run(t);
	assert_true(loop_clock_ms() - t0 < 5000);
	assert_int_equal(t->res.st[0], DELIVER_DEFER);
	assert_string_equal(t->res.dsn[0], "4.4.2");
	assert_non_null(strstr(t->res.text[0],
			       "conversation with 127.0.0.1[127.0.0.1] timed "
			       "out while receiving the initial server "
			       "greeting"));
	tjob_free(t);
	close(lfd);
	conf_set("lmtp_lhlo_timeout", "300s");
}

static void test_not_literal_and_hosts(void **state)
{
	struct tjob *t = tjob_new("s@example.org", "a@x.example", "x\r\n", 25);

	(void)state;
	/* A DNS server that is not there (nothing on that loopback
	 * address): the MX lookup cannot complete, which defers (4.4.3),
	 * never bounces. tests/integration/test_dns.py has a real server. */
	snprintf(t->job.route.host, sizeof(t->job.route.host), "x.example");
	t->job.route.literal = 0;
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_DEFER);
	assert_string_equal(t->res.dsn[0], "4.4.3");
	assert_non_null(strstr(t->res.text[0],
			       "Name service error for name=x.example "
			       "type=MX: Host not found, try again"));
	tjob_free(t);
	/* [host] asks for its addresses: the same deferral. */
	t = tjob_new("s@example.org", "a@x.example", "x\r\n", 25);
	snprintf(t->job.route.host, sizeof(t->job.route.host),
		 "no-such-host.invalid");
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_DEFER);
	assert_string_equal(t->res.dsn[0], "4.4.3");
	assert_non_null(strstr(t->res.text[0], "name=no-such-host.invalid"));
	tjob_free(t);
	/* smtp_host_lookup = native: localhost from /etc/hosts; a refused
	 * connection proves the lookup worked. */
	t = tjob_new("s@example.org", "a@x.example", "x\r\n", free_port());
	snprintf(t->job.route.host, sizeof(t->job.route.host), "localhost");
	conf_set("inet_protocols", "ipv4");
	conf_set("smtp_host_lookup", "native");
	run(t);
	conf_set("inet_protocols", "all");
	assert_int_equal(t->res.st[0], DELIVER_DEFER);
	assert_non_null(
		strstr(t->res.text[0], "connect to localhost[127.0.0.1]:"));
	tjob_free(t);
	/* Not in the hosts file, native only: Postfix's getaddrinfo text,
	 * a bounce. */
	t = tjob_new("s@example.org", "a@x.example", "x\r\n", 25);
	snprintf(t->job.route.host, sizeof(t->job.route.host),
		 "no-such-host.invalid");
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_BOUNCE);
	assert_string_equal(t->res.dsn[0], "5.4.4");
	assert_string_equal(t->res.text[0],
			    "unable to look up host no-such-host.invalid: "
			    "Name or service not known");
	tjob_free(t);
	/* "dns, native": DNS cannot answer, the hosts file can. */
	t = tjob_new("s@example.org", "a@x.example", "x\r\n", free_port());
	snprintf(t->job.route.host, sizeof(t->job.route.host), "localhost");
	conf_set("inet_protocols", "ipv4");
	conf_set("smtp_host_lookup", "dns, native");
	run(t);
	conf_set("inet_protocols", "all");
	conf_set("smtp_host_lookup", "dns");
	assert_int_equal(t->res.st[0], DELIVER_DEFER);
	assert_non_null(
		strstr(t->res.text[0], "connect to localhost[127.0.0.1]:"));
	tjob_free(t);
}

static void test_connect_fails_at_once(void **state)
{
	/* connect() to the broadcast address fails in the call itself; the
	 * job is still reported from the loop (run() checks). */
	struct tjob *t = tjob_new("s@example.org", "a@x.example", "x\r\n", 25);

	(void)state;
	snprintf(t->job.route.host, sizeof(t->job.route.host),
		 "255.255.255.255");
	run(t);
	assert_int_equal(t->res.st[0], DELIVER_DEFER);
	assert_string_equal(t->res.dsn[0], "4.4.1");
	assert_non_null(
		strstr(t->res.text[0],
		       "connect to 255.255.255.255[255.255.255.255]:25: "));
	tjob_free(t);
}

static void test_delay_format(void **state)
{
	static const struct {
		double v;
		const char *want;
	} c[] = {
		{0, "0"},       {0.004, "0"},    {0.005, "0.01"},
		{0.01, "0.01"}, {0.123, "0.12"}, {0.996, "1"},
		{1.23, "1.2"},  {9.96, "10"},    {12.3, "12"},
		{123.4, "123"}, {0.1, "0.1"},    {-1, "0"},
		{0.05, "0.05"}, {2, "2"},
	};
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		buf_reset(&b);
		deliver_format_delay(&b, c[i].v);
		if (strcmp(buf_str(&b), c[i].want) != 0)
			fail_msg("%g: got %s, want %s", c[i].v, buf_str(&b),
				 c[i].want);
	}
	buf_free(&b);
}

static void test_reply_parser(void **state)
{
	struct smtp_reply r;
	struct smtp_ehlo e;
	const char *in = "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 52428800"
			 "\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 DSN\r\n"
			 "354 next";
	size_t used;
	struct buf b;

	(void)state;
	smtp_reply_init(&r);
	used = smtp_reply_push(&r, in, strlen(in));
	assert_true(r.done);
	assert_int_equal(r.code, 250);
	assert_string_equal(r.dsn, "2.0.0");
	assert_int_equal(in[used], '3'); /* stops after the reply */
	smtp_reply_ehlo(&r, &e);
	assert_int_equal(e.ext, SMTP_EXT_PIPELINING | SMTP_EXT_SIZE |
					SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 |
					SMTP_EXT_DSN);
	assert_int_equal(e.size, 52428800);
	/* Byte by byte, garbage ignored, bare LF, class fixed. */
	smtp_reply_init(&r);
	in = "garbage\n550-4.1.1 one\n550 two\n";
	for (used = 0; !r.done; used++)
		smtp_reply_push(&r, in + used, 1);
	assert_int_equal(used, strlen(in));
	assert_int_equal(r.garbage, 1);
	assert_string_equal(r.dsn, "5.1.1");
	buf_init(&b, 1024);
	smtp_reply_oneline(&r, &b);
	assert_string_equal(buf_str(&b), "550-4.1.1 one 550 two");
	buf_free(&b);
	/* Boundary: a line of LINE_MAX + 1 bytes is cut, not overflowed. */
	{
		char *l = malloc(SMTP_REPLY_LINE_MAX + 8);

		memset(l, 'x', SMTP_REPLY_LINE_MAX + 8);
		memcpy(l, "250 ", 4);
		l[SMTP_REPLY_LINE_MAX + 1] = '\n';
		smtp_reply_init(&r);
		smtp_reply_push(&r, l, SMTP_REPLY_LINE_MAX + 2);
		assert_true(r.done);
		assert_int_equal(r.len, SMTP_REPLY_LINE_MAX);
		free(l);
	}
}

static int after_test(void **state)
{
	(void)state;
	peers_kill();
	return 0;
}

static int setup(void **state)
{
	(void)state;
	chmod(test_tmpdir(), 0755);
	test_write_file("main.cf", "myhostname = client.example\n");
	test_write_file("master.cf", "smtp unix - - n - - smtp\n");
	assert_int_equal(conf_load(test_tmpdir()), 0);
	/* Tests never ask a DNS server of the host: a dead loopback
	 * address (see test_not_literal_and_hosts). */
	conf_set("dns_resolv_conf",
		 test_write_file("resolv.conf", "nameserver 127.255.255.254\n"
						"options timeout:1 attempts:1\n"));
	assert_int_equal(transport_load(), 0);
	conf_set("relayhost", "[127.0.0.1]");
	lp = loop_new();
	client = smtp_client_new(lp);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	smtp_client_free(client);
	loop_free(lp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_reply_parser, after_test),
		cmocka_unit_test_teardown(test_delay_format, after_test),
		cmocka_unit_test_teardown(test_sent_pipelined_dotstuffing,
					  after_test),
		cmocka_unit_test_teardown(test_next_hop_without_dsn,
					  after_test),
		cmocka_unit_test_teardown(test_line_length_limit, after_test),
		cmocka_unit_test_teardown(test_large_message, after_test),
		cmocka_unit_test_teardown(test_sent_without_pipelining,
					  after_test),
		cmocka_unit_test_teardown(test_rejects, after_test),
		cmocka_unit_test_teardown(test_connect_fails_at_once,
					  after_test),
		cmocka_unit_test_teardown(test_greeting_and_helo, after_test),
		cmocka_unit_test_teardown(test_refused_and_timeouts,
					  after_test),
		cmocka_unit_test_teardown(test_per_recipient_and_size,
					  after_test),
		cmocka_unit_test_teardown(test_smtputf8_required, after_test),
		cmocka_unit_test_teardown(test_connection_reuse, after_test),
		cmocka_unit_test_teardown(test_parallel_and_expiry, after_test),
		cmocka_unit_test_teardown(test_free_in_progress, after_test),
		cmocka_unit_test_teardown(test_not_literal_and_hosts,
					  after_test),
		cmocka_unit_test_teardown(test_lmtp_sink_inet, after_test),
		cmocka_unit_test_teardown(test_lmtp_sink_unix, after_test),
		cmocka_unit_test_teardown(test_lmtp_per_recipient, after_test),
		cmocka_unit_test_teardown(test_lmtp_parameters, after_test),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	atexit(peers_kill);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	test_cleanup_tmpdir();
	return rc;
}
