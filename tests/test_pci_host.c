/*
 * PCI host bridge: Linux's pci_check_type1 and pci_sanity_check probes
 * through the I/O bus, the host bridge's identity, unknown functions and
 * buses reading all ones, CONFIG_ADDRESS semantics, byte/word/dword and
 * misaligned data accesses, the registration API (duplicates, removal),
 * the 0xCF9 reset control register, the "pci" device and pci_host_of_vm.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/err.h>

#include "core/vm_internal.h"
#include "devices/pci_host.h"
#include "io/io_bus.h"

struct fx {
    struct io_bus *bus;
    struct pci_host *host;
    int resets;
};

static void on_reset(void *opaque)
{
    ((struct fx *)opaque)->resets++;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->bus = io_bus_create();
    f->host = pci_host_create(f->bus, on_reset, f);
    *state = f;
    return f->host ? 0 : -1;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    pci_host_destroy(f->host);
    io_bus_destroy(f->bus);
    free(f);
    return 0;
}

static uint32_t in(struct fx *f, uint16_t port, unsigned size) { return io_bus_port_read(f->bus, port, size); }
static void out(struct fx *f, uint16_t port, unsigned size, uint32_t v) { io_bus_port_write(f->bus, port, size, v); }

/* Linux's pci_conf1_read: address, then the data port at (reg & 3). */
static uint32_t conf_read(struct fx *f, unsigned bus, unsigned devfn, unsigned reg, unsigned size)
{
    out(f, 0xCF8, 4, 0x80000000u | bus << 16 | devfn << 8 | (reg & 0xFC));
    return in(f, (uint16_t)(0xCFC + (reg & 3)), size);
}

static void conf_write(struct fx *f, unsigned bus, unsigned devfn, unsigned reg, unsigned size, uint32_t v)
{
    out(f, 0xCF8, 4, 0x80000000u | bus << 16 | devfn << 8 | (reg & 0xFC));
    out(f, (uint16_t)(0xCFC + (reg & 3)), size, v);
}

static void test_linux_type1_probe(void **state)
{
    struct fx *f = *state;
    /* pci_check_type1 */
    out(f, 0xCFB, 1, 0x01);
    uint32_t tmp = in(f, 0xCF8, 4);
    out(f, 0xCF8, 4, 0x80000000);
    assert_int_equal(in(f, 0xCF8, 4), 0x80000000);
    out(f, 0xCF8, 4, tmp);
    /* pci_sanity_check: a host bridge or an Intel device on bus 0 */
    bool found = false;
    for (unsigned devfn = 0; devfn < 0x100; devfn++) {
        uint16_t cls = (uint16_t)conf_read(f, 0, devfn, 0x0A, 2);
        uint16_t vendor = (uint16_t)conf_read(f, 0, devfn, 0x00, 2);
        if (cls == 0x0600 || vendor == 0x8086) {
            assert_int_equal(devfn, 0);
            found = true;
        }
    }
    assert_true(found);
}

static void test_host_bridge_identity(void **state)
{
    struct fx *f = *state;
    assert_int_equal(conf_read(f, 0, 0, 0x00, 4), 0x0D578086);
    assert_int_equal(conf_read(f, 0, 0, 0x08, 4) >> 8, 0x060000);
    assert_int_equal(conf_read(f, 0, 0, 0x02, 2), 0x0D57);
    assert_int_equal(conf_read(f, 0, 0, 0x0B, 1), 0x06);
    assert_int_equal(conf_read(f, 0, 0, 0x0E, 1), 0x00);         /* header type 0, single function */
    assert_int_equal(conf_read(f, 0, 0, 0x10, 4), 0);             /* no BARs */
    conf_write(f, 0, 0, 0x10, 4, 0xFFFFFFFF);                     /* BAR sizing: nothing there */
    assert_int_equal(conf_read(f, 0, 0, 0x10, 4), 0);
    conf_write(f, 0, 0, 0x00, 4, 0x12345678);                     /* ids are read-only */
    assert_int_equal(conf_read(f, 0, 0, 0x00, 4), 0x0D578086);
    conf_write(f, 0, 0, 0x04, 2, 0xFFFF);                         /* COMMAND: the 3 enables */
    assert_int_equal(conf_read(f, 0, 0, 0x04, 2), 0x0007);
    pci_host_reset(f->host);
    assert_int_equal(in(f, 0xCF8, 4), 0);                         /* latch cleared by reset */
    assert_int_equal(conf_read(f, 0, 0, 0x04, 2), 0x0006);
}

