/* conf - the loaded configuration: main.cf values with Postfix semantics.
 *
 * CONTRACT (shared by every module; the implementation lives in conf.c):
 *
 * conf_load(dir) reads DIR/main.cf (dir NULL: $MAIL_CONFIG, else
 * CONF_DEFAULT_DIR) into the process-wide table. Unknown parameters are a
 * warning naming file and line; syntax and type errors are errors naming
 * file, line and parameter, reported through msg_warn()/msg_error(), and make
 * conf_load() return -1 (the old table is kept). A missing main.cf is
 * treated as empty (all defaults) unless MAIN_CF_REQUIRED is given.
 *
 * conf_get(name) returns the fully expanded value ($name, ${name},
 * ${name?text}, ${name:text}) of a known or main.cf-defined parameter, or
 * NULL for a name neither the parameter table nor main.cf knows. The string
 * stays valid until the next conf_load()/conf_set().
 * Typed getters validate against the parameter table and fall back to the
 * default (with a warning) on a bad value. */
#ifndef MAILGW_CONF_CONF_H
#define MAILGW_CONF_CONF_H

#define CONF_DEFAULT_DIR "/etc/mailgw"

int conf_load(const char *dir);
const char *conf_dir(void);                 /* directory last loaded */
const char *conf_get(const char *name);     /* expanded, or NULL */
const char *conf_get_raw(const char *name); /* unexpanded, or NULL */
long conf_get_int(const char *name);        /* int and size types */
long conf_get_time(const char *name);       /* seconds */
int conf_get_bool(const char *name);
/* Override a value in memory (master.cf -o, command line); expanded lazily. */
void conf_set(const char *name, const char *value);

#endif
