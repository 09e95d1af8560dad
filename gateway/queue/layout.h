/* layout - who owns what under queue_directory (DESIGN.md "The queue").
 *
 *   queue_directory/      0755 root      (spool_create())
 *     incoming/ active/ deferred/ hold/ corrupt/
 *                         0700 mail_owner  message files, 0600 (spool.h)
 *     maildrop/           1733 mail_owner  local submission (below)
 *     public/             0755 mail_owner
 *       qmgr              FIFO 0622 mail_owner  requests to qmgr (trigger.h)
 *     pid/                0755 root
 *       master.pid        the running master's PID
 *       master.sock       0600 root, the control socket (master.h)
 * master creates all of it, as root, before anything else starts.
 *
 * maildrop (sendmail and postqueue for any local user; Postfix's old
 * world-writable maildrop, since a static multi-call binary must not be
 * setgid): the writer creates maildrop/.tmp.RANDOM with O_EXCL|O_NOFOLLOW,
 * mode 0644, writes a whole queue file in the qfile format (qfile.h;
 * arrival time, sender, recipients, content in canonical CRLF form; the
 * client fields left empty, protocol "local"), fsyncs it, and renames it
 * to maildrop/NAME (NAME: [0-9A-Za-z]{16,}, random), then sends "M" on the
 * trigger FIFO (a missing reader is fine: qmgr scans maildrop/ at start).
 * The sticky bit keeps users from removing each other's files; the
 * directory is not readable, so names cannot be listed by users.
 *
 * pickup (inside qmgr, as mail_owner) treats every maildrop file as
 * untrusted input: it opens with O_NOFOLLOW, requires a regular file with
 * one link no larger than message_size_limit + 64 KiB, parses it with
 * qfile_parse(), takes the submitting user from st_uid (never from the
 * file), copies it into a new incoming/ message (spool.h commit protocol,
 * protocol "local", client fields empty), and only then removes the
 * maildrop file. A file that does not parse is moved to corrupt/ with a
 * log line naming the uid. */
#ifndef MAILGW_QUEUE_LAYOUT_H
#define MAILGW_QUEUE_LAYOUT_H

#define LAYOUT_MAILDROP      "maildrop"
#define LAYOUT_MAILDROP_MODE 01733
#define LAYOUT_PUBLIC        "public"
#define LAYOUT_PUBLIC_MODE   0755
#define LAYOUT_TRIGGER       "public/qmgr"
#define LAYOUT_TRIGGER_MODE  0622
#define LAYOUT_PID           "pid"
#define LAYOUT_PID_MODE      0755
#define LAYOUT_MASTER_PID    "pid/master.pid"
#define LAYOUT_MASTER_SOCK   "pid/master.sock"
#define LAYOUT_MAILDROP_SLACK (64 * 1024) /* envelope bytes beyond the limit */

#endif
