/* loop - epoll event loop with timers, signals and a cross-thread wakeup.
 *
 * Linux interfaces: epoll(7), signalfd(2), eventfd(2), CLOCK_MONOTONIC.
 * Trusts its callers (all in-process); reads nothing from the network.
 *
 * Descriptor events carry (generation << 32 | fd) as epoll user data. The
 * generation of an fd's slot changes whenever the fd is forgotten, so an
 * event queued in the current batch for a descriptor that was closed and
 * reused meanwhile no longer matches and is dropped. The loop's own eventfd
 * and signalfd use tags no real fd can produce (fds are below 2^31).
 *
 * Timers live in a binary min-heap of caller-owned structs ordered by
 * (deadline, arming sequence); each timer knows its heap slot, so cancel is
 * O(log n) without a search. */
#include "loop.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"

#define LOOP_MAX_EVENTS    256
#define LOOP_SIGINFO_BATCH 16
#define TAG_WAKEUP         UINT64_MAX
#define TAG_SIGNAL         (UINT64_MAX - 1)

struct fd_slot {
	int mask;
	uint32_t gen;
	loop_fd_fn *fn;
	void *arg;
};

struct sig_slot {
	loop_signal_fn *fn;
	void *arg;
};

struct loop {
	int epfd;
	int evfd;
	int sigfd;     /* -1 until the first loop_signal_add() */
	sigset_t sigs; /* signals taken through sigfd */
	sigset_t sigs_were_blocked;
	struct sig_slot sig[_NSIG];
	struct fd_slot *fds;
	size_t nfds;
	struct loop_timer **heap;
	size_t nheap;
	size_t capheap;
	uint64_t seq;
	loop_hook_fn *before_sleep;
	void *before_sleep_arg;
	loop_hook_fn *on_wakeup;
	void *on_wakeup_arg;
	atomic_int stop;
	int running;     /* inside loop_run() */
	int dispatching; /* inside loop_run_once() */
	struct epoll_event events[LOOP_MAX_EVENTS];
};

/* ---- clock ---- */

static uint64_t clock_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer on Linux. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t loop_clock_ms(void)
{
	return clock_ns() / 1000000u;
}

/* ---- life cycle ---- */

struct loop *loop_new(void)
{
	struct loop *lp = mem_zalloc(sizeof(*lp));
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_WAKEUP};

	lp->sigfd = -1;
	sigemptyset(&lp->sigs);
	sigemptyset(&lp->sigs_were_blocked);
	atomic_init(&lp->stop, 0);
	lp->epfd = epoll_create1(EPOLL_CLOEXEC);
	lp->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (lp->epfd < 0 || lp->evfd < 0 ||
	    epoll_ctl(lp->epfd, EPOLL_CTL_ADD, lp->evfd, &ev) < 0)
		msg_fatal("event loop: cannot create epoll/eventfd: %m");
	return lp;
}

void loop_free(struct loop *lp)
{
	if (lp == NULL)
		return;
	for (int s = 1; s < _NSIG; s++)
		if (sigismember(&lp->sigs, s) == 1)
			loop_signal_del(lp, s);
	for (size_t i = 0; i < lp->nheap; i++)
		lp->heap[i]->slot = 0;
	if (lp->sigfd >= 0)
		close(lp->sigfd);
	close(lp->evfd);
	close(lp->epfd);
	mem_free(lp->heap);
	mem_free(lp->fds);
	mem_free(lp);
}

void loop_set_before_sleep(struct loop *lp, loop_hook_fn *fn, void *arg)
{
	lp->before_sleep = fn;
	lp->before_sleep_arg = arg;
}

void loop_set_wakeup(struct loop *lp, loop_hook_fn *fn, void *arg)
{
	lp->on_wakeup = fn;
	lp->on_wakeup_arg = arg;
}

void loop_wakeup(struct loop *lp)
{
	uint64_t one = 1;
	int saved = errno;

	/* EAGAIN means the counter is saturated: a wakeup is pending anyway. */
	if (write(lp->evfd, &one, sizeof(one)) < 0)
		errno = saved;
}

