/* test_qmgr - the scheduler's pure decisions, and qmgr_service() run in a
 * child process over a real queue directory with real transport_maps
 * (error: and discard: routes, so no network peer is needed): outcomes,
 * bounces, log lines, corrupt files, maildrop pickup, SIGTERM. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "deliver/deliver.h"
#include "master/service.h"
#include "queue/layout.h"
#include "queue/pickup.h"
#include "queue/qfile.h"
#include "queue/qmgr.h"
#include "queue/spool.h"

#define S(lit) ((struct qfile_str){(lit), sizeof(lit) - 1})

static char qdir[300];
static const char *sender = "alice@example.org";
static int64_t arrival_ago;  /* queue_msg(): arrival this long ago */
static size_t torn_bytes;    /* queue_msg(): a torn append of this size */
static unsigned rcpt_notify; /* queue_msg(): NOTIFY of every recipient */
static char logpath[300];

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(qmgr_backoff(1, 300, 4000), 300);
	assert_int_equal(qmgr_backoff(2, 300, 4000), 600);
	assert_int_equal(qmgr_backoff(4, 300, 4000), 2400);
	assert_int_equal(qmgr_backoff(5, 300, 4000), 4000);
	assert_int_equal(qmgr_backoff(1000, 300, 4000), 4000);
}

static void test_expired_and_notify(void **state)
{
	(void)state;
	assert_true(qmgr_expired(5 * 86400, 0, 5 * 86400, 86400));
	assert_false(qmgr_expired(5 * 86400 - 1, 0, 5 * 86400, 86400));
	assert_true(qmgr_expired(86400, 1, 5 * 86400, 86400));
	/* maximal_queue_lifetime = 0: try once. */
	assert_true(qmgr_expired(0, 0, 0, 0));
	assert_true(qmgr_notify_wanted(0, QFILE_NOTIFY_FAILURE));
	assert_true(qmgr_notify_wanted(0, QFILE_NOTIFY_DELAY));
	assert_false(qmgr_notify_wanted(0, QFILE_NOTIFY_SUCCESS));
	assert_false(
		qmgr_notify_wanted(QFILE_NOTIFY_NEVER, QFILE_NOTIFY_FAILURE));
	assert_false(
		qmgr_notify_wanted(QFILE_NOTIFY_SUCCESS, QFILE_NOTIFY_FAILURE));
	assert_true(
		qmgr_notify_wanted(QFILE_NOTIFY_SUCCESS, QFILE_NOTIFY_SUCCESS));
	assert_true(qmgr_rcpt_in_domain("a@Example.ORG", 13, "example.org"));
	assert_false(qmgr_rcpt_in_domain("a@xexample.org", 14, "example.org"));
	assert_false(qmgr_rcpt_in_domain("example.org", 11, "example.org"));
}

static void test_pickup_names(void **state)
{
	(void)state;
	assert_true(pickup_name_ok("abcdefABCDEF0123"));
	assert_false(pickup_name_ok("abcdefABCDEF012"));
	assert_false(pickup_name_ok(".tmp.abcdefABCDEF0123"));
	assert_false(pickup_name_ok("abcdefABCDEF0123/x"));
}

