/* settings - the appliance settings: one schema, one file, the templates.
 *
 * What an appliance owner sets (hostname, mail domains, smarthost, trusted
 * networks, size limit, admin address) is one row each of
 * settings_fields[] (settings.c): key, type, default, bounds or choices,
 * label, help text and the main.cf/master.cf values it feeds. The web UI's
 * form, its field errors, `mailgw config check|render|apply` and the docs
 * all come from that table; there is no second list.
 *
 * The settings file (DIR/settings.cf) uses main.cf syntax and is read with
 * the main.cf parser (maincf.h): "key = value" lines, comments, continuation
 * lines. No $name expansion: a value is taken as written.
 *
 * Templates (conf-templates/main.cf.in, master.cf.in, built into the
 * binary) are main.cf/master.cf text with:
 *   @key@          the value of a settings key or a derived value
 *                  (settings_value());
 *   @@             a literal '@';
 *   a line "@if key", "@else", "@endif" (first non-blank bytes): the lines
 *                  between are kept when key's value is non-empty (nesting
 *                  up to SETTINGS_IF_DEPTH).
 * Values never contain control bytes (the validators refuse them, and the
 * renderer refuses them again), so a value cannot start a new line of
 * main.cf.
 *
 * Everything here except settings_template() is a pure function over bytes
 * with explicit lengths: no I/O, no logging, no globals but the tables. */
#ifndef MAILGW_CONF_SETTINGS_H
#define MAILGW_CONF_SETTINGS_H

#include <stddef.h>

#include "core/buf.h"

#define SETTINGS_FILE       "settings.cf"
#define SETTINGS_FILE_MAX   (64 * 1024)  /* bytes of a settings file */
#define SETTINGS_VALUE_MAX  1024         /* bytes of one value */
#define SETTINGS_LIST_MAX   100          /* elements of a domain/net list */
#define SETTINGS_IF_DEPTH   8            /* nested @if in a template */
#define SETTINGS_OUTPUT_MAX (256 * 1024) /* bytes of one rendered file */

enum settings_type {
	SETTINGS_HOSTNAME, /* fully qualified host name */
	SETTINGS_DOMAINS,  /* list of domain names */
	SETTINGS_HOST,     /* host name or IPv4 address */
	SETTINGS_INT,      /* decimal integer in [min, max] */
	SETTINGS_ENUM,     /* one word of choices */
	SETTINGS_NETWORKS, /* list of address[/len], IPv4 or IPv6 */
	SETTINGS_EMAIL,    /* local@domain */
	SETTINGS_WORD,     /* printable, no blank, no ':' */
	SETTINGS_SECRET,   /* printable, blanks allowed inside */
	SETTINGS_PATH,     /* absolute path, [A-Za-z0-9._/-] */
	SETTINGS_LISTEN,   /* master.cf inet service: port or host:port */
	SETTINGS_ADDRS,    /* inet_interfaces: all, loopback-only or IPs */
};

#define SETTINGS_F_REQUIRED 0x01 /* the empty value is an error */
#define SETTINGS_F_SYSTEM                                                      \
	0x02                   /* deployment (paths, ports): not a form        \
				  field of the web UI */
#define SETTINGS_F_SECRET 0x04 /* never shown back; rendered 0600 only */

struct settings_field {
	const char *key;
	enum settings_type type;
	const char *def;     /* default value ("" = empty) */
	long min, max;       /* SETTINGS_INT */
	const char *choices; /* SETTINGS_ENUM: words, space-separated */
	unsigned flags;      /* SETTINGS_F_* */
	const char *label;   /* form label */
	const char *help;    /* one or two sentences */
	const char *feeds;   /* the main.cf/master.cf values it sets */
};

extern const struct settings_field settings_fields[];
extern const size_t settings_count;

/* settings_field_find - the row for key[0..len), or NULL. */
const struct settings_field *settings_field_find(const char *key, size_t len);
/* settings_index - the row's index in settings_fields[]. */
size_t settings_index(const struct settings_field *f);

/* settings - one value per field (heap strings, never NULL after
 * settings_init(): the defaults). */
struct settings {
	char *value[64];
};

void settings_init(struct settings *s);
void settings_free(struct settings *s);
/* settings_set - replace one value (copied; not validated). */
void settings_set(struct settings *s, const struct settings_field *f,
		  const char *v, size_t n);
const char *settings_get(const struct settings *s, const char *key);

/* settings_parse - read a settings file text[0..len) into s (which holds
 * defaults or earlier values). An unknown key, a key set twice or a syntax
 * error is an error: -1 with "line N: text" appended to why. Values are not
 * validated here (settings_check()). */
int settings_parse(struct settings *s, const char *text, size_t len,
		   struct buf *why);

/* settings_field_check - validate v[0..n) for f. 0, or -1 with the reason
 * (one sentence for a form, no key) appended to why. When norm is not NULL
 * the value in its canonical form (lists joined with ", ", host names in
 * lower case) replaces norm's contents. */
int settings_field_check(const struct settings_field *f, const char *v,
			 size_t n, struct buf *why, struct buf *norm);

/* settings_check - validate every value and the rules that join fields
 * (a smarthost login needs its password). Returns the number of errors;
 * for each, err_fn(arg, field, text) is called (may be NULL). */
int settings_check(const struct settings *s,
		   void (*err_fn)(void *arg, const struct settings_field *f,
				  const char *text),
		   void *arg);

/* settings_normalize - replace every valid value by its canonical form
 * (settings_field_check()'s norm); invalid values stay as they are. */
void settings_normalize(struct settings *s);

/* settings_format - the settings as a settings file, every key with its
 * label as a comment; system keys only when they differ from the
 * default. */
int settings_format(const struct settings *s, struct buf *out);

/* settings_value - the value a template reads for name[0..len): a key, or
 * a derived value (smarthost_nexthop "[host]:port", message_size_bytes,
 * smarthost_login "user:password"). NULL for an unknown name; the string
 * stays valid until the next call or a change of s. */
const char *settings_value(const struct settings *s, const char *name,
			   size_t len, struct buf *scratch);

/* settings_render - fill tpl[0..len) from s into out. 0, or -1 with
 * "line N: text" appended to why (unknown name, unbalanced @if, a value
 * holding a control byte, output over SETTINGS_OUTPUT_MAX). */
int settings_render(const struct settings *s, const char *tpl, size_t len,
		    struct buf *out, struct buf *why);

/* settings_template - the built-in template for "main.cf" or "master.cf"
 * (conf-templates/NAME.in), or NULL. */
const char *settings_template(const char *name);

#endif
