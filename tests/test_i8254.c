/*
 * The 8254 PIT through its ports.  Counts and outputs are checked against
 * exact virtual times (the clock stays paused and is set by the test);
 * IRQ0 timing runs the clock for real.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "devices/i8254.h"
#include "io/io_bus.h"
#include "time/vclock.h"

#define MS 1000000ull
#define LATE_NS (200 * MS)

struct fixture {
    struct io_bus *bus;
    struct vclock *clock;
    struct i8254 *pit;
    pthread_mutex_t lock;
    int level;
    int rises;
    uint64_t first_rise, last_rise;
};

static void irq(void *opaque, int level)
{
    struct fixture *f = opaque;
    pthread_mutex_lock(&f->lock);
    if (level && !f->level) {
        uint64_t now = vclock_now(f->clock);
        if (!f->rises++)
            f->first_rise = now;
        f->last_rise = now;
    }
    f->level = level;
    pthread_mutex_unlock(&f->lock);
}

static int rises(struct fixture *f)
{
    pthread_mutex_lock(&f->lock);
    int n = f->rises;
    pthread_mutex_unlock(&f->lock);
    return n;
}

static int level(struct fixture *f)
{
    pthread_mutex_lock(&f->lock);
    int n = f->level;
    pthread_mutex_unlock(&f->lock);
    return n;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Virtual ns at which `ticks` PIT clocks have elapsed since t0 = 0. */
static uint64_t tick_ns(uint64_t ticks)
{
    return (ticks * 1000000000ull + I8254_HZ - 1) / I8254_HZ;
}

static struct fixture *F(void **state) { return *state; }
static void outb(struct fixture *f, uint16_t port, uint8_t v) { io_bus_port_write(f->bus, port, 1, v); }
static uint8_t inb(struct fixture *f, uint16_t port) { return (uint8_t)io_bus_port_read(f->bus, port, 1); }
static void at(struct fixture *f, uint64_t ticks) { vclock_set(f->clock, tick_ns(ticks)); }

static void write_word(struct fixture *f, unsigned ch, uint16_t v)
{
    outb(f, (uint16_t)(0x40 + ch), v & 0xff);
    outb(f, (uint16_t)(0x40 + ch), v >> 8);
}

static uint16_t read_word(struct fixture *f, unsigned ch)
{
    uint16_t lo = inb(f, (uint16_t)(0x40 + ch));
    return (uint16_t)(lo | inb(f, (uint16_t)(0x40 + ch)) << 8);
}

static uint8_t status(struct fixture *f, unsigned ch)
{
    outb(f, 0x43, (uint8_t)(0xe0 | 2u << ch));       /* read-back: status only */
    return inb(f, (uint16_t)(0x40 + ch));
}

static bool out(struct fixture *f, unsigned ch)
{
    return status(f, ch) & 0x80;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->bus = io_bus_create();
    f->clock = vclock_create();
    f->pit = i8254_create(f->bus, f->clock, irq, f);
    assert_non_null(f->pit);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    i8254_destroy(f->pit);
    vclock_destroy(f->clock);
    io_bus_destroy(f->bus);
    pthread_mutex_destroy(&f->lock);
    free(f);
    return 0;
}

static void test_reset_state(void **state)
{
    struct fixture *f = F(state);
    assert_int_equal(status(f, 0), 0xb6);             /* OUT high, lohi, mode 3 */
    assert_int_equal(status(f, 2), 0xf6);             /* null count: gate never rose */
    assert_int_equal(level(f), 1);
    at(f, 1);
    assert_int_equal(read_word(f, 0), 65534);         /* mode 3 counts by two */
    assert_int_equal(read_word(f, 2), 0);             /* gate low: not counting */
    assert_int_equal(inb(f, 0x43), 0xff);
    assert_null(i8254_create(f->bus, f->clock, NULL, NULL));  /* ports taken */
}