/* Queue a message from alice to the given recipients in incoming/. */
static void queue_msg(const char *const *rcpt, size_t n, char qid[QID_SIZE])
{
	struct spool sp;
	struct spool_file f;
	struct qfile_rcpt r[8];
	struct qfile_msg m;
	struct buf b;
	static const char content[] = "From: alice@example.org\r\n"
				      "Subject: t\r\n\r\nbody\r\n";

	memset(&m, 0, sizeof(m));
	memset(r, 0, sizeof(r));
	m.arrival_sec = time(NULL) - arrival_ago;
	m.sender.p = sender;
	m.sender.len = strlen(sender);
	m.protocol = S("ESMTP");
	for (size_t i = 0; i < n; i++) {
		r[i].addr.p = rcpt[i];
		r[i].addr.len = strlen(rcpt[i]);
		r[i].notify = rcpt_notify;
	}
	m.rcpt = r;
	m.nrcpt = n;
	buf_init(&b, 1 << 16);
	assert_int_equal(qfile_format(&b, &m, content, sizeof(content) - 1), 0);
	assert_int_equal(spool_open(&sp, qdir), 0);
	assert_int_equal(spool_file_new(&sp, &f, m.arrival_sec, 0), 0);
	if (torn_bytes) {
		struct buf t;
		buf_init(&t, 1 << 16);
		assert_int_equal(qfile_format_defer(&t, 0, "4.4.1", "x", 1), 0);
		assert_true(torn_bytes < t.len);
		buf_append(&b, t.data, torn_bytes);
		buf_free(&t);
	}
	assert_int_equal(spool_file_write(&f, b.data, b.len), 0);
	assert_int_equal(spool_file_sync(&f), 0);
	assert_int_equal(spool_file_commit(&sp, &f), 0);
	memcpy(qid, f.qid, QID_SIZE);
	spool_close(&sp);
	buf_free(&b);
}

static int setup(void **state)
{
	char v[700];

	(void)state;
	snprintf(qdir, sizeof(qdir), "%s/queue", test_tmpdir());
	snprintf(logpath, sizeof(logpath), "%s/maillog", test_tmpdir());
	test_write_file("transport", "gone@example.net error:5.1.1 no such "
				     "user\n"
				     "drop@example.net discard:dropped\n"
				     "alice@example.org discard:kept\n"
				     "postmaster@mx.example.net discard:pm\n"
				     "refused@example.net "
				     "smtp:[127.0.0.1]:1\n");
	test_write_file("master.cf", "smtp unix - - n - - smtp\n");
	snprintf(v, sizeof(v),
		 "myhostname = mx.example.net\nqueue_directory = %s\n"
		 "notify_classes = resource, software, 2bounce\n"
		 "transport_maps = texthash:%s/transport\n",
		 qdir, test_tmpdir());
	test_write_file("main.cf", v);
	assert_int_equal(conf_load(test_tmpdir()), 0);
	assert_int_equal(spool_create(qdir, (uid_t)-1, (gid_t)-1), 0);
	snprintf(v, sizeof(v), "%s/%s", qdir, LAYOUT_PUBLIC);
	mkdir(v, 0755);
	snprintf(v, sizeof(v), "%s/%s", qdir, LAYOUT_MAILDROP);
	mkdir(v, 01733);
	snprintf(v, sizeof(v), "%s/%s", qdir, LAYOUT_TRIGGER);
	mkfifo(v, 0622);
	return 0;
}

