/*
 * The local APIC and IOAPIC models on their own: priorities (TPR/PPR),
 * acknowledge and EOI (with the EOI broadcast of level-triggered vectors),
 * ICR decoding, ESR, garbage in every register, IOAPIC edge/level inputs
 * with remote IRR, the periodic timer's rate on a clock the test steps,
 * and saved state (round trip, timer carried over, impossible values
 * refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "time/vclock.h"

struct record {
    unsigned notifies, sends, eois;
    struct apic_msg last;
    uint8_t eoi_vector;
};

static void rec_notify(void *opaque, uint32_t cpu) { (void)cpu; ((struct record *)opaque)->notifies++; }

static void rec_send(void *opaque, uint32_t src, const struct apic_msg *msg)
{
    (void)src;
    struct record *r = opaque;
    r->sends++;
    r->last = *msg;
}

static void rec_eoi(void *opaque, uint8_t vector)
{
    struct record *r = opaque;
    r->eois++;
    r->eoi_vector = vector;
}

static void rec_deliver(void *opaque, const struct apic_msg *msg) { rec_send(opaque, 0, msg); }

static struct lapic *make_lapic(struct vclock *clock, struct record *r)
{
    struct lapic_host host = { r, rec_notify, rec_send, rec_eoi };
    struct lapic *a = lapic_create(clock, 1, &host);
    assert_non_null(a);
    lapic_write(a, 0xf0, 0x1ff);                    /* software enabled */
    return a;
}

static void accept_fixed(struct lapic *a, uint8_t vector, bool level)
{
    struct apic_msg m = { .vector = vector, .delivery_mode = APIC_DM_FIXED, .level = level, .assert = true };
    lapic_accept(a, &m);
}

static void test_lapic_priorities_and_eoi(void **state)
{
    (void)state;
    struct record r = { 0 };
    struct lapic *a = make_lapic(NULL, &r);
    assert_int_equal(lapic_read(a, 0x20), 1u << 24);
    assert_int_equal(lapic_read(a, 0x30), 0x50014);
    accept_fixed(a, 0x31, true);
    accept_fixed(a, 0x52, false);
    assert_int_equal(r.notifies, 2);
    assert_int_equal(lapic_pending(a), 0x52);
    lapic_write(a, 0x80, 0x60);                     /* TPR class 6 masks class 5 */
    assert_int_equal(lapic_pending(a), -1);
    assert_int_equal(lapic_get_cr8(a), 6);
    lapic_set_cr8(a, 0);
    assert_int_equal(lapic_acknowledge(a), 0x52);
    assert_int_equal(lapic_read(a, 0xa0), 0x50);    /* PPR = the in-service class */
    assert_int_equal(lapic_pending(a), -1);         /* 0x31 waits below it */
    assert_int_equal(lapic_read(a, 0x100 + 0x20), 1u << (0x52 - 0x40));   /* ISR bit */
    lapic_write(a, 0xb0, 0);                        /* EOI: edge, no broadcast */
    assert_int_equal(r.eois, 0);
    assert_int_equal(lapic_acknowledge(a), 0x31);
    lapic_write(a, 0xb0, 0);
    assert_int_equal(r.eois, 1);                    /* level: the IOAPIC hears of it */
    assert_int_equal(r.eoi_vector, 0x31);
    accept_fixed(a, 5, false);                      /* illegal vector: refused, ESR bit 6 */
    assert_int_equal(lapic_pending(a), -1);
    lapic_write(a, 0x280, 0);
    assert_int_equal(lapic_read(a, 0x280) & 0x40, 0x40);
    lapic_destroy(a);
}

static void test_lapic_icr_and_garbage(void **state)
{
    (void)state;
    struct record r = { 0 };
    struct lapic *a = make_lapic(NULL, &r);
    lapic_write(a, 0x310, 0x03000000);
    lapic_write(a, 0x300, 0x4853);                  /* fixed, logical, assert, vector 0x53 */
    assert_int_equal(r.sends, 1);
    assert_int_equal(r.last.vector, 0x53);
    assert_int_equal(r.last.dest, 3);
    assert_true(r.last.logical);
    assert_int_equal(r.last.delivery_mode, APIC_DM_FIXED);
    lapic_write(a, 0x300, 0xc4608);                 /* SIPI, all but self */
    assert_int_equal(r.last.delivery_mode, APIC_DM_SIPI);
    assert_int_equal(r.last.shorthand, 3);
    assert_int_equal(lapic_read(a, 0x300) & (1u << 12), 0);    /* delivery status idle */
    lapic_write(a, 0x300, 0x4002);                  /* fixed vector 2: not sent, ESR bit 5 */
    assert_int_equal(r.sends, 2);
    lapic_write(a, 0x280, 0);
    assert_int_equal(lapic_read(a, 0x280) & 0x20, 0x20);
    lapic_write(a, 0xd0, 0x04000000);               /* flat logical bit 2 */
    assert_true(lapic_match(a, 0x06, true));
    assert_false(lapic_match(a, 0x09, true));
    assert_true(lapic_match(a, 1, false));
    assert_true(lapic_match(a, 0xff, false));
    for (uint32_t off = 0; off < 0x1000; off += 4) {   /* garbage everywhere, aligned or not */
        lapic_write(a, off, 0xffffffff);
        (void)lapic_read(a, off);
    }
    assert_int_equal(lapic_read(a, 0x30), 0x50014);
    assert_true(lapic_read(a, 0x320) & (1u << 16) || (lapic_read(a, 0xf0) & 0x100));
    lapic_destroy(a);
}