static void test_unknown_reads_all_ones(void **state)
{
    struct fx *f = *state;
    assert_int_equal(conf_read(f, 0, PCI_DEVFN(1, 0), 0, 4), 0xFFFFFFFF);
    assert_int_equal(conf_read(f, 0, PCI_DEVFN(31, 7), 0x3C, 1), 0xFF);
    assert_int_equal(conf_read(f, 1, 0, 0, 4), 0xFFFFFFFF);       /* only bus 0 exists */
    assert_int_equal(conf_read(f, 255, 0, 0, 2), 0xFFFF);
    out(f, 0xCF8, 4, 0x00000000);                                 /* enable bit clear */
    assert_int_equal(in(f, 0xCFC, 4), 0xFFFFFFFF);
    conf_write(f, 0, PCI_DEVFN(2, 0), 0x04, 2, 0x0007);           /* writes vanish */
    assert_int_equal(conf_read(f, 0, PCI_DEVFN(2, 0), 0x04, 2), 0xFFFF);
}

static void test_config_address_register(void **state)
{
    struct fx *f = *state;
    out(f, 0xCF8, 4, 0xFFFFFFFF);
    assert_int_equal(in(f, 0xCF8, 4), 0x80FFFFFC);                /* reserved bits read 0 */
    out(f, 0xCF8, 4, 0x80000000);
    out(f, 0xCF8, 2, 0x1234);                                     /* not a dword: ignored */
    out(f, 0xCFA, 1, 0x56);
    assert_int_equal(in(f, 0xCF8, 4), 0x80000000);
    assert_int_equal(in(f, 0xCF8, 2), 0xFFFF);
    assert_int_equal(in(f, 0xCFA, 1), 0xFF);
}

/* A function with a plain 256-byte config space that logs the access sizes it sees. */
struct fake_fn {
    uint8_t cfg[256];
    unsigned reads, writes, misaligned;
};

static uint32_t fake_read(void *opaque, unsigned offset, unsigned size)
{
    struct fake_fn *fn = opaque;
    fn->reads++;
    if (offset & (size - 1) || offset + size > 256)
        fn->misaligned++;
    uint32_t v = 0;
    memcpy(&v, fn->cfg + offset, size);
    return v;
}

static void fake_write(void *opaque, unsigned offset, unsigned size, uint32_t value)
{
    struct fake_fn *fn = opaque;
    fn->writes++;
    if (offset & (size - 1) || offset + size > 256)
        fn->misaligned++;
    memcpy(fn->cfg + offset, &value, size);
}

static const struct pci_function_ops fake_ops = { fake_read, fake_write };

static void test_register_function(void **state)
{
    struct fx *f = *state;
    struct fake_fn fn = { .cfg = { 0xF4, 0x1A, 0x41, 0x10 } };    /* 1af4:1041 */
    uint8_t devfn = PCI_DEVFN(3, 0);
    assert_int_equal(pci_host_register_function(f->host, devfn, &fake_ops, &fn), VINF_SUCCESS);
    assert_int_equal(pci_host_register_function(f->host, devfn, &fake_ops, &fn), VERR_ALREADY_EXISTS);
    assert_int_equal(pci_host_register_function(f->host, 0, &fake_ops, &fn), VERR_ALREADY_EXISTS);
    struct pci_function_ops half = { fake_read, NULL };
    assert_int_equal(pci_host_register_function(f->host, PCI_DEVFN(4, 0), &half, &fn), VERR_INVALID_PARAMETER);

    assert_int_equal(conf_read(f, 0, devfn, 0, 4), 0x10411AF4);
    assert_int_equal(conf_read(f, 0, devfn, 2, 2), 0x1041);
    conf_write(f, 0, devfn, 0x10, 4, 0xFEBF0000);
    conf_write(f, 0, devfn, 0x14, 2, 0xBEEF);
    conf_write(f, 0, devfn, 0x17, 1, 0x42);
    assert_int_equal(conf_read(f, 0, devfn, 0x10, 4), 0xFEBF0000);
    assert_int_equal(conf_read(f, 0, devfn, 0x14, 4), 0x4200BEEF);
    /* A word at 0xCFD and a dword at 0xCFE arrive as byte cycles, never misaligned. */
    assert_int_equal(conf_read(f, 0, devfn, 0x11, 2), 0xBF00);
    conf_write(f, 0, devfn, 0x15, 2, 0x1234);
    assert_int_equal(conf_read(f, 0, devfn, 0x14, 4), 0x421234EF);
    (void)conf_read(f, 0, devfn, 0x16, 4);                        /* crosses 0xCFF: split by the bus */
    assert_int_equal(fn.misaligned, 0);
    /* Another function of the same slot stays empty. */
    assert_int_equal(conf_read(f, 0, PCI_DEVFN(3, 1), 0, 4), 0xFFFFFFFF);

    assert_int_equal(pci_host_unregister_function(f->host, devfn), VINF_SUCCESS);
    assert_int_equal(pci_host_unregister_function(f->host, devfn), VERR_NOT_FOUND);
    assert_int_equal(pci_host_unregister_function(f->host, 0), VERR_ACCESS_DENIED);
    assert_int_equal(conf_read(f, 0, devfn, 0, 4), 0xFFFFFFFF);
    unsigned reads = fn.reads;
    (void)conf_read(f, 0, devfn, 0, 4);
    assert_int_equal(fn.reads, reads);                            /* no longer called */
}

