/*
 * Virtio devices in a whole VM built through the public API: the
 * configuration errors (no Path, a missing file, an unknown key value),
 * and saved state: a VM with virtio-blk, virtio-rng and virtio-console
 * saves, and its state loads into a VM with the same devices but not into
 * one whose disk has another size (VERR_SSM_UNEXPECTED_DATA, the unit
 * named); and a guest in the middle of a disk-reading loop
 * (guests/virtio_blk_loop.asm) is saved and goes on reading in another VM
 * (queue indices, BAR and negotiation survive); under the interpreter
 * (which sends MSIs) each device has MSI-X, its table reachable at its
 * BAR2 through the VM's MMIO router.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <vmm/err.h>

#include "vm_fixture.h"
#include "core/vm_internal.h"
#include "devices/virtio/virtio_pci_vm.h"
#include "io/io_bus.h"

struct virtio_vm_config {
    struct fixture_config base;
    const char *disk;            /* NULL: a virtio-blk without Path */
    bool no_pci;
};

static PVM last_vm;                  /* the VM the constructor last built */

static int virtio_ctor(PUVM uvm, PVM vm, PCVMMR3VTABLE vmm, void *user)
{
    last_vm = vm;
    const struct virtio_vm_config *c = user;
    int rc = fixture_ctor(uvm, vm, vmm, (void *)&c->base);
    PCFGMNODE root = CFGMR3GetRoot(vm), node = NULL;
    /* The virtio devices first in the tree: the bus must still be created before them. */
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Devices/virtio-blk/0/Config", &node);
    if (RT_SUCCESS(rc) && c->disk) rc = CFGMR3InsertString(node, "Path", c->disk);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(node, "Serial", "vm-disk");
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertNode(root, "Devices/virtio-rng/0/Config", NULL);
    if (RT_SUCCESS(rc)) rc = CFGMR3InsertString(root, "Devices/virtio-console/0/Config/Console", "none");
    if (RT_SUCCESS(rc) && !c->no_pci) rc = CFGMR3InsertNode(root, "Devices/pci/0/Config", NULL);
    return rc;
}

static int create(const struct virtio_vm_config *c, struct fixture_log *log, PUVM *uvm)
{
    fixture_log_init(log);
    return VMR3Create(1, NULL, fixture_on_error, log, virtio_ctor, (void *)c, NULL, uvm);
}

