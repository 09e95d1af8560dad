/* webui.cgi - the browser UI of the appliance, one CGI program.
 *
 * Served by busybox httpd (CGI/1.1, RFC 3875); the page is PATH_INFO:
 *   /setup      first run: choose the admin password (only while none is set)
 *               (and the setup token mailgw printed, webui/setuptoken.h)
 *   /login      /logout (POST)
 *   /password   change the admin password (current one, new one twice)
 *   /users      SMTP AUTH users of the submission ports: list, add, delete
 *               (POST; mailgw passwd through the control socket)
 *   /dashboard  running state, version, uptime, queue sizes, today's counts
 *   /settings   the settings schema as a form; a valid form is staged
 *   /apply      the staged change as a diff of main.cf/master.cf; apply or
 *               discard (POST)
 *   /queue      list; /queue/view?id=QID headers; flush, hold, release,
 *               delete (POST)
 *
 * Runs as webui_owner and writes only webui_directory (password hash,
 * sessions, staged settings). Apply and the queue actions are requests on
 * master's control socket (master/control.h), which checks them again and
 * runs them. No shell is ever started. Every value printed is HTML-escaped
 * (form.h); every POST carries the session's CSRF token (the login and
 * setup forms a double-submit cookie token); a cross-origin Origin header is
 * refused. The response status line is written here (busybox httpd passes
 * "HTTP/1.0 ..." through). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/settings.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "diff.h"
#include "form.h"
#include "master/control.h"
#include "master/master.h"
#include "qlist.h"
#include "webauth.h"
#include "webui/setuptoken.h"

#define COOKIE_SESSION "mgw_session"
#define COOKIE_PRE     "mgw_pre"
#define PAGE_MAX       (8 * 1024 * 1024)

static struct {
	const char *method, *path, *query, *script, *addr;
	const char *cookie;
	struct buf body;
	const char *conf_dir, *webui_dir, *queue_dir;
	int secure;
	int authed;
	char sid[SESSION_ID_HEX + 1];
	char csrf[SESSION_ID_HEX + 1];
	struct buf headers; /* extra response headers */
	struct buf page;
} R;

/* ------------------------------------------------------------ output */

static void esc(const char *s)
{
	html_escape(&R.page, s, strlen(s));
}

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&R.page, fmt, ap);
	va_end(ap);
}

static void send_response(int code, const char *text)
{
	struct buf h;

	buf_init(&h, 64 * 1024);
	buf_printf(&h,
		   "HTTP/1.0 %d %s\r\n"
		   "Content-Type: text/html; charset=utf-8\r\n"
		   "Cache-Control: no-store\r\n"
		   "X-Content-Type-Options: nosniff\r\n"
		   "X-Frame-Options: DENY\r\n"
		   "Referrer-Policy: same-origin\r\n"
		   "Content-Security-Policy: default-src 'none'; "
		   "style-src 'unsafe-inline'; form-action 'self'; "
		   "frame-ancestors 'none'; base-uri 'none'\r\n"
		   "%s"
		   "Content-Length: %zu\r\n\r\n",
		   code, text, buf_str(&R.headers), buf_len(&R.page));
	fwrite(buf_str(&h), 1, buf_len(&h), stdout);
	fwrite(buf_str(&R.page), 1, buf_len(&R.page), stdout);
	fflush(stdout);
	buf_free(&h);
}

static void set_cookie(const char *name, const char *value, int max_age)
{
	buf_printf(&R.headers,
		   "Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Strict%s",
		   name, value, R.secure ? "; Secure" : "");
	if (max_age >= 0)
		buf_printf(&R.headers, "; Max-Age=%d", max_age);
	buf_puts(&R.headers, "\r\n");
}

static void redirect(const char *page)
{
	buf_reset(&R.page);
	buf_printf(&R.headers, "Location: %s%s\r\n", R.script, page);
	send_response(303, "See Other");
}

static const char CSS[] =
	"*{box-sizing:border-box}"
	"body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d2430;"
	"background:#f4f6f8}"
	"header{background:#1f3a5f;color:#fff;padding:.6em 1em;display:flex;"
	"flex-wrap:wrap;align-items:center;gap:.4em 1.2em}"
	"header b{font-size:1.1em;margin-right:auto}"
	"header a{color:#fff}header form{margin:0}"
	"main{max-width:52em;margin:0 auto;padding:1em}"
	"section{background:#fff;border:1px solid #d6dde5;border-radius:6px;"
	"padding:1em;margin:0 0 1em}"
	"h1{font-size:1.4em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:0 0 "
	".5em}"
	"label{display:block;font-weight:600;margin-top:.9em}"
	"input,select{font:inherit;width:100%;padding:.45em;border:1px solid "
	"#9aa7b4;border-radius:4px;background:#fff}"
	"input[aria-invalid=true]{border-color:#b00020}"
	".help{color:#4a5563;font-size:.9em;margin:.2em 0}"
	".err{color:#b00020;font-weight:600;margin:.2em 0}"
	".ok{color:#1b6b2f;font-weight:600}"
	"button{font:inherit;padding:.5em 1.1em;margin:.8em .4em 0 0;border:0;"
	"border-radius:4px;background:#1f3a5f;color:#fff;cursor:pointer}"
	"button.plain{background:#e3e8ee;color:#1d2430;margin:0}"
	"button.danger{background:#b00020}"
	"header button{margin:0;background:#e3e8ee;color:#1d2430;padding:.2em "
	".8em}"
	"table{border-collapse:collapse;width:100%;font-size:.92em}"
	"td,th{text-align:left;padding:.35em .4em;border-bottom:1px solid "
	"#e3e8ee;vertical-align:top;overflow-wrap:anywhere}"
	"td form{display:inline}td button{margin:.2em .3em .2em 0}"
	"@media (max-width:40em){#queue thead{display:none}#queue tr,#queue "
	"td{display:block}#queue tr{border-bottom:2px solid #d6dde5;padding:"
	".3em 0}#queue td{border:0;padding:.1em 0}#queue td[data-label]::"
	"before{content:attr(data-label) \": \";font-weight:600}}"
	"dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;"
	"margin:0}dt{font-weight:600}dd{margin:0}"
	"pre{background:#f7f8fa;border:1px solid #e3e8ee;padding:.6em;"
	"overflow-x:auto;font-size:.85em;white-space:pre-wrap}"
	".add{background:#e6f4ea;display:block}.del{background:#fdecea;"
	"display:block}"
	".counts{display:grid;grid-template-columns:repeat(auto-fit,minmax(7em,"
	"1fr));gap:.5em}.counts div{background:#f4f6f8;border-radius:4px;"
	"padding:.4em;text-align:center}.counts "
	"b{display:block;font-size:1.4em}";

