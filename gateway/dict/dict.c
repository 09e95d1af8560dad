/* dict - the table registry and the small table types.
 *
 * Opens "type:name" (dict.h), folds keys of fixed-string tables, logs the
 * source warnings the pure parsers collect, and implements static, inline,
 * texthash and unix tables here; lmdb, regexp/pcre and cidr live in their
 * own files. Semantics follow Postfix 3.7 (static(5)/inline in DATABASE_README,
 * postmap(1) for texthash sources, local(8) for unix:passwd.byname). */
#include "dict.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "dict_cidr.h"
#include "dict_impl.h"
#include "dict_regexp.h"
#include "dict_text.h"

const char *const dict_type_names[] = {
	"btree", "cidr", "hash", "inline", "lmdb", "pcre", "regexp",
	"static", "texthash", "unix", NULL,
};

/* ---- an in-memory table (texthash, inline) ---- */

struct kvtab {
	char **keys, **vals;
	size_t n, cap;
	size_t *slots; /* open addressing: index + 1, 0 empty */
	size_t nslots;
	size_t seq;
};

static size_t kv_hash(const char *s)
{
	size_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static long kv_find(const struct kvtab *t, const char *key)
{
	if (t->nslots == 0)
		return -1;
	for (size_t i = kv_hash(key) & (t->nslots - 1);;
	     i = (i + 1) & (t->nslots - 1)) {
		if (t->slots[i] == 0)
			return -1;
		if (strcmp(t->keys[t->slots[i] - 1], key) == 0)
			return (long)(t->slots[i] - 1);
	}
}

static void kv_index(struct kvtab *t, size_t idx)
{
	size_t i = kv_hash(t->keys[idx]) & (t->nslots - 1);

	while (t->slots[i])
		i = (i + 1) & (t->nslots - 1);
	t->slots[i] = idx + 1;
}

/* kv_add - first entry wins; DICT_EXISTS for a duplicate */
static int kv_add(struct kvtab *t, const char *key, const char *val)
{
	if (kv_find(t, key) >= 0)
		return DICT_EXISTS;
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->keys = mem_realloc(t->keys, t->cap * sizeof(char *));
		t->vals = mem_realloc(t->vals, t->cap * sizeof(char *));
	}
	t->keys[t->n] = mem_strdup(key);
	t->vals[t->n] = mem_strdup(val);
	t->n++;
	if (2 * t->n > t->nslots) {
		mem_free(t->slots);
		t->nslots = t->nslots ? 2 * t->nslots : 32;
		t->slots = mem_zalloc(t->nslots * sizeof(size_t));
		for (size_t i = 0; i < t->n; i++)
			kv_index(t, i);
	} else {
		kv_index(t, t->n - 1);
	}
	return DICT_OK;
}

static void kv_free(struct kvtab *t)
{
	for (size_t i = 0; i < t->n; i++) {
		mem_free(t->keys[i]);
		mem_free(t->vals[i]);
	}
	mem_free(t->keys);
	mem_free(t->vals);
	mem_free(t->slots);
	mem_free(t);
}

static int kv_get(struct dict *d, const char *key, const char **value)
{
	long i = kv_find(d->impl, key);

	if (i < 0)
		return DICT_NOTFOUND;
	*value = ((struct kvtab *)d->impl)->vals[i];
	return DICT_OK;
}

static int kv_next(struct dict *d, int how, const char **key,
		   const char **value)
{
	struct kvtab *t = d->impl;

	if (how == DICT_SEQ_FIRST)
		t->seq = 0;
	if (t->seq >= t->n)
		return DICT_NOTFOUND;
	*key = t->keys[t->seq];
	*value = t->vals[t->seq++];
	return DICT_OK;
}

static int kv_close(struct dict *d, int commit)
{
	(void)commit;
	kv_free(d->impl);
	return DICT_OK;
}

static const struct dict_ops kv_ops = {
	kv_get, kv_next, NULL, NULL, kv_close,
};

/* ---- helpers ---- */

