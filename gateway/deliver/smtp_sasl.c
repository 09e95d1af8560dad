/* smtp_sasl - SMTP AUTH pieces of the SMTP client (see smtp_sasl.h).
 * RFC 4954, RFC 4616; Postfix's smtp_sasl_glue.c lookup order. */
#include "deliver/smtp_sasl.h"

#include <stdio.h>
#include <string.h>

#include "conf/params.h"
#include "core/base64.h"
#include "core/log.h"
#include "core/str.h"
#include "dict/dict.h"

/* One key in every table of maps: 1 found (value split into cred), 0 not,
 * -1 an error. */
static int find(const char *maps, const char *key, struct smtp_sasl_cred *cred)
{
	const char *cur = maps, *tok;
	size_t len;

	while (conf_list_next(&cur, &tok, &len) > 0) {
		char spec[1024];
		struct dict *d;
		struct buf err;
		const char *v;
		int r;

		if (len >= sizeof(spec))
			continue;
		memcpy(spec, tok, len);
		spec[len] = 0;
		buf_init(&err, 1024);
		if (dict_open(spec, DICT_FLAG_FOLD, &d, &err) != DICT_OK) {
			msg_warn("smtp_sasl_password_maps %s: %s", spec,
				 buf_str(&err));
			buf_free(&err);
			return -1;
		}
		buf_free(&err);
		r = dict_get(d, key, &v);
		if (r == DICT_OK) {
			const char *colon = strchr(v, ':');
			size_t ul = colon ? (size_t)(colon - v) : strlen(v);
			const char *pw = colon ? colon + 1 : "";
			if (ul > SMTP_SASL_FIELD_MAX ||
			    strlen(pw) > SMTP_SASL_FIELD_MAX) {
				msg_warn("smtp_sasl_password_maps %s: entry "
					 "for %s too long",
					 spec, key);
				dict_close(d, NULL);
				return -1;
			}
			memcpy(cred->user, v, ul);
			cred->user[ul] = 0;
			snprintf(cred->pass, sizeof(cred->pass), "%s", pw);
			dict_close(d, NULL);
			return 1;
		}
		if (r < 0)
			msg_warn("smtp_sasl_password_maps %s: lookup of %s: %s",
				 spec, key, dict_error(d));
		dict_close(d, NULL);
		if (r < 0)
			return -1;
	}
	return 0;
}

int smtp_sasl_lookup(const char *maps, const char *nexthop, int literal,
		     unsigned port, const char *server,
		     struct smtp_sasl_cred *cred)
{
	char keys[4][600];
	size_t n = 0;

	memset(cred, 0, sizeof(*cred));
	if (maps == NULL || *maps == 0)
		return 0;
	if (literal && port)
		snprintf(keys[n++], sizeof(keys[0]), "[%s]:%u", nexthop, port);
	else if (literal)
		snprintf(keys[n++], sizeof(keys[0]), "[%s]", nexthop);
	else if (port)
		snprintf(keys[n++], sizeof(keys[0]), "%s:%u", nexthop, port);
	if (literal && port)
		snprintf(keys[n++], sizeof(keys[0]), "[%s]", nexthop);
	if (server != NULL && *server)
		snprintf(keys[n++], sizeof(keys[0]), "%s", server);
	snprintf(keys[n++], sizeof(keys[0]), "%s", nexthop);
	for (size_t i = 0; i < n; i++) {
		int dup = 0;
		for (size_t k = 0; k < i; k++)
			dup |= strcmp(keys[k], keys[i]) == 0;
		if (dup)
			continue;
		int r = find(maps, keys[i], cred);
		if (r != 0)
			return r;
	}
	return 0;
}

static int listed(const char *list, const char *word)
{
	const char *cur = list, *tok;
	size_t len, wl = strlen(word);

	while (cur != NULL && conf_list_next(&cur, &tok, &len) > 0)
		if (len == wl && str_ncasecmp(tok, word, len) == 0)
			return 1;
	return 0;
}

unsigned smtp_sasl_choose(unsigned offered, const char *secopts,
			  const char *filter)
{
	static const struct {
		unsigned bit;
		const char *name;
	} order[] = {{SMTP_AUTH_PLAIN, "plain"}, {SMTP_AUTH_LOGIN, "login"}};

	if (listed(secopts, "noplaintext"))
		return 0; /* both mechanisms send the password as is */
	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
		if (!(offered & order[i].bit))
			continue;
		if (filter != NULL && *filter && !listed(filter, order[i].name))
			continue;
		return order[i].bit;
	}
	return 0;
}

int smtp_sasl_plain(struct buf *out, const struct smtp_sasl_cred *cred)
{
	char msg[2 * SMTP_SASL_FIELD_MAX + 2];
	size_t ul = strlen(cred->user), pl = strlen(cred->pass);

	msg[0] = 0;
	memcpy(msg + 1, cred->user, ul);
	msg[1 + ul] = 0;
	memcpy(msg + 2 + ul, cred->pass, pl);
	buf_puts(out, "AUTH PLAIN ");
	int r = base64_encode(out, msg, 2 + ul + pl);
	explicit_bzero(msg, sizeof(msg));
	return r;
}

int smtp_sasl_login_step(struct buf *out, const char *s)
{
	return base64_encode(out, s, strlen(s));
}

void smtp_sasl_wipe(struct smtp_sasl_cred *cred)
{
	explicit_bzero(cred, sizeof(*cred));
}
