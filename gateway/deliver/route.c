/* route - the next hop of a recipient, as Postfix's trivial-rewrite(8)
 * resolves it (transport(5), ADDRESS_CLASS_README).
 *
 * 1. The address class gives the default transport:nexthop:
 *    mydestination (or no domain) -> local_transport; relay_domains ->
 *    relay_transport; everything else -> default_transport. The nexthop is
 *    the one in that parameter, else (relay and default class) relayhost,
 *    else the recipient domain.
 * 2. transport_maps overrides it: the full address, the address without
 *    its extension (recipient_delimiter), then for fixed tables only the
 *    domain, its parent domains (".parent", or "parent" when
 *    parent_domain_matches_subdomains names transport_maps) and "*". The
 *    first table of the list that has a key wins for that key; an empty
 *    transport or nexthop in the result keeps the class default.
 * Domain literals (user@[192.0.2.1]) are in the default class here: they
 * never match inet_interfaces (local delivery is the next issue). A list
 * element that names a file ("/path") is not read yet: it is skipped with
 * a warning. */
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/params.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "deliver/deliver.h"
#include "dict/dict.h"

#define ROUTE_DICTS_MAX 64 /* distinct tables kept open */

/* Tables stay open for the process's life; a table spec names one. */
static struct {
	char *spec;
	struct dict *d;
} dicts[ROUTE_DICTS_MAX];

static struct dict *dict_cached(const char *spec, size_t len)
{
	struct buf err;
	struct dict *d;
	size_t i;

	for (i = 0; i < ROUTE_DICTS_MAX && dicts[i].spec; i++)
		if (strlen(dicts[i].spec) == len &&
		    memcmp(dicts[i].spec, spec, len) == 0)
			return dicts[i].d;
	if (i == ROUTE_DICTS_MAX) {
		msg_warn("route: more than %d lookup tables", ROUTE_DICTS_MAX);
		return NULL;
	}
	buf_init(&err, 4096);
	dicts[i].spec = mem_strndup(spec, len);
	if (dict_open(dicts[i].spec, DICT_FLAG_FOLD, &d, &err) != DICT_OK) {
		msg_warn("%s lookup error: %s", dicts[i].spec, buf_str(&err));
		mem_free(dicts[i].spec);
		dicts[i].spec = NULL;
		d = NULL;
	} else {
		dicts[i].d = d;
	}
	buf_free(&err);
	return d;
}

/* is_pattern - pattern tables see only full keys (Postfix's FIXED flag). */
static int is_pattern(struct dict *d)
{
	const char *t = dict_type(d);

	return strcmp(t, "regexp") == 0 || strcmp(t, "pcre") == 0 ||
	       strcmp(t, "cidr") == 0;
}

/* is_table - "type:name" with a known type. */
static int is_table(const char *tok, size_t len)
{
	const char *colon = memchr(tok, ':', len);
	char type[32];

	if (colon == NULL || (size_t)(colon - tok) >= sizeof(type))
		return 0;
	memcpy(type, tok, (size_t)(colon - tok));
	type[colon - tok] = 0;
	return dict_type_known(type);
}

/* parent_style - 1 when parent_domain_matches_subdomains names feature. */
static int parent_style(const char *feature)
{
	const char *cur = conf_get("parent_domain_matches_subdomains"), *tok;
	size_t len, flen = strlen(feature);

	while (cur && conf_list_next(&cur, &tok, &len) > 0)
		if (len == flen && str_ncasecmp(tok, feature, len) == 0)
			return 1;
	return 0;
}

/* table_lookup - look key up in d: 1 found (*value), 0 not, -1 error. */
static int table_lookup(struct dict *d, const char *key, const char **value)
{
	int rc = dict_get(d, key, value);

	if (rc == DICT_OK)
		return 1;
	if (rc == DICT_NOTFOUND)
		return 0;
	msg_warn("%s:%s lookup error for \"%s\": %s", dict_type(d),
		 dict_name(d), key, dict_error(d));
	return -1;
}

