/* test_dns_packet - the DNS query builder and response parser, with
 * hand-made packets, including malicious ones (compression loops, forward
 * pointers, truncated records, oversized counts). */
#include "testutil.h"

#include "dns/packet.h"

/* A response under construction: header, question, then raw records. */
struct pkt {
	uint8_t b[DNS_MSG_MAX];
	size_t n;
};

static void put(struct pkt *p, const void *d, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void put16(struct pkt *p, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(p, b, 2);
}

static void put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

/* Header for id with flags, counts; question name/type (wire via the
 * builder, so the question is at offset 12). */
static void start(struct pkt *p, uint16_t id, unsigned flags, const char *qn,
		  uint16_t qt, unsigned an, unsigned ns)
{
	size_t len;

	assert_int_equal(
		dns_query_format(p->b, sizeof(p->b), id, qn, qt, 0, &len), 0);
	p->n = len;
	p->b[2] = (uint8_t)(flags >> 8);
	p->b[3] = (uint8_t)flags;
	p->b[6] = (uint8_t)(an >> 8);
	p->b[7] = (uint8_t)an;
	p->b[8] = (uint8_t)(ns >> 8);
	p->b[9] = (uint8_t)ns;
}

/* Record header with owner as a raw wire name. */
static void rr(struct pkt *p, const void *owner, size_t olen, uint16_t type,
	       uint32_t ttl, uint16_t rdlen)
{
	put(p, owner, olen);
	put16(p, type);
	put16(p, DNS_C_IN);
	put32(p, ttl);
	put16(p, rdlen);
}

static const uint8_t at_q[2] = {0xc0, 12}; /* pointer to the question name */

#define RESP 0x8180 /* QR RD RA, NOERROR */

static void test_query_format(void **state)
{
	uint8_t b[DNS_QUERY_MAX];
	size_t len;
	/* clang-format off */
	static const uint8_t want[] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, /* header */
		2, 'm', 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
		0, 15, 0, 1, /* question */
		0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0}; /* OPT 1232 */
	/* clang-format on */
	char big[300];

	(void)state;
	assert_int_equal(dns_query_format(b, sizeof(b), 0x1234, "mx.example.",
					  DNS_T_MX, 1232, &len),
			 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(b, want, sizeof(want));
	assert_int_equal(
		dns_query_format(b, sizeof(b), 1, ".", DNS_T_A, 0, &len), 0);
	assert_int_equal(len, 12 + 1 + 4);
	/* Empty labels, long labels, long names, escapes, no room. */
	assert_int_equal(dns_query_format(b, sizeof(b), 1, "a..b", 1, 0, &len),
			 DNS_ERR_NAME);
	assert_int_equal(dns_query_format(b, sizeof(b), 1, ".a", 1, 0, &len),
			 DNS_ERR_NAME);
	assert_int_equal(dns_query_format(b, sizeof(b), 1, "", 1, 0, &len),
			 DNS_ERR_NAME);
	assert_int_equal(dns_query_format(b, sizeof(b), 1, "a\\.b", 1, 0, &len),
			 DNS_ERR_NAME);
	memset(big, 'a', 64);
	big[64] = 0;
	assert_int_equal(dns_query_format(b, sizeof(b), 1, big, 1, 0, &len),
			 DNS_ERR_NAME);
	big[63] = 0;
	assert_int_equal(dns_query_format(b, sizeof(b), 1, big, 1, 0, &len), 0);
	/* 4 labels of 63 = 256 wire octets: too long; 3 of 63 + 61 fits. */
	for (int i = 0; i < 4; i++) {
		memset(big + i * 64, 'a', 63);
		big[i * 64 + 63] = '.';
	}
	big[255] = 0;
	assert_int_equal(dns_query_format(b, sizeof(b), 1, big, 1, 0, &len),
			 DNS_ERR_NAME);
	big[253] = 0; /* last label 61: 64*3 + 62 + 1 = 255 */
	assert_int_equal(dns_query_format(b, sizeof(b), 1, big, 1, 0, &len), 0);
	assert_int_equal(len, 12 + 255 + 4);
	assert_int_equal(dns_query_format(b, 20, 1, "example", 1, 0, &len),
			 DNS_ERR_SPACE);
}

static void test_a_aaaa_ttl(void **state)
{
	static struct pkt p;
	static struct dns_answer a;
	static const uint8_t v4[4] = {192, 0, 2, 1},
			     v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

	(void)state;
	start(&p, 7, RESP | 0x0400, "Host.Example", DNS_T_A, 3, 0);
	rr(&p, at_q, 2, DNS_T_A, 300, 4);
	put(&p, v4, 4);
	rr(&p, at_q, 2, DNS_T_AAAA, 10, 16); /* other type: skipped */
	put(&p, v6, 16);
	rr(&p, at_q, 2, DNS_T_A, 0x80000000u, 4); /* sign bit: TTL 0 */
	put(&p, v4, 4);
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 7, "host.example.", DNS_T_A, &a), 0);
	assert_int_equal(a.rcode, DNS_R_NOERROR);
	assert_int_equal(a.aa, 1);
	assert_int_equal(a.n, 2);
	assert_memory_equal(a.rr[0].addr, v4, 4);
	assert_int_equal(a.rr[0].ttl, 300);
	assert_int_equal(a.rr[1].ttl, 0);
	assert_int_equal(a.ttl, 0);
	assert_string_equal(a.pool + a.cname_off, "Host.Example");
	/* Wrong ID, wrong name, wrong type, a query not a response. */
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 8, "host.example", DNS_T_A, &a),
		DNS_ERR_MISMATCH);
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 7, "host.example.org", DNS_T_A, &a),
		DNS_ERR_MISMATCH);
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 7, "host.example", DNS_T_AAAA, &a),
		DNS_ERR_MISMATCH);
	p.b[2] &= 0x7f;
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 7, "host.example", DNS_T_A, &a),
		DNS_ERR_MISMATCH);
	/* AAAA with 4 octets of RDATA: malformed. */
	start(&p, 7, RESP, "h", DNS_T_AAAA, 1, 0);
	rr(&p, at_q, 2, DNS_T_AAAA, 1, 4);
	put(&p, v4, 4);
	assert_int_equal(dns_answer_parse(p.b, p.n, 7, "h", DNS_T_AAAA, &a),
			 DNS_ERR_FORMAT);
}

