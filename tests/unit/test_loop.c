/* test_loop - the event loop: fd events, timers, signals, wakeup, hooks. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "core/loop.h"
#include "core/mem.h"

/* Every test bounds its own waiting: no test can hang the suite. */
#define WAIT_MS 2000

struct fd_rec {
	int calls;
	int ready;
	int fd;
	char got[16];
	size_t ngot;
};

static void on_fd(struct loop *lp, int fd, int ready, void *arg)
{
	struct fd_rec *r = arg;
	ssize_t n;

	(void)lp;
	r->calls++;
	r->ready = ready;
	r->fd = fd;
	if (ready & LOOP_READABLE) {
		n = read(fd, r->got + r->ngot, sizeof(r->got) - r->ngot);
		if (n > 0)
			r->ngot += (size_t)n;
	}
}

static void make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX,
				    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				    0, sv),
			 0);
}

static void test_fd_read_write(void **state)
{
	struct loop *lp = loop_new();
	struct fd_rec rd = {0}, wr = {0};
	int sv[2];

	(void)state;
	make_pair(sv);
	assert_int_equal(loop_fd_add(lp, sv[0], LOOP_READABLE, on_fd, &rd), 0);
	assert_int_equal(loop_fd_mask(lp, sv[0]), LOOP_READABLE);

	/* Nothing to read: the wait times out with no callback. */
	assert_int_equal(loop_run_once(lp, 10), 0);
	assert_int_equal(rd.calls, 0);

	assert_int_equal(write(sv[1], "ping", 4), 4);
	assert_int_equal(loop_run_once(lp, WAIT_MS), 1);
	assert_int_equal(rd.calls, 1);
	assert_int_equal(rd.ready, LOOP_READABLE);
	assert_int_equal(rd.ngot, 4);
	assert_memory_equal(rd.got, "ping", 4);

	/* A writable socket reports at once; removing interest stops it. */
	assert_int_equal(loop_fd_add(lp, sv[1], LOOP_WRITABLE, on_fd, &wr), 0);
	assert_int_equal(loop_run_once(lp, WAIT_MS), 1);
	assert_int_equal(wr.calls, 1);
	assert_int_equal(wr.ready, LOOP_WRITABLE);
	assert_int_equal(wr.fd, sv[1]);
	loop_fd_del(lp, sv[1], LOOP_WRITABLE);
	assert_int_equal(loop_fd_mask(lp, sv[1]), 0);
	assert_int_equal(loop_run_once(lp, 10), 0);
	assert_int_equal(wr.calls, 1);

	/* Both directions on one fd: the ready set is the intersection. */
	assert_int_equal(loop_fd_add(lp, sv[0], LOOP_WRITABLE, on_fd, &rd), 0);
	assert_int_equal(loop_fd_mask(lp, sv[0]), LOOP_ALL);
	rd.calls = 0;
	assert_int_equal(loop_run_once(lp, WAIT_MS), 1);
	assert_int_equal(rd.ready, LOOP_WRITABLE);
	loop_fd_del(lp, sv[0], LOOP_WRITABLE);
	assert_int_equal(loop_fd_mask(lp, sv[0]), LOOP_READABLE);

	/* Hang-up reads as readable; read() then sees end of file. */
	close(sv[1]);
	rd.calls = 0;
	rd.ngot = 0;
	assert_int_equal(loop_run_once(lp, WAIT_MS), 1);
	assert_int_equal(rd.calls, 1);
	assert_true(rd.ready & LOOP_READABLE);
	assert_int_equal(rd.ngot, 0);

	loop_fd_del(lp, sv[0], LOOP_ALL);
	close(sv[0]);
	loop_free(lp);
}

