/* hosts - next-hop host names through /etc/hosts.
 *
 * The "native" half of smtp_host_lookup (deliver/mx.c), and the hosts
 * file the resolver consults before DNS (dns/resolv.c): for A and AAAA,
 * and for PTR (an address's name, as glibc's gethostbyaddr() "files"
 * source, which Postfix's smtpd reaches through getnameinfo()).
 * hosts_find() is a pure parser (STYLE.md rule 10) over the file's bytes:
 * "ADDRESS NAME [ALIAS...]" lines, '#' starts a comment, names compare
 * without regard to ASCII case, IPv4 and IPv6 addresses (no zone). Lines
 * longer than HOSTS_LINE_MAX are skipped whole, as are lines whose address
 * does not parse. Addresses come out in file order, duplicates removed. */
#ifndef MAILGW_DELIVER_HOSTS_H
#define MAILGW_DELIVER_HOSTS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "core/buf.h"
#include "core/net.h"

#define HOSTS_PATH     "/etc/hosts"
#define HOSTS_FILE_MAX (1024 * 1024) /* bytes read of the hosts file */
#define HOSTS_LINE_MAX 4096          /* bytes in one line */
#define HOSTS_ADDR_MAX 16            /* addresses kept for one name */

/* Address families (inet_protocols). */
#define HOSTS_INET4 1
#define HOSTS_INET6 2

/* hosts_find - the addresses of name (NUL-terminated) in text[0..len),
 * of the families in the mask, into out[0..max) with port 0. Returns how
 * many (0: not found). */
size_t hosts_find(const char *text, size_t len, const char *name, int families,
		  struct net_addr *out, size_t max);

/* hosts_lookup - read path (NULL: HOSTS_PATH) and hosts_find(). The count,
 * or -errno when the file cannot be read. */
int hosts_lookup(const char *path, const char *name, int families,
		 struct net_addr *out, size_t max);

/* hosts_find_name - the first name (the canonical one) of the first line
 * whose address is addr's (port ignored) in text[0..len), into
 * out[0..outsz) NUL-terminated. Returns its length, or 0 when no line has
 * the address or the name does not fit. */
size_t hosts_find_name(const char *text, size_t len,
		       const struct net_addr *addr, char *out, size_t outsz);

/* hosts_ptr_addr - the address a reverse name stands for:
 * "4.3.2.1.in-addr.arpa" (four decimal labels) or the 32 hex nibbles of
 * ".ip6.arpa", either with a trailing dot, case ignored, into out with
 * port 0. 0, or -1 when name[0..n) is not such a name (a partial one
 * like "2.1.in-addr.arpa" included). */
int hosts_ptr_addr(const char *name, size_t n, struct net_addr *out);

/* hosts_file - a hosts file kept in memory for a daemon that asks it at
 * every connection: read again only when stat() shows another file or a
 * change (device, inode, size, modification time), so a lookup costs one
 * system call instead of five. */
struct hosts_file {
	char *path;
	struct buf text;
	int loaded;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* path NULL: HOSTS_PATH. */
void hosts_file_init(struct hosts_file *h, const char *path);
/* The current text into *text and *len; 0 or -errno (the file cannot be
 * read: nothing is answered from it). */
int hosts_file_text(struct hosts_file *h, const char **text, size_t *len);
void hosts_file_free(struct hosts_file *h);

/* hosts_families - the mask for an inet_protocols value ("all", "ipv4",
 * "ipv6", "ipv4, ipv6"); unknown words are ignored, and an empty result
 * means both (Postfix refuses to start with such a value anyway). */
int hosts_families(const char *inet_protocols);

/* hosts_addr_parse - an IPv4 or IPv6 address literal s[0..n) (an "ipv6:"
 * prefix allowed, as in [ipv6:2001:db8::1]) into out with port 0.
 * 0, or -1 when it is not one. */
int hosts_addr_parse(const char *s, size_t n, struct net_addr *out);

#endif
