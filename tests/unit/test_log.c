/* test_log - Postfix-format log lines, destinations, escaping, fatal hook. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <sys/wait.h>
#include <time.h>

/* Put the logger back to a known state before each test. */
static int setup(void **state)
{
	(void)state;
	log_set_sink(NULL, NULL);
	log_set_fatal_hook(NULL);
	log_set_file(NULL);
	log_open("test", 0);
	msg_verbose = 0;
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 65536);
	size_t n;

	assert_non_null(f);
	assert_non_null(text);
	n = fread(text, 1, 65535, f);
	text[n] = 0;
	fclose(f);
	return text;
}

/* The next newline-terminated line, NUL-terminated in place. */
static char *next_line(char **cursor)
{
	char *line = *cursor;
	char *nl = strchr(line, '\n');

	if (*line == 0)
		return NULL;
	assert_non_null(nl);
	*nl = 0;
	*cursor = nl + 1;
	return line;
}

static void match_line(const char *line, const char *pattern)
{
	regex_t re;
	int r;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	r = regexec(&re, line, 0, NULL, 0);
	regfree(&re);
	if (r != 0)
		fail_msg("line \"%s\" does not match /%s/", line, pattern);
}

/* match_line() with the pattern built by printf. */
static void match_linef(const char *line, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void match_linef(const char *line, const char *fmt, ...)
{
	char pattern[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pattern, sizeof(pattern), fmt, ap);
	va_end(ap);
	match_line(line, pattern);
}

#define STAMP                                                                  \
	"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "                  \
	"[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] "

static void test_file_format(void **state)
{
	const char *path = test_write_file("maillog", "");
	char today[16];
	char *text, *line, *cursor;
	time_t now = time(NULL);
	struct tm tm;

	(void)state;
	log_open("smtpd", 0);
	log_set_hostname("mx1.example.com");
	assert_int_equal(log_set_file(path), 0);
	msg_info("connect from %s[%s]", "client.example", "192.0.2.1");
	msg_warn("hostname %s does not resolve", "x");
	msg_error("queue file %d", 7);
	log_set_file(NULL);
	msg_info("after close"); /* goes nowhere */

	text = slurp(path);
	cursor = text;
	line = next_line(&cursor);
	match_linef(line,
		    STAMP "mx1 mailgw/smtpd\\[%ld\\]: "
			  "connect from client\\.example\\[192\\.0\\.2\\.1\\]$",
		    (long)getpid());
	/* Zero-padded day of today (or of a second later, at midnight). */
	localtime_r(&now, &tm);
	strftime(today, sizeof(today), "%b %d", &tm);
	if (strncmp(line, today, strlen(today)) != 0) {
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(today, sizeof(today), "%b %d", &tm);
		assert_memory_equal(line, today, strlen(today));
	}
	match_linef(next_line(&cursor),
		    STAMP "mx1 mailgw/smtpd\\[%ld\\]: warning: hostname x "
			  "does not resolve$",
		    (long)getpid());
	match_line(next_line(&cursor),
		   STAMP "mx1 mailgw/smtpd\\[[0-9]+\\]: error: "
			 "queue file 7$");
	assert_null(next_line(&cursor));
	free(text);
}

/* The pid in file lines is cached: a forked child (master forks its
 * children without exec) must log its own pid, not its parent's. */
static void test_pid_after_fork(void **state)
{
	const char *path = test_write_file("maillog-fork", "");
	char *text, *cursor;
	pid_t child;
	int status;

	(void)state;
	log_open("master", 0);
	log_set_hostname("mx1.example.com");
	assert_int_equal(log_set_file(path), 0);
	msg_info("parent before");
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		msg_info("child");
		_exit(0);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	msg_info("parent after");
	log_set_file(NULL);

	text = slurp(path);
	cursor = text;
	match_linef(next_line(&cursor),
		    STAMP "mx1 mailgw/master\\[%ld\\]: parent before$",
		    (long)getpid());
	match_linef(next_line(&cursor),
		    STAMP "mx1 mailgw/master\\[%ld\\]: child$", (long)child);
	match_linef(next_line(&cursor),
		    STAMP "mx1 mailgw/master\\[%ld\\]: parent after$",
		    (long)getpid());
	assert_null(next_line(&cursor));
	free(text);
}

static jmp_buf fatal_env;
static int fatal_calls;

static void fatal_hook(void)
{
	fatal_calls++;
	longjmp(fatal_env, 1);
}

static void test_fatal_hook(void **state)
{
	const char *path = test_write_file("fatal.log", "");
	char *text, *cursor;

	(void)state;
	fatal_calls = 0;
	log_open("master", 0);
	log_set_hostname("gw");
	assert_int_equal(log_set_file(path), 0);
	log_set_fatal_hook(fatal_hook);
	if (setjmp(fatal_env) == 0) {
		msg_fatal("open %s: %s", "/etc/mailgw/main.cf", "denied");
		fail_msg("msg_fatal returned");
	}
	assert_int_equal(fatal_calls, 1);
	log_set_file(NULL);
	text = slurp(path);
	cursor = text;
	match_line(next_line(&cursor),
		   STAMP "gw mailgw/master\\[[0-9]+\\]: fatal: open "
			 "/etc/mailgw/main\\.cf: denied$");
	free(text);
}

static void test_sink_and_levels(void **state)
{
	(void)state;
	test_log_capture();
	msg_info("plain");
	msg_warn("careful");
	msg_error("wrong");
	msg_debug("hidden %d", 1);
	msg_verbose = 1;
	msg_debug("shown %d", 2);
	msg_verbose = 0;
	assert_string_equal(buf_str(&test_log_lines),
			    "plain\nwarning: careful\nerror: wrong\nshown 2\n");
	log_set_sink(NULL, NULL);
}

static void test_errno_kept(void **state)
{
	(void)state;
	test_log_capture();
	errno = ENOENT;
	msg_warn("open x: %m");
	assert_int_equal(errno, ENOENT);
	assert_string_equal(buf_str(&test_log_lines),
			    "warning: open x: No such file or directory\n");
	log_set_sink(NULL, NULL);
}

static void test_stderr_dest(void **state)
{
	const char *path = test_write_file("stderr.txt", "");
	int saved = dup(STDERR_FILENO);
	int fd = open(path, O_WRONLY | O_TRUNC);
	char *text;

	(void)state;
	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	log_open("postconf", LOG_DEST_STDERR);
	msg_warn("%s: unknown parameter", "foo");
	msg_info("done");
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	text = slurp(path);
	assert_string_equal(text, "postconf: warning: foo: unknown parameter\n"
				  "postconf: done\n");
	free(text);
	assert_string_equal(log_program(), "postconf");
}

static void test_set_file_errors(void **state)
{
	(void)state;
	assert_int_equal(log_set_file("/nonexistent-dir/maillog"), -ENOENT);
	/* /dev/stdout is the process's own descriptor, never closed. */
	assert_int_equal(log_set_file("/dev/stdout"), 0);
	assert_int_equal(log_set_file(""), 0);
	assert_true(fcntl(STDOUT_FILENO, F_GETFD) >= 0);
	assert_int_equal(log_set_file("/dev/stderr"), 0);
	assert_int_equal(log_set_file(NULL), 0);
	assert_true(fcntl(STDERR_FILENO, F_GETFD) >= 0);
}

static void test_long_line(void **state)
{
	const char *path = test_write_file("long.log", "");
	char *big = malloc(10001);
	char *text;
	size_t n;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 10000);
	big[10000] = 0;
	log_set_hostname("h");
	assert_int_equal(log_set_file(path), 0);
	msg_info("%s", big);
	msg_info("next");
	log_set_file(NULL);
	text = slurp(path);
	/* Truncated, but still one whole line, and the next one intact. */
	n = strcspn(text, "\n");
	assert_true(n < 4096 + 512);
	assert_true(n > 4000);
	assert_int_equal(text[n], '\n');
	match_line(text + n + 1, STAMP "h mailgw/test\\[[0-9]+\\]: next\n$");
	free(text);
	free(big);
}

