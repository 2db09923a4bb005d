/*
 * i8042 keyboard controller: self-test, interface tests, the command byte,
 * port enable/disable, output port (A20, reset line), reset by pulse (0xFE),
 * by the output port and by port 0x92, Linux's AUX loop probe, the answer
 * from an empty keyboard port, IRQ 1/12 behaviour, hostile writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "core/vm_internal.h"
#include "devices/i8042.h"
#include "io/io_bus.h"

struct fx {
    struct io_bus *bus;
    struct i8042 *kbc;
    int level[16];
    int resets;
};

static void rec_irq(void *opaque, unsigned line, int level)
{
    struct fx *f = opaque;
    assert_true(line == I8042_IRQ_KBD || line == I8042_IRQ_AUX);
    f->level[line] = level;
}

static void rec_reset(void *opaque)
{
    ((struct fx *)opaque)->resets++;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->bus = io_bus_create();
    f->kbc = i8042_create(f->bus, rec_irq, rec_reset, f);
    *state = f;
    return f->kbc ? 0 : -1;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    i8042_destroy(f->kbc);
    io_bus_destroy(f->bus);
    free(f);
    return 0;
}

static uint8_t status(struct fx *f) { return (uint8_t)io_bus_port_read(f->bus, 0x64, 1); }
static uint8_t data(struct fx *f) { return (uint8_t)io_bus_port_read(f->bus, 0x60, 1); }
static void cmd(struct fx *f, uint8_t v) { io_bus_port_write(f->bus, 0x64, 1, v); }
static void put(struct fx *f, uint8_t v) { io_bus_port_write(f->bus, 0x60, 1, v); }

/* A command with one result byte, as Linux's i8042_command() reads it. */
static uint8_t command_result(struct fx *f, uint8_t c)
{
    cmd(f, c);
    uint8_t s = status(f);
    assert_int_equal(s & 0x03, 0x01);          /* OBF, never IBF */
    return data(f);
}

static void test_selftest_and_interface_tests(void **state)
{
    struct fx *f = *state;
    assert_int_equal(status(f) & 0x01, 0);     /* Linux's flush finds nothing */
    assert_int_equal(command_result(f, 0xaa), 0x55);
    assert_true(status(f) & 0x04);             /* system flag */
    assert_int_equal(command_result(f, 0xab), 0x00);
    assert_int_equal(command_result(f, 0xa9), 0x00);
    assert_int_equal(status(f) & 0x01, 0);
    assert_int_equal(f->level[1], 0);
}

static void test_command_byte_and_ports(void **state)
{
    struct fx *f = *state;
    uint8_t ctr = command_result(f, 0x20);
    assert_int_equal(ctr, 0x47);
    cmd(f, 0x60);
    assert_true(status(f) & 0x08);             /* last write was a command */
    put(f, 0x30);                              /* both ports off, no interrupts, no SYS */
    assert_false(status(f) & 0x08);
    assert_int_equal(command_result(f, 0x20), 0x30);
    assert_false(status(f) & 0x04);
    cmd(f, 0xae);
    cmd(f, 0xa8);
    assert_int_equal(command_result(f, 0x20), 0x00);
    cmd(f, 0xad);
    cmd(f, 0xa7);
    assert_int_equal(command_result(f, 0x20), 0x30);
    /* Internal RAM beyond the command byte. */
    cmd(f, 0x65);
    put(f, 0x9c);
    assert_int_equal(command_result(f, 0x25), 0x9c);
}