void loop_stop(struct loop *lp)
{
	atomic_store(&lp->stop, 1);
	loop_wakeup(lp);
}

/* ---- descriptors ---- */

static uint32_t to_epoll(int mask)
{
	return (mask & LOOP_READABLE ? EPOLLIN : 0) |
	       (mask & LOOP_WRITABLE ? EPOLLOUT : 0);
}

static void fds_grow(struct loop *lp, int fd)
{
	size_t n = lp->nfds ? lp->nfds : 64;

	while (n <= (size_t)fd)
		n *= 2;
	lp->fds = mem_realloc(lp->fds, n * sizeof(*lp->fds));
	memset(lp->fds + lp->nfds, 0, (n - lp->nfds) * sizeof(*lp->fds));
	lp->nfds = n;
}

int loop_fd_add(struct loop *lp, int fd, int mask, loop_fd_fn *fn, void *arg)
{
	struct fd_slot *s;
	struct epoll_event ev;
	int op;

	if (fd < 0)
		return -EBADF;
	if (mask == 0 || (mask & ~LOOP_ALL) || fn == NULL)
		return -EINVAL;
	if ((size_t)fd >= lp->nfds)
		fds_grow(lp, fd);
	s = &lp->fds[fd];
	ev.events = to_epoll(s->mask | mask);
	ev.data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd;
	op = s->mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(lp->epfd, op, fd, &ev) < 0) {
		if (op != EPOLL_CTL_MOD || errno != ENOENT)
			return -errno;
		/* The old fd was closed without loop_fd_del(): start over. */
		s->gen++;
		s->mask = 0;
		ev.data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd;
		if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
	}
	s->mask |= mask;
	s->fn = fn;
	s->arg = arg;
	return 0;
}

void loop_fd_del(struct loop *lp, int fd, int mask)
{
	struct fd_slot *s;
	struct epoll_event ev;

	if (fd < 0 || (size_t)fd >= lp->nfds || lp->fds[fd].mask == 0)
		return;
	s = &lp->fds[fd];
	s->mask &= ~mask;
	if (s->mask) {
		ev.events = to_epoll(s->mask);
		ev.data.u64 = (uint64_t)s->gen << 32 | (uint32_t)fd;
		if (epoll_ctl(lp->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
			return;
		s->mask = 0; /* fd already closed: forget it */
	} else {
		/* Fails harmlessly if fd was closed already. */
		(void)epoll_ctl(lp->epfd, EPOLL_CTL_DEL, fd, NULL);
	}
	s->gen++;
	s->fn = NULL;
	s->arg = NULL;
}

int loop_fd_mask(const struct loop *lp, int fd)
{
	if (fd < 0 || (size_t)fd >= lp->nfds)
		return 0;
	return lp->fds[fd].mask;
}

static int dispatch_fd(struct loop *lp, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	struct fd_slot *s;
	int ready = 0;

	if ((size_t)fd >= lp->nfds)
		return 0;
	s = &lp->fds[fd];
	if (s->gen != gen || s->mask == 0)
		return 0;
	if (ev->events & (EPOLLERR | EPOLLHUP))
		ready = LOOP_ALL;
	if (ev->events & EPOLLIN)
		ready |= LOOP_READABLE;
	if (ev->events & EPOLLOUT)
		ready |= LOOP_WRITABLE;
	ready &= s->mask;
	if (ready == 0)
		return 0;
	s->fn(lp, fd, ready, s->arg);
	return 1;
}

/* ---- timers ---- */

static int timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_place(struct loop *lp, size_t i, struct loop_timer *t)
{
	lp->heap[i] = t;
	t->slot = i + 1;
}

static void heap_up(struct loop *lp, size_t i)
{
	struct loop_timer *t = lp->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!timer_before(t, lp->heap[parent]))
			break;
		heap_place(lp, i, lp->heap[parent]);
		i = parent;
	}
	heap_place(lp, i, t);
}