static char *slurp(const char *path)
{
	static char data[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(data, 1, sizeof(data) - 1, f);
		fclose(f);
	}
	data[n] = 0;
	return data;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static pid_t start_qmgr(int *ready)
{
	int pfd[2];
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct service_ctx ctx = {.service = "qmgr",
					  .ready_fd = pfd[1],
					  .drain_ms = 5000};
		/* A failed assertion leaves this child behind: it goes when
		 * the test program does. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		log_set_file(logpath);
		if (transport_load() < 0)
			_exit(3);
		_exit(qmgr_service(&ctx));
	}
	close(pfd[1]);
	*ready = pfd[0];
	return pid;
}

/* Wait (bounded) until the log holds n copies of needle. */
static int wait_log(const char *needle, size_t n)
{
	for (int i = 0; i < 600; i++) {
		if (count(slurp(logpath), needle) >= n)
			return 1;
		usleep(50000);
	}
	fprintf(stderr, "log:\n%s\n", slurp(logpath));
	return 0;
}

static void test_service_error_discard_bounce(void **state)
{
	const char *rcpt[] = {"gone@example.net", "drop@example.net"};
	char qid[QID_SIZE], c;
	char junk[QID_SIZE], path[700];
	int ready, st;
	pid_t pid;

	(void)state;
	queue_msg(rcpt, 2, qid);
	/* A damaged file next to it goes to corrupt/, nothing crashes. */
	assert_true(qid_format(junk, 1700000000, 1, 424242) > 0);
	snprintf(path, sizeof(path), "%s/incoming/%s", qdir, junk);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a queue file\n", f);
	fclose(f);

	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	assert_int_equal(c, 'R');
	close(ready);
	/* The original and its bounce (discarded to alice) are removed. */
	assert_true(wait_log(": removed", 2));
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	const char *log = slurp(logpath);
	char want[400];
	snprintf(want, sizeof(want),
		 "%s: from=<alice@example.org>, size=45, nrcpt=2 (queue "
		 "active)",
		 qid);
	assert_non_null(strstr(log, want));
	snprintf(want, sizeof(want),
		 "mailgw/error[%d]: %s: to=<gone@example.net>, relay=none, ",
		 (int)pid, qid);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, "dsn=5.1.1, status=bounced (no such "
				    "user)"));
	snprintf(want, sizeof(want),
		 "mailgw/discard[%d]: %s: to=<drop@example.net>, relay=none, ",
		 (int)pid, qid);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, "status=sent (dropped)"));
	snprintf(want, sizeof(want),
		 "mailgw/bounce[%d]: %s: sender non-delivery notification: ",
		 (int)pid, qid);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, "mailgw/cleanup["));
	assert_non_null(strstr(log, ": message-id=<"));
	assert_non_null(strstr(log, "status=sent (kept)"));
	snprintf(want, sizeof(want), "warning: %s: corrupt queue file: ", junk);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, "; moved to corrupt"));
	snprintf(path, sizeof(path), "%s/corrupt/%s", qdir, junk);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/active/%s", qdir, qid);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/incoming/%s", qdir, qid);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_service_pickup(void **state)
{
	const char *rcpt[] = {"drop@example.net"};
	char qid[QID_SIZE], path[700], name[700], c;
	int ready, st;
	pid_t pid;

	(void)state;
	/* A queue file written by "sendmail" into maildrop/. */
	queue_msg(rcpt, 1, qid);
	snprintf(path, sizeof(path), "%s/incoming/%s", qdir, qid);
	snprintf(name, sizeof(name), "%s/maildrop/abcdefghijklmnop0123", qdir);
	assert_int_equal(rename(path, name), 0);
	/* And a symlink, which pickup must refuse. */
	snprintf(name, sizeof(name), "%s/maildrop/symlinkXXXXXXXXXXXX", qdir);
	assert_int_equal(symlink("/etc/passwd", name), 0);
	unlink(logpath);

	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	assert_true(wait_log(": removed", 1));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	const char *log = slurp(logpath);
	char want[200];
	snprintf(want, sizeof(want), "mailgw/pickup[%d]: ", (int)pid);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, ": uid=0 from=<alice@example.org>"));
	assert_non_null(strstr(log, "status=sent (dropped)"));
	assert_non_null(strstr(log, "maildrop/symlinkXXXXXXXXXXXX"));
	snprintf(name, sizeof(name), "%s/maildrop/abcdefghijklmnop0123", qdir);
	assert_int_equal(access(name, F_OK), -1);
}

static int file_in(const char *queue, const char *qid)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/%s/%s", qdir, queue, qid);
	return access(path, F_OK) == 0;
}

/* A refused connection defers into deferred/ with a retry record; a flush
 * request ("F") retries it at once, and with maximal_queue_lifetime = 0
 * it expires and returns to the sender. */
