/* conf - the process-wide configuration: files, table, checks, values.
 *
 * Glues the pure parsers (maincf, mastercf) to the parameter table
 * (params) and to the host: reads files, computes host-dependent defaults
 * (gethostname, getifaddrs), reports problems with msg_warn()/msg_error()
 * in Postfix's words, and caches expanded values until the next change.
 * Trusts main.cf and master.cf as far as their owner (root) is trusted,
 * but bounds every size so a broken file cannot exhaust memory. */
#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/maincf.h"
#include "conf/mastercf.h"
#include "conf/params.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

/* Defaults computed from the host or the running program. */
enum {
	COMP_MYHOSTNAME,
	COMP_MYDOMAIN,
	COMP_MYNETWORKS,
	COMP_PROCESS_NAME,
	COMP_PROCESS_ID,
	COMP_COUNT
};
static const char *const computed_names[COMP_COUNT] = {
	"myhostname", "mydomain", "mynetworks", "process_name", "process_id",
};

#define CONF_DEFAULT_DOMAIN "localdomain" /* Postfix's DEF_MYDOMAIN */

struct state {
	char *dir;
	char *main_path;
	struct conf_setting *set; /* sorted by name; strings owned */
	char **set_exp;           /* expanded values, parallel to set */
	size_t nset, capset;
	char **def_exp; /* expanded defaults, per table row */
	char *computed[COMP_COUNT];
};

static struct state *current;

/* ---- settings, sorted by name ---- */

/* free_const - free a string the public struct shows as const. */
static void free_const(const char *p)
{
	mem_free((void *)(uintptr_t)p);
}

static int name_cmp(const char *name, size_t len, const char *s)
{
	int c = strncmp(name, s, len);

	if (c)
		return c;
	return s[len] ? -1 : 0;
}

/* find_set - index of name[0..len) in st->set, or -1 with *pos where it
 * would go. */
static long find_set(const struct state *st, const char *name, size_t len,
		     size_t *pos)
{
	size_t lo = 0, hi = st->nset;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(name, len, st->set[mid].name);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (pos)
		*pos = lo;
	return -1;
}

/* put_set - add or replace a setting; returns its index. */
static size_t put_set(struct state *st, const char *name, const char *value,
		      const char *file, unsigned line)
{
	size_t pos;
	long i = find_set(st, name, strlen(name), &pos);
	struct conf_setting *s;

	if (i >= 0) {
		s = &st->set[i];
		free_const(s->value);
		s->value = mem_strdup(value);
		s->file = file;
		s->line = line;
		return (size_t)i;
	}
	if (st->nset == st->capset) {
		st->capset = st->capset ? 2 * st->capset : 32;
		st->set = mem_realloc(st->set, st->capset * sizeof(*st->set));
		st->set_exp =
			mem_realloc(st->set_exp, st->capset * sizeof(char *));
	}
	memmove(&st->set[pos + 1], &st->set[pos],
		(st->nset - pos) * sizeof(*st->set));
	memmove(&st->set_exp[pos + 1], &st->set_exp[pos],
		(st->nset - pos) * sizeof(char *));
	st->nset++;
	s = &st->set[pos];
	memset(s, 0, sizeof(*s));
	s->name = mem_strdup(name);
	s->value = mem_strdup(value);
	s->file = file;
	s->line = line;
	s->known = conf_param_find(name) != NULL;
	st->set_exp[pos] = NULL;
	return pos;
}

static void clear_caches(struct state *st)
{
	for (size_t i = 0; i < st->nset; i++) {
		mem_free(st->set_exp[i]);
		st->set_exp[i] = NULL;
	}
	for (size_t i = 0; i < conf_params_count; i++) {
		mem_free(st->def_exp[i]);
		st->def_exp[i] = NULL;
	}
}

static struct state *state_new(const char *dir)
{
	struct state *st = mem_zalloc(sizeof(*st));

	st->dir = mem_strdup(dir);
	st->def_exp = mem_zalloc(conf_params_count * sizeof(char *));
	return st;
}

