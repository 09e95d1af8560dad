/* test_webui - the web UI's parsers (form, cookie, postqueue -j, maillog
 * counters), HTML escaping, the line diff and the password/session store
 * (webui-cgi/). */
#include "testutil.h"

#include <sys/stat.h>
#include <time.h>
#include <utime.h>
#include <ctype.h>
#include <dirent.h>

#include "diff.h"
#include "form.h"
#include "qlist.h"
#include "webauth.h"
#include "webui/httphead.h"
#include "webui/setuptoken.h"

static void test_form(void **state)
{
	static const char body[] = "a=1&b=x+y%20z&&c&d=%zz%4&e=%3Cb%3E&a=2";
	struct buf n, v;
	size_t off = 0;
	unsigned count = 0;

	(void)state;
	buf_init(&n, FORM_VALUE_MAX + 1);
	buf_init(&v, FORM_VALUE_MAX + 1);
	assert_int_equal(form_next(body, strlen(body), &off, &count, &n, &v),
			 1);
	assert_string_equal(buf_str(&n), "a");
	assert_string_equal(buf_str(&v), "1");
	assert_int_equal(form_next(body, strlen(body), &off, &count, &n, &v),
			 1);
	assert_string_equal(buf_str(&v), "x y z");
	assert_int_equal(form_next(body, strlen(body), &off, &count, &n, &v),
			 1);
	assert_string_equal(buf_str(&n), "c");
	assert_string_equal(buf_str(&v), "");
	assert_int_equal(form_next(body, strlen(body), &off, &count, &n, &v),
			 1);
	assert_string_equal(buf_str(&v), "%zz%4"); /* bad escapes kept */
	assert_int_equal(form_get(body, strlen(body), "e", &v), 1);
	assert_string_equal(buf_str(&v), "<b>");
	assert_int_equal(form_get(body, strlen(body), "a", &v), 1);
	assert_string_equal(buf_str(&v), "1"); /* the first one */
	assert_int_equal(form_get(body, strlen(body), "zz", &v), 0);
	assert_int_equal(form_get("x=%00y", 6, "x", &v), 1);
	assert_int_equal(buf_len(&v), 2); /* NUL decoded, length kept */
	/* Limits: too many pairs, a value too long. */
	{
		struct buf big;

		buf_init(&big, 1 << 20);
		for (int i = 0; i < FORM_PAIRS_MAX + 1; i++)
			buf_puts(&big, "k=v&");
		assert_int_equal(
			form_get(buf_str(&big), buf_len(&big), "q", &v), -1);
		buf_reset(&big);
		buf_puts(&big, "k=");
		for (int i = 0; i < FORM_VALUE_MAX + 1; i++)
			buf_putc(&big, 'a');
		assert_int_equal(
			form_get(buf_str(&big), buf_len(&big), "k", &v), -1);
		buf_free(&big);
	}
	buf_free(&n);
	buf_free(&v);
}

static void test_cookie(void **state)
{
	static const char hdr[] = "a=1; mgw_session=abc ;  mgw_pre=; x";
	struct buf v;

	(void)state;
	buf_init(&v, COOKIE_VALUE_MAX + 1);
	assert_int_equal(cookie_get(hdr, strlen(hdr), "mgw_session", &v), 1);
	assert_string_equal(buf_str(&v), "abc");
	assert_int_equal(cookie_get(hdr, strlen(hdr), "mgw_pre", &v), 1);
	assert_string_equal(buf_str(&v), "");
	assert_int_equal(cookie_get(hdr, strlen(hdr), "mgw", &v), 0);
	assert_int_equal(cookie_get(hdr, strlen(hdr), "x", &v), 0);
	assert_int_equal(cookie_get("", 0, "a", &v), 0);
	buf_free(&v);
}

