/* dict_lmdb - LMDB tables: NAME.lmdb, one file (MDB_NOSUBDIR).
 *
 * Files are interchangeable with Postfix's lmdb tables: the unnamed
 * database, keys and values with a trailing NUL (DICT_FLAG_NUL: what
 * Postfix's postmap and postalias write) or without one (postmap -n);
 * lookups try both forms, the NUL form first, as Postfix does.
 *
 * mailgw never modifies a table in place. A writer takes an exclusive
 * flock(2) on the current file (on the directory while the table does not
 * exist yet: see writer_lock), copies it (mdb_env_copyfd2, compacting) to
 * a temporary file in the same directory, or starts empty, applies the
 * changes in one transaction, and at close commits, syncs, renames the new
 * file over the old one and syncs the directory: the rename is the commit
 * point. Before each lookup and at the start of each walk a reader
 * compares st_dev/st_ino/mtime/size of the path with those of the file it
 * maps and reopens when the table was rebuilt or changed; a walk goes on
 * over the file it started on (see reader_open).
 *
 * Locks, decided: LMDB's own lock file is not used (MDB_NOLOCK), as in
 * Postfix, which instead takes POSIX record locks (fcntl) on the .lmdb
 * file: shared around each lookup, exclusive while its postmap -i/-d
 * update the file in place. A mailgw reader takes the same shared record
 * lock (an open-file-description lock, F_OFD_SETLKW, which conflicts with
 * Postfix's) around each lookup and for the length of a walk, so a Postfix
 * postmap writing in place is never seen half-way. mailgw's own writers
 * hold only a shared record lock on the file they copy (plus the flock
 * that serialises them), so mailgw's rebuilds and updates never block a
 * lookup, and a Postfix writer is kept out while the copy is taken. Limit:
 * a Postfix postmap -i/-d that opened the old file before a mailgw writer
 * renamed the new one over it updates the old file, and that update is
 * lost; run one or the other on a table, not both at once. */
#include "dict_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

struct lmdb {
	char *path;          /* NAME.lmdb */
	MDB_env *env;
	MDB_dbi dbi;
	struct stat id;      /* identity of the mapped file (readers) */
	int writing;
	char *tmp;           /* writers: the new file */
	MDB_txn *wtxn;
	int dirty;
	int lockfd;          /* writers: flock on the old file, or -1 */
	MDB_txn *stxn;       /* sequence: read txn (readers) */
	MDB_cursor *cur;
	MDB_env *seq_env;    /* the env stxn belongs to (readers) */
	int rfd;             /* readers: the mapped file, for record locks */
	int seq_rfd;         /* the rfd of seq_env, locked during the walk */
};

/* Temporary files of the writers open in this process, for
 * dict_cleanup_temps(), which may run in a signal handler: a slot is set
 * only once its file exists and cleared before its string is freed. */
static char *volatile writer_tmps[DICT_LMDB_WRITERS_MAX];

static void tmp_register(char *path)
{
	for (size_t i = 0; i < DICT_LMDB_WRITERS_MAX; i++)
		if (writer_tmps[i] == NULL) {
			writer_tmps[i] = path;
			return;
		}
}

static void tmp_forget(const char *path)
{
	for (size_t i = 0; i < DICT_LMDB_WRITERS_MAX; i++)
		if (writer_tmps[i] == path)
			writer_tmps[i] = NULL;
}

/* dict_cleanup_temps - see dict.h */
void dict_cleanup_temps(void)
{
	for (size_t i = 0; i < DICT_LMDB_WRITERS_MAX; i++) {
		char *path = writer_tmps[i];

		if (path != NULL) {
			writer_tmps[i] = NULL;
			(void)unlink(path);
		}
	}
}

/* mut - LMDB's MDB_val takes void *, though mdb_get/mdb_put only read it */
static void *mut(const void *p) { return (void *)(uintptr_t)p; }

static void set_err(struct dict *d, const char *what, int rc)
{
	buf_reset(&d->err);
	buf_printf(&d->err, "%s %s: %s", what, ((struct lmdb *)d->impl)->path,
		   mdb_strerror(rc));
}