/* domain_in_table - the domain and (fixed tables) its parents in d. */
static int domain_in_table(struct dict *d, const char *domain, int parent)
{
	const char *entry, *next, *v;
	int rc;

	for (entry = domain; *entry; entry = next) {
		if (entry == domain || !is_pattern(d)) {
			if ((rc = table_lookup(d, entry, &v)) != 0)
				return rc;
		}
		if ((next = strchr(entry + 1, '.')) == NULL)
			break;
		if (parent)
			next++;
	}
	return 0;
}

/* domain_in_list - Postfix's domain match list (match_hostname): 1 when
 * domain matches the list in parameter param, 0 not, -1 table error. */
static int domain_in_list(const char *param, const char *domain)
{
	const char *cur = conf_get(param), *tok;
	int parent = parent_style(param);
	size_t len, dlen = strlen(domain);

	while (cur && conf_list_next(&cur, &tok, &len) > 0) {
		int neg = 0, match = 0;

		while (len && *tok == '!') {
			neg = !neg;
			tok++;
			len--;
		}
		if (len == 0)
			continue;
		if (is_table(tok, len)) {
			struct dict *d = dict_cached(tok, len);

			if (d == NULL)
				return -1;
			match = domain_in_table(d, domain, parent);
			if (match < 0)
				return -1;
		} else if (*tok == '/') {
			msg_warn("%s: file %.*s is not supported here yet; "
				 "skipped",
				 param, (int)len, tok);
			continue;
		} else if (len == dlen && str_ncasecmp(tok, domain, len) == 0) {
			match = 1;
		} else if (dlen > len) {
			/* ".example.com" matches subdomains; "example.com"
			 * too with the parent style. */
			const char *tail = domain + dlen - len;

			if (*tok == '.')
				match = str_ncasecmp(tail, tok, len) == 0;
			else if (parent)
				match = tail[-1] == '.' &&
					str_ncasecmp(tail, tok, len) == 0;
		}
		if (match)
			return !neg;
	}
	return 0;
}

/* split_result - "transport:nexthop" into its parts (either may be
 * empty); a value without ':' is a transport. */
static void split_result(const char *v, char *tp, size_t tpmax, char *nh,
			 size_t nhmax)
{
	const char *colon = strchr(v, ':');
	size_t n = colon ? (size_t)(colon - v) : strlen(v);

	snprintf(tp, tpmax, "%.*s", (int)n, v);
	snprintf(nh, nhmax, "%s", colon ? colon + 1 : "");
	str_trim(tp);
	str_trim(nh);
}

/* maps_find - one key in every table of transport_maps, in order:
 * 1 found (*value), 0 not, -1 error. full: the key is a whole address,
 * which pattern tables see too. */
static int maps_find(const char *key, int full, const char **value)
{
	const char *cur = conf_get("transport_maps"), *tok;
	size_t len;

	while (cur && conf_list_next(&cur, &tok, &len) > 0) {
		struct dict *d = dict_cached(tok, len);
		int rc;

		if (d == NULL)
			return -1;
		if (!full && is_pattern(d))
			continue;
		if ((rc = table_lookup(d, key, value)) != 0)
			return rc;
	}
	return 0;
}

/* transport_maps_lookup - the transport(5) search order for addr (lower
 * case, with '@'). 1 found (*value), 0 not, -1 error. */
static int transport_maps_lookup(const char *addr, const char **value)
{
	const char *at = strrchr(addr, '@'), *delim, *entry, *next;
	int parent = parent_style("transport_maps"), rc;

	if ((rc = maps_find(addr, 1, value)) != 0)
		return rc;
	delim = conf_get("recipient_delimiter");
	if (at && delim && *delim) {
		size_t i, cut = (size_t)(at - addr);

		for (i = 0; i < (size_t)(at - addr); i++)
			if (strchr(delim, addr[i])) {
				cut = i;
				break;
			}
		if (cut < (size_t)(at - addr)) {
			struct buf k;

			buf_init(&k, DICT_KEY_MAX);
			buf_printf(&k, "%.*s%s", (int)cut, addr, at);
			rc = maps_find(buf_str(&k), 1, value);
			buf_free(&k);
			if (rc != 0)
				return rc;
		}
	}
	if (at && at[1]) {
		for (entry = at + 1; *entry; entry = next) {
			if ((rc = maps_find(entry, 0, value)) != 0)
				return rc;
			if ((next = strchr(entry + 1, '.')) == NULL)
				break;
			if (parent)
				next++;
		}
	}
	return maps_find("*", 0, value);
}