static void test_service_defer_flush_expire(void **state)
{
	const char *rcpt[] = {"refused@example.net"};
	char qid[QID_SIZE], c, want[300], fifo[700];
	int ready, st;
	pid_t pid;

	(void)state;
	unlink(logpath);
	queue_msg(rcpt, 1, qid);
	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	assert_true(wait_log("status=deferred", 1));
	for (int i = 0; i < 600 && !file_in("deferred", qid); i++)
		usleep(50000);
	assert_true(file_in("deferred", qid));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	/* Not due yet: a restart leaves it alone; a flush does not. */
	conf_set("maximal_queue_lifetime", "0");
	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	snprintf(fifo, sizeof(fifo), "%s/%s", qdir, LAYOUT_TRIGGER);
	int fd = open(fifo, O_WRONLY | O_NONBLOCK);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "F\n", 2), 2);
	close(fd);
	snprintf(want, sizeof(want),
		 "%s: from=<alice@example.org>, status=expired, returned to "
		 "sender",
		 qid);
	assert_true(wait_log(want, 1));
	snprintf(want, sizeof(want), "%s: removed", qid);
	assert_true(wait_log(want, 1));
	assert_true(wait_log("sender non-delivery notification", 1));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(count(slurp(logpath), "status=deferred"), 2);
	assert_false(file_in("deferred", qid));
	conf_set("maximal_queue_lifetime", "5d");
}

/* A bounce of a null-sender message goes to the postmaster from
 * double-bounce@; a failed double bounce is dropped, never looped. */
static void test_service_double_bounce(void **state)
{
	const char *rcpt[] = {"gone@example.net"};
	char qid[QID_SIZE], qid2[QID_SIZE], c, want[300];
	int ready, st;
	pid_t pid;

	(void)state;
	unlink(logpath);
	sender = "";
	queue_msg(rcpt, 1, qid);
	sender = "double-bounce@mx.example.net";
	queue_msg(rcpt, 1, qid2);
	sender = "alice@example.org";
	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	assert_true(wait_log(": removed", 3));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	const char *log = slurp(logpath);
	snprintf(want, sizeof(want),
		 "%s: sender non-delivery notification: ", qid);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, "from=<double-bounce@mx.example.net>, "
				    "size="));
	/* 2bounce is in notify_classes; "postmaster" gets @myorigin. */
	assert_non_null(strstr(log, "to=<postmaster@mx.example.net>"));
	assert_non_null(strstr(log, "status=sent (pm)"));
	snprintf(want, sizeof(want),
		 "%s: undeliverable postmaster notification discarded", qid2);
	assert_non_null(strstr(log, want));
	assert_int_equal(count(log, "sender non-delivery notification"), 1);
}

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

/* sink_start_opts - smtp-sink with up to three extra options. */
static pid_t sink_start_opts(unsigned port, char *o1, char *o2, char *o3)
{
	char addr[64];
	int connected = 0;
	pid_t sink;

	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	sink = fork();
	assert_true(sink >= 0);
	if (sink == 0) {
		char *argv[10];
		int n = 0, null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		argv[n++] = "smtp-sink";
		argv[n++] = "-u";
		argv[n++] = "nobody";
		if (o1)
			argv[n++] = o1;
		if (o2)
			argv[n++] = o2;
		if (o3)
			argv[n++] = o3;
		argv[n++] = addr;
		argv[n++] = "100";
		argv[n] = NULL;
		execv("/usr/sbin/smtp-sink", argv);
		_exit(127);
	}
	for (int i = 0; i < 500 && !connected; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)port)};
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		connected = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (!connected)
			usleep(10000);
	}
	assert_true(connected);
	return sink;
}

static pid_t sink_start(unsigned port)
{
	return sink_start_opts(port, NULL, NULL, NULL);
}

/* Real SMTP deliveries to Postfix's smtp-sink: recipients with the same
 * route share one job; every message is removed after its SENT records. */
static void test_service_smtp_sink(void **state)
{
	const char *rcpt[] = {"one@sink.example", "two@sink.example"};
	char qid[QID_SIZE], c, v[800];
	int ready, st;
	pid_t pid, sink;
	unsigned port = free_port();

	(void)state;
	unlink(logpath);
	/* The earlier tests' deferred messages are not due for a while. */
	snprintf(v, sizeof(v), "rm -f %s/deferred/*", qdir);
	assert_int_equal(system(v), 0);
	sink = sink_start(port);
	snprintf(v, sizeof(v),
		 "sink.example smtp:[127.0.0.1]:%u\n"
		 "alice@example.org discard:kept\n",
		 port);
	test_write_file("transport", v);
	for (int i = 0; i < 20; i++)
		queue_msg(rcpt, 2, qid);
	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	assert_true(wait_log(": removed", 20));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	kill(sink, SIGTERM);
	waitpid(sink, &st, 0);
	const char *log = slurp(logpath);
	assert_int_equal(count(log, "status=sent (250 "), 40);
	assert_int_equal(count(log, "nrcpt=2 (queue active)"), 20);
	snprintf(v, sizeof(v), "relay=127.0.0.1[127.0.0.1]:%u,", port);
	assert_int_equal(count(log, v), 40);
	assert_int_equal(count(log, "non-delivery"), 0);
	assert_false(file_in("incoming", qid));
	assert_false(file_in("active", qid));
}