static void test_mx_null_txt_ptr(void **state)
{
	static struct pkt p;
	static struct dns_answer a;
	static const uint8_t mx1[] = {4, 'm', 'a', 'i', 'l', 0xc0, 12};
	static const uint8_t txt[] = {7,   'v', '=', 's', 'p', 'f', '1',
				      ' ', 4,   '-', 'a', 'l', 'l'};
	static const uint8_t ptr[] = {1,   'x', 7,   'e', 'x', 'a',
				      'm', 'p', 'l', 'e', 0};

	(void)state;
	start(&p, 1, RESP, "example", DNS_T_MX, 2, 0);
	rr(&p, at_q, 2, DNS_T_MX, 60, 2 + sizeof(mx1));
	put16(&p, 10);
	put(&p, mx1, sizeof(mx1));
	rr(&p, at_q, 2, DNS_T_MX, 30, 3);
	put16(&p, 20);
	put(&p, "", 1); /* root */
	assert_int_equal(dns_answer_parse(p.b, p.n, 1, "example", DNS_T_MX, &a),
			 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.rr[0].pref, 10);
	assert_string_equal(dns_rr_text(&a, &a.rr[0]), "mail.example");
	assert_int_equal(a.rr[1].pref, 20);
	assert_string_equal(dns_rr_text(&a, &a.rr[1]), ".");
	assert_int_equal(a.ttl, 30);
	/* MX RDATA longer than its name: malformed. */
	start(&p, 1, RESP, "example", DNS_T_MX, 1, 0);
	rr(&p, at_q, 2, DNS_T_MX, 60, 4);
	put16(&p, 0);
	put(&p, "\0\0", 2);
	assert_int_equal(dns_answer_parse(p.b, p.n, 1, "example", DNS_T_MX, &a),
			 DNS_ERR_FORMAT);
	/* TXT: strings concatenated. */
	start(&p, 1, RESP, "example", DNS_T_TXT, 1, 0);
	rr(&p, at_q, 2, DNS_T_TXT, 60, sizeof(txt));
	put(&p, txt, sizeof(txt));
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 1, "example", DNS_T_TXT, &a), 0);
	assert_int_equal(a.rr[0].len, 11);
	assert_string_equal(dns_rr_text(&a, &a.rr[0]), "v=spf1 -all");
	/* TXT string running past RDLENGTH. */
	start(&p, 1, RESP, "example", DNS_T_TXT, 1, 0);
	rr(&p, at_q, 2, DNS_T_TXT, 60, 3);
	put(&p,
	    "\x05"
	    "ab",
	    3);
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 1, "example", DNS_T_TXT, &a),
		DNS_ERR_FORMAT);
	/* PTR, and a label byte that needs escaping. */
	start(&p, 1, RESP, "1.2.0.192.in-addr.arpa", DNS_T_PTR, 1, 0);
	rr(&p, at_q, 2, DNS_T_PTR, 60, sizeof(ptr) + 2);
	put(&p, "\x01.", 2);
	put(&p, ptr, sizeof(ptr));
	assert_int_equal(dns_answer_parse(p.b, p.n, 1, "1.2.0.192.in-addr.arpa",
					  DNS_T_PTR, &a),
			 0);
	assert_string_equal(dns_rr_text(&a, &a.rr[0]), "\\046.x.example");
}

