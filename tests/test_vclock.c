/*
 * The virtual clock and its timers: time stops while paused, timers fire in
 * deadline order at the right virtual time, never while paused, and the
 * disarm/destroy guarantee holds against a callback running concurrently.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "time/vclock.h"

#define MS 1000000ull
/* Generous: sanitizer builds on a loaded machine wake up late. */
#define LATE_NS (200 * MS)

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Polls cond (an atomic counter) until it reaches want or 5 s pass. */
static bool wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 5000; i++) {
        if (atomic_load(v) >= want)
            return true;
        sleep_ms(1);
    }
    return false;
}

static void test_paused_at_creation(void **state)
{
    (void)state;
    struct vclock *c = vclock_create();
    assert_non_null(c);
    assert_false(vclock_running(c));
    sleep_ms(5);
    assert_int_equal(vclock_now(c), 0);
    vclock_destroy(c);
}

static void test_monotonic_and_pause(void **state)
{
    (void)state;
    struct vclock *c = vclock_create();
    vclock_resume(c);
    assert_true(vclock_running(c));
    uint64_t prev = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t now = vclock_now(c);
        assert_true(now >= prev);
        prev = now;
    }
    sleep_ms(20);
    vclock_pause(c);
    uint64_t t1 = vclock_now(c);
    assert_true(t1 >= 20 * MS);
    sleep_ms(20);
    assert_int_equal(vclock_now(c), t1);       /* stopped */
    vclock_resume(c);
    uint64_t t2 = vclock_now(c);
    assert_true(t2 >= t1 && t2 < t1 + LATE_NS); /* the pause was not counted */
    vclock_pause(c);
    vclock_pause(c);                            /* idempotent */
    vclock_set(c, 5000 * MS);
    assert_int_equal(vclock_now(c), 5000 * MS);
    assert_false(vclock_running(c));
    vclock_destroy(c);
}

struct rec {
    struct vclock *clock;
    atomic_int fired;
    int order[1024];
    uint64_t at[1024];
};

struct rec_timer {
    struct rec *rec;
    int id;
};

/* Callbacks run one at a time on the timer thread, so order[] needs no lock. */
static void record_fn(void *opaque)
{
    struct rec_timer *rt = opaque;
    struct rec *r = rt->rec;
    int n = atomic_load(&r->fired);
    r->order[n] = rt->id;
    r->at[n] = vclock_now(r->clock);
    atomic_store(&r->fired, n + 1);
}

static void test_fire_in_order(void **state)
{
    (void)state;
    static struct rec r;
    memset(&r, 0, sizeof(r));
    r.clock = vclock_create();
    static const unsigned delay_ms[] = { 30, 10, 20, 50, 40 };
    struct rec_timer rt[5];
    struct vtimer *t[5];
    vclock_resume(r.clock);
    uint64_t base = vclock_now(r.clock);
    for (int i = 0; i < 5; i++) {
        rt[i] = (struct rec_timer){ &r, i };
        t[i] = vtimer_create(r.clock, record_fn, &rt[i]);
        vtimer_arm(t[i], base + delay_ms[i] * MS);
        assert_true(vtimer_armed(t[i]));
    }
    assert_int_equal(vclock_next_deadline(r.clock), base + 10 * MS);
    assert_true(wait_for(&r.fired, 5));
    static const int want[] = { 1, 2, 0, 4, 3 };
    for (int i = 0; i < 5; i++) {
        int id = r.order[i];
        assert_int_equal(id, want[i]);
        uint64_t deadline = base + delay_ms[id] * MS;
        assert_true(r.at[i] >= deadline);
        assert_true(r.at[i] < deadline + LATE_NS);
        assert_false(vtimer_armed(t[id]));
    }
    assert_int_equal(vclock_next_deadline(r.clock), UINT64_MAX);
    for (int i = 0; i < 5; i++)
        vtimer_destroy(t[i]);
    vclock_destroy(r.clock);
}