static void test_escape(void **state)
{
	struct buf o;

	(void)state;
	buf_init(&o, 4096);
	html_escape(&o, "<script>alert('x')</script>&\"", 29);
	assert_string_equal(buf_str(&o),
			    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
			    "&amp;&quot;");
	buf_reset(&o);
	html_escape(&o, "caf\xc3\xa9 \x01\xff\xed\xa0\x80", 11);
	assert_string_equal(buf_str(&o),
			    "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd"
			    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	buf_reset(&o);
	url_escape(&o, "a b/&?=", 7);
	assert_string_equal(buf_str(&o), "a%20b%2F%26%3F%3D");
	buf_free(&o);
}

static void test_qlist(void **state)
{
	static const char line[] =
		"{\"queue_name\": \"deferred\", \"queue_id\": "
		"\"4jcbh35rVx1TxWX\", "
		"\"arrival_time\": 1764395075, \"message_size\": 423, "
		"\"forced_expire\": false, \"sender\": \"a\\\"b@x.test\", "
		"\"recipients\": [{\"address\": \"u@example.org\", "
		"\"delay_reason\": \"connect to 127.0.0.1: refused\\u00e9\"}, "
		"{\"address\": \"v@example.org\"}]}";
	struct qlist_msg m;

	(void)state;
	qlist_msg_init(&m);
	assert_int_equal(qlist_parse(line, strlen(line), &m), 0);
	assert_string_equal(buf_str(&m.queue), "deferred");
	assert_string_equal(buf_str(&m.id), "4jcbh35rVx1TxWX");
	assert_int_equal(m.arrival, 1764395075LL);
	assert_int_equal(m.size, 423);
	assert_string_equal(buf_str(&m.sender), "a\"b@x.test");
	assert_string_equal(buf_str(&m.rcpts), "u@example.org, v@example.org");
	assert_string_equal(buf_str(&m.reason),
			    "connect to 127.0.0.1: refused\xc3\xa9");
	assert_int_equal(m.nrcpt, 2);
	assert_int_equal(qlist_parse("{\"a\": [[[[[[[[[[1]]]]]]]]]]}", 27, &m),
			 -1);
	assert_int_equal(qlist_parse("{\"a\": \"\\u0000\"}", 15, &m), -1);
	assert_int_equal(qlist_parse("{\"a\": 1} x", 10, &m), -1);
	assert_int_equal(qlist_parse("{\"a\": 1", 7, &m), -1);
	assert_int_equal(qlist_parse("{}", 2, &m), 0);
	qlist_msg_free(&m);
}

static void test_logstat(void **state)
{
	static const char *const lines[] = {
		"Nov 29 05:44:35 vm mailgw/cleanup[1]: Q1: message-id=<a@b>",
		"Nov 29 05:44:35 vm mailgw/pickup[1]: Q2: uid=0 from=<a@b>",
		"Nov 29 05:44:35 vm mailgw/smtpd[1]: NOQUEUE: reject: RCPT "
		"from x[1.2.3.4]: 554 5.7.1 <v@e.test>: Relay access denied",
		"Nov 29 05:44:35 vm mailgw/relay[1]: Q1: to=<u@x>, relay=h, "
		"delay=0.01, dsn=2.0.0, status=sent (250 Ok)",
		"Nov 29 05:44:35 vm mailgw/relay[1]: Q1: to=<u@x>, dsn=4.4.1, "
		"status=deferred (connect refused)",
		"Nov 29 05:44:35 vm mailgw/relay[1]: Q1: to=<u@x>, dsn=5.1.1, "
		"status=bounced (no)",
		"Nov 28 05:44:35 vm mailgw/relay[1]: Q1: to=<u@x>, dsn=2.0.0, "
		"status=sent (yesterday)",
	};
	struct logstat st = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		logstat_line(lines[i], strlen(lines[i]), "Nov 29", &st);
	assert_int_equal(st.accepted, 2);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.deferred, 1);
	assert_int_equal(st.bounced, 1);
}

static void collect(char op, const char *line, size_t len, void *arg)
{
	buf_printf(arg, "%c%.*s|", op, (int)len, line);
}

static void test_diff(void **state)
{
	struct buf o;

	(void)state;
	buf_init(&o, 4096);
	assert_int_equal(
		diff_lines("a\nb\nc\n", 6, "a\nB\nc\nd\n", 8, collect, &o), 3);
	assert_string_equal(buf_str(&o), " a|-b|+B| c|+d|");
	buf_reset(&o);
	assert_int_equal(diff_lines("x\ny", 3, "x\ny", 3, collect, &o), 0);
	assert_string_equal(buf_str(&o), " x| y|");
	buf_reset(&o);
	assert_int_equal(diff_lines("", 0, "n\n", 2, collect, &o), 1);
	assert_string_equal(buf_str(&o), "+n|");
	buf_free(&o);
}

