/* packet - build DNS queries and parse responses (RFC 1035, RFC 6891).
 *
 * Trusts nothing in a response: every read is checked against the message
 * length, every name against the RFC 1035 2.3.4 limits, every compression
 * pointer must go strictly backwards (RFC 1035 4.1.4 allows only earlier
 * occurrences), counts are checked against the bytes left. See packet.h for
 * the contract. */
#include <stddef.h>
#include <string.h>

#include "core/str.h"
#include "dns/packet.h"

#define HDR_FLAG_QR     0x8000
#define HDR_OPCODE_MASK 0x7800
#define HDR_FLAG_AA     0x0400
#define HDR_FLAG_TC     0x0200
#define HDR_FLAG_RD     0x0100
#define HDR_RCODE_MASK  0x000f
#define PTR_MASK        0xc0
#define TTL_SIGN_BIT    0x80000000u

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* dns_query_format - header, one question, optional OPT (RFC 6891 6.1.2). */
int dns_query_format(uint8_t *out, size_t cap, uint16_t id, const char *name,
		     uint16_t type, uint16_t udp_size, size_t *len)
{
	uint8_t wire[DNS_NAME_WIRE_MAX];
	size_t n = strlen(name), wl = 0, i = 0, need;

	if (n == 0)
		return DNS_ERR_NAME;
	if (n > 1 && name[n - 1] == '.')
		n--;
	if (!(n == 1 && name[0] == '.')) {
		while (i < n) {
			size_t j = i;

			while (j < n && name[j] != '.')
				j++;
			if (j == i || j - i > DNS_LABEL_MAX ||
			    wl + 1 + (j - i) + 1 > DNS_NAME_WIRE_MAX)
				return DNS_ERR_NAME;
			if (memchr(name + i, '\\', j - i) != NULL)
				return DNS_ERR_NAME;
			wire[wl++] = (uint8_t)(j - i);
			memcpy(wire + wl, name + i, j - i);
			wl += j - i;
			i = j + 1;
			if (j + 1 == n) /* "a..": empty last label */
				return DNS_ERR_NAME;
		}
	}
	wire[wl++] = 0;
	need = DNS_HEADER_LEN + wl + 4 + (udp_size ? DNS_RR_MIN_LEN : 0);
	if (need > cap)
		return DNS_ERR_SPACE;
	memset(out, 0, need);
	put16(out, id);
	put16(out + 2, HDR_FLAG_RD);
	put16(out + 4, 1);
	put16(out + 10, udp_size ? 1 : 0);
	memcpy(out + DNS_HEADER_LEN, wire, wl);
	put16(out + DNS_HEADER_LEN + wl, type);
	put16(out + DNS_HEADER_LEN + wl + 2, DNS_C_IN);
	if (udp_size) {
		uint8_t *o = out + DNS_HEADER_LEN + wl + 4;

		o[0] = 0; /* root owner */
		put16(o + 1, DNS_T_OPT);
		put16(o + 3, udp_size); /* class = requestor's UDP size */
		/* TTL (extended RCODE, version 0, flags) and RDLENGTH: 0 */
	}
	*len = need;
	return 0;
}

static int label_byte_plain(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*';
}