static void test_fd_bad_args(void **state)
{
	struct loop *lp = loop_new();
	struct fd_rec r = {0};
	int sv[2];

	(void)state;
	make_pair(sv);
	assert_int_equal(loop_fd_add(lp, -1, LOOP_READABLE, on_fd, &r), -EBADF);
	assert_int_equal(loop_fd_add(lp, sv[0], 0, on_fd, &r), -EINVAL);
	assert_int_equal(loop_fd_add(lp, sv[0], 4, on_fd, &r), -EINVAL);
	assert_int_equal(loop_fd_add(lp, sv[0], LOOP_READABLE, NULL, &r),
			 -EINVAL);
	/* A descriptor that is not open. */
	assert_int_equal(loop_fd_add(lp, 1000, LOOP_READABLE, on_fd, &r),
			 -EBADF);
	assert_int_equal(loop_fd_mask(lp, 1000), 0);
	assert_int_equal(loop_fd_mask(lp, -5), 0);
	loop_fd_del(lp, 1000, LOOP_ALL); /* harmless */
	loop_fd_del(lp, -1, LOOP_ALL);

	/* Closed without loop_fd_del(), number reused: adding works again. */
	assert_int_equal(loop_fd_add(lp, sv[0], LOOP_READABLE, on_fd, &r), 0);
	close(sv[0]);
	close(sv[1]);
	make_pair(sv);
	assert_int_equal(loop_fd_add(lp, sv[0], LOOP_WRITABLE, on_fd, &r), 0);
	assert_int_equal(loop_fd_mask(lp, sv[0]), LOOP_WRITABLE);
	assert_int_equal(loop_run_once(lp, WAIT_MS), 1);
	assert_int_equal(r.ready, LOOP_WRITABLE);
	loop_fd_del(lp, sv[0], LOOP_ALL);
	close(sv[0]);
	close(sv[1]);
	loop_free(lp);
}

/* Two sockets ready in one batch; whichever runs first closes the other
 * and puts a fresh readable socket under the same number. The event queued
 * for the old socket must not reach the new one in the same iteration. */
struct stale {
	int a[2], b[2];
	int first_calls;
	int fresh_calls;
};

static void on_fresh(struct loop *lp, int fd, int ready, void *arg)
{
	struct stale *st = arg;

	(void)lp;
	(void)fd;
	(void)ready;
	st->fresh_calls++;
}

static void on_first(struct loop *lp, int fd, int ready, void *arg)
{
	struct stale *st = arg;
	int victim = fd == st->a[0] ? st->b[0] : st->a[0];
	int sv[2];

	(void)ready;
	st->first_calls++;
	loop_fd_del(lp, victim, LOOP_ALL);
	loop_fd_del(lp, fd, LOOP_ALL);
	make_pair(sv);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_int_equal(dup3(sv[0], victim, O_CLOEXEC), victim);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(loop_fd_add(lp, victim, LOOP_READABLE, on_fresh, st),
			 0);
}

static void test_fd_stale_event_dropped(void **state)
{
	struct loop *lp = loop_new();
	struct stale st = {0};

	(void)state;
	make_pair(st.a);
	make_pair(st.b);
	assert_int_equal(write(st.a[1], "1", 1), 1);
	assert_int_equal(write(st.b[1], "2", 1), 1);
	assert_int_equal(loop_fd_add(lp, st.a[0], LOOP_READABLE, on_first, &st),
			 0);
	assert_int_equal(loop_fd_add(lp, st.b[0], LOOP_READABLE, on_first, &st),
			 0);
	assert_int_equal(loop_run_once(lp, WAIT_MS), 1);
	assert_int_equal(st.first_calls, 1);
	assert_int_equal(st.fresh_calls, 0);
	/* The fresh socket is readable: it reports in the next iteration. */
	assert_int_equal(loop_run_once(lp, WAIT_MS), 1);
	assert_int_equal(st.fresh_calls, 1);

	for (int fd = 0; fd < 1024; fd++)
		if (loop_fd_mask(lp, fd))
			loop_fd_del(lp, fd, LOOP_ALL);
	close(st.a[0]);
	close(st.a[1]);
	close(st.b[0]);
	close(st.b[1]);
	loop_free(lp);
}

/* ---- timers ---- */

struct order {
	int seen[64];
	int n;
};

struct tagged {
	struct loop_timer t;
	struct order *o;
	int tag;
};

static void on_tagged(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct tagged *x = arg;

	(void)lp;
	assert_ptr_equal(t, &x->t);
	assert_false(loop_timer_pending(t)); /* disarmed before the call */
	x->o->seen[x->o->n++] = x->tag;
}

static void tags_init(struct tagged *x, int n, struct order *o)
{
	for (int i = 0; i < n; i++) {
		loop_timer_init(&x[i].t, on_tagged, &x[i]);
		x[i].o = o;
		x[i].tag = i;
	}
}