static void test_not_while_paused(void **state)
{
    (void)state;
    static struct rec r;
    memset(&r, 0, sizeof(r));
    r.clock = vclock_create();
    struct rec_timer rt = { &r, 7 };
    struct vtimer *t = vtimer_create(r.clock, record_fn, &rt);
    vtimer_arm(t, 0);                           /* past, but the clock is paused */
    sleep_ms(30);
    assert_int_equal(atomic_load(&r.fired), 0);
    vclock_resume(r.clock);
    assert_true(wait_for(&r.fired, 1));

    /* Armed while running, paused before the deadline: waits for guest time. */
    uint64_t deadline = vclock_now(r.clock) + 30 * MS;
    vtimer_arm(t, deadline);
    vclock_pause(r.clock);
    sleep_ms(60);
    assert_int_equal(atomic_load(&r.fired), 1);
    assert_true(vtimer_armed(t));
    vclock_resume(r.clock);
    assert_true(wait_for(&r.fired, 2));
    assert_true(r.at[1] >= deadline);
    vtimer_destroy(t);
    vclock_destroy(r.clock);
}

/* A fresh running clock with one recording timer (id 1). */
static struct vtimer *one_running_timer(struct rec *r, struct rec_timer *rt)
{
    memset(r, 0, sizeof(*r));
    r->clock = vclock_create();
    *rt = (struct rec_timer){ r, 1 };
    struct vtimer *t = vtimer_create(r->clock, record_fn, rt);
    vclock_resume(r->clock);
    return t;
}

static void test_disarm_and_rearm(void **state)
{
    (void)state;
    static struct rec r;
    static struct rec_timer rt;
    struct vtimer *t = one_running_timer(&r, &rt);
    uint64_t now = vclock_now(r.clock);
    vtimer_arm(t, now + 20 * MS);
    vtimer_disarm(t);
    assert_false(vtimer_armed(t));
    vtimer_disarm(t);                           /* twice is fine */
    /* Re-arming moves the deadline earlier and later. */
    vtimer_arm(t, now + 10000 * MS);
    vtimer_arm(t, now + 30 * MS);
    sleep_ms(60);
    assert_true(wait_for(&r.fired, 1));
    sleep_ms(20);
    assert_int_equal(atomic_load(&r.fired), 1); /* once only */
    assert_true(r.at[0] >= now + 30 * MS);
    vtimer_destroy(t);
    vclock_destroy(r.clock);
}

/* Re-arming while the timer thread already sleeps toward the old deadline:
 * an earlier deadline wakes it, a later one is kept (not fired early). */
static void test_rearm_while_thread_sleeps(void **state)
{
    (void)state;
    static struct rec r;
    static struct rec_timer rt;
    struct vtimer *t = one_running_timer(&r, &rt);
    uint64_t now = vclock_now(r.clock);
    vtimer_arm(t, now + 10000 * MS);
    sleep_ms(20);                               /* asleep until +10 s */
    vtimer_arm(t, now + 40 * MS);
    assert_true(wait_for(&r.fired, 1));         /* well before +10 s */
    assert_true(r.at[0] >= now + 40 * MS);

    now = vclock_now(r.clock);
    vtimer_arm(t, now + 30 * MS);
    sleep_ms(10);                               /* asleep until +30 ms */
    vtimer_arm(t, now + 90 * MS);
    sleep_ms(50);
    if (vclock_now(r.clock) < now + 90 * MS)    /* (a loaded host may be past it) */
        assert_int_equal(atomic_load(&r.fired), 1);
    assert_true(wait_for(&r.fired, 2));
    assert_true(r.at[1] >= now + 90 * MS);
    vtimer_destroy(t);
    vclock_destroy(r.clock);
}

/* --- callbacks that re-arm, disarm or destroy their own timer */

struct periodic {
    struct vclock *clock;
    struct vtimer *timer;
    atomic_int count;
    int limit;
    uint64_t period;
    uint64_t next;
    int mode;                                   /* 0 re-arm, 1 disarm self, 2 destroy self */
};

