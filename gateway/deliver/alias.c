/* alias - aliases(5) parsing and expansion (Postfix local(8): alias.c,
 * token.c, include.c, recipient.c). The parser trusts nothing; expansion
 * trusts the alias tables and :include: files as the administrator's. */
#include "deliver/alias.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "dict/dict.h"

#define ALIAS_MAPS_MAX 32

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* emit - classify one target and report it. */
static int emit(const char *p, size_t n, int quoted, alias_item_fn *fn,
		void *arg)
{
	static const char inc[] = ":include:";

	if (n > ALIAS_TARGET_MAX)
		return ALIAS_ERR_LIMIT;
	if (n == 0)
		return 0;
	if (p[0] == '|')
		return fn(arg, ALIAS_T_COMMAND, p + 1, n - 1);
	if (p[0] == '/')
		return fn(arg, ALIAS_T_FILE, p, n);
	if (n >= sizeof(inc) - 1 && strncasecmp(p, inc, sizeof(inc) - 1) == 0) {
		p += sizeof(inc) - 1;
		n -= sizeof(inc) - 1;
		while (n > 0 && is_space((unsigned char)*p))
			p++, n--;
		return n ? fn(arg, ALIAS_T_INCLUDE, p, n) : 0;
	}
	if (!quoted && n >= 2 && p[0] == '<' && p[n - 1] == '>')
		p++, n -= 2;
	return n ? fn(arg, ALIAS_T_ADDR, p, n) : 0;
}

/* alias_parse_list - split a target list. */
int alias_parse_list(const char *p, size_t n, int include_file,
		     alias_item_fn *fn, void *arg)
{
	size_t i = 0, start, end;
	int line_start = 1, rc;

	while (i < n) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n') {
			line_start = 1;
			i++;
			continue;
		}
		if (is_space(c) || c == ',') {
			i++;
			continue;
		}
		if (include_file && line_start && c == '#') {
			while (i < n && p[i] != '\n')
				i++;
			continue;
		}
		line_start = 0;
		if (c == '"') {
			start = ++i;
			while (i < n && p[i] != '"')
				i++;
			if (i >= n)
				return ALIAS_ERR_SYNTAX;
			rc = emit(p + start, i - start, 1, fn, arg);
			i++;
		} else {
			start = i;
			while (i < n && p[i] != ',' && p[i] != '\n')
				i++;
			end = i;
			while (end > start &&
			       is_space((unsigned char)p[end - 1]))
				end--;
			rc = emit(p + start, end - start, 0, fn, arg);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- tables ---- */

struct alias_table {
	struct dict *d[ALIAS_MAPS_MAX];
	char *spec[ALIAS_MAPS_MAX];
	size_t n;
};

int alias_open(const char *maps, struct alias_table **out, struct buf *err)
{
	struct alias_table *t = mem_zalloc(sizeof(*t));
	const char *p = maps ? maps : "";

	while (*p) {
		size_t len = strcspn(p, ", \t\r\n");
		char *spec;

		if (len == 0) {
			p++;
			continue;
		}
		if (t->n == ALIAS_MAPS_MAX) {
			if (err)
				buf_puts(err, "alias_maps: too many tables");
			alias_close(t);
			return -1;
		}
		spec = mem_strndup(p, len);
		if (dict_open(spec, DICT_FLAG_FOLD, &t->d[t->n], err) != 0) {
			mem_free(spec);
			alias_close(t);
			return -1;
		}
		t->spec[t->n++] = spec;
		p += len;
	}
	*out = t;
	return 0;
}

void alias_close(struct alias_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		dict_close(t->d[i], NULL);
		mem_free(t->spec[i]);
	}
	mem_free(t);
}

int alias_domain_is_local(const char *domain, size_t len, const char *list)
{
	const char *p = list ? list : "";

	while (*p) {
		size_t l = strcspn(p, ", \t\r\n");

		if (l == len && strncasecmp(p, domain, len) == 0)
			return 1;
		p += l ? l : 1;
	}
	return 0;
}

/* ---- expansion ---- */

struct exp {
	struct alias_table *t;
	const char *mydest;
	struct alias_expansion *out;
	char *stack[ALIAS_DEPTH_MAX + 1]; /* names being expanded */
	size_t depth;
	int exp_type; /* "alias" or "include" for allow_mail_to_* */
	int full;
};

