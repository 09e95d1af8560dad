/* setuptoken - the web UI's one-time setup token.
 *
 * Until the admin password is set (webui_directory/admin exists), the
 * web UI's first-run page is open to whoever reaches it first. The setup
 * token closes that window: only someone who sees the console or the log
 * can choose the password. master makes the token at start
 * (webui_token_announce: when webui_owner is set, webui_directory exists
 * and no admin password is set yet) and logs it, every start until the
 * password is set; `mailgw webui-token` prints it (the image's first-boot
 * script uses it to set MAILGW_ADMIN_PASSWORD through the same page).
 *
 * The token is WEBUI_TOKEN_BITS random bits (getrandom(2)) as hex digits
 * in webui_directory/setup-token, mode 0600, owned by webui_owner (the
 * CGI reads it); never in the settings. The CGI compares it in constant
 * time and removes it once the password is set. It is a one-time secret
 * that is meant to be read from the log (STYLE.md rule 9's exception). */
#ifndef MAILGW_WEBUI_SETUPTOKEN_H
#define MAILGW_WEBUI_SETUPTOKEN_H

#include <stddef.h>

#define WEBUI_TOKEN_FILE "setup-token"
#define WEBUI_TOKEN_BITS 128
#define WEBUI_TOKEN_HEX  (WEBUI_TOKEN_BITS / 4)

/* webui_token_make - the token of dir (webui_directory), made now when
 * there is none, owned by owner (webui_owner; NULL: the caller). 1 with
 * the token in tok; 0 when the admin password is set (no token then: an
 * old one is removed); -errno on failure. */
int webui_token_make(const char *dir, const char *owner,
		     char tok[WEBUI_TOKEN_HEX + 1]);

/* webui_token_check - 1 when given[0..len) is dir's token (blanks and
 * dashes ignored, any case), 0 when not, -1 when there is no token. */
int webui_token_check(const char *dir, const char *given, size_t len);

/* webui_token_remove - the password is set: the token is spent. */
void webui_token_remove(const char *dir);

/* webui_token_announce - master at start: make the token when the web
 * UI is deployed and has no password yet, and log it (to the mail log;
 * also to stderr, the console, when the log goes elsewhere). */
void webui_token_announce(void);

/* The proxy key: `mailgw webui-tls` tells the CGI each client's address
 * in a request field that carries this secret too (webui/httphead.h), so
 * a field from anyone else (a local process talking to httpd directly)
 * is not believed. The proxy makes a new one at start, as webui_owner. */
#define WEBUI_PROXY_KEY_FILE "proxy-key"

/* webui_secret_new - WEBUI_TOKEN_BITS random bits as hex into tok and
 * into dir/name (0600, owned by owner when given; written aside and
 * renamed into place, links not followed). 0 or -errno. */
int webui_secret_new(const char *dir, const char *name, const char *owner,
		     char tok[WEBUI_TOKEN_HEX + 1]);
/* webui_secret_read - dir/name's secret into tok. 0, or -1 when there is
 * none (or it is not one). */
int webui_secret_read(const char *dir, const char *name,
		      char tok[WEBUI_TOKEN_HEX + 1]);

/* webui_token_main: in commands.h */

#endif