static void periodic_fn(void *opaque)
{
    struct periodic *p = opaque;
    int n = atomic_load(&p->count) + 1;
    if (p->mode == 1) {
        vtimer_arm(p->timer, p->next + p->period);
        vtimer_disarm(p->timer);                /* must not wait on itself */
    } else if (p->mode == 2) {
        vtimer_destroy(p->timer);
    } else if (n < p->limit) {
        p->next += p->period;
        vtimer_arm(p->timer, p->next);
    }
    atomic_store(&p->count, n);
}

static void test_rearm_from_callback(void **state)
{
    (void)state;
    struct periodic p = { .limit = 20, .period = 1 * MS };
    p.clock = vclock_create();
    p.timer = vtimer_create(p.clock, periodic_fn, &p);
    vclock_resume(p.clock);
    uint64_t start = vclock_now(p.clock);
    p.next = start + p.period;
    vtimer_arm(p.timer, p.next);
    assert_true(wait_for(&p.count, 20));
    assert_true(vclock_now(p.clock) >= start + 20 * MS);
    sleep_ms(10);
    assert_int_equal(atomic_load(&p.count), 20);
    assert_false(vtimer_armed(p.timer));

    p.mode = 1;
    atomic_store(&p.count, 0);
    p.next = vclock_now(p.clock);
    vtimer_arm(p.timer, p.next);
    assert_true(wait_for(&p.count, 1));
    sleep_ms(10);
    assert_int_equal(atomic_load(&p.count), 1);
    assert_false(vtimer_armed(p.timer));

    p.mode = 2;
    atomic_store(&p.count, 0);
    vtimer_arm(p.timer, 0);
    assert_true(wait_for(&p.count, 1));        /* destroyed itself */
    vclock_destroy(p.clock);
}

/* --- the disarm/destroy guarantee against a running callback */

struct slow {
    atomic_int started, finished;
};

static void slow_fn(void *opaque)
{
    struct slow *s = opaque;
    atomic_fetch_add(&s->started, 1);
    sleep_ms(30);
    atomic_fetch_add(&s->finished, 1);
}

static void test_disarm_waits_for_callback(void **state)
{
    (void)state;
    struct slow s = { 0 };
    struct vclock *c = vclock_create();
    struct vtimer *t = vtimer_create(c, slow_fn, &s);
    vclock_resume(c);
    vtimer_arm(t, 0);
    assert_true(wait_for(&s.started, 1));
    vtimer_disarm(t);
    assert_int_equal(atomic_load(&s.finished), 1);  /* not running after return */

    vtimer_arm(t, 0);
    assert_true(wait_for(&s.started, 2));
    vtimer_destroy(t);
    assert_int_equal(atomic_load(&s.finished), 2);
    vclock_destroy(c);
}

/* A thread arms and disarms while callbacks fire: after each disarm, nothing runs. */
struct hammer {
    atomic_int in_cb;
    atomic_int calls;
    atomic_int violations;
    atomic_bool disarmed;
};

static void hammer_fn(void *opaque)
{
    struct hammer *h = opaque;
    atomic_fetch_add(&h->in_cb, 1);
    if (atomic_load(&h->disarmed))
        atomic_fetch_add(&h->violations, 1);
    atomic_fetch_add(&h->calls, 1);
    atomic_fetch_sub(&h->in_cb, 1);
}

static void test_disarm_concurrency(void **state)
{
    (void)state;
    struct hammer h = { 0 };
    struct vclock *c = vclock_create();
    struct vtimer *t = vtimer_create(c, hammer_fn, &h);
    vclock_resume(c);
    for (int i = 0; i < 2000; i++) {
        atomic_store(&h.disarmed, false);
        vtimer_arm(t, vclock_now(c) + (uint64_t)(i % 3) * 1000);
        if (i % 7 == 0)
            sleep_ms(0);
        vtimer_disarm(t);
        atomic_store(&h.disarmed, true);
        assert_int_equal(atomic_load(&h.in_cb), 0);
    }
    sleep_ms(5);
    assert_int_equal(atomic_load(&h.violations), 0);
    vtimer_destroy(t);
    vclock_destroy(c);
}

