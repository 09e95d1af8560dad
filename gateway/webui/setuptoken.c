/* setuptoken - the web UI's one-time setup token (see setuptoken.h).
 *
 * Runs as root in master (the directory belongs to webui_owner), so the
 * file is made without following links (O_EXCL, O_NOFOLLOW) and renamed
 * into place; the CGI only reads and removes it. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "conf/conf.h"
#include "core/log.h"
#include "core/str.h"
#include "webui/setuptoken.h"

static int path_of(const char *dir, const char *name, char *out, size_t size)
{
	if (dir == NULL || *dir != '/' ||
	    (size_t)snprintf(out, size, "%s/%s", dir, name) >= size)
		return -ENAMETOOLONG;
	return 0;
}

static int admin_set(const char *dir)
{
	char p[4096];

	return path_of(dir, "admin", p, sizeof(p)) == 0 && access(p, F_OK) == 0;
}

int webui_secret_read(const char *dir, const char *name,
		      char tok[WEBUI_TOKEN_HEX + 1])
{
	char p[4096], data[WEBUI_TOKEN_HEX + 2];
	ssize_t n;
	int fd;

	if (path_of(dir, name, p, sizeof(p)) < 0 ||
	    (fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, data, sizeof(data));
	close(fd);
	if (n < WEBUI_TOKEN_HEX)
		return -1;
	for (int i = 0; i < WEBUI_TOKEN_HEX; i++)
		if (!strchr("0123456789abcdef", data[i]) || data[i] == 0)
			return -1;
	memcpy(tok, data, WEBUI_TOKEN_HEX);
	tok[WEBUI_TOKEN_HEX] = 0;
	return 0;
}

int webui_secret_new(const char *dir, const char *name, const char *owner,
		     char tok[WEBUI_TOKEN_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[WEBUI_TOKEN_BITS / 8];
	char p[4096], tmp[4096], tmpname[256];
	struct passwd *pw = NULL;
	int fd, e;

	if (owner && *owner && (pw = getpwnam(owner)) == NULL)
		return -ENOENT;
	snprintf(tmpname, sizeof(tmpname), "%s.new", name);
	if (path_of(dir, name, p, sizeof(p)) < 0 ||
	    path_of(dir, tmpname, tmp, sizeof(tmp)) < 0)
		return -ENAMETOOLONG;
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -EIO;
	for (size_t i = 0; i < sizeof(r); i++) {
		tok[2 * i] = hex[r[i] >> 4];
		tok[2 * i + 1] = hex[r[i] & 15];
	}
	tok[WEBUI_TOKEN_HEX] = 0;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (write(fd, tok, WEBUI_TOKEN_HEX) != WEBUI_TOKEN_HEX ||
	    write(fd, "\n", 1) != 1 ||
	    (pw && fchown(fd, pw->pw_uid, pw->pw_gid) < 0) || fsync(fd) < 0) {
		e = errno ? errno : EIO;
		close(fd);
		unlink(tmp);
		return -e;
	}
	if (close(fd) < 0 || rename(tmp, p) < 0) {
		e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

int webui_token_make(const char *dir, const char *owner,
		     char tok[WEBUI_TOKEN_HEX + 1])
{
	int rc;

	if (admin_set(dir)) {
		webui_token_remove(dir);
		return 0;
	}
	if (webui_secret_read(dir, WEBUI_TOKEN_FILE, tok) == 0)
		return 1;
	rc = webui_secret_new(dir, WEBUI_TOKEN_FILE, owner, tok);
	return rc < 0 ? rc : 1;
}

int webui_token_check(const char *dir, const char *given, size_t len)
{
	char tok[WEBUI_TOKEN_HEX + 1], norm[WEBUI_TOKEN_HEX + 1];
	size_t n = 0;
	int bad = 0;

	if (webui_secret_read(dir, WEBUI_TOKEN_FILE, tok) < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = given[i];

		if (c == ' ' || c == '-' || c == '\t')
			continue;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (n < WEBUI_TOKEN_HEX)
			norm[n] = c;
		else
			bad = 1;
		n++;
	}
	if (bad || n != WEBUI_TOKEN_HEX)
		return 0;
	return str_secure_eq(norm, n, tok, WEBUI_TOKEN_HEX) ? 1 : 0;
}

void webui_token_remove(const char *dir)
{
	char p[4096];

	if (path_of(dir, WEBUI_TOKEN_FILE, p, sizeof(p)) == 0)
		unlink(p);
}

void webui_token_announce(void)
{
	const char *dir = conf_get("webui_directory");
	const char *owner = conf_get("webui_owner");
	const char *log = conf_get("maillog_file");
	char tok[WEBUI_TOKEN_HEX + 1];
	struct stat st;
	int rc;

	if (owner == NULL || *owner == 0 || dir == NULL || *dir != '/' ||
	    stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return; /* no web UI here */
	if ((rc = webui_token_make(dir, owner, tok)) < 0) {
		msg_warn("%s/%s: cannot make the web UI setup token: %s", dir,
			 WEBUI_TOKEN_FILE, strerror(-rc));
		return;
	}
	if (rc == 0)
		return;
	msg_info("web UI setup token: %s (the first-run page asks for it; "
		 "it ends when the admin password is set)",
		 tok);
	if (log == NULL || (strcmp(log, "/dev/stdout") != 0 &&
			    strcmp(log, "/dev/stderr") != 0))
		dprintf(2,
			"mailgw: web UI setup token: %s (the first-run page "
			"asks for it)\n",
			tok);
}

int webui_token_main(int argc, char **argv)
{
	char tok[WEBUI_TOKEN_HEX + 1];
	const char *dir;
	int rc;

	if (argc != 1) {
		msg_error("usage: mailgw [-c config_dir] webui-token");
		return 2;
	}
	(void)argv;
	if (conf_load(NULL) < 0)
		return 1;
	dir = conf_get("webui_directory");
	rc = webui_token_make(dir, conf_get("webui_owner"), tok);
	if (rc < 0) {
		msg_error("%s/%s: %s", dir, WEBUI_TOKEN_FILE, strerror(-rc));
		return 1;
	}
	if (rc == 0) {
		msg_error("the admin password is set already: no setup token");
		return 1;
	}
	printf("%s\n", tok);
	return 0;
}
