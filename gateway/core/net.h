/* net - socket addresses and non-blocking TCP sockets for the event loop.
 *
 * Address strings (master.cf service names, relayhost after lookup,
 * inet_interfaces) have the forms
 *     IPV4:PORT        127.0.0.1:25
 *     [IPV6]:PORT      [::1]:25, [2001:db8::1]:587
 *     *:PORT, PORT     every IPv4 interface (0.0.0.0); [::]:PORT for IPv6
 * with PORT a decimal number 0..65535 (0 asks the kernel for a free port).
 * Only numeric addresses are parsed here: host names ("localhost") and
 * service names ("smtp") are resolved by the caller, which knows whether it
 * may block or must ask the asynchronous resolver. An IPv6 zone ("%eth0")
 * is refused. net_addr_parse() is a pure parser (STYLE.md rule 10): bytes
 * with an explicit length, no NUL needed, no I/O, no allocation.
 *
 * Sockets: every descriptor made here is non-blocking and close-on-exec.
 * Nothing here waits: net_connect() starts a connection, the caller waits
 * for LOOP_WRITABLE under a timer of its choice (its deadline), then asks
 * net_connect_result(). The caller owns and closes every returned fd.
 *
 * Errors: the parser returns one of NET_ADDR_ERR_*; everything else returns
 * 0 or a negative errno value, results through pointers. */
#ifndef MAILGW_CORE_NET_H
#define MAILGW_CORE_NET_H

#include <stddef.h>
#include <sys/socket.h>

#include "buf.h"

#define NET_ADDR_ERR_SYNTAX (-1) /* not one of the forms above */
#define NET_ADDR_ERR_HOST   (-2) /* host is not a numeric IPv4/IPv6 address */
#define NET_ADDR_ERR_PORT   (-3) /* port missing, not decimal, > 65535 */

/* Room for the longest address string, "[" IPv6-with-IPv4-tail "]:65535",
 * and a NUL: no longer string parses, and net_addr_format() appends less. */
#define NET_ADDR_STRLEN 54

struct net_addr {
	struct sockaddr_storage sa; /* AF_INET or AF_INET6 */
	socklen_t len;
};

int net_addr_parse(struct net_addr *out, const char *s, size_t n);
const char *net_addr_strerror(int err);
/* Append "1.2.3.4:25" or "[::1]:25" to out (round-trips through parse). */
int net_addr_format(const struct net_addr *a, struct buf *out);
int net_addr_port(const struct net_addr *a);
/* 1 when a and b are the same IPv4 or IPv6 host (ports ignored). */
int net_addr_same_host(const struct net_addr *a, const struct net_addr *b);

int net_set_nonblock(int fd);
int net_set_cloexec(int fd);

/* socket + SO_REUSEADDR (+ IPV6_V6ONLY for IPv6) + bind + listen. */
int net_listen(const struct net_addr *a, int backlog, int *fd_out);
/* accept4(); -EAGAIN when no connection is waiting (EINTR and
 * ECONNABORTED are retried). peer may be NULL. On -EMFILE/-ENFILE the
 * listener stays readable: take it out of the loop for a while (a timer)
 * rather than spin. */
int net_accept(int listen_fd, int *fd_out, struct net_addr *peer);
/* Start connecting. 0 with *fd_out set: connected or in progress; wait for
 * LOOP_WRITABLE (with a deadline), then call net_connect_result(). On a
 * negative return no descriptor is left open. */
int net_connect(const struct net_addr *a, int *fd_out);
/* 0 when the connection is up, else the negative errno of the failure. */
int net_connect_result(int fd);
/* getsockname()/getpeername() into a net_addr. */
int net_local_addr(int fd, struct net_addr *out);
int net_peer_addr(int fd, struct net_addr *out);

#endif