static void test_reset_control_register(void **state)
{
    struct fx *f = *state;
    out(f, 0xCF8, 4, 0x80000000);
    out(f, 0xCF9, 1, 0x02);                                       /* SYS_RST alone: armed, no reset */
    assert_int_equal(f->resets, 0);
    assert_int_equal(in(f, 0xCF9, 1), 0x02);
    assert_int_equal(in(f, 0xCF8, 4), 0x80000000);                /* the latch is untouched */
    out(f, 0xCF9, 1, 0x06);                                       /* Linux's reboot=pci */
    assert_int_equal(f->resets, 1);
    out(f, 0xCF8, 2, 0x0600);                                     /* a word at 0xCF8 is neither */
    assert_int_equal(f->resets, 1);
    pci_host_reset(f->host);
    assert_int_equal(in(f, 0xCF9, 1), 0);
}

static void test_hostile_guest(void **state)
{
    struct fx *f = *state;
    struct fake_fn fn = { 0 };
    assert_int_equal(pci_host_register_function(f->host, PCI_DEVFN(5, 0), &fake_ops, &fn), VINF_SUCCESS);
    uint32_t seed = 12345;
    for (int i = 0; i < 200000; i++) {
        seed = seed * 1103515245u + 12345u;
        uint16_t port = (uint16_t)(0xCF8 + (seed >> 8) % 8);
        unsigned size = 1u << ((seed >> 4) % 3);
        if (port == 0xCF9 && size == 1)
            continue;                                             /* that one resets */
        if (seed & 1)
            out(f, port, size, seed * 2654435761u);
        else
            (void)in(f, port, size);
    }
    assert_int_equal(fn.misaligned, 0);
    assert_int_equal(conf_read(f, 0, 0, 0, 4), 0x0D578086);       /* the bridge's ids survive */
}

static void test_device_ops(void **state)
{
    (void)state;
    struct VM *vm = calloc(1, sizeof(*vm));
    assert_non_null(vm);
    vm->io = io_bus_create();
    assert_null(pci_host_of_vm(vm));
    struct device_instance inst = { .ops = &pci_host_device_ops };
    assert_string_equal(pci_host_device_ops.name, "pci");
    assert_int_equal(pci_host_device_ops.create(vm, NULL, &inst.state), VINF_SUCCESS);
    vm->devices = &inst;
    struct pci_host *host = pci_host_of_vm(vm);
    assert_non_null(host);
    io_bus_port_write(vm->io, 0xCF8, 4, 0x80000000);
    assert_int_equal(io_bus_port_read(vm->io, 0xCFC, 4), 0x0D578086);
    pci_host_device_ops.reset(inst.state);
    assert_int_equal(io_bus_port_read(vm->io, 0xCF8, 4), 0);
    pci_host_device_ops.destroy(inst.state);
    io_bus_destroy(vm->io);
    free(vm);
}

static void test_intx_routing(void **state)
{
    (void)state;
    assert_int_equal(pci_intx_gsi(0, 0), 16);
    assert_int_equal(pci_intx_gsi(1, 0), 17);
    assert_int_equal(pci_intx_gsi(3, 3), 22);
    for (unsigned s = 0; s < 32; s++)
        for (unsigned p = 0; p < 4; p++) {
            uint32_t gsi = pci_intx_gsi(s, p);
            assert_true(gsi >= 16 && gsi <= 23);                  /* IOAPIC pins, none ISA */
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_linux_type1_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_bridge_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_reads_all_ones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_address_register, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_function, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_control_register, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_guest, setup, teardown),
        cmocka_unit_test(test_device_ops),
        cmocka_unit_test(test_intx_routing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