static void test_mode0(void **state)
{
    struct fixture *f = F(state);
    outb(f, 0x43, 0x30);                              /* ch0, lohi, mode 0 */
    assert_int_equal(level(f), 0);
    assert_false(out(f, 0));
    write_word(f, 0, 1000);
    at(f, 300);
    assert_int_equal(read_word(f, 0), 700);
    assert_false(out(f, 0));
    at(f, 999);
    assert_int_equal(read_word(f, 0), 1);
    at(f, 1000);
    assert_int_equal(read_word(f, 0), 0);
    assert_true(out(f, 0));
    at(f, 1001);
    assert_int_equal(read_word(f, 0), 0xffff);        /* keeps counting, OUT stays high */
    assert_true(out(f, 0));
    /* Rewriting the count: OUT low again, counts from the new value. */
    outb(f, 0x40, 10);
    assert_false(out(f, 0));                          /* first byte already stops it */
    at(f, 2000);
    outb(f, 0x40, 0);
    at(f, 2004);
    assert_int_equal(read_word(f, 0), 6);
    assert_false(out(f, 0));
}

static void test_mode2_counts(void **state)
{
    struct fixture *f = F(state);
    outb(f, 0x43, 0x34);                              /* ch0, lohi, mode 2 */
    write_word(f, 0, 100);
    at(f, 0);
    assert_int_equal(read_word(f, 0), 100);
    at(f, 42);
    assert_int_equal(read_word(f, 0), 58);
    assert_true(out(f, 0));
    at(f, 99);
    assert_int_equal(read_word(f, 0), 1);
    assert_false(out(f, 0));                          /* low for one clock */
    at(f, 100);
    assert_int_equal(read_word(f, 0), 100);
    assert_true(out(f, 0));
    at(f, 1234567);
    assert_int_equal(read_word(f, 0), 100 - 67);
    /* A new count takes effect at the end of the current period. */
    at(f, 1234550);
    write_word(f, 0, 10);
    at(f, 1234590);
    assert_int_equal(read_word(f, 0), 10);            /* old period still running */
    at(f, 1234603);
    assert_int_equal(read_word(f, 0), 7);             /* new period from 1234600 */
}

static void test_mode3_counts(void **state)
{
    struct fixture *f = F(state);
    outb(f, 0x43, 0x36);                              /* ch0, lohi, mode 3 */
    write_word(f, 0, 100);
    at(f, 10);
    assert_int_equal(read_word(f, 0), 80);
    assert_true(out(f, 0));
    at(f, 50);
    assert_int_equal(read_word(f, 0), 100);
    assert_false(out(f, 0));
    at(f, 60);
    assert_int_equal(read_word(f, 0), 80);
    at(f, 100);
    assert_true(out(f, 0));
    /* Odd count 5: high for 3 clocks, low for 2. */
    outb(f, 0x43, 0x36);
    write_word(f, 0, 5);
    static const bool want[] = { 1, 1, 1, 0, 0, 1, 1, 1, 0, 0 };
    for (unsigned i = 0; i < 10; i++) {
        at(f, 100 + i);
        assert_int_equal(out(f, 0), want[i]);
    }
}

static void test_latch_and_access_modes(void **state)
{
    struct fixture *f = F(state);
    outb(f, 0x43, 0x74);                              /* ch1, lohi, mode 2 */
    write_word(f, 1, 5000);
    at(f, 100);
    outb(f, 0x43, 0x40);                              /* latch ch1 */
    at(f, 150);
    outb(f, 0x43, 0x40);                              /* ignored: still latched */
    at(f, 200);
    assert_int_equal(read_word(f, 1), 4900);
    assert_int_equal(read_word(f, 1), 4800);          /* live again */
    outb(f, 0x43, 0x54);                              /* ch1, LSB only, mode 2 */
    outb(f, 0x41, 200);
    at(f, 250);
    assert_int_equal(inb(f, 0x41), 150);
    assert_int_equal(inb(f, 0x41), 150);
    outb(f, 0x43, 0x64);                              /* ch1, MSB only, mode 2 */
    outb(f, 0x41, 0x02);                              /* count 0x200 */
    at(f, 250 + 0x100);
    assert_int_equal(inb(f, 0x41), 0x01);
}