static void add(struct exp *e, enum alias_result_kind kind, const char *addr,
		size_t len, enum deliver_status st, const char *dsn,
		const char *text)
{
	struct alias_expansion *x = e->out;
	struct alias_result *r;
	size_t i;

	for (i = 0; i < x->n; i++)
		if (x->r[i].kind == kind && strlen(x->r[i].addr) == len &&
		    strncasecmp(x->r[i].addr, addr, len) == 0)
			return;
	if (x->n >= ALIAS_RESULTS_MAX) {
		if (!e->full) {
			e->full = 1;
			/* Replace the last result: the caller must see it. */
			r = &x->r[x->n - 1];
			mem_free(r->addr);
			mem_free(r->text);
			r->kind = ALIAS_R_FAIL;
			r->addr = mem_strdup("(too many)");
			r->st = DELIVER_BOUNCE;
			memcpy(r->dsn, "5.3.0", 6);
			r->text = mem_strdup("alias expansion has too many "
					     "recipients");
		}
		return;
	}
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 8;
		x->r = mem_realloc(x->r, x->cap * sizeof(*x->r));
	}
	r = &x->r[x->n++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->addr = mem_strndup(addr, len);
	r->st = st;
	if (dsn)
		memcpy(r->dsn, dsn, strlen(dsn) + 1);
	r->text = text ? mem_strdup(text) : NULL;
}

static void fail(struct exp *e, const char *target, size_t len,
		 enum deliver_status st, const char *dsn, const char *text)
{
	add(e, ALIAS_R_FAIL, target, len, st, dsn, text);
}

static void expand_name(struct exp *e, const char *name, size_t len);

/* allowed - is delivery class (allow_mail_to_commands/files) permitted
 * for the current expansion type? */
static int allowed(const char *param, int include)
{
	const char *v = conf_get(param), *want = include ? "include" : "alias";
	size_t wl = strlen(want);

	while (v && *v) {
		size_t l = strcspn(v, ", \t\r\n");

		if (l == wl && strncasecmp(v, want, l) == 0)
			return 1;
		v += l ? l : 1;
	}
	return 0;
}

static void expand_include(struct exp *e, const char *path, size_t len);

static int on_target(void *arg, enum alias_kind kind, const char *p, size_t n)
{
	struct exp *e = arg;
	const char *at;

	switch (kind) {
	case ALIAS_T_COMMAND:
		if (!allowed("allow_mail_to_commands", e->exp_type))
			fail(e, p - 1, n + 1, DELIVER_BOUNCE, "5.7.1",
			     "mail to command is restricted");
		else
			fail(e, p - 1, n + 1, DELIVER_DEFER, "4.3.0",
			     "mail to command is not supported by mailgw");
		break;
	case ALIAS_T_FILE:
		if (!allowed("allow_mail_to_files", e->exp_type))
			fail(e, p, n, DELIVER_BOUNCE, "5.7.1",
			     "mail to file is restricted");
		else
			fail(e, p, n, DELIVER_DEFER, "4.3.0",
			     "mail to file is not supported by mailgw");
		break;
	case ALIAS_T_INCLUDE:
		expand_include(e, p, n);
		break;
	case ALIAS_T_ADDR:
		at = memrchr(p, '@', n);
		if (at == NULL)
			expand_name(e, p, n);
		else if (alias_domain_is_local(at + 1, n - (size_t)(at + 1 - p),
					       e->mydest))
			expand_name(e, p, (size_t)(at - p));
		else
			add(e, ALIAS_R_FORWARD, p, n, DELIVER_SENT, NULL, NULL);
		break;
	}
	return 0;
}

static void parse_value(struct exp *e, const char *v, size_t n, int include,
			const char *what, size_t wlen)
{
	int saved = e->exp_type, rc;
	struct buf t;

	e->exp_type = include;
	rc = alias_parse_list(v, n, include, on_target, e);
	e->exp_type = saved;
	if (rc < 0) {
		buf_init(&t, 512);
		buf_printf(&t, "%s %.*s: %s",
			   include ? "include file" : "alias", (int)wlen, what,
			   rc == ALIAS_ERR_LIMIT ? "address too long"
						 : "unterminated quote");
		fail(e, what, wlen, DELIVER_BOUNCE, "5.3.0", buf_str(&t));
		buf_free(&t);
	}
}