static void test_lapic_saved_state(void **state)
{
    (void)state;
    struct vclock *clock = vclock_create();
    assert_non_null(clock);
    vclock_resume(clock);
    struct record r = { 0 };
    struct lapic *a = make_lapic(clock, &r);
    lapic_write(a, 0x3e0, 0xb);
    lapic_write(a, 0x320, 0x20040);                 /* periodic, vector 0x40 */
    lapic_write(a, 0x380, 1000000000);              /* 1 s */
    accept_fixed(a, 0x61, true);
    lapic_write(a, 0x80, 0x20);
    struct lapic_saved s1, s2;
    memset(&s1, 0xcc, sizeof(s1));
    lapic_save(a, &s1);
    struct record r2 = { 0 };
    struct lapic *b = make_lapic(clock, &r2);
    assert_int_equal(lapic_load(b, &s1), VINF_SUCCESS);
    memset(&s2, 0x33, sizeof(s2));
    lapic_save(b, &s2);
    assert_memory_equal(&s1, &s2, sizeof(s1));
    assert_int_equal(lapic_pending(b), 0x61);
    uint32_t cur = lapic_read(b, 0x390);
    assert_true(cur > 0 && cur <= 1000000000);      /* the timer runs on in the copy */
    struct lapic_saved bad = s1;
    bad.lvt[1] |= 1u << 20;                          /* reserved LVT bit */
    assert_int_equal(lapic_load(b, &bad), VERR_SSM_UNEXPECTED_DATA);
    bad = s1;
    bad.id = 0x1234;
    assert_int_equal(lapic_load(b, &bad), VERR_SSM_UNEXPECTED_DATA);
    bad = s1;
    bad.divide_config = 0xff;
    assert_int_equal(lapic_load(b, &bad), VERR_SSM_UNEXPECTED_DATA);
    lapic_destroy(a);
    lapic_destroy(b);
    vclock_destroy(clock);
}

/* Timer interrupts and the virtual time of each (on the clock's thread). */
struct ticks {
    struct vclock *clock;
    atomic_uint n;
    _Atomic uint64_t at[8];
};

static void tick_notify(void *opaque, uint32_t cpu)
{
    (void)cpu;
    struct ticks *t = opaque;
    unsigned n = atomic_load(&t->n);
    if (n < 8)
        atomic_store(&t->at[n], vclock_now(t->clock));
    atomic_store(&t->n, n + 1);
}

static void no_send(void *opaque, uint32_t src, const struct apic_msg *msg) { (void)opaque, (void)src, (void)msg; }
static void no_eoi(void *opaque, uint8_t vector) { (void)opaque, (void)vector; }

#define PERIOD_NS 1000000000ull            /* count 62500000, divide 16 */

/*
 * The periodic timer's rate, whatever the host's load: the clock stands
 * still except for a moment before each expiry, when the test lets it run
 * until the interrupt comes.  Each period gives one interrupt, never before
 * its time; the next expiry is armed one period after the last (not after
 * whenever the host ran the callback), and the count reads what a period
 * started at a multiple of 1 s says.
 */
static void test_lapic_periodic_rate(void **state)
{
    (void)state;
    struct ticks t = { .clock = vclock_create() };
    assert_non_null(t.clock);
    struct lapic_host host = { &t, tick_notify, no_send, no_eoi };
    struct lapic *a = lapic_create(t.clock, 0, &host);
    assert_non_null(a);
    lapic_write(a, 0xf0, 0x1ff);
    lapic_write(a, 0x3e0, 3);                       /* divide 16 */
    lapic_write(a, 0x320, 0x20040);                 /* periodic, vector 0x40 */
    lapic_write(a, 0x380, 62500000);                /* at clock time 0 (paused) */
    assert_int_equal(vclock_next_deadline(t.clock), PERIOD_NS);
    for (unsigned k = 1; k <= 5; k++) {
        vclock_set(t.clock, k * PERIOD_NS - 100000);   /* 100 us before the k-th expiry */
        vclock_resume(t.clock);
        for (int ms = 0; ms < 10000 && atomic_load(&t.n) < k; ms++)
            nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
        vclock_pause(t.clock);
        uint64_t now = vclock_now(t.clock);
        assert_int_equal(atomic_load(&t.n), k);
        assert_true(atomic_load(&t.at[k - 1]) >= k * PERIOD_NS);             /* not early */
        assert_true(now < (k + 1) * PERIOD_NS);     /* (the host did not stall for a second) */
        assert_int_equal(vclock_next_deadline(t.clock), (k + 1) * PERIOD_NS);
        assert_int_equal(lapic_read(a, 0x390), 62500000 - (now - k * PERIOD_NS) / 16);
    }
    lapic_destroy(a);
    vclock_destroy(t.clock);
}