/* port_of - a decimal port or one of the service names mail uses. */
static int port_of(const char *s, unsigned *port)
{
	static const struct {
		const char *name;
		unsigned port;
	} svc[] = {{"smtp", 25},
		   {"lmtp", 24},
		   {"submission", 587},
		   {"smtps", 465},
		   {"submissions", 465}};
	long n;
	size_t i;

	for (i = 0; i < sizeof(svc) / sizeof(svc[0]); i++)
		if (strcmp(s, svc[i].name) == 0) {
			*port = svc[i].port;
			return 0;
		}
	if (str_to_long(s, &n) < 0 || n < 1 || n > 65535 || *s == '-' ||
	    *s == '+')
		return -1;
	*port = (unsigned)n;
	return 0;
}

/* parse_nexthop - [host]:port, [host], host:port, host into out. */
static int parse_nexthop(const char *nh, struct route *out)
{
	const char *end, *port = NULL;
	size_t hlen;

	if (*nh == '[') {
		if ((end = strchr(nh, ']')) == NULL)
			return -1;
		hlen = (size_t)(end - nh - 1);
		nh++;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != 0)
			return -1;
		out->literal = 1;
	} else {
		const char *colon = strchr(nh, ':');

		if (colon && strchr(colon + 1, ':'))
			return -1; /* an IPv6 address needs brackets */
		hlen = colon ? (size_t)(colon - nh) : strlen(nh);
		if (colon)
			port = colon + 1;
	}
	if (hlen == 0 || hlen >= ROUTE_HOST_MAX)
		return -1;
	memcpy(out->host, nh, hlen);
	out->host[hlen] = 0;
	if (strpbrk(out->host, " \t[]"))
		return -1;
	if (port && port_of(port, &out->port) < 0)
		return -1;
	return 0;
}

/* parse_lmtp_nexthop - unix:/path, inet:NEXTHOP or NEXTHOP (Postfix's
 * lmtp(8) destinations); an LMTP host is never looked up by MX. */
static int parse_lmtp_nexthop(const char *nh, struct route *out)
{
	if (strncmp(nh, "unix:", 5) == 0) {
		size_t n = strlen(nh + 5);

		if (n == 0 || n >= ROUTE_HOST_MAX || strpbrk(nh + 5, " \t"))
			return -1;
		memcpy(out->host, nh + 5, n + 1);
		out->unix_path = 1;
		out->literal = 1;
		return 0;
	}
	if (strncmp(nh, "inet:", 5) == 0)
		nh += 5;
	if (parse_nexthop(nh, out) < 0)
		return -1;
	out->literal = 1;
	return 0;
}

/* copy - s into out[max], cut to fit. */
static void copy(char *out, size_t max, const char *s)
{
	size_t n = strlen(s);

	if (n >= max)
		n = max - 1;
	memcpy(out, s, n);
	out[n] = 0;
}

/* first_of - the first element of a list parameter value. */
static void first_of(const char *list, char *out, size_t max)
{
	const char *cur = list ? list : "", *tok;
	size_t len;

	if (conf_list_next(&cur, &tok, &len) > 0)
		snprintf(out, max, "%.*s", (int)len, tok);
	else
		out[0] = 0;
}

/* route_fill - out for transport tpname and next hop nexthop (what names
 * the recipient in warnings). 0 or -1 (logged). */
static int route_fill(const char *tpname, const char *nexthop,
		      const char *what, struct route *out)
{
	if ((out->tp = transport_find(tpname)) == NULL) {
		msg_warn("route: mail transport \"%s\" for %s is not defined "
			 "in master.cf",
			 tpname, what);
		return -1;
	}
	switch (out->tp->kind) {
	case TRANSPORT_ERROR:
	case TRANSPORT_DISCARD:
		copy(out->text, sizeof(out->text), nexthop);
		break;
	case TRANSPORT_HOLD:
		break;
	case TRANSPORT_LOCAL:
		copy(out->host, sizeof(out->host), nexthop);
		break;
	case TRANSPORT_LMTP:
		if (parse_lmtp_nexthop(nexthop, out) < 0) {
			msg_warn("route: bad next hop \"%s\" for %s", nexthop,
				 what);
			return -1;
		}
		break;
	case TRANSPORT_SMTP:
		if (parse_nexthop(nexthop, out) < 0) {
			msg_warn("route: bad next hop \"%s\" for %s", nexthop,
				 what);
			return -1;
		}
		break;
	}
	return 0;
}

