/* transport - the delivery transports: master.cf services and built-ins.
 *
 * A master.cf service of type unix whose command is smtp or lmtp is a
 * transport (Postfix master(5)); so is one whose command is error,
 * discard or local. maxproc "-" means default_process_limit, as in
 * Postfix. Built-ins that always exist: error, discard, hold and local;
 * smtp, relay and lmtp exist with Postfix's defaults when master.cf lacks
 * them (Postfix's stock master.cf has all three).
 *
 * Routes hold pointers to transports, and jobs in progress hold routes, so
 * a table replaced by transport_load() is retired, never freed: reloads
 * are rare and a table is small. */
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/maincf.h"
#include "conf/mastercf.h"
#include "conf/params.h"
#include "core/log.h"
#include "core/mem.h"
#include "deliver/deliver.h"

#define TRANSPORT_MAX 256 /* transports in one table */

/* One transport with its -o values expanded at load time. */
struct tp_entry {
	struct transport tp; /* first: callers see &entry->tp */
	char **values;       /* expanded value of each override */
};

struct tp_table {
	struct tp_entry *v;
	size_t n;
	struct tp_table *retired; /* older tables, kept for old routes */
};

static struct tp_table *table;

static void table_add(struct tp_table *t, const char *name,
		      enum transport_kind kind, unsigned maxproc)
{
	struct tp_entry *e;

	t->v = mem_realloc(t->v, (t->n + 1) * sizeof(*t->v));
	e = &t->v[t->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->tp.name, sizeof(e->tp.name), "%s", name);
	e->tp.kind = kind;
	e->tp.maxproc = maxproc;
}

static struct tp_entry *table_find(struct tp_table *t, const char *name)
{
	size_t i;

	for (i = 0; t && i < t->n; i++)
		if (strcmp(t->v[i].tp.name, name) == 0)
			return &t->v[i];
	return NULL;
}

/* default_maxproc - what "-" in the maxproc column means. */
static unsigned default_maxproc(void)
{
	long n = conf_get_int("default_process_limit");

	return n > 0 ? (unsigned)n : 0;
}

/* add_builtins - the transports that exist without master.cf lines. */
static void add_builtins(struct tp_table *t)
{
	static const struct {
		const char *name;
		enum transport_kind kind;
	} b[] = {
		{"smtp", TRANSPORT_SMTP},   {"relay", TRANSPORT_SMTP},
		{"error", TRANSPORT_ERROR}, {"discard", TRANSPORT_DISCARD},
		{"hold", TRANSPORT_HOLD},   {"local", TRANSPORT_LOCAL},
		{"lmtp", TRANSPORT_LMTP},
	};
	size_t i;

	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		if (table_find(t, b[i].name) == NULL)
			table_add(t, b[i].name, b[i].kind, default_maxproc());
}

static int kind_of_command(const char *cmd, enum transport_kind *kind)
{
	static const struct {
		const char *cmd;
		enum transport_kind kind;
	} k[] = {
		{"smtp", TRANSPORT_SMTP},   {"lmtp", TRANSPORT_LMTP},
		{"error", TRANSPORT_ERROR}, {"discard", TRANSPORT_DISCARD},
		{"local", TRANSPORT_LOCAL},
	};
	size_t i;

	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (strcmp(cmd, k[i].cmd) == 0) {
			*kind = k[i].kind;
			return 1;
		}
	return 0;
}

/* Expansion of -o values: the service's own overrides, $service_name,
 * then main.cf and the defaults. */
struct expand_ctx {
	const struct tp_entry *e;
};

static const char *expand_get(void *arg, const char *name, size_t len)
{
	const struct expand_ctx *x = arg;
	const struct transport *tp = &x->e->tp;
	char tmp[MAINCF_NAME_MAX + 1];
	size_t i;

	if (len == 12 && memcmp(name, "service_name", 12) == 0)
		return tp->name;
	for (i = tp->noverrides; i-- > 0;) {
		const char *o = tp->overrides[i];
		const char *eq = strchr(o, '=');

		if (eq && (size_t)(eq - o) == len && memcmp(o, name, len) == 0)
			return eq + 1;
	}
	if (len > MAINCF_NAME_MAX)
		return NULL;
	memcpy(tmp, name, len);
	tmp[len] = 0;
	return conf_get_raw(tmp);
}

static char *expand_value(const struct tp_entry *e, const char *name,
			  const char *raw)
{
	struct expand_ctx x = {e};
	struct maincf_lookup lk = {expand_get, NULL, &x};
	struct maincf_error err;
	struct buf out;
	char *s;

	buf_init(&out, MAINCF_EXPAND_MAX);
	if (maincf_expand(raw, strlen(raw), name, &lk, &out, &err) < 0) {
		msg_warn("master.cf service %s: cannot expand -o %s=%s; "
			 "using it as written",
			 e->tp.name, name, raw);
		buf_sets(&out, raw);
	}
	s = mem_strdup(buf_str(&out));
	buf_free(&out);
	return s;
}

