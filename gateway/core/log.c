/* log - Postfix-format log lines to syslog, a file, stdout or stderr. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

int msg_verbose;

static char program[64] = "mailgw";
static char hostname[256];
static int dests = LOG_DEST_STDERR;
static int file_fd = -1;
static int file_owned;
static void (*sink)(const char *, void *);
static void *sink_arg;
static void (*fatal_hook)(void);

#define LOG_LINE_MAX 4096

/* A mail log line costs a getpid() and a localtime_r()+strftime() (musl
 * reads TZ each time) per line: 5 of smtpd's ~40 system calls per message
 * were getpid(). The pid is kept until a fork (pthread_atfork resets it
 * in the child); the time stamp is formatted once per second and thread
 * (helper threads may log too). */
static long cached_pid;
static int atfork_set;
static _Thread_local struct {
	time_t sec;
	char text[32];
} stamp_cache = {-1, ""};

static void pid_forget(void)
{
	cached_pid = 0;
}

long log_pid(void)
{
	if (cached_pid == 0) {
		if (!atfork_set && pthread_atfork(NULL, NULL, pid_forget) == 0)
			atfork_set = 1;
		/* Without the hook, ask every time. */
		if (!atfork_set)
			return (long)getpid();
		cached_pid = (long)getpid();
	}
	return cached_pid;
}

static const char *log_stamp(void)
{
	time_t now = time(NULL);
	struct tm tm;

	if (now != stamp_cache.sec) {
		localtime_r(&now, &tm);
		strftime(stamp_cache.text, sizeof(stamp_cache.text),
			 "%b %d %H:%M:%S", &tm);
		stamp_cache.sec = now;
	}
	return stamp_cache.text;
}

void log_open(const char *prog, int d)
{
	snprintf(program, sizeof(program), "%s", prog);
	dests = d;
	if (dests & LOG_DEST_SYSLOG) {
		static char ident[80];

		snprintf(ident, sizeof(ident), "mailgw/%s", program);
		closelog();
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

const char *log_program(void) { return program; }

void log_set_program(const char *prog)
{
	if (strcmp(prog, program) == 0)
		return;
	snprintf(program, sizeof(program), "%s", prog);
	if (dests & LOG_DEST_SYSLOG) {
		static char ident[80];

		snprintf(ident, sizeof(ident), "mailgw/%s", program);
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

void log_set_hostname(const char *host)
{
	snprintf(hostname, sizeof(hostname), "%s", host);
}

int log_set_file(const char *path)
{
	int fd;

	if (file_fd >= 0 && file_owned)
		close(file_fd);
	file_fd = -1;
	file_owned = 0;
	if (path == NULL || *path == 0)
		return 0;
	if (strcmp(path, "/dev/stdout") == 0) {
		file_fd = STDOUT_FILENO;
		return 0;
	}
	if (strcmp(path, "/dev/stderr") == 0) {
		file_fd = STDERR_FILENO;
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	file_fd = fd;
	file_owned = 1;
	return 0;
}

void log_set_sink(void (*fn)(const char *, void *), void *arg)
{
	sink = fn;
	sink_arg = arg;
}

void log_set_fatal_hook(void (*fn)(void)) { fatal_hook = fn; }

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void vlog(int prio, const char *level, const char *fmt, va_list ap)
{
	char text[LOG_LINE_MAX];
	char line[LOG_LINE_MAX + 512];
	int saved = errno;
	int n;

	n = snprintf(text, sizeof(text), "%s", level);
	if (n < 0)
		n = 0;
	vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);

	if (sink) {
		sink(text, sink_arg);
		errno = saved;
		return;
	}
	if (dests & LOG_DEST_SYSLOG)
		syslog(prio, "%s", text);
	if (file_fd >= 0) {
		if (hostname[0] == 0) {
			struct utsname u;

			log_set_hostname(uname(&u) == 0 ? u.nodename : "localhost");
		}
		/* As Postfix's maillog_file (msg_logger.c): zero-padded day,
		 * first label of the host name. */
		n = snprintf(line, sizeof(line), "%s %.*s mailgw/%s[%ld]: %s\n",
			     log_stamp(), (int)strcspn(hostname, "."), hostname,
			     program, log_pid(), text);
		if (n > 0)
			write_all(file_fd, line,
				  (size_t)n < sizeof(line) ? (size_t)n
							   : sizeof(line) - 1);
	}
	if ((dests & LOG_DEST_STDERR) && file_fd != STDERR_FILENO) {
		n = snprintf(line, sizeof(line), "%s: %s\n", program, text);
		if (n > 0)
			write_all(STDERR_FILENO, line,
				  (size_t)n < sizeof(line) ? (size_t)n
							   : sizeof(line) - 1);
	}
	errno = saved;
}

void msg_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void msg_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}

void msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal: ", fmt, ap);
	va_end(ap);
	if (fatal_hook)
		fatal_hook();
	exit(1);
}

void msg_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "panic: ", fmt, ap);
	va_end(ap);
	abort();
}

void log_escape_header(struct buf *out, const char *v, size_t n)
{
	size_t i = 0, start;

	/* Leading blanks and line ends (a value that starts on the next
	 * line), then the same at the end. */
	while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' ||
			 v[i] == '\n'))
		i++;
	while (n > i && (v[n - 1] == ' ' || v[n - 1] == '\t' ||
			 v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	for (start = i; i < n; i++)
		if (v[i] == '\r' || v[i] == '\n') {
			log_escape(out, v + start, i - start);
			start = i + 1;
		}
	log_escape(out, v + start, n - start);
}

void log_escape(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\')
			buf_append(out, "\\\\", 2);
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(out, "\\%03o", c);
		else
			buf_putc(out, c);
	}
}
