/*
 * Adaptive polling (core/adaptive_poll.h): the spin sees a change made by
 * another thread, gives up after its time, costs nothing at 0; the spin
 * grows while sleeps are short and shrinks to 0 when they are long.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <time.h>
#include <cmocka.h>

#include "core/adaptive_poll.h"
#include "core/sem_event.h"

static atomic_uint word;

static void *bump_later(void *arg)
{
    (void)arg;
    struct timespec ts = { 0, 2000000 };                  /* 2 ms */
    nanosleep(&ts, NULL);
    atomic_fetch_add(&word, 1);
    return NULL;
}

static void test_spin(void **state)
{
    (void)state;
    struct adaptive_poll off = { 0 }, on = { 2000000000u };   /* 2 s: the bump comes long before */
    atomic_store(&word, 5);
    assert_false(adaptive_poll_spin(&off, &word, 5));
    assert_false(adaptive_poll_spin(&off, &word, 4));          /* at 0 it does not look: the caller's wait will */
    assert_true(adaptive_poll_spin(&on, &word, 4));            /* already changed */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bump_later, NULL), 0);
    uint64_t t0 = time_now_ns();
    assert_true(adaptive_poll_spin(&on, &word, 5));
    assert_true(time_now_ns() - t0 < 1000000000u);
    pthread_join(t, NULL);
    struct adaptive_poll brief = { 100000 };                   /* 100 us, nothing comes */
    t0 = time_now_ns();
    assert_false(adaptive_poll_spin(&brief, &word, 6));
    assert_true(time_now_ns() - t0 >= 100000);
}

static void test_adapt(void **state)
{
    (void)state;
    struct adaptive_poll p = { 0 };
    adaptive_poll_adapt(&p, 50000);                  /* a short sleep: start spinning */
    assert_int_equal(p.ns, ADAPTIVE_POLL_START_NS);
    for (int i = 0; i < 10; i++)
        adaptive_poll_adapt(&p, ADAPTIVE_POLL_MAX_NS);
    assert_int_equal(p.ns, ADAPTIVE_POLL_MAX_NS);    /* doubled up to the cap */
    adaptive_poll_adapt(&p, 10);                     /* shorter than the spin: kept */
    assert_int_equal(p.ns, ADAPTIVE_POLL_MAX_NS);
    adaptive_poll_adapt(&p, 4000000);                /* a timer tick's sleep: halves */
    assert_int_equal(p.ns, ADAPTIVE_POLL_MAX_NS / 2);
    for (int i = 0; i < 10; i++)
        adaptive_poll_adapt(&p, 4000000);
    assert_int_equal(p.ns, 0);                       /* an idle waiter spins no more */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spin),
        cmocka_unit_test(test_adapt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
