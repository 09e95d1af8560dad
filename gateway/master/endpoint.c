/* endpoint - master.cf inet service names to socket addresses.
 *
 * The syntax is master(5)'s service-name column for type inet. The parser
 * trusts nothing: it is fed master.cf text written by an administrator or
 * the web UI, and fuzzed (tests/fuzz/fuzz_endpoint.c). */
#include "master/endpoint.h"

#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "conf/params.h"
#include "core/str.h"
#include "deliver/hosts.h"

static const struct {
	const char *name;
	int port;
} services[] = {
	{"smtp", 25},         {"submission", 587}, {"smtps", 465},
	{"submissions", 465}, {"lmtp", 24},
};

static int parse_port(const char *s, size_t n)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > ENDPOINT_PORT_MAX)
		return ENDPOINT_ERR_PORT;
	if (s[0] >= '0' && s[0] <= '9') {
		for (i = 0; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return ENDPOINT_ERR_PORT;
			v = v * 10 + (s[i] - '0');
			if (v > 65535)
				return ENDPOINT_ERR_PORT;
		}
		return v >= 1 ? (int)v : ENDPOINT_ERR_PORT;
	}
	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		if (strlen(services[i].name) == n &&
		    str_ncasecmp(services[i].name, s, n) == 0)
			return services[i].port;
	return ENDPOINT_ERR_PORT;
}

/* Letters, digits, '-', '.', and ':' inside brackets: enough for host
 * names and address literals; everything else is refused here rather
 * than handed to a lookup. */
static int host_ok(const char *s, size_t n, int bracketed)
{
	if (n == 0 || n > ENDPOINT_HOST_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    (bracketed && c == ':'))
			continue;
		return 0;
	}
	return 1;
}

int endpoint_parse(const char *s, size_t n, struct endpoint *out)
{
	const char *host = NULL, *port;
	size_t hlen = 0, plen;
	int bracketed = 0, p;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return ENDPOINT_ERR_SYNTAX;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (close == NULL || close == s + 1 ||
		    (size_t)(close - s) + 1 >= n || close[1] != ':')
			return ENDPOINT_ERR_SYNTAX;
		host = s + 1;
		hlen = (size_t)(close - host);
		bracketed = 1;
		port = close + 2;
		plen = n - (size_t)(port - s);
	} else {
		const char *colon = NULL;

		for (size_t i = n; i > 0; i--)
			if (s[i - 1] == ':') {
				colon = s + i - 1;
				break;
			}
		if (colon) {
			host = s;
			hlen = (size_t)(colon - s);
			port = colon + 1;
			plen = n - hlen - 1;
			if (memchr(s, ':', hlen) != NULL) /* bare IPv6 */
				return ENDPOINT_ERR_SYNTAX;
		} else {
			port = s;
			plen = n;
		}
	}
	if ((p = parse_port(port, plen)) < 0)
		return p;
	out->port = p;
	out->bracketed = bracketed;
	if (host == NULL || (hlen == 1 && host[0] == '*' && !bracketed))
		return 0;
	if (!host_ok(host, hlen, bracketed))
		return ENDPOINT_ERR_HOST;
	memcpy(out->host, host, hlen);
	out->host[hlen] = 0;
	return 0;
}

const char *endpoint_strerror(int err)
{
	switch (err) {
	case ENDPOINT_ERR_SYNTAX:
		return "not port, host:port or [address]:port";
	case ENDPOINT_ERR_HOST:
		return "bad host name or address";
	case ENDPOINT_ERR_PORT:
		return "bad port (a number 1-65535 or a known service name)";
	default:
		return "unknown error";
	}
}

static void set_port(struct net_addr *a, int port)
{
	if (a->sa.ss_family == AF_INET)
		((struct sockaddr_in *)&a->sa)->sin_port =
			htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&a->sa)->sin6_port =
			htons((uint16_t)port);
}

/* One host: an address literal, else /etc/hosts. */
static int resolve_host(const char *host, int families, struct net_addr *out,
			size_t max)
{
	int n;

	if (max == 0)
		return -ENOSPC;
	if (hosts_addr_parse(host, strlen(host), out) == 0) {
		int fam = out->sa.ss_family == AF_INET ? HOSTS_INET4
						       : HOSTS_INET6;

		return (families & fam) ? 1 : -EAFNOSUPPORT;
	}
	n = hosts_lookup(NULL, host, families, out, max);
	if (n < 0)
		return n;
	return n > 0 ? n : -ENOENT;
}

static size_t add_wild(int families, int loopback, struct net_addr *out,
		       size_t max)
{
	const char *v4 = loopback ? "127.0.0.1" : "0.0.0.0";
	const char *v6 = loopback ? "::1" : "::";
	size_t n = 0;

	if ((families & HOSTS_INET4) && n < max &&
	    hosts_addr_parse(v4, strlen(v4), &out[n]) == 0)
		n++;
	if ((families & HOSTS_INET6) && n < max &&
	    hosts_addr_parse(v6, strlen(v6), &out[n]) == 0)
		n++;
	return n;
}

int endpoint_resolve(const struct endpoint *ep, const char *inet_interfaces,
		     const char *inet_protocols, struct net_addr *out,
		     size_t max, const char **bad)
{
	int families = hosts_families(inet_protocols ? inet_protocols : "all");
	size_t n = 0;
	int rc;

	*bad = NULL;
	if (ep->host[0]) {
		rc = resolve_host(ep->host, families, out, max);
		if (rc < 0) {
			*bad = ep->host;
			return rc;
		}
		n = (size_t)rc;
	} else {
		const char *cur = inet_interfaces ? inet_interfaces : "all";
		const char *tok;
		size_t len;

		while (conf_list_next(&cur, &tok, &len) > 0) {
			char word[ENDPOINT_HOST_MAX + 1];

			if (len == 3 && str_ncasecmp(tok, "all", 3) == 0) {
				n += add_wild(families, 0, out + n, max - n);
				continue;
			}
			if (len == 13 &&
			    str_ncasecmp(tok, "loopback-only", 13) == 0) {
				n += add_wild(families, 1, out + n, max - n);
				continue;
			}
			if (len > 2 && tok[0] == '[' && tok[len - 1] == ']') {
				tok++; /* [::1] as in Postfix */
				len -= 2;
			}
			if (len > ENDPOINT_HOST_MAX) {
				*bad = inet_interfaces;
				return -ENAMETOOLONG;
			}
			memcpy(word, tok, len);
			word[len] = 0;
			rc = resolve_host(word, families, out + n, max - n);
			if (rc < 0) {
				*bad = inet_interfaces;
				return rc;
			}
			n += (size_t)rc;
		}
	}
	if (n == 0)
		return -EAFNOSUPPORT;
	for (size_t i = 0; i < n; i++)
		set_port(&out[i], ep->port);
	return (int)n;
}
