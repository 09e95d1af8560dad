/* config - `mailgw config check|render|apply|schema`: settings to main.cf.
 *
 * apply renders every file into a new generation directory
 * DIR/.rendered/gen.XXXXXX, validates it there with the checks postconf
 * and master make (main.cf parsed and every value type-checked, master.cf
 * parsed), then switches the symbolic link DIR/.rendered/current to it with
 * one rename(2): main.cf, master.cf, settings.cf and smarthost_passwd in
 * DIR are links through "current", so the swap of all of them is one atomic
 * step. A running gateway is then reloaded; when the reload is refused the
 * link goes back to the previous generation. A failure at any step leaves
 * DIR as it was and says why. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "conf/conf.h"
#include "conf/settings.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "master/master.h"

#define RENDERED         ".rendered"
#define CURRENT          ".rendered/current"
#define PASSWD_FILE      "smarthost_passwd"
#define GENERATIONS_KEPT 2

static const char *const linked[] = {"main.cf", "master.cf", SETTINGS_FILE,
				     PASSWD_FILE, NULL};

static const char *config_dir(void)
{
	const char *d = getenv("MAIL_CONFIG");

	return d && *d ? d : CONF_DEFAULT_DIR;
}

static void print_error(void *arg, const struct settings_field *f,
			const char *text)
{
	msg_error("%s: %s: %s", *(const char **)arg, f->key, text);
}

/* Read and check a settings file. 0, or -1 after saying why. */
static int load(const char *path, struct settings *s)
{
	struct buf text, why;
	int rc;

	buf_init(&text, SETTINGS_FILE_MAX + 1);
	buf_init(&why, 4096);
	settings_init(s);
	rc = conf_read_file(path, &text);
	if (rc < 0) {
		msg_error("%s: %s", path, strerror(-rc));
	} else if ((rc = settings_parse(s, buf_str(&text), buf_len(&text),
					&why)) < 0) {
		msg_error("%s: %s", path, buf_str(&why));
	} else if (settings_check(s, print_error, &path) > 0) {
		rc = -1;
	} else {
		settings_normalize(s);
	}
	buf_free(&text);
	buf_free(&why);
	return rc < 0 ? -1 : 0;
}

static int render(const struct settings *s, const char *name, struct buf *out)
{
	struct buf why;
	const char *tpl = settings_template(name);
	int rc;

	buf_init(&why, 1024);
	rc = settings_render(s, tpl, strlen(tpl), out, &why);
	if (rc < 0)
		msg_error("template %s.in: %s", name, buf_str(&why));
	buf_free(&why);
	return rc;
}

static int write_file(const char *dir, const char *name, const char *data,
		      size_t len, mode_t mode)
{
	char path[4096];
	int fd;
	size_t off = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0) {
			close(fd);
			goto fail;
		}
		off += (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		close(fd);
		goto fail;
	}
	return close(fd);
fail:
	msg_error("%s: %s", path, strerror(errno));
	return -1;
}

/* The smarthost password file: read at delivery time by the SMTP client,
 * which runs as mail_owner: root-owned, group mail_owner, 0640. */
