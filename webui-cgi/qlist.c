/* qlist - postqueue -j lines and maillog counters (see qlist.h).
 * JSON per RFC 8259; trusts nothing in the input. */
#include <string.h>

#include "qlist.h"

struct json {
	const char *s, *end;
	int depth;
};

static void ws(struct json *j)
{
	while (j->s < j->end && (*j->s == ' ' || *j->s == '\t' ||
				 *j->s == '\n' || *j->s == '\r'))
		j->s++;
}

static int lit(struct json *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->s) < n || memcmp(j->s, w, n) != 0)
		return -1;
	j->s += n;
	return 0;
}

static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* A string; its contents go to out (may be NULL: skipped). */
static int str(struct json *j, struct buf *out)
{
	if (j->s >= j->end || *j->s != '"')
		return -1;
	j->s++;
	while (j->s < j->end) {
		unsigned char c = (unsigned char)*j->s++;
		unsigned cp;

		if (c == '"')
			return 0;
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			if (out)
				buf_putc(out, c);
			continue;
		}
		if (j->s >= j->end)
			return -1;
		c = (unsigned char)*j->s++;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			break;
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u':
			if (j->end - j->s < 4 || hex4(j->s, &cp) < 0 ||
			    cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
				return -1;
			j->s += 4;
			if (out == NULL)
				continue;
			if (cp < 0x80) {
				buf_putc(out, (int)cp);
			} else if (cp < 0x800) {
				buf_putc(out, (int)(0xc0 | (cp >> 6)));
				buf_putc(out, (int)(0x80 | (cp & 0x3f)));
			} else {
				buf_putc(out, (int)(0xe0 | (cp >> 12)));
				buf_putc(out, (int)(0x80 | ((cp >> 6) & 0x3f)));
				buf_putc(out, (int)(0x80 | (cp & 0x3f)));
			}
			continue;
		default:
			return -1;
		}
		if (out)
			buf_putc(out, c);
	}
	return -1;
}

static int num(struct json *j, long long *v)
{
	int neg = 0, digits = 0;
	long long x = 0;

	if (j->s < j->end && *j->s == '-') {
		neg = 1;
		j->s++;
	}
	while (j->s < j->end && *j->s >= '0' && *j->s <= '9') {
		if (x < 100000000000000000LL)
			x = x * 10 + (*j->s - '0');
		j->s++;
		digits++;
	}
	/* Fractions and exponents are read and dropped. */
	while (j->s < j->end && strchr(".eE+-0123456789", *j->s) && *j->s)
		j->s++;
	if (digits == 0)
		return -1;
	if (v)
		*v = neg ? -x : x;
	return 0;
}

static int skip(struct json *j);
static int object(struct json *j, struct buf *key,
		  int (*fn)(struct json *j, const char *key, void *arg),
		  void *arg);

static int skip_member(struct json *j, const char *key, void *arg)
{
	(void)key;
	(void)arg;
	return skip(j);
}

/* An array: fn reads each element. */
static int array(struct json *j, int (*fn)(struct json *j, void *arg),
		 void *arg)
{
	if (j->s >= j->end || *j->s != '[' || ++j->depth > QLIST_DEPTH_MAX)
		return -1;
	j->s++;
	ws(j);
	if (j->s < j->end && *j->s == ']') {
		j->s++;
		j->depth--;
		return 0;
	}
	for (;;) {
		ws(j);
		if (fn(j, arg) < 0)
			return -1;
		ws(j);
		if (j->s < j->end && *j->s == ',') {
			j->s++;
			continue;
		}
		if (j->s >= j->end || *j->s++ != ']')
			return -1;
		j->depth--;
		return 0;
	}
}

static int skip_element(struct json *j, void *arg)
{
	(void)arg;
	return skip(j);
}

static int skip_object(struct json *j)
{
	struct buf key;
	int rc;

	buf_init(&key, 4096);
	rc = object(j, &key, skip_member, NULL);
	buf_free(&key);
	return rc;
}

static int skip(struct json *j)
{
	ws(j);
	if (j->s >= j->end)
		return -1;
	switch (*j->s) {
	case '"':
		return str(j, NULL);
	case '{':
		return skip_object(j);
	case '[':
		return array(j, skip_element, NULL);
	case 't':
		return lit(j, "true");
	case 'f':
		return lit(j, "false");
	case 'n':
		return lit(j, "null");
	default:
		return num(j, NULL);
	}
}

