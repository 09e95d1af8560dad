/* deliver - the delivery log line every agent writes, in Postfix's format
 * (log_adhoc.c: delay=, delays=a/b/c/d with format_tv's rounding). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/str.h"
#include "deliver/deliver.h"

#define DELAY_SIG_DIGITS 2 /* Postfix: two significant digits */
#define DELAY_MAX_DIGITS 2 /* delay_logging_resolution_limit default */
#define MILLION          1000000L

double deliver_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void deliver_format_delay(struct buf *out, double seconds)
{
	static const long pow10[] = {1, 10, 100, 1000, 10000, 100000, MILLION};
	long sec, usec, ures, wid, n, rem;

	if (!(seconds > 0))
		seconds = 0;
	sec = (long)seconds; /* not negative: truncation is floor */
	usec = (long)((seconds - (double)sec) * 1e6 + 0.5);
	if (usec >= MILLION) {
		sec++;
		usec -= MILLION;
	}
	ures = MILLION / pow10[DELAY_MAX_DIGITS];
	wid = pow10[DELAY_SIG_DIGITS];
	/* Fewer decimals for larger values: only sig digits count. */
	if (sec > 0) {
		for (n = 1; sec >= n && n <= wid / 10; n *= 10)
			;
		ures = (MILLION / wid) * n;
	} else {
		while (usec >= wid * ures)
			ures *= 10;
	}
	if (ures > 1) {
		usec += ures / 2;
		if (usec >= MILLION) {
			sec++;
			usec -= MILLION;
		}
	}
	buf_printf(out, "%ld", sec);
	if (usec >= ures) {
		buf_putc(out, '.');
		for (rem = usec, n = MILLION / 10; rem >= ures && n > 0;
		     n /= 10) {
			buf_putc(out, "0123456789"[rem / n]);
			rem %= n;
		}
	}
}

static const char *status_word(enum deliver_status st)
{
	switch (st) {
	case DELIVER_SENT:
		return "sent";
	case DELIVER_BOUNCE:
		return "bounced";
	case DELIVER_DEFER:
		break;
	}
	return "deferred";
}

void deliver_log(const struct deliver_job *job, size_t i, const char *relay,
		 double start, double ready, enum deliver_status st,
		 const char *dsn, const char *text)
{
	deliver_log_as(job, i, NULL, relay, start, ready, st, dsn, text);
}

void deliver_log_as(const struct deliver_job *job, size_t i, const char *to,
		    const char *relay, double start, double ready,
		    enum deliver_status st, const char *dsn, const char *text)
{
	const struct qfile_rcpt *r = &job->msg->rcpt[job->rcpt[i]];
	double now = deliver_now(), arrival;
	char prev[64];
	struct buf line;

	arrival = (double)job->msg->arrival_sec +
		  (double)job->msg->arrival_usec / 1e6;
	buf_init(&line, BUF_MAX_DEFAULT);
	buf_printf(&line, "%s: to=<", job->qid);
	if (to && (strlen(to) != r->addr.len ||
		   str_ncasecmp(to, r->addr.p, r->addr.len) != 0)) {
		log_escape(&line, to, strlen(to));
		buf_puts(&line, ">, orig_to=<");
	}
	log_escape(&line, r->addr.p, r->addr.len);
	buf_printf(&line, ">, relay=%s, delay=", relay);
	deliver_format_delay(&line, now - arrival);
	buf_puts(&line, ", delays=");
	deliver_format_delay(&line, job->active_at - arrival);
	buf_putc(&line, '/');
	deliver_format_delay(&line, start - job->active_at);
	buf_putc(&line, '/');
	deliver_format_delay(&line, (ready > 0 ? ready : now) - start);
	buf_putc(&line, '/');
	deliver_format_delay(&line, ready > 0 ? now - ready : 0);
	buf_printf(&line, ", dsn=%s, status=%s (", dsn, status_word(st));
	log_escape(&line, text, strlen(text));
	buf_putc(&line, ')');

	snprintf(prev, sizeof(prev), "%s", log_program());
	log_set_program(job->route.tp ? job->route.tp->name : prev);
	msg_info("%s", buf_str(&line));
	log_set_program(prev);
	buf_free(&line);
}
