/* postconf - show or edit main.cf and master.cf, as Postfix's postconf(1).
 *
 * Supported: no option (every parameter's value), NAME..., -d (defaults),
 * -n (settings in main.cf), -h (values only), -c DIR, -e 'name = value'...
 * (edit main.cf in place), -X name... (remove), -m (table types), -M
 * [service[/type]...] (master.cf services), -v. Output is Postfix's:
 * "name = value" with whitespace runs folded to one space, "name =" for an
 * empty value, names sorted. Other Postfix options are refused.
 *
 * Exit status, as Postfix and mailgw's postmap: 0 on success (an unknown
 * NAME is only a warning), 1 on a fatal error: a configuration error
 * (named FILE, line N, parameter), a file that cannot be written, or an
 * option mailgw does not support (message says so).
 *
 * -e/-X write main.cf as Postfix does: each line setting a listed name is
 * replaced (continuation lines dropped) or removed, comments and order
 * kept, new names appended. The edited text is checked like conf_load()
 * would before it replaces main.cf through main.cf.tmp, locked as
 * Postfix's edit_file(3) locks it so that concurrent editors are
 * serialised, then fsync and rename(2).
 *
 * postconf_doc_main prints docs/parameters.md from the parameter table. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "conf/conf.h"
#include "conf/maincf.h"
#include "conf/mastercf.h"
#include "conf/params.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "dict/dict.h"

/* Options Postfix's postconf has that mailgw refuses. */
#define POSTCONF_REFUSED "aAbBCEfFHlopPtTx#"

enum mode { SHOW, DEFAULTS, NONDEFAULT, EDIT, REMOVE, MAPTYPES, MASTER };

/* print_param - "name = value" (or the value alone) with folded
 * whitespace, as postconf prints without -f. */
static void print_param(const char *name, const char *value, int value_only)
{
	struct buf b;
	const char *p = value;
	int first = 1;

	buf_init(&b, MAINCF_EXPAND_MAX + MAINCF_NAME_MAX + 8);
	if (!value_only)
		buf_printf(&b, "%s =", name);
	for (;;) {
		const char *start;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == 0)
			break;
		start = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' &&
		       *p != '\r')
			p++;
		if (!value_only || !first)
			buf_putc(&b, ' ');
		buf_append(&b, start, (size_t)(p - start));
		first = 0;
	}
	buf_putc(&b, '\n');
	fwrite(buf_str(&b), 1, buf_len(&b), stdout);
	buf_free(&b);
}

/* setting_of - the explicit setting for name, or NULL. */
static const struct conf_setting *setting_of(const char *name)
{
	size_t n;
	const struct conf_setting *s = conf_settings(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].name, name) == 0)
			return &s[i];
	return NULL;
}

/* show_all - every table parameter and every used user-defined one. */
static void show_all(enum mode mode, int value_only)
{
	size_t n, j = 0;
	const struct conf_setting *s = conf_settings(&n);

	for (size_t i = 0; i < conf_params_count || j < n;) {
		const struct conf_param *p =
			i < conf_params_count ? &conf_params[i] : NULL;
		int c = p == NULL ? 1
			: j >= n  ? -1
				  : strcmp(p->name, s[j].name);

		if (c > 0) {
			/* A setting the table does not know. */
			if (s[j].used && mode != DEFAULTS)
				print_param(s[j].name, s[j].value, value_only);
			j++;
			continue;
		}
		if (mode == DEFAULTS)
			print_param(p->name, conf_get_default(p->name),
				    value_only);
		else if (mode == SHOW)
			print_param(p->name, conf_get_raw(p->name), value_only);
		else if (c == 0)
			print_param(p->name, s[j].value, value_only);
		i++;
		if (c == 0)
			j++;
	}
}

