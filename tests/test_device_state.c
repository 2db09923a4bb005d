/*
 * Device saved state: each model's save -> load into a fresh instance ->
 * save gives the same struct, the loaded instance behaves like the saved
 * one (registers, pending interrupts, counters), and impossible values are
 * refused with VERR_SSM_UNEXPECTED_DATA.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "devices/acpi_pm.h"
#include "devices/cmos_rtc.h"
#include "devices/i8042.h"
#include "devices/i8254.h"
#include "devices/i8259.h"
#include "devices/pci_host.h"
#include "devices/uart16550.h"
#include "io/io_bus.h"
#include "time/vclock.h"

static bool pic_line[2];
static void pic_notify(void *opaque, bool up) { pic_line[(uintptr_t)opaque] = up; }

static void test_i8259(void **state)
{
    (void)state;
    struct io_bus *b1 = io_bus_create(), *b2 = io_bus_create();
    struct i8259 *p1 = i8259_create(b1, pic_notify, (void *)0), *p2 = i8259_create(b2, pic_notify, (void *)1);
    assert_non_null(p1);
    assert_non_null(p2);
    const uint8_t icw[][2] = { { 0x20, 0x11 }, { 0x21, 0x30 }, { 0x21, 0x04 }, { 0x21, 0x01 }, { 0x21, 0xfa } };
    for (unsigned i = 0; i < 5; i++)
        io_bus_port_write(b1, icw[i][0], 1, icw[i][1]);
    i8259_set_irq(p1, 2 + 0, 0);
    i8259_set_irq(p1, 0, 1);           /* pending, unmasked */
    assert_true(pic_line[0]);
    struct i8259_saved s, s2;
    i8259_save(p1, &s);
    assert_false(pic_line[1]);
    assert_int_equal(i8259_load(p2, &s), VINF_SUCCESS);
    assert_true(pic_line[1]);          /* the restored request reaches the vCPU */
    i8259_save(p2, &s2);
    assert_memory_equal(&s, &s2, sizeof(s));
    assert_int_equal(io_bus_port_read(b2, 0x21, 1), 0xfa);
    assert_int_equal(i8259_acknowledge(p2), 0x30);
    struct i8259_saved bad = s;
    bad.chip[0].lowest = 9;
    assert_int_equal(i8259_load(p2, &bad), VERR_SSM_UNEXPECTED_DATA);
    bad = s;
    bad.chip[1].flags |= 1u << 15;
    assert_int_equal(i8259_load(p2, &bad), VERR_SSM_UNEXPECTED_DATA);
    i8259_destroy(p1);
    i8259_destroy(p2);
    io_bus_destroy(b1);
    io_bus_destroy(b2);
}

static int pit_irqs[2];
static void pit_irq(void *opaque, int level) { if (level) pit_irqs[(uintptr_t)opaque]++; }

static uint16_t pit_latch_read(struct io_bus *b)
{
    io_bus_port_write(b, 0x43, 1, 0x00);   /* latch counter 0 */
    uint16_t lo = (uint16_t)io_bus_port_read(b, 0x40, 1);
    return (uint16_t)(lo | io_bus_port_read(b, 0x40, 1) << 8);
}

static void test_i8254(void **state)
{
    (void)state;
    struct io_bus *b1 = io_bus_create(), *b2 = io_bus_create();
    struct vclock *c1 = vclock_create(), *c2 = vclock_create();
    struct i8254 *p1 = i8254_create(b1, c1, pit_irq, (void *)0), *p2 = i8254_create(b2, c2, pit_irq, (void *)1);
    assert_non_null(p1);
    assert_non_null(p2);
    vclock_set(c1, 1000000);
    io_bus_port_write(b1, 0x43, 1, 0x34);  /* counter 0, mode 2 */
    io_bus_port_write(b1, 0x40, 1, 0x10);
    io_bus_port_write(b1, 0x40, 1, 0x27);  /* 10000 */
    vclock_set(c1, 3000000);
    struct i8254_saved s, s2;
    i8254_save(p1, &s);
    vclock_set(c2, 3000000);               /* the clock is restored before the devices */
    assert_int_equal(i8254_load(p2, &s), VINF_SUCCESS);
    i8254_save(p2, &s2);
    assert_memory_equal(&s, &s2, sizeof(s));
    assert_int_equal(pit_latch_read(b2), pit_latch_read(b1));
    vclock_set(c1, 5123456);
    vclock_set(c2, 5123456);
    assert_int_equal(pit_latch_read(b2), pit_latch_read(b1));   /* and they keep counting alike */
    struct i8254_saved bad = s;
    bad.ctr[0].mode = 7;
    assert_int_equal(i8254_load(p2, &bad), VERR_SSM_UNEXPECTED_DATA);
    bad = s;
    bad.ctr[0].start = 0;                  /* running mode 2 divides by it */
    assert_int_equal(i8254_load(p2, &bad), VERR_SSM_UNEXPECTED_DATA);
    bad = s;
    bad.ctr[1].k0 = UINT64_MAX;
    assert_int_equal(i8254_load(p2, &bad), VERR_SSM_UNEXPECTED_DATA);
    i8254_destroy(p1);
    i8254_destroy(p2);
    vclock_destroy(c1);
    vclock_destroy(c2);
    io_bus_destroy(b1);
    io_bus_destroy(b2);
}