static void state_free(struct state *st)
{
	if (st == NULL)
		return;
	clear_caches(st);
	for (size_t i = 0; i < st->nset; i++) {
		free_const(st->set[i].name);
		free_const(st->set[i].value);
	}
	for (int i = 0; i < COMP_COUNT; i++)
		mem_free(st->computed[i]);
	mem_free(st->set);
	mem_free(st->set_exp);
	mem_free(st->def_exp);
	mem_free(st->dir);
	mem_free(st->main_path);
	mem_free(st);
}

/* ---- raw values and expansion ---- */

static const char *computed_value(const struct state *st, const char *name)
{
	for (int i = 0; i < COMP_COUNT; i++)
		if (strcmp(name, computed_names[i]) == 0)
			return st->computed[i];
	return NULL;
}

static const char *default_raw(const struct state *st,
			       const struct conf_param *p)
{
	return p->flags & CONF_F_COMPUTED ? computed_value(st, p->name)
					  : p->def;
}

static const char *raw_lookup(const struct state *st, const char *name,
			      size_t len)
{
	char tmp[MAINCF_NAME_MAX + 1];
	const struct conf_param *p;
	long i = find_set(st, name, len, NULL);

	if (i >= 0)
		return st->set[i].value;
	if (len > MAINCF_NAME_MAX)
		return NULL;
	memcpy(tmp, name, len);
	tmp[len] = 0;
	p = conf_param_find(tmp);
	return p ? default_raw(st, p) : NULL;
}

static const char *raw_of(const struct state *st, const char *name)
{
	const char *v = raw_lookup(st, name, strlen(name));

	return v ? v : "";
}

/* lookup_ctx - what the expander's callbacks need. */
struct lookup_ctx {
	const struct state *st;
	const char *file; /* for undefined-parameter warnings, or NULL */
	unsigned line;
	const char *over_name; /* conf_check: a value not yet stored */
	const char *over_value;
};

static const char *lk_get(void *arg, const char *name, size_t len)
{
	const struct lookup_ctx *c = arg;

	if (c->over_name && name_cmp(name, len, c->over_name) == 0)
		return c->over_value;
	return raw_lookup(c->st, name, len);
}

static void lk_undefined(void *arg, const char *name, size_t len)
{
	const struct lookup_ctx *c = arg;

	if (c->file)
		msg_warn("%s, line %u: undefined parameter: %.*s", c->file,
			 c->line, (int)len, name);
}

/* expand - the expansion of raw (the value of self) into out; 0 or a
 * MAINCF_ERR_* with the message in msg (may be NULL). */
static int expand(struct lookup_ctx *c, const char *self, const char *raw,
		  struct buf *out, struct buf *msg)
{
	struct maincf_lookup lk = {lk_get, lk_undefined, c};
	struct maincf_error err;
	int r;

	r = maincf_expand(raw, strlen(raw), self, &lk, out, &err);
	if (r != 0 && msg)
		maincf_error_format(&err, msg);
	return r;
}

/* expand_dup - expand into a new string; on error warn (unless quiet:
 * conf_load reports those with file and line) and return "". */
static char *expand_dup(const struct state *st, const char *self,
			const char *raw, int quiet)
{
	struct lookup_ctx c = {st, NULL, 0, NULL, NULL};
	struct buf out, msg;
	char *s;

	buf_init(&out, MAINCF_EXPAND_MAX + 1);
	buf_init(&msg, 512);
	if (expand(&c, self, raw, &out, &msg) != 0) {
		if (!quiet)
			msg_warn("parameter %s: %s", self, buf_str(&msg));
		buf_reset(&out);
	}
	s = mem_strdup(buf_str(&out));
	buf_free(&out);
	buf_free(&msg);
	return s;
}

/* join3 - a new string a + sep + b. */
static char *join3(const char *a, const char *sep, const char *b)
{
	size_t na = strlen(a), ns = strlen(sep), nb = strlen(b);
	char *s = mem_alloc(na + ns + nb + 1);

	memcpy(s, a, na);
	memcpy(s + na, sep, ns);
	memcpy(s + na + ns, b, nb + 1);
	return s;
}

/* ---- host-dependent defaults ---- */