/* A torn append (a crash in the middle of a record) is cut off before the
 * next append; the message is delivered, not sent to corrupt/. A message
 * deferred for longer than delay_warning_time gets one delay notice. */
static void test_service_torn_and_delay_warning(void **state)
{
	const char *drop[] = {"drop@example.net"};
	const char *refused[] = {"refused@example.net"};
	char qid[QID_SIZE], qid2[QID_SIZE], c, want[300];
	int ready, st;
	pid_t pid;

	(void)state;
	unlink(logpath);
	test_write_file("transport",
			"drop@example.net discard:dropped\n"
			"alice@example.org discard:kept\n"
			"refused@example.net smtp:[127.0.0.1]:1\n");
	torn_bytes = 5;
	queue_msg(drop, 1, qid);
	torn_bytes = 0;
	arrival_ago = 3600;
	queue_msg(refused, 1, qid2);
	arrival_ago = 0;
	conf_set("delay_warning_time", "10m");
	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	snprintf(want, sizeof(want), "%s: removed", qid);
	assert_true(wait_log(want, 1));
	snprintf(want, sizeof(want), "%s: sender delay notification: ", qid2);
	assert_true(wait_log(want, 1));
	for (int i = 0; i < 600 && !file_in("deferred", qid2); i++)
		usleep(50000);
	assert_true(file_in("deferred", qid2));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	conf_set("delay_warning_time", "0h");
	const char *log = slurp(logpath);
	assert_null(strstr(log, "corrupt"));
	assert_false(file_in("corrupt", qid));
	/* The warning is recorded: the file says so. */
	char path[700];
	snprintf(path, sizeof(path), "%s/deferred/%s", qdir, qid2);
	struct buf b;
	buf_init(&b, 1 << 20);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	struct qfile_msg m;
	assert_int_equal(qfile_parse(&m, b.data, b.len), 0);
	assert_true(m.warned > 0);
	assert_int_equal(m.attempts, 1);
	assert_true(m.retry_after > time(NULL));
	qfile_msg_free(&m);
	buf_free(&b);
}

static size_t queue_files(void)
{
	static const char *const dirs[] = {"incoming", "active", "deferred"};
	char cmd[800];
	size_t n = 0;

	for (size_t i = 0; i < 3; i++) {
		snprintf(cmd, sizeof(cmd), "ls -A %s/%s | wc -l", qdir,
			 dirs[i]);
		FILE *p = popen(cmd, "r");
		unsigned long k = 0;
		if (p && fscanf(p, "%lu", &k) == 1)
			n += k;
		if (p)
			pclose(p);
	}
	return n;
}

/* kill -9 in the middle of deliveries, then a restart: nothing is lost,
 * every message is delivered and removed, the queue ends empty. */
