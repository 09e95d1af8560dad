/* smtp_data - the message content of DATA and BDAT, as a push parser.
 *
 * Standards: RFC 5321 2.3.8 (CRLF only), 4.1.1.4 (DATA and its end),
 * 4.5.2 (transparency), 4.5.3.1.6 (text line length); RFC 3030 (BDAT);
 * Postfix 3.9 smtpd_forbid_bare_newline for bare LF, and Postfix's
 * smtp_get() for CRs before a line end.
 *
 * The state machine works a byte class at a time but copies plain runs
 * whole. Three states: at the beginning of a line, after a "." that began
 * a line (not yet known to be the terminator, a stuffed dot or a lone
 * dot), and inside a line. CRs are held back as a count until the next
 * byte says whether they end the line or are data, so the parser needs no
 * line buffer and any split of the input gives the same output.
 *
 * Trust: every byte is the client's; counters are 64-bit and the only
 * buffer is the fixed staging area. */
#include "smtp_data.h"

#include <string.h>

enum { ST_BOL = 0, ST_DOT, ST_MID };

static void set_err(struct smtp_data *d, int err)
{
	if (d->err == 0)
		d->err = err;
}

static void flush_out(struct smtp_data *d)
{
	int r;

	if (d->out_len == 0)
		return;
	if (d->err == 0) {
		r = d->sink(d->sink_arg, d->out, d->out_len);
		if (r != 0) {
			d->sink_err = r;
			set_err(d, SMTP_DATA_ERR_SINK);
		}
	}
	d->out_len = 0;
}

/* Content bytes: counted always, passed on while there is no error. */
static void emit(struct smtp_data *d, const char *p, size_t n)
{
	d->size += n;
	if (d->size_limit != 0 && d->size > d->size_limit)
		set_err(d, SMTP_DATA_ERR_SIZE);
	if (d->err != 0)
		return;
	if (d->out_len + n > sizeof(d->out)) {
		flush_out(d);
		if (d->err != 0)
			return;
	}
	if (n > sizeof(d->out)) {
		int r = d->sink(d->sink_arg, p, n);

		if (r != 0) {
			d->sink_err = r;
			set_err(d, SMTP_DATA_ERR_SINK);
		}
		return;
	}
	memcpy(d->out + d->out_len, p, n);
	d->out_len += n;
}

/* Held CRs turned out to be data. */
static void emit_crs(struct smtp_data *d, uint64_t count)
{
	static const char crs[] = "\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r";

	d->bare_cr += count;
	d->line_out += count;
	while (count > 0) {
		size_t k = count > sizeof(crs) - 1 ? sizeof(crs) - 1
						   : (size_t)count;

		emit(d, crs, k);
		count -= k;
	}
}

static void init_common(struct smtp_data *d, const struct smtp_data_opts *o,
			smtp_data_sink_fn sink, void *arg, int bdat)
{
	memset(d, 0, sizeof(*d));
	d->bare = o->bare;
	d->size_limit = o->size_limit;
	d->line_limit =
		smtp_limit(o->line_limit, SMTP_DATA_LINE_MAX,
			   SMTP_DATA_LINE_MAX_MIN, SMTP_DATA_LINE_MAX_MAX);
	d->sink = sink;
	d->sink_arg = arg;
	d->bdat = bdat;
	d->state = ST_BOL;
	d->prev_crlf = 1; /* the CRLF of the DATA command */
	d->header_end = SMTP_DATA_NO_BODY;
}

void smtp_data_init(struct smtp_data *d, const struct smtp_data_opts *o,
		    smtp_data_sink_fn sink, void *arg)
{
	init_common(d, o, sink, arg, 0);
}

void smtp_data_init_bdat(struct smtp_data *d, const struct smtp_data_opts *o,
			 smtp_data_sink_fn sink, void *arg)
{
	init_common(d, o, sink, arg, 1);
}

/* Bookkeeping at the end of a line; crlf tells how it ended. */
static void line_done(struct smtp_data *d, int crlf)
{
	uint64_t len = d->line_len;

	if (crlf)
		len--; /* the CR of the CRLF */
	if (d->line_out == 0 && d->header_end == SMTP_DATA_NO_BODY)
		d->header_end = d->size;
	d->lines++;
	if (len > d->max_line)
		d->max_line = len;
	if (len > d->line_limit)
		d->long_lines++;
	emit(d, "\r\n", 2);
	d->prev_crlf = crlf;
	d->state = ST_BOL;
	d->pending_cr = 0;
	d->line_len = 0;
	d->line_out = 0;
}

/* An LF in ST_MID or ST_DOT that is not the terminator: a line end, or
 * (bare, SMTP_BARE_NO) data. */
