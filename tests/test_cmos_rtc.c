/*
 * CMOS RTC / NVRAM: time against the host (BCD, binary, 12-hour), setting
 * the time changes only the guest's view, UIP, register C/D semantics,
 * periodic interrupts at the programmed rate over virtual time (and none
 * while the clock is paused), alarm, update-ended interrupt, memory-size
 * bytes, NMI bit in the index, hostile writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "config/cfgm_internal.h"
#include "core/vm_internal.h"
#include "devices/cmos_rtc.h"
#include "io/io_bus.h"
#include "time/vclock.h"

#define MIB (1024ull * 1024)

struct fx {
    struct io_bus *bus;
    struct vclock *clock;
    struct cmos_rtc *rtc;
    atomic_int level, raises;
};

static void rec_irq(void *opaque, int level)
{
    struct fx *f = opaque;
    atomic_store(&f->level, level);
    if (level)
        atomic_fetch_add(&f->raises, 1);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->bus = io_bus_create();
    f->clock = vclock_create();
    vclock_resume(f->clock);
    f->rtc = cmos_rtc_create(f->bus, f->clock, 512 * MIB, 1024 * MIB, rec_irq, f);
    *state = f;
    return f->rtc ? 0 : -1;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    cmos_rtc_destroy(f->rtc);
    vclock_destroy(f->clock);
    io_bus_destroy(f->bus);
    free(f);
    return 0;
}

static uint8_t rd(struct fx *f, uint8_t idx)
{
    io_bus_port_write(f->bus, 0x70, 1, idx);
    return (uint8_t)io_bus_port_read(f->bus, 0x71, 1);
}

static void wr(struct fx *f, uint8_t idx, uint8_t v)
{
    io_bus_port_write(f->bus, 0x70, 1, idx);
    io_bus_port_write(f->bus, 0x71, 1, v);
}

static int bcd(uint8_t v) { return (v >> 4) * 10 + (v & 15); }

/* The RTC's time in seconds since the epoch, decoding per register B. */
static time_t rtc_time(struct fx *f)
{
    while (rd(f, 0x0a) & 0x80)
        ;                                      /* as Linux: wait out the update */
    uint8_t b = rd(f, 0x0b);
    int (*dec)(uint8_t) = (b & 0x04) ? NULL : bcd;
#define D(v) (dec ? dec(v) : (v))
    uint8_t h = rd(f, 0x04);
    int hour = (b & 0x02) ? D(h) : D(h & 0x7f) % 12 + ((h & 0x80) ? 12 : 0);
    struct tm tm = { .tm_sec = D(rd(f, 0x00)), .tm_min = D(rd(f, 0x02)), .tm_hour = hour,
                     .tm_mday = D(rd(f, 0x07)), .tm_mon = D(rd(f, 0x08)) - 1,
                     .tm_year = D(rd(f, 0x32)) * 100 + D(rd(f, 0x09)) - 1900 };
#undef D
    return timegm(&tm);
}

static void assert_near_host(struct fx *f, long offset)
{
    long diff = (long)(rtc_time(f) - time(NULL)) - offset;
    assert_true(diff >= -2 && diff <= 2);
}

static void test_time_matches_host(void **state)
{
    struct fx *f = *state;
    assert_int_equal(rd(f, 0x0b) & 0x06, 0x02);   /* BCD, 24 hours */
    assert_near_host(f, 0);
    wr(f, 0x0b, 0x06);                            /* binary */
    assert_near_host(f, 0);
    wr(f, 0x0b, 0x04);                            /* binary, 12 hours */
    assert_near_host(f, 0);
    wr(f, 0x0b, 0x00);                            /* BCD, 12 hours */
    assert_near_host(f, 0);
    assert_int_equal(rd(f, 0x0d), 0x80);          /* valid RAM and time */
    /* Day of week 1..7, Sunday = 1. */
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int wday = bcd(rd(f, 0x06));
    assert_true(wday == tm.tm_wday + 1 || wday == (tm.tm_wday + 1) % 7 + 1);
}

