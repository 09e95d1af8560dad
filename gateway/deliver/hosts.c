/* hosts - parse the hosts file (hosts(5)) for next-hop names.
 *
 * Trusts nothing in the file: every line is bounded, addresses go through
 * inet_pton(), names are compared byte-wise (ASCII case folded). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "conf/params.h"
#include "core/buf.h"
#include "core/str.h"
#include "deliver/hosts.h"

int hosts_addr_parse(const char *s, size_t n, struct net_addr *out)
{
	char tmp[INET6_ADDRSTRLEN + 8];

	if (n > 5 && str_ncasecmp(s, "ipv6:", 5) == 0) {
		s += 5;
		n -= 5;
		if (memchr(s, ':', n) == NULL)
			return -1;
	}
	if (n == 0 || n >= sizeof(tmp) || memchr(s, 0, n))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	memset(out, 0, sizeof(*out));
	if (memchr(tmp, ':', n) == NULL) {
		struct sockaddr_in *a = (struct sockaddr_in *)&out->sa;

		if (inet_pton(AF_INET, tmp, &a->sin_addr) != 1)
			return -1;
		a->sin_family = AF_INET;
		out->len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->sa;

		if (inet_pton(AF_INET6, tmp, &a->sin6_addr) != 1)
			return -1;
		a->sin6_family = AF_INET6;
		out->len = sizeof(*a);
	}
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* next_word - the next blank-separated word of line[*off..end). */
static int next_word(const char *line, size_t end, size_t *off, const char **w,
		     size_t *wlen)
{
	size_t i = *off;

	while (i < end && is_blank(line[i]))
		i++;
	if (i >= end)
		return 0;
	*w = line + i;
	while (i < end && !is_blank(line[i]))
		i++;
	*wlen = (size_t)(line + i - *w);
	*off = i;
	return 1;
}

static int same_addr(const struct net_addr *a, const struct net_addr *b)
{
	return a->len == b->len && memcmp(&a->sa, &b->sa, a->len) == 0;
}

size_t hosts_find(const char *text, size_t len, const char *name, int families,
		  struct net_addr *out, size_t max)
{
	size_t namelen = strlen(name), pos = 0, n = 0;

	if (namelen && name[namelen - 1] == '.')
		namelen--; /* an absolute name matches the same entry */
	while (pos < len && n < max) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		const char *line = text + pos, *hash, *w;
		size_t llen = end - pos, off = 0, wlen;
		struct net_addr a;
		int fam, match = 0;

		pos = end + 1;
		if (llen > HOSTS_LINE_MAX)
			continue;
		if ((hash = memchr(line, '#', llen)) != NULL)
			llen = (size_t)(hash - line);
		if (!next_word(line, llen, &off, &w, &wlen) ||
		    hosts_addr_parse(w, wlen, &a) < 0 ||
		    memchr(w, '%', wlen) != NULL)
			continue;
		fam = a.sa.ss_family == AF_INET ? HOSTS_INET4 : HOSTS_INET6;
		if (!(families & fam))
			continue;
		while (!match && next_word(line, llen, &off, &w, &wlen))
			match = wlen == namelen &&
				str_ncasecmp(w, name, namelen) == 0;
		if (match) {
			size_t i;

			for (i = 0; i < n && !same_addr(&out[i], &a); i++)
				;
			if (i == n)
				out[n++] = a;
		}
	}
	return n;
}

int hosts_lookup(const char *path, const char *name, int families,
		 struct net_addr *out, size_t max)
{
	struct buf text;
	char chunk[8192];
	ssize_t r;
	int fd, rc;

	fd = open(path ? path : HOSTS_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf_init(&text, HOSTS_FILE_MAX);
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&text, chunk, (size_t)r) < 0)
			break; /* the first HOSTS_FILE_MAX bytes are used */
	rc = r < 0 ? -errno : 0;
	close(fd);
	if (rc == 0)
		rc = (int)hosts_find(buf_str(&text), buf_len(&text), name,
				     families, out, max);
	buf_free(&text);
	return rc;
}

int hosts_families(const char *inet_protocols)
{
	const char *cur = inet_protocols ? inet_protocols : "", *tok;
	size_t len;
	int mask = 0;

	while (conf_list_next(&cur, &tok, &len) > 0) {
		if (len == 3 && str_ncasecmp(tok, "all", 3) == 0)
			mask |= HOSTS_INET4 | HOSTS_INET6;
		else if (len == 4 && str_ncasecmp(tok, "ipv4", 4) == 0)
			mask |= HOSTS_INET4;
		else if (len == 4 && str_ncasecmp(tok, "ipv6", 4) == 0)
			mask |= HOSTS_INET6;
	}
	return mask ? mask : HOSTS_INET4 | HOSTS_INET6;
}