static void test_service_kill9_restart(void **state)
{
	const char *rcpt[] = {"one@sink.example", "two@sink.example"};
	char qid[QID_SIZE], c, v[800];
	int ready, st;
	pid_t pid, sink;
	unsigned port = free_port();

	(void)state;
	unlink(logpath);
	/* The earlier tests' deferred messages are not due for a while. */
	snprintf(v, sizeof(v), "rm -f %s/deferred/*", qdir);
	assert_int_equal(system(v), 0);
	/* The sink holds each DATA reply a second, so the kill lands while
	 * deliveries are in flight however fast this machine is. */
	sink = sink_start_opts(port, "-w", "1", NULL);
	snprintf(v, sizeof(v), "sink.example smtp:[127.0.0.1]:%u\n", port);
	test_write_file("transport", v);
	for (int i = 0; i < 60; i++)
		queue_msg(rcpt, 2, qid);
	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	assert_true(wait_log("status=sent", 10));
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	size_t before = count(slurp(logpath), ": removed");
	assert_true(before < 60);
	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	for (int i = 0; i < 600 && queue_files() > 0; i++)
		usleep(50000);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	kill(sink, SIGTERM);
	waitpid(sink, &st, 0);
	const char *log = slurp(logpath);
	assert_int_equal(queue_files(), 0);
	assert_int_equal(count(log, ": removed"), 60);
	assert_int_equal(count(log, "non-delivery"), 0);
	assert_null(strstr(log, "corrupt"));
}

/* dump_with - the smtp-sink dump file in dir holding needle (its text in
 * a static buffer), or NULL. */
static const char *dump_with(const char *dir, const char *needle)
{
	char cmd[800];
	FILE *p;
	static char path[700];

	snprintf(cmd, sizeof(cmd), "grep -l -r -F '%s' %s", needle, dir);
	p = popen(cmd, "r");
	if (p == NULL || fgets(path, sizeof(path), p) == NULL) {
		if (p)
			pclose(p);
		return NULL;
	}
	pclose(p);
	path[strcspn(path, "\n")] = 0;
	return slurp(path);
}

/* NOTIFY=SUCCESS: a next hop that announces DSN gets NOTIFY passed on
 * and owes the notice itself, so qmgr sends none; a next hop without DSN
 * (smtp-sink -N) makes qmgr send one, "Action: relayed", as Postfix. */
static void test_service_success_notice(void **state)
{
	const char *dsn[] = {"one@dsn.example"};
	const char *nodsn[] = {"one@nodsn.example"};
	char qid[QID_SIZE], qid2[QID_SIZE], c, v[800], dumpdir[400];
	const char *log, *dump;
	int ready, st;
	pid_t pid, sink, sinkn;
	unsigned port = free_port(), portn = free_port();

	(void)state;
	unlink(logpath);
	snprintf(v, sizeof(v), "rm -f %s/deferred/*", qdir);
	assert_int_equal(system(v), 0);
	/* smtp-sink writes its dumps as nobody. */
	chmod(test_tmpdir(), 0755);
	snprintf(dumpdir, sizeof(dumpdir), "%s/dump-success", test_tmpdir());
	mkdir(dumpdir, 0777);
	chmod(dumpdir, 0777);
	snprintf(v, sizeof(v), "%s/m.", dumpdir);
	sink = sink_start(port);
	sinkn = sink_start_opts(portn, "-N", "-d", v);
	snprintf(v, sizeof(v),
		 "dsn.example smtp:[127.0.0.1]:%u\n"
		 "nodsn.example smtp:[127.0.0.1]:%u\n"
		 "alice@example.org smtp:[127.0.0.1]:%u\n",
		 port, portn, portn);
	test_write_file("transport", v);
	rcpt_notify = QFILE_NOTIFY_SUCCESS;
	queue_msg(dsn, 1, qid);
	queue_msg(nodsn, 1, qid2);
	rcpt_notify = 0;
	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	/* Both messages and the one notice. */
	assert_true(wait_log(": removed", 3));
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	kill(sink, SIGTERM);
	waitpid(sink, &st, 0);
	kill(sinkn, SIGTERM);
	waitpid(sinkn, &st, 0);
	log = slurp(logpath);
	snprintf(v, sizeof(v),
		 "%s: sender delivery status notification: ", qid2);
	assert_non_null(strstr(log, v));
	snprintf(v, sizeof(v),
		 "%s: sender delivery status notification: ", qid);
	assert_null(strstr(log, v));
	assert_int_equal(count(log, "delivery status notification"), 1);
	assert_int_equal(count(log, "status=sent (250 "), 3);
	dump = dump_with(dumpdir, "Action: relayed");
	assert_non_null(dump);
	assert_non_null(strstr(dump, "X-Rcpt-Args: <alice@example.org>\n"));
	assert_non_null(strstr(dump, "Subject: Successful Mail Delivery "
				     "Report\n"));
	assert_non_null(strstr(dump, "Final-Recipient: rfc822; "
				     "one@nodsn.example\nAction: relayed\n"
				     "Status: 2.0.0\n"));
	assert_null(strstr(dump, "one@dsn.example"));
	test_write_file("transport", "");
}