static void test_set_time_changes_delta_only(void **state)
{
    struct fx *f = *state;
    wr(f, 0x0b, 0x80 | 0x02);                     /* SET, BCD, 24 h */
    wr(f, 0x00, 0x30); wr(f, 0x02, 0x45); wr(f, 0x04, 0x13);
    wr(f, 0x07, 0x31); wr(f, 0x08, 0x12); wr(f, 0x09, 0x99); wr(f, 0x32, 0x19);
    assert_int_equal(rd(f, 0x00), 0x30);          /* frozen while SET */
    wr(f, 0x0b, 0x02);
    struct tm want = { .tm_sec = 30, .tm_min = 45, .tm_hour = 13, .tm_mday = 31, .tm_mon = 11, .tm_year = 99 };
    long offset = (long)(timegm(&want) - time(NULL));
    assert_near_host(f, offset);
    assert_int_equal(bcd(rd(f, 0x09)), 99);
    assert_int_equal(bcd(rd(f, 0x32)), 19);
    /* Writing one register while running moves the time too (minutes + 1). */
    wr(f, 0x02, 0x46);
    assert_near_host(f, offset + 60);
}

static _Atomic int64_t fake_ns;

static void fake_time(struct timespec *ts)
{
    int64_t ns = atomic_load(&fake_ns);
    ts->tv_sec = ns / 1000000000;
    ts->tv_nsec = ns % 1000000000;
}

/* UIP is high for the last 244 us of each second (a fake host clock makes it exact). */
static void test_uip_window(void **state)
{
    struct fx *f = *state;
    const int64_t base = 1700000000ll * 1000000000ll;
    atomic_store(&fake_ns, base);
    cmos_rtc_set_time_source(f->rtc, fake_time);
    wr(f, 0x0b, 0x06);                               /* binary, 24 h */
    uint8_t sec = rd(f, 0x00);
    atomic_store(&fake_ns, base + 999755000);        /* 245 us before the update */
    assert_int_equal(rd(f, 0x0a), 0x26);
    atomic_store(&fake_ns, base + 999757000);        /* 243 us before */
    assert_int_equal(rd(f, 0x0a), 0x26 | 0x80);
    assert_int_equal(rd(f, 0x00), sec);              /* the old second until the update */
    atomic_store(&fake_ns, base + 1000000000);
    assert_int_equal(rd(f, 0x0a), 0x26);
    assert_int_equal(rd(f, 0x00), (sec + 1) % 60);
    /* No UIP while SET holds the clock. */
    atomic_store(&fake_ns, base + 1999900000);
    wr(f, 0x0b, 0x86);
    assert_int_equal(rd(f, 0x0a) & 0x80, 0);
    /* Clearing SET restarts the second: the next update is one second later. */
    wr(f, 0x0b, 0x06);
    atomic_store(&fake_ns, base + 2999850000);     /* 50 us before the new update */
    assert_int_equal(rd(f, 0x0a) & 0x80, 0x80);
    assert_int_equal(rd(f, 0x00), (sec + 1) % 60);
    /* A skipped second still raises AF (late timer, paused VM). */
    wr(f, 0x01, (uint8_t)((sec + 3) % 60));
    wr(f, 0x03, 0xff);
    wr(f, 0x05, 0xc0);
    (void)rd(f, 0x0c);
    atomic_store(&fake_ns, base + 5100000000);       /* two updates later, one read */
    assert_int_equal(rd(f, 0x0c) & 0x30, 0x30);      /* AF + UF */
    cmos_rtc_set_time_source(f->rtc, NULL);
}

/* Waits up to ms for IRQ 8 to rise. */
static int wait_irq(struct fx *f, int ms)
{
    for (int i = 0; i < ms && !atomic_load(&f->level); i++)
        usleep(1000);
    return atomic_load(&f->level);
}

