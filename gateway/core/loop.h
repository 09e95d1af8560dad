/* loop - the single-threaded event loop of every mailgw process.
 *
 * One loop per process (STYLE.md rule 14). Linux epoll underneath; the API
 * learns from Redis's ae: file-descriptor events, timers, a before-sleep hook.
 * Added here: signals delivered into the loop, and a wakeup another thread
 * may call (for the helper thread that does blocking work such as fsync).
 * Every callback runs in loop context, on the loop's thread, one at a time.
 *
 * Descriptors: loop_fd_add() adds interest (LOOP_READABLE, LOOP_WRITABLE) in
 * fd and sets the fd's one callback and argument; loop_fd_del() removes
 * interest, and an fd with none left is forgotten. The callback receives the
 * ready subset of the current interest; an error or hang-up on the socket
 * reports every interested direction as ready, so the next read or write sees
 * the error. Call loop_fd_del(fd, LOOP_ALL) before close(fd): an event still
 * queued for the old fd in this iteration is then dropped, never delivered to
 * a new descriptor that reuses the number. The loop never closes caller fds.
 *
 * Timers: caller-owned struct loop_timer, usually embedded in a session, so
 * arming allocates nothing but the loop's heap slot array (amortised). A timer
 * is one-shot: it is disarmed before its callback runs, and the callback may
 * re-arm it (or free its owner). Deadlines are CLOCK_MONOTONIC milliseconds
 * (loop_clock_ms()). Timers due at the same millisecond fire in the order they
 * were armed. A timer armed from a callback with a deadline already reached
 * runs in the next iteration, after I/O, never in a busy loop. Arming and
 * cancelling cost O(log n); thousands of pending timers are cheap. A pending
 * timer must not be moved or freed: loop_timer_cancel() it first (cancelling
 * an idle timer is a no-op). Timers are how a caller puts a deadline on every
 * read, write, connect and wait (STYLE.md rule 14).
 *
 * Signals: loop_signal_add() blocks the signal in the calling thread's mask
 * and receives it through a signalfd; the callback runs in loop context, not
 * in a signal handler, so it may do anything. Register signals before
 * creating threads, so the threads inherit the blocked mask. Several
 * deliveries of one signal between two iterations may coalesce into one
 * callback, as with ordinary signals. loop_signal_del() discards a pending
 * instance and restores the signal's previous blocked state.
 *
 * Wakeup: loop_wakeup() is safe from any thread and from a signal handler.
 * It ends the current or next wait; the wakeup callback (loop_set_wakeup)
 * then runs once in loop context for one or more wakeups. A helper thread
 * queues its results under its own lock, calls loop_wakeup(), and the wakeup
 * callback collects them.
 *
 * One iteration: the before-sleep hook, the wait (until the earliest timer,
 * or forever with none), the ready descriptors (including signals and
 * wakeups), then the due timers. loop_stop() (any thread) makes loop_run()
 * return after the current iteration; called while no loop_run() is active,
 * it makes the next one return at once.
 *
 * Errors: functions that can fail return 0 or a negative errno value.
 * loop_new() and table growth allocate through mem_* (fatal on exhaustion). */
#ifndef MAILGW_CORE_LOOP_H
#define MAILGW_CORE_LOOP_H

#include <stddef.h>
#include <stdint.h>

#define LOOP_READABLE 1
#define LOOP_WRITABLE 2
#define LOOP_ALL      (LOOP_READABLE | LOOP_WRITABLE)

struct loop;
struct loop_timer;

typedef void loop_fd_fn(struct loop *lp, int fd, int ready, void *arg);
typedef void loop_timer_fn(struct loop *lp, struct loop_timer *t, void *arg);
typedef void loop_signal_fn(struct loop *lp, int signo, void *arg);
typedef void loop_hook_fn(struct loop *lp, void *arg);

/* Caller-owned; the fields are private to loop.c. */
struct loop_timer {
	uint64_t when; /* deadline, loop_clock_ms() scale */
	uint64_t seq;  /* arming order, breaks ties */
	size_t slot;   /* heap index + 1; 0 when idle */
	loop_timer_fn *fn;
	void *arg;
};

struct loop *loop_new(void);
/* Disarms pending timers, unregisters signals, closes the loop's own fds. */
void loop_free(struct loop *lp);

/* Run iterations until loop_stop(). 0 after a stop, or a negative errno if
 * epoll_wait fails (other than EINTR). Not re-entrant. */
int loop_run(struct loop *lp);
/* One iteration waiting at most max_wait_ms (-1: until the earliest timer
 * or forever). Returns the number of callbacks run, or a negative errno.
 * Not to be called from a callback (panics). */
int loop_run_once(struct loop *lp, int max_wait_ms);
void loop_stop(struct loop *lp); /* any thread; async-signal-safe */

int loop_fd_add(struct loop *lp, int fd, int mask, loop_fd_fn *fn, void *arg);
void loop_fd_del(struct loop *lp, int fd, int mask);
int loop_fd_mask(const struct loop *lp, int fd); /* current interest */

/* Monotonic clock in milliseconds (never goes back). */
uint64_t loop_clock_ms(void);
void loop_timer_init(struct loop_timer *t, loop_timer_fn *fn, void *arg);
/* Arm, or re-arm a pending timer, to fire after_ms from now. */
void loop_timer_set(struct loop *lp, struct loop_timer *t, uint64_t after_ms);
/* Arm, or re-arm, to fire at the absolute deadline when_ms. */
void loop_timer_set_at(struct loop *lp, struct loop_timer *t, uint64_t when_ms);
void loop_timer_cancel(struct loop *lp, struct loop_timer *t);
static inline int loop_timer_pending(const struct loop_timer *t)
{
	return t->slot != 0;
}

/* signo in 1.._NSIG-1, not SIGKILL/SIGSTOP; re-adding replaces fn/arg. */
int loop_signal_add(struct loop *lp, int signo, loop_signal_fn *fn, void *arg);
void loop_signal_del(struct loop *lp, int signo);

void loop_wakeup(struct loop *lp); /* any thread; async-signal-safe */
void loop_set_wakeup(struct loop *lp, loop_hook_fn *fn, void *arg);
void loop_set_before_sleep(struct loop *lp, loop_hook_fn *fn, void *arg);

#endif