static int staged_exists(void);

static void page_begin(const char *title)
{
	out("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\"><title>");
	esc(title);
	out(" - mailgw</title><style>%s</style></head><body><header>"
	    "<b>mailgw</b>",
	    CSS);
	if (R.authed) {
		out("<a href=\"");
		esc(R.script);
		out("/dashboard\">Dashboard</a><a href=\"");
		esc(R.script);
		out("/settings\">Settings</a><a href=\"");
		esc(R.script);
		out("/apply\">Apply%s</a><a href=\"",
		    staged_exists() ? " (1)" : "");
		esc(R.script);
		out("/queue\">Queue</a><a href=\"");
		esc(R.script);
		out("/users\">Users</a><a href=\"");
		esc(R.script);
		out("/password\">Password</a><form method=\"post\" "
		    "action=\"");
		esc(R.script);
		out("/logout\"><input type=\"hidden\" name=\"csrf\" value=\"");
		esc(R.csrf);
		out("\"><button type=\"submit\">Log out</button></form>");
	}
	out("</header><main><h1>");
	esc(title);
	out("</h1>");
}

static void page_end(void)
{
	out("</main></body></html>\n");
}

static void form_open(const char *action, const char *token)
{
	out("<form method=\"post\" action=\"");
	esc(R.script);
	esc(action);
	out("\"><input type=\"hidden\" name=\"csrf\" value=\"");
	esc(token);
	out("\">");
}

static void fail(int code, const char *text, const char *why)
{
	buf_reset(&R.page);
	page_begin(text);
	out("<section><p class=\"err\">");
	esc(why);
	out("</p></section>");
	page_end();
	send_response(code, text);
}

/* ------------------------------------------------------------ request */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v ? v : "";
}

static int field(const char *name, struct buf *value)
{
	return form_get(buf_str(&R.body), buf_len(&R.body), name, value) == 1;
}

static int query(const char *name, struct buf *value)
{
	return form_get(R.query, strlen(R.query), name, value) == 1;
}

/* A POST from another origin is refused whatever its token. */
static int same_origin(void)
{
	const char *origin = getenv("HTTP_ORIGIN"), *host = env("HTTP_HOST");
	const char *p;

	if (origin == NULL || strcmp(origin, "null") == 0)
		return origin == NULL;
	p = strstr(origin, "://");
	return p && strcmp(p + 3, host) == 0;
}

/* The POST's token against want (constant time). */
static int token_ok(const char *want)
{
	struct buf t;
	int ok;

	buf_init(&t, FORM_VALUE_MAX + 1);
	ok = *want && field("csrf", &t) &&
	     str_secure_eq(buf_str(&t), buf_len(&t), want, strlen(want)) &&
	     same_origin();
	buf_free(&t);
	return ok;
}

/* The pre-session token of the login and setup forms (double submit). */
static void pre_token(char tok[SESSION_ID_HEX + 1])
{
	struct buf c;

	buf_init(&c, COOKIE_VALUE_MAX + 1);
	if (cookie_get(R.cookie, strlen(R.cookie), COOKIE_PRE, &c) &&
	    buf_len(&c) == SESSION_ID_HEX) {
		memcpy(tok, buf_str(&c), SESSION_ID_HEX + 1);
	} else if (webauth_random_hex(tok) == 0) {
		set_cookie(COOKIE_PRE, tok, -1);
	} else {
		tok[0] = 0;
	}
	buf_free(&c);
}

