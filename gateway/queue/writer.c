/* writer - queue writer with group commit (see writer.h). */
#include "queue/writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "queue/spool.h"
#include "queue/trigger.h"

struct qw_msg {
	struct qwriter *w;
	struct spool_file f;
	struct qfile_writer qf;
	struct buf out; /* content not yet written */
	int err;        /* first error, sticky */
	int result;     /* commit result */
	qw_done_fn *done;
	void *arg;
	int64_t arrival_sec; /* qw_open(): what the queue ID encodes */
	long arrival_usec;
	int hold;     /* qw_set_hold() */
	char *filter; /* qw_set_filter(), or NULL */
	struct qw_msg *next;
};

struct qwriter {
	struct loop *lp;
	char *queue_dir;
	struct spool sp;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	struct qw_msg *todo, **todo_tail; /* finished, waiting for a batch */
	struct qw_msg *done, **done_tail; /* committed or failed */
	size_t pending;                   /* submitted, not yet reported */
	size_t batches;                   /* batches the thread finished */
	int trig_fd;                      /* qmgr FIFO, kept open; -1 */
	struct buf_cache bufs;            /* messages' write buffers */
};

static void *commit_thread(void *arg)
{
	struct qwriter *w = arg;
	struct spool_file **files = NULL;
	int *results = NULL;
	size_t cap = 0;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->todo == NULL && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->todo == NULL)
			break;
		struct qw_msg *batch = w->todo;
		w->todo = NULL;
		w->todo_tail = &w->todo;
		pthread_mutex_unlock(&w->mu);

		size_t n = 0;
		for (struct qw_msg *m = batch; m != NULL; m = m->next)
			n++;
		if (n > cap) {
			cap = n * 2;
			files = mem_realloc(files, cap * sizeof(*files));
			results = mem_realloc(results, cap * sizeof(*results));
		}
		size_t i = 0;
		for (struct qw_msg *m = batch; m != NULL; m = m->next)
			files[i++] = &m->f;
		spool_commit_batch(&w->sp, files, n, results);
		i = 0;
		struct qw_msg *last = NULL;
		for (struct qw_msg *m = batch; m != NULL; m = m->next) {
			m->result = results[i++];
			last = m;
		}

		pthread_mutex_lock(&w->mu);
		w->batches++;
		*w->done_tail = batch;
		w->done_tail = &last->next;
		loop_wakeup(w->lp);
	}
	pthread_mutex_unlock(&w->mu);
	mem_free(files);
	mem_free(results);
	return NULL;
}

/* Loop context only (the buffer cache has one thread). */
static void msg_free(struct qw_msg *m)
{
	mem_free(m->filter);
	buf_cache_put(&m->w->bufs, &m->out);
	mem_free(m);
}

/* Tell qmgr about new mail. The FIFO stays open between batches (three
 * system calls fewer per batch); when qmgr went away (EPIPE) it is opened
 * again once, for the qmgr that replaced it. */
static void notify_qmgr(struct qwriter *w)
{
	int r = -EPIPE;

	for (int tries = 0; tries < 2 && r == -EPIPE; tries++) {
		if (w->trig_fd < 0) {
			r = trigger_open(w->queue_dir);
			if (r < 0)
				break;
			w->trig_fd = r;
		}
		r = trigger_write(w->trig_fd, "I");
		if (r < 0 && r != -EAGAIN) {
			close(w->trig_fd);
			w->trig_fd = -1;
		}
	}
	/* No qmgr (ENXIO, ENOENT) or a full FIFO (EAGAIN): it scans
	 * incoming/ when it starts and on its timer anyway. */
	if (r < 0 && r != -ENXIO && r != -EAGAIN && r != -ENOENT)
		msg_warn("trigger qmgr: %s", strerror(-r));
}

/* Loop context: report what the thread finished. */
static void collect(struct loop *lp, void *arg)
{
	struct qwriter *w = arg;
	(void)lp;

	pthread_mutex_lock(&w->mu);
	struct qw_msg *list = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->mu);

	int committed = 0;
	while (list != NULL) {
		struct qw_msg *m = list;
		list = m->next;
		w->pending--;
		int res = m->err != 0 ? m->err : m->result;
		if (res == 0)
			committed = 1;
		if (m->done != NULL)
			m->done(m->arg, res, m->f.qid);
		msg_free(m);
	}
	if (committed)
		notify_qmgr(w);
}

int qwriter_new(struct loop *lp, const char *queue_dir, struct qwriter **out)
{
	struct qwriter *w = mem_zalloc(sizeof(*w));
	int r = spool_open(&w->sp, queue_dir);

	if (r < 0) {
		mem_free(w);
		return r;
	}
	w->lp = lp;
	w->trig_fd = -1;
	w->queue_dir = mem_strdup(queue_dir);
	w->todo_tail = &w->todo;
	w->done_tail = &w->done;
	buf_cache_init(&w->bufs, QW_FLUSH_SIZE + QW_FLUSH_SIZE / 2,
		       QW_BUFS_KEPT);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	r = pthread_create(&w->thread, NULL, commit_thread, w);
	if (r != 0) {
		spool_close(&w->sp);
		mem_free(w->queue_dir);
		mem_free(w);
		return -r;
	}
	loop_set_wakeup(lp, collect, w);
	*out = w;
	return 0;
}