static void run_until(struct loop *lp, int *done_flag, int want)
{
	uint64_t deadline = loop_clock_ms() + WAIT_MS;

	while (*done_flag < want && loop_clock_ms() < deadline)
		assert_true(loop_run_once(lp, 50) >= 0);
	assert_int_equal(*done_flag, want);
}

static void test_timer_order(void **state)
{
	struct loop *lp = loop_new();
	struct order o = {0};
	struct tagged x[5];
	uint64_t base = loop_clock_ms();

	(void)state;
	tags_init(x, 5, &o);
	loop_timer_set_at(lp, &x[0].t, base + 30);
	loop_timer_set_at(lp, &x[1].t, base + 10);
	loop_timer_set_at(lp, &x[2].t, base + 20);
	loop_timer_set_at(lp, &x[3].t, base + 10); /* tie: after x[1] */
	loop_timer_set(lp, &x[4].t, 0);            /* due at once */
	assert_true(loop_timer_pending(&x[0].t));
	run_until(lp, &o.n, 5);
	assert_int_equal(o.seen[0], 4);
	assert_int_equal(o.seen[1], 1);
	assert_int_equal(o.seen[2], 3);
	assert_int_equal(o.seen[3], 2);
	assert_int_equal(o.seen[4], 0);
	for (int i = 0; i < 5; i++)
		assert_false(loop_timer_pending(&x[i].t));
	loop_free(lp);
}

static void test_timer_not_early(void **state)
{
	struct loop *lp = loop_new();
	struct order o = {0};
	struct tagged x = {.o = &o};
	struct timespec a, b;
	long elapsed_us;

	(void)state;
	loop_timer_init(&x.t, on_tagged, &x);
	clock_gettime(CLOCK_MONOTONIC, &a);
	loop_timer_set(lp, &x.t, 30);
	run_until(lp, &o.n, 1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	elapsed_us = (b.tv_sec - a.tv_sec) * 1000000L +
		     (b.tv_nsec - a.tv_nsec) / 1000;
	assert_true(elapsed_us >= 30000);
	loop_free(lp);
}

/* A zero timer runs on the next pass even when that pass may not wait:
 * due at once, not at the next whole millisecond (which cost every
 * hosts-file answer a millisecond of epoll). */
static void test_timer_zero_no_wait(void **state)
{
	struct loop *lp = loop_new();
	struct order o = {0};
	struct tagged x[20];

	(void)state;
	tags_init(x, 20, &o);
	for (int i = 0; i < 20; i++) {
		loop_timer_set(lp, &x[i].t, 0);
		assert_true(loop_run_once(lp, 0) >= 0);
		assert_int_equal(o.n, i + 1);
	}
	loop_free(lp);
}

struct canceller {
	struct loop_timer t;
	struct loop_timer *victim;
	int calls;
};

static void on_cancel_other(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct canceller *c = arg;

	(void)t;
	c->calls++;
	loop_timer_cancel(lp, c->victim);
}

static void test_timer_cancel(void **state)
{
	struct loop *lp = loop_new();
	struct order o = {0};
	struct tagged x[4];
	struct canceller c = {0};
	uint64_t base = loop_clock_ms();

	(void)state;
	tags_init(x, 4, &o);
	/* Cancelling an idle timer is a no-op, twice too. */
	loop_timer_cancel(lp, &x[0].t);
	loop_timer_set_at(lp, &x[0].t, base + 5);
	loop_timer_set_at(lp, &x[1].t, base + 5);
	loop_timer_set_at(lp, &x[2].t, base + 5);
	loop_timer_cancel(lp, &x[1].t);
	loop_timer_cancel(lp, &x[1].t);
	assert_false(loop_timer_pending(&x[1].t));

	/* A timer cancels another due in the same pass. */
	loop_timer_init(&c.t, on_cancel_other, &c);
	c.victim = &x[3].t;
	loop_timer_set_at(lp, &c.t, base + 10);
	loop_timer_set_at(lp, &x[3].t, base + 10);

	/* Re-arming a pending timer moves it. */
	loop_timer_set_at(lp, &x[0].t, base + 15);

	run_until(lp, &o.n, 2);
	assert_int_equal(o.seen[0], 2);
	assert_int_equal(o.seen[1], 0);
	assert_int_equal(c.calls, 1);
	assert_false(loop_timer_pending(&x[3].t));
	assert_int_equal(loop_run_once(lp, 20), 0);
	assert_int_equal(o.n, 2);
	loop_free(lp);
}

struct rearm {
	struct loop_timer t;
	int calls;
};

static void on_rearm(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct rearm *r = arg;

	/* A deadline already reached, the worst case for a busy loop. */
	if (++r->calls < 5)
		loop_timer_set_at(lp, t, loop_clock_ms() - (r->calls & 1));
}

static void test_timer_rearm_from_callback(void **state)
{
	struct loop *lp = loop_new();
	struct rearm r = {0};

	(void)state;
	loop_timer_init(&r.t, on_rearm, &r);
	loop_timer_set(lp, &r.t, 0);
	/* One run per iteration: re-arming never spins inside one pass. */
	for (int i = 1; i <= 5; i++) {
		uint64_t deadline = loop_clock_ms() + WAIT_MS;

		while (r.calls < i && loop_clock_ms() < deadline)
			assert_in_range(loop_run_once(lp, 50), 0, 1);
		assert_int_equal(r.calls, i);
	}
	assert_false(loop_timer_pending(&r.t));
	loop_free(lp);
}

struct owned {
	struct loop_timer t;
	int *freed;
};

static void on_free_owner(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct owned *o = arg;

	(void)lp;
	(void)t;
	(*o->freed)++;
	mem_free(o);
}

static void test_timer_callback_frees_owner(void **state)
{
	struct loop *lp = loop_new();
	int freed = 0;

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct owned *o = mem_zalloc(sizeof(*o));

		o->freed = &freed;
		loop_timer_init(&o->t, on_free_owner, o);
		loop_timer_set(lp, &o->t, (uint64_t)i);
	}
	run_until(lp, &freed, 3);
	loop_free(lp);
}