/* read_source - the whole file into b (bounded by DICT_FILE_MAX) */
static int read_source(struct dict *d, const char *path, struct buf *b)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		buf_printf(&d->err, "open %s: %s", path, strerror(errno));
		return DICT_ERR;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_append(b, chunk, (size_t)n) < 0) {
			buf_printf(&d->err, "read %s: %s", path,
				   n < 0 ? strerror(errno) : "file too large");
			close(fd);
			return DICT_ERR;
		}
	}
	close(fd);
	return DICT_OK;
}

/* report - log the parser's messages; with STRICT they are an error */
static int report(struct dict *d, const struct dict_diag *g)
{
	const char *p = buf_str(&g->text);

	if (g->count && (d->flags & DICT_FLAG_STRICT)) {
		dict_diag_first(g, &d->err);
		return DICT_ERR;
	}
	if (d->flags & DICT_FLAG_QUIET)
		return DICT_OK;
	while (*p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		msg_warn("%.*s", n, p);
		p += n + (nl != NULL);
	}
	return DICT_OK;
}

/* compiled - a table compiled from its source file by a pure parser */
struct compiled {
	size_t size; /* of the parser's table struct */
	void (*parse)(struct dict *d, void *t, const char *data, size_t len,
		      struct dict_diag *g);
	void (*release)(void *t);
	const struct dict_ops *ops;
};

/* open_compiled - read d->name, parse it, log or refuse the warnings */
static int open_compiled(struct dict *d, const struct compiled *c)
{
	struct dict_diag g;
	struct buf src;
	void *t;
	int rc;

	buf_init(&src, DICT_FILE_MAX);
	if (read_source(d, d->name, &src) < 0) {
		buf_free(&src);
		return DICT_ERR;
	}
	t = mem_alloc(c->size);
	dict_diag_init(&g);
	c->parse(d, t, buf_str(&src), buf_len(&src), &g);
	rc = report(d, &g);
	dict_diag_free(&g);
	buf_free(&src);
	if (rc < 0) {
		c->release(t);
		return DICT_ERR;
	}
	d->impl = t;
	d->ops = c->ops;
	return DICT_OK;
}

/* ---- static ---- */

static int static_get(struct dict *d, const char *key, const char **value)
{
	(void)key;
	*value = d->impl;
	return DICT_OK;
}

static int static_close(struct dict *d, int commit)
{
	(void)commit;
	mem_free(d->impl);
	return DICT_OK;
}

static const struct dict_ops static_ops = {
	static_get, NULL, NULL, NULL, static_close,
};

/* unbrace - "{ text }" -> "text" (copy); NULL when not braced */
static char *unbrace(const char *s)
{
	size_t n = strlen(s);
	char *copy, *t;

	if (n < 2 || s[0] != '{' || s[n - 1] != '}')
		return NULL;
	copy = mem_strndup(s + 1, n - 2);
	t = str_trim(copy);
	memmove(copy, t, strlen(t) + 1);
	return copy;
}

static int static_open(struct dict *d)
{
	char *v = unbrace(d->name);

	d->impl = v ? v : mem_strdup(d->name);
	d->ops = &static_ops;
	return DICT_OK;
}

/* ---- inline ---- */

static int inline_open(struct dict *d)
{
	char *body = unbrace(d->name), *p;
	struct kvtab *t;

	if (body == NULL) {
		buf_printf(&d->err, "bad syntax: \"inline:%s\"; need "
			   "\"inline:{name=value...}\"", d->name);
		return DICT_ERR;
	}
	t = mem_zalloc(sizeof(*t));
	for (p = body; *p;) {
		char *item, *eq, *end;

		while (*p && strchr(STR_LIST_SEP, *p))
			p++;
		if (*p == 0)
			break;
		if (*p == '{') {
			int depth = 0;

			for (end = p; *end; end++) {
				if (*end == '{')
					depth++;
				else if (*end == '}' && --depth == 0)
					break;
			}
			if (*end == 0) {
				buf_printf(&d->err, "missing '}' in \"inline:%s\"",
					   d->name);
				goto fail;
			}
			*end = 0;
			item = p + 1;
			p = end + 1;
		} else {
			item = p;
			p += strcspn(p, STR_LIST_SEP);
			if (*p)
				*p++ = 0;
		}
		if ((eq = strchr(item, '=')) == NULL) {
			buf_printf(&d->err, "missing '=' after attribute name: "
				   "\"inline:%s\"; need \"inline:{name="
				   "value...}\"", d->name);
			goto fail;
		}
		*eq = 0;
		item = str_trim(item);
		if (d->fold)
			str_lower(item);
		(void)kv_add(t, item, str_trim(eq + 1));
	}
	mem_free(body);
	d->impl = t;
	d->ops = &kv_ops;
	return DICT_OK;
fail:
	mem_free(body);
	kv_free(t);
	return DICT_ERR;
}