static int read_body(void)
{
	long len = 0;
	const char *cl = env("CONTENT_LENGTH");

	if (*cl &&
	    (str_to_long(cl, &len) < 0 || len < 0 || len > FORM_BODY_MAX))
		return -1;
	while ((long)buf_len(&R.body) < len) {
		char chunk[4096];
		size_t want = (size_t)len - buf_len(&R.body);
		ssize_t n = read(0, chunk,
				 want < sizeof(chunk) ? want : sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf_append(&R.body, chunk, (size_t)n);
	}
	return 0;
}

static void start_session(void)
{
	if (webauth_session_new(R.webui_dir, R.sid, R.csrf) < 0) {
		fail(500, "Error", "cannot create a session (webui_directory)");
		exit(0);
	}
	set_cookie(COOKIE_SESSION, R.sid, -1);
	set_cookie(COOKIE_PRE, "", 0);
}

/* ------------------------------------------------------------ setup, login */

/* One password-like field; err (may be NULL) is shown under it. */
static void pw_field(const char *id, const char *type, const char *label,
		     const char *help, const char *autocomplete,
		     const char *err)
{
	out("<label for=\"%s\">%s</label>", id, label);
	if (help)
		out("<p class=\"help\" id=\"%s-help\">%s</p>", id, help);
	out("<input type=\"%s\" id=\"%s\" name=\"%s\" autocomplete=\"%s\" "
	    "required%s>",
	    type, id, id, autocomplete,
	    err ? " aria-invalid=\"true\"" : "");
	if (err) {
		out("<p class=\"err\" id=\"%s-error\">", id);
		esc(err);
		out("</p>");
	}
}

/* The forms of /setup (kind 1), /login (0) and /password (2); err goes
 * under the field named err_field. */
static void password_form(const char *title, const char *action,
			  const char *token, const char *err,
			  const char *err_field, int kind)
{
	const char *e_tok = NULL, *e_cur = NULL, *e_pw = NULL;

	if (err && strcmp(err_field, "token") == 0)
		e_tok = err;
	else if (err && strcmp(err_field, "current") == 0)
		e_cur = err;
	else
		e_pw = err;
	page_begin(title);
	out("<section>");
	if (kind == 1)
		out("<p>Welcome. Choose the password of the administrator "
		    "(at least %d characters). It is stored as a salted "
		    "PBKDF2-HMAC-SHA256 hash.</p>",
		    PASSWORD_MIN);
	form_open(action, token);
	if (kind == 1)
		pw_field("token", "text", "Setup token",
			 "mailgw prints it to the console and the mail log "
			 "when it starts: <q>web UI setup token: ...</q>.",
			 "off", e_tok);
	if (kind == 2)
		pw_field("current", "password", "Current password", NULL,
			 "current-password", e_cur);
	pw_field("password", "password",
		 kind == 2 ? "New password" : "Password", NULL,
		 kind ? "new-password" : "current-password", e_pw);
	if (kind)
		pw_field("confirm", "password",
			 kind == 2 ? "New password again" : "Password again",
			 NULL, "new-password", NULL);
	out("<button type=\"submit\">%s</button></form></section>",
	    kind == 1   ? "Set password"
	    : kind == 2 ? "Change password"
			: "Log in");
	page_end();
}

/* The two new-password fields: NULL when they are fine, else why. */
static const char *new_password_error(const struct buf *pw,
				      const struct buf *again)
{
	if (buf_len(pw) < PASSWORD_MIN || buf_len(pw) > PASSWORD_MAX)
		return "The password needs 10 to 255 characters.";
	if (strcmp(buf_str(pw), buf_str(again)) != 0)
		return "The two passwords differ.";
	return NULL;
}

/* Too many failures from this client (logins, setup tokens, current
 * passwords): the form again with 429. */
static int refuse_blocked(const char *title, const char *action,
			  const char *tok, const char *field_name, int kind)
{
	if (!webauth_login_blocked(R.webui_dir, R.addr))
		return 0;
	msg_warn("%s refused from %s: too many failures", action + 1, R.addr);
	password_form(title, action, tok,
		      "Too many failed attempts. Wait five minutes.",
		      field_name, kind);
	send_response(429, "Too Many Requests");
	return 1;
}

static void page_setup(void)
{
	char tok[SESSION_ID_HEX + 1];
	struct buf pw, again, given;
	const char *err = NULL, *err_field = "password";
	int t;

	if (webauth_admin_exists(R.webui_dir)) {
		redirect("/login");
		return;
	}
	pre_token(tok);
	if (strcmp(R.method, "POST") != 0) {
		password_form("First-run setup", "/setup", tok, NULL, NULL, 1);
		send_response(200, "OK");
		return;
	}
	if (!token_ok(tok)) {
		fail(403, "Forbidden", "The form token is missing or wrong.");
		return;
	}
	if (refuse_blocked("First-run setup", "/setup", tok, "token", 1))
		return;
	buf_init(&pw, FORM_VALUE_MAX + 1);
	buf_init(&again, FORM_VALUE_MAX + 1);
	buf_init(&given, FORM_VALUE_MAX + 1);
	field("password", &pw);
	field("confirm", &again);
	field("token", &given);
	t = webui_token_check(R.webui_dir, buf_str(&given), buf_len(&given));
	if (t <= 0) {
		err_field = "token";
		err = t < 0 ? "There is no setup token yet: start mailgw, "
			      "which prints one."
			    : "The setup token is wrong.";
		if (t == 0) {
			webauth_login_failed(R.webui_dir, R.addr);
			msg_warn("setup token wrong from %s", R.addr);
		}
	} else if ((err = new_password_error(&pw, &again)) != NULL) {
		;
	} else if (webauth_admin_set(R.webui_dir, buf_str(&pw), buf_len(&pw)) <
		   0) {
		err = "The password could not be stored (is it set already?).";
	}
	buf_free(&pw);
	buf_free(&again);
	buf_free(&given);
	if (err) {
		password_form("First-run setup", "/setup", tok, err, err_field,
			      1);
		send_response(400, "Bad Request");
		return;
	}
	webui_token_remove(R.webui_dir);
	msg_info("admin password set from %s", R.addr);
	start_session();
	redirect("/dashboard");
}

static void page_login(void)
{
	char tok[SESSION_ID_HEX + 1];
	struct buf pw;
	int ok;

	if (!webauth_admin_exists(R.webui_dir)) {
		redirect("/setup");
		return;
	}
	pre_token(tok);
	if (strcmp(R.method, "POST") != 0) {
		password_form("Log in", "/login", tok, NULL, NULL, 0);
		send_response(200, "OK");
		return;
	}
	if (!token_ok(tok)) {
		fail(403, "Forbidden", "The form token is missing or wrong.");
		return;
	}
	if (refuse_blocked("Log in", "/login", tok, "password", 0))
		return;
	buf_init(&pw, FORM_VALUE_MAX + 1);
	field("password", &pw);
	ok = buf_len(&pw) <= PASSWORD_MAX &&
	     webauth_admin_check(R.webui_dir, buf_str(&pw), buf_len(&pw));
	buf_free(&pw);
	if (!ok) {
		webauth_login_failed(R.webui_dir, R.addr);
		msg_warn("login failed from %s", R.addr);
		password_form("Log in", "/login", tok, "Wrong password.",
			      "password", 0);
		send_response(403, "Forbidden");
		return;
	}
	msg_info("login from %s", R.addr);
	start_session();
	redirect("/dashboard");
}

/* The admin's own password: the current one, the new one twice. A wrong
 * current password counts as a failed login (the same rate limit). */
static void page_password(void)
{
	struct buf cur, pw, again;
	const char *err = NULL, *err_field = "password";

	if (strcmp(R.method, "POST") != 0) {
		password_form("Change password", "/password", R.csrf, NULL,
			      NULL, 2);
		send_response(200, "OK");
		return;
	}
	if (refuse_blocked("Change password", "/password", R.csrf, "current",
			   2))
		return;
	buf_init(&cur, FORM_VALUE_MAX + 1);
	buf_init(&pw, FORM_VALUE_MAX + 1);
	buf_init(&again, FORM_VALUE_MAX + 1);
	field("current", &cur);
	field("password", &pw);
	field("confirm", &again);
	if (buf_len(&cur) > PASSWORD_MAX ||
	    !webauth_admin_check(R.webui_dir, buf_str(&cur), buf_len(&cur))) {
		webauth_login_failed(R.webui_dir, R.addr);
		msg_warn("password change refused from %s: wrong current "
			 "password",
			 R.addr);
		err = "The current password is wrong.";
		err_field = "current";
	} else if ((err = new_password_error(&pw, &again)) != NULL) {
		;
	} else if (webauth_admin_change(R.webui_dir, buf_str(&pw),
					buf_len(&pw), R.sid) < 0) {
		err = "The password could not be stored.";
	}
	buf_free(&cur);
	buf_free(&pw);
	buf_free(&again);
	if (err) {
		password_form("Change password", "/password", R.csrf, err,
			      err_field, 2);
		send_response(400, "Bad Request");
		return;
	}
	msg_info("admin password changed from %s", R.addr);
	page_begin("Change password");
	out("<section><p class=\"ok\" id=\"note\">The password is changed. "
	    "Other sessions have ended; this one goes on.</p></section>");
	page_end();
	send_response(200, "OK");
}

static void page_logout(void)
{
	webauth_session_end(R.webui_dir, R.sid, strlen(R.sid));
	set_cookie(COOKIE_SESSION, "", 0);
	msg_info("logout from %s", R.addr);
	redirect("/login");
}

/* ------------------------------------------------------------ settings */

static void staged_path(char *out_path, size_t size)
{
	snprintf(out_path, size, "%s/%s", R.webui_dir, CONTROL_STAGED_FILE);
}

static int staged_exists(void)
{
	char p[4096];

	staged_path(p, sizeof(p));
	return access(p, F_OK) == 0;
}

static int load_file(const char *path, struct settings *s)
{
	struct buf text, why;
	int rc;

	buf_init(&text, SETTINGS_FILE_MAX + 1);
	buf_init(&why, 4096);
	rc = conf_read_file(path, &text);
	if (rc == 0)
		rc = settings_parse(s, buf_str(&text), buf_len(&text), &why);
	buf_free(&text);
	buf_free(&why);
	return rc;
}

/* The applied settings, then the staged ones over them when staged. */
static int load_settings(struct settings *s, int staged)
{
	char path[4096];

	settings_init(s);
	snprintf(path, sizeof(path), "%s/%s", R.conf_dir, SETTINGS_FILE);
	if (load_file(path, s) < 0)
		return -1;
	if (staged && staged_exists()) {
		struct settings t;

		settings_init(&t);
		staged_path(path, sizeof(path));
		if (load_file(path, &t) == 0) {
			settings_free(s);
			*s = t;
		} else {
			settings_free(&t);
		}
	}
	return 0;
}

static int write_staged(const struct settings *s)
{
	char path[4096], tmp[4096 + 8];
	struct buf text;
	int fd, rc = -1;

	staged_path(path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	buf_init(&text, SETTINGS_FILE_MAX * 2);
	settings_format(s, &text);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, buf_str(&text), buf_len(&text)) ==
			    (ssize_t)buf_len(&text) &&
		    fsync(fd) == 0 && close(fd) == 0)
			rc = rename(tmp, path);
		else
			close(fd);
	}
	buf_free(&text);
	return rc;
}

