/* hosts - parse the hosts file (hosts(5)) for next-hop names.
 *
 * Trusts nothing in the file: every line is bounded, addresses go through
 * inet_pton(), names are compared byte-wise (ASCII case folded). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/params.h"
#include "core/buf.h"
#include "core/mem.h"
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

/* next_entry - the next usable line of text[0..len) from *pos: its
 * address, and the line (comment cut off) with *off just past the
 * address, for next_word(). 0 at the end. */
static int next_entry(const char *text, size_t len, size_t *pos,
		      struct net_addr *a, const char **line, size_t *llen,
		      size_t *off)
{
	while (*pos < len) {
		const char *nl = memchr(text + *pos, '\n', len - *pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		const char *hash, *w;
		size_t wlen;

		*line = text + *pos;
		*llen = end - *pos;
		*off = 0;
		*pos = end + 1;
		if (*llen > HOSTS_LINE_MAX)
			continue;
		if ((hash = memchr(*line, '#', *llen)) != NULL)
			*llen = (size_t)(hash - *line);
		if (next_word(*line, *llen, off, &w, &wlen) &&
		    hosts_addr_parse(w, wlen, a) == 0 &&
		    memchr(w, '%', wlen) == NULL)
			return 1;
	}
	return 0;
}

size_t hosts_find(const char *text, size_t len, const char *name, int families,
		  struct net_addr *out, size_t max)
{
	size_t namelen = strlen(name), pos = 0, n = 0, llen, off, wlen;
	const char *line, *w;
	struct net_addr a;

	if (namelen && name[namelen - 1] == '.')
		namelen--; /* an absolute name matches the same entry */
	while (n < max &&
	       next_entry(text, len, &pos, &a, &line, &llen, &off)) {
		int fam = a.sa.ss_family == AF_INET ? HOSTS_INET4
						     : HOSTS_INET6;
		int match = 0;

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

/* read_hosts - the first HOSTS_FILE_MAX bytes of path into text (which
 * the caller frees). 0 or -errno. */
static int read_hosts(const char *path, struct buf *text)
{
	char chunk[8192];
	ssize_t r;
	int fd, rc;

	buf_init(text, HOSTS_FILE_MAX);
	fd = open(path ? path : HOSTS_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(text, chunk, (size_t)r) < 0)
			break; /* the first HOSTS_FILE_MAX bytes are used */
	rc = r < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int hosts_lookup(const char *path, const char *name, int families,
		 struct net_addr *out, size_t max)
{
	struct buf text;
	int rc = read_hosts(path, &text);

	if (rc == 0)
		rc = (int)hosts_find(buf_str(&text), buf_len(&text), name,
				     families, out, max);
	buf_free(&text);
	return rc;
}

size_t hosts_find_name(const char *text, size_t len,
		       const struct net_addr *addr, char *out, size_t outsz)
{
	size_t pos = 0, llen, off, wlen;
	const char *line, *w;
	struct net_addr a;

	while (next_entry(text, len, &pos, &a, &line, &llen, &off)) {
		if (!net_addr_same_host(&a, addr) ||
		    !next_word(line, llen, &off, &w, &wlen))
			continue;
		/* the first line with the address decides, as glibc */
		if (wlen >= outsz || memchr(w, 0, wlen) != NULL)
			return 0;
		memcpy(out, w, wlen);
		out[wlen] = 0;
		return wlen;
	}
	return 0;
}

void hosts_file_init(struct hosts_file *h, const char *path)
{
	memset(h, 0, sizeof(*h));
	h->path = mem_strdup(path ? path : HOSTS_PATH);
	buf_init(&h->text, HOSTS_FILE_MAX);
}

int hosts_file_text(struct hosts_file *h, const char **text, size_t *len)
{
	struct stat st;
	int rc;

	if (stat(h->path, &st) < 0) {
		h->loaded = 0;
		return -errno;
	}
	if (!h->loaded || st.st_dev != h->dev || st.st_ino != h->ino ||
	    st.st_size != h->size || st.st_mtim.tv_sec != h->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != h->mtime.tv_nsec) {
		buf_free(&h->text);
		if ((rc = read_hosts(h->path, &h->text)) < 0) {
			h->loaded = 0;
			return rc;
		}
		h->loaded = 1;
		h->dev = st.st_dev;
		h->ino = st.st_ino;
		h->size = st.st_size;
		h->mtime = st.st_mtim;
	}
	*text = buf_str(&h->text);
	*len = buf_len(&h->text);
	return 0;
}

void hosts_file_free(struct hosts_file *h)
{
	mem_free(h->path);
	h->path = NULL;
	buf_free(&h->text);
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int hosts_ptr_addr(const char *name, size_t n, struct net_addr *out)
{
	static const char v4[] = ".in-addr.arpa", v6[] = ".ip6.arpa";
	size_t l4 = sizeof(v4) - 1, l6 = sizeof(v6) - 1;

	if (n > 0 && name[n - 1] == '.')
		n--;
	memset(out, 0, sizeof(*out));
	if (n > l4 && str_ncasecmp(name + n - l4, v4, l4) == 0) {
		struct sockaddr_in *a = (struct sockaddr_in *)&out->sa;
		unsigned char b[4];
		size_t i = 0;

		n -= l4;
		for (int k = 3; k >= 0; k--) {
			unsigned v = 0, digits = 0;

			while (i < n && name[i] >= '0' && name[i] <= '9' &&
			       digits < 3) {
				v = v * 10 + (unsigned)(name[i++] - '0');
				digits++;
			}
			/* no empty label, no leading zero, no label past 255 */
			if (digits == 0 || v > 255 ||
			    (digits > 1 && name[i - digits] == '0'))
				return -1;
			b[k] = (unsigned char)v;
			if (k > 0 && (i >= n || name[i++] != '.'))
				return -1;
		}
		if (i != n)
			return -1;
		a->sin_family = AF_INET;
		memcpy(&a->sin_addr, b, 4);
		out->len = sizeof(*a);
		return 0;
	}
	if (n > l6 && str_ncasecmp(name + n - l6, v6, l6) == 0) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->sa;
		unsigned char b[16];

		n -= l6;
		if (n != 63) /* 32 nibbles, 31 dots */
			return -1;
		for (size_t k = 0; k < 32; k++) {
			int v = hex_nibble(name[2 * k]);

			if (v < 0 || (k < 31 && name[2 * k + 1] != '.'))
				return -1;
			/* nibbles come lowest first */
			size_t pos = 31 - k;
			if (pos % 2)
				b[pos / 2] = (unsigned char)v;
			else
				b[pos / 2] = (unsigned char)(b[pos / 2] |
							     (v << 4));
		}
		a->sin6_family = AF_INET6;
		memcpy(&a->sin6_addr, b, 16);
		out->len = sizeof(*a);
		return 0;
	}
	return -1;
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