static int uart_level[2];
static void uart_irq(void *opaque, int level) { uart_level[(uintptr_t)opaque] = level; }

static void test_uart16550(void **state)
{
    (void)state;
    struct io_bus *b1 = io_bus_create(), *b2 = io_bus_create();
    struct uart16550 *u1 = uart16550_create(b1, 0x3f8, uart_irq, (void *)0, NULL);
    struct uart16550 *u2 = uart16550_create(b2, 0x3f8, uart_irq, (void *)1, NULL);
    io_bus_port_write(b1, 0x3ff, 1, 0x5a);     /* scratch */
    io_bus_port_write(b1, 0x3fa, 1, 0x81);     /* FIFO on, trigger 8 */
    io_bus_port_write(b1, 0x3fc, 1, 0x08);     /* OUT2 */
    io_bus_port_write(b1, 0x3f9, 1, 0x01);     /* receive interrupt */
    assert_int_equal(uart16550_receive(u1, (const uint8_t *)"hi", 2), 2);
    struct uart16550_saved s, s2;
    uart16550_save(u1, &s);
    assert_int_equal(uart16550_load(u2, &s), VINF_SUCCESS);
    uart16550_save(u2, &s2);
    assert_memory_equal(&s, &s2, sizeof(s));
    assert_int_equal(uart_level[1], uart_level[0]);
    assert_int_equal(io_bus_port_read(b2, 0x3ff, 1), 0x5a);
    assert_int_equal(io_bus_port_read(b2, 0x3f8, 1), 'h');
    assert_int_equal(io_bus_port_read(b2, 0x3f8, 1), 'i');
    struct uart16550_saved bad = s;
    bad.rx_trigger = 3;
    assert_int_equal(uart16550_load(u2, &bad), VERR_SSM_UNEXPECTED_DATA);
    bad = s;
    bad.rx_count = 17;
    assert_int_equal(uart16550_load(u2, &bad), VERR_SSM_UNEXPECTED_DATA);
    uart16550_destroy(u1);
    uart16550_destroy(u2);
    io_bus_destroy(b1);
    io_bus_destroy(b2);
}

static void rtc_irq(void *opaque, int level) { (void)opaque; (void)level; }

static void test_cmos_rtc(void **state)
{
    (void)state;
    struct io_bus *b1 = io_bus_create(), *b2 = io_bus_create();
    struct vclock *c = vclock_create();
    struct cmos_rtc *r1 = cmos_rtc_create(b1, c, 16 << 20, 0, rtc_irq, NULL);
    struct cmos_rtc *r2 = cmos_rtc_create(b2, c, 16 << 20, 0, rtc_irq, NULL);
    io_bus_port_write(b1, 0x70, 1, 0x40);
    io_bus_port_write(b1, 0x71, 1, 0xa5);
    struct cmos_rtc_saved s, s2;
    cmos_rtc_save(r1, &s);
    assert_int_equal(cmos_rtc_load(r2, &s), VINF_SUCCESS);
    cmos_rtc_save(r2, &s2);
    assert_memory_equal(&s, &s2, sizeof(s));
    io_bus_port_write(b2, 0x70, 1, 0x40);
    assert_int_equal(io_bus_port_read(b2, 0x71, 1), 0xa5);
    struct cmos_rtc_saved bad = s;
    bad.index = 200;
    assert_int_equal(cmos_rtc_load(r2, &bad), VERR_SSM_UNEXPECTED_DATA);
    bad = s;
    bad.phase_ns = -1;
    assert_int_equal(cmos_rtc_load(r2, &bad), VERR_SSM_UNEXPECTED_DATA);
    cmos_rtc_destroy(r1);
    cmos_rtc_destroy(r2);
    vclock_destroy(c);
    io_bus_destroy(b1);
    io_bus_destroy(b2);
}

