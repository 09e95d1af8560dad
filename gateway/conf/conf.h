/* conf - the loaded configuration: main.cf values with Postfix semantics.
 *
 * CONTRACT (shared by every module; the implementation lives in conf.c):
 *
 * conf_load(dir) reads DIR/main.cf (dir NULL: $MAIL_CONFIG, else
 * CONF_DEFAULT_DIR) into the process-wide table. Unknown parameters are a
 * warning naming file and line; syntax and type errors are errors naming
 * file, line and parameter, reported through msg_warn()/msg_error(), and make
 * conf_load() return -1 (the old table is kept). A missing main.cf is
 * treated as empty (all defaults) unless CONF_MAIN_CF_REQUIRED is given to
 * conf_load_flags().
 *
 * conf_get(name) returns the fully expanded value ($name, ${name},
 * ${name?text}, ${name:text}) of a known or main.cf-defined parameter, or
 * NULL for a name neither the parameter table nor main.cf knows. The string
 * stays valid until the next conf_load()/conf_set().
 * Typed getters validate against the parameter table and fall back to the
 * default (with a warning) on a bad value.
 *
 * Details:
 *   - Before any conf_load() the table holds the defaults only.
 *   - With an explicit dir (or $MAIL_CONFIG) config_directory is set to it,
 *     as Postfix does for -c, unless main.cf sets it.
 *   - A name set twice: the last one wins, with Postfix's warning
 *     "FILE, line N: overriding earlier entry: name=value".
 *   - "Unknown" means: not in the parameter table (params.h), not referred
 *     to as $name by any value (defaults, main.cf, master.cf -o), and not
 *     a per-transport parameter of a master.cf service; Postfix's warning
 *     "FILE, line N: unused parameter: name=value".
 *   - Parameters with CONF_F_RAW (default_rbl_reply, forward_path, ...) are
 *     returned unexpanded: their users fill in the $names per use.
 *   - Host-dependent defaults are computed as Postfix does: myhostname
 *     from gethostname() (".localdomain" appended to a name without a
 *     dot), mydomain from myhostname, mynetworks from the interface
 *     addresses per mynetworks_style and inet_protocols. */
#ifndef MAILGW_CONF_CONF_H
#define MAILGW_CONF_CONF_H

#include <stddef.h>

#include "core/buf.h"

#define CONF_DEFAULT_DIR "/etc/mailgw"
#define CONF_FILE_MAX    (4 * 1024 * 1024) /* bytes of main.cf/master.cf */

#define CONF_MAIN_CF_REQUIRED 0x01 /* conf_load_flags: main.cf must exist */

int conf_load(const char *dir);
int conf_load_flags(const char *dir, int flags);
const char *conf_dir(void);                 /* directory last loaded */
const char *conf_get(const char *name);     /* expanded, or NULL */
const char *conf_get_raw(const char *name); /* unexpanded, or NULL */
long conf_get_int(const char *name);        /* int and size types */
long conf_get_time(const char *name);       /* seconds */
int conf_get_bool(const char *name);
/* Override a value in memory (master.cf -o, command line); expanded lazily. */
void conf_set(const char *name, const char *value);

/* conf_get_default - the default of a table parameter as main.cf text
 * (computed for host-dependent ones), or NULL for an unknown name. */
const char *conf_get_default(const char *name);

/* conf_setting - one explicit setting (main.cf line or conf_set()). */
struct conf_setting {
	const char *name;
	const char *value; /* raw, as written (trimmed, lines joined) */
	const char *file;  /* NULL for conf_set() and -c */
	unsigned line;
	int known; /* in the parameter table */
	int used;  /* unknown but referred to, or a per-transport parameter */
};

/* conf_settings - the explicit settings, sorted by name (postconf -n);
 * *n is their count. Valid until the next conf_load()/conf_set(). */
const struct conf_setting *conf_settings(size_t *n);

/* conf_check_text - check text as DIR/main.cf (path is used in messages)
 * without loading it: the same warnings and errors as conf_load(). 0 or
 * -1 (postconf -e validates the edited file before it replaces main.cf). */
int conf_check_text(const char *dir, const char *path, const char *text,
		    size_t len);

/* conf_read_file - read a whole configuration file (at most
 * CONF_FILE_MAX bytes) into out. 0, or -errno (-EFBIG when too large). */
int conf_read_file(const char *path, struct buf *out);

struct mastercf_entry;
/* conf_master_read - parse DIR/master.cf (dir NULL: conf_dir()) and call
 * fn for each service in file order; fn returns 0 to go on. Syntax errors
 * are reported as "FILE, line N: text" (msg_error) and return -1; a
 * missing file is an error too (-1, message). */
int conf_master_read(const char *dir,
		     int (*fn)(const struct mastercf_entry *e, void *arg),
		     void *arg);

#endif
