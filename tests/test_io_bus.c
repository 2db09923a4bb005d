/*
 * Unit tests for the I/O bus: registration order and overlap rejection,
 * dispatch, unclaimed reads, accesses that straddle ranges, bad sizes and
 * ranges at the very end of the port and address spaces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "io/io_bus.h"

struct recorder {
    unsigned writes, reads;
    uint64_t last_addr, last_value;
    unsigned last_size;
    uint32_t tag;                      /* what reads return */
};

static uint32_t rec_port_read(void *o, uint16_t port, unsigned size)
{
    struct recorder *r = o;
    r->reads++; r->last_addr = port; r->last_size = size;
    return r->tag;
}

static void rec_port_write(void *o, uint16_t port, unsigned size, uint32_t v)
{
    struct recorder *r = o;
    r->writes++; r->last_addr = port; r->last_size = size; r->last_value = v;
}

static uint64_t rec_mmio_read(void *o, uint64_t off, unsigned size)
{
    struct recorder *r = o;
    r->reads++; r->last_addr = off; r->last_size = size;
    return r->tag;
}

static void rec_mmio_write(void *o, uint64_t off, unsigned size, uint64_t v)
{
    struct recorder *r = o;
    r->writes++; r->last_addr = off; r->last_size = size; r->last_value = v;
}

static const struct io_port_ops port_ops = { rec_port_read, rec_port_write };
static const struct io_mmio_ops mmio_ops = { rec_mmio_read, rec_mmio_write };

static void test_port_register_and_overlap(void **state)
{
    (void)state;
    struct io_bus *bus = io_bus_create();
    struct recorder a = { 0 }, b = { 0 };
    assert_int_equal(io_bus_register_ports(bus, 0x60, 1, &port_ops, &a, "a"), VINF_SUCCESS);
    assert_int_equal(io_bus_register_ports(bus, 0x40, 4, &port_ops, &b, "b"), VINF_SUCCESS);
    assert_int_equal(io_bus_register_ports(bus, 0x43, 2, &port_ops, &b, "x"), VERR_ALREADY_EXISTS);
    assert_int_equal(io_bus_register_ports(bus, 0x3f, 2, &port_ops, &b, "x"), VERR_ALREADY_EXISTS);
    assert_int_equal(io_bus_register_ports(bus, 0x30, 0x100, &port_ops, &b, "x"), VERR_ALREADY_EXISTS);
    assert_int_equal(io_bus_register_ports(bus, 0x60, 1, &port_ops, &b, "x"), VERR_ALREADY_EXISTS);
    assert_int_equal(io_bus_register_ports(bus, 0x44, 0x1c, &port_ops, &b, "gap"), VINF_SUCCESS);
    assert_int_equal(io_bus_register_ports(bus, 0x70, 0, &port_ops, &b, "x"), VERR_INVALID_PARAMETER);
    assert_int_equal(io_bus_register_ports(bus, 0xffff, 2, &port_ops, &b, "x"), VERR_OUT_OF_RANGE);
    assert_int_equal(io_bus_register_ports(bus, 0xfff0, 0x10, &port_ops, &b, "top"), VINF_SUCCESS);
    io_bus_destroy(bus);
}

static void test_port_dispatch_and_unclaimed(void **state)
{
    (void)state;
    struct io_bus *bus = io_bus_create();
    struct recorder a = { .tag = 0x12345678 };
    assert_int_equal(io_bus_register_ports(bus, 0x3f8, 8, &port_ops, &a, "uart"), VINF_SUCCESS);
    io_bus_port_write(bus, 0x3f9, 1, 0x1ff);
    assert_int_equal(a.writes, 1);
    assert_int_equal(a.last_addr, 0x3f9);
    assert_int_equal(a.last_value, 0xff);                   /* masked to the size */
    assert_int_equal(io_bus_port_read(bus, 0x3fc, 2), 0x5678);
    assert_int_equal(io_bus_port_read(bus, 0x80, 1), 0xff);
    assert_int_equal(io_bus_port_read(bus, 0x80, 2), 0xffff);
    assert_int_equal(io_bus_port_read(bus, 0x80, 4), 0xffffffffu);
    io_bus_port_write(bus, 0x80, 4, 0);                     /* ignored */
    assert_int_equal(a.writes, 1);
    io_bus_destroy(bus);
}