static void expand_include(struct exp *e, const char *path, size_t len)
{
	char *p = mem_strndup(path, len);
	struct buf t, data;
	struct stat st;
	int fd;

	buf_init(&t, 4096 + 256);
	buf_init(&data, ALIAS_INCLUDE_MAX);
	if (e->depth >= ALIAS_DEPTH_MAX) {
		fail(e, path, len, DELIVER_BOUNCE, "5.4.6",
		     "mail forwarding loop for :include: file");
		goto out;
	}
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int err = fd < 0 ? errno : EINVAL;
		buf_printf(&t, "cannot open include file %s: %s", p,
			   err == EINVAL ? "not a regular file"
					 : strerror(err));
		fail(e, path, len, DELIVER_BOUNCE, "5.3.5", buf_str(&t));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	for (;;) {
		char chunk[8192];
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0) {
				buf_printf(&t,
					   "error reading include file "
					   "%s: %s",
					   p, strerror(errno));
				fail(e, path, len, DELIVER_DEFER, "4.3.0",
				     buf_str(&t));
				close(fd);
				goto out;
			}
			break;
		}
		if (buf_append(&data, chunk, (size_t)r) < 0) {
			buf_printf(&t, "include file %s is too large", p);
			fail(e, path, len, DELIVER_BOUNCE, "5.3.4",
			     buf_str(&t));
			close(fd);
			goto out;
		}
	}
	close(fd);
	e->stack[e->depth++] = NULL; /* a level, but no name */
	parse_value(e, data.data, data.len, 1, path, len);
	e->depth--;
out:
	buf_free(&t);
	buf_free(&data);
	mem_free(p);
}

/* lookup - first table that has key: DICT_OK, DICT_NOTFOUND or DICT_ERR. */
static int lookup(struct alias_table *t, const char *key, const char **val)
{
	size_t i;
	int rc;

	for (i = 0; t && i < t->n; i++) {
		rc = dict_get(t->d[i], key, val);
		if (rc == DICT_OK)
			return DICT_OK;
		if (rc < 0) {
			msg_warn("%s lookup error for \"%s\": %s", t->spec[i],
				 key, dict_error(t->d[i]));
			return DICT_ERR;
		}
	}
	return DICT_NOTFOUND;
}

static void expand_name(struct exp *e, const char *name, size_t len)
{
	char *key;
	const char *val;
	size_t i;
	int rc;

	if (len == 0 || len > ALIAS_TARGET_MAX) {
		fail(e, name, len, DELIVER_BOUNCE, "5.1.3",
		     "bad address syntax");
		return;
	}
	key = mem_strndup(name, len);
	for (i = 0; i < len; i++)
		if (key[i] >= 'A' && key[i] <= 'Z')
			key[i] = (char)(key[i] + 32);
	/* Being expanded already: its own mailbox (Postfix's dup filter). */
	for (i = 0; i < e->depth; i++)
		if (e->stack[i] && strcmp(e->stack[i], key) == 0) {
			add(e, ALIAS_R_MAILBOX, key, len, DELIVER_SENT, NULL,
			    NULL);
			mem_free(key);
			return;
		}
	if (e->depth >= ALIAS_DEPTH_MAX) {
		fail(e, key, len, DELIVER_BOUNCE, "5.4.6",
		     "mail forwarding loop");
		mem_free(key);
		return;
	}
	rc = lookup(e->t, key, &val);
	if (rc == DICT_ERR) {
		fail(e, key, len, DELIVER_DEFER, "4.3.0",
		     "alias database unavailable");
	} else if (rc == DICT_OK) {
		char *copy = mem_strdup(val); /* val dies on the next lookup */
		e->stack[e->depth++] = key;
		parse_value(e, copy, strlen(copy), 0, key, len);
		e->depth--;
		mem_free(copy);
	} else if (strcmp(key, "postmaster") == 0 ||
		   strcmp(key, "abuse") == 0) {
		e->stack[e->depth++] = key;
		expand_name(e, "root", 4);
		e->depth--;
	} else {
		add(e, ALIAS_R_MAILBOX, key, len, DELIVER_SENT, NULL, NULL);
	}
	mem_free(key);
}

void alias_expand(struct alias_table *t, const char *name,
		  const char *mydestination, struct alias_expansion *out)
{
	struct exp e;

	memset(&e, 0, sizeof(e));
	e.t = t;
	e.mydest = mydestination;
	e.out = out;
	expand_name(&e, name, strlen(name));
}

void alias_expansion_free(struct alias_expansion *x)
{
	size_t i;

	for (i = 0; i < x->n; i++) {
		mem_free(x->r[i].addr);
		mem_free(x->r[i].text);
	}
	mem_free(x->r);
	memset(x, 0, sizeof(*x));
}