static void test_timer_free_with_pending(void **state)
{
	struct loop *lp = loop_new();
	struct order o = {0};
	struct tagged x = {.o = &o};

	(void)state;
	loop_timer_init(&x.t, on_tagged, &x);
	loop_timer_set(lp, &x.t, 100000);
	assert_true(loop_timer_pending(&x.t));
	loop_free(lp);
	assert_false(loop_timer_pending(&x.t));
	assert_int_equal(o.n, 0);
}

/* Thousands of timers: random deadlines, a third cancelled; the rest fire
 * in deadline order, each once, and the cancelled never. */
#define MANY 20000

struct many {
	struct loop_timer t;
	int fired;
	int cancelled;
};

static uint64_t many_last;
static int many_fired;

static void on_many(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct many *m = arg;

	(void)lp;
	assert_false(m->cancelled);
	assert_true(t->when >= many_last);
	many_last = t->when;
	m->fired++;
	many_fired++;
}

static void test_timer_many(void **state)
{
	struct loop *lp = loop_new();
	struct many *m = mem_zalloc(MANY * sizeof(*m));
	uint64_t base = loop_clock_ms();
	unsigned seed = 12345;
	int want = 0;

	(void)state;
	many_last = 0;
	many_fired = 0;
	for (int i = 0; i < MANY; i++) {
		seed = seed * 1103515245u + 12345u;
		loop_timer_init(&m[i].t, on_many, &m[i]);
		loop_timer_set_at(lp, &m[i].t, base + (seed >> 16) % 60);
	}
	/* Re-arm some to later deadlines, cancel every third. */
	for (int i = 0; i < MANY; i += 7)
		loop_timer_set_at(lp, &m[i].t, base + 60 + (uint64_t)(i % 13));
	for (int i = 0; i < MANY; i += 3) {
		loop_timer_cancel(lp, &m[i].t);
		m[i].cancelled = 1;
	}
	for (int i = 0; i < MANY; i++)
		want += !m[i].cancelled;
	run_until(lp, &many_fired, want);
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(m[i].fired, m[i].cancelled ? 0 : 1);
		assert_false(loop_timer_pending(&m[i].t));
	}
	mem_free(m);
	loop_free(lp);
}

/* ---- signals ---- */

struct sigrec {
	int calls;
	int signo;
};

static void on_signal(struct loop *lp, int signo, void *arg)
{
	struct sigrec *r = arg;

	(void)lp;
	r->calls++;
	r->signo = signo;
}