static void test_port_straddle_and_sizes(void **state)
{
    (void)state;
    struct io_bus *bus = io_bus_create();
    struct recorder a = { .tag = 0xaa };
    assert_int_equal(io_bus_register_ports(bus, 0x100, 2, &port_ops, &a, "a"), VINF_SUCCESS);
    /* 0x100..0x101 claimed, 0x102..0x103 not: byte accesses, 0xff for the rest. */
    assert_int_equal(io_bus_port_read(bus, 0x100, 4), 0xffffaaaau);
    assert_int_equal(a.reads, 2);
    assert_int_equal(a.last_size, 1);
    io_bus_port_write(bus, 0x101, 2, 0xbeef);
    assert_int_equal(a.writes, 1);
    assert_int_equal(a.last_addr, 0x101);
    assert_int_equal(a.last_value, 0xef);
    /* Bad sizes never reach the device. */
    assert_int_equal(io_bus_port_read(bus, 0x100, 3), 0xffffffffu);
    io_bus_port_write(bus, 0x100, 8, 1);
    io_bus_port_write(bus, 0x100, 0, 1);
    assert_int_equal(a.writes, 1);
    /* An access at the top of the port space does not wrap to port 0. */
    struct recorder z = { .tag = 0x11 };
    assert_int_equal(io_bus_register_ports(bus, 0, 1, &port_ops, &z, "zero"), VINF_SUCCESS);
    assert_int_equal(io_bus_port_read(bus, 0xffff, 2), 0xffff);
    assert_int_equal(z.reads, 0);
    io_bus_destroy(bus);
}

static void test_mmio(void **state)
{
    (void)state;
    struct io_bus *bus = io_bus_create();
    struct recorder a = { .tag = 0xdeadbeef }, b = { 0 };
    assert_int_equal(io_bus_register_mmio(bus, 0xfee00000, 0x1000, &mmio_ops, &a, "lapic"), VINF_SUCCESS);
    assert_int_equal(io_bus_register_mmio(bus, 0xfee00800, 0x1000, &mmio_ops, &b, "x"), VERR_ALREADY_EXISTS);
    assert_int_equal(io_bus_register_mmio(bus, 0xfedfffff, 2, &mmio_ops, &b, "x"), VERR_ALREADY_EXISTS);
    assert_int_equal(io_bus_register_mmio(bus, 0, 0, &mmio_ops, &b, "x"), VERR_INVALID_PARAMETER);
    assert_int_equal(io_bus_register_mmio(bus, UINT64_MAX - 10, 12, &mmio_ops, &b, "x"), VERR_OUT_OF_RANGE);
    assert_int_equal(io_bus_register_mmio(bus, UINT64_MAX - 0xfff, 0x1000, &mmio_ops, &b, "top"), VINF_SUCCESS);
    assert_true(io_bus_mmio_claimed(bus, 0xfee00fff));
    assert_false(io_bus_mmio_claimed(bus, 0xfee01000));
    assert_int_equal(io_bus_mmio_read(bus, 0xfee00020, 4), 0xdeadbeef);
    assert_int_equal(a.last_addr, 0x20);
    io_bus_mmio_write(bus, 0xfee000b0, 8, UINT64_C(0x1122334455667788));
    assert_true(a.last_value == UINT64_C(0x1122334455667788) && a.last_size == 8);
    assert_true(io_bus_mmio_read(bus, 0x1000, 8) == UINT64_MAX);
    assert_true(io_bus_mmio_read(bus, 0xfee00000, 3) == UINT64_MAX);      /* bad size */
    /* Straddling the end of the range: the claimed byte goes to the device. */
    assert_true(io_bus_mmio_read(bus, 0xfee00fff, 2) == 0xffef);
    /* The very top of the address space does not wrap. */
    assert_true(io_bus_mmio_read(bus, UINT64_MAX, 1) == 0);
    assert_true(b.last_addr == 0xfff);
    assert_true(io_bus_mmio_read(bus, UINT64_MAX, 2) == 0xff00);
    io_bus_destroy(bus);
}

static void test_many_ranges_sorted(void **state)
{
    (void)state;
    struct io_bus *bus = io_bus_create();
    static struct recorder r[200];
    /* Register in a scrambled order; each lookup must find its own device. */
    for (unsigned i = 0; i < 200; i++) {
        unsigned k = (i * 37) % 200;
        r[k].tag = k;
        assert_int_equal(io_bus_register_ports(bus, (uint16_t)(k * 8), 4, &port_ops, &r[k], "r"), VINF_SUCCESS);
    }
    for (unsigned k = 0; k < 200; k++) {
        assert_int_equal(io_bus_port_read(bus, (uint16_t)(k * 8 + 3), 1), k & 0xff);
        assert_int_equal(io_bus_port_read(bus, (uint16_t)(k * 8 + 4), 1), 0xff);
    }
    io_bus_destroy(bus);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_port_register_and_overlap),
        cmocka_unit_test(test_port_dispatch_and_unclaimed),
        cmocka_unit_test(test_port_straddle_and_sizes),
        cmocka_unit_test(test_mmio),
        cmocka_unit_test(test_many_ranges_sorted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
