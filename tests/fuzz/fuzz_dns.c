/* fuzz_dns - libFuzzer harness for the DNS response parser.
 *
 * The input is a response; the query it answers is taken from the input
 * itself (its ID, and its question name and type when the name parses), so
 * the fuzzer reaches the answer walk instead of stopping at the question
 * check. Properties beyond "no crash": only the documented error codes,
 * record and pool bounds kept, every kept name and TXT datum inside the
 * pool and NUL-terminated, a query built for the parsed name is accepted
 * again by the builder, and an MX answer turns into a sorted, bounded
 * exchanger list (deliver/mx.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/mx.h"
#include "dns/packet.h"

static struct dns_answer ans;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[DNS_NAME_TEXT_MAX];
	uint16_t id, type;
	size_t next;
	int r;

	if (size < DNS_HEADER_LEN)
		return 0;
	id = (uint16_t)((data[0] << 8) | data[1]);
	if (dns_name_parse(data, size, DNS_HEADER_LEN, name, sizeof(name),
			   &next) != 0 ||
	    next + 2 > size) {
		memcpy(name, "example", 8);
		type = DNS_T_A;
	} else {
		type = (uint16_t)((data[next] << 8) | data[next + 1]);
	}
	if (strlen(name) >= DNS_NAME_TEXT_MAX)
		abort();
	r = dns_answer_parse(data, size, id, name, type, &ans);
	if (r != 0) {
		if (r != DNS_ERR_FORMAT && r != DNS_ERR_MISMATCH)
			abort();
		return 0;
	}
	if (ans.n > DNS_ANSWER_MAX || ans.pool_len > DNS_POOL_MAX ||
	    ans.cname_off >= ans.pool_len || ans.rcode < 0 || ans.rcode > 15)
		abort();
	if (ans.tc && ans.n != 0)
		abort();
	for (size_t i = 0; i < ans.n; i++) {
		const struct dns_rr *rr = &ans.rr[i];

		if (rr->type != type || (rr->ttl & 0x80000000u))
			abort();
		if (rr->type == DNS_T_A || rr->type == DNS_T_AAAA)
			continue;
		if ((size_t)rr->off + rr->len >= ans.pool_len ||
		    ans.pool[rr->off + rr->len] != 0)
			abort();
		if (rr->type != DNS_T_TXT &&
		    strlen(dns_rr_text(&ans, rr)) != rr->len)
			abort();
	}
	/* An MX answer as the SMTP client reads it: sorted, bounded,
	 * names NUL-terminated and shorter than ROUTE_HOST_MAX. */
	if (type == DNS_T_MX) {
		static struct mx_name mx[MX_NAMES_MAX];
		int n = mx_names_from_answer(&ans, NULL, mx, MX_NAMES_MAX);

		if (n > MX_NAMES_MAX)
			abort();
		for (int i = 0; i < n; i++)
			if (strlen(mx[i].name) >= ROUTE_HOST_MAX ||
			    (i > 0 && mx[i - 1].pref > mx[i].pref))
				abort();
	}
	return 0;
}