static void settings_form(const struct settings *s, const char errs[][256],
			  const char *note)
{
	page_begin("Settings");
	if (note) {
		out("<section><p class=\"ok\">");
		esc(note);
		out("</p></section>");
	}
	out("<section>");
	form_open("/settings", R.csrf);
	for (size_t i = 0; i < settings_count; i++) {
		const struct settings_field *f = &settings_fields[i];
		const char *v = s->value[i];

		if (f->flags & SETTINGS_F_SYSTEM)
			continue;
		out("<label for=\"%s\">", f->key);
		esc(f->label);
		out("</label>");
		if (f->type == SETTINGS_ENUM) {
			const char *c = f->choices;

			out("<select id=\"%s\" name=\"%s\">", f->key, f->key);
			while (*c) {
				size_t w = strcspn(c, " ");

				out("<option%s>%.*s</option>",
				    strlen(v) == w && strncmp(v, c, w) == 0
					    ? " selected"
					    : "",
				    (int)w, c);
				c += w;
				c += *c == ' ';
			}
			out("</select>");
		} else {
			out("<input id=\"%s\" name=\"%s\" type=\"%s\" value=\"",
			    f->key, f->key,
			    f->flags & SETTINGS_F_SECRET ? "password" : "text");
			if (!(f->flags & SETTINGS_F_SECRET))
				esc(v);
			out("\"%s%s%s aria-describedby=\"%s-help\">",
			    f->flags & SETTINGS_F_SECRET && *v
				    ? " placeholder=\"(unchanged)\""
				    : "",
			    f->flags & SETTINGS_F_SECRET
				    ? " autocomplete=\"new-password\""
				    : "",
			    errs[i][0] ? " aria-invalid=\"true\"" : "", f->key);
		}
		if (errs[i][0]) {
			out("<p class=\"err\" id=\"%s-error\">", f->key);
			esc(errs[i]);
			out("</p>");
		}
		out("<p class=\"help\" id=\"%s-help\">", f->key);
		esc(f->help);
		out(" <small>(sets ");
		esc(f->feeds);
		out(")</small></p>");
	}
	out("<button type=\"submit\">Stage changes</button></form></section>");
	page_end();
}

struct errs_ctx {
	char (*errs)[256];
	int n;
};

static void note_error(void *arg, const struct settings_field *f,
		       const char *text)
{
	struct errs_ctx *e = arg;
	size_t i = settings_index(f);

	if (!e->errs[i][0])
		snprintf(e->errs[i], sizeof(e->errs[i]), "%s", text);
	e->n++;
}

static void page_settings(void)
{
	static char errs[64][256];
	struct settings s;
	struct buf v, why, norm;
	int bad = 0;

	memset(errs, 0, sizeof(errs));
	if (load_settings(&s, 1) < 0) {
		fail(500, "Error", "The current settings cannot be read.");
		return;
	}
	if (strcmp(R.method, "POST") != 0) {
		settings_form(&s, (const char(*)[256])errs,
			      staged_exists() ? "Changes are staged: see Apply."
					      : NULL);
		send_response(200, "OK");
		settings_free(&s);
		return;
	}
	buf_init(&v, FORM_VALUE_MAX + 1);
	buf_init(&why, 1024);
	buf_init(&norm, SETTINGS_VALUE_MAX * 2);
	for (size_t i = 0; i < settings_count; i++) {
		const struct settings_field *f = &settings_fields[i];

		if (f->flags & SETTINGS_F_SYSTEM)
			continue;
		if (!field(f->key, &v))
			buf_reset(&v);
		if ((f->flags & SETTINGS_F_SECRET) && buf_len(&v) == 0)
			continue; /* empty: unchanged */
		buf_reset(&why);
		if (settings_field_check(f, buf_str(&v), buf_len(&v), &why,
					 &norm) < 0) {
			snprintf(errs[i], sizeof(errs[i]), "%s", buf_str(&why));
			settings_set(&s, f, buf_str(&v), buf_len(&v));
			bad++;
		} else {
			settings_set(&s, f, buf_str(&norm), buf_len(&norm));
		}
	}
	if (!*settings_get(&s, "smarthost_user"))
		settings_set(&s, settings_field_find("smarthost_password", 18),
			     "", 0);
	if (!bad) {
		struct errs_ctx e = {errs, 0};

		bad = settings_check(&s, note_error, &e);
	}
	buf_free(&v);
	buf_free(&why);
	buf_free(&norm);
	if (bad) {
		settings_form(&s, (const char(*)[256])errs, NULL);
		send_response(400, "Bad Request");
	} else if (write_staged(&s) < 0) {
		fail(500, "Error", "The staged settings cannot be written.");
	} else {
		msg_info("settings staged by %s", R.addr);
		redirect("/apply");
	}
	settings_free(&s);
}

/* ------------------------------------------------------------ apply */

/* The diff as hunks: changed lines with DIFF_CONTEXT lines around them;
 * the lines between hunks are left out ("..."). */