static void test_cname_chain(void **state)
{
	static struct pkt p;
	static struct dns_answer a;
	static const uint8_t b_name[] = {1, 'b', 0xc0, 14}; /* b.<example> */
	static const uint8_t c_name[] = {1, 'c', 0xc0, 14};
	size_t b_off;

	(void)state;
	/* a.example CNAME b.example CNAME c.example A; out of order. */
	start(&p, 9, RESP, "a.example", DNS_T_A, 3, 0);
	rr(&p, at_q, 2, DNS_T_CNAME, 100, sizeof(b_name));
	b_off = p.n;
	put(&p, b_name, sizeof(b_name));
	{
		uint8_t c_ptr[2] = {0xc0, 0};

		p.b[p.n] = 0;
		/* c's A record first, owner "c.example" written out. */
		rr(&p,
		   "\x01"
		   "c\x07"
		   "example",
		   11, DNS_T_A, 50, 4);
		put(&p, "\x0a\x00\x00\x01", 4);
		c_ptr[1] = (uint8_t)b_off;
		rr(&p, c_ptr, 2, DNS_T_CNAME, 200, sizeof(c_name));
		put(&p, c_name, sizeof(c_name));
	}
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 9, "a.example", DNS_T_A, &a), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.rr[0].addr[0], 10);
	assert_string_equal(a.pool + a.cname_off, "c.example");
	assert_int_equal(a.ttl, 50);
	/* Asking for the CNAME itself does not follow it. */
	p.b[12 + 11] = 0;
	p.b[12 + 12] = DNS_T_CNAME;
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 9, "a.example", DNS_T_CNAME, &a), 0);
	assert_int_equal(a.n, 1);
	assert_string_equal(dns_rr_text(&a, &a.rr[0]), "b.example");
	/* A CNAME loop: a -> a. */
	start(&p, 9, RESP, "a.example", DNS_T_A, 1, 0);
	rr(&p, at_q, 2, DNS_T_CNAME, 100, 2);
	put(&p, at_q, 2);
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 9, "a.example", DNS_T_A, &a),
		DNS_ERR_FORMAT);
	/* A CNAME to nowhere in this answer: NOERROR, no records, the
	 * canonical name is where the chain stopped. */
	start(&p, 9, RESP, "a.example", DNS_T_A, 1, 0);
	rr(&p, at_q, 2, DNS_T_CNAME, 100, sizeof(b_name));
	put(&p, b_name, sizeof(b_name));
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 9, "a.example", DNS_T_A, &a), 0);
	assert_int_equal(a.n, 0);
	assert_string_equal(a.pool + a.cname_off, "b.example");
}

static void test_negative(void **state)
{
	static struct pkt p;
	static struct dns_answer a;
	static const uint8_t soa_names[] = {2,   'n', 's', 0xc0, 15,   4,
					    'h', 'o', 's', 't',  0xc0, 15};

	(void)state;
	start(&p, 3, RESP | DNS_R_NXDOMAIN, "no.example", DNS_T_A, 0, 1);
	/* owner = "example" (at offset 15, pointer) */
	rr(&p, "\xc0\x0f", 2, DNS_T_SOA, 900, sizeof(soa_names) + 20);
	put(&p, soa_names, sizeof(soa_names));
	put32(&p, 1);
	put32(&p, 2);
	put32(&p, 3);
	put32(&p, 4);
	put32(&p, 120); /* MINIMUM */
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 3, "no.example", DNS_T_A, &a), 0);
	assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
	assert_int_equal(a.n, 0);
	assert_int_equal(a.neg_ttl, 120);
	/* Without an SOA: no negative TTL. SERVFAIL passes through. */
	start(&p, 3, RESP | DNS_R_SERVFAIL, "no.example", DNS_T_A, 0, 0);
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 3, "no.example", DNS_T_A, &a), 0);
	assert_int_equal(a.rcode, DNS_R_SERVFAIL);
	assert_int_equal(a.neg_ttl, DNS_NEG_TTL_NONE);
	assert_string_equal(dns_rcode_name(a.rcode), "SERVFAIL");
}