static void heap_down(struct loop *lp, size_t i)
{
	struct loop_timer *t = lp->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= lp->nheap)
			break;
		if (c + 1 < lp->nheap &&
		    timer_before(lp->heap[c + 1], lp->heap[c]))
			c++;
		if (!timer_before(lp->heap[c], t))
			break;
		heap_place(lp, i, lp->heap[c]);
		i = c;
	}
	heap_place(lp, i, t);
}

static void heap_remove(struct loop *lp, struct loop_timer *t)
{
	size_t i = t->slot - 1;
	struct loop_timer *last = lp->heap[--lp->nheap];

	t->slot = 0;
	if (i == lp->nheap)
		return;
	heap_place(lp, i, last);
	if (i > 0 && timer_before(last, lp->heap[(i - 1) / 2]))
		heap_up(lp, i);
	else
		heap_down(lp, i);
}

void loop_timer_init(struct loop_timer *t, loop_timer_fn *fn, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
}

void loop_timer_cancel(struct loop *lp, struct loop_timer *t)
{
	if (t->slot)
		heap_remove(lp, t);
}

void loop_timer_set_at(struct loop *lp, struct loop_timer *t, uint64_t when_ms)
{
	loop_timer_cancel(lp, t);
	if (lp->nheap == lp->capheap) {
		lp->capheap = lp->capheap ? lp->capheap * 2 : 64;
		lp->heap =
			mem_realloc(lp->heap, lp->capheap * sizeof(*lp->heap));
	}
	t->when = when_ms;
	t->seq = ++lp->seq;
	lp->heap[lp->nheap] = t;
	heap_up(lp, lp->nheap++);
}

void loop_timer_set(struct loop *lp, struct loop_timer *t, uint64_t after_ms)
{
	/* Round the present up to the next millisecond so a timer never
	 * fires before after_ms have really passed; a zero timer ("on the
	 * next pass") is due at once, not a millisecond of epoll later. */
	uint64_t now = after_ms == 0 ? loop_clock_ms()
				     : (clock_ns() + 999999u) / 1000000u;

	loop_timer_set_at(lp, t,
			  after_ms > UINT64_MAX - now ? UINT64_MAX
						      : now + after_ms);
}

/* Run the timers due now that were armed before this pass began; one
 * re-armed by its own callback waits for the next iteration. */
static int run_timers(struct loop *lp)
{
	uint64_t now = loop_clock_ms();
	uint64_t last_seq = lp->seq;
	int n = 0;

	while (lp->nheap > 0) {
		struct loop_timer *t = lp->heap[0];

		if (t->when > now || t->seq > last_seq)
			break;
		heap_remove(lp, t);
		t->fn(lp, t, t->arg);
		n++;
	}
	return n;
}

/* Milliseconds until the earliest timer, capped by max_wait (-1: none). */
static int wait_ms(const struct loop *lp, int max_wait)
{
	uint64_t now, delta;

	if (atomic_load(&lp->stop))
		return 0;
	if (lp->nheap == 0)
		return max_wait;
	now = loop_clock_ms();
	delta = lp->heap[0]->when > now ? lp->heap[0]->when - now : 0;
	if (max_wait >= 0 && delta > (uint64_t)max_wait)
		return max_wait;
	return delta > INT_MAX ? INT_MAX : (int)delta;
}

/* ---- signals ---- */