static int load_entry(const struct mastercf_entry *me, void *arg)
{
	struct tp_table *t = arg;
	const char *name = me->field[MASTERCF_F_SERVICE];
	const char *cmd = me->field[MASTERCF_F_COMMAND];
	enum transport_kind kind;
	struct tp_entry *e;
	size_t i;

	if (me->type != MASTERCF_UNIX || !kind_of_command(cmd, &kind))
		return 0;
	if (strlen(name) >= TRANSPORT_NAME_MAX) {
		msg_warn(
			"master.cf, line %u: transport name too long: %.64s...",
			me->line, name);
		return 0;
	}
	if (table_find(t, name)) {
		msg_warn("master.cf, line %u: duplicate service %s; the first "
			 "one is used",
			 me->line, name);
		return 0;
	}
	if (t->n >= TRANSPORT_MAX) {
		msg_warn("master.cf, line %u: more than %d transports; %s "
			 "ignored",
			 me->line, TRANSPORT_MAX, name);
		return 0;
	}
	table_add(t, name, kind,
		  me->maxproc < 0 ? default_maxproc() : (unsigned)me->maxproc);
	e = &t->v[t->n - 1];
	for (i = 0; i < me->nargs; i++) {
		const struct mastercf_arg *a = &me->args[i];
		struct buf o;

		if (a->name == NULL)
			continue;
		buf_init(&o, MASTERCF_LOGICAL_MAX);
		buf_printf(&o, "%s=%s", a->name, a->value ? a->value : "");
		e->tp.overrides = mem_realloc(e->tp.overrides,
					      (e->tp.noverrides + 1) *
						      sizeof(*e->tp.overrides));
		e->tp.overrides[e->tp.noverrides++] = mem_strdup(buf_str(&o));
		buf_free(&o);
	}
	return 0;
}

/* expand_all - the expanded value of each override, once. */
static void expand_all(struct tp_table *t)
{
	size_t i, j;

	for (i = 0; i < t->n; i++) {
		struct tp_entry *e = &t->v[i];

		if (e->tp.noverrides == 0)
			continue;
		e->values = mem_zalloc(e->tp.noverrides * sizeof(char *));
		for (j = 0; j < e->tp.noverrides; j++) {
			const char *o = e->tp.overrides[j];
			const char *eq = strchr(o, '=');
			char *name = mem_strndup(o, (size_t)(eq - o));

			e->values[j] = expand_value(e, name, eq + 1);
			mem_free(name);
		}
	}
}

int transport_load(void)
{
	struct tp_table *t = mem_zalloc(sizeof(*t));

	if (conf_master_read(NULL, load_entry, t) < 0) {
		size_t i, j;

		for (i = 0; i < t->n; i++) {
			for (j = 0; j < t->v[i].tp.noverrides; j++)
				mem_free(t->v[i].tp.overrides[j]);
			mem_free(t->v[i].tp.overrides);
		}
		mem_free(t->v);
		mem_free(t);
		return -1;
	}
	add_builtins(t);
	expand_all(t);
	t->retired = table;
	table = t;
	return 0;
}

const struct transport *transport_find(const char *name)
{
	struct tp_entry *e;

	if (table == NULL) {
		/* Not loaded: the built-ins, so routing works without
		 * master.cf (commands, tests). */
		table = mem_zalloc(sizeof(*table));
		add_builtins(table);
	}
	e = table_find(table, name);
	return e ? &e->tp : NULL;
}

/* find_override - the expanded -o value of name (the last one), or NULL. */
static const char *find_override(const struct transport *tp, const char *name)
{
	const struct tp_entry *e = (const struct tp_entry *)tp;
	size_t len = strlen(name), i;

	for (i = tp ? tp->noverrides : 0; i-- > 0;) {
		const char *o = tp->overrides[i];

		if (strncmp(o, name, len) == 0 && o[len] == '=')
			return e->values ? e->values[i] : o + len + 1;
	}
	return NULL;
}

const char *transport_get(const struct transport *tp, const char *name)
{
	const char *v = find_override(tp, name);

	return v ? v : conf_get(name);
}

/* typed - the number of an override, checked as main.cf would be. */
static int typed(const struct transport *tp, const char *name, long *num)
{
	const struct conf_param *p = conf_param_find(name);
	const char *v = find_override(tp, name);
	struct buf why;
	int rc;

	if (p == NULL || v == NULL)
		return -1;
	buf_init(&why, 1024);
	rc = conf_value_check(p, v, num, &why);
	if (rc < 0)
		msg_warn("master.cf service %s: bad -o %s=%s (%s); using the "
			 "main.cf value",
			 tp->name, name, v, buf_str(&why));
	buf_free(&why);
	return rc;
}

long transport_get_int(const struct transport *tp, const char *name)
{
	long n;

	return typed(tp, name, &n) == 0 ? n : conf_get_int(name);
}

long transport_get_time(const struct transport *tp, const char *name)
{
	long n;

	return typed(tp, name, &n) == 0 ? n : conf_get_time(name);
}
