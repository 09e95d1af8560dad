/* log - logging in Postfix's line format.
 *
 * Lines look like Postfix's: "Mon DD HH:MM:SS host mailgw/PROGRAM[PID]: text",
 * with "warning: ", "fatal: " or "panic: " before the text for those
 * severities, so pflogsumm and fail2ban filters read them. Destinations:
 *   - syslog (/dev/log, facility mail): the default for daemons;
 *   - a file (maillog_file), appended one whole line per write(2);
 *     "/dev/stdout" and "/dev/stderr" mean the process's own descriptors;
 *   - stderr as "PROGRAM: warning: text": the default for command-line tools,
 *     as Postfix's commands print.
 * Any combination may be active. msg_fatal() exits with status 1 (after the
 * fatal hook, if any); msg_panic() aborts. Untrusted text must go through
 * log_escape() first (STYLE.md rule 19). */
#ifndef MAILGW_CORE_LOG_H
#define MAILGW_CORE_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "buf.h"

#define LOG_DEST_STDERR 1
#define LOG_DEST_SYSLOG 2

extern int msg_verbose;

/* program is the name after "mailgw/" (postconf, smtpd, master...). */
void log_open(const char *program, int dests);
/* Add a file destination; NULL or "" removes it. Returns 0 or -errno. */
int log_set_file(const char *path);
/* Set the host name shown in file lines (default: uname nodename). */
void log_set_hostname(const char *host);
const char *log_program(void);
/* This process's pid, asked of the kernel once per fork. */
long log_pid(void);
/* Change the name after "mailgw/" for the lines that follow. A process
 * that does several Postfix roles (the qmgr process also logs as "smtp"
 * and "bounce") switches before each line group, so that pflogsumm and
 * fail2ban see the role Postfix would log under. */
void log_set_program(const char *program);

void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void msg_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
_Noreturn void msg_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* msg_debug: only when msg_verbose > 0 (-v on the command line). */
#define msg_debug(...)                                                       \
	do {                                                                 \
		if (msg_verbose)                                             \
			msg_info(__VA_ARGS__);                               \
	} while (0)

/* Append s[0..n) to out with control and non-ASCII bytes escaped as \ooo
 * (and backslash as \\), so untrusted text cannot forge log lines. */
void log_escape(struct buf *out, const char *s, size_t n);
/* log_escape_header - a header field's value v[0..n) for a log line, as
 * cleanup logs "message-id=VALUE": unfolded (the CR and LF of folded
 * lines dropped, RFC 5322 2.2.3), blanks around it trimmed, the rest
 * through log_escape(). */
void log_escape_header(struct buf *out, const char *v, size_t n);

/* Test hooks. The sink receives every formatted line (severity prefix
 * included, no timestamp) instead of the destinations when set. The fatal
 * hook runs before exit(1) in msg_fatal(); it may longjmp. */
void log_set_sink(void (*fn)(const char *line, void *arg), void *arg);
void log_set_fatal_hook(void (*fn)(void));

#endif