static char *host_name(void)
{
	char name[256];

	if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == 0)
		snprintf(name, sizeof(name), "localhost");
	name[sizeof(name) - 1] = 0;
	if (strchr(name, '.') == NULL)
		return join3(name, ".", CONF_DEFAULT_DOMAIN);
	return mem_strdup(name);
}

/* domain_of - mydomain's default: myhostname minus its first label when
 * that leaves a name with a dot, else "localdomain" (Postfix). */
static char *domain_of(const char *host)
{
	const char *dot = strchr(host, '.');

	if (dot == NULL || strchr(dot + 1, '.') == NULL)
		return mem_strdup(CONF_DEFAULT_DOMAIN);
	return mem_strdup(dot + 1);
}

static int prefix_len(const unsigned char *mask, size_t n)
{
	int bits = 0;

	for (size_t i = 0; i < n; i++)
		for (int b = 7; b >= 0; b--) {
			if (!(mask[i] & (1u << b)))
				return bits;
			bits++;
		}
	return bits;
}

static void apply_prefix(unsigned char *a, size_t n, int bits)
{
	for (size_t i = 0; i < n; i++) {
		int keep = bits - (int)i * 8;

		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (unsigned char)(0xff << (8 - keep));
	}
}

static int has_word(const char *list, const char *word)
{
	const char *cursor = list, *tok;
	size_t len;

	while (conf_list_next(&cursor, &tok, &len) > 0)
		if (len == strlen(word) && str_ncasecmp(tok, word, len) == 0)
			return 1;
	return 0;
}

/* networks - mynetworks's default per mynetworks_style: every local
 * interface address as a host (/32, /128), its subnet, or (IPv4) its
 * class A/B/C network; IPv4 before IPv6, as Postfix lists them. */
static char *networks(const char *style, const char *protocols)
{
	int want4 = has_word(protocols, "all") || has_word(protocols, "ipv4");
	int want6 = has_word(protocols, "all") || has_word(protocols, "ipv6");
	struct ifaddrs *ifa = NULL;
	struct buf out, item;
	char *s;

	buf_init(&out, 64 * 1024);
	buf_init(&item, 128);
	if (getifaddrs(&ifa) != 0)
		ifa = NULL;
	for (int pass = 0; pass < 2; pass++) {
		int family = pass == 0 ? AF_INET : AF_INET6;

		if ((family == AF_INET && !want4) ||
		    (family == AF_INET6 && !want6))
			continue;
		for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
			unsigned char a[16];
			char text[INET6_ADDRSTRLEN];
			size_t n = family == AF_INET ? 4 : 16;
			int bits = (int)n * 8;

			if (i->ifa_addr == NULL ||
			    i->ifa_addr->sa_family != family)
				continue;
			if (family == AF_INET)
				memcpy(a,
				       &((struct sockaddr_in *)(void *)
						 i->ifa_addr)
						->sin_addr,
				       4);
			else
				memcpy(a,
				       &((struct sockaddr_in6 *)(void *)
						 i->ifa_addr)
						->sin6_addr,
				       16);
			if (strcmp(style, "host") != 0 && i->ifa_netmask) {
				const unsigned char *m =
					family == AF_INET
						? (const unsigned char *)&(
							  (struct sockaddr_in
								   *)(void *)i
								  ->ifa_netmask)
							  ->sin_addr
						: (const unsigned char *)&(
							  (struct sockaddr_in6
								   *)(void *)i
								  ->ifa_netmask)
							  ->sin6_addr;

				bits = prefix_len(m, n);
			}
			if (strcmp(style, "class") == 0 && family == AF_INET)
				bits = a[0] < 128   ? 8
				       : a[0] < 192 ? 16
				       : a[0] < 224 ? 24
						    : 32;
			apply_prefix(a, n, bits);
			if (inet_ntop(family, a, text, sizeof(text)) == NULL)
				continue;
			buf_reset(&item);
			buf_printf(&item,
				   family == AF_INET ? "%s/%d" : "[%s]/%d",
				   text, bits);
			if (has_word(buf_str(&out), buf_str(&item)))
				continue;
			if (buf_len(&out))
				buf_putc(&out, ' ');
			buf_puts(&out, buf_str(&item));
		}
	}
	if (ifa)
		freeifaddrs(ifa);
	if (buf_len(&out) == 0)
		buf_puts(&out, "127.0.0.0/8");
	s = mem_strdup(buf_str(&out));
	buf_free(&out);
	buf_free(&item);
	return s;
}

