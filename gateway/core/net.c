/* net - address strings and non-blocking TCP sockets.
 *
 * Address text follows RFC 3986 section 3.2.2 for the bracketed IPv6 form
 * (without zone identifiers); the host parts themselves go to inet_pton(3),
 * which accepts exactly dotted-quad IPv4 and RFC 4291 section 2.2 IPv6 text
 * in both glibc and musl. Input is trusted to be bytes only: the parser
 * never reads past n and does not need a NUL. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

/* "[" + 45-byte IPv6 text + "]:" + 5 digits = 53. */
_Static_assert(NET_ADDR_STRLEN >= 1 + INET6_ADDRSTRLEN + 2 + 5,
	       "NET_ADDR_STRLEN too small");

const char *net_addr_strerror(int err)
{
	switch (err) {
	case NET_ADDR_ERR_SYNTAX:
		return "expected host:port, [ipv6]:port or port";
	case NET_ADDR_ERR_HOST:
		return "host is not a numeric IPv4 or IPv6 address";
	case NET_ADDR_ERR_PORT:
		return "port is not a number from 0 to 65535";
	default:
		return "unknown address error";
	}
}

static int parse_port(const char *s, size_t n, unsigned *port)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return NET_ADDR_ERR_PORT;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return NET_ADDR_ERR_PORT;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return NET_ADDR_ERR_PORT;
	*port = v;
	return 0;
}

/* inet_pton() wants a C string: copy the bounded host into one. */
static int parse_ip(int family, const char *s, size_t n, void *dst)
{
	char tmp[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(tmp))
		return NET_ADDR_ERR_HOST;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	return inet_pton(family, tmp, dst) == 1 ? 0 : NET_ADDR_ERR_HOST;
}

int net_addr_parse(struct net_addr *out, const char *s, size_t n)
{
	struct net_addr a;
	const char *host, *port;
	size_t hlen, plen;
	unsigned portnum = 0;
	int r = 0;

	if (n == 0 || memchr(s, 0, n) != NULL)
		return NET_ADDR_ERR_SYNTAX;
	memset(&a, 0, sizeof(a));
	if (s[0] == '[') {
		const char *end = memchr(s, ']', n);
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.sa;

		if (end == NULL)
			return NET_ADDR_ERR_SYNTAX;
		if (end + 1 == s + n)
			return NET_ADDR_ERR_PORT;
		if (end[1] != ':')
			return NET_ADDR_ERR_SYNTAX;
		host = s + 1;
		hlen = (size_t)(end - host);
		port = end + 2;
		plen = (size_t)(s + n - port);
		if (memchr(host, '%', hlen) != NULL)
			return NET_ADDR_ERR_HOST;
		if ((r = parse_ip(AF_INET6, host, hlen, &sin6->sin6_addr)) < 0)
			return r;
		if ((r = parse_port(port, plen, &portnum)) < 0)
			return r;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)portnum);
		a.len = sizeof(*sin6);
	} else {
		const char *colon = memchr(s, ':', n);
		struct sockaddr_in *sin = (struct sockaddr_in *)&a.sa;

		if (colon == NULL) {
			host = "*";
			hlen = 1;
			port = s;
		} else {
			if (memchr(colon + 1, ':', (size_t)(s + n - colon - 1)))
				return NET_ADDR_ERR_SYNTAX; /* IPv6 needs [] */
			host = s;
			hlen = (size_t)(colon - s);
			port = colon + 1;
		}
		plen = (size_t)(s + n - port);
		if (hlen == 1 && host[0] == '*')
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
		else
			r = parse_ip(AF_INET, host, hlen, &sin->sin_addr);
		if (r < 0)
			return r;
		if ((r = parse_port(port, plen, &portnum)) < 0)
			return r;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)portnum);
		a.len = sizeof(*sin);
	}
	*out = a;
	return 0;
}

int net_addr_port(const struct net_addr *a)
{
	if (a->sa.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->sa)->sin6_port);
	if (a->sa.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
	return -EAFNOSUPPORT;
}

int net_addr_same_host(const struct net_addr *a, const struct net_addr *b)
{
	if (a->sa.ss_family != b->sa.ss_family)
		return 0;
	if (a->sa.ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)&a->sa)->sin_addr,
			      &((const struct sockaddr_in *)&b->sa)->sin_addr,
			      4) == 0;
	if (a->sa.ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)&a->sa)->sin6_addr,
			      &((const struct sockaddr_in6 *)&b->sa)->sin6_addr,
			      16) == 0;
	return 0;
}

int net_addr_format(const struct net_addr *a, struct buf *out)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->sa;
	int v6 = a->sa.ss_family == AF_INET6;
	char host[INET6_ADDRSTRLEN];

	if (!v6 && a->sa.ss_family != AF_INET)
		return -EAFNOSUPPORT;
	if (!inet_ntop(a->sa.ss_family,
		       v6 ? (const void *)&sin6->sin6_addr
			  : (const void *)&sin->sin_addr,
		       host, sizeof(host)))
		return -errno;
	return buf_printf(out, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "",
			  net_addr_port(a));
}

int net_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int net_set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

/* A non-blocking, close-on-exec TCP socket: fd, or a negative errno. */
static int new_socket(const struct net_addr *a)
{
	int fd = socket(a->sa.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

static int close_with(int fd, int err)
{
	close(fd);
	return err;
}

int net_listen(const struct net_addr *a, int backlog, int *fd_out)
{
	const int on = 1;
	int fd = new_socket(a);

	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		return close_with(fd, -errno);
	/* One socket, one family: an IPv6 listener never takes IPv4 too. */
	if (a->sa.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		return close_with(fd, -errno);
	if (bind(fd, (const struct sockaddr *)&a->sa, a->len) < 0 ||
	    listen(fd, backlog) < 0)
		return close_with(fd, -errno);
	*fd_out = fd;
	return 0;
}

int net_accept(int listen_fd, int *fd_out, struct net_addr *peer)
{
	struct net_addr tmp;
	struct net_addr *p = peer ? peer : &tmp;
	int fd;

	do {
		p->len = sizeof(p->sa);
		fd = accept4(listen_fd, (struct sockaddr *)&p->sa, &p->len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
	} while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	*fd_out = fd;
	return 0;
}

int net_connect(const struct net_addr *a, int *fd_out)
{
	int fd = new_socket(a);

	if (fd < 0)
		return fd;
	/* EINTR: a non-blocking connect goes on in the background. */
	if (connect(fd, (const struct sockaddr *)&a->sa, a->len) < 0 &&
	    errno != EINPROGRESS && errno != EINTR)
		return close_with(fd, -errno);
	*fd_out = fd;
	return 0;
}

int net_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	if (err)
		return -err;
	/* Not failed, but maybe not finished either (asked too early). */
	if (getpeername(fd, (struct sockaddr *)&ss, &sslen) < 0)
		return -errno;
	return 0;
}

int net_local_addr(int fd, struct net_addr *out)
{
	out->len = sizeof(out->sa);
	if (getsockname(fd, (struct sockaddr *)&out->sa, &out->len) < 0)
		return -errno;
	return 0;
}

int net_peer_addr(int fd, struct net_addr *out)
{
	out->len = sizeof(out->sa);
	if (getpeername(fd, (struct sockaddr *)&out->sa, &out->len) < 0)
		return -errno;
	return 0;
}