static void test_webauth(void **state)
{
	char dir[256], id[SESSION_ID_HEX + 1], csrf[SESSION_ID_HEX + 1];
	char csrf2[SESSION_ID_HEX + 1], path[1024];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/webui", test_tmpdir());
	mkdir(dir, 0700);
	assert_int_equal(webauth_admin_exists(dir), 0);
	assert_int_equal(webauth_admin_set(dir, "correct horse", 13), 0);
	assert_int_equal(webauth_admin_set(dir, "other one!", 10), -1);
	assert_int_equal(webauth_admin_exists(dir), 1);
	assert_int_equal(webauth_admin_check(dir, "correct horse", 13), 1);
	assert_int_equal(webauth_admin_check(dir, "correct hors", 12), 0);

	assert_int_equal(webauth_session_new(dir, id, csrf), 0);
	assert_int_equal(strlen(id), SESSION_ID_HEX);
	assert_string_not_equal(id, csrf);
	assert_int_equal(webauth_session_find(dir, id, strlen(id), csrf2), 1);
	assert_string_equal(csrf, csrf2);
	/* Wrong, malformed ids; the id itself is no file name. */
	id[0] = id[0] == 'a' ? 'b' : 'a';
	assert_int_equal(webauth_session_find(dir, id, strlen(id), csrf2), 0);
	assert_int_equal(webauth_session_find(dir, "../admin", 8, csrf2), 0);
	snprintf(path, sizeof(path), "%s/sessions/%s", dir, id);
	assert_int_not_equal(access(path, F_OK), 0);
	id[0] = id[0] == 'a' ? 'b' : 'a';
	/* Idle expiry: a last use long ago ends the session. */
	{
		char spath[300];
		struct utimbuf old = {time(NULL) - SESSION_IDLE_S - 10,
				      time(NULL) - SESSION_IDLE_S - 10};
		DIR *d;
		struct dirent *de;

		snprintf(spath, sizeof(spath), "%s/sessions", dir);
		d = opendir(spath);
		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", spath,
					 de->d_name);
				assert_int_equal(utime(path, &old), 0);
			}
		closedir(d);
	}
	/* A new session removes the idle ones first (abandoned sessions are
	 * never presented again). */
	{
		char id2[SESSION_ID_HEX + 1], spath[300];
		int files = 0;
		DIR *d;
		struct dirent *de;

		assert_int_equal(webauth_session_new(dir, id2, csrf), 0);
		snprintf(spath, sizeof(spath), "%s/sessions", dir);
		d = opendir(spath);
		while ((de = readdir(d)) != NULL)
			files += de->d_name[0] != '.';
		closedir(d);
		assert_int_equal(files, 1);
		webauth_session_end(dir, id2, strlen(id2));
	}
	assert_int_equal(webauth_session_find(dir, id, strlen(id), csrf2), 0);
	assert_int_equal(webauth_session_new(dir, id, csrf), 0);
	webauth_session_end(dir, id, strlen(id));
	assert_int_equal(webauth_session_find(dir, id, strlen(id), csrf2), 0);

	/* Login rate limit per address. */
	for (int i = 0; i < LOGIN_FAILS_MAX - 1; i++)
		webauth_login_failed(dir, "192.0.2.1");
	assert_int_equal(webauth_login_blocked(dir, "192.0.2.1"), 0);
	webauth_login_failed(dir, "192.0.2.1");
	assert_int_equal(webauth_login_blocked(dir, "192.0.2.1"), 1);
	assert_int_equal(webauth_login_blocked(dir, "192.0.2.2"), 0);
}