static void test_read_back(void **state)
{
    struct fixture *f = F(state);
    outb(f, 0x43, 0x34);
    write_word(f, 0, 1000);
    outb(f, 0x43, 0xb0);                              /* ch2, lohi, mode 0 */
    assert_int_equal(status(f, 2) & 0x40, 0x40);      /* null count: no count yet */
    outb(f, 0x43, 0xb0);
    at(f, 10);
    outb(f, 0x43, 0xc2);                              /* count + status of ch0 */
    at(f, 20);
    assert_int_equal(inb(f, 0x40), 0xb4);             /* status first: out high, mode 2 */
    assert_int_equal(read_word(f, 0), 990);
    outb(f, 0x43, 0xda);                              /* count of ch0 and ch2 */
    assert_int_equal(read_word(f, 0), 980);
    assert_int_equal(status(f, 0), 0xb4);
    outb(f, 0x43, 0xd2);                              /* latch ch0 count again */
    outb(f, 0x43, 0xe2);                              /* then status */
    assert_int_equal(inb(f, 0x40), 0xb4);
    assert_int_equal(read_word(f, 0), 980);
}

/* Linux's pit_calibrate_tsc / quick_pit_calibrate through port 0x61. */
static void test_port61_calibration(void **state)
{
    struct fixture *f = F(state);
    at(f, 0);
    outb(f, 0x61, (inb(f, 0x61) & ~0x02) | 0x01);   /* gate high, speaker off */
    outb(f, 0x43, 0xb0);                              /* ch2, lohi, mode 0 */
    uint16_t latch = I8254_HZ / 100;                  /* 10 ms */
    write_word(f, 2, latch);
    assert_int_equal(inb(f, 0x61) & 0x23, 0x01);
    vclock_set(f->clock, 5 * MS);
    assert_int_equal(inb(f, 0x61) & 0x20, 0);
    vclock_set(f->clock, tick_ns(latch) - 1);
    assert_int_equal(inb(f, 0x61) & 0x20, 0);
    vclock_set(f->clock, tick_ns(latch));
    assert_int_equal(inb(f, 0x61) & 0x20, 0x20);
    /* quick_pit_calibrate: count 0xffff, reads only the MSB (lohi reads). */
    outb(f, 0x43, 0xb0);
    write_word(f, 2, 0xffff);
    uint64_t k0 = latch;
    for (unsigned i = 1; i < 50; i++) {
        at(f, k0 + 256 * (uint64_t)i + 10);
        inb(f, 0x42);
        assert_int_equal(inb(f, 0x42), 0xff - i);
    }
    /* Gate low stops mode 0; gate high resumes it. */
    at(f, k0 + 20000);
    outb(f, 0x61, 0x00);
    at(f, k0 + 30000);
    assert_int_equal(read_word(f, 2), 0xffff - 20000);
    outb(f, 0x61, 0x01);
    at(f, k0 + 30100);
    assert_int_equal(read_word(f, 2), 0xffff - 20100);
    /* The refresh bit toggles with time; speaker bits read back. */
    outb(f, 0x61, 0x03);
    uint8_t a = inb(f, 0x61);
    vclock_set(f->clock, vclock_now(f->clock) + 15085);
    uint8_t b = inb(f, 0x61);
    assert_int_equal((a ^ b) & 0x10, 0x10);
    assert_int_equal(a & 0x03, 0x03);
}

static void test_bcd_and_mode1(void **state)
{
    struct fixture *f = F(state);
    outb(f, 0x43, 0x31);                              /* ch0, lohi, mode 0, BCD */
    write_word(f, 0, 0x1000);
    at(f, 1);
    assert_int_equal(read_word(f, 0), 0x0999);
    at(f, 1001);
    assert_int_equal(read_word(f, 0), 0x9999);        /* BCD wraps at 10000 */
    outb(f, 0x43, 0x31);
    write_word(f, 0, 0xffff);                         /* invalid digits: bounded */
    read_word(f, 0);
    /* Mode 1 on ch2: triggered by a rising gate. */
    outb(f, 0x61, 0x00);
    outb(f, 0x43, 0xb2);
    write_word(f, 2, 50);
    at(f, 2000);
    assert_true(out(f, 2));
    outb(f, 0x61, 0x01);
    at(f, 2010);
    assert_false(out(f, 2));
    assert_int_equal(read_word(f, 2), 40);
    at(f, 2050);
    assert_true(out(f, 2));
}