void qwriter_free(struct qwriter *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	collect(w->lp, w);
	loop_set_wakeup(w->lp, NULL, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	spool_close(&w->sp);
	if (w->trig_fd >= 0)
		close(w->trig_fd);
	buf_cache_free(&w->bufs);
	mem_free(w->queue_dir);
	mem_free(w);
}

void qwriter_trim(struct qwriter *w)
{
	buf_cache_trim(&w->bufs, QW_BUFS_IDLE);
}

size_t qwriter_pending(const struct qwriter *w)
{
	return w->pending;
}

size_t qwriter_batches(const struct qwriter *w)
{
	struct qwriter *m = (struct qwriter *)(uintptr_t)w; /* the lock */
	size_t n;

	pthread_mutex_lock(&m->mu);
	n = m->batches;
	pthread_mutex_unlock(&m->mu);
	return n;
}

static int flush(struct qw_msg *m)
{
	if (m->err == 0 && m->out.len > 0) {
		int r = spool_file_write(&m->f, m->out.data, m->out.len);
		if (r < 0)
			m->err = r;
	}
	buf_reset(&m->out);
	return m->err;
}

int qw_open(struct qwriter *w, int64_t arrival_sec, long arrival_usec,
	    struct qw_msg **out)
{
	struct qw_msg *m = mem_zalloc(sizeof(*m));
	int r;

	m->w = w;
	buf_cache_get(&w->bufs, &m->out, 2 * QW_FLUSH_SIZE + 2 * QFILE_VALUE_MAX);
	r = spool_file_new(&w->sp, &m->f, arrival_sec, arrival_usec);
	if (r < 0) {
		msg_free(m);
		return r;
	}
	m->arrival_sec = arrival_sec;
	m->arrival_usec = arrival_usec;
	*out = m;
	return 0;
}

int qw_envelope(struct qw_msg *m, const struct qfile_msg *env)
{
	struct qfile_msg e = *env;
	int r;

	/* the time the queue ID encodes */
	e.arrival_sec = m->arrival_sec;
	e.arrival_usec = m->arrival_usec;
	r = qfile_writer_begin(&m->qf, &m->out, &e);
	if (r < 0)
		return r == QFILE_ERR_FULL ? -ENOMEM : -EINVAL;
	if (m->out.len >= QW_FLUSH_SIZE && flush(m) < 0)
		return m->err;
	return 0;
}

int qw_begin(struct qwriter *w, const struct qfile_msg *env,
	     struct qw_msg **out)
{
	struct qw_msg *m;
	int r = qw_open(w, env->arrival_sec, env->arrival_usec, &m);

	if (r < 0)
		return r;
	if ((r = qw_envelope(m, env)) < 0) {
		qw_abort(m);
		return r;
	}
	*out = m;
	return 0;
}

const char *qw_qid(const struct qw_msg *m)
{
	return m->f.qid;
}

int qw_error(const struct qw_msg *m)
{
	return m->err;
}

int qw_write(struct qw_msg *m, const void *p, size_t n)
{
	if (m->err != 0)
		return m->err;
	if (qfile_writer_push(&m->qf, p, n) < 0)
		return m->err = -EINVAL;
	/* flushed before it would pass QW_FLUSH_SIZE, so the block stays
	 * at that size (and fits the cache) */
	if (m->out.len + n >= QW_FLUSH_SIZE && flush(m) < 0)
		return m->err;
	if (n >= QW_FLUSH_SIZE) {
		int r = spool_file_write(&m->f, p, n);
		if (r < 0)
			m->err = r;
		return m->err;
	}
	buf_append(&m->out, p, n);
	if (m->out.len >= QW_FLUSH_SIZE)
		flush(m);
	return m->err;
}

void qw_finish(struct qw_msg *m, qw_done_fn *done, void *arg)
{
	struct qwriter *w = m->w;
	char patch[QFILE_LEN_DIGITS];
	size_t patch_off = 0;

	m->done = done;
	m->arg = arg;
	if (m->err == 0 && flush(m) == 0) {
		if (qfile_writer_finish(&m->qf, &m->out, patch, &patch_off) < 0)
			m->err = -EINVAL;
		else if (flush(m) == 0) {
			int r = spool_file_pwrite(&m->f, patch, sizeof(patch),
						  (off_t)patch_off);
			if (r < 0)
				m->err = r;
		}
	}
	/* access actions: records appended before the sync, so they are
	 * part of what the commit makes durable */
	if (m->err == 0 && m->filter != NULL) {
		char v = '0' + QFILE_VERSION_FILTER;
		if (qfile_format_filter(&m->out, m->filter,
					strlen(m->filter)) < 0)
			m->err = -EINVAL;
		else
			m->err = spool_file_pwrite(&m->f, &v, 1,
						   (off_t)QFILE_VERSION_OFF);
	}
	if (m->err == 0 && m->hold && qfile_format_hold(&m->out, 1) < 0)
		m->err = -EINVAL;
	if (m->err == 0)
		flush(m);
	if (m->err != 0) {
		/* The file is aborted here; the batch thread reports it
		 * with its error, so done still runs later, in order. */
		spool_file_abort(&w->sp, &m->f);
		m->f.err = m->err;
	}
	w->pending++;
	pthread_mutex_lock(&w->mu);
	*w->todo_tail = m;
	w->todo_tail = &m->next;
	m->next = NULL;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void qw_set_hold(struct qw_msg *m)
{
	m->hold = 1;
}

void qw_set_filter(struct qw_msg *m, const char *filter)
{
	mem_free(m->filter);
	m->filter = filter != NULL && *filter ? mem_strdup(filter) : NULL;
}

void qw_detach(struct qw_msg *m)
{
	m->done = NULL;
	m->arg = NULL;
}

void qw_abort(struct qw_msg *m)
{
	spool_file_abort(&m->w->sp, &m->f);
	msg_free(m);
}