static void show_names(enum mode mode, int value_only, char **names, int n)
{
	for (int i = 0; i < n; i++) {
		const struct conf_setting *s = setting_of(names[i]);
		const char *v;

		if (mode == DEFAULTS)
			v = conf_get_default(names[i]);
		else if (s && (s->known || s->used))
			v = s->value;
		else
			v = conf_param_find(names[i]) ? conf_get_raw(names[i])
						      : NULL;
		if (v == NULL) {
			msg_warn("%s: unknown parameter", names[i]);
			continue;
		}
		if (mode == NONDEFAULT && s == NULL)
			continue;
		print_param(names[i], v, value_only);
	}
}

/* The edit protocol, as Postfix's edit_file(3): every editor opens (or
 * creates) the same temporary name, PATH.tmp, takes an exclusive flock(2)
 * on it and checks that the name still refers to the file it locked (an
 * editor that held the lock before may have renamed it away); only then
 * does it read PATH, write the edited text into the temporary file and
 * rename it over PATH, keeping the lock until after the rename. Concurrent
 * editors are therefore serialised and none loses another's change. The
 * temporary file is created 0600 and gets its final mode only just before
 * the rename; anything else found under its name (a symlink, a hard link,
 * a file with group or other permissions) is removed and the protocol
 * restarted. A file a crash left behind is reused. */
#define EDIT_TMP_SUFFIX ".tmp"
#define EDIT_TMP_MODE   0600
#define EDIT_LOCK_TRIES 1000

/* edit_lock - the locked temporary file for path (tmp receives its name);
 * -1 with a message when it cannot be opened. */
static int edit_lock(const char *path, struct buf *tmp)
{
	buf_reset(tmp);
	buf_printf(tmp, "%s%s", path, EDIT_TMP_SUFFIX);
	for (int tries = 0; tries < EDIT_LOCK_TRIES; tries++) {
		struct stat locked, named;
		int fd = open(buf_str(tmp),
			      O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			      EDIT_TMP_MODE);

		if (fd < 0) {
			if (errno == ELOOP && unlink(buf_str(tmp)) == 0)
				continue; /* a symlink under our name */
			msg_error("open %s: %s", buf_str(tmp), strerror(errno));
			return -1;
		}
		while (flock(fd, LOCK_EX) != 0)
			if (errno != EINTR) {
				msg_error("lock %s: %s", buf_str(tmp),
					  strerror(errno));
				close(fd);
				return -1;
			}
		if (fstat(fd, &locked) != 0 ||
		    lstat(buf_str(tmp), &named) != 0 ||
		    locked.st_dev != named.st_dev ||
		    locked.st_ino != named.st_ino) {
			close(fd); /* renamed away while we waited */
			continue;
		}
		if (!S_ISREG(named.st_mode) || named.st_nlink != 1 ||
		    (named.st_mode & 07077) != 0) {
			(void)unlink(buf_str(tmp)); /* not ours: start over */
			close(fd);
			continue;
		}
		if (ftruncate(fd, 0) != 0) {
			msg_error("truncate %s: %s", buf_str(tmp),
				  strerror(errno));
			(void)unlink(buf_str(tmp));
			close(fd);
			return -1;
		}
		return fd;
	}
	msg_error("lock %s: the file keeps changing", buf_str(tmp));
	return -1;
}

/* edit_abort - remove the temporary file (still locked), then unlock */
static void edit_abort(int fd, const struct buf *tmp)
{
	(void)unlink(buf_str(tmp));
	close(fd);
}

/* edit_commit - write data into the locked temporary file, give it the
 * old file's mode and owner, fsync, rename it over path, fsync the
 * directory, unlock. On failure the temporary file is removed. */