/* dns_name_parse - follow labels and backward pointers; RFC 1035 4.1.4. */
int dns_name_parse(const uint8_t *msg, size_t len, size_t off, char *text,
		   size_t cap, size_t *next)
{
	size_t pos = off, tl = 0, wire = 1, hops = 0;
	int jumped = 0;

	if (cap < 2)
		return DNS_ERR_FORMAT;
	for (;;) {
		uint8_t c;

		if (pos >= len)
			return DNS_ERR_FORMAT;
		c = msg[pos];
		if ((c & PTR_MASK) == PTR_MASK) {
			size_t target;

			if (pos + 1 >= len || ++hops > DNS_PTR_MAX)
				return DNS_ERR_FORMAT;
			target = (size_t)(get16(msg + pos) & 0x3fff);
			if (target >= pos) /* forward or self: never */
				return DNS_ERR_FORMAT;
			if (!jumped) {
				*next = pos + 2;
				jumped = 1;
			}
			pos = target;
			continue;
		}
		if (c & PTR_MASK) /* 0x40, 0x80: extended label types */
			return DNS_ERR_FORMAT;
		if (c == 0) {
			if (!jumped)
				*next = pos + 1;
			break;
		}
		if (pos + 1 + c > len)
			return DNS_ERR_FORMAT;
		wire += 1 + (size_t)c;
		if (wire > DNS_NAME_WIRE_MAX)
			return DNS_ERR_FORMAT;
		if (tl > 0) {
			if (tl + 1 >= cap)
				return DNS_ERR_FORMAT;
			text[tl++] = '.';
		}
		for (size_t i = 0; i < c; i++) {
			uint8_t b = msg[pos + 1 + i];

			if (label_byte_plain(b)) {
				if (tl + 1 >= cap)
					return DNS_ERR_FORMAT;
				text[tl++] = (char)b;
			} else {
				if (tl + 4 >= cap)
					return DNS_ERR_FORMAT;
				text[tl++] = '\\';
				text[tl++] = (char)('0' + b / 100);
				text[tl++] = (char)('0' + b / 10 % 10);
				text[tl++] = (char)('0' + b % 10);
			}
		}
		pos += 1 + (size_t)c;
	}
	if (tl == 0)
		text[tl++] = '.';
	text[tl] = 0;
	return 0;
}

/* Names compare without ASCII case and without a trailing dot. */
static int name_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 1 && a[la - 1] == '.')
		la--;
	if (lb > 1 && b[lb - 1] == '.')
		lb--;
	return la == lb && str_ncasecmp(a, b, la) == 0;
}

static uint32_t ttl_of(uint32_t raw)
{
	return (raw & TTL_SIGN_BIT) ? 0 : raw;
}

/* One resource record's fixed part. */
struct rr_head {
	char owner[DNS_NAME_TEXT_MAX];
	uint16_t type, klass;
	uint32_t ttl;
	size_t rdata, rdlen; /* offset and length of RDATA */
};

static int rr_read(const uint8_t *msg, size_t len, size_t *pos,
		   struct rr_head *h)
{
	size_t p;

	if (dns_name_parse(msg, len, *pos, h->owner, sizeof(h->owner), &p) != 0)
		return DNS_ERR_FORMAT;
	if (p + 10 > len)
		return DNS_ERR_FORMAT;
	h->type = get16(msg + p);
	h->klass = get16(msg + p + 2);
	h->ttl = ttl_of(get32(msg + p + 4));
	h->rdlen = get16(msg + p + 8);
	h->rdata = p + 10;
	if (h->rdata + h->rdlen > len)
		return DNS_ERR_FORMAT;
	*pos = h->rdata + h->rdlen;
	return 0;
}

/* Append n bytes and a NUL to the pool; -1 when it does not fit. */
static int pool_add(struct dns_answer *a, const void *p, size_t n,
		    uint32_t *off)
{
	if (n + 1 > DNS_POOL_MAX - a->pool_len)
		return -1;
	memcpy(a->pool + a->pool_len, p, n);
	a->pool[a->pool_len + n] = 0;
	*off = (uint32_t)a->pool_len;
	a->pool_len += n + 1;
	return 0;
}

/* A name inside RDATA: it must end within the RDATA. */
static int rdata_name(const uint8_t *msg, size_t len, const struct rr_head *h,
		      size_t at, char *text, size_t *next)
{
	if (dns_name_parse(msg, len, at, text, DNS_NAME_TEXT_MAX, next) != 0 ||
	    *next > h->rdata + h->rdlen)
		return DNS_ERR_FORMAT;
	return 0;
}

/* Decode the RDATA of a kept record into rr (and the pool). 0, 1 when it
 * did not fit (dropped), or DNS_ERR_FORMAT. */
static int rr_keep(const uint8_t *msg, size_t len, const struct rr_head *h,
		   struct dns_answer *a, struct dns_rr *rr)
{
	char name[DNS_NAME_TEXT_MAX];
	const uint8_t *d = msg + h->rdata;
	size_t next, at;

