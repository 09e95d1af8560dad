/* test_trigger - the qmgr request FIFO: sending through a real FIFO and
 * parsing what arrives, whole lines only. */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "queue/layout.h"
#include "queue/trigger.h"

struct got {
	enum trigger_req req[16];
	char arg[16][TRIGGER_MAX + 1];
	size_t n;
};

static void collect(enum trigger_req req, const char *arg, void *ctx)
{
	struct got *g = ctx;

	assert_true(g->n < 16);
	g->req[g->n] = req;
	snprintf(g->arg[g->n], sizeof(g->arg[0]), "%s", arg ? arg : "");
	g->n++;
}

static void test_parse(void **state)
{
	static const char in[] = "I\nM\nF\nR\nS example.com\nS \nS a b\nX\n"
				 "II\n\nI";
	struct got g = {0};
	size_t used;

	(void)state;
	used = trigger_parse(in, sizeof(in) - 1, collect, &g);
	/* The last "I" has no newline yet: kept for the next read. */
	assert_int_equal(used, sizeof(in) - 2);
	assert_int_equal(g.n, 10);
	assert_int_equal(g.req[0], TRIGGER_INCOMING);
	assert_int_equal(g.req[1], TRIGGER_MAILDROP);
	assert_int_equal(g.req[2], TRIGGER_FLUSH);
	assert_int_equal(g.req[3], TRIGGER_RESCAN);
	assert_int_equal(g.req[4], TRIGGER_SITE);
	assert_string_equal(g.arg[4], "example.com");
	for (size_t i = 5; i < 10; i++) /* empty site, space, unknown... */
		assert_int_equal(g.req[i], TRIGGER_NONE);
}

static void test_parse_long_line(void **state)
{
	char in[3 * TRIGGER_MAX];
	struct got g = {0};

	(void)state;
	/* A terminated overlong line is skipped whole; the next one counts. */
	memset(in, 'S', TRIGGER_MAX + 1);
	in[TRIGGER_MAX + 1] = '\n';
	memcpy(in + TRIGGER_MAX + 2, "F\n", 2);
	assert_int_equal(trigger_parse(in, TRIGGER_MAX + 4, collect, &g),
			 TRIGGER_MAX + 4);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.req[0], TRIGGER_FLUSH);
	/* An unterminated one longer than any request is dropped. */
	g.n = 0;
	memset(in, 'x', sizeof(in));
	assert_int_equal(trigger_parse(in, sizeof(in), collect, &g),
			 sizeof(in));
	assert_int_equal(g.n, 0);
}

static void test_send(void **state)
{
	char dir[256], path[300], rd[64];
	struct got g = {0};
	ssize_t n;
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/q", test_tmpdir());
	assert_int_equal(mkdir(dir, 0755), 0);
	/* No FIFO at all: the error says so, nothing blocks. */
	assert_int_equal(trigger_send(dir, "I"), -ENOENT);
	snprintf(path, sizeof(path), "%s/public", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, LAYOUT_TRIGGER);
	assert_int_equal(mkfifo(path, 0622), 0);
	/* A FIFO nobody reads: mailgw is not running. */
	assert_int_equal(trigger_send(dir, "I"), -ENXIO);

	fd = open(path, O_RDWR | O_NONBLOCK);
	assert_true(fd >= 0);
	assert_int_equal(trigger_send(dir, "I"), 0);
	assert_int_equal(trigger_send(dir, "S example.org"), 0);
	assert_int_equal(trigger_send(dir, ""), -EINVAL);
	assert_int_equal(trigger_send(dir, "I\nF"), -EINVAL);
	n = read(fd, rd, sizeof(rd));
	assert_int_equal(n, 16);
	assert_int_equal(trigger_parse(rd, (size_t)n, collect, &g), 16);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.req[0], TRIGGER_INCOMING);
	assert_int_equal(g.req[1], TRIGGER_SITE);
	assert_string_equal(g.arg[1], "example.org");
	close(fd);
}

/* A sender that keeps the FIFO open (smtpd's queue writer): requests
 * arrive whole; when the reader goes away the write says EPIPE, and a new
 * open reaches the reader that replaced it. */
static void test_open_write(void **state)
{
	char dir[256], path[300], rd[64];
	struct got g = {0};
	ssize_t n;
	int rfd, wfd;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/q2", test_tmpdir());
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/public", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, LAYOUT_TRIGGER);
	assert_int_equal(mkfifo(path, 0622), 0);
	assert_int_equal(trigger_open(dir), -ENXIO);

	rfd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	wfd = trigger_open(dir);
	assert_true(wfd >= 0);
	assert_int_equal(trigger_write(wfd, "I"), 0);
	assert_int_equal(trigger_write(wfd, "I"), 0);
	assert_int_equal(trigger_write(wfd, "a\nb"), -EINVAL);
	n = read(rfd, rd, sizeof(rd));
	assert_int_equal(n, 4);
	assert_int_equal(trigger_parse(rd, (size_t)n, collect, &g), 4);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.req[1], TRIGGER_INCOMING);

	/* qmgr exits and another one opens the FIFO. */
	close(rfd);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(trigger_write(wfd, "I"), -EPIPE);
	close(wfd);
	rfd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	wfd = trigger_open(dir);
	assert_true(wfd >= 0);
	assert_int_equal(trigger_write(wfd, "R"), 0);
	n = read(rfd, rd, sizeof(rd));
	assert_int_equal(n, 2);
	close(wfd);
	close(rfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_long_line),
		cmocka_unit_test(test_send),
		cmocka_unit_test(test_open_write),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	test_cleanup_tmpdir();
	return rc;
}