#define DIFF_CONTEXT 3

struct diff_view {
	struct {
		char op;
		const char *line;
		size_t len;
	} * v;
	size_t n, cap;
};

static void diff_collect(char op, const char *line, size_t len, void *arg)
{
	struct diff_view *d = arg;

	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 256;
		d->v = mem_realloc(d->v, d->cap * sizeof(*d->v));
	}
	d->v[d->n].op = op;
	d->v[d->n].line = line;
	d->v[d->n++].len = len;
}

static void diff_print(const struct diff_view *d)
{
	int skipped = 0;

	for (size_t i = 0; i < d->n; i++) {
		int near = 0;

		for (size_t j = i > DIFF_CONTEXT ? i - DIFF_CONTEXT : 0;
		     j < d->n && j <= i + DIFF_CONTEXT && !near; j++)
			near = d->v[j].op != ' ';
		if (!near) {
			skipped = 1;
			continue;
		}
		if (skipped)
			out("<span>...</span>\n");
		skipped = 0;
		out("<span class=\"%s\">%c ",
		    d->v[i].op == '+'   ? "add"
		    : d->v[i].op == '-' ? "del"
					: "",
		    d->v[i].op);
		html_escape(&R.page, d->v[i].line, d->v[i].len);
		out("</span>%s", d->v[i].op == ' ' ? "\n" : "");
	}
}

static void show_diff(const struct settings *s, const char *name)
{
	char path[4096];
	struct buf cur, next, why;
	const char *tpl = settings_template(name);
	size_t changes;

	buf_init(&cur, CONF_FILE_MAX + 1);
	buf_init(&next, SETTINGS_OUTPUT_MAX + 1);
	buf_init(&why, 1024);
	snprintf(path, sizeof(path), "%s/%s", R.conf_dir, name);
	conf_read_file(path, &cur);
	out("<section><h2>%s</h2>", name);
	if (settings_render(s, tpl, strlen(tpl), &next, &why) < 0) {
		out("<p class=\"err\">");
		esc(buf_str(&why));
		out("</p>");
	} else {
		struct diff_view d = {0};

		changes =
			diff_lines(buf_str(&cur), buf_len(&cur), buf_str(&next),
				   buf_len(&next), diff_collect, &d);
		if (changes) {
			out("<pre>");
			diff_print(&d);
			out("</pre>");
		}
		out("<p>%zu line%s removed or added.</p>", changes,
		    changes == 1 ? "" : "s");
		mem_free(d.v);
	}
	out("</section>");
	buf_free(&cur);
	buf_free(&next);
	buf_free(&why);
}

static void page_apply(void)
{
	struct settings s;
	struct buf action, reply;
	char path[4096];
	int rc;

	if (strcmp(R.method, "POST") == 0) {
		buf_init(&action, 64);
		field("action", &action);
		staged_path(path, sizeof(path));
		if (strcmp(buf_str(&action), "discard") == 0) {
			unlink(path);
			msg_info("staged settings discarded by %s", R.addr);
			buf_free(&action);
			redirect("/settings");
			return;
		}
		if (strcmp(buf_str(&action), "apply") != 0 ||
		    !staged_exists()) {
			buf_free(&action);
			fail(400, "Bad Request", "Nothing to apply.");
			return;
		}
		buf_free(&action);
		buf_init(&reply, CONTROL_OUTPUT_MAX + 1);
		rc = control_request(R.queue_dir, "apply", &reply);
		msg_info("apply requested by %s: %s", R.addr,
			 rc == 0 ? "done" : "failed");
		if (rc == 0)
			unlink(path);
		page_begin(rc == 0 ? "Applied" : "Apply failed");
		out("<section><p class=\"%s\">%s</p><pre>",
		    rc == 0 ? "ok" : "err",
		    rc == 0  ? "The new configuration is in place and the "
			       "gateway has reloaded it."
		    : rc < 0 ? "The gateway did not answer (is it running?). "
			       "Nothing changed; the staged settings are "
			       "kept."
			     : "Nothing changed; the staged settings are "
			       "kept.");
		html_escape(&R.page, buf_str(&reply), buf_len(&reply));
		out("</pre></section>");
		page_end();
		send_response(rc == 0 ? 200 : 500, rc == 0 ? "OK" : "Error");
		buf_free(&reply);
		return;
	}
	page_begin("Apply");
	if (!staged_exists() || load_settings(&s, 1) < 0) {
		out("<section><p>No staged changes. Change something under "
		    "<a href=\"");
		esc(R.script);
		out("/settings\">Settings</a> first.</p></section>");
		page_end();
		send_response(200, "OK");
		return;
	}
	out("<section><p>These changes are staged. They take effect when you "
	    "apply them; they stay staged until then (or until you discard "
	    "them).</p>");
	form_open("/apply", R.csrf);
	out("<button type=\"submit\" name=\"action\" value=\"apply\">Apply"
	    "</button><button type=\"submit\" name=\"action\" "
	    "value=\"discard\" "
	    "class=\"danger\">Discard</button></form></section>");
	show_diff(&s, "main.cf");
	show_diff(&s, "master.cf");
	page_end();
	send_response(200, "OK");
	settings_free(&s);
}

/* ------------------------------------------------------------ dashboard */

