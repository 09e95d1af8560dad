/* packet - DNS messages on the wire: build a query, parse a response.
 *
 * RFC 1035 (sections 4.1 and 3.3), EDNS0 OPT pseudo-record (RFC 6891), TTL
 * handling as RFC 2181 section 8, negative TTL as RFC 2308 section 5.
 *
 * dns_query_format() writes one recursive query (RD set) for one question,
 * with an OPT record advertising udp_size (0: no OPT). The ID is the
 * caller's (the resolver draws it from getrandom()).
 *
 * dns_answer_parse() is a pure parser (STYLE.md rule 10): bytes with an
 * explicit length, no I/O, no allocation, no globals. It accepts only a
 * response (QR) to a standard query whose ID and single question (name
 * ignoring ASCII case, type, class IN) match the query: anything else is
 * DNS_ERR_MISMATCH, a packet the resolver ignores (it keeps waiting for the
 * real answer). With TC set the parse stops after the header and question
 * (tc = 1): the caller asks again over TCP.
 *
 * Answers: the records of the question's type owned by the question name
 * or, following CNAME records found in the answer section, by the end of
 * the chain (at most DNS_CNAME_MAX links; a longer chain or a loop is
 * DNS_ERR_FORMAT). Kept types: A, AAAA, MX, NS, TXT, PTR, CNAME; records of
 * other types and classes are skipped. Names come out in presentation form
 * without the trailing dot ("mx.example"; the root is "."); bytes other than
 * letters, digits, '-', '_' and '*' are written as \DDD, so a name never
 * contains a NUL or a bare dot inside a label. TXT data is the concatenation
 * of the record's character-strings (as SPF and DKIM read them), binary-safe
 * with an explicit length. Names and TXT data live in the answer's pool;
 * struct dns_answer has no pointers and may be copied with memcpy (the
 * cache does).
 *
 * Limits (STYLE.md rule 8): at most DNS_ANSWER_MAX records are kept and
 * DNS_POOL_MAX bytes of names and text; what does not fit is dropped and
 * flagged (partial = 1). Compression pointers must point strictly backwards
 * from the place they are read (so no loop, no forward reference) and at
 * most DNS_PTR_MAX are followed in one name; a name over 255 octets, a label
 * over 63, a record running past its RDLENGTH or past the message are
 * DNS_ERR_FORMAT. Section counts are not trusted: the walk stops at the end
 * of the message, and counts that promise more records than the bytes can
 * hold are DNS_ERR_FORMAT.
 *
 * TTLs: a TTL with the top bit set counts as 0 (RFC 2181 8). ttl is the
 * smallest TTL of the records used (CNAMEs included); for NXDOMAIN and
 * NODATA, neg_ttl is min(SOA TTL, SOA MINIMUM) of an SOA in the authority
 * section, or DNS_NEG_TTL_NONE when there is none (such answers are not
 * cached, RFC 2308 5). */
#ifndef MAILGW_DNS_PACKET_H
#define MAILGW_DNS_PACKET_H

#include <stddef.h>
#include <stdint.h>

/* Types and class. */
#define DNS_T_A     1
#define DNS_T_NS    2
#define DNS_T_CNAME 5
#define DNS_T_SOA   6
#define DNS_T_PTR   12
#define DNS_T_MX    15
#define DNS_T_TXT   16
#define DNS_T_AAAA  28
#define DNS_T_OPT   41
#define DNS_C_IN    1

/* Response codes (RFC 1035 4.1.1). */
#define DNS_R_NOERROR  0
#define DNS_R_FORMERR  1
#define DNS_R_SERVFAIL 2
#define DNS_R_NXDOMAIN 3
#define DNS_R_NOTIMP   4
#define DNS_R_REFUSED  5

/* Limits. */
#define DNS_HEADER_LEN    12
#define DNS_NAME_WIRE_MAX 255   /* octets of a wire name (RFC 1035 2.3.4) */
#define DNS_LABEL_MAX     63    /* octets of a label */
#define DNS_NAME_TEXT_MAX 1024  /* text form and NUL (\DDD escapes) */
#define DNS_PTR_MAX       64    /* compression pointers followed in one name */
#define DNS_CNAME_MAX     8     /* CNAME links followed within one answer */
#define DNS_ANSWER_MAX    32    /* records kept from one answer */
#define DNS_POOL_MAX      8192  /* bytes of names and TXT data kept */
#define DNS_MSG_MAX       65535 /* largest message (TCP length prefix) */
#define DNS_UDP_PLAIN_MAX 512   /* UDP payload without EDNS0 (RFC 1035 4.2.1) */
#define DNS_RR_MIN_LEN    11    /* root name + type, class, TTL, RDLENGTH */
#define DNS_QUERY_MAX     (DNS_HEADER_LEN + DNS_NAME_WIRE_MAX + 4 + DNS_RR_MIN_LEN)
#define DNS_NEG_TTL_NONE  UINT32_MAX

/* Errors of the parser and builder. */
#define DNS_ERR_FORMAT   (-1) /* malformed message or name */
#define DNS_ERR_MISMATCH (-2) /* not a response to this query: ignore it */
#define DNS_ERR_SPACE    (-3) /* builder: output too small */
#define DNS_ERR_NAME     (-4) /* builder: name not representable */

struct dns_rr {
	uint16_t type;
	uint16_t pref; /* MX preference */
	uint32_t ttl;
	uint8_t addr[16];  /* A: 4 octets, AAAA: 16 */
	uint32_t off, len; /* MX/NS/PTR/CNAME target name, TXT data: pool */
};

struct dns_answer {
	int rcode; /* DNS_R_* */
	int tc, aa, partial;
	uint32_t ttl;       /* smallest TTL used; 0 when no record */
	uint32_t neg_ttl;   /* NXDOMAIN/NODATA: from the SOA, or NONE */
	uint32_t cname_off; /* canonical name (end of the chain) in the pool */
	size_t n;
	struct dns_rr rr[DNS_ANSWER_MAX];
	size_t pool_len;
	char pool[DNS_POOL_MAX]; /* NUL after every name and TXT datum */
};

/* dns_query_format - the query for name (presentation form, NUL-ended, a
 * trailing dot allowed, no escapes) into out[0..cap). 0 and *len, or
 * DNS_ERR_NAME/DNS_ERR_SPACE. */
int dns_query_format(uint8_t *out, size_t cap, uint16_t id, const char *name,
		     uint16_t type, uint16_t udp_size, size_t *len);

/* dns_answer_parse - parse msg[0..len) as the response to the query with
 * id, name and type. 0 with *out filled, or DNS_ERR_FORMAT/MISMATCH. */
int dns_answer_parse(const uint8_t *msg, size_t len, uint16_t id,
		     const char *name, uint16_t type, struct dns_answer *out);

/* dns_name_parse - the name at msg[off] (with compression) in presentation
 * form into text[0..cap); *next is the offset after the name where it was
 * found. 0 or DNS_ERR_FORMAT (also when cap is too small). */
int dns_name_parse(const uint8_t *msg, size_t len, size_t off, char *text,
		   size_t cap, size_t *next);

/* The text of a record's name or TXT data (NUL-terminated; TXT may hold
 * NULs itself, its length is rr->len). */
static inline const char *dns_rr_text(const struct dns_answer *a,
				      const struct dns_rr *rr)
{
	return a->pool + rr->off;
}

const char *dns_type_name(uint16_t type);
const char *dns_rcode_name(int rcode);

#endif