/* recompute - the computed defaults from the current settings. */
static void recompute(struct state *st)
{
	static char *hostname;
	char pid[32];
	char *v, *w;

	clear_caches(st);
	for (int i = 0; i < COMP_COUNT; i++) {
		mem_free(st->computed[i]);
		st->computed[i] = NULL;
	}
	if (hostname == NULL)
		hostname = host_name();
	st->computed[COMP_MYHOSTNAME] = mem_strdup(hostname);
	/* mydomain follows the effective myhostname, which may itself refer
	 * to $mydomain: that reference sees mydomain undefined. */
	v = expand_dup(st, "myhostname", raw_of(st, "myhostname"), 1);
	st->computed[COMP_MYDOMAIN] = domain_of(v);
	mem_free(v);
	v = expand_dup(st, "mynetworks_style", raw_of(st, "mynetworks_style"),
		       1);
	w = expand_dup(st, "inet_protocols", raw_of(st, "inet_protocols"), 1);
	st->computed[COMP_MYNETWORKS] = networks(v, w);
	mem_free(v);
	mem_free(w);
	st->computed[COMP_PROCESS_NAME] = mem_strdup(log_program());
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	st->computed[COMP_PROCESS_ID] = mem_strdup(pid);
	clear_caches(st);
}

static struct state *ensure(void)
{
	if (current == NULL) {
		const char *env = getenv("MAIL_CONFIG");

		current = state_new(env && *env ? env : CONF_DEFAULT_DIR);
		recompute(current);
	}
	return current;
}

/* ---- files ---- */