static long uptime_of(pid_t pid)
{
	char path[64], data[1024], *p;
	double up = 0;
	unsigned long long start = 0;
	FILE *f;
	int field_no = 2;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(data, sizeof(data), f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	if ((p = strrchr(data, ')')) == NULL)
		return -1;
	for (p++; *p && field_no < 22; p++)
		if (*p == ' ')
			field_no++;
	start = strtoull(p, NULL, 10);
	if ((f = fopen("/proc/uptime", "r")) == NULL)
		return -1;
	if (fscanf(f, "%lf", &up) != 1)
		up = 0;
	fclose(f);
	return (long)(up - (double)start / (double)sysconf(_SC_CLK_TCK));
}

/* Today's counters from the tail of maillog_file, which master sends
 * (the log is not readable by the web UI's user). -1 when unavailable. */
static int counts_from_log(struct logstat *st)
{
	char today[16];
	time_t now = time(NULL);
	struct buf data;
	int rc;

	memset(st, 0, sizeof(*st));
	strftime(today, sizeof(today), "%b %e", localtime(&now));
	buf_init(&data, CONTROL_OUTPUT_MAX + CONTROL_LOG_TAIL + 1);
	rc = control_request(R.queue_dir, "log", &data);
	for (size_t off = 0; rc == 0 && off < buf_len(&data);) {
		const char *l = buf_str(&data) + off;
		const char *nl = memchr(l, '\n', buf_len(&data) - off);
		size_t n = nl ? (size_t)(nl - l) : buf_len(&data) - off;

		logstat_line(l, n, today, st);
		off += n + 1;
	}
	buf_free(&data);
	return rc == 0 ? 0 : -1;
}

static void page_dashboard(void)
{
	pid_t pid = master_running(R.queue_dir);
	struct buf reply;
	struct qlist_msg m;
	struct logstat st;
	int rc = -1;
	unsigned long active = 0, deferred = 0, hold = 0, other = 0;

	page_begin("Dashboard");
	out("<section><h2>Gateway</h2><dl><dt>State</dt><dd id=\"state\">");
	if (pid > 0) {
		long up = uptime_of(pid);

		out("running (pid %ld)</dd><dt>Uptime</dt><dd id=\"uptime\">",
		    (long)pid);
		if (up >= 0)
			out("%ldd %ldh %ldm %lds", up / 86400, up / 3600 % 24,
			    up / 60 % 60, up % 60);
		else
			out("unknown");
	} else {
		out("<span class=\"err\">stopped</span>");
	}
	out("</dd><dt>Version</dt><dd id=\"version\">mailgw %s (%s)</dd>"
	    "<dt>Host name</dt><dd>",
	    MAILGW_VERSION, MAILGW_GITREV);
	esc(conf_get("myhostname") ? conf_get("myhostname") : "");
	out("</dd></dl></section>");

	buf_init(&reply, CONTROL_OUTPUT_MAX + 1);
	qlist_msg_init(&m);
	if (pid > 0)
		rc = control_request(R.queue_dir, "queue list", &reply);
	for (size_t off = 0; rc == 0 && off < buf_len(&reply);) {
		const char *l = buf_str(&reply) + off;
		const char *nl = memchr(l, '\n', buf_len(&reply) - off);
		size_t n = nl ? (size_t)(nl - l) : buf_len(&reply) - off;

		if (qlist_parse(l, n, &m) == 0) {
			if (strcmp(buf_str(&m.queue), "active") == 0)
				active++;
			else if (strcmp(buf_str(&m.queue), "deferred") == 0)
				deferred++;
			else if (strcmp(buf_str(&m.queue), "hold") == 0)
				hold++;
			else
				other++;
		}
		off += n + 1;
	}
	out("<section><h2>Queue</h2>");
	if (rc == 0)
		out("<div class=\"counts\" "
		    "id=\"queue-sizes\"><div><b>%lu</b>active"
		    "</div><div><b>%lu</b>deferred</div><div><b>%lu</b>hold"
		    "</div><div><b>%lu</b>incoming</div></div>",
		    active, deferred, hold, other);
	else
		out("<p>Not available (the gateway does not answer).</p>");
	out("</section>");
	rc = pid > 0 ? counts_from_log(&st) : -1;
	out("<section><h2>Today</h2><div class=\"counts\" id=\"today\">"
	    "<div><b>%lu</b>accepted</div><div><b>%lu</b>rejected</div>"
	    "<div><b>%lu</b>delivered</div><div><b>%lu</b>deferred</div>"
	    "<div><b>%lu</b>bounced</div></div>",
	    st.accepted, st.rejected, st.delivered, st.deferred, st.bounced);
	if (rc < 0)
		out("<p class=\"help\">Counted from maillog_file, which is not "
		    "set or not readable.</p>");
	out("</section>");
	page_end();
	send_response(200, "OK");
	qlist_msg_free(&m);
	buf_free(&reply);
}

/* ------------------------------------------------------------ queue */

static int qid_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 40)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return 0;
	return 1;
}

static void action_button(const char *qid, const char *action,
			  const char *label, const char *cls)
{
	form_open("/queue", R.csrf);
	out("<input type=\"hidden\" name=\"id\" value=\"");
	esc(qid);
	out("\"><button type=\"submit\" name=\"action\" value=\"%s\" "
	    "class=\"%s\">%s</button></form>",
	    action, cls, label);
}

static void page_queue_view(void)
{
	struct buf id, reply, req;
	int rc;

	buf_init(&id, FORM_VALUE_MAX + 1);
	buf_init(&reply, CONTROL_OUTPUT_MAX + 1);
	buf_init(&req, 128);
	if (!query("id", &id) || !qid_ok(buf_str(&id))) {
		fail(400, "Bad Request", "Not a queue ID.");
		goto out;
	}
	buf_printf(&req, "queue headers %s", buf_str(&id));
	rc = control_request(R.queue_dir, buf_str(&req), &reply);
	page_begin("Message");
	out("<section><h2>");
	esc(buf_str(&id));
	out("</h2>");
	if (rc != 0)
		out("<p class=\"err\">Cannot show it (gone from the "
		    "queue?)</p>");
	out("<pre id=\"headers\">");
	html_escape(&R.page, buf_str(&reply), buf_len(&reply));
	out("</pre><p><a href=\"");
	esc(R.script);
	out("/queue\">Back to the queue</a></p></section>");
	page_end();
	send_response(200, "OK");
out:
	buf_free(&id);
	buf_free(&reply);
	buf_free(&req);
}