static void test_many_timers(void **state)
{
    (void)state;
    enum { N = 1000 };
    static struct rec r;
    static struct rec_timer rt[N];
    static struct vtimer *t[N];
    static uint64_t deadline[N];
    memset(&r, 0, sizeof(r));
    r.clock = vclock_create();
    srand(42);
    for (int i = 0; i < N; i++) {
        rt[i] = (struct rec_timer){ &r, i };
        t[i] = vtimer_create(r.clock, record_fn, &rt[i]);
        deadline[i] = (uint64_t)(rand() % 50) * MS + (uint64_t)(rand() % 1000);
        vtimer_arm(t[i], deadline[i]);
    }
    /* Disarm every tenth: they must not fire. */
    for (int i = 0; i < N; i += 10)
        vtimer_disarm(t[i]);
    vclock_resume(r.clock);
    int want = N - N / 10;
    assert_true(wait_for(&r.fired, want));
    sleep_ms(5);
    assert_int_equal(atomic_load(&r.fired), want);
    for (int i = 0; i < want; i++) {
        int id = r.order[i];
        assert_true(id % 10 != 0);
        assert_true(r.at[i] >= deadline[id]);
        if (i > 0)
            assert_true(deadline[id] >= deadline[r.order[i - 1]]);
    }
    for (int i = 0; i < N; i++)
        vtimer_destroy(t[i]);
    vclock_destroy(r.clock);
}

static void test_leftover_timer_freed(void **state)
{
    (void)state;
    struct vclock *c = vclock_create();
    struct rec r = { .clock = c };
    struct rec_timer rt = { &r, 0 };
    struct vtimer *t = vtimer_create(c, record_fn, &rt);
    vtimer_arm(t, 1000 * MS);
    vclock_destroy(c);                          /* frees t: ASan would report a leak */
}

/* A periodic timer re-arms itself from its callback; destroying it while
 * that callback runs must not leave it on the clock's list (found by ASan
 * as a use after free when a second timer was destroyed next). */
struct rearm {
    struct vclock *clock;
    struct vtimer *self;
    atomic_int fired;
};

static void rearm_fn(void *opaque)
{
    struct rearm *r = opaque;
    atomic_fetch_add(&r->fired, 1);
    usleep(2000);                                       /* destroy starts meanwhile */
    vtimer_arm(r->self, vclock_now(r->clock) + 100 * 1000);
}

static void test_destroy_while_rearming(void **state)
{
    (void)state;
    struct vclock *c = vclock_create();
    vclock_resume(c);
    for (int i = 0; i < 20; i++) {
        struct rearm r = { .clock = c };
        struct vtimer *other = vtimer_create(c, rearm_fn, &r);
        r.self = vtimer_create(c, rearm_fn, &r);
        vtimer_arm(other, vclock_now(c) + 1000 * MS);
        vtimer_arm(r.self, vclock_now(c));
        while (atomic_load(&r.fired) == 0)
            usleep(100);
        vtimer_destroy(r.self);                         /* usually while rearm_fn runs */
        vtimer_destroy(other);
    }
    vclock_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paused_at_creation),
        cmocka_unit_test(test_monotonic_and_pause),
        cmocka_unit_test(test_fire_in_order),
        cmocka_unit_test(test_not_while_paused),
        cmocka_unit_test(test_disarm_and_rearm),
        cmocka_unit_test(test_rearm_while_thread_sleeps),
        cmocka_unit_test(test_rearm_from_callback),
        cmocka_unit_test(test_disarm_waits_for_callback),
        cmocka_unit_test(test_disarm_concurrency),
        cmocka_unit_test(test_many_timers),
        cmocka_unit_test(test_leftover_timer_freed),
        cmocka_unit_test(test_destroy_while_rearming),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
