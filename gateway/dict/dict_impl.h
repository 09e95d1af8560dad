/* dict_impl - what a table type implements; private to gateway/dict/.
 *
 * dict.c owns struct dict, folds keys, logs source warnings and checks
 * arguments; a type fills in ops and impl at open and keeps its state in
 * impl. Every op returns the codes of dict.h and puts its message in
 * d->err on DICT_ERR. A NULL op means "not supported". */
#ifndef MAILGW_DICT_DICT_IMPL_H
#define MAILGW_DICT_DICT_IMPL_H

#include "core/buf.h"
#include "dict.h"

struct dict_ops {
	int (*get)(struct dict *d, const char *key, const char **value);
	int (*next)(struct dict *d, int how, const char **key,
		    const char **value);
	int (*set)(struct dict *d, const char *key, const char *value);
	int (*del)(struct dict *d, const char *key);
	/* close: commit (1) or discard (0) writes, free impl. */
	int (*close)(struct dict *d, int commit);
};

struct dict {
	const struct dict_ops *ops;
	char *type;          /* as opened ("hash" stays "hash") */
	char *name;
	int flags;
	int fold;            /* lower-case keys before the op */
	struct buf arg;      /* the op's key: a copy, folded if fold */
	struct buf key;      /* dict_next() key */
	struct buf value;    /* results */
	struct buf err;      /* last error */
	void *impl;
};

/* dict_lmdb_open - open d->name + ".lmdb" with d->flags (dict_lmdb.c). */
int dict_lmdb_open(struct dict *d);

/* Named limit: map size of an LMDB file mailgw writes (address space, not
 * disk: the file holds only what is used). */
#define DICT_LMDB_MAP_SIZE ((size_t)1 << 30)
/* Named limit: writers open at once in one process whose temporary files
 * dict_cleanup_temps() knows (more still work, without that cleanup). */
#define DICT_LMDB_WRITERS_MAX 16
/* Named limit: times a writer retries its lock when the table keeps being
 * replaced or created under it while it waits. */
#define DICT_LMDB_LOCK_TRIES 1000
/* Named limit: bytes of a table source file read at open. */
#define DICT_FILE_MAX ((size_t)256 << 20)

#endif
