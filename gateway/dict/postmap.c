/* postmap - the postmap, postalias and newaliases commands.
 *
 * As Postfix's postmap(1), postalias(1) and newaliases(1) for the options
 * mailgw supports (-c -d -f -i -n -N -q -r -s -v -w); the others are
 * refused with a message. Output formats are Postfix's: "value" for -q KEY,
 * "key<TAB>value" for -q - and -s (postalias: "key:<TAB>value"). Exit
 * status: 0, or 1 when -q/-d found nothing or on a fatal error.
 *
 * Building ("postmap [type:]file") reads the source as text, writes a new
 * FILE.lmdb beside the old one and renames it into place (dict_lmdb.c), so
 * a running reader sees either the old or the new table; a fatal error or a
 * terminating signal removes the new file (dict_cleanup_temps), so nothing
 * is left beside the table. Only lmdb (and its
 * aliases hash and btree) can be built; the default type is
 * default_database_type from main.cf, which mailgw maps onto lmdb. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "conf/conf.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "dict/dict.h"
#include "dict/dict_text.h"

enum mode { MODE_POSTMAP, MODE_POSTALIAS };

struct opts {
	enum mode mode;
	const char *prog;
	const char *confdir;
	const char *query;   /* -q */
	const char *delete;  /* -d */
	int dump;            /* -s */
	int incremental;     /* -i */
	int fold;            /* not -f */
	int nul;             /* -N / -n / mode default */
	int dup;             /* 0 warn, 1 replace (-r), 2 ignore (-w) */
};

/* table_spec - "type:name" for a command-line table argument */
static char *table_spec(const char *arg)
{
	const char *colon = strchr(arg, ':');
	const char *type = conf_get("default_database_type");
	struct buf b;
	char *spec;

	if (colon && !memchr(arg, '/', (size_t)(colon - arg)))
		return mem_strdup(arg);
	if (type == NULL || !dict_type_writable(type))
		type = "lmdb";
	buf_init(&b, strlen(arg) + 64);
	buf_printf(&b, "%s:%s", type, arg);
	spec = mem_strdup(buf_str(&b));
	buf_free(&b);
	return spec;
}

/* on_signal - remove the temporary file of a table being written, then
 * die of the signal as if it had not been caught. */
static void on_signal(int sig)
{
	dict_cleanup_temps();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* cleanup_on_exit - a fatal error or a terminating signal while a table is
 * open for writing must not leave its temporary file beside the table. */
static void cleanup_on_exit(void)
{
	static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;

		/* A signal ignored by whoever started us stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler != SIG_IGN)
			(void)sigaction(sigs[i], &sa, NULL);
	}
	log_set_fatal_hook(dict_cleanup_temps);
}

static int base_flags(const struct opts *o)
{
	return (o->fold ? DICT_FLAG_FOLD : 0) | (o->nul ? DICT_FLAG_NUL : 0) |
	       (o->dup == 1 ? DICT_FLAG_DUP_REPLACE : 0);
}

static struct dict *open_or_die(const char *spec, int flags)
{
	struct dict *d;
	struct buf err;

	buf_init(&err, 8192);
	if (dict_open(spec, flags, &d, &err) != DICT_OK)
		msg_fatal("%s", buf_str(&err));
	buf_free(&err);
	return d;
}

static void close_or_die(struct dict *d)
{
	struct buf err;

	buf_init(&err, 8192);
	if (dict_close(d, &err) != DICT_OK)
		msg_fatal("%s", buf_str(&err));
	buf_free(&err);
}

/* read_all - the whole stream into b */
static void read_all(FILE *f, const char *what, struct buf *b)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(b, chunk, n) < 0)
			msg_fatal("%s: input too large", what);
	if (ferror(f))
		msg_fatal("%s: read error", what);
}

/* read_key - one line of stdin without its newline; 0 at end */
static int read_key(struct buf *key)
{
	int c;

	buf_reset(key);
	while ((c = getchar()) != EOF && c != '\n')
		if (buf_putc(key, c) < 0)
			msg_fatal("stdin: key too long");
	return c != EOF || buf_len(key) > 0;
}

static const char *sep(const struct opts *o)
{
	return o->mode == MODE_POSTALIAS ? ":\t" : "\t";
}

/* query - look key up in each table in turn; 1 found */
static int query(const struct opts *o, struct dict **tabs, int n,
		 const char *key, int with_key)
{
	for (int i = 0; i < n; i++) {
		const char *value;
		int rc = dict_get(tabs[i], key, &value);

		if (rc == DICT_OK) {
			if (with_key)
				printf("%s%s%s\n", key, sep(o), value);
			else
				printf("%s\n", value);
			return 1;
		}
		if (rc < 0)
			msg_fatal("table %s:%s: query error: %s",
				  dict_type(tabs[i]), dict_name(tabs[i]),
				  dict_error(tabs[i]));
	}
	return 0;
}