	memset(rr, 0, sizeof(*rr));
	rr->type = h->type;
	rr->ttl = h->ttl;
	switch (h->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (h->rdlen != (h->type == DNS_T_A ? 4u : 16u))
			return DNS_ERR_FORMAT;
		memcpy(rr->addr, d, h->rdlen);
		return 0;
	case DNS_T_MX:
		if (h->rdlen < 3)
			return DNS_ERR_FORMAT;
		rr->pref = get16(d);
		at = h->rdata + 2;
		break;
	case DNS_T_CNAME:
	case DNS_T_NS:
	case DNS_T_PTR:
		at = h->rdata;
		break;
	case DNS_T_TXT: {
		size_t i = 0, start = a->pool_len, total = 0;

		if (h->rdlen == 0)
			return DNS_ERR_FORMAT;
		while (i < h->rdlen) {
			size_t sl = d[i];

			if (i + 1 + sl > h->rdlen)
				return DNS_ERR_FORMAT;
			total += sl;
			i += 1 + sl;
		}
		if (total + 1 > DNS_POOL_MAX - a->pool_len)
			return 1;
		for (i = 0; i < h->rdlen; i += 1 + (size_t)d[i]) {
			memcpy(a->pool + a->pool_len, d + i + 1, d[i]);
			a->pool_len += d[i];
		}
		a->pool[a->pool_len++] = 0;
		rr->off = (uint32_t)start;
		rr->len = (uint32_t)total;
		return 0;
	}
	default:
		return DNS_ERR_FORMAT;
	}
	if (rdata_name(msg, len, h, at, name, &next) != 0 ||
	    next != h->rdata + h->rdlen)
		return DNS_ERR_FORMAT;
	rr->len = (uint32_t)strlen(name);
	return pool_add(a, name, rr->len, &rr->off) == 0 ? 0 : 1;
}

static int type_kept(uint16_t t)
{
	return t == DNS_T_A || t == DNS_T_AAAA || t == DNS_T_MX ||
	       t == DNS_T_TXT || t == DNS_T_PTR || t == DNS_T_CNAME ||
	       t == DNS_T_NS;
}

/* dns_answer_parse - header, question check, answers along the CNAME
 * chain, SOA from the authority section for negative answers. */