static void test_mode0_irq_time(void **state)
{
    struct fixture *f = F(state);
    vclock_resume(f->clock);
    outb(f, 0x43, 0x30);
    uint64_t start = vclock_now(f->clock);
    write_word(f, 0, (uint16_t)(I8254_HZ / 100));     /* 10 ms one-shot */
    assert_int_equal(level(f), 0);
    int before = rises(f);
    for (int i = 0; i < 2000 && rises(f) == before; i++)
        sleep_ms(1);
    assert_int_equal(rises(f), before + 1);
    pthread_mutex_lock(&f->lock);
    uint64_t t = f->last_rise;
    pthread_mutex_unlock(&f->lock);
    assert_true(t >= start + 10 * MS - 5000);         /* 11931 ticks: 9.9993 ms */
    assert_true(t < start + 10 * MS + LATE_NS);
    sleep_ms(20);
    assert_int_equal(rises(f), before + 1);           /* one shot */
}

static void test_mode2_irq_rate(void **state)
{
    struct fixture *f = F(state);
    outb(f, 0x43, 0x34);
    uint16_t n = (uint16_t)(I8254_HZ / 500);          /* 500 Hz */
    write_word(f, 0, n);
    int base = rises(f);
    uint64_t t0 = vclock_now(f->clock);
    vclock_resume(f->clock);
    sleep_ms(300);
    vclock_pause(f->clock);
    uint64_t t1 = vclock_now(f->clock);
    int got = rises(f) - base;
    print_message("mode 2 rate: %d pulses, %llu periods\n", got, (unsigned long long)((t1 - t0) / tick_ns(n)));
    uint64_t want = (t1 - t0) / (tick_ns(n));
    /* Never more than the rate allows.  An idle host delivers them all; a
     * starved timer thread coalesces late ticks (seen: 30 of 150 with 60
     * sanitizer processes on 2 CPUs), so the exact count is checked by
     * test_mode2_irq_steps instead. */
    assert_true((uint64_t)got <= want + 1);
    assert_true(got >= 1);
    /* Paused: no more interrupts. */
    sleep_ms(20);
    assert_int_equal(rises(f) - base, got);
}

/* Waits (5 s at most) until at least n rising edges were seen. */
static bool wait_rises(struct fixture *f, int n)
{
    for (int i = 0; i < 5000 && rises(f) < n; i++)
        sleep_ms(1);
    return rises(f) >= n;
}

/* Mode 2 at 18.2 Hz, virtual time stepped half a period at a time: one
 * IRQ0 rising edge per period, each at or after its boundary. */
static void test_mode2_irq_steps(void **state)
{
    struct fixture *f = F(state);
    outb(f, 0x43, 0x34);
    write_word(f, 0, 0);                              /* 65536 */
    int base = rises(f);
    for (unsigned step = 1; step <= 20; step++) {
        uint64_t k = 32768ull * step + 100;           /* just past each half period */
        at(f, k);
        vclock_resume(f->clock);
        int want = base + (int)(k / 65536);
        if (step % 2 == 0)
            assert_true(wait_rises(f, want));
        vclock_pause(f->clock);
        assert_int_equal(rises(f), want);
        pthread_mutex_lock(&f->lock);
        uint64_t last = f->last_rise;
        pthread_mutex_unlock(&f->lock);
        if (want > base)
            assert_true(last >= tick_ns(65536ull * (uint64_t)(want - base)));
    }
}

/* A hostile guest: random programming, fast rates, never crashes or wedges. */
static void test_random_io(void **state)
{
    struct fixture *f = F(state);
    static const uint16_t ports[] = { 0x40, 0x41, 0x42, 0x43, 0x61 };
    srand(7);
    vclock_resume(f->clock);
    for (int i = 0; i < 100000; i++) {
        int r = rand();
        uint16_t port = ports[r % 5];
        if ((r >> 4) & 1)
            outb(f, port, (uint8_t)(r >> 8));
        else
            inb(f, port);
    }
    /* The fastest periodic rate: events are capped, the test stays quick. */
    outb(f, 0x43, 0x34);
    write_word(f, 0, 1);
    sleep_ms(30);
    outb(f, 0x43, 0x36);
    write_word(f, 0, 2);
    sleep_ms(30);
    vclock_pause(f->clock);
    i8254_reset(f->pit);
    assert_int_equal(status(f, 0), 0xb6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode2_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode3_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latch_and_access_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port61_calibration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bcd_and_mode1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode0_irq_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode2_irq_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode2_irq_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_io, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