static int edit_commit(int fd, const struct buf *tmp, const char *path,
		       const char *data, size_t len)
{
	struct stat st;
	mode_t mode = 0644;
	size_t off = 0;
	int r = 0, err = 0;
	int have_st = stat(path, &st) == 0;

	if (have_st)
		mode = st.st_mode & 07777;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r = -1, err = errno;
			break;
		}
		off += (size_t)w;
	}
	/* Keep the old file's mode and owner exactly (root editing must not
	 * take ownership); permissions change as late as possible. */
	if (r == 0 && ((have_st && geteuid() == 0 &&
			fchown(fd, st.st_uid, st.st_gid) != 0) ||
		       fchmod(fd, mode) != 0))
		r = -1, err = errno;
	if (r == 0 && fsync(fd) != 0)
		r = -1, err = errno;
	if (r == 0 && rename(buf_str(tmp), path) != 0)
		r = -1, err = errno;
	if (r != 0) {
		msg_error("write %s: %s", path, strerror(err));
		edit_abort(fd, tmp);
		return -1;
	}
	/* Make the rename itself durable, then release the lock. */
	{
		const char *slash = strrchr(path, '/');
		char *dir = slash ? mem_strndup(path, (size_t)(slash - path))
				  : mem_strdup(".");
		int dfd = open(*dir ? dir : "/",
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
		mem_free(dir);
	}
	close(fd);
	return 0;
}

/* edit - postconf -e (values) or -X (no values). */
static int edit(const char *dir, char **args, int n, int remove)
{
	struct maincf_edit_item *items = mem_zalloc((size_t)n * sizeof(*items));
	struct buf path, tmp, text, out, msg;
	struct maincf_error err;
	int r, status = 1, lockfd = -1;

	buf_init(&path, 8192);
	buf_printf(&path, "%s/main.cf", dir);
	buf_init(&tmp, 8192);
	buf_init(&text, CONF_FILE_MAX);
	buf_init(&out, CONF_FILE_MAX);
	buf_init(&msg, 1024);
	for (int i = 0; i < n; i++) {
		char *a = args[i], *eq, *name, *value = NULL;

		if (remove) {
			name = str_trim(a);
		} else {
			if ((eq = strchr(a, '=')) == NULL)
				msg_fatal("-e argument must be name=value: "
					  "\"%s\"",
					  a);
			*eq = 0;
			name = str_trim(a);
			value = str_trim(eq + 1);
		}
		if (!maincf_name_valid(name, strlen(name)))
			msg_fatal("bad parameter name: \"%s\"", name);
		if (value && strpbrk(value, "\r\n"))
			msg_fatal("%s: value must be one line", name);
		for (int j = 0; j < i; j++)
			if (strcmp(items[j].name, name) == 0) {
				/* Postfix's words; the last request wins. */
				if (items[j].value)
					msg_warn("ignoring earlier request: "
						 "'%s = %s'",
						 name, items[j].value);
				else
					msg_warn("ignoring earlier request: "
						 "'%s'",
						 name);
			}
		items[i].name = name;
		items[i].value = value;
	}
	/* Read main.cf only once no other editor can change it. */
	if ((lockfd = edit_lock(buf_str(&path), &tmp)) < 0)
		goto out;
	r = conf_read_file(buf_str(&path), &text);
	if (r < 0 && r != -ENOENT) {
		msg_error("open %s: %s", buf_str(&path), strerror(-r));
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int later = 0;

		for (int j = i + 1; j < n; j++)
			later |= strcmp(items[j].name, items[i].name) == 0;
		/* Each line setting the name is replaced (or removed), as
		 * Postfix does; like Postfix, say so. */
		if (!later && maincf_count_sets(buf_str(&text), buf_len(&text),
						items[i].name) > 1)
			msg_warn("%s: multiple entries for \"%s\"",
				 buf_str(&path), items[i].name);
	}
	if (maincf_edit(buf_str(&text), buf_len(&text), items, (size_t)n, &out,
			&err) != 0) {
		maincf_error_format(&err, &msg);
		if (err.line)
			msg_error("%s, line %u: %s", buf_str(&path), err.line,
				  buf_str(&msg));
		else
			msg_error("%s: %s", buf_str(&path), buf_str(&msg));
		goto out;
	}
	if (conf_check_text(dir, buf_str(&path), buf_str(&out),
			    buf_len(&out)) != 0) {
		msg_error("not changing %s", buf_str(&path));
		goto out;
	}
	r = edit_commit(lockfd, &tmp, buf_str(&path), buf_str(&out),
			buf_len(&out));
	lockfd = -1; /* closed either way */
	if (r == 0)
		status = 0;
out:
	if (lockfd >= 0)
		edit_abort(lockfd, &tmp);
	mem_free(items);
	buf_free(&tmp);
	buf_free(&path);
	buf_free(&text);
	buf_free(&out);
	buf_free(&msg);
	return status;
}