int dns_answer_parse(const uint8_t *msg, size_t len, uint16_t id,
		     const char *name, uint16_t type, struct dns_answer *out)
{
	char qname[DNS_NAME_TEXT_MAX], target[DNS_NAME_TEXT_MAX];
	struct rr_head h;
	uint16_t flags, qd, an, ns;
	size_t pos, an_start, ns_start, links = 0;
	uint32_t min_ttl = UINT32_MAX;

	memset(out, 0, offsetof(struct dns_answer, rr));
	out->pool_len = 0;
	out->neg_ttl = DNS_NEG_TTL_NONE;
	if (len < DNS_HEADER_LEN)
		return DNS_ERR_FORMAT;
	flags = get16(msg + 2);
	qd = get16(msg + 4);
	an = get16(msg + 6);
	ns = get16(msg + 8);
	if (get16(msg) != id || !(flags & HDR_FLAG_QR) ||
	    (flags & HDR_OPCODE_MASK) != 0 || qd != 1)
		return DNS_ERR_MISMATCH;
	out->rcode = flags & HDR_RCODE_MASK;
	out->tc = (flags & HDR_FLAG_TC) != 0;
	out->aa = (flags & HDR_FLAG_AA) != 0;
	if (dns_name_parse(msg, len, DNS_HEADER_LEN, qname, sizeof(qname),
			   &pos) != 0 ||
	    pos + 4 > len)
		return out->tc ? DNS_ERR_MISMATCH : DNS_ERR_FORMAT;
	if (!name_equal(qname, name) || get16(msg + pos) != type ||
	    get16(msg + pos + 2) != DNS_C_IN)
		return DNS_ERR_MISMATCH;
	pos += 4;
	/* A truncated reply may carry counts for records it dropped: only
	 * the question matters then. */
	if (!out->tc &&
	    (size_t)an + ns + get16(msg + 10) > (len - pos) / DNS_RR_MIN_LEN)
		return DNS_ERR_FORMAT;
	if (out->tc) /* the canonical name is the question's, for now */
		return pool_add(out, qname, strlen(qname), &out->cname_off) == 0
			       ? 0
			       : DNS_ERR_FORMAT;
	an_start = pos;
	/* Validate the answer section once, find where authority starts. */
	for (uint16_t i = 0; i < an; i++)
		if (rr_read(msg, len, &pos, &h) != 0)
			return DNS_ERR_FORMAT;
	ns_start = pos;
	/* Walk the chain: records of the type owned by target; if none, a
	 * CNAME owned by target moves the target on. */
	memcpy(target, qname, strlen(qname) + 1);
	for (;;) {
		int found = 0, moved = 0;

		pos = an_start;
		for (uint16_t i = 0; i < an; i++) {
			(void)rr_read(msg, len, &pos, &h);
			if (h.klass != DNS_C_IN || !type_kept(h.type) ||
			    !name_equal(h.owner, target))
				continue;
			if (h.type == type) {
				int r;

				found = 1;
				if (out->n == DNS_ANSWER_MAX) {
					out->partial = 1;
					continue;
				}
				r = rr_keep(msg, len, &h, out,
					    &out->rr[out->n]);
				if (r < 0)
					return r;
				if (r > 0) {
					out->partial = 1;
					continue;
				}
				out->n++;
				if (h.ttl < min_ttl)
					min_ttl = h.ttl;
			}
		}
		if (found || type == DNS_T_CNAME)
			break;
		pos = an_start;
		for (uint16_t i = 0; i < an && !moved; i++) {
			size_t next;

			(void)rr_read(msg, len, &pos, &h);
			if (h.klass != DNS_C_IN || h.type != DNS_T_CNAME ||
			    !name_equal(h.owner, target))
				continue;
			if (++links > DNS_CNAME_MAX)
				return DNS_ERR_FORMAT; /* long chain or loop */
			if (rdata_name(msg, len, &h, h.rdata, target, &next) !=
				    0 ||
			    next != h.rdata + h.rdlen)
				return DNS_ERR_FORMAT;
			if (h.ttl < min_ttl)
				min_ttl = h.ttl;
			moved = 1;
		}
		if (!moved)
			break;
	}
	out->ttl = min_ttl == UINT32_MAX ? 0 : min_ttl;
	if (pool_add(out, target, strlen(target), &out->cname_off) != 0) {
		out->partial = 1;
		out->cname_off = 0;
		out->pool[0] = 0;
		if (out->pool_len == 0)
			out->pool_len = 1;
	}
	/* Negative answers: the SOA's TTL and MINIMUM (RFC 2308 5). */
	pos = ns_start;
	for (uint16_t i = 0; i < ns; i++) {
		char mname[DNS_NAME_TEXT_MAX];
		size_t next;

		if (rr_read(msg, len, &pos, &h) != 0)
			return DNS_ERR_FORMAT;
		if (h.type != DNS_T_SOA || h.klass != DNS_C_IN || out->n != 0)
			continue;
		if (rdata_name(msg, len, &h, h.rdata, mname, &next) != 0 ||
		    rdata_name(msg, len, &h, next, mname, &next) != 0 ||
		    next + 20 != h.rdata + h.rdlen)
			return DNS_ERR_FORMAT;
		{
			uint32_t minimum = ttl_of(get32(msg + next + 16));

			out->neg_ttl = h.ttl < minimum ? h.ttl : minimum;
		}
	}
	return 0;
}

const char *dns_type_name(uint16_t type)
{
	switch (type) {
	case DNS_T_A:
		return "A";
	case DNS_T_NS:
		return "NS";
	case DNS_T_CNAME:
		return "CNAME";
	case DNS_T_SOA:
		return "SOA";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	default:
		return "unknown";
	}
}

const char *dns_rcode_name(int rcode)
{
	static const char *names[] = {"NOERROR",  "FORMERR", "SERVFAIL",
				      "NXDOMAIN", "NOTIMP",  "REFUSED"};

	if (rcode >= 0 && rcode < (int)(sizeof(names) / sizeof(names[0])))
		return names[rcode];
	return "unknown";
}