static void page_queue(void)
{
	struct buf reply, note;
	struct qlist_msg m;
	unsigned count = 0;
	int rc;

	buf_init(&note, 4096);
	if (strcmp(R.method, "POST") == 0) {
		struct buf action, id, req, res;

		buf_init(&action, 64);
		buf_init(&id, FORM_VALUE_MAX + 1);
		buf_init(&req, 128);
		buf_init(&res, CONTROL_OUTPUT_MAX + 1);
		field("action", &action);
		field("id", &id);
		if (strcmp(buf_str(&action), "flush") == 0) {
			buf_puts(&req, "queue flush");
		} else if ((strcmp(buf_str(&action), "hold") == 0 ||
			    strcmp(buf_str(&action), "release") == 0 ||
			    strcmp(buf_str(&action), "delete") == 0) &&
			   qid_ok(buf_str(&id))) {
			buf_printf(&req, "queue %s %s", buf_str(&action),
				   buf_str(&id));
		}
		if (buf_len(&req) == 0) {
			buf_puts(&note, "Unknown action.");
		} else {
			rc = control_request(R.queue_dir, buf_str(&req), &res);
			msg_info("queue action by %s: %s: %s", R.addr,
				 buf_str(&req), rc == 0 ? "done" : "failed");
			buf_printf(&note, "%s: %s %.*s", buf_str(&req) + 6,
				   rc == 0 ? "done." : "failed:",
				   rc == 0 ? 0 : 300, buf_str(&res));
		}
		buf_free(&action);
		buf_free(&id);
		buf_free(&req);
		buf_free(&res);
	}
	buf_init(&reply, CONTROL_OUTPUT_MAX + 1);
	qlist_msg_init(&m);
	rc = control_request(R.queue_dir, "queue list", &reply);
	page_begin("Queue");
	if (buf_len(&note)) {
		out("<section><p class=\"ok\" id=\"note\">");
		esc(buf_str(&note));
		out("</p></section>");
	}
	out("<section>");
	form_open("/queue", R.csrf);
	out("<button type=\"submit\" name=\"action\" value=\"flush\">Flush "
	    "(retry deferred mail now)</button></form>");
	if (rc != 0) {
		out("<p class=\"err\">The gateway does not answer.</p>");
	} else {
		out("<table id=\"queue\"><thead><tr><th>ID</th><th>Queue</th>"
		    "<th>Arrived (UTC)</th><th>Size</th><th>From</th><th>To"
		    "</th><th>Reason</th><th></th></tr></thead><tbody>");
		for (size_t off = 0; off < buf_len(&reply);) {
			const char *l = buf_str(&reply) + off;
			const char *nl = memchr(l, '\n', buf_len(&reply) - off);
			size_t n =
				nl ? (size_t)(nl - l) : buf_len(&reply) - off;
			char when[32] = "";
			time_t t;

			off += n + 1;
			if (qlist_parse(l, n, &m) < 0)
				continue;
			count++;
			t = (time_t)m.arrival;
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
				 gmtime(&t));
			out("<tr><td data-label=\"ID\"><a href=\"");
			esc(R.script);
			out("/queue/view?id=");
			url_escape(&R.page, buf_str(&m.id), buf_len(&m.id));
			out("\">");
			esc(buf_str(&m.id));
			out("</a></td><td data-label=\"Queue\">");
			esc(buf_str(&m.queue));
			out("</td><td data-label=\"Arrived (UTC)\">%s</td><td "
			    "data-label=\"Size\">%lld</td><td "
			    "data-label=\"From\">",
			    when, m.size);
			esc(buf_str(&m.sender));
			out("</td><td data-label=\"To\">");
			esc(buf_str(&m.rcpts));
			out("</td><td data-label=\"Reason\">");
			esc(buf_str(&m.reason));
			out("</td><td>");
			if (strcmp(buf_str(&m.queue), "hold") == 0)
				action_button(buf_str(&m.id), "release",
					      "Release", "plain");
			else
				action_button(buf_str(&m.id), "hold", "Hold",
					      "plain");
			action_button(buf_str(&m.id), "delete", "Delete",
				      "danger");
			out("</td></tr>");
		}
		out("</tbody></table>");
		if (count == 0)
			out("<p>The queue is empty.</p>");
	}
	out("</section>");
	page_end();
	send_response(200, "OK");
	qlist_msg_free(&m);
	buf_free(&reply);
	buf_free(&note);
}

/* ------------------------------------------------------------ users */

/* A user name the control socket takes (master checks it again). */
static int user_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= CONTROL_USER_MAX &&
	       strspn(s, CONTROL_USER_CHARS) == n;
}

/* SMTP AUTH users of the submission ports: list, add, delete, through
 * master's control socket (mailgw passwd). */
static void page_users(void)
{
	struct buf reply, note, name, pw, again, action, req;
	const char *name_err = NULL, *pw_err = NULL;
	int rc, ok = 0;

	buf_init(&note, 4096);
	buf_init(&name, FORM_VALUE_MAX + 1);
	buf_init(&pw, FORM_VALUE_MAX + 1);
	buf_init(&again, FORM_VALUE_MAX + 1);
	buf_init(&action, 64);
	buf_init(&req, MASTER_REQUEST_MAX + 1);
	buf_init(&reply, CONTROL_OUTPUT_MAX + 1);
	if (strcmp(R.method, "POST") == 0) {
		field("action", &action);
		field("name", &name);
		field("password", &pw);
		field("confirm", &again);
		if (!user_name_ok(buf_str(&name)))
			name_err = "A user name is 1 to 64 letters, digits and "
				   "the characters . _ @ + -.";
		if (strcmp(buf_str(&action), "add") == 0 && !name_err) {
			pw_err = new_password_error(&pw, &again);
			for (size_t i = 0; !pw_err && i < buf_len(&pw); i++)
				if ((unsigned char)buf_str(&pw)[i] < ' ' ||
				    (unsigned char)buf_str(&pw)[i] > 0x7e)
					pw_err = "Printable ASCII characters "
						 "only.";
			if (!pw_err)
				buf_printf(&req, "users add %s %s",
					   buf_str(&name), buf_str(&pw));
		} else if (strcmp(buf_str(&action), "delete") == 0 &&
			   !name_err) {
			buf_printf(&req, "users del %s", buf_str(&name));
		} else if (!name_err) {
			buf_puts(&note, "Unknown action.");
		}
		if (buf_len(&req) && !buf_error(&req)) {
			rc = control_request(R.queue_dir, buf_str(&req),
					     &reply);
			ok = rc == 0;
			msg_info("user %s %s by %s: %s", buf_str(&name),
				 buf_str(&action)[0] == 'a' ? "added"
							    : "deleted",
				 R.addr, ok ? "done" : "failed");
			buf_printf(&note, "%s %s: %s", buf_str(&action),
				   buf_str(&name), ok ? "done." : "failed: ");
			if (!ok)
				buf_append(&note, buf_str(&reply),
					   buf_len(&reply) < 300
						   ? buf_len(&reply)
						   : 300);
			buf_reset(&reply);
		}
	}
	rc = control_request(R.queue_dir, "users list", &reply);
	page_begin("Mail users");
	if (buf_len(&note)) {
		out("<section><p class=\"%s\" id=\"note\">", ok ? "ok" : "err");
		esc(buf_str(&note));
		out("</p></section>");
	}
	out("<section><p>Users who may send mail through this gateway with "
	    "SMTP AUTH on the submission ports (587 with STARTTLS, 465 with "
	    "TLS).</p>");
	if (rc != 0) {
		out("<p class=\"err\">The gateway does not answer.</p>");
	} else {
		unsigned count = 0;

		out("<table id=\"users\"><tbody>");
		for (size_t off = 0; off < buf_len(&reply);) {
			const char *l = buf_str(&reply) + off;
			const char *nl = memchr(l, '\n', buf_len(&reply) - off);
			size_t n =
				nl ? (size_t)(nl - l) : buf_len(&reply) - off;
			char u[CONTROL_USER_MAX * 4 + 1];

			off += n + 1;
			if (n == 0 || n >= sizeof(u))
				continue;
			memcpy(u, l, n);
			u[n] = 0;
			count++;
			out("<tr><td>");
			esc(u);
			out("</td><td>");
			form_open("/users", R.csrf);
			out("<input type=\"hidden\" name=\"name\" value=\"");
			esc(u);
			out("\"><button type=\"submit\" name=\"action\" "
			    "value=\"delete\" class=\"danger\">Delete</button>"
			    "</form></td></tr>");
		}
		out("</tbody></table>");
		if (count == 0)
			out("<p>No users yet.</p>");
	}
	out("</section><section><h2>Add a user</h2>");
	form_open("/users", R.csrf);
	out("<label for=\"name\">User name</label><input id=\"name\" "
	    "name=\"name\" autocomplete=\"off\" required%s value=\"",
	    name_err ? " aria-invalid=\"true\"" : "");
	if (name_err || pw_err)
		esc(buf_str(&name));
	out("\">");
	if (name_err) {
		out("<p class=\"err\" id=\"name-error\">");
		esc(name_err);
		out("</p>");
	}
	pw_field("password", "password", "Password", NULL, "new-password",
		 pw_err);
	pw_field("confirm", "password", "Password again", NULL,
		 "new-password", NULL);
	out("<button type=\"submit\" name=\"action\" value=\"add\">Add "
	    "user</button></form></section>");
	page_end();
	send_response(name_err || pw_err ? 400 : 200,
		      name_err || pw_err ? "Bad Request" : "OK");
	buf_free(&note);
	buf_free(&name);
	buf_free(&pw);
	buf_free(&again);
	buf_free(&action);
	buf_free(&req);
	buf_free(&reply);
}