static void test_tc(void **state)
{
	static struct pkt p;
	static struct dns_answer a;

	(void)state;
	/* TC: header and question only, answer count ignored. */
	start(&p, 5, RESP | 0x0200, "big.example", DNS_T_TXT, 0, 0);
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 5, "big.example", DNS_T_TXT, &a), 0);
	assert_int_equal(a.tc, 1);
	assert_int_equal(a.n, 0);
	assert_string_equal(a.pool + a.cname_off, "big.example");
	/* Counts for records the server dropped: still a TC reply, so the
	 * resolver goes to TCP instead of waiting for a timeout. */
	start(&p, 5, RESP | 0x0200, "big.example", DNS_T_TXT, 40, 0);
	rr(&p, at_q, 2, DNS_T_TXT, 60, 200); /* cut short */
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 5, "big.example", DNS_T_TXT, &a), 0);
	assert_int_equal(a.tc, 1);
	/* Without TC the same counts are malformed. */
	p.b[2] &= (uint8_t)~0x02;
	assert_int_equal(
		dns_answer_parse(p.b, p.n, 5, "big.example", DNS_T_TXT, &a),
		DNS_ERR_FORMAT);
}

static void test_malicious(void **state)
{
	static struct pkt p;
	static struct dns_answer a;
	char text[DNS_NAME_TEXT_MAX];
	size_t next;
	static const uint8_t loop[] = {0xc0, 0x00};

	(void)state;
	/* A pointer to itself, a forward pointer, a two-pointer loop. */
	start(&p, 1, RESP, "x", DNS_T_A, 1, 0);
	rr(&p, "\xc0\x10", 2, DNS_T_A, 1, 4); /* at 19: -> 16 (forward? no) */
	put(&p, "\0\0\0\0", 4);
	p.b[19] = 0xc0;
	p.b[20] = 19; /* itself */
	assert_int_equal(dns_answer_parse(p.b, p.n, 1, "x", DNS_T_A, &a),
			 DNS_ERR_FORMAT);
	p.b[20] = 25; /* forward */
	assert_int_equal(dns_answer_parse(p.b, p.n, 1, "x", DNS_T_A, &a),
			 DNS_ERR_FORMAT);
	/* In a name parse directly: 0: ptr->2, 2: ptr->0 (loop), rejected
	 * because 2 -> 0 is backwards but 0 -> 2 is forward. */
	{
		uint8_t m[] = {0xc0, 0x02, 0xc0, 0x00};

		assert_int_equal(
			dns_name_parse(m, 4, 2, text, sizeof(text), &next),
			DNS_ERR_FORMAT);
		assert_int_equal(
			dns_name_parse(loop, 2, 0, text, sizeof(text), &next),
			DNS_ERR_FORMAT);
	}
	/* A chain of backward pointers longer than DNS_PTR_MAX. */
	{
		static uint8_t m[2 + 2 * (DNS_PTR_MAX + 2)];
		size_t i;

		m[0] = 0;
		for (i = 1; i < DNS_PTR_MAX + 2; i++) {
			m[2 * i] = 0xc0;
			m[2 * i + 1] = (uint8_t)(2 * (i - 1));
		}
		assert_int_equal(dns_name_parse(m, sizeof(m), 2, text,
						sizeof(text), &next),
				 0);
		assert_string_equal(text, ".");
		assert_int_equal(dns_name_parse(m, 2 * (DNS_PTR_MAX + 2),
						2 * (DNS_PTR_MAX + 1), text,
						sizeof(text), &next),
				 DNS_ERR_FORMAT);
	}
	/* Labels whose total passes 255 octets through pointers. */
	{
		static uint8_t m[512];
		size_t n = 0, last = 0, third = 0;

		m[n++] = 0;
		for (int i = 0; i < 5; i++) {
			size_t start_at = n;

			m[n++] = 63;
			memset(m + n, 'a', 63);
			n += 63;
			m[n++] = (uint8_t)(0xc0 | (last >> 8));
			m[n++] = (uint8_t)(last & 0xff);
			last = start_at;
			if (i == 2)
				third = start_at;
		}
		assert_int_equal(
			dns_name_parse(m, n, third, text, sizeof(text), &next),
			0);
		assert_int_equal(strlen(text), 3 * 64 - 1);
		assert_int_equal(
			dns_name_parse(m, n, last, text, sizeof(text), &next),
			DNS_ERR_FORMAT);
	}
	/* Extended label type 0x40. */
	{
		uint8_t m[] = {0x41, 'a', 0};

		assert_int_equal(
			dns_name_parse(m, 3, 0, text, sizeof(text), &next),
			DNS_ERR_FORMAT);
	}
	/* Truncated records: cut everywhere inside the last record. */
	start(&p, 1, RESP, "x", DNS_T_A, 1, 0);
	rr(&p, at_q, 2, DNS_T_A, 1, 4);
	put(&p, "\1\2\3\4", 4);
	for (size_t cut = 1; cut < 14; cut++)
		assert_int_equal(
			dns_answer_parse(p.b, p.n - cut, 1, "x", DNS_T_A, &a),
			DNS_ERR_FORMAT);
	assert_int_equal(dns_answer_parse(p.b, p.n, 1, "x", DNS_T_A, &a), 0);
	/* RDLENGTH past the end. */
	p.b[p.n - 5] = 200;
	assert_int_equal(dns_answer_parse(p.b, p.n, 1, "x", DNS_T_A, &a),
			 DNS_ERR_FORMAT);
	/* Oversized counts: 65535 answers in a short message. */
	start(&p, 1, RESP, "x", DNS_T_A, 0xffff, 0xffff);
	assert_int_equal(dns_answer_parse(p.b, p.n, 1, "x", DNS_T_A, &a),
			 DNS_ERR_FORMAT);
	/* Short header, two questions. */
	assert_int_equal(dns_answer_parse(p.b, 11, 1, "x", DNS_T_A, &a),
			 DNS_ERR_FORMAT);
	start(&p, 1, RESP, "x", DNS_T_A, 0, 0);
	p.b[5] = 2;
	assert_int_equal(dns_answer_parse(p.b, p.n, 1, "x", DNS_T_A, &a),
			 DNS_ERR_MISMATCH);
}