/* record_lock - an open-file-description record lock on the whole file
 * (F_RDLCK, F_WRLCK or F_UNLCK). It conflicts with the fcntl locks
 * Postfix takes on the same file, and closing another descriptor of the
 * file (LMDB's own) does not release it. Waits; 0 or -1 with errno. */
static int record_lock(int fd, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, type == F_UNLCK ? F_OFD_SETLK : F_OFD_SETLKW, &fl))
		if (errno != EINTR)
			return -1;
	return 0;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* open_env - env and dbi on path; rc of LMDB (0 ok) */
static int open_env(const char *path, int rdonly, MDB_env **envp,
		    MDB_dbi *dbi)
{
	MDB_env *env;
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_env_create(&env)) != 0)
		return rc;
	if (!rdonly && (rc = mdb_env_set_mapsize(env, DICT_LMDB_MAP_SIZE)))
		goto fail;
	rc = mdb_env_open(env, path,
			  MDB_NOSUBDIR | MDB_NOLOCK | (rdonly ? MDB_RDONLY : 0),
			  0644);
	if (rc != 0)
		goto fail;
	if ((rc = mdb_txn_begin(env, NULL, rdonly ? MDB_RDONLY : 0, &txn)))
		goto fail;
	if ((rc = mdb_dbi_open(txn, NULL, 0, dbi)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	*envp = env;
	return 0;
fail:
	mdb_env_close(env);
	return rc;
}

/* end_seq - end a walk; close the file it kept if lookups moved on */
static void end_seq(struct lmdb *m)
{
	if (m->cur)
		mdb_cursor_close(m->cur);
	m->cur = NULL;
	if (m->stxn)
		mdb_txn_abort(m->stxn);
	m->stxn = NULL;
	if (m->seq_env && m->seq_env != m->env) {
		mdb_env_close(m->seq_env);
		close(m->seq_rfd); /* and its lock */
	} else if (m->seq_env) {
		(void)record_lock(m->rfd, F_UNLCK);
	}
	m->seq_env = NULL;
	m->seq_rfd = -1;
}

/* reader_open - (re)open the file path names now, with a shared record
 * lock on it held (on m->rfd), and remember its identity. A walk in
 * progress keeps the file it started on (seq_env, seq_rfd, still locked):
 * its cursor stays valid and it sees one table from start to end, while
 * lookups already use the new file; end_seq() closes the old one. */
static int reader_open(struct dict *d)
{
	struct lmdb *m = d->impl;
	struct stat mine, named;
	MDB_env *env;
	MDB_dbi dbi;
	int fd, efd, rc;

	for (int tries = 0;; tries++) {
		if ((fd = open(m->path, O_RDONLY | O_CLOEXEC)) < 0) {
			set_err(d, "open database", errno);
			return DICT_ERR;
		}
		if (record_lock(fd, F_RDLCK) != 0 || fstat(fd, &mine) != 0) {
			set_err(d, "lock database", errno);
			close(fd);
			return DICT_ERR;
		}
		if ((rc = open_env(m->path, 1, &env, &dbi)) != 0) {
			close(fd);
			set_err(d, "open database", rc);
			return DICT_ERR;
		}
		/* The env maps the file we locked, unless it was replaced in
		 * between (then try again). */
		if (mdb_env_get_fd(env, &efd) == 0 && fstat(efd, &named) == 0 &&
		    named.st_dev == mine.st_dev && named.st_ino == mine.st_ino)
			break;
		mdb_env_close(env);
		close(fd);
		if (tries >= DICT_LMDB_LOCK_TRIES) {
			set_err(d, "open database", EAGAIN);
			return DICT_ERR;
		}
	}
	if (m->env && m->env != m->seq_env) {
		mdb_env_close(m->env);
		close(m->rfd);
	}
	m->env = env;
	m->dbi = dbi;
	m->rfd = fd;
	m->id = mine;
	return DICT_OK;
}

/* reader_begin - take the shared record lock on the mapped file, reopen
 * when the path now names another file or the file changed (Postfix's
 * postmap writes in place, under an exclusive lock we waited for). The
 * lock is held until reader_end(): Postfix's writers wait for it. */
static int reader_begin(struct dict *d)
{
	struct lmdb *m = d->impl;
	struct stat st;

	if (m->writing)
		return DICT_OK;
	if (record_lock(m->rfd, F_RDLCK) != 0) {
		set_err(d, "lock database", errno);
		return DICT_ERR;
	}
	if (stat(m->path, &st) != 0 || same_file(&st, &m->id))
		return DICT_OK;
	if (!(m->seq_env == m->env))
		(void)record_lock(m->rfd, F_UNLCK);
	return reader_open(d);
}

/* reader_end - release the lock, unless a walk on the same file holds it */
static void reader_end(struct lmdb *m)
{
	if (!m->writing && m->seq_env != m->env)
		(void)record_lock(m->rfd, F_UNLCK);
}

/* copy_out - val into b without one trailing NUL */
static void copy_out(struct buf *b, const MDB_val *val)
{
	size_t n = val->mv_size;

	if (n > 0 && ((const char *)val->mv_data)[n - 1] == 0)
		n--;
	buf_set(b, val->mv_data, n);
}

static int lmdb_get(struct dict *d, const char *key, const char **value)
{
	struct lmdb *m = d->impl;
	MDB_txn *txn = m->wtxn;
	MDB_val k, v;
	int rc;

	if (reader_begin(d) < 0)
		return DICT_ERR;
	if (txn == NULL &&
	    (rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0) {
		reader_end(m);
		set_err(d, "read database", rc);
		return DICT_ERR;
	}
	/* With the NUL first, as Postfix looks up: where both forms exist (a
	 * table built without NULs, then updated by Postfix's postmap, which
	 * stores them), the newer entry is the one with the NUL. */
	k.mv_data = mut(key);
	k.mv_size = strlen(key) + 1;
	rc = mdb_get(txn, m->dbi, &k, &v);
	if (rc == MDB_NOTFOUND) {
		k.mv_size--;
		rc = mdb_get(txn, m->dbi, &k, &v);
	}
	if (rc == 0)
		copy_out(&d->value, &v);
	if (txn != m->wtxn)
		mdb_txn_abort(txn);
	reader_end(m);
	if (rc == MDB_NOTFOUND)
		return DICT_NOTFOUND;
	if (rc != 0) {
		set_err(d, "read database", rc);
		return DICT_ERR;
	}
	if (buf_error(&d->value)) {
		buf_reset(&d->err);
		buf_printf(&d->err, "value too long in %s", m->path);
		return DICT_ERR;
	}
	*value = buf_str(&d->value);
	return DICT_OK;
}

static int lmdb_next(struct dict *d, int how, const char **key,
		     const char **value)
{
	struct lmdb *m = d->impl;
	MDB_val k, v;
	int rc;

	if (how == DICT_SEQ_FIRST) {
		end_seq(m);
		if (reader_begin(d) < 0)
			return DICT_ERR;
		if (m->wtxn == NULL) {
			rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &m->stxn);
			if (rc != 0) {
				reader_end(m);
				set_err(d, "read database", rc);
				return DICT_ERR;
			}
			/* The walk keeps the lock until end_seq(). */
			m->seq_env = m->env;
			m->seq_rfd = m->rfd;
		}
		rc = mdb_cursor_open(m->wtxn ? m->wtxn : m->stxn, m->dbi,
				     &m->cur);
		if (rc != 0) {
			end_seq(m);
			set_err(d, "read database", rc);
			return DICT_ERR;
		}
	} else if (m->cur == NULL) {
		return DICT_NOTFOUND;
	}
	rc = mdb_cursor_get(m->cur, &k, &v,
			    how == DICT_SEQ_FIRST ? MDB_FIRST : MDB_NEXT);
	if (rc == MDB_NOTFOUND) {
		end_seq(m);
		return DICT_NOTFOUND;
	}
	if (rc != 0) {
		end_seq(m);
		set_err(d, "read database", rc);
		return DICT_ERR;
	}
	copy_out(&d->key, &k);
	copy_out(&d->value, &v);
	*key = buf_str(&d->key);
	*value = buf_str(&d->value);
	return DICT_OK;
}

static int lmdb_set(struct dict *d, const char *key, const char *value)
{
	struct lmdb *m = d->impl;
	int nul = (d->flags & DICT_FLAG_NUL) != 0;
	MDB_val k = {strlen(key) + nul, mut(key)};
	MDB_val alt = {strlen(key) + !nul, mut(key)}; /* other NUL form */
	MDB_val v = {strlen(value) + nul, mut(value)};
	MDB_val old;
	int rc;

	end_seq(m);
	if (mdb_get(m->wtxn, m->dbi, &k, &old) == 0 ||
	    mdb_get(m->wtxn, m->dbi, &alt, &old) == 0) {
		if (!(d->flags & DICT_FLAG_DUP_REPLACE))
			return DICT_EXISTS;
		(void)mdb_del(m->wtxn, m->dbi, &alt, NULL);
	}
	if ((rc = mdb_put(m->wtxn, m->dbi, &k, &v, 0)) != 0) {
		set_err(d, "update database", rc);
		return DICT_ERR;
	}
	m->dirty = 1;
	return DICT_OK;
}

static int lmdb_del(struct dict *d, const char *key)
{
	struct lmdb *m = d->impl;
	MDB_val k = {strlen(key), mut(key)};
	int rc, found = 0;

	end_seq(m);
	for (int nul = 0; nul < 2; nul++, k.mv_size++) {
		rc = mdb_del(m->wtxn, m->dbi, &k, NULL);
		if (rc == 0)
			found = 1;
		else if (rc != MDB_NOTFOUND) {
			set_err(d, "update database", rc);
			return DICT_ERR;
		}
	}
	if (!found)
		return DICT_NOTFOUND;
	m->dirty = 1;
	return DICT_OK;
}

/* sync_dir - fsync the directory holding path (the rename) */
static char *dir_of(const char *path);

static void sync_dir(const char *path)
{
	char *dir = dir_of(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	mem_free(dir);
}

static int lmdb_close(struct dict *d, int commit)
{
	struct lmdb *m = d->impl;
	int ret = DICT_OK, rc;

	end_seq(m);
	if (m->writing) {
		int replace = commit &&
			      (m->dirty || (d->flags & DICT_FLAG_TRUNC));

		if (replace) {
			if ((rc = mdb_txn_commit(m->wtxn)) != 0 ||
			    (rc = mdb_env_sync(m->env, 1)) != 0) {
				set_err(d, "commit database", rc);
				replace = 0;
				ret = DICT_ERR;
			}
		} else {
			mdb_txn_abort(m->wtxn);
		}
		m->wtxn = NULL;
		mdb_env_close(m->env);
		m->env = NULL;
		if (replace && rename(m->tmp, m->path) != 0) {
			buf_reset(&d->err);
			buf_printf(&d->err, "rename %s to %s: %s", m->tmp,
				   m->path, strerror(errno));
			ret = DICT_ERR;
			replace = 0;
		}
		if (replace)
			sync_dir(m->path);
		else
			unlink(m->tmp);
		tmp_forget(m->tmp);
		if (m->lockfd >= 0)
			close(m->lockfd);
	}
	if (m->env)
		mdb_env_close(m->env);
	if (m->rfd >= 0)
		close(m->rfd);
	mem_free(m->tmp);
	mem_free(m->path);
	mem_free(m);
	d->impl = NULL;
	return ret;
}

static const struct dict_ops lmdb_ops = {
	lmdb_get, lmdb_next, lmdb_set, lmdb_del, lmdb_close,
};

/* dir_of - the directory holding path (heap) */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return mem_strdup(".");
	if (slash == path)
		return mem_strdup("/");
	return mem_strndup(path, (size_t)(slash - path));
}

/* flock_ex - an exclusive flock(2), retried after signals */
static int flock_ex(int fd)
{
	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* writer_lock - serialise writers of one table. A writer locks the file
 * path names now (as Postfix's postmap locks the .lmdb file), checking
 * after the wait that the name still refers to it: the writer before may
 * have renamed a new file over it. While the table does not exist there
 * is no file to lock, so creators lock the directory instead and check
 * again that the table is still missing. The returned descriptor holds
 * the lock until closed; -1 with errno on failure. */
static int writer_lock(const char *path)
{
	for (int tries = 0; tries < DICT_LMDB_LOCK_TRIES; tries++) {
		struct stat a, b;
		char *dir;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			/* flock: one mailgw writer at a time; the shared
			 * record lock waits for a Postfix postmap writing in
			 * place and keeps it out while we copy the file. */
			if (flock_ex(fd) != 0 || record_lock(fd, F_RDLCK) != 0 ||
			    fstat(fd, &a) != 0) {
				int e = errno;

				close(fd);
				errno = e;
				return -1;
			}
			if (stat(path, &b) == 0 && a.st_dev == b.st_dev &&
			    a.st_ino == b.st_ino)
				return fd;
			close(fd); /* replaced while we waited */
			continue;
		}
		if (errno != ENOENT)
			return -1;
		dir = dir_of(path);
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		mem_free(dir);
		if (fd < 0)
			return -1;
		if (flock_ex(fd) != 0) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		/* Still missing: ours to create. Created while we waited:
		 * lock that file instead. */
		if (stat(path, &b) != 0 && errno == ENOENT)
			return fd;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

/* writer_open - lock, copy or create the new file, start the txn */
static int writer_open(struct dict *d)
{
	struct lmdb *m = d->impl;
	struct stat st;
	struct buf tmp;
	sigset_t all, old;
	int fd, rc, exists, e;

	m->writing = 1;
	if ((m->lockfd = writer_lock(m->path)) < 0) {
		buf_printf(&d->err, "lock %s: %s", m->path, strerror(errno));
		return DICT_ERR;
	}
	exists = stat(m->path, &st) == 0;
	buf_init(&tmp, 4096 + strlen(m->path));
	buf_printf(&tmp, "%s.XXXXXX", m->path);
	m->tmp = mem_strdup(buf_str(&tmp));
	buf_free(&tmp);
	/* Signals wait while the file exists unregistered: a cleanup
	 * handler run in between would leave it behind. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if ((fd = mkstemp(m->tmp)) >= 0)
		tmp_register(m->tmp);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (fd < 0) {
		buf_printf(&d->err, "create %s: %s", m->tmp, strerror(e));
		return DICT_ERR;
	}
	(void)fchmod(fd, exists ? st.st_mode & 07777 : 0644);
	if (exists && !(d->flags & DICT_FLAG_TRUNC)) {
		MDB_env *src;
		MDB_dbi dbi;

		rc = open_env(m->path, 1, &src, &dbi);
		if (rc == 0) {
			rc = mdb_env_copyfd2(src, fd, MDB_CP_COMPACT);
			mdb_env_close(src);
		}
		if (rc != 0) {
			close(fd);
			unlink(m->tmp);
			set_err(d, "open database", rc);
			return DICT_ERR;
		}
	}
	close(fd);
	if ((rc = open_env(m->tmp, 0, &m->env, &m->dbi)) != 0 ||
	    (rc = mdb_txn_begin(m->env, NULL, 0, &m->wtxn)) != 0) {
		unlink(m->tmp);
		set_err(d, "open database", rc);
		return DICT_ERR;
	}
	return DICT_OK;
}

/* dict_lmdb_open - see dict_impl.h */
int dict_lmdb_open(struct dict *d)
{
	struct lmdb *m = mem_zalloc(sizeof(*m));
	struct buf path;
	int rc;

	buf_init(&path, strlen(d->name) + 16);
	buf_printf(&path, "%s.lmdb", d->name);
	m->path = mem_strdup(buf_str(&path));
	buf_free(&path);
	m->lockfd = -1;
	m->rfd = -1;
	m->seq_rfd = -1;
	d->impl = m;
	d->ops = &lmdb_ops;
	rc = d->flags & DICT_FLAG_WRITE ? writer_open(d) : reader_open(d);
	if (rc == DICT_OK && !m->writing)
		(void)record_lock(m->rfd, F_UNLCK); /* taken per lookup */
	if (rc != DICT_OK) {
		if (m->env)
			mdb_env_close(m->env);
		m->env = NULL;
		if (m->lockfd >= 0)
			close(m->lockfd);
		if (m->rfd >= 0)
			close(m->rfd);
		tmp_forget(m->tmp);
		mem_free(m->tmp);
		mem_free(m->path);
		mem_free(m);
		d->impl = NULL;
	}
	return rc;
}