/* master_filter - postconf -M's optional service[/type] arguments. */
struct master_filter {
	char **names;
	int n;
	int printed;
};

static int master_print(const struct mastercf_entry *e, void *arg)
{
	struct master_filter *f = arg;
	struct buf b;
	int match = f->n == 0;

	for (int i = 0; i < f->n && !match; i++) {
		const char *want = f->names[i];
		const char *slash = strchr(want, '/');
		size_t sn = slash ? (size_t)(slash - want) : strlen(want);

		match = strlen(e->field[MASTERCF_F_SERVICE]) == sn &&
			strncmp(e->field[MASTERCF_F_SERVICE], want, sn) == 0 &&
			(slash == NULL ||
			 strcmp(slash + 1, e->field[MASTERCF_F_TYPE]) == 0);
	}
	if (!match)
		return 0;
	buf_init(&b, 2 * MASTERCF_LOGICAL_MAX);
	mastercf_format(e, &b);
	buf_putc(&b, '\n');
	fwrite(buf_str(&b), 1, buf_len(&b), stdout);
	buf_free(&b);
	f->printed++;
	return 0;
}

static _Noreturn void usage(void)
{
	msg_fatal("usage: postconf [-c config_dir] [-d | -n] [-h] [-v] "
		  "[name...]; postconf -e name=value...; postconf -X name...; "
		  "postconf -m; postconf -M [service[/type]...]");
}

static void set_mode(enum mode *mode, enum mode m)
{
	if (*mode != SHOW && *mode != m)
		usage();
	*mode = m;
}

int postconf_main(int argc, char **argv)
{
	enum mode mode = SHOW;
	const char *dir = NULL;
	int value_only = 0, ch, status = 0;

	optind = 1;
	opterr = 0;
	while ((ch = getopt(argc, argv, "+c:dehmMnvX" POSTCONF_REFUSED)) !=
	       -1) {
		switch (ch) {
		case 'c':
			dir = optarg;
			break;
		case 'd':
			set_mode(&mode, DEFAULTS);
			break;
		case 'e':
			set_mode(&mode, EDIT);
			break;
		case 'h':
			value_only = 1;
			break;
		case 'm':
			set_mode(&mode, MAPTYPES);
			break;
		case 'M':
			set_mode(&mode, MASTER);
			break;
		case 'n':
			set_mode(&mode, NONDEFAULT);
			break;
		case 'v':
			msg_verbose++;
			break;
		case 'X':
			set_mode(&mode, REMOVE);
			break;
		case '?':
			usage();
		default:
			msg_fatal("option -%c is not supported by mailgw's "
				  "postconf (supported: -c -d -e -h -m -M -n "
				  "-v -X)",
				  ch);
		}
	}
	argc -= optind;
	argv += optind;
	if (dir == NULL) {
		const char *env = getenv("MAIL_CONFIG");

		dir = env && *env ? env : CONF_DEFAULT_DIR;
	} else if (setenv("MAIL_CONFIG", dir, 1) != 0) {
		msg_fatal("setenv: %s", strerror(errno));
	}

	switch (mode) {
	case MAPTYPES:
		for (const char *const *t = dict_type_names; *t; t++)
			printf("%s\n", *t);
		break;
	case MASTER: {
		struct master_filter f = {argv, argc, 0};

		if (conf_master_read(dir, master_print, &f) != 0)
			status = 1;
		break;
	}
	case EDIT:
	case REMOVE:
		if (argc == 0)
			usage();
		status = edit(dir, argv, argc, mode == REMOVE);
		break;
	case DEFAULTS:
	case SHOW:
	case NONDEFAULT:
		if (mode != DEFAULTS && conf_load(dir) != 0)
			return 1;
		if (argc == 0)
			show_all(mode, value_only);
		else
			show_names(mode, value_only, argv, argc);
		break;
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		msg_fatal("write error on standard output");
	return status;
}

/* ---- docs/parameters.md ---- */

static void md_cell(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			buf_puts(b, "\\|");
		else if (*s == '\n')
			buf_putc(b, ' ');
		else
			buf_putc(b, *s);
	}
}

