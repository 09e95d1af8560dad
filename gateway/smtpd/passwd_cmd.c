/* passwd_cmd - `mailgw passwd [-c DIR] add|del|list [USER]`: the SMTP
 * AUTH user database (sasl_user_database, an lmdb table of passwd.h
 * hashes).
 *
 * The password is read from standard input, never from argv (argv is
 * visible to every user in ps): on a terminal it is prompted for twice
 * without echo, otherwise the first line of stdin is the password (a
 * trailing CR/LF dropped). Keys fold to lower case as every mailgw table
 * does, so "Alice" and "alice" are one user. The table is written as
 * every lmdb table is (dict.h: copy, change, sync, rename), so a running
 * smtpd sees the new contents at its next lookup; afterwards the file is
 * made mode 0640, group mail_owner's, so that smtpd (running as
 * mail_owner) can read it and other users cannot. `list` prints names
 * only, never hashes. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "commands.h"
#include "conf/conf.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "dict/dict.h"
#include "smtpd/passwd.h"
#include "smtpd/sasl.h"

#define USAGE "usage: passwd [-c config_dir] add|del|list [user]"

static int fail(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "mailgw passwd: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 1;
}

static int user_ok(const char *u)
{
	size_t n = strlen(u);
	if (n == 0 || n > SASL_FIELD_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u[i];
		if (c <= ' ' || c == 0x7f)
			return 0;
	}
	return 1;
}

/* One line from fd 0 into p (size n): its length, or -1. */
static long read_line(char *p, size_t n)
{
	size_t len = 0;
	char c;
	for (;;) {
		ssize_t r = read(0, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (len + 1 >= n)
			return -1;
		p[len++] = c;
	}
	if (len > 0 && p[len - 1] == '\r')
		len--;
	p[len] = 0;
	return (long)len;
}

static long prompt(const char *text, char *p, size_t n)
{
	struct termios old, quiet;
	int tty = isatty(0) && tcgetattr(0, &old) == 0;

	if (!tty)
		return read_line(p, n);
	fputs(text, stderr);
	fflush(stderr);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(0, TCSAFLUSH, &quiet);
	long r = read_line(p, n);
	tcsetattr(0, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return r;
}

static int read_password(char *p, size_t n)
{
	char again[PASSWD_PASS_MAX + 2];
	long len = prompt("Password: ", p, n);

	if (len < 0)
		return fail("password longer than %s bytes%s", "255", "");
	if (len == 0)
		return fail("empty password%s%s", "", "");
	if (isatty(0)) {
		long l2 = prompt("Password again: ", again, sizeof(again));
		int same = l2 == len && memcmp(p, again, (size_t)len) == 0;
		explicit_bzero(again, sizeof(again));
		if (!same)
			return fail("the passwords differ%s%s", "", "");
	}
	return 0;
}

/* Mode 0640, group mail_owner's (root only can chown). */
static void set_owner(const char *path)
{
	const char *owner = conf_get("mail_owner");
	struct passwd *pw = owner != NULL ? getpwnam(owner) : NULL;

	if (chmod(path, 0640) < 0)
		fprintf(stderr, "mailgw passwd: chmod %s: %s\n", path,
			strerror(errno));
	if (geteuid() == 0 && pw != NULL && chown(path, 0, pw->pw_gid) < 0)
		fprintf(stderr, "mailgw passwd: chown %s: %s\n", path,
			strerror(errno));
}

int passwd_main(int argc, char **argv)
{
	const char *dir = NULL;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt(argc, argv, "+c:")) != -1) {
		if (c == 'c')
			dir = optarg;
		else
			return fail("%s%s", USAGE, "");
	}
	if (optind >= argc)
		return fail("%s%s", USAGE, "");
	const char *op = argv[optind];
	const char *user = optind + 1 < argc ? argv[optind + 1] : NULL;
	int want_user = strcmp(op, "list") != 0;
	if ((strcmp(op, "add") != 0 && strcmp(op, "del") != 0 && want_user) ||
	    (want_user && (user == NULL || optind + 2 != argc)) ||
	    (!want_user && optind + 1 != argc))
		return fail("%s%s", USAGE, "");
	if (user != NULL && !user_ok(user))
		return fail("bad user name: %s%s", user, "");
	if (conf_load(dir) < 0)
		return fail("cannot load the configuration in %s%s",
			    dir ? dir : CONF_DEFAULT_DIR, "");
	const char *path = conf_get("sasl_user_database");
	if (path == NULL || *path == 0)
		return fail("sasl_user_database is empty%s%s", "", "");
	struct buf spec, err;
	buf_init(&spec, 4096);
	buf_init(&err, 4096);
	buf_printf(&spec, "lmdb:%s", path);
	struct dict *d;
	int rc = 0;

	if (!want_user) {
		struct buf file;
		buf_init(&file, 4096);
		buf_printf(&file, "%s.lmdb", path);
		if (access(buf_str(&file), F_OK) != 0 && errno == ENOENT) {
			buf_free(&file);
			goto out; /* no users yet */
		}
		buf_free(&file);
		if (dict_open(buf_str(&spec), DICT_FLAG_FOLD, &d, &err) < 0) {
			rc = fail("%s%s", buf_str(&err), "");
			goto out;
		}
		const char *k, *v;
		for (int how = DICT_SEQ_FIRST;
		     dict_next(d, how, &k, &v) == DICT_OK; how = DICT_SEQ_NEXT)
			printf("%s\n", k);
		dict_close(d, NULL);
		goto out;
	}
	if (dict_open(buf_str(&spec),
		      DICT_FLAG_FOLD | DICT_FLAG_WRITE | DICT_FLAG_NUL |
			      DICT_FLAG_DUP_REPLACE,
		      &d, &err) < 0) {
		rc = fail("%s%s", buf_str(&err), "");
		goto out;
	}
	if (strcmp(op, "add") == 0) {
		char pw[PASSWD_PASS_MAX + 2];
		struct buf h;
		if (read_password(pw, sizeof(pw)) != 0) {
			explicit_bzero(pw, sizeof(pw));
			dict_discard(d);
			rc = 1;
			goto out;
		}
		buf_init(&h, PASSWD_HASH_MAX);
		int r = passwd_hash_new(&h, pw, strlen(pw),
					(unsigned long)conf_get_int(
						"sasl_password_iterations"));
		explicit_bzero(pw, sizeof(pw));
		if (r < 0 || dict_set(d, user, buf_str(&h)) < 0) {
			buf_free(&h);
			dict_discard(d);
			rc = fail("cannot store the hash for %s%s", user, "");
			goto out;
		}
		buf_free(&h);
	} else if (dict_del(d, user) != DICT_OK) {
		dict_discard(d);
		rc = fail("%s: no such user%s", user, "");
		goto out;
	}
	if (dict_close(d, &err) < 0) {
		rc = fail("%s%s", buf_str(&err), "");
		goto out;
	}
	buf_reset(&err);
	buf_printf(&err, "%s.lmdb", path);
	set_owner(buf_str(&err));
out:
	buf_free(&spec);
	buf_free(&err);
	return rc;
}
