/* pickup - take local submissions from maildrop/ (queue/layout.h).
 *
 * Every maildrop file is untrusted: opened with O_NOFOLLOW, a regular file
 * with one link, bounded in size, parsed by qfile_parse(); the submitting
 * user comes from st_uid. A good file is copied into a new incoming/
 * message (protocol "local", client fields empty) and then removed; a bad
 * one is moved to corrupt/. Logs as Postfix's pickup. */
#ifndef MAILGW_QUEUE_PICKUP_H
#define MAILGW_QUEUE_PICKUP_H
#include <stddef.h>

struct spool;

/* Pick up every file in maildrop/. max_size: message_size_limit plus
 * the envelope slack (0: no limit). Returns how many messages were
 * queued, or -errno when maildrop/ cannot be read. [blocks] */
int pickup_scan(struct spool *sp, size_t max_size);

/* 1 when name is a maildrop file name ([0-9A-Za-z]{16,}). */
int pickup_name_ok(const char *name);

#endif