static void test_escape(void **state)
{
	static const char in[] = "a\nb\\c\001\177\377 ok\r";
	struct buf b;

	(void)state;
	buf_init(&b, 256);
	log_escape(&b, in, sizeof(in) - 1);
	assert_string_equal(buf_str(&b), "a\\012b\\\\c\\001\\177\\377 ok\\015");
	/* Embedded NUL counts as a byte; only n bytes are read. */
	buf_reset(&b);
	log_escape(&b, "x\0y", 3);
	assert_string_equal(buf_str(&b), "x\\000y");
	buf_reset(&b);
	log_escape(&b, "abc", 1);
	assert_string_equal(buf_str(&b), "a");
	/* The escaped text cannot break a log line. */
	buf_reset(&b);
	log_escape(&b, "RCPT\r\nfake: line", 16);
	assert_null(strchr(buf_str(&b), '\n'));
	assert_null(strchr(buf_str(&b), '\r'));
	/* A header value: unfolded, trimmed, escaped. */
	static const struct {
		const char *in, *out;
	} hv[] = {
		{" <a@b.example> ", "<a@b.example>"},
		{"\r\n <a@b.example>\r\n", "<a@b.example>"},
		{"\t<a\001b@c>\r\n\t(x\033[2J)", "<a\\001b@c>\\011(x\\033[2J)"},
		{" <a@b>\r\n fake: line", "<a@b> fake: line"},
		{"", ""},
		{" \r\n ", ""},
	};
	for (size_t i = 0; i < sizeof(hv) / sizeof(hv[0]); i++) {
		buf_reset(&b);
		log_escape_header(&b, hv[i].in, strlen(hv[i].in));
		assert_string_equal(buf_str(&b), hv[i].out);
	}
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_file_format, setup),
		cmocka_unit_test_setup(test_pid_after_fork, setup),
		cmocka_unit_test_setup(test_fatal_hook, setup),
		cmocka_unit_test_setup(test_sink_and_levels, setup),
		cmocka_unit_test_setup(test_errno_kept, setup),
		cmocka_unit_test_setup(test_stderr_dest, setup),
		cmocka_unit_test_setup(test_set_file_errors, setup),
		cmocka_unit_test_setup(test_long_line, setup),
		cmocka_unit_test_setup(test_escape, setup),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);

	buf_free(&test_log_lines);
	test_cleanup_tmpdir();
	return r;
}
