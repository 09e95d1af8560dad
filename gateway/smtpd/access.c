/* access - access(5) table results (see access.h). Follows Postfix's
 * check_table_result() in smtpd_check.c and access(5). Trusts nothing in
 * the value: it comes from a table or from a policy server. */
#include "smtpd/access.h"

#include <string.h>

#include "core/str.h"

static const struct {
	const char *word;
	enum access_action action;
	int need_arg; /* the argument is required */
} words[] = {
	{"OK", ACCESS_OK, 0},
	{"REJECT", ACCESS_REJECT, 0},
	{"DEFER", ACCESS_DEFER, 0},
	{"DEFER_IF_REJECT", ACCESS_DEFER_IF_REJECT, 0},
	{"DEFER_IF_PERMIT", ACCESS_DEFER_IF_PERMIT, 0},
	{"DUNNO", ACCESS_DUNNO, 0},
	{"DISCARD", ACCESS_DISCARD, 0},
	{"HOLD", ACCESS_HOLD, 0},
	{"REDIRECT", ACCESS_REDIRECT, 1},
	{"FILTER", ACCESS_FILTER, 1},
	{"PREPEND", ACCESS_PREPEND, 1},
	{"WARN", ACCESS_WARN, 0},
	{"BCC", ACCESS_BCC, 1},
	{"INFO", ACCESS_INFO, 0},
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

const char *access_action_name(enum access_action a)
{
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (words[i].action == a)
			return words[i].word;
	return a == ACCESS_CODE ? "CODE"
	       : a == ACCESS_RESTRICTIONS ? "RESTRICTIONS"
					  : "BAD";
}

int access_dsn_split(const char *s, size_t n, size_t *dsn_len,
		     size_t *rest_off)
{
	size_t i = 0, parts = 0, digits;

	if (n < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	i = 2;
	for (parts = 1; parts < 3; parts++) {
		digits = 0;
		while (i < n && is_digit(s[i]) && digits < 3)
			i++, digits++;
		if (digits == 0)
			return 0;
		if (parts < 2) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && !is_space(s[i]))
		return 0;
	*dsn_len = i;
	while (i < n && is_space(s[i]))
		i++;
	*rest_off = i;
	return 1;
}

/* The text after the action word: leading space skipped, an optional
 * status split off. */
static void set_text(struct access_result *out, const char *p, size_t n)
{
	size_t dl, ro;

	while (n > 0 && is_space(*p))
		p++, n--;
	while (n > 0 && is_space(p[n - 1]))
		n--;
	if (access_dsn_split(p, n, &dl, &ro)) {
		out->dsn = p;
		out->dsn_len = dl;
		p += ro;
		n -= ro;
	}
	out->text = p;
	out->text_len = n;
}

int access_parse(const char *v, size_t n, struct access_result *out)
{
	memset(out, 0, sizeof(*out));
	out->text = "";
	while (n > 0 && is_space(*v))
		v++, n--;
	while (n > 0 && is_space(v[n - 1]))
		n--;
	if (n == 0)
		return -1;
	size_t wl = 0;
	while (wl < n && !is_space(v[wl]))
		wl++;
	/* all digits: OK (Postfix: "numerical value: OK") */
	size_t d = 0;
	while (d < n && is_digit(v[d]))
		d++;
	if (d == n) {
		out->action = ACCESS_OK;
		return 0;
	}
	if (d == 3 && wl == 3) {
		int code = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
		if (code < 400 || code > 599)
			return -1;
		out->action = ACCESS_CODE;
		out->code = code;
		/* a status of another class is split off too; the reply
		 * takes the code's class (as Postfix's smtpd_check_reject) */
		set_text(out, v + 3, n - 3);
		return 0;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++) {
		size_t k = strlen(words[i].word);
		if (k != wl || str_ncasecmp(v, words[i].word, k) != 0)
			continue;
		out->action = words[i].action;
		if (out->action == ACCESS_OK || out->action == ACCESS_DUNNO)
			return 0; /* as Postfix, what follows the word is
				     ignored */
		set_text(out, v + k, n - k);
		if (out->action == ACCESS_REDIRECT ||
		    out->action == ACCESS_FILTER ||
		    out->action == ACCESS_PREPEND ||
		    out->action == ACCESS_BCC) {
			/* no status: the argument is taken as it is */
			const char *p = v + k;
			size_t m = n - k;
			while (m > 0 && is_space(*p))
				p++, m--;
			out->dsn = NULL;
			out->dsn_len = 0;
			out->text = p;
			out->text_len = m;
		}
		if (words[i].need_arg && out->text_len == 0) {
			out->action = ACCESS_BAD;
			return -1;
		}
		if (out->action == ACCESS_FILTER &&
		    memchr(out->text, ':', out->text_len) == NULL) {
			out->action = ACCESS_BAD;
			return -1;
		}
		if (out->action == ACCESS_PREPEND) {
			/* a header: name ':' */
			size_t j = 0;
			while (j < out->text_len && out->text[j] != ':' &&
			       !is_space(out->text[j]))
				j++;
			if (j == 0 || j == out->text_len ||
			    out->text[j] != ':') {
				out->action = ACCESS_BAD;
				return -1;
			}
		}
		return 0;
	}
	out->action = ACCESS_RESTRICTIONS;
	out->text = v;
	out->text_len = n;
	return 0;
}
