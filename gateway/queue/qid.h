/* qid - queue IDs: short, unique among live queue files, sorted by arrival.
 *
 * A queue ID is the name of a message's file in every queue directory and
 * the "QUEUEID:" of its log lines. It is built from three numbers:
 *
 *   seconds      6 characters  arrival time, seconds since the epoch
 *   microseconds 4 characters  arrival time, microseconds (0..999999)
 *   inode        1-12 chars    inode number of the queue file, no padding
 *
 * each written in base 52 with the alphabet 0-9, B-Z and b-z without
 * vowels (as Postfix's long queue IDs: no words by accident). The alphabet
 * is in ASCII order and the time fields have a fixed width, so comparing two
 * IDs with strcmp() orders them by arrival time (to the microsecond); for
 * the same microsecond the order is by inode, which is arbitrary but stable.
 * The seconds field lasts until the year 2596.
 *
 * Uniqueness: all queue directories live on one file system (moves are
 * renames), and two files that exist at the same time on one file system
 * never share an inode number. So two live queue files never have the same
 * ID, whatever the clock does, whichever process made them and however often
 * the system restarted. An ID can come back only after its file is gone,
 * and then only if a new file gets the same inode in the same microsecond
 * by the clock: that takes the clock to be stepped back, and even then the
 * spool refuses to overwrite (spool.h: renames never replace a file).
 *
 * Pure functions, no I/O, no clock: the caller passes the time and inode. */
#ifndef MAILGW_QUEUE_QID_H
#define MAILGW_QUEUE_QID_H

#include <stddef.h>
#include <stdint.h>

#define QID_SEC_WIDTH  6
#define QID_USEC_WIDTH 4
#define QID_INO_MAX    12 /* 52^12 > 2^64 */
#define QID_LEN_MIN    (QID_SEC_WIDTH + QID_USEC_WIDTH + 1)
#define QID_LEN_MAX    (QID_SEC_WIDTH + QID_USEC_WIDTH + QID_INO_MAX)
#define QID_SIZE       (QID_LEN_MAX + 1) /* room for the NUL */

#define QID_ERR_RANGE  (-1) /* time out of the representable range */
#define QID_ERR_SYNTAX (-2) /* not a queue ID */

/* Write the ID for (sec, usec, ino) and a NUL into out[QID_SIZE]. Returns
 * its length, or QID_ERR_RANGE when sec < 0, sec >= 52^6 or usec is not in
 * 0..999999. */
int qid_format(char out[QID_SIZE], int64_t sec, long usec, uint64_t ino);

/* Decode an ID of len bytes (no NUL needed). Returns 0, or QID_ERR_SYNTAX
 * for anything qid_format() does not produce (wrong length or alphabet,
 * microseconds > 999999, inode with a leading zero digit or overflow). Any
 * output pointer may be NULL. */
int qid_parse(const char *s, size_t len, int64_t *sec, long *usec,
	      uint64_t *ino);

/* 1 when the NUL-terminated s is a queue ID (qid_parse() accepts it). */
int qid_valid(const char *s);

#endif
