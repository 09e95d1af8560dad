/* qtool - what the queue commands (sendmail, postqueue, mailq, postsuper,
 * postcat) share: exit statuses, fatal errors, configuration, the queue
 * directory, who may read it.
 *
 * Exit statuses are what Postfix 3.7's commands return (checked against
 * it): sysexits.h codes where Postfix uses them (sendmail: EX_TEMPFAIL
 * for any fatal error; postqueue: EX_UNAVAILABLE), else 1 (postsuper,
 * postcat). Messages go to stderr as
 * "PROGRAM: fatal: text", through log.h, like every other command. */
#ifndef MAILGW_QUEUE_QTOOL_H
#define MAILGW_QUEUE_QTOOL_H

#include <sys/types.h>
#include <sysexits.h>

#include "queue/spool.h"

/* Print "PROGRAM: fatal: text" and exit with status. */
_Noreturn void qtool_fatal(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* getopt's complaint, worded as glibc's (which Postfix's commands show):
 * "PROGRAM: invalid option -- 'c'". */
void qtool_bad_option(int c);

/* -c DIR: the configuration directory for qtool_config(), passed on as
 * $MAIL_CONFIG to the commands this one runs (as Postfix does). */
void qtool_config_dir(const char *dir);

/* Load main.cf from dir (NULL: $MAIL_CONFIG or the default); a broken
 * configuration is fatal (EX_CONFIG). Messages then also go to the mail
 * log: maillog_file when set and writable by this user, else syslog. */
void qtool_config(const char *dir);

/* queue_directory, from the loaded configuration. */
const char *qtool_queue_dir(void);

/* The uid of mail_owner, or (uid_t)-1 when the user does not exist. */
uid_t qtool_owner_uid(void);

/* 1 when the real uid is root or mail_owner: the users who may read the
 * queue directories. */
int qtool_privileged(void);

/* Open the queue directories for reading or changing messages, or exit
 * with status and a clear message (the directories are not ours to read;
 * the queue does not exist: never started). */
void qtool_spool_open(struct spool *sp, const char *what, int status);

/* "deferred" -> SPOOL_DEFERRED; -1 for a name that is not a queue. */
int qtool_queue_by_name(const char *name);

/* The name of a maildrop file as sendmail makes it (layout.h: 16 or
 * more of [0-9A-Za-z], here at most QTOOL_MAILDROP_MAX): 1 or 0. mailq
 * lists such files by this name; postcat -q and postsuper -d take it. */
#define QTOOL_MAILDROP_MAX 64
int qtool_maildrop_name(const char *name);

/* Open maildrop/NAME read-only as pickup would take it (no symlink, a
 * regular file with one link). A descriptor, or -errno (-EINVAL for a
 * file pickup would refuse). */
int qtool_maildrop_open(struct spool *sp, const char *name);

/* The trigger request "S site" for a destination as postqueue -s and
 * ETRN take it (a domain name or an address literal: letters, digits,
 * ".-_[]:", at most 255 bytes), lower-cased, into req[TRIGGER_MAX]. 0, or
 * -1 for anything else. */
int qtool_site_request(const char *site, size_t n, char *req);

/* Append state records to the message qid in queue q (as postsuper and
 * postqueue -i change a message): H (hold >= 0: its value) and/or Y (retry
 * now, attempts kept). A file with a torn tail is not changed (-EAGAIN,
 * warned): qmgr cuts it before its next append, and cutting it here
 * could race with that. -EINVAL (warned) for a file that does not parse;
 * -ENOENT when it is gone (qmgr moved it). */
int qtool_update(struct spool *sp, enum spool_queue q, const char *qid,
		 int hold, int retry_now);

/* Move qid from queue q to dest without replacing anything; when qmgr
 * moved the file meanwhile, follow it to its new queue. 0, -ENOENT (gone
 * from every queue: delivered), or -errno. */
int qtool_move(struct spool *sp, const char *qid, enum spool_queue q,
	       enum spool_queue dest);

#endif