/* ------------------------------------------------------------ main */

/* The client's address: what `mailgw webui-tls` put in its request field
 * (webui/httphead.h) when the field carries the proxy key, else httpd's
 * REMOTE_ADDR (then the proxy itself, or a local client). */
static const char *client_addr(void)
{
	static char a[64];
	const char *f = getenv("HTTP_X_MAILGW_CLIENT");
	char key[WEBUI_TOKEN_HEX + 1];
	const char *ip;
	size_t n;

	if (f == NULL || strlen(f) <= WEBUI_TOKEN_HEX + 1 ||
	    f[WEBUI_TOKEN_HEX] != ' ' ||
	    webui_secret_read(R.webui_dir, WEBUI_PROXY_KEY_FILE, key) < 0 ||
	    !str_secure_eq(f, WEBUI_TOKEN_HEX, key, WEBUI_TOKEN_HEX))
		return R.addr;
	ip = f + WEBUI_TOKEN_HEX + 1;
	n = strspn(ip, "0123456789abcdefABCDEF.:");
	if (n == 0 || n >= sizeof(a) || ip[n] != 0)
		return R.addr;
	memcpy(a, ip, n + 1);
	return a;
}

static int authenticate(void)
{
	struct buf c;
	int ok = 0;

	buf_init(&c, COOKIE_VALUE_MAX + 1);
	if (cookie_get(R.cookie, strlen(R.cookie), COOKIE_SESSION, &c) &&
	    webauth_session_find(R.webui_dir, buf_str(&c), buf_len(&c),
				 R.csrf)) {
		snprintf(R.sid, sizeof(R.sid), "%s", buf_str(&c));
		ok = 1;
	}
	buf_free(&c);
	return ok;
}

int main(void)
{
	static const struct {
		const char *path;
		void (*fn)(void);
		int post_only;
	} pages[] = {
		{"/dashboard", page_dashboard, 0},
		{"/settings", page_settings, 0},
		{"/apply", page_apply, 0},
		{"/queue", page_queue, 0},
		{"/queue/view", page_queue_view, 0},
		{"/password", page_password, 0},
		{"/users", page_users, 0},
		{"/logout", page_logout, 1},
	};
	const char *dir = getenv("MAIL_CONFIG");

	umask(077);
	log_open("webui", 0);
	buf_init(&R.body, FORM_BODY_MAX + 1);
	buf_init(&R.headers, 64 * 1024);
	buf_init(&R.page, PAGE_MAX);
	R.method = env("REQUEST_METHOD");
	R.path = env("PATH_INFO");
	R.query = env("QUERY_STRING");
	R.script = env("SCRIPT_NAME");
	R.addr = *env("REMOTE_ADDR") ? env("REMOTE_ADDR") : "unknown";
	R.cookie = env("HTTP_COOKIE");
	/* Cookies are always Secure: browsers keep them over HTTPS and over
	 * plain HTTP to loopback (a secure context), which is all the UI is
	 * served on; plain HTTP from another host gets no session. */
	R.secure = 1;
	if (conf_load(dir && *dir ? dir : NULL) < 0) {
		fail(500, "Error", "The gateway configuration has errors.");
		return 0;
	}
	R.conf_dir = conf_dir();
	R.webui_dir = conf_get("webui_directory");
	R.queue_dir = conf_get("queue_directory");
	if (R.webui_dir == NULL || *R.webui_dir != '/' || R.queue_dir == NULL) {
		fail(500, "Error", "webui_directory is not set.");
		return 0;
	}
	R.addr = client_addr();
	{
		char logpath[4096];

		snprintf(logpath, sizeof(logpath), "%s/webui.log", R.webui_dir);
		log_set_file(logpath);
	}
	if (strcmp(R.method, "POST") == 0 && read_body() < 0) {
		fail(413, "Payload Too Large", "The request is too large.");
		return 0;
	}
	if (strcmp(R.path, "/setup") == 0) {
		page_setup();
		return 0;
	}
	if (strcmp(R.path, "/login") == 0) {
		page_login();
		return 0;
	}
	if (!webauth_admin_exists(R.webui_dir)) {
		redirect("/setup");
		return 0;
	}
	R.authed = authenticate();
	if (!R.authed) {
		if (strcmp(R.method, "POST") == 0)
			fail(403, "Forbidden", "Log in first.");
		else
			redirect("/login");
		return 0;
	}
	if (strcmp(R.method, "POST") == 0 && !token_ok(R.csrf)) {
		msg_warn("POST %s from %s without a valid form token", R.path,
			 R.addr);
		fail(403, "Forbidden", "The form token is missing or wrong.");
		return 0;
	}
	if (strcmp(R.method, "GET") != 0 && strcmp(R.method, "POST") != 0) {
		fail(405, "Method Not Allowed", "GET or POST only.");
		return 0;
	}
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (strcmp(R.path, pages[i].path) == 0) {
			if (pages[i].post_only && strcmp(R.method, "POST") != 0)
				fail(405, "Method Not Allowed", "POST only.");
			else
				pages[i].fn();
			return 0;
		}
	redirect("/dashboard");
	return 0;
}