int conf_read_file(const char *path, struct buf *out)
{
	char chunk[16 * 1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	buf_reset(out);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_len(out) + (size_t)n > CONF_FILE_MAX ||
		    buf_append(out, chunk, (size_t)n) != 0) {
			close(fd);
			return -EFBIG;
		}
	}
	if (n < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

static char *join_path(const char *dir, const char *file)
{
	return join3(dir, "/", file);
}

/* ---- loading ---- */

/* mark_ctx - marks user-defined settings that something refers to. */
struct mark_ctx {
	struct state *st;
};

static void mark_ref(void *arg, const char *name, size_t len)
{
	struct mark_ctx *m = arg;
	long i = find_set(m->st, name, len, NULL);

	if (i >= 0)
		m->st->set[i].used = 1;
}

/* master_scan - master.cf's service names and -o references, quietly
 * (postconf -M reports its errors). */
struct master_scan {
	struct state *st;
	char **services;
	size_t nservices;
};

static int scan_service(const struct mastercf_entry *e, void *arg)
{
	struct master_scan *ms = arg;
	struct mark_ctx m = {ms->st};

	ms->services =
		mem_realloc(ms->services, (ms->nservices + 1) * sizeof(char *));
	ms->services[ms->nservices++] =
		mem_strdup(e->field[MASTERCF_F_SERVICE]);
	for (size_t i = 0; i < e->nargs; i++)
		if (e->args[i].name)
			maincf_refs(e->args[i].value, strlen(e->args[i].value),
				    mark_ref, &m);
	return 0;
}

static void master_walk(const char *path,
			int (*fn)(const struct mastercf_entry *, void *),
			void *arg, int report, int *errors)
{
	struct buf text, scratch, msg;
	struct mastercf_parser ps;
	struct mastercf_entry *e = mem_alloc(sizeof(*e));
	int r;

	buf_init(&text, CONF_FILE_MAX);
	buf_init(&scratch, MASTERCF_LOGICAL_MAX + 2);
	buf_init(&msg, 1024);
	r = conf_read_file(path, &text);
	if (r < 0) {
		if (report) {
			msg_error("open %s: %s", path, strerror(-r));
			(*errors)++;
		}
		goto out;
	}
	mastercf_init(&ps, buf_str(&text), buf_len(&text), &scratch);
	while ((r = mastercf_next(&ps, e)) != MASTERCF_END) {
		if (r == MASTERCF_WARNING || r < 0) {
			if (report) {
				buf_reset(&msg);
				mastercf_error_format(&ps.err, &msg);
				if (r < 0) {
					msg_error("%s, line %u: %s", path,
						  ps.err.line, buf_str(&msg));
					(*errors)++;
				} else {
					msg_warn("%s, line %u: %s", path,
						 ps.err.line, buf_str(&msg));
				}
			}
			if (r < 0)
				break;
			continue;
		}
		if (fn(e, arg) != 0)
			break;
	}
out:
	mem_free(e);
	buf_free(&text);
	buf_free(&scratch);
	buf_free(&msg);
}

static void ignore_ref(void *arg, const char *name, size_t len)
{
	(void)arg;
	(void)name;
	(void)len;
}

/* check_setting - type-check one known setting; 0 or -1 (reported). */
static int check_setting(struct state *st, const struct conf_setting *s,
			 const struct conf_param *p, const char *path)
{
	struct lookup_ctx c = {st, path, s->line, NULL, NULL};
	struct buf out, msg;
	int r = 0;

	buf_init(&out, MAINCF_EXPAND_MAX + 1);
	buf_init(&msg, 1024);
	if (p->flags & CONF_F_RAW) {
		if (maincf_refs(s->value, strlen(s->value), ignore_ref, NULL) !=
		    0) {
			msg_error("%s, line %u: %s: %s", path, s->line, s->name,
				  maincf_strerror(MAINCF_ERR_SYNTAX));
			r = -1;
		}
	} else if (expand(&c, s->name, s->value, &out, &msg) != 0) {
		msg_error("%s, line %u: %s: %s", path, s->line, s->name,
			  buf_str(&msg));
		r = -1;
	} else if (conf_value_check(p, buf_str(&out), NULL, &msg) != 0) {
		struct buf shown;

		buf_init(&shown, 256);
		log_escape(&shown, buf_str(&out),
			   buf_len(&out) > 100 ? 100 : buf_len(&out));
		msg_error("%s, line %u: %s: bad value \"%s\": %s", path,
			  s->line, s->name, buf_str(&shown), buf_str(&msg));
		buf_free(&shown);
		r = -1;
	}
	buf_free(&out);
	buf_free(&msg);
	return r;
}

static int line_cmp(const void *a, const void *b)
{
	const struct conf_setting *x = *(struct conf_setting *const *)a;
	const struct conf_setting *y = *(struct conf_setting *const *)b;

	return (x->line > y->line) - (x->line < y->line);
}

/* build - parse main.cf text into st and check it; the number of errors
 * (each reported). explicit_dir: set config_directory as Postfix -c. */
static int build(struct state *st, const char *path, const char *text,
		 size_t len, int explicit_dir)
{
	struct buf scratch, msg;
	struct maincf_parser ps;
	struct maincf_entry e;
	struct master_scan ms = {st, NULL, 0};
	struct mark_ctx m = {st};
	struct conf_setting **order;
	char *master_path;
	int r, errors = 0, parse_failed = 0;

	buf_init(&scratch, MAINCF_VALUE_MAX + 1);
	buf_init(&msg, 1024);
	maincf_init(&ps, text, len, &scratch);
	while ((r = maincf_next(&ps, &e)) != MAINCF_END) {
		char name[MAINCF_NAME_MAX + 1];
		long i;

		if (r == MAINCF_WARNING || r < 0) {
			buf_reset(&msg);
			maincf_error_format(&ps.err, &msg);
			if (r < 0) {
				msg_error("%s, line %u: %s", path, ps.err.line,
					  buf_str(&msg));
				errors++;
				parse_failed = 1;
				break;
			}
			msg_warn("%s, line %u: %s", path, ps.err.line,
				 buf_str(&msg));
			continue;
		}
		memcpy(name, e.name, e.name_len);
		name[e.name_len] = 0;
		i = find_set(st, name, e.name_len, NULL);
		if (i >= 0)
			msg_warn("%s, line %u: overriding earlier entry: %s=%s",
				 path, e.line, name, st->set[i].value);
		put_set(st, name, e.value, st->main_path, e.line);
	}
	buf_free(&scratch);
	if (explicit_dir && find_set(st, "config_directory",
				     strlen("config_directory"), NULL) < 0)
		put_set(st, "config_directory", st->dir, NULL, 0);
	recompute(st);

	/* Which user-defined names are referred to, and from where. */
	for (size_t i = 0; i < conf_params_count; i++)
		if (conf_params[i].def)
			maincf_refs(conf_params[i].def,
				    strlen(conf_params[i].def), mark_ref, &m);
	for (size_t i = 0; i < st->nset; i++)
		maincf_refs(st->set[i].value, strlen(st->set[i].value),
			    mark_ref, &m);
	master_path = join_path(st->dir, "master.cf");
	master_walk(master_path, scan_service, &ms, 0, NULL);
	mem_free(master_path);
	for (size_t i = 0; i < st->nset; i++) {
		struct conf_setting *s = &st->set[i];
		size_t k;

		if (s->known || s->used || !conf_transport_param(s->name, &k))
			continue;
		for (size_t j = 0; j < ms.nservices; j++)
			if (strlen(ms.services[j]) == k &&
			    strncmp(ms.services[j], s->name, k) == 0)
				s->used = 1;
	}
	for (size_t j = 0; j < ms.nservices; j++)
		mem_free(ms.services[j]);
	mem_free(ms.services);
	/* The classes smtpd_restriction_classes names are parameters that
	 * smtpd reads (Postfix does not call them unused either). */
	int rci = find_set(st, "smtpd_restriction_classes",
			   strlen("smtpd_restriction_classes"), NULL);
	if (rci >= 0) {
		char *copy = mem_strdup(st->set[rci].value);
		char *cur = copy, *tok;
		while ((tok = str_token(&cur, ", \t\r\n")) != NULL) {
			int ci = find_set(st, tok, strlen(tok), NULL);
			if (ci >= 0)
				st->set[ci].used = 1;
		}
		mem_free(copy);
	}

	/* Check what main.cf says, in file order (defaults are checked by the
	 * unit tests). */
	order = mem_alloc((st->nset ? st->nset : 1) * sizeof(*order));
	for (size_t i = 0; i < st->nset; i++)
		order[i] = &st->set[i];
	qsort(order, st->nset, sizeof(*order), line_cmp);
	for (size_t i = 0; !parse_failed && i < st->nset; i++) {
		const struct conf_setting *s = order[i];
		const struct conf_param *p = conf_param_find(s->name);

		if (s->file == NULL)
			continue;
		if (p) {
			if (check_setting(st, s, p, path) != 0)
				errors++;
		} else if (!s->used) {
			msg_warn("%s, line %u: unused parameter: %s=%s", path,
				 s->line, s->name, s->value);
		} else if (maincf_refs(s->value, strlen(s->value), ignore_ref,
				       NULL) != 0) {
			msg_error("%s, line %u: %s: %s", path, s->line, s->name,
				  maincf_strerror(MAINCF_ERR_SYNTAX));
			errors++;
		}
	}
	mem_free(order);
	clear_caches(st);
	buf_free(&msg);
	return errors;
}

static const char *resolve_dir(const char *dir, int *explicit_dir)
{
	const char *env = getenv("MAIL_CONFIG");

	*explicit_dir = 1;
	if (dir)
		return dir;
	if (env && *env)
		return env;
	*explicit_dir = 0;
	return CONF_DEFAULT_DIR;
}

int conf_load_flags(const char *dir, int flags)
{
	struct state *st;
	struct buf text;
	int explicit_dir, r;

	dir = resolve_dir(dir, &explicit_dir);
	st = state_new(dir);
	st->main_path = join_path(dir, "main.cf");
	buf_init(&text, CONF_FILE_MAX);
	r = conf_read_file(st->main_path, &text);
	if (r < 0 && !(r == -ENOENT && !(flags & CONF_MAIN_CF_REQUIRED))) {
		msg_error("open %s: %s", st->main_path,
			  r == -EFBIG ? "file too large" : strerror(-r));
		buf_free(&text);
		state_free(st);
		return -1;
	}
	if (r < 0)
		buf_reset(&text);
	r = build(st, st->main_path, buf_str(&text), buf_len(&text),
		  explicit_dir);
	buf_free(&text);
	if (r != 0) {
		state_free(st);
		return -1;
	}
	state_free(current);
	current = st;
	return 0;
}

int conf_load(const char *dir)
{
	return conf_load_flags(dir, 0);
}

int conf_check_text(const char *dir, const char *path, const char *text,
		    size_t len)
{
	int explicit_dir, r;
	struct state *st;

	dir = resolve_dir(dir, &explicit_dir);
	st = state_new(dir);
	st->main_path = mem_strdup(path);
	r = build(st, st->main_path, text, len, explicit_dir);
	state_free(st);
	return r ? -1 : 0;
}

const char *conf_dir(void)
{
	return ensure()->dir;
}

const struct conf_setting *conf_settings(size_t *n)
{
	struct state *st = ensure();

	*n = st->nset;
	return st->set;
}

int conf_master_read(const char *dir,
		     int (*fn)(const struct mastercf_entry *e, void *arg),
		     void *arg)
{
	char *path = join_path(dir ? dir : conf_dir(), "master.cf");
	int errors = 0;

	master_walk(path, fn, arg, 1, &errors);
	mem_free(path);
	return errors ? -1 : 0;
}

/* ---- values ---- */

const char *conf_get_raw(const char *name)
{
	return raw_lookup(ensure(), name, strlen(name));
}

const char *conf_get_default(const char *name)
{
	const struct conf_param *p = conf_param_find(name);

	return p ? default_raw(ensure(), p) : NULL;
}

/* default_expanded - the expanded default of table row p. */
static const char *default_expanded(struct state *st,
				    const struct conf_param *p)
{
	char **cache = &st->def_exp[p - conf_params];
	const char *raw = default_raw(st, p);

	if (raw == NULL)
		return "";
	if (p->flags & CONF_F_RAW)
		return raw;
	if (*cache == NULL)
		*cache = expand_dup(st, p->name, raw, 0);
	return *cache;
}

const char *conf_get(const char *name)
{
	struct state *st = ensure();
	const struct conf_param *p = conf_param_find(name);
	long i = find_set(st, name, strlen(name), NULL);

	if (i < 0)
		return p ? default_expanded(st, p) : NULL;
	if (p && (p->flags & CONF_F_RAW))
		return st->set[i].value;
	if (st->set_exp[i] == NULL)
		st->set_exp[i] = expand_dup(st, name, st->set[i].value, 0);
	return st->set_exp[i];
}

void conf_set(const char *name, const char *value)
{
	struct state *st = ensure();
	size_t i = put_set(st, name, value, NULL, 0);

	st->set[i].used = 1;
	recompute(st);
}

/* typed - the number behind a bool/int/size/time value, or the default's
 * (with a warning) when the value does not pass the table's check. */
static long typed(const char *name, enum conf_type want)
{
	struct state *st = ensure();
	const struct conf_param *p = conf_param_find(name);
	const char *v = conf_get(name);
	struct buf why;
	long num = 0;

	if (v == NULL) {
		msg_warn("unknown parameter: %s", name);
		return 0;
	}
	if (p == NULL) {
		/* A per-transport or user-defined name: plain syntax. */
		if (want == CONF_TIME)
			return conf_parse_time(v, 's', &num) == 0 ? num : 0;
		if (want == CONF_BOOL)
			return conf_parse_bool(v) == 1;
		return str_to_long(v, &num) == 0 ? num : 0;
	}
	buf_init(&why, 512);
	if (conf_value_check(p, v, &num, &why) != 0) {
		msg_warn("%s: bad value \"%s\": %s; using the default", name, v,
			 buf_str(&why));
		num = 0;
		buf_reset(&why);
		conf_value_check(p, default_expanded(st, p), &num, &why);
	}
	buf_free(&why);
	return num;
}

long conf_get_int(const char *name)
{
	return typed(name, CONF_INT);
}

long conf_get_time(const char *name)
{
	return typed(name, CONF_TIME);
}

int conf_get_bool(const char *name)
{
	return (int)typed(name, CONF_BOOL);
}