static void test_register_c_and_periodic_rate(void **state)
{
    struct fx *f = *state;
    (void)rd(f, 0x0c);
    assert_int_equal(rd(f, 0x0c) & 0xc0, 0);        /* nothing since the last read */
    wr(f, 0x0a, 0x27);                               /* 512 Hz: 1.953125 ms */
    uint64_t before = vclock_now(f->clock);
    wr(f, 0x0b, 0x02 | 0x40);                        /* PIE */
    uint64_t after = vclock_now(f->clock), end = after + 300000000ull;
    int seen = 0;
    while (vclock_now(f->clock) < end) {
        if (!atomic_load(&f->level)) {
            usleep(200);
            continue;
        }
        uint8_t c = rd(f, 0x0c);
        assert_int_equal(c & 0xc0, 0xc0);            /* IRQF + PF */
        assert_int_equal(atomic_load(&f->level), 0); /* reading C lowers IRQ 8 */
        seen++;
    }
    uint64_t t0 = vclock_now(f->clock);
    uint64_t ticks = cmos_rtc_periodic_ticks(f->rtc);
    uint64_t t1 = vclock_now(f->clock);
    /* The rate over virtual time is exact; delivery may coalesce under host load. */
    assert_true(ticks >= (t0 - after) / 1953125 - 1 && ticks <= (t1 - before) / 1953125 + 1);
    assert_true(seen >= 1 && (uint64_t)seen <= ticks);
    print_message("periodic: %d interrupts seen, %llu produced in %.1f ms of virtual time\n", seen,
                  (unsigned long long)ticks, (double)(t0 - before) / 1e6);

    /* Paused virtual clock: no periodic interrupts. */
    vclock_pause(f->clock);
    usleep(5000);                                    /* a tick in flight lands first */
    (void)rd(f, 0x0c);
    usleep(30000);
    assert_int_equal(atomic_load(&f->level), 0);
    vclock_resume(f->clock);
    assert_true(wait_irq(f, 5000));

    /* PIE off: PF still appears (no IRQF, no IRQ) once a period has passed. */
    wr(f, 0x0b, 0x02);
    (void)rd(f, 0x0c);
    assert_int_equal(atomic_load(&f->level), 0);
    wr(f, 0x0a, 0x2c);                               /* 62.5 ms */
    uint64_t v0 = vclock_now(f->clock);
    (void)rd(f, 0x0c);
    uint8_t c2 = rd(f, 0x0c);
    if (vclock_now(f->clock) - v0 < 60000000)
        assert_int_equal(c2 & 0x40, 0);              /* less than a period since the last read */
    usleep(70000);
    assert_int_equal(rd(f, 0x0c) & 0xc0, 0x40);     /* PF, but no IRQF */
    assert_true(atomic_load(&f->raises) > 0);
    assert_int_equal(atomic_load(&f->level), 0);
}

static void test_alarm_and_update_interrupts(void **state)
{
    struct fx *f = *state;
    wr(f, 0x0b, 0x06);                               /* binary */
    uint8_t sec = rd(f, 0x00);
    wr(f, 0x01, (uint8_t)((sec + 1) % 60));          /* next second, any minute/hour */
    wr(f, 0x03, 0xc0);
    wr(f, 0x05, 0xff);
    (void)rd(f, 0x0c);
    wr(f, 0x0b, 0x06 | 0x20);                        /* AIE */
    assert_true(wait_irq(f, 5000));
    uint8_t c = rd(f, 0x0c);
    assert_int_equal(c & 0xa0, 0xa0);                /* IRQF + AF */
    assert_int_equal(atomic_load(&f->level), 0);
    assert_int_equal(rd(f, 0x0c) & 0xa0, 0);         /* cleared by the read */

    wr(f, 0x0b, 0x06 | 0x10);                        /* UIE only */
    (void)rd(f, 0x0c);
    assert_true(wait_irq(f, 5000));
    assert_int_equal(rd(f, 0x0c) & 0x90, 0x90);      /* IRQF + UF */
    wr(f, 0x0b, 0x86 | 0x10);                        /* SET clears UIE */
    assert_int_equal(rd(f, 0x0b), 0x86);
    wr(f, 0x0b, 0x06);
    cmos_rtc_reset(f->rtc);
    assert_int_equal(atomic_load(&f->level), 0);
}