/* ---- texthash ---- */

static int texthash_open(struct dict *d)
{
	struct buf src, line;
	struct dict_lines rd;
	struct dict_diag g;
	struct kvtab *t;
	int lineno, rc;

	buf_init(&src, DICT_FILE_MAX);
	if (read_source(d, d->name, &src) < 0) {
		buf_free(&src);
		return DICT_ERR;
	}
	t = mem_zalloc(sizeof(*t));
	buf_init(&line, DICT_LINE_MAX);
	dict_diag_init(&g);
	dict_lines_init(&rd, d->name, buf_str(&src), buf_len(&src));
	while ((rc = dict_lines_next(&rd, &line, &lineno, &g)) != 0) {
		char *key, *value;

		if (rc < 0)
			continue;
		if (dict_text_split(line.data, &key, &value) < 0) {
			dict_diag_add(&g, "%s, line %d: expected format: key "
				      "whitespace value -- ignoring this line",
				      d->name, lineno);
			continue;
		}
		if (d->fold)
			str_lower(key);
		if (kv_add(t, key, value) == DICT_EXISTS)
			dict_diag_add(&g, "%s, line %d: duplicate entry: "
				      "\"%s\"", d->name, lineno, key);
	}
	rc = report(d, &g);
	dict_diag_free(&g);
	buf_free(&line);
	buf_free(&src);
	if (rc < 0) {
		kv_free(t);
		return DICT_ERR;
	}
	d->impl = t;
	d->ops = &kv_ops;
	return DICT_OK;
}

/* ---- regexp, pcre ---- */

static int re_get(struct dict *d, const char *key, const char **value)
{
	int rc = dict_re_match(d->impl, key, strlen(key), &d->value);

	if (rc < 0) {
		buf_set(&d->err, buf_str(&d->value), buf_len(&d->value));
		return DICT_ERR;
	}
	if (rc == 0)
		return DICT_NOTFOUND;
	*value = buf_str(&d->value);
	return DICT_OK;
}

static void re_release(void *t);

static int re_close(struct dict *d, int commit)
{
	(void)commit;
	re_release(d->impl);
	return DICT_OK;
}

static const struct dict_ops re_ops = {re_get, NULL, NULL, NULL, re_close};

static void re_parse(struct dict *d, void *t, const char *data,
		     size_t len, struct dict_diag *g)
{
	dict_re_parse(t, strcmp(d->type, "regexp") == 0, d->name, data, len,
		      g);
}

static void re_release(void *t)
{
	dict_re_free(t);
	mem_free(t);
}

/* ---- cidr ---- */

static int cidr_get(struct dict *d, const char *key, const char **value)
{
	const char *v = dict_cidr_match(d->impl, key);

	if (v == NULL)
		return DICT_NOTFOUND;
	*value = v;
	return DICT_OK;
}

static void cidr_release(void *t);

static int cidr_close(struct dict *d, int commit)
{
	(void)commit;
	cidr_release(d->impl);
	return DICT_OK;
}

static const struct dict_ops cidr_ops = {
	cidr_get, NULL, NULL, NULL, cidr_close,
};

static void cidr_parse(struct dict *d, void *t, const char *data,
		       size_t len, struct dict_diag *g)
{
	dict_cidr_parse(t, d->name, data, len, g);
}

static void cidr_release(void *t)
{
	dict_cidr_free(t);
	mem_free(t);
}

/* ---- unix ---- */

