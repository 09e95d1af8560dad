/* sasl_worker - password checks on a helper thread (see sasl_worker.h). */
#include "smtpd/sasl_worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "dict/dict.h"
#include "smtpd/passwd.h"
#include "smtpd/sasl.h"

struct sasl_job {
	struct sasl_job *next;
	char user[SASL_FIELD_MAX + 1];
	char pass[SASL_FIELD_MAX + 1];
	size_t pass_len;
	int result;
	char err[256]; /* a database problem, logged by the loop */
	int cancelled; /* loop side only */
	sasl_worker_fn *fn;
	void *arg;
};

struct sasl_worker {
	struct loop *lp;
	char *db;
	int efd;
	int started, stop;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sasl_job *todo, **todo_tail; /* under mu */
	struct sasl_job *done, **done_tail; /* under mu */
	size_t queued;                      /* submitted, not reported */
	struct dict *d;                     /* thread only */
	int warned;                         /* thread only */
};

/* Thread: look the user up; -1 when the table cannot be read. No
 * logging here: the loop logs j->err. */
static int check(struct sasl_worker *w, struct sasl_job *j)
{
	struct buf err;
	const char *v = NULL;
	int r;

	buf_init(&err, 1024);
	if (w->d == NULL &&
	    dict_open(w->db, DICT_FLAG_FOLD, &w->d, &err) != DICT_OK) {
		if (!w->warned)
			snprintf(j->err, sizeof(j->err), "%s", buf_str(&err));
		w->warned = 1;
		w->d = NULL;
		buf_free(&err);
		/* the same work as a check, so timing tells nothing */
		passwd_verify(NULL, j->pass, j->pass_len);
		return -1;
	}
	buf_free(&err);
	w->warned = 0;
	r = dict_get(w->d, j->user, &v);
	if (r < 0) {
		snprintf(j->err, sizeof(j->err), "%s", dict_error(w->d));
		dict_close(w->d, NULL);
		w->d = NULL;
		passwd_verify(NULL, j->pass, j->pass_len);
		return -1;
	}
	return passwd_verify(r == DICT_OK ? v : NULL, j->pass, j->pass_len);
}

static void *run(void *arg)
{
	struct sasl_worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->todo == NULL && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		struct sasl_job *j = w->todo;
		w->todo = j->next;
		if (w->todo == NULL)
			w->todo_tail = &w->todo;
		j->next = NULL;
		pthread_mutex_unlock(&w->mu);
		j->result = check(w, j);
		explicit_bzero(j->pass, sizeof(j->pass));
		pthread_mutex_lock(&w->mu);
		*w->done_tail = j;
		w->done_tail = &j->next;
		uint64_t one = 1;
		if (write(w->efd, &one, sizeof(one)) < 0) {
			/* the counter is saturated: a wakeup is pending */
		}
	}
	pthread_mutex_unlock(&w->mu);
	if (w->d != NULL)
		dict_close(w->d, NULL);
	return NULL;
}

/* Loop: report what the thread finished. */
static void collect(struct loop *lp, int fd, int ready, void *arg)
{
	struct sasl_worker *w = arg;
	uint64_t n;
	(void)lp, (void)ready;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		msg_warn("sasl worker eventfd: %s", strerror(errno));
	pthread_mutex_lock(&w->mu);
	struct sasl_job *list = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->mu);
	while (list != NULL) {
		struct sasl_job *j = list;
		list = j->next;
		w->queued--;
		if (j->err[0])
			msg_warn("SASL user database %s: %s", w->db, j->err);
		if (!j->cancelled)
			j->fn(j->arg, j->result);
		explicit_bzero(j, sizeof(*j));
		mem_free(j);
	}
}

struct sasl_worker *sasl_worker_new(struct loop *lp, const char *db)
{
	struct sasl_worker *w = mem_zalloc(sizeof(*w));

	w->lp = lp;
	w->db = mem_strdup(db);
	w->efd = -1;
	w->todo_tail = &w->todo;
	w->done_tail = &w->done;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	return w;
}

static int start(struct sasl_worker *w)
{
	sigset_t all, old;
	int r;

	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		msg_warn("sasl worker: eventfd: %s", strerror(errno));
		return -1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&w->thread, NULL, run, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		msg_warn("sasl worker: pthread_create: %s", strerror(r));
		close(w->efd);
		w->efd = -1;
		return -1;
	}
	loop_fd_add(w->lp, w->efd, LOOP_READABLE, collect, w);
	w->started = 1;
	return 0;
}

struct sasl_job *sasl_worker_submit(struct sasl_worker *w, const char *user,
				    const char *pass, size_t pass_len,
				    sasl_worker_fn *fn, void *arg)
{
	if (w->queued >= SASL_WORKER_QUEUE_MAX ||
	    strlen(user) > SASL_FIELD_MAX || pass_len > SASL_FIELD_MAX)
		return NULL;
	if (!w->started && start(w) < 0)
		return NULL;
	struct sasl_job *j = mem_zalloc(sizeof(*j));
	memcpy(j->user, user, strlen(user));
	memcpy(j->pass, pass, pass_len);
	j->pass_len = pass_len;
	j->fn = fn;
	j->arg = arg;
	w->queued++;
	pthread_mutex_lock(&w->mu);
	*w->todo_tail = j;
	w->todo_tail = &j->next;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return j;
}

void sasl_worker_cancel(struct sasl_worker *w, struct sasl_job *j)
{
	(void)w;
	/* the job stays on whichever list holds it; collect() frees it.
	 * Only the loop reads this flag. */
	j->cancelled = 1;
}

void sasl_worker_free(struct sasl_worker *w)
{
	if (w == NULL)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
		loop_fd_del(w->lp, w->efd, LOOP_ALL);
		close(w->efd);
	}
	struct sasl_job *lists[2] = {w->todo, w->done};
	for (int i = 0; i < 2; i++)
		while (lists[i] != NULL) {
			struct sasl_job *j = lists[i];
			lists[i] = j->next;
			explicit_bzero(j, sizeof(*j));
			mem_free(j);
		}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	mem_free(w->db);
	mem_free(w);
}