static int do_query(const struct opts *o, char **tables, int n)
{
	struct dict **tabs = mem_alloc((size_t)n * sizeof(*tabs));
	int found = 0;

	for (int i = 0; i < n; i++) {
		char *spec = table_spec(tables[i]);

		tabs[i] = open_or_die(spec, base_flags(o));
		mem_free(spec);
	}
	if (strcmp(o->query, "-") == 0) {
		struct buf key;

		buf_init(&key, DICT_KEY_MAX);
		while (read_key(&key))
			found |= query(o, tabs, n, buf_str(&key), 1);
		buf_free(&key);
	} else {
		found = query(o, tabs, n, o->query, 0);
	}
	fflush(stdout);
	for (int i = 0; i < n; i++)
		dict_discard(tabs[i]);
	mem_free(tabs);
	return found ? 0 : 1;
}

static int do_dump(const struct opts *o, char **tables, int n)
{
	for (int i = 0; i < n; i++) {
		char *spec = table_spec(tables[i]);
		struct dict *d = open_or_die(spec, base_flags(o));
		const char *k, *v;
		int rc, how = DICT_SEQ_FIRST;

		while ((rc = dict_next(d, how, &k, &v)) == DICT_OK) {
			printf("%s%s%s\n", k, sep(o), v);
			how = DICT_SEQ_NEXT;
		}
		if (rc < 0)
			msg_fatal("%s", dict_error(d));
		dict_discard(d);
		mem_free(spec);
	}
	fflush(stdout);
	return 0;
}

static int do_delete(const struct opts *o, char **tables, int n)
{
	int found = 0;
	struct buf key;

	buf_init(&key, DICT_KEY_MAX);
	for (int i = 0; i < n; i++) {
		char *spec = table_spec(tables[i]);
		struct dict *d = open_or_die(spec, base_flags(o) |
						   DICT_FLAG_WRITE);
		int rc;

		if (strcmp(o->delete, "-") == 0) {
			while (read_key(&key))
				if ((rc = dict_del(d, buf_str(&key))) ==
				    DICT_OK)
					found = 1;
				else if (rc < 0)
					msg_fatal("%s", dict_error(d));
		} else if ((rc = dict_del(d, o->delete)) == DICT_OK) {
			found = 1;
		} else if (rc < 0) {
			msg_fatal("%s", dict_error(d));
		}
		close_or_die(d);
		mem_free(spec);
	}
	buf_free(&key);
	return found ? 0 : 1;
}

/* load - parse source text into d: key/value lines or alias lines */
static void load(const struct opts *o, struct dict *d, const char *file,
		 const char *data, size_t len)
{
	struct dict_lines rd;
	struct dict_diag g;
	struct buf line, key, value;
	int lineno, rc;

	buf_init(&line, DICT_LINE_MAX);
	buf_init(&key, DICT_LINE_MAX);
	buf_init(&value, DICT_LINE_MAX);
	dict_diag_init(&g);
	dict_lines_init(&rd, file, data, len);
	while ((rc = dict_lines_next(&rd, &line, &lineno, &g)) != 0) {
		const char *k, *v;

		if (rc < 0)
			continue;
		if (o->mode == MODE_POSTALIAS) {
			if (dict_alias_split(buf_str(&line), &key, &value) < 0) {
				dict_diag_add(&g, "%s, line %d: need name:value "
					      "pair", file, lineno);
				continue;
			}
			k = buf_str(&key);
			v = buf_str(&value);
		} else {
			char *kk, *vv;

			if (dict_text_split(line.data, &kk, &vv) < 0) {
				dict_diag_add(&g, "%s, line %d: expected format: "
					      "key whitespace value", file,
					      lineno);
				continue;
			}
			k = kk;
			v = vv;
		}
		rc = dict_set(d, k, v);
		if (rc == DICT_EXISTS && o->dup == 0)
			dict_diag_add(&g, "%s:%s: duplicate entry: \"%s\"",
				      dict_type(d), dict_name(d), k);
		else if (rc < 0)
			msg_fatal("%s", dict_error(d));
	}
	/* Messages in source order, as Postfix prints them. */
	for (const char *p = buf_str(&g.text); *p;) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		msg_warn("%.*s", n, p);
		p += n + (nl != NULL);
	}
	dict_diag_free(&g);
	buf_free(&line);
	buf_free(&key);
	buf_free(&value);
}