static int unix_get(struct dict *d, const char *key, const char **value)
{
	buf_reset(&d->value);
	if (strcmp(d->name, "passwd.byname") == 0) {
		struct passwd *pw = getpwnam(key);

		if (pw == NULL)
			return DICT_NOTFOUND;
		buf_printf(&d->value, "%s:%s:%ld:%ld:%s:%s:%s", pw->pw_name,
			   pw->pw_passwd, (long)pw->pw_uid, (long)pw->pw_gid,
			   pw->pw_gecos, pw->pw_dir, pw->pw_shell);
	} else {
		struct group *gr = getgrnam(key);

		if (gr == NULL)
			return DICT_NOTFOUND;
		buf_printf(&d->value, "%s:%s:%ld:", gr->gr_name,
			   gr->gr_passwd, (long)gr->gr_gid);
		for (char **m = gr->gr_mem; m && *m; m++)
			buf_printf(&d->value, "%s%s", m == gr->gr_mem ? "" : ",",
				   *m);
	}
	*value = buf_str(&d->value);
	return DICT_OK;
}

static int unix_close(struct dict *d, int commit)
{
	(void)d;
	(void)commit;
	return DICT_OK;
}

static const struct dict_ops unix_ops = {
	unix_get, NULL, NULL, NULL, unix_close,
};

static int unix_open(struct dict *d)
{
	if (strcmp(d->name, "passwd.byname") != 0 &&
	    strcmp(d->name, "group.byname") != 0) {
		buf_printf(&d->err, "unknown table: unix:%s", d->name);
		return DICT_ERR;
	}
	d->ops = &unix_ops;
	return DICT_OK;
}

static int re_open(struct dict *d)
{
	static const struct compiled c = {
		sizeof(struct dict_re), re_parse, re_release, &re_ops,
	};

	return open_compiled(d, &c);
}

static int cidr_open(struct dict *d)
{
	static const struct compiled c = {
		sizeof(struct dict_cidr), cidr_parse, cidr_release, &cidr_ops,
	};

	return open_compiled(d, &c);
}

/* ---- registry ---- */

struct dict_type {
	const char *name;
	int (*open)(struct dict *d);
	int fixed;    /* keys are strings: folding applies */
	int writable;
};

static const struct dict_type types[] = {
	{"lmdb", dict_lmdb_open, 1, 1},
	{"hash", dict_lmdb_open, 1, 1},
	{"btree", dict_lmdb_open, 1, 1},
	{"texthash", texthash_open, 1, 0},
	{"static", static_open, 0, 0},
	{"inline", inline_open, 1, 0},
	{"regexp", re_open, 0, 0},
	{"pcre", re_open, 0, 0},
	{"cidr", cidr_open, 0, 0},
	{"unix", unix_open, 1, 0},
	{NULL, NULL, 0, 0},
};

static const struct dict_type *find_type(const char *name, size_t n)
{
	for (const struct dict_type *t = types; t->name; t++)
		if (strlen(t->name) == n && memcmp(t->name, name, n) == 0)
			return t;
	return NULL;
}

int dict_type_known(const char *type)
{
	return find_type(type, strlen(type)) != NULL;
}

int dict_type_writable(const char *type)
{
	const struct dict_type *t = find_type(type, strlen(type));

	return t && t->writable;
}

static void dict_free_struct(struct dict *d)
{
	buf_free(&d->arg);
	buf_free(&d->key);
	buf_free(&d->value);
	buf_free(&d->err);
	mem_free(d->type);
	mem_free(d->name);
	mem_free(d);
}

