/* qfile - queue file writer and reader; docs/queue-format.md is the format,
 * qfile.h the contract.
 *
 * Standards: DSN parameters as RFC 3461 defines them (ENVID, RET, NOTIFY,
 * ORCPT are stored as received, xtext undecoded), enhanced status codes as
 * RFC 3463 section 2 (class.subject.detail).
 *
 * Trust: qfile_parse() trusts nothing in its input. Files are written by
 * our own processes, but a disk error, a crash during an append or a hand
 * edit can leave anything, and qmgr must move such a file to corrupt/
 * rather than crash or deliver a misread envelope. */
#include "qfile.h"

#include <stddef.h>
#include <string.h>

#include "core/mem.h"

#define QFILE_CRC_HEX         8
#define QFILE_NUM_DIGITS      19 /* decimal digits that always fit int64 */
#define QFILE_LENFIELD_DIGITS 5  /* enough to see a length > VALUE_MAX */
#define QFILE_VERSION_DIGITS  3
#define QFILE_USEC_DIGITS     6

/* Record types; the table in docs/queue-format.md. */
enum {
	REC_TIME = 'T',
	REC_SENDER = 'S',
	REC_CLIENT_NAME = 'c',
	REC_CLIENT_ADDR = 'a',
	REC_CLIENT_PORT = 'o',
	REC_HELO = 'h',
	REC_PROTOCOL = 'l',
	REC_SASL_USER = 'u',
	REC_BODY = 'B',
	REC_SMTPUTF8 = 'U',
	REC_ENVID = 'e',
	REC_RET = 'r',
	REC_RCPT = 'R',
	REC_ORCPT = 'O',
	REC_NOTIFY = 'N',
	REC_CONTENT = 'M',
	REC_END = 'E',
	/* appended, each with a CRC */
	REC_DONE = 'D',
	REC_DEFER = 'F',
	REC_RETRY = 'Y',
	REC_HOLD = 'H',
	REC_FILTER = 'C', /* version 2 */
	REC_WARNED = 'W',
};

static const char *const body_names[] = {
	[QFILE_BODY_7BIT] = "7BIT",
	[QFILE_BODY_8BITMIME] = "8BITMIME",
	[QFILE_BODY_BINARYMIME] = "BINARYMIME",
};

static const char *const ret_names[] = {
	[QFILE_RET_FULL] = "FULL",
	[QFILE_RET_HDRS] = "HDRS",
};

static const char *const state_names[] = {
	[QFILE_RCPT_SENT] = "sent",
	[QFILE_RCPT_BOUNCED] = "bounced",
	[QFILE_RCPT_DISCARDED] = "discarded",
	[QFILE_RCPT_REPORTED] = "reported",
	[QFILE_RCPT_PASSED] = "passed",
};

/* NOTIFY keywords in the order the writer emits them. */
static const struct {
	const char *name;
	unsigned bit;
} notify_names[] = {
	{"SUCCESS", QFILE_NOTIFY_SUCCESS},
	{"FAILURE", QFILE_NOTIFY_FAILURE},
	{"DELAY", QFILE_NOTIFY_DELAY},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Envelope records whose value is a plain string field of qfile_msg. The
 * sender comes first: it is always written, even empty; the others are
 * written only when not empty. */
static const struct {
	char type;
	size_t off;
} str_fields[] = {
	{REC_SENDER, offsetof(struct qfile_msg, sender)},
	{REC_CLIENT_NAME, offsetof(struct qfile_msg, client_name)},
	{REC_CLIENT_ADDR, offsetof(struct qfile_msg, client_addr)},
	{REC_CLIENT_PORT, offsetof(struct qfile_msg, client_port)},
	{REC_HELO, offsetof(struct qfile_msg, helo)},
	{REC_PROTOCOL, offsetof(struct qfile_msg, protocol)},
	{REC_SASL_USER, offsetof(struct qfile_msg, sasl_user)},
	{REC_ENVID, offsetof(struct qfile_msg, envid)},
};

/* The string field of m for a record type, or NULL. */
static struct qfile_str *str_field(struct qfile_msg *m, int type)
{
	for (size_t i = 0; i < NELEM(str_fields); i++)
		if (str_fields[i].type == type)
			return (struct qfile_str *)((char *)m +
						    str_fields[i].off);
	return NULL;
}

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32()). Records are short, so
 * the bitwise form is fast enough and needs no table. */
