/* webauth - the web UI's admin password, sessions and login rate limit.
 *
 * State lives in webui_directory (owned by webui_owner, 0700):
 *   admin            the password hash, PBKDF2-HMAC-SHA256 with
 *                    WEBAUTH_ITERATIONS rounds (smtpd/passwd.h's format,
 *                    shared with SMTP AUTH), 0600; its absence means first
 *                    run;
 *   sessions/HASH    one file per session, named by the SHA-256 of the
 *                    session id (the id itself is stored nowhere): "CREATED
 *                    CSRF\n"; its mtime is the last use;
 *   login-failures   "TIME ADDRESS" lines of failed logins (and wrong
 *                    setup tokens or current passwords: one limit);
 *   setup-token      the one-time token of the first-run page
 *                    (webui/setuptoken.h);
 *   proxy-key        the secret of `mailgw webui-tls`'s client address
 *                    field (webui/httphead.h).
 * A session id is 128 random bits (getrandom(2)) as 32 hex digits; so is
 * its CSRF token. A session ends after SESSION_IDLE_S without use, after
 * SESSION_MAX_S in all, or at logout. LOGIN_FAILS_MAX failures from one
 * address within LOGIN_WINDOW_S block further attempts from it until the
 * window has passed. */
#ifndef MAILGW_WEBUI_WEBAUTH_H
#define MAILGW_WEBUI_WEBAUTH_H

#include <stddef.h>

#define WEBAUTH_ITERATIONS 150000UL /* >= 100k (issue 7) */
#define SESSION_ID_HEX     32
#define SESSION_IDLE_S     1800
#define SESSION_MAX_S      (12 * 3600)
#define LOGIN_FAILS_MAX    5
#define LOGIN_WINDOW_S     300
#define PASSWORD_MIN       10
#define PASSWORD_MAX       255 /* PASSWD_PASS_MAX of smtpd/passwd.h */

/* webauth_random_hex - 128 random bits as 32 hex digits + NUL. 0 or -1. */
int webauth_random_hex(char out[SESSION_ID_HEX + 1]);

/* webauth_admin_exists - 1 when the admin password is set. */
int webauth_admin_exists(const char *dir);
/* webauth_admin_set - store the first password (fails when one exists). 0 or
 * -1. */
int webauth_admin_set(const char *dir, const char *pw, size_t len);
/* webauth_admin_change - replace the password (the file is renamed into
 * place) and end every session but keep_id's. 0 or -1. */
int webauth_admin_change(const char *dir, const char *pw, size_t len,
			 const char *keep_id);
/* webauth_admin_check - 1 when pw is the admin password. */
int webauth_admin_check(const char *dir, const char *pw, size_t len);

/* webauth_session_new - a new session: id and CSRF token out; sessions
 * idle longer than SESSION_IDLE_S are removed first. 0 or -1. */
int webauth_session_new(const char *dir, char id[SESSION_ID_HEX + 1],
			char csrf[SESSION_ID_HEX + 1]);
/* webauth_session_find - 1 with its CSRF token when id names a live session
 * (its last use is then now), 0 otherwise (an expired one is removed). */
int webauth_session_find(const char *dir, const char *id, size_t len,
			 char csrf[SESSION_ID_HEX + 1]);
/* webauth_session_end - remove the session. */
void webauth_session_end(const char *dir, const char *id, size_t len);

/* webauth_login_blocked - 1 when addr has LOGIN_FAILS_MAX recent failures. */
int webauth_login_blocked(const char *dir, const char *addr);
/* webauth_login_failed - record a failure of addr. */
void webauth_login_failed(const char *dir, const char *addr);

#endif
