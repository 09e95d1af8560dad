/* fuzz_smtp_reply - libFuzzer harness for the SMTP client's reply parser,
 * EHLO keyword reader and hosts file parser.
 *
 * Properties beyond "no crash": one-shot and byte-wise parsing agree
 * (same replies, codes, status codes and texts); a finished reply has a
 * code 100..599, a status "C.x.y" whose class matches the code's, text
 * within bounds; every byte is consumed exactly once. The last input
 * byte chooses nothing: the same bytes go to hosts_find() too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/hosts.h"
#include "deliver/smtp_reply.h"

#define REPLIES_MAX 64

struct seen {
	int code[REPLIES_MAX];
	char dsn[REPLIES_MAX][16];
	size_t len[REPLIES_MAX];
	unsigned long hash[REPLIES_MAX];
	size_t n;
};

static unsigned long hash(const char *p, size_t n)
{
	unsigned long h = 5381;

	while (n--)
		h = h * 33 + (unsigned char)*p++;
	return h;
}

static void record(struct seen *s, const struct smtp_reply *r)
{
	struct smtp_ehlo e;

	if (r->code < 100 || r->code > 599 || r->len > SMTP_REPLY_TEXT_MAX ||
	    strlen(r->text) != r->len)
		abort();
	if (r->dsn[0] != (r->code / 100 == 4 || r->code / 100 == 5
				  ? '0' + r->code / 100
				  : '2') ||
	    r->dsn[1] != '.')
		abort();
	smtp_reply_ehlo(r, &e);
	if (s->n < REPLIES_MAX) {
		s->code[s->n] = r->code;
		memcpy(s->dsn[s->n], r->dsn, 16);
		s->len[s->n] = r->len;
		s->hash[s->n] = hash(r->text, r->len);
		s->n++;
	}
}

/* parse - all replies of p[0..n) pushed step bytes at a time. */
static void parse(const char *p, size_t n, size_t step, struct seen *s)
{
	static struct smtp_reply r;
	size_t off = 0;

	memset(s, 0, sizeof(*s));
	smtp_reply_init(&r);
	while (off < n) {
		size_t k = n - off < step ? n - off : step;
		size_t used = smtp_reply_push(&r, p + off, k);

		if (used > k || (used == 0 && !r.done && !r.err))
			abort();
		off += used;
		if (r.err)
			return;
		if (r.done) {
			record(s, &r);
			smtp_reply_init(&r);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen a, b;
	const char *p = (const char *)data;
	struct net_addr addrs[HOSTS_ADDR_MAX];

	parse(p, size, size ? size : 1, &a);
	parse(p, size, 1, &b);
	if (a.n != b.n)
		abort();
	for (size_t i = 0; i < a.n; i++)
		if (a.code[i] != b.code[i] || strcmp(a.dsn[i], b.dsn[i]) ||
		    a.len[i] != b.len[i] || a.hash[i] != b.hash[i])
			abort();
	if (hosts_find(p, size, "relay.example", HOSTS_INET4 | HOSTS_INET6,
		       addrs, HOSTS_ADDR_MAX) > HOSTS_ADDR_MAX)
		abort();
	return 0;
}