/* fifo_send - a request to qmgr's FIFO. */
static void fifo_send(const char *req)
{
	char fifo[700];
	int fd;

	snprintf(fifo, sizeof(fifo), "%s/%s", qdir, LAYOUT_TRIGGER);
	fd = open(fifo, O_WRONLY | O_NONBLOCK);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	close(fd);
}

static void stop_qmgr(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* SIGTERM while a delivery waits for the server (smtp-sink -w 2 holds
 * the DATA reply): qmgr says so, lets the delivery finish within the
 * drain bound, records and removes the message, and exits 0. */
static void test_service_drain_on_sigterm(void **state)
{
	const char *rcpt[] = {"one@slow.example"};
	char qid[QID_SIZE], c, v[400];
	const char *log;
	int ready, st;
	pid_t pid, sink;
	unsigned port = free_port();

	(void)state;
	unlink(logpath);
	sink = sink_start_opts(port, "-w", "2", NULL);
	snprintf(v, sizeof(v), "slow.example smtp:[127.0.0.1]:%u\n", port);
	test_write_file("transport", v);
	queue_msg(rcpt, 1, qid);
	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	assert_true(wait_log("(queue active)", 1));
	usleep(300000); /* connected, waiting for the DATA reply */
	stop_qmgr(pid);
	kill(sink, SIGTERM);
	waitpid(sink, &st, 0);
	log = slurp(logpath);
	assert_non_null(strstr(log, "stopping: 1 deliveries in progress"));
	assert_non_null(strstr(log, "status=sent (250 "));
	assert_true(strstr(log, "stopping: ") < strstr(log, "status=sent"));
	snprintf(v, sizeof(v), "%s: removed", qid);
	assert_non_null(strstr(log, v));
	assert_false(file_in("active", qid));
	assert_false(file_in("deferred", qid));
	test_write_file("transport", "");
}

/* "S domain" (ETRN): only deferred messages with a recipient in that
 * domain are tried again at once. */
static void test_service_site_flush(void **state)
{
	const char *a[] = {"x@site.example"};
	const char *b[] = {"y@other.example"};
	char qa[QID_SIZE], qb[QID_SIZE], c, v[400];
	const char *log;
	int ready;
	pid_t pid;

	(void)state;
	unlink(logpath);
	snprintf(v, sizeof(v), "rm -f %s/deferred/*", qdir);
	assert_int_equal(system(v), 0);
	test_write_file("transport", "site.example smtp:[127.0.0.1]:1\n"
				     "other.example smtp:[127.0.0.1]:1\n");
	queue_msg(a, 1, qa);
	queue_msg(b, 1, qb);
	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	assert_true(wait_log("status=deferred", 2));
	for (int i = 0;
	     i < 600 && !(file_in("deferred", qa) && file_in("deferred", qb));
	     i++)
		usleep(50000);
	fifo_send("S site.example\n");
	assert_true(wait_log("status=deferred", 3));
	usleep(500000); /* nothing else may follow */
	stop_qmgr(pid);
	log = slurp(logpath);
	snprintf(v, sizeof(v), "%s: to=<x@site.example>", qa);
	assert_int_equal(count(log, v), 2);
	snprintf(v, sizeof(v), "%s: to=<y@other.example>", qb);
	assert_int_equal(count(log, v), 1);
	assert_true(file_in("deferred", qa));
	assert_true(file_in("deferred", qb));
	snprintf(v, sizeof(v), "rm -f %s/deferred/*", qdir);
	assert_int_equal(system(v), 0);
	test_write_file("transport", "");
}

/* A hold: route parks the message in hold/ with an H record; a restart
 * leaves it there, undelivered. */
static void test_service_hold(void **state)
{
	const char *rcpt[] = {"parked@example.net"};
	char qid[QID_SIZE], c, path[700], tmp[4096];
	struct qfile_msg m;
	struct buf b;
	int ready;
	size_t n;
	pid_t pid;
	FILE *f;

	(void)state;
	unlink(logpath);
	test_write_file("transport", "parked@example.net hold:\n");
	queue_msg(rcpt, 1, qid);
	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	for (int i = 0; i < 600 && !file_in("hold", qid); i++)
		usleep(50000);
	stop_qmgr(pid);
	assert_true(file_in("hold", qid));
	assert_false(file_in("active", qid));
	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	usleep(500000);
	stop_qmgr(pid);
	assert_true(file_in("hold", qid));
	assert_null(strstr(slurp(logpath), "to=<parked@example.net>"));
	snprintf(path, sizeof(path), "%s/hold/%s", qdir, qid);
	buf_init(&b, 1 << 20);
	f = fopen(path, "r");
	assert_non_null(f);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	assert_int_equal(qfile_parse(&m, b.data, b.len), 0);
	assert_int_equal(m.hold, 1);
	assert_int_equal(m.nrcpt_todo, 1);
	qfile_msg_free(&m);
	buf_free(&b);
	unlink(path);
	test_write_file("transport", "");
}

/* qmgr_message_active_limit = 2: five messages to a slow sink, never
 * more than two in active/ at once (the third is taken in only after
 * one is removed); all five are delivered. */
static void test_service_active_limit(void **state)
{
	const char *rcpt[] = {"one@slow.example"};
	char qid[QID_SIZE], c, v[400];
	const char *log, *third, *first_removed;
	int ready, st;
	pid_t pid, sink;
	unsigned port = free_port();

	(void)state;
	unlink(logpath);
	sink = sink_start_opts(port, "-w", "1", NULL);
	snprintf(v, sizeof(v), "slow.example smtp:[127.0.0.1]:%u\n", port);
	test_write_file("transport", v);
	for (int i = 0; i < 5; i++)
		queue_msg(rcpt, 1, qid);
	conf_set("qmgr_message_active_limit", "2");
	pid = start_qmgr(&ready);
	assert_int_equal(read(ready, &c, 1), 1);
	close(ready);
	assert_true(wait_log(": removed", 5));
	stop_qmgr(pid);
	conf_set("qmgr_message_active_limit", "20000");
	kill(sink, SIGTERM);
	waitpid(sink, &st, 0);
	log = slurp(logpath);
	assert_int_equal(count(log, "(queue active)"), 5);
	assert_int_equal(count(log, "status=sent (250 "), 5);
	third = strstr(log, "(queue active)");
	for (int i = 0; i < 2 && third; i++)
		third = strstr(third + 1, "(queue active)");
	first_removed = strstr(log, ": removed");
	assert_non_null(third);
	assert_non_null(first_removed);
	assert_true(third > first_removed);
	assert_int_equal(queue_files(), 0);
	test_write_file("transport", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_expired_and_notify),
		cmocka_unit_test(test_pickup_names),
		cmocka_unit_test(test_service_error_discard_bounce),
		cmocka_unit_test(test_service_pickup),
		cmocka_unit_test(test_service_defer_flush_expire),
		cmocka_unit_test(test_service_double_bounce),
		cmocka_unit_test(test_service_smtp_sink),
		cmocka_unit_test(test_service_torn_and_delay_warning),
		cmocka_unit_test(test_service_kill9_restart),
		cmocka_unit_test(test_service_success_notice),
		cmocka_unit_test(test_service_drain_on_sigterm),
		cmocka_unit_test(test_service_site_flush),
		cmocka_unit_test(test_service_hold),
		cmocka_unit_test(test_service_active_limit),
	};
	int rc = cmocka_run_group_tests(tests, setup, NULL);
	test_cleanup_tmpdir();
	return rc;
}