static void md_range(struct buf *b, const struct conf_param *p)
{
	const char *unit = p->type == CONF_TIME ? "s" : "";

	switch (p->type) {
	case CONF_BOOL:
		buf_puts(b, "yes, no");
		break;
	case CONF_INT:
	case CONF_SIZE:
	case CONF_TIME:
		if (p->max == CONF_NOMAX && p->min == LONG_MIN)
			buf_puts(b, "any");
		else if (p->max == CONF_NOMAX)
			buf_printf(b, "&ge; %ld%s", p->min, unit);
		else
			buf_printf(b, "%ld to %ld%s", p->min, p->max, unit);
		if (p->type == CONF_TIME)
			buf_printf(b, " (default unit: %c)", p->unit);
		break;
	case CONF_ENUM:
		for (const char *c = p->choices; *c; c++)
			if (*c == ' ')
				buf_puts(b, ", ");
			else
				buf_putc(b, *c);
		if (p->flags & CONF_F_EMPTY)
			buf_puts(b, " or empty");
		break;
	default:
		break;
	}
}

int postconf_doc_main(int argc, char **argv)
{
	struct buf b;

	(void)argc;
	(void)argv;
	buf_init(&b, 4 * 1024 * 1024);
	buf_puts(&b,
		 "# mailgw configuration parameters\n\n"
		 "Generated from the parameter table in "
		 "`gateway/conf/params.c` by `mailgw postconf-doc`; do not "
		 "edit by hand (a test checks that this file is current).\n\n"
		 "Parameters are set in `main.cf` with Postfix's syntax "
		 "(`name = value`, `$name` expansion, continuation lines) and "
		 "may be overridden per service in `master.cf` with "
		 "`-o name=value`. Defaults are those of Postfix 3.7 at "
		 "`compatibility_level = 3.6` except where mailgw differs on "
		 "purpose (paths, `mail_owner`, names). `postconf -d` prints "
		 "them; *computed* defaults depend on the host.\n\n"
		 "Types: **bool** yes or no; **int** an integer; **size** a "
		 "number of bytes; **time** a number with an optional unit "
		 "s, m, h, d or w; **enum** one of the listed words; "
		 "**string** any text; **list** words separated by spaces "
		 "or commas; **maps** a list of `type:name` lookup tables "
		 "(`postconf -m` lists the types); **restrictions** an SMTP "
		 "restriction list.\n\n"
		 "| name | type | default | values | description |\n"
		 "| --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < conf_params_count; i++) {
		const struct conf_param *p = &conf_params[i];

		buf_printf(&b, "| `%s` | %s | ", p->name,
			   conf_type_name(p->type));
		if (p->flags & CONF_F_COMPUTED)
			buf_puts(&b, "*computed*");
		else if (p->flags & CONF_F_READONLY)
			buf_puts(&b, "*set by mailgw*");
		else if (*p->def == 0)
			buf_puts(&b, "*empty*");
		else {
			buf_putc(&b, '`');
			md_cell(&b, p->def);
			buf_putc(&b, '`');
		}
		buf_puts(&b, " | ");
		md_range(&b, p);
		buf_puts(&b, " | ");
		md_cell(&b, p->doc);
		buf_puts(&b, " |\n");
	}
	fwrite(buf_str(&b), 1, buf_len(&b), stdout);
	buf_free(&b);
	return fflush(stdout) == 0 ? 0 : 1;
}