/* build - (re)build one table from its source file (or stdin with -i) */
static void build(const struct opts *o, const char *arg)
{
	char *spec = table_spec(arg);
	const char *file = strchr(spec, ':') + 1;
	struct buf src;
	struct dict *d;
	char *type;
	FILE *f;

	type = mem_strndup(spec, (size_t)(file - 1 - spec));
	if (!dict_type_writable(type))
		msg_fatal("unsupported map type for this operation: %s "
			  "(mailgw builds lmdb tables; hash and btree mean "
			  "lmdb)", type);
	mem_free(type);
	buf_init(&src, (size_t)256 << 20);
	if (o->incremental) {
		read_all(stdin, "stdin", &src);
		file = "stdin";
	} else {
		if ((f = fopen(file, "r")) == NULL)
			msg_fatal("open %s: %s", file, strerror(errno));
		read_all(f, file, &src);
		fclose(f);
	}
	d = open_or_die(spec, base_flags(o) | DICT_FLAG_WRITE |
				      (o->incremental ? 0 : DICT_FLAG_TRUNC));
	load(o, d, file, buf_str(&src), buf_len(&src));
	if (o->mode == MODE_POSTALIAS && !o->incremental)
		(void)dict_set(d, "@", "@"); /* sendmail's "complete" mark */
	close_or_die(d);
	buf_free(&src);
	mem_free(spec);
}

static _Noreturn void usage(const struct opts *o)
{
	msg_fatal("usage: %s [-Nfinrsvw] [-c config_dir] [-d key] [-q key] "
		  "[map_type:]file...", o->prog);
}

/* run - the shared body of postmap and postalias */
static int run(enum mode mode, int argc, char **argv)
{
	struct opts o;
	int c, actions;

	memset(&o, 0, sizeof(o));
	o.mode = mode;
	o.prog = mode == MODE_POSTALIAS ? "postalias" : "postmap";
	o.fold = 1;
	o.nul = 1; /* as Postfix's postmap and postalias write lmdb */
	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+c:d:fiNnq:rsvwbhmopuUxFD")) != -1) {
		switch (c) {
		case 'c':
			o.confdir = optarg;
			break;
		case 'd':
			o.delete = optarg;
			break;
		case 'f':
			o.fold = 0;
			break;
		case 'i':
			o.incremental = 1;
			break;
		case 'N':
			o.nul = 1;
			break;
		case 'n':
			o.nul = 0;
			break;
		case 'q':
			o.query = optarg;
			break;
		case 'r':
			o.dup = 1;
			break;
		case 's':
			o.dump = 1;
			break;
		case 'v':
			msg_verbose++;
			break;
		case 'w':
			o.dup = 2;
			break;
		case '?':
			if (optopt == 'c' || optopt == 'd' || optopt == 'q')
				msg_fatal("option -%c requires an argument",
					  optopt);
			usage(&o);
		default:
			msg_fatal("option -%c is not supported by mailgw's %s",
				  c, o.prog);
		}
	}
	actions = (o.query != NULL) + (o.delete != NULL) + o.dump;
	if (actions > 1)
		msg_fatal("specify only one of -q, -d and -s");
	if (o.incremental && actions)
		msg_fatal("-i cannot be combined with -q, -d or -s");
	if (optind >= argc)
		usage(&o);
	if (conf_load(o.confdir) < 0)
		msg_fatal("cannot load the configuration in %s",
			  o.confdir ? o.confdir : CONF_DEFAULT_DIR);
	cleanup_on_exit();
	if (o.query)
		return do_query(&o, argv + optind, argc - optind);
	if (o.dump)
		return do_dump(&o, argv + optind, argc - optind);
	if (o.delete)
		return do_delete(&o, argv + optind, argc - optind);
	for (int i = optind; i < argc; i++)
		build(&o, argv[i]);
	return 0;
}

int postmap_main(int argc, char **argv)
{
	return run(MODE_POSTMAP, argc, argv);
}

int postalias_main(int argc, char **argv)
{
	return run(MODE_POSTALIAS, argc, argv);
}

/* newaliases_main - postalias each table of alias_database */
int newaliases_main(int argc, char **argv)
{
	struct opts o;
	const char *list;
	char *copy, *cursor, *spec;
	int c;

	memset(&o, 0, sizeof(o));
	o.mode = MODE_POSTALIAS;
	o.prog = "newaliases";
	o.fold = 1;
	o.nul = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+c:v")) != -1) {
		if (c == 'c')
			o.confdir = optarg;
		else if (c == 'v')
			msg_verbose++;
		else
			msg_fatal("option -%c is not supported by mailgw's "
				  "newaliases", optopt ? optopt : c);
	}
	if (optind < argc)
		msg_fatal("usage: newaliases [-v] [-c config_dir]");
	if (conf_load(o.confdir) < 0)
		msg_fatal("cannot load the configuration in %s",
			  o.confdir ? o.confdir : CONF_DEFAULT_DIR);
	cleanup_on_exit();
	if ((list = conf_get("alias_database")) == NULL)
		list = "";
	copy = mem_strdup(list);
	cursor = copy;
	while ((spec = str_token(&cursor, STR_LIST_SEP)) != NULL) {
		const char *colon = strchr(spec, ':');
		char *type = colon ? mem_strndup(spec, (size_t)(colon - spec))
				   : NULL;

		if (type && !dict_type_writable(type))
			msg_warn("%s: not a table mailgw can build; skipping",
				 spec);
		else
			build(&o, spec);
		mem_free(type);
	}
	mem_free(copy);
	return 0;
}