static void share_with_mail_owner(const char *gen, const struct settings *s)
{
	const char *owner = settings_get(s, "mail_owner");
	char path[4096];
	struct passwd *pw;

	if (!*owner)
		owner = conf_get_default("mail_owner");
	if (owner == NULL || geteuid() != 0 || (pw = getpwnam(owner)) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s", gen, PASSWD_FILE);
	if (chown(path, 0, pw->pw_gid) == 0)
		chmod(path, 0640);
}

/* A settings.cf the web UI user may read (its form starts from it). */
static void share_with_webui(const char *gen, const struct settings *s)
{
	const char *owner = settings_get(s, "webui_owner");
	char path[4096];
	struct passwd *pw;

	if (!*owner || geteuid() != 0 || (pw = getpwnam(owner)) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s", gen, SETTINGS_FILE);
	if (chown(path, 0, pw->pw_gid) == 0)
		chmod(path, 0640);
}

static int master_check(const struct mastercf_entry *e, void *arg)
{
	(void)e;
	(void)arg;
	return 0;
}

/* Render s into the new directory gen and validate the result there. */
static int render_into(const char *dir, const char *gen,
		       const struct settings *s)
{
	struct buf main_cf, master_cf, text, login;
	char path[4096];
	int rc = -1;

	buf_init(&main_cf, SETTINGS_OUTPUT_MAX + 1);
	buf_init(&master_cf, SETTINGS_OUTPUT_MAX + 1);
	buf_init(&text, SETTINGS_FILE_MAX * 2);
	buf_init(&login, SETTINGS_VALUE_MAX * 3);
	if (render(s, "main.cf", &main_cf) < 0 ||
	    render(s, "master.cf", &master_cf) < 0)
		goto out;
	if (write_file(gen, "main.cf", buf_str(&main_cf), buf_len(&main_cf),
		       0644) < 0 ||
	    write_file(gen, "master.cf", buf_str(&master_cf),
		       buf_len(&master_cf), 0644) < 0)
		goto out;
	settings_format(s, &text);
	if (write_file(gen, SETTINGS_FILE, buf_str(&text), buf_len(&text),
		       0600) < 0)
		goto out;
	share_with_webui(gen, s);
	buf_reset(&text);
	if (*settings_get(s, "smarthost_user")) {
		buf_printf(&text, "# written by mailgw config apply\n%s ",
			   settings_value(s, "smarthost_nexthop", 17, &login));
		buf_printf(&text, "%s\n",
			   settings_value(s, "smarthost_login", 15, &login));
	}
	if (write_file(gen, PASSWD_FILE, buf_str(&text), buf_len(&text), 0600) <
	    0)
		goto out;
	share_with_mail_owner(gen, s);
	/* The checks of postconf and of master, on the new files: main.cf as
	 * DIR/main.cf would be read (config_directory stays DIR). */
	snprintf(path, sizeof(path), "%s/main.cf", gen);
	if (conf_check_text(dir, path, buf_str(&main_cf), buf_len(&main_cf)) <
	    0) {
		msg_error("the rendered main.cf does not pass the checks");
		goto out;
	}
	if (conf_master_read(gen, master_check, NULL) < 0) {
		msg_error("the rendered master.cf does not pass the checks");
		goto out;
	}
	rc = 0;
out:
	buf_free(&main_cf);
	buf_free(&master_cf);
	buf_free(&text);
	buf_free(&login);
	return rc;
}

/* Point name at target with one rename. */
static int relink(const char *dir, const char *name, const char *target)
{
	char tmp[4096], path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/%s.new", dir, name);
	unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, path) < 0) {
		msg_error("%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Remove a generation directory (flat: files only). */
static void remove_gen(const char *dir, const char *gen)
{
	char path[4096];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, RENDERED, gen);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char f[4096 + 256];

		if (de->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
		unlink(f);
	}
	closedir(d);
	rmdir(path);
}

/* Keep the current and the previous generation; remove the others. */
static void prune(const char *dir, const char *cur, const char *prev)
{
	char path[4096];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/%s", dir, RENDERED);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "gen.", 4) != 0 ||
		    strcmp(de->d_name, cur) == 0 ||
		    (prev && strcmp(de->d_name, prev) == 0))
			continue;
		remove_gen(dir, de->d_name);
	}
	closedir(d);
}

static int reload_running(const char *dir)
{
	char reply[MASTER_REPLY_MAX];
	const char *qd;
	int rc;

	if (conf_load_flags(dir, CONF_MAIN_CF_REQUIRED) < 0)
		return -1;
	qd = conf_get("queue_directory");
	if (qd == NULL || master_running(qd) <= 0) {
		msg_info("applied; the mail system is not running");
		return 0;
	}
	rc = master_request(qd, "reload", reply, sizeof(reply));
	if (rc < 0) {
		msg_error("cannot reach the master: %s", strerror(-rc));
		return -1;
	}
	if (strncmp(reply, "ok", 2) != 0) {
		msg_error("reload refused: %s",
			  strncmp(reply, "error ", 6) == 0 ? reply + 6 : reply);
		return -1;
	}
	msg_info("applied and reloaded");
	return 0;
}

static int apply(const char *dir, const struct settings *s)
{
	char rendered[3072], gen[4096], cur[4096], prev[256] = "", *base;
	ssize_t n;

	snprintf(rendered, sizeof(rendered), "%s/%s", dir, RENDERED);
	if (mkdir(rendered, 0755) < 0 && errno != EEXIST) {
		msg_error("%s: %s", rendered, strerror(errno));
		return 1;
	}
	snprintf(gen, sizeof(gen), "%s/gen.XXXXXX", rendered);
	if (mkdtemp(gen) == NULL || chmod(gen, 0755) < 0) {
		msg_error("%s: %s", gen, strerror(errno));
		return 1;
	}
	base = strrchr(gen, '/') + 1;
	if (render_into(dir, gen, s) < 0) {
		remove_gen(dir, base);
		msg_error("nothing changed in %s", dir);
		return 1;
	}
	snprintf(cur, sizeof(cur), "%s/%s", dir, CURRENT);
	if ((n = readlink(cur, prev, sizeof(prev) - 1)) > 0)
		prev[n] = 0;
	else
		prev[0] = 0;
	/* The commit point: one rename of the "current" link. */
	if (relink(dir, CURRENT, base) < 0) {
		remove_gen(dir, base);
		msg_error("nothing changed in %s", dir);
		return 1;
	}
	for (const char *const *f = linked; *f; f++) {
		char target[512], path[4096];
		struct stat st;

		snprintf(target, sizeof(target), "%s/%s", CURRENT, *f);
		snprintf(path, sizeof(path), "%s/%s", dir, *f);
		/* A hand-written file is kept once, beside the link. */
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			char keep[4096 + 16];

			snprintf(keep, sizeof(keep), "%s.before-apply", path);
			if (access(keep, F_OK) != 0 && link(path, keep) < 0)
				msg_warn("%s: %s", keep, strerror(errno));
		}
		if ((lstat(path, &st) < 0 || !S_ISLNK(st.st_mode)) &&
		    relink(dir, *f, target) < 0)
			return 1;
	}
	if (reload_running(dir) < 0) {
		if (*prev && relink(dir, CURRENT, prev) == 0) {
			remove_gen(dir, base);
			msg_error("the previous configuration is back in "
				  "place");
		}
		return 1;
	}
	prune(dir, base, *prev ? prev : NULL);
	return 0;
}