static int is_blocked(int signo)
{
	sigset_t cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, signo) == 1;
}

static void test_signal_raise(void **state)
{
	struct loop *lp = loop_new();
	struct sigrec r1 = {0}, r2 = {0};

	(void)state;
	assert_false(is_blocked(SIGUSR1));
	assert_int_equal(loop_signal_add(lp, SIGUSR1, on_signal, &r1), 0);
	assert_int_equal(loop_signal_add(lp, SIGUSR2, on_signal, &r2), 0);
	assert_true(is_blocked(SIGUSR1));

	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(loop_run_once(lp, WAIT_MS), 1);
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r1.signo, SIGUSR1);
	assert_int_equal(r2.calls, 0);

	/* Both at once, then nothing left over. */
	assert_int_equal(raise(SIGUSR2), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(loop_run_once(lp, WAIT_MS), 2);
	assert_int_equal(r1.calls, 2);
	assert_int_equal(r2.calls, 1);
	assert_int_equal(loop_run_once(lp, 10), 0);

	/* Re-adding replaces the callback argument. */
	assert_int_equal(loop_signal_add(lp, SIGUSR2, on_signal, &r1), 0);
	assert_int_equal(raise(SIGUSR2), 0);
	assert_int_equal(loop_run_once(lp, WAIT_MS), 1);
	assert_int_equal(r1.calls, 3);
	assert_int_equal(r1.signo, SIGUSR2);

	/* Removing a signal with one pending discards it, then unblocks:
	 * SIGUSR1's default action would end this test otherwise. */
	assert_int_equal(raise(SIGUSR1), 0);
	loop_signal_del(lp, SIGUSR1);
	assert_false(is_blocked(SIGUSR1));
	loop_signal_del(lp, SIGUSR1); /* twice: no-op */
	assert_true(is_blocked(SIGUSR2));
	loop_free(lp);
	assert_false(is_blocked(SIGUSR2));
}

static void test_signal_bad_args(void **state)
{
	struct loop *lp = loop_new();
	struct sigrec r = {0};
	sigset_t one;

	(void)state;
	assert_int_equal(loop_signal_add(lp, 0, on_signal, &r), -EINVAL);
	assert_int_equal(loop_signal_add(lp, SIGKILL, on_signal, &r), -EINVAL);
	assert_int_equal(loop_signal_add(lp, SIGSTOP, on_signal, &r), -EINVAL);
	assert_int_equal(loop_signal_add(lp, 1000, on_signal, &r), -EINVAL);
	assert_int_equal(loop_signal_add(lp, SIGHUP, NULL, &r), -EINVAL);

	/* A signal blocked before stays blocked after loop_signal_del(). */
	sigemptyset(&one);
	sigaddset(&one, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &one, NULL);
	assert_int_equal(loop_signal_add(lp, SIGHUP, on_signal, &r), 0);
	loop_signal_del(lp, SIGHUP);
	assert_true(is_blocked(SIGHUP));
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	loop_free(lp);
}

/* ---- wakeup, stop, hooks ---- */

struct waker {
	struct loop *lp;
	int wakeups;
	int stop_direct;
};

static void *waker_thread(void *arg)
{
	struct waker *w = arg;
	struct timespec ts = {0, 20 * 1000000L};

	nanosleep(&ts, NULL);
	if (w->stop_direct) {
		loop_stop(w->lp);
	} else {
		for (int i = 0; i < 3; i++)
			loop_wakeup(w->lp);
	}
	return NULL;
}

static void on_wakeup(struct loop *lp, void *arg)
{
	struct waker *w = arg;

	w->wakeups++;
	loop_stop(lp);
}

static void on_deadline(struct loop *lp, struct loop_timer *t, void *arg)
{
	(void)lp;
	(void)t;
	fail_msg("deadline passed: %s", (const char *)arg);
}