static void test_output_port_and_reset(void **state)
{
    struct fx *f = *state;
    assert_int_equal(command_result(f, 0xd0) & 0x03, 0x03);   /* running, A20 on */
    cmd(f, 0xd1);
    put(f, 0x01);                              /* A20 off, CPU running */
    assert_int_equal(i8042_a20_enabled(f->kbc), 0);
    assert_int_equal(f->resets, 0);
    assert_int_equal(command_result(f, 0xd0) & 0x03, 0x01);
    cmd(f, 0xd1);
    put(f, 0x03);
    assert_int_equal(i8042_a20_enabled(f->kbc), 1);
    cmd(f, 0xd1);
    put(f, 0x02);                              /* bit 0 = 0: reset */
    assert_int_equal(f->resets, 1);
    cmd(f, 0xfe);                              /* Linux's reboot: pulse reset */
    assert_int_equal(f->resets, 2);
    cmd(f, 0xff);                              /* pulse nothing */
    cmd(f, 0xf1);
    assert_int_equal(f->resets, 2);
    /* Port 0x92: fast A20 and fast reset. */
    assert_int_equal(io_bus_port_read(f->bus, 0x92, 1) & 0x03, 0x02);
    io_bus_port_write(f->bus, 0x92, 1, 0x00);
    assert_int_equal(i8042_a20_enabled(f->kbc), 0);
    io_bus_port_write(f->bus, 0x92, 1, 0x03);
    assert_int_equal(f->resets, 3);
    assert_int_equal(i8042_a20_enabled(f->kbc), 1);
    i8042_reset(f->kbc);
    assert_int_equal(command_result(f, 0x20), 0x47);
}

static void test_linux_probe_sees_empty_ports(void **state)
{
    struct fx *f = *state;
    /* AUX loop test (0xD3): the byte comes back from the aux side, IRQ 12. */
    cmd(f, 0xd3);
    put(f, 0x5a);
    assert_int_equal(status(f) & 0x21, 0x21);
    assert_int_equal(f->level[12], 1);
    assert_int_equal(data(f), 0x5a);
    assert_int_equal(f->level[12], 0);
    /* A command to the keyboard finds none: 0xFE with the time-out bit, IRQ 1. */
    put(f, 0xf2);
    assert_int_equal(status(f) & 0x61, 0x41);
    assert_int_equal(f->level[1], 1);
    assert_int_equal(data(f), 0xfe);
    assert_int_equal(f->level[1], 0);
    assert_int_equal(status(f) & 0x41, 0);
    /* Same for the mouse (0xD4 prefix). */
    cmd(f, 0xd4);
    put(f, 0xf2);
    assert_int_equal(status(f) & 0x61, 0x61);
    assert_int_equal(data(f), 0xfe);
    /* With interrupts off in the command byte, no IRQ. */
    cmd(f, 0x60);
    put(f, 0x44);
    cmd(f, 0xaa);
    assert_int_equal(f->level[1], 0);
    assert_int_equal(data(f), 0x55);
    assert_int_equal(data(f), 0x55);           /* an empty buffer repeats the last byte */
}

static void test_hostile_guest(void **state)
{
    struct fx *f = *state;
    static const uint16_t ports[] = { 0x60, 0x64, 0x92 };
    srand(42);
    for (int i = 0; i < 200000; i++) {
        uint16_t port = ports[rand() % 3];
        unsigned size = 1u << (rand() % 3);
        if (rand() & 1)
            io_bus_port_write(f->bus, port, size, (uint32_t)rand());
        else
            (void)io_bus_port_read(f->bus, port, size);
    }
    assert_true(f->resets > 0);
}

static void test_device_ops_create(void **state)
{
    (void)state;
    struct VM *vm = calloc(1, sizeof(*vm));
    assert_non_null(vm);
    vm->io = io_bus_create();
    void *dev = NULL;
    assert_string_equal(i8042_device_ops.name, "i8042");
    assert_int_equal(i8042_device_ops.create(vm, NULL, &dev), VINF_SUCCESS);
    io_bus_port_write(vm->io, 0x64, 1, 0xaa);
    assert_int_equal(io_bus_port_read(vm->io, 0x60, 1), 0x55);
    i8042_device_ops.reset(dev);
    i8042_device_ops.destroy(dev);
    io_bus_destroy(vm->io);
    free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_selftest_and_interface_tests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_byte_and_ports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_port_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linux_probe_sees_empty_ports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_guest, setup, teardown),
        cmocka_unit_test(test_device_ops_create),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
