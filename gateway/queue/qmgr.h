/* qmgr - the queue manager (issue 3 "Queue", "Delivery").
 *
 * One process, one event loop. At start it removes stale temporary files
 * and rebuilds its state from the queue directories alone: active/ first
 * (a previous qmgr died: those are due), then incoming/, deferred/ (by
 * retry time) and maildrop/ (pickup). Requests arrive on the FIFO
 * public/qmgr (trigger.h); deferred/ is also scanned every
 * queue_run_delay.
 *
 * A message moves incoming/ -> active/, its to-do recipients are routed
 * (route_rcpt()) and grouped by route into jobs that run through the
 * delivery agents under per-destination and per-transport concurrency
 * limits. Every outcome is appended to the queue file before anything
 * acts on it, and synced before a notice, deferral or hold acts on it;
 * removals of finished messages are synced in groups (docs/ARCHITECTURE.md,
 * "The queue: what is synced when"). When no recipient is left the DSNs owed are queued
 * (bounce.h) and the file removed; otherwise a retry time is appended and
 * the file moves to deferred/ (or expires and bounces).
 *
 * The entry point is qmgr_service() (master/service.h). The pure
 * scheduling helpers below are exposed for unit tests. */
#ifndef MAILGW_QUEUE_QMGR_H
#define MAILGW_QUEUE_QMGR_H
#include <stdint.h>
#include "queue/qfile.h"

/* Seconds until the next attempt after `attempts` failed ones: min doubled
 * per attempt, at most max. */
int64_t qmgr_backoff(unsigned attempts, int64_t min, int64_t max);

/* 1 when a deferred message of this age (seconds) has expired. */
int qmgr_expired(int64_t age, int null_sender, int64_t lifetime,
		 int64_t bounce_lifetime);

/* 1 when recipient r asked for (or defaults to) a DSN of that kind:
 * QFILE_NOTIFY_FAILURE, _SUCCESS or _DELAY. Success needs an explicit
 * NOTIFY=SUCCESS; failure and delay are the default. */
int qmgr_notify_wanted(unsigned notify, unsigned kind);

/* 1 when address addr[0..len) is in domain (case-insensitive). */
int qmgr_rcpt_in_domain(const char *addr, size_t len, const char *domain);

#endif