static uint32_t crc32_update(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;

	crc = ~crc;
	while (n-- > 0) {
		crc ^= *s++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* ---- writing ---- */

static int put_record(struct buf *out, int type, const void *p, size_t len)
{
	if (len > QFILE_VALUE_MAX)
		return QFILE_ERR_LIMIT;
	buf_printf(out, "%c%zu ", type, len);
	buf_append(out, p, len);
	buf_putc(out, '\n');
	return buf_error(out) ? QFILE_ERR_FULL : 0;
}

static int put_str(struct buf *out, int type, struct qfile_str s)
{
	return put_record(out, type, s.p, s.len);
}

static int put_cstr(struct buf *out, int type, const char *s)
{
	return put_record(out, type, s, strlen(s));
}

/* An optional field: absent when empty. */
static int put_opt(struct buf *out, int type, struct qfile_str s)
{
	return s.len == 0 ? 0 : put_str(out, type, s);
}

static int put_notify(struct buf *out, unsigned notify)
{
	char v[32];
	size_t n = 0;

	if (notify == 0)
		return 0;
	if (notify == QFILE_NOTIFY_NEVER)
		return put_cstr(out, REC_NOTIFY, "NEVER");
	if (notify & QFILE_NOTIFY_NEVER || notify & ~0xfu)
		return QFILE_ERR_VALUE;
	for (size_t i = 0; i < NELEM(notify_names); i++) {
		size_t k = strlen(notify_names[i].name);

		if ((notify & notify_names[i].bit) == 0)
			continue;
		if (n > 0)
			v[n++] = ',';
		memcpy(v + n, notify_names[i].name, k);
		n += k;
	}
	return put_record(out, REC_NOTIFY, v, n);
}

/* Decimal digits of v, no padding; returns the length. */
static size_t fmt_u64(char *out, uint64_t v)
{
	char tmp[24];
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		out[len++] = tmp[--n];
	return len;
}

static int put_envelope(struct buf *out, const struct qfile_msg *m)
{
	char v[48];
	size_t n;
	int rc;

	if (m->arrival_sec < 0 || m->arrival_usec < 0 ||
	    m->arrival_usec > 999999 || (unsigned)m->body >= 4 ||
	    (unsigned)m->ret >= 3 || (m->smtputf8 != 0 && m->smtputf8 != 1))
		return QFILE_ERR_VALUE;
	if (m->nrcpt == 0 || m->nrcpt > QFILE_RCPT_MAX)
		return QFILE_ERR_LIMIT;
	buf_printf(out, "%s %d\n", QFILE_MAGIC, QFILE_VERSION);
	n = fmt_u64(v, (uint64_t)m->arrival_sec);
	v[n++] = '.';
	for (long u = 100000; u > 0; u /= 10)
		v[n++] = (char)('0' + m->arrival_usec / u % 10);
	if ((rc = put_record(out, REC_TIME, v, n)) < 0)
		return rc;
	for (size_t i = 0; i < NELEM(str_fields); i++) {
		const struct qfile_str *f =
			(const struct qfile_str *)((const char *)m +
						   str_fields[i].off);

		rc = i == 0 ? put_str(out, str_fields[i].type, *f)
			    : put_opt(out, str_fields[i].type, *f);
		if (rc < 0)
			return rc;
	}
	if (m->body != QFILE_BODY_NONE &&
	    (rc = put_cstr(out, REC_BODY, body_names[m->body])) < 0)
		return rc;
	if (m->smtputf8 && (rc = put_record(out, REC_SMTPUTF8, "", 0)) < 0)
		return rc;
	if (m->ret != QFILE_RET_NONE &&
	    (rc = put_cstr(out, REC_RET, ret_names[m->ret])) < 0)
		return rc;
	for (size_t i = 0; i < m->nrcpt; i++) {
		const struct qfile_rcpt *r = &m->rcpt[i];

		if ((rc = put_str(out, REC_RCPT, r->addr)) < 0 ||
		    (rc = put_opt(out, REC_ORCPT, r->orcpt)) < 0 ||
		    (rc = put_notify(out, r->notify)) < 0)
			return rc;
	}
	return 0;
}

int qfile_writer_begin(struct qfile_writer *w, struct buf *out,
		       const struct qfile_msg *m)
{
	size_t start = buf_len(out);
	int rc;

	memset(w, 0, sizeof(*w));
	if ((rc = put_envelope(out, m)) < 0) {
		buf_truncate(out, start);
		w->state = rc;
		return rc;
	}
	buf_printf(out, "%c%d ", REC_CONTENT, QFILE_LEN_DIGITS);
	w->len_off = buf_len(out) - start;
	for (int i = 0; i < QFILE_LEN_DIGITS; i++)
		buf_putc(out, '0');
	buf_putc(out, '\n');
	if (buf_error(out)) {
		buf_truncate(out, start);
		w->state = QFILE_ERR_FULL;
		return QFILE_ERR_FULL;
	}
	w->written = buf_len(out) - start;
	w->canonical = m->body != QFILE_BODY_BINARYMIME;
	w->state = 1;
	return 0;
}

int qfile_writer_push(struct qfile_writer *w, const void *p, size_t n)
{
	const unsigned char *s = p;

	if (w->state != 1)
		return w->state < 0 ? w->state : QFILE_ERR_STATE;
	if (n == 0)
		return 0;
	if (w->canonical) {
		int cr = w->prev_cr;
		size_t i = 0;

		/* After a CR must come an LF, and an LF must follow a CR.
		 * Jump from CR to CR with memchr (word at a time) rather
		 * than test every byte: this check ran over every byte of
		 * every message. */
		if (cr) {
			if (s[0] != '\n')
				goto bad;
			i = 1;
			cr = 0;
		}
		while (i < n) {
			const unsigned char *q = memchr(s + i, '\r', n - i);
			size_t end = q ? (size_t)(q - s) : n;

			if (memchr(s + i, '\n', end - i) != NULL)
				goto bad; /* an LF without its CR */
			if (q == NULL)
				break;
			if (end + 1 == n) {
				cr = 1; /* the LF comes in the next push */
				break;
			}
			if (s[end + 1] != '\n')
				goto bad; /* a CR without its LF */
			i = end + 2;
		}
		w->prev_cr = cr;
	}
	w->prev_lf = s[n - 1] == '\n';
	w->content_len += n;
	w->written += n;
	return 0;
bad:
	w->state = QFILE_ERR_CONTENT;
	return QFILE_ERR_CONTENT;
}

int qfile_writer_finish(struct qfile_writer *w, struct buf *out,
			char patch[QFILE_LEN_DIGITS], size_t *patch_off)
{
	uint64_t v = w->content_len;

	if (w->state != 1)
		return w->state < 0 ? w->state : QFILE_ERR_STATE;
	if (w->canonical && w->content_len > 0 && (w->prev_cr || !w->prev_lf)) {
		w->state = QFILE_ERR_CONTENT;
		return QFILE_ERR_CONTENT;
	}
	if (put_record(out, REC_END, "", 0) < 0)
		return QFILE_ERR_FULL;
	for (int i = QFILE_LEN_DIGITS - 1; i >= 0; i--) {
		patch[i] = (char)('0' + v % 10);
		v /= 10;
	}
	*patch_off = w->len_off;
	w->written += 4; /* "E0 \n" */
	w->state = 2;
	return 0;
}

int qfile_format(struct buf *out, const struct qfile_msg *m,
		 const void *content, size_t len)
{
	struct qfile_writer w;
	char patch[QFILE_LEN_DIGITS];
	size_t start = buf_len(out), off;
	int rc;

	if ((rc = qfile_writer_begin(&w, out, m)) < 0)
		return rc;
	if ((rc = qfile_writer_push(&w, content, len)) < 0 ||
	    buf_append(out, content, len) < 0 ||
	    (rc = qfile_writer_finish(&w, out, patch, &off)) < 0) {
		buf_truncate(out, start);
		return rc < 0 ? rc : QFILE_ERR_FULL;
	}
	memcpy(out->data + start + off, patch, QFILE_LEN_DIGITS);
	return 0;
}

/* One appended record: TYPE LEN SP CRC SP PAYLOAD LF, the CRC over the type
 * byte and the payload, so a torn or stale append is recognised. */
static int put_appended(struct buf *out, int type, const char *head,
			size_t head_len, const void *text, size_t text_len)
{
	char t = (char)type, crc_hex[QFILE_CRC_HEX + 1];
	uint32_t crc;
	size_t start = buf_len(out);

	if (text_len > QFILE_TEXT_MAX)
		text_len = QFILE_TEXT_MAX;
	crc = crc32_update(0, &t, 1);
	crc = crc32_update(crc, head, head_len);
	crc = crc32_update(crc, text, text_len);
	for (int i = QFILE_CRC_HEX - 1; i >= 0; i--) {
		crc_hex[i] = "0123456789abcdef"[crc & 0xf];
		crc >>= 4;
	}
	crc_hex[QFILE_CRC_HEX] = ' ';
	buf_printf(out, "%c%zu ", type,
		   QFILE_CRC_HEX + 1 + head_len + text_len);
	buf_append(out, crc_hex, sizeof(crc_hex));
	buf_append(out, head, head_len);
	buf_append(out, text, text_len);
	buf_putc(out, '\n');
	if (buf_error(out)) {
		buf_truncate(out, start);
		return QFILE_ERR_FULL;
	}
	return 0;
}

/* RFC 3463: class "." subject "." detail, 1-3 digits each, class 2/4/5. */
static int dsn_valid(const char *s, size_t n)
{
	size_t i = 0;

	if (n < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;

		while (i < n && s[i] >= '0' && s[i] <= '9' && d < 4) {
			i++;
			d++;
		}
		if (d == 0 || d > 3)
			return 0;
		if (part == 0 && (i >= n || s[i++] != '.'))
			return 0;
	}
	return i == n;
}

/* "IDX SP [STATE SP] DSN SP" into head. */
static int rcpt_head(char *head, size_t idx, const char *state, const char *dsn)
{
	size_t n, k = strlen(dsn);

	if (idx >= QFILE_RCPT_MAX || !dsn_valid(dsn, k))
		return QFILE_ERR_VALUE;
	n = fmt_u64(head, idx);
	head[n++] = ' ';
	if (state != NULL) {
		memcpy(head + n, state, strlen(state));
		n += strlen(state);
		head[n++] = ' ';
	}
	memcpy(head + n, dsn, k);
	n += k;
	head[n++] = ' ';
	return (int)n;
}

int qfile_format_done(struct buf *out, size_t idx, enum qfile_rcpt_state state,
		      const char *dsn, const void *text, size_t text_len)
{
	char head[48];
	int n;

	if (state <= QFILE_RCPT_TODO || state > QFILE_RCPT_PASSED)
		return QFILE_ERR_VALUE;
	if ((n = rcpt_head(head, idx, state_names[state], dsn)) < 0)
		return n;
	return put_appended(out, REC_DONE, head, (size_t)n, text, text_len);
}

int qfile_format_defer(struct buf *out, size_t idx, const char *dsn,
		       const void *text, size_t text_len)
{
	char head[48];
	int n;

	if ((n = rcpt_head(head, idx, NULL, dsn)) < 0)
		return n;
	return put_appended(out, REC_DEFER, head, (size_t)n, text, text_len);
}

int qfile_format_retry(struct buf *out, int64_t when, unsigned attempts)
{
	char head[48];
	size_t n;

	if (when < 0)
		return QFILE_ERR_VALUE;
	n = fmt_u64(head, (uint64_t)when);
	head[n++] = ' ';
	n += fmt_u64(head + n, attempts);
	return put_appended(out, REC_RETRY, head, n, "", 0);
}

int qfile_format_hold(struct buf *out, int on)
{
	return put_appended(out, REC_HOLD, on ? "1" : "0", 1, "", 0);
}

int qfile_format_filter(struct buf *out, const char *filter, size_t len)
{
	if (len == 0 || len > QFILE_TEXT_MAX || memchr(filter, 0, len) != NULL)
		return QFILE_ERR_VALUE;
	return put_appended(out, REC_FILTER, filter, len, "", 0);
}

int qfile_format_warned(struct buf *out, int64_t when)
{
	char head[24];

	if (when < 0)
		return QFILE_ERR_VALUE;
	return put_appended(out, REC_WARNED, head,
			    fmt_u64(head, (uint64_t)when), "", 0);
}

/* ---- reading ---- */

struct rec {
	int type;
	const char *v; /* the value */
	size_t len;
	size_t start; /* offset of the type byte */
};

struct cursor {
	const char *p;
	size_t n;
	size_t off;
};

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Frame the record at c->off: TYPE DIGITS SP VALUE LF. Returns 0 (and
 * advances), QFILE_ERR_TRUNCATED when the input ends inside it (or at its
 * start), QFILE_ERR_FRAMING or QFILE_ERR_LIMIT. */
static int next_record(struct cursor *c, struct rec *r)
{
	size_t off = c->off, len = 0, digits = 0;
	int type;

	r->start = off;
	if (off >= c->n)
		return QFILE_ERR_TRUNCATED;
	type = (unsigned char)c->p[off++];
	if (!((type >= 'A' && type <= 'Z') || (type >= 'a' && type <= 'z')))
		return QFILE_ERR_FRAMING;
	while (off < c->n && is_digit(c->p[off])) {
		if (digits == 1 && len == 0)
			return QFILE_ERR_FRAMING; /* leading zero */
		if (++digits > QFILE_LENFIELD_DIGITS)
			return QFILE_ERR_LIMIT;
		len = len * 10 + (size_t)(c->p[off++] - '0');
	}
	if (off >= c->n)
		return QFILE_ERR_TRUNCATED;
	if (digits == 0 || c->p[off++] != ' ')
		return QFILE_ERR_FRAMING;
	if (len > QFILE_VALUE_MAX)
		return QFILE_ERR_LIMIT;
	if (c->n - off <= len)
		return QFILE_ERR_TRUNCATED;
	if (c->p[off + len] != '\n')
		return QFILE_ERR_FRAMING;
	r->type = type;
	r->v = c->p + off;
	r->len = len;
	c->off = off + len + 1;
	return 0;
}

/* Decimal without leading zeros, at most QFILE_NUM_DIGITS digits, from
 * s[*i..n) up to a space or the end. */
static int take_num(const char *s, size_t n, size_t *i, uint64_t *out)
{
	uint64_t v = 0;
	size_t start = *i;

	while (*i < n && is_digit(s[*i])) {
		if (*i - start >= QFILE_NUM_DIGITS || (*i > start && v == 0))
			return -1;
		v = v * 10 + (uint64_t)(s[(*i)++] - '0');
	}
	if (*i == start)
		return -1;
	*out = v;
	return 0;
}

/* A whole value that is one number. */
static int num_value(const char *s, size_t n, uint64_t *out)
{
	size_t i = 0;

	return take_num(s, n, &i, out) == 0 && i == n ? 0 : -1;
}

static int eq(const char *v, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(v, s, n) == 0;
}

/* Index of v in names[0..count) (NULL entries skipped), or -1. */
static int lookup(const char *const *names, size_t count, const char *v,
		  size_t n)
{
	for (size_t i = 0; i < count; i++)
		if (names[i] != NULL && eq(v, n, names[i]))
			return (int)i;
	return -1;
}

static int parse_time(const struct rec *r, struct qfile_msg *m)
{
	size_t i = 0;
	uint64_t sec, usec = 0;

	if (take_num(r->v, r->len, &i, &sec) < 0 || sec > INT64_MAX ||
	    i + 1 + QFILE_USEC_DIGITS != r->len || r->v[i++] != '.')
		return QFILE_ERR_VALUE;
	for (; i < r->len; i++) {
		if (!is_digit(r->v[i]))
			return QFILE_ERR_VALUE;
		usec = usec * 10 + (uint64_t)(r->v[i] - '0');
	}
	m->arrival_sec = (int64_t)sec;
	m->arrival_usec = (long)usec;
	return 0;
}

static int parse_notify(const struct rec *r, unsigned *out)
{
	unsigned bits = 0;
	size_t i = 0;

	if (eq(r->v, r->len, "NEVER")) {
		*out = QFILE_NOTIFY_NEVER;
		return 0;
	}
	while (i < r->len) {
		size_t j = i, k;

		while (j < r->len && r->v[j] != ',')
			j++;
		for (k = 0; k < NELEM(notify_names); k++)
			if (eq(r->v + i, j - i, notify_names[k].name))
				break;
		if (k == NELEM(notify_names) || bits & notify_names[k].bit)
			return QFILE_ERR_VALUE;
		bits |= notify_names[k].bit;
		if (j < r->len && j + 1 == r->len)
			return QFILE_ERR_VALUE; /* trailing comma */
		i = j + 1;
	}
	if (bits == 0)
		return QFILE_ERR_VALUE;
	*out = bits;
	return 0;
}

static void add_rcpt(struct qfile_msg *m, size_t *cap, const struct rec *r)
{
	if (m->nrcpt == *cap) {
		*cap = *cap == 0 ? 4 : *cap * 2;
		if (*cap > QFILE_RCPT_MAX)
			*cap = QFILE_RCPT_MAX;
		m->rcpt = mem_realloc(m->rcpt, *cap * sizeof(*m->rcpt));
	}
	memset(&m->rcpt[m->nrcpt], 0, sizeof(*m->rcpt));
	m->rcpt[m->nrcpt].addr.p = r->v;
	m->rcpt[m->nrcpt].addr.len = r->len;
	m->nrcpt++;
}

/* Bits for "seen once" checks of single-valued envelope records. */
static uint64_t type_bit(int type)
{
	return type >= 'a' ? 1ull << (type - 'a' + 26) : 1ull << (type - 'A');
}

/* One envelope record before the content. *rcpt_open: the last record was
 * R, O or N, so O and N may follow for that recipient. */
static int envelope_record(struct qfile_msg *m, const struct rec *r,
			   uint64_t *seen, int *rcpt_open, size_t *cap)
{
	struct qfile_str *field = NULL;
	struct qfile_rcpt *last = m->nrcpt ? &m->rcpt[m->nrcpt - 1] : NULL;
	int open = *rcpt_open, v;

	*rcpt_open = 0;
	switch (r->type) {
	case REC_RCPT:
		if (m->nrcpt >= QFILE_RCPT_MAX)
			return QFILE_ERR_LIMIT;
		add_rcpt(m, cap, r);
		*rcpt_open = 1;
		return 0;
	case REC_ORCPT:
		if (!open || last->orcpt.p != NULL)
			return QFILE_ERR_RECORD;
		last->orcpt.p = r->v;
		last->orcpt.len = r->len;
		*rcpt_open = 1;
		return 0;
	case REC_NOTIFY:
		if (!open || last->notify != 0)
			return QFILE_ERR_RECORD;
		*rcpt_open = 1;
		return parse_notify(r, &last->notify);
	default:
		break;
	}
	field = str_field(m, r->type);
	if (field == NULL && r->type != REC_TIME && r->type != REC_BODY &&
	    r->type != REC_SMTPUTF8 && r->type != REC_RET)
		return QFILE_ERR_RECORD;
	if (*seen & type_bit(r->type))
		return QFILE_ERR_RECORD;
	*seen |= type_bit(r->type);
	if (field != NULL) {
		field->p = r->v;
		field->len = r->len;
		return 0;
	}
	switch (r->type) {
	case REC_TIME:
		return parse_time(r, m);
	case REC_BODY:
		v = lookup(body_names, NELEM(body_names), r->v, r->len);
		if (v < 0)
			return QFILE_ERR_VALUE;
		m->body = (enum qfile_body)v;
		return 0;
	case REC_SMTPUTF8:
		if (r->len != 0)
			return QFILE_ERR_VALUE;
		m->smtputf8 = 1;
		return 0;
	default: /* REC_RET */
		v = lookup(ret_names, NELEM(ret_names), r->v, r->len);
		if (v < 0)
			return QFILE_ERR_VALUE;
		m->ret = (enum qfile_ret)v;
		return 0;
	}
}

/* The CRC prefix of an appended record; 0 when it matches. The payload is
 * handed back in *pl, *pn. */
static int check_crc(const struct rec *r, const char **pl, size_t *pn)
{
	uint32_t want = 0, got;
	char t = (char)r->type;

	if (r->len < QFILE_CRC_HEX + 1 || r->v[QFILE_CRC_HEX] != ' ')
		return -1;
	for (int i = 0; i < QFILE_CRC_HEX; i++) {
		int c = r->v[i], d;

		if (is_digit(c))
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -1;
		want = want << 4 | (uint32_t)d;
	}
	*pl = r->v + QFILE_CRC_HEX + 1;
	*pn = r->len - QFILE_CRC_HEX - 1;
	got = crc32_update(crc32_update(0, &t, 1), *pl, *pn);
	return got == want ? 0 : -1;
}

/* "IDX SP [STATE SP] DSN SP TEXT" of D and F records. */
static int apply_rcpt_record(struct qfile_msg *m, int type, const char *s,
			     size_t n)
{
	struct qfile_rcpt *r;
	size_t i = 0, j;
	uint64_t idx;
	int state = QFILE_RCPT_TODO;

	if (take_num(s, n, &i, &idx) < 0 || idx >= m->nrcpt || i >= n ||
	    s[i++] != ' ')
		return QFILE_ERR_VALUE;
	if (type == REC_DONE) {
		for (j = i; j < n && s[j] != ' '; j++)
			;
		state = lookup(state_names, NELEM(state_names), s + i, j - i);
		if (state <= 0 || j >= n)
			return QFILE_ERR_VALUE;
		i = j + 1;
	}
	for (j = i; j < n && s[j] != ' '; j++)
		;
	if (j >= n || !dsn_valid(s + i, j - i))
		return QFILE_ERR_VALUE;
	r = &m->rcpt[idx];
	if (type == REC_DEFER && r->state != QFILE_RCPT_TODO)
		return 0; /* a late reason does not reopen a recipient */
	if (type == REC_DONE && r->state == QFILE_RCPT_TODO)
		m->nrcpt_todo--;
	r->state = (enum qfile_rcpt_state)state;
	r->dsn.p = s + i;
	r->dsn.len = j - i;
	r->text.p = s + j + 1;
	r->text.len = n - j - 1;
	return 0;
}

static int apply_record(struct qfile_msg *m, int type, const char *s, size_t n)
{
	uint64_t a, b;
	size_t i = 0;

	switch (type) {
	case REC_DONE:
	case REC_DEFER:
		return apply_rcpt_record(m, type, s, n);
	case REC_RETRY:
		if (take_num(s, n, &i, &a) < 0 || a > INT64_MAX || i >= n ||
		    s[i++] != ' ' || num_value(s + i, n - i, &b) < 0 ||
		    b > UINT32_MAX)
			return QFILE_ERR_VALUE;
		m->retry_after = (int64_t)a;
		m->attempts = (unsigned)b;
		return 0;
	case REC_HOLD:
		if (n != 1 || (s[0] != '0' && s[0] != '1'))
			return QFILE_ERR_VALUE;
		m->hold = s[0] == '1';
		return 0;
	case REC_FILTER:
		if (m->version < QFILE_VERSION_FILTER || n == 0)
			return QFILE_ERR_RECORD;
		m->filter.p = s;
		m->filter.len = n;
		return 0;
	case REC_WARNED:
		if (num_value(s, n, &a) < 0 || a > INT64_MAX)
			return QFILE_ERR_VALUE;
		m->warned = (int64_t)a;
		return 0;
	default:
		return QFILE_ERR_RECORD;
	}
}

/* "MAILGW-QUEUE" SP VERSION LF */
static int parse_magic(struct cursor *c, unsigned *out)
{
	const size_t k = sizeof(QFILE_MAGIC) - 1;
	uint64_t version = 0;
	size_t digits = 0;

	if (c->n == 0)
		return QFILE_ERR_TRUNCATED;
	if (c->n < k + 1)
		return memcmp(c->p, QFILE_MAGIC " ", c->n) == 0
			       ? QFILE_ERR_TRUNCATED
			       : QFILE_ERR_MAGIC;
	if (memcmp(c->p, QFILE_MAGIC " ", k + 1) != 0)
		return QFILE_ERR_MAGIC;
	c->off = k + 1;
	while (c->off < c->n && is_digit(c->p[c->off])) {
		if (++digits > QFILE_VERSION_DIGITS)
			return QFILE_ERR_VERSION;
		version = version * 10 + (uint64_t)(c->p[c->off++] - '0');
	}
	if (c->off >= c->n)
		return QFILE_ERR_TRUNCATED;
	if (digits == 0 || c->p[c->off++] != '\n')
		return QFILE_ERR_MAGIC;
	if (version < QFILE_VERSION || version > QFILE_VERSION_FILTER)
		return QFILE_ERR_VERSION;
	*out = (unsigned)version;
	return 0;
}

/* The initial part: magic, envelope, content, end record. */
static int parse_initial(struct qfile_msg *m, struct cursor *c)
{
	const uint64_t required = type_bit(REC_TIME) | type_bit(REC_SENDER);
	uint64_t seen = 0, len = 0;
	size_t cap = 0;
	int rcpt_open = 0, rc;
	struct rec r;

	if ((rc = parse_magic(c, &m->version)) < 0)
		return rc;
	for (;;) {
		if ((rc = next_record(c, &r)) < 0)
			return rc;
		if (r.type == REC_CONTENT)
			break;
		if ((rc = envelope_record(m, &r, &seen, &rcpt_open, &cap)) < 0)
			return rc;
	}
	if ((seen & required) != required || m->nrcpt == 0)
		return QFILE_ERR_MISSING;
	if (r.len != QFILE_LEN_DIGITS)
		return QFILE_ERR_VALUE;
	for (size_t i = 0; i < r.len; i++) {
		if (!is_digit(r.v[i]))
			return QFILE_ERR_VALUE;
		if (len > (UINT64_MAX - 9) / 10)
			return QFILE_ERR_VALUE;
		len = len * 10 + (uint64_t)(r.v[i] - '0');
	}
	if (len > c->n - c->off)
		return QFILE_ERR_TRUNCATED;
	m->content_off = c->off;
	m->content_len = (size_t)len;
	c->off += (size_t)len;
	if ((rc = next_record(c, &r)) < 0)
		return rc;
	if (r.type != REC_END || r.len != 0)
		return QFILE_ERR_RECORD;
	m->nrcpt_todo = m->nrcpt;
	return 0;
}

int qfile_parse(struct qfile_msg *m, const void *p, size_t n)
{
	struct cursor c = {p, n, 0};
	struct rec r;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = parse_initial(m, &c)) < 0) {
		m->err_off = c.off;
		qfile_msg_free(m);
		return rc;
	}
	m->initial_len = c.off;
	/* Appended records. Anything that is not a whole record with a good
	 * CRC is a torn append: it and all after it are ignored. A whole,
	 * authentic record that makes no sense is corruption. */
	while (c.off < n) {
		const char *pl;
		size_t pn, start = c.off;

		if (next_record(&c, &r) < 0 || check_crc(&r, &pl, &pn) < 0) {
			m->torn = 1;
			c.off = start;
			break;
		}
		if ((rc = apply_record(m, r.type, pl, pn)) < 0) {
			m->err_off = start;
			qfile_msg_free(m);
			return rc;
		}
	}
	m->valid_len = c.off;
	return 0;
}

void qfile_msg_free(struct qfile_msg *m)
{
	mem_free(m->rcpt);
	m->rcpt = NULL;
	m->nrcpt = 0;
}

const char *qfile_strerror(int err)
{
	switch (err) {
	case 0:
		return "no error";
	case QFILE_ERR_MAGIC:
		return "not a queue file";
	case QFILE_ERR_VERSION:
		return "unsupported queue file version";
	case QFILE_ERR_TRUNCATED:
		return "queue file is truncated";
	case QFILE_ERR_FRAMING:
		return "malformed record";
	case QFILE_ERR_RECORD:
		return "unexpected record";
	case QFILE_ERR_VALUE:
		return "malformed record value";
	case QFILE_ERR_MISSING:
		return "required record missing";
	case QFILE_ERR_LIMIT:
		return "record or recipient limit exceeded";
	case QFILE_ERR_CONTENT:
		return "content is not in canonical CRLF form";
	case QFILE_ERR_STATE:
		return "queue file writer used out of order";
	case QFILE_ERR_FULL:
		return "output buffer full";
	default:
		return "unknown queue file error";
	}
}