static void test_nvram_and_memory_bytes(void **state)
{
    struct fx *f = *state;
    assert_int_equal(rd(f, 0x15) | rd(f, 0x16) << 8, 640);
    assert_int_equal(rd(f, 0x17) | rd(f, 0x18) << 8, 0xffff);
    assert_int_equal(rd(f, 0x30) | rd(f, 0x31) << 8, 0xffff);
    assert_int_equal(rd(f, 0x34) | rd(f, 0x35) << 8, (512 - 16) * 16);
    assert_int_equal(rd(f, 0x5b) | rd(f, 0x5c) << 8 | rd(f, 0x5d) << 16, 1024 * 16);
    wr(f, 0x40, 0x5a);
    assert_int_equal(rd(f, 0x40), 0x5a);
    wr(f, 0x80 | 0x41, 0xa5);                        /* bit 7 of the index = NMI off */
    assert_int_equal(rd(f, 0x41), 0xa5);
    assert_int_equal(rd(f, 0x80 | 0x0d), 0x80);
    assert_int_equal(io_bus_port_read(f->bus, 0x70, 1), 0xff);
    wr(f, 0x0d, 0x00);                               /* read-only */
    assert_int_equal(rd(f, 0x0d), 0x80);
}

static void test_hostile_guest(void **state)
{
    struct fx *f = *state;
    srand(7);
    for (int i = 0; i < 100000; i++) {
        uint16_t port = (uint16_t)(0x70 + (rand() & 1));
        unsigned size = 1u << (rand() % 3);
        if (rand() & 1)
            io_bus_port_write(f->bus, port, size, (uint32_t)rand());
        else
            (void)io_bus_port_read(f->bus, port, size);
    }
    wr(f, 0x0b, 0x40 | 0x20 | 0x10 | 0x04);          /* every interrupt on, then tear down */
    wr(f, 0x0a, 0x23);                               /* 8192 Hz */
    usleep(5000);
}

static void test_device_ops_create(void **state)
{
    (void)state;
    struct VM *vm = calloc(1, sizeof(*vm));
    assert_non_null(vm);
    vm->io = io_bus_create();
    vm->clock = vclock_create();
    vm->ram.low_size = 64 * MIB;
    PCFGMNODE cfg = cfgm_create_tree();
    assert_int_equal(CFGMR3InsertInteger(cfg, "IRQ", 8), VINF_SUCCESS);
    void *dev = NULL;
    assert_string_equal(cmos_rtc_device_ops.name, "rtc");
    assert_int_equal(cmos_rtc_device_ops.create(vm, cfg, &dev), VINF_SUCCESS);
    io_bus_port_write(vm->io, 0x70, 1, 0x34);
    assert_int_equal(io_bus_port_read(vm->io, 0x71, 1), (64 - 16) * 16 & 0xff);
    io_bus_port_write(vm->io, 0x70, 1, 0x0b);
    io_bus_port_write(vm->io, 0x71, 1, 0x42);                        /* PIE */
    cmos_rtc_device_ops.reset(dev);
    assert_int_equal(io_bus_port_read(vm->io, 0x71, 1), 0x02);      /* reset cleared PIE */
    cmos_rtc_device_ops.destroy(dev);
    cfgm_destroy_tree(cfg);
    vclock_destroy(vm->clock);
    io_bus_destroy(vm->io);
    free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_time_matches_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_time_changes_delta_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uip_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_c_and_periodic_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alarm_and_update_interrupts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nvram_and_memory_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_guest, setup, teardown),
        cmocka_unit_test(test_device_ops_create),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