static void test_limits(void **state)
{
	static struct pkt p;
	static struct dns_answer a;
	uint8_t s[256];

	(void)state;
	/* More A records than DNS_ANSWER_MAX: the first kept, flagged. */
	start(&p, 1, RESP, "x", DNS_T_A, DNS_ANSWER_MAX + 5, 0);
	for (int i = 0; i < DNS_ANSWER_MAX + 5; i++) {
		rr(&p, at_q, 2, DNS_T_A, 1, 4);
		put(&p, "\1\2\3\4", 4);
	}
	assert_int_equal(dns_answer_parse(p.b, p.n, 1, "x", DNS_T_A, &a), 0);
	assert_int_equal(a.n, DNS_ANSWER_MAX);
	assert_int_equal(a.partial, 1);
	/* TXT data past the pool: the records that fit, flagged. */
	start(&p, 1, RESP, "x", DNS_T_TXT, 12, 0);
	memset(s, 'k', sizeof(s));
	for (int i = 0; i < 12; i++) {
		rr(&p, at_q, 2, DNS_T_TXT, 1, 3 * 256);
		for (int j = 0; j < 3; j++) {
			s[0] = 255;
			put(&p, s, 256);
		}
	}
	assert_int_equal(dns_answer_parse(p.b, p.n, 1, "x", DNS_T_TXT, &a), 0);
	assert_int_equal(a.n, DNS_POOL_MAX / (3 * 255 + 1));
	assert_int_equal(a.rr[0].len, 3 * 255);
	assert_int_equal(a.partial, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_format),
		cmocka_unit_test(test_a_aaaa_ttl),
		cmocka_unit_test(test_mx_null_txt_ptr),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_tc),
		cmocka_unit_test(test_malicious),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