static void kbc_irq(void *opaque, unsigned line, int level) { (void)opaque; (void)line; (void)level; }
static void kbc_reset(void *opaque) { (void)opaque; }

static void test_i8042(void **state)
{
    (void)state;
    struct io_bus *b1 = io_bus_create(), *b2 = io_bus_create();
    struct i8042 *k1 = i8042_create(b1, kbc_irq, kbc_reset, NULL), *k2 = i8042_create(b2, kbc_irq, kbc_reset, NULL);
    io_bus_port_write(b1, 0x64, 1, 0xaa);      /* self test: 0x55 queued */
    struct i8042_saved s, s2;
    i8042_save(k1, &s);
    assert_int_equal(i8042_load(k2, &s), VINF_SUCCESS);
    i8042_save(k2, &s2);
    assert_memory_equal(&s, &s2, sizeof(s));
    assert_int_equal(io_bus_port_read(b2, 0x60, 1), io_bus_port_read(b1, 0x60, 1));
    struct i8042_saved bad = s;
    bad.q_count = 9;
    assert_int_equal(i8042_load(k2, &bad), VERR_SSM_UNEXPECTED_DATA);
    i8042_destroy(k1);
    i8042_destroy(k2);
    io_bus_destroy(b1);
    io_bus_destroy(b2);
}

static void test_acpi_pm_and_pci_host(void **state)
{
    (void)state;
    struct io_bus *b1 = io_bus_create(), *b2 = io_bus_create();
    struct vclock *c = vclock_create();
    struct acpi_pm_callbacks cb = { 0 };
    struct acpi_pm *a1 = acpi_pm_create(b1, 0x600, c, &cb), *a2 = acpi_pm_create(b2, 0x600, c, &cb);
    io_bus_port_write(b1, 0x602, 2, 0x0100);   /* PM1_EN: power button */
    struct acpi_pm_saved as, as2;
    acpi_pm_save(a1, &as);
    assert_int_equal(acpi_pm_load(a2, &as), VINF_SUCCESS);
    acpi_pm_save(a2, &as2);
    assert_memory_equal(&as, &as2, sizeof(as));
    assert_int_equal(io_bus_port_read(b2, 0x602, 2), io_bus_port_read(b1, 0x602, 2));
    struct pci_host *h1 = pci_host_create(b1, NULL, NULL), *h2 = pci_host_create(b2, NULL, NULL);
    io_bus_port_write(b1, 0xcf8, 4, 0x80000004);
    io_bus_port_write(b1, 0xcfc, 2, 0x0007);
    struct pci_host_saved ps, ps2;
    pci_host_save(h1, &ps);
    assert_int_equal(pci_host_load(h2, &ps), VINF_SUCCESS);
    pci_host_save(h2, &ps2);
    assert_memory_equal(&ps, &ps2, sizeof(ps));
    assert_int_equal(io_bus_port_read(b2, 0xcfc, 2), 0x0007);
    struct pci_host_saved bad = ps;
    bad.bridge_config[0] ^= 1;                 /* a different vendor: not this bridge */
    assert_int_equal(pci_host_load(h2, &bad), VERR_SSM_UNEXPECTED_DATA);
    acpi_pm_destroy(a1);
    acpi_pm_destroy(a2);
    pci_host_destroy(h1);
    pci_host_destroy(h2);
    vclock_destroy(c);
    io_bus_destroy(b1);
    io_bus_destroy(b2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_i8259),
        cmocka_unit_test(test_i8254),
        cmocka_unit_test(test_uart16550),
        cmocka_unit_test(test_cmos_rtc),
        cmocka_unit_test(test_i8042),
        cmocka_unit_test(test_acpi_pm_and_pci_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
