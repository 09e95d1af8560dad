/* sasl_worker - password checks off the event loop (issue 6).
 *
 * A check costs PBKDF2 with at least 100,000 rounds (passwd.h): tens of
 * milliseconds of CPU. Done on the loop, every other session of the
 * process would stall that long per AUTH. So one helper thread per smtpd
 * process looks the user up in the user database (an lmdb table, opened
 * and used only by that thread: dict.h's one-thread rule) and runs
 * passwd_verify(); it hands results back through an eventfd the loop
 * watches (the loop's wakeup hook belongs to the queue writer). Jobs run
 * in order; at most SASL_WORKER_QUEUE_MAX wait, and a submit beyond that
 * is refused, so a flood of AUTH commands costs a bounded amount of
 * memory and answers "454 4.7.0 Temporary authentication failure" rather
 * than queueing for minutes.
 *
 * Callbacks run in loop context. sasl_worker_cancel() before a session
 * that waits goes away: its callback is then never called. Passwords
 * are copied into the job and wiped when it ends.
 *
 * The thread is started on the first submit with every signal blocked
 * (the loop's signalfd needs them blocked in all threads). */
#ifndef MAILGW_SMTPD_SASL_WORKER_H
#define MAILGW_SMTPD_SASL_WORKER_H

#include <stddef.h>

#include "core/loop.h"

#define SASL_WORKER_QUEUE_MAX 64

/* The outcome: 1 the password matches, 0 it does not (or no such user),
 * -1 the user database could not be read (a temporary failure). */
typedef void sasl_worker_fn(void *arg, int result);

struct sasl_worker;
struct sasl_job;

/* db is the table spec ("lmdb:/etc/mailgw/sasl_users"). */
struct sasl_worker *sasl_worker_new(struct loop *lp, const char *db);
void sasl_worker_free(struct sasl_worker *w); /* joins the thread */

/* Queue a check; NULL when the queue is full or the thread could not
 * start. */
struct sasl_job *sasl_worker_submit(struct sasl_worker *w, const char *user,
				    const char *pass, size_t pass_len,
				    sasl_worker_fn *fn, void *arg);
void sasl_worker_cancel(struct sasl_worker *w, struct sasl_job *j);

#endif