static void schema(void)
{
	static const char *const types[] = {
		"host name", "domain list",  "host",           "number",
		"choice",    "network list", "e-mail address", "word",
		"secret",    "path",         "listener",       "address list"};

	printf("| key | type | default | feeds | help |\n"
	       "| --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < settings_count; i++) {
		const struct settings_field *f = &settings_fields[i];

		printf("| %s%s | %s%s | %s | %s | %s |\n", f->key,
		       f->flags & SETTINGS_F_SYSTEM ? " (system)" : "",
		       f->type == SETTINGS_ENUM ? "one of " : "",
		       f->type == SETTINGS_ENUM ? f->choices : types[f->type],
		       f->def, f->feeds, f->help);
	}
}

/* -u: the settings come from the web UI (its staged file): a system key
 * (paths, users, listeners) must keep the value of DIR/settings.cf. */
static int keep_system(const char *dir, const struct settings *s)
{
	char path[4096];
	struct settings cur;
	struct buf text, why;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, SETTINGS_FILE);
	buf_init(&text, SETTINGS_FILE_MAX + 1);
	buf_init(&why, 4096);
	settings_init(&cur);
	if (conf_read_file(path, &text) < 0 ||
	    settings_parse(&cur, buf_str(&text), buf_len(&text), &why) < 0) {
		msg_error("%s: cannot read the current settings", path);
		rc = -1;
	}
	settings_normalize(&cur);
	for (size_t i = 0; rc == 0 && i < settings_count; i++)
		if ((settings_fields[i].flags & SETTINGS_F_SYSTEM) &&
		    strcmp(cur.value[i], s->value[i]) != 0) {
			msg_error("%s may not be changed from the web UI",
				  settings_fields[i].key);
			rc = -1;
		}
	settings_free(&cur);
	buf_free(&text);
	buf_free(&why);
	return rc;
}

static int usage(void)
{
	msg_error(
		"usage: mailgw [-c config_dir] config check|render|apply "
		"[-u] [-s settings_file] [render: output_dir] | config schema");
	return 2;
}

int config_main(int argc, char **argv)
{
	const char *dir = config_dir(), *verb, *file = NULL, *out = NULL;
	char path[4096];
	struct settings s;
	int rc = 0, untrusted = 0;

	if (argc < 2)
		return usage();
	verb = argv[1];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-u") == 0)
			untrusted = 1;
		else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (argv[i][0] != '-' && out == NULL)
			out = argv[i];
		else
			return usage();
	}
	if (strcmp(verb, "schema") == 0) {
		schema();
		return 0;
	}
	if (file == NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, SETTINGS_FILE);
		file = path;
	}
	if (load(file, &s) < 0 || (untrusted && keep_system(dir, &s) < 0)) {
		settings_free(&s);
		if (strcmp(verb, "apply") == 0)
			msg_error("nothing changed in %s", dir);
		return 1;
	}
	if (strcmp(verb, "check") == 0) {
		rc = 0;
	} else if (strcmp(verb, "render") == 0 && out == NULL) {
		struct buf b;

		buf_init(&b, SETTINGS_OUTPUT_MAX * 2 + 2);
		rc = render(&s, "main.cf", &b) < 0 ||
		     render(&s, "master.cf", &b) < 0;
		if (rc == 0)
			fwrite(buf_str(&b), 1, buf_len(&b), stdout);
		buf_free(&b);
	} else if (strcmp(verb, "render") == 0) {
		rc = render_into(dir, out, &s) < 0;
	} else if (strcmp(verb, "apply") == 0 && out == NULL) {
		rc = apply(dir, &s);
	} else {
		rc = usage();
	}
	settings_free(&s);
	return rc;
}