static void on_lf(struct smtp_data *d)
{
	int crlf = d->pending_cr > 0;

	if (!crlf) {
		d->bare_lf++;
		if (d->bare == SMTP_BARE_NO) {
			/* data: a "." before it was a stuffed dot */
			d->line_len++;
			d->line_out++;
			d->state = ST_MID;
			emit(d, "\n", 1);
			return;
		}
		if (d->bare == SMTP_BARE_REJECT)
			set_err(d, SMTP_DATA_ERR_BARE_LF);
	}
	if (d->state == ST_DOT) {
		if (d->bare == SMTP_BARE_NO) {
			/* ".\r...\r\n": a stuffed dot before data CRs */
			emit_crs(d, d->pending_cr - 1);
		} else {
			/* a lone "." that is not the end: kept */
			d->line_out++;
			emit(d, ".", 1);
		}
	} else if (d->bare == SMTP_BARE_NO && crlf) {
		emit_crs(d, d->pending_cr - 1);
	}
	line_done(d, crlf);
}

/* Consume p[0..n) up to the terminator; returns the bytes used and sets
 * d->done when the terminator was among them. */
static size_t run(struct smtp_data *d, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		int c = (unsigned char)p[i];

		if (d->state == ST_BOL) {
			if (c == '.' && !d->bdat) {
				d->state = ST_DOT;
				d->line_len++;
				i++;
				continue;
			}
			d->state = ST_MID;
		}
		if (d->state == ST_DOT) {
			if (c == '\n' && d->pending_cr == 1 && d->prev_crlf) {
				d->done = 1;
				return i + 1;
			}
			if (c != '\r' && c != '\n')
				d->state = ST_MID; /* stuffed: drop the dot */
		}
		if (c == '\r') {
			d->pending_cr++;
			d->line_len++;
			i++;
		} else if (c == '\n') {
			on_lf(d);
			i++;
		} else {
			size_t j = i;

			if (d->pending_cr > 0) {
				emit_crs(d, d->pending_cr);
				d->pending_cr = 0;
			}
			/* The next CR or LF: two word-at-a-time scans instead
			 * of a byte loop (half of smtpd's instructions for
			 * 100 KiB messages were this loop). */
			const char *cr = memchr(p + i, '\r', n - i);
			const char *lf;

			j = cr ? (size_t)(cr - p) : n;
			lf = memchr(p + i, '\n', j - i);
			if (lf)
				j = (size_t)(lf - p);
			emit(d, p + i, j - i);
			d->line_len += j - i;
			d->line_out += j - i;
			i = j;
		}
	}
	return i;
}

/* BDAT LAST is over: held CRs are data, an open line is counted. */
static void finish_bdat(struct smtp_data *d)
{
	if (d->pending_cr > 0) {
		emit_crs(d, d->pending_cr);
		d->pending_cr = 0;
	}
	if (d->state != ST_BOL) {
		d->lines++;
		if (d->line_len > d->max_line)
			d->max_line = d->line_len;
		if (d->line_len > d->line_limit)
			d->long_lines++;
	}
	d->done = 1;
}

int smtp_data_bdat_begin(struct smtp_data *d, uint64_t count, int last)
{
	size_t used;

	d->chunk_left = count;
	d->chunk_last = last;
	if (count > 0)
		return SMTP_DATA_MORE;
	return smtp_data_push(d, "", 0, &used);
}

int smtp_data_push(struct smtp_data *d, const char *p, size_t n, size_t *used)
{
	size_t take = n;

	*used = 0;
	if (d->done)
		return SMTP_DATA_DONE;
	if (d->bdat && take > d->chunk_left)
		take = (size_t)d->chunk_left;
	*used = run(d, p, take);
	d->in_bytes += *used;
	if (d->bdat) {
		d->chunk_left -= *used;
		if (d->chunk_left == 0 && d->chunk_last)
			finish_bdat(d);
	}
	flush_out(d);
	if (d->done)
		return SMTP_DATA_DONE;
	if (d->bdat && d->chunk_left == 0)
		return SMTP_DATA_CHUNK;
	return SMTP_DATA_MORE;
}

static const struct smtp_reply data_replies[] = {
	[-SMTP_DATA_ERR_BARE_LF] = {550, "5.5.2", "Error: bare <LF> received",
				    0},
	[-SMTP_DATA_ERR_SIZE] = {552, "5.3.4",
				 "Message size exceeds fixed limit", 0},
	[-SMTP_DATA_ERR_SINK] = {451, "4.3.0", "Error: queue file write error",
				 0},
};

_Static_assert(sizeof(data_replies) / sizeof(data_replies[0]) ==
		       1 - SMTP_DATA_ERR_LAST,
	       "one reply per error code");

const struct smtp_reply *smtp_data_reply(int err)
{
	if (err >= 0 || err < SMTP_DATA_ERR_LAST)
		err = SMTP_DATA_ERR_SINK;
	return &data_replies[-err];
}