static void make_disk(char *path, off_t size)
{
    strcpy(path, "/tmp/petrel-vvm-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, size), 0);
    close(fd);
}

static const struct fixture_config base = { .ram_mib = 32, .image = "hlt_forever.bin", .mode = "real",
                                            .engine = "interp" };

static void test_config_errors(void **s)
{
    (void)s;
    struct fixture_log log;
    PUVM uvm = NULL;
    struct virtio_vm_config c = { .base = base, .disk = NULL };
    assert_int_not_equal(create(&c, &log, &uvm), VINF_SUCCESS);
    assert_non_null(strstr(log.last_error, "Path"));
    c.disk = "/nonexistent/petrel.img";
    assert_int_equal(create(&c, &log, &uvm), VERR_FILE_NOT_FOUND);
    assert_non_null(strstr(log.last_error, "/nonexistent/petrel.img"));
    char disk[64];
    make_disk(disk, 1 << 20);
    c.disk = disk;
    c.no_pci = true;
    assert_int_equal(create(&c, &log, &uvm), VERR_NOT_FOUND);
    assert_non_null(strstr(log.last_error, "/Devices/pci/0"));
    unlink(disk);
}

static void test_save_and_load(void **s)
{
    (void)s;
    char disk[64], other[64], state[] = "/tmp/petrel-vvm-state-XXXXXX";
    make_disk(disk, 1 << 20);
    make_disk(other, 2 << 20);
    int fd = mkstemp(state);
    assert_true(fd >= 0);
    close(fd);
    struct fixture_log log;
    PUVM a = NULL, b = NULL, c = NULL;
    struct virtio_vm_config cfg = { .base = base, .disk = disk };
    assert_int_equal(create(&cfg, &log, &a), VINF_SUCCESS);
    assert_int_equal(VMR3PowerOn(a), VINF_SUCCESS);
    bool suspended = false;
    assert_int_equal(VMR3Save(a, state, NULL, NULL, false, NULL, NULL, &suspended), VINF_SUCCESS);
    fixture_destroy(a);

    assert_int_equal(create(&cfg, &log, &b), VINF_SUCCESS);
    int rc = VMR3LoadFromFile(b, state, NULL, NULL);
    if (RT_FAILURE(rc))
        fail_msg("load: %d %s", rc, log.last_error);
    assert_int_equal(VMR3GetStateU(b), VMSTATE_SUSPENDED);
    fixture_destroy(b);

    cfg.disk = other;                           /* same devices, a bigger disk */
    assert_int_equal(create(&cfg, &log, &c), VINF_SUCCESS);
    assert_int_equal(VMR3LoadFromFile(c, state, NULL, NULL), VERR_SSM_UNEXPECTED_DATA);
    assert_non_null(strstr(log.last_error, "virtio-blk"));
    fixture_destroy(c);
    unlink(disk);
    unlink(other);
    unlink(state);
}

/* The transport of the n-th virtio device of the VM. */
static struct virtio_pci *transport(PVM vm, unsigned n)
{
    for (struct device_instance *i = vm->devices; i; i = i->next)
        if (!strncmp(i->ops->name, "virtio-", 7) && n-- == 0)
            return ((struct virtio_vm_dev *)i->state)->transport;
    return NULL;
}

static void test_msix_bar_routed(void **s)
{
    (void)s;
    char disk[64];
    make_disk(disk, 1 << 20);
    struct fixture_log log;
    PUVM uvm = NULL;
    struct virtio_vm_config cfg = { .base = base, .disk = disk };
    assert_int_equal(create(&cfg, &log, &uvm), VINF_SUCCESS);
    PVM vm = last_vm;
    for (unsigned n = 0; n < 3; n++) {
        struct virtio_pci *t = transport(vm, n);
        assert_non_null(t);
        assert_int_equal(virtio_pci_config_read(t, VIRTIO_PCI_MSIX_CAP, 1), 0x11);
        uint64_t bar2 = virtio_pci_config_read(t, 0x18, 4), bar0 = virtio_pci_config_read(t, 0x10, 4) & ~0xFu, base2;
        assert_int_not_equal(bar2, 0);
        assert_false(virtio_pci_msix_decodes(t, &base2));          /* memory decoding off */
        assert_int_equal(io_bus_mmio_read(vm->io, bar2 + 12, 4), UINT32_MAX);
        virtio_pci_config_write(t, 0x04, 2, 0x0002);
        assert_true(virtio_pci_msix_decodes(t, &base2));
        assert_int_equal(base2, bar2);
        assert_int_equal(io_bus_mmio_read(vm->io, bar2 + 12, 4), 1);  /* vector 0 masked */
        io_bus_mmio_write(vm->io, bar2 + 8, 4, 0x4000 + n);
        assert_int_equal(virtio_pci_msix_read(t, 8, 4), 0x4000 + n);
        io_bus_mmio_write(vm->io, bar2 + VIRTIO_PCI_MSIX_PBA, 4, ~0u);  /* read-only */
        assert_int_equal(io_bus_mmio_read(vm->io, bar2 + VIRTIO_PCI_MSIX_PBA, 8), 0);
        assert_int_equal(io_bus_mmio_read(vm->io, bar0 + 0x12, 2), virtio_pci_bar_read(t, 0x12, 2));
        assert_true(bar2 >= bar0 + VIRTIO_PCI_BAR_SIZE || bar2 + VIRTIO_PCI_MSIX_BAR_SIZE <= bar0);
    }
    fixture_destroy(uvm);
    unlink(disk);
}

static int count_ok_lines(const char *path, unsigned *last, bool *err)
{
    FILE *f = fopen(path, "r");
    char line[128];
    int n = 0;
    *err = false;
    while (f && fgets(line, sizeof(line), f)) {
        unsigned v;
        if (sscanf(line, "ok %u", &v) == 1) {
            n++;
            *last = v;
        } else if (strstr(line, "ERR") || strstr(line, "timeout") || strstr(line, "reset"))
            *err = true;
    }
    if (f)
        fclose(f);
    return n;
}

/* Waits (up to 60 s) for n "ok" lines in the console file; false on an error line. */
static bool wait_ok_lines(const char *path, int n, unsigned *last)
{
    bool err = false;
    for (int i = 0; i < 6000; i++) {
        if (count_ok_lines(path, last, &err) >= n || err)
            return !err;
        usleep(10000);
    }
    return false;
}

static void test_running_guest_saved_and_restored(void **s)
{
    (void)s;
    char disk[64], con_a[] = "/tmp/petrel-vvm-con-XXXXXX", con_b[] = "/tmp/petrel-vvm-con-XXXXXX";
    char state[] = "/tmp/petrel-vvm-state-XXXXXX";
    make_disk(disk, 16 * 512);
    int fd = open(disk, O_WRONLY);
    for (unsigned k = 0; k < 16; k++) {
        uint8_t sector[512];
        memset(sector, (int)(k + 1), sizeof(sector));
        assert_int_equal(pwrite(fd, sector, sizeof(sector), k * 512), 512);
    }
    close(fd);
    close(mkstemp(con_a));
    close(mkstemp(con_b));
    close(mkstemp(state));
    struct fixture_log log;
    struct virtio_vm_config cfg = { .base = { .ram_mib = 32, .image = "virtio_blk_loop.bin", .mode = "long",
                                              .engine = "interp", .console = con_a }, .disk = disk };
    PUVM a = NULL, b = NULL;
    assert_int_equal(create(&cfg, &log, &a), VINF_SUCCESS);
    assert_int_equal(VMR3PowerOn(a), VINF_SUCCESS);
    unsigned before = 0, after = 0;
    assert_true(wait_ok_lines(con_a, 3, &before));
    bool suspended = false;
    assert_int_equal(VMR3Save(a, state, NULL, NULL, false, NULL, NULL, &suspended), VINF_SUCCESS);
    unsigned saved_at = 0;
    bool err = false;
    count_ok_lines(con_a, &saved_at, &err);
    fixture_destroy(a);

    cfg.base.console = con_b;
    assert_int_equal(create(&cfg, &log, &b), VINF_SUCCESS);
    int rc = VMR3LoadFromFile(b, state, NULL, NULL);
    if (RT_FAILURE(rc))
        fail_msg("load: %d %s", rc, log.last_error);
    assert_int_equal(VMR3Resume(b, VMRESUMEREASON_STATE_RESTORED), VINF_EM_RESUME);
    if (!wait_ok_lines(con_b, 3, &after))
        fail_msg("the restored guest did not go on reading (console: see %s)", con_b);
    assert_true(after > saved_at);               /* its counter went on from where it was */
    fixture_destroy(b);
    unlink(disk);
    unlink(con_a);
    unlink(con_b);
    unlink(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_save_and_load),
        cmocka_unit_test(test_msix_bar_routed),
        cmocka_unit_test(test_running_guest_saved_and_restored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