static void route(struct ioapic *io, unsigned pin, uint32_t lo, uint32_t hi)
{
    ioapic_mmio_write(io, 0, 0x11 + 2 * pin);
    ioapic_mmio_write(io, 0x10, hi);
    ioapic_mmio_write(io, 0, 0x10 + 2 * pin);
    ioapic_mmio_write(io, 0x10, lo);
}

static void test_ioapic_edge_level(void **state)
{
    (void)state;
    struct record r = { 0 };
    struct ioapic *io = ioapic_create(NULL, rec_deliver, &r);
    assert_non_null(io);
    ioapic_mmio_write(io, 0, 1);
    assert_int_equal(ioapic_mmio_read(io, 0x10), 0x170011);
    ioapic_set_irq(io, 4, 1);                       /* masked at reset: nothing */
    assert_int_equal(r.sends, 0);
    ioapic_set_irq(io, 4, 0);
    route(io, 4, 0x34, 0x02000000);                 /* edge, physical, APIC 2 */
    ioapic_set_irq(io, 4, 1);
    ioapic_set_irq(io, 4, 1);                       /* no new edge */
    assert_int_equal(r.sends, 1);
    assert_int_equal(r.last.vector, 0x34);
    assert_int_equal(r.last.dest, 2);
    assert_false(r.last.level);
    ioapic_set_irq(io, 4, 0);
    ioapic_set_irq(io, 4, 1);
    assert_int_equal(r.sends, 2);

    route(io, 9, 0x8039, 0);                        /* level */
    ioapic_set_irq(io, 9, 1);
    assert_int_equal(r.sends, 3);
    assert_true(r.last.level);
    ioapic_mmio_write(io, 0, 0x10 + 18);
    assert_true(ioapic_mmio_read(io, 0x10) & (1u << 14));    /* remote IRR */
    ioapic_set_irq(io, 9, 1);
    assert_int_equal(r.sends, 3);                   /* held until EOI */
    ioapic_eoi(io, 0x39);                           /* still asserted: again */
    assert_int_equal(r.sends, 4);
    ioapic_set_irq(io, 9, 0);
    ioapic_eoi(io, 0x39);
    assert_int_equal(r.sends, 4);
    assert_false(ioapic_mmio_read(io, 0x10) & (1u << 14));

    ioapic_set_irq(io, 9, 1);                       /* saved state with remote IRR set */
    struct ioapic_saved s1, s2;
    memset(&s1, 0xcc, sizeof(s1));
    ioapic_save(io, &s1);
    struct record r2 = { 0 };
    struct ioapic *copy = ioapic_create(NULL, rec_deliver, &r2);
    assert_int_equal(ioapic_load(copy, &s1), VINF_SUCCESS);
    memset(&s2, 0x33, sizeof(s2));
    ioapic_save(copy, &s2);
    assert_memory_equal(&s1, &s2, sizeof(s1));
    ioapic_eoi(copy, 0x39);
    assert_int_equal(r2.sends, 1);                  /* the copy re-delivers the asserted line */
    struct ioapic_saved bad = s1;
    bad.redir[3] |= 1u << 12;                       /* delivery status is not state */
    assert_int_equal(ioapic_load(copy, &bad), VERR_SSM_UNEXPECTED_DATA);
    bad = s1;
    bad.pins = 0xffffffff;
    assert_int_equal(ioapic_load(copy, &bad), VERR_SSM_UNEXPECTED_DATA);

    for (uint32_t sel = 0; sel < 0x100; sel++) {    /* garbage */
        ioapic_mmio_write(io, 0, sel | 0xffffff00);
        ioapic_mmio_write(io, 0x10, 0xffffffff);
        (void)ioapic_mmio_read(io, 0x10);
    }
    ioapic_mmio_write(io, 0x40, 0xffffffff);
    ioapic_set_irq(io, 1000, 1);
    ioapic_destroy(io);
    ioapic_destroy(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lapic_priorities_and_eoi),
        cmocka_unit_test(test_lapic_icr_and_garbage),
        cmocka_unit_test(test_lapic_periodic_rate),
        cmocka_unit_test(test_lapic_saved_state),
        cmocka_unit_test(test_ioapic_edge_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