/* The one-time setup token (webui/setuptoken.h) and the password change. */
static void test_setup_token(void **state)
{
	char dir[256], tok[WEBUI_TOKEN_HEX + 1], again[WEBUI_TOKEN_HEX + 1];
	char path[512], upper[64], id[SESSION_ID_HEX + 1];
	char csrf[SESSION_ID_HEX + 1], id2[SESSION_ID_HEX + 1];
	struct stat st;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/webui-token", test_tmpdir());
	mkdir(dir, 0700);
	assert_int_equal(webui_token_check(dir, "x", 1), -1); /* none yet */
	assert_int_equal(webui_token_make(dir, NULL, tok), 1);
	assert_int_equal(strlen(tok), WEBUI_TOKEN_HEX); /* 128 bits */
	assert_true(WEBUI_TOKEN_BITS >= 128);
	snprintf(path, sizeof(path), "%s/%s", dir, WEBUI_TOKEN_FILE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Kept over restarts until spent. */
	assert_int_equal(webui_token_make(dir, NULL, again), 1);
	assert_string_equal(tok, again);
	assert_int_equal(webui_token_check(dir, tok, strlen(tok)), 1);
	/* Typed back: any case, blanks and dashes ignored. */
	for (size_t i = 0, j = 0; i <= WEBUI_TOKEN_HEX; i++) {
		if (i && i % 8 == 0 && i < WEBUI_TOKEN_HEX)
			upper[j++] = '-';
		upper[j++] = (char)toupper((unsigned char)tok[i]);
	}
	assert_int_equal(webui_token_check(dir, upper, strlen(upper)), 1);
	assert_int_equal(webui_token_check(dir, tok, strlen(tok) - 1), 0);
	assert_int_equal(webui_token_check(dir, "", 0), 0);
	{
		char longer[WEBUI_TOKEN_HEX + 2];

		snprintf(longer, sizeof(longer), "%s0", tok);
		assert_int_equal(
			webui_token_check(dir, longer, strlen(longer)), 0);
		memcpy(longer, tok, WEBUI_TOKEN_HEX + 1);
		longer[5] = longer[5] == '0' ? '1' : '0';
		assert_int_equal(webui_token_check(dir, longer, strlen(longer)),
				 0);
	}
	/* Once the password is set there is no token, and none is made. */
	assert_int_equal(webauth_admin_set(dir, "first password", 14), 0);
	webui_token_remove(dir);
	assert_int_equal(webui_token_check(dir, tok, strlen(tok)), -1);
	assert_int_equal(webui_token_make(dir, NULL, tok), 0);
	assert_int_not_equal(access(path, F_OK), 0);

	/* Changing the password ends every other session. */
	assert_int_equal(webauth_session_new(dir, id, csrf), 0);
	assert_int_equal(webauth_session_new(dir, id2, csrf), 0);
	assert_int_equal(webauth_admin_change(dir, "second password", 15, id),
			 0);
	assert_int_equal(webauth_admin_check(dir, "first password", 14), 0);
	assert_int_equal(webauth_admin_check(dir, "second password", 15), 1);
	assert_int_equal(webauth_session_find(dir, id, strlen(id), csrf), 1);
	assert_int_equal(webauth_session_find(dir, id2, strlen(id2), csrf), 0);
}

/* The proxy's request head rewrite (webui/httphead.h). */
static void test_httphead(void **state)
{
	static const char add[] = "X-Mailgw-Client: KEY 192.0.2.7\r\n";
	static const char req[] =
		"POST /cgi-bin/webui.cgi/login HTTP/1.1\r\n"
		"Host: gw\r\n"
		"X-Mailgw-Client: forged 10.0.0.1\r\n"
		"x_mailgw_client: forged too\r\n"
		"X-MAILGW-CLIENT \t: spaced\r\n"
		"  folded part of the forged one\r\n"
		"X-Mailgw-Clients: another field\r\n"
		"Content-Length: 4\r\n"
		"\r\n"
		"a=bc";
	struct buf o;
	int n;

	(void)state;
	buf_init(&o, HTTPHEAD_MAX * 2);
	/* Not complete yet: nothing out, wait for more. */
	assert_int_equal(httphead_rewrite(req, 40, add, &o), 0);
	assert_int_equal(buf_len(&o), 0);
	n = httphead_rewrite(req, strlen(req), add, &o);
	assert_int_equal(n, (int)(strlen(req) - 4)); /* the body stays */
	assert_string_equal(buf_str(&o),
			    "POST /cgi-bin/webui.cgi/login HTTP/1.1\r\n"
			    "Host: gw\r\n"
			    "X-Mailgw-Clients: another field\r\n"
			    "Content-Length: 4\r\n"
			    "X-Mailgw-Client: KEY 192.0.2.7\r\n"
			    "\r\n");
	/* Bare LF lines; no field to add. */
	buf_reset(&o);
	n = httphead_rewrite("GET / HTTP/1.0\nX_Mailgw_Client: x\nA: b\n\n",
			     40, NULL, &o);
	assert_int_equal(n, 40);
	assert_string_equal(buf_str(&o), "GET / HTTP/1.0\nA: b\n\n");
	/* Too long without an end, or a NUL in the head: refused. */
	{
		char big[HTTPHEAD_MAX + 10];

		memset(big, 'a', sizeof(big));
		buf_reset(&o);
		assert_int_equal(httphead_rewrite(big, sizeof(big), add, &o),
				 -1);
		assert_int_equal(
			httphead_rewrite("GET /\0 HTTP/1.0\r\n\r\n", 21, add,
					 &o),
			-1);
	}
	assert_int_equal(httphead_is_client_field("x-MAILGW_client", 15), 1);
	assert_int_equal(httphead_is_client_field("X-Mailgw-Clien", 14), 0);
	buf_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form),    cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_escape),  cmocka_unit_test(test_qlist),
		cmocka_unit_test(test_logstat), cmocka_unit_test(test_diff),
		cmocka_unit_test(test_webauth),
		cmocka_unit_test(test_setup_token),
		cmocka_unit_test(test_httphead),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