/* Iterate the members of an object: fn(key, j) reads the value. */
static int object(struct json *j, struct buf *key,
		  int (*fn)(struct json *j, const char *key, void *arg),
		  void *arg)
{
	ws(j);
	if (j->s >= j->end || *j->s != '{' || ++j->depth > QLIST_DEPTH_MAX)
		return -1;
	j->s++;
	ws(j);
	if (j->s < j->end && *j->s == '}') {
		j->s++;
		j->depth--;
		return 0;
	}
	for (;;) {
		ws(j);
		buf_reset(key);
		if (str(j, key) < 0 || buf_error(key))
			return -1;
		ws(j);
		if (j->s >= j->end || *j->s++ != ':')
			return -1;
		ws(j);
		if (fn(j, buf_str(key), arg) < 0)
			return -1;
		ws(j);
		if (j->s >= j->end)
			return -1;
		if (*j->s == ',') {
			j->s++;
			continue;
		}
		if (*j->s++ != '}')
			return -1;
		j->depth--;
		return 0;
	}
}

static int rcpt_member(struct json *j, const char *key, void *arg)
{
	struct qlist_msg *m = arg;

	if (strcmp(key, "address") == 0) {
		if (m->nrcpt > 1)
			buf_puts(&m->rcpts, ", ");
		return str(j, &m->rcpts);
	}
	if (strcmp(key, "delay_reason") == 0 && buf_len(&m->reason) == 0)
		return str(j, &m->reason);
	return skip(j);
}

static int rcpt_element(struct json *j, void *arg)
{
	struct qlist_msg *m = arg;
	struct buf k;
	int rc;

	if (++m->nrcpt > QLIST_RCPT_MAX)
		return -1;
	buf_init(&k, 256);
	rc = object(j, &k, rcpt_member, m);
	buf_free(&k);
	return rc;
}

static int msg_member(struct json *j, const char *key, void *arg)
{
	struct qlist_msg *m = arg;

	if (strcmp(key, "queue_name") == 0)
		return str(j, &m->queue);
	if (strcmp(key, "queue_id") == 0)
		return str(j, &m->id);
	if (strcmp(key, "sender") == 0)
		return str(j, &m->sender);
	if (strcmp(key, "arrival_time") == 0)
		return num(j, &m->arrival);
	if (strcmp(key, "message_size") == 0)
		return num(j, &m->size);
	if (strcmp(key, "recipients") != 0)
		return skip(j);
	return array(j, rcpt_element, m);
}

void qlist_msg_init(struct qlist_msg *m)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->queue, 64);
	buf_init(&m->id, 64);
	buf_init(&m->sender, 1024);
	buf_init(&m->rcpts, 64 * 1024);
	buf_init(&m->reason, 4096);
}

void qlist_msg_free(struct qlist_msg *m)
{
	buf_free(&m->queue);
	buf_free(&m->id);
	buf_free(&m->sender);
	buf_free(&m->rcpts);
	buf_free(&m->reason);
}

int qlist_parse(const char *s, size_t n, struct qlist_msg *m)
{
	struct json j = {s, s + n, 0};
	struct buf key;
	int rc;

	buf_reset(&m->queue);
	buf_reset(&m->id);
	buf_reset(&m->sender);
	buf_reset(&m->rcpts);
	buf_reset(&m->reason);
	m->arrival = m->size = 0;
	m->nrcpt = 0;
	buf_init(&key, 256);
	rc = object(&j, &key, msg_member, m);
	buf_free(&key);
	if (rc == 0) {
		ws(&j);
		if (j.s != j.end)
			rc = -1;
	}
	if (buf_error(&m->queue) || buf_error(&m->id) ||
	    buf_error(&m->sender) || buf_error(&m->rcpts) ||
	    buf_error(&m->reason))
		rc = -1;
	return rc;
}

static int has(const char *line, size_t n, const char *needle)
{
	return memmem(line, n, needle, strlen(needle)) != NULL;
}

void logstat_line(const char *line, size_t n, const char today[6],
		  struct logstat *st)
{
	if (n < 16 || memcmp(line, today, 6) != 0)
		return;
	if ((has(line, n, "/cleanup[") && has(line, n, ": message-id=")) ||
	    (has(line, n, "/pickup[") && has(line, n, ": uid=")))
		st->accepted++;
	else if (has(line, n, ": reject: "))
		st->rejected++;
	else if (has(line, n, ", status=sent "))
		st->delivered++;
	else if (has(line, n, ", status=deferred "))
		st->deferred++;
	else if (has(line, n, ", status=bounced "))
		st->bounced++;
}