static void test_wakeup_from_thread(void **state)
{
	struct loop *lp = loop_new();
	struct waker w = {.lp = lp};
	struct loop_timer guard;
	pthread_t th;

	(void)state;
	loop_timer_init(&guard, on_deadline, "no wakeup");
	loop_timer_set(lp, &guard, WAIT_MS);
	loop_set_wakeup(lp, on_wakeup, &w);
	assert_int_equal(pthread_create(&th, NULL, waker_thread, &w), 0);
	assert_int_equal(loop_run(lp), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.wakeups, 1);

	/* Several wakeups before the loop looks coalesce into one call. */
	w.wakeups = 0;
	(void)loop_run_once(lp, 0); /* take the stop's own wakeup */
	w.wakeups = 0;
	loop_wakeup(lp);
	loop_wakeup(lp);
	loop_wakeup(lp);
	assert_int_equal(loop_run_once(lp, WAIT_MS), 1);
	assert_int_equal(w.wakeups, 1);
	loop_run(lp); /* the callback stopped the loop: returns at once */
	loop_timer_cancel(lp, &guard);
	loop_free(lp);
}

static void test_stop_from_thread(void **state)
{
	struct loop *lp = loop_new();
	struct waker w = {.lp = lp, .stop_direct = 1};
	struct loop_timer guard;
	pthread_t th;

	(void)state;
	loop_timer_init(&guard, on_deadline, "no stop");
	loop_timer_set(lp, &guard, WAIT_MS);
	assert_int_equal(pthread_create(&th, NULL, waker_thread, &w), 0);
	assert_int_equal(loop_run(lp), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.wakeups, 0); /* no wakeup callback set */

	/* A stop before loop_run() makes it return at once, and is used up. */
	loop_stop(lp);
	assert_int_equal(loop_run(lp), 0);
	assert_true(loop_timer_pending(&guard));
	loop_timer_cancel(lp, &guard);
	loop_free(lp);
}

struct hookrec {
	int before;
	int fired;
	struct loop_timer t;
};

static void on_before_sleep(struct loop *lp, void *arg)
{
	struct hookrec *h = arg;

	h->before++;
	/* The hook may arm a timer; the wait must honour it. */
	if (h->before == 1)
		loop_timer_set(lp, &h->t, 5);
}

static void on_hook_timer(struct loop *lp, struct loop_timer *t, void *arg)
{
	struct hookrec *h = arg;

	(void)t;
	h->fired++;
	loop_stop(lp);
}

static void test_before_sleep(void **state)
{
	struct loop *lp = loop_new();
	struct hookrec h = {0};

	(void)state;
	loop_timer_init(&h.t, on_hook_timer, &h);
	loop_set_before_sleep(lp, on_before_sleep, &h);
	assert_int_equal(loop_run(lp), 0); /* would block forever otherwise */
	assert_int_equal(h.fired, 1);
	assert_true(h.before >= 1);
	loop_set_before_sleep(lp, NULL, NULL);
	assert_int_equal(loop_run_once(lp, 0), 0);
	loop_free(lp);
}

static void on_nested(struct loop *lp, struct loop_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	loop_run_once(lp, 0);
}

/* Re-entering the loop from a callback is a broken invariant: panic. */
static void test_nested_run_panics(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct loop *lp = loop_new();
		struct loop_timer t;
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, STDERR_FILENO);
		loop_timer_init(&t, on_nested, NULL);
		loop_timer_set(lp, &t, 0);
		for (int i = 0; i < 100; i++)
			loop_run_once(lp, 10);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_clock(void **state)
{
	uint64_t a = loop_clock_ms(), b;
	struct timespec ts = {0, 5 * 1000000L};

	(void)state;
	nanosleep(&ts, NULL);
	b = loop_clock_ms();
	assert_true(b >= a + 5);
	loop_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_read_write),
		cmocka_unit_test(test_fd_bad_args),
		cmocka_unit_test(test_fd_stale_event_dropped),
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_timer_not_early),
		cmocka_unit_test(test_timer_zero_no_wait),
		cmocka_unit_test(test_timer_cancel),
		cmocka_unit_test(test_timer_rearm_from_callback),
		cmocka_unit_test(test_timer_callback_frees_owner),
		cmocka_unit_test(test_timer_free_with_pending),
		cmocka_unit_test(test_timer_many),
		cmocka_unit_test(test_signal_raise),
		cmocka_unit_test(test_signal_bad_args),
		cmocka_unit_test(test_wakeup_from_thread),
		cmocka_unit_test(test_stop_from_thread),
		cmocka_unit_test(test_before_sleep),
		cmocka_unit_test(test_nested_run_panics),
		cmocka_unit_test(test_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