int loop_signal_add(struct loop *lp, int signo, loop_signal_fn *fn, void *arg)
{
	sigset_t one, old, want;
	int fd, r;

	if (signo <= 0 || signo >= _NSIG || signo == SIGKILL ||
	    signo == SIGSTOP || fn == NULL)
		return -EINVAL;
	if (sigismember(&lp->sigs, signo) != 1) {
		want = lp->sigs;
		sigemptyset(&one);
		if (sigaddset(&one, signo) < 0 || sigaddset(&want, signo) < 0)
			return -EINVAL;
		r = pthread_sigmask(SIG_BLOCK, &one, &old);
		if (r != 0)
			return -r;
		fd = signalfd(lp->sigfd, &want, SFD_NONBLOCK | SFD_CLOEXEC);
		if (fd >= 0 && lp->sigfd < 0) {
			struct epoll_event ev = {.events = EPOLLIN,
						 .data.u64 = TAG_SIGNAL};

			if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
				r = errno;
				close(fd);
				fd = -1;
				errno = r;
			}
		}
		if (fd < 0) {
			r = -errno;
			if (sigismember(&old, signo) != 1)
				pthread_sigmask(SIG_UNBLOCK, &one, NULL);
			return r;
		}
		lp->sigfd = fd;
		lp->sigs = want;
		if (sigismember(&old, signo) == 1)
			sigaddset(&lp->sigs_were_blocked, signo);
	}
	lp->sig[signo].fn = fn;
	lp->sig[signo].arg = arg;
	return 0;
}

void loop_signal_del(struct loop *lp, int signo)
{
	static const struct timespec zero;
	sigset_t one;

	if (signo <= 0 || signo >= _NSIG || sigismember(&lp->sigs, signo) != 1)
		return;
	sigdelset(&lp->sigs, signo);
	lp->sig[signo].fn = NULL;
	lp->sig[signo].arg = NULL;
	/* Narrowing the mask of an existing signalfd does not fail. */
	(void)signalfd(lp->sigfd, &lp->sigs, 0);
	sigemptyset(&one);
	sigaddset(&one, signo);
	while (sigtimedwait(&one, NULL, &zero) > 0)
		; /* discard a pending instance */
	if (sigismember(&lp->sigs_were_blocked, signo) == 1)
		sigdelset(&lp->sigs_were_blocked, signo);
	else
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
}

static int read_signals(struct loop *lp)
{
	struct signalfd_siginfo si[LOOP_SIGINFO_BATCH];
	int n = 0;

	for (;;) {
		ssize_t r = read(lp->sigfd, si, sizeof(si));

		if (r < (ssize_t)sizeof(si[0]))
			return n; /* EAGAIN: drained */
		for (size_t i = 0; i < (size_t)r / sizeof(si[0]); i++) {
			int s = (int)si[i].ssi_signo;

			if (s > 0 && s < _NSIG && lp->sig[s].fn) {
				lp->sig[s].fn(lp, s, lp->sig[s].arg);
				n++;
			}
		}
	}
}

static int read_wakeup(struct loop *lp)
{
	uint64_t v;

	if (read(lp->evfd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	if (lp->on_wakeup == NULL)
		return 0;
	lp->on_wakeup(lp, lp->on_wakeup_arg);
	return 1;
}

/* ---- the loop ---- */

int loop_run_once(struct loop *lp, int max_wait_ms)
{
	int n, done = 0;

	/* A nested call would reuse events[] while it is being walked. */
	if (lp->dispatching)
		msg_panic("loop_run_once: called from inside a callback");
	lp->dispatching = 1;
	if (lp->before_sleep)
		lp->before_sleep(lp, lp->before_sleep_arg);
	n = epoll_wait(lp->epfd, lp->events, LOOP_MAX_EVENTS,
		       wait_ms(lp, max_wait_ms));
	if (n < 0) {
		if (errno != EINTR) {
			lp->dispatching = 0;
			return -errno;
		}
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		const struct epoll_event *ev = &lp->events[i];

		if (ev->data.u64 == TAG_WAKEUP)
			done += read_wakeup(lp);
		else if (ev->data.u64 == TAG_SIGNAL)
			done += read_signals(lp);
		else
			done += dispatch_fd(lp, ev);
	}
	done += run_timers(lp);
	lp->dispatching = 0;
	return done;
}

int loop_run(struct loop *lp)
{
	int r = 0;

	if (lp->running)
		msg_panic("loop_run: called from inside the loop");
	lp->running = 1;
	while (!atomic_load(&lp->stop)) {
		r = loop_run_once(lp, -1);
		if (r < 0)
			break;
		r = 0;
	}
	atomic_store(&lp->stop, 0);
	lp->running = 0;
	return r;
}
