/* dict - lookup tables opened by name, with Postfix's semantics.
 *
 * A table is named "type:name" as in main.cf. Types:
 *   lmdb:PATH       (aliases hash:PATH, btree:PATH) the LMDB file PATH.lmdb
 *                   built by postmap/postalias; read-write with the WRITE
 *                   flag. A reader notices when the file was replaced (a
 *                   rebuild renames a new file over it: st_dev/st_ino,
 *                   mtime and size change) or changed in place (Postfix's
 *                   postmap -i/-d) and reopens it before the lookup; it
 *                   holds Postfix's shared fcntl lock during each lookup
 *                   and walk (dict_lmdb.c says why and what it waits for).
 *   texthash:PATH   the postmap source file PATH itself, read at open.
 *   static:VALUE    every key maps to VALUE ("static:{ text }" strips {}).
 *   inline:{ k=v, { k = text with spaces } }
 *   regexp:PATH     regexp_table(5); POSIX syntax mapped onto PCRE2
 *                   (dict_regexp.h lists what differs).
 *   pcre:PATH       pcre_table(5).
 *   cidr:PATH       cidr_table(5), IPv4 and IPv6.
 *   unix:passwd.byname, unix:group.byname   getpwnam(3)/getgrnam(3).
 *
 * Keys: with DICT_FLAG_FOLD (what callers normally pass, as Postfix folds
 * lookup keys by default) fixed-string tables (lmdb, texthash, inline,
 * unix) see the key in lower case, for lookups and for updates. Pattern
 * tables (regexp, pcre, cidr) never fold: regexp and pcre patterns are
 * case-insensitive unless the "i" flag toggles that.
 *
 * Source problems in regexp/pcre/cidr/texthash files are Postfix's
 * warnings ("pcre map FILE, line N: ... : skipping this rule"): they are
 * logged with msg_warn() at open and the rule is skipped, so a table loads
 * as Postfix loads it. With DICT_FLAG_STRICT any such problem makes
 * dict_open() fail instead, with the first message in err.
 *
 * Results: dict_get() hands back a value owned by the dict, valid until the
 * next call on the same dict. All functions return DICT_OK (0), a positive
 * status (DICT_NOTFOUND, DICT_EXISTS) or a negative DICT_ERR_* code, and
 * dict_error() then says why (owned by the dict). A dict is used by one
 * thread at a time. */
#ifndef MAILGW_DICT_DICT_H
#define MAILGW_DICT_DICT_H

#include <stddef.h>

#include "core/buf.h"

/* Flags (dict_open). */
#define DICT_FLAG_FOLD        0x0001 /* lower-case keys of fixed tables */
#define DICT_FLAG_STRICT      0x0002 /* source warnings make open fail */
#define DICT_FLAG_DUP_REPLACE 0x0004 /* dict_set() replaces an entry */
#define DICT_FLAG_NUL         0x0008 /* lmdb: store key and value with a
					trailing NUL, as Postfix's postmap
					and postalias */
#define DICT_FLAG_WRITE       0x0100 /* lmdb: open for dict_set/dict_del */
#define DICT_FLAG_TRUNC       0x0200 /* with WRITE: start from empty */
#define DICT_FLAG_QUIET       0x0400 /* do not log source warnings */

/* Status codes. */
#define DICT_OK        0
#define DICT_NOTFOUND  1 /* lookup/delete: no such key; next: end */
#define DICT_EXISTS    2 /* dict_set: key present, entry kept */
#define DICT_ERR       (-1) /* see dict_error() */
#define DICT_ERR_NOTSUP (-2) /* operation not supported by this type */

/* Sequence positions (dict_next). */
#define DICT_SEQ_FIRST 0
#define DICT_SEQ_NEXT  1

/* Named limits. */
#define DICT_KEY_MAX   4096          /* lookup key bytes */
#define DICT_VALUE_MAX (1024 * 1024) /* one result (after substitution) */

struct dict;

/* dict_open - open table spec ("type:name") with flags. On success *out is
 * the table and 0 is returned; on failure a message such as "open
 * /etc/x.lmdb: No such file or directory" is appended to err (may be NULL)
 * and DICT_ERR returned. */
int dict_open(const char *spec, int flags, struct dict **out, struct buf *err);

/* dict_close - release the table. For a table opened with DICT_FLAG_WRITE
 * this is the commit: the new contents are written to a temporary file
 * beside the table, synced, and renamed over it. Returns DICT_OK or
 * DICT_ERR (message appended to err, may be NULL; nothing was replaced). */
int dict_close(struct dict *d, struct buf *err);

/* dict_discard - close a writable table without replacing anything. */
void dict_discard(struct dict *d);

/* dict_cleanup_temps - remove the temporary files of the tables this
 * process has open for writing, so that a fatal error or a signal does not
 * leave them beside the tables (nothing is replaced; the tables must not
 * be used afterwards). Only unlink(2) is called: safe in a signal handler
 * and in log_set_fatal_hook(). */
void dict_cleanup_temps(void);

/* dict_get - look key up. DICT_OK with *value set, DICT_NOTFOUND, or an
 * error (lmdb I/O, a regular expression that hits its match limit). */
int dict_get(struct dict *d, const char *key, const char **value);

/* dict_next - iterate: DICT_SEQ_FIRST restarts, DICT_SEQ_NEXT continues.
 * DICT_OK with the entry in *key and *value (owned by d), DICT_NOTFOUND at the end, or
 * DICT_ERR_NOTSUP for tables without a sequence (static, pattern tables). */
int dict_next(struct dict *d, int how, const char **key, const char **value);

/* dict_set - add key=value (writable tables). DICT_EXISTS when the key is
 * present and DICT_FLAG_DUP_REPLACE was not given (the old entry stays). */
int dict_set(struct dict *d, const char *key, const char *value);

/* dict_del - remove key: DICT_OK or DICT_NOTFOUND. */
int dict_del(struct dict *d, const char *key);

const char *dict_error(const struct dict *d); /* last error text */
const char *dict_type(const struct dict *d);  /* "lmdb", "pcre", ... */
const char *dict_name(const struct dict *d);  /* part after "type:" */
int dict_flags(const struct dict *d);

/* dict_type_known - 1 when type names a supported table type. */
int dict_type_known(const char *type);
/* dict_type_writable - 1 for lmdb and its aliases (hash, btree). */
int dict_type_writable(const char *type);
/* The supported type names, NULL-terminated (postconf -m). */
extern const char *const dict_type_names[];

#endif
