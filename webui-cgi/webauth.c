/* webauth - password file, sessions, login failures (see session.h). */
#include <bearssl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/str.h"
#include "smtpd/passwd.h"
#include "webauth.h"

static void tohex(const unsigned char *p, size_t n, char *out)
{
	static const char h[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = h[p[i] >> 4];
		out[2 * i + 1] = h[p[i] & 15];
	}
	out[2 * n] = 0;
}

int webauth_random_hex(char out[SESSION_ID_HEX + 1])
{
	unsigned char r[SESSION_ID_HEX / 2];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	tohex(r, sizeof(r), out);
	return 0;
}

static int id_ok(const char *id, size_t len)
{
	if (len != SESSION_ID_HEX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

static void session_path(const char *dir, const char *id, size_t len, char *out,
			 size_t size)
{
	br_sha256_context c;
	unsigned char h[32];
	char hex[65];

	br_sha256_init(&c);
	br_sha256_update(&c, id, len);
	br_sha256_out(&c, h);
	tohex(h, sizeof(h), hex);
	snprintf(out, size, "%s/sessions/%s", dir, hex);
}

static int read_small(const char *path, char *out, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, out, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	out[n] = 0;
	return (int)n;
}

static int write_new(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	return close(fd);
}

int webauth_admin_exists(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/admin", dir);
	return access(path, F_OK) == 0;
}

int webauth_admin_set(const char *dir, const char *pw, size_t len)
{
	char path[4096];
	struct buf h;
	int rc;

	snprintf(path, sizeof(path), "%s/admin", dir);
	buf_init(&h, 512);
	rc = passwd_hash_new(&h, pw, len, WEBAUTH_ITERATIONS) < 0 ? -1 : 0;
	if (rc == 0) {
		buf_putc(&h, '\n');
		rc = write_new(path, buf_str(&h), buf_len(&h));
	}
	buf_free(&h);
	return rc;
}

int webauth_admin_change(const char *dir, const char *pw, size_t len,
			 const char *keep_id)
{
	char path[4096], tmp[4096 + 8], keep[4096], sdir[4096];
	struct buf h;
	int rc;
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/admin", dir);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	buf_init(&h, 512);
	rc = passwd_hash_new(&h, pw, len, WEBAUTH_ITERATIONS) < 0 ? -1 : 0;
	if (rc == 0) {
		buf_putc(&h, '\n');
		unlink(tmp);
		rc = write_new(tmp, buf_str(&h), buf_len(&h));
		if (rc == 0 && rename(tmp, path) < 0) {
			unlink(tmp);
			rc = -1;
		}
	}
	buf_free(&h);
	if (rc < 0)
		return rc;
	/* Every other session ends: whoever knew the old password is out. */
	session_path(dir, keep_id, strlen(keep_id), keep, sizeof(keep));
	snprintf(sdir, sizeof(sdir), "%s/sessions", dir);
	if ((d = opendir(sdir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char p[4096 + 256];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", sdir, de->d_name);
		if (strcmp(p, keep) != 0)
			unlink(p);
	}
	closedir(d);
	return 0;
}

int webauth_admin_check(const char *dir, const char *pw, size_t len)
{
	char path[4096], stored[512];

	snprintf(path, sizeof(path), "%s/admin", dir);
	if (read_small(path, stored, sizeof(stored)) <= 0)
		return 0;
	stored[strcspn(stored, "\r\n")] = 0;
	return passwd_verify(stored, pw, len) == 1;
}

/* Remove sessions idle too long (abandoned ones are never presented). */
static void prune(const char *sdir)
{
	DIR *d = opendir(sdir);
	struct dirent *de;
	time_t now = time(NULL);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[4096 + 256];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", sdir, de->d_name);
		if (lstat(path, &st) == 0 && now - st.st_mtime > SESSION_IDLE_S)
			unlink(path);
	}
	closedir(d);
}

int webauth_session_new(const char *dir, char id[SESSION_ID_HEX + 1],
			char csrf[SESSION_ID_HEX + 1])
{
	char path[4096], line[128];

	snprintf(path, sizeof(path), "%s/sessions", dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -1;
	prune(path);
	if (webauth_random_hex(id) < 0 || webauth_random_hex(csrf) < 0)
		return -1;
	session_path(dir, id, SESSION_ID_HEX, path, sizeof(path));
	snprintf(line, sizeof(line), "%lld %s\n", (long long)time(NULL), csrf);
	return write_new(path, line, strlen(line));
}

int webauth_session_find(const char *dir, const char *id, size_t len,
			 char csrf[SESSION_ID_HEX + 1])
{
	char path[4096], line[128], *sp;
	struct stat st;
	time_t now = time(NULL);
	long long created;

	if (!id_ok(id, len))
		return 0;
	session_path(dir, id, len, path, sizeof(path));
	if (stat(path, &st) < 0 || read_small(path, line, sizeof(line)) <= 0)
		return 0;
	created = strtoll(line, &sp, 10);
	if (now - st.st_mtime > SESSION_IDLE_S ||
	    now - created > SESSION_MAX_S || *sp != ' ' ||
	    strlen(sp + 1) < SESSION_ID_HEX) {
		unlink(path);
		return 0;
	}
	memcpy(csrf, sp + 1, SESSION_ID_HEX);
	csrf[SESSION_ID_HEX] = 0;
	utimensat(AT_FDCWD, path, NULL, 0); /* last use: now */
	return 1;
}

void webauth_session_end(const char *dir, const char *id, size_t len)
{
	char path[4096];

	if (!id_ok(id, len))
		return;
	session_path(dir, id, len, path, sizeof(path));
	unlink(path);
}

/* Failures of addr within the window; rewrites the file without the old
 * lines when rewrite is set. */
static int failures(const char *dir, const char *addr, int add)
{
	char path[4096], tmp[4096 + 8], data[16384];
	time_t now = time(NULL);
	struct buf keep;
	int n = 0, len;

	snprintf(path, sizeof(path), "%s/login-failures", dir);
	len = read_small(path, data, sizeof(data));
	buf_init(&keep, sizeof(data));
	for (char *p = len > 0 ? data : NULL, *nl; p && *p; p = nl + 1) {
		char *sp;
		long long t;

		if ((nl = strchr(p, '\n')) == NULL)
			break;
		*nl = 0;
		t = strtoll(p, &sp, 10);
		if (*sp != ' ' || now - t > LOGIN_WINDOW_S || t > now)
			continue;
		if (strcmp(sp + 1, addr) == 0)
			n++;
		buf_printf(&keep, "%s\n", p);
	}
	if (add) {
		/* Keep the file small: the newest lines win. */
		while (buf_len(&keep) > sizeof(data) / 2) {
			const char *nl =
				memchr(buf_str(&keep), '\n', buf_len(&keep));

			buf_consume(&keep, (size_t)(nl - buf_str(&keep)) + 1);
		}
		buf_printf(&keep, "%lld %s\n", (long long)now, addr);
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		unlink(tmp);
		if (write_new(tmp, buf_str(&keep), buf_len(&keep)) == 0)
			rename(tmp, path);
		n++;
	}
	buf_free(&keep);
	return n;
}

int webauth_login_blocked(const char *dir, const char *addr)
{
	return failures(dir, addr, 0) >= LOGIN_FAILS_MAX;
}

void webauth_login_failed(const char *dir, const char *addr)
{
	failures(dir, addr, 1);
}