/* dict_open - parse the spec, open the type */
int dict_open(const char *spec, int flags, struct dict **out, struct buf *err)
{
	const char *colon = strchr(spec, ':');
	const struct dict_type *t;
	struct dict *d;

	*out = NULL;
	if (colon == NULL || colon == spec || colon[1] == 0) {
		if (err)
			buf_printf(err, "need dictionary type:name, got \"%s\"",
				   spec);
		return DICT_ERR;
	}
	if ((t = find_type(spec, (size_t)(colon - spec))) == NULL) {
		if (err)
			buf_printf(err, "unsupported dictionary type: %.*s",
				   (int)(colon - spec), spec);
		return DICT_ERR;
	}
	if ((flags & DICT_FLAG_WRITE) && !t->writable) {
		if (err)
			buf_printf(err, "%s map requires O_RDONLY access mode "
				   "(only lmdb tables can be written)", spec);
		return DICT_ERR;
	}
	d = mem_zalloc(sizeof(*d));
	d->type = mem_strndup(spec, (size_t)(colon - spec));
	d->name = mem_strdup(colon + 1);
	d->flags = flags;
	d->fold = (flags & DICT_FLAG_FOLD) && t->fixed;
	buf_init(&d->arg, DICT_KEY_MAX);
	buf_init(&d->key, DICT_KEY_MAX);
	buf_init(&d->value, DICT_VALUE_MAX);
	buf_init(&d->err, 8192);
	if (t->open(d) != DICT_OK) {
		if (err)
			buf_append(err, buf_str(&d->err), buf_len(&d->err));
		dict_free_struct(d);
		return DICT_ERR;
	}
	*out = d;
	return DICT_OK;
}

static int finish(struct dict *d, int commit, struct buf *err)
{
	int rc = d->ops->close ? d->ops->close(d, commit) : DICT_OK;

	if (rc != DICT_OK && err)
		buf_append(err, buf_str(&d->err), buf_len(&d->err));
	dict_free_struct(d);
	return rc;
}

int dict_close(struct dict *d, struct buf *err) { return finish(d, 1, err); }

void dict_discard(struct dict *d) { (void)finish(d, 0, NULL); }

/* fold_key - the key the type sees, always a copy in d->arg (folded when
 * the table folds), NULL when too long. The caller's key may point into
 * d->key or d->value (a key dict_next handed out, a result fed back as the
 * next key), which the op rewrites while it still reads the key. */
static const char *fold_key(struct dict *d, const char *key)
{
	if (strlen(key) > DICT_KEY_MAX) {
		buf_reset(&d->err);
		buf_printf(&d->err, "table %s:%s: key too long (more than %d "
			   "bytes)", d->type, d->name, DICT_KEY_MAX);
		return NULL;
	}
	buf_sets(&d->arg, key);
	return d->fold ? str_lower(d->arg.data) : d->arg.data;
}

static int not_supported(struct dict *d, const char *what)
{
	buf_reset(&d->err);
	buf_printf(&d->err, "table %s:%s: %s operation is not supported",
		   d->type, d->name, what);
	return DICT_ERR_NOTSUP;
}

int dict_get(struct dict *d, const char *key, const char **value)
{
	const char *k = fold_key(d, key);
	int rc;

	if (k == NULL)
		return DICT_ERR;
	rc = d->ops->get(d, k, value);
	if (rc == DICT_OK && **value == 0 &&
	    !(d->flags & DICT_FLAG_QUIET)) {
		/* Postfix's words: a table should not answer "". */
		msg_warn("table %s:%s: key %s: empty string result is not "
			 "allowed", d->type, d->name, k);
		msg_warn("table %s:%s should return NO RESULT in case of NOT "
			 "FOUND", d->type, d->name);
	}
	return rc;
}

int dict_next(struct dict *d, int how, const char **key, const char **value)
{
	if (d->ops->next == NULL)
		return not_supported(d, "sequence");
	return d->ops->next(d, how, key, value);
}

int dict_set(struct dict *d, const char *key, const char *value)
{
	const char *k;

	if (d->ops->set == NULL)
		return not_supported(d, "update");
	if ((k = fold_key(d, key)) == NULL)
		return DICT_ERR;
	return d->ops->set(d, k, value);
}

int dict_del(struct dict *d, const char *key)
{
	const char *k;

	if (d->ops->del == NULL)
		return not_supported(d, "delete");
	if ((k = fold_key(d, key)) == NULL)
		return DICT_ERR;
	return d->ops->del(d, k);
}

const char *dict_error(const struct dict *d) { return buf_str(&d->err); }
const char *dict_type(const struct dict *d) { return d->type; }
const char *dict_name(const struct dict *d) { return d->name; }
int dict_flags(const struct dict *d) { return d->flags; }