int route_filter(const char *filter, size_t len, struct route *out)
{
	char tpname[TRANSPORT_NAME_MAX + 64], nexthop[ROUTE_TEXT_MAX];
	char f[ROUTE_TEXT_MAX + TRANSPORT_NAME_MAX + 64];

	memset(out, 0, sizeof(*out));
	if (len == 0 || len >= sizeof(f) || memchr(filter, 0, len)) {
		msg_warn("route: bad content filter (%zu bytes)", len);
		return -1;
	}
	memcpy(f, filter, len);
	f[len] = 0;
	split_result(f, tpname, sizeof(tpname), nexthop, sizeof(nexthop));
	/* qmgr's default next hop for a filter without one */
	if (*nexthop == 0)
		first_of(conf_get("myhostname"), nexthop, sizeof(nexthop));
	if (*tpname == 0 || route_fill(tpname, nexthop, f, out) < 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

int route_rcpt(const char *rcpt, size_t len, struct route *out)
{
	char tpname[TRANSPORT_NAME_MAX + 64], nexthop[ROUTE_TEXT_MAX];
	char mtp[TRANSPORT_NAME_MAX + 64], mnh[ROUTE_TEXT_MAX];
	const char *domain, *cls, *value;
	struct buf addr;
	size_t dlen;
	int rc = -1, local;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len >= DICT_KEY_MAX || memchr(rcpt, 0, len)) {
		msg_warn("route: bad recipient address (%zu bytes)", len);
		return -1;
	}
	buf_init(&addr, DICT_KEY_MAX);
	buf_append(&addr, rcpt, len);
	str_lower(addr.data);
	domain = strrchr(buf_str(&addr), '@');
	domain = domain ? domain + 1 : "";
	dlen = strlen(domain);
	if (dlen && domain[dlen - 1] == '.') /* user@example.com. */
		addr.data[--addr.len] = 0;

	/* The address class. */
	local = *domain == 0;
	if (!local && *domain != '[') {
		if ((local = domain_in_list("mydestination", domain)) < 0)
			goto out;
	}
	if (local) {
		cls = "local_transport";
	} else if (*domain != '[') {
		int relay = domain_in_list("relay_domains", domain);

		if (relay < 0)
			goto out;
		cls = relay ? "relay_transport" : "default_transport";
	} else {
		cls = "default_transport";
	}
	split_result(conf_get(cls) ? conf_get(cls) : "", tpname, sizeof(tpname),
		     nexthop, sizeof(nexthop));
	if (*nexthop == 0 && !local)
		first_of(conf_get("relayhost"), nexthop, sizeof(nexthop));
	if (*nexthop == 0)
		copy(nexthop, sizeof(nexthop), domain);

	/* transport_maps. */
	if ((rc = transport_maps_lookup(buf_str(&addr), &value)) < 0)
		goto out;
	if (rc == 1) {
		split_result(value, mtp, sizeof(mtp), mnh, sizeof(mnh));
		if (*mtp)
			copy(tpname, sizeof(tpname), mtp);
		if (*mnh)
			copy(nexthop, sizeof(nexthop), mnh);
	}
	rc = route_fill(tpname, nexthop, buf_str(&addr), out);
out:
	buf_free(&addr);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int route_same(const struct route *a, const struct route *b)
{
	return a->tp == b->tp && a->port == b->port &&
	       a->literal == b->literal && a->unix_path == b->unix_path &&
	       (a->unix_path ? strcmp(a->host, b->host) == 0
			     : str_casecmp(a->host, b->host) == 0) &&
	       strcmp(a->text, b->text) == 0;
}
